//! The `x-amz-crc32` response header: CRC-32 (IEEE) of the exact body bytes, as an unsigned
//! decimal string. botocore checks it and retries on a mismatch.

/// The header value for a response body.
pub fn header_value(body: &[u8]) -> String {
    crc32fast::hash(body).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_matches_zlib() {
        // zlib.crc32(b"{}") == 2745614147
        assert_eq!(header_value(b"{}"), "2745614147");
    }
}
