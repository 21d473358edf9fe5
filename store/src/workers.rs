//! Background tasks kept in line with what should run. Triggers, Kinesis destinations and
//! replicas each have a supervisor that, every pass, names the tasks it wants by a key
//! that changes whenever a task must start over (a new checkpoint, another address), and
//! lets [`Workers::reconcile`] stop the tasks no longer wanted and start the missing ones.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;

use tokio::task::JoinHandle;

/// The running tasks, by key.
pub struct Workers<K> {
    running: HashMap<K, JoinHandle<()>>,
}

impl<K: Eq + Hash> Default for Workers<K> {
    fn default() -> Self {
        Workers {
            running: HashMap::new(),
        }
    }
}

impl<K: Eq + Hash> Workers<K> {
    /// Stops every task whose key is not in `wanted`, and starts `start(key, value)` for
    /// each key of `wanted` without a running task (a task that ended starts again).
    pub fn reconcile<V, F>(&mut self, wanted: HashMap<K, V>, mut start: impl FnMut(&K, V) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.running.retain(|key, task| {
            let keep = wanted.contains_key(key) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for (key, value) in wanted {
            if let std::collections::hash_map::Entry::Vacant(slot) = self.running.entry(key) {
                let task = tokio::spawn(start(slot.key(), value));
                slot.insert(task);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn wanted_tasks_run_once_and_unwanted_ones_stop() {
        let started = Arc::new(AtomicUsize::new(0));
        let mut workers = Workers::default();
        let start = |_: &&str, forever: bool| {
            let started = Arc::clone(&started);
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                if forever {
                    std::future::pending::<()>().await;
                }
            }
        };
        workers.reconcile(HashMap::from([("a", true), ("b", false)]), start);
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(started.load(Ordering::SeqCst), 2);
        // "a" still runs and is left alone; "b" ended and starts again.
        workers.reconcile(HashMap::from([("a", true), ("b", false)]), start);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        assert_eq!(started.load(Ordering::SeqCst), 3);
        workers.reconcile(HashMap::from([("c", true)]), start);
        assert_eq!(workers.running.len(), 1);
        assert!(workers.running.contains_key("c"));
    }
}
