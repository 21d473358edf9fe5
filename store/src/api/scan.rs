//! Scan: every item of a table in scan order (partition-key hash, then key), one page at a
//! time, optionally one segment of a parallel scan.
//!
//! Checks run in DynamoDB's order (as dynalite reproduces it): request-model constraints
//! (including `TotalSegments` 1..=1,000,000 and `Segment` 0..=999,999), Select rules,
//! expression-parameter usage, ConditionalOperator's need for two or more ScanFilter
//! conditions, AttributesToGet duplicates, the Segment/TotalSegments
//! pairing, the expressions and unused substitutions; then the table lookup, the index, the
//! start key's shape, and, in a parallel scan, that the start key belongs to this segment.
//!
//! Segments are equal ranges of the 64-bit partition hash (`keycodec::partition_hash`):
//! segment `s` of `t` holds the hashes in `[floor(s * 2^64 / t), floor((s + 1) * 2^64 / t))`,
//! exactly the split storage scans (`storage::keys::segment_hash_range`), so the segments
//! together return every item exactly once and an item never moves between segments.
//!
//! A filter may name key attributes in a Scan (unlike Query). Legacy ScanFilter and
//! AttributesToGet are translated by `shared::expr::legacy`. On an index, the entries are
//! read in the order of the index's partition hash, segments split that hash space, and
//! start keys carry the index keys plus the table keys.

use shared::expr::{self, Substitutions};
use shared::model::keycodec::partition_hash;
use shared::wire::error::ApiError;
use shared::wire::ops::common::ReturnConsumedCapacity;
use shared::wire::ops::scan::{ScanInput, ScanOutput};
use shared::wire::ops::validate::Violations;

use super::read_item::ReadItem;
use super::read_page::{self, PagePlan, ReadOp, Select};
use crate::app::App;

/// Most segments a parallel scan may have.
pub const MAX_TOTAL_SEGMENTS: i64 = 1_000_000;

