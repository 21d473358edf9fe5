//! PartiQL: ExecuteStatement (INSERT, SELECT, UPDATE, DELETE), BatchExecuteStatement and
//! ExecuteTransaction, driven with aws-sdk-dynamodb against the real store: value literals
//! of every shape, key-condition and filtered SELECTs with projections and pagination,
//! quoted identifiers, conditional writes and RETURNING, per-statement batch errors,
//! all-or-nothing transactions, the error names and messages DynamoDB gives, and statements
//! through a dax-proxy node seen by (and invalidating) its cache.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::execute_statement::builders::ExecuteStatementFluentBuilder;
use aws_sdk_dynamodb::operation::execute_statement::ExecuteStatementError;
use aws_sdk_dynamodb::operation::execute_transaction::{
    ExecuteTransactionError, ExecuteTransactionOutput,
};
use aws_sdk_dynamodb::types::{
    AttributeValue, BatchStatementErrorCodeEnum, BatchStatementRequest, ParameterizedStatement,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

type Item = HashMap<String, AttributeValue>;

/// One table seen through one client. Statements name it `$T`, which becomes the
/// double-quoted table name (test table names contain `-`, so must be quoted identifiers).
struct Db {
    ddb: Client,
    table: String,
}

/// A store and one table: hash key `pk` (S), plus range key `sk` (N) when `with_range`.
async fn store_with_table(with_range: bool) -> (StoreProcess, Db) {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("pq");
    if with_range {
        create_hash_range_table(&ddb, &table).await;
    } else {
        create_hash_table(&ddb, &table).await;
    }
    (store, Db { ddb, table })
}

/// DynamoDB rejects an empty `Parameters` list: send none at all instead.
fn params(values: &[AttributeValue]) -> Option<Vec<AttributeValue>> {
    (!values.is_empty()).then(|| values.to_vec())
}

impl Db {
    fn sql(&self, statement: &str) -> String {
        statement.replace("$T", &format!("\"{}\"", self.table))
    }

    /// An ExecuteStatement request, ready to send (or to add a limit / next token to).
    fn stmt(&self, statement: &str, values: &[AttributeValue]) -> ExecuteStatementFluentBuilder {
        self.ddb
            .execute_statement()
            .statement(self.sql(statement))
            .set_parameters(params(values))
    }

    /// Runs a write statement that must succeed; returns its `Items` (RETURNING ...).
    async fn write(&self, statement: &str, values: &[AttributeValue]) -> Vec<Item> {
        ok(self.stmt(statement, values).send().await)
            .items()
            .to_vec()
    }

    /// Runs a strongly consistent SELECT that must succeed and fit in one page.
    async fn select(&self, statement: &str, values: &[AttributeValue]) -> Vec<Item> {
        let request = self.stmt(statement, values).consistent_read(true);
        let out = ok(request.send().await);
        assert!(
            out.next_token().is_none(),
            "a small SELECT without Limit came back with a NextToken: {statement}"
        );
        out.items().to_vec()
    }

    /// Runs a statement that must fail with `code`; returns the error.
    async fn fails(
        &self,
        statement: &str,
        values: &[AttributeValue],
        code: &str,
    ) -> SdkError<ExecuteStatementError> {
        assert_api_error(self.stmt(statement, values).send().await, code, None)
    }

    fn batch(&self, statement: &str, values: &[AttributeValue]) -> BatchStatementRequest {
        BatchStatementRequest::builder()
            .statement(self.sql(statement))
            .set_parameters(params(values))
            .build()
            .unwrap()
    }

    fn txn(&self, statement: &str, values: &[AttributeValue]) -> ParameterizedStatement {
        ParameterizedStatement::builder()
            .statement(self.sql(statement))
            .set_parameters(params(values))
            .build()
            .unwrap()
    }

    /// GetItem, strongly consistent; `sk` for hash+range tables.
    async fn get(&self, pk: &str, sk: Option<i64>) -> Option<Item> {
        let mut request = self.ddb.get_item().table_name(&self.table).key("pk", s(pk));
        if let Some(sk) = sk {
            request = request.key("sk", n(sk));
        }
        ok(request.consistent_read(true).send().await).item
    }

    /// PutItem of `pairs` (to seed tables independently of INSERT).
    async fn put(&self, pairs: &[(&str, AttributeValue)]) {
        let request = self.ddb.put_item().table_name(&self.table);
        ok(request.set_item(Some(item(pairs))).send().await);
    }
}

fn sk_of(i: &Item) -> i64 {
    match i.get("sk") {
        Some(AttributeValue::N(v)) => v.parse().unwrap(),
        other => panic!("item without a number sk ({other:?}): {i:?}"),
    }
}

/// The `sk` numbers of items, in the order given.
fn sks(items: &[Item]) -> Vec<i64> {
    items.iter().map(sk_of).collect()
}

/// "pk/sk" of items, sorted: for results whose order is not defined (scans).
fn sorted_keys(items: &[Item]) -> Vec<String> {
    let mut keys: Vec<String> = items
        .iter()
        .map(|i| format!("{}/{}", i["pk"].as_s().unwrap(), sk_of(i)))
        .collect();
    keys.sort();
    keys
}

/// Sets come back in any order; sort them so items compare.
fn sorted_sets(mut item: Item) -> Item {
    for value in item.values_mut() {
        if let AttributeValue::Ss(v) | AttributeValue::Ns(v) = value {
            v.sort();
        }
    }
    item
}

fn ss(values: &[&str]) -> AttributeValue {
    AttributeValue::Ss(values.iter().map(|v| v.to_string()).collect())
}

// ---------------------------------------------------------------------------------------------
// ExecuteStatement

#[tokio::test]
async fn insert_writes_every_literal_shape_and_refuses_duplicates() {
    let (_store, db) = store_with_table(false).await;
    let returned = db
        .write(
            "INSERT INTO $T VALUE {'pk': ?, 'a': 1, 'tags': <<'x','y'>>, \
             'm': {'k': [1, 'two', true, null]}}",
            &[s("p1")],
        )
        .await;
    assert!(returned.is_empty(), "INSERT returns no items: {returned:?}");

    let got = db.get("p1", None).await.expect("INSERT created the item");
    let list = vec![
        n(1),
        s("two"),
        AttributeValue::Bool(true),
        AttributeValue::Null(true),
    ];
    let want = item(&[
        ("pk", s("p1")),
        ("a", n(1)),
        ("tags", ss(&["x", "y"])),
        (
            "m",
            AttributeValue::M(item(&[("k", AttributeValue::L(list))])),
        ),
    ]);
    assert_eq!(sorted_sets(got), want);
    let want_p1 = want;

    // Parameters keep their own types.
    let values = [s("p2"), n("-2.5"), AttributeValue::Bool(false), ss(&["7"])];
    let insert = "INSERT INTO $T VALUE {'pk': ?, 'num': ?, 'flag': ?, 'ss': ?}";
    db.write(insert, &values).await;
    let names = ["pk", "num", "flag", "ss"];
    let want: Item = names.iter().map(|k| k.to_string()).zip(values).collect();
    assert_eq!(db.get("p2", None).await, Some(want));

    // A second INSERT of the same key fails and leaves the item as it was.
    let result = db
        .stmt("INSERT INTO $T VALUE {'pk': ?, 'a': 2}", &[s("p1")])
        .send()
        .await;
    assert_api_error(
        result,
        "DuplicateItemException",
        Some("Duplicate primary key exists in table"),
    );
    let after = db.get("p1", None).await.map(sorted_sets);
    assert_eq!(after, Some(want_p1));

    // Literals nest no deeper than PutItem's items may (32 levels), also around a
    // parameter; the item was stored before, and then no update or put could write it.
    let deep = |levels: usize| "{'k':".repeat(levels) + "1" + &"}".repeat(levels);
    db.write(
        &format!("INSERT INTO $T VALUE {{'pk': 'deep', 'd': {}}}", deep(31)),
        &[],
    )
    .await;
    let too_deep = format!("INSERT INTO $T VALUE {{'pk': 'deeper', 'd': {}}}", deep(32));
    let refused = db.fails(&too_deep, &[], "ValidationException").await;
    assert!(
        format!("{refused:?}").contains("Nesting Levels"),
        "{refused:?}"
    );
    let around = "INSERT INTO $T VALUE {'pk': 'around', 'd': {'k': ?}}";
    let mut param = n(1);
    for _ in 0..31 {
        param = AttributeValue::M(item(&[("k", param)]));
    }
    db.fails(around, &[param], "ValidationException").await;
    assert_eq!(db.get("deeper", None).await, None);
    assert_eq!(db.get("around", None).await, None);
}

/// Partition 'p': sk 1..5; partition 'q': sk 1, 2. Attribute `a` on every item, `m` on p/1.
async fn seed_two_partitions(db: &Db) {
    let a_of = |pk: &str, sk: i64| match (pk, sk) {
        ("p", 2) => "pre-2",
        ("p", 4) => "pre-4",
        ("p", 5) => "y",
        ("q", 1) => "pre-q",
        _ => "x",
    };
    let keys = (1..=5).map(|sk| ("p", sk)).chain([("q", 1), ("q", 2)]);
    for (pk, sk) in keys {
        let mut pairs = vec![("pk", s(pk)), ("sk", n(sk)), ("a", s(a_of(pk, sk)))];
        if (pk, sk) == ("p", 1) {
            let list = AttributeValue::L(vec![n(10), n(20)]);
            pairs.push(("m", AttributeValue::M(item(&[("k", list)]))));
        }
        db.put(&pairs).await;
    }
}

/// [`seed_two_partitions`], and a partition a Scan would have to read: 40 items of ~10 KB
/// (~100 units read consistently), so that capacity tells a Query from a Scan.
async fn seed_two_partitions_and_a_big_one(db: &Db) {
    seed_two_partitions(db).await;
    let bulk = "b".repeat(10_000);
    for sk in 0..40 {
        db.put(&[("pk", s("big")), ("sk", n(sk)), ("a", s(&bulk))])
            .await;
    }
}

/// Items as `pk` followed by `sk` (`p3`), in the order given.
fn pk_sk(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| format!("{}{}", i["pk"].as_s().unwrap(), sk_of(i)))
        .collect()
}

