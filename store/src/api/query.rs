//! Query: the items of one partition, optionally narrowed by a sort-key condition, in
//! sort-key order (or reverse), one page at a time.
//!
//! Checks run in DynamoDB's order (as dynalite reproduces it): request-model constraints,
//! Select rules, expression-parameter usage, AttributesToGet duplicates, presence of a key
//! condition, the expressions themselves (key condition, filter, projection) and unused
//! substitutions; then the table lookup, the index, the start key's shape, the key
//! condition against the key schema, the start key against the condition, and the rule
//! that a Query filter may not name a key attribute. Only then is storage read.
//!
//! The key condition is matched to the schema here, not in the parser: the parser cannot
//! know which attribute is the partition key (`sk = :b AND pk = :p` is valid), so both of
//! its conditions are treated alike and looked up by the schema's names.
//!
//! Not here: index reads (an `IndexName` is an unknown index until the catalog exposes
//! index definitions), and the legacy QueryFilter (needs `shared::expr::legacy`).

use std::ops::Bound;

use shared::expr::{self, KeyCondition, SortKeyCondition, Substitutions};
use shared::model::{AttributeValue, KeySchema, PrimaryKey, ScalarType};
use shared::wire::error::ApiError;
use shared::wire::ops::common::ReturnConsumedCapacity;
use shared::wire::ops::query::{Condition as LegacyCondition, QueryInput, QueryOutput};

use super::read_page::{
    self, Constraints, PagePlan, ProjectionSpec, ReadExpressions, ReadOp, Select,
};
use crate::app::App;
use crate::storage::SortRange;

/// One condition of a key condition, before it is matched to the schema.
#[derive(Debug, Clone, PartialEq)]
enum KeyPart {
    /// A condition a key range can serve.
    Indexable(SortKeyCondition),
    /// A legacy operator no key range can serve (NE, IN, CONTAINS, NULL, ...).
    NotIndexable,
}

/// Whether the condition came from KeyConditionExpression or legacy KeyConditions (a few
/// messages differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Expression,
    Legacy,
}

/// The key condition matched to the schema: partition key value and sort-key condition.
#[derive(Debug, Clone, PartialEq)]
struct KeyPlan {
    hash: AttributeValue,
    range: Option<SortKeyCondition>,
}

