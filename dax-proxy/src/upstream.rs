//! Calls to the store (and, for forwarded writes, to the primary node) over one keep-alive
//! connection pool.
//!
//! The client's signing headers travel with the request, and the cluster secret with every
//! call: the store trusts a node's calls (the node authenticated its client, and may have
//! reshaped the request), and its internal endpoints require the secret. A store that answered with a DynamoDB error is not a failure here: its status and
//! body pass through byte for byte. A transport failure (store down, timeout) becomes an
//! [`UpstreamError`], which the caller answers with a retryable 5xx DynamoDB error.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use bytes::Bytes;
use shared::wire::content_type::AMZ_JSON_1_0;
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::headers::{CLIENT_UNVERIFIED, CLUSTER_SECRET, SIGNATURES_REQUIRED};
use shared::wire::Op;

use crate::metrics::STORE_REQUEST_DURATION_SECONDS;

/// Request headers that go upstream with a call. Not its `Content-Type`: the node sends
/// its own (a call it makes itself has no client's, and the store refuses a body without
/// one), and the store does not check the signature of a call bearing the cluster secret.
const PASSED_HEADERS: [&str; 3] = ["authorization", "x-amz-date", "x-amz-security-token"];

/// A transport failure talking to the store or another node.
#[derive(Debug, thiserror::Error)]
#[error("upstream {url}: {detail}")]
pub struct UpstreamError {
    pub url: String,
    pub detail: String,
    /// No connection could be made, so the request never left this node and the peer
    /// cannot have acted on it. Any other failure may come after the peer applied it.
    pub unsent: bool,
    /// An internal endpoint refused this node, and why.
    pub refused: Option<Refusal>,
}

/// Why an internal endpoint of the store refused this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// It did not take this node's cluster secret.
    ClusterSecret,
    /// The store checks signatures, which this node does not (`SIGNATURES_REQUIRED`).
    SignaturesRequired,
}

impl UpstreamError {
    /// What the client sees: a 5xx that SDKs retry, without internal detail.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::new(
            ErrorCode::ServiceUnavailable,
            "The service is unavailable. Please try again shortly.",
        )
    }
}

/// The store's (or a node's) answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
    pub headers: HeaderMap,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        self.status == StatusCode::OK
    }
}

/// How many API calls to the store may be in flight at once under the open file `limit`:
/// half the descriptors kept from connections, at least 8 (`None`: no limit known).
fn call_places(limit: Option<u64>) -> usize {
    limit
        .map(shared::wire::fd_limit::half_reserve)
        .map_or(tokio::sync::Semaphore::MAX_PERMITS, |places| {
            places.clamp(8, tokio::sync::Semaphore::MAX_PERMITS)
        })
}

/// An error with what caused it, down the chain: reqwest's own text stops at "error
/// sending request", and the cause (refused, timed out, too many open files) is below.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

/// The HTTP client shared by every call of this node.
pub struct Upstream {
    client: reqwest::Client,
    /// Places for API calls to the store in flight at once: each may open a connection,
    /// and the connections clients hold may take every descriptor but the reserve
    /// (`shared::wire::fd_limit`), so the calls get half of it ([`call_places`]); a call
    /// past them waits for one to end rather than fail on a descriptor it cannot have.
    calls: tokio::sync::Semaphore,
    /// The cluster secret, sent with every call: internal endpoints require it, and the
    /// store trusts API calls bearing it (this node authenticated its client).
    secret: HeaderValue,
    /// Whether this node checks its clients' signatures; if not, its API calls say so
    /// (`CLIENT_UNVERIFIED`), and a store that checks them refuses them.
    checks_signatures: bool,
    /// What the store last said: whether it checks signatures (see
    /// [`Upstream::store_checks_signatures`]).
    signatures_required: AtomicBool,
}

