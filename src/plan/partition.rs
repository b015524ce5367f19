//! Partitioning weighted items into n shards: longest-first (LPT), then local search that moves
//! one item or swaps two between the busiest shard and another until no such change shortens the
//! busiest shard.
//!
//! Everything is integer arithmetic with explicit tie-breaks (lowest shard, earliest item), so
//! the result depends only on the weights in the order given: the caller gives them in id order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::timings::Micros;

/// Which shard (0-based) each item goes to, and each shard's load.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    pub shard_of: Vec<u32>,
    pub loads: Vec<Micros>,
}

impl Assignment {
    pub fn makespan(&self) -> Micros {
        self.loads.iter().copied().max().unwrap_or_default()
    }

    /// The items of shard `k` (0-based), in the order given.
    pub fn items_of(&self, k: usize) -> impl Iterator<Item = usize> + '_ {
        self.shard_of
            .iter()
            .enumerate()
            .filter(move |&(_, &s)| s as usize == k)
            .map(|(i, _)| i)
    }
}

/// The lower bound on the busiest shard: max(longest item, ⌈total / n⌉).
pub fn bound(weights: &[Micros], n: usize) -> Micros {
    let total: u64 = weights.iter().map(|w| w.0).sum();
    let longest = weights.iter().copied().max().unwrap_or_default();
    longest.max(Micros(total.div_ceil(n.max(1) as u64)))
}

/// Indices by weight, longest first; equal weights keep their given order.
fn longest_first(weights: &[Micros]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Every key is distinct (the index breaks ties), so an unstable sort is as deterministic.
    order.sort_unstable_by_key(|&i| (Reverse(weights[i]), i));
    order
}

/// Longest-first: each item, longest first, to the least loaded shard (the lowest on a tie).
/// Items with no measurable time go, in the order given, to the shard with the fewest items:
/// they cost something each, and by load alone they would all land on one shard.
pub fn lpt(weights: &[Micros], n: usize) -> Assignment {
    lpt_in(weights, &LongestFirst::new(weights), n)
}

/// The items longest first, sorted once for every shard count a curve tries.
#[derive(Clone, Debug)]
pub struct LongestFirst {
    order: Vec<usize>,
    /// How many of them have a measurable time (the rest are at the end).
    timed: usize,
}

impl LongestFirst {
    pub fn new(weights: &[Micros]) -> Self {
        let order = longest_first(weights);
        let timed = order.partition_point(|&i| weights[i] > Micros::ZERO);
        LongestFirst { order, timed }
    }
}

/// `lpt` with the items' order already sorted.
pub fn lpt_in(weights: &[Micros], sorted: &LongestFirst, n: usize) -> Assignment {
    let n = n.max(1);
    let mut shard_of = vec![0u32; weights.len()];
    let mut loads = vec![Micros::ZERO; n];
    let mut counts = vec![0usize; n];
    let mut heap: BinaryHeap<Reverse<(Micros, u32)>> =
        (0..n as u32).map(|s| Reverse((Micros::ZERO, s))).collect();
    let (order, timed) = (&sorted.order, sorted.timed);
    // The least loaded shard is updated where it stands, one sift instead of a pop and a push:
    // the keys are distinct (the shard breaks ties), so the shards come out in the same order.
    for &i in &order[..timed] {
        let Some(mut top) = heap.peek_mut() else {
            break;
        };
        let Reverse((load, s)) = *top;
        shard_of[i] = s;
        let new = load + weights[i];
        loads[s as usize] = new;
        counts[s as usize] += 1;
        *top = Reverse((new, s));
    }
    let mut by_count: BinaryHeap<Reverse<(usize, u32)>> = (0..n as u32)
        .map(|s| Reverse((counts[s as usize], s)))
        .collect();
    for &i in &order[timed..] {
        let Some(mut top) = by_count.peek_mut() else {
            break;
        };
        let Reverse((count, s)) = *top;
        shard_of[i] = s;
        *top = Reverse((count + 1, s));
    }
    Assignment { shard_of, loads }
}

