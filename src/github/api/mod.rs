//! The GitHub REST API: past workflow runs and their jobs, read into timings; git references,
//! for claiming.

pub mod client;
pub mod fetch;
pub mod jobs;
pub mod records;
pub mod refs;

pub use client::{ApiError, Client, ClientSettings, ClientStats};
pub use fetch::{Attempts, Fetched, Progress, RunQuery, fetch, fetch_jobs, jobs_path, run_record};
pub use jobs::{JobOptions, Tally, observe_run};
pub use records::{FetchedRun, JobRecord, JobsPage, RunRecord, RunsPage, StepRecord};
pub use refs::{RefCreated, create_ref, delete_ref, matching_refs};
