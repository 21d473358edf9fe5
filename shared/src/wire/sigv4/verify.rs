//! Verifying a request's signature against configured keys, with DynamoDB's errors in its
//! order of checks (DYNAMODB.md §1, checks 4-8): a missing or non-AWS4 `Authorization`
//! (MissingAuthenticationTokenException), missing parts or date (IncompleteSignature-
//! Exception), a date more than 15 minutes off or a malformed scope (InvalidSignature-
//! Exception), an unknown access key (UnrecognizedClientException), a signature that does
//! not match (InvalidSignatureException).
//!
//! Keys come from a file of `ACCESS_KEY_ID SECRET_ACCESS_KEY` lines. A line may give the
//! session token of a temporary key (there is no STS here to issue one): a request signed
//! with that key must bear exactly that token, signed; a request bearing a token for a key
//! without one, or another token, is refused as DynamoDB refuses an invalid token
//! (UnrecognizedClientException).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use arc_swap::Guard;
use http::{HeaderMap, Method, Uri};
use subtle::ConstantTimeEq;

use super::{amz_date, signing_key, unix_time, Canonical, LiveKeys, ALGORITHM};
use crate::wire::error::{ApiError, ErrorCode};

/// The service every DynamoDB (and DynamoDB Streams) signature is scoped to.
const SERVICE: &str = "dynamodb";
/// How far a request's date may be from the server's clock.
const MAX_SKEW_SECS: u64 = 15 * 60;

const MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// The keys of a credentials file, and the signing keys derived from them so far.
#[derive(Default)]
pub struct KeyStore {
    keys: HashMap<String, Key>,
    /// Whether any key names its principal.
    names_principals: bool,
    /// Signing keys derived so far, by credential (`AKID/day/region/service/aws4_request`,
    /// checked before use): deriving one takes four HMACs, and a client signs with the
    /// same one all day.
    derived: Mutex<HashMap<String, Arc<[u8]>>>,
}

/// Shows the keys (each without its secrets: [`Key`]'s `Debug`) and how many signing keys
/// are derived, not the signing keys themselves: each signs any request of its day.
impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let derived = self.derived.lock().unwrap_or_else(|e| e.into_inner()).len();
        f.debug_struct("KeyStore")
            .field("keys", &self.keys)
            .field("names_principals", &self.names_principals)
            .field("derived_signing_keys", &derived)
            .finish()
    }
}

/// One line of a credentials file.
struct Key {
    secret: String,
    /// The IAM principal ARN the key stands for, when its line names one.
    principal: Option<String>,
    /// The token a request signed with this key must bear, when its line gives one (the
    /// key is a temporary one); a key without a token accepts no token at all.
    session_token: Option<String>,
}

/// Shows what a key is without its secrets, which a debug print or a log line must never
/// carry: the secret key and the session token are redacted, the principal is shown.
impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const REDACTED: &str = "<redacted>";
        f.debug_struct("Key")
            .field("secret", &REDACTED)
            .field("principal", &self.principal)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| REDACTED),
            )
            .finish()
    }
}

/// How a line gives its key's session token.
const SESSION_TOKEN_FIELD: &str = "session-token=";

/// The header a request bears its session token in.
const SECURITY_TOKEN_HEADER: &str = "x-amz-security-token";

const LINE_FORMAT: &str =
    "expected `ACCESS_KEY_ID SECRET_ACCESS_KEY [arn:aws:iam::...] [session-token=TOKEN]`";

/// Derived signing keys kept at most (the cache is emptied past it; with dates within 15
/// minutes of now, each key has at most two valid credentials at a time).
const MAX_DERIVED: usize = 1024;

impl KeyStore {
    /// Parses `ACCESS_KEY_ID SECRET_ACCESS_KEY [PRINCIPAL_ARN] [session-token=TOKEN]`
    /// lines, one per key id; blank lines and `#` comments are skipped. Errors name the
    /// line.
    pub fn parse(text: &str) -> Result<KeyStore, String> {
        let mut keys = HashMap::new();
        // The line each key id is first given on: a second line for it is refused rather
        // than silently taking its place.
        let mut first_lines = HashMap::new();
        for (line_number, line) in (1..).zip(text.lines()) {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (id, key) =
                parse_line(line).ok_or_else(|| format!("line {line_number}: {LINE_FORMAT}"))?;
            if let Some(first) = first_lines.insert(id, line_number) {
                return Err(format!(
                    "line {line_number}: access key id {id} is already given on line {first}"
                ));
            }
            keys.insert(id.to_string(), key);
        }
        if keys.is_empty() {
            return Err("no keys".into());
        }
        Ok(KeyStore {
            names_principals: keys.values().any(|key| key.principal.is_some()),
            keys,
            derived: Mutex::default(),
        })
    }

