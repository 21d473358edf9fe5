#![allow(clippy::unwrap_used)]

use super::ast::*;
use super::bind::{bind, bind_item};
use super::render::Renderer;
use super::{parse, INCOMPLETE_KEY};
use crate::model::{AttributeValue, Number};
use crate::wire::error::{ApiError, ErrorCode};

fn name(n: &str) -> Path {
    Path(vec![PathElement::Name(n.into())])
}

fn num(n: &str) -> AttributeValue {
    AttributeValue::N(Number::parse(n).unwrap())
}

#[test]
fn parses_a_select_with_every_clause() {
    let parsed = parse(
        r#"select a, "b c".d[2] FROM "Orders"."ByDate" WHERE pk = ? AND sk BETWEEN 1 AND ? AND NOT begins_with(x, 'p') ORDER BY sk desc;"#,
    )
    .unwrap();
    assert_eq!(parsed.param_count, 2);
    let Statement::Select(select) = parsed.statement else {
        panic!("not a select")
    };
    assert_eq!(select.table, "Orders");
    assert_eq!(select.index.as_deref(), Some("ByDate"));
    assert_eq!(
        select.projection.unwrap()[1],
        Path(vec![
            PathElement::Name("b c".into()),
            PathElement::Name("d".into()),
            PathElement::Index(2)
        ])
    );
    assert_eq!(select.order_by, Some((name("sk"), true)));
    let condition = select.condition.unwrap();
    let conjuncts = condition.conjuncts();
    assert_eq!(conjuncts.len(), 3);
    assert_eq!(
        conjuncts[0],
        &Condition::Compare(
            Operand::Path(name("pk")),
            CmpOp::Eq,
            Operand::Literal(Literal::Param(0))
        )
    );
    assert!(matches!(conjuncts[2], Condition::Not(_)));
}

