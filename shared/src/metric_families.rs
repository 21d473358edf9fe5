//! The metric families a daemon exposes, described once so that `/metrics` gives each its
//! `# HELP` line and unit (each binary keeps its own table beside its metric names), and
//! the exporter both daemons install and render `/metrics` with.

use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The kind of a metric family, as `# TYPE` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One family: name, kind, unit, and the one line of `# HELP`.
pub type Family = (&'static str, Kind, Unit, &'static str);

/// Gives the installed recorder every family's help text and unit.
pub fn describe(families: &[Family]) {
    for &(name, kind, unit, help) in families {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, unit, help),
            Kind::Gauge => metrics::describe_gauge!(name, unit, help),
            Kind::Histogram => metrics::describe_histogram!(name, unit, help),
        }
    }
}

/// Installs the Prometheus exporter as the global recorder, with histogram buckets
/// `seconds` for every `_seconds` family and `named` for the families named there, and
/// describes `families`. `Err` if a recorder is installed already (a second server in one
/// process): metrics then go unrecorded, which the caller logs.
pub fn install(
    families: &[Family],
    seconds: &[f64],
    named: &[(&str, &[f64])],
) -> Result<PrometheusHandle, String> {
    let mut builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), seconds)
        .map_err(|e| e.to_string())?;
    for (name, buckets) in named {
        builder = builder
            .set_buckets_for_metric(Matcher::Full(name.to_string()), buckets)
            .map_err(|e| e.to_string())?;
    }
    let handle = builder.install_recorder().map_err(|e| e.to_string())?;
    describe(families);
    Ok(handle)
}

/// The exporter's text exposition without the blank line it ends each family with:
/// Prometheus skips blank lines, OpenMetrics parsers refuse them.
pub fn render(handle: &PrometheusHandle) -> String {
    without_blank_lines(&handle.render())
}

fn without_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines().filter(|line| !line.is_empty()) {
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_dropped_and_every_line_ends() {
        let text = "# TYPE a counter\na 1\n\n# TYPE b gauge\nb 2\n\n";
        assert_eq!(
            without_blank_lines(text),
            "# TYPE a counter\na 1\n# TYPE b gauge\nb 2\n"
        );
        assert_eq!(without_blank_lines(""), "");
    }
}
