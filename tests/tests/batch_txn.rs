//! BatchWriteItem / BatchGetItem and TransactWriteItems / TransactGetItems: success shapes,
//! size limits, duplicate keys, all-or-nothing cancellation with per-action reasons, and
//! ClientRequestToken idempotency (DYNAMODB.md §3, §5).

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, DeleteRequest, Get, KeysAndAttributes, Put, PutRequest,
    ReturnValuesOnConditionCheckFailure, TransactGetItem, TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use integration_tests::*;

async fn store_with_table() -> (StoreProcess, Client, String) {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("bt");
    create_hash_table(&ddb, &table).await;
    (store, ddb, table)
}

fn key(pk: &str) -> HashMap<String, AttributeValue> {
    item(&[("pk", s(pk))])
}

fn put_request(pk: &str, v: i64) -> WriteRequest {
    WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .set_item(Some(item(&[("pk", s(pk)), ("v", n(v))])))
                .build()
                .unwrap(),
        )
        .build()
}

fn delete_request(pk: &str) -> WriteRequest {
    WriteRequest::builder()
        .delete_request(
            DeleteRequest::builder()
                .set_key(Some(key(pk)))
                .build()
                .unwrap(),
        )
        .build()
}

async fn get(ddb: &Client, table: &str, pk: &str) -> Option<HashMap<String, AttributeValue>> {
    ok(ddb
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .consistent_read(true)
        .send()
        .await)
    .item
}

