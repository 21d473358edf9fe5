//! Reading an API call's body, which both servers do after admitting the call
//! (`admission`): DynamoDB's 16 MB bound, and a deadline. Without the deadline a client
//! that stops sending mid-body (a crashed host leaves a half-open connection behind, a
//! hostile one does it on purpose) holds its admission permit for ever, and enough of them
//! make the server refuse every other caller with ThrottlingException.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use http::StatusCode;

/// DynamoDB accepts request bodies up to 16 MB; larger ones get 413 with an empty body.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// `read` (the body collected with [`MAX_BODY_BYTES`] as its limit), or the status to
/// answer with an empty body instead: 408 when it is not all there within `deadline`,
/// 413 when it is too large (or the connection broke, where the answer reaches nobody).
pub async fn read_within<T, E>(
    deadline: Duration,
    read: impl Future<Output = Result<T, E>>,
) -> Result<T, StatusCode> {
    let mut read = pin!(read);
    // Nearly every body has arrived with its headers: one poll reads it, and no timer is
    // set up for it (that cost a GetItem ~1.5% of its instructions).
    let first = poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx))).await;
    let outcome = match first {
        Poll::Ready(outcome) => Ok(outcome),
        Poll::Pending => tokio::time::timeout(deadline, read).await,
    };
    match outcome {
        Ok(Ok(body)) => Ok(body),
        Ok(Err(_)) => Err(StatusCode::PAYLOAD_TOO_LARGE),
        Err(_) => Err(StatusCode::REQUEST_TIMEOUT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_that_stops_coming_is_refused_at_the_deadline() {
        let stalled = std::future::pending::<Result<(), ()>>();
        let answer = read_within(Duration::from_millis(20), stalled).await;
        assert_eq!(answer, Err(StatusCode::REQUEST_TIMEOUT));
    }

    #[tokio::test]
    async fn a_body_that_arrives_after_the_headers_is_waited_for() {
        let late = async {
            tokio::task::yield_now().await;
            Ok::<_, ()>("late")
        };
        assert_eq!(read_within(Duration::from_secs(5), late).await, Ok("late"));
    }

    #[tokio::test]
    async fn a_complete_body_passes_and_an_oversized_one_is_413() {
        let whole = read_within(Duration::from_secs(5), async { Ok::<_, ()>("body") }).await;
        assert_eq!(whole, Ok("body"));
        let over = read_within(Duration::from_secs(5), async {
            Err::<(), _>("length limit")
        });
        assert_eq!(over.await, Err(StatusCode::PAYLOAD_TOO_LARGE));
    }
}
