//! The binary encoding of change-log records.
//!
//! The change log is its own engine keyspace. Key: the record's sequence number, u64
//! big-endian, so key order is commit order. Value (version 1):
//!
//! ```text
//! u8 version = 1
//! u64 BE time_ms        (written last, at commit: see `set_time`)
//! u64 BE table_id
//! u8 cause              (0 user, 1 ttl, 2 table dropped, 3 replicated,
//!                        4 indexes changed)
//! u8 flags              (bit 0: old image present, bit 1: new image present,
//!                        bit 2: old image elided, bit 3: not in the per-table index,
//!                        bit 4: new image elided)
//! u32 BE len | table name (UTF-8)
//! u32 BE len | keys     (shared::model::codec item encoding)
//! [u64 BE origin time | u32 BE len | origin region]  if cause 3
//! [u32 BE len | old image]   if flag bit 0
//! [u32 BE len | new image]   if flag bit 1
//! ```
//!
//! Images are stored in the item codec's encoding, so the write path copies the bytes it
//! already has (the stored old value, the new value it is about to store) instead of
//! encoding items twice. Decoding checks every length and never panics; anything malformed
//! is [`StorageError::Corrupt`].
//!
//! A second keyspace indexes the log by table (`table_id | seq` → empty), written in the
//! same engine batch as each record, so a stream reads one table's records without
//! scanning everyone else's (see `stream_log`). Only records of tables with a stream or
//! point-in-time recovery are indexed (`LogDetail`); the others say so in their flags, so
//! trimming deletes no index entry that was never written.
//!
//! A table notice (`TableNotice`: empty keys, no images) is written in the batch that
//! persists the catalog change it announces: a table-drop record (cause 2) when a table
//! leaves the catalog, so that followers of the whole log (dax-proxy nodes) drop what they
//! cached of a name that no longer means that table; an indexes-changed record (cause 4)
//! when what its secondary indexes answer changes, so that they drop the table's cached
//! pages. The per-table index does not list notices: streams and point-in-time recovery
//! read item changes only.
//!
//! Retention: `Storage::trim_changes` deletes records older than a cutoff (streams keep 24
//! hours) but always keeps the newest one, because `open` recovers the next sequence number
//! from the last record.

use shared::model::codec::{decode_item, encode_item};
use shared::model::Item;

use super::versions::Version;
use super::{Cause, ChangeRecord, StorageError, TableNotice};

/// The record layout version written by this build.
pub const VERSION: u8 = 2;
/// The layout with the old image before the new one, still decoded.
const VERSION_OLD_FIRST: u8 = 1;

/// Byte offset of `time_ms` in an encoded record.
const TIME_OFFSET: usize = 1;

const FLAG_OLD: u8 = 1;
const FLAG_NEW: u8 = 2;
const FLAG_OLD_ELIDED: u8 = 4;
const FLAG_UNINDEXED: u8 = 8;
const FLAG_NEW_ELIDED: u8 = 16;

/// The engine key of the record with sequence number `seq`.
pub fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

/// Byte offset of `table_id` in an encoded record.
const TABLE_OFFSET: usize = 9;

/// Byte offset of the cause in an encoded record, and the causes' codes.
const CAUSE_OFFSET: usize = 17;
const CAUSE_USER: u8 = 0;
const CAUSE_TTL: u8 = 1;
const CAUSE_TABLE_DROPPED: u8 = 2;
const CAUSE_REPLICATED: u8 = 3;
const CAUSE_INDEXES_CHANGED: u8 = 4;

/// Byte offset of the flags in an encoded record.
const FLAGS_OFFSET: usize = 18;

/// The per-table index key of record `seq` of table `table_id`: `table_id | seq`, both u64
/// big-endian, so one table's records are one contiguous range in commit order.
pub fn table_seq_key(table_id: u64, seq: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&table_id.to_be_bytes());
    out[8..].copy_from_slice(&seq.to_be_bytes());
    out
}

/// `(table_id, seq)` of a per-table index key; `None` if the key is not 16 bytes.
pub fn parse_table_seq_key(key: &[u8]) -> Option<(u64, u64)> {
    let table: [u8; 8] = key.get(..8)?.try_into().ok()?;
    let seq: [u8; 8] = key.get(8..16)?.try_into().ok()?;
    (key.len() == 16).then(|| (u64::from_be_bytes(table), u64::from_be_bytes(seq)))
}

