//! describe_limits.
