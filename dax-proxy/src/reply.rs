//! How a proxied call was answered, and turning that into the HTTP response.

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode};
use bytes::Bytes;
use shared::wire::error::ApiError;
use shared::wire::headers::{X_AMZN_REQUEST_ID, X_AMZ_CRC32};

use crate::cache::ReadyBody;
use crate::upstream::Reply;

const X_DAX_CACHE: HeaderName = HeaderName::from_static("x-dax-cache");

/// Whether the cache answered (`x-dax-cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheStatus {
    Hit,
    Miss,
    Bypass,
}

impl CacheStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "hit",
            CacheStatus::Miss => "miss",
            CacheStatus::Bypass => "bypass",
        }
    }
}

/// What to send back.
pub enum Answer {
    /// A cached body, sent as is.
    Ready(ReadyBody),
    /// A body built on this node (a projection of a cached item, an assembled batch).
    Built(Bytes),
    /// The store's (or primary's) reply, passed through byte for byte.
    Upstream(Reply),
    /// An error raised on this node.
    Error(ApiError),
}

pub struct Outcome {
    pub answer: Answer,
    pub cache: CacheStatus,
}

impl Outcome {
    pub fn new(answer: Answer, cache: CacheStatus) -> Self {
        Outcome { answer, cache }
    }

    /// The HTTP status, for metrics.
    pub fn status(&self) -> u16 {
        match &self.answer {
            Answer::Ready(_) | Answer::Built(_) => 200,
            Answer::Upstream(reply) => reply.status.as_u16(),
            Answer::Error(e) => e.status(),
        }
    }

    pub fn into_response(self, request_id: &str, cache_header: bool) -> Response<Body> {
        let cache = self.cache;
        let mut response = match self.answer {
            Answer::Ready(ready) => {
                let (body, crc) = ready.parts();
                json(StatusCode::OK, body, crc, request_id)
            }
            Answer::Built(body) => {
                let crc = crc_header(&body);
                json(StatusCode::OK, body, crc, request_id)
            }
            Answer::Upstream(reply) => {
                let mut response = Response::new(Body::from(reply.body));
                *response.status_mut() = reply.status;
                for name in [CONTENT_TYPE, X_AMZ_CRC32, X_AMZN_REQUEST_ID] {
                    if let Some(value) = reply.headers.get(&name) {
                        response.headers_mut().insert(name, value.clone());
                    }
                }
                response
            }
            Answer::Error(e) => {
                let body = Bytes::from(e.to_body());
                let crc = crc_header(&body);
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
                json(status, body, crc, request_id)
            }
        };
        if cache_header {
            response
                .headers_mut()
                .insert(X_DAX_CACHE, HeaderValue::from_static(cache.as_str()));
        }
        response
    }
}

fn crc_header(body: &[u8]) -> HeaderValue {
    HeaderValue::from_str(&shared::wire::crc32::header_value(body))
        .unwrap_or_else(|_| HeaderValue::from_static("0"))
}

fn json(status: StatusCode, body: Bytes, crc: HeaderValue, request_id: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    headers.insert(X_AMZ_CRC32, crc);
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(X_AMZN_REQUEST_ID, value);
    }
    response
}
