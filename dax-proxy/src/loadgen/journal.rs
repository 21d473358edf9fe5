//! The durable ceiling's journal: `dax-loadgen fixed-server --journal FILE`.
//!
//! What any durable server must do before it answers a write, and nothing else: append the
//! request's bytes to a file and make them durable. Group-committed the way the store's
//! commit thread is: one thread takes every request queued while the previous sync ran,
//! appends them in one `write`, calls `fdatasync` once and then releases them all. So
//! "store put / durable ceiling" shows what the store adds on top of HTTP and the disk,
//! where "store put / ceiling" also counts the disk's flush, which no server avoids.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;

use bytes::Bytes;
use tokio::sync::oneshot;

/// One request's bytes and the channel that releases its answer once they are durable.
type Entry = (Bytes, oneshot::Sender<()>);

/// Handle to the sync thread; cheap to clone.
#[derive(Clone)]
pub struct Journal {
    queue: mpsc::Sender<Entry>,
}

impl Journal {
    /// Creates (or truncates) `path` and starts the sync thread.
    pub fn open(path: &Path) -> Result<Journal, String> {
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(path)
            .map_err(|e| format!("cannot open the journal {}: {e}", path.display()))?;
        let (queue, entries) = mpsc::channel();
        std::thread::Builder::new()
            .name("fixed-journal".into())
            .spawn(move || sync_loop(file, &entries))
            .map_err(|e| format!("cannot start the journal thread: {e}"))?;
        Ok(Journal { queue })
    }

    /// Returns once `bytes` are on disk; `Err` if the journal failed (the thread has stopped
    /// and said why on stderr).
    pub async fn append(&self, bytes: Bytes) -> Result<(), ()> {
        let (durable, wait) = oneshot::channel();
        self.queue.send((bytes, durable)).map_err(|_| ())?;
        wait.await.map_err(|_| ())
    }
}

/// The sync thread: runs until every handle is gone or a write or sync fails (then every
/// waiting and later request is answered with an error, since nothing can be made durable).
fn sync_loop(mut file: File, entries: &mpsc::Receiver<Entry>) {
    let mut buffer = Vec::new();
    while let Ok(first) = entries.recv() {
        let group: Vec<Entry> = std::iter::once(first).chain(entries.try_iter()).collect();
        buffer.clear();
        for (bytes, _) in &group {
            buffer.extend_from_slice(bytes);
        }
        if let Err(e) = file.write_all(&buffer).and_then(|()| file.sync_data()) {
            eprintln!("fixed-server: journal write failed: {e}");
            return;
        }
        for (_, durable) in group {
            let _ = durable.send(());
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appends_every_request_before_releasing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal");
        let journal = Journal::open(&path).unwrap();
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let journal = journal.clone();
                tokio::spawn(async move { journal.append(Bytes::from(format!("<{i}>"))).await })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        let written = std::fs::read_to_string(&path).unwrap();
        for i in 0..8 {
            assert!(written.contains(&format!("<{i}>")), "{written}");
        }
        assert_eq!(written.len(), 8 * 3);
    }

    #[test]
    fn refuses_a_path_it_cannot_create() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no-such-dir").join("journal");
        assert!(Journal::open(&missing).is_err());
    }
}
