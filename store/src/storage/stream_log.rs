//! Per-table reads of the change log, and its retention trimming.
//!
//! DynamoDB Streams and triggers read one table's changes in commit order. The global log
//! is ordered by sequence number only, so the committer also writes, in the same engine
//! batch as each record, an index entry `table_id | seq` (see `changelog::table_seq_key`)
//! for the tables a stream or point-in-time recovery reads ([`LogDetail`]). A stream read
//! is then a range over that index plus one point read per record.
//!
//! Retention: [`Storage::trim_changes`] deletes records (and their index entries) whose
//! commit time is before a cutoff, oldest first, in chunks, each chunk durable before the
//! next. It never deletes the newest record: `open` recovers the next sequence number from
//! it. Because the log is contiguous (the committer hands out consecutive numbers), the
//! first retained sequence number ([`Storage::first_change_seq`]) is the trim horizon:
//! anything below it is gone.
//!
//! The log's head: every deleted record leaves a deletion marker that the engine keeps
//! until compaction has carried it to the last level, and a read that starts at the
//! log's beginning steps over all of them (after 250,000 trimmed records a GetRecords call,
//! which asks for the trim horizon, took 65-200 ms instead of 6). So storage remembers the
//! first retained sequence number (`log_floor`: found once at `open`, raised by each trim)
//! and every read of the head seeks there.
//!
//! Not here: what a stream, shard or iterator is (`crate::streams`).

use std::ops::Bound;
use std::sync::atomic::Ordering;

use super::changelog;
use super::engine::{Bytes, Engine, Entries, Entry, Flush, Op, Space};
use super::group_commit::{Batch, LogDetail, LogHead};
use super::{ChangeRecord, Storage, StorageError};

/// Records deleted per engine batch when trimming or backfilling.
const CHUNK: usize = 1000;

/// The sequence number a change-log key names.
pub(super) fn key_seq(key: &[u8]) -> Result<u64, StorageError> {
    changelog::parse_seq_key(key).ok_or_else(|| StorageError::Corrupt(key.to_vec()))
}

/// A change-log entry: its sequence number and encoded record.
fn entry(entry: Result<Entry, StorageError>) -> Result<(u64, Bytes), StorageError> {
    let (key, record) = entry?;
    Ok((key_seq(&key)?, record))
}

/// The oldest record in the log, if it has one. Steps over every deletion marker below it:
/// for `open`, once.
pub(super) fn oldest_entry(engine: &dyn Engine) -> Result<Option<(u64, Bytes)>, StorageError> {
    engine.first(Space::Changes)?.map(Ok).map(entry).transpose()
}

/// Builds the per-table index for a log written before the index existed (an empty index
/// next to a non-empty log whose `oldest` record does not say it was left out). A no-op
/// otherwise, so it costs one lookup per `open`.
pub(super) fn backfill_table_index(
    engine: &dyn Engine,
    oldest: Option<&[u8]>,
) -> Result<(), StorageError> {
    if engine.first(Space::TableChanges)?.is_some() || oldest.is_none_or(changelog::is_unindexed) {
        return Ok(());
    }
    let mut batch = Vec::new();
    let mut pending = 0usize;
    for record in engine.range(Space::Changes, (Bound::Unbounded, Bound::Unbounded)) {
        let (seq, value) = entry(record)?;
        changelog::record_table_id(&value)
            .ok_or_else(|| StorageError::Corrupt(changelog::seq_key(seq).to_vec()))?;
        if let Some(index_key) = changelog::index_key(&value, seq) {
            batch.push(Op::Put {
                space: Space::TableChanges,
                key: index_key.into(),
                value: Bytes::default(),
            });
        }
        pending += 1;
        if pending >= CHUNK {
            engine.write(std::mem::take(&mut batch), Flush::Later)?;
            pending = 0;
        }
    }
    engine.write(batch, Flush::Later)
}

