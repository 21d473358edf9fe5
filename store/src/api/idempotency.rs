//! `ClientRequestToken` handling for TransactWriteItems (DYNAMODB.md §5 "Idempotency").
//!
//! A token is remembered from the moment a transaction using it starts:
//! - while that transaction runs, a repeat with the same parameters is
//!   TransactionInProgressException (which SDKs retry), one with other parameters
//!   IdempotentParameterMismatchException;
//! - once it has succeeded, for [`WINDOW`] (10 minutes, counted from when it *finished*), a
//!   repeat with the same parameters succeeds without applying anything again
//!   ([`Claim::Replay`]) and one with other parameters is IdempotentParameterMismatchException;
//! - a transaction that failed (cancelled, invalid, internal error, or whose future was
//!   dropped before its commit began) forgets its token, so a retry runs again: nothing
//!   was applied;
//! - a transaction whose request went away once its commit was under way (the client
//!   timed out or disconnected, and its SDK retries with the same token) is remembered as
//!   succeeded: the commit finishes without the request ([`Pending::committing`]).
//!
//! "Same parameters" means the same `TransactItems`, compared by a 128-bit hash of their
//! canonical JSON form ([`fingerprint`]: object members sorted, so the order of map members
//! on the wire does not matter). Only the hash is kept, so an entry costs the token (at most
//! 36 characters) plus a few words, and at most [`MAX_TOKENS`] finished tokens are
//! remembered (the oldest are forgotten first), so memory stays bounded whatever clients
//! send.
//!
//! **Restarts.** A succeeded token is also a catalog record ([`Pending::record`]) that the
//! transaction's own engine batch writes, so it is durable exactly when the transaction
//! is: a store restarted within the window ([`Tokens::load`]) still replays an SDK's retry
//! rather than applying the transaction again. The records are keyed by finishing time, so
//! [`forget_expired`] deletes the expired ones as one key range.
use std::collections::{HashMap, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde::Serialize;
use shared::wire::error::{ApiError, ErrorCode};
use xxhash_rust::xxh3::Xxh3;

use crate::app::App;
use crate::storage::{Storage, StorageError};

/// How long a finished token is remembered.
pub const WINDOW: Duration = Duration::from_secs(10 * 60);

/// Most finished tokens remembered at once.
pub const MAX_TOKENS: usize = 100_000;

/// A hash of a request's parameters.
pub type Fingerprint = u128;

/// TransactionInProgressException's text (the API reference's description).
pub const IN_PROGRESS: &str =
    "The transaction with the given request token is already in progress.";

/// IdempotentParameterMismatchException's text (the API reference's description).
pub const MISMATCH: &str = "DynamoDB rejected the request because you retried a request with a different payload but with an idempotent token that was already used.";

/// Catalog records of succeeded tokens: `txn-token/<finishing time, Unix ms, 20 digits>/
/// <token>` → the fingerprint (16 bytes, big-endian).
const RECORD_PREFIX: &str = "txn-token/";

/// How often [`run_expiry`] deletes expired token records.
const EXPIRY_PERIOD: Duration = Duration::from_secs(60);

type Key = String;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Entry {
    InFlight(Fingerprint),
    Done {
        fingerprint: Fingerprint,
        finished: Instant,
    },
}

#[derive(Default)]
struct State {
    entries: HashMap<Key, Entry>,
    /// Finished tokens, oldest first, with the time they finished (an entry that has since
    /// been replaced is skipped when its turn comes).
    finished: VecDeque<(Instant, Key)>,
}

impl State {
    /// Forgets finished tokens older than the window, and the oldest beyond `capacity`.
    fn expire(&mut self, now: Instant, capacity: usize) {
        while let Some((at, _)) = self.finished.front() {
            let expired = now.saturating_duration_since(*at) >= WINDOW;
            if !expired && self.finished.len() <= capacity {
                break;
            }
            let Some((at, key)) = self.finished.pop_front() else {
                break;
            };
            if matches!(self.entries.get(&key), Some(Entry::Done { finished, .. }) if *finished == at)
            {
                self.entries.remove(&key);
            }
        }
    }
}

/// The token registry.
pub struct Tokens {
    state: Mutex<State>,
    capacity: usize,
}

/// What a transaction with a token should do.
pub enum Claim<'a> {
    /// Run it; report the outcome through the [`Pending`] (dropping it forgets the token).
    Run(Pending<'a>),
    /// It already succeeded within the window: answer success without applying anything.
    Replay,
}

/// A claimed token whose transaction is running.
pub struct Pending<'a> {
    tokens: &'a Tokens,
    key: Key,
    fingerprint: Fingerprint,
    settled: bool,
    /// Set once the transaction's writes are decided: from then on its commit completes
    /// even if the request is dropped. Atomic only so that the request future, which
    /// holds a reference across its commit, stays `Send`.
    committing: AtomicBool,
}