/// Scan: validates the request, reads one page of the table (or of one segment), and
/// reports it. Storage is read synchronously (at most one page, 1 MB of items).
pub async fn handle(app: &App, input: ScanInput) -> Result<ScanOutput<ReadItem>, ApiError> {
    check_constraints(&input)?;
    let attributes_to_get = input.attributes_to_get.as_deref();
    let projection_param =
        read_page::projection_param(input.projection_expression.as_deref(), attributes_to_get);
    let select = read_page::resolve_select(
        ReadOp::Scan,
        input.select.as_deref(),
        projection_param,
        input.index_name.is_some(),
    )?;
    let names = input.expression_attribute_names.as_ref();
    let values = input.expression_attribute_values.as_ref().map(|v| &v.0);
    expr::check_parameter_usage(
        &[
            (
                "ProjectionExpression",
                input.projection_expression.is_some(),
            ),
            ("FilterExpression", input.filter_expression.is_some()),
        ],
        &[
            ("AttributesToGet", input.attributes_to_get.is_some()),
            ("ScanFilter", input.scan_filter.is_some()),
            ("ConditionalOperator", input.conditional_operator.is_some()),
        ],
        names,
        values,
        &[("FilterExpression", input.filter_expression.is_some())],
    )?;
    expr::legacy::check_conditional_operator(
        input.conditional_operator.as_deref(),
        input.scan_filter.as_ref().map(|f| f.len()),
    )?;
    read_page::check_attributes_to_get(attributes_to_get)?;
    let legacy_filter = read_page::legacy_filter(
        "ScanFilter",
        input.scan_filter.as_ref(),
        input.conditional_operator.as_deref(),
    )?;
    let segment = check_segments(input.segment, input.total_segments)?;

    let subs = Substitutions::new(names, values);
    let exprs = read_page::parse_read_expressions(
        input.filter_expression.as_deref(),
        input.projection_expression.as_deref(),
        legacy_filter,
        attributes_to_get,
        &subs,
    )?;
    subs.check_all_used()?;

    let table_name = input.table_name.as_deref().unwrap_or_default();
    let table = app.catalog.table_for_data(table_name)?;
    let consistent = input.consistent_read.unwrap_or(false);
    let index = read_page::index_to_read(
        &table,
        input.index_name.as_deref(),
        consistent,
        input.select.as_deref(),
        exprs.projection.as_ref(),
    )?;
    crate::throttle::admit_read(
        &table,
        index
            .as_ref()
            .filter(|i| i.global)
            .map(|i| i.layout.name.as_str()),
    )?;
    let schema = &table.layout.schema;
    const WRONG_SHAPE: &str =
        "The provided starting key is invalid: The provided key element does not match the schema";
    // The start key's partition hash: the table's, or on an index the index's.
    let (start, start_item, start_hash) = match (&input.exclusive_start_key, &index) {
        (None, _) => (None, None, None),
        (Some(start), None) => {
            let key = read_page::table_start_key(schema, start, WRONG_SHAPE, true)?;
            let hash = partition_hash(&key.hash);
            (Some(key), None, Some(hash))
        }
        (Some(start), Some(i)) => {
            let item = read_page::index_start_key(schema, &i.layout.schema, start, WRONG_SHAPE)?;
            let hash = item
                .get(&i.layout.schema.hash.name)
                .map(partition_hash)
                .unwrap_or_default();
            (None, Some(item), Some(hash))
        }
    };
    if let (Some(hash), Some((s, total))) = (start_hash, segment) {
        if segment_of(hash, total) != s {
            return Err(ApiError::validation(format!(
                "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: {total} Segment: {s}"
            )));
        }
    }

    let capacity_mode = ReturnConsumedCapacity::parse(input.return_consumed_capacity.as_deref())?;
    let key_names = read_page::page_key_names(schema, index.as_ref().map(|i| &i.layout.schema));
    let fetch = index.as_ref().filter(|i| {
        let (projection, filter) = (exprs.projection.as_ref(), exprs.filter.as_ref());
        i.fetches_from_table(schema, select, projection, filter)
    });
    let plan = PagePlan {
        bounds: read_page::PageBounds::of_limit(input.limit),
        key_names: &key_names,
        filter: exprs.filter.as_ref(),
        projection: exprs.projection.as_ref(),
        fetch: fetch.map(|i| read_page::Fetch {
            index: &i.layout,
            table_schema: schema,
            answer_entries: select == Select::AllProjectedAttributes,
        }),
        count_only: select == Select::Count,
    };
    let layout = &table.layout;
    let storage = &app.storage;
    let items = match &index {
        None => storage.scan(layout, segment, start.as_ref()),
        Some(i) => storage
            .index_scan(
                layout.table_id,
                schema,
                &i.layout,
                segment,
                start_item.as_ref(),
            )
            .map(|entries| match fetch {
                Some(_) => storage.items_of_entries(layout, &i.layout, entries),
                None => entries,
            }),
    };
    let read_page::FinishedPage {
        page,
        consumed: consumed_capacity,
        ..
    } = read_page::finish_page(
        ReadOp::Scan,
        &table,
        index.as_ref(),
        items,
        &plan,
        consistent,
        capacity_mode,
    )?;

    Ok(ScanOutput {
        consumed_capacity,
        items: page.items,
        count: page.count,
        scanned_count: page.scanned_count,
        last_evaluated_key: page.last_evaluated_key,
    })
}

/// Request-model constraints, in the order DynamoDB reports them.
fn check_constraints(input: &ScanInput) -> Result<(), ApiError> {
    let mut c = Violations::new();
    c.enumeration("select", input.select.as_deref(), read_page::SELECT_VALUES);
    c.name("indexName", input.index_name.as_deref(), 3, 255);
    c.at_least("totalSegments", input.total_segments, 1);
    c.at_most("totalSegments", input.total_segments, MAX_TOTAL_SEGMENTS);
    c.enumeration(
        "returnConsumedCapacity",
        input.return_consumed_capacity.as_deref(),
        read_page::CAPACITY_VALUES,
    );
    c.member_table_name("tableName", input.table_name.as_deref());
    c.enumeration(
        "conditionalOperator",
        input.conditional_operator.as_deref(),
        read_page::CONDITIONAL_OPERATOR_VALUES,
    );
    read_page::check_legacy_conditions(&mut c, "scanFilter", input.scan_filter.as_ref());
    c.at_least("segment", input.segment, 0);
    c.at_most("segment", input.segment, MAX_TOTAL_SEGMENTS - 1);
    c.at_least("limit", input.limit, 1);
    c.names_length(
        "attributesToGet",
        input.attributes_to_get.as_deref(),
        1,
        255,
    );
    c.finish()
}

