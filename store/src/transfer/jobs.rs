//! The durable records of exports, imports and bulk operations: meta records
//! `<kind>/<id>` holding the job's JSON, rewritten as the job goes and when it ends.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use shared::clock::now_seconds;
use shared::wire::error::{ApiError, ErrorCode};

use crate::app::App;

/// Where a job stands, as DynamoDB spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    InProgress,
    Completed,
    Failed,
    /// Bulk operations only: ended with items that could not be read or written.
    CompletedWithErrors,
    /// Bulk operations only: a cancel was asked for, and the job has not stopped yet.
    Cancelling,
    /// Bulk operations only: stopped by a cancel.
    Cancelled,
}

impl Status {
    /// Whether the job is still to run or running.
    pub fn is_running(self) -> bool {
        matches!(self, Status::InProgress | Status::Cancelling)
    }
}

/// What every job record carries besides its own description.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    pub status: Status,
    pub start_time: f64,
    pub end_time: Option<f64>,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

impl Progress {
    pub fn started() -> Progress {
        Progress {
            status: Status::InProgress,
            start_time: now_seconds(),
            end_time: None,
            failure_code: None,
            failure_message: None,
        }
    }

    pub fn complete(&mut self) {
        self.status = Status::Completed;
        self.end_time = Some(now_seconds());
    }

    pub fn fail(&mut self, code: &str, message: impl Into<String>) {
        self.end(Status::Failed, Some((code, message.into())));
    }

    /// Ends the job in `status`, with a failure code and message if given.
    pub fn end(&mut self, status: Status, failure: Option<(&str, String)>) {
        self.status = status;
        self.end_time = Some(now_seconds());
        if let Some((code, message)) = failure {
            self.failure_code = Some(code.to_string());
            self.failure_message = Some(message);
        }
    }
}

/// What every export and import record holds first (flattened into its JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Header {
    pub id: String,
    pub arn: String,
    pub table_arn: String,
    pub client_token: Option<String>,
    /// The request's parameters: a retry with the same ClientToken must repeat them.
    pub fingerprint: String,
    pub progress: Progress,
}

impl Header {
    /// A job just started: `<table ARN>/<kind>/<id>`.
    pub fn new(
        table_arn: &str,
        kind: &str,
        client_token: Option<String>,
        fingerprint: String,
    ) -> Header {
        let id = new_id();
        Header {
            arn: format!("{table_arn}/{kind}/{id}"),
            id,
            table_arn: table_arn.to_string(),
            client_token,
            fingerprint,
            progress: Progress::started(),
        }
    }
}

