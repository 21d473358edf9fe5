//! The account's quotas: how many tables it may have, and its throughput quotas, as
//! DescribeLimits reports them: the most provisioned capacity one table or GSI may have,
//! the most all tables together may reserve, and the highest on-demand maximum or warm
//! throughput a table or GSI may ask for.
//!
//! DynamoDB refuses a CreateTable or UpdateTable past a quota with LimitExceededException.
//! The catalog checks every definition it is about to keep, so the same rule covers
//! CreateTable, UpdateTable, restores, imports and replicas made by another region. Only a
//! value that goes up is checked: a store started with lower quotas than its tables
//! already have keeps serving them and lets them change in every other way.

use shared::wire::error::{ApiError, ErrorCode};

use super::meta::{BillingMode, IndexMeta, TableMeta};
use super::warm::Warm;

/// The quotas DynamoDB applies by default.
pub const DEFAULT: Quotas = Quotas {
    tables: 2_500,
    table_max: 40_000,
    account_max: 80_000,
};

/// The table-count quota, and capacity-unit quotas (the same for reads and writes, as
/// DynamoDB's defaults are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// The most tables the store may hold (DynamoDB's tables-per-region quota), counting
    /// those still being created by an import or a restore.
    pub tables: usize,
    /// The most read (and write) capacity units one table or GSI may have provisioned, and
    /// the highest on-demand maximum or warm throughput it may ask for.
    pub table_max: i64,
    /// The most read (and write) capacity units all provisioned tables and their GSIs may
    /// reserve together.
    pub account_max: i64,
}

/// Reads or writes: the two sides every quota has.
#[derive(Clone, Copy)]
enum Side {
    Read,
    Write,
}

impl Side {
    const BOTH: [Side; 2] = [Side::Read, Side::Write];

    fn word(self) -> &'static str {
        match self {
            Side::Read => "Read",
            Side::Write => "Write",
        }
    }
}

/// What one table or GSI has or asks for, on one side.
#[derive(Default)]
struct Asked {
    provisioned: i64,
    on_demand_max: i64,
    warm: i64,
}

impl Quotas {
    /// Refuses a new table when the store already holds `existing` and the quota is full.
    pub fn check_table_count(&self, existing: usize) -> Result<(), ApiError> {
        if existing < self.tables {
            return Ok(());
        }
        Err(limit_exceeded(format!(
            "Subscriber limit exceeded: There is a limit of {} tables per subscriber",
            self.tables
        )))
    }

    /// Refuses `next`, the definition a change would keep for a table that was `current`
    /// (`None` for a new table), if it raises anything past a quota; `others` are every
    /// other table of the store, `region` names this one in the messages.
    pub fn check<'a>(
        &self,
        region: &str,
        current: Option<&TableMeta>,
        next: &TableMeta,
        others: impl Iterator<Item = &'a TableMeta> + Clone,
    ) -> Result<(), ApiError> {
        for side in Side::BOTH {
            let before = current.map(|t| table_asked(t, side)).unwrap_or_default();
            self.check_one(region, None, &before, &table_asked(next, side), side)?;
            for index in &next.global_indexes {
                let before = current
                    .and_then(|t| t.global_index(&index.name))
                    .map(|i| index_asked(i, next.billing_mode, side))
                    .unwrap_or_default();
                let after = index_asked(index, next.billing_mode, side);
                self.check_one(region, Some(&index.name), &before, &after, side)?;
            }
            let reserved_before = current.map_or(0, |t| reserved(t, side));
            let reserved_after = reserved(next, side);
            let reserved_elsewhere: i64 = others.clone().map(|t| reserved(t, side)).sum();
            if reserved_after > reserved_before
                && reserved_elsewhere.saturating_add(reserved_after) > self.account_max
            {
                let units = format!("{}CapacityUnits", side.word());
                return Err(limit_exceeded(format!(
                    "This request would have caused the {units} limit to be exceeded for the \
                     account in {region}. Current {units} reserved by the account: {}. \
                     Limit: {}. Requested: {reserved_after}",
                    reserved_elsewhere.saturating_add(reserved_before),
                    self.account_max
                )));
            }
        }
        Ok(())
    }

    /// The per-table (or per-index, for `index`) quotas of one side.
    fn check_one(
        &self,
        region: &str,
        index: Option<&str>,
        before: &Asked,
        after: &Asked,
        side: Side,
    ) -> Result<(), ApiError> {
        let max = self.table_max;
        let word = side.word();
        let account_max = format!("TableMax{word}CapacityUnits of the account in region {region}");
        if after.provisioned > before.provisioned && after.provisioned > max {
            let n = after.provisioned;
            return Err(limit_exceeded(match index {
                None => format!(
                    "The requested {word}CapacityUnits, {n}, is above the per table maximum \
                     for the account in {region}. Per table maximum: {max}."
                ),
                Some(name) => format!(
                    "The requested {word}CapacityUnits for index {name}, {n}, is above the per \
                     index maximum for the account in {region}. Per index maximum: {max}."
                ),
            }));
        }
        if after.on_demand_max > before.on_demand_max && after.on_demand_max > max {
            let whose = match index {
                None => "table".to_string(),
                Some(name) => format!("index : {name}"),
            };
            return Err(limit_exceeded(format!(
                "Subscriber limit exceeded: Requested Max{word}RequestUnits for \
                 OnDemandThroughput for {whose} exceeds {account_max}"
            )));
        }
        if after.warm > before.warm && after.warm > max {
            let whose = match index {
                None => "table".to_string(),
                Some(name) => format!("index {name}"),
            };
            return Err(limit_exceeded(format!(
                "Subscriber limit exceeded: Requested {word}UnitsPerSecond for WarmThroughput \
                 for {whose} exceeds {account_max}"
            )));
        }
        Ok(())
    }
}

