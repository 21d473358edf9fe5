//! Provisioned-throughput enforcement and capacity metering.
//!
//! # Throttling (DYNAMODB.md §8 "Throttling")
//! Each provisioned table has a read and a write token bucket, and so has each of its GSIs
//! (LSIs share the table's). A bucket refills at the provisioned units per second and holds
//! at most 300 seconds of them (DynamoDB's burst capacity); a new bucket starts full, as a
//! table that has been idle. A request is admitted while its buckets are above zero and is
//! charged what it consumed afterwards, so one large request may drive a bucket below zero
//! and the requests after it wait for the refill: the debt model keeps admission to one
//! cheap check instead of predicting a request's cost before reading the item. A write is
//! admitted by the table's bucket before it runs, and by the buckets of the GSIs it
//! reaches once it is decided under the item's lock ([`admit_index_writes`]), so a GSI out
//! of capacity refuses only writes that change its entries, as in DynamoDB. An empty
//! bucket answers ProvisionedThroughputExceededException (the GSI variant when a GSI's
//! bucket is the empty one).
//!
//! On-demand tables are metered, and throttled above the maximum their
//! `OnDemandThroughput` names (`MaxReadRequestUnits`, `MaxWriteRequestUnits`) or, without
//! one (-1 or absent), above the account's per-table quota (`--table-max-capacity-units`,
//! 40,000 by default), for the table and for each GSI: a bucket refilling at that many
//! units per second that holds one second of them, so the rate stays under the limit over
//! any second. Beyond it: ThrottlingException with DynamoDB's on-demand message. Every
//! throttling error names its limit in `ThrottlingReasons`
//! (`TableReadProvisionedThroughputExceeded`, `IndexWriteMaxOnDemandThroughputExceeded`,
//! `TableReadAccountLimitExceeded`, ...) with the table's or index's ARN.
//!
//! Buckets live in one process-wide registry keyed by the catalog's table id (a number
//! never given twice), so a deleted table's bucket can never be confused with a new
//! table's, a lookup allocates nothing for a table's own buckets, and a throughput change
//! applies to the existing bucket at once.
//!
//! # Metering
//! Every charge also adds its units to the table's consumption totals, and every refusal
//! to its throttled count, kept here by table id and rendered on `/metrics` at each scrape
//! by `crate::table_metrics` ([`consumption`]): exact (a half unit shows as 0.5), and
//! gone with the table. The item-level admissions and charges (`admit_item_*`,
//! `charge_item_*`) tell Contributor Insights (`crate::contributors`) the key as well, so
//! call sites meter in one call; and [`run_stats`] raises the warm throughput of on-demand
//! tables and their GSIs to their busiest second.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use shared::model::PrimaryKey;
use shared::wire::error::{ApiError, CancellationReason, ErrorCode, ThrottlingReason};

use crate::api::item_write::WriteUnits;
use crate::app::App;
use crate::catalog::{warm, BillingMode, TableMeta};

/// Seconds of unused capacity a provisioned bucket keeps.
pub const BURST_SECONDS: f64 = 300.0;

/// Seconds of unused capacity an on-demand maximum's bucket keeps: the maximum is a cap on
/// the rate, not a budget to save up.
pub const ON_DEMAND_BURST_SECONDS: f64 = 1.0;

const TABLE_MESSAGE: &str = "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.";
const INDEX_MESSAGE: &str = "The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded. Consider increasing your provisioning level for the under-provisioned global secondary indexes with the UpdateTable API.";
const ON_DEMAND_MESSAGE: &str = "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html.";

/// Reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Read,
    Write,
}

/// What bounds a table's or GSI's rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitKind {
    /// Its provisioned throughput.
    Provisioned,
    /// The maximum its on-demand `OnDemandThroughput` names.
    OnDemandMax,
    /// The account's per-table quota, for an on-demand table or GSI without a maximum.
    AccountQuota,
}

/// A rate limit: units per second, and how many seconds of them a bucket keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub rate: f64,
    pub burst_seconds: f64,
    pub kind: LimitKind,
}

impl Limit {
    fn capacity(&self) -> f64 {
        self.rate * self.burst_seconds
    }
}

