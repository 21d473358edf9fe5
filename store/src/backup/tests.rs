//! Backups and PITR against a real (temporary) storage, without HTTP.

use serde_json::{json, Value};
use shared::wire::error::ApiError;

use crate::api;
use crate::app::App;
use crate::catalog::Catalog;
use crate::config::Config;
use crate::storage::{Storage, StorageOptions};

fn fixture() -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = Config {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], 8000)),
        data_dir: dir.path().to_path_buf(),
        region: "us-east-1".into(),
        account_id: "000000000000".into(),
        cluster_secret: None,
        durable: false,
        cache_bytes: 8 * 1024 * 1024,
        change_log: Default::default(),
    };
    let storage = Storage::open(
        dir.path(),
        StorageOptions {
            durable: false,
            cache_bytes: 8 * 1024 * 1024,
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let catalog = Catalog::load(&storage, &config).unwrap_or_else(|e| panic!("{e}"));
    (
        App {
            config,
            storage,
            catalog,
        },
        dir,
    )
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

/// `pk=v` pairs of a table, in key order.
async fn contents(app: &App, name: &str) -> Vec<String> {
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
    let created = ok(api::create_backup::handle(
        &app,
        input(json!({"TableName": "src", "BackupName": "b1"})),
    )
    .await);
    let arn = created["BackupDetails"]["BackupArn"]
        .as_str()
        .unwrap_or("")
        .to_string();
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
    ok(api::update_continuous_backups::handle(
        &app,
        input(json!({"TableName": "tbl", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}})),
    )
    .await);
    put(&app, "tbl", "a", 1).await;
    put(&app, "tbl", "b", 1).await;
    // Commit times are in milliseconds: keep T strictly between the two groups of writes.
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let moment = crate::catalog::now_seconds();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    delete(&app, "tbl", "a").await;
    put(&app, "tbl", "b", 2).await;
    put(&app, "tbl", "c", 1).await;
    let table = app.catalog.get("tbl").unwrap_or_else(|| panic!("no table"));
    let items = super::items_at(&app, &table, moment)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rows: Vec<String> = items
        .iter()
        .map(|i| serde_json::to_string(i).unwrap_or_default())
        .collect();
    rows.sort();
    assert_eq!(
        rows,
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
