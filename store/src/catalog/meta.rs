//! What the catalog knows about one table ([`TableMeta`]) and how it is described on the
//! wire ([`TableMeta::describe`]).
//!
//! `TableMeta` is immutable once published: a change builds a new one and swaps the
//! `Arc` in the catalog, so a request holding the old one sees a consistent table. It is
//! persisted as JSON (serde); every field added later must have a serde default so that
//! records written by older versions still load.

use serde::{Deserialize, Serialize};

use super::warm::Warm;
use shared::model::{KeyAttr, KeySchema};
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::create_table::{
    AttributeDefinition, KeySchemaElement, OnDemandThroughput, Projection, StreamSpecification,
};
use shared::wire::ops::describe_table::{
    BillingModeSummary, GlobalSecondaryIndexDescription, LocalSecondaryIndexDescription,
    ProvisionedThroughputDescription, SseDescription, TableClassSummary, TableDescription,
};

use crate::storage::{Projected, ProjectionView, TableLayout, TableStats};

/// Table status as DynamoDB names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TableStatus {
    Creating,
    Updating,
    Deleting,
    Active,
}

impl TableStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TableStatus::Creating => "CREATING",
            TableStatus::Updating => "UPDATING",
            TableStatus::Deleting => "DELETING",
            TableStatus::Active => "ACTIVE",
        }
    }
}

/// GSI status: a new index is CREATING (backfilling) until index maintenance finishes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IndexStatus {
    Creating,
    Updating,
    Deleting,
    Active,
}

impl IndexStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IndexStatus::Creating => "CREATING",
            IndexStatus::Updating => "UPDATING",
            IndexStatus::Deleting => "DELETING",
            IndexStatus::Active => "ACTIVE",
        }
    }

    /// Being created (backfilled) or deleted: DynamoDB's "online index operation", of which
    /// a table has one at a time, and which keeps the table from being deleted.
    pub fn is_online_operation(self) -> bool {
        matches!(self, IndexStatus::Creating | IndexStatus::Deleting)
    }
}

/// `PROVISIONED` or `PAY_PER_REQUEST`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BillingMode {
    Provisioned,
    PayPerRequest,
}

impl BillingMode {
    pub fn as_str(self) -> &'static str {
        match self {
            BillingMode::Provisioned => "PROVISIONED",
            BillingMode::PayPerRequest => "PAY_PER_REQUEST",
        }
    }

    pub fn parse(text: &str) -> Option<BillingMode> {
        match text {
            "PROVISIONED" => Some(BillingMode::Provisioned),
            "PAY_PER_REQUEST" => Some(BillingMode::PayPerRequest),
            _ => None,
        }
    }
}

/// Decreases of a table's (or GSI's) throughput a UTC day allows at any time.
const FREE_DECREASES: i64 = 4;
/// After those, the least time between two decreases.
const DECREASE_INTERVAL_SECS: f64 = 3600.0;

/// Provisioned capacity of a table or GSI, with DynamoDB's change bookkeeping. On-demand
/// tables carry 0/0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Throughput {
    pub read: i64,
    pub write: i64,
    pub last_increase: Option<f64>,
    pub last_decrease: Option<f64>,
    /// Decreases on `decrease_day` (days since the Unix epoch, UTC).
    pub decreases_today: i64,
    pub decrease_day: i64,
}

impl Throughput {
    pub fn new(read: i64, write: i64) -> Self {
        Throughput {
            read,
            write,
            ..Default::default()
        }
    }

