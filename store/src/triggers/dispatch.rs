//! The trigger dispatcher: a supervisor that keeps one worker per registered trigger, and
//! the worker that delivers batches (see the module docs of `triggers` for the contract).
//!
//! Invariants:
//! - A worker advances its checkpoint only after a batch was acknowledged by the target or
//!   written to the dead-letter table, and persists it before reading the next batch: a
//!   record is never skipped, and after a restart delivery resumes at the first
//!   unacknowledged record (at-least-once, in commit order).
//! - A trigger whose DELETE has answered sends nothing more: its worker checks the
//!   definition is still registered before each batch.
//! - Nothing blocks forever: every HTTP call has a timeout, every failure path sleeps and
//!   retries, and a batch that keeps failing goes to the dead-letter table after its
//!   retries, so one bad target holds up only its own trigger.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use shared::model::{AttributeValue, Item, Number, PrimaryKey};
use shared::wire::ops::create_table::CreateTableInput;

use super::{
    checkpoint_key, dead_letter_key, dead_letter_table_fault, get, list, Trigger, BATCHES_TOTAL,
    DEAD_LETTERED_TOTAL, DELIVERY_LATENCY_SECONDS, LAG_SECONDS, RECORDS_DELIVERED_TOTAL,
    RETRIES_TOTAL, TRIMMED_TOTAL, UNTIL_EXPIRED,
};
use crate::app::App;
use crate::catalog::meta::{attribute_definition, key_schema_elements};
use crate::log_cursor::LogCursor;
use crate::owned_metrics::Scope;
use crate::storage::{Cause, ChangeRecord, Mutation};
use crate::streams::records::stream_record;
use crate::streams::{self, sequence_number, StreamInfo};
use crate::workers::Workers;
use shared::clock::{millis, now_ms};

/// How often the supervisor looks for new, changed or deleted triggers.
const SUPERVISE_EVERY: Duration = Duration::from_millis(500);
/// Longest pause between delivery retries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Lambda's payload limit for a synchronous invocation: a batch whose event would pass it
/// is cut there (many HTTP targets refuse larger bodies, and the batch would then fail on
/// every retry and go to the dead-letter table).
const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;
/// Pause after an internal failure (storage, a missing stream) before trying again.
const FAILURE_PAUSE: Duration = Duration::from_secs(1);
/// A dead-letter record's `Record` attribute is left out above this size (the item
/// limit is 400 KB).
const MAX_DEAD_LETTER_RECORD: usize = 300 * 1024;

/// Starts and stops workers as triggers are created and deleted; runs forever.
pub async fn run_supervisor(app: Arc<App>) {
    // A trigger changed in any way starts its worker over.
    let mut workers: Workers<Trigger> = Workers::default();
    loop {
        match list(&app) {
            Ok(triggers) => {
                let wanted = triggers.into_iter().map(|t| (t, ())).collect();
                workers.reconcile(wanted, |trigger, ()| {
                    run_worker(Arc::clone(&app), trigger.clone())
                });
            }
            Err(e) => tracing::error!(error = %e, "cannot list triggers"),
        }
        tokio::time::sleep(SUPERVISE_EVERY).await;
    }
}

/// The delay before retry `attempt` (1-based): base × 2^(attempt-1), capped.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(MAX_BACKOFF)
}

