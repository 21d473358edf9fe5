//! Reading the objects under an S3 prefix (files under a bucket's directory) record by
//! record: what ImportTable and StartBulkPutItems share.
//!
//! An object is gzipped, Zstandard-compressed or plain, and streamed: a blocking reader
//! parses [`BATCH`] records at a time and hands them over a short channel, so a job of any
//! size holds a few batches in memory, not its files. A record is a line, or for CSV
//! several lines while a quoted field is open.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::zstd_frames::ZstdFrames;

/// Records per chunk handed over.
pub const BATCH: usize = 100;

/// The longest record read: DynamoDB JSON of a 400 KB item, with room for escapes. A
/// longer line (a file without line breaks, say) is a bad record, never held in memory.
pub const MAX_LINE: usize = 8 << 20;

/// What an object's reader hands over: up to [`BATCH`] parsed records and the bytes they
/// took, or word that the rest of the object cannot be read.
pub enum Chunk<T> {
    Records(Vec<T>, u64),
    Unreadable,
}

/// One object and how to read it.
pub struct Source {
    pub path: PathBuf,
    /// `GZIP`, `ZSTD` or `NONE`.
    pub compression: String,
    /// Whether a record goes on at the next line while a quoted field is open (CSV).
    pub multiline: bool,
}

/// A record as read: its text, or `Err` when it is longer than [`MAX_LINE`] or not UTF-8.
pub type Text<'a> = Result<&'a str, ()>;

impl Source {
    /// Reads the object record by record, parsing each with `parse` (which sees blank
    /// records too, and may drop any by answering `None`), and sends the results in
    /// chunks; stops early if the receiver is gone.
    pub fn read<T>(
        self,
        tx: &tokio::sync::mpsc::Sender<Chunk<T>>,
        mut parse: impl FnMut(Text<'_>) -> Option<T>,
    ) {
        let mut reader = match self.open() {
            Ok(reader) => reader,
            Err(_) => {
                let _ = tx.blocking_send(Chunk::Unreadable);
                return;
            }
        };
        let mut records = Vec::with_capacity(BATCH);
        let mut bytes = 0u64;
        let mut record = String::new();
        let mut buffer = Vec::new();
        loop {
            let line = match next_line(&mut reader, &mut buffer) {
                Ok(Some((line, read))) => {
                    bytes += read;
                    line
                }
                Ok(None) => break,
                Err(_) => {
                    let _ = tx.blocking_send(Chunk::Records(std::mem::take(&mut records), bytes));
                    let _ = tx.blocking_send(Chunk::Unreadable);
                    return;
                }
            };
            let parsed = match line {
                // Too long for any item, or not UTF-8: one bad record (and no CSV record
                // continues across it).
                Line::Bad => {
                    record.clear();
                    parse(Err(()))
                }
                Line::Text(line) => {
                    if !record.is_empty() {
                        record.push('\n');
                    }
                    record.push_str(line.trim_end_matches('\r'));
                    if self.multiline && quotes_open(&record) && record.len() <= MAX_LINE {
                        continue;
                    }
                    let text = std::mem::take(&mut record);
                    parse(if text.len() > MAX_LINE {
                        Err(())
                    } else {
                        Ok(&text)
                    })
                }
            };
            records.extend(parsed);
            if records.len() >= BATCH {
                let full = Chunk::Records(std::mem::take(&mut records), std::mem::take(&mut bytes));
                if tx.blocking_send(full).is_err() {
                    return;
                }
            }
        }
        // A CSV record left open at the end (an unmatched quote) is one bad record.
        if !record.trim().is_empty() {
            records.extend(parse(Err(())));
        }
        let _ = tx.blocking_send(Chunk::Records(records, bytes));
    }

    fn open(&self) -> std::io::Result<Box<dyn BufRead>> {
        let file = std::fs::File::open(&self.path)?;
        Ok(match self.compression.as_str() {
            "GZIP" => Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file))),
            "ZSTD" => Box::new(BufReader::new(ZstdFrames::new(BufReader::new(file)))),
            _ => Box::new(BufReader::new(file)),
        })
    }
}

/// Whether a CSV record read so far is inside a quoted field (it then goes on at the next
/// line). An escaped quote (`""`) counts twice, so the parity tells.
pub fn quotes_open(record: &str) -> bool {
    record.bytes().filter(|&b| b == b'"').count() % 2 == 1
}

/// One line of an object.
enum Line {
    Text(String),
    /// Longer than [`MAX_LINE`], or not UTF-8.
    Bad,
}

/// The next line of `reader` and the bytes it took (line break included); `None` at the
/// end of the object. `buffer` is scratch space, reused from line to line.
fn next_line(
    reader: &mut dyn BufRead,
    buffer: &mut Vec<u8>,
) -> std::io::Result<Option<(Line, u64)>> {
    buffer.clear();
    let read = Read::take(&mut *reader, MAX_LINE as u64 + 1).read_until(b'\n', buffer)?;
    if read == 0 {
        return Ok(None);
    }
    if buffer.len() > MAX_LINE && buffer.last() != Some(&b'\n') {
        let skipped = reader.skip_until(b'\n')?;
        return Ok(Some((Line::Bad, (read + skipped) as u64)));
    }
    if buffer.last() == Some(&b'\n') {
        buffer.pop();
    }
    let line = match std::str::from_utf8(buffer) {
        Ok(text) => Line::Text(text.to_string()),
        Err(_) => Line::Bad,
    };
    Ok(Some((line, read as u64)))
}

/// The objects under bucket directory `root` whose keys start with `prefix`, in key order,
/// with their keys.
pub fn objects(root: &Path, prefix: &str) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(t) if t.is_file() => {
                    let key = path
                        .strip_prefix(root)
                        .map(|p| p.to_string_lossy().replace('\\', "/"))
                        .unwrap_or_default();
                    if key.starts_with(prefix) {
                        found.push((key, path));
                    }
                }
                _ => {}
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlong_and_non_utf8_lines_are_bad_lines_not_memory() {
        let mut text = vec![b'x'; MAX_LINE + 10];
        text.extend_from_slice(b"\n\xff\xfe\nok\r\nlast");
        let mut reader: &[u8] = &text;
        let mut buffer = Vec::new();
        let mut lines = Vec::new();
        while let Some((line, read)) = next_line(&mut reader, &mut buffer).unwrap_or(None) {
            lines.push((
                match line {
                    Line::Text(t) => t,
                    Line::Bad => "BAD".into(),
                },
                read,
            ));
        }
        let expected = [
            ("BAD".to_string(), MAX_LINE as u64 + 11),
            ("BAD".to_string(), 3),
            ("ok\r".to_string(), 4),
            ("last".to_string(), 4),
        ];
        assert_eq!(lines, expected);
        assert!(buffer.capacity() <= MAX_LINE + 64 * 1024);
    }

    #[test]
    fn quotes_tell_whether_a_csv_record_goes_on() {
        assert!(quotes_open("a,\"x, \"\"y"));
        assert!(!quotes_open("a,\"x, \"\"y\"\"\nz\""));
    }
}
