//! Delivery to Kinesis: a supervisor that keeps one worker per active destination, and the
//! worker that sends a table's changes with PutRecords.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};
use shared::model::size::item_size;
use shared::wire::sigv4::sign::{Credentials, Signer};

use super::{
    active, Destination, LAG_SECONDS, OVERSIZED_TOTAL, RECORDS_DELIVERED_TOTAL, RETRIES_TOTAL,
    TRIMMED_TOTAL,
};
use crate::app::App;
use crate::catalog::TableMeta;
use crate::log_cursor::{Follower, Next};
use crate::owned_metrics::Scope;
use crate::storage::{Cause, ChangeRecord};
use crate::triggers::dispatch::backoff;
use crate::workers::Workers;

/// PutRecords' limit on records per call.
const RECORDS_PER_CALL: usize = 500;
/// PutRecords' limit on one record: its data (before base64) and partition key, in bytes.
/// Kinesis refuses a whole call with a record over it.
const RECORD_BYTES: usize = 1024 * 1024;
/// PutRecords' limit on one call: its records' data and partition keys, in bytes.
const CALL_BYTES: usize = 5 * 1024 * 1024;
/// How often the supervisor looks for destinations enabled, changed or disabled.
const SUPERVISE_EVERY: Duration = Duration::from_millis(500);
/// The first retry's pause; retries double it up to `triggers::dispatch`'s cap.
const RETRY_BASE: Duration = Duration::from_millis(100);
const CHECKPOINT_PREFIX: &str = "kinesis/checkpoint/";

/// Runs workers for the active destinations of every table, restarting one whose
/// destination was enabled anew and stopping one whose destination is gone (a worker
/// follows precision updates itself). Returns at once when
/// the store has no `--kinesis-endpoint`.
pub async fn run_supervisor(app: Arc<App>) {
    let Some(endpoint) = app.config.kinesis_endpoint.clone() else {
        return;
    };
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the Kinesis HTTP client");
            return;
        }
    };
    // A destination enabled anew (another stream or start) starts its worker over.
    let mut workers: Workers<(String, String, u64)> = Workers::default();
    loop {
        let mut wanted = HashMap::new();
        for table in app.catalog.all() {
            if let Some(destination) = active(&table) {
                let key = (
                    table.table_uuid.clone(),
                    destination.stream_arn.clone(),
                    destination.start_seq,
                );
                wanted.insert(key, (table, destination));
            }
        }
        workers.reconcile(wanted, |(uuid, arn, _), (table, destination)| {
            let worker = Worker {
                app: Arc::clone(&app),
                client: client.clone(),
                endpoint: endpoint.clone(),
                table_name: table.name().to_string(),
                table_id: table.table_id(),
                checkpoint: format!("{CHECKPOINT_PREFIX}{uuid}/{arn}"),
                series: Series::of(&app, &table, &destination),
                destination,
            };
            worker.run()
        });
        tokio::select! {
            _ = tokio::time::sleep(SUPERVISE_EVERY) => {}
            _ = app.stopped() => return,
        }
    }
}

/// Sends one table's changes to one destination.
struct Worker {
    app: Arc<App>,
    client: reqwest::Client,
    endpoint: super::Endpoint,
    table_name: String,
    table_id: u64,
    /// Meta key of the last delivered sequence number.
    checkpoint: String,
    destination: Destination,
    series: Series,
}

/// A destination's metric series, resolved once per worker; they leave `/metrics` when
/// the destination is disabled or its table deleted (`crate::owned_metrics`).
struct Series {
    lag: ::metrics::Gauge,
    trimmed: ::metrics::Counter,
    retries: ::metrics::Counter,
    delivered: ::metrics::Counter,
    oversized: ::metrics::Counter,
}

impl Series {
    fn of(app: &App, table: &TableMeta, destination: &Destination) -> Series {
        let scope = Scope::kinesis(table, destination.start_seq);
        let series = &app.owned_metrics;
        Series {
            lag: series.gauge(&scope, LAG_SECONDS),
            trimmed: series.counter(&scope, TRIMMED_TOTAL),
            retries: series.counter(&scope, RETRIES_TOTAL),
            delivered: series.counter(&scope, RECORDS_DELIVERED_TOTAL),
            oversized: series.counter(&scope, OVERSIZED_TOTAL),
        }
    }
}