pub async fn handle(app: &App, input: QueryInput) -> Result<QueryOutput, ApiError> {
    check_constraints(&input)?;
    let attributes_to_get = input.attributes_to_get.as_deref();
    let projection_param =
        read_page::projection_param(input.projection_expression.as_deref(), attributes_to_get);
    let select = read_page::resolve_select(
        ReadOp::Query,
        input.select.as_deref(),
        projection_param,
        input.index_name.is_some(),
    )?;
    let names = input.expression_attribute_names.as_ref();
    let values = input.expression_attribute_values.as_ref().map(|v| &v.0);
    expr::check_parameter_usage(
        &[
            (
                "ProjectionExpression",
                input.projection_expression.is_some(),
            ),
            ("FilterExpression", input.filter_expression.is_some()),
            (
                "KeyConditionExpression",
                input.key_condition_expression.is_some(),
            ),
        ],
        &[
            ("AttributesToGet", input.attributes_to_get.is_some()),
            ("QueryFilter", input.query_filter.is_some()),
            ("ConditionalOperator", input.conditional_operator.is_some()),
            ("KeyConditions", input.key_conditions.is_some()),
        ],
        names,
        values,
        &[
            ("FilterExpression", input.filter_expression.is_some()),
            (
                "KeyConditionExpression",
                input.key_condition_expression.is_some(),
            ),
        ],
    )?;
    read_page::check_attributes_to_get(attributes_to_get)?;
    if input.query_filter.is_some() {
        // The legacy filter needs the legacy translation in shared::expr, not built yet.
        return Err(ApiError::validation(
            "QueryFilter is not supported; use FilterExpression",
        ));
    }

    let (parts, source, exprs) = match (&input.key_condition_expression, &input.key_conditions) {
        (Some(text), _) => {
            let subs = Substitutions::new(names, values);
            let kc = expr::parse_key_condition(text, &subs)?;
            let exprs = read_page::parse_read_expressions(
                input.filter_expression.as_deref(),
                input.projection_expression.as_deref(),
                attributes_to_get,
                &subs,
            )?;
            subs.check_all_used()?;
            (expression_parts(kc)?, Source::Expression, exprs)
        }
        (None, Some(conditions)) => {
            // Legacy parameters cannot be mixed with expressions (checked above), so the
            // only projection here is AttributesToGet.
            let projection = attributes_to_get.map(|names| ProjectionSpec::Names(names.to_vec()));
            (legacy_parts(conditions)?, Source::Legacy, ReadExpressions { filter: None, projection })
        }
        (None, None) => {
            return Err(ApiError::validation(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
            ))
        }
    };

    let table_name = input.table_name.as_deref().unwrap_or_default();
    let table = app.catalog.table_for_data(table_name)?;
    if let Some(index) = &input.index_name {
        return Err(read_page::unknown_index(index));
    }
    let schema = &table.layout.schema;

    let start = match &input.exclusive_start_key {
        Some(start) => Some(read_page::table_start_key(
            schema,
            start,
            "The provided starting key is invalid",
            false,
        )?),
        None => None,
    };
    let plan = match_schema(schema, &parts, source)?;
    if let Some(start) = &start {
        check_start_key(&plan, start)?;
    }
    if let Some(filter) = &exprs.filter {
        let used = filter.top_level_attributes();
        for key in key_names(schema) {
            if used.iter().any(|a| *a == key) {
                return Err(ApiError::validation(format!(
                    "Filter Expression can only contain non-primary key attributes: Primary key attribute: {key}"
                )));
            }
        }
    }

    let capacity_mode = ReturnConsumedCapacity::parse(input.return_consumed_capacity.as_deref())?;
    let consistent = input.consistent_read.unwrap_or(false);
    let forward = input.scan_index_forward.unwrap_or(true);
    let range = sort_range(plan.range.as_ref());
    let names = key_names(schema);
    let page_plan = PagePlan {
        limit: read_page::limit_of(input.limit),
        key_names: &names,
        filter: exprs.filter.as_ref(),
        projection: exprs.projection.as_ref(),
        count_only: select == Select::Count,
    };
    let layout = &table.layout;
    let page = app
        .storage
        .query(layout, &plan.hash, &range, forward, start.as_ref())
        .and_then(|items| read_page::read_page(items, &page_plan))
        .map_err(|e| read_page::storage_failure(ReadOp::Query, &layout.name, e))?;

    Ok(QueryOutput {
        consumed_capacity: read_page::consumed(
            &layout.name,
            page.bytes_read,
            consistent,
            capacity_mode,
        ),
        items: page.items,
        count: page.count,
        scanned_count: page.scanned_count,
        last_evaluated_key: page.last_evaluated_key,
    })
}

/// Request-model constraints, in the order DynamoDB reports them.
fn check_constraints(input: &QueryInput) -> Result<(), ApiError> {
    let mut c = Constraints::default();
    c.enumeration("select", input.select.as_deref(), read_page::SELECT_VALUES);
    c.index_name("indexName", input.index_name.as_deref());
    c.enumeration(
        "returnConsumedCapacity",
        input.return_consumed_capacity.as_deref(),
        read_page::CAPACITY_VALUES,
    );
    c.legacy_conditions("queryFilter", input.query_filter.as_ref());
    c.table_name("tableName", input.table_name.as_deref());
    c.enumeration(
        "conditionalOperator",
        input.conditional_operator.as_deref(),
        read_page::CONDITIONAL_OPERATOR_VALUES,
    );
    c.list_length(
        "attributesToGet",
        input.attributes_to_get.as_deref(),
        1,
        255,
    );
    c.at_least("limit", input.limit, 1);
    c.legacy_conditions("keyConditions", input.key_conditions.as_ref());
    c.finish()
}

fn key_names(schema: &KeySchema) -> Vec<String> {
    let mut names = vec![schema.hash.name.clone()];
    if let Some(range) = &schema.range {
        names.push(range.name.clone());
    }
    names
}

