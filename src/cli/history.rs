//! Timing history for `plan` and `shard`: read, merged in memory, estimated for the items.
//!
//! History that is missing or unreadable does not break CI: it is a warning, and items are
//! estimated (down to an even split by count when nothing is known). `--strict` makes it an error.

use std::collections::BTreeMap;
use std::path::Path;

use super::Error;
use crate::config::Items;
use crate::render::thousands;
use crate::timings::formats::{IngestError, Ingested, ReadOptions, read_input};
use crate::timings::{Estimates, ItemId, Observed, Sample, Store};

use super::Reporter;
use super::files::{parse_items, read_items};
use super::settings::{HistorySettings, ItemSource, Origin, SettingError};

/// The estimates for a suite's items, and a line saying where the timings came from.
#[derive(Debug)]
pub struct Loaded {
    pub estimates: Estimates,
    pub sources: String,
    /// The history as read: its start-up overheads, among the rest.
    pub store: Store,
}

impl Loaded {
    /// The start-up overhead measured on the first of `classes` that has some, else on every
    /// class.
    pub fn measured_overhead(&self, classes: &[&str]) -> Option<crate::timings::MeasuredOverhead> {
        self.store.measured_overhead(classes)
    }
}

/// Reads every timing input into one in-memory store, each input an observation in order.
pub fn read_history(
    timings: &[String],
    opts: ReadOptions,
    runner_class: &str,
    strict: bool,
    reporter: &mut Reporter,
) -> Result<(Store, Vec<String>), Error> {
    let mut store = Store::default();
    let mut used = Vec::new();
    for arg in timings {
        let read = read_one(arg, opts, strict, reporter)?;
        add_read(&mut store, &mut used, arg, read, runner_class);
    }
    Ok((store, used))
}

/// One timing input, its warnings said; `None` when it is missing or, without `--strict`,
/// unreadable (said too).
fn read_one(
    arg: &str,
    opts: ReadOptions,
    strict: bool,
    reporter: &mut Reporter,
) -> Result<Option<Ingested>, Error> {
    match read_input(arg, &opts) {
        Ok(mut read) => {
            if let Ingested::Durations { warnings, .. } = &mut read {
                for w in warnings.drain(..) {
                    reporter.warn(w);
                }
            }
            Ok(Some(read))
        }
        // Naming no group, or a wrong one, of a nested map is a command-line mistake, not
        // damaged history: it fails whatever --strict says.
        Err(e @ (IngestError::NestedMap { .. } | IngestError::NoSuchGroup { .. })) => Err(e.into()),
        Err(e) if strict => Err(e.into()),
        Err(e) => {
            let missing = matches!(&e, IngestError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
                || matches!(e, IngestError::NoMatch { .. });
            if missing {
                reporter.warn(format!("no timing history at {arg}: items are estimated"));
            } else {
                reporter.warn(format!(
                    "{e}; this history is ignored and items are estimated"
                ));
            }
            Ok(None)
        }
    }
}

/// Adds what was read from `arg` to `store`, as its newest observation.
fn add_read(
    store: &mut Store,
    used: &mut Vec<String>,
    arg: &str,
    read: Option<Ingested>,
    runner_class: &str,
) {
    match read {
        Some(Ingested::Durations {
            kind,
            durations,
            at,
            ..
        }) => {
            store.merge_owned(Observed {
                source: arg.to_owned(),
                kind: kind.to_owned(),
                runner_class: runner_class.to_owned(),
                at,
                durations,
                ..Default::default()
            });
            used.push(arg.to_owned());
        }
        // The first store is taken as it is: merging it into an empty one rebuilt every
        // sample of every item (5.6 times the read at 20 observations).
        Some(Ingested::Store(s)) if used.is_empty() && store.observations.is_empty() => {
            *store = s;
            used.push(arg.to_owned());
        }
        Some(Ingested::Store(s)) => {
            store.merge_store(&s, arg);
            used.push(arg.to_owned());
        }
        None => {}
    }
}

/// History older than this is worth a warning; it is still used.
const STALE_AFTER_DAYS: i64 = 30;

/// How old the newest dated observation is, when that is past `STALE_AFTER_DAYS`.
fn stale_days(
    newest: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<i64> {
    let newest = newest?;
    let days = (now - newest).num_days();
    (days > STALE_AFTER_DAYS).then_some(days)
}

/// The time now: `SOURCE_DATE_EPOCH` (seconds since 1970) when it is set, as reproducible builds
/// use it, so that a preview made from dated history can be made again byte for byte.
fn now() -> chrono::DateTime<chrono::Utc> {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(chrono::Utc::now)
}

/// Old history is still used, with a warning.
pub fn warn_if_stale(store: &Store, reporter: &mut Reporter) {
    history_age(store.newest_at(), reporter);
}

/// Whole days from `newest` to now (none for undated history, or history from the future),
/// said in a warning when the history is stale.
fn history_age(
    newest: Option<chrono::DateTime<chrono::Utc>>,
    reporter: &mut Reporter,
) -> Option<u32> {
    let now = now();
    if let Some(days) = stale_days(newest, now) {
        reporter.warn(format!(
            "the newest timing history is {days} days old; estimates may have drifted (refresh it with `planner timings merge`)"
        ));
    }
    u32::try_from((now - newest?).num_days()).ok()
}

/// The samples of the wanted runner class, or of the best other one with a warning.
fn class_history<'s>(
    store: &'s Store,
    class: &str,
    reporter: &mut Reporter,
) -> Option<&'s BTreeMap<ItemId, Vec<Sample>>> {
    if let Some(h) = store.classes.get(class) {
        return Some(h);
    }
    let (other, h) = store
        .classes
        .iter()
        .max_by_key(|(name, items)| (items.len(), std::cmp::Reverse(*name)))?;
    reporter.warn(format!(
        "no timings for runner class `{class}`; using those of `{other}`"
    ));
    Some(h)
}

