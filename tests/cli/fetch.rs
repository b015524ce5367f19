//! `planner timings fetch` against a local HTTP server answering in the GitHub API's shapes: the
//! records of tests/fixtures/github, copied into pages, with only the fields a case is about
//! changed.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use super::mock_api::{Api, TOKEN, at, closed_port, jobs_page, ok, record};
use super::run as run_planner;
use super::{planner, split, tmp, write};

const RUNS: &str = "/repos/octo-org/octo-repo/actions/workflows/ci.yml/runs";

fn run(id: u64, attempt: u32, day: u32) -> Value {
    let mut r = record("run.json");
    r["id"] = json!(id);
    r["run_attempt"] = json!(attempt);
    r["created_at"] = json!(at(day, 0));
    r["run_started_at"] = json!(at(day, 0));
    r["updated_at"] = json!(at(day, 900));
    r["head_sha"] = json!(format!("{id:040x}"));
    r
}

/// A completed job of run `run_id` created at the run's start, started 10 s later and running
/// `secs`: set-up 3 s, checkout 2 s, the work, `Complete job` 5 s (10 s of start-up in all).
fn job(run_id: u64, day: u32, attempt: u32, name: &str, conclusion: &str, secs: i64) -> Value {
    let mut j = record("job.json");
    let template = j["steps"].as_array().expect("steps").clone();
    let step = |i: usize, name: &str, from: i64, to: i64| {
        let mut s = template[i].clone();
        s["name"] = json!(name);
        s["number"] = json!(i + 1);
        s["started_at"] = json!(at(day, from));
        s["completed_at"] = json!(at(day, to));
        s
    };
    j["id"] = json!(run_id * 100 + u64::from(attempt) * 10 + name.len() as u64);
    j["run_id"] = json!(run_id);
    j["run_attempt"] = json!(attempt);
    j["head_sha"] = json!(format!("{run_id:040x}"));
    j["name"] = json!(name);
    j["conclusion"] = json!(conclusion);
    j["created_at"] = json!(at(day, 0));
    j["started_at"] = json!(at(day, 10));
    j["completed_at"] = json!(at(day, 10 + secs));
    j["steps"] = json!([
        step(0, "Set up job", 10, 13),
        step(1, "Run actions/checkout@v4", 13, 15),
        step(3, "Run the tests", 15, 5 + secs),
        step(5, "Complete job", 5 + secs, 10 + secs),
    ]);
    j
}

fn runs_page(runs: &[Value]) -> Value {
    json!({ "total_count": 3, "workflow_runs": runs })
}

fn jobs_path(run_id: u64) -> String {
    format!("/repos/octo-org/octo-repo/actions/runs/{run_id}/jobs")
}

/// Three runs over two pages of runs; run 102's jobs over two pages; run 103 re-run (attempt 2,
/// keeping attempt 1's `lint`); a failed job; a `requested` job with nulls.
fn mount_history(api: &Api) {
    let base = api.uri();
    let next = |p: &str, page: u32| {
        format!(
            "<{base}{p}?per_page=100&page={page}>; rel=\"next\", <{base}{p}?per_page=100&page={page}>; rel=\"last\""
        )
    };
    api.mount(
        Mock::given(method("GET"))
            .and(path(RUNS))
            .and(query_param_is_missing("page"))
            .respond_with(
                ok(&runs_page(&[run(103, 2, 3), run(102, 1, 2)]))
                    .insert_header("link", next(RUNS, 2).as_str()),
            ),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path(RUNS))
            .and(query_param("page", "2"))
            .respond_with(ok(&runs_page(&[run(101, 1, 1)]))),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path(jobs_path(101)))
            .respond_with(ok(&jobs_page(&[
                job(101, 1, 1, "lint", "success", 60),
                job(101, 1, 1, "test (ubuntu-latest, 3.12)", "failure", 40),
            ]))),
    );
    let mut macos = job(102, 2, 1, "test (macos-14, 3.12)", "success", 300);
    macos["labels"] = json!(["macos-14"]);
    let mut requested = job(102, 2, 1, "deploy", "success", 0);
    for field in [
        "conclusion",
        "started_at",
        "completed_at",
        "runner_id",
        "runner_name",
        "runner_group_id",
        "runner_group_name",
        "steps",
    ] {
        requested[field] = Value::Null;
    }
    requested["status"] = json!("requested");
    requested["labels"] = json!([]);
    let p102 = jobs_path(102);
    api.mount(
        Mock::given(method("GET"))
            .and(path(p102.as_str()))
            .and(query_param_is_missing("page"))
            .respond_with(
                ok(&jobs_page(&[
                    job(102, 2, 1, "lint", "success", 70),
                    job(102, 2, 1, "test (ubuntu-latest, 3.12)", "success", 120),
                ]))
                .insert_header("link", next(&p102, 2).as_str()),
            ),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path(p102.as_str()))
            .and(query_param("page", "2"))
            .respond_with(ok(&jobs_page(&[macos, requested]))),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path(jobs_path(103)))
            .respond_with(ok(&jobs_page(&[
                job(103, 3, 1, "lint", "success", 65),
                job(103, 3, 2, "test (ubuntu-latest, 3.12)", "success", 130),
            ]))),
    );
}

