//! The DynamoDB model shared by the store daemon and the dax-proxy.
//!
//! # Layout
//! - [`model`]: attribute values, numbers, items, key schemas and primary keys, item size,
//!   the order-preserving key encoding and the compact binary item codec.
//! - [`expr`]: the expression language (condition, filter, key condition, update,
//!   projection), parsed and evaluated, plus the legacy parameters translated into it.
//! - [`clock`]: the wall clock in DynamoDB's units.
//! - [`flags`]: the duration and size forms every binary's flags take.
//! - [`wire`]: the JSON 1.0 protocol: operation targets, the error type and its `__type`
//!   JSON, DynamoDB's message texts, the `x-amz-crc32` checksum.
//!
//! This crate knows nothing of storage engines, and of HTTP servers only the protocol's
//! header names and the `POST /` front both servers share ([`wire::front`]): it is data and
//! logic, so that the proxy can validate exactly as the store does. The one exception,
//! [`runtime`], builds the tokio runtime all three binaries run on, so they pick it by the
//! same rule.

pub mod clock;
pub mod expr;
pub mod flags;
pub mod metric_families;
pub mod model;
pub mod partiql;
pub mod runtime;
pub mod wire;
