//! SigV4 verification with `--credentials-file`, on the store and on proxy nodes: requests
//! signed by the AWS SDK (and by the harness's own signer) with a configured key pass;
//! an unknown key, a wrong secret, a tampered body or a stale signature get DynamoDB's errors;
//! a node checks its clients itself, cached answers included, and its own calls to the
//! store and to the primary pass on the cluster secret. A session token must be the one
//! its key's line gives, or absent for a key without one. Without keys, a signature is
//! taken unchecked, but only if well-formed. A rewritten credentials file is reloaded.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use integration_tests::aws_sdk_dynamodb::error::ProvideErrorMetadata;
use integration_tests::aws_sdk_dynamodb::Client;
use integration_tests::*;

/// A credentials file with the harness's key and one more.
fn keys_file() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        format!("# test keys\n{ACCESS_KEY_ID} {SECRET_ACCESS_KEY}\nAKIDSECOND second-secret\n"),
    )
    .unwrap();
    file
}

async fn put_and_get(client: &Client, table: &str) -> Option<String> {
    ok(client
        .put_item()
        .table_name(table)
        .item("pk", s("k"))
        .item("v", s("signed"))
        .send()
        .await);
    read_v(client, table)
        .await
        .unwrap_or_else(|code| panic!("GetItem failed: {code:?}"))
}

/// Item `k`'s `v` as `client` reads it, or the code of the error it gets.
async fn read_v(client: &Client, table: &str) -> Result<Option<String>, Option<String>> {
    let got = client
        .get_item()
        .table_name(table)
        .key("pk", s("k"))
        .send()
        .await
        .map_err(|e| e.code().map(str::to_string))?;
    Ok(got
        .item()
        .and_then(|i| i.get("v"))
        .and_then(|v| v.as_s().ok())
        .cloned())
}

/// The flags of a store or node with the cluster secret of [`checking_signatures`] but no
/// keys: it checks no signatures.
fn keyless() -> Vec<String> {
    vec![
        "--cluster-secret".to_string(),
        KEYED_CLUSTER_SECRET.to_string(),
    ]
}

async fn assert_refused(client: &Client, table: &str, code: &str) {
    let result = client
        .get_item()
        .table_name(table)
        .key("pk", s("k"))
        .send()
        .await;
    assert_api_error(result, code, None);
}

/// A dax-proxy node of `store`'s cluster without `--credentials-file`: it checks no
/// signatures.
fn keyless_node(store: &StoreProcess) -> ProxyProcess {
    ProxyProcess::spawn_with(
        &store.endpoint(),
        &["--cluster-secret", KEYED_CLUSTER_SECRET],
        &[],
    )
}

