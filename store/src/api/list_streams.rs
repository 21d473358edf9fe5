//! ListStreams: every readable stream (enabled, or disabled less than a retention ago),
//! optionally of one table, in ARN order, paged by `ExclusiveStartStreamArn`.
//! A table without streams (or an unknown table) gives an empty list.

use shared::wire::error::ApiError;
use shared::wire::ops::list_streams::{ListStreamsInput, ListStreamsOutput, StreamSummary};
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::streams;

/// ListStreams' default and maximum page size.
const MAX_LIMIT: i64 = 100;

pub async fn handle(app: &App, input: ListStreamsInput) -> Result<ListStreamsOutput, ApiError> {
    let mut v = Violations::new();
    if input.table_name.is_some() {
        validate::table_name(&mut v, "tableName", input.table_name.as_deref(), true)?;
    }
    v.at_least("limit", input.limit, 1);
    v.at_most("limit", input.limit, MAX_LIMIT);
    v.length(
        "exclusiveStartStreamArn",
        input.exclusive_start_stream_arn.as_deref(),
        37,
        1024,
    );
    v.finish()?;
    if let Some(start) = input.exclusive_start_stream_arn.as_deref() {
        streams::check_stream_arn(start)?;
    }
    let limit = usize::try_from(input.limit.unwrap_or(MAX_LIMIT)).unwrap_or(100);
    let table = input
        .table_name
        .as_deref()
        .map(|t| app.catalog.resolve_name(t).to_string());
    let mut matching = streams::all_streams(app)?
        .into_values()
        .filter(|s| table.as_ref().is_none_or(|t| *t == s.table_name))
        .filter(|s| {
            input
                .exclusive_start_stream_arn
                .as_ref()
                .is_none_or(|start| s.arn.as_str() > start.as_str())
        });
    let page: Vec<StreamSummary> = matching
        .by_ref()
        .take(limit)
        .map(|s| StreamSummary {
            stream_arn: s.arn,
            table_name: s.table_name,
            stream_label: s.label,
        })
        .collect();
    let more = matching.next().is_some();
    Ok(ListStreamsOutput {
        last_evaluated_stream_arn: if more {
            page.last().map(|s| s.stream_arn.clone())
        } else {
            None
        },
        streams: page,
    })
}
