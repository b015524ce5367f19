//! The config, its schema, `plan --config`, `render`, and `shard --exec`: the workflow a config
//! makes passes actionlint and the github-workflow schema, and nothing untrusted becomes code.

use std::path::{Path, PathBuf};

use crate::{actionlint, check_jsonschema, run, tmp, write};

fn root(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs the planner from the repository root, where the example's relative paths hold.
fn run_at_root(args: &[&str]) -> (i32, String, String) {
    crate::split(
        &crate::planner()
            .current_dir(root("."))
            .args(args)
            .output()
            .expect("the planner runs"),
    )
}

#[test]
fn the_checked_in_schema_is_the_one_the_code_reads() {
    let (code, out, err) = run(&["schema"]);
    assert_eq!(code, 0, "{err}");
    let file = std::fs::read_to_string(root("schema/planner.schema.json")).expect("schema");
    assert_eq!(
        out, file,
        "schema/planner.schema.json is stale: `planner schema > schema/planner.schema.json`"
    );
}

#[test]
fn the_example_config_validates_and_a_wrong_one_does_not() {
    let schema = root("schema/planner.schema.json");
    let schema = schema.to_str().expect("utf-8");
    let (ok, out) = check_jsonschema(&["--schemafile", schema], &[&root("examples/planner.yml")]);
    assert!(ok, "{out}");
    let dir = tmp();
    let bad = write(
        dir.path(),
        "bad.yml",
        "version: 1\nsuites:\n  unit: {runner: pytst, max-shards: 0}\n",
    );
    let (ok, out) = check_jsonschema(&["--schemafile", schema], &[&bad]);
    assert!(!ok, "the schema must refuse an unknown runner: {out}");
    // The planner refuses it too, naming the field.
    let (code, _, err) = run(&["render", "--config", bad.to_str().expect("utf-8")]);
    assert_eq!(
        code, 2,
        "a wrong config is a wrong setting, as a wrong flag is"
    );
    assert!(err.contains("unknown variant `pytst`"), "{err}");
}

/// The checks every workflow the project renders or ships must pass.
fn assert_valid_workflow(path: &Path) {
    assert_eq!(actionlint(&[path]), "", "actionlint findings");
    let (ok, out) = check_jsonschema(&["--builtin-schema", "vendor.github-workflows"], &[path]);
    assert!(ok, "github-workflow schema: {out}");
}

#[test]
fn the_example_renders_a_workflow_that_passes_actionlint_and_the_schema() {
    let (code, yaml, err) = run_at_root(&["render", "--config", "examples/planner.yml"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("render_example", yaml);
    let dir = tmp();
    let path = write(dir.path(), "tests.yml", &yaml);
    assert_valid_workflow(&path);
    // The planner reads its own workflow: plan, then the shards, then report and gate.
    let a = super::analyze::analyze_json(&path, &[], &[]);
    assert_eq!(
        a["phases"],
        serde_json::json!([
            ["plan"],
            ["${{ matrix.suite }} ${{ matrix.shard }}/${{ matrix.total }}"],
            ["report", "planner gate"]
        ])
    );
}

#[test]
fn every_yaml_the_repository_ships_passes_actionlint_and_the_schema() {
    let mut shipped: Vec<PathBuf> = Vec::new();
    for dir in [".github/workflows", "workflows"] {
        if let Ok(entries) = std::fs::read_dir(root(dir)) {
            shipped.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml")),
            );
        }
    }
    shipped.sort();
    let names: Vec<String> = shipped
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "ci.yml",
            "release.yml",
            "go.yml",
            "jest.yml",
            "nextest.yml",
            "playwright.yml",
            "pytest-claim.yml",
            "pytest-committed.yml",
            "pytest.yml",
            "rspec.yml"
        ]
    );
    for p in &shipped {
        assert_valid_workflow(p);
    }
    // Every one that runs on pull requests cancels their superseded runs and never a push's,
    // with the group `optimize` adds; the rendered one too.
    let dir = tmp();
    let (code, rendered, err) = run_at_root(&["render", "--config", "examples/planner.yml"]);
    assert_eq!(code, 0, "{err}");
    let rendered = write(dir.path(), "rendered.yml", &rendered);
    let mut checked = 0;
    for p in shipped.iter().chain([&rendered]) {
        let text = std::fs::read_to_string(p).expect("workflow");
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
        super::workflows::downloads_reach_earlier_attempts(&yaml, &p.display().to_string());
        if yaml["on"].get("pull_request").is_none() {
            continue;
        }
        checked += 1;
        assert_eq!(
            (
                yaml["concurrency"]["group"].as_str(),
                yaml["concurrency"]["cancel-in-progress"].as_str()
            ),
            (
                Some(gha_planner::workflow::CONCURRENCY_GROUP),
                Some(gha_planner::workflow::CONCURRENCY_CANCEL)
            ),
            "{}",
            p.display()
        );
    }
    assert_eq!(
        checked, 10,
        "every workflow on pull requests but the release"
    );
}

