//! Smoke tests with the clients users reach for first: boto3 (tests/py/smoke_boto3.py) and
//! the AWS CLI, from the venv `tests/run.sh` prepares, and the AWS SDK for JavaScript v3
//! (tests/js/smoke.mjs), from the modules it installs. A missing venv or module fails these
//! tests with instructions; it never skips them.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use integration_tests::serde_json::{self, Value};
use integration_tests::*;

fn run(mut command: Command) -> Output {
    for (key, value) in python_env() {
        command.env(key, value);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn boto3_smoke() {
    let venv = python_venv();
    let store = StoreProcess::spawn();
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("py")
        .join("smoke_boto3.py");
    let mut command = Command::new(venv.join("bin").join("python"));
    command
        .arg(&script)
        .arg(store.endpoint())
        .arg(store.data_dir().join("s3"));
    let output = run(command);
    assert!(String::from_utf8_lossy(&output.stdout).contains("boto3 smoke: ok"));
}

/// The JS SDK's calls, through the low-level client and the DocumentClient, against the
/// store and against a proxy node.
#[test]
fn js_sdk_smoke() {
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    assert!(
        js.join("node_modules").join("@aws-sdk").is_dir(),
        "the JS SDK is not installed in {}: run tests/run.sh (it runs `npm ci` there)",
        js.display()
    );
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    for endpoint in [store.endpoint(), proxy.endpoint()] {
        let mut command = Command::new("node");
        // The SDK warns that releases after January 2027 will want Node.js 22.
        command
            .arg("--no-warnings")
            .arg(js.join("smoke.mjs"))
            .arg(&endpoint);
        let output = run(command);
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("js smoke: ok"),
            "{endpoint}"
        );
    }
}

/// `aws dynamodb ...` with `--output json`; returns the parsed output (Null when empty).
fn aws(venv: &Path, endpoint: &str, args: &[&str]) -> Value {
    let mut command = Command::new(venv.join("bin").join("aws"));
    command
        .args(["--endpoint-url", endpoint, "--output", "json", "dynamodb"])
        .args(args);
    let output = run(command);
    if output.stdout.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "aws {args:?}: output is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[test]
fn aws_cli_smoke() {
    let venv = python_venv();
    let store = StoreProcess::spawn();
    let endpoint = store.endpoint();
    let table = unique_name("cli");

    let created = aws(
        &venv,
        &endpoint,
        &[
            "create-table",
            "--table-name",
            &table,
            "--attribute-definitions",
            "AttributeName=pk,AttributeType=S",
            "--key-schema",
            "AttributeName=pk,KeyType=HASH",
            "--billing-mode",
            "PAY_PER_REQUEST",
        ],
    );
    assert_eq!(created["TableDescription"]["TableName"], table.as_str());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(wait_table_active(&store.client(), &table));

    aws(
        &venv,
        &endpoint,
        &[
            "put-item",
            "--table-name",
            &table,
            "--item",
            r#"{"pk":{"S":"cli"},"n":{"N":"42"}}"#,
        ],
    );
    let got = aws(
        &venv,
        &endpoint,
        &[
            "get-item",
            "--table-name",
            &table,
            "--key",
            r#"{"pk":{"S":"cli"}}"#,
            "--consistent-read",
        ],
    );
    assert_eq!(got["Item"]["n"]["N"], "42", "get-item: {got}");

    let updated = aws(
        &venv,
        &endpoint,
        &[
            "update-item",
            "--table-name",
            &table,
            "--key",
            r#"{"pk":{"S":"cli"}}"#,
            "--update-expression",
            "SET n = n + :d",
            "--expression-attribute-values",
            r#"{":d":{"N":"8"}}"#,
            "--return-values",
            "ALL_NEW",
        ],
    );
    assert_eq!(
        updated["Attributes"]["n"]["N"], "50",
        "update-item: {updated}"
    );

    let scanned = aws(&venv, &endpoint, &["scan", "--table-name", &table]);
    assert_eq!(scanned["Count"], 1, "scan: {scanned}");

    let listed = aws(&venv, &endpoint, &["list-tables"]);
    assert!(
        listed["TableNames"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == table.as_str()),
        "list-tables: {listed}"
    );

    // A failing call exits non-zero and names the error code on stderr.
    let mut failing = Command::new(venv.join("bin").join("aws"));
    failing.args([
        "--endpoint-url",
        &endpoint,
        "dynamodb",
        "describe-table",
        "--table-name",
        "no-such-table",
    ]);
    for (key, value) in python_env() {
        failing.env(key, value);
    }
    let output = failing.output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ResourceNotFoundException"),
        "stderr: {stderr}"
    );

    aws(&venv, &endpoint, &["delete-table", "--table-name", &table]);
    rt.block_on(wait_table_gone(&store.client(), &table));
}

/// botocore's signer against a store that verifies signatures: the AWS CLI with the
/// configured key works, with another secret it gets InvalidSignatureException.
#[test]
fn aws_cli_signatures_verify() {
    let venv = python_venv();
    let keys = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        keys.path(),
        format!("{ACCESS_KEY_ID} {SECRET_ACCESS_KEY}\n"),
    )
    .unwrap();
    let store = StoreProcess::spawn_with(StoreOptions {
        args: checking_signatures(keys.path()),
        ..Default::default()
    });
    let endpoint = store.endpoint();
    let listed = aws(&venv, &endpoint, &["list-tables"]);
    assert!(listed["TableNames"].is_array(), "list-tables: {listed}");

    let mut wrong = Command::new(venv.join("bin").join("aws"));
    wrong.args(["--endpoint-url", &endpoint, "dynamodb", "list-tables"]);
    for (key, value) in python_env() {
        wrong.env(key, value);
    }
    wrong.env("AWS_SECRET_ACCESS_KEY", "not-the-secret");
    let output = wrong.output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("InvalidSignatureException"),
        "stderr: {stderr}"
    );
}