    /// Whether a change to `read`/`write` at `now` (epoch seconds) is within DynamoDB's
    /// quota on decreases: four in a UTC day, then one an hour after the last. Autoscalers
    /// and capacity tools branch on the LimitExceededException it answers past them.
    pub fn check_decrease(&self, read: i64, write: i64, now: f64) -> Result<(), ApiError> {
        let decreases = read < self.read || write < self.write;
        let today = (now / 86_400.0).floor() as i64;
        if !decreases || self.decrease_day != today || self.decreases_today < FREE_DECREASES {
            return Ok(());
        }
        let last = self.last_decrease.unwrap_or(0.0);
        if now - last >= DECREASE_INTERVAL_SECS {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::LimitExceededException,
            format!(
                "Subscriber limit exceeded: Provisioned throughput decreases are limited within a given UTC day. After the first {FREE_DECREASES} decreases, each subsequent decrease in the same UTC day can be performed at most once every {DECREASE_INTERVAL_SECS} seconds. Number of decreases today: {}. Last decrease at {} UTC",
                self.decreases_today,
                iso_timestamp(last)
            ),
        ))
    }

    /// Sets new values at `now` (epoch seconds), recording an increase and/or a decrease
    /// as DynamoDB does (one change may be both: read up, write down).
    pub fn change(&mut self, read: i64, write: i64, now: f64) {
        if read > self.read || write > self.write {
            self.last_increase = Some(now);
        }
        if read < self.read || write < self.write {
            self.last_decrease = Some(now);
            let day = (now / 86_400.0).floor() as i64;
            if day != self.decrease_day {
                self.decrease_day = day;
                self.decreases_today = 0;
            }
            self.decreases_today += 1;
        }
        self.read = read;
        self.write = write;
    }

    /// The wire form; the decrease count resets when the UTC day changes.
    pub fn describe(&self, now: f64) -> ProvisionedThroughputDescription {
        let today = (now / 86_400.0).floor() as i64;
        ProvisionedThroughputDescription {
            last_increase_date_time: self.last_increase,
            last_decrease_date_time: self.last_decrease,
            number_of_decreases_today: if today == self.decrease_day {
                self.decreases_today
            } else {
                0
            },
            read_capacity_units: self.read,
            write_capacity_units: self.write,
        }
    }
}

/// `ALL`, `KEYS_ONLY` or `INCLUDE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProjectionType {
    All,
    KeysOnly,
    Include,
}

impl ProjectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectionType::All => "ALL",
            ProjectionType::KeysOnly => "KEYS_ONLY",
            ProjectionType::Include => "INCLUDE",
        }
    }

    pub fn parse(text: &str) -> Option<ProjectionType> {
        match text {
            "ALL" => Some(ProjectionType::All),
            "KEYS_ONLY" => Some(ProjectionType::KeysOnly),
            "INCLUDE" => Some(ProjectionType::Include),
            _ => None,
        }
    }
}

/// What an index stores besides its own and the table's key attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexProjection {
    pub kind: ProjectionType,
    /// Only for INCLUDE, in request order.
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

impl IndexProjection {
    /// The projection rule's view of this definition (see [`ProjectionView`]).
    pub fn view(&self) -> ProjectionView<'_> {
        match self.kind {
            ProjectionType::All => ProjectionView::All,
            ProjectionType::KeysOnly => ProjectionView::KeysOnly,
            ProjectionType::Include => ProjectionView::Include(&self.non_key_attributes),
        }
    }

    /// How storage keeps this projection.
    pub fn stored(&self) -> Projected {
        match self.view() {
            ProjectionView::All => Projected::All,
            ProjectionView::KeysOnly => Projected::KeysOnly,
            ProjectionView::Include(extra) => Projected::Include(extra.to_vec()),
        }
    }

    pub fn describe(&self) -> Projection {
        Projection {
            projection_type: Some(self.kind.as_str().to_string()),
            non_key_attributes: match self.kind {
                ProjectionType::Include => Some(self.non_key_attributes.clone()),
                _ => None,
            },
        }
    }
}

/// One secondary index (LSI or GSI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    pub name: String,
    /// The storage key-space id under the table (never 0, which is the table itself; never
    /// reused within a table).
    pub index_id: u16,
    pub arn: String,
    pub schema: KeySchema,
    pub projection: IndexProjection,
    /// GSIs only: their own provisioned capacity (0/0 on on-demand tables).
    #[serde(default)]
    pub throughput: Option<Throughput>,
    #[serde(default)]
    pub on_demand_throughput: Option<OnDemandThroughput>,
    /// GSIs only (LSIs are always usable).
    pub status: IndexStatus,
    /// True while a GSI created by UpdateTable is being filled from the table.
    #[serde(default)]
    pub backfilling: bool,
    /// GSIs only: the warm throughput it was raised to, if ever (`warm`).
    #[serde(default)]
    pub warm: Option<Warm>,
}

