//! `planner shard`: the items of shard K of N, from a pinned plan or recomputed from the same
//! inputs by the same function. Output is in id order, so it is byte-identical on every runner.

use std::io::Write;

use serde::Serialize;

use super::Error;
use crate::plan::{RunSpec, ShardIndex, assign};
use crate::report::ClaimCost;
use crate::runner::{
    PYTEST_PLUGIN, Runner, one_line_each, runner_args, runs_pytest_directly, shell_quote,
};
use crate::timings::{ItemId, Micros};

use super::Reporter;
use super::args::{ShardArgs, ShardFormat};
use super::history::load;
use super::settings::{SettingError, history};

#[derive(Serialize)]
struct ShardJson<'a> {
    suite: &'a str,
    index: u32,
    total: u32,
    estimate_ms: Micros,
    items: Vec<&'a ItemId>,
}

/// What a runner's format prints: one argument per line, or for `go test` one shell-quoted
/// argument list per line.
fn runner_text(
    runner: Runner,
    items: &[ItemId],
    suite: &[ItemId],
    shard: ShardIndex,
) -> Result<String, Error> {
    let invocations =
        runner_args(runner, items, suite).map_err(|source| Error::Adapter { shard, source })?;
    let mut buf = String::new();
    for inv in invocations {
        if runner == Runner::Go {
            let words: Vec<String> = inv.iter().map(|w| shell_quote(w)).collect();
            buf.push_str(&words.join(" "));
            buf.push('\n');
        } else {
            for arg in inv {
                buf.push_str(&arg);
                buf.push('\n');
            }
        }
    }
    Ok(buf)
}

/// Items printed one to a line, or all on one, must hold no line break.
pub(super) fn no_line_breaks(
    items: &[ItemId],
    shard: ShardIndex,
    form: &'static str,
) -> Result<(), Error> {
    one_line_each(items, form).map_err(|source| Error::Adapter { shard, source })
}

/// The items one to a line (`form` names the output, should an id hold a line break).
pub(super) fn write_lines(
    out: &mut dyn Write,
    items: &[ItemId],
    index: ShardIndex,
    form: &'static str,
) -> Result<(), Error> {
    no_line_breaks(items, index, form)?;
    let mut buf = String::new();
    for id in items {
        buf.push_str(id.as_str());
        buf.push('\n');
    }
    out.write_all(buf.as_bytes())
        .map_err(|e| Error::io("write", "standard output", e))
}

/// A chunk's mark in the names of what its run leaves (`-c3`), none for a whole shard or head.
fn chunk_tag(chunk: Option<usize>) -> String {
    chunk.map(|c| format!("-c{c}")).unwrap_or_default()
}

/// One run of the suite's command over some of a shard's items: its whole shard, its head, or
/// one claimed chunk (`part`), the JUnit report(s) it wrote copied under a name of its own.
pub(super) struct Part<'a> {
    pub spec: &'a RunSpec,
    /// Every item of the suite, which a runner that matches by substring must be told to leave.
    pub suite: &'a [ItemId],
    pub index: ShardIndex,
    /// `None` for a whole static shard or a head; a chunk's number for a claimed chunk.
    pub chunk: Option<usize>,
    pub junit_to: Option<&'a std::path::Path>,
    /// Variables the command must not see (the claiming token).
    pub hide_env: &'a [String],
}

/// Runs `part` over `items`: the exit status of the first invocation that failed, if one did,
/// and the wall time.
pub(super) fn exec_part(
    part: &Part<'_>,
    items: &[ItemId],
    reporter: &mut Reporter,
) -> Result<(Option<std::process::ExitStatus>, std::time::Duration), Error> {
    let (spec, index) = (part.spec, part.index);
    let mut invocations =
        runner_args(spec.runner, items, part.suite).map_err(|source| Error::Adapter {
            shard: index,
            source,
        })?;
    if invocations.is_empty() {
        return Ok((None, std::time::Duration::ZERO));
    }
    let dir = std::path::PathBuf::from(spec.working_directory.as_deref().unwrap_or("."));
    // pytest itself gets the shard through the planner's plugin, as the pytest workflow does:
    // it collects as usual and keeps the shard's tests.
    let plugin = if spec.runner == Runner::Pytest && runs_pytest_directly(&spec.command) {
        let folder = PluginFolder::new(index, part.chunk, items)?;
        invocations = vec![vec![
            "-p".to_owned(),
            "planner_select".to_owned(),
            format!("--planner-items={}", folder.items.display()),
        ]];
        Some(folder)
    } else {
        None
    };
    let mut failed = None;
    let started = std::time::Instant::now();
    for inv in invocations {
        // The command is the config's, run by the shell as written; the arguments are passed
        // as arguments, never through the shell's parser.
        let shell = if cfg!(windows) { "bash" } else { "sh" };
        let mut command = std::process::Command::new(shell);
        command
            .arg("-c")
            .arg(format!("{} \"$@\"", spec.command))
            .arg("planner-shard")
            .args(&inv)
            .current_dir(&dir);
        for name in part.hide_env {
            command.env_remove(name);
        }
        if let Some(p) = &plugin {
            command.env("PYTHONPATH", p.python_path());
        }
        let status = command
            .status()
            .map_err(|e| Error::io("run the suite's command in", &dir, e))?;
        if !status.success() && failed.is_none() {
            failed = Some(status);
        }
    }
    let wall = started.elapsed();
    if let (Some(to), Some(junit)) = (part.junit_to, &spec.junit) {
        collect_junit(&dir, junit, to, index, part.chunk, reporter)?;
    }
    Ok((failed, wall))
}

