//! Item versions for global tables: who wrote an item last, and when.
//!
//! Replicas of a global table converge by "last writer wins": every change carries the
//! version it got where it was first made (that region's commit time and the region's
//! name), and a replica applies a change from another region only if its version is newer
//! than the one the item has there. Both regions compare the same two versions, so both
//! keep the same write.
//!
//! A version lives beside its item, under the same key with the reserved index id
//! [`VERSIONS_INDEX`]: a table's reads never see it, a dropped table's range removal
//! takes it along, and it outlives a delete as the tombstone that keeps an older write
//! from bringing the item back. Only tables with replicas keep versions; an item without
//! one was written before its table had any, and loses to every replicated write.
//!
//! Value: `u64 BE time_ms | region (UTF-8)`.

use std::cmp::Ordering;

use super::keys;

/// The index id under which a table's item versions live (secondary indexes count up from
/// 1 and a table has at most 25).
pub const VERSIONS_INDEX: u16 = u16::MAX;

/// When and where a write was first made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// The commit time in the region that made the write, ms since the Unix epoch.
    pub time_ms: u64,
    pub region: String,
}

impl Version {
    /// The stored form.
    pub fn encode(&self) -> Vec<u8> {
        encode(self.time_ms, &self.region)
    }

    /// A stored version; `None` if malformed.
    pub fn decode(bytes: &[u8]) -> Option<Version> {
        let time: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
        let region = std::str::from_utf8(bytes.get(8..)?).ok()?;
        Some(Version {
            time_ms: u64::from_be_bytes(time),
            region: region.to_string(),
        })
    }
}

/// Newer time wins; the region's name breaks a tie, so every replica picks the same write.
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time_ms, &self.region).cmp(&(other.time_ms, &other.region))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The stored form of a version made of its parts.
pub fn encode(time_ms: u64, region: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + region.len());
    out.extend_from_slice(&time_ms.to_be_bytes());
    out.extend_from_slice(region.as_bytes());
    out
}

/// The key of the version of the item stored under `item_key`: the same key under
/// [`VERSIONS_INDEX`].
pub fn version_key(item_key: &[u8]) -> Vec<u8> {
    keys::in_index(item_key, VERSIONS_INDEX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::{AttributeValue, KeySchema, PrimaryKey};

    #[test]
    fn versions_round_trip_and_order_by_time_then_region() {
        let v = |time_ms, region: &str| Version {
            time_ms,
            region: region.into(),
        };
        let a = v(1_700_000_000_000, "us-east-1");
        assert_eq!(Version::decode(&a.encode()), Some(a.clone()));
        assert_eq!(Version::decode(b"short"), None);
        assert!(v(2, "a") > v(1, "z"));
        assert!(v(1, "b") > v(1, "a"));
        assert_eq!(v(1, "a").cmp(&v(1, "a")), Ordering::Equal);
    }

    #[test]
    fn a_version_sits_beside_its_item_outside_the_tables_range() {
        let key = PrimaryKey {
            hash: AttributeValue::S("p".into()),
            range: None,
        };
        let item = keys::item_key(7, &key);
        let version = version_key(&item);
        assert_eq!(version.len(), item.len());
        assert_eq!(&version[..8], &item[..8]);
        assert_eq!(&version[8..10], &VERSIONS_INDEX.to_be_bytes());
        assert_eq!(&version[10..], &item[10..]);
        assert!(!version.starts_with(&keys::table_prefix(7, keys::TABLE_INDEX)));
        let attr = |name: &str| shared::model::KeyAttr {
            name: name.into(),
            ty: shared::model::ScalarType::S,
        };
        let hash_only = KeySchema::new(attr("pk"), None);
        assert_eq!(
            keys::primary_key_of(&version, &hash_only),
            Some(key.clone())
        );
        assert_eq!(keys::primary_key_of(&item, &hash_only), Some(key.clone()));
        let ranged = PrimaryKey {
            hash: AttributeValue::S("p".into()),
            range: Some(AttributeValue::S("s".into())),
        };
        let with_range = KeySchema::new(attr("pk"), Some(attr("sk")));
        let version = version_key(&keys::item_key(7, &ranged));
        assert_eq!(keys::primary_key_of(&version, &with_range), Some(ranged));
        assert_eq!(keys::primary_key_of(&version, &hash_only), None);
        assert_eq!(keys::primary_key_of(&version[..12], &hash_only), None);
    }
}