#[test]
fn plan_config_numbers_its_outputs_and_carries_runs_on_into_the_matrix() {
    let dir = tmp();
    let out = dir.path().join("github_output");
    let plan = dir.path().join("plan.json");
    let (code, stdout, err) = crate::split(
        &crate::planner()
            .current_dir(root("."))
            .env("GITHUB_OUTPUT", &out)
            .args([
                "plan",
                "--config",
                "examples/planner.yml",
                "--out",
                plan.to_str().expect("utf-8"),
                "--github-output",
            ])
            .output()
            .expect("runs"),
    );
    assert_eq!(code, 0, "{err}");
    let matrix: serde_json::Value =
        serde_json::from_str(stdout.lines().next().expect("a matrix")).expect("JSON");
    let include = matrix["include"].as_array().expect("include");
    assert!(include.len() > 1 && include.len() <= 32, "{matrix}");
    assert_eq!(include[0]["runs-on"], "ubuntu-latest");
    assert_eq!(include[0]["suite"], "onegov");
    let outputs = crate::read_github_output(&out);
    let names: Vec<&str> = outputs.keys().map(String::as_str).collect();
    assert_eq!(names, ["matrices", "matrix_1", "plan", "skip_1", "total_1"]);
    // `matrices` holds every suite's matrix by name, the same as its numbered output.
    let matrices: serde_json::Value = serde_json::from_str(&outputs["matrices"]).expect("JSON");
    assert_eq!(matrices["onegov"], matrix);
    let p: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).expect("plan")).expect("JSON");
    assert_eq!(p["suites"][0]["run"]["runner"], "pytest");
    // 600 s target with 90 s overhead: the fewest shards predicted to make it.
    assert!(p["suites"][0]["predicted_wall_ms"].as_f64().expect("wall") <= 600_000.0);
}

/// Text that would be an expression, a quote, a command substitution or a new line if it were
/// ever pasted into YAML or a shell line.
const HOSTILE: &str = "x ${{ github.token }} \"dq\" 'sq' $(touch pwned1) `touch pwned2`";

/// A project whose suite name, item ids and JUnit path are all hostile: (dir, suite, ids, config).
fn hostile_project() -> (tempfile::TempDir, String, Vec<String>, String) {
    let dir = tmp();
    let d = dir.path();
    // Item ids with every hostile part, and a line break in the suite name.
    let ids: Vec<String> = (0..6)
        .map(|i| format!("tests/t.py::{HOSTILE} {i}"))
        .collect();
    let timings: serde_json::Map<String, serde_json::Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.clone(), serde_json::json!(10 + i)))
        .collect();
    write(
        d,
        "durations.json",
        &serde_json::Value::Object(timings).to_string(),
    );
    let suite = format!("{HOSTILE}\nsecond line");
    let config = format!(
        "version: 1\ntimings: [durations.json]\nbranches: [{branch}]\nsuites:\n  {suite}:\n    runner: pytest\n    command: printf '%s\\n'\n    junit: {junit}\n    max-shards: 2\n    overhead-seconds: 1\n",
        branch = "main",
        suite = serde_json::to_string(&suite).expect("json"),
        junit = serde_json::to_string(&format!("{HOSTILE}.xml")).expect("json"),
    );
    write(d, "planner.yml", &config);
    (dir, suite, ids, config)
}