impl Pending<'_> {
    /// The catalog record (meta key, value) that keeps this token across a restart once
    /// its transaction succeeds at `finished_ms` (Unix ms): the transaction's batch writes
    /// it.
    pub fn record(&self, finished_ms: u64) -> (String, Vec<u8>) {
        (
            record_key(finished_ms, &self.key),
            self.fingerprint.to_be_bytes().to_vec(),
        )
    }

    /// The transaction's writes are decided and about to be committed.
    pub fn committing(&self) {
        self.committing.store(true, Ordering::Relaxed);
    }

    /// The transaction committed: remember the token for [`WINDOW`] from `now`.
    pub fn succeed(mut self, now: Instant) {
        self.settled = true;
        self.remember(now);
    }

    /// The transaction failed, its commit included: forget the token.
    pub fn fail(mut self) {
        self.settled = true;
        self.forget();
    }

    fn remember(&self, now: Instant) {
        let mut state = self.tokens.state.lock();
        state.entries.insert(
            self.key.clone(),
            Entry::Done {
                fingerprint: self.fingerprint,
                finished: now,
            },
        );
        state.finished.push_back((now, self.key.clone()));
        state.expire(now, self.tokens.capacity);
    }

    fn forget(&self) {
        let mut state = self.tokens.state.lock();
        if state.entries.get(&self.key) == Some(&Entry::InFlight(self.fingerprint)) {
            state.entries.remove(&self.key);
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        if self.committing.load(Ordering::Relaxed) {
            // The request went away during its commit, which completes without it: a
            // retry must replay, not apply the transaction again.
            self.remember(Instant::now());
        } else {
            // Failed or abandoned before anything was decided: a retry runs again.
            self.forget();
        }
    }
}

impl Tokens {
    pub fn new(capacity: usize) -> Self {
        Tokens {
            state: Mutex::new(State::default()),
            capacity,
        }
    }

    /// The tokens `storage` recorded within the last [`WINDOW`] (as of `now_ms`, Unix ms),
    /// as succeeded, with at most `capacity` finished tokens kept.
    pub fn load(storage: &Storage, capacity: usize, now_ms: u64) -> Result<Tokens, StorageError> {
        let tokens = Tokens::new(capacity);
        let first = record_key(now_ms.saturating_sub(window_ms()), "");
        let now = Instant::now();
        let mut state = tokens.state.lock();
        // In key order, so oldest first, as `State::finished` wants them.
        for (key, value) in storage.list_meta_range(&first, record_end())? {
            let Some((finished_ms, token, fingerprint)) = parse_record(&key, &value) else {
                tracing::warn!(key, "unreadable transaction token record skipped");
                continue;
            };
            let age = Duration::from_millis(now_ms.saturating_sub(finished_ms));
            let finished = now.checked_sub(age).unwrap_or(now);
            let token = token.to_string();
            state.entries.insert(
                token.clone(),
                Entry::Done {
                    fingerprint,
                    finished,
                },
            );
            state.finished.push_back((finished, token));
        }
        state.expire(now, capacity);
        drop(state);
        Ok(tokens)
    }

