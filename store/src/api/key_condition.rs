//! A Query's key condition against the key schema it reads by (the table's, an LSI's or a
//! GSI's): which partition it names and which of that partition's sort keys it selects,
//! with DynamoDB's refusals, and whether an ExclusiveStartKey lies inside it.
//!
//! The conditions come in as the parser (or the legacy `KeyConditions` translation) gives
//! them: one `(attribute, condition)` per clause, in the order written. The parser cannot
//! know which attribute is the partition key (`sk = :b AND pk = :p` is valid), so the
//! clauses are looked up here by the schema's names.
//!
//! A multi-attribute key (a GSI's: up to four HASH and four RANGE attributes) is read
//! through its composite values (`shared::model::key::composite_key`): the partition is
//! the composite of every HASH attribute's equality, and the sort condition becomes a
//! range of composite sort values. The RANGE attributes are named left to right with
//! equalities, and only the last one named may carry another condition; "the first k
//! attributes equal these" is then "the composite starts with their encodings".

use std::cmp::Ordering;
use std::ops::Bound;

use shared::expr::SortKeyCondition;
use shared::model::key::{check_key_condition_value, check_key_size, composite_key};
use shared::model::keycodec::{encode_prefix, encode_scalar};
use shared::model::{AttributeValue, KeyAttr, KeySchema, PrimaryKey, ScalarType};
use shared::wire::error::ApiError;

use crate::storage::keys::prefix_successor;
use crate::storage::SortRange;

/// The key condition matched to the schema: the partition's key value and the range of
/// sort key values it selects (`None` without a sort-key condition).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPlan {
    pub hash: AttributeValue,
    pub range: Option<SortRange>,
}

fn scalar_matches(value: &AttributeValue, ty: ScalarType) -> bool {
    matches!(
        (value, ty),
        (AttributeValue::S(_), ScalarType::S)
            | (AttributeValue::N(_), ScalarType::N)
            | (AttributeValue::B(_), ScalarType::B)
    )
}

fn condition_values(cond: &SortKeyCondition) -> Vec<&AttributeValue> {
    match cond {
        SortKeyCondition::Eq(v)
        | SortKeyCondition::Lt(v)
        | SortKeyCondition::Le(v)
        | SortKeyCondition::Gt(v)
        | SortKeyCondition::Ge(v)
        | SortKeyCondition::BeginsWith(v) => vec![v],
        SortKeyCondition::Between(a, b) => vec![a, b],
    }
}

fn not_supported() -> ApiError {
    ApiError::validation("Query key condition not supported")
}

fn missed(name: &str) -> ApiError {
    ApiError::validation(format!("Query condition missed key schema element: {name}"))
}

/// One clause on key attribute `attr` (a partition attribute when `is_hash`), in
/// DynamoDB's order: the values' types, equality for a partition attribute, empty values
/// (an empty prefix included), begins_with on a number, then the key size limits.
fn check_clause(attr: &KeyAttr, cond: &SortKeyCondition, is_hash: bool) -> Result<(), ApiError> {
    if condition_values(cond)
        .iter()
        .any(|v| !scalar_matches(v, attr.ty))
    {
        return Err(ApiError::invalid_parameter(
            "Condition parameter type does not match schema type",
        ));
    }
    if is_hash && !matches!(cond, SortKeyCondition::Eq(_)) {
        return Err(not_supported());
    }
    for value in condition_values(cond) {
        check_key_condition_value(attr, value)?;
    }
    // Only legacy KeyConditions get here: a KeyConditionExpression's begins_with with a
    // number was refused with its operand (`expr::resolve`).
    if matches!(cond, SortKeyCondition::BeginsWith(_)) && attr.ty == ScalarType::N {
        return Err(ApiError::invalid_parameter(
            "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type",
        ));
    }
    for value in condition_values(cond) {
        check_key_size(value, is_hash)?;
    }
    Ok(())
}

