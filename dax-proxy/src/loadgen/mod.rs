//! `dax-loadgen`: drives a store, a proxy node or a whole proxy cluster with DynamoDB calls
//! and reports throughput, latency percentiles per operation, errors and cache hit ratio.
//!
//! # Layout
//! - this file: the command line (clap) → validated [`run::RunConfig`], and the entry point.
//! - `dist`: key distributions (uniform, zipf:S, hotset:X:Y, sequential).
//! - `mix`: the operation mix (`get=80,put=20`, percents summing to 100).
//! - `workload`: the key space (partitions of `--partition-size` items) and request bodies.
//! - `client`: one hyper HTTP/1.1 keep-alive connection per worker (signed with `shared::wire::sigv4`).
//! - `run`: table setup, preload, closed- and open-loop workers, live progress.
//! - `report`: HDR histograms, the table, the JSON report, the SVG plot.
//! - `scrape`: the proxies' cache counters from `/metrics`.
//! - `sweep`: the "what hit ratio will I get" preset; `fixed`: the fixed-body HTTP ceiling;
//!   `journal`: its durable variant's group-committed append and fdatasync.
//!
//! Every impossible workload (no keys, a mix that does not sum to 100, an unreachable
//! endpoint, a bad table name) is rejected with a message and exit code 2 before any load is
//! sent. Ctrl-C stops a run and still prints (and writes) the report of what completed.

pub mod client;
pub mod dist;
pub mod fixed;
pub mod journal;
pub mod mix;
pub mod report;
pub mod run;
pub mod scrape;
pub mod sweep;
pub mod workload;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tokio::sync::watch;

use self::client::Endpoint;
use self::dist::Distribution;
use self::mix::{LoadOp, Mix};
use self::run::RunConfig;
use self::workload::KeySpace;
use shared::wire::sigv4::Credentials;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "dax-loadgen",
    about = "Load generator for the store and the dax-proxy cluster",
    version,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a workload against an endpoint (the default when no subcommand is given).
    Run(RunArgs),
    /// Serve a fixed JSON body on every request: the HTTP ceiling for benchmarks.
    FixedServer(FixedArgs),
    /// Start a store and one proxy per point; sweep item-cache size and/or distribution and
    /// print hit ratio and latency per point.
    Sweep(SweepArgs),
}

#[derive(Debug, Args)]
pub struct FixedArgs {
    /// Address to serve on; port 0 picks one (printed as `fixed-server listening on ...`).
    #[arg(long, env = "DAX_LOADGEN_LISTEN", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Answer with this file's bytes instead of the built-in small GetItem body, e.g. a
    /// real response captured from the store, so that the ceiling sends as many bytes as
    /// the server it is compared with.
    #[arg(long, env = "DAX_LOADGEN_BODY_FILE")]
    pub body_file: Option<PathBuf>,
    /// Make every request's body durable before answering it: append it to this file
    /// (truncated at start) and fdatasync, group-committed like the store's writes. The
    /// durable ceiling a store's PutItem is compared with.
    #[arg(long, env = "DAX_LOADGEN_JOURNAL")]
    pub journal: Option<PathBuf>,
}

