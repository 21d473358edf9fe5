//! Engine key layout for items and the range arithmetic that Query and Scan need.
//!
//! An item lives under
//! `table-id u64 BE | index-id u16 BE | partition_hash(pk) u64 BE | enc(pk) | enc(sk)`
//! where `enc` is [`shared::model::keycodec::encode_scalar`] (order-preserving and
//! self-delimiting). Invariants this module relies on:
//! - every key of one table/index starts with its 10-byte [`table_prefix`];
//! - every key of one partition starts with its [`partition_prefix`], and because `enc(pk)`
//!   is self-delimiting no other partition's keys share that prefix;
//! - within a partition, bytewise key order is the sort key's DynamoDB order, so Query is a
//!   range read and its bounds are encoded sort keys.
//!
//! Range bounds are `Bound<Vec<u8>>` pairs; [`tighter_lower`] / [`tighter_upper`] intersect
//! them and [`is_empty_range`] lets callers skip ranges whose start is past their end.

use std::ops::Bound;

use shared::model::keycodec::{decode_scalar, encode_scalar, partition_hash};
use shared::model::{AttributeValue, KeySchema, PrimaryKey};

use super::StorageError;

/// The longest key the engine takes (fjall panics on a longer one). DynamoDB's key size
/// limits keep item keys under 4 KB.
pub const MAX_ENGINE_KEY_LEN: usize = u16::MAX as usize;

/// `KeyTooLong` for a key the engine would not take.
pub fn check_engine_key(key: &[u8]) -> Result<(), StorageError> {
    if key.len() > MAX_ENGINE_KEY_LEN {
        return Err(StorageError::KeyTooLong);
    }
    Ok(())
}

/// [`check_engine_key`] for a range bound.
pub fn check_engine_bound(bound: &Bound<Vec<u8>>) -> Result<(), StorageError> {
    match bound {
        Bound::Included(key) | Bound::Excluded(key) => check_engine_key(key),
        Bound::Unbounded => Ok(()),
    }
}

/// The index id of the table's own items (secondary indexes get 1, 2, ...).
pub const TABLE_INDEX: u16 = 0;

/// Length of `table-id | index-id`.
pub const TABLE_PREFIX_LEN: usize = 10;

/// `table-id | index-id`: the prefix of every key of one table (or one of its indexes).
pub fn table_prefix(table_id: u64, index_id: u16) -> [u8; TABLE_PREFIX_LEN] {
    let mut out = [0u8; TABLE_PREFIX_LEN];
    out[..8].copy_from_slice(&table_id.to_be_bytes());
    out[8..].copy_from_slice(&index_id.to_be_bytes());
    out
}

/// `table-id | index-id | hash | enc(pk)`: the prefix of every key of one partition.
pub fn partition_prefix(table_id: u64, index_id: u16, hash: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&table_prefix(table_id, index_id));
    out.extend_from_slice(&partition_hash(hash).to_be_bytes());
    encode_scalar(hash, &mut out);
    out
}

/// The full engine key of one item of the table itself.
pub fn item_key(table_id: u64, key: &PrimaryKey) -> Vec<u8> {
    let mut out = partition_prefix(table_id, TABLE_INDEX, &key.hash);
    if let Some(range) = &key.range {
        encode_scalar(range, &mut out);
    }
    out
}

/// `item_key` (a key of the table's items) moved under index id `index_id`: the same
/// partition hash and key attributes.
pub fn in_index(item_key: &[u8], index_id: u16) -> Vec<u8> {
    let mut key = item_key.to_vec();
    if let Some(index) = key.get_mut(8..TABLE_PREFIX_LEN) {
        index.copy_from_slice(&index_id.to_be_bytes());
    }
    key
}

