//! describe_endpoints (see the module docs in mod.rs).
