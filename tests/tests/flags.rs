//! Flag forms: the store and dax-proxy take the same forms of a duration (plain seconds or
//! a unit: `500ms`, `60s`, `2m`), of a size (plain in the flag's unit, or `KiB`, `MiB`,
//! `GiB`) and of a boolean (`1`/`0`, `yes`/`no`, `on`/`off` as well as `true`/`false`),
//! here from the environment, as a container or a unit file sets them
//! (`shared::flags`).

use integration_tests::*;

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_store_starts_with_units_and_boolish_words() {
    let store = StoreProcess::spawn_with(StoreOptions {
        env: env(&[
            ("STORE_IN_MEMORY", "1"),
            ("STORE_DURABLE", "off"),
            ("STORE_BODY_READ_TIMEOUT", "60s"),
            ("STORE_KEEP_ALIVE_TIMEOUT", "2m"),
            ("STORE_TTL_SWEEP_INTERVAL", "500ms"),
            ("STORE_TRIGGER_RETRY_BASE", "0.5"),
            ("STORE_CACHE_MB", "64MiB"),
            ("STORE_IDLE_COMPACTION_AFTER", "1m"),
        ]),
        ..Default::default()
    });
    assert_eq!(http_get_status(store.addr(), "/health"), Some(200));
}

#[test]
fn a_proxy_node_starts_with_units_and_boolish_words() {
    let store = StoreProcess::spawn();
    let node = ProxyProcess::spawn_with(
        &store.endpoint(),
        &[],
        &env(&[
            ("DAX_ITEM_CACHE_BYTES", "1MiB"),
            ("DAX_QUERY_CACHE_BYTES", "512KiB"),
            ("DAX_CACHE_HEADER", "yes"),
            ("DAX_BODY_READ_TIMEOUT", "60"),
            ("DAX_RECORD_TTL", "1.5"),
            ("DAX_LEASE_TTL", "3000ms"),
        ]),
    );
    let addr = node
        .endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let healthy = (0..200).any(|_| {
        let ok = http_get_status(addr, "/health") == Some(200);
        if !ok {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        ok
    });
    assert!(healthy, "{:?}", http_get(addr, "/health"));
}
