//! Failed shards re-run: real suites (pytest, cargo-nextest) with a test that fails on its first
//! run only and one that always fails, run as a workflow's attempt 1 and attempt 2 (the failed
//! shards only, each given its attempt-1 JUnit), then reported from both attempts.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::{run, tmp, write};

/// A copy of a fixture project, so that what its tests leave behind stays out of the tree.
pub fn copy_project(name: &str, to: &Path) {
    let ok = Command::new("cp")
        .arg("-r")
        .arg(super::fixture(&format!("projects/{name}")))
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(ok.success());
}

/// A plan of `listed` (one item a line) in `total` shards, at `d/plan.json`.
fn plan_of(d: &Path, listed: &str, total: u32) -> PathBuf {
    let plan = d.join("plan.json");
    super::report::plan_from("--items", &write(d, "items.txt", listed), total, &plan);
    plan
}

/// The shard's items as `planner shard` prints them, into `file`, with `extra` flags.
fn shard_items(plan: &Path, k: u32, total: u32, extra: &[&str], file: &Path) -> Vec<String> {
    let (k, total) = (k.to_string(), total.to_string());
    let plan = plan.display().to_string();
    let mut args = vec!["shard", "--plan", &plan, "--index", &k, "--total", &total];
    args.extend(extra);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    std::fs::write(file, &out).expect("items file");
    out.lines().map(str::to_owned).collect()
}

/// Each attempt-1 shard's items, and what each attempt-2 shard ran with whether it passed.
type Attempts = (Vec<Vec<String>>, Vec<(Vec<String>, bool)>);

/// Attempt 1 runs every shard of `plan` (`run_shard(items file, JUnit folder)` runs one and says
/// whether it passed); attempt 2 runs the shards that failed, each with `--rerun-failed` and its
/// attempt-1 JUnit, and `format`. Returns the shards' items of attempt 1, and what attempt 2 ran
/// (`planner shard`'s lines) with whether each of its shards passed.
fn two_attempts(
    d: &Path,
    plan: &Path,
    total: u32,
    format: &[&str],
    run_shard: &dyn Fn(&Path, &Path) -> bool,
) -> Attempts {
    let attempt = |n: u32, k: u32, extra: &[&str]| -> (bool, Vec<String>) {
        let junit = d.join(format!("attempt-{n}/shard-{k}"));
        std::fs::create_dir_all(&junit).expect("folder");
        let file = d.join(format!("items-{n}-{k}.txt"));
        let mut flags = format.to_vec();
        flags.extend(extra);
        let mine = shard_items(plan, k, total, &flags, &file);
        (run_shard(&file, &junit), mine)
    };
    let first: Vec<(bool, Vec<String>)> = (1..=total).map(|k| attempt(1, k, &[])).collect();
    // A re-run comes later: its reports must not stretch the shards' timeline.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let mut second = Vec::new();
    for k in 1..=total {
        if first[k as usize - 1].0 {
            continue;
        }
        let earlier = d.join(format!("attempt-1/shard-{k}")).display().to_string();
        let (ok, mine) = attempt(2, k, &["--rerun-failed", &earlier]);
        second.push((mine, ok));
    }
    (first.into_iter().map(|(_, items)| items).collect(), second)
}

