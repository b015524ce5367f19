//! Lean records of the API's workflow runs and jobs: only the fields the planner reads, and every
//! one the API may leave out or send as null is optional. A job `requested` or `waiting`, a step
//! not yet started, a runner not yet assigned all parse.
//!
//! Shapes: "List workflow runs for a workflow" (`GET /repos/{o}/{r}/actions/workflows/{id}/runs`)
//! and "List jobs for a workflow run" (`GET /repos/{o}/{r}/actions/runs/{id}/jobs`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Deserialize)]
pub struct RunsPage {
    #[serde(default)]
    pub total_count: Option<u64>,
    pub workflow_runs: Vec<RunRecord>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct JobsPage {
    #[serde(default)]
    pub total_count: Option<u64>,
    pub jobs: Vec<JobRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub run_number: Option<u64>,
    /// 1 for the first attempt; the latest attempt when listed.
    #[serde(default)]
    pub run_attempt: Option<u32>,
    #[serde(default)]
    pub head_sha: Option<String>,
    #[serde(default)]
    pub head_branch: Option<String>,
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub run_started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub updated_at: Option<DateTime<Utc>>,
}

impl RunRecord {
    pub fn attempt(&self) -> u32 {
        self.run_attempt.unwrap_or(1).max(1)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: u64,
    #[serde(default)]
    pub run_id: Option<u64>,
    #[serde(default)]
    pub run_attempt: Option<u32>,
    /// The name GitHub shows: `test (ubuntu-latest, 3.12)` for a matrix combination.
    pub name: String,
    /// `queued`, `in_progress`, `completed`, `waiting`, `requested`, `pending`, or one the API
    /// adds later: a string, so that no new status breaks a fetch.
    pub status: String,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub head_sha: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
    /// The job's page, for links from a summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_url: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub labels: Vec<String>,
    #[serde(default)]
    pub runner_name: Option<String>,
    #[serde(default)]
    pub runner_group_name: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub steps: Vec<StepRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    #[serde(default)]
    pub number: Option<u32>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub conclusion: Option<String>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub completed_at: Option<DateTime<Utc>>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A run and the jobs fetched for it, as `--records` writes them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FetchedRun {
    pub run: RunRecord,
    pub jobs: Vec<JobRecord>,
}
