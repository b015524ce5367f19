//! `planner plan --config`: every suite of a config file planned into one plan, each with how
//! its shards run, and numbered outputs for the rendered workflow.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::config::{Config, Items, Suite};
use crate::plan::{ChoiceMode, Plan, RunSpec, SuitePlan, SuiteSettings, plan_suite};
use crate::render::{matrix_json, preview};
use crate::timings::ItemId;
use crate::timings::formats::Granularity;

use super::Reporter;
use super::args::{ByArg, PlanArgs};
use super::files::parse_items;
use super::history::load_listed;
use super::plan::{overhead, write_outputs};
use super::settings::seconds;

pub fn read_config(path: &Path) -> Result<Config, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    Config::parse(&text, path).map_err(|e| Error::InvalidInput {
        path: path.to_owned(),
        message: match e {
            crate::config::ConfigError::Parse { message, .. } => message,
            crate::config::ConfigError::Field { field, message, .. } => {
                format!("{field}: {message}")
            }
        },
    })
}

/// The items a suite lists: its glob expanded (sorted), or its command's lines.
fn list_items(name: &str, suite: &Suite) -> Result<Option<Vec<ItemId>>, Error> {
    let dir = PathBuf::from(suite.working_directory.as_deref().unwrap_or("."));
    match &suite.items {
        None => Ok(None),
        Some(Items::Glob(pattern)) => {
            let full = dir.join(pattern).display().to_string();
            let paths = glob::glob(&full)
                .map_err(|e| Error::Usage(format!("suites.{name}.items.glob: `{pattern}`: {e}")))?;
            let mut items: Vec<String> = paths
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .filter_map(|p| {
                    p.strip_prefix(&dir)
                        .ok()
                        .map(|r| r.to_string_lossy().replace('\\', "/"))
                })
                .collect();
            items.sort();
            items.dedup();
            Ok(Some(items.into_iter().map(ItemId::new).collect()))
        }
        Some(Items::Command(command)) => {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(&dir)
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| Error::io("run the items command of", format!("suite {name}"), e))?;
            if !out.status.success() {
                return Err(Error::Usage(format!(
                    "suites.{name}.items.command failed ({}): `{command}`",
                    out.status
                )));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            parse_items(Path::new(&format!("items of suite {name}")), &text).map(Some)
        }
    }
}

fn suite_plan(
    name: &str,
    suite: &Suite,
    config: &Config,
    args: &PlanArgs,
    reporter: &mut Reporter,
) -> Result<(SuitePlan, String), Error> {
    let mut source = args.source.clone();
    source.timings = config
        .timings
        .iter()
        .chain(&suite.timings)
        .chain(&args.source.timings)
        .cloned()
        .collect();
    source.items = None;
    source.allow_empty = true;
    source.read.by = match suite.by {
        Granularity::Test => ByArg::Test,
        Granularity::File => ByArg::File,
        Granularity::Class => ByArg::Class,
    };
    let listed = list_items(name, suite)?;
    let loaded = load_listed(&source, listed, reporter)?;
    let given = match suite.overhead_seconds {
        Some(s) => Some((seconds("overhead-seconds", s)?, "config")),
        None => None,
    };
    // Jobs fetched from the API are classed by their labels, joined as `timings fetch` joins them.
    let runs_on = match suite.runs_on() {
        serde_json::Value::Array(labels) => labels
            .iter()
            .filter_map(serde_json::Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        v => v.as_str().unwrap_or_default().to_owned(),
    };
    let (overhead, overhead_source, overhead_detail) = overhead(
        given,
        &loaded,
        &[runs_on.as_str(), source.read.runner_class.as_str()],
    );
    let max_extra_cost = args.max_extra_cost / 100.0;
    let mode = match suite.target_seconds {
        Some(t) => ChoiceMode::Target {
            target_ms: seconds("target-seconds", t)?,
        },
        None => ChoiceMode::Cost { max_extra_cost },
    };
    let settings = SuiteSettings {
        name: name.to_owned(),
        granularity: suite.by,
        runner_class: source.read.runner_class.clone(),
        overhead,
        overhead_source,
        overhead_detail,
        mode,
        max_shards: suite.max_shards as usize,
        max_extra_cost,
    };
    let mut plan = plan_suite(&loaded.estimates, &settings);
    plan.run = Some(RunSpec {
        runner: suite.runner,
        command: suite.command(),
        working_directory: suite.working_directory.clone(),
        junit: suite.junit(),
        runs_on: suite.runs_on(),
    });
    Ok((plan, loaded.sources))
}

pub fn run(
    path: &Path,
    args: &PlanArgs,
    out: &mut dyn Write,
    reporter: &mut Reporter,
) -> Result<(), Error> {
    let config = read_config(path)?;
    let mut suites = Vec::new();
    let mut previews = String::new();
    for (name, suite) in &config.suites {
        let (plan, sources) = suite_plan(name, suite, &config, args, reporter)?;
        if args.dry_run {
            previews.push_str(&preview(&plan, &sources));
            previews.push('\n');
        }
        suites.push(plan);
    }
    let stdout_err = |e| Error::io("write", "standard output", e);
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
            let m = serde_json::to_value(crate::render::matrix(suite)).unwrap_or_default();
            (suite.name.clone(), m)
        })
        .collect();
    outputs.push((
        "matrices".to_owned(),
        serde_json::Value::Object(matrices).to_string(),
    ));
    write_outputs(&Plan::new(suites), args, outputs)
}
