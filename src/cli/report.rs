//! `planner report`: the plan and the shards' JUnit → measures, advice, a job summary, JSON,
//! annotations, and this run's times merged into the history.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Error;
use crate::github::actions::{Level, annotation, fit_summary, in_actions, log_text};
use crate::github::api::JobRecord;
use crate::github::api::{Attempts, Client, fetch_jobs, jobs_path};
use crate::plan::ChoiceMode;
use crate::render::{summary_markdown, summary_text};
use crate::report::{
    AdviceKind, ClaimCost, DEFAULT_JOB_NAME, Earlier, Goals, JunitReport, Report, RunJob, Severity,
    SuiteRun, attach_jobs, build, check_template, collect, comma_list, read_earlier,
};
use crate::timings::formats::{PROCESS_TIMING_SUFFIX, ReadOptions, junit_view};
use crate::timings::{Observed, cost_key};

use super::Reporter;
use super::api::{block_on, required_repo, settings};
use super::args::ReportArgs;
use super::files::{
    UpdateOptions, Updated, append_github_output, read_plan, update_store, write_atomic, write_json,
};
use super::settings::{ReportSettings, SettingError, report as report_settings, retire_after};

/// The process wall times `planner shard --exec` wrote beside the reports, onto their shards,
/// and what claiming shards said their claims cost, by (suite, shard). A file that cannot be
/// read is said and left out: the run's measures do not depend on it.
fn attach_process_times(
    runs: &mut [SuiteRun],
    reports: &[JunitReport],
    warnings: &mut Vec<String>,
) -> BTreeMap<(String, u32), ClaimCost> {
    let mut costs = BTreeMap::new();
    let mut dirs: Vec<&Path> = reports.iter().filter_map(|r| r.path.parent()).collect();
    dirs.sort_unstable();
    dirs.dedup();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(PROCESS_TIMING_SUFFIX))
            .collect();
        paths.sort();
        for path in paths {
            let parsed = std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<ProcessTime>(&b).map_err(|e| e.to_string()));
            match parsed {
                Ok(t) => {
                    if let Some(requests) = t.requests {
                        let wait = t.claim_wait_ms.unwrap_or_default();
                        costs.insert((t.suite.clone(), t.index), ClaimCost { requests, wait });
                    }
                    let shard = runs
                        .iter_mut()
                        .filter(|r| r.plan.name == t.suite)
                        .flat_map(|r| r.shards.iter_mut())
                        .find(|s| s.index == t.index);
                    if let Some(s) = shard {
                        s.process = Some(t.wall_ms);
                    }
                }
                Err(e) => warnings.push(format!(
                    "{}: not a shard's process time ({e}); left out",
                    path.display()
                )),
            }
        }
    }
    costs
}

/// What `planner shard --exec` writes beside a shard's reports.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcessTime {
    suite: String,
    index: u32,
    wall_ms: crate::timings::Micros,
    /// A claiming shard's chunks and requests.
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "read so that the file parses; the references, not the shard, say whose a chunk is"
    )]
    chunks: Option<Vec<usize>>,
    #[serde(default)]
    requests: Option<usize>,
    #[serde(default)]
    claim_wait_ms: Option<crate::timings::Micros>,
}

/// The history `--timings-out` holds before this run is added: which failing tests are known
/// flakes. None without one; one that cannot be read is a warning (the update says why).
fn known_history(args: &ReportArgs, reporter: &mut Reporter) -> Option<crate::timings::Store> {
    let path = args.timings_out.as_ref()?;
    let bytes = std::fs::read(path).ok()?;
    match crate::timings::formats::read_store(path, &bytes) {
        Ok(store) => Some(store),
        Err(e) => {
            reporter.warn(format!("known flaky tests are not marked: {e}"));
            None
        }
    }
}

/// This run's times, one observation per suite, into `--timings-out`.
fn update_history(
    path: &Path,
    runs: &[SuiteRun],
    reports: &[JunitReport],
    args: &ReportArgs,
    reporter: &mut Reporter,
) -> Result<(), Error> {
    let include_failed = args.include_failed;
    let mut observed = Vec::new();
    let by_path: BTreeMap<&PathBuf, &JunitReport> = reports.iter().map(|r| (&r.path, r)).collect();
    for run in runs {
        let opts = ReadOptions {
            by: run.read_by,
            include_failed,
            ..ReadOptions::default()
        };
        let mut at = None;
        let mut views = Vec::new();
        for p in run.shards.iter().flat_map(|s| &s.reports) {
            let Some(r) = by_path.get(p) else { continue };
            views.push((r.path.as_path(), &r.summary));
            at = match (at, r.summary.timestamp) {
                (Some(a), Some(b)) => Some(std::cmp::min(a, b)),
                (a, b) => a.or(b),
            };
        }
        // The shards of one run are one view: a file whose tests ran on two shards is the sum of
        // both parts. What the reports lack (a testcase without `time`) was said when they were
        // read.
        let mut ignored = Vec::new();
        let label = format!("suite {}", run.plan.name);
        let (durations, _) = junit_view(&label, &views, opts, &mut ignored);
        if durations.is_empty() && run.verdicts.is_empty() {
            continue;
        }
        let costs: Vec<(u32, crate::timings::Micros)> = run
            .shards
            .iter()
            .filter_map(crate::report::ShardRun::hidden_cost)
            .collect();
        observed.push(Observed {
            source: format!("report of suite {}", run.plan.name),
            kind: "junit".to_owned(),
            runner_class: run.plan.runner_class.clone(),
            at,
            durations,
            shard_costs: (!costs.is_empty())
                .then(|| (cost_key(&run.plan.name, &run.plan.runner_class), costs)),
            failures: run
                .verdicts
                .iter()
                .map(|v| (v.id.as_str().to_owned(), !v.failed))
                .collect(),
            ..Observed::default()
        });
    }
    let ((), Updated { store, wrote }) = update_store(
        path,
        UpdateOptions {
            retire_after: retire_after(args.retire_after),
            ..UpdateOptions::default()
        },
        reporter,
        |store, _| {
            for o in &observed {
                store.merge(o);
            }
        },
    )?;
    if wrote {
        reporter.info(format!(
            "{}: this run's times added; {} items, {} samples in all",
            path.display(),
            store.item_count(),
            store.sample_count()
        ));
    }
    Ok(())
}

