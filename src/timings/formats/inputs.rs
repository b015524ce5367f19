//! One command-line input → one observation: a file, or a directory or glob of reports (one per
//! shard) read as one view, or the planner's own store.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::junit::Outcome;
use super::{IngestError, read_flat_map, read_junit};
use crate::timings::store::STORE_FORMAT;
use crate::timings::{ItemId, Millis, Store};

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
        durations: BTreeMap<ItemId, Millis>,
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

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xml") || e.eq_ignore_ascii_case("json"))
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

/// Reads one input argument as one observation.
pub fn read_input(arg: &str, opts: &ReadOptions) -> Result<Ingested, IngestError> {
    let (files, group) = expand_input(arg)?;
    let several = files.len() > 1;
    let mut combined: BTreeMap<ItemId, Millis> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut at: Option<DateTime<Utc>> = None;
    let mut kinds = BTreeSet::new();
    let mut overlaps = 0usize;
    for path in &files {
        let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
            path: path.clone(),
            source,
        })?;
        let (kind, durations) = match detect(path, &bytes, opts.format)? {
            Detected::Store => {
                if several {
                    return Err(IngestError::Unsupported {
                        path: path.clone(),
                        message: "a store cannot be read as part of a directory or glob; pass it on its own".into(),
                    });
                }
                let store: Store =
                    serde_json::from_slice(&bytes).map_err(|e| IngestError::Json {
                        path: path.clone(),
                        line: e.line(),
                        column: e.column(),
                        message: e.to_string(),
                    })?;
                if store.format != STORE_FORMAT || store.version > crate::timings::STORE_VERSION {
                    return Err(IngestError::Unsupported {
                        path: path.clone(),
                        message: format!(
                            "store format `{}` version {} is not one this planner reads (`{STORE_FORMAT}` version {})",
                            store.format,
                            store.version,
                            crate::timings::STORE_VERSION
                        ),
                    });
                }
                return Ok(Ingested::Store(store));
            }
            Detected::Json => {
                let map = read_flat_map(path, &bytes, opts.unit, group.as_deref())?;
                if opts.unit == Unit::Seconds
                    && let Some(w) = looks_like_millis(path, &map)
                {
                    warnings.push(w);
                }
                ("flat-map", map)
            }
            Detected::Junit => {
                let summary = read_junit(path, &bytes)?;
                if let Some(ts) = summary.timestamp {
                    at = Some(at.map_or(ts, |old: DateTime<Utc>| old.min(ts)));
                }
                ("junit", junit_items(path, &summary, *opts, &mut warnings))
            }
        };
        kinds.insert(kind);
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

pub fn junit_items(
    path: &Path,
    summary: &super::JunitSummary,
    opts: ReadOptions,
    warnings: &mut Vec<String>,
) -> BTreeMap<ItemId, Millis> {
    let mut items: BTreeMap<ItemId, Millis> = BTreeMap::new();
    let mut failed_items = BTreeSet::new();
    let mut no_time = Vec::new();
    let mut skipped = 0usize;
    for case in &summary.cases {
        let item = match opts.by {
            Granularity::Test => case.test.clone(),
            Granularity::File => ItemId(case.file.clone()),
            Granularity::Class => ItemId(case.class.clone()),
        };
        match (case.outcome, case.millis) {
            (Outcome::Skipped, _) => skipped += 1,
            (_, None) => no_time.push(case),
            (outcome, Some(ms)) => {
                if outcome == Outcome::Failed && !opts.include_failed {
                    failed_items.insert(item);
                    continue;
                }
                // The same name twice in one report (parameters that print alike, retries):
                // selecting it runs all of them, so their times add up.
                *items.entry(item).or_default() += ms;
            }
        }
    }
    let _ = skipped;
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
    if !failed_items.is_empty() {
        let before = items.len();
        items.retain(|id, _| !failed_items.contains(id));
        let dropped = failed_items.len().max(before - items.len());
        warnings.push(format!(
            "{}: {dropped} failed item(s) teach no duration (pass --include-failed to keep them)",
            path.display()
        ));
    }
    items
}

/// A map read as seconds whose values are all whole numbers in the thousands is almost surely in
/// milliseconds (playwright's `durations.json`).
fn looks_like_millis(path: &Path, map: &BTreeMap<ItemId, Millis>) -> Option<String> {
    if map.len() < 5 || !map.values().all(|m| m.0 % 1000 == 0) {
        return None;
    }
    let mut v: Vec<u64> = map.values().map(|m| m.0).collect();
    v.sort_unstable();
    (v[v.len() / 2] >= 100_000).then(|| {
        format!(
            "{}: every duration is a whole number and the median is {} s: if they are milliseconds, pass --unit ms",
            path.display(),
            v[v.len() / 2] / 1000
        )
    })
}
