//! Claiming the tail of the work: each shard runs a static head, then takes chunks of a shared
//! tail, in one order, as it becomes free. A static plan is only as good as the estimates it was
//! made from; the tail absorbs what they got wrong (drift, new tests, a runner that started late)
//! at the price of one claim and one start-up per chunk.
//!
//! What goes where decides it. The heads are the static partition less each shard's smallest
//! items, so that every long item starts at once: a long item whose estimate is wrong, left for
//! last, is what a claim cannot fix. The tail is the small items, longest first, cut into chunks
//! that shrink as the tail drains (rounds of one chunk per shard, each round half the one before),
//! never below the size at which the per-chunk cost would be more than a few percent of the chunk.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::partition::{Assignment, partition};
use crate::timings::Micros;

/// How a suite's items are split for claiming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimPlan {
    /// Per shard, the items it runs first, by index.
    pub heads: Vec<Vec<usize>>,
    /// The shared tail's chunks, in the order they are claimed.
    pub chunks: Vec<Vec<usize>>,
}

/// What shapes the tail.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClaimShape {
    /// The share of each shard's estimated work that goes to the tail.
    pub tail_share: f64,
    /// One claim and one start-up: what every chunk pays.
    pub per_chunk: Micros,
    /// A chunk is at least `per_chunk ÷ max_cost_share` of estimated work.
    pub max_cost_share: f64,
    /// At most this many chunks per shard.
    pub max_chunks_per_shard: usize,
    /// An item estimated at this share of the mean shard or more runs alone in its head: a long
    /// item's estimate is the one most likely to be wrong by more than a chunk.
    pub alone_above: f64,
}

/// Chosen on the first halves of the benchmark's series, replaying the next refresh with 0.4 s a
/// claim and 1 s of start-up a chunk (section 2, "Claiming the tail"): a tenth of the work in the
/// tail, no chunk under twice its cost, an item of half the mean shard or more alone in its head.
impl Default for ClaimShape {
    fn default() -> Self {
        ClaimShape {
            tail_share: 0.1,
            per_chunk: Micros::ms(1_400),
            max_cost_share: 0.5,
            max_chunks_per_shard: 3,
            alone_above: 0.5,
        }
    }
}

/// The heads and the tail of `weights` over `n` shards, from the static partition.
pub fn claim_plan(weights: &[Micros], n: usize, shape: ClaimShape) -> ClaimPlan {
    let n = n.max(1);
    let a = partition(weights, n);
    claim_plan_from(weights, &a, shape, &[])
}

