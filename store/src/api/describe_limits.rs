//! DescribeLimits: the account and per-table capacity quotas, DynamoDB's defaults unless
//! the store was started with others (`catalog::quota`).

use shared::wire::error::ApiError;
use shared::wire::ops::describe_limits::{DescribeLimitsInput, DescribeLimitsOutput};

use crate::app::App;

pub async fn handle(
    app: &App,
    _input: DescribeLimitsInput,
) -> Result<DescribeLimitsOutput, ApiError> {
    let quotas = app.config.quotas;
    Ok(DescribeLimitsOutput {
        account_max_read_capacity_units: quotas.account_max,
        account_max_write_capacity_units: quotas.account_max,
        table_max_read_capacity_units: quotas.table_max,
        table_max_write_capacity_units: quotas.table_max,
    })
}
