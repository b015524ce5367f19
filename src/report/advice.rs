//! What to change, each with why (the number that says so) and its predicted effect. The effect
//! of another shard count is computed, not guessed: this run's item times re-partitioned into m
//! shards, each paying the start-up the run measured (or the plan's, when it was not measured).

use serde::Serialize;

use crate::plan::{billed_minutes, partition};
use crate::timings::Micros;

use super::measures::{SuiteMeasures, fmt_s};
use super::run::SuiteRun;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    Info,
    Warning,
    Violation,
}

/// What a piece of advice is about; its name is the JSON's `kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdviceKind {
    /// A shard well over the others.
    Bottleneck,
    /// An item too long to balance.
    SplitItem,
    FewerShards,
    MoreShards,
    /// The history is stale: merge this run.
    Rebalance,
    /// Start-up takes a large share.
    Overhead,
    MissingShards,
    Sla,
    /// A suite slower than in the previous report.
    Trend,
}

impl AdviceKind {
    pub fn name(self) -> &'static str {
        match self {
            AdviceKind::Bottleneck => "bottleneck",
            AdviceKind::SplitItem => "split-item",
            AdviceKind::FewerShards => "fewer-shards",
            AdviceKind::MoreShards => "more-shards",
            AdviceKind::Rebalance => "rebalance",
            AdviceKind::Overhead => "overhead",
            AdviceKind::MissingShards => "missing-shards",
            AdviceKind::Sla => "sla",
            AdviceKind::Trend => "trend",
        }
    }
}

impl std::fmt::Display for AdviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Advice {
    pub suite: String,
    pub kind: AdviceKind,
    pub severity: Severity,
    pub message: String,
}

/// Thresholds, as the issue of record set them; each is said in the advice it triggers.
const BOTTLENECK: f64 = 1.5;
const LOW_UTILIZATION: f64 = 0.5;
const HIGH_UTILIZATION: f64 = 0.9;
const SPREAD: f64 = 3.0;
const HIGH_OVERHEAD: f64 = 0.5;
/// Fewer shards are worth it while the wall grows by at most this much.
const FEWER_TOLERANCE: f64 = 1.15;
const SLA_WARNING: f64 = 0.8;

/// Wall time and billed minutes of this run's items in `m` shards.
fn what_if(items: &[Micros], overhead: Micros, m: usize) -> (Micros, u64) {
    let a = partition(items, m.max(1));
    (overhead + a.makespan(), billed_minutes(&a.loads, overhead))
}

/// Settings that come from outside the run.
#[derive(Clone, Debug, Default)]
pub struct Goals {
    /// Seconds the suite's wall time should stay within (the plan's target, or `--target-seconds`).
    pub target_seconds: Option<f64>,
    /// The SLA budget of the suite's phase, in seconds.
    pub sla_seconds: Option<f64>,
    pub max_shards: usize,
}

