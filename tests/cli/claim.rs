//! `planner shard --claim` end to end: real pytest processes at once, each in a checkout of its
//! own (as on separate runners), claiming the tail of a suite through a local server in the git
//! references API's shapes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use wiremock::Mock;
use wiremock::matchers::{method, path};

use super::mock_api::{Api, TOKEN, ok, record};
use super::mock_refs::{REPO, Refs, SHA};
use super::{fixture, plan_with, python, tmp, write};

/// The suite's history is its tests' real times at this scale.
const SCALE: f64 = 0.5;

pub(super) struct Suite {
    pub(super) dir: PathBuf,
    /// The static plan, and the same made with `--claim`.
    plan: PathBuf,
    claiming: PathBuf,
    pub(super) names: Vec<String>,
}

/// The drift project, its history, and a plan of three shards made from it.
pub(super) fn suite(d: &Path) -> Suite {
    let project = PathBuf::from(fixture("projects/pytest_drift"));
    let durations: Value = serde_json::from_str(
        &std::fs::read_to_string(project.join("durations.json")).expect("durations"),
    )
    .expect("JSON");
    let table = durations.as_object().expect("a map");
    let history: serde_json::Map<String, Value> = table
        .iter()
        .map(|(name, v)| {
            (
                format!("tests/test_drift.py::test_drift[{name}]"),
                json!(v["seconds"].as_f64().expect("seconds") * SCALE),
            )
        })
        .collect();
    let history = write(d, "history.json", &Value::Object(history).to_string());
    let config = format!(
        "version: 1\ntimings: [{}]\nsuites:\n  drift:\n    runner: pytest\n    command: {} -m pytest -q -p no:cacheprovider --junitxml=report.xml\n    junit: report.xml\n    max-shards: 3\n    overhead-seconds: 0\n    target-seconds: 0.01\n",
        history.display(),
        python().display()
    );
    let config = write(d, "planner.yml", &config);
    let (plan, claiming) = (d.join("plan.json"), d.join("plan-claim.json"));
    plan_with(&config, &plan, &[]);
    plan_with(&config, &claiming, &["--claim"]);
    Suite {
        dir: project,
        plan,
        claiming,
        names: table.keys().cloned().collect(),
    }
}

/// A runner's own checkout of the project.
pub(super) fn checkout(project: &Path, to: &Path) -> PathBuf {
    std::fs::create_dir_all(to.join("tests")).expect("a checkout");
    for f in ["pytest.ini", "durations.json", "tests/test_drift.py"] {
        std::fs::copy(project.join(f), to.join(f)).expect("copy the project");
    }
    to.to_owned()
}

/// Shard `k`'s process: of the claiming plan, through `api`, or else of the static one.
fn shard(
    s: &Suite,
    d: &Path,
    tag: &str,
    k: u32,
    extra: &[&str],
    api: Option<&Api>,
) -> std::process::Child {
    let dir = checkout(&s.dir, &d.join(format!("runner-{tag}")));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_planner"));
    cmd.current_dir(&dir)
        .args(["shard", "--plan"])
        .arg(if api.is_some() { &s.claiming } else { &s.plan })
        .args(["--index", &k.to_string(), "--total", "3", "--exec"])
        .args(["--junit-to"])
        .arg(d.join(format!("junit-{tag}")))
        .args(extra)
        .env("DRIFT_SCALE", SCALE.to_string())
        .env("DRIFT_FILE", d.join("drift.json"))
        .env("DRIFT_LOG", d.join("ran.log"))
        .env("DRIFT_TAG", tag)
        .env("GITHUB_TOKEN", TOKEN)
        .env_remove("GITHUB_ACTIONS")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(api) = api {
        cmd.args(["--api-url", &api.uri(), "--repo", REPO, "--sha", SHA])
            .args(["--run-id", "4242"]);
    }
    cmd.spawn().expect("planner runs")
}

/// Every process under `pid` (children first found, then theirs), from /proc.
fn descendants(pid: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let p: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // pid (comm) state ppid …: the name may hold spaces, so read after its last ')'.
            let parent = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((p, parent))
        })
        .collect();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// Waits for every child: each one's exit code and stderr, and the slowest one's wall time.
