//! The metric series that belong to a table, to a table's Kinesis destination or replica
//! or to a trigger (TTL deletes, replicated and collected versions, delivery counts, lags
//! and latencies), kept here rather than in the exporter, which cannot drop a series: each
//! scrape renders the series of the owners that still exist and forgets the others, so a
//! deleted table's, destination's or trigger's series leave `/metrics` at the next scrape.
//!
//! Recording stays cheap: a worker resolves its handles once (`metrics::Counter`, `Gauge`
//! and `Histogram` backed by atomics here, so `log_cursor::Follower` takes them as it takes
//! the exporter's) and each event is an atomic update; the registry's lock is taken when a
//! handle is resolved and at the scrape, never per event.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::app::App;
use crate::catalog::TableMeta;
use crate::metrics::{label_value, write_family, Kind, SECONDS_BUCKETS};

/// What a series belongs to: it is rendered while its owner exists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Owner {
    /// A table, by storage id (a table created anew never has an old one's).
    Table(u64),
    /// A table's Kinesis destination, by table id and the change-log position it was
    /// enabled at: enabled anew, it starts over.
    Kinesis { table_id: u64, start_seq: u64 },
    /// A table's replica in another region, by table id, region and the change-log
    /// position it was added at: removed and added again, it starts over.
    Replica {
        table_id: u64,
        region: String,
        start_seq: u64,
    },
    /// A trigger, by name (one deleted and created again between two scrapes goes on
    /// counting: its worker, which keeps its handles, may not even start over).
    Trigger(String),
}

/// An owner and the labels its series carry.
#[derive(Debug, Clone)]
pub struct Scope {
    owner: Owner,
    /// Rendered label pairs, e.g. `table="orders"`.
    labels: String,
}

impl Scope {
    /// The series of `table`, labelled `table`.
    pub fn table(table: &TableMeta) -> Scope {
        Scope::labelled(Owner::Table(table.table_id()), "table", table.name())
    }

    /// The series of `table`'s Kinesis destination enabled at `start_seq`, labelled `table`.
    pub fn kinesis(table: &TableMeta, start_seq: u64) -> Scope {
        let owner = Owner::Kinesis {
            table_id: table.table_id(),
            start_seq,
        };
        Scope::labelled(owner, "table", table.name())
    }

    /// The series of `table`'s replica in `region` added at `start_seq`, labelled `table`
    /// and `region`.
    pub fn replica(table: &TableMeta, region: &str, start_seq: u64) -> Scope {
        let owner = Owner::Replica {
            table_id: table.table_id(),
            region: region.to_string(),
            start_seq,
        };
        Scope::labelled(owner, "table", table.name()).with("region", region)
    }

    /// The series of trigger `name`, labelled `trigger`.
    pub fn trigger(name: &str) -> Scope {
        Scope::labelled(Owner::Trigger(name.to_string()), "trigger", name)
    }

    /// The same owner with one more label.
    pub fn with(&self, name: &str, value: &str) -> Scope {
        Scope {
            owner: self.owner.clone(),
            labels: format!("{},{name}=\"{}\"", self.labels, label_value(value)),
        }
    }

    fn labelled(owner: Owner, name: &str, value: &str) -> Scope {
        let labels = format!("{name}=\"{}\"", label_value(value));
        Scope { owner, labels }
    }
}

/// The registry of owned series; one per `App`.
#[derive(Default)]
pub struct OwnedMetrics {
    inner: Mutex<Registry>,
}

#[derive(Default)]
struct Registry {
    owners: HashMap<Owner, Series>,
    /// The stamp of the next owner entered: a scrape forgets only owners entered before it
    /// looked for the live ones, so one created meanwhile is not taken for a dead one.
    next_stamp: u64,
}

struct Series {
    stamp: u64,
    /// By family and labels.
    values: BTreeMap<(&'static str, String), Value>,
}

#[derive(Clone)]
enum Value {
    Counter(Arc<AtomicU64>),
    /// An f64's bits, as `metrics` keeps a gauge in an `AtomicU64`.
    Gauge(Arc<AtomicU64>),
    Histogram(Arc<Buckets>),
}

impl OwnedMetrics {
    /// The counter `family` of `scope` (at zero when new).
    pub fn counter(&self, scope: &Scope, family: &'static str) -> metrics::Counter {
        match self.resolve(scope, family, || Value::Counter(Arc::default())) {
            Value::Counter(value) => metrics::Counter::from_arc(value),
            _ => metrics::Counter::noop(),
        }
    }

