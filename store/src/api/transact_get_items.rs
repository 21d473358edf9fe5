//! transact_get_items.
