//! GetRecords: up to `Limit` (1000) records, and at most 1 MB of them, after the iterator's
//! position in its shard, with the iterator for the next call. An empty page with a next
//! iterator is normal on an open shard; once a closed shard is fully read there is no next
//! iterator.
//!
//! Errors: a malformed iterator is a ValidationException; an iterator older than
//! `--stream-iterator-ttl` is ExpiredIteratorException; one that points below the trim
//! horizon is TrimmedDataAccessException; a stream or shard that no longer exists is
//! ResourceNotFoundException.

use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::get_records::{GetRecordsInput, GetRecordsOutput};
use shared::wire::ops::validate::Violations;

use crate::api::get_shard_iterator::TRIMMED;
use crate::app::App;
use crate::streams::iterator::{ShardIterator, MAX_LEN};
use crate::streams::records::into_stream_record;
use crate::streams::{self, internal, not_found};
use shared::clock::now_ms;

const MAX_LIMIT: i64 = 1000;
/// GetRecords returns at most 1 MB of records.
const MAX_BYTES: i64 = 1024 * 1024;

/// ExpiredIteratorException's text (DYNAMODB.md §9).
pub const EXPIRED: &str = "The provided iterator exceeds the maximum age allowed.";

pub async fn handle(app: &App, input: GetRecordsInput) -> Result<GetRecordsOutput, ApiError> {
    let mut v = Violations::new();
    v.not_null("shardIterator", input.shard_iterator.is_some());
    v.length("shardIterator", input.shard_iterator.as_deref(), 1, MAX_LEN);
    v.at_least("limit", input.limit, 1);
    v.at_most("limit", input.limit, MAX_LIMIT);
    v.finish()?;
    let text = input.shard_iterator.as_deref().unwrap_or_default();
    let iterator =
        ShardIterator::decode(text).ok_or_else(|| ApiError::validation("Invalid ShardIterator"))?;
    let ttl_ms = shared::clock::millis(app.config.change_log.iterator_ttl);
    let now = now_ms();
    if now.saturating_sub(iterator.issued_ms) > ttl_ms {
        return Err(ApiError::new(ErrorCode::ExpiredIteratorException, EXPIRED));
    }
    // Together under the registry's read lock: a rollover (under its write lock) either
    // closed this shard before, and the range shows it, or closes it after, at or past
    // `published`. Read apart, an open shard could be read past the end it then got, and
    // its child would return those records again.
    let (stream, published) = {
        let _registry = app.stream_registry.read().await;
        let stream = streams::find_stream(app, &iterator.stream_arn)?.ok_or_else(not_found)?;
        (stream, app.storage.published_seq())
    };
    let shard = stream.shard(&iterator.shard_id).ok_or_else(not_found)?;
    let first = streams::trim_horizon(app).map_err(internal)?;
    if iterator.after.saturating_add(1) < first {
        return Err(ApiError::new(
            ErrorCode::TrimmedDataAccessException,
            TRIMMED,
        ));
    }
    let limit = usize::try_from(input.limit.unwrap_or(MAX_LIMIT)).unwrap_or(1000);
    // Read no further than the shard's end and what is durable now: everything up to
    // `bound` is already in the index, so the next iterator may start there.
    let bound = shard.end.unwrap_or(u64::MAX).min(published);
    let changes = app
        .storage
        .table_changes(stream.table_id, iterator.after, bound, limit)
        .map_err(internal)?;
    let full_page = changes.len() >= limit;
    let mut records = Vec::with_capacity(changes.len());
    let mut bytes = 0i64;
    let mut next_after = iterator.after.max(bound);
    let mut cut = full_page;
    // The last change the page took or passed over: where a cut page's next one starts.
    let mut taken = iterator.after;
    for change in changes {
        let seq = change.seq;
        if !change.is_shown() {
            taken = seq;
            continue;
        }
        let record = into_stream_record(&app.config.region, &stream, change);
        bytes = bytes.saturating_add(record.dynamodb.size_bytes);
        if bytes > MAX_BYTES && !records.is_empty() {
            cut = true;
            break;
        }
        records.push(record);
        taken = seq;
    }
    if cut {
        next_after = taken;
    }
    let finished = shard.end.is_some_and(|end| next_after >= end);
    Ok(GetRecordsOutput {
        records,
        next_shard_iterator: (!finished).then(|| {
            ShardIterator {
                after: next_after,
                issued_ms: now,
                ..iterator
            }
            .encode()
        }),
    })
}