/// `planner report` of the attempts up to `upto` (`d/attempt-N`): the suite's JSON, the text it
/// printed, and the summary's failures section.
fn report_of_attempts(d: &Path, plan: &Path, upto: u32) -> (Value, String, String) {
    let json = d.join("report.json");
    let summary = d.join("summary.md");
    let mut args: Vec<String> = ["report", "--plan", &plan.display().to_string()]
        .map(str::to_owned)
        .to_vec();
    for n in 1..=upto {
        let attempt = d.join(format!("attempt-{n}"));
        if attempt.exists() {
            args.extend(["--junit".to_owned(), attempt.display().to_string()]);
        }
    }
    for (flag, path) in [("--json", &json), ("--summary", &summary)] {
        args.extend([flag.to_owned(), path.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, text, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("JSON");
    let md = std::fs::read_to_string(&summary).expect("summary");
    std::fs::remove_file(&summary).expect("summary");
    let from = md.find("**Failed").expect("a failed section");
    let to = md[from..]
        .find("| shard | item")
        .map_or(md.len(), |i| from + i);
    (report["suites"][0].clone(), text, md[from..to].to_owned())
}

/// `id failures/passes message` of each test in the suite's list `key` (`failed`, `flaky`).
fn listed(suite: &Value, key: &str) -> Vec<String> {
    suite[key]
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| {
            format!(
                "{} {}/{} {}",
                t["id"].as_str().expect("id"),
                t["failures"],
                t["passes"],
                t["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

/// pytest: attempt 2 runs only the two failed tests (the one that then passes and the broken
/// one); with no earlier report at hand, the whole shard; the report of both attempts counts
/// one failure, marks the other test flaky (1 failure in 2 runs), and its summary lists them
/// apart.
#[test]
fn a_failed_pytest_shard_reruns_only_its_failed_tests_and_the_flake_is_marked() {
    let dir = tmp();
    let d = dir.path();
    let project = d.join("project");
    copy_project("pytest_flaky", &project);
    let collect = Command::new(super::python())
        .current_dir(&project)
        .args([
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ])
        .output()
        .expect("pytest collects");
    let listed_tests: Vec<String> = String::from_utf8_lossy(&collect.stdout)
        .lines()
        .filter(|l| l.contains("::"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(listed_tests.len(), 6, "{listed_tests:?}");
    let plan = plan_of(d, &listed_tests.concat(), 2);
    let project_s = project.display().to_string();
    let run_shard = |items: &Path, junit: &Path| {
        super::adapters::pytest_with_plugin(&project_s, items, &junit.join("junit.xml"))
            .status
            .success()
    };
    let (first, second) = two_attempts(d, &plan, 2, &[], &run_shard);
    let mut rerun: Vec<String> = second.iter().flat_map(|(items, _)| items.clone()).collect();
    rerun.sort();
    assert_eq!(
        rerun,
        [
            "tests/test_flaky.py::test_broken",
            "tests/test_flaky.py::test_fails_once"
        ],
        "attempt 2 runs only the failed tests"
    );
    for (items, ok) in &second {
        assert_eq!(*ok, !items.iter().any(|t| t.ends_with("test_broken")));
    }
    // A re-run with no earlier report at hand runs the whole shard.
    let none = d.join("attempt-0").display().to_string();
    let whole = shard_items(&plan, 1, 2, &["--rerun-failed", &none], &d.join("w.txt"));
    assert_eq!(whole, first[0]);

    let (suite, text, failures) = report_of_attempts(d, &plan, 2);
    assert_eq!(suite["failed_tests"], 1, "{suite}");
    // The re-run's reports count for the outcomes, not for the shards' timeline: the wall is
    // the first attempt's, not the span from it to the re-run.
    let (first_only, _, _) = report_of_attempts(d, &plan, 1);
    assert_eq!(suite["wall_seconds"], first_only["wall_seconds"], "{suite}");
    assert_eq!(
        listed(&suite, "failed"),
        ["tests/test_flaky.py::test_broken 2/0 AssertionError: broken until someone fixes it"]
    );
    assert_eq!(
        listed(&suite, "flaky"),
        ["tests/test_flaky.py::test_fails_once 1/1 AssertionError: fails on its first run only"]
    );
    assert!(
        text.contains("failed: tests/test_flaky.py::test_broken"),
        "{text}"
    );
    insta::assert_snapshot!("rerun_failures_and_flakes", failures);
}

/// cargo-nextest: the same two attempts through filtersets (attempt 2 runs the two failed tests
/// only), the panic's own line as the message; and nextest's own retry (`--retries 1`) marks the
/// test that passed on it flaky from one report.
#[test]
fn a_failed_nextest_shard_reruns_only_its_failed_tests_and_a_retry_is_flaky() {
    super::tools();
    let dir = tmp();
    let d = dir.path();
    let project = d.join("project");
    copy_project("nextest_flaky", &project);
    let nextest = |args: &[&str]| {
        Command::new("cargo")
            .current_dir(&project)
            .args(["nextest"])
            .args(args)
            .output()
            .expect("cargo nextest runs")
    };
    let list = nextest(&["list", "--message-format", "oneline"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let plan = plan_of(d, &String::from_utf8_lossy(&list.stdout), 2);
    let run_shard = |items: &Path, junit: &Path| {
        let filters = std::fs::read_to_string(items).expect("items");
        let mut args = vec!["run", "--no-fail-fast"];
        args.extend(filters.lines());
        let ok = args.len() == 2 || nextest(&args).status.success();
        let report = project.join("target/nextest/default/junit.xml");
        if args.len() > 2 {
            std::fs::copy(&report, junit.join("junit.xml")).expect("the JUnit");
        }
        ok
    };
    let (_, second) = two_attempts(d, &plan, 2, &["--format", "nextest"], &run_shard);
    let ran: Vec<String> = second.iter().flat_map(|(items, _)| items.clone()).collect();
    assert_eq!(
        ran.iter().filter(|l| *l == "-E").count(),
        second.len(),
        "{ran:?}"
    );
    let expressions: Vec<&String> = ran.iter().filter(|l| *l != "-E").collect();
    let named = |t: &str| expressions.iter().filter(|e| e.contains(t)).count();
    assert_eq!(
        (
            named("tests::broken"),
            named("tests::fails_once"),
            named("tests::passes")
        ),
        (1, 1, 0),
        "attempt 2 runs only the failed tests: {ran:?}"
    );
    let (suite, _, _) = report_of_attempts(d, &plan, 2);
    assert_eq!(suite["failed_tests"], 1, "{suite}");
    assert_eq!(
        listed(&suite, "failed"),
        [
            "nextest_flaky tests::broken 2/0 assertion `left == right` failed: broken until someone fixes it (panicked at src/lib.rs:27:9)"
        ]
    );
    assert_eq!(
        listed(&suite, "flaky"),
        [
            "nextest_flaky tests::fails_once 1/1 fails on its first run only (panicked at src/lib.rs:22:9)"
        ]
    );

    // nextest's own retry, in one run of a fresh checkout.
    std::fs::remove_file(project.join(".runs-of-fails_once")).expect("the counter");
    let retried = nextest(&["run", "--no-fail-fast", "--retries", "1"]);
    assert!(!retried.status.success(), "the broken test fails");
    let once = d.join("once");
    std::fs::create_dir_all(once.join("attempt-1")).expect("folder");
    std::fs::copy(
        project.join("target/nextest/default/junit.xml"),
        once.join("attempt-1/junit.xml"),
    )
    .expect("the JUnit");
    let (suite, _, _) = report_of_attempts(&once, &plan, 1);
    assert_eq!(suite["failed_tests"], 1, "{suite}");
    assert_eq!(
        listed(&suite, "flaky"),
        [
            "nextest_flaky tests::fails_once 1/1 fails on its first run only (panicked at src/lib.rs:22:9)"
        ]
    );
}

/// `planner report` of one run's JUnit into the history `store`: its `known-flakes-only` output,
/// and each failed test as `id known_flaky=… recent=…`.
fn report_into(d: &Path, plan: &Path, junit: &Path, store: &Path, k: u32) -> (String, Vec<String>) {
    let output = write(d, "github-output", "");
    let utf8 = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let (json, summary) = (d.join("report.json"), d.join(format!("summary-{k}.md")));
    let (code, _, err) = super::run_with_github_output(
        &output,
        &[
            "report",
            "--plan",
            &utf8(plan),
            "--junit",
            &utf8(junit),
            "--timings-out",
            &utf8(store),
            "--json",
            &utf8(&json),
            "--summary",
            &utf8(&summary),
            "--github-output",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let outputs = super::read_github_output(&output);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).expect("json"))
            .expect("JSON");
    let failed: Vec<String> = report["suites"][0]["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .map(|t| {
            format!(
                "{} known_flaky={} recent={}",
                t["id"].as_str().expect("id"),
                t["known_flaky"] == true,
                t["history"]
            )
        })
        .collect();
    (outputs["known-flakes-only"].clone(), failed)
}

/// A real pytest suite run four times, each run reported into the history (`report
/// --timings-out`): a test that fails on every other run is a known flake by its third run, the
/// report says so with its rate, and `known-flakes-only` lets a gate pass; a test failing for the
/// first time beside it is a real failure, and the output says false.
#[test]
fn a_test_that_fails_every_other_run_is_a_known_flake_in_the_history() {
    let dir = tmp();
    let d = dir.path();
    write(
        d,
        "tests/test_app.py",
        r#"import os, pathlib

def test_every_other_run():
    counter = pathlib.Path(__file__).parent / "runs.txt"
    n = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(n))
    assert n % 2 == 0, f"run {n} fails"

def test_steady():
    assert os.environ.get("BREAK_STEADY") is None, "broken on purpose"
"#,
    );
    let plan = plan_of(d, "tests/test_app.py\n", 1);
    let store = d.join("history.json");
    let mut verdicts = Vec::new();
    for k in 1..=4 {
        let junit = d.join(format!("run-{k}"));
        let mut pytest = Command::new(super::python());
        pytest
            .current_dir(d)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(format!("--junitxml={}", junit.join("junit.xml").display()));
        if k == 4 {
            pytest.env("BREAK_STEADY", "1");
        }
        let ran = pytest.output().expect("pytest runs");
        assert_eq!(
            ran.status.code(),
            Some(i32::from(k % 2 == 1 || k == 4)),
            "run {k}"
        );
        let (flakes_only, failed) = report_into(d, &plan, &junit, &store, k);
        verdicts.push((k, flakes_only, failed));
    }
    let flake = "tests/test_app.py::test_every_other_run";
    let steady = "tests/test_app.py::test_steady";
    assert_eq!(
        verdicts,
        [
            (
                1,
                "false".into(),
                vec![format!("{flake} known_flaky=false recent=null")]
            ),
            (2, "false".into(), vec![]),
            (
                3,
                "true".into(),
                vec![format!(
                    "{flake} known_flaky=true recent={{\"runs\":3,\"failures\":2,\"known_flaky\":true}}"
                )]
            ),
            (
                4,
                "false".into(),
                vec![format!("{steady} known_flaky=false recent=null")]
            ),
        ]
    );
    let summary = std::fs::read_to_string(d.join("summary-3.md")).expect("summary");
    let from = summary
        .find("**Failed, known flaky")
        .expect("a known-flaky section");
    let to = summary[from..]
        .find("| shard | item")
        .map_or(summary.len(), |i| from + i);
    insta::assert_snapshot!("known_flake_summary", &summary[from..to]);
    // The history marks it: two failures on record, neither within one run.
    let history: Value =
        serde_json::from_str(&std::fs::read_to_string(&store).expect("store")).expect("JSON");
    assert_eq!(
        history["failures"][flake].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );
}
