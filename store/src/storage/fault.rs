//! Fault injection for the one failure the integration tests cannot provoke from outside:
//! a journal sync that fails (the OS reports it after a disk error or a full disk, and an
//! unprivileged test can produce neither). Debug builds only, which is what the
//! integration tests run; a release build always syncs for real.
//!
//! `STORE_FAULT_SYNC_FAILS_WHILE=PATH`: every journal sync fails while `PATH` exists, so a
//! test decides the moment by creating the file.

use super::engine::Engine;
use super::group_commit::sync_engine;
use super::StorageError;

/// The sync the commit thread runs: [`sync_engine`], or in a debug build with
/// `STORE_FAULT_SYNC_FAILS_WHILE` set, one that fails while that file exists.
#[cfg(debug_assertions)]
pub fn journal_sync() -> impl Fn(&dyn Engine) -> Result<(), StorageError> + Send + 'static {
    let trigger = std::env::var_os("STORE_FAULT_SYNC_FAILS_WHILE").map(std::path::PathBuf::from);
    move |engine| match &trigger {
        Some(path) if path.exists() => Err(StorageError::Engine(
            "journal sync failure injected by STORE_FAULT_SYNC_FAILS_WHILE".into(),
        )),
        _ => sync_engine(engine),
    }
}

#[cfg(not(debug_assertions))]
pub fn journal_sync() -> impl Fn(&dyn Engine) -> Result<(), StorageError> + Send + 'static {
    sync_engine
}
