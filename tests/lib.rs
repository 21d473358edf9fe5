//! Integration-test harness: runs the real `store` (and later `dax-proxy`) binaries on
//! ephemeral loopback ports and hands tests real clients for them.
//!
//! # Layout
//! - [`StoreProcess`] / [`ProxyProcess`]: one child process each, started with
//!   `--listen 127.0.0.1:0`, a tempdir, and its stderr sent to a log file. Start-up reads the
//!   address line the daemon prints, then polls `/health` against a deadline. `Drop` kills
//!   and reaps the child; when the test is failing it also prints the tail of the log, which
//!   is where the reason usually is.
//! - [`client`]: an `aws-sdk-dynamodb` client for an endpoint: plain HTTP, static test
//!   credentials, no retries (a test must see the first answer, and a retried non-idempotent
//!   write would hide double application).
//! - Raw requests ([`raw_call`], [`raw_post`]): hand-built, SigV4-signed POSTs for the inputs
//!   an SDK refuses to send (bad JSON, unknown targets, wrong JSON types).
//! - Small helpers: unique names, table creation that waits for ACTIVE, attribute builders,
//!   and [`assert_api_error`] for `err.code()` + message checks.
//!
//! # Binaries
//! The harness runs what `cargo build --bins` produced; it never builds. The binary is
//! `$STORE_BIN` (`$DAX_PROXY_BIN`) if set, else found next to the running test executable
//! (`<target>/<profile>/`, which follows `CARGO_TARGET_DIR` by construction), else under
//! `$CARGO_TARGET_DIR` or `<workspace>/target/debug/`. A missing binary is a test failure
//! that says which command to run.

// This crate is test code only (the house rule allows unwrap/expect there): a failed
// expectation should panic the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ProvisionedThroughput, PutRequest, ScalarAttributeType, StreamSpecification, StreamViewType,
    TableStatus, TimeToLiveSpecification, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub use aws_sdk_dynamodb;
pub use serde_json;

/// Access key the tests sign with. The store accepts any key for now; keep one constant so a
/// later key check needs one change.
pub const ACCESS_KEY_ID: &str = "AKIDINTEGRATIONTEST";
/// Secret for [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "integration-test-secret";
/// Region the clients sign for and the store names in ARNs by default.
pub const REGION: &str = "us-east-1";

/// How long a daemon may take to print its address and answer `/health`. Generous because a
/// debug build on 2 shared cores can be slow to open its engine while other tests run.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);
/// How often start-up polls `/health`.
const HEALTH_POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How much of a daemon's log is printed when a test fails.
const LOG_TAIL_BYTES: u64 = 8 * 1024;

// ---------------------------------------------------------------------------------------------
// Locating binaries

/// Path of a workspace binary: `$env_var`, else the first existing candidate location.
/// Panics with the command to run when none exists.
pub fn binary_path(name: &str, env_var: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env_var) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{env_var}={} does not exist",
            path.display()
        );
        return path;
    }
    let candidates = binary_candidates(name);
    for candidate in &candidates {
        if candidate.is_file() {
            return candidate.clone();
        }
    }
    let tried: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    panic!(
        "binary `{name}` not found (tried: {}). Build it first with `cargo build --bins` \
         (tests/run.sh does), or point {env_var} at it.",
        tried.join(", ")
    );
}

fn binary_candidates(name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    // The test executable lives in <target>/<profile>/deps/; binaries of the same build are
    // in <target>/<profile>/. This follows CARGO_TARGET_DIR and --profile without parsing them.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            out.push(profile_dir.join(name));
        }
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        let target = PathBuf::from(target);
        let target = if target.is_absolute() {
            target
        } else {
            workspace_root().join(target)
        };
        out.push(target.join("debug").join(name));
    }
    out.push(workspace_root().join("target").join("debug").join(name));
    out
}

/// The workspace root: the parent of this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

// ---------------------------------------------------------------------------------------------
// A daemon child process

/// One running daemon: the child, the address it printed, and its log.
struct Daemon {
    name: &'static str,
    child: Option<Child>,
    addr: SocketAddr,
    log_path: PathBuf,
    /// Holds the log file's directory alive for as long as the daemon.
    _log_dir: tempfile::TempDir,
}

/// What to start and how to recognise its address line.
struct DaemonSpec<'a> {
    name: &'static str,
    binary: PathBuf,
    args: Vec<String>,
    env: &'a [(String, String)],
    /// The address line is `<line_prefix>HOST:PORT`.
    line_prefix: &'static str,
}

impl Daemon {
    fn start(spec: DaemonSpec<'_>) -> Daemon {
        let log_dir = tempfile::Builder::new()
            .prefix(&format!("{}-log-", spec.name))
            .tempdir()
            .expect("create a log tempdir");
        let log_path = log_dir.path().join(format!("{}.log", spec.name));
        let log = File::create(&log_path).expect("create the daemon log file");

        let mut command = Command::new(&spec.binary);
        command
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            // The daemon's own log level applies (STORE_LOG etc. pass through from the test
            // environment); its log goes to a file that a failing test prints.
            .stderr(Stdio::from(log));
        for (key, value) in spec.env {
            command.env(key, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", spec.binary.display()));

        // A thread reads stdout: it reports the address line, then keeps draining so the
        // daemon never blocks on a full pipe.
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel::<SocketAddr>();
        let prefix = spec.line_prefix;
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent {
                    if let Some(rest) = line.trim().strip_prefix(prefix) {
                        if let Ok(addr) = rest.trim().parse::<SocketAddr>() {
                            sent = tx.send(addr).is_ok();
                        }
                    }
                }
            }
        });

