//! The engine's bytes on disk, for `/metrics`, measured off the server threads. fjall
//! measures its journal under the journal's lock, which a journal sync holds: a scrape
//! during a slow sync would wait for the disk, and the one scrape that could show a stalled
//! disk would never come. A scrape waits a moment for a fresh measure, then answers with
//! the last one (the measure under way still updates it).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::storage::Storage;

/// How long a scrape waits for a fresh measure: far longer than one takes, far shorter
/// than a scrape's timeout.
const FRESH_WAIT: Duration = Duration::from_millis(100);

type Usage = Vec<(&'static str, u64)>;

#[derive(Default)]
pub struct EngineUsage {
    last: Arc<Mutex<Usage>>,
    /// A measure is under way: a scrape meanwhile starts none of its own.
    measuring: Arc<AtomicBool>,
}

impl EngineUsage {
    /// Bytes on disk by part: measured now, or as last measured if that takes longer
    /// than [`FRESH_WAIT`].
    pub async fn measure(&self, storage: &Arc<Storage>) -> Usage {
        if !self.measuring.swap(true, Ordering::AcqRel) {
            let (storage, last, measuring) = (
                Arc::clone(storage),
                Arc::clone(&self.last),
                Arc::clone(&self.measuring),
            );
            let measured = tokio::task::spawn_blocking(move || {
                *last.lock() = storage.disk_usage();
                measuring.store(false, Ordering::Release);
            });
            // Past the wait the measure goes on alone; the last one answers.
            let _ = tokio::time::timeout(FRESH_WAIT, measured).await;
        }
        self.last.lock().clone()
    }
}