/// The items a config lists: its glob expanded (sorted), or its command's lines.
fn list_items(suite: &str, items: &Items, dir: &Path, config: &Path) -> Result<Vec<ItemId>, Error> {
    match items {
        Items::Glob { pattern, exclude } => {
            super::listing::glob_items(dir, std::slice::from_ref(pattern), exclude).map_err(|e| {
                Error::Setting(SettingError::new(
                    Origin::Config {
                        path: config.to_owned(),
                        field: format!("suites.{suite}.items"),
                    },
                    e,
                ))
            })
        }
        Items::Command(command) => {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .current_dir(dir)
                .stderr(std::process::Stdio::inherit())
                .output()
                .map_err(|e| Error::io("run the items command of", format!("suite {suite}"), e))?;
            if !out.status.success() {
                return Err(Error::ItemsCommand {
                    suite: suite.to_owned(),
                    command: command.clone(),
                    status: out.status,
                });
            }
            let text = String::from_utf8_lossy(&out.stdout);
            parse_items(Path::new(&format!("items of suite {suite}")), &text)
        }
    }
}

/// When the history knows under half of the items listed, the two are likely named apart (files
/// against tests, another root folder): a warning with an id from each side and the likely fix,
/// instead of a plan that silently splits by count.
fn mismatch(listed: &[ItemId], history: &BTreeMap<ItemId, Vec<Sample>>) -> Option<String> {
    if listed.is_empty() || history.is_empty() {
        return None;
    }
    let known = listed.iter().filter(|i| history.contains_key(*i)).count();
    if known * 2 >= listed.len() {
        return None;
    }
    let item = listed.iter().find(|i| !history.contains_key(*i))?.as_str();
    let seen = history
        .keys()
        .find(|h| !listed.contains(h))
        .map_or("", |h| h.as_str());
    let is_test = crate::timings::is_test_id;
    let hint = if is_test(item) && !is_test(seen) {
        "the history holds files and the items are tests: plan them --by file (list files), or keep per-test history".to_owned()
    } else if !is_test(item) && is_test(seen) {
        "the history holds tests and the items are files: read the history --by file".to_owned()
    } else if let Some(prefix) = seen.strip_suffix(item).or_else(|| item.strip_suffix(seen)) {
        format!(
            "the two differ by a leading `{prefix}`: list the items from the folder the runner names them from (its working directory, or playwright's testDir)"
        )
    } else {
        "list the items as the runner names them in its reports".to_owned()
    };
    Some(format!(
        "the history knows {known} of the {} items listed (an item: `{item}`; in the history: `{seen}`); {hint}",
        listed.len()
    ))
}

