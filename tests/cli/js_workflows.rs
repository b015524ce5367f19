//! jest and playwright, run by the real tools as the shipped workflows run them: the items their
//! list step writes, the JUnit their run step writes, and the planner between. With jest-junit's
//! defaults the suites were named by their describe titles, and playwright names files from its
//! testDir while the workflow lists them from the repository: the history matched no item and the
//! plan fell back to a split by count without a word.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{fixture, run, tmp, write};

/// The `run:` script of the step named `step` in a shipped workflow.
fn workflow_script(workflow: &str, step: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("workflows")
        .join(workflow);
    let text = std::fs::read_to_string(&path).expect("the workflow");
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
    doc["jobs"]
        .as_mapping()
        .expect("jobs")
        .values()
        .flat_map(|job| job["steps"].as_sequence().cloned().unwrap_or_default())
        .find(|s| s["name"].as_str() == Some(step))
        .and_then(|s| s["run"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("{workflow} has a step `{step}` with a script"))
}

/// Runs a step's script as GitHub runs a bash step.
fn run_step(dir: &Path, script: &str, env: &[(&str, &Path)]) -> String {
    let mut cmd = Command::new("bash");
    cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("CI", "true");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script}\n{text}");
    text
}

/// A copy of a sample project in a fresh git repository (its files added, as a checkout has
/// them), its installed packages linked in.
fn checkout(sample: &str, node_modules: &Path) -> tempfile::TempDir {
    let dir = tmp();
    let d = dir.path();
    let src = PathBuf::from(fixture(&format!("projects/{sample}")));
    copy_tree(&src, d);
    std::os::unix::fs::symlink(node_modules, d.join("node_modules")).expect("link node_modules");
    for args in [
        &["init", "-q"][..],
        &["add", "."],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "sample",
        ],
    ] {
        let ok = Command::new("git")
            .args(args)
            .current_dir(d)
            .status()
            .expect("git runs");
        assert!(ok.success(), "git {args:?}");
    }
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).expect("read the sample") {
        let entry = entry.expect("an entry");
        let name = entry.file_name();
        let skip = ["node_modules", "out", "test-results", "playwright-report"];
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            std::fs::create_dir_all(&dst).expect("mkdir");
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).expect("copy");
        }
    }
}

