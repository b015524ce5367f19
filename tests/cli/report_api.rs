//! `planner report` with the run's jobs from a local server in the API's shapes (queue, start-up
//! and timeline per shard, worked out by hand) and with an earlier report (the trend).

use std::path::Path;

use serde_json::{Value, json};

use super::mock_api::{Api, TOKEN, at, closed_port, jobs_page, ok, record};
use super::report::{hand_worked_run, pytest_report, read_json};
use super::{planner, run, split, tmp, write};

const JOBS: &str = "/repos/octo-org/octo-repo/actions/runs/77/jobs";

/// A job of run 77 named `name`: created at `created`, started at `started`, completed at `done`
/// (seconds after 10:00:00 on the day of the hand-worked reports).
fn job(id: u64, name: &str, attempt: u32, conclusion: Option<&str>, times: [i64; 3]) -> Value {
    let mut j = record("job.json");
    let [created, started, done] = times;
    j["id"] = json!(id);
    j["run_id"] = json!(77);
    j["run_attempt"] = json!(attempt);
    j["name"] = json!(name);
    j["html_url"] = json!(format!(
        "https://github.com/octo-org/octo-repo/actions/runs/77/job/{id}"
    ));
    j["status"] = json!(if conclusion.is_some() {
        "completed"
    } else {
        "in_progress"
    });
    j["conclusion"] = json!(conclusion);
    j["created_at"] = json!(at(24, created));
    j["started_at"] = json!(at(24, started));
    j["completed_at"] = if conclusion.is_some() {
        json!(at(24, done))
    } else {
        Value::Null
    };
    j
}

/// The run's jobs, each shard named one of the three ways it can be:
/// - shard 1, `default 1/3` (the rendered name): queued 20 s, ran 10:00:20 → 10:02:00 (100 s);
///   an earlier failed attempt of it is left behind;
/// - shard 2, under a reusable workflow's caller: queued 10 s, 10:00:10 → 10:02:55 (165 s);
/// - shard 3, GitHub's name for an unnamed matrix job: queued 40 s, 10:00:40 → 10:01:40 (60 s);
/// - and the plan job, and the report job still running: no shards.
fn shard_jobs(shard_3: Option<&str>) -> Value {
    jobs_page(&[
        job(1, "plan", 1, Some("success"), [-30, -25, -5]),
        job(2, "default 1/3", 1, Some("failure"), [-5, 0, 50]),
        job(3, "default 1/3", 2, Some("success"), [0, 20, 120]),
        job(4, "tests / default 2/3", 1, Some("success"), [0, 10, 175]),
        job(5, "suite_1 (default, 3, 3)", 1, shard_3, [0, 40, 100]),
        job(6, "report", 1, None, [180, 185, 0]),
    ])
}

/// `--run-id 77 --repo octo-org/octo-repo --api-url URL`, and `more`.
fn of_run_77(api_url: &str, more: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--run-id",
        "77",
        "--repo",
        "octo-org/octo-repo",
        "--api-url",
        api_url,
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(more.iter().map(|s| (*s).to_owned()));
    args
}

