//! The store daemon: a DynamoDB-compatible server on an embedded, durable engine.
//!
//! # Layout
//! - `config`: command-line flags and environment variables → validated [`config::Config`].
//! - `server`: the axum app: `POST /` dispatch on `X-Amz-Target`, health, metrics,
//!   the internal change feed; errors rendered once, in `error`.
//! - `catalog`: tables and their descriptions, persisted through storage meta records.
//! - `api`: one module per operation, typed input → typed output, no axum types.
//! - `storage`: items, change log and durability on fjall.

pub mod api;
pub mod app;
pub mod capacity;
pub mod catalog;
pub mod config;
pub mod error;
pub mod server;
pub mod storage;