/// The primary key encoded in a key made by [`item_key`] (under any index id, as
/// [`in_index`] moves it), in a table keyed by `schema`; `None` for any other bytes.
pub fn primary_key_of(key: &[u8], schema: &KeySchema) -> Option<PrimaryKey> {
    // `table-id | index-id | partition hash` come before the encoded key attributes.
    let encoded = key.get(TABLE_PREFIX_LEN + 8..)?;
    let (hash, rest) = decode_scalar(encoded)?;
    let (range, rest) = match schema.range {
        Some(_) => {
            let (range, rest) = decode_scalar(rest)?;
            (Some(range), rest)
        }
        None => (None, rest),
    };
    rest.is_empty().then_some(PrimaryKey { hash, range })
}

/// `(table-id, index-id)` of an item key; `None` if the key is too short to be one.
pub fn parse_table_prefix(key: &[u8]) -> Option<(u64, u16)> {
    let table: [u8; 8] = key.get(..8)?.try_into().ok()?;
    let index: [u8; 2] = key.get(8..TABLE_PREFIX_LEN)?.try_into().ok()?;
    Some((u64::from_be_bytes(table), u16::from_be_bytes(index)))
}

/// The smallest byte string greater than every string that starts with `prefix`, or `None`
/// if there is none (the prefix is all 0xFF bytes, so only "end of keyspace" bounds it).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut out = prefix.to_vec();
    while let Some(last) = out.pop() {
        if last < u8::MAX {
            out.push(last + 1);
            return Some(out);
        }
    }
    None
}

/// The upper bound (exclusive) of every key that starts with `prefix`.
pub fn prefix_upper(prefix: &[u8]) -> Bound<Vec<u8>> {
    match prefix_successor(prefix) {
        Some(next) => Bound::Excluded(next),
        None => Bound::Unbounded,
    }
}

/// The hash range `[lo, hi)` of parallel-scan segment `segment` of `total`: equal slices of
/// the u64 hash space, `hi = None` meaning 2^64. Computed in u128 so nothing overflows.
/// `None` for an invalid segment (`total == 0` or `segment >= total`).
pub fn segment_hash_range(segment: u32, total: u32) -> Option<(u64, Option<u64>)> {
    if total == 0 || segment >= total {
        return None;
    }
    let space: u128 = 1 << 64;
    let lo = u128::from(segment) * space / u128::from(total);
    let hi = (u128::from(segment) + 1) * space / u128::from(total);
    // lo < 2^64 because segment < total; hi == 2^64 only for the last segment.
    let lo = u64::try_from(lo).ok()?;
    let hi = u64::try_from(hi).ok();
    Some((lo, hi))
}

/// Lower and upper bounds of a range of engine keys.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The key range a scan of everything under `prefix` (a table or one of its indexes)
/// reads: all of it, or with `segment = Some((s, total))` the keys whose partition hash
/// (the 8 bytes after the prefix) falls in that segment's [`segment_hash_range`]. `None`
/// for an invalid segment, which reads nothing.
pub fn scan_bounds(prefix: &[u8], segment: Option<(u32, u32)>) -> Option<KeyRange> {
    let at_hash = |hash: u64| {
        let mut key = Vec::with_capacity(prefix.len() + 8);
        key.extend_from_slice(prefix);
        key.extend_from_slice(&hash.to_be_bytes());
        key
    };
    let Some((s, total)) = segment else {
        return Some((Bound::Included(prefix.to_vec()), prefix_upper(prefix)));
    };
    let (lo, hi) = segment_hash_range(s, total)?;
    let upper = match hi {
        Some(hi) => Bound::Excluded(at_hash(hi)),
        None => prefix_upper(prefix),
    };
    Some((Bound::Included(at_hash(lo)), upper))
}

