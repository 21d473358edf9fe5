//! list_tables.
