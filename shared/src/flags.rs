//! Parsers of command-line values, shared by the store, dax-proxy and dax-loadgen so that
//! a flag of one kind takes the same forms, and is refused in the same words, in all three.
//!
//! - Durations: a number (fractions allowed) in the flag's unit, seconds for every flag
//!   today, or a number with a unit: `250ms`, `1.5s`, `5m`, `1h`. A duration must be a
//!   whole number of milliseconds, the finest a timer honours (`0.5ms` is refused rather
//!   than rounded to 0 or 1ms), or of seconds for a flag counted in seconds.
//! - Sizes: a number in the flag's unit (bytes, or MiB for the store's `--*-mb` flags), or
//!   a number with a unit: `512KiB`, `256MiB`, `1.5GiB` (`K`/`KB`, `M`/`MB`, `G`/`GB` are
//!   the same binary units). A fraction of a unit larger than a byte is taken to the byte
//!   below (`0.5KiB` is 512, `1.3GiB` 1,395,864,371 bytes); a fraction of a byte, or a
//!   size that comes to less than one byte (`0.5`, `0.0000000001k`), is refused.
//! - The case of a unit does not matter, for durations as for sizes (`5M` is 5 minutes,
//!   `1MS` a millisecond, `1mib` a MiB).
//! - Booleans take `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off` through clap's
//!   `BoolishValueParser`, named at each flag.
//! - Listen addresses: `HOST:PORT` with an IP address or a host name (`localhost:0`),
//!   resolved once at start; a name is listened on at its first IPv4 address, else its
//!   first.
//!
//! Numbers are read as exact decimals (no floating point), so that `0.1s` is exactly
//! 100ms and a large byte count is not rounded.
//!
//! Each parser is a clap `value_parser`: its error is printed after clap's
//! `invalid value 'TEXT' for '--flag <FLAG>': `.

use std::time::Duration;

/// The longest duration any flag takes (about 31 years): longer ones would overflow the
/// clock arithmetic they feed, and mean "never" anyway.
const MAX_SECONDS: u64 = 1_000_000_000;

/// An address to listen on: `IP:PORT` as it is, `NAME:PORT` at the name's first IPv4
/// address, else its first.
pub fn listen_address(text: &str) -> Result<std::net::SocketAddr, String> {
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    let resolved: Vec<std::net::SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(text)
        .map_err(|e| format!("not HOST:PORT, or a host name that resolves ({e})"))?
        .collect();
    // `localhost` is 127.0.0.1 and ::1 at once: the IPv4 one, where clients' `localhost`
    // and this project's loopback-only habits both land.
    resolved
        .iter()
        .find(|address| address.is_ipv4())
        .or(resolved.first())
        .copied()
        .ok_or_else(|| "a host name with no address".to_string())
}

/// A duration, in whole milliseconds; a plain number counts seconds. Zero is allowed (for
/// flags where it turns something off).
pub fn duration(text: &str) -> Result<Duration, String> {
    duration_in(text, Granularity::Milliseconds)
}

/// A [`duration`] for flags where zero makes no sense (timeouts, periods, retentions).
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    positive(duration(text)?)
}

/// A [`positive_duration`] for flags counted in whole seconds (a report period).
pub fn positive_seconds(text: &str) -> Result<Duration, String> {
    positive(duration_in(text, Granularity::Seconds)?)
}

fn positive(duration: Duration) -> Result<Duration, String> {
    match duration {
        d if d.is_zero() => Err("must be more than 0".into()),
        d => Ok(d),
    }
}

/// The finest duration a flag honours.
#[derive(Clone, Copy)]
enum Granularity {
    Milliseconds,
    Seconds,
}

fn duration_in(text: &str, granularity: Granularity) -> Result<Duration, String> {
    let bad = || {
        format!("not a duration: {text:?} (a number of seconds, or one with a unit: 250ms, 30s, 5m, 1h)")
    };
    let (number, unit) = split_unit(text.trim());
    let millis_per_unit: u64 = match unit.to_ascii_lowercase().as_str() {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad()),
    };
    let (millis_per_step, step) = match granularity {
        Granularity::Milliseconds => (1, "milliseconds"),
        Granularity::Seconds => (1000, "seconds"),
    };
    let too_long = || format!("{text:?} is too long (at most {MAX_SECONDS} seconds)");
    let steps = match whole(number, millis_per_unit, millis_per_step) {
        Whole::Of(steps) => steps,
        Whole::Fraction { .. } => {
            return Err(format!(
                "{text:?} is not a whole number of {step} (the finest duration this flag honours)"
            ))
        }
        Whole::TooLarge => return Err(too_long()),
        Whole::NotANumber => return Err(bad()),
    };
    match steps.checked_mul(millis_per_step) {
        Some(millis) if millis <= MAX_SECONDS * 1000 => Ok(Duration::from_millis(millis)),
        _ => Err(too_long()),
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
    match whole(number, scale, 1) {
        Whole::Of(bytes) => Ok(bytes),
        // A fraction of a larger unit (`1.3GiB`) is taken to the byte below; a fraction
        // of a byte, or less than one, is a mistake.
        Whole::Fraction { down } if scale > 1 && down > 0 => Ok(down),
        Whole::Fraction { .. } => Err(format!("{text:?} is not a whole number of bytes")),
        Whole::TooLarge | Whole::NotANumber => Err(bad()),
    }
}

