//! The dax-proxy cluster, as separate processes in front of a real store, driven with
//! aws-sdk-dynamodb: hits and misses counted right, writes through any node visible on
//! every node, direct store writes (and table drops, and index changes) invalidating proxy
//! caches, strongly consistent reads bypassing, negative caching, record TTL expiry, query
//! cache invalidation in both coherence modes, and failover after `kill -9` of the primary.

use std::time::Duration;

use integration_tests::aws_sdk_dynamodb::Client;
use integration_tests::*;

async fn get_v(client: &Client, table: &str, pk: &str, consistent: bool) -> Option<String> {
    let out = client
        .get_item()
        .table_name(table)
        .key("pk", s(pk))
        .consistent_read(consistent)
        .send()
        .await
        .unwrap();
    out.item()
        .and_then(|i| i.get("v"))
        .and_then(|v| v.as_s().ok())
        .cloned()
}

async fn put_v(client: &Client, table: &str, pk: &str, v: &str) {
    client
        .put_item()
        .table_name(table)
        .item("pk", s(pk))
        .item("v", s(v))
        .send()
        .await
        .unwrap();
}

/// Polls until `node` serves `want` for `pk` (eventually consistent reads), or fails.
async fn wait_for_value(node: &Client, table: &str, pk: &str, want: Option<&str>) {
    let ok = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { get_v(node, table, pk, false).await.as_deref() == want },
    )
    .await;
    assert!(ok, "node never served {want:?} for {pk}");
}

