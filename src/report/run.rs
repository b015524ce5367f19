//! What happened: the shards' JUnit reports mapped onto the plan. Each testcase becomes an item at
//! its suite's granularity and so lands in the shard that planned it; a test the plan did not know
//! lands in the shard whose report holds it. A report's timeline (its `timestamp`, plus `time`)
//! belongs to the shard that ran most of it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::shard_job::ShardJob;
use crate::plan::{Plan, SuitePlan};
use crate::timings::align::{Listed, find_reroot, rerooted};
use crate::timings::formats::{
    Granularity, JunitSummary, Outcome, ReadOptions, final_outcomes, junit_items, run_order,
};
use crate::timings::{ItemId, Micros, file_count};

/// One shard as it ran.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShardRun {
    /// 1-based.
    pub index: u32,
    /// The plan's estimate of its work.
    pub predicted: Micros,
    /// The plan's estimate of what its process spends beyond its tests.
    pub predicted_hidden: Micros,
    /// Its process's wall time, when `planner shard --exec` ran it and wrote it beside its reports.
    pub process: Option<Micros>,
    pub planned_items: usize,
    /// Items and their actual times (failed tests included: they took the time).
    pub items: BTreeMap<ItemId, Micros>,
    /// When its reports started and ended, or its job when job timings are known.
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Start-up overhead and queue, when job timings are known.
    pub overhead: Option<Micros>,
    pub queue: Option<Micros>,
    /// A report was seen for it.
    pub reported: bool,
    /// Its job, when the run's jobs were read from the API.
    pub job: Option<ShardJob>,
    /// Its tests whose final outcome is a failure.
    pub failed_tests: usize,
    pub reports: Vec<PathBuf>,
}

/// A test that failed in the run: in the end (its latest report says failed), or before it
/// passed (flaky).
#[derive(Clone, Debug, PartialEq)]
pub struct TestVerdict {
    pub id: ItemId,
    /// 1-based: the shard of the latest report that holds it.
    pub shard: u32,
    pub message: Option<String>,
    pub failures: u32,
    pub passes: u32,
    /// Its final outcome is a failure.
    pub failed: bool,
}

impl ShardRun {
    /// Busy time: its items' times.
    pub fn busy(&self) -> Micros {
        self.items.values().copied().sum()
    }

    /// What it cost beyond its tests' times, and how many files its items came from: its
    /// process's wall time, else its reports' span (when no job's times replaced it), less its
    /// tests' times.
    pub fn hidden_cost(&self) -> Option<(u32, Micros)> {
        if !self.reported || self.items.is_empty() {
            return None;
        }
        let span = self.process.or_else(|| {
            self.job
                .is_none()
                .then(|| Micros::between(self.start, self.end))
                .flatten()
        })?;
        Some((
            u32::try_from(file_count(self.items.keys())).unwrap_or(u32::MAX),
            span.saturating_sub(self.busy()),
        ))
    }
}

/// One suite as it ran.
#[derive(Clone, Debug, PartialEq)]
pub struct SuiteRun {
    pub plan: SuitePlan,
    pub shards: Vec<ShardRun>,
    /// Items run that the plan did not have (new tests).
    pub unplanned: usize,
    /// Planned items of reported shards that no report holds (deselected, crashed mid-way).
    pub unreported_items: usize,
    /// What the reports' testcases were read as: the plan's granularity, or the one its items
    /// turned out to be (a plan made from a map of files says "test").
    pub read_by: Granularity,
    /// Every test that failed at least once, in id order.
    pub verdicts: Vec<TestVerdict>,
}

impl SuiteRun {
    pub fn missing(&self) -> Vec<u32> {
        self.shards
            .iter()
            .filter(|s| !s.reported && s.planned_items > 0)
            .map(|s| s.index)
            .collect()
    }
}

/// A report read: its path and contents.
#[derive(Clone, Debug)]
pub struct Report {
    pub path: PathBuf,
    pub summary: JunitSummary,
}

fn empty_run(plan: &SuitePlan) -> SuiteRun {
    SuiteRun {
        plan: plan.clone(),
        shards: plan
            .shards
            .iter()
            .map(|s| ShardRun {
                index: s.index.get(),
                predicted: s.estimate_ms,
                predicted_hidden: s.hidden_ms,
                planned_items: s.items.len(),
                ..ShardRun::default()
            })
            .collect(),
        unplanned: 0,
        unreported_items: 0,
        read_by: plan.granularity,
        verdicts: Vec::new(),
    }
}

