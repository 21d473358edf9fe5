//! The heaviest keys of a stream of weighted events in bounded memory: the Space-Saving
//! algorithm (Metwally, Agrawal, El Abbadi, 2005).
//!
//! At most `capacity` keys are counted. An event for a counted key adds its weight; an
//! event for a new key, when the table is full, replaces the lightest counted key and
//! starts from that key's count plus its own weight. So a count may overstate a key by at
//! most the evicted count (kept as `error`), never understate it, and every key whose true
//! total exceeds (total weight / capacity) is among the counted ones: the hot keys are
//! never lost, whatever the number of cold ones.

use std::collections::HashMap;

/// One counted key's estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Upper bound of the key's total weight.
    pub count: f64,
    /// How much of `count` may belong to keys it displaced.
    pub error: f64,
}

/// Space-Saving counters for up to `capacity` keys.
#[derive(Debug, Clone)]
pub struct TopKeys<K> {
    capacity: usize,
    counted: HashMap<K, Estimate>,
}

impl<K: std::hash::Hash + Eq + Clone + Ord> TopKeys<K> {
    pub fn new(capacity: usize) -> Self {
        TopKeys {
            capacity: capacity.max(1),
            counted: HashMap::new(),
        }
    }

    /// Counts `weight` for `key`.
    pub fn add(&mut self, key: &K, weight: f64) {
        if let Some(estimate) = self.counted.get_mut(key) {
            estimate.count += weight;
            return;
        }
        if self.counted.len() < self.capacity {
            self.counted.insert(
                key.clone(),
                Estimate {
                    count: weight,
                    error: 0.0,
                },
            );
            return;
        }
        // Full: the new key takes the lightest key's place and inherits its count. A linear
        // scan is enough at the few hundred keys this is used with.
        let lightest = self
            .counted
            .iter()
            .min_by(|a, b| a.1.count.total_cmp(&b.1.count).then_with(|| a.0.cmp(b.0)))
            .map(|(k, e)| (k.clone(), e.count));
        if let Some((evicted, floor)) = lightest {
            self.counted.remove(&evicted);
            self.counted.insert(
                key.clone(),
                Estimate {
                    count: floor + weight,
                    error: floor,
                },
            );
        }
    }

    /// The `n` heaviest keys, heaviest first (ties by key, so the order is stable).
    pub fn top(&self, n: usize) -> Vec<(K, Estimate)> {
        let mut all: Vec<(K, Estimate)> =
            self.counted.iter().map(|(k, e)| (k.clone(), *e)).collect();
        all.sort_by(|a, b| b.1.count.total_cmp(&a.1.count).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_exactly_while_there_is_room() {
        let mut top = TopKeys::new(4);
        for (key, weight) in [("a", 1.0), ("b", 2.0), ("a", 3.0), ("c", 0.5)] {
            top.add(&key, weight);
        }
        let got: Vec<_> = top.top(2).into_iter().map(|(k, e)| (k, e.count)).collect();
        assert_eq!(got, vec![("a", 4.0), ("b", 2.0)]);
        assert!(top.top(10).iter().all(|(_, e)| e.error == 0.0));
    }

    #[test]
    fn hot_keys_survive_any_number_of_cold_ones() {
        let mut top = TopKeys::new(8);
        // Two hot keys, each a fifth of the events, among 10,000 keys seen once or twice.
        for i in 0..10_000u32 {
            top.add(&format!("cold-{}", i % 7_000), 1.0);
            if i % 2 == 0 {
                top.add(&"hot-1".to_string(), 1.0);
                top.add(&"hot-2".to_string(), 1.5);
            }
        }
        let got: Vec<String> = top.top(2).into_iter().map(|(k, _)| k).collect();
        assert_eq!(got, vec!["hot-2".to_string(), "hot-1".to_string()]);
        // Never an underestimate, and the overstatement is bounded by `error`.
        let (_, hot1) = top.top(2)[1];
        assert!(hot1.count >= 5_000.0 && hot1.count - hot1.error <= 5_000.0);
    }

    #[test]
    fn an_evicting_key_inherits_the_lightest_count() {
        let mut top = TopKeys::new(2);
        top.add(&"a", 5.0);
        top.add(&"b", 1.0);
        top.add(&"c", 2.0);
        let got = top.top(2);
        assert_eq!(got[0].0, "a");
        assert_eq!(
            got[1],
            (
                "c",
                Estimate {
                    count: 3.0,
                    error: 1.0
                }
            )
        );
    }
}
