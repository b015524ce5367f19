//! `plan` and `shard`: exact cover, agreement between a pinned plan and a recomputed shard,
//! byte-identical output whatever the input order, and the degraded paths.

use std::collections::BTreeMap;

use crate::{run, run_with_github_output, tmp, write};

fn suite_json(n: usize, reverse: bool) -> String {
    let mut entries: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "\"tests/t{:02}/test_{i:03}.py::test_{i}\": {}.{:03}",
                i % 7,
                (i * 37) % 23,
                (i * 7919) % 1000
            )
        })
        .collect();
    if reverse {
        entries.reverse();
    }
    format!("{{\n{}\n}}", entries.join(",\n"))
}

fn shard_lines(args: &[&str]) -> Vec<String> {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    out.lines().map(str::to_owned).collect()
}

#[test]
fn every_shard_together_is_an_exact_cover_and_the_plan_agrees_with_recomputing() {
    let dir = tmp();
    let timings = write(dir.path(), "t.json", &suite_json(120, false));
    let t = timings.to_str().unwrap();
    let plan = dir.path().join("plan.json");
    let (code, matrix, err) = run(&[
        "plan",
        "--timings",
        t,
        "--total",
        "7",
        "--out",
        plan.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let m: serde_json::Value = serde_json::from_str(&matrix).unwrap();
    assert_eq!(m["include"].as_array().unwrap().len(), 7);
    assert_eq!(
        m["include"][6],
        serde_json::json!({"suite": "default", "shard": 7, "total": 7})
    );

    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for k in 1..=7 {
        let k = k.to_string();
        let pinned = shard_lines(&[
            "shard",
            "--index",
            &k,
            "--total",
            "7",
            "--plan",
            plan.to_str().unwrap(),
        ]);
        let recomputed = shard_lines(&["shard", "--index", &k, "--total", "7", "--timings", t]);
        assert_eq!(
            pinned, recomputed,
            "shard {k}: the plan and the recomputation agree"
        );
        for item in pinned {
            *seen.entry(item).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), 120);
    assert!(seen.values().all(|&c| c == 1));
}

#[test]
fn output_is_byte_identical_whatever_the_input_order_and_on_ten_runners_at_once() {
    let dir = tmp();
    let a = write(dir.path(), "a.json", &suite_json(300, false));
    let b = write(dir.path(), "b.json", &suite_json(300, true));
    for k in ["1", "5", "13"] {
        let x = run(&[
            "shard",
            "--index",
            k,
            "--total",
            "13",
            "--timings",
            a.to_str().unwrap(),
        ]);
        let y = run(&[
            "shard",
            "--index",
            k,
            "--total",
            "13",
            "--timings",
            b.to_str().unwrap(),
        ]);
        assert_eq!(x, y);
        assert!(!x.1.is_empty());
    }
    // Ten processes at once, as ten runners would.
    let children: Vec<_> = (0..10)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("planner"))
                .args([
                    "shard",
                    "--index",
                    "3",
                    "--total",
                    "8",
                    "--format",
                    "json",
                    "--timings",
                    a.to_str().unwrap(),
                ])
                .output()
        })
        .collect();
    let outputs: Vec<Vec<u8>> = children.into_iter().map(|o| o.unwrap().stdout).collect();
    assert!(outputs.iter().all(|o| o == &outputs[0] && !o.is_empty()));
}

