//! The axum application: `POST /` speaks DynamoDB JSON 1.0 (and the Streams API), routed on
//! `X-Amz-Target`; `GET /` and `GET /health` answer liveness; `GET /metrics` renders
//! Prometheus text; `GET /internal/changes` serves the change feed to dax-proxy nodes.
//!
//! Request checks run in DynamoDB's order (DYNAMODB.md §1): method and path, JSON validity,
//! target, authentication header, then the operation's own validation. Every failure is the
//! DynamoDB error JSON; a panic inside a handler is caught and answered with
//! InternalServerError without its text, and the process keeps serving.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Request, Response, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use shared::wire::admission::Admission;
use shared::wire::body::{api_body, closing, declared_over_limit, Refused, MAX_BODY_BYTES};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::headers::{CLIENT_UNVERIFIED, SIGNATURES_REQUIRED, UNVERIFIED_RELAY};
use shared::wire::ops::decode;
use shared::wire::sigv4;
use shared::wire::Op;

use crate::api::read_item::JsonLenEstimate;
use crate::app::App;
use crate::error;
use crate::internal::{self, ClusterState, Heartbeat, LeaseRequest, Leave};
use crate::storage::StorageError;
use crate::{api, feed, metrics};
use shared::clock::now_ms;
use shared::wire::op_metrics::OpMetrics;
use shared::wire::request_id::RequestIds;

/// What the HTTP layer holds: the app plus server-only concerns.
pub struct Server {
    pub app: Arc<App>,
    /// The change log's identity for this process (`feed::new_log_id`).
    pub log_id: String,
    pub metrics: Option<PrometheusHandle>,
    pub request_ids: RequestIds,
    pub op_metrics: OpMetrics,
    pub listen: SocketAddr,
    pub cluster: ClusterState,
    pub admission: Admission,
    /// The free space `/health` wants, if any (`disk_reserve`).
    pub disk_reserve: Option<crate::disk_reserve::DiskReserve>,
    pub engine_usage: crate::engine_usage::EngineUsage,
}

/// The store's router, for everything but the API calls: `POST /` never reaches it, since
/// the front (`shared::wire::front`, built in `lib.rs`) hands those to [`api_call`] itself.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        // Any other method on the API path is not an API call either (DYNAMODB.md §1).
        .route("/", get(root).fallback(not_an_api_call))
        .route("/health", get(health))
        .route("/metrics", get(render_metrics))
        .route("/internal/changes", get(changes))
        .route("/internal/lease", post(lease))
        .route("/internal/members", post(members))
        .route("/internal/leave", post(leave))
        .route(
            "/internal/replication/{action}",
            post(crate::replication::serve::handle).layer(axum::extract::DefaultBodyLimit::max(
                crate::replication::serve::MAX_BODY_BYTES,
            )),
        )
        .route(
            "/triggers",
            get(crate::triggers::http::list_all).post(crate::triggers::http::create),
        )
        .route(
            "/triggers/{name}",
            get(crate::triggers::http::describe_one).delete(crate::triggers::http::delete),
        )
        .fallback(not_an_api_call)
        .with_state(server)
}

/// DynamoDB's `healthy: HOST:PORT` probe, which load balancers use: 503 when `/health` is.
async fn root(State(server): State<Arc<Server>>) -> Response<Body> {
    match unhealthy(&server) {
        None => error::plain(
            StatusCode::OK,
            "text/plain",
            format!("healthy: {}", server.listen),
        ),
        Some(why) => error::plain(StatusCode::SERVICE_UNAVAILABLE, "text/plain", why),
    }
}

/// 200 while the store serves; 503 once it refuses writes or is short of disk space (see
/// [`unhealthy`]).
async fn health(State(server): State<Arc<Server>>) -> Response<Body> {
    match unhealthy(&server) {
        None => error::plain(StatusCode::OK, "text/plain", "ok"),
        Some(why) => error::plain(StatusCode::SERVICE_UNAVAILABLE, "text/plain", why),
    }
}

