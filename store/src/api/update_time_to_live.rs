//! UpdateTimeToLive: enables TTL on one attribute or disables it, echoing the
//! specification. Enabling when enabled, disabling when disabled, disabling under another
//! attribute name than the enabled one, and a change within `--ttl-change-interval` (an
//! hour) of the last one are ValidationExceptions; a missing table is
//! ResourceNotFoundException. Any attribute may hold the expiry, key attributes included
//! (as in DynamoDB; a key that is not a Number simply never expires).

use shared::wire::error::ApiError;
use shared::wire::ops::update_time_to_live::{UpdateTimeToLiveInput, UpdateTimeToLiveOutput};
use shared::wire::ops::validate::{self, Violations};

use crate::app::App;
use crate::ttl::{self, TtlSetting};

pub const ALREADY_ENABLED: &str = "TimeToLive is already enabled";
pub const ALREADY_DISABLED: &str = "TimeToLive is already disabled";
pub const CHANGED_TOO_OFTEN: &str =
    "Time to live has been modified multiple times within a fixed interval";

pub async fn handle(
    app: &App,
    input: UpdateTimeToLiveInput,
) -> Result<UpdateTimeToLiveOutput, ApiError> {
    let mut v = Violations::new();
    validate::table_name(&mut v, "tableName", input.table_name.as_deref(), true)?;
    v.not_null(
        "timeToLiveSpecification",
        input.time_to_live_specification.is_some(),
    );
    if let Some(spec) = &input.time_to_live_specification {
        v.not_null(
            "timeToLiveSpecification.attributeName",
            spec.attribute_name.is_some(),
        );
        v.length(
            "timeToLiveSpecification.attributeName",
            spec.attribute_name.as_deref(),
            1,
            255,
        );
        v.not_null("timeToLiveSpecification.enabled", spec.enabled.is_some());
    }
    v.finish()?;
    let name = input.table_name.as_deref().unwrap_or_default();
    let spec = input.time_to_live_specification.unwrap_or_default();
    let attribute = spec.attribute_name.clone().unwrap_or_default();
    let enable = spec.enabled.unwrap_or(false);
    let interval = shared::clock::millis(app.config.change_log.ttl_change_interval);
    // Checked and changed inside the catalog's update, which serializes table changes, so
    // two concurrent enables cannot both succeed.
    let updated = app
        .catalog
        .update(&app.storage, name, |table| {
            table.check_created()?;
            crate::replication::check_no_replica_being_made(table)?;
            let now = shared::clock::now_ms();
            let current = ttl::setting(table);
            let enabled_now = current.clone().filter(|s| s.enabled);
            if enable {
                if enabled_now.is_some() {
                    return Err(ApiError::validation(ALREADY_ENABLED));
                }
            } else {
                match enabled_now {
                    None => return Err(ApiError::validation(ALREADY_DISABLED)),
                    Some(s) if s.attribute_name != attribute => {
                        return Err(ApiError::validation(format!(
                            "TimeToLive is active on a different AttributeName: current AttributeName is {}",
                            s.attribute_name
                        )))
                    }
                    Some(_) => {}
                }
            }
            let changed = current.and_then(|s| s.changed_ms);
            if changed.is_some_and(|at| now.saturating_sub(at) < interval) {
                return Err(ApiError::validation(CHANGED_TOO_OFTEN));
            }
            let setting = TtlSetting {
                enabled: enable,
                attribute_name: attribute.clone(),
                changed_ms: Some(now),
            };
            ttl::keep_setting(table, &setting)
        })
        .await?;
    // Every replica of a global table has the same TTL setting, as in DynamoDB.
    crate::replication::control::propagate_ttl(app, &updated).await;
    Ok(UpdateTimeToLiveOutput {
        time_to_live_specification: spec,
    })
}