/// A new table of `store` (name from `prefix`) with an item written and read back through
/// `client`.
async fn table_with_item(store: &StoreProcess, client: &Client, prefix: &str) -> String {
    let table = unique_name(prefix);
    create_hash_table(&store.client(), &table).await;
    assert_eq!(put_and_get(client, &table).await.as_deref(), Some("signed"));
    table
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_verifies_signatures_against_its_keys() {
    let keys = keys_file();
    let store = StoreProcess::spawn_with(StoreOptions {
        args: checking_signatures(keys.path()),
        ..Default::default()
    });
    let endpoint = store.endpoint();
    let table = table_with_item(&store, &store.client(), "auth").await;
    // The second key works as well; the harness's own signer agrees with the SDK's.
    let second = client_with_credentials(&endpoint, "AKIDSECOND", "second-secret");
    ok(second.list_tables().send().await);
    let raw = raw_call(&endpoint, "ListTables", b"{}").await;
    assert_eq!(raw.status, 200, "{:?}", raw.json());

    let unknown = client_with_credentials(&endpoint, "AKIDUNKNOWN", "x");
    assert_refused(&unknown, &table, "UnrecognizedClientException").await;
    let wrong_secret = client_with_credentials(&endpoint, ACCESS_KEY_ID, "not-the-secret");
    assert_refused(&wrong_secret, &table, "InvalidSignatureException").await;

    // A signature over other bytes than those sent.
    let body = format!(r#"{{"TableName":"{table}","Key":{{"pk":{{"S":"k"}}}}}}"#);
    let mut tampered = raw_call_headers(&endpoint, "GetItem", body.as_bytes());
    tampered.body = body.replace("\"k\"", "\"x\"").into_bytes();
    let answer = tampered.send().await;
    assert_eq!(
        answer.error_name().as_deref(),
        Some("InvalidSignatureException")
    );
    // A signature made 20 minutes ago.
    let mut stale = raw_call_headers(&endpoint, "ListTables", b"{}");
    stale.resign_at(std::time::SystemTime::now() - Duration::from_secs(20 * 60));
    let answer = stale.send().await;
    assert_eq!(
        answer.error_name().as_deref(),
        Some("InvalidSignatureException")
    );
    assert!(
        answer
            .error_message()
            .unwrap_or_default()
            .starts_with("Signature expired: "),
        "{:?}",
        answer.error_message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_nodes_verify_their_clients_and_are_trusted_by_the_store() {
    let keys = keys_file();
    let store = StoreProcess::spawn_with(StoreOptions {
        args: checking_signatures(keys.path()),
        ..Default::default()
    });
    let mut flags = checking_signatures(keys.path());
    flags.extend(["--lease-ttl".to_string(), "1s".to_string()]);
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let nodes = [
        ProxyProcess::spawn_with(&store.endpoint(), &args, &[]),
        ProxyProcess::spawn_with(&store.endpoint(), &args, &[]),
    ];
    let table = unique_name("authproxy");
    create_hash_table(&nodes[0].client(), &table).await;
    // Writes through either node (one of them forwards to the primary), reads from both.
    for node in &nodes {
        assert_eq!(
            put_and_get(&node.client(), &table).await.as_deref(),
            Some("signed")
        );
    }
    for node in &nodes {
        let endpoint = node.endpoint();
        // The item is cached now: a hit must be refused just the same.
        let wrong_secret = client_with_credentials(&endpoint, ACCESS_KEY_ID, "not-the-secret");
        assert_refused(&wrong_secret, &table, "InvalidSignatureException").await;
        let unknown = client_with_credentials(&endpoint, "AKIDUNKNOWN", "x");
        assert_refused(&unknown, &table, "UnrecognizedClientException").await;
    }
}

/// A node started without `--credentials-file` in front of a store that checks
/// signatures checks nothing, and the store used to trust what it relayed for its cluster
/// secret: anyone could read, write and delete through it. The store refuses what such a
/// node relays, and the node, told so, answers no one, from its cache neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_checks_no_signatures_is_not_trusted_by_a_store_that_does() {
    let keys = keys_file();
    let store = StoreProcess::spawn_with(StoreOptions {
        args: checking_signatures(keys.path()),
        ..Default::default()
    });
    let table = table_with_item(&store, &store.client(), "authopen").await;
    // The node shares the store's cluster secret, but has no credentials file.
    let node = keyless_node(&store);
    let unknown = client_with_credentials(&node.endpoint(), "AKIDUNKNOWN", "x");
    for _ in 0..2 {
        assert_refused(&unknown, &table, "AccessDeniedException").await;
    }
    let deleted = unknown.delete_table().table_name(&table).send().await;
    assert_api_error(deleted, "AccessDeniedException", None);
    assert_eq!(
        put_and_get(&store.client(), &table).await.as_deref(),
        Some("signed")
    );
}

/// A node without keys, once its store has refused a call it relayed for that, refuses
/// every call itself, cache hits included: a store restarted with a credentials file would
/// otherwise have its items served to anyone from the node's cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_told_its_store_checks_signatures_serves_its_cache_to_no_one() {
    let keys = keys_file();
    let mut store = StoreProcess::spawn_with(StoreOptions {
        args: keyless(),
        ..Default::default()
    });
    let node = keyless_node(&store);
    // Cached by the node while the store checks no signatures.
    let table = table_with_item(&store, &node.client(), "authtold").await;
    store.restart_in_place_with(checking_signatures(keys.path()));
    let unknown = client_with_credentials(&node.endpoint(), "AKIDUNKNOWN", "x");
    // A miss reaches the store, which refuses it and tells the node.
    let missed = unknown
        .get_item()
        .table_name(&table)
        .key("pk", s("not-cached"))
        .send()
        .await;
    assert_api_error(missed, "AccessDeniedException", None);
    assert_refused(&unknown, &table, "AccessDeniedException").await;
}

/// A node without keys learns that its store checks signatures from its reads of the change
/// feed, which never stop: a store restarted with a credentials file has the items the node
/// cached refused to anyone within a moment, with no cache miss to tell the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_keys_learns_from_the_feed_that_its_store_checks_signatures() {
    let keys = keys_file();
    let mut store = StoreProcess::spawn_with(StoreOptions {
        args: keyless(),
        ..Default::default()
    });
    let node = keyless_node(&store);
    let client = node.client();
    let table = table_with_item(&store, &client, "authfeed").await;
    let endpoint = node.endpoint();
    let cached = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async {
            assert_eq!(read_v(&client, &table).await, Ok(Some("signed".into())));
            metric(&endpoint, "dax_item_cache_hits_total").await >= 1.0
        },
    )
    .await;
    assert!(cached, "the item was never served from the node's cache");
    let misses = metric(&endpoint, "dax_item_cache_misses_total").await;

    store.restart_in_place_with(checking_signatures(keys.path()));
    let unknown = client_with_credentials(&node.endpoint(), "AKIDUNKNOWN", "x");
    let refused = wait_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        || async { read_v(&unknown, &table).await == Err(Some("AccessDeniedException".into())) },
    )
    .await;
    assert!(
        refused,
        "the node kept serving its cache to a key its store does not know"
    );
    assert_eq!(
        metric(&endpoint, "dax_item_cache_misses_total").await,
        misses,
        "the node was told by a miss, not by the feed"
    );
}

