//! `x-amzn-RequestId` values shaped like DynamoDB's: 52 uppercase alphanumerics, unique per
//! process run (a random per-process prefix, then a counter), cheap enough for every request.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct RequestIds {
    prefix: String,
    counter: AtomicU64,
}

impl RequestIds {
    pub fn new() -> Self {
        // Two independently seeded std hashers give 128 random bits without another crate.
        let a = RandomState::new().hash_one(0u8);
        let b = RandomState::new().hash_one(1u8);
        RequestIds {
            prefix: format!("{a:016X}{b:016X}"),
            counter: AtomicU64::new(0),
        }
    }

    pub fn next(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("{}{:020}", self.prefix, n)
    }
}

impl Default for RequestIds {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_52_uppercase_alphanumerics_and_unique() {
        let ids = RequestIds::new();
        let (a, b) = (ids.next(), ids.next());
        assert_eq!(a.len(), 52);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_ne!(a, b);
    }
}
