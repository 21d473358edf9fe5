//! Export to and import from S3 (a local directory standing in for it) with
//! aws-sdk-dynamodb: a point-in-time export in DynamoDB's layout (manifests with their MD5s,
//! gzipped DynamoDB JSON), imported back into a new table with its GSI; a CSV import with a
//! bad line; ClientToken retries and conflicts; the errors; records surviving a restart; an
//! export finishing while a long import runs; an incremental export; a multi-frame ZSTD
//! import; an ION export imported back; locations the S3 directory cannot hold refused,
//! contradictory restore and ListBackups requests refused, and a failure to write an
//! export reported in plain words.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue, BillingMode, ExportFormat, ExportStatus, ExportType, ExportViewType,
    GlobalSecondaryIndex, ImportStatus, IncrementalExportSpecification, InputCompressionType,
    InputFormat, InputFormatOptions, KeyType, S3BucketSource, ScalarAttributeType, StreamViewType,
    TableCreationParameters,
};
use base64::Engine as _;
use integration_tests::*;
use md5::{Digest, Md5};

/// An item of every attribute type, `g` (the GSI key) on even ones.
fn sample(i: usize) -> HashMap<String, AttributeValue> {
    let mut item = item(&[
        ("pk", s(&format!("item-{i:03}"))),
        ("n", n(i)),
        ("b", AttributeValue::B(vec![i as u8, 0, 255].into())),
        ("ok", AttributeValue::Bool(i.is_multiple_of(3))),
        ("none", AttributeValue::Null(true)),
        (
            "tags",
            AttributeValue::Ss(vec!["a".into(), format!("t{i}")]),
        ),
        (
            "doc",
            AttributeValue::M(item(&[
                ("list", AttributeValue::L(vec![n(1), s("two")])),
                ("ns", AttributeValue::Ns(vec!["1.5".into(), i.to_string()])),
            ])),
        ),
    ]);
    if i.is_multiple_of(2) {
        item.insert(
            "g".into(),
            s(if i.is_multiple_of(4) { "four" } else { "two" }),
        );
    }
    item
}

/// A GSI `by_g` on `g` (S), projecting everything.
fn by_g() -> GlobalSecondaryIndex {
    gsi_projecting_all("by_g", "g").build().unwrap()
}

/// A store whose S3 stand-in is `s3`, with `env` besides.
fn store_with_s3(s3: &Path, env: &[(&str, &str)]) -> StoreProcess {
    let mut all = vec![("STORE_S3_DIR".into(), s3.to_string_lossy().into_owned())];
    all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    StoreProcess::spawn_with(StoreOptions {
        env: all,
        ..Default::default()
    })
}

/// Puts `sample(0)` .. `sample(count - 1)` into `table`.
async fn put_samples(ddb: &aws_sdk_dynamodb::Client, table: &str, count: usize) {
    for i in 0..count {
        ok(ddb
            .put_item()
            .table_name(table)
            .set_item(Some(sample(i)))
            .send()
            .await);
    }
}

/// Creates `table` (key `pk`), turns PITR on and puts `sample(0)` .. `sample(count - 1)`.
async fn pitr_table_with_samples(ddb: &aws_sdk_dynamodb::Client, table: &str, count: usize) {
    create_hash_table(ddb, table).await;
    enable_pitr(ddb, table).await;
    put_samples(ddb, table, count).await;
}

/// A time over a second clear of every write before the call and every write after it, so
/// that no rounding of times puts a write on the wrong side of it.
async fn a_moment_apart() -> aws_sdk_dynamodb::primitives::DateTime {
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let moment = aws_sdk_dynamodb::primitives::DateTime::from(std::time::SystemTime::now());
    tokio::time::sleep(Duration::from_millis(1100)).await;
    moment
}

/// Polls `check` (at most 60 s) until it gives a value.
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..600 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 60 s");
}

/// Imports the objects under `bucket`/`prefix` into a new table `table` keyed by `pk` (S),
/// checks that all `expected` lines were imported without errors, and returns the table's
/// items.
async fn import_cleanly(
    ddb: &aws_sdk_dynamodb::Client,
    source: (&str, &str),
    formats: (InputFormat, InputCompressionType),
    table: &str,
    expected: i64,
) -> HashMap<String, HashMap<String, AttributeValue>> {
    let imported = import_into_new_table(ddb, source, formats, table).await;
    assert_eq!(
        imported.import_status(),
        Some(&ImportStatus::Completed),
        "{imported:?}"
    );
    assert_eq!(imported.imported_item_count(), expected);
    assert_eq!(imported.error_count(), 0);
    wait_table_active(ddb, table).await;
    scan_all(ddb, table).await
}

/// Imports the objects under `bucket`/`prefix` into a new table `table` keyed by `pk` (S)
/// and returns the import's description once it has ended.
async fn import_into_new_table(
    ddb: &aws_sdk_dynamodb::Client,
    (bucket, prefix): (&str, &str),
    (format, compression): (InputFormat, InputCompressionType),
    table: &str,
) -> aws_sdk_dynamodb::types::ImportTableDescription {
    let import = ok(ddb
        .import_table()
        .s3_bucket_source(s3_source(bucket, Some(prefix)))
        .input_format(format)
        .input_compression_type(compression)
        .table_creation_parameters(on_demand_pk_table(table))
        .send()
        .await);
    finished_import(ddb, &import).await
}

/// An import's source: objects of `bucket` under `prefix` (all of them without one).
fn s3_source(bucket: &str, prefix: Option<&str>) -> S3BucketSource {
    S3BucketSource::builder()
        .s3_bucket(bucket)
        .set_s3_key_prefix(prefix.map(str::to_string))
        .build()
        .unwrap()
}