/// A token bucket: `tokens` may go negative (debt, see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    tokens: f64,
    limit: Limit,
    at: Instant,
}

impl Bucket {
    /// A full bucket for `limit`.
    pub fn new(limit: Limit, now: Instant) -> Self {
        Bucket {
            tokens: limit.capacity(),
            limit,
            at: now,
        }
    }

    /// Refills up to `now` at the current rate, capped at the burst.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.limit.rate).min(self.limit.capacity());
        self.at = now;
    }

    /// Applies a new limit (UpdateTable), keeping the tokens earned so far; a limit of
    /// another kind (a switch of billing mode, an on-demand maximum set or lifted) starts
    /// a full bucket, as the old one's debt was owed to a limit that is gone.
    fn set_limit(&mut self, limit: Limit, now: Instant) {
        if limit.kind != self.limit.kind {
            *self = Bucket::new(limit, now);
            return;
        }
        self.refill(now);
        if limit != self.limit {
            self.limit = limit;
            self.tokens = self.tokens.min(limit.capacity());
        }
    }

    /// Whether a request may start now.
    pub fn admits(&mut self, now: Instant) -> bool {
        self.admits_owing(0.0, now)
    }

    /// Whether a request may start now after requests that will take `owed` units (a
    /// batch's earlier writes, decided but not yet charged).
    pub fn admits_owing(&mut self, owed: f64, now: Instant) -> bool {
        self.refill(now);
        self.tokens - owed > 0.0
    }

    /// Takes `units` (possibly into debt).
    pub fn take(&mut self, units: f64, now: Instant) {
        self.refill(now);
        self.tokens -= units;
    }
}

/// Bucket key: the catalog's table id, GSI name (`None` for the table), kind.
type BucketKey = (u64, Option<String>, Kind);

#[derive(Default)]
struct Registry {
    // Fx hashing: the keys are table ids and index names the catalog holds, not request
    // input, and every read and write looks a bucket up two or three times.
    buckets: Mutex<FxHashMap<BucketKey, Bucket>>,
    /// The account's per-table quota in units a second (0 until [`set_table_quota`]).
    table_quota: std::sync::atomic::AtomicI64,
    /// What each table consumed, by (table, kind): its totals and its busiest second.
    metered: Mutex<FxHashMap<(u64, Kind), Usage>>,
}

/// A table's consumption of one kind.
#[derive(Default)]
struct Usage {
    /// Units consumed since the table was created (or the store started), GSIs included.
    consumed: f64,
    /// Requests refused for capacity.
    throttled: u64,
    /// The table's own units (its GSIs' aside) by second.
    own: Seconds,
    /// Each GSI's units by second, by index name.
    indexes: Vec<(String, Seconds)>,
}

impl Usage {
    /// The seconds of GSI `name`, new if it had none.
    fn index(&mut self, name: &str) -> &mut Seconds {
        let at = match self.indexes.iter().position(|(n, _)| n == name) {
            Some(at) => at,
            None => {
                self.indexes.push((name.to_string(), Seconds::default()));
                self.indexes.len() - 1
            }
        };
        &mut self.indexes[at].1
    }
}

/// Units counted by second, and the busiest second that has passed.
#[derive(Default)]
struct Seconds {
    /// The second (since the process started) `this_second` counts.
    second: u64,
    /// Units consumed in that second.
    this_second: f64,
    /// The most consumed in a second that has passed, since [`busiest_seconds`] last took
    /// it.
    busiest: f64,
}

impl Seconds {
    /// Counts `units` consumed in second `second`.
    fn count(&mut self, units: f64, second: u64) {
        if second != self.second {
            self.busiest = self.busiest.max(self.this_second);
            self.this_second = 0.0;
            self.second = second;
        }
        self.this_second += units;
    }

    /// The busiest second that has passed by `current`, forgotten once taken.
    fn take_busiest(&mut self, current: u64) -> f64 {
        if self.second != current {
            self.count(0.0, current);
        }
        std::mem::take(&mut self.busiest)
    }
}

/// The busiest seconds of one table since they were last taken: reads and writes, of the
/// table itself and of each GSI.
#[derive(Debug, Default, PartialEq)]
pub struct Busiest {
    pub table: (f64, f64),
    pub indexes: HashMap<String, (f64, f64)>,
}