/// The best change found for the busiest shard.
#[derive(Clone, Copy, Debug)]
struct Change {
    /// The larger of the two shards' loads after the change; lower is better.
    pair_max: u64,
    to: usize,
    /// Item leaving the busiest shard.
    out: usize,
    /// Item coming back, for a swap.
    back: Option<usize>,
}

/// The candidate changes local search may look at in all: a fraction of a second.
const REFINE_WORK: usize = 30_000_000;

/// Local search from an assignment: while some single move or swap between the busiest shard and
/// another shortens the busiest shard without making the other as long, apply the best one.
/// Each step lowers the sum of squared loads, so it ends; `max_steps` bounds it anyway.
pub fn refine(weights: &[Micros], a: &mut Assignment, max_steps: usize) {
    refine_sorted(weights, &LongestFirst::new(weights), a, max_steps);
}

/// `refine` with the items' order already sorted.
fn refine_sorted(weights: &[Micros], sorted: &LongestFirst, a: &mut Assignment, max_steps: usize) {
    let n = a.loads.len();
    if n < 2 || weights.is_empty() {
        return;
    }
    let floor = bound(weights, n).0;
    // Per shard, its items sorted by (weight, index), the order `apply`'s binary search and the
    // swap pointer below rely on (the longest-first order reversed has equal weights by index
    // downwards).
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &i in sorted.order.iter().rev() {
        members[a.shard_of[i] as usize].push(i);
    }
    for list in &mut members {
        list.sort_unstable_by_key(|&i| (weights[i], i));
    }
    let w = |i: usize| weights[i].0;
    let mut work = 0usize;
    for _ in 0..max_steps {
        let (m, load_m) = a
            .loads
            .iter()
            .enumerate()
            .max_by_key(|&(s, l)| (l.0, Reverse(s)))
            .map_or((0, 0), |(s, l)| (s, l.0));
        // At the bound, or within a hundred-thousandth of it: what is left to gain is not
        // measurable, and at a million items the search spent seconds for milliseconds.
        if load_m <= floor || (load_m - floor).saturating_mul(100_000) <= floor {
            return;
        }
        // A bounded amount of work in all, counted rather than timed so that every runner
        // stops at the same step.
        work += members[m].len() * n;
        if work > REFINE_WORK {
            return;
        }
        let mut best: Option<Change> = None;
        let mut consider = |c: Change| {
            let better = match best {
                None => true,
                Some(b) => (c.pair_max, c.to, c.out, c.back) < (b.pair_max, b.to, b.out, b.back),
            };
            if better && c.pair_max < load_m {
                best = Some(c);
            }
        };
        for (j, load_j) in a.loads.iter().enumerate() {
            let load_j = load_j.0;
            if j == m || load_j >= load_m {
                continue;
            }
            let gap = load_m - load_j;
            let list = &members[j];
            // The outgoing items rise in weight, so the swap's target does too: one pointer
            // walks the other shard's list instead of a search per item.
            let mut pos = 0usize;
            for &out in &members[m] {
                let wo = w(out);
                // A move: the item alone.
                if wo > 0 && wo < gap {
                    consider(Change {
                        pair_max: (load_m - wo).max(load_j + wo),
                        to: j,
                        out,
                        back: None,
                    });
                }
                // A swap: the item for a lighter one, d = wo - wb in (0, gap), best near gap / 2.
                let target = wo.saturating_sub(gap / 2);
                while pos < list.len() && w(list[pos]) < target {
                    pos += 1;
                }
                for &back in &list[pos.saturating_sub(1)..(pos + 1).min(list.len())] {
                    let wb = w(back);
                    if wb < wo && wo - wb < gap {
                        let d = wo - wb;
                        consider(Change {
                            pair_max: (load_m - d).max(load_j + d),
                            to: j,
                            out,
                            back: Some(back),
                        });
                    }
                }
            }
        }
        let Some(c) = best else { return };
        apply(weights, a, &mut members, m, c);
    }
}

