//! Malformed and hostile input sent as raw HTTP (what an SDK would refuse to send): bad JSON,
//! unknown or missing targets, wrong JSON types, missing auth, invalid AttributeValues,
//! oversized items and deep nesting. Each answer must be DynamoDB's error JSON with the right
//! `__type` namespace, status, `x-amzn-RequestId` and a correct `x-amz-crc32`, and the
//! process must keep serving afterwards (DYNAMODB.md §1).

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use integration_tests::serde_json::{json, Value};
use integration_tests::*;

/// CRC-32 (IEEE, reflected, as zlib), bitwise: small, and the tests check few bytes.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in data {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Checks the parts every API answer must have, and returns the body as JSON.
#[track_caller]
fn check_envelope(response: &RawResponse) -> Value {
    assert!(
        response.headers.contains_key("x-amzn-requestid"),
        "no x-amzn-RequestId: {:?}",
        response.headers
    );
    let crc = response
        .headers
        .get("x-amz-crc32")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no x-amz-crc32: {:?}", response.headers));
    assert_eq!(
        crc,
        crc32(&response.body).to_string(),
        "x-amz-crc32 does not match the body"
    );
    response.json()
}

#[track_caller]
fn assert_error(response: &RawResponse, status: u16, full_type: &str) -> Value {
    let body = check_envelope(response);
    assert_eq!(response.status, status, "body: {body}");
    assert_eq!(body["__type"], full_type, "body: {body}");
    body
}

async fn assert_still_serves(store: &mut StoreProcess) {
    assert!(store.is_running(), "the store process died");
    ok(store.client().list_tables().send().await);
}

#[test]
fn crc32_matches_the_standard_check_value() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(crc32(b"{}"), 2_745_614_147);
}

#[tokio::test]
async fn protocol_errors() {
    let mut store = StoreProcess::spawn();
    let endpoint = store.endpoint();

    let bad_json = raw_call(&endpoint, "ListTables", b"{not json").await;
    let body = assert_error(
        &bad_json,
        400,
        "com.amazon.coral.service#SerializationException",
    );
    assert!(
        body.get("message").is_none_or(Value::is_null),
        "no message for bad JSON: {body}"
    );

    let unknown = raw_call(&endpoint, "NoSuchOperation", b"{}").await;
    assert_error(
        &unknown,
        400,
        "com.amazon.coral.service#UnknownOperationException",
    );

    let wrong_version = raw_post(&endpoint, Some("DynamoDB_20111205.ListTables"), b"{}").await;
    assert_error(
        &wrong_version,
        400,
        "com.amazon.coral.service#UnknownOperationException",
    );

    let no_target = raw_post(&endpoint, None, b"{}").await;
    assert_error(
        &no_target,
        400,
        "com.amazon.coral.service#UnknownOperationException",
    );

    let ok_call = raw_call(&endpoint, "ListTables", b"{}").await;
    let body = check_envelope(&ok_call);
    assert_eq!(ok_call.status, 200);
    assert_eq!(body, json!({"TableNames": []}));

    assert_still_serves(&mut store).await;
}

