//! The servers' HTTP front door: accepts connections and serves each on hyper, HTTP/1.1
//! and HTTP/2 with prior knowledge, until shut down.
//!
//! What it adds to a bare hyper connection loop:
//! - every accepted stream is prepared (`accept::prepare`: TCP keepalive);
//! - at most `fd_limit::connection_cap` connections are held at once, so that clients can
//!   never take the descriptors the engine and outgoing calls need: at the cap, no
//!   connection is accepted (new ones wait in the listen backlog, a warning says so at
//!   most every [`HELD_BACK_LOG_EVERY`]) until one closes;
//! - each connection closes when it holds the server without a request
//!   (`conn_deadlines`: the header read and idle timeouts, kept by a watchdog per
//!   connection);
//! - an accept error does not end the server: a connection that died in the backlog is
//!   skipped, anything else (EMFILE, ENFILE, ENOMEM: out of descriptors or memory) is
//!   logged and retried after a second, when closing connections may have freed some;
//! - graceful shutdown: once `shutdown` resolves, no connection is accepted, idle ones
//!   close at once, and [`serve`] returns when every request in flight has been answered.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::accept;
use super::conn_deadlines::{Activity, Counted, Timeouts, Watched};
use super::fd_limit;

use hyper::body::Incoming;

/// A service hyper can run on a connection of its own task: requests with bodies `R`,
/// answers with bodies `B`, never failing (errors are answers).
pub trait ConnectionService<R, B>:
    tower::Service<Request<R>, Response = Response<B>, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + 'static
{
}

impl<R, B, S> ConnectionService<R, B> for S where
    S: tower::Service<
            Request<R>,
            Response = Response<B>,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// An answer's body hyper can write from another task.
pub trait ResponseBody:
    hyper::body::Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
    + Send
    + 'static
{
}

impl<B> ResponseBody for B where
    B: hyper::body::Body<Data: Send, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static
{
}

/// How long the accept loop pauses after an error that is not the peer's (see the
/// module's text).
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// The shortest time between two warnings that connections are held back: a server at its
/// cap reaches it again at every close, which would flood the log.
const HELD_BACK_LOG_EVERY: Duration = Duration::from_secs(10);

/// Serves `listener` until `shutdown` resolves and the requests in flight are answered.
/// `per_connection` makes each connection's service from its peer's address; `body`
/// turns the body hyper reads into the one the services take (axum's `Body::new`).
pub async fn serve<M, S, R, B>(
    listener: TcpListener,
    timeouts: Timeouts,
    body: fn(Incoming) -> R,
    mut per_connection: M,
    shutdown: impl Future<Output = ()>,
) where
    M: FnMut(SocketAddr) -> S,
    R: 'static,
    S: ConnectionService<R, B>,
    B: ResponseBody,
{
    // `true` tells connections to stop; each holds a receiver, so the sender also learns
    // when the last connection has closed.
    let (stop, stopping) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut slots = ConnectionSlots::under_the_fd_limit();
    loop {
        let slot = tokio::select! {
            slot = slots.next() => slot,
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((mut stream, peer)) => {
                accept::prepare(&mut stream);
                let service = tower::ServiceExt::map_request(
                    per_connection(peer),
                    move |request: Request<Incoming>| request.map(body),
                );
                tokio::spawn(serve_connection(
                    stream,
                    service,
                    timeouts,
                    stopping.clone(),
                    slot,
                ));
            }
            Err(e) if is_the_peers(&e) => {}
            Err(e) => {
                tracing::error!(error = %e, "accept failed; retrying in a second");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                    () = &mut shutdown => break,
                }
            }
        }
    }
    drop(listener);
    drop(stopping);
    stop.send_replace(true);
    stop.closed().await;
}

/// The places for connections a server holds at once: a connection takes one when it is
/// accepted and gives it back when it closes.
struct ConnectionSlots {
    free: Arc<Semaphore>,
    cap: usize,
    /// When the last warning that connections wait was logged.
    warned: Option<Instant>,
}

impl ConnectionSlots {
    /// `fd_limit::connection_cap` places (as many as a semaphore holds if the limit is
    /// unknown or beyond that).
    fn under_the_fd_limit() -> ConnectionSlots {
        let cap = fd_limit::current()
            .map(fd_limit::connection_cap)
            .and_then(|cap| usize::try_from(cap).ok())
            .unwrap_or(Semaphore::MAX_PERMITS);
        tracing::info!(connections = cap, "most connections held at once");
        ConnectionSlots::new(cap)
    }

    fn new(cap: usize) -> ConnectionSlots {
        let cap = cap.min(Semaphore::MAX_PERMITS);
        ConnectionSlots {
            free: Arc::new(Semaphore::new(cap)),
            cap,
            warned: None,
        }
    }

