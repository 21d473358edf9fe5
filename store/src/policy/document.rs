//! A resource-based policy document: IAM's JSON grammar, parsed and checked once when it
//! is attached, evaluated against each request after (`super::evaluate`).
//!
//! Taken: `Version`, `Id`, and statements (one object or a list) with `Sid`, `Effect`,
//! `Principal`/`NotPrincipal` (`"*"`, `{"AWS": ARN, account id or a list}`; service
//! principals never match a caller of this store), `Action`/`NotAction`,
//! `Resource`/`NotResource`, and `Condition` blocks on the keys this store knows
//! (`aws:PrincipalArn`, `aws:PrincipalAccount` with the string and ARN operators,
//! `aws:SourceIp` with `IpAddress`/`NotIpAddress`, the request's own `dynamodb:Select`,
//! `dynamodb:ReturnValues`, `dynamodb:ReturnConsumedCapacity` and
//! `dynamodb:EnclosingOperation` with the string operators, `dynamodb:FullTableScan` with
//! `Bool`, and `dynamodb:LeadingKeys` and `dynamodb:Attributes`, which have a value per
//! item or attribute a call names, with the string operators qualified by `ForAllValues:`
//! or `ForAnyValue:`). With `Version` 2012-10-17, condition values may name the policy
//! variables `${aws:PrincipalArn}`, `${aws:PrincipalAccount}` and `${aws:username}`.
//! Anything else is refused when the policy is put, so no statement is silently ignored.

use serde_json::Value;
use shared::wire::error::ApiError;

/// DynamoDB's limit on a resource-based policy.
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub statements: Vec<Statement>,
}

impl Document {
    /// Whether any statement has a condition on `key` (lower-case).
    pub fn has_condition_on(&self, key: &str) -> bool {
        self.statements
            .iter()
            .any(|s| s.conditions.iter().any(|c| c.key == key))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub effect: Effect,
    pub principals: Listed<Principal>,
    pub actions: Listed<String>,
    pub resources: Listed<String>,
    pub conditions: Vec<Condition>,
}

/// The values of `X` or of `NotX` (`negated`).
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub negated: bool,
    pub values: Vec<T>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Principal {
    /// `"*"` or `{"AWS": "*"}`: anyone.
    Anyone,
    /// Every principal of an account (`123456789012` or `arn:aws:iam::123456789012:root`).
    Account(String),
    /// One principal's ARN.
    Arn(String),
    /// A service principal: never the caller of this store.
    Service,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    /// The caller's address in one of the values' CIDR blocks.
    IpAddress,
    NotIpAddress,
    /// `true` or `false`, against a boolean key.
    Bool,
}

/// How a condition tests a key that may have many values in a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// None: the key's one value is tested.
    Single,
    /// `ForAllValues:`: every value the request has passes (a request with none passes).
    ForAllValues,
    /// `ForAnyValue:`: at least one value passes (a request with none does not).
    ForAnyValue,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub operator: Operator,
    pub set: SetQualifier,
    /// `...IfExists`: the condition holds for a request without the key.
    pub if_exists: bool,
    /// Lower-case: condition keys are case-insensitive.
    pub key: String,
    pub values: Vec<String>,
    /// Whether `${...}` in `values` are policy variables (Version 2012-10-17) or text.
    pub variables: bool,
}

/// The single-valued string condition keys this store fills in for a request: the
/// caller's, and parameters of the request itself (absent when it does not give them).
pub const STRING_KEYS: [&str; 6] = [
    "aws:principalarn",
    "aws:principalaccount",
    "dynamodb:select",
    "dynamodb:returnvalues",
    "dynamodb:returnconsumedcapacity",
    "dynamodb:enclosingoperation",
];
/// Whether a call reads a whole table (a Scan): the boolean key.
pub const FULL_TABLE_SCAN: &str = "dynamodb:fulltablescan";
/// The partition key values of the items a call names (many per request).
pub const LEADING_KEYS: &str = "dynamodb:leadingkeys";
/// The top-level attribute names a call reads or writes (many per request).
pub const ATTRIBUTES: &str = "dynamodb:attributes";
/// The keys with many values per request, tested under a set qualifier.
const MANY_VALUED: [&str; 2] = [LEADING_KEYS, ATTRIBUTES];
/// The policy variables condition values may name (lower-case; names are
/// case-insensitive).
pub const VARIABLES: [&str; 3] = ["aws:principalarn", "aws:principalaccount", "aws:username"];
/// The address condition key: the caller's IP address.
pub const SOURCE_IP: &str = "aws:sourceip";

fn invalid(detail: impl std::fmt::Display) -> ApiError {
    ApiError::validation(format!("Invalid policy document: {detail}"))
}