#[tokio::test]
async fn batch_write_then_batch_get() {
    let (_store, ddb, table) = store_with_table().await;
    let writes: Vec<WriteRequest> = (0..25).map(|i| put_request(&format!("k{i}"), i)).collect();
    let out = ok(ddb
        .batch_write_item()
        .request_items(&table, writes)
        .send()
        .await);
    assert!(
        out.unprocessed_items().is_none_or(|u| u.is_empty()),
        "unprocessed: {:?}",
        out.unprocessed_items()
    );

    let mut keys: Vec<_> = (0..25).map(|i| key(&format!("k{i}"))).collect();
    keys.push(key("missing"));
    let got = ok(ddb
        .batch_get_item()
        .request_items(
            &table,
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .unwrap(),
        )
        .send()
        .await);
    let items = got
        .responses()
        .and_then(|r| r.get(&table))
        .expect("Responses for the table");
    assert_eq!(items.len(), 25, "missing keys are simply absent");
    let mut values: Vec<i64> = items
        .iter()
        .map(|i| match &i["v"] {
            AttributeValue::N(v) => v.parse().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    values.sort_unstable();
    assert_eq!(values, (0..25).collect::<Vec<_>>());
    assert!(got.unprocessed_keys().is_none_or(|u| u.is_empty()));

    // Deletes and puts mixed in one batch.
    let mixed = vec![
        delete_request("k0"),
        delete_request("k1"),
        put_request("new", 99),
    ];
    ok(ddb
        .batch_write_item()
        .request_items(&table, mixed)
        .send()
        .await);
    assert!(get(&ddb, &table, "k0").await.is_none());
    assert!(get(&ddb, &table, "k1").await.is_none());
    assert_eq!(
        get(&ddb, &table, "new").await.unwrap().get("v"),
        Some(&n(99))
    );

    // Projection applies to every returned item.
    let projected = ok(ddb
        .batch_get_item()
        .request_items(
            &table,
            KeysAndAttributes::builder()
                .keys(key("new"))
                .projection_expression("v")
                .build()
                .unwrap(),
        )
        .send()
        .await);
    assert_eq!(
        projected.responses().unwrap()[&table],
        vec![item(&[("v", n(99))])]
    );
}

#[tokio::test]
async fn batch_limits_and_duplicates() {
    let (_store, ddb, table) = store_with_table().await;
    let too_many: Vec<WriteRequest> = (0..26).map(|i| put_request(&format!("k{i}"), i)).collect();
    assert_api_error(
        ddb.batch_write_item()
            .request_items(&table, too_many)
            .send()
            .await,
        "ValidationException",
        None,
    );

    let duplicates = vec![put_request("same", 1), delete_request("same")];
    assert_api_error(
        ddb.batch_write_item()
            .request_items(&table, duplicates)
            .send()
            .await,
        "ValidationException",
        Some("Provided list of item keys contains duplicates"),
    );

    // One bad request rejects the whole batch: nothing is written.
    let one_bad = vec![
        put_request("good", 1),
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(item(&[("pk", n(1))])))
                    .build()
                    .unwrap(),
            )
            .build(),
    ];
    assert_api_error(
        ddb.batch_write_item()
            .request_items(&table, one_bad)
            .send()
            .await,
        "ValidationException",
        None,
    );
    assert!(get(&ddb, &table, "good").await.is_none());

    let keys: Vec<_> = (0..101).map(|i| key(&format!("k{i}"))).collect();
    assert_api_error(
        ddb.batch_get_item()
            .request_items(
                &table,
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "ValidationException",
        None,
    );
    assert_api_error(
        ddb.batch_get_item()
            .request_items(
                &table,
                KeysAndAttributes::builder()
                    .keys(key("a"))
                    .keys(key("a"))
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        "ValidationException",
        Some("Provided list of item keys contains duplicates"),
    );
    assert_api_error(
        ddb.batch_write_item()
            .request_items("no-such-table", vec![put_request("x", 1)])
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
}

/// The map-keys constraint a bad table name breaks in both batch operations.
const MAP_KEYS: &str = "Map keys must satisfy constraint: [Member must have length less than or equal to 255, Member must have length greater than or equal to 3, Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+]";
const BOGUS_CAPACITY: &str = "Value 'BOGUS' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]";

/// BatchWriteItem's request constraints in DynamoDB's words (the dynamodb-conformance
/// suite's tier3/error-messages/batchWriteItem.test.ts and tier3/validation-ordering/
/// batchOperations.test.ts), and that a refused batch writes nothing, a valid table's
/// requests included.
#[tokio::test]
async fn batch_write_constraints_refuse_the_whole_batch() {
    use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
    let (_store, ddb, table) = store_with_table().await;
    assert_api_error(
        ddb.batch_write_item()
            .set_request_items(Some(HashMap::new()))
            .send()
            .await,
        "ValidationException",
        Some("1 validation error detected: Value at 'RequestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"),
    );
    let too_many: Vec<WriteRequest> = (0..26).map(|i| put_request(&format!("k{i}"), i)).collect();
    let over = format!("1 validation error detected: Value at 'RequestItems.{table}.member' failed to satisfy constraint: Member must have length less than or equal to 25");
    assert_api_error(
        ddb.batch_write_item()
            .request_items(&table, too_many)
            .send()
            .await,
        "ValidationException",
        Some(&over),
    );
    assert!(get(&ddb, &table, "k0").await.is_none());

    let empty = format!("1 validation error detected: Value '{{{table}=[]}}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]");
    assert_api_error(
        ddb.batch_write_item()
            .request_items(&table, vec![])
            .send()
            .await,
        "ValidationException",
        Some(&empty),
    );
    // An empty list beside a valid one: refused, the valid put not written.
    assert_api_error(
        ddb.batch_write_item()
            .request_items(&table, vec![put_request("beside", 1)])
            .request_items("other_table", vec![])
            .send()
            .await,
        "ValidationException",
        Some("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"),
    );
    assert!(get(&ddb, &table, "beside").await.is_none());

    // A bad table name gives way to a bad enum, which is reported alone.
    assert_api_error(
        ddb.batch_write_item()
            .request_items("bad!name", vec![put_request("x", 1)])
            .request_items(&table, vec![put_request("enum", 1)])
            .return_consumed_capacity(ReturnConsumedCapacity::from("BOGUS"))
            .send()
            .await,
        "ValidationException",
        Some(&format!("1 validation error detected: {BOGUS_CAPACITY}")),
    );
    assert!(get(&ddb, &table, "enum").await.is_none());
    assert_api_error(
        ddb.batch_write_item()
            .request_items("bad!name", vec![put_request("x", 1)])
            .send()
            .await,
        "ValidationException",
        Some(&format!(
            "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: {MAP_KEYS}"
        )),
    );
}

/// BatchGetItem's request constraints in DynamoDB's words (the dynamodb-conformance
/// suite's tier3/error-messages/batchGetItem.test.ts and tier3/validation-ordering/
/// batchOperations.test.ts): the length constraints in the newer validation layer's form,
/// a bad table name echoing the map as JSON ahead of a bad ReturnConsumedCapacity.
#[tokio::test]
async fn batch_get_constraints_in_dynamodb_words() {
    use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
    let (_store, ddb, table) = store_with_table().await;
    let keys = |keys: Vec<HashMap<String, AttributeValue>>| {
        KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .build()
            .unwrap()
    };
    assert_api_error(
        ddb.batch_get_item()
            .set_request_items(Some(HashMap::new()))
            .send()
            .await,
        "ValidationException",
        Some("1 validation error detected: Value at 'RequestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"),
    );
    let over = format!("1 validation error detected: Value at 'RequestItems.{table}.member.Keys' failed to satisfy constraint: Member must have length less than or equal to 100");
    let many = (0..101).map(|i| key(&format!("k{i}"))).collect();
    assert_api_error(
        ddb.batch_get_item()
            .request_items(&table, keys(many))
            .send()
            .await,
        "ValidationException",
        Some(&over),
    );
    let empty = format!("1 validation error detected: Value at 'RequestItems.{table}.member.Keys' failed to satisfy constraint: Member must have length greater than or equal to 1");
    assert_api_error(
        ddb.batch_get_item()
            .request_items(&table, keys(vec![]))
            .send()
            .await,
        "ValidationException",
        Some(&empty),
    );
    let echoed = format!(
        "Value '{{\"bad!name\":{{\"Keys\":[{{\"pk\":{{\"S\":\"a\"}}}}]}}}}' at 'requestItems' failed to satisfy constraint: {MAP_KEYS}"
    );
    assert_api_error(
        ddb.batch_get_item()
            .request_items("bad!name", keys(vec![key("a")]))
            .send()
            .await,
        "ValidationException",
        Some(&format!("1 validation error detected: {echoed}")),
    );
    assert_api_error(
        ddb.batch_get_item()
            .request_items("bad!name", keys(vec![key("a")]))
            .return_consumed_capacity(ReturnConsumedCapacity::from("BOGUS"))
            .send()
            .await,
        "ValidationException",
        Some(&format!(
            "2 validation errors detected: {echoed}; {BOGUS_CAPACITY}"
        )),
    );
}

fn tw_put(table: &str, it: HashMap<String, AttributeValue>) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(it))
                .build()
                .unwrap(),
        )
        .build()
}

