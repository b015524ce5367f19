//! Whole workflows: reading them, the job graph, its critical path and phases, runner pools,
//! and the advice drawn from all of it.

mod analysis;
mod durations;
mod edit;
mod error;
mod graph;
mod matrix;
mod model;
mod pools;
mod schedule;
mod shard_job;

pub use analysis::{
    Advice, AdviceKind, Analysis, AnalyzedJob, Assumptions, Phase, analyze, suggested_timeout,
};
pub use durations::{JobEstimate, job_durations};
pub use edit::{CONCURRENCY_CANCEL, CONCURRENCY_GROUP, Change, EditError, apply};
pub use error::WorkflowError;
pub use graph::{Instance, JobGraph};
pub use matrix::{Combination, Expansion, expand};
pub use model::{Job, RunsOn, Timeout, Workflow, parse_workflow};
pub use pools::Capacity;
pub use schedule::{Schedule, schedule, simulate};
pub use shard_job::unshardable;
