//! What Query and Scan share: request-model constraints, Select rules, projection, the
//! start-key checks, and the assembly of one result page.
//!
//! # Page rules (DYNAMODB.md §5 "Query / Scan")
//! - `Limit` counts items *evaluated* (read from storage), not items returned.
//! - The 1 MB cap is measured on the items read, before the filter. The item that reaches
//!   or crosses 1 MB is still part of the page; reading stops after it.
//! - The filter runs on the items read, after Limit and the cap, so a page may hold no
//!   items and still carry `LastEvaluatedKey`.
//! - `LastEvaluatedKey` is the key of the last item read whenever the page stopped on Limit
//!   or 1 MB, even if nothing remains (the next page is then empty). Storage is never read
//!   past the item that ended the page.
//! - Capacity: the sizes of all items read are summed and rounded up to 4 KB once; half for
//!   eventually consistent reads.
//!
//! # Not here
//! Key-condition checks belong to `query`, segments to `scan`. Index reads share the page
//! rules; what differs ([`IndexTarget`], the start key and LastEvaluatedKey of index keys
//! plus table keys, the LSI fetch of table items, the capacity breakdown) is here too.

use std::collections::HashMap;

use shared::expr::{self, Condition, ExprKind, Projection, Substitutions};
use shared::model::key::check_key_size;
use shared::model::{Item, KeySchema, PrimaryKey};
use shared::wire::error::ApiError;
use shared::wire::ops::common::{ConsumedCapacity, ReturnConsumedCapacity};
use shared::wire::ops::query::Condition as LegacyCondition;
use shared::wire::ops::validate::Violations;

use super::read_item::ReadItem;
use crate::catalog::{ProjectionType, TableMeta};
use crate::storage::{IndexLayout, ItemIter, StorageError, StoredItem};

/// DynamoDB's page size cap: 1 MB of items read.
pub const PAGE_BYTES: usize = 1024 * 1024;

/// Enumerations of the request model, in the order DynamoDB lists them in its messages.
pub const SELECT_VALUES: &[&str] = &[
    "SPECIFIC_ATTRIBUTES",
    "COUNT",
    "ALL_ATTRIBUTES",
    "ALL_PROJECTED_ATTRIBUTES",
];
pub const CAPACITY_VALUES: &[&str] = &["INDEXES", "TOTAL", "NONE"];
pub const CONDITIONAL_OPERATOR_VALUES: &[&str] = &["OR", "AND"];
pub const COMPARISON_OPERATOR_VALUES: &[&str] = &[
    "IN",
    "NULL",
    "BETWEEN",
    "LT",
    "NOT_CONTAINS",
    "EQ",
    "GT",
    "NOT_NULL",
    "NE",
    "LE",
    "BEGINS_WITH",
    "GE",
    "CONTAINS",
];

/// Legacy conditions (`KeyConditions`, `QueryFilter`, `ScanFilter`): each entry's
/// ComparisonOperator is required and must be a known operator.
pub fn check_legacy_conditions(
    v: &mut Violations,
    path: &str,
    conditions: Option<&std::collections::HashMap<String, LegacyCondition>>,
) {
    let Some(conditions) = conditions else { return };
    let mut entries: Vec<_> = conditions.iter().collect();
    entries.sort_by_key(|(name, _)| *name);
    for (name, condition) in entries {
        let member = format!("{path}.{name}.member.comparisonOperator");
        let operator = condition.comparison_operator.as_deref();
        v.not_null(&member, operator.is_some());
        v.enumeration(&member, operator, COMPARISON_OPERATOR_VALUES);
    }
}

/// Which operation is asking; a few messages differ between Query and Scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadOp {
    Query,
    Scan,
}

/// The resolved `Select`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    AllAttributes,
    AllProjectedAttributes,
    SpecificAttributes,
    Count,
}

