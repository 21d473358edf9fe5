//! Rendering API results as HTTP responses: the only place the store turns an [`ApiError`]
//! or an operation's output into bytes on the wire.
//!
//! Every response carries `x-amzn-RequestId` and `x-amz-crc32` (the CRC-32 of the exact body
//! bytes, which botocore verifies and retries on), and the JSON 1.0 content type.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE as CONTENT_TYPE_HEADER;
use axum::http::{HeaderValue, Response, StatusCode};
use shared::wire::crc32;
use shared::wire::error::ApiError;
use shared::wire::headers::{X_AMZN_REQUEST_ID, X_AMZ_CRC32};

const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// A successful response with a serialized body.
pub fn ok(body: Vec<u8>, request_id: &str) -> Response<Body> {
    respond(StatusCode::OK, body, request_id)
}

/// The DynamoDB error JSON with DynamoDB's status for this error.
pub fn error(err: &ApiError, request_id: &str) -> Response<Body> {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    respond(status, err.to_body(), request_id)
}

fn respond(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response<Body> {
    let crc = crc32::header_value(&body);
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE_HEADER, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(value) = HeaderValue::from_str(&crc) {
        headers.insert(X_AMZ_CRC32, value);
    }
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(X_AMZN_REQUEST_ID, value);
    }
    response
}

/// A plain response outside the JSON protocol (health, the 404 for non-API requests).
pub fn plain(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Body>,
) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static(content_type));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_has_status_crc_and_id() {
        let response = error(&ApiError::internal(), "ID");
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.headers().contains_key("x-amz-crc32"));
        assert_eq!(response.headers()["x-amzn-requestid"], "ID");
    }
}
