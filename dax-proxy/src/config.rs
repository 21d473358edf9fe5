//! Command-line flags (each also a `DAX_*` environment variable) → validated [`Config`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use shared::wire::sigv4::LiveKeys;

/// How the query cache stays coherent with writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Coherence {
    /// Entries are dropped when a write touches a partition they cover (the default).
    Invalidate,
    /// Entries live until their TTL, whatever is written (DAX's behaviour).
    TtlOnly,
}

/// The proxy node's flags.
#[derive(Debug, Parser)]
#[command(
    name = "dax-proxy",
    about = "DAX-like write-through caching proxy for the store",
    version
)]
pub struct Args {
    /// Address to serve on; port 0 picks a free port (printed as `dax-proxy listening on HOST:PORT`).
    #[arg(long, env = "DAX_LISTEN", default_value = "127.0.0.1:8111", value_parser = shared::flags::listen_address)]
    pub listen: SocketAddr,
    /// The store's base URL, e.g. http://127.0.0.1:8000.
    #[arg(long, env = "DAX_STORE", default_value = "http://127.0.0.1:8000")]
    pub store: String,
    /// Item cache capacity: bytes, or a size with a unit (`256MiB`, `1GiB`); entries are
    /// weighed by their encoded size.
    #[arg(long, env = "DAX_ITEM_CACHE_BYTES", default_value = "256MiB", value_parser = shared::flags::bytes)]
    pub item_cache_bytes: u64,
    /// Query cache capacity: bytes, or a size with a unit (`64MiB`).
    #[arg(long, env = "DAX_QUERY_CACHE_BYTES", default_value = "64MiB", value_parser = shared::flags::bytes)]
    pub query_cache_bytes: u64,
    /// Item cache entry lifetime (DAX's record-ttl): seconds, or `300s`, `5m`, `250ms`; `0`
    /// keeps entries until evicted or changed.
    #[arg(long, env = "DAX_RECORD_TTL", default_value = "5m", value_parser = shared::flags::duration)]
    pub record_ttl: Duration,
    /// Query cache entry lifetime (DAX's query-ttl); `0` turns the query cache off.
    #[arg(long, env = "DAX_QUERY_TTL", default_value = "5m", value_parser = shared::flags::duration)]
    pub query_ttl: Duration,
    /// Query cache coherence: `invalidate` (default) or `ttl-only` (DAX).
    #[arg(
        long,
        env = "DAX_QUERY_CACHE_COHERENCE",
        value_enum,
        ignore_case = true,
        default_value = "invalidate"
    )]
    pub query_cache_coherence: Coherence,
    /// Shared secret for cluster-internal calls (store change feed and leases, write
    /// forwarding between nodes). Must equal the store's `--cluster-secret`.
    #[arg(
        long,
        env = "DAX_CLUSTER_SECRET",
        default_value = shared::wire::headers::DEFAULT_CLUSTER_SECRET
    )]
    pub cluster_secret: String,
    /// Add `x-dax-cache: hit|miss|bypass` to every response (true/false, 1/0, yes/no,
    /// on/off; the flag alone means true).
    #[arg(long, env = "DAX_CACHE_HEADER", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub cache_header: bool,
    /// How long the primary's lease lasts without renewal; a replica takes over after it.
    #[arg(long, env = "DAX_LEASE_TTL", default_value = "3s", value_parser = shared::flags::duration)]
    pub lease_ttl: Duration,
    /// A file of `ACCESS_KEY_ID SECRET_ACCESS_KEY` lines: when given, every API call's SigV4
    /// signature is checked against these keys (writes forwarded by another node excepted).
    /// Without it any well-formed signature is accepted, as by the store. Reloaded when it
    /// changes.
    #[arg(long, env = "DAX_CREDENTIALS_FILE")]
    pub credentials_file: Option<PathBuf>,
    /// The region signatures must be scoped to (with `--credentials-file`).
    #[arg(long, env = "DAX_REGION", default_value = "us-east-1")]
    pub region: String,
    /// API calls the node works on at once; more are refused with ThrottlingException,
    /// which SDKs retry with backoff. 0: no limit.
    #[arg(long, env = "DAX_MAX_IN_FLIGHT", default_value_t = 4096)]
    pub max_in_flight: usize,
    /// How long an admitted API call's body may take to arrive whole (`60s`, `1m`); a
    /// client that stops sending mid-body (a crashed host's half-open connection) is
    /// answered 408 then, and no longer holds one of `--max-in-flight`'s places
    #[arg(long, env = "DAX_BODY_READ_TIMEOUT", default_value = "60s", value_parser = shared::flags::positive_duration)]
    pub body_read_timeout: Duration,
    /// How long a request head may take to arrive whole (`30s`), from a new connection's
    /// accept or a later head's first byte; a client that sends its headers slowly or not
    /// at all (slowloris) has its connection closed then
    #[arg(long, env = "DAX_HEADER_READ_TIMEOUT", default_value = "30s", value_parser = shared::flags::positive_duration)]
    pub header_read_timeout: Duration,
    /// How long an idle keep-alive connection (its last request answered, nothing sent
    /// since) stays open (`120s`); longer than the idle timeouts of load balancers (ALB:
    /// 60 s) and client pools (hyper, reqwest, the Rust and Go SDKs: 90 s), so that they
    /// close first and no request races the node's close
    #[arg(long, env = "DAX_KEEP_ALIVE_TIMEOUT", default_value = "120s", value_parser = shared::flags::positive_duration)]
    pub keep_alive_timeout: Duration,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub store: String,
    pub item_cache_bytes: u64,
    pub query_cache_bytes: u64,
    pub record_ttl: Option<Duration>,
    pub query_ttl: Option<Duration>,
    pub coherence: Coherence,
    pub cluster_secret: String,
    pub cache_header: bool,
    pub lease_ttl: Duration,
    /// Keys that API calls must be signed with, if signatures are verified (their file is
    /// reloaded when it changes: `LiveKeys::watch`).
    pub keys: Option<Arc<LiveKeys>>,
    pub region: String,
    /// API calls admitted at once (0: no limit); see `shared::wire::admission`.
    pub max_in_flight: usize,
    /// How long an admitted call's body may take to arrive (`shared::wire::body`).
    pub body_read_timeout: Duration,
    /// How long a connection may hold the node without a request
    /// (`shared::wire::conn_deadlines`).
    pub connection_timeouts: shared::wire::conn_deadlines::Timeouts,
}

