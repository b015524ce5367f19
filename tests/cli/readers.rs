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
