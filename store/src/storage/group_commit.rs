//! Commit ordering and group commit.
//!
//! # Commit
//! [`Committer::apply`] turns one [`Batch`] into one atomic engine batch: the item and meta
//! puts/deletes plus its change records, which get consecutive sequence numbers. It holds
//! the commit mutex from sequence assignment until the engine batch is applied, so log
//! order equals commit order, and it applies the batch's table-stats deltas under the same
//! mutex, so stats change exactly when the items do.
//!
//! # Durability
//! Every applied batch gets a *ticket* (1, 2, ...). With durability on, batches reach the
//! committer through a channel to a dedicated thread ([`run`]) that loops: take every
//! queued batch, write them as one engine batch that the journal syncs before the engine
//! makes it visible ([`Flush::Synced`], [`Committer::apply_group`]), release their key
//! locks, publish the highest ticket as durable and answer every writer of the group. Why
//! a thread and not the writers themselves: fjall holds its journal mutex during an fsync,
//! so a writer committing inline would block a tokio worker for the whole fsync; the
//! thread keeps workers free and lets everything that arrives during one fsync share the
//! next one.
//!
//! With durability off, writers apply inline (the journal is flushed to the OS per batch,
//! so a process crash loses nothing acknowledged; a power loss may) and the ticket is
//! durable at once.
//!
//! # Durable before visible
//! A batch is visible to readers, and to the next writer of its keys, only once it is on
//! disk: no read sees a write that a crash could still lose, which is what a strongly
//! consistent read promises (and what keeps a dax-proxy node from caching such a write).
//! The price is paid by writers of one hot key: each waits for the previous writer's fsync,
//! so one key takes about one write per commit group. A failed write or sync leaves the
//! group invisible and unacknowledged, and the engine refuses every later write until a
//! restart recovers what the journal holds.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::Arc;

use parking_lot::Mutex;
use shared::clock::now_ms;
use shared::model::KeySchema;
use tokio::sync::{oneshot, watch};

use super::changelog;
use super::engine::{Bytes, Engine, Flush, Op, Space};
use super::indexes::EntryDelta;
use super::keys;
use super::locks::LockSet;
use super::partition_cache::{slot_of, PartitionCache, Slot};
use super::versions;
use super::{StorageError, TableStats};

/// A change to the stats of one table's items (`index_id` 0) or of one of its indexes'
/// entries.
#[derive(Debug, Clone, Copy)]
pub struct StatsDelta {
    pub table_id: u64,
    pub index_id: u16,
    pub count: i64,
    pub size: i64,
}

/// Stats by table id and index id (0: the table's items).
pub type StatsMap = HashMap<(u64, u16), TableStats>;

/// Everything one write commits atomically.
#[derive(Debug, Default)]
pub struct Batch {
    pub ops: Vec<Op>,
    /// Encoded change records (`changelog::encode`), in the order they get sequence numbers.
    pub records: Vec<Vec<u8>>,
    pub stats: Vec<StatsDelta>,
}

impl Batch {
    /// Counts an index's entry changes (nothing for none).
    pub fn count_entries(&mut self, table_id: u64, index_id: u16, delta: EntryDelta) {
        if delta != EntryDelta::default() {
            self.stats.push(StatsDelta {
                table_id,
                index_id,
                count: delta.count,
                size: delta.size,
            });
        }
    }

    /// A batch of `ops` alone: no change records, no stats (deletes of dropped keys,
    /// trimmed log records).
    pub fn of(ops: Vec<Op>) -> Batch {
        Batch {
            ops,
            ..Batch::default()
        }
    }
}

/// A batch on its way to the commit thread, with the key locks to release once it is
/// applied and the channel that tells its writer the outcome.
pub struct Request {
    pub batch: Batch,
    pub locks: LockSet,
    pub reply: oneshot::Sender<Result<u64, StorageError>>,
}

/// What is durable: every batch with a ticket `<= ticket` (records: see `seq_tx`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Durable {
    pub ticket: u64,
    /// The engine could not write (a journal write or sync, or a flush, failed); it refuses
    /// further writes (fjall poisons itself), and nothing after the last durable ticket can
    /// be acknowledged.
    pub failed: bool,
}

