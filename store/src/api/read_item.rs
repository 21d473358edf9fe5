//! An item in a read's answer: as stored, serialized straight from its encoding (a whole
//! item, the common case), or decoded and reshaped by the read (a projection).

use serde::{Serialize, Serializer};
use shared::model::size::item_size;
use shared::model::Item;
use shared::wire::ops::batch_get_item::BatchGetItemOutput;
use shared::wire::ops::get_item::GetItemOutput;
use shared::wire::ops::query::QueryOutput;
use shared::wire::ops::scan::ScanOutput;

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

impl ReadItem {
    /// Roughly how long the item's JSON is, erring long: its encoding, plus what JSON adds
    /// around each attribute (`"name":{"S":"..."}` against a name, a tag and two lengths).
    fn json_len_estimate(&self) -> usize {
        let encoded = match self {
            ReadItem::Stored(stored) => stored.encoded_len(),
            ReadItem::Shaped(item) => item_size(item),
        };
        encoded + encoded / 2 + 64
    }
}

/// An estimate of an answer's JSON length, so that its buffer is sized once
/// (`json_out::to_vec_with_capacity`); under-estimates only cost a regrowth.
pub trait JsonLenEstimate {
    fn json_len_estimate(&self) -> usize;
}

/// Room for the members around the items (counts, keys, capacity).
const ENVELOPE_BYTES: usize = 256;

fn items_estimate<'a>(items: impl IntoIterator<Item = &'a ReadItem>) -> usize {
    items
        .into_iter()
        .map(ReadItem::json_len_estimate)
        .sum::<usize>()
        + ENVELOPE_BYTES
}

impl JsonLenEstimate for GetItemOutput<ReadItem> {
    fn json_len_estimate(&self) -> usize {
        items_estimate(&self.item)
    }
}

impl JsonLenEstimate for ScanOutput<ReadItem> {
    fn json_len_estimate(&self) -> usize {
        items_estimate(self.items.iter().flatten())
    }
}

impl JsonLenEstimate for QueryOutput<ReadItem> {
    fn json_len_estimate(&self) -> usize {
        items_estimate(self.items.iter().flatten())
    }
}

impl JsonLenEstimate for BatchGetItemOutput<ReadItem> {
    fn json_len_estimate(&self) -> usize {
        items_estimate(self.responses.values().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::{json_out, AttributeValue};

    #[test]
    fn estimates_cover_the_json_of_typical_items() {
        let mut item = Item::new();
        item.insert("pk".into(), AttributeValue::S("user#1".into()));
        item.insert("payload".into(), AttributeValue::S("x".repeat(1000)));
        item.insert("n".into(), AttributeValue::N("42".parse().unwrap()));
        let page = QueryOutput {
            items: Some((0..10).map(|_| ReadItem::Shaped(item.clone())).collect()),
            count: 10,
            scanned_count: 10,
            last_evaluated_key: None,
            consumed_capacity: None,
        };
        let json = json_out::to_vec(&page).unwrap();
        assert!(page.json_len_estimate() >= json.len());
        assert!(page.json_len_estimate() < 2 * json.len());
    }
}
