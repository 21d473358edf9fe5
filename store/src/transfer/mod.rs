//! Export to and import from S3, with a local directory standing in for S3.
//!
//! ExportTableToPointInTime writes a table's items as of a time in its PITR window, or what
//! changed in a window of it, in DynamoDB's export layout; ImportTable creates a table from
//! such files (or any DynamoDB JSON lines), and StartBulkPutItems writes such lines (with
//! optional conditions) into an existing table ([`bulk_put`]), so data moves between the
//! store and real DynamoDB through `aws s3 sync`:
//! - bucket `B` is the directory `<--s3-dir>/B`, and an object key is a path under it;
//! - an export writes `<prefix>/AWSDynamoDB/<export id>/` with `manifest-summary.json`,
//!   `manifest-files.json` (one line per data file, with its MD5 as S3 reports it), their
//!   `.md5` files, `_started`, and `data/<name>.json.gz`: gzipped lines `{"Item":{...}}`;
//! - an incremental export writes its manifests there too, and its data files into
//!   `<prefix>/AWSDynamoDB/data/`, which all of them share: a line per item changed in its
//!   window, `{"Metadata":{"WriteTimestampMicros":{"N":...}},"Keys":{...},"NewImage":{...},
//!   "OldImage":{...}}`, without `NewImage` for a deleted item, without `OldImage` for a
//!   created one or with the `NEW_IMAGE` view.
//!
//! All run in the background, as in DynamoDB: the call answers `IN_PROGRESS` and
//! Describe/List report `COMPLETED` (or `FAILED` with a code and message) when done. Their
//! records are durable meta records ([`jobs`]); a job the store was running when it
//! stopped is reported `FAILED` after the restart (a bulk operation asked to stop,
//! `CANCELLED`).

pub mod bulk_put;
mod bulk_report;
pub mod export;
pub mod import;
mod ion;
pub mod jobs;
mod source;
mod zstd_frames;

use std::collections::HashSet;
use std::future::Future;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use shared::wire::error::ApiError;

use crate::app::App;
use bulk_put::BulkRecord;
use export::ExportRecord;
use import::ImportRecord;

/// The model's `InputCompressionType`, which imports and bulk operations read.
pub const COMPRESSIONS: &[&str] = &["GZIP", "ZSTD", "NONE"];
/// The model's `S3SseAlgorithm`, of exports and bulk operations' reports.
pub const SSE_ALGORITHMS: &[&str] = &["AES256", "KMS"];

/// How many exports and imports run at once; later ones wait for a slot, in the order
/// they were started. Each reads or writes files on blocking threads, so a few at once keep
/// a short export from waiting behind a long import without crowding out requests.
const CONCURRENT_JOBS: usize = 4;

/// Runs recorded exports and imports, each in a task of its own: the durable records are
/// the queue, and `App::transfers` says a new one is there. Jobs left `IN_PROGRESS` by an
/// earlier process are reported failed first, but imports, which run again.
pub async fn run_jobs(app: Arc<App>) {
    let started = shared::clock::now_seconds();
    for failed in [
        jobs::fail_interrupted::<ExportRecord>(&app, started).await,
        import::resume_interrupted(&app, started).await,
        jobs::fail_interrupted::<BulkRecord>(&app, started).await,
    ] {
        if let Err(e) = failed {
            tracing::error!(error = ?e.message, "cannot record interrupted exports or imports");
        }
    }
    let slots = Arc::new(Semaphore::new(CONCURRENT_JOBS));
    // The jobs started and not yet ended. A job saves its end before it leaves this set,
    // and the records are read under its lock: a job is either here or read as ended,
    // never started twice.
    let running: Arc<Mutex<HashSet<String>>> = Arc::default();
    loop {
        {
            let mut started = running.lock().unwrap_or_else(|e| e.into_inner());
            for record in unstarted::<ExportRecord>(&app, &mut started) {
                let app = Arc::clone(&app);
                spawn_job(&slots, &running, record.job.arn.clone(), async move {
                    export::run(&app, record).await
                });
            }
            for record in unstarted::<ImportRecord>(&app, &mut started) {
                let app = Arc::clone(&app);
                spawn_job(&slots, &running, record.job.arn.clone(), async move {
                    import::run(&app, record).await
                });
            }
            for record in unstarted::<BulkRecord>(&app, &mut started) {
                let app = Arc::clone(&app);
                spawn_job(&slots, &running, record.job.arn.clone(), async move {
                    bulk_put::run(app, record).await
                });
            }
        }
        app.transfers.notified().await;
    }
}

/// The jobs of kind `J` in progress and not in `started`, which they are added to.
fn unstarted<J: jobs::Job>(app: &App, started: &mut HashSet<String>) -> Vec<J> {
    let mut records = jobs::all::<J>(app).unwrap_or_default();
    records.retain(|r| {
        r.header().progress.status.is_running() && started.insert(r.header().arn.clone())
    });
    records
}

/// Runs `job` once a slot is free, then takes `arn` out of `running`.
fn spawn_job(
    slots: &Arc<Semaphore>,
    running: &Arc<Mutex<HashSet<String>>>,
    arn: String,
    job: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::clone(slots);
    let running = Arc::clone(running);
    tokio::spawn(async move {
        // The semaphore is never closed; a failed acquire could only mean running unbounded.
        let _slot = slots.acquire_owned().await;
        job.await;
        running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&arn);
    });
}