/// Waits until the node at `endpoint` has followed `records` change records: until then a
/// read's fill may be discarded as racing the writes it has not applied yet.
async fn wait_fed(endpoint: &str, records: f64) {
    let fed = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(10),
        || async { metric(endpoint, "dax_follower_records_total").await >= records },
    )
    .await;
    assert!(fed, "the node at {endpoint} never followed the feed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_and_misses_are_counted_and_reads_bypass_when_consistent() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let client = proxy.client();
    let table = unique_name("proxyhits");
    create_hash_table(&client, &table).await;
    put_v(&client, &table, "a", "1").await;

    let endpoint = proxy.endpoint();
    wait_fed(&endpoint, 1.0).await;
    let (hits0, misses0) = (
        metric(&endpoint, "dax_item_cache_hits_total").await,
        metric(&endpoint, "dax_item_cache_misses_total").await,
    );
    assert_eq!(
        get_v(&client, &table, "a", false).await.as_deref(),
        Some("1")
    );
    assert_eq!(
        get_v(&client, &table, "a", false).await.as_deref(),
        Some("1")
    );
    assert_eq!(
        get_v(&client, &table, "a", false).await.as_deref(),
        Some("1")
    );
    assert_eq!(
        metric(&endpoint, "dax_item_cache_misses_total").await - misses0,
        1.0
    );
    assert_eq!(
        metric(&endpoint, "dax_item_cache_hits_total").await - hits0,
        2.0
    );

    // Strongly consistent reads go to the store and touch neither counter.
    assert_eq!(
        get_v(&client, &table, "a", true).await.as_deref(),
        Some("1")
    );
    assert_eq!(
        metric(&endpoint, "dax_item_cache_misses_total").await - misses0,
        1.0
    );
    assert_eq!(
        metric(&endpoint, "dax_item_cache_hits_total").await - hits0,
        2.0
    );

    // A projection is served from the cached whole item.
    let projected = client
        .get_item()
        .table_name(&table)
        .key("pk", s("a"))
        .projection_expression("v")
        .send()
        .await
        .unwrap();
    let item = projected.item().unwrap();
    assert_eq!(item.len(), 1);
    assert_eq!(item.get("v"), Some(&s("1")));
    assert_eq!(
        metric(&endpoint, "dax_item_cache_hits_total").await - hits0,
        3.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_items_are_cached_negatively_until_written() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let client = proxy.client();
    let table = unique_name("proxyneg");
    create_hash_table(&client, &table).await;
    let endpoint = proxy.endpoint();
    let hits0 = metric(&endpoint, "dax_item_cache_hits_total").await;
    assert_eq!(get_v(&client, &table, "ghost", false).await, None);
    assert_eq!(get_v(&client, &table, "ghost", false).await, None);
    assert_eq!(
        metric(&endpoint, "dax_item_cache_hits_total").await - hits0,
        1.0,
        "second read is a negative hit"
    );

    // Written straight to the store: the change feed replaces the negative entry.
    put_v(&store.client(), &table, "ghost", "here").await;
    wait_for_value(&client, &table, "ghost", Some("here")).await;
}

/// A PartiQL batch nested deeper than a node reads as JSON (one statement's parameter 100
/// levels deep: the store refuses that statement alone and runs the others) is taken as
/// the write it may be: a replica forwards it to the primary, as every write, and the
/// node's caches, which cannot tell what it wrote, answer nothing cached before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_a_node_cannot_read_is_taken_as_a_write() {
    use integration_tests::aws_sdk_dynamodb::types::{AttributeValue, BatchStatementRequest};
    let store = StoreProcess::spawn();
    let nodes = [ProxyProcess::spawn(&store), ProxyProcess::spawn(&store)];
    let primary = primary_of(&[&nodes[0], &nodes[1]]).await;
    let replica = &nodes[1 - primary];
    let client = replica.client();
    let table = unique_name("proxydeep");
    create_hash_table(&client, &table).await;
    put_v(&client, &table, "a", "old").await;
    assert_eq!(
        get_v(&client, &table, "a", false).await.as_deref(),
        Some("old")
    );

    let mut deep = s("leaf");
    for _ in 0..100 {
        deep = AttributeValue::M([("n".to_string(), deep)].into());
    }
    let statement = |text: String, parameters: Option<Vec<AttributeValue>>| {
        BatchStatementRequest::builder()
            .statement(text)
            .set_parameters(parameters)
            .build()
            .unwrap()
    };
    let forwarded = metric(&replica.endpoint(), "dax_forwarded_writes_total").await;
    let batch = client
        .batch_execute_statement()
        .statements(statement(
            format!("UPDATE \"{table}\" SET v = 'new' WHERE pk = 'a'"),
            None,
        ))
        .statements(statement(
            format!("UPDATE \"{table}\" SET x = ? WHERE pk = 'a'"),
            Some(vec![deep]),
        ))
        .send()
        .await
        .unwrap();
    let refused: Vec<bool> = batch
        .responses()
        .iter()
        .map(|r| r.error().is_some())
        .collect();
    assert_eq!(refused, [false, true]);
    assert_eq!(
        metric(&replica.endpoint(), "dax_forwarded_writes_total").await,
        forwarded + 1.0,
        "the replica did not forward the batch to the primary"
    );
    assert_eq!(
        get_v(&client, &table, "a", false).await.as_deref(),
        Some("new")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_store_writes_update_and_delete_cached_items() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let client = proxy.client();
    let direct = store.client();
    let table = unique_name("proxydirect");
    create_hash_table(&client, &table).await;
    put_v(&direct, &table, "k", "old").await;
    assert_eq!(
        get_v(&client, &table, "k", false).await.as_deref(),
        Some("old")
    );
    assert_eq!(
        get_v(&client, &table, "k", false).await.as_deref(),
        Some("old")
    );

    put_v(&direct, &table, "k", "new").await;
    wait_for_value(&client, &table, "k", Some("new")).await;
    direct
        .delete_item()
        .table_name(&table)
        .key("pk", s("k"))
        .send()
        .await
        .unwrap();
    wait_for_value(&client, &table, "k", None).await;
}

/// Reads `pk` through the node and returns (value, hits, misses) counted for that read.
async fn counted_get(
    node: &Client,
    endpoint: &str,
    table: &str,
    pk: &str,
) -> (Option<String>, f64, f64) {
    let hits = metric(endpoint, "dax_item_cache_hits_total").await;
    let misses = metric(endpoint, "dax_item_cache_misses_total").await;
    let value = get_v(node, table, pk, false).await;
    (
        value,
        metric(endpoint, "dax_item_cache_hits_total").await - hits,
        metric(endpoint, "dax_item_cache_misses_total").await - misses,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_write_replaces_a_cached_item_where_the_log_keeps_images_else_drops_it() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let (client, direct, endpoint) = (proxy.client(), store.client(), proxy.endpoint());
    // A stream showing new images keeps them in the log; one showing old images only, and
    // a table nothing but the change feed reads, keep no new image.
    let streamed = unique_name("proxystreamed");
    let old_only = unique_name("proxyoldonly");
    let plain = unique_name("proxyplain");
    let tables = [&streamed, &old_only, &plain];
    for table in tables {
        create_hash_table(&direct, table).await;
    }
    use aws_sdk_dynamodb::types::StreamViewType;
    enable_stream(&direct, &streamed, StreamViewType::NewImage).await;
    enable_stream(&direct, &old_only, StreamViewType::OldImage).await;
    for table in tables {
        put_v(&direct, table, "k", "old").await;
    }
    wait_fed(&endpoint, 3.0).await;
    for table in tables {
        assert_eq!(
            get_v(&client, table, "k", false).await.as_deref(),
            Some("old")
        );
        let (value, hits, _) = counted_get(&client, &endpoint, table, "k").await;
        assert_eq!(
            (value.as_deref(), hits),
            (Some("old"), 1.0),
            "{table} cached"
        );
    }

    for table in tables {
        put_v(&direct, table, "k", "new").await;
    }
    wait_fed(&endpoint, 6.0).await;
    let (value, hits, misses) = counted_get(&client, &endpoint, &streamed, "k").await;
    assert_eq!(
        (value.as_deref(), hits, misses),
        (Some("new"), 1.0, 0.0),
        "the new image replaced the entry"
    );
    for table in [&old_only, &plain] {
        let (value, hits, misses) = counted_get(&client, &endpoint, table, "k").await;
        assert_eq!(
            (value.as_deref(), hits, misses),
            (Some("new"), 0.0, 1.0),
            "{table}: the entry was dropped and read again from the store"
        );
    }
}

/// The feed as a dax-proxy node from before keys-only records reads it (no `elided=true`):
/// a keys-only record must not read as a delete, so it says the table was dropped, which
/// makes such a node forget the table's entries.
#[tokio::test]
async fn followers_that_predate_keys_only_records_are_told_to_forget_the_table() {
    let store = StoreProcess::spawn();
    let direct = store.client();
    let table = unique_name("proxyoldfollower");
    create_hash_table(&direct, &table).await;
    put_v(&direct, &table, "k", "v").await;
    let current = feed_page(&store, "&elided=true").await["records"][0].clone();
    assert_eq!(current["cause"], "user");
    assert_eq!(current["new_elided"], true);
    assert!(current["new"].is_null());
    assert_eq!(current["keys"]["pk"]["S"], "k");
    let old = feed_page(&store, "").await["records"][0].clone();
    assert_eq!(old["cause"], "table_dropped");
    assert_eq!(old["table"], table.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_dropped_at_the_store_is_not_served_from_old_entries() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let client = proxy.client();
    let direct = store.client();
    let table = unique_name("proxydrop");
    let kept = unique_name("proxykept");
    for name in [&table, &kept] {
        create_hash_table(&direct, name).await;
        put_v(&direct, name, "p", "old").await;
    }
    let endpoint = proxy.endpoint();
    wait_fed(&endpoint, 2.0).await;
    for name in [&table, &kept] {
        for _ in 0..2 {
            assert_eq!(
                get_v(&client, name, "p", false).await.as_deref(),
                Some("old")
            );
            assert_eq!(query_count(&client, name).await, 1);
        }
    }
    let item_hits = || metric(&endpoint, "dax_item_cache_hits_total");
    let query_hits = || metric(&endpoint, "dax_query_cache_hits_total");
    assert_eq!(item_hits().await, 2.0);
    assert_eq!(query_hits().await, 2.0);

    // Deleted and created again straight at the store: no item write names the old item,
    // so only the drop itself, through the change feed, can retire the cached entries.
    direct
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    create_hash_table(&direct, &table).await;
    wait_for_value(&client, &table, "p", None).await;
    assert_eq!(query_count(&client, &table).await, 0);

    // The other table's entries outlived the drop: both reads are hits.
    let (items_before, queries_before) = (item_hits().await, query_hits().await);
    assert_eq!(
        get_v(&client, &kept, "p", false).await.as_deref(),
        Some("old")
    );
    assert_eq!(query_count(&client, &kept).await, 1);
    assert_eq!(item_hits().await, items_before + 1.0);
    assert_eq!(query_hits().await, queries_before + 1.0);

    // Dropped through the node: its reads miss at once, the kept table's still hit.
    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let gone = client
        .get_item()
        .table_name(&table)
        .key("pk", s("p"))
        .send()
        .await
        .expect_err("the table is gone");
    assert!(
        format!("{gone:?}").contains("ResourceNotFoundException"),
        "{gone:?}"
    );
    assert_eq!(
        get_v(&client, &kept, "p", false).await.as_deref(),
        Some("old")
    );
    assert_eq!(item_hits().await, items_before + 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capacity_update_through_a_node_keeps_its_cached_items() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let client = proxy.client();
    let table = unique_name("proxyupdate");
    create_hash_table(&client, &table).await;
    put_v(&client, &table, "k", "v").await;
    let endpoint = proxy.endpoint();
    let hits = || metric(&endpoint, "dax_item_cache_hits_total");
    // A read fills the entry; the next read through the node is a hit.
    let cached = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(10),
        || async {
            get_v(&client, &table, "k", false).await;
            hits().await >= 1.0
        },
    )
    .await;
    assert!(cached, "the item was never served from the cache");
    let before = hits().await;
    client
        .update_table()
        .table_name(&table)
        .billing_mode(integration_tests::aws_sdk_dynamodb::types::BillingMode::Provisioned)
        .provisioned_throughput(
            integration_tests::aws_sdk_dynamodb::types::ProvisionedThroughput::builder()
                .read_capacity_units(100)
                .write_capacity_units(100)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        get_v(&client, &table, "k", false).await.as_deref(),
        Some("v")
    );
    assert_eq!(hits().await, before + 1.0, "the update emptied the cache");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_expire_after_the_record_ttl() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn_with(&store.endpoint(), &["--record-ttl", "300ms"], &[]);
    let client = proxy.client();
    let table = unique_name("proxyttl");
    create_hash_table(&client, &table).await;
    put_v(&client, &table, "a", "1").await;
    let endpoint = proxy.endpoint();
    get_v(&client, &table, "a", false).await;
    let misses = metric(&endpoint, "dax_item_cache_misses_total").await;
    // Reads keep hitting until the entry's TTL passes; then one read misses again.
    let expired = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            get_v(&client, &table, "a", false).await;
            metric(&endpoint, "dax_item_cache_misses_total").await > misses
        },
    )
    .await;
    assert!(expired, "the entry never expired");
}

/// The number of items a Query for partition `p` returns through `client`.
async fn query_count(client: &Client, table: &str) -> i32 {
    client
        .query()
        .table_name(table)
        .key_condition_expression("pk = :p")
        .expression_attribute_values(":p", s("p"))
        .send()
        .await
        .unwrap()
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_cache_invalidates_on_writes_or_waits_for_ttl() {
    let store = StoreProcess::spawn();
    let direct = store.client();
    let table = unique_name("proxyquery");
    create_hash_range_table(&direct, &table).await;
    for sk in 0..3 {
        direct
            .put_item()
            .table_name(&table)
            .item("pk", s("p"))
            .item("sk", n(sk))
            .send()
            .await
            .unwrap();
    }
    // Nodes start after those writes: their feeds begin past them, so no late feed event
    // invalidates a page the assertions below expect to hit.
    let invalidating = ProxyProcess::spawn(&store);
    let ttl_only = ProxyProcess::spawn_with(
        &store.endpoint(),
        &["--query-cache-coherence", "ttl-only"],
        &[],
    );
    let (a, b) = (invalidating.client(), ttl_only.client());
    for client in [&a, &b] {
        assert_eq!(query_count(client, &table).await, 3);
        assert_eq!(query_count(client, &table).await, 3);
    }
    assert_eq!(
        metric(&invalidating.endpoint(), "dax_query_cache_hits_total").await,
        1.0
    );
    assert_eq!(
        metric(&ttl_only.endpoint(), "dax_query_cache_hits_total").await,
        1.0
    );

    direct
        .put_item()
        .table_name(&table)
        .item("pk", s("p"))
        .item("sk", n(3))
        .send()
        .await
        .unwrap();
    let refreshed = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { query_count(&a, &table).await == 4 },
    )
    .await;
    assert!(refreshed, "invalidate coherence never showed the new item");
    // The ttl-only node has seen the same change feed by now, and still answers the old page,
    // as DAX does.
    wait_fed(&ttl_only.endpoint(), 1.0).await;
    assert_eq!(query_count(&b, &table).await, 3);
}

/// Cached answers follow the store's rules: a BatchGetItem answers at most 16 MB of items
/// (the rest unprocessed) whether they come from the cache or the store, and a projection
/// with an empty ExpressionAttributeNames is refused as the store refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_reads_keep_the_stores_limits_and_checks() {
    use aws_sdk_dynamodb::types::KeysAndAttributes;
    let store = StoreProcess::spawn();
    let direct = store.client();
    let table = unique_name("proxybig");
    create_hash_table(&direct, &table).await;
    let big = "d".repeat(390_000);
    let ids: Vec<String> = (0..45).map(|i| format!("k{i:02}")).collect();
    for id in &ids {
        let put = direct.put_item().table_name(&table).item("pk", s(id));
        put.item("d", s(&big)).send().await.unwrap();
    }
    let node = ProxyProcess::spawn(&store);
    let client = node.client();
    // Everything, page by page: each answer within 16 MB, every item once.
    let read_all = || async {
        let mut keys: Vec<_> = ids.iter().map(|id| item(&[("pk", s(id))])).collect();
        let (mut seen, mut sizes) = (Vec::new(), Vec::new());
        while !keys.is_empty() {
            let wanted = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut keys)))
                .build()
                .unwrap();
            let out = client
                .batch_get_item()
                .request_items(&table, wanted)
                .send()
                .await
                .unwrap();
            let items = out.responses().and_then(|r| r.get(&table)).cloned();
            let items = items.unwrap_or_default();
            sizes.push(items.len());
            seen.extend(items.iter().map(|i| i["pk"].as_s().unwrap().clone()));
            if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(&table)) {
                keys = left.keys().to_vec();
            }
        }
        seen.sort();
        (seen, sizes)
    };
    let (first, from_store) = read_all().await;
    assert_eq!(first, ids);
    let (second, from_cache) = read_all().await;
    assert_eq!(second, ids);
    assert_eq!(
        from_store[0], 43,
        "43 items of 390 KB fit in 16 MB: {from_store:?}"
    );
    assert_eq!(
        from_cache[0], 43,
        "the cache answers as the store does: {from_cache:?}"
    );
    assert!(metric(&node.endpoint(), "dax_item_cache_hits_total").await >= 45.0);

    let get = || {
        client
            .get_item()
            .table_name(&table)
            .key("pk", s("k00"))
            .projection_expression("pk")
            .set_expression_attribute_names(Some(Default::default()))
    };
    let message = "ExpressionAttributeNames must not be empty";
    assert_api_error(get().send().await, "ValidationException", Some(message));
}