/// Seconds since the first call: the clock `Usage` counts seconds by.
fn second_of(now: Instant) -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    now.saturating_duration_since(*START.get_or_init(Instant::now))
        .as_secs()
}

/// Each table's busiest second of reads and of writes since the last call (its own units,
/// and each GSI's), by the catalog's table id; seconds not yet over are left for the next
/// call.
pub fn busiest_seconds() -> HashMap<u64, Busiest> {
    let mut out: HashMap<u64, Busiest> = HashMap::new();
    let current = second_of(Instant::now());
    fn side(pair: &mut (f64, f64), kind: Kind) -> &mut f64 {
        match kind {
            Kind::Read => &mut pair.0,
            Kind::Write => &mut pair.1,
        }
    }
    for ((id, kind), usage) in registry().metered.lock().iter_mut() {
        let entry = out.entry(*id).or_default();
        *side(&mut entry.table, *kind) = usage.own.take_busiest(current);
        for (name, seconds) in &mut usage.indexes {
            let index = entry.indexes.entry(name.clone()).or_default();
            *side(index, *kind) = seconds.take_busiest(current);
        }
    }
    out
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// Sets the account's per-table quota, the rate an on-demand table or GSI without a
/// maximum of its own is held to (the store's `--table-max-capacity-units`).
pub fn set_table_quota(units: i64) {
    registry()
        .table_quota
        .store(units, std::sync::atomic::Ordering::Relaxed);
}

/// The limit on the table's (`index = None`) or one of its GSIs' reads or writes: its
/// provisioned throughput, its on-demand maximum, or the account's per-table quota; `None`
/// when there is none (no quota set, or an index that is gone).
fn limit(table: &TableMeta, index: Option<&str>, kind: Kind) -> Option<Limit> {
    let gsi = |name: &str| table.global_index(name);
    if table.billing_mode == BillingMode::Provisioned {
        let throughput = match index {
            None => &table.throughput,
            Some(name) => gsi(name)?.throughput.as_ref()?,
        };
        let units = match kind {
            Kind::Read => throughput.read,
            Kind::Write => throughput.write,
        };
        return (units > 0).then_some(Limit {
            rate: units as f64,
            burst_seconds: BURST_SECONDS,
            kind: LimitKind::Provisioned,
        });
    }
    let maximum = match index {
        None => table.on_demand_throughput.as_ref(),
        Some(name) => gsi(name)?.on_demand_throughput.as_ref(),
    };
    let own = maximum.and_then(|m| match kind {
        Kind::Read => m.max_read_request_units,
        Kind::Write => m.max_write_request_units,
    });
    let (units, kind) = match own {
        Some(units) if units > 0 => (units, LimitKind::OnDemandMax),
        _ => (
            registry()
                .table_quota
                .load(std::sync::atomic::Ordering::Relaxed),
            LimitKind::AccountQuota,
        ),
    };
    (units > 0).then_some(Limit {
        rate: units as f64,
        burst_seconds: ON_DEMAND_BURST_SECONDS,
        kind,
    })
}

/// Runs `f` on the bucket of the table's or GSI's limit, if it has one; returns what `f`
/// returned and which kind of limit the bucket enforces.
fn with_bucket<T>(
    table: &TableMeta,
    index: Option<&str>,
    kind: Kind,
    now: Instant,
    f: impl FnOnce(&mut Bucket) -> T,
) -> Option<(T, LimitKind)> {
    let limit = limit(table, index, kind)?;
    let mut buckets = registry().buckets.lock();
    let bucket = buckets
        .entry((table.table_id(), index.map(str::to_string), kind))
        .or_insert_with(|| Bucket::new(limit, now));
    bucket.set_limit(limit, now);
    Some((f(bucket), limit.kind))
}

/// Gives the table's and its GSIs' buckets the limits `table` (as an UpdateTable just
/// left it) names, now: a bucket otherwise learns a new limit at its next request, and
/// the time until then would accrue at the old rate (a raise from 1 to 100 units a second
/// earned 1 unit in the second after it).
pub fn apply_limits(table: &TableMeta) {
    let now = Instant::now();
    let indexes = table.global_indexes.iter().map(|i| Some(i.name.as_str()));
    for index in std::iter::once(None).chain(indexes) {
        for kind in [Kind::Read, Kind::Write] {
            with_bucket(table, index, kind, now, |_| ());
        }
    }
}

/// Whether the table's or GSI's bucket admits a request now; the refusal if not.
fn admit(table: &TableMeta, index: Option<&str>, kind: Kind, now: Instant) -> Result<(), ApiError> {
    admit_owing(table, index, kind, 0.0, now)
}

/// [`admit`] after requests not yet charged that will take `owed` units.
fn admit_owing(
    table: &TableMeta,
    index: Option<&str>,
    kind: Kind,
    owed: f64,
    now: Instant,
) -> Result<(), ApiError> {
    match with_bucket(table, index, kind, now, |b| b.admits_owing(owed, now)) {
        Some((false, limit)) => Err(throttled(table, index, kind, limit)),
        _ => Ok(()),
    }
}

/// Admits a read of the table (`index = None`, or an LSI, which shares the table's
/// capacity) or of a GSI, or refuses it with the throttling error of its limit.
pub fn admit_read(table: &TableMeta, gsi: Option<&str>) -> Result<(), ApiError> {
    admit(table, gsi, Kind::Read, Instant::now())
}

/// Admits a write of the table by the table's own write bucket. The GSIs' buckets are
/// asked later, by [`admit_index_writes`], once the write knows which indexes it reaches.
pub fn admit_write(table: &TableMeta) -> Result<(), ApiError> {
    admit(table, None, Kind::Write, Instant::now())
}

/// What the writes a BatchWriteItem has decided so far will be charged once the batch is
/// stored, by table and GSI: each further write must find capacity left over them. As in
/// DynamoDB, a batch runs its writes while the capacity lasts (the one that crosses it
/// included, as any request may run into debt) and hands the rest back in
/// `UnprocessedItems`, rather than driving a table or a GSI hours into debt with one call.
#[derive(Debug, Default)]
pub struct Owed(Vec<(u64, Option<String>, f64)>);

impl Owed {
    /// Nothing owed: a single write.
    pub const NONE: Owed = Owed(Vec::new());

    fn of(&self, table: &TableMeta, index: Option<&str>) -> f64 {
        self.0
            .iter()
            .filter(|(id, i, _)| *id == table.table_id() && i.as_deref() == index)
            .map(|(_, _, units)| units)
            .sum()
    }

    /// Adds what a decided write of `table` will be charged: the table its own and its
    /// LSIs' units, each GSI its own.
    pub fn add(&mut self, table: &TableMeta, units: &WriteUnits) {
        let gsis = units
            .global
            .iter()
            .map(|(name, u)| (Some(name.as_str()), *u));
        for (index, units) in std::iter::once((None, units.on_table())).chain(gsis) {
            let id = table.table_id();
            match self
                .0
                .iter_mut()
                .find(|(t, i, _)| *t == id && i.as_deref() == index)
            {
                Some((_, _, owed)) => *owed += units,
                None => self.0.push((id, index.map(str::to_string), units)),
            }
        }
    }
}

/// Admits the next write of a BatchWriteItem to the table (its earlier decided writes
/// `owed`, see [`Owed`]), or refuses it; a refusal also counts for the key's Contributor
/// Insights.
pub fn admit_batch_write(table: &TableMeta, key: &PrimaryKey, owed: &Owed) -> Result<(), ApiError> {
    admit_owing(
        table,
        None,
        Kind::Write,
        owed.of(table, None),
        Instant::now(),
    )
    .inspect_err(|_| crate::contributors::item_throttled(table, key))
}

/// Admits the index part of a decided write: every GSI it writes (`global`, the units
/// [`crate::api::item_write::decide`] computed per GSI) must have capacity left over what
/// is `owed` it. As in DynamoDB, a GSI out of capacity refuses only the writes that reach
/// it; writes that leave it untouched are not its business.
pub fn admit_index_writes(
    table: &TableMeta,
    global: &[(String, f64)],
    owed: &Owed,
) -> Result<(), ApiError> {
    let now = Instant::now();
    for (index, _) in global {
        admit_owing(
            table,
            Some(index),
            Kind::Write,
            owed.of(table, Some(index)),
            now,
        )?;
    }
    Ok(())
}

/// Admits a transaction whose actions' own admissions are `admissions`, in request order.
/// DynamoDB does not refuse a transaction short of capacity with the throttling error: it
/// cancels it, naming each refused action (`ProvisionedThroughputExceeded`, or
/// `ThrottlingError` for an on-demand maximum) and `None` for the others.
pub fn admit_transaction(admissions: Vec<Result<(), ApiError>>) -> Result<(), ApiError> {
    if admissions.iter().all(Result::is_ok) {
        return Ok(());
    }
    let reasons = admissions
        .into_iter()
        .map(|admitted| match admitted {
            Ok(()) => CancellationReason::none(),
            Err(e) => CancellationReason {
                code: e.code.reason_code().to_string(),
                message: e.message,
                item: None,
            },
        })
        .collect();
    Err(ApiError::transaction_canceled(reasons))
}

/// Charges `units` read from the table (or a GSI) and meters them.
pub fn charge_read(table: &TableMeta, gsi: Option<&str>, units: f64) {
    let now = Instant::now();
    with_bucket(table, gsi, Kind::Read, now, |b| b.take(units, now));
    match gsi {
        None => meter::<&str>(table, Kind::Read, units, &[], now),
        Some(name) => meter(table, Kind::Read, 0.0, &[(name, units)], now),
    }
}

/// Charges a write: `table_units` to the table (LSI writes included), and each GSI's
/// units to that GSI; meters the total.
pub fn charge_write(table: &TableMeta, table_units: f64, gsi_units: &[(String, f64)]) {
    let now = Instant::now();
    with_bucket(table, None, Kind::Write, now, |b| b.take(table_units, now));
    for (name, units) in gsi_units {
        with_bucket(table, Some(name), Kind::Write, now, |b| b.take(*units, now));
    }
    meter(table, Kind::Write, table_units, gsi_units, now);
}

/// Admits a read of the item `key` of the table, or refuses it; a refusal also counts for
/// the key's Contributor Insights.
pub fn admit_item_read(table: &TableMeta, key: &PrimaryKey) -> Result<(), ApiError> {
    admit_read(table, None).inspect_err(|_| crate::contributors::item_throttled(table, key))
}

/// Admits a write of the item `key` by the table's bucket ([`admit_write`]), or refuses
/// it; a refusal also counts for the key's Contributor Insights.
pub fn admit_item_write(table: &TableMeta, key: &PrimaryKey) -> Result<(), ApiError> {
    admit_batch_write(table, key, &Owed::NONE)
}

/// Charges `units` read of the item `key` and meters them, for the table and for the key.
pub fn charge_item_read(table: &TableMeta, key: &PrimaryKey, units: f64) {
    charge_read(table, None, units);
    crate::contributors::item_accessed(table, key, units);
}

/// Charges what a write of the item `key` consumed ([`crate::api::item_write::decide`]'s
/// units): the table its own and its LSIs' units, each GSI its own; and meters them, for
/// the table and for the key.
pub fn charge_item_write(table: &TableMeta, key: &PrimaryKey, units: &WriteUnits) {
    charge_write(table, units.on_table(), &units.global);
    crate::contributors::item_accessed(table, key, units.on_table());
}

/// What a write refused by its condition is charged: DynamoDB's minimum write (the item's
/// size is not known where the refusal is made).
pub const REFUSED_CONDITION_WRITE_UNITS: f64 = 1.0;

/// The error of a write of the item `key` that `decide` refused. A failed condition still
/// consumed capacity in DynamoDB ([`REFUSED_CONDITION_WRITE_UNITS`]), metered for the
/// table and for the key; other refusals (validation) consumed nothing.
pub fn failed_write(
    table: &TableMeta,
    key: &PrimaryKey,
    failure: crate::api::item_write::WriteFailure,
) -> ApiError {
    if matches!(
        failure,
        crate::api::item_write::WriteFailure::ConditionalCheckFailed { .. }
    ) {
        charge_write(table, REFUSED_CONDITION_WRITE_UNITS, &[]);
        crate::contributors::item_accessed(table, key, REFUSED_CONDITION_WRITE_UNITS);
    }
    failure.into_api_error()
}

/// Adds the table's `own` units and each GSI's (`gsi_units`) to the table's consumption,
/// and each to its own second at `now`.
fn meter<S: AsRef<str>>(
    table: &TableMeta,
    kind: Kind,
    own: f64,
    gsi_units: &[(S, f64)],
    now: Instant,
) {
    let units = own + gsi_units.iter().map(|(_, u)| u).sum::<f64>();
    if units.is_nan() || units <= 0.0 {
        return;
    }
    let second = second_of(now);
    let mut metered = registry().metered.lock();
    let usage = metered.entry((table.table_id(), kind)).or_default();
    usage.own.count(own, second);
    for (name, units) in gsi_units {
        usage.index(name.as_ref()).count(*units, second);
    }
    usage.consumed += units;
}

/// What one table consumed and how often it was throttled, as [`consumption`] reports it.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Consumption {
    pub read_units: f64,
    pub write_units: f64,
    pub throttled: u64,
}

