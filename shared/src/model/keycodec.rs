//! Order-preserving byte encodings of key values.
//!
//! `encode_scalar(a) < encode_scalar(b)` (bytewise) exactly when `a < b` in DynamoDB's key
//! order (numbers numerically, strings and binary by unsigned bytes), and every encoding is
//! self-delimiting so that a partition key's encoding is never a prefix of another's.

use super::value::AttributeValue;

/// Appends the order-preserving, self-delimiting encoding of a scalar key value (S, N or B).
pub fn encode_scalar(value: &AttributeValue, out: &mut Vec<u8>) {
    let _ = (value, out);
    todo!("model helper")
}

/// Decodes one value encoded by [`encode_scalar`] from the front of `input`, returning it
/// and the rest of the input. `None` for bytes that no encoder wrote.
pub fn decode_scalar(input: &[u8]) -> Option<(AttributeValue, &[u8])> {
    let _ = input;
    todo!("model helper")
}

/// The 64-bit hash of a partition key value that orders the scan and splits parallel
/// scan segments. Stable across versions: it is part of the on-disk layout.
pub fn partition_hash(value: &AttributeValue) -> u64 {
    let _ = value;
    todo!("model helper")
}
