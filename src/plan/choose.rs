//! How many shards: the curve of shard count against predicted wall time and billed runner
//! minutes, and the choice made from it.
//!
//! Each shard pays a fixed start-up overhead (runner, checkout, setup) and GitHub bills every job
//! rounded up to the minute, so past some point an extra runner costs more than it buys. By
//! default the planner takes the fastest shard count whose billed runner-minutes stay within a
//! budget over one runner's (25% more unless told otherwise): the knee of the curve.

use serde::{Deserialize, Serialize};

use super::partition::{Assignment, LongestFirst, lpt_in, partition_in};
use crate::timings::Micros;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostModel {
    /// Fixed cost of every shard before it runs its first item.
    pub overhead: Micros,
    /// How many shards run at once; the rest wait for a free runner, in waves.
    pub capacity: usize,
    /// What a shard pays for each file its items come from (learned by `report`), and the
    /// suite's files and items, from which the files a shard touches at n shards are expected.
    #[serde(default)]
    pub per_file: Micros,
    #[serde(default)]
    pub files: usize,
    #[serde(default)]
    pub items: usize,
}

impl CostModel {
    /// A shard's fixed cost at `n` shards: the overhead, and the per-file cost of the files
    /// its share of the items is expected to touch: of f files of m items each, spread over n
    /// shards, a shard touches f·(1 − (1 − 1/n)^m).
    pub fn overhead_at(&self, n: usize) -> Micros {
        if self.per_file.0 == 0 || self.files == 0 {
            return self.overhead;
        }
        let (f, m) = (self.files as f64, self.items as f64 / self.files as f64);
        let touched = f * (1.0 - (1.0 - 1.0 / n.max(1) as f64).powf(m));
        self.overhead + Micros((self.per_file.0 as f64 * touched).round() as u64)
    }
}

/// The wall time of shards with these loads when at most `capacity` run at once: each shard, in
/// order, starts on the runner that frees first (as GitHub starts a matrix's queued jobs) and
/// pays the overhead there.
pub fn wall_with_capacity(loads: &[Micros], overhead: Micros, capacity: usize) -> Micros {
    let c = capacity.max(1);
    if loads.len() <= c {
        return overhead + loads.iter().copied().max().unwrap_or_default();
    }
    let mut free: std::collections::BinaryHeap<std::cmp::Reverse<Micros>> =
        (0..c).map(|_| std::cmp::Reverse(Micros::ZERO)).collect();
    let mut end = Micros::ZERO;
    for &load in loads {
        let std::cmp::Reverse(start) = free.pop().unwrap_or(std::cmp::Reverse(Micros::ZERO));
        let finish = start + overhead + load;
        end = end.max(finish);
        free.push(std::cmp::Reverse(finish));
    }
    end
}

/// How many waves `n` shards run in at this capacity.
pub fn waves(n: usize, capacity: usize) -> usize {
    n.div_ceil(capacity.max(1)).max(1)
}