/// Every table's consumption since it was created (or the store started), by the
/// catalog's table id; a table that never consumed nor was throttled has none.
pub fn consumption() -> FxHashMap<u64, Consumption> {
    let mut out: FxHashMap<u64, Consumption> = FxHashMap::default();
    for ((id, kind), usage) in registry().metered.lock().iter() {
        let entry = out.entry(*id).or_default();
        match kind {
            Kind::Read => entry.read_units = usage.consumed,
            Kind::Write => entry.write_units = usage.consumed,
        }
        entry.throttled += usage.throttled;
    }
    out
}

/// The error of a request the bucket of `index` (or of the table) refused, naming the
/// limit: ProvisionedThroughputExceededException for provisioned capacity,
/// ThrottlingException for an on-demand maximum.
fn throttled(table: &TableMeta, index: Option<&str>, kind: Kind, limit: LimitKind) -> ApiError {
    registry()
        .metered
        .lock()
        .entry((table.table_id(), kind))
        .or_default()
        .throttled += 1;
    let resource = index
        .and_then(|name| table.global_index(name))
        .map_or(&table.arn, |i| &i.arn);
    let reason = format!(
        "{}{}{}",
        if index.is_some() { "Index" } else { "Table" },
        match kind {
            Kind::Read => "Read",
            Kind::Write => "Write",
        },
        match limit {
            LimitKind::Provisioned => "ProvisionedThroughputExceeded",
            LimitKind::OnDemandMax => "MaxOnDemandThroughputExceeded",
            LimitKind::AccountQuota => "AccountLimitExceeded",
        }
    );
    let (code, message) = match (limit, index) {
        (LimitKind::OnDemandMax | LimitKind::AccountQuota, _) => {
            (ErrorCode::ThrottlingException, ON_DEMAND_MESSAGE)
        }
        (LimitKind::Provisioned, Some(_)) => (
            ErrorCode::ProvisionedThroughputExceededException,
            INDEX_MESSAGE,
        ),
        (LimitKind::Provisioned, None) => (
            ErrorCode::ProvisionedThroughputExceededException,
            TABLE_MESSAGE,
        ),
    };
    let reasons = vec![ThrottlingReason {
        reason,
        resource: resource.clone(),
    }];
    ApiError::throttled(code, message, reasons)
}