fn limit_exceeded(message: String) -> ApiError {
    ApiError::new(ErrorCode::LimitExceededException, message)
}

/// One side of a pair of units.
fn pick(side: Side, read: i64, write: i64) -> i64 {
    match side {
        Side::Read => read,
        Side::Write => write,
    }
}

/// What a table asks for itself (its GSIs aside).
fn table_asked(table: &TableMeta, side: Side) -> Asked {
    let provisioned = table.billing_mode == BillingMode::Provisioned;
    asked(
        provisioned.then_some((table.throughput.read, table.throughput.write)),
        table.on_demand_throughput.as_ref(),
        table.warm,
        side,
    )
}

/// What a GSI of a table billed by `billing` asks for.
fn index_asked(index: &IndexMeta, billing: BillingMode, side: Side) -> Asked {
    let provisioned = (billing == BillingMode::Provisioned)
        .then(|| index.throughput.as_ref().map(|t| (t.read, t.write)))
        .flatten();
    asked(
        provisioned,
        index.on_demand_throughput.as_ref(),
        index.warm,
        side,
    )
}

fn asked(
    provisioned: Option<(i64, i64)>,
    on_demand: Option<&shared::wire::ops::create_table::OnDemandThroughput>,
    warm: Option<Warm>,
    side: Side,
) -> Asked {
    Asked {
        provisioned: provisioned.map_or(0, |(read, write)| pick(side, read, write)),
        on_demand_max: on_demand.map_or(0, |o| {
            pick(
                side,
                o.max_read_request_units.unwrap_or(0),
                o.max_write_request_units.unwrap_or(0),
            )
        }),
        warm: warm.map_or(0, |w| pick(side, w.read, w.write)),
    }
}

