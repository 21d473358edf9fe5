//! describe_limits (see the module docs in mod.rs).
