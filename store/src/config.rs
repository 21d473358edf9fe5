//! Command-line flags, each also an environment variable, turned into a validated
//! [`Config`]. No clap type travels past this module.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use shared::wire::sigv4::LiveKeys;

use crate::idle_compaction::IdleCompaction;
use crate::storage::StorageOptions;

/// The store daemon's flags.
#[derive(Debug, Parser)]
#[command(name = "store", about = "DynamoDB-compatible storage daemon", version)]
pub struct Args {
    /// Address to serve the DynamoDB API on; port 0 picks a free port (the bound address is
    /// printed on stdout as `store listening on HOST:PORT`).
    #[arg(long, env = "STORE_LISTEN", default_value = "127.0.0.1:8000", value_parser = shared::flags::listen_address)]
    pub listen: SocketAddr,
    /// Directory of the embedded engine's files.
    #[arg(long, env = "STORE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Region named in ARNs and stream records.
    #[arg(long, env = "STORE_REGION", default_value = "us-east-1")]
    pub region: String,
    /// Account id named in ARNs.
    #[arg(long, env = "STORE_ACCOUNT_ID", default_value = "000000000000")]
    pub account_id: String,
    /// Shared secret for the internal endpoints (change feed, primary lease) used by
    /// dax-proxy nodes; the default matches dax-proxy's so a local cluster needs no setup.
    /// Set your own on any shared network; an empty value disables the endpoints.
    #[arg(
        long,
        env = "STORE_CLUSTER_SECRET",
        default_value = shared::wire::headers::DEFAULT_CLUSTER_SECRET
    )]
    pub cluster_secret: String,
    /// A file of `ACCESS_KEY_ID SECRET_ACCESS_KEY` lines: when given, every API call's SigV4
    /// signature is checked against these keys (calls from dax-proxy nodes carrying the
    /// cluster secret excepted: the node checked its client). Without it any well-formed
    /// signature is accepted, as DynamoDB Local does. Reloaded when it changes.
    #[arg(long, env = "STORE_CREDENTIALS_FILE")]
    pub credentials_file: Option<PathBuf>,
    /// fsync the journal before acknowledging writes. Turning it off trades durability of
    /// the last writes before a crash for speed. true/false, 1/0, yes/no or on/off.
    #[arg(long, env = "STORE_DURABLE", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub durable: bool,
    /// Engine block cache: MiB, or a size with a unit (`512MiB`, `1GiB`).
    #[arg(long = "cache-mb", env = "STORE_CACHE_MB", default_value = "256", value_parser = shared::flags::mebibytes)]
    pub cache_bytes: u64,
    /// Partition cache: small partitions (up to 64 KiB of items) held whole, so that a
    /// Query of a hot partition skips the engine's range read. MiB, or a size with a unit;
    /// 0 turns it off.
    #[arg(long = "partition-cache-mb", env = "STORE_PARTITION_CACHE_MB", default_value = "64", value_parser = shared::flags::mebibytes)]
    pub partition_cache_bytes: u64,
    /// Keep tables, items and the change log in memory only, as DynamoDB Local's
    /// `-inMemory` does: nothing is written under --data-dir (exports to the default
    /// --s3-dir excepted) and nothing survives the process. For test suites that want a
    /// fresh store per run and no disk writes. true/false, 1/0, yes/no or on/off.
    #[arg(long, env = "STORE_IN_MEMORY", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub in_memory: bool,
    /// Time without writes (seconds, or `500ms`, `1m`) after which the items keyspace is
    /// compacted, if the writes since its last compaction number at least half its items
    /// (Query and Scan then step over no old versions); 0 turns idle compaction off.
    #[arg(long, env = "STORE_IDLE_COMPACTION_AFTER", default_value = "10", value_parser = shared::flags::duration)]
    pub idle_compaction_after: std::time::Duration,
    /// The largest items keyspace on disk that idle compaction rewrites: MiB, or a size
    /// with a unit (`4GiB`).
    #[arg(long = "idle-compaction-max-mb", env = "STORE_IDLE_COMPACTION_MAX_MB", default_value = "4096", value_parser = shared::flags::mebibytes)]
    pub idle_compaction_max_bytes: u64,
    /// Free space the data directory's filesystem must keep (MiB, or a size with a
    /// unit): with less, `/health` answers 503 (saying why) until space is freed. 0 turns
    /// the check off; so does --in-memory.
    #[arg(long = "min-free-disk-mb", env = "STORE_MIN_FREE_DISK_MB", default_value = "64", value_parser = shared::flags::mebibytes)]
    pub min_free_disk_bytes: u64,
    /// API calls the store works on at once; more are refused with ThrottlingException,
    /// which SDKs retry with backoff. 0: no limit.
    #[arg(long, env = "STORE_MAX_IN_FLIGHT", default_value_t = 4096)]
    pub max_in_flight: usize,
    /// Seconds an admitted API call's body may take to arrive whole; a client that stops
    /// sending mid-body (a crashed host's half-open connection) is answered 408 then, and
    /// no longer holds one of `--max-in-flight`'s places
    #[arg(long, env = "STORE_BODY_READ_TIMEOUT", default_value = "60", value_parser = shared::flags::positive_duration)]
    pub body_read_timeout: std::time::Duration,
    /// Seconds a request head may take to arrive whole, from a new connection's accept or
    /// a later head's first byte; a client that sends its headers slowly or not at all
    /// (slowloris) has its connection closed then
    #[arg(long, env = "STORE_HEADER_READ_TIMEOUT", default_value = "30", value_parser = shared::flags::positive_duration)]
    pub header_read_timeout: std::time::Duration,
    /// Seconds an idle keep-alive connection (its last request answered, nothing sent
    /// since) stays open; longer than the idle timeouts of load balancers (ALB: 60) and
    /// client pools (hyper, reqwest, the Rust and Go SDKs: 90), so that they close first
    /// and no request races the store's close
    #[arg(long, env = "STORE_KEEP_ALIVE_TIMEOUT", default_value = "120", value_parser = shared::flags::positive_duration)]
    pub keep_alive_timeout: std::time::Duration,
    /// Seconds of each Contributor Insights report: `/metrics` shows the top keys of the
    /// last complete period (CloudWatch's finest is 60).
    #[arg(long, env = "STORE_CONTRIBUTOR_INSIGHTS_PERIOD", default_value = "60", value_parser = shared::flags::positive_seconds)]
    pub contributor_insights_period: std::time::Duration,
    /// Directory standing in for S3 in exports and imports: bucket `B` is `<DIR>/B`
    /// [default: `<data-dir>/s3`].
    #[arg(long, env = "STORE_S3_DIR")]
    pub s3_dir: Option<PathBuf>,
    /// The shortest window, in seconds, an incremental export may cover. DynamoDB's is 15
    /// minutes; a shorter one lets a pipeline be tried against the store without waiting.
    #[arg(
        long,
        env = "STORE_INCREMENTAL_EXPORT_MIN_WINDOW",
        default_value = "900",
        value_parser = shared::flags::duration
    )]
    pub incremental_export_min_window: std::time::Duration,
    /// Kinesis-compatible endpoint (`http://HOST:PORT`) that Kinesis streaming
    /// destinations deliver to with PutRecords, signed with `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`. Without it EnableKinesisStreamingDestination is refused.
    #[arg(long, env = "STORE_KINESIS_ENDPOINT")]
    pub kinesis_endpoint: Option<String>,
    /// The stores of other regions, as `REGION=URL` pairs separated by commas, to which
    /// UpdateTable can add replicas of a global table. They must share the cluster secret.
    #[arg(long, env = "STORE_REGION_ENDPOINTS", default_value = "")]
    pub region_endpoints: String,
    /// The URL the stores of other regions reach this one at, which it tells them when it
    /// adds a replica, and whose host[:port] DescribeEndpoints answers [default: `http://`
    /// and the address it listens on, the loopback address for an unspecified one:
    /// 127.0.0.1 for 0.0.0.0, [::1] for [::]].
    #[arg(long, env = "STORE_ADVERTISE_URL")]
    pub advertise_url: Option<String>,
    /// Seconds a global table keeps the version of a deleted item (its tombstone), which
    /// stops a write made before the delete, still on its way from another region, from
    /// bringing the item back. Make it longer than any cut between regions the tables
    /// should come through without a deleted item reappearing.
    #[arg(long, env = "STORE_TOMBSTONE_RETENTION", default_value = "86400", value_parser = shared::flags::positive_duration)]
    pub tombstone_retention: std::time::Duration,
    /// How long the region of a new replica is asked again to make its table while its
    /// store cannot be reached or fails: then the replica is CREATION_FAILED, and the
    /// table, no longer UPDATING, takes changes again (remove the replica and add it
    /// again to try again). Counted again from a restart of this store.
    #[arg(long, env = "STORE_REPLICA_CREATE_TIMEOUT", default_value = "3600", value_parser = shared::flags::positive_duration)]
    pub replica_create_timeout: std::time::Duration,
    /// The most tables the store may hold (DynamoDB's tables-per-region quota): a
    /// CreateTable, restore, import or new replica past it is refused with
    /// LimitExceededException. DynamoDB's default; raise it as a quota increase would.
    #[arg(long, env = "STORE_MAX_TABLES", default_value_t = crate::catalog::quota::DEFAULT.tables)]
    pub max_tables: usize,
    /// The most read (and write) capacity units one table or GSI may have provisioned, and
    /// the highest on-demand maximum or warm throughput it may ask for (DescribeLimits'
    /// TableMax*CapacityUnits). DynamoDB's default; raise it as a quota increase would.
    #[arg(long, env = "STORE_TABLE_MAX_CAPACITY_UNITS", default_value_t = crate::catalog::quota::DEFAULT.table_max)]
    pub table_max_capacity_units: i64,
    /// The most read (and write) capacity units all provisioned tables and their GSIs may
    /// reserve together (DescribeLimits' AccountMax*CapacityUnits).
    #[arg(long, env = "STORE_ACCOUNT_MAX_CAPACITY_UNITS", default_value_t = crate::catalog::quota::DEFAULT.account_max)]
    pub account_max_capacity_units: i64,
    /// Streams, TTL and trigger settings (see `streams::ChangeLogArgs`).
    #[command(flatten)]
    pub change_log: crate::streams::ChangeLogArgs,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub region: String,
    pub account_id: String,
    pub cluster_secret: Option<String>,
    /// Keys that API calls must be signed with, if signatures are verified (their file is
    /// reloaded when it changes: `LiveKeys::watch`).
    pub keys: Option<Arc<LiveKeys>>,
    /// The engine and its durability.
    pub storage: StorageOptions,
    /// Free space the data directory's filesystem must keep for `/health` to answer 200
    /// (0: not checked).
    pub min_free_disk_bytes: u64,
    /// When a quiet items keyspace is compacted; `None`: never.
    pub idle_compaction: Option<IdleCompaction>,
    /// Streams, TTL and trigger settings.
    pub change_log: crate::streams::ChangeLogConfig,
    /// API calls admitted at once (0: no limit); see `shared::wire::admission`.
    pub max_in_flight: usize,
    /// How long an admitted call's body may take to arrive (`shared::wire::body`).
    pub body_read_timeout: std::time::Duration,
    /// How long a connection may hold the store without a request
    /// (`shared::wire::conn_deadlines`).
    pub connection_timeouts: shared::wire::conn_deadlines::Timeouts,
    /// The period of Contributor Insights reports (at least a second).
    pub contributor_insights_period: std::time::Duration,
    /// Where exports write and imports read (`transfer`).
    pub s3_dir: PathBuf,
    /// The shortest window of an incremental export.
    pub incremental_export_min_window: std::time::Duration,
    /// Where Kinesis streaming destinations deliver (`crate::kinesis`).
    pub kinesis_endpoint: Option<crate::kinesis::Endpoint>,
    /// The stores of other regions that replicas can be added in (`crate::replication`).
    pub region_endpoints: Vec<crate::replication::Member>,
    /// Where clients and other regions' stores reach this one.
    pub endpoint: crate::own_endpoint::OwnEndpoint,
    /// The capacity any one table, and all of them together, may ask for.
    pub quotas: crate::catalog::quota::Quotas,
    /// How long a global table keeps a deleted item's version (`replication::tombstones`).
    pub tombstone_retention: std::time::Duration,
    /// How long a new replica's region is asked to make it (`replication::control::make`).
    pub replica_create_timeout: std::time::Duration,
}

