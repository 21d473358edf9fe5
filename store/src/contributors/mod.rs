//! Contributor Insights: the most accessed and most throttled keys of a table or GSI.
//!
//! # What DynamoDB does, and what we do instead of CloudWatch
//! UpdateContributorInsights turns it on for a table or one GSI, in one of two modes
//! (`ACCESSED_AND_THROTTLED_KEYS`, the default, or `THROTTLED_KEYS`); DynamoDB then
//! publishes CloudWatch Contributor Insights rules: the partition keys that consumed the
//! most capacity (`PKC`), the partition and sort keys that did (`SKC`, for resources with a
//! sort key), and the same two for throttled requests (`PKT`, `SKT`). Here the rules are
//! Prometheus series on the store's `/metrics`, for the last complete period
//! (`--contributor-insights-period`, 60 s like CloudWatch's finest report):
//! - `store_contributor_insights_consumed_units{table,index,rule,partition_key[,sort_key]}`:
//!   capacity units, PKC and SKC;
//! - `store_contributor_insights_throttled_requests{...}`: requests refused for
//!   capacity, PKT and SKT.
//!
//! Each rule shows its ten heaviest keys. Each tracker counts every rule's keys with
//! Space-Saving counters ([`top_keys`]) of [`KEYS_COUNTED`] keys, so memory stays bounded
//! whatever the key space, and a hot key is never missed.
//!
//! # Settings
//! Kept in the table's catalog entry (`settings["contributor_insights"]`), by table and by
//! GSI id, so they persist with the table and vanish with it or with the GSI (a GSI created
//! again under the same name has a new id). The trackers are derived from the catalog by
//! [`sync`], which the Update handler calls before answering and [`run_sync`] after every
//! other catalog change.
//!
//! # What counts
//! A table's rules count what the data plane charges the table: reads and writes of its
//! items by their keys, a Query by its partition key (and, for SKC, by the items it
//! returned, sharing its units). A GSI's rules count Queries of it the same way, and the
//! writes that reach it by the entry's GSI key (also those it refuses for its capacity). Throttled requests count by the key they named. Scans are not
//! attributed to keys: a page is a key range, and decoding every item's key for a tracker
//! would tax exactly the reads that are already the most expensive. Requests answered by a dax-proxy node's cache never
//! reach the store and do not count, as DAX cache hits consume no table capacity.

mod top_keys;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use shared::model::{AttributeValue, PrimaryKey};

use crate::app::App;
use crate::catalog::meta::{read_setting, write_setting};
use crate::catalog::TableMeta;
use crate::metrics::label_value as escape;
use top_keys::TopKeys;

/// The key of the setting in `TableMeta::settings`.
pub const SETTINGS_KEY: &str = "contributor_insights";

/// The mode DynamoDB enables when none is given.
pub const DEFAULT_MODE: &str = "ACCESSED_AND_THROTTLED_KEYS";
/// Only throttled requests are tracked.
pub const THROTTLED_KEYS: &str = "THROTTLED_KEYS";
/// `ContributorInsightsMode`'s enumeration.
pub const MODES: &[&str] = &[DEFAULT_MODE, THROTTLED_KEYS];

/// Keys each rule counts (and the bound of its memory).
pub const KEYS_COUNTED: usize = 100;
/// Keys each rule reports.
pub const KEYS_REPORTED: usize = 10;

/// Capacity units the most accessed keys consumed in the last complete period.
pub const CONSUMED_UNITS: &str = "store_contributor_insights_consumed_units";
/// Requests refused for capacity, by the keys that were most refused.
pub const THROTTLED_REQUESTS: &str = "store_contributor_insights_throttled_requests";

/// Contributor Insights of a table or of one GSI, as persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Setting {
    pub enabled: bool,
    pub mode: String,
    /// When it was last enabled or disabled (epoch seconds).
    pub last_update: f64,
    /// When it was enabled (epoch milliseconds): the suffix of the rule names.
    pub enabled_at_ms: u64,
}

/// A table's settings: its own and its GSIs', by GSI id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Setting>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub indexes: BTreeMap<u16, Setting>,
}

impl Settings {
    /// The table's settings (empty when never configured or unreadable).
    pub fn of(table: &TableMeta) -> Settings {
        read_setting(&table.settings, SETTINGS_KEY).unwrap_or_default()
    }

