//! The composite action run locally the way a runner runs it: each step of `action.yml` in turn,
//! its `env:` expressions evaluated (`inputs.*`, `steps.*.outputs.*`, `github.*`), its script run
//! by `bash --noprofile --norc -eo pipefail`, with `GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`,
//! `GITHUB_PATH`, `GITHUB_ACTION_PATH`, `RUNNER_OS`, `RUNNER_ARCH`, `RUNNER_TEMP` and
//! `RUNNER_TOOL_CACHE` set. A local "release" of the binary built for these tests stands in for the
//! download (`release-url: file://…`), with its archive and SHA256SUMS as the release workflow
//! makes them, so the download, the checksum and the cache are the real code paths. The
//! `actions/cache` step is the one step not run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use serde_yaml::Value as Yaml;

use super::claim;
use super::mock_api::Api;
use super::mock_refs::{REPO, Refs, SHA};
use super::report::{hand_worked_run, read_json};
use super::{read_github_output, split, tmp, write};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn action() -> Yaml {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml"))
        .expect("action.yml");
    serde_yaml::from_str(&text).expect("action.yml is YAML")
}

/// The runner's names for this machine's architecture.
fn runner_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "ARM64",
        _ => "X64",
    }
}

fn target() -> String {
    let arch = match runner_arch() {
        "ARM64" => "aarch64",
        _ => "x86_64",
    };
    format!("{arch}-unknown-linux-musl")
}

/// A release of the planner built for the tests, laid out as the release workflow lays it out:
/// `vVERSION/planner-vVERSION-TARGET.tar.gz` (a folder of that name holding `planner`) and
/// `vVERSION/SHA256SUMS`.
fn local_release(root: &Path) -> PathBuf {
    let name = format!("planner-v{VERSION}-{}", target());
    let stage = root.join("stage").join(&name);
    std::fs::create_dir_all(&stage).expect("stage");
    std::fs::copy(env!("CARGO_BIN_EXE_planner"), stage.join("planner")).expect("copy");
    let release = root.join("release");
    let dir = release.join(format!("v{VERSION}"));
    std::fs::create_dir_all(&dir).expect("release dir");
    let archive = dir.join(format!("{name}.tar.gz"));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(root.join("stage"))
        .arg(&name)
        .status()
        .expect("tar runs");
    assert!(status.success());
    let digest = {
        use sha2::Digest;
        let bytes = std::fs::read(&archive).expect("archive");
        gha_planner::timings::hex(&sha2::Sha256::digest(&bytes))
    };
    write(&dir, "SHA256SUMS", &format!("{digest}  {name}.tar.gz\n"));
    release
}

/// One run of the action: its exit, the log of every step, its outputs, the steps' summaries.
#[derive(Debug)]
struct ActionRun {
    ok: bool,
    log: String,
    outputs: BTreeMap<String, String>,
    summary: String,
    skipped: Vec<String>,
}

/// A runner: a workspace, a temp folder, a tool cache that lasts across runs of the action.
struct Runner {
    _dir: tempfile::TempDir,
    root: PathBuf,
    workspace: PathBuf,
    tool_cache: PathBuf,
    /// `GITHUB_ACTION_PATH`: this checkout, or a copy with other checksums.
    action_path: PathBuf,
}

/// Evaluates the expressions the action uses: `a.b.c`, `x || y`, `x == 'lit'`.
fn eval(expr: &str, ctx: &BTreeMap<String, String>) -> String {
    let expr = expr.trim();
    if let Some((lhs, rhs)) = expr.split_once("==") {
        let rhs = rhs.trim();
        // `format('refs/heads/{0}', key)`, or a literal.
        let value = match rhs
            .strip_prefix("format('")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|r| r.split_once("',"))
        {
            Some((template, key)) => template.replace("{0}", &eval(key, ctx)),
            None => rhs.trim_matches('\'').to_owned(),
        };
        return (eval(lhs, ctx) == value).to_string();
    }
    for alt in expr.split("||") {
        let key = alt.trim();
        let value = ctx
            .get(key)
            .cloned()
            .or_else(|| key.starts_with("steps.").then(String::new))
            .unwrap_or_else(|| panic!("the test runner does not know `{key}`"));
        if !value.is_empty() {
            return value;
        }
    }
    String::new()
}

/// `text` with every `${{ … }}` replaced by its value, as the runner substitutes it.
fn substitute(text: &str, ctx: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("${{") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find("}}").expect("a closed expression") + at;
        out.push_str(&eval(&rest[at + 3..end], ctx));
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

impl Runner {
    fn new() -> Self {
        let dir = tmp();
        let root = dir.path().to_owned();
        let workspace = root.join("workspace");
        let tool_cache = root.join("tool-cache");
        for d in [&workspace, &tool_cache, &root.join("temp")] {
            std::fs::create_dir_all(d).expect("dir");
        }
        Runner {
            _dir: dir,
            root,
            workspace,
            tool_cache,
            action_path: PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        }
    }

    fn run(&self, inputs: &[(&str, &str)]) -> ActionRun {
        self.run_with(inputs, &[])
    }

    /// `run`, with more of the runner's environment (`GITHUB_RUN_ID`, …).
    #[expect(
        clippy::too_many_lines,
        reason = "one step after another, as the runner does them"
    )]
    fn run_with(&self, inputs: &[(&str, &str)], env: &[(&str, &str)]) -> ActionRun {
        let action = action();
        let mut ctx: BTreeMap<String, String> = BTreeMap::new();
        ctx.insert("github.token".into(), "ghs_test-token".into());
        ctx.insert("github.action_repository".into(), String::new());
        for (name, spec) in action["inputs"].as_mapping().expect("inputs") {
            let name = name.as_str().expect("name");
            let default = spec["default"].as_str().unwrap_or_default();
            let value = substitute(default, &ctx);
            ctx.insert(format!("inputs.{name}"), value);
        }
        for (name, value) in inputs {
            assert!(
                ctx.contains_key(&format!("inputs.{name}")),
                "action.yml has no input `{name}`"
            );
            ctx.insert(format!("inputs.{name}"), (*value).to_owned());
        }
        let mut path_extra: Vec<String> = Vec::new();
        let mut run = ActionRun {
            ok: true,
            log: String::new(),
            outputs: BTreeMap::new(),
            summary: String::new(),
            skipped: Vec::new(),
        };
        let steps = action["runs"]["steps"].as_sequence().expect("steps");
        for (n, step) in steps.iter().enumerate() {
            let name = step["name"].as_str().expect("every step is named");
            if let Some(cond) = step["if"].as_str()
                && eval(cond, &ctx) != "true"
            {
                continue;
            }
            if let Some(uses) = step["uses"].as_str() {
                run.skipped.push(uses.to_owned());
                continue;
            }
            assert_eq!(step["shell"].as_str(), Some("bash"), "{name}: shell: bash");
            let script = step["run"].as_str().expect("a run step");
            assert!(
                !script.contains("${{"),
                "{name}: inputs reach the script only through env:"
            );
            let script_path = self.root.join(format!("temp/step-{n}.sh"));
            std::fs::write(&script_path, script).expect("script");
            let files = self.root.join(format!("files-{n}"));
            std::fs::create_dir_all(&files).expect("dir");
            let (output, summary, gh_path) = (
                files.join("output"),
                files.join("summary"),
                files.join("path"),
            );
            for f in [&output, &summary, &gh_path] {
                std::fs::write(f, "").expect("file");
            }
            let mut cmd = Command::new("bash");
            cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
                .arg(&script_path)
                .current_dir(&self.workspace)
                .env_clear()
                .env("HOME", std::env::var_os("HOME").unwrap_or_default())
                .env(
                    "PATH",
                    path_extra
                        .iter()
                        .rev()
                        .cloned()
                        .chain(std::env::var("PATH").ok())
                        .collect::<Vec<_>>()
                        .join(":"),
                )
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_OUTPUT", &output)
                .env("GITHUB_STEP_SUMMARY", &summary)
                .env("GITHUB_PATH", &gh_path)
                .env("GITHUB_ACTION_PATH", &self.action_path)
                .env("GITHUB_WORKSPACE", &self.workspace)
                .env("RUNNER_OS", "Linux")
                .env("RUNNER_ARCH", runner_arch())
                .env("RUNNER_TEMP", self.root.join("temp"))
                .env("RUNNER_TOOL_CACHE", &self.tool_cache)
                .envs(env.iter().copied());
            if let Some(env) = step["env"].as_mapping() {
                for (k, v) in env {
                    let v = v.as_str().expect("env values are strings");
                    cmd.env(k.as_str().expect("name"), substitute(v, &ctx));
                }
            }
            let (code, out, err) = split(&cmd.output().expect("bash runs"));
            let _ = write!(run.log, "## {name}\n{out}{err}");
            run.summary
                .push_str(&std::fs::read_to_string(&summary).unwrap_or_default());
            if let Some(id) = step["id"].as_str() {
                for (k, v) in read_github_output(&output) {
                    ctx.insert(format!("steps.{id}.outputs.{k}"), v);
                }
            }
            path_extra.extend(
                std::fs::read_to_string(&gh_path)
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_owned),
            );
            if code != 0 {
                run.ok = false;
                return run;
            }
        }
        for (name, spec) in action["outputs"].as_mapping().expect("outputs") {
            let value = substitute(spec["value"].as_str().expect("value"), &ctx);
            if !value.is_empty() {
                run.outputs
                    .insert(name.as_str().expect("name").to_owned(), value);
            }
        }
        run
    }

    fn installed(&self) -> PathBuf {
        self.tool_cache
            .join(format!("gha-planner/{VERSION}/{}/bin/planner", target()))
    }
}

