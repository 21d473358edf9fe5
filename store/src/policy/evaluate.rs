//! Evaluating a policy document for one request, as IAM does for a resource-based policy:
//! a matching `Deny` wins; otherwise a matching `Allow` grants; otherwise the policy is
//! silent and the caller's own account decides (`super::authorize`).

use super::document::{
    substitute, Cidr, Condition, Document, Effect, Listed, Operator, Principal, SetQualifier,
    Statement, ATTRIBUTES, LEADING_KEYS,
};

/// Who asks to do what to which resource.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal_arn: &'a str,
    pub principal_account: &'a str,
    /// `dynamodb:GetItem`, ...
    pub action: &'a str,
    pub resource: &'a str,
    /// The caller's address (`aws:SourceIp`), when known.
    pub source_ip: Option<std::net::IpAddr>,
    /// The partition key values of the items the call names in `resource`
    /// (`dynamodb:LeadingKeys`).
    pub leading_keys: Values<'a>,
    /// The top-level attribute names it reads or writes there (`dynamodb:Attributes`).
    pub attributes: Values<'a>,
    /// The request's own single-valued condition keys it has (lower-case names:
    /// `dynamodb:select`, `dynamodb:fulltablescan`, ...).
    pub parameters: &'a [(&'static str, String)],
}

/// What a request says of a condition key with a value per thing it names
/// (`dynamodb:LeadingKeys`, `dynamodb:Attributes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values<'a> {
    /// The call names none (a Scan's leading keys, a table's description): the key is
    /// absent.
    Absent,
    /// The values it names.
    Known(&'a [String]),
    /// It names values that cannot be listed here (a statement that does not plan, an item
    /// without its key, an expression that does not parse; every attribute of the items a
    /// call returns whole): a condition on the key fails closed, holding in a `Deny` and not
    /// in an `Allow`.
    Unknown,
}

