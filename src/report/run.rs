//! What happened: the shards' JUnit reports mapped onto the plan. Each testcase becomes an item at
//! its suite's granularity and so lands in the shard that planned it; a test the plan did not know
//! lands in the shard whose report holds it. A report's timeline (its `timestamp`, plus `time`)
//! belongs to the shard that ran most of it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::shard_job::ShardJob;
use crate::plan::{Plan, SuitePlan};
use crate::timings::formats::{JunitSummary, Outcome, ReadOptions, junit_items};
use crate::timings::{ItemId, Millis};

/// One shard as it ran.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShardRun {
    /// 1-based.
    pub index: u32,
    /// The plan's estimate of its work.
    pub predicted: Millis,
    pub planned_items: usize,
    /// Items and their actual times (failed tests included: they took the time).
    pub items: BTreeMap<ItemId, Millis>,
    /// When its reports started and ended, or its job when job timings are known.
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    /// Start-up overhead and queue, when job timings are known.
    pub overhead: Option<Millis>,
    pub queue: Option<Millis>,
    /// A report was seen for it.
    pub reported: bool,
    /// Its job, when the run's jobs were read from the API.
    pub job: Option<ShardJob>,
    pub failed_tests: usize,
    pub reports: Vec<PathBuf>,
}

impl ShardRun {
    /// Busy time: its items' times.
    pub fn busy(&self) -> Millis {
        self.items.values().copied().sum()
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
                planned_items: s.items.len(),
                ..ShardRun::default()
            })
            .collect(),
        unplanned: 0,
        unreported_items: 0,
    }
}

/// Maps the reports onto the plan's suites and shards. Warnings for reports that match no suite.
pub fn collect(plan: &Plan, reports: &[Report], warnings: &mut Vec<String>) -> Vec<SuiteRun> {
    let mut runs: Vec<SuiteRun> = plan.suites.iter().map(empty_run).collect();
    // item → shard (0-based), per suite.
    let owners: Vec<BTreeMap<&ItemId, usize>> = plan
        .suites
        .iter()
        .map(|s| {
            s.shards
                .iter()
                .enumerate()
                .flat_map(|(k, sh)| sh.items.iter().map(move |i| (&i.id, k)))
                .collect()
        })
        .collect();
    for report in reports {
        // The suite whose items the report matches best, read at that suite's granularity.
        let mut best: Option<(usize, BTreeMap<ItemId, Millis>, usize)> = None;
        for (si, suite) in plan.suites.iter().enumerate() {
            let opts = ReadOptions {
                by: suite.granularity,
                include_failed: true,
                ..ReadOptions::default()
            };
            let mut ignored = Vec::new();
            let items = junit_items(&report.path, &report.summary, opts, &mut ignored);
            let matched = items.keys().filter(|i| owners[si].contains_key(i)).count();
            if best.as_ref().is_none_or(|(_, _, m)| matched > *m) {
                best = Some((si, items, matched));
            }
        }
        let Some((si, items, matched)) = best else {
            continue;
        };
        if matched == 0 {
            warnings.push(format!(
                "{}: none of its {} tests is in the plan; the report is left out",
                report.path.display(),
                items.len()
            ));
            continue;
        }
        // The shard that ran most of this report's time.
        let mut time_by_shard: BTreeMap<usize, Millis> = BTreeMap::new();
        for (id, ms) in &items {
            if let Some(&k) = owners[si].get(id) {
                *time_by_shard.entry(k).or_default() += *ms;
            }
        }
        let home = time_by_shard
            .iter()
            .max_by_key(|(k, ms)| (**ms, std::cmp::Reverse(**k)))
            .map_or(0, |(k, _)| *k);
        let run = &mut runs[si];
        for (id, ms) in items {
            let k = if let Some(&k) = owners[si].get(&id) {
                k
            } else {
                run.unplanned += 1;
                home
            };
            let shard = &mut run.shards[k];
            shard.reported = true;
            // A re-run shard's report beside the first: the longer time, as `timings merge` keeps.
            let slot = shard.items.entry(id).or_default();
            *slot = (*slot).max(ms);
        }
        let shard = &mut run.shards[home];
        shard.failed_tests += report
            .summary
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Failed)
            .count();
        shard.reports.push(report.path.clone());
        if let Some(start) = report.summary.timestamp {
            shard.start = Some(shard.start.map_or(start, |s| s.min(start)));
        }
        if let Some(end) = report.summary.end {
            shard.end = Some(shard.end.map_or(end, |e| e.max(end)));
        }
    }
    for (si, run) in runs.iter_mut().enumerate() {
        let planned = &plan.suites[si];
        run.unreported_items = planned
            .shards
            .iter()
            .zip(&run.shards)
            .filter(|(_, r)| r.reported)
            .map(|(p, r)| {
                p.items
                    .iter()
                    .filter(|i| !r.items.contains_key(&i.id))
                    .count()
            })
            .sum();
    }
    runs
}