        let mut daemon = Daemon {
            name: spec.name,
            child: Some(child),
            addr: ([127, 0, 0, 1], 0).into(),
            log_path,
            _log_dir: log_dir,
        };
        let deadline = Instant::now() + STARTUP_DEADLINE;
        daemon.addr = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(addr) => break addr,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => daemon.fail_startup(&format!(
                    "closed stdout without printing `{prefix}HOST:PORT`"
                )),
            }
            daemon.check_alive();
            if Instant::now() > deadline {
                daemon.fail_startup(&format!(
                    "printed no `{prefix}HOST:PORT` line within {STARTUP_DEADLINE:?}"
                ));
            }
        };
        // Serving once /health answers at all: a node whose store refuses its secret (or a
        // store that refuses writes) answers 503 there, and a test may want just that.
        loop {
            if http_get_status(daemon.addr, "/health").is_some() {
                break;
            }
            daemon.check_alive();
            if Instant::now() > deadline {
                daemon.fail_startup(&format!(
                    "did not answer on /health within {STARTUP_DEADLINE:?}"
                ));
            }
            std::thread::sleep(HEALTH_POLL_INTERVAL);
        }
        daemon
    }

    fn check_alive(&mut self) {
        let status = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if let Some(status) = status {
            self.child = None;
            self.fail_startup(&format!("exited during start-up ({status})"));
        }
    }

    fn fail_startup(&mut self, why: &str) -> ! {
        self.kill();
        panic!(
            "{} {why}\n--- {} log tail ---\n{}",
            self.name,
            self.name,
            self.log_tail()
        );
    }

    fn log_tail(&self) -> String {
        let Ok(mut file) = File::open(&self.log_path) else {
            return String::new();
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut buf = Vec::new();
        let _ = std::io::Seek::seek(
            &mut file,
            std::io::SeekFrom::Start(len.saturating_sub(LOG_TAIL_BYTES)),
        );
        let _ = file.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// SIGKILL (what `Child::kill` sends on Unix) and reap, so no zombie or port survives.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sends the signal `kill -NAME` names.
    fn signal(&self, name: &str) {
        let pid = self.pid().expect("the process runs");
        let sent = Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{name} failed");
    }

    /// Sends SIGTERM and waits (up to 15 s, then `kill -9` and a panic) for the exit.
    fn terminate(&mut self) -> std::process::ExitStatus {
        self.stop_with("TERM")
    }

    /// Sends signal `name` and waits (up to 15 s, then `kill -9` and a panic) for the exit.
    fn stop_with(&mut self, name: &str) -> std::process::ExitStatus {
        self.signal(name);
        let mut child = self.child.take().expect("the process runs");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = child.try_wait().expect("wait for the process") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{} did not exit within 15 s of SIG{name}", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let exited = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- {} log tail ({}) ---\n{}",
                self.name,
                self.log_path.display(),
                self.log_tail()
            );
        } else if let Some(status) = exited {
            // A daemon that died under a passing test is still worth knowing about.
            eprintln!("warning: {} had exited by itself ({status})", self.name);
        }
    }
}

/// A bare HTTP/1.1 GET; returns the status code, or None if the daemon is not answering yet.
/// Hand-written so start-up needs no async runtime and works from any test.
pub fn http_get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    http_get(addr, path).map(|(status, _)| status)
}

/// [`http_get_status`] with the answer's body (read to the close).
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    BufReader::new(stream).read_to_string(&mut answer).ok()?;
    // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some((status, body.to_string()))
}

// ---------------------------------------------------------------------------------------------
// The store

/// Options for starting a store.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Use this data directory (kept by the caller) instead of a fresh tempdir; restart tests
    /// start a second store on the first one's directory.
    pub data_dir: Option<PathBuf>,
    /// Extra environment variables (`STORE_DURABLE`, `STORE_CLUSTER_SECRET`, ...).
    pub env: Vec<(String, String)>,
    /// Extra command-line arguments.
    pub args: Vec<String>,
    /// Arguments of a shell's `ulimit` run before the store starts (`-n 64`: soft and hard
    /// open file limits of 64; `-Sn 64`: the soft one only).
    pub ulimit: Option<String>,
}

/// A running `store` daemon on an ephemeral loopback port.
pub struct StoreProcess {
    daemon: Daemon,
    data_dir: PathBuf,
    /// The tempdir when the harness made the data directory itself (removed on drop).
    _owned_dir: Option<tempfile::TempDir>,
    options: StoreOptions,
}

impl StoreProcess {
    /// Starts a store on a fresh tempdir.
    pub fn spawn() -> StoreProcess {
        Self::spawn_with(StoreOptions::default())
    }

    /// Starts a store on `data_dir`, which the caller keeps (for restart tests).
    pub fn spawn_in(data_dir: &Path) -> StoreProcess {
        Self::spawn_with(StoreOptions {
            data_dir: Some(data_dir.to_path_buf()),
            ..Default::default()
        })
    }

    /// Starts a store with the given options.
    pub fn spawn_with(options: StoreOptions) -> StoreProcess {
        let (data_dir, owned) = match &options.data_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("store-data-")
                    .tempdir()
                    .expect("create a data tempdir");
                (dir.path().to_path_buf(), Some(dir))
            }
        };
        let daemon = Self::start_daemon(&data_dir, &options, "127.0.0.1:0");
        StoreProcess {
            daemon,
            data_dir,
            _owned_dir: owned,
            options,
        }
    }

    fn start_daemon(data_dir: &Path, options: &StoreOptions, listen: &str) -> Daemon {
        let mut args = vec![
            "--listen".to_string(),
            listen.to_string(),
            "--data-dir".to_string(),
            data_dir.display().to_string(),
        ];
        args.extend(options.args.iter().cloned());
        let mut binary = binary_path("store", "STORE_BIN");
        if let Some(ulimit) = &options.ulimit {
            // The shell sets the limit and becomes the store (same pid), which inherits it.
            let script = format!("ulimit {ulimit} && exec \"$0\" \"$@\"");
            let store = binary.display().to_string();
            args = ["-c".to_string(), script, store]
                .into_iter()
                .chain(args)
                .collect();
            binary = PathBuf::from("sh");
        }
        Daemon::start(DaemonSpec {
            name: "store",
            binary,
            args,
            env: &options.env,
            line_prefix: "store listening on ",
        })
    }

    /// Everything the store has logged so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.daemon.log_path).unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.daemon.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.daemon.addr
    }

    /// The engine's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The child's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.daemon.pid()
    }

    /// A client for this store.
    pub fn client(&self) -> Client {
        client(&self.endpoint())
    }

    /// `kill -9`: no shutdown hook runs, as in a crash or power loss of the process.
    pub fn kill9(&mut self) {
        self.daemon.kill();
    }

    /// Stops the store as an operator would (SIGTERM) and returns how it exited (panics if
    /// it takes more than 15 s).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.daemon.terminate()
    }

    /// Sends signal `name` (`HUP`, `INT`, ...) and waits for the exit, as [`Self::terminate`].
    pub fn stop_with(&mut self, name: &str) -> std::process::ExitStatus {
        self.daemon.stop_with(name)
    }

    /// Sends SIGTERM and returns: the store stops once it has answered what it is doing.
    pub fn ask_to_stop(&self) {
        self.daemon.signal("TERM");
    }

    /// Whether the process is still running (false after it crashed or was killed).
    pub fn is_running(&mut self) -> bool {
        match self.daemon.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Freezes the store (SIGSTOP), as a long pause or a partition would: its connections
    /// stay open and it answers nothing until [`StoreProcess::resume`].
    pub fn pause(&self) {
        self.daemon.signal("STOP");
    }

    /// Lets a paused store run again (SIGCONT).
    pub fn resume(&self) {
        self.daemon.signal("CONT");
    }

    /// Kills the process (if it runs) and starts a new one on the same data directory, with
    /// the same options. The new process listens on a new port: take `endpoint()` again.
    pub fn restart(&mut self) {
        self.daemon.kill();
        self.daemon = Self::start_daemon(&self.data_dir, &self.options, "127.0.0.1:0");
    }

    /// Kills the process and starts a new one on the same data directory at the same
    /// address, as a store back from a crash or a cut is found where it was.
    pub fn restart_in_place(&mut self) {
        let addr = self.daemon.addr.to_string();
        self.daemon.kill();
        self.daemon = Self::start_daemon(&self.data_dir, &self.options, &addr);
    }

    /// [`restart_in_place`](Self::restart_in_place) with the command-line arguments `args`
    /// from then on, as an operator restarting the store with other flags.
    pub fn restart_in_place_with(&mut self, args: Vec<String>) {
        self.options.args = args;
        self.restart_in_place();
    }

    /// Kills the process and starts a store on an empty data directory at the same address:
    /// the same URL to clients and proxies, with none of the data or the change log.
    pub fn replace_with_empty(&mut self) {
        let addr = self.daemon.addr.to_string();
        self.daemon.kill();
        let dir = tempfile::Builder::new()
            .prefix("store-data-")
            .tempdir()
            .expect("create a data tempdir");
        self.data_dir = dir.path().to_path_buf();
        self.daemon = Self::start_daemon(&self.data_dir, &self.options, &addr);
        self._owned_dir = Some(dir);
    }
}