/// Parses and checks `text`.
pub fn parse(text: &str) -> Result<Document, ApiError> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(ApiError::validation(format!(
            "Resource-based policy size exceeds the maximum of {MAX_POLICY_BYTES} bytes"
        )));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| invalid("not JSON"))?;
    let object = value
        .as_object()
        .ok_or_else(|| invalid("not a JSON object"))?;
    for key in object.keys() {
        if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
            return Err(invalid(format!("unknown element {key}")));
        }
    }
    // Policy variables came with 2012-10-17; an older or absent Version keeps `${` as text.
    let variables = match object.get("Version").map(Value::as_str) {
        None | Some(Some("2008-10-17")) => false,
        Some(Some("2012-10-17")) => true,
        Some(_) => return Err(invalid("Version must be 2012-10-17 or 2008-10-17")),
    };
    let statements = match object.get("Statement") {
        Some(Value::Array(list)) if !list.is_empty() => list.iter().collect::<Vec<_>>(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => return Err(invalid("Statement must be an object or a non-empty list")),
    };
    let statements = statements
        .into_iter()
        .map(|s| statement(s, variables))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Document { statements })
}

fn statement(value: &Value, variables: bool) -> Result<Statement, ApiError> {
    let object = value
        .as_object()
        .ok_or_else(|| invalid("a statement is not an object"))?;
    for key in object.keys() {
        let known = [
            "Sid",
            "Effect",
            "Principal",
            "NotPrincipal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
        ];
        if !known.contains(&key.as_str()) {
            return Err(invalid(format!("unknown element {key} in a statement")));
        }
    }
    let effect = match object.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(invalid("Effect must be Allow or Deny")),
    };
    let principals = either(object, "Principal", "NotPrincipal", principal_list)?;
    let actions = either(object, "Action", "NotAction", strings)?;
    let resources = either(object, "Resource", "NotResource", strings)?;
    let conditions = match object.get("Condition") {
        None => Vec::new(),
        Some(block) => conditions(block, variables)?,
    };
    Ok(Statement {
        effect,
        principals,
        actions,
        resources,
        conditions,
    })
}

/// Exactly one of `name` and `not_name`, read by `read`.
fn either<T>(
    object: &serde_json::Map<String, Value>,
    name: &str,
    not_name: &str,
    read: fn(&Value) -> Result<Vec<T>, ApiError>,
) -> Result<Listed<T>, ApiError> {
    match (object.get(name), object.get(not_name)) {
        (Some(v), None) => Ok(Listed {
            negated: false,
            values: read(v)?,
        }),
        (None, Some(v)) => Ok(Listed {
            negated: true,
            values: read(v)?,
        }),
        _ => Err(invalid(format!(
            "a statement needs exactly one of {name} and {not_name}"
        ))),
    }
}

/// A string or a non-empty list of strings.
fn strings(value: &Value) -> Result<Vec<String>, ApiError> {
    let list = match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| invalid("expected strings"))?,
        _ => return Err(invalid("expected a string or a list of strings")),
    };
    Ok(list)
}

fn principal_list(value: &Value) -> Result<Vec<Principal>, ApiError> {
    if value.as_str() == Some("*") {
        return Ok(vec![Principal::Anyone]);
    }
    let object = value
        .as_object()
        .ok_or_else(|| invalid("Principal must be \"*\" or an object"))?;
    let mut principals = Vec::new();
    for (kind, ids) in object {
        for id in strings(ids)? {
            principals.push(match kind.as_str() {
                "AWS" => aws_principal(&id)?,
                "Service" | "Federated" | "CanonicalUser" => Principal::Service,
                other => return Err(invalid(format!("unknown principal type {other}"))),
            });
        }
    }
    Ok(principals)
}

fn aws_principal(id: &str) -> Result<Principal, ApiError> {
    let account = |a: &str| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit());
    if id == "*" {
        return Ok(Principal::Anyone);
    }
    if account(id) {
        return Ok(Principal::Account(id.to_string()));
    }
    let rest = id
        .strip_prefix("arn:aws:iam::")
        .or_else(|| id.strip_prefix("arn:aws:sts::"))
        .ok_or_else(|| invalid(format!("invalid principal {id}")))?;
    match rest.split_once(':') {
        Some((a, "root")) if account(a) => Ok(Principal::Account(a.to_string())),
        Some((a, _)) if account(a) => Ok(Principal::Arn(id.to_string())),
        _ => Err(invalid(format!("invalid principal {id}"))),
    }
}

