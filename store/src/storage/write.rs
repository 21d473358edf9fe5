//! The one write path ([`Storage::write`]) and what else changes items: replicated
//! changes of global tables, and dropping a table's or an index's keys.

use std::ops::Bound;

use shared::model::codec::encode_item;
use shared::model::size::item_size;
use shared::model::{Item, PrimaryKey};
use tokio::sync::oneshot;

use super::engine::{Bytes, Flush, Op, Space};
use super::group_commit::{Batch, Request, StatsDelta};
use super::locks::LockSet;
use super::stored::{decode_value, encode_value, item_bytes, stored_size};
use super::versions::{self, Version};
use super::{changelog, keys, Cause, Mutation, Storage, StorageError, TableLayout};

/// Keys deleted per engine batch by [`Storage::drop_table_data`].
const DROP_CHUNK: usize = 1000;

/// One item a write stages: where it lives and what it holds now.
#[derive(Clone, Copy)]
struct Target<'a> {
    table: &'a TableLayout,
    key: &'a PrimaryKey,
    engine_key: &'a [u8],
    old: Option<&'a Item>,
    /// `old` as stored.
    old_raw: Option<&'a [u8]>,
}

impl Storage {
    /// The one write path. Locks `targets`, reads their current items (in `targets` order),
    /// calls `decide` with them; if it returns `Ok((mutations, out))` (one mutation per
    /// target), commits them atomically with their change-log records and waits until they
    /// are durable, then returns `Ok(Ok(out))`. If `decide` returns `Err(e)`, nothing is
    /// written and `Ok(Err(e))` is returned. Puts and deletes that change nothing write no
    /// change record.
    ///
    /// Targets must name distinct items (an error otherwise). The batch becomes visible to
    /// readers once it is durable, and this call returns right after (see `group_commit`).
    /// Cancelling the returned future after `decide` ran does not cancel the commit.
    pub async fn write<T, E>(
        &self,
        targets: &[(&TableLayout, PrimaryKey)],
        cause: Cause,
        decide: impl FnOnce(&[Option<Item>]) -> Result<(Vec<Mutation>, T), E>,
    ) -> Result<Result<T, E>, StorageError> {
        self.write_noting(targets, cause, None, decide).await
    }

    /// [`Storage::write`], and if `decide` succeeds, the catalog record `note` (meta key,
    /// value) in the same atomic batch: it is durable exactly when the writes are, even
    /// if they change nothing (a transaction's idempotency token).
    pub async fn write_noting<T, E>(
        &self,
        targets: &[(&TableLayout, PrimaryKey)],
        cause: Cause,
        note: Option<(String, Vec<u8>)>,
        decide: impl FnOnce(&[Option<Item>]) -> Result<(Vec<Mutation>, T), E>,
    ) -> Result<Result<T, E>, StorageError> {
        let engine_keys: Vec<Vec<u8>> = targets
            .iter()
            .map(|(table, key)| keys::item_key(table.table_id, key))
            .collect();
        for key in &engine_keys {
            keys::check_engine_key(key)?;
        }
        if engine_keys.len() > 1 {
            let mut sorted: Vec<&[u8]> = engine_keys.iter().map(Vec::as_slice).collect();
            sorted.sort_unstable();
            if sorted.windows(2).any(|w| w[0] == w[1]) {
                return Err(StorageError::Engine(
                    "write targets the same item twice".into(),
                ));
            }
        }
        let locks = self.locks.lock(&engine_keys).await;

        // Under the locks, these are the items' latest committed versions.
        let mut raw = Vec::with_capacity(engine_keys.len());
        let mut current = Vec::with_capacity(engine_keys.len());
        for key in &engine_keys {
            match self.stored_value(key)? {
                None => {
                    raw.push(None);
                    current.push(None);
                }
                Some(value) => {
                    current.push(Some(decode_value(key, &value)?));
                    raw.push(Some(value));
                }
            }
        }

        let (mutations, out) = match decide(&current) {
            Ok(decided) => decided,
            Err(e) => return Ok(Err(e)),
        };
        if mutations.len() != targets.len() {
            return Err(StorageError::Engine(format!(
                "write decided {} mutations for {} targets",
                mutations.len(),
                targets.len()
            )));
        }

        let mut batch = Batch::default();
        for (index, mutation) in mutations.into_iter().enumerate() {
            let (Some((table, key)), Some(engine_key), Some(old), Some(old_raw)) = (
                targets.get(index),
                engine_keys.get(index),
                current.get(index),
                raw.get(index),
            ) else {
                continue;
            };
            let target = Target {
                table,
                key,
                engine_key,
                old: old.as_ref(),
                old_raw: old_raw.as_deref(),
            };
            self.stage(&mut batch, &target, mutation, cause, None)?;
        }
        if let Some((key, value)) = note {
            batch.ops.push(Op::Put {
                space: Space::Meta,
                key: Bytes::from(key.as_str()),
                value: value.into(),
            });
        }

        if batch.ops.is_empty() && batch.records.is_empty() {
            // Nothing to write, but the answer rests on what we read: acknowledge it only
            // once that state is durable (usually already true).
            drop(locks);
            self.committer
                .wait_durable(self.committer.last_ticket())
                .await?;
            return Ok(Ok(out));
        }
        self.commit(batch, locks).await?;
        Ok(Ok(out))
    }

