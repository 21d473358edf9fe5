//! What both servers set on every connection they accept.
//!
//! TCP keepalive. A client whose host crashed, or lost its network, leaves a half-open
//! connection behind; a server waiting for the next request on an idle keep-alive
//! connection never writes to it, so nothing tells it the peer is gone, and the
//! connection keeps a file descriptor and a task until the process runs out of
//! descriptors and stops accepting. Probes after [`KEEPALIVE_IDLE`] of silence let the
//! kernel find the dead peer and reset the connection, which ends its task. A live idle
//! client just answers the probes (its kernel does, not the application).

use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};
use tokio::net::TcpStream;

/// Silence after which the kernel starts probing the peer.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);

/// Pause between unanswered probes (the kernel gives up after its own count of them,
/// nine on Linux: a dead peer is found within about two and a half minutes).
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Prepares an accepted connection (see the module's text).
pub fn prepare(stream: &mut TcpStream) {
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    // A socket that refuses the option still serves; it only loses the probes.
    let _ = SockRef::from(&*stream).set_tcp_keepalive(&keepalive);
}
