//! batch_get_item (see the module docs in mod.rs).