/// The table's stream as DescribeTable reports it. Kept (disabled) after the stream is
/// turned off, because `LatestStreamArn` still names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamMeta {
    pub enabled: bool,
    /// KEYS_ONLY | NEW_IMAGE | OLD_IMAGE | NEW_AND_OLD_IMAGES.
    pub view_type: String,
    /// ISO-8601 UTC timestamp with milliseconds, e.g. `2015-05-11T21:21:33.291`.
    pub label: String,
    pub arn: String,
    /// When the stream was enabled (epoch seconds).
    #[serde(default)]
    pub created: f64,
    /// The change-log sequence number current when the stream was enabled: the stream
    /// holds this table's change records after it.
    #[serde(default)]
    pub start_seq: u64,
    /// The sequence number current when the stream was disabled: the stream holds records
    /// up to it. `None` while enabled.
    #[serde(default)]
    pub end_seq: Option<u64>,
    /// When the stream was disabled (epoch seconds): it stays readable for the stream
    /// retention after. `None` while enabled, and for streams disabled by a build that did
    /// not record it (taken as long expired).
    #[serde(default)]
    pub disabled_at: Option<f64>,
}

/// Encryption at rest as requested (our store does not encrypt; the description echoes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SseMeta {
    pub sse_type: String,
    pub kms_master_key_arn: Option<String>,
}

/// One table: everything DescribeTable reports plus the storage layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableMeta {
    #[serde(with = "layout_serde")]
    pub layout: TableLayout,
    pub arn: String,
    /// DescribeTable's `TableId` (a UUID v4).
    pub table_uuid: String,
    /// In request order; exactly the attributes used by table and index keys.
    pub attribute_definitions: Vec<KeyAttr>,
    /// Epoch seconds (millisecond precision).
    pub created: f64,
    pub status: TableStatus,
    pub billing_mode: BillingMode,
    #[serde(default)]
    pub last_update_to_pay_per_request: Option<f64>,
    pub throughput: Throughput,
    #[serde(default)]
    pub on_demand_throughput: Option<OnDemandThroughput>,
    /// The warm throughput the table was raised to, if ever (`warm`).
    #[serde(default)]
    pub warm: Option<Warm>,
    #[serde(default)]
    pub local_indexes: Vec<IndexMeta>,
    #[serde(default)]
    pub global_indexes: Vec<IndexMeta>,
    #[serde(default)]
    pub stream: Option<StreamMeta>,
    #[serde(default)]
    pub sse: Option<SseMeta>,
    /// STANDARD | STANDARD_INFREQUENT_ACCESS, with when it was last set; `None` = STANDARD
    /// never set explicitly (DescribeTable then omits TableClassSummary).
    #[serde(default)]
    pub table_class: Option<(String, f64)>,
    #[serde(default)]
    pub deletion_protection: bool,
    /// In the order they were first added; keys unique.
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    /// The next index id to hand out (ids start at 1).
    pub next_index_id: u16,
    #[serde(default)]
    pub vector_indexes: Vec<super::vector::VectorIndexMeta>,
    /// Per-table settings owned by other subsystems (TTL, PITR, ...), by subsystem name.
    /// Stored here so they are persisted with the table and vanish with it (a table
    /// re-created under the same name starts without them); the catalog never reads them.
    #[serde(default)]
    pub settings: Settings,
}

/// Per-table settings by subsystem: [`TableMeta::settings`].
pub type Settings = std::collections::BTreeMap<String, serde_json::Value>;

/// The setting `key` of `settings`, if any; one that no longer reads as `T` is none.
pub fn read_setting<T: serde::de::DeserializeOwned>(settings: &Settings, key: &str) -> Option<T> {
    settings
        .get(key)
        .and_then(|value| serde_json::from_value(value.clone()).ok())
}

/// Keeps `value` as the setting `key` of `settings`.
pub fn write_setting<T: Serialize>(
    settings: &mut Settings,
    key: &str,
    value: &T,
) -> Result<(), serde_json::Error> {
    settings.insert(key.to_string(), serde_json::to_value(value)?);
    Ok(())
}