    /// A free place, once a connection gives one back if none is free now.
    async fn next(&mut self) -> OwnedSemaphorePermit {
        if let Ok(slot) = Arc::clone(&self.free).try_acquire_owned() {
            return slot;
        }
        if self
            .warned
            .is_none_or(|at| at.elapsed() >= HELD_BACK_LOG_EVERY)
        {
            self.warned = Some(Instant::now());
            tracing::warn!(
                connections = self.cap,
                "at the connection cap (the open file limit less a reserve for files and \
                 outgoing calls): new connections wait until one closes"
            );
        }
        match Arc::clone(&self.free).acquire_owned().await {
            Ok(slot) => slot,
            // The semaphore is never closed.
            Err(_) => std::future::pending().await,
        }
    }
}

/// An accept error about one connection (gone before it was accepted), not the server.
fn is_the_peers(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionRefused
    )
}

/// How long a stopping connection with nothing in flight is given to let go: a head
/// arriving may still come whole and be answered, and an HTTP/2 peer must first answer the
/// shutdown's PING. Short, and never longer than the header read timeout: a client that
/// sent half a head (slow, broken or hostile) held a stop for the whole timeout (30 s by
/// default, Kubernetes' whole grace period), and a connection dropped before its head is
/// whole loses no request (nothing of it was done).
const STOP_GRACE: Duration = Duration::from_secs(1);

