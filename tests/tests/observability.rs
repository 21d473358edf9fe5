//! The Grafana dashboards against a real Prometheus: every panel expression in
//! `grafana/*.json` must return data once Prometheus has scraped a live store and proxy
//! node that served some traffic. A renamed or dropped metric (or a typo in a dashboard)
//! shows up here as an empty panel, long before anyone opens Grafana.
//!
//! Needs the `prometheus` binary (`$PROMETHEUS_BIN`, else `/usr/bin/prometheus`, else
//! PATH). `tests/run.sh` installs the Debian package when it is missing; without it the test
//! fails and says so, rather than passing without having checked anything.
//!
//! The traffic below is chosen so that every series the dashboards read exists: some
//! series (throttling, TTL deletes, trigger, Kinesis and replication lag, request errors) only appear
//! after their first event, so the test causes each event once.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, ContributorInsightsAction,
    CreateReplicationGroupMemberAction, DeleteReplicationGroupMemberAction, KeySchemaElement,
    KeyType, ProvisionedThroughput, ReplicaStatus, ReplicationGroupUpdate, ScalarAttributeType,
    StreamViewType,
};
use integration_tests::serde_json::{json, Value};
use integration_tests::*;

/// Scrape interval of the test's Prometheus: short, so a few scrapes take seconds.
const SCRAPE_INTERVAL: &str = "1s";
/// How long Prometheus may take to start answering.
const PROMETHEUS_START_DEADLINE: Duration = Duration::from_secs(30);
/// How long all dashboard expressions may take to return data. Generous for a loaded
/// 2-core machine; in practice a handful of scrapes (a few seconds) suffice.
const DATA_DEADLINE: Duration = Duration::from_secs(60);
/// Grafana's built-in interval variables, replaced by fixed values Prometheus accepts.
/// 1m of 1s scrapes holds enough samples for rate(); the order matters (longest names
/// first, so `$__rate_interval` is not hit by the `$__interval` replacement).
const GRAFANA_VARIABLES: &[(&str, &str)] = &[
    ("${__rate_interval}", "1m"),
    ("$__rate_interval", "1m"),
    ("${__interval}", "30s"),
    ("$__interval", "30s"),
    ("${__range}", "5m"),
    ("$__range", "5m"),
];

// ---------------------------------------------------------------------------------------------
// Prometheus

/// A Prometheus server on a free loopback port; killed and reaped on drop.
struct Prometheus {
    child: Child,
    url: String,
    log_path: PathBuf,
    /// Holds the config, TSDB and log alive for as long as the server.
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
            let tail: String = log
                .chars()
                .rev()
                .take(4000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            eprintln!("--- prometheus log (tail) ---\n{tail}");
        }
    }
}

fn prometheus_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("PROMETHEUS_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "PROMETHEUS_BIN={} does not exist",
            path.display()
        );
        return path;
    }
    let debian = PathBuf::from("/usr/bin/prometheus");
    if debian.is_file() {
        return debian;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("prometheus");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "the `prometheus` binary is missing, so the dashboards cannot be checked. Install it \
         (`apt-get install -y prometheus`; tests/run.sh does this when run as root) or point \
         PROMETHEUS_BIN at one."
    );
}

/// A port that was free a moment ago. Prometheus cannot listen on port 0 and report the
/// port back, so the test picks one; should another process take it in between, Prometheus
/// exits at start-up and [`Prometheus::start`] tries another.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn host_port(endpoint: &str) -> String {
    endpoint.trim_start_matches("http://").to_string()
}

/// Start-ups tried before a test gives up on Prometheus.
const PROMETHEUS_START_ATTEMPTS: usize = 3;

impl Prometheus {
    /// Starts Prometheus scraping `targets` (job name, HOST:PORT) every second.
    fn start(targets: &[(&str, String)]) -> Prometheus {
        let mut failures = Vec::new();
        for _ in 0..PROMETHEUS_START_ATTEMPTS {
            match Self::try_start(targets, free_port()) {
                Ok(prometheus) => return prometheus,
                Err(failure) => failures.push(failure),
            }
        }
        panic!("prometheus did not start: {failures:#?}");
    }

