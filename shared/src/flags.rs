//! Parsers of command-line values, shared by the store, dax-proxy and dax-loadgen so that
//! a flag of one kind takes the same forms, and is refused in the same words, in all three.
//!
//! - Durations: a number (fractions allowed) in the flag's unit, seconds for every flag
//!   today, or a number with a unit: `250ms`, `1.5s`, `5m`, `1h`.
//! - Sizes: a number in the flag's unit (bytes, or MiB for the store's `--*-mb` flags), or
//!   a number with a unit: `512KiB`, `256MiB`, `1.5GiB` (`K`/`KB`, `M`/`MB`, `G`/`GB` are
//!   the same binary units, and case does not matter).
//! - Booleans take `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off` through clap's
//!   `BoolishValueParser`, named at each flag.
//!
//! Each parser is a clap `value_parser`: its error is printed after clap's
//! `invalid value 'TEXT' for '--flag <FLAG>': `.

use std::time::Duration;

/// The longest duration any flag takes (about 31 years): longer ones would overflow the
/// clock arithmetic they feed, and mean "never" anyway.
const MAX_SECONDS: f64 = 1e9;

/// A duration; a plain number counts seconds. Zero is allowed (for flags where it turns
/// something off).
pub fn duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("not a duration: {text:?} (a number of seconds, or one with a unit: 250ms, 30s, 5m, 1h)")
    };
    let (number, unit) = split_unit(text.trim());
    let scale = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return Err(bad()),
    };
    let seconds = number.parse::<f64>().map_err(|_| bad())? * scale;
    if !(seconds.is_finite() && seconds >= 0.0) {
        return Err(bad());
    }
    if seconds > MAX_SECONDS {
        return Err(format!(
            "{text:?} is too long (at most {MAX_SECONDS} seconds)"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A [`duration`] for flags where zero makes no sense (timeouts, periods, retentions).
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    match duration(text)? {
        d if d.is_zero() => Err("must be more than 0".into()),
        d => Ok(d),
    }
}

/// A size in bytes; a plain number counts bytes.
pub fn bytes(text: &str) -> Result<u64, String> {
    size(text, 1, "bytes")
}

/// A size in bytes, for flags whose plain number counts MiB (the store's `--cache-mb`).
pub fn mebibytes(text: &str) -> Result<u64, String> {
    size(text, 1 << 20, "MiB")
}

/// A size whose plain number counts `plain_unit` bytes (named `plain_name`).
fn size(text: &str, plain_unit: u64, plain_name: &str) -> Result<u64, String> {
    let bad = || {
        format!("not a size: {text:?} (a number of {plain_name}, or one with a unit: 512KiB, 256MiB, 1GiB)")
    };
    let (number, unit) = split_unit(text.trim());
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" => plain_unit,
        "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    // Whole numbers exactly (an f64 would round a large byte count).
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(scale).ok_or_else(bad);
    }
    let value = number.parse::<f64>().map_err(|_| bad())? * scale as f64;
    if !(value.is_finite() && value >= 0.0 && value < u64::MAX as f64) {
        return Err(bad());
    }
    Ok(value as u64)
}

/// `text` split before its unit: the leading digits and dots, and the rest.
fn split_unit(text: &str) -> (&str, &str) {
    let at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(at);
    (number, unit.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_plain_seconds_or_a_unit() {
        for (text, want) in [
            ("60", Duration::from_secs(60)),
            ("0.5", Duration::from_millis(500)),
            ("0", Duration::ZERO),
            ("250ms", Duration::from_millis(250)),
            ("30s", Duration::from_secs(30)),
            ("1.5s", Duration::from_millis(1500)),
            ("5m", Duration::from_secs(300)),
            ("1h", Duration::from_secs(3600)),
            (" 7 ", Duration::from_secs(7)),
        ] {
            assert_eq!(duration(text), Ok(want), "{text}");
        }
        for bad in ["", "s", "-1", "5 parsecs", "1d", "1..2s", "NaN", "inf"] {
            let err = duration(bad).unwrap_err();
            assert!(err.starts_with("not a duration"), "{bad}: {err}");
        }
        assert!(duration("2000000000").unwrap_err().contains("too long"));
    }

    #[test]
    fn positive_durations_refuse_zero_in_one_wording() {
        assert_eq!(positive_duration("1ms"), Ok(Duration::from_millis(1)));
        for zero in ["0", "0s", "0ms", "0.0m"] {
            assert_eq!(positive_duration(zero), Err("must be more than 0".into()));
        }
        assert!(positive_duration("x")
            .unwrap_err()
            .starts_with("not a duration"));
    }

    #[test]
    fn sizes_take_plain_numbers_in_the_flags_unit_or_a_unit() {
        for (text, want) in [
            ("1048576", 1 << 20),
            ("0", 0),
            ("512k", 512 << 10),
            ("64KiB", 64 << 10),
            ("1MiB", 1 << 20),
            ("256MB", 256 << 20),
            ("1.5G", 3 << 29),
            ("2gib", 2 << 30),
            ("10 B", 10),
            ("18446744073709551615", u64::MAX),
        ] {
            assert_eq!(bytes(text), Ok(want), "{text}");
        }
        assert_eq!(mebibytes("256"), Ok(256 << 20));
        assert_eq!(mebibytes("1GiB"), Ok(1 << 30));
        assert_eq!(mebibytes("512KiB"), Ok(512 << 10));
        for bad in [
            "",
            "MiB",
            "12 parsecs",
            "-1",
            "1TiB",
            "18446744073709551615k",
        ] {
            let err = bytes(bad).unwrap_err();
            assert!(err.starts_with("not a size"), "{bad}: {err}");
        }
        assert!(mebibytes("x").unwrap_err().contains("a number of MiB"));
    }
}