/// The parsed KeyConditionExpression as a list of per-attribute conditions.
fn expression_parts(kc: KeyCondition) -> Result<Vec<(String, KeyPart)>, ApiError> {
    let mut parts = vec![(
        kc.hash_name,
        KeyPart::Indexable(SortKeyCondition::Eq(kc.hash_value)),
    )];
    if let Some((name, cond)) = kc.range {
        if parts[0].0 == name {
            return Err(ApiError::validation(
                "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
            ));
        }
        if let SortKeyCondition::Between(lo, hi) = &cond {
            check_between(lo, hi, Source::Expression)?;
        }
        parts.push((name, KeyPart::Indexable(cond)));
    }
    Ok(parts)
}

/// Legacy KeyConditions: each condition's argument count and types, then 1 or 2 conditions.
fn legacy_parts(
    conditions: &std::collections::HashMap<String, LegacyCondition>,
) -> Result<Vec<(String, KeyPart)>, ApiError> {
    let mut names: Vec<&String> = conditions.keys().collect();
    names.sort();
    let mut parts = Vec::new();
    for name in names {
        let Some(condition) = conditions.get(name) else {
            continue;
        };
        let op = condition.comparison_operator.as_deref().unwrap_or_default();
        let args: &[AttributeValue] = condition.attribute_value_list.as_deref().unwrap_or(&[]);
        let arity_ok = match op {
            "NULL" | "NOT_NULL" => args.is_empty(),
            "IN" => !args.is_empty(),
            "BETWEEN" => args.len() == 2,
            _ => args.len() == 1,
        };
        if !arity_ok {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid number of argument(s) for the {op} ComparisonOperator"
            )));
        }
        if let Some(first) = args.first() {
            if args.iter().any(|a| a.type_name() != first.type_name()) {
                return Err(ApiError::invalid_parameter(
                    "AttributeValues inside AttributeValueList must be of same type",
                ));
            }
        }
        let allowed: &[&str] = match op {
            "EQ" | "NE" => &["S", "N", "B", "SS", "NS", "BS"],
            "BEGINS_WITH" => &["S", "B"],
            "NULL" | "NOT_NULL" => &[],
            _ => &["S", "N", "B"],
        };
        if let Some(bad) = args.iter().find(|a| !allowed.contains(&a.type_name())) {
            return Err(ApiError::invalid_parameter(format!(
                "ComparisonOperator {op} is not valid for {} AttributeValue type",
                bad.type_name()
            )));
        }
        let arg = |i: usize| args.get(i).cloned().unwrap_or(AttributeValue::Null);
        let part = match op {
            "EQ" => KeyPart::Indexable(SortKeyCondition::Eq(arg(0))),
            "LT" => KeyPart::Indexable(SortKeyCondition::Lt(arg(0))),
            "LE" => KeyPart::Indexable(SortKeyCondition::Le(arg(0))),
            "GT" => KeyPart::Indexable(SortKeyCondition::Gt(arg(0))),
            "GE" => KeyPart::Indexable(SortKeyCondition::Ge(arg(0))),
            "BEGINS_WITH" => KeyPart::Indexable(SortKeyCondition::BeginsWith(arg(0))),
            "BETWEEN" => {
                check_between(&arg(0), &arg(1), Source::Legacy)?;
                KeyPart::Indexable(SortKeyCondition::Between(arg(0), arg(1)))
            }
            _ => KeyPart::NotIndexable,
        };
        parts.push((name.clone(), part));
    }
    if parts.is_empty() || parts.len() > 2 {
        return Err(ApiError::validation(
            "Conditions can be of length 1 or 2 only",
        ));
    }
    Ok(parts)
}

