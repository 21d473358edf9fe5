//! The tokio runtime every binary (store, dax-proxy, dax-loadgen) runs on.
//!
//! On one core (a container's cpuset, `taskset -c 0`) a current-thread runtime: a socket's
//! wake-up is polled on the thread that was parked on it, with none of the multi-thread
//! scheduler's queues and hand-offs between a lone worker and the driver. Measured with
//! `perf stat` on the proxy's GetItem hit path at one connection: 1-2 µs less CPU per
//! request (about 30 → 29 µs, three of three pairs); the store's A/B is within noise. The
//! load generator and its fixed "ceiling" server always used this rule, so the servers
//! they measure now run on the same kind of runtime. On more cores, one worker per core.
//! `TOKIO_WORKER_THREADS`, tokio's own variable, sets the count instead, as it does for any
//! tokio program (the integration tests pass with it set to 1).
//!
//! [`run_daemon`] is the `main` both daemons share: logging, the open file limit
//! (`wire::fd_limit`), flags, runtime, serve.

use std::future::Future;
use std::process::ExitCode;

use tokio::runtime::{Builder, Runtime};

/// Builds the runtime for the cores this process may use.
pub fn build() -> std::io::Result<Runtime> {
    let threads = std::env::var("TOKIO_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let mut builder = if threads == 1 {
        Builder::new_current_thread()
    } else {
        let mut builder = Builder::new_multi_thread();
        builder.worker_threads(threads);
        builder
    };
    builder.enable_all().build()
}

/// A daemon's whole `main`: logs to stderr filtered by the `log_var` environment variable
/// (default: info, the engine's own chatter at warn), raises the open file limit, builds
/// its configuration (`Err`: a usage error, exit status 2), and runs `serve` on the
/// runtime until it returns (`Err`: exit status 1). Every message is prefixed with the
/// daemon's `name`.
pub fn run_daemon<C, Fut>(
    name: &str,
    log_var: &str,
    config: impl FnOnce() -> Result<C, String>,
    serve: impl FnOnce(C) -> Fut,
) -> ExitCode
where
    Fut: Future<Output = Result<(), String>>,
{
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env(log_var).unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,fjall=warn,lsm_tree=warn")
            }),
        )
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: in a file, a pipe or journald the
        // escape codes are noise to whatever reads the log.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    crate::wire::fd_limit::raise();
    let config = match config() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("{name}: {message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("{name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{name}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Waits until the process is asked to stop, then stops it gracefully: the future resolves
/// (the server stops taking connections and finishes the requests in flight), and from
/// then on a second request ends the process at once. A graceful stop waits for every
/// request in flight, which a disk that no longer answers a journal sync would hold
/// forever; acknowledged writes are durable, so ending at once loses none of them.
pub async fn stop_gracefully() {
    let mut requests = StopRequests::new();
    requests.next().await;
    tracing::info!("stopping: finishing requests in flight (asked again, stops at once)");
    tokio::spawn(async move {
        let signal = requests.next().await;
        tracing::warn!("asked again to stop: stopping at once, without the requests in flight");
        die_by(signal);
    });
}

/// Ends the process the way `signal` ends one that does not handle it, so that whoever
/// sent it (a shell, systemd) sees the stop it asked for: an exit status of 1 read as a
/// failure, and `Restart=on-failure` started the daemon again after a second SIGTERM.
fn die_by(signal: i32) -> ! {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition back to the default and raising it touch no
    // memory of this process's; with the default disposition the raise ends the process.
    unsafe {
        libc::signal(signal, libc::SIG_DFL);
        libc::raise(signal);
    }
    // Not reached where the signal ends the process.
    std::process::exit(1)
}

/// The ways to ask the process to stop: SIGINT (Ctrl-C), SIGTERM, or SIGHUP. A hang-up (a
/// closed terminal or SSH session, a supervisor's reload signal) would otherwise kill the
/// daemon at once, without finishing the requests in flight; it stops gracefully like the
/// others. Listened to from creation on, so a second request is never missed.
struct StopRequests {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hangup: Option<tokio::signal::unix::Signal>,
}

impl StopRequests {
    fn new() -> StopRequests {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            // A signal that cannot be listened to is one nobody can send us.
            StopRequests {
                interrupt: signal(SignalKind::interrupt()).ok(),
                terminate: signal(SignalKind::terminate()).ok(),
                hangup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        StopRequests {}
    }

    /// The next request to stop: the number of the signal that made it.
    async fn next(&mut self) -> i32 {
        #[cfg(unix)]
        {
            async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending().await,
                }
            }
            tokio::select! {
                _ = recv(&mut self.interrupt) => libc::SIGINT,
                _ = recv(&mut self.terminate) => libc::SIGTERM,
                _ = recv(&mut self.hangup) => libc::SIGHUP,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            2
        }
    }
}
