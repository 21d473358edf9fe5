//! Fault injection for the one failure the integration tests cannot provoke from outside:
//! a journal sync that fails (the OS reports it after a disk error or a full disk, and an
//! unprivileged test can produce neither). Debug builds only, which is what the
//! integration tests run; a release build always syncs for real.
//!
//! `STORE_FAULT_SYNC_FAILS_WHILE=PATH`: every journal sync fails while `PATH` exists, so a
//! test decides the moment by creating the file.

use super::StorageError;

/// What the commit thread asks before each group's write: never a failure, or in a debug
/// build with `STORE_FAULT_SYNC_FAILS_WHILE` set, a failed journal sync while that file
/// exists (the group then fails as a failing disk would fail it: nothing written).
#[cfg(debug_assertions)]
pub fn journal_fault() -> impl Fn() -> Option<StorageError> + Send + 'static {
    let trigger = std::env::var_os("STORE_FAULT_SYNC_FAILS_WHILE").map(std::path::PathBuf::from);
    move || {
        trigger.as_ref().filter(|path| path.exists()).map(|_| {
            StorageError::Engine(
                "journal sync failure injected by STORE_FAULT_SYNC_FAILS_WHILE".into(),
            )
        })
    }
}

#[cfg(not(debug_assertions))]
pub fn journal_fault() -> impl Fn() -> Option<StorageError> + Send + 'static {
    || None
}
