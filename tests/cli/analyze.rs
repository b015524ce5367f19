//! `planner analyze` on the six real workflows and on small ones worked out by hand.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::{fixture, run, tmp, write};

pub(super) const REAL: [&str; 6] = [
    "tokio-rs_tokio__ci.yml",
    "denoland_deno__ci.generated.yml",
    "astral-sh_ruff__ci.yaml",
    "astral-sh_uv__ci.yml",
    "bevyengine_bevy__ci.yml",
    "rust-lang_cargo__main.yml",
];

fn depth(job: &str, needs: &BTreeMap<String, Vec<String>>) -> usize {
    1 + needs[job]
        .iter()
        .map(|n| depth(n, needs))
        .max()
        .unwrap_or(0)
}

/// The longest chain of `needs`, counted in jobs, straight from the YAML: an oracle that shares
/// no code with the planner.
fn longest_needs_chain(path: &str) -> usize {
    let v: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path).expect("read")).expect("yaml");
    let jobs = v["jobs"].as_mapping().expect("jobs");
    let needs: BTreeMap<String, Vec<String>> = jobs
        .iter()
        .map(|(k, j)| {
            let n = match &j["needs"] {
                serde_yaml::Value::String(s) => vec![s.clone()],
                serde_yaml::Value::Sequence(l) => l
                    .iter()
                    .map(|x| x.as_str().expect("need").to_owned())
                    .collect(),
                _ => Vec::new(),
            };
            (k.as_str().expect("id").to_owned(), n)
        })
        .collect();
    needs.keys().map(|j| depth(j, &needs)).max().expect("jobs")
}

#[test]
fn every_real_workflow_has_a_critical_path_as_long_as_its_longest_needs_chain() {
    for name in REAL {
        let path = fixture(&format!("workflows/{name}"));
        let (code, out, err) = run(&["analyze", "--workflow", &path, "--format", "json"]);
        assert_eq!(code, 0, "{name}: {err}");
        let a: serde_json::Value = serde_json::from_str(&out).expect("JSON");
        let chain = longest_needs_chain(&path);
        let path_len = a["critical_path"].as_array().expect("critical_path").len();
        assert_eq!(
            path_len, chain,
            "{name}: critical path against the longest chain"
        );
        let phases = a["phases"].as_array().expect("phases");
        assert_eq!(phases.len(), chain, "{name}: one phase per level");
        // Every job sits in exactly one phase.
        let mut in_phases: Vec<&str> = phases
            .iter()
            .flat_map(|p| p.as_array().expect("a phase lists jobs"))
            .map(|j| j.as_str().expect("a job name"))
            .collect();
        let total = in_phases.len();
        in_phases.sort_unstable();
        in_phases.dedup();
        assert_eq!(in_phases.len(), total, "{name}: a job in two phases");
        assert_eq!(total, a["jobs"].as_array().expect("jobs").len());
    }
}

#[test]
fn reports_of_the_real_workflows() {
    for name in REAL {
        let path = fixture(&format!("workflows/{name}"));
        let (code, out, err) = run(&["analyze", "--workflow", &path]);
        assert_eq!(code, 0, "{err}");
        insta::with_settings!({filters => vec![(r"[^\s(]*tests/fixtures/", "[fixtures]/")]}, {
            insta::assert_snapshot!(format!("analyze_{name}"), out);
        });
    }
}

const SMALL: &str = "name: small
on: push
jobs:
  lint: {runs-on: ubuntu-latest, timeout-minutes: 10}
  typos: {runs-on: ubuntu-latest}
  build:
    runs-on: ubuntu-latest
    needs: lint
    timeout-minutes: 60
  test:
    needs: build
    runs-on: ${{ matrix.os }}
    strategy:
      matrix:
        os: [ubuntu-latest, macos-latest]
  docs: {runs-on: ubuntu-latest, needs: lint}
  deploy: {runs-on: ubuntu-latest, needs: [test, docs], if: github.ref == 'refs/heads/main'}