impl Upstream {
    pub fn new(cluster_secret: &str, checks_signatures: bool) -> Result<Self, String> {
        let secret = HeaderValue::from_str(cluster_secret)
            .map_err(|_| "--cluster-secret must be a valid HTTP header value".to_string())?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Upstream {
            client,
            calls: tokio::sync::Semaphore::new(call_places(shared::wire::fd_limit::current())),
            secret,
            checks_signatures,
            signatures_required: AtomicBool::new(false),
        })
    }

    /// Whether the store last said that it checks signatures, which this node does not:
    /// the node must then answer no one (its cache would serve anyone).
    pub fn signatures_required(&self) -> bool {
        !self.checks_signatures && self.signatures_required.load(Ordering::Relaxed)
    }

    /// The store said whether it checks signatures: on a refusal (`SIGNATURES_REQUIRED`), or
    /// on each page of its change feed (it may have been restarted with keys or without).
    pub fn store_checks_signatures(&self, required: bool) {
        self.signatures_required.store(required, Ordering::Relaxed);
    }

    /// POSTs a DynamoDB API call (`op`, `body`) to `base_url`, with the client's signing
    /// headers from `incoming` and any `extra` headers.
    pub async fn call(
        &self,
        base_url: &str,
        op: Op,
        target: &str,
        incoming: &HeaderMap,
        extra: &[(HeaderName, HeaderValue)],
        body: Bytes,
    ) -> Result<Reply, UpstreamError> {
        let mut request = self
            .client
            .post(base_url)
            .header("x-amz-target", target)
            .header(CONTENT_TYPE, AMZ_JSON_1_0)
            .header(CLUSTER_SECRET, &self.secret)
            .body(body);
        for name in PASSED_HEADERS {
            if let Some(value) = incoming.get(name) {
                request = request.header(name, value);
            }
        }
        for (name, value) in extra {
            request = request.header(name, value);
        }
        if !self.checks_signatures {
            request = request.header(CLIENT_UNVERIFIED, "true");
        }
        // Held until the answer is read, when its connection goes back to the pool. The
        // semaphore is never closed.
        let _place = self.calls.acquire().await.ok();
        let started = Instant::now();
        let result = request.send().await;
        let error = |e: reqwest::Error| UpstreamError {
            url: base_url.to_string(),
            detail: with_causes(&e),
            unsent: e.is_connect(),
            refused: None,
        };
        let response = result.map_err(error)?;
        let status = response.status();
        let headers = response.headers().clone();
        if headers.contains_key(SIGNATURES_REQUIRED) {
            self.store_checks_signatures(true);
        }
        let body = response.bytes().await.map_err(error)?;
        metrics::histogram!(STORE_REQUEST_DURATION_SECONDS, "op" => op.name())
            .record(started.elapsed().as_secs_f64());
        Ok(Reply {
            status,
            body,
            headers,
        })
    }

    /// A GET on an internal endpoint (the change feed), with the cluster secret; marked as
    /// the API calls are when this node checks no signatures, so that a store that checks
    /// them refuses it, and says so.
    pub async fn get_internal(&self, url: &str, timeout: Duration) -> Result<Bytes, UpstreamError> {
        let error = |detail: String| UpstreamError {
            url: url.to_string(),
            detail,
            unsent: false,
            refused: None,
        };
        let mut request = self.client.get(url).header(CLUSTER_SECRET, &self.secret);
        if !self.checks_signatures {
            request = request.header(CLIENT_UNVERIFIED, "true");
        }
        let response = request
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| error(with_causes(&e)))?;
        if !response.status().is_success() {
            let refused = if response.headers().contains_key(SIGNATURES_REQUIRED) {
                self.store_checks_signatures(true);
                Some(Refusal::SignaturesRequired)
            } else {
                (response.status() == reqwest::StatusCode::FORBIDDEN)
                    .then_some(Refusal::ClusterSecret)
            };
            return Err(UpstreamError {
                refused,
                ..error(format!("status {}", response.status()))
            });
        }
        response.bytes().await.map_err(|e| error(with_causes(&e)))
    }

    /// A POST of JSON to an internal endpoint (leases), with the cluster secret.
    pub async fn post_internal(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<Bytes, UpstreamError> {
        let error = |detail: String| UpstreamError {
            url: url.to_string(),
            detail,
            unsent: false,
            refused: None,
        };
        let response = self
            .client
            .post(url)
            .header(CLUSTER_SECRET, &self.secret)
            .json(body)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| error(with_causes(&e)))?;
        if !response.status().is_success() {
            return Err(UpstreamError {
                refused: (response.status() == reqwest::StatusCode::FORBIDDEN)
                    .then_some(Refusal::ClusterSecret),
                ..error(format!("status {}", response.status()))
            });
        }
        response.bytes().await.map_err(|e| error(with_causes(&e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_to_the_store_take_half_the_reserve() {
        // A limit of 64 keeps 32 descriptors from connections, 1,024 keeps 256.
        assert_eq!(call_places(Some(64)), 16);
        assert_eq!(call_places(Some(1_024)), 128);
        assert_eq!(call_places(Some(16)), 8);
        assert_eq!(call_places(None), tokio::sync::Semaphore::MAX_PERMITS);
    }

    /// An error whose text says nothing of its cause, as reqwest's.
    #[derive(Debug)]
    struct Sending(std::io::Error);

    impl std::fmt::Display for Sending {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error sending request")
        }
    }

    impl std::error::Error for Sending {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn an_error_says_what_caused_it() {
        let error = Sending(std::io::Error::other("Too many open files"));
        assert_eq!(
            with_causes(&error),
            "error sending request: Too many open files"
        );
    }
}