/// Matches the clauses to the key schema (dynalite's order: the partition key, then the
/// sort key).
pub fn match_schema(
    schema: &KeySchema,
    parts: &[(String, SortKeyCondition)],
) -> Result<KeyPlan, ApiError> {
    // More conditions than a key has attributes: DynamoDB's count (the dynamodb-conformance
    // suite's capture, three on a two-attribute key). Two on a partition key alone are
    // "not supported" instead (below).
    if parts.len() > schema.len().max(2) {
        return Err(ApiError::validation(format!(
            "The number of query conditions ({}) exceeds the number of key attributes defined in the schema ({})",
            parts.len(),
            schema.len()
        )));
    }
    if schema.is_multi_attribute() {
        return match_multi_attribute(schema, parts);
    }
    let find = |name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, p)| p);
    if schema.range.is_none() && parts.len() > 1 {
        return Err(not_supported());
    }
    let hash = match find(&schema.hash.name) {
        None => return Err(missed(&schema.hash.name)),
        Some(cond) => {
            check_clause(&schema.hash, cond, true)?;
            condition_values(cond)[0].clone()
        }
    };
    let mut range = None;
    if let Some(attr) = &schema.range {
        match find(&attr.name) {
            None if parts.len() > 1 => return Err(missed(&attr.name)),
            None => {}
            Some(cond) => {
                check_clause(attr, cond, false)?;
                range = Some(sort_range(cond));
            }
        }
    }
    Ok(KeyPlan { hash, range })
}

/// [`match_schema`] for a multi-attribute key: an equality on every HASH attribute (in
/// key-schema order, the first missing one reported), then the RANGE attributes named
/// without a gap, all but the last with equalities.
fn match_multi_attribute(
    schema: &KeySchema,
    parts: &[(String, SortKeyCondition)],
) -> Result<KeyPlan, ApiError> {
    let find = |name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, p)| p);
    let mut hash = Vec::new();
    for attr in schema.hash_attributes() {
        let cond = find(&attr.name).ok_or_else(|| missed(&attr.name))?;
        check_clause(attr, cond, true)?;
        hash.extend(condition_values(cond));
    }
    let ranges: Vec<(&KeyAttr, Option<&SortKeyCondition>)> = schema
        .range_attributes()
        .map(|attr| (attr, find(&attr.name)))
        .collect();
    if parts.iter().any(|(name, _)| !schema.is_key_attr(name)) {
        return Err(match ranges.iter().find(|(_, cond)| cond.is_none()) {
            Some((attr, _)) => missed(&attr.name),
            None => not_supported(),
        });
    }
    for (attr, cond) in &ranges {
        if let Some(cond) = cond {
            check_clause(attr, cond, false)?;
        }
    }
    check_range_prefix(&ranges)?;
    let named = ranges.iter().take_while(|(_, cond)| cond.is_some()).count();
    let mut equal = Vec::new();
    for (_, cond) in &ranges[..named.saturating_sub(1)] {
        if let Some(SortKeyCondition::Eq(value)) = cond {
            encode_scalar(value, &mut equal);
        }
    }
    let last = named.checked_sub(1).and_then(|i| ranges[i].1);
    let range = match schema.more_range.is_empty() {
        // One RANGE attribute: its values are the sort key's own.
        true => last.map(sort_range),
        false => composite_range(equal, last),
    };
    Ok(KeyPlan {
        hash: composite_key(hash),
        range,
    })
}

/// Every RANGE attribute before the last one named needs an equality: DynamoDB names the
/// ones that lack it and the first attribute whose condition needs them (the
/// dynamodb-conformance suite's captures, tier1/query/multiAttributeGsiKey.test.ts).
fn check_range_prefix(ranges: &[(&KeyAttr, Option<&SortKeyCondition>)]) -> Result<(), ApiError> {
    for (later, (attr, cond)) in ranges.iter().enumerate() {
        if cond.is_none() {
            continue;
        }
        let lacking: Vec<&str> = ranges[..later]
            .iter()
            .filter(|(_, c)| !matches!(c, Some(SortKeyCondition::Eq(_))))
            .map(|(a, _)| a.name.as_str())
            .collect();
        if !lacking.is_empty() {
            return Err(ApiError::validation(format!(
                "RANGE key attributes {} must have equality conditions specified in the query because a condition is present on key attribute {}",
                lacking.join(", "),
                attr.name
            )));
        }
    }
    Ok(())
}

