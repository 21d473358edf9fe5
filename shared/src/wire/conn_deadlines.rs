//! How long a connection may hold the server without sending a request.
//!
//! A connection costs a file descriptor, a task and its buffers for as long as it is open.
//! TCP keepalive (`accept`) finds dead peers, and `body` bounds a request's body; neither
//! closes a live client that sends a request head slowly or not at all (slowloris), or an
//! idle keep-alive connection that never sends its next request. Two deadlines do, as in
//! Go's `http.Server` (`ReadHeaderTimeout`, `IdleTimeout`) and nginx
//! (`client_header_timeout`, `keepalive_timeout`):
//!
//! - the header read timeout: a new connection's first request head must arrive whole
//!   within it of the accept; a later head within it of its first byte;
//! - the idle timeout: a connection that answered its last request and has received
//!   nothing since is closed after it.
//!
//! HTTP/1 carries both on hyper's header read timer, which hyper starts each time the
//! connection waits for a request head (at the start and after every response) and stops
//! when the head is parsed. Its deadline is a [`HeadDeadline`]: hyper asks for the idle
//! deadline; the deadline moves to the header read timeout once a byte of the head arrives
//! (the connection's reader counts reads, see [`Counted`]). The common request, whose head
//! arrives in one read, never polls it again, so the per-request cost stays hyper's: one
//! boxed sleep.
//!
//! Before the protocol is known (no byte yet, or part of the HTTP/2 preface) and on
//! HTTP/2 (prior knowledge), which has no header timer, [`Activity::idle_out`] watches the
//! connection: nothing within the header read timeout of the accept, or nothing read for
//! an idle timeout afterwards, and the connection is shut down gracefully (an HTTP/2 peer
//! gets GOAWAY and its streams in flight finish).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// The two deadlines (see the module's text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A request head's deadline, from the accept (first request) or its first byte.
    pub header_read: Duration,
    /// How long a connection with no request in progress stays open.
    pub idle: Duration,
}

/// What one connection's reader and its deadlines share.
#[derive(Debug)]
pub struct Activity {
    /// Reads that brought bytes; only the connection's reader writes it.
    reads: AtomicU32,
    /// Whether hyper's HTTP/1 header timer has started (the protocol is HTTP/1).
    http1: AtomicBool,
    accepted: Instant,
    timeouts: Timeouts,
}

impl Activity {
    /// A connection accepted now.
    pub fn new(timeouts: Timeouts) -> Arc<Activity> {
        Arc::new(Activity {
            reads: AtomicU32::new(0),
            http1: AtomicBool::new(false),
            accepted: Instant::now(),
            timeouts,
        })
    }

    /// Whether the connection speaks HTTP/1 (hyper's header timer has started).
    pub fn is_http1(&self) -> bool {
        self.http1.load(Ordering::Relaxed)
    }

    fn reads(&self) -> u32 {
        self.reads.load(Ordering::Relaxed)
    }

    /// A read brought bytes. One writer (the connection's task), so a load and a store,
    /// not a locked read-modify-write.
    fn read_bytes(&self) {
        self.reads
            .store(self.reads().wrapping_add(1), Ordering::Relaxed);
    }

    /// Resolves when a connection whose protocol is not HTTP/1 has held the server without
    /// a request for too long (see the module's text); never on HTTP/1, whose deadlines
    /// hyper's timer keeps.
    pub async fn idle_out(&self) {
        tokio::time::sleep_until(self.accepted + self.timeouts.header_read).await;
        let mut seen = 0;
        loop {
            if self.is_http1() {
                return std::future::pending().await;
            }
            let reads = self.reads();
            if reads == seen {
                return;
            }
            seen = reads;
            tokio::time::sleep(self.timeouts.idle).await;
        }
    }
}

/// The connection's stream, counting the reads that bring bytes.
pub struct Counted<I> {
    io: I,
    activity: Arc<Activity>,
}

impl<I> Counted<I> {
    pub fn new(io: I, activity: Arc<Activity>) -> Self {
        Counted { io, activity }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Counted<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.read_bytes();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Counted<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// hyper's timer for one HTTP/1 connection: its only use on a server is the header read
/// timer, which it asks for with the idle timeout (see `serve`).
pub struct HeadTimer(pub Arc<Activity>);

impl hyper::rt::Timer for HeadTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(self.now() + duration)
    }

    /// tokio's clock, which hyper's deadlines are measured against (the same as the
    /// system's, unless a test paused it).
    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }

    fn sleep_until(&self, idle_deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let activity = &self.0;
        let first = !activity.http1.swap(true, Ordering::Relaxed);
        let (deadline, waiting_since) = if first {
            // The first byte came with the accept, as far as the client is concerned.
            (activity.accepted + activity.timeouts.header_read, None)
        } else {
            (Instant::from_std(idle_deadline), Some(activity.reads()))
        };
        Box::pin(HeadDeadline {
            sleep: tokio::time::sleep_until(deadline),
            waiting_since,
            activity: activity.clone(),
        })
    }
}

