//! Additions withdrawn here: a region that removes a replica still being made asks this
//! store to withdraw that addition (`serve::withdraw`) without knowing whether its call to
//! make the table has arrived, or is still on its way. The withdrawal is kept in the meta
//! keyspace, so that such a call arriving after it is refused rather than leave a replica
//! that no region knows of. Kept a day ([`KEPT_FOR_SECS`]): a call to make a replica is
//! given up after `peer::CALL_TIMEOUT`, and the adding region asks no more once the
//! replica is removed, so none arrives that late.

use crate::storage::{Storage, StorageError};

const PREFIX: &str = "replication/withdrawn/";

/// How long a withdrawal is kept.
const KEPT_FOR_SECS: u64 = 24 * 3600;

fn key(table: &str, origin: &str) -> String {
    format!("{PREFIX}{table}/{origin}")
}

/// Keeps that the addition `origin` of a replica of `table` was withdrawn at `now` (epoch
/// seconds), and forgets the withdrawals kept longer than a day.
pub async fn record(
    storage: &Storage,
    table: &str,
    origin: &str,
    now: u64,
) -> Result<(), StorageError> {
    for (old, _) in storage
        .list_meta(PREFIX)?
        .into_iter()
        .filter(|(_, at)| expired(at, now))
    {
        storage.put_meta(&old, None).await?;
    }
    let at = now.to_string().into_bytes();
    storage.put_meta(&key(table, origin), Some(at)).await
}

/// Whether the addition `origin` of a replica of `table` was withdrawn within a day of
/// `now`.
pub fn is_withdrawn(
    storage: &Storage,
    table: &str,
    origin: &str,
    now: u64,
) -> Result<bool, StorageError> {
    let key = key(table, origin);
    // A prefix scan: "u/1" is a prefix of "u/12", so only the key itself counts.
    Ok(storage
        .list_meta(&key)?
        .iter()
        .any(|(k, at)| *k == key && !expired(at, now)))
}

/// Whether a withdrawal kept at `at` is past keeping at `now`; one that does not parse is.
fn expired(at: &[u8], now: u64) -> bool {
    std::str::from_utf8(at)
        .ok()
        .and_then(|at| at.parse::<u64>().ok())
        .is_none_or(|at| now.saturating_sub(at) > KEPT_FOR_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_withdrawal_is_kept_for_its_addition_only_and_for_a_day() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let storage = Storage::open(dir.path(), crate::storage::StorageOptions::for_tests())
            .unwrap_or_else(|e| panic!("open: {e}"));
        let now = 1_000_000;
        record(&storage, "t", "u/1", now).await.expect("kept");
        let withdrawn = |table: &str, origin: &str, now| {
            is_withdrawn(&storage, table, origin, now).expect("read")
        };
        assert!(withdrawn("t", "u/1", now));
        assert!(!withdrawn("t", "u/12", now));
        assert!(!withdrawn("t", "u/", now));
        assert!(!withdrawn("other", "u/1", now));
        assert!(withdrawn("t", "u/1", now + KEPT_FOR_SECS));
        assert!(!withdrawn("t", "u/1", now + KEPT_FOR_SECS + 1));
        // Recording another forgets the ones past keeping.
        record(&storage, "t", "u/2", now + KEPT_FOR_SECS + 1)
            .await
            .expect("kept");
        assert_eq!(storage.list_meta(PREFIX).expect("read").len(), 1);
    }
}