/// The fixture unit tests build tables on: an ACTIVE on-demand table `name` keyed by `pk`
/// (S), without indexes, streams or a maximum throughput.
#[cfg(test)]
impl TableMeta {
    pub fn for_tests(table_id: u64, name: &str) -> TableMeta {
        let hash = KeyAttr {
            name: "pk".into(),
            ty: shared::model::ScalarType::S,
        };
        TableMeta {
            layout: TableLayout {
                table_id,
                name: name.into(),
                schema: KeySchema::new(hash.clone(), None),
            },
            arn: format!("arn:aws:dynamodb:local:000000000000:table/{name}"),
            table_uuid: format!("uuid-{table_id}"),
            attribute_definitions: vec![hash],
            created: 1.5,
            status: TableStatus::Active,
            billing_mode: BillingMode::PayPerRequest,
            last_update_to_pay_per_request: Some(1.5),
            throughput: Throughput::default(),
            on_demand_throughput: None,
            warm: None,
            local_indexes: Vec::new(),
            global_indexes: Vec::new(),
            stream: None,
            sse: None,
            table_class: None,
            deletion_protection: false,
            tags: Vec::new(),
            next_index_id: 1,
            vector_indexes: Vec::new(),
            settings: Default::default(),
        }
    }

    /// The fixture's GSI `name`: keyed as the table is, keys only, ACTIVE, without
    /// throughput of its own (a test sets what it needs).
    pub fn index_for_tests(&self, name: &str) -> IndexMeta {
        IndexMeta {
            name: name.into(),
            index_id: 1,
            arn: format!("{}/index/{name}", self.arn),
            schema: self.schema().clone(),
            projection: IndexProjection {
                kind: ProjectionType::KeysOnly,
                non_key_attributes: Vec::new(),
            },
            throughput: None,
            on_demand_throughput: None,
            status: IndexStatus::Active,
            backfilling: false,
            warm: None,
        }
    }
}

impl TableMeta {
    pub fn name(&self) -> &str {
        &self.layout.name
    }

    pub fn table_id(&self) -> u64 {
        self.layout.table_id
    }

    pub fn schema(&self) -> &KeySchema {
        &self.layout.schema
    }

    /// Takes the next storage id for an index; `None` once every id has been handed out.
    /// Ids are never reused (a deleted index's entries may still be being dropped under
    /// its id): past the last, a new index would share its entries with another.
    pub fn claim_index_id(&mut self) -> Option<u16> {
        let next = self.next_index_id.checked_add(1)?;
        Some(std::mem::replace(&mut self.next_index_id, next))
    }

    /// The table's indexes that keep entries of their own (local, global, vector), by name
    /// and storage id: what their ItemCount and IndexSizeBytes are kept under.
    pub fn indexes_with_entries(&self) -> impl Iterator<Item = (&str, u16)> {
        let secondary = self
            .local_indexes
            .iter()
            .chain(&self.global_indexes)
            .map(|i| (i.name.as_str(), i.index_id));
        let vector = self
            .vector_indexes
            .iter()
            // Id 0: an index with no entries yet (the table's own items are under it).
            .filter(|v| v.index_id != 0)
            .map(|v| (v.name.as_str(), v.index_id));
        secondary.chain(vector)
    }

    /// An LSI or GSI by name.
    pub fn index(&self, name: &str) -> Option<&IndexMeta> {
        self.local_indexes
            .iter()
            .chain(self.global_indexes.iter())
            .find(|i| i.name == name)
    }

    pub fn local_index(&self, name: &str) -> Option<&IndexMeta> {
        self.local_indexes.iter().find(|i| i.name == name)
    }

    pub fn global_index(&self, name: &str) -> Option<&IndexMeta> {
        self.global_indexes.iter().find(|i| i.name == name)
    }

    /// Whether `name` is an attribute of any key (table, LSI or GSI) or of a vector index's
    /// search schema: the attributes AttributeDefinitions declares.
    pub fn is_key_attribute(&self, name: &str) -> bool {
        let in_schema = |s: &KeySchema| s.is_key_attr(name);
        in_schema(self.schema())
            || self
                .local_indexes
                .iter()
                .chain(self.global_indexes.iter())
                .any(|i| in_schema(&i.schema))
            || self.vector_indexes.iter().any(|v| v.in_search_schema(name))
    }

    /// What the table can take at once (see `warm`).
    pub fn warm_throughput(&self) -> Warm {
        let provisioned =
            (self.billing_mode == BillingMode::Provisioned).then_some(&self.throughput);
        Warm::effective(self.warm, provisioned)
    }