fn release_url(release: &Path) -> String {
    format!("file://{}", release.display())
}

/// The planner run directly, for what the action must agree with.
fn direct(args: &[&str], cwd: &Path) -> String {
    let (code, out, err) = split(
        &super::planner()
            .current_dir(cwd)
            .env_remove("GITHUB_ACTIONS")
            .args(args)
            .output()
            .expect("runs"),
    );
    assert_eq!(code, 0, "{err}");
    out
}

#[test]
fn the_action_pins_the_version_it_is_released_with_and_checks_its_schema() {
    let a = action();
    assert_eq!(a["inputs"]["version"]["default"].as_str(), Some(VERSION));
    let (ok, out) = super::check_jsonschema(
        &["--builtin-schema", "vendor.github-actions"],
        &[&Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")],
    );
    assert!(ok, "{out}");
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "plan, shard, report through the action, each checked against the planner itself"
)]
fn plan_shard_and_report_through_the_action_as_a_runner_runs_it() {
    let runner = Runner::new();
    let release = local_release(&runner.root);
    let url = release_url(&release);
    let ws = runner.workspace.clone();
    let (plan_file, reports) = hand_worked_run(&ws);
    let timings = ws.join("durations.json");
    assert!(timings.exists());

    // plan: the released binary fetched, checked and installed into the tool cache.
    let plan = runner.run(&[
        ("command", "plan"),
        ("timings", "durations.json\nnot-yet.json"),
        ("total", "3"),
        ("plan", "action-plan.json"),
        ("release-url", &url),
    ]);
    assert!(plan.ok, "{}", plan.log);
    assert_eq!(
        plan.skipped,
        ["actions/cache@0057852bfaa89a56745cba8c7296529d2fc39830"]
    );
    assert!(runner.installed().exists(), "{}", plan.log);
    let want_matrix = direct(
        &[
            "plan",
            "--timings",
            "durations.json",
            "--total",
            "3",
            "--out",
            "direct-plan.json",
        ],
        &ws,
    );
    assert_eq!(plan.outputs["matrix"], want_matrix.trim());
    assert_eq!(plan.outputs["total"], "3");
    assert_eq!(plan.outputs["skip"], "false");
    assert_eq!(plan.outputs["plan"], "action-plan.json");
    assert_eq!(plan.outputs["planner-version"], VERSION);
    assert!(
        plan.log.contains("not-yet.json"),
        "a missing timing file is a warning: {}",
        plan.log
    );
    assert_eq!(
        std::fs::read(ws.join("action-plan.json")).expect("plan"),
        std::fs::read(ws.join("direct-plan.json")).expect("plan")
    );

    // shard: the release is gone, so the binary must come from the tool cache.
    std::fs::remove_dir_all(&release).expect("remove");
    let shard = runner.run(&[
        ("command", "shard"),
        ("plan", "action-plan.json"),
        ("index", "2"),
        ("total", "3"),
        ("format", "pytest"),
        ("release-url", &url),
    ]);
    assert!(shard.ok, "{}", shard.log);
    assert!(
        shard
            .log
            .contains(&format!("planner {VERSION} from the cache")),
        "{}",
        shard.log
    );
    let want = direct(
        &[
            "shard",
            "--plan",
            "action-plan.json",
            "--index",
            "2",
            "--total",
            "3",
            "--format",
            "pytest",
        ],
        &ws,
    );
    assert_eq!(shard.outputs["items"], want.trim_end());
    assert_eq!(shard.outputs["count"], "2");
    assert_eq!(
        std::fs::read_to_string(&shard.outputs["items-file"]).expect("items file"),
        want
    );
    assert!(
        Path::new(&shard.outputs["pytest-plugin"])
            .join("planner_select.py")
            .is_file(),
        "the pytest plugin's folder: {}",
        shard.outputs["pytest-plugin"]
    );
    // A re-run: the shard's tests that passed in the earlier reports are left out (shard 1's
    // test_f failed).
    let rerun = runner.run(&[
        ("command", "shard"),
        ("plan", "action-plan.json"),
        ("index", "1"),
        ("total", "3"),
        ("format", "pytest"),
        ("rerun-failed", &reports.join("\n")),
        ("release-url", &url),
    ]);
    assert!(rerun.ok, "{}", rerun.log);
    assert_eq!(
        rerun.outputs["items"], "tests/test_app.py::test_f",
        "{}",
        rerun.log
    );

    // report: the measures as outputs, the summary in the step summary.
    let junit = reports.join("\n");
    let report = runner.run(&[
        ("command", "report"),
        ("plan", &plan_file),
        ("junit", &junit),
        ("previous", "no-report-yet.json"),
        ("timings-out", ".planner/history.json"),
        ("release-url", &url),
    ]);
    assert!(report.ok, "{}", report.log);
    assert_eq!(report.outputs["speedup"], "1.6781");
    assert_eq!(report.outputs["wall-seconds"], "146");
    assert!(!report.outputs.contains_key("missing-shards"));
    assert!(
        report
            .summary
            .starts_with("## Test shards: what parallelism bought"),
        "{}",
        report.summary
    );
    assert_eq!(
        std::fs::read_to_string(&report.outputs["summary"]).expect("summary"),
        report.summary
    );
    let r = read_json(Path::new(&report.outputs["report"]));
    assert_eq!(r["suites"][0]["wall_seconds"], json!(146.0));
    assert_eq!(r["run_id"], Value::Null, "no run id outside Actions");
    assert!(ws.join(".planner/history.json").exists());

    // analyze: the Markdown report of a real workflow, in the step summary.
    std::fs::copy(
        super::fixture("workflows/tokio-rs_tokio__ci.yml"),
        ws.join("ci.yml"),
    )
    .expect("copy");
    let analyze = runner.run(&[
        ("command", "analyze"),
        ("workflow", "ci.yml"),
        ("release-url", &url),
    ]);
    assert!(analyze.ok, "{}", analyze.log);
    assert!(
        analyze.summary.contains("critical path"),
        "{}",
        analyze.summary
    );
}