/// `claim_plan` from a partition already made.
/// Items marked in `unseen` (no history: their estimates are borrowed) are in no head: they are
/// claimed first, before the tail's longest, cut by count into a round of their own (an unseen
/// long test claimed last, or several unseen ones in one chunk, is what finishes last).
pub fn claim_plan_from(
    weights: &[Micros],
    a: &Assignment,
    shape: ClaimShape,
    unseen: &[bool],
) -> ClaimPlan {
    let is_unseen = |i: usize| unseen.get(i).copied().unwrap_or(false);
    let n = a.loads.len().max(1);
    let mut heads: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut tail: Vec<usize> = Vec::new();
    // Each head holds its shard's longest items up to (1 − share) of the mean shard's work (at
    // least its longest item): a shard that holds a long item starts it at once and takes
    // nothing else until the tail needs it.
    let mean = a.loads.iter().map(|l| l.0).sum::<u64>() / n as u64;
    let budget = (mean as f64 * (1.0 - shape.tail_share.clamp(0.0, 1.0))) as u64;
    for (k, head) in heads.iter_mut().enumerate() {
        let (new, mut items): (Vec<usize>, Vec<usize>) = a.items_of(k).partition(|&i| is_unseen(i));
        tail.extend(new);
        items.sort_unstable_by_key(|&i| (Reverse(weights[i]), i));
        let mut kept = 0u64;
        let mut cut = 0;
        let alone = items
            .first()
            .is_some_and(|&i| weights[i].0 as f64 >= shape.alone_above * mean as f64);
        while cut < items.len() && (cut == 0 || (!alone && kept + weights[items[cut]].0 <= budget))
        {
            kept += weights[items[cut]].0;
            cut += 1;
        }
        tail.extend_from_slice(&items[cut..]);
        let mut mine = items[..cut].to_vec();
        mine.sort_unstable();
        *head = mine;
    }
    // The tail's unseen items first, then longest first, so that what is claimed last is the
    // smallest of what is known.
    tail.sort_unstable_by_key(|&i| (!is_unseen(i), Reverse(weights[i]), i));
    let fresh = tail.iter().take_while(|&&i| is_unseen(i)).count();
    let (new, known) = tail.split_at(fresh);
    let floor = (shape.per_chunk.0 as f64 / shape.max_cost_share.max(1e-6)) as u64;
    let sum = |items: &[usize]| items.iter().map(|&i| weights[i].0).sum::<u64>();
    // An unseen item's estimate is borrowed and can be off by a hundredfold, so the unseen are
    // cut by count, not by estimate: a round of their own, one chunk a shard, as evenly as
    // their number allows, so that no shard is left with several of them at once.
    let mut chunks: Vec<Vec<usize>> = new
        .chunks(new.len().div_ceil(n).max(1))
        .map(<[usize]>::to_vec)
        .collect();
    // Rounds of n chunks each, every round half the one before (4/7, 2/7, 1/7 of the tail for
    // three), as many rounds as keep the last round's chunks above the floor; with exact
    // estimates every shard takes one chunk a round and all finish together.
    let total = sum(known);
    let mut rounds = shape.max_chunks_per_shard.max(1);
    let round_share =
        |r: usize, rounds: usize| (1u64 << (rounds - 1 - r)) as f64 / ((1u64 << rounds) - 1) as f64;
    while rounds > 1 && (total as f64 * round_share(rounds - 1, rounds) / n as f64) < floor as f64 {
        rounds -= 1;
    }
    // Too little tail for a chunk per shard: fewer chunks, each at least the floor.
    let per_round = if (total / n as u64) < floor {
        (total / floor.max(1)).clamp(1, n as u64) as usize
    } else {
        n
    };
    let mut targets: Vec<u64> = Vec::new();
    for r in 0..rounds {
        let round = (total as f64 * round_share(r, rounds)) as u64;
        targets.extend(std::iter::repeat_n(round / per_round as u64, per_round));
    }
    cut_chunks(known, weights, &targets, &mut chunks);
    ClaimPlan { heads, chunks }
}

/// Cuts `items` in order into chunks of the `targets`' sizes, the last taking what is left, onto
/// `chunks`. Each chunk ends where the running sum reaches its running target, so that rounding
/// in one chunk does not carry into the next.
fn cut_chunks(items: &[usize], weights: &[Micros], targets: &[u64], chunks: &mut Vec<Vec<usize>>) {
    let (mut at, mut done, mut due) = (0, 0u64, 0u64);
    for (c, &target) in targets.iter().enumerate() {
        let last = c + 1 == targets.len();
        due += target;
        let mut chunk = Vec::new();
        while at < items.len() && (chunk.is_empty() || done < due || last) {
            done += weights[items[at]].0;
            chunk.push(items[at]);
            at += 1;
        }
        if !chunk.is_empty() {
            chunks.push(chunk);
        }
    }
}

/// The makespan of a run of `plan` with the items' `actual` times: every shard runs its head,
/// then, whenever one is free, it claims the next chunk (paying `per_chunk`) and runs it.
/// `start` is when each shard begins (a runner that started late), or all at once when empty.
pub fn replay(plan: &ClaimPlan, actual: &[Micros], per_chunk: Micros, start: &[Micros]) -> Micros {
    let mut free: BinaryHeap<Reverse<(Micros, usize)>> = plan
        .heads
        .iter()
        .enumerate()
        .map(|(k, head)| {
            let begin = start.get(k).copied().unwrap_or_default();
            Reverse((begin + head.iter().map(|&i| actual[i]).sum(), k))
        })
        .collect();
    for chunk in &plan.chunks {
        let Some(Reverse((t, k))) = free.pop() else {
            break;
        };
        let done = t + per_chunk + chunk.iter().map(|&i| actual[i]).sum();
        free.push(Reverse((done, k)));
    }
    free.into_iter()
        .map(|Reverse((t, _))| t)
        .max()
        .unwrap_or_default()
}