// ---------------------------------------------------------------------------------------------
// The proxy

/// A running `dax-proxy` node in front of a store.
pub struct ProxyProcess {
    daemon: Daemon,
}

impl ProxyProcess {
    /// Starts a proxy node for `store` with `--listen 127.0.0.1:0 --store URL`, once it
    /// follows the store's change feed (its caches answer only then; at most 10 s).
    pub fn spawn(store: &StoreProcess) -> ProxyProcess {
        let node = Self::spawn_with(&store.endpoint(), &[], &[]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if http_get(node.daemon.addr, "/health").is_some_and(|(_, text)| text == "ok") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        node
    }

    /// Starts a proxy node for the store at `store_url`, with extra arguments and environment.
    pub fn spawn_with(
        store_url: &str,
        extra_args: &[&str],
        env: &[(String, String)],
    ) -> ProxyProcess {
        let mut args = vec![
            "--listen".to_string(),
            "127.0.0.1:0".to_string(),
            "--store".to_string(),
            store_url.to_string(),
        ];
        args.extend(extra_args.iter().map(|a| a.to_string()));
        let daemon = Daemon::start(DaemonSpec {
            name: "dax-proxy",
            binary: binary_path("dax-proxy", "DAX_PROXY_BIN"),
            args,
            env,
            line_prefix: "dax-proxy listening on ",
        });
        ProxyProcess { daemon }
    }

    /// `http://HOST:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.daemon.addr)
    }

    /// A client for this node.
    pub fn client(&self) -> Client {
        client(&self.endpoint())
    }

    /// `kill -9` this node.
    pub fn kill9(&mut self) {
        self.daemon.kill();
    }

    /// Shuts this node down as an operator would (SIGTERM) and returns how it exited.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.daemon.terminate()
    }

    /// Sends signal `name` (`HUP`, `INT`, ...) and waits for the exit, as [`Self::terminate`].
    pub fn stop_with(&mut self, name: &str) -> std::process::ExitStatus {
        self.daemon.stop_with(name)
    }

    /// Freezes this node (SIGSTOP), as a long pause or a partition would: its connections
    /// stay open and it reads nothing until [`ProxyProcess::resume`].
    pub fn pause(&self) {
        self.daemon.signal("STOP");
    }

    /// Lets a paused node run again (SIGCONT).
    pub fn resume(&self) {
        self.daemon.signal("CONT");
    }
}

// ---------------------------------------------------------------------------------------------
// SDK client

/// An `aws-sdk-dynamodb` client for `endpoint`: plain HTTP, static test credentials,
/// us-east-1, no retries, and a bound on every call so a hung server fails the test.
pub fn client(endpoint: &str) -> Client {
    client_with_credentials(endpoint, ACCESS_KEY_ID, SECRET_ACCESS_KEY)
}

/// [`client`] signing with other credentials.
pub fn client_with_credentials(endpoint: &str, access_key: &str, secret: &str) -> Client {
    client_with_session_token(endpoint, access_key, secret, None)
}

