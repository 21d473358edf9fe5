//! Triggers: our Lambda. Each trigger follows one table's stream and POSTs batches of its
//! records, in the Lambda event shape, to an HTTP endpoint.
//!
//! # Managing triggers
//! An HTTP API on the store's port, authenticated like the internal endpoints (header
//! `x-dax-cluster-secret: <--cluster-secret>`; disabled with an empty secret):
//!
//! | call | body / answer |
//! |---|---|
//! | `POST /triggers` | [`TriggerSpec`] JSON → 201 with the trigger and its state |
//! | `GET /triggers` | `{"Triggers": [trigger + state, ...]}` |
//! | `GET /triggers/{name}` | the trigger and its state, or 404 |
//! | `DELETE /triggers/{name}` | 200 with the deleted trigger, or 404 |
//!
//! ```text
//! curl -X POST localhost:8000/triggers -H 'x-dax-cluster-secret: dax-local-cluster-secret' \
//!   -d '{"TriggerName":"audit","TableName":"orders","Url":"http://127.0.0.1:9000/hook",
//!        "BatchSize":100,"MaximumBatchingWindowInSeconds":1,"StartingPosition":"TRIM_HORIZON",
//!        "MaximumRetryAttempts":3,"DeadLetterTableName":"store-trigger-dead-letters"}'
//! ```
//!
//! The table must have an enabled stream; the trigger is bound to that stream (its records
//! carry `eventSourceARN` = the stream ARN and are formatted in its view type). When the
//! stream is disabled, the trigger delivers what the stream holds and then idles.
//!
//! # Delivery
//! One worker per trigger ([`dispatch`]): read up to `BatchSize` records after the
//! checkpoint, wait up to `MaximumBatchingWindowInSeconds` for a batch to fill, POST
//! `{"Records": [...]}` (each record as GetRecords shows it plus `eventSourceARN`, with
//! Lambda's lowercase `userIdentity` members). A 2xx answer is success. Anything else
//! (non-2xx, connection failure, no answer within `--trigger-timeout`) is retried with
//! exponential backoff (from `--trigger-retry-base`, capped at 30 s) up to
//! `MaximumRetryAttempts` more times (-1: until the batch's oldest record is older than
//! `--stream-retention`, as Lambda retries until the record expires); then every record
//! of the batch is written to the
//! dead-letter table (a normal DynamoDB table, created on demand, key `TriggerName` +
//! `SequenceNumber`) and delivery moves on. The checkpoint (the last handled sequence
//! number) is persisted durably after each batch, so delivery is at-least-once and in
//! commit order across restarts: a batch acknowledged just before a crash may be sent again.
//! Records trimmed by retention before delivery are skipped and counted.
//!
//! Metrics: `store_trigger_batches_total{trigger,outcome}`,
//! `store_trigger_records_delivered_total`, `store_trigger_dead_lettered_records_total`,
//! `store_trigger_retries_total`, `store_trigger_lag_seconds` (age of the oldest
//! undelivered record), `store_trigger_delivery_latency_seconds` (commit to acknowledged
//! delivery); they leave `/metrics` when the trigger is deleted (`crate::owned_metrics`).
//!
//! # Layout
//! - `dispatch`: the supervisor (starts and stops workers as triggers come and go) and the
//!   per-trigger worker.
//! - `http`: the management endpoints.

pub mod dispatch;
pub mod http;

use serde::{Deserialize, Serialize};
use shared::model::key::{KeyAttr, KeySchema, ScalarType};

use crate::app::App;
use crate::catalog::TableMeta;
use crate::storage::StorageError;

/// Meta-record prefixes: definitions and checkpoints (kept apart so a checkpoint update
/// rewrites a few bytes, not the definition).
const DEF_PREFIX: &str = "triggers/def/";
const CHECKPOINT_PREFIX: &str = "triggers/checkpoint/";

/// `MaximumRetryAttempts` meaning no count: retried until the records expire.
pub const UNTIL_EXPIRED: i64 = -1;

/// The dead-letter table used when a trigger names none.
pub const DEFAULT_DEAD_LETTER_TABLE: &str = "store-trigger-dead-letters";

