//! create_table (see the module docs in mod.rs).
