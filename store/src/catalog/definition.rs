//! Validation of table definitions, shared by CreateTable and UpdateTable: the model
//! constraints (collected into [`Violations`]) and then the semantic rules, in the order
//! DynamoDB applies them (as dynalite reproduces it, DYNAMODB.md §6 and §7), each with
//! DynamoDB's message.
//!
//! Model checks (`check_*`) never fail early; they add to the collector. Semantic checks
//! (`parse_*`) run only on a request that passed the model checks, so they may assume
//! required members are present and enums are valid, and they return the first failure.

use shared::model::key::MAX_KEY_ATTRIBUTES_PER_KIND;
use shared::model::{KeyAttr, KeySchema, ScalarType};
use shared::wire::error::ApiError;
use shared::wire::ops::create_table::{
    AttributeDefinition, KeySchemaElement, Projection, ProvisionedThroughput, SseSpecification,
    StreamSpecification, Tag,
};
use shared::wire::ops::validate::{member_path, Violations};

use super::meta::{iso_timestamp, IndexProjection, ProjectionType, SseMeta, StreamMeta};

pub const KEY_TYPES: &[&str] = &["HASH", "RANGE"];
pub const ATTRIBUTE_TYPES: &[&str] = &["B", "N", "S"];
pub const PROJECTION_TYPES: &[&str] = &["ALL", "INCLUDE", "KEYS_ONLY"];
pub const BILLING_MODES: &[&str] = &["PROVISIONED", "PAY_PER_REQUEST"];
pub const STREAM_VIEW_TYPES: &[&str] =
    &["NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"];
pub const TABLE_CLASSES: &[&str] = &["STANDARD", "STANDARD_INFREQUENT_ACCESS"];
pub const SSE_TYPES: &[&str] = &["AES256", "KMS"];

/// Local secondary indexes per table.
pub const MAX_LSIS: usize = 5;
/// Global secondary indexes per table (the default quota).
pub const MAX_GSIS: usize = 20;
/// Projected non-key attributes summed over all of a table's indexes.
pub const MAX_PROJECTED_ATTRIBUTES: usize = 100;
/// Larger capacity values are "out of bounds" (dynalite's limit).
pub const MAX_CAPACITY: i64 = 1_000_000_000_000;
/// Tags per resource.
pub const MAX_TAGS: usize = 50;