#[tokio::test]
async fn select_queries_scans_filters_and_projections() {
    let (_store, db) = store_with_table(true).await;
    seed_two_partitions(&db).await;

    // Partition key equality: a Query, ascending by sort key, whole items.
    let all_p = db.select("SELECT * FROM $T WHERE pk = ?", &[s("p")]).await;
    assert_eq!(sks(&all_p), vec![1, 2, 3, 4, 5]);
    let second = item(&[("pk", s("p")), ("sk", n(2)), ("a", s("pre-2"))]);
    assert_eq!(all_p[1], second);
    assert!(
        all_p[0].contains_key("m"),
        "SELECT * returns every attribute"
    );

    // Sort key range, projected to the key attributes only.
    let gt = db
        .select("SELECT pk, sk FROM $T WHERE pk = 'p' AND sk > 2", &[])
        .await;
    let want: Vec<Item> = (3..=5)
        .map(|sk| item(&[("pk", s("p")), ("sk", n(sk))]))
        .collect();
    assert_eq!(gt, want);

    let between = "SELECT * FROM $T WHERE pk = 'p' AND sk BETWEEN 2 AND 3";
    assert_eq!(sks(&db.select(between, &[]).await), vec![2, 3]);

    let desc = "SELECT * FROM $T WHERE pk = 'p' ORDER BY sk DESC";
    assert_eq!(sks(&db.select(desc, &[]).await), vec![5, 4, 3, 2, 1]);

    // A non-key condition filters the partition.
    let filtered = db
        .select("SELECT * FROM $T WHERE pk = 'p' AND a = 'x'", &[])
        .await;
    assert_eq!(sorted_keys(&filtered), vec!["p/1", "p/3"]);
    assert_eq!(sks(&filtered), vec![1, 3], "still in sort key order");

    // No WHERE: a full scan.
    let everything = db.select("SELECT * FROM $T", &[]).await;
    assert_eq!(
        sorted_keys(&everything),
        vec!["p/1", "p/2", "p/3", "p/4", "p/5", "q/1", "q/2"]
    );

    // A function in WHERE and no key: a scan with a filter, across partitions.
    let prefixed = db
        .select("SELECT * FROM $T WHERE begins_with(a, 'pre')", &[])
        .await;
    assert_eq!(sorted_keys(&prefixed), vec!["p/2", "p/4", "q/1"]);

    // A nested path projects like a ProjectionExpression: the path's shape is kept.
    let nested = db
        .select("SELECT m.k[0] FROM $T WHERE pk = 'p' AND sk = 1", &[])
        .await;
    let first = AttributeValue::L(vec![n(10)]);
    let want = item(&[("m", AttributeValue::M(item(&[("k", first)])))]);
    assert_eq!(nested, vec![want]);

    // A key that matches nothing is an empty result, not an error.
    let none = db.select("SELECT * FROM $T WHERE pk = 'zzz'", &[]).await;
    assert!(none.is_empty(), "{none:?}");

    // MISSING: only p1 has `m`.
    let without = db
        .select("SELECT * FROM $T WHERE pk = 'p' AND m = MISSING", &[])
        .await;
    assert_eq!(sks(&without), vec![2, 3, 4, 5]);
    let with = db
        .select("SELECT * FROM $T WHERE pk = 'p' AND m <> MISSING", &[])
        .await;
    assert_eq!(sks(&with), vec![1]);
}

