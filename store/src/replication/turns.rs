//! Turns by table name: one holder at a time of one kind of change to a table here.
//! Such changes are rare; a name's lock is dropped with its last holder.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, Weak};

use tokio::sync::{Mutex, OwnedMutexGuard};

type Locks = parking_lot::Mutex<HashMap<String, Weak<Mutex<()>>>>;

pub(super) struct Turns(OnceLock<Locks>);

impl Turns {
    pub(super) const fn new() -> Self {
        Self(OnceLock::new())
    }

    /// Waits for the turn of table `name`.
    pub(super) async fn take(&self, name: &str) -> OwnedMutexGuard<()> {
        self.of(name).lock_owned().await
    }

    /// The turn of table `name`, if no one holds it.
    pub(super) fn try_take(&self, name: &str) -> Option<OwnedMutexGuard<()>> {
        self.of(name).try_lock_owned().ok()
    }

    fn of(&self, name: &str) -> Arc<Mutex<()>> {
        let mut locks = self.0.get_or_init(Default::default).lock();
        locks.retain(|_, lock| lock.strong_count() > 0);
        if let Some(lock) = locks.get(name).and_then(Weak::upgrade) {
            return lock;
        }
        let lock = Arc::new(Mutex::new(()));
        locks.insert(name.to_string(), Arc::downgrade(&lock));
        lock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_turn_is_one_holders_at_a_time_per_name() {
        static TURNS: Turns = Turns::new();
        let held = TURNS.take("turns-test").await;
        assert!(TURNS.try_take("turns-test").is_none());
        assert!(TURNS.try_take("turns-other").is_some());
        drop(held);
        assert!(TURNS.try_take("turns-test").is_some());
    }
}