#[test]
fn wrong_inputs_and_a_bad_checksum_stop_with_an_error_annotation() {
    let runner = Runner::new();
    let release = local_release(&runner.root);
    let url = release_url(&release);
    let error = |inputs: &[(&str, &str)]| {
        let run = runner.run(inputs);
        assert!(!run.ok, "{}", run.log);
        run.log
            .lines()
            .find(|l| l.starts_with("::error title=gha-planner::"))
            .unwrap_or_else(|| panic!("no ::error:: in {}", run.log))
            .to_owned()
    };
    assert!(
        error(&[("command", "deploy")]).contains(
            "input 'command' is 'deploy': expected install, plan, shard, report or analyze"
        )
    );
    assert!(
        error(&[("command", "shard"), ("total", "3")])
            .contains("command 'shard' needs input 'index'")
    );
    assert!(
        error(&[("command", "shard"), ("index", "4"), ("total", "3")])
            .contains("input 'index' is 4, over input 'total' (3)")
    );
    assert!(error(&[("command", "report")]).contains("command 'report' needs input 'junit'"));
    // A value with a line break cannot end the workflow command it is shown in.
    let e = error(&[
        ("command", "plan"),
        ("timings", "t.json"),
        ("total", "2\n::add-mask::x"),
    ]);
    assert!(e.contains("'2%0A::add-mask::x'"), "{e}");
    assert!(
        error(&[("command", "install"), ("version", "latest")])
            .contains("input 'version' is 'latest'")
    );
    assert!(
        error(&[
            ("command", "plan"),
            ("timings", "t.json"),
            ("allow-empty", "yes")
        ])
        .contains("input 'allow-empty' is 'yes': expected true or false")
    );
    // A suite with no items yet: refused, unless allow-empty says it may be empty (on a runner
    // of its own: this one's cache must stay empty for the checksum's test below).
    let other = Runner::new();
    write(&other.workspace, "none.txt", "");
    let empty = |allow: &str| {
        other.run(&[
            ("command", "plan"),
            ("items", "none.txt"),
            ("plan", "empty-plan.json"),
            ("allow-empty", allow),
            ("release-url", &url),
        ])
    };
    let refused = empty("false");
    assert!(!refused.ok, "{}", refused.log);
    let allowed = empty("true");
    assert!(allowed.ok, "{}", allowed.log);
    assert_eq!(allowed.outputs["skip"], "true");

    // Without release-url the binary comes from the workflow's own server ($GITHUB_SERVER_URL,
    // as on a GitHub Enterprise Server), the action's repository's releases there.
    let ghes = Runner::new();
    let server = ghes.root.join("server");
    let releases = server.join("gha-planner/gha-planner/releases");
    std::fs::create_dir_all(&releases).expect("dir");
    std::os::unix::fs::symlink(&release, releases.join("download")).expect("link");
    let server_url = format!("file://{}", server.display());
    let got = ghes.run_with(
        &[("command", "install"), ("install", "release")],
        &[("GITHUB_SERVER_URL", server_url.as_str())],
    );
    assert!(got.ok, "{}", got.log);
    assert!(ghes.installed().exists(), "{}", got.log);

    // The archive does not match its checksum: nothing is installed, nothing falls back.
    let sums = release.join(format!("v{VERSION}/SHA256SUMS"));
    let text = std::fs::read_to_string(&sums).expect("sums");
    std::fs::write(&sums, format!("{}{}", "0".repeat(64), &text[64..])).expect("write");
    let e = error(&[("command", "install"), ("release-url", &url)]);
    assert!(e.contains("/SHA256SUMS says 0000"), "{e}");
    assert!(!runner.installed().exists());

    // The release is missing and install: release allows nothing else.
    let e = error(&[
        ("command", "install"),
        ("install", "release"),
        ("release-url", "file:///nowhere"),
    ]);
    assert!(e.contains("the release binary could not be fetched"), "{e}");
}

/// The action checks a download against the checksums its own commit holds
/// (`checksums/SHA256SUMS`), not the release's: a release whose archive and SHA256SUMS were both
/// replaced is refused, as is a changed line in the action's list; a version the list does not
/// hold falls back to the release's SHA256SUMS with a warning.
#[test]
fn the_actions_own_checksums_decide_and_a_replaced_release_is_refused() {
    let mut runner = Runner::new();
    let release = local_release(&runner.root);
    let url = release_url(&release);
    let name = format!("planner-v{VERSION}-{}.tar.gz", target());
    let dir = release.join(format!("v{VERSION}"));
    let genuine = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("sums");
    let action = runner.root.join("action");
    let pin = |line: &str| {
        let shipped = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("checksums/SHA256SUMS"),
        )
        .expect("the shipped list");
        write(
            &action.join("checksums"),
            "SHA256SUMS",
            &format!("{shipped}{line}"),
        );
    };
    runner.action_path.clone_from(&action);
    let install = |runner: &Runner| runner.run(&[("command", "install"), ("release-url", &url)]);

    // Listed: installed, checked against the action's list, no warning.
    pin(&genuine);
    let ok = install(&runner);
    assert!(ok.ok, "{}", ok.log);
    assert!(
        ok.log
            .contains("SHA-256 as this action's checksums/SHA256SUMS says"),
        "{}",
        ok.log
    );
    assert!(!ok.log.contains("::warning"), "{}", ok.log);
    std::fs::remove_dir_all(&runner.tool_cache).expect("empty the cache");

    // The release replaced, archive and its SHA256SUMS together: the action's list refuses it.
    let bytes = std::fs::read(dir.join(&name)).expect("archive");
    let mut forged = bytes.clone();
    forged.extend_from_slice(b"\0");
    std::fs::write(dir.join(&name), &forged).expect("forge");
    let digest = {
        use sha2::Digest;
        gha_planner::timings::hex(&sha2::Sha256::digest(&forged))
    };
    write(&dir, "SHA256SUMS", &format!("{digest}  {name}\n"));
    let refused = install(&runner);
    assert!(!refused.ok, "{}", refused.log);
    assert!(
        refused
            .log
            .contains("but this action's checksums/SHA256SUMS says"),
        "{}",
        refused.log
    );
    assert!(!runner.installed().exists());
    std::fs::write(dir.join(&name), &bytes).expect("restore");
    std::fs::write(dir.join("SHA256SUMS"), &genuine).expect("restore");

    // A changed line in the action's list: refused too.
    pin(&format!("{}{}", "f".repeat(64), &genuine[64..]));
    let refused = install(&runner);
    assert!(!refused.ok, "{}", refused.log);
    assert!(refused.log.contains("says ffff"), "{}", refused.log);

    // Not listed: the release's own SHA256SUMS, and a warning that says what that proves.
    pin("");
    let fallback = install(&runner);
    assert!(fallback.ok, "{}", fallback.log);
    assert!(
        fallback
            .log
            .contains("is not in this action's checksums/SHA256SUMS"),
        "{}",
        fallback.log
    );
    assert!(runner.installed().exists());
}

