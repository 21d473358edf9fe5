//! How many connections a server may hold at once, from the process's open file limit.
//!
//! Every accepted connection takes a file descriptor, and so does every file the engine
//! opens (a flush's new table, a compaction's output, an export's data file) and every
//! outgoing call (the proxy's calls to the store, the store's trigger, Kinesis and replica
//! deliveries). A server that accepts until the process runs out lets idle clients decide
//! whether the engine can write: a flush failing with EMFILE stops fjall's worker, and the
//! store refuses every write until it is restarted. So:
//! - at start the soft limit is raised to the hard one ([`raise`]): the soft limit is a
//!   default sized for interactive shells (1,024 under systemd and most distributions),
//!   the hard one is what the operator allows;
//! - a server holds at most [`connection_cap`] connections, the limit less a [`reserve`]
//!   kept for everything else; further clients wait in the listen backlog until a
//!   connection closes (`serve`).

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The fewest descriptors kept from connections: a fresh store's journal, tables, data
/// directory and listener, and its outgoing connection pools, with room to spare.
const MIN_RESERVE: u64 = 64;

/// The soft open file limit now in force (`None`: unlimited, as no Linux kernel allows).
pub fn current() -> Option<u64> {
    getrlimit(Resource::Nofile).current
}

/// Raises the soft open file limit to the hard one (see the module's text) and logs the
/// limit in force; returns it. A refusal leaves the soft limit as it was, logged.
pub fn raise() -> Option<u64> {
    let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
    // An unlimited hard limit (macOS) cannot be the soft one: the kernel refuses it.
    if let Some(hard) = maximum.filter(|&hard| current.is_some_and(|soft| soft < hard)) {
        let raised = Rlimit {
            current: Some(hard),
            maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!(error = %e, soft = current, hard, "cannot raise the open file limit");
        }
    }
    let limit = self::current();
    tracing::info!(limit, "open file limit");
    limit
}

/// The descriptors kept from connections under `limit`: a quarter of it, which grows with
/// what a larger deployment's engine holds open (fjall caches up to 900 tables' files) and
/// leaves three quarters to clients, and at least [`MIN_RESERVE`]; but at most half the
/// limit, so that a tiny limit (a test's or a container's `ulimit -n 64`) still serves.
pub fn reserve(limit: u64) -> u64 {
    (limit / 4).max(MIN_RESERVE).min(limit / 2)
}

/// Half the [`reserve`] under `limit`: what one user of the reserve (the engine's cached
/// files, a node's calls to its store) may take, leaving the rest to the others.
pub fn half_reserve(limit: u64) -> usize {
    usize::try_from(reserve(limit) / 2).unwrap_or(usize::MAX)
}

/// The most connections a server holds at once under `limit` (at least one).
pub fn connection_cap(limit: u64) -> u64 {
    limit.saturating_sub(reserve(limit)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quarter_is_kept_but_never_fewer_than_the_minimum_nor_more_than_half() {
        assert_eq!(reserve(1_048_576), 262_144);
        assert_eq!(reserve(1_024), 256);
        assert_eq!(reserve(256), 64);
        assert_eq!(reserve(128), 64);
        assert_eq!(reserve(64), 32);
        assert_eq!(connection_cap(1_024), 768);
        assert_eq!(connection_cap(64), 32);
        assert_eq!(connection_cap(1), 1);
        assert_eq!(half_reserve(1_024), 128);
        assert_eq!(half_reserve(64), 16);
    }

    #[test]
    fn raising_leaves_the_soft_limit_at_the_hard_one() {
        let limit = raise();
        assert_eq!(limit, current());
        let Rlimit { current, maximum } = getrlimit(Resource::Nofile);
        if maximum.is_some() {
            assert_eq!(current, maximum);
        }
    }
}