fn wait_all(children: Vec<std::process::Child>) -> (Vec<(i32, String)>, Duration) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut slowest = Duration::ZERO;
    for c in children {
        let o = c.wait_with_output().expect("the shard ends");
        slowest = slowest.max(started.elapsed());
        out.push((
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ));
    }
    (out, slowest)
}

/// Which tests ran, by process tag, from the tests' own log, and the tags of the processes
/// whose tests could see the token.
pub(super) fn ran(d: &Path) -> (BTreeMap<String, Vec<String>>, BTreeSet<String>) {
    let log = std::fs::read_to_string(d.join("ran.log")).unwrap_or_default();
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut saw_token = BTreeSet::new();
    for line in log.lines() {
        let words: Vec<&str> = line.split(' ').collect();
        let [name, tag, token] = words[..] else {
            panic!("a line of the log: {line:?}");
        };
        by.entry(tag.to_owned()).or_default().push(name.to_owned());
        if token == "token" {
            saw_token.insert(tag.to_owned());
        }
    }
    (by, saw_token)
}

/// A test's name in the drift table: its id's parameter (`t07` of `…::test_drift[t07]`).
fn name_of(id: &str) -> String {
    id[id.find('[').expect("a parameter") + 1..id.len() - 1].to_owned()
}

/// The items of shard `k` in the static plan, by test name.
fn static_shard(plan: &Path, k: usize) -> BTreeSet<String> {
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(plan).expect("plan")).expect("JSON");
    plan["suites"][0]["shards"][k - 1]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| name_of(i["id"].as_str().expect("id")))
        .collect()
}

/// The drift the tests sleep: shard 1's tests (of the static plan) `first` times their
/// history, every other test `rest` times.
pub(super) fn drift(s: &Suite, d: &Path, first: f64, rest: f64) {
    let one = static_shard(&s.plan, 1);
    let factors: serde_json::Map<String, Value> = s
        .names
        .iter()
        .map(|n| (n.clone(), json!(if one.contains(n) { first } else { rest })))
        .collect();
    write(d, "drift.json", &Value::Object(factors).to_string());
}

