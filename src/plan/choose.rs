//! How many shards: the curve of shard count against predicted wall time and billed runner
//! minutes, and the choice made from it.
//!
//! Each shard pays a fixed start-up overhead (runner, checkout, setup) and GitHub bills every job
//! rounded up to the minute, so past some point an extra runner costs more than it buys. By
//! default the planner takes the fastest shard count whose billed runner-minutes stay within a
//! budget over one runner's (25% more unless told otherwise): the knee of the curve.

use serde::{Deserialize, Serialize};

use super::partition::{Assignment, lpt};
use crate::timings::Micros;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostModel {
    /// Fixed cost of every shard before it runs its first item.
    pub overhead: Micros,
    /// How many shards run at once; the rest wait for a free runner, in waves.
    pub capacity: usize,
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
    /// Where the curve bends: the count the cost budget would pick, shown whatever the mode.
    pub knee: usize,
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
    knee: usize,
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
    let wall = wall_with_capacity(&a.loads, cost.overhead, cost.capacity);
    let sequential = cost.overhead + total;
    let efficiency = if wall.0 == 0 {
        1.0
    } else {
        sequential.0 as f64 / (n as f64 * wall.0 as f64)
    };
    CurvePoint {
        n,
        makespan_ms: makespan,
        wall_ms: wall,
        runner_minutes: billed_minutes(&a.loads, cost.overhead),
        efficiency: (efficiency * 10_000.0).round() / 10_000.0,
    }
}

/// The curve for n = 1 ..= cap, from longest-first packings.
pub fn curve(weights: &[Micros], cap: usize, cost: CostModel) -> Vec<CurvePoint> {
    (1..=cap.max(1))
        .map(|n| point(weights, n, cost, &lpt(weights, n)))
        .collect()
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
    let at = |n: usize| curve.get(n.saturating_sub(1));
    let (n, reason) = match mode {
        ChoiceMode::Fixed { requested } => {
            let n = requested.clamp(1, cap);
            let reason = if n < requested {
                format!(
                    "--total {requested}, capped at {cap} (no more shards than items, nor than --max-shards)"
                )
            } else {
                format!("--total {requested}")
            };
            (n, reason)
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
        knee: knee_n,
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

    #[test]
    fn a_choice_is_one_flat_object_and_reads_back() {
        let c = Choice {
            mode: ChoiceMode::Target {
                target_ms: Micros::ms(600_000),
            },
            n: 9,
            reason: "r".into(),
            knee: 4,
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
}