#[expect(
    clippy::too_many_lines,
    reason = "one rule after another, each short; apart they would only be harder to compare"
)]
pub fn advise(run: &SuiteRun, m: &SuiteMeasures, goals: &Goals) -> Vec<Advice> {
    let mut out = Vec::new();
    let mut say = |kind, severity, message: String| {
        out.push(Advice {
            suite: m.suite.clone(),
            kind,
            severity,
            message,
        });
    };
    if !m.missing_shards.is_empty() {
        say(
            AdviceKind::MissingShards,
            Severity::Warning,
            format!(
                "shard{} {} sent no report (crashed, cancelled, or its report was not collected): the measures cover {} of {} shards",
                if m.missing_shards.len() == 1 { "" } else { "s" },
                super::comma_list(&m.missing_shards),
                m.shards_reported,
                m.shards
            ),
        );
    }
    if let Some(budget) = goals.sla_seconds.filter(|b| *b > 0.0) {
        let used = m.wall_seconds / budget;
        if used > 1.0 {
            say(
                AdviceKind::Sla,
                Severity::Violation,
                format!(
                    "wall time {} is over its budget of {} ({:.0}%)",
                    fmt_s(m.wall_seconds),
                    fmt_s(budget),
                    used * 100.0
                ),
            );
        } else if used >= SLA_WARNING {
            say(
                AdviceKind::Sla,
                Severity::Warning,
                format!(
                    "wall time {} uses {:.0}% of its budget of {}",
                    fmt_s(m.wall_seconds),
                    used * 100.0,
                    fmt_s(budget)
                ),
            );
        }
    }
    let n = m.shards_reported;
    if n == 0 {
        return out;
    }
    let items: Vec<Micros> = run
        .shards
        .iter()
        .filter(|s| s.reported)
        .flat_map(|s| s.items.values().copied())
        .collect();
    let overhead = if m.overhead_known {
        Micros::from_secs_lossy(m.sequential_seconds - m.work_seconds)
    } else {
        run.plan.overhead_ms
    };
    let overhead_note = if m.overhead_known {
        "measured start-up"
    } else {
        "the plan's start-up estimate"
    };
    let (now_wall, now_minutes) = what_if(&items, overhead, n);
    let fair_share = m.work_seconds / n as f64;
    let mean_load = m
        .per_shard
        .iter()
        .filter(|s| s.reported)
        .map(|s| s.busy_seconds + s.overhead_seconds.unwrap_or(0.0))
        .sum::<f64>()
        / n as f64;

    // Bottlenecks: a shard over 1.5× the mean; if its heaviest item alone is over a fair share,
    // no rebalancing can fix it, and the advice says so.
    for s in m.per_shard.iter().filter(|s| s.reported) {
        let load = s.busy_seconds + s.overhead_seconds.unwrap_or(0.0);
        if mean_load <= 0.0 || load <= BOTTLENECK * mean_load {
            continue;
        }
        let heavy: Vec<String> = s
            .heaviest
            .iter()
            .map(|i| format!("`{}` ({})", i.id, fmt_s(i.seconds)))
            .collect();
        say(
            AdviceKind::Bottleneck,
            Severity::Warning,
            format!(
                "shard {} ran {}, {:.1}× the mean shard ({}); heaviest: {}",
                s.shard,
                fmt_s(load),
                load / mean_load,
                fmt_s(mean_load),
                heavy.join(", ")
            ),
        );
        if let Some(top) = s.heaviest.first().filter(|t| t.seconds > fair_share) {
            say(
                AdviceKind::SplitItem,
                Severity::Info,
                format!(
                    "`{}` alone takes {}, more than a fair share ({} of work ÷ {n} shards): split it (parametrize it, or move its slow part) — more shards cannot help",
                    top.id,
                    fmt_s(top.seconds),
                    fmt_s(m.work_seconds)
                ),
            );
        }
    }

    // Spread between the busiest and the idlest shard: the estimates were off.
    let busy: Vec<f64> = m
        .per_shard
        .iter()
        .filter(|s| s.reported)
        .map(|s| s.busy_seconds)
        .collect();
    let (max_b, min_b) = (
        busy.iter().copied().fold(0.0, f64::max),
        busy.iter().copied().fold(f64::INFINITY, f64::min),
    );
    let longest = items
        .iter()
        .copied()
        .max()
        .unwrap_or_default()
        .as_secs_f64();
    if n > 1 && min_b > 0.0 && max_b / min_b > SPREAD && longest <= fair_share {
        say(
            AdviceKind::Rebalance,
            Severity::Warning,
            format!(
                "the busiest shard worked {:.1}× as long as the idlest ({} against {}): the history the plan used is stale for {} item(s){}; planned from this run's times, the same {n} shards would end in {} instead of {}. Merge this run into the history (`--timings-out`)",
                max_b / min_b,
                fmt_s(max_b),
                fmt_s(min_b),
                m.items_off.len(),
                if m.items_off.len() == 10 {
                    " or more"
                } else {
                    ""
                },
                now_wall,
                Micros::from_secs_lossy(m.critical_path_seconds)
            ),
        );
    }

    // Too many shards: runners idle or starting.
    let utilization = m.utilization.unwrap_or(1.0);
    let overhead_share = m.overhead_share.unwrap_or(0.0);
    if n > 1 && (utilization < LOW_UTILIZATION || overhead_share > HIGH_OVERHEAD) {
        let fewer = (1..n).find(|&k| {
            let (wall, _) = what_if(&items, overhead, k);
            wall.0 as f64 <= FEWER_TOLERANCE * now_wall.0 as f64
        });
        let why = if overhead_share > HIGH_OVERHEAD {
            format!(
                "start-up is {:.0}% of the runner time: the shards are too small",
                overhead_share * 100.0
            )
        } else {
            format!(
                "utilization is {:.0}%: the runners spent most of the wall time idle or starting",
                utilization * 100.0
            )
        };
        let kind = if overhead_share > HIGH_OVERHEAD {
            AdviceKind::Overhead
        } else {
            AdviceKind::FewerShards
        };
        match fewer {
            Some(k) => {
                let (wall, minutes) = what_if(&items, overhead, k);
                say(
                    kind,
                    Severity::Info,
                    format!(
                        "{why}. {k} shards instead of {n} would end in about {wall} instead of {now_wall} and bill {minutes} runner-minutes instead of {now_minutes} (this run's times, {overhead_note} {overhead} per shard)"
                    ),
                );
            }
            None => say(
                kind,
                Severity::Info,
                format!("{why}, but fewer shards would each add more than 15% to the wall time"),
            ),
        }
    }

    // Too few shards: busy runners and a wall over the target.
    if let Some(target) = goals.target_seconds
        && utilization > HIGH_UTILIZATION
        && m.wall_seconds > target
    {
        let more = (n + 1..=goals.max_shards.max(n + 1)).find(|&k| {
            let (wall, _) = what_if(&items, overhead, k);
            wall.as_secs_f64() <= target
        });
        let msg = match more {
            Some(k) => {
                let (wall, minutes) = what_if(&items, overhead, k);
                format!(
                    "utilization is {:.0}% and the wall time {} is over the target {}: {k} shards would end in about {wall} for {minutes} runner-minutes (now {now_minutes})",
                    utilization * 100.0,
                    fmt_s(m.wall_seconds),
                    fmt_s(target)
                )
            }
            None => format!(
                "utilization is {:.0}% and the wall time {} is over the target {}, and no shard count up to {} reaches it: the longest item or the start-up binds",
                utilization * 100.0,
                fmt_s(m.wall_seconds),
                fmt_s(target),
                goals.max_shards
            ),
        };
        say(AdviceKind::MoreShards, Severity::Info, msg);
    }
    out
}
