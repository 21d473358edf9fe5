//! Shard iterators: opaque strings that name a position in one shard of one stream.
//!
//! Form: `<stream arn>|1|<base64url(payload)>`, like DynamoDB's (which also start with the
//! stream ARN). The payload is `u64 after | u64 issued_ms | u8 len | shard id | u64 check`,
//! where `check` is a hash over the ARN and everything before it, so a truncated, edited or
//! spliced iterator (an ARN of one stream with the payload of another) is rejected as
//! malformed instead of reading the wrong shard. It is a checksum, not a secret: GetRecords
//! is authorized on the stream the iterator names (`crate::policy`), so forging an iterator
//! gains nothing GetShardIterator would not give.
//!
//! Iterators are stateless: the store keeps nothing per reader, any number of readers may
//! hold iterators, and they survive restarts. They expire `--stream-iterator-ttl` after they
//! were issued (DynamoDB: 15 minutes).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// The decoded content of a shard iterator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardIterator {
    pub stream_arn: String,
    pub shard_id: String,
    /// The last sequence number already consumed: reading continues after it.
    pub after: u64,
    /// When it was issued (epoch ms).
    pub issued_ms: u64,
}

/// The separator and format version between ARN and payload.
const MARK: &str = "|1|";

/// DynamoDB's iterators are at most 2048 characters.
pub const MAX_LEN: usize = 2048;

impl ShardIterator {
    pub fn encode(&self) -> String {
        let id = self.shard_id.as_bytes();
        let id_len = u8::try_from(id.len()).unwrap_or(u8::MAX);
        let mut payload = Vec::with_capacity(25 + id.len());
        payload.extend_from_slice(&self.after.to_be_bytes());
        payload.extend_from_slice(&self.issued_ms.to_be_bytes());
        payload.push(id_len);
        payload.extend_from_slice(id.get(..usize::from(id_len)).unwrap_or(id));
        let check = checksum(&self.stream_arn, &payload);
        payload.extend_from_slice(&check.to_be_bytes());
        format!(
            "{}{MARK}{}",
            self.stream_arn,
            URL_SAFE_NO_PAD.encode(payload)
        )
    }

    /// `None` for anything this store did not issue (or that was altered).
    pub fn decode(text: &str) -> Option<ShardIterator> {
        if text.len() > MAX_LEN {
            return None;
        }
        let (arn, encoded) = text.rsplit_once(MARK)?;
        let payload = URL_SAFE_NO_PAD.decode(encoded).ok()?;
        let (body, check) = payload.split_at_checked(payload.len().checked_sub(8)?)?;
        if u64::from_be_bytes(check.try_into().ok()?) != checksum(arn, body) {
            return None;
        }
        let after = u64::from_be_bytes(body.get(..8)?.try_into().ok()?);
        let issued_ms = u64::from_be_bytes(body.get(8..16)?.try_into().ok()?);
        let id_len = usize::from(*body.get(16)?);
        let id = body.get(17..)?;
        if id.len() != id_len {
            return None;
        }
        Some(ShardIterator {
            stream_arn: arn.to_string(),
            shard_id: String::from_utf8(id.to_vec()).ok()?,
            after,
            issued_ms,
        })
    }
}

fn checksum(arn: &str, body: &[u8]) -> u64 {
    let mut bytes = Vec::with_capacity(arn.len() + body.len() + 1);
    bytes.extend_from_slice(arn.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(body);
    xxhash_rust::xxh3::xxh3_64_with_seed(&bytes, 0x5354_5245_414d_4954)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ShardIterator {
        ShardIterator {
            stream_arn:
                "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2020-01-01T00:00:00.000"
                    .into(),
            shard_id: "shardId-00000001600000000000-0a1b2c3d".into(),
            after: 77,
            issued_ms: 1_700_000_000_000,
        }
    }

    #[test]
    fn round_trips_and_starts_with_the_arn() {
        let it = sample();
        let text = it.encode();
        assert!(text.starts_with(&it.stream_arn));
        assert!(text.len() <= MAX_LEN);
        assert_eq!(ShardIterator::decode(&text), Some(it));
    }

    #[test]
    fn altered_or_spliced_iterators_are_rejected() {
        let text = sample().encode();
        for cut in 0..text.len() {
            assert_eq!(ShardIterator::decode(&text[..cut]), None, "cut {cut}");
        }
        let other = ShardIterator {
            stream_arn:
                "arn:aws:dynamodb:us-east-1:000000000000:table/u/stream/2020-01-01T00:00:00.000"
                    .into(),
            ..sample()
        }
        .encode();
        let (_, payload) = other.rsplit_once(MARK).unwrap_or_default();
        let spliced = format!("{}{MARK}{payload}", sample().stream_arn);
        assert_eq!(ShardIterator::decode(&spliced), None);
        for junk in ["", "|1|", "x|1|!!!", "arn|1|AAAA", &"a".repeat(3000)] {
            assert_eq!(ShardIterator::decode(junk), None);
        }
    }
}