/// Maps the reports onto the plan's suites and shards. Warnings for reports that match no suite.
/// A report read at the granularity of the suite whose items it matches best.
struct Matched {
    suite: usize,
    items: BTreeMap<ItemId, Micros>,
    /// How many of its items the suite planned.
    hits: usize,
    /// What its testcases were read as.
    by: Granularity,
    /// What reading it said (a testcase without `time`).
    said: Vec<String>,
}

fn best_suite<'p>(
    plan: &Plan,
    owners: &[BTreeMap<&'p ItemId, usize>],
    planned: &[std::cell::OnceCell<Listed<'p>>],
    report: &Report,
) -> Option<Matched> {
    // A suite's items indexed for rerooting only when a report needs it.
    let listed =
        |si: usize| planned[si].get_or_init(|| Listed::new(owners[si].keys().map(|i| i.as_str())));
    let mut best: Option<Matched> = None;
    for (si, suite) in plan.suites.iter().enumerate() {
        // The plan's own granularity first; the others only where they match more.
        let mut ways = vec![suite.granularity];
        ways.extend(
            [Granularity::Test, Granularity::File, Granularity::Class]
                .into_iter()
                .filter(|g| *g != suite.granularity),
        );
        for by in ways {
            let opts = ReadOptions {
                by,
                include_failed: true,
                ..ReadOptions::default()
            };
            let mut said = Vec::new();
            let mut items = junit_items(&report.path, &report.summary, opts, &mut said);
            let mut matched = items.keys().filter(|i| owners[si].contains_key(i)).count();
            // The report names its files from another folder than the plan's items
            // (playwright's testDir): its ids follow the plan's, as the plan's history did.
            if matched * 2 < items.len()
                && let Some(reroot) = find_reroot(items.keys(), listed(si))
            {
                items = rerooted(&items, |id| listed(si).contains(id), &reroot);
                matched = items.keys().filter(|i| owners[si].contains_key(i)).count();
                said.push(format!(
                    "{}: the report names its tests from another folder than the plan: {}",
                    report.path.display(),
                    reroot.describe()
                ));
            }
            if best.as_ref().is_none_or(|b| matched > b.hits) {
                best = Some(Matched {
                    suite: si,
                    items,
                    hits: matched,
                    by,
                    said,
                });
            }
        }
    }
    best
}

/// Per suite, each planned item's shard (0-based).
fn owners(plan: &Plan) -> Vec<BTreeMap<&ItemId, usize>> {
    plan.suites
        .iter()
        .map(|s| {
            s.shards
                .iter()
                .enumerate()
                .flat_map(|(k, sh)| sh.items.iter().map(move |i| (&i.id, k)))
                .collect()
        })
        .collect()
}

pub fn collect(plan: &Plan, reports: &[Report], warnings: &mut Vec<String>) -> Vec<SuiteRun> {
    let mut runs: Vec<SuiteRun> = plan.suites.iter().map(empty_run).collect();
    let owners = owners(plan);
    let planned: Vec<std::cell::OnceCell<Listed>> =
        std::iter::repeat_with(std::cell::OnceCell::new)
            .take(plan.suites.len())
            .collect();
    // Per suite, the reports it took and the shard (0-based) each counted in.
    let mut taken: Vec<Vec<(usize, usize)>> = vec![Vec::new(); plan.suites.len()];
    for (ri, report) in reports.iter().enumerate() {
        let Some(Matched {
            suite: si,
            items,
            hits: matched,
            by,
            said,
        }) = best_suite(plan, &owners, &planned, report)
        else {
            continue;
        };
        if matched > 0 && by != runs[si].read_by && by != plan.suites[si].granularity {
            warnings.push(format!(
                "{}: the plan's items of suite {} are {}s, not {}s as it says; its testcases are read by {}",
                report.path.display(),
                plan.suites[si].name,
                by.name(),
                plan.suites[si].granularity.name(),
                by.name()
            ));
        }
        if matched > 0 {
            runs[si].read_by = by;
        }
        // A testcase without `time` is left out of the measures, and said so, as `merge` says it.
        warnings.extend(said);
        if matched == 0 {
            warnings.push(format!(
                "{}: none of its {} tests is in the plan; the report is left out",
                report.path.display(),
                items.len()
            ));
            continue;
        }
        // The shard that ran most of this report's time.
        let mut time_by_shard: BTreeMap<usize, Micros> = BTreeMap::new();
        for (id, ms) in &items {
            if let Some(&k) = owners[si].get(id) {
                *time_by_shard.entry(k).or_default() += *ms;
            }
        }
        let home = time_by_shard
            .iter()
            .max_by_key(|(k, ms)| (**ms, std::cmp::Reverse(**k)))
            .map_or(0, |(k, _)| *k);
        // One report is one process: its tests ran where it did, whatever the plan said. A serial
        // run's report passed off as every shard's counts as one shard's, not all of them.
        let elsewhere = time_by_shard.len().saturating_sub(1);
        if elsewhere > 0 {
            let foreign = items
                .keys()
                .filter(|id| owners[si].get(*id).is_some_and(|&k| k != home))
                .count();
            warnings.push(format!(
                "{}: {foreign} of its {} tests were planned for {elsewhere} other shard(s); a shard's report holds its own tests, so they count where this report ran, shard {}",
                report.path.display(),
                items.len(),
                home + 1
            ));
        }
        let run = &mut runs[si];
        for (id, ms) in items {
            if !owners[si].contains_key(&id) {
                run.unplanned += 1;
            }
            let shard = &mut run.shards[home];
            shard.reported = true;
            // A re-run shard's report beside the first: the longer time, as `timings merge` keeps.
            let slot = shard.items.entry(id).or_default();
            *slot = (*slot).max(ms);
        }
        taken[si].push((ri, home));
        run.shards[home].reports.push(report.path.clone());
    }
    for (si, run) in runs.iter_mut().enumerate() {
        run.unreported_items = unreported(&plan.suites[si], &run.shards);
        let views: Vec<(&std::path::Path, &JunitSummary)> = taken[si]
            .iter()
            .map(|&(ri, _)| (reports[ri].path.as_path(), &reports[ri].summary))
            .collect();
        let homes: Vec<usize> = taken[si].iter().map(|&(_, home)| home).collect();
        timelines(run, &views, &homes);
        judge(run, &views, &homes);
    }
    runs
}

/// Each shard's timeline (`views`: the suite's reports, each counted in the shard `homes` says):
/// from the start of its first report to the end of its last, leaving out
/// the reports of a re-run (a later report all of whose tests an earlier one of the shard holds:
/// a re-run of the failed tests, or of the whole shard), whose times would span the wait between
/// the attempts.
fn timelines(run: &mut SuiteRun, views: &[(&std::path::Path, &JunitSummary)], homes: &[usize]) {
    let mut seen: Vec<std::collections::HashSet<&ItemId>> =
        vec![std::collections::HashSet::new(); run.shards.len()];
    for i in run_order(views) {
        let (home, summary) = (homes[i], views[i].1);
        let rerun =
            !summary.cases.is_empty() && summary.cases.iter().all(|c| seen[home].contains(&c.test));
        seen[home].extend(summary.cases.iter().map(|c| &c.test));
        if rerun {
            continue;
        }
        let shard = &mut run.shards[home];
        if let Some(start) = summary.timestamp {
            shard.start = Some(shard.start.map_or(start, |s| s.min(start)));
        }
        if let Some(end) = summary.end {
            shard.end = Some(shard.end.map_or(end, |e| e.max(end)));
        }
    }
}

/// The suite's tests that failed at least once over its reports (`views`, each counted in the
/// shard `homes` says), each with the latest report's word; and each shard's count of final
/// failures.
fn judge(run: &mut SuiteRun, views: &[(&std::path::Path, &JunitSummary)], homes: &[usize]) {
    for (id, t) in final_outcomes(views) {
        if t.failures == 0 {
            continue;
        }
        let home = homes[t.report];
        let failed = t.outcome == Outcome::Failed;
        if failed {
            run.shards[home].failed_tests += 1;
        }
        run.verdicts.push(TestVerdict {
            id: id.clone(),
            shard: run.shards[home].index,
            message: t.message.map(str::to_owned),
            failures: t.failures,
            passes: t.passes,
            failed,
        });
    }
}

/// Planned items of the shards that reported, that no report of theirs holds.
fn unreported(planned: &SuitePlan, shards: &[ShardRun]) -> usize {
    planned
        .shards
        .iter()
        .zip(shards)
        .filter(|(_, r)| r.reported)
        .map(|(p, r)| {
            p.items
                .iter()
                .filter(|i| !r.items.contains_key(&i.id))
                .count()
        })
        .sum()
}