#[test]
fn hostile_names_and_ids_render_as_data() {
    let (dir, _, _, config) = hostile_project();
    let d = dir.path();
    // Branch filters are read by GitHub itself: only branch patterns pass.
    let bad = write(
        d,
        "bad-branch.yml",
        &config.replace(
            "branches: [main]",
            &format!(
                "branches: [{}]",
                serde_json::to_string(HOSTILE).expect("json")
            ),
        ),
    );
    let (code, _, err) = run(&["render", "--config", bad.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("branches[0]") && err.contains("is not a branch pattern"),
        "{err}"
    );

    let (code, yaml, err) = crate::split(
        &crate::planner()
            .current_dir(d)
            .args(["render", "--config", "planner.yml"])
            .output()
            .expect("runs"),
    );
    assert_eq!(code, 0, "{err}");
    let workflow = write(d, "tests.yml", &yaml);
    assert_valid_workflow(&workflow);
    let parsed: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("valid YAML");
    assert!(parsed["jobs"]["suite_1"].is_mapping());
    // The only expressions in the file are the template's own.
    // `github.token` is the template's own: handed to the report step, and to the downloads.
    assert_eq!(
        yaml.matches("github.token").count(),
        1 + yaml.matches("github-token: ${{ github.token }}").count(),
        "{yaml}"
    );
    assert!(yaml.contains("GITHUB_TOKEN: ${{ github.token }}"), "{yaml}");
    assert!(!yaml.contains("pwned"), "{yaml}");
    for expr in yaml.split("${{").skip(1) {
        let inner = expr.split("}}").next().expect("closed");
        assert!(
            !inner.contains('\'')
                || inner.contains("'true'")
                || inner.contains("' '")
                || inner.contains("'success'")
                || inner.contains("'refs/heads/{0}'")
                || inner.contains("event_name, 'pull_request'"),
            "an unexpected expression: {inner}"
        );
    }
}

#[test]
fn hostile_ids_reach_the_command_as_arguments() {
    let (dir, suite, ids, _) = hostile_project();
    let d = dir.path();
    // Plan and run a shard: the ids reach the command as arguments, never through a shell.
    let gh = d.join("gh_output");
    let (code, _, err) = crate::split(
        &crate::planner()
            .current_dir(d)
            .env("GITHUB_OUTPUT", &gh)
            .args([
                "plan",
                "--config",
                "planner.yml",
                "--out",
                "plan.json",
                "--github-output",
            ])
            .output()
            .expect("runs"),
    );
    assert_eq!(code, 0, "{err}");
    let outputs = std::fs::read_to_string(&gh).expect("outputs");
    let matrix_line = outputs
        .lines()
        .skip_while(|l| !l.starts_with("matrix_1<<"))
        .nth(1)
        .expect("matrix_1's value");
    let matrix: serde_json::Value = serde_json::from_str(matrix_line).expect("JSON");
    assert_eq!(
        matrix["include"][0]["suite"],
        suite.as_str(),
        "the name is data"
    );
    let mut printed = Vec::new();
    for k in ["1", "2"] {
        let (code, out, err) = crate::split(
            &crate::planner()
                .current_dir(d)
                .args([
                    "shard",
                    "--plan",
                    "plan.json",
                    "--suite",
                    &suite,
                    "--index",
                    k,
                    "--total",
                    "2",
                    "--exec",
                ])
                .output()
                .expect("runs"),
        );
        assert_eq!(code, 0, "{err}");
        printed.extend(out.lines().map(str::to_owned));
    }
    printed.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(printed, want, "each id arrives whole, exactly once");
    assert!(!d.join("pwned1").exists() && !d.join("pwned2").exists());
}

/// A suite whose items come from a command: the plan job runs that command, so it runs the
/// suite's setup first; a suite that lists its items from the timings adds nothing to it.
#[test]
fn the_plan_job_sets_up_what_an_items_command_needs() {
    let dir = tmp();
    let config = |items: &str| {
        format!(
            "version: 1\nsuites:\n  unit:\n    runner: pytest\n{items}    command: python -m pytest --junitxml=junit.xml\n    junit: junit.xml\n    setup:\n      - uses: actions/setup-python@v5\n        with:\n          python-version: \"3.12\"\n      - run: pip install -r requirements.txt\n"
        )
    };
    let plan_steps = |name: &str, text: &str| -> Vec<serde_yaml::Value> {
        let path = write(dir.path(), name, text);
        let (code, yaml, err) = run(&["render", "--config", path.to_str().expect("utf-8")]);
        assert_eq!(code, 0, "{err}");
        let workflow = write(dir.path(), &format!("{name}.workflow.yml"), &yaml);
        assert_valid_workflow(&workflow);
        let parsed: serde_yaml::Value = serde_yaml::from_str(&yaml).expect("YAML");
        parsed["jobs"]["plan"]["steps"]
            .as_sequence()
            .expect("steps")
            .clone()
    };
    let listed = plan_steps(
        "listed.yml",
        &config("    items: {command: \"python -m pytest --collect-only -q | grep '::'\"}\n"),
    );
    let uses: Vec<&str> = listed.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert!(uses.contains(&"actions/setup-python@v5"), "{listed:?}");
    let at = |steps: &[serde_yaml::Value], what: &str| {
        steps
            .iter()
            .position(|s| {
                s["run"].as_str().is_some_and(|r| r.contains(what))
                    || s["uses"].as_str() == Some(what)
            })
            .expect(what)
    };
    assert!(
        at(&listed, "pip install") < at(&listed, "planner plan"),
        "{listed:?}"
    );
    let from_timings = plan_steps("timings.yml", &config(""));
    assert!(
        from_timings
            .iter()
            .all(|s| s["uses"].as_str() != Some("actions/setup-python@v5")),
        "{from_timings:?}"
    );
}
