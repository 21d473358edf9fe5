//! Catalog records (table descriptions, tags, settings, checkpoints) in the meta keyspace,
//! written durably like items.

use std::ops::Bound;

use super::engine::{Bytes, Op, Space};
use super::group_commit::Batch;
use super::{changelog, keys, Storage, StorageError, TableNotice};

impl Storage {
    /// Durable catalog records (table descriptions, tags, settings): key → JSON bytes.
    /// `None` deletes the record. Returns once the change is durable.
    pub async fn put_meta(&self, key: &str, value: Option<Vec<u8>>) -> Result<(), StorageError> {
        self.write_meta(vec![(key, value)], None).await
    }

    /// Several catalog records (as [`Storage::put_meta`]) in one atomic, durable batch;
    /// with a `notice`, the same batch logs it for followers of the change log.
    pub async fn write_meta(
        &self,
        entries: Vec<(&str, Option<Vec<u8>>)>,
        notice: Option<TableNotice<'_>>,
    ) -> Result<(), StorageError> {
        let ops = entries
            .into_iter()
            .map(|(key, value)| {
                let key = Bytes::from(key);
                match value {
                    Some(value) => Op::Put {
                        space: Space::Meta,
                        key,
                        value: value.into(),
                    },
                    None => Op::Delete {
                        space: Space::Meta,
                        key,
                    },
                }
            })
            .collect();
        let records = notice
            .map(changelog::encode_table_notice)
            .into_iter()
            .collect();
        self.commit(
            Batch {
                ops,
                records,
                ..Batch::default()
            },
            Vec::new(),
        )
        .await?;
        Ok(())
    }

    /// A sequence number kept under meta `key` (a log consumer's checkpoint); `None` if
    /// none was kept.
    pub fn seq_mark(&self, key: &str) -> Result<Option<u64>, StorageError> {
        for (found, value) in self.list_meta(key)? {
            if found == key {
                let text = std::str::from_utf8(&value)
                    .map_err(|_| StorageError::Corrupt(value.clone()))?;
                return text
                    .parse()
                    .map(Some)
                    .map_err(|_| StorageError::Corrupt(value.clone()));
            }
        }
        Ok(None)
    }

    /// Keeps `seq` under meta `key`, durably ([`Storage::seq_mark`] reads it).
    pub async fn put_seq_mark(&self, key: &str, seq: u64) -> Result<(), StorageError> {
        self.put_meta(key, Some(seq.to_string().into_bytes())).await
    }

    /// Every catalog record whose key starts with `prefix`, in key order.
    pub fn list_meta(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        self.list_meta_range(prefix, keys::prefix_upper(prefix.as_bytes()))
    }

    /// Every catalog record from key `first` up to `end`, in key order.
    pub fn list_meta_range(
        &self,
        first: &str,
        end: Bound<Vec<u8>>,
    ) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        // The engine panics on a bound past its key limit; a caller's key may come from
        // another store's request.
        let first = first.as_bytes().to_vec();
        keys::check_engine_key(&first)?;
        keys::check_engine_bound(&end)?;
        let range = (Bound::Included(first), end);
        let mut out = Vec::new();
        for entry in self.committer.engine.range(Space::Meta, range) {
            let (key, value) = entry?;
            let name =
                String::from_utf8(key.to_vec()).map_err(|_| StorageError::Corrupt(key.to_vec()))?;
            out.push((name, value.to_vec()));
        }
        Ok(out)
    }
}
