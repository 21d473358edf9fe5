//! Tests of the public expression API: exact messages, evaluation tables, update
//! semantics, projections, key conditions, and a never-panics property.

use super::*;
use crate::model::Number;
use proptest::prelude::*;

fn n(v: &str) -> AttributeValue {
    AttributeValue::N(Number::parse(v).unwrap_or_else(|_| Number::zero()))
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn ss(v: &[&str]) -> AttributeValue {
    AttributeValue::Ss(v.iter().map(|x| x.to_string()).collect())
}

fn ns(v: &[&str]) -> AttributeValue {
    AttributeValue::Ns(
        v.iter()
            .map(|x| Number::parse(x).unwrap_or_else(|_| Number::zero()))
            .collect(),
    )
}

fn l(v: Vec<AttributeValue>) -> AttributeValue {
    AttributeValue::L(v)
}

fn m(pairs: &[(&str, AttributeValue)]) -> AttributeValue {
    AttributeValue::M(item(pairs))
}

fn item(pairs: &[(&str, AttributeValue)]) -> Item {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn names(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn values(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn msg<T: std::fmt::Debug>(r: Result<T, ApiError>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(e) => e.message.unwrap_or_default(),
    }
}

/// The base item of the condition tables (as in the acceptance suite).
fn base() -> Item {
    item(&[
        ("num", n("5")),
        ("str", s("apple")),
        ("bin", AttributeValue::B(vec![1, 2, 3])),
        ("flag", AttributeValue::Bool(true)),
        ("nul", AttributeValue::Null),
        ("ss", ss(&["red", "green"])),
        ("ns", ns(&["1", "2", "3"])),
        ("lst", l(vec![s("a"), n("1"), s("b")])),
        (
            "doc",
            m(&[
                ("nest", n("7")),
                ("name", s("x")),
                ("deep", m(&[("z", s("zz"))])),
            ]),
        ),
        ("num2", n("9")),
    ])
}

fn cond_with(
    text: &str,
    vals: &[(&str, AttributeValue)],
    nms: &[(&str, &str)],
) -> Result<Condition, ApiError> {
    let v = values(vals);
    let nm = names(nms);
    let subs = Substitutions::new(
        (!nms.is_empty()).then_some(&nm),
        (!vals.is_empty()).then_some(&v),
    );
    parse_condition(ExprKind::Condition, text, &subs)
}

fn holds(text: &str, vals: &[(&str, AttributeValue)]) -> bool {
    match cond_with(text, vals, &[]) {
        Ok(c) => c.eval(&base()),
        Err(e) => panic!("{text}: {e}"),
    }
}

fn cond_err(text: &str, vals: &[(&str, AttributeValue)]) -> String {
    msg(cond_with(text, vals, &[]))
}

// ---------------------------------------------------------------- evaluation

#[test]
fn comparisons() {
    let v = |x: AttributeValue| vec![(":v", x)];
    let table: Vec<(&str, AttributeValue, bool)> = vec![
        ("num = :v", n("5"), true),
        ("num = :v", n("5.0"), true),
        ("num <> :v", n("6"), true),
        ("num <> :v", n("5"), false),
        ("num < :v", n("6"), true),
        ("num < :v", n("5"), false),
        ("num <= :v", n("5"), true),
        ("num > :v", n("-100"), true),
        ("num >= :v", n("5"), true),
        ("num < :v", n("5.0000000001"), true),
        ("str < :v", s("apples"), true),
        ("str > :v", s("Apple"), true),
        ("str > :v", s("b"), false),
        ("bin < :v", AttributeValue::B(vec![0x80]), true),
        ("bin > :v", AttributeValue::B(vec![1, 2]), true),
        ("num = :v", s("5"), false),
        ("num < :v", s("5"), false),
        ("num >= :v", s("5"), false),
        ("num <> :v", s("5"), true),
        ("absent = :v", n("5"), false),
        ("absent < :v", n("5"), false),
        ("absent <> :v", n("5"), true),
        ("ss = :v", ss(&["green", "red"]), true),
        ("ns = :v", ns(&["3", "1", "2"]), true),
        ("lst = :v", l(vec![s("a"), n("1"), s("b")]), true),
        ("lst = :v", l(vec![s("b"), n("1"), s("a")]), false),
        ("flag = :v", AttributeValue::Bool(true), true),
        ("nul = :v", AttributeValue::Null, true),
        ("doc.nest = :v", n("7"), true),
        ("doc.deep.z = :v", s("nope"), false),
        ("lst[1] = :v", n("1"), true),
    ];
    for (text, value, want) in table {
        assert_eq!(
            holds(text, &v(value.clone())),
            want,
            "{text} with {value:?}"
        );
    }
    assert!(holds(
        "doc = :m",
        &[(
            ":m",
            m(&[
                ("name", s("x")),
                ("deep", m(&[("z", s("zz"))])),
                ("nest", n("7"))
            ])
        )]
    ));
    assert!(holds("num < num2", &[]));
    assert!(!holds("num > num2", &[]));
    // A missing attribute differs from everything, another missing one included.
    assert!(holds("absent <> gone", &[]));
    assert!(!holds("absent = gone", &[]));
}

#[test]
fn between_in_and_logic() {
    for (lo, hi, want) in [
        ("1", "10", true),
        ("5", "5", true),
        ("6", "10", false),
        ("1", "4", false),
    ] {
        assert_eq!(
            holds("num BETWEEN :lo AND :hi", &[(":lo", n(lo)), (":hi", n(hi))]),
            want
        );
    }
    assert!(holds(
        "str BETWEEN :a AND :b",
        &[(":a", s("a")), (":b", s("b"))]
    ));
    let abc = [(":a", n("1")), (":b", n("5")), (":c", n("9"))];
    assert!(holds("num IN (:a, :b, :c)", &abc));
    assert!(!holds("num IN (:a, :c)", &abc));
    let v = [(":five", n("5")), (":six", n("6")), (":nope", s("nope"))];
    assert!(holds("num = :five OR num = :six AND str = :nope", &v));
    assert!(!holds("(num = :five OR num = :six) AND str = :nope", &v));
    assert!(!holds("NOT num = :five AND str = :nope", &v));
    assert!(holds("NOT attribute_exists(absent)", &[]));
    assert!(holds(
        "num between :a and :b or not num in (:a)",
        &[(":a", n("1")), (":b", n("9"))]
    ));
}

#[test]
fn functions() {
    assert!(holds("attribute_exists(doc.deep.z)", &[]));
    assert!(!holds("attribute_exists(doc.deep.nope)", &[]));
    assert!(holds("attribute_not_exists(lst[5])", &[]));
    assert!(!holds("attribute_not_exists(lst[2])", &[]));
    assert!(holds("begins_with(str, :p)", &[(":p", s("app"))]));
    assert!(!holds("begins_with(str, :p)", &[(":p", s("ple"))]));
    assert!(holds(
        "begins_with(bin, :p)",
        &[(":p", AttributeValue::B(vec![1, 2]))]
    ));
    assert!(!holds("begins_with(num, :p)", &[(":p", s("5"))]));
    assert!(holds("contains(str, :s)", &[(":s", s("ppl"))]));
    assert!(holds("contains(ss, :s)", &[(":s", s("red"))]));
    assert!(!holds("contains(ss, :s)", &[(":s", s("blue"))]));
    assert!(holds("contains(ns, :n)", &[(":n", n("2.0"))]));
    assert!(holds("contains(lst, :v)", &[(":v", n("1"))]));
    assert!(!holds("contains(lst, :v)", &[(":v", s("1"))]));
    for (path, size) in [
        ("str", "5"),
        ("bin", "3"),
        ("ss", "2"),
        ("ns", "3"),
        ("lst", "3"),
        ("doc", "3"),
    ] {
        assert!(holds(&format!("size({path}) = :n"), &[(":n", n(size))]));
    }
    assert!(!holds("size(absent) >= :z", &[(":z", n("0"))]));
    assert!(!holds("size(num) >= :z", &[(":z", n("0"))]));
    for (path, ty) in [
        ("num", "N"),
        ("str", "S"),
        ("bin", "B"),
        ("flag", "BOOL"),
        ("nul", "NULL"),
        ("ss", "SS"),
        ("ns", "NS"),
        ("lst", "L"),
        ("doc", "M"),
        ("doc.nest", "N"),
    ] {
        assert!(holds(
            &format!("attribute_type({path}, :t)"),
            &[(":t", s(ty))]
        ));
    }
    assert!(!holds("attribute_type(num, :t)", &[(":t", s("S"))]));
    // A value operand: its type and size are known from the request.
    assert!(holds(
        "attribute_type(:v, :t)",
        &[(":v", n("0")), (":t", s("N"))]
    ));
    assert!(!holds(
        "attribute_type(:v, :t)",
        &[(":v", n("0")), (":t", s("S"))]
    ));
    assert!(holds("size(:x) >= :a", &[(":x", s("abc")), (":a", n("2"))]));
    assert!(holds(
        "size(:x) = :a",
        &[(":x", ss(&["a", "b"])), (":a", n("2"))]
    ));
    assert_eq!(
        cond_err("size(:x) >= :a", &[(":x", n("1")), (":a", n("2"))]),
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N"
    );
    assert_eq!(
        cond_err("attribute_exists(:x)", &[(":x", n("1"))]),
        "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists"
    );
}

#[test]
fn names_and_top_level_attributes() {
    let c = cond_with(
        "attribute_not_exists(#n) AND #d.x = :v AND size(q) > :v",
        &[(":v", n("1"))],
        &[("#n", "name"), ("#d", "a.b")],
    );
    assert_eq!(
        c.map(|c| c.top_level_attributes()),
        Ok(vec!["name".to_string(), "a.b".to_string(), "q".to_string()])
    );
}

#[test]
fn an_update_names_what_it_writes_and_reads() {
    let values: HashMap<String, AttributeValue> = [(":one".to_string(), n("1"))].into();
    let names: HashMap<String, String> = [("#c".to_string(), "c".to_string())].into();
    let subs = Substitutions::new(Some(&names), Some(&values));
    let update = parse_update(
        "SET a.x = b + :one, d = if_not_exists(#c, :one) REMOVE e[1] ADD f :one",
        &subs,
    );
    assert_eq!(
        update.map(|u| u.top_level_attributes()),
        Ok(["a", "b", "d", "c", "e", "f"].map(String::from).to_vec())
    );
}

// ---------------------------------------------------------------- condition errors

#[test]
fn condition_error_messages() {
    let v = [(":v", n("1"))];
    let cases: Vec<(&str, String)> = vec![
        ("", "Invalid ConditionExpression: The expression can not be empty;".into()),
        ("   ", "Invalid ConditionExpression: The expression can not be empty;".into()),
        (
            "num = = :v",
            "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = :v\"".into(),
        ),
        (
            "num = :v AND",
            "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"AND\"".into(),
        ),
        (
            "attribute_exists(name)",
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"
                .into(),
        ),
        (
            "attribute_exists(#nope)",
            "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope"
                .into(),
        ),
        (
            "num = :nope",
            "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope"
                .into(),
        ),
        (
            "no_such_function(num)",
            "Invalid ConditionExpression: Invalid function name; function: no_such_function".into(),
        ),
        (
            "SIZE(num) = :v",
            "Invalid ConditionExpression: Invalid function name; function: SIZE".into(),
        ),
        (
            "attribute_exists(:v)",
            "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists"
                .into(),
        ),
        (
            "attribute_exists(a, b)",
            "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"
                .into(),
        ),
        (
            "size(a)",
            "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size"
                .into(),
        ),
        (
            "attribute_exists(a) = :v",
            "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists"
                .into(),
        ),
        (
            "a = a",
            "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"
                .into(),
        ),
        (
            "((a = :v))",
            "Invalid ConditionExpression: The expression has redundant parentheses;".into(),
        ),
        (
            "begins_with(a, :v)",
            "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
                .into(),
        ),
        // Reserved words outrank undefined values whatever the order.
        (
            "a = :nope AND name = :v",
            "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: name"
                .into(),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(cond_err(text, &v), want, "{text}");
    }
    assert_eq!(
        cond_err("attribute_type(a, :t)", &[(":t", s("XX"))]),
        "Invalid ConditionExpression: Invalid attribute type name found; type: XX, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}"
    );
    assert_eq!(
        cond_err("a BETWEEN :hi AND :lo", &[(":hi", n("5")), (":lo", n("1"))]),
        "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}"
    );
    assert_eq!(
        cond_err("a BETWEEN :a AND :b", &[(":a", n("5")), (":b", s("x"))]),
        "Invalid ConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {S:x}"
    );
    assert_eq!(
        cond_err("contains(name, name)", &v),
        "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [name]"
    );
    assert_eq!(
        cond_err("((a)) = :v", &v),
        "Invalid ConditionExpression: The expression has redundant parentheses;"
    );
    assert!(holds(
        "(num) = :v AND (attribute_exists(str))",
        &[(":v", n("5"))]
    ));
    assert_eq!(
        cond_err("attribute_type(a, S)", &v),
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {S,SS,N,NS,B,BS,BOOL,NULL,L,M,HD,DOUBLE,FLOAT,HDS,FS,DOUBLESET,DICT,DECIMAL,INT,DECIMALSET,INTSET}"
    );
    assert_eq!(
        cond_err("if_not_exists(s, :v) = :v", &v),
        "Invalid ConditionExpression: The function is not allowed in a condition expression; function: if_not_exists"
    );
    assert_eq!(
        cond_err("size(contains(a, :v)) = :v", &v),
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: contains"
    );
    assert_eq!(
        cond_err("attribute_exists(:nope)", &v),
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope"
    );
    let many: Vec<(String, AttributeValue)> =
        (0..101).map(|i| (format!(":v{i}"), n("1"))).collect();
    let vals: HashMap<String, AttributeValue> = many.into_iter().collect();
    let mut keys: Vec<&String> = vals.keys().collect();
    keys.sort();
    let text = format!(
        "num IN ({})",
        keys.iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let subs = Substitutions::new(None, Some(&vals));
    assert_eq!(
        msg(parse_condition(ExprKind::Condition, &text, &subs)),
        "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: IN, number of operands: 102"
    );
    let big = format!("a = :v{}", " ".repeat(MAX_EXPRESSION_BYTES));
    assert_eq!(
        cond_err(&big, &v),
        "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4102"
    );
    // The prefix follows the parameter.
    let subs = Substitutions::new(None, None);
    assert_eq!(
        msg(parse_condition(ExprKind::Filter, "a =", &subs)),
        "Invalid FilterExpression: Syntax error; token: \"<EOF>\", near: \"=\""
    );
}

#[test]
fn unused_substitutions() {
    let nm = names(&[("#b", "x"), ("#a", "y"), ("#used", "z")]);
    let vals = values(&[(":v", n("1")), (":w", n("2"))]);
    let subs = Substitutions::new(Some(&nm), Some(&vals));
    assert!(parse_condition(ExprKind::Condition, "#used = :v", &subs).is_ok());
    assert_eq!(
        msg(subs.check_all_used()),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#a, #b}"
    );
    let nm = names(&[("#a", "y")]);
    let subs = Substitutions::new(Some(&nm), Some(&vals));
    assert!(parse_condition(ExprKind::Condition, "#a = :v", &subs).is_ok());
    assert_eq!(
        msg(subs.check_all_used()),
        "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}"
    );
    let subs = Substitutions::new(None, None);
    assert_eq!(subs.check_all_used(), Ok(()));
    // References repeated, across expressions too, count once each.
    let nm = names(&[("#a", "y"), ("#b", "x")]);
    let subs = Substitutions::new(Some(&nm), Some(&vals));
    assert!(parse_condition(ExprKind::Condition, "#a = :v OR #a = :v OR #a < :v", &subs).is_ok());
    assert!(parse_condition(ExprKind::Filter, "#a = :w", &subs).is_ok());
    assert_eq!(
        msg(subs.check_all_used()),
        "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}"
    );
    assert!(parse_condition(ExprKind::Filter, "#b = :v", &subs).is_ok());
    assert_eq!(subs.check_all_used(), Ok(()));
}

#[test]
fn parameter_usage() {
    let nm = names(&[("#a", "a")]);
    let empty_names = HashMap::new();
    let vals = values(&[(":v", n("1"))]);
    let empty_vals = HashMap::new();
    let cond = [("ConditionExpression", true)];
    assert_eq!(
        msg(check_parameter_usage(
            &cond,
            &[],
            Some(&names(&[("#a", "a"), ("#e", "")])),
            None,
            &cond
        )),
        "ExpressionAttributeNames contains invalid value: Empty attribute name for key #e"
    );
    let long = "y".repeat(crate::model::MAX_ATTRIBUTE_NAME_BYTES + 1);
    assert_eq!(
        msg(check_parameter_usage(
            &cond,
            &[],
            Some(&names(&[("#l", &long)])),
            None,
            &cond
        )),
        "1 validation error detected: Attribute name is too large, must be less than 65536 bytes"
    );
    let longest = "y".repeat(crate::model::MAX_ATTRIBUTE_NAME_BYTES);
    assert!(
        check_parameter_usage(&cond, &[], Some(&names(&[("#l", &longest)])), None, &cond).is_ok()
    );
    assert_eq!(
        msg(check_parameter_usage(
            &cond,
            &[],
            Some(&empty_names),
            None,
            &cond
        )),
        "ExpressionAttributeNames must not be empty"
    );
    // Without any expression, the presence rule comes first.
    assert_eq!(
        msg(check_parameter_usage(
            &[("ConditionExpression", false)],
            &[],
            Some(&empty_names),
            None,
            &[]
        )),
        "ExpressionAttributeNames can only be specified when using expressions"
    );
    assert_eq!(
        msg(check_parameter_usage(
            &[],
            &[],
            None,
            Some(&empty_vals),
            &[]
        )),
        "ExpressionAttributeValues must not be empty"
    );
    let bad = names(&[("a", "a")]);
    assert_eq!(
        msg(check_parameter_usage(
            &[("ProjectionExpression", true)],
            &[],
            Some(&bad),
            None,
            &[]
        )),
        "ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\""
    );
    assert_eq!(
        msg(check_parameter_usage(
            &[("ProjectionExpression", true), ("FilterExpression", true)],
            &[
                ("AttributesToGet", true),
                ("QueryFilter", true),
                ("ConditionalOperator", true)
            ],
            None,
            None,
            &[]
        )),
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet, QueryFilter, ConditionalOperator} Expression parameters: {ProjectionExpression, FilterExpression}"
    );
    assert_eq!(
        msg(check_parameter_usage(
            &[("ProjectionExpression", false)],
            &[],
            Some(&nm),
            None,
            &[]
        )),
        "ExpressionAttributeNames can only be specified when using expressions"
    );
    assert_eq!(
        msg(check_parameter_usage(
            &[("UpdateExpression", false), ("ConditionExpression", false)],
            &[],
            None,
            Some(&vals),
            &[("UpdateExpression", false), ("ConditionExpression", false)]
        )),
        "ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression are null"
    );
    assert_eq!(
        msg(check_parameter_usage(
            &[("ProjectionExpression", true), ("FilterExpression", false)],
            &[],
            None,
            Some(&vals),
            &[("FilterExpression", false)]
        )),
        "ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null"
    );
    assert_eq!(
        check_parameter_usage(
            &[("ConditionExpression", true)],
            &[("Expected", false)],
            Some(&nm),
            Some(&vals),
            &[("ConditionExpression", true)]
        ),
        Ok(())
    );
}

// ---------------------------------------------------------------- updates

fn update_with(
    text: &str,
    vals: &[(&str, AttributeValue)],
    nms: &[(&str, &str)],
) -> Result<UpdateExpr, ApiError> {
    let v = values(vals);
    let nm = names(nms);
    let subs = Substitutions::new(
        (!nms.is_empty()).then_some(&nm),
        (!vals.is_empty()).then_some(&v),
    );
    parse_update(text, &subs)
}

/// Applies `text` to `start`, returning the new item or the error message.
fn run(start: Item, text: &str, vals: &[(&str, AttributeValue)]) -> Result<Item, String> {
    let u = update_with(text, vals, &[]).map_err(|e| e.message.unwrap_or_default())?;
    let mut it = start;
    u.apply(&mut it)
        .map_err(|e| e.message.unwrap_or_default())?;
    Ok(it)
}

#[test]
fn set_semantics() {
    let one = [(":one", n("1")), (":d", n("3"))];
    assert_eq!(
        run(
            item(&[("n", n("10"))]),
            "SET up = n + :d, down = n - :d",
            &one
        ),
        Ok(item(&[("n", n("10")), ("up", n("13")), ("down", n("7"))]))
    );
    assert_eq!(
        run(
            item(&[("n", n("0.1"))]),
            "SET n = n + :d",
            &[(":d", n("0.2"))]
        ),
        Ok(item(&[("n", n("0.3"))]))
    );
    // Operands read the old item: swapping works.
    assert_eq!(
        run(
            item(&[("a", n("1")), ("b", n("2"))]),
            "SET a = b, b = a",
            &[]
        ),
        Ok(item(&[("a", n("2")), ("b", n("1"))]))
    );
    assert_eq!(
        run(Item::new(), "SET n = absent + :one", &one),
        Err(
            "The provided expression refers to an attribute that does not exist in the item".into()
        )
    );
    assert_eq!(
        run(item(&[("s", s("t"))]), "SET n = s + :one", &one),
        Err("An operand in the update expression has an incorrect data type".into())
    );
    assert_eq!(
        run(
            item(&[("n", n("9.9999999999999999999999999999999999999E+125"))]),
            "SET n = n + :big",
            &[(":big", n("9E+125"))]
        ),
        Err("Number overflow. Attempting to store a number with magnitude larger than supported range".into())
    );
    let ine = [(":zero", n("0")), (":one", n("1"))];
    let mut it = Item::new();
    for _ in 0..3 {
        it = run(it, "SET hits = if_not_exists(hits, :zero) + :one", &ine).unwrap_or_default();
    }
    assert_eq!(it, item(&[("hits", n("3"))]));
    assert_eq!(
        run(
            item(&[("l", l(vec![n("1")]))]),
            "SET l = list_append(:f, l)",
            &[(":f", l(vec![n("0")]))]
        ),
        Ok(item(&[("l", l(vec![n("0"), n("1")]))]))
    );
    assert_eq!(
        run(
            Item::new(),
            "SET l = list_append(if_not_exists(l, :e), :v)",
            &[(":e", l(vec![])), (":v", l(vec![s("a")]))]
        ),
        Ok(item(&[("l", l(vec![s("a")]))]))
    );
    assert_eq!(
        run(
            Item::new(),
            "SET l = list_append(l, :v)",
            &[(":v", l(vec![]))]
        ),
        Err(
            "The provided expression refers to an attribute that does not exist in the item".into()
        )
    );
    let abc = l(vec![s("a"), s("b"), s("c")]);
    assert_eq!(
        run(
            item(&[("l", abc.clone())]),
            "SET l[1] = :v",
            &[(":v", s("B"))]
        ),
        Ok(item(&[("l", l(vec![s("a"), s("B"), s("c")]))]))
    );
    assert_eq!(
        run(
            item(&[("l", abc.clone())]),
            "SET l[10] = :v",
            &[(":v", s("z"))]
        ),
        Ok(item(&[("l", l(vec![s("a"), s("b"), s("c"), s("z")]))]))
    );
    // Several appends land in element-number order, not in expression order; an index
    // that only comes into range through an earlier append still appends.
    assert_eq!(
        run(
            item(&[("l", abc.clone())]),
            "SET l[84] = :v1, l[37] = :v2, l[17] = :v3, l[50] = :v4",
            &[
                (":v1", s("1")),
                (":v2", s("2")),
                (":v3", s("3")),
                (":v4", s("4"))
            ]
        ),
        Ok(item(&[(
            "l",
            l(vec![s("a"), s("b"), s("c"), s("3"), s("2"), s("4"), s("1")])
        )]))
    );
    assert_eq!(
        run(
            item(&[("l", abc.clone())]),
            "SET l[4] = :x, l[3] = :y",
            &[(":x", s("x")), (":y", s("y"))]
        ),
        Ok(item(&[(
            "l",
            l(vec![s("a"), s("b"), s("c"), s("y"), s("x")])
        )]))
    );
    assert_eq!(
        run(
            item(&[("m", m(&[("a", n("1"))]))]),
            "SET m.b = :b, m.a = :a",
            &[(":a", n("2")), (":b", s("new"))]
        ),
        Ok(item(&[("m", m(&[("a", n("2")), ("b", s("new"))]))]))
    );
    let invalid = "The document path provided in the update expression is invalid for update";
    assert_eq!(
        run(item(&[("m", m(&[]))]), "SET m.x.y = :v", &[(":v", n("1"))]),
        Err(invalid.into())
    );
    assert_eq!(
        run(item(&[("s", s("t"))]), "SET s[0] = :v", &[(":v", n("1"))]),
        Err(invalid.into())
    );
    assert_eq!(
        run(Item::new(), "SET a.b = :v", &[(":v", n("1"))]),
        Err(invalid.into())
    );
}

#[test]
fn remove_add_delete_semantics() {
    let abcd = l(vec![s("a"), s("b"), s("c"), s("d")]);
    assert_eq!(
        run(item(&[("l", abcd.clone())]), "REMOVE l[1], l[2]", &[]),
        Ok(item(&[("l", l(vec![s("a"), s("d")]))]))
    );
    assert_eq!(
        run(item(&[("l", abcd.clone())]), "REMOVE l[2], l[0]", &[]),
        Ok(item(&[("l", l(vec![s("b"), s("d")]))]))
    );
    assert_eq!(
        run(
            item(&[("a", n("1")), ("l", l(vec![n("1")]))]),
            "REMOVE absent, l[3]",
            &[]
        ),
        Ok(item(&[("a", n("1")), ("l", l(vec![n("1")]))]))
    );
    assert_eq!(
        run(
            item(&[("m", m(&[("a", n("1")), ("b", n("2"))]))]),
            "REMOVE m.a",
            &[]
        ),
        Ok(item(&[("m", m(&[("b", n("2"))]))]))
    );
    assert_eq!(
        run(item(&[("n", n("5"))]), "ADD n :d", &[(":d", n("-7"))]),
        Ok(item(&[("n", n("-2"))]))
    );
    // Arithmetic in parentheses, as DynamoDB takes it (dynamodb-conformance's
    // tier1/updateItem/basic.test.ts).
    assert_eq!(
        run(
            item(&[("c", n("10"))]),
            "SET c = (c - :v)",
            &[(":v", n("3"))]
        ),
        Ok(item(&[("c", n("7"))]))
    );
    assert_eq!(
        run(
            item(&[("c", n("10"))]),
            "SET c = (c + :v) - (:w)",
            &[(":v", n("3")), (":w", n("1"))]
        ),
        Ok(item(&[("c", n("12"))]))
    );
    assert_eq!(
        run(Item::new(), "ADD n :d", &[(":d", n("1.5"))]),
        Ok(item(&[("n", n("1.5"))]))
    );
    assert_eq!(
        run(
            item(&[("s", ss(&["a", "b"]))]),
            "ADD s :v",
            &[(":v", ss(&["b", "c"]))]
        ),
        Ok(item(&[("s", ss(&["a", "b", "c"]))]))
    );
    // New members take their place in DynamoDB's set order (sets compare as sets, so the
    // order is read from the rendered value).
    let added = run(
        item(&[("s", ss(&["a"])), ("n", ns(&["10"]))]),
        "ADD s :s, n :n",
        &[(":s", ss(&[""])), (":n", ns(&["9"]))],
    )
    .unwrap();
    assert_eq!(
        serde_json::to_string(&added).unwrap(),
        r#"{"n":{"NS":["9","10"]},"s":{"SS":["","a"]}}"#
    );
    let bad_type = "An operand in the update expression has an incorrect data type";
    assert_eq!(
        run(
            item(&[("s", ss(&["a"]))]),
            "ADD s :v",
            &[(":v", ns(&["1"]))]
        ),
        Err(bad_type.into())
    );
    assert_eq!(
        run(item(&[("s", s("x"))]), "ADD s :v", &[(":v", n("1"))]),
        Err(bad_type.into())
    );
    assert_eq!(
        run(
            item(&[("s", ss(&["a", "b", "c"]))]),
            "DELETE s :v",
            &[(":v", ss(&["a", "c", "zzz"]))]
        ),
        Ok(item(&[("s", ss(&["b"]))]))
    );
    assert_eq!(
        run(
            item(&[("s", ns(&["1", "2"]))]),
            "DELETE s :v",
            &[(":v", ns(&["2", "1"]))]
        ),
        Ok(Item::new())
    );
    assert_eq!(
        run(item(&[("n", n("1"))]), "DELETE n :v", &[(":v", ns(&["1"]))]),
        Err(bad_type.into())
    );
    // Large sets, within DynamoDB's limits: linear, not one search per element (which took
    // seconds of a runtime thread at 40k elements).
    let many =
        |from: usize, to: usize| -> Vec<String> { (from..to).map(|i| i.to_string()).collect() };
    fn strs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    let (first, second) = (many(0, 60_000), many(30_000, 90_000));
    let added = run(
        item(&[("s", ns(&strs(&first)))]),
        "ADD s :v",
        &[(":v", ns(&strs(&second)))],
    );
    assert_eq!(added, Ok(item(&[("s", ns(&strs(&many(0, 90_000))))])));
    let deleted = run(
        item(&[("s", ss(&strs(&first)))]),
        "DELETE s :v",
        &[(":v", ss(&strs(&second)))],
    );
    assert_eq!(deleted, Ok(item(&[("s", ss(&strs(&many(0, 30_000))))])));
    assert_eq!(
        run(
            item(&[("gone", n("1")), ("cnt", n("1")), ("tags", ss(&["x", "y"]))]),
            "SET a = :a REMOVE gone ADD cnt :one DELETE tags :x",
            &[(":a", s("A")), (":one", n("1")), (":x", ss(&["x"]))]
        ),
        Ok(item(&[
            ("a", s("A")),
            ("cnt", n("2")),
            ("tags", ss(&["y"]))
        ]))
    );
}

#[test]
fn update_static_errors() {
    let v = [(":v", n("1"))];
    let err = |text: &str, vals: &[(&str, AttributeValue)]| msg(update_with(text, vals, &[]));
    assert_eq!(
        err("SET a = :v REMOVE a", &v),
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"
    );
    assert_eq!(
        err("SET m.x = :v, m = :v", &v),
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m, x], path two: [m]"
    );
    assert_eq!(
        err("SET l[0] = :v REMOVE l.b", &v),
        "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [l, [0]], path two: [l, b]"
    );
    assert!(update_with("SET l[0] = :v, l[1] = :v", &v, &[]).is_ok());
    // A bare name may not start with `_` (inside a name it is fine).
    assert_eq!(
        err("SET _123 = :v", &v),
        "Invalid UpdateExpression: Syntax error; token: \"_\", near: \"SET _123\""
    );
    assert_eq!(
        err("SET a = _f(b)", &v),
        "Invalid UpdateExpression: Syntax error; token: \"_\", near: \"= _f\""
    );
    assert!(update_with("SET a_b = :v", &v, &[]).is_ok());
    assert_eq!(
        err("SET a = :v SET b = :v", &v),
        "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;"
    );
    assert_eq!(
        err("ADD s :v", &[(":v", s("x"))]),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING"
    );
    assert_eq!(
        err("DELETE s :v", &[(":v", n("1"))]),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"
    );
    assert_eq!(
        err("SET a = :v + :w", &[(":v", n("1")), (":w", s("x"))]),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S"
    );
    assert_eq!(
        err("SET a = list_append(a, :v)", &v),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: N"
    );
    assert_eq!(
        err("SET a = if_not_exists(:v, a)", &v),
        "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists"
    );
    assert_eq!(
        err("SET a = nope(a)", &v),
        "Invalid UpdateExpression: Invalid function name; function: nope"
    );
    assert_eq!(
        err("SET a = :v,", &v),
        "Invalid UpdateExpression: Syntax error; token: \"<EOF>\", near: \",\""
    );
    assert_eq!(
        err("SET r = contains(s, :v)", &v),
        "Invalid UpdateExpression: The function is not allowed in an update expression; function: contains"
    );
    assert_eq!(
        err("SET r = size(s)", &[]),
        "Invalid UpdateExpression: The function is not allowed in an update expression; function: size"
    );
    let lists = [(":t", l(vec![s("b")])), (":u", l(vec![]))];
    assert_eq!(
        err("SET r = list_append(list_append(l, :t), :u)", &lists),
        "Invalid UpdateExpression: The function is not allowed to be used this way in an expression; function: list_append"
    );
    assert!(update_with("SET r = list_append(if_not_exists(l, :u), :t)", &lists, &[]).is_ok());
    assert_eq!(
        err("SET r = if_not_exists(if_not_exists(n, :v), :v)", &v),
        "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists"
    );
    assert_eq!(
        err("REMOVE name", &[]),
        "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: name"
    );
}

#[test]
fn update_keys_and_updated_attributes() {
    use crate::model::{KeyAttr, ScalarType};
    let schema = KeySchema::new(
        KeyAttr {
            name: "pk".into(),
            ty: ScalarType::S,
        },
        Some(KeyAttr {
            name: "sk".into(),
            ty: ScalarType::N,
        }),
    );
    let v = [(":v", n("1"))];
    let keys = |text: &str| update_with(text, &v, &[]).and_then(|u| u.check_keys(&schema));
    assert_eq!(
        msg(keys("SET a = :v, pk = :v")),
        "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"
    );
    assert_eq!(
        msg(keys("REMOVE sk.x")),
        "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: sk"
    );
    assert_eq!(keys("SET a = :v"), Ok(()));

    let start = item(&[
        ("a", n("1")),
        ("b", s("keep")),
        ("m", m(&[("x", n("1")), ("y", n("2"))])),
    ]);
    let u = update_with("SET a = :v, c = :v, m.x = :v REMOVE b", &v, &[]);
    let Ok(u) = u else {
        panic!("parse failed: {u:?}")
    };
    assert_eq!(
        u.updated_attributes(&start),
        item(&[("a", n("1")), ("b", s("keep")), ("m", m(&[("x", n("1"))]))])
    );
    let mut new = start.clone();
    assert_eq!(u.apply(&mut new), Ok(()));
    assert_eq!(
        u.updated_attributes(&new),
        item(&[("a", n("1")), ("c", n("1")), ("m", m(&[("x", n("1"))]))])
    );
}

// ---------------------------------------------------------------- projections

#[test]
fn projections() {
    let it = item(&[
        ("a", s("A")),
        ("b", n("2")),
        (
            "m",
            m(&[
                ("x", s("X")),
                ("y", m(&[("z", n("9")), ("w", s("W"))])),
                ("lst", l(vec![n("0"), n("1")])),
            ]),
        ),
        (
            "l",
            l(vec![
                s("l0"),
                m(&[("q", s("Q")), ("r", s("R"))]),
                s("l2"),
                s("l3"),
            ]),
        ),
        ("name", s("reserved")),
    ]);
    let nm = names(&[("#n", "name")]);
    let proj = |text: &str| {
        let subs = Substitutions::new(Some(&nm), None);
        parse_projection(text, &subs).map(|p| p.apply(&it))
    };
    assert_eq!(proj("a, b"), Ok(item(&[("a", s("A")), ("b", n("2"))])));
    assert_eq!(
        proj("m.y.z"),
        Ok(item(&[("m", m(&[("y", m(&[("z", n("9"))]))]))]))
    );
    assert_eq!(
        proj("m.x, m.y.w"),
        Ok(item(&[(
            "m",
            m(&[("x", s("X")), ("y", m(&[("w", s("W"))]))])
        )]))
    );
    assert_eq!(proj("l[2]"), Ok(item(&[("l", l(vec![s("l2")]))])));
    assert_eq!(
        proj("l[3], l[0]"),
        Ok(item(&[("l", l(vec![s("l0"), s("l3")]))]))
    );
    assert_eq!(
        proj("l[1].r"),
        Ok(item(&[("l", l(vec![m(&[("r", s("R"))])]))]))
    );
    assert_eq!(
        proj("m.lst[1]"),
        Ok(item(&[("m", m(&[("lst", l(vec![n("1")]))]))]))
    );
    assert_eq!(
        proj("a, nothere, m.nope, l[10]"),
        Ok(item(&[("a", s("A"))]))
    );
    assert_eq!(proj("#n"), Ok(item(&[("name", s("reserved"))])));
    assert_eq!(
        msg(proj("name")),
        "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name"
    );
    assert_eq!(
        msg(proj("ADD")),
        "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: ADD"
    );
    assert_eq!(
        msg(proj("m, m.x")),
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m], path two: [m, x]"
    );
    assert_eq!(
        msg(proj("a,, b")),
        "Invalid ProjectionExpression: Syntax error; token: \",\", near: \",, b\""
    );
    let subs = Substitutions::new(None, None);
    assert_eq!(
        parse_projection("b, a.c", &subs).map(|p| p.top_level_attributes()),
        Ok(vec!["b".to_string(), "a".to_string()])
    );
}

// ---------------------------------------------------------------- key conditions

type Parts = Vec<(String, SortKeyCondition)>;

fn key(text: &str, vals: &[(&str, AttributeValue)]) -> Result<Parts, ApiError> {
    let v = values(vals);
    let subs = Substitutions::new(None, Some(&v));
    parse_key_condition_parts(text, &subs)
}

#[test]
fn key_conditions() {
    let v = [(":p", s("a")), (":a", n("1")), (":b", n("5"))];
    let part = |name: &str, condition| (name.to_string(), condition);
    assert_eq!(
        key("pk = :p AND sk BETWEEN :a AND :b", &v),
        Ok(vec![
            part("pk", SortKeyCondition::Eq(s("a"))),
            part("sk", SortKeyCondition::Between(n("1"), n("5")))
        ])
    );
    assert_eq!(
        key("sk < :a AND pk = :p", &v),
        Ok(vec![
            part("sk", SortKeyCondition::Lt(n("1"))),
            part("pk", SortKeyCondition::Eq(s("a")))
        ])
    );
    assert_eq!(
        key("begins_with(sk, :p) and pk = :p", &v).map(|parts| parts[0].clone()),
        Ok(part("sk", SortKeyCondition::BeginsWith(s("a"))))
    );
    let cases = [
        (
            "pk = :p OR sk = :a",
            "Invalid operator used in KeyConditionExpression: OR",
        ),
        (
            "pk = :p AND contains(sk, :a)",
            "Invalid operator used in KeyConditionExpression: contains",
        ),
        (
            "pk <> :p",
            "Invalid operator used in KeyConditionExpression: <>",
        ),
        (
            "begins_with(:p, pk)",
            "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand",
        ),
        (
            ":a BETWEEN sk AND :b",
            "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand",
        ),
        (
            "pk = sk",
            "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
        ),
        (
            ":p = :a",
            "Invalid condition in KeyConditionExpression: No key attribute specified",
        ),
        (
            "pk.x = :p",
            "KeyConditionExpressions cannot have conditions on nested attributes",
        ),
        (
            "pk = :p AND pk = :p",
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
        ),
        (
            "pk = :p AND sk > :a AND sk < :b",
            "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
        ),
        (
            "pk = :p AND sk BETWEEN :b AND :a",
            "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:5}, upper bound operand: AttributeValue: {N:1}",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(msg(key(text, &v)), want, "{text}");
    }
    // A comparison may have the key second: the operator turns round.
    assert_eq!(
        key(":p = pk AND :a < sk", &v),
        Ok(vec![
            part("pk", SortKeyCondition::Eq(s("a"))),
            part("sk", SortKeyCondition::Gt(n("1")))
        ])
    );
    for (text, want) in [
        (":a <= sk", SortKeyCondition::Ge(n("1"))),
        (":a > sk", SortKeyCondition::Lt(n("1"))),
        (":a >= sk", SortKeyCondition::Le(n("1"))),
    ] {
        assert_eq!(key(text, &v), Ok(vec![part("sk", want)]), "{text}");
    }
    // Which part is the partition key is the schema's to say (the caller's).
    assert_eq!(
        key("sk >= :a", &v),
        Ok(vec![part("sk", SortKeyCondition::Ge(n("1")))])
    );
}

// ---------------------------------------------------------------- robustness

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let nm = names(&[("#a", "a"), ("#b", "b.c")]);
        let vals = values(&[(":a", n("1")), (":b", s("x")), (":l", l(vec![]))]);
        let subs = Substitutions::new(Some(&nm), Some(&vals));
        if let Ok(c) = parse_condition(ExprKind::Condition, &text, &subs) {
            let _ = c.eval(&base());
        }
        if let Ok(u) = parse_update(&text, &subs) {
            let mut it = base();
            let _ = u.apply(&mut it);
            let _ = u.updated_attributes(&it);
        }
        if let Ok(p) = parse_projection(&text, &subs) {
            let _ = p.apply(&base());
        }
        let _ = parse_key_condition_parts(&text, &subs);
    }

    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(
        prop_oneof![
            Just("a"), Just("#a"), Just(":a"), Just(":b"), Just(":l"), Just("("), Just(")"),
            Just("["), Just("]"), Just("0"), Just("."), Just(","), Just("="), Just("<"),
            Just("<>"), Just("+"), Just("-"), Just("AND"), Just("OR"), Just("NOT"),
            Just("BETWEEN"), Just("IN"), Just("SET"), Just("REMOVE"), Just("ADD"),
            Just("DELETE"), Just("size"), Just("contains"), Just("if_not_exists"),
            Just("list_append"), Just("attribute_exists"), Just("lst"), Just("doc"),
        ],
        0..40,
    )) {
        let text = tokens.join(" ");
        let nm = names(&[("#a", "a")]);
        let vals = values(&[(":a", n("1")), (":b", s("x")), (":l", l(vec![n("2")]))]);
        let subs = Substitutions::new(Some(&nm), Some(&vals));
        if let Ok(c) = parse_condition(ExprKind::Filter, &text, &subs) {
            let _ = c.eval(&base());
            let _ = c.top_level_attributes();
        }
        if let Ok(u) = parse_update(&text, &subs) {
            let mut it = base();
            let _ = u.apply(&mut it);
        }
        let _ = parse_projection(&text, &subs);
        let _ = parse_key_condition_parts(&text, &subs);
    }
}

