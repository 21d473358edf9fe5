//! Per-operation request counters and latency histograms, resolved once per operation.
//!
//! `metrics::counter!(NAME, "op" => name)` looks the series up in the recorder's registry
//! (hashing name and labels) on every call; on a hot path that costs more than the count.
//! Resolving every operation's handles once, after the recorder is installed, makes a
//! request's bookkeeping two atomic updates, and exports every series from the start
//! (at zero), so dashboards have data before the first request of a kind.

use std::time::Duration;

use metrics::{Counter, Histogram};

use super::Op;

pub struct OpMetrics {
    requests: Vec<Counter>,
    durations: Vec<Histogram>,
}

impl OpMetrics {
    /// Registers `requests_name{op}` and `duration_name{op}` for every operation with the
    /// recorder installed now (with none, the handles record nothing).
    pub fn register(requests_name: &'static str, duration_name: &'static str) -> Self {
        OpMetrics {
            requests: Op::ALL
                .iter()
                .map(|op| metrics::counter!(requests_name, "op" => op.name()))
                .collect(),
            durations: Op::ALL
                .iter()
                .map(|op| metrics::histogram!(duration_name, "op" => op.name()))
                .collect(),
        }
    }

    /// Counts one request of `op` that took `elapsed`.
    pub fn record(&self, op: Op, elapsed: Duration) {
        let i = op as usize;
        self.requests[i].increment(1);
        self.durations[i].record(elapsed.as_secs_f64());
    }
}
