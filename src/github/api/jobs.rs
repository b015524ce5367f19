//! Fetched jobs → timing observations: one per run attempt and runner class, each job's duration a
//! sample (item = the job's name as GitHub shows it, runner class = its labels), and each job's
//! start-up overhead beside it. Pure: no I/O, tested on records.

use std::collections::BTreeMap;

use crate::timings::{ItemId, Micros, Observed, RunRef};

use super::records::{FetchedRun, JobRecord, StepRecord};

/// What `timings fetch` reads from a job.
#[derive(Clone, Debug, Default)]
pub struct JobOptions {
    /// Failed (and timed-out) jobs teach durations too.
    pub include_failed: bool,
    /// More step-name prefixes that count as start-up, beside the built-in ones.
    pub setup_steps: Vec<String>,
}

/// Step names (lower case, by prefix) that are start-up or clean-up, not the job's work: the
/// runner's own steps, post steps, checkout, toolchains, caches, dependency installs, artifacts.
const SETUP_PREFIXES: &[&str] = &[
    "set up ",
    "setup ",
    "complete job",
    "post ",
    "checkout",
    "check out",
    "run actions/checkout",
    "run actions/setup-",
    "run actions/cache",
    "run actions/download-artifact",
    "run actions/upload-artifact",
    "cache ",
    "restore ",
    "save ",
    "install ",
    "download ",
    "upload ",
    "run swatinem/rust-cache",
    "run dtolnay/rust-toolchain",
    "run taiki-e/install-action",
    "run astral-sh/setup-uv",
    "run ruby/setup-ruby",
    "run pnpm/action-setup",
];

/// What became of the jobs fetched, for the summary line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub jobs: usize,
    /// Completed with success (or failure, when failed jobs count): samples.
    pub timed: usize,
    /// Still queued, waiting, requested or in progress.
    pub unfinished: usize,
    /// Failed or timed out, not counted.
    pub failed: usize,
    /// Skipped, cancelled, neutral: they did not run their work.
    pub not_run: usize,
    /// Completed without usable times (missing, or ending before they start).
    pub no_times: usize,
    /// Jobs whose start-up overhead was measured.
    pub startups: usize,
    /// Jobs of attempts already in the store.
    pub known: usize,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Self) {
        self.jobs += o.jobs;
        self.timed += o.timed;
        self.unfinished += o.unfinished;
        self.failed += o.failed;
        self.not_run += o.not_run;
        self.no_times += o.no_times;
        self.startups += o.startups;
        self.known += o.known;
    }
}

/// The runner class of a job: its labels, as `runs-on` gave them.
pub fn runner_class(job: &JobRecord) -> String {
    if job.labels.is_empty() {
        "default".to_owned()
    } else {
        job.labels.join(",")
    }
}

fn is_setup(step: &StepRecord, extra: &[String]) -> bool {
    let name = step.name.to_lowercase();
    SETUP_PREFIXES.iter().any(|p| name.starts_with(p))
        || extra.iter().any(|p| name.starts_with(&p.to_lowercase()))
}

/// A job's start-up: (queue, set-up), where set-up is its time on the runner outside its work
/// steps. None when the steps are missing or untimed, or none of them is work.
pub fn startup(job: &JobRecord, extra: &[String]) -> Option<(Micros, Micros)> {
    let duration = Micros::between(job.started_at, job.completed_at)?;
    let queue = Micros::between(job.created_at, job.started_at).unwrap_or(Micros::ZERO);
    if job.steps.is_empty() {
        return None;
    }
    let mut work = Micros::ZERO;
    let mut any_work = false;
    for step in &job.steps {
        let d = Micros::between(step.started_at, step.completed_at)?;
        if !is_setup(step, extra) {
            work += d;
            any_work = true;
        }
    }
    any_work.then(|| (queue, duration - work))
}

/// The job's duration if it is a timing: completed, successful (or failed, when asked), with
/// times that make sense.
fn timing(job: &JobRecord, opts: &JobOptions, tally: &mut Tally) -> Option<Micros> {
    if job.status != "completed" {
        tally.unfinished += 1;
        return None;
    }
    match job.conclusion.as_deref() {
        Some("success") => {}
        Some("failure" | "timed_out") if opts.include_failed => {}
        Some("failure" | "timed_out") => {
            tally.failed += 1;
            return None;
        }
        _ => {
            tally.not_run += 1;
            return None;
        }
    }
    let Some(d) = Micros::between(job.started_at, job.completed_at) else {
        tally.no_times += 1;
        return None;
    };
    tally.timed += 1;
    Some(d)
}

