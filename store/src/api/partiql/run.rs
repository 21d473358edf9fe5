//! Running one planned statement through the classic operations' handlers.

use shared::model::{AttributeValue, Item};
use shared::partiql::ast::Returning;
use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::common::ConsumedCapacity;
use shared::wire::ops::delete_item::DeleteItemInput;
use shared::wire::ops::get_item::{GetItemInput, GetItemOutput};
use shared::wire::ops::put_item::PutItemInput;
use shared::wire::ops::query::QueryInput;
use shared::wire::ops::update_item::UpdateItemInput;

use super::plan::{Read, ReadPlan, WriteKind, WritePlan};
use crate::api::query::StatementQuery;
use crate::api::read_item::ReadItem;
use crate::api::read_page::PAGE_BYTES;
use crate::api::{delete_item, get_item, put_item, query, scan, update_item};
use crate::app::App;

/// The message of DuplicateItemException.
pub const DUPLICATE_ITEM: &str = "Duplicate primary key exists in table";

/// An INSERT's failed not-exists condition is DuplicateItemException.
pub fn duplicate_item(e: ApiError) -> ApiError {
    if e.code == ErrorCode::ConditionalCheckFailedException {
        ApiError::new(ErrorCode::DuplicateItemException, DUPLICATE_ITEM)
    } else {
        e
    }
}

/// What a write answers: the items RETURNING asked for (none, or one), and the capacity
/// it consumed when asked for.
pub struct Written {
    pub items: Vec<Item>,
    pub consumed_capacity: Option<ConsumedCapacity>,
}

/// Runs a write. `capacity` is the request's ReturnConsumedCapacity.
pub async fn write(
    app: &App,
    plan: WritePlan,
    on_condition_failure: Option<String>,
    capacity: Option<String>,
) -> Result<Written, ApiError> {
    let (names, values) = (plan.names, plan.values);
    let return_values = plan.returning.map(|r| r.return_values().to_string());
    let (attributes, consumed_capacity) = match plan.kind {
        WriteKind::Check { .. } => {
            return Err(ApiError::validation(
                "EXISTS is only supported as a statement of ExecuteTransaction",
            ))
        }
        WriteKind::Insert(item) => put_item::handle(
            app,
            PutItemInput {
                table_name: Some(plan.table),
                item: Some(item),
                condition_expression: plan.condition,
                expression_attribute_names: names,
                expression_attribute_values: values,
                return_values_on_condition_check_failure: on_condition_failure,
                return_consumed_capacity: capacity,
                ..Default::default()
            },
        )
        .await
        .map_err(duplicate_item)
        .map(|out| (None, out.consumed_capacity))?,
        WriteKind::Update { key, expression } => update_item::handle(
            app,
            UpdateItemInput {
                table_name: Some(plan.table),
                key: Some(key),
                update_expression: Some(expression),
                condition_expression: plan.condition,
                expression_attribute_names: names,
                expression_attribute_values: values,
                return_values,
                return_values_on_condition_check_failure: on_condition_failure,
                return_consumed_capacity: capacity,
                ..Default::default()
            },
        )
        .await
        .map(|out| (out.attributes, out.consumed_capacity))?,
        WriteKind::Delete { key } => delete_item::handle(
            app,
            DeleteItemInput {
                table_name: Some(plan.table),
                key: Some(key),
                condition_expression: plan.condition,
                expression_attribute_names: names,
                expression_attribute_values: values,
                return_values: return_values.filter(|_| plan.returning == Some(Returning::AllOld)),
                return_values_on_condition_check_failure: on_condition_failure,
                return_consumed_capacity: capacity,
                ..Default::default()
            },
        )
        .await
        .map(|out| (out.attributes, out.consumed_capacity))?,
    };
    Ok(Written {
        // A projection with nothing in it (MODIFIED of attributes that did not exist) is
        // no row at all.
        items: attributes.into_iter().filter(|a| !a.is_empty()).collect(),
        consumed_capacity,
    })
}

