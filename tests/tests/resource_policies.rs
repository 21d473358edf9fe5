//! Resource-based policies through aws-sdk-dynamodb, with principals from the credentials
//! file: Put/Get/DeleteResourcePolicy with revision ids and conditional updates, a policy
//! given to CreateTable, and enforcement: an explicit deny refuses a caller of the store's
//! own account, a caller of another account gets only what a policy allows (on the table,
//! its index, its stream), conditions on the caller's address, policies survive a restart,
//! and calls relayed by a dax-proxy node are the cluster's role.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    BillingMode, KeyType, ScalarAttributeType, StreamViewType, TransactWriteItem,
};
use integration_tests::aws_sdk_dynamodb::Client;
use integration_tests::*;

const BOB: &str = "arn:aws:iam::111122223333:user/bob";
/// The account's user `AKIDEVE`.
const EVE: &str = "arn:aws:iam::000000000000:user/AKIDEVE";
/// Why a caller of another account is refused what no policy allows.
const NOT_ALLOWED: &str = "because no resource-based policy allows";

/// The harness's key (the account's admin), eve (the account's user `AKIDEVE`), bob
/// (a user of account 111122223333) and the account's root principal.
fn keys_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let text = format!(
        "{ACCESS_KEY_ID} {SECRET_ACCESS_KEY}\nAKIDEVE eve-secret\nAKIDBOB bob-secret {BOB}\n\
         AKIDROOT root-secret arn:aws:iam::000000000000:root\n"
    );
    std::fs::write(file.path(), text).unwrap();
    file
}

/// Denies eve deleting items; allows bob reading items and querying the indexes.
fn table_policy(table_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "NoDeletesByEve", "Effect": "Deny",
             "Principal": {"AWS": EVE},
             "Action": ["dynamodb:DeleteItem", "dynamodb:PartiQLDelete"], "Resource": table_arn},
            {"Sid": "BobReads", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
             "Action": ["dynamodb:GetItem", "dynamodb:Query"],
             "Resource": [table_arn, format!("{table_arn}/index/*")]}
        ]
    })
    .to_string()
}

/// A store that knows the principals of `keys` ([`keys_file`]).
fn store_knowing(keys: &tempfile::NamedTempFile) -> StoreProcess {
    StoreProcess::spawn_with(StoreOptions {
        args: checking_signatures(keys.path()),
        ..Default::default()
    })
}

/// A client of `store` signing as bob.
fn as_bob(store: &StoreProcess) -> Client {
    client_with_credentials(&store.endpoint(), "AKIDBOB", "bob-secret")
}

/// A client of `store` signing as eve.
fn as_eve(store: &StoreProcess) -> Client {
    client_with_credentials(&store.endpoint(), "AKIDEVE", "eve-secret")
}

/// Attaches `policy` to the resource `arn`.
async fn attach(admin: &Client, arn: &str, policy: &serde_json::Value) {
    ok(admin
        .put_resource_policy()
        .resource_arn(arn)
        .policy(policy.to_string())
        .send()
        .await);
}

fn denied<T: std::fmt::Debug, E: ProvideErrorMetadata + std::error::Error>(
    result: Result<T, E>,
    why: &str,
) {
    let err = assert_api_error(result, "AccessDeniedException", None);
    let message = err.message().unwrap_or_default();
    assert!(message.contains(why), "{message}");
}

/// A policy that denies everyone everything, its own management included, locks out the
/// account's users; its root principal can still delete it, as in DynamoDB, and nothing
/// else.
#[tokio::test]
async fn the_root_principal_can_always_delete_a_policy() {
    let keys = keys_file();
    let store = store_knowing(&keys);
    let admin = store.client();
    let table = unique_name("lockout");
    create_hash_table(&admin, &table).await;
    let arn = admin
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .and_then(|t| t.table_arn)
        .unwrap();
    let deny_all = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "dynamodb:*",
                       "Resource": arn}]
    });
    attach(&admin, &arn, &deny_all).await;
    let root = client_with_credentials(&store.endpoint(), "AKIDROOT", "root-secret");
    denied(
        admin
            .delete_resource_policy()
            .resource_arn(&arn)
            .send()
            .await,
        "explicit deny",
    );
    denied(
        root.describe_table().table_name(&table).send().await,
        "explicit deny",
    );
    ok(root
        .delete_resource_policy()
        .resource_arn(&arn)
        .send()
        .await);
    ok(admin.describe_table().table_name(&table).send().await);
}