/// Serves one connection until it closes, which gives its `_slot` back: by the peer, at a
/// deadline (dropped at once: no request is in flight and no answer is being sent), or
/// when `stopping` turns true and its requests in flight are answered. A stopping
/// connection is given [`STOP_GRACE`] to let go and is then dropped, which closes the
/// socket, unless a request is still in flight or its answer still being sent.
async fn serve_connection<S, B>(
    stream: TcpStream,
    service: S,
    timeouts: Timeouts,
    mut stopping: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) where
    S: ConnectionService<Incoming, B>,
    B: ResponseBody,
{
    let activity = Activity::new(timeouts);
    // No hyper timer: the watchdog (`activity.overdue()`) keeps the deadlines.
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // A client may shut its side down once its request is sent (RFC 9112 §9.6) and still
    // wait for the answer; by default hyper takes that end of file for the client gone
    // and drops the call mid-way. The deadlines are not loosened: end of file before a
    // request or between two still closes the connection at once.
    builder.http1().half_close(true);
    let io = TokioIo::new(Counted::new(stream, activity.clone()));
    let service = Watched::new(service, activity.clone());
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let mut overdue = std::pin::pin!(activity.overdue());
    let mut grace: Option<Pin<Box<tokio::time::Sleep>>> = None;
    let stop_grace = STOP_GRACE.min(timeouts.header_read);
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            // Nothing in flight, nothing being sent (closing drops nobody's answer, and
            // hyper would not end a connection still reading its first head gracefully),
            // or a peer that took none of its answer for the header timeout.
            () = &mut overdue, if grace.is_none() => return,
            _ = stopping.wait_for(|stop| *stop), if grace.is_none() => {
                connection.as_mut().graceful_shutdown();
                grace = Some(Box::pin(tokio::time::sleep(stop_grace)));
            }
            () = async {
                match grace.as_mut() {
                    Some(grace) => grace.await,
                    None => std::future::pending().await,
                }
            } => {
                if !activity.in_flight() {
                    return;
                }
                grace = Some(Box::pin(tokio::time::sleep(stop_grace)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::Instant;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(100),
    };

    type Answer = http_body_util::Full<bytes::Bytes>;

    /// A loopback connection served by [`serve_connection`] with [`TIMEOUTS`] (every
    /// request answered `ok`): the client's end, the server's task, and the switch that
    /// stops it. Under a paused clock, time jumps from one deadline to the next once
    /// nothing is runnable, so a test reads when the server acted, exactly.
    async fn served() -> (TcpStream, tokio::task::JoinHandle<()>, watch::Sender<bool>) {
        served_answering(bytes::Bytes::from_static(b"ok")).await
    }

    /// [`served`] answering every request with `answer`.
    async fn served_answering(
        answer: bytes::Bytes,
    ) -> (TcpStream, tokio::task::JoinHandle<()>, watch::Sender<bool>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("address"));
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (server, _) = accepted.expect("accept");
        let service = tower::service_fn(move |_: Request<Incoming>| {
            let answer = answer.clone();
            async move {
                // As a real call does (it reads its body, waits for storage): the connection
                // is polled while the answer is not ready yet.
                tokio::task::yield_now().await;
                Ok::<_, Infallible>(Response::new(Answer::new(answer)))
            }
        });
        let (stop, stopping) = watch::channel(false);
        let slot = Arc::new(Semaphore::new(1))
            .try_acquire_owned()
            .expect("a free slot");
        let task = tokio::spawn(serve_connection(server, service, TIMEOUTS, stopping, slot));
        (client.expect("connect"), task, stop)
    }

    /// How long after `since` the server's task ended.
    async fn ended_after(task: tokio::task::JoinHandle<()>, since: Instant) -> Duration {
        task.await.expect("the connection's task");
        since.elapsed()
    }

    #[tokio::test]
    async fn at_the_cap_a_slot_frees_only_when_a_connection_gives_its_back() {
        let mut slots = ConnectionSlots::new(2);
        let first = slots.next().await;
        let _second = slots.next().await;
        let mut third = std::pin::pin!(slots.next());
        assert!(ready_now(&mut third).is_none());
        drop(first);
        assert!(ready_now(&mut third).is_some());
    }

    /// Polls `future` once: its output if it is ready.
    fn ready_now<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
        let mut context = std::task::Context::from_waker(std::task::Waker::noop());
        match Pin::new(future).poll(&mut context) {
            std::task::Poll::Ready(output) => Some(output),
            std::task::Poll::Pending => None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_first_head_stopping_midway_is_closed_at_the_header_timeout() {
        let accepted = Instant::now();
        let (mut client, task, _stop) = served().await;
        client
            .write_all(b"GET /health HTTP/1.1\r\nhost: t\r\n")
            .await
            .expect("write");
        // hyper does not end a connection reading its first head gracefully: a graceful
        // close would wait out a second timeout.
        assert_eq!(ended_after(task, accepted).await, TIMEOUTS.header_read);
    }

    #[tokio::test(start_paused = true)]
    async fn an_answered_connection_is_closed_at_the_idle_timeout() {
        let (mut client, task, _stop) = served().await;
        client
            .write_all(b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .expect("write");
        let mut answer = [0u8; 256];
        let read = client.read(&mut answer).await.expect("read");
        assert!(answer[..read].starts_with(b"HTTP/1.1 200"));
        let answered = Instant::now();
        assert_eq!(ended_after(task, answered).await, TIMEOUTS.idle);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_shuts_its_side_after_a_request_is_answered() {
        let (mut client, task, _stop) = served().await;
        client
            .write_all(b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .expect("write");
        client.shutdown().await.expect("shutdown");
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.expect("read");
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
        // Nothing more can come: the connection closes with its answer, not at a timeout.
        let answered = Instant::now();
        assert_eq!(ended_after(task, answered).await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_client_that_shuts_its_side_mid_head_is_let_go_at_once() {
        let accepted = Instant::now();
        let (mut client, task, _stop) = served().await;
        client.write_all(b"GET /he").await.expect("write");
        client.shutdown().await.expect("shutdown");
        assert_eq!(ended_after(task, accepted).await, Duration::ZERO);
    }

    /// A client that takes none of its answer (far more than the sockets' buffers hold) is
    /// let go a header timeout after its peer stopped taking bytes; the answer, held in
    /// memory meanwhile, was kept until the idle timeout.
    #[tokio::test(start_paused = true)]
    async fn a_client_that_takes_none_of_its_answer_is_let_go_at_the_header_timeout() {
        let (mut client, task, _stop) =
            served_answering(bytes::Bytes::from(vec![b'x'; 64 << 20])).await;
        client
            .write_all(b"GET /health HTTP/1.1\r\nhost: t\r\n\r\n")
            .await
            .expect("write");
        let asked = Instant::now();
        assert_eq!(ended_after(task, asked).await, TIMEOUTS.header_read);
    }

    #[tokio::test(start_paused = true)]
    async fn stopping_lets_half_a_head_go_after_the_stop_grace() {
        let (mut client, task, stop) = served().await;
        client.write_all(b"GET /he").await.expect("write");
        tokio::time::advance(Duration::from_secs(1)).await;
        let stopped = Instant::now();
        stop.send_replace(true);
        assert_eq!(ended_after(task, stopped).await, STOP_GRACE);
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_completed_within_the_stop_grace_is_answered() {
        let (mut client, task, stop) = served().await;
        client
            .write_all(b"GET /health HTTP/1.1\r\n")
            .await
            .expect("write");
        tokio::time::advance(Duration::from_millis(10)).await;
        stop.send_replace(true);
        tokio::time::advance(Duration::from_millis(10)).await;
        client.write_all(b"host: t\r\n\r\n").await.expect("write");
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.expect("read");
        assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
        task.await.expect("the connection's task");
    }
}
