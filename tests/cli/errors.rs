//! Bad input: a clear message naming the file and line or field, a documented exit code, never a
//! panic. Snapshots keep the messages as users see them.

use crate::{run, tmp, write};

fn error_of(args: &[&str], dir: &std::path::Path) -> (i32, String) {
    let (code, _, stderr) = run(args);
    assert!(!stderr.contains("panicked"), "{stderr}");
    (code, stderr.replace(&dir.display().to_string(), "[dir]"))
}

#[test]
fn bad_timing_files_name_the_file_line_and_field() {
    let dir = tmp();
    let d = dir.path();
    let out = d.join("s.json");
    let o = out.to_str().unwrap();
    let cases: Vec<(&str, &str, &str)> = vec![
        (
            "malformed.xml",
            "<testsuites>\n<testsuite name=\"a\">\n<testcase name=\"x\" time=\"1\">\n</testsuite>\n",
            "malformed_xml",
        ),
        ("not-junit.xml", "<html><body/></html>", "not_junit"),
        (
            "negative.xml",
            "<testsuite>\n  <testcase classname=\"c\" name=\"x\" time=\"-1\"/>\n</testsuite>",
            "negative_time",
        ),
        (
            "nan.xml",
            "<testsuite>\n  <testcase classname=\"c\" name=\"x\" time=\"NaN\"/>\n</testsuite>",
            "nan_time",
        ),
        (
            "words.xml",
            "<testsuite>\n  <testcase classname=\"c\" name=\"x\" time=\"fast\"/>\n</testsuite>",
            "word_time",
        ),
        (
            "malformed.json",
            "{\n  \"a\": 1,\n  \"b\": \n}",
            "malformed_json",
        ),
        (
            "duplicate.json",
            "{\n  \"a\": 1,\n  \"b\": 2,\n  \"a\": 3\n}",
            "duplicate_id",
        ),
        (
            "absurd.json",
            "{\n  \"a\": 1,\n  \"b\": 99999999\n}",
            "absurd_time",
        ),
        ("string.json", "{\"a\": \"1.5\"}", "string_time"),
        ("text.txt", "a,1\nb,2\n", "unknown_format"),
    ];
    for (name, text, snap) in cases {
        let p = write(d, name, text);
        let (code, msg) = error_of(&["timings", "merge", p.to_str().unwrap(), "--out", o], d);
        assert_eq!(code, 3, "{name}: {msg}");
        assert!(!out.exists(), "{name}: nothing is written");
        insta::assert_snapshot!(snap, msg);
    }
}