#[tokio::test]
async fn select_pages_with_limit_and_next_token() {
    let (_store, db) = store_with_table(true).await;
    seed_two_partitions(&db).await;
    let statement = "SELECT * FROM $T WHERE pk = 'p'";

    let first = ok(db.stmt(statement, &[]).limit(2).send().await);
    assert_eq!(
        sks(first.items()),
        vec![1, 2],
        "the first page holds Limit items"
    );
    let mut token = first
        .next_token()
        .expect("a page cut short by Limit has a NextToken")
        .to_string();

    let mut seen = sks(first.items());
    for _ in 0..10 {
        let request = db.stmt(statement, &[]).limit(2).next_token(&token);
        let page = ok(request.send().await);
        assert!(
            page.items().len() <= 2,
            "over the limit: {:?}",
            page.items()
        );
        seen.extend(sks(page.items()));
        match page.next_token() {
            Some(next) => token = next.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, vec![1, 2, 3, 4, 5], "every item once, in order");
}

/// A NextToken belongs to the statement and parameters that minted it: DynamoDB refuses it
/// with another statement or other parameters, and keeps it valid across another Limit.
#[tokio::test]
async fn a_next_token_resumes_only_its_own_statement_and_parameters() {
    let (_store, db) = store_with_table(true).await;
    seed_two_partitions(&db).await;
    let statement = "SELECT * FROM $T WHERE pk = ?";
    let first = ok(db.stmt(statement, &[s("p")]).limit(2).send().await);
    let token = first.next_token().expect("a NextToken").to_string();

    let mismatch = Some("NextToken does not match request");
    let another_statement = "SELECT * FROM $T WHERE pk = 'p'";
    let sent = db
        .stmt(another_statement, &[])
        .next_token(&token)
        .send()
        .await;
    assert_api_error(sent, "ValidationException", mismatch);
    let other_parameters = db
        .stmt(statement, &[s("q")])
        .next_token(&token)
        .send()
        .await;
    assert_api_error(other_parameters, "ValidationException", mismatch);

    let resumed = ok(db
        .stmt(statement, &[s("p")])
        .limit(10)
        .next_token(&token)
        .send()
        .await);
    assert_eq!(sks(resumed.items()), vec![3, 4, 5]);
}

/// `pk IN [...]` and ORs of partition-key equalities read those partitions only (one
/// Query each, in the order written), and page across them.
#[tokio::test]
async fn partition_lists_query_each_partition_and_page_across_them() {
    let (_store, db) = store_with_table(true).await;
    seed_two_partitions_and_a_big_one(&db).await;
    let want = ["q1", "q2", "p1", "p2", "p3", "p4", "p5"];
    for statement in [
        "SELECT * FROM $T WHERE pk IN ['q', 'p', 'nobody']",
        "SELECT * FROM $T WHERE pk = 'q' OR pk = 'p'",
    ] {
        let request = db
            .stmt(statement, &[])
            .consistent_read(true)
            .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total);
        let out = ok(request.send().await);
        assert_eq!(pk_sk(out.items()), want, "{statement}");
        // One strongly consistent unit per partition read, not the ~100 of a Scan.
        let units = out.consumed_capacity().unwrap().capacity_units().unwrap();
        assert!(units <= 3.0, "{statement} read {units} units: a Scan?");
    }

    // Limit 3 pages across partitions; every item comes exactly once, in order.
    let statement = "SELECT * FROM $T WHERE pk IN ['q', 'p'] AND sk >= 1";
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let request = db
            .stmt(statement, &[])
            .limit(3)
            .set_next_token(token.clone());
        let page = ok(request.send().await);
        assert!(page.items().len() <= 3);
        seen.extend(pk_sk(page.items()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, want);
}

#[tokio::test]
async fn key_conditions_a_key_condition_cannot_hold_filter_the_partition() {
    let (_store, db) = store_with_table(true).await;
    seed_two_partitions_and_a_big_one(&db).await;
    let total = aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total;
    for (statement, want) in [
        (
            "SELECT * FROM $T WHERE pk = 'p' AND sk <> 3",
            vec![1, 2, 4, 5],
        ),
        (
            "SELECT * FROM $T WHERE pk = 'p' AND sk IN [2, 4, 9]",
            vec![2, 4],
        ),
        (
            "SELECT * FROM $T WHERE pk = 'p' AND (sk = 1 OR sk = 5)",
            vec![1, 5],
        ),
        ("SELECT * FROM $T WHERE pk = 'p' AND 3 < sk", vec![4, 5]),
        (
            "SELECT * FROM $T WHERE pk = 'p' AND sk > 1 AND sk < 5",
            vec![2, 3, 4],
        ),
        ("SELECT * FROM $T WHERE 'p' = pk AND sk = 2", vec![2]),
        (
            "SELECT * FROM $T WHERE pk = 'p' AND begins_with(pk, 'p') AND sk <= 2",
            vec![1, 2],
        ),
        (
            "SELECT * FROM $T WHERE pk = 'p' AND sk > 1 AND sk < 5 ORDER BY sk DESC",
            vec![4, 3, 2],
        ),
        (
            "SELECT * FROM $T WHERE pk = 'p' AND sk <> 3 ORDER BY sk DESC",
            vec![5, 4, 2, 1],
        ),
    ] {
        let request = db
            .stmt(statement, &[])
            .consistent_read(true)
            .return_consumed_capacity(total.clone());
        let out = ok(request.send().await);
        assert_eq!(sks(out.items()), want, "{statement}");
        assert!(
            out.items().iter().all(|i| i["pk"] == s("p")),
            "{statement}: {:?}",
            out.items()
        );
        // The partition's 5 small items, not the table: a Query, not a Scan.
        let units = out.consumed_capacity().unwrap().capacity_units().unwrap();
        assert!(units <= 1.0, "{statement} read {units} units: a Scan?");
    }

    // Limit counts the partition's items read, before the filter, page after page.
    let statement = "SELECT sk FROM $T WHERE pk = 'p' AND sk <> 1";
    let (mut seen, mut pages, mut token) = (Vec::new(), 0, None::<String>);
    loop {
        let request = db
            .stmt(statement, &[])
            .limit(2)
            .set_next_token(token.clone());
        let page = ok(request.send().await);
        pages += 1;
        seen.extend(sks(page.items()));
        token = page.next_token().map(str::to_string);
        if token.is_none() || pages > 10 {
            break;
        }
    }
    assert_eq!(seen, [2, 3, 4, 5]);
    assert_eq!(pages, 3, "2 + 2 + 1 items read");
}

#[tokio::test]
async fn partition_lists_order_by_the_key_and_share_one_megabyte() {
    let (_store, db) = store_with_table(true).await;
    seed_two_partitions(&db).await;
    let descending = "SELECT * FROM $T WHERE pk IN ['p', 'q'] ORDER BY pk DESC";
    let want = ["q2", "q1", "p5", "p4", "p3", "p2", "p1"];
    assert_eq!(pk_sk(&db.select(descending, &[]).await), want);
    let ascending = "SELECT * FROM $T WHERE pk IN ['q', 'p'] ORDER BY pk ASC";
    let want = ["p1", "p2", "p3", "p4", "p5", "q1", "q2"];
    assert_eq!(pk_sk(&db.select(ascending, &[]).await), want);

    // Three partitions of two 350 KB items: one page reads at most 1 MB of them.
    let bulk = "x".repeat(350_000);
    for pk in ["B1", "B2", "B3"] {
        for sk in 0..2 {
            db.put(&[("pk", s(pk)), ("sk", n(sk)), ("a", s(&bulk))])
                .await;
        }
    }
    let statement = "SELECT pk, sk FROM $T WHERE pk IN ['B1', 'B2', 'B3']";
    let (mut seen, mut sizes, mut token) = (Vec::new(), Vec::new(), None::<String>);
    for _ in 0..10 {
        let page = ok(db
            .stmt(statement, &[])
            .set_next_token(token.clone())
            .send()
            .await);
        sizes.push(page.items().len());
        seen.extend(pk_sk(page.items()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["B10", "B11", "B20", "B21", "B30", "B31"]);
    assert_eq!(sizes[0], 3, "the third 350 KB item crosses 1 MB: {sizes:?}");

    let many: Vec<String> = (0..51).map(|i| format!("'k{i}'")).collect();
    let statement = format!("SELECT * FROM $T WHERE pk IN [{}]", many.join(", "));
    db.fails(&statement, &[], "ValidationException").await;
    let fifty = format!("SELECT * FROM $T WHERE pk IN [{}]", many[..50].join(", "));
    assert!(db.select(&fifty, &[]).await.is_empty());
}

#[tokio::test]
async fn malformed_statement_members_refuse_the_whole_request() {
    let (store, db) = store_with_table(false).await;
    let empty = "1 validation error detected: Value at 'parameters' failed to satisfy constraint: Member must have length greater than or equal to 1";
    let request = db
        .ddb
        .execute_statement()
        .statement(db.sql("SELECT * FROM $T WHERE pk = 'a'"))
        .set_parameters(Some(vec![]));
    assert_api_error(request.send().await, "ValidationException", Some(empty));

    let fine = db.batch("SELECT * FROM $T WHERE pk = 'a'", &[]);
    let no_parameters = BatchStatementRequest::builder()
        .statement(db.sql("SELECT * FROM $T WHERE pk = 'a'"))
        .set_parameters(Some(vec![]))
        .build()
        .unwrap();
    let batch = db
        .ddb
        .batch_execute_statement()
        .statements(fine)
        .statements(no_parameters);
    let message = "1 validation error detected: Value at 'statements.2.member.parameters' failed to satisfy constraint: Member must have length greater than or equal to 1";
    assert_api_error(batch.send().await, "ValidationException", Some(message));

    let guard = ParameterizedStatement::builder()
        .statement(db.sql("INSERT INTO $T VALUE {'pk': 'never'}"))
        .set_parameters(Some(vec![]))
        .build()
        .unwrap();
    let txn = db.ddb.execute_transaction().transact_statements(guard);
    let message = "1 validation error detected: Value at 'transactStatements.1.member.parameters' failed to satisfy constraint: Member must have length greater than or equal to 1";
    assert_api_error(txn.send().await, "ValidationException", Some(message));
    assert_eq!(db.get("never", None).await, None);

    // A batch entry without its statement, or with an unknown return, refuses the batch.
    let body = serde_json::json!({"Statements": [
        {"Statement": db.sql("INSERT INTO $T VALUE {'pk': 'not-run'}")},
        {"Parameters": [{"S": "a"}]},
        {"Statement": db.sql("SELECT * FROM $T WHERE pk = 'a'"),
         "ReturnValuesOnConditionCheckFailure": "BOGUS"},
    ]});
    let raw = raw_call(
        &store.endpoint(),
        "BatchExecuteStatement",
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(raw.status, 400);
    let answer = raw.json();
    assert!(
        answer["__type"]
            .as_str()
            .unwrap()
            .ends_with("#ValidationException"),
        "{answer}"
    );
    assert_eq!(
        answer["message"],
        "2 validation errors detected: Value null at 'statements.2.member.statement' failed to satisfy constraint: Member must not be null; Value 'BOGUS' at 'statements.3.member.returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
    );
    assert_eq!(db.get("not-run", None).await, None);
}

#[tokio::test]
async fn quoted_identifiers_allow_spaces_and_reserved_words() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[
        ("pk", s("i1")),
        ("my attr", s("v1")),
        ("status", s("active")),
        ("size", n(3)),
    ])
    .await;
    db.put(&[("pk", s("i2")), ("status", s("active")), ("size", n(1))])
        .await;

    let projected = db
        .select(r#"SELECT "my attr", "status" FROM $T WHERE pk = 'i1'"#, &[])
        .await;
    let want = item(&[("my attr", s("v1")), ("status", s("active"))]);
    assert_eq!(projected, vec![want]);

    let filtered = db
        .select(
            r#"SELECT pk FROM $T WHERE "status" = 'active' AND "size" > 2"#,
            &[],
        )
        .await;
    assert_eq!(filtered, vec![item(&[("pk", s("i1"))])]);

    db.write(
        r#"UPDATE $T SET "my attr" = 'v2' WHERE pk = 'i1' AND "status" = 'active'"#,
        &[],
    )
    .await;
    let got = db.get("i1", None).await.unwrap();
    assert_eq!(got.get("my attr"), Some(&s("v2")));

    db.write(
        "INSERT INTO $T VALUE {'pk': 'i3', 'my attr': 'v3', 'status': 'new'}",
        &[],
    )
    .await;
    let want = item(&[("pk", s("i3")), ("my attr", s("v3")), ("status", s("new"))]);
    assert_eq!(db.get("i3", None).await, Some(want));
}

#[tokio::test]
async fn update_sets_removes_conditions_and_returns() {
    let (_store, db) = store_with_table(true).await;
    db.put(&[
        ("pk", s("p")),
        ("sk", n(1)),
        ("a", s("old")),
        ("n", n(5)),
        ("gone", s("bye")),
        ("tags", ss(&["x"])),
        ("l", AttributeValue::L(vec![n(1), n(2)])),
    ])
    .await;

    let returned = db
        .write(
            "UPDATE $T SET a = ?, n = n + 1 REMOVE gone WHERE pk = ? AND sk = ?",
            &[s("new"), s("p"), n(1)],
        )
        .await;
    assert!(returned.is_empty(), "no RETURNING, no items: {returned:?}");
    let got = db.get("p", Some(1)).await.unwrap();
    assert_eq!(got.get("a"), Some(&s("new")));
    assert_eq!(got.get("n"), Some(&n(6)));
    assert!(!got.contains_key("gone"), "REMOVE dropped it: {got:?}");
    assert_eq!(got.get("tags"), Some(&ss(&["x"])));

    db.write(
        "UPDATE $T SET tags = set_add(tags, <<'z'>>) WHERE pk = 'p' AND sk = 1",
        &[],
    )
    .await;
    db.write(
        "UPDATE $T SET l = list_append(l, [3]) WHERE pk = 'p' AND sk = 1",
        &[],
    )
    .await;
    let got = sorted_sets(db.get("p", Some(1)).await.unwrap());
    assert_eq!(got.get("tags"), Some(&ss(&["x", "z"])));
    let list = AttributeValue::L(vec![n(1), n(2), n(3)]);
    assert_eq!(got.get("l"), Some(&list));

    // UPDATE never creates an item.
    let missing = "UPDATE $T SET a = 'v' WHERE pk = 'missing' AND sk = 1";
    db.fails(missing, &[], "ConditionalCheckFailedException")
        .await;
    assert!(db.get("missing", Some(1)).await.is_none());

    // An extra condition in WHERE is a condition on the write.
    let before = db.get("p", Some(1)).await.map(sorted_sets);
    let wrong = "UPDATE $T SET a = 'changed' WHERE pk = 'p' AND sk = 1 AND a = 'wrong'";
    db.fails(wrong, &[], "ConditionalCheckFailedException")
        .await;
    assert_eq!(db.get("p", Some(1)).await.map(sorted_sets), before);

    // A true condition passes; ALL NEW returns the whole new item.
    let all_new = db
        .write(
            "UPDATE $T SET a = 'newer' WHERE pk = 'p' AND sk = 1 AND a = 'new' \
             RETURNING ALL NEW *",
            &[],
        )
        .await;
    let now = db.get("p", Some(1)).await.unwrap();
    assert_eq!(now.get("a"), Some(&s("newer")));
    let all_new: Vec<Item> = all_new.into_iter().map(sorted_sets).collect();
    assert_eq!(all_new, vec![sorted_sets(now)]);

    // MODIFIED OLD: the old values of the changed attributes that existed before. (Two SET
    // clauses, as the DynamoDB documentation writes them.)
    let modified_old = db
        .write(
            "UPDATE $T SET a = 'newest' SET extra = 1 WHERE pk = 'p' AND sk = 1 \
             RETURNING MODIFIED OLD *",
            &[],
        )
        .await;
    assert_eq!(modified_old, vec![item(&[("a", s("newer"))])]);
    let got = db.get("p", Some(1)).await.unwrap();
    assert_eq!(got.get("a"), Some(&s("newest")));
    assert_eq!(got.get("extra"), Some(&n(1)));

    // WHERE must name the whole primary key.
    let before = db.get("p", Some(1)).await.map(sorted_sets);
    let partial = "UPDATE $T SET a = 'x' WHERE pk = 'p'";
    db.fails(partial, &[], "ValidationException").await;
    assert_eq!(db.get("p", Some(1)).await.map(sorted_sets), before);
}

#[tokio::test]
async fn delete_removes_conditionally_and_returns_old() {
    let (_store, db) = store_with_table(true).await;
    for sk in 1..=3 {
        db.put(&[("pk", s("p")), ("sk", n(sk)), ("a", s("x"))])
            .await;
    }

    let by_key = "DELETE FROM $T WHERE pk = ? AND sk = ?";
    let returned = db.write(by_key, &[s("p"), n(1)]).await;
    assert!(returned.is_empty(), "no RETURNING, no items: {returned:?}");
    assert!(db.get("p", Some(1)).await.is_none());

    // A missing key is not an error.
    let missing = db
        .write("DELETE FROM $T WHERE pk = 'nobody' AND sk = 9", &[])
        .await;
    assert!(missing.is_empty());

    let wrong = "DELETE FROM $T WHERE pk = 'p' AND sk = 2 AND a = 'wrong'";
    db.fails(wrong, &[], "ConditionalCheckFailedException")
        .await;
    assert!(db.get("p", Some(2)).await.is_some(), "the item was kept");

    let old = db
        .write(
            "DELETE FROM $T WHERE pk = 'p' AND sk = 2 AND a = 'x' RETURNING ALL OLD *",
            &[],
        )
        .await;
    let want = item(&[("pk", s("p")), ("sk", n(2)), ("a", s("x"))]);
    assert_eq!(old, vec![want]);
    assert!(db.get("p", Some(2)).await.is_none());
    assert!(
        db.get("p", Some(3)).await.is_some(),
        "only the named item went"
    );
}

#[tokio::test]
async fn statement_errors() {
    let (_store, db) = store_with_table(true).await;

    let err = db
        .fails("SELEC * FROM $T", &[], "ValidationException")
        .await;
    let message = err.message().unwrap_or_default();
    assert!(
        message.starts_with("Statement wasn't well formed"),
        "message: {message}"
    );

    let missing = Db {
        ddb: db.ddb.clone(),
        table: unique_name("no-such-table"),
    };
    let rnf = "ResourceNotFoundException";
    missing
        .fails("SELECT * FROM $T WHERE pk = 'a'", &[], rnf)
        .await;
    missing
        .fails("INSERT INTO $T VALUE {'pk': 'a', 'sk': 1}", &[], rnf)
        .await;

    // Fewer parameters than `?` markers.
    let two = "SELECT * FROM $T WHERE pk = ? AND sk = ?";
    db.fails(two, &[s("p")], "ValidationException").await;
    let one = "SELECT * FROM $T WHERE pk = ?";
    db.fails(one, &[], "ValidationException").await;
    let insert = "INSERT INTO $T VALUE {'pk': ?, 'sk': ?}";
    db.fails(insert, &[s("p")], "ValidationException").await;

    // A key given twice is refused, not resolved to the last value.
    let twice = "INSERT INTO $T VALUE {'pk': 'z', 'sk': 1, 'pk': 'y'}";
    let err = db.fails(twice, &[], "ValidationException").await;
    assert_eq!(
        err.message(),
        Some("Duplicate keys in tuple. Key: pk under root")
    );
    assert!(db.select("SELECT * FROM $T", &[]).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// BatchExecuteStatement / ExecuteTransaction

#[tokio::test]
async fn batch_statements_answer_one_by_one() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[("pk", s("dup")), ("v", s("orig"))]).await;

    let insert = "INSERT INTO $T VALUE {'pk': ?, 'v': ?}";
    let out = ok(db
        .ddb
        .batch_execute_statement()
        .statements(db.batch(insert, &[s("b1"), s("one")]))
        .statements(db.batch(insert, &[s("dup"), s("new")]))
        .statements(db.batch(insert, &[s("b2"), s("two")]))
        .send()
        .await);
    let responses = out.responses();
    assert_eq!(
        responses.len(),
        3,
        "one response per statement: {responses:?}"
    );
    assert!(responses[0].error().is_none(), "{:?}", responses[0]);
    assert!(responses[2].error().is_none(), "{:?}", responses[2]);
    let dup = responses[1]
        .error()
        .expect("the duplicate INSERT has an error");
    assert_eq!(
        dup.code(),
        Some(&BatchStatementErrorCodeEnum::DuplicateItem)
    );
    assert_eq!(dup.message(), Some("Duplicate primary key exists in table"));

    let b1 = item(&[("pk", s("b1")), ("v", s("one"))]);
    let b2 = item(&[("pk", s("b2")), ("v", s("two"))]);
    assert_eq!(db.get("b1", None).await.as_ref(), Some(&b1));
    assert_eq!(db.get("b2", None).await.as_ref(), Some(&b2));
    let orig = item(&[("pk", s("dup")), ("v", s("orig"))]);
    assert_eq!(db.get("dup", None).await, Some(orig));

    let by_key = "SELECT * FROM $T WHERE pk = ?";
    let out = ok(db
        .ddb
        .batch_execute_statement()
        .statements(db.batch(by_key, &[s("b1")]))
        .statements(db.batch(by_key, &[s("nobody")]))
        .statements(db.batch(by_key, &[s("b2")]))
        .send()
        .await);
    let responses = out.responses();
    assert_eq!(responses.len(), 3, "{responses:?}");
    assert!(
        responses.iter().all(|r| r.error().is_none()),
        "{responses:?}"
    );
    assert_eq!(responses[0].item(), Some(&b1));
    assert!(
        responses[1].item().is_none(),
        "missing key: {:?}",
        responses[1]
    );
    assert_eq!(responses[2].item(), Some(&b2));
}

#[tokio::test]
async fn transactions_commit_together_or_not_at_all() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[("pk", s("tu")), ("v", n(1))]).await;
    let insert = "INSERT INTO $T VALUE {'pk': ?, 'v': ?}";

    ok(db
        .ddb
        .execute_transaction()
        .transact_statements(db.txn(insert, &[s("t1"), n(10)]))
        .transact_statements(db.txn(insert, &[s("t2"), n(20)]))
        .transact_statements(db.txn("UPDATE $T SET v = v + 1 WHERE pk = 'tu'", &[]))
        .send()
        .await);
    let t1 = item(&[("pk", s("t1")), ("v", n(10))]);
    assert_eq!(db.get("t1", None).await.as_ref(), Some(&t1));
    let t2 = item(&[("pk", s("t2")), ("v", n(20))]);
    assert_eq!(db.get("t2", None).await, Some(t2));
    let tu = item(&[("pk", s("tu")), ("v", n(2))]);
    assert_eq!(db.get("tu", None).await.as_ref(), Some(&tu));

    // One failed condition cancels every statement.
    let result = db
        .ddb
        .execute_transaction()
        .transact_statements(db.txn(insert, &[s("t3"), n(30)]))
        .transact_statements(db.txn("UPDATE $T SET v = 100 WHERE pk = 'tu' AND v = 99", &[]))
        .send()
        .await;
    let err = assert_api_error(result, "TransactionCanceledException", None);
    match err.into_service_error() {
        ExecuteTransactionError::TransactionCanceledException(e) => {
            let codes: Vec<_> = e
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or(""))
                .collect();
            assert_eq!(codes, vec!["None", "ConditionalCheckFailed"]);
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
    assert!(
        db.get("t3", None).await.is_none(),
        "the INSERT was rolled back"
    );
    assert_eq!(db.get("tu", None).await.as_ref(), Some(&tu));

    // A read transaction answers each statement in order.
    let by_key = "SELECT * FROM $T WHERE pk = ?";
    let out = ok(db
        .ddb
        .execute_transaction()
        .transact_statements(db.txn(by_key, &[s("t1")]))
        .transact_statements(db.txn(by_key, &[s("tu")]))
        .transact_statements(db.txn(by_key, &[s("nobody")]))
        .send()
        .await);
    let responses = out.responses();
    assert_eq!(responses.len(), 3, "{responses:?}");
    assert_eq!(responses[0].item(), Some(&t1));
    assert_eq!(responses[1].item(), Some(&tu));
    assert!(
        responses[2].item().is_none(),
        "missing key: {:?}",
        responses[2]
    );
}

/// The cancellation codes of a failed ExecuteTransaction.
fn cancellation_codes(
    result: Result<ExecuteTransactionOutput, SdkError<ExecuteTransactionError>>,
) -> Vec<String> {
    let err = assert_api_error(result, "TransactionCanceledException", None);
    match err.into_service_error() {
        ExecuteTransactionError::TransactionCanceledException(e) => e
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("").to_string())
            .collect(),
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
}

#[tokio::test]
async fn exists_checks_guard_transactions_and_duplicates_cancel_them() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[("pk", s("acct")), ("open", AttributeValue::Bool(true))])
        .await;
    let check = "EXISTS(SELECT * FROM $T WHERE pk = ? AND \"open\" = true)";
    let insert = "INSERT INTO $T VALUE {'pk': ?}";

    // The check holds: the write commits.
    ok(db
        .ddb
        .execute_transaction()
        .transact_statements(db.txn(check, &[s("acct")]))
        .transact_statements(db.txn(insert, &[s("order-1")]))
        .send()
        .await);
    assert!(db.get("order-1", None).await.is_some());

    // The check fails (condition false, or no such item): nothing is written.
    db.write("UPDATE $T SET \"open\" = false WHERE pk = 'acct'", &[])
        .await;
    for account in ["acct", "nobody"] {
        let result = db
            .ddb
            .execute_transaction()
            .transact_statements(db.txn(check, &[s(account)]))
            .transact_statements(db.txn(insert, &[s("order-2")]))
            .send()
            .await;
        assert_eq!(
            cancellation_codes(result),
            vec!["ConditionalCheckFailed", "None"]
        );
        assert!(db.get("order-2", None).await.is_none(), "{account}");
    }

    // An INSERT whose key exists cancels the transaction as DuplicateItem.
    let result = db
        .ddb
        .execute_transaction()
        .transact_statements(db.txn(insert, &[s("order-3")]))
        .transact_statements(db.txn(insert, &[s("order-1")]))
        .send()
        .await;
    assert_eq!(cancellation_codes(result), vec!["None", "DuplicateItem"]);
    assert!(db.get("order-3", None).await.is_none());

    // EXISTS outside a transaction is refused.
    db.fails(check, &[s("acct")], "ValidationException").await;
}

