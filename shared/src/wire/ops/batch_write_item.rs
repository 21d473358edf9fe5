//! batch_write_item (see the module docs in mod.rs).