/// A node caching an item read asks the store for its change-log position as of the read,
/// so that a late feed record of an older write cannot replace what the read returned.
/// (The node's side is `cache::item`'s unit tests: the race needs a feed that lags.)
#[tokio::test]
async fn the_store_tells_a_caching_read_its_log_position() {
    let store = StoreProcess::spawn();
    let direct = store.client();
    let table = unique_name("position");
    create_hash_table(&direct, &table).await;
    let get = serde_json::json!({"TableName": table, "Key": {"pk": {"S": "k"}}}).to_string();
    let position = || async {
        let request = raw_call_headers(&store.endpoint(), "GetItem", get.as_bytes());
        let answer = request
            .with_header("x-dax-log-position", "1")
            .with_header("x-dax-cluster-secret", CLUSTER_SECRET)
            .send()
            .await;
        assert_eq!(answer.status, 200);
        let value = answer
            .headers
            .get("x-dax-log-position")
            .expect("a position");
        value.to_str().unwrap().parse::<u64>().unwrap()
    };
    let before = position().await;
    put_v(&direct, &table, "k", "one").await;
    let after_one = position().await;
    put_v(&direct, &table, "k", "two").await;
    let after_two = position().await;
    assert!(
        before < after_one && after_one < after_two,
        "{before} {after_one} {after_two}"
    );
    // Only when asked, and only by a cluster member: a client's asking is not heeded.
    let plain = raw_call(&store.endpoint(), "GetItem", get.as_bytes()).await;
    assert!(plain.headers.get("x-dax-log-position").is_none());
    let client_asking = raw_call_headers(&store.endpoint(), "GetItem", get.as_bytes())
        .with_header("x-dax-log-position", "1")
        .send()
        .await;
    assert_eq!(client_asking.status, 200);
    assert!(client_asking.headers.get("x-dax-log-position").is_none());
    // Nor is a client's lease fence: its write is applied.
    let fenced = raw_call_headers(
        &store.endpoint(),
        "PutItem",
        serde_json::json!({"TableName": table, "Item": {"pk": {"S": "f"}}})
            .to_string()
            .as_bytes(),
    )
    .with_header("x-dax-lease", "someone 7")
    .send()
    .await;
    assert_eq!(
        fenced.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&fenced.body)
    );
}

