//! This region's new replicas that wait for their copy (CREATING until the region adding
//! them says `ready`), and when each last heard from that region. A replica whose adding
//! region has said nothing of it for `--replica-create-timeout` (its store gone, with its
//! data) may be deleted by a client here; otherwise it would wait for good, refusing its
//! deletion as any table being created does.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::catalog::{TableMeta, TableStatus};

/// When the adding region last spoke of each replica waiting here, by table id, and which
/// region that is (`None` after a restart: the changes of any region then count). In
/// memory: after a restart, a replica's silence counts from the start.
pub struct Waiting {
    started: Instant,
    heard: parking_lot::Mutex<HashMap<String, (Option<String>, Instant)>>,
}

impl Default for Waiting {
    fn default() -> Self {
        Waiting {
            started: Instant::now(),
            heard: Default::default(),
        }
    }
}

/// Whether `table` is this region's replica waiting for its copy.
pub fn awaiting_copy(table: &TableMeta) -> bool {
    table.status == TableStatus::Creating && super::made_by(table).is_some()
}

impl Waiting {
    /// Region `adding` made `table` here (`None`: a store that does not say).
    pub fn made(&self, table: &TableMeta, adding: Option<&str>) {
        if awaiting_copy(table) {
            let heard = (adding.map(str::to_string), Instant::now());
            self.heard.lock().insert(table.table_uuid.clone(), heard);
        }
    }

    /// Region `from` sent `table` changes (the copy, if it is the adding region).
    pub fn sent(&self, table: &TableMeta, from: &str) {
        if !awaiting_copy(table) {
            return;
        }
        let mut heard = self.heard.lock();
        let entry = heard
            .entry(table.table_uuid.clone())
            .or_insert((None, self.started));
        if entry.0.as_deref().is_none_or(|adding| adding == from) {
            entry.1 = Instant::now();
        }
    }

    /// `table` has its copy: it waits no more.
    pub fn done(&self, table: &TableMeta) {
        self.heard.lock().remove(&table.table_uuid);
    }

    /// Whether `table` waits for a copy whose adding region has said nothing of it for
    /// `timeout` (since this store started, if it has not spoken since).
    pub fn abandoned(&self, table: &TableMeta, timeout: Duration) -> bool {
        let last = self
            .heard
            .lock()
            .get(&table.table_uuid)
            .map_or(self.started, |heard| heard.1);
        awaiting_copy(table) && last.elapsed() >= timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Table `t` as this region's replica made by an addition, waiting for its copy.
    fn waiting_table() -> TableMeta {
        let mut table = TableMeta::for_tests(1, "t");
        table.status = TableStatus::Creating;
        super::super::set_origin(&mut table.settings, "u/1".into());
        table
    }

    #[test]
    fn only_the_adding_region_keeps_a_waiting_replica_from_being_abandoned() {
        let pause = Duration::from_millis(30);
        let waiting = Waiting::default();
        let table = waiting_table();
        waiting.made(&table, Some("us-east-1"));
        assert!(!waiting.abandoned(&table, pause));
        std::thread::sleep(pause);
        // Another region's changes say nothing of the adding region.
        waiting.sent(&table, "ap-south-1");
        assert!(waiting.abandoned(&table, pause));
        waiting.sent(&table, "us-east-1");
        assert!(!waiting.abandoned(&table, pause));

        // After a restart the adding region is unknown: any region's changes count.
        let restarted = Waiting::default();
        std::thread::sleep(pause);
        assert!(restarted.abandoned(&table, pause));
        restarted.sent(&table, "ap-south-1");
        assert!(!restarted.abandoned(&table, pause));

        // A replica with its copy, or a table no addition made, waits for nothing.
        let mut copied = table.clone();
        copied.status = TableStatus::Active;
        assert!(!restarted.abandoned(&copied, Duration::ZERO));
        let own = TableMeta {
            status: TableStatus::Creating,
            ..TableMeta::for_tests(2, "restored")
        };
        assert!(!restarted.abandoned(&own, Duration::ZERO));
    }
}