/// One point of the curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub n: usize,
    /// Busiest shard's work, without overhead (longest-first).
    pub makespan_ms: Micros,
    /// Predicted wall time of the phase: overhead + makespan, in waves past the capacity.
    pub wall_ms: Micros,
    /// Sum over shards of (overhead + work) rounded up to the minute.
    pub runner_minutes: u64,
    /// Sequential time ÷ (n × wall).
    pub efficiency: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ChoiceMode {
    /// `--total N`.
    Fixed { requested: usize },
    /// `--target-seconds S`: the fewest shards predicted to finish within it.
    Target { target_ms: Micros },
    /// The fastest count whose billed minutes stay within `max_extra_cost` over one runner's.
    Cost { max_extra_cost: f64 },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ChoiceFields", into = "ChoiceFields")]
pub struct Choice {
    pub mode: ChoiceMode,
    pub n: usize,
    pub reason: String,
    /// Where the curve bends: the count the cost budget would pick, shown whatever the mode
    /// that computes a curve (not `--total`, which needs none).
    pub knee: Option<usize>,
}

/// A choice as the plan writes it: the mode's name and its one value beside the choice, in one
/// flat object (`{"mode": "target", "target_ms": 600000, "n": 9, …}`), read back strictly.
#[derive(Serialize, Deserialize)]
struct ChoiceFields {
    mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    requested: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_ms: Option<Micros>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_extra_cost: Option<f64>,
    n: usize,
    reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    knee: Option<usize>,
}

impl From<Choice> for ChoiceFields {
    fn from(c: Choice) -> Self {
        let (mode, requested, target_ms, max_extra_cost) = match c.mode {
            ChoiceMode::Fixed { requested } => ("fixed", Some(requested), None, None),
            ChoiceMode::Target { target_ms } => ("target", None, Some(target_ms), None),
            ChoiceMode::Cost { max_extra_cost } => ("cost", None, None, Some(max_extra_cost)),
        };
        ChoiceFields {
            mode: mode.to_owned(),
            requested,
            target_ms,
            max_extra_cost,
            n: c.n,
            reason: c.reason,
            knee: c.knee,
        }
    }
}

impl TryFrom<ChoiceFields> for Choice {
    type Error = String;

    fn try_from(f: ChoiceFields) -> Result<Self, String> {
        let need = |field: &str| format!("mode `{}` needs `{field}`", f.mode);
        let mode = match f.mode.as_str() {
            "fixed" => ChoiceMode::Fixed {
                requested: f.requested.ok_or_else(|| need("requested"))?,
            },
            "target" => ChoiceMode::Target {
                target_ms: f.target_ms.ok_or_else(|| need("target_ms"))?,
            },
            "cost" => ChoiceMode::Cost {
                max_extra_cost: f.max_extra_cost.ok_or_else(|| need("max_extra_cost"))?,
            },
            other => {
                return Err(format!(
                    "unknown mode `{other}` (expected fixed, target or cost)"
                ));
            }
        };
        Ok(Choice {
            mode,
            n: f.n,
            reason: f.reason,
            knee: f.knee,
        })
    }
}

/// Billed runner-minutes of an assignment: each shard rounded up to the minute.
pub fn billed_minutes(loads: &[Micros], overhead: Micros) -> u64 {
    loads
        .iter()
        .map(|&l| (overhead + l).minutes_ceil().max(1))
        .sum()
}

fn point(weights: &[Micros], n: usize, cost: CostModel, a: &Assignment) -> CurvePoint {
    let total: Micros = weights.iter().copied().sum();
    let makespan = a.makespan();
    let overhead = cost.overhead_at(n);
    let wall = wall_with_capacity(&a.loads, overhead, cost.capacity);
    let sequential = cost.overhead_at(1) + total;
    let efficiency = if wall.0 == 0 {
        1.0
    } else {
        sequential.0 as f64 / (n as f64 * wall.0 as f64)
    };
    CurvePoint {
        n,
        makespan_ms: makespan,
        wall_ms: wall,
        runner_minutes: billed_minutes(&a.loads, overhead),
        efficiency: (efficiency * 10_000.0).round() / 10_000.0,
    }
}

/// The curve for n = 1 ..= cap, from longest-first packings of one sort.
pub fn curve(weights: &[Micros], cap: usize, cost: CostModel) -> Vec<CurvePoint> {
    packed(weights, &LongestFirst::new(weights), cost, 1..=cap.max(1))
}

/// The curve's points at the counts `ns`, each a longest-first packing of the one sort.
fn packed(
    weights: &[Micros],
    sorted: &LongestFirst,
    cost: CostModel,
    ns: impl IntoIterator<Item = usize>,
) -> Vec<CurvePoint> {
    ns.into_iter()
        .map(|n| point(weights, n, cost, &lpt_in(weights, sorted, n)))
        .collect()
}

/// The shard counts worth a packing before any choice: every count up to 16, or up to the
/// capacity (at most 32), then a grid growing by an eighth, the counts a preview shows, and the
/// cap.
fn grid(cap: usize, capacity: usize) -> Vec<usize> {
    let dense = cap.min(capacity.clamp(16, 32));
    let mut ns: Vec<usize> = (1..=dense).collect();
    let mut n = dense;
    while n < cap {
        n = (n + n.div_ceil(8)).min(cap);
        ns.push(n);
    }
    ns.extend(SHOWN_COUNTS.iter().copied().filter(|&n| n <= cap));
    ns.sort_unstable();
    ns.dedup();
    ns
}

/// The shard counts a preview shows of the curve (with the chosen one, the knee, the capacity
/// and the cap), so the curve always holds them.
pub const SHOWN_COUNTS: [usize; 16] = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256];