/// The history as the item list names its items: playwright's test ids as the files they hash
/// from, then ids named from another folder than the items (playwright's testDir, a runner
/// started in a sub-folder) as the items name them. Each said.
fn align<'h>(
    history: &'h BTreeMap<ItemId, Vec<Sample>>,
    listed: Option<&[ItemId]>,
    reporter: &mut Reporter,
) -> std::borrow::Cow<'h, BTreeMap<ItemId, Vec<Sample>>> {
    use crate::timings::align::{
        Listed, find_reroot, playwright_files, rerooted, tests_into_files,
    };
    use std::borrow::Cow;
    let Some(listed) = listed else {
        return Cow::Borrowed(history);
    };
    let mut out = Cow::Borrowed(history);
    if let Some((files, moved)) = playwright_files(&out, listed) {
        reporter.info(format!(
            "{moved} playwright test id(s) in the history matched to the listed files they hash from"
        ));
        out = Cow::Owned(files);
    }
    if let Some((files, count)) = tests_into_files(&out, listed) {
        reporter.info(format!(
            "the history's tests are summed into their {count} file(s), the items listed"
        ));
        out = Cow::Owned(files);
    }
    let names = Listed::new(listed.iter().map(ItemId::as_str));
    if let Some(reroot) = find_reroot(out.keys(), &names) {
        reporter.info(format!(
            "the history names its items from another folder than the item list: {}",
            reroot.describe()
        ));
        out = Cow::Owned(rerooted(&out, |id| names.contains(id), &reroot));
    }
    out
}

/// Reads a suite's history and lists its items, then estimates each item.
pub fn load(source: &HistorySettings, reporter: &mut Reporter) -> Result<Loaded, Error> {
    let (mut store, used) = match (&source.items, source.timings.as_slice()) {
        // One file of durations and no item list (`shard` in every matrix job): each item's
        // estimate is drawn from its one time, without building a store to draw it from.
        (ItemSource::Timings, [only]) => {
            match read_one(only, source.read, source.strict, reporter)? {
                Some(Ingested::Durations { durations, at, .. }) if !durations.is_empty() => {
                    return Ok(one_observation(source, only, durations, at, reporter));
                }
                read => {
                    let (mut store, mut used) = (Store::default(), Vec::new());
                    add_read(&mut store, &mut used, only, read, &source.runner_class);
                    (store, used)
                }
            }
        }
        _ => read_history(
            &source.timings,
            source.read,
            &source.runner_class,
            source.strict,
            reporter,
        )?,
    };
    // Renamed and deleted tests are not planned: without an item list they would be handed to
    // the runner, which fails on a test that is not there.
    if let Some(span) = source.retire_after {
        let retired = store.retire(&store.stale_items(span));
        if retired > 0 {
            reporter.info(format!(
                "{retired} item(s) not seen in the {} days before the newest run are left out (--retire-after)",
                span.num_days()
            ));
        }
    }
    let empty = BTreeMap::new();
    let history = class_history(&store, &source.runner_class, reporter).unwrap_or(&empty);
    let items = match &source.items {
        ItemSource::Timings => None,
        ItemSource::File(f) => Some(read_items(f)?),
        ItemSource::Glob { patterns, exclude } => Some(
            super::listing::glob_items(Path::new("."), patterns, exclude)
                .map_err(|e| SettingError::flag("--glob", e))?,
        ),
        ItemSource::Config {
            suite,
            items,
            dir,
            config,
        } => Some(list_items(suite, items, dir, config)?),
    };
    let aligned = align(history, items.as_deref(), reporter);
    let history = aligned.as_ref();
    let mut estimates = source.estimator.estimate(history, items.as_deref());
    if estimates.items.is_empty() && !source.allow_empty {
        return Err(Error::NoItems {
            what: match &source.items {
                ItemSource::Config { .. } => "the suite's item list is empty".to_owned(),
                ItemSource::File(f) => format!("the item list {f} holds no items"),
                ItemSource::Glob { patterns, .. } => {
                    format!("no file matches --glob {}", patterns.join(", "))
                }
                ItemSource::Timings if used.is_empty() => {
                    "no items: give --items, or --timings with history".into()
                }
                ItemSource::Timings => format!("the timings ({}) hold no items", used.join(", ")),
            },
        });
    }
    let unknown = estimates.items.len() - estimates.count(crate::timings::EstimateSource::History);
    if let Some(listed) = &items
        && let Some(w) = mismatch(listed, history)
    {
        reporter.warn(w);
    }
    if unknown > 0 && !history.is_empty() {
        reporter.info(format!(
            "{unknown} of {} items have no history and are estimated from their file, directory or the suite",
            estimates.items.len()
        ));
    }
    if history.is_empty() && !estimates.items.is_empty() {
        reporter.warn("no timing history: every item counts the same, an even split by count");
    }
    estimates.age_days = history_age(store.newest_at(), reporter);
    let sources = if used.is_empty() {
        "none (every item estimated)".to_owned()
    } else {
        sources_line(&used.join(", "), store.observations.len(), history.len())
    };
    Ok(Loaded {
        estimates,
        sources,
        store,
    })
}

