//! Which runs to read and how: the workflow's completed runs, newest first, `per_page=100`, then
//! each new run's jobs. A stop (rate limit, failure) keeps the runs already read whole.

use std::fmt::Write as _;

use chrono::NaiveDate;

use super::client::{ApiError, Client};
use super::records::{FetchedRun, JobRecord, JobsPage, RunRecord, RunsPage};

/// Which attempts of a re-run workflow to read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Attempts {
    /// The latest attempt's jobs (with the jobs it kept from earlier attempts).
    #[default]
    Latest,
    /// Every attempt's jobs.
    All,
}

/// The runs to read.
#[derive(Clone, Debug)]
pub struct RunQuery {
    pub owner: String,
    pub repo: String,
    /// A workflow file name (`ci.yml`, or a path ending in one) or a numeric id.
    pub workflow: String,
    pub branch: Option<String>,
    pub event: Option<String>,
    /// `completed` by default; `success`, `failure` and the API's other statuses and conclusions.
    pub status: String,
    pub since: Option<NaiveDate>,
    /// At most this many runs, newest first.
    pub runs: usize,
    pub attempts: Attempts,
}

/// Percent-encodes all but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

impl RunQuery {
    /// The workflow as the API names it: a file name without its directory, or an id.
    fn workflow_id(&self) -> &str {
        self.workflow
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&self.workflow)
    }

    pub fn repo_path(&self) -> String {
        format!("/repos/{}/{}", encode(&self.owner), encode(&self.repo))
    }

    /// The first page of runs.
    pub fn runs_path(&self) -> String {
        let per_page = self.runs.clamp(1, 100);
        let mut p = format!(
            "{}/actions/workflows/{}/runs?per_page={per_page}&status={}&exclude_pull_requests=true",
            self.repo_path(),
            encode(self.workflow_id()),
            encode(&self.status)
        );
        if let Some(b) = &self.branch {
            let _ = write!(p, "&branch={}", encode(b));
        }
        if let Some(e) = &self.event {
            let _ = write!(p, "&event={}", encode(e));
        }
        if let Some(d) = self.since {
            let _ = write!(p, "&created={}", encode(&format!(">={d}")));
        }
        p
    }

    /// The first page of a run's jobs.
    pub fn jobs_path(&self, run_id: u64) -> String {
        jobs_path(&self.owner, &self.repo, run_id, self.attempts)
    }
}

/// The first page of a run's jobs: `GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs`.
pub fn jobs_path(owner: &str, repo: &str, run_id: u64, attempts: Attempts) -> String {
    let filter = match attempts {
        Attempts::Latest => "latest",
        Attempts::All => "all",
    };
    format!(
        "/repos/{}/{}/actions/runs/{run_id}/jobs?per_page=100&filter={filter}",
        encode(owner),
        encode(repo)
    )
}

/// Pages of one listing read at the most: 1,000 pages of 100 records.
pub const MAX_PAGES: usize = 1000;

/// Where a listing goes next: nowhere once a page brought nothing new or its link repeats one
/// already read (a server that loops would otherwise be followed forever), an error past
/// `MAX_PAGES`.
struct Pages {
    seen: std::collections::BTreeSet<String>,
    what: &'static str,
}

impl Pages {
    fn new(what: &'static str) -> Self {
        Pages {
            seen: std::collections::BTreeSet::new(),
            what,
        }
    }

    fn next(
        &mut self,
        client: &Client,
        new_records: bool,
        link: Option<String>,
    ) -> Result<Option<String>, ApiError> {
        let Some(link) = link.filter(|_| new_records) else {
            return Ok(None);
        };
        if self.seen.len() >= MAX_PAGES {
            return Err(ApiError::EndlessPages {
                url: client.url(&link),
                what: self.what,
                pages: MAX_PAGES,
            });
        }
        Ok(self.seen.insert(link.clone()).then_some(link))
    }
}

/// Every page of a run's jobs, from the first page's path.
pub async fn fetch_jobs(client: &mut Client, first: String) -> Result<Vec<JobRecord>, ApiError> {
    let mut jobs: Vec<JobRecord> = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    let mut pages = Pages::new("the list of a run's jobs");
    pages.seen.insert(first.clone());
    let mut next = Some(first);
    while let Some(path) = next.take() {
        let (page, more) = client.get_json::<JobsPage>(&path, "a page of jobs").await?;
        let before = jobs.len();
        jobs.extend(page.jobs.into_iter().filter(|j| ids.insert(j.id)));
        next = pages.next(client, jobs.len() > before, more)?;
    }
    Ok(jobs)
}

