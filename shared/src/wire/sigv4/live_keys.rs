//! A credentials file's keys, kept current while the daemon runs, so that keys can be
//! rotated without a restart: a background task looks at the file's modification time,
//! length and inode every second (one `stat`), and reads the file again when they change.
//! Keys that parse replace the old ones at once; a file that does not parse (or cannot be
//! read) leaves the old keys in force, with one error logged per change of the file, not
//! one per look. The file is looked at again after it is read: if it changed meanwhile (it
//! was being rewritten in place), what was read may be half of it, so it is not used and
//! the file is read again at the next look.
//!
//! The request path reads the keys with one lock-free load ([`LiveKeys::current`]): a
//! reload never blocks it, and a request keeps the keys it started with.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use arc_swap::{ArcSwap, Guard};

use super::KeyStore;

/// How often the file is looked at.
const LOOK_EVERY: Duration = Duration::from_secs(1);

/// What tells one version of the file from another without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    /// Changes when the file is replaced by a rename, as editors and deploy tools do.
    inode: u64,
}

impl Stamp {
    /// The file's stamp; `None` when it cannot be looked at (e.g. it is gone).
    fn of(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&meta);
        #[cfg(not(unix))]
        let inode = 0;
        Some(Stamp {
            modified: meta.modified().ok(),
            len: meta.len(),
            inode,
        })
    }
}

/// The version of the file last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// The file's stamp, unchanged while it was read (`None`: it could not be looked at).
    Settled(Option<Stamp>),
    /// The file changed while it was read: whatever it is now is read at the next look.
    Moving,
}

/// The keys of a `--credentials-file`, as of its last version that parsed.
#[derive(Debug)]
pub struct LiveKeys {
    path: PathBuf,
    current: ArcSwap<KeyStore>,
    /// The file last read (only the watch takes this lock).
    seen: Mutex<Seen>,
}

/// What one look at the file found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    /// The file is as last read.
    Unchanged,
    /// The file changed and its keys (this many) are now in force.
    Reloaded(usize),
    /// The file changed but cannot be used (why); the keys in force stay.
    Refused(String),
    /// The file changed while it was read (it is being written): what was read is not
    /// used, the keys in force stay, and the file is read again at the next look.
    Changing,
}

impl LiveKeys {
    /// Reads the file, as at start: an error here is the daemon's to report. A file that
    /// changes while it is read is used (the daemon needs keys), and read again at the
    /// watch's first look.
    pub fn load(path: &Path) -> Result<LiveKeys, String> {
        let before = Stamp::of(path);
        let keys = KeyStore::load(path)?;
        Ok(LiveKeys {
            path: path.to_path_buf(),
            current: ArcSwap::from_pointee(keys),
            seen: Mutex::new(settled(before, Stamp::of(path))),
        })
    }

    /// The keys in force.
    pub fn current(&self) -> Guard<Arc<KeyStore>> {
        self.current.load()
    }

    /// Reads the file again if it changed since it was last read.
    pub fn reload_if_changed(&self) -> Reload {
        self.reload_with(&mut Stamp::of)
    }

    /// [`reload_if_changed`](Self::reload_if_changed), taking the file's stamps with
    /// `stamp_of` (which a test can make change between the stamp and the read).
    fn reload_with(&self, stamp_of: &mut dyn FnMut(&Path) -> Option<Stamp>) -> Reload {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let before = stamp_of(&self.path);
        if *seen == Seen::Settled(before) {
            return Reload::Unchanged;
        }
        let read = KeyStore::load(&self.path);
        *seen = settled(before, stamp_of(&self.path));
        if *seen == Seen::Moving {
            return Reload::Changing;
        }
        match read {
            Ok(keys) => {
                let count = keys.key_count();
                self.current.store(Arc::new(keys));
                Reload::Reloaded(count)
            }
            Err(why) => Reload::Refused(why),
        }
    }