    /// Adds what `mutation` of one target writes to `batch`: the item, its index entries,
    /// its change record and the table's stats. A put of the item as it is adds nothing,
    /// and so does a delete of an absent item, but in a global table (versioned): there
    /// it is a change record without images, which stamps the delete's version here and
    /// carries it to the other replicas, so that a write made elsewhere before it does
    /// not bring the item back (streams show no such record: `ChangeRecord::is_shown`).
    /// `origin` is the version of a replicated change.
    fn stage(
        &self,
        batch: &mut Batch,
        target: &Target<'_>,
        mutation: Mutation,
        cause: Cause,
        origin: Option<&Version>,
    ) -> Result<(), StorageError> {
        let Target {
            table,
            key,
            engine_key,
            old,
            old_raw,
        } = *target;
        let old_size = old_raw.map_or(0, stored_size);
        let old_image = old_raw.map(item_bytes);
        let record = |old_image, new_image| {
            changelog::encode(&changelog::RecordParts {
                table_id: table.table_id,
                table_name: &table.name,
                cause,
                keys: &encode_item(&table.schema.key_item(key)),
                old_image,
                new_image,
                origin,
            })
        };
        match mutation {
            Mutation::Keep => {}
            Mutation::Delete => {
                let Some(old_image) = old_image else {
                    if self.committer.is_versioned(table.table_id) {
                        batch.records.push(record(None, None));
                    }
                    return Ok(());
                };
                self.index_ops(table.table_id, old, None, batch);
                batch.records.push(record(Some(old_image), None));
                batch.ops.push(Op::Delete {
                    space: Space::Items,
                    key: engine_key.into(),
                });
                batch.stats.push(StatsDelta {
                    table_id: table.table_id,
                    index_id: keys::TABLE_INDEX,
                    count: -1,
                    size: -to_i64(old_size),
                });
            }
            Mutation::Put(item) => {
                if old == Some(&item) {
                    return Ok(());
                }
                self.index_ops(table.table_id, old, Some(&item), batch);
                // A replicated write was within the limit where it was made; refusing it
                // here would leave the replicas apart for good.
                if cause != Cause::Replicated {
                    self.check_collection(table.table_id, &key.hash, old, &item)?;
                }
                let size = item_size(&item) as u64;
                let value = encode_value(&item, size);
                batch
                    .records
                    .push(record(old_image, Some(item_bytes(&value))));
                batch.ops.push(Op::Put {
                    space: Space::Items,
                    key: engine_key.into(),
                    value: value.into(),
                });
                batch.stats.push(StatsDelta {
                    table_id: table.table_id,
                    index_id: keys::TABLE_INDEX,
                    count: if old_raw.is_some() { 0 } else { 1 },
                    size: to_i64(size) - to_i64(old_size),
                });
            }
        }
        Ok(())
    }

