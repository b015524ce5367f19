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
}

impl JobEstimate {
    pub fn describe(self) -> &'static str {
        match self {
            JobEstimate::History => "history",
            JobEstimate::SameJob => "estimated from its matrix",
            JobEstimate::Workflow => "estimated from the workflow",
            JobEstimate::Default => "default",
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
) -> Vec<(Micros, JobEstimate)> {
    let known: Vec<Option<Micros>> = (0..g.instances.len())
        .map(|i| {
            let samples: Vec<Micros> = job_samples(wf, g, i, history)?
                .iter()
                .map(|s| s.duration())
                .collect();
            estimator.of_samples(&samples).map(|m| m.max(Micros::ms(1)))
        })
        .collect();
    let all: Vec<Micros> = known.iter().flatten().copied().collect();
    let workflow_median = median(all);
    (0..g.instances.len())
        .map(|i| {
            if let Some(m) = known[i] {
                return (m, JobEstimate::History);
            }
            let job = g.instances[i].job;
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