/// One record in the Lambda event shape: the stream record plus `eventSourceARN`, with
/// Lambda's lowercase `userIdentity` members.
pub fn lambda_record(region: &str, stream: &StreamInfo, change: &ChangeRecord) -> Value {
    let record = stream_record(region, stream, change);
    let identity = record.user_identity.clone();
    let mut value = serde_json::to_value(&record).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.insert("eventSourceARN".into(), Value::String(stream.arn.clone()));
        if let Some(identity) = identity {
            map.insert(
                "userIdentity".into(),
                json!({"type": identity.r#type, "principalId": identity.principal_id}),
            );
        }
    }
    value
}

/// A trigger's metric series, resolved once per worker; they leave `/metrics` when the
/// trigger is deleted (`crate::owned_metrics`).
struct Series {
    lag: ::metrics::Gauge,
    trimmed: ::metrics::Counter,
    delivered_batches: ::metrics::Counter,
    dead_lettered_batches: ::metrics::Counter,
    delivered: ::metrics::Counter,
    latency: ::metrics::Histogram,
    dead_lettered: ::metrics::Counter,
    retries: ::metrics::Counter,
}

impl Series {
    fn of(app: &App, name: &str) -> Series {
        let scope = Scope::trigger(name);
        let series = &app.owned_metrics;
        Series {
            lag: series.gauge(&scope, LAG_SECONDS),
            trimmed: series.counter(&scope, TRIMMED_TOTAL),
            delivered_batches: series.counter(&scope.with("outcome", "ok"), BATCHES_TOTAL),
            dead_lettered_batches: series
                .counter(&scope.with("outcome", "dead_letter"), BATCHES_TOTAL),
            delivered: series.counter(&scope, RECORDS_DELIVERED_TOTAL),
            latency: series.seconds_histogram(&scope, DELIVERY_LATENCY_SECONDS),
            dead_lettered: series.counter(&scope, DEAD_LETTERED_TOTAL),
            retries: series.counter(&scope, RETRIES_TOTAL),
        }
    }
}

/// Delivers one worker's trigger forever.
async fn run_worker(app: Arc<App>, trigger: Trigger) {
    let config = app.config.change_log.clone();
    let client = match reqwest::Client::builder()
        .timeout(config.trigger_timeout)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, trigger = %trigger.trigger_name, "cannot build an HTTP client");
            return;
        }
    };
    let name = trigger.trigger_name.clone();
    let series = Series::of(&app, &name);
    let mut watch = app.storage.watch_seq();
    let mut cursor = LogCursor::resume(&app, checkpoint_key(&name), trigger.start_seq).await;
    loop {
        let stream = match streams::find_stream(&app, &trigger.stream_arn) {
            Ok(Some(stream)) => stream,
            // The stream expired or cannot be read now: nothing to deliver for the moment.
            _ => {
                tokio::time::sleep(FAILURE_PAUSE).await;
                continue;
            }
        };
        // Records below the trim horizon are gone: skip them (Lambda drops expired records).
        if let Some((first, last)) = cursor.skip_trimmed(&app) {
            tracing::warn!(trigger = %name, first, last, "trigger records expired before delivery");
            series.trimmed.increment(1);
        }
        let position = cursor.position;
        let end = stream.end_seq.unwrap_or(u64::MAX);
        // Read first: every record of the stream up to it is visible to the read below.
        let through = *watch.borrow_and_update();
        let (mut batch, read_to) =
            match read_batch(&app, &stream, position, end, trigger.batch_size) {
                Ok(read) => read,
                Err(()) => {
                    tokio::time::sleep(FAILURE_PAUSE).await;
                    continue;
                }
            };
        if let (true, Some(passed)) = (batch.is_empty(), read_to) {
            // Only changes the stream does not show: passed over.
            cursor
                .advance(&app, passed, config.trigger_retry_base)
                .await;
            continue;
        }
        if batch.is_empty() {
            cursor.pass_idle(&app, through.min(end)).await;
            series.lag.set(0.0);
            if position >= end {
                // The stream is closed and fully delivered.
                tokio::time::sleep(Duration::from_secs(5)).await;
            } else {
                let _ = tokio::time::timeout(Duration::from_secs(1), watch.changed()).await;
            }
            continue;
        }
        // Batching window: wait (bounded) for the batch to fill.
        let window_ms = trigger
            .maximum_batching_window_in_seconds
            .saturating_mul(1000);
        if window_ms > 0 {
            let oldest = batch.first().map_or(0, |r| r.time_ms);
            while batch.len() < trigger.batch_size {
                let now = now_ms();
                let deadline = oldest.saturating_add(window_ms);
                if now >= deadline {
                    break;
                }
                let _ =
                    tokio::time::timeout(Duration::from_millis(deadline - now), watch.changed())
                        .await;
                if let Ok((more, _)) = read_batch(&app, &stream, position, end, trigger.batch_size)
                {
                    batch = more;
                }
            }
        }
        // The supervisor stops the worker of a deleted (or redefined) trigger within
        // SUPERVISE_EVERY; until then this worker must not send a batch read after the
        // DELETE answered (it may hold writes made after it).
        match get(&app, &name) {
            Ok(Some(current)) if current == trigger => {}
            Ok(_) => return,
            Err(e) => {
                tracing::error!(trigger = %name, error = %e, "cannot read the trigger's definition");
                tokio::time::sleep(FAILURE_PAUSE).await;
                continue;
            }
        }
        let oldest = batch.first().map_or(0, |r| r.time_ms);
        series
            .lag
            .set(now_ms().saturating_sub(oldest) as f64 / 1000.0);
        let mut records: Vec<Value> = batch
            .iter()
            .map(|change| lambda_record(&app.config.region, &stream, change))
            .collect();
        let body = match event_within_limit(&records) {
            Ok(body) => body,
            Err(kept) => {
                // The records after the cut are the next batch's first.
                batch.truncate(kept);
                records.truncate(kept);
                json!({ "Records": records }).to_string()
            }
        };
        let expires_ms = oldest.saturating_add(millis(config.stream_retention));
        match deliver(
            &client,
            &trigger,
            &series.retries,
            body,
            config.trigger_retry_base,
            expires_ms,
        )
        .await
        {
            Ok(()) => {
                series.delivered_batches.increment(1);
                series.delivered.increment(batch.len() as u64);
                let now = now_ms();
                for change in &batch {
                    series
                        .latency
                        .record(now.saturating_sub(change.time_ms) as f64 / 1000.0);
                }
            }
            Err(failed) => {
                series.dead_lettered_batches.increment(1);
                tracing::warn!(trigger = %name, error = %failed.error, records = batch.len(), "trigger batch failed; dead-lettering it");
                // Retried until it is stored: the batch must not be lost.
                let mut attempt = 0;
                while let Err(e) =
                    dead_letter(&app, &trigger, &stream, &batch, &records, &failed).await
                {
                    attempt += 1;
                    tracing::error!(trigger = %name, error = %e, "cannot write to the dead-letter table");
                    tokio::time::sleep(backoff(config.trigger_retry_base, attempt)).await;
                }
                series.dead_lettered.increment(batch.len() as u64);
            }
        }
        let handled = batch.last().map_or(position, |r| r.seq);
        cursor
            .advance(&app, handled, config.trigger_retry_base)
            .await;
    }
}