impl Storage {
    /// Change records of table `table_id` with `after < seq <= upto`, at most `limit`, in
    /// commit order. Like `changes_after`, only durable records are returned (`upto` is
    /// capped at the published sequence number). A record trimmed between the index read
    /// and the record read is skipped.
    pub fn table_changes(
        &self,
        table_id: u64,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<ChangeRecord>, StorageError> {
        self.encoded_table_changes(table_id, after, upto, limit)?
            .into_iter()
            .map(|(seq, value)| changelog::decode(&changelog::seq_key(seq), &value))
            .collect()
    }

    /// [`Storage::table_changes`] as stored: each record's sequence number and encoding
    /// (read with `changelog::fields`), for readers that pass images on undecoded.
    pub fn encoded_table_changes(
        &self,
        table_id: u64,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Bytes)>, StorageError> {
        let upto = upto.min(self.committer.seq());
        if after >= upto || limit == 0 {
            return Ok(Vec::new());
        }
        let range = (
            Bound::Excluded(changelog::table_seq_key(table_id, after).to_vec()),
            Bound::Included(changelog::table_seq_key(table_id, upto).to_vec()),
        );
        let engine = &self.committer.engine;
        let mut records = Vec::new();
        for index_entry in engine.range(Space::TableChanges, range).take(limit) {
            let (key, _) = index_entry?;
            let (_, seq) = changelog::parse_table_seq_key(&key)
                .ok_or_else(|| StorageError::Corrupt(key.to_vec()))?;
            if let Some(value) = engine.get(Space::Changes, &changelog::seq_key(seq))? {
                records.push((seq, value));
            }
        }
        Ok(records)
    }

    /// The sequence number of the oldest retained record; with an empty log, the number
    /// the next record gets. Every record below it has been trimmed.
    pub fn first_change_seq(&self) -> Result<u64, StorageError> {
        match self.head_of_log().next() {
            Some(found) => Ok(entry(found)?.0),
            None => Ok(self.committer.seq().saturating_add(1)),
        }
    }

    /// The first sequence number from which every retained record was committed at or after
    /// `time_ms` (epoch milliseconds): records below it are older. Past the newest durable
    /// record if all are older. Commit times never decrease along the log, so "the first
    /// record at or after `seq` is that new" holds from some `seq` on: a binary search.
    pub fn first_change_seq_since(&self, time_ms: u64) -> Result<u64, StorageError> {
        let engine = &self.committer.engine;
        let newer_from = |seq: u64| -> Result<bool, StorageError> {
            let from = (
                Bound::Included(changelog::seq_key(seq).to_vec()),
                Bound::Unbounded,
            );
            match engine.range(Space::Changes, from).next() {
                None => Ok(true),
                Some(found) => {
                    let (key, value) = found?;
                    let time = changelog::record_time_ms(&value)
                        .ok_or_else(|| StorageError::Corrupt(key.to_vec()))?;
                    Ok(time >= time_ms)
                }
            }
        };
        let mut low = self.first_change_seq()?;
        let mut high = self.committer.seq().saturating_add(1);
        while low < high {
            let mid = low + (high - low) / 2;
            if newer_from(mid)? {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        Ok(low)
    }

    /// The oldest retained record's sequence number and commit time (epoch milliseconds),
    /// if the log has one.
    pub fn oldest_change(&self) -> Result<Option<(u64, u64)>, StorageError> {
        let Some(found) = self.head_of_log().next() else {
            return Ok(None);
        };
        let (seq, value) = entry(found)?;
        let time_ms = changelog::record_time_ms(&value)
            .ok_or_else(|| StorageError::Corrupt(changelog::seq_key(seq).to_vec()))?;
        Ok(Some((seq, time_ms)))
    }

    /// The newest durable sequence number (what followers may read up to).
    pub fn published_seq(&self) -> u64 {
        self.committer.seq()
    }

    /// The newest commit time (epoch milliseconds) up to which the log is complete
    /// ([`Committer::settled_ms`](super::group_commit::Committer::settled_ms)).
    pub fn settled_ms(&self) -> u64 {
        self.committer.settled_ms()
    }

    /// What the change records of table `table_id` committed from now on carry (by default
    /// everything). Returns the log's head at the switch: a stream or recovery window that
    /// reads more than before starts after it.
    pub fn set_log_detail(&self, table_id: u64, detail: LogDetail) -> LogHead {
        self.committer.set_log_detail(table_id, detail)
    }

    /// Deletes durable records committed before `before_ms` (epoch milliseconds), oldest
    /// first, keeping at least the newest record; deletes at most `max_records` in one
    /// call so a long backlog is trimmed in steps that leave room for user writes.
    /// Returns how many records were deleted.
    pub async fn trim_changes(
        &self,
        before_ms: u64,
        max_records: usize,
    ) -> Result<usize, StorageError> {
        let newest = self.committer.seq();
        let mut deleted = 0usize;
        let mut past = 0;
        while deleted < max_records {
            let mut ops = Vec::with_capacity(CHUNK * 2);
            for found in self.head_of_log().take(CHUNK.min(max_records - deleted)) {
                let (seq, value) = entry(found)?;
                if seq >= newest || changelog::record_time_ms(&value) >= Some(before_ms) {
                    break;
                }
                if let Some(index_key) = changelog::index_key(&value, seq) {
                    ops.push(Op::Delete {
                        space: Space::TableChanges,
                        key: index_key.into(),
                    });
                }
                ops.push(Op::Delete {
                    space: Space::Changes,
                    key: changelog::seq_key(seq).into(),
                });
                deleted += 1;
                past = seq + 1;
            }
            if ops.is_empty() {
                break;
            }
            self.commit(Batch::of(ops), Vec::new()).await?;
            // Only once the deletions are committed may reads start past them.
            self.log_floor.fetch_max(past, Ordering::Release);
        }
        Ok(deleted)
    }

    /// The retained records, oldest first, read from `log_floor` on (see the module docs).
    fn head_of_log(&self) -> Entries<'_> {
        let floor = self.log_floor.load(Ordering::Acquire);
        let from = (
            Bound::Included(changelog::seq_key(floor).to_vec()),
            Bound::Unbounded,
        );
        self.committer.engine.range(Space::Changes, from)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use shared::model::{AttributeValue, Item, PrimaryKey};

    use super::super::{Cause, Mutation, TableLayout};
    use super::*;

    /// Storage without fsync, as the storage layer's own tests open it.
    fn open(dir: &Path) -> Arc<Storage> {
        super::super::tests::open(dir, false)
    }

    /// A table keyed by `pk` alone.
    fn layout(table_id: u64) -> TableLayout {
        super::super::tests::layout(table_id, None)
    }

    async fn put(storage: &Storage, table: &TableLayout, pk: &str, v: &str) {
        let key = PrimaryKey {
            hash: AttributeValue::S(pk.into()),
            range: None,
        };
        let mut item = Item::new();
        item.insert("pk".into(), key.hash.clone());
        item.insert("v".into(), AttributeValue::S(v.into()));
        let outcome = storage
            .write(&[(table, key)], Cause::User, |_| {
                Ok::<_, ()>((vec![Mutation::Put(item)], ()))
            })
            .await;
        assert!(matches!(outcome, Ok(Ok(()))));
    }

    #[tokio::test]
    async fn open_rebuilds_a_missing_table_index_unless_the_log_was_written_without_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let seqs = |storage: &Storage, table_id| {
            let listed = storage.table_changes(table_id, 0, u64::MAX, 100);
            let listed = listed.unwrap_or_else(|e| panic!("{e}"));
            listed.iter().map(|r| r.seq).collect::<Vec<_>>()
        };
        let drop_index = |storage: &Storage| {
            let engine = &storage.committer.engine;
            let everything = (Bound::Unbounded, Bound::Unbounded);
            let deletes = engine
                .range(Space::TableChanges, everything)
                .map(|entry| Op::Delete {
                    space: Space::TableChanges,
                    key: entry.unwrap_or_else(|e| panic!("{e}")).0,
                })
                .collect();
            let removed = engine.write(deletes, Flush::ToOs);
            removed.unwrap_or_else(|e| panic!("{e}"));
        };
        {
            // A log from before the index: records that say nothing of it, no entries.
            let storage = open(dir.path());
            put(&storage, &layout(1), "a", "1").await;
            put(&storage, &layout(1), "b", "1").await;
            drop_index(&storage);
            assert!(seqs(&storage, 1).is_empty());
        }
        {
            let storage = open(dir.path());
            assert_eq!(seqs(&storage, 1), [1, 2], "rebuilt at open");
            drop_index(&storage);
            // From here on the table is left out; its oldest record still says nothing.
            storage.set_log_detail(1, LogDetail::FeedOnly);
            put(&storage, &layout(1), "c", "1").await;
            assert_eq!(storage.trim_changes(u64::MAX, 2).await.ok(), Some(2));
        }
        // The oldest record now says it was left out: nothing to rebuild.
        let storage = open(dir.path());
        assert!(seqs(&storage, 1).is_empty());
    }

    #[tokio::test]
    async fn table_reads_see_only_their_table_in_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path());
        let (a, b) = (layout(1), layout(2));
        for i in 0..5 {
            put(&storage, &a, "x", &format!("a{i}")).await;
            put(&storage, &b, "x", &format!("b{i}")).await;
        }
        let all = storage
            .table_changes(1, 0, u64::MAX, 100)
            .unwrap_or_default();
        assert_eq!(all.len(), 5);
        assert!(all.iter().all(|r| r.table_id == 1));
        assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
        let tail = storage
            .table_changes(1, all[1].seq, u64::MAX, 2)
            .unwrap_or_default();
        assert_eq!(
            tail.iter().map(|r| r.seq).collect::<Vec<_>>(),
            vec![all[2].seq, all[3].seq]
        );
        let bounded = storage
            .table_changes(2, 0, all[2].seq, 100)
            .unwrap_or_default();
        assert!(bounded
            .iter()
            .all(|r| r.seq <= all[2].seq && r.table_id == 2));
    }

