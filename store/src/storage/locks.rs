//! Striped key locks that serialize read-decide-commit cycles per item.
//!
//! A key maps to one of [`STRIPES`] async mutexes by hashing its engine key. A writer locks
//! the stripes of all its targets in ascending stripe order, after removing duplicates, so
//! two writers whose key sets overlap (in any order) always contend on their lowest shared
//! stripe first and can never wait on each other in a cycle. Nothing else is ever held
//! while waiting for a stripe, so this order is the whole deadlock argument.
//!
//! Guards are owned (`OwnedMutexGuard`) so that the write path can hand them to the
//! group-commit thread together with the batch: the locks are then released exactly when
//! the batch is visible in the engine, even if the writing task is cancelled meanwhile.
//! Unrelated keys that share a stripe serialize with each other; with 1024 stripes this is
//! rare and only costs waiting, never correctness.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedMutexGuard};
use xxhash_rust::xxh3::xxh3_64;

/// Number of stripes: enough that unrelated keys rarely share one, small enough to keep.
pub const STRIPES: usize = 1024;

/// Held stripes of one writer; dropping it releases them.
pub type LockSet = Vec<OwnedMutexGuard<()>>;

/// The stripe table.
pub struct StripedLocks {
    stripes: Vec<Arc<Mutex<()>>>,
}

impl StripedLocks {
    pub fn new() -> Self {
        StripedLocks {
            stripes: (0..STRIPES).map(|_| Arc::new(Mutex::new(()))).collect(),
        }
    }

    /// The stripe index of an engine key.
    fn stripe_of(key: &[u8]) -> usize {
        // Truncating the hash is intended: only its low bits pick the stripe.
        (xxh3_64(key) % STRIPES as u64) as usize
    }

    /// Locks the stripes of every key in ascending stripe order and returns the guards.
    pub async fn lock<K: AsRef<[u8]>>(&self, keys: &[K]) -> LockSet {
        let mut wanted: Vec<usize> = keys.iter().map(|k| Self::stripe_of(k.as_ref())).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut held = Vec::with_capacity(wanted.len());
        for index in wanted {
            if let Some(stripe) = self.stripes.get(index) {
                held.push(Arc::clone(stripe).lock_owned().await);
            }
        }
        held
    }
}

impl Default for StripedLocks {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn duplicate_and_colliding_keys_do_not_self_deadlock() {
        let locks = StripedLocks::new();
        let keys = vec![b"a".to_vec(), b"b".to_vec(), b"a".to_vec()];
        let held = locks.lock(&keys).await;
        // "a" and "b" may share a stripe; the duplicate "a" never adds one.
        assert!(held.len() == 1 || held.len() == 2);
        drop(held);
        // Reacquirable after release.
        let again = locks.lock(&keys).await;
        assert!(!again.is_empty());
    }
}
