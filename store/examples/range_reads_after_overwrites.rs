//! What a 10-item range read costs the engine alone (fjall, no HTTP, no store code) on a
//! freshly loaded tree, while overwrites stream in, once they stop, and after a flush and a
//! major compaction: the measurement behind BENCHMARKS.md's "Query after overwrites"
//! (session 11).
//!
//! ```text
//! cargo run --release -p store --example range_reads_after_overwrites -- \
//!     [memtable MiB = 64] [level-0 threshold = 4] [keys = 10000] [overwrites = 200000] \
//!     [reads per 1,000 overwrites = 200]
//! ```
//!
//! Keys are the store's own item keys (`storage::keys`: table prefix, partition hash,
//! partition, sort key; ten items per partition), values are 1 KB, and each read takes one
//! partition's ten items, as the store benchmark's Query does. Writes are not synced.

use std::error::Error;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use shared::model::{AttributeValue, PrimaryKey};
use store::storage::keys;

const ITEMS_PER_PARTITION: u32 = 10;
const VALUE_BYTES: usize = 1024;
/// Reads timed on the tree the overwrites left, once its flushes have had time to run.
const READS_AFTER: u32 = 20_000;

/// Table id of the keys written: any, the keyspace holds one table.
const TABLE_ID: u64 = 1;

fn partition(partition: u32) -> AttributeValue {
    AttributeValue::S(format!("pk{partition:06}"))
}

fn partition_prefix(number: u32) -> Vec<u8> {
    keys::partition_prefix(TABLE_ID, keys::TABLE_INDEX, &partition(number))
}

fn item_key(item: u32) -> Vec<u8> {
    let key = PrimaryKey {
        hash: partition(item / ITEMS_PER_PARTITION),
        range: Some(AttributeValue::S(format!(
            "sk{:02}",
            item % ITEMS_PER_PARTITION
        ))),
    };
    keys::item_key(TABLE_ID, &key)
}

/// A small deterministic generator, so that runs with different settings see the same keys.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u32) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % u64::from(bound)) as u32
    }
}

/// Reads one random partition; returns the bytes read so that nothing is optimised away.
fn read_partition(items: &Keyspace, rng: &mut Lcg, partitions: u32) -> Result<usize, fjall::Error> {
    let mut bytes = 0;
    for guard in items.prefix(partition_prefix(rng.below(partitions))) {
        bytes += guard.into_inner()?.1.len();
    }
    Ok(bytes)
}

/// Times `n` reads of random partitions, adding the bytes they read to `bytes`.
fn timed_reads(
    items: &Keyspace,
    rng: &mut Lcg,
    partitions: u32,
    n: u32,
    bytes: &mut usize,
) -> Result<Duration, fjall::Error> {
    let started = Instant::now();
    for _ in 0..n {
        *bytes += read_partition(items, rng, partitions)?;
    }
    Ok(started.elapsed())
}

fn arg(position: usize, default: u64) -> Result<u64, Box<dyn Error>> {
    match std::env::args().nth(position) {
        Some(text) => Ok(text.parse()?),
        None => Ok(default),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let memtable_mib = arg(1, 64)?;
    let level0_threshold = u8::try_from(arg(2, 4)?)?;
    let keys = u32::try_from(arg(3, 10_000)?)?;
    let overwrites = u32::try_from(arg(4, 200_000)?)?;
    let reads_per_thousand = u32::try_from(arg(5, 200)?)?;
    let partitions = (keys / ITEMS_PER_PARTITION).max(1);

    let dir = std::env::temp_dir().join(format!("range-reads-{}", std::process::id()));
    let db = Database::builder(&dir)
        .manual_journal_persist(true)
        .open()?;
    let items = db.keyspace("items", || {
        let strategy = fjall::compaction::Leveled::default().with_l0_threshold(level0_threshold);
        KeyspaceCreateOptions::default()
            .max_memtable_size(memtable_mib << 20)
            .compaction_strategy(Arc::new(strategy))
    })?;
    let value = vec![b'v'; VALUE_BYTES];
    for key in 0..keys {
        items.insert(item_key(key), value.clone())?;
    }

    let mut rng = Lcg(7);
    let mut bytes = 0;
    let fresh = timed_reads(&items, &mut rng, partitions, READS_AFTER, &mut bytes)?;

    let (mut writing, mut reading, mut reads) = (Duration::ZERO, Duration::ZERO, 0u32);
    for round in 0..overwrites / 1000 {
        let started = Instant::now();
        for _ in 0..1000 {
            let mut value = value.clone();
            value[0] = round as u8;
            items.insert(item_key(rng.below(keys)), value)?;
        }
        writing += started.elapsed();
        reading += timed_reads(&items, &mut rng, partitions, reads_per_thousand, &mut bytes)?;
        reads += reads_per_thousand;
    }

    std::thread::sleep(Duration::from_secs(2));
    let after = timed_reads(&items, &mut rng, partitions, READS_AFTER, &mut bytes)?;
    let (entries, tables, level0) = (
        items.approximate_len(),
        items.table_count(),
        items.l0_table_count(),
    );

    // The memtable flushed (what the store does to a keyspace that went quiet): one
    // version of each key in it survives, as one more level-0 table.
    items.rotate_memtable_and_wait()?;
    let flushed = timed_reads(&items, &mut rng, partitions, READS_AFTER, &mut bytes)?;
    let (flushed_tables, flushed_level0) = (items.table_count(), items.l0_table_count());

    // The floor: one table holding one version of each key.
    items.major_compact()?;
    let compacted = timed_reads(&items, &mut rng, partitions, READS_AFTER, &mut bytes)?;

    let micros = |d: Duration, n: u32| d.as_secs_f64() * 1e6 / f64::from(n.max(1));
    println!(
        "memtable {memtable_mib} MiB, level-0 threshold {level0_threshold}, {keys} keys: \
         read {:.1} us fresh, {:.1} us during overwrites ({:.2} us per overwrite), \
         {:.1} us after ({entries} entries in {tables} tables, {level0} in level 0), \
         {:.1} us after a flush ({flushed_tables} tables, {flushed_level0} in level 0), \
         {:.1} us after a major compaction [{bytes} bytes read]",
        micros(fresh, READS_AFTER),
        micros(reading, reads),
        micros(writing, overwrites),
        micros(after, READS_AFTER),
        micros(flushed, READS_AFTER),
        micros(compacted, READS_AFTER),
    );
    drop(items);
    drop(db);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