/// The event `{"Records": records}` when it is within [`MAX_EVENT_BYTES`]; otherwise how
/// many of the first records fit in one (at least one: a record holds at most two 400 KB
/// images), as Lambda cuts a batch at its payload limit rather than sending it whole.
fn event_within_limit(records: &[Value]) -> Result<String, usize> {
    let body = json!({ "Records": records }).to_string();
    if body.len() <= MAX_EVENT_BYTES {
        return Ok(body);
    }
    // `{"Records":[` + records joined by commas + `]}`.
    let mut size = r#"{"Records":[]}"#.len();
    let mut kept = 0;
    for record in records {
        size += record.to_string().len() + usize::from(kept > 0);
        if size > MAX_EVENT_BYTES {
            break;
        }
        kept += 1;
    }
    Err(kept.max(1))
}

/// Of up to `limit` changes of the stream after `position` (and up to `end`), the ones
/// the stream shows (`ChangeRecord::is_shown`), and the last one read.
fn read_batch(
    app: &App,
    stream: &StreamInfo,
    position: u64,
    end: u64,
    limit: usize,
) -> Result<(Vec<ChangeRecord>, Option<u64>), ()> {
    let changes = app
        .storage
        .table_changes(stream.table_id, position, end, limit)
        .map_err(|e| tracing::error!(error = %e, "cannot read stream records for a trigger"))?;
    let last = changes.last().map(|change| change.seq);
    let shown = changes.into_iter().filter(ChangeRecord::is_shown).collect();
    Ok((shown, last))
}

