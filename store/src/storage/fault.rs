//! Fault injection for the one failure the integration tests cannot provoke from outside:
//! a journal sync that fails (the OS reports it after a disk error or a full disk, and an
//! unprivileged test can produce neither). Debug builds only, which is what the
//! integration tests run; a release build always syncs for real.
//!
//! `STORE_FAULT_SYNC_FAILS_WHILE=PATH`: every journal sync fails while `PATH` exists, so a
//! test decides the moment by creating the file.

use fjall::Database;

use super::group_commit::sync_journal;

/// The journal sync the commit thread runs: [`sync_journal`], or in a debug build with
/// `STORE_FAULT_SYNC_FAILS_WHILE` set, one that fails while that file exists.
#[cfg(debug_assertions)]
pub fn journal_sync() -> impl Fn(&Database) -> Result<(), fjall::Error> + Send + 'static {
    let trigger = std::env::var_os("STORE_FAULT_SYNC_FAILS_WHILE").map(std::path::PathBuf::from);
    move |db| match &trigger {
        Some(path) if path.exists() => Err(fjall::Error::Io(std::io::Error::other(
            "journal sync failure injected by STORE_FAULT_SYNC_FAILS_WHILE",
        ))),
        _ => sync_journal(db),
    }
}

#[cfg(not(debug_assertions))]
pub fn journal_sync() -> impl Fn(&Database) -> Result<(), fjall::Error> + Send + 'static {
    sync_journal
}