fn tw_add(table: &str, pk: &str, amount: i64) -> TransactWriteItem {
    TransactWriteItem::builder()
        .update(
            Update::builder()
                .table_name(table)
                .set_key(Some(key(pk)))
                .update_expression("ADD v :d")
                .expression_attribute_values(":d", n(amount))
                .build()
                .unwrap(),
        )
        .build()
}

/// A ConditionCheck that asks for ALL_OLD on failure.
fn tw_check(
    table: &str,
    pk: &str,
    condition: &str,
    values: &[(&str, AttributeValue)],
) -> TransactWriteItem {
    let mut check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key(pk)))
        .condition_expression(condition)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    for (name, value) in values {
        check = check.expression_attribute_values(*name, value.clone());
    }
    TransactWriteItem::builder()
        .condition_check(check.build().unwrap())
        .build()
}

fn tw_delete(table: &str, pk: &str) -> TransactWriteItem {
    TransactWriteItem::builder()
        .delete(
            Delete::builder()
                .table_name(table)
                .set_key(Some(key(pk)))
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn transact_write_applies_all_actions() {
    let (_store, ddb, table) = store_with_table().await;
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("acct-a"))
        .item("v", n(100))
        .send()
        .await);
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("gone"))
        .item("v", n(1))
        .send()
        .await);
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("guard"))
        .item("gate", AttributeValue::Bool(true))
        .send()
        .await);

    ok(ddb
        .transact_write_items()
        .transact_items(tw_add(&table, "acct-a", -30))
        .transact_items(tw_put(&table, item(&[("pk", s("acct-b")), ("v", n(30))])))
        .transact_items(tw_delete(&table, "gone"))
        .transact_items(tw_check(
            &table,
            "guard",
            "gate = :t",
            &[(":t", AttributeValue::Bool(true))],
        ))
        .send()
        .await);
    assert_eq!(
        get(&ddb, &table, "acct-a").await.unwrap().get("v"),
        Some(&n(70))
    );
    assert_eq!(
        get(&ddb, &table, "acct-b").await.unwrap().get("v"),
        Some(&n(30))
    );
    assert!(get(&ddb, &table, "gone").await.is_none());
}

