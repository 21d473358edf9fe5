//! The metric families a daemon exposes, described once so that `/metrics` gives each its
//! `# HELP` line and unit (each binary keeps its own table beside its metric names).

use metrics::Unit;

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
