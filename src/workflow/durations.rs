//! How long each job takes: from its own history, else from its matrix siblings, else from the
//! workflow's other jobs, else a default. Never zero, and always said which.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::timings::{Estimator, ItemId, Micros, Sample, median};

use super::graph::JobGraph;
use super::model::Workflow;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JobEstimate {
    /// The job's own samples.
    History,
    /// The median of the other combinations of the same matrix.
    SameJob,
    /// The median of the workflow's jobs with history.
    Workflow,
    /// Nothing known: the default.
    Default,
    /// A shard of a job the planner split: the job's history (under its gate's name), its work
    /// divided among the shards, each paying the start-up again.
    Shard,
    /// A gate the planner wrote: it checks results, so its start-up alone.
    Gate,
}

impl JobEstimate {
    pub fn describe(self) -> &'static str {
        match self {
            JobEstimate::History => "history",
            JobEstimate::SameJob => "estimated from its matrix",
            JobEstimate::Workflow => "estimated from the workflow",
            JobEstimate::Default => "default",
            JobEstimate::Shard => "its job's history, split",
            JobEstimate::Gate => "a gate: its start-up",
        }
    }
}

/// The samples that belong to an instance: its GitHub name, or for a job without a matrix its id
/// (what a store made by hand tends to use).
pub fn job_samples<'h>(
    wf: &Workflow,
    g: &JobGraph,
    i: usize,
    history: &'h BTreeMap<ItemId, Vec<Sample>>,
) -> Option<&'h Vec<Sample>> {
    let inst = &g.instances[i];
    history.get(&ItemId::new(inst.name.as_str())).or_else(|| {
        inst.combination
            .is_empty()
            .then(|| history.get(&ItemId::new(wf.jobs[inst.job].id.as_str())))
            .flatten()
    })
}

pub fn job_durations(
    wf: &Workflow,
    g: &JobGraph,
    history: &BTreeMap<ItemId, Vec<Sample>>,
    estimator: &Estimator,
    default: Micros,
    overhead: Micros,
) -> Vec<(Micros, JobEstimate)> {
    let estimate = |samples: &[Sample]| {
        let samples: Vec<Micros> = samples.iter().map(|s| s.duration()).collect();
        estimator.of_samples(&samples).map(|m| m.max(Micros::ms(1)))
    };
    let gate = |i: usize| wf.jobs[g.instances[i].job].gate_of.is_some();
    let known: Vec<Option<Micros>> = (0..g.instances.len())
        .map(|i| {
            if gate(i) {
                return None;
            }
            estimate(job_samples(wf, g, i, history)?)
        })
        .collect();
    // A sharded job's history is under its gate's name until its shards have their own.
    let unsharded = |job: usize| -> Option<(Micros, usize)> {
        let id = &wf.jobs[job].id;
        let gate = (0..g.instances.len())
            .find(|&k| wf.jobs[g.instances[k].job].gate_of.as_ref() == Some(id))?;
        let whole = estimate(job_samples(wf, g, gate, history)?)?;
        let shards = (0..g.instances.len())
            .filter(|&k| g.instances[k].job == job)
            .count();
        Some((whole, shards.max(1)))
    };
    let all: Vec<Micros> = known.iter().flatten().copied().collect();
    let workflow_median = median(all);
    (0..g.instances.len())
        .map(|i| {
            if gate(i) {
                return (overhead.max(Micros::ms(1)), JobEstimate::Gate);
            }
            if let Some(m) = known[i] {
                return (m, JobEstimate::History);
            }
            let job = g.instances[i].job;
            if let Some((whole, k)) = unsharded(job) {
                let o = overhead.0.min(whole.0);
                return (
                    Micros(o + (whole.0 - o).div_ceil(k as u64)).max(Micros::ms(1)),
                    JobEstimate::Shard,
                );
            }
            let siblings: Vec<Micros> = (0..g.instances.len())
                .filter(|&k| g.instances[k].job == job)
                .filter_map(|k| known[k])
                .collect();
            if let Some(m) = median(siblings) {
                (m, JobEstimate::SameJob)
            } else if let Some(m) = workflow_median {
                (m, JobEstimate::Workflow)
            } else {
                (default.max(Micros::ms(1)), JobEstimate::Default)
            }
        })
        .collect()
}