/// The parameters of a new on-demand table keyed by `pk` (S), as an import creates it.
fn on_demand_pk_table(name: impl Into<String>) -> TableCreationParameters {
    TableCreationParameters::builder()
        .table_name(name)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .billing_mode(BillingMode::PayPerRequest)
        .build()
        .unwrap()
}

/// The description of the import `started` began, once it is no longer IN_PROGRESS.
async fn finished_import(
    ddb: &aws_sdk_dynamodb::Client,
    started: &aws_sdk_dynamodb::operation::import_table::ImportTableOutput,
) -> aws_sdk_dynamodb::types::ImportTableDescription {
    let arn = started
        .import_table_description()
        .and_then(|d| d.import_arn())
        .unwrap();
    eventually("the import", || async {
        let described = ok(ddb.describe_import().import_arn(arn).send().await);
        let d = described.import_table_description().unwrap().clone();
        (d.import_status() != Some(&ImportStatus::InProgress)).then_some(d)
    })
    .await
}

fn md5_base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Md5::digest(data))
}

/// The description of export `arn`, once it is COMPLETED (failing if it fails).
async fn completed_export(
    ddb: &aws_sdk_dynamodb::Client,
    arn: &str,
) -> aws_sdk_dynamodb::types::ExportDescription {
    let done = eventually("the export", || async {
        let described = ok(ddb.describe_export().export_arn(arn).send().await);
        let d = described.export_description().unwrap().clone();
        (d.export_status() != Some(&ExportStatus::InProgress)).then_some(d)
    })
    .await;
    assert_eq!(
        done.export_status(),
        Some(&ExportStatus::Completed),
        "{done:?}"
    );
    done
}

/// The items of a full export's data files, checked against its manifests.
fn exported_items(bucket_dir: &Path, manifest_key: &str) -> Vec<serde_json::Value> {
    let (_, lines) = exported_lines(bucket_dir, manifest_key);
    lines.iter().map(|line| line["Item"].clone()).collect()
}

/// An export's summary manifest and the lines of its DynamoDB JSON data files, checked
/// against its manifests.
fn exported_lines(
    bucket_dir: &Path,
    manifest_key: &str,
) -> (serde_json::Value, Vec<serde_json::Value>) {
    let (summary, lines) = exported_text(bucket_dir, manifest_key);
    assert_eq!(summary["outputFormat"], "DYNAMODB_JSON");
    let lines = lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (summary, lines)
}

/// An export's summary manifest and the text lines of its data files, checked against its
/// manifests (MD5s, item counts).
fn exported_text(bucket_dir: &Path, manifest_key: &str) -> (serde_json::Value, Vec<String>) {
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bucket_dir.join(manifest_key)).unwrap()).unwrap();
    assert_eq!(summary["version"], "2020-06-30");
    let files_key = summary["manifestFilesS3Key"].as_str().unwrap();
    let files = std::fs::read(bucket_dir.join(files_key)).unwrap();
    let md5_file = bucket_dir.join(files_key.replace(".json", ".md5"));
    assert_eq!(
        std::fs::read_to_string(md5_file).unwrap(),
        md5_base64(&files)
    );
    let mut lines = Vec::new();
    for line in String::from_utf8(files).unwrap().lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        let data =
            std::fs::read(bucket_dir.join(entry["dataFileS3Key"].as_str().unwrap())).unwrap();
        assert_eq!(entry["md5Checksum"], md5_base64(&data));
        let mut text = String::new();
        flate2::read::GzDecoder::new(data.as_slice())
            .read_to_string(&mut text)
            .unwrap();
        let before = lines.len();
        lines.extend(text.lines().map(str::to_string));
        assert_eq!(entry["itemCount"], lines.len() - before);
    }
    assert_eq!(summary["itemCount"], lines.len());
    (summary, lines)
}

