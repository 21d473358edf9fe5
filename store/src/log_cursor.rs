//! A consumer's durable position in the change log: how triggers and Kinesis destinations,
//! which deliver a table's changes elsewhere, resume where they left off after a restart.

use std::time::Duration;

use crate::app::App;
use crate::triggers::dispatch::backoff;

/// The pause before reading a checkpoint again after a failed read.
const READ_RETRY: Duration = Duration::from_secs(1);

/// The last sequence number a consumer handled, kept under meta key `key`.
pub struct LogCursor {
    key: String,
    pub position: u64,
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
    }
}
