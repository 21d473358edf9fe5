//! Follows the store's change feed so that this node's caches reflect every committed
//! write, wherever it came from (this node, another node, or a client of the store itself).
//!
//! For each change: the item's cache entry, if present, is replaced by the new image (or a
//! negative entry for a delete; or dropped, for a table whose log keeps no images because
//! nothing but this feed reads it), and the item's, partition's and table's generations are
//! bumped, so in-flight misses and dependent query pages are discarded. A deleted table
//! (a direct DeleteTable, or one through another node) retires that table's entries; a
//! change of its indexes (an UpdateTable anywhere, or an index's backfill ending), its
//! Query and Scan pages. The store hands such a notice out only once requests see the
//! change (`Catalog::settled` there), so what a miss fetches after it is never the old
//! index's answer.
//!
//! It starts at the feed's head (an empty cache needs no history) and long-polls, so a
//! write is applied here within milliseconds. If the feed cannot be read, changes are not
//! lost: the store keeps its log (`--feed-retention` at least) and the follower resumes
//! from its cursor. A node cut off for longer finds the records after its cursor trimmed
//! (the feed's first record is not the next sequence number): it then drops both caches,
//! since any entry may predate a change it will never see. So does a node whose store
//! restarted, whatever its data: each start of the store serves a new log (`log_id`),
//! since one back on an older copy of its directory, or from a crash that lost writes the
//! node had already cached, numbers changes again past its restored point.
//!
//! The feed also tells a node that checks no signatures whether it may answer at all
//! (`shared::wire::headers::CLIENT_UNVERIFIED`): a store with keys refuses it the feed, and
//! each page says whether the store checks signatures. A store's restart with keys or
//! without breaks the long poll, and the first read after a failed one does not wait, so
//! the node learns of either within a moment of the store's start.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use shared::model::Item;

use crate::keys::{item_key, partition_slot};
use crate::upstream::Refusal;
use crate::Node;

/// Why reads of the feed fail when the store answers 403.
const SECRET_REFUSED: &str =
    "the store refused this node's --cluster-secret, which must equal the store's";
/// Why reads of the feed fail when the store checks signatures and this node does not.
const SIGNATURES_REQUIRED: &str = "the store checks signatures, which this node cannot do \
    without --credentials-file: it refuses every call";

/// How long one long-poll waits for a change before asking again.
const POLL_WAIT_MS: u64 = 20_000;
/// The wait before a failed read of the feed is tried again. Short: until a restarted
/// store's feed is read (a new log, so the caches are dropped), the caches answer as they
/// did before the restart, values a crash or a restore lost included. A store that is
/// down refuses the connection at once, so trying often costs little.
const FEED_RETRY: Duration = Duration::from_millis(50);
/// How long after a page of the feed was read the caches may still answer
/// (`Node::following`): a long poll answers within [`POLL_WAIT_MS`] even when nothing
/// changed, so a follower that has heard nothing for longer is cut off.
pub const FRESH_FOR_MS: u64 = POLL_WAIT_MS + 5_000;
const BATCH: usize = 1000;

#[derive(Deserialize)]
struct Page {
    records: Vec<Record>,
    last_seq: u64,
    head: u64,
    /// The identity of the store's change log (absent from stores before it).
    #[serde(default)]
    log_id: Option<String>,
    /// Whether the store checks signatures (absent from stores before it, which say so
    /// only by refusing calls).
    #[serde(default)]
    signatures_required: Option<bool>,
}

#[derive(Deserialize)]
struct Record {
    /// The change log's sequence number: consecutive, so a jump means trimmed records.
    seq: u64,
    table: String,
    hash_key: Option<String>,
    keys: Item,
    new: Option<Item>,
    /// The change left an item behind but the store's log did not keep its image (a table
    /// without PITR or a stream showing images): drop the item rather than replace it.
    #[serde(default)]
    new_elided: bool,
    /// `table_dropped` for a deleted table, `indexes_changed` for a table whose indexes
    /// answer otherwise (one added, deleted, or done backfilling); item changes otherwise.
    #[serde(default)]
    cause: Option<String>,
    /// When the store committed the change (epoch milliseconds).
    time_ms: u64,
}