    /// The gauge `family` of `scope` (at zero when new).
    pub fn gauge(&self, scope: &Scope, family: &'static str) -> metrics::Gauge {
        match self.resolve(scope, family, || Value::Gauge(Arc::default())) {
            Value::Gauge(value) => metrics::Gauge::from_arc(value),
            _ => metrics::Gauge::noop(),
        }
    }

    /// The histogram `family` of `scope`, in seconds ([`SECONDS_BUCKETS`], as the
    /// exporter's `_seconds` families).
    pub fn seconds_histogram(&self, scope: &Scope, family: &'static str) -> metrics::Histogram {
        match self.resolve(scope, family, || Value::Histogram(Arc::default())) {
            Value::Histogram(value) => metrics::Histogram::from_arc(value),
            _ => metrics::Histogram::noop(),
        }
    }

    fn resolve(&self, scope: &Scope, family: &'static str, new: impl FnOnce() -> Value) -> Value {
        let mut registry = self.inner.lock();
        let stamp = registry.next_stamp;
        let series = registry
            .owners
            .entry(scope.owner.clone())
            .or_insert_with(|| Series {
                stamp,
                values: BTreeMap::new(),
            });
        let created = series.stamp == stamp;
        let value = series
            .values
            .entry((family, scope.labels.clone()))
            .or_insert_with(new)
            .clone();
        if created {
            registry.next_stamp += 1;
        }
        value
    }

    /// Forgets the owners `live` says are gone and appends the families of the others'
    /// series to `out`. `live` is asked only after the registry's stamp is read (see
    /// [`Registry::next_stamp`]).
    fn render_live<L: Fn(&Owner) -> bool>(&self, out: &mut String, live: impl FnOnce() -> L) {
        let before = self.inner.lock().next_stamp;
        let live = live();
        let mut families: BTreeMap<&'static str, (Kind, String)> = BTreeMap::new();
        let mut registry = self.inner.lock();
        registry
            .owners
            .retain(|owner, series| series.stamp >= before || live(owner));
        for series in registry.owners.values() {
            for ((family, labels), value) in &series.values {
                let (kind, rows) = families
                    .entry(family)
                    .or_insert_with(|| (value.kind(), String::new()));
                value.rows(rows, family, labels);
                debug_assert!(*kind == value.kind(), "{family} has two kinds");
            }
        }
        drop(registry);
        for (family, (kind, rows)) in families {
            write_family(out, family, kind, &rows);
        }
    }
}

impl Value {
    fn kind(&self) -> Kind {
        match self {
            Value::Counter(_) => Kind::Counter,
            Value::Gauge(_) => Kind::Gauge,
            Value::Histogram(_) => Kind::Histogram,
        }
    }

    fn rows(&self, out: &mut String, family: &str, labels: &str) {
        match self {
            Value::Counter(value) => {
                let _ = writeln!(
                    out,
                    "{family}{{{labels}}} {}",
                    value.load(Ordering::Relaxed)
                );
            }
            Value::Gauge(bits) => {
                let value = f64::from_bits(bits.load(Ordering::Relaxed));
                let _ = writeln!(out, "{family}{{{labels}}} {value}");
            }
            Value::Histogram(buckets) => buckets.rows(out, family, labels),
        }
    }
}

/// A histogram over [`SECONDS_BUCKETS`]: a count per bucket (not cumulative, the last one
/// above every bound) and the sum of the values.
struct Buckets {
    counts: [AtomicU64; SECONDS_BUCKETS.len() + 1],
    /// An f64's bits.
    sum: AtomicU64,
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }
}

impl metrics::HistogramFn for Buckets {
    fn record(&self, value: f64) {
        let bucket = SECONDS_BUCKETS.partition_point(|bound| *bound < value);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }
}

impl Buckets {
    /// The `_bucket` rows (cumulative, as Prometheus reads them), `_sum` and `_count`; the
    /// count is the buckets' total, so it never disagrees with them.
    fn rows(&self, out: &mut String, family: &str, labels: &str) {
        let mut total = 0;
        for (i, count) in self.counts.iter().enumerate() {
            total += count.load(Ordering::Relaxed);
            let _ = match SECONDS_BUCKETS.get(i) {
                Some(bound) => writeln!(out, "{family}_bucket{{{labels},le=\"{bound}\"}} {total}"),
                None => writeln!(out, "{family}_bucket{{{labels},le=\"+Inf\"}} {total}"),
            };
        }
        let sum = f64::from_bits(self.sum.load(Ordering::Relaxed));
        let _ = writeln!(out, "{family}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{family}_count{{{labels}}} {total}");
    }
}

