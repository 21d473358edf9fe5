//! describe_endpoints.
