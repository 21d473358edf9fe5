//! update_table.