/// The composite sort values selected by equalities whose encodings are `equal` followed
/// by `last` on the next attribute. Everything is a byte range of the composite (a binary
/// value): "starts with X" is `[X, successor(X))`, and one attribute's `< v` after the
/// equalities is `[equal, equal + enc(v))`, because encodings are self-delimiting and
/// order-preserving. `None` when nothing narrows the partition.
fn composite_range(equal: Vec<u8>, last: Option<&SortKeyCondition>) -> Option<SortRange> {
    let bytes = |b: Vec<u8>| AttributeValue::B(b);
    let with = |value: &AttributeValue| {
        let mut key = equal.clone();
        encode_scalar(value, &mut key);
        key
    };
    // The first composite after every one that starts with `prefix`.
    let after = |prefix: &[u8]| match prefix_successor(prefix) {
        Some(next) => Bound::Excluded(bytes(next)),
        None => Bound::Unbounded,
    };
    let all_equal = || -> (Bound<AttributeValue>, Bound<AttributeValue>) {
        if equal.is_empty() {
            (Bound::Unbounded, Bound::Unbounded)
        } else {
            (Bound::Included(bytes(equal.clone())), after(&equal))
        }
    };
    let (lower, upper) = match last {
        None if equal.is_empty() => return None,
        None => all_equal(),
        Some(SortKeyCondition::Eq(v)) => {
            let key = with(v);
            (Bound::Included(bytes(key.clone())), after(&key))
        }
        Some(SortKeyCondition::Lt(v)) => (all_equal().0, Bound::Excluded(bytes(with(v)))),
        Some(SortKeyCondition::Le(v)) => (all_equal().0, after(&with(v))),
        Some(SortKeyCondition::Gt(v)) => (excluded_to_included(after(&with(v))), all_equal().1),
        Some(SortKeyCondition::Ge(v)) => (Bound::Included(bytes(with(v))), all_equal().1),
        Some(SortKeyCondition::Between(lo, hi)) => {
            (Bound::Included(bytes(with(lo))), after(&with(hi)))
        }
        Some(SortKeyCondition::BeginsWith(p)) => {
            let mut key = equal.clone();
            encode_prefix(p, &mut key);
            (Bound::Included(bytes(key.clone())), after(&key))
        }
    };
    Some(SortRange {
        lower,
        upper,
        prefix: None,
    })
}

/// An exclusive upper bound read as the inclusive lower bound of what follows it.
fn excluded_to_included(bound: Bound<AttributeValue>) -> Bound<AttributeValue> {
    match bound {
        Bound::Excluded(value) => Bound::Included(value),
        other => other,
    }
}

/// The start key must lie inside what the key condition selects.
pub fn check_start_key(plan: &KeyPlan, start: &PrimaryKey) -> Result<(), ApiError> {
    let same_partition = start.hash.scalar_cmp(&plan.hash) == Some(Ordering::Equal);
    match (&plan.range, &start.range) {
        (Some(range), Some(sort)) => {
            if !range.contains(sort) {
                return Err(ApiError::validation(
                    "The provided starting key does not match the range key predicate",
                ));
            }
            if !same_partition {
                return Err(ApiError::validation(
                    "The query can return at most one row and cannot be restarted",
                ));
            }
        }
        _ => {
            if !same_partition {
                return Err(ApiError::validation(
                    "The provided starting key is outside query boundaries based on provided conditions",
                ));
            }
        }
    }
    Ok(())
}