/// Why the store should be taken out of service, if it should: it refuses writes after a
/// failed journal write or sync (reads still work, but an orchestrator should restart it),
/// or its disk has less free space than the reserve.
fn unhealthy(server: &Server) -> Option<String> {
    if !server.app.storage.writable() {
        return Some(
            "writes refused: the engine could not write (a full or failing disk); restart the store"
                .into(),
        );
    }
    server.disk_reserve.as_ref()?.shortage()
}

async fn render_metrics(State(server): State<Arc<Server>>) -> Response<Body> {
    ::metrics::gauge!(metrics::IN_FLIGHT_REQUESTS).set(server.admission.in_flight() as f64);
    for (part, bytes) in server.engine_usage.measure(&server.app.storage).await {
        ::metrics::gauge!(metrics::DISK_BYTES, "part" => part).set(bytes as f64);
    }
    for (part, shape) in server.app.storage.tree_shapes() {
        for (name, value) in [
            (metrics::ENGINE_TABLES, shape.tables),
            (metrics::ENGINE_LEVEL0_TABLES, shape.level0_tables),
            (metrics::ENGINE_SEALED_MEMTABLES, shape.sealed_memtables),
            (metrics::ENGINE_ENTRIES, shape.entries),
        ] {
            ::metrics::gauge!(name, "part" => part).set(value as f64);
        }
    }
    let cache = server.app.storage.partition_cache_stats();
    ::metrics::counter!(metrics::PARTITION_CACHE_HITS_TOTAL).absolute(cache.hits);
    ::metrics::counter!(metrics::PARTITION_CACHE_MISSES_TOTAL).absolute(cache.misses);
    ::metrics::gauge!(metrics::PARTITION_CACHE_PARTITIONS).set(cache.partitions as f64);
    ::metrics::gauge!(metrics::PARTITION_CACHE_BYTES).set(cache.bytes as f64);
    let mut text = server
        .metrics
        .as_ref()
        .map(shared::metric_families::render)
        .unwrap_or_default();
    crate::table_metrics::render(&server.app, &mut text);
    crate::owned_metrics::render(&server.app, &mut text);
    crate::contributors::render(&mut text);
    error::plain(StatusCode::OK, "text/plain; version=0.0.4", text)
}

/// DynamoDB answers anything that is not `POST /`, and a `POST /` whose body is not JSON
/// ([`api_call`]), with this XML body and 404.
async fn not_an_api_call() -> Response<Body> {
    Refused::NotAnApiCall.response()
}

/// The secret is checked before the query is parsed, as for the other cluster calls: a
/// caller without it learns nothing about the parameters.
async fn changes(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    params: Result<Query<feed::FeedParams>, QueryRejection>,
) -> Response<Body> {
    if let Err(denied) = internal::authorize(&server.app, &headers) {
        return denied;
    }
    // A node that checks no signatures may serve nothing of a store that checks them: told
    // at its next read of the feed (a moment after this store started), not at the next
    // call it happens to relay, it stops serving its cache to anyone at once.
    if server.app.config.keys.is_some() && headers.contains_key(CLIENT_UNVERIFIED) {
        let refusal = error::plain(
            StatusCode::FORBIDDEN,
            "text/plain",
            "this store checks signatures; a node without --credentials-file checks none",
        );
        return saying_signatures_required(refusal);
    }
    match params {
        Ok(Query(params)) => feed::serve(&server.app, &server.log_id, params).await,
        Err(bad) => error::plain(StatusCode::BAD_REQUEST, "text/plain", bad.body_text()),
    }
}

