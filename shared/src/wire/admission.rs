//! Load shedding: a server (the store, a dax-proxy node) works on at most `--max-in-flight`
//! API calls at once and refuses the rest at once with ThrottlingException, which every
//! AWS SDK retries with backoff. For a node it is DAX's own throttle (DYNAMODB.md §14,
//! "Errors"); for the store, DynamoDB's answer to a request rate it will not take.
//!
//! Why refuse instead of queueing: past a server's capacity, waiting requests only grow
//! each other's latency and the memory their bodies and pending work hold, until clients
//! time out on answers the server still spends work on. A refusal costs almost nothing and
//! tells the client to back off. Counting is two atomic operations per call, on the hot
//! paths too. Only API calls count: health, metrics and the cluster's internal calls are
//! never refused.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::wire::error::{ApiError, ErrorCode};

/// The message DynamoDB sends with a ThrottlingException.
pub const THROTTLED: &str = "Rate of requests exceeds the allowed throughput.";

/// How many API calls may be in progress on this server.
#[derive(Debug)]
pub struct Admission {
    /// 0: no limit.
    limit: usize,
    in_flight: AtomicUsize,
}

/// One admitted call; dropping it (the call answered, or abandoned by its client) makes
/// room for another.
#[must_use]
#[derive(Debug)]
pub struct Permit<'a>(&'a AtomicUsize);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Admission {
    /// At most `limit` calls at once; 0 admits every call.
    pub fn new(limit: usize) -> Admission {
        Admission {
            limit,
            in_flight: AtomicUsize::new(0),
        }
    }

    /// Calls in progress now (a refused call counts for the instant it is refused); read
    /// when metrics are scraped, so the hot path pays nothing for it.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Admits a call, or refuses it when `limit` are in progress.
    pub fn try_enter(&self) -> Result<Permit<'_>, ApiError> {
        let before = self.in_flight.fetch_add(1, Ordering::Relaxed);
        let permit = Permit(&self.in_flight);
        if self.limit != 0 && before >= self.limit {
            // Dropping the permit gives the slot back.
            return Err(ApiError::new(ErrorCode::ThrottlingException, THROTTLED));
        }
        Ok(permit)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn admits_up_to_the_limit_and_again_once_a_call_ends() {
        let admission = Admission::new(2);
        let first = admission.try_enter().unwrap();
        let second = admission.try_enter().unwrap();
        let refused = admission.try_enter().unwrap_err();
        assert_eq!(refused.code, ErrorCode::ThrottlingException);
        assert_eq!(refused.message.as_deref(), Some(THROTTLED));
        assert_eq!(refused.status(), 400);
        // A refusal holds no slot; an answered call frees its own.
        drop(first);
        let third = admission.try_enter().unwrap();
        assert!(admission.try_enter().is_err());
        assert_eq!(admission.in_flight(), 2);
        drop((second, third));
        assert_eq!(admission.in_flight(), 0);
    }

    #[test]
    fn zero_admits_everything() {
        let admission = Admission::new(0);
        let permits: Vec<_> = (0..10_000)
            .map(|_| admission.try_enter().unwrap())
            .collect();
        assert_eq!(permits.len(), 10_000);
    }
}
