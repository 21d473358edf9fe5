//! The `store` binary: parse flags, open storage, serve until SIGINT/SIGTERM.

use clap::Parser;
use store::config::{Args, Config};

// glibc malloc fragments and takes its slow paths (sysmalloc, consolidation) under the
// per-request allocation churn of decoding and encoding items; mimalloc keeps them cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("STORE_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,fjall=warn,lsm_tree=warn")
            }),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = match Config::from_args(Args::parse()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("store: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match shared::runtime::build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("store: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(store::serve(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("store: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
