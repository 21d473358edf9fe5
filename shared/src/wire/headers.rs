//! The DynamoDB response headers' names, as constants: inserting a header by `&str` name
//! copies a non-standard name into a fresh allocation on every response.

use http::HeaderName;

pub const X_AMZ_CRC32: HeaderName = HeaderName::from_static("x-amz-crc32");
pub const X_AMZN_REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