#[tokio::test]
async fn transact_write_cancels_everything_with_reasons() {
    let (_store, ddb, table) = store_with_table().await;
    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("acct-a"))
        .item("v", n(100))
        .send()
        .await);

    let result = ddb
        .transact_write_items()
        .transact_items(tw_add(&table, "acct-a", -30))
        .transact_items(tw_check(&table, "absent", "attribute_exists(pk)", &[]))
        .transact_items(tw_put(&table, item(&[("pk", s("acct-b")), ("v", n(30))])))
        .send()
        .await;
    let err = assert_api_error(
        result,
        "TransactionCanceledException",
        Some(
            "Transaction cancelled, please refer cancellation reasons for specific reasons \
             [None, ConditionalCheckFailed, None]",
        ),
    );
    match err.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            let codes: Vec<_> = e
                .cancellation_reasons()
                .iter()
                .map(|r| r.code().unwrap_or(""))
                .collect();
            assert_eq!(codes, vec!["None", "ConditionalCheckFailed", "None"]);
            let failed = &e.cancellation_reasons()[1];
            assert_eq!(failed.message(), Some("The conditional request failed"));
            // ALL_OLD on a missing item: no Item.
            assert!(failed.item().is_none());
            assert!(e.cancellation_reasons()[0].message().is_none());
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
    // Nothing was applied.
    assert_eq!(
        get(&ddb, &table, "acct-a").await.unwrap().get("v"),
        Some(&n(100))
    );
    assert!(get(&ddb, &table, "acct-b").await.is_none());

    // ALL_OLD on an existing item puts it on that action's reason.
    let result = ddb
        .transact_write_items()
        .transact_items(tw_check(&table, "acct-a", "v > :big", &[(":big", n(1000))]))
        .send()
        .await;
    let err = assert_api_error(result, "TransactionCanceledException", None);
    match err.into_service_error() {
        TransactWriteItemsError::TransactionCanceledException(e) => {
            assert_eq!(
                e.cancellation_reasons()[0].item(),
                Some(&item(&[("pk", s("acct-a")), ("v", n(100))]))
            );
        }
        other => panic!("expected TransactionCanceledException, got {other:?}"),
    }
}

#[tokio::test]
async fn transact_write_static_validation() {
    let (_store, ddb, table) = store_with_table().await;
    assert_api_error(
        ddb.transact_write_items()
            .transact_items(tw_add(&table, "same", 1))
            .transact_items(tw_delete(&table, "same"))
            .send()
            .await,
        "ValidationException",
        Some("Transaction request cannot include multiple operations on one item"),
    );
    let too_many = (0..101)
        .map(|i| tw_put(&table, key(&format!("k{i}"))))
        .collect();
    assert_api_error(
        ddb.transact_write_items()
            .set_transact_items(Some(too_many))
            .send()
            .await,
        "ValidationException",
        None,
    );
    // A missing table fails the call, not as a cancellation.
    assert_api_error(
        ddb.transact_write_items()
            .transact_items(tw_put("no-such-table", key("x")))
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
    assert!(get(&ddb, &table, "k0").await.is_none());
}

/// `ADD v :amount` to item `ctr`, as a transaction with `token`.
async fn tokened_add(
    ddb: &Client,
    table: &str,
    token: &str,
    amount: i64,
) -> Result<
    aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsOutput,
    aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>,
> {
    ddb.transact_write_items()
        .client_request_token(token)
        .transact_items(tw_add(table, "ctr", amount))
        .send()
        .await
}

/// Item `ctr` was added to once (the token's first use), and the token, reused with
/// another payload, is a mismatch.
async fn assert_token_applied_once(ddb: &Client, table: &str, token: &str) {
    assert_eq!(
        get(ddb, table, "ctr").await.unwrap().get("v"),
        Some(&n(1)),
        "a repeated token applies once"
    );
    assert_api_error(
        tokened_add(ddb, table, token, 2).await,
        "IdempotentParameterMismatchException",
        None,
    );
}

#[tokio::test]
async fn client_request_token_makes_transactions_idempotent() {
    let (_store, ddb, table) = store_with_table().await;
    let token = "token-0123456789";
    for _ in 0..3 {
        ok(tokened_add(&ddb, &table, token, 1).await);
    }
    assert_token_applied_once(&ddb, &table, token).await;
    // A replay writes nothing and reports its item's transactional read: 2 units a 4 KB
    // (it reported 1), as read units.
    let replay = ok(ddb
        .transact_write_items()
        .client_request_token(token)
        .transact_items(tw_add(&table, "ctr", 1))
        .return_consumed_capacity(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total)
        .send()
        .await);
    let consumed = &replay.consumed_capacity()[0];
    assert_eq!(
        (
            consumed.capacity_units(),
            consumed.read_capacity_units(),
            consumed.write_capacity_units()
        ),
        (Some(2.0), Some(2.0), None)
    );
}

/// A store that restarts (here, is killed) between a transaction and the SDK's retry of it
/// must still replay the retry: the transaction was acknowledged, and applying it twice
/// is what the token exists to prevent.
#[tokio::test]
async fn a_transaction_token_outlives_a_store_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = StoreProcess::spawn_in(dir.path());
    let table = unique_name("bt");
    create_hash_table(&store.client(), &table).await;
    let token = "restart-token-1";
    ok(tokened_add(&store.client(), &table, token, 1).await);
    store.kill9();
    store.restart();
    let ddb = store.client();
    ok(tokened_add(&ddb, &table, token, 1).await);
    assert_token_applied_once(&ddb, &table, token).await;
}