#[tokio::test]
async fn statements_report_consumed_capacity_when_asked() {
    let (_store, db) = store_with_table(false).await;
    let total = aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total;
    let insert = db
        .stmt("INSERT INTO $T VALUE {'pk': 'cap', 'v': 1}", &[])
        .return_consumed_capacity(total.clone());
    let used = ok(insert.send().await)
        .consumed_capacity
        .expect("capacity of the INSERT");
    assert_eq!(used.capacity_units(), Some(1.0));
    assert_eq!(used.table_name(), Some(db.table.as_str()));
    let select = db
        .stmt("SELECT * FROM $T WHERE pk = 'cap'", &[])
        .consistent_read(true)
        .return_consumed_capacity(total);
    let used = ok(select.send().await)
        .consumed_capacity
        .expect("capacity of the SELECT");
    assert_eq!(used.capacity_units(), Some(1.0));
    // Not asked: not sent.
    let plain = db.stmt("UPDATE $T SET v = 2 WHERE pk = 'cap'", &[]);
    assert!(ok(plain.send().await).consumed_capacity.is_none());

    // A batch sums its statements per table.
    let insert = "INSERT INTO $T VALUE {'pk': ?}";
    let batch = db
        .ddb
        .batch_execute_statement()
        .statements(db.batch(insert, &[s("cap-1")]))
        .statements(db.batch(insert, &[s("cap-2")]))
        .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total);
    let out = ok(batch.send().await);
    let used = out.consumed_capacity();
    assert_eq!(used.len(), 1, "{used:?}");
    assert_eq!(used[0].table_name(), Some(db.table.as_str()));
    assert_eq!(used[0].capacity_units(), Some(2.0));
    // A statement refused by its condition is charged a write, and the total says so.
    let batch = db
        .ddb
        .batch_execute_statement()
        .statements(db.batch(insert, &[s("cap-3")]))
        .statements(db.batch(insert, &[s("cap-1")]))
        .statements(db.batch("UPDATE $T SET v = 3 WHERE pk = 'cap-2' AND v = 99", &[]))
        .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total);
    let out = ok(batch.send().await);
    let codes: Vec<_> = out
        .responses()
        .iter()
        .map(|r| r.error().map(|e| e.code().map(|c| c.as_str().to_owned())))
        .collect();
    assert_eq!(
        codes,
        [
            None,
            Some(Some("DuplicateItem".to_owned())),
            Some(Some("ConditionalCheckFailed".to_owned()))
        ]
    );
    assert_eq!(out.consumed_capacity()[0].capacity_units(), Some(3.0));
    // Shaped as a single write's answer: no WriteCapacityUnits beside CapacityUnits.
    assert_eq!(out.consumed_capacity()[0].write_capacity_units(), None);
    let quiet = db
        .ddb
        .batch_execute_statement()
        .statements(db.batch("SELECT * FROM $T WHERE pk = 'cap'", &[]));
    assert!(ok(quiet.send().await).consumed_capacity.is_none());
}