/// Reads the one item a single-key SELECT names, as a GetItem (`capacity`: the request's
/// ReturnConsumedCapacity).
pub async fn read_one(
    app: &App,
    plan: ReadPlan,
    key: Item,
    consistent_read: Option<bool>,
    capacity: Option<String>,
) -> Result<GetItemOutput<ReadItem>, ApiError> {
    let (projection_expression, expression_attribute_names) = plan.projection.unzip();
    get_item::handle(
        app,
        GetItemInput {
            table_name: Some(plan.table),
            key: Some(key),
            consistent_read,
            projection_expression,
            expression_attribute_names,
            return_consumed_capacity: capacity,
            ..Default::default()
        },
    )
    .await
}

/// A page of a SELECT: its items, the key to go on from, and the capacity it used.
pub struct Page {
    pub items: Vec<ReadItem>,
    pub last_evaluated_key: Option<Item>,
    pub consumed_capacity: Option<ConsumedCapacity>,
}

pub async fn read_page(app: &App, read: Read) -> Result<Page, ApiError> {
    Ok(match read {
        Read::Query {
            query,
            keys_in_filter,
        } => {
            let rules = StatementQuery {
                keys_in_filter,
                ..StatementQuery::default()
            };
            let (output, _) = query::run(app, query, rules).await?;
            Page {
                items: output.items.unwrap_or_default(),
                last_evaluated_key: output.last_evaluated_key,
                consumed_capacity: output.consumed_capacity,
            }
        }
        Read::Scan(input) => {
            let output = scan::handle(app, input).await?;
            Page {
                items: output.items.unwrap_or_default(),
                last_evaluated_key: output.last_evaluated_key,
                consumed_capacity: output.consumed_capacity,
            }
        }
        Read::Queries {
            query,
            keys_in_filter,
            hash,
            placeholder,
            partitions,
        } => read_partitions(app, query, keys_in_filter, &hash, &placeholder, &partitions).await?,
    })
}

/// Queries `partitions` one after another into one page. `Limit` and the page's 1 MB
/// count across them; a Query that stops early (on either) ends the page, and its key,
/// which names its partition, is where the next page starts.
async fn read_partitions(
    app: &App,
    mut query: QueryInput,
    keys_in_filter: bool,
    hash: &str,
    placeholder: &str,
    partitions: &[AttributeValue],
) -> Result<Page, ApiError> {
    let mut start = query.exclusive_start_key.take();
    let first = match &start {
        None => 0,
        Some(key) => partitions
            .iter()
            .position(|p| key.get(hash) == Some(p))
            .ok_or_else(|| ApiError::validation("Invalid NextToken"))?,
    };
    let mut page = Page {
        items: Vec::new(),
        last_evaluated_key: None,
        consumed_capacity: None,
    };
    let limit = query.limit;
    // Limit counts the items read, before any filter, as a Query's does.
    let mut scanned = 0;
    let mut bytes_read = 0;
    for partition in &partitions[first..] {
        let mut one = query.clone();
        if let Some(values) = one.expression_attribute_values.as_mut() {
            values.0.insert(placeholder.to_string(), partition.clone());
        }
        one.exclusive_start_key = start.take();
        one.limit = limit.map(|l| l - scanned);
        let rules = StatementQuery {
            keys_in_filter,
            page_bytes: PAGE_BYTES - bytes_read,
        };
        let (output, read) = query::run(app, one, rules).await?;
        // A Query stops (with a key) once it reaches its bytes, so this stays below 1 MB
        // while the loop goes on.
        bytes_read = bytes_read.saturating_add(read).min(PAGE_BYTES);
        scanned += i64::try_from(output.scanned_count).unwrap_or(i64::MAX);
        page.items.extend(output.items.unwrap_or_default());
        if let Some(used) = output.consumed_capacity {
            match page.consumed_capacity.as_mut() {
                None => page.consumed_capacity = Some(used),
                Some(total) => total.add(&used),
            }
        }
        if output.last_evaluated_key.is_some() {
            page.last_evaluated_key = output.last_evaluated_key;
            break;
        }
    }
    Ok(page)
}
