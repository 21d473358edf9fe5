//! What a run measured: per-worker statistics, their merge, and the report (table, JSON, SVG).
//!
//! Latencies go into HDR histograms in nanoseconds (3 significant digits, up to 60 s), one
//! per operation per worker, created only for operations in the mix; workers never share
//! them, and they are merged once at the end. Percentiles are reported in milliseconds.
//!
//! JSON shape (stable; tests and bench scripts read it):
//! `{ endpoints, table, workload{..}, elapsed_secs, total_ops, ops_per_sec, errors_total,
//!    errors{kind: n}, hit_ratio, cache{header{hits,misses,bypass,hit_ratio},
//!    metrics{hits,misses,hit_ratio,counters,unavailable}}, latency_ms{p50,p90,p99,p999,max,mean},
//!    operations{Op: {count, errors, ops_per_sec, hits, misses, bypass, hit_ratio,
//!    latency_ms}}, timeline[{t, ops_per_sec, p99_ms, hit_ratio}], interrupted }`.
//! `hit_ratio` is hits / (hits + misses) from `x-dax-cache` headers, `null` without headers.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::mix::LoadOp;
use super::scrape::CacheCounters;

const MAX_NANOS: u64 = 60_000_000_000;

/// A histogram with constant bounds that hdrhistogram accepts; should it ever refuse them,
/// fall back to an auto-resizing one instead of panicking.
pub fn histogram(low: u64, high: u64, digits: u8) -> Histogram<u64> {
    match Histogram::new_with_bounds(low, high, digits) {
        Ok(h) => h,
        Err(_) => match Histogram::new(digits.min(5)) {
            Ok(h) => h,
            Err(_) => histogram(1, 2, 1),
        },
    }
}

fn new_histogram() -> Histogram<u64> {
    histogram(1, MAX_NANOS, 3)
}

/// One operation's measurements.
#[derive(Debug, Clone)]
pub struct OpStats {
    pub latency: Histogram<u64>,
    pub count: u64,
    pub errors: u64,
    pub hits: u64,
    pub misses: u64,
    pub bypass: u64,
}

impl OpStats {
    fn new() -> OpStats {
        OpStats {
            latency: new_histogram(),
            count: 0,
            errors: 0,
            hits: 0,
            misses: 0,
            bypass: 0,
        }
    }

    fn merge(&mut self, other: &OpStats) {
        // Same bounds on both sides, so add cannot fail; a failure would only lose samples.
        let _ = self.latency.add(&other.latency);
        self.count += other.count;
        self.errors += other.errors;
        self.hits += other.hits;
        self.misses += other.misses;
        self.bypass += other.bypass;
    }
}

/// What one worker (or the whole run, after merging) measured.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub ops: BTreeMap<LoadOp, OpStats>,
    pub errors: BTreeMap<String, u64>,
}

/// The outcome of one request, as the statistics see it.
pub struct Outcome<'a> {
    pub nanos: u64,
    /// The error kind, if the request failed.
    pub error: Option<&'a str>,
    pub cache: Option<super::client::CacheMark>,
}

impl Stats {
    pub fn record(&mut self, op: LoadOp, outcome: Outcome<'_>) {
        let s = self.ops.entry(op).or_insert_with(OpStats::new);
        s.count += 1;
        s.latency
            .saturating_record(outcome.nanos.clamp(1, MAX_NANOS));
        match outcome.cache {
            Some(super::client::CacheMark::Hit) => s.hits += 1,
            Some(super::client::CacheMark::Miss) => s.misses += 1,
            Some(super::client::CacheMark::Bypass) => s.bypass += 1,
            None => {}
        }
        if let Some(kind) = outcome.error {
            s.errors += 1;
            match self.errors.get_mut(kind) {
                Some(n) => *n += 1,
                None => {
                    self.errors.insert(kind.to_string(), 1);
                }
            }
        }
    }