    /// How many keys the file gives.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Whether any line names a principal.
    pub fn names_principals(&self) -> bool {
        self.names_principals
    }

    /// The principal ARN the line of `access_key` names, if it names one.
    pub fn principal(&self, access_key: &str) -> Option<&str> {
        self.keys.get(access_key)?.principal.as_deref()
    }

    /// The signing key of a credential already checked against the request (its key
    /// exists, its day, region and service are right).
    fn signing_key(&self, credential: &str, secret: &str, day: &str, region: &str) -> Arc<[u8]> {
        let mut derived = self.derived.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(key) = derived.get(credential) {
            return key.clone();
        }
        let key: Arc<[u8]> = signing_key(secret, day, region, SERVICE).into();
        if derived.len() >= MAX_DERIVED {
            derived.clear();
        }
        derived.insert(credential.to_string(), key.clone());
        key
    }

    pub fn load(path: &Path) -> Result<KeyStore, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        KeyStore::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// One line's access key id and key: the id, the secret, then at most one principal ARN
/// and at most one session token, in either order.
fn parse_line(line: &str) -> Option<(&str, Key)> {
    let mut fields = line.split_whitespace();
    let id = fields.next()?;
    let mut key = Key {
        secret: fields.next()?.to_string(),
        principal: None,
        session_token: None,
    };
    for field in fields {
        if let Some(token) = field.strip_prefix(SESSION_TOKEN_FIELD) {
            if key.session_token.is_some() || token.is_empty() {
                return None;
            }
            key.session_token = Some(token.to_string());
        } else if field.starts_with("arn:aws:iam::") && key.principal.is_none() {
            key.principal = Some(field.to_string());
        } else {
            return None;
        }
    }
    Some((id, key))
}

/// Refuses a request whose session token is not its key's: none when the key has one,
/// one when it has none, another one, or more than one (DynamoDB's answer to an invalid
/// token).
fn check_session_token(key: &Key, headers: &HeaderMap) -> Result<(), ApiError> {
    let mut sent = headers.get_all(SECURITY_TOKEN_HEADER).iter();
    let valid = match (key.session_token.as_deref(), sent.next(), sent.next()) {
        (None, None, _) => true,
        (Some(expected), Some(token), None) => {
            bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
        }
        _ => false,
    };
    if valid {
        Ok(())
    } else {
        Err(unrecognized_client())
    }
}

/// UnrecognizedClientException: an unknown access key, or an invalid session token.
fn unrecognized_client() -> ApiError {
    error(
        ErrorCode::UnrecognizedClientException,
        "The security token included in the request is invalid.",
    )
}

/// What a signature covers of one API request.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl<'a> SignedRequest<'a> {
    pub fn new(method: &'a Method, uri: &'a Uri, headers: &'a HeaderMap, body: &'a [u8]) -> Self {
        SignedRequest {
            method: method.as_str(),
            path: uri.path(),
            query: uri.query(),
            headers,
            body,
        }
    }
}

/// Who an API call comes from, as [`authenticate`] established it.
pub enum Authenticated<'r> {
    /// Signed with the key `id` of `keys`: the key set the signature was verified against,
    /// which names the key's principal (a reload of the file after the check changes
    /// neither).
    Key {
        keys: Guard<Arc<KeyStore>>,
        id: &'r str,
    },
    /// A trusted cluster member, which authenticated its own client.
    Trusted,
    /// Keys are not checked (no credentials file): the access key the call claims, if its
    /// `Credential` names one.
    Claimed(Option<&'r str>),
}

