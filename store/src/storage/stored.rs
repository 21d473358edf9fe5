//! An item as the engine holds it, not yet decoded: reads that answer with whole items
//! serialize it straight from its bytes (`json_out::EncodedItem`), and reads that filter,
//! project or inspect it decode it.

use serde::{Serialize, Serializer};
use shared::model::json_out::EncodedItem;
use shared::model::Item;

use super::engine::Bytes;
use super::{decode_value, item_bytes, stored_size, StorageError};

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
