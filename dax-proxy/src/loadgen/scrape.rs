//! Reads the proxies' cache counters from their Prometheus `/metrics`.
//!
//! The run reads every metrics URL before and after the load and reports the difference, so
//! the hit ratio from the counters can be checked against the one from `x-dax-cache` headers.
//! The counters count cache lookups (a BatchGetItem of 10 keys is 10 lookups) while headers
//! count responses, so the two agree exactly only for single-key operations.
//!
//! A URL that does not answer (e.g. the store, which has no cache counters) contributes
//! nothing and is listed as unavailable; it never fails the run.

use serde::Serialize;

use super::client::{http_get, Endpoint};

/// Cache counters summed over the item, query and scan caches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CacheCounters {
    pub item_hits: f64,
    pub item_misses: f64,
    pub query_hits: f64,
    pub query_misses: f64,
    pub scan_hits: f64,
    pub scan_misses: f64,
}

impl CacheCounters {
    pub fn hits(&self) -> f64 {
        self.item_hits + self.query_hits + self.scan_hits
    }

    pub fn misses(&self) -> f64 {
        self.item_misses + self.query_misses + self.scan_misses
    }

    pub fn minus(&self, before: &CacheCounters) -> CacheCounters {
        CacheCounters {
            item_hits: self.item_hits - before.item_hits,
            item_misses: self.item_misses - before.item_misses,
            query_hits: self.query_hits - before.query_hits,
            query_misses: self.query_misses - before.query_misses,
            scan_hits: self.scan_hits - before.scan_hits,
            scan_misses: self.scan_misses - before.scan_misses,
        }
    }

    pub fn add(&mut self, other: &CacheCounters) {
        self.item_hits += other.item_hits;
        self.item_misses += other.item_misses;
        self.query_hits += other.query_hits;
        self.query_misses += other.query_misses;
        self.scan_hits += other.scan_hits;
        self.scan_misses += other.scan_misses;
    }
}

/// Parses the cache counters out of Prometheus text; `None` when none is present.
pub fn parse(text: &str) -> Option<CacheCounters> {
    let mut counters = CacheCounters::default();
    let mut found = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(|c: char| c == '{' || c.is_whitespace())
            .unwrap_or(line.len());
        let name = &line[..name_end];
        let slot = match name {
            "dax_item_cache_hits_total" => &mut counters.item_hits,
            "dax_item_cache_misses_total" => &mut counters.item_misses,
            "dax_query_cache_hits_total" => &mut counters.query_hits,
            "dax_query_cache_misses_total" => &mut counters.query_misses,
            "dax_scan_cache_hits_total" => &mut counters.scan_hits,
            "dax_scan_cache_misses_total" => &mut counters.scan_misses,
            _ => continue,
        };
        // The value follows the labels; an optional timestamp may follow it.
        let rest = match line.rfind('}') {
            Some(at) if line[..name_end].len() < at => &line[at + 1..],
            _ => &line[name_end..],
        };
        if let Some(value) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            *slot += value;
            found = true;
        }
    }
    found.then_some(counters)
}

/// Reads one metrics URL (`http://host:port/path`).
pub async fn read(url: &str) -> Result<CacheCounters, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: metrics URL must be http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/metrics"),
    };
    let endpoint = Endpoint::resolve(&format!("http://{authority}")).await?;
    let (status, body) =
        tokio::time::timeout(std::time::Duration::from_secs(5), http_get(&endpoint, path))
            .await
            .map_err(|_| format!("{url}: timed out"))??;
    if status != 200 {
        return Err(format!("{url}: HTTP {status}"));
    }
    parse(&String::from_utf8_lossy(&body)).ok_or_else(|| format!("{url}: no cache counters"))
}

/// Reads every URL; the sum over those that answered, and the ones that did not.
pub async fn read_all(urls: &[String]) -> (Option<CacheCounters>, Vec<String>) {
    let mut total: Option<CacheCounters> = None;
    let mut failed = Vec::new();
    for url in urls {
        match read(url).await {
            Ok(c) => total.get_or_insert_with(CacheCounters::default).add(&c),
            Err(e) => failed.push(e),
        }
    }
    (total, failed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_counters_with_and_without_labels() {
        let text = "# TYPE dax_item_cache_hits_total counter\n\
                    dax_item_cache_hits_total 10\n\
                    dax_item_cache_misses_total{node=\"a\"} 4\n\
                    dax_item_cache_misses_total{node=\"b\"} 1 1700000000\n\
                    dax_query_cache_hits_total 3\n\
                    dax_item_cache_hits_total_other 99\n\
                    dax_requests_total{op=\"GetItem\"} 100\n";
        let c = parse(text).unwrap();
        assert_eq!(c.item_hits, 10.0);
        assert_eq!(c.item_misses, 5.0);
        assert_eq!(c.query_hits, 3.0);
        assert_eq!(c.hits(), 13.0);
        assert_eq!(c.misses(), 5.0);
        assert!(parse("store_requests_total 5\n").is_none());
    }

    #[test]
    fn difference_of_scrapes() {
        let before = CacheCounters {
            item_hits: 5.0,
            item_misses: 1.0,
            ..Default::default()
        };
        let after = CacheCounters {
            item_hits: 15.0,
            item_misses: 3.0,
            ..Default::default()
        };
        let d = after.minus(&before);
        assert_eq!((d.hits(), d.misses()), (10.0, 2.0));
    }
}
