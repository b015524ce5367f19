//! `planner timings fetch`: a workflow's past runs, read from the GitHub API, added to a store as
//! job timings and start-up overhead. Incremental; a failure keeps the store as it was, or adds
//! only the runs read whole before it.

use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

use super::Error;
use crate::github::actions::{append_summary, in_actions};
use crate::github::api::{
    ApiError, Attempts, Client, ClientSettings, ClientStats, Fetched, FetchedRun, JobOptions,
    Progress, RunQuery, Tally, fetch, observe_run,
};
use crate::timings::{MergeOutcome, Store};

use super::Reporter;
use super::api::{block_on, parse_repo, settings};
use super::args::{AttemptsArg, FetchArgs};
use super::files::{UpdateOptions, Updated, open_store, update_store, write_json};
use super::settings::{SettingError, retire_after};

fn query(args: &FetchArgs) -> Result<RunQuery, Error> {
    let (owner, repo) = parse_repo(&args.repo)?;
    if args.workflow.trim().is_empty() {
        return Err(SettingError::flag(
            "--workflow",
            "expected a workflow file name (ci.yml) or id",
        )
        .into());
    }
    Ok(RunQuery {
        owner,
        repo,
        workflow: args.workflow.clone(),
        branch: args.branch.clone(),
        event: args.event.clone(),
        status: args.status.clone(),
        since: args.since,
        runs: args.runs as usize,
        attempts: match args.attempts {
            AttemptsArg::Latest => Attempts::Latest,
            AttemptsArg::All => Attempts::All,
        },
    })
}

fn progress_bar(reporter: &Reporter) -> indicatif::ProgressBar {
    if !reporter.shows_progress() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("listing runs");
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn on_progress(bar: &indicatif::ProgressBar, p: Progress) {
    match p {
        Progress::Listed(n) => {
            bar.set_length(n as u64);
            bar.set_position(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} runs {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message("reading jobs");
        }
        Progress::RunDone => bar.inc(1),
    }
}

/// Lists the runs and reads the jobs of those not in `store`, with a progress bar on a terminal.
fn read_runs(
    settings: ClientSettings,
    query: &RunQuery,
    store: &Store,
    reporter: &mut Reporter,
) -> Result<(Fetched, ClientStats), Error> {
    let bar = progress_bar(reporter);
    let (fetched, stats) = block_on(async {
        let mut client = Client::new(settings)?;
        let known = |id, attempt| store.has_run(id, attempt);
        let fetched = fetch(&mut client, query, &known, &mut |p| on_progress(&bar, p)).await;
        Ok::<_, Error>((fetched, client.stats))
    })??;
    bar.finish_and_clear();
    for event in &stats.events {
        reporter.info(event);
    }
    Ok((fetched, stats))
}

pub fn run(args: &FetchArgs, out: &mut dyn Write, reporter: &mut Reporter) -> Result<(), Error> {
    let query = query(args)?;
    let settings = settings(&args.api, out, reporter)?;
    // Read once to know which runs it has; added to under its lock once the runs are read.
    let known_store = open_store(&args.out, args.force, reporter)?.unwrap_or_default();

    let (fetched, stats) = read_runs(settings, &query, &known_store, reporter)?;
    let repo = format!("{}/{}", query.owner, query.repo);
    let opts = JobOptions {
        include_failed: args.include_failed,
        setup_steps: args.setup_step.clone(),
    };
    // Oldest first, so that the store's order is the runs' order.
    let mut runs: Vec<&FetchedRun> = fetched.runs.iter().collect();
    runs.sort_by_key(|r| (r.run.created_at, r.run.id));
    let mut tally = Tally::default();
    let mut observed = Vec::new();
    for run in &runs {
        let known = |id, attempt| known_store.has_run(id, attempt);
        observed.extend(observe_run(&repo, run, &opts, &known, &mut tally));
    }
    if let Some(path) = &args.records {
        write_json(path, "the records", &runs)?;
    }
    // A fetch that read nothing creates no empty store.
    let opts = UpdateOptions {
        keep: args.keep,
        force: args.force,
        create_empty: false,
        retire_after: retire_after(args.retire_after),
    };
    let (merged, Updated { store, wrote }) =
        update_store(&args.out, opts, reporter, |store, _| {
            let mut merged = MergeOutcome::default();
            for o in &observed {
                merged += store.merge(o);
            }
            merged
        })?;
    reporter.info(format!(
        "{repo} {}: {} runs listed, {} already in the store, {} read ({} requests); {} jobs: {} timed, {} failed, {} not run, {} unfinished, {} without times; start-up measured on {} jobs",
        query.workflow,
        fetched.listed,
        fetched.known,
        fetched.runs.len(),
        stats.requests,
        tally.jobs - tally.known,
        tally.timed,
        tally.failed,
        tally.not_run,
        tally.unfinished,
        tally.no_times,
        tally.startups
    ));
    if wrote {
        reporter.info(format!(
            "{}: {} samples added, {} new jobs; {} items, {} samples in all",
            args.out.display(),
            merged.samples_added,
            merged.new_items,
            store.item_count(),
            store.sample_count()
        ));
    }
    if in_actions()
        && let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY")
    {
        let text = summary(&repo, &query.workflow, &fetched, &tally, &store);
        append_summary(std::path::Path::new(&path), &reporter.redact(&text))
            .map_err(|e| Error::io("append to", path, e))?;
    }
    finish(fetched.stopped, fetched.runs.len(), &args.out, reporter)
}

/// A fetch that stopped early: a rate limit is a warning (what was read is kept, the next fetch
/// goes on from there); anything else is an error (exit code 7) that says what was kept.
fn finish(
    stopped: Option<ApiError>,
    runs_read: usize,
    out: &std::path::Path,
    reporter: &mut Reporter,
) -> Result<(), Error> {
    match stopped {
        None => Ok(()),
        Some(e) if e.is_rate_limit() => {
            reporter.warn(format!(
                "{e}; stopped with the {runs_read} runs read so far (run the fetch again later for the rest)"
            ));
            Ok(())
        }
        Some(e) => {
            let kept = if runs_read == 0 {
                format!("{} was left as it was", out.display())
            } else {
                format!(
                    "the {runs_read} runs read whole before it were added to {}",
                    out.display()
                )
            };
            Err(Error::FetchStopped { kept, source: e })
        }
    }
}

/// The step summary of a fetch: what was read, and the overhead `plan` will now use.
fn summary(repo: &str, workflow: &str, fetched: &Fetched, tally: &Tally, store: &Store) -> String {
    let mut s = format!("### Timings fetched: `{repo}` `{workflow}`\n\n");
    s.push_str(
        "| runs listed | already known | read | jobs timed | failed | not run | unfinished |\n",
    );
    s.push_str("|---:|---:|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} | {} | {} |\n",
        fetched.listed,
        fetched.known,
        fetched.runs.len(),
        tally.timed,
        tally.failed,
        tally.not_run,
        tally.unfinished
    );
    if !store.overheads.is_empty() {
        s.push_str("| runner class | start-up per job (median: queue + set-up) | jobs |\n|---|---:|---:|\n");
        for class in store.overheads.keys() {
            if let Some(m) = store.measured_overhead(&[class.as_str()]) {
                let _ = writeln!(
                    s,
                    "| `{class}` | {} ({} + {}) | {} |",
                    m.total, m.queue, m.setup, m.jobs
                );
            }
        }
        s.push('\n');
    }
    s
}
