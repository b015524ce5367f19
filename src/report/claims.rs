//! What a run's claiming did, suite by suite: which shard took which chunks of the tail, what
//! no shard took, and what the references cost.

use serde::Serialize;

use crate::plan::Ledger;
use crate::timings::Micros;

/// What a claiming shard's process said its claims cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClaimCost {
    /// Requests made, the listing included (the last attempt's).
    pub requests: usize,
    /// Time spent waiting on them: answers, retries and rate-limit waits.
    pub wait: Micros,
}

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
    /// The time those requests took, when it said.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_wait_ms: Option<Micros>,
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

/// A suite's claims from its references: `sizes` is each chunk's item count, `cost` each
/// shard's (1-based) claims' cost when its process said.
pub fn account(
    suite: &str,
    ledger: &Ledger,
    sizes: &[usize],
    references: usize,
    cost: &dyn Fn(u32) -> Option<ClaimCost>,
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
                requests: cost(k).map(|c| c.requests),
                claim_wait_ms: cost(k).map(|c| c.wait),
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
            &|k| {
                (k == 1).then_some(ClaimCost {
                    requests: 7,
                    wait: Micros::ms(1_500),
                })
            },
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
                    requests: Some(7),
                    claim_wait_ms: Some(Micros::ms(1_500)),
                },
                ShardClaims {
                    shard: 2,
                    chunks: vec![0],
                    items: 3,
                    requests: None,
                    claim_wait_ms: None,
                },
            ]
        );
    }
}