/// Items × shard counts up to which the whole curve is packed.
const DENSE_WORK: usize = 25_000_000;

/// The curve and the choice, packing only the counts that can matter: with `--total` that one;
/// for a small suite every count; for a large one a grid of counts, then every count between the
/// grid's neighbours of what the grid chose (and of the knee), chosen again. At a million items
/// 256 packings were most of a plan. With the partition of the chosen count, refined, from the
/// same sort (with `--total`, the curve's one point is that partition's).
pub fn choose(
    weights: &[Micros],
    cap: usize,
    cost: CostModel,
    mode: ChoiceMode,
    default_extra_cost: f64,
) -> (Vec<CurvePoint>, Choice, Assignment) {
    choose_within(weights, cap, cost, mode, default_extra_cost, DENSE_WORK)
}

fn choose_within(
    weights: &[Micros],
    cap: usize,
    cost: CostModel,
    mode: ChoiceMode,
    default_extra_cost: f64,
    dense_work: usize,
) -> (Vec<CurvePoint>, Choice, Assignment) {
    let cap = cap.max(1);
    let sorted = LongestFirst::new(weights);
    if let ChoiceMode::Fixed { requested } = mode {
        let n = requested.clamp(1, cap);
        let a = partition_in(weights, &sorted, n);
        let points = vec![point(weights, n, cost, &a)];
        let mut choice = choose_shards(&points, mode, default_extra_cost);
        choice.n = n;
        choice.reason = fixed_reason(requested, n, cap);
        choice.knee = None;
        return (points, choice, a);
    }
    // Every count while that is cheap (a few tens of millions of heap steps, up to ~100,000
    // items at 256 shards): billed minutes round up, so the budget's edge is jagged and only
    // the whole curve finds its fastest count for sure.
    if weights.len().saturating_mul(cap) <= dense_work {
        let points = packed(weights, &sorted, cost, 1..=cap);
        let choice = choose_shards(&points, mode, default_extra_cost);
        let a = partition_in(weights, &sorted, choice.n);
        return (points, choice, a);
    }
    let ns = grid(cap, cost.capacity);
    let mut points = packed(weights, &sorted, cost, ns.iter().copied());
    let first = choose_shards(&points, mode, default_extra_cost);
    let mut between = Vec::new();
    for pick in [Some(first.n), first.knee].into_iter().flatten() {
        let k = ns.partition_point(|&n| n < pick);
        let lo = ns[k.saturating_sub(1)];
        let hi = ns.get(k + 1).copied().unwrap_or(cap);
        between.extend((lo..=hi).filter(|n| ns.binary_search(n).is_err()));
    }
    between.sort_unstable();
    between.dedup();
    points.extend(packed(weights, &sorted, cost, between));
    points.sort_by_key(|p| p.n);
    let choice = choose_shards(&points, mode, default_extra_cost);
    let a = partition_in(weights, &sorted, choice.n);
    (points, choice, a)
}

fn fixed_reason(requested: usize, n: usize, cap: usize) -> String {
    if n < requested {
        format!(
            "--total {requested}, capped at {cap} (no more shards than items, nor than --max-shards)"
        )
    } else {
        format!("--total {requested}")
    }
}