// ---------------------------------------------------------------------------------------------
// Through the proxy

/// `v` of item `pk` through `db`'s client, eventually consistent (what a proxy caches).
async fn cached_v(db: &Db, pk: &str) -> Option<String> {
    let request = db.ddb.get_item().table_name(&db.table).key("pk", s(pk));
    let out = ok(request.send().await);
    out.item()
        .and_then(|i| i.get("v"))
        .and_then(|v| v.as_s().ok())
        .cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partiql_through_a_proxy_node_stays_coherent_with_the_store() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let table = unique_name("pqproxy");
    create_hash_table(&proxy.client(), &table).await;
    let via_proxy = Db {
        ddb: proxy.client(),
        table: table.clone(),
    };
    let direct = Db {
        ddb: store.client(),
        table,
    };

    via_proxy
        .write("INSERT INTO $T VALUE {'pk': 'k', 'v': 'old'}", &[])
        .await;
    let want = item(&[("pk", s("k")), ("v", s("old"))]);
    let selected = via_proxy
        .select("SELECT * FROM $T WHERE pk = 'k'", &[])
        .await;
    assert_eq!(selected, vec![want.clone()]);
    assert_eq!(direct.get("k", None).await, Some(want));

    // Cache the item on the node: a read fills the entry, a later one is a hit.
    let endpoint = proxy.endpoint();
    let hits = || metric(&endpoint, "dax_item_cache_hits_total");
    let cached = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(10),
        || async {
            assert_eq!(cached_v(&via_proxy, "k").await.as_deref(), Some("old"));
            hits().await >= 1.0
        },
    )
    .await;
    assert!(cached, "the item was never served from the proxy's cache");

    // A PartiQL write at the store reaches the node's cache.
    direct
        .write("UPDATE $T SET v = 'new' WHERE pk = 'k'", &[])
        .await;
    let updated = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { cached_v(&via_proxy, "k").await.as_deref() == Some("new") },
    )
    .await;
    assert!(
        updated,
        "the proxy kept serving the value from before the UPDATE"
    );

    // And a PartiQL DELETE through the node.
    via_proxy.write("DELETE FROM $T WHERE pk = 'k'", &[]).await;
    assert!(direct.get("k", None).await.is_none());
    let deleted = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { cached_v(&via_proxy, "k").await.is_none() },
    )
    .await;
    assert!(deleted, "the proxy kept serving the item after the DELETE");
}

/// A PartiQL write through a replica takes the write path: forwarded to the primary (which
/// the metric counts), and the replica drops the item before answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partiql_writes_through_a_replica_go_through_the_primary() {
    let store = StoreProcess::spawn();
    let first = ProxyProcess::spawn(&store);
    let second = ProxyProcess::spawn(&store);
    let table = unique_name("pqreplica");
    create_hash_table(&store.client(), &table).await;
    // Whichever node holds the lease, the other forwards.
    let replica = if primary_of(&[&first, &second]).await == 0 {
        &second
    } else {
        &first
    };
    let db = Db {
        ddb: replica.client(),
        table,
    };
    // A negative entry on the replica first.
    assert_eq!(cached_v(&db, "r").await, None);
    db.write("INSERT INTO $T VALUE {'pk': 'r', 'v': 'one'}", &[])
        .await;
    assert_eq!(cached_v(&db, "r").await.as_deref(), Some("one"));
    db.write("UPDATE $T SET v = 'two' WHERE pk = 'r'", &[])
        .await;
    assert_eq!(cached_v(&db, "r").await.as_deref(), Some("two"));
    let forwarded = metric(&replica.endpoint(), "dax_forwarded_writes_total").await;
    assert!(
        forwarded >= 2.0,
        "PartiQL writes were not forwarded ({forwarded})"
    );
    // Reads are answered by the node itself (passed through to the store, not forwarded).
    let rows = db.select("SELECT v FROM $T WHERE pk = 'r'", &[]).await;
    assert_eq!(rows, vec![item(&[("v", s("two"))])]);
    assert_eq!(
        metric(&replica.endpoint(), "dax_forwarded_writes_total").await,
        forwarded
    );
}