fn apply(weights: &[Micros], a: &mut Assignment, members: &mut [Vec<usize>], m: usize, c: Change) {
    let key = |i: usize| (weights[i], i);
    let remove = |list: &mut Vec<usize>, i: usize| {
        if let Ok(p) = list.binary_search_by_key(&key(i), |&x| key(x)) {
            list.remove(p);
        }
    };
    let insert = |list: &mut Vec<usize>, i: usize| {
        let p = list.partition_point(|&x| key(x) < key(i));
        list.insert(p, i);
    };
    remove(&mut members[m], c.out);
    insert(&mut members[c.to], c.out);
    a.shard_of[c.out] = c.to as u32;
    a.loads[m] = a.loads[m] - weights[c.out];
    a.loads[c.to] += weights[c.out];
    if let Some(back) = c.back {
        remove(&mut members[c.to], back);
        insert(&mut members[m], back);
        a.shard_of[back] = m as u32;
        a.loads[c.to] = a.loads[c.to] - weights[back];
        a.loads[m] += weights[back];
    }
}

/// LPT refined by local search.
pub fn partition(weights: &[Micros], n: usize) -> Assignment {
    partition_in(weights, &LongestFirst::new(weights), n)
}

/// `partition` with the items already sorted longest first.
pub fn partition_in(weights: &[Micros], sorted: &LongestFirst, n: usize) -> Assignment {
    let mut a = lpt_in(weights, sorted, n);
    refine_sorted(weights, sorted, &mut a, 50 * n.max(1) + weights.len());
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::timings::ms_list as ms;

    #[test]
    fn lpt_ties_go_to_the_lowest_shard() {
        let a = lpt(&ms(&[5, 5, 5, 5]), 2);
        assert_eq!(a.shard_of, [0, 1, 0, 1]);
        assert_eq!(a.loads, ms(&[10, 10]));
    }

    /// pytest writes `time="0.000"` for sub-millisecond tests: 61,735 of packaging's 64,207 went
    /// to one shard, since adding nothing leaves the least loaded shard the least loaded.
    #[test]
    fn items_with_no_time_spread_by_count() {
        let mut w = ms(&[9, 4, 4]);
        w.extend(std::iter::repeat_n(Micros::ZERO, 9));
        let a = partition(&w, 3);
        let counts: Vec<usize> = (0..3).map(|k| a.items_of(k).count()).collect();
        assert_eq!(counts, [4, 4, 4], "{a:?}");
        assert_eq!(a.loads, ms(&[9, 4, 4]));
        let zeros = partition(&[Micros::ZERO; 10], 4);
        let counts: Vec<usize> = (0..4).map(|k| zeros.items_of(k).count()).collect();
        assert_eq!(counts, [3, 3, 2, 2]);
    }

    /// Each shard's load stays the sum of its items' weights through the local search, with many
    /// equal weights (whose order the search's lists depend on).
    #[test]
    fn loads_stay_the_sum_of_each_shards_items_with_many_equal_weights() {
        let mut x: u64 = 7;
        let mut next = move || {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            x >> 33
        };
        for round in 0..30 {
            let w: Vec<Micros> = (0..200 + round * 13)
                .map(|_| Micros(1 + next() % 6))
                .collect();
            for n in [2, 3, 7, 16] {
                let a = partition(&w, n);
                let mut sums = vec![Micros::ZERO; n];
                for (i, &s) in a.shard_of.iter().enumerate() {
                    sums[s as usize] += w[i];
                }
                assert_eq!(sums, a.loads, "round {round}, n = {n}");
            }
        }
    }

    #[test]
    fn refinement_fixes_the_classic_lpt_miss() {
        // LPT: 3, 3 | 2, 2 | 2 → {3,2,2} and {3,2}: 7. Optimal: {3,3} and {2,2,2}: 6.
        let w = ms(&[3, 3, 2, 2, 2]);
        assert_eq!(lpt(&w, 2).makespan(), Micros::ms(7));
        assert_eq!(partition(&w, 2).makespan(), Micros::ms(6));
    }

    #[test]
    fn more_shards_than_items_leaves_shards_empty() {
        let a = partition(&ms(&[3, 2]), 4);
        assert_eq!(a.loads, ms(&[3, 2, 0, 0]));
    }

    #[test]
    fn bound_is_the_larger_term() {
        assert_eq!(bound(&ms(&[10, 1, 1]), 2), Micros::ms(10));
        assert_eq!(bound(&ms(&[3, 3, 3]), 2), Micros(4500));
    }
}