/// A node without keys that refused every call for its store's keys answers again, without
/// a restart of its own, once the store is restarted without them: the store's change feed
/// says it checks no signatures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_without_keys_serves_again_once_its_store_checks_no_signatures() {
    let keys = keys_file();
    let mut store = StoreProcess::spawn_with(StoreOptions {
        args: checking_signatures(keys.path()),
        ..Default::default()
    });
    let table = table_with_item(&store, &store.client(), "authdropped").await;
    let node = keyless_node(&store);
    let unknown = client_with_credentials(&node.endpoint(), "AKIDUNKNOWN", "x");
    assert_refused(&unknown, &table, "AccessDeniedException").await;

    store.restart_in_place_with(keyless());
    let served = wait_until(
        Duration::from_secs(5),
        Duration::from_millis(50),
        || async { read_v(&unknown, &table).await == Ok(Some("signed".into())) },
    )
    .await;
    assert!(served, "the node still refuses what its store now takes");
}

/// A temporary key's session token, as its credentials-file line gives it.
const SESSION_TOKEN: &str = "FwoGZXIvYXdzEXAMPLE/token+with=base64==";

/// A key with a session token is taken only with that token, and a key without one with
/// none: anything else is DynamoDB's answer to an invalid token, from the store and from a
/// proxy node alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_tokens_must_be_the_keys_own() {
    let keys = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        keys.path(),
        format!("{ACCESS_KEY_ID} {SECRET_ACCESS_KEY}\nASIATEMPORARY temp-secret session-token={SESSION_TOKEN}\n"),
    )
    .unwrap();
    let store = StoreProcess::spawn_with(StoreOptions {
        args: checking_signatures(keys.path()),
        ..Default::default()
    });
    let flags = checking_signatures(keys.path());
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let node = ProxyProcess::spawn_with(&store.endpoint(), &args, &[]);
    let invalid = Some("The security token included in the request is invalid.");
    for endpoint in [store.endpoint(), node.endpoint()] {
        let temporary =
            |token| client_with_session_token(&endpoint, "ASIATEMPORARY", "temp-secret", token);
        ok(temporary(Some(SESSION_TOKEN)).list_tables().send().await);
        for token in [None, Some("not-the-token")] {
            let result = temporary(token).list_tables().send().await;
            assert_api_error(result, "UnrecognizedClientException", invalid);
        }
        let long_term =
            |token| client_with_session_token(&endpoint, ACCESS_KEY_ID, SECRET_ACCESS_KEY, token);
        ok(long_term(None).list_tables().send().await);
        let result = long_term(Some("any-token")).list_tables().send().await;
        assert_api_error(result, "UnrecognizedClientException", invalid);
    }
}

/// A daemon told to check signatures refuses to start with the published cluster secret,
/// which would let any caller that sends it past the check (exit status 2, a usage error).
#[test]
fn daemons_checking_signatures_refuse_the_published_cluster_secret() {
    let keys = keys_file();
    let store = "http://127.0.0.1:9";
    for (name, var, flags) in [
        ("store", "STORE_BIN", vec!["--in-memory"]),
        ("dax-proxy", "DAX_PROXY_BIN", vec!["--store", store]),
    ] {
        let output = std::process::Command::new(binary_path(name, var))
            .args(["--listen", "127.0.0.1:0", "--credentials-file"])
            .arg(keys.path())
            .args(flags)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--cluster-secret"), "{name}: {stderr}");
    }
}

/// A credentials file that gives one access key id twice is refused at start (exit status
/// 2), naming the key id and both lines, rather than letting the last line win.
#[test]
fn daemons_refuse_a_credentials_file_giving_a_key_twice() {
    let keys = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        keys.path(),
        "AKIDTWICE first-secret\nAKIDOTHER other-secret\nAKIDTWICE second-secret\n",
    )
    .unwrap();
    for (name, var, flags) in [
        ("store", "STORE_BIN", vec!["--in-memory"]),
        (
            "dax-proxy",
            "DAX_PROXY_BIN",
            vec!["--store", "http://127.0.0.1:9"],
        ),
    ] {
        let mut child = std::process::Command::new(binary_path(name, var))
            .args(["--listen", "127.0.0.1:0"])
            .args(checking_signatures(keys.path()))
            .args(flags)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.and_then(|s| s.code()), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains("line 3: access key id AKIDTWICE is already given on line 1"),
            "{name}: {stderr}"
        );
    }
}