/// Applies DynamoDB's Select rules (enumeration values were checked as constraints).
/// `projection` names the projection parameter present (`ProjectionExpression` or
/// `AttributesToGet`), if any. Query's two projection messages carry the
/// `1 validation error detected: ` prefix; Scan's do not (DYNAMODB.md §5).
pub fn resolve_select(
    op: ReadOp,
    select: Option<&str>,
    projection: Option<&str>,
    has_index: bool,
) -> Result<Select, ApiError> {
    let prefixed = |text: String| match op {
        ReadOp::Query => ApiError::validation(format!("1 validation error detected: {text}")),
        ReadOp::Scan => ApiError::validation(text),
    };
    match select {
        None => Ok(match (projection, has_index) {
            (Some(_), _) => Select::SpecificAttributes,
            (None, true) => Select::AllProjectedAttributes,
            (None, false) => Select::AllAttributes,
        }),
        Some("SPECIFIC_ATTRIBUTES") => match projection {
            Some(_) => Ok(Select::SpecificAttributes),
            None => Err(prefixed(
                "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES"
                    .to_string(),
            )),
        },
        Some("ALL_ATTRIBUTES") => match projection {
            Some(p) => Err(prefixed(format!("Cannot specify the {p} when choosing to get ALL_ATTRIBUTES"))),
            None => Ok(Select::AllAttributes),
        },
        Some("COUNT") => match projection {
            Some(p) => Err(prefixed(format!("Cannot specify the {p} when choosing to get only the Count"))),
            None => Ok(Select::Count),
        },
        Some("ALL_PROJECTED_ATTRIBUTES") => {
            if !has_index {
                return Err(ApiError::validation(
                    "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
                ));
            }
            match projection {
                Some(p) => Err(prefixed(format!("Cannot specify the {p} when choosing to get ALL_PROJECTED_ATTRIBUTES"))),
                None => Ok(Select::AllProjectedAttributes),
            }
        }
        // Unknown values were rejected by the constraint check; treat defensively as default.
        Some(_) => Ok(Select::AllAttributes),
    }
}

/// `AttributesToGet` must not repeat a name.
pub fn check_attributes_to_get(names: Option<&[String]>) -> Result<(), ApiError> {
    let Some(names) = names else { return Ok(()) };
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name.as_str()) {
            return Err(ApiError::invalid_parameter(format!(
                "Duplicate value in attribute name: {name}"
            )));
        }
    }
    Ok(())
}

/// Translates `QueryFilter`/`ScanFilter` with `ConditionalOperator` (validating it with
/// DynamoDB's messages); `param` names the parameter.
pub fn legacy_filter(
    param: &'static str,
    conditions: Option<&HashMap<String, LegacyCondition>>,
    conditional_operator: Option<&str>,
) -> Result<Option<Condition>, ApiError> {
    conditions
        .map(|c| expr::legacy::filter_condition(param, c, conditional_operator))
        .transpose()
}

/// The filter and projection both operations share, parsed or translated.
pub struct ReadExpressions {
    pub filter: Option<Condition>,
    /// Whether the filter came from QueryFilter/ScanFilter (messages name it).
    pub legacy_filter: bool,
    pub projection: Option<Projection>,
}

/// Parses FilterExpression and ProjectionExpression (in DynamoDB's order: filter, then
/// projection) with the request's substitutions, or takes their legacy forms (a
/// `QueryFilter`/`ScanFilter` already translated by [`legacy_filter`], `AttributesToGet`).
/// The caller parses its key condition first and checks unused substitutions after.
pub fn parse_read_expressions(
    filter: Option<&str>,
    projection: Option<&str>,
    legacy_filter: Option<Condition>,
    attributes_to_get: Option<&[String]>,
    subs: &Substitutions,
) -> Result<ReadExpressions, ApiError> {
    let (filter, legacy_filter) = match (filter, legacy_filter) {
        (Some(text), _) => (
            Some(expr::parse_condition(ExprKind::Filter, text, subs)?),
            false,
        ),
        (None, Some(f)) => (Some(f), true),
        (None, None) => (None, false),
    };
    let projection = match (projection, attributes_to_get) {
        (Some(text), _) => Some(expr::parse_projection(text, subs)?),
        (None, Some(names)) => Some(expr::legacy::attributes_to_get(names)?),
        (None, None) => None,
    };
    Ok(ReadExpressions {
        filter,
        legacy_filter,
        projection,
    })
}

/// The projection parameter named in Select messages, if one is present.
pub fn projection_param(
    projection: Option<&str>,
    attributes_to_get: Option<&[String]>,
) -> Option<&'static str> {
    match (projection, attributes_to_get) {
        (Some(_), _) => Some("ProjectionExpression"),
        (None, Some(_)) => Some("AttributesToGet"),
        (None, None) => None,
    }
}

/// Parses `Limit` (already checked to be ≥ 1) into an item count.
fn limit_of(limit: Option<i64>) -> Option<usize> {
    limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX).max(1))
}

