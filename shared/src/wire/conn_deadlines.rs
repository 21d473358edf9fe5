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
//!   nothing since is closed after it;
//! - the send stall: a connection whose peer takes none of the bytes written to it for the
//!   header read timeout is closed (as nginx's `send_timeout`): an answer it never reads
//!   (a 16 MB BatchGetItem page) otherwise stays in memory until the idle timeout, and
//!   enough such clients could take the process's memory.
//!
//! Both are kept by one watchdog per connection ([`Activity::overdue`]) rather than by a
//! timer per request (hyper's HTTP/1 header timer boxes a deadline and registers a tokio
//! timer entry each time a connection waits for a head: ~4% of a GetItem). The request path
//! only records what happens: the connection's reader notes when a head's first byte
//! arrives ([`Counted`]), the service when a head has been parsed and when its answer has
//! been sent ([`Activity::request_began`], [`Answered`], [`Sending`]). The watchdog sleeps until the
//! earliest moment a deadline could be due and, when it wakes, looks again at what
//! happened meanwhile: a busy connection wakes it at most once per timeout.
//!
//! HTTP/2 (prior knowledge) keeps the same rules until its first request, whose head tells
//! the connection is HTTP/2. From then on bytes arriving between requests do not begin a
//! head: a pooled HTTP/2 connection carries frames of no stream (a client's keepalive
//! PINGs, WINDOW_UPDATEs, SETTINGS acknowledgements) and closes at the idle timeout, not
//! the header one, as Go's server keeps only `IdleTimeout` for HTTP/2. Frames can never
//! keep a connection open: they do not restart its idle time.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
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

/// What one connection's reader, its service and its watchdog share.
#[derive(Debug)]
pub struct Activity {
    /// Requests whose head has been parsed (the service was called). Only the
    /// connection's task writes it.
    heads: AtomicU32,
    /// Requests whose answer has been sent (or abandoned). HTTP/2 answers on tasks
    /// of their own, so several may write it.
    answered: AtomicU32,
    /// Whether bytes of the next head have arrived since the connection was last left
    /// without a request in flight: its header read deadline runs. True at the accept,
    /// from which the first head is due.
    head_begun: AtomicBool,
    /// When the head now arriving began, in nanoseconds after the accept.
    head_since: AtomicU64,
    /// When the last answer was sent, in nanoseconds after the accept.
    idle_since: AtomicU64,
    /// Whether a request came as HTTP/2: then bytes between requests begin no head (see
    /// the module's text).
    multiplexed: AtomicBool,
    /// Whether the last write found the peer taking nothing (the socket's buffer full),
    /// and since when, in nanoseconds after the accept.
    write_stalled: AtomicBool,
    stalled_since: AtomicU64,
    accepted: Instant,
    timeouts: Timeouts,
}

impl Activity {
    /// A connection accepted now.
    pub fn new(timeouts: Timeouts) -> Arc<Activity> {
        Arc::new(Activity {
            heads: AtomicU32::new(0),
            answered: AtomicU32::new(0),
            head_begun: AtomicBool::new(true),
            head_since: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            multiplexed: AtomicBool::new(false),
            write_stalled: AtomicBool::new(false),
            stalled_since: AtomicU64::new(0),
            accepted: Instant::now(),
            timeouts,
        })
    }

    /// Whether a request has been received and not yet answered.
    pub fn in_flight(&self) -> bool {
        self.heads.load(Ordering::Acquire) != self.answered.load(Ordering::Acquire)
    }

    fn nanos_since_accept(&self) -> u64 {
        // u64 nanoseconds outlast any connection (584 years).
        self.accepted.elapsed().as_nanos() as u64
    }

    fn at(&self, nanos: &AtomicU64) -> Instant {
        self.accepted + Duration::from_nanos(nanos.load(Ordering::Relaxed))
    }

    /// The reader brought bytes: with no request in flight they begin a head, whose
    /// deadline runs from now. Bytes read while a request is in flight are its body, or a
    /// pipelined head that hyper parses as soon as the answer is written. On an HTTP/2
    /// connection they may be frames of no stream, and begin nothing.
    fn bytes_arrived(&self) {
        if self.multiplexed.load(Ordering::Relaxed) {
            return;
        }
        if !self.head_begun.load(Ordering::Relaxed) && !self.in_flight() {
            self.head_since
                .store(self.nanos_since_accept(), Ordering::Relaxed);
            self.head_begun.store(true, Ordering::Release);
        }
    }

    /// A head of protocol `version` has been parsed and its request goes to the service;
    /// the guard marks the answer sent when dropped (it travels with the answer's body,
    /// [`Sending`]).
    pub fn request_began(self: &Arc<Self>, version: http::Version) -> Answered {
        if version == http::Version::HTTP_2 {
            self.multiplexed.store(true, Ordering::Relaxed);
        }
        self.head_begun.store(false, Ordering::Relaxed);
        let heads = self.heads.load(Ordering::Relaxed);
        self.heads.store(heads.wrapping_add(1), Ordering::Release);
        Answered(self.clone())
    }