/// The table id of an encoded record, read without decoding the rest (`None` if the
/// record is too short, which `encode` never produces).
pub fn record_table_id(record: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = record
        .get(TABLE_OFFSET..TABLE_OFFSET + 8)?
        .try_into()
        .ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// The per-table index key of an encoded record with sequence number `seq`; `None` for a
/// table notice (which the index does not list) or a record too short to name its
/// table (which `encode` never produces).
pub fn index_key(record: &[u8], seq: u64) -> Option<[u8; 16]> {
    // Table-drop records written before they carried the flag are never indexed either.
    if is_unindexed(record) || record.get(CAUSE_OFFSET) == Some(&CAUSE_TABLE_DROPPED) {
        return None;
    }
    Some(table_seq_key(record_table_id(record)?, seq))
}

/// Whether an encoded record says it has no per-table index entry.
pub fn is_unindexed(record: &[u8]) -> bool {
    record
        .get(FLAGS_OFFSET)
        .is_some_and(|flags| flags & FLAG_UNINDEXED != 0)
}

/// Marks an encoded record as left out of the per-table index (no-op on a record too
/// short to hold flags, which `encode` never produces).
pub fn mark_unindexed(record: &mut [u8]) {
    if let Some(flags) = record.get_mut(FLAGS_OFFSET) {
        *flags |= FLAG_UNINDEXED;
    }
}

/// Whether an encoded record is a change of an item made here: not a table drop, not a
/// change another replica made.
pub fn is_local_item_change(record: &[u8]) -> bool {
    matches!(record.get(CAUSE_OFFSET), Some(&CAUSE_USER | &CAUSE_TTL))
}

/// The key attributes of an encoded record, decoded without the rest; `None` if malformed.
pub fn record_keys(record: &[u8]) -> Option<Item> {
    let mut r = Reader {
        rest: record.get(FLAGS_OFFSET + 1..)?,
    };
    r.bytes()?;
    decode_item(r.bytes()?)
}

/// The commit time of an encoded record, read without decoding the rest.
pub fn record_time_ms(record: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = record.get(TIME_OFFSET..TIME_OFFSET + 8)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// The sequence number of a record key; `None` if the key is not 8 bytes.
pub fn parse_seq_key(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// The encoded pieces of one record, borrowed from the write path.
pub struct RecordParts<'a> {
    pub table_id: u64,
    pub table_name: &'a str,
    pub cause: Cause,
    /// The key attributes, item-encoded.
    pub keys: &'a [u8],
    pub old_image: Option<&'a [u8]>,
    pub new_image: Option<&'a [u8]>,
    /// The write's version where it was first made: `Some` exactly for `Cause::Replicated`.
    pub origin: Option<&'a Version>,
}

/// Encodes a record with `time_ms = 0`; the committer sets the time with [`set_time`] when
/// it assigns the sequence number, so time never decreases along the log.
pub fn encode(parts: &RecordParts<'_>) -> Vec<u8> {
    let images =
        parts.old_image.map_or(0, |b| b.len() + 4) + parts.new_image.map_or(0, |b| b.len() + 4);
    let origin = parts.origin.map_or(0, |o| o.region.len() + 12);
    let mut out =
        Vec::with_capacity(27 + parts.table_name.len() + parts.keys.len() + origin + images);
    out.push(VERSION);
    out.extend_from_slice(&0u64.to_be_bytes());
    out.extend_from_slice(&parts.table_id.to_be_bytes());
    out.push(match parts.cause {
        Cause::User => CAUSE_USER,
        Cause::Ttl => CAUSE_TTL,
        Cause::TableDropped => CAUSE_TABLE_DROPPED,
        Cause::Replicated => CAUSE_REPLICATED,
        Cause::IndexesChanged => CAUSE_INDEXES_CHANGED,
    });
    let mut flags = 0;
    if parts.old_image.is_some() {
        flags |= FLAG_OLD;
    }
    if parts.new_image.is_some() {
        flags |= FLAG_NEW;
    }
    out.push(flags);
    put_bytes(&mut out, parts.table_name.as_bytes());
    put_bytes(&mut out, parts.keys);
    if let Some(origin) = parts.origin {
        out.extend_from_slice(&origin.time_ms.to_be_bytes());
        put_bytes(&mut out, origin.region.as_bytes());
    }
    if let Some(new) = parts.new_image {
        put_bytes(&mut out, new);
    }
    if let Some(old) = parts.old_image {
        put_bytes(&mut out, old);
    }
    out
}

/// Drops the old image from an encoded record, keeping the fact that the item existed
/// (no-op for a record without one; records are only ever written in this build's
/// version, where the old image is the last field).
pub fn elide_old_image(record: &mut Vec<u8>) {
    let Some((flags, _, new_end)) = field_ends(record) else {
        return;
    };
    if flags & FLAG_OLD != 0 {
        record.truncate(new_end);
        record[FLAGS_OFFSET] = (flags & !FLAG_OLD) | FLAG_OLD_ELIDED;
    }
}

/// Drops the new image from an encoded record, keeping the fact that an item exists after
/// the change: what a stream showing old images only reads. No-op on a record without one
/// or of another version.
pub fn elide_new_image(record: &mut Vec<u8>) {
    let Some((flags, keys_end, new_end)) = field_ends(record) else {
        return;
    };
    if flags & FLAG_NEW != 0 {
        record.drain(keys_end..new_end);
        record[FLAGS_OFFSET] = (flags & !FLAG_NEW) | FLAG_NEW_ELIDED;
    }
}

/// Drops both images from an encoded record, keeping the facts that the item existed
/// before and after the change: what a record of a table that only the change feed reads
/// needs (a dax-proxy node then drops the item from its caches instead of replacing it).
/// No-op on a record of another version.
pub fn elide_images(record: &mut Vec<u8>) {
    let Some((flags, keys_end, _)) = field_ends(record) else {
        return;
    };
    record.truncate(keys_end);
    let mut elided = flags & !(FLAG_OLD | FLAG_NEW);
    if flags & FLAG_OLD != 0 {
        elided |= FLAG_OLD_ELIDED;
    }
    if flags & FLAG_NEW != 0 {
        elided |= FLAG_NEW_ELIDED;
    }
    record[FLAGS_OFFSET] = elided;
}

/// The flags of an encoded record of this build's version, and where the fields before its
/// images (keys, origin) and its new image (if any) end; `None` for another version or a
/// malformed record.
fn field_ends(record: &[u8]) -> Option<(u8, usize, usize)> {
    let flags = *record.get(FLAGS_OFFSET)?;
    if record.first() != Some(&VERSION) {
        return None;
    }
    let mut r = Reader {
        rest: record.get(FLAGS_OFFSET + 1..)?,
    };
    r.bytes()?;
    r.bytes()?;
    if record.get(CAUSE_OFFSET) == Some(&CAUSE_REPLICATED) {
        r.u64()?;
        r.bytes()?;
    }
    let keys_end = record.len() - r.rest.len();
    if flags & FLAG_NEW != 0 {
        r.bytes()?;
    }
    Some((flags, keys_end, record.len() - r.rest.len()))
}

/// Encodes the record announcing `notice`.
pub fn encode_table_notice(notice: TableNotice<'_>) -> Vec<u8> {
    let (cause, table_id, table_name) = match notice {
        TableNotice::Dropped { table_id, name } => (Cause::TableDropped, table_id, name),
        TableNotice::IndexesChanged { table_id, name } => (Cause::IndexesChanged, table_id, name),
    };
    let mut record = encode(&RecordParts {
        table_id,
        table_name,
        cause,
        keys: &encode_item(&Item::new()),
        old_image: None,
        new_image: None,
        origin: None,
    });
    mark_unindexed(&mut record);
    record
}

/// Writes the commit time into an encoded record (no-op on a record too short to hold it,
/// which `encode` never produces).
pub fn set_time(record: &mut [u8], time_ms: u64) {
    if let Some(slot) = record.get_mut(TIME_OFFSET..TIME_OFFSET + 8) {
        slot.copy_from_slice(&time_ms.to_be_bytes());
    }
}

/// Length-prefixed bytes. Lengths fit in u32: items are at most 400 KB and table names 255
/// bytes, and the engine itself limits values to 2^32 bytes.
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

/// An encoded record's fields, its key attributes and images still item-encoded: what a
/// reader that passes images on as they are (replication) needs, without decoding them.
pub struct Fields<'a> {
    pub time_ms: u64,
    pub table_id: u64,
    pub cause: Cause,
    flags: u8,
    pub table_name: &'a str,
    pub keys: &'a [u8],
    pub origin: Option<Version>,
    pub old_image: Option<&'a [u8]>,
    pub new_image: Option<&'a [u8]>,
}

impl Fields<'_> {
    /// The change left an item whose image the log did not keep.
    pub fn new_image_elided(&self) -> bool {
        self.flags & FLAG_NEW_ELIDED != 0
    }
}

