//! Everything `planner analyze` says about a workflow: phases, the critical path, slack,
//! bottlenecks and advice with predicted gains. Pure: a workflow and durations in, values out.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::timings::{Micros, Sample};

use super::durations::{JobEstimate, job_samples};
use super::edit::Change;
use super::graph::JobGraph;
use super::model::{Timeout, Workflow};
use super::pools::Capacity;
use super::schedule::{Schedule, schedule, simulate};

/// A job as analyzed. Times are seconds from the workflow's start.
#[derive(Clone, Debug, Serialize)]
pub struct AnalyzedJob {
    pub id: String,
    pub name: String,
    pub phase: usize,
    pub pool: String,
    pub seconds: f64,
    pub estimate: JobEstimate,
    pub earliest_start: f64,
    pub earliest_finish: f64,
    pub slack_seconds: f64,
    pub critical: bool,
    /// Start and finish in the simulation with limited runners.
    pub start: f64,
    pub finish: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    pub number: usize,
    pub title: String,
    pub jobs: Vec<String>,
    /// The phase's longest job.
    pub longest_seconds: f64,
    pub work_seconds: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Bottleneck {
    pub job: String,
    pub seconds: f64,
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdviceKind {
    Shard,
    Group,
    Needs,
    Timeout,
}

#[derive(Clone, Debug, Serialize)]
pub struct Advice {
    pub kind: AdviceKind,
    pub jobs: Vec<String>,
    pub message: String,
    /// Predicted change of the workflow's wall time (negative is faster).
    pub wall_seconds_delta: Option<f64>,
    /// The edit of the workflow that applies it, where `optimize` can make one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply: Option<Change>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Parallelism {
    pub max: usize,
    /// Total work over the critical path: how many runners the graph keeps busy on average.
    pub average: f64,
    /// (seconds, jobs running from then on) with unlimited runners.
    pub profile: Vec<(f64, usize)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    pub workflow: String,
    pub name: Option<String>,
    /// The jobs on the critical path, in order.
    pub critical_path: Vec<String>,
    pub critical_path_seconds: f64,
    /// Jobs grouped by level of the graph: phase 1 needs nothing, phase k+1 needs phase k.
    pub phases: Vec<Vec<String>>,
    pub phase_details: Vec<Phase>,
    pub total_work_seconds: f64,
    /// max(critical path, work ÷ capacity): no schedule can beat it.
    pub bound_seconds: f64,
    pub predicted_wall_seconds: f64,
    pub capacity: String,
    pub parallelism: Parallelism,
    pub jobs: Vec<AnalyzedJob>,
    pub bottlenecks: Vec<Bottleneck>,
    pub advice: Vec<Advice>,
    /// What the file leaves to run time, and how it was counted.
    pub notes: Vec<String>,
}

/// What the analysis assumes beyond the workflow and its durations.
#[derive(Clone, Debug)]
pub struct Assumptions {
    pub capacity: Capacity,
    /// Start-up cost of one job (runner, checkout, toolchain).
    pub overhead: Micros,
}

pub fn analyze(
    wf: &Workflow,
    g: &JobGraph,
    durations: &[(Micros, JobEstimate)],
    history: &BTreeMap<crate::timings::ItemId, Vec<Sample>>,
    assume: &Assumptions,
) -> Analysis {
    let d: Vec<Micros> = durations.iter().map(|&(m, _)| m).collect();
    let s = schedule(g, &d);
    let sim = simulate(g, &d, &assume.capacity);
    let wall = sim.iter().map(|&(_, f)| f).max().unwrap_or(Micros::ms(0));
    let name = |i: usize| g.instances[i].name.clone();

    let (phases, phase_details) = phases(wf, g, &d);
    let critical: Vec<bool> = (0..d.len()).map(|i| s.critical_path.contains(&i)).collect();
    let jobs: Vec<AnalyzedJob> = (0..d.len())
        .map(|i| AnalyzedJob {
            id: wf.jobs[g.instances[i].job].id.clone(),
            name: name(i),
            phase: g.levels[i] + 1,
            pool: g.instances[i].runs_on.pool(),
            seconds: d[i].as_secs_f64(),
            estimate: durations[i].1,
            earliest_start: s.earliest_start[i].as_secs_f64(),
            earliest_finish: s.earliest_finish[i].as_secs_f64(),
            slack_seconds: s.slack[i].as_secs_f64(),
            critical: critical[i],
            start: sim[i].0.as_secs_f64(),
            finish: sim[i].1.as_secs_f64(),
        })
        .collect();

    let bound = capacity_bound(g, &d, &assume.capacity).max(s.critical_length);
    let bottlenecks = bottlenecks(g, &d, &s, &phases);

    // Advice that moves jobs around is only as good as their durations: known ones only.
    let known: Vec<bool> = durations
        .iter()
        .map(|(_, e)| *e == JobEstimate::History)
        .collect();
    let facts = Facts {
        wf,
        g,
        d: &d,
        known: &known,
        path: &s.critical_path,
        wall,
        assume,
    };
    let mut advice = Vec::new();
    advise_sharding(&facts, &mut advice);
    advise_grouping(&facts, &mut advice);
    advise_needs(&facts, &mut advice);
    advise_timeouts(wf, g, history, &mut advice);

    let average = if s.critical_length.0 == 0 {
        0.0
    } else {
        s.work.0 as f64 / s.critical_length.0 as f64
    };
    let mut notes = g.notes.clone();
    let defaults = durations
        .iter()
        .filter(|(_, e)| *e == JobEstimate::Default)
        .count();
    if defaults == durations.len() {
        notes.push(format!(
            "no timings: every job counts the same {}; give --timings for real durations",
            d.first().copied().unwrap_or(Micros::ms(0))
        ));
    } else {
        let estimated = known.iter().filter(|k| !**k).count();
        if estimated > 0 {
            notes.push(format!(
                "{estimated} of {} jobs have no history and are estimated",
                durations.len()
            ));
        }
    }

    Analysis {
        workflow: wf.path.display().to_string(),
        name: wf.name.clone(),
        critical_path: s.critical_path.iter().map(|&i| name(i)).collect(),
        critical_path_seconds: s.critical_length.as_secs_f64(),
        phases: phases
            .iter()
            .map(|m| m.iter().map(|&i| name(i)).collect())
            .collect(),
        phase_details,
        total_work_seconds: s.work.as_secs_f64(),
        bound_seconds: bound.as_secs_f64(),
        predicted_wall_seconds: wall.as_secs_f64(),
        capacity: assume.capacity.describe(),
        parallelism: Parallelism {
            max: s.max_parallelism(),
            average: (average * 100.0).round() / 100.0,
            profile: s
                .profile
                .iter()
                .map(|&(t, n)| (t.as_secs_f64(), n))
                .collect(),
        },
        jobs,
        bottlenecks,
        advice,
        notes,
    }
}

/// The jobs by level of the graph, and each phase described.
fn phases(wf: &Workflow, g: &JobGraph, d: &[Micros]) -> (Vec<Vec<usize>>, Vec<Phase>) {
    let name = |i: usize| g.instances[i].name.clone();
    let levels = g.levels.iter().copied().max().map_or(0, |m| m + 1);
    let mut phases: Vec<Vec<usize>> = vec![Vec::new(); levels];
    for &i in &g.order {
        phases[g.levels[i]].push(i);
    }
    let phase_details: Vec<Phase> = phases
        .iter()
        .enumerate()
        .map(|(k, members)| Phase {
            number: k + 1,
            title: phase_title(
                members
                    .iter()
                    .map(|&i| wf.jobs[g.instances[i].job].id.as_str()),
            ),
            jobs: members.iter().map(|&i| name(i)).collect(),
            longest_seconds: members
                .iter()
                .map(|&i| d[i])
                .max()
                .unwrap_or(Micros::ms(0))
                .as_secs_f64(),
            work_seconds: Micros(members.iter().map(|&i| d[i].0).sum()).as_secs_f64(),
        })
        .collect();
    (phases, phase_details)
}

/// Critical-path jobs that dominate it, and jobs over 1.5× their phase's mean.
fn bottlenecks(g: &JobGraph, d: &[Micros], s: &Schedule, phases: &[Vec<usize>]) -> Vec<Bottleneck> {
    let name = |i: usize| g.instances[i].name.clone();
    let mut bottlenecks = Vec::new();
    for &i in &s.critical_path {
        // Dominates: a quarter of the path at least, and 1.5× the path's mean job.
        let share = d[i].0 as f64 / s.critical_length.0.max(1) as f64;
        let mean_share = 1.0 / s.critical_path.len() as f64;
        if share >= 0.25 && share >= 1.5 * mean_share {
            bottlenecks.push(Bottleneck {
                job: name(i),
                seconds: d[i].as_secs_f64(),
                reason: format!("{:.0}% of the critical path", share * 100.0),
            });
        }
    }
    for members in phases {
        if members.len() < 2 {
            continue;
        }
        let mean = members.iter().map(|&i| d[i].0 as f64).sum::<f64>() / members.len() as f64;
        for &i in members {
            if d[i].0 as f64 > 1.5 * mean && !bottlenecks.iter().any(|b| b.job == name(i)) {
                bottlenecks.push(Bottleneck {
                    job: name(i),
                    seconds: d[i].as_secs_f64(),
                    reason: format!(
                        "{:.1}× the mean of its phase ({})",
                        d[i].0 as f64 / mean,
                        Micros(mean.round() as u64)
                    ),
                });
            }
        }
    }

    bottlenecks
}

/// The work of each limited pool over its limit, and all work over the total.
fn capacity_bound(g: &JobGraph, d: &[Micros], capacity: &Capacity) -> Micros {
    let mut per_pool: BTreeMap<String, u64> = BTreeMap::new();
    let mut all = 0;
    for (i, inst) in g.instances.iter().enumerate() {
        if let Some(pool) = capacity.pool_of(&inst.runs_on) {
            *per_pool.entry(pool).or_default() += d[i].0;
            all += d[i].0;
        }
    }
    let mut bound = capacity.total.map_or(0, |t| all.div_ceil(t as u64));
    for (pool, work) in per_pool {
        if let Some(l) = capacity.limit(Some(&pool)) {
            bound = bound.max(work.div_ceil(l as u64));
        }
    }
    Micros(bound)
}

/// A short title for a phase: its job if it has one, their common prefix, or the first few.
fn phase_title<'a>(ids: impl Iterator<Item = &'a str>) -> String {
    let mut unique: Vec<&str> = Vec::new();
    for id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    match unique.as_slice() {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [first, rest @ ..] => {
            let mut prefix = *first;
            for id in rest {
                let common = prefix
                    .char_indices()
                    .zip(id.chars())
                    .take_while(|((_, a), b)| a == b)
                    .last()
                    .map_or(0, |((i, c), _)| i + c.len_utf8());
                prefix = &prefix[..common];
            }
            let prefix = prefix.trim_end_matches(['-', '_', ' ', '.']);
            if prefix.len() >= 3 {
                format!("{prefix}…")
            } else if unique.len() <= 3 {
                unique.join(", ")
            } else {
                format!("{}, {} and {} more", unique[0], unique[1], unique.len() - 2)
            }
        }
    }
}

fn wall_of(times: &[(Micros, Micros)]) -> Micros {
    times.iter().map(|&(_, f)| f).max().unwrap_or(Micros::ms(0))
}

/// What the advice is drawn from.
struct Facts<'a> {
    wf: &'a Workflow,
    g: &'a JobGraph,
    d: &'a [Micros],
    /// Whether each job's duration comes from its own history.
    known: &'a [bool],
    path: &'a [usize],
    wall: Micros,
    assume: &'a Assumptions,
}