#[tokio::test]
async fn resource_policies_are_revised_and_enforced() {
    let keys = keys_file();
    let mut store = store_knowing(&keys);
    let admin = store.client();
    let table = unique_name("guarded");
    ok(admin
        .create_table()
        .table_name(&table)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .global_secondary_indexes(gsi_projecting_all("by_g", "g").build().unwrap())
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    wait_table_active(&admin, &table).await;
    enable_stream(&admin, &table, StreamViewType::KeysOnly).await;
    let arn = table_arn(&admin, &table).await;
    let put_item = |client: &Client, pk: &str| {
        client
            .put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("g", s("G"))
            .send()
    };
    ok(put_item(&admin, "a").await);

    // No policy yet.
    let get_policy = || admin.get_resource_policy().resource_arn(&arn).send();
    assert_api_error(get_policy().await, "PolicyNotFoundException", None);
    let put_policy = |policy: String, expected: Option<&str>| {
        admin
            .put_resource_policy()
            .resource_arn(&arn)
            .policy(policy)
            .set_expected_revision_id(expected.map(str::to_string))
            .send()
    };
    // Refused: a document this store cannot evaluate, a missing table, an index.
    assert_api_error(
        put_policy("{\"Statement\": []}".into(), None).await,
        "ValidationException",
        None,
    );
    for missing in [format!("{arn}-none"), format!("{arn}/index/by_g")] {
        let refused = admin
            .put_resource_policy()
            .resource_arn(missing)
            .policy(table_policy(&arn))
            .send()
            .await;
        assert_api_error(refused, "ResourceNotFoundException", None);
    }

    // Revisions: the same document keeps its revision; expectations are checked.
    let policy = table_policy(&arn);
    let first = ok(put_policy(policy.clone(), Some("NO_POLICY")).await);
    let revision = first.revision_id().unwrap().to_string();
    let again = ok(put_policy(policy.clone(), None).await);
    assert_eq!(again.revision_id(), Some(revision.as_str()));
    assert_api_error(
        put_policy(policy.clone(), Some("NO_POLICY")).await,
        "PolicyNotFoundException",
        None,
    );
    assert_api_error(
        put_policy(policy.replace("NoDeletesByEve", "Eve"), Some("12345")).await,
        "PolicyNotFoundException",
        None,
    );
    let got = ok(get_policy().await);
    assert_eq!(got.policy(), Some(policy.as_str()));
    assert_eq!(got.revision_id(), Some(revision.as_str()));

    // The account's own users: everything but what is denied.
    let eve = as_eve(&store);
    ok(put_item(&eve, "e").await);
    let delete = |client: &Client, pk: &str| {
        client
            .delete_item()
            .table_name(&table)
            .key("pk", s(pk))
            .send()
    };
    denied(delete(&eve, "e").await, "with an explicit deny");
    let transact_delete = TransactWriteItem::builder()
        .delete(
            aws_sdk_dynamodb::types::Delete::builder()
                .table_name(&table)
                .key("pk", s("e"))
                .build()
                .unwrap(),
        )
        .build();
    denied(
        eve.transact_write_items()
            .transact_items(transact_delete)
            .send()
            .await,
        "dynamodb:DeleteItem",
    );
    denied(
        eve.execute_statement()
            .statement(format!("DELETE FROM \"{table}\" WHERE pk = 'e'"))
            .send()
            .await,
        "dynamodb:PartiQLDelete",
    );
    ok(delete(&admin, "a").await);

    // Another account's user: only what the policy allows.
    let bob = as_bob(&store);
    let got = ok(bob
        .get_item()
        .table_name(&arn)
        .key("pk", s("e"))
        .send()
        .await);
    assert!(got.item().is_some());
    let on_index = ok(bob
        .query()
        .table_name(&arn)
        .index_name("by_g")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s("G"))
        .send()
        .await);
    assert_eq!(on_index.count(), 1);
    denied(
        put_item(&bob, "b").await,
        "because no resource-based policy allows the dynamodb:PutItem action",
    );
    denied(bob.list_tables().send().await, BOB);

    // A stream has a policy of its own.
    let stream_arn = ok(admin.describe_table().table_name(&table).send().await)
        .table()
        .and_then(|t| t.latest_stream_arn())
        .unwrap()
        .to_string();
    let bob_streams = streams_client_with_credentials(&store.endpoint(), "AKIDBOB", "bob-secret");
    let describe_stream = || bob_streams.describe_stream().stream_arn(&stream_arn).send();
    denied(describe_stream().await, "dynamodb:DescribeStream");
    let stream_policy = |actions: &[&str]| {
        let policy = serde_json::json!({
            "Statement": {"Effect": "Allow", "Principal": {"AWS": BOB},
                          "Action": actions, "Resource": stream_arn}
        });
        admin
            .put_resource_policy()
            .resource_arn(&stream_arn)
            .policy(policy.to_string())
            .send()
    };
    let reading = ["dynamodb:DescribeStream", "dynamodb:GetShardIterator"];
    ok(stream_policy(&reading).await);
    let described = ok(describe_stream().await);
    let shard = described
        .stream_description()
        .and_then(|d| d.shards().first())
        .and_then(|s| s.shard_id())
        .unwrap()
        .to_string();
    let iterator = ok(bob_streams
        .get_shard_iterator()
        .stream_arn(&stream_arn)
        .shard_id(&shard)
        .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
        .send()
        .await)
    .shard_iterator()
    .unwrap()
    .to_string();
    // GetRecords is checked on the stream its iterator names.
    let get_records = || bob_streams.get_records().shard_iterator(&iterator).send();
    denied(get_records().await, "dynamodb:GetRecords");
    ok(stream_policy(&[reading[0], reading[1], "dynamodb:GetRecords"]).await);
    let records = ok(get_records().await);
    assert!(!records.records().is_empty());

    // Policies are durable.
    store.restart();
    let admin = store.client();
    let eve = as_eve(&store);
    denied(delete(&eve, "e").await, "with an explicit deny");

    // Deleting the table's policy: by its revision, answering it; eve may delete again and
    // bob may no longer read.
    let deleted = ok(admin
        .delete_resource_policy()
        .resource_arn(&arn)
        .expected_revision_id(&revision)
        .send()
        .await);
    assert_eq!(deleted.revision_id(), Some(revision.as_str()));
    assert_api_error(
        admin
            .delete_resource_policy()
            .resource_arn(&arn)
            .send()
            .await,
        "PolicyNotFoundException",
        None,
    );
    ok(delete(&eve, "e").await);
    let bob = as_bob(&store);
    denied(
        bob.get_item()
            .table_name(&arn)
            .key("pk", s("e"))
            .send()
            .await,
        "because no resource-based policy allows",
    );

    // CreateTable attaches a policy as it creates the table.
    let born = unique_name("bornguarded");
    let born_arn = arn.replace(&table, &born);
    ok(admin
        .create_table()
        .table_name(&born)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .resource_policy(table_policy(&born_arn))
        .send()
        .await);
    let attached = ok(admin
        .get_resource_policy()
        .resource_arn(&born_arn)
        .send()
        .await);
    assert_eq!(attached.policy(), Some(table_policy(&born_arn).as_str()));

    // Conditions on the caller's address read the connection's peer: these clients come
    // from 127.0.0.1, outside 10.0.0.0/8 and inside 127.0.0.0/8.
    let by_address = serde_json::json!({
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "dynamodb:Scan", "Resource": born_arn,
             "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
            {"Effect": "Deny", "Principal": "*", "Action": "dynamodb:DescribeTable", "Resource": born_arn,
             "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}
        ]
    });
    attach(&admin, &born_arn, &by_address).await;
    denied(admin.scan().table_name(&born).send().await, "dynamodb:Scan");
    denied(
        admin.describe_table().table_name(&born).send().await,
        "dynamodb:DescribeTable",
    );
    ok(admin
        .get_item()
        .table_name(&born)
        .key("pk", s("x"))
        .send()
        .await);

    // Through a dax-proxy node a call is the cluster's role, not the node's client (as
    // DAX calls DynamoDB with its own role): eve's denial does not follow her there, and
    // a denial of the role refuses what the node relays.
    let role_policy = serde_json::json!({
        "Statement": [
            {"Effect": "Deny", "Principal": {"AWS": EVE},
             "Action": "dynamodb:DeleteItem", "Resource": arn},
            {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::000000000000:role/dax-proxy"},
             "Action": "dynamodb:PutItem", "Resource": arn}
        ]
    });
    attach(&admin, &arn, &role_policy).await;
    // The node checks its clients' signatures against the store's keys (a node that
    // checks none is not trusted: auth.rs).
    let flags = checking_signatures(keys.path());
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let node = ProxyProcess::spawn_with(&store.endpoint(), &flags, &[]);
    let eve_via_node = client_with_credentials(&node.endpoint(), "AKIDEVE", "eve-secret");
    denied(delete(&eve, "a").await, "with an explicit deny");
    ok(delete(&eve_via_node, "a").await);
    denied(put_item(&eve_via_node, "n").await, "role/dax-proxy");
    ok(put_item(&eve, "n").await);

    // Policies themselves are not managed through a node: as the cluster's role, eve could
    // replace the policy that denies her (or read any table's).
    let opened = serde_json::json!({"Statement": [
        {"Effect": "Allow", "Principal": {"AWS": EVE}, "Action": "dynamodb:*", "Resource": arn}
    ]});
    let replaced = eve_via_node
        .put_resource_policy()
        .resource_arn(&arn)
        .policy(opened.to_string())
        .send()
        .await;
    let refused = assert_api_error(replaced, "AccessDeniedException", None);
    assert!(
        refused
            .message()
            .unwrap_or_default()
            .contains("call the store itself"),
        "{refused:?}"
    );
    let read = eve_via_node
        .get_resource_policy()
        .resource_arn(&arn)
        .send()
        .await;
    assert_api_error(read, "AccessDeniedException", None);
    let removed = eve_via_node
        .delete_resource_policy()
        .resource_arn(&arn)
        .send()
        .await;
    assert_api_error(removed, "AccessDeniedException", None);
    denied(delete(&eve, "a").await, "with an explicit deny");
}