fn report<S: AsRef<std::ffi::OsStr>>(
    plan: &str,
    reports: &[String],
    d: &Path,
    extra: &[S],
) -> (i32, String, String) {
    let json = d.join("report.json").display().to_string();
    let summary = d.join("summary.md").display().to_string();
    let mut cmd = planner();
    cmd.env("GITHUB_TOKEN", TOKEN)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_REPOSITORY")
        .args(["report", "--plan", plan, "--junit"])
        .args(reports)
        .args(["--json", &json, "--summary", &summary])
        .args(extra);
    split(&cmd.output().expect("planner runs"))
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one worked example, every measure of it checked in turn"
)]
fn job_timings_give_each_shard_its_queue_start_up_and_timeline() {
    let dir = tmp();
    let d = dir.path();
    let (plan, reports) = hand_worked_run(d);
    let api = Api::start();
    api.mount(
        wiremock::Mock::given(wiremock::matchers::method("GET"))
            .and(wiremock::matchers::path(JOBS))
            .and(wiremock::matchers::query_param("filter", "latest"))
            .and(wiremock::matchers::header(
                "authorization",
                format!("Bearer {TOKEN}").as_str(),
            ))
            .respond_with(ok(&shard_jobs(Some("success")))),
    );
    let extra = of_run_77(&api.uri(), &[]);
    let (code, out, err) = report(&plan, &reports, d, &extra);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("run 77: 6 jobs, 4 of them shards, 3 with times"),
        "{err}"
    );
    assert!(!format!("{out}{err}").contains(TOKEN));

    let r = read_json(&d.join("report.json"));
    assert_eq!(r["run_id"], json!(77));
    let s = &r["suites"][0];
    // Busy times from JUnit: 70, 140, 35 s. Jobs: 100, 165, 60 s, so start-up 30, 25, 25 s.
    let shards = s["per_shard"].as_array().expect("shards");
    let col = |k: &str| shards.iter().map(|x| x[k].clone()).collect::<Vec<Value>>();
    assert_eq!(
        col("overhead_seconds"),
        [json!(30.0), json!(25.0), json!(25.0)]
    );
    assert_eq!(
        col("queue_seconds"),
        [json!(20.0), json!(10.0), json!(40.0)]
    );
    // The timeline from the first job's start (10:00:10).
    assert_eq!(col("start_seconds"), [json!(10.0), json!(0.0), json!(30.0)]);
    assert_eq!(
        col("end_seconds"),
        [json!(110.0), json!(165.0), json!(90.0)]
    );
    assert_eq!(
        col("job"),
        [json!("success"), json!("success"), json!("success")]
    );
    assert_eq!(
        shards[0]["job_url"],
        json!("https://github.com/octo-org/octo-repo/actions/runs/77/job/3")
    );
    // wall = 10:02:55 − 10:00:10; sequential = median start-up 25 + W 245.
    assert_eq!(s["wall_source"], json!("job-timings"));
    assert_eq!(s["overhead_known"], json!(true));
    assert_eq!(s["wall_seconds"], json!(165.0));
    assert_eq!(s["sequential_seconds"], json!(270.0));
    assert_eq!(s["speedup"], json!(1.6364)); // 270 / 165
    assert_eq!(s["efficiency"], json!(0.5455)); // 1.6364 / 3
    assert_eq!(s["utilization"], json!(0.4949)); // 245 / (3 × 165)
    assert_eq!(s["overhead_share"], json!(0.2462)); // 80 / (80 + 245)
    assert_eq!(s["queue_seconds"], json!(40.0));
    // LB = min start-up 25 + max(longest item 100, 245 / 3); the busiest shard 140 + 25.
    assert_eq!(s["lower_bound_seconds"], json!(125.0));
    assert_eq!(s["critical_path_seconds"], json!(165.0));
    // Each job billed by the minute: ⌈100/60⌉ + ⌈165/60⌉ + ⌈60/60⌉ = 2 + 3 + 1.
    assert_eq!(s["runner_minutes"], json!(6));
    assert!(
        r["notes"].as_array().expect("notes").is_empty(),
        "{}",
        r["notes"]
    );

    let summary = std::fs::read_to_string(d.join("summary.md")).expect("summary");
    assert!(
        summary.contains("| [1](https://github.com/octo-org/octo-repo/actions/runs/77/job/3) | 2 | 1m 10s | 1m 10s | +0% | 30.0s |"),
        "{summary}"
    );
    assert!(
        summary.contains("The longest wait for a runner was 40.0s"),
        "{summary}"
    );
    assert!(!summary.contains("unknown"), "{summary}");
    let charts = super::mermaid_charts(&d.join("summary.md"));
    let actual: Vec<(i64, i64)> = charts[0]
        .as_array()
        .expect("tasks")
        .iter()
        .filter(|t| t["section"] == json!("Actual"))
        .map(|t| {
            (
                t["start"].as_i64().expect("start"),
                t["end"].as_i64().expect("end"),
            )
        })
        .collect();
    assert_eq!(actual, [(10_000, 110_000), (0, 165_000), (30_000, 90_000)]);

    // Shard 3's job was cancelled and sent no report: the summary says so.
    api.rt.block_on(api.server.reset());
    api.serve(JOBS, ok(&shard_jobs(Some("cancelled"))));
    let (code, _, err) = report(&plan, &reports[..2], d, &extra);
    assert_eq!(code, 0, "{err}");
    let summary = std::fs::read_to_string(d.join("summary.md")).expect("summary");
    assert!(
        summary.contains("**Missing:** no report from shard 3 (job cancelled)."),
        "{summary}"
    );
    let r = read_json(&d.join("report.json"));
    assert_eq!(r["suites"][0]["per_shard"][2]["job"], json!("cancelled"));
    assert_eq!(r["suites"][0]["wall_seconds"], json!(165.0));
}

