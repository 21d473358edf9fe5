//! put_item (see the module docs in mod.rs).