/// The earlier report of `--previous`. A missing file is a warning: the first run has none.
fn read_previous(args: &ReportArgs, reporter: &mut Reporter) -> Result<Option<Earlier>, Error> {
    let Some(path) = &args.previous else {
        return Ok(None);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            reporter.warn(format!(
                "{}: no earlier report there yet; no trend this time",
                path.display()
            ));
            return Ok(None);
        }
        Err(e) => return Err(Error::io("read", path, e)),
    };
    read_earlier(&bytes)
        .map(Some)
        .map_err(|message| Error::InvalidInput {
            path: path.clone(),
            message,
        })
}

/// The run's jobs from the API, attached to the shards they ran. A failure is a warning and a
/// note: the report goes on from the JUnit alone.
fn read_jobs(
    args: &ReportArgs,
    runs: &mut [SuiteRun],
    out: &mut dyn Write,
    reporter: &mut Reporter,
) -> Result<Vec<String>, Error> {
    let Some(run_id) = args.run_id else {
        return Ok(Vec::new());
    };
    let (owner, name) = required_repo(
        args.repo.as_deref(),
        "--run-id",
        "the repository is needed too (--repo OWNER/NAME, or $GITHUB_REPOSITORY)",
    )?;
    let mut templates = vec![DEFAULT_JOB_NAME.to_owned()];
    for t in &args.job_name {
        check_template(t).map_err(|m| SettingError::flag("--job-name", m))?;
        templates.push(t.clone());
    }
    let settings = settings(&args.api, out, reporter)?;
    let first = jobs_path(&owner, &name, run_id, Attempts::Latest);
    let read = block_on(async {
        let mut client = Client::new(settings)?;
        Ok::<_, Error>(fetch_jobs(&mut client, first).await)
    })??;
    let jobs = match read {
        Ok(jobs) => jobs,
        Err(e) => {
            let msg = reporter.redact(&format!(
                "the jobs of run {run_id} could not be read ({e}); start-up overhead is unknown"
            ));
            reporter.warn(msg.clone());
            return Ok(vec![msg]);
        }
    };
    let jobs: Vec<RunJob> = jobs.iter().map(run_job).collect();
    let found = attach_jobs(runs, &jobs, &templates);
    reporter.info(format!(
        "run {run_id}: {} jobs, {} of them shards, {} with times",
        found.jobs, found.matched, found.timed
    ));
    if found.matched == 0 {
        let msg = format!(
            "none of run {run_id}'s {} jobs is named like a shard of this plan (`{DEFAULT_JOB_NAME}`, or an unnamed matrix job); say how they are named with --job-name",
            found.jobs
        );
        reporter.warn(msg.clone());
        return Ok(vec![msg]);
    }
    Ok(Vec::new())
}

/// What the report reads of a job the API returned.
fn run_job(job: &JobRecord) -> RunJob {
    RunJob {
        id: job.id,
        attempt: job.run_attempt,
        name: job.name.clone(),
        status: job.status.clone(),
        conclusion: job.conclusion.clone(),
        url: job.html_url.clone(),
        created: job.created_at,
        started: job.started_at,
        completed: job.completed_at,
    }
}

/// Annotations for violations, SLA warnings, bottlenecks and missing shards.
fn annotate(report: &Report, out: &mut dyn Write) -> Result<(), Error> {
    for a in &report.advice {
        let level = match (a.kind, a.severity) {
            (_, Severity::Violation) => Level::Error,
            (
                AdviceKind::Sla
                | AdviceKind::Bottleneck
                | AdviceKind::MissingShards
                | AdviceKind::Trend,
                _,
            ) => Level::Warning,
            _ => continue,
        };
        let line = annotation(level, None, &format!("{}: {}", a.suite, a.message));
        writeln!(out, "{line}").map_err(|e| Error::io("write", "standard output", e))?;
    }
    Ok(())
}