impl Authenticated<'_> {
    /// The access key the call is signed with (proven for [`Authenticated::Key`]).
    pub fn access_key(&self) -> Option<&str> {
        match self {
            Authenticated::Key { id, .. } => Some(id),
            Authenticated::Trusted => None,
            Authenticated::Claimed(id) => *id,
        }
    }

    /// The principal ARN the key's line names, if it names one.
    pub fn principal_arn(&self) -> Option<&str> {
        match self {
            Authenticated::Key { keys, id } => keys.principal(id),
            _ => None,
        }
    }

    /// Whether any key of the set the call was verified against names a principal.
    pub fn names_principals(&self) -> bool {
        match self {
            Authenticated::Key { keys, .. } => keys.names_principals(),
            _ => false,
        }
    }
}

/// A server's check of an API call, giving who it comes from. With `keys`, its signature
/// is verified, unless the caller is `trusted` (a cluster member that authenticated its
/// own client and may have reshaped the request; asked only when there are keys, so the
/// data path pays nothing for it by default); without keys, any well-formed AWS4
/// `Authorization` header (one with its `Credential`, `SignedHeaders` and `Signature`) is
/// accepted, as DynamoDB Local does. The key set is loaded once: the principal comes from
/// the set the signature was verified against.
pub fn authenticate<'r>(
    keys: Option<&LiveKeys>,
    region: &str,
    request: &SignedRequest<'r>,
    trusted: impl FnOnce() -> bool,
) -> Result<Authenticated<'r>, ApiError> {
    match keys {
        Some(_) if trusted() => Ok(Authenticated::Trusted),
        Some(keys) => {
            let now = crate::clock::now_secs();
            let keys = keys.current();
            let id = keys.verify(request, region, now)?;
            Ok(Authenticated::Key { keys, id })
        }
        None => {
            let header = authorization(request.headers)?;
            let auth = parse_authorization(header);
            let missing = missing_parameters(&auth);
            if !missing.is_empty() {
                return Err(incomplete(&missing, header));
            }
            let claimed = auth.credential.and_then(key_id_of);
            Ok(Authenticated::Claimed(claimed))
        }
    }
}

/// The `Authorization` header's parts.
struct Authorization<'a> {
    algorithm: &'a str,
    credential: Option<&'a str>,
    signed_headers: Option<&'a str>,
    signature: Option<&'a str>,
}

fn parse_authorization(value: &str) -> Authorization<'_> {
    let (algorithm, rest) = value.split_once(' ').unwrap_or((value, ""));
    let mut auth = Authorization {
        algorithm,
        credential: None,
        signed_headers: None,
        signature: None,
    };
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => auth.credential = Some(v),
            Some(("SignedHeaders", v)) => auth.signed_headers = Some(v),
            Some(("Signature", v)) => auth.signature = Some(v),
            _ => {}
        }
    }
    auth
}

fn error(code: ErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

/// DynamoDB's sentences for the parameters an `Authorization` header lacks (empty, and not
/// allocated, when it has them all).
fn missing_parameters(auth: &Authorization<'_>) -> String {
    let mut missing = String::new();
    for (part, present) in [
        ("Credential", auth.credential.is_some()),
        ("Signature", auth.signature.is_some()),
        ("SignedHeaders", auth.signed_headers.is_some()),
    ] {
        if !present {
            missing.push_str(&format!(
                "Authorization header requires '{part}' parameter. "
            ));
        }
    }
    missing
}

/// IncompleteSignatureException: what is `missing`, then the header as given.
fn incomplete(missing: &str, header: &str) -> ApiError {
    error(
        ErrorCode::IncompleteSignatureException,
        format!("{missing}Authorization={header}"),
    )
}

/// The `Authorization` header, if it claims AWS Signature Version 4.
pub fn authorization(headers: &HeaderMap) -> Result<&str, ApiError> {
    match headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(value) if value.starts_with("AWS4-") => Ok(value),
        _ => Err(error(
            ErrorCode::MissingAuthenticationTokenException,
            "Request is missing Authentication Token",
        )),
    }
}

/// The access key id of a `Credential` (`AKID/day/region/service/aws4_request`).
fn key_id_of(credential: &str) -> Option<&str> {
    credential.split('/').next().filter(|id| !id.is_empty())
}