/// Every few seconds, forgets the buckets and consumption of tables and GSIs that no
/// longer exist, and raises warm throughput by use.
pub async fn run_stats(app: Arc<App>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let tables = app.catalog.all();
        let live: HashMap<u64, &TableMeta> = tables.iter().map(|t| (t.table_id(), &**t)).collect();
        registry().buckets.lock().retain(|(id, index, _), _| {
            live.get(id).is_some_and(|t| {
                index
                    .as_deref()
                    .is_none_or(|name| t.global_index(name).is_some())
            })
        });
        registry()
            .metered
            .lock()
            .retain(|(id, _), _| live.contains_key(id));
        raise_warm_throughput(&app, &tables).await;
    }
}

/// Raises the warm throughput of each on-demand table, and of each of its GSIs, to its
/// busiest second since the last call, as DynamoDB raises it as use grows
/// (`catalog::warm`); provisioned tables' follows their capacity already.
async fn raise_warm_throughput(app: &App, tables: &[Arc<TableMeta>]) {
    let busiest = busiest_seconds();
    let cap = app.config.quotas.table_max;
    for table in tables {
        if table.billing_mode != BillingMode::PayPerRequest {
            continue;
        }
        let Some(used) = busiest.get(&table.table_id()) else {
            continue;
        };
        if !raise_by_use(&mut (**table).clone(), used, cap) {
            continue;
        }
        let raised = app
            .catalog
            .update(&app.storage, table.name(), |t| {
                raise_by_use(t, used, cap);
                Ok(())
            })
            .await;
        if let Err(e) = raised {
            tracing::warn!(table = %table.name(), error = ?e, "cannot raise warm throughput");
        }
    }
}