    /// A write found the peer taking nothing (`stalled`), or took bytes again.
    fn write_polled(&self, stalled: bool) {
        if stalled != self.write_stalled.load(Ordering::Relaxed) {
            if stalled {
                self.stalled_since
                    .store(self.nanos_since_accept(), Ordering::Relaxed);
            }
            self.write_stalled.store(stalled, Ordering::Release);
        }
    }

    /// When the connection is due to close if nothing else happens: the send stall's
    /// deadline while the peer takes nothing, else none while a request is in flight (its
    /// body and its handling are bounded elsewhere), else the head's or the idle one.
    fn deadline(&self) -> Option<Instant> {
        let stall = self
            .write_stalled
            .load(Ordering::Acquire)
            .then(|| self.at(&self.stalled_since) + self.timeouts.header_read);
        let waiting = if self.in_flight() {
            None
        } else if self.head_begun.load(Ordering::Acquire) {
            Some(self.at(&self.head_since) + self.timeouts.header_read)
        } else {
            Some(self.at(&self.idle_since) + self.timeouts.idle)
        };
        match (stall, waiting) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Resolves once the connection holds the server past a deadline (see the module's
    /// text); then no request is in flight, or its peer takes none of what is written.
    pub async fn overdue(&self) {
        // Whatever happens next (a head begins, a request is answered), its deadline is at
        // least the shorter timeout away: looking again then misses nothing.
        let shortest = self.timeouts.header_read.min(self.timeouts.idle);
        loop {
            let now = Instant::now();
            let wake = match self.deadline() {
                Some(deadline) if deadline <= now => return,
                Some(deadline) => deadline.min(now + shortest),
                None => now + shortest,
            };
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// Held by a request's answer until it is sent: dropping it marks the answer sent
/// and starts the connection's idle time.
pub struct Answered(Arc<Activity>);

impl Drop for Answered {
    fn drop(&mut self) {
        let activity = &self.0;
        activity
            .idle_since
            .store(activity.nanos_since_accept(), Ordering::Relaxed);
        activity.answered.fetch_add(1, Ordering::Release);
    }
}

/// A connection's service as hyper calls it: each request goes to a clone of the tower
/// service (as hyper-util's `TowerToHyperService` does), and the connection's [`Activity`]
/// learns when it began and when its answer has been sent. One adapter rather than a wrapper
/// around hyper-util's: wrapping the answer's future (several KB for the store's
/// handlers) would move it once more per request.
#[derive(Clone)]
pub struct Watched<S> {
    service: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    pub fn new(service: S, activity: Arc<Activity>) -> Self {
        Watched { service, activity }
    }
}

impl<S, T, B> hyper::service::Service<http::Request<T>> for Watched<S>
where
    S: tower::Service<http::Request<T>, Response = http::Response<B>> + Clone,
{
    type Response = http::Response<Sending<B>>;
    type Error = S::Error;
    type Future = Answering<S, http::Request<T>, B>;

    fn call(&self, request: http::Request<T>) -> Self::Future {
        let answered = self.activity.request_began(request.version());
        Answering {
            state: Answer::Waiting {
                service: self.service.clone(),
                request: Some(request),
            },
            answered: Some(answered),
            body: std::marker::PhantomData,
        }
    }
}

pin_project! {
    /// A request's answer: the service is called once ready, in place, and the
    /// [`Answered`] goes with the answer's body ([`Sending`]).
    pub struct Answering<S, R, B>
    where
        S: tower::Service<R, Response = http::Response<B>>,
    {
        #[pin]
        state: Answer<S, R, S::Future>,
        answered: Option<Answered>,
        body: std::marker::PhantomData<fn() -> B>,
    }
}

pin_project! {
    #[project = AnswerProj]
    enum Answer<S, R, F> {
        Waiting { service: S, request: Option<R> },
        Called { #[pin] answer: F },
    }
}

impl<S, R, B> std::future::Future for Answering<S, R, B>
where
    S: tower::Service<R, Response = http::Response<B>>,
{
    type Output = Result<http::Response<Sending<B>>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                AnswerProj::Waiting { service, request } => {
                    std::task::ready!(service.poll_ready(cx))?;
                    // Taken only here, and the state leaves `Waiting` at once.
                    let Some(request) = request.take() else {
                        unreachable!("an answer's request is taken once");
                    };
                    let answer = service.call(request);
                    this.state.set(Answer::Called { answer });
                }
                AnswerProj::Called { answer } => {
                    let answered = std::task::ready!(answer.poll(cx))?;
                    let guard = this.answered.take();
                    return Poll::Ready(Ok(answered.map(|body| Sending {
                        body,
                        answered: guard,
                    })));
                }
            }
        }
    }
}

pin_project! {
    /// An answer's body: the request stays in flight until it has been sent whole (or
    /// dropped), so that no deadline closes a connection still writing its answer.
    pub struct Sending<B> {
        #[pin]
        body: B,
        answered: Option<Answered>,
    }
}

impl<B: hyper::body::Body> hyper::body::Body for Sending<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let polled = this.body.poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.answered.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// The connection's stream, telling its [`Activity`] when bytes arrive.
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
            self.activity.bytes_arrived();
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
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.activity.write_polled(polled.is_pending());
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.activity.write_polled(polled.is_pending());
        polled
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

#[cfg(test)]
mod tests {
    use super::*;
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

    /// One HTTP/1.1 request received and answered now.
    fn one_request(activity: &Arc<Activity>) {
        drop(activity.request_began(http::Version::HTTP_11));
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_head_is_due_a_header_timeout_after_the_accept() {
        let activity = Activity::new(TIMEOUTS);
        let mut overdue = std::pin::pin!(activity.overdue());
        tokio::time::advance(Duration::from_secs(2)).await;
        read_some(&activity).await;
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(!poll_once(overdue.as_mut()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(poll_once(overdue.as_mut()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_later_head_waits_the_idle_timeout_then_the_header_timeout() {
        let activity = Activity::new(TIMEOUTS);
        one_request(&activity);
        let mut overdue = std::pin::pin!(activity.overdue());
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(
            !poll_once(overdue.as_mut()),
            "idle, within the idle timeout"
        );
        read_some(&activity).await;
        read_some(&activity).await;
        tokio::time::advance(Duration::from_secs(4)).await;
        read_some(&activity).await;
        assert!(!poll_once(overdue.as_mut()), "within the header timeout");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(poll_once(overdue.as_mut()), "past the header timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn http2_frames_between_requests_wait_the_idle_timeout() {
        let activity = Activity::new(TIMEOUTS);
        let mut overdue = std::pin::pin!(activity.overdue());
        drop(activity.request_began(http::Version::HTTP_2));
        for _ in 0..10 {
            read_some(&activity).await;
            tokio::time::advance(TIMEOUTS.header_read).await;
            assert!(!poll_once(overdue.as_mut()), "a PING begins no head");
        }
        tokio::time::advance(TIMEOUTS.idle - 10 * TIMEOUTS.header_read).await;
        assert!(
            poll_once(overdue.as_mut()),
            "frames do not restart the idle time"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_due_at_the_idle_timeout() {
        let activity = Activity::new(TIMEOUTS);
        one_request(&activity);
        let mut overdue = std::pin::pin!(activity.overdue());
        tokio::time::advance(TIMEOUTS.idle - Duration::from_secs(1)).await;
        assert!(!poll_once(overdue.as_mut()));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(poll_once(overdue.as_mut()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_shorter_than_the_one_awaited_is_kept() {
        let activity = Activity::new(Timeouts {
            header_read: Duration::from_secs(600),
            idle: Duration::from_secs(1),
        });
        let mut overdue = std::pin::pin!(activity.overdue());
        assert!(
            !poll_once(overdue.as_mut()),
            "the first head is due in 600 s"
        );
        one_request(&activity);
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(poll_once(overdue.as_mut()), "idle for the idle timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn each_answer_starts_the_idle_time_again() {
        let activity = Activity::new(TIMEOUTS);
        let mut overdue = std::pin::pin!(activity.overdue());
        for _ in 0..5 {
            read_some(&activity).await;
            one_request(&activity);
            tokio::time::advance(TIMEOUTS.idle / 2).await;
            assert!(!poll_once(overdue.as_mut()));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_is_never_due_and_its_body_begins_no_head() {
        let activity = Activity::new(TIMEOUTS);
        let mut overdue = std::pin::pin!(activity.overdue());
        let answered = activity.request_began(http::Version::HTTP_11);
        for _ in 0..10 {
            read_some(&activity).await;
            tokio::time::advance(TIMEOUTS.idle).await;
            assert!(!poll_once(overdue.as_mut()));
        }
        drop(answered);
        tokio::time::advance(TIMEOUTS.idle - Duration::from_secs(1)).await;
        assert!(!poll_once(overdue.as_mut()), "idle only since the answer");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(poll_once(overdue.as_mut()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_is_in_flight_until_its_answer_is_sent() {
        use http_body_util::BodyExt;
        use hyper::service::Service;
        let activity = Activity::new(TIMEOUTS);
        let (tell, told) = tokio::sync::watch::channel(false);
        let service = Watched::new(
            tower::service_fn(move |_: http::Request<()>| {
                let mut told = told.clone();
                async move {
                    let _ = told.wait_for(|ready| *ready).await;
                    let body = http_body_util::Full::new(bytes::Bytes::from_static(b"{}"));
                    Ok::<_, std::convert::Infallible>(http::Response::new(body))
                }
            }),
            activity.clone(),
        );
        let mut answering = std::pin::pin!(service.call(http::Request::new(())));
        assert!(activity.in_flight(), "from the call");
        assert!(!poll_once(answering.as_mut()));
        assert!(activity.in_flight(), "while the answer is prepared");
        tell.send_replace(true);
        let Poll::Ready(Ok(response)) = answering
            .as_mut()
            .poll(&mut Context::from_waker(std::task::Waker::noop()))
        else {
            panic!("the answer is ready");
        };
        assert!(activity.in_flight(), "while its body is unsent");
        let sent = response.into_body().collect().await;
        assert!(sent.is_ok());
        assert!(!activity.in_flight(), "once its body is sent");
    }
}
