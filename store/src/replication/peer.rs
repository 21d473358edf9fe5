//! Calls to the stores of other regions: their internal replication endpoints (`serve`).

use std::sync::OnceLock;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

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

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PeerError::Unreachable(why) => write!(f, "unreachable: {why}"),
            PeerError::Refused { status, message } => write!(f, "HTTP {status}: {message}"),
        }
    }
}

/// Posts `body` to `<endpoint>/internal/replication/<action>` with the cluster secret and
/// reads the JSON answer.
pub async fn call<T: Serialize, R: DeserializeOwned>(
    app: &App,
    endpoint: &str,
    action: &str,
    body: &T,
) -> Result<R, PeerError> {
    let mut request = client()
        .post(format!("{endpoint}/internal/replication/{action}"))
        .json(body);
    if let Some(secret) = &app.config.cluster_secret {
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
