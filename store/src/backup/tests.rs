//! Backups and PITR against a real (temporary) storage, without HTTP.

use std::sync::Arc;

use serde_json::{json, Value};
use shared::wire::error::ApiError;

use crate::api;
use crate::app::App;

fn fixture() -> (Arc<App>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    (Arc::new(App::for_tests(dir.path())), dir)
}

fn input<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
}

fn ok<T: serde::Serialize>(value: Result<T, ApiError>) -> Value {
    match value {
        Ok(v) => serde_json::to_value(v).unwrap_or_default(),
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn code<T: std::fmt::Debug>(value: Result<T, ApiError>) -> String {
    match value {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code.name().to_string(),
    }
}

async fn table(app: &App, name: &str) {
    ok(api::create_table::handle(
        app,
        input(json!({
            "TableName": name,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"
        })),
    )
    .await);
}

async fn put(app: &App, name: &str, pk: &str, v: i64) {
    ok(api::put_item::handle(
        app,
        input(json!({"TableName": name, "Item": {"pk": {"S": pk}, "v": {"N": v.to_string()}}})),
    )
    .await);
}

async fn delete(app: &App, name: &str, pk: &str) {
    ok(api::delete_item::handle(
        app,
        input(json!({"TableName": name, "Key": {"pk": {"S": pk}}})),
    )
    .await);
}

/// Enables PITR on table `name`, writes a = 1 and b = 1, then (after the moment T it
/// returns) deletes a, sets b = 2 and writes c = 1: as of T the table held a and b at 1.
async fn history_around_a_moment(app: &App, name: &str) -> f64 {
    ok(api::update_continuous_backups::handle(
        app,
        input(json!({"TableName": name, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}})),
    )
    .await);
    put(app, name, "a", 1).await;
    put(app, name, "b", 1).await;
    // Commit times are in milliseconds: keep T strictly between the two groups of writes.
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let moment = shared::clock::now_seconds();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    delete(app, name, "a").await;
    put(app, name, "b", 2).await;
    put(app, name, "c", 1).await;
    moment
}

/// Backs up table `table` as `name`; the backup's ARN.
async fn backup_of(app: &App, table: &str, name: &str) -> String {
    let created = ok(api::create_backup::handle(
        app,
        input(json!({"TableName": table, "BackupName": name})),
    )
    .await);
    created["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Waits until a restore has filled table `name` (it does so after answering).
async fn wait_restored(app: &App, name: &str) {
    for _ in 0..2000 {
        if app.catalog.get(name).is_none_or(|t| !super::restoring(&t)) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    panic!("the restore of {name} did not finish");
}

/// `pk=v` pairs of a table, in key order, once a restore into it has finished.
async fn contents(app: &App, name: &str) -> Vec<String> {
    wait_restored(app, name).await;
    let out = ok(api::scan::handle(app, input(json!({"TableName": name}))).await);
    let mut rows: Vec<String> = out["Items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|i| {
            format!(
                "{}={}",
                i["pk"]["S"].as_str().unwrap_or(""),
                i["v"]["N"].as_str().unwrap_or("")
            )
        })
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn backup_restores_items_as_of_the_backup_and_outlives_its_table() {
    let (app, _dir) = fixture();
    table(&app, "src").await;
    put(&app, "src", "a", 1).await;
    let arn = backup_of(&app, "src", "b1").await;
    put(&app, "src", "late", 2).await;
    ok(api::delete_table::handle(&app, input(json!({"TableName": "src"}))).await);
    let listed = ok(api::list_backups::handle(&app, input(json!({}))).await);
    assert_eq!(listed["BackupSummaries"][0]["BackupArn"], json!(arn));
    ok(api::restore_table_from_backup::handle(
        &app,
        input(json!({"TargetTableName": "dst", "BackupArn": arn})),
    )
    .await);
    assert_eq!(contents(&app, "dst").await, vec!["a=1"]);
    assert_eq!(
        code(
            api::restore_table_from_backup::handle(
                &app,
                input(json!({"TargetTableName": "dst", "BackupArn": arn})),
            )
            .await
        ),
        "TableAlreadyExistsException"
    );
    ok(api::delete_backup::handle(&app, input(json!({"BackupArn": arn}))).await);
    assert_eq!(
        code(api::describe_backup::handle(&app, input(json!({"BackupArn": arn}))).await),
        "BackupNotFoundException"
    );
    // ARNs outside the model's 37-1024 characters are malformed, not missing.
    for bad in ["arn:short".to_string(), "a".repeat(1025)] {
        assert_eq!(
            code(api::describe_backup::handle(&app, input(json!({"BackupArn": bad}))).await),
            "ValidationException"
        );
    }
}

/// The PITR safety net for an accidental DeleteTable: a SYSTEM backup, listed only when
/// asked for, that restores the table as it was.
#[tokio::test]
async fn deleting_a_table_with_pitr_keeps_a_system_backup() {
    let (app, _dir) = fixture();
    for name in ["kept", "plain"] {
        table(&app, name).await;
        put(&app, name, "a", 1).await;
    }
    ok(api::update_continuous_backups::handle(
        &app,
        input(json!({"TableName": "kept", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}})),
    )
    .await);
    put(&app, "kept", "b", 2).await;
    for name in ["kept", "plain"] {
        ok(api::delete_table::handle(&app, input(json!({ "TableName": name }))).await);
    }
    let list = |kind: Option<&str>| {
        let request = match kind {
            Some(kind) => json!({ "BackupType": kind }),
            None => json!({}),
        };
        api::list_backups::handle(&app, input(request))
    };
    // USER unless asked: the SYSTEM backup is not among them.
    assert_eq!(ok(list(None).await)["BackupSummaries"], json!([]));
    let system = ok(list(Some("SYSTEM")).await)["BackupSummaries"].clone();
    assert_eq!(ok(list(Some("ALL")).await)["BackupSummaries"], system);
    let [summary] = system.as_array().map(Vec::as_slice).unwrap_or_default() else {
        panic!("one SYSTEM backup expected: {system}");
    };
    assert_eq!(summary["BackupName"], "kept$DeletedTableBackup");
    assert_eq!(summary["BackupType"], "SYSTEM");
    assert_eq!(summary["TableName"], "kept");
    let created = summary["BackupCreationDateTime"]
        .as_f64()
        .unwrap_or_default();
    let expiry = summary["BackupExpiryDateTime"].as_f64().unwrap_or_default();
    assert_eq!((expiry - created).round(), 35.0 * 86_400.0);
    let arn = summary["BackupArn"].clone();
    ok(api::restore_table_from_backup::handle(
        &app,
        input(json!({"TargetTableName": "kept", "BackupArn": arn})),
    )
    .await);
    assert_eq!(contents(&app, "kept").await, vec!["a=1", "b=2"]);
}

#[tokio::test]
async fn list_backups_time_range_includes_its_lower_bound_only_and_must_not_be_inverted() {
    let (app, _dir) = fixture();
    table(&app, "src").await;
    let mut times = Vec::new();
    for name in ["b1", "b2", "b3"] {
        let created = ok(api::create_backup::handle(
            &app,
            input(json!({"TableName": "src", "BackupName": name})),
        )
        .await);
        times.push(created["BackupDetails"]["BackupCreationDateTime"].clone());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let listed = ok(api::list_backups::handle(
        &app,
        input(json!({"TimeRangeLowerBound": times[0], "TimeRangeUpperBound": times[2]})),
    )
    .await);
    let names: Vec<&str> = listed["BackupSummaries"]
        .as_array()
        .map(|a| a.iter().filter_map(|b| b["BackupName"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["b1", "b2"]);
    let inverted = api::list_backups::handle(
        &app,
        input(json!({"TimeRangeLowerBound": times[2], "TimeRangeUpperBound": times[0]})),
    )
    .await;
    match inverted {
        Ok(v) => panic!("expected an error, got {v}"),
        Err(e) => assert_eq!(
            e.to_string(),
            "ValidationException: Time range lower bound must be less than or equal to upper bound"
        ),
    }
    // An empty range (the bounds equal) is not inverted: it lists nothing.
    let empty = ok(api::list_backups::handle(
        &app,
        input(json!({"TimeRangeLowerBound": times[1], "TimeRangeUpperBound": times[1]})),
    )
    .await);
    assert_eq!(empty["BackupSummaries"], json!([]));
}

/// Every item a point-in-time read streams, as sorted JSON rows.
async fn sorted_rows(mut chunks: super::ItemChunks) -> Vec<String> {
    let mut rows = Vec::new();
    while let Some(chunk) = chunks.recv().await {
        for item in chunk.unwrap_or_else(|e| panic!("{e}")) {
            rows.push(serde_json::to_string(&item).unwrap_or_default());
        }
    }
    rows.sort();
    rows
}

#[tokio::test]
async fn a_point_in_time_read_over_budget_takes_segment_passes_and_reads_the_same() {
    let (app, _dir) = fixture();
    table(&app, "big").await;
    ok(api::update_continuous_backups::handle(
        &app,
        input(json!({"TableName": "big", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}})),
    )
    .await);
    let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
    for key in &keys {
        put(&app, "big", key, 1).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let moment = shared::clock::now_seconds();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    // After T: every third key deleted, every other one rewritten twice, some new ones.
    for (i, key) in keys.iter().enumerate() {
        match i % 3 {
            0 => delete(&app, "big", key).await,
            1 => {
                put(&app, "big", key, 2).await;
                put(&app, "big", key, 3).await;
            }
            _ => {}
        }
    }
    for i in 0..10 {
        put(&app, "big", &format!("new{i}"), 9).await;
    }
    let table = app.catalog.get("big").unwrap_or_else(|| panic!("no table"));
    let expected: Vec<String> = {
        let mut rows: Vec<String> = keys
            .iter()
            .map(|k| format!(r#"{{"pk":{{"S":"{k}"}},"v":{{"N":"1"}}}}"#))
            .collect();
        rows.sort();
        rows
    };
    // In one pass, and in the several passes a tiny budget needs.
    let after_t = ((moment * 1000.0) as u64 + 1, u64::MAX);
    let passes = |budget| {
        super::passes_within(&app.storage, &table.layout, after_t, budget, |_| 10).unwrap()
    };
    assert_eq!(passes(usize::MAX), 1);
    assert!(passes(30) > 1);
    for budget in [super::PASS_BUDGET_BYTES, 30] {
        let chunks = super::items_at_within(&app, &table, moment, budget)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sorted_rows(chunks).await, expected, "budget {budget}");
    }
}

#[tokio::test]
async fn point_in_time_restore_undoes_later_changes() {
    let (app, _dir) = fixture();
    table(&app, "tbl").await;
    assert_eq!(
        code(
            api::restore_table_to_point_in_time::handle(
                &app,
                input(json!({"SourceTableName": "tbl", "TargetTableName": "xxx", "UseLatestRestorableTime": true})),
            )
            .await
        ),
        "PointInTimeRecoveryUnavailableException"
    );
    let moment = history_around_a_moment(&app, "tbl").await;
    let table = app.catalog.get("tbl").unwrap_or_else(|| panic!("no table"));
    let chunks = super::items_at(&app, &table, moment)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sorted_rows(chunks).await,
        vec![
            r#"{"pk":{"S":"a"},"v":{"N":"1"}}"#.to_string(),
            r#"{"pk":{"S":"b"},"v":{"N":"1"}}"#.to_string()
        ]
    );
    assert_eq!(
        code(
            api::restore_table_to_point_in_time::handle(
                &app,
                input(json!({"SourceTableName": "tbl", "TargetTableName": "xxx", "RestoreDateTime": 1000.0})),
            )
            .await
        ),
        "InvalidRestoreTimeException"
    );
}

/// DynamoDB refuses a restore that names its source twice or asks for two times, before
/// it looks at either table (so even with PITR off), and creates nothing.
#[tokio::test]
async fn a_point_in_time_restore_names_one_source_and_one_time() {
    let (app, _dir) = fixture();
    table(&app, "tbl").await;
    let arn = app
        .catalog
        .get("tbl")
        .map(|t| t.arn.clone())
        .unwrap_or_default();
    let both_sources = json!({"SourceTableName": "tbl", "SourceTableArn": arn, "TargetTableName": "xxx", "UseLatestRestorableTime": true});
    let both_times = json!({"SourceTableName": "tbl", "TargetTableName": "xxx", "UseLatestRestorableTime": true, "RestoreDateTime": 1000.0});
    let no_time = json!({"SourceTableName": "tbl", "TargetTableName": "xxx", "UseLatestRestorableTime": false});
    for (request, expected) in [
        (both_sources, "ValidationException: Must provide exactly one of: sourceTableArn, sourceTableName"),
        (both_times, "ValidationException: Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be set for point-in-time restore request. Please specify either RestoreDateTime time or UseLatestRestorableTime"),
        (no_time, "ValidationException: Invalid Request: Either one of RestoreDateTime or UseLatestRestorableTime must be specified, but not both"),
    ] {
        match api::restore_table_to_point_in_time::handle(&app, input(request)).await {
            Ok(v) => panic!("expected an error, got {v}"),
            Err(e) => assert_eq!(e.to_string(), expected),
        }
    }
    assert!(app.catalog.get("xxx").is_none());
}

#[tokio::test]
async fn the_recovery_period_bounds_the_window_and_sets_the_log_retention() {
    let (app, _dir) = fixture();
    table(&app, "one").await;
    table(&app, "two").await;
    let retention = |app: &App| super::log_retention(&app.catalog.all()).as_secs() / 86_400;
    assert_eq!(retention(&app), 0);
    let update = |name: &str, spec: Value| {
        api::update_continuous_backups::handle(
            &app,
            input(json!({"TableName": name, "PointInTimeRecoverySpecification": spec})),
        )
    };
    let period = |described: &Value| {
        described["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
            ["RecoveryPeriodInDays"]
            .clone()
    };
    let on = ok(update("one", json!({"PointInTimeRecoveryEnabled": true})).await);
    assert_eq!(period(&on), json!(35));
    let on = ok(update(
        "two",
        json!({"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 3}),
    )
    .await);
    assert_eq!(period(&on), json!(3));
    assert_eq!(retention(&app), 35);
    // Already on: a new period is taken, the window keeps its start.
    let before = app.catalog.get("one").and_then(|t| super::pitr(&t));
    let changed = ok(update(
        "one",
        json!({"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 7}),
    )
    .await);
    assert_eq!(period(&changed), json!(7));
    let after = app.catalog.get("one").and_then(|t| super::pitr(&t));
    assert_eq!(before.map(|p| p.earliest), after.map(|p| p.earliest));
    assert_eq!(retention(&app), 7);
    ok(update("one", json!({"PointInTimeRecoveryEnabled": false})).await);
    assert_eq!(retention(&app), 3);
    // An enable time older than the period slides forward.
    let old = super::PitrSetting {
        enabled: true,
        earliest: 0.0,
        recovery_period_days: 2,
    };
    let (earliest, _) = super::window(&app, &old);
    let two_days_ago = shared::clock::now_seconds() - 2.0 * 86_400.0;
    assert!((earliest - two_days_ago).abs() < 5.0, "{earliest}");
    assert_eq!(
        code(
            update(
                "two",
                json!({"PointInTimeRecoveryEnabled": true, "RecoveryPeriodInDays": 36})
            )
            .await
        ),
        "ValidationException"
    );
}

/// The `field` of every object in a JSON array (index or attribute names in a description).
fn names<'a>(list: &'a Value, field: &str) -> Vec<&'a str> {
    list.as_array()
        .map(|a| a.iter().filter_map(|v| v[field].as_str()).collect())
        .unwrap_or_default()
}

/// A provisioned table `pk` (S) with GSIs `by_g` on `g` and `by_h` on `h` (S), holding
/// `{pk: a, g: x, h: y}`, and a backup of it; returns the backup's ARN.
async fn provisioned_with_gsis_backed_up(app: &App) -> String {
    let gsi = |name: &str, key: &str| {
        json!({
            "IndexName": name,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 3, "WriteCapacityUnits": 4}
        })
    };
    ok(api::create_table::handle(
        app,
        input(json!({
            "TableName": "prov",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "g", "AttributeType": "S"},
                {"AttributeName": "h", "AttributeType": "S"}
            ],
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 6},
            "GlobalSecondaryIndexes": [gsi("by_g", "g"), gsi("by_h", "h")]
        })),
    )
    .await);
    ok(api::put_item::handle(
        app,
        input(json!({"TableName": "prov", "Item": {"pk": {"S": "a"}, "g": {"S": "x"}, "h": {"S": "y"}}})),
    )
    .await);
    backup_of(app, "prov", "b").await
}

#[tokio::test]
async fn restore_overrides_set_billing_and_keep_only_the_named_indexes() {
    let (app, _dir) = fixture();
    let arn = provisioned_with_gsis_backed_up(&app).await;
    let restored = ok(api::restore_table_from_backup::handle(
        &app,
        input(json!({
            "TargetTableName": "ondemand",
            "BackupArn": arn,
            "BillingModeOverride": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexOverride": [{
                "IndexName": "by_g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"}
            }]
        })),
    )
    .await);
    let desc = &restored["TableDescription"];
    assert_eq!(desc["BillingModeSummary"]["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(desc["ProvisionedThroughput"]["ReadCapacityUnits"], 0);
    let gsis = desc["GlobalSecondaryIndexes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(gsis.len(), 1);
    assert_eq!(gsis[0]["IndexName"], "by_g");
    assert_eq!(gsis[0]["Projection"]["ProjectionType"], "KEYS_ONLY");
    // `h` keyed only the dropped index: no longer a definition.
    assert_eq!(
        names(&desc["AttributeDefinitions"], "AttributeName"),
        vec!["pk", "g"]
    );
    // The kept index was filled from the backup; the dropped one is gone.
    let query = |index: &str, key: &str, value: &str| {
        input::<shared::wire::ops::query::QueryInput>(json!({
            "TableName": "ondemand",
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": key},
            "ExpressionAttributeValues": {":v": {"S": value}}
        }))
    };
    wait_restored(&app, "ondemand").await;
    let found = ok(api::query::handle(&app, query("by_g", "g", "x")).await);
    assert_eq!(found["Count"], 1);
    assert_eq!(
        code(api::query::handle(&app, query("by_h", "h", "y")).await),
        "ValidationException"
    );

    // Without an index override, a restore keeps both indexes with their capacity.
    let kept = ok(api::restore_table_from_backup::handle(
        &app,
        input(json!({
            "TargetTableName": "same",
            "BackupArn": arn,
            "ProvisionedThroughputOverride": {"ReadCapacityUnits": 7, "WriteCapacityUnits": 8}
        })),
    )
    .await);
    let desc = &kept["TableDescription"];
    assert_eq!(desc["ProvisionedThroughput"]["ReadCapacityUnits"], 7);
    assert_eq!(
        desc["GlobalSecondaryIndexes"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        desc["GlobalSecondaryIndexes"][0]["ProvisionedThroughput"]["WriteCapacityUnits"],
        4
    );
}

#[tokio::test]
async fn bad_restore_overrides_are_refused_before_anything_is_created() {
    let (app, _dir) = fixture();
    let arn = provisioned_with_gsis_backed_up(&app).await;
    let restore = |overrides: Value| {
        let mut request = json!({"TargetTableName": "target", "BackupArn": arn});
        if let (Some(r), Some(o)) = (request.as_object_mut(), overrides.as_object()) {
            r.extend(o.clone());
        }
        api::restore_table_from_backup::handle(&app, input(request))
    };
    let refused = [
        json!({"BillingModeOverride": "FREE"}),
        json!({"BillingModeOverride": "PAY_PER_REQUEST",
               "ProvisionedThroughputOverride": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}),
        // An index the source does not have, and one under another key schema.
        json!({"GlobalSecondaryIndexOverride": [{
            "IndexName": "by_z",
            "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}]}),
        json!({"GlobalSecondaryIndexOverride": [{
            "IndexName": "by_g",
            "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "ALL"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}]}),
    ];
    for overrides in refused {
        assert_eq!(
            code(restore(overrides.clone()).await),
            "ValidationException",
            "{overrides}"
        );
        assert!(
            app.catalog.get("target").is_none(),
            "{overrides} created the table"
        );
    }
    // An on-demand source restored as provisioned needs capacity for its table and GSIs.
    table(&app, "odsrc").await;
    let od_arn = backup_of(&app, "odsrc", "b").await;
    assert_eq!(
        code(
            api::restore_table_from_backup::handle(
                &app,
                input(json!({"TargetTableName": "odprov", "BackupArn": od_arn,
                             "BillingModeOverride": "PROVISIONED"})),
            )
            .await
        ),
        "ValidationException"
    );
    assert!(app.catalog.get("odprov").is_none());
}

#[tokio::test]
async fn a_local_index_override_keeps_the_named_lsis_only() {
    let (app, _dir) = fixture();
    let lsi = |name: &str, key: &str| {
        json!({
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": key, "KeyType": "RANGE"}
            ],
            "Projection": {"ProjectionType": "ALL"}
        })
    };
    ok(api::create_table::handle(
        &app,
        input(json!({
            "TableName": "locals",
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"}
            ],
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "l", "AttributeType": "S"},
                {"AttributeName": "m", "AttributeType": "S"}
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "LocalSecondaryIndexes": [lsi("by_l", "l"), lsi("by_m", "m")]
        })),
    )
    .await);
    let arn = backup_of(&app, "locals", "b").await;
    let restored = ok(api::restore_table_from_backup::handle(
        &app,
        input(json!({"TargetTableName": "one", "BackupArn": arn,
                     "LocalSecondaryIndexOverride": [lsi("by_l", "l")]})),
    )
    .await);
    let desc = &restored["TableDescription"];
    assert_eq!(
        names(&desc["LocalSecondaryIndexes"], "IndexName"),
        vec!["by_l"]
    );
    assert_eq!(
        names(&desc["AttributeDefinitions"], "AttributeName"),
        vec!["pk", "sk", "l"]
    );
    let none = ok(api::restore_table_from_backup::handle(
        &app,
        input(json!({"TargetTableName": "none", "BackupArn": arn,
                     "LocalSecondaryIndexOverride": []})),
    )
    .await);
    assert!(none["TableDescription"]["LocalSecondaryIndexes"].is_null());
}

#[tokio::test]
async fn changes_between_keep_each_items_first_and_last_state_in_the_window() {
    let (app, _dir) = fixture();
    table(&app, "tbl").await;
    ok(api::update_continuous_backups::handle(
        &app,
        input(json!({"TableName": "tbl", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}})),
    )
    .await);
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(30));
    put(&app, "tbl", "gone", 1).await;
    put(&app, "tbl", "changed", 1).await;
    put(&app, "tbl", "still", 1).await;
    pause().await;
    let from_ms = shared::clock::now_ms();
    pause().await;
    delete(&app, "tbl", "gone").await;
    put(&app, "tbl", "changed", 2).await;
    put(&app, "tbl", "changed", 3).await;
    put(&app, "tbl", "born", 1).await;
    put(&app, "tbl", "brief", 1).await;
    delete(&app, "tbl", "brief").await;
    pause().await;
    let to_ms = shared::clock::now_ms();
    pause().await;
    put(&app, "tbl", "changed", 4).await;
    put(&app, "tbl", "late", 1).await;

    let table = app.catalog.get("tbl").unwrap_or_else(|| panic!("no table"));
    let text = |item: &Option<shared::model::Item>| {
        item.as_ref()
            .map(|i| serde_json::to_string(i).unwrap_or_default())
    };
    let item = |pk: &str, v: i64| Some(format!(r#"{{"pk":{{"S":"{pk}"}},"v":{{"N":"{v}"}}}}"#));
    let key = |pk: &str| format!(r#"{{"pk":{{"S":"{pk}"}}}}"#);
    let expected = vec![
        (key("born"), None, item("born", 1)),
        (key("changed"), item("changed", 1), item("changed", 3)),
        (key("gone"), item("gone", 1), None),
    ];
    // In one pass, and in the passes a tiny budget needs: the same changes, each once.
    for budget in [super::PASS_BUDGET_BYTES, 20] {
        let mut chunks =
            super::changes::changes_between_within(&app, &table, (from_ms, to_ms), budget)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        let mut seen: Vec<(String, Option<String>, Option<String>)> = Vec::new();
        while let Some(chunk) = chunks.recv().await {
            for c in chunk.unwrap_or_else(|e| panic!("{e}")) {
                assert!((from_ms..to_ms).contains(&c.last_change_ms));
                seen.push((
                    serde_json::to_string(&c.keys).unwrap_or_default(),
                    text(&c.before),
                    text(&c.after),
                ));
            }
        }
        seen.sort();
        assert_eq!(seen, expected, "budget {budget}");
    }
}

#[tokio::test]
async fn a_backup_name_outside_the_models_pattern_is_refused() {
    let (app, _dir) = fixture();
    table(&app, "src").await;
    for name in ["a b", "back/up", "naïve"] {
        let created = api::create_backup::handle(
            &app,
            input(json!({"TableName": "src", "BackupName": name})),
        )
        .await;
        assert_eq!(code(created), "ValidationException", "{name}");
    }
}

#[test]
fn times_within_rounding_of_the_window_are_its_edges() {
    let ok = |at| super::time_in_window(at, 100.0, 200.0).ok();
    assert_eq!(ok(150.0), Some(150.0));
    assert_eq!(ok(99.9995), Some(100.0));
    assert_eq!(ok(200.0005), Some(200.0));
    for outside in [99.99, 200.01, f64::NAN, f64::INFINITY] {
        assert_eq!(
            code(super::time_in_window(outside, 100.0, 200.0)),
            "InvalidRestoreTimeException",
            "{outside}"
        );
    }
}

/// Starts a restore of `source` into `target` whose fill writes `first` and then hangs, as
/// a fill a stop cut short would have: the table stays CREATING with part of the items.
/// Returns the fill's feed; keep it, or the fill ends and makes the table ACTIVE.
async fn restore_cut_short(
    app: &Arc<App>,
    source: &crate::catalog::TableMeta,
    target: &str,
    first: Vec<shared::model::Item>,
    summary: Value,
) -> tokio::sync::mpsc::Sender<Result<Vec<shared::model::Item>, ApiError>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    ok(super::restore(app, source, target, rx, summary).await);
    // The fill takes chunks one by one: once the third is handed over, it has written the
    // first.
    for chunk in [first, Vec::new(), Vec::new()] {
        if tx.send(Ok(chunk)).await.is_err() {
            panic!("the fill stopped");
        }
    }
    tx
}

fn stale_item(pk: &str) -> shared::model::Item {
    input(json!({"pk": {"S": pk}, "v": {"N": "999"}}))
}

/// A point-in-time restore that a stop cut short runs again at the start: its table ends
/// ACTIVE with the source's items as of the restore time, over what the first fill wrote.
#[tokio::test]
async fn an_interrupted_point_in_time_restore_runs_again_from_its_source() {
    let (app, _dir) = fixture();
    table(&app, "tbl").await;
    let moment = history_around_a_moment(&app, "tbl").await;
    let source = app.catalog.get("tbl").unwrap_or_else(|| panic!("no table"));
    let summary = json!({"SourceTableArn": source.arn, "RestoreDateTime": moment});
    let _hung = restore_cut_short(&app, &source, "cut", vec![stale_item("a")], summary).await;
    // T is restorable once LatestRestorableDateTime, which trails now, has passed it.
    while super::restorable_window(&app, &source)
        .unwrap_or_else(|e| panic!("{e}"))
        .1
        < moment
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    super::resume_interrupted_restores(&app).await;
    assert_eq!(contents(&app, "cut").await, vec!["a=1", "b=1"]);
    let restored = app.catalog.get("cut").unwrap_or_else(|| panic!("no table"));
    assert_eq!(restored.status, crate::catalog::TableStatus::Active);
}

/// A backup cannot be deleted while a restore from it fills its table: the fill reads it,
/// and must be able to start again after a restart. Once the restore ends, it can.
#[tokio::test]
async fn a_backup_being_restored_cannot_be_deleted() {
    let (app, _dir) = fixture();
    table(&app, "src").await;
    put(&app, "src", "a", 1).await;
    let arn = backup_of(&app, "src", "b1").await;
    let source = app.catalog.get("src").unwrap_or_else(|| panic!("no table"));
    let summary = json!({"SourceBackupArn": arn, "SourceTableArn": source.arn});
    let hung = restore_cut_short(&app, &source, "dst", vec![stale_item("a")], summary).await;
    assert_eq!(
        code(api::delete_backup::handle(&app, input(json!({"BackupArn": arn}))).await),
        "BackupInUseException"
    );
    drop(hung);
    wait_restored(&app, "dst").await;
    ok(api::delete_backup::handle(&app, input(json!({"BackupArn": arn}))).await);
}
