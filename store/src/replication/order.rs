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
//! generations only order its own tells. So what a tell says of each member is stamped
//! instead, as a last-writer-wins set: every member carries when it was added, and every
//! tell carries when each region known removed was removed (kept here a day). A member
//! stands unless removed at or after its addition, whichever region tells, in whatever
//! order: a region removed by another, still telling its own older list, is not taken
//! back, and a member is not dropped by a tell that never knew of it.

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
    /// When each region's replica was last removed (clock milliseconds), as removed here
    /// or told; kept [`REMOVALS_KEPT_MS`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    removed: BTreeMap<String, u64>,
}

/// How long a removal is kept: far longer than a tell is tried again (an hour), so no
/// tell older than a removal arrives after it is forgotten.
const REMOVALS_KEPT_MS: u64 = 24 * 3600 * 1000;

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

/// The removals of regions' replicas known here, by region: what a tell carries.
pub(super) fn removals(settings: &Settings) -> BTreeMap<String, u64> {
    order(settings).removed
}

/// Keeps `removals` (region -> when removed) with the ones known here, the later of two
/// for a region, and forgets the ones older than [`REMOVALS_KEPT_MS`].
pub(super) fn record_removals(settings: &mut Settings, removals: &BTreeMap<String, u64>) {
    let mut order = order(settings);
    for (region, &at) in removals {
        let known = order.removed.entry(region.clone()).or_default();
        *known = (*known).max(at);
    }
    let oldest = shared::clock::now_ms().saturating_sub(REMOVALS_KEPT_MS);
    order.removed.retain(|_, at| *at >= oldest);
    set_order(settings, &order);
}

/// The stamp of an addition of `region` now: the clock's, or past the region's last
/// removal known here if the clock has not passed it (a removal and an addition in one
/// millisecond), so that the addition stands.
pub(super) fn addition_stamp(settings: &Settings, region: &str) -> u64 {
    let now = shared::clock::now_ms();
    order(settings)
        .removed
        .get(region)
        .map_or(now, |&removed| now.max(removed + 1))
}

/// Whether a member `region` added at `added` stands against the removals known here: it
/// was not removed at or after its addition.
pub(super) fn stands(settings: &Settings, region: &str, added: u64) -> bool {
    !removed_at_or_after(&order(settings).removed, region, added)
}

/// Whether `removals` (region -> when removed) remove `region`'s member added at `added`.
pub(super) fn removed_at_or_after(
    removals: &BTreeMap<String, u64>,
    region: &str,
    added: u64,
) -> bool {
    removals
        .get(region)
        .is_some_and(|&removed| removed >= added)
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

    #[test]
    fn a_member_stands_unless_removed_at_or_after_its_addition() {
        let mut settings = Settings::new();
        let now = shared::clock::now_ms();
        let removal = BTreeMap::from([("eu-west-1".to_string(), now)]);
        record_removals(&mut settings, &removal);
        assert!(!stands(&settings, "eu-west-1", now - 1));
        assert!(!stands(&settings, "eu-west-1", now));
        assert!(stands(&settings, "eu-west-1", now + 1), "added again after");
        assert!(stands(&settings, "ap-south-1", 0), "never removed");
        // Added again in the very millisecond it was removed: the addition stands.
        let removal = BTreeMap::from([("eu-west-1".to_string(), now + 60_000)]);
        record_removals(&mut settings, &removal);
        let again = addition_stamp(&settings, "eu-west-1");
        assert!(again > now + 60_000 && stands(&settings, "eu-west-1", again));
        // The later removal of a region is kept; one older than a day is forgotten.
        let older = BTreeMap::from([
            ("eu-west-1".to_string(), now - 5),
            ("ap-south-1".to_string(), now - REMOVALS_KEPT_MS - 1),
        ]);
        record_removals(&mut settings, &older);
        assert_eq!(
            removals(&settings),
            removal,
            "the later kept, the old forgotten"
        );
    }
}