/// A claiming run through the action: `plan` with `claim`, three shards with `exec` one after
/// another (the first claims the whole tail), `report` with `claim`, against the local
/// references server: every test runs once, none with the token, and the references go.
#[test]
fn a_claiming_run_through_the_action() {
    let runner = Runner::new();
    let release = local_release(&runner.root);
    let url = release_url(&release);
    let ws = runner.workspace.clone();
    let d = runner.root.join("run");
    std::fs::create_dir_all(&d).expect("dir");
    let s = claim::suite(&d);
    claim::drift(&s, &d, 1.0, 1.0);
    claim::checkout(&s.dir, &ws);
    let api = Api::start();
    let refs = Refs::mount(&api, 100);
    let (drift, log, uri) = (
        d.join("drift.json").display().to_string(),
        d.join("ran.log").display().to_string(),
        api.uri(),
    );
    let env = [
        ("GITHUB_RUN_ID", "4242"),
        ("GITHUB_RUN_ATTEMPT", "1"),
        ("GITHUB_SHA", SHA),
        ("GITHUB_REPOSITORY", REPO),
        ("GITHUB_API_URL", uri.as_str()),
        ("DRIFT_SCALE", "0.5"),
        ("DRIFT_FILE", drift.as_str()),
        ("DRIFT_LOG", log.as_str()),
    ];
    let config = d.join("planner.yml").display().to_string();
    let plan = runner.run_with(
        &[
            ("command", "plan"),
            ("config", &config),
            ("claim", "true"),
            ("release-url", &url),
        ],
        &env,
    );
    assert!(plan.ok, "{}", plan.log);
    let written = read_json(&ws.join("plan.json"));
    assert_eq!(written["claim"], json!(true), "the plan claims");
    for k in 1..=3 {
        let tag = format!("action{k}");
        let (index, junit) = (k.to_string(), format!("junit-{k}"));
        let mut env = env.to_vec();
        env.push(("DRIFT_TAG", &tag));
        let shard = runner.run_with(
            &[
                ("command", "shard"),
                ("index", &index),
                ("total", "3"),
                ("exec", "true"),
                ("junit-to", &junit),
                ("release-url", &url),
            ],
            &env,
        );
        assert!(shard.ok, "{}", shard.log);
        assert!(shard.log.contains("claimed chunk(s)"), "{}", shard.log);
    }
    let (by, saw_token) = claim::ran(&d);
    let mut all: Vec<&String> = by.values().flatten().collect();
    all.sort();
    let count = all.len();
    all.dedup();
    assert_eq!(count, all.len(), "no test ran twice: {by:?}");
    assert_eq!(all.len(), s.names.len(), "every test ran: {by:?}");
    assert!(saw_token.is_empty(), "no test saw the token: {saw_token:?}");
    assert!(!refs.names().is_empty(), "the claims are references");
    let report = runner.run_with(
        &[
            ("command", "report"),
            ("junit", "junit-1\njunit-2\njunit-3"),
            ("claim", "true"),
            ("release-url", &url),
        ],
        &env,
    );
    assert!(report.ok, "{}", report.log);
    assert!(
        report.summary.contains("### Claimed tails"),
        "{}",
        report.summary
    );
    assert!(refs.names().is_empty(), "{:?}", refs.names());
    // A claim that is not true or false is refused before anything runs.
    let wrong = runner.run_with(
        &[("command", "plan"), ("config", &config), ("claim", "yes")],
        &env,
    );
    assert!(!wrong.ok);
    assert!(
        wrong
            .log
            .contains("input 'claim' is 'yes': expected true or false"),
        "{}",
        wrong.log
    );
}

/// A job of a workflow run the way a runner runs it, for `optimize`'s sharded jobs: each in a
/// fresh checkout of `project`; `run:` steps in bash, the planner's action through `Runner`,
/// artifacts and the cache as folders, checkout and set-up skipped (the tests' Python is on
/// PATH), a step with an `if:` other than `always()` (or a re-run's `github.run_attempt != '1'`)
/// skipped, and after a failed step only the `always()` ones run (`continue-on-error` is no
/// failure). Returns whether it passed; its outputs go into `ctx` as `needs.<job>.outputs.*`.
struct Jobs<'a> {
    runner: &'a Runner,
    project: PathBuf,
    url: String,
    artifacts: PathBuf,
    cache: PathBuf,
    path: String,
    /// More of the runner's environment for `run:` steps (`GITHUB_RUN_ID`, …).
    env: Vec<(String, String)>,
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(e.file_name());
        if e.file_name() == "node_modules" {
            // The installed packages, shared: a checkout's install, not its files.
            std::os::unix::fs::symlink(e.path(), &target).expect("link");
        } else if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