/// The observations of one fetched run: per attempt not yet in the store (`known`) and runner
/// class. An attempt with nothing usable still gives one empty observation, so that the next
/// fetch skips it.
pub fn observe_run(
    repo: &str,
    fetched: &FetchedRun,
    opts: &JobOptions,
    known: &dyn Fn(u64, u32) -> bool,
    tally: &mut Tally,
) -> Vec<Observed> {
    let run = &fetched.run;
    let mut groups: BTreeMap<(u32, String), Observed> = BTreeMap::new();
    let mut attempts: Vec<u32> = vec![run.attempt()];
    for job in &fetched.jobs {
        let attempt = job.run_attempt.unwrap_or(run.attempt()).max(1);
        tally.jobs += 1;
        if known(run.id, attempt) {
            tally.known += 1;
            continue;
        }
        if !attempts.contains(&attempt) {
            attempts.push(attempt);
        }
        let Some(duration) = timing(job, opts, tally) else {
            continue;
        };
        let class = runner_class(job);
        let obs = groups
            .entry((attempt, class.clone()))
            .or_insert_with(|| Observed {
                source: format!("github:{repo}/actions/runs/{}/attempts/{attempt}", run.id),
                kind: "github-jobs".to_owned(),
                runner_class: class,
                at: None,
                durations: BTreeMap::new(),
                run: Some(RunRef {
                    run_id: run.id,
                    attempt,
                    commit: job.head_sha.clone().or_else(|| run.head_sha.clone()),
                }),
                startups: Vec::new(),
                shard_costs: None,
                failures: Vec::new(),
            });
        obs.durations
            .insert(ItemId::new(job.name.as_str()), duration);
        obs.at = obs.at.max(job.completed_at);
        if let Some(s) = startup(job, &opts.setup_steps) {
            obs.startups.push(s);
            tally.startups += 1;
        }
    }
    let mut out: Vec<Observed> = Vec::new();
    attempts.sort_unstable();
    for attempt in attempts {
        let mut of_attempt: Vec<Observed> = groups
            .range((attempt, String::new())..)
            .take_while(|((a, _), _)| *a == attempt)
            .map(|(_, o)| o.clone())
            .collect();
        if of_attempt.is_empty() && !known(run.id, attempt) {
            of_attempt.push(Observed {
                source: format!("github:{repo}/actions/runs/{}/attempts/{attempt}", run.id),
                kind: "github-jobs".to_owned(),
                runner_class: String::new(),
                at: run.updated_at.or(run.created_at),
                durations: BTreeMap::new(),
                run: Some(RunRef {
                    run_id: run.id,
                    attempt,
                    commit: run.head_sha.clone(),
                }),
                startups: Vec::new(),
                shard_costs: None,
                failures: Vec::new(),
            });
        }
        out.extend(of_attempt);
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};

    use super::super::records::RunRecord;
    use super::*;

    fn t(s: u32) -> Option<DateTime<Utc>> {
        Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0)
            .single()
            .map(|d| d + chrono::Duration::seconds(i64::from(s)))
    }

    fn step(name: &str, from: u32, to: u32) -> StepRecord {
        StepRecord {
            name: name.into(),
            number: None,
            status: Some("completed".into()),
            conclusion: Some("success".into()),
            started_at: t(from),
            completed_at: t(to),
        }
    }

    fn job(name: &str, attempt: u32, conclusion: &str, steps: Vec<StepRecord>) -> JobRecord {
        JobRecord {
            id: 1,
            run_id: Some(9),
            run_attempt: Some(attempt),
            name: name.into(),
            status: "completed".into(),
            conclusion: Some(conclusion.into()),
            head_sha: Some("c0ffee".into()),
            created_at: t(0),
            started_at: t(10),
            completed_at: t(130),
            labels: vec!["ubuntu-latest".into()],
            runner_name: Some("GitHub Actions 2".into()),
            runner_group_name: Some("GitHub Actions".into()),
            steps,
            ..JobRecord::default()
        }
    }

    fn run(attempt: u32) -> RunRecord {
        RunRecord {
            id: 9,
            name: None,
            run_number: None,
            run_attempt: Some(attempt),
            head_sha: Some("c0ffee".into()),
            head_branch: None,
            event: None,
            status: Some("completed".into()),
            conclusion: Some("success".into()),
            created_at: t(0),
            run_started_at: t(0),
            updated_at: t(200),
        }
    }

    #[test]
    fn start_up_is_queue_plus_the_time_outside_work_steps() {
        let j = job(
            "test (3.12)",
            1,
            "success",
            vec![
                step("Set up job", 10, 13),
                step("Run actions/checkout@v4", 13, 15),
                step("Set up Python 3.12", 15, 30),
                step("Run pytest", 30, 120),
                step("Post Run actions/checkout@v4", 120, 121),
                step("Complete job", 121, 130),
            ],
        );
        // Queue 10 s; on the runner 120 s, of which 90 s of work.
        assert_eq!(
            startup(&j, &[]),
            Some((Micros::ms(10_000), Micros::ms(30_000)))
        );
        // A build step named as start-up by the user moves into it.
        let mut k = j.clone();
        k.steps.insert(3, step("Build wheels", 30, 40));
        k.steps[4].started_at = t(40);
        assert_eq!(
            startup(&k, &["build ".into()]),
            Some((Micros::ms(10_000), Micros::ms(40_000)))
        );
        let untimed = JobRecord {
            steps: vec![StepRecord {
                started_at: None,
                ..step("Run pytest", 0, 0)
            }],
            ..j.clone()
        };
        assert_eq!(startup(&untimed, &[]), None);
        let only_setup = JobRecord {
            steps: vec![step("Set up job", 10, 130)],
            ..j
        };
        assert_eq!(startup(&only_setup, &[]), None);
    }

    #[test]
    fn attempts_and_classes_are_observations_and_failures_are_not_timings() {
        let fetched = FetchedRun {
            run: run(2),
            jobs: vec![
                job("lint", 1, "success", vec![]),
                job("test (3.12)", 1, "failure", vec![]),
                job("test (3.12)", 2, "success", vec![]),
                JobRecord {
                    labels: vec!["macos-14".into()],
                    ..job("test (macos)", 2, "success", vec![])
                },
                JobRecord {
                    status: "requested".into(),
                    conclusion: None,
                    started_at: None,
                    completed_at: None,
                    labels: vec![],
                    ..job("deploy", 2, "success", vec![])
                },
                job("docs", 2, "skipped", vec![]),
            ],
        };
        let mut tally = Tally::default();
        let obs = observe_run(
            "o/r",
            &fetched,
            &JobOptions::default(),
            &|_, _| false,
            &mut tally,
        );
        let keys: Vec<(u32, &str, usize)> = obs
            .iter()
            .map(|o| {
                (
                    o.run.as_ref().unwrap().attempt,
                    o.runner_class.as_str(),
                    o.durations.len(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (1, "ubuntu-latest", 1),
                (2, "macos-14", 1),
                (2, "ubuntu-latest", 1)
            ]
        );
        assert_eq!(obs[0].durations[&ItemId::from("lint")], Micros::ms(120_000));
        assert_eq!(
            (
                tally.jobs,
                tally.timed,
                tally.failed,
                tally.unfinished,
                tally.not_run
            ),
            (6, 3, 1, 1, 1)
        );

        // Attempt 1 already merged: only attempt 2 is observed again.
        let mut tally = Tally::default();
        let again = observe_run(
            "o/r",
            &fetched,
            &JobOptions::default(),
            &|_, a| a == 1,
            &mut tally,
        );
        assert_eq!(again.len(), 2);
        assert_eq!(tally.known, 2);

        // Failed jobs count when asked.
        let mut tally = Tally::default();
        let with_failed = observe_run(
            "o/r",
            &fetched,
            &JobOptions {
                include_failed: true,
                ..JobOptions::default()
            },
            &|_, _| false,
            &mut tally,
        );
        assert_eq!(with_failed[0].durations.len(), 2);
    }

    #[test]
    fn a_run_with_nothing_usable_is_still_remembered() {
        let fetched = FetchedRun {
            run: run(1),
            jobs: vec![job("test", 1, "cancelled", vec![])],
        };
        let obs = observe_run(
            "o/r",
            &fetched,
            &JobOptions::default(),
            &|_, _| false,
            &mut Tally::default(),
        );
        assert_eq!(obs.len(), 1);
        assert!(obs[0].durations.is_empty());
        assert_eq!(obs[0].run.as_ref().unwrap().run_id, 9);
    }
}
