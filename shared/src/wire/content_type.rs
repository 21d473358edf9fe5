//! The media type an API call's body must be sent as. DynamoDB answers a body of any other
//! type (or of none) as it answers a request that is not `POST /`: 404 with an XML body
//! (DYNAMODB.md §1, order of checks, row 1). SDKs send JSON 1.0's own type; dynalite also
//! takes plain JSON's, and so do we.

use http::header::CONTENT_TYPE;
use http::HeaderMap;

/// The type our own clients send their API calls as (the SDKs' choice).
pub const AMZ_JSON_1_0: &str = "application/x-amz-json-1.0";

/// The media types an API call's body is taken as.
const ACCEPTED: [&str; 2] = [AMZ_JSON_1_0, "application/json"];

/// Whether `headers` declare the body as JSON: one of [`ACCEPTED`], in any case, with or
/// without parameters (`; charset=utf-8`).
pub fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return false;
    };
    let value = value.as_bytes();
    let media_type = match value.iter().position(|&b| b == b';') {
        Some(end) => &value[..end],
        None => value,
    };
    let media_type = media_type.trim_ascii();
    ACCEPTED
        .iter()
        .any(|accepted| media_type.eq_ignore_ascii_case(accepted.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn declared(content_type: &'static str) -> bool {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        is_json(&headers)
    }

    #[test]
    fn json_types_pass_in_any_case_and_with_parameters() {
        assert!(declared("application/x-amz-json-1.0"));
        assert!(declared("application/json"));
        assert!(declared("Application/X-Amz-JSON-1.0"));
        assert!(declared("application/json; charset=utf-8"));
        assert!(declared("application/x-amz-json-1.0 ;charset=UTF-8"));
    }

    #[test]
    fn other_types_and_none_do_not() {
        assert!(!declared("text/plain"));
        assert!(!declared("application/x-amz-json-1.1"));
        assert!(!declared("application/jsonx"));
        assert!(!declared("application/x-www-form-urlencoded"));
        assert!(!declared(""));
        assert!(!is_json(&HeaderMap::new()));
    }
}
