//! The operation mix: `--mix get=80,put=20` → which DynamoDB operation each request is.
//!
//! Weights are whole percentages that must sum to exactly 100, so a typo such as
//! `get=80,put=30` is an error before any load is sent rather than a silently rescaled mix.
//! Each operation may appear once.

use rand::Rng;

/// The operations the load generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LoadOp {
    GetItem,
    BatchGetItem,
    Query,
    Scan,
    PutItem,
    UpdateItem,
    DeleteItem,
}

impl LoadOp {
    pub const ALL: [LoadOp; 7] = [
        LoadOp::GetItem,
        LoadOp::BatchGetItem,
        LoadOp::Query,
        LoadOp::Scan,
        LoadOp::PutItem,
        LoadOp::UpdateItem,
        LoadOp::DeleteItem,
    ];

    /// The DynamoDB operation name (the `X-Amz-Target` suffix).
    pub fn name(self) -> &'static str {
        match self {
            LoadOp::GetItem => "GetItem",
            LoadOp::BatchGetItem => "BatchGetItem",
            LoadOp::Query => "Query",
            LoadOp::Scan => "Scan",
            LoadOp::PutItem => "PutItem",
            LoadOp::UpdateItem => "UpdateItem",
            LoadOp::DeleteItem => "DeleteItem",
        }
    }

    /// Position in [`LoadOp::ALL`], for per-operation arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Reads may be strongly consistent; writes cannot.
    pub fn is_read(self) -> bool {
        matches!(
            self,
            LoadOp::GetItem | LoadOp::BatchGetItem | LoadOp::Query | LoadOp::Scan
        )
    }

    fn from_short(name: &str) -> Option<LoadOp> {
        let norm: String = name
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        Some(match norm.as_str() {
            "get" | "getitem" => LoadOp::GetItem,
            "batchget" | "batchgetitem" => LoadOp::BatchGetItem,
            "query" => LoadOp::Query,
            "scan" => LoadOp::Scan,
            "put" | "putitem" => LoadOp::PutItem,
            "update" | "updateitem" => LoadOp::UpdateItem,
            "delete" | "deleteitem" => LoadOp::DeleteItem,
            _ => return None,
        })
    }
}

/// A validated mix: (operation, percent) with non-zero percents summing to 100.
#[derive(Debug, Clone, PartialEq)]
pub struct Mix {
    entries: Vec<(LoadOp, u32)>,
}

impl Mix {
    pub fn entries(&self) -> &[(LoadOp, u32)] {
        &self.entries
    }

    pub fn has(&self, op: LoadOp) -> bool {
        self.entries.iter().any(|(o, _)| *o == op)
    }

    pub fn only_reads(&self) -> bool {
        self.entries.iter().all(|(o, _)| o.is_read())
    }

    /// Draws one operation.
    pub fn pick<R: Rng>(&self, rng: &mut R) -> LoadOp {
        let mut roll = rng.random_range(0..100u32);
        for (op, pct) in &self.entries {
            if roll < *pct {
                return *op;
            }
            roll -= pct;
        }
        // Unreachable when the percents sum to 100 (checked in parsing).
        self.entries.first().map_or(LoadOp::GetItem, |e| e.0)
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .entries
            .iter()
            .map(|(op, pct)| format!("{}={pct}", op.name()))
            .collect();
        write!(f, "{}", parts.join(","))
    }
}

impl std::str::FromStr for Mix {
    type Err = String;

    fn from_str(text: &str) -> Result<Mix, String> {
        let mut entries: Vec<(LoadOp, u32)> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, pct) = part.split_once('=').ok_or_else(|| {
                format!("mix entry {part:?} must look like op=percent, e.g. get=80")
            })?;
            let op = LoadOp::from_short(name.trim()).ok_or_else(|| {
                format!(
                    "unknown operation {:?} in --mix; use get, batchget, query, scan, put, update, delete",
                    name.trim()
                )
            })?;
            let pct: u32 = pct.trim().parse().map_err(|_| {
                format!(
                    "mix percent for {} must be a whole number 0..100, got {:?}",
                    op.name(),
                    pct.trim()
                )
            })?;
            if entries.iter().any(|(o, _)| *o == op) {
                return Err(format!("{} appears twice in --mix", op.name()));
            }
            if pct > 0 {
                entries.push((op, pct));
            }
        }
        let sum: u32 = entries.iter().map(|(_, p)| p).sum();
        if entries.is_empty() {
            return Err("--mix names no operation with a non-zero share".into());
        }
        if sum != 100 {
            return Err(format!(
                "--mix percents must sum to 100, got {sum} ({text})"
            ));
        }
        Ok(Mix { entries })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parses_short_and_full_names() {
        let mix: Mix = "get=70, BatchGetItem=10,query=10,put_item=10"
            .parse()
            .unwrap();
        assert_eq!(
            mix.entries(),
            &[
                (LoadOp::GetItem, 70),
                (LoadOp::BatchGetItem, 10),
                (LoadOp::Query, 10),
                (LoadOp::PutItem, 10)
            ]
        );
        assert_eq!(
            mix.to_string(),
            "GetItem=70,BatchGetItem=10,Query=10,PutItem=10"
        );
        assert!(!mix.only_reads());
        assert!("get=100".parse::<Mix>().unwrap().only_reads());
    }

    #[test]
    fn rejects_bad_mixes() {
        let cases = [
            ("get=80,put=30", "sum to 100"),
            ("get=80", "sum to 100"),
            ("get=80,fly=20", "unknown operation"),
            ("get", "op=percent"),
            ("get=x,put=20", "whole number"),
            ("get=-5,put=105", "whole number"),
            ("get=50,get=50", "twice"),
            ("", "no operation"),
            ("get=0", "no operation"),
        ];
        for (text, want) in cases {
            let err = text.parse::<Mix>().unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn pick_follows_the_weights() {
        let mix: Mix = "get=80,put=20".parse().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let gets = (0..100_000)
            .filter(|_| mix.pick(&mut rng) == LoadOp::GetItem)
            .count();
        assert!((gets as f64 / 100_000.0 - 0.8).abs() < 0.01, "{gets}");
    }
}