impl Config {
    /// The configuration unit tests use: data in `dir`, not durable, a small cache, no idle
    /// compaction, the default change-log settings.
    #[cfg(test)]
    pub fn for_tests(dir: &std::path::Path) -> Config {
        Config {
            // The default address; handler tests never bind it, DescribeEndpoints names it.
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            data_dir: dir.to_path_buf(),
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            cluster_secret: None,
            keys: None,
            storage: StorageOptions::for_tests(),
            min_free_disk_bytes: 0,
            idle_compaction: None,
            change_log: Default::default(),
            max_in_flight: 0,
            body_read_timeout: std::time::Duration::from_secs(60),
            connection_timeouts: shared::wire::conn_deadlines::Timeouts {
                header_read: std::time::Duration::from_secs(30),
                idle: std::time::Duration::from_secs(120),
            },
            contributor_insights_period: std::time::Duration::from_secs(60),
            s3_dir: dir.join("s3"),
            incremental_export_min_window: std::time::Duration::from_secs(900),
            kinesis_endpoint: None,
            region_endpoints: Vec::new(),
            endpoint: crate::own_endpoint::OwnEndpoint::new(
                None,
                SocketAddr::from(([127, 0, 0, 1], 8000)),
            ),
            quotas: crate::catalog::quota::DEFAULT,
            tombstone_retention: std::time::Duration::from_secs(86_400),
            replica_create_timeout: std::time::Duration::from_secs(3600),
        }
    }