impl Header {
    /// Adds to description `d` the members a job shows only once it has them: its
    /// ClientToken, EndTime, FailureCode and FailureMessage, and its own `more`.
    pub fn add_present(
        &self,
        d: &mut Value,
        more: impl IntoIterator<Item = (&'static str, Option<Value>)>,
    ) {
        let p = &self.progress;
        let common = [
            ("ClientToken", self.client_token.clone().map(Value::from)),
            ("EndTime", p.end_time.map(Value::from)),
            ("FailureCode", p.failure_code.clone().map(Value::from)),
            ("FailureMessage", p.failure_message.clone().map(Value::from)),
        ];
        for (name, value) in common.into_iter().chain(more) {
            if let Some(value) = value {
                d[name] = value;
            }
        }
    }
}

/// A job record kind: exports, imports or bulk operations.
pub trait Job: Serialize + DeserializeOwned {
    /// The meta key prefix of this kind's records.
    const PREFIX: &'static str;
    /// Whether its list shows the newest first (ListBulkOperations) or the oldest.
    const NEWEST_FIRST: bool = false;
    /// The response member holding a description: `ExportDescription`, ...
    const DESCRIPTION: &'static str;
    /// ListExports' or ListImports' member holding the summaries.
    const SUMMARIES: &'static str;
    /// What Describe's error calls an unknown ARN, and the error.
    const KIND: &'static str;
    const NOT_FOUND: ErrorCode;
    fn header(&self) -> &Header;
    fn header_mut(&mut self) -> &mut Header;
    fn description(&self) -> Value;
    fn summary(&self) -> Value;
}

/// The job an earlier request with this ClientToken started: `Ok(Some)` when the request
/// was the same (the retry answers with it), `Err(conflict)` when it was not.
pub fn earlier<J: Job>(
    app: &App,
    token: Option<&str>,
    fingerprint: &str,
    conflict: impl FnOnce() -> ApiError,
) -> Result<Option<J>, ApiError> {
    let Some(token) = token else {
        return Ok(None);
    };
    match all::<J>(app)?
        .into_iter()
        .find(|j| j.header().client_token.as_deref() == Some(token))
    {
        Some(job) if job.header().fingerprint != fingerprint => Err(conflict()),
        found => Ok(found),
    }
}

/// One page of jobs in the kind's order, optionally of one table, after the job `after`;
/// and the token of the next page if there is one.
fn page<J: Job>(
    app: &App,
    table_arn: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<(Vec<J>, Option<String>), ApiError> {
    let in_order = |a: &str, b: &str| if J::NEWEST_FIRST { b.cmp(a) } else { a.cmp(b) };
    let mut jobs: Vec<J> = all::<J>(app)?
        .into_iter()
        .filter(|j| table_arn.is_none_or(|t| j.header().table_arn == t))
        .filter(|j| after.is_none_or(|after| in_order(after, &j.header().id).is_lt()))
        .collect();
    jobs.sort_by(|a, b| in_order(&a.header().id, &b.header().id));
    let more = jobs.len() > limit;
    jobs.truncate(limit);
    let next = jobs.last().filter(|_| more).map(|j| j.header().id.clone());
    Ok((jobs, next))
}

/// The answer that describes `job`: `{"ExportDescription": ...}` or the import's.
pub fn answer<J: Job>(job: &J) -> Value {
    json!({ J::DESCRIPTION: job.description() })
}

/// Records a job `IN_PROGRESS`, wakes the runner (`super::run_jobs`) and answers.
pub async fn start<J: Job>(app: &App, job: &J) -> Result<Value, ApiError> {
    save(app, job).await?;
    app.transfers.notify_one();
    Ok(answer(job))
}

/// The job `arn` names, or the kind's not-found error.
pub fn found<J: Job>(app: &App, arn: &str) -> Result<J, ApiError> {
    all::<J>(app)?
        .into_iter()
        .find(|j| j.header().arn == arn)
        .ok_or_else(|| ApiError::new(J::NOT_FOUND, format!("{} not found: {arn}", J::KIND)))
}

/// DescribeExport's, DescribeImport's or DescribeBulkOperation's answer for `arn`.
pub fn describe<J: Job>(app: &App, arn: &str) -> Result<Value, ApiError> {
    Ok(answer(&found::<J>(app, arn)?))
}

/// ListExports' or ListImports' answer: one page of summaries and the next page's token.
pub fn list<J: Job>(
    app: &App,
    table_arn: Option<&str>,
    after: Option<&str>,
    limit: usize,
) -> Result<Value, ApiError> {
    let after = after.map(token_id).transpose()?;
    let (jobs, next) = page::<J>(app, table_arn, after.as_deref(), limit)?;
    let mut out = json!({ J::SUMMARIES: jobs.iter().map(J::summary).collect::<Vec<_>>() });
    if let Some(next) = next {
        out["NextToken"] = json!(page_token(&next));
    }
    Ok(out)
}

/// The shortest page token the SDKs send back: ListImports' model wants 112 to 1024
/// characters in groups of 16 lowercase hex digits (ListExports' wants nothing, and gets
/// the same form).
const MIN_TOKEN_LEN: usize = 112;

/// The page token that resumes after job `id`: its bytes in hex, zero-padded.
fn page_token(id: &str) -> String {
    let mut token = hex::encode(id);
    let len = token.len().max(MIN_TOKEN_LEN).next_multiple_of(16);
    token.extend(std::iter::repeat_n('0', len - token.len()));
    token
}

/// The job id a [`page_token`] resumes after (ids never hold a NUL, the padding's byte).
fn token_id(token: &str) -> Result<String, ApiError> {
    let invalid = || ApiError::validation("Invalid NextToken");
    let bytes = hex::decode(token).map_err(|_| invalid())?;
    let id = bytes.split(|b| *b == 0).next().unwrap_or_default();
    String::from_utf8(id.to_vec()).map_err(|_| invalid())
}

/// Writes (or rewrites) a job's record durably.
pub async fn save<J: Job>(app: &App, job: &J) -> Result<(), ApiError> {
    let bytes = serde_json::to_vec(job).map_err(|_| ApiError::internal())?;
    app.storage
        .put_meta(&format!("{}{}", J::PREFIX, job.header().id), Some(bytes))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot save a job record");
            ApiError::internal()
        })
}

/// Every record of this kind, in id order (ids begin with their start time).
pub fn all<J: Job>(app: &App) -> Result<Vec<J>, ApiError> {
    let records = app.storage.list_meta(J::PREFIX).map_err(|e| {
        tracing::error!(error = %e, "cannot list job records");
        ApiError::internal()
    })?;
    Ok(records
        .into_iter()
        .filter_map(|(_, bytes)| serde_json::from_slice(&bytes).ok())
        .collect())
}

/// Jobs the store was running when it stopped (those started before `process_start`)
/// cannot resume: they are reported failed, or cancelled if that was asked for.
pub async fn fail_interrupted<J: Job>(app: &App, process_start: f64) -> Result<(), ApiError> {
    for mut job in all::<J>(app)? {
        let progress = &mut job.header_mut().progress;
        if !progress.status.is_running() || progress.start_time >= process_start {
            continue;
        }
        if progress.status == Status::Cancelling {
            progress.end(Status::Cancelled, Some(cancelled()));
        } else {
            progress.fail(
                "InternalServerError",
                "The store stopped before the job finished; start it again.",
            );
        }
        save(app, &job).await?;
    }
    Ok(())
}

/// The failure code and message of a cancelled job.
pub fn cancelled() -> (&'static str, String) {
    (
        "BulkOperationCancelled",
        "The bulk operation was cancelled; the items it wrote before stay written.".into(),
    )
}

/// `<14 digits of epoch milliseconds>-<8 hex digits>`: DynamoDB's export, import and
/// backup ids, in start order.
pub fn new_id() -> String {
    let uuid = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{:014}-{}",
        (now_seconds() * 1000.0) as u64,
        uuid.get(..8).unwrap_or("00000000")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_tokens_have_the_sdk_model_shape_and_give_the_id_back() {
        let id = new_id();
        let token = page_token(&id);
        assert!(token.len() >= MIN_TOKEN_LEN && token.len().is_multiple_of(16));
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(token_id(&token).ok(), Some(id));
        let long = "x".repeat(100);
        assert_eq!(token_id(&page_token(&long)).ok(), Some(long));
        assert!(token_id("not hex").is_err());
    }
}