/// A batch that failed for good: the last failure and how many tries were made.
struct Undelivered {
    error: String,
    tries: u64,
}

/// POSTs the batch, retrying failures with backoff until the trigger's retries are used
/// up or, with [`UNTIL_EXPIRED`], until `expires_ms` (when the batch's oldest record
/// leaves the stream).
async fn deliver(
    client: &reqwest::Client,
    trigger: &Trigger,
    retries: &::metrics::Counter,
    body: String,
    retry_base: Duration,
    expires_ms: u64,
) -> Result<(), Undelivered> {
    let mut last = String::new();
    let mut attempt: u32 = 0;
    loop {
        if attempt > 0 {
            let more = if trigger.maximum_retry_attempts == UNTIL_EXPIRED {
                now_ms() < expires_ms
            } else {
                i64::from(attempt) <= trigger.maximum_retry_attempts
            };
            if !more {
                return Err(Undelivered {
                    error: last,
                    tries: u64::from(attempt),
                });
            }
            retries.increment(1);
            tokio::time::sleep(backoff(retry_base, attempt)).await;
        }
        attempt = attempt.saturating_add(1);
        let sent = client
            .post(&trigger.url)
            .header("content-type", "application/json")
            .header("x-store-trigger", trigger.trigger_name.as_str())
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => return Ok(()),
            Ok(response) => last = format!("HTTP {}", response.status().as_u16()),
            Err(e) if e.is_timeout() => last = "timed out".to_string(),
            Err(e) => last = format!("request failed: {e}"),
        }
    }
}

/// The dead-letter table `name`, made if needed ([`dead_letter_key`], on-demand billing).
/// One of that name that cannot take dead letters ([`dead_letter_table_fault`]: another
/// key, or replicas given to it since the trigger was made) is refused.
async fn ensure_dead_letter_table(
    app: &App,
    name: &str,
) -> Result<std::sync::Arc<crate::catalog::TableMeta>, String> {
    if app.catalog.get(name).is_none() {
        let key = dead_letter_key();
        let input = CreateTableInput {
            table_name: Some(name.to_string()),
            attribute_definitions: Some(
                std::iter::once(&key.hash)
                    .chain(&key.range)
                    .map(attribute_definition)
                    .collect(),
            ),
            key_schema: Some(key_schema_elements(&key)),
            billing_mode: Some("PAY_PER_REQUEST".to_string()),
            ..CreateTableInput::default()
        };
        // Another worker may create it at the same time: its ResourceInUseException is fine.
        let _ = crate::api::create_table::handle(app, input).await;
    }
    let table = app
        .catalog
        .get(name)
        .ok_or_else(|| format!("dead-letter table {name} could not be created"))?;
    match dead_letter_table_fault(&table) {
        Some(fault) => Err(format!("dead-letter table {fault}")),
        None => Ok(table),
    }
}

