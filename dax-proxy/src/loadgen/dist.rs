//! Key distributions: which of the `n` keys the next request touches.
//!
//! - `uniform`: every key equally likely.
//! - `zipf:S`: key rank `r` has weight `1/r^S` (S > 0; ~0.99 is the classic web-cache skew).
//!   Ranks are scattered over the key space by a fixed multiplicative permutation, so the hot
//!   keys are not all in the first partitions (which would make every Query hit the same few
//!   partitions).
//! - `hotset:X:Y`: X% of requests go to a hot set of Y% of the keys, uniformly inside each set.
//! - `sequential`: 0, 1, 2, … wrapping; shared by all workers through one atomic counter.
//!
//! A [`Distribution`] is the parsed, validated spec; [`Sampler`] is one worker's state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rand::Rng;

/// A parsed `--distribution`.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    Uniform,
    Zipf { s: f64 },
    HotSet { traffic_pct: f64, keys_pct: f64 },
    Sequential,
}

impl std::fmt::Display for Distribution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Distribution::Uniform => write!(f, "uniform"),
            Distribution::Zipf { s } => write!(f, "zipf:{s}"),
            Distribution::HotSet {
                traffic_pct,
                keys_pct,
            } => write!(f, "hotset:{traffic_pct}:{keys_pct}"),
            Distribution::Sequential => write!(f, "sequential"),
        }
    }
}

fn number(text: &str, what: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{what}: {text:?} is not a number"))?;
    if !v.is_finite() {
        return Err(format!("{what}: {text:?} is not a finite number"));
    }
    Ok(v)
}

impl std::str::FromStr for Distribution {
    type Err = String;

    fn from_str(text: &str) -> Result<Distribution, String> {
        let parts: Vec<&str> = text.trim().split(':').collect();
        match parts.as_slice() {
            ["uniform"] => Ok(Distribution::Uniform),
            ["sequential"] => Ok(Distribution::Sequential),
            ["zipf"] => Ok(Distribution::Zipf { s: 0.99 }),
            ["zipf", s] => {
                let s = number(s, "zipf skew")?;
                if s <= 0.0 || s > 10.0 {
                    return Err(format!(
                        "zipf skew must be in (0, 10], got {s} (use uniform for no skew)"
                    ));
                }
                Ok(Distribution::Zipf { s })
            }
            ["hotset", x, y] => {
                let traffic_pct = number(x, "hotset traffic %")?;
                let keys_pct = number(y, "hotset keys %")?;
                if !(0.0..=100.0).contains(&traffic_pct) {
                    return Err(format!(
                        "hotset traffic % must be within 0..100, got {traffic_pct}"
                    ));
                }
                if !(keys_pct > 0.0 && keys_pct < 100.0) {
                    return Err(format!(
                        "hotset keys % must be strictly between 0 and 100, got {keys_pct}"
                    ));
                }
                Ok(Distribution::HotSet {
                    traffic_pct,
                    keys_pct,
                })
            }
            _ => Err(format!(
                "unknown distribution {text:?}; expected uniform, zipf:S, hotset:X:Y or sequential"
            )),
        }
    }
}

/// A sampler over `0..n` for one worker.
pub struct Sampler {
    n: u64,
    kind: Kind,
}

enum Kind {
    Uniform,
    Zipf(rand_distr::Zipf<f64>, u64),
    HotSet { traffic: f64, hot: u64 },
    Sequential(Arc<AtomicU64>),
}

/// A multiplier coprime with `n` near n·φ, so `rank * mult mod n` is a permutation that
/// spreads neighbouring ranks far apart.
fn scatter_multiplier(n: u64) -> u64 {
    if n <= 2 {
        return 1;
    }
    let mut m = ((n as f64) * 0.618_033_988_7) as u64 | 1;
    while gcd(m, n) != 1 {
        m += 2;
    }
    m % n
}