/// [`client_with_credentials`], bearing a session token (`X-Amz-Security-Token`) if given.
pub fn client_with_session_token(
    endpoint: &str,
    access_key: &str,
    secret: &str,
    token: Option<&str>,
) -> Client {
    let credentials = Credentials::new(
        access_key,
        secret,
        token.map(str::to_string),
        None,
        "integration-tests",
    );
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(credentials)
        .endpoint_url(endpoint)
        .http_client(http)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .operation_timeout(Duration::from_secs(60))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// Fixed credentials, as every test client signs with.
fn static_credentials(access_key: &str, secret: &str) -> Credentials {
    Credentials::new(access_key, secret, None, None, "integration-tests")
}

/// A DynamoDB Streams client for `endpoint` signing with these credentials (no retries).
pub fn streams_client_with_credentials(
    endpoint: &str,
    access_key: &str,
    secret: &str,
) -> aws_sdk_dynamodbstreams::Client {
    use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Region};
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(static_credentials(access_key, secret))
        .endpoint_url(endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .retry_config(aws_sdk_dynamodbstreams::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

// ---------------------------------------------------------------------------------------------
// Streams

/// A stream's shards: id, parent id, and whether the shard has ended.
pub async fn shard_ids(
    st: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
) -> Vec<(String, Option<String>, bool)> {
    let desc = ok(st.describe_stream().stream_arn(arn).send().await);
    desc.stream_description()
        .unwrap()
        .shards()
        .iter()
        .map(|s| {
            (
                s.shard_id().unwrap().to_string(),
                s.parent_shard_id().map(str::to_string),
                s.sequence_number_range()
                    .and_then(|r| r.ending_sequence_number())
                    .is_some(),
            )
        })
        .collect()
}

/// An iterator of `kind` into `shard` of stream `arn`.
pub async fn shard_iterator(
    st: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
    shard: &str,
    kind: aws_sdk_dynamodbstreams::types::ShardIteratorType,
) -> String {
    ok(st
        .get_shard_iterator()
        .stream_arn(arn)
        .shard_id(shard)
        .shard_iterator_type(kind)
        .send()
        .await)
    .shard_iterator()
    .unwrap()
    .to_string()
}

/// Reads a shard from `it` until a page comes back empty or the shard ends.
pub async fn drain_shard(
    st: &aws_sdk_dynamodbstreams::Client,
    mut it: Option<String>,
) -> Vec<aws_sdk_dynamodbstreams::types::Record> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let Some(current) = it.take() else { break };
        let page = ok(st.get_records().shard_iterator(current).send().await);
        let empty = page.records().is_empty();
        out.extend(page.records().iter().cloned());
        it = page.next_shard_iterator().map(str::to_string);
        if empty {
            break;
        }
    }
    out
}

/// Every record of every shard, parents first.
pub async fn read_stream(
    st: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
) -> Vec<aws_sdk_dynamodbstreams::types::Record> {
    let mut out = Vec::new();
    for (shard, _, _) in shard_ids(st, arn).await {
        let it = shard_iterator(
            st,
            arn,
            &shard,
            aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon,
        )
        .await;
        out.extend(drain_shard(st, Some(it)).await);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A name no other test in this run uses: `<prefix>-<pid>-<counter>`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// `{"S": v}`
pub fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// `{"N": v}` from anything printable as a number.
pub fn n(v: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// An item (or key) from name/value pairs.
pub fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// Provisioned throughput of `read` RCU and `write` WCU.
pub fn throughput(read: i64, write: i64) -> ProvisionedThroughput {
    ProvisionedThroughput::builder()
        .read_capacity_units(read)
        .write_capacity_units(write)
        .build()
        .unwrap()
}

/// A provisioned table `pk` (S) with `read` RCU and `write` WCU, once ACTIVE.
pub async fn provisioned_table(ddb: &Client, name: &str, read: i64, write: i64) {
    ok(ddb
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::Provisioned)
        .provisioned_throughput(throughput(read, write))
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .send()
        .await);
    wait_table_active(ddb, name).await;
}

/// BatchWriteItem's put of `item`.
pub fn batch_put(item: HashMap<String, AttributeValue>) -> WriteRequest {
    let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
    WriteRequest::builder().put_request(put).build()
}

/// Writes `requests` to `table` in one BatchWriteItem, which must leave none unprocessed.
pub async fn batch_write_all(client: &Client, table: &str, requests: Vec<WriteRequest>) {
    let out = ok(client
        .batch_write_item()
        .request_items(table, requests)
        .send()
        .await);
    assert!(out.unprocessed_items().is_none_or(|u| u.is_empty()));
}

/// A key attribute: name and scalar type.
pub type KeyAttr<'a> = (&'a str, ScalarAttributeType);

/// One element of a table's or index's key schema.
pub fn key_element(name: &str, key_type: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .unwrap()
}

/// A GSI `name` keyed by `hash` alone, projecting every attribute; capacity settings are
/// the caller's to add.
pub fn gsi_projecting_all(
    name: &str,
    hash: &str,
) -> aws_sdk_dynamodb::types::builders::GlobalSecondaryIndexBuilder {
    aws_sdk_dynamodb::types::GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_element(hash, KeyType::Hash))
        .projection(
            aws_sdk_dynamodb::types::Projection::builder()
                .projection_type(aws_sdk_dynamodb::types::ProjectionType::All)
                .build(),
        )
}

/// An index projection: `kind`, with `include` as its NonKeyAttributes.
pub fn projection(
    kind: aws_sdk_dynamodb::types::ProjectionType,
    include: &[&str],
) -> aws_sdk_dynamodb::types::Projection {
    let mut p = aws_sdk_dynamodb::types::Projection::builder().projection_type(kind);
    for name in include {
        p = p.non_key_attributes(*name);
    }
    p.build()
}

/// An LSI `name` of a table whose partition key is `pk`, sorted by `range`.
pub fn lsi(
    name: &str,
    range: &str,
    kind: aws_sdk_dynamodb::types::ProjectionType,
    include: &[&str],
) -> aws_sdk_dynamodb::types::LocalSecondaryIndex {
    aws_sdk_dynamodb::types::LocalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element(range, KeyType::Range))
        .projection(projection(kind, include))
        .build()
        .unwrap()
}

/// One attribute definition of CreateTable / UpdateTable.
pub fn attribute_definition(name: &str, ty: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ty)
        .build()
        .unwrap()
}

/// Creates an on-demand table with a hash key and an optional range key, then waits until it
/// is ACTIVE.
pub async fn create_table(
    client: &Client,
    name: &str,
    hash: KeyAttr<'_>,
    range: Option<KeyAttr<'_>>,
) {
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element(hash.0, KeyType::Hash))
        .attribute_definitions(attribute_definition(hash.0, hash.1));
    if let Some((range_name, range_type)) = range {
        request = request
            .key_schema(key_element(range_name, KeyType::Range))
            .attribute_definitions(attribute_definition(range_name, range_type));
    }
    if let Err(e) = request.send().await {
        panic!("CreateTable {name}: {}", DisplayErrorContext(&e));
    }
    wait_table_active(client, name).await;
}

/// A CreateTable of an on-demand table keyed by the strings `pk` and `sk` that also
/// defines `indexed`, an attribute its indexes (the caller's to add) are keyed by.
pub fn pk_sk_table_request(
    client: &Client,
    name: &str,
    indexed: KeyAttr<'_>,
) -> aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("sk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition(indexed.0, indexed.1))
}

/// An on-demand table keyed by the strings `pk` and `sk`, with the LSI `index` sorted by
/// the attribute `sort`, ACTIVE when this returns.
pub async fn create_table_with_lsi(
    client: &Client,
    name: &str,
    sort: KeyAttr<'_>,
    index: aws_sdk_dynamodb::types::LocalSecondaryIndex,
) {
    let created = pk_sk_table_request(client, name, sort)
        .local_secondary_indexes(index)
        .send()
        .await;
    if let Err(e) = created {
        panic!("CreateTable {name}: {}", DisplayErrorContext(&e));
    }
    wait_table_active(client, name).await;
}

/// A table with a string hash key `pk`.
pub async fn create_hash_table(client: &Client, name: &str) {
    create_table(client, name, ("pk", ScalarAttributeType::S), None).await;
}

/// An enabled stream of `view`, for CreateTable or UpdateTable.
pub fn stream_of(view: StreamViewType) -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(view)
        .build()
        .expect("a complete stream specification")
}

/// Enables a stream of `view` on table `name` (UpdateTable).
pub async fn enable_stream(client: &Client, name: &str, view: StreamViewType) {
    ok(client
        .update_table()
        .table_name(name)
        .stream_specification(stream_of(view))
        .send()
        .await);
}

/// Turns TTL on for table `name`, on attribute `attribute` (UpdateTimeToLive).
pub async fn enable_ttl(client: &Client, name: &str, attribute: &str) {
    let spec = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(attribute)
        .build()
        .unwrap();
    ok(client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(spec)
        .send()
        .await);
}