    /// The table's (`index_id = None`) or a GSI's setting.
    pub fn get(&self, index_id: Option<u16>) -> Option<&Setting> {
        match index_id {
            None => self.table.as_ref(),
            Some(id) => self.indexes.get(&id),
        }
    }

    /// Writes these settings into the table's catalog entry.
    pub fn store(&self, table: &mut TableMeta) -> Result<(), serde_json::Error> {
        write_setting(&mut table.settings, SETTINGS_KEY, self)
    }
}

/// The names of the rules a setting publishes for `resource` (`table` or `table-index`):
/// `DynamoDBContributorInsights-<rule>-<resource>-<enabled ms>`, the sort-key rules only
/// when the resource has a sort key, the accessed-key rules only in the default mode.
pub fn rule_names(setting: &Setting, resource: &str, has_sort_key: bool) -> Vec<String> {
    let accessed = setting.mode != THROTTLED_KEYS;
    [
        ("PKC", accessed),
        ("SKC", accessed && has_sort_key),
        ("PKT", true),
        ("SKT", has_sort_key),
    ]
    .into_iter()
    .filter(|(_, shown)| *shown)
    .map(|(rule, _)| {
        format!(
            "DynamoDBContributorInsights-{rule}-{resource}-{}",
            setting.enabled_at_ms
        )
    })
    .collect()
}

/// One period's counters of a tracker's four rules.
struct Rules {
    accessed: TopKeys<String>,
    accessed_items: TopKeys<(String, String)>,
    throttled: TopKeys<String>,
    throttled_items: TopKeys<(String, String)>,
}

impl Rules {
    fn new() -> Rules {
        Rules {
            accessed: TopKeys::new(KEYS_COUNTED),
            accessed_items: TopKeys::new(KEYS_COUNTED),
            throttled: TopKeys::new(KEYS_COUNTED),
            throttled_items: TopKeys::new(KEYS_COUNTED),
        }
    }
}

/// The current period's counters and the last complete period's.
struct Periods {
    /// Index of the current period (epoch seconds / period).
    current_index: u64,
    current: Rules,
    /// The period before the current one, if anything was counted in it.
    last: Option<Rules>,
}

impl Periods {
    /// Moves on to the period `index`, keeping the current one as the last only if it is
    /// the one just before.
    fn roll(&mut self, index: u64) {
        if index == self.current_index {
            return;
        }
        let finished = std::mem::replace(&mut self.current, Rules::new());
        self.last = (index == self.current_index + 1).then_some(finished);
        self.current_index = index;
    }
}

/// The counters of one table or GSI with Contributor Insights on.
struct Tracker {
    table: String,
    index: Option<String>,
    accessed_keys: bool,
    period_seconds: u64,
    periods: Mutex<Periods>,
}

impl Tracker {
    fn period_index(&self) -> u64 {
        (shared::clock::now_seconds().max(0.0) as u64) / self.period_seconds
    }
}

/// What happened to a key.
#[derive(Debug, Clone, Copy)]
enum Event {
    Accessed(f64),
    Throttled,
}

/// A tracker's table id and GSI id (`None`: the table's own).
type TrackerKey = (String, Option<u16>);

/// What a tracker reports on: its labels and whether it counts accessed keys.
struct Wanted {
    table: String,
    index: Option<String>,
    accessed_keys: bool,
}

type Trackers = HashMap<TrackerKey, Arc<Tracker>>;

