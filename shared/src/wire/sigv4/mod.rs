//! AWS Signature Version 4, as DynamoDB uses it: `Authorization: AWS4-HMAC-SHA256
//! Credential=AKID/YYYYMMDD/region/dynamodb/aws4_request, SignedHeaders=..., Signature=...`
//! over the canonical request (method, path, query, the signed headers, the body's SHA-256).
//!
//! - `sign`: the load generator's signer (it can drive any DynamoDB endpoint);
//! - `verify`: the store's and the proxy's check of a request against configured keys;
//! - `live_keys`: those keys, reloaded while the daemon runs when their file changes.
//!
//! Both build the canonical request and the signature here, so they cannot drift apart;
//! the integration tests sign with their own code and with the AWS SDKs, which keeps this
//! module honest.

pub mod live_keys;
pub mod sign;
pub mod verify;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub use live_keys::LiveKeys;
pub use sign::{Credentials, Signer};
pub use verify::{KeyStore, SignedRequest};

type HmacSha256 = Hmac<Sha256>;

/// The one algorithm DynamoDB takes.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // new_from_slice accepts keys of any length for HMAC, so the error arm cannot happen;
    // an empty MAC would only produce a wrong signature, never a panic.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The signing key of one secret for one day (`YYYYMMDD`), region and service.
pub fn signing_key(secret: &str, day: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// The parts of a request that its signature covers.
pub struct Canonical<'a> {
    pub method: &'a str,
    /// The URI path as sent (DynamoDB: `/`).
    pub path: &'a str,
    /// The raw query string, if any (DynamoDB: none).
    pub query: Option<&'a str>,
    /// `(lowercase name, value)` of each signed header, sorted by name; a header sent more
    /// than once has its values joined with `,`.
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
}

impl Canonical<'_> {
    /// `name1;name2;...`
    pub fn signed_headers(&self) -> String {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        names.join(";")
    }

    fn request(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str(self.method);
        out.push('\n');
        push_uri_encoded(&mut out, self.path, false);
        out.push('\n');
        if let Some(query) = self.query.filter(|q| !q.is_empty()) {
            out.push_str(&canonical_query(query));
        }
        out.push('\n');
        for (name, value) in self.headers {
            out.push_str(name);
            out.push(':');
            push_header_value(&mut out, value);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.signed_headers());
        out.push('\n');
        out.push_str(&hex::encode(Sha256::digest(self.body)));
        out
    }

    /// The hex signature of this request with `key` (from [`signing_key`]), made at
    /// `amz_date` (`YYYYMMDDTHHMMSSZ`) in `scope` (`day/region/service/aws4_request`).
    pub fn signature(&self, key: &[u8], amz_date: &str, scope: &str) -> String {
        hex::encode(self.signature_bytes(key, amz_date, scope))
    }

    /// [`signature`](Self::signature) before hex encoding.
    pub fn signature_bytes(&self, key: &[u8], amz_date: &str, scope: &str) -> Vec<u8> {
        let to_sign = format!(
            "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(self.request().as_bytes()))
        );
        hmac(key, to_sign.as_bytes())
    }
}

/// A header value as SigV4 canonicalizes it: trimmed, inner runs of spaces made one.
fn push_header_value(out: &mut String, value: &str) {
    let mut words = value.split(' ').filter(|w| !w.is_empty());
    if let Some(first) = words.next() {
        out.push_str(first);
        for word in words {
            out.push(' ');
            out.push_str(word);
        }
    }
}

/// Appends `text` with RFC 3986 percent-encoding of everything but unreserved characters
/// (and `/` in paths).
fn push_uri_encoded(out: &mut String, text: &str, encode_slash: bool) {
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
}

/// Decodes `%XX` escapes (a malformed one stays as it is) and `+` stays `+`, as SigV4 does.
fn uri_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query parameters decoded, re-encoded and sorted by name, then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let mut encoded = (String::new(), String::new());
            push_uri_encoded(&mut encoded.0, &uri_decode(name), true);
            push_uri_encoded(&mut encoded.1, &uri_decode(value), true);
            encoded
        })
        .collect();
    pairs.sort();
    let joined: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v}")).collect();
    joined.join("&")
}

/// `x-amz-date` for a Unix time in seconds: `YYYYMMDDTHHMMSSZ` (UTC).
pub fn amz_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let rem = unix_secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day); Howard Hinnant's algorithm, which avoids a
/// date library for one header.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01; the inverse of [`civil_from_days`].
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of a UTC calendar time; `None` when a field is out of range.
fn unix_time(y: i64, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> Option<u64> {
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    let secs = days * 86_400 + i64::from(hh * 3600 + mm * 60 + ss);
    u64::try_from(secs).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_matches_aws_docs_example() {
        // "Examples of how to derive a signing key for Signature Version 4" (AWS docs).
        let key = signing_key(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20120215",
            "us-east-1",
            "iam",
        );
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn amz_date_formats_utc_and_days_round_trip() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        // 2015-08-30T12:36:00Z
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        // 2024-02-29T23:59:59Z (leap day)
        assert_eq!(amz_date(1_709_251_199), "20240229T235959Z");
        for days in [-1, 0, 59, 365, 11_016, 19_782, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(unix_time(2024, 2, 29, 23, 59, 59), Some(1_709_251_199));
        assert_eq!(unix_time(2024, 13, 1, 0, 0, 0), None);
    }

    #[test]
    fn queries_and_paths_are_canonicalized() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(canonical_query("b=2&a=%7e1&a=0&c"), "a=0&a=~1&b=2&c=");
        assert_eq!(canonical_query("x=a b"), "x=a%20b");
        let mut path = String::new();
        push_uri_encoded(&mut path, "/a b/c", false);
        assert_eq!(path, "/a%20b/c");
        assert_eq!(uri_decode("%zz%41"), "%zzA");
        let mut value = String::new();
        push_header_value(&mut value, "  a   b c ");
        assert_eq!(value, "a b c");
    }
}
