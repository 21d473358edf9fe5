//! GetItem: read one item by key, optionally projected.
//!
//! Checks, in DynamoDB's order: model constraints (table name, `Key` present,
//! ReturnConsumedCapacity, a non-empty AttributesToGet), the expression parameters
//! (ProjectionExpression and AttributesToGet are exclusive), the projection and unused
//! names, then the table and the key against its schema. A missing item answers `{}`.
//!
//! Capacity: the whole item's size in 4 KB units (a projection does not reduce it; a
//! missing item still costs one unit), halved for an eventually consistent read. Reads
//! see the latest committed write whatever `ConsistentRead` says: one store, no replicas.

use shared::expr::{self, legacy, Substitutions};
use shared::wire::error::ApiError;
use shared::wire::ops::common::ReturnConsumedCapacity;
use shared::wire::ops::get_item::{GetItemInput, GetItemOutput};
use shared::wire::ops::validate::Violations;

use super::item_write::{self, CAPACITY_VALUES};
use super::read_item::ReadItem;
use crate::app::App;
use crate::capacity;
use crate::storage::StoredItem;

pub async fn handle(app: &App, input: GetItemInput) -> Result<GetItemOutput<ReadItem>, ApiError> {
    let mut v = Violations::new();
    item_write::check_table_name(&mut v, input.table_name.as_deref());
    v.not_null("key", input.key.is_some());
    v.enumeration(
        "returnConsumedCapacity",
        input.return_consumed_capacity.as_deref(),
        CAPACITY_VALUES,
    );
    v.names_length(
        "attributesToGet",
        input.attributes_to_get.as_deref(),
        1,
        usize::MAX,
    );
    v.finish()?;
    let mode = ReturnConsumedCapacity::parse(input.return_consumed_capacity.as_deref())?;

    let names = input.expression_attribute_names.as_ref();
    expr::check_parameter_usage(
        &[(
            "ProjectionExpression",
            input.projection_expression.is_some(),
        )],
        &[("AttributesToGet", input.attributes_to_get.is_some())],
        names,
        None,
        &[],
    )?;
    let subs = Substitutions::new(names, None);
    let projection = match (&input.projection_expression, &input.attributes_to_get) {
        (Some(text), _) => Some(expr::parse_projection(text, &subs)?),
        (None, Some(list)) => Some(legacy::attributes_to_get(list)?),
        (None, None) => None,
    };
    subs.check_all_used()?;

    let table = app
        .catalog
        .table_for_data(input.table_name.as_deref().unwrap_or_default())?;
    let key = table
        .layout
        .schema
        .key_from_param(input.key.as_ref().unwrap_or(&Default::default()))?;
    crate::throttle::admit_item_read(&table, &key)?;
    let failure = |e| item_write::storage_failure("GetItem", e);
    let stored = app
        .storage
        .get_stored(&table.layout, &key)
        .map_err(failure)?;

    let units = capacity::read_units(
        stored.as_ref().map_or(0, StoredItem::size),
        input.consistent_read.unwrap_or(false),
    );
    // A whole item is answered as stored; only a projection needs it decoded.
    let item = match (stored, &projection) {
        (Some(stored), Some(projection)) => Some(ReadItem::Shaped(
            projection.apply(&stored.decode().map_err(failure)?),
        )),
        (stored, None) => stored.map(ReadItem::Stored),
        (None, Some(_)) => None,
    };
    crate::throttle::charge_item_read(&table, &key, units);
    Ok(GetItemOutput {
        item,
        consumed_capacity: item_write::read_capacity(table.name(), units, mode),
    })
}