impl Config {
    pub fn from_args(args: Args) -> Result<Config, String> {
        let store = args.store.trim_end_matches('/').to_string();
        if !(store.starts_with("http://") || store.starts_with("https://")) {
            return Err(format!("--store must be an http:// URL, got {store:?}"));
        }
        if args.cluster_secret.is_empty() {
            return Err("--cluster-secret must not be empty".into());
        }
        shared::wire::headers::check_cluster_secret(
            &args.cluster_secret,
            args.credentials_file.is_some(),
            args.listen,
            "DAX_CLUSTER_SECRET",
        )?;
        if args.lease_ttl < Duration::from_millis(500) {
            return Err("--lease-ttl must be at least 500ms".into());
        }
        Ok(Config {
            listen: args.listen,
            store,
            item_cache_bytes: args.item_cache_bytes,
            query_cache_bytes: args.query_cache_bytes,
            record_ttl: Some(args.record_ttl).filter(|d| !d.is_zero()),
            query_ttl: Some(args.query_ttl).filter(|d| !d.is_zero()),
            coherence: args.query_cache_coherence,
            cluster_secret: args.cluster_secret,
            cache_header: args.cache_header,
            lease_ttl: args.lease_ttl,
            keys: match &args.credentials_file {
                Some(path) => Some(Arc::new(LiveKeys::load(path)?)),
                None => None,
            },
            region: args.region,
            max_in_flight: args.max_in_flight,
            body_read_timeout: args.body_read_timeout,
            connection_timeouts: shared::wire::conn_deadlines::Timeouts {
                header_read: args.header_read_timeout,
                idle: args.keep_alive_timeout,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_take_plain_numbers_units_and_boolish_words() {
        let args = Args::try_parse_from([
            "dax-proxy",
            "--item-cache-bytes",
            "1MiB",
            "--query-cache-bytes",
            "1048576",
            "--record-ttl",
            "1.5",
            "--body-read-timeout",
            "60",
            "--cache-header",
            "1",
        ])
        .unwrap();
        assert_eq!(args.item_cache_bytes, 1 << 20);
        assert_eq!(args.query_cache_bytes, 1 << 20);
        assert_eq!(args.record_ttl, Duration::from_millis(1500));
        assert_eq!(args.body_read_timeout, Duration::from_secs(60));
        assert!(args.cache_header);
        let zero = Args::try_parse_from(["dax-proxy", "--keep-alive-timeout", "0ms"])
            .unwrap_err()
            .to_string();
        assert!(zero.contains("must be more than 0"), "{zero}");
    }
}