/// The directory standing in for `bucket` (checked by [`check_location`]).
pub fn bucket_dir(app: &App, bucket: &str) -> PathBuf {
    app.config.s3_dir.join(bucket)
}

/// The longest name the directory standing in for S3 takes for a part of a key between
/// slashes, which is a file or directory name there: the usual filesystems' limit.
const KEY_PART_BYTES: usize = 255;

/// Refuses a bucket name outside S3's naming rules, which DynamoDB checks before anything
/// else (3-63 lowercase letters, digits, dots and hyphens, beginning and ending with a
/// letter or digit), a key prefix that would climb out of its bucket's directory, and one
/// the directory cannot hold (a part over [`KEY_PART_BYTES`], a NUL): S3 takes those, but
/// here they would only fail the job later. Also refused, though S3 takes them too: an
/// empty or `.` part between slashes. S3 keys are plain strings, so `a//b` and `./x` are
/// prefixes of their own, but a path folds those parts away: here they would be `a/b` and
/// `x`, and the job would mix its files with theirs.
pub fn check_location(bucket: &str, prefix: Option<&str>) -> Result<(), ApiError> {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && edge(bucket.chars().next())
        && edge(bucket.chars().last());
    if !valid {
        return Err(ApiError::validation(format!(
            "Invalid S3 bucket name: {bucket}"
        )));
    }
    let prefix = prefix.unwrap_or_default();
    let contained = Path::new(prefix)
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !contained {
        return Err(ApiError::validation(format!("Invalid S3 prefix: {prefix}")));
    }
    let mut parts = prefix.strip_suffix('/').unwrap_or(prefix).split('/');
    let kept_apart = prefix.is_empty() || parts.clone().all(|part| !matches!(part, "" | "."));
    if !kept_apart {
        return Err(ApiError::validation(format!(
            "Invalid S3 prefix: {prefix}: this store's S3 directory keeps each part of a key \
             between slashes as a directory, so an empty or '.' part would fold into the \
             prefix without it"
        )));
    }
    let holdable = parts.all(|part| part.len() <= KEY_PART_BYTES && !part.contains('\0'));
    if !holdable {
        return Err(ApiError::validation(format!(
            "Invalid S3 prefix: this store's S3 directory keeps each part of a key between \
             slashes as a file name, of at most {KEY_PART_BYTES} bytes and without NUL characters"
        )));
    }
    Ok(())
}

/// `<prefix>/AWSDynamoDB`: the key under which exports (and bulk operations' reports)
/// with key prefix `prefix` write, each into its own `<id>/`, as DynamoDB lays them out.
pub fn aws_dynamodb_dir(prefix: Option<&str>) -> String {
    match prefix.unwrap_or_default().trim_matches('/') {
        "" => "AWSDynamoDB".to_string(),
        p => format!("{p}/AWSDynamoDB"),
    }
}

/// `2020-11-04T07:28:34.028Z`: how export manifests write times.
pub fn iso_millis(epoch_seconds: f64) -> String {
    format!("{}Z", crate::catalog::meta::iso_timestamp(epoch_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_directories_sit_under_the_key_prefix() {
        assert_eq!(aws_dynamodb_dir(None), "AWSDynamoDB");
        assert_eq!(aws_dynamodb_dir(Some("")), "AWSDynamoDB");
        assert_eq!(aws_dynamodb_dir(Some("daily")), "daily/AWSDynamoDB");
        assert_eq!(aws_dynamodb_dir(Some("daily/")), "daily/AWSDynamoDB");
    }

    #[test]
    fn manifest_times_are_iso_8601_with_milliseconds() {
        assert_eq!(iso_millis(1604474914.028), "2020-11-04T07:28:34.028Z");
    }

    #[test]
    fn locations_stay_inside_their_bucket() {
        assert!(check_location("my-exports.2026", None).is_ok());
        for bad in ["ab", "Upper", "-edge", "edge-", "under_score", "a/b"] {
            assert!(check_location(bad, None).is_err(), "{bad}");
        }
        assert!(check_location("bucket", Some("daily/AWSDynamoDB/")).is_ok());
        for bad in ["../other", "a/../../b", "/etc"] {
            assert!(check_location("bucket", Some(bad)).is_err(), "{bad}");
        }
        let longest = format!("daily/{}/", "a".repeat(KEY_PART_BYTES));
        assert!(check_location("bucket", Some(&longest)).is_ok());
        let too_long = format!("daily/{}/", "é".repeat(128));
        for bad in [too_long.as_str(), "a\0b", "a/\0"] {
            let refused = check_location("bucket", Some(bad)).err();
            let message = refused.and_then(|e| e.message).unwrap_or_default();
            assert!(message.contains("at most 255 bytes"), "{bad:?}: {message}");
        }
    }

    #[test]
    fn prefixes_a_directory_would_fold_into_another_are_refused() {
        for good in ["a/b", "a/b/", "a.b/.c/", ".well/x"] {
            assert!(check_location("bucket", Some(good)).is_ok(), "{good}");
        }
        for bad in ["a//b", "./x", "a/./b", "a/.", "a//"] {
            let refused = check_location("bucket", Some(bad)).err();
            let message = refused.and_then(|e| e.message).unwrap_or_default();
            assert!(message.contains("empty or '.' part"), "{bad:?}: {message}");
        }
    }
}