/// The key of a dead-letter table: an item per record of a failed batch, by trigger and
/// the record's sequence number. The store makes the table with it, and refuses to write
/// dead letters into one of that name that has another key (its items would lack theirs).
pub fn dead_letter_key() -> KeySchema {
    let string = |name: &str| KeyAttr {
        name: name.to_string(),
        ty: ScalarType::S,
    };
    KeySchema::new(string("TriggerName"), Some(string("SequenceNumber")))
}

/// What keeps `table` from taking dead letters, if anything: another key than
/// [`dead_letter_key`] (its items would lack theirs), or replicas (dead letters would
/// reach other regions' triggers, which this store cannot see: two regions' triggers
/// dead-lettering into each other's tables would loop).
pub fn dead_letter_table_fault(table: &TableMeta) -> Option<String> {
    if table.schema() != &dead_letter_key() {
        return Some(format!(
            "{} must have the key TriggerName (S, HASH) and SequenceNumber (S, RANGE)",
            table.name()
        ));
    }
    crate::replication::is_global(table).then(|| {
        format!(
            "{} is a global table: its dead letters would reach other regions' triggers",
            table.name()
        )
    })
}

/// Refuses a trigger on table `table` whose dead letters would set a trigger off: written
/// into `table` itself, or into a table some trigger follows, or a trigger on a table
/// others dead-letter into. A failing target would then make a dead letter of each dead
/// letter, without end.
pub fn check_no_loop(
    table: &str,
    dead_letter_table: &str,
    others: &[Trigger],
) -> Result<(), Invalid> {
    if dead_letter_table == table {
        return Err(Invalid(format!(
            "DeadLetterTableName must not be the trigger's own table {table}"
        )));
    }
    if others.iter().any(|t| t.table_name == dead_letter_table) {
        return Err(Invalid(format!(
            "DeadLetterTableName {dead_letter_table} has triggers of its own"
        )));
    }
    if others.iter().any(|t| t.dead_letter_table_name == table) {
        return Err(Invalid(format!(
            "Table {table} is a dead-letter table of another trigger"
        )));
    }
    Ok(())
}

pub const BATCHES_TOTAL: &str = "store_trigger_batches_total";
pub const RECORDS_DELIVERED_TOTAL: &str = "store_trigger_records_delivered_total";
pub const DEAD_LETTERED_TOTAL: &str = "store_trigger_dead_lettered_records_total";
pub const RETRIES_TOTAL: &str = "store_trigger_retries_total";
pub const TRIMMED_TOTAL: &str = "store_trigger_trimmed_records_total";
pub const LAG_SECONDS: &str = "store_trigger_lag_seconds";
pub const DELIVERY_LATENCY_SECONDS: &str = "store_trigger_delivery_latency_seconds";

/// What a user asks for in `POST /triggers` (Lambda event-source-mapping names). Other
/// members are refused, not ignored: a Lambda option the store does not implement
/// (`FunctionResponseTypes` would have the records a target reports failed dropped) or a
/// misspelt one must not be taken as set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TriggerSpec {
    pub trigger_name: Option<String>,
    pub table_name: Option<String>,
    pub url: Option<String>,
    /// 1..=10_000, default 100.
    pub batch_size: Option<i64>,
    /// 0..=300 seconds, default 0.
    pub maximum_batching_window_in_seconds: Option<i64>,
    /// TRIM_HORIZON (default) or LATEST.
    pub starting_position: Option<String>,
    /// 0..=10_000 retries after the first try, or -1 (Lambda's default) to retry until
    /// the batch's oldest record leaves the stream; default 3.
    pub maximum_retry_attempts: Option<i64>,
    pub dead_letter_table_name: Option<String>,
}

/// A validated, registered trigger.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Trigger {
    pub trigger_name: String,
    pub table_name: String,
    pub table_id: u64,
    pub stream_arn: String,
    pub url: String,
    pub batch_size: usize,
    pub maximum_batching_window_in_seconds: u64,
    pub starting_position: String,
    /// Retries after the first try; -1: until the batch's oldest record is older than
    /// the stream's retention, as Lambda retries until the record expires.
    pub maximum_retry_attempts: i64,
    pub dead_letter_table_name: String,
    /// The checkpoint the trigger started from.
    pub start_seq: u64,
}

