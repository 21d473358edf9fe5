//! One module per operation: `handle(&App, Input) -> Result<Output, ApiError>`.
//! No axum types here; `server` decodes the body, calls the handler and encodes the result.

pub mod batch_get_item;
pub mod batch_write_item;
pub mod bulk_operations;
pub mod contributor_insights;
pub mod delete_item;
pub mod exports;
pub mod get_item;
pub mod global_tables;
pub mod idempotency;
pub mod imports;
pub mod item_write;
pub mod key_condition;
pub mod kinesis_destinations;
pub mod partiql;
pub mod put_item;
pub mod query;
pub mod read_item;
pub mod read_page;
pub mod scan;
pub mod search_vectors;
pub mod transact_get_items;
pub mod transact_write_items;
pub mod update_item;

pub mod create_table;
pub mod delete_table;
pub mod describe_endpoints;
pub mod describe_limits;
pub mod describe_table;
pub mod list_tables;
pub mod resource_policies;
pub mod tags;
pub mod update_table;

pub mod describe_stream;
pub mod describe_time_to_live;
pub mod get_records;
pub mod get_shard_iterator;
pub mod list_streams;
pub mod update_time_to_live;

pub mod create_backup;
pub mod delete_backup;
pub mod describe_backup;
pub mod describe_continuous_backups;
pub mod list_backups;
pub mod restore_table_from_backup;
pub mod restore_table_to_point_in_time;
pub mod update_continuous_backups;

/// Who asks for a change of a table: a client, or another region of its global table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    Client,
    /// Another region of the global table, passing on a change made there or removing
    /// this region's replica: not refused for what only this region is doing (a replica
    /// being made, or this one waiting for its copy), or the regions diverge.
    OtherRegion,
}