/// Fine-grained access: a policy that lets bob (another account) reach only the items
/// whose partition key is his user name (`ForAllValues:StringEquals` on
/// `dynamodb:LeadingKeys` with `${aws:username}`), through every way a call names items:
/// a key, an item, a Query's key condition (expression or legacy), batches and
/// transactions and PartiQL statements (planned as their handler plans them). A deny on
/// keys `locked-*` (`ForAnyValue:StringLike`) holds even for the store's own account, as
/// do denies on the request's own `dynamodb:ReturnValues` and `dynamodb:FullTableScan`,
/// and members a handler ignores cannot redirect the check.
#[tokio::test]
async fn fine_grained_access_by_leading_keys_and_request_parameters() {
    use aws_sdk_dynamodb::types::{
        ComparisonOperator, Condition, KeysAndAttributes, Put, PutRequest, WriteRequest,
    };
    let keys = keys_file();
    let store = store_knowing(&keys);
    let admin = store.client();
    let table = unique_name("tenants");
    create_hash_range_table(&admin, &table).await;
    let arn = table_arn(&admin, &table).await;
    for pk in ["alice", "locked-1", "open"] {
        ok(admin
            .put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("sk", n(1))
            .send()
            .await);
    }
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "OwnPartitionsOnly", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
             "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
                        "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
                        "dynamodb:PartiQLSelect"],
             "Resource": &arn,
             "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}}},
            {"Sid": "NoWholeTableStatements", "Effect": "Deny", "Principal": {"AWS": "111122223333"},
             "Action": "dynamodb:PartiQLSelect", "Resource": &arn,
             "Condition": {"Bool": {"dynamodb:FullTableScan": "true"}}},
            {"Sid": "LockedStayPut", "Effect": "Deny", "Principal": "*",
             "Action": ["dynamodb:DeleteItem", "dynamodb:PutItem"], "Resource": &arn,
             "Condition": {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": "locked-*"}}},
            {"Sid": "NoCopies", "Effect": "Deny", "Principal": "*",
             "Action": ["dynamodb:RestoreTableToPointInTime", "dynamodb:ExportTableToPointInTime"],
             "Resource": &arn},
            {"Sid": "NoOldImages", "Effect": "Deny", "Principal": "*",
             "Action": "dynamodb:*", "Resource": &arn,
             "Condition": {"StringEquals": {"dynamodb:ReturnValues": "ALL_OLD"}}},
            {"Sid": "NoScansByEve", "Effect": "Deny",
             "Principal": {"AWS": EVE},
             "Action": "dynamodb:*", "Resource": &arn,
             "Condition": {"Bool": {"dynamodb:FullTableScan": "true"}}}
        ]
    });
    attach(&admin, &arn, &policy).await;

    let bob = as_bob(&store);
    let put = |pk: &str| {
        bob.put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("sk", n(1))
            .send()
    };
    ok(put("bob").await);
    denied(put("alice").await, NOT_ALLOWED);
    let get = |pk: &str| {
        bob.get_item()
            .table_name(&table)
            .key("pk", s(pk))
            .key("sk", n(1))
            .send()
    };
    assert!(ok(get("bob").await).item().is_some());
    denied(get("alice").await, NOT_ALLOWED);

    let query = |pk: &str| {
        bob.query()
            .table_name(&table)
            .key_condition_expression("#p = :p AND sk > :zero")
            .expression_attribute_names("#p", "pk")
            .expression_attribute_values(":p", s(pk))
            .expression_attribute_values(":zero", n(0))
            .send()
    };
    assert_eq!(ok(query("bob").await).count(), 1);
    denied(query("alice").await, NOT_ALLOWED);
    let legacy = bob
        .query()
        .table_name(&table)
        .key_conditions(
            "pk",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Eq)
                .attribute_value_list(s("alice"))
                .build()
                .unwrap(),
        )
        .send()
        .await;
    denied(legacy, NOT_ALLOWED);

    let batch_get = |pks: &[&str]| {
        let mut keys = KeysAndAttributes::builder();
        for pk in pks {
            keys = keys.keys(item(&[("pk", s(pk)), ("sk", n(1))]));
        }
        bob.batch_get_item()
            .request_items(&table, keys.build().unwrap())
            .send()
    };
    ok(batch_get(&["bob"]).await);
    denied(batch_get(&["bob", "alice"]).await, NOT_ALLOWED);
    let batch_put = |pk: &str| {
        let request = PutRequest::builder()
            .set_item(Some(item(&[("pk", s(pk)), ("sk", n(2))])))
            .build()
            .unwrap();
        bob.batch_write_item()
            .request_items(
                &table,
                vec![WriteRequest::builder().put_request(request).build()],
            )
            .send()
    };
    ok(batch_put("bob").await);
    denied(batch_put("alice").await, NOT_ALLOWED);
    let transact_put = |pk: &str| {
        let put = Put::builder()
            .table_name(&table)
            .set_item(Some(item(&[("pk", s(pk)), ("sk", n(3))])))
            .build()
            .unwrap();
        bob.transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
    };
    ok(transact_put("bob").await);
    denied(transact_put("alice").await, NOT_ALLOWED);
    denied(bob.scan().table_name(&table).send().await, "dynamodb:Scan");
    // A statement names the keys it is planned to read; a whole-table one none, and
    // FullTableScan says what it is.
    let select = |condition: &str| {
        let statement = format!("SELECT * FROM \"{table}\"{condition}");
        bob.execute_statement().statement(statement).send()
    };
    assert_eq!(ok(select(" WHERE pk = 'bob'").await).items().len(), 3);
    denied(select(" WHERE pk = 'alice'").await, NOT_ALLOWED);
    denied(select("").await, "with an explicit deny");
    // A batch's statements are refused one by one, as DynamoDB answers them.
    let by_key = |pk: &str| {
        aws_sdk_dynamodb::types::BatchStatementRequest::builder()
            .statement(format!(
                "SELECT * FROM \"{table}\" WHERE pk = '{pk}' AND sk = 1"
            ))
            .build()
            .unwrap()
    };
    let batch = ok(bob
        .batch_execute_statement()
        .statements(by_key("bob"))
        .statements(by_key("alice"))
        .send()
        .await);
    let [mine, theirs] = batch.responses() else {
        panic!("two answers: {batch:?}");
    };
    assert!(mine.error().is_none() && mine.item().is_some(), "{mine:?}");
    let refusal = theirs.error().expect("the other partition is refused");
    assert_eq!(refusal.code().map(|c| c.as_str()), Some("AccessDenied"));
    assert!(refusal.message().unwrap_or_default().contains(NOT_ALLOWED));
    assert!(theirs.item().is_none());

    // The deny reaches the store's own account, on the keys it names only.
    let delete = |pk: &str| {
        admin
            .delete_item()
            .table_name(&table)
            .key("pk", s(pk))
            .key("sk", n(1))
            .send()
    };
    denied(delete("locked-1").await, "with an explicit deny");
    // What the handler reads decides, not members it ignores: a transaction's Put is its
    // Item (not a Key sent beside it), a GetItem's table its TableName (not a
    // ResourceArn naming another).
    let smuggled_key = serde_json::json!({"TransactItems": [{"Put": {
        "TableName": &table,
        "Key": {"pk": {"S": "open"}},
        "Item": {"pk": {"S": "locked-2"}, "sk": {"N": "1"}}
    }}]});
    let raw_denied = |op: &'static str, body: serde_json::Value| {
        let endpoint = store.endpoint();
        async move {
            let refused = raw_call(&endpoint, op, body.to_string().as_bytes()).await;
            let name = refused.error_name();
            assert_eq!(
                name.as_deref(),
                Some("AccessDeniedException"),
                "{}",
                refused.json()
            );
        }
    };
    raw_denied("TransactWriteItems", smuggled_key).await;
    let elsewhere = unique_name("elsewhere");
    create_hash_range_table(&admin, &elsewhere).await;
    let other_arn = table_arn(&admin, &elsewhere).await;
    let misdirected = serde_json::json!({
        "TableName": &table,
        "Key": {"pk": {"S": "locked-1"}, "sk": {"N": "1"}},
        "ResourceArn": other_arn
    });
    raw_denied("DeleteItem", misdirected).await;
    // A table named the other way its handler takes it is still that table.
    let restore = serde_json::json!({
        "SourceTableArn": &arn,
        "TargetTableName": unique_name("copy"),
        "UseLatestRestorableTime": true
    });
    raw_denied("RestoreTableToPointInTime", restore).await;
    let export = serde_json::json!({"TableArn": &table, "S3Bucket": "bucket"});
    raw_denied("ExportTableToPointInTime", export).await;
    // The request's own parameters: ReturnValues, and a Scan being one.
    let old_image = admin
        .delete_item()
        .table_name(&table)
        .key("pk", s("open"))
        .key("sk", n(1))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
        .send()
        .await;
    denied(old_image, "with an explicit deny");
    ok(delete("open").await);
    let eve = as_eve(&store);
    denied(
        eve.scan().table_name(&table).send().await,
        "with an explicit deny",
    );
    ok(eve
        .get_item()
        .table_name(&table)
        .key("pk", s("bob"))
        .key("sk", n(1))
        .send()
        .await);
    let left = ok(admin.scan().table_name(&table).send().await);
    let pks: std::collections::BTreeSet<_> = left
        .items()
        .iter()
        .map(|i| i["pk"].as_s().unwrap().clone())
        .collect();
    assert_eq!(
        pks.into_iter().collect::<Vec<_>>(),
        ["alice", "bob", "locked-1"],
        "bob wrote only his own partition"
    );
}

