//! Reading an API call's body, which both servers do after admitting the call
//! (`admission`): DynamoDB's 16 MB bound, and a deadline. Without the deadline a client
//! that stops sending mid-body (a crashed host leaves a half-open connection behind, a
//! hostile one does it on purpose) holds its admission permit for ever, and enough of them
//! make the server refuse every other caller with ThrottlingException.
//!
//! A call whose `Content-Length` already says its body is over the bound is refused before
//! anything else ([`declared_over_limit`]): reading it first would invite the client to
//! upload it all (`100 Continue`), or hold a permit while a short one is waited for.

use std::error::Error;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Response, StatusCode, Version};
use http_body_util::LengthLimitError;

/// DynamoDB accepts request bodies up to 16 MB; larger ones get 413 with an empty body.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Whether `headers` declare a body over [`MAX_BODY_BYTES`]: the call is answered 413 (as
/// a body found over it while read is) without reading any of it, and its connection
/// closed ([`closing`]).
pub fn declared_over_limit(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|length| length > MAX_BODY_BYTES as u64)
}

/// `response`, for a request of `version` whose body is left unread, telling the client
/// that its HTTP/1 connection closes after it: the rest of the body cannot be told from a
/// next request, and hyper, which gives such a body up, closes the connection anyway.
/// HTTP/2 has no such header (only the request's stream is reset).
pub fn closing<B>(mut response: Response<B>, version: Version) -> Response<B> {
    if version < Version::HTTP_2 {
        let close = HeaderValue::from_static("close");
        response.headers_mut().insert(CONNECTION, close);
    }
    response
}

/// Why a call is refused before it is looked at, answered alike by both servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its body: 408, 413 or 400 with an empty body ([`read_within`],
    /// [`declared_over_limit`]).
    Body(StatusCode),
    /// It is not an API call (a method other than POST on `/`, or a body not sent as
    /// JSON): DynamoDB's 404 with `<UnknownOperationException/>`.
    NotAnApiCall,
}

impl Refused {
    pub fn response<B: From<&'static str> + Default>(self) -> Response<B> {
        let (status, content_type, body) = match self {
            Refused::Body(status) => (status, "application/x-amz-json-1.0", B::default()),
            Refused::NotAnApiCall => (
                StatusCode::NOT_FOUND,
                "application/xml",
                B::from("<UnknownOperationException/>\n"),
            ),
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let content_type = HeaderValue::from_static(content_type);
        response.headers_mut().insert(CONTENT_TYPE, content_type);
        response
    }
}

/// The body of an API call with `headers`, as `read` collects it (with [`MAX_BODY_BYTES`]
/// as its limit) within `deadline` ([`read_within`]), or why the call is refused. A body
/// not sent as JSON is not an API call; an empty body of any type is left to the later
/// checks (SerializationException).
pub async fn api_body<T: AsRef<[u8]>, E: Into<BoxError>>(
    headers: &HeaderMap,
    deadline: Duration,
    read: impl Future<Output = Result<T, E>>,
) -> Result<T, Refused> {
    let body = read_within(deadline, read).await.map_err(Refused::Body)?;
    if !body.as_ref().is_empty() && !super::content_type::is_json(headers) {
        return Err(Refused::NotAnApiCall);
    }
    Ok(body)
}

/// `read` (the body collected with [`MAX_BODY_BYTES`] as its limit), or the status to
/// answer with an empty body instead: 408 when it is not all there within `deadline`, 413
/// when it is over the limit, 400 when it cannot be read (bad chunked framing, or a
/// connection that broke, where the answer reaches nobody).
pub async fn read_within<T, E: Into<BoxError>>(
    deadline: Duration,
    read: impl Future<Output = Result<T, E>>,
) -> Result<T, StatusCode> {
    let mut read = pin!(read);
    // Nearly every body has arrived with its headers: one poll reads it, and no timer is
    // set up for it (that cost a GetItem ~1.5% of its instructions).
    let first = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
    let outcome = match first {
        Poll::Ready(outcome) => Ok(outcome),
        Poll::Pending => tokio::time::timeout(deadline, read).await,
    };
    match outcome {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(e)) => Err(if over_limit(&*e.into()) {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        }),
        Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
    }
}

type BoxError = Box<dyn Error + Send + Sync>;

