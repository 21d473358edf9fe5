//! Warm throughput: the reads and writes per second a table or GSI can take at once.
//!
//! In DynamoDB it is how far a table's partitions have been split: a new table starts
//! able to take 12,000 reads and 4,000 writes a second, provisioned capacity and use raise
//! it, and CreateTable or UpdateTable can raise it ahead of a peak ("pre-warming"); it
//! never goes down. This store has no partitions to split, so the value is bookkeeping
//! that DescribeTable reports and that templates setting it (CDK, CloudFormation) find as
//! they set it. Nothing throttles on it. Use raises an on-demand table's, and each of its
//! GSIs', to its busiest second (`throttle::run_stats`, [`raised_by_use`]).

use serde::{Deserialize, Serialize};
use shared::wire::error::ApiError;
use shared::wire::ops::create_table::WarmThroughput;
use shared::wire::ops::describe_table::WarmThroughputDescription;

use super::Throughput;

/// What a new table or GSI can take at once (DynamoDB's four initial partitions).
pub const INITIAL: Warm = Warm {
    read: 12_000,
    write: 4_000,
};

/// Reads and writes per second.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warm {
    pub read: i64,
    pub write: i64,
}

impl Warm {
    /// What a table or GSI that was asked for `asked` (if anything) and provisioned with
    /// `provisioned` (if so) can take at once: the most of those and [`INITIAL`].
    pub fn effective(asked: Option<Warm>, provisioned: Option<&Throughput>) -> Warm {
        let asked = asked.unwrap_or(INITIAL);
        let (read, write) = provisioned.map_or((0, 0), |t| (t.read, t.write));
        Warm {
            read: INITIAL.read.max(asked.read).max(read),
            write: INITIAL.write.max(asked.write).max(write),
        }
    }

    pub fn describe(self) -> WarmThroughputDescription {
        WarmThroughputDescription {
            read_units_per_second: self.read,
            write_units_per_second: self.write,
            status: "ACTIVE".to_string(),
        }
    }
}

/// What a table that can take `current` can take at once after a second in which it took
/// `read` and `write` units, up to `cap` each (the per-table quota); `None` if that is
/// no more than `current`.
pub fn raised_by_use(current: Warm, (read, write): (f64, f64), cap: i64) -> Option<Warm> {
    let raise = |now: i64, used: f64| now.max((used.ceil() as i64).min(cap));
    let next = Warm {
        read: raise(current.read, read),
        write: raise(current.write, write),
    };
    (next != current).then_some(next)
}

/// The warm throughput a new table or GSI `asked` for, provisioned with `provisioned`
/// (read, write; 0/0 on demand); `what` names it in errors ("table", "index"). As in
/// DynamoDB, asking for less than the provisioned capacity is refused rather than raised
/// to it silently, and less than a new table's initial throughput likewise.
pub fn initial(
    asked: &WarmThroughput,
    provisioned: (i64, i64),
    what: &str,
) -> Result<Warm, ApiError> {
    let pairs = [
        (
            "ReadUnitsPerSecond",
            asked.read_units_per_second,
            provisioned.0,
            "ReadCapacityUnits",
        ),
        (
            "WriteUnitsPerSecond",
            asked.write_units_per_second,
            provisioned.1,
            "WriteCapacityUnits",
        ),
    ];
    for (name, value, capacity, capacity_name) in pairs {
        if value.is_some_and(|v| v >= 1 && v < capacity) {
            return Err(ApiError::invalid_parameter(format!(
                "Requested {name} for WarmThroughput for {what} is lower than {capacity_name} of ProvisionedThroughput"
            )));
        }
    }
    raise(INITIAL, asked, what)
}

/// The warm throughput `asked` raises `current` to; `what` names the table or index in
/// errors. A value below 1, or below what it already takes, is refused: warm throughput
/// only goes up. A value left out keeps the current one.
pub fn raise(current: Warm, asked: &WarmThroughput, what: &str) -> Result<Warm, ApiError> {
    let next = |value: Option<i64>, now: i64, name: &str| match value {
        None => Ok(now),
        Some(v) if v < 1 => Err(ApiError::invalid_parameter(format!(
            "WarmThroughput {name} for {what} must be at least 1"
        ))),
        Some(v) if v < now => Err(ApiError::invalid_parameter(format!(
            "WarmThroughput {name} for {what} cannot be decreased: it is {now}, {v} was requested"
        ))),
        Some(v) => Ok(v),
    };
    Ok(Warm {
        read: next(
            asked.read_units_per_second,
            current.read,
            "ReadUnitsPerSecond",
        )?,
        write: next(
            asked.write_units_per_second,
            current.write,
            "WriteUnitsPerSecond",
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(read: Option<i64>, write: Option<i64>) -> WarmThroughput {
        WarmThroughput {
            read_units_per_second: read,
            write_units_per_second: write,
        }
    }

    #[test]
    fn warm_throughput_starts_at_the_initial_values_and_only_goes_up() {
        assert_eq!(Warm::effective(None, None), INITIAL);
        let provisioned = Throughput::new(20_000, 10);
        assert_eq!(
            Warm::effective(None, Some(&provisioned)),
            Warm {
                read: 20_000,
                write: 4_000
            }
        );
        let raised = raise(INITIAL, &asked(None, Some(9_000)), "table t").unwrap();
        assert_eq!(
            raised,
            Warm {
                read: 12_000,
                write: 9_000
            }
        );
        assert_eq!(Warm::effective(Some(raised), None), raised);
        for bad in [asked(Some(100), None), asked(None, Some(0))] {
            assert!(raise(raised, &bad, "table t").is_err());
        }
    }

    #[test]
    fn a_new_tables_warm_throughput_is_not_below_its_provisioned_capacity() {
        let refused = initial(&asked(Some(15_000), None), (20_000, 5), "table").unwrap_err();
        assert!(refused.message.is_some_and(|m| m.contains(
            "Requested ReadUnitsPerSecond for WarmThroughput for table is lower than ReadCapacityUnits"
        )));
        let warm = initial(&asked(Some(25_000), None), (20_000, 5), "table").unwrap();
        assert_eq!(warm.read, 25_000);
        // On demand, the initial throughput is the floor.
        assert!(initial(&asked(Some(100), None), (0, 0), "table").is_err());
    }

    #[test]
    fn use_raises_warm_throughput_up_to_the_quota_and_never_lowers_it() {
        assert_eq!(raised_by_use(INITIAL, (100.0, 3_999.5), 40_000), None);
        assert_eq!(
            raised_by_use(INITIAL, (100.0, 9_750.2), 40_000),
            Some(Warm {
                read: 12_000,
                write: 9_751
            })
        );
        assert_eq!(
            raised_by_use(INITIAL, (55_000.0, 0.0), 40_000),
            Some(Warm {
                read: 40_000,
                write: 4_000
            })
        );
    }
}
