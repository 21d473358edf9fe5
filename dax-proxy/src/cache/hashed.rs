//! Cache keys as 64-bit hashes.
//!
//! moka keeps every key behind its own `Arc`, and a hit compares keys by following
//! pointers: bucket → `Arc` → boxed bytes, each a likely cache miss once the cache outgrows
//! the CPU's caches. Keyed by a `u64` instead, an entry costs two heap blocks less and a hit
//! two dependent loads less. The full key still decides: it is stored in the entry
//! ([`super::ReadyBody::key`]) and compared on every hit, so two keys sharing a hash only
//! displace each other (a spurious miss), never answer for each other.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

/// Hashes full keys with a per-cache random seed, so that clients cannot choose keys that
/// collide on purpose.
pub struct KeyHasher {
    seed: u64,
}

impl KeyHasher {
    pub fn new() -> Self {
        KeyHasher {
            seed: RandomState::new().hash_one(0u64),
        }
    }

    pub fn hash(&self, key: &[u8]) -> u64 {
        xxhash_rust::xxh3::xxh3_64_with_seed(key, self.seed)
    }
}

impl Default for KeyHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// moka's hasher for keys that already are well-mixed hashes: passes the `u64` through
/// instead of hashing it a second time.
#[derive(Default)]
pub struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    /// Only `u64` keys are hashed with this; anything else still gets a usable hash.
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }
}

pub type PreHashed = BuildHasherDefault<PassThrough>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_between_caches_and_hashes_are_stable_within_one() {
        let (a, b) = (KeyHasher::new(), KeyHasher::new());
        assert_eq!(a.hash(b"key"), a.hash(b"key"));
        assert_ne!(a.hash(b"key"), a.hash(b"kez"));
        assert_ne!(a.hash(b"key"), b.hash(b"key"));
    }

    #[test]
    fn pass_through_keeps_the_hash() {
        assert_eq!(PreHashed::default().hash_one(0xdead_beef_u64), 0xdead_beef);
    }
}