/// Appends the owned series of `app`'s live owners (tables in the catalog, their active
/// Kinesis destinations and replicas, registered triggers) and forgets the rest.
pub fn render(app: &App, out: &mut String) {
    app.owned_metrics.render_live(out, || {
        let tables: HashMap<u64, Arc<TableMeta>> = app
            .catalog
            .all()
            .into_iter()
            .map(|table| (table.table_id(), table))
            .collect();
        // Triggers that cannot be listed now are taken to live: they are not forgotten.
        let triggers: Option<HashSet<String>> = crate::triggers::list(app)
            .ok()
            .map(|all| all.into_iter().map(|t| t.trigger_name).collect());
        move |owner: &Owner| match owner {
            Owner::Table(id) => tables.contains_key(id),
            Owner::Kinesis {
                table_id,
                start_seq,
            } => tables
                .get(table_id)
                .and_then(|table| crate::kinesis::active(table))
                .is_some_and(|destination| destination.start_seq == *start_seq),
            Owner::Replica {
                table_id,
                region,
                start_seq,
            } => tables.get(table_id).is_some_and(|table| {
                crate::replication::replicas(table)
                    .iter()
                    .any(|r| r.region == *region && r.start_seq == *start_seq)
            }),
            Owner::Trigger(name) => triggers.as_ref().is_none_or(|live| live.contains(name)),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(name: &str) -> Scope {
        Scope::labelled(Owner::Trigger(name.into()), "trigger", name)
    }

    fn rendered(metrics: &OwnedMetrics, live: &'static [&'static str]) -> String {
        let mut out = String::new();
        metrics.render_live(
            &mut out,
            || |owner: &Owner| matches!(owner, Owner::Trigger(n) if live.contains(&n.as_str())),
        );
        out
    }

    #[test]
    fn series_render_exactly_while_their_owner_lives() {
        let metrics = OwnedMetrics::default();
        let a = scope("a");
        metrics.counter(&a, "x_total").increment(3);
        metrics
            .counter(&a.with("outcome", "ok"), "x_total")
            .increment(1);
        metrics.gauge(&scope("b\"q"), "x_lag_seconds").set(1.5);
        let text = rendered(&metrics, &["a", "b\"q"]);
        assert!(text.contains("x_total{trigger=\"a\"} 3\n"), "{text}");
        assert!(
            text.contains("x_total{trigger=\"a\",outcome=\"ok\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("x_lag_seconds{trigger=\"b\\\"q\"} 1.5\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE x_total counter\n").count(),
            1,
            "{text}"
        );
        assert!(!text.contains("\n\n"), "{text}");
        // The same handle again: the value goes on.
        metrics.counter(&a, "x_total").increment(1);
        let text = rendered(&metrics, &["a"]);
        assert!(text.contains("x_total{trigger=\"a\"} 4\n"), "{text}");
        assert!(!text.contains("x_lag_seconds"), "{text}");
        // Once found gone, b's series do not come back.
        let text = rendered(&metrics, &["a", "b\"q"]);
        assert!(!text.contains("x_lag_seconds"), "{text}");
        assert_eq!(rendered(&metrics, &[]), "");
    }

    #[test]
    fn an_owner_entered_while_a_scrape_looks_for_live_ones_is_kept() {
        let metrics = OwnedMetrics::default();
        let mut out = String::new();
        metrics.render_live(&mut out, || {
            metrics.counter(&scope("new"), "x_total").increment(1);
            |_: &Owner| false
        });
        assert!(rendered(&metrics, &["new"]).contains("x_total{trigger=\"new\"} 1"));
    }

    #[test]
    fn histograms_count_each_value_in_its_bucket_and_above() {
        let metrics = OwnedMetrics::default();
        let latency = metrics.seconds_histogram(&scope("a"), "x_seconds");
        // Binary fractions, so that the sum is exact.
        for value in [0.003_906_25, 0.004_882_812_5, 2.0, 64.0] {
            latency.record(value);
        }
        let text = rendered(&metrics, &["a"]);
        for row in [
            "x_seconds_bucket{trigger=\"a\",le=\"0.0025\"} 0\n",
            "x_seconds_bucket{trigger=\"a\",le=\"0.005\"} 2\n",
            "x_seconds_bucket{trigger=\"a\",le=\"2.5\"} 3\n",
            "x_seconds_bucket{trigger=\"a\",le=\"+Inf\"} 4\n",
            "x_seconds_sum{trigger=\"a\"} 66.0087890625\n",
            "x_seconds_count{trigger=\"a\"} 4\n",
            "# TYPE x_seconds histogram\n",
        ] {
            assert!(text.contains(row), "{row} in {text}");
        }
    }
}
