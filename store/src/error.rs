//! Rendering `ApiError` as an HTTP response (the only place that does).
