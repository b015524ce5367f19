//! One command-line input → one observation: a file, or a directory or glob of reports (one per
//! shard) read as one view, or the planner's own store.

use std::collections::{BTreeMap, BTreeSet};

use rustc_hash::FxHashMap as HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::junit::Outcome;
use super::{IngestError, read_flat_map, read_junit};
use crate::timings::store::STORE_FORMAT;
use crate::timings::{ItemId, Micros, Store};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FormatChoice {
    #[default]
    Auto,
    Junit,
    Json,
    Store,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unit {
    #[default]
    Seconds,
    Millis,
}

impl Unit {
    pub fn name(self) -> &'static str {
        match self {
            Unit::Seconds => "seconds",
            Unit::Millis => "milliseconds",
        }
    }
}

/// What one item is when reading JUnit.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    #[default]
    Test,
    File,
    Class,
}

impl Granularity {
    pub fn name(self) -> &'static str {
        match self {
            Granularity::Test => "test",
            Granularity::File => "file",
            Granularity::Class => "class",
        }
    }

    /// The item a test belongs to at this granularity: the test itself, its file or its class.
    pub fn pick<'a>(self, test: &'a str, file: &'a str, class: &'a str) -> &'a str {
        match self {
            Granularity::Test => test,
            Granularity::File => file,
            Granularity::Class => class,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    pub format: FormatChoice,
    pub unit: Unit,
    pub by: Granularity,
    /// Let failed tests teach durations too.
    pub include_failed: bool,
}

#[derive(Debug)]
pub enum Ingested {
    Durations {
        kind: &'static str,
        durations: BTreeMap<ItemId, Micros>,
        at: Option<DateTime<Utc>>,
        warnings: Vec<String>,
    },
    Store(Store),
}

/// The files an input names, and the group of a nested map (`FILE#group`).
pub fn expand_input(arg: &str) -> Result<(Vec<PathBuf>, Option<String>), IngestError> {
    let (target, group) = match arg.split_once('#') {
        Some((t, g)) if !Path::new(arg).exists() => (t, Some(g.to_owned())),
        _ => (arg, None),
    };
    let path = Path::new(target);
    if path.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files).map_err(|source| IngestError::Io {
            path: path.to_owned(),
            source,
        })?;
        files.sort();
        if files.is_empty() {
            return Err(IngestError::NoMatch {
                pattern: format!("{target}/**/*.{{xml,json}}"),
            });
        }
        return Ok((files, group));
    }
    if !path.exists() && target.contains(['*', '?', '[']) {
        let entries = glob::glob(target).map_err(|e| IngestError::BadPattern {
            pattern: target.to_owned(),
            message: e.to_string(),
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(IngestError::NoMatch {
                pattern: target.to_owned(),
            });
        }
        return Ok((files, group));
    }
    Ok((vec![path.to_owned()], group))
}

/// The end of the name of the file `planner shard --exec` writes beside a shard's reports (its
/// suite, index and process wall time): not timings, so a folder's walk leaves it to `report`.
pub const PROCESS_TIMING_SUFFIX: &str = "planner-timing.json";

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xml") || e.eq_ignore_ascii_case("json"))
            && !path.to_string_lossy().ends_with(PROCESS_TIMING_SUFFIX)
        {
            out.push(path);
        }
    }
    Ok(())
}

enum Detected {
    Junit,
    Json,
    Store,
}

fn detect(path: &Path, bytes: &[u8], forced: FormatChoice) -> Result<Detected, IngestError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let head = &body[..body.len().min(512)];
    let is_store = || {
        head.windows(STORE_FORMAT.len())
            .any(|w| w == STORE_FORMAT.as_bytes())
    };
    Ok(match (forced, first) {
        (FormatChoice::Junit, _) | (FormatChoice::Auto, Some(b'<')) => Detected::Junit,
        (FormatChoice::Store, _) => Detected::Store,
        (FormatChoice::Auto, Some(b'{')) if is_store() => Detected::Store,
        (FormatChoice::Json, _) | (FormatChoice::Auto, Some(b'{')) => Detected::Json,
        (FormatChoice::Auto, None) => {
            return Err(IngestError::Unsupported {
                path: path.to_owned(),
                message: "the file is empty".into(),
            });
        }
        (FormatChoice::Auto, Some(_)) => {
            return Err(IngestError::Unsupported {
                path: path.to_owned(),
                message: "neither JUnit XML nor a JSON timing map (pass --format to say which)"
                    .into(),
            });
        }
    })
}

