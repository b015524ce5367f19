//! A config whose suites list their items, by a glob and by a command, planned end to end from
//! another folder: paths resolve against the config, and what is listed is what is planned.

use std::path::Path;

use crate::{run, split, tmp, write};

/// A small repository: test files (and a helper that is not one), a timing history, and
/// `.github/planner.yml` with a glob suite and a command suite.
fn project(dir: &Path, command: &str) {
    write(dir, "tests/test_a.py", "def test_a(): pass\n");
    write(dir, "tests/sub/test_b.py", "def test_b(): pass\n");
    write(dir, "tests/helper.py", "\n");
    write(dir, "py/tests/test_c.py", "def test_c(): pass\n");
    write(
        dir,
        ".planner/durations.json",
        "{\"tests/test_a.py\": 30.0, \"tests/sub/test_b.py\": 10.0, \"gone.py\": 99.0}",
    );
    write(
        dir,
        ".github/planner.yml",
        &format!(
            "version: 1\n\
             timings: [.planner/durations.json]\n\
             suites:\n\
             \x20 files:\n\
             \x20   runner: pytest\n\
             \x20   by: file\n\
             \x20   items: {{glob: \"tests/**/test_*.py\"}}\n\
             \x20   overhead-seconds: 5\n\
             \x20 listed:\n\
             \x20   runner: pytest\n\
             \x20   working-directory: py\n\
             \x20   items: {{command: {}}}\n\
             \x20   overhead-seconds: 5\n",
            serde_json::to_string(command).expect("json")
        ),
    );
}

fn plan_from_elsewhere(dir: &Path) -> (i32, String, String) {
    let elsewhere = tmp();
    let plan = dir.join("plan.json");
    split(
        &crate::planner()
            .current_dir(elsewhere.path())
            .args([
                "plan",
                "--config",
                dir.join(".github/planner.yml").to_str().expect("utf-8"),
                "--out",
                plan.to_str().expect("utf-8"),
            ])
            .output()
            .expect("runs"),
    )
}

fn items_of(suite: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = suite["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .flat_map(|s| s["items"].as_array().expect("items").clone())
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_config_lists_its_items_by_glob_and_by_command_and_plans_them() {
    let dir = tmp();
    let d = dir.path();
    // The command runs in the suite's working directory (py/, under the repository).
    project(
        d,
        "ls tests | sed 's|^|tests/|'; echo tests/test_c.py::test_new",
    );
    let (code, _, err) = plan_from_elsewhere(d);
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("plan.json")).expect("plan")).expect("JSON");
    let suites = plan["suites"].as_array().expect("suites");
    let files = suites.iter().find(|s| s["name"] == "files").expect("files");
    let listed = suites
        .iter()
        .find(|s| s["name"] == "listed")
        .expect("listed");

    // The glob found the test files, not the helper, and the history was read from the
    // repository's .planner/, not from where the planner ran.
    assert_eq!(items_of(files), ["tests/sub/test_b.py", "tests/test_a.py"]);
    assert_eq!(files["estimates"]["history"], 2, "{}", files["estimates"]);
    assert_eq!(files["total_ms"], 40_000);
    assert_eq!(files["granularity"], "file");
    // The command's lines are the items, in the folder it ran in.
    assert_eq!(
        items_of(listed),
        ["tests/test_c.py", "tests/test_c.py::test_new"]
    );
    assert_eq!(listed["run"]["working_directory"], "py");
}

#[test]
fn a_failing_items_command_is_a_setting_error_naming_the_suite() {
    let dir = tmp();
    let d = dir.path();
    project(d, "exit 3");
    let (code, _, err) = plan_from_elsewhere(d);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("suites.listed.items.command failed (exit status: 3): `exit 3`"),
        "{err}"
    );
}

#[test]
fn a_bad_value_is_the_same_error_from_a_flag_or_the_config() {
    let dir = tmp();
    let d = dir.path();
    project(d, "true");
    let config = d.join(".github/planner.yml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text.replacen("overhead-seconds: 5", "target-seconds: 0", 1),
    )
    .expect("write");
    let (code, _, from_config) = plan_from_elsewhere(d);
    let timings = d.join(".planner/durations.json");
    let (flag_code, _, from_flag) = crate::run(&[
        "plan",
        "--timings",
        timings.to_str().expect("utf-8"),
        "--target-seconds",
        "0",
    ]);
    assert_eq!((code, flag_code), (2, 2), "{from_config}\n{from_flag}");
    let what = "target-seconds: expected more than 0 seconds, got 0";
    assert!(
        from_config.contains(&format!("planner.yml: suites.files.{what}")),
        "{from_config}"
    );
    assert!(
        from_flag.contains(&format!("error: --{what}")),
        "{from_flag}"
    );
}

/// A suite's capacity comes from the config, else from its runners (GitHub Free: 5 macOS jobs at
/// once, 20 others), and the rendered matrix runs no more than the plan counted on.
#[test]
fn capacity_comes_from_the_config_or_the_runners_and_reaches_max_parallel() {
    let dir = crate::tmp();
    let d = dir.path();
    crate::write(d, "t.json", r#"{"a.py::x": 1.0, "b.py::y": 2.0}"#);
    let config = crate::write(
        d,
        "planner.yml",
        "version: 1\ntimings: [t.json]\nsuites:\n  mac:\n    runner: pytest\n    runs-on: macos-latest\n  linux:\n    runner: pytest\n    capacity: 8\n",
    );
    let config = config.display().to_string();
    let plan = d.join("plan.json");
    let (code, _, err) = crate::run(&[
        "plan",
        "--config",
        &config,
        "--out",
        plan.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).expect("plan")).expect("JSON");
    let capacity = |name: &str| {
        let suite = plan["suites"]
            .as_array()
            .expect("suites")
            .iter()
            .find(|s| s["name"] == name)
            .expect("the suite");
        (
            suite["capacity"]["runners"].clone(),
            suite["capacity"]["source"].clone(),
        )
    };
    assert_eq!(capacity("mac"), (5.into(), "default".into()));
    assert_eq!(capacity("linux"), (8.into(), "config".into()));
    let (code, yaml, err) = crate::run(&["render", "--config", &config]);
    assert_eq!(code, 0, "{err}");
    let mut parallel: Vec<&str> = yaml
        .lines()
        .filter_map(|l| l.trim().strip_prefix("max-parallel: "))
        .collect();
    parallel.sort_unstable();
    assert_eq!(parallel, ["5", "8"], "{yaml}");
}

/// A config's glob takes shell braces and excludes, listed from the suite's folder.
#[test]
fn a_config_glob_with_braces_and_excludes_lists_its_files() {
    let dir = tmp();
    let d = dir.path();
    for f in [
        "spec/models/a_spec.rb",
        "spec/api/b_spec.rb",
        "spec/api/slow/c_spec.rb",
        "spec/other/d_spec.rb",
    ] {
        write(d, f, "");
    }
    let config = write(
        d,
        "planner.yml",
        "version: 1\nsuites:\n  unit:\n    runner: rspec\n    items: {glob: \"spec/{models,api}/**/*_spec.rb\", exclude: [\"spec/api/slow/**\"]}\n",
    );
    let plan = d.join("plan.json");
    let (code, _, err) = run(&[
        "plan",
        "--config",
        config.to_str().expect("utf-8"),
        "--out",
        plan.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).expect("plan")).expect("JSON");
    let mut items = items_of(&plan["suites"][0]);
    items.sort();
    assert_eq!(items, ["spec/api/b_spec.rb", "spec/models/a_spec.rb"]);
}