/// `--` comments run to the end of their line and `/* */` ones to their close, as DynamoDB
/// reads them: `SET c = 10 -- 5` was taken for `10 - (-5)` and stored 15.
#[tokio::test]
async fn comments_are_not_part_of_a_statement() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[("pk", s("c")), ("c", n(1))]).await;
    db.write(
        "-- set it\nUPDATE $T SET c = 10 -- 5\nWHERE pk = 'c'; /* done */",
        &[],
    )
    .await;
    assert_eq!(db.get("c", None).await.unwrap().get("c"), Some(&n(10)));
    let found = db
        .select(
            "SELECT c FROM $T /* by key */ WHERE pk = 'c' -- one item",
            &[],
        )
        .await;
    assert_eq!(found, vec![item(&[("c", n(10))])]);
}

/// What a write answers with, as DynamoDB does: ExecuteStatement an empty `Items` list,
/// ExecuteTransaction of writes an empty `Responses` list (it left the member out, which
/// the JS SDK shows as `undefined`).
#[tokio::test]
async fn writes_answer_empty_lists() {
    let (store, db) = store_with_table(false).await;
    db.put(&[("pk", s("a")), ("n", n(1))]).await;
    let statement = |text: &str| db.sql(text);
    let update = statement("UPDATE $T SET n = 2 WHERE pk = 'a'");
    let body = integration_tests::serde_json::json!({"Statement": update});
    let answer = raw_call(
        &store.endpoint(),
        "ExecuteStatement",
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(
        answer.json()["Items"],
        integration_tests::serde_json::json!([]),
        "{}",
        answer.json()
    );
    let body = integration_tests::serde_json::json!({
        "TransactStatements": [{"Statement": update}],
        "ReturnConsumedCapacity": "TOTAL",
    });
    let answer = raw_call(
        &store.endpoint(),
        "ExecuteTransaction",
        body.to_string().as_bytes(),
    )
    .await;
    let json = answer.json();
    assert_eq!(
        json["Responses"],
        integration_tests::serde_json::json!([]),
        "{json}"
    );
    assert_eq!(
        json["ConsumedCapacity"][0]["TableName"],
        db.table.as_str(),
        "{json}"
    );
}

/// attribute_exists / attribute_not_exists (any case, `= true`, nested paths) and
/// `IS <type>` in a WHERE, as DynamoDB takes them; on an UPDATE or DELETE they are the
/// write's condition (the dynamodb-conformance suite's whereFunctions captures).
#[tokio::test]
async fn where_takes_attribute_exists_and_is_type() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[
        ("pk", s("item")),
        ("ss", ss(&["a", "b"])),
        ("s", s("str")),
        ("flag", AttributeValue::Bool(true)),
        (
            "m",
            AttributeValue::M(HashMap::from([("sub".to_string(), s("x"))])),
        ),
    ])
    .await;
    let holds = |condition: &'static str| {
        let db = &db;
        async move {
            let statement = format!("SELECT pk FROM $T WHERE pk = 'item' AND {condition}");
            !db.select(&statement, &[]).await.is_empty()
        }
    };
    for condition in [
        "attribute_exists(ss)",
        "attribute_not_exists(nope)",
        "ATTRIBUTE_EXISTS(ss)",
        "attribute_exists(ss) = true",
        "attribute_exists(nope) = false",
        "attribute_exists(\"ss\")",
        "attribute_exists(m.sub)",
        "(attribute_exists(nope) OR attribute_exists(ss))",
        "flag IS BOOL",
        "s IS STRING",
        "s IS NOT BOOL",
    ] {
        assert!(holds(condition).await, "{condition}");
    }
    for condition in [
        "attribute_exists(nope)",
        "attribute_exists(m.nope)",
        "s IS BOOL",
    ] {
        assert!(!holds(condition).await, "{condition}");
    }

    db.put(&[("pk", s("w")), ("a", n(5))]).await;
    db.fails(
        "UPDATE $T SET z = 2 WHERE pk = 'w' AND attribute_exists(nope)",
        &[],
        "ConditionalCheckFailedException",
    )
    .await;
    db.write(
        "UPDATE $T SET z = 1 WHERE pk = 'w' AND attribute_exists(a)",
        &[],
    )
    .await;
    assert_eq!(db.get("w", None).await.unwrap().get("z"), Some(&n(1)));
    db.write(
        "DELETE FROM $T WHERE pk = 'w' AND attribute_not_exists(nope)",
        &[],
    )
    .await;
    assert!(db.get("w", None).await.is_none());
}

/// A SELECT's type errors come back bare, as DynamoDB answers them, not labelled with the
/// FilterExpression the statement became here (the client wrote none).
#[tokio::test]
async fn a_selects_type_error_names_no_expression() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[("pk", s("a")), ("flag", AttributeValue::Bool(true))])
        .await;
    let err = db
        .fails(
            "SELECT * FROM $T WHERE pk = 'a' AND flag < true",
            &[],
            "ValidationException",
        )
        .await;
    let message = err
        .into_service_error()
        .meta()
        .message()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        message,
        "Incorrect operand type for operator or function; operator or function: <, operand type: BOOL"
    );
}

/// A SELECT in a batch or a transaction must name one item by its whole key: DynamoDB's
/// words for it, and no TableName beside a batch member's error.
#[tokio::test]
async fn a_keyless_select_in_a_batch_or_transaction_is_refused_in_dynamodbs_words() {
    let (_store, db) = store_with_table(false).await;
    let out = ok(db
        .ddb
        .batch_execute_statement()
        .statements(db.batch("SELECT * FROM $T WHERE other = 'a'", &[]))
        .send()
        .await);
    let response = &out.responses()[0];
    let error = response.error().unwrap();
    assert_eq!(
        error.message(),
        Some("Select statements within BatchExecuteStatement must specify the primary key in the where clause.")
    );
    assert_eq!(response.table_name(), None);
    let refused = db
        .ddb
        .execute_transaction()
        .transact_statements(db.txn("SELECT * FROM $T WHERE other = 'a'", &[]))
        .send()
        .await;
    assert_api_error(
        refused,
        "ValidationException",
        Some("Validation failed in TransactStatements[0]: Select statements within ExecuteTransaction must specify the primary key in the where clause."),
    );
}

// ---------------------------------------------------------------------------------------------
// FROM-first UPDATE and number literals (the dynamodb-conformance suite's fromFirstUpdate and
// partiqlGrammar captures)

const INCOMPLETE_KEY: &str =
    "Where clause does not contain a mandatory equality on all key attributes";
const LEFTOVER: &str =
    "Statement wasn't well formed, can't be processed: Unexpected token after expression";

/// `FROM "T" WHERE <key> SET ... | REMOVE ...` runs as the UPDATE it stands for: the item
/// must exist, the rest of the WHERE is the write's condition, RETURNING and parameters work.
#[tokio::test]
async fn from_first_updates_run_as_the_update_they_stand_for() {
    let (_store, db) = store_with_table(false).await;
    let seeded = |pk: &str| item(&[("pk", s(pk)), ("a", n(1)), ("b", s("bee"))]);
    for pk in [
        "set", "remove", "both", "ret", "lower", "params", "holds", "fails",
    ] {
        ok(db
            .ddb
            .put_item()
            .table_name(&db.table)
            .set_item(Some(seeded(pk)))
            .send()
            .await);
    }
    let attr = |pk: &'static str, name: &'static str| {
        let db = &db;
        async move { db.get(pk, None).await.unwrap().get(name).cloned() }
    };

    db.write("FROM $T WHERE pk = 'set' SET c = 1", &[]).await;
    assert_eq!(attr("set", "c").await, Some(n(1)));
    db.write("FROM $T WHERE pk = 'remove' REMOVE b", &[]).await;
    assert_eq!(attr("remove", "b").await, None);
    assert_eq!(attr("remove", "a").await, Some(n(1)));
    db.write(
        "FROM $T WHERE pk = 'both' SET c = 2 REMOVE a SET d = a + 2",
        &[],
    )
    .await;
    let both = db.get("both", None).await.unwrap();
    let want = item(&[("pk", s("both")), ("b", s("bee")), ("c", n(2)), ("d", n(3))]);
    assert_eq!(both, want);

    let returned = db
        .write(
            "FROM $T WHERE pk = 'ret' SET d = 3 RETURNING ALL NEW *",
            &[],
        )
        .await;
    let mut want = seeded("ret");
    want.insert("d".into(), n(3));
    assert_eq!(returned, vec![want.clone()]);
    assert_eq!(db.get("ret", None).await, Some(want));

    db.write("from $T where pk = 'lower' set e = 4", &[]).await;
    assert_eq!(attr("lower", "e").await, Some(n(4)));
    db.write("FROM $T WHERE pk = ? SET c = ?", &[s("params"), n(7)])
        .await;
    assert_eq!(attr("params", "c").await, Some(n(7)));

    db.write("FROM $T WHERE pk = 'holds' AND a = 1 SET c = 5", &[])
        .await;
    assert_eq!(attr("holds", "c").await, Some(n(5)));
    let ccf = "ConditionalCheckFailedException";
    db.fails("FROM $T WHERE pk = 'fails' AND a = 2 SET c = 5", &[], ccf)
        .await;
    assert_eq!(db.get("fails", None).await, Some(seeded("fails")));
    db.fails("FROM $T WHERE pk = 'absent' SET c = 1", &[], ccf)
        .await;
    assert_eq!(db.get("absent", None).await, None, "nothing was created");
}