/// A definition problem, answered with 400 and this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn bounded(
    name: &str,
    value: Option<i64>,
    min: i64,
    max: i64,
    default: i64,
) -> Result<i64, Invalid> {
    let v = value.unwrap_or(default);
    if v < min || v > max {
        return Err(Invalid(format!("{name} must be between {min} and {max}")));
    }
    Ok(v)
}

/// Checks a spec's fields (not the table); returns the normalized parts.
pub fn check_spec(spec: &TriggerSpec) -> Result<(String, String, String), Invalid> {
    let name = spec
        .trigger_name
        .clone()
        .ok_or_else(|| Invalid("TriggerName is required".into()))?;
    if !(1..=64).contains(&name.len())
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(Invalid(
            "TriggerName must be 1 to 64 characters of [a-zA-Z0-9_.-]".into(),
        ));
    }
    let table = spec
        .table_name
        .clone()
        .ok_or_else(|| Invalid("TableName is required".into()))?;
    let url = spec
        .url
        .clone()
        .ok_or_else(|| Invalid("Url is required".into()))?;
    // The store's HTTP client is built without TLS (no native or rustls dependency), so an
    // https:// target could never be reached: refuse it up front instead of dead-lettering
    // every batch.
    if !url.starts_with("http://") || url.len() > 2048 {
        return Err(Invalid(
            "Url must be an http:// URL (https targets need a TLS-terminating proxy)".into(),
        ));
    }
    bounded("BatchSize", spec.batch_size, 1, 10_000, 100)?;
    bounded(
        "MaximumBatchingWindowInSeconds",
        spec.maximum_batching_window_in_seconds,
        0,
        300,
        0,
    )?;
    bounded(
        "MaximumRetryAttempts",
        spec.maximum_retry_attempts,
        UNTIL_EXPIRED,
        10_000,
        3,
    )?;
    match spec.starting_position.as_deref() {
        None | Some("TRIM_HORIZON") | Some("LATEST") => {}
        Some(other) => {
            return Err(Invalid(format!(
                "StartingPosition must be TRIM_HORIZON or LATEST, not {other}"
            )))
        }
    }
    if let Some(dlq) = &spec.dead_letter_table_name {
        if !(3..=255).contains(&dlq.len()) || !shared::wire::ops::validate::is_valid_name(dlq) {
            return Err(Invalid(
                "DeadLetterTableName is not a valid table name".into(),
            ));
        }
    }
    Ok((name, table, url))
}

/// Every registered trigger.
pub fn list(app: &App) -> Result<Vec<Trigger>, StorageError> {
    read_definitions(app, DEF_PREFIX)
}

/// The trigger named `name`. Reads the records under its name only (a worker asks before
/// each batch, so it must not read every trigger's).
pub fn get(app: &App, name: &str) -> Result<Option<Trigger>, StorageError> {
    let found = read_definitions(app, &format!("{DEF_PREFIX}{name}"))?;
    Ok(found.into_iter().find(|t| t.trigger_name == name))
}

/// The readable definitions whose keys start with `prefix`.
fn read_definitions(app: &App, prefix: &str) -> Result<Vec<Trigger>, StorageError> {
    let mut out = Vec::new();
    for (key, value) in app.storage.list_meta(prefix)? {
        match serde_json::from_slice::<Trigger>(&value) {
            Ok(t) => out.push(t),
            Err(e) => tracing::warn!(error = %e, %key, "skipping an unreadable trigger"),
        }
    }
    Ok(out)
}

pub async fn save(app: &App, trigger: &Trigger) -> Result<(), StorageError> {
    let bytes = serde_json::to_vec(trigger)
        .map_err(|e| StorageError::Engine(format!("trigger record: {e}")))?;
    app.storage
        .put_meta(
            &format!("{DEF_PREFIX}{}", trigger.trigger_name),
            Some(bytes),
        )
        .await
}

pub async fn remove(app: &App, name: &str) -> Result<(), StorageError> {
    app.storage
        .put_meta(&format!("{DEF_PREFIX}{name}"), None)
        .await?;
    app.storage
        .put_meta(&format!("{CHECKPOINT_PREFIX}{name}"), None)
        .await
}