/// The process's wall time beside its reports: `report` learns from it what the suite costs
/// beyond its tests' own times. With `claims`, the chunks a claiming shard ran and the requests
/// it made.
pub(super) fn write_process_timing(
    to: &std::path::Path,
    suite: &str,
    index: ShardIndex,
    wall: std::time::Duration,
    claims: Option<(&[usize], ClaimCost)>,
) -> Result<(), Error> {
    let mut timing = serde_json::json!({
        "suite": suite,
        "index": index.get(),
        "wall_ms": Micros::of(wall),
    });
    if let Some((chunks, cost)) = claims {
        timing["chunks"] = serde_json::json!(chunks);
        timing["requests"] = serde_json::json!(cost.requests);
        timing["claim_wait_ms"] = serde_json::json!(cost.wait);
    }
    let path = to.join(format!(
        "shard-{}-{}",
        index.get(),
        crate::timings::formats::PROCESS_TIMING_SUFFIX
    ));
    std::fs::create_dir_all(to).map_err(|e| Error::io("create", to, e))?;
    std::fs::write(&path, format!("{timing}\n")).map_err(|e| Error::io("write", &path, e))
}

/// Runs the suite's command with the shard's arguments, then collects its JUnit.
fn exec(
    suite: &str,
    spec: &RunSpec,
    items: &[ItemId],
    every: &[ItemId],
    index: ShardIndex,
    junit_to: Option<&std::path::Path>,
    reporter: &mut Reporter,
) -> Result<(), Error> {
    if items.is_empty() {
        reporter.info(format!("shard {index} has nothing to run"));
        return Ok(());
    }
    let part = Part {
        spec,
        suite: every,
        index,
        chunk: None,
        junit_to,
        hide_env: &[],
    };
    let (failed, wall) = exec_part(&part, items, reporter)?;
    if let (Some(to), Some(_)) = (junit_to, &spec.junit) {
        write_process_timing(to, suite, index, wall, None)?;
    }
    tests_outcome(failed, index, spec)
}

/// A folder of its own for one `--exec` of pytest: the plugin and the shard's items, removed
/// when done.
struct PluginFolder {
    dir: std::path::PathBuf,
    items: std::path::PathBuf,
}