/// An exact-key Query may name the sort key first (`sk = :s AND pk = :p`): its page is
/// still invalidated by a write to its partition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_naming_the_sort_key_first_is_invalidated_by_its_partitions_writes() {
    let store = StoreProcess::spawn();
    let direct = store.client();
    let table = unique_name("proxysk");
    create_hash_range_table(&direct, &table).await;
    let put = direct
        .put_item()
        .table_name(&table)
        .item("pk", s("p"))
        .item("sk", n(7));
    put.send().await.unwrap();
    let node = ProxyProcess::spawn(&store);
    let client = node.client();
    let count = || async {
        client
            .query()
            .table_name(&table)
            .key_condition_expression("#s = :s AND #p = :p")
            .expression_attribute_names("#s", "sk")
            .expression_attribute_names("#p", "pk")
            .expression_attribute_values(":s", n(7))
            .expression_attribute_values(":p", s("p"))
            .send()
            .await
            .unwrap()
            .count()
    };
    assert_eq!(count().await, 1);
    assert_eq!(count().await, 1);
    assert_eq!(
        metric(&node.endpoint(), "dax_query_cache_hits_total").await,
        1.0
    );
    let delete = direct
        .delete_item()
        .table_name(&table)
        .key("pk", s("p"))
        .key("sk", n(7));
    delete.send().await.unwrap();
    let gone = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(20),
        || async { count().await == 0 },
    )
    .await;
    assert!(gone, "the cached page outlived the delete of its item");
}

/// Three nodes in front of `store`, with a one-second lease so a failover is quick.
fn cluster_of_three(store: &StoreProcess) -> [ProxyProcess; 3] {
    let node = || ProxyProcess::spawn_with(&store.endpoint(), &["--lease-ttl", "1s"], &[]);
    [node(), node(), node()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_through_any_node_are_seen_by_every_node_and_survive_failover() {
    let store = StoreProcess::spawn();
    let mut nodes = cluster_of_three(&store);
    let clients: Vec<Client> = nodes.iter().map(|n| n.client()).collect();
    let table = unique_name("proxycluster");
    create_hash_table(&clients[0], &table).await;

    // Every node caches the item, then each node in turn writes a new value.
    put_v(&clients[0], &table, "k", "v0").await;
    for c in &clients {
        wait_for_value(c, &table, "k", Some("v0")).await;
    }
    for (i, writer) in clients.iter().enumerate() {
        let value = format!("v{}", i + 1);
        put_v(writer, &table, "k", &value).await;
        for c in &clients {
            wait_for_value(c, &table, "k", Some(&value)).await;
        }
    }
    let forwarded: f64 = {
        let mut total = 0.0;
        for node in &nodes {
            total += metric(&node.endpoint(), "dax_forwarded_writes_total").await;
        }
        total
    };
    assert!(
        forwarded >= 2.0,
        "replicas forward writes to the primary ({forwarded})"
    );

    // Any node lists the cluster (membership converges within a heartbeat or two).
    let listed = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            let endpoints = clients[1].describe_endpoints().send().await.unwrap();
            endpoints.endpoints().len() == 3
        },
    )
    .await;
    assert!(listed, "DescribeEndpoints never listed the three nodes");

    // Kill the primary: a replica takes the lease and writes through the survivors go on.
    let refs: Vec<&ProxyProcess> = nodes.iter().collect();
    let primary = primary_of(&refs).await;
    nodes[primary].kill9();
    let survivor = (primary + 1) % 3;
    // A node waits up to two lease lifetimes for a primary before it answers
    // ServiceUnavailable; on a stalled host the new lease can take longer, and a client
    // retries, as this one does.
    let written = wait_until(Duration::from_secs(15), Duration::from_millis(100), || {
        let put = clients[survivor]
            .put_item()
            .table_name(&table)
            .item("pk", s("after"))
            .item("v", s("failover"))
            .send();
        async move { put.await.is_ok() }
    })
    .await;
    assert!(written, "no write went through after the primary died");
    assert_eq!(
        get_v(&clients[survivor], &table, "after", true)
            .await
            .as_deref(),
        Some("failover")
    );
    let others: Vec<&ProxyProcess> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != primary)
        .map(|(_, n)| n)
        .collect();
    let new_primary = primary_of(&others).await;
    assert!(new_primary < 2);
}

/// A write a replica forwarded to a primary that died before answering may have reached
/// the store: the replica answers 503 rather than sending it again to the next primary,
/// so no write is applied twice. Eight clients add 1 to fresh counters through the two
/// replicas while the primary is killed: every counter ends at 0 or 1, at 1 where the
/// add was acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_forwarded_to_a_dying_primary_is_applied_at_most_once() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let store = StoreProcess::spawn();
    let mut nodes = cluster_of_three(&store);
    let table = unique_name("onceonly");
    create_hash_table(&store.client(), &table).await;
    let refs: Vec<&ProxyProcess> = nodes.iter().collect();
    let primary = primary_of(&refs).await;
    let replicas: Vec<Client> = (0..3)
        .filter(|i| *i != primary)
        .map(|i| nodes[i].client())
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for w in 0..8 {
        let client = replicas[w % 2].clone();
        let (table, stop, acknowledged) = (table.clone(), stop.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let key = format!("w{w}-{i}");
                i += 1;
                let added = client
                    .update_item()
                    .table_name(&table)
                    .key("pk", s(&key))
                    .update_expression("ADD n :one")
                    .expression_attribute_values(":one", n(1))
                    .send()
                    .await;
                if added.is_ok() {
                    acknowledged.lock().unwrap().push(key);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    nodes[primary].kill9();
    tokio::time::sleep(Duration::from_millis(3000)).await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    let counters = scan_all(&store.client(), &table).await;
    let twice: Vec<&String> = counters
        .iter()
        .filter(|(_, item)| item["n"].as_n().map(String::as_str) != Ok("1"))
        .map(|(key, _)| key)
        .collect();
    assert!(twice.is_empty(), "applied more than once: {twice:?}");
    let acknowledged = acknowledged.lock().unwrap();
    let missing: Vec<&String> = acknowledged
        .iter()
        .filter(|key| !counters.contains_key(*key))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged but not applied: {missing:?}"
    );
    assert!(
        acknowledged.len() > 20,
        "only {} writes went through",
        acknowledged.len()
    );
}

/// A write forwarded to a primary that stops answering (SIGSTOP: a frozen VM, a long GC
/// pause) is answered ServiceUnavailable once another node holds the lease, not at the
/// forward's one-minute timeout; and when the old primary wakes up and sends the write on,
/// the store refuses it, since it carries the lease that primary no longer holds. It was
/// applied then, after a later write its client had been told succeeded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_primary_cannot_apply_a_write_after_losing_its_lease() {
    let store = StoreProcess::spawn();
    let nodes = cluster_of_three(&store);
    let table = unique_name("fenced");
    create_hash_table(&store.client(), &table).await;
    let refs: Vec<&ProxyProcess> = nodes.iter().collect();
    let primary = primary_of(&refs).await;
    let replica = nodes[(primary + 1) % 3].client();
    nodes[primary].pause();
    let started = std::time::Instant::now();
    let late = replica
        .update_item()
        .table_name(&table)
        .key("pk", s("k"))
        .update_expression("SET v = :v")
        .expression_attribute_values(":v", s("late"))
        .send()
        .await;
    assert_api_error(late, "ServiceUnavailable", None);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answered after {:?}",
        started.elapsed()
    );
    // A later write, acknowledged by the new primary.
    let written = wait_until(Duration::from_secs(10), Duration::from_millis(100), || {
        let replica = replica.clone();
        let table = table.clone();
        async move {
            replica
                .put_item()
                .table_name(&table)
                .item("pk", s("k"))
                .item("v", s("acknowledged"))
                .send()
                .await
                .is_ok()
        }
    })
    .await;
    assert!(written, "no new primary took the write");
    nodes[primary].resume();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        get_v(&store.client(), &table, "k", true).await.as_deref(),
        Some("acknowledged"),
        "the old primary applied the write it took before losing its lease"
    );
}

