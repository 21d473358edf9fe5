//! The load generator (see issue 6); a placeholder until it lands.
fn main() {
    eprintln!("dax-loadgen: not built yet");
    std::process::exit(2);
}