/// The workload, shared by `run` and `sweep`.
#[derive(Debug, Args, Clone)]
pub struct WorkloadArgs {
    /// Table name; created (pk S, sk N, on demand) when missing.
    #[arg(long, env = "DAX_LOADGEN_TABLE", default_value = "loadgen")]
    pub table: String,
    /// Number of items in the key space.
    #[arg(long, env = "DAX_LOADGEN_ITEMS", default_value_t = 10_000)]
    pub items: u64,
    /// Approximate item size: bytes, or a size with a unit (`4KiB`).
    #[arg(long, env = "DAX_LOADGEN_ITEM_SIZE", default_value = "1024", value_parser = shared::flags::bytes)]
    pub item_size: u64,
    /// Items per partition (what one Query reads).
    #[arg(long, env = "DAX_LOADGEN_PARTITION_SIZE", default_value_t = 10)]
    pub partition_size: u64,
    /// Key distribution: uniform, zipf:S, hotset:X:Y (X% of traffic on Y% of keys), sequential.
    #[arg(long, env = "DAX_LOADGEN_DISTRIBUTION", default_value = "uniform")]
    pub distribution: String,
    /// Operation mix in percents summing to 100: get, batchget, query, scan, put, update, delete.
    #[arg(long, env = "DAX_LOADGEN_MIX", default_value = "get=100")]
    pub mix: String,
    /// Percent of reads sent strongly consistent (these bypass the proxy's caches).
    #[arg(long, env = "DAX_LOADGEN_CONSISTENT", default_value_t = 0.0)]
    pub consistent: f64,
    /// Concurrent connections (workers).
    #[arg(long, env = "DAX_LOADGEN_CONCURRENCY", default_value_t = 16)]
    pub concurrency: usize,
    /// Target rate in ops/s (open loop, latency measured from each request's due time);
    /// without it the run is closed-loop.
    #[arg(long, env = "DAX_LOADGEN_RATE")]
    pub rate: Option<f64>,
    /// Run length: seconds, or a duration with a unit (`500ms`, `2m`); default 10 s unless
    /// --requests is given.
    #[arg(long, env = "DAX_LOADGEN_DURATION", value_parser = shared::flags::positive_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many requests.
    #[arg(long, env = "DAX_LOADGEN_REQUESTS")]
    pub requests: Option<u64>,
    /// Keys per BatchGetItem (1..100).
    #[arg(long, env = "DAX_LOADGEN_BATCH_SIZE", default_value_t = 10)]
    pub batch_size: usize,
    /// Limit of each Scan page.
    #[arg(long, env = "DAX_LOADGEN_SCAN_LIMIT", default_value_t = 10)]
    pub scan_limit: u32,
    /// Per-request timeout: seconds, or a duration with a unit (`500ms`).
    #[arg(long, env = "DAX_LOADGEN_TIMEOUT", default_value = "10", value_parser = shared::flags::positive_duration)]
    pub timeout: Duration,
    /// SigV4 region.
    #[arg(long, env = "DAX_LOADGEN_REGION", default_value = "us-east-1")]
    pub region: String,
    /// Write the JSON report here.
    #[arg(long, env = "DAX_LOADGEN_JSON")]
    pub json: Option<PathBuf>,
    /// Write an SVG plot of throughput, p99 and hit ratio over time here.
    #[arg(long, env = "DAX_LOADGEN_PLOT")]
    pub plot: Option<PathBuf>,
    /// Never draw the progress line (it is drawn only when stderr is a terminal anyway).
    #[arg(long, env = "DAX_LOADGEN_NO_PROGRESS", value_parser = clap::builder::BoolishValueParser::new())]
    pub no_progress: bool,
    /// Seed of the key, operation and payload streams, to repeat a run exactly (the JSON
    /// report records each run's). Default: a fresh seed per run, so that writes store new
    /// values instead of replaying the previous run's.
    #[arg(long, env = "DAX_LOADGEN_SEED")]
    pub seed: Option<u64>,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    /// Endpoint URL (repeat or comma-separate for a cluster; workers are spread round-robin).
    #[arg(
        long,
        env = "DAX_LOADGEN_ENDPOINT",
        default_value = "http://127.0.0.1:8111",
        value_delimiter = ','
    )]
    pub endpoint: Vec<String>,
    /// Prometheus URL to read cache counters from, before and after (repeatable); default:
    /// each endpoint's /metrics.
    #[arg(long, env = "DAX_LOADGEN_METRICS_URL")]
    pub metrics_url: Vec<String>,
    /// Fill the table (items 0..N) with BatchWriteItem before the run.
    #[arg(long, env = "DAX_LOADGEN_PRELOAD", value_parser = clap::builder::BoolishValueParser::new())]
    pub preload: bool,
    /// Do not check or create the table (e.g. against the fixed server).
    #[arg(long, env = "DAX_LOADGEN_SKIP_SETUP", value_parser = clap::builder::BoolishValueParser::new())]
    pub skip_setup: bool,
    #[command(flatten)]
    pub workload: WorkloadArgs,
}

#[derive(Debug, Args, Clone)]
pub struct SweepArgs {
    /// Item cache sizes to sweep, comma-separated (e.g. 1MiB,4MiB,16MiB).
    #[arg(
        long,
        env = "DAX_LOADGEN_CACHE_BYTES",
        value_delimiter = ',',
        default_value = "1MiB,4MiB,16MiB,64MiB",
        value_parser = shared::flags::bytes
    )]
    pub cache_bytes: Vec<u64>,
    /// Distributions to sweep, comma-separated (default: --distribution).
    #[arg(long, env = "DAX_LOADGEN_DISTRIBUTIONS", value_delimiter = ',')]
    pub distributions: Vec<String>,
    /// Unmeasured load per point before measuring, to fill the cache: seconds, or a
    /// duration with a unit (`500ms`).
    #[arg(long, env = "DAX_LOADGEN_WARMUP", default_value = "3", value_parser = shared::flags::duration)]
    pub warmup: Duration,
    /// Directory holding the `store` and `dax-proxy` binaries (default: next to this one).
    #[arg(long, env = "DAX_LOADGEN_BIN_DIR")]
    pub bin_dir: Option<PathBuf>,
    #[command(flatten)]
    pub workload: WorkloadArgs,
}