/// `rank * mult mod n` without overflow.
fn scatter(rank: u64, mult: u64, n: u64) -> u64 {
    ((rank as u128 * mult as u128) % n as u128) as u64
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Sampler {
    /// `sequence` is shared by all samplers of a run so `sequential` covers the keys once per
    /// wrap even with many workers.
    pub fn new(dist: &Distribution, n: u64, sequence: Arc<AtomicU64>) -> Result<Sampler, String> {
        if n == 0 {
            return Err("the key space is empty (--items must be at least 1)".into());
        }
        let kind = match dist {
            Distribution::Uniform => Kind::Uniform,
            Distribution::Zipf { s } => Kind::Zipf(
                rand_distr::Zipf::new(n as f64, *s).map_err(|e| format!("zipf: {e}"))?,
                scatter_multiplier(n),
            ),
            Distribution::HotSet {
                traffic_pct,
                keys_pct,
            } => Kind::HotSet {
                traffic: traffic_pct / 100.0,
                hot: ((n as f64 * keys_pct / 100.0).round() as u64).clamp(1, n),
            },
            Distribution::Sequential => Kind::Sequential(sequence),
        };
        Ok(Sampler { n, kind })
    }

    /// The next key index in `0..n`.
    pub fn next<R: Rng>(&mut self, rng: &mut R) -> u64 {
        match &self.kind {
            Kind::Uniform => rng.random_range(0..self.n),
            Kind::Zipf(zipf, mult) => {
                let rank = (rng.sample(zipf) as u64).clamp(1, self.n) - 1;
                scatter(rank, *mult, self.n)
            }
            Kind::HotSet { traffic, hot } => {
                if *hot >= self.n || rng.random_bool(*traffic) {
                    rng.random_range(0..*hot)
                } else {
                    rng.random_range(*hot..self.n)
                }
            }
            Kind::Sequential(counter) => counter.fetch_add(1, Ordering::Relaxed) % self.n,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn counts(dist: &str, n: u64, draws: usize) -> Vec<u64> {
        let dist: Distribution = dist.parse().unwrap();
        let mut sampler = Sampler::new(&dist, n, Arc::new(AtomicU64::new(0))).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut counts = vec![0u64; n as usize];
        for _ in 0..draws {
            let k = sampler.next(&mut rng);
            assert!(k < n);
            counts[k as usize] += 1;
        }
        counts
    }

    fn top_share(mut counts: Vec<u64>, top: usize) -> f64 {
        let total: u64 = counts.iter().sum();
        counts.sort_unstable_by(|a, b| b.cmp(a));
        counts[..top].iter().sum::<u64>() as f64 / total as f64
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!("uniform".parse::<Distribution>(), Ok(Distribution::Uniform));
        assert_eq!(
            "zipf:1.2".parse::<Distribution>(),
            Ok(Distribution::Zipf { s: 1.2 })
        );
        assert_eq!(
            "hotset:90:10".parse::<Distribution>(),
            Ok(Distribution::HotSet {
                traffic_pct: 90.0,
                keys_pct: 10.0
            })
        );
        for bad in [
            "zipf:0",
            "zipf:-1",
            "zipf:x",
            "hotset:90",
            "hotset:120:10",
            "hotset:90:0",
            "pareto",
            "",
        ] {
            assert!(bad.parse::<Distribution>().is_err(), "{bad}");
        }
    }

    #[test]
    fn empty_key_space_is_an_error() {
        let r = Sampler::new(&Distribution::Uniform, 0, Arc::new(AtomicU64::new(0)));
        assert!(r.is_err());
    }

    #[test]
    fn zipf_skew_concentrates_traffic() {
        let uniform = top_share(counts("uniform", 1000, 100_000), 10);
        let mild = top_share(counts("zipf:0.8", 1000, 100_000), 10);
        let steep = top_share(counts("zipf:1.2", 1000, 100_000), 10);
        assert!(uniform < 0.02, "uniform top-1% share {uniform}");
        assert!(mild > uniform * 5.0, "zipf:0.8 {mild} vs uniform {uniform}");
        assert!(steep > mild, "zipf:1.2 {steep} vs zipf:0.8 {mild}");
    }

    #[test]
    fn zipf_hot_keys_are_scattered() {
        let c = counts("zipf:1.2", 1000, 50_000);
        let mut idx: Vec<usize> = (0..c.len()).collect();
        idx.sort_by(|a, b| c[*b].cmp(&c[*a]));
        // The five hottest keys are not simply 0..5.
        assert!(idx[..5].iter().any(|i| *i >= 5));
    }

    #[test]
    fn hotset_puts_x_percent_on_y_percent() {
        let c = counts("hotset:90:10", 1000, 100_000);
        let total: u64 = c.iter().sum();
        let hot: u64 = c[..100].iter().sum();
        let share = hot as f64 / total as f64;
        assert!((share - 0.9).abs() < 0.01, "hot share {share}");
    }

    #[test]
    fn sequential_wraps_and_is_shared() {
        let seq = Arc::new(AtomicU64::new(0));
        let mut a = Sampler::new(&Distribution::Sequential, 3, seq.clone()).unwrap();
        let mut b = Sampler::new(&Distribution::Sequential, 3, seq).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let got: Vec<u64> = (0..4)
            .flat_map(|_| [a.next(&mut rng), b.next(&mut rng)])
            .collect();
        assert_eq!(got, vec![0, 1, 2, 0, 1, 2, 0, 1]);
    }

    #[test]
    fn scatter_is_a_permutation() {
        for n in [1u64, 2, 3, 10, 97, 1000] {
            let m = scatter_multiplier(n);
            let mut seen: Vec<u64> = (0..n).map(|r| scatter(r, m, n)).collect();
            seen.sort_unstable();
            assert_eq!(seen, (0..n).collect::<Vec<_>>());
        }
    }
}