/// Fine-grained access by attribute names (`dynamodb:Attributes`), IAM's recipe: bob may
/// read and write only some attributes, through projections (GetItem, Query, Scan,
/// BatchGetItem, an index's projection, a PartiQL SELECT), items, update and filter
/// expressions; reads that return whole items are refused him, and a deny naming one
/// attribute refuses the store's own user every call that could reach it.
#[tokio::test]
async fn fine_grained_access_by_attribute_names() {
    use aws_sdk_dynamodb::types::{
        GlobalSecondaryIndex, KeysAndAttributes, Projection, ProjectionType, ReturnValue, Select,
    };
    let keys = keys_file();
    let store = store_knowing(&keys);
    let admin = store.client();
    let table = unique_name("profiles");
    // Items keyed pk/sk, with an index by team projecting only `name` besides the keys.
    let by_team = GlobalSecondaryIndex::builder()
        .index_name("by_team")
        .key_schema(key_element("team", KeyType::Hash))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::Include)
                .non_key_attributes("name")
                .build(),
        )
        .build()
        .unwrap();
    ok(admin
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .key_schema(key_element("sk", KeyType::Range))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("sk", ScalarAttributeType::N))
        .attribute_definitions(attribute_definition("team", ScalarAttributeType::S))
        .global_secondary_indexes(by_team)
        .send()
        .await);
    wait_table_active(&admin, &table).await;
    let arn = table_arn(&admin, &table).await;
    ok(admin
        .put_item()
        .table_name(&table)
        .item("pk", s("bob"))
        .item("sk", n(1))
        .item("team", s("red"))
        .item("name", s("Bob"))
        .item("salary", n(100))
        .send()
        .await);
    // IAM's recipe: the names bob may touch, and reads that say which they return.
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "PublicAttributesOnly", "Effect": "Allow", "Principal": {"AWS": "111122223333"},
             "Action": ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query",
                        "dynamodb:Scan", "dynamodb:PutItem", "dynamodb:UpdateItem",
                        "dynamodb:PartiQLSelect", "dynamodb:PartiQLUpdate"],
             "Resource": [&arn, format!("{arn}/index/*")],
             "Condition": {
                 "ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "sk", "team", "name"]},
                 "StringEqualsIfExists": {
                     "dynamodb:Select": "SPECIFIC_ATTRIBUTES",
                     "dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"]}}},
            {"Sid": "EveNeverSeesSalaries", "Effect": "Deny",
             "Principal": {"AWS": EVE},
             "Action": "dynamodb:*", "Resource": &arn,
             "Condition": {"ForAnyValue:StringEquals": {"dynamodb:Attributes": "salary"}}},
            {"Sid": "AdminScansNoSalaries", "Effect": "Deny",
             "Principal": {"AWS": format!("arn:aws:iam::000000000000:user/{ACCESS_KEY_ID}")},
             "Action": "dynamodb:Scan", "Resource": &arn,
             "Condition": {"ForAnyValue:StringEquals": {"dynamodb:Attributes": "salary"}}}
        ]
    });
    attach(&admin, &arn, &policy).await;

    let bob = as_bob(&store);
    let get = |projection: Option<&str>| {
        bob.get_item()
            .table_name(&table)
            .key("pk", s("bob"))
            .key("sk", n(1))
            .set_projection_expression(projection.map(str::to_string))
            .send()
    };
    let got = ok(get(Some("sk, team")).await);
    let got = got.item().unwrap();
    assert_eq!(got.keys().len(), 2, "{got:?}");
    denied(get(Some("salary")).await, NOT_ALLOWED);
    // Without a projection a read returns every attribute, which no list allows.
    denied(get(None).await, NOT_ALLOWED);

    let query = |filter: Option<&str>, projection: Option<&str>| {
        let mut request = bob
            .query()
            .table_name(&table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s("bob"))
            .set_projection_expression(projection.map(str::to_string))
            .set_filter_expression(filter.map(str::to_string));
        if filter.is_some() {
            request = request.expression_attribute_values(":z", n(0));
        }
        request.send()
    };
    assert_eq!(ok(query(None, Some("team")).await).count(), 1);
    denied(query(None, None).await, NOT_ALLOWED);
    denied(query(Some("salary > :z"), Some("team")).await, NOT_ALLOWED);
    // An index's projected attributes are what a Query of it returns by default.
    let of_team = ok(bob
        .query()
        .table_name(&table)
        .index_name("by_team")
        .key_condition_expression("team = :t")
        .expression_attribute_values(":t", s("red"))
        .send()
        .await);
    assert!(!of_team.items()[0].contains_key("salary"));
    let everything = bob
        .query()
        .table_name(&table)
        .index_name("by_team")
        .key_condition_expression("team = :t")
        .expression_attribute_values(":t", s("red"))
        .select(Select::AllProjectedAttributes)
        .send()
        .await;
    denied(everything, NOT_ALLOWED);
    ok(bob
        .scan()
        .table_name(&table)
        .projection_expression("#n")
        .expression_attribute_names("#n", "name")
        .send()
        .await);
    let batch_get = |projection: Option<&str>| {
        let keys = KeysAndAttributes::builder()
            .keys(item(&[("pk", s("bob")), ("sk", n(1))]))
            .set_projection_expression(projection.map(str::to_string))
            .build()
            .unwrap();
        bob.batch_get_item().request_items(&table, keys).send()
    };
    ok(batch_get(Some("team")).await);
    denied(batch_get(None).await, NOT_ALLOWED);

    // Writes name what they write, read and return.
    let put = |attribute: &str| {
        bob.put_item()
            .table_name(&table)
            .item("pk", s("bob"))
            .item("sk", n(2))
            .item(attribute, s("x"))
            .send()
    };
    ok(put("team").await);
    denied(put("salary").await, NOT_ALLOWED);
    let update = |expression: &str, returns: ReturnValue| {
        bob.update_item()
            .table_name(&table)
            .key("pk", s("bob"))
            .key("sk", n(1))
            .update_expression(expression)
            .expression_attribute_names("#n", "name")
            .return_values(returns)
            .send()
    };
    ok(update("SET #n = team", ReturnValue::UpdatedNew).await);
    denied(
        update("SET #n = salary", ReturnValue::None).await,
        NOT_ALLOWED,
    );
    // As in IAM, what a write returns is the recipe's condition on ReturnValues.
    denied(
        update("SET #n = team", ReturnValue::AllNew).await,
        NOT_ALLOWED,
    );

    // A failed condition answered with the whole item reads every attribute.
    let on_failure = bob
        .update_item()
        .table_name(&table)
        .key("pk", s("bob"))
        .key("sk", n(1))
        .update_expression("SET team = :t")
        .condition_expression("attribute_not_exists(pk)")
        .expression_attribute_values(":t", s("blue"))
        .return_values_on_condition_check_failure(
            aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
        )
        .send()
        .await;
    denied(on_failure, NOT_ALLOWED);
    // A statement's RETURNING is its ReturnValues.
    let returning = |what: &str| {
        let statement = format!(
            "UPDATE \"{table}\" SET team = 'red' WHERE pk = 'bob' AND sk = 1 RETURNING {what} *"
        );
        bob.execute_statement().statement(statement).send()
    };
    ok(returning("MODIFIED NEW").await);
    denied(returning("ALL OLD").await, NOT_ALLOWED);

    let select = |projection: &str| {
        let statement = format!("SELECT {projection} FROM \"{table}\" WHERE pk = 'bob'");
        bob.execute_statement().statement(statement).send()
    };
    assert_eq!(ok(select("team").await).items().len(), 2);
    denied(select("*").await, NOT_ALLOWED);
    denied(select("salary").await, NOT_ALLOWED);

    // The deny reaches the store's own account: every read that could show a salary.
    let eve = as_eve(&store);
    let eve_get = |projection: Option<&str>| {
        eve.get_item()
            .table_name(&table)
            .key("pk", s("bob"))
            .key("sk", n(1))
            .set_projection_expression(projection.map(str::to_string))
            .send()
    };
    ok(eve_get(Some("team")).await);
    let explicit = "with an explicit deny";
    denied(eve_get(Some("salary")).await, explicit);
    denied(eve_get(None).await, explicit);
    let conditional = eve
        .update_item()
        .table_name(&table)
        .key("pk", s("bob"))
        .key("sk", n(1))
        .update_expression("SET team = :t")
        .condition_expression("salary > :t")
        .expression_attribute_values(":t", n(1))
        .send()
        .await;
    denied(conditional, explicit);
    let salary = ok(admin
        .get_item()
        .table_name(&table)
        .key("pk", s("bob"))
        .key("sk", n(1))
        .send()
        .await);
    assert_eq!(salary.item().unwrap()["salary"], n(100), "nobody wrote it");
    // Members as the handler reads them: `null` is no projection, and a body the check
    // cannot read is refused, not let through.
    let scan = |body: String| {
        let endpoint = store.endpoint();
        async move { raw_call(&endpoint, "Scan", body.as_bytes()).await }
    };
    let projected = scan(format!(
        r#"{{"TableName":"{table}","AttributesToGet":["team"]}}"#
    ))
    .await;
    assert_eq!(projected.status, 200, "{}", projected.json());
    let whole = scan(format!(
        r#"{{"TableName":"{table}","AttributesToGet":null}}"#
    ))
    .await;
    assert_eq!(whole.error_name().as_deref(), Some("AccessDeniedException"));
    let unreadable = scan(format!(r#"{{"TableName":"{table}","X":1e400}}"#)).await;
    assert_eq!(
        unreadable.error_name().as_deref(),
        Some("SerializationException")
    );
}