#[test]
fn items_decide_what_is_sharded_new_ones_estimated_vanished_ones_ignored() {
    let dir = tmp();
    let timings = write(
        dir.path(),
        "t.json",
        r#"{"tests/a.py::x": 10, "tests/a.py::y": 30, "tests/b.py::gone": 50}"#,
    );
    let items = write(
        dir.path(),
        "items.txt",
        "tests/a.py::x\ntests/a.py::y\ntests/a.py::new\ntests/c/test_q.py::z\nother/test_r.py::w\n\n",
    );
    let mut all = Vec::new();
    for k in ["1", "2"] {
        all.extend(shard_lines(&[
            "shard",
            "--index",
            k,
            "--total",
            "2",
            "--timings",
            timings.to_str().unwrap(),
            "--items",
            items.to_str().unwrap(),
        ]));
    }
    all.sort();
    assert_eq!(
        all,
        [
            "other/test_r.py::w",
            "tests/a.py::new",
            "tests/a.py::x",
            "tests/a.py::y",
            "tests/c/test_q.py::z"
        ]
    );

    let (code, out, err) = run(&[
        "plan",
        "--timings",
        timings.to_str().unwrap(),
        "--items",
        items.to_str().unwrap(),
        "--total",
        "2",
        "--out",
        dir.path().join("p.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"total\":2"));
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("p.json")).unwrap()).unwrap();
    let est = &plan["suites"][0]["estimates"];
    assert_eq!(est["history"], 2);
    assert_eq!(
        est["same_file"], 1,
        "tests/a.py::new borrows from tests/a.py"
    );
    assert_eq!(
        est["same_directory"], 1,
        "tests/c/test_q.py::z borrows from tests/"
    );
    assert_eq!(
        est["suite_mean"], 1,
        "other/test_r.py::w has no family but the suite"
    );
    // Each item says whether it was ever seen (claiming shards take the unseen first).
    let mut unseen: Vec<&str> = plan["suites"][0]["shards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap())
        .filter(|i| i["unseen"] == true)
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    unseen.sort_unstable();
    assert_eq!(
        unseen,
        [
            "other/test_r.py::w",
            "tests/a.py::new",
            "tests/c/test_q.py::z"
        ]
    );
}

