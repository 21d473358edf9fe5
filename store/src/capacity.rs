//! Capacity units by DynamoDB's rules: reads in 4 KB units (half for eventually consistent
//! reads), writes in 1 KB units, transactional operations double.

/// The bytes one strongly consistent read unit reads.
pub const READ_UNIT_BYTES: usize = 4096;

/// Read units for `bytes` read (at least one unit; a missing item still costs one).
pub fn read_units(bytes: usize, consistent: bool) -> f64 {
    units_of_blocks(bytes.div_ceil(READ_UNIT_BYTES).max(1) as u64, consistent)
}

/// Read units for `blocks` of [`READ_UNIT_BYTES`] (reads each rounded up on their own):
/// one each, half for eventually consistent reads.
pub fn units_of_blocks(blocks: u64, consistent: bool) -> f64 {
    let units = blocks as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

/// Read units of a transactional read of `bytes` (TransactGetItems, or a repeat of a
/// TransactWriteItems, which reads its items): strongly consistent, doubled.
pub fn transactional_read_units(bytes: usize) -> f64 {
    2.0 * read_units(bytes, true)
}

/// Write units for an item of `bytes` (at least one unit).
pub fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_up_per_operation() {
        assert_eq!(read_units(0, true), 1.0);
        assert_eq!(read_units(4096, false), 0.5);
        assert_eq!(read_units(4097, true), 2.0);
        assert_eq!(write_units(1), 1.0);
        assert_eq!(write_units(1025), 2.0);
    }
}