";

/// Five runs of job timings, each the same: job name → seconds.
fn five_runs(dir: &std::path::Path, secs: &[(&str, f64)]) -> Vec<String> {
    (0..5)
        .map(|k| {
            // The same durations each run: estimates equal them exactly.
            let mut map: serde_json::Map<String, serde_json::Value> = secs
                .iter()
                .map(|(n, s)| ((*n).to_owned(), serde_json::json!(s)))
                .collect();
            // Identical observations merge once; a job of another workflow tells the runs apart.
            map.insert("elsewhere".into(), serde_json::json!(k + 1));
            write(
                dir,
                &format!("run{k}.json"),
                &serde_json::Value::Object(map).to_string(),
            )
            .display()
            .to_string()
        })
        .collect()
}

/// `analyze --format json` of a workflow with timings (none: every job the default), which must
/// succeed.
pub(super) fn analyze_json(
    wf: &std::path::Path,
    runs: &[String],
    extra: &[&str],
) -> serde_json::Value {
    let mut args = vec![
        "analyze",
        "--workflow",
        wf.to_str().expect("utf-8"),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    if !runs.is_empty() {
        args.push("--timings");
        args.extend(runs.iter().map(String::as_str));
    }
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("JSON")
}

#[test]
fn a_small_workflow_worked_out_by_hand() {
    let dir = tmp();
    let wf = write(dir.path(), "ci.yml", SMALL);
    let runs = five_runs(
        dir.path(),
        &[
            ("lint", 60.0),
            ("typos", 20.0),
            ("build", 120.0),
            ("test (ubuntu-latest)", 1200.0),
            ("test (macos-latest)", 900.0),
            ("docs", 60.0),
            ("deploy", 30.0),
        ],
    );
    let a = analyze_json(&wf, &runs, &[]);
    assert_eq!(
        a["critical_path"],
        serde_json::json!(["lint", "build", "test (ubuntu-latest)", "deploy"])
    );
    // 60 + 120 + 1200 + 30 s.
    assert_eq!(a["critical_path_seconds"], 1410.0);
    assert_eq!(
        a["phases"],
        serde_json::json!([
            ["lint", "typos"],
            ["build", "docs"],
            ["test (ubuntu-latest)", "test (macos-latest)"],
            ["deploy"]
        ])
    );
    let job = |n: &str| {
        a["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .find(|j| j["name"] == n)
            .expect("the job")
            .clone()
    };
    // docs needs only lint and deploy waits for it: it may take as long as build and test
    // (120 + 1200 s) instead of its 60.
    assert_eq!(job("docs")["slack_seconds"], 1260.0);
    assert_eq!(job("test (macos-latest)")["slack_seconds"], 300.0);
    assert_eq!(job("test (macos-latest)")["pool"], "macos-latest");
    assert_eq!(a["predicted_wall_seconds"], 1410.0, "20 runners are plenty");

    let kinds: Vec<&str> = a["advice"]
        .as_array()
        .expect("advice")
        .iter()
        .map(|x| x["kind"].as_str().expect("kind"))
        .collect();
    assert!(
        kinds.contains(&"shard"),
        "the 20-minute test job binds: {kinds:?}"
    );
    // Timeouts: test has none (6 h by default), build's 60 is over 3× what its runs need.
    let timeouts: Vec<String> = a["advice"]
        .as_array()
        .expect("advice")
        .iter()
        .filter(|x| x["kind"] == "timeout")
        .map(|x| x["jobs"][0].as_str().expect("job").to_owned())
        .collect();
    assert!(timeouts.contains(&"test".to_owned()), "{timeouts:?}");
    assert!(timeouts.contains(&"build".to_owned()), "{timeouts:?}");
    assert!(
        !timeouts.contains(&"lint".to_owned()),
        "10 minutes fits lint's 1: {timeouts:?}"
    );
    let shard = a["advice"]
        .as_array()
        .expect("advice")
        .iter()
        .find(|x| x["kind"] == "shard")
        .expect("shard advice");
    // Two shards of 30 + 1170/2 s: the macOS test (900 s) binds then, 300 s sooner.
    assert_eq!(shard["wall_seconds_delta"], -300.0);

    // One runner in all: everything in turn, the sum of the work.
    let one = analyze_json(&wf, &runs, &["--capacity", "total=1"]);
    assert_eq!(one["predicted_wall_seconds"], one["total_work_seconds"]);
    // And shards of one job only add start-ups: it once advised 6 shards "22m instead of 38m".
    let kinds: Vec<&str> = one["advice"]
        .as_array()
        .expect("advice")
        .iter()
        .map(|x| x["kind"].as_str().expect("kind"))
        .collect();
    assert!(!kinds.contains(&"shard"), "one runner: {}", one["advice"]);
}

#[test]
fn cheap_checks_in_front_of_long_jobs_and_tiny_jobs_are_found() {
    let dir = tmp();
    let wf = write(
        dir.path(),
        "ci.yml",
        "on: push
jobs:
  fmt: {runs-on: ubuntu-latest}
  typos: {runs-on: ubuntu-latest}
  check-version: {runs-on: ubuntu-latest}
  test: {runs-on: ubuntu-latest, needs: [fmt]}
  release: {runs-on: ubuntu-latest, needs: [check-version], if: \"needs.check-version.outputs.ok == 'true'\"}
",
    );
    let runs = five_runs(
        dir.path(),
        &[
            ("fmt", 50.0),
            ("typos", 10.0),
            ("check-version", 10.0),
            ("test", 1200.0),
            ("release", 60.0),
        ],
    );
    let a = analyze_json(&wf, &runs, &[]);
    let advice = a["advice"].as_array().expect("advice");
    let needs: Vec<&serde_json::Value> = advice.iter().filter(|x| x["kind"] == "needs").collect();
    assert_eq!(needs.len(), 1, "{advice:?}");
    assert_eq!(needs[0]["jobs"], serde_json::json!(["test", "fmt"]));
    assert_eq!(needs[0]["wall_seconds_delta"], -50.0);
    // release reads check-version's output: that edge is needed, whatever it costs.
    let group = advice
        .iter()
        .find(|x| x["kind"] == "group")
        .expect("group advice");
    assert_eq!(
        group["jobs"],
        serde_json::json!(["fmt", "typos", "check-version"])
    );
}

/// Grouping advice counts what merging saves: three 5 s jobs, shorter than the assumed 30 s
/// start-up, bill 3 minutes apart and 1 together; two 55 s jobs bill 2 either way, so nothing
/// is said of them.
#[test]
fn grouping_advice_says_what_it_saves_and_nothing_when_it_saves_nothing() {
    let dir = tmp();
    let wf = write(
        dir.path(),
        "ci.yml",
        "on: push
jobs:
  a: {runs-on: ubuntu-latest}
  b: {runs-on: ubuntu-latest}
  c: {runs-on: ubuntu-latest}
  slow-a: {runs-on: ubuntu-latest, needs: [a, b, c]}
  slow-b: {runs-on: ubuntu-latest, needs: [a, b, c]}
",
    );
    let runs = five_runs(
        dir.path(),
        &[
            ("a", 5.0),
            ("b", 5.0),
            ("c", 5.0),
            ("slow-a", 55.0),
            ("slow-b", 55.0),
        ],
    );
    let a = analyze_json(&wf, &runs, &[]);
    let groups: Vec<&serde_json::Value> = a["advice"]
        .as_array()
        .expect("advice")
        .iter()
        .filter(|x| x["kind"] == "group")
        .collect();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0]["jobs"], serde_json::json!(["a", "b", "c"]));
    let message = groups[0]["message"].as_str().expect("message");
    assert!(message.contains("save about 2 billed minutes"), "{message}");
}

#[test]
fn broken_graphs_are_clear_errors() {
    let dir = tmp();
    let wf = write(
        dir.path(),
        "ci.yml",
        "on: push\njobs:\n  a: {runs-on: x, needs: b}\n  b: {runs-on: x, needs: a}\n",
    );
    let (code, _, err) = run(&["analyze", "--workflow", wf.to_str().expect("utf-8")]);
    assert_eq!(code, 3);
    assert!(
        err.contains("the jobs `a` → `b` need each other in a cycle"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "analyze",
        "--workflow",
        wf.to_str().expect("utf-8"),
        "--capacity",
        "ubuntu",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("expected LABEL=N"), "{err}");
    let (code, _, err) = run(&["analyze", "--workflow", "no/such.yml"]);
    assert_eq!(code, 4, "{err}");
}

/// A matrix was expanded in full before GitHub's 256-job check: 10^8 combinations ran out of
/// memory, and two 10^4-combination jobs linked by `needs` took over 60 s and 1.5 GB. Now the
/// count comes first, and a job over the limit counts as one.
#[test]
fn huge_matrices_are_counted_not_built() {
    let dir = tmp();
    let values: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    let list = format!("[{}]", values.join(", "));
    let eight = "        kK: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n";
    let eight: String = (0..8).map(|k| eight.replace('K', &k.to_string())).collect();
    let wf = format!(
        "on: push\njobs:\n  huge:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n{eight}    steps: [{{run: 'true'}}]\n  \
         wide:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        a: {list}\n        b: {list}\n    steps: [{{run: 'true'}}]\n  \
         after:\n    needs: wide\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        a: {list}\n        b: {list}\n    steps: [{{run: 'true'}}]\n"
    );
    let path = write(dir.path(), "wf.yml", &wf);
    let (code, out, err) = run(&["analyze", "--workflow", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("`huge`: 100000000 matrix combinations before `exclude`, far over GitHub's limit of 256; counted as one job"),
        "{out}"
    );
    assert!(
        out.contains(
            "`wide`: 10000 matrix combinations, over GitHub's limit of 256; counted as one job"
        ),
        "{out}"
    );
    assert!(out.contains("3 jobs"), "{out}");
}

/// Job names that start with a Mermaid keyword (`section`, `click`, `weekday`, `%%`…) broke the
/// gantt or lost their bar, and HTML in a name passed raw into the table. Checked with mermaid's
/// own parser: every job keeps its bar.
#[test]
fn job_names_cannot_break_the_gantt_or_the_table() {
    let names = [
        "section deploy",
        "click here",
        "weekday monday",
        "%% hidden",
        "a%b",
        "title mine",
        "excludes weekends",
        "dateFormat YYYY",
        "todayMarker off",
        "<img src=x onerror=alert(1)>",
    ];
    let mut wf = String::from("on: push\njobs:\n");
    for (k, n) in names.iter().enumerate() {
        let _ = write!(
            wf,
            "  j{k}:\n    name: {}\n    runs-on: ubuntu-latest\n    steps: [{{run: 'true'}}]\n",
            serde_json::to_string(n).unwrap()
        );
    }
    let dir = tmp();
    let path = write(dir.path(), "wf.yml", &wf);
    let (code, md, err) = run(&[
        "analyze",
        "--workflow",
        path.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(!md.contains("<img"), "{md}");
    let file = write(dir.path(), "a.md", &md);
    let charts = crate::mermaid_charts(&file);
    let tasks: Vec<String> = charts[0]
        .as_array()
        .expect("a chart")
        .iter()
        .map(|t| {
            t["task"]
                .as_str()
                .unwrap_or_default()
                .replace('\u{200B}', "")
        })
        .collect();
    assert_eq!(tasks.len(), names.len(), "every job has its bar: {tasks:?}");
    for n in &names[..9] {
        let shown = n.replace('%', "％");
        assert!(tasks.contains(&shown), "{n} in {tasks:?}");
    }
}