#[test]
fn more_shards_than_items_leaves_the_extra_shards_empty_and_green() {
    let dir = tmp();
    let timings = write(dir.path(), "t.json", r#"{"a": 1, "b": 2}"#);
    let (code, out, _) = run(&[
        "shard",
        "--index",
        "5",
        "--total",
        "5",
        "--timings",
        timings.to_str().unwrap(),
    ]);
    assert_eq!((code, out.as_str()), (0, ""));
    // plan never asks for more shards than items
    let (code, out, _) = run(&[
        "plan",
        "--timings",
        timings.to_str().unwrap(),
        "--total",
        "5",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("\"total\":2"), "{out}");
}

#[test]
fn missing_history_warns_and_splits_evenly_by_count() {
    let dir = tmp();
    let items = write(
        dir.path(),
        "items.txt",
        &(0..10).fold(String::new(), |acc, i| acc + &format!("t{i}\n")),
    );
    let mut counts = Vec::new();
    let mut stderr_all = String::new();
    for k in ["1", "2", "3"] {
        let (code, out, err) = run(&[
            "shard",
            "--index",
            k,
            "--total",
            "3",
            "--timings",
            dir.path().join("nope.json").to_str().unwrap(),
            "--items",
            items.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        counts.push(out.lines().count());
        stderr_all.push_str(&err);
    }
    assert_eq!(counts, [4, 3, 3]);
    assert!(stderr_all.contains("no timing history at"), "{stderr_all}");
    assert!(stderr_all.contains("even split by count"), "{stderr_all}");
}

#[test]
fn github_output_gets_matrix_total_and_skip_in_delimited_blocks() {
    let dir = tmp();
    let timings = write(dir.path(), "t.json", r#"{"a": 1, "b": 2, "c": 3}"#);
    let gh = dir.path().join("gh_output");
    let (code, _, err) = run_with_github_output(
        &gh,
        &[
            "plan",
            "--timings",
            timings.to_str().unwrap(),
            "--total",
            "2",
            "--github-output",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&gh).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("matrix<<ghadelimiter_"), "{text}");
    let delim = lines[0].trim_start_matches("matrix<<");
    assert_eq!(
        lines[1],
        r#"{"include":[{"suite":"default","shard":1,"total":2},{"suite":"default","shard":2,"total":2}]}"#
    );
    assert_eq!(lines[2], delim);
    assert!(text.contains(&format!("total<<{delim}\n2\n{delim}\n")));
    assert!(text.contains(&format!("skip<<{delim}\nfalse\n{delim}\n")));

    // Without $GITHUB_OUTPUT it is a usage error, not a silent no-op.
    let (code, _, err) = run(&[
        "plan",
        "--timings",
        timings.to_str().unwrap(),
        "--github-output",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("$GITHUB_OUTPUT is not set"), "{err}");
}

#[test]
fn an_empty_suite_is_an_error_unless_allowed_and_then_a_valid_skip() {
    let dir = tmp();
    let items = write(dir.path(), "items.txt", "\n");
    let (code, _, err) = run(&["plan", "--items", items.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("holds no items"), "{err}");
    let gh = dir.path().join("gh");
    let (code, out, err) = run_with_github_output(
        &gh,
        &[
            "plan",
            "--items",
            items.to_str().unwrap(),
            "--allow-empty",
            "--github-output",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        r#"{"include":[{"suite":"default","shard":1,"total":1}]}"#
    );
    assert!(std::fs::read_to_string(&gh).unwrap().contains("\ntrue\n"));
}

#[test]
fn shard_formats_json_and_shell_quote_what_needs_it() {
    let dir = tmp();
    let timings = write(
        dir.path(),
        "t.json",
        r#"{"tests/a.py::t[x y]": 1, "tests/a.py::it's": 2}"#,
    );
    let shard_as = |format: &str| {
        run(&[
            "shard",
            "--index",
            "1",
            "--total",
            "1",
            "--format",
            format,
            "--timings",
            timings.to_str().unwrap(),
        ])
    };
    let (code, out, _) = shard_as("shell");
    assert_eq!(code, 0);
    assert_eq!(out, "'tests/a.py::it'\\''s' 'tests/a.py::t[x y]'\n");
    let (code, out, _) = shard_as("json");
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["estimate_ms"], 3000);
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
}

/// The preview of the pytest fixture planned at `now` (seconds since 1970, as
/// `SOURCE_DATE_EPOCH` gives it).
fn pytest_preview_at(now: &str) -> String {
    let timings = crate::fixture("junit/pytest.xml");
    let (code, out, err) = crate::split(
        &crate::planner()
            .env("SOURCE_DATE_EPOCH", now)
            .args([
                "plan",
                "--timings",
                &timings,
                "--dry-run",
                "--overhead-seconds",
                "0.2",
                "--max-shards",
                "4",
            ])
            .output()
            .expect("the planner runs"),
    );
    assert_eq!(code, 0, "{err}");
    out.replace(&timings, "[pytest.xml]")
}

/// 2026-11-24 06:00 UTC, the day the pytest fixture was timed.
const PYTEST_FIXTURE_DAY: &str = "1795500000";

#[test]
fn dry_run_preview_of_a_pytest_suite() {
    insta::assert_snapshot!(pytest_preview_at(PYTEST_FIXTURE_DAY));
}

/// Half a year after its history was timed, a suite may have drifted as a whole: the likely
/// wall widens on both sides and says why, and the prediction itself stays.
#[test]
fn the_band_widens_with_the_age_of_the_history() {
    let line = |out: &str, start: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(start))
            .unwrap_or_else(|| panic!("no {start} line in {out}"))
            .to_owned()
    };
    // The band's ends, in seconds, out of its line: "wall 964ms to 1.4s (".
    let ends = |out: &str| -> (f64, f64) {
        let l = line(out, "likely");
        let words: Vec<&str> = l.split_whitespace().collect();
        let secs = |w: &str| match w.strip_suffix("ms") {
            Some(ms) => ms.parse::<f64>().unwrap() / 1000.0,
            None => w.trim_end_matches('s').parse::<f64>().unwrap(),
        };
        (secs(words[2]), secs(words[4]))
    };
    let fresh = pytest_preview_at(PYTEST_FIXTURE_DAY);
    // 180 days later.
    let old = pytest_preview_at("1811052000");
    assert_eq!(line(&fresh, "predicted"), line(&old, "predicted"));
    let ((lo, hi), (old_lo, old_hi)) = (ends(&fresh), ends(&old));
    assert!(old_lo < lo && old_hi > hi, "{fresh}\n{old}");
    assert!(
        line(&old, "likely").contains("the history is 180 days old"),
        "{old}"
    );
    assert!(!line(&fresh, "likely").contains("days old"), "{fresh}");
}

/// Durations were rounded to whole milliseconds: a suite of sub-millisecond tests became all 0 ms,
/// planned by count, and predicted at 0 s. In microseconds, ten 0.9 ms tests and ninety 0.1 ms
/// ones (18 ms) split into two shards of 9 ms each, and the store keeps the fractions.
#[test]
fn sub_millisecond_tests_keep_their_weight() {
    let dir = tmp();
    let d = dir.path();
    let mut map: Vec<String> = (0..10).map(|i| format!("\"a{i}\": 0.0009")).collect();
    map.extend((0..90).map(|i| format!("\"b{i:02}\": 0.0001")));
    let map = write(d, "durations.json", &format!("{{{}}}", map.join(",")));
    let store = d.join("store.json");
    let (code, _, err) = crate::merge(&map, &store, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        crate::store_items(&store)["a0"][0][0],
        0.9,
        "the store keeps 0.9 ms"
    );
    let store_s = store.display().to_string();
    let estimates: Vec<f64> = ["1", "2"]
        .iter()
        .map(|k| {
            let (code, out, err) = run(&[
                "shard",
                "--timings",
                &store_s,
                "--index",
                k,
                "--total",
                "2",
                "--format",
                "json",
            ]);
            assert_eq!(code, 0, "{err}");
            let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
            v["estimate_ms"].as_f64().expect("estimate_ms")
        })
        .collect();
    assert_eq!(estimates, [9.0, 9.0], "18 ms of tests in two equal halves");
}

/// N ignored runner capacity: the README's example chose 31 shards where GitHub Free runs 20
/// jobs at once, and 11 shards waited for a second wave the prediction did not count.
#[test]
fn shards_past_the_runner_capacity_run_in_waves_and_n_respects_it() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/onegov-cloud/test_durations.json"
    );
    let plan = |extra: &[&str]| {
        let dir = tmp();
        let out = dir.path().join("plan.json");
        let mut args = vec![
            "plan",
            "--timings",
            example,
            "--out",
            out.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        let text = std::fs::read_to_string(&out).expect("the plan");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        v["suites"][0].clone()
    };
    let free = plan(&[]);
    assert_eq!(free["capacity"]["runners"], 20);
    assert_eq!(free["capacity"]["source"], "default");
    let n = free["shards"].as_array().map_or(0, Vec::len);
    assert!((2..=20).contains(&n), "within GitHub Free's 20: {n}");
    // With runners to spare, the same budget buys more shards.
    let many = plan(&["--capacity", "64"]);
    assert!(
        many["shards"].as_array().map_or(0, Vec::len) > 20,
        "{}",
        many["choice"]
    );
    // 31 shards on 20 runners: the predicted wall counts the second wave.
    let forced = plan(&["--total", "31"]);
    let wall = forced["predicted_wall_ms"].as_f64().expect("wall");
    let one_wave = forced["overhead_ms"].as_f64().expect("overhead")
        + forced["predicted_makespan_ms"].as_f64().expect("makespan");
    assert!(
        wall > 1.9 * one_wave,
        "two waves: {wall} against {one_wave}"
    );
    let (code, out, err) = run(&["plan", "--timings", example, "--total", "31", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("capacity binds: 31 shards on 20 runners run in 2 waves"),
        "{out}"
    );
}

/// One timing file is estimated without building a store (what `shard` does in every matrix
/// job); the same file as a store, or given twice (one observation, merged once), goes through
/// the store. Both give every shard the same items and the plan the same estimates.
#[test]
fn one_timing_file_plans_as_its_store_does() {
    let dir = tmp();
    let flat = write(dir.path(), "t.json", &suite_json(300, true));
    let junit = std::path::PathBuf::from(crate::fixture("junit/real-jest.xml"));
    for (name, input) in [("flat", flat), ("junit", junit)] {
        let store = dir.path().join(format!("{name}-store.json"));
        let (code, _, err) = crate::merge(&input, &store, &[]);
        assert_eq!(code, 0, "{err}");
        let (one, stored) = (input.to_str().unwrap(), store.to_str().unwrap());
        let plan = |timings: &[&str]| {
            let mut args = vec!["plan", "--total", "5", "--dry-run"];
            for t in timings {
                args.extend(["--timings", t]);
            }
            let (code, out, err) = run(&args);
            assert_eq!(code, 0, "{err}");
            // All but the line naming the inputs, which says one observation each time.
            let (named, rest): (Vec<&str>, Vec<&str>) = out
                .lines()
                .partition(|l| l.trim_start().starts_with("timings "));
            assert!(named[0].contains("(1 observation,"), "{out}");
            rest.join("\n")
        };
        let direct = plan(&[one]);
        assert_eq!(direct, plan(&[stored]), "{name}: a store of the file");
        assert_eq!(direct, plan(&[one, one]), "{name}: the file twice");
        for k in 1..=5 {
            let k = k.to_string();
            let shard = |t: &str| {
                let args = ["shard", "--index", &k, "--total", "5", "--timings", t];
                shard_lines(&[&args[..], &["--format", "json"]].concat())
            };
            assert_eq!(shard(one), shard(stored), "{name}: shard {k}");
        }
    }
}
