//! End-to-end tests of the control-plane handlers against a real (temporary) storage:
//! the flows the boto3 acceptance suite (`test_tables.py`) drives, without HTTP.

use serde_json::{json, Value};
use shared::wire::error::ApiError;

use crate::api;
use crate::app::App;

struct Fixture {
    app: App,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    Fixture {
        app: App::for_tests(dir.path()),
        _dir: dir,
    }
}

fn input<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
}

fn out<T: serde::Serialize>(value: Result<T, ApiError>) -> Value {
    match value {
        Ok(v) => serde_json::to_value(v).unwrap_or_default(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn err<T: std::fmt::Debug>(value: Result<T, ApiError>) -> (String, String) {
    match value {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => (e.code.name().to_string(), e.message.unwrap_or_default()),
    }
}

fn hash_only(name: &str) -> Value {
    json!({
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST"
    })
}

async fn create(app: &App, request: Value) -> Result<Value, ApiError> {
    api::create_table::handle(app, input(request))
        .await
        .map(|o| serde_json::to_value(o).unwrap_or_default())
}

async fn describe(app: &App, name: &str) -> Result<Value, ApiError> {
    api::describe_table::handle(app, input(json!({ "TableName": name })))
        .await
        .map(|o| serde_json::to_value(o).unwrap_or_default())
}

async fn update(app: &App, request: Value) -> Result<Value, ApiError> {
    api::update_table::handle(app, input(request))
        .await
        .map(|o| serde_json::to_value(o).unwrap_or_default())
}

#[tokio::test]
async fn create_describe_list_delete() {
    let f = fixture();
    let app = &f.app;
    let created = create(app, hash_only("tbl_one"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let desc = &created["TableDescription"];
    assert_eq!(desc["TableStatus"], "CREATING");
    assert_eq!(
        desc["TableArn"],
        "arn:aws:dynamodb:us-east-1:000000000000:table/tbl_one"
    );
    assert_eq!(
        desc["KeySchema"],
        json!([{"AttributeName": "pk", "KeyType": "HASH"}])
    );
    assert_eq!(desc["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(desc["ProvisionedThroughput"]["ReadCapacityUnits"], 0);
    assert!(desc["CreationDateTime"].is_f64());

    let described = describe(app, "tbl_one")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(described["Table"]["TableStatus"], "ACTIVE");
    assert_eq!(described["Table"]["ItemCount"], 0);
    assert_eq!(described["Table"]["TableSizeBytes"], 0);
    let by_arn = describe(app, "arn:aws:dynamodb:us-east-1:000000000000:table/tbl_one").await;
    assert!(by_arn.is_ok());

    let (code, message) = err(create(app, hash_only("tbl_one")).await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceInUseException", "Table already exists: tbl_one")
    );

    for name in ["tbl_two", "tbl_three"] {
        assert!(create(app, hash_only(name)).await.is_ok());
    }
    let page = out(api::list_tables::handle(app, input(json!({"Limit": 2}))).await);
    assert_eq!(
        page,
        json!({"TableNames": ["tbl_one", "tbl_three"], "LastEvaluatedTableName": "tbl_three"})
    );
    let page = out(api::list_tables::handle(
        app,
        input(json!({"Limit": 2, "ExclusiveStartTableName": "tbl_three"})),
    )
    .await);
    assert_eq!(page, json!({"TableNames": ["tbl_two"]}));
    let (code, message) = err(api::list_tables::handle(app, input(json!({"Limit": 101}))).await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
    );
    assert!(api::list_tables::handle(app, input(json!({"Limit": 0})))
        .await
        .is_err());

    let deleted = out(api::delete_table::handle(app, input(json!({"TableName": "tbl_one"}))).await);
    assert_eq!(deleted["TableDescription"]["TableStatus"], "DELETING");
    let (code, message) = err(describe(app, "tbl_one").await);
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(
        message,
        "Requested resource not found: Table: tbl_one not found"
    );
    assert!(app.catalog.table_for_data("tbl_one").is_err());
    let (code, _) =
        err(api::delete_table::handle(app, input(json!({"TableName": "tbl_one"}))).await);
    assert_eq!(code, "ResourceNotFoundException");
    // The name can be reused at once.
    assert!(create(app, hash_only("tbl_one")).await.is_ok());
}

#[tokio::test]
async fn invalid_definitions_are_validation_errors() {
    let f = fixture();
    let app = &f.app;
    let mut bad_name = hash_only("has space");
    let (code, message) = err(create(app, bad_name.clone()).await);
    assert_eq!(code, "ValidationException");
    assert_eq!(
        message,
        "1 validation error detected: Value 'has space' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
    );
    bad_name["TableName"] = json!("x".repeat(256));
    assert_eq!(
        err(create(app, bad_name).await).1,
        "TableName must be at least 3 characters long and at most 255 characters long"
    );
    let mut boolean_key = hash_only("bool_key");
    boolean_key["AttributeDefinitions"][0]["AttributeType"] = json!("BOOL");
    assert_eq!(
        err(create(app, boolean_key).await).1,
        "1 validation error detected: Value 'BOOL' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
    );
    let mut zero = hash_only("zero_tp");
    zero["BillingMode"] = json!("PROVISIONED");
    zero["ProvisionedThroughput"] = json!({"ReadCapacityUnits": 0, "WriteCapacityUnits": 1});
    assert_eq!(err(create(app, zero).await).0, "ValidationException");
    let mut missing = hash_only("missing_def");
    missing["KeySchema"] = json!([{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]);
    assert_eq!(
        err(create(app, missing).await).1,
        "Invalid KeySchema: Some index key attribute have no definition"
    );
    let list = out(api::list_tables::handle(app, input(json!({}))).await);
    assert_eq!(list, json!({"TableNames": []}));
}

#[tokio::test]
async fn update_table_capacity_billing_and_protection() {
    let f = fixture();
    let app = &f.app;
    let mut provisioned = hash_only("prov_tbl");
    provisioned["BillingMode"] = json!("PROVISIONED");
    provisioned["ProvisionedThroughput"] = json!({"ReadCapacityUnits": 1, "WriteCapacityUnits": 1});
    assert!(create(app, provisioned).await.is_ok());

    let updated = update(
        app,
        json!({"TableName": "prov_tbl", "ProvisionedThroughput": {"ReadCapacityUnits": 6, "WriteCapacityUnits": 9}}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(updated["TableDescription"]["TableStatus"], "UPDATING");
    let desc = describe(app, "prov_tbl")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let pt = &desc["Table"]["ProvisionedThroughput"];
    assert_eq!(
        (
            pt["ReadCapacityUnits"].clone(),
            pt["WriteCapacityUnits"].clone()
        ),
        (json!(6), json!(9))
    );
    assert!(pt["LastIncreaseDateTime"].is_f64());
    assert_eq!(desc["Table"]["TableStatus"], "ACTIVE");

    let same = update(
        app,
        json!({"TableName": "prov_tbl", "ProvisionedThroughput": {"ReadCapacityUnits": 6, "WriteCapacityUnits": 9}}),
    )
    .await;
    assert!(err(same)
        .1
        .starts_with("The provisioned throughput for the table will not change."));

    let down = update(
        app,
        json!({"TableName": "prov_tbl", "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 9}}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        down["TableDescription"]["ProvisionedThroughput"]["NumberOfDecreasesToday"],
        1
    );

    let switched = update(
        app,
        json!({"TableName": "prov_tbl", "BillingMode": "PAY_PER_REQUEST"}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        switched["TableDescription"]["BillingModeSummary"]["BillingMode"],
        "PAY_PER_REQUEST"
    );
    assert_eq!(
        switched["TableDescription"]["ProvisionedThroughput"]["ReadCapacityUnits"],
        0
    );

    let (code, message) = err(update(app, json!({"TableName": "prov_tbl"})).await);
    assert_eq!(code, "ValidationException");
    assert!(message.starts_with("At least one of ProvisionedThroughput, BillingMode"));

    let (code, _) = err(update(
        app,
        json!({"TableName": "nope_tbl", "BillingMode": "PAY_PER_REQUEST"}),
    )
    .await);
    assert_eq!(code, "ResourceNotFoundException");

    let mut protected = hash_only("prot_tbl");
    protected["DeletionProtectionEnabled"] = json!(true);
    assert!(create(app, protected).await.is_ok());
    let (code, message) =
        err(api::delete_table::handle(app, input(json!({"TableName": "prot_tbl"}))).await);
    assert_eq!(code, "ValidationException");
    assert_eq!(message, api::delete_table::DELETION_PROTECTED);
    assert!(update(
        app,
        json!({"TableName": "prot_tbl", "DeletionProtectionEnabled": false})
    )
    .await
    .is_ok());
    let desc = describe(app, "prot_tbl")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(desc["Table"]["DeletionProtectionEnabled"], false);
    assert!(
        api::delete_table::handle(app, input(json!({"TableName": "prot_tbl"})))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn indexes_streams_and_tags() {
    let f = fixture();
    let app = &f.app;
    let request = json!({
        "TableName": "idx_tbl",
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "lkn", "AttributeType": "N"}, {"AttributeName": "g", "AttributeType": "S"}
        ],
        "LocalSecondaryIndexes": [{"IndexName": "lsi_keys", "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "lkn", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        "GlobalSecondaryIndexes": [{"IndexName": "gsi_incl", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["inc"]}}],
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        "Tags": [{"Key": "team", "Value": "core"}]
    });
    assert!(create(app, request).await.is_ok());
    let desc = describe(app, "idx_tbl")
        .await
        .unwrap_or_else(|e| panic!("{e}"))["Table"]
        .clone();
    assert_eq!(
        desc["LocalSecondaryIndexes"][0]["Projection"],
        json!({"ProjectionType": "KEYS_ONLY"})
    );
    assert_eq!(
        desc["GlobalSecondaryIndexes"][0]["Projection"],
        json!({"ProjectionType": "INCLUDE", "NonKeyAttributes": ["inc"]})
    );
    assert_eq!(desc["GlobalSecondaryIndexes"][0]["IndexStatus"], "ACTIVE");
    assert!(desc["GlobalSecondaryIndexes"][0]["IndexArn"]
        .as_str()
        .is_some_and(|a| a.ends_with("table/idx_tbl/index/gsi_incl")));
    assert_eq!(
        desc["StreamSpecification"],
        json!({"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    );
    let arn = desc["LatestStreamArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let label = desc["LatestStreamLabel"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(arn.ends_with(&format!("/stream/{label}")));

    let twice = update(
        app,
        json!({"TableName": "idx_tbl", "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}),
    )
    .await;
    assert_eq!(
        err(twice).1,
        "Table already has an enabled stream: TableName: idx_tbl"
    );
    assert!(update(
        app,
        json!({"TableName": "idx_tbl", "StreamSpecification": {"StreamEnabled": false}})
    )
    .await
    .is_ok());
    let desc = describe(app, "idx_tbl")
        .await
        .unwrap_or_else(|e| panic!("{e}"))["Table"]
        .clone();
    assert!(desc.get("StreamSpecification").is_none());
    assert_eq!(desc["LatestStreamArn"], json!(arn));

    // GSI lifecycle.
    let existing = update(
        app,
        json!({"TableName": "idx_tbl", "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "gsi_incl",
                   "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]}),
    )
    .await;
    assert_eq!(
        err(existing).1,
        "Attempting to create an index which already exists"
    );
    let undefined = update(
        app,
        json!({"TableName": "idx_tbl", "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "new_one",
                   "KeySchema": [{"AttributeName": "tag", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]}),
    )
    .await;
    assert_eq!(err(undefined).0, "ValidationException");
    let created = update(
        app,
        json!({"TableName": "idx_tbl", "AttributeDefinitions": [{"AttributeName": "tag", "AttributeType": "S"}],
               "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_tag",
                   "KeySchema": [{"AttributeName": "tag", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let gsis = created["TableDescription"]["GlobalSecondaryIndexes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let by_tag = gsis
        .iter()
        .find(|g| g["IndexName"] == "by_tag")
        .cloned()
        .unwrap_or_default();
    assert_eq!(by_tag["IndexStatus"], "CREATING");
    assert_eq!(by_tag["Backfilling"], true);
    let table = app.catalog.get("idx_tbl");
    assert!(table
        .as_ref()
        .is_some_and(|t| t.attribute_definitions.iter().any(|a| a.name == "tag")));
    let ids: Vec<u16> = table
        .iter()
        .flat_map(|t| t.local_indexes.iter().chain(t.global_indexes.iter()))
        .map(|i| i.index_id)
        .collect();
    assert_eq!(ids, vec![1, 2, 3]);
    assert!(app
        .catalog
        .finish_backfill(&app.storage, "idx_tbl", 3)
        .await
        .is_ok());
    let desc = describe(app, "idx_tbl")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let by_tag = desc["Table"]["GlobalSecondaryIndexes"]
        .as_array()
        .and_then(|l| l.iter().find(|g| g["IndexName"] == "by_tag").cloned())
        .unwrap_or_default();
    assert_eq!(by_tag["IndexStatus"], "ACTIVE");
    assert!(by_tag.get("Backfilling").is_none());

    let deleted = update(app, json!({"TableName": "idx_tbl", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by_tag"}}]}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // DELETING until index maintenance has removed the entries and dropped it.
    let doomed = deleted["TableDescription"]["GlobalSecondaryIndexes"]
        .as_array()
        .and_then(|l| l.iter().find(|g| g["IndexName"] == "by_tag").cloned())
        .unwrap_or_default();
    assert_eq!(doomed["IndexStatus"], "DELETING");
    assert!(app
        .catalog
        .finish_index_delete(&app.storage, "idx_tbl", "by_tag")
        .await
        .is_ok());
    let desc = describe(app, "idx_tbl")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        desc["Table"]["GlobalSecondaryIndexes"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    assert!(app
        .catalog
        .get("idx_tbl")
        .is_some_and(|t| !t.attribute_definitions.iter().any(|a| a.name == "tag")));
    let missing = (
        "ResourceNotFoundException".to_string(),
        "Requested resource not found: Index nope for table idx_tbl".to_string(),
    );
    let unknown = update(app, json!({"TableName": "idx_tbl", "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "nope"}}]})).await;
    assert_eq!(err(unknown), missing);
    let pt = json!({"ReadCapacityUnits": 5, "WriteCapacityUnits": 5});
    let unknown = update(app, json!({"TableName": "idx_tbl", "GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": "nope", "ProvisionedThroughput": pt}}]})).await;
    assert_eq!(err(unknown), missing);
    let on_demand = update(app, json!({"TableName": "idx_tbl", "GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": "gsi_incl", "ProvisionedThroughput": pt}}]})).await;
    assert_eq!(
        err(on_demand).1,
        "One or more parameter values were invalid: The only Updates for index: gsi_incl when TableThroughputMode is PAY_PER_REQUEST can be to OnDemandThroughput, WarmThroughput"
    );
    // An empty list alone is nothing to update; beside another change, an empty list.
    let empty = update(
        app,
        json!({"TableName": "idx_tbl", "GlobalSecondaryIndexUpdates": []}),
    )
    .await;
    assert_eq!(err(empty).1, api::update_table::NOTHING_TO_UPDATE);
    let stream = json!({"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"});
    let empty = update(app, json!({"TableName": "idx_tbl", "GlobalSecondaryIndexUpdates": [], "StreamSpecification": stream})).await;
    assert_eq!(
        err(empty).1,
        "One or more parameter values were invalid: List of GlobalSecondaryIndexUpdates is empty"
    );

    // Tags.
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/idx_tbl";
    let tagged = api::tags::tag_resource(
        app,
        input(json!({"ResourceArn": arn, "Tags": [{"Key": "env", "Value": "dev"}]})),
    )
    .await;
    assert!(tagged.is_ok());
    let listed =
        out(api::tags::list_tags_of_resource(app, input(json!({"ResourceArn": arn}))).await);
    assert_eq!(
        listed,
        json!({"Tags": [{"Key": "team", "Value": "core"}, {"Key": "env", "Value": "dev"}]})
    );
    assert!(api::tags::untag_resource(
        app,
        input(json!({"ResourceArn": arn, "TagKeys": ["team"]}))
    )
    .await
    .is_ok());
    let listed =
        out(api::tags::list_tags_of_resource(app, input(json!({"ResourceArn": arn}))).await);
    assert_eq!(listed, json!({"Tags": [{"Key": "env", "Value": "dev"}]}));
    let (_, message) =
        err(api::tags::tag_resource(app, input(json!({"ResourceArn": arn, "Tags": []}))).await);
    assert_eq!(message, "Atleast one Tag needs to be provided as Input.");
    let missing = "arn:aws:dynamodb:us-east-1:000000000000:table/missing_tbl";
    let (code, message) =
        err(api::tags::list_tags_of_resource(app, input(json!({"ResourceArn": missing}))).await);
    assert_eq!(code, "ResourceNotFoundException");
    assert_eq!(
        message,
        format!("Requested resource not found: ResourcArn: {missing} not found")
    );
    let (_, message) =
        err(api::tags::list_tags_of_resource(app, input(json!({"ResourceArn": "bogus"}))).await);
    assert_eq!(
        message,
        "One or more parameter values were invalid: ARNs must start with 'arn:': bogus"
    );

    let limits = out(api::describe_limits::handle(app, input(json!({}))).await);
    assert_eq!(limits["TableMaxReadCapacityUnits"], 40000);
    let endpoints = out(api::describe_endpoints::handle(app, input(json!({}))).await);
    assert_eq!(
        endpoints,
        json!({"Endpoints": [{"Address": "127.0.0.1:8000", "CachePeriodInMinutes": 1440}]})
    );
}

#[tokio::test]
async fn include_projections_may_name_keys_but_not_repeat_a_name() {
    let f = fixture();
    let app = &f.app;
    let index = |name: &str, non_key: Value| {
        json!({"IndexName": name, "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": non_key}})
    };
    let table = |name: &str, non_key: Value| {
        json!({
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"}
            ],
            "GlobalSecondaryIndexes": [index("by_g", non_key)]
        })
    };
    // The table's own key and the index's key may be listed (they are projected anyway).
    let created = out(create(app, table("proj_keys", json!(["other", "sk", "g", "pk"]))).await);
    assert_eq!(
        created["TableDescription"]["GlobalSecondaryIndexes"][0]["Projection"]["NonKeyAttributes"],
        json!(["other", "sk", "g", "pk"])
    );
    // A name listed twice is refused, and no half-built table is left.
    let duplicate =
        "One or more parameter values were invalid: Duplicate element in NonKeyAttributes: a";
    let refused = err(create(app, table("proj_dup", json!(["a", "b", "a"]))).await);
    assert_eq!(refused, ("ValidationException".into(), duplicate.into()));
    assert!(describe(app, "proj_dup").await.is_err());
    // UpdateTable's Create follows the same rules.
    let add = |non_key: Value| {
        json!({"TableName": "proj_keys",
            "AttributeDefinitions": [{"AttributeName": "g", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [{"Create": index("by_g2", non_key)}]})
    };
    let refused = err(update(app, add(json!(["a", "a"]))).await);
    assert_eq!(refused, ("ValidationException".into(), duplicate.into()));
    out(update(app, add(json!(["pk", "a"]))).await);
}

/// Creates hash-keyed table `name` with a KEYS_ONLY stream; the stream's ARN.
async fn create_with_stream(app: &App, name: &str) -> String {
    let mut request = hash_only(name);
    request["StreamSpecification"] = json!({"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"});
    let created = out(create(app, request).await);
    created["TableDescription"]["LatestStreamArn"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// One stream maintenance pass, as the store runs every second.
async fn maintain(app: &App) {
    crate::streams::maintain(app)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_stream_disabled_and_replaced_before_maintenance_ends_where_it_was_disabled() {
    let f = fixture();
    let app = &f.app;
    let arn = create_with_stream(app, "replaced").await;
    maintain(app).await;
    let disable = json!({"TableName": "replaced", "StreamSpecification": {"StreamEnabled": false}});
    out(update(app, disable).await);
    let disabled_at = crate::api::create_table::current_seq(app);
    // A write while the stream is disabled, then a new stream, all before the next pass.
    let item = json!({"TableName": "replaced", "Item": {"pk": {"S": "while-disabled"}}});
    out(api::put_item::handle(app, input(item)).await);
    assert!(crate::api::create_table::current_seq(app) > disabled_at);
    let enable = json!({"TableName": "replaced",
        "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}});
    out(update(app, enable).await);
    maintain(app).await;
    let old = crate::streams::find_stream(app, &arn)
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the disabled stream stays readable"));
    assert_eq!(old.status(), "DISABLED");
    assert_eq!(old.end_seq, Some(disabled_at), "ends where it was disabled");
}

#[tokio::test]
async fn a_disabled_stream_expires_a_retention_after_it_was_disabled_and_stays_gone() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut config = crate::config::Config::for_tests(dir.path());
    config.change_log.stream_retention = std::time::Duration::from_millis(300);
    let app = &App::for_tests_with(config);
    let arn = create_with_stream(app, "expiring").await;
    let readable = || {
        let found = crate::streams::find_stream(app, &arn).unwrap_or_else(|e| panic!("{e}"));
        let listed = crate::streams::all_streams(app).unwrap_or_else(|e| panic!("{e}"));
        (found.map(|s| s.status()), listed.contains_key(&arn))
    };
    maintain(app).await;
    let disable = json!({"TableName": "expiring", "StreamSpecification": {"StreamEnabled": false}});
    out(update(app, disable).await);
    maintain(app).await;
    assert_eq!(
        readable(),
        (Some("DISABLED"), true),
        "readable while retained"
    );
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    // The first pass forgets it; the second must not record it again from the catalog.
    maintain(app).await;
    maintain(app).await;
    assert_eq!(
        readable(),
        (None, false),
        "gone a retention after it was disabled"
    );
    let described = out(describe(app, "expiring").await);
    assert_eq!(
        described["Table"]["LatestStreamArn"],
        json!(arn),
        "still named"
    );
}

#[tokio::test]
async fn the_stream_of_a_table_deleted_before_any_maintenance_pass_stays_readable() {
    let f = fixture();
    let app = &f.app;
    let arn = create_with_stream(app, "shortlived").await;
    let deleted = api::delete_table::handle(app, input(json!({"TableName": "shortlived"}))).await;
    out(deleted);
    maintain(app).await;
    let stream = crate::streams::find_stream(app, &arn).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stream.map(|s| s.status()), Some("DISABLED"));
}
