//! `dax-loadgen sweep`: "what hit ratio and latency will I get with N items, this skew, this
//! cache size?"
//!
//! Starts its own store (in a temporary directory, preloaded once, directly so the caches
//! start cold) and, for every point of cache size × distribution, a fresh proxy with that
//! `--item-cache-bytes`; warms it up, measures, kills it. Prints one row per point (hit ratio
//! and latency) and can write every point's full report as JSON.
//!
//! The binaries are `store` and `dax-proxy` next to this executable (`cargo build --release
//! --bins`), or in `--bin-dir`. Everything listens on 127.0.0.1 port 0; children are killed
//! when their handle drops, so an error or Ctrl-C leaves no process behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

use super::client::{http_get, Endpoint};
use super::dist::Distribution;
use super::report::Report;
use super::run::{self, RunConfig};

/// A started child process and the address it printed.
pub struct Daemon {
    child: tokio::process::Child,
    pub url: String,
}

impl Daemon {
    /// Runs `bin args`, waits for its `<banner> HOST:PORT` line on stdout and for `/health`.
    pub async fn start(bin: &Path, args: &[String], banner: &str) -> Result<Daemon, String> {
        let mut child = tokio::process::Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| format!("{}: no stdout", bin.display()))?;
        let mut lines = BufReader::new(stdout).lines();
        let address = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line.trim().strip_prefix(banner) {
                    return Some(addr.trim().to_string());
                }
            }
            None
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| format!("{} did not print {banner:?}", bin.display()))?;
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let url = format!("http://{address}");
        let endpoint = Endpoint::resolve(&url).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = http_get(&endpoint, "/health").await {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{} at {url} never became healthy", bin.display()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Daemon { child, url })
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One sweep point's result.
#[derive(Debug, Serialize)]
pub struct Point {
    pub distribution: String,
    pub item_cache_bytes: u64,
    pub report: Report,
}

/// What to sweep.
pub struct Sweep {
    pub bin_dir: PathBuf,
    pub cache_sizes: Vec<u64>,
    pub distributions: Vec<Distribution>,
    pub warmup: Duration,
    /// The run template; its endpoints, distribution and metrics URLs are set per point.
    pub template: RunConfig,
}

/// Runs every point; returns the points that completed (all of them unless stopped).
pub async fn run(sweep: Sweep, stop: watch::Receiver<bool>) -> Result<Vec<Point>, String> {
    let store_bin = sweep.bin_dir.join("store");
    let proxy_bin = sweep.bin_dir.join("dax-proxy");
    for bin in [&store_bin, &proxy_bin] {
        if !bin.is_file() {
            return Err(format!(
                "{} not found; build with `cargo build --release --bins` or pass --bin-dir",
                bin.display()
            ));
        }
    }
    let dir = TempDir::new("dax-loadgen-sweep")?;
    let store = Daemon::start(
        &store_bin,
        &[
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--data-dir".into(),
            dir.path().join("store").display().to_string(),
        ],
        "store listening on ",
    )
    .await?;
    eprintln!("sweep: store at {}", store.url);
    let store_endpoint = Endpoint::resolve(&store.url).await?;
    let t = &sweep.template;
    run::ensure_table(&store_endpoint, &t.creds, &t.keyspace).await?;
    run::preload(
        &store_endpoint,
        &t.creds,
        t.keyspace.clone(),
        t.concurrency.max(8),
        t.progress,
        t.seed,
        stop.clone(),
    )
    .await?;
    let mut points = Vec::new();
    'points: for dist in &sweep.distributions {
        for &bytes in &sweep.cache_sizes {
            if *stop.borrow() {
                break 'points;
            }
            let proxy = Daemon::start(
                &proxy_bin,
                &[
                    "--listen".into(),
                    "127.0.0.1:0".into(),
                    "--store".into(),
                    store.url.clone(),
                    "--item-cache-bytes".into(),
                    bytes.to_string(),
                    "--record-ttl".into(),
                    "5m".into(),
                    "--cache-header".into(),
                ],
                "dax-proxy listening on ",
            )
            .await?;
            let endpoint = Endpoint::resolve(&proxy.url).await?;
            let mut cfg = sweep.template.clone();
            cfg.endpoints = vec![endpoint];
            cfg.distribution = dist.clone();
            cfg.metrics_urls = vec![format!("{}/metrics", proxy.url)];
            eprintln!("sweep: {dist}, item cache {bytes} bytes: warming up");
            if !sweep.warmup.is_zero() {
                let mut warm = cfg.clone();
                warm.duration = Some(sweep.warmup);
                warm.requests = None;
                warm.metrics_urls.clear();
                run::run(warm, stop.clone()).await?;
            }
            let report = run::run(cfg, stop.clone()).await?;
            proxy.stop().await;
            let interrupted = report.interrupted;
            points.push(Point {
                distribution: dist.to_string(),
                item_cache_bytes: bytes,
                report,
            });
            if interrupted {
                break 'points;
            }
        }
    }
    store.stop().await;
    Ok(points)
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

/// One row per point.
pub fn table(points: &[Point]) -> String {
    let mut out = format!(
        "{:<16} {:>14} {:>9} {:>11} {:>10} {:>9} {:>9} {:>7}\n",
        "distribution", "cache bytes", "hit%", "hit% (met)", "ops/s", "p50 ms", "p99 ms", "errors"
    );
    for p in points {
        let r = &p.report;
        out.push_str(&format!(
            "{:<16} {:>14} {:>9} {:>11} {:>10.0} {:>9.3} {:>9.3} {:>7}\n",
            p.distribution,
            p.item_cache_bytes,
            pct(r.hit_ratio),
            pct(r.cache.metrics.as_ref().and_then(|m| m.hit_ratio)),
            r.ops_per_sec,
            r.latency_ms.p50,
            r.latency_ms.p99,
            r.errors_total
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn temp_dir_is_removed() {
        let path = {
            let d = TempDir::new("loadgen-test").unwrap();
            std::fs::write(d.path().join("f"), b"x").unwrap();
            d.path().to_path_buf()
        };
        assert!(!path.exists());
    }
}