struct CommitState {
    /// The sequence number the next change record gets.
    next_seq: u64,
    /// The ticket the next applied batch gets.
    next_ticket: u64,
    /// Commit time of the newest record, so times never decrease along the log even if the
    /// wall clock steps back.
    last_time_ms: u64,
    /// What each table's records carry ([`Committer::set_log_detail`]; `Full` for a table
    /// not named). Decided here, under the commit mutex, and not where a write builds its
    /// record: a record built before PITR or a stream was enabled but committed after must
    /// still carry what they read.
    log_detail: HashMap<u64, LogDetail>,
    /// Tables whose local changes keep their version ([`Committer::set_versioned`]), with
    /// their key schema and the region a version names. Decided here, like `log_detail`,
    /// so that every change after the switch's head has one.
    versioned: HashMap<u64, (KeySchema, Arc<str>)>,
}

/// What a table's change records carry beyond the item's keys, which is all the change
/// feed (dax-proxy nodes) needs: the images, and an entry in the per-table index that
/// streams and point-in-time recovery read through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogDetail {
    /// Both images and the index entry: point-in-time recovery, or a stream showing
    /// both images.
    Full,
    /// The new image and the index entry: a stream showing new images only.
    IndexedNew,
    /// The old image and the index entry: a stream showing old images only.
    IndexedOld,
    /// The index entry, keys only: a stream showing keys only.
    IndexedKeys,
    /// Keys only: nothing reads the table's records but the change feed. Most of a
    /// record's bytes are its images, so this is most of the log's writes, flushes and
    /// disk for such tables (the feed keeps `--feed-retention` of them).
    FeedOnly,
}

/// The newest committed change record when a table's log detail switched: every
/// later record (larger `seq`, `time_ms` not below this one) follows the new setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHead {
    pub seq: u64,
    pub time_ms: u64,
}

/// Orders commits, keeps table and index stats, and publishes what is durable.
pub struct Committer {
    pub engine: Box<dyn Engine>,
    /// Told of every write's partitions before and after the engine's write (see
    /// `partition_cache`).
    pub partitions: PartitionCache,
    state: Mutex<CommitState>,
    stats: Mutex<StatsMap>,
    /// Held from a group's numbers until it is published (`apply_group`): taken while the
    /// state is held, never the other way round.
    write_turn: Mutex<()>,
    /// The commit time of each group staged and not yet published, oldest first (one at a
    /// time on the commit thread; more when writers apply inline). A lock of its own, taken
    /// last and held for a push or a pop, so that it orders against neither lock above.
    unpublished: Mutex<std::collections::VecDeque<u64>>,
    /// Newest durable (or, without fsync, committed) change-record sequence number.
    seq_tx: watch::Sender<u64>,
    durable_tx: watch::Sender<Durable>,
}

/// The partition-cache slots of a batch's items-keyspace keys (see `partition_cache`),
/// taken before the engine consumes the batch.
fn touched_partitions(ops: &[Op]) -> Vec<Slot> {
    ops.iter()
        .filter_map(|op| match op {
            Op::Put {
                space: Space::Items,
                key,
                ..
            }
            | Op::Delete {
                space: Space::Items,
                key,
            } => slot_of(key),
            _ => None,
        })
        .collect()
}

/// The key of the version a local change of a versioned table stamps, and the region
/// the version names; `None` for other records.
fn local_version_key<'s>(state: &'s CommitState, record: &[u8]) -> Option<(Vec<u8>, &'s str)> {
    let table_id = changelog::record_table_id(record)?;
    let (schema, region) = state.versioned.get(&table_id)?;
    if !changelog::is_local_item_change(record) {
        return None;
    }
    let key = changelog::record_keys(record).and_then(|k| schema.key_of_stored(&k))?;
    let item_key = keys::item_key(table_id, &key);
    Some((versions::version_key(&item_key), region))
}

