//! DescribeEndpoints: this store is its own (only) endpoint, cached by clients for a day.
//! The address is the configured listen address, which the server sets to the bound one.

use shared::wire::error::ApiError;
use shared::wire::ops::describe_endpoints::{
    DescribeEndpointsInput, DescribeEndpointsOutput, Endpoint,
};

use crate::app::App;

/// How long clients with endpoint discovery may cache the answer.
pub const CACHE_PERIOD_MINUTES: i64 = 1440;

pub async fn handle(
    app: &App,
    _input: DescribeEndpointsInput,
) -> Result<DescribeEndpointsOutput, ApiError> {
    Ok(DescribeEndpointsOutput {
        endpoints: vec![Endpoint {
            address: app.config.listen.to_string(),
            cache_period_in_minutes: CACHE_PERIOD_MINUTES,
        }],
    })
}
