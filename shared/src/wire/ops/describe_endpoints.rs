//! DescribeEndpoints's request (no members) and response.

use serde::{Deserialize, Serialize};

/// DescribeEndpoints takes no members; anything sent is ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescribeEndpointsInput {}

/// One endpoint: `host:port` and how long clients may cache it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Endpoint {
    pub address: String,
    pub cache_period_in_minutes: i64,
}

/// DescribeEndpoints's response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeEndpointsOutput {
    pub endpoints: Vec<Endpoint>,
}
