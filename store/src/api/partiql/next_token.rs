//! ExecuteStatement's `NextToken`: where the next page starts, bound to the request that
//! minted it. DynamoDB refuses a token replayed with another statement or other parameters
//! (`NextToken does not match request`) but keeps it valid across a changed `Limit` or
//! `ConsistentRead`; a token it cannot read at all is `Invalid NextToken`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use shared::model::{AttributeValue, Item};
use shared::wire::error::ApiError;

use crate::api::idempotency::{fingerprint, Fingerprint};

/// The statement and parameters a token belongs to, hashed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request(Fingerprint);

impl Request {
    pub fn of(statement: Option<&str>, parameters: Option<&[AttributeValue]>) -> Self {
        Request(fingerprint(&(statement, parameters)))
    }
}

/// A token's content: its request's hash (hex: JSON numbers cannot carry 128 bits) and
/// the page's `LastEvaluatedKey`.
#[derive(Serialize, Deserialize)]
struct Token {
    request: String,
    key: Item,
}

/// The token that resumes `request` after `key`.
pub fn encode(key: &Item, request: Request) -> String {
    let token = Token {
        request: format!("{:032x}", request.0),
        key: key.clone(),
    };
    let json = serde_json::to_vec(&token).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(json)
}

/// A token as a request sent it, with the request it must belong to.
pub struct Resume {
    pub token: String,
    pub request: Request,
}

impl Resume {
    /// The key the page starts after, if the token is readable and the request's own.
    pub fn start_key(&self) -> Result<Item, ApiError> {
        let invalid = || ApiError::validation("Invalid NextToken");
        let json = base64::engine::general_purpose::STANDARD
            .decode(&self.token)
            .map_err(|_| invalid())?;
        let token: Token = serde_json::from_slice(&json).map_err(|_| invalid())?;
        if token.request != format!("{:032x}", self.request.0) {
            return Err(ApiError::validation("NextToken does not match request"));
        }
        Ok(token.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Item {
        Item::from([("pk".to_string(), AttributeValue::S("a".into()))])
    }

    fn resume(token: &str, request: Request) -> Result<Item, String> {
        let resume = Resume {
            token: token.to_string(),
            request,
        };
        resume.start_key().map_err(|e| e.to_string())
    }

    #[test]
    fn a_token_resumes_only_the_statement_and_parameters_that_minted_it() {
        let one = [AttributeValue::S("x".into())];
        let other = [AttributeValue::S("y".into())];
        let minted = Request::of(Some(r#"SELECT * FROM "t""#), Some(&one));
        let token = encode(&key(), minted);
        assert_eq!(resume(&token, minted), Ok(key()));
        let same = Request::of(Some(r#"SELECT * FROM "t""#), Some(&one));
        assert_eq!(resume(&token, same), Ok(key()));
        let mismatch = Err("ValidationException: NextToken does not match request".to_string());
        let another_statement = Request::of(Some(r#"SELECT * FROM "u""#), Some(&one));
        assert_eq!(resume(&token, another_statement), mismatch);
        let other_parameters = Request::of(Some(r#"SELECT * FROM "t""#), Some(&other));
        assert_eq!(resume(&token, other_parameters), mismatch);
    }

    #[test]
    fn an_unreadable_token_is_invalid() {
        let request = Request::of(Some(r#"SELECT * FROM "t""#), None);
        let invalid = Err("ValidationException: Invalid NextToken".to_string());
        assert_eq!(resume("not base64!", request), invalid);
        let not_a_token =
            base64::engine::general_purpose::STANDARD.encode(b"{\"pk\":{\"S\":\"a\"}}");
        assert_eq!(resume(&not_a_token, request), invalid);
    }
}
