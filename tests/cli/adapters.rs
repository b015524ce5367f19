//! `planner shard --format RUNNER`, run through the real runners: each shard runs exactly its
//! items, and the shards together run every item once.

use std::path::Path;
use std::process::Command;

use crate::{fixture, python, run, tmp, write};

/// The items a report holds, read back by the planner itself (one shard of one: all of them).
fn ids_in(report: &Path, by: &str) -> Vec<String> {
    let report = report.display().to_string();
    let (code, out, err) = run(&[
        "shard",
        "--timings",
        &report,
        "--by",
        by,
        "--include-failed",
        "--strict",
        "--index",
        "1",
        "--total",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    out.lines().map(str::to_owned).collect()
}

/// `planner shard` of the items in `timings`: shard K's items, or its runner arguments.
fn shard(timings: &str, by: &str, k: u32, total: u32, format: Option<&str>) -> String {
    let (k, total) = (k.to_string(), total.to_string());
    let mut args = vec![
        "shard",
        "--timings",
        timings,
        "--by",
        by,
        "--include-failed",
        "--index",
        &k,
        "--total",
        &total,
    ];
    if let Some(f) = format {
        args.extend(["--format", f]);
    }
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    out
}

/// For each shard of `total`: the runner's arguments, written to a file and handed to `exec`,
/// which runs the runner and returns its JUnit report. Asserts exact cover.
fn check_exact_cover(
    timings: &str,
    by: &str,
    format: &str,
    total: u32,
    mut exec: impl FnMut(&Path, u32) -> std::path::PathBuf,
) {
    let dir = tmp();
    let all = ids_in(Path::new(timings), by);
    assert!(all.len() >= 2, "a fixture worth splitting: {all:?}");
    let mut seen: Vec<String> = Vec::new();
    for k in 1..=total {
        let (args, expected) = (
            shard(timings, by, k, total, Some(format)),
            shard(timings, by, k, total, None),
        );
        let args_file = write(dir.path(), &format!("shard{k}.args"), &args);
        let report = exec(&args_file, k);
        let mut ran = ids_in(&report, by);
        let mut want: Vec<String> = expected.lines().map(str::to_owned).collect();
        ran.sort();
        want.sort();
        assert_eq!(ran, want, "shard {k} of {total} ran exactly its items");
        seen.extend(ran);
    }
    seen.sort();
    let mut all_sorted = all.clone();
    all_sorted.sort();
    assert_eq!(seen, all_sorted, "together the shards ran every item once");
}

fn ok(cmd: &mut Command) {
    let out = cmd.output().expect("the runner starts");
    // A sample test fails on purpose; only a runner that did not run at all is a failure here.
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pytest_runs_exactly_its_shard() {
    let project = fixture("projects/pytest_sample");
    let out = tmp();
    check_exact_cover(
        &fixture("junit/pytest.xml"),
        "test",
        "pytest",
        3,
        |args, k| {
            let report = out.path().join(format!("pytest{k}.xml"));
            ok(Command::new(python())
                .current_dir(&project)
                .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
                .arg(format!("--junitxml={}", report.display()))
                .arg(format!("@{}", args.display())));
            report
        },
    );
}

#[test]
fn nextest_runs_exactly_its_shard() {
    let project = fixture("projects/nextest_sample");
    let out = tmp();
    check_exact_cover(
        &fixture("junit/nextest.xml"),
        "test",
        "nextest",
        2,
        |args, k| {
            let text = std::fs::read_to_string(args).expect("args");
            ok(Command::new("cargo")
                .current_dir(&project)
                .args(["nextest", "run", "--profile", "ci", "--no-fail-fast"])
                .args(text.lines()));
            let report = out.path().join(format!("nextest{k}.xml"));
            std::fs::copy(
                Path::new(&project).join("target/nextest/ci/junit.xml"),
                &report,
            )
            .expect("nextest wrote its report");
            report
        },
    );
}

#[test]
fn jest_runs_exactly_its_shard() {
    let project = fixture("projects/jest_sample");
    // `npm ci` installs what the lock file says and never rewrites it; CI has run it already.
    if !Path::new(&project).join("node_modules/.bin/jest").exists() {
        let status = Command::new("npm")
            .current_dir(&project)
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm ci in the jest sample");
    }
    let out = tmp();
    check_exact_cover(&fixture("junit/jest.xml"), "file", "jest", 2, |args, k| {
        let text = std::fs::read_to_string(args).expect("args");
        let report = out.path().join(format!("jest{k}.xml"));
        ok(Command::new("npx")
            .current_dir(&project)
            .env("JEST_JUNIT_OUTPUT_DIR", out.path())
            .env("JEST_JUNIT_OUTPUT_NAME", format!("jest{k}.xml"))
            .args(["jest", "--ci", "--reporters=jest-junit"])
            .args(text.lines()));
        report
    });
}

#[test]
fn file_runners_refuse_a_plan_of_single_tests() {
    let (code, _, err) = run(&[
        "shard",
        "--timings",
        &fixture("junit/jest.xml"),
        "--index",
        "1",
        "--total",
        "2",
        "--format",
        "jest",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("plan this suite with `--by file`"), "{err}");
}