/// The capacity units a table and its GSIs reserve on one side: none when on demand.
fn reserved(table: &TableMeta, side: Side) -> i64 {
    let billing = table.billing_mode;
    let indexes: i64 = table
        .global_indexes
        .iter()
        .map(|i| index_asked(i, billing, side).provisioned)
        .sum();
    table_asked(table, side).provisioned.saturating_add(indexes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Throughput;
    use shared::wire::ops::create_table::OnDemandThroughput;

    const REGION: &str = "us-east-1";

    fn provisioned(id: u64, read: i64, write: i64) -> TableMeta {
        let mut table = TableMeta::for_tests(id, &format!("t{id}"));
        table.billing_mode = BillingMode::Provisioned;
        table.throughput = Throughput::new(read, write);
        table
    }

    /// A GSI provisioned with `read` and `write` units, keyed as its table is.
    fn gsi(name: &str, read: i64, write: i64) -> IndexMeta {
        IndexMeta {
            throughput: Some(Throughput::new(read, write)),
            ..TableMeta::for_tests(1, "t").index_for_tests(name)
        }
    }

    fn message(result: Result<(), ApiError>) -> String {
        let e = result.unwrap_err();
        assert_eq!(e.code, ErrorCode::LimitExceededException);
        e.message.unwrap_or_default()
    }

    #[test]
    fn a_table_above_the_per_table_maximum_is_refused_on_its_side() {
        let q = DEFAULT;
        assert!(q
            .check(REGION, None, &provisioned(1, 40_000, 40_000), [].iter())
            .is_ok());
        assert_eq!(
            message(q.check(REGION, None, &provisioned(1, 5, 40_001), [].iter())),
            "The requested WriteCapacityUnits, 40001, is above the per table maximum for the \
             account in us-east-1. Per table maximum: 40000."
        );
        let mut with_index = provisioned(1, 5, 5);
        with_index.global_indexes.push(gsi("g", 50_000, 1));
        assert_eq!(
            message(q.check(REGION, None, &with_index, [].iter())),
            "The requested ReadCapacityUnits for index g, 50000, is above the per index \
             maximum for the account in us-east-1. Per index maximum: 40000."
        );
    }

    #[test]
    fn on_demand_maxima_and_warm_throughput_stay_within_the_per_table_maximum() {
        let q = DEFAULT;
        let mut table = TableMeta::for_tests(1, "t");
        table.on_demand_throughput = Some(OnDemandThroughput {
            max_read_request_units: Some(40_001),
            max_write_request_units: None,
        });
        assert_eq!(
            message(q.check(REGION, None, &table, [].iter())),
            "Subscriber limit exceeded: Requested MaxReadRequestUnits for OnDemandThroughput \
             for table exceeds TableMaxReadCapacityUnits of the account in region us-east-1"
        );
        table.on_demand_throughput = None;
        table.warm = Some(Warm {
            read: 12_000,
            write: 50_000,
        });
        assert_eq!(
            message(q.check(REGION, None, &table, [].iter())),
            "Subscriber limit exceeded: Requested WriteUnitsPerSecond for WarmThroughput for \
             table exceeds TableMaxWriteCapacityUnits of the account in region us-east-1"
        );
    }

    #[test]
    fn the_account_maximum_counts_every_provisioned_table_and_gsi() {
        let q = DEFAULT;
        let mut big = provisioned(1, 30_000, 10);
        big.global_indexes.push(gsi("g", 20_000, 10));
        // On demand: reserves nothing, whatever its (kept) throughput says.
        let mut on_demand = provisioned(3, 39_000, 10);
        on_demand.billing_mode = BillingMode::PayPerRequest;
        let others = [big, on_demand];
        assert!(q
            .check(REGION, None, &provisioned(2, 30_000, 10), others.iter())
            .is_ok());
        assert_eq!(
            message(q.check(REGION, None, &provisioned(2, 30_001, 10), others.iter())),
            "This request would have caused the ReadCapacityUnits limit to be exceeded for \
             the account in us-east-1. Current ReadCapacityUnits reserved by the account: \
             50000. Limit: 80000. Requested: 30001"
        );
    }

    #[test]
    fn a_new_table_past_the_table_count_is_refused() {
        let q = Quotas {
            tables: 3,
            ..DEFAULT
        };
        assert!(q.check_table_count(0).is_ok());
        assert!(q.check_table_count(2).is_ok());
        assert_eq!(
            message(q.check_table_count(3)),
            "Subscriber limit exceeded: There is a limit of 3 tables per subscriber"
        );
        assert!(q.check_table_count(4).is_err());
    }

    #[test]
    fn only_a_value_that_goes_up_is_checked() {
        let q = Quotas {
            tables: 10,
            table_max: 100,
            account_max: 150,
        };
        let current = provisioned(1, 200, 200);
        let others = [provisioned(2, 100, 100)];
        // Above both quotas already (an earlier, looser configuration): lowering, or
        // changing something else, is fine; raising is not.
        let lower = provisioned(1, 150, 200);
        assert!(q
            .check(REGION, Some(&current), &lower, others.iter())
            .is_ok());
        assert!(q
            .check(REGION, Some(&current), &current.clone(), others.iter())
            .is_ok());
        let higher = provisioned(1, 201, 200);
        assert!(
            message(q.check(REGION, Some(&current), &higher, others.iter()))
                .contains("per table maximum")
        );
    }
}
