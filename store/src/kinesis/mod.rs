//! Kinesis streaming destinations: a table's item changes sent, as DynamoDB sends them, to
//! a Kinesis data stream.
//!
//! EnableKinesisStreamingDestination records a destination in the table's catalog entry
//! and switches the change log to keeping both images of the table's changes; the
//! destination starts with the changes after that switch. [`deliver`] then sends them in
//! commit order with PutRecords to `--kinesis-endpoint` (any Kinesis-compatible service),
//! at least once: a worker keeps a durable checkpoint and retries a failed call with
//! backoff until it succeeds or the destination is disabled. A table streams to one Kinesis
//! data stream at a time, as in DynamoDB.
//!
//! Each Kinesis record's data is the JSON DynamoDB writes: `eventID`, `eventName`
//! (INSERT/MODIFY/REMOVE), `tableName`, `recordFormat`, `eventSource`, `awsRegion`,
//! `userIdentity` (the TTL service for TTL deletes) and `dynamodb` with
//! `ApproximateCreationDateTime` (in the destination's precision), `Keys`, `NewImage`,
//! `OldImage` and `SizeBytes`. Its partition key is derived from the item's key, so one
//! item's changes stay in order on one shard.
//!
//! Metrics, by table: `store_kinesis_records_delivered_total`, `store_kinesis_retries_total`,
//! `store_kinesis_lag_seconds` (age of the oldest change not yet accepted),
//! `store_kinesis_trimmed_records_total` (changes the log's retention dropped before a
//! long outage of the endpoint ended) and `store_kinesis_oversized_records_total`
//! (changes whose record is over PutRecords' 1 MiB limit, which no call can carry: they
//! are logged and skipped); they leave `/metrics` with the destination
//! (`crate::owned_metrics`).

pub mod deliver;

/// Records Kinesis accepted, by table.
pub const RECORDS_DELIVERED_TOTAL: &str = "store_kinesis_records_delivered_total";
/// PutRecords calls sent again (a failed call, or refused records), by table.
pub const RETRIES_TOTAL: &str = "store_kinesis_retries_total";
/// Age of the oldest change not yet accepted (0 when caught up), by table.
pub const LAG_SECONDS: &str = "store_kinesis_lag_seconds";
/// Changes the log trimmed before they could be sent, by table.
pub const TRIMMED_TOTAL: &str = "store_kinesis_trimmed_records_total";
/// Changes skipped because their record is over PutRecords' limit for one record, by table.
pub const OVERSIZED_TOTAL: &str = "store_kinesis_oversized_records_total";

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::catalog::meta::{read_setting, write_setting};
use crate::catalog::TableMeta;

/// `TableMeta.settings` key of a table's destinations.
const SETTINGS_KEY: &str = "kinesis_destinations";

pub const ACTIVE: &str = "ACTIVE";
pub const DISABLED: &str = "DISABLED";
pub const PRECISIONS: &[&str] = &["MILLISECOND", "MICROSECOND"];

/// Where destinations deliver: `--kinesis-endpoint`, parsed once at start-up, with the
/// `host` header value its requests are signed with.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: reqwest::Url,
    pub host: String,
}

impl Endpoint {
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let invalid = || format!("--kinesis-endpoint {text:?} is not an http(s)://HOST[:PORT] URL");
        let url = reqwest::Url::parse(text).map_err(|_| invalid())?;
        let host = match (url.host_str(), url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => return Err(invalid()),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid());
        }
        Ok(Endpoint { url, host })
    }
}

/// One destination of a table, as its catalog entry keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    pub stream_arn: String,
    /// [`ACTIVE`] or [`DISABLED`].
    pub status: String,
    /// `ApproximateCreationDateTimePrecision`: MILLISECOND or MICROSECOND.
    pub precision: String,
    /// The change log's head when it was enabled: it carries the changes after it.
    pub start_seq: u64,
}

pub fn destinations(table: &TableMeta) -> Vec<Destination> {
    read_setting(&table.settings, SETTINGS_KEY).unwrap_or_default()
}

pub fn store_destinations(table: &mut TableMeta, destinations: &[Destination]) {
    // Lists of strings and numbers always serialize.
    let _ = write_setting(&mut table.settings, SETTINGS_KEY, &destinations);
}

/// The table's active destination, if any.
pub fn active(table: &TableMeta) -> Option<Destination> {
    destinations(table).into_iter().find(|d| d.status == ACTIVE)
}

/// Whether `arn` names a Kinesis data stream: `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
pub fn is_stream_arn(arn: &str) -> bool {
    let Some(arn) = crate::arn::parse(arn) else {
        return false;
    };
    let name = arn.resource.strip_prefix("stream/").unwrap_or_default();
    arn.partition.starts_with("aws")
        && arn.service == "kinesis"
        && !arn.region.is_empty()
        && arn.account.len() == 12
        && arn.account.bytes().all(|b| b.is_ascii_digit())
        && (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `KinesisDataStreamDestination`, as DescribeKinesisStreamingDestination lists it.
pub fn describe(destination: &Destination) -> Value {
    serde_json::json!({
        "StreamArn": destination.stream_arn,
        "DestinationStatus": destination.status,
        "ApproximateCreationDateTimePrecision": destination.precision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_http_urls_with_a_host() {
        let endpoint = Endpoint::parse("http://127.0.0.1:4567").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(endpoint.host, "127.0.0.1:4567");
        assert_eq!(
            Endpoint::parse("https://kinesis.us-east-1.amazonaws.com").map(|e| e.host),
            Ok("kinesis.us-east-1.amazonaws.com".to_string())
        );
        for bad in ["localhost:4567", "ftp://host", "not a url"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinesis_stream_arns_are_recognised() {
        assert!(is_stream_arn(
            "arn:aws:kinesis:us-east-1:123456789012:stream/orders-changes"
        ));
        for bad in [
            "arn:aws:kinesis:us-east-1:123456789012:stream/",
            "arn:aws:sqs:us-east-1:123456789012:stream/x",
            "arn:aws:kinesis:us-east-1:1234:stream/x",
            "arn:aws:kinesis:us-east-1:123456789012:table/x",
            "arn:aws:kinesis:us-east-1:123456789012:stream/a b",
            "stream/x",
        ] {
            assert!(!is_stream_arn(bad), "{bad}");
        }
    }
}