#[derive(Default)]
struct Registry {
    trackers: RwLock<Trackers>,
    /// How many trackers exist: while 0, recording costs one atomic load.
    count: AtomicUsize,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// Counts `units` consumed for the item or partition `partition` / `sort` of the table
/// (`index = None`) or of its GSI `index`.
pub fn accessed(
    table: &TableMeta,
    index: Option<&str>,
    partition: &AttributeValue,
    sort: Option<&AttributeValue>,
    units: f64,
) {
    note(table, index, partition, sort, Event::Accessed(units));
}

/// Counts one request refused for capacity that named `partition` / `sort`.
pub fn throttled(
    table: &TableMeta,
    index: Option<&str>,
    partition: &AttributeValue,
    sort: Option<&AttributeValue>,
) {
    note(table, index, partition, sort, Event::Throttled);
}

/// Counts `units` the table consumed for the item `key`.
pub fn item_accessed(table: &TableMeta, key: &PrimaryKey, units: f64) {
    accessed(table, None, &key.hash, key.range.as_ref(), units);
}

/// Counts one request for the item `key` refused for the table's capacity.
pub fn item_throttled(table: &TableMeta, key: &PrimaryKey) {
    throttled(table, None, &key.hash, key.range.as_ref());
}

/// Whether the table (`index = None`) or its GSI has Contributor Insights on: lets callers
/// skip work only a tracker needs (one atomic load while none is on).
pub fn tracked(table: &TableMeta, index: Option<&str>) -> bool {
    tracker(table, index).is_some()
}

fn tracker(table: &TableMeta, index: Option<&str>) -> Option<Arc<Tracker>> {
    let registry = registry();
    if registry.count.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let index_id = match index {
        None => None,
        Some(name) => Some(table.global_index(name)?.index_id),
    };
    registry
        .trackers
        .read()
        .get(&(table.table_uuid.clone(), index_id))
        .cloned()
}

fn note(
    table: &TableMeta,
    index: Option<&str>,
    partition: &AttributeValue,
    sort: Option<&AttributeValue>,
    event: Event,
) {
    let Some(tracker) = tracker(table, index) else {
        return;
    };
    let (weight, accessed) = match event {
        Event::Accessed(units) if tracker.accessed_keys && units > 0.0 => (units, true),
        Event::Accessed(_) => return,
        Event::Throttled => (1.0, false),
    };
    let partition = label(partition);
    let item = sort.map(|sort| (partition.clone(), label(sort)));
    let now = tracker.period_index();
    let mut periods = tracker.periods.lock();
    periods.roll(now);
    let rules = &mut periods.current;
    let (by_partition, by_item) = if accessed {
        (&mut rules.accessed, &mut rules.accessed_items)
    } else {
        (&mut rules.throttled, &mut rules.throttled_items)
    };
    by_partition.add(&partition, weight);
    if let Some(item) = &item {
        by_item.add(item, weight);
    }
}

/// A key value as label text: S as is, N as its digits, B as base64.
fn label(value: &AttributeValue) -> String {
    use base64::Engine as _;
    match value {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => n.to_string(),
        AttributeValue::B(b) => base64::engine::general_purpose::STANDARD.encode(b),
        other => other.type_name().to_string(),
    }
}

/// Makes the trackers match the catalog: one per table or GSI with Contributor Insights
/// enabled (its counters kept while its mode is unchanged), none for anything else.
pub fn sync(app: &App) {
    let period_seconds = app.config.contributor_insights_period.as_secs().max(1);
    let mut wanted: HashMap<TrackerKey, Wanted> = HashMap::new();
    for table in app.catalog.all() {
        let settings = Settings::of(&table);
        let mut want = |index_id, index: Option<String>, setting: &Setting| {
            let key = (table.table_uuid.clone(), index_id);
            let wanted_here = Wanted {
                table: table.name().to_string(),
                index,
                accessed_keys: setting.mode != THROTTLED_KEYS,
            };
            wanted.insert(key, wanted_here);
        };
        if let Some(s) = settings.table.as_ref().filter(|s| s.enabled) {
            want(None, None, s);
        }
        for (id, s) in settings.indexes.iter().filter(|(_, s)| s.enabled) {
            if let Some(index) = table.global_indexes.iter().find(|i| i.index_id == *id) {
                want(Some(*id), Some(index.name.clone()), s);
            }
        }
    }
    let registry = registry();
    let mut trackers = registry.trackers.write();
    trackers.retain(|key, tracker| {
        wanted
            .get(key)
            .is_some_and(|w| w.accessed_keys == tracker.accessed_keys)
            && tracker.period_seconds == period_seconds
    });
    for (key, w) in wanted {
        trackers.entry(key).or_insert_with(|| {
            let now = (shared::clock::now_seconds().max(0.0) as u64) / period_seconds;
            Arc::new(Tracker {
                table: w.table,
                index: w.index,
                accessed_keys: w.accessed_keys,
                period_seconds,
                periods: Mutex::new(Periods {
                    current_index: now,
                    current: Rules::new(),
                    last: None,
                }),
            })
        });
    }
    registry.count.store(trackers.len(), Ordering::Relaxed);
}

/// Keeps the trackers in step with the catalog (tables and GSIs deleted, the store
/// restarted with settings on disk).
pub async fn run_sync(app: Arc<App>) {
    let mut changes = app.catalog.subscribe();
    loop {
        sync(&app);
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// Appends the last complete period's top keys of every tracker to a Prometheus text
/// exposition.
pub fn render(out: &mut String) {
    let trackers: Vec<Arc<Tracker>> = registry().trackers.read().values().cloned().collect();
    let mut consumed = String::new();
    let mut throttled = String::new();
    for tracker in trackers {
        let mut periods = tracker.periods.lock();
        periods.roll(tracker.period_index());
        let Some(rules) = &periods.last else {
            continue;
        };
        let resource = Resource {
            table: &tracker.table,
            index: tracker.index.as_deref().unwrap_or_default(),
        };
        resource.rows(&mut consumed, CONSUMED_UNITS, "PKC", &rules.accessed);
        resource.rows(&mut consumed, CONSUMED_UNITS, "SKC", &rules.accessed_items);
        resource.rows(&mut throttled, THROTTLED_REQUESTS, "PKT", &rules.throttled);
        resource.rows(
            &mut throttled,
            THROTTLED_REQUESTS,
            "SKT",
            &rules.throttled_items,
        );
    }
    for (name, rows) in [(CONSUMED_UNITS, consumed), (THROTTLED_REQUESTS, throttled)] {
        crate::metrics::write_family(out, name, crate::metrics::Kind::Gauge, &rows);
    }
}

/// The labels every row of one tracker carries.
struct Resource<'a> {
    table: &'a str,
    index: &'a str,
}

impl Resource<'_> {
    /// One row per reported key of `keys`.
    fn rows<K: KeyLabels>(&self, out: &mut String, name: &str, rule: &str, keys: &TopKeys<K>) {
        for (key, estimate) in keys.top(KEYS_REPORTED) {
            let _ = writeln!(
                out,
                "{name}{{table=\"{}\",index=\"{}\",rule=\"{rule}\",{}}} {}",
                escape(self.table),
                escape(self.index),
                key.labels(),
                estimate.count
            );
        }
    }
}

/// How a counted key shows as labels.
trait KeyLabels: std::hash::Hash + Eq + Clone + Ord {
    fn labels(&self) -> String;
}

impl KeyLabels for String {
    fn labels(&self) -> String {
        format!("partition_key=\"{}\"", escape(self))
    }
}

impl KeyLabels for (String, String) {
    fn labels(&self) -> String {
        format!(
            "partition_key=\"{}\",sort_key=\"{}\"",
            escape(&self.0),
            escape(&self.1)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(mode: &str) -> Setting {
        Setting {
            enabled: true,
            mode: mode.into(),
            last_update: 1.0,
            enabled_at_ms: 1576629651520,
        }
    }

    #[test]
    fn rules_follow_the_mode_and_the_key_schema() {
        assert_eq!(
            rule_names(&setting(DEFAULT_MODE), "Music", true),
            [
                "DynamoDBContributorInsights-PKC-Music-1576629651520",
                "DynamoDBContributorInsights-SKC-Music-1576629651520",
                "DynamoDBContributorInsights-PKT-Music-1576629651520",
                "DynamoDBContributorInsights-SKT-Music-1576629651520",
            ]
        );
        assert_eq!(
            rule_names(&setting(DEFAULT_MODE), "Music-by_album", false),
            [
                "DynamoDBContributorInsights-PKC-Music-by_album-1576629651520",
                "DynamoDBContributorInsights-PKT-Music-by_album-1576629651520",
            ]
        );
        assert_eq!(
            rule_names(&setting(THROTTLED_KEYS), "Music", true),
            [
                "DynamoDBContributorInsights-PKT-Music-1576629651520",
                "DynamoDBContributorInsights-SKT-Music-1576629651520",
            ]
        );
    }

    #[test]
    fn a_period_is_reported_once_complete_and_only_the_next_period() {
        let mut periods = Periods {
            current_index: 10,
            current: Rules::new(),
            last: None,
        };
        periods.current.accessed.add(&"k".to_string(), 2.0);
        periods.roll(10);
        assert!(periods.last.is_none());
        periods.roll(11);
        let last = periods.last.as_ref().map(|r| r.accessed.top(1));
        assert_eq!(last.map(|t| t[0].1.count), Some(2.0));
        // Two periods on, the one reported is the empty one just before.
        periods.roll(13);
        assert!(periods.last.as_ref().is_none());
    }

    #[test]
    fn labels_escape_what_the_text_format_requires() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
        assert_eq!(label(&AttributeValue::B(vec![0xff, 0x00])), "/wA=");
    }
}
