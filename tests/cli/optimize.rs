//! `planner optimize` on real workflows and on one small workflow per kind of fix: the output
//! passes actionlint and the workflow schema as far as the input did, keeps every comment line,
//! is predicted no slower, and is its own fixed point.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::analyze::{REAL, analyze_json};
use crate::{actionlint, check_jsonschema, fixture, run, tmp, write};

/// A job that checks rather than builds, by its name: what a cheap check in front of a long job
/// looks like in these workflows.
fn is_check(name: &str) -> bool {
    let name = name.to_lowercase();
    [
        "lint",
        "fmt",
        "format",
        "typos",
        "check",
        "clippy",
        "changes",
        "determine",
        "prek",
        "spell",
        "semver",
        "deny",
        "shellcheck",
        "msrv",
    ]
    .iter()
    .any(|k| name.contains(k))
}

/// The job history this test builds for a workflow, since the real ones' runs are not public
/// here: five runs of every job the workflow expands to, a check 30-110 s, any other job 3-25
/// minutes, from a hash of its name; run k takes 1 + k/20 times that.
fn history(wf: &Path, d: &Path) -> Vec<String> {
    let a = analyze_json(wf, &[], &[]);
    let names: Vec<String> = a["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["name"].as_str().expect("name").to_owned())
        .collect();
    let base = |name: &str| -> f64 {
        let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        if is_check(name) {
            30.0 + (h % 81) as f64
        } else {
            180.0 + (h % 1321) as f64
        }
    };
    (0..5)
        .map(|k| {
            let mut map: serde_json::Map<String, Value> = names
                .iter()
                .map(|n| (n.clone(), json!(base(n) * (1.0 + f64::from(k) / 20.0))))
                .collect();
            map.insert("elsewhere".into(), json!(k + 1));
            write(d, &format!("run{k}.json"), &Value::Object(map).to_string())
                .display()
                .to_string()
        })
        .collect()
}

fn optimize(wf: &Path, runs: &[String], extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["optimize", "--workflow", wf.to_str().expect("utf-8")];
    args.extend(extra);
    args.push("--timings");
    args.extend(runs.iter().map(String::as_str));
    run(&args)
}

fn predicted(wf: &Path, runs: &[String]) -> f64 {
    analyze_json(wf, runs, &[])["predicted_wall_seconds"]
        .as_f64()
        .expect("predicted")
}

/// actionlint's findings without their places (edits move lines), counted.
fn findings(path: &Path) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for line in actionlint(&[path]).lines() {
        // file:line:col: message [rule]
        let what = line.splitn(4, ':').nth(3).unwrap_or(line).trim().to_owned();
        *out.entry(what).or_default() += 1;
    }
    out
}

fn comment_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .collect()
}

#[test]
fn real_workflows_come_out_valid_with_their_comments_no_slower_and_stable() {
    let dir = tmp();
    let mut changed = Vec::new();
    for name in REAL {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).expect("dir");
        let input = PathBuf::from(fixture(&format!("workflows/{name}")));
        let runs = history(&input, &d);
        let output = d.join(name);
        let (code, summary, err) =
            optimize(&input, &runs, &["--out", output.to_str().expect("utf-8")]);
        assert_eq!(code, 0, "{name}: {err}");
        let (before, after) = (
            std::fs::read_to_string(&input).expect("input"),
            std::fs::read_to_string(&output).expect("output"),
        );
        // Nothing the input was not already told by actionlint, and the schema as before.
        let (was, is) = (findings(&input), findings(&output));
        for (what, n) in &is {
            assert!(
                was.get(what).is_some_and(|m| m >= n),
                "{name}: a new finding: {what}\n{summary}"
            );
        }
        let schema =
            |p: &Path| check_jsonschema(&["--builtin-schema", "vendor.github-workflows"], &[p]).0;
        assert_eq!(
            schema(&output),
            schema(&input),
            "{name}: the schema's verdict"
        );
        let kept = comment_lines(&after);
        for line in comment_lines(&before) {
            assert!(kept.contains(&line), "{name}: comment lost: {line}");
        }
        let (p0, p1) = (predicted(&input, &runs), predicted(&output, &runs));
        assert!(p1 <= p0, "{name}: predicted {p1} s after, {p0} s before");
        // Its own output is its fixed point.
        let again = d.join("again.yml");
        let (code, second, err) =
            optimize(&output, &runs, &["--out", again.to_str().expect("utf-8")]);
        assert_eq!(code, 0, "{name}: {err}");
        assert!(second.contains("nothing to change"), "{name}: {second}");
        assert_eq!(
            std::fs::read_to_string(&again).expect("again"),
            after,
            "{name}"
        );
        if before != after {
            changed.push((name, p0 - p1, summary));
        }
    }
    for (name, gain, summary) in &changed {
        eprintln!("{name}: {gain} s faster\n{summary}");
    }
    // The advice applies somewhere, and somewhere it buys time.
    assert!(changed.len() >= 4, "{changed:?}");
    assert!(changed.iter().any(|c| c.1 > 0.0), "{changed:?}");
}

/// One small workflow, one kind of fix at a time: the summary and diff each prints.
#[test]
fn each_kind_of_fix_shows_its_diff() {
    let dir = tmp();
    let d = dir.path();
    let wf = write(
        d,
        "ci.yml",
        "# The project's CI.
name: ci
on:
  pull_request:
  push:
    branches: [main]

jobs:
  fmt:
    runs-on: ubuntu-latest
    steps:
      - run: cargo fmt --check
  test:
    # The long one: it reads build's output, not fmt's.
    needs: [fmt, build]   # both first
    if: needs.build.outputs.ok == 'true'
    runs-on: ubuntu-latest
    timeout-minutes: 600
    steps:
      - run: cargo test
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 2
    outputs:
      ok: ${{ steps.build.outputs.ok }}
    steps:
      - id: build
        run: echo ok=true >> \"$GITHUB_OUTPUT\"
",
    );
    let runs: Vec<String> = (0..5)
        .map(|k| {
            write(
                d,
                &format!("run{k}.json"),
                &json!({"fmt": 60, "build": 20 + k, "test": 1500 + 60 * k, "elsewhere": k})
                    .to_string(),
            )
            .display()
            .to_string()
        })
        .collect();
    for fix in ["timeouts", "needs", "concurrency"] {
        let out = d.join(format!("{fix}.yml"));
        let (code, summary, err) = optimize(
            &wf,
            &runs,
            &["--fix", fix, "--out", out.to_str().expect("utf-8")],
        );
        assert_eq!(code, 0, "{err}");
        assert_eq!(actionlint(&[&out]), "", "{fix}");
        insta::with_settings!({filters => vec![(r"[^\s]*ci\.yml", "ci.yml")]}, {
            insta::assert_snapshot!(format!("optimize_{fix}"), summary);
        });
    }
    // Written in place, a second time changes nothing.
    let (code, _, err) = optimize(&wf, &runs, &["--write"]);
    assert_eq!(code, 0, "{err}");
    let (code, summary, err) = optimize(&wf, &runs, &["--write"]);
    assert_eq!(code, 0, "{err}");
    assert!(summary.contains("nothing to change"), "{summary}");
}