/// The storage range for a condition on a one-attribute sort key.
pub fn sort_range(cond: &SortKeyCondition) -> SortRange {
    let mut range = SortRange::all();
    match cond {
        SortKeyCondition::Eq(v) => {
            range.lower = Bound::Included(v.clone());
            range.upper = Bound::Included(v.clone());
        }
        SortKeyCondition::Lt(v) => range.upper = Bound::Excluded(v.clone()),
        SortKeyCondition::Le(v) => range.upper = Bound::Included(v.clone()),
        SortKeyCondition::Gt(v) => range.lower = Bound::Excluded(v.clone()),
        SortKeyCondition::Ge(v) => range.lower = Bound::Included(v.clone()),
        SortKeyCondition::Between(lo, hi) => {
            range.lower = Bound::Included(lo.clone());
            range.upper = Bound::Included(hi.clone());
        }
        SortKeyCondition::BeginsWith(p) => range.prefix = Some(p.clone()),
    }
    range
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::expr::{self, Substitutions};
    use shared::model::Number;

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(v).unwrap())
    }

    fn schema(range: Option<ScalarType>) -> KeySchema {
        KeySchema::new(
            KeyAttr {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            range.map(|ty| KeyAttr {
                name: "sk".into(),
                ty,
            }),
        )
    }

    fn eq(name: &str, v: AttributeValue) -> (String, SortKeyCondition) {
        (name.into(), SortKeyCondition::Eq(v))
    }

    fn msg(r: Result<KeyPlan, ApiError>) -> String {
        r.unwrap_err().message.unwrap_or_default()
    }

    #[test]
    fn partition_key_may_come_second() {
        let parts = vec![eq("sk", s("0")), eq("pk", s("p"))];
        let plan = match_schema(&schema(Some(ScalarType::S)), &parts).unwrap();
        assert_eq!(
            plan,
            KeyPlan {
                hash: s("p"),
                range: Some(sort_range(&SortKeyCondition::Eq(s("0"))))
            }
        );
    }

    #[test]
    fn schema_mismatches_have_dynamodb_messages() {
        let sn = schema(Some(ScalarType::N));
        assert_eq!(
            msg(match_schema(&sn, &[eq("sk", s("1"))])),
            "Query condition missed key schema element: pk"
        );
        assert_eq!(
            msg(match_schema(&sn, &[eq("pk", s("a")), eq("v", s("1"))])),
            "Query condition missed key schema element: sk"
        );
        assert_eq!(
            msg(match_schema(&sn, &[eq("pk", s("a")), eq("sk", s("1"))])),
            "One or more parameter values were invalid: Condition parameter type does not match schema type"
        );
        assert_eq!(
            msg(match_schema(
                &sn,
                &[eq("pk", s("a")), eq("sk", s("1")), eq("extra", s("b"))])),
            "The number of query conditions (3) exceeds the number of key attributes defined in the schema (2)"
        );
        let lt = vec![("pk".to_string(), SortKeyCondition::Lt(s("a")))];
        assert_eq!(
            msg(match_schema(&sn, &lt)),
            "Query key condition not supported"
        );
        let hash_only = schema(None);
        assert_eq!(
            msg(match_schema(
                &hash_only,
                &[eq("pk", s("a")), eq("sk", s("1"))]
            )),
            "Query key condition not supported"
        );
    }

    #[test]
    fn empty_partition_key_value_is_rejected() {
        assert_eq!(
            msg(match_schema(&schema(None), &[eq("pk", s(""))])),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"
        );
    }

    #[test]
    fn empty_sort_key_values_are_rejected() {
        let empty_string = "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: sk";
        for cond in [
            SortKeyCondition::Eq(s("")),
            SortKeyCondition::Lt(s("")),
            SortKeyCondition::BeginsWith(s("")),
            SortKeyCondition::Between(s(""), s("b")),
        ] {
            let parts = vec![eq("pk", s("a")), ("sk".into(), cond)];
            assert_eq!(
                msg(match_schema(&schema(Some(ScalarType::S)), &parts)),
                empty_string
            );
        }
        let parts = vec![
            eq("pk", s("a")),
            (
                "sk".into(),
                SortKeyCondition::Ge(AttributeValue::B(Vec::new())),
            ),
        ];
        assert_eq!(
            msg(match_schema(&schema(Some(ScalarType::B)), &parts)),
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: sk"
        );
    }

    #[test]
    fn begins_with_on_a_number_sort_key_is_rejected() {
        let parts = vec![
            eq("pk", s("a")),
            ("sk".into(), SortKeyCondition::BeginsWith(n("1"))),
        ];
        assert!(match_schema(&schema(Some(ScalarType::N)), &parts).is_err());
        let parts = vec![
            eq("pk", s("a")),
            ("sk".into(), SortKeyCondition::BeginsWith(s("a"))),
        ];
        assert!(match_schema(&schema(Some(ScalarType::S)), &parts).is_ok());
    }

    fn parse_and_match(text: &str, values: &[(&str, AttributeValue)]) -> Result<KeyPlan, ApiError> {
        let values: std::collections::HashMap<String, AttributeValue> = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let subs = Substitutions::new(None, Some(&values));
        let parts = expr::parse_key_condition_parts(text, &subs)?;
        match_schema(&schema(Some(ScalarType::N)), &parts)
    }

    #[test]
    fn parsed_key_conditions_match_the_schema() {
        let plan =
            parse_and_match("sk = :b AND pk = :p", &[(":p", s("x")), (":b", n("0"))]).unwrap();
        assert_eq!(
            plan,
            KeyPlan {
                hash: s("x"),
                range: Some(sort_range(&SortKeyCondition::Eq(n("0"))))
            }
        );
        assert_eq!(
            msg(parse_and_match("pk < :p", &[(":p", s("x"))])),
            "Query key condition not supported"
        );
        assert_eq!(
            msg(parse_and_match("pk = :p AND sk = :s", &[(":p", s("x")), (":s", s("1"))])),
            "One or more parameter values were invalid: Condition parameter type does not match schema type"
        );
        assert!(parse_and_match(
            "pk = :p AND sk BETWEEN :a AND :b",
            &[(":p", s("x")), (":a", n("10")), (":b", n("1"))]
        )
        .is_err());
        assert!(parse_and_match(
            "pk = :p AND begins_with(sk, :a)",
            &[(":p", s("x")), (":a", n("1"))]
        )
        .is_err());
        assert!(parse_and_match(
            "pk = :p AND sk > :a AND sk < :b",
            &[(":p", s("x")), (":a", n("1")), (":b", n("5"))]
        )
        .is_err());
    }

    /// tier3/error-messages/queryKeyConditionOperands.test.ts: an operand no key type
    /// could satisfy is an expression error; a key type that is not the attribute's fails
    /// the schema check.
    #[test]
    fn key_condition_operand_types_have_dynamodb_messages() {
        let operand = |op: &str, ty: &str| {
            format!("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: {op}, operand type: {ty}")
        };
        let schema_mismatch = "One or more parameter values were invalid: Condition parameter type does not match schema type";
        let yes = AttributeValue::Bool(true);
        let no = AttributeValue::Bool(false);
        let cases = [
            (
                "pk = :p AND begins_with(sk, :v)",
                n("1"),
                operand("begins_with", "N"),
            ),
            (
                "pk = :p AND begins_with(sk, :v)",
                s("a"),
                schema_mismatch.to_string(),
            ),
            ("pk = :p AND sk < :v", yes.clone(), operand("<", "BOOL")),
            ("pk = :p AND :v >= sk", yes.clone(), operand(">=", "BOOL")),
            (
                "pk = :p AND sk BETWEEN :v AND :w",
                no,
                operand("BETWEEN", "BOOL"),
            ),
            (
                "pk = :p AND sk = :v",
                yes.clone(),
                schema_mismatch.to_string(),
            ),
        ];
        for (text, value, want) in cases {
            let values = [(":p", s("q")), (":v", value), (":w", yes.clone())];
            assert_eq!(msg(parse_and_match(text, &values)), want, "{text}");
        }
    }

    /// tier3/validation-ordering/queryKeyCondition.test.ts: the clauses are checked in the
    /// order written, an undefined value and a bad operand alike.
    #[test]
    fn key_condition_reports_the_first_problem_written() {
        let undefined = "Invalid KeyConditionExpression: An expression attribute value used in expression is not defined; attribute value: :missing";
        let operand = "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N";
        let values = [(":p", s("q")), (":n", n("1")), (":s", n("2"))];
        for (text, want) in [
            ("pk = :missing AND begins_with(sk, :n)", undefined),
            ("begins_with(sk, :n) AND pk = :missing", operand),
            ("pk = :p AND begins_with(sk, :n) AND sk = :missing", operand),
            ("pk = :p AND begins_with(sk, :n) AND sk > :s", operand),
        ] {
            assert_eq!(msg(parse_and_match(text, &values)), want, "{text}");
        }
    }

    #[test]
    fn legacy_key_conditions_match_the_schema() {
        use shared::wire::ops::query::Condition;
        let mut conds = std::collections::HashMap::new();
        conds.insert(
            "pk".to_string(),
            Condition {
                comparison_operator: Some("EQ".into()),
                attribute_value_list: Some(vec![s("a")]),
            },
        );
        conds.insert(
            "sk".to_string(),
            Condition {
                comparison_operator: Some("BETWEEN".into()),
                attribute_value_list: Some(vec![n("1"), n("5")]),
            },
        );
        let parts = expr::legacy::key_conditions(&conds).unwrap();
        let plan = match_schema(&schema(Some(ScalarType::N)), &parts).unwrap();
        assert_eq!(
            plan.range,
            Some(sort_range(&SortKeyCondition::Between(n("1"), n("5"))))
        );
    }

    #[test]
    fn start_key_must_match_the_condition() {
        let plan = KeyPlan {
            hash: s("p"),
            range: Some(sort_range(&SortKeyCondition::Gt(n("5")))),
        };
        let ok = PrimaryKey {
            hash: s("p"),
            range: Some(n("6")),
        };
        assert!(check_start_key(&plan, &ok).is_ok());
        let below = PrimaryKey {
            hash: s("p"),
            range: Some(n("5")),
        };
        assert_eq!(
            check_start_key(&plan, &below)
                .unwrap_err()
                .message
                .as_deref(),
            Some("The provided starting key does not match the range key predicate")
        );
        let other = KeyPlan {
            hash: s("q"),
            range: None,
        };
        assert_eq!(
            check_start_key(&other, &ok).unwrap_err().message.as_deref(),
            Some("The provided starting key is outside query boundaries based on provided conditions")
        );
    }

    #[test]
    fn sort_ranges() {
        let r = sort_range(&SortKeyCondition::Between(n("1"), n("2")));
        assert_eq!(
            (r.lower, r.upper),
            (Bound::Included(n("1")), Bound::Included(n("2")))
        );
        let r = sort_range(&SortKeyCondition::Lt(n("1")));
        assert_eq!(
            (r.lower, r.upper),
            (Bound::Unbounded, Bound::Excluded(n("1")))
        );
        let r = sort_range(&SortKeyCondition::BeginsWith(s("a")));
        assert_eq!(r.prefix, Some(s("a")));
    }
    /// g HASH; a (S), n (N) RANGE: a GSI's multi-attribute key.
    fn multi() -> KeySchema {
        let attr = |name: &str, ty| KeyAttr {
            name: name.into(),
            ty,
        };
        KeySchema {
            hash: attr("g", ScalarType::S),
            range: Some(attr("a", ScalarType::S)),
            more_hash: vec![attr("g2", ScalarType::S)],
            more_range: vec![attr("n", ScalarType::N)],
        }
    }

    fn cond(name: &str, c: SortKeyCondition) -> (String, SortKeyCondition) {
        (name.into(), c)
    }

    #[test]
    fn multi_attribute_keys_need_every_partition_attribute_and_range_attributes_in_order() {
        let m = multi();
        let hash = [eq("g", s("x")), eq("g2", s("y"))];
        assert_eq!(
            msg(match_schema(&m, &hash[..1])),
            "Query condition missed key schema element: g2"
        );
        let unequal = [eq("g", s("x")), cond("g2", SortKeyCondition::Gt(s("y")))];
        assert_eq!(
            msg(match_schema(&m, &unequal)),
            "Query key condition not supported"
        );
        let gap = [hash[0].clone(), hash[1].clone(), eq("n", n("1"))];
        assert_eq!(
            msg(match_schema(&m, &gap)),
            "RANGE key attributes a must have equality conditions specified in the query because a condition is present on key attribute n"
        );
        let early_range = [
            hash[0].clone(),
            hash[1].clone(),
            cond("a", SortKeyCondition::Gt(s("k"))),
            eq("n", n("1")),
        ];
        assert_eq!(
            msg(match_schema(&m, &early_range)),
            msg(match_schema(&m, &gap))
        );
        let mistyped = [
            hash[0].clone(),
            hash[1].clone(),
            eq("a", s("k")),
            eq("n", s("1")),
        ];
        assert_eq!(
            msg(match_schema(&m, &mistyped)),
            "One or more parameter values were invalid: Condition parameter type does not match schema type"
        );
        let plan = match_schema(&m, &hash).unwrap();
        assert_eq!(plan.hash, composite_key([&s("x"), &s("y")]));
        assert_eq!(plan.range, None);
    }

    /// Which composite sort values (`a`, `n`) a plan's range holds.
    fn selects(parts: &[(String, SortKeyCondition)], a: &str, number: &str) -> bool {
        let mut all = vec![eq("g", s("x")), eq("g2", s("y"))];
        all.extend_from_slice(parts);
        let plan = match_schema(&multi(), &all).unwrap();
        let value = composite_key([&s(a), &n(number)]);
        plan.range.is_none_or(|range| range.contains(&value))
    }

    #[test]
    fn multi_attribute_sort_conditions_select_composite_ranges() {
        let a = |v: &str| eq("a", s(v));
        let on_n = |c: SortKeyCondition| cond("n", c);
        // An equality on the first attribute: every value of the second.
        assert!(selects(&[a("k")], "k", "-5") && selects(&[a("k")], "k", "7"));
        assert!(!selects(&[a("k")], "ka", "1") && !selects(&[a("k")], "j", "1"));
        // A range on the first attribute alone.
        let below = [cond("a", SortKeyCondition::Lt(s("k")))];
        assert!(selects(&below, "j", "99") && !selects(&below, "k", "-99"));
        let prefix = [cond("a", SortKeyCondition::BeginsWith(s("k")))];
        assert!(selects(&prefix, "kz", "1") && !selects(&prefix, "l", "1"));
        // Conditions on the second after an equality on the first, numbers by value.
        let cases = [
            (
                SortKeyCondition::Eq(n("10")),
                ["10"].as_slice(),
                ["9", "100"].as_slice(),
            ),
            (SortKeyCondition::Lt(n("10")), &["9", "-1"], &["10", "11"]),
            (SortKeyCondition::Le(n("10")), &["10", "9"], &["10.5"]),
            (
                SortKeyCondition::Gt(n("10")),
                &["10.5", "100"],
                &["10", "9"],
            ),
            (SortKeyCondition::Ge(n("10")), &["10", "11"], &["9.99"]),
            (
                SortKeyCondition::Between(n("-1"), n("1")),
                &["-1", "0", "1"],
                &["2", "-2"],
            ),
        ];
        for (c, inside, outside) in cases {
            let parts = [a("k"), on_n(c.clone())];
            for v in inside {
                assert!(selects(&parts, "k", v), "{c:?} should hold {v}");
                assert!(!selects(&parts, "kk", v) && !selects(&parts, "j", v));
            }
            for v in outside {
                assert!(!selects(&parts, "k", v), "{c:?} should not hold {v}");
            }
        }
    }
}
