//! The measures, as DESIGN names them, per suite and per run. For n shards with start-up o_i, busy
//! time b_i and work W = Σ b_i:
//!
//! - wall: the last shard's end − the first shard's start (else the busiest shard's o + b)
//! - sequential = o + W (one runner, one start-up); speedup = sequential / wall
//! - efficiency = speedup / n; utilization = Σ b_i / (n · wall)
//! - imbalance = max b / mean b; overhead share = Σ o / Σ (o + b)
//! - lower bound = min o + max(longest item, W / n)
//! - prediction error = (actual − predicted) / predicted

use std::collections::BTreeMap;

use serde::Serialize;

use crate::plan::billed_minutes;
use crate::timings::{FlakeRecord, ItemId, Micros, Store, median};

use super::run::{ShardRun, SuiteRun};

/// Per-minute prices by runner kind, in dollars.
#[derive(Clone, Debug, PartialEq)]
pub struct Rates {
    pub linux: f64,
    pub windows: f64,
    pub macos: f64,
}

impl Default for Rates {
    fn default() -> Self {
        Rates {
            linux: 0.008,
            windows: 0.016,
            macos: 0.08,
        }
    }
}

impl Rates {
    /// The rate of a runner class or `runs-on` label.
    pub fn of(&self, label: &str) -> (&'static str, f64) {
        let l = label.to_lowercase();
        if l.contains("macos") || l.contains("mac-") {
            ("macos", self.macos)
        } else if l.contains("windows") {
            ("windows", self.windows)
        } else {
            ("linux", self.linux)
        }
    }
}

/// Numbers (shards, chunks) as the summary and the messages list them: `1, 3, 4`.
pub fn comma_list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds as the summary and the advice write them (`2m 26s`).
pub fn fmt_s(s: f64) -> String {
    Micros::from_secs_lossy(s).to_string()
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

pub(super) fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| round(a / b, 4))
}

/// How a suite's wall time was known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WallSource {
    /// The shards' jobs, from the API: start-up included.
    JobTimings,
    /// The reports' timestamps: the tests alone.
    JunitTimestamps,
    /// No timeline: the busiest shard's work.
    BusiestShard,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ShardMeasures {
    pub shard: u32,
    pub reported: bool,
    pub items: usize,
    pub predicted_seconds: f64,
    pub busy_seconds: f64,
    /// Its process: the plan's prediction (hidden cost + work) and its wall time, when `planner
    /// shard --exec` ran it.
    pub predicted_process_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_seconds: Option<f64>,
    /// None when job timings are not known.
    pub overhead_seconds: Option<f64>,
    pub queue_seconds: Option<f64>,
    /// From the first shard's start, when the reports carry timestamps.
    pub start_seconds: Option<f64>,
    pub end_seconds: Option<f64>,
    pub prediction_error: Option<f64>,
    pub failed_tests: usize,
    /// Its job's conclusion (or status), when the run's jobs were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_url: Option<String>,
    /// The three longest items.
    pub heaviest: Vec<ItemTime>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ItemTime {
    pub id: ItemId,
    pub seconds: f64,
}

/// A test that failed in the run, in the end or before it passed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestFailure {
    pub id: ItemId,
    /// The shard whose latest report holds it.
    pub shard: u32,
    /// The first line of its latest failure's message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// How often it failed and passed over the run's attempts (and its runner's retries).
    pub failures: u32,
    pub passes: u32,
    /// Its recent runs, this one included, when the history saw it fail before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<FlakeRecord>,
    /// The history knows it as flaky: it failed and passed in one run, or failed in two separate
    /// streaks of its recent runs.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub known_flaky: bool,
}

