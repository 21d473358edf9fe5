//! Connections that hold a server without sending a request: a head that never finishes
//! arriving (slowloris) is closed at `--header-read-timeout`, an idle keep-alive connection
//! at `--keep-alive-timeout`, on HTTP/1.1 and HTTP/2 with prior knowledge, on the store and
//! on dax-proxy; heads that arrive in time are answered, and SIGTERM closes idle
//! connections at once (`shared::wire::conn_deadlines`, `shared::wire::serve`). A client
//! that shuts its sending side once its request is sent is still answered. A call whose
//! declared length is over the body limit is refused before its body is read.

// Test code: a failed expectation panics the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use integration_tests::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for the server to close a connection: well past the 1 s
/// timeouts the tests set, well short of the defaults (30 s and 120 s). When exactly a
/// deadline closes a connection is checked under a paused clock by
/// `shared::wire::serve`'s unit tests, not here on a loaded machine.
const CLOSE_BOUND: Duration = Duration::from_secs(20);

/// The HTTP/2 connection preface and an empty SETTINGS frame.
const H2_PREFACE_AND_SETTINGS: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";

fn store_with(args: &[&str]) -> StoreProcess {
    StoreProcess::spawn_with(StoreOptions {
        args: args.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    })
}

async fn connect(endpoint: &str) -> TcpStream {
    TcpStream::connect(endpoint.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Sends `GET /health` on `stream` (keep-alive) and checks the answer.
async fn assert_health_answered(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .expect("write");
    assert_answered(stream).await;
}

/// Reads an HTTP/1.1 200 answer (a small one: a single read) from `stream`.
async fn assert_answered(stream: &mut TcpStream) {
    let mut answer = [0u8; 1024];
    let n = tokio::time::timeout(CLOSE_BOUND, stream.read(&mut answer))
        .await
        .expect("an answer")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// The server closes `stream` (end of file or reset) within [`CLOSE_BOUND`]; whatever it
/// sends before that (an HTTP/2 GOAWAY) is read and dropped.
async fn assert_closed(stream: &mut (impl AsyncRead + Unpin), what: &str) {
    let closed = tokio::time::timeout(CLOSE_BOUND, async {
        let mut buffer = [0u8; 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "{what}: still open after {CLOSE_BOUND:?}");
}

/// With a 1 s header read timeout and a long keep-alive timeout: a connection that sends
/// nothing, one that stops mid-head, and one that drips a later head after an answered
/// request (its first byte starts the header deadline, not the long idle one) are closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_closes_heads_that_do_not_arrive_in_time() {
    let store = store_with(&["--header-read-timeout", "1", "--keep-alive-timeout", "600"]);
    let endpoint = store.endpoint();

    let mut silent = connect(&endpoint).await;
    let mut partial = connect(&endpoint).await;
    partial
        .write_all(b"GET /health HTTP/1.1\r\nhost: test\r\n")
        .await
        .expect("write");
    let mut dripping = connect(&endpoint).await;
    assert_health_answered(&mut dripping).await;
    let drip = tokio::spawn(async move {
        for byte in b"GET /health HTTP/1.1\r\nhost: test\r\nx-slow: " {
            if dripping.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        loop {
            if dripping.write_all(b"x").await.is_err() {
                return dripping;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    assert_closed(&mut silent, "a connection that sent nothing").await;
    assert_closed(&mut partial, "a connection that stopped mid-head").await;
    let mut dripping = tokio::time::timeout(CLOSE_BOUND, drip)
        .await
        .expect("a dripped head still accepted after the bound")
        .expect("the dripping task");
    assert_closed(&mut dripping, "a dripped head").await;

    // The store still serves.
    let mut fresh = connect(&endpoint).await;
    assert_health_answered(&mut fresh).await;
}

/// With a 1 s keep-alive timeout and a long header read timeout, a connection idle after
/// an answered request is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_closes_idle_keep_alive_connections() {
    let store = store_with(&["--header-read-timeout", "600", "--keep-alive-timeout", "1"]);
    let mut idle = connect(&store.endpoint()).await;
    assert_health_answered(&mut idle).await;
    assert_closed(&mut idle, "an idle keep-alive connection").await;
}

/// A head sent in pieces over a fraction of the header read timeout is answered, and so is
/// a second request on the same connection after a pause shorter than the keep-alive
/// timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_answers_heads_that_arrive_in_time() {
    let store = store_with(&["--header-read-timeout", "10", "--keep-alive-timeout", "10"]);
    let mut stream = connect(&store.endpoint()).await;
    for piece in [
        &b"GET /hea"[..],
        b"lth HTTP/1.1\r\n",
        b"host: test\r\n",
        b"\r\n",
    ] {
        stream.write_all(piece).await.expect("write");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_answered(&mut stream).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_health_answered(&mut stream).await;
    // An API call through the SDK, whose pooled connection is kept alive.
    let client = store.client();
    ok(client.list_tables().send().await);
    ok(client.list_tables().send().await);
}

/// HTTP/2 with prior knowledge is served (the server answers the preface with its
/// SETTINGS), and an HTTP/2 connection that then sends nothing is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_serves_http2_and_closes_idle_http2_connections() {
    let store = store_with(&["--header-read-timeout", "1", "--keep-alive-timeout", "1"]);
    let mut stream = connect(&store.endpoint()).await;
    stream
        .write_all(H2_PREFACE_AND_SETTINGS)
        .await
        .expect("write");
    let mut frame_header = [0u8; 9];
    tokio::time::timeout(CLOSE_BOUND, stream.read_exact(&mut frame_header))
        .await
        .expect("an HTTP/2 answer")
        .expect("read");
    assert_eq!(frame_header[3], 0x4, "a SETTINGS frame: {frame_header:?}");
    assert_closed(&mut stream, "an idle HTTP/2 connection").await;
}

/// An HTTP/2 connection that keeps sending frames (PINGs, a byte at a time) but never a
/// request is closed at the header read timeout, however long the keep-alive timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_closes_http2_connections_that_drip_without_a_request() {
    let store = store_with(&["--header-read-timeout", "1", "--keep-alive-timeout", "600"]);
    let mut stream = connect(&store.endpoint()).await;
    stream
        .write_all(H2_PREFACE_AND_SETTINGS)
        .await
        .expect("write");
    let (mut reading, mut writing) = stream.into_split();
    let drip = tokio::spawn(async move {
        // PING frames: length 8, type 6, no flags, stream 0, eight bytes of payload.
        let ping = b"\0\0\x08\x06\0\0\0\0\0\0\0\0\0\0\0\0\0";
        loop {
            for byte in ping {
                if writing.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    assert_closed(&mut reading, "an HTTP/2 connection without a request").await;
    drip.abort();
}

/// `GET /health` on HTTP/2 stream `stream`: a HEADERS frame (END_STREAM, END_HEADERS)
/// whose HPACK block names `:method GET`, `:scheme http` and `:path /health`.
fn h2_health_request(stream: u8) -> Vec<u8> {
    let block = b"\x82\x86\x04\x07/health";
    let mut frame = vec![0, 0, block.len() as u8, 0x1, 0x5, 0, 0, 0, stream];
    frame.extend_from_slice(block);
    frame
}

/// Reads frames from `stream` until the HEADERS answering `stream_id`, and checks that
/// its status is 200 (HPACK's static entry 8).
async fn assert_h2_answered(stream: &mut (impl AsyncRead + Unpin), stream_id: u8) {
    let answered = tokio::time::timeout(CLOSE_BOUND, async {
        loop {
            let mut header = [0u8; 9];
            stream.read_exact(&mut header).await.expect("a frame");
            let length = usize::from(header[0]) << 16 | usize::from(header[1]) << 8;
            let mut payload = vec![0u8; length | usize::from(header[2])];
            stream.read_exact(&mut payload).await.expect("its payload");
            if header[3] == 0x1 && header[8] == stream_id {
                return payload.first().copied();
            }
        }
    })
    .await
    .expect("an HTTP/2 answer");
    assert_eq!(answered, Some(0x88), "status 200");
}

/// After an HTTP/2 connection's first request, frames of no stream (a client's keepalive
/// PINGs) do not begin a request head: the connection stays open past the header read
/// timeout, bounded by the keep-alive timeout, and answers its next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_http2_connection_pinging_between_requests_stays_open() {
    let store = store_with(&["--header-read-timeout", "1", "--keep-alive-timeout", "600"]);
    let mut stream = connect(&store.endpoint()).await;
    stream
        .write_all(H2_PREFACE_AND_SETTINGS)
        .await
        .expect("write");
    stream
        .write_all(&h2_health_request(1))
        .await
        .expect("write");
    assert_h2_answered(&mut stream, 1).await;
    let (mut reading, mut writing) = stream.into_split();
    let ping = b"\0\0\x08\x06\0\0\0\0\0\0\0\0\0\0\0\0\0";
    let pinging = tokio::spawn(async move {
        // Three header read timeouts of PINGs, one every 200 ms.
        for _ in 0..15 {
            writing.write_all(ping).await.expect("a PING");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        writing
            .write_all(&h2_health_request(3))
            .await
            .expect("write");
        writing
    });
    assert_h2_answered(&mut reading, 3).await;
    drop(pinging.await.expect("the pinging task"));
}

/// SIGTERM closes idle connections rather than waiting for them: an idle HTTP/1.1
/// keep-alive connection, and an HTTP/2 one whose peer never acknowledges the shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_does_not_wait_for_idle_connections() {
    let mut store = store_with(&["--header-read-timeout", "1"]);
    let mut http1 = connect(&store.endpoint()).await;
    assert_health_answered(&mut http1).await;
    let mut http2 = connect(&store.endpoint()).await;
    http2
        .write_all(H2_PREFACE_AND_SETTINGS)
        .await
        .expect("write");
    let mut frame_header = [0u8; 9];
    http2.read_exact(&mut frame_header).await.expect("read");
    // Panics if the store takes more than 15 s to exit.
    let status = tokio::task::block_in_place(|| store.terminate());
    assert!(status.success(), "{status}");
}

/// SIGTERM does not wait `--header-read-timeout` (30 s by default, Kubernetes' whole grace
/// period) for a client that sent half a request head: it has no request to answer, and is
/// given a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_half_a_head_go_within_a_second_or_two() {
    let mut store = StoreProcess::spawn();
    let mut partial = connect(&store.endpoint()).await;
    partial
        .write_all(b"POST / HTTP/1.1\r\nhost: test\r\n")
        .await
        .expect("write");
    assert_health_answered(&mut connect(&store.endpoint()).await).await;
    let asked = std::time::Instant::now();
    let status = tokio::task::block_in_place(|| store.terminate());
    assert!(status.success(), "{status}");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
}

/// dax-proxy closes a connection that stops mid-head and an idle keep-alive connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_closes_slow_heads_and_idle_connections() {
    let store = StoreProcess::spawn();
    let args = ["--header-read-timeout", "1s", "--keep-alive-timeout", "1s"];
    let proxy = ProxyProcess::spawn_with(&store.endpoint(), &args, &[]);
    let endpoint = proxy.endpoint();
    let mut partial = connect(&endpoint).await;
    partial
        .write_all(b"GET /health HTTP/1.1\r\nhost: test\r\n")
        .await
        .expect("write");
    let mut idle = connect(&endpoint).await;
    assert_health_answered(&mut idle).await;
    assert_closed(&mut partial, "a connection that stopped mid-head").await;
    assert_closed(&mut idle, "an idle keep-alive connection").await;
    ok(proxy.client().list_tables().send().await);
}

/// A client may shut its sending side once its request is sent (RFC 9112 §9.6): its write
/// is applied and answered, on the store and through a node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_closed_client_gets_its_answer() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let table = unique_name("half-closed");
    create_hash_table(&store.client(), &table).await;
    for (via, endpoint) in [("store", store.endpoint()), ("node", proxy.endpoint())] {
        let put = serde_json::json!({"TableName": table, "Item": {"pk": {"S": via}}});
        let answer = raw_call_headers(&endpoint, "PutItem", put.to_string().as_bytes())
            .with_header("connection", "close")
            .send_and_half_close()
            .await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{via}: {answer:?}");
        let read = store
            .client()
            .get_item()
            .table_name(&table)
            .key("pk", s(via))
            .consistent_read(true)
            .send()
            .await;
        assert!(
            ok(read).item().is_some(),
            "{via}: the write was not applied"
        );
    }
}

/// A call declaring a body over the 16 MiB limit is answered 413 with an empty body at
/// once, on the store and on a node, and its connection closed (the unread body cannot
/// be skipped): with `Expect: 100-continue` no `100 Continue` invites the upload, and
/// without it a short body is not waited for until the body read timeout (60 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_declared_over_the_limit_is_refused_before_it_is_read() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    for endpoint in [store.endpoint(), proxy.endpoint()] {
        for expect in ["expect: 100-continue\r\n", ""] {
            let mut stream = connect(&endpoint).await;
            let head = format!(
                "POST / HTTP/1.1\r\nhost: test\r\n\
                 x-amz-target: DynamoDB_20120810.PutItem\r\n\
                 content-type: application/x-amz-json-1.0\r\n\
                 authorization: AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/dynamodb/\
                 aws4_request, SignedHeaders=host, Signature=00\r\n\
                 x-amz-date: 20250101T000000Z\r\n\
                 {expect}content-length: {}\r\n\r\n{{}}",
                17 * 1024 * 1024
            );
            stream.write_all(head.as_bytes()).await.expect("write");
            let mut answer = Vec::new();
            let read = tokio::time::timeout(CLOSE_BOUND, stream.read_to_end(&mut answer)).await;
            let what = format!("{endpoint} {expect:?}");
            read.unwrap_or_else(|_| panic!("{what}: not answered and closed in time"))
                .expect("read");
            let answer = String::from_utf8_lossy(&answer).to_lowercase();
            assert!(answer.starts_with("http/1.1 413"), "{what}: {answer}");
            assert!(answer.contains("connection: close\r\n"), "{what}: {answer}");
            assert!(answer.ends_with("\r\n\r\n"), "{what}: a body: {answer}");
        }
    }
    ok(store.client().list_tables().send().await);
    ok(proxy.client().list_tables().send().await);
}

/// `GET path` on the keep-alive connection `stream`: the answer's body (the servers send a
/// content-length).
async fn get_body(stream: &mut TcpStream, path: &str) -> String {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: test\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        let read = tokio::time::timeout(CLOSE_BOUND, stream.read(&mut buffer))
            .await
            .expect("an answer")
            .expect("read");
        assert!(read > 0, "closed mid-answer");
        answer.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    let line = line.to_ascii_lowercase();
                    line.strip_prefix("content-length:")
                        .map(|length| length.trim().parse::<usize>().expect("a length"))
                })
                .expect("a content-length");
            if body.len() >= length {
                return body.to_string();
            }
        }
    }
}

