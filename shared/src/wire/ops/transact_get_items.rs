//! transact_get_items (see the module docs in mod.rs).
