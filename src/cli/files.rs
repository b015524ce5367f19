//! Files at the edge: atomic writes, reading a store or a plan, reading an item list.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::Error;
use crate::config::Config;
use crate::plan::{PLAN_FORMAT, PLAN_VERSION, Plan};
use crate::timings::formats::{read_store, strip_position};
use crate::timings::{ItemId, Store};

use super::Reporter;
use super::settings::SettingError;

/// The folder a file is in (`.` for a bare name) and its name.
fn dir_and_name(path: &Path) -> (PathBuf, String) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    (dir, name)
}

/// The file a write to `path` replaces: a symbolic link's target, so that the link stays a link.
fn write_target(path: &Path) -> PathBuf {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
        }
        _ => path.to_owned(),
    }
}

/// Writes `value` as pretty JSON and a line break, atomically (`write_atomic`); `what` names it in
/// an error.
pub fn write_json(
    path: &Path,
    what: &'static str,
    value: &impl serde::Serialize,
) -> Result<(), Error> {
    let mut bytes = Vec::with_capacity(64 * 1024);
    serde_json::to_writer_pretty(&mut bytes, value)
        .map_err(|source| Error::Json { what, source })?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Writes `contents` to a temporary file beside `path`, syncs it, then renames it over `path`:
/// a reader sees the old file or the new one, never half of one. A missing folder is made; a
/// symbolic link is written through, and the file keeps its permissions.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let target = write_target(path);
    let (dir, name) = dir_and_name(&target);
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        // A first write into `.planner/` makes the folder.
        std::fs::create_dir_all(&dir)?;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        if let Ok(m) = std::fs::metadata(&target) {
            f.set_permissions(m.permissions())?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write", path, source));
    }
    Ok(())
}

/// An advisory lock on a store, held while it is read, added to and written: a file beside it
/// (`.NAME.lock`), since the store itself is replaced by each write. Released when dropped.
#[derive(Debug)]
pub struct StoreLock {
    _file: std::fs::File,
}

impl StoreLock {
    pub fn take(path: &Path) -> Result<Self, Error> {
        let (dir, name) = dir_and_name(&write_target(path));
        let lock = dir.join(format!(".{name}.lock"));
        let file = (|| {
            std::fs::create_dir_all(&dir)?;
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock)?;
            f.lock()?;
            Ok(f)
        })()
        .map_err(|e| Error::io("lock", &lock, e))?;
        // Under the lock no one else is writing: temporary files left beside the store are
        // from writers that were killed.
        let prefix = format!(".{name}.tmp-");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.filter_map(Result::ok) {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(StoreLock { _file: file })
    }
}

/// What `update_store` did.
#[derive(Debug)]
pub struct Updated {
    /// The store as written (or as it stayed).
    pub store: Store,
    pub wrote: bool,
}

/// How a store is added to.
#[derive(Clone, Copy, Debug, Default)]
pub struct UpdateOptions {
    /// Samples to keep per item (the store's own, else the default, when `None`).
    pub keep: Option<u32>,
    /// Replace a store that cannot be read, or one the result would hold less than.
    pub force: bool,
    /// Write a store even when there was none and nothing was added.
    pub create_empty: bool,
    /// Retire items not seen for this long before the newest run.
    pub retire_after: Option<chrono::Duration>,
}

/// Adds to the store at `path`, safe beside other writers: under the store's lock it is read
/// (again, whatever was read before), `apply` adds to it, items not seen for the span are
/// retired (and said), and it is written back atomically, unless it would hold less than it did
/// for any other reason (refused without `force`) or nothing changed.
pub fn update_store<T>(
    path: &Path,
    opts: UpdateOptions,
    reporter: &mut Reporter,
    apply: impl FnOnce(&mut Store, &mut Reporter) -> T,
) -> Result<(T, Updated), Error> {
    let _lock = StoreLock::take(path)?;
    let (old, mut store) = store_to_update(path, opts.keep, opts.force, reporter)?;
    let done = apply(&mut store, reporter);
    let had_store = old.is_some();
    // What the store is held to: the old one, less what is retired now.
    let mut baseline = old;
    let mut retired = 0;
    if let Some(span) = opts.retire_after {
        let stale = store.stale_items(span);
        if !stale.is_empty() {
            retired = store.retire(&stale);
            if let Some(b) = &mut baseline {
                b.retire(&stale);
            }
            reporter.info(format!(
                "{}: {retired} item(s) not seen in the {} days before the newest run retired (--retire-after)",
                path.display(),
                span.num_days()
            ));
        }
    }
    let nothing = !had_store && store.observations.is_empty() && !opts.create_empty;
    let wrote = !nothing
        && save_store(
            path,
            baseline.as_ref(),
            &store,
            retired > 0,
            opts.force,
            reporter,
        )?;
    Ok((done, Updated { store, wrote }))
}

/// `--github-output`: appends `outputs` to the file `$GITHUB_OUTPUT` names.
pub fn append_github_output(outputs: &[(String, String)]) -> Result<(), Error> {
    let path = std::env::var_os("GITHUB_OUTPUT").ok_or_else(|| {
        SettingError::flag(
            "--github-output",
            "$GITHUB_OUTPUT is not set (it is on every Actions runner)",
        )
    })?;
    crate::github::actions::append_outputs(Path::new(&path), outputs)
        .map_err(|e| Error::io("append to", &path, e))
}

