//! A credentials file's keys, kept current while the daemon runs, so that keys can be
//! rotated without a restart: a background task looks at the file's modification time,
//! length and inode every second (one `stat`), and reads the file again when they change.
//! Keys that parse replace the old ones at once; a file that does not parse (or cannot be
//! read) leaves the old keys in force, with one error logged per change of the file, not
//! one per look.
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

/// The keys of a `--credentials-file`, as of its last version that parsed.
#[derive(Debug)]
pub struct LiveKeys {
    path: PathBuf,
    current: ArcSwap<KeyStore>,
    /// The file's stamp when it was last read (only the watch takes this lock).
    seen: Mutex<Option<Stamp>>,
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
}

impl LiveKeys {
    /// Reads the file, as at start: an error here is the daemon's to report.
    pub fn load(path: &Path) -> Result<LiveKeys, String> {
        // Stamped before reading: a change made while it is read shows at the next look.
        let seen = Stamp::of(path);
        let keys = KeyStore::load(path)?;
        Ok(LiveKeys {
            path: path.to_path_buf(),
            current: ArcSwap::from_pointee(keys),
            seen: Mutex::new(seen),
        })
    }

    /// The keys in force.
    pub fn current(&self) -> Guard<Arc<KeyStore>> {
        self.current.load()
    }

    /// Reads the file again if it changed since it was last read.
    pub fn reload_if_changed(&self) -> Reload {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let stamp = Stamp::of(&self.path);
        if stamp == *seen {
            return Reload::Unchanged;
        }
        *seen = stamp;
        match KeyStore::load(&self.path) {
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
}
