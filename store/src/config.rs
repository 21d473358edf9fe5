//! Command-line flags (each also an environment variable) → validated configuration.
#[derive(Debug, Clone)]
pub struct Config {}
