//! Calls to the stores of other regions: their internal replication endpoints (`serve`).

use std::sync::OnceLock;
use std::time::Duration;

use axum::body::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use shared::model::json_out;

use crate::app::App;

/// How long a call to another region's store may take. Applying a batch of changes is
/// the slowest (each is a durable write there).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call to another store failed.
#[derive(Debug)]
pub enum PeerError {
    /// No answer (connection refused, timeout, a body that is not what was asked).
    Unreachable(String),
    /// The store answered with an error status and says why.
    Refused { status: u16, message: String },
}

impl PeerError {
    /// Why the store refused the call for good (a 4xx: asked again, it answers the same);
    /// `None` for no answer or a failure on its side, which may pass.
    pub fn refusal(&self) -> Option<&str> {
        match self {
            PeerError::Refused { status, message } if *status < 500 => Some(message),
            _ => None,
        }
    }

    /// Whether the call is worth making again: no answer, or a failure on the store's side.
    pub fn may_pass(&self) -> bool {
        self.refusal().is_none()
    }

    /// Whether the store answered 409, a conflict with the table as it is there now (being
    /// changed; to a create, a table of the name another addition made): a refusal now,
    /// but the same call made later may be taken.
    pub fn table_busy(&self) -> bool {
        matches!(self, PeerError::Refused { status: 409, .. })
    }
}

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerError::Unreachable(why) => write!(f, "unreachable: {why}"),
            PeerError::Refused { status, message } => write!(f, "HTTP {status}: {message}"),
        }
    }
}

/// Posts `body` as JSON to `<endpoint>/internal/replication/<action>` with the cluster
/// secret and reads the JSON answer.
pub async fn call<T: Serialize, R: DeserializeOwned>(
    app: &App,
    endpoint: &str,
    action: &str,
    body: &T,
) -> Result<R, PeerError> {
    call_within(app, endpoint, action, body, CALL_TIMEOUT).await
}

/// [`call`] with the JSON body already written.
pub async fn post<R: DeserializeOwned>(
    app: &App,
    endpoint: &str,
    action: &str,
    body: Bytes,
) -> Result<R, PeerError> {
    post_with_secret(app.config.cluster_secret.as_deref(), endpoint, action, body).await
}

/// [`call`] that gives up after `within`: for a call a client's request waits on, which a
/// store that takes connections but answers nothing (frozen, or its disk stalled) would
/// hold for [`CALL_TIMEOUT`].
pub async fn call_within<T: Serialize, R: DeserializeOwned>(
    app: &App,
    endpoint: &str,
    action: &str,
    body: &T,
    within: Duration,
) -> Result<R, PeerError> {
    let body = json_out::to_vec(body).map_err(|e| PeerError::Unreachable(e.to_string()))?;
    let secret = app.config.cluster_secret.as_deref();
    send(secret, endpoint, action, Bytes::from(body), within).await
}

/// [`post`] for a task that holds the cluster secret rather than the app.
pub async fn post_with_secret<R: DeserializeOwned>(
    secret: Option<&str>,
    endpoint: &str,
    action: &str,
    body: Bytes,
) -> Result<R, PeerError> {
    send(secret, endpoint, action, body, CALL_TIMEOUT).await
}

async fn send<R: DeserializeOwned>(
    secret: Option<&str>,
    endpoint: &str,
    action: &str,
    body: Bytes,
    within: Duration,
) -> Result<R, PeerError> {
    let mut request = client()
        .post(format!("{endpoint}/internal/replication/{action}"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .timeout(within)
        .body(body);
    if let Some(secret) = secret {
        request = request.header(shared::wire::headers::CLUSTER_SECRET, secret);
    }
    let response = request
        .send()
        .await
        .map_err(|e| PeerError::Unreachable(e.to_string()))?;
    let status = response.status();
    if !status.is_success() {
        let message = response.text().await.unwrap_or_default();
        return Err(PeerError::Refused {
            status: status.as_u16(),
            message,
        });
    }
    response
        .json()
        .await
        .map_err(|e| PeerError::Unreachable(e.to_string()))
}

/// One HTTP client for every call, so connections to a region are reused.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(CALL_TIMEOUT)
            .build()
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_no_answer_or_a_failure_over_there_may_pass() {
        assert!(PeerError::Unreachable("refused".into()).may_pass());
        let status = |status| PeerError::Refused {
            status,
            message: format!("said {status}"),
        };
        assert!(status(503).may_pass() && status(500).may_pass());
        assert_eq!(status(404).refusal(), Some("said 404"));
        assert!(!status(400).may_pass());
    }
}