impl Committer {
    /// `last_seq` is the newest record's sequence number on disk (0 if none) and `stats`
    /// the per-table and per-index stats rebuilt at open.
    pub fn new(
        engine: Box<dyn Engine>,
        partitions: PartitionCache,
        last_seq: u64,
        stats: StatsMap,
    ) -> Self {
        let (seq_tx, _) = watch::channel(last_seq);
        let (durable_tx, _) = watch::channel(Durable {
            ticket: 0,
            failed: false,
        });
        Committer {
            engine,
            partitions,
            state: Mutex::new(CommitState {
                next_seq: last_seq + 1,
                next_ticket: 1,
                last_time_ms: 0,
                log_detail: HashMap::new(),
                versioned: HashMap::new(),
            }),
            write_turn: Mutex::new(()),
            unpublished: Mutex::new(std::collections::VecDeque::new()),
            stats: Mutex::new(stats),
            seq_tx,
            durable_tx,
        }
    }

    /// Applies one batch to the engine (visible on return) and returns its ticket.
    /// `flush` is how far the engine takes it first: to the OS without fsync, to disk on
    /// the commit thread.
    pub fn apply(&self, batch: Batch, flush: Flush) -> Result<u64, StorageError> {
        let mut outcomes = self.apply_group(vec![batch], flush, None);
        outcomes.pop().unwrap_or(Err(StorageError::Closed))
    }

    /// Applies batches as one engine batch, so that a whole commit group pays the engine's
    /// per-batch work once (journal lock, sequence number, keyspace lock, snapshot publish,
    /// write-stall checks) rather than once per request. Each batch still gets its own
    /// ticket and its own run of change-log sequence numbers, in order; one whose keys the
    /// engine would refuse fails alone, before anything is written. Safe to merge because a
    /// batch holds its key locks until applied, so no two batches of one group write the
    /// same item. `injected` fails the engine's write as a failing disk would (fault
    /// injection; `None` otherwise).
    pub fn apply_group(
        &self,
        batches: Vec<Batch>,
        flush: Flush,
        injected: Option<StorageError>,
    ) -> Vec<Result<u64, StorageError>> {
        if !self.writable() {
            return batches
                .iter()
                .map(|_| Err(StorageError::WritesRefused))
                .collect();
        }
        let mut state = self.state.lock();
        let mut wb = Vec::new();
        let records = batches.iter().flat_map(|b| &b.records);
        let floor = match self.version_floor(&state, records) {
            Ok(floor) => floor,
            Err(e) => {
                return batches
                    .iter()
                    .map(|_| Err(StorageError::Engine(e.to_string())))
                    .collect()
            }
        };
        let time_ms = now_ms().max(state.last_time_ms).max(floor);
        let staged: Vec<Result<(u64, Vec<StatsDelta>), StorageError>> = batches
            .into_iter()
            .map(|batch| {
                let Batch {
                    ops,
                    records,
                    stats,
                } = batch;
                // Refused before the engine sees it: fjall would panic, taking the commit
                // thread and every later write with it.
                for op in &ops {
                    let (Op::Put { key, .. } | Op::Delete { key, .. }) = op;
                    keys::check_engine_key(key)?;
                }
                wb.extend(ops);
                for record in records {
                    let seq = state.next_seq;
                    self.stage_record(&state, &mut wb, record, seq, time_ms);
                    state.next_seq += 1;
                }
                let ticket = state.next_ticket;
                state.next_ticket += 1;
                Ok((ticket, stats))
            })
            .collect();
        // Numbers are taken before the write: one that fails refuses every later write, so
        // the gap it leaves is never followed. The state is then let go and the write turn
        // kept until the group is published: groups reach the engine and their readers in
        // the order of their numbers, and the state's other users (a write that changes
        // nothing, which waits for the last ticket; a switch of a table's log detail) never
        // wait for the engine's write, which with `Flush::Synced` includes the journal sync.
        state.last_time_ms = time_ms;
        self.unpublished.lock().push_back(time_ms);
        let (last_ticket, last_seq) = (state.next_ticket - 1, state.next_seq - 1);
        let turn = self.write_turn.lock();
        drop(state);
        let touched = touched_partitions(&wb);
        self.partitions.begin_write(&touched);
        let written = match injected {
            Some(e) => Err(e),
            None => self.engine.write(wb, flush),
        };
        self.partitions.end_write(&touched);
        let outcomes = match written {
            Ok(()) => {
                self.publish(last_ticket, last_seq);
                staged
                    .into_iter()
                    .map(|batch| {
                        batch.map(|(ticket, stats)| {
                            self.add_stats(stats);
                            ticket
                        })
                    })
                    .collect()
            }
            Err(e) => {
                // The journal could not take the batch or sync it (a full disk, an I/O
                // error), or the engine is poisoned (a failed flush): it may be left
                // unable to write, and we say so once rather than fail each later write
                // anew.
                tracing::error!(error = %e,
                    "the engine could not write: every write is refused until a restart");
                self.refuse_writes();
                staged
                    .into_iter()
                    .map(|batch| batch.and_then(|_| Err(StorageError::Engine(e.to_string()))))
                    .collect()
            }
        };
        self.unpublished.lock().pop_front();
        drop(turn);
        outcomes
    }