#[tokio::test]
async fn non_api_requests() {
    let mut store = StoreProcess::spawn();
    let endpoint = store.endpoint();
    let http = reqwest::Client::new();

    let get_root = http.get(format!("{endpoint}/")).send().await.unwrap();
    assert_eq!(get_root.status().as_u16(), 200);

    let other_path = http
        .post(format!("{endpoint}/other"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(other_path.status().as_u16(), 404);

    // No Authorization header at all.
    let unsigned = http
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.ListTables")
        .body("{}")
        .send()
        .await
        .unwrap();
    let status = unsigned.status().as_u16();
    let body: Value = serde_json::from_slice(&unsigned.bytes().await.unwrap()).unwrap();
    assert_eq!(status, 400);
    assert_eq!(
        body["__type"],
        "com.amazon.coral.service#MissingAuthenticationTokenException"
    );
    assert_eq!(body["message"], "Request is missing Authentication Token");

    assert_still_serves(&mut store).await;
}

/// DYNAMODB.md §1 row 1: a request to `/` with a method other than POST (GET is the
/// health answer, row 0) is not an API call: 404 with DynamoDB's XML body, on the store and
/// on a node, as a POST elsewhere is.
#[tokio::test]
async fn other_methods_on_the_api_path_are_not_api_calls() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let http = reqwest::Client::new();
    for endpoint in [store.endpoint(), proxy.endpoint()] {
        for (method, path) in [
            (reqwest::Method::PUT, "/"),
            (reqwest::Method::DELETE, "/"),
            (reqwest::Method::PATCH, "/"),
            (reqwest::Method::POST, "/other"),
        ] {
            let answer = http
                .request(method.clone(), format!("{endpoint}{path}"))
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amz-target", "DynamoDB_20120810.ListTables")
                .body("{}")
                .send()
                .await
                .unwrap();
            let what = format!("{method} {endpoint}{path}");
            assert_eq!(answer.status().as_u16(), 404, "{what}");
            assert_eq!(
                answer.text().await.unwrap(),
                "<UnknownOperationException/>\n"
            );
        }
    }
}

/// DYNAMODB.md §1 row 1: a body sent as anything but JSON 1.0's or plain JSON's media type
/// (any case, parameters allowed), or as none, is not an API call: 404 with DynamoDB's XML
/// body, on the store and on a node, even for an item the node has cached. An empty body
/// of any type is left to the later checks (row 9: SerializationException).
#[tokio::test]
async fn a_body_of_another_content_type_is_not_an_api_call() {
    let mut store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let table = unique_name("typed");
    create_hash_table(&store.client(), &table).await;
    ok(store
        .client()
        .put_item()
        .table_name(&table)
        .item("pk", s("k"))
        .send()
        .await);
    let cached = proxy
        .client()
        .get_item()
        .table_name(&table)
        .key("pk", s("k"));
    ok(cached.send().await);
    let get = json!({"TableName": table, "Key": {"pk": {"S": "k"}}}).to_string();
    let http = reqwest::Client::new();
    for endpoint in [store.endpoint(), proxy.endpoint()] {
        let post = |content_type: Option<&str>, body: String| {
            let mut request = http
                .post(format!("{endpoint}/"))
                .header("x-amz-target", "DynamoDB_20120810.GetItem")
                .header("x-amz-date", "20250101T000000Z")
                .header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/dynamodb/aws4_request, \
                     SignedHeaders=host, Signature=00",
                )
                .body(body);
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            async move { request.send().await.unwrap() }
        };
        for refused in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/x-amz-json-1.1"),
            None,
        ] {
            let answer = post(refused, get.clone()).await;
            let what = format!("{endpoint} {refused:?}");
            assert_eq!(answer.status().as_u16(), 404, "{what}");
            let media_type = answer.headers().get("content-type").cloned();
            assert_eq!(media_type.unwrap(), "application/xml", "{what}");
            assert_eq!(
                answer.text().await.unwrap(),
                "<UnknownOperationException/>\n"
            );
        }
        for accepted in [
            "application/x-amz-json-1.0",
            "application/json",
            "Application/JSON; charset=utf-8",
        ] {
            let answer = post(Some(accepted), get.clone()).await;
            assert_eq!(answer.status().as_u16(), 200, "{endpoint} {accepted}");
        }
        let empty = post(Some("text/plain"), String::new()).await;
        assert_eq!(empty.status().as_u16(), 400, "{endpoint}: an empty body");
        let body: Value = serde_json::from_slice(&empty.bytes().await.unwrap()).unwrap();
        assert_eq!(
            body["__type"],
            "com.amazon.coral.service#SerializationException"
        );
    }
    assert_still_serves(&mut store).await;
}

