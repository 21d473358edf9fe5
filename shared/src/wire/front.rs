//! The HTTP front both servers put before their routers: `POST /`, which carries every
//! DynamoDB call, goes straight to the API handler; anything else (health, metrics,
//! internal endpoints, the 404 for non-API requests) through the router.
//!
//! Routing costs, per request, an allocation for the router's URL-params extension, three
//! boxed futures and a path match: small, but the data path's whole budget is a few
//! microseconds (a cached GetItem on the proxy, a GetItem on the store), and every call
//! takes this one route.

use std::convert::Infallible;
use std::future::Future;

use http::{Method, Request};
use tower::{Service, ServiceExt};

/// A service that answers `POST /` with `api` and everything else with `router`.
pub fn api_first<B, R, A, F>(
    router: R,
    api: A,
) -> impl Service<
    Request<B>,
    Response = R::Response,
    Error = Infallible,
    Future = impl Future<Output = Result<R::Response, Infallible>> + Send,
> + Clone
       + Send
       + 'static
where
    B: Send + 'static,
    R: Service<Request<B>, Error = Infallible> + Clone + Send + 'static,
    R::Future: Send,
    A: Fn(Request<B>) -> F + Clone + Send + 'static,
    F: Future<Output = R::Response> + Send,
{
    tower::service_fn(move |request: Request<B>| {
        let router = router.clone();
        let api = api.clone();
        async move {
            if request.method() == Method::POST && request.uri().path() == "/" {
                Ok(api(request).await)
            } else {
                router.oneshot(request).await
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, path: &str) -> Request<()> {
        Request::builder()
            .method(method)
            .uri(path)
            .body(())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn only_post_slash_skips_the_router() {
        let router = tower::service_fn(|_: Request<()>| async { Ok::<_, Infallible>("router") });
        let service = api_first(router, |_: Request<()>| async { "api" });
        for (method, path, want) in [
            (Method::POST, "/", "api"),
            (Method::GET, "/", "router"),
            (Method::POST, "/internal/lease", "router"),
            (Method::GET, "/health", "router"),
        ] {
            let answer = service.clone().oneshot(request(method.clone(), path)).await;
            assert_eq!(answer, Ok(want), "{method} {path}");
        }
    }
}