/// A node shut down with SIGTERM finishes, exits cleanly and hands its lease back: with a
/// 30 s lease, a write through the replica right after goes through at once (without the
/// hand-back it would wait for the lease to lapse, past the client's timeout), and the
/// cluster lists one node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_shut_down_hands_its_lease_over_at_once() {
    let store = StoreProcess::spawn();
    let args = ["--lease-ttl", "30s"];
    let mut nodes = [
        ProxyProcess::spawn_with(&store.endpoint(), &args, &[]),
        ProxyProcess::spawn_with(&store.endpoint(), &args, &[]),
    ];
    let primary = primary_of(&[&nodes[0], &nodes[1]]).await;
    let replica = 1 - primary;
    let client = nodes[replica].client();
    let table = unique_name("proxyleave");
    create_hash_table(&client, &table).await;
    put_v(&client, &table, "before", "forwarded").await;

    let status = nodes[primary].terminate();
    assert!(status.success(), "SIGTERM ends the node cleanly: {status}");
    let started = std::time::Instant::now();
    put_v(&client, &table, "after", "taken-over").await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the write waited {:?} for a new primary",
        started.elapsed()
    );
    assert_eq!(metric(&nodes[replica].endpoint(), "dax_primary").await, 1.0);
    let endpoints = ok(client.describe_endpoints().send().await);
    assert_eq!(endpoints.endpoints().len(), 1, "{endpoints:?}");
    assert_eq!(
        get_v(&client, &table, "before", true).await.as_deref(),
        Some("forwarded")
    );
}

/// A hang-up (a closed terminal or session) stops the store and a node as SIGTERM does,
/// gracefully (exit status 0), rather than killing them at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hang_up_stops_the_daemons_gracefully() {
    let mut store = StoreProcess::spawn();
    let mut proxy = ProxyProcess::spawn(&store);
    let status = tokio::task::block_in_place(|| proxy.stop_with("HUP"));
    assert!(status.success(), "the node exited with {status}");
    let status = tokio::task::block_in_place(|| store.stop_with("HUP"));
    assert!(status.success(), "the store exited with {status}");
}

/// A store stopped with SIGTERM while a dax-proxy node long-polls its change feed (20 s per
/// poll) answers the poll at once and exits, instead of holding its graceful stop for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_stopped_under_a_following_node_exits_at_once() {
    let mut store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let client = proxy.client();
    let table = unique_name("stopping");
    create_hash_table(&client, &table).await;
    put_v(&client, &table, "k", "v").await;
    wait_fed(&proxy.endpoint(), 1.0).await;
    // The node is back in its long poll, with nothing to wait for.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopping = std::time::Instant::now();
    let status = store.terminate();
    let took = stopping.elapsed();
    assert!(status.success(), "the store exited with {status}");
    assert!(
        took < Duration::from_secs(10),
        "the store took {took:?} to stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_writes_leave_the_cache_alone_and_store_errors_pass_through() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let client = proxy.client();
    let table = unique_name("proxyfail");
    create_hash_table(&client, &table).await;
    put_v(&client, &table, "k", "kept").await;
    wait_fed(&proxy.endpoint(), 1.0).await;
    assert_eq!(
        get_v(&client, &table, "k", false).await.as_deref(),
        Some("kept")
    );
    let failed = client
        .put_item()
        .table_name(&table)
        .item("pk", s("k"))
        .item("v", s("changed"))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await;
    assert_api_error(
        failed,
        "ConditionalCheckFailedException",
        Some("The conditional request failed"),
    );
    let hits = metric(&proxy.endpoint(), "dax_item_cache_hits_total").await;
    assert_eq!(
        get_v(&client, &table, "k", false).await.as_deref(),
        Some("kept")
    );
    assert_eq!(
        metric(&proxy.endpoint(), "dax_item_cache_hits_total").await - hits,
        1.0
    );

    let missing = client
        .get_item()
        .table_name("no_such_table")
        .key("pk", s("x"))
        .send()
        .await;
    assert_api_error(missing, "ResourceNotFoundException", None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_store_gives_a_dynamodb_error_not_a_hang() {
    let mut store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    let client = proxy.client();
    let table = unique_name("proxydown");
    create_hash_table(&client, &table).await;
    store.kill9();
    let result = client
        .get_item()
        .table_name(&table)
        .key("pk", s("nothing-cached"))
        .send()
        .await;
    let err = result.expect_err("the store is down");
    let code = integration_tests::aws_sdk_dynamodb::error::ProvideErrorMetadata::code(
        &err.into_service_error(),
    )
    .map(str::to_string);
    assert_eq!(code.as_deref(), Some("ServiceUnavailable"));
}

/// One step of a writer in the coherence stress test.
async fn random_write(client: &Client, table: &str, keys: &[String], pick: u64, value: &str) {
    use integration_tests::aws_sdk_dynamodb::error::ProvideErrorMetadata;
    use integration_tests::aws_sdk_dynamodb::types::{
        Put, PutRequest, TransactWriteItem, Update, WriteRequest,
    };
    let key = &keys[(pick % keys.len() as u64) as usize];
    let other = &keys[((pick / 7) % keys.len() as u64) as usize];
    let outcome = match (pick / 100) % 6 {
        0 => client
            .put_item()
            .table_name(table)
            .item("pk", s(key))
            .item("v", s(value))
            .send()
            .await
            .map(drop)
            .map_err(|e| e.code().map(str::to_string)),
        // Fails whenever the item is missing: must leave every cache as it was.
        1 => client
            .update_item()
            .table_name(table)
            .key("pk", s(key))
            .update_expression("SET v = :v")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":v", s(value))
            .send()
            .await
            .map(drop)
            .map_err(|e| e.code().map(str::to_string)),
        // Always fails.
        2 => client
            .put_item()
            .table_name(table)
            .item("pk", s(key))
            .item("v", s("never"))
            .condition_expression("v = :never")
            .expression_attribute_values(":never", s("never"))
            .send()
            .await
            .map(drop)
            .map_err(|e| e.code().map(str::to_string)),
        3 => client
            .delete_item()
            .table_name(table)
            .key("pk", s(key))
            .send()
            .await
            .map(drop)
            .map_err(|e| e.code().map(str::to_string)),
        4 if key != other => {
            let put = |pk: &str| {
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .item("pk", s(pk))
                            .item("v", s(value))
                            .build()
                            .unwrap(),
                    )
                    .build()
            };
            client
                .batch_write_item()
                .request_items(table, vec![put(key), put(other)])
                .send()
                .await
                .map(drop)
                .map_err(|e| e.code().map(str::to_string))
        }
        _ if key != other => client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(table)
                            .item("pk", s(key))
                            .item("v", s(value))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(table)
                            .key("pk", s(other))
                            .update_expression("SET v = :v")
                            .expression_attribute_values(":v", s(value))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .map(drop)
            .map_err(|e| e.code().map(str::to_string)),
        _ => Ok(()),
    };
    if let Err(code) = outcome {
        let expected = [
            "ConditionalCheckFailedException",
            "TransactionCanceledException",
            "TransactionConflictException",
        ];
        assert!(
            code.as_deref().is_some_and(|c| expected.contains(&c)),
            "unexpected write failure: {code:?}"
        );
    }
}

