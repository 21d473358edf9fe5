//! The DynamoDB JSON 1.0 wire protocol: targets, errors, messages, checksums and the
//! per-operation request and response shapes.

pub mod accept;
pub mod admission;
pub mod body;
pub mod conn_deadlines;
pub mod content_type;
pub mod crc32;
pub mod error;
pub mod fd_limit;
pub mod front;
pub mod headers;
pub mod op_metrics;
pub mod ops;
pub mod request_id;
pub mod serve;
pub mod sigv4;
pub mod target;

pub use error::{ApiError, CancellationReason, ErrorCode, ThrottlingReason};
pub use target::Op;