/// A table with a string hash key `pk` and a number range key `sk`.
pub async fn create_hash_range_table(client: &Client, name: &str) {
    create_table(
        client,
        name,
        ("pk", ScalarAttributeType::S),
        Some(("sk", ScalarAttributeType::N)),
    )
    .await;
}

/// DescribeTable's description of `table`, which must be there.
pub async fn describe(client: &Client, table: &str) -> aws_sdk_dynamodb::types::TableDescription {
    ok(client.describe_table().table_name(table).send().await)
        .table
        .expect("DescribeTable describes the table")
}

/// The ARN of `table` (DescribeTable).
pub async fn table_arn(client: &Client, table: &str) -> String {
    ok(client.describe_table().table_name(table).send().await)
        .table()
        .and_then(|t| t.table_arn())
        .expect("DescribeTable names the table's ARN")
        .to_string()
}

/// Polls DescribeTable until the table is ACTIVE (deadline 30 s).
pub async fn wait_table_active(client: &Client, name: &str) {
    let ok = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async {
            match client.describe_table().table_name(name).send().await {
                Ok(out) => out.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active),
                // Not visible yet: keep polling.
                Err(e) if e.code() == Some("ResourceNotFoundException") => false,
                // Anything else will not fix itself; fail now rather than after the deadline.
                Err(e) => panic!("DescribeTable {name}: {}", DisplayErrorContext(&e)),
            }
        },
    )
    .await;
    assert!(ok, "table {name} did not become ACTIVE within 30 s");
}

/// Polls DescribeTable until the table is gone (deadline 30 s).
pub async fn wait_table_gone(client: &Client, name: &str) {
    let ok = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async {
            match client.describe_table().table_name(name).send().await {
                Err(e) if e.code() == Some("ResourceNotFoundException") => true,
                Err(e) => panic!("DescribeTable {name}: {}", DisplayErrorContext(&e)),
                Ok(_) => false,
            }
        },
    )
    .await;
    assert!(ok, "table {name} still exists after 30 s");
}

/// Calls `check` every `interval` until it returns true or `timeout` passes; returns whether
/// it succeeded. For state that changes in the background; never a fixed sleep.
pub async fn wait_until<F, Fut>(timeout: Duration, interval: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(interval).await;
    }
}

/// Asserts that `result` is an API error with `code` and, when given, exactly `message`.
/// Returns the error for further checks.
#[track_caller]
pub fn assert_api_error<T: std::fmt::Debug, E>(
    result: Result<T, E>,
    code: &str,
    message: Option<&str>,
) -> E
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let err = match result {
        Ok(value) => panic!("expected {code}, got success: {value:?}"),
        Err(err) => err,
    };
    assert_eq!(
        err.code(),
        Some(code),
        "wrong error code; full error: {}",
        DisplayErrorContext(&err)
    );
    if let Some(message) = message {
        assert_eq!(err.message(), Some(message), "wrong message for {code}");
    }
    err
}

/// PutItem of `item` into `table`, which must succeed.
pub async fn put_item(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    item: std::collections::HashMap<String, AttributeValue>,
) {
    ok(ddb
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await);
}

/// How far a vector search's score may be from the one a test works out (the store sums in
/// f64 over f32 components; a test's figures are decimal).
pub const SCORE_TOLERANCE: f64 = 1e-5;

/// A SearchVectors of `index` in `table` for `query`, TopK 100 (the most).
pub fn search_vectors<N: std::fmt::Display>(
    ddb: &aws_sdk_dynamodb::Client,
    table: &str,
    index: &str,
    query: &[N],
) -> aws_sdk_dynamodb::operation::search_vectors::builders::SearchVectorsFluentBuilder {
    let mut request = ddb
        .search_vectors()
        .table_name(table)
        .index_name(index)
        .top_k(100);
    for value in query {
        request = request.search_vector(n(value));
    }
    request
}

/// The results `request` answers, which must succeed.
pub async fn search_results(
    request: aws_sdk_dynamodb::operation::search_vectors::builders::SearchVectorsFluentBuilder,
) -> Vec<aws_sdk_dynamodb::types::SearchResultItem> {
    match request.send().await {
        Ok(out) => out.search_results().to_vec(),
        Err(e) => panic!("SearchVectors: {}", DisplayErrorContext(&e)),
    }
}

/// The string `pk` of a search result.
pub fn pk_of(result: &aws_sdk_dynamodb::types::SearchResultItem) -> String {
    match result.item().and_then(|it| it.get("pk")) {
        Some(AttributeValue::S(pk)) => pk.clone(),
        other => panic!("a result without a string pk: {other:?} in {result:?}"),
    }
}

/// The (pk, score) pairs `request` answers, in order.
pub async fn search_hits(
    request: aws_sdk_dynamodb::operation::search_vectors::builders::SearchVectorsFluentBuilder,
) -> Vec<(String, f64)> {
    search_results(request)
        .await
        .iter()
        .map(|r| (pk_of(r), r.score()))
        .collect()
}

/// Asserts the hits are `expected`'s keys in order, each scored as expected (within
/// [`SCORE_TOLERANCE`]); `what` names the case in failures.
#[track_caller]
pub fn assert_hits(got: &[(String, f64)], expected: &[(&str, f64)], what: &str) {
    let got_pks: Vec<&str> = got.iter().map(|(pk, _)| pk.as_str()).collect();
    let expected_pks: Vec<&str> = expected.iter().map(|(pk, _)| *pk).collect();
    assert_eq!(got_pks, expected_pks, "{what}: {got:?}");
    for ((pk, score), (_, want)) in got.iter().zip(expected) {
        assert!(
            (score - want).abs() <= SCORE_TOLERANCE,
            "{what}: {pk} scored {score}, expected {want}; all: {got:?}"
        );
    }
}

/// UpdateTable's `VectorIndexUpdates` entry creating `index`.
pub fn create_vector_index(
    index: &aws_sdk_dynamodb::types::VectorIndex,
) -> aws_sdk_dynamodb::types::VectorIndexUpdate {
    let mut create = aws_sdk_dynamodb::types::CreateVectorIndexAction::builder()
        .index_name(index.index_name())
        .set_vector_attribute(index.vector_attribute().cloned())
        .dimensions(index.dimensions())
        .distance_function(index.distance_function().clone())
        .set_projection(index.projection().cloned());
    for element in index.search_schema() {
        create = create.search_schema(element.clone());
    }
    aws_sdk_dynamodb::types::VectorIndexUpdate::builder()
        .create(create.build().unwrap())
        .build()
}