impl<'a> Jobs<'a> {
    /// The jobs of a runner whose checkout is the sample project `sample`, the planner from
    /// `url`, the tests' Python first on PATH.
    fn new(runner: &'a Runner, sample: &str, url: String) -> Jobs<'a> {
        Jobs::of(
            runner,
            PathBuf::from(super::fixture(&format!("projects/{sample}"))),
            url,
        )
    }

    /// The same, the checkout a copy of `project`.
    fn of(runner: &'a Runner, project: PathBuf, url: String) -> Jobs<'a> {
        let venv_bin = super::python().parent().expect("bin").to_owned();
        Jobs {
            runner,
            project,
            url,
            artifacts: runner.root.join("artifacts"),
            cache: runner.root.join("cache"),
            path: format!(
                "{}:{}",
                venv_bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
            env: Vec::new(),
        }
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one kind of step after another, as the runner does them"
    )]
    fn run(&self, id: &str, job: &Yaml, ctx: &mut BTreeMap<String, String>) -> bool {
        let ws = &self.runner.workspace;
        let _ = std::fs::remove_dir_all(ws);
        // The project where the job's `defaults.run.working-directory` says it is.
        let dir = job["defaults"]["run"]["working-directory"]
            .as_str()
            .unwrap_or_default();
        copy_dir(&self.project, &ws.join(dir));
        let env_pairs: Vec<(&str, &str)> = vec![("PATH", self.path.as_str())];
        let mut path = self.path.clone();
        // After a step fails, only the steps that run always() do; the job has failed.
        let mut failed = false;
        for (n, step) in job["steps"]
            .as_sequence()
            .expect("steps")
            .iter()
            .enumerate()
        {
            let tolerated = step["continue-on-error"] == true;
            if failed && step["if"] != "always()" {
                continue;
            }
            if let Some(cond) = step["if"].as_str()
                && cond != "always()"
                && !(cond == "github.run_attempt != '1'"
                    && ctx.get("github.run_attempt").is_some_and(|a| a != "1"))
            {
                continue;
            }
            let with = |k: &str| step["with"][k].as_str().map(|v| substitute(v, ctx));
            let uses = step["uses"].as_str().unwrap_or_default();
            let step_id = step["id"].as_str().map(str::to_owned);
            let mut outputs = BTreeMap::new();
            if uses.starts_with("actions/checkout@")
                || uses.starts_with("actions/setup-python@")
                || uses.starts_with("actions/setup-go@")
            {
                // The checkout is the job's fresh copy; the Python and the Go are the tests' own.
            } else if uses.starts_with("actions/cache/restore@") {
                if self.cache.exists() {
                    copy_dir(&self.cache, &ws.join(".planner"));
                }
            } else if uses.starts_with("actions/upload-artifact@") {
                let (name, from) = (
                    with("name").expect("name"),
                    ws.join(with("path").expect("path")),
                );
                let to = self.artifacts.join(&name);
                if from.is_dir() {
                    copy_dir(&from, &to);
                } else if from.exists() {
                    std::fs::create_dir_all(&to).expect("dir");
                    std::fs::copy(&from, to.join(from.file_name().expect("name"))).expect("copy");
                }
            } else if uses.starts_with("actions/download-artifact@") {
                let into = ws.join(with("path").unwrap_or_default());
                if let Some(name) = with("name") {
                    copy_dir(&self.artifacts.join(name), &into);
                } else {
                    let pattern = with("pattern").expect("pattern");
                    let prefix = pattern.trim_end_matches('*');
                    for e in std::fs::read_dir(&self.artifacts)
                        .expect("artifacts")
                        .flatten()
                    {
                        let name = e.file_name().to_string_lossy().into_owned();
                        if name.starts_with(prefix) {
                            copy_dir(&e.path(), &into.join(&name));
                        }
                    }
                }
            } else if uses.starts_with("gha-planner/gha-planner@") {
                let keys: Vec<(String, String)> = step["with"]
                    .as_mapping()
                    .expect("with")
                    .iter()
                    .map(|(k, v)| {
                        let v = serde_yaml::to_string(v).expect("value");
                        let v = v.trim().trim_matches('\'').to_owned();
                        (k.as_str().expect("key").to_owned(), substitute(&v, ctx))
                    })
                    .chain([("release-url".to_owned(), self.url.clone())])
                    .collect();
                let inputs: Vec<(&str, &str)> =
                    keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let done = self.runner.run_with(&inputs, &env_pairs);
                if !done.ok {
                    eprintln!("{id}: step {n}: {}", done.log);
                    failed |= !tolerated;
                    continue;
                }
                outputs = done.outputs;
                // The action puts the planner on the job's PATH, as GITHUB_PATH does.
                let bin = self.runner.installed();
                path = format!("{}:{path}", bin.parent().expect("bin").display());
            } else if let Some(script) = step["run"].as_str() {
                let files = self.runner.root.join(format!("job-{id}-{n}"));
                std::fs::create_dir_all(&files).expect("dir");
                let output = files.join("output");
                std::fs::write(&output, "").expect("file");
                let mut cmd = Command::new("bash");
                cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
                    .current_dir(ws.join(step["working-directory"].as_str().unwrap_or(dir)))
                    .env("PATH", &path)
                    .env("GITHUB_OUTPUT", &output)
                    .envs(self.env.iter().map(|(k, v)| (k, v)));
                let envs = [&job["env"], &step["env"]];
                for env in envs.into_iter().filter_map(Yaml::as_mapping) {
                    for (k, v) in env {
                        cmd.env(
                            k.as_str().expect("name"),
                            substitute(v.as_str().expect("a string"), ctx),
                        );
                    }
                }
                let (code, out, err) = split(&cmd.output().expect("bash runs"));
                if code != 0 {
                    eprintln!("{id}: step {n}: {out}{err}");
                    failed |= !tolerated;
                    continue;
                }
                outputs = read_github_output(&output);
            } else {
                panic!("{id}: step {n}: the test runner does not run `{uses}`");
            }
            if let Some(sid) = step_id {
                for (k, v) in outputs {
                    ctx.insert(format!("steps.{sid}.outputs.{k}"), v);
                }
            }
        }
        if let Some(outs) = job["outputs"].as_mapping() {
            for (k, v) in outs {
                let value = substitute(v.as_str().expect("a string"), ctx);
                ctx.insert(
                    format!("needs.{id}.outputs.{}", k.as_str().expect("key")),
                    value,
                );
            }
        }
        ctx.retain(|k, _| !k.starts_with("steps."));
        !failed
    }
}

/// `class::name` of every test case in the JUnit files of every artifact under `artifacts`.
fn junit_cases(artifacts: &Path) -> Vec<String> {
    let attr = |tag: &str, name: &str| -> String {
        tag.split(&format!(" {name}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or_default()
            .to_owned()
    };
    let mut ran = Vec::new();
    let files = std::fs::read_dir(artifacts)
        .expect("artifacts")
        .flatten()
        .filter_map(|e| std::fs::read_dir(e.path()).ok())
        .flatten()
        .flatten()
        .map(|f| f.path())
        .filter(|f| f.extension().is_some_and(|x| x == "xml"));
    for file in files {
        if let Ok(text) = std::fs::read_to_string(file) {
            ran.extend(text.split("<testcase").skip(1).map(|tag| {
                let tag = tag.split('>').next().unwrap_or_default();
                format!("{}::{}", attr(tag, "classname"), attr(tag, "name"))
            }));
        }
    }
    ran
}

/// `optimize` splits a long test job (`run`, after `setup`, in a copy of the sample project
/// `sample`, its packages installed); its jobs then run as a runner runs them: the plan lists
/// and plans the tests, each shard of the matrix runs its own, the report reads their JUnit, and
/// the gate, named as the job was, passes: every one of the project's `cases` tests ran once.
/// The diff is snapshotted as `snapshot`.
#[expect(
    clippy::too_many_lines,
    reason = "the workflow, optimize, then each job of it in the order a run takes them"
)]
fn optimize_shard_end_to_end(setup: &str, run: &str, sample: &str, cases: usize, snapshot: &str) {
    if Path::new(&super::fixture(&format!("projects/{sample}/package.json"))).exists() {
        super::installed(sample);
    }
    let runner = Runner::new();
    let release = local_release(&runner.root);
    let url = release_url(&release);
    let d = runner.root.join("wf");
    std::fs::create_dir_all(&d).expect("dir");
    let wf = write(
        &d,
        "ci.yml",
        &format!(
            "name: ci
on:
  pull_request:
permissions:
  contents: read
jobs:
  lint:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - uses: actions/checkout@v4
      - run: echo lint
  test:
    name: tests
    needs: lint
    runs-on: ubuntu-latest
    timeout-minutes: 60
{setup}      - run: echo the project installed
      - name: Run the tests
        run: {run}
"
        ),
    );
    let runs: Vec<String> = (0..5)
        .map(|k| {
            write(
                &d,
                &format!("run{k}.json"),
                &json!({"lint": 40, "tests": 1800 + 30 * k, "elsewhere": k}).to_string(),
            )
            .display()
            .to_string()
        })
        .collect();
    let out = d.join("optimized.yml");
    let mut args = vec![
        "optimize".to_owned(),
        "--workflow".to_owned(),
        wf.display().to_string(),
        "--fix".to_owned(),
        "shard".to_owned(),
        "--out".to_owned(),
        out.display().to_string(),
        "--timings".to_owned(),
    ];
    args.extend(runs.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, summary, err) = super::run(&args);
    assert_eq!(code, 0, "{err}");
    insta::with_settings!({filters => vec![(r"[^\s]*ci\.yml", "ci.yml")]}, {
        insta::assert_snapshot!(snapshot, summary);
    });
    assert_eq!(super::actionlint(&[&out]), "");
    let yaml: Yaml =
        serde_yaml::from_str(&std::fs::read_to_string(&out).expect("out")).expect("YAML");
    assert_eq!(
        yaml["jobs"]["test-gate"]["name"], "tests",
        "the check's name kept"
    );
    super::workflows::downloads_reach_earlier_attempts(&yaml, "optimized");

    let jobs = Jobs::new(&runner, sample, url);
    let mut ctx: BTreeMap<String, String> = BTreeMap::new();
    ctx.insert("github.run_id".into(), "77".into());
    ctx.insert("github.run_attempt".into(), "1".into());
    assert!(jobs.run("test-plan", &yaml["jobs"]["test-plan"], &mut ctx));
    let matrix: Value =
        serde_json::from_str(&ctx["needs.test-plan.outputs.matrix"]).expect("matrix");
    let shards = matrix["include"].as_array().expect("include").clone();
    assert!(shards.len() >= 2, "{matrix}");
    for shard in &shards {
        ctx.insert("matrix.shard".into(), shard["shard"].to_string());
        ctx.insert("matrix.total".into(), shard["total"].to_string());
        assert!(
            jobs.run("test", &yaml["jobs"]["test"], &mut ctx),
            "shard {shard}"
        );
    }
    // Every test ran once, in one shard or another.
    let mut ran = junit_cases(&jobs.artifacts);
    let count = ran.len();
    ran.sort();
    ran.dedup();
    assert_eq!((count, ran.len()), (cases, cases), "{ran:?}");
    // A re-run of the first shard (attempt 2) fetches its attempt-1 JUnit: every test of it
    // passed, so it runs none, and passes.
    ctx.insert("github.run_attempt".into(), "2".into());
    ctx.insert("matrix.shard".into(), shards[0]["shard"].to_string());
    ctx.insert("matrix.total".into(), shards[0]["total"].to_string());
    assert!(
        jobs.run("test", &yaml["jobs"]["test"], &mut ctx),
        "the re-run"
    );
    assert_eq!(
        junit_cases(&jobs.artifacts).len(),
        cases,
        "the re-run ran tests again"
    );
    assert!(jobs.run("test-report", &yaml["jobs"]["test-report"], &mut ctx));
    ctx.insert(
        "join(needs.*.result, ' ')".into(),
        "success success success".into(),
    );
    assert!(jobs.run("test-gate", &yaml["jobs"]["test-gate"], &mut ctx));
    ctx.insert(
        "join(needs.*.result, ' ')".into(),
        "success failure success".into(),
    );
    assert!(
        !jobs.run("test-gate", &yaml["jobs"]["test-gate"], &mut ctx),
        "a failed shard fails the gate"
    );
}

/// The shipped pytest workflow, run as a runner runs it on a suite with a test that fails on its
/// first run and one that always fails: attempt 1 runs every shard; attempt 2 re-runs the failed
/// shards, each fetching its attempt-1 JUnit and running only the tests that did not pass; the
/// report job (attempt 2) reads every attempt's JUnit: one failure, one flaky test.
#[test]
fn the_shipped_pytest_workflow_reruns_only_the_failed_tests() {
    let runner = Runner::new();
    let url = release_url(&local_release(&runner.root));
    let wf: Yaml = serde_yaml::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("workflows/pytest.yml"),
        )
        .expect("pytest.yml"),
    )
    .expect("YAML");
    let jobs = Jobs::new(&runner, "pytest_flaky", url);
    let mut ctx: BTreeMap<String, String> = BTreeMap::new();
    ctx.insert("github.run_id".into(), "91".into());
    ctx.insert("github.run_attempt".into(), "1".into());
    assert!(jobs.run("plan", &wf["jobs"]["plan"], &mut ctx));
    let matrix: Value = serde_json::from_str(&ctx["needs.plan.outputs.matrix"]).expect("matrix");
    let shards = matrix["include"].as_array().expect("include").clone();
    let shard_run = |ctx: &mut BTreeMap<String, String>, shard: &Value| {
        for key in ["suite", "shard", "total"] {
            let v = shard[key]
                .as_str()
                .map_or_else(|| shard[key].to_string(), str::to_owned);
            ctx.insert(format!("matrix.{key}"), v);
        }
        jobs.run("test", &wf["jobs"]["test"], ctx)
    };
    let failed: Vec<&Value> = shards.iter().filter(|s| !shard_run(&mut ctx, s)).collect();
    assert!(
        !failed.is_empty() && failed.len() < shards.len() + 1,
        "{matrix}"
    );
    ctx.insert("github.run_attempt".into(), "2".into());
    let mut again = Vec::new();
    for shard in &failed {
        let passed = shard_run(&mut ctx, shard);
        let junit = jobs
            .artifacts
            .join(format!("junit-{}-attempt-2/junit.xml", shard["shard"]));
        let text = std::fs::read_to_string(&junit).expect("attempt 2's JUnit");
        let ran: Vec<String> = text
            .split("<testcase")
            .skip(1)
            .filter_map(|t| {
                t.split(" name=\"")
                    .nth(1)?
                    .split('"')
                    .next()
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(passed, !ran.iter().any(|n| n == "test_broken"), "{ran:?}");
        again.extend(ran);
    }
    again.sort();
    assert_eq!(
        again,
        ["test_broken", "test_fails_once"],
        "attempt 2 runs only what failed"
    );
    assert!(jobs.run("report", &wf["jobs"]["report"], &mut ctx));
    let report = read_json(&runner.root.join("temp/planner-report.json"));
    let suite = &report["suites"][0];
    let ids = |key: &str| -> Vec<String> {
        suite[key]
            .as_array()
            .expect("a list")
            .iter()
            .map(|t| t["id"].as_str().expect("id").to_owned())
            .collect()
    };
    assert_eq!(
        ids("failed"),
        ["tests/test_flaky.py::test_broken"],
        "{suite}"
    );
    assert_eq!(
        ids("flaky"),
        ["tests/test_flaky.py::test_fails_once"],
        "{suite}"
    );
    assert_eq!(suite["unreported_items"], 0, "{suite}");
}

/// A pytest job, split and run: the ten tests of the sample, each once.
#[test]
fn a_pytest_job_optimize_sharded_runs_end_to_end() {
    optimize_shard_end_to_end(
        "    steps:
      # Check out and set up Python.
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: \"3.12\"
",
        "python -m pytest -q -p no:cacheprovider",
        "pytest_sample",
        10,
        "optimize_shard",
    );
}

/// The set-up of a job whose tools the runner already has.
const CHECKOUT: &str = "    steps:\n      - uses: actions/checkout@v4\n";

/// A cargo-nextest job, split and run: the plan lists the tests with `cargo nextest list` (the
/// run-only flags dropped), each shard runs its filtersets with its JUnit from a tool config;
/// the sample's four tests that are not ignored, each once.
#[test]
fn a_nextest_job_optimize_sharded_runs_end_to_end() {
    let run = "cargo nextest run --workspace --no-fail-fast --retries 0";
    optimize_shard_end_to_end(CHECKOUT, run, "nextest_sample", 4, "optimize_shard_nextest");
}

/// A jest job, split by file and run: the plan lists the files with `jest --listTests`, each
/// shard runs its files with jest-junit's report named by file; the sample's six tests (one
/// skipped), each once.
#[test]
fn a_jest_job_optimize_sharded_runs_end_to_end() {
    optimize_shard_end_to_end(
        CHECKOUT,
        "npx jest",
        "jest_sample",
        6,
        "optimize_shard_jest",
    );
}

/// A vitest job, split by file and run: the plan lists the files with `vitest list --filesOnly`,
/// each shard runs its files with vitest's junit reporter, each other file whose path holds one
/// of them excluded (`packages/web/src/math.test.js` holds `src/math.test.js`); the sample's six
/// tests (one skipped), each once.
#[test]
fn a_vitest_job_optimize_sharded_runs_end_to_end() {
    let (run, sample) = ("npx vitest run", "vitest_sample");
    optimize_shard_end_to_end(CHECKOUT, run, sample, 6, "optimize_shard_vitest");
}

/// A playwright job, split by file and run: the plan lists the files from playwright's own JSON
/// list (named from its testDir), each shard runs its files' patterns with the junit reporter;
/// the sample's four tests, each once.
#[test]
fn a_playwright_job_optimize_sharded_runs_end_to_end() {
    let (run, sample) = ("npx playwright test", "playwright_sample");
    optimize_shard_end_to_end(CHECKOUT, run, sample, 4, "optimize_shard_playwright");
}

/// A go job in a folder of the repository, split by test and run: the plan job, in the job's
/// folder and environment, lists every package's tests and examples with `go test -list`; each
/// shard runs one anchored `-run` a package under gotestsum (the line's flags kept), its JUnit
/// kept from that folder; the sample's seven tests and example, with their eight subtests, each
/// once.
#[test]
fn a_go_job_optimize_sharded_runs_end_to_end() {
    super::tools();
    optimize_shard_end_to_end(
        "    defaults:
      run:
        working-directory: services/calc
    env:
      GOFLAGS: -mod=mod
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-go@v5
        with:
          go-version: stable
",
        "go test -count=1 -timeout 5m ./...",
        "go_sample",
        16,
        "optimize_shard_go",
    );
}

/// An rspec job, split by spec file and run: the plan lists the files from rspec's own dry run,
/// each shard runs its files with rspec_junit_formatter; the sample's six examples, each once.
#[test]
fn an_rspec_job_optimize_sharded_runs_end_to_end() {
    super::tools();
    optimize_shard_end_to_end(CHECKOUT, "rspec", "rspec_sample", 6, "optimize_shard_rspec");
}

/// Lanes through the workflow `render` makes, run as a runner runs it, on a git checkout of the
/// pytest sample with three suites: a pull request that changes only the unit tests plans the
/// other two suites as skipped (`skip_N`), their jobs do not run, the report lists them as
/// skipped and the gate is green; a push to the default branch runs every suite.
#[test]
fn the_rendered_workflow_runs_only_the_lanes_a_change_touches() {
    let runner = Runner::new();
    let url = release_url(&local_release(&runner.root));
    let project = runner.root.join("project");
    copy_dir(
        Path::new(&super::fixture("projects/pytest_sample")),
        &project,
    );
    write(
        &project,
        ".github/planner.yml",
        r#"version: 1
suites:
  unit:
    runner: pytest
    items: {glob: "tests/unit/test_*.py"}
    paths: ["src/**", "tests/unit/**"]
  integration:
    runner: pytest
    items: {glob: "tests/integration/test_*.py"}
    paths: ["src/**", "tests/integration/**"]
  docs:
    runner: pytest
    items: {glob: "tests/docs/test_*.py"}
    paths: ["docs/**", "tests/docs/**"]
"#,
    );
    write(
        &project,
        "tests/docs/test_docs.py",
        "def test_links():\n    pass\n",
    );
    let git = |args: &[&str]| super::lanes::git(&project, args);
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    let base = git(&["rev-parse", "HEAD"]);
    let math = project.join("tests/unit/test_math.py");
    let mut text = std::fs::read_to_string(&math).expect("test_math");
    text.push_str("\n\ndef test_more():\n    assert 2 * 2 == 4\n");
    std::fs::write(&math, text).expect("write");
    git(&["commit", "-q", "-am", "a unit test"]);

    let (code, yaml, err) = super::split(
        &super::planner()
            .current_dir(&project)
            .args(["render", "--config", ".github/planner.yml"])
            .output()
            .expect("render"),
    );
    assert_eq!(code, 0, "{err}");
    let path = write(&runner.root, "tests.yml", &yaml);
    assert_eq!(super::actionlint(&[&path]), "");
    let wf: Yaml = serde_yaml::from_str(&yaml).expect("YAML");

    let api = Api::start();
    let mut jobs = Jobs::of(&runner, project.clone(), url);
    let summary = runner.root.join("summary.md");
    jobs.env = vec![
        ("GITHUB_RUN_ID".into(), "93".into()),
        ("GITHUB_REPOSITORY".into(), REPO.into()),
        ("GITHUB_API_URL".into(), api.uri()),
        ("GITHUB_STEP_SUMMARY".into(), summary.display().to_string()),
    ];
    let mut ctx: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in [
        ("github.run_id", "93"),
        ("github.run_attempt", "1"),
        ("github.token", "ghs_test-token"),
        ("github.event.pull_request.base.sha", base.as_str()),
        ("github.event.before", ""),
        ("github.ref", "refs/pull/7/merge"),
        ("github.event.repository.default_branch", "main"),
    ] {
        ctx.insert(k.into(), v.into());
    }
    // Each suite's job, per shard, unless the plan skips it; the jobs' results as the gate
    // reads them.
    let run_all = |ctx: &mut BTreeMap<String, String>| -> Vec<String> {
        let _ = std::fs::remove_dir_all(&jobs.artifacts);
        assert!(jobs.run("plan", &wf["jobs"]["plan"], ctx));
        let mut results = vec!["success".to_owned()];
        for n in 1..=3 {
            if ctx[&format!("needs.plan.outputs.skip_{n}")] == "true" {
                results.push("skipped".into());
                continue;
            }
            let matrix: Value =
                serde_json::from_str(&ctx[&format!("needs.plan.outputs.matrix_{n}")])
                    .expect("matrix");
            let mut ok = true;
            for shard in matrix["include"].as_array().expect("include") {
                for key in ["suite", "shard", "total"] {
                    let v = shard[key]
                        .as_str()
                        .map_or_else(|| shard[key].to_string(), str::to_owned);
                    ctx.insert(format!("matrix.{key}"), v);
                }
                ok &= jobs.run(
                    &format!("suite_{n}"),
                    &wf["jobs"][format!("suite_{n}")],
                    ctx,
                );
            }
            results.push(if ok { "success" } else { "failure" }.into());
        }
        let _ = std::fs::remove_file(&summary);
        eprintln!(
            "ARTIFACTS {:?}",
            std::fs::read_dir(&jobs.artifacts)
                .map(|d| d.flatten().map(|e| e.file_name()).collect::<Vec<_>>())
        );
        assert!(jobs.run("report", &wf["jobs"]["report"], ctx));
        results
    };
    // Suites in the config's order: docs, integration, unit.
    let results = run_all(&mut ctx);
    assert_eq!(results, ["success", "skipped", "skipped", "success"]);
    let md = std::fs::read_to_string(&summary).expect("the job summary");
    assert!(md.contains("### Suite `unit`"), "{md}");
    assert!(md.contains("### Skipped suites"), "{md}");
    for skipped in ["docs", "integration"] {
        assert!(
            md.contains(&format!(
                "| `{skipped}` | the one changed file does not run it"
            )),
            "{md}"
        );
        assert!(!md.contains(&format!("### Suite `{skipped}`")), "{md}");
    }
    ctx.insert("join(needs.*.result, ' ')".into(), results.join(" "));
    assert!(
        jobs.run("gate", &wf["jobs"]["gate"], &mut ctx),
        "the gate is green"
    );

    // A push to the default branch runs every suite.
    ctx.insert("github.event.pull_request.base.sha".into(), String::new());
    ctx.insert("github.event.before".into(), base.clone());
    ctx.insert("github.ref".into(), "refs/heads/main".into());
    let results = run_all(&mut ctx);
    assert_eq!(results, ["success", "success", "success", "success"]);
    let md = std::fs::read_to_string(&summary).expect("the job summary");
    assert!(!md.contains("Skipped suites"), "{md}");
}

/// The gate `render` makes with `pass-on-known-flakes`, run as a runner runs it: a failed shard
/// passes only when the report says every failing test is a known flake; the plan's failure, a
/// cancelled shard or a report that said nothing never pass. Without the setting, a failed shard
/// fails the gate whatever the report says.
#[test]
fn the_rendered_gate_passes_known_flakes_only_when_told() {
    let runner = Runner::new();
    let dir = runner.root.join("project");
    let config = "version: 1\npass-on-known-flakes: true\nsuites:\n  unit: {runner: pytest}\n  api: {runner: pytest}\n";
    let render = |config: &str| -> Yaml {
        let path = write(&dir, ".github/planner.yml", config);
        let (code, yaml, err) = super::run(&["render", "--config", path.to_str().expect("utf-8")]);
        assert_eq!(code, 0, "{err}");
        let wf = write(&dir, "tests.yml", &yaml);
        assert_eq!(super::actionlint(&[&wf]), "");
        serde_yaml::from_str(&yaml).expect("YAML")
    };
    let wf = render(config);
    let jobs = Jobs::of(&runner, dir.clone(), String::new());
    let gate = |wf: &Yaml, plan: &str, shards: [&str; 2], flakes_only: &str| -> bool {
        let mut ctx: BTreeMap<String, String> = BTreeMap::new();
        ctx.insert("needs.plan.result".into(), plan.into());
        ctx.insert("needs.suite_1.result".into(), shards[0].into());
        ctx.insert("needs.suite_2.result".into(), shards[1].into());
        ctx.insert(
            "needs.report.outputs.known_flakes_only".into(),
            flakes_only.into(),
        );
        ctx.insert(
            "join(needs.*.result, ' ')".into(),
            format!("{plan} {} {} success", shards[0], shards[1]),
        );
        jobs.run("gate", &wf["jobs"]["gate"], &mut ctx)
    };
    assert!(gate(&wf, "success", ["success", "skipped"], ""));
    assert!(gate(&wf, "success", ["failure", "success"], "true"));
    assert!(!gate(&wf, "success", ["failure", "success"], "false"));
    assert!(!gate(&wf, "success", ["failure", "success"], ""));
    assert!(!gate(&wf, "failure", ["skipped", "skipped"], "true"));
    assert!(!gate(&wf, "success", ["cancelled", "success"], "true"));
    let off = render(&config.replace("pass-on-known-flakes: true\n", ""));
    assert!(!gate(&off, "success", ["failure", "success"], "true"));
    assert!(gate(&off, "success", ["success", "success"], "true"));
}

/// A shard whose list is long is given in `items-file` only: its `items` output stays empty
/// (outputs hold 1 MB), with a notice; a short one is in both.
#[test]
fn a_long_shard_list_is_not_copied_into_an_output() {
    let runner = Runner::new();
    let url = release_url(&local_release(&runner.root));
    let ws = runner.workspace.clone();
    let mut long = String::new();
    for k in 0..6000 {
        let _ = writeln!(long, "tests/test_module_{k:05}.py");
    }
    write(&ws, "long.txt", &long);
    write(&ws, "short.txt", "tests/test_a.py\ntests/test_b.py\n");
    for (items, copied) in [("short.txt", true), ("long.txt", false)] {
        let shard = runner.run(&[
            ("command", "shard"),
            ("items", items),
            ("index", "1"),
            ("total", "1"),
            ("release-url", &url),
        ]);
        assert!(shard.ok, "{}", shard.log);
        let listed = std::fs::read_to_string(&shard.outputs["items-file"]).expect("items-file");
        let want = std::fs::read_to_string(ws.join(items)).expect("items");
        assert_eq!(listed, want, "items-file holds the whole shard");
        assert_eq!(shard.outputs["count"], want.lines().count().to_string());
        if copied {
            assert_eq!(shard.outputs["items"], want.trim_end());
        } else {
            // The runner gives an empty output as none.
            assert_eq!(
                shard.outputs.get("items").map_or("", String::as_str),
                "",
                "a 100 KB list in an output"
            );
            assert!(shard.log.contains("in items-file only"), "{}", shard.log);
        }
    }
}
