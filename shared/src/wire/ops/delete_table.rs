//! DeleteTable's request and response.

use serde::{Deserialize, Serialize};

use super::describe_table::TableDescription;

/// DeleteTable's request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteTableInput {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
}

/// DeleteTable's response: the description with `TableStatus: DELETING`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteTableOutput {
    pub table_description: TableDescription,
}