async fn lease(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let request: LeaseRequest = match internal_request(&server, &headers, &body) {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let now_ms = now_ms();
    cluster_answer(
        server
            .cluster
            .acquire(&server.app.storage, &request, now_ms)
            .await,
    )
}

async fn members(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let beat: Heartbeat = match internal_request(&server, &headers, &body) {
        Ok(beat) => beat,
        Err(refused) => return refused,
    };
    json_response(&server.cluster.heartbeat(&beat, now_ms()).await)
}

async fn leave(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let request: Leave = match internal_request(&server, &headers, &body) {
        Ok(request) => request,
        Err(refused) => return refused,
    };
    let now_ms = now_ms();
    let left = server
        .cluster
        .leave(&server.app.storage, &request.node_id, now_ms)
        .await;
    cluster_answer(left.map(|()| serde_json::json!({})))
}

/// A cluster call's JSON body, once its secret is checked; `Err` is the refusal to send.
#[allow(clippy::result_large_err)]
pub(crate) fn internal_request<T: serde::de::DeserializeOwned>(
    server: &Server,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, Response<Body>> {
    internal::authorize(&server.app, headers)?;
    serde_json::from_slice(body)
        .map_err(|e| error::plain(StatusCode::BAD_REQUEST, "text/plain", e.to_string()))
}

/// The answer to a lease change: the state, or 503 when the record cannot be written (the
/// store refuses writes).
fn cluster_answer(result: Result<impl serde::Serialize, StorageError>) -> Response<Body> {
    match result {
        Ok(state) => json_response(&state),
        Err(e) => {
            // Nodes renew their leases several times a second: a store refusing every
            // write (said once, when it began) would fill the log, on a disk maybe full.
            if !matches!(e, StorageError::WritesRefused) {
                tracing::error!(error = %e, "cannot write the lease record");
            }
            error::plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/plain",
                "cannot write the lease record",
            )
        }
    }
}

pub(crate) fn json_response(value: &impl serde::Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => error::plain(StatusCode::OK, "application/json", body),
        Err(_) => error::plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            "internal error",
        ),
    }
}

// Takes the whole request: axum's `HeaderMap` extractor would clone the headers.
/// One API call from the client at `peer`.
pub async fn api_call(
    State(server): State<Arc<Server>>,
    request: Request<Body>,
    peer: std::net::IpAddr,
) -> Response<Body> {
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
            ::metrics::counter!(metrics::SHED_REQUESTS_TOTAL).increment(1);
            return closing(error::error(&throttled, request_id), parts.version);
        }
    };
    let read = axum::body::to_bytes(body, MAX_BODY_BYTES);
    let body = match api_body(&headers, server.app.config.body_read_timeout, read).await {
        Ok(body) => body,
        Err(refused) => return refused.response(),
    };
    let target = headers
        .get(shared::wire::headers::X_AMZ_TARGET)
        .and_then(|v| v.to_str().ok());
    let op = match target.and_then(Op::from_target) {
        Some(op) => op,
        None => {
            // Invalid JSON wins over an unknown target (DynamoDB's order of checks).
            let code = if json_is_valid(&body) {
                ErrorCode::UnknownOperationException
            } else {
                ErrorCode::SerializationException
            };
            return error::error(&ApiError::bare(code), request_id);
        }
    };
    let app = &server.app;
    let signed = sigv4::SignedRequest::new(&parts.method, &parts.uri, &headers, &body);
    let keys = app.config.keys.as_deref();
    let relayed = || internal::is_cluster_member(app, &headers);
    if keys.is_some() && headers.contains_key(CLIENT_UNVERIFIED) && relayed() {
        return unverified_relay(request_id);
    }
    let authorized = sigv4::verify::authenticate(keys, &app.config.region, &signed, relayed)
        .and_then(|who| crate::policy::authorize(app, (&who, Some(peer)), relayed, op, &body));
    let refusals = match authorized {
        Ok(refusals) => refusals,
        Err(e) => return error::error(&e, request_id),
    };
    // Cluster members' headers: a client's own are not heeded.
    let from_node = relayed();
    if let Some(fence) = headers
        .get(shared::wire::headers::LEASE_FENCE)
        .filter(|_| from_node)
    {
        let fence = fence.to_str().unwrap_or_default();
        if !server.cluster.holds(fence, shared::clock::now_ms()).await {
            return error::error(
                &ApiError::new(ErrorCode::ServiceUnavailable, FENCED),
                request_id,
            );
        }
    }
    // Read before the call reads anything: every change up to it is visible to the read.
    let log_position = (matches!(op, Op::GetItem | Op::BatchGetItem)
        && from_node
        && headers.contains_key(shared::wire::headers::LOG_POSITION))
    .then(|| app.storage.published_seq());
    let started = Instant::now();
    let call = dispatch(&server.app, op, body, refusals);
    let result = CatchUnwind(AssertUnwindSafe(call)).await;
    let result = match result {
        Ok(result) => result,
        Err(()) => {
            tracing::error!(op = op.name(), "handler panicked");
            Err(ApiError::internal())
        }
    };
    server.op_metrics.record(op, started.elapsed());
    match result {
        Ok(body) => {
            let mut response = error::ok(body, request_id);
            if let Some(position) = log_position {
                let value = axum::http::HeaderValue::from(position);
                let headers = response.headers_mut();
                headers.insert(shared::wire::headers::LOG_POSITION, value);
            }
            response
        }
        Err(e) => {
            ::metrics::counter!(metrics::REQUEST_ERRORS_TOTAL, "op" => op.name(), "code" => e.code.name()).increment(1);
            error::error(&e, request_id)
        }
    }
}

