//! The workflows the repository ships (workflows/ to copy, .github/workflows/ its own) follow the
//! rules that make sharding safe: least privilege, the plan pinned for every shard and re-run,
//! the history cached under a unique key, restored and saved apart, saved from the default
//! branch only and even when tests fail, and the action pinned to this version. (actionlint and
//! the schema check them too: render.rs.)

use std::path::{Path, PathBuf};

use serde_yaml::Value;

use super::{samples, write};

const RUNNERS: [&str; 6] = ["go", "jest", "nextest", "playwright", "pytest", "rspec"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(p: &Path) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(p).expect("read")).expect("YAML")
}

/// Every step of every job, with its job's id.
fn steps(wf: &Value) -> Vec<(String, &Value)> {
    wf["jobs"]
        .as_mapping()
        .expect("jobs")
        .iter()
        .flat_map(|(id, job)| {
            let id = id.as_str().expect("id").to_owned();
            job["steps"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(move |s| (id.clone(), s))
        })
        .collect()
}

fn uses(step: &Value) -> &str {
    step["uses"].as_str().unwrap_or_default()
}

/// Every download of `wf` reaches earlier attempts' artifacts: through the API, with the token
/// and the run's id (a re-run of a failed job sees them no other way), in a job whose token reads
/// actions where the workflow or the job sets permissions.
pub fn downloads_reach_earlier_attempts(wf: &Value, name: &str) {
    let mut seen = 0;
    for (id, job) in wf["jobs"].as_mapping().expect("jobs") {
        for step in job["steps"].as_sequence().into_iter().flatten() {
            if !uses(step).starts_with("actions/download-artifact@") {
                continue;
            }
            seen += 1;
            assert_eq!(
                step["with"]["github-token"], "${{ github.token }}",
                "{name}: {id:?}"
            );
            assert_eq!(
                step["with"]["run-id"], "${{ github.run_id }}",
                "{name}: {id:?}"
            );
            let perms = if job["permissions"].is_null() {
                &wf["permissions"]
            } else {
                &job["permissions"]
            };
            assert!(
                perms.is_null() || perms["actions"] == "read" || perms.is_string(),
                "{name}: job {id:?} downloads without actions: read"
            );
        }
    }
    assert!(seen > 0, "{name}: no download");
}

/// A re-run of a shard runs only what did not pass: each attempt keeps its JUnit apart and a
/// re-run fetches the shard's earlier ones for `rerun-failed`.
fn reruns_only_what_failed(all: &[(String, &Value)], name: &str) {
    let shard = all
        .iter()
        .find(|(job, s)| job == "test" && s["with"]["command"] == "shard")
        .expect("the shard step");
    assert_eq!(shard.1["with"]["rerun-failed"], "planner-earlier", "{name}");
    assert!(
        all.iter().any(|(job, s)| job == "test"
            && s["if"] == "github.run_attempt != '1'"
            && s["with"]["pattern"] == "junit-${{ matrix.shard }}-attempt-*"
            && s["with"]["path"] == "planner-earlier"),
        "{name}: a re-run fetches the shard's earlier JUnit"
    );
}

#[test]
fn ready_to_copy_workflows_exist_for_every_runner_and_follow_the_rules() {
    let version = env!("CARGO_PKG_VERSION");
    for runner in RUNNERS {
        let path = root().join(format!("workflows/{runner}.yml"));
        let wf = load(&path);
        let name = path.display().to_string();
        assert_eq!(wf["permissions"]["contents"], "read", "{name}");
        for (id, job) in wf["jobs"].as_mapping().expect("jobs") {
            let perms = serde_yaml::to_string(&job["permissions"]).expect("YAML");
            assert!(!perms.contains("write"), "{name}: job {id:?} writes");
        }
        assert_eq!(
            wf["jobs"]["report"]["permissions"]["actions"], "read",
            "{name}: the report reads the run's jobs"
        );
        downloads_reach_earlier_attempts(&wf, &name);
        let all = steps(&wf);
        // The action, pinned to this version, plans, shards and reports.
        let commands: Vec<(&str, &str)> = all
            .iter()
            .filter(|(_, s)| uses(s).starts_with("gha-planner/gha-planner@"))
            .map(|(job, s)| {
                assert_eq!(
                    uses(s),
                    format!("gha-planner/gha-planner@v{version}"),
                    "{name}"
                );
                (
                    job.as_str(),
                    s["with"]["command"].as_str().expect("command"),
                )
            })
            .collect();
        assert_eq!(
            commands,
            [("plan", "plan"), ("test", "shard"), ("report", "report")],
            "{name}"
        );
        // The shards read the plan the plan job pinned, never plan again.
        assert!(
            all.iter().any(|(job, s)| job == "test"
                && uses(s).starts_with("actions/download-artifact@")
                && s["with"]["name"] == "planner-plan"),
            "{name}: shards fetch the pinned plan"
        );
        reruns_only_what_failed(&all, &name);
        // Re-runs replace their JUnit artifact instead of failing on it.
        let junit = all
            .iter()
            .find(|(job, s)| job == "test" && uses(s).starts_with("actions/upload-artifact@"))
            .expect("a JUnit upload");
        assert_eq!(junit.1["with"]["overwrite"], true, "{name}");
        assert_eq!(junit.1["if"], "always()", "{name}");
        // The history: restored in plan and report, saved in report from the default branch only.
        let caches: Vec<(&str, &str)> = all
            .iter()
            .filter(|(_, s)| uses(s).starts_with("actions/cache"))
            .map(|(job, s)| {
                let key = s["with"]["key"].as_str().expect("key");
                assert!(key.contains("${{ github.run_id }}-${{ github.run_attempt }}"), "{name}: {key}");
                if uses(s).starts_with("actions/cache/restore@") {
                    assert!(s["with"]["restore-keys"].is_string(), "{name}");
                } else {
                    assert!(uses(s).starts_with("actions/cache/save@"), "{name}: {}", uses(s));
                    assert_eq!(
                        s["if"],
                        "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)",
                        "{name}"
                    );
                }
                (job.as_str(), uses(s).split('@').next().unwrap_or_default())
            })
            .collect();
        assert_eq!(
            caches,
            [
                ("plan", "actions/cache/restore"),
                ("report", "actions/cache/restore"),
                ("report", "actions/cache/save")
            ],
            "{name}"
        );
        let report_if = wf["jobs"]["report"]["if"].as_str().expect("report if");
        assert!(
            report_if.starts_with("always()"),
            "{name}: the report runs when tests fail"
        );
        // The shard jobs are named as the report finds them.
        assert_eq!(
            wf["jobs"]["test"]["name"],
            "${{ matrix.suite }} ${{ matrix.shard }}/${{ matrix.total }}",
            "{name}"
        );
        // Every script step says its shell.
        for (job, s) in &all {
            if s["run"].is_string() {
                assert_eq!(s["shell"], "bash", "{name}: job {job}: {:?}", s["name"]);
            }
        }
    }
}

#[test]
fn the_projects_own_ci_shards_its_tests_through_the_local_action() {
    let wf = load(&root().join(".github/workflows/ci.yml"));
    let all = steps(&wf);
    let local: Vec<(&str, &str)> = all
        .iter()
        .filter(|(_, s)| uses(s) == "./")
        .map(|(job, s)| {
            (
                job.as_str(),
                s["with"]["command"].as_str().expect("command"),
            )
        })
        .collect();
    assert_eq!(
        local,
        [("plan", "plan"), ("test", "shard"), ("report", "report")]
    );
    let nextest = all
        .iter()
        .filter_map(|(_, s)| s["run"].as_str())
        .any(|r| r.contains("cargo nextest run --profile ci"));
    assert!(nextest, "the shards run nextest with the JUnit profile");
    let config = std::fs::read_to_string(root().join(".config/nextest.toml")).expect("config");
    assert!(config.contains("[profile.ci.junit]"));

    let release = load(&root().join(".github/workflows/release.yml"));
    let targets: Vec<&str> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .expect("targets")
        .iter()
        .map(|t| t["target"].as_str().expect("target"))
        .collect();
    // Every target the action downloads for.
    let action = std::fs::read_to_string(root().join("action.yml")).expect("action");
    for t in &targets {
        assert!(
            action.contains(&format!("target={t} ;;")),
            "{t} in action.yml"
        );
    }
    assert_eq!(targets.len(), 6);
    assert_eq!(release["permissions"]["contents"], "read");
    assert_eq!(
        release["jobs"]["release"]["permissions"]["contents"],
        "write"
    );
}

/// The claiming workflow writes references only where it must: the shards claim and the report
/// deletes (`contents: write` in those two jobs alone); the plan job decides claiming once, off
/// for a fork's pull request; the gate waits for the report, which fails on an unclaimed chunk.
#[test]
fn the_claiming_workflow_writes_only_where_it_claims_and_decides_once() {
    let path = root().join("workflows/pytest-claim.yml");
    let wf = load(&path);
    assert_eq!(wf["permissions"]["contents"], "read");
    for (id, job) in wf["jobs"].as_mapping().expect("jobs") {
        let id = id.as_str().expect("a job id");
        let writes = job["permissions"]["contents"] == "write";
        assert_eq!(writes, id == "test" || id == "report", "job {id}");
    }
    let all = steps(&wf);
    let run_of = |job: &str, needle: &str| {
        all.iter()
            .filter(|(j, _)| j == job)
            .filter_map(|(_, s)| s["run"].as_str().map(|r| (s, r)))
            .find(|(_, r)| r.contains(needle))
    };
    let (plan, script) = run_of("plan", "planner plan").expect("the plan step");
    assert!(
        script.contains("--claim") && script.contains("$CLAIM"),
        "{script}"
    );
    let decide = plan["env"]["CLAIM"].as_str().expect("CLAIM");
    assert!(
        decide.contains("head.repo.full_name == github.repository"),
        "{decide}"
    );
    let (_, shard) = run_of("test", "planner shard").expect("the shard step");
    assert!(
        shard.contains("--exec") && shard.contains("--plan plan.json"),
        "{shard}"
    );
    let (_, report) = run_of("report", "planner report").expect("the report step");
    assert!(
        report.contains("--claims") && report.contains("--run-id"),
        "{report}"
    );
    let needs = serde_yaml::to_string(&wf["jobs"]["gate"]["needs"]).expect("YAML");
    assert!(needs.contains("report"), "{needs}");
}

/// Every action the shipped files use is pinned by its commit, with the tag it had in a comment
/// (`uses: actions/checkout@<40 hex> # v4.4.0`): a moved tag cannot change what runs. The local
/// action (`./`) and this project's own (pinned to the release it ships with) are the exceptions.
#[test]
fn the_shipped_files_pin_every_action_by_commit_with_its_tag_beside() {
    let mut files: Vec<PathBuf> = vec![root().join("action.yml")];
    for dir in ["workflows", ".github/workflows"] {
        for entry in std::fs::read_dir(root().join(dir)).expect("dir") {
            files.push(entry.expect("entry").path());
        }
    }
    let mut pinned = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in text.lines().enumerate() {
            let Some((_, rest)) = line.split_once("uses: ") else {
                continue;
            };
            if rest.starts_with("./") || rest.starts_with("gha-planner/gha-planner@v") {
                continue;
            }
            let at = format!("{}:{}", file.display(), n + 1);
            let (action, tail) = rest
                .split_once('@')
                .unwrap_or_else(|| panic!("{at}: {rest}"));
            let (sha, tag) = tail
                .split_once(" # ")
                .unwrap_or_else(|| panic!("{at}: no # tag"));
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{at}: {action} is pinned by `{sha}`, not by a commit"
            );
            assert!(!tag.trim().is_empty(), "{at}: the tag comment is empty");
            pinned += 1;
        }
    }
    assert!(
        pinned > 100,
        "{pinned} pinned uses: the files were not read"
    );
}