    /// Looks at the file every second for as long as the daemon runs, logging each reload
    /// and each refused change.
    pub async fn watch(self: Arc<Self>) {
        let mut ticks = tokio::time::interval(LOOK_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match self.reload_if_changed() {
                Reload::Unchanged => {}
                Reload::Changing => {
                    tracing::debug!(path = %self.path.display(), "credentials file changed while read; reading it again");
                }
                Reload::Reloaded(keys) => {
                    tracing::info!(path = %self.path.display(), keys, "credentials file reloaded");
                }
                Reload::Refused(why) => {
                    tracing::error!(
                        error = %why,
                        "credentials file changed but cannot be used; the keys loaded before stay in force"
                    );
                }
            }
        }
    }
}

/// What a read between stamps `before` and `after` saw: the file at `before`, unless it
/// changed meanwhile.
fn settled(before: Option<Stamp>, after: Option<Stamp>) -> Seen {
    if before == after {
        Seen::Settled(before)
    } else {
        Seen::Moving
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Writes `text` over the file (each rewrite below changes its length, so the change
    /// shows even where modification times are coarse).
    fn rewrite(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
    }

    /// Whether the keys in force give `id` (every test key names a principal).
    fn has_key(live: &LiveKeys, id: &str) -> bool {
        live.current().principal(id).is_some()
    }

    const A: &str = "AKIDA secret-a arn:aws:iam::111122223333:user/a\n";
    const B_AND_C: &str = "AKIDBB secret-bb arn:aws:iam::111122223333:user/b\nAKIDCC secret-cc arn:aws:iam::111122223333:user/c\n";

    #[test]
    fn a_changed_file_replaces_the_keys_and_a_bad_one_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        rewrite(&path, A);
        let live = LiveKeys::load(&path).unwrap();
        assert_eq!(live.reload_if_changed(), Reload::Unchanged);
        assert!(has_key(&live, "AKIDA"));

        rewrite(&path, B_AND_C);
        assert_eq!(live.reload_if_changed(), Reload::Reloaded(2));
        assert!(!has_key(&live, "AKIDA"));
        assert!(has_key(&live, "AKIDBB"));
        assert_eq!(live.reload_if_changed(), Reload::Unchanged);

        // A file that does not parse is refused once, and the keys stay.
        rewrite(&path, &format!("{B_AND_C}AKIDDD secret-dd extra-field\n"));
        assert!(matches!(live.reload_if_changed(), Reload::Refused(why) if why.contains("line 3")));
        assert_eq!(live.reload_if_changed(), Reload::Unchanged);
        assert!(has_key(&live, "AKIDCC"));

        std::fs::remove_file(&path).unwrap();
        assert!(matches!(live.reload_if_changed(), Reload::Refused(_)));
        assert_eq!(live.reload_if_changed(), Reload::Unchanged);
        assert!(has_key(&live, "AKIDCC"));

        rewrite(&path, A);
        assert_eq!(live.reload_if_changed(), Reload::Reloaded(1));
        assert!(has_key(&live, "AKIDA"));
    }

    /// A stamp standing for one version of the file, as a filesystem whose modification
    /// times are coarse gives it to a rewrite of the same length.
    fn stamp(version: u64) -> Option<Stamp> {
        Some(Stamp {
            modified: None,
            len: 64,
            inode: version,
        })
    }

    /// A file rewritten in place while it is read: what was read is not used, and the file
    /// is read again at the next look even though its stamp is then the one taken before
    /// that read (a rewrite of the same length within one tick of the clock).
    #[test]
    fn a_file_that_changes_while_read_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        rewrite(&path, A);
        let live = LiveKeys::load(&path).unwrap();

        // Half of the new file is there when it is read; the writer finishes before the
        // second stamp, which therefore moved.
        rewrite(&path, "AKIDBB secr");
        let mut stamps = [stamp(2), stamp(3)].into_iter();
        let mut during_a_write = |_: &Path| stamps.next().unwrap();
        assert_eq!(live.reload_with(&mut during_a_write), Reload::Changing);
        assert!(has_key(&live, "AKIDA"), "the half-read file was not used");

        // The whole file, with the stamp first seen: read again.
        rewrite(&path, B_AND_C);
        assert_eq!(
            live.reload_with(&mut |_: &Path| stamp(2)),
            Reload::Reloaded(2)
        );
        assert!(has_key(&live, "AKIDBB") && has_key(&live, "AKIDCC"));
        assert_eq!(
            live.reload_with(&mut |_: &Path| stamp(2)),
            Reload::Unchanged
        );
    }
}