/// The refusal of a write sent by a dax-proxy node under a lease that is no longer the
/// live one: not applied, and safe to retry.
const FENCED: &str = "The cluster's primary changed before this write reached the store; it was not applied. Please try again.";

/// The refusal of a call relayed by a node that checks no signatures, which tells the node
/// this store does (`shared::wire::headers::CLIENT_UNVERIFIED`).
fn unverified_relay(request_id: &str) -> Response<Body> {
    let refusal = ApiError::new(ErrorCode::AccessDeniedException, UNVERIFIED_RELAY);
    saying_signatures_required(error::error(&refusal, request_id))
}

/// `refusal` of a node that checks no signatures, saying why: this store checks them
/// (`shared::wire::headers::SIGNATURES_REQUIRED`).
fn saying_signatures_required(mut refusal: Response<Body>) -> Response<Body> {
    refusal.headers_mut().insert(
        SIGNATURES_REQUIRED,
        axum::http::HeaderValue::from_static("true"),
    );
    refusal
}

/// Encodes an answer made of items into a buffer sized for it once.
fn encode_items<T: serde::Serialize + JsonLenEstimate>(
    output: &T,
) -> Result<Vec<u8>, serde_json::Error> {
    shared::model::json_out::to_vec_with_capacity(output, output.json_len_estimate())
}

