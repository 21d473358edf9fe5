//! Vector search's arithmetic: scoring an entry's vector against a search vector, and the
//! bytes a write is billed on a table with vector indexes.
//!
//! Scores follow DynamoDB's definitions (SearchVectors' API reference): COSINE is 1 minus
//! the cosine similarity (0 for the same direction, 2 for opposite), EUCLIDEAN the
//! distance, both best when smallest; DOT_PRODUCT the dot product, best when largest.
//! Components are 32-bit floats, as DynamoDB stores them for its index; sums run in f64,
//! where no product of two of them overflows, so every score is a finite number.

use shared::model::size::{attributes_size, item_size};
use shared::model::Item;

use crate::catalog::vector::Distance;
use crate::storage::{vector_of, VectorIndexEntry, VectorLayout};

/// The fewest bytes a write is charged on a vector index it changes.
pub const MIN_WRITE_BYTES: usize = 1024;

/// The bytes a write that changed `entry` of `index` is charged (`VectorWriteRequestBytes`,
/// as the dynamodb-conformance suite pinned it, tier2/vectorSearch/consumedCapacity): the
/// entry's size (`VectorLayout::entry_size`), and at least [`MIN_WRITE_BYTES`].
pub fn write_bytes(index: &VectorLayout, entry: &VectorIndexEntry<'_>) -> usize {
    index.entry_size(entry).max(MIN_WRITE_BYTES)
}

/// The size a write of `item` is billed at on a table with vector `indexes`: its item size
/// with each vector an index reads counted as its name and four bytes a dimension, as
/// DynamoDB bills it (the conformance suite's captures, tier2/vectorSearch/
/// consumedCapacity); reads and the 400 KB limit size the vector by its numbers.
pub fn billed_size(indexes: &[VectorLayout], item: &Item) -> usize {
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