/// The request's time: `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`) or an RFC 1123 `Date`, as Unix
/// seconds and in `X-Amz-Date` form. `Ok(None)` when neither header is there.
fn request_time(headers: &HeaderMap) -> Result<Option<(u64, String)>, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(value) = header("x-amz-date") {
        let parsed = parse_amz_date(value).ok_or_else(|| {
            error(
                ErrorCode::IncompleteSignatureException,
                format!("Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601"),
            )
        })?;
        return Ok(Some((parsed, value.to_string())));
    }
    match header("date") {
        None => Ok(None),
        Some(value) => {
            let parsed = parse_http_date(value).ok_or_else(|| {
                error(
                    ErrorCode::IncompleteSignatureException,
                    format!("Date must be in RFC 1123 format. Got '{value}'."),
                )
            })?;
            Ok(Some((parsed, amz_date(parsed))))
        }
    }
}

fn digits(text: &str, range: std::ops::Range<usize>) -> Option<u32> {
    let part = text.get(range)?;
    part.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| part.parse().ok())?
}

/// `YYYYMMDDTHHMMSSZ` → Unix seconds.
fn parse_amz_date(value: &str) -> Option<u64> {
    let b = value.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    unix_time(
        i64::from(digits(value, 0..4)?),
        digits(value, 4..6)?,
        digits(value, 6..8)?,
        digits(value, 9..11)?,
        digits(value, 11..13)?,
        digits(value, 13..15)?,
    )
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` → Unix seconds. RFC 1123 also allows a numeric zone
/// (`-0000`, `+0200`), which botocore writes when it signs with a `Date` header.
fn parse_http_date(value: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut fields = value.split_whitespace().skip(1);
    let day = fields.next()?.parse().ok()?;
    let month_name = fields.next()?;
    let month = MONTHS.iter().position(|m| *m == month_name)?;
    let year = fields.next()?.parse().ok()?;
    let clock = fields.next()?;
    let offset = zone_offset_seconds(fields.next()?)?;
    if fields.next().is_some() || clock.len() != 8 {
        return None;
    }
    let local = unix_time(
        year,
        u32::try_from(month + 1).ok()?,
        day,
        digits(clock, 0..2)?,
        digits(clock, 3..5)?,
        digits(clock, 6..8)?,
    )?;
    u64::try_from(i64::try_from(local).ok()? - offset).ok()
}

/// An RFC 1123 zone's offset from UTC in seconds: `GMT`/`UT`/`UTC`/`Z`, or `+HHMM`/`-HHMM`.
fn zone_offset_seconds(zone: &str) -> Option<i64> {
    if matches!(zone, "GMT" | "UT" | "UTC" | "Z") {
        return Some(0);
    }
    let (sign, hhmm) = match zone.split_at_checked(1)? {
        ("+", rest) => (1, rest),
        ("-", rest) => (-1, rest),
        _ => return None,
    };
    if hhmm.len() != 4 || !hhmm.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let hours: i64 = hhmm[..2].parse().ok()?;
    let minutes: i64 = hhmm[2..].parse().ok()?;
    (hours < 24 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// The signed headers' canonical values, sorted by name; `None` if `host` is not among
/// them (SigV4 requires it). A header sent more than once has its values joined by `,`.
fn signed_header_values<'a>(
    headers: &'a HeaderMap,
    names: &'a str,
) -> Option<Vec<(&'a str, Cow<'a, str>)>> {
    let mut out: Vec<(&str, Cow<str>)> = names
        .split(';')
        .map(|name| {
            let mut values = headers.get_all(name).iter().filter_map(|v| v.to_str().ok());
            let first = values.next().unwrap_or("");
            let value = match values.next() {
                None => Cow::Borrowed(first),
                Some(second) => {
                    let mut joined = format!("{first},{second}");
                    for more in values {
                        joined.push(',');
                        joined.push_str(more);
                    }
                    Cow::Owned(joined)
                }
            };
            (name, value)
        })
        .collect();
    out.sort_unstable_by_key(|(name, _)| *name);
    out.iter().any(|(name, _)| *name == "host").then_some(out)
}

impl KeyStore {
    /// Checks a request's signature, giving the access key id it is signed with; `now` is
    /// the server's Unix time in seconds and `region` the one signatures must be scoped to.
    pub fn verify<'r>(
        &self,
        request: &SignedRequest<'r>,
        region: &str,
        now: u64,
    ) -> Result<&'r str, ApiError> {
        let header = authorization(request.headers)?;
        let auth = parse_authorization(header);
        let time = request_time(request.headers)?;
        let mut missing = missing_parameters(&auth);
        if time.is_none() {
            missing.push_str(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
            );
        }
        let (Some(credential), Some(signature), Some(signed_names), Some((when, amz))) =
            (auth.credential, auth.signature, auth.signed_headers, time)
        else {
            return Err(incomplete(&missing, header));
        };
        if now.saturating_sub(when) > MAX_SKEW_SECS {
            return Err(error(
                ErrorCode::InvalidSignatureException,
                format!(
                    "Signature expired: {amz} is now earlier than {} ({} - 15 min.)",
                    amz_date(now - MAX_SKEW_SECS),
                    amz_date(now)
                ),
            ));
        }
        if when.saturating_sub(now) > MAX_SKEW_SECS {
            return Err(error(
                ErrorCode::InvalidSignatureException,
                format!(
                    "Signature not yet current: {amz} is still later than {} ({} + 15 min.)",
                    amz_date(now + MAX_SKEW_SECS),
                    amz_date(now)
                ),
            ));
        }
        let scope: Vec<&str> = credential.split('/').collect();
        let [key_id, day, scope_region, service, terminator] = scope[..] else {
            return Err(error(
                ErrorCode::IncompleteSignatureException,
                format!("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"),
            ));
        };
        let Some(key) = self.keys.get(key_id) else {
            return Err(unrecognized_client());
        };
        check_session_token(key, request.headers)?;
        let scope_problem = if day != &amz[..8] {
            Some(format!("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{day}' != '{}', from '{amz}'.", &amz[..8]))
        } else if scope_region != region {
            Some("Credential should be scoped to a valid region. ".to_string())
        } else if service != SERVICE {
            Some(format!(
                "Credential should be scoped to correct service: '{SERVICE}'. "
            ))
        } else if terminator != "aws4_request" {
            Some(format!("Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "))
        } else {
            None
        };
        if let Some(problem) = scope_problem {
            return Err(error(ErrorCode::InvalidSignatureException, problem));
        }
        let values = signed_header_values(request.headers, signed_names).ok_or_else(|| {
            error(
                ErrorCode::InvalidSignatureException,
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
            )
        })?;
        // A token that is not signed could have been put on the request by anyone.
        if key.session_token.is_some() && !values.iter().any(|(n, _)| *n == SECURITY_TOKEN_HEADER) {
            return Err(error(
                ErrorCode::InvalidSignatureException,
                "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.",
            ));
        }
        let headers: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_ref())).collect();
        let canonical = Canonical {
            method: request.method,
            path: request.path,
            query: request.query,
            headers: &headers,
            body: request.body,
        };
        let signing = self.signing_key(credential, &key.secret, day, scope_region);
        let expected = canonical.signature_bytes(&signing, &amz, &credential[key_id.len() + 1..]);
        let mut given = [0u8; 32];
        // The signature is lowercase hex, compared as text by AWS: the same bytes in
        // uppercase are another signature.
        let matches = auth.algorithm == ALGORITHM
            && !signature.bytes().any(|b| b.is_ascii_uppercase())
            && hex::decode_to_slice(signature, &mut given).is_ok()
            && bool::from(expected.as_slice().ct_eq(&given));
        if matches {
            Ok(key_id)
        } else {
            Err(error(ErrorCode::InvalidSignatureException, MISMATCH))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::sigv4::{Credentials, Signer};
    use http::HeaderValue;

    const NOW: u64 = 1_709_251_199; // 2024-02-29T23:59:59Z

    fn keys() -> KeyStore {
        KeyStore::parse("# comment\n\nAKIDTEST  secret-one\nAKIDOTHER secret-two\n").unwrap()
    }

    /// A request signed by the loadgen's signer with `secret`, at `at`.
    /// A `POST /` of `body` with `headers`, as the SDKs send an API call.
    fn post<'a>(headers: &'a HeaderMap, body: &'a [u8]) -> SignedRequest<'a> {
        SignedRequest {
            method: "POST",
            path: "/",
            query: None,
            headers,
            body,
        }
    }

    fn signed(secret: &str, at: u64, body: &[u8]) -> HeaderMap {
        signed_with_token(secret, at, body, None)
    }

    /// [`signed`], bearing a session token among its signed headers when `token` is given.
    fn signed_with_token(secret: &str, at: u64, body: &[u8], token: Option<&str>) -> HeaderMap {
        let mut signer = Signer::new(Credentials {
            access_key: "AKIDTEST".into(),
            secret_key: secret.into(),
            region: "us-east-1".into(),
            service: "dynamodb".into(),
        });
        let date = amz_date(at);
        let mut sent = vec![
            ("host", "127.0.0.1:8000"),
            ("x-amz-date", date.as_str()),
            ("x-amz-target", "DynamoDB_20120810.ListTables"),
        ];
        if let Some(token) = token {
            sent.insert(2, ("x-amz-security-token", token));
        }
        let authorization = signer.authorization("POST", "/", &sent, body, &date);
        let mut headers = HeaderMap::new();
        for (name, value) in sent {
            headers.insert(name, HeaderValue::from_str(value).unwrap());
        }
        headers.insert(
            "authorization",
            HeaderValue::from_str(&authorization).unwrap(),
        );
        headers
    }

    fn check(headers: &HeaderMap, body: &[u8]) -> Result<(), (ErrorCode, String)> {
        let request = post(headers, body);
        keys()
            .verify(&request, "us-east-1", NOW)
            .map(|_| ())
            .map_err(|e| (e.code, e.message.unwrap_or_default()))
    }

    #[test]
    fn a_good_signature_passes_and_any_change_fails() {
        let headers = signed("secret-one", NOW - 60, b"{}");
        assert_eq!(check(&headers, b"{}"), Ok(()));
        assert_eq!(
            check(&headers, b"{ }"),
            Err((ErrorCode::InvalidSignatureException, MISMATCH.into()))
        );
        let mut moved = headers.clone();
        moved.insert("host", HeaderValue::from_static("127.0.0.1:8001"));
        assert!(check(&moved, b"{}").is_err());
        let wrong_secret = signed("secret-two", NOW, b"{}");
        assert_eq!(
            check(&wrong_secret, b"{}"),
            Err((ErrorCode::InvalidSignatureException, MISMATCH.into()))
        );
        // The right signature in uppercase hex is not the signature.
        let mut shouted = headers.clone();
        let authorization = headers["authorization"].to_str().unwrap();
        let (head, signature) = authorization.split_once("Signature=").unwrap();
        let upper = format!("{head}Signature={}", signature.to_ascii_uppercase());
        shouted.insert("authorization", HeaderValue::from_str(&upper).unwrap());
        assert_eq!(
            check(&shouted, b"{}"),
            Err((ErrorCode::InvalidSignatureException, MISMATCH.into()))
        );
    }

    /// A key with a session token takes only requests bearing it, signed; a key without one
    /// takes no token at all (DynamoDB's answer to an invalid token).
    #[test]
    fn a_session_token_must_be_the_keys_own_and_signed() {
        let store =
            KeyStore::parse("AKIDTEST secret-one session-token=the/token+\nAKIDOTHER secret-two")
                .unwrap();
        let verify = |headers: &HeaderMap| {
            let request = post(headers, b"{}");
            store
                .verify(&request, "us-east-1", NOW)
                .map(|_| ())
                .map_err(|e| (e.code, e.message.unwrap_or_default()))
        };
        let invalid = Err((
            ErrorCode::UnrecognizedClientException,
            "The security token included in the request is invalid.".to_string(),
        ));
        let with_token = |token| signed_with_token("secret-one", NOW, b"{}", token);
        assert_eq!(verify(&with_token(Some("the/token+"))), Ok(()));
        assert_eq!(verify(&with_token(None)), invalid);
        assert_eq!(verify(&with_token(Some("the/token"))), invalid);
        let mut unsigned = with_token(None);
        unsigned.insert(
            "x-amz-security-token",
            HeaderValue::from_static("the/token+"),
        );
        assert_eq!(
            verify(&unsigned).map_err(|e| e.0),
            Err(ErrorCode::InvalidSignatureException)
        );
        let mut twice = with_token(Some("the/token+"));
        twice.append(
            "x-amz-security-token",
            HeaderValue::from_static("the/token+"),
        );
        assert_eq!(verify(&twice), invalid);

        let other = |token: Option<&str>| {
            let mut headers = signed_with_token("secret-two", NOW, b"{}", token);
            let auth = headers["authorization"]
                .to_str()
                .unwrap()
                .replace("AKIDTEST", "AKIDOTHER");
            headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
            headers
        };
        assert_eq!(verify(&other(Some("any"))), invalid);
        assert_eq!(verify(&other(None)), Ok(()));
    }

    #[test]
    fn the_cached_signing_key_serves_only_its_credential() {
        let store = keys();
        let verify = |headers: &HeaderMap| {
            let request = post(headers, b"{}");
            store.verify(&request, "us-east-1", NOW).is_ok()
        };
        let good = signed("secret-one", NOW, b"{}");
        let forged = signed("secret-two", NOW, b"{}");
        assert!(verify(&good));
        assert!(!verify(&forged));
        assert!(verify(&good));
        assert!(!verify(&forged));
    }

    #[test]
    fn dynamodb_errors_in_its_order_of_checks() {
        let mut headers = HeaderMap::new();
        assert_eq!(
            check(&headers, b"{}").map_err(|e| e.0),
            Err(ErrorCode::MissingAuthenticationTokenException)
        );
        headers.insert(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 Signature=00"),
        );
        assert_eq!(
            check(&headers, b"{}"),
            Err((
                ErrorCode::IncompleteSignatureException,
                "Authorization header requires 'Credential' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Signature=00".into()
            ))
        );
        let stale = signed("secret-one", NOW - 16 * 60, b"{}");
        assert_eq!(
            check(&stale, b"{}"),
            Err((
                ErrorCode::InvalidSignatureException,
                "Signature expired: 20240229T234359Z is now earlier than 20240229T234459Z (20240229T235959Z - 15 min.)".into()
            ))
        );
        let mut unknown = signed("secret-one", NOW, b"{}");
        let auth = unknown["authorization"]
            .to_str()
            .unwrap()
            .replace("AKIDTEST", "AKIDNOPE");
        unknown.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        assert_eq!(
            check(&unknown, b"{}").map_err(|e| e.0),
            Err(ErrorCode::UnrecognizedClientException)
        );
    }

    /// Without keys any signature is taken, but only a well-formed one: a bare algorithm
    /// is DynamoDB's IncompleteSignatureException, naming every missing parameter.
    #[test]
    fn without_keys_the_header_must_still_name_its_parts() {
        let accepts = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert("authorization", HeaderValue::from_static(value));
            let request = post(&headers, b"{}");
            authenticate(None, "us-east-1", &request, || false)
                .map(|_| ())
                .map_err(|e| (e.code, e.message.unwrap_or_default()))
        };
        assert_eq!(
            accepts("AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00"),
            Ok(())
        );
        assert_eq!(
            accepts("AWS4-HMAC-SHA256 "),
            Err((
                ErrorCode::IncompleteSignatureException,
                "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 ".into()
            ))
        );
        assert_eq!(
            accepts("AWS4-HMAC-SHA256 Credential=x/20240101/us-east-1/dynamodb/aws4_request, Signature=00")
                .map_err(|e| e.0),
            Err(ErrorCode::IncompleteSignatureException)
        );
    }

    #[test]
    fn dates_parse_in_both_forms() {
        assert_eq!(parse_amz_date("20240229T235959Z"), Some(NOW));
        assert_eq!(parse_amz_date("2024-02-29T23:59:59Z"), None);
        assert_eq!(parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT"), Some(NOW));
        assert_eq!(parse_http_date("Thu, 29 Foo 2024 23:59:59 GMT"), None);
        // Numeric zones, as botocore writes them (`email.utils.formatdate`).
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 23:59:59 -0000"),
            Some(NOW)
        );
        assert_eq!(
            parse_http_date("Fri, 01 Mar 2024 01:59:59 +0200"),
            Some(NOW)
        );
        assert_eq!(
            parse_http_date("Thu, 29 Feb 2024 22:59:59 -0100"),
            Some(NOW)
        );
        for bad in ["+02", "0200", "+2500", "GMT+1"] {
            let date = format!("Thu, 29 Feb 2024 23:59:59 {bad}");
            assert_eq!(parse_http_date(&date), None, "{bad}");
        }
        assert_eq!(parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT extra"), None);
    }

    #[test]
    fn key_files_name_their_bad_lines() {
        assert!(KeyStore::parse("").is_err());
        assert_eq!(
            KeyStore::parse("AKID secret extra").err().as_deref(),
            Some("line 1: expected `ACCESS_KEY_ID SECRET_ACCESS_KEY [arn:aws:iam::...] [session-token=TOKEN]`")
        );
        assert_eq!(
            KeyStore::parse("AKID one\n# rotated\nOTHER two\nAKID three")
                .err()
                .as_deref(),
            Some("line 4: access key id AKID is already given on line 1")
        );
        for bad in [
            "AKID secret session-token=",
            "AKID secret session-token=a session-token=b",
            "AKID secret arn:aws:iam::1:user/a arn:aws:iam::1:user/b",
        ] {
            assert!(KeyStore::parse(bad).is_err(), "{bad}");
        }
        let keys = KeyStore::parse("AKID secret arn:aws:iam::111122223333:user/bob\nOTHER s2")
            .unwrap_or_default();
        assert_eq!(
            keys.principal("AKID"),
            Some("arn:aws:iam::111122223333:user/bob")
        );
        assert_eq!(keys.principal("OTHER"), None);
    }

    /// A debug print of the keys (a `LiveKeys` in a config dump, say) names each key id and
    /// principal but never a secret key or a session token.
    #[test]
    fn debug_output_redacts_secrets() {
        let store = KeyStore::parse(
            "AKIDSHOWN secret-hidden arn:aws:iam::111122223333:user/bob session-token=token-hidden\nAKIDPLAIN other-secret-hidden",
        )
        .unwrap();
        let request_headers = signed("other-secret-hidden", NOW, b"{}");
        let mut headers = request_headers.clone();
        let auth = request_headers["authorization"]
            .to_str()
            .unwrap()
            .replace("AKIDTEST", "AKIDPLAIN");
        headers.insert("authorization", HeaderValue::from_str(&auth).unwrap());
        let request = post(&headers, b"{}");
        assert!(store.verify(&request, "us-east-1", NOW).is_ok());
        let derived = signing_key("other-secret-hidden", "20240229", "us-east-1", SERVICE);

        let printed = format!("{store:?}");
        assert!(printed.contains("derived_signing_keys: 1"), "{printed}");
        assert!(
            !printed.contains(
                &format!("{:?}", &derived[..4])
                    .trim_end_matches(']')
                    .to_string()
            ),
            "{printed}"
        );
        for shown in [
            "AKIDSHOWN",
            "AKIDPLAIN",
            "arn:aws:iam::111122223333:user/bob",
        ] {
            assert!(printed.contains(shown), "{shown} missing from {printed}");
        }
        assert!(!printed.contains("hidden"), "{printed}");
        assert!(
            printed.contains("session_token: Some(\"<redacted>\")"),
            "{printed}"
        );
    }

    /// Without keys the access key is the one the `Credential` claims; with keys, the one
    /// the signature was verified with, its principal from the same key set.
    #[test]
    fn authentication_names_the_access_key_and_its_principal() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=AKID/20240229/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00",
            ),
        );
        let request = post(&headers, b"{}");
        let claimed = authenticate(None, "us-east-1", &request, || false).unwrap();
        assert_eq!(claimed.access_key(), Some("AKID"));
        assert!(!claimed.names_principals());

        let store = Arc::new(
            KeyStore::parse("AKIDTEST secret-one arn:aws:iam::999988887777:user/eve").unwrap(),
        );
        let signed = signed("secret-one", NOW, b"{}");
        let request = post(&signed, b"{}");
        let id = store.verify(&request, "us-east-1", NOW).unwrap();
        let verified = Authenticated::Key {
            keys: Guard::from_inner(store),
            id,
        };
        assert_eq!(verified.access_key(), Some("AKIDTEST"));
        assert_eq!(
            verified.principal_arn(),
            Some("arn:aws:iam::999988887777:user/eve")
        );
        assert!(verified.names_principals());
    }
}
