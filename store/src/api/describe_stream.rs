//! DescribeStream: a stream's status, view type, key schema and shards (with sequence
//! number ranges and parents), paged by `ExclusiveStartShardId`; `ShardFilter`
//! `CHILD_SHARDS` lists the children of one shard. Shards whose records were all trimmed
//! are no longer listed.

use shared::wire::error::ApiError;
use shared::wire::ops::describe_stream::{
    DescribeStreamInput, DescribeStreamOutput, StreamDescription,
};
use shared::wire::ops::validate::Violations;

use crate::app::App;
use crate::catalog::meta::key_schema_elements;
use crate::streams::{self, internal, not_found};

const MAX_LIMIT: i64 = 100;

pub async fn handle(
    app: &App,
    input: DescribeStreamInput,
) -> Result<DescribeStreamOutput, ApiError> {
    let mut v = Violations::new();
    v.not_null("streamArn", input.stream_arn.is_some());
    v.length("streamArn", input.stream_arn.as_deref(), 37, 1024);
    v.at_least("limit", input.limit, 1);
    v.at_most("limit", input.limit, MAX_LIMIT);
    v.length(
        "exclusiveStartShardId",
        input.exclusive_start_shard_id.as_deref(),
        28,
        65,
    );
    if let Some(filter) = &input.shard_filter {
        v.enumeration(
            "shardFilter.type",
            filter.r#type.as_deref(),
            &["CHILD_SHARDS"],
        );
        v.length("shardFilter.shardId", filter.shard_id.as_deref(), 28, 65);
    }
    v.finish()?;
    // A filter means nothing without both its members; DynamoDB refuses it.
    if let Some(filter) = &input.shard_filter {
        if filter.r#type.is_none() || filter.shard_id.is_none() {
            return Err(ApiError::validation(
                "ShardFilter must name both its Type and its ShardId",
            ));
        }
    }
    let arn = input.stream_arn.as_deref().unwrap_or_default();
    streams::check_stream_arn(arn)?;
    let stream = streams::find_stream(app, arn)?.ok_or_else(not_found)?;
    let horizon = streams::trim_horizon(app).map_err(internal)?;
    let limit = usize::try_from(input.limit.unwrap_or(MAX_LIMIT)).unwrap_or(100);
    let parent = input.shard_filter.as_ref().and_then(|f| f.shard_id.clone());
    let mut shards = stream
        .shards()
        .into_iter()
        // Every record of a closed shard below the trim horizon is gone.
        .filter(|s| s.end.is_none_or(|end| end.saturating_add(1) >= horizon))
        .filter(|s| parent.is_none() || s.parent == parent)
        .skip_while(|s| {
            input
                .exclusive_start_shard_id
                .as_ref()
                .is_some_and(|start| s.id.as_str() <= start.as_str())
        });
    let page: Vec<_> = shards.by_ref().take(limit).map(|s| s.describe()).collect();
    let more = shards.next().is_some();
    Ok(DescribeStreamOutput {
        stream_description: StreamDescription {
            stream_arn: stream.arn.clone(),
            stream_label: stream.label.clone(),
            stream_status: stream.status().to_string(),
            stream_view_type: stream.view_type.clone(),
            creation_request_date_time: stream.created,
            table_name: stream.table_name.clone(),
            key_schema: key_schema_elements(&stream.key_schema),
            last_evaluated_shard_id: if more {
                page.last().map(|s| s.shard_id.clone())
            } else {
                None
            },
            shards: page,
        },
    })
}
