//! Order-preserving byte encodings of key values.
//!
//! `encode_scalar(a) < encode_scalar(b)` (bytewise) exactly when `a < b` in DynamoDB's key
//! order (numbers numerically, strings and binary by unsigned bytes), and every encoding is
//! self-delimiting so that a partition key's encoding is never a prefix of another's.
//!
//! Layout (on disk: never change it, only add new tags):
//! - S: `0x30`, the UTF-8 bytes with `0x00` escaped as `0x00 0xFF`, then `0x00 0x01`.
//! - B: `0x10`, the bytes escaped the same way, then `0x00 0x01`.
//! - N: `0x20` negative, `0x21` zero, `0x22` positive. Zero ends there. Otherwise one
//!   exponent byte (`exp + 130`, 0..=255 for DynamoDB's range), the significant digits
//!   packed two per byte as `10*d1 + d2 + 1` (1..=100; an odd count pads with a 0 digit,
//!   which is unambiguous because normalized digits never end in 0), then `0x00`.
//!   Negative numbers complement everything after the tag (`255 - exp byte`,
//!   `101 - pair`, terminator `0xFF`), so larger magnitudes sort first.
//!
//! Values of different types never share a key attribute, so the tags only need to be
//! distinct, not ordered against each other.

use super::number::Number;
use super::value::AttributeValue;

const TAG_B: u8 = 0x10;
const TAG_N_NEG: u8 = 0x20;
const TAG_N_ZERO: u8 = 0x21;
const TAG_N_POS: u8 = 0x22;
const TAG_S: u8 = 0x30;
/// Tag of anything that is not a key scalar (only reachable through a caller bug).
const TAG_OTHER: u8 = 0xFE;

const EXP_BIAS: i32 = 130;

/// Appends the order-preserving, self-delimiting encoding of a scalar key value (S, N or B).
///
/// Non-scalar values are not keys; they encode as a lone tag byte that decodes to `None`.
pub fn encode_scalar(value: &AttributeValue, out: &mut Vec<u8>) {
    match value {
        AttributeValue::S(s) => encode_string(s, out),
        AttributeValue::B(b) => {
            out.reserve(b.len() + 3);
            out.push(TAG_B);
            escape_bytes(b, out);
        }
        AttributeValue::N(n) => encode_number(n, out),
        _ => out.push(TAG_OTHER),
    }
}

/// [`encode_scalar`] of an S value, from a borrowed string.
pub fn encode_string(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() + 3);
    out.push(TAG_S);
    escape_bytes(s.as_bytes(), out);
}

/// The encoding as a fresh vector.
pub fn encode_scalar_vec(value: &AttributeValue) -> Vec<u8> {
    let mut out = Vec::new();
    encode_scalar(value, &mut out);
    out
}

/// The bytes every [`encode_scalar`] of an S or B value that starts with `prefix` starts
/// with: the tag and the escaped bytes, without the terminator (escaping maps each byte on
/// its own, so it keeps prefixes). `begins_with` on one attribute of a composite key reads
/// as a prefix of the composite's bytes. Nothing for other types.
pub fn encode_prefix(prefix: &AttributeValue, out: &mut Vec<u8>) {
    let (tag, bytes) = match prefix {
        AttributeValue::S(s) => (TAG_S, s.as_bytes()),
        AttributeValue::B(b) => (TAG_B, b.as_slice()),
        _ => return,
    };
    out.push(tag);
    escape_body(bytes, out);
}

fn escape_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    escape_body(bytes, out);
    out.extend_from_slice(&[0x00, 0x01]);
}