/// `[KeySchemaElement(attributeName=a, keyType=HASH), ...]`, how the service prints a key
/// schema value in a constraint message.
pub fn key_schema_shown(elements: &[KeySchemaElement]) -> String {
    let parts: Vec<String> = elements
        .iter()
        .map(|e| {
            format!(
                "KeySchemaElement(attributeName={}, keyType={})",
                e.attribute_name.as_deref().unwrap_or("null"),
                e.key_type.as_deref().unwrap_or("null")
            )
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// `AttributeDefinitions`: each member's name (1 to 255 characters) and type (S, N, B).
pub fn check_attribute_definitions(
    v: &mut Violations,
    path: &str,
    defs: Option<&[AttributeDefinition]>,
    required: bool,
) {
    let Some(defs) = defs else {
        if required {
            v.not_null(path, false);
        }
        return;
    };
    for (i, def) in defs.iter().enumerate() {
        let name_path = member_path(path, i, "attributeName");
        if v.not_null(&name_path, def.attribute_name.is_some()) {
            v.length(&name_path, def.attribute_name.as_deref(), 1, 255);
        }
        let type_path = member_path(path, i, "attributeType");
        if v.not_null(&type_path, def.attribute_type.is_some()) {
            v.enumeration(&type_path, def.attribute_type.as_deref(), ATTRIBUTE_TYPES);
        }
    }
}

/// The most elements a table's or LSI's `KeySchema` has (a HASH and a RANGE).
pub const MAX_KEY_ELEMENTS: usize = 2;
/// The most elements a GSI's `KeySchema` has: four HASH and four RANGE attributes.
pub const MAX_GSI_KEY_ELEMENTS: usize = 2 * MAX_KEY_ATTRIBUTES_PER_KIND;

/// A `KeySchema`: required, 1 to `max` elements, each with a name (1 to 255 characters)
/// and a key type (enum-checked only for the table's own schema, as DynamoDB does).
pub fn check_key_schema(
    v: &mut Violations,
    path: &str,
    schema: Option<&[KeySchemaElement]>,
    enum_key_type: bool,
    max: usize,
) {
    let Some(schema) = schema else {
        v.not_null(path, false);
        return;
    };
    v.list_length(path, &key_schema_shown(schema), schema.len(), 1, max);
    for (i, element) in schema.iter().enumerate() {
        let name_path = member_path(path, i, "attributeName");
        if v.not_null(&name_path, element.attribute_name.is_some()) {
            v.length(&name_path, element.attribute_name.as_deref(), 1, 255);
        }
        let type_path = member_path(path, i, "keyType");
        if v.not_null(&type_path, element.key_type.is_some()) && enum_key_type {
            v.enumeration(&type_path, element.key_type.as_deref(), KEY_TYPES);
        }
    }
}

/// `ProvisionedThroughput`: both units present and at least 1 (write first, as DynamoDB
/// lists them).
pub fn check_throughput(
    v: &mut Violations,
    path: &str,
    throughput: Option<&ProvisionedThroughput>,
) {
    let Some(t) = throughput else { return };
    let write = format!("{path}.writeCapacityUnits");
    if v.not_null(&write, t.write_capacity_units.is_some()) {
        v.at_least(&write, t.write_capacity_units, 1);
    }
    let read = format!("{path}.readCapacityUnits");
    if v.not_null(&read, t.read_capacity_units.is_some()) {
        v.at_least(&read, t.read_capacity_units, 1);
    }
}

/// An index's `Projection`: required; its type an enum; NonKeyAttributes 1 to 20 names of
/// 1 to 255 characters.
pub fn check_projection(v: &mut Violations, path: &str, projection: Option<&Projection>) {
    let Some(p) = projection else {
        v.not_null(path, false);
        return;
    };
    v.enumeration(
        &format!("{path}.projectionType"),
        p.projection_type.as_deref(),
        PROJECTION_TYPES,
    );
    if let Some(names) = &p.non_key_attributes {
        let list_path = format!("{path}.nonKeyAttributes");
        v.names_length(&list_path, Some(names), 1, 20);
        for name in names {
            v.length(&list_path, Some(name), 1, 255);
        }
    }
}

/// An index's common members under `base` (e.g. `globalSecondaryIndexes.1.member`), in
/// DynamoDB's order: projection, indexName, keySchema.
/// `max_key_elements`: [`MAX_KEY_ELEMENTS`] for an LSI, [`MAX_GSI_KEY_ELEMENTS`] for a GSI.
pub fn check_index(
    v: &mut Violations,
    base: &str,
    name: Option<&str>,
    schema: Option<&[KeySchemaElement]>,
    projection: Option<&Projection>,
    max_key_elements: usize,
) {
    check_projection(v, &format!("{base}.projection"), projection);
    check_index_name(v, &format!("{base}.indexName"), name);
    check_key_schema(
        v,
        &format!("{base}.keySchema"),
        schema,
        false,
        max_key_elements,
    );
}

/// A required index name: the name pattern, 3 to 255 characters.
pub fn check_index_name(v: &mut Violations, path: &str, name: Option<&str>) {
    if v.not_null(path, name.is_some()) {
        v.name(path, name, 3, 255);
    }
}

/// `<parent>.<i+1>.member`, the base path of a list element's members.
pub fn element_path(parent: &str, zero_based: usize) -> String {
    format!("{parent}.{}.member", zero_based + 1)
}

/// `StreamSpecification`: StreamEnabled required, StreamViewType an enum.
pub fn check_stream(v: &mut Violations, path: &str, spec: Option<&StreamSpecification>) {
    let Some(s) = spec else { return };
    v.not_null(&format!("{path}.streamEnabled"), s.stream_enabled.is_some());
    v.enumeration(
        &format!("{path}.streamViewType"),
        s.stream_view_type.as_deref(),
        STREAM_VIEW_TYPES,
    );
}

/// `SSESpecification.SSEType` is an enum.
pub fn check_sse(v: &mut Violations, path: &str, spec: Option<&SseSpecification>) {
    if let Some(s) = spec {
        v.enumeration(&format!("{path}.sSEType"), s.sse_type.as_deref(), SSE_TYPES);
    }
}

/// Parsed attribute definitions (model-valid input), in request order.
pub fn parse_attribute_definitions(defs: &[AttributeDefinition]) -> Vec<KeyAttr> {
    defs.iter()
        .filter_map(|d| {
            let name = d.attribute_name.clone()?;
            let ty = ScalarType::parse(d.attribute_type.as_deref()?)?;
            Some(KeyAttr { name, ty })
        })
        .collect()
}

fn names_of(elements: &[KeySchemaElement]) -> Vec<&str> {
    elements
        .iter()
        .map(|e| e.attribute_name.as_deref().unwrap_or_default())
        .collect()
}

fn undefined_keys(keys: &[&str], defs: &[KeyAttr]) -> ApiError {
    let defined: Vec<&str> = defs.iter().map(|d| d.name.as_str()).collect();
    ApiError::invalid_parameter(format!(
        "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
        keys.join(", "),
        defined.join(", ")
    ))
}

fn type_of(defs: &[KeyAttr], name: &str) -> Option<ScalarType> {
    defs.iter().find(|d| d.name == name).map(|d| d.ty)
}

/// The HASH/RANGE order rules shared by table and index schemas, then the typed schema.
fn ordered_schema(elements: &[KeySchemaElement], defs: &[KeyAttr]) -> Result<KeySchema, ApiError> {
    let names = names_of(elements);
    if names.len() == 2 && names[0] == names[1] {
        return Err(ApiError::validation(
            "Both the Hash Key and the Range Key element in the KeySchema have the same name",
        ));
    }
    if elements.first().and_then(|e| e.key_type.as_deref()) != Some("HASH") {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    if let Some(second) = elements.get(1) {
        if second.key_type.as_deref() != Some("RANGE") {
            return Err(ApiError::validation(
                "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type",
            ));
        }
    }
    let attr = |name: &str| -> Result<KeyAttr, ApiError> {
        let ty = type_of(defs, name).ok_or_else(|| undefined_keys(&names, defs))?;
        Ok(KeyAttr {
            name: name.to_string(),
            ty,
        })
    };
    let hash = attr(names.first().copied().unwrap_or_default())?;
    let range = match names.get(1) {
        Some(name) => Some(attr(name)?),
        None => None,
    };
    Ok(KeySchema::new(hash, range))
}

/// The table's key schema against its attribute definitions.
pub fn parse_table_key_schema(
    elements: &[KeySchemaElement],
    defs: &[KeyAttr],
) -> Result<KeySchema, ApiError> {
    let names = names_of(elements);
    let defined = |n: &&str| defs.iter().any(|d| d.name == *n);
    if names.len() == 2 {
        // DynamoDB's odd case: the same name twice with one definition reads as undefined.
        if !names.iter().all(defined) || (names[0] == names[1] && defs.len() == 1) {
            return Err(ApiError::validation(
                "Invalid KeySchema: Some index key attribute have no definition",
            ));
        }
    } else if !names.iter().all(defined) {
        return Err(undefined_keys(&names, defs));
    }
    ordered_schema(elements, defs)
}

/// An index's key schema against the attribute definitions.
pub fn parse_index_key_schema(
    elements: &[KeySchemaElement],
    defs: &[KeyAttr],
) -> Result<KeySchema, ApiError> {
    let names = names_of(elements);
    if !names.iter().all(|n| defs.iter().any(|d| d.name == *n)) {
        return Err(undefined_keys(&names, defs));
    }
    ordered_schema(elements, defs)
}

/// A GSI's key schema against the attribute definitions. Beyond one HASH and one RANGE
/// attribute, a multi-attribute key: one to four HASH attributes, then up to four RANGE
/// attributes, each named once.
pub fn parse_global_index_key_schema(
    elements: &[KeySchemaElement],
    defs: &[KeyAttr],
) -> Result<KeySchema, ApiError> {
    let kinds: Vec<&str> = elements
        .iter()
        .map(|e| e.key_type.as_deref().unwrap_or_default())
        .collect();
    if matches!(kinds.as_slice(), [_] | [_, "RANGE"]) {
        return parse_index_key_schema(elements, defs);
    }
    let names = names_of(elements);
    if !names.iter().all(|n| defs.iter().any(|d| d.name == *n)) {
        return Err(undefined_keys(&names, defs));
    }
    if (1..names.len()).any(|i| names[..i].contains(&names[i])) {
        return Err(ApiError::validation(
            "Invalid KeySchema: Some index key attributes are specified more than once",
        ));
    }
    if kinds.first() != Some(&"HASH") {
        return Err(ApiError::validation(
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type",
        ));
    }
    let hashes = kinds.iter().take_while(|k| **k == "HASH").count();
    if kinds[hashes..].iter().any(|k| *k != "RANGE") {
        return Err(ApiError::validation(
            "Invalid KeySchema: HASH key attributes must come before RANGE key attributes",
        ));
    }
    let ranges = kinds.len() - hashes;
    if hashes > MAX_KEY_ATTRIBUTES_PER_KIND || ranges > MAX_KEY_ATTRIBUTES_PER_KIND {
        return Err(ApiError::validation(format!(
            "Invalid KeySchema: A key may have at most {MAX_KEY_ATTRIBUTES_PER_KIND} HASH and {MAX_KEY_ATTRIBUTES_PER_KIND} RANGE key attributes"
        )));
    }
    let mut attrs = names.iter().map(|name| KeyAttr {
        name: name.to_string(),
        ty: type_of(defs, name).unwrap_or(ScalarType::S),
    });
    let mut hash: Vec<KeyAttr> = attrs.by_ref().take(hashes).collect();
    let mut range: Vec<KeyAttr> = attrs.collect();
    let first_range = (!range.is_empty()).then(|| range.remove(0));
    let first_hash = hash.remove(0);
    Ok(KeySchema {
        hash: first_hash,
        range: first_range,
        more_hash: hash,
        more_range: range,
    })
}

/// An index's projection (model-valid input): `Unknown ProjectionType: null` when the type
/// is missing; NonKeyAttributes only with INCLUDE, required with it, and without a name
/// twice. A key attribute (the table's or the index's) may be listed: DynamoDB accepts it,
/// and it is projected anyway.
pub fn parse_projection(projection: &Projection) -> Result<IndexProjection, ApiError> {
    let Some(kind) = projection
        .projection_type
        .as_deref()
        .and_then(ProjectionType::parse)
    else {
        return Err(ApiError::invalid_parameter("Unknown ProjectionType: null"));
    };
    match (&projection.non_key_attributes, kind) {
        (Some(_), ProjectionType::All | ProjectionType::KeysOnly) => {
            Err(ApiError::invalid_parameter(format!(
                "ProjectionType is {}, but NonKeyAttributes is specified",
                kind.as_str()
            )))
        }
        (None, ProjectionType::Include) => Err(ApiError::invalid_parameter(
            "ProjectionType is INCLUDE, but NonKeyAttributes is not specified",
        )),
        (names, _) => {
            let names = names.clone().unwrap_or_default();
            let repeated = (1..names.len()).find(|&i| names[..i].contains(&names[i]));
            if let Some(name) = repeated.map(|i| &names[i]) {
                return Err(ApiError::invalid_parameter(format!(
                    "Duplicate element in NonKeyAttributes: {name}"
                )));
            }
            Ok(IndexProjection {
                kind,
                non_key_attributes: names,
            })
        }
    }
}

/// Capacity values above [`MAX_CAPACITY`]: `Given value X for ReadCapacityUnits is out of
/// bounds` (read first).
pub fn check_capacity_bounds(t: &ProvisionedThroughput) -> Result<(i64, i64), ApiError> {
    let read = t.read_capacity_units.unwrap_or(1);
    let write = t.write_capacity_units.unwrap_or(1);
    if read > MAX_CAPACITY {
        return Err(ApiError::validation(format!(
            "Given value {read} for ReadCapacityUnits is out of bounds"
        )));
    }
    if write > MAX_CAPACITY {
        return Err(ApiError::validation(format!(
            "Given value {write} for WriteCapacityUnits is out of bounds"
        )));
    }
    Ok((read, write))
}

/// Projected non-key attributes summed over indexes must stay within the limit.
pub fn check_projected_total<'a>(
    projections: impl Iterator<Item = &'a IndexProjection>,
) -> Result<(), ApiError> {
    let total: usize = projections.map(|p| p.non_key_attributes.len()).sum();
    if total > MAX_PROJECTED_ATTRIBUTES {
        return Err(ApiError::invalid_parameter(format!(
            "Number of projected attributes in all indexes exceeds limit of {MAX_PROJECTED_ATTRIBUTES}"
        )));
    }
    Ok(())
}

/// A fresh enabled stream of `view_type` on `table_arn` (a new label and ARN), holding
/// the change records after sequence number `seq`.
pub fn new_stream(view_type: &str, table_arn: &str, now: f64, seq: u64) -> StreamMeta {
    let label = iso_timestamp(now);
    StreamMeta {
        enabled: true,
        view_type: view_type.to_string(),
        arn: format!("{table_arn}/stream/{label}"),
        label,
        created: now,
        start_seq: seq,
        end_seq: None,
        disabled_at: None,
    }
}

/// CreateTable's stream (model-valid specification): `Ok(None)` when disabled.
pub fn parse_create_stream(
    spec: &StreamSpecification,
    table_arn: &str,
    now: f64,
    seq: u64,
) -> Result<Option<StreamMeta>, ApiError> {
    match (spec.stream_enabled, spec.stream_view_type.as_deref()) {
        (Some(true), Some(view)) => Ok(Some(new_stream(view, table_arn, now, seq))),
        (Some(true), None) => Err(ApiError::invalid_parameter(
            "Table is being created with a stream enabled, UpdateViewType is required",
        )),
        (_, Some(_)) => Err(ApiError::invalid_parameter(
            "Table is being created with a stream disabled, UpdateViewType should not be specified",
        )),
        (_, None) => Ok(None),
    }
}

/// `OnDemandThroughput` of the table (`index` = None) or of a GSI: only on on-demand
/// tables, each maximum positive (or -1, "no maximum").
pub fn check_on_demand(
    limits: Option<&shared::wire::ops::create_table::OnDemandThroughput>,
    billing: super::meta::BillingMode,
    index: Option<&str>,
) -> Result<(), ApiError> {
    let Some(limits) = limits else { return Ok(()) };
    let target = match index {
        Some(name) => format!("index : {name}"),
        None => "table".to_string(),
    };
    for (what, value) in [
        ("MaxReadRequestUnits", limits.max_read_request_units),
        ("MaxWriteRequestUnits", limits.max_write_request_units),
    ] {
        let Some(value) = value else { continue };
        if billing == super::meta::BillingMode::Provisioned {
            let whose = match index {
                Some(name) => format!(" for index : {name}"),
                None => String::new(),
            };
            return Err(ApiError::invalid_parameter(format!(
                "{what} for OnDemandThroughput cannot be specified when the table BillingMode is PROVISIONED{whose}"
            )));
        }
        if value < 1 && value != -1 {
            return Err(ApiError::invalid_parameter(format!(
                "Requested {what} for OnDemandThroughput for {target} is outside of valid range"
            )));
        }
    }
    Ok(())
}

/// UpdateTable's `OnDemandThroughput` for the table (`index` = None) or a GSI, checked as
/// CreateTable's is and applied to the `current` maximums: each member given replaces its
/// own (-1: no maximum), one left out keeps its value, so raising the write maximum does
/// not drop a read maximum set to bound cost.
pub fn update_on_demand(
    current: Option<&shared::wire::ops::create_table::OnDemandThroughput>,
    update: &shared::wire::ops::create_table::OnDemandThroughput,
    billing: super::meta::BillingMode,
    index: Option<&str>,
) -> Result<shared::wire::ops::create_table::OnDemandThroughput, ApiError> {
    check_on_demand(Some(update), billing, index)?;
    let mut merged = current.cloned().unwrap_or_default();
    if update.max_read_request_units.is_some() {
        merged.max_read_request_units = update.max_read_request_units;
    }
    if update.max_write_request_units.is_some() {
        merged.max_write_request_units = update.max_write_request_units;
    }
    Ok(merged)
}

/// `TableClass` outside the enum has its own message (not the model-constraint form).
pub fn check_table_class(class: Option<&str>) -> Result<(), ApiError> {
    match class {
        Some(c) if !TABLE_CLASSES.contains(&c) => Err(ApiError::validation(format!(
            "Invalid table-class parameter provided. Please try again with a valid table-class value: [{}].",
            TABLE_CLASSES.join(", ")
        ))),
        _ => Ok(()),
    }
}

/// `Attribute Name is duplicated: X` for a name defined twice.
pub fn check_duplicate_definitions(defs: &[KeyAttr]) -> Result<(), ApiError> {
    for (i, d) in defs.iter().enumerate() {
        if defs[..i].iter().any(|o| o.name == d.name) {
            return Err(ApiError::validation(format!(
                "Attribute Name is duplicated: {}",
                d.name
            )));
        }
    }
    Ok(())
}

/// Encryption settings from a model-valid specification: `Ok(None)` is the default
/// AWS-owned key, which DynamoDB does not describe.
pub fn parse_sse(
    spec: &SseSpecification,
    region: &str,
    account: &str,
) -> Result<Option<SseMeta>, ApiError> {
    if spec.enabled != Some(true) {
        if spec.sse_type.is_some() {
            return Err(ApiError::invalid_parameter(
                "SSEType can not be specified if Enabled is false",
            ));
        }
        if spec.kms_master_key_id.is_some() {
            return Err(ApiError::invalid_parameter(
                "KMSMasterKeyId can not be specified if Enabled is false",
            ));
        }
        return Ok(None);
    }
    match spec.sse_type.as_deref() {
        Some("AES256") => {
            return Err(ApiError::invalid_parameter(
                "SSEType AES256 is not supported",
            ))
        }
        None if spec.kms_master_key_id.is_some() => {
            return Err(ApiError::invalid_parameter(
                "SSEType KMS is required if KMSMasterKeyId is specified",
            ))
        }
        _ => {}
    }
    let key = match spec.kms_master_key_id.as_deref() {
        Some(id) if id.starts_with("arn:") => id.to_string(),
        // An alias names itself in its ARN (`...:alias/name`); this store has no KMS to
        // resolve it to its key's id, and `key/alias/name` is no ARN at all.
        Some(id) if id.starts_with("alias/") => format!("arn:aws:kms:{region}:{account}:{id}"),
        Some(id) => format!("arn:aws:kms:{region}:{account}:key/{id}"),
        None => format!(
            "arn:aws:kms:{region}:{account}:key/{}",
            uuid::Uuid::new_v4()
        ),
    };
    Ok(Some(SseMeta {
        sse_type: "KMS".to_string(),
        kms_master_key_arn: Some(key),
    }))
}

/// Whether a tag key or value uses only the allowed characters: letters, digits, white
/// space and `+ - = . _ : / @`.
fn valid_tag_text(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "+-=._:/@".contains(c))
}

/// Checks `tags` (DynamoDB's own messages, not the model-constraint form) and merges them
/// into `existing`: an existing key is overwritten in place; at most 50 tags in all.
pub fn merge_tags(existing: &mut Vec<(String, String)>, tags: &[Tag]) -> Result<(), ApiError> {
    let mut seen: Vec<&str> = Vec::new();
    for tag in tags {
        let key = tag.key.as_deref().unwrap_or_default();
        check_tag_key(key)?;
        let Some(value) = tag.value.as_deref() else {
            return Err(ApiError::validation(
                "The Tag Value provided is invalid, Value: null",
            ));
        };
        if value.chars().count() > 256 || !valid_tag_text(value) {
            return Err(ApiError::validation(format!(
                "The Tag Value provided is invalid, Value: {value}"
            )));
        }
        if seen.contains(&key) {
            return Err(ApiError::validation(format!(
                "Duplicate Tag Keys provided as input: Duplicate Tag Key found {key}"
            )));
        }
        seen.push(key);
    }
    let mut merged = existing.clone();
    for tag in tags {
        let key = tag.key.clone().unwrap_or_default();
        let value = tag.value.clone().unwrap_or_default();
        match merged.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => merged.push((key, value)),
        }
    }
    if merged.len() > MAX_TAGS {
        return Err(ApiError::validation(
            "Number of Tags exceed the current limit for the provided ResourceArn",
        ));
    }
    *existing = merged;
    Ok(())
}

/// A tag key: 1 to 128 allowed characters, not starting with `aws:` in any case (AWS's tag
/// key pattern, `^(?![aA][wW][sS]:)`, reserves every spelling).
pub fn check_tag_key(key: &str) -> Result<(), ApiError> {
    let len = key.chars().count();
    if len == 0 || len > 128 || !valid_tag_text(key) {
        return Err(ApiError::validation(format!(
            "The Tag Key provided is invalid, Key: {key}"
        )));
    }
    if key
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
    {
        return Err(ApiError::validation(format!(
            "Tag Key cannot be prefixed with aws:, Key: {key}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kms_key_is_named_by_a_well_formed_arn() {
        let arn_of = |id: &str| {
            let spec = SseSpecification {
                enabled: Some(true),
                sse_type: Some("KMS".into()),
                kms_master_key_id: Some(id.into()),
            };
            parse_sse(&spec, "us-east-1", "123456789012")
                .unwrap()
                .and_then(|sse| sse.kms_master_key_arn)
                .unwrap()
        };
        assert_eq!(
            arn_of("1234abcd-12ab-34cd-56ef-1234567890ab"),
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        );
        assert_eq!(
            arn_of("alias/mykey"),
            "arn:aws:kms:us-east-1:123456789012:alias/mykey"
        );
        let given = "arn:aws:kms:eu-west-1:123456789012:key/k";
        assert_eq!(arn_of(given), given);
    }

    fn ks(parts: &[(&str, &str)]) -> Vec<KeySchemaElement> {
        parts
            .iter()
            .map(|(n, t)| KeySchemaElement::new(n, t))
            .collect()
    }

    fn defs(parts: &[(&str, ScalarType)]) -> Vec<KeyAttr> {
        parts
            .iter()
            .map(|(n, ty)| KeyAttr {
                name: n.to_string(),
                ty: *ty,
            })
            .collect()
    }

    fn msg(r: Result<KeySchema, ApiError>) -> String {
        r.err().and_then(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn gsi_key_schemas_may_have_several_hash_and_range_attributes() {
        use ScalarType::{N, S};
        let all = defs(&[("h", S), ("h2", N), ("a", S), ("b", N), ("c", S), ("d", S)]);
        let schema = parse_global_index_key_schema(
            &ks(&[
                ("h", "HASH"),
                ("h2", "HASH"),
                ("a", "RANGE"),
                ("b", "RANGE"),
            ]),
            &all,
        )
        .unwrap();
        let names: Vec<(&str, ScalarType)> = schema
            .attributes()
            .map(|a| (a.name.as_str(), a.ty))
            .collect();
        assert_eq!(names, [("h", S), ("h2", N), ("a", S), ("b", N)]);
        assert_eq!((schema.more_hash.len(), schema.more_range.len()), (1, 1));
        let two_hash =
            parse_global_index_key_schema(&ks(&[("h", "HASH"), ("h2", "HASH")]), &all).unwrap();
        assert_eq!((two_hash.range, two_hash.more_hash.len()), (None, 1));
        // The classic shapes keep their own checks and messages.
        let classic =
            parse_global_index_key_schema(&ks(&[("h", "HASH"), ("a", "RANGE")]), &all).unwrap();
        assert!(!classic.is_multi_attribute());
        assert_eq!(
            msg(parse_global_index_key_schema(
                &ks(&[("a", "RANGE"), ("b", "RANGE"), ("c", "RANGE")]),
                &all
            )),
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"
        );
        assert_eq!(
            msg(parse_global_index_key_schema(
                &ks(&[("h", "HASH"), ("a", "RANGE"), ("h2", "HASH")]),
                &all
            )),
            "Invalid KeySchema: HASH key attributes must come before RANGE key attributes"
        );
        assert_eq!(
            msg(parse_global_index_key_schema(
                &ks(&[("h", "HASH"), ("a", "RANGE"), ("a", "RANGE")]),
                &all
            )),
            "Invalid KeySchema: Some index key attributes are specified more than once"
        );
        let five = ks(&[
            ("h", "HASH"),
            ("h2", "HASH"),
            ("a", "HASH"),
            ("b", "HASH"),
            ("c", "HASH"),
        ]);
        assert_eq!(
            msg(parse_global_index_key_schema(&five, &all)),
            "Invalid KeySchema: A key may have at most 4 HASH and 4 RANGE key attributes"
        );
        assert!(msg(parse_global_index_key_schema(
            &ks(&[("h", "HASH"), ("a", "RANGE"), ("zz", "RANGE")]),
            &all
        ))
        .starts_with(
            "One or more parameter values were invalid: Some index key attributes are not defined"
        ));
        // Neither a table's key nor an LSI's: they stay at one attribute of each kind.
        let mut v = Violations::new();
        let three = ks(&[("h", "HASH"), ("a", "RANGE"), ("b", "RANGE")]);
        check_key_schema(&mut v, "keySchema", Some(&three), true, MAX_KEY_ELEMENTS);
        check_key_schema(&mut v, "gsi", Some(&three), false, MAX_GSI_KEY_ELEMENTS);
        let refused = v.finish().unwrap_err().message.unwrap_or_default();
        assert!(
            refused.contains("'keySchema'") && !refused.contains("'gsi'"),
            "{refused}"
        );
    }

    #[test]
    fn table_key_schema_messages() {
        use ScalarType::S;
        assert_eq!(
            msg(parse_table_key_schema(&ks(&[("a", "HASH")]), &defs(&[("b", S)]))),
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [a], AttributeDefinitions: [b]"
        );
        assert_eq!(
            msg(parse_table_key_schema(
                &ks(&[("a", "HASH"), ("a", "HASH")]),
                &defs(&[("a", S)])
            )),
            "Invalid KeySchema: Some index key attribute have no definition"
        );
        assert_eq!(
            msg(parse_table_key_schema(
                &ks(&[("a", "HASH"), ("a", "HASH")]),
                &defs(&[("a", S), ("b", S)])
            )),
            "Both the Hash Key and the Range Key element in the KeySchema have the same name"
        );
        assert_eq!(
            msg(parse_table_key_schema(
                &ks(&[("a", "HASH"), ("b", "HASH")]),
                &defs(&[("a", S), ("b", S)])
            )),
            "Invalid KeySchema: The second KeySchemaElement is not a RANGE key type"
        );
        assert_eq!(
            msg(parse_table_key_schema(
                &ks(&[("sk", "RANGE")]),
                &defs(&[("sk", S)])
            )),
            "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"
        );
        let ok = parse_table_key_schema(
            &ks(&[("a", "HASH"), ("b", "RANGE")]),
            &defs(&[("a", S), ("b", ScalarType::N)]),
        );
        assert_eq!(
            ok.ok().and_then(|s| s.range).map(|r| r.ty),
            Some(ScalarType::N)
        );
    }

    #[test]
    fn model_checks_for_key_schema_and_types() {
        let mut v = Violations::new();
        check_key_schema(
            &mut v,
            "keySchema",
            Some(&ks(&[("a", "HASH"), ("b", "RANGE"), ("c", "RANGE")])),
            true,
            MAX_KEY_ELEMENTS,
        );
        check_attribute_definitions(
            &mut v,
            "attributeDefinitions",
            Some(&[AttributeDefinition {
                attribute_name: Some("pk".into()),
                attribute_type: Some("SS".into()),
            }]),
            true,
        );
        let text = v.finish().err().and_then(|e| e.message).unwrap_or_default();
        assert_eq!(
            text,
            "2 validation errors detected: Value '[KeySchemaElement(attributeName=a, keyType=HASH), KeySchemaElement(attributeName=b, keyType=RANGE), KeySchemaElement(attributeName=c, keyType=RANGE)]' at 'keySchema' failed to satisfy constraint: Member must have length less than or equal to 2; \
             Value 'SS' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
        );
    }

    #[test]
    fn projection_rules() {
        let p = |t: Option<&str>, n: Option<Vec<&str>>| Projection {
            projection_type: t.map(str::to_string),
            non_key_attributes: n.map(|v| v.into_iter().map(str::to_string).collect()),
        };
        let err = |r: Result<IndexProjection, ApiError>| {
            r.err().and_then(|e| e.message).unwrap_or_default()
        };
        assert_eq!(
            err(parse_projection(&p(None, None))),
            "One or more parameter values were invalid: Unknown ProjectionType: null"
        );
        assert_eq!(
            err(parse_projection(&p(Some("ALL"), Some(vec!["x"])))),
            "One or more parameter values were invalid: ProjectionType is ALL, but NonKeyAttributes is specified"
        );
        assert!(parse_projection(&p(Some("INCLUDE"), None)).is_err());
        assert!(parse_projection(&p(Some("INCLUDE"), Some(vec!["x"]))).is_ok());
        assert_eq!(
            err(parse_projection(&p(
                Some("INCLUDE"),
                Some(vec!["x", "y", "x"])
            ))),
            "One or more parameter values were invalid: Duplicate element in NonKeyAttributes: x"
        );
    }

    #[test]
    fn tags_merge_and_limits() {
        let tag = |k: &str, v: &str| Tag {
            key: Some(k.into()),
            value: Some(v.into()),
        };
        let message = |r: Result<(), ApiError>| r.err().and_then(|e| e.message).unwrap_or_default();
        let mut tags = Vec::new();
        assert!(merge_tags(&mut tags, &[tag("a", "1"), tag("b", "2")]).is_ok());
        assert!(merge_tags(&mut tags, &[tag("a", "3")]).is_ok());
        assert_eq!(
            tags,
            vec![
                ("a".to_string(), "3".to_string()),
                ("b".to_string(), "2".to_string())
            ]
        );
        assert_eq!(
            message(merge_tags(&mut tags, &[tag("aws:x", "1")])),
            "Tag Key cannot be prefixed with aws:, Key: aws:x"
        );
        let mut others = Vec::new();
        for reserved in ["AWS:x", "Aws:x", "aWs:"] {
            let refused = merge_tags(&mut others, &[tag(reserved, "1")]);
            assert!(refused.is_err(), "{reserved}");
        }
        assert!(merge_tags(&mut others, &[tag("aws", "1"), tag("awsx:y", "1")]).is_ok());
        assert_eq!(
            message(merge_tags(&mut tags, &[tag("d", "1"), tag("d", "2")])),
            "Duplicate Tag Keys provided as input: Duplicate Tag Key found d"
        );
        assert_eq!(
            message(merge_tags(
                &mut tags,
                &[Tag {
                    key: Some("k".into()),
                    value: None
                }]
            )),
            "The Tag Value provided is invalid, Value: null"
        );
        let many: Vec<Tag> = (0..49).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert_eq!(
            message(merge_tags(&mut tags, &many)),
            "Number of Tags exceed the current limit for the provided ResourceArn"
        );
        assert_eq!(tags.len(), 2);
    }
}
