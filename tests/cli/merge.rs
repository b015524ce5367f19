//! `planner timings merge`: observations in order, idempotent, atomic, never losing data.

use crate::{merge, run, samples, store_items, tmp, write};

#[test]
fn five_refreshes_give_five_samples_oldest_first_and_a_re_merge_changes_nothing() {
    let dir = tmp();
    let mut inputs = Vec::new();
    for i in 1..=5 {
        inputs.push(write(
            dir.path(),
            &format!("r{i}.json"),
            &format!(r#"{{"t::a": {i}.0, "t::b": 0.5}}"#),
        ));
    }
    let out = dir.path().join("store.json");
    let mut args = vec!["timings", "merge", "--out", out.to_str().unwrap()];
    let names: Vec<String> = inputs.iter().map(|p| p.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    let a = samples(&out, "t::a");
    assert_eq!(a, [1000, 2000, 3000, 4000, 5000]);
    let b = samples(&out, "t::b").len();
    assert_eq!(b, 5, "the same time in five refreshes is five samples");

    let before = std::fs::read(&out).unwrap();
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "merging the same inputs again changes nothing"
    );
    assert!(stderr.contains("unchanged"), "{stderr}");
}

#[test]
fn keep_bounds_the_samples_and_a_smaller_keep_is_refused_without_force() {
    let dir = tmp();
    let out = dir.path().join("store.json");
    for i in 1..=4 {
        let p = write(
            dir.path(),
            &format!("r{i}.json"),
            &format!(r#"{{"x": {i}}}"#),
        );
        let (code, _, e) = merge(&p, &out, &["--keep", "3"]);
        assert_eq!(code, 0, "{e}");
    }
    let x = samples(&out, "x");
    assert_eq!(x, [2000, 3000, 4000]);

    let before = std::fs::read(&out).unwrap();
    let p = write(dir.path(), "r5.json", r#"{"x": 5}"#);
    let (code, _, stderr) = merge(&p, &out, &["--keep", "1"]);
    assert_eq!(code, 5, "{stderr}");
    assert!(
        stderr.contains("keeps 1 samples per item where the old one kept 3"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "the store is untouched"
    );
    let (code, _, _) = merge(&p, &out, &["--keep", "1", "--force"]);
    assert_eq!(code, 0);
    assert_eq!(store_items(&out)["x"].as_array().unwrap().len(), 1);
}

#[test]
fn a_corrupt_store_is_left_alone_and_no_temporary_file_remains() {
    let dir = tmp();
    let out = write(
        dir.path(),
        "store.json",
        "{\"format\": \"gha-planner-store\", \"version\": 1,\n  oops",
    );
    let input = write(dir.path(), "r.json", r#"{"x": 1}"#);
    let (code, _, stderr) = merge(&input, &out, &[]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("cannot be read, so it is left as it is"),
        "{stderr}"
    );
    assert!(stderr.contains("store.json:2:3: "), "{stderr}");
    assert!(std::fs::read_to_string(&out).unwrap().ends_with("oops"));
    let (code, _, stderr) = merge(&input, &out, &["--force"]);
    assert_eq!(code, 0, "{stderr}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn stores_merge_into_stores_and_runner_classes_stay_apart() {
    let dir = tmp();
    let linux = dir.path().join("linux.json");
    let mac = dir.path().join("mac.json");
    let r = write(dir.path(), "r.json", r#"{"x": 1, "y": 2}"#);
    for (out, class) in [(&linux, "ubuntu"), (&mac, "macos")] {
        let (code, _, e) = merge(&r, out, &["--runner-class", class]);
        assert_eq!(code, 0, "{e}");
    }
    let all = dir.path().join("all.json");
    let (code, _, e) = run(&[
        "timings",
        "merge",
        linux.to_str().unwrap(),
        mac.to_str().unwrap(),
        "--out",
        all.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{e}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&all).unwrap()).unwrap();
    let classes: Vec<&String> = v["classes"].as_object().unwrap().keys().collect();
    assert_eq!(classes, ["macos", "ubuntu"]);
    assert_eq!(v["observations"].as_array().unwrap().len(), 2);
}

/// Two `timings merge` on one store at once once lost one run's data in 17 of 20 rounds, both
/// exiting 0: each read the store, merged, and renamed its result over the other's. Under the
/// store's lock the second re-reads what the first wrote.
#[test]
fn two_concurrent_merges_of_different_runs_keep_both_every_time() {
    let dir = tmp();
    let d = dir.path();
    let map = |prefix: &str| {
        let body: Vec<String> = (0..3000)
            .map(|i| format!("\"tests/{prefix}/test_{i}.py::test\": {}.5", i % 7))
            .collect();
        format!("{{{}}}", body.join(","))
    };
    let a = write(d, "a.json", &map("a"));
    let b = write(d, "b.json", &map("b"));
    for round in 0..20 {
        let store = d.join(format!("store-{round}.json"));
        let spawn = |input: &std::path::Path| {
            std::process::Command::new(env!("CARGO_BIN_EXE_planner"))
                .args(["--quiet", "timings", "merge"])
                .arg(input)
                .arg("--out")
                .arg(&store)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the planner starts")
        };
        let (pa, pb) = (spawn(&a), spawn(&b));
        for p in [pa, pb] {
            let out = p.wait_with_output().expect("the planner ends");
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let items = store_items(&store);
        let n = items.as_object().map_or(0, serde_json::Map::len);
        assert_eq!(n, 6000, "round {round}: both runs' items are in the store");
    }
}

/// A store written through a symbolic link stays a link to the file it names, keeps that file's
/// permissions, and leaves no temporary file behind; one a killed writer left is cleaned up.
#[test]
fn a_store_behind_a_link_stays_a_link_and_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tmp();
    let d = dir.path();
    let input = write(d, "r.json", r#"{"t::a": 1.0}"#);
    let real = d.join("real.json");
    let (code, _, err) = merge(&input, &real, &[]);
    assert_eq!(code, 0, "{err}");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let link = d.join("store.json");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    std::fs::write(d.join(".real.json.tmp-99999"), "half a store").expect("stale temp");
    let second = write(d, "s.json", r#"{"t::b": 2.0}"#);
    let (code, _, err) = merge(&second, &link, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink(),
        "the link is still a link"
    );
    assert_eq!(samples(&real, "t::b"), [2000]);
    assert_eq!(
        std::fs::metadata(&real).expect("real").permissions().mode() & 0o777,
        0o640
    );
    let left: Vec<String> = std::fs::read_dir(d)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

/// A store under id churn grew without bound (renaming 5% of ids per run: 250k items after 30
/// runs, 150k of them dead), and `shard` without `--items` printed the dead ones. Items not
/// seen for `--retire-after` days before the newest run are retired, and said.
#[test]
fn renamed_tests_are_retired_and_never_planned() {
    let dir = tmp();
    let d = dir.path();
    let store = d.join("store.json");
    // Ten daily runs of ten tests; each run renames two of them.
    for day in 1..=10u32 {
        let cases: Vec<String> = (0..10u32)
            .map(|k| {
                let generation = if k < 2 { day } else { 0 };
                format!(
                    "<testcase classname=\"tests.test_a\" name=\"t{k}_g{generation}\" time=\"1\"/>"
                )
            })
            .collect();
        let cases = cases.concat();
        let xml = format!(
            "<testsuites name=\"pytest tests\"><testsuite name=\"pytest\" timestamp=\"2026-11-{day:02}T10:00:00\">{cases}</testsuite></testsuites>"
        );
        let input = write(d, &format!("run{day}.xml"), &xml);
        let (code, _, err) = merge(&input, &store, &["--retire-after", "3"]);
        assert_eq!(code, 0, "day {day}: {err}");
        if day == 10 {
            assert!(
                err.contains("item(s) not seen in the 3 days before the newest run retired"),
                "{err}"
            );
        }
    }
    let items = store_items(&store);
    let ids: Vec<&String> = items.as_object().unwrap().keys().collect();
    // The eight that never change, and the renamed ones of the last four days.
    assert_eq!(ids.len(), 8 + 2 * 4, "{ids:?}");
    assert!(!ids.iter().any(|i| i.ends_with("_g1")), "{ids:?}");
    // A store written before retirement, read for a plan, leaves the dead out too.
    let (code, out, err) = run(&[
        "shard",
        "--timings",
        store.to_str().unwrap(),
        "--retire-after",
        "1",
        "--index",
        "1",
        "--total",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 8 + 2 * 2, "{out}");
    assert!(err.contains("left out (--retire-after)"), "{err}");
}
