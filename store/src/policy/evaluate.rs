//! Evaluating a policy document for one request, as IAM does for a resource-based policy:
//! a matching `Deny` wins; otherwise a matching `Allow` grants; otherwise the policy is
//! silent and the caller's own account decides (`super::authorize`).

use super::document::{Cidr, Condition, Document, Effect, Listed, Operator, Principal, Statement};

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
            .all(|c| condition_holds(c, request))
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

fn condition_holds(condition: &Condition, request: &Request<'_>) -> bool {
    if let Operator::IpAddress | Operator::NotIpAddress = condition.operator {
        // No known address: the key is absent, and IAM's conditions on it do not hold.
        let Some(address) = request.source_ip else {
            return false;
        };
        let inside = condition
            .values
            .iter()
            .filter_map(|v| Cidr::parse(v))
            .any(|block| block.contains(address));
        return inside == (condition.operator == Operator::IpAddress);
    }
    let actual = match condition.key.as_str() {
        "aws:principalarn" => request.principal_arn,
        "aws:principalaccount" => request.principal_account,
        // Refused when the policy was put (`document::STRING_KEYS`).
        _ => return false,
    };
    let any = |test: &dyn Fn(&str) -> bool| condition.values.iter().any(|v| test(v));
    match condition.operator {
        Operator::StringEquals => any(&|v| v == actual),
        Operator::StringNotEquals => !any(&|v| v == actual),
        Operator::StringEqualsIgnoreCase => any(&|v| v.eq_ignore_ascii_case(actual)),
        Operator::StringNotEqualsIgnoreCase => !any(&|v| v.eq_ignore_ascii_case(actual)),
        Operator::StringLike => any(&|v| glob(v, actual)),
        Operator::StringNotLike => !any(&|v| glob(v, actual)),
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
        // No known address: the key is absent and neither condition holds.
        assert_eq!(from(None, "dynamodb:Scan"), Verdict::Silent);
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
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"dynamodb:LeadingKeys":"a"}}}}"#,
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
}