/// An ExclusiveStartKey on a table: exactly the table's key attributes with the right
/// types. `wrong_shape_message` is the text for a start key with the wrong attributes, and
/// `prefix_detail` whether other key errors (wrong type, empty value, size) are prefixed
/// with `The provided starting key is invalid: `; both differ between Query (unprefixed, as
/// dynalite's captures show) and Scan.
pub fn table_start_key(
    schema: &KeySchema,
    start: &Item,
    wrong_shape_message: &str,
    prefix_detail: bool,
) -> Result<PrimaryKey, ApiError> {
    let expected = 1 + usize::from(schema.range.is_some());
    let has_range = schema
        .range
        .as_ref()
        .is_none_or(|r| start.contains_key(&r.name));
    if start.len() != expected || !start.contains_key(&schema.hash.name) || !has_range {
        return Err(ApiError::validation(wrong_shape_message));
    }
    schema.key_from_param(start).map_err(|e| {
        if prefix_detail {
            let detail = e.message.unwrap_or_default();
            ApiError::validation(format!("The provided starting key is invalid: {detail}"))
        } else {
            e
        }
    })
}

/// One page of results, before it is turned into an operation's output.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page<T = Item> {
    /// `None` for `Select: COUNT`.
    pub items: Option<Vec<T>>,
    /// Items that passed the filter.
    pub count: u64,
    /// Items read (evaluated).
    pub scanned_count: u64,
    pub last_evaluated_key: Option<Item>,
    /// Sum of the sizes of every item read, for capacity.
    pub bytes_read: usize,
    /// For a read with a [`Fetch`]: the sizes of the index entries read, and the 4 KB
    /// blocks of the items fetched from the table, each rounded up on its own.
    pub entry_bytes: usize,
    pub fetched_blocks: u64,
}

/// Where a page ends: after `limit` items evaluated, or once `bytes` have been read (the
/// item that crosses it included).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageBounds {
    pub limit: Option<usize>,
    pub bytes: usize,
}

impl PageBounds {
    /// A request's page: its `Limit`, and DynamoDB's 1 MB.
    pub fn of_limit(limit: Option<i64>) -> Self {
        PageBounds {
            limit: limit_of(limit),
            bytes: PAGE_BYTES,
        }
    }
}

/// How a page is cut and shaped.
pub struct PagePlan<'a> {
    pub bounds: PageBounds,
    /// Names of the attributes that make up LastEvaluatedKey (table keys, plus index keys
    /// for an index read).
    pub key_names: &'a [String],
    pub filter: Option<&'a Condition>,
    pub projection: Option<&'a Projection>,
    /// Set when an LSI read fetches its items from the table (table items stand in for
    /// the index's entries).
    pub fetch: Option<Fetch<'a>>,
    pub count_only: bool,
}

/// An LSI read whose items come from the table: what it costs is the index's entries
/// read and each fetched item on its own (rounded up to 4 KB each, charged to the table).
#[derive(Clone, Copy)]
pub struct Fetch<'a> {
    pub index: &'a IndexLayout,
    pub table_schema: &'a KeySchema,
    /// The answer is ALL_PROJECTED_ATTRIBUTES (the items were fetched for the filter):
    /// each item is cut back to its entry.
    pub answer_entries: bool,
}

/// Reads one page from `items` with the real item size and filter evaluation. Without a
/// filter or projection, items are answered as stored, never decoded (but the one that
/// gives LastEvaluatedKey).
pub fn read_page(items: ItemIter<'_>, plan: &PagePlan<'_>) -> Result<Page<ReadItem>, StorageError> {
    if plan.filter.is_none() && plan.projection.is_none() && plan.fetch.is_none() {
        return assemble(
            items,
            plan.bounds,
            plan.key_names,
            StoredItem::size,
            |stored, names| Ok(key_attributes(&stored.decode()?, names)),
            |_| true,
            ReadItem::Stored,
            plan.count_only,
        );
    }
    let (mut entry_bytes, mut fetched_blocks) = (0, 0);
    let size_of = |item: &Item| {
        let size = shared::model::size::item_size(item);
        if let Some(fetch) = plan.fetch {
            entry_bytes += fetch.index.entry_size(fetch.table_schema, item);
            fetched_blocks += size.div_ceil(crate::capacity::READ_UNIT_BYTES) as u64;
        }
        size
    };
    let mut page = assemble(
        items.map(|stored| stored?.decode()),
        plan.bounds,
        plan.key_names,
        size_of,
        |item, names| Ok(key_attributes(item, names)),
        |item| plan.filter.is_none_or(|f| f.eval(item)),
        |item| {
            ReadItem::Shaped(match (plan.projection, plan.fetch) {
                (Some(p), _) => p.apply(&item),
                (None, Some(f)) if f.answer_entries => f.index.project(f.table_schema, &item),
                (None, _) => item,
            })
        },
        plan.count_only,
    )?;
    page.entry_bytes = entry_bytes;
    page.fetched_blocks = fetched_blocks;
    Ok(page)
}