/// The text of a file as UTF-8: a UTF-8 byte-order mark dropped, UTF-16 (with its mark, as
/// Windows tools write it) decoded.
pub fn decode_text<'a>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<std::borrow::Cow<'a, [u8]>, IngestError> {
    let utf16 = |be: bool| {
        let units = bytes[2..]
            .chunks(2)
            .map(|c| match (be, c) {
                (true, [a, b]) => Ok(u16::from_be_bytes([*a, *b])),
                (false, [a, b]) => Ok(u16::from_le_bytes([*a, *b])),
                _ => Err(()),
            })
            .collect::<Result<Vec<u16>, ()>>();
        units
            .ok()
            .and_then(|u| String::from_utf16(&u).ok())
            .map(|s| std::borrow::Cow::Owned(s.into_bytes()))
            .ok_or_else(|| IngestError::Unsupported {
                path: path.to_owned(),
                message: "starts with a UTF-16 byte-order mark but is not valid UTF-16".into(),
            })
    };
    match bytes {
        [0xEF, 0xBB, 0xBF, rest @ ..] => Ok(std::borrow::Cow::Borrowed(rest)),
        [0xFF, 0xFE, ..] => utf16(false),
        [0xFE, 0xFF, ..] => utf16(true),
        _ => Ok(std::borrow::Cow::Borrowed(bytes)),
    }
}

/// A store, read as strictly wherever it is read (a timing input, or the store a command adds
/// to): a format and version this planner reads, at least one sample kept per item, no field it
/// does not know, and no item twice.
pub fn read_store(path: &Path, bytes: &[u8]) -> Result<Store, IngestError> {
    let bytes = decode_text(path, bytes)?;
    let store = read_store_file(path, &bytes)?;
    if let Some(class) = store
        .classes
        .iter()
        .find(|(_, items)| items.keys().any(|id| id.as_str().trim().is_empty()))
        .map(|(class, _)| class)
    {
        return Err(IngestError::Field {
            path: path.to_owned(),
            line: 1,
            field: format!("classes.{class}"),
            message: "an empty id: every item needs a name".into(),
        });
    }
    if !(1..=1000).contains(&store.keep) {
        return Err(IngestError::Field {
            path: path.to_owned(),
            line: 1,
            field: "keep".into(),
            message: format!("expected 1 to 1000 samples per item, got {}", store.keep),
        });
    }
    Ok(store)
}

