//! TagResource, UntagResource and ListTagsOfResource on table ARNs, with DynamoDB's own
//! texts (DYNAMODB.md §3, §6): tag rules are reported in their own messages, not in the
//! model-constraint form; a missing table is `Requested resource not found: ResourcArn: X
//! not found` (sic).

use shared::wire::error::{ApiError, ErrorCode};
use shared::wire::ops::tags::{
    ListTagsOfResourceInput, ListTagsOfResourceOutput, Tag, TagResourceInput, TagResourceOutput,
    UntagResourceInput, UntagResourceOutput,
};
use shared::wire::ops::validate::Violations;

use crate::app::App;
use crate::catalog::definition::{self as def, MAX_TAGS};
use crate::catalog::TableMeta;

use std::sync::Arc;

pub async fn tag_resource(
    app: &App,
    input: TagResourceInput,
) -> Result<TagResourceOutput, ApiError> {
    let mut v = Violations::new();
    check_arn_model(&mut v, input.resource_arn.as_deref());
    v.not_null("tags", input.tags.is_some());
    v.finish()?;
    let arn = input.resource_arn.as_deref().unwrap_or_default();
    let name = table_name_of(app, arn)?;
    let tags = input.tags.unwrap_or_default();
    if tags.is_empty() {
        return Err(ApiError::validation(
            "Atleast one Tag needs to be provided as Input.",
        ));
    }
    // Validate before the existence check, as the service does.
    def::merge_tags(&mut Vec::new(), &tags)?;
    table_of(app, name, arn)?;
    app.catalog
        .update(&app.storage, name, |table| {
            def::merge_tags(&mut table.tags, &tags)
        })
        .await
        .map_err(|e| not_found_as_arn(e, arn))?;
    Ok(TagResourceOutput {})
}

pub async fn untag_resource(
    app: &App,
    input: UntagResourceInput,
) -> Result<UntagResourceOutput, ApiError> {
    let mut v = Violations::new();
    check_arn_model(&mut v, input.resource_arn.as_deref());
    v.not_null("tagKeys", input.tag_keys.is_some());
    v.finish()?;
    let arn = input.resource_arn.as_deref().unwrap_or_default();
    let name = table_name_of(app, arn)?;
    let keys = input.tag_keys.unwrap_or_default();
    if keys.is_empty() {
        return Err(ApiError::validation(
            "Atleast one Tag Key needs to be provided as Input.",
        ));
    }
    if keys.len() > MAX_TAGS {
        return Err(ApiError::validation(
            "Number of Tags exceed the current limit for the provided ResourceArn",
        ));
    }
    for key in &keys {
        def::check_tag_key(key)?;
    }
    table_of(app, name, arn)?;
    app.catalog
        .update(&app.storage, name, |table| {
            table.tags.retain(|(k, _)| !keys.contains(k));
            Ok(())
        })
        .await
        .map_err(|e| not_found_as_arn(e, arn))?;
    Ok(UntagResourceOutput {})
}

pub async fn list_tags_of_resource(
    app: &App,
    input: ListTagsOfResourceInput,
) -> Result<ListTagsOfResourceOutput, ApiError> {
    let mut v = Violations::new();
    check_arn_model(&mut v, input.resource_arn.as_deref());
    v.finish()?;
    let arn = input.resource_arn.as_deref().unwrap_or_default();
    let name = table_name_of(app, arn)?;
    let table = table_of(app, name, arn)?;
    // At most 50 tags per table: one page always holds them all, so NextToken is unused.
    let tags = table
        .tags
        .iter()
        .map(|(k, v)| Tag {
            key: Some(k.clone()),
            value: Some(v.clone()),
        })
        .collect();
    Ok(ListTagsOfResourceOutput {
        tags,
        next_token: None,
    })
}

/// `resourceArn`: required, 1 to 1283 characters.
fn check_arn_model(v: &mut Violations, arn: Option<&str>) {
    if v.not_null("resourceArn", arn.is_some()) {
        v.length("resourceArn", arn, 1, 1283);
    }
}

/// The table name inside a table ARN of this region and account.
fn table_name_of<'a>(app: &App, arn: &'a str) -> Result<&'a str, ApiError> {
    if !arn.starts_with("arn:") {
        return Err(ApiError::invalid_parameter(format!(
            "ARNs must start with 'arn:': {arn}"
        )));
    }
    if arn.contains("/index/") {
        return Err(ApiError::invalid_parameter(format!(
            "Invalid resource arn provided, only table or stream is accepted. Provided resource arn: {arn}"
        )));
    }
    match app.catalog.name_of(arn) {
        Some(name)
            if shared::wire::ops::validate::is_valid_name(name)
                && (3..=255).contains(&name.len()) =>
        {
            Ok(name)
        }
        _ => Err(ApiError::validation(format!(
            "Invalid TableArn: Invalid ResourceArn provided as input {arn}"
        ))),
    }
}

fn table_of(app: &App, name: &str, arn: &str) -> Result<Arc<TableMeta>, ApiError> {
    app.catalog.get(name).ok_or_else(|| arn_not_found(arn))
}

fn arn_not_found(arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::ResourceNotFoundException,
        format!("Requested resource not found: ResourcArn: {arn} not found"),
    )
}

/// A table deleted between the lookup and the update reads as the tag API's not-found.
fn not_found_as_arn(e: ApiError, arn: &str) -> ApiError {
    if e.code == ErrorCode::ResourceNotFoundException {
        arn_not_found(arn)
    } else {
        e
    }
}
