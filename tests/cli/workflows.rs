//! The workflows the repository ships (workflows/ to copy, .github/workflows/ its own) follow the
//! rules that make sharding safe: least privilege, the plan pinned for every shard and re-run,
//! the history cached under a unique key, restored and saved apart, saved from the default
//! branch only and even when tests fail, and the action pinned to this version. (actionlint and
//! the schema check them too: render.rs.)

use std::path::{Path, PathBuf};

use serde_yaml::Value;

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
                (job.as_str(), uses(s))
            })
            .collect();
        assert_eq!(
            caches,
            [
                ("plan", "actions/cache/restore@v4"),
                ("report", "actions/cache/restore@v4"),
                ("report", "actions/cache/save@v4")
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
