//! A table's vector indexes: the definition the catalog keeps, the checks CreateTable
//! (and UpdateTable's `Create`) run on a requested one, and DescribeTable's view.
//!
//! A vector index reads one attribute of each item as a vector: a list of exactly
//! `dimensions` numbers. Its search schema names attributes (declared in
//! AttributeDefinitions, as key attributes are) that a search narrows by: a HASH attribute
//! the search must give, INLINE_FILTER attributes it may. Storage keeps the index's
//! entries (`storage::vector_entries`) under an index id from the table's sequence, which
//! its GSIs share; one added by UpdateTable is filled from the table's items first
//! (`index_tasks`), CREATING until then.

use serde::{Deserialize, Serialize};
use shared::model::KeyAttr;
use shared::wire::error::ApiError;
use shared::wire::ops::validate::Violations;
use shared::wire::ops::vector::{
    SearchSchemaElement, VectorAttributeDefinition, VectorIndex, VectorIndexDescription,
};

use super::definition::{self as def, element_path};
use super::meta::{IndexProjection, IndexStatus};
use crate::storage::VectorLayout;

/// The distance functions' names, as the model lists them.
pub const DISTANCE_FUNCTIONS: &[&str] = &["COSINE", "DOT_PRODUCT", "EUCLIDEAN"];
/// The search schema element types.
pub const SEARCH_SCHEMA_TYPES: &[&str] = &["HASH", "INLINE_FILTER"];
/// The most dimensions a vector may have (SearchVectors' `SearchVector` holds at most as
/// many numbers).
pub const MAX_DIMENSIONS: i64 = 4096;

/// How a search scores an item's vector against the search vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Distance {
    /// 1 - cosine similarity: 0 (same direction) to 2 (opposite); smallest first.
    Cosine,
    /// Euclidean distance; smallest first.
    Euclidean,
    /// Dot product; largest first.
    DotProduct,
}

impl Distance {
    fn parse(text: &str) -> Option<Distance> {
        match text {
            "COSINE" => Some(Distance::Cosine),
            "EUCLIDEAN" => Some(Distance::Euclidean),
            "DOT_PRODUCT" => Some(Distance::DotProduct),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Distance::Cosine => "COSINE",
            Distance::Euclidean => "EUCLIDEAN",
            Distance::DotProduct => "DOT_PRODUCT",
        }
    }
}

/// What a search schema attribute does in a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SearchRole {
    /// Partitions the index: every search names one value of it.
    Hash,
    /// Narrows a search when it names a value.
    InlineFilter,
}

impl SearchRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchRole::Hash => "HASH",
            SearchRole::InlineFilter => "INLINE_FILTER",
        }
    }
}

/// One vector index, as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VectorIndexMeta {
    pub name: String,
    pub arn: String,
    /// The attribute holding each item's vector.
    pub attribute: String,
    pub dimensions: usize,
    pub distance: Distance,
    pub projection: IndexProjection,
    /// In request order.
    #[serde(default)]
    pub search_schema: Vec<(String, SearchRole)>,
    /// Where storage keeps its entries. 0 in a catalog written before vector indexes had
    /// entries: `Catalog::load` gives such an index an id and fills it.
    #[serde(default)]
    pub index_id: u16,
    #[serde(default = "active")]
    pub status: IndexStatus,
    /// True while one added by UpdateTable is being filled from the table.
    #[serde(default)]
    pub backfilling: bool,
}

fn active() -> IndexStatus {
    IndexStatus::Active
}

impl VectorIndexMeta {
    /// The search schema's HASH attribute, if it has one.
    pub fn hash_attribute(&self) -> Option<&str> {
        self.search_schema
            .iter()
            .find(|(_, role)| *role == SearchRole::Hash)
            .map(|(name, _)| name.as_str())
    }

    /// Whether `name` is in the search schema.
    pub fn in_search_schema(&self, name: &str) -> bool {
        self.search_schema.iter().any(|(n, _)| n == name)
    }

    /// The index as storage maintains it.
    pub fn layout(&self) -> VectorLayout {
        VectorLayout {
            index_id: self.index_id,
            name: self.name.clone(),
            attribute: self.attribute.clone(),
            dimensions: self.dimensions,
            hash: self.hash_attribute().map(str::to_string),
            search_schema: self.search_schema.iter().map(|(n, _)| n.clone()).collect(),
            projection: self.projection.stored(),
            filling: self.backfilling,
        }
    }

