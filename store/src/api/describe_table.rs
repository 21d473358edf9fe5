//! describe_table.
