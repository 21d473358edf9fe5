//! Vector search: reading an item's vector and scoring it against a search vector.
//!
//! Scores follow DynamoDB's definitions (SearchVectors' API reference): COSINE is 1 minus
//! the cosine similarity (0 for the same direction, 2 for opposite), EUCLIDEAN the
//! distance, both best when smallest; DOT_PRODUCT the dot product, best when largest.
//! Components are 32-bit floats, as DynamoDB stores them for its index; sums run in f64,
//! where no product of two of them overflows, so every score is a finite number.

use shared::model::size::{attributes_size, item_size};
use shared::model::{AttributeValue, Item, KeySchema};
use shared::wire::ops::vector::vector_component;

use crate::catalog::vector::{Distance, VectorIndexMeta};

/// The fewest bytes a write is charged on a vector index it changes.
pub const MIN_WRITE_BYTES: usize = 1024;

/// `value` as a vector of `dimensions` components: a list of exactly that many numbers
/// that read as 32-bit floats. Anything else is not a vector of the index (the item is
/// not in it).
pub fn vector_of(value: &AttributeValue, dimensions: usize) -> Option<Vec<f32>> {
    let AttributeValue::L(list) = value else {
        return None;
    };
    if list.len() != dimensions {
        return None;
    }
    list.iter().map(vector_component).collect()
}

/// What `index` holds of `item`: the attributes it projects, in the item's order; `None`
/// when the item is not in the index (no vector of its dimensions, or, under a HASH
/// search schema, no value for it).
pub fn entry<'a>(
    index: &VectorIndexMeta,
    table_schema: &KeySchema,
    item: &'a Item,
) -> Option<Vec<(&'a String, &'a AttributeValue)>> {
    vector_of(item.get(&index.attribute)?, index.dimensions)?;
    if let Some(hash) = index.hash_attribute() {
        item.get(hash)?;
    }
    let kept = item
        .iter()
        .filter(|(name, _)| index.projects(table_schema, name));
    Some(kept.collect())
}

/// The bytes a write that changed `entry` of `index` is charged (`VectorWriteRequestBytes`,
/// as the dynamodb-conformance suite pinned it, tier2/vectorSearch/consumedCapacity): the
/// entry's item size with the vector counted as its name and four bytes a dimension,
/// and at least [`MIN_WRITE_BYTES`].
pub fn write_bytes(index: &VectorIndexMeta, entry: &[(&String, &AttributeValue)]) -> usize {
    entry_size(index, entry).max(MIN_WRITE_BYTES)
}

/// The size of `entry` in `index`: its item size with the vector counted as its name and
/// four bytes a dimension (what a write is billed by, and IndexSizeBytes sums).
pub fn entry_size(index: &VectorIndexMeta, entry: &[(&String, &AttributeValue)]) -> usize {
    let others = entry
        .iter()
        .copied()
        .filter(|(name, _)| **name != index.attribute);
    attributes_size(others) + index.attribute.len() + 4 * index.dimensions
}

/// The size a write of `item` is billed at on a table with vector `indexes`: its item size
/// with each vector an index reads counted as its name and four bytes a dimension, as
/// DynamoDB bills it (the conformance suite's captures, tier2/vectorSearch/
/// consumedCapacity); reads and the 400 KB limit size the vector by its numbers.
pub fn billed_size(indexes: &[VectorIndexMeta], item: &Item) -> usize {
    let mut size = item_size(item);
    let mut counted: Vec<&str> = Vec::new();
    for index in indexes {
        if counted.contains(&index.attribute.as_str()) {
            continue;
        }
        let Some((name, value)) = item.get_key_value(&index.attribute) else {
            continue;
        };
        if vector_of(value, index.dimensions).is_some() {
            let stored = attributes_size(std::iter::once((name, value)));
            size = size - stored + name.len() + 4 * index.dimensions;
            counted.push(&index.attribute);
        }
    }
    size
}

/// The score of `item` against `search` (same length) under `distance`.
pub fn score(distance: Distance, search: &[f32], item: &[f32]) -> f64 {
    let pairs = || {
        search
            .iter()
            .zip(item)
            .map(|(a, b)| (f64::from(*a), f64::from(*b)))
    };
    let dot: f64 = pairs().map(|(a, b)| a * b).sum();
    match distance {
        Distance::DotProduct => dot,
        Distance::Euclidean => pairs().map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt(),
        Distance::Cosine => {
            let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
            let norms = norm(search) * norm(item);
            // A zero vector has no direction: as far from every vector as orthogonal.
            if norms == 0.0 {
                1.0
            } else {
                (1.0 - dot / norms).clamp(0.0, 2.0)
            }
        }
    }
}

/// Whether score `a` ranks before score `b` under `distance` (best first).
pub fn ranks_before(distance: Distance, a: f64, b: f64) -> bool {
    match distance {
        Distance::DotProduct => a > b,
        Distance::Cosine | Distance::Euclidean => a < b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::Number;

    fn list(values: &[&str]) -> AttributeValue {
        AttributeValue::L(
            values
                .iter()
                .map(|v| AttributeValue::N(Number::parse(v).unwrap()))
                .collect(),
        )
    }

    #[test]
    fn vectors_are_lists_of_exactly_the_dimensions_in_numbers() {
        assert_eq!(
            vector_of(&list(&["1", "0.5", "-2"]), 3),
            Some(vec![1.0, 0.5, -2.0])
        );
        assert_eq!(vector_of(&list(&["1", "0"]), 3), None);
        let mixed = AttributeValue::L(vec![
            AttributeValue::N(Number::from_i64(1)),
            AttributeValue::S("x".into()),
        ]);
        assert_eq!(vector_of(&mixed, 2), None);
        // Past a 32-bit float's range is not a component.
        assert_eq!(vector_of(&list(&["1e39"]), 1), None);
        assert_eq!(vector_of(&AttributeValue::S("1".into()), 1), None);
    }

    #[test]
    fn scores_follow_each_distance_function() {
        let (x, y, minus_x) = ([1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]);
        assert_eq!(score(Distance::Cosine, &x, &[2.0, 0.0]), 0.0);
        assert!((score(Distance::Cosine, &x, &y) - 1.0).abs() < 1e-9);
        assert!((score(Distance::Cosine, &x, &minus_x) - 2.0).abs() < 1e-9);
        assert!((score(Distance::Euclidean, &x, &y) - 2f64.sqrt()).abs() < 1e-9);
        // The largest 32-bit floats square past f32's range, not f64's.
        let huge = [f32::MAX, -f32::MAX];
        assert!(score(Distance::Euclidean, &huge, &[-f32::MAX, f32::MAX]).is_finite());
        assert!(score(Distance::Cosine, &huge, &huge).abs() < 1e-9);
        assert_eq!(score(Distance::DotProduct, &[1.0, 2.0], &[3.0, 4.0]), 11.0);
        assert!(ranks_before(Distance::DotProduct, 2.0, 1.0));
        assert!(ranks_before(Distance::Cosine, 0.1, 0.2));
        assert_eq!(score(Distance::Cosine, &[0.0, 0.0], &x), 1.0);
    }
}
