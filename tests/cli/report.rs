//! `planner report`: measures checked against values worked out by hand, missing shards, the
//! history update, the summary (snapshot, and its gantt laid out by mermaid), and an end-to-end
//! run of a real pytest suite whose shards run as parallel processes.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use super::{fixture, mermaid_charts, planner, python, run, split, tmp, write};

/// Six tests of 60, 50, 40, 30, 20 and 10 s.
const DURATIONS: &str = r#"{
  "tests/test_app.py::test_a": 60, "tests/test_app.py::test_b": 50,
  "tests/test_app.py::test_c": 40, "tests/test_app.py::test_d": 30,
  "tests/test_app.py::test_e": 20, "tests/test_app.py::test_f": 10
}"#;

/// A report in pytest's shape: one `<testsuite>` with its `timestamp` (seconds after 10:00:00) and
/// `time` (the tests' times + 1 s of collection), one `<testcase>` per test of `tests/test_app.py`.
pub fn pytest_report(start: u32, cases: &[(&str, f64, bool)]) -> String {
    let cases: Vec<(&str, &str, f64, bool)> = cases
        .iter()
        .map(|&(name, secs, failed)| ("tests.test_app", name, secs, failed))
        .collect();
    pytest_report_of(start, &cases)
}

/// The same, each test with its own class: (classname, name, seconds, failed).
pub fn pytest_report_of(start: u32, cases: &[(&str, &str, f64, bool)]) -> String {
    let total: f64 = cases.iter().map(|c| c.2).sum::<f64>() + 1.0;
    let failures = cases.iter().filter(|c| c.3).count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite name=\"pytest\" errors=\"0\" failures=\"{failures}\" skipped=\"0\" tests=\"{}\" time=\"{total:.3}\" timestamp=\"2026-11-24T10:{:02}:{:02}.000000+00:00\" hostname=\"runner\">",
        cases.len(),
        start / 60,
        start % 60
    );
    for (class, name, secs, failed) in cases {
        let body = if *failed {
            "<failure message=\"assert 1 == 2\">assert 1 == 2</failure></testcase>"
        } else {
            "</testcase>"
        };
        let _ = write!(
            xml,
            "<testcase classname=\"{class}\" name=\"{name}\" time=\"{secs:.3}\">{body}"
        );
    }
    xml.push_str("</testsuite></testsuites>");
    xml
}

/// The plan of the six tests in three shards, and the shards' reports:
/// shard 1 ran as planned (a 60 + f 10, f failed), from 0 s to 71 s;
/// shard 2 ran everything twice as long (b 100 + e 40), from 5 s to 146 s;
/// shard 3 ran everything in half the time (c 20 + d 15), from 2 s to 38 s.
pub fn hand_worked_run(dir: &Path) -> (String, [String; 3]) {
    let timings = write(dir, "durations.json", DURATIONS);
    let plan = dir.join("plan.json");
    plan_shards(&timings, 3, &plan);
    // Longest first: a, b, c open the shards; d joins c, e joins b, f joins a.
    let p: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).expect("plan")).expect("JSON");
    let shard_items: Vec<Vec<&str>> = p["suites"][0]["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|s| {
            s["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| {
                    i["id"]
                        .as_str()
                        .expect("id")
                        .trim_start_matches("tests/test_app.py::")
                })
                .collect()
        })
        .collect();
    assert_eq!(
        shard_items,
        [
            vec!["test_a", "test_f"],
            vec!["test_b", "test_e"],
            vec!["test_c", "test_d"]
        ]
    );
    std::fs::create_dir_all(dir.join("junit")).expect("dir");
    let reports = [
        pytest_report(0, &[("test_a", 60.0, false), ("test_f", 10.0, true)]),
        pytest_report(5, &[("test_b", 100.0, false), ("test_e", 40.0, false)]),
        pytest_report(2, &[("test_c", 20.0, false), ("test_d", 15.0, false)]),
    ];
    let paths = reports
        .iter()
        .enumerate()
        .map(|(k, xml)| {
            write(&dir.join("junit"), &format!("shard-{}.xml", k + 1), xml)
                .display()
                .to_string()
        })
        .collect::<Vec<_>>()
        .try_into()
        .expect("three reports");
    (plan.display().to_string(), paths)
}