#[tokio::test]
async fn a_point_in_time_export_imports_back_into_a_new_table() {
    let s3 = tempfile::tempdir().unwrap();
    let mut store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let source = unique_name("exported");
    ok(ddb
        .create_table()
        .table_name(&source)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .global_secondary_indexes(by_g())
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await);
    wait_table_active(&ddb, &source).await;
    let table_arn = table_arn(&ddb, &source).await;

    // Without PITR there is nothing to export from.
    let refused = ddb
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("exports")
        .send()
        .await
        .expect_err("PITR is off");
    assert_eq!(
        refused.code(),
        Some("PointInTimeRecoveryUnavailableException")
    );

    enable_pitr(&ddb, &source).await;
    put_samples(&ddb, &source, 250).await;
    let at_export = scan_all(&ddb, &source).await;
    let export_time = a_moment_apart().await;
    // Changes after the export time are not in the export.
    ok(ddb
        .delete_item()
        .table_name(&source)
        .key("pk", s("item-000"))
        .send()
        .await);
    ok(ddb
        .put_item()
        .table_name(&source)
        .item("pk", s("item-001"))
        .item("late", s("yes"))
        .send()
        .await);

    let future = ddb
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("exports")
        .export_time(aws_sdk_dynamodb::primitives::DateTime::from_secs(
            4_000_000_000,
        ))
        .send()
        .await
        .expect_err("an export time in the future");
    assert_eq!(future.code(), Some("InvalidExportTimeException"));

    let export = |prefix: &str| {
        ddb.export_table_to_point_in_time()
            .table_arn(&table_arn)
            .s3_bucket("exports")
            .s3_prefix(prefix)
            .export_time(export_time)
            .client_token("nightly-1")
    };
    let started = ok(export("nightly").send().await);
    let started = started.export_description().unwrap();
    assert_eq!(started.export_status(), Some(&ExportStatus::InProgress));
    let export_arn = started.export_arn().unwrap().to_string();
    // The same request again is the same export; other parameters with its token conflict.
    let again = ok(export("nightly").send().await);
    assert_eq!(
        again.export_description().and_then(|d| d.export_arn()),
        Some(export_arn.as_str())
    );
    let conflict = export("elsewhere").send().await.expect_err("a conflict");
    assert_eq!(conflict.code(), Some("ExportConflictException"));

    let done = completed_export(&ddb, &export_arn).await;
    assert_eq!(done.item_count(), Some(250));
    let manifest = done.export_manifest().unwrap();
    assert!(manifest.starts_with("nightly/AWSDynamoDB/"), "{manifest}");
    let exported = exported_items(&s3.path().join("exports"), manifest);
    assert_eq!(exported.len(), 250);
    let listed = ok(ddb.list_exports().table_arn(&table_arn).send().await);
    assert_eq!(listed.export_summaries().len(), 1);

    // Import the export's data files into a new table with the same GSI.
    let data_prefix = manifest.replace("manifest-summary.json", "data/");
    let target = unique_name("imported");
    let parameters = TableCreationParameters::builder()
        .table_name(&target)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .global_secondary_indexes(by_g())
        .billing_mode(BillingMode::PayPerRequest)
        .build()
        .unwrap();
    let import = ok(ddb
        .import_table()
        .s3_bucket_source(s3_source("exports", Some(&data_prefix)))
        .input_format(InputFormat::DynamodbJson)
        .input_compression_type(InputCompressionType::Gzip)
        .table_creation_parameters(parameters.clone())
        .send()
        .await);
    let imported = finished_import(&ddb, &import).await;
    let import_arn = imported.import_arn().unwrap().to_string();
    assert_eq!(
        imported.import_status(),
        Some(&ImportStatus::Completed),
        "{imported:?}"
    );
    assert_eq!(imported.imported_item_count(), 250);
    assert_eq!(imported.error_count(), 0);
    wait_table_active(&ddb, &target).await;
    assert_eq!(scan_all(&ddb, &target).await, at_export);
    let fours = ok(ddb
        .query()
        .table_name(&target)
        .index_name("by_g")
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s("four"))
        .send()
        .await);
    assert_eq!(fours.count(), 63);

    // An import into an existing table's name is refused before anything is read.
    let taken = ddb
        .import_table()
        .s3_bucket_source(s3_source("exports", None))
        .input_format(InputFormat::DynamodbJson)
        .table_creation_parameters(parameters)
        .send()
        .await
        .expect_err("the table exists");
    assert_eq!(taken.code(), Some("ResourceInUseException"));

    // CSV: the key typed by the table's definitions, the rest strings, a bad line counted.
    let seed = s3.path().join("seed/people");
    std::fs::create_dir_all(&seed).unwrap();
    std::fs::write(
        seed.join("part-1.csv"),
        "id;name;note\n1;Ada;\"likes; semicolons\nand \"\"quotes\"\"\"\nnot-a-number;Bob;x\n2;Cy;\n",
    )
    .unwrap();
    let people = unique_name("people");
    let csv = ok(ddb
        .import_table()
        .s3_bucket_source(s3_source("seed", Some("people/part")))
        .input_format(InputFormat::Csv)
        .input_format_options(
            InputFormatOptions::builder()
                .csv(
                    aws_sdk_dynamodb::types::CsvOptions::builder()
                        .delimiter(";")
                        .build(),
                )
                .build(),
        )
        .table_creation_parameters(
            TableCreationParameters::builder()
                .table_name(&people)
                .key_schema(key_element("id", KeyType::Hash))
                .attribute_definitions(attribute_definition("id", ScalarAttributeType::N))
                .billing_mode(BillingMode::PayPerRequest)
                .build()
                .unwrap(),
        )
        .send()
        .await);
    let csv_done = finished_import(&ddb, &csv).await;
    assert_eq!(csv_done.import_status(), Some(&ImportStatus::Completed));
    assert_eq!(
        (csv_done.imported_item_count(), csv_done.error_count()),
        (2, 1)
    );
    let ada = ok(ddb
        .get_item()
        .table_name(&people)
        .key("id", n(1))
        .send()
        .await);
    assert_eq!(
        ada.item(),
        Some(&item(&[
            ("id", n(1)),
            ("name", s("Ada")),
            ("note", s("likes; semicolons\nand \"quotes\""))
        ]))
    );

    // The records outlive the process.
    store.restart();
    let ddb = store.client();
    let after = ok(ddb.describe_export().export_arn(&export_arn).send().await);
    assert_eq!(
        after.export_description().and_then(|d| d.export_status()),
        Some(&ExportStatus::Completed)
    );
    let imports = ok(ddb.list_imports().send().await);
    assert_eq!(imports.import_summary_list().len(), 2);
    // A page at a time. The token has the SDK model's shape (16-digit hex groups, at least
    // 112 characters), which boto3 and the AWS CLI check before sending it back.
    let first = ok(ddb.list_imports().page_size(1).send().await);
    let token = first.next_token().unwrap().to_string();
    assert!(
        token.len() >= 112
            && token.len().is_multiple_of(16)
            && token
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{token}"
    );
    let second = ok(ddb
        .list_imports()
        .page_size(1)
        .next_token(token)
        .send()
        .await);
    assert_eq!(second.import_summary_list().len(), 1);
    assert_ne!(
        first.import_summary_list()[0].import_arn(),
        second.import_summary_list()[0].import_arn()
    );
    let missing = ddb
        .describe_import()
        .import_arn(format!("{import_arn}0"))
        .send()
        .await
        .expect_err("no such import");
    assert_eq!(missing.code(), Some("ImportNotFoundException"));
}