/// BETWEEN needs lower ≤ upper (and one type).
fn check_between(lo: &AttributeValue, hi: &AttributeValue, source: Source) -> Result<(), ApiError> {
    match (lo.scalar_cmp(hi), source) {
        (Some(std::cmp::Ordering::Greater), Source::Legacy) => Err(ApiError::validation(
            "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
        )),
        (Some(std::cmp::Ordering::Greater), Source::Expression) => Err(ApiError::validation(format!(
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
            operand_text(lo),
            operand_text(hi)
        ))),
        (None, Source::Expression) => Err(ApiError::validation(format!(
            "Invalid KeyConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {}, upper bound operand: AttributeValue: {}",
            operand_text(lo),
            operand_text(hi)
        ))),
        _ => Ok(()),
    }
}

/// `{N:5}`, as DynamoDB prints an operand in BETWEEN messages.
fn operand_text(value: &AttributeValue) -> String {
    use base64::Engine as _;
    match value {
        AttributeValue::S(s) => format!("{{S:{s}}}"),
        AttributeValue::N(n) => format!("{{N:{}}}", n.as_str()),
        AttributeValue::B(b) => format!(
            "{{B:{}}}",
            base64::engine::general_purpose::STANDARD.encode(b)
        ),
        other => format!("{{{}}}", other.type_name()),
    }
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

/// Matches the conditions to the key schema (dynalite's order: the partition key, then the
/// sort key).
fn match_schema(
    schema: &KeySchema,
    parts: &[(String, KeyPart)],
    source: Source,
) -> Result<KeyPlan, ApiError> {
    let find = |name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, p)| p);
    let type_mismatch =
        || ApiError::invalid_parameter("Condition parameter type does not match schema type");
    let not_supported = || ApiError::validation("Query key condition not supported");
    let missed = |name: &str| {
        ApiError::validation(format!("Query condition missed key schema element: {name}"))
    };
    let not_indexable =
        || ApiError::validation("Attempted conditional constraint is not an indexable operation");

    if schema.range.is_none() && parts.len() > 1 {
        return Err(not_supported());
    }
    let hash = match find(&schema.hash.name) {
        None => return Err(missed(&schema.hash.name)),
        Some(KeyPart::NotIndexable) => return Err(not_indexable()),
        Some(KeyPart::Indexable(cond)) => {
            if condition_values(cond)
                .iter()
                .any(|v| !scalar_matches(v, schema.hash.ty))
            {
                return Err(type_mismatch());
            }
            match cond {
                SortKeyCondition::Eq(v) => v.clone(),
                _ => return Err(not_supported()),
            }
        }
    };
    let mut range = None;
    if let Some(attr) = &schema.range {
        match find(&attr.name) {
            None if parts.len() > 1 => return Err(missed(&attr.name)),
            None => {}
            Some(KeyPart::NotIndexable) => return Err(not_indexable()),
            Some(KeyPart::Indexable(cond)) => {
                if condition_values(cond)
                    .iter()
                    .any(|v| !scalar_matches(v, attr.ty))
                {
                    return Err(type_mismatch());
                }
                if matches!(cond, SortKeyCondition::BeginsWith(_)) && attr.ty == ScalarType::N {
                    return Err(match source {
                        Source::Legacy => ApiError::invalid_parameter(
                            "ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type",
                        ),
                        Source::Expression => ApiError::validation(
                            "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N",
                        ),
                    });
                }
                range = Some(cond.clone());
            }
        }
    }
    Ok(KeyPlan { hash, range })
}

/// Whether a sort-key value satisfies the condition.
fn range_matches(cond: &SortKeyCondition, value: &AttributeValue) -> bool {
    use std::cmp::Ordering::*;
    let cmp = |bound: &AttributeValue| value.scalar_cmp(bound);
    match cond {
        SortKeyCondition::Eq(b) => cmp(b) == Some(Equal),
        SortKeyCondition::Lt(b) => cmp(b) == Some(Less),
        SortKeyCondition::Le(b) => matches!(cmp(b), Some(Less | Equal)),
        SortKeyCondition::Gt(b) => cmp(b) == Some(Greater),
        SortKeyCondition::Ge(b) => matches!(cmp(b), Some(Greater | Equal)),
        SortKeyCondition::Between(lo, hi) => {
            matches!(cmp(lo), Some(Greater | Equal)) && matches!(cmp(hi), Some(Less | Equal))
        }
        SortKeyCondition::BeginsWith(p) => match (value, p) {
            (AttributeValue::S(v), AttributeValue::S(p)) => v.starts_with(p.as_str()),
            (AttributeValue::B(v), AttributeValue::B(p)) => v.starts_with(p),
            _ => false,
        },
    }
}