/// Whether a ListTables call signed with this key passes (`Some(true)`) or is refused as
/// an unknown key (`Some(false)`); `None` for any other answer.
async fn key_accepted(endpoint: &str, access_key: &str, secret: &str) -> Option<bool> {
    let client = client_with_credentials(endpoint, access_key, secret);
    match client.list_tables().send().await {
        Ok(_) => Some(true),
        Err(e) if e.code() == Some("UnrecognizedClientException") => Some(false),
        Err(_) => None,
    }
}

/// Keys rotate without a restart: the store and a proxy node pick up a rewritten
/// credentials file, taking the new key and refusing the old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_credentials_file_is_reloaded() {
    let keys = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(keys.path(), "AKIDOLDKEY old-secret\n").unwrap();
    let store = StoreProcess::spawn_with(StoreOptions {
        args: checking_signatures(keys.path()),
        ..Default::default()
    });
    let flags = checking_signatures(keys.path());
    let args: Vec<&str> = flags.iter().map(String::as_str).collect();
    let node = ProxyProcess::spawn_with(&store.endpoint(), &args, &[]);
    let endpoints = [store.endpoint(), node.endpoint()];
    for endpoint in &endpoints {
        assert_eq!(
            key_accepted(endpoint, "AKIDOLDKEY", "old-secret").await,
            Some(true)
        );
        assert_eq!(
            key_accepted(endpoint, "AKIDNEWKEY", "new-secret").await,
            Some(false)
        );
    }

    std::fs::write(keys.path(), "# rotated\nAKIDNEWKEY new-secret\n").unwrap();
    for endpoint in &endpoints {
        let rotated = wait_until(
            Duration::from_secs(15),
            Duration::from_millis(50),
            || async {
                key_accepted(endpoint, "AKIDNEWKEY", "new-secret").await == Some(true)
                    && key_accepted(endpoint, "AKIDOLDKEY", "old-secret").await == Some(false)
            },
        )
        .await;
        assert!(rotated, "{endpoint} still has the old keys after 15 s");
    }
}

/// A ListTables call with `authorization` as its only signing header: (status, `__type`).
async fn list_tables_signed_as(endpoint: &str, authorization: &str) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(format!("{endpoint}/"))
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", "DynamoDB_20120810.ListTables")
        .header("authorization", authorization)
        .body("{}")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    let kind = body["__type"].as_str().unwrap_or_default();
    (
        status,
        kind.rsplit('#').next().unwrap_or_default().to_string(),
    )
}

/// Without `--credentials-file` any signature is accepted, but an `Authorization` header
/// that names no Credential, SignedHeaders or Signature is not one: DynamoDB's
/// IncompleteSignatureException, from the store and from a proxy node alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_keys_a_signature_must_still_be_well_formed() {
    let store = StoreProcess::spawn();
    let node = ProxyProcess::spawn(&store);
    for endpoint in [store.endpoint(), node.endpoint()] {
        assert_eq!(
            list_tables_signed_as(&endpoint, "AWS4-HMAC-SHA256 ").await,
            (400, "IncompleteSignatureException".to_string()),
            "{endpoint}"
        );
        assert_eq!(
            list_tables_signed_as(&endpoint, "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, Signature=00").await,
            (400, "IncompleteSignatureException".to_string()),
            "{endpoint}"
        );
        let unchecked = "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00";
        assert_eq!(
            list_tables_signed_as(&endpoint, unchecked).await.0,
            200,
            "{endpoint}"
        );
    }
}

/// The change feed is the cluster's: without its secret a caller is refused before its
/// query is read, so a malformed query does not tell it what the parameters are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_change_feed_checks_the_cluster_secret_before_its_query() {
    let store = StoreProcess::spawn();
    let http = reqwest::Client::new();
    let feed = |query: &str, secret: &str| {
        http.get(format!("{}/internal/changes?{query}", store.endpoint()))
            .header("x-dax-cluster-secret", secret)
            .send()
    };
    for query in ["after=0", "after=minus-one", "elided=maybe"] {
        let refused = feed(query, "not-the-secret").await.unwrap();
        assert_eq!(refused.status(), 403, "{query}");
        assert_eq!(refused.text().await.unwrap(), "bad cluster secret");
    }
    let malformed = feed("elided=maybe", CLUSTER_SECRET).await.unwrap();
    assert_eq!(malformed.status(), 400);
    let page = feed("after=0&limit=1", CLUSTER_SECRET).await.unwrap();
    assert_eq!(page.status(), 200);
}
