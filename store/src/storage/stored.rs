//! An item as the engine holds it, not yet decoded: reads that answer with whole items
//! serialize it straight from its bytes (`json_out::EncodedItem`), and reads that filter,
//! project or inspect it decode it. Also the stored value's format (the item codec's
//! bytes, then the item's size), which every reader and writer of items goes through.

use serde::{Serialize, Serializer};
use shared::model::codec::{decode_item, encode_item};
use shared::model::json_out::EncodedItem;
use shared::model::Item;

use super::engine::Bytes;
use super::StorageError;

/// One stored item (or index entry): its engine key and value, shared with the engine's
/// block cache rather than copied.
#[derive(Clone)]
pub struct StoredItem {
    key: Bytes,
    value: Bytes,
}

impl StoredItem {
    pub(super) fn new(key: Bytes, value: Bytes) -> Self {
        StoredItem { key, value }
    }

    #[cfg(test)]
    pub(super) fn key(&self) -> &[u8] {
        &self.key
    }

    /// The item's DynamoDB size, written beside it (see `encode_value`).
    pub fn size(&self) -> usize {
        usize::try_from(stored_size(&self.value)).unwrap_or(usize::MAX)
    }

    /// The length of the stored encoding (names, values, type tags, lengths).
    pub fn encoded_len(&self) -> usize {
        self.value.len()
    }

    pub fn decode(&self) -> Result<Item, StorageError> {
        decode_value(&self.key, &self.value)
    }
}

impl std::fmt::Debug for StoredItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredItem")
            .field("key", &&self.key[..])
            .field("size", &self.size())
            .finish()
    }
}

/// DynamoDB JSON of the item; corrupt bytes fail the serialization (an internal error).
impl Serialize for StoredItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        EncodedItem(item_bytes(&self.value)).serialize(serializer)
    }
}

/// Stored item value: the item codec's bytes followed by the item's DynamoDB size (u32 BE),
/// so stats can be rebuilt and deltas computed without decoding items.
pub(super) fn encode_value(item: &Item, size: u64) -> Vec<u8> {
    let mut value = encode_item(item);
    value.extend_from_slice(&u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes());
    value
}

/// The item codec's part of a stored value (empty for a value too short to have a trailer,
/// which then fails to decode).
pub(super) fn item_bytes(value: &[u8]) -> &[u8] {
    value
        .get(..value.len().saturating_sub(4))
        .unwrap_or_default()
}

/// The size trailer of a stored value (0 if missing).
pub(super) fn stored_size(value: &[u8]) -> u64 {
    value
        .len()
        .checked_sub(4)
        .and_then(|at| value.get(at..))
        .and_then(|tail| <[u8; 4]>::try_from(tail).ok())
        .map_or(0, |b| u64::from(u32::from_be_bytes(b)))
}

/// The item a stored value holds; `key` names it in the error if it is corrupt.
pub(super) fn decode_value(key: &[u8], value: &[u8]) -> Result<Item, StorageError> {
    if value.len() < 4 {
        return Err(StorageError::Corrupt(key.to_vec()));
    }
    decode_item(item_bytes(value)).ok_or_else(|| StorageError::Corrupt(key.to_vec()))
}
