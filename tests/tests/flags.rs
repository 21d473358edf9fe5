//! Flag forms: the store and dax-proxy take the same forms of a duration (plain seconds or
//! a unit: `500ms`, `60s`, `2m`), of a size (plain in the flag's unit, or `KiB`, `MiB`,
//! `GiB`) and of a boolean (`1`/`0`, `yes`/`no`, `on`/`off` as well as `true`/`false`),
//! here from the environment, as a container or a unit file sets them
//! (`shared::flags`); and both refuse, as a usage error (exit status 2) saying why, a
//! duration finer than a millisecond or a size that is not a whole number of bytes.

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
            ("STORE_KEEP_ALIVE_TIMEOUT", "2M"),
            ("STORE_TTL_SWEEP_INTERVAL", "500ms"),
            ("STORE_TRIGGER_RETRY_BASE", "0.5"),
            ("STORE_CACHE_MB", "64MiB"),
            ("STORE_PARTITION_CACHE_MB", "8MiB"),
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
            ("DAX_LEASE_TTL", "3000MS"),
            ("DAX_QUERY_CACHE_COHERENCE", "TTL-Only"),
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

/// The exit status of `binary` run with `args` (`None` if it was still running after ten
/// seconds: it took them, and was killed) and its stderr.
fn run_briefly(name: &str, var: &str, args: &[&str]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(binary_path(name, var))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status, stderr)
}

/// A timeout finer than a millisecond cannot be honoured, and a fraction of a byte cannot
/// be had: both are refused at start, naming the flag and why, not rounded to something
/// else.
#[test]
fn daemons_refuse_durations_and_sizes_they_cannot_honour() {
    let store = "http://127.0.0.1:9";
    for (name, var, args, why) in [
        (
            "store",
            "STORE_BIN",
            vec!["--in-memory", "--body-read-timeout", "0.5ms"],
            "not a whole number of milliseconds",
        ),
        (
            "store",
            "STORE_BIN",
            vec!["--in-memory", "--contributor-insights-period", "1.5"],
            "not a whole number of seconds",
        ),
        (
            "store",
            "STORE_BIN",
            vec!["--in-memory", "--region", "us-east-1:evil/x"],
            "is not a region name",
        ),
        (
            "dax-proxy",
            "DAX_PROXY_BIN",
            vec!["--store", store, "--header-read-timeout", "0.0001"],
            "not a whole number of milliseconds",
        ),
        (
            "dax-proxy",
            "DAX_PROXY_BIN",
            vec!["--store", store, "--item-cache-bytes", "1048576.5"],
            "not a whole number of bytes",
        ),
    ] {
        let (status, stderr) = run_briefly(name, var, &args);
        assert_eq!(status, Some(2), "{name} {args:?}: {stderr}");
        assert!(stderr.contains(why), "{name} {args:?}: {stderr}");
        assert!(stderr.contains(args[args.len() - 2]), "{name}: {stderr}");
    }
}

/// `--listen` takes a host name, as the README's `HOST:PORT` says (only literal IPs were
/// taken): the store and a node listen on its address.
#[test]
fn daemons_listen_on_a_host_name() {
    use std::io::BufRead as _;
    for (name, var, args) in [
        ("store", "STORE_BIN", vec!["--in-memory"]),
        (
            "dax-proxy",
            "DAX_PROXY_BIN",
            vec!["--store", "http://127.0.0.1:9"],
        ),
    ] {
        let mut child = std::process::Command::new(binary_path(name, var))
            .args(["--listen", "localhost:0"])
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        let listening = format!("{name} listening on ");
        let address = line.trim().strip_prefix(&listening).unwrap_or_default();
        let address: std::net::SocketAddr = address
            .parse()
            .unwrap_or_else(|_| panic!("{name} printed {line:?}"));
        assert_eq!(
            address.ip().to_string(),
            "127.0.0.1",
            "{name} printed {line:?}"
        );
    }
}

/// dax-loadgen's boolean variables take the same words as the daemons' (`yes`, `1`, `off`),
/// as the README says of all three binaries (only `true`/`false` were taken).
#[test]
fn the_load_generator_takes_boolish_words() {
    let output = std::process::Command::new(binary_path("dax-loadgen", "DAX_LOADGEN_BIN"))
        .args(["--endpoint", "http://127.0.0.1:9", "--requests", "1"])
        .env("DAX_LOADGEN_SKIP_SETUP", "yes")
        .env("DAX_LOADGEN_NO_PROGRESS", "1")
        .env("DAX_LOADGEN_PRELOAD", "off")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Past the flags: the run itself finds nothing listening there.
    assert!(
        stderr.contains("unreachable") && !stderr.contains("invalid value"),
        "{stderr}"
    );
}
