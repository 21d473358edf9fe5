//! `dax-loadgen` against a real store and proxy node: the hit ratio it reports must be the
//! proxy's own (its `/metrics` counters), and a skewed key distribution must beat a uniform
//! one when the cache holds only a small part of the data set.
//!
//! Every run is bounded: a few hundred items, 3 s of load, and a deadline on the child.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::serde_json::Value;
use integration_tests::{binary_path, ProxyProcess, StoreProcess};

/// Items in the key space. At the loadgen's default ~1 KB per item the data set is ~300 KB.
const ITEMS: u32 = 300;
/// Item cache of the proxy: a few dozen items, i.e. ~15% of the data set, so a uniform
/// workload misses almost always while a Zipf(1.2) one keeps its hot head cached.
const ITEM_CACHE_BYTES: &str = "20000";
/// Seconds of load per run.
const RUN_SECS: &str = "3";
/// A run that is not over by then is hung, not slow.
const RUN_DEADLINE: Duration = Duration::from_secs(60);
/// How far the report's hit ratio may be from the one computed from the proxy's counters.
/// The counter delta spans the whole loadgen process, so it also sees the requests the run
/// itself does not count: table setup and preload are writes/DescribeTable (not cache
/// lookups), but any request in flight when the duration ends is counted by the proxy and
/// dropped by the report. Both effects are a handful of requests out of thousands.
const RATIO_TOLERANCE: f64 = 0.02;

/// A bare `GET` returning the body; HTTP/1.0 so the server closes the connection and sends
/// no chunked encoding, which keeps this free of an HTTP client.
fn http_get_body(addr: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .expect("HTTP response without body");
    assert!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "GET {path}: {head}"
    );
    body.to_string()
}

/// Sum of every sample of `name` (all label sets) in a Prometheus text exposition.
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let metric = series.split('{').next()?;
            (metric == name).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

/// (item cache hits, item cache misses) as the proxy counts them right now.
fn item_cache_counters(proxy: &ProxyProcess) -> (f64, f64) {
    let addr: SocketAddr = proxy
        .endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let text = http_get_body(addr, "/metrics");
    (
        metric_sum(&text, "dax_item_cache_hits_total"),
        metric_sum(&text, "dax_item_cache_misses_total"),
    )
}

/// Runs `dax-loadgen` to completion (or panics at the deadline) and returns its JSON report.
fn run_loadgen(args: &[&str], report: &Path) -> Value {
    let (status, out, err) = run_loadgen_to_end(args, report);
    assert!(
        status.success(),
        "dax-loadgen {args:?} failed ({status}):\nstdout:\n{out}\nstderr:\n{err}"
    );
    let text = std::fs::read_to_string(report).unwrap();
    integration_tests::serde_json::from_str(&text).unwrap()
}

/// Runs `dax-loadgen` to completion (or panics at the deadline): its exit status, stdout
/// and stderr.
fn run_loadgen_to_end(args: &[&str], report: &Path) -> (std::process::ExitStatus, String, String) {
    let bin = binary_path("dax-loadgen", "DAX_LOADGEN_BIN");
    let mut child = Command::new(&bin)
        .args(args)
        .arg("--json")
        .arg(report)
        .arg("--no-progress")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dax-loadgen {args:?} still running after {RUN_DEADLINE:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, out, err)
}

/// A run whose every request fails (here: a table that does not exist) still writes its
/// report, then exits 1: a script must not take a broken run for a measurement.
#[test]
fn a_run_whose_every_request_fails_exits_1() {
    let store = StoreProcess::spawn();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let endpoint = store.endpoint();
    let args = [
        "--endpoint",
        endpoint.as_str(),
        "--skip-setup",
        "--table",
        "no-such-table",
        "--requests",
        "20",
        "--concurrency",
        "2",
    ];
    let (status, _, err) = run_loadgen_to_end(&args, &report);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("every request failed"), "{err}");
    let text = std::fs::read_to_string(&report).unwrap();
    let written: Value = integration_tests::serde_json::from_str(&text).unwrap();
    assert_eq!(written["errors_total"], written["total_ops"]);
}

/// An open-loop run covers its whole --duration: at 1 request a second for 2 s its last
/// request is due at 1 s, and the report said 2 ops in ~1 s (2 ops/s, twice the rate).
#[test]
fn an_open_loop_run_reports_the_rate_over_its_whole_duration() {
    let store = StoreProcess::spawn();
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let endpoint = store.endpoint();
    let args = [
        "--endpoint",
        endpoint.as_str(),
        "--items",
        "10",
        "--preload",
        "--rate",
        "1",
        "--duration",
        "2s",
        "--concurrency",
        "1",
    ];
    let written = run_loadgen(&args, &report);
    assert_eq!(written["total_ops"], 2, "{written}");
    assert!(
        written["elapsed_secs"].as_f64().unwrap() >= 2.0,
        "{written}"
    );
    assert!(written["ops_per_sec"].as_f64().unwrap() <= 1.0, "{written}");
}