/// Backups and restores stream a table in chunks of 100: a backup of 1,234 items restores
/// every one of them (deletes made after the backup do not matter), and a point-in-time
/// restore to a moment between two deletes sees exactly the first.
#[tokio::test]
async fn backups_and_point_in_time_restores_keep_every_item_across_chunks() {
    let store = StoreProcess::spawn();
    let ddb = store.client();
    let table = unique_name("chunked");
    pitr_table_with_samples(&ddb, &table, 1234).await;
    let original = scan_all(&ddb, &table).await;
    let backup = ok(ddb
        .create_backup()
        .table_name(&table)
        .backup_name("chunked-1")
        .send()
        .await);
    let backup_arn = backup
        .backup_details()
        .map(|d| d.backup_arn().to_string())
        .unwrap();
    let delete = |pk: &str| ddb.delete_item().table_name(&table).key("pk", s(pk)).send();
    ok(delete("item-007").await);
    let between = a_moment_apart().await;
    ok(delete("item-008").await);

    let from_backup = unique_name("frombackup");
    ok(ddb
        .restore_table_from_backup()
        .target_table_name(&from_backup)
        .backup_arn(&backup_arn)
        .send()
        .await);
    wait_table_active(&ddb, &from_backup).await;
    assert_eq!(scan_all(&ddb, &from_backup).await, original);

    let at_between = unique_name("atbetween");
    ok(ddb
        .restore_table_to_point_in_time()
        .source_table_name(&table)
        .target_table_name(&at_between)
        .restore_date_time(between)
        .send()
        .await);
    wait_table_active(&ddb, &at_between).await;
    let mut expected = original;
    expected.remove("item-007");
    assert_eq!(scan_all(&ddb, &at_between).await, expected);
}

/// Writes `<dir>/<key>`: gzip members that expand to billions of one-character lines, each
/// of them an error to an import, which therefore reads it for many minutes.
fn endless_import_source(dir: &Path, key: &str) {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&b"x\n".repeat(8 << 20)).unwrap();
    let member = gz.finish().unwrap();
    let path = dir.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, member.repeat(64)).unwrap();
}

#[tokio::test]
async fn an_export_does_not_wait_for_a_long_import() {
    let s3 = tempfile::tempdir().unwrap();
    endless_import_source(&s3.path().join("slow"), "endless/lines.gz");
    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let imported = unique_name("endless");
    let parameters = on_demand_pk_table(&imported);
    let import = ok(ddb
        .import_table()
        .s3_bucket_source(s3_source("slow", Some("endless/")))
        .input_format(InputFormat::DynamodbJson)
        .input_compression_type(InputCompressionType::Gzip)
        .table_creation_parameters(parameters)
        .send()
        .await);
    let import_arn = import
        .import_table_description()
        .and_then(|d| d.import_arn())
        .unwrap()
        .to_string();

    // Started after the import, the export finishes while the import still reads.
    let table = unique_name("exported");
    pitr_table_with_samples(&ddb, &table, 3).await;
    let table_arn = table_arn(&ddb, &table).await;
    let export = ok(ddb
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("exports")
        .send()
        .await);
    let export_arn = export
        .export_description()
        .and_then(|d| d.export_arn())
        .unwrap();
    let exported = completed_export(&ddb, export_arn).await;
    assert_eq!(exported.item_count(), Some(3));
    let import_now = ok(ddb.describe_import().import_arn(&import_arn).send().await);
    assert_eq!(
        import_now
            .import_table_description()
            .and_then(|d| d.import_status()),
        Some(&ImportStatus::InProgress)
    );
}