    pub fn describe(&self) -> VectorIndexDescription {
        let search_schema = (!self.search_schema.is_empty()).then(|| {
            self.search_schema
                .iter()
                .map(|(name, role)| SearchSchemaElement {
                    attribute_name: Some(name.clone()),
                    search_schema_element_type: Some(role.as_str().to_string()),
                })
                .collect()
        });
        VectorIndexDescription {
            index_name: self.name.clone(),
            vector_attribute: VectorAttributeDefinition {
                attribute_name: Some(self.attribute.clone()),
            },
            dimensions: self.dimensions as i64,
            distance_function: self.distance.as_str().to_string(),
            projection: self.projection.describe(),
            search_schema,
            index_status: self.status.as_str().to_string(),
            backfilling: self.backfilling,
            index_size_bytes: 0,
            item_count: 0,
            index_arn: self.arn.clone(),
        }
    }
}

/// The model constraints of the vector index at `base` (e.g. `vectorIndexes.1.member`).
pub fn check_model(v: &mut Violations, base: &str, index: &VectorIndex) {
    def::check_projection(v, &format!("{base}.projection"), index.projection.as_ref());
    def::check_index_name(v, &format!("{base}.indexName"), index.index_name.as_deref());
    let attribute = format!("{base}.vectorAttribute");
    if v.not_null(&attribute, index.vector_attribute.is_some()) {
        let name = index
            .vector_attribute
            .as_ref()
            .and_then(|a| a.attribute_name.as_deref());
        let path = format!("{attribute}.attributeName");
        if v.not_null(&path, name.is_some()) {
            v.length(&path, name, 1, 255);
        }
    }
    let dimensions = format!("{base}.dimensions");
    if v.not_null(&dimensions, index.dimensions.is_some()) {
        v.at_least(&dimensions, index.dimensions, 1);
    }
    let distance = format!("{base}.distanceFunction");
    if v.not_null(&distance, index.distance_function.is_some()) {
        v.enumeration(
            &distance,
            index.distance_function.as_deref(),
            DISTANCE_FUNCTIONS,
        );
    }
    for (i, element) in index.search_schema.iter().flatten().enumerate() {
        let element_base = element_path(&format!("{base}.searchSchema"), i);
        let name = format!("{element_base}.attributeName");
        v.not_null(&name, element.attribute_name.is_some());
        let kind = format!("{element_base}.searchSchemaElementType");
        if v.not_null(&kind, element.search_schema_element_type.is_some()) {
            v.enumeration(
                &kind,
                element.search_schema_element_type.as_deref(),
                SEARCH_SCHEMA_TYPES,
            );
        }
    }
}

/// A vector index definition (model-valid) against the attribute definitions; `arn` is
/// the table's. The name's uniqueness among the table's indexes is the caller's to check.
pub fn plan(
    index: &VectorIndex,
    definitions: &[KeyAttr],
    table_arn: &str,
) -> Result<VectorIndexMeta, ApiError> {
    let name = index.index_name.clone().unwrap_or_default();
    let dimensions = index.dimensions.unwrap_or(1);
    if dimensions > MAX_DIMENSIONS {
        return Err(ApiError::invalid_parameter(format!(
            "Dimensions for vector index {name} must be between 1 and {MAX_DIMENSIONS}"
        )));
    }
    let mut search_schema = Vec::new();
    for element in index.search_schema.iter().flatten() {
        let attribute = element.attribute_name.clone().unwrap_or_default();
        if !definitions.iter().any(|d| d.name == attribute) {
            return Err(ApiError::invalid_parameter(format!(
                "SearchSchema attribute {attribute} of vector index {name} is not defined in AttributeDefinitions"
            )));
        }
        if search_schema.iter().any(|(n, _)| *n == attribute) {
            return Err(ApiError::invalid_parameter(format!(
                "Duplicate SearchSchema attribute {attribute} in vector index {name}"
            )));
        }
        let role = match element.search_schema_element_type.as_deref() {
            Some("HASH") => SearchRole::Hash,
            _ => SearchRole::InlineFilter,
        };
        if role == SearchRole::Hash && search_schema.iter().any(|(_, r)| *r == SearchRole::Hash) {
            return Err(ApiError::invalid_parameter(format!(
                "SearchSchema of vector index {name} has more than one HASH attribute"
            )));
        }
        search_schema.push((attribute, role));
    }
    let projection = def::parse_projection(&index.projection.clone().unwrap_or_default())?;
    Ok(VectorIndexMeta {
        arn: format!("{table_arn}/index/{name}"),
        attribute: index
            .vector_attribute
            .as_ref()
            .and_then(|a| a.attribute_name.clone())
            .unwrap_or_default(),
        dimensions: usize::try_from(dimensions).unwrap_or(1),
        distance: index
            .distance_function
            .as_deref()
            .and_then(Distance::parse)
            .unwrap_or(Distance::Cosine),
        projection,
        search_schema,
        name,
        // Given by the caller, which allocates the table's index ids.
        index_id: 0,
        status: IndexStatus::Active,
        backfilling: false,
    })
}

