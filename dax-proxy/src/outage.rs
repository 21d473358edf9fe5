//! Logging a failure that repeats on every retry (a store that is down, or that refuses
//! this node's secret) without flooding the log: the follower and the lease loop retry
//! several times a second. An [`Outage`] logs the first failure, then a reminder at most
//! every [`REMIND_EVERY`] with how many failures came since the last line, and one line
//! when a call succeeds again; the failures in between go to debug. A failure for another
//! reason than the last (the store came back but now refuses the secret) is news and is
//! logged, but each reason at most once per [`REMIND_EVERY`], and at most
//! [`REASONS_PER_REMINDER`] reasons in that time, so that a cause flapping between reasons
//! (or one whose text changes every time) cannot flood the log either.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// The longest a continuing outage goes without a log line.
pub const REMIND_EVERY: Duration = Duration::from_secs(60);

/// The most reasons an outage logs within one [`REMIND_EVERY`].
pub const REASONS_PER_REMINDER: usize = 4;

/// One kind of call that can fail repeatedly, and the outage it is in, if any.
pub struct Outage {
    /// What a failure means, e.g. "cannot read the store's change feed".
    failing: &'static str,
    /// What the first success after failures means, e.g. "reading the change feed again".
    recovered: &'static str,
    state: Mutex<Option<State>>,
}

/// An outage under way.
struct State {
    /// The latest failure's reason.
    why: String,
    started: Instant,
    last_logged: Instant,
    /// Failures since the outage started.
    failures: u64,
    /// Failures since the last line logged.
    unlogged: u64,
    /// The reasons logged within the last [`REMIND_EVERY`], with when (at most
    /// [`REASONS_PER_REMINDER`]).
    reasons_logged: Vec<(String, Instant)>,
}

impl State {
    /// Whether a failure for `why`, a reason other than the last one's, is to be logged
    /// now: not when `why` was logged within [`REMIND_EVERY`], nor when as many reasons
    /// as may be were. Notes it as logged if so.
    fn log_new_reason(&mut self, why: &str, now: Instant) -> bool {
        self.reasons_logged
            .retain(|(_, at)| now.saturating_duration_since(*at) < REMIND_EVERY);
        let recent = self.reasons_logged.iter().any(|(reason, _)| reason == why);
        if recent || self.reasons_logged.len() >= REASONS_PER_REMINDER {
            return false;
        }
        self.reasons_logged.push((why.to_string(), now));
        true
    }
}

/// What a failure or a success calls for in the log.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// The outage's first failure.
    Started,
    /// A failure for another reason than the last one's, after `failures` since the last
    /// line.
    Changed { failures: u64 },
    /// A reminder: `failures` since the last line, `lasting` since the start.
    Continues { failures: u64, lasting: Duration },
    /// The first success after `failures` failures over `lasted`.
    Ended { failures: u64, lasted: Duration },
    /// Nothing at info or above.
    Quiet,
}

impl Outage {
    pub fn new(failing: &'static str, recovered: &'static str) -> Outage {
        Outage {
            failing,
            recovered,
            state: Mutex::new(None),
        }
    }

    /// Notes a failed call, for `why`, and logs it if it is news or a reminder is due.
    pub fn failed(&self, why: &str) {
        let line = self.note_failure(why, Instant::now());
        let failing = self.failing;
        match line {
            Line::Started => tracing::warn!(error = %why, "{failing}; retrying"),
            Line::Changed { failures } => tracing::warn!(
                error = %why,
                failures,
                "{failing} (for another reason now); retrying"
            ),
            Line::Continues { failures, lasting } => tracing::warn!(
                error = %why,
                failures,
                for_seconds = lasting.as_secs(),
                "{failing}; still retrying"
            ),
            _ => tracing::debug!(error = %why, "{failing}; retrying"),
        }
    }

    /// Notes a successful call, and logs the end of the outage it ends, if any.
    pub fn succeeded(&self) {
        if let Line::Ended { failures, lasted } = self.note_success(Instant::now()) {
            let recovered = self.recovered;
            tracing::info!(failures, after_seconds = lasted.as_secs(), "{recovered}");
        }
    }