    /// Refuses a client's change to the table while it is being created (a restore or an
    /// import filling it, or a replica waiting for its copy), as DynamoDB refuses changes
    /// to a CREATING table: a stream, a backup or a delete begun then would see or leave
    /// part of the table (a stream would show the rest of the fill as new writes).
    pub fn check_created(&self) -> Result<(), ApiError> {
        if self.status != TableStatus::Creating {
            return Ok(());
        }
        Err(ApiError::new(
            ErrorCode::ResourceInUseException,
            format!(
                "Attempt to change a resource which is still in use: Table is being created: {}",
                self.name()
            ),
        ))
    }

    /// The stream, if it is currently enabled.
    pub fn enabled_stream(&self) -> Option<&StreamMeta> {
        self.stream.as_ref().filter(|s| s.enabled)
    }

    /// The wire description with `status` as the reported TableStatus and live stats.
    pub fn describe(&self, status: TableStatus, stats: TableStats, now: f64) -> TableDescription {
        let replicas = crate::replication::describe(self);
        let local = (!self.local_indexes.is_empty()).then(|| {
            self.local_indexes
                .iter()
                .map(|i| LocalSecondaryIndexDescription {
                    index_name: i.name.clone(),
                    key_schema: key_schema_elements(&i.schema),
                    projection: i.projection.describe(),
                    index_size_bytes: 0,
                    item_count: 0,
                    index_arn: i.arn.clone(),
                })
                .collect()
        });
        let global = (!self.global_indexes.is_empty()).then(|| {
            self.global_indexes
                .iter()
                .map(|i| GlobalSecondaryIndexDescription {
                    index_name: i.name.clone(),
                    key_schema: key_schema_elements(&i.schema),
                    projection: i.projection.describe(),
                    // A new table's indexes are created with it (CreateTable's answer).
                    index_status: if status == TableStatus::Creating {
                        IndexStatus::Creating.as_str().to_string()
                    } else {
                        i.status.as_str().to_string()
                    },
                    backfilling: (i.status == IndexStatus::Creating).then_some(i.backfilling),
                    provisioned_throughput: i.throughput.clone().unwrap_or_default().describe(now),
                    index_size_bytes: 0,
                    item_count: 0,
                    index_arn: i.arn.clone(),
                    on_demand_throughput: i.on_demand_throughput.clone(),
                    warm_throughput: Some(
                        Warm::effective(i.warm, i.throughput.as_ref()).describe(),
                    ),
                })
                .collect()
        });
        TableDescription {
            attribute_definitions: self
                .attribute_definitions
                .iter()
                .map(attribute_definition)
                .collect(),
            table_name: self.name().to_string(),
            key_schema: key_schema_elements(self.schema()),
            table_status: status.as_str().to_string(),
            creation_date_time: self.created,
            provisioned_throughput: self.throughput.describe(now),
            table_size_bytes: i64::try_from(stats.size_bytes).unwrap_or(i64::MAX),
            item_count: i64::try_from(stats.item_count).unwrap_or(i64::MAX),
            table_arn: self.arn.clone(),
            table_id: self.table_uuid.clone(),
            billing_mode_summary: Some(BillingModeSummary {
                billing_mode: self.billing_mode.as_str().to_string(),
                last_update_to_pay_per_request_date_time: self.last_update_to_pay_per_request,
            }),
            local_secondary_indexes: local,
            global_secondary_indexes: global,
            stream_specification: self.enabled_stream().map(|s| StreamSpecification {
                stream_enabled: Some(true),
                stream_view_type: Some(s.view_type.clone()),
            }),
            latest_stream_label: self.stream.as_ref().map(|s| s.label.clone()),
            latest_stream_arn: self.stream.as_ref().map(|s| s.arn.clone()),
            sse_description: self.sse.as_ref().map(|s| SseDescription {
                status: "ENABLED".to_string(),
                sse_type: Some(s.sse_type.clone()),
                kms_master_key_arn: s.kms_master_key_arn.clone(),
            }),
            table_class_summary: self
                .table_class
                .as_ref()
                .map(|(class, at)| TableClassSummary {
                    table_class: class.clone(),
                    last_update_date_time: Some(*at),
                }),
            deletion_protection_enabled: self.deletion_protection,
            disassociation_protection_enabled: crate::replication::disassociation_protection(self),
            on_demand_throughput: self.on_demand_throughput.clone(),
            global_table_version: replicas
                .is_some()
                .then(|| crate::replication::GLOBAL_TABLE_VERSION.to_string()),
            replicas,
            warm_throughput: Some(self.warm_throughput().describe()),
            restore_summary: self.settings.get(crate::backup::RESTORE_KEY).cloned(),
            vector_indexes: (!self.vector_indexes.is_empty())
                .then(|| self.vector_indexes.iter().map(|v| v.describe()).collect()),
        }
    }
}

