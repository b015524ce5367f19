//! Each JUnit fixture, made by a real runner, read into the ids its runner uses.

use crate::{fixture, run, store_items, tmp};

/// Expected item → milliseconds.
type Items = &'static [(&'static str, u64)];

/// (fixture, --by, expected items)
const CASES: &[(&str, &str, Items)] = &[
    (
        "junit/pytest.xml",
        "test",
        &[
            (
                "tests/integration/test_io.py::TestNested::TestInner::test_deep",
                151,
            ),
            ("tests/integration/test_io.py::test_roundtrip", 202),
            ("tests/unit/test_math.py::TestDivision::test_by_zero", 101),
            ("tests/unit/test_math.py::TestDivision::test_exact", 0),
            ("tests/unit/test_math.py::test_add", 0),
            ("tests/unit/test_math.py::test_slow_sum", 301),
            ("tests/unit/test_math.py::test_square[1]", 51),
            ("tests/unit/test_math.py::test_square[2]", 101),
            ("tests/unit/test_math.py::test_square[3]", 151),
        ],
    ),
    (
        "junit/pytest-xunit1.xml",
        "file",
        &[
            ("tests/integration/test_io.py", 353),
            ("tests/unit/test_math.py", 705),
        ],
    ),
    (
        "junit/pytest.xml",
        "class",
        &[
            ("tests/integration/test_io.py", 202),
            ("tests/integration/test_io.py::TestNested::TestInner", 151),
            ("tests/unit/test_math.py", 604),
            ("tests/unit/test_math.py::TestDivision", 101),
        ],
    ),
    (
        "junit/nextest.xml",
        "test",
        &[
            ("nextest-sample tests::adds", 4),
            ("nextest-sample tests::nested::deep", 124),
            ("nextest-sample tests::slow_add", 304),
            ("nextest-sample::integration end_to_end", 205),
        ],
    ),
    (
        "junit/nextest.xml",
        "file",
        &[
            ("nextest-sample", 432),
            ("nextest-sample::integration", 205),
        ],
    ),
    (
        "junit/jest.xml",
        "test",
        &[
            ("src/__tests__/math.test.js::math adds", 2),
            ("src/__tests__/math.test.js::math slowly multiplies", 250),
            ("src/__tests__/math.test.js::top level, no describe", 62),
            ("src/__tests__/strings.test.js::strings nested upper", 122),
            ("src/__tests__/strings.test.js::strings same name", 0),
        ],
    ),
    (
        "junit/jest.xml",
        "file",
        &[
            ("src/__tests__/math.test.js", 314),
            ("src/__tests__/strings.test.js", 122),
        ],
    ),
];

