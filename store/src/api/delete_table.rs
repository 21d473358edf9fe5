//! delete_table.
