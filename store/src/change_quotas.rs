//! How often a table's settings may change. DynamoDB refuses, with
//! LimitExceededException, a fifth switch to on-demand within a rolling day and a third
//! table-class change within 30 days; tools that manage capacity or cost branch on that
//! error. (Throughput decreases, which DescribeTable counts, are limited by
//! `catalog::meta::Throughput::check_decrease`.)
//!
//! The times of the changes still inside their windows are kept in the table's settings,
//! so they survive restarts and go with the table.

use serde::{Deserialize, Serialize};
use shared::wire::error::{ApiError, ErrorCode};

use crate::catalog::meta::{read_setting, write_setting, Settings};

/// The settings key of the recent changes.
const SETTINGS_KEY: &str = "change_quotas";

const DAY_SECS: f64 = 86_400.0;

/// A change whose frequency DynamoDB limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// BillingMode PROVISIONED → PAY_PER_REQUEST (the way back is not limited).
    ToOnDemand,
    /// An UpdateTable naming a TableClass (the same class again counts too).
    TableClass,
}

impl Change {
    /// How many such changes a window allows, and the window in days.
    fn quota(self) -> (usize, u32) {
        match self {
            Change::ToOnDemand => (4, 1),
            Change::TableClass => (2, 30),
        }
    }

    fn refusal(self) -> ApiError {
        let (most, days) = self.quota();
        let what = match self {
            Change::ToOnDemand => "Updates to PayPerRequest mode",
            Change::TableClass => "Updates to TableClass",
        };
        ApiError::new(
            ErrorCode::LimitExceededException,
            format!(
                "Subscriber limit exceeded: {what} are limited to {most} times in {days} day(s)."
            ),
        )
    }
}

/// The times (epoch seconds) of the changes still inside their windows.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Recent {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    to_on_demand: Vec<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    table_class: Vec<f64>,
}

/// Records `change` at `now` in a table's `settings`, or refuses it if its window already
/// holds as many as DynamoDB allows.
pub fn record(settings: &mut Settings, change: Change, now: f64) -> Result<(), ApiError> {
    let mut recent: Recent = read_setting(settings, SETTINGS_KEY).unwrap_or_default();
    let times = match change {
        Change::ToOnDemand => &mut recent.to_on_demand,
        Change::TableClass => &mut recent.table_class,
    };
    let (most, days) = change.quota();
    let window_start = now - f64::from(days) * DAY_SECS;
    times.retain(|at| *at > window_start);
    if times.len() >= most {
        return Err(change.refusal());
    }
    times.push(now);
    write_setting(settings, SETTINGS_KEY, &recent).map_err(|_| ApiError::internal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_is_limited_within_its_own_rolling_window() {
        let mut settings = Settings::new();
        let day = 86_400.0;
        for i in 0..4 {
            assert!(record(&mut settings, Change::ToOnDemand, 1000.0 + f64::from(i)).is_ok());
        }
        let refused = record(&mut settings, Change::ToOnDemand, 2000.0).unwrap_err();
        assert_eq!(refused.code, ErrorCode::LimitExceededException);
        // The class has a quota of its own.
        assert!(record(&mut settings, Change::TableClass, 2000.0).is_ok());
        assert!(record(&mut settings, Change::TableClass, 2001.0).is_ok());
        assert!(record(&mut settings, Change::TableClass, 2002.0).is_err());
        // A day after the first switch, one more is allowed: the window rolls.
        assert!(record(&mut settings, Change::ToOnDemand, 1000.0 + day + 0.5).is_ok());
        assert!(record(&mut settings, Change::ToOnDemand, 1000.0 + day + 0.6).is_err());
        assert!(record(&mut settings, Change::TableClass, 2000.0 + 30.0 * day + 1.0).is_ok());
    }
}
