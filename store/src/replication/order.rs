//! The order of membership tells. A region tells the others who the replicas are after
//! each change of them, from whichever task made the change; two changes made at once (two
//! replicas made in their regions in the same moment) tell from two tasks, and a tell
//! tried again after a failure may arrive after a newer one. So each tell carries the
//! generation of the replica list it describes, and a region keeps only the newest list
//! each teller sent: an older one arriving last would drop a replica it did not know of
//! yet, whose shipments would then be refused there.
//!
//! A table's generation advances with every write of its replica list (`set_replicas`):
//! its wall-clock milliseconds, or one more than the last if the clock has not moved past
//! it. Kept apart from the replica list, so it survives the table becoming regional again
//! (a region that heard a generation from it must hear a higher one if it is added back)
//! and, through the clock, the table being deleted and made again under its name.
//!
//! Tells from different regions are not ordered against each other: each region's
//! generations only order its own tells.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::meta::{read_setting, write_setting, Settings};
use crate::catalog::TableMeta;

/// The key of a table's [`Order`] in its settings.
const ORDER_KEY: &str = "replication_order";

#[derive(Debug, Default, Serialize, Deserialize)]
struct Order {
    /// The generation of the table's replica list as last written here.
    generation: u64,
    /// The newest generation each other region told this one, by region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    heard: BTreeMap<String, u64>,
}

fn order(settings: &Settings) -> Order {
    read_setting::<Order>(settings, ORDER_KEY).unwrap_or_default()
}

fn set_order(settings: &mut Settings, order: &Order) {
    // A number and a map of numbers always serialize.
    let _ = write_setting(settings, ORDER_KEY, order);
}

/// The generation after `last` at `now_ms`: the clock's, unless it has not passed `last`.
fn after(last: u64, now_ms: u64) -> u64 {
    now_ms.max(last + 1)
}

/// Advances the generation of the replica list kept in `settings` (it is being written).
pub(super) fn advance(settings: &mut Settings) {
    let mut order = order(settings);
    order.generation = after(order.generation, shared::clock::now_ms());
    set_order(settings, &order);
}

/// The generation of `table`'s replica list: what a tell of that list carries.
pub(super) fn generation(table: &TableMeta) -> u64 {
    order(&table.settings).generation
}

/// A generation past every one `table`'s tells carried, for a last tell about a table
/// that is gone here (nothing is written to it any more).
pub(super) fn last(table: &TableMeta) -> u64 {
    after(generation(table), shared::clock::now_ms())
}

/// Region `from` told a replica list of `generation`: whether it is newer than every one
/// it told before (to take), recorded in `settings` if so.
pub(super) fn hear(settings: &mut Settings, from: &str, generation: u64) -> bool {
    let mut order = order(settings);
    if order
        .heard
        .get(from)
        .is_some_and(|&heard| heard >= generation)
    {
        return false;
    }
    order.heard.insert(from.to_string(), generation);
    set_order(settings, &order);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generation_follows_the_clock_and_never_repeats() {
        assert_eq!(after(0, 1_000), 1_000);
        assert_eq!(after(1_000, 1_000), 1_001);
        // A clock set back does not take the generation back.
        assert_eq!(after(5_000, 1_000), 5_001);
        let mut settings = Settings::new();
        let mut seen = Vec::new();
        for _ in 0..3 {
            advance(&mut settings);
            seen.push(order(&settings).generation);
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    }

    #[test]
    fn only_a_newer_tell_from_a_region_is_taken() {
        let mut settings = Settings::new();
        assert!(hear(&mut settings, "eu-west-1", 10));
        assert!(!hear(&mut settings, "eu-west-1", 9));
        assert!(!hear(&mut settings, "eu-west-1", 10));
        // Another region's generations are its own.
        assert!(hear(&mut settings, "ap-south-1", 3));
        assert!(hear(&mut settings, "eu-west-1", 11));
        assert_eq!(order(&settings).heard.get("eu-west-1"), Some(&11));
    }
}