/// Where the timings came from, as `plan` prints it.
fn sources_line(used: &str, observations: usize, items: usize) -> String {
    format!(
        "{used} ({} observation{}, {} items with history)",
        thousands(observations),
        if observations == 1 { "" } else { "s" },
        thousands(items)
    )
}

/// `load` of one observation and no item list: what the store it would build gives (one sample
/// per item, no spread to measure, nothing to retire, one runner class, no start-ups), drawn
/// from the durations directly. A test holds the two to the same estimates.
fn one_observation(
    source: &HistorySettings,
    arg: &str,
    durations: BTreeMap<ItemId, crate::timings::Micros>,
    at: Option<chrono::DateTime<chrono::Utc>>,
    reporter: &mut Reporter,
) -> Loaded {
    let items = durations.len();
    let mut estimates = source.estimator.estimate_one(durations);
    estimates.age_days = history_age(at, reporter);
    Loaded {
        estimates,
        sources: sources_line(arg, 1, items),
        store: Store::default(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    /// jest and playwright items, as the shipped workflows list them, never matched their history,
    /// and the plan fell back to an even split by count without a word.
    #[test]
    fn history_named_apart_from_the_items_is_said_with_the_likely_fix() {
        let history = |ids: &[&str]| -> BTreeMap<ItemId, Vec<Sample>> {
            ids.iter()
                .map(|i| {
                    (
                        ItemId::from(*i),
                        vec![Sample(crate::timings::Micros::ms(5), 0)],
                    )
                })
                .collect()
        };
        let items = |ids: &[&str]| ids.iter().map(|i| ItemId::from(*i)).collect::<Vec<_>>();
        let w = mismatch(
            &items(&["e2e/a.spec.ts", "e2e/b.spec.ts"]),
            &history(&["tests/e2e/a.spec.ts", "tests/e2e/b.spec.ts"]),
        )
        .unwrap();
        assert!(
            w.contains("the history knows 0 of the 2 items listed"),
            "{w}"
        );
        assert!(w.contains("differ by a leading `tests/`"), "{w}");
        let w = mismatch(
            &items(&["t/a.py::x", "t/a.py::y"]),
            &history(&["t/a.py", "t/b.py"]),
        )
        .unwrap();
        assert!(
            w.contains("the history holds files and the items are tests"),
            "{w}"
        );
        assert_eq!(
            mismatch(&items(&["a", "b", "new"]), &history(&["a", "b"])),
            None,
            "a few new items are not a mismatch"
        );
    }

    #[test]
    fn history_is_stale_after_thirty_days_of_silence() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single();
        let day = |d| Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).single().unwrap();
        assert_eq!(stale_days(at, day(31)), None);
        assert_eq!(
            stale_days(
                at,
                Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).single().unwrap()
            ),
            Some(60)
        );
        assert_eq!(
            stale_days(None, day(31)),
            None,
            "undated history is not judged"
        );
    }
}
