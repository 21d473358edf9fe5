//! The wall clock, in the units DynamoDB speaks: epoch milliseconds (change-log times,
//! leases, stream iterators), whole seconds (signatures, TTL attributes) and fractional
//! seconds (table and backup timestamps, millisecond precision). A clock before 1970 reads
//! as 0 rather than failing a request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// Current time in epoch milliseconds.
pub fn now_ms() -> u64 {
    millis(since_epoch())
}

/// A duration in whole milliseconds, saturating (the unit of the change log's times).
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Current time in whole epoch seconds.
pub fn now_secs() -> u64 {
    since_epoch().as_secs()
}

/// Current time in epoch seconds, to the millisecond (DynamoDB's resolution).
pub fn now_seconds() -> f64 {
    now_ms() as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_units_agree() {
        let (ms, secs, seconds) = (now_ms(), now_secs(), now_seconds());
        // Read in that order, a second boundary may fall between them, never more.
        assert!(secs >= ms / 1000 && secs <= ms / 1000 + 1);
        assert!(seconds * 1000.0 >= ms as f64);
        assert!(ms > 1_700_000_000_000, "a 2023-or-later clock reads {ms}");
    }
}