/// One bounded GetItem-only run through a fresh proxy node with the small item cache.
/// Returns (report hit ratio, hit ratio from the proxy's counter delta, ops).
fn run_through_fresh_proxy(
    store: &StoreProcess,
    distribution: &str,
    preload: bool,
) -> (f64, f64, u64) {
    // A fresh node per run so neither run starts with a cache warmed by the other.
    let proxy = ProxyProcess::spawn_with(
        &store.endpoint(),
        &["--cache-header", "--item-cache-bytes", ITEM_CACHE_BYTES],
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let report_path = dir.path().join("report.json");
    let endpoint = proxy.endpoint();
    let items = ITEMS.to_string();
    let mut args = vec![
        "--endpoint",
        endpoint.as_str(),
        "--items",
        items.as_str(),
        "--distribution",
        distribution,
        "--mix",
        "get=100",
        "--concurrency",
        "4",
        "--duration",
        RUN_SECS,
    ];
    if preload {
        args.push("--preload");
    }

    let (hits_before, misses_before) = item_cache_counters(&proxy);
    let report = run_loadgen(&args, &report_path);
    let (hits_after, misses_after) = item_cache_counters(&proxy);

    let ops = report["total_ops"].as_u64().expect("report.total_ops");
    assert!(
        ops > 100,
        "{distribution}: only {ops} ops in the run: {report}"
    );
    assert_eq!(
        report["errors_total"].as_u64(),
        Some(0),
        "{distribution}: {report}"
    );
    // The timeline covers the whole run, its last (partial) second too.
    let timeline = report["timeline"].as_array().expect("report.timeline");
    let run_secs: f64 = RUN_SECS.parse().unwrap();
    let last_t = timeline.last().and_then(|p| p["t"].as_f64()).unwrap_or(0.0);
    assert!(
        last_t >= run_secs - 0.2,
        "{distribution}: the timeline ends at {last_t} s of a {run_secs} s run"
    );
    let reported = report["hit_ratio"]
        .as_f64()
        .unwrap_or_else(|| panic!("{distribution}: report has no hit_ratio: {report}"));

    let hits = hits_after - hits_before;
    let misses = misses_after - misses_before;
    assert!(
        hits + misses > 0.0,
        "{distribution}: the proxy counted no item-cache lookups"
    );
    // Every GetItem of the run is one lookup; the proxy may count a few more (see
    // RATIO_TOLERANCE) but never fewer.
    assert!(
        hits + misses >= ops as f64,
        "{distribution}: proxy counted {} lookups for {ops} GetItems",
        hits + misses
    );
    (reported, hits / (hits + misses), ops)
}

#[test]
fn report_hit_ratio_matches_proxy_counters_and_zipf_beats_uniform() {
    let store = StoreProcess::spawn();

    // Preload once, in the first run; the second reads the same table.
    let (zipf_report, zipf_counters, zipf_ops) = run_through_fresh_proxy(&store, "zipf:1.2", true);
    let (uniform_report, uniform_counters, uniform_ops) =
        run_through_fresh_proxy(&store, "uniform", false);
    eprintln!(
        "zipf:1.2  ops {zipf_ops} report {zipf_report:.3} counters {zipf_counters:.3}\n\
         uniform   ops {uniform_ops} report {uniform_report:.3} counters {uniform_counters:.3}"
    );

    // (a) The loadgen's number is the proxy's number.
    for (name, report, counters, ops) in [
        ("zipf:1.2", zipf_report, zipf_counters, zipf_ops),
        ("uniform", uniform_report, uniform_counters, uniform_ops),
    ] {
        // The four requests in flight at the end can move a short run's ratio by more.
        let tolerance = RATIO_TOLERANCE.max(5.0 / ops as f64);
        assert!(
            (report - counters).abs() <= tolerance,
            "{name}: report hit ratio {report:.4} vs proxy counters {counters:.4}"
        );
    }

    // (b) Same cache, same data: the skewed workload keeps its hot keys cached. The margin
    // is wide on purpose (measured: ~0.69 vs ~0.15) so scheduling noise cannot flip it.
    assert!(
        zipf_report > uniform_report + 0.3,
        "zipf hit ratio {zipf_report:.3} should clearly beat uniform {uniform_report:.3} \
         with a cache of ~15% of the data set"
    );
    // With ~15% of the data cached, uniform keys mostly miss; a high ratio here would mean
    // the cache is bigger than intended and (b) proves nothing.
    assert!(
        uniform_report < 0.3,
        "uniform hit ratio {uniform_report:.3}: the cache holds more than intended"
    );
}
