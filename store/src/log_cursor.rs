//! A consumer's durable position in the change log: how triggers, Kinesis destinations and
//! replicas, which take a table's changes elsewhere, resume where they left off after a
//! restart; and the [`Follower`] that reads a table's log from it.

use std::time::{Duration, Instant};

use crate::app::App;
use crate::triggers::dispatch::backoff;

/// The pause before reading a checkpoint again after a failed read.
const READ_RETRY: Duration = Duration::from_secs(1);

/// How often the checkpoint of a consumer whose table is idle follows the log past other
/// tables' changes ([`LogCursor::pass_idle`]).
const IDLE_SAVE_EVERY: Duration = Duration::from_secs(60);

/// The last sequence number a consumer handled, kept under meta key `key`.
pub struct LogCursor {
    key: String,
    pub position: u64,
    /// When the position was last saved.
    saved: Instant,
}

impl LogCursor {
    /// Where the consumer whose checkpoint is `key` left off, or `start` if it never
    /// handled anything; a failed read is retried until it succeeds.
    pub async fn resume(app: &App, key: String, start: u64) -> LogCursor {
        loop {
            match app.storage.seq_mark(&key) {
                Ok(found) => {
                    return LogCursor {
                        position: found.unwrap_or(start),
                        key,
                        saved: Instant::now(),
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, checkpoint = %key, "cannot read a checkpoint");
                    tokio::time::sleep(READ_RETRY).await;
                }
            }
        }
    }

    /// Moves past records the log's retention trimmed before they were handled; returns
    /// the range skipped, first and last, if any.
    pub fn skip_trimmed(&mut self, app: &App) -> Option<(u64, u64)> {
        let first = crate::streams::trim_horizon(app).ok()?;
        if self.position.saturating_add(1) >= first {
            return None;
        }
        let skipped = (self.position + 1, first - 1);
        self.position = first - 1;
        Some(skipped)
    }

    /// Records `seq` as handled, durably; a failed write is retried with backoff from
    /// `retry_base` until it succeeds, so delivery never moves on unrecorded.
    pub async fn advance(&mut self, app: &App, seq: u64, retry_base: Duration) {
        self.position = seq;
        let mut attempt = 0;
        while let Err(e) = app.storage.put_seq_mark(&self.key, seq).await {
            attempt += 1;
            tracing::error!(error = %e, checkpoint = %self.key, "cannot save a checkpoint");
            tokio::time::sleep(backoff(retry_base, attempt)).await;
        }
        self.saved = Instant::now();
    }

    /// Moves to `through`, a sequence number up to which the log holds nothing for this
    /// consumer (the log's last one, read before a read that found nothing): the changes
    /// passed are other tables', which the log's retention may trim without this consumer
    /// having missed any, so [`LogCursor::skip_trimmed`] must not count them. Saved at
    /// most every [`IDLE_SAVE_EVERY`], and once, without retries (nothing is lost if it
    /// fails): after a restart only a stop longer than the retention could show them.
    pub async fn pass_idle(&mut self, app: &App, through: u64) {
        if through <= self.position {
            return;
        }
        self.position = through;
        if self.saved.elapsed() < IDLE_SAVE_EVERY {
            return;
        }
        self.saved = Instant::now();
        if let Err(e) = app.storage.put_seq_mark(&self.key, through).await {
            tracing::warn!(error = %e, checkpoint = %self.key, "cannot save an idle checkpoint");
        }
    }
}

/// The pause after a failed read of the log before reading again.
const LOG_READ_RETRY: Duration = Duration::from_secs(1);
/// The longest wait for new changes before looking again (a trim may have passed).
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// What a [`Follower`] of a table's change log gets next.
pub enum Next<T> {
    /// Records the log's retention trimmed before the follower handled them, first and
    /// last; the cursor has moved past them.
    Trimmed(u64, u64),
    /// The next records, oldest first; the last of them is at sequence number `last`.
    Changes { last: u64, records: Vec<T> },
}

/// Follows one table's change log from a [`LogCursor`], for the consumers that send every
/// change elsewhere (Kinesis destinations, replicas of a global table): it reads the
/// next batch after the cursor, waits while there is none, retries failed reads, and
/// keeps the consumer's lag gauge.
pub struct Follower {
    cursor: LogCursor,
    watch: tokio::sync::watch::Receiver<u64>,
    /// Seconds between now and the oldest change not yet handled.
    lag: ::metrics::Gauge,
    /// The commit time (ms) of the oldest record the last [`Follower::next`] gave.
    oldest_given_ms: u64,
}

impl Follower {
    /// Resumes from the checkpoint under `key` (at `start` if there is none).
    pub async fn resume(app: &App, key: String, start: u64, lag: ::metrics::Gauge) -> Follower {
        Follower {
            watch: app.storage.watch_seq(),
            cursor: LogCursor::resume(app, key, start).await,
            lag,
            oldest_given_ms: 0,
        }
    }

    /// The next records after the cursor, as `read(after)` reads them (oldest first, at
    /// most a batch), waiting for some if there are none; `stamp` gives a record's
    /// commit time in ms, for the lag. `what` names the consumer in logs.
    pub async fn next<T>(
        &mut self,
        app: &App,
        what: &str,
        read: impl Fn(u64) -> Result<Vec<T>, crate::storage::StorageError>,
        seq: impl Fn(&T) -> u64,
        stamp: impl Fn(&T) -> u64,
    ) -> Next<T> {
        loop {
            if let Some((first, last)) = self.cursor.skip_trimmed(app) {
                return Next::Trimmed(first, last);
            }
            // Read first: every change of the table up to it is visible to the read below.
            let through = *self.watch.borrow_and_update();
            let records = match read(self.cursor.position) {
                Ok(records) => records,
                Err(e) => {
                    tracing::error!(error = %e, consumer = what, "cannot read the change log");
                    tokio::time::sleep(LOG_READ_RETRY).await;
                    continue;
                }
            };
            let Some(last) = records.last().map(&seq) else {
                self.cursor.pass_idle(app, through).await;
                self.lag.set(0.0);
                let _ = tokio::time::timeout(IDLE_WAIT, self.watch.changed()).await;
                continue;
            };
            self.oldest_given_ms = records.first().map_or(0, &stamp);
            self.still_sending();
            return Next::Changes { last, records };
        }
    }

    /// Keeps the lag gauge true while the consumer is still sending the records
    /// [`Follower::next`] gave (retrying them, with backoff, at an endpoint or region out
    /// of reach): it grows with their age rather than staying at what it was when they
    /// were read.
    pub fn still_sending(&self) {
        let age_ms = shared::clock::now_ms().saturating_sub(self.oldest_given_ms);
        self.lag.set(age_ms as f64 / 1000.0);
    }

    /// Records everything up to `last` as handled, durably (see [`LogCursor::advance`]).
    pub async fn handled(&mut self, app: &App, last: u64, retry_base: Duration) {
        self.cursor.advance(app, last, retry_base).await;
    }
}