impl<'a> Request<'a> {
    /// The request's values of a many-valued condition key; `None` for any other key.
    fn many_valued(&self, key: &str) -> Option<Values<'a>> {
        match key {
            LEADING_KEYS => Some(self.leading_keys),
            ATTRIBUTES => Some(self.attributes),
            _ => None,
        }
    }

    /// The value of a policy variable (lower-case name), if the request has one:
    /// `aws:username` only for an IAM user.
    fn variable(&self, name: &str) -> Option<&str> {
        match name {
            "aws:principalarn" => Some(self.principal_arn),
            "aws:principalaccount" => Some(self.principal_account),
            "aws:username" => self
                .principal_arn
                .split_once(":user/")
                .map(|(_, path)| path.rsplit('/').next().unwrap_or(path)),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Deny,
    Allow,
    Silent,
}

pub fn evaluate(document: &Document, request: &Request<'_>) -> Verdict {
    let applies = |s: &&Statement| statement_applies(s, request);
    let matching: Vec<&Statement> = document.statements.iter().filter(applies).collect();
    if matching.iter().any(|s| s.effect == Effect::Deny) {
        Verdict::Deny
    } else if matching.iter().any(|s| s.effect == Effect::Allow) {
        Verdict::Allow
    } else {
        Verdict::Silent
    }
}

fn statement_applies(statement: &Statement, request: &Request<'_>) -> bool {
    listed(&statement.principals, |p| principal_matches(p, request))
        && listed(&statement.actions, |a| {
            glob(
                &a.to_ascii_lowercase(),
                &request.action.to_ascii_lowercase(),
            )
        })
        && listed(&statement.resources, |r| glob(r, request.resource))
        && statement
            .conditions
            .iter()
            .all(|c| condition_holds(c, statement.effect, request))
}

/// Whether any value matches (none, for a `Not...` element).
fn listed<T>(list: &Listed<T>, matches: impl Fn(&T) -> bool) -> bool {
    list.values.iter().any(matches) != list.negated
}

fn principal_matches(principal: &Principal, request: &Request<'_>) -> bool {
    match principal {
        Principal::Anyone => true,
        Principal::Account(account) => account == request.principal_account,
        Principal::Arn(arn) => arn == request.principal_arn,
        Principal::Service => false,
    }
}

/// Whether `condition` of a statement with `effect` holds for `request`.
fn condition_holds(condition: &Condition, effect: Effect, request: &Request<'_>) -> bool {
    if let Operator::IpAddress | Operator::NotIpAddress = condition.operator {
        // No known address: the key is absent. IAM's conditions on it then hold only
        // for `...IfExists` and the negated `NotIpAddress`.
        let Some(address) = request.source_ip else {
            return condition.if_exists || condition.operator == Operator::NotIpAddress;
        };
        let inside = condition
            .values
            .iter()
            .filter_map(|v| Cidr::parse(v))
            .any(|block| block.contains(address));
        return inside == (condition.operator == Operator::IpAddress);
    }
    let single = |value: &str| vec![value.to_string()];
    let key = condition.key.as_str();
    let actual: Option<Vec<String>> = match (request.many_valued(key), key) {
        (Some(Values::Unknown), _) => return effect == Effect::Deny,
        (Some(Values::Absent), _) => None,
        (Some(Values::Known(values)), _) => Some(values.to_vec()),
        (None, "aws:principalarn") => Some(single(request.principal_arn)),
        (None, "aws:principalaccount") => Some(single(request.principal_account)),
        // Keys refused when the policy was put never get here: they are never given.
        (None, key) => request
            .parameters
            .iter()
            .find(|(name, _)| *name == key)
            .map(|(_, value)| single(value)),
    };
    // A value naming a variable the request has no value for (`aws:username` of a role)
    // makes the condition fail closed, as an unknown key does: dropping the value would
    // widen a negated operator.
    let expected: Vec<String> = match condition.variables {
        true => {
            let filled: Result<Vec<String>, String> = condition
                .values
                .iter()
                .map(|v| substitute(v, |name| request.variable(name)))
                .collect();
            match filled {
                Ok(values) => values,
                Err(_) => return effect == Effect::Deny,
            }
        }
        false => condition.values.clone(),
    };
    let passes = |actual: &String| string_test(condition.operator, &expected, actual);
    match (condition.set, actual) {
        (_, None) if condition.if_exists => true,
        (SetQualifier::ForAllValues, None) => true,
        // IAM: a negated operator holds for a key the request does not have.
        (SetQualifier::Single, None) => negated(condition.operator),
        (SetQualifier::ForAnyValue, None) => false,
        (SetQualifier::Single, Some(values)) => values.first().is_some_and(passes),
        (SetQualifier::ForAllValues, Some(values)) => values.iter().all(passes),
        (SetQualifier::ForAnyValue, Some(values)) => values.iter().any(passes),
    }
}

/// The operators that hold when none of the policy's values match.
fn negated(operator: Operator) -> bool {
    matches!(
        operator,
        Operator::StringNotEquals
            | Operator::StringNotEqualsIgnoreCase
            | Operator::StringNotLike
            | Operator::NotIpAddress
    )
}

/// Whether one value of the request passes a string operator against the policy's values.
fn string_test(operator: Operator, expected: &[String], actual: &str) -> bool {
    let any = |test: &dyn Fn(&str) -> bool| expected.iter().any(|v| test(v));
    match operator {
        Operator::StringEquals => any(&|v| v == actual),
        Operator::StringNotEquals => !any(&|v| v == actual),
        Operator::StringEqualsIgnoreCase => any(&|v| v.eq_ignore_ascii_case(actual)),
        Operator::StringNotEqualsIgnoreCase => !any(&|v| v.eq_ignore_ascii_case(actual)),
        Operator::StringLike => any(&|v| glob(v, actual)),
        Operator::StringNotLike => !any(&|v| glob(v, actual)),
        Operator::Bool => any(&|v| v.eq_ignore_ascii_case(actual)),
        Operator::IpAddress | Operator::NotIpAddress => false,
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // The classic greedy match with one backtrack point for the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::super::document::parse;
    use super::*;

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:000000000000:table/orders";

    fn request<'a>(principal_arn: &'a str, action: &'a str, resource: &'a str) -> Request<'a> {
        let account = principal_arn.split(':').nth(4).unwrap_or_default();
        Request {
            principal_arn,
            principal_account: account,
            action,
            resource,
            source_ip: "10.1.2.3".parse().ok(),
            leading_keys: Values::Absent,
            attributes: Values::Absent,
            parameters: &[],
        }
    }

    #[test]
    fn wildcards_match_as_iam_matches() {
        assert!(glob("dynamodb:get*", "dynamodb:getitem"));
        assert!(glob("*", ""));
        assert!(glob("a?c*f", "abcdef"));
        assert!(glob(
            &format!("{TABLE}/index/*"),
            &format!("{TABLE}/index/by_g")
        ));
        assert!(!glob(&format!("{TABLE}/index/*"), TABLE));
        assert!(!glob("abc", "abcd"));
        assert!(glob("*b*b*", "abcbd"));
    }

    #[test]
    fn deny_wins_allow_grants_and_silence_is_silent() {
        let policy = parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Effect":"Allow","Principal":{{"AWS":"111122223333"}},"Action":"dynamodb:Get*","Resource":"{TABLE}"}},
                {{"Effect":"Deny","Principal":"*","Action":["dynamodb:DeleteItem"],"Resource":"{TABLE}",
                  "Condition":{{"StringNotLike":{{"aws:PrincipalArn":"arn:aws:iam::*:role/admin"}}}}}},
                {{"Effect":"Deny","Principal":{{"AWS":"arn:aws:iam::000000000000:user/eve"}},"NotAction":"dynamodb:Describe*","Resource":"*"}}
            ]}}"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let bob = "arn:aws:iam::111122223333:user/bob";
        let admin = "arn:aws:iam::111122223333:role/admin";
        let eve = "arn:aws:iam::000000000000:user/eve";
        let cases = [
            (bob, "dynamodb:GetItem", Verdict::Allow),
            (bob, "dynamodb:PutItem", Verdict::Silent),
            (bob, "dynamodb:DeleteItem", Verdict::Deny),
            (admin, "dynamodb:DeleteItem", Verdict::Silent),
            (eve, "dynamodb:PutItem", Verdict::Deny),
            (eve, "dynamodb:DescribeTable", Verdict::Silent),
        ];
        for (principal, action, expected) in cases {
            let verdict = evaluate(&policy, &request(principal, action, TABLE));
            assert_eq!(verdict, expected, "{principal} {action}");
        }
    }

    #[test]
    fn address_conditions_read_the_callers_address() {
        let policy = parse(&format!(
            r#"{{"Statement":[
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:Scan","Resource":"{TABLE}",
                  "Condition":{{"NotIpAddress":{{"aws:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}}}}},
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:Query","Resource":"{TABLE}",
                  "Condition":{{"IpAddress":{{"aws:SourceIp":"10.1.2.3"}}}}}}
            ]}}"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let caller = "arn:aws:iam::000000000000:user/x";
        let from = |ip: Option<&str>, action: &'static str| {
            let mut r = request(caller, action, TABLE);
            r.source_ip = ip.and_then(|ip| ip.parse().ok());
            evaluate(&policy, &r)
        };
        assert_eq!(from(Some("10.1.2.3"), "dynamodb:Scan"), Verdict::Silent);
        assert_eq!(from(Some("2001:db8::1"), "dynamodb:Scan"), Verdict::Silent);
        assert_eq!(from(Some("192.0.2.1"), "dynamodb:Scan"), Verdict::Deny);
        assert_eq!(from(Some("10.1.2.3"), "dynamodb:Query"), Verdict::Deny);
        assert_eq!(from(Some("10.1.2.4"), "dynamodb:Query"), Verdict::Silent);
        // No known address: the key is absent; the negated operator holds, the other not.
        assert_eq!(from(None, "dynamodb:Scan"), Verdict::Deny);
        assert_eq!(from(None, "dynamodb:Query"), Verdict::Silent);
    }

    #[test]
    fn cidr_blocks_match_their_prefix() {
        let block = |text: &str| Cidr::parse(text).unwrap_or_else(|| panic!("{text}"));
        let ip = |text: &str| {
            text.parse::<std::net::IpAddr>()
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert!(block("0.0.0.0/0").contains(ip("203.0.113.9")));
        assert!(block("203.0.113.0/24").contains(ip("203.0.113.255")));
        assert!(!block("203.0.113.0/24").contains(ip("203.0.114.0")));
        assert!(block("203.0.113.7").contains(ip("203.0.113.7")));
        assert!(!block("203.0.113.7").contains(ip("203.0.113.8")));
        assert!(!block("10.0.0.0/8").contains(ip("::ffff:10.0.0.1")));
        assert!(block("::/0").contains(ip("2001:db8::5")));
        for bad in ["10.0.0.0/33", "::/129", "10.0.0/8", "host", "10.0.0.0/x"] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn documents_outside_what_this_store_evaluates_are_refused() {
        for bad in [
            "not json",
            "[]",
            r#"{"Statement":[]}"#,
            r#"{"Version":"2099-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Maybe","Principal":"*","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","NotAction":"x","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"bob"},"Action":"*","Resource":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/99"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:PrincipalArn":"10.0.0.0/8"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01"}}}}"#,
            // LeadingKeys has many values: a set qualifier says how to test them.
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"dynamodb:LeadingKeys":"a"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"ForEachValue:StringEquals":{"dynamodb:LeadingKeys":"a"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"ForAnyValue:IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"dynamodb:Attributes":"a"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"dynamodb:FullTableScan":"yes"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"Bool":{"dynamodb:Select":"true"}}}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"dynamodb:LeadingKeys":"${aws:userid}"}}}}"#,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalArn":"${aws:username"}}}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Extra":1}}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let big = format!(
            r#"{{"Statement":{{"Sid":"{}","Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}}}"#,
            "x".repeat(20 * 1024)
        );
        assert!(parse(&big).is_err());
    }

    #[test]
    fn leading_keys_are_tested_as_a_set_and_variables_filled_in() {
        let policy = parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Effect":"Allow","Principal":"*","Action":"dynamodb:GetItem","Resource":"{TABLE}",
                  "Condition":{{"ForAllValues:StringEquals":{{"dynamodb:LeadingKeys":["${{aws:username}}","shared"]}}}}}},
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:DeleteItem","Resource":"{TABLE}",
                  "Condition":{{"ForAnyValue:StringLike":{{"dynamodb:LeadingKeys":"admin-*"}}}}}}
            ]}}"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let bob = "arn:aws:iam::111122223333:user/team/bob";
        let role = "arn:aws:iam::111122223333:role/bob";
        let verdict = |principal, action, keys: Option<&[&str]>| {
            let keys: Option<Vec<String>> = keys.map(|k| k.iter().map(|s| s.to_string()).collect());
            let mut r = request(principal, action, TABLE);
            r.leading_keys = keys.as_deref().map_or(Values::Absent, Values::Known);
            evaluate(&policy, &r)
        };
        let get = "dynamodb:GetItem";
        assert_eq!(verdict(bob, get, Some(&["bob"])), Verdict::Allow);
        assert_eq!(verdict(bob, get, Some(&["bob", "shared"])), Verdict::Allow);
        assert_eq!(verdict(bob, get, Some(&["bob", "alice"])), Verdict::Silent);
        // ForAllValues over nothing holds (why such an Allow lists item actions only).
        assert_eq!(verdict(bob, get, Some(&[])), Verdict::Allow);
        assert_eq!(verdict(bob, get, None), Verdict::Allow);
        // A role has no user name: a condition naming it fails closed, whatever its
        // other values (dropping the value would widen a negated operator).
        assert_eq!(verdict(role, get, Some(&["bob"])), Verdict::Silent);
        assert_eq!(verdict(role, get, Some(&["shared"])), Verdict::Silent);
        let delete = "dynamodb:DeleteItem";
        assert_eq!(verdict(bob, delete, Some(&["x", "admin-1"])), Verdict::Deny);
        assert_eq!(verdict(bob, delete, Some(&["x"])), Verdict::Silent);
        // ForAnyValue over nothing does not hold.
        assert_eq!(verdict(bob, delete, None), Verdict::Silent);
        // Keys not read here fail closed: no Allow, and a Deny.
        let unknown = |action| {
            let mut r = request(bob, action, TABLE);
            r.leading_keys = Values::Unknown;
            evaluate(&policy, &r)
        };
        assert_eq!(unknown(get), Verdict::Silent);
        assert_eq!(unknown(delete), Verdict::Deny);
    }

    #[test]
    fn attribute_names_are_their_own_key() {
        let policy = parse(&format!(
            r#"{{"Statement":[
                {{"Effect":"Allow","Principal":"*","Action":"dynamodb:GetItem","Resource":"{TABLE}",
                  "Condition":{{"ForAllValues:StringEquals":{{"dynamodb:Attributes":["pk","a"]}}}}}},
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:GetItem","Resource":"{TABLE}",
                  "Condition":{{"ForAnyValue:StringEquals":{{"dynamodb:Attributes":"secret"}}}}}}
            ]}}"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(policy.has_condition_on(ATTRIBUTES) && !policy.has_condition_on(LEADING_KEYS));
        let leading = vec!["secret".to_string()];
        let verdict = |names: Values<'_>| {
            let mut r = request(
                "arn:aws:iam::111122223333:user/x",
                "dynamodb:GetItem",
                TABLE,
            );
            // The partition key value `secret` is no attribute name.
            r.leading_keys = Values::Known(&leading);
            r.attributes = names;
            evaluate(&policy, &r)
        };
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (some, more, secret) = (names(&["pk", "a"]), names(&["pk", "b"]), names(&["secret"]));
        assert_eq!(verdict(Values::Known(&some)), Verdict::Allow);
        assert_eq!(verdict(Values::Known(&more)), Verdict::Silent);
        assert_eq!(verdict(Values::Known(&secret)), Verdict::Deny);
        // Every attribute (a whole-item read): no Allow, and the Deny.
        assert_eq!(verdict(Values::Unknown), Verdict::Deny);
    }

    #[test]
    fn if_exists_holds_without_the_key_and_variables_are_text_before_2012() {
        let policy = parse(&format!(
            r#"{{"Statement":[
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:Scan","Resource":"{TABLE}",
                  "Condition":{{"IpAddressIfExists":{{"aws:SourceIp":"10.0.0.0/8"}}}}}},
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:Query","Resource":"{TABLE}",
                  "Condition":{{"ForAnyValue:StringEqualsIfExists":{{"dynamodb:LeadingKeys":"${{aws:username}}"}}}}}}
            ]}}"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let caller = "arn:aws:iam::000000000000:user/x";
        let mut scan = request(caller, "dynamodb:Scan", TABLE);
        scan.source_ip = None;
        assert_eq!(evaluate(&policy, &scan), Verdict::Deny);
        let mut query = request(caller, "dynamodb:Query", TABLE);
        assert_eq!(
            evaluate(&policy, &query),
            Verdict::Deny,
            "no keys: IfExists holds"
        );
        let keys = ["${aws:username}".to_string()];
        query.leading_keys = Values::Known(&keys);
        assert_eq!(
            evaluate(&policy, &query),
            Verdict::Deny,
            "Version 2008: literal"
        );
        let keys = ["x".to_string()];
        query.leading_keys = Values::Known(&keys);
        assert_eq!(evaluate(&policy, &query), Verdict::Silent);
    }

    #[test]
    fn the_requests_own_parameters_are_keys_when_given() {
        let policy = parse(&format!(
            r#"{{"Statement":[
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:*","Resource":"{TABLE}",
                  "Condition":{{"Bool":{{"dynamodb:FullTableScan":"true"}}}}}},
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:*","Resource":"{TABLE}",
                  "Condition":{{"StringEquals":{{"dynamodb:ReturnValues":["ALL_OLD","ALL_NEW"]}}}}}},
                {{"Effect":"Allow","Principal":"*","Action":"dynamodb:Query","Resource":"{TABLE}",
                  "Condition":{{"StringEqualsIfExists":{{"dynamodb:Select":"COUNT"}}}}}}
            ]}}"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let caller = "arn:aws:iam::111122223333:user/bob";
        let with = |action, parameters: &[(&'static str, &str)]| {
            let parameters: Vec<_> = parameters
                .iter()
                .map(|(k, v)| (*k, v.to_string()))
                .collect();
            let mut r = request(caller, action, TABLE);
            r.parameters = &parameters;
            evaluate(&policy, &r)
        };
        assert_eq!(
            with("dynamodb:Scan", &[("dynamodb:fulltablescan", "true")]),
            Verdict::Deny
        );
        assert_eq!(
            with("dynamodb:PutItem", &[("dynamodb:returnvalues", "ALL_OLD")]),
            Verdict::Deny
        );
        assert_eq!(
            with("dynamodb:PutItem", &[("dynamodb:returnvalues", "NONE")]),
            Verdict::Silent
        );
        assert_eq!(with("dynamodb:PutItem", &[]), Verdict::Silent);
        assert_eq!(
            with("dynamodb:Query", &[("dynamodb:select", "COUNT")]),
            Verdict::Allow
        );
        assert_eq!(
            with("dynamodb:Query", &[]),
            Verdict::Allow,
            "absent: IfExists holds"
        );
        let all = [("dynamodb:select", "ALL_ATTRIBUTES")];
        assert_eq!(with("dynamodb:Query", &all), Verdict::Silent);
    }

    #[test]
    fn negated_operators_hold_for_a_key_the_request_lacks() {
        let policy = parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":[
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:PutItem","Resource":"{TABLE}",
                  "Condition":{{"StringNotEquals":{{"dynamodb:EnclosingOperation":"TransactWriteItems"}}}}}},
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:Query","Resource":"{TABLE}",
                  "Condition":{{"StringEquals":{{"dynamodb:Select":"ALL_ATTRIBUTES"}}}}}},
                {{"Effect":"Deny","Principal":"*","Action":"dynamodb:GetItem","Resource":"{TABLE}",
                  "Condition":{{"ForAllValues:StringNotLike":{{"dynamodb:LeadingKeys":"${{aws:username}}-*"}}}}}}
            ]}}"#
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let user = "arn:aws:iam::000000000000:user/ann";
        let plain = request(user, "dynamodb:PutItem", TABLE);
        assert_eq!(
            evaluate(&policy, &plain),
            Verdict::Deny,
            "no enclosing operation"
        );
        let member = [(
            "dynamodb:enclosingoperation",
            "TransactWriteItems".to_string(),
        )];
        let mut in_transaction = request(user, "dynamodb:PutItem", TABLE);
        in_transaction.parameters = &member;
        assert_eq!(evaluate(&policy, &in_transaction), Verdict::Silent);
        // A positive operator does not hold for a missing key.
        let query = request(user, "dynamodb:Query", TABLE);
        assert_eq!(evaluate(&policy, &query), Verdict::Silent);
        // A Deny whose variable a role cannot fill applies (fails closed).
        let keys = ["ann-1".to_string()];
        let mut by_role = request(
            "arn:aws:iam::000000000000:role/ann",
            "dynamodb:GetItem",
            TABLE,
        );
        by_role.leading_keys = Values::Known(&keys);
        assert_eq!(evaluate(&policy, &by_role), Verdict::Deny);
        let mut by_user = request(user, "dynamodb:GetItem", TABLE);
        by_user.leading_keys = Values::Known(&keys);
        assert_eq!(evaluate(&policy, &by_user), Verdict::Silent);
    }
}