/// An item that ran far from its estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ItemOff {
    pub id: ItemId,
    pub shard: u32,
    pub estimate_seconds: f64,
    pub actual_seconds: f64,
    pub ratio: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SuiteMeasures {
    pub suite: String,
    pub shards: usize,
    pub shards_reported: usize,
    pub missing_shards: Vec<u32>,
    pub wall_seconds: f64,
    pub wall_source: WallSource,
    pub sequential_seconds: f64,
    pub work_seconds: f64,
    pub speedup: Option<f64>,
    pub efficiency: Option<f64>,
    pub utilization: Option<f64>,
    pub imbalance: Option<f64>,
    pub overhead_share: Option<f64>,
    /// False when job timings were not given: start-up counted as zero.
    pub overhead_known: bool,
    /// The longest a shard's job waited for a runner (created → started), when job timings are
    /// known. Not part of the wall time.
    pub queue_seconds: Option<f64>,
    pub lower_bound_seconds: f64,
    /// The busiest shard's start-up + work: the phase's critical path.
    pub critical_path_seconds: f64,
    pub predicted_wall_seconds: f64,
    pub predicted_makespan_seconds: f64,
    /// (busiest shard's actual work − the plan's predicted makespan) / predicted; none when the
    /// plan had no history to predict from.
    pub prediction_error: Option<f64>,
    /// The plan knew none of its items: every estimate was an assumption, and no shard or item
    /// is called far off for missing it.
    pub planned_without_history: bool,
    pub runner_minutes: u64,
    pub runner_kind: &'static str,
    pub cost_usd: f64,
    pub unplanned_items: usize,
    pub unreported_items: usize,
    /// Tests whose final outcome is a failure.
    pub failed_tests: usize,
    /// Those tests, in id order.
    pub failed: Vec<TestFailure>,
    /// Tests that failed and then passed (a later attempt, or their runner's retry): flaky.
    pub flaky: Vec<TestFailure>,
    pub per_shard: Vec<ShardMeasures>,
    pub items_off: Vec<ItemOff>,
    /// Why the suite did not run, when its lane skipped it: none of the changed files matches
    /// its paths. The gate counts it as passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// How far off an item must run to be listed: twice or half its estimate, and a second apart.
const OFF_RATIO: f64 = 2.0;
const OFF_MIN: Micros = Micros::ms(1000);
const OFF_LISTED: usize = 10;

/// Items that ran far from their estimate, largest difference first.
fn items_off(run: &SuiteRun) -> Vec<ItemOff> {
    let estimates: BTreeMap<&ItemId, Micros> = run
        .plan
        .shards
        .iter()
        .flat_map(|s| s.items.iter().map(|i| (&i.id, i.ms)))
        .collect();
    let mut items_off: Vec<ItemOff> = Vec::new();
    for s in run.shards.iter().filter(|s| s.reported) {
        for (id, &actual) in &s.items {
            let Some(&est) = estimates.get(id) else {
                continue;
            };
            let (hi, lo) = (actual.max(est), actual.min(est));
            if hi - lo >= OFF_MIN && hi.0 as f64 >= OFF_RATIO * lo.0 as f64 {
                items_off.push(ItemOff {
                    id: id.clone(),
                    shard: s.index,
                    estimate_seconds: est.as_secs_f64(),
                    actual_seconds: actual.as_secs_f64(),
                    ratio: round(actual.0 as f64 / est.0.max(1) as f64, 2),
                });
            }
        }
    }
    items_off.sort_by(|a, b| {
        let d = |x: &ItemOff| (x.actual_seconds - x.estimate_seconds).abs();
        d(b).total_cmp(&d(a)).then_with(|| a.id.cmp(&b.id))
    });
    items_off.truncate(OFF_LISTED);
    items_off
}

fn per_shard(
    run: &SuiteRun,
    origin: Option<chrono::DateTime<chrono::Utc>>,
    blind: bool,
) -> Vec<ShardMeasures> {
    run.shards
        .iter()
        .map(|s| {
            let mut heaviest: Vec<(&ItemId, &Micros)> = s.items.iter().collect();
            heaviest.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            let offset = |t: Option<chrono::DateTime<chrono::Utc>>| {
                Some(round((t? - origin?).num_milliseconds() as f64 / 1000.0, 3))
            };
            ShardMeasures {
                shard: s.index,
                reported: s.reported,
                items: s.items.len(),
                predicted_seconds: s.predicted.as_secs_f64(),
                busy_seconds: s.busy().as_secs_f64(),
                predicted_process_seconds: (s.predicted + s.predicted_hidden).as_secs_f64(),
                process_seconds: s.process.map(Micros::as_secs_f64),
                overhead_seconds: s.overhead.map(Micros::as_secs_f64),
                queue_seconds: s.queue.map(Micros::as_secs_f64),
                start_seconds: offset(s.start),
                end_seconds: offset(s.end),
                prediction_error: (s.reported && s.predicted.0 > 0 && !blind).then(|| {
                    round(
                        (s.busy().0 as f64 - s.predicted.0 as f64) / s.predicted.0 as f64,
                        4,
                    )
                }),
                failed_tests: s.failed_tests,
                job: s.job.as_ref().map(|j| j.outcome().to_owned()),
                job_url: s.job.as_ref().and_then(|j| j.url.clone()),
                heaviest: heaviest
                    .into_iter()
                    .take(3)
                    .map(|(id, ms)| ItemTime {
                        id: id.clone(),
                        seconds: ms.as_secs_f64(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The phase's wall time and where it came from: the shards' timeline when every shard has one,
/// else the busiest shard.
fn wall_time(
    reported: &[&ShardRun],
    timeline: bool,
    origin: Option<chrono::DateTime<chrono::Utc>>,
    overhead_known: bool,
    critical: Micros,
) -> (Micros, WallSource) {
    match (timeline, origin) {
        (true, Some(first)) => {
            let last = reported.iter().filter_map(|s| s.end).max().unwrap_or(first);
            let span = Micros::between(Some(first), Some(last)).unwrap_or_default();
            let source = if overhead_known {
                WallSource::JobTimings
            } else {
                WallSource::JunitTimestamps
            };
            (span.max(Micros::ms(1)), source)
        }
        _ => (critical, WallSource::BusiestShard),
    }
}

/// Billed runner-minutes: each shard's job rounded up to the minute (its start-up counted when
/// known).
fn billed(reported: &[&ShardRun], overhead_known: bool) -> u64 {
    if reported.is_empty() {
        return 0;
    }
    if overhead_known {
        reported
            .iter()
            .map(|s| {
                (s.busy() + s.overhead.unwrap_or_default())
                    .minutes_ceil()
                    .max(1)
            })
            .sum()
    } else {
        let loads: Vec<Micros> = reported.iter().map(|s| s.busy()).collect();
        billed_minutes(&loads, Micros::ZERO)
    }
}

#[expect(
    clippy::too_many_lines,
    reason = "the measures' one struct, field by field, each beside how it is computed"
)]
pub fn measure(run: &SuiteRun, rates: &Rates) -> SuiteMeasures {
    let reported: Vec<_> = run.shards.iter().filter(|s| s.reported).collect();
    let n = reported.len();
    let busy: Vec<Micros> = reported.iter().map(|s| s.busy()).collect();
    let work: Micros = busy.iter().copied().sum();
    let overhead_known = n > 0 && reported.iter().all(|s| s.overhead.is_some());
    let overheads: Vec<Micros> = reported
        .iter()
        .map(|s| s.overhead.unwrap_or_default())
        .collect();
    let origin = reported.iter().filter_map(|s| s.start).min();
    let timeline = n > 0
        && reported
            .iter()
            .all(|s| s.start.is_some() && s.end.is_some());
    let critical = busy
        .iter()
        .zip(&overheads)
        .map(|(b, o)| *b + *o)
        .max()
        .unwrap_or_default();
    let (wall, wall_source) = wall_time(&reported, timeline, origin, overhead_known, critical);
    let o = if overhead_known {
        median(overheads.clone()).unwrap_or_default()
    } else {
        Micros::ZERO
    };
    let sequential = o + work;
    let wall_s = wall.as_secs_f64();
    let speedup = ratio(sequential.as_secs_f64(), wall_s);
    let utilization = ratio(work.as_secs_f64(), n as f64 * wall_s);
    let mean_busy = if n == 0 {
        0.0
    } else {
        work.as_secs_f64() / n as f64
    };
    let max_busy = busy.iter().copied().max().unwrap_or_default();
    let all_items: Vec<Micros> = reported
        .iter()
        .flat_map(|s| s.items.values().copied())
        .collect();
    let longest = all_items.iter().copied().max().unwrap_or_default();
    let min_o = overheads.iter().copied().min().unwrap_or_default();
    let lower_bound = if n == 0 {
        0.0
    } else {
        min_o.as_secs_f64() + longest.as_secs_f64().max(work.as_secs_f64() / n as f64)
    };
    let total_o: Micros = overheads.iter().copied().sum();
    let runner_minutes = billed(&reported, overhead_known);
    let label = run
        .plan
        .run
        .as_ref()
        .map_or_else(|| run.plan.runner_class.clone(), |r| r.runs_on.to_string());
    let (runner_kind, rate) = rates.of(&label);
    // With no history every estimate was an assumption: being far from it says nothing.
    let blind = run.plan.estimates.history == 0 && run.plan.item_count > 0;
    let items_off = if blind { Vec::new() } else { items_off(run) };
    let per_shard = per_shard(run, origin, blind);
    let predicted_makespan = run.plan.predicted_makespan_ms.as_secs_f64();
    SuiteMeasures {
        suite: run.plan.name.clone(),
        shards: run.shards.iter().filter(|s| s.planned_items > 0).count(),
        shards_reported: n,
        missing_shards: run.missing(),
        wall_seconds: wall_s,
        wall_source,
        sequential_seconds: sequential.as_secs_f64(),
        work_seconds: work.as_secs_f64(),
        speedup,
        efficiency: speedup.map(|s| round(s / n.max(1) as f64, 4)),
        utilization,
        imbalance: ratio(max_busy.as_secs_f64(), mean_busy),
        overhead_share: overhead_known
            .then(|| ratio(total_o.as_secs_f64(), (total_o + work).as_secs_f64()))
            .flatten(),
        overhead_known,
        queue_seconds: reported
            .iter()
            .filter_map(|s| s.queue)
            .max()
            .map(Micros::as_secs_f64),
        lower_bound_seconds: round(lower_bound, 3),
        critical_path_seconds: critical.as_secs_f64(),
        predicted_wall_seconds: run.plan.predicted_wall_ms.as_secs_f64(),
        predicted_makespan_seconds: predicted_makespan,
        prediction_error: ratio(
            max_busy.as_secs_f64() - predicted_makespan,
            predicted_makespan,
        )
        .filter(|_| !blind),
        planned_without_history: blind,
        runner_minutes,
        runner_kind,
        cost_usd: round(runner_minutes as f64 * rate, 4),
        unplanned_items: run.unplanned,
        unreported_items: run.unreported_items,
        failed_tests: run.shards.iter().map(|s| s.failed_tests).sum(),
        failed: failures(run, true),
        flaky: failures(run, false),
        per_shard,
        items_off,
        skipped: run
            .plan
            .lane
            .as_ref()
            .filter(|l| !l.runs)
            .map(|l| l.reason.clone()),
    }
}

/// The suite's tests that failed in the end (`failed`), or failed and then passed.
fn failures(run: &SuiteRun, failed: bool) -> Vec<TestFailure> {
    run.verdicts
        .iter()
        .filter(|v| v.failed == failed)
        .map(|v| TestFailure {
            id: v.id.clone(),
            shard: v.shard,
            message: v.message.clone(),
            failures: v.failures,
            passes: v.passes,
            history: None,
            known_flaky: false,
        })
        .collect()
}

/// Marks each failed or flaky test of the run with its recent runs from the history (`store`, as
/// it was before this run), and the failed ones the history knows as flaky.
pub fn mark_known_flakes(suites: &mut [SuiteMeasures], store: &Store) {
    for m in suites {
        for t in m.failed.iter_mut().chain(m.flaky.iter_mut()) {
            if let Some(record) = store.flake_record_with(t.id.as_str(), Some(t.passes > 0)) {
                t.history = Some(record);
                t.known_flaky = record.known_flaky;
            }
        }
    }
}

/// Every test that failed in the end is a known flake, and nothing else went wrong: no shard is
/// missing, no planned item went unreported.
pub fn only_known_flakes(suites: &[SuiteMeasures]) -> bool {
    suites.iter().any(|m| !m.failed.is_empty())
        && suites.iter().all(|m| {
            m.failed.iter().all(|t| t.known_flaky)
                && m.missing_shards.is_empty()
                && m.unreported_items == 0
        })
}

/// The run as a whole: every suite's shards together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunMeasures {
    pub wall_seconds: f64,
    pub sequential_seconds: f64,
    pub speedup: Option<f64>,
    /// Speedup ÷ the shards that reported.
    pub efficiency: Option<f64>,
    /// All suites' busy time ÷ (shards that reported × the run's wall time).
    pub utilization: Option<f64>,
    pub runner_minutes: u64,
    pub cost_usd: f64,
    pub shards: usize,
    pub shards_reported: usize,
}

pub fn measure_run(suites: &[SuiteMeasures]) -> RunMeasures {
    let wall = suites.iter().map(|s| s.wall_seconds).fold(0.0, f64::max);
    let sequential: f64 = suites.iter().map(|s| s.sequential_seconds).sum();
    let work: f64 = suites.iter().map(|s| s.work_seconds).sum();
    let reported: usize = suites.iter().map(|s| s.shards_reported).sum();
    let speedup = ratio(sequential, wall);
    RunMeasures {
        wall_seconds: round(wall, 3),
        sequential_seconds: round(sequential, 3),
        speedup,
        efficiency: speedup.and_then(|s| ratio(s, reported as f64)),
        utilization: ratio(work, reported as f64 * wall),
        runner_minutes: suites.iter().map(|s| s.runner_minutes).sum(),
        cost_usd: round(suites.iter().map(|s| s.cost_usd).sum(), 4),
        shards: suites.iter().map(|s| s.shards).sum(),
        shards_reported: suites.iter().map(|s| s.shards_reported).sum(),
    }
}