    pub fn from_args(args: Args) -> Result<Config, String> {
        crate::replication::check_region_name("--region", &args.region)?;
        if args.account_id.len() != 12 || !args.account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err("--account-id must be 12 digits".into());
        }
        let s3_dir = args.s3_dir.unwrap_or_else(|| args.data_dir.join("s3"));
        let region_endpoints = crate::replication::parse_endpoints(&args.region_endpoints)?;
        if region_endpoints.iter().any(|m| m.region == args.region) {
            return Err("--region-endpoints names this store's own --region".into());
        }
        if args.max_tables < 1 {
            return Err("--max-tables must be at least 1".into());
        }
        shared::wire::headers::check_cluster_secret(
            &args.cluster_secret,
            args.credentials_file.is_some(),
            args.listen,
            "STORE_CLUSTER_SECRET",
        )?;
        if args.table_max_capacity_units < 1 || args.account_max_capacity_units < 1 {
            return Err(
                "--table-max-capacity-units and --account-max-capacity-units must be at least 1"
                    .into(),
            );
        }
        Ok(Config {
            listen: args.listen,
            data_dir: args.data_dir,
            region: args.region,
            account_id: args.account_id,
            cluster_secret: Some(args.cluster_secret).filter(|s| !s.is_empty()),
            keys: match &args.credentials_file {
                Some(path) => Some(Arc::new(LiveKeys::load(path)?)),
                None => None,
            },
            // An in-memory store writes nothing to the disk.
            min_free_disk_bytes: match args.in_memory {
                true => 0,
                false => args.min_free_disk_bytes,
            },
            storage: StorageOptions {
                durable: args.durable,
                cache_bytes: args.cache_bytes,
                partition_cache_bytes: args.partition_cache_bytes,
                in_memory: args.in_memory,
            },
            // An in-memory engine keeps one version per key: nothing to compact.
            idle_compaction: idle_compaction(
                args.idle_compaction_after,
                args.idle_compaction_max_bytes,
            )
            .filter(|_| !args.in_memory),
            change_log: args.change_log.validate()?,
            max_in_flight: args.max_in_flight,
            body_read_timeout: args.body_read_timeout,
            connection_timeouts: shared::wire::conn_deadlines::Timeouts {
                header_read: args.header_read_timeout,
                idle: args.keep_alive_timeout,
            },
            contributor_insights_period: args.contributor_insights_period,
            s3_dir,
            incremental_export_min_window: match args.incremental_export_min_window {
                // A window is at most a day: a longer minimum would refuse every export.
                window if window <= std::time::Duration::from_secs(86_400) => window,
                _ => return Err("--incremental-export-min-window must be at most 1 day".into()),
            },
            kinesis_endpoint: match args.kinesis_endpoint.filter(|e| !e.is_empty()) {
                Some(text) => Some(crate::kinesis::Endpoint::parse(&text)?),
                None => None,
            },
            region_endpoints,
            endpoint: crate::own_endpoint::OwnEndpoint::new(
                match args.advertise_url.filter(|u| !u.is_empty()) {
                    Some(url) => Some(crate::replication::parse_url("--advertise-url", &url)?),
                    None => None,
                },
                args.listen,
            ),
            quotas: crate::catalog::quota::Quotas {
                tables: args.max_tables,
                table_max: args.table_max_capacity_units,
                account_max: args.account_max_capacity_units,
            },
            tombstone_retention: args.tombstone_retention,
            replica_create_timeout: args.replica_create_timeout,
        })
    }

    /// `arn:aws:dynamodb:<region>:<account>:table/<name>`.
    pub fn table_arn(&self, table: &str) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{}",
            self.region, self.account_id, table
        )
    }
}