/// What a decimal number of units comes to in whole steps.
#[derive(Debug, PartialEq, Eq)]
enum Whole {
    Of(u64),
    /// It is not a whole number of steps; `down` is the whole number below it.
    Fraction {
        down: u64,
    },
    /// More than a `u64` of steps.
    TooLarge,
    NotANumber,
}

/// Fraction digits kept: the ones past them weigh less than 10^-20 of a unit (a
/// hundred-billionth of a byte of a GiB), so they only tell that a number is no whole
/// one, and the mantissa of a number of a few digits, scaled, still fits a `u128`.
const FRACTION_DIGITS: usize = 20;

/// `number` (decimal digits with at most one `.`) units of `unit` each, counted in steps
/// of `step` (`unit` and `step` in one base unit), exactly.
fn whole(number: &str, unit: u64, step: u64) -> Whole {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let digits = || int.bytes().chain(frac.bytes());
    if int.len() + frac.len() == 0 || !digits().all(|b| b.is_ascii_digit()) {
        return Whole::NotANumber;
    }
    // number = mantissa / 10^frac.len(), trailing zeros of the fraction dropped (they
    // change nothing).
    let frac = frac.trim_end_matches('0');
    let (frac, cut) = match frac.get(..FRACTION_DIGITS) {
        Some(kept) if kept.len() < frac.len() => (kept, true),
        _ => (frac, false),
    };
    let mut mantissa: u128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        let next = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(u128::from(b - b'0')));
        let Some(next) = next else {
            return Whole::TooLarge;
        };
        mantissa = next;
    }
    let divisor = 10u128
        .checked_pow(frac.len() as u32)
        .and_then(|d| d.checked_mul(u128::from(step)));
    let (Some(divisor), Some(base_units)) = (divisor, mantissa.checked_mul(u128::from(unit)))
    else {
        return Whole::TooLarge;
    };
    let Ok(steps) = u64::try_from(base_units / divisor) else {
        return Whole::TooLarge;
    };
    if cut || base_units % divisor != 0 {
        Whole::Fraction { down: steps }
    } else {
        Whole::Of(steps)
    }
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
    fn listen_addresses_take_an_ip_or_a_host_name() {
        assert_eq!(
            listen_address("127.0.0.1:0"),
            Ok(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        );
        assert!(listen_address("localhost:8000")
            .is_ok_and(|a| a.ip().is_loopback() && a.port() == 8000));
        for bad in ["localhost", "127.0.0.1", "127.0.0.1:99999", ":8000"] {
            assert!(listen_address(bad).is_err(), "{bad}");
        }
    }

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

    /// Duration units take any case, as size units do.
    #[test]
    fn units_of_either_kind_ignore_case() {
        for (text, want) in [
            ("250MS", Duration::from_millis(250)),
            ("30S", Duration::from_secs(30)),
            ("5M", Duration::from_secs(300)),
            ("1H", Duration::from_secs(3600)),
            ("2Ms", Duration::from_millis(2)),
        ] {
            assert_eq!(duration(text), Ok(want), "{text}");
        }
        assert_eq!(bytes("1KiB"), bytes("1kib"));
    }

    /// A duration finer than a millisecond (or a second, for a flag counted in seconds)
    /// cannot be honoured: refused, saying so, rather than rounded.
    #[test]
    fn a_duration_finer_than_its_flag_honours_is_refused() {
        assert_eq!(duration("0.1s"), Ok(Duration::from_millis(100)));
        assert_eq!(duration("1.1"), Ok(Duration::from_millis(1100)));
        assert_eq!(duration("0.001"), Ok(Duration::from_millis(1)));
        assert_eq!(duration("1.000000"), Ok(Duration::from_secs(1)));
        for fine in ["0.5ms", "0.0001", "1.5ms", "0.0005s"] {
            let err = positive_duration(fine).unwrap_err();
            assert!(
                err.contains("is not a whole number of milliseconds"),
                "{fine}: {err}"
            );
            assert!(duration(fine).is_err(), "{fine}");
        }
        assert_eq!(positive_seconds("60"), Ok(Duration::from_secs(60)));
        assert_eq!(positive_seconds("1.5m"), Ok(Duration::from_secs(90)));
        for fine in ["1.5", "500ms", "0.5"] {
            let err = positive_seconds(fine).unwrap_err();
            assert!(
                err.contains("is not a whole number of seconds"),
                "{fine}: {err}"
            );
        }
        assert_eq!(positive_seconds("0"), Err("must be more than 0".into()));
    }

    /// A fraction of a larger unit is taken to the byte below; a fraction of a byte, or
    /// less than one byte, is refused.
    #[test]
    fn a_size_is_a_whole_number_of_bytes() {
        assert_eq!(bytes("0.5KiB"), Ok(512));
        assert_eq!(bytes("0.25k"), Ok(256));
        assert_eq!(mebibytes("0.5"), Ok(512 << 10));
        assert_eq!(bytes("2.0"), Ok(2));
        assert_eq!(bytes("0.3KiB"), Ok(307));
        assert_eq!(bytes("1.3GiB"), Ok(1_395_864_371));
        assert_eq!(mebibytes("0.1"), Ok(104_857));
        let long = format!("1.{}1GiB", "0".repeat(40));
        assert_eq!(bytes(&long), Ok(1 << 30));
        assert_eq!(bytes("0.0000001G"), Ok(107));
        for fraction in ["0.5", "1.5B", "0.0000000001k"] {
            let err = bytes(fraction).unwrap_err();
            assert_eq!(err, format!("{fraction:?} is not a whole number of bytes"));
        }
    }
}