    /// The newest commit time (epoch milliseconds) at or before which every change record
    /// has been published to log readers: a point-in-time read as of it sees every change
    /// it ever will. A record is stamped when its group is staged and published once the
    /// group is written (after its journal sync), so without this a read as of a moment of
    /// a long sync would see the group or not depending on when it ran.
    pub fn settled_ms(&self) -> u64 {
        // Under the state: no group is between its stamp and its place in `unpublished`.
        let _state = self.state.lock();
        self.unpublished
            .lock()
            .front()
            .copied()
            .unwrap_or_else(now_ms)
            .saturating_sub(1)
    }

    /// Adds change record `seq` (and its per-table index entry) to `wb`, carrying what its
    /// table's log detail asks for.
    fn stage_record(
        &self,
        state: &CommitState,
        wb: &mut Vec<Op>,
        mut record: Vec<u8>,
        seq: u64,
        time_ms: u64,
    ) {
        let detail = changelog::record_table_id(&record)
            .and_then(|id| state.log_detail.get(&id))
            .copied()
            .unwrap_or(LogDetail::Full);
        match detail {
            LogDetail::Full => {}
            LogDetail::IndexedNew => changelog::elide_old_image(&mut record),
            LogDetail::IndexedOld => changelog::elide_new_image(&mut record),
            LogDetail::IndexedKeys => changelog::elide_images(&mut record),
            LogDetail::FeedOnly => {
                changelog::elide_images(&mut record);
                changelog::mark_unindexed(&mut record);
            }
        }
        changelog::set_time(&mut record, time_ms);
        self.stamp_version(state, wb, &record, time_ms);
        if let Some(index_key) = changelog::index_key(&record, seq) {
            wb.push(Op::Put {
                space: Space::TableChanges,
                key: index_key.into(),
                value: Bytes::default(),
            });
        }
        wb.push(Op::Put {
            space: Space::Changes,
            key: changelog::seq_key(seq).into(),
            value: record.into(),
        });
    }

    /// Keeps the version of a local change of a versioned table: its commit time and this
    /// region (a replicated change brings its own, written by `Storage::apply_replicated`).
    fn stamp_version(&self, state: &CommitState, wb: &mut Vec<Op>, record: &[u8], time_ms: u64) {
        if let Some((version_key, region)) = local_version_key(state, record) {
            wb.push(Op::Put {
                space: Space::Items,
                key: version_key.into(),
                value: versions::encode(time_ms, region).into(),
            });
        }
    }