/// The last handled sequence number of a trigger (`None`: nothing handled yet).
pub fn checkpoint(app: &App, name: &str) -> Result<Option<u64>, StorageError> {
    app.storage.seq_mark(&checkpoint_key(name))
}

pub async fn save_checkpoint(app: &App, name: &str, seq: u64) -> Result<(), StorageError> {
    app.storage.put_seq_mark(&checkpoint_key(name), seq).await
}

/// The meta key of a trigger's checkpoint.
pub fn checkpoint_key(name: &str) -> String {
    format!("{CHECKPOINT_PREFIX}{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TriggerSpec {
        TriggerSpec {
            trigger_name: Some("t1".into()),
            table_name: Some("orders".into()),
            url: Some("http://127.0.0.1:9/hook".into()),
            ..Default::default()
        }
    }

    fn trigger(name: &str) -> Trigger {
        Trigger {
            trigger_name: name.into(),
            table_name: "orders".into(),
            table_id: 1,
            stream_arn: "arn".into(),
            url: "http://127.0.0.1:9/hook".into(),
            batch_size: 100,
            maximum_batching_window_in_seconds: 0,
            starting_position: "TRIM_HORIZON".into(),
            maximum_retry_attempts: 3,
            dead_letter_table_name: DEFAULT_DEAD_LETTER_TABLE.into(),
            start_seq: 0,
        }
    }

    #[tokio::test]
    async fn a_trigger_is_found_by_its_whole_name() {
        let dir = tempfile::tempdir().unwrap();
        let app = App::for_tests(dir.path());
        for name in ["ab", "a"] {
            save(&app, &trigger(name)).await.unwrap();
        }
        let name_of = |name| get(&app, name).unwrap().map(|t| t.trigger_name);
        assert_eq!(name_of("a").as_deref(), Some("a"));
        assert_eq!(name_of("ab").as_deref(), Some("ab"));
        assert_eq!(name_of("abc"), None);
        assert_eq!(list(&app).unwrap().len(), 2);
    }

    #[test]
    fn specs_are_checked() {
        assert!(check_spec(&spec()).is_ok());
        // Lambda's default: retried until the records expire.
        let until_expired = TriggerSpec {
            maximum_retry_attempts: Some(UNTIL_EXPIRED),
            ..spec()
        };
        assert!(check_spec(&until_expired).is_ok());
        let bad = [
            TriggerSpec {
                trigger_name: None,
                ..spec()
            },
            TriggerSpec {
                trigger_name: Some("bad name".into()),
                ..spec()
            },
            TriggerSpec {
                url: Some("ftp://x".into()),
                ..spec()
            },
            TriggerSpec {
                url: Some("https://example.com/hook".into()),
                ..spec()
            },
            TriggerSpec {
                batch_size: Some(0),
                ..spec()
            },
            TriggerSpec {
                batch_size: Some(10_001),
                ..spec()
            },
            TriggerSpec {
                maximum_batching_window_in_seconds: Some(301),
                ..spec()
            },
            TriggerSpec {
                maximum_retry_attempts: Some(-2),
                ..spec()
            },
            TriggerSpec {
                maximum_retry_attempts: Some(10_001),
                ..spec()
            },
            TriggerSpec {
                starting_position: Some("AT_TIMESTAMP".into()),
                ..spec()
            },
            TriggerSpec {
                dead_letter_table_name: Some("x".into()),
                ..spec()
            },
        ];
        for b in bad {
            assert!(check_spec(&b).is_err(), "{b:?}");
        }
    }

    #[test]
    fn spec_json_uses_lambda_style_names() {
        let parsed: TriggerSpec = serde_json::from_str(
            r#"{"TriggerName":"a","TableName":"t","Url":"http://x","BatchSize":5,
                "MaximumBatchingWindowInSeconds":1,"StartingPosition":"LATEST",
                "MaximumRetryAttempts":2,"DeadLetterTableName":"dlq"}"#,
        )
        .unwrap_or_default();
        assert_eq!(parsed.batch_size, Some(5));
        assert_eq!(parsed.starting_position.as_deref(), Some("LATEST"));
    }
}
