//! Lanes: a config's suites name the paths they depend on, and `plan` given a change (a list of
//! files, or git's since a base) skips the suites it does not touch: their `skip_N` true, their
//! plans empty, the preview and the report saying why.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::{actionlint, check_jsonschema, planner, split, tmp, write};

/// Three suites, each with its own tests, and what runs them: `unit` and `api` their tests and
/// the code, `docs` the documentation (and no change to the unit tests).
const CONFIG: &str = r#"version: 1
timings: [timings.json]
suites:
  unit:
    runner: pytest
    items: {glob: "tests/unit/test_*.py"}
    paths: ["src/**", "tests/unit/**"]
  api:
    runner: pytest
    items: {glob: "tests/api/test_*.py"}
    paths: ["src/**", "tests/api/**", "!src/**/*.md"]
  docs:
    runner: pytest
    items: {glob: "tests/docs/test_*.py"}
    paths-ignore: ["src/**", "tests/unit/**", "tests/api/**"]
"#;

const TIMINGS: &str = r#"{
  "tests/unit/test_a.py::test_1": 20, "tests/unit/test_a.py::test_2": 10,
  "tests/api/test_b.py::test_1": 30, "tests/api/test_b.py::test_2": 5,
  "tests/docs/test_c.py::test_1": 8
}"#;

/// The project: its config in `.github/`, its test files, its timings.
fn project(d: &Path) {
    write(d, ".github/planner.yml", CONFIG);
    write(d, "timings.json", TIMINGS);
    for (file, tests) in [
        ("tests/unit/test_a.py", 2),
        ("tests/api/test_b.py", 2),
        ("tests/docs/test_c.py", 1),
    ] {
        let mut body = String::new();
        for k in 1..=tests {
            let _ = write!(body, "def test_{k}():\n    pass\n\n");
        }
        write(d, file, &body);
    }
    write(d, "src/app.py", "VALUE = 1\n");
}

/// `planner ARGS` in the project's root, as the rendered workflow runs it.
fn at(d: &Path, args: &[&str]) -> (i32, String, String) {
    let output = d.join("github-output");
    std::fs::write(&output, "").expect("output");
    split(
        &planner()
            .current_dir(d)
            .env("GITHUB_OUTPUT", &output)
            .args(args)
            .output()
            .expect("the planner runs"),
    )
}

/// `skip_N` of each suite, in the config's order (api, docs, unit), and each suite's lane.
fn planned(d: &Path, extra: &[&str]) -> (Vec<String>, Vec<Value>) {
    let mut args = vec![
        "plan",
        "--config",
        ".github/planner.yml",
        "--out",
        "plan.json",
        "--github-output",
    ];
    args.extend(extra);
    let (code, _, err) = at(d, &args);
    assert_eq!(code, 0, "{err}");
    let outputs = super::read_github_output(&d.join("github-output"));
    let skips = (1..=3)
        .map(|n| outputs[&format!("skip_{n}")].clone())
        .collect();
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("plan.json")).expect("plan"))
            .expect("JSON");
    let suites = plan["suites"].as_array().expect("suites");
    for s in suites {
        let items: usize = s["shards"]
            .as_array()
            .expect("shards")
            .iter()
            .map(|sh| sh["items"].as_array().expect("items").len())
            .sum();
        assert_eq!(
            s["skip"] == true,
            items == 0,
            "a skipped suite is planned with no items: {s}"
        );
    }
    (skips, suites.iter().map(|s| s["lane"].clone()).collect())
}