impl PluginFolder {
    fn new(index: ShardIndex, chunk: Option<usize>, items: &[ItemId]) -> Result<Self, Error> {
        let dir = std::env::temp_dir().join(format!(
            "planner-pytest-{}-{}{}",
            std::process::id(),
            index.get(),
            chunk_tag(chunk)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        let folder = PluginFolder {
            items: dir.join("items.txt"),
            dir,
        };
        let plugin = folder.dir.join("planner_select.py");
        std::fs::write(&plugin, PYTEST_PLUGIN).map_err(|e| Error::io("write", &plugin, e))?;
        let mut list = String::new();
        for id in items {
            list.push_str(id.as_str());
            list.push('\n');
        }
        std::fs::write(&folder.items, list).map_err(|e| Error::io("write", &folder.items, e))?;
        Ok(folder)
    }

    /// The plugin's folder before whatever `PYTHONPATH` held.
    fn python_path(&self) -> std::ffi::OsString {
        let mut path = self.dir.clone().into_os_string();
        if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
            path.push(if cfg!(windows) { ";" } else { ":" });
            path.push(old);
        }
        path
    }
}

impl Drop for PluginFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Copies the report(s) a runner wrote (a file, a directory's XML files, or a glob) into `to`,
/// each name prefixed with the shard so that shards' reports never collide.
fn collect_junit(
    dir: &std::path::Path,
    junit: &str,
    to: &std::path::Path,
    index: ShardIndex,
    chunk: Option<usize>,
    reporter: &mut Reporter,
) -> Result<(), Error> {
    let full = dir.join(junit);
    let files: Vec<std::path::PathBuf> = if full.is_dir() {
        std::fs::read_dir(&full)
            .map_err(|e| Error::io("read", &full, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .collect()
    } else if full.is_file() {
        vec![full.clone()]
    } else {
        glob::glob(&full.display().to_string())
            .map(|g| g.filter_map(Result::ok).collect())
            .unwrap_or_default()
    };
    if files.is_empty() {
        reporter.warn(format!(
            "no JUnit report at {}: the report will miss this shard",
            full.display()
        ));
        return Ok(());
    }
    std::fs::create_dir_all(to).map_err(|e| Error::io("create", to, e))?;
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dest = to.join(format!("shard-{}{}-{name}", index.get(), chunk_tag(chunk)));
        std::fs::copy(&f, &dest).map_err(|e| Error::io("copy the JUnit report to", &dest, e))?;
    }
    Ok(())
}

/// The suite of a pinned plan that `--suite` names, checked against `--total`.
pub(super) fn planned_suite<'p>(
    plan: &'p crate::plan::Plan,
    path: &std::path::Path,
    args: &ShardArgs,
) -> Result<&'p crate::plan::SuitePlan, Error> {
    let Some(suite) = plan.suite(args.suite.as_deref()) else {
        let names: Vec<&str> = plan.suites.iter().map(|s| s.name.as_str()).collect();
        return Err(SettingError::flag(
            "--suite",
            format!(
                "{}: {} (suites in the plan: {})",
                path.display(),
                match &args.suite {
                    Some(s) => format!("no suite `{s}`"),
                    None => "several suites; choose one with --suite".into(),
                },
                names.join(", ")
            ),
        )
        .into());
    };
    if suite.shards.len() != args.total as usize {
        return Err(SettingError::flag(
            "--total",
            format!(
                "{}: suite `{}` was planned with {} shards, but --total is {}; pass the matrix's `total`",
                path.display(),
                suite.name,
                suite.shards.len(),
                args.total
            ),
        )
        .into());
    }
    Ok(suite)
}

/// The shard's `items` that did not pass in the earlier reports at `paths` (`by`: what the items
/// are; unknown for a shard recomputed from history, whose items are tests when any is one):
/// those that failed, and those no report holds. No report at all: every item.
fn rerun_items(
    paths: &[String],
    items: Vec<ItemId>,
    by: Option<crate::timings::formats::Granularity>,
    index: ShardIndex,
    reporter: &mut Reporter,
) -> Result<Vec<ItemId>, Error> {
    use crate::timings::formats::{Granularity, final_outcomes, settled_items};
    let present: Vec<String> = paths
        .iter()
        .filter(|p| std::path::Path::new(p).exists())
        .cloned()
        .collect();
    let reports = super::files::read_junit_reports(&present)?;
    if reports.is_empty() {
        reporter.info(format!(
            "shard {index}: no earlier report at {}: the whole shard runs",
            paths.join(", ")
        ));
        return Ok(items);
    }
    let by = by.unwrap_or(
        if items.iter().any(|i| crate::timings::is_test_id(i.as_str())) {
            Granularity::Test
        } else {
            Granularity::File
        },
    );
    let views: Vec<(&std::path::Path, &crate::timings::formats::JunitSummary)> = reports
        .iter()
        .map(|r| (r.path.as_path(), &r.summary))
        .collect();
    let settled = settled_items(&final_outcomes(&views), by);
    let all = items.len();
    let again: Vec<ItemId> = items
        .into_iter()
        .filter(|i| !settled.contains(i.as_str()))
        .collect();
    reporter.info(format!(
        "shard {index}: a re-run: {} of its {all} items did not pass in the {} earlier report(s), and run again",
        again.len(),
        reports.len()
    ));
    Ok(again)
}

/// A shard: its suite's name, its items, every item of the suite (only where a runner that
/// matches by substring needs them), its estimate and how to run it when the plan says.
type ShardOf = (String, Vec<ItemId>, Vec<ItemId>, Micros, Option<RunSpec>);

/// Whether the shard's runner needs every item of the suite (vitest, told which files to leave):
/// a million ids are not copied for the runners that do not.
fn needs_suite(args: &ShardArgs, spec: Option<&RunSpec>) -> bool {
    matches!(args.format, ShardFormat::Runner(Runner::Vitest))
        || (args.exec && spec.is_some_and(|s| s.runner == Runner::Vitest))
}

/// The shard as a pinned plan has it, with how to run it when the plan says.
fn from_plan(
    plan: &crate::plan::Plan,
    path: &std::path::Path,
    args: &ShardArgs,
    index: ShardIndex,
) -> Result<ShardOf, Error> {
    let suite = planned_suite(plan, path, args)?;
    let shard = suite.shard(index).ok_or_else(|| Error::InvalidInput {
        path: path.to_owned(),
        message: format!(
            "suite `{}` has no shard {index} among its {} shards",
            suite.name,
            suite.shards.len()
        ),
    })?;
    Ok((
        suite.name.clone(),
        shard.items.iter().map(|i| i.id.clone()).collect(),
        if needs_suite(args, suite.run.as_ref()) {
            suite
                .shards
                .iter()
                .flat_map(|s| s.items.iter().map(|i| i.id.clone()))
                .collect()
        } else {
            Vec::new()
        },
        shard.estimate_ms,
        suite.run.clone(),
    ))
}

/// How to run a suite, which `--exec` needs: a plan made with `--config` says.
pub(super) fn spec_of<'a>(spec: Option<&'a RunSpec>, suite: &str) -> Result<&'a RunSpec, Error> {
    spec.ok_or_else(|| {
        SettingError::flag(
            "--exec",
            format!(
                "suite `{suite}` of the plan does not say how to run it; plan it with `planner plan --config`"
            ),
        )
        .into()
    })
}

