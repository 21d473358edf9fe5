//! SearchVectors: the TopK items of a table whose vectors score best against a search
//! vector under one of the table's vector indexes, optionally narrowed by the index's
//! search schema (`SearchConditionExpression`: an equality on its HASH attribute, which
//! is then required, and on INLINE_FILTER attributes).
//!
//! Checks run as DynamoDB's do where the dynamodb-conformance suite captured them
//! (tier3/error-messages/searchVectors.test.ts): TopK's range, the search vector's
//! values and then its length, the condition's comparators, attributes outside the
//! search schema and a missing HASH equality, each with DynamoDB's words.
//!
//! The search reads the index's entries (`storage::vector_entries`), only those of the
//! HASH value asked for when the index has a HASH attribute, and is exact: every entry the
//! condition keeps is scored (on a blocking thread, so a large index does not stall the
//! other requests of this core), and the best TopK are kept. DynamoDB's index is
//! approximate, so exact answers are answers it may give; what this costs is time linear
//! in the index (or the partition), which suits the indexes a local store holds better
//! than the millions an approximate index is built for. Each entry is read only as far
//! as the search needs: its vector (stored as floats), the condition's attributes, and
//! the projected item once it ranks (bench/vector-search.sh).

use shared::expr::{self, Substitutions};
use shared::model::{AttributeValue, Item};
use shared::wire::error::ApiError;
use shared::wire::ops::common::ReturnConsumedCapacity;
use shared::wire::ops::validate::Violations;
use shared::wire::ops::vector::{
    vector_component, SearchResultItem, SearchVectorsInput, SearchVectorsOutput, VectorCapacity,
};

use crate::app::App;
use crate::catalog::vector::{Distance, VectorIndexMeta, MAX_DIMENSIONS};
use crate::storage::{Storage, VectorLayout};
use crate::vector::{ranks_before, SearchVector};

/// The most results one search returns.
pub const MAX_TOP_K: i64 = 100;

pub async fn handle(app: &App, input: SearchVectorsInput) -> Result<SearchVectorsOutput, ApiError> {
    check_model(&input)?;
    let top_k = input.top_k.unwrap_or(1);
    if top_k > MAX_TOP_K {
        return Err(ApiError::validation(format!(
            "Provided TopK value '{top_k}' is out of valid range. The value must be between 1 and {MAX_TOP_K} inclusive"
        )));
    }
    let capacity = ReturnConsumedCapacity::parse(input.return_consumed_capacity.as_deref())?;
    let table = app
        .catalog
        .table_for_data(input.table_name.as_deref().unwrap_or_default())?;
    let index_name = input.index_name.as_deref().unwrap_or_default();
    let Some(index) = table.vector_indexes.iter().find(|v| v.name == index_name) else {
        return Err(ApiError::validation(format!(
            "The table does not have the specified index: {index_name}"
        )));
    };
    if index.backfilling {
        return Err(ApiError::validation(format!(
            "Cannot read from backfilling vector index: {index_name}"
        )));
    }
    let search = search_vector(input.search_vector.as_deref().unwrap_or_default(), index)?;

    let names = input.expression_attribute_names.as_ref();
    let values = input.expression_attribute_values.as_ref().map(|v| &v.0);
    let subs = Substitutions::new(names, values);
    let condition = match input.search_condition_expression.as_deref() {
        Some(text) => expr::parse_search_condition(text, &subs)?,
        None => Vec::new(),
    };
    let projection = input
        .projection_expression
        .as_deref()
        .map(|text| expr::parse_projection(text, &subs))
        .transpose()?;
    subs.check_all_used()?;
    check_condition(
        index,
        &condition,
        input.search_condition_expression.is_some(),
    )?;

    let hash = index.hash_attribute().and_then(|name| {
        condition
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.clone())
    });
    let plan = Search {
        table_id: table.table_id(),
        index: index.layout(),
        distance: index.distance,
        hash,
        search: SearchVector::new(&search),
        condition,
        top_k: usize::try_from(top_k).unwrap_or(1),
    };
    let storage = app.storage.clone();
    let (found, scored) = tokio::task::spawn_blocking(move || plan.run(&storage))
        .await
        .map_err(|_| ApiError::internal())??;
    let search_results = found
        .into_iter()
        .map(|(score, item)| SearchResultItem {
            item: match &projection {
                Some(projection) => projection.apply(&item),
                None => item,
            },
            score,
        })
        .collect();
    // Bytes processed: the search vector and every vector of the index (or of its HASH
    // value) it was scored against, four bytes a dimension (DynamoDB's own figure varies
    // from call to call; the shape is its own).
    let processed = 4 * index.dimensions * (1 + scored);
    let consumed_capacity = (capacity != ReturnConsumedCapacity::None).then_some(VectorCapacity {
        vector_search_request_bytes: Some(processed as f64),
        vector_write_request_bytes: None,
    });
    Ok(SearchVectorsOutput {
        search_results,
        consumed_capacity,
    })
}

/// The request's model constraints, reported together.
fn check_model(input: &SearchVectorsInput) -> Result<(), ApiError> {
    let mut v = Violations::new();
    v.member_table_name("tableName", input.table_name.as_deref());
    if v.not_null("indexName", input.index_name.is_some()) {
        v.name("indexName", input.index_name.as_deref(), 3, 255);
    }
    if v.not_null("searchVector", input.search_vector.is_some()) {
        let length = input.search_vector.as_ref().map_or(0, Vec::len);
        if length == 0 {
            v.unechoed(
                "searchVector",
                "Member must have length greater than or equal to 1",
            );
        }
        if length > MAX_DIMENSIONS as usize {
            let limit = format!("Member must have length less than or equal to {MAX_DIMENSIONS}");
            v.unechoed("searchVector", &limit);
        }
    }
    if v.not_null("topK", input.top_k.is_some()) {
        v.at_least("topK", input.top_k, 1);
    }
    v.finish()
}