/// Asserts `answer` is a ValidationException (any message) and returns it; `what` names
/// the case in failures.
#[track_caller]
pub fn assert_validation_error<T: std::fmt::Debug, E>(answer: Result<T, E>, what: &str) -> E
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let err = match answer {
        Ok(answered) => panic!("{what}: accepted: {answered:?}"),
        Err(err) => err,
    };
    assert_eq!(
        err.code(),
        Some("ValidationException"),
        "{what}: {}",
        DisplayErrorContext(&err)
    );
    err
}

/// Asserts CreateTable of `name` (`answer`) was refused with a ValidationException and
/// left no table behind; `what` names the case in failures.
pub async fn assert_create_refused<T: std::fmt::Debug, E>(
    ddb: &aws_sdk_dynamodb::Client,
    name: &str,
    answer: Result<T, E>,
    what: &str,
) where
    E: ProvideErrorMetadata + std::error::Error,
{
    assert_validation_error(answer, what);
    assert_api_error(
        ddb.describe_table().table_name(name).send().await,
        "ResourceNotFoundException",
        None,
    );
}

/// Asserts `result` is a ValidationException whose message contains `part`.
#[track_caller]
pub fn assert_validation_containing<T: std::fmt::Debug, E>(result: Result<T, E>, part: &str)
where
    E: ProvideErrorMetadata + std::error::Error,
{
    let err = assert_api_error(result, "ValidationException", None);
    let message = err.message().unwrap_or_default();
    assert!(
        message.contains(part),
        "{message:?} does not contain {part:?}"
    );
}

/// Unwraps an SDK result, printing the whole error chain (the SDK's Display is terse).
#[track_caller]
pub fn ok<T, E: std::error::Error>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("unexpected error: {}", DisplayErrorContext(&err)),
    }
}

// ---------------------------------------------------------------------------------------------
// Raw requests

/// An HTTP answer, body kept as bytes.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as JSON (panics with the body text if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The error name after `#` in `__type`, if any.
    pub fn error_name(&self) -> Option<String> {
        let json: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        let ty = json.get("__type")?.as_str()?;
        Some(ty.rsplit('#').next().unwrap_or(ty).to_string())
    }

    /// The error message (`message` or `Message`), if any.
    pub fn error_message(&self) -> Option<String> {
        let json: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        let m = json.get("message").or_else(|| json.get("Message"))?;
        m.as_str().map(str::to_string)
    }
}

/// The index of the one node among `nodes` that holds the primary lease, once exactly one
/// says so (`dax_primary`); panics if that does not happen within 10 s.
pub async fn primary_of(nodes: &[&ProxyProcess]) -> usize {
    for _ in 0..200 {
        let mut primaries = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            if metric(&node.endpoint(), "dax_primary").await == 1.0 {
                primaries.push(i);
            }
        }
        if let [one] = primaries[..] {
            return one;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no single node became primary");
}

/// The secret cluster-internal endpoints (`/internal/...`, `/triggers`) expect by default.
pub const CLUSTER_SECRET: &str = "dax-local-cluster-secret";

/// The cluster secret of stores and nodes that check signatures: beside a
/// `--credentials-file` the daemons refuse the published default.
pub const KEYED_CLUSTER_SECRET: &str = "a-secret-of-a-cluster-that-checks-signatures";

/// The flags of a store or node that checks signatures against the keys in `path`.
pub fn checking_signatures(path: &Path) -> Vec<String> {
    vec![
        "--credentials-file".into(),
        path.display().to_string(),
        "--cluster-secret".into(),
        KEYED_CLUSTER_SECRET.into(),
    ]
}

/// One page of the cluster's change feed from its start: `GET /internal/changes?after=0`
/// with `query` appended (e.g. `&limit=10`).
pub async fn feed_page(store: &StoreProcess, query: &str) -> serde_json::Value {
    let url = format!("{}/internal/changes?after=0{query}", store.endpoint());
    reqwest::Client::new()
        .get(url)
        .header("x-dax-cluster-secret", CLUSTER_SECRET)
        .send()
        .await
        .expect("GET /internal/changes")
        .json()
        .await
        .expect("a change-feed page")
}

/// The partition keys (`pk`, a string) of the changes the store's log still holds, oldest
/// first, read through the cluster's change feed.
pub async fn logged_keys(store: &StoreProcess) -> Vec<String> {
    let page = feed_page(store, "&limit=10000").await;
    page["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["keys"]["pk"]["S"].as_str().map(str::to_owned))
        .collect()
}

/// A connection carrying a ListTables call whose body stops after its first byte of 100.
async fn start_stalled_call(endpoint: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;

    let address = endpoint.trim_start_matches("http://");
    let mut stalled = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {address}\r\nx-amz-target: DynamoDB_20120810.ListTables\r\n\
         content-type: application/x-amz-json-1.0\r\ncontent-length: 100\r\n\r\n{{"
    );
    stalled.write_all(head.as_bytes()).await.expect("write");
    stalled
}

/// For a server started with `--max-in-flight 1`: while a call whose body never finishes
/// arriving holds the only slot (the server's `in_flight_metric` gauge says so), other API
/// calls are refused at once with ThrottlingException and counted in `shed_metric`, while
/// `/health` and `/metrics` still answer; once that connection closes, calls succeed again.
pub async fn assert_sheds_calls_past_one_in_flight(
    endpoint: &str,
    shed_metric: &str,
    in_flight_metric: &str,
) {
    let listed = raw_call(endpoint, "ListTables", b"{}").await;
    assert_eq!(listed.status, 200, "{:?}", listed.json());
    let stalled = start_stalled_call(endpoint).await;
    let held = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async { metric(endpoint, in_flight_metric).await >= 1.0 },
    )
    .await;
    assert!(held, "the stalled call never counted as in flight");
    let refused = raw_call(endpoint, "GetItem", b"{}").await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json()["__type"],
        "com.amazon.coral.availability#ThrottlingException"
    );
    // Its body unread, the connection closes after the answer, which says so: a client
    // reusing it met a broken pipe.
    assert_eq!(
        refused.headers.get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..]),
        "a refusal that leaves the body unread does not say the connection closes"
    );
    assert!(metric(endpoint, shed_metric).await >= 1.0);
    let health = reqwest::get(format!("{endpoint}/health"))
        .await
        .expect("GET /health");
    assert_eq!(health.status(), 200, "/health was refused");

    drop(stalled);
    let freed = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async { raw_call(endpoint, "ListTables", b"{}").await.status == 200 },
    )
    .await;
    assert!(freed, "the slot was not given back when its call ended");
}

/// On a server started with `--max-in-flight 1` and a short `--body-read-timeout`: a call
/// whose client stops sending mid-body is answered 408 at the deadline, and its place is
/// given back while its connection stays open (a crashed client's half-open connection
/// never closes), so the next call is served.
pub async fn assert_stalled_body_gives_back_its_place(endpoint: &str) {
    use tokio::io::AsyncReadExt;

    let mut stalled = start_stalled_call(endpoint).await;
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(30), stalled.read(&mut answer)).await;
    let n = read
        .expect("a stalled body was never answered")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let listed = raw_call(endpoint, "ListTables", b"{}").await;
    assert_eq!(listed.status, 200, "{:?}", listed.json());
    drop(stalled);
}

