//! The data directory's free space, as `/health` reports it. A store whose filesystem has
//! less free space than `--min-free-disk-mb` answers 503, saying so: restarted on a disk
//! that is still full, it would otherwise look healthy until its first write failed.
//!
//! Looked at on each health probe (one `statvfs`, never on the API path) and once at start,
//! so `/health` answers 200 again as soon as space is freed. Writes are not refused for it:
//! the engine refuses them itself when a write really fails (`Storage::writable`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// The free space a data directory's filesystem must keep.
#[derive(Debug)]
pub struct DiskReserve {
    dir: PathBuf,
    reserve_bytes: u64,
    /// Whether the last look found the disk short, so that only changes are logged.
    short: AtomicBool,
}

impl DiskReserve {
    /// The reserve of `dir`; `None` when there is none to keep (0 bytes).
    pub fn new(dir: PathBuf, reserve_bytes: u64) -> Option<DiskReserve> {
        (reserve_bytes > 0).then_some(DiskReserve {
            dir,
            reserve_bytes,
            short: AtomicBool::new(false),
        })
    }

    /// Why the store should not be sent traffic for lack of space, if it should not; logs
    /// when the disk becomes short and when it has room again. A filesystem that cannot be
    /// looked at is not taken for a full one.
    pub fn shortage(&self) -> Option<String> {
        let stats = rustix::fs::statvfs(&self.dir).ok()?;
        let free = stats.f_bavail.saturating_mul(stats.f_frsize);
        let why = shortage(free, self.reserve_bytes);
        let was_short = self.short.swap(why.is_some(), Ordering::Relaxed);
        match (&why, was_short) {
            (Some(why), false) => tracing::warn!(dir = %self.dir.display(), "{why}"),
            (None, true) => {
                tracing::info!(dir = %self.dir.display(), "disk space back above the reserve");
            }
            _ => {}
        }
        why
    }
}

/// The health message for `free` bytes against a reserve of `reserve` bytes.
fn shortage(free: u64, reserve: u64) -> Option<String> {
    (free < reserve).then(|| {
        format!(
            "disk nearly full: {} MiB free for the data directory, under the \
             --min-free-disk-mb reserve of {} MiB; free some space",
            free >> 20,
            reserve >> 20
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn short_only_below_the_reserve() {
        assert_eq!(
            shortage(10 * MIB, 64 * MIB).as_deref(),
            Some("disk nearly full: 10 MiB free for the data directory, under the --min-free-disk-mb reserve of 64 MiB; free some space")
        );
        assert_eq!(shortage(64 * MIB, 64 * MIB), None);
        assert_eq!(shortage(u64::MAX, 64 * MIB), None);
        assert!(DiskReserve::new(PathBuf::from("."), 0).is_none());
    }

    /// The real filesystem: short against an absurd reserve, and not against a tiny one
    /// (a store whose disk is freed answers 200 again at its next look).
    #[test]
    fn looks_at_the_directorys_filesystem() {
        let dir = std::env::temp_dir();
        let absurd = DiskReserve::new(dir.clone(), u64::MAX).unwrap_or_else(|| unreachable!());
        assert!(absurd.shortage().is_some());
        let tiny = DiskReserve::new(dir, 1).unwrap_or_else(|| unreachable!());
        assert_eq!(tiny.shortage(), None);
    }
}