    /// The earliest commit time at which every local change of a versioned table among
    /// `records` gets a version newer than its item's current one (0 when none needs
    /// more than the clock). The current version may be a write replicated from another
    /// region a moment ago, stamped by that region's clock, or a local write of the same
    /// millisecond: a version not above it would make this write, which every later read
    /// here sees, lose everywhere else (last writer wins compares versions, not arrival),
    /// and the replicas would keep different items for good. Times move forward only by
    /// the skew between regions' clocks, as a hybrid logical clock's do.
    fn version_floor<'r>(
        &self,
        state: &CommitState,
        records: impl Iterator<Item = &'r Vec<u8>>,
    ) -> Result<u64, StorageError> {
        let mut floor = 0;
        if state.versioned.is_empty() {
            return Ok(floor);
        }
        for record in records {
            let Some((version_key, _)) = local_version_key(state, record) else {
                continue;
            };
            let current = self.engine.get(Space::Items, &version_key)?;
            if let Some(current) = current.as_deref().and_then(versions::Version::decode) {
                floor = floor.max(current.time_ms.saturating_add(1));
            }
        }
        Ok(floor)
    }

    fn add_stats(&self, stats: Vec<StatsDelta>) {
        if stats.is_empty() {
            return;
        }
        let mut map = self.stats.lock();
        for delta in stats {
            let entry = map.entry((delta.table_id, delta.index_id)).or_default();
            entry.item_count = entry.item_count.saturating_add_signed(delta.count);
            entry.size_bytes = entry.size_bytes.saturating_add_signed(delta.size);
        }
    }

    /// Publishes `seq` to followers, then `ticket` to writers: in this order, a writer that
    /// sees its ticket durable finds its own records in `changes_after` already.
    fn publish(&self, ticket: u64, seq: u64) {
        self.seq_tx.send_if_modified(|s| {
            let changed = seq > *s;
            *s = (*s).max(seq);
            changed
        });
        self.durable_tx.send_modify(|d| {
            d.ticket = d.ticket.max(ticket);
        });
    }

    /// False once a journal write or sync has failed: nothing more can be made durable
    /// until the store restarts (and recovers from what the journal holds).
    pub fn writable(&self) -> bool {
        !self.durable_tx.borrow().failed
    }

    /// From now on every write is refused and every waiting writer told so.
    fn refuse_writes(&self) {
        self.durable_tx.send_modify(|d| d.failed = true);
    }

    /// The newest applied ticket (0 if none yet).
    pub fn last_ticket(&self) -> u64 {
        self.state.lock().next_ticket - 1
    }

    /// Waits until every batch up to `ticket` is durable.
    pub async fn wait_durable(&self, ticket: u64) -> Result<(), StorageError> {
        let check = |d: &Durable| d.ticket >= ticket || d.failed;
        let reached = {
            let now = self.durable_tx.borrow();
            if check(&now) {
                Some(*now)
            } else {
                None
            }
        };
        let durable = match reached {
            Some(d) => d,
            None => {
                let mut rx = self.durable_tx.subscribe();
                let d = *rx.wait_for(check).await.map_err(|_| StorageError::Closed)?;
                d
            }
        };
        if durable.ticket >= ticket {
            Ok(())
        } else {
            Err(StorageError::Engine(
                "journal sync failed; the write may be lost".into(),
            ))
        }
    }

    /// The published (durable) change-log sequence number.
    pub fn seq(&self) -> u64 {
        *self.seq_tx.borrow()
    }

    pub fn watch_seq(&self) -> watch::Receiver<u64> {
        self.seq_tx.subscribe()
    }

    /// The stats of a table's items (`index_id` 0) or of one index's entries.
    pub fn stats(&self, table_id: u64, index_id: u16) -> TableStats {
        self.stats
            .lock()
            .get(&(table_id, index_id))
            .copied()
            .unwrap_or_default()
    }

    /// Every table's and index's stats, under one taking of the lock.
    pub fn all_stats(&self) -> StatsMap {
        self.stats.lock().clone()
    }

    /// Items in all tables.
    pub fn total_items(&self) -> u64 {
        let stats = self.stats.lock();
        stats
            .iter()
            .filter(|((_, index_id), _)| *index_id == keys::TABLE_INDEX)
            .map(|(_, s)| s.item_count)
            .sum()
    }

    /// Drops the stats of an index whose entries are gone.
    pub fn forget_index(&self, table_id: u64, index_id: u16) {
        self.stats.lock().remove(&(table_id, index_id));
    }

    pub fn forget_table(&self, table_id: u64) {
        self.stats.lock().retain(|(id, _), _| *id != table_id);
        let mut state = self.state.lock();
        state.log_detail.remove(&table_id);
        state.versioned.remove(&table_id);
    }

    /// Whether the local changes of table `table_id` keep their versions now.
    pub fn is_versioned(&self, table_id: u64) -> bool {
        self.state.lock().versioned.contains_key(&table_id)
    }

    /// Whether the local changes of table `table_id` committed from now on keep their
    /// version as made in `region` (none with `None`). Returns the log's head at the
    /// switch: every local change after it has its version.
    pub fn set_versioned(
        &self,
        table_id: u64,
        schema: &KeySchema,
        region: Option<&str>,
    ) -> LogHead {
        let mut state = self.state.lock();
        match region {
            Some(region) => {
                state
                    .versioned
                    .insert(table_id, (schema.clone(), Arc::from(region)));
            }
            None => {
                state.versioned.remove(&table_id);
            }
        }
        LogHead {
            seq: state.next_seq - 1,
            time_ms: state.last_time_ms,
        }
    }

    /// What the change records of table `table_id` committed from now on carry. Returns
    /// the log's head at the switch: records after it follow the new setting.
    pub fn set_log_detail(&self, table_id: u64, detail: LogDetail) -> LogHead {
        let mut state = self.state.lock();
        state.log_detail.insert(table_id, detail);
        LogHead {
            seq: state.next_seq - 1,
            time_ms: state.last_time_ms,
        }
    }
}