/// `{AttributeName, AttributeType}` of a key attribute.
pub fn attribute_definition(attribute: &KeyAttr) -> AttributeDefinition {
    AttributeDefinition {
        attribute_name: Some(attribute.name.clone()),
        attribute_type: Some(attribute.ty.as_str().to_string()),
    }
}

/// `[{HASH}, {RANGE}]` of a schema.
pub fn key_schema_elements(schema: &KeySchema) -> Vec<KeySchemaElement> {
    let hash = schema.hash_attributes().map(|a| (a, "HASH"));
    hash.chain(schema.range_attributes().map(|a| (a, "RANGE")))
        .map(|(attr, kind)| KeySchemaElement::new(&attr.name, kind))
        .collect()
}

/// `YYYY-MM-DDTHH:MM:SS.mmm` (UTC) for epoch seconds, the stream-label form.
pub fn iso_timestamp(seconds: f64) -> String {
    let total_ms = (seconds * 1000.0).round().max(0.0) as i64;
    let ms = total_ms % 1000;
    let secs = total_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}")
}

/// Serde for [`TableLayout`] (a storage type without serde derives).
mod layout_serde {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use shared::model::KeySchema;

    use crate::storage::TableLayout;

    #[derive(Serialize, Deserialize)]
    struct LayoutRecord {
        table_id: u64,
        name: String,
        schema: KeySchema,
    }

    pub fn serialize<S: Serializer>(
        layout: &TableLayout,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        LayoutRecord {
            table_id: layout.table_id,
            name: layout.name.clone(),
            schema: layout.schema.clone(),
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<TableLayout, D::Error> {
        let r = LayoutRecord::deserialize(deserializer)?;
        Ok(TableLayout {
            table_id: r.table_id,
            name: r.name,
            schema: r.schema,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_timestamps() {
        assert_eq!(iso_timestamp(0.0), "1970-01-01T00:00:00.000");
        assert_eq!(iso_timestamp(1431379293.291), "2015-05-11T21:21:33.291");
        assert_eq!(iso_timestamp(951782400.5), "2000-02-29T00:00:00.500");
    }

    #[test]
    fn throughput_bookkeeping() {
        let mut t = Throughput::new(5, 5);
        t.change(10, 5, 100.0);
        assert_eq!(t.last_increase, Some(100.0));
        assert_eq!(t.last_decrease, None);
        t.change(1, 1, 200.0);
        t.change(1, 0, 300.0);
        let d = t.describe(400.0);
        assert_eq!(d.number_of_decreases_today, 2);
        assert_eq!(d.last_decrease_date_time, Some(300.0));
        // A new UTC day starts the count again.
        assert_eq!(t.describe(86_400.0 * 2.0).number_of_decreases_today, 0);
    }

    #[test]
    fn decreases_are_limited_to_four_a_day_then_one_an_hour() {
        let day = 86_400.0 * 100.0;
        let mut t = Throughput::new(100, 100);
        for i in 0..4 {
            let now = day + f64::from(i);
            assert!(t.check_decrease(99 - i64::from(i), 100, now).is_ok());
            t.change(99 - i64::from(i), 100, now);
        }
        // Increases and unchanged values are never limited.
        assert!(t.check_decrease(200, 200, day + 10.0).is_ok());
        let refused = t.check_decrease(90, 100, day + 10.0).unwrap_err();
        assert_eq!(refused.code, ErrorCode::LimitExceededException);
        assert!(refused
            .message
            .is_some_and(|m| m.contains("Number of decreases today: 4")));
        // An hour after the last decrease, one more; then an hour again.
        let later = day + 3.0 + DECREASE_INTERVAL_SECS;
        assert!(t.check_decrease(90, 100, later).is_ok());
        t.change(90, 100, later);
        assert!(t.check_decrease(80, 100, later + 60.0).is_err());
        // The next UTC day starts afresh.
        assert!(t.check_decrease(80, 100, day + 86_400.0).is_ok());
    }
}