/// The FROM-first form's refusals, in DynamoDB's words; none of them writes.
#[tokio::test]
async fn from_first_updates_are_refused_in_dynamodbs_words() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[("pk", s("k")), ("a", n(1))]).await;
    for (statement, message) in [
        ("FROM $T SET c = 1", INCOMPLETE_KEY),
        ("FROM $T REMOVE a", INCOMPLETE_KEY),
        ("FROM $T WHERE a = 1 SET c = 1", INCOMPLETE_KEY),
        ("FROM $T SET c = 1 WHERE pk = 'k'", LEFTOVER),
        ("FROM $T SET c = 1 WHERE pk = 'k' SET d = 2", LEFTOVER),
    ] {
        let refused = db.stmt(statement, &[]).send().await;
        assert_api_error(refused, "ValidationException", Some(message));
    }
    let missing = Db {
        ddb: db.ddb.clone(),
        table: unique_name("no-such-table"),
    };
    let refused = missing
        .stmt("FROM $T WHERE pk = 'k' SET c = 1", &[])
        .send()
        .await;
    let rnf = "ResourceNotFoundException";
    assert_api_error(refused, rnf, Some("Requested resource not found"));
    let untouched = item(&[("pk", s("k")), ("a", n(1))]);
    assert_eq!(db.select("SELECT * FROM $T", &[]).await, vec![untouched]);
}

/// ExecuteTransaction and BatchExecuteStatement run the FROM-first form like an UPDATE,
/// failed conditions included.
#[tokio::test]
async fn from_first_updates_run_in_transactions_and_batches() {
    let (_store, db) = store_with_table(false).await;
    for pk in ["tx", "batch"] {
        db.put(&[("pk", s(pk)), ("a", n(1))]).await;
    }
    let from_first = "FROM $T WHERE pk = ? SET c = ?";

    ok(db
        .ddb
        .execute_transaction()
        .transact_statements(db.txn(from_first, &[s("tx"), n(1)]))
        .send()
        .await);
    let tx = item(&[("pk", s("tx")), ("a", n(1)), ("c", n(1))]);
    assert_eq!(db.get("tx", None).await.as_ref(), Some(&tx));
    let insert = "INSERT INTO $T VALUE {'pk': ?}";
    let result = db
        .ddb
        .execute_transaction()
        .transact_statements(db.txn(insert, &[s("tx-new")]))
        .transact_statements(db.txn(from_first, &[s("nobody"), n(2)]))
        .send()
        .await;
    assert_eq!(
        cancellation_codes(result),
        vec!["None", "ConditionalCheckFailed"]
    );
    assert!(db.get("tx-new", None).await.is_none(), "rolled back");
    assert!(db.get("nobody", None).await.is_none(), "nothing created");

    let out = ok(db
        .ddb
        .batch_execute_statement()
        .statements(db.batch(from_first, &[s("batch"), n(1)]))
        .statements(db.batch(from_first, &[s("nobody"), n(1)]))
        .send()
        .await);
    let responses = out.responses();
    assert_eq!(responses.len(), 2, "{responses:?}");
    assert!(responses[0].error().is_none(), "{:?}", responses[0]);
    let batch = item(&[("pk", s("batch")), ("a", n(1)), ("c", n(1))]);
    assert_eq!(db.get("batch", None).await, Some(batch));
    let failed = responses[1].error().expect("the absent key fails");
    assert_eq!(
        failed.code(),
        Some(&BatchStatementErrorCodeEnum::ConditionalCheckFailed)
    );
    assert!(db.get("nobody", None).await.is_none(), "nothing created");
}

/// A number literal DynamoDB cannot store is refused with the ordinary number message and
/// where in its value it stands; an INSERT item's attributes are each a value of their own.
#[tokio::test]
async fn number_literals_out_of_rules_name_their_place() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("pq-n");
    create_table(&ddb, &table, ("pk", ScalarAttributeType::N), None).await;
    let db = Db { ddb, table };
    db.put(&[("pk", n(970005))]).await;

    let overflow =
        "Number overflow. Attempting to store a number with magnitude larger than supported range";
    let underflow = "Number underflow. Attempting to store a number with magnitude smaller than supported range";
    let digits = "Attempting to store more than 38 significant digits in a Number";
    for (statement, message, place) in [
        ("SELECT * FROM $T WHERE pk = 1e126", overflow, "root"),
        ("SELECT * FROM $T WHERE pk = 1e-131", underflow, "root"),
        (
            "SELECT * FROM $T WHERE pk = 123456789012345678901234567890123456789",
            digits,
            "root",
        ),
        ("INSERT INTO $T VALUE {'pk': 1e126}", overflow, "root"),
        (
            "UPDATE $T SET a = 1e-131 WHERE pk = 970005",
            underflow,
            "root",
        ),
        (
            "FROM $T WHERE pk = 970005 SET a = [1, {'x': 1e126}]",
            overflow,
            "root[1].x",
        ),
        (
            "INSERT INTO $T VALUE {'pk': 970006, 'm': {'x': 1e126}}",
            overflow,
            "root.x",
        ),
        (
            "INSERT INTO $T VALUE {'pk': 970007, 'l': [1, 1e126]}",
            overflow,
            "root[1]",
        ),
    ] {
        let refused = db.stmt(statement, &[]).send().await;
        let want = format!("{message} under {place}");
        assert_api_error(refused, "ValidationException", Some(want.as_str()));
    }
    let only = item(&[("pk", n(970005))]);
    assert_eq!(db.select("SELECT * FROM $T", &[]).await, vec![only]);
}

/// OR branches that read overlapping parts of one partition are refused in DynamoDB's
/// words. Branches that do not overlap, or that hold a sort-key condition no range
/// expresses (`NOT sk = 1`, `sk <> 1`), run and return their union (the
/// dynamodb-conformance suite's partiqlGrammar and whereOverlap captures).
#[tokio::test]
async fn overlapping_or_branches_on_one_partition_are_refused() {
    let (_store, db) = store_with_table(true).await;
    seed_two_partitions(&db).await;
    let overlapping = "Overlapping conditions with range keys are not supported in where clause";
    for (condition, values) in [
        ("pk = 'p' AND a = 'x' OR pk = 'p' AND sk = 2", vec![]),
        ("pk = 'p' AND a <> 'x' OR pk = 'p' AND sk = 2", vec![]),
        ("pk IN ['q', 'p', 'q']", vec![]),
        ("pk = ? OR pk = ?", vec![s("q"), s("q")]),
        ("pk = 'p' AND (sk > 1 OR sk < 4)", vec![]),
        (
            "pk = 'p' AND sk BETWEEN 1 AND 3 OR pk = 'p' AND sk >= 3",
            vec![],
        ),
    ] {
        let statement = format!("SELECT * FROM $T WHERE {condition}");
        let refused = db.stmt(&statement, &values).send().await;
        assert_api_error(refused, "ValidationException", Some(overlapping));
    }
    let p = |sks: &[i64]| sks.iter().map(|sk| format!("p/{sk}")).collect::<Vec<_>>();
    for (condition, want) in [
        (
            "pk = 'p' AND NOT sk = 1 OR pk = 'p' AND sk = 2",
            p(&[2, 3, 4, 5]),
        ),
        (
            "pk = 'p' AND sk <> 1 OR pk = 'p' AND sk = 2",
            p(&[2, 3, 4, 5]),
        ),
        (
            "pk = 'p' AND NOT sk IN [1, 3] OR pk = 'p' AND sk = 2",
            p(&[2, 4, 5]),
        ),
        (
            "pk = 'p' AND NOT sk > 4 OR pk = 'p' AND sk = 2",
            p(&[1, 2, 3, 4]),
        ),
        ("pk = 'p' OR pk = 'p' AND NOT sk = 1", p(&[1, 2, 3, 4, 5])),
        ("pk = 'p' AND sk = 1 OR pk = 'p' AND sk = 5", p(&[1, 5])),
        (
            "pk = 'p' AND sk < 3 OR pk = 'p' AND sk >= 3",
            p(&[1, 2, 3, 4, 5]),
        ),
        (
            "pk = 'p' AND a = 'x' OR pk = 'q' AND sk = 2",
            vec!["p/1".into(), "p/3".into(), "q/2".into()],
        ),
    ] {
        let statement = format!("SELECT * FROM $T WHERE {condition}");
        assert_eq!(
            sorted_keys(&db.select(&statement, &[]).await),
            want,
            "{condition}"
        );
    }
}