/// The server at `endpoint` keeps TCP keepalive on the connections it accepts, so that a
/// crashed client's half-open connection is found and closed: the server's side of an idle
/// keep-alive connection has the kernel's keepalive timer running (`/proc/net/tcp`'s
/// `tr` field is 2; without the option no timer runs on an idle connection).
pub async fn assert_idle_connections_are_probed(endpoint: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let address = endpoint.trim_start_matches("http://");
    let mut client = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let request = format!("GET /health HTTP/1.1\r\nhost: {address}\r\n\r\n");
    client.write_all(request.as_bytes()).await.expect("write");
    let mut answer = [0u8; 256];
    let n = client.read(&mut answer).await.expect("read");
    assert!(answer[..n].starts_with(b"HTTP/1.1 200"));
    let server_port = client.peer_addr().expect("peer").port();
    let client_port = client.local_addr().expect("local").port();
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let server_side = table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local = fields.get(1)?;
        let remote = fields.get(2)?;
        let ours = local.ends_with(&format!(":{server_port:04X}"))
            && remote.ends_with(&format!(":{client_port:04X}"));
        ours.then(|| fields.get(5).map(|timer| timer.to_string()))?
    });
    let timer = server_side.expect("the server's side of the connection in /proc/net/tcp");
    assert!(timer.starts_with("02:"), "no keepalive timer: {timer}");
}

/// Reads every item of `table` with consistent scans, keyed by `pk`.
pub async fn scan_all(
    client: &Client,
    table: &str,
) -> HashMap<String, HashMap<String, AttributeValue>> {
    let mut out = HashMap::new();
    let mut start = None;
    loop {
        let page = ok(client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start.take())
            .send()
            .await);
        for item in page.items() {
            let pk = match item.get("pk") {
                Some(AttributeValue::S(pk)) => pk.clone(),
                other => panic!("item without string pk: {other:?}"),
            };
            out.insert(pk, item.clone());
        }
        match page.last_evaluated_key() {
            Some(key) => start = Some(key.clone()),
            None => return out,
        }
    }
}

/// A process's `/metrics` text.
pub async fn metrics_text(endpoint: &str) -> String {
    reqwest::get(format!("{endpoint}/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("/metrics body")
}

/// Reads one metric (summing every label set) from a process's `/metrics`.
pub async fn metric(endpoint: &str, name: &str) -> f64 {
    metric_in(&metrics_text(endpoint).await, name)
}

/// Reads one metric (summing every label set) from a `/metrics` text.
pub fn metric_in(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with([' ', '{']))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// POSTs `body` to `endpoint` as `DynamoDB_20120810.<op>`, SigV4-signed as an SDK would.
pub async fn raw_call(endpoint: &str, op: &str, body: &[u8]) -> RawResponse {
    raw_post(endpoint, Some(&format!("DynamoDB_20120810.{op}")), body).await
}

/// POSTs `body` to `endpoint` with an optional `X-Amz-Target`, SigV4-signed.
pub async fn raw_post(endpoint: &str, target: Option<&str>, body: &[u8]) -> RawResponse {
    signed_request(endpoint, target, body).send().await
}

/// `body` for `DynamoDB_20120810.<op>`, signed now but not sent, so that a test can break
/// its signature (change the body, sign for another time) before sending it.
pub fn raw_call_headers(endpoint: &str, op: &str, body: &[u8]) -> RawRequest {
    signed_request(endpoint, Some(&format!("DynamoDB_20120810.{op}")), body)
}

fn signed_request(endpoint: &str, target: Option<&str>, body: &[u8]) -> RawRequest {
    let mut request = RawRequest {
        url: endpoint.parse().expect("endpoint URL"),
        target: target.map(str::to_string),
        body: body.to_vec(),
        headers: Vec::new(),
        authorization: String::new(),
    };
    request.resign_at(SystemTime::now());
    request
}

/// A hand-built, SigV4-signed POST.
pub struct RawRequest {
    url: reqwest::Url,
    target: Option<String>,
    /// What is sent; changing it after signing breaks the signature.
    pub body: Vec<u8>,
    /// The signed headers, as (lowercase name, value).
    headers: Vec<(String, String)>,
    authorization: String,
}

impl RawRequest {
    /// Signs the current body as of `time` (with the harness's credentials).
    pub fn resign_at(&mut self, time: SystemTime) {
        let url = &self.url;
        let host = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or("127.0.0.1")),
            None => url.host_str().unwrap_or("127.0.0.1").to_string(),
        };
        let unix = time
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let amz_date = format_amz_date(unix);
        let mut headers: Vec<(String, String)> = vec![
            ("content-type".into(), "application/x-amz-json-1.0".into()),
            ("host".into(), host),
            ("x-amz-date".into(), amz_date.clone()),
        ];
        if let Some(target) = &self.target {
            headers.push(("x-amz-target".into(), target.clone()));
        }
        self.authorization = sigv4_authorization(&headers, &self.body, &amz_date);
        self.headers = headers;
    }

    /// Adds a header left out of the signature (as SDKs leave out most).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Writes the request on a fresh connection and closes it without reading the answer,
    /// as a client that timed out does.
    pub async fn send_and_hang_up(self) {
        self.write_on_a_connection().await;
        // Dropping the stream closes it: the server sees the client gone mid-request.
    }

    /// Writes the request on a fresh connection, shuts the connection's sending side (as
    /// RFC 9112 lets a client do once its request is sent) and reads until the server
    /// closes: what it answered, as text.
    pub async fn send_and_half_close(self) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = self.write_on_a_connection().await;
        stream.shutdown().await.expect("shut the sending side");
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer));
        read.await.expect("the server closed").expect("read");
        String::from_utf8_lossy(&answer).into_owned()
    }

    /// A fresh connection with the request written on it, head and body.
    async fn write_on_a_connection(&self) -> tokio::net::TcpStream {
        use tokio::io::AsyncWriteExt;
        let address = format!(
            "{}:{}",
            self.url.host_str().unwrap_or("127.0.0.1"),
            self.url.port().unwrap_or(80)
        );
        let mut head = format!("POST {} HTTP/1.1\r\n", self.url.path());
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("authorization: {}\r\n", self.authorization));
        head.push_str(&format!("content-length: {}\r\n\r\n", self.body.len()));
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect to the server");
        stream.write_all(head.as_bytes()).await.expect("write head");
        stream.write_all(&self.body).await.expect("write body");
        stream
    }

    pub async fn send(self) -> RawResponse {
        let mut request = reqwest::Client::new()
            .post(self.url)
            .timeout(Duration::from_secs(60))
            .header("authorization", self.authorization)
            .body(self.body);
        // reqwest sets `host` from the URL, as signed.
        for (name, value) in self.headers.iter().filter(|(n, _)| n != "host") {
            request = request.header(name, value);
        }
        let response = request.send().await.expect("raw POST reached the server");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("raw POST body").to_vec();
        RawResponse {
            status,
            headers,
            body,
        }
    }
}

