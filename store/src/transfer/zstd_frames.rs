//! Reading a Zstandard file whole: the format allows several frames one after another
//! (what concatenating `.zst` files or a parallel compressor produces) and skippable frames
//! between them, while a single-frame decoder stops at the end of the first.

use std::io::{BufRead, Read};

use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};

/// Decodes every frame of `source` in turn.
pub struct ZstdFrames<R> {
    source: R,
    decoder: FrameDecoder,
    /// Whether a frame's header was read and its end not yet reached.
    in_frame: bool,
}

impl<R: BufRead> ZstdFrames<R> {
    pub fn new(source: R) -> ZstdFrames<R> {
        ZstdFrames {
            source,
            decoder: FrameDecoder::new(),
            in_frame: false,
        }
    }

    /// Starts the next data frame, stepping over skippable ones; false at the end of the
    /// input.
    fn next_frame(&mut self) -> std::io::Result<bool> {
        loop {
            if self.source.fill_buf()?.is_empty() {
                return Ok(false);
            }
            match self.decoder.reset(&mut self.source) {
                Ok(()) => return Ok(true),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    let skipped = std::io::copy(
                        &mut (&mut self.source).take(u64::from(length)),
                        &mut std::io::sink(),
                    )?;
                    if skipped < u64::from(length) {
                        return Err(std::io::ErrorKind::UnexpectedEof.into());
                    }
                }
                Err(e) => return Err(std::io::Error::other(e)),
            }
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.in_frame {
                if !self.next_frame()? {
                    return Ok(0);
                }
                self.in_frame = true;
            }
            // Decode until `buf` can be filled or the frame ends; the decoder keeps the
            // window it needs, so only what it can hand out is collectable.
            while self.decoder.can_collect() < buf.len() && !self.decoder.is_finished() {
                let wanted = buf.len() - self.decoder.can_collect();
                self.decoder
                    .decode_blocks(&mut self.source, BlockDecodingStrategy::UptoBytes(wanted))
                    .map_err(std::io::Error::other)?;
            }
            let read = self.decoder.read(buf)?;
            if read > 0 {
                return Ok(read);
            }
            if self.decoder.is_finished() {
                self.in_frame = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ruzstd::encoding::{compress_to_vec, CompressionLevel};

    fn decoded(input: &[u8]) -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        ZstdFrames::new(std::io::BufReader::with_capacity(7, input)).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn reads_every_frame_and_steps_over_skippable_ones() {
        let first = b"line one\n".repeat(5000);
        let second = b"line two\n".to_vec();
        let mut input = compress_to_vec(first.as_slice(), CompressionLevel::Fastest);
        // A skippable frame: magic 0x184D2A50..5F, a 4-byte length, that many bytes.
        input.extend_from_slice(&0x184D_2A53u32.to_le_bytes());
        input.extend_from_slice(&3u32.to_le_bytes());
        input.extend_from_slice(b"abc");
        input.extend(compress_to_vec(
            second.as_slice(),
            CompressionLevel::Fastest,
        ));
        let mut expected = first;
        expected.extend(second);
        assert_eq!(decoded(&input).ok(), Some(expected));
        assert_eq!(decoded(b"").ok(), Some(Vec::new()));
    }

    #[test]
    fn damaged_input_is_an_error_not_a_panic() {
        let whole = compress_to_vec(b"x".repeat(100_000).as_slice(), CompressionLevel::Fastest);
        assert!(decoded(&whole[..whole.len() / 2]).is_err());
        assert!(decoded(b"not zstd at all").is_err());
    }
}