/// SDKs resend a transaction with the same token when the first try timed out or lost its
/// connection. The first try's commit may finish without it; the retry must then replay,
/// not apply the transaction a second time.
#[tokio::test]
async fn a_transaction_retried_after_its_client_hung_up_applies_once() {
    let (store, ddb, table) = store_with_table().await;
    // 100 actions, so that the first try is still committing when its client goes.
    let mut items: Vec<serde_json::Value> = (0..99)
        .map(|i| {
            let item = serde_json::json!({"pk": {"S": format!("filler-{i}")}, "v": {"N": "1"}});
            serde_json::json!({"Put": {"TableName": table, "Item": item}})
        })
        .collect();
    items.push(serde_json::json!({"Update": {
        "TableName": table,
        "Key": {"pk": {"S": "ctr"}},
        "UpdateExpression": "ADD v :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }}));
    let trials = 12;
    for trial in 0..trials {
        let body = serde_json::json!({
            "TransactItems": items,
            "ClientRequestToken": format!("hung-up-{trial}"),
        })
        .to_string();
        raw_call_headers(&store.endpoint(), "TransactWriteItems", body.as_bytes())
            .send_and_hang_up()
            .await;
        // The SDK's retry: the same request, the same token, until it is not in progress.
        let mut retried = None;
        for _ in 0..100 {
            let answer = raw_call(&store.endpoint(), "TransactWriteItems", body.as_bytes()).await;
            let in_progress = answer.status == 400
                && String::from_utf8_lossy(&answer.body).contains("TransactionInProgressException");
            if !in_progress {
                retried = Some(answer);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let retried = retried.expect("the first try finished");
        assert_eq!(
            retried.status,
            200,
            "{}",
            String::from_utf8_lossy(&retried.body)
        );
    }
    assert_eq!(
        get(&ddb, &table, "ctr").await.unwrap().get("v"),
        Some(&n(trials)),
        "each transaction applied once"
    );
}

#[tokio::test]
async fn transactions_carry_at_most_four_megabytes_of_items() {
    let (_store, ddb, table) = store_with_table().await;
    let big = "d".repeat(390_000);
    let big_item = |i: usize| item(&[("pk", s(&format!("big-{i}"))), ("d", s(&big))]);
    let message = "Transaction failed: The total size of all items in the transaction request cannot exceed 4 MB";
    // Eleven 390 KB puts are 4.3 MB: refused whole, nothing written.
    let puts = (0..11).map(|i| tw_put(&table, big_item(i))).collect();
    let request = ddb.transact_write_items().set_transact_items(Some(puts));
    assert_api_error(request.send().await, "ValidationException", Some(message));
    assert!(get(&ddb, &table, "big-0").await.is_none());
    // Ten are 3.9 MB: written.
    let puts = (0..10).map(|i| tw_put(&table, big_item(i))).collect();
    ok(ddb
        .transact_write_items()
        .set_transact_items(Some(puts))
        .send()
        .await);
    ok(ddb
        .put_item()
        .table_name(&table)
        .set_item(Some(big_item(10)))
        .send()
        .await);
    let gets = |n: usize| -> Vec<TransactGetItem> {
        (0..n)
            .map(|i| {
                let get = Get::builder()
                    .table_name(&table)
                    .set_key(Some(key(&format!("big-{i}"))))
                    .build()
                    .unwrap();
                TransactGetItem::builder().get(get).build()
            })
            .collect()
    };
    let read = ok(ddb
        .transact_get_items()
        .set_transact_items(Some(gets(10)))
        .send()
        .await);
    assert_eq!(read.responses().len(), 10);
    let request = ddb.transact_get_items().set_transact_items(Some(gets(11)));
    assert_api_error(request.send().await, "ValidationException", Some(message));
}

#[tokio::test]
async fn transact_get_in_request_order() {
    let (_store, ddb, table) = store_with_table().await;
    for (pk, v) in [("a", 1), ("b", 2), ("c", 3)] {
        ok(ddb
            .put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("v", n(v))
            .item("extra", s("x"))
            .send()
            .await);
    }
    let get_of = |pk: &str| {
        TransactGetItem::builder()
            .get(
                Get::builder()
                    .table_name(&table)
                    .set_key(Some(key(pk)))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let out = ok(ddb
        .transact_get_items()
        .transact_items(get_of("b"))
        .transact_items(get_of("missing"))
        .transact_items(get_of("a"))
        .transact_items(
            TransactGetItem::builder()
                .get(
                    Get::builder()
                        .table_name(&table)
                        .set_key(Some(key("c")))
                        .projection_expression("v")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await);
    let responses = out.responses();
    assert_eq!(responses.len(), 4);
    assert_eq!(responses[0].item().and_then(|i| i.get("v")), Some(&n(2)));
    assert!(
        responses[1].item().is_none_or(|i| i.is_empty()),
        "missing item: {:?}",
        responses[1]
    );
    assert_eq!(responses[2].item().and_then(|i| i.get("v")), Some(&n(1)));
    assert_eq!(responses[3].item(), Some(&item(&[("v", n(3))])));

    // One item twice is rejected, as in TransactWriteItems.
    assert_api_error(
        ddb.transact_get_items()
            .transact_items(get_of("a"))
            .transact_items(get_of("a"))
            .send()
            .await,
        "ValidationException",
        Some("Transaction request cannot include multiple operations on one item"),
    );

    assert_api_error(
        ddb.transact_get_items()
            .transact_items(
                TransactGetItem::builder()
                    .get(
                        Get::builder()
                            .table_name("no-such-table")
                            .set_key(Some(key("a")))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await,
        "ResourceNotFoundException",
        None,
    );
}

/// TransactGetItems' request constraints are plain ValidationExceptions, never a
/// cancellation, and come before the table lookups and the duplicate check (the
/// dynamodb-conformance suite's tier3/error-messages/transactGetItems.test.ts and
/// tier3/validation-ordering/transactions.test.ts).
#[tokio::test]
async fn transact_get_constraints_come_first_and_do_not_cancel() {
    use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
    let (_store, ddb, table) = store_with_table().await;
    let get_of = |table: &str, pk: &str| {
        let get = Get::builder()
            .table_name(table)
            .set_key(Some(key(pk)))
            .build()
            .unwrap();
        TransactGetItem::builder().get(get).build()
    };
    assert_api_error(
        ddb.transact_get_items()
            .transact_items(get_of(&table, "a"))
            .transact_items(get_of("bad!name", "a"))
            .send()
            .await,
        "ValidationException",
        Some("1 validation error detected: Value 'bad!name' at 'transactItems.2.member.get.tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"),
    );
    let bogus = format!("1 validation error detected: {BOGUS_CAPACITY}");
    for second in [get_of(&table, "a"), get_of("no_such_table", "a")] {
        assert_api_error(
            ddb.transact_get_items()
                .transact_items(get_of(&table, "a"))
                .transact_items(second)
                .return_consumed_capacity(ReturnConsumedCapacity::from("BOGUS"))
                .send()
                .await,
            "ValidationException",
            Some(&bogus),
        );
    }
}

/// A key over DynamoDB's size limits in a transaction cancels it, with that action's
/// `ValidationError` reason and `None` for the others (as the service answers: extenddb#211),
/// not a ValidationException of the whole call; and a TransactGetItems projection that
/// matches nothing leaves `Item` out (extenddb#74), where GetItem answers `{}`.
#[tokio::test]
async fn an_oversized_key_cancels_its_transaction_and_an_empty_projection_leaves_item_out() {
    use aws_sdk_dynamodb::operation::transact_get_items::TransactGetItemsError;
    let (_store, ddb, table) = store_with_table().await;
    let oversized = "k".repeat(2049);
    let result = ddb
        .transact_write_items()
        .transact_items(tw_put(&table, item(&[("pk", s("fine")), ("v", n(1))])))
        .transact_items(tw_put(&table, item(&[("pk", s(&oversized))])))
        .send()
        .await;
    let err = assert_api_error(
        result,
        "TransactionCanceledException",
        Some(
            "Transaction cancelled, please refer cancellation reasons for specific reasons \
             [None, ValidationError]",
        ),
    );
    let TransactWriteItemsError::TransactionCanceledException(e) = err.into_service_error() else {
        panic!("expected TransactionCanceledException");
    };
    let refused = &e.cancellation_reasons()[1];
    assert_eq!(
        refused.message(),
        Some("One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes")
    );
    assert!(
        get(&ddb, &table, "fine").await.is_none(),
        "nothing is written"
    );

    // Any other mistake in an action's key cancels it too, with the key parser's message;
    // an empty key value fails the whole call (the dynamodb-conformance suite's captures).
    let reasons =
        |result: Result<_, aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>>| {
            let err = assert_api_error(result, "TransactionCanceledException", None);
            let TransactWriteItemsError::TransactionCanceledException(e) = err.into_service_error()
            else {
                panic!("expected TransactionCanceledException");
            };
            e.cancellation_reasons()
                .iter()
                .map(|r| {
                    (
                        r.code().unwrap_or("").to_string(),
                        r.message().map(str::to_string),
                    )
                })
                .collect::<Vec<_>>()
        };
    let delete_mistyped = Delete::builder()
        .table_name(&table)
        .key("pk", n(5))
        .build()
        .unwrap();
    for (action, message) in [
        (
            tw_put(&table, item(&[("pk", n(5))])),
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N",
        ),
        (
            TransactWriteItem::builder().delete(delete_mistyped).build(),
            "The provided key element does not match the schema",
        ),
    ] {
        let refused = reasons(
            ddb.transact_write_items()
                .transact_items(action)
                .send()
                .await,
        );
        assert_eq!(
            refused,
            [("ValidationError".to_string(), Some(message.to_string()))]
        );
    }
    let empty_key = "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk";
    assert_api_error(
        ddb.transact_write_items()
            .transact_items(tw_put(&table, item(&[("pk", s("fine"))])))
            .transact_items(tw_put(&table, item(&[("pk", s(""))])))
            .send()
            .await,
        "ValidationException",
        Some(empty_key),
    );
    assert_api_error(
        ddb.transact_write_items()
            .transact_items(tw_add(&table, "", 1))
            .send()
            .await,
        "ValidationException",
        Some(empty_key),
    );

    ok(ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("fine"))
        .item("v", n(1))
        .send()
        .await);
    let get_of = |pk: &str, projection: Option<&str>| {
        let get = Get::builder()
            .table_name(&table)
            .set_key(Some(key(pk)))
            .set_projection_expression(projection.map(str::to_string))
            .build()
            .unwrap();
        TransactGetItem::builder().get(get).build()
    };
    let result = ddb
        .transact_get_items()
        .transact_items(get_of(&oversized, None))
        .transact_items(get_of("fine", None))
        .send()
        .await;
    let err = assert_api_error(result, "TransactionCanceledException", None);
    let TransactGetItemsError::TransactionCanceledException(e) = err.into_service_error() else {
        panic!("expected TransactionCanceledException");
    };
    let codes: Vec<_> = e
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or(""))
        .collect();
    assert_eq!(codes, ["ValidationError", "None"]);

    let out = ok(ddb
        .transact_get_items()
        .transact_items(get_of("fine", Some("absent")))
        .send()
        .await);
    assert_eq!(out.responses()[0].item(), None);
}