/// Three shards at once, static or claiming, on the same drift: every test runs once, and
/// claiming finishes sooner.
#[test]
fn shards_that_claim_run_every_test_once_and_finish_before_static_ones() {
    let dir = tmp();
    let d = dir.path();
    let s = suite(d);
    // The drift: shard 1's tests now take 1.6 times their history (a fixture they share got
    // slower), the others' 0.85: every test's sleep differs from its history.
    drift(&s, d, 1.6, 0.85);

    let statics: Vec<_> = (1..=3)
        .map(|k| shard(&s, d, &format!("static{k}"), k, &[], None))
        .collect();
    let (codes, static_wall) = wait_all(statics);
    assert!(codes.iter().all(|c| c.0 == 0), "{codes:?}");

    let api = Api::start();
    let refs = Refs::mount(&api, 5);
    {
        let mut st = refs.0.lock().expect("state");
        st.fail_posts = 1;
        st.limit_posts = 1;
    }
    let claiming: Vec<_> = (1..=3)
        .map(|k| {
            shard(
                &s,
                d,
                &format!("claim{k}"),
                k,
                &["--run-attempt", "1"],
                Some(&api),
            )
        })
        .collect();
    let (codes, claim_wall) = wait_all(claiming);
    assert!(codes.iter().all(|c| c.0 == 0), "{codes:?}");

    let (by, saw_token) = ran(d);
    // The token that may create references stays in the planner: a static shard's tests see
    // the environment they were given, a claiming shard's do not.
    assert_eq!(
        saw_token,
        (1..=3).map(|k| format!("static{k}")).collect(),
        "{saw_token:?}"
    );
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (tag, names) in &by {
        if tag.starts_with("claim") {
            for n in names {
                *counts.entry(n).or_default() += 1;
            }
        }
    }
    for n in &s.names {
        assert_eq!(counts.get(n.as_str()), Some(&1), "{n} ran once: {by:?}");
    }
    // The claims went through the 502 and the rate limit, and the tail was claimed in chunks.
    let owners: Vec<String> = refs
        .names()
        .into_iter()
        .filter(|r| r.contains("/o"))
        .collect();
    assert!(!owners.is_empty(), "{owners:?}");
    assert!(
        claim_wall < static_wall,
        "claiming took {claim_wall:?}, static {static_wall:?}"
    );
    // Each shard's reports are kept apart: its head's and each chunk's.
    let reports: Vec<String> = (1..=3)
        .flat_map(|k| {
            std::fs::read_dir(d.join(format!("junit-claim{k}")))
                .expect("reports")
                .filter_map(Result::ok)
                .map(|e| e.path())
        })
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| p.display().to_string())
        .collect();
    assert_eq!(reports.len(), 3 + owners.len(), "{reports:?}");

    // The report accounts for the claims and, every shard having passed, deletes them.
    let (code, json, err) = report_claims(&s, d, &api, "claim", &[]);
    assert_eq!(code, 0, "{err}");
    let claims = &json["claims"][0];
    let took: usize = claims["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|k| k["chunks"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(took, owners.len(), "{claims}");
    assert_eq!(
        claims["chunks"].as_u64(),
        Some(owners.len() as u64),
        "{claims}"
    );
    assert_eq!(claims["unclaimed"], json!([]), "{claims}");
    assert!(
        claims["shards"][0]["requests"].as_u64().is_some(),
        "{claims}"
    );
    // One shard waited out the secondary limit's `retry-after: 1`: the claims' wait shows it.
    let waited: f64 = claims["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .filter_map(|k| k["claim_wait_ms"].as_f64())
        .sum();
    assert!(waited >= 1_000.0, "{claims}");
    assert_eq!(claims["deleted"], claims["references"], "{claims}");
    assert!(refs.names().is_empty(), "{:?}", refs.names());
}

/// `planner report --claims` over the reports of the processes tagged `{tag}1..3`: its exit
/// code, JSON and stderr.
fn report_claims(
    s: &Suite,
    d: &Path,
    api: &Api,
    tag: &str,
    extra: &[&str],
) -> (i32, Value, String) {
    let json = d.join(format!("report-{tag}.json"));
    let out = crate::planner()
        .args(["report", "--plan"])
        .arg(&s.claiming)
        .arg("--junit")
        .args((1..=3).map(|k| d.join(format!("junit-{tag}{k}"))))
        .args([
            "--claims",
            "--run-id",
            "4242",
            "--repo",
            REPO,
            "--api-url",
            &api.uri(),
        ])
        .args(extra)
        .arg("--json")
        .arg(&json)
        .env("GITHUB_TOKEN", TOKEN)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("planner runs");
    let value = std::fs::read_to_string(&json)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        value,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A lock left without its owner (a shard that died between the two requests, in an earlier
/// attempt's stead) is a chunk no shard runs: the report fails, names it and keeps the
/// references; a re-run takes it, and the next report passes.
#[test]
fn a_chunk_no_shard_claimed_fails_the_report_until_a_rerun_takes_it() {
    let dir = tmp();
    let d = dir.path();
    let s = suite(d);
    drift(&s, d, 1.0, 1.0);
    let api = Api::start();
    let refs = Refs::mount(&api, 100);
    refs.0
        .lock()
        .expect("state")
        .refs
        .insert("refs/planner/4242/drift/c0/a1".to_owned());
    let attempt = |tag: &str, k: u32, a: u32| {
        shard(
            &s,
            d,
            tag,
            k,
            &["--run-attempt", &a.to_string()],
            Some(&api),
        )
    };
    let (codes, _) = wait_all(
        (1..=3)
            .map(|k| attempt(&format!("first{k}"), k, 1))
            .collect(),
    );
    assert!(codes.iter().all(|c| c.0 == 0), "{codes:?}");
    let (code, json, err) = report_claims(&s, d, &api, "first", &[]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("suite drift: chunk(s) 0"), "{err}");
    assert_eq!(json["claims"][0]["unclaimed"], json!([0]), "{json}");
    assert!(!refs.names().is_empty(), "kept for the re-run");
    // Shard 2's job re-run: its head again, and the chunk no shard had.
    let (codes, _) = wait_all(vec![attempt("again2", 2, 2)]);
    assert!(codes.iter().all(|c| c.0 == 0), "{codes:?}");
    let (by, _) = ran(d);
    assert!(by["again2"].len() > by["first2"].len(), "{by:?}");
    std::fs::rename(d.join("junit-first2"), d.join("junit-old2")).expect("rename");
    std::fs::rename(d.join("junit-again2"), d.join("junit-first2")).expect("rename");
    // Earlier runs' claims beside this one's: the green report sweeps those of runs that ended
    // 30 days ago or more, or are gone, and keeps the recent and the running.
    let now = chrono::Utc::now();
    let run = |id: u64, status: &str, ended: chrono::DateTime<chrono::Utc>| {
        let mut r = record("run.json");
        r["id"] = json!(id);
        r["status"] = json!(status);
        r["updated_at"] = json!(ended.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        api.mount(
            Mock::given(method("GET"))
                .and(path(format!("/repos/{REPO}/actions/runs/{id}")))
                .respond_with(ok(&r))
                .with_priority(1),
        );
    };
    run(100, "completed", now - chrono::Duration::days(31));
    run(101, "completed", now - chrono::Duration::days(29));
    run(102, "in_progress", now - chrono::Duration::days(40));
    // Run 103 is gone: the server answers 404.
    let earlier = [
        "refs/planner/100/drift/c0/a1",
        "refs/planner/100/drift/o0/s1/a1",
        "refs/planner/101/drift/c0/a1",
        "refs/planner/102/drift/c0/a1",
        "refs/planner/103/drift/c3/a2",
        "refs/heads/main",
    ];
    refs.0
        .lock()
        .expect("state")
        .refs
        .extend(earlier.iter().map(|n| (*n).to_owned()));
    let (code, json, err) = report_claims(&s, d, &api, "first", &["--sweep-days", "30"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(json["claims"][0]["unclaimed"], json!([]), "{json}");
    assert_eq!(
        refs.names(),
        [
            "refs/heads/main",
            "refs/planner/101/drift/c0/a1",
            "refs/planner/102/drift/c0/a1"
        ],
        "this run's and the old runs' claims deleted"
    );
    let notes = json["notes"].to_string();
    assert!(
        notes.contains("Swept 3 claim reference(s) of 2 earlier run(s) ended 30 day(s) ago or more, or gone; 2 run(s) kept"),
        "{notes}"
    );
}

/// A shard killed while it runs a chunk it claimed, re-run as attempt 2: it runs its head and
/// that chunk again, and nothing another shard ran; every test ends run once by a passing shard.
#[test]
fn a_shard_killed_mid_chunk_reruns_exactly_what_it_had_claimed() {
    let dir = tmp();
    let d = dir.path();
    let s = suite(d);
    // Shard 1's tests are fast this time: it is the first to claim.
    drift(&s, d, 0.5, 1.0);
    let api = Api::start();
    let refs = Refs::mount(&api, 2);
    let attempt = |k: u32, a: u32| {
        shard(
            &s,
            d,
            &format!("s{k}a{a}"),
            k,
            &["--run-attempt", &a.to_string()],
            Some(&api),
        )
    };
    let mut first = attempt(1, 1);
    let others: Vec<_> = (2..=3).map(|k| attempt(k, 1)).collect();
    // Kill shard 1, pytest with it, a moment after it has written itself a chunk's owner.
    let deadline = Instant::now() + Duration::from_secs(60);
    let owned = loop {
        let mine: Vec<String> = refs
            .names()
            .into_iter()
            .filter(|r| r.contains("/s1/a1"))
            .collect();
        if !mine.is_empty() {
            break mine;
        }
        assert!(
            Instant::now() < deadline,
            "shard 1 never claimed: {:?}",
            refs.names()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(1500));
    // The runner dies: pytest first (found as the planner's descendants), then the planner.
    for pid in descendants(first.id()) {
        let _ = std::process::Command::new("/bin/kill")
            .args(["-s", "KILL", &pid.to_string()])
            .status();
    }
    first.kill().expect("the shard is killed");
    let _ = first.wait();
    let (codes, _) = wait_all(others);
    assert!(codes.iter().all(|c| c.0 == 0), "{codes:?}");

    let rerun = attempt(1, 2);
    let (codes, _) = wait_all(vec![rerun]);
    assert!(codes.iter().all(|c| c.0 == 0), "{codes:?}");

    let (by, _) = ran(d);
    let set =
        |tag: &str| -> BTreeSet<String> { by.get(tag).into_iter().flatten().cloned().collect() };
    let (died, again) = (set("s1a1"), set("s1a2"));
    assert!(
        !died.is_empty() && died.is_subset(&again),
        "{died:?} then {again:?}"
    );
    // Exactly its head and the chunk it owned: the head is what `shard` prints of the plan.
    let head = crate::planner()
        .args(["shard", "--plan"])
        .arg(&s.claiming)
        .args(["--index", "1", "--total", "3"])
        .output()
        .expect("planner runs");
    let head: BTreeSet<String> = String::from_utf8_lossy(&head.stdout)
        .lines()
        .map(name_of)
        .collect();
    assert!(
        head.is_subset(&again) && again.len() > head.len(),
        "{head:?} {again:?} {owned:?}"
    );
    // Every test ran once among the shards that passed, and no test of theirs ran again.
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for tag in ["s1a2", "s2a1", "s3a1"] {
        for n in set(tag) {
            *counts.entry(n).or_default() += 1;
        }
    }
    for n in &s.names {
        assert_eq!(counts.get(n), Some(&1), "{n}: {by:?}");
    }
    // The references agree: shard 1 owns what it re-ran beyond its head, in both attempts.
    let owners: Vec<String> = refs
        .names()
        .into_iter()
        .filter(|r| r.contains("/o"))
        .collect();
    assert!(owners.iter().any(|r| r.ends_with("/s1/a2")), "{owners:?}");
}

/// Whether a run claims is the plan's to say, once for every shard: a claiming plan's shards
/// print their heads (the rest is claimed), a static plan's have nothing to claim, and a
/// claiming shard without its run's identity stops before running anything.
#[test]
fn a_plan_decides_for_every_shard_whether_they_claim() {
    let dir = tmp();
    let d = dir.path();
    let s = suite(d);
    let read = |p: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(p).expect("plan")).expect("JSON")
    };
    assert_eq!(read(&s.claiming)["claim"], json!(true));
    assert!(read(&s.plan).get("claim").is_none());
    let print = |plan: &Path, k: u32, extra: &[&str]| {
        let o = crate::planner()
            .args(["shard", "--plan"])
            .arg(plan)
            .args(["--index", &k.to_string(), "--total", "3"])
            .args(extra)
            .env_remove("GITHUB_RUN_ID")
            .env_remove("GITHUB_RUN_ATTEMPT")
            .output()
            .expect("planner runs");
        crate::split(&o)
    };
    let mut heads = 0;
    for k in 1..=3 {
        let (code, head, err) = print(&s.claiming, k, &[]);
        assert_eq!(code, 0, "{err}");
        let (_, whole, _) = print(&s.plan, k, &[]);
        let whole: BTreeSet<&str> = whole.lines().collect();
        assert!(
            head.lines().all(|l| whole.contains(l)),
            "{head} within {whole:?}"
        );
        heads += head.lines().count();
    }
    assert!(
        heads > 0 && heads < s.names.len(),
        "a tail is left to claim: {heads}"
    );
    // The preview says the same before anything runs.
    let (code, preview, err) = crate::run(&[
        "plan",
        "--config",
        &d.join("planner.yml").display().to_string(),
        "--claim",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{err}");
    let tail = s.names.len() - heads;
    assert!(
        preview.contains(&format!(
            "claiming    {heads} items in the shards' heads; {tail} in a tail of"
        )),
        "{preview}"
    );
    let (code, _, err) = print(&s.plan, 1, &["--next"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the plan is static"), "{err}");
    let (code, _, err) = print(&s.claiming, 1, &["--exec", "--repo", REPO, "--sha", SHA]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--run-id"), "{err}");
    // Its report cannot leave the claims out: only they tell what the tails ran.
    let (code, _, err) = crate::run(&[
        "report",
        "--plan",
        &s.claiming.display().to_string(),
        "--junit",
        &d.display().to_string(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pass --claims"), "{err}");
}