    pub fn merge(&mut self, other: &Stats) {
        for (op, s) in &other.ops {
            match self.ops.get_mut(op) {
                Some(mine) => mine.merge(s),
                None => {
                    self.ops.insert(*op, s.clone());
                }
            }
        }
        for (kind, n) in &other.errors {
            *self.errors.entry(kind.clone()).or_insert(0) += n;
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        let ms = |nanos: u64| nanos as f64 / 1e6;
        if h.is_empty() {
            return Latency {
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p999: 0.0,
                max: 0.0,
                mean: 0.0,
            };
        }
        Latency {
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1e6,
        }
    }
}

fn ratio(hits: f64, misses: f64) -> Option<f64> {
    (hits + misses > 0.0).then(|| hits / (hits + misses))
}

#[derive(Debug, Clone, Serialize)]
pub struct OpReport {
    pub count: u64,
    pub errors: u64,
    pub ops_per_sec: f64,
    pub hits: u64,
    pub misses: u64,
    pub bypass: u64,
    pub hit_ratio: Option<f64>,
    pub latency_ms: Latency,
}

#[derive(Debug, Clone, Serialize)]
pub struct HeaderCache {
    pub hits: u64,
    pub misses: u64,
    pub bypass: u64,
    pub hit_ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricsCache {
    pub hits: f64,
    pub misses: f64,
    pub hit_ratio: Option<f64>,
    pub counters: CacheCounters,
    /// Metrics URLs that gave no cache counters, with the reason.
    pub unavailable: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CacheReport {
    pub header: HeaderCache,
    pub metrics: Option<MetricsCache>,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimePoint {
    pub t: f64,
    pub ops_per_sec: f64,
    pub p99_ms: f64,
    pub hit_ratio: Option<f64>,
}

/// The workload as run, echoed into the report.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadReport {
    pub items: u64,
    pub item_size: usize,
    pub partition_size: u64,
    pub distribution: String,
    pub mix: String,
    pub consistent_percent: f64,
    pub concurrency: usize,
    /// Target rate (open loop); `null` = closed loop.
    pub rate: Option<f64>,
    pub duration_secs: Option<f64>,
    pub requests: Option<u64>,
    /// `--seed` to repeat this run's key, operation and payload streams.
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub endpoints: Vec<String>,
    pub table: String,
    pub workload: WorkloadReport,
    pub elapsed_secs: f64,
    pub total_ops: u64,
    pub ops_per_sec: f64,
    pub errors_total: u64,
    pub errors: BTreeMap<String, u64>,
    pub hit_ratio: Option<f64>,
    pub cache: CacheReport,
    pub latency_ms: Latency,
    pub operations: BTreeMap<String, OpReport>,
    pub timeline: Vec<TimePoint>,
    pub interrupted: bool,
}

/// Builds the report from the merged statistics.
#[allow(clippy::too_many_arguments)]
pub fn build(
    endpoints: Vec<String>,
    table: String,
    workload: WorkloadReport,
    stats: &Stats,
    elapsed_secs: f64,
    metrics: Option<(CacheCounters, Vec<String>)>,
    timeline: Vec<TimePoint>,
    interrupted: bool,
) -> Report {
    let secs = elapsed_secs.max(1e-9);
    let mut all = new_histogram();
    let mut operations = BTreeMap::new();
    let (mut hits, mut misses, mut bypass, mut total, mut errors_total) = (0, 0, 0, 0, 0);
    for (op, s) in &stats.ops {
        let _ = all.add(&s.latency);
        hits += s.hits;
        misses += s.misses;
        bypass += s.bypass;
        total += s.count;
        errors_total += s.errors;
        operations.insert(
            op.name().to_string(),
            OpReport {
                count: s.count,
                errors: s.errors,
                ops_per_sec: s.count as f64 / secs,
                hits: s.hits,
                misses: s.misses,
                bypass: s.bypass,
                hit_ratio: ratio(s.hits as f64, s.misses as f64),
                latency_ms: Latency::of(&s.latency),
            },
        );
    }
    let header_ratio = ratio(hits as f64, misses as f64);
    let metrics = metrics.map(|(c, unavailable)| MetricsCache {
        hits: c.hits(),
        misses: c.misses(),
        hit_ratio: ratio(c.hits(), c.misses()),
        counters: c,
        unavailable,
    });
    Report {
        endpoints,
        table,
        workload,
        elapsed_secs,
        total_ops: total,
        ops_per_sec: total as f64 / secs,
        errors_total,
        errors: stats.errors.clone(),
        hit_ratio: header_ratio,
        cache: CacheReport {
            header: HeaderCache {
                hits,
                misses,
                bypass,
                hit_ratio: header_ratio,
            },
            metrics,
        },
        latency_ms: Latency::of(&all),
        operations,
        timeline,
        interrupted,
    }
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

impl Report {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{} ops in {:.1}s = {:.0} ops/s, {} errors{}\n",
            self.total_ops,
            self.elapsed_secs,
            self.ops_per_sec,
            self.errors_total,
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        ));
        if let Some(rate) = self.workload.rate.filter(|r| self.ops_per_sec < 0.9 * r) {
            // Above what the server (or this generator) sustains the backlog only grows:
            // the latencies then measure the queue, not the server.
            out.push_str(&format!(
                "target rate {rate:.0} ops/s not reached: latencies include the backlog\n"
            ));
        }
        out.push_str(&format!(
            "{:<13} {:>10} {:>10} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
            "operation",
            "count",
            "ops/s",
            "errors",
            "hit%",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms"
        ));
        // (name, count, ops/s, errors, hit ratio, latency)
        type Row<'a> = (&'a str, u64, f64, u64, Option<f64>, &'a Latency);
        let mut rows: Vec<Row<'_>> = self
            .operations
            .iter()
            .map(|(name, o)| {
                (
                    name.as_str(),
                    o.count,
                    o.ops_per_sec,
                    o.errors,
                    o.hit_ratio,
                    &o.latency_ms,
                )
            })
            .collect();
        rows.push((
            "all",
            self.total_ops,
            self.ops_per_sec,
            self.errors_total,
            self.hit_ratio,
            &self.latency_ms,
        ));
        for (name, count, rate, errors, hit, l) in rows {
            out.push_str(&format!(
                "{name:<13} {count:>10} {rate:>10.0} {errors:>7} {:>7} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>9.3}\n",
                pct(hit),
                l.p50,
                l.p90,
                l.p99,
                l.p999,
                l.max
            ));
        }
        if !self.errors.is_empty() {
            out.push_str("errors:");
            for (kind, n) in &self.errors {
                out.push_str(&format!(" {kind}={n}"));
            }
            out.push('\n');
        }
        let h = &self.cache.header;
        out.push_str(&format!(
            "cache (x-dax-cache): hits {} misses {} bypass {} hit ratio {}\n",
            h.hits,
            h.misses,
            h.bypass,
            pct(h.hit_ratio)
        ));
        match &self.cache.metrics {
            Some(m) => out.push_str(&format!(
                "cache (metrics):     hits {:.0} misses {:.0} hit ratio {}\n",
                m.hits,
                m.misses,
                pct(m.hit_ratio)
            )),
            None => out.push_str("cache (metrics):     no cache counters found\n"),
        }
        out
    }