/// The makespan of the static partition `a` with the items' `actual` times.
pub fn replay_static(a: &Assignment, actual: &[Micros], start: &[Micros]) -> Micros {
    let mut loads: Vec<Micros> = (0..a.loads.len())
        .map(|k| start.get(k).copied().unwrap_or_default())
        .collect();
    for (i, &k) in a.shard_of.iter().enumerate() {
        loads[k as usize] += actual[i];
    }
    loads.into_iter().max().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::timings::ms_list as ms;

    #[test]
    fn every_item_is_in_exactly_one_head_or_chunk() {
        let w: Vec<Micros> = (0..500u64)
            .map(|i| Micros::ms(1 + (i * 7919) % 997))
            .collect();
        for n in [1, 3, 8, 64] {
            let plan = claim_plan(&w, n, ClaimShape::default());
            let mut seen = vec![0u32; w.len()];
            for i in plan.heads.iter().chain(&plan.chunks).flatten() {
                seen[*i] += 1;
            }
            assert!(seen.iter().all(|&c| c == 1), "n = {n}");
            assert!(
                plan.chunks.len() <= 3 * n,
                "at most three chunks a shard: {}",
                plan.chunks.len()
            );
        }
    }

    #[test]
    fn long_items_start_at_once_and_chunks_shrink_to_a_floor() {
        let mut w = ms(&[60_000, 50_000, 40_000]);
        w.extend(std::iter::repeat_n(Micros::ms(500), 600));
        let shape = ClaimShape {
            tail_share: 0.3,
            per_chunk: Micros::ms(100),
            max_cost_share: 0.05,
            max_chunks_per_shard: 3,
            alone_above: 1.0,
        };
        let plan = claim_plan(&w, 3, shape);
        let heads: Vec<usize> = plan.heads.iter().flatten().copied().collect();
        for long in 0..3 {
            assert!(heads.contains(&long), "item {long} is in a head");
        }
        let sizes: Vec<u64> = plan
            .chunks
            .iter()
            .map(|c| c.iter().map(|&i| w[i].0).sum())
            .collect();
        // Three rounds of three chunks, each round about half the one before.
        assert_eq!(sizes.len(), 9, "{sizes:?}");
        assert!(sizes[0] > sizes[3] && sizes[3] > sizes[6], "{sizes:?}");
        // Not below 100 ms ÷ 5%.
        assert!(sizes.iter().all(|&s| s >= Micros::ms(2_000).0), "{sizes:?}");
        // A floor the tail cannot fill in three rounds: fewer rounds, then fewer chunks than
        // shards, none (but the last) under the floor.
        for (per_chunk, most) in [(1_000, 6), (10_000, 2)] {
            let floor = per_chunk * 20;
            let coarse = claim_plan(
                &w,
                3,
                ClaimShape {
                    per_chunk: Micros::ms(per_chunk),
                    ..shape
                },
            );
            let sums: Vec<u64> = coarse
                .chunks
                .iter()
                .map(|c| c.iter().map(|&i| w[i].0).sum())
                .collect();
            assert!(sums.len() <= most, "{sums:?}");
            assert!(
                sums[..sums.len() - 1]
                    .iter()
                    .all(|&s| s >= Micros::ms(floor).0),
                "{sums:?}"
            );
        }
    }

    #[test]
    fn the_tail_absorbs_a_shard_that_runs_slow() {
        let w = vec![Micros::ms(1_000); 400];
        let a = partition(&w, 4);
        // Claims of 0.2 s: chunks of 4 s or more, three rounds.
        let cost = Micros::ms(200);
        let plan = claim_plan_from(
            &w,
            &a,
            ClaimShape {
                tail_share: 0.3,
                per_chunk: cost,
                max_cost_share: 0.05,
                max_chunks_per_shard: 3,
                alone_above: 1.0,
            },
            &[],
        );
        assert_eq!(plan.chunks.len(), 12);
        // One shard's items take twice their estimate; everything else as planned.
        let actual: Vec<Micros> = a
            .shard_of
            .iter()
            .zip(&w)
            .map(|(&k, &d)| if k == 0 { d + d } else { d })
            .collect();
        let fixed = replay_static(&a, &actual, &[]);
        let claimed = replay(&plan, &actual, cost, &[]);
        assert_eq!(fixed, Micros::ms(200_000));
        assert!(claimed < Micros::ms(150_000), "{claimed}");
        // With the estimates right, claiming costs only its claims.
        let exact = replay(&plan, &w, cost, &[]);
        assert!(
            exact <= Micros::ms(100_000 + 4 * 1_000 + 3 * 200),
            "{exact}"
        );
        // A runner that starts 30 s late: the others take its share of the tail.
        let late = [Micros::ms(30_000), Micros::ZERO, Micros::ZERO, Micros::ZERO];
        let (claim_late, static_late) =
            (replay(&plan, &w, cost, &late), replay_static(&a, &w, &late));
        assert!(
            claim_late + Micros::ms(15_000) < static_late,
            "{claim_late} against {static_late}"
        );
    }

    #[test]
    fn unseen_items_are_claimed_first_and_a_long_item_runs_alone() {
        // Shard loads of 100 s: a 60 s item with 40 small ones beside it, and small ones.
        let mut w = vec![Micros::ms(60_000)];
        w.extend(std::iter::repeat_n(Micros::ms(1_000), 140));
        let unseen: Vec<bool> = (0..w.len()).map(|i| i == 140).collect();
        let a = partition(&w, 2);
        let plan = claim_plan_from(&w, &a, ClaimShape::default(), &unseen);
        let alone = plan
            .heads
            .iter()
            .find(|h| h.contains(&0))
            .expect("item 0 is in a head");
        assert_eq!(alone, &vec![0], "the 60 s item runs alone");
        assert_eq!(plan.chunks[0][0], 140, "the unseen item is claimed first");
        // Without the mark it waits with the rest of its size.
        let unmarked = claim_plan_from(&w, &a, ClaimShape::default(), &[]);
        assert_ne!(unmarked.chunks.first().map(|c| c[0]), Some(140));
    }

    #[test]
    fn unseen_items_are_cut_by_count_one_chunk_a_shard() {
        // Twelve unseen items estimated at 0.1 s each beside 400 known ones of 1 s, on 4 shards:
        // their estimates say one chunk, their number says three each, one chunk a shard.
        let mut w = vec![Micros::ms(1_000); 400];
        w.extend(std::iter::repeat_n(Micros::ms(100), 12));
        let unseen: Vec<bool> = (0..w.len()).map(|i| i >= 400).collect();
        let a = partition(&w, 4);
        let plan = claim_plan_from(&w, &a, ClaimShape::default(), &unseen);
        let first: Vec<&Vec<usize>> = plan.chunks.iter().take(4).collect();
        assert!(
            first
                .iter()
                .all(|c| c.len() == 3 && c.iter().all(|&i| i >= 400)),
            "{first:?}"
        );
        assert!(plan.heads.iter().flatten().all(|&i| i < 400));
        // Each one taking 30 s, not 0.1 s: one chunk on each shard, none on top of another.
        let actual: Vec<Micros> = (0..w.len())
            .map(|i| if i >= 400 { Micros::ms(30_000) } else { w[i] })
            .collect();
        let made = replay(&plan, &actual, Micros::ms(1_400), &[]);
        assert!(made < Micros::ms(100_000 + 90_000 + 10_000), "{made}");
    }
}