/// A store file, of a format and version this planner reads.
fn read_store_file(path: &Path, bytes: &[u8]) -> Result<Store, IngestError> {
    let store: Store = serde_json::from_slice(bytes).map_err(|e| IngestError::Json {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if store.format != STORE_FORMAT || store.version > crate::timings::STORE_VERSION {
        return Err(IngestError::Unsupported {
            path: path.to_owned(),
            message: format!(
                "store format `{}` version {} is not one this planner reads (`{STORE_FORMAT}` version {})",
                store.format,
                store.version,
                crate::timings::STORE_VERSION
            ),
        });
    }
    Ok(store)
}

/// Reads one input argument as one observation.
pub fn read_input(arg: &str, opts: &ReadOptions) -> Result<Ingested, IngestError> {
    let (files, group) = expand_input(arg)?;
    let several = files.len() > 1;
    let mut combined: BTreeMap<ItemId, Micros> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut at: Option<DateTime<Utc>> = None;
    let mut kinds = BTreeSet::new();
    let mut overlaps = 0usize;
    let mut reports = Vec::new();
    for path in &files {
        let raw = std::fs::read(path).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        let bytes = decode_text(path, &raw)?;
        let (kind, durations) = match detect(path, &bytes, opts.format)? {
            Detected::Store => {
                if several {
                    return Err(IngestError::Unsupported {
                        path: path.clone(),
                        message: "a store cannot be read as part of a directory or glob; pass it on its own".into(),
                    });
                }
                return read_store(path, &bytes).map(Ingested::Store);
            }
            Detected::Json => {
                if let Some(map) = super::flat::read_cypress_split(path, &bytes) {
                    ("cypress-split", map?)
                } else {
                    let map = read_flat_map(path, &bytes, opts.unit, group.as_deref())?;
                    if opts.unit == Unit::Seconds
                        && let Some(w) = looks_like_millis(path, &map)
                    {
                        warnings.push(w);
                    }
                    ("flat-map", map)
                }
            }
            Detected::Junit => {
                let summary = read_junit(path, &bytes)?;
                if let Some(ts) = summary.timestamp {
                    at = Some(at.map_or(ts, |old: DateTime<Utc>| old.min(ts)));
                }
                kinds.insert("junit");
                reports.push((path.clone(), summary));
                continue;
            }
        };
        kinds.insert(kind);
        // One file (the usual case) is the whole result as it is.
        if combined.is_empty() {
            combined = durations;
            continue;
        }
        for (id, ms) in durations {
            // Reports of one run do not overlap; where they do (a re-run shard's report kept
            // beside the first), the longer time is kept rather than both added up.
            combined
                .entry(id)
                .and_modify(|old| {
                    overlaps += 1;
                    *old = (*old).max(ms);
                })
                .or_insert(ms);
        }
    }
    let views: Vec<(&Path, &super::JunitSummary)> =
        reports.iter().map(|(p, s)| (p.as_path(), s)).collect();
    let (from_junit, junit_overlaps) = junit_view(arg, &views, *opts, &mut warnings);
    if junit_overlaps > 0 {
        warnings.push(format!(
            "{arg}: {junit_overlaps} tests appear in more than one report (a re-run shard's report kept beside the first?); kept the longest time of each"
        ));
    }
    for (id, ms) in from_junit {
        combined
            .entry(id)
            .and_modify(|old| {
                overlaps += 1;
                *old = (*old).max(ms);
            })
            .or_insert(ms);
    }
    if overlaps > 0 {
        warnings.push(format!(
            "{arg}: {overlaps} items appear in more than one file; kept the longest time of each"
        ));
    }
    let kind = if kinds.len() == 1 {
        kinds.into_iter().next().unwrap_or("mixed")
    } else {
        "mixed"
    };
    Ok(Ingested::Durations {
        kind,
        durations: combined,
        at,
        warnings,
    })
}

/// One test's time in a report, with what it belongs to at each granularity.
struct TestTime<'a> {
    ms: Micros,
    file: &'a str,
    class: &'a str,
    failed: bool,
}

/// The timed tests of one report. The same name twice in one report (parameters that print
/// alike, retries) is one item whose times add up: selecting it runs all of them.
fn tests_of<'a>(
    path: &Path,
    summary: &'a super::JunitSummary,
    warnings: &mut Vec<String>,
) -> HashMap<&'a ItemId, TestTime<'a>> {
    // Hashed, not ordered: what is built from it is summed per item, the same in any order.
    let mut tests: HashMap<&ItemId, TestTime> =
        HashMap::with_capacity_and_hasher(summary.cases.len(), rustc_hash::FxBuildHasher);
    let mut no_time = Vec::new();
    for case in &summary.cases {
        match (case.outcome, case.millis) {
            (Outcome::Skipped, _) => {}
            (_, None) => no_time.push(case),
            (outcome, Some(ms)) => {
                let t = tests.entry(&case.test).or_insert_with(|| TestTime {
                    ms: Micros::ZERO,
                    file: &case.file,
                    class: &case.class,
                    failed: false,
                });
                t.ms += ms;
                t.failed |= outcome == Outcome::Failed;
            }
        }
    }
    if !no_time.is_empty() {
        let shown: Vec<String> = no_time
            .iter()
            .take(3)
            .map(|c| format!("line {} `{}`", c.line, c.test))
            .collect();
        warnings.push(format!(
            "{}: {} testcase(s) have no `time` and were left out ({}{})",
            path.display(),
            no_time.len(),
            shown.join(", "),
            if no_time.len() > 3 { ", …" } else { "" }
        ));
    }
    tests
}

/// The reports of one run, read as one view, as items at the granularity asked. A test in two
/// reports (a re-run shard's report kept beside the first) counts once, at its longer time; then
/// the tests of a file or class add up, however many shards ran them. An item with a failed test
/// teaches nothing unless `include_failed`. Also returns how many tests were in more than one
/// report.
pub fn junit_view(
    label: &str,
    reports: &[(&Path, &super::JunitSummary)],
    opts: ReadOptions,
    warnings: &mut Vec<String>,
) -> (BTreeMap<ItemId, Micros>, usize) {
    let mut overlaps = 0usize;
    let mut tests: HashMap<&ItemId, TestTime> = HashMap::default();
    for (i, (path, summary)) in reports.iter().enumerate() {
        let these = tests_of(path, summary, warnings);
        if i == 0 {
            tests = these;
            continue;
        }
        for (id, t) in these {
            match tests.entry(id) {
                std::collections::hash_map::Entry::Occupied(mut old) => {
                    overlaps += 1;
                    let old = old.get_mut();
                    old.ms = old.ms.max(t.ms);
                    old.failed |= t.failed;
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(t);
                }
            }
        }
    }
    // Sorted once rather than kept in order while built: a report's ids share long prefixes,
    // and every comparison in a tree reads them again.
    let mut parts: Vec<(&str, Micros)> = Vec::with_capacity(tests.len());
    let mut failed_items: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::default();
    let mut nameless = 0usize;
    for (id, t) in tests {
        let item = opts.by.pick(id.as_str(), t.file, t.class);
        // A testcase with no classname in a suite with no name has no file or class to be
        // scheduled by: an empty id would be printed as a blank line and run everything.
        if item.trim().is_empty() {
            nameless += 1;
            continue;
        }
        if t.failed && !opts.include_failed {
            failed_items.insert(item);
            continue;
        }
        parts.push((item, t.ms));
    }
    parts.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut items: Vec<(&str, Micros)> = Vec::with_capacity(parts.len());
    for (item, ms) in parts {
        match items.last_mut() {
            Some((last, sum)) if *last == item => *sum += ms,
            _ => items.push((item, ms)),
        }
    }
    if nameless > 0 {
        warnings.push(format!(
            "{label}: {nameless} testcase(s) have no {} to be scheduled by and were left out",
            match opts.by {
                Granularity::Test => "name",
                Granularity::File => "file (no `file`, `classname` or suite name)",
                Granularity::Class => "class (no `classname` or suite name)",
            }
        ));
    }
    if !failed_items.is_empty() {
        items.retain(|(id, _)| !failed_items.contains(id));
        warnings.push(format!(
            "{label}: {} failed item(s) teach no duration (pass --include-failed to keep them)",
            failed_items.len()
        ));
    }
    let items = items
        .into_iter()
        .map(|(id, ms)| (ItemId::new(id), ms))
        .collect();
    (items, overlaps)
}