/// The group-commit loop; returns when every sender is gone (the storage was dropped).
///
/// Each request is answered once: with its ticket once the group is on disk and visible,
/// or with the error that kept it from committing. One wake-up per write. `fault` is
/// asked before each group's write: an error it returns fails the write as a failing disk
/// would (debug builds' fault injection, `storage::fault`; tests).
pub fn run(
    committer: Arc<Committer>,
    requests: mpsc::Receiver<Request>,
    fault: impl Fn() -> Option<StorageError>,
) {
    while let Ok(first) = requests.recv() {
        let mut group = vec![first];
        while let Ok(more) = requests.try_recv() {
            group.push(more);
        }
        let (batches, waiters): (Vec<Batch>, Vec<_>) = group
            .into_iter()
            .map(|request| (request.batch, (request.locks, request.reply)))
            .unzip();
        let started = std::time::Instant::now();
        // Published (`apply_group`) before anyone is answered: a writer that sees its ticket
        // durable finds its own records in `changes_after` already.
        let outcomes = committer.apply_group(batches, Flush::Synced, fault());
        metrics::histogram!(crate::metrics::JOURNAL_SYNC_SECONDS).record(started.elapsed());
        metrics::histogram!(crate::metrics::COMMIT_GROUP_BATCHES).record(outcomes.len() as f64);
        for (outcome, (locks, reply)) in outcomes.into_iter().zip(waiters) {
            // The batch is on disk and visible (or failed): its keys may be written again.
            drop(locks);
            // A writer that went away needs no answer.
            drop(reply.send(outcome));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use super::super::engine::FjallEngine;
    use super::*;

    fn committer(dir: &Path) -> Arc<Committer> {
        let engine = Box::new(FjallEngine::open(dir, 1 << 20).unwrap());
        Arc::new(Committer::new(
            engine,
            PartitionCache::new(0),
            0,
            StatsMap::new(),
        ))
    }

    fn put(key: &[u8]) -> Batch {
        Batch::of(vec![Op::Put {
            space: Space::Meta,
            key: key.into(),
            value: b"v".into(),
        }])
    }

    /// Starts the commit loop with `fault` and sends it one batch writing `k`; returns the
    /// writer's answer.
    fn commit_one(
        committer: &Arc<Committer>,
        fault: fn() -> Option<StorageError>,
    ) -> Result<u64, StorageError> {
        let (tx, rx) = mpsc::channel();
        let worker = Arc::clone(committer);
        let thread = std::thread::spawn(move || run(worker, rx, fault));
        let (reply, answer) = oneshot::channel();
        tx.send(Request {
            batch: put(b"k"),
            locks: Vec::new(),
            reply,
        })
        .unwrap();
        drop(tx);
        thread.join().unwrap();
        answer.blocking_recv().unwrap()
    }

    /// A batch writing `key` to the meta keyspace, with one change record and a stats delta.
    fn recorded_put(key: &[u8]) -> Batch {
        let record = changelog::encode(&changelog::RecordParts {
            table_id: 7,
            table_name: "t",
            cause: crate::storage::Cause::User,
            keys: key,
            old_image: None,
            new_image: None,
            origin: None,
        });
        Batch {
            records: vec![record],
            stats: vec![StatsDelta {
                table_id: 7,
                index_id: 0,
                count: 1,
                size: 10,
            }],
            ..put(key)
        }
    }

    #[test]
    fn a_group_commits_as_one_batch_and_a_refused_batch_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let committer = committer(dir.path());
        let too_long = vec![b'x'; keys::MAX_ENGINE_KEY_LEN + 1];
        let outcomes = committer.apply_group(
            vec![
                recorded_put(b"a"),
                recorded_put(&too_long),
                recorded_put(b"c"),
            ],
            Flush::Later,
            None,
        );
        assert!(matches!(
            outcomes[..],
            [Ok(1), Err(StorageError::KeyTooLong), Ok(2)]
        ));
        // Consecutive sequence numbers for the two committed batches' records, none for the
        // refused one; stats from the committed two only.
        let has = |space, key: &[u8]| committer.engine.contains(space, key).unwrap();
        assert!(has(Space::Meta, b"a") && has(Space::Meta, b"c"));
        assert!(has(Space::Changes, &changelog::seq_key(1)));
        assert!(has(Space::Changes, &changelog::seq_key(2)));
        assert!(!has(Space::Changes, &changelog::seq_key(3)));
        assert_eq!(committer.stats(7, 0).item_count, 2);
        assert_eq!(committer.stats(7, 0).size_bytes, 20);
        assert_eq!(committer.last_ticket(), 2);
        assert_eq!(
            committer.apply(recorded_put(b"d"), Flush::Later).unwrap(),
            3
        );
        assert!(has(Space::Changes, &changelog::seq_key(3)));
    }

    /// Writers applying inline (no fsync) from several threads at once all commit, every
    /// change-log number written, and none waits for good (the state and the write turn
    /// were once taken in opposite orders, and two writers stopped the store).
    #[test]
    fn concurrent_inline_writers_all_commit() {
        const WRITERS: u64 = 4;
        const EACH: u64 = 2_000;
        let dir = tempfile::tempdir().unwrap();
        let committer = committer(dir.path());
        let (done, finished) = mpsc::channel();
        for w in 0..WRITERS {
            let (committer, done) = (Arc::clone(&committer), done.clone());
            std::thread::spawn(move || {
                for i in 0..EACH {
                    let key = format!("w{w}-{i}");
                    committer
                        .apply(recorded_put(key.as_bytes()), Flush::ToOs)
                        .unwrap();
                    // A reader of the state between writes, as a write that changes
                    // nothing or a log-detail switch is.
                    let _ = committer.settled_ms();
                }
                done.send(()).unwrap();
            });
        }
        for _ in 0..WRITERS {
            finished
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("the writers stopped");
        }
        assert_eq!(committer.last_ticket(), WRITERS * EACH);
        assert_eq!(committer.seq(), WRITERS * EACH, "every record published");
        let missing = (1..=WRITERS * EACH)
            .filter(|&seq| {
                !committer
                    .engine
                    .contains(Space::Changes, &changelog::seq_key(seq))
                    .unwrap()
            })
            .count();
        assert_eq!(missing, 0, "change-log numbers never written");
        assert_eq!(committer.stats(7, 0).item_count, WRITERS * EACH);
    }

    #[test]
    fn a_synced_group_is_acknowledged_and_writes_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let committer = committer(dir.path());
        assert_eq!(commit_one(&committer, || None).unwrap(), 1);
        assert!(committer.engine.contains(Space::Meta, b"k").unwrap());
        assert!(committer.writable());
        assert!(committer.apply(put(b"k2"), Flush::Later).is_ok());
    }

    #[test]
    fn a_failed_write_is_never_visible_and_every_later_write_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let committer = committer(dir.path());
        let failing = || Some(StorageError::Engine("EIO".into()));
        assert!(commit_one(&committer, failing).is_err());
        assert!(!committer.engine.contains(Space::Meta, b"k").unwrap());
        assert!(!committer.writable());
        // The engine itself would take this batch; the committer must not.
        assert!(committer.apply(put(b"k2"), Flush::Later).is_err());
        // Nothing past the last durable ticket (none) can be acknowledged.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(runtime.block_on(committer.wait_durable(1)).is_err());
    }
}