    /// Claims `token` for a transaction with parameters `fingerprint`.
    pub fn claim(
        &self,
        token: &str,
        fingerprint: Fingerprint,
        now: Instant,
    ) -> Result<Claim<'_>, ApiError> {
        let key: Key = token.to_string();
        let mut state = self.state.lock();
        state.expire(now, self.capacity);
        match state.entries.get(&key).copied() {
            Some(Entry::InFlight(other)) => Err(if other == fingerprint {
                ApiError::new(ErrorCode::TransactionInProgressException, IN_PROGRESS)
            } else {
                ApiError::new(ErrorCode::IdempotentParameterMismatchException, MISMATCH)
            }),
            Some(Entry::Done {
                fingerprint: other,
                finished,
            }) if now.saturating_duration_since(finished) < WINDOW => {
                if other == fingerprint {
                    Ok(Claim::Replay)
                } else {
                    Err(ApiError::new(
                        ErrorCode::IdempotentParameterMismatchException,
                        MISMATCH,
                    ))
                }
            }
            _ => {
                state
                    .entries
                    .insert(key.clone(), Entry::InFlight(fingerprint));
                Ok(Claim::Run(Pending {
                    tokens: self,
                    key,
                    fingerprint,
                    settled: false,
                    committing: AtomicBool::new(false),
                }))
            }
        }
    }

    /// Tokens currently remembered (in flight or finished).
    pub fn len(&self) -> usize {
        self.state.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn window_ms() -> u64 {
    WINDOW.as_millis() as u64
}

fn record_key(finished_ms: u64, token: &str) -> String {
    format!("{RECORD_PREFIX}{finished_ms:020}/{token}")
}

/// Past the last token record.
fn record_end() -> Bound<Vec<u8>> {
    crate::storage::keys::prefix_upper(RECORD_PREFIX.as_bytes())
}

/// A token record's finishing time, token and fingerprint.
fn parse_record<'k>(key: &'k str, value: &[u8]) -> Option<(u64, &'k str, Fingerprint)> {
    let (time, token) = key.strip_prefix(RECORD_PREFIX)?.split_once('/')?;
    let fingerprint = Fingerprint::from_be_bytes(value.try_into().ok()?);
    Some((time.parse().ok()?, token, fingerprint))
}

/// Deletes the token records that finished more than [`WINDOW`] before `now_ms` (Unix ms);
/// returns how many.
pub async fn forget_expired(storage: &Storage, now_ms: u64) -> Result<usize, StorageError> {
    let end = record_key(now_ms.saturating_sub(window_ms()), "");
    let expired = storage.list_meta_range(RECORD_PREFIX, Bound::Excluded(end.into_bytes()))?;
    let count = expired.len();
    if count > 0 {
        let deletes = expired
            .iter()
            .map(|(key, _)| (key.as_str(), None))
            .collect();
        storage.write_meta(deletes, None).await?;
    }
    Ok(count)
}

/// Deletes expired token records every [`EXPIRY_PERIOD`], for the life of the process.
pub async fn run_expiry(app: Arc<App>) {
    let mut tick = tokio::time::interval(EXPIRY_PERIOD);
    loop {
        tick.tick().await;
        if let Err(e) = forget_expired(&app.storage, shared::clock::now_ms()).await {
            tracing::warn!(error = %e, "cannot delete expired transaction token records");
        }
    }
}

/// A 128-bit hash of `value`'s JSON form with object members in sorted order, so that two
/// requests that differ only in the order of map members hash alike.
pub fn fingerprint<T: Serialize>(value: &T) -> Fingerprint {
    let mut hasher = Xxh3::new();
    match serde_json::to_value(value) {
        Ok(json) => hash_json(&json, &mut hasher),
        // Our shapes always serialize; if one ever did not, hash nothing distinctive rather
        // than fail the request (a mismatch would then read as a replay of the same shape).
        Err(_) => hasher.update(b"!"),
    }
    hasher.digest128()
}

fn hash_json(value: &serde_json::Value, h: &mut Xxh3) {
    use serde_json::Value;
    // Each value is tagged and strings are length-prefixed, so distinct trees never feed
    // the hasher the same bytes.
    match value {
        Value::Null => h.update(b"n"),
        Value::Bool(b) => h.update(if *b { b"t" } else { b"f" }),
        Value::Number(n) => hash_str(b'#', &n.to_string(), h),
        Value::String(s) => hash_str(b's', s, h),
        Value::Array(items) => {
            h.update(b"[");
            h.update(&(items.len() as u64).to_be_bytes());
            for item in items {
                hash_json(item, h);
            }
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            h.update(b"{");
            h.update(&(members.len() as u64).to_be_bytes());
            for (k, v) in members {
                hash_str(b'k', k, h);
                hash_json(v, h);
            }
        }
    }
}

