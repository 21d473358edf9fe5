//! The node's caches: items (GetItem, BatchGetItem) and query results (Query, Scan), and
//! the generation counters that keep both coherent with the store.

pub mod generations;
mod hashed;
pub mod item;
pub mod query;

use std::sync::Arc;

use axum::http::HeaderValue;
use bytes::Bytes;

/// A response body kept ready to send with its `x-amz-crc32` header value, and the full
/// cache key it answers for (caches are keyed by the key's hash, see [`hashed`]).
///
/// An item entry also records the store's change-log position its body reflects (see
/// [`ReadyBody::position`]).
///
/// All of it lives in one exact-size, reference-counted allocation,
/// `[key length: u32 LE][crc length: u8][position: u64 LE][key][crc digits][body]`: a
/// cached 1 KB item is one
/// heap block, a hit checks its key and sends its body from the same block, and a body read
/// from the network does not pin the larger receive buffer it arrived in. The lengths sit in
/// the block rather than beside the pointer because this handle is stored inside moka's
/// per-entry record, where 8 bytes less moves it to a smaller allocator size class.
#[derive(Debug, Clone)]
pub struct ReadyBody {
    bytes: Arc<[u8]>,
}

/// The two length fields and the position in front of the key.
const HEADER_LEN: usize = 13;

impl ReadyBody {
    /// Copies `key` and `body` (slices of anything) around the body's checksum. `None` for a
    /// key over 4 GB, which no request can carry.
    pub fn new(key: &[u8], body: &[u8]) -> Option<Self> {
        Self::at_position(key, body, 0)
    }

    /// [`ReadyBody::new`] for a body that reflects every change up to change-log sequence
    /// number `position`.
    pub fn at_position(key: &[u8], body: &[u8], position: u64) -> Option<Self> {
        let crc = shared::wire::crc32::header_value(body);
        let key_len = u32::try_from(key.len()).ok()?;
        // At most 10 decimal digits of a u32.
        let crc_len = u8::try_from(crc.len()).ok()?;
        let mut bytes = Vec::with_capacity(HEADER_LEN + key.len() + crc.len() + body.len());
        bytes.extend_from_slice(&key_len.to_le_bytes());
        bytes.push(crc_len);
        bytes.extend_from_slice(&position.to_le_bytes());
        bytes.extend_from_slice(key);
        bytes.extend_from_slice(crc.as_bytes());
        bytes.extend_from_slice(body);
        Some(ReadyBody {
            bytes: Arc::from(bytes),
        })
    }

    fn key_end(&self) -> usize {
        let key_len = self
            .bytes
            .first_chunk()
            .map_or(0, |len| u32::from_le_bytes(*len));
        HEADER_LEN + key_len as usize
    }

    fn crc_len(&self) -> usize {
        self.bytes.get(4).copied().map_or(0, usize::from)
    }

    /// The change-log sequence number up to which the body reflects every change (0: not
    /// known, so any change may be newer).
    pub fn position(&self) -> u64 {
        self.bytes
            .get(5..HEADER_LEN)
            .and_then(|bytes| bytes.try_into().ok())
            .map_or(0, u64::from_le_bytes)
    }

    /// The cache key this body answers for.
    pub fn key(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..self.key_end()]
    }

    /// The body bytes, borrowed.
    pub fn body(&self) -> &[u8] {
        &self.sendable()[self.crc_len()..]
    }

    /// `[crc digits][body]`.
    fn sendable(&self) -> &[u8] {
        &self.bytes[self.key_end()..]
    }

    /// What the entry weighs in the cache's byte bound. moka weighs entries in u32; ours are
    /// at most a few MB.
    fn weight(&self) -> u32 {
        u32::try_from(self.bytes.len() + ENTRY_OVERHEAD_BYTES).unwrap_or(u32::MAX)
    }

    /// The body and its `x-amz-crc32` value, sharing the cached allocation (one small
    /// allocation per hit for the handle that `Bytes` keeps on it).
    pub fn parts(&self) -> (Bytes, HeaderValue) {
        let crc_len = self.crc_len();
        let sendable = Bytes::from_owner(Sendable(self.clone()));
        let crc = HeaderValue::from_maybe_shared(sendable.slice(..crc_len))
            .unwrap_or_else(|_| HeaderValue::from_static("0"));
        (sendable.slice(crc_len..), crc)
    }
}

/// A [`ReadyBody`] seen as the bytes that go on the wire (`Bytes::from_owner` wants them
/// through `AsRef`).
struct Sendable(ReadyBody);

impl AsRef<[u8]> for Sendable {
    fn as_ref(&self) -> &[u8] {
        self.0.sendable()
    }
}

/// What an entry costs beyond its block (key, checksum digits, body): moka's bookkeeping
/// (hash-table bucket, key `Arc`, entry info, access- and write-order queue nodes) and the
/// allocator's share. bench/proxy-memory.sh measured ~400 bytes per cached 1 KB item above
/// the block, so `--item-cache-bytes` bounds what the cache really holds in memory.
const ENTRY_OVERHEAD_BYTES: usize = 400;

/// What a typical entry weighs: a 1 KB item (~1.1 KB of GetItem JSON, key and checksum)
/// with its overhead.
const TYPICAL_ENTRY_BYTES: u64 = 1536;

/// Most entries a cache's hash table is sized for up front (a 16 MB table); beyond that it
/// grows as it fills.
const MAX_PRESIZED_ENTRIES: u64 = 1 << 20;

/// How many entries to size a cache's hash table for. moka's table probes linearly and only
/// grows at 70% load, where a lookup walks ~2 slots, each two dependent loads (slot → bucket
/// → key); sized for the entries its byte bound holds at a typical weight, the table stays
/// under half full until the cache is, and a hit mostly finds its key in the first slot. A
/// microbenchmark of 10,000 cached 1 KB values: 300 instead of 350-400 ns per lookup. The
/// price is 8 bytes per slot allocated at start (4 MB for the default item cache).
fn presized_entries(max_bytes: u64) -> usize {
    usize::try_from((max_bytes / TYPICAL_ENTRY_BYTES).min(MAX_PRESIZED_ENTRIES)).unwrap_or(0)
}
