//! AWS Signature Version 4 for the load generator's requests.
//!
//! The store only checks that `Authorization` is present today, but the load generator signs
//! every request properly so the same tool can drive any DynamoDB endpoint. The signing key
//! depends only on the secret, the date, the region and the service, so it is derived once
//! per UTC day and reused; a request then costs two SHA-256s and one HMAC.
//!
//! Not here: query strings (every DynamoDB call is `POST /`), session tokens, chunked bodies.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Access key, secret and scope of the signatures.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub service: String,
}

impl Credentials {
    /// From `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, else a fixed local pair (the store
    /// does not verify signatures, and real DynamoDB needs real keys anyway).
    pub fn from_env(region: &str) -> Credentials {
        let access_key = std::env::var("AWS_ACCESS_KEY_ID")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "AKIDLOADGEN".to_string());
        let secret_key = std::env::var("AWS_SECRET_ACCESS_KEY")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "loadgen-local-secret".to_string());
        Credentials {
            access_key,
            secret_key,
            region: region.to_string(),
            service: "dynamodb".to_string(),
        }
    }
}

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

/// The signing key of one day (`YYYYMMDD`).
pub fn signing_key(creds: &Credentials, date: &str) -> Vec<u8> {
    let k_date = hmac(
        format!("AWS4{}", creds.secret_key).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac(&k_date, creds.region.as_bytes());
    let k_service = hmac(&k_region, creds.service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

/// Signs requests, caching the day's signing key.
#[derive(Debug, Clone)]
pub struct Signer {
    creds: Credentials,
    day: String,
    key: Vec<u8>,
}

impl Signer {
    pub fn new(creds: Credentials) -> Signer {
        Signer {
            creds,
            day: String::new(),
            key: Vec::new(),
        }
    }

    /// The `Authorization` value for a request. `headers` are (lowercase name, value) pairs
    /// that will be sent and signed, including `host` and `x-amz-date`; `amz_date` is the
    /// `x-amz-date` value (`YYYYMMDDTHHMMSSZ`).
    pub fn authorization(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        amz_date: &str,
    ) -> String {
        let day = amz_date.get(..8).unwrap_or(amz_date);
        if self.day != day {
            self.key = signing_key(&self.creds, day);
            self.day = day.to_string();
        }
        let mut sorted: Vec<(&str, &str)> = headers.to_vec();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let mut canonical = String::with_capacity(256);
        canonical.push_str(method);
        canonical.push('\n');
        canonical.push_str(path);
        canonical.push_str("\n\n");
        for (name, value) in &sorted {
            canonical.push_str(name);
            canonical.push(':');
            canonical.push_str(value.trim());
            canonical.push('\n');
        }
        canonical.push('\n');
        let signed: Vec<&str> = sorted.iter().map(|(n, _)| *n).collect();
        let signed = signed.join(";");
        canonical.push_str(&signed);
        canonical.push('\n');
        canonical.push_str(&hex::encode(Sha256::digest(body)));
        let scope = format!(
            "{day}/{}/{}/aws4_request",
            self.creds.region, self.creds.service
        );
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let signature = hex::encode(hmac(&self.key, to_sign.as_bytes()));
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            self.creds.access_key
        )
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn example_creds(region: &str, service: &str) -> Credentials {
        Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            region: region.into(),
            service: service.into(),
        }
    }

    #[test]
    fn signing_key_matches_aws_docs_example() {
        // "Examples of how to derive a signing key for Signature Version 4" (AWS docs).
        let key = signing_key(&example_creds("us-east-1", "iam"), "20120215");
        assert_eq!(
            hex::encode(key),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn get_vanilla_matches_aws_test_suite() {
        // aws-sig-v4-test-suite/get-vanilla.
        let mut signer = Signer::new(example_creds("us-east-1", "service"));
        let auth = signer.authorization(
            "GET",
            "/",
            &[
                ("host", "example.amazonaws.com"),
                ("x-amz-date", "20150830T123600Z"),
            ],
            b"",
            "20150830T123600Z",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn signature_changes_with_body_and_is_stable() {
        let mut signer = Signer::new(example_creds("us-east-1", "dynamodb"));
        let headers = [("host", "h"), ("x-amz-date", "20240101T000000Z")];
        let a = signer.authorization("POST", "/", &headers, b"{}", "20240101T000000Z");
        let b = signer.authorization("POST", "/", &headers, b"{}", "20240101T000000Z");
        let c = signer.authorization("POST", "/", &headers, b"{ }", "20240101T000000Z");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.contains("/20240101/us-east-1/dynamodb/aws4_request"));
    }

    #[test]
    fn amz_date_formats_utc() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        // 2015-08-30T12:36:00Z
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        // 2024-02-29T23:59:59Z (leap day)
        assert_eq!(amz_date(1_709_251_199), "20240229T235959Z");
    }
}
