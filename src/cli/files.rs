//! Files at the edge: atomic writes, reading a store or a plan, reading an item list.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use super::Error;
use crate::config::Config;
use crate::plan::{PLAN_FORMAT, PLAN_VERSION, Plan};
use crate::timings::formats::strip_position;
use crate::timings::{ItemId, Store};

use super::Reporter;
use super::settings::SettingError;

/// Writes `contents` to a temporary file beside `path`, syncs it, then renames it over `path`:
/// a reader sees the old file or the new one, never half of one. A missing folder is made.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        // A first write into `.planner/` makes the folder.
        std::fs::create_dir_all(&dir)?;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io("write", path, source));
    }
    Ok(())
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
    match std::fs::read(path) {
        Ok(bytes) => match serde_json::from_slice::<Store>(&bytes) {
            Ok(s) => Ok(Some(s)),
            Err(e) if force => {
                reporter.warn(format!(
                    "{}: unreadable store replaced (--force): line {} column {}: {e}",
                    path.display(),
                    e.line(),
                    e.column()
                ));
                Ok(None)
            }
            Err(e) => Err(Error::InvalidInput {
                path: path.to_owned(),
                message: format!(
                    "line {} column {}: the existing store cannot be read, so it is left as it is ({}); pass --force to replace it",
                    e.line(),
                    e.column(),
                    strip_position(&e.to_string())
                ),
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// The store at `path` (if any) and the one to build on it: a copy, keeping `keep` samples per
/// item if given, else as many as it kept, else the default.
pub fn store_to_update(
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

/// Writes `store` over `old` at `path`, atomically, unless it would hold less (refused without
/// `force`) or nothing changed. True if it wrote.
pub fn save_store(
    path: &Path,
    old: Option<&Store>,
    store: &Store,
    force: bool,
    reporter: &mut Reporter,
) -> Result<bool, Error> {
    if let Some(old) = old {
        if !force {
            if let Some(reason) = store.loses_from(old) {
                return Err(Error::WouldLoseData {
                    path: path.to_owned(),
                    reason,
                });
            }
        }
        if store == old {
            reporter.info(format!("{}: unchanged", path.display()));
            return Ok(false);
        }
    }
    write_atomic(path, store.to_json().as_bytes())?;
    Ok(true)
}

/// The config file, parsed and checked as far as the file alone can be.
pub fn read_config(path: &Path) -> Result<Config, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    let text = String::from_utf8(bytes).map_err(|e| Error::InvalidInput {
        path: path.to_owned(),
        message: format!(
            "byte {}: not UTF-8; a config is YAML text",
            e.utf8_error().valid_up_to()
        ),
    })?;
    Ok(Config::parse(&text, path)?)
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
