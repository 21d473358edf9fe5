//! The node's caches: items (GetItem, BatchGetItem) and query results (Query, Scan), and
//! the generation counters that keep both coherent with the store.

pub mod generations;
pub mod item;
pub mod query;

use axum::http::HeaderValue;
use bytes::Bytes;

/// A response body kept ready to send with its `x-amz-crc32` header value, so that a hit
/// is reference-count increments and no serialization.
///
/// Both live in one exact-size allocation, `[crc digits][body]`: a cached 1 KB item then
/// costs one heap block instead of three (an `Arc`, the body, the header's bytes), and a
/// body read from the network no longer pins the larger receive buffer it arrived in.
#[derive(Debug, Clone)]
pub struct ReadyBody {
    bytes: Bytes,
    crc_len: usize,
}

impl ReadyBody {
    /// Copies `body` (a slice of anything) behind its checksum.
    pub fn new(body: &[u8]) -> Self {
        let crc = shared::wire::crc32::header_value(body);
        let mut bytes = Vec::with_capacity(crc.len() + body.len());
        bytes.extend_from_slice(crc.as_bytes());
        bytes.extend_from_slice(body);
        ReadyBody {
            bytes: Bytes::from(bytes),
            crc_len: crc.len(),
        }
    }

    /// The body bytes, borrowed.
    pub fn body(&self) -> &[u8] {
        &self.bytes[self.crc_len..]
    }

    /// The body and its `x-amz-crc32` value, sharing the cached allocation.
    pub fn parts(&self) -> (Bytes, HeaderValue) {
        let crc = HeaderValue::from_maybe_shared(self.bytes.slice(..self.crc_len))
            .unwrap_or_else(|_| HeaderValue::from_static("0"));
        (self.bytes.slice(self.crc_len..), crc)
    }
}

/// What an entry costs beyond its key and body: moka's bookkeeping (hash-table bucket,
/// entry info, access- and write-order queue nodes, key `Arc`), the checksum digits and the
/// allocator's share. bench/proxy-memory.sh measured ~530 bytes per cached 1 KB item above
/// the body, so `--item-cache-bytes` bounds what the cache really holds in memory.
const ENTRY_OVERHEAD_BYTES: usize = 512;

/// moka weighs entries in u32; our entries are at most a few MB.
fn weight(key_len: usize, body_len: usize) -> u32 {
    u32::try_from(key_len + body_len + ENTRY_OVERHEAD_BYTES).unwrap_or(u32::MAX)
}