    /// Applies a change another replica of global table `table` made (its new image, or
    /// `None` for a delete) if its version is newer than the version the item has here,
    /// and keeps that version (see `versions`). An older change changes nothing, so a
    /// change that arrives twice applies once: `None`. A change that wins returns what
    /// `measure` made of the item it replaces and the image, under the item's lock (the
    /// capacity the write consumes).
    pub async fn apply_replicated<R>(
        &self,
        table: &TableLayout,
        key: &PrimaryKey,
        image: Option<Item>,
        version: &Version,
        measure: impl FnOnce(Option<&Item>, Option<&Item>) -> R,
    ) -> Result<Option<R>, StorageError> {
        let engine_key = keys::item_key(table.table_id, key);
        keys::check_engine_key(&engine_key)?;
        let version_key = versions::version_key(&engine_key);
        let locks = self.locks.lock(std::slice::from_ref(&engine_key)).await;
        if self
            .stored_version(&version_key)?
            .is_some_and(|current| current >= *version)
        {
            return Ok(None);
        }
        let old_raw = self.stored_value(&engine_key)?;
        let old = old_raw
            .as_ref()
            .map(|value| decode_value(&engine_key, value))
            .transpose()?;
        let target = Target {
            table,
            key,
            engine_key: &engine_key,
            old: old.as_ref(),
            old_raw: old_raw.as_deref(),
        };
        let measured = measure(old.as_ref(), image.as_ref());
        let mutation = image.map_or(Mutation::Delete, Mutation::Put);
        let mut batch = Batch::default();
        self.stage(
            &mut batch,
            &target,
            mutation,
            Cause::Replicated,
            Some(version),
        )?;
        batch.ops.push(Op::Put {
            space: Space::Items,
            key: version_key.into(),
            value: version.encode().into(),
        });
        self.commit(batch, locks).await?;
        Ok(Some(measured))
    }

    /// Applies a batch (inline or through the commit thread), releasing `locks` as soon as
    /// it is visible (with fsync, once durable), and returns its ticket.
    pub(super) async fn commit(&self, batch: Batch, locks: LockSet) -> Result<u64, StorageError> {
        match &self.queue {
            None => {
                let ticket = self.committer.apply(batch, Flush::ToOs);
                drop(locks);
                ticket
            }
            Some(queue) => {
                let (reply, answer) = oneshot::channel();
                queue
                    .send(Request {
                        batch,
                        locks,
                        reply,
                    })
                    .map_err(|_| StorageError::Closed)?;
                answer.await.map_err(|_| StorageError::Closed)?
            }
        }
    }

    /// Removes every item of a dropped table (runs in the background after DeleteTable).
    /// Deletes keys in chunks, writes no change records, and returns once the deletes are
    /// durable. The table must receive no writes meanwhile (the catalog has dropped it).
    /// Covers every index of the table (all index ids under its table id).
    pub async fn drop_table_data(&self, table_id: u64) -> Result<(), StorageError> {
        self.delete_prefix(&table_id.to_be_bytes()).await?;
        self.committer.forget_table(table_id);
        Ok(())
    }

    /// Deletes every items-keyspace key under `prefix`, in chunks, writing no change
    /// records. Each chunk is durable before the next is read: a crash midway leaves a
    /// shorter range for the caller to delete again.
    pub(super) async fn delete_prefix(&self, prefix: &[u8]) -> Result<(), StorageError> {
        let upper = keys::prefix_upper(prefix);
        let mut lower = Bound::Included(prefix.to_vec());
        loop {
            let chunk = self.item_key_chunk((lower.clone(), upper.clone()), DROP_CHUNK)?;
            let Some(last) = chunk.last() else {
                return Ok(());
            };
            lower = Bound::Excluded(last.clone());
            let ops = chunk
                .into_iter()
                .map(|key| Op::Delete {
                    space: Space::Items,
                    key: key.into(),
                })
                .collect();
            self.commit(Batch::of(ops), Vec::new()).await?;
        }
    }
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