fn conditions(block: &Value, variables: bool) -> Result<Vec<Condition>, ApiError> {
    let block = block
        .as_object()
        .ok_or_else(|| invalid("Condition must be an object"))?;
    let mut conditions = Vec::new();
    for (operator_name, tests) in block {
        let (set, unqualified) = match operator_name.split_once(':') {
            None => (SetQualifier::Single, operator_name.as_str()),
            Some(("ForAllValues", rest)) => (SetQualifier::ForAllValues, rest),
            Some(("ForAnyValue", rest)) => (SetQualifier::ForAnyValue, rest),
            Some((qualifier, _)) => {
                return Err(invalid(format!("unknown set qualifier {qualifier}")))
            }
        };
        let base = unqualified.strip_suffix("IfExists");
        let if_exists = base.is_some();
        let base = base.unwrap_or(unqualified);
        let operator = match base {
            "StringEquals" | "ArnEquals" => Operator::StringEquals,
            "StringNotEquals" | "ArnNotEquals" => Operator::StringNotEquals,
            "StringEqualsIgnoreCase" => Operator::StringEqualsIgnoreCase,
            "StringNotEqualsIgnoreCase" => Operator::StringNotEqualsIgnoreCase,
            "StringLike" | "ArnLike" => Operator::StringLike,
            "StringNotLike" | "ArnNotLike" => Operator::StringNotLike,
            "IpAddress" => Operator::IpAddress,
            "NotIpAddress" => Operator::NotIpAddress,
            "Bool" => Operator::Bool,
            other => {
                return Err(invalid(format!(
                    "condition operator {other} is not supported by this store"
                )))
            }
        };
        let tests = tests
            .as_object()
            .ok_or_else(|| invalid("a condition operator needs an object of keys"))?;
        for (key, values) in tests {
            let key = key.to_ascii_lowercase();
            let address = matches!(operator, Operator::IpAddress | Operator::NotIpAddress);
            let known = match operator {
                _ if address => key == SOURCE_IP && set == SetQualifier::Single,
                Operator::Bool => key == FULL_TABLE_SCAN && set == SetQualifier::Single,
                _ => STRING_KEYS.contains(&key.as_str()) || MANY_VALUED.contains(&key.as_str()),
            };
            if !known {
                return Err(invalid(format!(
                    "condition key {key} is not supported by this store with {operator_name}"
                )));
            }
            if MANY_VALUED.contains(&key.as_str()) && set == SetQualifier::Single {
                return Err(invalid(format!(
                    "{key} has many values per call: qualify {operator_name} with ForAllValues: or ForAnyValue:"
                )));
            }
            let values = strings(values)?;
            if let Some(bad) = values.iter().find(|v| address && Cidr::parse(v).is_none()) {
                return Err(invalid(format!("{bad} is not an IP address or CIDR block")));
            }
            let boolean =
                |v: &String| v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false");
            if let Some(bad) = values
                .iter()
                .find(|v| operator == Operator::Bool && !boolean(v))
            {
                return Err(invalid(format!("{bad} is not true or false")));
            }
            if variables {
                values.iter().try_for_each(|v| check_variables(v))?;
            }
            conditions.push(Condition {
                operator,
                set,
                if_exists,
                key,
                values,
                variables,
            });
        }
    }
    Ok(conditions)
}

/// `value` with each policy variable `${name}` replaced by `lookup(name)` (the name in
/// lower case). `Err` with the name of the first variable `lookup` has no value for, or
/// with the rest of the value after an unclosed `${`.
pub fn substitute<'v>(
    value: &str,
    lookup: impl Fn(&str) -> Option<&'v str>,
) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some((before, after)) = rest.split_once("${") {
        out.push_str(before);
        let (name, tail) = after.split_once('}').ok_or_else(|| after.to_string())?;
        out.push_str(lookup(&name.to_ascii_lowercase()).ok_or_else(|| name.to_string())?);
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// Refuses a value naming a policy variable this store does not fill in, or an unclosed
/// `${`.
fn check_variables(value: &str) -> Result<(), ApiError> {
    substitute(value, |name| VARIABLES.contains(&name).then_some(""))
        .map(drop)
        .map_err(|name| {
            invalid(format!(
                "policy variable ${{{name}}} is not supported by this store"
            ))
        })
}

/// An IPv4 or IPv6 CIDR block (`203.0.113.0/24`; a bare address is a block of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: std::net::IpAddr,
    prefix: u32,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u32>().ok()?)),
            None => (text, None),
        };
        let network: std::net::IpAddr = address.parse().ok()?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(Cidr { network, prefix })
    }

    pub fn contains(&self, address: std::net::IpAddr) -> bool {
        let bits = |a: std::net::IpAddr| -> u128 {
            match a {
                std::net::IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
                std::net::IpAddr::V6(v6) => u128::from(v6),
            }
        };
        if self.network.is_ipv4() != address.is_ipv4() {
            return false;
        }
        // Both kinds are compared as their leading `prefix` bits (IPv4 in the top 32).
        let mask = match self.prefix {
            0 => 0,
            p => u128::MAX << (128 - p),
        };
        bits(self.network) & mask == bits(address) & mask
    }
}
