//! The HTTP/1.1 client: one keep-alive connection per worker, straight on hyper.
//!
//! Each worker owns its connection (no pool, no locks), so `--concurrency N` means exactly
//! N connections and the client adds only hyper's framing and the SigV4 signature per call.
//! A broken connection is dropped and the next call reconnects.
//!
//! Not here: TLS (`https://` endpoints are rejected up front), HTTP/2, redirects, retries
//! (the load generator counts failures instead of hiding them).

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

use shared::wire::content_type::AMZ_JSON_1_0;
use shared::wire::sigv4::{amz_date, Signer};

/// A resolved `http://host:port` endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// As given, without a trailing slash.
    pub url: String,
    /// `host:port`, the `Host` header.
    pub authority: String,
    pub addr: SocketAddr,
}

impl Endpoint {
    /// Parses and resolves an endpoint URL. Only `http://` is supported.
    pub async fn resolve(url: &str) -> Result<Endpoint, String> {
        let url = url.trim().trim_end_matches('/').to_string();
        let rest = match url.strip_prefix("http://") {
            Some(rest) => rest,
            None if url.starts_with("https://") => {
                return Err(format!(
                    "{url}: https endpoints are not supported; use http://"
                ))
            }
            None => return Err(format!("{url}: the endpoint must be an http:// URL")),
        };
        if rest.contains('/') {
            return Err(format!("{url}: the endpoint must not have a path"));
        }
        let with_port = if rest.contains(':') {
            rest.to_string()
        } else {
            format!("{rest}:80")
        };
        let addr = tokio::net::lookup_host(with_port.as_str())
            .await
            .map_err(|e| format!("{url}: cannot resolve: {e}"))?
            .next()
            .ok_or_else(|| format!("{url}: cannot resolve"))?;
        let authority = rest.to_string();
        Ok(Endpoint {
            url,
            authority,
            addr,
        })
    }

    /// Fails with a clear message when nothing listens there.
    pub async fn check_reachable(&self) -> Result<(), String> {
        match tokio::time::timeout(
            std::time::Duration::from_secs(3),
            tokio::net::TcpStream::connect(self.addr),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("endpoint {} is unreachable: {e}", self.url)),
            Err(_) => Err(format!(
                "endpoint {} is unreachable: connect timed out",
                self.url
            )),
        }
    }
}

/// What the cache said about a response (`x-dax-cache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMark {
    Hit,
    Miss,
    Bypass,
}

/// One response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub cache: Option<CacheMark>,
    pub body: Bytes,
}

impl Reply {
    /// The DynamoDB error name (`__type` after `#`) of a non-200 reply.
    pub fn error_kind(&self) -> Option<String> {
        if self.status == 200 {
            return None;
        }
        let name = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| v.get("__type").and_then(|t| t.as_str()).map(str::to_string))
            .map(|t| t.rsplit('#').next().unwrap_or(&t).to_string());
        Some(name.unwrap_or_else(|| format!("HTTP {}", self.status)))
    }
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    // Requests are small and latency-bound; Nagle would add delays of up to 40 ms.
    let _ = stream.set_nodelay(true);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        // The connection ends when the sender is dropped or the server closes it; either
        // is reported by the next send, so the result here carries nothing new.
        let _ = connection.await;
    });
    Ok(sender)
}

/// A worker's connection to one endpoint, with its signer.
pub struct Conn {
    endpoint: Endpoint,
    sender: Option<SendRequest<Full<Bytes>>>,
    signer: Signer,
    date_secs: u64,
    date: String,
}

impl Conn {
    pub fn new(endpoint: Endpoint, signer: Signer) -> Conn {
        Conn {
            endpoint,
            sender: None,
            signer,
            date_secs: u64::MAX,
            date: String::new(),
        }
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends one DynamoDB call (`target` is e.g. `DynamoDB_20120810.GetItem`).
    pub async fn call(&mut self, target: &str, body: Bytes) -> Result<Reply, String> {
        let now = shared::clock::now_secs();
        if now != self.date_secs {
            self.date_secs = now;
            self.date = amz_date(now);
        }
        let headers = self.signer.json_call_headers(
            &self.endpoint.authority,
            AMZ_JSON_1_0,
            target,
            &body,
            &self.date,
        );
        let mut request = hyper::Request::post("/").header("host", &self.endpoint.authority);
        for (name, value) in &headers {
            request = request.header(*name, value.as_ref());
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("request: {e}"))?;
        let mut sender = match self.sender.take() {
            Some(sender) if !sender.is_closed() => sender,
            _ => connect(self.endpoint.addr).await?,
        };
        sender
            .ready()
            .await
            .map_err(|e| format!("connection: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let status = response.status().as_u16();
        let cache = response
            .headers()
            .get("x-dax-cache")
            .and_then(|v| match v.as_bytes() {
                b"hit" => Some(CacheMark::Hit),
                b"miss" => Some(CacheMark::Miss),
                b"bypass" => Some(CacheMark::Bypass),
                _ => None,
            });
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        // Only a fully read response leaves the connection reusable.
        self.sender = Some(sender);
        Ok(Reply {
            status,
            cache,
            body,
        })
    }
}

/// A one-off `GET path` (health, metrics) on a fresh connection.
pub async fn http_get(endpoint: &Endpoint, path: &str) -> Result<(u16, Bytes), String> {
    let mut sender = connect(endpoint.addr).await?;
    let request = hyper::Request::get(path)
        .header("host", &endpoint.authority)
        .body(Full::new(Bytes::new()))
        .map_err(|e| format!("request: {e}"))?;
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok((status, body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn error_kind_takes_the_name_after_the_namespace() {
        let reply = Reply {
            status: 400,
            cache: None,
            body: Bytes::from_static(
                br#"{"__type":"com.amazon.coral.validate#ValidationException","message":"x"}"#,
            ),
        };
        assert_eq!(reply.error_kind().as_deref(), Some("ValidationException"));
        let reply = Reply {
            status: 502,
            cache: None,
            body: Bytes::from_static(b"bad gateway"),
        };
        assert_eq!(reply.error_kind().as_deref(), Some("HTTP 502"));
        let ok = Reply {
            status: 200,
            cache: None,
            body: Bytes::new(),
        };
        assert_eq!(ok.error_kind(), None);
    }

    #[tokio::test]
    async fn rejects_bad_endpoints() {
        assert!(Endpoint::resolve("https://x:1").await.is_err());
        assert!(Endpoint::resolve("127.0.0.1:80").await.is_err());
        assert!(Endpoint::resolve("http://127.0.0.1:1/path").await.is_err());
        let ok = Endpoint::resolve("http://127.0.0.1:8000/").await.unwrap();
        assert_eq!(ok.authority, "127.0.0.1:8000");
        assert_eq!(ok.url, "http://127.0.0.1:8000");
    }
}
