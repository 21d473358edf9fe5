//! Removals of other regions' replicas of a global table, and deletions of this region's
//! replica asked by another region, one at a time per table here. Two regions removing
//! each other at once (or three in a ring) would each delete another's table, then find
//! their own gone before telling the replicas left, which would go on listing the gone.
//! A removal here holds the table's turn while it asks the other region; a deletion asked
//! meanwhile is refused (the table is being updated), never waited for, so two regions
//! asking each other cannot wait on each other.
//!
//! In memory: a removal under way ends with the process that runs it.

use tokio::sync::OwnedMutexGuard;

use super::turns::Turns;

static TURNS: Turns = Turns::new();

/// Waits for, and holds, the turn to remove a replica of `table` from here.
pub(super) async fn removal(table: &str) -> OwnedMutexGuard<()> {
    TURNS.take(table).await
}

/// The turn to delete this region's replica of `table` as another region asks, if no
/// removal from here (or other such deletion) holds it.
pub(super) fn deletion(table: &str) -> Option<OwnedMutexGuard<()>> {
    TURNS.try_take(table)
}
