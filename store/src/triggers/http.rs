//! The trigger management endpoints (`/triggers`, `/triggers/{name}`): create, list,
//! describe and delete, answered in JSON with `{"message": ...}` on errors. Authenticated
//! with the cluster secret, like the other non-DynamoDB endpoints of the store.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Response, StatusCode};
use serde_json::{json, Value};

use super::{
    check_no_loop, check_spec, checkpoint, dead_letter_table_fault, get, list, remove, save,
    save_checkpoint, Trigger, TriggerSpec, DEFAULT_DEAD_LETTER_TABLE,
};
use crate::app::App;
use crate::error;
use crate::internal;
use crate::server::Server;

/// Serializes creations so two calls cannot register the same name.
static CREATE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn reply(status: StatusCode, value: Value) -> Response<Body> {
    error::plain(status, "application/json", value.to_string())
}

fn failure(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    reply(status, json!({ "message": message.into() }))
}

fn internal_error(e: impl std::fmt::Display) -> Response<Body> {
    tracing::error!(error = %e, "trigger storage failure");
    failure(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}

/// A trigger with its delivery state.
fn describe(app: &App, trigger: &Trigger) -> Value {
    let mut value = serde_json::to_value(trigger).unwrap_or(Value::Null);
    let position = checkpoint(app, &trigger.trigger_name)
        .ok()
        .flatten()
        .unwrap_or(trigger.start_seq);
    if let Value::Object(map) = &mut value {
        map.insert(
            "LastProcessedSequenceNumber".into(),
            Value::String(crate::streams::sequence_number(position)),
        );
        map.insert(
            "State".into(),
            // A table created again under the name is another table, with another stream:
            // the trigger stays bound to the deleted one's and will not fire again.
            Value::String(
                match app.catalog.get(&trigger.table_name) {
                    Some(table) if table.table_id() == trigger.table_id => "Enabled",
                    _ => "TableDeleted",
                }
                .into(),
            ),
        );
    }
    value
}

/// `POST /triggers`.
pub async fn create(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let app = &server.app;
    if let Err(denied) = internal::authorize(app, &headers) {
        return denied;
    }
    let spec: TriggerSpec = match serde_json::from_slice(&body) {
        Ok(spec) => spec,
        Err(e) => {
            return failure(
                StatusCode::BAD_REQUEST,
                format!("invalid trigger definition: {e}"),
            )
        }
    };
    let (name, table_name, url) = match check_spec(&spec) {
        Ok(parts) => parts,
        Err(e) => return failure(StatusCode::BAD_REQUEST, e.0),
    };
    let _serialized = CREATE.lock().await;
    match get(app, &name) {
        Ok(Some(_)) => {
            return failure(
                StatusCode::CONFLICT,
                format!("Trigger already exists: {name}"),
            )
        }
        Ok(None) => {}
        Err(e) => return internal_error(e),
    }
    let Some(table) = app.catalog.get(&table_name) else {
        return failure(
            StatusCode::NOT_FOUND,
            format!("Requested resource not found: Table: {table_name} not found"),
        );
    };
    // The table's name, not the ARN it may have been given as: the checks below compare
    // names.
    let table_name = table.name().to_string();
    let Some(stream) = table.enabled_stream() else {
        return failure(
            StatusCode::BAD_REQUEST,
            format!("Table {table_name} has no enabled stream; enable one with UpdateTable"),
        );
    };
    let dead_letter_table_name = spec
        .dead_letter_table_name
        .clone()
        .unwrap_or_else(|| DEFAULT_DEAD_LETTER_TABLE.to_string());
    if let Some(refused) = dead_letter_refusal(app, &table_name, &dead_letter_table_name) {
        return refused;
    }
    let latest = spec.starting_position.as_deref() == Some("LATEST");
    let trigger = Trigger {
        trigger_name: name,
        table_name,
        table_id: table.table_id(),
        stream_arn: stream.arn.clone(),
        url,
        batch_size: usize::try_from(spec.batch_size.unwrap_or(100)).unwrap_or(100),
        maximum_batching_window_in_seconds: u64::try_from(
            spec.maximum_batching_window_in_seconds.unwrap_or(0),
        )
        .unwrap_or(0),
        starting_position: if latest { "LATEST" } else { "TRIM_HORIZON" }.to_string(),
        maximum_retry_attempts: spec.maximum_retry_attempts.unwrap_or(3),
        dead_letter_table_name,
        start_seq: if latest {
            app.storage.published_seq().max(stream.start_seq)
        } else {
            stream.start_seq
        },
    };
    // The checkpoint first: a trigger of the same name deleted earlier may have left one.
    if let Err(e) = save_checkpoint(app, &trigger.trigger_name, trigger.start_seq).await {
        return internal_error(e);
    }
    if let Err(e) = save(app, &trigger).await {
        return internal_error(e);
    }
    reply(StatusCode::CREATED, describe(app, &trigger))
}

/// Why a trigger on `table` may not dead-letter into table `name`, if it may not: it
/// would loop ([`check_no_loop`]), or `name` exists with another key than a dead-letter
/// table's, or as a global table ([`dead_letter_table_fault`]).
fn dead_letter_refusal(app: &App, table: &str, name: &str) -> Option<Response<Body>> {
    let others = match list(app) {
        Ok(others) => others,
        Err(e) => return Some(internal_error(e)),
    };
    if let Err(e) = check_no_loop(table, name, &others) {
        return Some(failure(StatusCode::BAD_REQUEST, e.0));
    }
    let existing = app.catalog.get(name)?;
    dead_letter_table_fault(&existing).map(|fault| {
        failure(
            StatusCode::BAD_REQUEST,
            format!("DeadLetterTableName {fault}"),
        )
    })
}

/// `GET /triggers`.
pub async fn list_all(State(server): State<Arc<Server>>, headers: HeaderMap) -> Response<Body> {
    let app = &server.app;
    if let Err(denied) = internal::authorize(app, &headers) {
        return denied;
    }
    match list(app) {
        Ok(triggers) => reply(
            StatusCode::OK,
            json!({ "Triggers": triggers.iter().map(|t| describe(app, t)).collect::<Vec<_>>() }),
        ),
        Err(e) => internal_error(e),
    }
}

/// `GET /triggers/{name}`.
pub async fn describe_one(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response<Body> {
    let app = &server.app;
    if let Err(denied) = internal::authorize(app, &headers) {
        return denied;
    }
    match get(app, &name) {
        Ok(Some(trigger)) => reply(StatusCode::OK, describe(app, &trigger)),
        Ok(None) => failure(StatusCode::NOT_FOUND, format!("Trigger not found: {name}")),
        Err(e) => internal_error(e),
    }
}

/// `DELETE /triggers/{name}`.
pub async fn delete(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response<Body> {
    let app = &server.app;
    if let Err(denied) = internal::authorize(app, &headers) {
        return denied;
    }
    match get(app, &name) {
        Ok(Some(trigger)) => {
            let described = describe(app, &trigger);
            match remove(app, &name).await {
                Ok(()) => reply(StatusCode::OK, described),
                Err(e) => internal_error(e),
            }
        }
        Ok(None) => failure(StatusCode::NOT_FOUND, format!("Trigger not found: {name}")),
        Err(e) => internal_error(e),
    }
}