/// The fields of an encoded record; `None` if it is malformed.
pub fn fields(value: &[u8]) -> Option<Fields<'_>> {
    let mut r = Reader { rest: value };
    let version = r.u8()?;
    if version != VERSION && version != VERSION_OLD_FIRST {
        return None;
    }
    let time_ms = r.u64()?;
    let table_id = r.u64()?;
    let cause = match r.u8()? {
        CAUSE_USER => Cause::User,
        CAUSE_TTL => Cause::Ttl,
        CAUSE_TABLE_DROPPED => Cause::TableDropped,
        CAUSE_REPLICATED => Cause::Replicated,
        CAUSE_INDEXES_CHANGED => Cause::IndexesChanged,
        _ => return None,
    };
    let flags = r.u8()?;
    let table_name = std::str::from_utf8(r.bytes()?).ok()?;
    let keys = r.bytes()?;
    let origin = match cause {
        Cause::Replicated => Some(Version {
            time_ms: r.u64()?,
            region: std::str::from_utf8(r.bytes()?).ok()?.to_owned(),
        }),
        _ => None,
    };
    let mut image = |flag: u8| match flags & flag {
        0 => Some(None),
        _ => r.bytes().map(Some),
    };
    let (old_image, new_image) = if version == VERSION_OLD_FIRST {
        let old = image(FLAG_OLD)?;
        (old, image(FLAG_NEW)?)
    } else {
        let new = image(FLAG_NEW)?;
        (image(FLAG_OLD)?, new)
    };
    if !r.rest.is_empty() {
        return None;
    }
    Some(Fields {
        time_ms,
        table_id,
        cause,
        flags,
        table_name,
        keys,
        origin,
        old_image,
        new_image,
    })
}