fn fetch(api_url: &str, out: &Path, extra: &[&str]) -> (i32, String, String) {
    fetch_as(
        "octo-org/octo-repo",
        ".github/workflows/ci.yml",
        api_url,
        out,
        extra,
    )
}

/// `planner timings fetch` of `repo`'s `workflow` with the test token in `$GITHUB_TOKEN`.
fn fetch_as(
    repo: &str,
    workflow: &str,
    api_url: &str,
    out: &Path,
    extra: &[&str],
) -> (i32, String, String) {
    let out = out.display().to_string();
    let mut args = vec![
        "timings",
        "fetch",
        "--repo",
        repo,
        "--workflow",
        workflow,
        "--api-url",
        api_url,
        "--out",
        out.as_str(),
    ];
    args.extend_from_slice(extra);
    split(
        &planner()
            .env("GITHUB_TOKEN", TOKEN)
            .args(&args)
            .output()
            .expect("the planner runs"),
    )
}

fn store_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("a store")).expect("store JSON")
}

fn millis(store: &Value, class: &str, item: &str) -> Vec<u64> {
    store["classes"][class][item]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s[0].as_u64())
        .collect()
}

#[test]
fn fetch_reads_every_page_attempt_and_matrix_job_once() {
    let api = Api::start();
    mount_history(&api);
    let dir = tmp();
    let store = dir.path().join("jobs.json");
    let records = dir.path().join("records.json");
    let records_arg = records.display().to_string();
    let (code, _, err) = fetch(&api.uri(), &store, &["--records", &records_arg]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("3 runs listed, 0 already in the store, 3 read"),
        "{err}"
    );

    let s = store_json(&store);
    // Oldest run first; run 103 attempt 1's lint and attempt 2's test; the failed and the
    // requested jobs are not timings.
    assert_eq!(
        millis(&s, "ubuntu-latest", "lint"),
        [60_000, 70_000, 65_000]
    );
    assert_eq!(
        millis(&s, "ubuntu-latest", "test (ubuntu-latest, 3.12)"),
        [120_000, 130_000]
    );
    assert_eq!(millis(&s, "macos-14", "test (macos-14, 3.12)"), [300_000]);
    assert_eq!(s["classes"].as_object().map(serde_json::Map::len), Some(2));
    let runs: Vec<(u64, u64)> = s["observations"]
        .as_array()
        .expect("observations")
        .iter()
        .map(|o| {
            (
                o["run_id"].as_u64().unwrap_or(0),
                o["attempt"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(runs, [(101, 1), (102, 1), (102, 1), (103, 1), (103, 2)]);
    assert_eq!(
        s["observations"][0]["commit"],
        json!(format!("{:040x}", 101))
    );
    // Start-up of every timed job: queued 10 s, 10 s of set-up and clean-up steps; run 102's
    // ubuntu jobs are its second observation (seq 2), after macos-14's (seq 1).
    assert_eq!(s["overheads"]["macos-14"], json!([[10_000, 10_000, 1]]));
    assert_eq!(
        s["overheads"]["ubuntu-latest"],
        json!([
            [10_000, 10_000, 0],
            [10_000, 10_000, 2],
            [10_000, 10_000, 2],
            [10_000, 10_000, 3],
            [10_000, 10_000, 4]
        ])
    );
    let kept: Value =
        serde_json::from_str(&std::fs::read_to_string(&records).expect("records")).expect("JSON");
    assert_eq!(kept.as_array().map(Vec::len), Some(3));
    assert_eq!(kept[1]["jobs"][3]["status"], json!("requested"));
    assert_eq!(
        kept[1]["jobs"][2]["runner_name"],
        json!("GitHub Actions 17")
    );

    // A second fetch lists the runs again, reads no jobs, and adds nothing.
    let before = std::fs::read(&store).expect("store");
    let (code, _, err) = fetch(&api.uri(), &store, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("3 already in the store, 0 read"), "{err}");
    assert_eq!(std::fs::read(&store).expect("store"), before);
    for run_id in [101, 103] {
        assert_eq!(
            api.hits(&jobs_path(run_id)),
            1,
            "run {run_id}'s jobs read once"
        );
    }
    assert_eq!(api.hits(&jobs_path(102)), 2, "two pages, each read once");
    assert_eq!(api.hits(RUNS), 4, "two pages of runs, twice");
}

#[test]
fn plan_uses_the_measured_overhead_and_says_so() {
    let api = Api::start();
    mount_history(&api);
    let dir = tmp();
    let store = dir.path().join("jobs.json");
    let (code, _, err) = fetch(&api.uri(), &store, &[]);
    assert_eq!(code, 0, "{err}");
    let tests = write(
        dir.path(),
        "durations.json",
        r#"{"tests/a.py::t1": 200, "tests/a.py::t2": 180, "tests/b.py::t1": 150, "tests/c.py::t1": 90}"#,
    );
    let (tests, store) = (tests.display().to_string(), store.display().to_string());
    let (code, out, err) = run_planner(&["plan", "--timings", &tests, &store, "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "overhead    20.0s per shard (measured: median of 6 jobs on every runner class: queue 10.0s, set-up 10.0s)"
        ),
        "{out}"
    );
    // An explicit overhead still wins.
    let (_, out, _) = run_planner(&[
        "plan",
        "--timings",
        &tests,
        &store,
        "--dry-run",
        "--overhead-seconds",
        "45",
    ]);
    assert!(out.contains("overhead    45.0s per shard\n"), "{out}");
    // The runner class's own jobs, when it has some.
    let (_, out, _) = run_planner(&[
        "plan",
        "--timings",
        &store,
        "--dry-run",
        "--runner-class",
        "macos-14",
    ]);
    assert!(
        out.contains("(measured: median of 1 job on `macos-14`: queue 10.0s, set-up 10.0s)"),
        "{out}"
    );
}

#[test]
fn a_config_suite_uses_the_overhead_of_its_runs_on_label() {
    let api = Api::start();
    mount_history(&api);
    let dir = tmp();
    let store = dir.path().join("jobs.json");
    assert_eq!(fetch(&api.uri(), &store, &[]).0, 0);
    let tests = write(
        dir.path(),
        "durations.json",
        r#"{"tests/a.py::t1": 200, "tests/b.py::t1": 150}"#,
    );
    let config = write(
        dir.path(),
        "planner.yml",
        &format!(
            "version: 1\ntimings: [{}, {}]\nsuites:\n  unit:\n    runner: pytest\n    runs-on: macos-14\n",
            tests.display(),
            store.display()
        ),
    );
    let config = config.display().to_string();
    let (code, out, err) = run_planner(&["plan", "--config", &config, "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("(measured: median of 1 job on `macos-14`: queue 10.0s, set-up 10.0s)"),
        "{out}"
    );
}

#[test]
fn rate_limits_and_a_502_are_waited_out() {
    let api = Api::start();
    // A secondary rate limit on the first request, with `retry-after`.
    api.mount(
        Mock::given(method("GET"))
            .and(path(RUNS))
            .respond_with(
                ResponseTemplate::new(403)
                    .insert_header("retry-after", "1")
                    .insert_header("x-ratelimit-remaining", "4321")
                    .set_body_json(json!({
                        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                    })),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    api.serve(RUNS, ok(&runs_page(&[run(7, 1, 5)])));
    // A 502 once, then the jobs.
    api.mount(
        Mock::given(method("GET"))
            .and(path(jobs_path(7)))
            .respond_with(
                ResponseTemplate::new(502).set_body_string("<html>502 Bad Gateway</html>"),
            )
            .up_to_n_times(1)
            .with_priority(1),
    );
    api.serve(
        jobs_path(7),
        ok(&jobs_page(&[job(7, 5, 1, "build", "success", 90)])),
    );
    let dir = tmp();
    let store = dir.path().join("jobs.json");
    let (code, _, err) = fetch(&api.uri(), &store, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("waited 1 s for a secondary rate limit"),
        "{err}"
    );
    assert!(
        err.contains("retried after 1000 ms: 502 Bad Gateway"),
        "{err}"
    );
    assert_eq!(
        millis(&store_json(&store), "ubuntu-latest", "build"),
        [90_000]
    );
    assert_eq!(api.hits(RUNS), 2);
    assert_eq!(api.hits(&jobs_path(7)), 2);
}

#[test]
fn a_primary_limit_that_resets_late_stops_with_what_was_read() {
    let api = Api::start();
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 3600;
    let limited = |body: &Value, remaining: u32| {
        ok(body)
            .insert_header("x-ratelimit-limit", "5000")
            .insert_header("x-ratelimit-remaining", remaining.to_string().as_str())
            .insert_header("x-ratelimit-reset", reset.to_string().as_str())
            .insert_header("x-ratelimit-resource", "core")
    };
    api.serve(RUNS, limited(&runs_page(&[run(9, 1, 6), run(8, 1, 5)]), 1));
    api.mount(
        Mock::given(method("GET"))
            .and(path(jobs_path(9)))
            .respond_with(limited(
                &jobs_page(&[job(9, 6, 1, "build", "success", 80)]),
                0,
            )),
    );
    api.serve(
        jobs_path(8),
        ok(&jobs_page(&[job(8, 5, 1, "build", "success", 70)])),
    );
    let dir = tmp();
    let store = dir.path().join("jobs.json");
    let (code, _, err) = fetch(&api.uri(), &store, &["--max-wait", "60"]);
    assert_eq!(
        code, 0,
        "a rate limit keeps what was read and does not fail: {err}"
    );
    assert!(err.contains("warning: GET "), "{err}");
    assert!(err.contains("primary rate limit reached"), "{err}");
    assert!(err.contains("stopped with the 1 runs read so far"), "{err}");
    assert_eq!(
        millis(&store_json(&store), "ubuntu-latest", "build"),
        [80_000]
    );
    assert_eq!(
        api.hits(&jobs_path(8)),
        0,
        "no request once the limit is spent"
    );
}

#[test]
fn bad_answers_are_errors_that_name_the_request_and_keep_the_store() {
    let api = Api::start();
    api.serve(RUNS, ok(&runs_page(&[run(5, 1, 5)])));
    api.mount(
        Mock::given(method("GET"))
            .and(path(jobs_path(5)))
            .respond_with(ok(
                &json!({"total_count": 1, "jobs": [{"id": "not-a-number"}]}),
            )),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path("/repos/octo-org/octo-repo/actions/workflows/missing.yml/runs"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({
                "message": "Not Found",
                "documentation_url": "https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-workflow",
                "status": "404"
            }))),
    );
    let dir = tmp();
    let store = write(
        dir.path(),
        "jobs.json",
        "{\"format\":\"gha-planner-store\",\"version\":1,\"keep\":20,\"observations\":[],\"classes\":{\"default\":{\"a\":[[5,0]]}}}",
    );
    let before = std::fs::read(&store).expect("store");

    let (code, _, err) = fetch(&api.uri(), &store, &[]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("/repos/octo-org/octo-repo/actions/runs/5/jobs?per_page=100&filter=latest: the response is not a page of jobs: invalid type: string \"not-a-number\", expected u64"),
        "{err}"
    );
    assert!(err.contains("jobs.json was left as it was"), "{err}");
    assert_eq!(std::fs::read(&store).expect("store"), before);

    let (code, _, err) = fetch_as("octo-org/octo-repo", "missing.yml", &api.uri(), &store, &[]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("404: Not Found (no such repository or workflow"),
        "{err}"
    );
    assert_eq!(std::fs::read(&store).expect("store"), before);

    let (code, _, err) = fetch_as("not a repo", "ci.yml", &api.uri(), &store, &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--repo: `not a repo`: expected OWNER/NAME"),
        "{err}"
    );
}

#[test]
fn a_server_that_is_down_is_an_error_said_once_and_exit_7_with_the_store_untouched() {
    let dir = tmp();
    let store = write(
        dir.path(),
        "jobs.json",
        "{\"format\":\"gha-planner-store\",\"version\":1,\"keep\":20,\"observations\":[],\"classes\":{\"default\":{\"a\":[[5,0]]}}}",
    );
    let before = std::fs::read(&store).expect("store");
    let down = closed_port();
    let (code, _, err) = fetch(&down, &store, &["--retries", "1"]);
    assert_eq!(code, 7, "{err}");
    assert!(err.contains("error: timings fetch: "), "{err}");
    // Said once: it was a warning and the same error again.
    assert_eq!(
        err.matches("no usable answer after 2 attempt(s)").count(),
        1,
        "{err}"
    );
    assert!(err.contains("jobs.json was left as it was"), "{err}");
    assert_eq!(std::fs::read(&store).expect("store"), before);

    // Nor is a store created where there was none.
    let fresh = dir.path().join("fresh.json");
    let (code, _, _) = fetch(&down, &fresh, &["--retries", "0"]);
    assert_eq!(code, 7);
    assert!(!fresh.exists());
}

#[test]
fn the_token_is_sent_and_never_shown() {
    let api = Api::start();
    // Only requests that carry the token are answered with data.
    api.mount(
        Mock::given(method("GET"))
            .and(path(RUNS))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ok(&runs_page(&[run(3, 1, 4)]))),
    );
    api.mount(
        Mock::given(method("GET"))
            .and(path(jobs_path(3)))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ok(&jobs_page(&[job(3, 4, 1, "build", "success", 50)]))),
    );
    // A server that echoes the credentials it refused.
    api.mount(
        Mock::given(method("GET"))
            .and(path(
                "/repos/octo-org/octo-repo/actions/workflows/other.yml/runs",
            ))
            .respond_with(ResponseTemplate::new(401).set_body_json(json!({
                "message": format!("Bad credentials: {TOKEN}"),
                "documentation_url": "https://docs.github.com/rest"
            }))),
    );
    let dir = tmp();
    let store = dir.path().join("jobs.json");
    let records = dir.path().join("records.json");
    let (store_arg, records_arg) = (store.display().to_string(), records.display().to_string());
    let summary = dir.path().join("summary.md");
    let run_with = |env: &[(&str, &str)], workflow: &str, api_url: &str| {
        let mut c = planner();
        c.env_remove("GITHUB_TOKEN")
            .env("GITHUB_STEP_SUMMARY", &summary);
        for (k, v) in env {
            c.env(k, v);
        }
        split(
            &c.args([
                "timings",
                "fetch",
                "--repo",
                "octo-org/octo-repo",
                "--workflow",
                workflow,
                "--api-url",
                api_url,
                "--out",
                &store_arg,
                "--records",
                &records_arg,
                "--token-env",
                "PLANNER_TEST_TOKEN",
                "--retries",
                "0",
            ])
            .output()
            .expect("runs"),
        )
    };

    // In Actions: the token is masked first, and that line is the only place it appears.
    let (code, out, err) = run_with(
        &[("PLANNER_TEST_TOKEN", TOKEN), ("GITHUB_ACTIONS", "true")],
        "ci.yml",
        &api.uri(),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("::add-mask::{TOKEN}\n"));
    let written = std::fs::read_to_string(&summary).expect("a step summary");
    assert!(
        written.contains("| `ubuntu-latest` | 20.0s (10.0s + 10.0s) | 1 |"),
        "{written}"
    );
    assert!(!err.contains(TOKEN), "{err}");
    assert_eq!(
        millis(&store_json(&store), "ubuntu-latest", "build"),
        [50_000]
    );

    let mut seen = vec![err];
    for (workflow, url) in [("other.yml", api.uri()), ("ci.yml", closed_port())] {
        let (code, out, err) = run_with(&[("PLANNER_TEST_TOKEN", TOKEN)], workflow, &url);
        assert_eq!(code, 7, "{err}");
        seen.push(out);
        seen.push(err);
    }
    assert!(
        seen[2].contains("401: Bad credentials: ***"),
        "the echoed token is hidden: {}",
        seen[2]
    );
    for file in [&store, &records] {
        seen.push(std::fs::read_to_string(file).expect("written"));
    }
    seen.push(std::fs::read_to_string(&summary).unwrap_or_default());
    for text in &seen {
        assert!(!text.contains(TOKEN), "the token surfaced in: {text}");
        assert!(
            !text.contains(&TOKEN[4..20]),
            "part of the token surfaced in: {text}"
        );
    }
}

/// A token with a trailing newline or a control character panicked in the HTTP client's header.
/// The newline is trimmed (the token still authenticates); a character inside is refused, and
/// the token is not shown.
#[test]
fn a_token_with_a_newline_is_trimmed_and_one_with_a_control_character_refused() {
    let api = Api::start();
    api.mount(
        Mock::given(method("GET"))
            .and(path(RUNS))
            .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
            .respond_with(ok(&runs_page(&[]))),
    );
    let dir = tmp();
    let store = dir.path().join("jobs.json");
    let with = |token: &str| {
        split(
            &planner()
                .env("GITHUB_TOKEN", token)
                .args([
                    "timings",
                    "fetch",
                    "--repo",
                    "octo-org/octo-repo",
                    "--workflow",
                    ".github/workflows/ci.yml",
                    "--api-url",
                    &api.uri(),
                    "--out",
                    store.to_str().expect("utf-8"),
                ])
                .output()
                .expect("the planner runs"),
        )
    };
    let (code, _, err) = with(&format!("{TOKEN}\n"));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("panicked") && !err.contains(TOKEN), "{err}");
    for bad in [format!("{TOKEN}\u{7}x"), format!("ab\ncd{TOKEN}")] {
        let (code, _, err) = with(&bad);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("$GITHUB_TOKEN: the token holds a character a token cannot hold"),
            "{err}"
        );
        assert!(!err.contains(TOKEN) && !err.contains("panicked"), "{err}");
    }
}

/// A `next` link that repeats was followed forever (2,600 requests in 120 s; the jobs' pages grew
/// memory without end). A page that brings nothing new, or a link already read, ends the listing.
#[test]
fn a_next_link_that_repeats_ends_the_listing() {
    let api = Api::start();
    let base = api.uri();
    let itself = |p: &str| format!("<{base}{p}?per_page=100&page=2>; rel=\"next\"");
    api.mount(Mock::given(method("GET")).and(path(RUNS)).respond_with(
        ok(&runs_page(&[run(7, 1, 1)])).insert_header("link", itself(RUNS).as_str()),
    ));
    let jobs = jobs_path(7);
    api.mount(
        Mock::given(method("GET"))
            .and(path(jobs.as_str()))
            .respond_with(
                ok(&jobs_page(&[job(7, 1, 1, "lint", "success", 60)]))
                    .insert_header("link", itself(&jobs).as_str()),
            ),
    );
    let dir = tmp();
    let store = dir.path().join("jobs.json");
    let (code, _, err) = fetch(&api.uri(), &store, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(api.hits(RUNS) <= 2, "{} requests for runs", api.hits(RUNS));
    assert!(
        api.hits(&jobs) <= 2,
        "{} requests for jobs",
        api.hits(&jobs)
    );
    assert_eq!(
        millis(&store_json(&store), "ubuntu-latest", "lint"),
        [60_000]
    );
}

/// A redirect to another host was followed and its data merged without a word; one within the
/// API (a renamed repository) is followed. An answer over the size cap is not read.
#[test]
fn redirects_stay_within_the_api_and_answers_are_capped() {
    let api = Api::start();
    let moved = "/repositories/42/actions/workflows/ci.yml/runs";
    api.serve(
        RUNS,
        ResponseTemplate::new(301)
            .insert_header("location", format!("{}{moved}", api.uri()).as_str()),
    );
    api.serve(moved, ok(&runs_page(&[])));
    let dir = tmp();
    let store = dir.path().join("jobs.json");
    let (code, _, err) = fetch(&api.uri(), &store, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        api.hits(moved),
        1,
        "the redirect within the API is followed"
    );

    let away = Api::start();
    away.serve(
        RUNS,
        ResponseTemplate::new(302).insert_header("location", "https://elsewhere.example/runs"),
    );
    let (code, _, err) = fetch(&away.uri(), &store, &[]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains(
            "redirected away from the API, to `https://elsewhere.example/runs`; not followed"
        ),
        "{err}"
    );

    let big = Api::start();
    let body = format!(
        "{{\"workflow_runs\": [], \"pad\": \"{}\"}}",
        "x".repeat(33 * 1024 * 1024)
    );
    big.serve(RUNS, ResponseTemplate::new(200).set_body_string(body));
    let (code, _, err) = fetch(&big.uri(), &store, &["--retries", "0"]);
    assert_eq!(code, 7, "{err}");
    assert!(
        err.contains("the answer is larger than 33554432 bytes; not read"),
        "{err}"
    );
    assert!(!store.exists());
}
