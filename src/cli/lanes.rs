//! Lanes at planning time: which of a config's suites the run's changes touch. The changes come
//! from a file (`--changed-files`) or from git (`--changed-since BASE`); when they cannot be
//! known, every suite runs: a lane never skips on a guess.

use std::path::Path;

use crate::config::{Config, Suite, Verdict};
use crate::plan::LaneDecision;

use super::args::LaneArgs;
use super::settings::config_base;
use super::{Error, Reporter};

/// What the planner knows of the run's changes.
pub enum Changes {
    /// Not asked: no lane decides anything.
    NotGiven,
    /// Every suite runs, for this reason.
    RunAll(String),
    /// These files changed, repository-relative.
    Files(Vec<String>),
}

/// A commit that is not one: the `before` of a branch's first push.
fn is_null_commit(base: &str) -> bool {
    !base.is_empty() && base.bytes().all(|b| b == b'0')
}

/// The files changed since `base`, as git lists them from the repository holding `dir`; a
/// renamed file counts under both names.
fn git_changes(dir: &Path, base: &str) -> Result<Vec<String>, String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })
        .args(["diff", "--name-only", "--no-renames", "-z"])
        .arg(format!("{base}...HEAD"))
        .arg("--")
        .output()
        .map_err(|e| format!("git could not be run: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let first = err.lines().next().unwrap_or("").trim();
        return Err(format!(
            "`git diff {base}...HEAD` failed ({}): {first}",
            out.status
        ));
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|f| !f.is_empty())
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect())
}

/// The changes the flags give.
pub fn changes(
    args: &LaneArgs,
    config_path: &Path,
    reporter: &mut Reporter,
) -> Result<Changes, Error> {
    if args.never_skip {
        return Ok(Changes::RunAll("--never-skip".into()));
    }
    if let Some(path) = &args.changed_files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("read the changed files", path, e))?;
        let files = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        return Ok(Changes::Files(files));
    }
    let Some(base) = args.changed_since.as_deref() else {
        return Ok(Changes::NotGiven);
    };
    if is_null_commit(base) {
        return Ok(Changes::RunAll(
            "no base commit to compare with (a branch's first push)".into(),
        ));
    }
    match git_changes(&config_base(config_path), base) {
        Ok(files) => Ok(Changes::Files(files)),
        Err(why) => {
            reporter.warn(format!(
                "the changes could not be listed, so every suite runs: {why}"
            ));
            Ok(Changes::RunAll(format!(
                "the changes could not be listed ({why})"
            )))
        }
    }
}

/// Whether the suite runs, and why; none when no changes were given.
pub fn decide(suite: &Suite, changes: &Changes) -> Option<LaneDecision> {
    let runs = |reason: String| Some(LaneDecision { runs: true, reason });
    // The config was checked when it was read.
    let lane = suite.lane().ok().flatten();
    match (changes, lane) {
        (Changes::NotGiven, _) => None,
        (_, None) => runs("it names no paths, so every change runs it".into()),
        (Changes::RunAll(why), Some(_)) => runs(format!("{why}: every suite runs")),
        (Changes::Files(files), Some(lane)) => match lane.verdict(files.iter().map(String::as_str))
        {
            Verdict::Runs(file) => runs(format!(
                "{file} changed, which runs it ({})",
                lane.describe()
            )),
            Verdict::Skips(n) => Some(LaneDecision {
                runs: false,
                reason: match n {
                    0 => format!("no file changed ({})", lane.describe()),
                    1 => format!("the one changed file does not run it ({})", lane.describe()),
                    n => format!(
                        "none of the {n} changed files runs it ({})",
                        lane.describe()
                    ),
                },
            }),
        },
    }
}

/// Every suite's decision, in the config's order.
pub fn decisions(config: &Config, changes: &Changes) -> Vec<Option<LaneDecision>> {
    config.suites.values().map(|s| decide(s, changes)).collect()
}
