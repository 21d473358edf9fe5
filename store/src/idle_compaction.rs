//! Idle compaction: once writes stop, the items keyspace is merged into one sorted run if
//! the writes since the last compaction left it holding many versions per item.
//!
//! Why: a range read (Query, Scan) merges the memtable and every table overlapping its
//! range, and steps over every version of each key it returns. fjall flushes and compacts
//! only as writes fill memtables and level 0, so after a burst of overwrites the tree stays
//! in whatever shape that cycle stopped in until later writes move it on, and a 10-item
//! Query costs several times what it costs on a compacted tree (the engine alone: 43-50 us
//! against 6-8 us, `examples/range_reads_after_overwrites.rs`; flushing the memtable alone
//! does not help, the level-0 tables carry the cost).
//!
//! When ([`Tracker`]): no change record for `--idle-compaction-after`, at least half as
//! many change records since the last compaction (or since start) as the store holds items
//! and at least [`MIN_WRITES`], and the items keyspace at most `--idle-compaction-max-mb`
//! on disk. The proportion bounds what compaction adds to the cost of writing: rewriting
//! the live items once per half their number in writes. The size bound caps one
//! compaction's length. A compaction runs on a blocking thread; reads and writes go on
//! meanwhile (the engine keeps every version an open read still needs).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::app::App;
use crate::metrics;

/// Fewest change records since the last compaction that make one worth running: below
/// this the tree is small wherever the writes went.
pub const MIN_WRITES: u64 = 1_000;

/// When the store compacts a quiet items keyspace (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct IdleCompaction {
    /// How long no change record may arrive before the keyspace counts as quiet.
    pub quiet: Duration,
    /// The largest items keyspace, in bytes on disk, that is rewritten.
    pub max_bytes: u64,
}

/// What the task remembers between its checks: the log's head when it last moved, and the
/// head at the last compaction.
#[derive(Debug)]
struct Tracker {
    seq: u64,
    quiet_since: Instant,
    compacted_at: u64,
}

impl Tracker {
    /// Starts counting writes from the log's head `seq` (a restart does not make the whole
    /// store's history count as new writes).
    fn new(seq: u64, now: Instant) -> Tracker {
        Tracker {
            seq,
            quiet_since: now,
            compacted_at: seq,
        }
    }

    /// Notes the log's head `seq` at `now`; true if a compaction is due for a keyspace of
    /// `items` items and `bytes` bytes on disk.
    fn due(
        &mut self,
        policy: &IdleCompaction,
        seq: u64,
        now: Instant,
        items: u64,
        bytes: u64,
    ) -> bool {
        if seq != self.seq {
            self.seq = seq;
            self.quiet_since = now;
            return false;
        }
        let written = seq.saturating_sub(self.compacted_at);
        now.saturating_duration_since(self.quiet_since) >= policy.quiet
            && written >= MIN_WRITES.max(items / 2)
            && bytes <= policy.max_bytes
    }

    /// A compaction decided at the head `seq` has run: later writes count toward the next.
    fn compacted(&mut self, seq: u64) {
        self.compacted_at = seq;
    }
}

/// The task: checks a few times per quiet period and compacts when due. Returns at once if
/// idle compaction is off, its counter shown at 0 (a dashboard panel shows "0", not "No
/// data").
pub async fn run(app: Arc<App>) {
    ::metrics::counter!(metrics::ENGINE_IDLE_COMPACTIONS_TOTAL).absolute(0);
    let Some(policy) = app.config.idle_compaction.clone() else {
        return;
    };
    let tick = (policy.quiet / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
    let mut tracker = Tracker::new(app.storage.published_seq(), Instant::now());
    loop {
        tokio::time::sleep(tick).await;
        let seq = app.storage.published_seq();
        let (items, bytes) = (app.storage.total_items(), app.storage.items_disk_bytes());
        if !tracker.due(&policy, seq, Instant::now(), items, bytes) {
            continue;
        }
        let storage = Arc::clone(&app.storage);
        let started = Instant::now();
        match tokio::task::spawn_blocking(move || storage.compact_items()).await {
            Ok(Ok(())) => {
                ::metrics::counter!(metrics::ENGINE_IDLE_COMPACTIONS_TOTAL).increment(1);
                tracing::info!(
                    seconds = started.elapsed().as_secs_f64(),
                    bytes_before = bytes,
                    "compacted the quiet items keyspace"
                );
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "idle compaction failed"),
            Err(e) => tracing::warn!(error = %e, "idle compaction task failed"),
        }
        // Also after a failure: retrying at every check would only fail again.
        tracker.compacted(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: IdleCompaction = IdleCompaction {
        quiet: Duration::from_secs(10),
        max_bytes: 1 << 30,
    };

    #[test]
    fn due_only_after_a_quiet_period_following_enough_writes() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut tracker = Tracker::new(100, t0);
        // Writes are still arriving.
        assert!(!tracker.due(&POLICY, 5_000, at(1), 1_000, 1 << 20));
        // Quiet, but not for long enough yet.
        assert!(!tracker.due(&POLICY, 5_000, at(10), 1_000, 1 << 20));
        assert!(tracker.due(&POLICY, 5_000, at(11), 1_000, 1 << 20));
        tracker.compacted(5_000);
        // Nothing written since: not again.
        assert!(!tracker.due(&POLICY, 5_000, at(60), 1_000, 1 << 20));
    }

    #[test]
    fn a_few_writes_to_a_large_store_do_not_rewrite_it() {
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(60);
        let mut tracker = Tracker::new(0, t0);
        // 40,000 records against a million items: not half of them.
        assert!(!tracker.due(&POLICY, 40_000, t0, 1_000_000, 1 << 29));
        assert!(!tracker.due(&POLICY, 40_000, later, 1_000_000, 1 << 29));
        // Half a million are.
        let mut tracker = Tracker::new(0, t0);
        assert!(!tracker.due(&POLICY, 500_000, t0, 1_000_000, 1 << 29));
        assert!(tracker.due(&POLICY, 500_000, later, 1_000_000, 1 << 29));
        // Below MIN_WRITES a tiny store is left alone.
        let mut tracker = Tracker::new(0, t0);
        assert!(!tracker.due(&POLICY, 999, t0, 10, 1 << 10));
        assert!(!tracker.due(&POLICY, 999, later, 10, 1 << 10));
    }

    #[test]
    fn a_keyspace_above_the_size_bound_is_not_rewritten() {
        let t0 = Instant::now();
        let mut tracker = Tracker::new(0, t0);
        assert!(!tracker.due(&POLICY, 10_000, t0, 1_000, 2 << 30));
        assert!(!tracker.due(
            &POLICY,
            10_000,
            t0 + Duration::from_secs(60),
            1_000,
            2 << 30
        ));
    }

    #[test]
    fn a_restart_does_not_count_earlier_writes() {
        let t0 = Instant::now();
        let mut tracker = Tracker::new(1_000_000, t0);
        let later = t0 + Duration::from_secs(60);
        assert!(!tracker.due(&POLICY, 1_000_000, later, 10_000, 1 << 20));
    }
}