/// Writers through every node and straight to the store, racing readers that fill every
/// node's cache, on a handful of hot keys; failed conditional writes, batches and
/// transactions in the mix. Once the writers stop, every node must serve each key as the
/// store holds it: a write path or a feed event that left a cache behind, or a failed write
/// that touched one, would leave a node serving a stale value until the record TTL. (A
/// miss filling with data older than a racing write is rare here; `cache::item`'s unit
/// tests pin that case down.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_writers_and_readers_leave_every_node_coherent() {
    let store = StoreProcess::spawn();
    let nodes = [
        ProxyProcess::spawn(&store),
        ProxyProcess::spawn(&store),
        ProxyProcess::spawn(&store),
    ];
    let store_client = store.client();
    let node_clients: Vec<Client> = nodes.iter().map(|n| n.client()).collect();
    let table = unique_name("proxyrace");
    create_hash_table(&store_client, &table).await;
    let keys: Vec<String> = (0..6).map(|i| format!("k{i}")).collect();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for r in 0..6u64 {
        let (clients, table, keys, stop) = (
            node_clients.clone(),
            table.clone(),
            keys.clone(),
            stop.clone(),
        );
        readers.push(tokio::spawn(async move {
            let mut i = r;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let client = &clients[(i % 3) as usize];
                get_v(client, &table, &keys[(i / 3 % 6) as usize], false).await;
                i = i
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407)
                    >> 1;
            }
        }));
    }
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let mut clients = node_clients.clone();
        clients.push(store_client.clone());
        let (table, keys) = (table.clone(), keys.clone());
        writers.push(tokio::spawn(async move {
            let mut state = w + 1;
            for step in 0..300 {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let pick = state >> 11;
                let client = &clients[(pick % 4) as usize];
                let value = format!("w{w}-{step}");
                random_write(client, &table, &keys, pick / 4, &value).await;
            }
        }));
    }
    for writer in writers {
        writer.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }

    for key in &keys {
        let truth = get_v(&store_client, &table, key, true).await;
        for (n, client) in node_clients.iter().enumerate() {
            let converged = wait_until(
                Duration::from_secs(5),
                Duration::from_millis(20),
                || async { get_v(client, &table, key, false).await == truth },
            )
            .await;
            assert!(converged, "node {n} does not serve {truth:?} for {key}");
        }
    }
}

/// A node on `store` that keeps what it caches for an hour, its client, and a new hash
/// table named from `prefix`: where the tests of a node dropping its caches start.
async fn caching_node(store: &StoreProcess, prefix: &str) -> (ProxyProcess, Client, String) {
    let proxy = ProxyProcess::spawn_with(&store.endpoint(), &["--record-ttl", "3600"], &[]);
    let client = proxy.client();
    let table = unique_name(prefix);
    create_hash_table(&client, &table).await;
    (proxy, client, table)
}

/// A store replaced by one on an empty data directory behind the same address numbers its
/// change log from the start again: a node must notice (the log's head is below its
/// cursor) and drop what it cached, not serve it until its entries expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_with_a_new_log_behind_the_same_address_empties_the_caches() {
    let mut store = StoreProcess::spawn();
    let (_proxy, client, table) = caching_node(&store, "newlog").await;
    // Enough writes that the node's cursor is well past what the new store will number.
    for i in 0..20 {
        put_v(&client, &table, &format!("filler{i}"), "x").await;
    }
    put_v(&client, &table, "k", "old").await;
    wait_for_value(&client, &table, "k", Some("old")).await;

    store.replace_with_empty();
    let direct = store.client();
    create_hash_table(&direct, &table).await;
    put_v(&direct, &table, "k", "new").await;
    // Without the reset the node's cursor (past 20) waits for numbers the new log reaches
    // only after as many writes, and "old" stays cached for the hour.
    wait_for_value(&client, &table, "k", Some("new")).await;
}

/// The same when the new store has numbered past the node's cursor by the time the node
/// reads it again (the node was paused meanwhile): the log's identity, not its numbers,
/// tells the node it is another log. Without it the node took the new log for the old
/// one and served its cached item and negative entry until the record TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_log_that_numbered_past_the_nodes_cursor_still_empties_the_caches() {
    let mut store = StoreProcess::spawn();
    let (proxy, client, table) = caching_node(&store, "newlog2").await;
    put_v(&client, &table, "k", "old").await;
    wait_for_value(&client, &table, "k", Some("old")).await;
    wait_for_value(&client, &table, "absent", None).await;

    proxy.pause();
    store.replace_with_empty();
    let direct = store.client();
    create_hash_table(&direct, &table).await;
    put_v(&direct, &table, "k", "new").await;
    put_v(&direct, &table, "absent", "now-here").await;
    for i in 0..20 {
        put_v(&direct, &table, &format!("filler{i}"), "x").await;
    }
    proxy.resume();
    wait_for_value(&client, &table, "k", Some("new")).await;
    wait_for_value(&client, &table, "absent", Some("now-here")).await;
}

/// A store brought back on an older copy of its data directory numbers its log again from
/// the copy's end, with other changes: once written past the node's cursor (the node
/// paused meanwhile, so it cannot see the log behind it first) its numbers look like the
/// ones the node followed. Any start of the store is a new log, so the node drops what it
/// cached; it kept serving the lost "new" for its record TTL (an hour) before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restored_from_an_older_copy_of_its_data_empties_the_caches() {
    let dir = tempfile::tempdir().expect("a data directory");
    let data = dir.path().join("data");
    let copy = dir.path().join("copy");
    let mut store = StoreProcess::spawn_in(&data);
    let (proxy, client, table) = caching_node(&store, "restored").await;
    put_v(&client, &table, "k", "old").await;
    store.terminate();
    copy_dir(&data, &copy);
    store.restart_in_place();

    put_v(&client, &table, "k", "new").await;
    wait_for_value(&client, &table, "k", Some("new")).await;
    // The node serves the item from its cache again. A read may still miss once: the
    // node drops its caches when it first reads the restarted store's feed, which under
    // load came between the read that filled the cache and the next.
    let hit = wait_until(
        Duration::from_secs(5),
        Duration::from_millis(20),
        || async {
            let hits = metric(&proxy.endpoint(), "dax_item_cache_hits_total").await;
            let value = get_v(&client, &table, "k", false).await;
            assert_eq!(value.as_deref(), Some("new"));
            metric(&proxy.endpoint(), "dax_item_cache_hits_total").await - hits == 1.0
        },
    )
    .await;
    assert!(hit, "the node does not serve the item from its cache");

    proxy.pause();
    store.terminate();
    std::fs::remove_dir_all(&data).expect("remove the data directory");
    copy_dir(&copy, &data);
    store.restart_in_place();
    let direct = store.client();
    for i in 0..5 {
        put_v(&direct, &table, &format!("filler{i}"), "x").await;
    }
    proxy.resume();
    wait_for_value(&client, &table, "k", Some("old")).await;
}