pin_project! {
    /// A request head's deadline: the idle deadline until the head's first byte arrives,
    /// then the header read timeout from there.
    struct HeadDeadline {
        #[pin]
        sleep: tokio::time::Sleep,
        // The read count when the wait began; `None` once the head began arriving.
        waiting_since: Option<u32>,
        activity: Arc<Activity>,
    }
}

impl std::future::Future for HeadDeadline {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        // hyper polls the deadline after each read that left the head incomplete.
        if let Some(reads) = *this.waiting_since {
            if this.activity.reads() != reads {
                *this.waiting_since = None;
                let deadline = Instant::now() + this.activity.timeouts.header_read;
                this.sleep.as_mut().reset(deadline);
            }
        }
        this.sleep.poll(cx)
    }
}

impl hyper::rt::Sleep for HeadDeadline {}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Timer;
    use std::future::Future;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(5),
        idle: Duration::from_secs(60),
    };

    fn poll_once(future: Pin<&mut (impl Future + ?Sized)>) -> bool {
        let waker = std::task::Waker::noop();
        future.poll(&mut Context::from_waker(waker)).is_ready()
    }

    async fn read_some(activity: &Arc<Activity>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut peer, ours) = tokio::io::duplex(64);
        let mut ours = Counted::new(ours, activity.clone());
        let mut buf = [0u8; 8];
        peer.write_all(b"G").await.unwrap_or_default();
        let _ = ours.read(&mut buf).await;
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_head_is_due_a_header_timeout_after_the_accept() {
        let activity = Activity::new(TIMEOUTS);
        tokio::time::advance(Duration::from_secs(2)).await;
        let timer = HeadTimer(activity);
        let mut deadline = timer.sleep_until(timer.now());
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!poll_once(deadline.as_mut()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(poll_once(deadline.as_mut()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_head_waits_the_idle_timeout_then_the_header_timeout() {
        let activity = Activity::new(TIMEOUTS);
        let timer = HeadTimer(activity.clone());
        drop(timer.sleep_until(timer.now()));
        // Hyper asks for the idle deadline (see `serve`).
        let mut deadline = timer.sleep_until(timer.now() + TIMEOUTS.idle);
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(
            !poll_once(deadline.as_mut()),
            "idle, within the idle timeout"
        );
        read_some(&activity).await;
        assert!(!poll_once(deadline.as_mut()), "the head has just begun");
        tokio::time::advance(Duration::from_secs(4)).await;
        assert!(!poll_once(deadline.as_mut()), "within the header timeout");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(poll_once(deadline.as_mut()), "past the header timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_wait_ends_at_the_idle_timeout() {
        let activity = Activity::new(TIMEOUTS);
        let timer = HeadTimer(activity.clone());
        drop(timer.sleep_until(timer.now()));
        let mut deadline = timer.sleep_until(timer.now() + TIMEOUTS.idle);
        tokio::time::advance(TIMEOUTS.idle).await;
        assert!(poll_once(deadline.as_mut()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_connection_idles_out_at_the_header_timeout() {
        let activity = Activity::new(TIMEOUTS);
        let mut idle_out = std::pin::pin!(activity.idle_out());
        tokio::time::advance(Duration::from_secs(4)).await;
        assert!(!poll_once(idle_out.as_mut()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(poll_once(idle_out.as_mut()));
    }

    #[tokio::test(start_paused = true)]
    async fn an_http2_connection_idles_out_after_an_idle_timeout_without_reads() {
        let activity = Activity::new(TIMEOUTS);
        read_some(&activity).await;
        let mut idle_out = std::pin::pin!(activity.idle_out());
        tokio::time::advance(TIMEOUTS.header_read).await;
        assert!(!poll_once(idle_out.as_mut()), "it sent something");
        tokio::time::advance(TIMEOUTS.idle / 2).await;
        read_some(&activity).await;
        tokio::time::advance(TIMEOUTS.idle / 2).await;
        assert!(
            !poll_once(idle_out.as_mut()),
            "it read within the idle timeout"
        );
        tokio::time::advance(TIMEOUTS.idle).await;
        assert!(poll_once(idle_out.as_mut()), "nothing for an idle timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn http1_connections_are_left_to_hyper() {
        let activity = Activity::new(TIMEOUTS);
        read_some(&activity).await;
        let timer = HeadTimer(activity.clone());
        drop(timer.sleep_until(timer.now()));
        let mut idle_out = std::pin::pin!(activity.idle_out());
        tokio::time::advance(TIMEOUTS.header_read + TIMEOUTS.idle * 3).await;
        assert!(!poll_once(idle_out.as_mut()));
    }
}
