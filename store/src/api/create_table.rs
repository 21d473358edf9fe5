//! create_table.