/// The run's headline measures as step outputs, for a later step or job to gate on.
fn github_outputs(args: &ReportArgs, report: &Report) -> Result<(), Error> {
    let opt = |x: Option<f64>| x.map_or_else(String::new, |v| v.to_string());
    let run = &report.run;
    let missing: Vec<String> = report
        .suites
        .iter()
        .flat_map(|m| {
            m.missing_shards
                .iter()
                .map(move |k| format!("{} {k}", m.suite))
        })
        .collect();
    let mut outputs = vec![
        ("wall-seconds".to_owned(), run.wall_seconds.to_string()),
        (
            "sequential-seconds".to_owned(),
            run.sequential_seconds.to_string(),
        ),
        ("speedup".to_owned(), opt(run.speedup)),
        ("efficiency".to_owned(), opt(run.efficiency)),
        ("utilization".to_owned(), opt(run.utilization)),
        ("runner-minutes".to_owned(), run.runner_minutes.to_string()),
        ("missing-shards".to_owned(), missing.join(", ")),
        (
            "known-flakes-only".to_owned(),
            crate::report::only_known_flakes(&report.suites).to_string(),
        ),
    ];
    for (name, p) in [("report", &args.json), ("summary", &args.summary)] {
        if let Some(p) = p {
            outputs.push((name.to_owned(), p.display().to_string()));
        }
    }
    append_github_output(&outputs)
}

fn write_summary(path: &Path, markdown: &str) -> Result<(), Error> {
    let is_step_summary =
        std::env::var_os("GITHUB_STEP_SUMMARY").is_some_and(|p| Path::new(&p) == path);
    if is_step_summary {
        crate::github::actions::append_summary(path, markdown)
            .map_err(|e| Error::io("append to", path, e))
    } else {
        write_atomic(path, fit_summary(markdown, 0).as_bytes())
    }
}

pub fn run(args: &ReportArgs, out: &mut dyn Write, reporter: &mut Reporter) -> Result<(), Error> {
    let plan = read_plan(&args.plan)?;
    if plan.claim && !args.claims {
        // Its tails' tests are in no shard's plan: only the claims tell what ran.
        return Err(SettingError::flag(
            "--claims",
            format!(
                "{}: the plan's shards claim their tails; pass --claims and --run-id so that every chunk is accounted for",
                args.plan.display()
            ),
        )
        .into());
    }
    let ReportSettings {
        rates,
        sla_all,
        sla_per,
        target_seconds,
    } = report_settings(args)?;
    let earlier = read_previous(args, reporter)?;
    let reports = super::files::read_junit_reports(&args.junit)?;
    let mut warnings = Vec::new();
    let mut runs = collect(&plan, &reports, &mut warnings);
    let costs = attach_process_times(&mut runs, &reports, &mut warnings);
    for w in warnings {
        reporter.warn(w);
    }
    let notes = read_jobs(args, &mut runs, out, reporter)?;
    let goals = |suite: &str| {
        let planned = plan.suites.iter().find(|s| s.name == suite);
        Goals {
            target_seconds: target_seconds.or_else(|| match planned?.choice.mode {
                ChoiceMode::Target { target_ms } => Some(target_ms.as_secs_f64()),
                _ => None,
            }),
            sla_seconds: sla_per.get(suite).copied().or(sla_all),
            max_shards: planned.map_or(256, |p| p.curve.len().max(p.shards.len())),
        }
    };
    let mut report = build(&runs, &rates, &goals, earlier.as_ref());
    report.run_id = args.run_id;
    if let Some(store) = known_history(args, reporter) {
        crate::report::mark_known_flakes(&mut report.suites, &store);
    }
    report.notes.extend(notes);
    // A static plan's shards claimed nothing: `--claims` in a workflow that plans statically
    // (a fork's pull request) has nothing to read.
    let never_claimed = if args.claims && plan.claim {
        super::claim::account_run(args, &plan, &mut report, &costs, out, reporter)?
    } else {
        Vec::new()
    };
    out.write_all(log_text(&summary_text(&report)).as_bytes())
        .map_err(|e| Error::io("write", "standard output", e))?;
    if in_actions() {
        annotate(&report, out)?;
    }
    if let Some(path) = &args.summary {
        write_summary(path, &summary_markdown(&report))?;
    }
    if let Some(path) = &args.json {
        write_json(path, "the report", &report)?;
    }
    if let Some(path) = &args.timings_out {
        update_history(path, &runs, &reports, args, reporter)?;
    }
    if args.github_output {
        github_outputs(args, &report)?;
    }
    let missing: Vec<String> = report
        .suites
        .iter()
        .filter(|m| !m.missing_shards.is_empty())
        .map(|m| {
            format!(
                "suite {}: shard(s) {}",
                m.suite,
                comma_list(&m.missing_shards)
            )
        })
        .collect();
    if !never_claimed.is_empty() {
        return Err(Error::NeverClaimed {
            chunks: never_claimed,
        });
    }
    if !missing.is_empty() {
        if args.require_all {
            return Err(Error::Incomplete { missing });
        }
        reporter.warn(format!(
            "no report from {}; the report covers the shards that sent one",
            missing.join("; ")
        ));
    }
    Ok(())
}
