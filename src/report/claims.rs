//! What a run's claiming did, suite by suite: which shard took which chunks of the tail, what
//! no shard took, and what the references cost.

use serde::Serialize;

use crate::plan::Ledger;

/// One shard's part of a suite's tail.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShardClaims {
    pub shard: u32,
    /// The chunks it owns, in the tail's order.
    pub chunks: Vec<usize>,
    /// Their items.
    pub items: usize,
    /// Requests its process made to claim (the last attempt's), when it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<usize>,
}

/// A suite's claims in a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SuiteClaims {
    pub suite: String,
    /// Chunks in the tail.
    pub chunks: usize,
    pub shards: Vec<ShardClaims>,
    /// Chunks no shard took: their items never ran.
    pub unclaimed: Vec<usize>,
    /// The run's references of the suite, and how many of them `report` deleted.
    pub references: usize,
    pub deleted: usize,
}

/// A suite's claims from its references: `sizes` is each chunk's item count, `requests` each
/// shard's (1-based) requests when its process said.
pub fn account(
    suite: &str,
    ledger: &Ledger,
    sizes: &[usize],
    references: usize,
    requests: &dyn Fn(u32) -> Option<usize>,
    shards: u32,
) -> SuiteClaims {
    let per_shard = (1..=shards)
        .map(|k| {
            let chunks: Vec<usize> = (0..sizes.len())
                .filter(|&c| ledger.owner(c) == Some(k))
                .collect();
            ShardClaims {
                shard: k,
                items: chunks.iter().map(|&c| sizes[c]).sum(),
                chunks,
                requests: requests(k),
            }
        })
        .collect();
    SuiteClaims {
        suite: suite.to_owned(),
        chunks: sizes.len(),
        shards: per_shard,
        unclaimed: ledger.unclaimed(sizes.len()),
        references,
        deleted: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_chunk_is_its_owners_and_the_rest_unclaimed() {
        let p = "refs/planner/9/s/";
        let names = [
            "refs/planner/9/s/c0/a1",
            "refs/planner/9/s/o0/s2/a1",
            "refs/planner/9/s/c1/a1",
            "refs/planner/9/s/o1/s1/a1",
            "refs/planner/9/s/o1/s1/a2",
            // a lock whose shard died before it wrote its owner
            "refs/planner/9/s/c2/a1",
        ];
        let ledger = Ledger::read(p, names);
        let c = account(
            "s",
            &ledger,
            &[3, 4, 5],
            names.len(),
            &|k| (k == 1).then_some(7),
            2,
        );
        assert_eq!(c.unclaimed, vec![2]);
        assert_eq!(
            c.shards,
            vec![
                ShardClaims {
                    shard: 1,
                    chunks: vec![1],
                    items: 4,
                    requests: Some(7)
                },
                ShardClaims {
                    shard: 2,
                    chunks: vec![0],
                    items: 3,
                    requests: None
                },
            ]
        );
    }
}