/// One report's items at the granularity asked.
pub fn junit_items(
    path: &Path,
    summary: &super::JunitSummary,
    opts: ReadOptions,
    warnings: &mut Vec<String>,
) -> BTreeMap<ItemId, Micros> {
    junit_view(
        &path.display().to_string(),
        &[(path, summary)],
        opts,
        warnings,
    )
    .0
}

/// A map read as seconds whose values are all whole numbers in the thousands is almost surely in
/// milliseconds (playwright's `durations.json`).
fn looks_like_millis(path: &Path, map: &BTreeMap<ItemId, Micros>) -> Option<String> {
    if map.len() < 5 || !map.values().all(|m| m.0.is_multiple_of(1_000_000)) {
        return None;
    }
    let mut v: Vec<u64> = map.values().map(|m| m.0).collect();
    v.sort_unstable();
    (v[v.len() / 2] >= Micros::ms(100_000).0).then(|| {
        format!(
            "{}: every duration is a whole number and the median is {} s: if they are milliseconds, pass --unit ms",
            path.display(),
            v[v.len() / 2] / 1_000_000
        )
    })
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;
    use crate::timings::formats::read_junit;

    fn report(cases: &[(&str, &str, f64)]) -> super::super::JunitSummary {
        let mut xml = String::from("<testsuites name=\"pytest tests\"><testsuite name=\"pytest\">");
        for (class, name, time) in cases {
            let _ = write!(
                xml,
                "<testcase classname=\"{class}\" name=\"{name}\" time=\"{time}\"/>"
            );
        }
        xml.push_str("</testsuite></testsuites>");
        read_junit(Path::new("r.xml"), xml.as_bytes()).unwrap()
    }

    /// `--by file` over the shard reports of one run kept the longest per-report part of a file
    /// (10.0 s for 20.85 s of work) and counted every repeated file as an overlap.
    #[test]
    fn a_file_split_across_shards_is_the_sum_of_its_parts() {
        let one = report(&[("tests.test_a", "t1", 10.0), ("tests.test_b", "t3", 1.0)]);
        let two = report(&[("tests.test_a", "t2", 10.85), ("tests.test_b", "t4", 2.0)]);
        let views = [(Path::new("1.xml"), &one), (Path::new("2.xml"), &two)];
        let by = |g| ReadOptions {
            by: g,
            ..ReadOptions::default()
        };
        let mut w = Vec::new();
        let (files, overlaps) = junit_view("run", &views, by(Granularity::File), &mut w);
        assert_eq!(files[&ItemId::from("tests/test_a.py")], Micros::ms(20_850));
        assert_eq!(files[&ItemId::from("tests/test_b.py")], Micros::ms(3_000));
        assert_eq!(overlaps, 0, "no test ran twice");
        assert!(w.is_empty(), "{w:?}");

        // A re-run shard's report beside the first: its tests count once, at the longer time.
        let again = report(&[("tests.test_a", "t1", 12.0)]);
        let views = [
            (Path::new("1.xml"), &one),
            (Path::new("2.xml"), &two),
            (Path::new("1-again.xml"), &again),
        ];
        let (files, overlaps) = junit_view("run", &views, by(Granularity::File), &mut w);
        assert_eq!(files[&ItemId::from("tests/test_a.py")], Micros::ms(22_850));
        assert_eq!(overlaps, 1);
        let (tests, _) = junit_view("run", &views, by(Granularity::Test), &mut w);
        assert_eq!(
            tests[&ItemId::from("tests/test_a.py::t1")],
            Micros::ms(12_000)
        );
    }
}