/// Under an open file limit of 64 (soft and hard), twice as many idle connections as the
/// limit do not take the descriptors the engine needs: the idle compaction that
/// runs while they are open (it flushes the memtable into new table files) succeeds,
/// writes succeed while they are open and after they close, and a connection left waiting
/// in the listen backlog is served once others close (`shared::wire::fd_limit`). Before,
/// the store accepted until the process ran out of descriptors, the compaction's flush
/// failed with EMFILE and every later write was refused until a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_past_the_open_file_limit_leave_the_engine_its_files() {
    let store = StoreProcess::spawn_with(StoreOptions {
        ulimit: Some("-n 64".into()),
        args: vec!["--idle-compaction-after".into(), "2".into()],
        ..Default::default()
    });
    let endpoint = store.endpoint();
    let ddb = store.client();
    let table = unique_name("fds");
    create_hash_table(&ddb, &table).await;
    // 1,000 writes make an idle compaction due (`store::idle_compaction::MIN_WRITES`).
    for batch in 0..40 {
        let puts = (0..25)
            .map(|i| batch_put(item(&[("pk", s(&format!("k{batch}-{i}")))])))
            .collect();
        ddb.batch_write_item()
            .request_items(&table, puts)
            .send()
            .await
            .expect("BatchWriteItem");
    }
    // Opened before the flood, as the SDK's pooled connection was: it reads the metrics.
    let mut watcher = connect(&endpoint).await;
    assert_health_answered(&mut watcher).await;
    // Within what the listen backlog (128) and the store (32 under this limit) hold
    // together: a connection past both would wait for a slot to connect at all.
    let mut flood = Vec::new();
    for _ in 0..128 {
        flood.push(connect(&endpoint).await);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = get_body(&mut watcher, "/metrics").await;
        if metric_in(&metrics, "store_engine_idle_compactions_total") >= 1.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no idle compaction while the connections were open"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let put = |pk: &'static str| ddb.put_item().table_name(&table).item("pk", s(pk)).send();
    put("during")
        .await
        .expect("a write while the connections are open");
    // The last one to connect waited in the backlog: it is served once the others close.
    let mut waiting = flood.pop().expect("a connection");
    drop(flood);
    assert_health_answered(&mut waiting).await;
    put("after")
        .await
        .expect("a write after the connections closed");
    assert_eq!(
        http_get_status(store.addr(), "/health"),
        Some(200),
        "the store says it refuses writes"
    );
}

/// A store started with a low soft open file limit under a higher hard one raises the soft
/// limit to the hard one (`shared::wire::fd_limit::raise`).
#[test]
fn the_store_raises_its_soft_open_file_limit_to_the_hard_one() {
    let store = StoreProcess::spawn_with(StoreOptions {
        ulimit: Some("-Sn 64".into()),
        ..Default::default()
    });
    let pid = store.pid().expect("the store runs");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("its limits");
    let open_files: Vec<&str> = limits
        .lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .expect("a Max open files line")
        .split_whitespace()
        .collect();
    assert_eq!(
        open_files[0], open_files[1],
        "soft and hard: {open_files:?}"
    );
    assert_ne!(open_files[0], "64", "the soft limit was left as it was");
}
