//! transact_write_items.