/// Two runs of the workflow's pipeline on a checkout, as on two pushes: list the items, plan two
/// shards by file from the history (none on the first run), run each shard's arguments through
/// the workflow's run step, and report, which keeps the run's times for the next plan. Returns
/// the second plan's stderr and the second report's JSON.
fn pipeline(d: &Path, workflow: &str, format: &str) -> (String, serde_json::Value) {
    run_step(d, &workflow_script(workflow, "List the tests"), &[]);
    let run_them = workflow_script(workflow, "Run them");
    let s = |p: &Path| p.display().to_string();
    let (items, plan, store) = (
        d.join("items.txt"),
        d.join("plan.json"),
        d.join("store.json"),
    );
    let mut last = (String::new(), serde_json::Value::Null);
    for attempt in ["first", "second"] {
        let (code, _, plan_err) = run(&[
            "plan",
            "--timings",
            &s(&store),
            "--items",
            &s(&items),
            "--by",
            "file",
            "--total",
            "2",
            "--out",
            &s(&plan),
        ]);
        assert_eq!(code, 0, "{plan_err}");
        let junit = d.join(format!("junit-{attempt}"));
        std::fs::create_dir_all(&junit).expect("mkdir");
        for k in ["1", "2"] {
            let (code, args, err) = run(&[
                "shard",
                "--plan",
                &s(&plan),
                "--index",
                k,
                "--total",
                "2",
                "--format",
                format,
            ]);
            assert_eq!(code, 0, "{err}");
            let args = write(d, &format!("shard{k}.txt"), &args);
            run_step(d, &run_them, &[("SHARD_ITEMS", &args)]);
            std::fs::rename(d.join("junit.xml"), junit.join(format!("{k}.xml")))
                .expect("the run step wrote its JUnit");
        }
        let json = d.join("report.json");
        let (code, out, err) = run(&[
            "report",
            "--plan",
            &s(&plan),
            "--junit",
            &s(&junit),
            "--json",
            &s(&json),
            "--timings-out",
            &s(&store),
        ]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(
            !err.contains("none of its"),
            "every report matched the plan: {err}"
        );
        let report = std::fs::read_to_string(&json).expect("the report's JSON");
        last = (plan_err, serde_json::from_str(&report).expect("JSON"));
    }
    last
}

/// The second plan knew every listed item from the first run's report, with no warning, and the
/// second report matched both shards. The items and the plan's stderr, for more.
fn assert_history_matches(d: &Path, workflow: &str, format: &str) -> (String, String) {
    let (plan_err, report) = pipeline(d, workflow, format);
    let items = std::fs::read_to_string(d.join("items.txt")).expect("items");
    let plan = std::fs::read_to_string(d.join("plan.json")).expect("plan");
    let plan: serde_json::Value = serde_json::from_str(&plan).expect("JSON");
    assert!(!plan_err.contains("history knows"), "{plan_err}");
    assert_eq!(
        plan["suites"][0]["estimates"]["history"],
        items.lines().count(),
        "every listed file has history: {plan_err}"
    );
    assert_eq!(report["suites"][0]["shards_reported"], 2, "{report}");
    (items, plan_err)
}

#[test]
fn jest_history_from_the_workflow_matches_its_items() {
    let repo = checkout("jest_sample", &crate::installed("jest_sample"));
    let d = repo.path();
    // jest-junit's defaults, as a project that has only installed it has them.
    let pkg = std::fs::read_to_string(d.join("package.json")).expect("package.json");
    let mut pkg: serde_json::Value = serde_json::from_str(&pkg).expect("JSON");
    pkg.as_object_mut().expect("object").remove("jest-junit");
    write(d, "package.json", &pkg.to_string());
    assert_history_matches(d, "jest.yml", "jest");
}

#[test]
fn playwright_history_from_the_workflow_matches_its_items() {
    let repo = checkout("playwright_sample", &crate::installed("playwright_sample"));
    let d = repo.path();
    let (items, plan_err) = assert_history_matches(d, "playwright.yml", "playwright");
    assert!(items.lines().all(|l| l.starts_with("e2e/")), "{items}");
    assert!(plan_err.contains("`e2e/` added"), "{plan_err}");
}

/// playwright's own timing file (`durations.json`) is keyed by test ids that hash the file's path
/// from testDir. Read from the real tool's JSON report (its test ids and durations), a plan of the
/// listed files finds each id's file; as patterns, the ids matched no file.
#[test]
fn playwright_test_ids_find_their_files() {
    let repo = checkout("playwright_sample", &crate::installed("playwright_sample"));
    let d = repo.path();
    let json = Command::new("npx")
        .args(["playwright", "test", "--reporter=json"])
        .current_dir(d)
        .output()
        .expect("playwright runs");
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON report");
    let mut durations = serde_json::Map::new();
    let mut stack = report["suites"].as_array().cloned().unwrap_or_default();
    while let Some(suite) = stack.pop() {
        stack.extend(suite["suites"].as_array().cloned().unwrap_or_default());
        for spec in suite["specs"].as_array().into_iter().flatten() {
            let ms = &spec["tests"][0]["results"][0]["duration"];
            durations.insert(spec["id"].as_str().expect("id").to_owned(), ms.clone());
        }
    }
    assert_eq!(durations.len(), 4, "{durations:?}");
    let map = write(
        d,
        "durations.json",
        &serde_json::Value::Object(durations).to_string(),
    );
    let items = write(
        d,
        "items.txt",
        "e2e/math.spec.js\ne2e/slow.spec.js\ne2e/sub/strings.spec.js\n",
    );
    let (map, items) = (map.display().to_string(), items.display().to_string());
    let shard = |extra: &[&str]| {
        let mut args = vec![
            "shard",
            "--timings",
            &map,
            "--unit",
            "ms",
            "--index",
            "1",
            "--total",
            "1",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let (code, out, err) = shard(&["--items", &items, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("4 playwright test id(s)"), "{err}");
    assert!(!err.contains("history knows"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(3), "{v}");
    // Without the files, the ids are refused as patterns.
    let (code, _, err) = shard(&["--format", "playwright"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("playwright's own test ids"), "{err}");
}

/// A re-run whose tests all passed before gets an empty shard, and the run step then runs
/// nothing: jest and playwright given no files would run every test.
#[test]
fn an_empty_rerun_shard_runs_nothing() {
    for (sample, workflow) in [
        ("jest_sample", "jest.yml"),
        ("playwright_sample", "playwright.yml"),
    ] {
        let repo = checkout(sample, &crate::installed(sample));
        let d = repo.path();
        let none = write(d, "none.txt", "");
        let out = run_step(
            d,
            &workflow_script(workflow, "Run them"),
            &[("SHARD_ITEMS", &none)],
        );
        assert!(out.contains("nothing to run"), "{workflow}: {out}");
        assert!(!d.join("junit.xml").exists(), "{workflow} ran tests: {out}");
    }
}