/// The attributes of `item` named in `names` (a LastEvaluatedKey).
fn key_attributes(item: &Item, names: &[String]) -> Item {
    names
        .iter()
        .filter_map(|n| item.get(n).map(|v| (n.clone(), v.clone())))
        .collect()
}

/// The page rules, independent of how items are held, sized, keyed, filtered and shaped
/// (so they can be tested without storage and the model and expression crates).
#[allow(clippy::too_many_arguments)]
pub fn assemble<T, O, I>(
    items: I,
    bounds: PageBounds,
    key_names: &[String],
    mut size_of: impl FnMut(&T) -> usize,
    mut key_of: impl FnMut(&T, &[String]) -> Result<Item, StorageError>,
    mut keep: impl FnMut(&T) -> bool,
    mut shape: impl FnMut(T) -> O,
    count_only: bool,
) -> Result<Page<O>, StorageError>
where
    I: Iterator<Item = Result<T, StorageError>>,
{
    let mut page = Page {
        items: if count_only { None } else { Some(Vec::new()) },
        count: 0,
        scanned_count: 0,
        last_evaluated_key: None,
        bytes_read: 0,
        entry_bytes: 0,
        fetched_blocks: 0,
    };
    let PageBounds { limit, bytes } = bounds;
    if limit == Some(0) {
        return Ok(page);
    }
    let mut scanned: usize = 0;
    for item in items {
        let item = item?;
        scanned += 1;
        page.bytes_read = page.bytes_read.saturating_add(size_of(&item));
        let full = limit.is_some_and(|l| scanned >= l) || page.bytes_read >= bytes;
        if full {
            page.last_evaluated_key = Some(key_of(&item, key_names)?);
        }
        if keep(&item) {
            page.count += 1;
            if let Some(out) = page.items.as_mut() {
                out.push(shape(item));
            }
        }
        if full {
            break;
        }
    }
    page.scanned_count = scanned as u64;
    Ok(page)
}

/// The end of every Query and Scan: reads one page from `items` (a table or index
/// iterator), charges its read units to the table's throughput (or the GSI's own), and
/// builds the ConsumedCapacity to report, with the index's share when one was read.
pub fn finish_page(
    op: ReadOp,
    table: &TableMeta,
    index: Option<&IndexTarget>,
    items: Result<ItemIter<'_>, StorageError>,
    plan: &PagePlan<'_>,
    consistent: bool,
    mode: ReturnConsumedCapacity,
) -> Result<FinishedPage, ApiError> {
    let name = &table.layout.name;
    let page = items
        .and_then(|items| read_page(items, plan))
        .map_err(|e| storage_failure(op, name, e))?;
    // An LSI read fetching from the table: its entries' units, and each fetched item's.
    let (read, fetched) = match plan.fetch {
        Some(_) => (
            crate::capacity::read_units(page.entry_bytes, consistent),
            crate::capacity::units_of_blocks(page.fetched_blocks, consistent),
        ),
        None => (
            crate::capacity::read_units(page.bytes_read, consistent),
            0.0,
        ),
    };
    let units = read + fetched;
    crate::throttle::charge_read(
        table,
        index.filter(|i| i.global).map(|i| i.layout.name.as_str()),
        units,
    );
    let consumed = match index {
        None => ConsumedCapacity::read(name, read, mode),
        Some(i) => consumed_on_index(name, i, (read, fetched), mode),
    };
    Ok(FinishedPage {
        page,
        consumed,
        units,
    })
}

/// A page [`finish_page`] read, and what it cost.
pub struct FinishedPage {
    pub page: Page<ReadItem>,
    /// The ConsumedCapacity to report, if the request asked for it.
    pub consumed: Option<ConsumedCapacity>,
    /// The read units charged to the table's (or GSI's) throughput.
    pub units: f64,
}