/// Writes each record of a failed batch to the dead-letter table, one item per record.
async fn dead_letter(
    app: &App,
    trigger: &Trigger,
    stream: &StreamInfo,
    batch: &[ChangeRecord],
    records: &[Value],
    failed: &Undelivered,
) -> Result<(), String> {
    let table = ensure_dead_letter_table(app, &trigger.dead_letter_table_name).await?;
    let failed_at = AttributeValue::N(Number::from_u64(now_ms() / 1000));
    for (change, record) in batch.iter().zip(records) {
        let seq = AttributeValue::S(sequence_number(change.seq));
        let trigger_name = AttributeValue::S(trigger.trigger_name.clone());
        let mut item = Item::new();
        item.insert("TriggerName".into(), trigger_name.clone());
        item.insert("SequenceNumber".into(), seq.clone());
        item.insert("StreamArn".into(), AttributeValue::S(stream.arn.clone()));
        item.insert(
            "EventName".into(),
            AttributeValue::S(crate::streams::records::event_name(change).to_string()),
        );
        item.insert("Keys".into(), AttributeValue::M(change.keys.clone()));
        item.insert("Error".into(), AttributeValue::S(failed.error.clone()));
        item.insert(
            "Attempts".into(),
            AttributeValue::N(Number::from_u64(failed.tries)),
        );
        item.insert("FailedAt".into(), failed_at.clone());
        let text = record.to_string();
        if text.len() <= MAX_DEAD_LETTER_RECORD {
            item.insert("Record".into(), AttributeValue::S(text));
        } else {
            item.insert("Truncated".into(), AttributeValue::Bool(true));
        }
        let key = PrimaryKey {
            hash: trigger_name,
            range: Some(seq),
        };
        app.storage
            .write(&[(&table.layout, key)], Cause::User, |_| {
                Ok::<_, ()>((vec![Mutation::Put(item)], ()))
            })
            .await
            .map_err(|e| e.to_string())?
            .map_err(|()| "dead-letter write refused".to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Cause;
    use shared::model::{KeyAttr, KeySchema, ScalarType};

    #[test]
    fn a_batch_is_cut_where_its_event_would_pass_the_payload_limit() {
        let small: Vec<Value> = (0..3).map(|i| json!({ "n": i })).collect();
        let body = event_within_limit(&small).unwrap();
        assert_eq!(body, r#"{"Records":[{"n":0},{"n":1},{"n":2}]}"#);
        // Ten records of a little over 1 MB: five fit in 6 MB.
        let big: Vec<Value> = (0..10)
            .map(|_| json!({ "x": "y".repeat(1 << 20) }))
            .collect();
        assert_eq!(event_within_limit(&big), Err(5));
        let cut = json!({ "Records": big[..5] }).to_string();
        assert!(cut.len() <= MAX_EVENT_BYTES);
        let one_more = json!({ "Records": big[..6] }).to_string();
        assert!(one_more.len() > MAX_EVENT_BYTES);
        // One record over the limit still goes alone.
        let huge = vec![json!({ "x": "y".repeat(7 << 20) })];
        assert_eq!(event_within_limit(&huge), Err(1));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 1), Duration::from_millis(100));
        assert_eq!(backoff(base, 2), Duration::from_millis(200));
        assert_eq!(backoff(base, 4), Duration::from_millis(800));
        assert_eq!(backoff(base, 60), MAX_BACKOFF);
    }

    #[test]
    fn lambda_records_name_their_source_and_use_lowercase_identity() {
        let stream = StreamInfo {
            arn: "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x".into(),
            label: "x".into(),
            table_name: "t".into(),
            table_id: 1,
            view_type: "NEW_AND_OLD_IMAGES".into(),
            key_schema: KeySchema::new(
                KeyAttr {
                    name: "pk".into(),
                    ty: ScalarType::S,
                },
                None,
            ),
            created: 0.0,
            start_seq: 0,
            end_seq: None,
            ended_ms: None,
            shards: Vec::new(),
        };
        let mut keys = Item::new();
        keys.insert("pk".into(), AttributeValue::S("a".into()));
        let change = ChangeRecord {
            seq: 3,
            time_ms: 5000,
            table_id: 1,
            table_name: "t".into(),
            keys: keys.clone(),
            old_image: Some(keys),
            old_image_elided: false,
            new_image: None,
            new_image_elided: false,
            cause: Cause::Ttl,
            origin: None,
        };
        let v = lambda_record("us-east-1", &stream, &change);
        assert_eq!(v["eventSourceARN"], stream.arn.as_str());
        assert_eq!(v["eventSource"], "aws:dynamodb");
        assert_eq!(v["eventName"], "REMOVE");
        assert_eq!(
            v["userIdentity"],
            json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"})
        );
        assert_eq!(v["dynamodb"]["Keys"], json!({"pk": {"S": "a"}}));
    }
}
