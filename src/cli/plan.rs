//! `planner plan`: estimates → the curve → the chosen shard count → the partition; written as
//! plan.json and matrix JSON, or previewed with --dry-run. One suite from the flags, or every
//! suite of a config (`--config`), each with how its shards run and numbered outputs for the
//! rendered workflow. Both go through the same settings and the same planning.

use std::io::Write;

use crate::config::Config;
use crate::plan::{LaneDecision, Plan, RunSpec, SuitePlan, plan_suite};
use crate::render::{matrix, matrix_json, preview};
use crate::timings::Estimates;

use super::Error;
use super::Reporter;
use super::args::PlanArgs;
use super::files::{append_github_output, read_config, write_json};
use super::history::load;
use super::settings::{SuiteSettingsDraft, suite_from_flags, suites_from_config};

/// Plans one suite: its history read, its overhead given or measured, its shards chosen.
fn plan_one(
    draft: &SuiteSettingsDraft,
    reporter: &mut Reporter,
) -> Result<(SuitePlan, String), Error> {
    let loaded = load(&draft.history, reporter)?;
    let hidden = loaded
        .store
        .hidden_cost(&draft.name, &draft.history.runner_class);
    let settings = draft.finish(|classes| loaded.measured_overhead(classes), hidden);
    let planned = plan_suite(&loaded.estimates, &settings);
    let super::history::Loaded {
        estimates,
        sources,
        store,
    } = loaded;
    // As `shard` does: the process ends soon, and the history's many small allocations are
    // not freed one by one.
    std::mem::forget((estimates, store));
    Ok((planned, sources))
}

/// Writes the plan (`--out`) and the outputs, with `plan` (its path) and, for a claiming plan,
/// `claim`, to $GITHUB_OUTPUT.
fn write_outputs(
    plan: &Plan,
    args: &PlanArgs,
    mut outputs: Vec<(String, String)>,
) -> Result<(), Error> {
    if plan.claim {
        outputs.push(("claim".to_owned(), "true".to_owned()));
    }
    if let Some(path) = &args.out {
        write_json(path, "the plan", plan)?;
        outputs.push(("plan".to_owned(), path.display().to_string()));
    }
    if args.github_output {
        append_github_output(&outputs)?;
    }
    Ok(())
}

fn stdout_err(e: std::io::Error) -> Error {
    Error::io("write", "standard output", e)
}

pub fn run(args: &PlanArgs, out: &mut dyn Write, reporter: &mut Reporter) -> Result<(), Error> {
    if let Some(path) = &args.config {
        let config = read_config(path)?;
        let drafts = suites_from_config(&config, path, args)?;
        let changes = super::lanes::changes(&args.lanes, path, reporter)?;
        let lanes = super::lanes::decisions(&config, &changes);
        return run_config(&config, &drafts, &lanes, args, out, reporter);
    }
    let draft = suite_from_flags(args)?;
    let (suite, sources) = plan_one(&draft, reporter)?;

    if args.dry_run {
        write!(out, "{}", preview(&suite, &sources)).map_err(stdout_err)?;
        if args.claim {
            write!(out, "{}", super::claim::preview_line(&suite)).map_err(stdout_err)?;
        }
        if args.out.is_some() || args.github_output {
            reporter.info("dry run: --out and --github-output were not written");
        }
        return Ok(());
    }

    let matrix = matrix_json(&suite);
    let outputs = vec![
        ("matrix".to_owned(), matrix.clone()),
        ("total".to_owned(), suite.shards.len().to_string()),
        ("skip".to_owned(), suite.skip.to_string()),
    ];
    let plan = Plan::new(vec![suite]).claiming(args.claim);
    write_outputs(&plan, args, outputs)?;
    writeln!(out, "{matrix}").map_err(stdout_err)?;
    if let Some(s) = plan.suites.first() {
        reporter.info(format!(
            "{} shards: {}; predicted wall {} (busiest shard {}, bound {})",
            s.shards.len(),
            s.choice.reason,
            s.predicted_wall_ms,
            s.predicted_makespan_ms,
            s.bound.ms
        ));
    }
    Ok(())
}

/// Every suite of a config into one plan, each with how its shards run.
fn run_config(
    config: &Config,
    drafts: &[SuiteSettingsDraft],
    lanes: &[Option<LaneDecision>],
    args: &PlanArgs,
    out: &mut dyn Write,
    reporter: &mut Reporter,
) -> Result<(), Error> {
    let mut suites = Vec::new();
    let mut previews = String::new();
    for ((draft, suite), lane) in drafts.iter().zip(config.suites.values()).zip(lanes) {
        // A skipped suite is planned with no items: its history is not read and its items are
        // not listed (the listing may need what only its own jobs set up).
        let (mut plan, sources) = match lane {
            Some(l) if !l.runs => (
                plan_suite(&Estimates::default(), &draft.finish(|_| None, None)),
                String::new(),
            ),
            _ => plan_one(draft, reporter)?,
        };
        plan.lane.clone_from(lane);
        plan.run = Some(RunSpec {
            runner: suite.runner,
            command: suite.command(),
            working_directory: suite.working_directory.clone(),
            junit: suite.junit(),
            runs_on: suite.runs_on(),
        });
        if args.dry_run {
            previews.push_str(&preview(&plan, &sources));
            if args.claim {
                previews.push_str(&super::claim::preview_line(&plan));
            }
            previews.push('\n');
        }
        suites.push(plan);
    }
    if args.dry_run {
        return out.write_all(previews.as_bytes()).map_err(stdout_err);
    }
    let mut outputs: Vec<(String, String)> = Vec::new();
    for (n, suite) in suites.iter().enumerate() {
        let n = n + 1;
        let matrix = matrix_json(suite);
        writeln!(out, "{matrix}").map_err(stdout_err)?;
        outputs.push((format!("matrix_{n}"), matrix));
        outputs.push((format!("total_{n}"), suite.shards.len().to_string()));
        outputs.push((format!("skip_{n}"), suite.skip.to_string()));
        reporter.info(format!(
            "suite {}: {} shards, {}; predicted wall {}",
            suite.name,
            suite.shards.len(),
            suite.choice.reason,
            suite.predicted_wall_ms
        ));
    }
    // Every suite's matrix by name, for `fromJSON(needs.plan.outputs.matrices)['unit']`.
    let matrices: serde_json::Map<String, serde_json::Value> = suites
        .iter()
        .map(|suite| {
            let m = serde_json::to_value(matrix(suite)).unwrap_or_default();
            (suite.name.clone(), m)
        })
        .collect();
    outputs.push((
        "matrices".to_owned(),
        serde_json::Value::Object(matrices).to_string(),
    ));
    write_outputs(&Plan::new(suites).claiming(args.claim), args, outputs)
}
