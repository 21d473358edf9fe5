//! list_tables (see the module docs in mod.rs).