/// Raises `table`'s warm throughput, and its GSIs', to what `used` shows they took (up to
/// `cap`); whether anything rose.
fn raise_by_use(table: &mut TableMeta, used: &Busiest, cap: i64) -> bool {
    let mut rose = false;
    if let Some(next) = warm::raised_by_use(table.warm_throughput(), used.table, cap) {
        table.warm = Some(next);
        rose = true;
    }
    for index in &mut table.global_indexes {
        let Some(&index_used) = used.indexes.get(&index.name) else {
            continue;
        };
        let current = warm::Warm::effective(index.warm, index.throughput.as_ref());
        if let Some(next) = warm::raised_by_use(current, index_used, cap) {
            index.warm = Some(next);
            rose = true;
        }
    }
    rose
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_keep_the_busiest_that_has_passed() {
        let mut seconds = Seconds::default();
        seconds.count(5.0, 1);
        seconds.count(7.0, 1);
        seconds.count(3.0, 2);
        assert_eq!((seconds.busiest, seconds.this_second), (12.0, 3.0));
        seconds.count(1.0, 4);
        assert_eq!((seconds.busiest, seconds.this_second), (12.0, 1.0));
        // Taken at second 5 (second 4 is over too), then forgotten; second 5 is not over.
        assert_eq!(seconds.take_busiest(5), 12.0);
        assert_eq!(seconds.take_busiest(5), 0.0);
        seconds.count(3.0, 5);
        assert_eq!(seconds.take_busiest(5), 0.0);
        assert_eq!(seconds.take_busiest(6), 3.0);
    }

    #[test]
    fn use_raises_a_table_and_each_gsi_by_its_own_busiest_second() {
        let mut table = TableMeta::for_tests(1, "t");
        for name in ["busy", "quiet"] {
            let index = table.index_for_tests(name);
            table.global_indexes.push(index);
        }
        let used = Busiest {
            table: (100.0, 9_000.0),
            indexes: HashMap::from([
                ("busy".to_string(), (15_000.0, 50_000.0)),
                ("quiet".to_string(), (10.0, 10.0)),
            ]),
        };
        assert!(raise_by_use(&mut table, &used, 40_000));
        let warm = |t: &TableMeta, i: usize| {
            let index = &t.global_indexes[i];
            warm::Warm::effective(index.warm, index.throughput.as_ref())
        };
        assert_eq!(
            table.warm_throughput(),
            warm::Warm {
                read: 12_000,
                write: 9_000
            }
        );
        // The busy index rises, capped at the quota; the quiet one keeps the initial values.
        assert_eq!(
            warm(&table, 0),
            warm::Warm {
                read: 15_000,
                write: 40_000
            }
        );
        assert_eq!(warm(&table, 1), warm::INITIAL);
        // The same use again raises nothing.
        assert!(!raise_by_use(&mut table, &used, 40_000));
    }

    fn provisioned(rate: f64) -> Limit {
        Limit {
            rate,
            burst_seconds: BURST_SECONDS,
            kind: LimitKind::Provisioned,
        }
    }

    #[test]
    fn buckets_burst_then_throttle_then_refill() {
        let start = Instant::now();
        let mut b = Bucket::new(provisioned(1.0), start);
        // 300 s of 1 unit: one 293-unit write passes, the next passes into debt, then none.
        assert!(b.admits(start));
        b.take(293.0, start);
        assert!(b.admits(start));
        b.take(293.0, start);
        assert!(!b.admits(start));
        // Refilling at 1 unit/s pays the 286-unit debt back after 286 s.
        assert!(!b.admits(start + Duration::from_secs(286)));
        assert!(b.admits(start + Duration::from_secs(287)));
        // Never more than the burst, however long it rests.
        b.refill(start + Duration::from_secs(100_000));
        assert_eq!(b.tokens, 300.0);
    }

    #[test]
    fn a_lower_rate_caps_the_tokens() {
        let start = Instant::now();
        let mut b = Bucket::new(provisioned(10.0), start);
        b.set_limit(provisioned(1.0), start);
        assert_eq!(b.tokens, 300.0);
        b.set_limit(provisioned(5.0), start);
        assert_eq!(b.tokens, 300.0);
    }

    #[test]
    fn a_limit_of_another_kind_starts_a_full_bucket() {
        let start = Instant::now();
        let mut b = Bucket::new(provisioned(1.0), start);
        b.take(400.0, start);
        assert!(!b.admits(start));
        let quota = Limit {
            rate: 40_000.0,
            burst_seconds: ON_DEMAND_BURST_SECONDS,
            kind: LimitKind::AccountQuota,
        };
        b.set_limit(quota, start);
        assert!(b.admits(start));
        assert_eq!(b.tokens, 40_000.0);
    }

    #[test]
    fn on_demand_without_a_maximum_is_held_to_the_table_quota() {
        // Every App sets the default quota; tests run side by side, so this one does too.
        set_table_quota(crate::catalog::quota::DEFAULT.table_max);
        let mut table = TableMeta::for_tests(1, "t");
        table.billing_mode = BillingMode::PayPerRequest;
        let quota = limit(&table, None, Kind::Read).expect("a limit");
        assert_eq!(
            (quota.rate, quota.kind),
            (40_000.0, LimitKind::AccountQuota)
        );
        table.on_demand_throughput = Some(shared::wire::ops::create_table::OnDemandThroughput {
            max_read_request_units: Some(-1),
            max_write_request_units: Some(5),
        });
        let reads = limit(&table, None, Kind::Read).expect("a limit");
        assert_eq!(reads.kind, LimitKind::AccountQuota);
        let writes = limit(&table, None, Kind::Write).expect("a limit");
        assert_eq!((writes.rate, writes.kind), (5.0, LimitKind::OnDemandMax));
    }

    #[test]
    fn a_transaction_short_of_capacity_is_cancelled_naming_each_refusal() {
        assert!(admit_transaction(vec![Ok(()), Ok(())]).is_ok());
        let on_demand = ApiError::new(ErrorCode::ThrottlingException, ON_DEMAND_MESSAGE);
        let provisioned = ApiError::new(
            ErrorCode::ProvisionedThroughputExceededException,
            TABLE_MESSAGE,
        );
        let cancelled = admit_transaction(vec![Ok(()), Err(on_demand), Err(provisioned)]);
        let Err(cancelled) = cancelled else {
            panic!("admitted")
        };
        assert_eq!(cancelled.code, ErrorCode::TransactionCanceledException);
        let reasons = cancelled.cancellation_reasons.unwrap_or_default();
        let codes: Vec<&str> = reasons.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(
            codes,
            ["None", "ThrottlingError", "ProvisionedThroughputExceeded"]
        );
        assert_eq!(reasons[1].message.as_deref(), Some(ON_DEMAND_MESSAGE));
        assert_eq!(reasons[0].message, None);
    }

    #[test]
    fn an_on_demand_maximum_keeps_one_second_of_units() {
        let start = Instant::now();
        let max = Limit {
            rate: 4.0,
            burst_seconds: ON_DEMAND_BURST_SECONDS,
            kind: LimitKind::OnDemandMax,
        };
        let mut b = Bucket::new(max, start);
        for _ in 0..8 {
            assert!(b.admits(start));
            b.take(0.5, start);
        }
        assert!(!b.admits(start));
        // However long it rests, it saves no more than a second's worth.
        b.refill(start + Duration::from_secs(3_600));
        assert_eq!(b.tokens, 4.0);
    }
}