/// Storage failures are never shown to clients: log the detail once, answer
/// InternalServerError.
pub fn storage_failure(op: ReadOp, table: &str, error: StorageError) -> ApiError {
    tracing::error!(?op, table, %error, "storage read failed");
    ApiError::internal()
}

/// The index `name` of `table` for a read (none without a name), checked in DynamoDB's
/// order: unknown index
/// (`The table does not have the specified index: I`), a strongly consistent read of a GSI,
/// `Select: ALL_ATTRIBUTES` on a GSI that does not project every attribute, a
/// `projection` naming attributes a GSI does not project, and a GSI still being
/// backfilled. An LSI has none of these limits: it fetches from the table what it lacks.
pub fn index_to_read(
    table: &TableMeta,
    name: Option<&str>,
    consistent: bool,
    select: Option<&str>,
    projection: Option<&Projection>,
) -> Result<Option<IndexTarget>, ApiError> {
    let Some(name) = name else {
        return Ok(None);
    };
    if let Some(index) = table.local_index(name) {
        return Ok(Some(IndexTarget::new(index, false)));
    }
    let index = match table.global_index(name) {
        // A GSI being deleted is already gone for reads.
        Some(index) if index.status != crate::catalog::IndexStatus::Deleting => index,
        _ => {
            return Err(ApiError::validation(format!(
                "The table does not have the specified index: {name}"
            )))
        }
    };
    if consistent {
        return Err(ApiError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    if select == Some("ALL_ATTRIBUTES") && index.projection.kind != ProjectionType::All {
        return Err(ApiError::invalid_parameter(format!(
            "Select type ALL_ATTRIBUTES is not supported for global secondary index {name} because its projection type is not ALL"
        )));
    }
    let target = IndexTarget::new(index, true);
    let unprojected: Vec<String> = projection
        .map(Projection::top_level_attributes)
        .unwrap_or_default()
        .into_iter()
        .filter(|attr| !target.layout.projects(&table.layout.schema, attr))
        .collect();
    if !unprojected.is_empty() {
        return Err(ApiError::invalid_parameter(format!(
            "Global secondary index {name} does not project [{}]",
            unprojected.join(", ")
        )));
    }
    // A GSI added by UpdateTable holds only part of the table until its backfill ends.
    if index.backfilling && index.status == crate::catalog::IndexStatus::Creating {
        return Err(ApiError::validation(format!(
            "Cannot read from backfilling global secondary index: {name}"
        )));
    }
    Ok(Some(target))
}

/// A secondary index being read: its catalog definition, its storage layout, and whether
/// it is global.
pub struct IndexTarget {
    pub layout: crate::storage::IndexLayout,
    pub global: bool,
}

impl IndexTarget {
    fn new(index: &crate::catalog::IndexMeta, global: bool) -> IndexTarget {
        IndexTarget {
            layout: crate::catalog::index_layout(index, global),
            global,
        }
    }

    /// The index `name` of `table` (unchecked: [`index_to_read`] is the one for reads).
    pub fn of(table: &TableMeta, name: &str) -> Option<IndexTarget> {
        if let Some(index) = table.local_index(name) {
            return Some(IndexTarget::new(index, false));
        }
        table
            .global_index(name)
            .map(|index| IndexTarget::new(index, true))
    }

    /// Whether a read with `select`, `projection` and `filter` needs the whole table item,
    /// which only an LSI can fetch (a GSI refused that in [`index_to_read`], and its
    /// filter sees the entry): ALL_ATTRIBUTES, a projection that names an attribute the
    /// index does not store, or a filter that does. DynamoDB fetches them for an LSI, so a
    /// filter's answer never depends on Select; a projection of stored attributes "reads
    /// only the index" (Query's `Select` documentation), and is charged so.
    pub fn fetches_from_table(
        &self,
        table_schema: &KeySchema,
        select: Select,
        projection: Option<&Projection>,
        filter: Option<&Condition>,
    ) -> bool {
        let lacks = |names: Vec<String>| {
            names
                .iter()
                .any(|name| !self.layout.projects(table_schema, name))
        };
        let selected_need_table = match select {
            Select::AllAttributes => true,
            Select::SpecificAttributes => {
                projection.is_none_or(|p| lacks(p.top_level_attributes()))
            }
            Select::AllProjectedAttributes | Select::Count => false,
        };
        !self.global
            && !self.layout.projects_all()
            && (selected_need_table || filter.is_some_and(|f| lacks(f.top_level_attributes())))
    }
}

/// LastEvaluatedKey attributes of an index read: the index keys, then the table's.
pub fn index_key_names(table_schema: &KeySchema, index_schema: &KeySchema) -> Vec<String> {
    let mut names = Vec::new();
    for attr in index_schema.attributes().chain(table_schema.attributes()) {
        if !names.contains(&attr.name) {
            names.push(attr.name.clone());
        }
    }
    names
}

/// LastEvaluatedKey attributes of a read of the table, or of its index `index_schema`.
pub fn page_key_names(table_schema: &KeySchema, index_schema: Option<&KeySchema>) -> Vec<String> {
    match index_schema {
        None => table_schema.attributes().map(|a| a.name.clone()).collect(),
        Some(index_schema) => index_key_names(table_schema, index_schema),
    }
}

/// An ExclusiveStartKey on an index: exactly the index's and the table's key attributes
/// (as a LastEvaluatedKey of the index carries them), each of its declared type.
pub fn index_start_key(
    table_schema: &KeySchema,
    index_schema: &KeySchema,
    start: &Item,
    wrong_shape_message: &str,
) -> Result<Item, ApiError> {
    let names = index_key_names(table_schema, index_schema);
    let typed = |name: &str| {
        [index_schema, table_schema]
            .iter()
            .flat_map(|s| s.attributes())
            .find(|a| a.name == name)
            .map(|a| a.ty)
    };
    let fits = start.len() == names.len()
        && names.iter().all(|n| {
            start
                .get(n)
                .is_some_and(|v| typed(n).is_some_and(|ty| ty.matches(v)))
        });
    if !fits {
        return Err(ApiError::validation(wrong_shape_message));
    }
    for (name, value) in start {
        let is_hash = [index_schema, table_schema]
            .iter()
            .any(|s| s.hash_attributes().any(|a| a.name == *name));
        check_key_size(value, is_hash)?;
    }
    Ok(start.clone())
}

/// ConsumedCapacity of a page read from an index, `units` read from the index and
/// fetched from the table (an LSI's fetches): the total, and with INDEXES each under its
/// name (the index under LocalSecondaryIndexes or GlobalSecondaryIndexes, the fetches as
/// the table's, 0 when there are none, as DynamoDB shows the table's arm of an index read).
pub fn consumed_on_index(
    table: &str,
    index: &IndexTarget,
    (read, fetched): (f64, f64),
    mode: ReturnConsumedCapacity,
) -> Option<ConsumedCapacity> {
    let mut out = ConsumedCapacity::read(table, read + fetched, ReturnConsumedCapacity::Total)?;
    if mode == ReturnConsumedCapacity::None {
        return None;
    }
    if mode == ReturnConsumedCapacity::Indexes {
        let share = |units| shared::wire::ops::common::Capacity {
            capacity_units: units,
            ..Default::default()
        };
        let by_name = std::collections::BTreeMap::from([(index.layout.name.clone(), share(read))]);
        if index.global {
            out.global_secondary_indexes = Some(by_name);
        } else {
            out.local_secondary_indexes = Some(by_name);
        }
        out.table = Some(share(fetched));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::{AttributeValue, Number};

    fn num(n: i64) -> AttributeValue {
        AttributeValue::N(Number::parse(&n.to_string()).unwrap())
    }

    fn item(pk: &str, sk: i64, size: i64) -> Item {
        let mut it = Item::new();
        it.insert("pk".into(), AttributeValue::S(pk.into()));
        it.insert("sk".into(), num(sk));
        it.insert("size".into(), num(size));
        it
    }

    fn size_attr(it: &Item) -> usize {
        match it.get("size") {
            Some(AttributeValue::N(n)) => n.as_str().parse().unwrap(),
            _ => 0,
        }
    }

    fn keys() -> Vec<String> {
        vec!["pk".to_string(), "sk".to_string()]
    }

    fn run(
        n: i64,
        size: i64,
        limit: Option<usize>,
        keep: impl FnMut(&Item) -> bool,
        count_only: bool,
    ) -> Page {
        let items = (0..n).map(|i| Ok(item("p", i, size)));
        let bounds = PageBounds {
            limit,
            bytes: PAGE_BYTES,
        };
        assemble(
            items,
            bounds,
            &keys(),
            size_attr,
            key,
            keep,
            |i| i,
            count_only,
        )
        .unwrap()
    }

    fn key(item: &Item, names: &[String]) -> Result<Item, StorageError> {
        Ok(key_attributes(item, names))
    }

    fn lek_sk(page: &Page) -> Option<AttributeValue> {
        page.last_evaluated_key
            .as_ref()
            .and_then(|k| k.get("sk").cloned())
    }

    #[test]
    fn no_limit_reads_everything_without_a_start_key() {
        let page = run(10, 10, None, |_| true, false);
        assert_eq!((page.count, page.scanned_count), (10, 10));
        assert_eq!(page.items.as_ref().map(Vec::len), Some(10));
        assert!(page.last_evaluated_key.is_none());
        assert_eq!(page.bytes_read, 100);
    }

    #[test]
    fn limit_stops_and_sets_the_key_of_the_last_item_read() {
        let page = run(10, 10, Some(4), |_| true, false);
        assert_eq!((page.count, page.scanned_count), (4, 4));
        assert_eq!(lek_sk(&page), Some(num(3)));
        let key = page.last_evaluated_key.unwrap();
        assert_eq!(key.len(), 2);
    }

    #[test]
    fn limit_equal_to_remaining_items_still_sets_a_key() {
        let page = run(10, 10, Some(10), |_| true, false);
        assert_eq!(page.count, 10);
        assert_eq!(lek_sk(&page), Some(num(9)));
        let more = run(10, 10, Some(11), |_| true, false);
        assert!(more.last_evaluated_key.is_none());
    }

    #[test]
    fn filter_runs_after_limit() {
        let page = run(10, 10, Some(5), |it| size_attr(it) > 1000, false);
        assert_eq!((page.count, page.scanned_count), (0, 5));
        assert_eq!(page.items, Some(vec![]));
        assert_eq!(lek_sk(&page), Some(num(4)));
    }

    #[test]
    fn one_megabyte_includes_the_item_that_crosses_it() {
        // 100,000-byte items: ten make 1,000,000 (< 1 MB), the eleventh crosses it.
        let page = run(25, 100_000, None, |_| true, false);
        assert_eq!(page.scanned_count, 11);
        assert_eq!(lek_sk(&page), Some(num(10)));
        // Exactly 1 MB also ends the page.
        let exact = run(3, (PAGE_BYTES / 2) as i64, None, |_| true, false);
        assert_eq!(exact.scanned_count, 2);
        assert!(exact.last_evaluated_key.is_some());
    }

    #[test]
    fn count_only_has_no_items_but_counts() {
        let page = run(6, 1, None, |it| size_attr(it) == 1, true);
        assert_eq!(page.items, None);
        assert_eq!((page.count, page.scanned_count), (6, 6));
    }

    #[test]
    fn storage_error_is_returned() {
        let items = vec![Ok(item("p", 0, 1)), Err(StorageError::Closed)].into_iter();
        let bounds = PageBounds::of_limit(None);
        assert!(assemble(
            items,
            bounds,
            &keys(),
            size_attr,
            key,
            |_| true,
            |i| i,
            false
        )
        .is_err());
    }

    #[test]
    fn empty_storage_gives_an_empty_page() {
        let page = run(0, 1, Some(3), |_| true, false);
        assert_eq!(
            page,
            Page {
                items: Some(vec![]),
                ..Page::default()
            }
        );
    }

    #[test]
    fn select_rules() {
        use ReadOp::*;
        assert_eq!(
            resolve_select(Query, None, None, false),
            Ok(Select::AllAttributes)
        );
        assert_eq!(
            resolve_select(Query, None, Some("ProjectionExpression"), false),
            Ok(Select::SpecificAttributes)
        );
        assert_eq!(
            resolve_select(Scan, Some("COUNT"), None, false),
            Ok(Select::Count)
        );
        assert_eq!(
            resolve_select(Query, Some("ALL_ATTRIBUTES"), Some("ProjectionExpression"), false)
                .unwrap_err()
                .message
                .as_deref(),
            Some("1 validation error detected: Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES")
        );
        assert_eq!(
            resolve_select(Scan, Some("COUNT"), Some("AttributesToGet"), false)
                .unwrap_err()
                .message
                .as_deref(),
            Some("Cannot specify the AttributesToGet when choosing to get only the Count")
        );
        assert_eq!(
            resolve_select(Scan, Some("SPECIFIC_ATTRIBUTES"), None, false).unwrap_err().message.as_deref(),
            Some("Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
        );
        assert_eq!(
            resolve_select(Query, Some("ALL_PROJECTED_ATTRIBUTES"), None, false)
                .unwrap_err()
                .message
                .as_deref(),
            Some("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
        );
    }

    #[test]
    fn duplicate_attributes_to_get() {
        let names = vec!["a".to_string(), "b".to_string(), "a".to_string()];
        assert_eq!(
            check_attributes_to_get(Some(&names))
                .unwrap_err()
                .message
                .as_deref(),
            Some("One or more parameter values were invalid: Duplicate value in attribute name: a")
        );
        assert!(check_attributes_to_get(Some(&names[..2])).is_ok());
    }

    /// A table keyed by `pk` with an INCLUDE `[a]` GSI `ginc` on `g` and an INCLUDE `[a]`
    /// LSI `linc`.
    fn table_with_include_indexes() -> TableMeta {
        use crate::catalog::{IndexMeta, IndexProjection, IndexStatus};
        use shared::model::{KeyAttr, ScalarType};
        let index = |name: &str, hash: &str| IndexMeta {
            name: name.into(),
            index_id: 1,
            arn: String::new(),
            schema: KeySchema::new(
                KeyAttr {
                    name: hash.into(),
                    ty: ScalarType::S,
                },
                None,
            ),
            projection: IndexProjection {
                kind: ProjectionType::Include,
                non_key_attributes: vec!["a".into()],
            },
            throughput: None,
            on_demand_throughput: None,
            status: IndexStatus::Active,
            backfilling: false,
            warm: None,
        };
        let mut table = TableMeta::for_tests(1, "t");
        table.global_indexes.push(index("ginc", "g"));
        table.local_indexes.push(index("linc", "pk"));
        table
    }

    #[test]
    fn a_gsi_read_may_only_ask_for_projected_attributes() {
        let table = table_with_include_indexes();
        let subs = Substitutions::new(None, None);
        let read = |index: &str, text: &str| {
            let projection = expr::parse_projection(text, &subs).unwrap();
            index_to_read(&table, Some(index), false, None, Some(&projection))
                .map(|i| i.is_some_and(|i| i.global))
        };
        assert_eq!(read("ginc", "a.x[1], g, pk"), Ok(true));
        assert_eq!(
            read("ginc", "c.d, a, b").unwrap_err().message.as_deref(),
            Some("One or more parameter values were invalid: Global secondary index ginc does not project [c, b]")
        );
        // An LSI fetches what it lacks from the table.
        assert_eq!(read("linc", "b"), Ok(false));
    }

    #[test]
    fn an_lsi_filter_on_what_it_lacks_reads_the_table_whatever_select() {
        let table = table_with_include_indexes();
        let schema = &table.layout.schema;
        let values = HashMap::from([(":v".to_string(), AttributeValue::S("v".into()))]);
        let subs = Substitutions::new(None, Some(&values));
        let filter = |text: &str| expr::parse_condition(ExprKind::Filter, text, &subs).unwrap();
        let (on_b, on_a) = (filter("b = :v"), filter("a = :v AND pk = :v"));
        let target = |name: &str| {
            index_to_read(&table, Some(name), false, None, None)
                .unwrap()
                .unwrap()
        };
        let (lsi, gsi) = (target("linc"), target("ginc"));
        for select in [Select::AllProjectedAttributes, Select::Count] {
            assert!(lsi.fetches_from_table(schema, select, None, Some(&on_b)));
            assert!(!lsi.fetches_from_table(schema, select, None, Some(&on_a)));
            assert!(!lsi.fetches_from_table(schema, select, None, None));
            // A GSI's filter sees its entries.
            assert!(!gsi.fetches_from_table(schema, select, None, Some(&on_b)));
        }
        assert!(lsi.fetches_from_table(schema, Select::AllAttributes, None, None));
        // A projection of what the LSI stores reads only the index.
        let projected = |text: &str| expr::parse_projection(text, &subs).unwrap();
        let specific = Select::SpecificAttributes;
        let (stored, lacking) = (projected("a, pk"), projected("a, b"));
        assert!(!lsi.fetches_from_table(schema, specific, Some(&stored), None));
        assert!(lsi.fetches_from_table(schema, specific, Some(&lacking), None));
        assert!(lsi.fetches_from_table(schema, specific, Some(&stored), Some(&on_b)));
    }

    #[test]
    fn limit_parsing() {
        assert_eq!(limit_of(None), None);
        assert_eq!(limit_of(Some(3)), Some(3));
        assert_eq!(limit_of(Some(i64::MAX)).map(|l| l > 0), Some(true));
    }
}