/// `cp -a from to`: a stopped store's data directory, as an operator would back it up.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("run cp");
    assert!(status.success(), "cp -a {from:?} {to:?}: {status}");
}

/// A store killed with `kill -9` numbers its log again from what it kept, and a node cannot
/// tell a restart from a restore of an older copy of the data (which loses what the node
/// saw), so it drops its caches at any restart. Seen here by the cached item turning from
/// a hit to a miss; it stayed a hit before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_restarted_after_kill_9_empties_the_caches() {
    let mut store = StoreProcess::spawn();
    let (proxy, client, table) = caching_node(&store, "crashed").await;
    put_v(&client, &table, "k", "v").await;
    wait_for_value(&client, &table, "k", Some("v")).await;
    let misses = metric(&proxy.endpoint(), "dax_item_cache_misses_total").await;
    assert_eq!(
        get_v(&client, &table, "k", false).await.as_deref(),
        Some("v")
    );
    assert_eq!(
        metric(&proxy.endpoint(), "dax_item_cache_misses_total").await,
        misses,
        "the node does not serve the item from its cache"
    );

    store.restart_in_place();
    let dropped = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            let before = metric(&proxy.endpoint(), "dax_item_cache_misses_total").await;
            let value = get_v(&client, &table, "k", false).await;
            assert_eq!(value.as_deref(), Some("v"));
            metric(&proxy.endpoint(), "dax_item_cache_misses_total").await > before
        },
    )
    .await;
    assert!(
        dropped,
        "the node still serves what it cached before the crash"
    );
}

/// A node that cannot read the change feed (here: a cluster secret the store does not
/// share) does not answer from its caches, which no write it hears of would correct: its
/// reads go to the store, so a write made straight at the store is seen at once, not after
/// the record TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_follow_the_feed_answers_from_the_store() {
    let store = StoreProcess::spawn();
    let args = ["--cluster-secret", "not-the-stores", "--record-ttl", "3600"];
    let proxy = ProxyProcess::spawn_with(&store.endpoint(), &args, &[]);
    let client = proxy.client();
    let direct = store.client();
    let table = unique_name("nofeed");
    create_hash_table(&direct, &table).await;
    put_v(&direct, &table, "k", "old").await;
    for _ in 0..3 {
        assert_eq!(
            get_v(&client, &table, "k", false).await.as_deref(),
            Some("old")
        );
    }
    put_v(&direct, &table, "k", "new").await;
    assert_eq!(
        get_v(&client, &table, "k", false).await.as_deref(),
        Some("new")
    );
    let hits = metric(&proxy.endpoint(), "dax_item_cache_hits_total").await;
    assert_eq!(
        hits, 0.0,
        "a node that cannot follow the feed answered from its cache"
    );
    // It says so, and why; a node with the right secret follows.
    assert_eq!(metric(&proxy.endpoint(), "dax_following_feed").await, 0.0);
    let (status, text) = health(&proxy).await;
    assert_eq!(status, 503);
    assert!(
        text.contains("not following") && text.contains("--cluster-secret"),
        "{text}"
    );
    let following = ProxyProcess::spawn(&store);
    let caught_up = wait_until(
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async { metric(&following.endpoint(), "dax_following_feed").await == 1.0 },
    )
    .await;
    assert!(caught_up, "a node with the store's secret never followed");
    assert_eq!(health(&following).await, (200, "ok".to_string()));
}

/// A node says it cannot follow the feed as soon as a read of it fails, not once its
/// caches stop answering (25 s after the last page): a load balancer should leave a node
/// whose store is gone at once. It answered 200 for those 25 s before. A store that is
/// merely idle (the long poll answers an empty page every 20 s) keeps the node healthy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_health_turns_503_as_soon_as_the_store_is_gone() {
    let mut store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    tokio::time::sleep(Duration::from_secs(26)).await;
    assert_eq!(health(&proxy).await, (200, "ok".to_string()));
    let (status, text) = get_text(&proxy, "/").await;
    assert!(status == 200 && text.starts_with("healthy: "), "{text}");

    store.kill9();
    let unhealthy = wait_until(
        Duration::from_secs(2),
        Duration::from_millis(50),
        || async { health(&proxy).await.0 == 503 },
    )
    .await;
    assert!(unhealthy, "/health: {:?}", health(&proxy).await);
    let (_, text) = health(&proxy).await;
    assert!(text.contains("not following"), "{text}");
    // DynamoDB's `healthy:` probe at `/`, which load balancers use, says the same (it
    // answered 200 whatever the node's state).
    let (status, text) = get_text(&proxy, "/").await;
    assert_eq!(status, 503, "{text}");
    assert!(text.contains("not following"), "{text}");
}

/// A node's `GET /health` answer: status and text.
async fn health(proxy: &ProxyProcess) -> (u16, String) {
    get_text(proxy, "/health").await
}

/// A node's answer to `GET <path>`: status and text.
async fn get_text(proxy: &ProxyProcess, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("{}{path}", proxy.endpoint()))
        .await
        .expect("GET");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

/// A node cut off from the store for longer than the store keeps its change log (paused
/// here, past a 1 s `--feed-retention`) finds the changes after its cursor trimmed away: it
/// must drop its caches, not serve what it cached before for its record TTL (an hour).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_past_the_log_retention_empties_its_caches() {
    let store = StoreProcess::spawn_with(StoreOptions {
        args: vec!["--feed-retention".into(), "1".into()],
        ..Default::default()
    });
    let (proxy, client, table) = caching_node(&store, "cutoff").await;
    put_v(&client, &table, "k", "old").await;
    wait_for_value(&client, &table, "k", Some("old")).await;

    proxy.pause();
    let direct = store.client();
    // The first write answers whatever feed request the node left waiting, so the change
    // to "k" can reach it only through a later request, which will find it trimmed.
    put_v(&direct, &table, "before", "x").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    put_v(&direct, &table, "k", "new").await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // The log keeps its newest record: this one, once the others are trimmed.
    put_v(&direct, &table, "after", "x").await;
    let trimmed = wait_until(
        Duration::from_secs(20),
        Duration::from_millis(200),
        || async { logged_keys(&store).await == ["after"] },
    )
    .await;
    assert!(
        trimmed,
        "the store kept changes older than its feed retention"
    );
    proxy.resume();

    // Without the reset the node applies "after" alone and serves "old" for the hour.
    wait_for_value(&client, &table, "k", Some("new")).await;
}

/// A client that stops sending mid-body is answered 408 at `--body-read-timeout` and no
/// longer holds one of the node's `--max-in-flight` places.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gives_back_its_place_at_a_node() {
    let store = StoreProcess::spawn();
    let args = ["--max-in-flight", "1", "--body-read-timeout", "1s"];
    let proxy = ProxyProcess::spawn_with(&store.endpoint(), &args, &[]);
    assert_stalled_body_gives_back_its_place(&proxy.endpoint()).await;
}

/// A node probes idle connections, so a crashed client's half-open one is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_probes_idle_connections() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn(&store);
    assert_idle_connections_are_probed(&proxy.endpoint()).await;
}

