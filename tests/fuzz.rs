//! A bounded fuzz of every reader: JUnit, flat maps, the store, workflows and the config. Each
//! case mutates a real fixture (bytes flipped, cut, repeated, or tokens that readers trip on put
//! in) and reads it; a panic fails the test, and so does a case slower than `LIMIT`. The inputs
//! that once failed are kept in `tests/fixtures/fuzz` and read by every reader first.
//!
//! `PLANNER_FUZZ_CASES` sets the cases per reader (CI runs more than the default); proptest keeps
//! any failing case in `tests/fuzz.proptest-regressions`, and replays it first on every run.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failed unwrap is a failed test"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gha_planner::config::Config;
use gha_planner::timings::formats::{Unit, read_flat_map, read_junit, read_store};
use gha_planner::workflow::{JobGraph, parse_workflow};
use proptest::prelude::*;

/// The longest one read may take, on a loaded two-core machine, in a debug build.
const LIMIT: Duration = Duration::from_secs(5);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(root().join(rel)).unwrap()
}

/// Every reader on `bytes`: errors are fine, panics and slowness are not.
fn read_all(bytes: &[u8]) {
    let path = Path::new("fuzz");
    let started = Instant::now();
    let _ = read_junit(path, bytes);
    let _ = read_flat_map(path, bytes, Unit::Seconds, None);
    let _ = read_flat_map(path, bytes, Unit::Millis, Some("default/default"));
    let _ = read_store(path, bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(w) = parse_workflow(text, path) {
            let _ = JobGraph::build(&w);
        }
        let _ = Config::parse(text, path);
    }
    let took = started.elapsed();
    assert!(
        took < LIMIT,
        "{} bytes took {took:?}: {:?}",
        bytes.len(),
        String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
    );
}

/// Tokens that have tripped readers: markup, numbers past every range, nesting, escapes, YAML's
/// anchors and tags, expressions, byte-order marks.
const TOKENS: &[&str] = &[
    "<",
    ">",
    "\"",
    "'",
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\n",
    "\r",
    "\0",
    "1e308",
    "-1",
    "NaN",
    "9e15",
    "<testsuite>",
    "</testsuite>",
    "<testcase name=\"x\" time=\"1e300\"/>",
    "::",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "<!DOCTYPE x [<!ENTITY a \"aaaa\">]>",
    "]]>",
    "${{ x }}",
    "- ",
    "!!",
    "&a ",
    "*a",
    "? ",
    "%",
    "\u{feff}",
    "\u{202e}",
    "timestamp=\"9999-12-31T23:59:59\"",
];

#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, usize),
    Repeat(usize, usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Flip(at, b)),
        any::<usize>().prop_map(Mutation::Cut),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Mutation::Insert(at, t)),
        (any::<usize>(), 1..64usize, 2..40u8).prop_map(|(at, n, k)| Mutation::Repeat(at, n, k)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let at = |x: usize, len: usize| if len == 0 { 0 } else { x % (len + 1) };
    match *m {
        Mutation::Flip(x, b) if !bytes.is_empty() => {
            let i = x % bytes.len();
            bytes[i] = b;
        }
        Mutation::Flip(..) => {}
        Mutation::Cut(x) => {
            let i = at(x, bytes.len());
            bytes.truncate(i);
        }
        Mutation::Insert(x, t) => {
            let i = at(x, bytes.len());
            bytes.splice(i..i, TOKENS[t].bytes());
        }
        Mutation::Repeat(x, n, k) => {
            let i = at(x, bytes.len());
            let end = (i + n).min(bytes.len());
            let piece = bytes[i..end].to_vec();
            for _ in 0..k {
                bytes.splice(end..end, piece.iter().copied());
            }
        }
    }
}

/// The real fixtures each mutation starts from.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = [
        "tests/fixtures/junit/pytest.xml",
        "tests/fixtures/junit/pytest-xunit1.xml",
        "tests/fixtures/junit/jest.xml",
        "tests/fixtures/junit/nextest.xml",
        "tests/fixtures/workflows/astral-sh_uv__ci.yml",
        "examples/planner.yml",
        "examples/analyze/ci.yml",
        "examples/analyze/run1.json",
        "tests/fixtures/github/job.json",
    ]
    .iter()
    .map(|p| read(p))
    .collect();
    // A store, as `timings merge` writes one.
    let mut store = gha_planner::timings::Store::default();
    let map = read_flat_map(
        Path::new("m"),
        &read("examples/analyze/run1.json"),
        Unit::Seconds,
        None,
    )
    .unwrap();
    store.merge(&gha_planner::timings::Observed {
        source: "run1.json".into(),
        kind: "flat-map".into(),
        runner_class: "default".into(),
        durations: map,
        ..Default::default()
    });
    seeds.push(store.to_json().into_bytes());
    seeds
}

fn cases() -> u32 {
    std::env::var("PLANNER_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

#[test]
fn the_inputs_that_once_failed_are_read_without_a_panic() {
    let dir = root().join("tests/fixtures/fuzz");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e != "md") {
            read_all(&std::fs::read(&path).unwrap());
            n += 1;
        }
    }
    assert!(n >= 7, "the corpus is in {}", dir.display());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn no_reader_panics_or_hangs_on_mutated_fixtures(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let seeds = seeds();
        let mut bytes = seeds[seed.index(seeds.len())].clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        read_all(&bytes);
    }
}
