//! One module per operation: `handle(&App, Input) -> Result<Output, ApiError>`.
//! No axum types here; `server` decodes the body, calls the handler and encodes the result.
