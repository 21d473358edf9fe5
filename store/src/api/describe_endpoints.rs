//! DescribeEndpoints: this store is its own (only) endpoint, cached by clients for a day.
//! The address is the host[:port] of `--advertise-url` when it is given (a name clients
//! can reach, as DynamoDB answers `dynamodb.<region>.amazonaws.com`), else the listen
//! address, which the server sets to the bound one.

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
    let advertised = app.config.advertise_url.as_deref().and_then(host_and_port);
    Ok(DescribeEndpointsOutput {
        endpoints: vec![Endpoint {
            address: advertised.unwrap_or_else(|| app.config.listen.to_string()),
            cache_period_in_minutes: CACHE_PERIOD_MINUTES,
        }],
    })
}

/// `host[:port]` of a URL (the port only when it is not the scheme's default, as a
/// client would write the address); `None` for a URL without a host.
fn host_and_port(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    let host = url.host_str()?;
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_the_urls_host_and_port() {
        for (url, address) in [
            ("http://dynamo.example:8000", Some("dynamo.example:8000")),
            ("https://dynamo.example", Some("dynamo.example")),
            ("http://dynamo.example:80/base", Some("dynamo.example")),
            ("http://[::1]:8000", Some("[::1]:8000")),
            ("not a url", None),
        ] {
            assert_eq!(host_and_port(url).as_deref(), address, "{url}");
        }
    }
}
