//! `x-amzn-RequestId` values shaped like DynamoDB's: 52 uppercase alphanumerics, unique per
//! process run (a random per-process prefix, then a counter), cheap enough for every request:
//! built in a stack buffer, no formatting machinery, no allocation.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};

const PREFIX_LEN: usize = 32;
const COUNTER_DIGITS: usize = 20;
const ID_LEN: usize = PREFIX_LEN + COUNTER_DIGITS;

pub struct RequestIds {
    prefix: [u8; PREFIX_LEN],
    counter: AtomicU64,
}

/// One request id: ASCII uppercase hex prefix and decimal counter.
#[derive(Clone, Copy)]
pub struct RequestId([u8; ID_LEN]);

impl RequestId {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII hex digits and decimal digits are ever written.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl RequestIds {
    pub fn new() -> Self {
        // Two independently seeded std hashers give 128 random bits without another crate.
        let mut prefix = [0u8; PREFIX_LEN];
        let seeds = [
            RandomState::new().hash_one(0u8),
            RandomState::new().hash_one(1u8),
        ];
        for (i, slot) in prefix.iter_mut().enumerate() {
            let nibble = (seeds[i / 16] >> (60 - 4 * (i % 16))) & 0xf;
            *slot = b"0123456789ABCDEF"[nibble as usize];
        }
        RequestIds {
            prefix,
            counter: AtomicU64::new(0),
        }
    }

    pub fn next(&self) -> RequestId {
        let mut n = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut id = [b'0'; ID_LEN];
        id[..PREFIX_LEN].copy_from_slice(&self.prefix);
        // u64::MAX has 20 digits, so the counter always fits, zero-padded on the left.
        for slot in id[PREFIX_LEN..].iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        RequestId(id)
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
        assert_eq!(a.as_str().len(), 52);
        assert!(a
            .as_bytes()
            .iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
        assert_ne!(a.as_str(), b.as_str());
        assert!(a.as_str().ends_with("00000000000000000000"));
        assert!(b.as_str().ends_with("00000000000000000001"));
    }

    #[test]
    fn the_prefix_is_random_per_generator() {
        assert_ne!(
            RequestIds::new().next().as_str()[..PREFIX_LEN],
            RequestIds::new().next().as_str()[..PREFIX_LEN]
        );
    }
}
