//! The `store` binary: parse flags, open storage, serve until SIGINT/SIGTERM.

use clap::Parser;
use store::config::{Args, Config};

// glibc malloc fragments and takes its slow paths (sysmalloc, consolidation) under the
// per-request allocation churn of decoding and encoding items; mimalloc keeps them cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    shared::runtime::run_daemon(
        "store",
        "STORE_LOG",
        || Config::from_args(Args::parse()),
        store::serve,
    )
}