/// Whether a body read failed on its length limit (`http_body_util::Limited`'s error, which
/// `axum::body::to_bytes` wraps), rather than on the body itself.
fn over_limit(error: &(dyn Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<LengthLimitError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_that_stops_coming_is_refused_at_the_deadline() {
        let stalled = std::future::pending::<Result<(), Wrapped>>();
        let answer = read_within(Duration::from_millis(20), stalled).await;
        assert_eq!(answer, Err(StatusCode::REQUEST_TIMEOUT));
    }

    #[tokio::test]
    async fn a_body_that_arrives_after_the_headers_is_waited_for() {
        let late = async {
            tokio::task::yield_now().await;
            Ok::<_, Wrapped>("late")
        };
        assert_eq!(read_within(Duration::from_secs(5), late).await, Ok("late"));
    }

    /// A body collected as `axum::body::to_bytes` collects it: `Limited` to `limit` bytes,
    /// its error wrapped (as axum wraps it, keeping it as the source).
    async fn collect(body: &'static [u8], limit: usize) -> Result<bytes::Bytes, Wrapped> {
        use http_body_util::BodyExt;
        let limited = http_body_util::Limited::new(http_body_util::Full::new(body), limit);
        match limited.collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) => Err(Wrapped(e)),
        }
    }

    #[derive(Debug)]
    struct Wrapped(BoxError);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "body: {}", self.0)
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&*self.0)
        }
    }

    #[tokio::test]
    async fn a_complete_body_passes_and_an_oversized_one_is_413() {
        let whole = read_within(Duration::from_secs(5), collect(b"body", 4)).await;
        assert_eq!(whole, Ok(bytes::Bytes::from_static(b"body")));
        let over = read_within(Duration::from_secs(5), collect(b"body!", 4)).await;
        assert_eq!(over, Err(StatusCode::PAYLOAD_TOO_LARGE));
    }

    #[tokio::test]
    async fn an_api_body_is_json_or_empty_and_refusals_have_dynamodbs_answers() {
        let typed = |content_type: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            headers
        };
        let deadline = Duration::from_secs(5);
        let json = typed("application/x-amz-json-1.0");
        let text = typed("text/plain");
        let body = api_body(&json, deadline, collect(b"{}", 4)).await;
        assert_eq!(body, Ok(bytes::Bytes::from_static(b"{}")));
        let empty = api_body(&text, deadline, collect(b"", 4)).await;
        assert_eq!(empty, Ok(bytes::Bytes::new()));
        let not_json = api_body(&text, deadline, collect(b"{}", 4)).await;
        assert_eq!(not_json, Err(Refused::NotAnApiCall));
        let over = api_body(&json, deadline, collect(b"{\"a\":1}", 4)).await;
        assert_eq!(over, Err(Refused::Body(StatusCode::PAYLOAD_TOO_LARGE)));

        let answer = |refused: Refused| {
            let response: Response<String> = refused.response();
            let content_type = response.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_string();
            (response.status(), content_type, response.into_body())
        };
        assert_eq!(
            answer(Refused::NotAnApiCall),
            (
                StatusCode::NOT_FOUND,
                "application/xml".to_string(),
                "<UnknownOperationException/>\n".to_string()
            )
        );
        assert_eq!(
            answer(Refused::Body(StatusCode::REQUEST_TIMEOUT)),
            (
                StatusCode::REQUEST_TIMEOUT,
                "application/x-amz-json-1.0".to_string(),
                String::new()
            )
        );
    }

    #[test]
    fn only_a_declared_length_over_the_limit_is_refused_unread() {
        let declaring = |length: &str| {
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_str(length) {
                headers.insert(CONTENT_LENGTH, value);
            }
            declared_over_limit(&headers)
        };
        assert!(declaring("16777217"));
        assert!(!declaring("16777216"));
        assert!(!declaring(""));
        assert!(!declared_over_limit(&HeaderMap::new()));
    }

    #[test]
    fn only_an_http1_answer_says_its_connection_closes() {
        let closed = |version| {
            closing(Response::new(()), version)
                .headers()
                .get(CONNECTION)
                .cloned()
        };
        assert_eq!(
            closed(Version::HTTP_11),
            Some(HeaderValue::from_static("close"))
        );
        assert_eq!(
            closed(Version::HTTP_10),
            Some(HeaderValue::from_static("close"))
        );
        assert_eq!(closed(Version::HTTP_2), None);
    }

    /// Bad framing (a chunk size that is not hex, say) is the request's fault, not its size.
    #[tokio::test]
    async fn a_body_that_cannot_be_read_is_400() {
        let broken = async { Err::<(), _>(Wrapped("invalid chunk size".into())) };
        let answer = read_within(Duration::from_secs(5), broken).await;
        assert_eq!(answer, Err(StatusCode::BAD_REQUEST));
    }
}
