//! GetShardIterator: a position in one shard.
//! - `TRIM_HORIZON`: the shard's oldest retained record;
//! - `LATEST`: after the newest record (only later writes are read);
//! - `AT_SEQUENCE_NUMBER` / `AFTER_SEQUENCE_NUMBER`: at or after a record's sequence number,
//!   which must lie in the shard (ValidationException otherwise) and not below the trim
//!   horizon (TrimmedDataAccessException).

use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::get_shard_iterator::{GetShardIteratorInput, GetShardIteratorOutput};
use shared::wire::ops::validate::Violations;

use crate::app::App;
use crate::streams::iterator::ShardIterator;
use crate::streams::{self, internal, not_found, parse_sequence_number};
use shared::clock::now_ms;

pub const ITERATOR_TYPES: &[&str] = &[
    "TRIM_HORIZON",
    "LATEST",
    "AT_SEQUENCE_NUMBER",
    "AFTER_SEQUENCE_NUMBER",
];

/// TrimmedDataAccessException's text (the Streams model's description of the error).
pub const TRIMMED: &str =
    "The operation attempted to read past the oldest stream record in a shard.";

pub async fn handle(
    app: &App,
    input: GetShardIteratorInput,
) -> Result<GetShardIteratorOutput, ApiError> {
    let mut v = Violations::new();
    v.not_null("streamArn", input.stream_arn.is_some());
    v.length("streamArn", input.stream_arn.as_deref(), 37, 1024);
    v.not_null("shardId", input.shard_id.is_some());
    v.length("shardId", input.shard_id.as_deref(), 28, 65);
    v.not_null("shardIteratorType", input.shard_iterator_type.is_some());
    v.enumeration(
        "shardIteratorType",
        input.shard_iterator_type.as_deref(),
        ITERATOR_TYPES,
    );
    v.length("sequenceNumber", input.sequence_number.as_deref(), 21, 40);
    v.finish()?;
    let arn = input.stream_arn.as_deref().unwrap_or_default();
    let shard_id = input.shard_id.as_deref().unwrap_or_default();
    let kind = input.shard_iterator_type.as_deref().unwrap_or_default();
    streams::check_stream_arn(arn)?;
    if matches!(kind, "TRIM_HORIZON" | "LATEST") && input.sequence_number.is_some() {
        return Err(ApiError::validation(format!(
            "SequenceNumber may only be given with AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER, not with ShardIteratorType {kind}"
        )));
    }
    let stream = streams::find_stream(app, arn)?.ok_or_else(not_found)?;
    let shard = stream.shard(shard_id).ok_or_else(not_found)?;
    // Everything up to `horizon` is gone.
    let horizon = streams::trim_horizon(app)
        .map_err(internal)?
        .saturating_sub(1);
    let end = shard.end.unwrap_or(u64::MAX);
    let after = match kind {
        "TRIM_HORIZON" => shard.after.max(horizon).min(end),
        "LATEST" => app.storage.published_seq().max(shard.after).min(end),
        _ => {
            let Some(text) = input.sequence_number.as_deref() else {
                return Err(ApiError::validation(format!(
                    "Must specify SequenceNumber with ShardIteratorType {kind}"
                )));
            };
            let seq = parse_sequence_number(text)
                .ok_or_else(|| ApiError::validation(format!("Invalid SequenceNumber: {text}")))?;
            // An open shard ends, for now, at the log's last record: a number past it was
            // never given, and an iterator from it would skip the records written until
            // the log reached it.
            let issued = shard.end.unwrap_or_else(|| app.storage.published_seq());
            if seq <= shard.after || seq > issued {
                return Err(ApiError::validation(format!(
                    "Invalid SequenceNumber {text} for shard {shard_id}: out of the shard's range"
                )));
            }
            if seq <= horizon {
                return Err(ApiError::new(
                    ErrorCode::TrimmedDataAccessException,
                    TRIMMED,
                ));
            }
            if kind == "AT_SEQUENCE_NUMBER" {
                seq - 1
            } else {
                seq
            }
        }
    };
    Ok(GetShardIteratorOutput {
        shard_iterator: Some(
            ShardIterator {
                stream_arn: stream.arn,
                shard_id: shard.id,
                after,
                issued_ms: now_ms(),
            }
            .encode(),
        ),
    })
}
