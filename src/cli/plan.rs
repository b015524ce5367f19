//! `planner plan`: estimates → the curve → the chosen shard count → the partition; written as
//! plan.json and matrix JSON, or previewed with --dry-run.

use std::io::Write;

use crate::Error;
use crate::plan::{ChoiceMode, Plan, SuiteSettings, plan_suite};
use crate::render::{matrix_json, preview};
use crate::timings::Millis;

use super::Reporter;
use super::args::PlanArgs;
use super::files::{append_github_output, write_atomic};
use super::history::{Loaded, load};
use super::settings::{read_options, seconds};

pub const ASSUMED_OVERHEAD: Millis = Millis(30_000);

/// The per-shard overhead: given, else measured from past runs' jobs, else assumed.
/// (value, source, how it was measured)
pub fn overhead(
    given: Option<(Millis, &str)>,
    loaded: &Loaded,
    classes: &[&str],
) -> (Millis, String, Option<String>) {
    if let Some((ms, source)) = given {
        return (ms, source.to_owned(), None);
    }
    match loaded.measured_overhead(classes) {
        Some(m) => (m.total, "measured".to_owned(), Some(m.describe())),
        None => (ASSUMED_OVERHEAD, "assumed".to_owned(), None),
    }
}

fn settings(args: &PlanArgs, loaded: &Loaded) -> Result<SuiteSettings, Error> {
    let given = match args.overhead_seconds {
        Some(s) => Some((seconds("--overhead-seconds", s)?, "flag")),
        None => None,
    };
    let (overhead, overhead_source, overhead_detail) =
        overhead(given, loaded, &[args.source.read.runner_class.as_str()]);
    let max_extra_cost = args.max_extra_cost;
    if !(max_extra_cost.is_finite() && max_extra_cost >= 0.0) {
        return Err(Error::Usage(format!(
            "--max-extra-cost: expected a percentage of 0 or more, got {max_extra_cost}"
        )));
    }
    let mode = match (args.total, args.target_seconds) {
        (Some(n), _) => ChoiceMode::Fixed {
            requested: n as usize,
        },
        (None, Some(t)) => {
            let target = seconds("--target-seconds", t)?;
            if target.0 == 0 {
                return Err(Error::Usage(
                    "--target-seconds must be more than zero".into(),
                ));
            }
            ChoiceMode::Target { target_ms: target }
        }
        (None, None) => ChoiceMode::Cost {
            max_extra_cost: max_extra_cost / 100.0,
        },
    };
    Ok(SuiteSettings {
        name: args.suite.clone(),
        granularity: read_options(args.source.input_format, &args.source.read).by,
        runner_class: args.source.read.runner_class.clone(),
        overhead,
        overhead_source,
        overhead_detail,
        mode,
        max_shards: args.max_shards as usize,
        max_extra_cost: max_extra_cost / 100.0,
    })
}

/// Writes the plan (`--out`) and the outputs, with `plan` (its path), to $GITHUB_OUTPUT.
pub fn write_outputs(
    plan: &Plan,
    args: &PlanArgs,
    mut outputs: Vec<(String, String)>,
) -> Result<(), Error> {
    let plan_json = serde_json::to_string_pretty(plan)
        .map_err(|e| Error::Internal(format!("the plan cannot be written as JSON: {e}")))?;
    if let Some(path) = &args.out {
        write_atomic(path, format!("{plan_json}\n").as_bytes())?;
        outputs.push(("plan".to_owned(), path.display().to_string()));
    }
    if args.github_output {
        append_github_output(&outputs)?;
    }
    Ok(())
}

pub fn run(args: &PlanArgs, out: &mut dyn Write, reporter: &mut Reporter) -> Result<(), Error> {
    if let Some(config) = &args.config {
        return super::plan_config::run(config, args, out, reporter);
    }
    let loaded = load(&args.source, reporter)?;
    let suite_settings = settings(args, &loaded)?;
    let suite = plan_suite(&loaded.estimates, &suite_settings);
    let stdout_err = |e| Error::io("write", "standard output", e);

    if args.dry_run {
        write!(out, "{}", preview(&suite, &loaded.sources)).map_err(stdout_err)?;
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
    let plan = Plan::new(vec![suite]);
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