#[test]
fn deep_expressions_fit_a_worker_stack() {
    // Requests are parsed on tokio worker threads (2 MiB); parse, resolve and evaluate the
    // deepest expressions the limits let through, in a debug build, on such a stack.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let v = [(":v", n("5"))];
            let nots = format!("{}num = :v", "NOT ".repeat(298));
            assert!(holds(&nots, &v));
            let nested = format!(
                "num = :v {}{}",
                "OR (num = :v ".repeat(149),
                ")".repeat(149)
            );
            assert!(holds(&nested, &v));
            let at_cap = format!("{}num = :v{}", "(".repeat(199), ")".repeat(199));
            assert_eq!(
                cond_err(&at_cap, &v),
                "Invalid ConditionExpression: The expression has redundant parentheses;"
            );
            let past_cap = format!("{}num = :v{}", "(".repeat(2000), ")".repeat(2000));
            assert!(
                cond_err(&past_cap, &v).starts_with("Invalid ConditionExpression: Syntax error")
            );
            let calls = format!("{}num{} = :v", "size(".repeat(250), ")".repeat(250));
            assert!(cond_err(&calls, &v).starts_with("Invalid ConditionExpression: "));
        });
    let result = handle.map(|h| h.join());
    assert!(matches!(result, Ok(Ok(()))), "{result:?}");
}

#[test]
fn long_chains_stay_shallow() {
    // Run on a small stack: a long chain of ANDs/ORs must not recurse deeply anywhere.
    let handle = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            // 297 operators, the longest chain the operator limit allows in this shape.
            let text = format!("num = :v{}", " AND num = :v OR num = :v".repeat(74));
            let c = cond_with(&text, &[(":v", n("5"))], &[]);
            c.map(|c| c.eval(&base()))
        });
    let result = handle.map(|h| h.join());
    assert!(matches!(result, Ok(Ok(Ok(true)))), "{result:?}");
}