impl Worker {
    async fn run(self) {
        let storage = &self.app.storage;
        let start = self.destination.start_seq;
        let lag = self.series.lag.clone();
        let mut follower = Follower::resume(&self.app, self.checkpoint.clone(), start, lag).await;
        let mut signer = Signer::new(Credentials {
            service: "kinesis".to_string(),
            ..Credentials::from_env(stream_region(&self.destination.stream_arn))
        });
        loop {
            let read =
                |after| storage.table_changes(self.table_id, after, u64::MAX, RECORDS_PER_CALL);
            let next = follower
                .next(&self.app, "kinesis", read, |r| r.seq, |r| r.time_ms)
                .await;
            match next {
                // Records below the trim horizon are gone (retention passed while the
                // endpoint was down): count them and go on.
                Next::Trimmed(first, last) => {
                    tracing::warn!(table = %self.table_name, first, last, "changes trimmed before Kinesis accepted them");
                    self.series.trimmed.increment(last - first + 1);
                }
                Next::Changes { last, records } => {
                    let precision = self.precision();
                    let records = records
                        .iter()
                        .filter(|change| change.is_shown())
                        .filter_map(|change| self.sendable(change, &precision))
                        .collect();
                    for call in calls(records) {
                        self.put_records(&mut signer, call, &follower).await;
                    }
                    follower.handled(&self.app, last, RETRY_BASE).await;
                }
            }
        }
    }

    /// The destination's precision now: UpdateKinesisStreamingDestination changes it for
    /// the changes sent after it.
    fn precision(&self) -> String {
        self.app
            .catalog
            .get(&self.table_name)
            .and_then(|table| active(&table))
            .filter(|d| d.stream_arn == self.destination.stream_arn)
            .map_or_else(|| self.destination.precision.clone(), |d| d.precision)
    }

    /// The change's Kinesis record, unless it is over [`RECORD_BYTES`]: no call could
    /// carry it, and retrying it would hold up every change after it for good, so it is
    /// logged, counted and skipped.
    fn sendable(&self, change: &ChangeRecord, precision: &str) -> Option<KinesisRecord> {
        let record = self.kinesis_record(change, precision);
        if record.size() <= RECORD_BYTES {
            return Some(record);
        }
        tracing::error!(
            table = %self.table_name,
            stream = %self.destination.stream_arn,
            seq = change.seq,
            keys = %serde_json::to_string(&change.keys).unwrap_or_default(),
            bytes = record.size(),
            limit = RECORD_BYTES,
            "a change's Kinesis record is over PutRecords' limit for one record; skipped"
        );
        self.series.oversized.increment(1);
        None
    }

    /// The change as DynamoDB writes it, keyed by the item's key.
    fn kinesis_record(&self, change: &ChangeRecord, precision: &str) -> KinesisRecord {
        let micros = precision == "MICROSECOND";
        let created = if micros {
            change.time_ms.saturating_mul(1000)
        } else {
            change.time_ms
        };
        let images = [&change.new_image, &change.old_image];
        let size = item_size(&change.keys)
            + images
                .iter()
                .filter_map(|image| image.as_ref().map(item_size))
                .sum::<usize>();
        let mut dynamodb = json!({
            "ApproximateCreationDateTime": created,
            "ApproximateCreationDateTimePrecision": precision,
            "Keys": change.keys,
            "SizeBytes": size,
        });
        if let Some(new) = &change.new_image {
            dynamodb["NewImage"] = json!(new);
        }
        if let Some(old) = &change.old_image {
            dynamodb["OldImage"] = json!(old);
        }
        let identity = match change.cause {
            Cause::Ttl => json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"}),
            _ => Value::Null,
        };
        let data = json!({
            "awsRegion": self.app.config.region,
            "eventID": uuid::Uuid::new_v4().to_string(),
            "eventName": crate::streams::records::event_name(change),
            "userIdentity": identity,
            "recordFormat": "application/json",
            "tableName": self.table_name,
            "dynamodb": dynamodb,
            "eventSource": "aws:dynamodb",
        });
        let key_text = serde_json::to_string(&change.keys).unwrap_or_default();
        KinesisRecord {
            data: data.to_string(),
            partition_key: format!("{:032x}", xxhash_rust::xxh3::xxh3_128(key_text.as_bytes())),
        }
    }

    /// Sends `records` (one call's worth, see [`calls`]), again and again with backoff,
    /// until every one is accepted: the records a call failed (Kinesis answers per record)
    /// are sent again on their own.
    async fn put_records(
        &self,
        signer: &mut Signer,
        mut records: Vec<KinesisRecord>,
        follower: &Follower,
    ) {
        let arn = &self.destination.stream_arn;
        let name = arn.rsplit('/').next().unwrap_or_default();
        let mut attempt = 0;
        while !records.is_empty() {
            if attempt > 0 {
                follower.still_sending();
                self.series.retries.increment(1);
                tokio::time::sleep(backoff(RETRY_BASE, attempt)).await;
            }
            attempt += 1;
            let entries: Vec<Value> = records.iter().map(KinesisRecord::entry).collect();
            let body = json!({"StreamName": name, "StreamARN": arn, "Records": entries});
            match self.call(signer, body.to_string()).await {
                Ok(answer) => {
                    let sent = records.len();
                    records = rejected(records, &answer);
                    self.series
                        .delivered
                        .increment((sent - records.len()) as u64);
                }
                Err(e) => {
                    tracing::warn!(stream = %arn, error = %e, "PutRecords failed; retrying");
                }
            }
        }
    }

