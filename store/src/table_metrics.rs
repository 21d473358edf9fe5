//! The per-table metric families (`table` label), rendered at each scrape from live state
//! rather than recorded in the exporter: the catalog's tables, the engine's item counts
//! and sizes, and what `crate::throttle` metered. The exporter cannot drop a series, so a
//! table's series kept there would outlive it; rendered here, a deleted table's series are
//! gone at the next scrape, and a store that creates a table per test does not grow
//! `/metrics` without bound.

use std::fmt::Write as _;

use crate::app::App;
use crate::metrics::{
    label_value, write_family, Kind, CONSUMED_READ_UNITS_TOTAL, CONSUMED_WRITE_UNITS_TOTAL,
    INDEX_ITEMS, INDEX_SIZE_BYTES, TABLE_ITEMS, TABLE_SIZE_BYTES, THROTTLED_REQUESTS_TOTAL,
};

/// Appends the per-table families of every table the catalog holds now. The consumption
/// counters and the throttled count have a series once the table consumed or was
/// throttled, as an exporter counter appears at its first increment; the storage gauges
/// one for every table.
pub fn render(app: &App, out: &mut String) {
    let consumption = crate::throttle::consumption();
    let all_stats = app.storage.all_stats();
    let mut read = String::new();
    let mut index_size = String::new();
    let mut index_items = String::new();
    let mut write = String::new();
    let mut throttled = String::new();
    let mut size = String::new();
    let mut items = String::new();
    for table in app.catalog.all() {
        let label = label_value(table.name());
        let row = |rows: &mut String, name: &str, value: &dyn std::fmt::Display| {
            let _ = writeln!(rows, "{name}{{table=\"{label}\"}} {value}");
        };
        let stats = |index_id: u16| {
            all_stats
                .get(&(table.table_id(), index_id))
                .copied()
                .unwrap_or_default()
        };
        let own = stats(crate::storage::keys::TABLE_INDEX);
        row(&mut size, TABLE_SIZE_BYTES, &own.size_bytes);
        row(&mut items, TABLE_ITEMS, &own.item_count);
        for (index, index_id) in table.indexes_with_entries() {
            let entries = stats(index_id);
            let labels = format!("table=\"{label}\",index=\"{}\"", label_value(index));
            let _ = writeln!(
                index_size,
                "{INDEX_SIZE_BYTES}{{{labels}}} {}",
                entries.size_bytes
            );
            let _ = writeln!(
                index_items,
                "{INDEX_ITEMS}{{{labels}}} {}",
                entries.item_count
            );
        }
        let Some(used) = consumption.get(&table.table_id()) else {
            continue;
        };
        if used.read_units > 0.0 {
            row(&mut read, CONSUMED_READ_UNITS_TOTAL, &used.read_units);
        }
        if used.write_units > 0.0 {
            row(&mut write, CONSUMED_WRITE_UNITS_TOTAL, &used.write_units);
        }
        if used.throttled > 0 {
            row(&mut throttled, THROTTLED_REQUESTS_TOTAL, &used.throttled);
        }
    }
    write_family(out, CONSUMED_READ_UNITS_TOTAL, Kind::Counter, &read);
    write_family(out, CONSUMED_WRITE_UNITS_TOTAL, Kind::Counter, &write);
    write_family(out, THROTTLED_REQUESTS_TOTAL, Kind::Counter, &throttled);
    write_family(out, TABLE_SIZE_BYTES, Kind::Gauge, &size);
    write_family(out, TABLE_ITEMS, Kind::Gauge, &items);
    write_family(out, INDEX_SIZE_BYTES, Kind::Gauge, &index_size);
    write_family(out, INDEX_ITEMS, Kind::Gauge, &index_items);
}
