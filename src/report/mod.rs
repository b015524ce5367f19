//! After the run: what the parallelism bought, measured from the shards' reports against the plan;
//! bottlenecks and advice; a job summary, JSON, and this run's times for the history.

mod advice;
mod build;
mod claims;
mod format;
mod jobs;
mod measures;
mod run;
mod shard_job;
mod trend;

pub use advice::{Advice, AdviceKind, Goals, Severity, advise};
pub use build::{Report, build};
pub use claims::{ClaimCost, ShardClaims, SuiteClaims, account};
pub use format::{REPORT_FORMAT, REPORT_VERSION};
pub use jobs::{DEFAULT_JOB_NAME, JobsMatched, attach_jobs, check_template};
pub use measures::{
    ItemOff, ItemTime, Rates, RunMeasures, ShardMeasures, SuiteMeasures, TestFailure, comma_list,
    fmt_s, mark_known_flakes, measure, measure_run, only_known_flakes,
};
pub use run::{Report as JunitReport, ShardRun, SuiteRun, collect};
pub use shard_job::{RunJob, ShardJob};
pub use trend::{Change, Earlier, Trend, read_earlier};