/// Decodes the record stored under `key`.
pub fn decode(key: &[u8], value: &[u8]) -> Result<ChangeRecord, StorageError> {
    let corrupt = || StorageError::Corrupt(key.to_vec());
    let seq = parse_seq_key(key).ok_or_else(corrupt)?;
    let fields = fields(value).ok_or_else(corrupt)?;
    let image = |bytes: Option<&[u8]>| match bytes {
        None => Ok(None),
        Some(bytes) => decode_item(bytes).map(Some).ok_or_else(corrupt),
    };
    Ok(ChangeRecord {
        seq,
        time_ms: fields.time_ms,
        table_id: fields.table_id,
        table_name: fields.table_name.to_owned(),
        keys: decode_item(fields.keys).ok_or_else(corrupt)?,
        old_image: image(fields.old_image)?,
        old_image_elided: fields.flags & FLAG_OLD_ELIDED != 0,
        new_image: image(fields.new_image)?,
        new_image_elided: fields.new_image_elided(),
        cause: fields.cause,
        origin: fields.origin,
    })
}

/// A bounds-checked cursor: every read returns `None` past the end instead of panicking.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_be_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_be_bytes(self.take(8)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = usize::try_from(self.u32()?).ok()?;
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_records_are_corrupt_not_panics() {
        let parts = RecordParts {
            table_id: 7,
            table_name: "t",
            cause: Cause::Ttl,
            keys: b"k",
            old_image: Some(b"old"),
            new_image: None,
            origin: None,
        };
        let mut bytes = encode(&parts);
        set_time(&mut bytes, 42);
        assert_eq!(&bytes[1..9], &42u64.to_be_bytes());
        for cut in 0..bytes.len() {
            assert!(decode(&seq_key(1), &bytes[..cut]).is_err());
        }
        let mut wrong_version = bytes.clone();
        wrong_version[0] = 9;
        assert!(decode(&seq_key(1), &wrong_version).is_err());
        assert!(decode(b"short", &bytes).is_err());
        assert_eq!(record_table_id(&bytes), Some(7));
        assert_eq!(record_table_id(&bytes[..12]), None);
    }

    #[test]
    fn a_table_drop_decodes_and_stays_out_of_the_table_index() {
        let mut bytes = encode_table_notice(TableNotice::Dropped {
            table_id: 7,
            name: "gone",
        });
        set_time(&mut bytes, 42);
        let record = decode(&seq_key(3), &bytes).expect("decodes");
        assert_eq!(record.cause, Cause::TableDropped);
        assert_eq!((record.table_id, record.table_name.as_str()), (7, "gone"));
        assert!(record.keys.is_empty() && record.old_image.is_none() && record.new_image.is_none());
        assert_eq!(index_key(&bytes, 3), None);
        let change = encode(&RecordParts {
            table_id: 7,
            table_name: "gone",
            cause: Cause::User,
            keys: &encode_item(&Item::new()),
            old_image: None,
            new_image: None,
            origin: None,
        });
        assert_eq!(index_key(&change, 3), Some(table_seq_key(7, 3)));
        assert!(is_unindexed(&bytes) && !is_unindexed(&change));
        // A drop record from before the flag existed stays out too.
        let mut legacy = bytes.clone();
        legacy[FLAGS_OFFSET] &= !FLAG_UNINDEXED;
        assert_eq!(index_key(&legacy, 3), None);
    }

    #[test]
    fn an_indexes_changed_notice_decodes_and_stays_out_of_the_table_index() {
        let notice = TableNotice::IndexesChanged {
            table_id: 7,
            name: "t",
        };
        let bytes = encode_table_notice(notice);
        let record = decode(&seq_key(3), &bytes).expect("decodes");
        assert_eq!(record.cause, Cause::IndexesChanged);
        assert_eq!((record.table_id, record.table_name.as_str()), (7, "t"));
        assert!(record.keys.is_empty() && record.old_image.is_none() && record.new_image.is_none());
        assert_eq!(index_key(&bytes, 3), None);
        assert!(!is_local_item_change(&bytes));
    }

    #[test]
    fn a_record_marked_unindexed_has_no_index_key_and_decodes_unchanged() {
        let mut bytes = encode(&parts(b"k", Some(b"old"), Some(b"new")));
        let before = decode(&seq_key(4), &bytes).map_err(|e| e.to_string());
        mark_unindexed(&mut bytes);
        assert_eq!(index_key(&bytes, 4), None);
        assert_eq!(
            decode(&seq_key(4), &bytes).map_err(|e| e.to_string()),
            before
        );
        elide_old_image(&mut bytes);
        assert!(is_unindexed(&bytes), "eliding keeps the flag");
    }

    fn parts<'a>(keys: &'a [u8], old: Option<&'a [u8]>, new: Option<&'a [u8]>) -> RecordParts<'a> {
        RecordParts {
            table_id: 7,
            table_name: "t",
            cause: Cause::User,
            keys,
            old_image: old,
            new_image: new,
            origin: None,
        }
    }

    #[test]
    fn a_replicated_record_keeps_its_origin_through_every_elision() {
        let keys = encode_item(&item_of("key"));
        let (old, new) = (item_bytes("old"), item_bytes("new"));
        let origin = Version {
            time_ms: 1_700_000_000_123,
            region: "eu-west-1".into(),
        };
        let encode_replicated = || {
            encode(&RecordParts {
                cause: Cause::Replicated,
                origin: Some(&origin),
                ..parts(&keys, Some(&old), Some(&new))
            })
        };
        let elisions: [fn(&mut Vec<u8>); 4] =
            [|_| {}, elide_old_image, elide_new_image, elide_images];
        for elide in elisions {
            let mut bytes = encode_replicated();
            elide(&mut bytes);
            let record = decode(&seq_key(1), &bytes).expect("decodes");
            assert_eq!(record.cause, Cause::Replicated);
            assert_eq!(record.origin.as_ref(), Some(&origin));
            assert_eq!(record.keys, item_of("key"));
            assert!(record.existed_before() && record.exists_after());
        }
        let bytes = encode_replicated();
        for cut in 0..bytes.len() {
            assert!(decode(&seq_key(1), &bytes[..cut]).is_err());
        }
    }

    fn item_of(v: &str) -> Item {
        let mut item = Item::new();
        item.insert("v".into(), shared::model::AttributeValue::S(v.into()));
        item
    }

    fn item_bytes(v: &str) -> Vec<u8> {
        encode_item(&item_of(v))
    }

    #[test]
    fn eliding_drops_the_old_image_and_keeps_that_the_item_existed() {
        let keys = encode_item(&Item::new());
        let (old, new) = (item_bytes("old"), item_bytes("new"));
        for new_image in [Some(&new[..]), None] {
            let mut bytes = encode(&parts(&keys, Some(&old), new_image));
            let full_len = bytes.len();
            elide_old_image(&mut bytes);
            assert_eq!(bytes.len(), full_len - old.len() - 4);
            let record = decode(&seq_key(1), &bytes).expect("decodes");
            assert_eq!(record.old_image, None);
            assert!(record.old_image_elided && record.existed_before());
            assert_eq!(record.new_image.is_some(), new_image.is_some());
            let again = bytes.clone();
            elide_old_image(&mut bytes);
            assert_eq!(bytes, again, "eliding twice changes nothing more");
        }
        // Nothing to elide: the record stays as it was.
        let mut insert = encode(&parts(&keys, None, Some(&new)));
        let before = insert.clone();
        elide_old_image(&mut insert);
        assert_eq!(insert, before);
        assert!(!decode(&seq_key(1), &insert).unwrap().existed_before());
    }

    #[test]
    fn eliding_the_new_image_keeps_the_old_one_and_that_an_item_is_left() {
        let keys = encode_item(&item_of("key"));
        let (old, new) = (item_bytes("old"), item_bytes("new"));
        for old_image in [Some(&old[..]), None] {
            let mut bytes = encode(&parts(&keys, old_image, Some(&new)));
            let full_len = bytes.len();
            elide_new_image(&mut bytes);
            assert_eq!(bytes.len(), full_len - new.len() - 4);
            let record = decode(&seq_key(1), &bytes).expect("decodes");
            assert_eq!(record.keys, item_of("key"));
            assert_eq!(record.new_image, None);
            assert!(record.new_image_elided && record.exists_after());
            assert_eq!(record.old_image, old_image.map(|_| item_of("old")));
            assert_eq!(record.existed_before(), old_image.is_some());
            let again = bytes.clone();
            elide_new_image(&mut bytes);
            assert_eq!(bytes, again, "eliding twice changes nothing more");
        }
        // A delete has no new image: the record stays as it was.
        let mut delete = encode(&parts(&keys, Some(&old), None));
        let before = delete.clone();
        elide_new_image(&mut delete);
        assert_eq!(delete, before);
        assert!(!decode(&seq_key(1), &delete).unwrap().exists_after());
    }

    #[test]
    fn eliding_both_images_keeps_keys_and_whether_the_item_existed_before_and_after() {
        let keys = encode_item(&item_of("key"));
        let (old, new) = (item_bytes("old"), item_bytes("new"));
        for (old_image, new_image) in [
            (Some(&old[..]), Some(&new[..])),
            (None, Some(&new[..])),
            (Some(&old[..]), None),
        ] {
            let mut bytes = encode(&parts(&keys, old_image, new_image));
            elide_images(&mut bytes);
            let record = decode(&seq_key(1), &bytes).expect("decodes");
            assert!(record.old_image.is_none() && record.new_image.is_none());
            assert_eq!(record.keys, item_of("key"));
            assert_eq!(record.existed_before(), old_image.is_some());
            assert_eq!(record.exists_after(), new_image.is_some());
            let again = bytes.clone();
            elide_images(&mut bytes);
            assert_eq!(bytes, again, "eliding twice changes nothing more");
        }
        // An old image already elided stays elided.
        let mut bytes = encode(&parts(&keys, Some(&old), Some(&new)));
        elide_old_image(&mut bytes);
        elide_images(&mut bytes);
        let record = decode(&seq_key(1), &bytes).expect("decodes");
        assert!(record.existed_before() && record.exists_after());
    }

    #[test]
    fn version_1_records_with_the_old_image_first_still_decode() {
        let keys = encode_item(&Item::new());
        let (old, new) = (item_bytes("old"), item_bytes("new"));
        let mut v1 = vec![VERSION_OLD_FIRST];
        v1.extend_from_slice(&42u64.to_be_bytes());
        v1.extend_from_slice(&7u64.to_be_bytes());
        v1.extend_from_slice(&[CAUSE_USER, FLAG_OLD | FLAG_NEW]);
        for field in [&b"t"[..], &keys, &old, &new] {
            put_bytes(&mut v1, field);
        }
        let record = decode(&seq_key(1), &v1).expect("decodes");
        assert_eq!(record.old_image, decode_item(&old));
        assert_eq!(record.new_image, decode_item(&new));
        assert!(!record.old_image_elided);
        // The committer never writes version 1, and leaves such a record alone.
        let before = v1.clone();
        elide_old_image(&mut v1);
        assert_eq!(v1, before);
    }

    #[test]
    fn table_seq_keys_round_trip_and_sort_by_table_then_seq() {
        assert_eq!(parse_table_seq_key(&table_seq_key(3, 9)), Some((3, 9)));
        assert!(table_seq_key(3, u64::MAX) < table_seq_key(4, 0));
        assert!(table_seq_key(3, 255) < table_seq_key(3, 256));
        assert_eq!(parse_table_seq_key(b"short"), None);
    }
}