fn knee(curve: &[CurvePoint], max_extra_cost: f64) -> usize {
    let Some(one) = curve.first() else { return 1 };
    let budget = one.runner_minutes as f64 * (1.0 + max_extra_cost);
    curve
        .iter()
        .filter(|p| p.runner_minutes as f64 <= budget + 1e-9)
        .min_by_key(|p| (p.wall_ms, p.n))
        .map_or(1, |p| p.n)
}

/// Chooses n from the curve (which must start at n = 1 and end at the cap).
pub fn choose_shards(curve: &[CurvePoint], mode: ChoiceMode, default_extra_cost: f64) -> Choice {
    let cap = curve.last().map_or(1, |p| p.n);
    let extra = match mode {
        ChoiceMode::Cost { max_extra_cost } => max_extra_cost,
        _ => default_extra_cost,
    };
    let knee_n = knee(curve, extra);
    let at = |n: usize| curve.iter().find(|p| p.n == n);
    let (n, reason) = match mode {
        ChoiceMode::Fixed { requested } => {
            let n = requested.clamp(1, cap);
            (n, fixed_reason(requested, n, cap))
        }
        ChoiceMode::Target { target_ms } => {
            if let Some(p) = curve.iter().find(|p| p.wall_ms <= target_ms) {
                (
                    p.n,
                    format!(
                        "the fewest shards predicted to finish within the target of {target_ms}"
                    ),
                )
            } else {
                let p = curve
                    .iter()
                    .min_by_key(|p| (p.wall_ms, p.n))
                    .copied()
                    .unwrap_or(CurvePoint {
                        n: 1,
                        makespan_ms: Micros::ZERO,
                        wall_ms: Micros::ZERO,
                        runner_minutes: 0,
                        efficiency: 1.0,
                    });
                (
                    p.n,
                    format!(
                        "the target of {target_ms} cannot be met (at best {} with {} shards); took the fastest",
                        p.wall_ms, p.n
                    ),
                )
            }
        }
        ChoiceMode::Cost { max_extra_cost } => {
            let one = at(1).map_or(0, |p| p.runner_minutes);
            let chosen = at(knee_n).map_or(0, |p| p.runner_minutes);
            (
                knee_n,
                format!(
                    "the fastest count whose billed runner-minutes ({chosen}) stay within {:.0}% over one runner's ({one})",
                    max_extra_cost * 100.0
                ),
            )
        }
    };
    Choice {
        mode,
        n,
        reason,
        knee: Some(knee_n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 31 shards on 20 runners: 11 wait for a second wave, and the wall doubles.
    #[test]
    fn shards_past_the_capacity_run_in_waves() {
        let loads = vec![Micros::ms(120_000); 31];
        let overhead = Micros::ms(30_000);
        assert_eq!(
            wall_with_capacity(&loads, overhead, 256),
            Micros::ms(150_000)
        );
        assert_eq!(
            wall_with_capacity(&loads, overhead, 20),
            Micros::ms(300_000)
        );
        assert_eq!(waves(31, 20), 2);
        assert_eq!(waves(20, 20), 1);
        // The curve sees it: past the capacity a shard more is slower, not faster.
        let w = vec![Micros::ms(6_000); 400];
        let points = curve(
            &w,
            40,
            CostModel {
                overhead,
                capacity: 20,
                ..CostModel::default()
            },
        );
        assert!(
            points[20].wall_ms > points[19].wall_ms,
            "{:?}",
            &points[18..22]
        );
        let choice = choose_shards(
            &points,
            ChoiceMode::Cost {
                max_extra_cost: 10.0,
            },
            0.25,
        );
        assert!(choice.n <= 20, "{}", choice.n);
    }

    /// Two cost budgets and a wall-time target.
    fn modes(target_ms: Micros) -> [ChoiceMode; 3] {
        [
            ChoiceMode::Cost {
                max_extra_cost: 0.25,
            },
            ChoiceMode::Cost {
                max_extra_cost: 1.0,
            },
            ChoiceMode::Target { target_ms },
        ]
    }

    /// Packing a grid and then the counts around its pick chooses what packing every count
    /// chose, on skewed suites of several sizes, capacities and modes.
    #[test]
    fn the_sparse_curve_chooses_what_the_whole_curve_chose() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..15 {
            let items = 300 + (next() % 1200) as usize;
            // Heavy-tailed durations, as test suites have, and even ones, whose curve keeps
            // falling to large counts.
            let w: Vec<Micros> = (0..items)
                .map(|_| {
                    if round % 2 == 0 {
                        Micros(1 + 2_000_000 / (1 + next() % 1000))
                    } else {
                        Micros(1_000_000 + next() % 4_000_000)
                    }
                })
                .collect();
            let capacity = [5, 20, 256][round % 3];
            let cost = CostModel {
                overhead: Micros::ms(15_000 * (round as u64 % 3)),
                capacity,
                ..CostModel::default()
            };
            let cap = items.min(256);
            let whole = curve(&w, cap, cost);
            // A target first met between the grid's counts.
            let between = whole[(37 + round * 5).min(cap - 1)].wall_ms;
            let fixed = ChoiceMode::Target {
                target_ms: Micros::ms(60_000),
            };
            for mode in modes(between).into_iter().chain([fixed]) {
                let (points, chosen, _) = choose(&w, cap, cost, mode, 0.25);
                let dense = choose_shards(&whole, mode, 0.25);
                assert_eq!(
                    (chosen.n, chosen.knee),
                    (dense.n, dense.knee),
                    "round {round}, {mode:?}"
                );
                assert_eq!(points, whole, "a small suite gets the whole curve");
            }
        }
    }

    /// A large suite's grid: the choice keeps to the budget or the target, is at least as good
    /// as the grid's own best, and `--total` packs one count.
    #[test]
    fn a_large_suite_packs_a_grid_and_keeps_to_the_budget() {
        let w: Vec<Micros> = (0..2_000u64)
            .map(|i| Micros(1_000_000 + (i * 7_919) % 4_000_000))
            .collect();
        let cost = CostModel {
            overhead: Micros::ms(20_000),
            capacity: 256,
            ..CostModel::default()
        };
        let whole = curve(&w, 256, cost);
        for mode in modes(whole[99].wall_ms) {
            let (points, chosen, _) = choose_within(&w, 256, cost, mode, 0.25, 0);
            assert!(
                points.len() < 120,
                "a grid, not every count: {}",
                points.len()
            );
            let p = whole[chosen.n - 1];
            match mode {
                ChoiceMode::Cost { max_extra_cost } => {
                    let budget = whole[0].runner_minutes as f64 * (1.0 + max_extra_cost);
                    assert!(p.runner_minutes as f64 <= budget, "{mode:?}: {p:?}");
                    let grid_best = points
                        .iter()
                        .filter(|q| q.runner_minutes as f64 <= budget)
                        .map(|q| q.wall_ms)
                        .min()
                        .expect("one fits");
                    assert_eq!(p.wall_ms, grid_best, "{mode:?}");
                }
                ChoiceMode::Target { target_ms } => {
                    let dense = choose_shards(&whole, mode, 0.25);
                    assert!(p.wall_ms <= target_ms);
                    assert_eq!(chosen.n, dense.n, "the fewest that make it, found between");
                }
                ChoiceMode::Fixed { .. } => {}
            }
        }
        let (points, chosen, _) =
            choose_within(&w, 256, cost, ChoiceMode::Fixed { requested: 64 }, 0.25, 0);
        assert_eq!((points.len(), chosen.n, chosen.knee), (1, 64, None));
    }

    #[test]
    fn a_choice_is_one_flat_object_and_reads_back() {
        let c = Choice {
            mode: ChoiceMode::Target {
                target_ms: Micros::ms(600_000),
            },
            n: 9,
            reason: "r".into(),
            knee: Some(4),
        };
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"mode":"target","target_ms":600000,"n":9,"reason":"r","knee":4}"#
        );
        assert_eq!(serde_json::from_str::<Choice>(&json).unwrap(), c);
        for (mode, said) in [
            ("fixed", "mode `fixed` needs `requested`"),
            ("guess", "unknown mode `guess`"),
        ] {
            let json = format!(r#"{{"mode":"{mode}","n":1,"reason":"","knee":1}}"#);
            let e = serde_json::from_str::<Choice>(&json).unwrap_err();
            assert!(e.to_string().contains(said), "{e}");
        }
    }

    #[test]
    fn billing_rounds_each_job_up_to_the_minute() {
        assert_eq!(
            billed_minutes(
                &[Micros::ms(1), Micros::ms(60_000), Micros::ms(60_001)],
                Micros::ms(0)
            ),
            1 + 1 + 2
        );
        assert_eq!(
            billed_minutes(&[Micros::ms(0)], Micros::ms(0)),
            1,
            "a job is billed at least a minute"
        );
    }

    #[test]
    fn the_knee_stops_where_rounding_and_overhead_eat_the_gain() {
        // 100 items of 6 s: one runner = 600 s + 30 s = 11 min billed.
        let w = vec![Micros::ms(6_000); 100];
        let c = curve(
            &w,
            100,
            CostModel {
                overhead: Micros::ms(30_000),
                capacity: 256,
                ..CostModel::default()
            },
        );
        let choice = choose_shards(
            &c,
            ChoiceMode::Cost {
                max_extra_cost: 0.25,
            },
            0.25,
        );
        let p = c[choice.n - 1];
        assert!(p.runner_minutes as f64 <= 11.0 * 1.25, "{p:?}");
        // One more shard would either cost more than the budget or not be faster.
        assert!(
            c[choice.n..]
                .iter()
                .all(|q| q.runner_minutes as f64 > 13.75 || q.wall_ms >= p.wall_ms)
        );
    }

    #[test]
    fn target_takes_the_fewest_shards_that_meet_it() {
        let w = vec![Micros::ms(10_000); 8];
        let c = curve(
            &w,
            8,
            CostModel {
                overhead: Micros::ms(0),
                capacity: 256,
                ..CostModel::default()
            },
        );
        let within = |ms| {
            choose_shards(
                &c,
                ChoiceMode::Target {
                    target_ms: Micros::ms(ms),
                },
                0.25,
            )
        };
        assert_eq!(within(20_000).n, 4);
        let unmet = within(1);
        assert_eq!(unmet.n, 8);
        assert!(unmet.reason.contains("cannot be met"));
    }

    #[test]
    fn a_cost_per_file_is_paid_once_per_shard_that_touches_the_file() {
        let cost = CostModel {
            overhead: Micros::ms(10_000),
            capacity: 256,
            per_file: Micros::ms(1_000),
            files: 100,
            items: 1_000,
        };
        // One shard touches all 100 files; 1,000 shards one file each.
        assert_eq!(cost.overhead_at(1), Micros::ms(110_000));
        let many = cost.overhead_at(1_000).0 as f64 / 1e6;
        assert!((10.9..11.0).contains(&many), "{many}");
        // Ten items a file over ten shards: 1 − 0.9^10 of the files each, 65.1.
        assert_eq!(cost.overhead_at(10), Micros(75_132_156));
        // What it costs moves the choice: at 1 s a file, fewer shards are worth their runners.
        let w = vec![Micros::ms(6_000); 1_000];
        let mode = ChoiceMode::Cost {
            max_extra_cost: 0.25,
        };
        let without = choose(
            &w,
            256,
            CostModel {
                per_file: Micros::ZERO,
                ..cost
            },
            mode,
            0.25,
        )
        .1;
        let with = choose(&w, 256, cost, mode, 0.25).1;
        assert!(with.n < without.n, "{} then {}", without.n, with.n);
    }
}