    /// One start-up on `port`; `Err` with its exit status and log when it exits before it is
    /// ready (a port taken since [`free_port`] chose it).
    fn try_start(targets: &[(&str, String)], port: u16) -> Result<Prometheus, String> {
        let binary = prometheus_binary();
        let dir = tempfile::Builder::new()
            .prefix("observability-prom-")
            .tempdir()
            .unwrap();
        let mut config = format!(
            "global:\n  scrape_interval: {SCRAPE_INTERVAL}\n  evaluation_interval: {SCRAPE_INTERVAL}\n\
             scrape_configs:\n"
        );
        for (job, target) in targets {
            config.push_str(&format!(
                "  - job_name: {job}\n    metrics_path: /metrics\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ));
        }
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let log_path = dir.path().join("prometheus.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            // No console templates are needed; the Debian defaults point at paths that may
            // not exist in a minimal install.
            .arg("--log.level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut prometheus = Prometheus {
            child,
            url: format!("http://{listen}"),
            log_path,
            _dir: dir,
        };
        let addr: SocketAddr = listen.parse().unwrap();
        let started = Instant::now();
        loop {
            if http_get_status(addr, "/-/ready") == Some(200) {
                break;
            }
            if let Some(status) = prometheus.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(&prometheus.log_path).unwrap_or_default();
                return Err(format!("exited at start-up on {listen} ({status}): {log}"));
            }
            assert!(
                started.elapsed() < PROMETHEUS_START_DEADLINE,
                "prometheus not ready after {PROMETHEUS_START_DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(prometheus)
    }

    /// Instant query; returns the `data.result` vector (or scalar as one element).
    async fn query(&self, http: &reqwest::Client, expr: &str) -> Vec<Value> {
        let response = http
            .get(format!("{}/api/v1/query", self.url))
            .query(&[("query", expr)])
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap_or_else(|e| panic!("query {expr}: {e}"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "success", "query {expr}: {body}");
        match &body["data"]["result"] {
            Value::Array(results) => results.clone(),
            Value::Null => Vec::new(),
            // A scalar or string result is one value.
            other => vec![other.clone()],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Dashboards

/// (dashboard file, panel title, expression) for every panel target under grafana/,
/// Grafana variables already replaced.
fn dashboard_expressions() -> Vec<(String, String, String)> {
    let dir = workspace_root().join("grafana");
    let mut files = Vec::new();
    collect_json(&dir, &mut files);
    assert!(
        !files.is_empty(),
        "no dashboard JSON under {}",
        dir.display()
    );
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let dashboard: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", file.display()));
        let name = file
            .strip_prefix(workspace_root())
            .unwrap_or(&file)
            .display()
            .to_string();
        let before = out.len();
        collect_targets(&dashboard["panels"], &name, &mut out);
        assert!(out.len() > before, "{name}: no panel expressions");
    }
    out
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_json(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    out.sort();
}

/// Walks panels, including the ones nested in collapsed rows.
fn collect_targets(panels: &Value, file: &str, out: &mut Vec<(String, String, String)>) {
    for panel in panels.as_array().into_iter().flatten() {
        collect_targets(&panel["panels"], file, out);
        let title = panel["title"].as_str().unwrap_or("?").to_string();
        for target in panel["targets"].as_array().into_iter().flatten() {
            let Some(expr) = target["expr"].as_str() else {
                continue;
            };
            let mut expr = expr.to_string();
            for (variable, value) in GRAFANA_VARIABLES {
                expr = expr.replace(variable, value);
            }
            assert!(
                !expr.contains('$'),
                "{file} / {title}: unhandled Grafana variable in `{expr}`"
            );
            out.push((file.to_string(), title.clone(), expr));
        }
    }
}

/// Metric names (store_* / dax_*) an expression reads, with histogram suffixes removed.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut current = String::new();
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' {
            current.push(c);
            continue;
        }
        if current.starts_with("store_") || current.starts_with("dax_") {
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| current.strip_suffix(s))
                .unwrap_or(&current);
            names.push(base.to_string());
        }
        current.clear();
    }
    names
}

// ---------------------------------------------------------------------------------------------
// Traffic

/// Requests through the proxy (hits, misses, writes, query, scan, an error) and straight to
/// the store (TTL delete, throttling, a trigger), so every dashboard series exists. Returns
/// the task that keeps two keys hot for Contributor Insights, whose reports cover only the
/// last period (abort it when done).
async fn drive_traffic(store: &StoreProcess, proxy: &ProxyProcess) -> tokio::task::JoinHandle<()> {
    let via_proxy = proxy.client();
    let table = unique_name("obs");
    create_hash_range_table(&via_proxy, &table).await;
    for sk in 0..5 {
        ok(via_proxy
            .put_item()
            .table_name(&table)
            .item("pk", s("p"))
            .item("sk", n(sk))
            .item("v", s("value"))
            .send()
            .await);
    }
    // An index over them (its entries counted per index).
    let by_v =
        integration_tests::aws_sdk_dynamodb::types::CreateGlobalSecondaryIndexAction::builder()
            .index_name("by_v")
            .key_schema(key_element("v", KeyType::Hash))
            .projection(projection(
                integration_tests::aws_sdk_dynamodb::types::ProjectionType::KeysOnly,
                &[],
            ))
            .build()
            .unwrap();
    ok(via_proxy
        .update_table()
        .table_name(&table)
        .attribute_definitions(attribute_definition("v", ScalarAttributeType::S))
        .global_secondary_index_updates(
            integration_tests::aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder()
                .create(by_v)
                .build(),
        )
        .send()
        .await);
    // A miss, then hits on the same key.
    for _ in 0..3 {
        ok(via_proxy
            .get_item()
            .table_name(&table)
            .key("pk", s("p"))
            .key("sk", n(1))
            .send()
            .await);
    }
    // Query and Scan twice each: a miss filling the query cache, then a hit.
    for _ in 0..2 {
        ok(via_proxy
            .query()
            .table_name(&table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("p"))
            .send()
            .await);
        ok(via_proxy.scan().table_name(&table).send().await);
    }
    ok(via_proxy
        .update_item()
        .table_name(&table)
        .key("pk", s("p"))
        .key("sk", n(1))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", s("changed"))
        .send()
        .await);
    // An error on both daemons (the proxy forwards the miss to the store).
    let missing = via_proxy
        .get_item()
        .table_name(unique_name("missing"))
        .key("pk", s("p"))
        .key("sk", n(1))
        .send()
        .await;
    assert!(missing.is_err(), "GetItem on a missing table succeeded");

    let direct = store.client();

    // TTL: an item deleted by the next sweep (interval 1 s).
    let ttl_table = table_with_expired_items(&direct, "obs-ttl", &["gone"]).await;

    // Throttling: 1 WCU holds a 300-unit burst; ~300 KB items cost ~300 WCU each, so the
    // second or third write finds the bucket in debt.
    let small = unique_name("obs-prov");
    ok(direct
        .create_table()
        .table_name(&small)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(
            ProvisionedThroughput::builder()
                .read_capacity_units(1)
                .write_capacity_units(1)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .send()
        .await);
    wait_table_active(&direct, &small).await;
    let big = "x".repeat(300 * 1024);
    let mut throttled = false;
    for i in 0..10 {
        let result = direct
            .put_item()
            .table_name(&small)
            .item("pk", s(&format!("big-{i}")))
            .item("blob", s(&big))
            .send()
            .await;
        if let Err(e) = result {
            let code = aws_sdk_dynamodb::error::ProvideErrorMetadata::code(&e).map(str::to_string);
            assert_eq!(
                code.as_deref(),
                Some("ProvisionedThroughputExceededException"),
                "{}",
                aws_sdk_dynamodb::error::DisplayErrorContext(&e)
            );
            throttled = true;
            break;
        }
    }
    assert!(throttled, "a 1-WCU table took 10 writes of 300 KB");

    // A trigger on a stream-enabled table: its lag gauge is published as soon as the
    // dispatcher finds nothing to deliver, so the target never needs to be reached.
    let streamed = unique_name("obs-stream");
    create_hash_table(&direct, &streamed).await;
    enable_stream(&direct, &streamed, StreamViewType::NewImage).await;
    let response = reqwest::Client::new()
        .post(format!("{}/triggers", store.endpoint()))
        .header("x-dax-cluster-secret", CLUSTER_SECRET)
        .body(
            json!({"TriggerName": "obs", "TableName": streamed,
                   "Url": "http://127.0.0.1:9/unreachable"})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201, "creating the trigger");
    // And a Kinesis streaming destination: its worker publishes its lag likewise.
    ok(direct
        .enable_kinesis_streaming_destination()
        .table_name(&streamed)
        .stream_arn("arn:aws:kinesis:us-east-1:000000000000:stream/obs")
        .send()
        .await);

    // And a global table: its replication worker publishes its lag once it is idle.
    global_table(&direct, "obs-global").await;

    // Contributor Insights on both tables: a key read on one, a key refused on the other
    // (the 1-WCU table stays in debt for minutes), in every 1 s report period.
    for table in [&ttl_table, &small] {
        ok(direct
            .update_contributor_insights()
            .table_name(table)
            .contributor_insights_action(ContributorInsightsAction::Enable)
            .send()
            .await);
    }
    let hot_keys = tokio::spawn(async move {
        loop {
            let _ = direct
                .get_item()
                .table_name(&ttl_table)
                .key("pk", s("hot"))
                .send()
                .await;
            let _ = direct
                .put_item()
                .table_name(&small)
                .item("pk", s("refused"))
                .send()
                .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    hot_keys
}

/// The region of the second store of a global table.
const AWAY: &str = "eu-west-1";

/// A store of region [`AWAY`], then one of the default region that knows where it is,
/// with the flags `extra`.
fn two_regions(extra: &[&str]) -> (StoreProcess, StoreProcess) {
    let away = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--region".into(), AWAY.into()],
        ..Default::default()
    });
    let mut args = vec![
        "--region-endpoints".to_string(),
        format!("{AWAY}={}", away.endpoint()),
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let home = StoreProcess::spawn_with(StoreOptions {
        args,
        ..Default::default()
    });
    (away, home)
}

/// A new table with the stream replication needs and a replica in [`AWAY`].
async fn global_table(client: &aws_sdk_dynamodb::Client, prefix: &str) -> String {
    let table = unique_name(prefix);
    create_hash_table(client, &table).await;
    enable_stream(client, &table, StreamViewType::NewAndOldImages).await;
    let create = CreateReplicationGroupMemberAction::builder()
        .region_name(AWAY)
        .build()
        .unwrap();
    ok(client
        .update_table()
        .table_name(&table)
        .replica_updates(ReplicationGroupUpdate::builder().create(create).build())
        .send()
        .await);
    // The replica is made and its copy taken in the background: once it is ACTIVE, each
    // later write is shipped exactly once (a write before may also be in the copy).
    let active = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(100),
        || async {
            let description = ok(client.describe_table().table_name(&table).send().await);
            description.table().is_some_and(|t| {
                t.replicas().iter().any(|r| {
                    r.region_name() == Some(AWAY)
                        && r.replica_status() == Some(&ReplicaStatus::Active)
                })
            })
        },
    )
    .await;
    assert!(active, "the replica in {AWAY} is not ACTIVE");
    table
}

/// A new table with TTL on attribute `exp` and, for each of `keys`, an item that expired
/// a minute ago, for the sweeper to delete. Not epoch 1: like DynamoDB, the store ignores
/// values more than five years in the past.
async fn table_with_expired_items(
    client: &aws_sdk_dynamodb::Client,
    prefix: &str,
    keys: &[&str],
) -> String {
    let table = unique_name(prefix);
    create_hash_table(client, &table).await;
    enable_ttl(client, &table, "exp").await;
    for key in keys {
        ok(client
            .put_item()
            .table_name(&table)
            .item("pk", s(key))
            .item("exp", n(now_secs() - 60))
            .send()
            .await);
    }
    table
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The metric names a `/metrics` scrape exposes (histogram suffixes removed).
async fn scraped_names(http: &reqwest::Client, endpoint: &str) -> Vec<String> {
    let text = http
        .get(format!("{endpoint}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .flat_map(|l| metric_names(l.split([' ', '{']).next().unwrap_or("")))
        .collect()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_expression_returns_data_from_a_live_cluster() {
    // Fail on a missing Prometheus before starting anything else.
    let _ = prometheus_binary();
    let expressions = dashboard_expressions();

    // Another region's store, for a global table whose replication lag is graphed.
    let (_away, store) = two_regions(&[
        "--ttl-sweep-interval",
        "1",
        "--contributor-insights-period",
        "1",
        // Never reached: a destination's lag gauge appears before anything is sent.
        "--kinesis-endpoint",
        "http://127.0.0.1:9",
    ]);
    let proxy = ProxyProcess::spawn_with(&store.endpoint(), &["--cache-header"], &[]);
    let http = reqwest::Client::new();

    let hot_keys = drive_traffic(&store, &proxy).await;

    // Every metric a dashboard names must be exposed (this is the cheap, Prometheus-free
    // form of the check below, with a precise message). Series that appear on an event
    // (TTL delete, trigger lag) may take a sweep or a dispatcher pass, hence the poll.
    let wanted: std::collections::BTreeSet<String> = expressions
        .iter()
        .flat_map(|(_, _, e)| metric_names(e))
        .collect();
    let deadline = Instant::now() + DATA_DEADLINE;
    loop {
        let mut exposed = scraped_names(&http, &store.endpoint()).await;
        exposed.extend(scraped_names(&http, &proxy.endpoint()).await);
        let missing: Vec<&String> = wanted.iter().filter(|m| !exposed.contains(m)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "metrics used by grafana/*.json but not exposed by the store or proxy: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let prometheus = Prometheus::start(&[
        ("store", host_port(&store.endpoint())),
        ("dax-proxy", host_port(&proxy.endpoint())),
    ]);

    // Wait until both targets have been scraped a few times, so rate() has samples.
    let deadline = Instant::now() + DATA_DEADLINE;
    loop {
        let scrapes = prometheus
            .query(&http, "min(count_over_time(up[1m]))")
            .await;
        let enough = scrapes
            .first()
            .and_then(|r| r["value"][1].as_str())
            .and_then(|v| v.parse::<f64>().ok())
            .is_some_and(|n| n >= 3.0);
        let up = prometheus.query(&http, "up == 1").await;
        if enough && up.len() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "prometheus did not scrape both targets 3 times within {DATA_DEADLINE:?} (up: {up:?})"
        );
        // Keep the proxy busy so the request rates are not all zero.
        let _ = proxy.client().list_tables().send().await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Now every panel. Poll (bounded) rather than sleep: a series born late (the trigger's
    // lag gauge, the TTL delete) needs two scrapes before rate() sees it.
    let mut empty: Vec<String>;
    loop {
        empty = Vec::new();
        for (file, title, expr) in &expressions {
            if prometheus.query(&http, expr).await.is_empty() {
                empty.push(format!("{file} / {title}: {expr}"));
            }
        }
        if empty.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    hot_keys.abort();
    assert!(
        empty.is_empty(),
        "{} of {} dashboard expressions returned no data:\n{}",
        empty.len(),
        expressions.len(),
        empty.join("\n")
    );
    eprintln!(
        "all {} dashboard expressions returned data",
        expressions.len()
    );
}

/// A port taken between `free_port` and Prometheus binding it is a failed start-up that
/// `Prometheus::start` retries elsewhere, not a hung or failed test.
#[test]
fn prometheus_on_a_taken_port_is_reported_as_a_failed_start() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let failure = Prometheus::try_start(&[], port).err();
    assert!(
        failure
            .as_deref()
            .is_some_and(|f| f.contains("exited at start-up")),
        "{failure:?}"
    );
    let prometheus = Prometheus::start(&[]);
    assert!(!prometheus.url.ends_with(&format!(":{port}")));
}

/// The per-table families a store exposes.
const PER_TABLE_FAMILIES: &[&str] = &[
    "store_table_items",
    "store_table_size_bytes",
    "store_consumed_read_capacity_units_total",
    "store_consumed_write_capacity_units_total",
];

/// The sample lines of `/metrics` labelled with table `table`.
fn table_series(text: &str, table: &str) -> Vec<String> {
    labelled_series(text, "table", table)
}

/// The sample lines of `/metrics` with label `name` = `value`.
fn labelled_series(text: &str, name: &str, value: &str) -> Vec<String> {
    let label = format!("{name}=\"{value}\"");
    text.lines()
        .filter(|l| !l.starts_with('#') && l.contains(&label))
        .map(str::to_string)
        .collect()
}

/// A deleted table's series leave `/metrics` (its storage gauges and its consumption
/// counters): left behind, sums over tables counted tables that are gone, and a store
/// that creates a table per test grew `/metrics` without bound. Consumption is exact: three
/// eventually consistent reads of a small item are 1.5 units, not 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_tables_series_leave_metrics() {
    let store = StoreProcess::spawn();
    let client = store.client();
    let endpoint = store.endpoint();
    let gone = unique_name("gone");
    let kept = unique_name("kept");
    for table in [&gone, &kept] {
        create_hash_table(&client, table).await;
        ok(client
            .put_item()
            .table_name(table)
            .item("pk", s("a"))
            .send()
            .await);
        for _ in 0..3 {
            ok(client
                .get_item()
                .table_name(table)
                .key("pk", s("a"))
                .send()
                .await);
        }
    }
    let every_family_of = |text: &str, table: &str| {
        let series = table_series(text, table);
        PER_TABLE_FAMILIES
            .iter()
            .all(|family| series.iter().any(|l| l.starts_with(&format!("{family}{{"))))
    };
    let published = wait_until(
        Duration::from_secs(20),
        Duration::from_millis(200),
        || async {
            let text = metrics_text(&endpoint).await;
            every_family_of(&text, &gone) && every_family_of(&text, &kept)
        },
    )
    .await;
    let text = metrics_text(&endpoint).await;
    assert!(published, "the tables' series never all appeared:\n{text}");
    let read_units = format!("store_consumed_read_capacity_units_total{{table=\"{gone}\"}} 1.5");
    let exact = table_series(&text, &gone).contains(&read_units);
    let before = table_series(&text, &gone);

    ok(client.delete_table().table_name(&gone).send().await);
    let cleared = wait_until(
        Duration::from_secs(20),
        Duration::from_millis(200),
        || async { table_series(&metrics_text(&endpoint).await, &gone).is_empty() },
    )
    .await;
    let text = metrics_text(&endpoint).await;
    assert!(
        cleared,
        "a deleted table's series stay: {:?}",
        table_series(&text, &gone)
    );
    assert!(
        every_family_of(&text, &kept),
        "{:?}",
        table_series(&text, &kept)
    );
    assert!(
        exact,
        "three eventually consistent reads are 1.5 units: {before:?}"
    );
}

/// Each index's entries are counted on `/metrics` as DescribeTable counts them
/// (`store_index_items`, `store_index_size_bytes`, by table and index), and leave with their
/// table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_gauges_count_each_indexs_entries() {
    let store = StoreProcess::spawn();
    let client = store.client();
    let endpoint = store.endpoint();
    let table = unique_name("indexed");
    ok(client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .global_secondary_indexes(gsi_projecting_all("by_g", "g").build().unwrap())
        .send()
        .await);
    wait_table_active(&client, &table).await;
    // Three items, two of them in the index (the third has no `g`).
    for (pk, g) in [("a", Some("x")), ("b", Some("y")), ("c", None)] {
        let mut put = client.put_item().table_name(&table).item("pk", s(pk));
        if let Some(g) = g {
            put = put.item("g", s(g));
        }
        ok(put.send().await);
    }
    let described = describe(&client, &table).await;
    let index = &described.global_secondary_indexes()[0];
    let (count, bytes) = (index.item_count.unwrap(), index.index_size_bytes.unwrap());
    assert_eq!(count, 2);
    let text = metrics_text(&endpoint).await;
    let labels = format!("{{table=\"{table}\",index=\"by_g\"}}");
    let series = table_series(&text, &table);
    for expected in [
        format!("store_index_items{labels} {count}"),
        format!("store_index_size_bytes{labels} {bytes}"),
    ] {
        assert!(series.contains(&expected), "{expected} not in {series:?}");
    }
    ok(client.delete_table().table_name(&table).send().await);
    let cleared = wait_until(
        Duration::from_secs(20),
        Duration::from_millis(200),
        || async { table_series(&metrics_text(&endpoint).await, &table).is_empty() },
    )
    .await;
    assert!(cleared, "a deleted table's index series stay");
}

/// Every metric family of the store and of a proxy node, once some traffic has made them
/// appear, comes with a `# HELP` line (promtool and Grafana's metric browser show it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_family_has_help_text() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let client = proxy.client();
    let table = unique_name("helped");
    create_hash_table(&client, &table).await;
    ok(client
        .put_item()
        .table_name(&table)
        .item("pk", s("a"))
        .send()
        .await);
    for _ in 0..2 {
        ok(client
            .get_item()
            .table_name(&table)
            .key("pk", s("a"))
            .send()
            .await);
    }
    ok(client
        .query()
        .table_name(&table)
        .key_condition_expression("pk = :a")
        .expression_attribute_values(":a", s("a"))
        .send()
        .await);
    ok(client.scan().table_name(&table).send().await);
    // An error, for the error counters.
    let _ = client
        .get_item()
        .table_name("no-such-table")
        .key("pk", s("a"))
        .send()
        .await;

    for (what, endpoint) in [("store", store.endpoint()), ("dax-proxy", proxy.endpoint())] {
        let text = metrics_text(&endpoint).await;
        let types = text.lines().filter(|l| l.starts_with("# TYPE ")).count();
        assert!(types > 5, "{what} exposes only {types} families:\n{text}");
        let missing = families_without_help(&text);
        assert!(missing.is_empty(), "{what}: no # HELP for {missing:?}");
    }
}

/// The families of a Prometheus text exposition whose `# TYPE` line has no `# HELP` line.
fn families_without_help(text: &str) -> Vec<String> {
    let family = |line: &str, prefix: &str| {
        line.strip_prefix(prefix)
            .and_then(|rest| rest.split(' ').next())
            .map(str::to_string)
    };
    let helped: std::collections::HashSet<String> =
        text.lines().filter_map(|l| family(l, "# HELP ")).collect();
    text.lines()
        .filter_map(|l| family(l, "# TYPE "))
        .filter(|name| !helped.contains(name))
        .collect()
}

/// A webhook for triggers that accepts every batch.
async fn accepting_hook() -> String {
    let app = axum::Router::new().route("/hook", axum::routing::post(|| async { "" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/hook")
}

/// Whether `/metrics` of `endpoint` shows every row of `rows` (whole sample lines, value
/// included) within 30 s.
async fn rows_appear(endpoint: &str, rows: &[String]) -> bool {
    wait_until(
        Duration::from_secs(30),
        Duration::from_millis(200),
        || async {
            let text = metrics_text(endpoint).await;
            rows.iter().all(|row| text.lines().any(|line| line == row))
        },
    )
    .await
}

/// What `left` still picks from `/metrics` of `endpoint` once it picks nothing (empty),
/// or after 20 s.
async fn rows_left(endpoint: &str, left: impl Fn(&str) -> Vec<String>) -> Vec<String> {
    wait_until(
        Duration::from_secs(20),
        Duration::from_millis(200),
        || async { left(&metrics_text(endpoint).await).is_empty() },
    )
    .await;
    left(&metrics_text(endpoint).await)
}

/// The series of TTL deletes, of a Kinesis destination and of a trigger carry exact
/// values while their table, destination or trigger lives, and leave `/metrics` at the
/// next scrape once it is gone (the exporter, which kept them before, cannot drop a series).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_kinesis_and_trigger_series_leave_metrics_with_their_owner() {
    let hook = accepting_hook().await;
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec![
            "--ttl-sweep-interval".into(),
            "1".into(),
            // Never reached: a destination's series appear before anything is sent.
            "--kinesis-endpoint".into(),
            "http://127.0.0.1:9".into(),
        ],
        ..Default::default()
    });
    let client = store.client();
    let endpoint = store.endpoint();

    let ttl_table = table_with_expired_items(&client, "owned-ttl", &["a", "b"]).await;

    // One destination disabled later, one whose table is deleted.
    let disabled = unique_name("owned-kds-off");
    let dropped = unique_name("owned-kds-gone");
    let stream_arn = "arn:aws:kinesis:us-east-1:000000000000:stream/owned";
    for table in [&disabled, &dropped] {
        create_hash_table(&client, table).await;
        ok(client
            .enable_kinesis_streaming_destination()
            .table_name(table)
            .stream_arn(stream_arn)
            .send()
            .await);
    }

    let streamed = unique_name("owned-trigger");
    create_hash_table(&client, &streamed).await;
    enable_stream(&client, &streamed, StreamViewType::NewImage).await;
    let trigger = unique_name("owned");
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{endpoint}/triggers"))
        .header("x-dax-cluster-secret", CLUSTER_SECRET)
        .body(json!({"TriggerName": trigger, "TableName": streamed, "Url": hook}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201, "creating the trigger");
    for pk in ["a", "b"] {
        ok(client
            .put_item()
            .table_name(&streamed)
            .item("pk", s(pk))
            .send()
            .await);
    }

    let rows = [
        format!("store_ttl_deleted_items_total{{table=\"{ttl_table}\"}} 2"),
        format!("store_kinesis_lag_seconds{{table=\"{disabled}\"}} 0"),
        format!("store_kinesis_lag_seconds{{table=\"{dropped}\"}} 0"),
        format!("store_trigger_records_delivered_total{{trigger=\"{trigger}\"}} 2"),
    ];
    let published = rows_appear(&endpoint, &rows).await;
    let text = metrics_text(&endpoint).await;
    assert!(published, "not all of {rows:?} in:\n{text}");

    ok(client.delete_table().table_name(&ttl_table).send().await);
    ok(client
        .disable_kinesis_streaming_destination()
        .table_name(&disabled)
        .stream_arn(stream_arn)
        .send()
        .await);
    ok(client.delete_table().table_name(&dropped).send().await);
    let deleted = http
        .delete(format!("{endpoint}/triggers/{trigger}"))
        .header("x-dax-cluster-secret", CLUSTER_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200, "deleting the trigger");

    let left = |text: &str| {
        let mut left = table_series(text, &ttl_table);
        left.extend(table_series(text, &dropped));
        left.extend(
            table_series(text, &disabled)
                .into_iter()
                .filter(|row| row.starts_with("store_kinesis_")),
        );
        left.extend(labelled_series(text, "trigger", &trigger));
        left
    };
    let left = rows_left(&endpoint, left).await;
    assert!(left.is_empty(), "series outlive their owner: {left:?}");
    // The table whose destination was disabled is still there, and so are its own series.
    let text = metrics_text(&endpoint).await;
    assert!(!table_series(&text, &disabled).is_empty(), "{text}");
}

/// The changes a replica applied are counted by table in its region, and the changes
/// shipped to it by table and region at home, exactly; when the replica is removed, the
/// counts leave `/metrics` there, and the shipped count and lag gauge at home.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicas_series_leave_metrics_with_it() {
    let (away, home) = two_regions(&[]);
    let client = home.client();
    let table = global_table(&client, "owned-global").await;
    wait_table_active(&away.client(), &table).await;
    for pk in ["a", "b"] {
        ok(client
            .put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .send()
            .await);
    }
    let applied = format!("store_replication_changes_applied_total{{table=\"{table}\"}} 2");
    let published = rows_appear(&away.endpoint(), std::slice::from_ref(&applied)).await;
    let text = metrics_text(&away.endpoint()).await;
    assert!(published, "no {applied} in:\n{text}");
    let shipped =
        format!("store_replication_changes_shipped_total{{table=\"{table}\",region=\"{AWAY}\"}} 2");
    let published = rows_appear(&home.endpoint(), std::slice::from_ref(&shipped)).await;
    let text = metrics_text(&home.endpoint()).await;
    assert!(published, "no {shipped} in:\n{text}");

    let delete = DeleteReplicationGroupMemberAction::builder()
        .region_name(AWAY)
        .build()
        .unwrap();
    let removal = ReplicationGroupUpdate::builder().delete(delete).build();
    ok(client
        .update_table()
        .table_name(&table)
        .replica_updates(removal)
        .send()
        .await);
    // The applied and superseded counts where it was; the shipped count and the lag
    // gauge at home, whose table lives on.
    let counts = |text: &str| {
        table_series(text, &table)
            .into_iter()
            .filter(|row| row.starts_with("store_replication_changes_"))
            .collect::<Vec<_>>()
    };
    let left = rows_left(&away.endpoint(), counts).await;
    assert!(left.is_empty(), "a removed replica's counts stay: {left:?}");
    let shipping = |text: &str| {
        table_series(text, &table)
            .into_iter()
            .filter(|row| row.contains(&format!("region=\"{AWAY}\"")))
            .collect::<Vec<_>>()
    };
    let left = rows_left(&home.endpoint(), shipping).await;
    assert!(
        left.is_empty(),
        "a removed replica's shipping series stay: {left:?}"
    );
}

/// `/metrics` of the store and of a proxy node has no blank line: Prometheus skips them,
/// but an OpenMetrics parser refuses the scrape. The families the store renders itself
/// (per table, Contributor Insights) and the exporter's are all checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_have_no_blank_line() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--contributor-insights-period".into(), "1".into()],
        ..Default::default()
    });
    let proxy = ProxyProcess::spawn(&store);
    let client = proxy.client();
    let table = unique_name("unblank");
    create_hash_table(&client, &table).await;
    ok(store
        .client()
        .update_contributor_insights()
        .table_name(&table)
        .contributor_insights_action(ContributorInsightsAction::Enable)
        .send()
        .await);
    let read = || async {
        ok(client
            .put_item()
            .table_name(&table)
            .item("pk", s("a"))
            .send()
            .await);
        ok(client
            .get_item()
            .table_name(&table)
            .key("pk", s("a"))
            .send()
            .await);
    };
    // Until a Contributor Insights period with the key has ended, so that all three kinds
    // of the store's own families are in the scrape.
    let reported = wait_until(
        Duration::from_secs(20),
        Duration::from_millis(300),
        || async {
            read().await;
            metrics_text(&store.endpoint())
                .await
                .contains("store_contributor_insights_consumed_units{")
        },
    )
    .await;
    assert!(reported, "{}", metrics_text(&store.endpoint()).await);
    for (what, endpoint) in [("store", store.endpoint()), ("dax-proxy", proxy.endpoint())] {
        let text = metrics_text(&endpoint).await;
        assert!(text.contains("# TYPE"), "{what}: {text}");
        let blank = text.lines().position(str::is_empty);
        assert_eq!(blank, None, "{what}: a blank line in\n{text}");
        assert!(text.ends_with('\n'), "{what}");
    }
}

/// A dashboard panel of a feature turned off shows 0, not "No data": the idle compaction
/// counter is there at 0 with `--idle-compaction-after 0` (it was missing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_of_a_feature_turned_off_is_shown_at_zero() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--idle-compaction-after".into(), "0".into()],
        ..Default::default()
    });
    let shown = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            metrics_text(&store.endpoint())
                .await
                .lines()
                .any(|line| line == "store_engine_idle_compactions_total 0")
        },
    )
    .await;
    assert!(shown, "{}", metrics_text(&store.endpoint()).await);
}
