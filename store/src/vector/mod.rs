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

/// Partial sums a score keeps apart: additions into different sums do not wait on each
/// other, and the compiler runs them side by side in vector registers.
const LANES: usize = 8;

/// A search vector ready to score entries against: its components widened once, and its
/// norm (which every COSINE score divides by).
pub struct SearchVector {
    components: Vec<f64>,
    norm: f64,
}

impl SearchVector {
    pub fn new(components: &[f32]) -> Self {
        let components: Vec<f64> = components.iter().copied().map(f64::from).collect();
        let norm = components.iter().map(|a| a * a).sum::<f64>().sqrt();
        SearchVector { components, norm }
    }

    /// The score of `item` (as long as the search vector) under `distance`.
    pub fn score(&self, distance: Distance, item: &[f32]) -> f64 {
        let search = &self.components;
        match distance {
            Distance::DotProduct => sum_of(search, item, |a, b| a * b),
            Distance::Euclidean => sum_of(search, item, |a, b| (a - b) * (a - b)).sqrt(),
            Distance::Cosine => {
                let dot = sum_of(search, item, |a, b| a * b);
                let norms = self.norm * sum_of(search, item, |_, b| b * b).sqrt();
                // A zero vector has no direction: as far from every vector as orthogonal.
                if norms == 0.0 {
                    1.0
                } else {
                    (1.0 - dot / norms).clamp(0.0, 2.0)
                }
            }
        }
    }
}

/// The sum of `term(a[i], b[i])` over both vectors (of one length), in f64, where no
/// product of two f32s loses a bit or overflows, in [`LANES`] partial sums.
fn sum_of(a: &[f64], b: &[f32], term: impl Fn(f64, f64) -> f64) -> f64 {
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| term(*x, f64::from(*y)))
        .sum();
    let mut lanes = [0.0f64; LANES];
    for (x, y) in a_chunks.zip(b_chunks) {
        for lane in 0..LANES {
            lanes[lane] += term(x[lane], f64::from(y[lane]));
        }
    }
    lanes.iter().sum::<f64>() + tail
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

    fn score(distance: Distance, search: &[f32], item: &[f32]) -> f64 {
        SearchVector::new(search).score(distance, item)
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

    #[test]
    fn partial_sums_cover_every_component() {
        // 2 * LANES + 3 components: whole chunks and a tail.
        let search: Vec<f32> = (0..19).map(|i| i as f32).collect();
        let item: Vec<f32> = (0..19).map(|i| (i % 5) as f32 - 2.0).collect();
        let dot: f64 = search
            .iter()
            .zip(&item)
            .map(|(a, b)| f64::from(a * b))
            .sum();
        assert_eq!(score(Distance::DotProduct, &search, &item), dot);
        let squares: f64 = search
            .iter()
            .zip(&item)
            .map(|(a, b)| f64::from((a - b) * (a - b)))
            .sum();
        assert_eq!(score(Distance::Euclidean, &search, &item), squares.sqrt());
    }
}
