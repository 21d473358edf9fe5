//! `dax-loadgen fixed-server`: the HTTP ceiling the benchmarks compare against.
//!
//! Answers every request, whatever its path, method or body, with one fixed
//! DynamoDB-looking JSON body (by default a small GetItem answer; `--body-file` gives any
//! other, such as a real 10-item Query answer, so the bytes on the wire match) and the headers a real answer carries (`content-type`,
//! `x-amz-crc32`, `x-amzn-requestid`). It does the least work an axum server can do for a
//! request, so "store / fixed" and "proxy hit / fixed" ratios show how much the real servers
//! add on top of HTTP itself. The request body is read in full, as a real server must.

use std::io::Write;

use axum::http::{header, HeaderValue};
use axum::response::IntoResponse;
use bytes::Bytes;

use super::journal::Journal;
use super::FixedArgs;

/// The fixed answer: a GetItem-shaped item.
pub const BODY: &str =
    r#"{"Item":{"pk":{"S":"p00000000"},"sk":{"N":"0"},"payload":{"S":"fixed"}}}"#;

#[derive(Clone)]
struct Fixed {
    body: Bytes,
    crc: HeaderValue,
    journal: Option<Journal>,
}

async fn answer(
    axum::extract::State(fixed): axum::extract::State<Fixed>,
    request: Bytes,
) -> axum::response::Response {
    if let Some(journal) = &fixed.journal {
        if journal.append(request).await.is_err() {
            return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-amz-json-1.0"),
            ),
            (
                header::HeaderName::from_static("x-amz-crc32"),
                fixed.crc.clone(),
            ),
            (
                header::HeaderName::from_static("x-amzn-requestid"),
                HeaderValue::from_static("FIXEDSERVER00000000000000000000000000000000000000000"),
            ),
        ],
        fixed.body.clone(),
    )
        .into_response()
}

/// Serves until Ctrl-C; prints `fixed-server listening on HOST:PORT` once bound.
pub async fn serve(args: &FixedArgs) -> Result<(), String> {
    let listen = args.listen;
    let body = match &args.body_file {
        Some(path) => Bytes::from(
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        ),
        None => Bytes::from_static(BODY.as_bytes()),
    };
    let journal = args.journal.as_deref().map(Journal::open).transpose()?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("fixed-server listening on {address}");
    let _ = std::io::stdout().flush();
    serve_listener(listener, body, journal, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

/// Serves on a bound listener until `shutdown` completes (tests pass their own).
pub async fn serve_listener(
    listener: tokio::net::TcpListener,
    body: Bytes,
    journal: Option<Journal>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let crc = HeaderValue::from_str(&shared::wire::crc32::header_value(&body))
        .map_err(|e| e.to_string())?;
    let fixed = Fixed { body, crc, journal };
    let router = axum::Router::new().fallback(answer).with_state(fixed);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_journal_holds_each_request_before_its_answer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_listener(
            listener,
            Bytes::from_static(BODY.as_bytes()),
            Some(Journal::open(&path).unwrap()),
            async {
                let _ = stopped.await;
            },
        ));
        let client = reqwest::Client::new();
        for body in ["first", "second"] {
            let answer = client.post(&url).body(body).send().await.unwrap();
            assert_eq!(answer.status(), 200);
            assert_eq!(answer.text().await.unwrap(), BODY);
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "firstsecond");
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }

    #[test]
    fn body_is_json() {
        let v: serde_json::Value = serde_json::from_str(BODY).unwrap();
        assert!(v["Item"].is_object());
    }
}