/// What a fetch read.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Runs read whole (every page of their jobs), newest first.
    pub runs: Vec<FetchedRun>,
    /// Runs listed.
    pub listed: usize,
    /// Runs listed whose latest attempt is already in the store: their jobs were not read.
    pub known: usize,
    /// Why the fetch stopped early, if it did.
    pub stopped: Option<ApiError>,
}

/// One run (`GET /repos/{owner}/{repo}/actions/runs/{run_id}`), or `None` when the repository
/// has no such run (404: deleted, or never there).
pub async fn run_record(
    client: &mut Client,
    repo_path: &str,
    run_id: u64,
) -> Result<Option<RunRecord>, ApiError> {
    let answer = client
        .send(
            super::client::Request::Get,
            &format!("{repo_path}/actions/runs/{run_id}"),
            &[404],
        )
        .await?;
    if answer.status == 404 {
        return Ok(None);
    }
    serde_json::from_str(&answer.body)
        .map(Some)
        .map_err(|e| ApiError::Malformed {
            url: answer.label,
            what: "a workflow run",
            detail: e.to_string(),
        })
}

/// Progress, for a bar.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    Listed(usize),
    RunDone,
}

/// Reads up to `query.runs` runs and the jobs of those not `known` (run id, attempt).
pub async fn fetch(
    client: &mut Client,
    query: &RunQuery,
    known: &dyn Fn(u64, u32) -> bool,
    progress: &mut dyn FnMut(Progress),
) -> Fetched {
    let mut out = Fetched::default();
    let mut runs: Vec<RunRecord> = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    let mut pages = Pages::new("the list of workflow runs");
    let mut next = Some(query.runs_path());
    pages.seen.extend(next.clone());
    while let Some(path) = next.take() {
        let page = client
            .get_json::<RunsPage>(&path, "a page of workflow runs")
            .await;
        let followed = page.and_then(|(page, more)| {
            let before = runs.len();
            for run in page.workflow_runs {
                if runs.len() < query.runs && ids.insert(run.id) {
                    runs.push(run);
                }
            }
            let wanted = runs.len() < query.runs;
            pages.next(client, wanted && runs.len() > before, more)
        });
        match followed {
            Ok(more) => next = more,
            Err(e) => {
                out.stopped = Some(e);
                break;
            }
        }
    }
    out.listed = runs.len();
    progress(Progress::Listed(runs.len()));
    for run in runs {
        if out.stopped.is_some() {
            break;
        }
        if known(run.id, run.attempt()) {
            out.known += 1;
            progress(Progress::RunDone);
            continue;
        }
        match fetch_jobs(client, query.jobs_path(run.id)).await {
            Ok(jobs) => out.runs.push(FetchedRun { run, jobs }),
            Err(e) => out.stopped = Some(e),
        }
        progress(Progress::RunDone);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> RunQuery {
        RunQuery {
            owner: "octo-org".into(),
            repo: "hello.world".into(),
            workflow: ".github/workflows/ci.yml".into(),
            branch: Some("release/1.x".into()),
            event: Some("push".into()),
            status: "completed".into(),
            since: NaiveDate::from_ymd_opt(2026, 11, 1),
            runs: 250,
            attempts: Attempts::All,
        }
    }

    #[test]
    fn paths_are_encoded_and_filtered() {
        let q = query();
        assert_eq!(
            q.runs_path(),
            "/repos/octo-org/hello.world/actions/workflows/ci.yml/runs?per_page=100&status=completed&exclude_pull_requests=true&branch=release%2F1.x&event=push&created=%3E%3D2026-11-01"
        );
        assert_eq!(
            q.jobs_path(42),
            "/repos/octo-org/hello.world/actions/runs/42/jobs?per_page=100&filter=all"
        );
        let small = RunQuery {
            runs: 5,
            workflow: "1234".into(),
            branch: None,
            event: None,
            since: None,
            ..q
        };
        assert_eq!(
            small.runs_path(),
            "/repos/octo-org/hello.world/actions/workflows/1234/runs?per_page=5&status=completed&exclude_pull_requests=true"
        );
    }
}