#[tokio::test]
async fn wrong_json_types_and_missing_members() {
    let mut store = StoreProcess::spawn();
    let endpoint = store.endpoint();

    // A value of the wrong JSON type is a SerializationException with `Message`, in the
    // words of DynamoDB's serializer, never serde's (no Rust type names).
    for (op, body, message) in [
        (
            "DescribeTable",
            r#"{"TableName": 5}"#,
            "class java.lang.Short can not be converted to an String",
        ),
        (
            "DescribeTable",
            r#"{"TableName": {"a": 1}}"#,
            "Start of structure or map found where not expected.",
        ),
        (
            "ListTables",
            "[1, 2]",
            "Start of list found where not expected",
        ),
        ("ListTables", "[]", "Start of list found where not expected"),
        (
            "DescribeTable",
            r#"{"TableName": true}"#,
            "class java.lang.Boolean can not be converted to an String",
        ),
        (
            "DescribeTable",
            r#"{"TableName": "a", "TableName": "b"}"#,
            "Duplicate field 'TableName'",
        ),
    ] {
        let answer = raw_call(&endpoint, op, body.as_bytes()).await;
        let json = assert_error(
            &answer,
            400,
            "com.amazon.coral.service#SerializationException",
        );
        assert_eq!(json["Message"], message, "{op} {body}");
    }

    let missing = raw_call(&endpoint, "DescribeTable", b"{}").await;
    let body = assert_error(
        &missing,
        400,
        "com.amazon.coral.validate#ValidationException",
    );
    // Either model form names the member: "... at 'tableName' ..." or "The parameter
    // 'TableName' is required but was not present in the request".
    let message = body["message"]
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(message.contains("tablename"), "body: {body}");

    let limit_zero = raw_call(&endpoint, "ListTables", br#"{"Limit": 0}"#).await;
    let body = assert_error(
        &limit_zero,
        400,
        "com.amazon.coral.validate#ValidationException",
    );
    assert_eq!(
        body["message"],
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value \
         greater than or equal to 1"
    );

    assert_still_serves(&mut store).await;
}

#[tokio::test]
async fn invalid_items() {
    let mut store = StoreProcess::spawn();
    let endpoint = store.endpoint();
    let ddb = store.client();
    let table = unique_name("raw");
    create_hash_table(&ddb, &table).await;

    let put = |item: Value| {
        json!({"TableName": table, "Item": item})
            .to_string()
            .into_bytes()
    };

    let empty_value = raw_call(
        &endpoint,
        "PutItem",
        &put(json!({"pk": {"S": "a"}, "x": {}})),
    )
    .await;
    let body = assert_error(
        &empty_value,
        400,
        "com.amazon.coral.validate#ValidationException",
    );
    assert_eq!(
        body["message"],
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
    );

    let two_types = raw_call(
        &endpoint,
        "PutItem",
        &put(json!({"pk": {"S": "a"}, "x": {"S": "s", "N": "1"}})),
    )
    .await;
    let body = assert_error(
        &two_types,
        400,
        "com.amazon.coral.validate#ValidationException",
    );
    assert_eq!(
        body["message"],
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
    );

    let bad_number = raw_call(
        &endpoint,
        "PutItem",
        &put(json!({"pk": {"S": "a"}, "x": {"N": ""}})),
    )
    .await;
    let body = assert_error(
        &bad_number,
        400,
        "com.amazon.coral.validate#ValidationException",
    );
    assert_eq!(
        body["message"],
        "The parameter cannot be converted to a numeric value"
    );

    let bad_base64 = raw_call(
        &endpoint,
        "PutItem",
        &put(json!({"pk": {"S": "a"}, "x": {"B": "!!!"}})),
    )
    .await;
    assert_eq!(bad_base64.status, 400);
    assert_eq!(
        bad_base64.error_name().as_deref(),
        Some("SerializationException")
    );

    // 500 KB of string value: over the 400 KB item limit, well under the 16 MB body limit.
    let oversized = raw_call(
        &endpoint,
        "PutItem",
        &put(json!({"pk": {"S": "a"}, "x": {"S": "z".repeat(500_000)}})),
    )
    .await;
    let body = assert_error(
        &oversized,
        400,
        "com.amazon.coral.validate#ValidationException",
    );
    assert_eq!(
        body["message"],
        "Item size has exceeded the maximum allowed size"
    );

    // 33 levels of nesting: one past DynamoDB's 32.
    let mut nested = json!({"S": "leaf"});
    for _ in 0..33 {
        nested = json!({"L": [nested]});
    }
    let too_deep = raw_call(
        &endpoint,
        "PutItem",
        &put(json!({"pk": {"S": "a"}, "x": nested})),
    )
    .await;
    assert_eq!(too_deep.status, 400);
    assert_eq!(
        too_deep.error_name().as_deref(),
        Some("ValidationException")
    );

    // Nothing above was stored.
    let got = ok(ddb
        .get_item()
        .table_name(&table)
        .key("pk", s("a"))
        .send()
        .await);
    assert!(
        got.item().is_none(),
        "a rejected item was stored: {:?}",
        got.item()
    );
    assert_still_serves(&mut store).await;
}

/// Input built to hurt a parser: deep JSON nesting (stack), a huge body, a huge expression.
/// Each must be answered with a 4xx, and the process must survive.
#[tokio::test]
async fn hostile_input_does_not_crash() {
    let mut store = StoreProcess::spawn();
    let endpoint = store.endpoint();
    let ddb = store.client();
    let table = unique_name("hostile");
    create_hash_table(&ddb, &table).await;

    // 100,000 nested arrays would overflow a naive recursive decoder's stack.
    let depth = 100_000;
    let mut deep = String::with_capacity(depth * 2 + 64);
    deep.push_str(&format!(
        r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"a"}},"x":"#
    ));
    deep.push_str(&"[".repeat(depth));
    deep.push_str(&"]".repeat(depth));
    deep.push_str("}}");
    let response = raw_call(&endpoint, "PutItem", deep.as_bytes()).await;
    assert!(
        (400..500).contains(&response.status),
        "deep JSON: status {}",
        response.status
    );

    let mut nested_value = String::new();
    for _ in 0..10_000 {
        nested_value.push_str(r#"{"L":["#);
    }
    nested_value.push_str(r#"{"S":"x"}"#);
    nested_value.push_str(&"]}".repeat(10_000));
    let body =
        format!(r#"{{"TableName":"{table}","Item":{{"pk":{{"S":"a"}},"x":{nested_value}}}}}"#);
    let response = raw_call(&endpoint, "PutItem", body.as_bytes()).await;
    assert!(
        (400..500).contains(&response.status),
        "deep AttributeValue: status {}",
        response.status
    );

    // A deeply parenthesised condition must hit a depth limit, not the stack.
    let condition = format!(
        "{}attribute_exists(pk){}",
        "(".repeat(20_000),
        ")".repeat(20_000)
    );
    let result = ddb
        .put_item()
        .table_name(&table)
        .item("pk", s("b"))
        .condition_expression(condition)
        .send()
        .await;
    assert_api_error(result, "ValidationException", None);

    // Over 16 MB: 413 (DynamoDB) or a 4xx; the server may also close the connection before
    // reading it all, which the client sees as an error. Never a crash.
    let huge = vec![b' '; 17 * 1024 * 1024];
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.ListTables")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
        .body(huge)
        .send()
        .await;
    if let Ok(response) = response {
        let status = response.status().as_u16();
        assert!((400..500).contains(&status), "huge body: status {status}");
    }

    assert_still_serves(&mut store).await;
}

/// A store at `--max-in-flight` refuses the next API call with ThrottlingException before
/// reading its body, and serves again once a call ends; health and metrics are never
/// refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_at_its_in_flight_limit_sheds_calls_until_one_ends() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--max-in-flight".into(), "1".into()],
        ..Default::default()
    });
    assert_sheds_calls_past_one_in_flight(
        &store.endpoint(),
        "store_shed_requests_total",
        "store_in_flight_requests",
    )
    .await;
}