/// The smallest value of the same type that is greater than every value starting with
/// `prefix` (the exclusive end of `begins_with(sk, prefix)`), or `None` if no such value
/// exists (then the partition's end bounds the range). `None` also for non-S/B values.
///
/// Strings compare by UTF-8 bytes, which is code-point order, so the successor bumps the
/// last code point that can be bumped (skipping surrogates) and drops what follows it.
pub fn begins_with_successor(prefix: &AttributeValue) -> Option<AttributeValue> {
    match prefix {
        AttributeValue::B(bytes) => prefix_successor(bytes).map(AttributeValue::B),
        AttributeValue::S(text) => {
            let mut chars: Vec<char> = text.chars().collect();
            while let Some(last) = chars.pop() {
                if let Some(next) = next_char(last) {
                    chars.push(next);
                    return Some(AttributeValue::S(chars.into_iter().collect()));
                }
            }
            None
        }
        _ => None,
    }
}

/// The next Unicode scalar value after `c`, skipping the surrogate gap.
fn next_char(c: char) -> Option<char> {
    let mut code = u32::from(c).checked_add(1)?;
    if (0xD800..=0xDFFF).contains(&code) {
        code = 0xE000;
    }
    char::from_u32(code)
}

/// The tighter (greater) of two lower bounds.
pub fn tighter_lower(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        _ => {
            let (ka, kb) = (bound_key(&a), bound_key(&b));
            match ka.cmp(kb) {
                std::cmp::Ordering::Greater => a,
                std::cmp::Ordering::Less => b,
                // Same key: an exclusive bound excludes more.
                std::cmp::Ordering::Equal => {
                    if matches!(a, Bound::Excluded(_)) {
                        a
                    } else {
                        b
                    }
                }
            }
        }
    }
}

/// The tighter (smaller) of two upper bounds.
pub fn tighter_upper(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        _ => {
            let (ka, kb) = (bound_key(&a), bound_key(&b));
            match ka.cmp(kb) {
                std::cmp::Ordering::Less => a,
                std::cmp::Ordering::Greater => b,
                std::cmp::Ordering::Equal => {
                    if matches!(a, Bound::Excluded(_)) {
                        a
                    } else {
                        b
                    }
                }
            }
        }
    }
}

/// Whether no key can satisfy both bounds. Engines may misbehave on inverted ranges, so
/// callers skip the read instead.
pub fn is_empty_range(lower: &Bound<Vec<u8>>, upper: &Bound<Vec<u8>>) -> bool {
    match (lower, upper) {
        (Bound::Unbounded, _) | (_, Bound::Unbounded) => false,
        (Bound::Included(l), Bound::Included(u)) => l > u,
        (Bound::Included(l), Bound::Excluded(u))
        | (Bound::Excluded(l), Bound::Included(u))
        | (Bound::Excluded(l), Bound::Excluded(u)) => l >= u,
    }
}

fn bound_key(bound: &Bound<Vec<u8>>) -> &[u8] {
    match bound {
        Bound::Included(k) | Bound::Excluded(k) => k,
        Bound::Unbounded => &[],
    }
}