/// Checks the workload flags and builds a run configuration without endpoints.
pub fn workload_config(w: &WorkloadArgs) -> Result<RunConfig, String> {
    let distribution: Distribution = w.distribution.parse()?;
    let mix: Mix = w.mix.parse()?;
    // Past usize the size is past the item limit anyway, which KeySpace refuses.
    let item_size = usize::try_from(w.item_size).unwrap_or(usize::MAX);
    let keyspace = KeySpace::new(&w.table, w.items, w.partition_size, item_size)?;
    if w.concurrency == 0 || w.concurrency > 10_000 {
        return Err("--concurrency must be within 1..10000".into());
    }
    if !(0.0..=100.0).contains(&w.consistent) {
        return Err(format!(
            "--consistent is a percent within 0..100, got {}",
            w.consistent
        ));
    }
    if let Some(rate) = w.rate {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!(
                "--rate must be a positive number of ops/s, got {rate}"
            ));
        }
    }
    if w.requests == Some(0) {
        return Err("--requests must be at least 1".into());
    }
    if mix.has(LoadOp::BatchGetItem) && !(1..=100).contains(&w.batch_size) {
        return Err("--batch-size must be within 1..100 (DynamoDB's BatchGetItem limit)".into());
    }
    if mix.has(LoadOp::Scan) && w.scan_limit == 0 {
        return Err("--scan-limit must be at least 1".into());
    }
    let duration = match (w.duration, w.requests) {
        (Some(d), _) => Some(d),
        (None, Some(_)) => None,
        (None, None) => Some(Duration::from_secs(10)),
    };
    Ok(RunConfig {
        endpoints: Vec::new(),
        keyspace: Arc::new(keyspace),
        distribution,
        mix,
        consistent: w.consistent / 100.0,
        concurrency: w.concurrency,
        rate: w.rate,
        duration,
        requests: w.requests,
        batch_size: w.batch_size,
        scan_limit: w.scan_limit,
        timeout: w.timeout,
        creds: Credentials::from_env(&w.region),
        metrics_urls: Vec::new(),
        progress: !w.no_progress && std::io::stderr().is_terminal(),
        seed: w.seed.unwrap_or_else(fresh_seed),
    })
}

/// A random seed below 2^53: the JSON report records it as a number, which jq and
/// JavaScript read as a double, exactly only up to there (a larger one came back changed and
/// did not repeat the run).
fn fresh_seed() -> u64 {
    rand::random::<u64>() >> 11
}

/// A stop channel flipped by the first Ctrl-C.
fn ctrl_c_channel() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: stopping and reporting what ran");
            let _ = tx.send(true);
            // A second Ctrl-C means "now": skip the report. Until then the sender stays
            // alive so receivers see `true`, not a closed channel.
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted twice: exiting without a report");
                std::process::exit(130);
            }
            std::future::pending::<()>().await;
        }
    });
    rx
}