/// Runs until the process ends.
pub async fn run(node: Arc<Node>) {
    let mut cursor: Option<u64> = None;
    // The log the cursor counts in.
    let mut log_id: Option<String> = None;
    let mut last_failed = false;
    loop {
        let (after, wait) = match cursor {
            Some(c) if !last_failed => (c, POLL_WAIT_MS),
            // Answered at once, not at the next change: a store back from an outage or a
            // restart may have changed what the node may serve.
            Some(c) => (c, 0),
            None => (u64::MAX, 0),
        };
        let url = format!(
            "{}/internal/changes?after={after}&limit={BATCH}&wait_ms={wait}&elided=true",
            node.config.store
        );
        let timeout = Duration::from_millis(wait + 10_000);
        let page = match node.upstream.get_internal(&url, timeout).await {
            Ok(bytes) => serde_json::from_slice::<Page>(&bytes).map_err(|e| e.to_string()),
            // This node's configuration, not the store's health: say so.
            Err(e) => match e.refused {
                Some(Refusal::ClusterSecret) => Err(SECRET_REFUSED.to_string()),
                Some(Refusal::SignaturesRequired) => Err(SIGNATURES_REQUIRED.to_string()),
                None => Err(e.to_string()),
            },
        };
        last_failed = page.is_err();
        match page {
            Ok(page) => {
                node.feed_read();
                // The store restarted (on any data directory) or another one answers at
                // the address: whatever its numbers, they are not this cursor's.
                let new_log = log_id.is_some() && page.log_id != log_id;
                log_id.clone_from(&page.log_id);
                cursor = Some(match cursor {
                    None => page.head,
                    Some(cursor) => {
                        if new_log || missed_changes(cursor, &page) {
                            tracing::warn!(
                                cursor,
                                head = page.head,
                                new_log,
                                "changes this node never saw are gone; dropping the caches"
                            );
                            node.clear_caches();
                        }
                        if new_log || page.head < cursor {
                            // A new log: its numbers start over, so does the cursor.
                            page.head
                        } else {
                            apply_page(&node, &page)
                        }
                    }
                });
                // Once the page is applied: a node that stops refusing serves no entry
                // older than it.
                if let Some(required) = page.signatures_required {
                    node.upstream.store_checks_signatures(required);
                }
            }
            Err(e) => {
                node.metrics.follower_errors.increment(1);
                // Logged when it starts failing and then once a minute, not on each retry.
                node.feed_failed(&e);
                tokio::time::sleep(FEED_RETRY).await;
            }
        }
    }
}

/// Applies a page's records to the caches; returns the new cursor.
fn apply_page(node: &Node, page: &Page) -> u64 {
    for record in &page.records {
        apply(node, record);
    }
    record_delays(node, &page.records);
    node.metrics
        .follower_records
        .increment(page.records.len() as u64);
    page.last_seq
}

/// Whether changes after `cursor` can no longer be read: the page starts past the next
/// sequence number (the log's numbers are consecutive and only its oldest records are
/// ever trimmed), or the log is younger than the cursor (a new log, from a store before
/// `log_id`).
fn missed_changes(cursor: u64, page: &Page) -> bool {
    page.head < cursor
        || page
            .records
            .first()
            .is_some_and(|first| first.seq > cursor.saturating_add(1))
}

/// How long after its commit each change reached this node's caches: the window in which
/// the node may serve the item's previous state.
fn record_delays(node: &Node, records: &[Record]) {
    let now_ms = shared::clock::now_ms();
    for record in records {
        let delay_ms = now_ms.saturating_sub(record.time_ms);
        node.metrics
            .follower_delay
            .record(Duration::from_millis(delay_ms).as_secs_f64());
    }
}

fn apply(node: &Node, record: &Record) {
    match record.cause.as_deref() {
        Some("table_dropped") => return node.forget_table(&record.table),
        Some("indexes_changed") => return node.forget_pages(&record.table),
        _ => {}
    }
    node.bump_table(&record.table);
    if let Some(hash) = record
        .hash_key
        .as_ref()
        .and_then(|name| record.keys.get(name).map(|v| (name, v)))
    {
        node.gens
            .bump(partition_slot(&record.table, hash.0, hash.1));
    }
    let Some(key) = item_key(&record.table, &record.keys) else {
        return;
    };
    match &record.new {
        Some(item) => {
            let body = json!({ "Item": item }).to_string();
            node.items.apply_change(&key, body.as_bytes(), record.seq);
        }
        None if record.new_elided => node.items.invalidate(&key),
        None => node.items.apply_change(&key, b"{}", record.seq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64) -> Record {
        Record {
            seq,
            table: "t".into(),
            hash_key: None,
            keys: Item::new(),
            new: None,
            new_elided: false,
            cause: None,
            time_ms: 0,
        }
    }

    fn page(head: u64, seqs: &[u64]) -> Page {
        Page {
            records: seqs.iter().map(|&seq| record(seq)).collect(),
            last_seq: seqs.last().copied().unwrap_or(0),
            head,
            log_id: None,
            signatures_required: None,
        }
    }

    #[test]
    fn a_jump_past_the_cursor_or_a_younger_log_means_missed_changes() {
        assert!(!missed_changes(7, &page(9, &[8, 9])));
        assert!(!missed_changes(7, &page(7, &[])));
        // Records 8 and 9 were trimmed before this node read them.
        assert!(missed_changes(7, &page(10, &[10])));
        // The store came back with a new log, behind the cursor.
        assert!(missed_changes(7, &page(3, &[])));
        assert!(missed_changes(7, &page(5, &[4, 5])));
    }
}