/// Long jobs on the critical path: what splitting each into k shards would buy.
fn advise_sharding(f: &Facts, out: &mut Vec<Advice>) {
    let Facts {
        g,
        d,
        known,
        path,
        wall,
        assume,
        ..
    } = *f;
    let o = assume.overhead.0;
    for &i in path {
        if !known[i]
            || d[i].0 < 5 * MINUTE
            || (d[i].0 as f64) < 0.25 * wall.0 as f64
            || d[i].0 <= 2 * o
        {
            continue;
        }
        // The k shards share the job's runners: as many at once as its pool and the total allow.
        let pool = assume.capacity.pool_of(&g.instances[i].runs_on);
        let at_once = [
            assume.capacity.limit(pool.as_deref()),
            assume.capacity.total,
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(usize::MAX)
        .max(1) as u64;
        let mut best: Option<(usize, Micros)> = None;
        for k in 2..=8u64 {
            // k shards each pay the start-up again; the work divides; past the capacity they
            // run in waves.
            let shard = o + (d[i].0 - o).div_ceil(k);
            let mut trial = d.to_vec();
            trial[i] = Micros(shard * k.div_ceil(at_once));
            let w = wall_of(&simulate(g, &trial, &assume.capacity));
            // Take a larger k only when it buys at least a minute more.
            if best.is_none_or(|(_, bw)| w.0 + MINUTE <= bw.0) {
                best = Some((k as usize, w));
            }
        }
        if let Some((k, w)) = best.filter(|&(_, w)| w.0 + MINUTE <= wall.0) {
            out.push(Advice {
                kind: AdviceKind::Shard,
                jobs: vec![g.instances[i].name.clone()],
                message: format!(
                    "`{}` takes {} on the critical path: split into {k} shards (`planner plan`), the workflow would take {} instead of {} for about {} more runner time",
                    g.instances[i].name,
                    d[i],
                    w,
                    wall,
                    Micros(o * (k as u64 - 1))
                ),
                wall_seconds_delta: Some(w.as_secs_f64() - wall.as_secs_f64()),
                apply: Some(Change::Shard {
                    job: f.wf.jobs[g.instances[i].job].id.clone(),
                    shards: k,
                }),
            });
        }
    }
}

/// Jobs whose start-up costs as much as their work, side by side in a phase on one runner kind.
fn advise_grouping(f: &Facts, out: &mut Vec<Advice>) {
    let Facts {
        g,
        d,
        known,
        assume,
        ..
    } = *f;
    let o = assume.overhead.0;
    let mut groups: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
    for (i, inst) in g.instances.iter().enumerate() {
        let tiny = known[i] && d[i].0 <= 2 * o;
        if tiny && assume.capacity.pool_of(&inst.runs_on).is_some() {
            groups
                .entry((g.levels[i], inst.runs_on.pool()))
                .or_default()
                .push(i);
        }
    }
    for ((level, pool), members) in groups {
        if members.len() < 2 {
            continue;
        }
        let billed: u64 = members.iter().map(|&i| d[i].0.div_ceil(MINUTE)).sum();
        // One job pays one start-up instead of each: it takes the members' time less the
        // start-ups saved, and never less than its longest member (a job shorter than the
        // assumed start-up saves what it has, not the assumption).
        let longest = members.iter().map(|&i| d[i].0).max().unwrap_or(0);
        let merged_ms: u64 = members
            .iter()
            .map(|&i| d[i].0)
            .sum::<u64>()
            .saturating_sub(o * (members.len() as u64 - 1))
            .max(longest);
        let saved = billed.saturating_sub(merged_ms.div_ceil(MINUTE));
        if saved == 0 {
            // Advice that gains nothing is not advice.
            continue;
        }
        let names: Vec<String> = members
            .iter()
            .map(|&i| g.instances[i].name.clone())
            .collect();
        out.push(Advice {
            kind: AdviceKind::Group,
            jobs: names.clone(),
            message: format!(
                "phase {} has {} jobs on `{pool}` that spend as long starting as working ({}): run them as steps of one job to save about {saved} billed minute{} a run",
                level + 1,
                names.len(),
                names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                if saved == 1 { "" } else { "s" }
            ),
            wall_seconds_delta: None,
            apply: None,
        });
    }
}

/// `needs` edges that hold a long critical job behind a cheap check.
fn advise_needs(f: &Facts, out: &mut Vec<Advice>) {
    let Facts {
        wf,
        g,
        d,
        known,
        path,
        wall,
        assume,
    } = *f;
    let mut seen: Vec<(usize, usize)> = Vec::new();
    for &i in path {
        let job = g.instances[i].job;
        for p in g.predecessors(i) {
            let need = g.instances[p].job;
            if seen.contains(&(need, job)) {
                continue;
            }
            seen.push((need, job));
            let cheap = d[p].0 <= 2 * MINUTE || d[p].0 * 10 <= d[i].0;
            let long = d[i].0 >= 5 * d[p].0;
            if !known[i]
                || !known[p]
                || !cheap
                || !long
                || wf.jobs[job].outputs_of.contains(&wf.jobs[need].id)
            {
                continue;
            }
            let mut trial = wf.clone();
            trial.jobs[job].needs.retain(|n| *n != wf.jobs[need].id);
            let Ok(tg) = JobGraph::build(&trial) else {
                continue;
            };
            let w = wall_of(&simulate(&tg, d, &assume.capacity));
            if w.0 + 30_000 <= wall.0 {
                out.push(Advice {
                    kind: AdviceKind::Needs,
                    jobs: vec![wf.jobs[job].id.clone(), wf.jobs[need].id.clone()],
                    message: format!(
                        "`{}` waits for `{}` ({}) but uses none of its outputs: without that `needs` the workflow would take {} instead of {} (a failing `{}` would no longer spare `{}`'s runner time)",
                        wf.jobs[job].id,
                        wf.jobs[need].id,
                        d[p],
                        w,
                        wall,
                        wf.jobs[need].id,
                        wf.jobs[job].id,
                    ),
                    wall_seconds_delta: Some(w.as_secs_f64() - wall.as_secs_f64()),
                    apply: Some(Change::DropNeed {
                        job: wf.jobs[job].id.clone(),
                        need: wf.jobs[need].id.clone(),
                    }),
                });
            }
        }
    }
}

/// Samples needed before history can set a timeout.
/// A minute, in the unit of job durations.
const MINUTE: u64 = Micros::ms(60_000).0;

const TIMEOUT_MIN_SAMPLES: usize = 5;
/// GitHub's timeout when `timeout-minutes` is not set.
const GITHUB_DEFAULT_TIMEOUT_MINUTES: f64 = 360.0;

/// `timeout-minutes` from the p99 of history, with a margin: 1.5 × p99, and at least 5 minutes
/// over it, rounded up to whole minutes.
pub fn suggested_timeout(samples: &[Micros]) -> Option<u64> {
    if samples.len() < TIMEOUT_MIN_SAMPLES {
        return None;
    }
    let mut s: Vec<u64> = samples.iter().map(|m| m.0).collect();
    s.sort_unstable();
    let rank = ((0.99 * s.len() as f64).ceil() as usize).clamp(1, s.len());
    let p99 = s[rank - 1];
    let with_margin = (p99 * 3 / 2).max(p99 + 5 * MINUTE);
    Some(with_margin.div_ceil(MINUTE))
}

fn advise_timeouts(
    wf: &Workflow,
    g: &JobGraph,
    history: &BTreeMap<crate::timings::ItemId, Vec<Sample>>,
    out: &mut Vec<Advice>,
) {
    // A job that calls a reusable workflow takes no `timeout-minutes`: its jobs set their own.
    // Nor a gate `optimize` wrote: the history under its name is its job's from before the
    // shards.
    for (j, job) in wf
        .jobs
        .iter()
        .enumerate()
        .filter(|(_, job)| job.uses.is_none() && job.gate_of.is_none())
    {
        let mut samples: Vec<Micros> = Vec::new();
        for i in (0..g.instances.len()).filter(|&i| g.instances[i].job == j) {
            if let Some(s) = job_samples(wf, g, i, history) {
                samples.extend(s.iter().map(|s| s.duration()));
            }
        }
        let Some(suggested) = suggested_timeout(&samples) else {
            continue;
        };
        let (verdict, current) = match &job.timeout_minutes {
            None => (
                "is not set (GitHub's default is 6 hours)",
                GITHUB_DEFAULT_TIMEOUT_MINUTES,
            ),
            Some(Timeout::Minutes(m)) if *m < suggested as f64 / 1.5 => {
                ("is below what normal runs need", *m)
            }
            Some(Timeout::Minutes(m)) if *m > 3.0 * suggested as f64 => (
                "lets a hung job burn runner time long after normal runs end",
                *m,
            ),
            // Fits, or decided at run time.
            Some(_) => continue,
        };
        out.push(Advice {
            kind: AdviceKind::Timeout,
            jobs: vec![job.id.clone()],
            message: format!(
                "`{}`: timeout-minutes {verdict}; {} runs say `timeout-minutes: {suggested}` (p99 plus a margin; now {current})",
                job.id,
                samples.len()
            ),
            wall_seconds_delta: None,
            apply: Some(Change::Timeout {
                job: job.id.clone(),
                minutes: suggested,
            }),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_come_from_p99_with_a_margin() {
        let mins = |v: &[u64]| v.iter().map(|m| Micros::ms(m * 60_000)).collect::<Vec<_>>();
        assert_eq!(
            suggested_timeout(&mins(&[10, 10, 10, 10])),
            None,
            "too few runs"
        );
        assert_eq!(suggested_timeout(&mins(&[10, 11, 12, 10, 20])), Some(30));
        assert_eq!(
            suggested_timeout(&mins(&[1, 1, 1, 1, 2])),
            Some(7),
            "at least 5 over"
        );
    }

    #[test]
    fn phase_titles_are_short() {
        assert_eq!(phase_title(["build", "build"].into_iter()), "build");
        assert_eq!(
            phase_title(["test-linux", "test-macos"].into_iter()),
            "test…"
        );
        assert_eq!(phase_title(["a", "b"].into_iter()), "a, b");
        assert_eq!(
            phase_title(["a", "b", "c", "d"].into_iter()),
            "a, b and 2 more"
        );
    }
}
