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
    let project = jest_sample();
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

/// The arguments of shard 1 of 1 of `map` (a JSON map) in a runner's format, one per line.
fn args_of(map: &Path, format: &str) -> Vec<String> {
    shard(map.to_str().expect("utf-8"), "test", 1, 1, Some(format))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The jest sample's packages, installed from its lock file (CI has run `npm ci` already).
fn jest_sample() -> String {
    let project = fixture("projects/jest_sample");
    if !Path::new(&project).join("node_modules/.bin/jest").exists() {
        let status = Command::new("npm")
            .current_dir(&project)
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm ci in the jest sample");
    }
    project
}

/// An id that starts with `-` reached pytest as an option: `--collect-only` made a shard pass
/// having run nothing. Given through `./`, pytest runs exactly that test; an id that is only an
/// option is no test at all, and pytest fails on it rather than passing.
#[test]
fn pytest_never_reads_an_id_as_an_option() {
    let dir = tmp();
    let d = dir.path();
    write(d, "-dash_test.py", "def test_dash():\n    pass\n");
    write(d, "test_plain.py", "def test_plain():\n    pass\n");
    let pytest = |ids: &[&str]| {
        let map: Vec<String> = ids.iter().map(|i| format!("{i:?}: 1.0")).collect();
        let map = write(d, "t.json", &format!("{{{}}}", map.join(", ")));
        let args = args_of(&map, "pytest");
        let file = write(d, "shard.txt", &format!("{}\n", args.join("\n")));
        let out = Command::new(python())
            .current_dir(d)
            .args(["-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA"])
            .arg(format!("@{}", file.display()))
            .output()
            .expect("pytest runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = pytest(&["-dash_test.py::test_dash"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("PASSED -dash_test.py::test_dash") && out.contains("1 passed"),
        "{out}"
    );
    assert!(!out.contains("test_plain"), "{out}");
    let (code, out) = pytest(&["--collect-only"]);
    assert_ne!(
        code,
        Some(0),
        "an option given as an id must not pass: {out}"
    );
}

/// jest ran every suite when handed `-dash.test.js` as a path; after `--` it runs that file only.
#[test]
fn jest_never_reads_an_id_as_an_option() {
    let project = jest_sample();
    let jest = Path::new(&project).join("node_modules/.bin/jest");
    let dir = tmp();
    let d = dir.path();
    write(
        d,
        "package.json",
        "{\"name\": \"dash\", \"private\": true}\n",
    );
    std::os::unix::fs::symlink(
        Path::new(&project).join("node_modules"),
        d.join("node_modules"),
    )
    .expect("link node_modules");
    write(
        d,
        "-dash.test.js",
        "test('dash', () => expect(1).toBe(1));\n",
    );
    write(
        d,
        "plain.test.js",
        "test('plain', () => expect(1).toBe(1));\n",
    );
    let map = write(d, "t.json", "{\"-dash.test.js\": 1.0}");
    let args = args_of(&map, "jest");
    assert_eq!(args, ["--runTestsByPath", "--", "-dash.test.js"]);
    let out = Command::new(&jest)
        .current_dir(d)
        .args(["--ci", "--rootDir", "."])
        .args(&args)
        .output()
        .expect("jest runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Tests:       1 passed, 1 total"), "{said}");
}

#[test]
fn vitest_refuses_an_id_it_would_read_as_an_option() {
    let dir = tmp();
    let map = write(
        dir.path(),
        "t.json",
        "{\"-x.test.ts\": 1.0, \"a.test.ts\": 2.0}",
    );
    let (code, _, err) = run(&[
        "shard",
        "--timings",
        map.to_str().expect("utf-8"),
        "--index",
        "1",
        "--total",
        "1",
        "--format",
        "vitest",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("starts with `-`, and vitest would read it as an option"),
        "{err}"
    );
}