/// Writes `<dir>/<key>`: `text` gzipped.
fn gzipped_object(dir: &Path, key: &str, text: &[u8]) {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(text).unwrap();
    let path = dir.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

/// A crash in the middle of an import does not leave its table half filled: the import
/// runs again from its first line once the store is back, and completes with every item
/// (it was reported FAILED, its table made ACTIVE with what the stopped run had written,
/// and its name taken from the ImportTable that "start it again" asked for).
#[tokio::test]
async fn an_import_a_crash_interrupts_runs_again_and_completes() {
    let s3 = tempfile::tempdir().unwrap();
    let source = s3.path().join("resumed");
    let lines: Vec<String> = (0..3)
        .map(|i| format!(r#"{{"Item":{{"pk":{{"S":"item-{i}"}}}}}}"#))
        .collect();
    gzipped_object(&source, "in/a-items.json.gz", lines.join("\n").as_bytes());
    // Lines an import counts as errors: seconds of reading, which the crash comes in.
    const ERRORS: usize = 8 << 20;
    gzipped_object(&source, "in/b-errors.json.gz", &b"x\n".repeat(ERRORS));
    let mut store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let table = unique_name("resumed");
    let import = ok(ddb
        .import_table()
        .s3_bucket_source(s3_source("resumed", Some("in/")))
        .input_format(InputFormat::DynamodbJson)
        .input_compression_type(InputCompressionType::Gzip)
        .table_creation_parameters(on_demand_pk_table(&table))
        .send()
        .await);

    store.kill9();
    store.restart_in_place();
    let ddb = store.client();
    let done = finished_import(&ddb, &import).await;
    assert_eq!(
        done.import_status(),
        Some(&ImportStatus::Completed),
        "{done:?}"
    );
    assert_eq!(
        (done.imported_item_count(), done.error_count()),
        (3, ERRORS as i64)
    );
    wait_table_active(&ddb, &table).await;
    assert_eq!(scan_all(&ddb, &table).await.len(), 3);
}

#[tokio::test]
async fn an_incremental_export_writes_each_changed_items_last_state() {
    let s3 = tempfile::tempdir().unwrap();
    // DynamoDB's shortest window is 15 minutes; one second keeps the test short.
    let store = store_with_s3(s3.path(), &[("STORE_INCREMENTAL_EXPORT_MIN_WINDOW", "1")]);
    let ddb = store.client();
    let table = unique_name("changing");
    pitr_table_with_samples(&ddb, &table, 4).await;
    let table_arn = table_arn(&ddb, &table).await;
    let put = |item: HashMap<String, AttributeValue>| {
        ddb.put_item()
            .table_name(&table)
            .set_item(Some(item))
            .send()
    };
    let delete = |pk: &str| ddb.delete_item().table_name(&table).key("pk", s(pk)).send();

    let from = a_moment_apart().await;
    let mut changed = sample(1);
    changed.insert("n".into(), n(1000));
    ok(put(changed).await);
    ok(delete("item-002").await);
    ok(put(sample(100)).await);
    ok(put(sample(101)).await);
    ok(delete("item-101").await);
    let to = a_moment_apart().await;
    ok(put(sample(200)).await);

    let window = |view: ExportViewType| {
        IncrementalExportSpecification::builder()
            .export_from_time(from)
            .export_to_time(to)
            .export_view_type(view)
            .build()
    };
    let export = |prefix: &str, view: ExportViewType| {
        ddb.export_table_to_point_in_time()
            .table_arn(&table_arn)
            .s3_bucket("changes")
            .s3_prefix(prefix)
            .export_type(ExportType::IncrementalExport)
            .incremental_export_specification(window(view))
    };

    // A window without changes: no lines, but a data file all the same (DynamoDB writes
    // at least one). The samples were put over a second before `from`.
    let quiet = ok(ddb
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("changes")
        .s3_prefix("quiet")
        .export_type(ExportType::IncrementalExport)
        .incremental_export_specification(
            IncrementalExportSpecification::builder()
                .export_from_time(aws_sdk_dynamodb::primitives::DateTime::from_secs_f64(
                    from.as_secs_f64() - 1.05,
                ))
                .export_to_time(from)
                .build(),
        )
        .send()
        .await);
    let quiet = completed_export(
        &ddb,
        quiet
            .export_description()
            .and_then(|d| d.export_arn())
            .unwrap(),
    )
    .await;
    assert_eq!(quiet.item_count(), Some(0));
    let (_, lines) = exported_lines(&s3.path().join("changes"), quiet.export_manifest().unwrap());
    assert!(lines.is_empty());
    let files = s3.path().join("changes/quiet/AWSDynamoDB/data");
    assert_eq!(std::fs::read_dir(files).unwrap().count(), 1);

    // Refused: an ExportTime, a missing start, a start outside the recovery window, an end
    // not after the start, a window shorter than the shortest, a window on a full export.
    let refusals = [
        (
            export("x", ExportViewType::NewImage).export_time(to),
            "ValidationException",
        ),
        (
            export("x", ExportViewType::NewImage).incremental_export_specification(
                IncrementalExportSpecification::builder()
                    .export_to_time(to)
                    .build(),
            ),
            "ValidationException",
        ),
        (
            export("x", ExportViewType::NewImage).incremental_export_specification(
                IncrementalExportSpecification::builder()
                    .export_from_time(aws_sdk_dynamodb::primitives::DateTime::from_secs(1000))
                    .build(),
            ),
            "InvalidExportTimeException",
        ),
        (
            export("x", ExportViewType::NewImage).incremental_export_specification(
                IncrementalExportSpecification::builder()
                    .export_from_time(to)
                    .export_to_time(from)
                    .build(),
            ),
            "ValidationException",
        ),
        (
            export("x", ExportViewType::NewImage).incremental_export_specification(
                IncrementalExportSpecification::builder()
                    .export_from_time(from)
                    .export_to_time(aws_sdk_dynamodb::primitives::DateTime::from_secs_f64(
                        from.as_secs_f64() + 0.5,
                    ))
                    .build(),
            ),
            "ValidationException",
        ),
        (
            export("x", ExportViewType::NewImage).export_type(ExportType::FullExport),
            "ValidationException",
        ),
    ];
    for (request, code) in refusals {
        let refused = request.send().await.expect_err("refused");
        assert_eq!(refused.code(), Some(code), "{refused:?}");
    }

    let key = |pk: &str| serde_json::json!({"pk": {"S": pk}});
    // Which version of a sample an image is: its key and its `n`.
    let version = |image: &serde_json::Value| {
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        (text(&image["pk"]["S"]), text(&image["n"]["N"]))
    };
    let v = |pk: &str, n: &str| (pk.to_string(), n.to_string());
    for (prefix, view) in [
        ("both", ExportViewType::NewAndOldImages),
        ("new", ExportViewType::NewImage),
    ] {
        let started = ok(export(prefix, view.clone()).send().await);
        let arn = started
            .export_description()
            .and_then(|d| d.export_arn())
            .unwrap();
        let done = completed_export(&ddb, arn).await;
        assert_eq!(done.export_type(), Some(&ExportType::IncrementalExport));
        assert_eq!(
            done.incremental_export_specification()
                .and_then(|w| w.export_view_type()),
            Some(&view)
        );
        assert_eq!(done.item_count(), Some(3));
        let (summary, lines) =
            exported_lines(&s3.path().join("changes"), done.export_manifest().unwrap());
        assert_eq!(summary["exportType"], "INCREMENTAL_EXPORT");
        assert_eq!(summary["outputView"], view.as_str());
        let files = std::fs::read_dir(
            s3.path()
                .join("changes")
                .join(prefix)
                .join("AWSDynamoDB/data"),
        )
        .unwrap()
        .count();
        assert_eq!(files, 1, "incremental exports share AWSDynamoDB/data/");

        let mut by_key: HashMap<String, serde_json::Value> = HashMap::new();
        for line in lines {
            let micros: u64 = line["Metadata"]["WriteTimestampMicros"]["N"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            let window_micros = (from.as_secs_f64() * 1e6) as u64..(to.as_secs_f64() * 1e6) as u64;
            assert!(window_micros.contains(&micros), "{line}");
            by_key.insert(line["Keys"]["pk"]["S"].as_str().unwrap().to_string(), line);
        }
        let both = view == ExportViewType::NewAndOldImages;
        let mut keys: Vec<&String> = by_key.keys().collect();
        keys.sort();
        assert_eq!(keys, ["item-001", "item-002", "item-100"]);
        let updated = &by_key["item-001"];
        assert_eq!(updated["Keys"], key("item-001"));
        assert_eq!(version(&updated["NewImage"]), v("item-001", "1000"));
        let deleted = &by_key["item-002"];
        assert!(deleted.get("NewImage").is_none(), "{deleted}");
        let created = &by_key["item-100"];
        assert_eq!(version(&created["NewImage"]), v("item-100", "100"));
        // Every attribute type survives: the sample's set, list and map.
        assert_eq!(
            created["NewImage"]["doc"]["M"]["list"]["L"][1],
            serde_json::json!({"S": "two"})
        );
        assert!(created.get("OldImage").is_none(), "{created}");
        if both {
            assert_eq!(version(&updated["OldImage"]), v("item-001", "1"));
            assert_eq!(version(&deleted["OldImage"]), v("item-002", "2"));
        } else {
            assert!(updated.get("OldImage").is_none(), "{updated}");
            assert!(deleted.get("OldImage").is_none(), "{deleted}");
        }
    }
}

#[tokio::test]
async fn a_zstd_import_reads_every_frame_of_every_file() {
    use ruzstd::encoding::{compress_to_vec, CompressionLevel};
    let s3 = tempfile::tempdir().unwrap();
    let lines = |range: std::ops::Range<usize>| {
        range
            .map(|i| {
                format!("{{\"Item\":{{\"pk\":{{\"S\":\"z{i}\"}},\"n\":{{\"N\":\"{i}\"}}}}}}\n")
            })
            .collect::<String>()
    };
    let dir = s3.path().join("zstd-in").join("batch");
    std::fs::create_dir_all(&dir).unwrap();
    // Two frames in one file (as concatenated .zst files are), one frame in the other.
    let mut two_frames = compress_to_vec(lines(0..300).as_bytes(), CompressionLevel::Fastest);
    two_frames.extend(compress_to_vec(
        lines(300..500).as_bytes(),
        CompressionLevel::Fastest,
    ));
    std::fs::write(dir.join("part-1.json.zst"), two_frames).unwrap();
    let one_frame = compress_to_vec(lines(500..600).as_bytes(), CompressionLevel::Fastest);
    std::fs::write(dir.join("part-2.json.zst"), one_frame).unwrap();

    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let table = unique_name("zstd");
    let formats = (InputFormat::DynamodbJson, InputCompressionType::Zstd);
    let items = import_cleanly(&ddb, ("zstd-in", "batch/"), formats, &table, 600).await;
    assert_eq!(items.len(), 600);
    assert_eq!(items["z599"]["n"], n(599));
}

/// An import from a bucket that does not exist, or from a prefix with no objects under it,
/// fails (saying why) rather than completing with an empty table.
#[tokio::test]
async fn an_import_of_nothing_fails() {
    let s3 = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(s3.path().join("empty-bucket")).unwrap();
    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let formats = (InputFormat::DynamodbJson, InputCompressionType::None);
    for (source, why) in [
        (("no-such-bucket", ""), "does not exist"),
        (("empty-bucket", "exports/"), "No objects found"),
    ] {
        let table = unique_name("nothing");
        let imported = import_into_new_table(&ddb, source, formats.clone(), &table).await;
        assert_eq!(imported.import_status(), Some(&ImportStatus::Failed));
        let message = imported.failure_message().unwrap_or_default();
        assert!(message.contains(why), "{message}");
    }
}

#[tokio::test]
async fn an_ion_export_imports_back() {
    let s3 = tempfile::tempdir().unwrap();
    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let source = unique_name("ionsource");
    pitr_table_with_samples(&ddb, &source, 40).await;
    let original = scan_all(&ddb, &source).await;
    let table_arn = table_arn(&ddb, &source).await;

    // ION is for full exports here; an incremental one is refused.
    let incremental = ddb
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("ion")
        .export_format(ExportFormat::Ion)
        .export_type(ExportType::IncrementalExport)
        .send()
        .await
        .expect_err("ION incremental");
    assert_eq!(incremental.code(), Some("ValidationException"));

    let started = ok(ddb
        .export_table_to_point_in_time()
        .table_arn(&table_arn)
        .s3_bucket("ion")
        .s3_prefix("full")
        .export_format(ExportFormat::Ion)
        .send()
        .await);
    let done = completed_export(
        &ddb,
        started
            .export_description()
            .and_then(|d| d.export_arn())
            .unwrap(),
    )
    .await;
    assert_eq!(done.export_format(), Some(&ExportFormat::Ion));
    let manifest = done.export_manifest().unwrap();
    let (summary, lines) = exported_text(&s3.path().join("ion"), manifest);
    assert_eq!(summary["outputFormat"], "ION");
    assert_eq!(lines.len(), 40);
    for line in &lines {
        assert!(line.starts_with("$ion_1_0 {Item:{"), "{line}");
    }
    // Sets carry DynamoDB's annotations; numbers are Ion decimals.
    assert!(lines.iter().any(|l| l.contains("tags:$dynamodb_SS::[")));
    assert!(lines.iter().any(|l| l.contains("n:1.,")));

    let target = unique_name("ionimported");
    let data = manifest.replace("manifest-summary.json", "data/");
    let formats = (InputFormat::Ion, InputCompressionType::Gzip);
    let items = import_cleanly(&ddb, ("ion", &data), formats, &target, 40).await;
    assert_eq!(items, original);
}

/// A PITR table with a few items, and its ARN.
async fn exportable_table(ddb: &aws_sdk_dynamodb::Client, name: &str) -> String {
    pitr_table_with_samples(ddb, name, 3).await;
    ok(ddb.describe_table().table_name(name).send().await)
        .table()
        .and_then(|t| t.table_arn())
        .unwrap()
        .to_string()
}

/// DynamoDB refuses a point-in-time restore naming its source both ways or asking for both
/// a time and the latest restorable time, and creates nothing.
#[tokio::test]
async fn contradictory_point_in_time_restores_are_refused() {
    let s3 = tempfile::tempdir().unwrap();
    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let table = unique_name("contra");
    let arn = exportable_table(&ddb, &table).await;
    let target = unique_name("never");
    let both_sources = ddb
        .restore_table_to_point_in_time()
        .source_table_name(&table)
        .source_table_arn(&arn)
        .target_table_name(&target)
        .use_latest_restorable_time(true)
        .send()
        .await;
    assert_api_error(
        both_sources,
        "ValidationException",
        Some("Must provide exactly one of: sourceTableArn, sourceTableName"),
    );
    let both_times = ddb
        .restore_table_to_point_in_time()
        .source_table_name(&table)
        .target_table_name(&target)
        .use_latest_restorable_time(true)
        .restore_date_time(aws_sdk_dynamodb::primitives::DateTime::from_secs(1))
        .send()
        .await;
    let refused = assert_api_error(both_times, "ValidationException", None);
    let message = refused.message().unwrap_or_default();
    assert!(
        message.starts_with(
            "Invalid Request: Both RestoreDateTime and UseLatestRestorableTime cannot be set"
        ),
        "{message}"
    );
    let described = ddb.describe_table().table_name(&target).send().await;
    assert_api_error(described, "ResourceNotFoundException", None);
}

/// A restore's target is a new table's name, never an ARN (one became the name of a table
/// no call could name again), and its capacity overrides are checked as CreateTable's are
/// (a unit below 1 made an ACTIVE table with negative capacity).
#[tokio::test]
async fn restore_targets_and_capacity_overrides_are_checked_as_create_table_checks_them() {
    let s3 = tempfile::tempdir().unwrap();
    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let table = unique_name("source");
    exportable_table(&ddb, &table).await;
    let target_arn = format!(
        "arn:aws:dynamodb:us-east-1:000000000000:table/{}",
        unique_name("t")
    );
    let by_arn = ddb
        .restore_table_to_point_in_time()
        .source_table_name(&table)
        .target_table_name(&target_arn)
        .use_latest_restorable_time(true)
        .send()
        .await;
    let refused = assert_api_error(by_arn, "ValidationException", None);
    let message = refused.message().unwrap_or_default();
    assert!(message.contains("targetTableName"), "{message}");
    let backup = ok(ddb
        .create_backup()
        .table_name(&table)
        .backup_name("b1")
        .send()
        .await);
    let backup_arn = backup.backup_details().unwrap().backup_arn().to_string();
    let from_backup = ddb
        .restore_table_from_backup()
        .backup_arn(&backup_arn)
        .target_table_name(&target_arn)
        .send()
        .await;
    assert_api_error(from_backup, "ValidationException", None);

    let zero = throughput(0, 1);
    let target = unique_name("zero");
    let zero_capacity = ddb
        .restore_table_from_backup()
        .backup_arn(&backup_arn)
        .target_table_name(&target)
        .billing_mode_override(BillingMode::Provisioned)
        .provisioned_throughput_override(zero)
        .send()
        .await;
    assert_api_error(
        zero_capacity,
        "ValidationException",
        Some("1 validation error detected: Value '0' at 'provisionedThroughputOverride.readCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1"),
    );
    let tables = ok(ddb.list_tables().send().await);
    assert_eq!(
        tables.table_names(),
        [table.as_str()],
        "only the source exists"
    );
}

/// DescribeBackup tells the source table's features at the backup: its GSIs with their
/// capacity, its stream, its TTL (they were left out before).
#[tokio::test]
async fn a_backup_describes_its_tables_indexes_stream_and_ttl() {
    let s3 = tempfile::tempdir().unwrap();
    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let table = unique_name("featured");
    let gsi = gsi_projecting_all("by_g", "g")
        .provisioned_throughput(throughput(3, 4))
        .build()
        .unwrap();
    ok(ddb
        .create_table()
        .table_name(&table)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("g", ScalarAttributeType::S))
        .global_secondary_indexes(gsi)
        .provisioned_throughput(throughput(5, 5))
        .send()
        .await);
    wait_table_active(&ddb, &table).await;
    enable_stream(&ddb, &table, StreamViewType::NewImage).await;
    enable_ttl(&ddb, &table, "exp").await;
    let backup = ok(ddb
        .create_backup()
        .table_name(&table)
        .backup_name("b")
        .send()
        .await);
    let arn = backup.backup_details().unwrap().backup_arn();
    let described = ok(ddb.describe_backup().backup_arn(arn).send().await);
    let features = described
        .backup_description()
        .and_then(|d| d.source_table_feature_details())
        .unwrap();
    let index = &features.global_secondary_indexes()[0];
    let throughput = index.provisioned_throughput().unwrap();
    assert_eq!(
        (
            throughput.read_capacity_units(),
            throughput.write_capacity_units()
        ),
        (3, 4)
    );
    let stream = features.stream_description().unwrap();
    assert!(stream.stream_enabled());
    assert_eq!(stream.stream_view_type(), Some(&StreamViewType::NewImage));
    let ttl = features.time_to_live_description().unwrap();
    assert_eq!(
        ttl.time_to_live_status(),
        Some(&aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
    );
    assert_eq!(ttl.attribute_name(), Some("exp"));
}

/// DynamoDB refuses a ListBackups whose time range is inverted rather than answer nothing.
#[tokio::test]
async fn an_inverted_list_backups_range_is_refused() {
    let s3 = tempfile::tempdir().unwrap();
    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let inverted = ddb
        .list_backups()
        .time_range_lower_bound(aws_sdk_dynamodb::primitives::DateTime::from_secs(2_000))
        .time_range_upper_bound(aws_sdk_dynamodb::primitives::DateTime::from_secs(1_000))
        .send()
        .await;
    assert_api_error(
        inverted,
        "ValidationException",
        Some("Time range lower bound must be less than or equal to upper bound"),
    );
}

/// A prefix the S3 directory cannot hold (a part between slashes longer than a file name
/// may be, a NUL) or keep apart from another (an empty or `.` part) is refused up front,
/// by exports and imports.
#[tokio::test]
async fn exports_refuse_what_the_s3_directory_cannot_hold() {
    let s3 = tempfile::tempdir().unwrap();
    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let arn = exportable_table(&ddb, &unique_name("held")).await;
    let export = |prefix: &str| {
        ddb.export_table_to_point_in_time()
            .table_arn(&arn)
            .s3_bucket("exports")
            .s3_prefix(prefix)
            .send()
    };

    let long = "a".repeat(300);
    for prefix in [long.as_str(), "a\u{0}b", "daily/\u{0}"] {
        let refused = export(prefix).await.expect_err("not holdable");
        assert_eq!(refused.code(), Some("ValidationException"), "{refused:?}");
        let message = refused.message().unwrap_or_default();
        assert!(message.contains("at most 255 bytes"), "{message}");
    }
    // S3 keeps `a//b` and `./x` apart from `a/b` and `x`; the directory would not.
    for prefix in ["a//b", "./x", "a/./b"] {
        let refused = export(prefix)
            .await
            .expect_err("would fold into another prefix");
        assert_eq!(refused.code(), Some("ValidationException"), "{refused:?}");
        let message = refused.message().unwrap_or_default();
        assert!(message.contains("empty or '.' part"), "{message}");
    }
    let import = ddb
        .import_table()
        .s3_bucket_source(s3_source("exports", Some(&long)))
        .input_format(InputFormat::DynamodbJson)
        .table_creation_parameters(on_demand_pk_table(unique_name("never")))
        .send()
        .await
        .expect_err("not holdable");
    assert_eq!(import.code(), Some("ValidationException"), "{import:?}");
    // A part of exactly 255 bytes is a name the directory takes.
    let longest = "a".repeat(255);
    let started = ok(export(&longest).await);
    let arn = started.export_description().unwrap().export_arn().unwrap();
    completed_export(&ddb, arn).await;
}

/// An export that cannot write its files fails saying so in plain words, without the
/// system's error text.
#[tokio::test]
async fn an_export_that_cannot_write_says_why_in_plain_words() {
    let s3 = tempfile::tempdir().unwrap();
    // A file where bucket `blocked`'s directory would be.
    std::fs::write(s3.path().join("blocked"), b"").unwrap();
    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let arn = exportable_table(&ddb, &unique_name("blocked")).await;
    let started = ok(ddb
        .export_table_to_point_in_time()
        .table_arn(&arn)
        .s3_bucket("blocked")
        .s3_prefix("daily")
        .send()
        .await);
    let arn = started.export_description().unwrap().export_arn().unwrap();
    let failed = eventually("the export's end", || async {
        let described = ok(ddb.describe_export().export_arn(arn).send().await);
        let d = described.export_description().unwrap().clone();
        (d.export_status() != Some(&ExportStatus::InProgress)).then_some(d)
    })
    .await;
    assert_eq!(failed.export_status(), Some(&ExportStatus::Failed));
    assert_eq!(failed.failure_code(), Some("S3Error"));
    assert_eq!(
        failed.failure_message(),
        Some("Failed to write the export to S3 bucket blocked: an object is in the way of the export's files")
    );
}

/// An SDK's retries racing each other (a slow first answer, a client timeout) with one
/// ClientToken start one export and one import: each retry answers the same ARN. Before
/// the checks and the saving were one step, concurrent retries each started their own
/// export, and all but one import retry failed on the table the first one created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_retries_of_one_client_token_start_one_export_and_one_import() {
    let s3 = tempfile::tempdir().unwrap();
    let store = store_with_s3(s3.path(), &[]);
    let ddb = store.client();
    let table = unique_name("retried");
    let table_arn = exportable_table(&ddb, &table).await;

    let exports = racing((0..8).map(|_| {
        let call = ddb
            .export_table_to_point_in_time()
            .table_arn(&table_arn)
            .s3_bucket("exports")
            .client_token("retried-export");
        async move {
            let started = ok(call.send().await);
            started
                .export_description()
                .and_then(|d| d.export_arn())
                .unwrap()
                .to_string()
        }
    }))
    .await;
    assert_eq!(exports.len(), 1, "{exports:?}");
    let export_arn = exports.into_iter().next().unwrap();
    completed_export(&ddb, &export_arn).await;
    let listed = ok(ddb.list_exports().table_arn(&table_arn).send().await);
    assert_eq!(listed.export_summaries().len(), 1);

    let imported = unique_name("retried-import");
    let imports = racing((0..8).map(|_| {
        let call = ddb
            .import_table()
            .client_token("retried-import")
            .s3_bucket_source(s3_source("exports", None))
            .input_format(InputFormat::DynamodbJson)
            .input_compression_type(InputCompressionType::Gzip)
            .table_creation_parameters(on_demand_pk_table(&imported));
        async move {
            let started = ok(call.send().await);
            let description = started.import_table_description();
            description
                .and_then(|d| d.import_arn())
                .unwrap()
                .to_string()
        }
    }))
    .await;
    assert_eq!(imports.len(), 1, "{imports:?}");
}

/// Runs `calls` at once; answers the distinct ARNs they answered.
async fn racing<F>(calls: impl Iterator<Item = F>) -> std::collections::HashSet<String>
where
    F: std::future::Future<Output = String> + Send + 'static,
{
    let running: Vec<_> = calls.map(tokio::spawn).collect();
    let mut arns = std::collections::HashSet::new();
    for call in running {
        arns.insert(call.await.unwrap());
    }
    arns
}