/// The store at `path` to add to: `None` if there is none yet. An unreadable one is an error,
/// and the file is left as it is, unless `force` (then it is a warning and replaced).
pub fn open_store(
    path: &Path,
    force: bool,
    reporter: &mut Reporter,
) -> Result<Option<Store>, Error> {
    // Read as strictly as a store given with --timings: what cannot be read is never replaced
    // by a store that has lost it, unless --force.
    match std::fs::read(path) {
        Ok(bytes) => match read_store(path, &bytes) {
            Ok(s) => Ok(Some(s)),
            Err(e) if force => {
                reporter.warn(format!("unreadable store replaced (--force): {e}"));
                Ok(None)
            }
            Err(source) => Err(Error::StoreUnreadable { source }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// The store at `path` (if any) and the one to build on it: a copy, keeping `keep` samples per
/// item if given, else as many as it kept, else the default.
fn store_to_update(
    path: &Path,
    keep: Option<u32>,
    force: bool,
    reporter: &mut Reporter,
) -> Result<(Option<Store>, Store), Error> {
    let old = open_store(path, force, reporter)?;
    let keep = keep
        .map(|k| k as usize)
        .or(old.as_ref().map(|s| s.keep))
        .unwrap_or(crate::timings::DEFAULT_KEEP);
    let mut store = old.clone().unwrap_or_else(|| Store::new(keep));
    store.keep = keep;
    Ok((old, store))
}

/// Writes `store` over `old` at `path` (atomically), unless it would hold less (refused without
/// `force`) or nothing changed (`retired` items are a change `old` no longer shows). True if it
/// wrote.
fn save_store(
    path: &Path,
    old: Option<&Store>,
    store: &Store,
    retired: bool,
    force: bool,
    reporter: &mut Reporter,
) -> Result<bool, Error> {
    if let Some(old) = old {
        if !force && let Some(reason) = store.loses_from(old) {
            return Err(Error::WouldLoseData {
                path: path.to_owned(),
                reason,
            });
        }
        if store == old && !retired {
            reporter.info(format!("{}: unchanged", path.display()));
            return Ok(false);
        }
    }
    write_atomic(path, store.to_json().as_bytes())?;
    Ok(true)
}

/// A YAML file's text: one that is not UTF-8 is an input to fix (exit 3), not a file that could
/// not be read.
pub fn read_yaml_text(path: &Path) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    String::from_utf8(bytes).map_err(|e| Error::InvalidInput {
        path: path.to_owned(),
        message: format!(
            "byte {}: not UTF-8; YAML is UTF-8 text",
            e.utf8_error().valid_up_to()
        ),
    })
}

/// The config file, parsed and checked as far as the file alone can be.
pub fn read_config(path: &Path) -> Result<Config, Error> {
    Ok(Config::parse(&read_yaml_text(path)?, path)?)
}

pub fn read_plan(path: &Path) -> Result<Plan, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read the plan", path, e))?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| Error::InvalidInput {
        path: path.to_owned(),
        message: format!(
            "line {} column {}: not a plan this planner reads: {}",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        ),
    })?;
    if plan.format != PLAN_FORMAT || plan.version > PLAN_VERSION {
        return Err(Error::InvalidInput {
            path: path.to_owned(),
            message: format!(
                "plan format `{}` version {} is not one this planner reads (`{PLAN_FORMAT}` version {PLAN_VERSION})",
                plan.format, plan.version
            ),
        });
    }
    Ok(plan)
}

/// An item list: one id per line, `-` for standard input. Blank lines are ignored; a duplicate is
/// an error naming both lines.
pub fn read_items(arg: &str) -> Result<Vec<ItemId>, Error> {
    let (path, text) = if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::io("read", "standard input", e))?;
        (PathBuf::from("<stdin>"), s)
    } else {
        let p = PathBuf::from(arg);
        let s = std::fs::read_to_string(&p).map_err(|e| Error::io("read the item list", &p, e))?;
        (p, s)
    };
    parse_items(&path, &text)
}

/// An item list: one id per line, blank lines skipped, a repeated id an error at its line.
pub fn parse_items(path: &std::path::Path, text: &str) -> Result<Vec<ItemId>, Error> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut items = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r').trim();
        if line.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert(line, n + 1) {
            return Err(Error::InvalidInput {
                path: path.to_path_buf(),
                message: format!(
                    "line {}: duplicate item `{line}` (first on line {first})",
                    n + 1
                ),
            });
        }
        items.push(ItemId::new(line));
    }
    Ok(items)
}

/// Every JUnit report in `args` (files, or folders read through).
pub fn read_junit_reports(args: &[String]) -> Result<Vec<crate::report::JunitReport>, Error> {
    let mut reports = Vec::new();
    for arg in args {
        let (files, _) = crate::timings::formats::expand_input(arg)?;
        for path in files {
            let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let summary = crate::timings::formats::read_junit(&path, &bytes)?;
            reports.push(crate::report::JunitReport { path, summary });
        }
    }
    Ok(reports)
}