/// A client that stops sending mid-body is answered 408 at `--body-read-timeout` and no
/// longer holds one of the store's `--max-in-flight` places.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gives_back_its_place_at_the_store() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: ["--max-in-flight", "1", "--body-read-timeout", "1"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    });
    assert_stalled_body_gives_back_its_place(&store.endpoint()).await;
}

/// The store probes idle connections, so a crashed client's half-open one is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_probes_idle_connections() {
    let store = StoreProcess::spawn();
    assert_idle_connections_are_probed(&store.endpoint()).await;
}

/// The status line a server answers a ListTables call with, when the call is `framing`
/// (body headers, the blank line, the body bytes) after the other headers, on a fresh
/// connection.
async fn status_of_framed_call(endpoint: &str, framing: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {address}\r\nx-amz-target: DynamoDB_20120810.ListTables\r\n\
         content-type: application/x-amz-json-1.0\r\n\
         authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00\r\n\
         {framing}"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(30), stream.read(&mut answer))
        .await
        .expect("no answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    answer.lines().next().unwrap_or_default().to_string()
}

/// A body whose framing is broken (a chunk size that is not hex, chunked framing over a
/// body that is not chunked) is a bad request, 400, from the store and a proxy node alike,
/// not 413 (which only a body over DynamoDB's 16 MB gets); good chunked framing is served.
#[tokio::test]
async fn broken_body_framing_is_400() {
    let mut store = StoreProcess::spawn();
    let node = ProxyProcess::spawn(&store);
    for endpoint in [store.endpoint(), node.endpoint()] {
        for framing in [
            "transfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
            "content-length: 2\r\ntransfer-encoding: chunked\r\n\r\n{}",
        ] {
            assert_eq!(
                status_of_framed_call(&endpoint, framing).await,
                "HTTP/1.1 400 Bad Request",
                "{endpoint} {framing:?}"
            );
        }
        assert_eq!(
            status_of_framed_call(
                &endpoint,
                "transfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
            )
            .await,
            "HTTP/1.1 200 OK",
            "{endpoint}"
        );
    }
    assert_still_serves(&mut store).await;
}
