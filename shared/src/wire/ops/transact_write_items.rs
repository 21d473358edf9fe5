//! transact_write_items (see the module docs in mod.rs).