fn hash_str(tag: u8, s: &str, h: &mut Xxh3) {
    h.update(&[tag]);
    h.update(&(s.len() as u64).to_be_bytes());
    h.update(s.as_bytes());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(r: Result<Claim<'_>, ApiError>) -> &'static str {
        match r {
            Ok(Claim::Run(_)) => "run",
            Ok(Claim::Replay) => "replay",
            Err(e) => e.code.name(),
        }
    }

    #[test]
    fn fingerprint_ignores_member_order_only() {
        let a = fingerprint(&json!({"a": 1, "b": {"x": "1", "y": [1, 2]}}));
        let b = fingerprint(&json!({"b": {"y": [1, 2], "x": "1"}, "a": 1}));
        let c = fingerprint(&json!({"b": {"y": [2, 1], "x": "1"}, "a": 1}));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(
            fingerprint(&json!(["ab", "c"])),
            fingerprint(&json!(["a", "bc"]))
        );
    }

    #[test]
    fn in_flight_then_done_then_expired() {
        let tokens = Tokens::new(10);
        let t0 = Instant::now();
        let Ok(Claim::Run(pending)) = tokens.claim("tok", 7, t0) else {
            panic!("first claim must run");
        };
        assert_eq!(
            code(tokens.claim("tok", 7, t0)),
            "TransactionInProgressException"
        );
        assert_eq!(
            code(tokens.claim("tok", 8, t0)),
            "IdempotentParameterMismatchException"
        );
        // Another token is independent.
        assert_eq!(code(tokens.claim("tok2", 7, t0)), "run");
        pending.succeed(t0);
        assert_eq!(
            code(tokens.claim("tok", 7, t0 + Duration::from_secs(599))),
            "replay"
        );
        assert_eq!(
            code(tokens.claim("tok", 8, t0 + Duration::from_secs(1))),
            "IdempotentParameterMismatchException"
        );
        assert_eq!(code(tokens.claim("tok", 8, t0 + WINDOW)), "run");
    }

    #[test]
    fn failure_forgets_the_token() {
        let tokens = Tokens::new(10);
        let t0 = Instant::now();
        let claim = tokens.claim("tok", 7, t0);
        assert!(matches!(claim, Ok(Claim::Run(_))));
        drop(claim);
        assert!(tokens.is_empty());
        assert_eq!(code(tokens.claim("tok", 9, t0)), "run");
    }

    #[test]
    fn a_request_dropped_during_its_commit_keeps_its_token() {
        let tokens = Tokens::new(10);
        let t0 = Instant::now();
        let Ok(Claim::Run(pending)) = tokens.claim("tok", 7, t0) else {
            panic!("first claim must run");
        };
        pending.committing();
        drop(pending);
        assert_eq!(code(tokens.claim("tok", 7, Instant::now())), "replay");
        // A commit that failed, though it had begun, forgets the token.
        let Ok(Claim::Run(pending)) = tokens.claim("other", 7, t0) else {
            panic!("first claim must run");
        };
        pending.committing();
        pending.fail();
        assert_eq!(code(tokens.claim("other", 7, t0)), "run");
    }

    #[tokio::test]
    async fn succeeded_tokens_outlive_a_restart_for_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let open = || Storage::open(dir.path(), crate::storage::StorageOptions::for_tests());
        let storage = open().unwrap();
        let tokens = Tokens::new(10);
        let now_ms = 1_000_000_000;
        for (token, fingerprint, finished_ms) in [
            ("recent", 7, now_ms - 1_000),
            ("old", 8, now_ms - window_ms() - 1),
        ] {
            let Ok(Claim::Run(pending)) = tokens.claim(token, fingerprint, Instant::now()) else {
                panic!("first claim must run");
            };
            let (key, value) = pending.record(finished_ms);
            storage.put_meta(&key, Some(value)).await.unwrap();
            pending.succeed(Instant::now());
        }
        drop(storage);

        let storage = open().unwrap();
        let loaded = Tokens::load(&storage, 10, now_ms).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(code(loaded.claim("recent", 7, Instant::now())), "replay");
        assert_eq!(
            code(loaded.claim("recent", 9, Instant::now())),
            "IdempotentParameterMismatchException"
        );
        assert_eq!(code(loaded.claim("old", 8, Instant::now())), "run");

        // Only the expired record is deleted; then the other, once it has expired too.
        assert_eq!(forget_expired(&storage, now_ms).await.unwrap(), 1);
        assert_eq!(storage.list_meta(RECORD_PREFIX).unwrap().len(), 1);
        assert_eq!(
            forget_expired(&storage, now_ms + window_ms())
                .await
                .unwrap(),
            1
        );
        assert!(storage.list_meta(RECORD_PREFIX).unwrap().is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let tokens = Tokens::new(3);
        let t0 = Instant::now();
        for i in 0..10u32 {
            if let Ok(Claim::Run(p)) = tokens.claim(&i.to_string(), 1, t0) {
                p.succeed(t0);
            }
        }
        assert_eq!(tokens.len(), 3);
        // The oldest were forgotten, the newest are still replays.
        assert_eq!(code(tokens.claim("0", 1, t0)), "run");
        assert_eq!(code(tokens.claim("9", 1, t0)), "replay");
    }
}