/// Vector indexes on one attribute must agree on its dimensions (the API reference's
/// rule): `index` against the table's `others`.
pub fn check_same_dimensions(
    index: &VectorIndexMeta,
    others: &[VectorIndexMeta],
) -> Result<(), ApiError> {
    match others
        .iter()
        .find(|o| o.attribute == index.attribute && o.dimensions != index.dimensions)
    {
        Some(other) => Err(ApiError::invalid_parameter(format!(
            "Vector indexes {} and {} read attribute {} with different dimensions ({} and {})",
            other.name, index.name, index.attribute, other.dimensions, index.dimensions
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::ScalarType;
    use shared::wire::ops::create_table::Projection;

    fn index(name: &str, dimensions: i64, schema: &[(&str, &str)]) -> VectorIndex {
        VectorIndex {
            index_name: Some(name.into()),
            vector_attribute: Some(VectorAttributeDefinition {
                attribute_name: Some("v".into()),
            }),
            dimensions: Some(dimensions),
            distance_function: Some("DOT_PRODUCT".into()),
            projection: Some(Projection {
                projection_type: Some("KEYS_ONLY".into()),
                non_key_attributes: None,
            }),
            search_schema: (!schema.is_empty()).then(|| {
                schema
                    .iter()
                    .map(|(name, kind)| SearchSchemaElement {
                        attribute_name: Some(name.to_string()),
                        search_schema_element_type: Some(kind.to_string()),
                    })
                    .collect()
            }),
        }
    }

    fn definitions() -> Vec<KeyAttr> {
        ["pk", "tenant", "kind"]
            .iter()
            .map(|name| KeyAttr {
                name: name.to_string(),
                ty: ScalarType::S,
            })
            .collect()
    }

    fn refusal(r: Result<VectorIndexMeta, ApiError>) -> String {
        r.err().and_then(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn a_vector_index_needs_its_search_schema_defined_once_with_one_hash() {
        let defs = definitions();
        let planned = plan(
            &index("vix", 3, &[("tenant", "HASH"), ("kind", "INLINE_FILTER")]),
            &defs,
            "arn:t",
        )
        .unwrap();
        assert_eq!(planned.arn, "arn:t/index/vix");
        assert_eq!(
            (planned.dimensions, planned.distance),
            (3, Distance::DotProduct)
        );
        assert_eq!(planned.hash_attribute(), Some("tenant"));
        let table = shared::model::KeySchema::new(defs[0].clone(), None);
        // KEYS_ONLY keeps the table key, the vector and the search schema.
        for (name, kept) in [("pk", true), ("v", true), ("kind", true), ("note", false)] {
            assert_eq!(planned.layout().keeps(&table, name), kept, "{name}");
        }
        assert!(refusal(plan(&index("vix", 3, &[("zone", "HASH")]), &defs, "a")).contains("zone"));
        assert!(refusal(plan(
            &index("vix", 3, &[("tenant", "HASH"), ("kind", "HASH")]),
            &defs,
            "a"
        ))
        .contains("more than one HASH"));
        assert!(refusal(plan(
            &index("vix", 3, &[("kind", "HASH"), ("kind", "INLINE_FILTER")]),
            &defs,
            "a"
        ))
        .contains("Duplicate"));
        assert!(refusal(plan(&index("vix", MAX_DIMENSIONS + 1, &[]), &defs, "a")).contains("4096"));
        let four = plan(&index("other", 4, &[]), &defs, "a").unwrap();
        assert!(check_same_dimensions(&four, std::slice::from_ref(&planned)).is_err());
        let three = plan(&index("same", 3, &[]), &defs, "a").unwrap();
        assert!(check_same_dimensions(&three, &[planned]).is_ok());
    }

    #[test]
    fn the_model_names_each_missing_member() {
        let mut v = Violations::new();
        let empty = VectorIndex::default();
        check_model(&mut v, "vectorIndexes.1.member", &empty);
        let message = v.finish().unwrap_err().message.unwrap_or_default();
        for member in [
            "indexName",
            "vectorAttribute",
            "dimensions",
            "distanceFunction",
            "projection",
        ] {
            assert!(
                message.contains(&format!("vectorIndexes.1.member.{member}")),
                "{member}: {message}"
            );
        }
        let mut v = Violations::new();
        let mut bad = index("vix", 0, &[]);
        bad.distance_function = Some("MANHATTAN".into());
        check_model(&mut v, "vectorIndexes.1.member", &bad);
        let message = v.finish().unwrap_err().message.unwrap_or_default();
        assert!(
            message.contains("dimensions") && message.contains("[COSINE, DOT_PRODUCT, EUCLIDEAN]"),
            "{message}"
        );
    }
}