    /// The latest failure's reason while the outage lasts; `None` once a call succeeded.
    pub fn why(&self) -> Option<String> {
        self.state.lock().as_ref().map(|s| s.why.clone())
    }

    fn note_failure(&self, why: &str, now: Instant) -> Line {
        let mut state = self.state.lock();
        let Some(outage) = state.as_mut() else {
            *state = Some(State {
                why: why.to_string(),
                started: now,
                last_logged: now,
                failures: 1,
                unlogged: 0,
                reasons_logged: vec![(why.to_string(), now)],
            });
            return Line::Started;
        };
        outage.failures += 1;
        outage.unlogged += 1;
        if outage.why != why {
            outage.why = why.to_string();
            if outage.log_new_reason(why, now) {
                outage.last_logged = now;
                return Line::Changed {
                    failures: std::mem::take(&mut outage.unlogged),
                };
            }
        }
        if now.saturating_duration_since(outage.last_logged) < REMIND_EVERY {
            return Line::Quiet;
        }
        outage.last_logged = now;
        Line::Continues {
            failures: std::mem::take(&mut outage.unlogged),
            lasting: now.saturating_duration_since(outage.started),
        }
    }

    fn note_success(&self, now: Instant) -> Line {
        match self.state.lock().take() {
            Some(outage) => Line::Ended {
                failures: outage.failures,
                lasted: now.saturating_duration_since(outage.started),
            },
            None => Line::Quiet,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_logs_its_start_a_reminder_a_minute_and_its_end() {
        let outage = Outage::new("failing", "recovered");
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(outage.note_success(at(0)), Line::Quiet);
        assert_eq!(outage.note_failure("down", at(0)), Line::Started);
        assert_eq!(outage.why().as_deref(), Some("down"));
        // Four retries a second for a minute: quiet.
        for ms in (250..60_000).step_by(250) {
            assert_eq!(outage.note_failure("down", at(ms)), Line::Quiet);
        }
        assert_eq!(
            outage.note_failure("down", at(60_000)),
            Line::Continues {
                failures: 240,
                lasting: Duration::from_secs(60)
            }
        );
        assert_eq!(
            outage.note_failure("refused", at(60_250)),
            Line::Changed { failures: 1 }
        );
        assert_eq!(outage.why().as_deref(), Some("refused"));
        assert_eq!(
            outage.note_success(at(61_000)),
            Line::Ended {
                failures: 242,
                lasted: Duration::from_secs(61)
            }
        );
        assert_eq!(outage.why(), None);
        assert_eq!(outage.note_success(at(61_250)), Line::Quiet);
        // The next outage is news again.
        assert_eq!(outage.note_failure("down", at(70_000)), Line::Started);
    }

    /// A new reason is news within the minute, but each reason is logged at most once a
    /// minute (and only so many reasons), so a flapping cause logs a few lines, not one
    /// per retry.
    #[test]
    fn a_changed_reason_is_logged_once_per_reason_and_minute() {
        let outage = Outage::new("failing", "recovered");
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        assert_eq!(outage.note_failure("down", at(0)), Line::Started);
        assert_eq!(outage.note_failure("down", at(250)), Line::Quiet);
        assert_eq!(
            outage.note_failure("refused", at(500)),
            Line::Changed { failures: 2 }
        );
        assert_eq!(outage.why().as_deref(), Some("refused"));
        // Flapping between the two: both were logged within the minute.
        for ms in (750..30_000).step_by(250) {
            let why = if ms % 500 == 0 { "down" } else { "refused" };
            assert_eq!(outage.note_failure(why, at(ms)), Line::Quiet, "{ms}");
        }
        // A text that changes every time: a few lines, then quiet.
        let lines = (0..100)
            .filter(|n| outage.note_failure(&format!("error {n}"), at(30_000 + n)) != Line::Quiet)
            .count();
        assert_eq!(lines, REASONS_PER_REMINDER - 2);
        // A minute after a reason was logged, it is news again.
        assert!(matches!(
            outage.note_failure("down", at(60_001)),
            Line::Changed { .. }
        ));
    }
}