/// `bytes` with each 0x00 written as 0x00 0xFF, so that the terminator 0x00 0x01 sorts
/// before any continuation.
fn escape_body(bytes: &[u8], out: &mut Vec<u8>) {
    let mut rest = bytes;
    while let Some(at) = rest.iter().position(|&b| b == 0) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(&[0x00, 0xFF]);
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

/// [`encode_scalar`] of an N value.
pub fn encode_number(n: &Number, out: &mut Vec<u8>) {
    if n.is_zero() {
        out.push(TAG_N_ZERO);
        return;
    }
    let negative = n.is_negative();
    out.push(if negative { TAG_N_NEG } else { TAG_N_POS });
    // Within DynamoDB's range by Number's invariant, so the biased exponent fits a byte.
    let exp = (n.exponent() + EXP_BIAS).clamp(0, 255) as u8;
    out.push(if negative { 255 - exp } else { exp });
    let mut digits = n.digits().map(|d| d - b'0');
    while let Some(hi) = digits.next() {
        let lo = digits.next().unwrap_or(0);
        let pair = 10 * hi + lo + 1;
        out.push(if negative { 101 - pair } else { pair });
    }
    out.push(if negative { 0xFF } else { 0x00 });
}

/// Decodes one value encoded by [`encode_scalar`] from the front of `input`, returning it
/// and the rest of the input. `None` for bytes that no encoder wrote.
pub fn decode_scalar(input: &[u8]) -> Option<(AttributeValue, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    match tag {
        TAG_S => {
            let (bytes, rest) = unescape_bytes(rest)?;
            let text = String::from_utf8(bytes).ok()?;
            Some((AttributeValue::S(text), rest))
        }
        TAG_B => {
            let (bytes, rest) = unescape_bytes(rest)?;
            Some((AttributeValue::B(bytes), rest))
        }
        TAG_N_ZERO => Some((AttributeValue::N(Number::zero()), rest)),
        TAG_N_POS => decode_number(rest, false),
        TAG_N_NEG => decode_number(rest, true),
        _ => None,
    }
}

fn unescape_bytes(input: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let mut out = Vec::with_capacity(input.len().min(4096));
    let mut rest = input;
    loop {
        let at = rest.iter().position(|&b| b == 0)?;
        out.extend_from_slice(&rest[..at]);
        match rest.get(at + 1)? {
            0xFF => {
                out.push(0);
                rest = &rest[at + 2..];
            }
            0x01 => return Some((out, &rest[at + 2..])),
            _ => return None,
        }
    }
}

fn decode_number(input: &[u8], negative: bool) -> Option<(AttributeValue, &[u8])> {
    let (&exp_byte, mut rest) = input.split_first()?;
    let exp_byte = if negative { 255 - exp_byte } else { exp_byte };
    let exp = i32::from(exp_byte) - EXP_BIAS;
    if exp > super::number::MAX_EXPONENT {
        return None;
    }
    let terminator = if negative { 0xFF } else { 0x00 };
    let mut digits = [0u8; super::number::MAX_DIGITS + 1];
    let mut count = 0;
    loop {
        let (&byte, tail) = rest.split_first()?;
        rest = tail;
        if byte == terminator {
            break;
        }
        let pair = if negative {
            101u8.checked_sub(byte)?
        } else {
            byte
        };
        if !(1..=100).contains(&pair) || count + 2 > digits.len() {
            return None;
        }
        let value = pair - 1;
        digits[count] = b'0' + value / 10;
        digits[count + 1] = b'0' + value % 10;
        count += 2;
    }
    if count == 0 {
        return None;
    }
    // Only the final pair may carry the padding zero.
    if digits[count - 1] == b'0' {
        count -= 1;
    }
    let digits = &digits[..count];
    if digits.len() > super::number::MAX_DIGITS
        || digits.first() == Some(&b'0')
        || digits.last() == Some(&b'0')
    {
        return None;
    }
    // In range: checked against MAX_EXPONENT above, and the bias makes it ≥ -130.
    let number = Number::from_validated(negative, digits, exp as i16);
    Some((AttributeValue::N(number), rest))
}

/// The 64-bit hash of a partition key value that orders the scan and splits parallel
/// scan segments. Stable across versions: it is part of the on-disk layout.
///
/// xxh3-64 (seed 0) of a type byte (`S`, `N`, `B`) followed by the UTF-8 text, the
/// normalized number text, or the raw bytes.
pub fn partition_hash(value: &AttributeValue) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    match value {
        AttributeValue::S(s) => {
            hasher.update(b"S");
            hasher.update(s.as_bytes());
        }
        AttributeValue::N(n) => {
            hasher.update(b"N");
            hasher.update(n.as_str().as_bytes());
        }
        AttributeValue::B(b) => {
            hasher.update(b"B");
            hasher.update(b);
        }
        other => hasher.update(other.type_name().as_bytes()),
    }
    hasher.digest()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn num(t: &str) -> Number {
        match Number::parse(t) {
            Ok(n) => n,
            Err(e) => panic!("{t}: {e}"),
        }
    }

    fn round_trip(v: &AttributeValue) {
        let mut enc = encode_scalar_vec(v);
        enc.extend_from_slice(b"tail");
        let (back, rest) = match decode_scalar(&enc) {
            Some(x) => x,
            None => panic!("cannot decode {v:?}"),
        };
        assert_eq!(&back, v);
        assert_eq!(rest, b"tail");
    }

    #[test]
    fn number_order_examples() {
        let ordered = [
            "-9.9999999999999999999999999999999999999E+125",
            "-100",
            "-12.5",
            "-1.01",
            "-1",
            "-0.5",
            "-1E-130",
            "0",
            "1E-130",
            "0.001",
            "1",
            "1.01",
            "1.2",
            "9",
            "10",
            "100.5",
            "12345678901234567890123456789012345678",
            "9.9999999999999999999999999999999999999E+125",
        ];
        let enc: Vec<Vec<u8>> = ordered
            .iter()
            .map(|t| encode_scalar_vec(&AttributeValue::N(num(t))))
            .collect();
        for w in enc.windows(2) {
            assert!(w[0] < w[1], "{:?} !< {:?}", w[0], w[1]);
        }
        for t in ordered {
            round_trip(&AttributeValue::N(num(t)));
        }
    }

    #[test]
    fn strings_with_zero_bytes() {
        let ordered: [&[u8]; 6] = [b"", b"\x00", b"\x00\x00", b"\x00\x01", b"a", b"a\x00"];
        let enc: Vec<Vec<u8>> = ordered
            .iter()
            .map(|b| encode_scalar_vec(&AttributeValue::B(b.to_vec())))
            .collect();
        for w in enc.windows(2) {
            assert!(w[0] < w[1]);
        }
        for b in ordered {
            round_trip(&AttributeValue::B(b.to_vec()));
        }
    }

    #[test]
    fn rejects_foreign_bytes() {
        assert!(decode_scalar(&[]).is_none());
        assert!(decode_scalar(&[TAG_S, b'a']).is_none());
        assert!(decode_scalar(&[TAG_S, 0, 7]).is_none());
        assert!(decode_scalar(&[TAG_S, 0xC3, 0, 1]).is_none());
        assert!(decode_scalar(&[TAG_N_POS, 130, 0]).is_none());
        assert!(decode_scalar(&[TAG_N_POS, 130, 1, 0]).is_none()); // leading zero digit
        assert!(decode_scalar(&[TAG_N_POS, 130, 101, 0]).is_none());
        assert!(decode_scalar(&[TAG_OTHER]).is_none());
    }

    #[test]
    fn hash_is_stable() {
        // Pinned: changing these values changes the on-disk layout.
        let a = partition_hash(&AttributeValue::S("a".into()));
        assert_eq!(a, xxhash_rust::xxh3::xxh3_64(b"Sa"));
        assert_eq!(
            partition_hash(&AttributeValue::N(num("1.50"))),
            xxhash_rust::xxh3::xxh3_64(b"N1.5")
        );
        assert_eq!(
            partition_hash(&AttributeValue::B(vec![1])),
            xxhash_rust::xxh3::xxh3_64(b"B\x01")
        );
        assert_ne!(
            partition_hash(&AttributeValue::S("1".into())),
            partition_hash(&AttributeValue::N(num("1")))
        );
    }

    pub(crate) fn number_strategy() -> impl Strategy<Value = Number> {
        (any::<bool>(), "[1-9][0-9]{0,37}", -130i32..=125).prop_map(|(neg, digits, exp)| {
            let digits = digits.trim_end_matches('0');
            let digits = if digits.is_empty() { "1" } else { digits };
            let text = format!(
                "{}{}.{}e{}",
                if neg { "-" } else { "" },
                &digits[..1],
                &digits[1..],
                exp
            );
            Number::parse(&text).unwrap_or_else(|_| Number::zero())
        })
    }

    proptest! {
        #[test]
        fn numbers_keep_order(a in number_strategy(), b in number_strategy()) {
            let (ea, eb) = (encode_scalar_vec(&AttributeValue::N(a.clone())), encode_scalar_vec(&AttributeValue::N(b.clone())));
            prop_assert_eq!(ea.cmp(&eb), a.cmp(&b));
            round_trip(&AttributeValue::N(a));
        }

        #[test]
        fn small_numbers_keep_order(a in -1000i64..1000, b in -1000i64..1000, sa in 0u32..4, sb in 0u32..4) {
            let x = num(&format!("{a}e-{sa}"));
            let y = num(&format!("{b}e-{sb}"));
            let (ex, ey) = (encode_scalar_vec(&AttributeValue::N(x.clone())), encode_scalar_vec(&AttributeValue::N(y.clone())));
            prop_assert_eq!(ex.cmp(&ey), x.cmp(&y));
        }

        #[test]
        fn strings_keep_order(a in "\\PC{0,12}|\u{0}{0,3}a?", b in "\\PC{0,12}|\u{0}{0,3}a?") {
            let (ea, eb) = (encode_scalar_vec(&AttributeValue::S(a.clone())), encode_scalar_vec(&AttributeValue::S(b.clone())));
            prop_assert_eq!(ea.cmp(&eb), a.as_bytes().cmp(b.as_bytes()));
            round_trip(&AttributeValue::S(a));
        }

        #[test]
        fn binary_keeps_order(a in proptest::collection::vec(0u8..4, 0..8), b in proptest::collection::vec(0u8..4, 0..8)) {
            let (ea, eb) = (encode_scalar_vec(&AttributeValue::B(a.clone())), encode_scalar_vec(&AttributeValue::B(b.clone())));
            prop_assert_eq!(ea.cmp(&eb), a.cmp(&b));
            round_trip(&AttributeValue::B(a));
        }

        #[test]
        fn prefix_encodings_are_prefixes_exactly_of_values_that_start_with_them(
            a in "\\PC{0,4}|\u{0}{0,2}a?", b in "\\PC{0,6}|\u{0}{0,3}a?"
        ) {
            let mut prefix = Vec::new();
            encode_prefix(&AttributeValue::S(a.clone()), &mut prefix);
            let full = encode_scalar_vec(&AttributeValue::S(b.clone()));
            prop_assert_eq!(full.starts_with(&prefix), b.starts_with(a.as_str()));
            let mut prefix = Vec::new();
            encode_prefix(&AttributeValue::B(a.clone().into_bytes()), &mut prefix);
            let full = encode_scalar_vec(&AttributeValue::B(b.clone().into_bytes()));
            prop_assert_eq!(full.starts_with(&prefix), b.as_bytes().starts_with(a.as_bytes()));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Some((v, rest)) = decode_scalar(&bytes) {
                // Whatever decodes re-encodes to the bytes it consumed.
                let used = bytes.len() - rest.len();
                prop_assert_eq!(encode_scalar_vec(&v), bytes[..used].to_vec());
            }
        }
    }
}
