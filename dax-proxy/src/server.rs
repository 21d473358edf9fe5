//! The proxy node's axum app: `POST /` routes each DynamoDB operation to the cache path that
//! serves it (or straight through to the store); `GET /health`, `GET /metrics`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Request, Response, StatusCode};
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use shared::wire::admission::Admission;
use shared::wire::body::{api_body, closing, declared_over_limit, Refused, MAX_BODY_BYTES};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::headers::{UNVERIFIED_RELAY, X_AMZ_TARGET};
use shared::wire::op_metrics::OpMetrics;
use shared::wire::request_id::RequestIds;
use shared::wire::sigv4;
use shared::wire::Op;

use crate::metrics::{IN_FLIGHT_REQUESTS, REQUEST_ERRORS_TOTAL, THROTTLED_REQUESTS_TOTAL};
use crate::reply::{Answer, CacheStatus, Outcome};
use crate::{keys, queries, reads, writes, Node};

pub struct Server {
    pub node: Arc<Node>,
    pub prometheus: Option<PrometheusHandle>,
    pub request_ids: RequestIds,
    pub op_metrics: OpMetrics,
    pub admission: Admission,
}

/// The node's router, for everything but the API calls: `POST /` never reaches it, since
/// the front (`shared::wire::front`, built in `lib.rs`) hands those to [`api_call`] itself.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        // Any other method on the API path is not an API call either (DYNAMODB.md §1).
        .route("/", get(root).fallback(not_an_api_call))
        .route("/health", get(health))
        .route("/metrics", get(render_metrics))
        .fallback(not_an_api_call)
        .with_state(server)
}

fn plain(status: StatusCode, content_type: &'static str, body: impl Into<Body>) -> Response<Body> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert("content-type", value);
    }
    response
}

/// DynamoDB's `healthy: HOST:PORT` probe, which load balancers use: 503 when `/health` is,
/// so that one probing `/` takes a node that cannot reach its store out of service too.
async fn root(State(server): State<Arc<Server>>) -> Response<Body> {
    match failing_because(&server) {
        None => plain(
            StatusCode::OK,
            "text/plain",
            format!("healthy: {}", server.node.address),
        ),
        Some(why) => plain(StatusCode::SERVICE_UNAVAILABLE, "text/plain", why),
    }
}

/// Why the node should be taken out of service, if it should (see [`health`]).
fn failing_because(server: &Server) -> Option<String> {
    let why = server.node.not_following_because()?;
    Some(format!(
        "not following the store's change feed ({why}); reads go to the store"
    ))
}

/// 200 while the node serves. A node whose reads of the store's change feed fail (the
/// store is out of reach, refuses the node's cluster secret, or checks signatures while
/// the node has no keys) answers 503 with why, from the first failed read on:
/// the feed and the primary lease are read from the same store, so such a node cannot
/// take writes, nor answer misses of an unreachable store, and a load balancer should
/// prefer nodes that can. A node starting, before its first read, is not failing: it
/// serves (from the store), and says it does not follow yet.
async fn health(State(server): State<Arc<Server>>) -> Response<Body> {
    if let Some(why) = failing_because(&server) {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "text/plain", why);
    }
    if server.node.following() {
        return plain(StatusCode::OK, "text/plain", "ok");
    }
    plain(
        StatusCode::OK,
        "text/plain",
        "ok: not following the store's change feed yet; reads go to the store",
    )
}

async fn render_metrics(State(server): State<Arc<Server>>) -> Response<Body> {
    server.node.refresh_gauges();
    metrics::gauge!(IN_FLIGHT_REQUESTS).set(server.admission.in_flight() as f64);
    let text = server
        .prometheus
        .as_ref()
        .map(shared::metric_families::render)
        .unwrap_or_default();
    plain(StatusCode::OK, "text/plain; version=0.0.4", text)
}

/// DynamoDB answers anything that is not `POST /`, and a `POST /` whose body is not JSON
/// ([`api_call`]), with this XML body and 404.
async fn not_an_api_call() -> Response<Body> {
    Refused::NotAnApiCall.response()
}

// Takes the whole request: axum's `HeaderMap` extractor would clone the headers.
pub async fn api_call(State(server): State<Arc<Server>>, request: Request<Body>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    // Before a permit is taken and the body read: neither would be of any use.
    if declared_over_limit(&headers) {
        let too_large = Refused::Body(StatusCode::PAYLOAD_TOO_LARGE).response();
        return closing(too_large, parts.version);
    }
    let request_id = server.request_ids.next();
    let request_id = request_id.as_str();
    // Before the body is read: a refused call should cost next to nothing. Its body left
    // unread, hyper closes the connection: the answer says so, or the client's next call
    // on it meets a broken pipe.
    let _permit = match server.admission.try_enter() {
        Ok(permit) => permit,
        Err(throttled) => {
            let cache_header = server.node.config.cache_header;
            let refused = refuse(&headers, throttled, request_id, cache_header);
            return closing(refused, parts.version);
        }
    };
    let read = axum::body::to_bytes(body, MAX_BODY_BYTES);
    let body = match api_body(&headers, server.node.config.body_read_timeout, read).await {
        Ok(body) => body,
        Err(refused) => return refused.response(),
    };
    let node = &server.node;
    let target = headers
        .get(X_AMZ_TARGET)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(op) = Op::from_target(target) else {
        // Let the store answer exactly as it would (bad JSON, unknown operation).
        let reply = node
            .upstream
            .call(
                &node.config.store,
                Op::DescribeLimits,
                target,
                &headers,
                &[],
                body,
            )
            .await;
        let outcome = match reply {
            Ok(reply) => Outcome::new(Answer::Upstream(reply), CacheStatus::Bypass),
            Err(e) => Outcome::new(Answer::Error(e.to_api_error()), CacheStatus::Bypass),
        };
        return outcome.into_response(request_id, node.config.cache_header);
    };
    if node.upstream.signatures_required() {
        let refusal = ApiError::new(ErrorCode::AccessDeniedException, UNVERIFIED_RELAY);
        let outcome = Outcome::new(Answer::Error(refusal), CacheStatus::Bypass);
        return outcome.into_response(request_id, node.config.cache_header);
    }
    let signed = sigv4::SignedRequest::new(&parts.method, &parts.uri, &headers, &body);
    let keys = node.config.keys.as_deref();
    let trusted = || node.is_forwarded(&headers);
    if let Err(e) = sigv4::verify::authenticate(keys, &node.config.region, &signed, trusted) {
        let outcome = Outcome::new(Answer::Error(e), CacheStatus::Bypass);
        return outcome.into_response(request_id, node.config.cache_header);
    }
    let started = Instant::now();
    let outcome = route(node, op, &headers, body).await;
    server.op_metrics.record(op, started.elapsed());
    record_error(op, &outcome);
    outcome.into_response(request_id, node.config.cache_header)
}