    #[test]
    fn disk_usage_names_every_part_and_counts_the_journal() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path());
        let usage = storage.disk_usage();
        let parts: Vec<_> = usage.iter().map(|(part, _)| *part).collect();
        assert_eq!(
            parts,
            ["items", "changes", "table_changes", "meta", "journal"]
        );
        // The engine preallocates its journal: on disk from the start.
        assert!(usage[4].1 > 0);
    }

    #[tokio::test]
    async fn the_first_record_since_a_time_is_found() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = open(dir.path());
        let a = layout(1);
        let now = shared::clock::now_ms;
        for i in 0..3 {
            put(&storage, &a, &format!("old{i}"), "v").await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let cut = now();
        for i in 0..4 {
            put(&storage, &a, &format!("new{i}"), "v").await;
        }
        let since = |ms| storage.first_change_seq_since(ms).ok();
        assert_eq!(since(0), Some(1));
        assert_eq!(since(cut), Some(4));
        assert_eq!(since(u64::MAX), Some(8));
        // A trimmed prefix is below every answer.
        assert_eq!(storage.trim_changes(cut, 2).await.ok(), Some(2));
        assert_eq!(since(0), Some(3));
        assert_eq!(since(cut), Some(4));
    }

    #[tokio::test]
    async fn trimming_keeps_the_newest_record_and_moves_the_horizon() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        {
            let storage = open(dir.path());
            let a = layout(1);
            for i in 0..30 {
                put(&storage, &a, &format!("k{i}"), "v").await;
            }
            assert_eq!(storage.first_change_seq().ok(), Some(1));
            // A cutoff in the past trims nothing.
            assert_eq!(storage.trim_changes(1, usize::MAX).await.ok(), Some(0));
            // Bounded steps.
            assert_eq!(storage.trim_changes(u64::MAX, 10).await.ok(), Some(10));
            assert_eq!(storage.first_change_seq().ok(), Some(11));
            assert_eq!(
                storage.oldest_change().ok().flatten().map(|(s, _)| s),
                Some(11)
            );
            assert_eq!(storage.log_floor.load(Ordering::Relaxed), 11);
            // Everything old, but the newest record stays.
            assert_eq!(
                storage.trim_changes(u64::MAX, usize::MAX).await.ok(),
                Some(19)
            );
            assert_eq!(storage.first_change_seq().ok(), Some(30));
            let left = storage
                .table_changes(1, 0, u64::MAX, 100)
                .unwrap_or_default();
            assert_eq!(left.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![30]);
            // A follower asking from before the trim sees the gap: the next record is 30.
            let feed = storage.changes_after(0, 10).unwrap_or_default();
            assert_eq!(feed.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![30]);
        }
        // The next sequence number survives a restart after trimming, and so does the
        // log's head (found anew at open).
        let storage = open(dir.path());
        assert_eq!(storage.first_change_seq().ok(), Some(30));
        assert_eq!(
            storage.oldest_change().ok().flatten().map(|(s, _)| s),
            Some(30)
        );
        put(&storage, &layout(1), "after", "v").await;
        let left = storage
            .table_changes(1, 0, u64::MAX, 100)
            .unwrap_or_default();
        assert_eq!(left.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![30, 31]);
    }
}
