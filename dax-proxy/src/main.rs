//! The dax-proxy daemon (see issue 4); a placeholder until the proxy lands.
fn main() {
    eprintln!("dax-proxy: not built yet");
    std::process::exit(2);
}