/// The search vector's components: every value an `N` a 32-bit float holds, then as many
/// as the index's dimensions.
fn search_vector(values: &[AttributeValue], index: &VectorIndexMeta) -> Result<Vec<f32>, ApiError> {
    let components: Option<Vec<f32>> = values.iter().map(vector_component).collect();
    let Some(components) = components else {
        return Err(ApiError::validation(
            "Search vector contains invalid values. All values in the search vector must be a 32-bit floating-point number attribute",
        ));
    };
    if components.len() != index.dimensions {
        return Err(ApiError::validation(format!(
            "Input search vector dimension {} does not match vector index dimension {}",
            components.len(),
            index.dimensions
        )));
    }
    Ok(components)
}

/// The condition against the index's search schema: only its attributes, and its HASH
/// attribute whenever it has one.
fn check_condition(
    index: &VectorIndexMeta,
    condition: &[(String, AttributeValue)],
    given: bool,
) -> Result<(), ApiError> {
    if let Some((name, _)) = condition.iter().find(|(n, _)| !index.in_search_schema(n)) {
        return Err(ApiError::validation(format!(
            "SearchConditionExpression must not contain any attributes that is not in SearchSchema. Invalid attribute: {name}"
        )));
    }
    if let Some(hash) = index.hash_attribute() {
        if !given {
            return Err(ApiError::validation(
                "SearchConditionExpression must be provided when SearchSchema has a HASH key",
            ));
        }
        if !condition.iter().any(|(n, _)| n == hash) {
            return Err(ApiError::validation(format!(
                "SearchConditionExpression must specify an equality condition on the SearchSchema HASH key: {hash}"
            )));
        }
    }
    Ok(())
}

/// One search, ready to run away from the request's task.
struct Search {
    table_id: u64,
    index: VectorLayout,
    distance: Distance,
    /// The HASH attribute's value the condition names: the partition searched.
    hash: Option<AttributeValue>,
    search: SearchVector,
    condition: Vec<(String, AttributeValue)>,
    top_k: usize,
}

impl Search {
    /// The best `top_k` items, best first, each as the index projects it, and how many
    /// vectors were scored.
    fn run(self, storage: &Storage) -> Result<(Vec<(f64, Item)>, usize), ApiError> {
        let failure = |e: crate::storage::StorageError| {
            tracing::error!(error = %e, "vector search cannot read the index");
            ApiError::internal()
        };
        let distance = self.distance;
        let mut best: Vec<(f64, Item)> = Vec::with_capacity(self.top_k + 1);
        let mut scored = 0;
        let mut vector = Vec::with_capacity(self.index.dimensions);
        for entry in storage.vector_entries(self.table_id, &self.index, self.hash.as_ref()) {
            let entry = entry.map_err(failure)?;
            entry.vector_into(&mut vector).map_err(failure)?;
            scored += 1;
            let s = self.search.score(distance, &vector);
            if best.len() == self.top_k
                && !best
                    .last()
                    .is_some_and(|(worst, _)| ranks_before(distance, s, *worst))
            {
                continue;
            }
            // The condition is checked only for an entry that would rank, which few do:
            // its INLINE_FILTER values (and its HASH value: the partition read may hold
            // another value of the same hash) are read from the entry's attributes then.
            let item = entry.decode().map_err(failure)?;
            if !self.matches(&item) {
                continue;
            }
            // Ties keep the order entries were read in (the table's scan order within
            // a partition).
            let at = best.partition_point(|(other, _)| !ranks_before(distance, s, *other));
            best.insert(at, (s, item));
            best.truncate(self.top_k);
        }
        Ok((best, scored))
    }

    /// Whether the entry has every value the condition names.
    fn matches(&self, item: &Item) -> bool {
        self.condition
            .iter()
            .all(|(name, value)| item.get(name) == Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::model::Number;

    fn input(values: usize) -> SearchVectorsInput {
        SearchVectorsInput {
            table_name: Some("table".into()),
            index_name: Some("vix".into()),
            search_vector: Some(vec![AttributeValue::N(Number::from_i64(1)); values]),
            top_k: Some(1),
            ..Default::default()
        }
    }

    fn refusal(input: &SearchVectorsInput) -> String {
        check_model(input)
            .err()
            .and_then(|e| e.message)
            .unwrap_or_default()
    }

    #[test]
    fn the_model_bounds_the_search_vector_and_needs_every_member() {
        assert!(check_model(&input(1)).is_ok());
        assert!(check_model(&input(MAX_DIMENSIONS as usize)).is_ok());
        assert!(refusal(&input(MAX_DIMENSIONS as usize + 1))
            .contains("'searchVector' failed to satisfy constraint: Member must have length less than or equal to 4096"));
        assert!(refusal(&input(0)).contains("greater than or equal to 1"));
        let missing = refusal(&SearchVectorsInput::default());
        for member in ["tableName", "indexName", "searchVector", "topK"] {
            assert!(
                missing.contains(&format!("'{member}'")),
                "{member}: {missing}"
            );
        }
    }
}