fn json_is_valid(body: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// Decodes the body into the operation's input, runs its handler, encodes its output;
/// `refusals` are the statements of a BatchExecuteStatement policies refuse.
async fn dispatch(
    app: &Arc<App>,
    op: Op,
    body: Bytes,
    refusals: crate::policy::Refusals,
) -> Result<Vec<u8>, ApiError> {
    // Item-carrying outputs use json_out's writer: the same bytes as serde_json, with
    // cheaper string escaping (response bodies there are mostly item text).
    use shared::model::json_out;
    macro_rules! call {
        ($($handler:ident)::+) => { call!($($handler)::+ => serde_json::to_vec) };
        ($($handler:ident)::+ => $encode:path $(, $extra:expr)?) => {{
            let input = decode(&body)?;
            let output = api::$($handler)::+(app, input $(, $extra)?).await?;
            $encode(&output).map_err(|e| {
                tracing::error!(error = %e, "cannot serialize a response");
                ApiError::internal()
            })
        }};
    }
    match op {
        Op::CreateTable => call!(create_table::handle),
        Op::DescribeTable => call!(describe_table::handle),
        Op::ListTables => call!(list_tables::handle),
        Op::DeleteTable => call!(delete_table::handle),
        Op::UpdateTable => call!(update_table::handle),
        Op::TagResource => call!(tags::tag_resource),
        Op::UntagResource => call!(tags::untag_resource),
        Op::ListTagsOfResource => call!(tags::list_tags_of_resource),
        Op::DescribeLimits => call!(describe_limits::handle),
        Op::DescribeEndpoints => call!(describe_endpoints::handle),
        Op::PutItem => call!(put_item::handle),
        Op::GetItem => call!(get_item::handle => encode_items),
        Op::UpdateItem => call!(update_item::handle),
        Op::DeleteItem => call!(delete_item::handle),
        Op::Query => call!(query::handle => encode_items),
        Op::Scan => call!(scan::handle => encode_items),
        Op::BatchGetItem => call!(batch_get_item::handle => encode_items),
        Op::BatchWriteItem => call!(batch_write_item::handle),
        Op::TransactGetItems => call!(transact_get_items::handle => json_out::to_vec),
        Op::TransactWriteItems => call!(transact_write_items::handle),
        Op::SearchVectors => call!(search_vectors::handle => json_out::to_vec),
        Op::ExecuteStatement => call!(partiql::execute_statement::handle => json_out::to_vec),
        Op::BatchExecuteStatement => {
            call!(partiql::batch_execute_statement::handle => json_out::to_vec, refusals)
        }
        Op::ExecuteTransaction => call!(partiql::execute_transaction::handle),
        Op::ListStreams => call!(list_streams::handle),
        Op::DescribeStream => call!(describe_stream::handle),
        Op::GetShardIterator => call!(get_shard_iterator::handle),
        Op::GetRecords => call!(get_records::handle),
        Op::UpdateTimeToLive => call!(update_time_to_live::handle),
        Op::DescribeTimeToLive => call!(describe_time_to_live::handle),
        Op::CreateBackup => call!(create_backup::handle),
        Op::DescribeBackup => call!(describe_backup::handle),
        Op::ListBackups => call!(list_backups::handle),
        Op::DeleteBackup => call!(delete_backup::handle),
        Op::RestoreTableFromBackup => call!(restore_table_from_backup::handle),
        Op::RestoreTableToPointInTime => call!(restore_table_to_point_in_time::handle),
        Op::UpdateContinuousBackups => call!(update_continuous_backups::handle),
        Op::DescribeContinuousBackups => call!(describe_continuous_backups::handle),
        Op::UpdateContributorInsights => call!(contributor_insights::update),
        Op::DescribeContributorInsights => call!(contributor_insights::describe),
        Op::ListContributorInsights => call!(contributor_insights::list),
        Op::ExportTableToPointInTime => call!(exports::export_table_to_point_in_time),
        Op::DescribeExport => call!(exports::describe_export),
        Op::ListExports => call!(exports::list_exports),
        Op::ImportTable => call!(imports::import_table),
        Op::DescribeImport => call!(imports::describe_import),
        Op::ListImports => call!(imports::list_imports),
        Op::StartBulkPutItems => call!(bulk_operations::start_bulk_put_items),
        Op::DescribeBulkOperation => call!(bulk_operations::describe_bulk_operation),
        Op::ListBulkOperations => call!(bulk_operations::list_bulk_operations),
        Op::CancelBulkOperation => call!(bulk_operations::cancel_bulk_operation),
        Op::PutResourcePolicy => call!(resource_policies::put),
        Op::GetResourcePolicy => call!(resource_policies::get),
        Op::DeleteResourcePolicy => call!(resource_policies::delete),
        Op::EnableKinesisStreamingDestination => call!(kinesis_destinations::enable),
        Op::DisableKinesisStreamingDestination => call!(kinesis_destinations::disable),
        Op::DescribeKinesisStreamingDestination => call!(kinesis_destinations::describe),
        Op::UpdateKinesisStreamingDestination => call!(kinesis_destinations::update),
        Op::ListGlobalTables => call!(global_tables::list),
        Op::CreateGlobalTable => call!(global_tables::create),
        Op::DescribeGlobalTable
        | Op::DescribeGlobalTableSettings
        | Op::UpdateGlobalTable
        | Op::UpdateGlobalTableSettings => call!(global_tables::not_found),
        Op::DescribeTableReplicaAutoScaling => call!(global_tables::describe_auto_scaling),
        Op::UpdateTableReplicaAutoScaling => call!(global_tables::update_auto_scaling),
    }
}

/// Polls a future inside `catch_unwind`, turning a panic into `Err(())` so that one bad
/// request cannot take the connection or the process down with it.
struct CatchUnwind<F>(AssertUnwindSafe<F>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: structural pinning of the only field; it is never moved out.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0 .0) };
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}