#[test]
fn a_missing_input_is_an_io_error_for_merge_but_a_warning_for_shard() {
    let dir = tmp();
    let d = dir.path();
    let missing = d.join("missing.json");
    let (code, msg) = error_of(
        &[
            "timings",
            "merge",
            missing.to_str().unwrap(),
            "--out",
            d.join("s.json").to_str().unwrap(),
        ],
        d,
    );
    assert_eq!(code, 4, "{msg}");
    assert!(
        msg.starts_with("error: cannot read [dir]/missing.json"),
        "{msg}"
    );
    let items = write(d, "i.txt", "a\nb\n");
    let (code, _, err) = run(&[
        "shard",
        "--index",
        "1",
        "--total",
        "2",
        "--timings",
        missing.to_str().unwrap(),
        "--items",
        items.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    // With --strict a damaged history fails.
    let bad = write(d, "bad.json", "{");
    let (code, msg) = error_of(
        &[
            "shard",
            "--index",
            "1",
            "--total",
            "2",
            "--timings",
            bad.to_str().unwrap(),
            "--items",
            items.to_str().unwrap(),
            "--strict",
        ],
        d,
    );
    assert_eq!(code, 3, "{msg}");
}

#[test]
fn wrong_command_lines_exit_2_with_what_and_where() {
    let dir = tmp();
    let d = dir.path();
    let t = write(d, "t.json", r#"{"a": 1, "b": 2}"#);
    let t = t.to_str().unwrap();
    let (code, msg) = error_of(
        &["shard", "--index", "5", "--total", "4", "--timings", t],
        d,
    );
    assert_eq!(code, 2);
    insta::assert_snapshot!("index_out_of_range", msg);
    let (code, msg) = error_of(
        &["shard", "--index", "1", "--total", "0", "--timings", t],
        d,
    );
    assert_eq!(code, 2);
    assert!(msg.contains("--total <N>"), "{msg}");
    let (code, msg) = error_of(
        &["shard", "--index", "0", "--total", "2", "--timings", t],
        d,
    );
    assert_eq!(code, 2, "{msg}");
    // Tools that count from 0 are shown the form that works.
    assert!(msg.contains("$((CIRCLE_NODE_INDEX + 1))"), "{msg}");

    let items = write(d, "dup.txt", "a\nb\na\n");
    let (code, msg) = error_of(
        &[
            "shard",
            "--index",
            "1",
            "--total",
            "2",
            "--items",
            items.to_str().unwrap(),
        ],
        d,
    );
    assert_eq!(code, 3);
    insta::assert_snapshot!("duplicate_item", msg);

    let plan = d.join("plan.json");
    assert_eq!(
        run(&[
            "plan",
            "--timings",
            t,
            "--total",
            "2",
            "--out",
            plan.to_str().unwrap()
        ])
        .0,
        0
    );
    let (code, msg) = error_of(
        &[
            "shard",
            "--index",
            "1",
            "--total",
            "3",
            "--plan",
            plan.to_str().unwrap(),
        ],
        d,
    );
    assert_eq!(code, 2);
    insta::assert_snapshot!("plan_total_mismatch", msg);
    let (code, msg) = error_of(&["plan", "--timings", t, "--overhead-seconds=-3"], d);
    assert_eq!(code, 2);
    assert!(
        msg.contains("--overhead-seconds: duration -3 is negative"),
        "{msg}"
    );
}

#[test]
fn a_damaged_plan_is_invalid_input() {
    let dir = tmp();
    let d = dir.path();
    let plan = write(
        d,
        "plan.json",
        "{\"format\": \"gha-planner-plan\", \"version\": 1}",
    );
    let (code, msg) = error_of(
        &[
            "shard",
            "--index",
            "1",
            "--total",
            "1",
            "--plan",
            plan.to_str().unwrap(),
        ],
        d,
    );
    assert_eq!(code, 3);
    insta::assert_snapshot!("damaged_plan", msg);
}

/// The store opened for `--out` was not validated: a future version, another `format`, `keep: 0`
/// were accepted, unknown fields dropped, a repeated item key won silently. It is read as
/// strictly as a store given with `--timings`, and left as it is.
#[test]
fn the_store_to_add_to_is_read_as_strictly_as_timings() {
    let dir = tmp();
    let d = dir.path();
    let input = write(d, "r.json", r#"{"t::a": 1.0}"#);
    let ok = r#"{"format":"gha-planner-store","version":1,"keep":20,"observations":[],"classes":{"default":{"t::b":[[5,0]]}}}"#;
    let cases = [
        (
            "future",
            ok.replace("\"version\":1", "\"version\":9"),
            "version 9 is not one this planner reads",
        ),
        (
            "other",
            ok.replace("gha-planner-store", "other-store"),
            "store format `other-store`",
        ),
        (
            "keep0",
            ok.replace("\"keep\":20", "\"keep\":0"),
            "keep: expected 1 to 1000 samples per item, got 0",
        ),
        (
            "unknown",
            ok.replace("\"keep\":20", "\"keep\":20,\"colour\":1"),
            "unknown field `colour`",
        ),
        (
            "twice",
            ok.replace("\"t::b\":[[5,0]]", "\"t::b\":[[5,0]],\"t::b\":[[6,0]]"),
            "`t::b` appears twice",
        ),
    ];
    for (name, text, said) in cases {
        let store = write(d, &format!("{name}.json"), &text);
        let (code, err) = error_of(
            &[
                "timings",
                "merge",
                input.to_str().unwrap(),
                "--out",
                store.to_str().unwrap(),
            ],
            d,
        );
        assert_eq!(code, 3, "{name}: {err}");
        assert!(err.contains(said), "{name}: {err}");
        assert!(
            err.contains("cannot be read, so it is left as it is"),
            "{name}: {err}"
        );
        assert_eq!(
            std::fs::read_to_string(&store).unwrap(),
            text,
            "{name}: left as it was"
        );
        // Given as history, the same store is refused (a warning, or an error with --strict).
        let (code, err) = error_of(
            &[
                "plan",
                "--timings",
                store.to_str().unwrap(),
                "--items",
                input.to_str().unwrap(),
                "--strict",
            ],
            d,
        );
        assert_eq!(code, 3, "{name} as --timings: {err}");
    }
}

/// A UTF-8 byte-order mark in a JSON map or store gave "expected value at 1:1"; UTF-16, as
/// Windows tools write it, gave "neither JUnit nor JSON".
#[test]
fn byte_order_marks_and_utf16_are_read() {
    let dir = tmp();
    let d = dir.path();
    let map = "{\"t::a\": 1.5, \"t::b\": 2.0}";
    let bom = d.join("bom.json");
    std::fs::write(&bom, [b"\xEF\xBB\xBF".as_slice(), map.as_bytes()].concat()).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(map.encode_utf16().flat_map(u16::to_le_bytes));
    let wide = d.join("wide.json");
    std::fs::write(&wide, &utf16).unwrap();
    let store = d.join("store.json");
    for input in [&bom, &wide] {
        let (code, _, err) = crate::merge(input, &store, &[]);
        assert_eq!(code, 0, "{}: {err}", input.display());
    }
    assert_eq!(
        crate::samples(&store, "t::a"),
        [1500],
        "the two files are one observation"
    );
    // The store itself, with a mark in front.
    let text = std::fs::read(&store).unwrap();
    std::fs::write(&store, [b"\xEF\xBB\xBF".as_slice(), &text].concat()).unwrap();
    let (code, _, err) = crate::merge(&bom, &store, &[]);
    assert_eq!(code, 0, "{err}");
}

/// `shard --total 1000000000` aborted on an 8 GB allocation: shard counts stop at GitHub's
/// matrix limit, before any work.
#[test]
fn shard_counts_past_githubs_matrix_limit_are_refused_before_any_work() {
    let dir = tmp();
    let d = dir.path();
    let t = write(d, "t.json", r#"{"a": 1, "b": 2}"#);
    let t = t.to_str().unwrap();
    for args in [
        vec![
            "shard",
            "--timings",
            t,
            "--index",
            "1",
            "--total",
            "1000000000",
        ],
        vec!["shard", "--timings", t, "--index", "257", "--total", "256"],
        vec!["plan", "--timings", t, "--total", "257"],
    ] {
        let (code, msg) = error_of(&args, d);
        assert_eq!(code, 2, "{args:?}: {msg}");
        assert!(msg.contains("1..=256"), "{args:?}: {msg}");
    }
}

/// An empty id (`""` in a map, or `--by file` on JUnit with no classname and no suite name) was
/// stored and printed as a blank line, and `pytest @file` then ran the whole suite.
#[test]
fn an_empty_id_is_never_stored_or_printed() {
    let dir = tmp();
    let d = dir.path();
    let map = write(d, "m.json", "{\n  \"t::a\": 1,\n  \"\": 2\n}");
    let store = d.join("s.json");
    let (code, msg) = error_of(
        &[
            "timings",
            "merge",
            map.to_str().unwrap(),
            "--out",
            store.to_str().unwrap(),
        ],
        d,
    );
    assert_eq!(code, 3, "{msg}");
    assert!(
        msg.contains("m.json:4:1: an empty id, in the entry just before"),
        "{msg}"
    );
    assert!(!store.exists());

    let xml = write(
        d,
        "r.xml",
        "<testsuites><testsuite><testcase name=\"x\" time=\"1\"/><testcase classname=\"pkg.mod\" name=\"y\" time=\"2\"/></testsuite></testsuites>",
    );
    let (code, out, err) = crate::run(&[
        "shard",
        "--timings",
        xml.to_str().unwrap(),
        "--by",
        "file",
        "--index",
        "1",
        "--total",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "pkg.mod\n", "no blank line");
    assert!(err.contains("1 testcase(s) have no file"), "{err}");
}

/// In Actions, an id holding a line break started a workflow command in the error line; and
/// every warning became an annotation, past the 10 GitHub shows per step.
#[test]
fn in_actions_no_printed_line_starts_a_command_and_annotations_are_capped() {
    let dir = tmp();
    let d = dir.path();
    let map = write(
        d,
        "m.json",
        r#"{"ok": 1, "t\n::error title=pwned::owned": 2}"#,
    );
    let in_actions = |args: &[&str]| {
        crate::split(
            &crate::planner()
                .env("GITHUB_ACTIONS", "true")
                .args(args)
                .output()
                .expect("runs"),
        )
    };
    let (code, out, err) = in_actions(&[
        "shard",
        "--timings",
        map.to_str().unwrap(),
        "--index",
        "1",
        "--total",
        "1",
    ]);
    assert_eq!(code, 2, "{err}");
    for line in out.lines().chain(err.lines()) {
        assert!(!line.trim_start().starts_with("::error"), "{line:?}");
    }
    let (code, out, err) = in_actions(&[
        "shard",
        "--timings",
        map.to_str().unwrap(),
        "--index",
        "1",
        "--total",
        "1",
        "--format",
        "shell",
    ]);
    assert_eq!(code, 2, "{out}{err}");

    // Fifteen reports, each with a testcase without `time`: fifteen warnings.
    let mut inputs = Vec::new();
    for k in 0..15 {
        let p = write(
            d,
            &format!("r{k}.xml"),
            &format!(
                "<testsuite><testcase classname=\"c\" name=\"t{k}\"/><testcase classname=\"c\" name=\"u{k}\" time=\"1\"/></testsuite>"
            ),
        );
        inputs.push(p.display().to_string());
    }
    let store = d.join("s.json").display().to_string();
    let mut args = vec!["timings", "merge", "--out", store.as_str()];
    args.extend(inputs.iter().map(String::as_str));
    let (code, _, err) = in_actions(&args);
    assert_eq!(code, 0, "{err}");
    let annotations: Vec<&str> = err.lines().filter(|l| l.starts_with("::warning")).collect();
    assert_eq!(annotations.len(), 10, "{err}");
    assert!(
        annotations[9].contains("6 more warning(s) in the log"),
        "{}",
        annotations[9]
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("warning: ")).count(),
        6,
        "{err}"
    );
}

/// On a full disk `$GITHUB_OUTPUT` was left with an open heredoc; the append is whole or cut back,
/// and the command fails with the file named.
#[test]
fn a_full_disk_under_github_output_is_an_io_error() {
    let dir = tmp();
    let d = dir.path();
    let t = write(d, "t.json", r#"{"a": 1, "b": 2}"#);
    let (code, _, err) = crate::split(
        &crate::planner()
            .env("GITHUB_OUTPUT", "/dev/full")
            .args(["plan", "--timings", t.to_str().unwrap(), "--github-output"])
            .output()
            .expect("runs"),
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("cannot append to /dev/full"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A workflow or a config that is not UTF-8 exited 4, as if it could not be read.
#[test]
fn yaml_that_is_not_utf8_is_invalid_input() {
    let dir = tmp();
    let d = dir.path();
    let bad = d.join("bad.yml");
    std::fs::write(&bad, b"on: push\njobs:\n  a: {runs-on: \xff\xfe}\n").unwrap();
    for args in [
        vec!["analyze", "--workflow", bad.to_str().unwrap()],
        vec!["render", "--config", bad.to_str().unwrap()],
    ] {
        let (code, msg) = error_of(&args, d);
        assert_eq!(code, 3, "{args:?}: {msg}");
        assert!(msg.contains("bad.yml: byte 30: not UTF-8"), "{msg}");
    }
}