    async fn call(&self, signer: &mut Signer, body: String) -> Result<Value, String> {
        let date = shared::wire::sigv4::amz_date(shared::clock::now_secs());
        let headers = signer.json_call_headers(
            &self.endpoint.host,
            "application/x-amz-json-1.1",
            "Kinesis_20131202.PutRecords",
            body.as_bytes(),
            &date,
        );
        let mut request = self.client.post(self.endpoint.url.clone());
        for (name, value) in &headers {
            request = request.header(*name, value.as_ref());
        }
        let response = request.body(body).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("HTTP {}: {text}", status.as_u16()));
        }
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }
}

/// One Kinesis record: its data (the JSON DynamoDB writes) and partition key.
#[derive(Debug, Clone, PartialEq)]
struct KinesisRecord {
    data: String,
    partition_key: String,
}

impl KinesisRecord {
    /// What counts against PutRecords' limits: the data's bytes before base64 and the
    /// partition key's.
    fn size(&self) -> usize {
        self.data.len() + self.partition_key.len()
    }

    /// The record as a PutRecords `Records` entry.
    fn entry(&self) -> Value {
        json!({
            "Data": base64::engine::general_purpose::STANDARD.encode(&self.data),
            "PartitionKey": self.partition_key,
        })
    }
}

/// `records` (each within [`RECORD_BYTES`]) cut, in order, into PutRecords calls of at most
/// [`RECORDS_PER_CALL`] records and [`CALL_BYTES`]: Kinesis refuses a call over either,
/// and sending it again would never help.
fn calls(records: Vec<KinesisRecord>) -> Vec<Vec<KinesisRecord>> {
    let mut calls = Vec::new();
    let mut call: Vec<KinesisRecord> = Vec::new();
    let mut bytes = 0;
    for record in records {
        let full = call.len() == RECORDS_PER_CALL || bytes + record.size() > CALL_BYTES;
        if full && !call.is_empty() {
            calls.push(std::mem::take(&mut call));
            bytes = 0;
        }
        bytes += record.size();
        call.push(record);
    }
    if !call.is_empty() {
        calls.push(call);
    }
    calls
}

/// The records a PutRecords answer did not accept (each answer entry with an `ErrorCode`),
/// in their order; all of them if the answer does not account for each.
fn rejected<T>(records: Vec<T>, answer: &Value) -> Vec<T> {
    let failed = answer["FailedRecordCount"].as_u64().unwrap_or(0);
    let results = answer["Records"].as_array();
    match results {
        Some(results) if results.len() == records.len() => records
            .into_iter()
            .zip(results)
            .filter(|(_, result)| result.get("ErrorCode").is_some())
            .map(|(record, _)| record)
            .collect(),
        _ if failed == 0 && results.is_some() => Vec::new(),
        _ => records,
    }
}

/// The region of a Kinesis stream ARN.
fn stream_region(arn: &str) -> &str {
    arn.split(':').nth(3).unwrap_or("us-east-1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_records_kinesis_refused_are_sent_again() {
        let records = vec![json!(1), json!(2), json!(3)];
        let answer = json!({"FailedRecordCount": 1, "Records": [
            {"SequenceNumber": "1", "ShardId": "s"},
            {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow"},
            {"SequenceNumber": "2", "ShardId": "s"}]});
        assert_eq!(rejected(records.clone(), &answer), vec![json!(2)]);
        let all_in = json!({"FailedRecordCount": 0, "Records": [{}, {}, {}]});
        assert!(rejected(records.clone(), &all_in).is_empty());
        assert_eq!(rejected(records.clone(), &json!({"odd": true})), records);
        assert_eq!(
            stream_region("arn:aws:kinesis:eu-west-1:123456789012:stream/s"),
            "eu-west-1"
        );
    }

    fn record(data_bytes: usize) -> KinesisRecord {
        KinesisRecord {
            data: "x".repeat(data_bytes),
            partition_key: "k".repeat(32),
        }
    }

    #[test]
    fn calls_stay_within_putrecords_limits() {
        let lengths = |calls: &[Vec<KinesisRecord>]| calls.iter().map(Vec::len).collect::<Vec<_>>();
        assert!(calls(Vec::new()).is_empty());
        // 1,201 small records: 500 a call.
        assert_eq!(lengths(&calls(vec![record(10); 1201])), [500, 500, 201]);
        // Records of about 390 KB: 13 fit in 5 MiB.
        let big = calls(vec![record(390_000); 22]);
        assert_eq!(lengths(&big), [13, 9]);
        // A record of exactly 1 MiB, and calls filled to exactly 5 MiB.
        let full = record(RECORD_BYTES - 32);
        assert_eq!(full.size(), RECORD_BYTES);
        assert_eq!(lengths(&calls(vec![full; 11])), [5, 5, 1]);
        for call in big {
            assert!(call.iter().map(KinesisRecord::size).sum::<usize>() <= CALL_BYTES);
        }
        // The order is kept.
        let numbered: Vec<KinesisRecord> = (0..600).map(record).collect();
        let rejoined: Vec<KinesisRecord> = calls(numbered.clone()).concat();
        assert_eq!(rejoined, numbered);
    }
}