/// Maps a bound on a sort-key value to a bound on engine keys within `partition`.
pub fn sort_bound(partition: &[u8], bound: &Bound<AttributeValue>) -> Bound<Vec<u8>> {
    let encode = |v: &AttributeValue| {
        let mut key = Vec::with_capacity(partition.len() + 16);
        key.extend_from_slice(partition);
        encode_scalar(v, &mut key);
        key
    };
    match bound {
        Bound::Included(v) => Bound::Included(encode(v)),
        Bound::Excluded(v) => Bound::Excluded(encode(v)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_the_hash_space_exactly() {
        for total in [1u32, 2, 3, 7, 1000, 1_000_000] {
            let mut expected_lo = 0u64;
            let mut last_hi = None;
            for s in [0, total / 2, total - 1] {
                let Some((lo, hi)) = segment_hash_range(s, total) else {
                    panic!("valid segment rejected");
                };
                if s == 0 {
                    assert_eq!(lo, expected_lo);
                }
                if s == total - 1 {
                    assert_eq!(hi, None);
                }
                last_hi = hi;
                expected_lo = lo;
            }
            let _ = last_hi;
            // Adjacent segments meet.
            for s in 0..total.min(50) {
                let (_, hi) = segment_hash_range(s, total).unwrap_or((0, None));
                if let Some(hi) = hi {
                    let (next_lo, _) = segment_hash_range(s + 1, total).unwrap_or((0, None));
                    assert_eq!(hi, next_lo);
                }
            }
        }
        assert_eq!(segment_hash_range(0, 0), None);
        assert_eq!(segment_hash_range(3, 3), None);
        assert_eq!(segment_hash_range(1, 2), Some((1 << 63, None)));
    }

    #[test]
    fn scan_bounds_cover_the_prefix_or_one_segment_of_its_hashes() {
        let prefix = table_prefix(7, 2);
        let under = |hash: u64| [&prefix[..], &hash.to_be_bytes()].concat();
        let (lower, upper) = scan_bounds(&prefix, None).unwrap();
        assert_eq!(lower, Bound::Included(prefix.to_vec()));
        assert_eq!(upper, prefix_upper(&prefix));
        let (lower, upper) = scan_bounds(&prefix, Some((0, 2))).unwrap();
        assert_eq!(lower, Bound::Included(under(0)));
        assert_eq!(upper, Bound::Excluded(under(1 << 63)));
        // The last segment ends where the prefix does.
        let (lower, upper) = scan_bounds(&prefix, Some((1, 2))).unwrap();
        assert_eq!(lower, Bound::Included(under(1 << 63)));
        assert_eq!(upper, prefix_upper(&prefix));
        assert_eq!(scan_bounds(&prefix, Some((2, 2))), None);
    }

    #[test]
    fn successors() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xFF, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xFF]), None);
        assert_eq!(
            begins_with_successor(&AttributeValue::S("ab".into())),
            Some(AttributeValue::S("ac".into()))
        );
        assert_eq!(
            begins_with_successor(&AttributeValue::S("a\u{10FFFF}".into())),
            Some(AttributeValue::S("b".into()))
        );
        assert_eq!(
            begins_with_successor(&AttributeValue::S("\u{D7FF}".into())),
            Some(AttributeValue::S("\u{E000}".into()))
        );
        assert_eq!(
            begins_with_successor(&AttributeValue::S("\u{10FFFF}".into())),
            None
        );
        assert_eq!(
            begins_with_successor(&AttributeValue::B(vec![1, 0xFF])),
            Some(AttributeValue::B(vec![2]))
        );
    }

    #[test]
    fn bound_intersection() {
        let inc = |k: &[u8]| Bound::Included(k.to_vec());
        let exc = |k: &[u8]| Bound::Excluded(k.to_vec());
        assert_eq!(tighter_lower(inc(b"a"), exc(b"a")), exc(b"a"));
        assert_eq!(tighter_lower(inc(b"b"), exc(b"a")), inc(b"b"));
        assert_eq!(tighter_lower(Bound::Unbounded, inc(b"a")), inc(b"a"));
        assert_eq!(tighter_upper(inc(b"a"), exc(b"a")), exc(b"a"));
        assert_eq!(tighter_upper(inc(b"a"), exc(b"b")), inc(b"a"));
        assert!(is_empty_range(&inc(b"b"), &inc(b"a")));
        assert!(is_empty_range(&exc(b"a"), &inc(b"a")));
        assert!(!is_empty_range(&inc(b"a"), &inc(b"a")));
        assert!(!is_empty_range(&Bound::Unbounded, &inc(b"a")));
    }

    #[test]
    fn table_prefix_round_trips() {
        let p = table_prefix(0x0102_0304_0506_0708, 9);
        assert_eq!(parse_table_prefix(&p), Some((0x0102_0304_0506_0708, 9)));
        assert_eq!(parse_table_prefix(&p[..9]), None);
    }
}