#[test]
fn jobs_named_otherwise_are_found_with_job_name_and_a_dead_api_is_only_a_warning() {
    let dir = tmp();
    let d = dir.path();
    let (plan, reports) = hand_worked_run(d);
    let api = Api::start();
    let named = |k: u32| {
        job(
            u64::from(k),
            &format!("Tests ({k} of 3)"),
            1,
            Some("success"),
            [0, 10, 200],
        )
    };
    api.serve(JOBS, ok(&jobs_page(&[named(1), named(2), named(3)])));
    let uri = api.uri();
    let base = of_run_77(&uri, &[]);

    let (code, _, err) = report(&plan, &reports, d, &base);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("none of run 77's 3 jobs is named like a shard"),
        "{err}"
    );
    assert!(err.contains("--job-name"), "{err}");
    let r = read_json(&d.join("report.json"));
    assert_eq!(r["suites"][0]["overhead_known"], json!(false));

    let with_name = of_run_77(&uri, &["--job-name", "Tests ({shard} of {total})"]);
    let (code, _, err) = report(&plan, &reports, d, &with_name);
    assert_eq!(code, 0, "{err}");
    let r = read_json(&d.join("report.json"));
    assert_eq!(r["suites"][0]["overhead_known"], json!(true));
    assert_eq!(r["suites"][0]["wall_seconds"], json!(190.0));

    let (code, _, err) = report(
        &plan,
        &reports,
        d,
        &[
            "--run-id",
            "77",
            "--repo",
            "octo-org/octo-repo",
            "--job-name",
            "Tests",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--job-name `Tests`: expected a name with {shard}"),
        "{err}"
    );
    let (code, _, err) = report(&plan, &reports, d, &["--run-id", "77"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--repo OWNER/NAME"), "{err}");

    // Nothing listens: a warning, a note in the report, and the JUnit measures all the same.
    let dead = of_run_77(&closed_port(), &["--retries", "0"]);
    let (code, _, err) = report(&plan, &reports, d, &dead);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("the jobs of run 77 could not be read"),
        "{err}"
    );
    let r = read_json(&d.join("report.json"));
    assert_eq!(r["suites"][0]["wall_seconds"], json!(146.0));
    assert!(
        r["notes"].to_string().contains("could not be read"),
        "{}",
        r["notes"]
    );
    let summary = std::fs::read_to_string(d.join("summary.md")).expect("summary");
    assert!(summary.contains("could not be read"), "{summary}");
}

/// The hand-worked run's tests at half their times: the run before this one.
fn faster_run(d: &Path) -> Vec<String> {
    let dir = d.join("before");
    std::fs::create_dir_all(&dir).expect("dir");
    [
        pytest_report(0, &[("test_a", 30.0, false), ("test_f", 5.0, false)]),
        pytest_report(5, &[("test_b", 50.0, false), ("test_e", 20.0, false)]),
        pytest_report(2, &[("test_c", 10.0, false), ("test_d", 7.5, false)]),
    ]
    .iter()
    .enumerate()
    .map(|(k, xml)| {
        write(&dir, &format!("shard-{}.xml", k + 1), xml)
            .display()
            .to_string()
    })
    .collect()
}

#[test]
fn an_earlier_report_gives_the_trend_and_a_warning_that_says_why() {
    let dir = tmp();
    let d = dir.path();
    let (plan, reports) = hand_worked_run(d);
    let before = faster_run(d);
    let earlier = d.join("earlier.json").display().to_string();
    let mut args = vec!["report", "--plan", &plan, "--json", &earlier, "--junit"];
    args.extend(before.iter().map(String::as_str));
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    // Before: shard 2 ran 5 s → 76 s (71 s: 70 of tests and 1 of collection).
    assert_eq!(
        read_json(Path::new(&earlier))["suites"][0]["wall_seconds"],
        json!(76.0)
    );

    let (code, _, err) = report(&plan, &reports, d, &["--previous", &earlier]);
    assert_eq!(code, 0, "{err}");
    let r = read_json(&d.join("report.json"));
    let changes = r["trend"]["changes"].as_array().expect("changes");
    let find = |suite: Option<&str>, measure: &str| {
        changes
            .iter()
            .find(|c| c["measure"] == json!(measure) && c["suite"].as_str() == suite)
            .map(|c| {
                (
                    c["previous"].clone(),
                    c["current"].clone(),
                    c["change"].clone(),
                )
            })
    };
    assert_eq!(
        find(None, "wall_seconds"),
        Some((json!(76.0), json!(146.0), json!(0.9211)))
    );
    assert_eq!(
        find(Some("default"), "sequential_seconds"),
        Some((json!(122.5), json!(245.0), json!(1.0)))
    );
    let trend: Vec<&Value> = r["advice"]
        .as_array()
        .expect("advice")
        .iter()
        .filter(|a| a["kind"] == json!("trend"))
        .collect();
    assert_eq!(trend.len(), 1, "{}", r["advice"]);
    assert_eq!(
        trend[0]["message"],
        json!(
            "wall time grew from 1m 16s to 2m 26s (+92%) since the previous report; the tests themselves take longer: sequential time 2m 03s → 4m 05s"
        )
    );
    let summary = std::fs::read_to_string(d.join("summary.md")).expect("summary");
    assert!(
        summary.contains("### Since the previous report\n"),
        "{summary}"
    );
    assert!(
        summary.contains("| `default` | wall | 1m 16s | 2m 26s | +92% |"),
        "{summary}"
    );

    // The first run has no earlier report: a warning, no trend.
    let (code, _, err) = report(&plan, &reports, d, &["--previous", "nowhere.json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("nowhere.json: no earlier report there yet"),
        "{err}"
    );
    assert_eq!(read_json(&d.join("report.json"))["trend"], Value::Null);

    // Something else where the report should be: exit 3, the file and line named.
    let wrong = write(
        d,
        "wrong.json",
        "{\n  \"format\": \"gha-planner-plan\",\n  \"version\": 1,\n  \"run\": 5\n}\n",
    );
    let (code, _, err) = report(
        &plan,
        &reports,
        d,
        &["--previous", &wrong.display().to_string()],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("wrong.json: line 4 column"), "{err}");
    let plan_as_report = report(&plan, &reports, d, &["--previous", &plan]);
    assert_eq!(plan_as_report.0, 3, "{}", plan_as_report.2);
}