#[test]
fn parses_writes() {
    let insert = parse(
        r#"INSERT INTO "t" VALUE {'pk': ?, 'n': -1.5, 's': <<'a', 'b'>>, 'l': [true, null]}"#,
    )
    .unwrap()
    .statement;
    let Statement::Insert(insert) = insert else {
        panic!("not an insert")
    };
    let Literal::Map(entries) = insert.item else {
        panic!("not a map")
    };
    assert_eq!(entries[1], ("n".into(), Literal::Number("-1.5".into())));

    let update = parse(r#"UPDATE "t" SET a = a + 1, b = list_append(b, [1]) REMOVE c SET d = 'x' WHERE pk = 'k' RETURNING MODIFIED NEW *"#)
        .unwrap()
        .statement;
    let Statement::Update(update) = update else {
        panic!("not an update")
    };
    assert_eq!(update.actions.len(), 4);
    assert_eq!(update.actions[2], UpdateAction::Remove(name("c")));
    assert_eq!(update.returning, Some(Returning::UpdatedNew));

    let delete =
        parse(r#"DELETE FROM "t" WHERE pk = 'k' AND x IS NOT MISSING RETURNING ALL OLD *"#)
            .unwrap()
            .statement;
    let Statement::Delete(delete) = delete else {
        panic!("not a delete")
    };
    assert_eq!(delete.returning, Some(Returning::AllOld));
    assert_eq!(
        delete.condition.conjuncts()[1],
        &Condition::IsMissing(Operand::Path(name("x")), true)
    );
}

#[test]
fn malformed_statements_are_validation_errors() {
    for text in [
        " ",
        "SELEC * FROM t",
        "SELECT * FROM",
        "SELECT * FROM t WHERE",
        "SELECT * FROM t WHERE a = 'open",
        "UPDATE t WHERE pk = 1",
        "DELETE FROM t",
        "INSERT INTO t VALUE",
        "DELETE FROM t WHERE pk = 1 RETURNING ALL *",
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.code, ErrorCode::ValidationException, "{text}");
        assert!(
            e.message
                .unwrap()
                .starts_with("Statement wasn't well formed, can't be processed"),
            "{text}"
        );
    }
    // DynamoDB's exact words (the dynamodb-conformance suite's partiqlGrammar captures).
    let message = |text: &str| parse(text).unwrap_err().message.unwrap_or_default();
    let envelope = "Statement wasn't well formed, can't be processed: ";
    for text in [
        "SELECT * FROM t WHERE pk = 1 foo",
        "SELECT * FROM t WHERE pk = 1)",
        "DELETE FROM t WHERE pk = 1 ORDER BY pk",
        "SELECT * FROM t ORDER BY pk WHERE pk = 1",
        "INSERT INTO t VALUE {'pk': 1} foo",
    ] {
        assert_eq!(
            message(text),
            format!("{envelope}Unexpected token after expression"),
            "{text}"
        );
    }
    for text in [
        "SELECT * FROM t extra",
        "SELECT * FROM \"t\" AS x WHERE pk = 'a'",
        "UPDATE t x SET a = 3 WHERE pk = 'a'",
        "DELETE FROM t x WHERE pk = 'a'",
    ] {
        assert_eq!(message(text), "Aliasing is not supported", "{text}");
    }
    for text in [
        "SELECT * FROM t WHERE pk = 1 # note",
        "SELECT * FROM t /* note",
    ] {
        assert_eq!(message(text), envelope, "{text}");
    }
}

#[test]
fn literals_bind_with_parameters_and_set_rules() {
    let params = [AttributeValue::S("p".into()), num("2")];
    let list = Literal::List(vec![
        Literal::Param(1),
        Literal::Number("1.50".into()),
        Literal::Bool(false),
        Literal::Null,
    ]);
    assert_eq!(
        bind(&list, &params).unwrap(),
        AttributeValue::L(vec![
            num("2"),
            num("1.5"),
            AttributeValue::Bool(false),
            AttributeValue::Null
        ])
    );
    let strings = Literal::Bag(vec![Literal::Param(0), Literal::String("q".into())]);
    assert_eq!(
        bind(&strings, &params).unwrap(),
        AttributeValue::Ss(vec!["p".into(), "q".into()])
    );
    let numbers = Literal::Bag(vec![Literal::Number("1".into()), Literal::Param(1)]);
    assert!(matches!(bind(&numbers, &params).unwrap(), AttributeValue::Ns(n) if n.len() == 2));
    for bad in [
        Literal::Bag(vec![]),
        Literal::Bag(vec![
            Literal::String("a".into()),
            Literal::String("a".into()),
        ]),
        Literal::Bag(vec![
            Literal::String("a".into()),
            Literal::Number("1".into()),
        ]),
        Literal::Bag(vec![Literal::Bool(true)]),
        Literal::Param(2),
        Literal::Number("1e999".into()),
    ] {
        assert_eq!(
            bind(&bad, &params).unwrap_err().code,
            ErrorCode::ValidationException,
            "{bad:?}"
        );
    }
}

/// A key given twice in a tuple is refused where it is, not resolved to one of its values.
#[test]
fn duplicate_tuple_keys_are_refused_with_their_place() {
    let map = |entries: &[(&str, Literal)]| {
        Literal::Map(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    };
    let s = |text: &str| Literal::String(text.into());
    let cases = [
        (
            map(&[("pk", s("z")), ("pk", s("y"))]),
            "Duplicate keys in tuple. Key: pk under root",
        ),
        (
            map(&[("pk", s("z")), ("m", map(&[("k", s("a")), ("k", s("b"))]))]),
            "Duplicate keys in tuple. Key: k under root.m",
        ),
        (
            map(&[(
                "l",
                Literal::List(vec![s("a"), map(&[("k", s("a")), ("k", s("a"))])]),
            )]),
            "Duplicate keys in tuple. Key: k under root.l[1]",
        ),
    ];
    for (literal, message) in cases {
        let refused = bind(&literal, &[]).unwrap_err();
        assert_eq!(refused.code, ErrorCode::ValidationException);
        assert_eq!(refused.message.as_deref(), Some(message));
    }
}

/// The message of a ValidationException.
fn refusal<T: std::fmt::Debug>(result: Result<T, ApiError>) -> String {
    let refused = result.unwrap_err();
    assert_eq!(refused.code, ErrorCode::ValidationException);
    refused.message.unwrap_or_default()
}

/// `FROM "t" WHERE ... SET ...` is the UPDATE it stands for: the same statement, so that it
/// runs as one (the dynamodb-conformance suite's fromFirstUpdate captures).
#[test]
fn from_first_updates_parse_as_the_update_they_stand_for() {
    let pairs = [
        (
            r#"FROM "t" WHERE pk = 'k' SET c = 1"#,
            r#"UPDATE "t" SET c = 1 WHERE pk = 'k'"#,
        ),
        (
            r#"FROM "t" WHERE pk = 'k' REMOVE b"#,
            r#"UPDATE "t" REMOVE b WHERE pk = 'k'"#,
        ),
        (
            r#"FROM "t" WHERE pk = 'k' SET c = 2 REMOVE a SET d = a + 1"#,
            r#"UPDATE "t" SET c = 2 REMOVE a SET d = a + 1 WHERE pk = 'k'"#,
        ),
        (
            r#"FROM "t" WHERE pk = 'k' AND a = 1 SET c = 5 RETURNING ALL NEW *"#,
            r#"UPDATE "t" SET c = 5 WHERE pk = 'k' AND a = 1 RETURNING ALL NEW *"#,
        ),
        (
            r#"from "t" where pk = 'k' set e = 4 returning modified old *;"#,
            r#"UPDATE "t" SET e = 4 WHERE pk = 'k' RETURNING MODIFIED OLD *"#,
        ),
    ];
    for (from_first, update) in pairs {
        assert_eq!(
            parse(from_first).unwrap(),
            parse(update).unwrap(),
            "{from_first}"
        );
    }

    // Parameters are numbered as written: the WHERE's come first.
    let parsed = parse(r#"FROM "t" WHERE pk = ? SET c = ?"#).unwrap();
    assert_eq!(parsed.param_count, 2);
    let Statement::Update(update) = parsed.statement else {
        panic!("not an update")
    };
    assert_eq!(
        update.condition.equality(),
        Some(("pk", &Literal::Param(0)))
    );
    assert_eq!(
        update.actions,
        vec![UpdateAction::Set(
            name("c"),
            Operand::Literal(Literal::Param(1))
        )]
    );
}

/// A FROM-first UPDATE is refused in DynamoDB's words: with no WHERE as one that names no
/// key (no envelope), with the WHERE after the actions as a leftover token.
#[test]
fn from_first_updates_are_refused_in_dynamodbs_words() {
    let message = |text: &str| refusal(parse(text));
    let leftover =
        "Statement wasn't well formed, can't be processed: Unexpected token after expression";
    for (text, want) in [
        (r#"FROM "t" SET c = 1"#, INCOMPLETE_KEY),
        (r#"FROM "t" REMOVE a"#, INCOMPLETE_KEY),
        (r#"FROM "t" SET c = 1 RETURNING ALL NEW *"#, INCOMPLETE_KEY),
        (r#"FROM "t" SET c = 1 WHERE pk = 'k'"#, leftover),
        (r#"FROM "t" SET c = 1 WHERE pk = 'k' SET d = 2"#, leftover),
        (r#"FROM "t" WHERE pk = 'k' SET c = 1 WHERE a = 1"#, leftover),
        (
            r#"FROM "t" x WHERE pk = 'k' SET c = 1"#,
            "Aliasing is not supported",
        ),
    ] {
        assert_eq!(message(text), want, "{text}");
    }
    for text in [r#"FROM "t" WHERE pk = 'k'"#, r#"FROM "t""#, "FROM"] {
        assert!(
            message(text).starts_with("Statement wasn't well formed, can't be processed: "),
            "{text}"
        );
    }
}

/// A number literal DynamoDB cannot store is refused with the ordinary number message and
/// its place in the value; an INSERT item's attributes are each a value of their own (the
/// dynamodb-conformance suite's partiqlGrammar captures).
#[test]
fn number_literals_out_of_rules_name_their_place() {
    const OVERFLOW: &str =
        "Number overflow. Attempting to store a number with magnitude larger than supported range";
    const UNDERFLOW: &str = "Number underflow. Attempting to store a number with magnitude smaller than supported range";
    const DIGITS: &str = "Attempting to store more than 38 significant digits in a Number";
    let statement = |text: &str| parse(text).unwrap().statement;

    // A WHERE literal, and a SET one.
    for (literal, want) in [
        ("1e126", OVERFLOW),
        ("1e-131", UNDERFLOW),
        ("123456789012345678901234567890123456789", DIGITS),
        ("-1e126", OVERFLOW),
    ] {
        let Statement::Select(select) = statement(&format!("SELECT * FROM N WHERE pk = {literal}"))
        else {
            panic!("not a select")
        };
        let (_, value) = select.condition.as_ref().unwrap().equality().unwrap();
        assert_eq!(refusal(bind(value, &[])), format!("{want} under root"));
    }
    let Statement::Update(update) = statement("UPDATE N SET a = 1e-131 WHERE pk = 970005") else {
        panic!("not an update")
    };
    let set = Renderer::new(&[]).update_actions(&update.actions);
    assert_eq!(refusal(set), format!("{UNDERFLOW} under root"));

    // INSERT: places inside an attribute's value, named from its own root.
    for (item, want) in [
        ("{'pk': 1e126}", format!("{OVERFLOW} under root")),
        (
            "{'pk': 970006, 'm': {'x': 1e126}}",
            format!("{OVERFLOW} under root.x"),
        ),
        (
            "{'pk': 970007, 'l': [1, 1e126]}",
            format!("{OVERFLOW} under root[1]"),
        ),
        (
            "{'pk': 1, 'm': {'l': [{'y': 1e-131}]}}",
            format!("{UNDERFLOW} under root.l[0].y"),
        ),
        // The same read makes a key given twice inside an attribute's tuple `under root`.
        (
            "{'pk': 1, 'm': {'k': 1, 'k': 2}}",
            "Duplicate keys in tuple. Key: k under root".to_string(),
        ),
        (
            "{'pk': 1, 'l': ['a', {'k': 1, 'k': 2}]}",
            "Duplicate keys in tuple. Key: k under root[1]".to_string(),
        ),
    ] {
        let Statement::Insert(insert) = statement(&format!("INSERT INTO N VALUE {item}")) else {
            panic!("not an insert")
        };
        assert_eq!(refusal(bind_item(&insert.item, &[])), want, "{item}");
    }

    // A value literal elsewhere is one value: its places run from `root` through its keys.
    let nested = Literal::Map(vec![(
        "m".into(),
        Literal::Map(vec![("x".into(), Literal::Number("1e126".into()))]),
    )]);
    assert_eq!(
        refusal(bind(&nested, &[])),
        format!("{OVERFLOW} under root.m.x")
    );
    // Text that is no number at all keeps the plain message.
    assert_eq!(
        refusal(bind(&Literal::Number("1.2.3".into()), &[])),
        "The parameter cannot be converted to a numeric value: 1.2.3"
    );
}

/// DynamoDB's malformed-statement words.
const ENVELOPE: &str = "Statement wasn't well formed, can't be processed: ";

/// The message `text` is refused with.
/// The WHERE condition of SELECT statement `text`.
fn select_condition(text: &str) -> Condition {
    let Statement::Select(select) = parse(text).unwrap().statement else {
        panic!("not a select: {text}")
    };
    select.condition.unwrap()
}

fn refused(text: &str) -> String {
    refusal(parse(text))
}

/// A number literal whose exponent or scale does not fit a 32-bit integer cannot be read at
/// all: nothing follows the malformed-statement words, where a readable one out of range
/// is an overflow (the partiqlGrammar captures).
#[test]
fn unreadable_number_literals_are_malformed_with_nothing_more() {
    for literal in ["1e2147483648", "1e99999999999", "1.5e-2147483647"] {
        let text = format!("SELECT * FROM N WHERE pk = {literal}");
        assert_eq!(refused(&text), ENVELOPE, "{text}");
    }
    assert!(parse("SELECT * FROM N WHERE pk = 1e2147483647").is_ok());
}

/// Syntax errors carry PartiQL's own details (the dynamodb-conformance suite's
/// partiqlGrammar captures).
#[test]
fn syntax_errors_carry_partiqls_details() {
    let cases = [
        ("SELECT * FROM \"S\" WHERE", "Unexpected term"),
        ("SELECT * FROM \"S\" WHERE;", "Unexpected term"),
        ("SELECT * FROM \"S\" WHERE   ", "Unexpected term"),
        ("SELECT pk FROM \"S\" WHERE", "Unexpected term"),
        ("UPDATE \"S\" SET a = 1 WHERE", "Unexpected term"),
        ("DELETE FROM \"S\" WHERE", "Unexpected term"),
        ("SELECT * FROM \"S\" WHERE NOT", "Unexpected term"),
        ("SELECT * FROM \"S\" WHERE (", "Unexpected term"),
        ("SELECT * FROM", "Unexpected term"),
        (
            "SELECT * FROM \"S\" WHERE pk = 'p1' AND",
            "Missing right-hand side expression of infix operator",
        ),
        (
            "SELECT * FROM \"S\" WHERE pk = 'p1' OR",
            "Missing right-hand side expression of infix operator",
        ),
        (
            "SELECT * FROM \"S\" WHERE pk =",
            "Missing right-hand side expression of infix operator",
        ),
        (
            "SELECT * FROM \"S\" WHERE ORDER BY pk",
            "Unexpected keyword",
        ),
        ("SELECT * FROM \"S\" WHERE IS NULL", "Unexpected operator"),
        ("SELECT * FROM \"S\" WHERE pk = LIKE", "Unexpected operator"),
        (
            "SELECT * FROM \"S\" WHERE pk = 'a' AND x IS FOO",
            "Expected type name",
        ),
        ("x IS FOO", "Expected type name"),
        ("DELETE FROM", "Expected identifier for simple path"),
        ("DELETE FROM   ", "Expected identifier for simple path"),
        ("DELETE FROM;", "Expected identifier for simple path"),
        (
            "DELETE FROM WHERE pk = 'a'",
            "Expected identifier for simple path",
        ),
        (
            "INSERT INTO \"S\" t VALUE {'pk': 'x'}",
            "Unexpected token after expression",
        ),
    ];
    for (text, detail) in cases {
        assert_eq!(refused(text), format!("{ENVELOPE}{detail}"), "{text}");
    }
}

/// A statement that is an expression alone parses, then is refused by its kind, before
/// anything inside it is looked at (the partiqlGrammar captures).
#[test]
fn an_expression_alone_is_refused_by_its_kind() {
    for ty in [
        "INT4",
        "INT8",
        "DOUBLE PRECISION",
        "CHARACTER VARYING",
        "string",
    ] {
        let text = format!("x IS {ty}");
        assert_eq!(refused(&text), "Unsupported operation: IsType", "{text}");
    }
    assert_eq!(refused("x IS NOT NULL"), "Unsupported operation: Not");
    assert_eq!(refused("x = 1"), "Unsupported operation: Eq");
    // Read whole first: a leftover token is a syntax error.
    assert_eq!(
        refused("x IS INT4 y"),
        format!("{ENVELOPE}Unexpected token after expression")
    );
}

/// In a WHERE, IS takes PartiQL's type names; one DynamoDB has no values of reads, then
/// is refused (DynamoDB Local's words for it).
#[test]
fn an_is_test_for_a_type_dynamodb_lacks_is_refused() {
    assert_eq!(
        refused("SELECT * FROM t WHERE pk = 'a' AND x IS INT4"),
        "Unsupported data type for IS operator: INT4. Supported data types are [MISSING, NULL, BOOLEAN, BLOB, STRING, NUMERIC, STRUCT, TUPLE, LIST]"
    );
    let condition = select_condition("SELECT * FROM t WHERE a IS STRUCT AND b IS NOT blob");
    assert_eq!(
        condition.conjuncts(),
        [
            &Condition::IsType(Operand::Path(name("a")), "M", false),
            &Condition::IsType(Operand::Path(name("b")), "B", true),
        ]
    );
}

/// Functions DynamoDB does not take where they are written are refused in its words, at
/// `line:column:length` of the function's name (the partiqlFunctions captures); a syntax
/// error anywhere in the statement is found first.
#[test]
fn misplaced_functions_are_refused_at_their_place() {
    let where_ = |condition: &str| format!("SELECT * FROM \"T\" WHERE pk = 'x' AND {condition}");
    let update = |set: &str| format!("UPDATE \"T\" SET {set} WHERE pk = 'x'");
    // The column of `token`'s first occurrence in `text` at or after byte `from`.
    let column =
        |text: &str, token: &str, from: usize| text[from..].find(token).unwrap() + from + 1;
    // Each statement with the token the message places (its first occurrence), and the
    // message before ` at 1:<column>:<length>`.
    let cases = [
        (
            where_("EXISTS(ss)"),
            "EXISTS",
            "Unrecognized function: exists",
        ),
        (
            where_("set_add(ss, <<'x'>>) = ss"),
            "set_add",
            "Unrecognized function: set_add",
        ),
        (
            "SELECT attribute_exists(ss) FROM \"T\" WHERE pk = 'x'".to_string(),
            "attribute_exists",
            "Unexpected path component",
        ),
        (
            "INSERT INTO \"T\" VALUE {'pk': 'i', 'ss': set_add(<<'a'>>, <<'b'>>)}".to_string(),
            "set_add",
            "Unsupported data type: set_add under key root",
        ),
        (
            update("t = set_add(ss, <<'x'>>)"),
            "set_add",
            "The first argument to SET_ADD must equal the assignment value",
        ),
        (
            update("ss = set_add(<<'a'>>, <<'b'>>)"),
            "set_add",
            "The first argument to SET_ADD must equal the assignment value",
        ),
        (
            update("ss = set_add(ss)"),
            "set_add",
            "SET_ADD must have exactly two arguments",
        ),
        (
            update("ss = set_add(ss, <<'x'>>, <<'y'>>)"),
            "set_add",
            "SET_ADD must have exactly two arguments",
        ),
        (
            update("t = set_delete(ss, <<'a'>>)"),
            "set_delete",
            "The first argument to SET_DELETE must equal the assignment value",
        ),
    ];
    for (text, token, message) in cases {
        let want = format!("{message} at 1:{}:{}", column(&text, token, 0), token.len());
        assert_eq!(refused(&text), want, "{text}");
    }
    // The second argument's type is placed at the first argument.
    for (set, function) in [
        ("ss = set_add(ss, 'x')", "SET_ADD"),
        ("ss = set_add(ss, ['x'])", "SET_ADD"),
        ("ss = set_delete(ss, 'a')", "SET_DELETE"),
    ] {
        let text = update(set);
        let call = text.find("set_").unwrap();
        let want = format!(
            "The second argument to {function} must be a value with type SET at 1:{}:2",
            column(&text, "ss", call)
        );
        assert_eq!(refused(&text), want, "{text}");
    }
    // Places count characters, and lines.
    let text = "SELECT * FROM \"tä\"\nWHERE pk = 'é' AND\n  foo(a) = 1";
    assert_eq!(refused(text), "Unrecognized function: foo at 3:3:3");
    // A syntax error anywhere comes first.
    assert_eq!(
        refused(&format!("{} extra", where_("EXISTS(ss)"))),
        format!("{ENVELOPE}Unexpected token after expression")
    );
    // The forms DynamoDB takes still parse.
    for text in [
        update("ss = set_add(ss, <<'x'>>), n = size(l), l = list_append(l, [1])"),
        update("ss = set_delete(ss, ?)"),
        where_("size(l) > 1 AND attribute_exists(ss) AND begins_with(s, 'a')"),
    ] {
        assert!(parse(&text).is_ok(), "{text}");
    }
}

/// An empty bag, and a function called with no operands, are refused in DynamoDB's words
/// when bound and rendered (the partiqlFunctions captures).
#[test]
fn empty_bags_and_empty_calls_are_refused_in_dynamodbs_words() {
    assert_eq!(
        refusal(bind(&Literal::Bag(vec![]), &[])),
        "Empty bags are not supported"
    );
    let condition = select_condition("SELECT * FROM t WHERE pk = 'x' AND attribute_exists()");
    assert_eq!(
        refusal(Renderer::new(&[]).condition(&condition)),
        "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 0"
    );
}

#[test]
fn renders_expressions_with_placeholders() {
    let params = [AttributeValue::S("v".into())];
    let parsed = parse(
        r#"UPDATE "t" SET "size" = ?, tags = set_add(tags, <<'x'>>), old = set_delete(old, <<'y'>>) REMOVE gone WHERE pk = 'k' AND (a IS MISSING OR b IS NOT NULL)"#,
    )
    .unwrap();
    let Statement::Update(update) = parsed.statement else {
        panic!("not an update")
    };
    let mut renderer = Renderer::new(&params);
    let expression = renderer.update_actions(&update.actions).unwrap();
    assert_eq!(
        expression,
        "SET #p0 = :p0 REMOVE #p3 ADD #p1 :p1 DELETE #p2 :p2"
    );
    assert_eq!(renderer.names["#p0"], "size");
    assert_eq!(renderer.values[":p0"], AttributeValue::S("v".into()));
    let condition = renderer.condition(update.condition.conjuncts()[1]).unwrap();
    assert_eq!(
        condition,
        "(attribute_not_exists(#p4)) OR (attribute_exists(#p5) AND NOT attribute_type(#p5, :p3))"
    );
    // The same name gets one placeholder.
    assert_eq!(renderer.name("size"), "#p0");
}

#[test]
fn hostile_nesting_and_length_are_refused_not_overflowed() {
    let deep_list = format!(
        "INSERT INTO t VALUE {{'a': {}1{}}}",
        "[".repeat(2000),
        "]".repeat(2000)
    );
    let deep_not = format!("SELECT * FROM t WHERE {}a = 1", "NOT ".repeat(2000));
    let deep_parens = format!(
        "SELECT * FROM t WHERE {}a = 1{}",
        "(".repeat(3000),
        ")".repeat(3000)
    );
    let deep_calls = format!(
        "UPDATE t SET a = {}1{} WHERE pk = 1",
        "size(".repeat(1000),
        ")".repeat(1000)
    );
    for text in [deep_list, deep_not, deep_parens, deep_calls] {
        assert_eq!(
            parse(&text).unwrap_err().code,
            ErrorCode::ValidationException
        );
    }
    let long = format!("SELECT * FROM t WHERE a = '{}'", "x".repeat(9000));
    assert!(parse(&long).unwrap_err().message.unwrap().contains("8192"));
    assert!(parse("").is_err());
}

#[test]
fn missing_compares_as_absence_and_drops_map_members() {
    let parsed = parse(r#"SELECT * FROM "t" WHERE a = MISSING AND MISSING <> b"#).unwrap();
    let Statement::Select(select) = parsed.statement else {
        panic!("not a select")
    };
    let mut renderer = Renderer::new(&[]);
    let condition = renderer.condition(&select.condition.unwrap()).unwrap();
    assert_eq!(
        condition,
        "(attribute_not_exists(#p0)) AND (attribute_exists(#p1))"
    );
    let item = Literal::Map(vec![
        ("pk".into(), Literal::String("k".into())),
        ("gone".into(), Literal::Missing),
    ]);
    let AttributeValue::M(map) = bind(&item, &[]).unwrap() else {
        panic!("not a map")
    };
    assert_eq!(map.keys().collect::<Vec<_>>(), vec!["pk"]);
    assert_eq!(
        bind(&Literal::Missing, &[]).unwrap_err().code,
        ErrorCode::ValidationException
    );
}

#[test]
fn parses_exists_checks() {
    let parsed = parse(r#"EXISTS(SELECT * FROM "t" WHERE pk = ? AND n > 1)"#).unwrap();
    let Statement::Exists(select) = parsed.statement else {
        panic!("not an EXISTS")
    };
    assert_eq!(select.table, "t");
    assert_eq!(select.condition.unwrap().conjuncts().len(), 2);
    assert_eq!(parsed.param_count, 1);
    for bad in [
        "EXISTS SELECT * FROM t",
        "EXISTS(SELECT * FROM t",
        "EXISTS(DELETE FROM t WHERE pk = 1)",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
}

// Statements assembled from PartiQL's own tokens (and some stray ones): parsing, binding
// and rendering any of them returns a statement or a ValidationException, never a panic.
proptest::proptest! {
    #[test]
    fn any_token_soup_parses_or_is_refused(
        tokens in proptest::collection::vec(
            proptest::sample::select(vec![
                "SELECT", "INSERT", "INTO", "UPDATE", "DELETE", "FROM", "WHERE", "VALUE", "SET",
                "REMOVE", "RETURNING", "ALL", "MODIFIED", "OLD", "NEW", "EXISTS", "AND", "OR",
                "NOT", "IN", "IS", "MISSING", "NULL", "BETWEEN", "ORDER", "BY", "DESC", "*",
                "\"t\"", "a", "b", "pk", "'s'", "1", "-2.5e3", "?", "true", "(", ")", "[", "]",
                "{", "}", "<<", ">>", ",", ".", ":", "=", "<>", "<", ">=", "+", "-",
                "size", "begins_with", "set_add", "list_append", "'", "\"", "#", ";",
            ]),
            0..40,
        ),
    ) {
        let text = tokens.join(" ");
        if let Ok(parsed) = parse(&text) {
            let params = vec![AttributeValue::S("p".into()); parsed.param_count];
            let mut renderer = Renderer::new(&params);
            match &parsed.statement {
                Statement::Select(s) | Statement::Exists(s) => {
                    if let Some(c) = &s.condition {
                        let _ = renderer.condition(c);
                    }
                }
                Statement::Insert(i) => {
                    let _ = bind_item(&i.item, &params);
                }
                Statement::Update(u) => {
                    let _ = renderer.update_actions(&u.actions);
                    let _ = renderer.condition(&u.condition);
                }
                Statement::Delete(d) => {
                    let _ = renderer.condition(&d.condition);
                }
            }
        }
    }
}
