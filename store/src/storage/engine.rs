//! The storage engine (fjall) and its keyspaces, opened once per store, and what an
//! operator can see of it: bytes on disk and each keyspace's tree shape by part.
//!
//! Not here: what is written where (`keys`, `changelog`), commit order and durability
//! (`group_commit`).

use std::path::Path;

use fjall::{Database, Keyspace, KeyspaceCreateOptions};

use super::{Storage, StorageError};

/// The engine and its keyspaces.
pub struct Engine {
    pub db: Database,
    /// Items of every table and index, under `keys::item_key` keys.
    pub items: Keyspace,
    /// The change log, under `changelog::seq_key` keys.
    pub changes: Keyspace,
    /// Catalog records, under their UTF-8 names.
    pub meta: Keyspace,
    /// Per-table index of the change log: `table_id u64 BE | seq u64 BE` → empty, written
    /// in the same engine batch as the record it points at (see `stream_log`).
    pub table_changes: Keyspace,
}

impl Engine {
    /// Opens (or creates) the engine in `dir` with its four keyspaces.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Engine, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::Engine(format!("{}: {e}", dir.display())))?;
        // Journal persistence is ours to drive: each batch says whether it flushes, and the
        // commit thread fsyncs whole groups.
        let db = Database::builder(dir)
            .cache_size(cache_bytes)
            .manual_journal_persist(true)
            .open()
            .map_err(engine_error)?;
        let keyspace = |name: &str| {
            db.keyspace(name, KeyspaceCreateOptions::default)
                .map_err(engine_error)
        };
        Ok(Engine {
            items: keyspace("items")?,
            changes: keyspace("changes")?,
            meta: keyspace("meta")?,
            table_changes: keyspace("table_changes")?,
            db,
        })
    }

    /// The keyspaces by the name metrics give them.
    fn parts(&self) -> [(&'static str, &Keyspace); 4] {
        [
            ("items", &self.items),
            ("changes", &self.changes),
            ("table_changes", &self.table_changes),
            ("meta", &self.meta),
        ]
    }

    /// Bytes on disk by part: each keyspace's tables, and the journal files (writes not
    /// yet flushed into tables; the engine preallocates them, 64 MB at a time). For
    /// operators: the change log keeps weeks with PITR on.
    pub fn disk_usage(&self) -> [(&'static str, u64); 5] {
        // An error reading the journal's length leaves it out of the sum (0), not the
        // scrape. The keyspaces fill the first four slots; the journal keeps the last.
        let mut usage = [("journal", self.db.journal_disk_space().unwrap_or(0)); 5];
        for (slot, (part, keyspace)) in usage.iter_mut().zip(self.parts()) {
            *slot = (part, keyspace.disk_space());
        }
        usage
    }

    /// Flushes the items keyspace's memtable and merges all its tables into one sorted run,
    /// dropping every version no open read needs. Blocks until done (seconds per GiB): call
    /// it from a blocking thread. fjall offers this only through two hidden methods (its
    /// tests' own); an upgrade that drops them fails to build here, not at run time.
    pub fn compact_items(&self) -> Result<(), StorageError> {
        self.items
            .rotate_memtable_and_wait()
            .map_err(engine_error)?;
        self.items.major_compact().map_err(engine_error)
    }

    /// Each keyspace's tree shape, by part.
    pub fn tree_shapes(&self) -> [(&'static str, TreeShape); 4] {
        self.parts().map(|(part, keyspace)| {
            let shape = TreeShape {
                tables: keyspace.table_count(),
                level0_tables: keyspace.l0_table_count(),
                sealed_memtables: keyspace.sealed_memtable_count(),
                entries: keyspace.approximate_len(),
            };
            (part, shape)
        })
    }
}

/// The shape of one keyspace's LSM tree: what a range read merges. A range read seeks in
/// the memtables and in every table whose keys overlap its range, and steps over every
/// version of each key it returns; after a burst of overwrites that costs a 10-item Query
/// several times what it costs on a compacted tree (BENCHMARKS.md, session 11).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeShape {
    /// Tables on disk, all levels.
    pub tables: usize,
    /// Tables in level 0, the flushed memtables not yet compacted: their key ranges
    /// overlap, so a range read seeks in each.
    pub level0_tables: usize,
    /// Memtables sealed and waiting for their flush.
    pub sealed_memtables: usize,
    /// Entries in memtables and tables with every version and deletion marker counted:
    /// above the number of live keys by what flushes and compactions have not dropped yet.
    pub entries: usize,
}

pub fn engine_error(e: fjall::Error) -> StorageError {
    StorageError::Engine(e.to_string())
}

impl Storage {
    /// Bytes on disk by part (see [`Engine::disk_usage`]).
    pub fn disk_usage(&self) -> [(&'static str, u64); 5] {
        self.committer.engine.disk_usage()
    }

    /// Each keyspace's tree shape, by part (see [`TreeShape`]).
    pub fn tree_shapes(&self) -> [(&'static str, TreeShape); 4] {
        self.committer.engine.tree_shapes()
    }

    /// Bytes on disk of the items keyspace (tables of items and index entries).
    pub fn items_disk_bytes(&self) -> u64 {
        self.committer.engine.items.disk_space()
    }

    /// See [`Engine::compact_items`]; blocks.
    pub fn compact_items(&self) -> Result<(), StorageError> {
        self.committer.engine.compact_items()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tree_shapes_count_versions_and_the_tables_a_flush_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), 1 << 20).unwrap();
        for value in ["v1", "v2", "v3"] {
            engine.items.insert("overwritten", value).unwrap();
        }
        engine.items.insert("once", "v").unwrap();
        let shapes = engine.tree_shapes();
        let parts: Vec<_> = shapes.iter().map(|(part, _)| *part).collect();
        assert_eq!(parts, ["items", "changes", "table_changes", "meta"]);
        // Every version is an entry until a flush or compaction drops the old ones.
        assert_eq!(
            shapes[0].1,
            TreeShape {
                tables: 0,
                level0_tables: 0,
                sealed_memtables: 0,
                entries: 4,
            }
        );
        assert_eq!(shapes[1].1.entries, 0, "nothing written to the change log");

        engine.items.rotate_memtable_and_wait().unwrap();
        let items = engine.tree_shapes()[0].1;
        assert_eq!((items.tables, items.sealed_memtables), (1, 0));
        // The flush writes a level-0 table; compaction may already have moved it down.
        assert!(items.level0_tables <= 1);
        assert!((2..=4).contains(&items.entries), "{items:?}");
    }

    #[test]
    fn compacting_items_leaves_one_table_of_the_latest_versions() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(dir.path(), 1 << 20).unwrap();
        for round in 0..3u8 {
            for key in 0..100u8 {
                engine.items.insert([key], [round]).unwrap();
            }
            // A table per round: three overlapping level-0 tables and their versions.
            engine.items.rotate_memtable_and_wait().unwrap();
        }
        engine.items.remove([7u8]).unwrap();
        let before = engine.tree_shapes()[0].1;
        assert!(before.tables >= 2, "{before:?}");
        assert!(before.entries > 100, "{before:?}");

        engine.compact_items().unwrap();
        let after = engine.tree_shapes()[0].1;
        assert_eq!(
            after,
            TreeShape {
                tables: 1,
                level0_tables: 0,
                sealed_memtables: 0,
                entries: 99,
            }
        );
        assert_eq!(
            engine.items.get([3u8]).unwrap().as_deref(),
            Some(&[2u8][..])
        );
        assert_eq!(engine.items.get([7u8]).unwrap(), None);
    }
}