/// A node at `--max-in-flight` refuses the next call with ThrottlingException, before
/// reading its body, and takes calls again once one ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_at_its_in_flight_limit_throttles_until_a_call_ends() {
    let store = StoreProcess::spawn();
    let proxy = ProxyProcess::spawn_with(&store.endpoint(), &["--max-in-flight", "1"], &[]);
    assert_sheds_calls_past_one_in_flight(
        &proxy.endpoint(),
        "dax_throttled_requests_total",
        "dax_in_flight_requests",
    )
    .await;
}

/// A Query of GSI `byColor` for `color = red` (eventually consistent: cacheable), its
/// items in `pk` order, or the error code.
async fn red_by_color(
    client: &Client,
    table: &str,
) -> Result<Vec<std::collections::BTreeMap<String, String>>, String> {
    use integration_tests::aws_sdk_dynamodb::error::ProvideErrorMetadata;
    use integration_tests::aws_sdk_dynamodb::types::AttributeValue;
    let out = client
        .query()
        .table_name(table)
        .index_name("byColor")
        .key_condition_expression("color = :c")
        .expression_attribute_values(":c", s("red"))
        .send()
        .await
        .map_err(|e| e.code().unwrap_or("no code").to_string())?;
    // Attribute values as text, so that items compare and sort.
    let text = |v: &AttributeValue| match v {
        AttributeValue::S(s) => s.clone(),
        AttributeValue::N(n) => format!("N{n}"),
        other => format!("{other:?}"),
    };
    let mut items: Vec<_> = out
        .items()
        .iter()
        .map(|item| item.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .collect();
    items.sort_by(|a: &std::collections::BTreeMap<_, _>, b| a.get("pk").cmp(&b.get("pk")));
    Ok(items)
}

/// Polls DescribeTable until GSI `index` is ACTIVE (`true`) or gone (`false`).
async fn wait_gsi(direct: &Client, table: &str, index: &str, active: bool) {
    use integration_tests::aws_sdk_dynamodb::types::IndexStatus;
    let reached = wait_until(
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async {
            let out = ok(direct.describe_table().table_name(table).send().await);
            let status = out
                .table()
                .map(|t| t.global_secondary_indexes())
                .unwrap_or_default()
                .iter()
                .find(|i| i.index_name() == Some(index))
                .and_then(|i| i.index_status().cloned());
            match active {
                true => status == Some(IndexStatus::Active),
                false => status.is_none(),
            }
        },
    )
    .await;
    assert!(
        reached,
        "GSI {index} never became {}",
        if active { "ACTIVE" } else { "gone" }
    );
}

/// A GSI deleted and created again under its name straight at the store, with another key
/// schema and projection, stops answering from every node's query cache (one invalidating,
/// one `ttl-only`, one of them the primary) as soon as the store changes it, not when the
/// pages' hour-long TTL ends: no item write ever names those pages, so only the store's
/// notice that the table's indexes changed can retire them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_changed_at_the_store_is_not_served_from_old_pages() {
    use integration_tests::aws_sdk_dynamodb::types::{
        CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
        GlobalSecondaryIndexUpdate, KeyType, ProjectionType, ScalarAttributeType,
    };
    let store = StoreProcess::spawn();
    let direct = store.client();
    let table = unique_name("proxyindex");
    ok(direct
        .create_table()
        .table_name(&table)
        .billing_mode(integration_tests::aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .key_schema(key_element("pk", KeyType::Hash))
        .attribute_definitions(attribute_definition("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute_definition("color", ScalarAttributeType::S))
        .global_secondary_indexes(gsi_projecting_all("byColor", "color").build().unwrap())
        .send()
        .await);
    wait_table_active(&direct, &table).await;
    // `b` has no `size`: the index made again, sorted by `size`, leaves it out.
    for (pk, size) in [("a", Some(2)), ("b", None), ("c", Some(1))] {
        let mut put = direct
            .put_item()
            .table_name(&table)
            .item("pk", s(pk))
            .item("color", s(if pk == "c" { "blue" } else { "red" }))
            .item("note", s("projected"));
        if let Some(size) = size {
            put = put.item("size", n(size));
        }
        ok(put.send().await);
    }
    let old = red_by_color(&direct, &table).await.unwrap();
    assert_eq!(old.len(), 2);

    let args = ["--query-ttl", "1h"];
    let nodes = [
        ProxyProcess::spawn_with(&store.endpoint(), &args, &[]),
        ProxyProcess::spawn_with(
            &store.endpoint(),
            &[&args[..], &["--query-cache-coherence", "ttl-only"]].concat(),
            &[],
        ),
    ];
    let name = |node: &ProxyProcess| match node.endpoint() == nodes[0].endpoint() {
        true => "the invalidating node",
        false => "the ttl-only node",
    };
    primary_of(&[&nodes[0], &nodes[1]]).await;
    for node in &nodes {
        let client = node.client();
        // Until a page answers from the cache: the node may still be catching up with the
        // feed (a fill racing a change it has not applied is refused).
        let cached = wait_until(
            Duration::from_secs(10),
            Duration::from_millis(20),
            || async {
                assert_eq!(red_by_color(&client, &table).await.as_ref(), Ok(&old));
                metric(&node.endpoint(), "dax_query_cache_hits_total").await >= 1.0
            },
        )
        .await;
        assert!(cached, "{} never cached the page", name(node));
    }

    let update = |action: GlobalSecondaryIndexUpdate| {
        direct
            .update_table()
            .table_name(&table)
            .global_secondary_index_updates(action)
    };
    ok(update(
        GlobalSecondaryIndexUpdate::builder()
            .delete(
                DeleteGlobalSecondaryIndexAction::builder()
                    .index_name("byColor")
                    .build()
                    .unwrap(),
            )
            .build(),
    )
    .send()
    .await);
    wait_gsi(&direct, &table, "byColor", false).await;
    // The store no longer has the index: neither does any node.
    let gone = red_by_color(&direct, &table).await;
    assert_eq!(gone, Err("ValidationException".to_string()));
    for node in &nodes {
        let client = node.client();
        let same = wait_until(
            Duration::from_secs(10),
            Duration::from_millis(20),
            || async { red_by_color(&client, &table).await == gone },
        )
        .await;
        assert!(same, "{} served the deleted index", name(node));
    }

    ok(update(
        GlobalSecondaryIndexUpdate::builder()
            .create(
                CreateGlobalSecondaryIndexAction::builder()
                    .index_name("byColor")
                    .key_schema(key_element("color", KeyType::Hash))
                    .key_schema(key_element("size", KeyType::Range))
                    .projection(projection(ProjectionType::KeysOnly, &[]))
                    .build()
                    .unwrap(),
            )
            .build(),
    )
    .attribute_definitions(attribute_definition("color", ScalarAttributeType::S))
    .attribute_definitions(attribute_definition("size", ScalarAttributeType::N))
    .send()
    .await);
    wait_gsi(&direct, &table, "byColor", true).await;
    let new = red_by_color(&direct, &table).await.unwrap();
    assert_eq!(new.len(), 1, "{new:?}");
    assert_ne!(new, old);
    for node in &nodes {
        let client = node.client();
        let same = wait_until(
            Duration::from_secs(10),
            Duration::from_millis(20),
            || async { red_by_color(&client, &table).await.as_ref() == Ok(&new) },
        )
        .await;
        assert!(same, "{} served the old index", name(node));
    }
}