/// `--index` within `--total`.
pub(super) fn index_of(args: &ShardArgs) -> Result<ShardIndex, Error> {
    ShardIndex::new(args.index, args.total).ok_or_else(|| {
        SettingError::flag(
            "--index",
            format!(
                "{} is out of range for --total {}: shards are numbered 1 to {}",
                args.index, args.total, args.total
            ),
        )
        .into()
    })
}

/// The error of a run whose command failed, if one did.
pub(super) fn tests_outcome(
    failed: Option<std::process::ExitStatus>,
    index: ShardIndex,
    spec: &RunSpec,
) -> Result<(), Error> {
    match failed {
        Some(status) => Err(Error::TestsFailed {
            shard: index,
            command: spec.command.clone(),
            status,
        }),
        None => Ok(()),
    }
}

/// A shard of a static plan (`plan`, read from `--plan`), or recomputed from the history.
pub fn run(
    args: &ShardArgs,
    plan: Option<&crate::plan::Plan>,
    out: &mut dyn Write,
    reporter: &mut Reporter,
) -> Result<(), Error> {
    let index = index_of(args)?;
    if args.claim.next {
        return Err(SettingError::flag(
            "--next",
            "the plan is static: its shards claim nothing (make it with `planner plan --claim`)",
        )
        .into());
    }
    let (suite_name, items, every, estimate, spec) =
        if let (Some(plan), Some(path)) = (plan, &args.plan) {
            from_plan(plan, path, args, index)?
        } else {
            let loaded = load(&history(&args.source)?, reporter)?;
            let (ids, _, a) = assign(&loaded.estimates, args.total as usize);
            let k = index.zero_based();
            let items: Vec<ItemId> = a.items_of(k).map(|i| ids[i].clone()).collect();
            let every = if needs_suite(args, None) {
                ids.into_iter().cloned().collect()
            } else {
                Vec::new()
            };
            let estimate = a.loads.get(k).copied().unwrap_or_default();
            // The history is not needed past here, and the process ends soon: freeing its tens
            // of thousands of small allocations one by one cost a tenth of the command.
            std::mem::forget(loaded);
            (
                args.suite.clone().unwrap_or_else(|| "default".into()),
                items,
                every,
                estimate,
                None,
            )
        };
    let by = plan
        .and_then(|p| p.suite(Some(&suite_name)))
        .map(|s| s.granularity);
    let items = if args.rerun_failed.is_empty() {
        items
    } else {
        rerun_items(&args.rerun_failed, items, by, index, reporter)?
    };
    let write_err = |e| Error::io("write", "standard output", e);
    if args.exec {
        let spec = spec_of(spec.as_ref(), &suite_name)?;
        return exec(
            &suite_name,
            spec,
            &items,
            &every,
            index,
            args.junit_to.as_deref(),
            reporter,
        );
    }
    match args.format {
        ShardFormat::Runner(runner) => {
            let text = runner_text(runner, &items, &every, index)?;
            out.write_all(text.as_bytes()).map_err(write_err)?;
        }
        ShardFormat::Lines => {
            write_lines(out, &items, index, "--format lines (use --format json)")?;
        }
        ShardFormat::Json => {
            let json = serde_json::to_string(&ShardJson {
                suite: &suite_name,
                index: index.get(),
                total: args.total,
                estimate_ms: estimate,
                items: items.iter().collect(),
            })
            .map_err(|source| Error::Json {
                what: "the shard",
                source,
            })?;
            writeln!(out, "{json}").map_err(write_err)?;
        }
        ShardFormat::Shell => {
            // A quoted line break would still break the line, and the next could be read as a
            // workflow command.
            no_line_breaks(&items, index, "--format shell (use --format json)")?;
            let words: Vec<String> = items.iter().map(|i| shell_quote(i.as_str())).collect();
            if !words.is_empty() {
                writeln!(out, "{}", words.join(" ")).map_err(write_err)?;
            }
        }
    }
    Ok(())
}