/// `YYYYMMDDTHHMMSSZ` for a Unix time (UTC), without a date crate.
fn format_amz_date(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm), valid for all dates after 1970.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// The SigV4 `Authorization` header for a POST to `/` with the given (lowercase) headers.
/// Written out here (≈25 lines) so raw tests keep working when the store verifies signatures.
fn sigv4_authorization(headers: &[(String, String)], body: &[u8], amz_date: &str) -> String {
    let mut sorted: Vec<&(String, String)> = headers.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let canonical_headers: String = sorted
        .iter()
        .map(|(k, v)| format!("{k}:{}\n", v.trim()))
        .collect();
    let signed_headers = sorted
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let payload_hash = hex::encode(Sha256::digest(body));
    let canonical_request =
        format!("POST\n/\n\n{canonical_headers}\n{signed_headers}\n{payload_hash}");
    let date = &amz_date[..8];
    let scope = format!("{date}/{REGION}/dynamodb/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(
        format!("AWS4{SECRET_ACCESS_KEY}").as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac(&k_date, REGION.as_bytes());
    let k_service = hmac(&k_region, b"dynamodb");
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/{scope}, SignedHeaders={signed_headers}, Signature={signature}")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

// ---------------------------------------------------------------------------------------------
// Python tools (boto3 / AWS CLI smoke tests)

/// The virtualenv with boto3 and the AWS CLI that `tests/run.sh` prepares:
/// `$INTEGRATION_PY_VENV`, else `<workspace>/target/py-venv`. Panics (never skips) when it is
/// missing, so a run without it cannot pass by accident.
pub fn python_venv() -> PathBuf {
    let venv = match std::env::var_os("INTEGRATION_PY_VENV") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join("target").join("py-venv"),
    };
    let python = venv.join("bin").join("python");
    assert!(
        python.is_file(),
        "Python venv with boto3 and awscli not found at {} (no {}). Run the suite with \
         `tests/run.sh`, which creates it, or set INTEGRATION_PY_VENV.",
        venv.display(),
        python.display()
    );
    venv
}

/// Environment for Python tools talking to a test endpoint: test credentials, region, and no
/// user config or profile to fall back on.
pub fn python_env() -> Vec<(String, String)> {
    [
        ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
        ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ("AWS_DEFAULT_REGION", REGION),
        ("AWS_CONFIG_FILE", "/dev/null"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        ("AWS_PAGER", ""),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("PYTHONDONTWRITEBYTECODE", "1"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Turns point-in-time recovery on for `table`.
pub async fn enable_pitr(ddb: &Client, table: &str) {
    let on = aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
        .point_in_time_recovery_enabled(true)
        .build()
        .unwrap();
    ok(ddb
        .update_continuous_backups()
        .table_name(table)
        .point_in_time_recovery_specification(on)
        .send()
        .await);
}

/// A store under the `sync-stall` shim (`tests/sync-stall`), and the switch that holds
/// its journal's `fdatasync`: a test holds a commit group mid-sync and looks at what the
/// store serves meanwhile.
pub struct HeldSyncs {
    pub store: StoreProcess,
    hold: PathBuf,
    held: PathBuf,
    _dir: tempfile::TempDir,
}

impl HeldSyncs {
    pub fn spawn() -> HeldSyncs {
        Self::spawn_with(StoreOptions::default())
    }

    /// A store started with `options`, under the shim.
    pub fn spawn_with(mut options: StoreOptions) -> HeldSyncs {
        let dir = tempfile::tempdir().unwrap();
        let hold = dir.path().join("hold-syncs");
        let held = dir.path().join("hold-syncs.stalled");
        let shim = binary_path("libsync_stall.so", "SYNC_STALL_LIB");
        options.env.extend([
            ("LD_PRELOAD".into(), shim.display().to_string()),
            ("SYNC_STALL_WHILE".into(), hold.display().to_string()),
        ]);
        let store = StoreProcess::spawn_with(options);
        HeldSyncs {
            store,
            hold,
            held,
            _dir: dir,
        }
    }

    /// Holds every journal sync from now on.
    pub fn hold(&self) {
        std::fs::write(&self.hold, b"").unwrap();
    }

    /// Waits until a sync is being held.
    pub async fn wait_held(&self) {
        let held = wait_until(Duration::from_secs(10), Duration::from_millis(5), || {
            let held = self.held.exists();
            async move { held }
        })
        .await;
        assert!(held, "no write reached its journal sync");
    }

    pub fn release(&self) {
        std::fs::remove_file(&self.hold).unwrap();
    }
}

/// Whether the store at `endpoint` comes (within 30 s) to report a change log holding
/// records and then, their retention passed, none but its newest, which trimming keeps
/// (`store_change_log_records`, set by each maintenance pass).
pub async fn log_trimmed(endpoint: &str) -> bool {
    let records = || async { metric(endpoint, "store_change_log_records").await };
    let wait = |trimmed: bool| {
        wait_until(
            Duration::from_secs(30),
            Duration::from_millis(200),
            move || async move { (records().await <= 1.0) == trimmed },
        )
    };
    wait(false).await && wait(true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amz_date_formats_known_instants() {
        assert_eq!(format_amz_date(0), "19700101T000000Z");
        // 2013-06-09T09:45:15Z, the instant in DynamoDB's signature-expired example.
        assert_eq!(format_amz_date(1_370_771_115), "20130609T094515Z");
        // A leap day.
        assert_eq!(format_amz_date(1_709_210_096), "20240229T123456Z");
    }

    #[test]
    fn sigv4_matches_the_aws_example_shape() {
        let headers = vec![
            (
                "content-type".to_string(),
                "application/x-amz-json-1.0".to_string(),
            ),
            ("host".to_string(), "127.0.0.1:8000".to_string()),
            ("x-amz-date".to_string(), "20240101T000000Z".to_string()),
        ];
        let auth = sigv4_authorization(&headers, b"{}", "20240101T000000Z");
        assert!(auth.starts_with(&format!(
            "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20240101/us-east-1/dynamodb/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature="
        )));
        let signature = auth.rsplit('=').next().unwrap();
        assert_eq!(signature.len(), 64);
    }

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique_name("t"), unique_name("t"));
    }
}
