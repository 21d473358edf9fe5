//! An item in a read's answer: as stored, serialized straight from its encoding (a whole
//! item, the common case), or decoded and reshaped by the read (a projection).

use serde::{Serialize, Serializer};
use shared::model::Item;

use crate::storage::StoredItem;

#[derive(Debug)]
pub enum ReadItem {
    Stored(StoredItem),
    Shaped(Item),
}

impl Serialize for ReadItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ReadItem::Stored(stored) => stored.serialize(serializer),
            ReadItem::Shaped(item) => item.serialize(serializer),
        }
    }
}