#[test]
fn fixtures_from_real_runners_read_into_runner_ids() {
    for &(file, by, expected) in CASES {
        let dir = tmp();
        let out = dir.path().join("store.json");
        let (code, _, stderr) = run(&[
            "timings",
            "merge",
            &fixture(file),
            "--by",
            by,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{file} --by {by}: {stderr}");
        let items = store_items(&out);
        let got: Vec<(String, u64)> = items
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v[0][0].as_u64().unwrap()))
            .collect();
        let want: Vec<(String, u64)> = expected.iter().map(|&(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(got, want, "{file} --by {by}");
    }
}

#[test]
fn real_reports_skip_skipped_and_failed_tests_and_say_so() {
    // jest-junit from a facebook/jest CI run: 4,239 testcases, 2 failures; by file, the suite
    // name stands for the file (no `file` attribute).
    let dir = tmp();
    let out = dir.path().join("s.json");
    let (code, _, stderr) = run(&[
        "timings",
        "merge",
        &fixture("junit/real-jest.xml"),
        "--by",
        "file",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("2 failed item(s) teach no duration"),
        "{stderr}"
    );
    let items = store_items(&out);
    assert_eq!(items.as_object().unwrap().len(), 398);
    assert!(
        items
            .get("packages/jest-config/src/__tests__/normalize.test.js")
            .is_some()
    );

    // TestNG/Surefire style from an Apache Pulsar run: by class, one item per class.
    let out2 = dir.path().join("p.json");
    let (code, _, stderr) = run(&[
        "timings",
        "merge",
        &fixture("junit/real-pulsar-testng.xml"),
        "--by",
        "class",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let items = store_items(&out2);
    assert!(
        items
            .get("org.apache.pulsar.broker.service.ReplicatorTest")
            .is_some()
    );
    // The failed class teaches nothing; the others do.
    assert!(
        items
            .get("org.apache.pulsar.AddMissingPatchVersionTest")
            .is_none()
    );
}

#[test]
fn junit_variants_bare_testsuite_nested_suites_missing_and_comma_times() {
    let dir = tmp();
    let report = crate::write(
        dir.path(),
        "r.xml",
        r#"<?xml version="1.0"?>
<testsuite name="outer">
  <testsuite name="inner" file="spec/a_spec.rb">
    <testcase classname="A" name="one" time="1,5"/>
    <testcase classname="A" name="two" time="1,234.5"/>
    <testcase classname="A" name="three"/>
    <testcase classname="A" name="four" time="2"><skipped/></testcase>
  </testsuite>
</testsuite>"#,
    );
    let out = dir.path().join("s.json");
    let (code, _, stderr) = run(&[
        "timings",
        "merge",
        report.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "1 testcase(s) have no `time` and were left out (line 6 `spec/a_spec.rb::three`)"
        ),
        "{stderr}"
    );
    let items = store_items(&out);
    assert_eq!(items["spec/a_spec.rb::one"][0][0], 1500);
    assert_eq!(items["spec/a_spec.rb::two"][0][0], 1_234_500);
    assert!(
        items.get("spec/a_spec.rb::four").is_none(),
        "skipped tests teach nothing"
    );
}

#[test]
fn a_directory_of_shard_reports_is_one_observation() {
    let dir = tmp();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    for (i, name) in ["alpha", "beta"].iter().enumerate() {
        crate::write(
            &reports,
            &format!("shard-{i}.xml"),
            &format!(
                r#"<testsuites><testsuite name="s"><testcase classname="pkg.Case" name="{name}" time="1.0"/></testsuite></testsuites>"#
            ),
        );
    }
    let out = dir.path().join("s.json");
    let (code, _, stderr) = run(&[
        "timings",
        "merge",
        reports.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let store: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(store["observations"].as_array().unwrap().len(), 1);
    assert_eq!(store["classes"]["default"].as_object().unwrap().len(), 2);
}

#[test]
fn flat_maps_in_milliseconds_and_nested_groups() {
    let dir = tmp();
    let ms = crate::write(
        dir.path(),
        "d.json",
        r#"{"aaaa": 23326, "bbbb": 9141, "cccc": 2420, "dddd": 6053, "eeee": 2000}"#,
    );
    let out = dir.path().join("s.json");
    // Read as seconds, the planner warns that they look like milliseconds.
    let (code, _, stderr) = run(&[
        "timings",
        "merge",
        ms.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(code, 0);
    assert!(
        stderr.contains("if they are milliseconds, pass --unit ms"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&[
        "timings",
        "merge",
        ms.to_str().unwrap(),
        "--unit",
        "ms",
        "--out",
        dir.path().join("m.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(store_items(&dir.path().join("m.json"))["aaaa"][0][0], 23326);

    let nested = crate::write(
        dir.path(),
        "n.json",
        r#"{"default": {"default": {"f1": 1.0}, "slow": {"f2": 2.0}}}"#,
    );
    let (code, _, stderr) = run(&[
        "timings",
        "merge",
        nested.to_str().unwrap(),
        "--out",
        dir.path().join("x.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "choosing no group is a command-line mistake");
    assert!(stderr.contains("#default/default"), "{stderr}");
    let arg = format!("{}#default/slow", nested.display());
    let (code, _, stderr) = run(&[
        "timings",
        "merge",
        &arg,
        "--out",
        dir.path().join("x.json").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(store_items(&dir.path().join("x.json"))["f2"][0][0], 2000);
}

/// `planner timings export FORMAT` of a real timing file: the export read back and exported
/// again is the same file, and plans the same shards as the original.
fn export_round_trip(input: &str, format: &str, same_items: bool) -> String {
    let dir = tmp();
    let d = dir.path();
    let first = d.join(format!("first-{format}.json"));
    let again = d.join(format!("again-{format}.json"));
    // A map of milliseconds is read as one (`--unit ms`), as playwright's is.
    let unit: &[&str] = if format == "ms" {
        &["--unit", "ms"]
    } else {
        &[]
    };
    let exported = first.to_str().expect("utf-8");
    for (from, to, read) in [(input, &first, &[][..]), (exported, &again, unit)] {
        let mut args = vec!["timings", "export", "--timings", from, "--format", format];
        args.extend(read);
        args.extend(["--out", to.to_str().expect("utf-8")]);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
    }
    let text = std::fs::read_to_string(&first).expect("export");
    let back = std::fs::read_to_string(&again).expect("again");
    assert!(text == back, "{format}: exported again, the export changed");
    // Each shard's items and their estimates, from the plan.
    let shards = |timings: &str, read: &[&str]| -> Vec<String> {
        let plan = d.join("plan.json");
        let mut args = vec!["plan", "--timings", timings, "--total", "8", "--out"];
        args.push(plan.to_str().expect("utf-8"));
        args.extend(read);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        let plan: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&plan).expect("plan")).expect("JSON");
        plan["suites"][0]["shards"]
            .as_array()
            .expect("shards")
            .iter()
            .map(|s| s["items"].to_string())
            .collect()
    };
    let (before, after) = (shards(input, &[]), shards(exported, unit));
    assert!(!before.is_empty() && before.len() == after.len());
    // The tests of a suite summed into files plan files: compared with the export read again.
    if same_items {
        assert!(
            before == after,
            "{format}: the export plans other shards than the original"
        );
    } else {
        assert!(
            after == shards(again.to_str().expect("utf-8"), unit),
            "{format}: read again, other shards"
        );
    }
    text
}

#[test]
fn exports_read_back_as_the_same_estimates_in_each_tools_format() {
    let onegov = crate::root_path("examples/onegov-cloud/test_durations.json");
    let original: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&onegov).expect("onegov")).expect("JSON");
    let text = export_round_trip(&onegov, "pytest-split", true);
    let exported: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).expect("JSON");
    assert_eq!(exported.len(), original.len());
    for (id, secs) in &original {
        let (a, b) = (
            secs.as_f64().expect("secs"),
            exported[id].as_f64().expect("secs"),
        );
        assert!((a - b).abs() < 1e-6, "{id}: {a} exported as {b}");
    }
    let ms = export_round_trip(&onegov, "ms", true);
    assert!(ms.contains(": "), "{ms:.200}");
    let knapsack = fixture("knapsack/identity-idp_knapsack_rspec_report.json");
    let text = export_round_trip(&knapsack, "knapsack", true);
    let exported: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).expect("JSON");
    assert_eq!(exported.len(), 1122);
    export_round_trip(&knapsack, "cypress-split", true);
    // A suite's tests go into their files for the file-based tools.
    let files = export_round_trip(&onegov, "knapsack", false);
    let files: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&files).expect("JSON");
    assert!(files.keys().all(|k| !k.contains("::")) && files.len() < original.len());
    let total = |m: &serde_json::Map<String, serde_json::Value>| -> f64 {
        m.values().filter_map(serde_json::Value::as_f64).sum()
    };
    assert!(
        (total(&files) - total(&original)).abs() < 1e-3,
        "each file is its tests' sum"
    );
    let cypress = fixture("cypress-split/timings.json");
    assert_eq!(
        export_round_trip(&cypress, "cypress-split", true),
        std::fs::read_to_string(&cypress).expect("fixture"),
        "cypress-split's own file comes back as it was"
    );
}

#[test]
fn a_cypress_split_file_reads_by_spec_and_its_mistakes_are_named() {
    let dir = tmp();
    let d = dir.path();
    let (code, out, err) = run(&[
        "timings",
        "export",
        "--timings",
        &fixture("cypress-split/timings.json"),
        "--format",
        "ms",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("\"cypress/e2e/checkout.cy.js\": 12150"),
        "{out}"
    );
    let twice = crate::write(
        d,
        "t.json",
        "{\"durations\": [\n {\"spec\": \"a.cy.js\", \"duration\": 1},\n {\"spec\": \"a.cy.js\", \"duration\": 2}\n]}",
    );
    let (code, _, err) = run(&[
        "plan",
        "--timings",
        twice.to_str().expect("utf-8"),
        "--strict",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(":2: durations[1]: `a.cy.js` appears twice"),
        "{err}"
    );
    let bad = crate::write(
        d,
        "b.json",
        "{\"durations\": [{\"spec\": \"a.cy.js\", \"duration\": -4}]}",
    );
    let (code, _, err) = run(&[
        "plan",
        "--timings",
        bad.to_str().expect("utf-8"),
        "--strict",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("durations[0]"), "{err}");
}

/// pytest-split itself reads an exported `.test_durations`: a real pytest run's JUnit into the
/// history, exported, and pytest-split's two groups estimated from it add up to the export and
/// run every test once.
#[test]
fn pytest_split_plans_its_groups_from_an_exported_history() {
    let dir = tmp();
    let d = dir.path().join("project");
    crate::rerun::copy_project("pytest_sample", &d);
    let pytest = |args: &[&str]| {
        let out = std::process::Command::new(crate::python())
            .current_dir(&d)
            .args(["-m", "pytest", "-p", "no:cacheprovider"])
            .args(args)
            .output()
            .expect("pytest runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    pytest(&["-q", "--junitxml=junit.xml"]);
    let durations = d.join(".test_durations");
    let (code, _, err) = run(&[
        "timings",
        "export",
        "--timings",
        d.join("junit.xml").to_str().expect("utf-8"),
        "--format",
        "pytest-split",
        "--out",
        durations.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    let exported: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&durations).expect("export")).expect("JSON");
    let total: f64 = exported
        .values()
        .filter_map(serde_json::Value::as_f64)
        .sum();
    let (mut estimated, mut ran) = (0.0, 0);
    for group in ["1", "2"] {
        let out = pytest(&[
            "--splits",
            "2",
            "--group",
            group,
            "--durations-path",
            ".test_durations",
        ]);
        let secs = out
            .split("estimated duration: ")
            .nth(1)
            .and_then(|r| r.split('s').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_else(|| panic!("pytest-split's estimate: {out}"));
        estimated += secs;
        let summary = out.lines().last().unwrap_or_default();
        ran += summary
            .split(", ")
            .filter(|p| p.contains("passed") || p.contains("skipped"))
            .filter_map(|p| {
                p.trim_matches(|c: char| !c.is_ascii_digit() && c != ' ')
                    .split_whitespace()
                    .next()?
                    .parse::<u32>()
                    .ok()
            })
            .sum::<u32>();
    }
    // The skipped test is not in the history; pytest-split gives it the mean of the others.
    let missing = 10 - exported.len();
    assert_eq!(missing, 1, "{exported:?}");
    let expected = total + missing as f64 * total / exported.len() as f64;
    assert!(
        (estimated - expected).abs() < 0.02,
        "pytest-split estimated {estimated} s, the export {expected} s"
    );
    assert_eq!(ran, 10, "every test of the sample ran once");
}
