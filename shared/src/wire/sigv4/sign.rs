//! Signing, for the load generator's requests and the store's calls to Kinesis. The signing key depends only on the secret,
//! the date, the region and the service, so it is derived once per UTC day and reused; a
//! request then costs two SHA-256s and one HMAC.
//!
//! Not here: session tokens, chunked bodies.

use std::borrow::Cow;

use super::{signing_key, Canonical, ALGORITHM};

/// Access key, secret and scope of the signatures.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub service: String,
}

impl Credentials {
    /// From `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, else a fixed local pair (a store
    /// or node without `--credentials-file` takes any key; one with it, or real DynamoDB,
    /// needs the keys it knows, given through those variables).
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
            let creds = &self.creds;
            self.key = signing_key(&creds.secret_key, day, &creds.region, &creds.service);
            self.day = day.to_string();
        }
        let mut signed = headers.to_vec();
        signed.sort_unstable_by_key(|(name, _)| *name);
        let canonical = Canonical {
            method,
            path,
            query: None,
            headers: &signed,
            body,
        };
        let scope = format!(
            "{day}/{}/{}/aws4_request",
            self.creds.region, self.creds.service
        );
        let signature = canonical.signature(&self.key, amz_date, &scope);
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
            self.creds.access_key,
            canonical.signed_headers()
        )
    }

    /// The headers of a signed call in the AWS JSON protocols (`POST /` naming its operation
    /// in `x-amz-target`), to send with `host: host`: content type, date, target and the
    /// authorization over them and `body`. Only the authorization is allocated: the load
    /// generator sends one of these per request.
    pub fn json_call_headers<'a>(
        &mut self,
        host: &str,
        content_type: &'static str,
        target: &'a str,
        body: &[u8],
        amz_date: &'a str,
    ) -> [(&'static str, Cow<'a, str>); 4] {
        let authorization = self.authorization(
            "POST",
            "/",
            &[
                ("content-type", content_type),
                ("host", host),
                ("x-amz-date", amz_date),
                ("x-amz-target", target),
            ],
            body,
            amz_date,
        );
        [
            ("content-type", Cow::Borrowed(content_type)),
            ("x-amz-date", Cow::Borrowed(amz_date)),
            ("x-amz-target", Cow::Borrowed(target)),
            ("authorization", Cow::Owned(authorization)),
        ]
    }
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
    fn a_json_call_signs_the_headers_it_sends() {
        let mut signer = Signer::new(example_creds("eu-west-1", "kinesis"));
        let date = "20240101T000000Z";
        let headers =
            signer.json_call_headers("h:1", "application/x-amz-json-1.1", "K.Put", b"{}", date);
        let names: Vec<&str> = headers.iter().map(|(name, _)| *name).collect();
        assert_eq!(
            names,
            [
                "content-type",
                "x-amz-date",
                "x-amz-target",
                "authorization"
            ]
        );
        let signed = [
            ("content-type", "application/x-amz-json-1.1"),
            ("host", "h:1"),
            ("x-amz-date", date),
            ("x-amz-target", "K.Put"),
        ];
        let expected = signer.authorization("POST", "/", &signed, b"{}", date);
        assert_eq!(headers[3].1, expected);
        assert!(expected.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-target"));
    }
}
