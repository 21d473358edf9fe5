//! `dax-loadgen`: a thin main over [`dax_proxy::loadgen`], which holds the flags, the run
//! and the report; see that module's docs for usage and the report's JSON shape.

use clap::Parser;

fn main() -> std::process::ExitCode {
    dax_proxy::loadgen::main_with_args(dax_proxy::loadgen::Cli::parse())
}