#[test]
fn a_change_runs_the_suites_whose_paths_it_touches_and_skips_the_rest() {
    let dir = tmp();
    let d = dir.path();
    project(d);
    // Without a change every suite runs, each with its items listed from the repository root.
    let (skips, lanes) = planned(d, &[]);
    assert_eq!(skips, ["false", "false", "false"]);
    assert!(lanes.iter().all(Value::is_null), "{lanes:?}");

    let changed = write(d, "changed.txt", "src/app.py\ntests/unit/test_a.py\n");
    let changed = changed.to_str().expect("utf-8");
    let (skips, lanes) = planned(d, &["--changed-files", changed]);
    assert_eq!(skips, ["false", "true", "false"], "{lanes:?}");
    assert_eq!(lanes[1]["runs"], false);

    // A documentation change: only `docs` runs; `!src/**/*.md` leaves src/guide.md out of api.
    let changed = write(d, "changed.txt", "docs/intro.md\nsrc/guide.md\n");
    let changed = changed.to_str().expect("utf-8");
    let (skips, _) = planned(d, &["--changed-files", changed]);
    assert_eq!(skips, ["true", "false", "false"]);
    let changed = write(d, "changed.txt", "docs/intro.md\n");
    let changed = changed.to_str().expect("utf-8");
    let (skips, _) = planned(d, &["--changed-files", changed]);
    assert_eq!(skips, ["true", "false", "true"]);
    // --never-skip runs them all, and says so.
    let (skips, lanes) = planned(d, &["--changed-files", changed, "--never-skip"]);
    assert_eq!(skips, ["false", "false", "false"]);
    assert!(
        lanes[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("--never-skip")),
        "{lanes:?}"
    );

    // The preview says which suites run and why.
    let changed = write(d, "changed.txt", "src/app.py\ntests/unit/test_a.py\n");
    let changed = changed.to_str().expect("utf-8");
    let (code, preview, err) = at(
        d,
        &[
            "plan",
            "--config",
            ".github/planner.yml",
            "--changed-files",
            changed,
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("lanes_preview", preview);

    // The workflow it renders finds the change itself, and passes actionlint and the schema.
    let (code, yaml, err) = at(d, &["render", "--config", ".github/planner.yml"]);
    assert_eq!(code, 0, "{err}");
    let wf = write(d, "tests.yml", &yaml);
    assert_eq!(actionlint(&[&wf]), "");
    let (ok, out) = check_jsonschema(&["--builtin-schema", "vendor.github-workflows"], &[&wf]);
    assert!(ok, "{out}");
    assert!(yaml.contains("--changed-since \"$PLANNER_BASE\""), "{yaml}");
    assert!(yaml.contains("fetch-depth: 0"), "{yaml}");
}

#[test]
fn a_bad_pattern_is_named_by_suite_field_and_index() {
    let dir = tmp();
    let d = dir.path();
    project(d);
    let bad = CONFIG.replace("\"!src/**/*.md\"", "\"src/[a-z\"");
    write(d, ".github/planner.yml", &bad);
    let (code, _, err) = at(d, &["plan", "--config", ".github/planner.yml", "--dry-run"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("suites.api.paths[2]: a `[` is never closed"),
        "{err}"
    );
    // A change needs a config: the flag alone is a usage error.
    let (code, _, err) = at(
        d,
        &[
            "plan",
            "--timings",
            ".github/timings.json",
            "--changed-since",
            "main",
        ],
    );
    assert_eq!(code, 2, "{err}");
}

/// `git ARGS` in `d`, which must succeed, as a fixed author; its output trimmed.
pub fn git(d: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(d)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn changes_since_a_base_are_read_from_git_and_unknown_ones_run_everything() {
    let dir = tmp();
    let d = dir.path();
    project(d);
    write(d, "src/notes.txt", "old\n");
    git(d, &["init", "-q", "-b", "main"]);
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "base"]);
    let base = git(d, &["rev-parse", "HEAD"]);
    // A file moved from the code to the documentation: the code changed too (git's rename
    // detection would name only docs/notes.txt).
    git(d, &["checkout", "-q", "-b", "change"]);
    std::fs::create_dir_all(d.join("docs")).expect("dir");
    git(d, &["mv", "src/notes.txt", "docs/notes.txt"]);
    git(d, &["commit", "-q", "-m", "move"]);
    let (skips, lanes) = planned(d, &["--changed-since", &base]);
    assert_eq!(skips, ["false", "false", "false"], "{lanes:?}");
    // Then only the documentation: the code's suites are skipped.
    let moved = git(d, &["rev-parse", "HEAD"]);
    write(d, "docs/intro.md", "# intro\n");
    git(d, &["add", "-A"]);
    git(d, &["commit", "-q", "-m", "docs"]);
    let (skips, lanes) = planned(d, &["--changed-since", &moved]);
    assert_eq!(skips, ["true", "false", "true"], "{lanes:?}");
    // A base git does not know, or a branch's first push (no base): every suite runs, said so.
    for (base, why) in [
        ("no-such-commit", "could not be listed"),
        ("0000000000000000000000000000000000000000", "no base commit"),
    ] {
        let (skips, lanes) = planned(d, &["--changed-since", base]);
        assert_eq!(skips, ["false", "false", "false"], "{lanes:?}");
        assert!(
            lanes[0]["reason"].as_str().is_some_and(|r| r.contains(why)),
            "{lanes:?}"
        );
    }
}

/// The summary of a run whose change skipped a suite: the suites that ran, with a failure and a
/// flaky test, and the skipped one with why.
#[test]
fn the_summary_lists_failures_flakes_and_the_skipped_lanes() {
    let dir = tmp();
    let d = dir.path();
    project(d);
    let changed = write(d, "changed.txt", "src/app.py\n");
    let changed = changed.to_str().expect("utf-8");
    let (skips, _) = planned(d, &["--changed-files", changed]);
    assert_eq!(skips, ["false", "true", "false"]);
    let report = super::report::pytest_report_of;
    write(
        d,
        "attempt-1/unit.xml",
        &report(
            0,
            &[
                ("tests.unit.test_a", "test_1", 19.0, true),
                ("tests.unit.test_a", "test_2", 11.0, false),
            ],
        ),
    );
    write(
        d,
        "attempt-1/api.xml",
        &report(
            3,
            &[
                ("tests.api.test_b", "test_1", 31.0, true),
                ("tests.api.test_b", "test_2", 4.0, false),
            ],
        ),
    );
    // The re-run: unit's test_1 passes (flaky), api's test_1 fails again.
    write(
        d,
        "attempt-2/unit.xml",
        &report(120, &[("tests.unit.test_a", "test_1", 18.0, false)]),
    );
    write(
        d,
        "attempt-2/api.xml",
        &report(125, &[("tests.api.test_b", "test_1", 30.0, true)]),
    );
    let (code, text, err) = at(
        d,
        &[
            "report",
            "--plan",
            "plan.json",
            "--junit",
            "attempt-1",
            "--junit",
            "attempt-2",
            "--summary",
            "summary.md",
            "--json",
            "report.json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let summary = std::fs::read_to_string(d.join("summary.md")).expect("summary");
    insta::assert_snapshot!("lanes_summary", summary);
    assert!(text.contains("suite docs: skipped"), "{text}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).expect("json"))
            .expect("JSON");
    let docs = &json["suites"][1];
    assert_eq!(docs["suite"], "docs");
    assert!(
        docs["skipped"]
            .as_str()
            .is_some_and(|w| w.contains("does not run it")),
        "{docs}"
    );
    assert!(
        json["advice"]
            .as_array()
            .expect("advice")
            .iter()
            .all(|a| a["suite"] != "docs"),
        "{json}"
    );
}
