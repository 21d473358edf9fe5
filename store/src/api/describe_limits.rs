//! DescribeLimits: the account and per-table capacity maxima DynamoDB reports by default
//! (DYNAMODB.md §6).

use shared::wire::error::ApiError;
use shared::wire::ops::describe_limits::{DescribeLimitsInput, DescribeLimitsOutput};

use crate::app::App;

pub const ACCOUNT_MAX_CAPACITY_UNITS: i64 = 80_000;
pub const TABLE_MAX_CAPACITY_UNITS: i64 = 40_000;

pub async fn handle(
    _app: &App,
    _input: DescribeLimitsInput,
) -> Result<DescribeLimitsOutput, ApiError> {
    Ok(DescribeLimitsOutput {
        account_max_read_capacity_units: ACCOUNT_MAX_CAPACITY_UNITS,
        account_max_write_capacity_units: ACCOUNT_MAX_CAPACITY_UNITS,
        table_max_read_capacity_units: TABLE_MAX_CAPACITY_UNITS,
        table_max_write_capacity_units: TABLE_MAX_CAPACITY_UNITS,
    })
}