/// The start key must lie inside what the key condition selects.
fn check_start_key(plan: &KeyPlan, start: &PrimaryKey) -> Result<(), ApiError> {
    let same_partition = start.hash.scalar_cmp(&plan.hash) == Some(std::cmp::Ordering::Equal);
    match (&plan.range, &start.range) {
        (Some(cond), Some(sort)) => {
            if !range_matches(cond, sort) {
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

/// The storage range for a sort-key condition.
fn sort_range(cond: Option<&SortKeyCondition>) -> SortRange {
    let mut range = SortRange::all();
    match cond {
        None => {}
        Some(SortKeyCondition::Eq(v)) => {
            range.lower = Bound::Included(v.clone());
            range.upper = Bound::Included(v.clone());
        }
        Some(SortKeyCondition::Lt(v)) => range.upper = Bound::Excluded(v.clone()),
        Some(SortKeyCondition::Le(v)) => range.upper = Bound::Included(v.clone()),
        Some(SortKeyCondition::Gt(v)) => range.lower = Bound::Excluded(v.clone()),
        Some(SortKeyCondition::Ge(v)) => range.lower = Bound::Included(v.clone()),
        Some(SortKeyCondition::Between(lo, hi)) => {
            range.lower = Bound::Included(lo.clone());
            range.upper = Bound::Included(hi.clone());
        }
        Some(SortKeyCondition::BeginsWith(p)) => range.prefix = Some(p.clone()),
    }
    range
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::{KeyAttr, Number};

    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }

    fn n(v: &str) -> AttributeValue {
        AttributeValue::N(Number::parse(v).unwrap())
    }

    fn schema(range: Option<ScalarType>) -> KeySchema {
        KeySchema {
            hash: KeyAttr {
                name: "pk".into(),
                ty: ScalarType::S,
            },
            range: range.map(|ty| KeyAttr {
                name: "sk".into(),
                ty,
            }),
        }
    }

    fn eq(name: &str, v: AttributeValue) -> (String, KeyPart) {
        (name.into(), KeyPart::Indexable(SortKeyCondition::Eq(v)))
    }

    fn msg(r: Result<KeyPlan, ApiError>) -> String {
        r.unwrap_err().message.unwrap_or_default()
    }

    #[test]
    fn partition_key_may_come_second() {
        let parts = vec![eq("sk", s("0")), eq("pk", s("p"))];
        let plan = match_schema(&schema(Some(ScalarType::S)), &parts, Source::Expression).unwrap();
        assert_eq!(
            plan,
            KeyPlan {
                hash: s("p"),
                range: Some(SortKeyCondition::Eq(s("0")))
            }
        );
    }

    #[test]
    fn schema_mismatches_have_dynamodb_messages() {
        let sn = schema(Some(ScalarType::N));
        assert_eq!(
            msg(match_schema(&sn, &[eq("sk", s("1"))], Source::Expression)),
            "Query condition missed key schema element: pk"
        );
        assert_eq!(
            msg(match_schema(
                &sn,
                &[eq("pk", s("a")), eq("v", s("1"))],
                Source::Expression
            )),
            "Query condition missed key schema element: sk"
        );
        assert_eq!(
            msg(match_schema(&sn, &[eq("pk", s("a")), eq("sk", s("1"))], Source::Expression)),
            "One or more parameter values were invalid: Condition parameter type does not match schema type"
        );
        let lt = vec![(
            "pk".to_string(),
            KeyPart::Indexable(SortKeyCondition::Lt(s("a"))),
        )];
        assert_eq!(
            msg(match_schema(&sn, &lt, Source::Expression)),
            "Query key condition not supported"
        );
        let hash_only = schema(None);
        assert_eq!(
            msg(match_schema(
                &hash_only,
                &[eq("pk", s("a")), eq("sk", s("1"))],
                Source::Expression
            )),
            "Query key condition not supported"
        );
        let ne = vec![("pk".to_string(), KeyPart::NotIndexable)];
        assert_eq!(
            msg(match_schema(&hash_only, &ne, Source::Legacy)),
            "Attempted conditional constraint is not an indexable operation"
        );
    }

    #[test]
    fn begins_with_on_a_number_sort_key_is_rejected() {
        let parts = vec![
            eq("pk", s("a")),
            (
                "sk".into(),
                KeyPart::Indexable(SortKeyCondition::BeginsWith(n("1"))),
            ),
        ];
        assert!(match_schema(&schema(Some(ScalarType::N)), &parts, Source::Expression).is_err());
        let parts = vec![
            eq("pk", s("a")),
            (
                "sk".into(),
                KeyPart::Indexable(SortKeyCondition::BeginsWith(s("a"))),
            ),
        ];
        assert!(match_schema(&schema(Some(ScalarType::S)), &parts, Source::Expression).is_ok());
    }

    #[test]
    fn reversed_between_is_rejected() {
        let kc = KeyCondition {
            hash_name: "pk".into(),
            hash_value: s("a"),
            range: Some(("sk".into(), SortKeyCondition::Between(n("10"), n("1")))),
        };
        assert_eq!(
            expression_parts(kc).unwrap_err().message.as_deref(),
            Some("Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:1}")
        );
    }

    #[test]
    fn legacy_key_conditions_translate_and_validate() {
        let mut conds = std::collections::HashMap::new();
        conds.insert(
            "pk".to_string(),
            LegacyCondition {
                comparison_operator: Some("EQ".into()),
                attribute_value_list: Some(vec![s("a")]),
            },
        );
        conds.insert(
            "sk".to_string(),
            LegacyCondition {
                comparison_operator: Some("BETWEEN".into()),
                attribute_value_list: Some(vec![n("1"), n("5")]),
            },
        );
        let parts = legacy_parts(&conds).unwrap();
        let plan = match_schema(&schema(Some(ScalarType::N)), &parts, Source::Legacy).unwrap();
        assert_eq!(plan.range, Some(SortKeyCondition::Between(n("1"), n("5"))));

        conds.insert(
            "sk".to_string(),
            LegacyCondition {
                comparison_operator: Some("EQ".into()),
                attribute_value_list: Some(vec![]),
            },
        );
        assert_eq!(
            legacy_parts(&conds).unwrap_err().message.as_deref(),
            Some("One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator")
        );
        conds.insert(
            "sk".to_string(),
            LegacyCondition {
                comparison_operator: Some("BEGINS_WITH".into()),
                attribute_value_list: Some(vec![n("1")]),
            },
        );
        assert_eq!(
            legacy_parts(&conds).unwrap_err().message.as_deref(),
            Some("One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type")
        );
        conds.insert(
            "sk".to_string(),
            LegacyCondition {
                comparison_operator: Some("NE".into()),
                attribute_value_list: Some(vec![n("1")]),
            },
        );
        let parts = legacy_parts(&conds).unwrap();
        assert_eq!(
            msg(match_schema(
                &schema(Some(ScalarType::N)),
                &parts,
                Source::Legacy
            )),
            "Attempted conditional constraint is not an indexable operation"
        );
    }

    #[test]
    fn start_key_must_match_the_condition() {
        let plan = KeyPlan {
            hash: s("p"),
            range: Some(SortKeyCondition::Gt(n("5"))),
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
        assert_eq!(sort_range(None), SortRange::all());
        let r = sort_range(Some(&SortKeyCondition::Between(n("1"), n("2"))));
        assert_eq!(
            (r.lower, r.upper),
            (Bound::Included(n("1")), Bound::Included(n("2")))
        );
        let r = sort_range(Some(&SortKeyCondition::Lt(n("1"))));
        assert_eq!(
            (r.lower, r.upper),
            (Bound::Unbounded, Bound::Excluded(n("1")))
        );
        let r = sort_range(Some(&SortKeyCondition::BeginsWith(s("a"))));
        assert_eq!(r.prefix, Some(s("a")));
    }
}