async fn route(node: &Node, op: Op, headers: &HeaderMap, body: Bytes) -> Outcome {
    match op {
        Op::GetItem => reads::get_item(node, headers, body).await,
        Op::BatchGetItem => reads::batch_get_item(node, headers, body).await,
        Op::Query | Op::Scan => queries::query_or_scan(node, op, headers, body).await,
        Op::PutItem
        | Op::UpdateItem
        | Op::DeleteItem
        | Op::BatchWriteItem
        | Op::TransactWriteItems => writes::write(node, op, headers, body).await,
        Op::ExecuteStatement | Op::BatchExecuteStatement | Op::ExecuteTransaction
            if writes::is_partiql_write(op, &body) =>
        {
            writes::write(node, op, headers, body).await
        }
        Op::DescribeEndpoints => describe_endpoints(node),
        // Not DAX operations, and a node relays calls as the cluster's role: relaying these
        // let any client that can sign a call rewrite or read any table's access policy.
        Op::PutResourcePolicy | Op::DeleteResourcePolicy | Op::GetResourcePolicy => Outcome::new(
            Answer::Error(ApiError::new(
                ErrorCode::AccessDeniedException,
                POLICIES_AT_THE_STORE,
            )),
            CacheStatus::Bypass,
        ),
        Op::CreateTable
        | Op::DeleteTable
        | Op::UpdateTable
        | Op::RestoreTableFromBackup
        | Op::RestoreTableToPointInTime => {
            let table = table_of(&body);
            let outcome = node.pass_through(op, headers, body).await;
            match table {
                // A table that went away must not be served from old entries (the change
                // feed tells every node of a drop; this node forgets at once).
                Some(table) if op == Op::DeleteTable => node.forget_table(&table),
                // A new or reshaped table: its key schema is learned again and pages read
                // through its indexes (which may come or go) are stale. Items keep their
                // keys, so cached items stay: an UpdateTable of capacity (autoscaling) does
                // not empty the node's cache.
                Some(table) => {
                    node.schemas.forget(&table);
                    node.bump_table(&table);
                }
                None => {}
            }
            outcome
        }
        _ => node.pass_through(op, headers, body).await,
    }
}

fn table_of(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let name = value
        .get("TableName")
        .or_else(|| value.get("TargetTableName"))?
        .as_str()?;
    Some(keys::table_name(name).to_string())
}

/// Any node lists the cluster's live nodes, primary first.
/// The refusal of a resource-based policy call made through a node.
const POLICIES_AT_THE_STORE: &str = "Resource-based policies are not managed through a \
     dax-proxy node, which calls the store as the cluster's role: call the store itself.";

fn describe_endpoints(node: &Node) -> Outcome {
    let view = node.cluster.view();
    let mut members = view.members;
    if members.is_empty() {
        members.push(node.address.to_string());
    }
    let endpoints: Vec<_> = members
        .iter()
        .map(|address| json!({ "Address": address, "CachePeriodInMinutes": 1 }))
        .collect();
    let body = json!({ "Endpoints": endpoints });
    Outcome::new(
        Answer::Built(Bytes::from(body.to_string())),
        CacheStatus::Bypass,
    )
}

/// The answer to a call the node would not take on (`admission`), counted as DAX counts it:
/// a throttle (`ThrottledRequestCount`) and a user error of its operation.
fn refuse(
    headers: &HeaderMap,
    error: ApiError,
    request_id: &str,
    cache_header: bool,
) -> Response<Body> {
    metrics::counter!(THROTTLED_REQUESTS_TOTAL).increment(1);
    let outcome = Outcome::new(Answer::Error(error), CacheStatus::Bypass);
    let target = headers.get(X_AMZ_TARGET).and_then(|v| v.to_str().ok());
    if let Some(op) = target.and_then(Op::from_target) {
        record_error(op, &outcome);
    }
    outcome.into_response(request_id, cache_header)
}

fn record_error(op: Op, outcome: &Outcome) {
    let name = op.name();
    let status = outcome.status();
    if status >= 400 {
        let kind = if status >= 500 { "fault" } else { "user" };
        metrics::counter!(REQUEST_ERRORS_TOTAL, "op" => name, "kind" => kind).increment(1);
    }
}