/// A statement a transaction cannot run is refused naming its place, as DynamoDB does, and
/// nothing runs; in a batch the same refusal is the statement's own entry, unnamed (the
/// dynamodb-conformance suite's partiqlGrammar and partiqlFunctions captures).
#[tokio::test]
async fn a_transactions_refused_statement_is_named_by_its_place() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[("pk", s("a"))]).await;
    let unexpected_term = "Statement wasn't well formed, can't be processed: Unexpected term";
    let update = "UPDATE $T SET z = 1 WHERE pk = 'a'";
    for (statements, position, message) in [
        (vec!["SELECT * FROM $T WHERE"], 0, unexpected_term),
        (
            vec![update, "EXISTS(SELECT * FROM $T WHERE pk = 'a')"],
            1,
            "EXISTS() must contain a single item read with additional condition",
        ),
        (
            vec![update, "DELETE FROM $T WHERE pk = 'b' RETURNING ALL OLD *"],
            1,
            "RETURNING clause is not supported in ExecuteTransaction.",
        ),
        (
            vec!["SELECT * FROM $T WHERE pk = 'a'", "SELECT * FROM $T WHERE z = 1"],
            1,
            "Select statements within ExecuteTransaction must specify the primary key in the where clause.",
        ),
    ] {
        let mut request = db.ddb.execute_transaction();
        for statement in &statements {
            request = request.transact_statements(db.txn(statement, &[]));
        }
        let want = format!("Validation failed in TransactStatements[{position}]: {message}");
        assert_api_error(request.send().await, "ValidationException", Some(&want));
    }
    assert_eq!(db.get("a", None).await, Some(item(&[("pk", s("a"))])));

    let out = ok(db
        .ddb
        .batch_execute_statement()
        .statements(db.batch("SELECT * FROM $T WHERE", &[]))
        .send()
        .await);
    let error = out.responses()[0].error().unwrap();
    assert_eq!(
        error.code(),
        Some(&BatchStatementErrorCodeEnum::ValidationError)
    );
    assert_eq!(error.message(), Some(unexpected_term));
}

/// A DELETE's RETURNING other than ALL OLD is refused naming the clause as written (the
/// dynamodb-conformance suite's tier3 PartiQL RETURNING captures).
#[tokio::test]
async fn a_deletes_returning_other_than_all_old_is_refused_as_written() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[("pk", s("x"))]).await;
    for clause in ["MODIFIED OLD", "ALL NEW", "MODIFIED NEW"] {
        let statement = format!("DELETE FROM $T WHERE pk = 'x' RETURNING {clause} *");
        let want = format!(
            "Invalid returning clause: RETURNING {clause} *. Only RETURNING ALL OLD * is allowed in DELETE statements."
        );
        let refused = db.stmt(&statement, &[]).send().await;
        assert_api_error(refused, "ValidationException", Some(&want));
    }
    assert!(db.get("x", None).await.is_some(), "nothing deleted");
}

/// The refusals DynamoDB places in the statement (`at line:column:length`) count from the
/// statement as sent, table name and all; an empty bag and an empty call are refused in
/// its words too (the dynamodb-conformance suite's partiqlFunctions captures).
#[tokio::test]
async fn function_refusals_come_back_in_dynamodbs_words() {
    let (_store, db) = store_with_table(false).await;
    db.put(&[("pk", s("f")), ("ss", AttributeValue::Ss(vec!["a".into()]))])
        .await;
    // The column of `token` in the statement as sent.
    let column = |statement: &str| {
        let sent = db.sql(statement);
        move |token: &str| sent.find(token).unwrap() + 1
    };
    let unrecognized = "SELECT * FROM $T WHERE pk = 'f' AND EXISTS(ss)";
    let first_argument = "UPDATE $T SET t = set_add(ss, <<'x'>>) WHERE pk = 'f'";
    for (statement, want) in [
        (
            unrecognized,
            format!("Unrecognized function: exists at 1:{}:6", column(unrecognized)("EXISTS")),
        ),
        (
            first_argument,
            format!(
                "The first argument to SET_ADD must equal the assignment value at 1:{}:7",
                column(first_argument)("set_add")
            ),
        ),
        (
            "UPDATE $T SET ss = set_add(ss, <<>>) WHERE pk = 'f'",
            "Empty bags are not supported".into(),
        ),
        (
            "SELECT * FROM $T WHERE pk = 'f' AND attribute_exists()",
            "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 0".into(),
        ),
        ("x IS INT4", "Unsupported operation: IsType".into()),
        (
            "SELECT * FROM $T WHERE pk = 1e2147483648",
            "Statement wasn't well formed, can't be processed: ".into(),
        ),
    ] {
        let refused = db.stmt(statement, &[]).send().await;
        assert_api_error(refused, "ValidationException", Some(&want));
    }
    let untouched = item(&[("pk", s("f")), ("ss", AttributeValue::Ss(vec!["a".into()]))]);
    assert_eq!(db.get("f", None).await, Some(untouched));
}

/// A number passed as a parameter is read as DynamoDB reads one, Java's BigDecimal first
/// (the dynamodb-conformance suite's captures, partiqlParameterNumbers): an exponent past
/// a 32-bit integer, or a scale past one, cannot be converted at all (the text echoed, in
/// every place a parameter can stand, in a transaction too; in a batch, the statement's
/// own error); inside that range the magnitude wraps, so 1e2147483647 is an underflow. An attribute value elsewhere keeps
/// the ordinary rules (the same text in PutItem is an overflow).
#[tokio::test]
async fn parameter_numbers_are_read_as_dynamodb_reads_them() {
    let (_store, db) = store_with_table(false).await;
    let places = [
        "SELECT * FROM $T WHERE pk = 'p' AND n = ?",
        "INSERT INTO $T VALUE {'pk': 'inserted', 'n': ?}",
        "UPDATE $T SET n = ? WHERE pk = 'p'",
        "SELECT * FROM $T WHERE pk = ?",
    ];
    let number = |text: &str| AttributeValue::N(text.into());
    let message =
        |err: &SdkError<ExecuteStatementError>| err.message().unwrap_or_default().to_string();
    for text in [
        "1e99999999999",
        "-1e99999999999",
        "1e-99999999999",
        "1e2147483648",
        "1e-2147483648",
    ] {
        for place in places {
            let err = db
                .fails(place, &[number(text)], "ValidationException")
                .await;
            assert_eq!(
                message(&err),
                format!("The parameter cannot be converted to a numeric value: {text}"),
                "{place}"
            );
        }
    }
    for place in places {
        let err = db
            .fails(place, &[number("1e2147483647")], "ValidationException")
            .await;
        assert_eq!(
            message(&err),
            "Number underflow. Attempting to store a number with magnitude smaller than supported range",
            "{place}"
        );
    }
    let in_set = AttributeValue::Ns(vec!["1".into(), "1e99999999999".into()]);
    let err = db.fails(places[0], &[in_set], "ValidationException").await;
    assert_eq!(
        message(&err),
        "The parameter cannot be converted to a numeric value: 1e99999999999"
    );
    let txn = db
        .ddb
        .execute_transaction()
        .transact_statements(db.txn(places[2], &[number("1e99999999999")]))
        .send()
        .await;
    let err = assert_api_error(txn, "ValidationException", None);
    assert_eq!(
        err.message(),
        Some("The parameter cannot be converted to a numeric value: 1e99999999999")
    );
    // In a batch the statement fails alone, with the same words, and so does one whose
    // parameter nests too deep (reported first: it comes first in the document); the
    // others run.
    let mut deep = AttributeValue::S("leaf".into());
    for _ in 0..100 {
        deep = AttributeValue::M(HashMap::from([("n".to_string(), deep)]));
    }
    let batch = ok(db
        .ddb
        .batch_execute_statement()
        .statements(db.batch(places[2], &[number("1e99999999999")]))
        .statements(db.batch(
            "INSERT INTO $T VALUE {'pk': 'batched', 'n': ?}",
            &[number("7")],
        ))
        .statements(db.batch(
            "UPDATE $T SET x = ? SET y = ? WHERE pk = 'p'",
            &[deep, number("abc")],
        ))
        .send()
        .await);
    let outcomes: Vec<Option<(&str, &str)>> = batch
        .responses()
        .iter()
        .map(|r| {
            r.error().map(|e| {
                let code = e.code().map_or("", |c| c.as_str());
                (code, e.message().unwrap_or_default())
            })
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            Some((
                "ValidationError",
                "The parameter cannot be converted to a numeric value: 1e99999999999"
            )),
            None,
            Some((
                "ValidationError",
                "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit"
            )),
        ]
    );
    assert_eq!(db.get("batched", None).await.unwrap()["n"], number("7"));
    // An ordinary number parameter still works, and an item's value keeps its own rule.
    db.write(
        "INSERT INTO $T VALUE {'pk': 'fine', 'n': ?}",
        &[number("1.5e3")],
    )
    .await;
    assert_eq!(db.get("fine", None).await.unwrap()["n"], number("1500"));
    let put = db
        .ddb
        .put_item()
        .table_name(&db.table)
        .item("pk", s("overflow"))
        .item("n", number("1e2147483647"))
        .send()
        .await;
    let err = assert_api_error(put, "ValidationException", None);
    assert!(
        err.message()
            .unwrap_or_default()
            .starts_with("Number overflow"),
        "{err:?}"
    );
}