    /// An SVG chart of throughput, p99 and hit ratio per second (each on its own scale).
    pub fn svg(&self) -> String {
        svg_chart(&self.timeline)
    }
}

fn polyline(points: &[(f64, f64)], color: &str) -> String {
    let pts: Vec<String> = points
        .iter()
        .map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect();
    format!(
        r#"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"#,
        pts.join(" ")
    )
}

/// Three stacked panels sharing the time axis.
pub fn svg_chart(timeline: &[TimePoint]) -> String {
    let (w, panel, pad) = (800.0, 160.0, 40.0);
    let t_max = timeline.iter().map(|p| p.t).fold(1.0_f64, f64::max);
    let x = |t: f64| pad + (w - 2.0 * pad) * t / t_max;
    type Pick = fn(&TimePoint) -> Option<f64>;
    let series: [(&str, &str, Pick); 3] = [
        ("ops/s", "#1f77b4", |p| Some(p.ops_per_sec)),
        ("p99 ms", "#d62728", |p| Some(p.p99_ms)),
        ("hit ratio", "#2ca02c", |p| p.hit_ratio),
    ];
    let mut body = String::new();
    for (i, (label, color, pick)) in series.iter().enumerate() {
        let top = pad + i as f64 * (panel + pad);
        let values: Vec<(f64, f64)> = timeline
            .iter()
            .filter_map(|p| pick(p).map(|v| (p.t, v)))
            .collect();
        let largest = values.iter().map(|v| v.1).fold(0.0_f64, f64::max);
        // The panel's top: a tenth above the largest value (a ratio's is 1).
        let max = if *label == "hit ratio" {
            1.0
        } else if largest > 0.0 {
            largest * 1.1
        } else {
            1.0
        };
        let points: Vec<(f64, f64)> = values
            .iter()
            .map(|(t, v)| (x(*t), top + panel - panel * v / max))
            .collect();
        body.push_str(&format!(
            r##"<rect x="{pad}" y="{top}" width="{}" height="{panel}" fill="none" stroke="#999"/>"##,
            w - 2.0 * pad
        ));
        body.push_str(&format!(
            r#"<text x="{pad}" y="{}" font-size="13">{label} (max {largest:.3})</text>"#,
            top - 6.0
        ));
        body.push_str(&polyline(&points, color));
    }
    let h = pad + 3.0 * (panel + pad);
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif">{body}<text x="{pad}" y="{}" font-size="12">seconds (0 to {t_max:.0})</text></svg>"#,
        h - 10.0
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::loadgen::client::CacheMark;

    fn workload() -> WorkloadReport {
        WorkloadReport {
            items: 100,
            item_size: 1024,
            partition_size: 10,
            distribution: "uniform".into(),
            mix: "GetItem=100".into(),
            consistent_percent: 0.0,
            concurrency: 1,
            rate: None,
            duration_secs: Some(1.0),
            requests: None,
            seed: 1,
        }
    }

    fn sample_report() -> Report {
        let mut a = Stats::default();
        let mut b = Stats::default();
        for i in 0..90u64 {
            a.record(
                LoadOp::GetItem,
                Outcome {
                    nanos: 1_000_000 + i,
                    error: None,
                    cache: Some(CacheMark::Hit),
                },
            );
        }
        for _ in 0..10 {
            b.record(
                LoadOp::GetItem,
                Outcome {
                    nanos: 5_000_000,
                    error: None,
                    cache: Some(CacheMark::Miss),
                },
            );
        }
        b.record(
            LoadOp::PutItem,
            Outcome {
                nanos: 2_000_000,
                error: Some("ValidationException"),
                cache: Some(CacheMark::Bypass),
            },
        );
        a.merge(&b);
        let counters = CacheCounters {
            item_hits: 90.0,
            item_misses: 10.0,
            ..Default::default()
        };
        build(
            vec!["http://127.0.0.1:1".into()],
            "t".into(),
            workload(),
            &a,
            2.0,
            Some((counters, vec![])),
            vec![TimePoint {
                t: 1.0,
                ops_per_sec: 50.0,
                p99_ms: 5.0,
                hit_ratio: Some(0.9),
            }],
            false,
        )
    }

    #[test]
    fn merged_stats_give_ratios_and_percentiles() {
        let r = sample_report();
        assert_eq!(r.total_ops, 101);
        assert_eq!(r.errors_total, 1);
        assert_eq!(r.errors.get("ValidationException"), Some(&1));
        assert_eq!(r.hit_ratio, Some(0.9));
        let get = &r.operations["GetItem"];
        assert_eq!(get.count, 100);
        assert!((get.latency_ms.p50 - 1.0).abs() < 0.01);
        assert!((get.latency_ms.p99 - 5.0).abs() < 0.01);
        assert!((r.ops_per_sec - 50.5).abs() < 1e-9);
        assert_eq!(r.operations["PutItem"].hit_ratio, None);
    }

    #[test]
    fn json_shape() {
        let v = serde_json::to_value(sample_report()).unwrap();
        for key in [
            "endpoints",
            "table",
            "workload",
            "elapsed_secs",
            "total_ops",
            "ops_per_sec",
            "errors_total",
            "errors",
            "hit_ratio",
            "cache",
            "latency_ms",
            "operations",
            "timeline",
            "interrupted",
        ] {
            assert!(v.get(key).is_some(), "missing {key}");
        }
        for key in ["p50", "p90", "p99", "p999", "max", "mean"] {
            assert!(v["operations"]["GetItem"]["latency_ms"][key].is_number());
        }
        assert_eq!(v["cache"]["header"]["hits"], 90);
        assert_eq!(v["cache"]["metrics"]["hit_ratio"], 0.9);
        assert_eq!(v["workload"]["rate"], serde_json::Value::Null);
        assert_eq!(v["timeline"][0]["p99_ms"], 5.0);
    }

    #[test]
    fn table_and_svg_render() {
        let r = sample_report();
        let t = r.table();
        assert!(t.contains("GetItem"));
        assert!(t.contains("90.0%"));
        assert!(t.contains("ValidationException=1"));
        let svg = r.svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 3);
        assert!(!t.contains("not reached"));
    }

    #[test]
    fn an_open_loop_short_of_its_rate_says_so() {
        let mut r = sample_report();
        r.workload.rate = Some(55.0);
        assert!(
            !r.table().contains("not reached"),
            "50.5 of 55 is close enough"
        );
        r.workload.rate = Some(1000.0);
        assert!(r.table().contains("target rate 1000 ops/s not reached"));
    }
}