/// `--idle-compaction-after` and `--idle-compaction-max-mb` as a policy (`None` for 0).
fn idle_compaction(after: std::time::Duration, max_bytes: u64) -> Option<IdleCompaction> {
    (!after.is_zero()).then_some(IdleCompaction {
        quiet: after,
        max_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn args(flags: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("store").chain(flags.iter().copied()))
    }

    #[test]
    fn idle_compaction_flags_become_a_policy_or_none() {
        let policy = |flags: &[&str]| {
            let args = args(flags).unwrap();
            idle_compaction(args.idle_compaction_after, args.idle_compaction_max_bytes)
        };
        assert_eq!(policy(&["--idle-compaction-after", "0"]), None);
        assert_eq!(
            policy(&[
                "--idle-compaction-after",
                "2.5",
                "--idle-compaction-max-mb",
                "10"
            ]),
            Some(IdleCompaction {
                quiet: Duration::from_millis(2500),
                max_bytes: 10 << 20,
            })
        );
        assert_eq!(
            policy(&[
                "--idle-compaction-after",
                "1m",
                "--idle-compaction-max-mb",
                "1GiB"
            ]),
            Some(IdleCompaction {
                quiet: Duration::from_secs(60),
                max_bytes: 1 << 30,
            })
        );
        for bad in ["-1", "NaN", "inf", "1e10"] {
            assert!(args(&["--idle-compaction-after", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_take_plain_numbers_units_and_boolish_words() {
        let parsed = args(&[
            "--body-read-timeout",
            "1.5s",
            "--keep-alive-timeout",
            "2m",
            "--header-read-timeout",
            "30",
            "--cache-mb",
            "64",
            "--partition-cache-mb",
            "0",
            "--durable",
            "off",
            "--in-memory",
            "YES",
        ])
        .unwrap();
        assert_eq!(parsed.body_read_timeout, Duration::from_millis(1500));
        assert_eq!(parsed.keep_alive_timeout, Duration::from_secs(120));
        assert_eq!(parsed.header_read_timeout, Duration::from_secs(30));
        assert_eq!(parsed.cache_bytes, 64 << 20);
        assert_eq!(parsed.partition_cache_bytes, 0);
        assert!(!parsed.durable);
        assert!(parsed.in_memory);
        let zero = args(&["--body-read-timeout", "0s"])
            .unwrap_err()
            .to_string();
        assert!(zero.contains("must be more than 0"), "{zero}");
    }
}