fn write_outputs(w: &WorkloadArgs, json: &str, svg: Option<String>) -> Result<(), String> {
    if let Some(path) = &w.json {
        std::fs::write(path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    if let (Some(path), Some(svg)) = (&w.plot, svg) {
        std::fs::write(path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Bad input: exit 2 with the message. Runtime failures: exit 1.
pub enum Failure {
    BadInput(String),
    Failed(String),
}

async fn run_command(args: RunArgs) -> Result<(), Failure> {
    let mut cfg = workload_config(&args.workload).map_err(Failure::BadInput)?;
    let urls: Vec<String> = args
        .endpoint
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if urls.is_empty() {
        return Err(Failure::BadInput("--endpoint is empty".into()));
    }
    for url in &urls {
        let endpoint = Endpoint::resolve(url).await.map_err(Failure::BadInput)?;
        endpoint
            .check_reachable()
            .await
            .map_err(Failure::BadInput)?;
        cfg.endpoints.push(endpoint);
    }
    cfg.metrics_urls = if args.metrics_url.is_empty() {
        cfg.endpoints
            .iter()
            .map(|e| format!("{}/metrics", e.url))
            .collect()
    } else {
        args.metrics_url.clone()
    };
    let stop = ctrl_c_channel();
    if !args.skip_setup {
        run::ensure_table(&cfg.endpoints[0], &cfg.creds, &cfg.keyspace)
            .await
            .map_err(Failure::BadInput)?;
        if args.preload {
            run::preload(
                &cfg.endpoints[0],
                &cfg.creds,
                cfg.keyspace.clone(),
                cfg.concurrency,
                cfg.progress,
                cfg.seed,
                stop.clone(),
            )
            .await
            .map_err(Failure::Failed)?;
        }
    }
    let report = run::run(cfg, stop).await.map_err(Failure::Failed)?;
    print!("{}", report.table());
    let json = serde_json::to_string_pretty(&report).map_err(|e| Failure::Failed(e.to_string()))?;
    write_outputs(&args.workload, &json, Some(report.svg())).map_err(Failure::Failed)?;
    all_failed(&report).map_or(Ok(()), |why| Err(Failure::Failed(why)))
}

/// Why a run whose every request failed is itself a failure (exit status 1, after its
/// report is written): a script or CI job must not take a broken run for a measurement.
fn all_failed(report: &report::Report) -> Option<String> {
    (report.total_ops > 0 && report.errors_total >= report.total_ops).then(|| {
        let kinds: Vec<String> = report
            .errors
            .iter()
            .map(|(kind, n)| format!("{kind}={n}"))
            .collect();
        format!("every request failed ({})", kinds.join(", "))
    })
}

async fn sweep_command(args: SweepArgs) -> Result<(), Failure> {
    // The plot is of one run over time; a sweep's points have no timeline to draw. Taken
    // silently, the flag wrote nothing.
    if args.workload.plot.is_some() {
        return Err(Failure::BadInput(
            "a sweep draws no plot (--plot is for a single run); its points are in --json".into(),
        ));
    }
    let template = workload_config(&args.workload).map_err(Failure::BadInput)?;
    let cache_sizes = args.cache_bytes.clone();
    if cache_sizes.is_empty() {
        return Err(Failure::BadInput("--cache-bytes lists no size".into()));
    }
    if cache_sizes.contains(&0) {
        return Err(Failure::BadInput(
            "--cache-bytes sizes must be at least 1 byte".into(),
        ));
    }
    let distributions = if args.distributions.is_empty() {
        vec![template.distribution.clone()]
    } else {
        args.distributions
            .iter()
            .map(|d| d.parse::<Distribution>())
            .collect::<Result<Vec<_>, String>>()
            .map_err(Failure::BadInput)?
    };
    let warmup = args.warmup;
    let bin_dir = match args.bin_dir.clone() {
        Some(dir) => dir,
        None => std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(|d| d.to_path_buf()))
            .ok_or_else(|| {
                Failure::BadInput("cannot find this executable's directory; pass --bin-dir".into())
            })?,
    };
    let stop = ctrl_c_channel();
    let points = sweep::run(
        sweep::Sweep {
            bin_dir,
            cache_sizes,
            distributions,
            warmup,
            template,
        },
        stop,
    )
    .await
    .map_err(Failure::Failed)?;
    print!("{}", sweep::table(&points));
    let json = serde_json::to_string_pretty(&serde_json::json!({ "points": points }))
        .map_err(|e| Failure::Failed(e.to_string()))?;
    write_outputs(&args.workload, &json, None).map_err(Failure::Failed)
}

/// The binary's entry point: parses the command line, runs, returns the exit code.
pub fn main_with_args(cli: Cli) -> std::process::ExitCode {
    // One core (e.g. under `taskset -c 1`): a current-thread runtime (see shared::runtime).
    let runtime = match shared::runtime::build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dax-loadgen: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Some(Command::FixedServer(a)) => fixed::serve(&a).await.map_err(Failure::Failed),
            Some(Command::Sweep(a)) => sweep_command(a).await,
            Some(Command::Run(a)) => run_command(a).await,
            None => run_command(cli.run).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(Failure::BadInput(m)) => {
            eprintln!("dax-loadgen: {m}");
            std::process::ExitCode::from(2)
        }
        Err(Failure::Failed(m)) => {
            eprintln!("dax-loadgen: {m}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fresh_seeds_survive_a_double() {
        for _ in 0..1000 {
            let seed = fresh_seed();
            assert_eq!(seed as f64 as u64, seed);
        }
    }

    fn parse(args: &[&str]) -> Result<RunConfig, String> {
        let cli = Cli::try_parse_from(std::iter::once("dax-loadgen").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        workload_config(&cli.run.workload)
    }

    #[test]
    fn runs_get_fresh_seeds_unless_one_is_given() {
        // Two runs of one command must not replay one another's writes.
        assert_ne!(parse(&[]).unwrap().seed, parse(&[]).unwrap().seed);
        assert_eq!(parse(&["--seed", "42"]).unwrap().seed, 42);
    }

    #[test]
    fn defaults_are_a_valid_workload() {
        let cfg = parse(&[]).unwrap();
        assert_eq!(cfg.duration, Some(Duration::from_secs(10)));
        assert_eq!(cfg.concurrency, 16);
        let cfg = parse(&["--requests", "5"]).unwrap();
        assert_eq!(cfg.duration, None);
    }

    #[test]
    fn impossible_workloads_are_rejected() {
        for (args, want) in [
            (vec!["--items", "0"], "at least 1"),
            (vec!["--mix", "get=50,put=40"], "sum to 100"),
            (vec!["--distribution", "zipf:abc"], "not a number"),
            (vec!["--concurrency", "0"], "concurrency"),
            (vec!["--consistent", "150"], "consistent"),
            (vec!["--rate", "0"], "rate"),
            (vec!["--duration", "0"], "duration"),
            (vec!["--requests", "0"], "requests"),
            (
                vec!["--mix", "batchget=100", "--batch-size", "101"],
                "batch-size",
            ),
            (vec!["--table", "x"], "table name"),
        ] {
            let err = parse(&args).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_bad_input() {
        let cli = Cli::try_parse_from([
            "dax-loadgen",
            "--endpoint",
            "http://127.0.0.1:1",
            "--requests",
            "1",
        ])
        .unwrap();
        match run_command(cli.run).await {
            Err(Failure::BadInput(m)) => assert!(m.contains("unreachable"), "{m}"),
            Err(Failure::Failed(m)) => panic!("expected bad input, got failure {m}"),
            Ok(()) => panic!("expected bad input"),
        }
    }

    #[tokio::test]
    async fn runs_against_the_fixed_server_and_writes_json() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(fixed::serve_listener(
            listener,
            bytes::Bytes::from_static(fixed::BODY.as_bytes()),
            None,
            async {
                let _ = rx.await;
            },
        ));
        let json = std::env::temp_dir().join(format!(
            "loadgen-test-{}-{}.json",
            std::process::id(),
            address.port()
        ));
        let cli = Cli::try_parse_from([
            "dax-loadgen",
            "--endpoint",
            &format!("http://{address}"),
            "--skip-setup",
            "--no-progress",
            "--requests",
            "200",
            "--concurrency",
            "4",
            "--mix",
            "get=50,query=25,put=25",
            "--json",
            json.to_str().unwrap(),
        ])
        .unwrap();
        assert!(run_command(cli.run).await.is_ok());
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        let _ = std::fs::remove_file(&json);
        assert_eq!(v["total_ops"], 200);
        assert_eq!(v["errors_total"], 0);
        assert_eq!(v["interrupted"], false);
        let ops = v["operations"].as_object().unwrap();
        let counted: u64 = ops.values().map(|o| o["count"].as_u64().unwrap()).sum();
        assert_eq!(counted, 200);
        assert!(ops.contains_key("GetItem") && ops.contains_key("Query"));
        let _ = tx.send(());
        let _ = server.await;
    }

    #[test]
    fn subcommands_parse() {
        let cli = Cli::try_parse_from(["dax-loadgen", "fixed-server", "--listen", "127.0.0.1:0"])
            .unwrap();
        assert!(matches!(cli.command, Some(Command::FixedServer(_))));
        let cli = Cli::try_parse_from([
            "dax-loadgen",
            "sweep",
            "--cache-bytes",
            "1MiB,2MiB",
            "--distributions",
            "zipf:0.9,hotset:90:10",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Sweep(s)) => {
                assert_eq!(s.cache_bytes.len(), 2);
                assert_eq!(s.distributions.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from([
            "dax-loadgen",
            "--endpoint",
            "http://127.0.0.1:1,http://127.0.0.1:2",
        ])
        .unwrap();
        assert_eq!(cli.run.endpoint.len(), 2);
    }

    #[tokio::test]
    async fn a_sweep_refuses_a_plot_it_would_not_draw() {
        let cli =
            Cli::try_parse_from(["dax-loadgen", "sweep", "--plot", "/tmp/never.svg"]).unwrap();
        let Some(Command::Sweep(args)) = cli.command else {
            panic!("not a sweep");
        };
        let Err(Failure::BadInput(message)) = sweep_command(args).await else {
            panic!("a sweep with --plot was not refused as bad input");
        };
        assert!(message.contains("--plot"), "{message}");
    }
}