/// The `run` script of the step named `name` in job `job`.
fn step_script(wf: &Value, job: &str, name: &str) -> String {
    wf["jobs"][job]["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == name)
        .and_then(|s| s["run"].as_str())
        .unwrap_or_else(|| panic!("no step {name} in job {job}"))
        .to_owned()
}

/// A step's script run as the runner runs it (`bash -eo pipefail`) in `cwd`: its stdout.
fn run_script(script: &str, cwd: &Path, env: &[(&str, &std::ffi::OsStr)]) -> String {
    let out = std::process::Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .current_dir(cwd)
        .envs(env.iter().copied())
        .output()
        .expect("bash runs");
    let (code, out, err) = super::split(&out);
    assert_eq!(code, 0, "{out}{err}");
    out
}

/// The names of an ELF file's sections (64-bit, little-endian), from its section headers.
fn elf_sections(bytes: &[u8]) -> Vec<String> {
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let u64_at = |at: usize| {
        usize::try_from(u64::from_le_bytes(
            bytes[at..at + 8].try_into().expect("8 bytes"),
        ))
        .expect("fits")
    };
    assert_eq!(&bytes[..5], b"\x7fELF\x02", "a 64-bit ELF file");
    let (offset, size, count, names) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let header = |i: usize| offset + i * size;
    let strings = u64_at(header(names) + 0x18);
    (0..count)
        .map(|i| {
            let at = strings
                + usize::try_from(u32::from_le_bytes(
                    bytes[header(i)..header(i) + 4].try_into().expect("4 bytes"),
                ))
                .expect("fits");
            let end = bytes[at..].iter().position(|&b| b == 0).expect("a name") + at;
            String::from_utf8_lossy(&bytes[at..end]).into_owned()
        })
        .collect()
}

/// The release workflow's own Build and Pack steps, run for this machine's target: the binary
/// they pack carries no symbols and no debug information, and stays small (unstripped, with the
/// line tables the release profile once kept, it was 56 MB, 14 MB packed).
#[test]
fn the_release_workflow_packs_a_stripped_binary_of_a_few_megabytes() {
    let release = load(&root().join(".github/workflows/release.yml"));
    let script = |name: &str| step_script(&release, "build", name);
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let dir = super::tmp();
    let version = env!("CARGO_PKG_VERSION");
    let bash = |cwd: &Path, script: &str| {
        let env = [("TARGET", target.as_ref()), ("VERSION", version.as_ref())];
        run_script(script, cwd, &env);
    };
    bash(&root(), &script("Build"));
    // Pack in a folder of its own, reading the built binary where Build left it.
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    std::os::unix::fs::symlink(&target_dir, dir.path().join("target")).expect("link");
    std::fs::copy(root().join("README.md"), dir.path().join("README.md")).expect("copy");
    bash(dir.path(), &script("Pack"));

    let name = format!("planner-v{version}-{target}");
    let archive = dir.path().join(format!("dist/{name}.tar.gz"));
    let packed = std::fs::metadata(&archive).expect("the archive").len();
    let status = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .current_dir(dir.path())
        .status()
        .expect("tar runs");
    assert!(status.success());
    let binary = std::fs::read(dir.path().join(format!("{name}/planner"))).expect("the binary");
    let sections = elf_sections(&binary);
    assert!(sections.iter().any(|s| s == ".text"), "{sections:?}");
    let kept: Vec<&String> = sections
        .iter()
        .filter(|s| *s == ".symtab" || s.starts_with(".debug"))
        .collect();
    assert!(
        kept.is_empty(),
        "symbols or debug information left in: {kept:?}"
    );
    let mb = |n: u64| n / 1_000_000;
    assert!(binary.len() < 16_000_000, "{} MB", binary.len() / 1_000_000);
    assert!(packed < 6_000_000, "{} MB packed", mb(packed));
}

/// `planner timings merge INPUT --out STORE`.
fn merge_into(store: &Path, input: &Path) {
    let (code, _, e) = super::run(&[
        "timings",
        "merge",
        input.to_str().expect("UTF-8"),
        "--out",
        store.to_str().expect("UTF-8"),
    ]);
    assert_eq!(code, 0, "{e}");
}

/// Commits everything in `repo` and pushes it to origin's main.
fn push_all(repo: &Path, message: &str) {
    use super::lanes::git;
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", message]);
    git(repo, &["push", "-q", "origin", "HEAD:main"]);
}

/// The committed-history workflow's `history` job, its script run against a real git remote
/// whose branch moved during the run (another run committed its history meanwhile): the push
/// lands, and the branch's history holds the pytest-split file it started from, the other run
/// and this run, each once, with `.test_durations` written from it. Run again, it commits
/// nothing.
#[test]
fn the_committed_history_lands_on_a_branch_that_moved_and_loses_no_run() {
    use super::lanes::git;
    let wf = load(&root().join("workflows/pytest-committed.yml"));
    let script = step_script(&wf, "history", "Commit the history to the branch");
    assert_eq!(wf["permissions"]["contents"], "read");
    for (id, job) in wf["jobs"].as_mapping().expect("jobs") {
        let writes = job["permissions"]["contents"] == "write";
        assert_eq!(
            writes,
            id == "history",
            "only the history job writes: {id:?}"
        );
    }
    let only_default = wf["jobs"]["history"]["if"].as_str().expect("if");
    assert!(
        only_default.contains("github.event.repository.default_branch"),
        "{only_default}"
    );
    let dir = super::tmp();
    let d = dir.path();
    let origin = d.join("origin.git");
    git(
        d,
        &[
            "init",
            "-q",
            "--bare",
            "-b",
            "main",
            origin.to_str().unwrap(),
        ],
    );
    let clone = |name: &str| {
        git(d, &["clone", "-q", origin.to_str().unwrap(), name]);
        d.join(name)
    };
    // The project commits pytest-split's file.
    let seed = clone("seed");
    write(
        &seed,
        ".test_durations",
        r#"{"t.py::a": 1.0, "t.py::b": 2.0}"#,
    );
    push_all(&seed, "durations");
    // This run checked out that commit; its report learned this run into a store.
    let work = clone("work");
    let ours = d.join("ours");
    let this_run = write(d, "this-run.json", r#"{"t.py::a": 3.0, "t.py::b": 4.0}"#);
    merge_into(&ours.join("history.json"), &this_run);
    write(&ours, "report.json", "{}");
    // Meanwhile another run committed its history.
    let other_run = write(d, "other-run.json", r#"{"t.py::a": 5.0}"#);
    let other = seed.join(".planner/history.json");
    merge_into(&other, &seed.join(".test_durations"));
    merge_into(&other, &other_run);
    push_all(&seed, "the other run");

    let planner_dir = Path::new(env!("CARGO_BIN_EXE_planner"))
        .parent()
        .expect("dir")
        .to_owned();
    let path = format!(
        "{}:{}",
        planner_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let commit = || {
        let env = [
            ("PATH", path.as_ref()),
            ("OURS", ours.as_os_str()),
            ("BRANCH", "main".as_ref()),
            ("RUN", "42".as_ref()),
        ];
        run_script(&script, &work, &env)
    };
    commit();
    let check = clone("check");
    let log = git(&check, &["log", "--format=%s"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "Timing history of run 42 [skip ci]",
            "the other run",
            "durations"
        ]
    );
    let history = check.join(".planner/history.json");
    assert_eq!(
        samples(&history, "t.py::a"),
        [1000, 5000, 3000],
        "each run once, in order"
    );
    assert_eq!(samples(&history, "t.py::b"), [2000, 4000]);
    let durations: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(check.join(".test_durations")).expect("file"),
    )
    .expect("JSON");
    assert_eq!(
        durations.as_object().map(serde_json::Map::len),
        Some(2),
        "{durations}"
    );

    // Again, with the branch holding this run already: nothing to commit.
    assert!(commit().contains("already holds this run's history"));
    let check = clone("check-again");
    assert_eq!(git(&check, &["log", "--format=%s"]).lines().count(), 3);
}
