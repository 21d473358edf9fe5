//! DescribeEndpoints: this store is its own (only) endpoint, cached by clients for a day:
//! `--advertise-url`'s host[:port], else the address it listens on, an unspecified one as
//! loopback (`own_endpoint`, worked out once at start).

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
            address: app.config.endpoint.address.clone(),
            cache_period_in_minutes: CACHE_PERIOD_MINUTES,
        }],
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::own_endpoint::OwnEndpoint;

    /// A store listening on every address answers one a client can connect to.
    #[tokio::test]
    async fn a_store_listening_everywhere_answers_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::config::Config::for_tests(dir.path());
        config.listen = "0.0.0.0:8000".parse().unwrap();
        config.endpoint = OwnEndpoint::new(None, config.listen);
        let app = App::for_tests_with(config);
        let answer = handle(&app, DescribeEndpointsInput::default())
            .await
            .unwrap();
        assert_eq!(answer.endpoints[0].address, "127.0.0.1:8000");
    }
}