/// Segment and TotalSegments come together, and Segment < TotalSegments (both already in
/// range). `Some((segment, total))` for a parallel scan of more than one segment; one
/// segment of one is the whole table.
fn check_segments(
    segment: Option<i64>,
    total: Option<i64>,
) -> Result<Option<(u32, u32)>, ApiError> {
    match (segment, total) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(ApiError::validation(
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
        )),
        (None, Some(_)) => Err(ApiError::validation(
            "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
        )),
        (Some(s), Some(t)) if s >= t => Err(ApiError::validation(format!(
            "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {t}"
        ))),
        (Some(s), Some(t)) => {
            let (s, t) = (u32::try_from(s).unwrap_or(0), u32::try_from(t).unwrap_or(1));
            Ok(if t <= 1 { None } else { Some((s, t)) })
        }
    }
}

/// The segment of `total` that holds a partition hash: the `s` with
/// `floor(s * 2^64 / total) <= hash < floor((s + 1) * 2^64 / total)`.
pub fn segment_of(hash: u64, total: u32) -> u32 {
    let total = u128::from(total.max(1));
    let lower = |s: u128| (s << 64) / total;
    // floor(hash * total / 2^64) is never past the segment; at most one step short of it,
    // because the lower bounds are rounded down.
    let mut s = (u128::from(hash) * total) >> 64;
    if s + 1 < total && lower(s + 1) <= u128::from(hash) {
        s += 1;
    }
    u32::try_from(s).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg<T: std::fmt::Debug>(r: Result<T, ApiError>) -> String {
        r.unwrap_err().message.unwrap_or_default()
    }

    #[test]
    fn segment_pairing_messages() {
        assert_eq!(check_segments(None, None).unwrap(), None);
        assert_eq!(check_segments(Some(0), Some(1)).unwrap(), None);
        assert_eq!(check_segments(Some(2), Some(3)).unwrap(), Some((2, 3)));
        assert_eq!(
            msg(check_segments(Some(0), None)),
            "The TotalSegments parameter is required but was not present in the request when Segment parameter is present"
        );
        assert_eq!(
            msg(check_segments(None, Some(2))),
            "The Segment parameter is required but was not present in the request when parameter TotalSegments is present"
        );
        assert_eq!(
            msg(check_segments(Some(3), Some(2))),
            "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: 3 is not less than TotalSegments: 2"
        );
    }

    #[test]
    fn segments_split_the_hash_space_evenly() {
        assert_eq!(segment_of(0, 4), 0);
        assert_eq!(segment_of(u64::MAX, 4), 3);
        assert_eq!(segment_of(1 << 63, 2), 1);
        assert_eq!(segment_of((1 << 63) - 1, 2), 0);
        assert_eq!(segment_of(u64::MAX, 1_000_000), 999_999);
        for h in [0u64, 12345, u64::MAX / 3, u64::MAX - 7] {
            assert!(segment_of(h, 7) < 7);
        }
        // On a rounded-down boundary the hash belongs to the segment that starts there.
        for total in [3u32, 7, 9, 100, 999_983] {
            for s in [1u32, 2, total / 2, total - 1] {
                let lo = ((u128::from(s) << 64) / u128::from(total)) as u64;
                assert_eq!(segment_of(lo, total), s, "total {total} segment {s}");
                assert_eq!(
                    segment_of(lo - 1, total),
                    s - 1,
                    "total {total} segment {s}"
                );
            }
        }
    }

    #[test]
    fn constraint_messages_for_segments_and_limit() {
        let input = ScanInput {
            table_name: Some("table".into()),
            total_segments: Some(1_000_001),
            segment: Some(0),
            ..Default::default()
        };
        assert_eq!(
            msg(check_constraints(&input)),
            "1 validation error detected: Value '1000001' at 'totalSegments' failed to satisfy constraint: Member must have value less than or equal to 1000000"
        );
        let input = ScanInput {
            table_name: Some("table".into()),
            limit: Some(0),
            ..Default::default()
        };
        assert_eq!(
            msg(check_constraints(&input)),
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
        );
        let input = ScanInput {
            table_name: Some("table".into()),
            total_segments: Some(0),
            segment: Some(0),
            ..Default::default()
        };
        assert!(msg(check_constraints(&input))
            .contains("Member must have value greater than or equal to 1"));
    }
}