/// `planner plan --timings TIMINGS --total N --out PLAN`, which must succeed.
fn plan_shards(timings: &Path, n: u32, plan: &Path) {
    plan_from("--timings", timings, n, plan);
}

/// `planner plan FLAG INPUT --total N --out PLAN` (`--timings` or `--items`), which must
/// succeed.
pub fn plan_from(flag: &str, input: &Path, n: u32, plan: &Path) {
    let (code, _, err) = run(&[
        "plan",
        flag,
        &input.display().to_string(),
        "--total",
        &n.to_string(),
        "--out",
        &plan.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
}

pub fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("written")).expect("JSON")
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one worked example, every measure of it checked in turn"
)]
fn every_measure_matches_the_hand_worked_values() {
    let dir = tmp();
    let d = dir.path();
    let (plan, reports) = hand_worked_run(d);
    let (json, summary, store) = (
        d.join("report.json"),
        d.join("summary.md"),
        d.join("store.json"),
    );
    let mut args = vec!["report", "--plan", plan.as_str(), "--junit"];
    args.extend(reports.iter().map(String::as_str));
    let (json_a, summary_a, store_a) = (
        json.display().to_string(),
        summary.display().to_string(),
        store.display().to_string(),
    );
    args.extend([
        "--json",
        &json_a,
        "--summary",
        &summary_a,
        "--timings-out",
        &store_a,
        "--sla",
        "160",
    ]);
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("suite default: wall 2m 26s, sequential 4m 05s, speedup 1.68×"),
        "{out}"
    );

    let r = read_json(&json);
    let s = &r["suites"][0];
    // W = 70 + 140 + 35 = 245 s; wall = 146 s (shard 2 ends last, shard 1 starts first).
    assert_eq!(s["wall_seconds"], json!(146.0));
    assert_eq!(s["wall_source"], json!("junit-timestamps"));
    assert_eq!(s["work_seconds"], json!(245.0));
    // Start-up unknown from JUnit: counted as zero, so sequential = W.
    assert_eq!(s["overhead_known"], json!(false));
    assert_eq!(s["overhead_share"], Value::Null);
    assert_eq!(s["sequential_seconds"], json!(245.0));
    assert_eq!(s["speedup"], json!(1.6781)); // 245 / 146
    assert_eq!(s["efficiency"], json!(0.5594)); // 1.6781 / 3
    assert_eq!(s["utilization"], json!(0.5594)); // 245 / (3 × 146)
    assert_eq!(s["imbalance"], json!(1.7143)); // 140 / (245 / 3)
    // LB = 0 + max(longest item 100, 245 / 3).
    assert_eq!(s["lower_bound_seconds"], json!(100.0));
    assert_eq!(s["critical_path_seconds"], json!(140.0));
    assert_eq!(s["predicted_makespan_seconds"], json!(70.0));
    assert_eq!(s["prediction_error"], json!(1.0)); // (140 − 70) / 70
    // Billed: ⌈70/60⌉ + ⌈140/60⌉ + ⌈35/60⌉ = 2 + 3 + 1 minutes, at $0.008.
    assert_eq!(s["runner_minutes"], json!(6));
    assert_eq!(s["cost_usd"], json!(0.048));
    assert_eq!(s["failed_tests"], json!(1));
    let errors: Vec<&Value> = s["per_shard"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|x| &x["prediction_error"])
        .collect();
    assert_eq!(errors, [&json!(0.0), &json!(1.0), &json!(-0.5)]);
    let starts: Vec<(&Value, &Value)> = s["per_shard"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|x| (&x["start_seconds"], &x["end_seconds"]))
        .collect();
    assert_eq!(
        starts,
        [
            (&json!(0.0), &json!(71.0)),
            (&json!(5.0), &json!(146.0)),
            (&json!(2.0), &json!(38.0))
        ]
    );
    // Far from their estimates (2× or ½, a second apart), largest difference first.
    let off: Vec<&str> = s["items_off"]
        .as_array()
        .expect("items_off")
        .iter()
        .map(|i| {
            i["id"]
                .as_str()
                .expect("id")
                .trim_start_matches("tests/test_app.py::")
        })
        .collect();
    assert_eq!(off, ["test_b", "test_c", "test_e", "test_d"]);
    assert_eq!(r["run"]["speedup"], json!(1.6781));

    // Shard 2 is 1.7× the mean; its `test_b` alone is over a fair share, so the advice is to split
    // it, not to rebalance (which could not help); 146 s is 91% of the 160 s budget.
    let kinds: Vec<&str> = r["advice"]
        .as_array()
        .expect("advice")
        .iter()
        .map(|a| a["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["sla", "bottleneck", "split-item"]);
    assert!(
        r["advice"][1]["message"]
            .as_str()
            .expect("message")
            .starts_with("shard 2 ran 2m 20s, 1.7× the mean shard (1m 22s); heaviest: `tests/test_app.py::test_b` (1m 40s)")
    );

    // The history gains this run's passing tests, at their actual times; failed `test_f` not.
    let st = read_json(&store);
    let items = &st["classes"]["default"];
    let got: Vec<(&str, u64)> = items
        .as_object()
        .expect("items")
        .iter()
        .map(|(k, v)| {
            (
                k.trim_start_matches("tests/test_app.py::"),
                v[0][0].as_u64().expect("ms"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("test_a", 60_000),
            ("test_b", 100_000),
            ("test_c", 20_000),
            ("test_d", 15_000),
            ("test_e", 40_000)
        ]
    );

    // The summary: its gantt laid out by mermaid, actual beside predicted, then a snapshot.
    let charts = mermaid_charts(&summary);
    let bars: Vec<(String, String, i64, i64)> = charts[0]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            (
                t["section"].as_str().expect("section").to_owned(),
                t["task"].as_str().expect("task").to_owned(),
                t["start"].as_i64().expect("start"),
                t["end"].as_i64().expect("end"),
            )
        })
        .collect();
    let bar = |sec: &str, task: &str, a: i64, b: i64| (sec.to_owned(), task.to_owned(), a, b);
    assert_eq!(
        bars,
        [
            bar("Actual", "shard 1", 0, 71_000),
            bar("Actual", "shard 2", 5_000, 146_000),
            bar("Actual", "shard 3", 2_000, 38_000),
            bar("Predicted", "shard 1", 0, 70_000),
            bar("Predicted", "shard 2", 0, 70_000),
            bar("Predicted", "shard 3", 0, 70_000),
        ]
    );
    insta::assert_snapshot!(
        "report_summary",
        std::fs::read_to_string(&summary).expect("summary")
    );
}

#[test]
fn github_output_gets_the_headline_measures() {
    let dir = tmp();
    let d = dir.path();
    let (plan, reports) = hand_worked_run(d);
    let output = d.join("output");
    let json = d.join("r.json").display().to_string();
    let mut args = vec![
        "report",
        "--plan",
        &plan,
        "--json",
        &json,
        "--github-output",
    ];
    args.extend(["--junit", &reports[0], &reports[1]]);
    let (code, _, err) = super::run_with_github_output(&output, &args);
    assert_eq!(code, 0, "{err}");
    let got = super::read_github_output(&output);
    // Shards 1 and 2: W = 70 + 140 s over 0 → 146 s; speedup 210 / 146, ÷ 2 for efficiency.
    let want: Vec<(&str, &str)> = vec![
        ("efficiency", "0.7192"),
        // Shard 1's test f failed, and no history knows it as flaky.
        ("known-flakes-only", "false"),
        ("missing-shards", "default 3"),
        ("report", json.as_str()),
        ("runner-minutes", "5"),
        ("sequential-seconds", "210"),
        ("speedup", "1.4384"),
        ("utilization", "0.7192"), // 210 / (2 × 146)
        ("wall-seconds", "146"),
    ];
    let got: Vec<(&str, &str)> = got.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(got, want);
    let (code, _, err) = run(&[
        "report",
        "--plan",
        &plan,
        "--junit",
        &reports[0],
        "--github-output",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("$GITHUB_OUTPUT is not set"), "{err}");
}

#[test]
fn a_missing_shard_is_named_and_fails_only_when_all_are_required() {
    let dir = tmp();
    let d = dir.path();
    let (plan, reports) = hand_worked_run(d);
    let summary = d.join("summary.md").display().to_string();
    let args = [
        "report",
        "--plan",
        &plan,
        "--junit",
        &reports[0],
        &reports[1],
        "--summary",
        &summary,
    ];
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 of 3 shards reported"), "{out}");
    assert!(
        err.contains("warning: no report from suite default: shard(s) 3; the report covers the shards that sent one"),
        "{err}"
    );
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(
        text.contains("**Missing:** no report from shard 3."),
        "{text}"
    );
    assert!(
        text.contains("| 3 | – | 1m 10s | missing | – | – | |"),
        "{text}"
    );
    // Wall from shard 1's start (0 s) to shard 2's end (146 s); W = 70 + 140.
    assert!(text.contains("| 2m 26s | 3m 30s | 1.44× |"), "{text}");

    let mut strict = args.to_vec();
    strict.push("--require-all");
    let (code, _, err) = run(&strict);
    assert_eq!(code, 8, "{err}");
    assert!(
        err.contains("no report from suite default: shard(s) 3 (--require-all)"),
        "{err}"
    );

    // Inside Actions: the bottleneck and the missing shard become annotations.
    let (_, out, _) = split(
        &planner()
            .env("GITHUB_ACTIONS", "true")
            .args(&args[..6])
            .output()
            .expect("runs"),
    );
    assert!(
        out.contains("::warning::default: shard 3 sent no report"),
        "{out}"
    );
}

#[test]
fn bad_report_inputs_are_clear_errors() {
    let dir = tmp();
    let d = dir.path();
    let (plan, _) = hand_worked_run(d);
    let broken = write(
        d,
        "broken.xml",
        "<testsuites><testsuite name=\"x\"><testcase",
    );
    let (code, _, err) = run(&[
        "report",
        "--plan",
        &plan,
        "--junit",
        &broken.display().to_string(),
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("broken.xml"), "{err}");
    let (code, _, err) = run(&[
        "report",
        "--plan",
        &plan,
        "--junit",
        &reports_dir_missing(d),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing-here"), "{err}");
    let (code, _, err) = run(&[
        "report",
        "--plan",
        &plan,
        "--junit",
        "x.xml",
        "--rate",
        "solaris=1",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown runner kind `solaris`"), "{err}");
}

fn reports_dir_missing(d: &Path) -> String {
    d.join("nothing-here/*.xml").display().to_string()
}

/// The known durations of tests/fixtures/projects/pytest_timed, as pytest-split would keep them.
const TIMED: [(&str, f64); 9] = [
    ("parse_large", 3.0),
    ("render_all", 2.5),
    ("migrate", 2.0),
    ("export_csv", 1.5),
    ("import_csv", 1.5),
    ("search", 1.0),
    ("login", 1.0),
    ("logout", 0.5),
    ("health", 0.5),
];

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "plan, run three real processes, report, compare: one story"
)]
fn a_real_pytest_run_in_parallel_shards_is_measured_as_its_own_clocks_say() {
    let project = Path::new(&fixture("projects/pytest_timed")).to_owned();
    let dir = tmp();
    let d = dir.path();
    let durations: serde_json::Map<String, Value> = TIMED
        .iter()
        .map(|(n, s)| (format!("tests/test_timed.py::test_timed[{n}]"), json!(s)))
        .collect();
    let timings = write(d, ".test_durations", &Value::Object(durations).to_string());
    let plan_path = d.join("plan.json");
    plan_shards(&timings, 3, &plan_path);
    let plan = plan_path.display().to_string();

    // Each shard: `planner shard` prints its tests; pytest runs them, all three at once.
    let junit = d.join("junit");
    std::fs::create_dir_all(&junit).expect("dir");
    let mut children = Vec::new();
    for k in 1..=3 {
        let (code, items, err) = run(&[
            "shard",
            "--plan",
            &plan,
            "--index",
            &k.to_string(),
            "--total",
            "3",
            "--format",
            "pytest",
        ]);
        assert_eq!(code, 0, "{err}");
        let list = write(d, &format!("items-{k}.txt"), &items);
        children.push(
            std::process::Command::new(python())
                .current_dir(&project)
                .env("PLANNER_CLOCKS", d.join(format!("clock-{k}.json")))
                .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
                .arg(format!("@{}", list.display()))
                .arg(format!(
                    "--junitxml={}",
                    junit.join(format!("shard-{k}.xml")).display()
                ))
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("pytest starts"),
        );
    }
    for mut c in children {
        assert!(c.wait().expect("pytest ends").success());
    }

    let json = d.join("report.json");
    let (code, _, err) = run(&[
        "report",
        "--plan",
        &plan,
        "--junit",
        &junit.display().to_string(),
        "--json",
        &json.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let r = read_json(&json);
    let s = &r["suites"][0];

    // What the processes' own clocks say: session start and end, and each test's time.
    let clocks: Vec<Value> = (1..=3)
        .map(|k| read_json(&d.join(format!("clock-{k}.json"))))
        .collect();
    let first = clocks
        .iter()
        .map(|c| c["start"].as_f64().expect("start"))
        .fold(f64::INFINITY, f64::min);
    let last = clocks
        .iter()
        .map(|c| c["end"].as_f64().expect("end"))
        .fold(0.0, f64::max);
    let wall = last - first;
    let busy: f64 = clocks
        .iter()
        .flat_map(|c| {
            c["tests"]
                .as_object()
                .expect("tests")
                .values()
                .map(|v| v.as_f64().expect("secs"))
        })
        .sum();
    assert_eq!(
        clocks
            .iter()
            .map(|c| c["tests"].as_object().map_or(0, serde_json::Map::len))
            .sum::<usize>(),
        9,
        "every test ran once"
    );
    let speedup = busy / wall;
    let utilization = busy / (3.0 * wall);
    let close = |name: &str, got: f64, want: f64| {
        assert!(
            (got - want).abs() <= 0.03 * want,
            "{name}: report {got}, clocks {want} (more than 3% apart)"
        );
    };
    close("wall", s["wall_seconds"].as_f64().expect("wall"), wall);
    close("speedup", s["speedup"].as_f64().expect("speedup"), speedup);
    close(
        "utilization",
        s["utilization"].as_f64().expect("utilization"),
        utilization,
    );
    assert_eq!(s["shards_reported"], json!(3));
    assert!(busy > 13.4, "the tests slept 13.5 s in all: {busy}");
}

#[test]
fn a_summary_of_256_shards_stays_under_a_mebibyte_and_its_gantt_readable() {
    let dir = tmp();
    let d = dir.path();
    // 2,560 tests with long parametrized ids, 1 to 40 s each.
    let id = |i: usize| {
        format!(
            "tests/integration/test_long_module_name_{:02}.py::TestAVeryDescriptiveClassName::test_case[{}-{}]",
            i % 40,
            "param".repeat(8),
            i
        )
    };
    let durations: serde_json::Map<String, Value> = (0..2560)
        .map(|i| (id(i), json!(1 + (i * 7919) % 40)))
        .collect();
    let timings = write(d, "durations.json", &Value::Object(durations).to_string());
    let plan = d.join("plan.json");
    plan_shards(&timings, 256, &plan);
    // Each shard's report: its tests at 1.5× their estimate, a failure in every tenth shard.
    let junit = d.join("junit");
    std::fs::create_dir_all(&junit).expect("dir");
    let p = read_json(&plan);
    for (k, shard) in p["suites"][0]["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .enumerate()
    {
        // Each test under its class, as pytest names it, so that the ids come out whole.
        let cases: Vec<(String, String, f64, bool)> = shard["items"]
            .as_array()
            .expect("items")
            .iter()
            .enumerate()
            .map(|(j, i)| {
                let id = i["id"].as_str().expect("id");
                let (file, rest) = id.split_once("::").expect("file");
                let (class, name) = rest.split_once("::").expect("class");
                let module = file.trim_end_matches(".py").replace('/', ".");
                let secs = i["ms"].as_f64().expect("ms") * 1.5 / 1000.0;
                (
                    format!("{module}.{class}"),
                    name.to_owned(),
                    secs,
                    j == 0 && k % 10 == 0,
                )
            })
            .collect();
        let borrowed: Vec<(&str, &str, f64, bool)> = cases
            .iter()
            .map(|(c, n, s, f)| (c.as_str(), n.as_str(), *s, *f))
            .collect();
        let xml = pytest_report_of(u32::try_from(k % 60).expect("small"), &borrowed);
        write(&junit, &format!("shard-{}.xml", k + 1), &xml);
    }
    let summary = d.join("summary.md");
    let json = d.join("report.json");
    let (code, _, err) = run(&[
        "report",
        "--plan",
        &plan.display().to_string(),
        "--junit",
        &junit.display().to_string(),
        "--summary",
        &summary.display().to_string(),
        "--json",
        &json.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let r = read_json(&json);
    assert_eq!(r["suites"][0]["shards_reported"], json!(256));
    assert_eq!(r["suites"][0]["unplanned_items"], json!(0));
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(text.len() < 1024 * 1024, "{} bytes", text.len());
    // Every shard has its row; the gantt shows the first 64, actual beside predicted.
    assert_eq!(
        text.matches("\n| 256 | ").count(),
        1,
        "the last shard's row"
    );
    let charts = mermaid_charts(&summary);
    assert_eq!(charts[0].as_array().expect("tasks").len(), 128);
}

/// One serial JUnit given to `report` as if it were the report of four shards once read as
/// "speedup 2.19×, 4 of 4 shards": each testcase landed in the shard that planned it. A report is
/// one process, so it counts as one shard's; and a testcase without `time` was dropped without a
/// word, where `timings merge` warns.
#[test]
fn a_serial_report_is_one_shard_and_a_test_without_time_is_said() {
    let dir = tmp();
    let d = dir.path();
    let timings = write(d, "durations.json", DURATIONS);
    let plan = d.join("plan.json");
    plan_shards(&timings, 4, &plan);
    let all: Vec<(&str, f64, bool)> = [
        ("test_a", 60.0),
        ("test_b", 50.0),
        ("test_c", 40.0),
        ("test_d", 30.0),
        ("test_e", 20.0),
        ("test_f", 10.0),
    ]
    .iter()
    .map(|&(n, s)| (n, s, false))
    .collect();
    let xml = pytest_report(0, &all).replacen(
        "</testsuite>",
        "<testcase classname=\"tests.test_app\" name=\"test_untimed\"/></testsuite>",
        1,
    );
    let serial = write(d, "serial.xml", &xml);
    let json = d.join("report.json");
    let (code, _, err) = run(&[
        "report",
        "--plan",
        plan.to_str().unwrap(),
        "--junit",
        serial.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("serial.xml: 5 of its 6 tests were planned for 3 other shard(s)"),
        "{err}"
    );
    assert!(
        err.contains("serial.xml: 1 testcase(s) have no `time` and were left out"),
        "{err}"
    );
    let r = read_json(&json);
    let s = &r["suites"][0];
    assert_eq!(s["shards_reported"], 1, "{s}");
    assert_eq!(s["missing_shards"].as_array().map(Vec::len), Some(3));
    let speedup = s["speedup"].as_f64().unwrap_or(0.0);
    assert!(
        speedup <= 1.0 + 1e-9,
        "one process bought no speedup: {speedup}"
    );
}

/// A plan made from a map keyed by files (a Knapsack report) said `"granularity": "test"`;
/// `report` on that run's per-test JUnit then matched nothing ("0 of 2 shards reported"). The
/// plan now says what its items are, and `report` reads testcases at the granularity the plan's
/// items are even when an older plan says otherwise.
#[test]
fn a_plan_of_files_reads_per_test_reports_by_file() {
    let dir = tmp();
    let d = dir.path();
    let files = write(
        d,
        "knapsack.json",
        r#"{"tests/test_a.py": 10.0, "tests/test_b.py": 9.0}"#,
    );
    let plan = d.join("plan.json");
    plan_shards(&files, 2, &plan);
    let mut p = read_json(&plan);
    assert_eq!(
        p["suites"][0]["granularity"], "file",
        "the plan says what its items are"
    );
    // A plan written before it did says "test": report reads its per-test JUnit by file anyway.
    p["suites"][0]["granularity"] = json!("test");
    std::fs::write(&plan, serde_json::to_string(&p).unwrap()).unwrap();
    let shard_of = |file: &str| {
        p["suites"][0]["shards"]
            .as_array()
            .unwrap()
            .iter()
            .position(|s| s["items"][0]["id"] == file)
            .unwrap()
    };
    let mut reports = Vec::new();
    for (file, class) in [
        ("tests/test_a.py", "tests.test_a"),
        ("tests/test_b.py", "tests.test_b"),
    ] {
        let k = shard_of(file);
        let xml = pytest_report_of(0, &[(class, "t1", 4.0, false), (class, "t2", 5.0, false)]);
        reports.push(write(d, &format!("shard-{}.xml", k + 1), &xml));
    }
    let json = d.join("report.json");
    let history = d.join("history.json");
    let (code, _, err) = run(&[
        "report",
        "--plan",
        plan.to_str().unwrap(),
        "--junit",
        reports[0].to_str().unwrap(),
        reports[1].to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--timings-out",
        history.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("are files, not tests as it says"), "{err}");
    let r = read_json(&json);
    assert_eq!(r["suites"][0]["shards_reported"], 2, "{}", r["suites"][0]);
    let store = read_json(&history);
    assert_eq!(store["classes"]["default"]["tests/test_a.py"][0][0], 9_000);
}

/// The first run has no history: every item was assumed to take 1 s, and its report called
/// nearly every shard and item far off. Now it says the plan had nothing to go by, and the next
/// run, planned from this one, is compared as before.
#[test]
fn a_first_run_without_history_is_not_called_far_off() {
    let dir = tmp();
    let d = dir.path();
    let items = write(
        d,
        "items.txt",
        "tests/test_app.py::test_a\ntests/test_app.py::test_b\ntests/test_app.py::test_c\ntests/test_app.py::test_d\n",
    );
    let plan = d.join("plan.json");
    let s = |p: &Path| p.to_str().expect("utf-8").to_owned();
    let plan_from = |history: &[&str]| {
        let (items, plan) = (s(&items), s(&plan));
        let mut args = vec!["plan", "--items", &items, "--total", "2", "--out", &plan];
        args.extend_from_slice(history);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
    };
    plan_from(&[]);
    let shard_of = |k: &str| {
        let (_, out, _) = run(&["shard", "--plan", &s(&plan), "--index", k, "--total", "2"]);
        out.lines()
            .map(|l| l.rsplit("::").next().expect("a name").to_owned())
            .collect::<Vec<_>>()
    };
    // Each test ran far from the 1 s assumed.
    let reports: Vec<std::path::PathBuf> = ["1", "2"]
        .iter()
        .map(|k| {
            let names = shard_of(k);
            let cases: Vec<(&str, f64, bool)> =
                names.iter().map(|n| (n.as_str(), 30.0, false)).collect();
            write(d, &format!("junit-{k}.xml"), &pytest_report(0, &cases))
        })
        .collect();
    let (json, summary) = (d.join("report.json"), d.join("summary.md"));
    let report = || {
        let (code, _, err) = run(&[
            "report",
            "--plan",
            &s(&plan),
            "--junit",
            &s(&reports[0]),
            &s(&reports[1]),
            "--json",
            &s(&json),
            "--summary",
            &s(&summary),
        ]);
        assert_eq!(code, 0, "{err}");
        read_json(&json)["suites"][0].clone()
    };
    let suite = &report();
    assert_eq!(suite["planned_without_history"], true, "{suite}");
    assert_eq!(suite["prediction_error"], Value::Null, "{suite}");
    assert_eq!(suite["items_off"], serde_json::json!([]), "{suite}");
    assert!(
        suite["per_shard"]
            .as_array()
            .expect("shards")
            .iter()
            .all(|sh| sh["prediction_error"].is_null())
    );
    let text = std::fs::read_to_string(&summary).expect("summary");
    assert!(text.contains("The plan had no history"), "{text}");
    assert!(!text.contains("Items far from their estimate"), "{text}");
    // Planned from a history, the same run is compared with its prediction.
    let history = write(
        d,
        "history.json",
        r#"{"tests/test_app.py::test_a": 1, "tests/test_app.py::test_b": 1, "tests/test_app.py::test_c": 1, "tests/test_app.py::test_d": 1}"#,
    );
    plan_from(&["--timings", &s(&history)]);
    let suite = &report();
    assert_eq!(suite["planned_without_history"], false, "{suite}");
    assert!(
        suite["prediction_error"].as_f64().is_some_and(|e| e > 1.0),
        "{suite}"
    );
}

/// Plans the timed pytest suite from `timings` into three shards, runs them one after the other
/// through `shard --exec` (each process timed by the planner), and reports into `store`: the
/// report's JSON and the plan's.
fn timed_run(d: &Path, name: &str, timings: &Path, store: &Path) -> (Value, Value) {
    let project = fixture("projects/pytest_timed");
    let junit = d.join(format!("{name}-pytest.xml"));
    let config = format!(
        "version: 1\ntimings: [{timings}]\nsuites:\n  timed:\n    runner: pytest\n    command: {py} -m pytest -q -p no:cacheprovider --junitxml={junit}\n    junit: {junit}\n    working-directory: {project}\n    max-shards: 3\n    overhead-seconds: 0\n    target-seconds: 0.01\n",
        timings = timings.display(),
        py = python().display(),
        junit = junit.display(),
    );
    let config = write(d, &format!("{name}.yml"), &config);
    let plan = d.join(format!("{name}-plan.json"));
    crate::plan_to(&config, &plan);
    let reports = d.join(format!("{name}-reports"));
    for k in 1..=3 {
        let out = crate::planner()
            .args(["shard", "--plan"])
            .arg(&plan)
            .args([
                "--index",
                &k.to_string(),
                "--total",
                "3",
                "--exec",
                "--junit-to",
            ])
            .arg(&reports)
            .output()
            .expect("shard runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let json = d.join(format!("{name}-report.json"));
    let (code, _, err) = run(&[
        "report",
        "--plan",
        &plan.display().to_string(),
        "--junit",
        &reports.display().to_string(),
        "--json",
        &json.display().to_string(),
        "--timings-out",
        &store.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    (read_json(&json), read_json(&plan))
}

/// What a shard's process costs beyond its tests (interpreter, imports, collection) is learned by
/// the first run's report and planned in the second: its predicted shard walls are within 10% of
/// the processes' own.
#[test]
fn a_second_real_pytest_run_predicts_its_shards_walls_from_the_first() {
    let dir = tmp();
    let d = dir.path();
    let durations: serde_json::Map<String, Value> = TIMED
        .iter()
        .map(|(n, s)| (format!("tests/test_timed.py::test_timed[{n}]"), json!(s)))
        .collect();
    let timings = write(d, ".test_durations", &Value::Object(durations).to_string());
    let store = d.join("store.json");
    let (first, first_plan) = timed_run(d, "first", &timings, &store);
    assert!(
        first_plan["suites"][0].get("hidden").is_none(),
        "nothing learned yet"
    );
    let stored = read_json(&store);
    let costs = stored["shard_costs"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    assert_eq!(costs, 3, "each shard's hidden cost kept: {stored}");

    let (second, second_plan) = timed_run(d, "second", &store, &store);
    let hidden = &second_plan["suites"][0]["hidden"];
    assert!(
        hidden["per_shard_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{hidden}"
    );
    let off = |r: &Value| -> Vec<f64> {
        r["suites"][0]["per_shard"]
            .as_array()
            .expect("shards")
            .iter()
            .map(|s| {
                let want = s["process_seconds"]
                    .as_f64()
                    .expect("the process was timed");
                (s["predicted_process_seconds"].as_f64().expect("predicted") - want).abs() / want
            })
            .collect()
    };
    let (before, after) = (off(&first), off(&second));
    assert!(
        after.iter().all(|e| *e <= 0.10),
        "second run's shard walls within 10%: {after:?} (first run: {before:?})"
    );
    // Within 10% alone would pass unlearned on this suite (its shards are seconds of sleep): the
    // learned cost must also take most of the first run's error away.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        mean(&after) <= 0.5 * mean(&before),
        "learning halves the error: {after:?} against {before:?}"
    );
    // And the preview says where the figure comes from.
    let (code, out, err) = run(&[
        "plan",
        "--config",
        &d.join("second.yml").display().to_string(),
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("per shard + ") && out.contains("learned from 6 shards of 2 runs"),
        "{out}"
    );
}
