//! Files at the edge: atomic writes, reading a store or a plan, reading an item list.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::Error;
use crate::plan::{PLAN_FORMAT, PLAN_VERSION, Plan};
use crate::timings::ItemId;

/// Writes `contents` to a temporary file beside `path`, syncs it, then renames it over `path`:
/// a reader sees the old file or the new one, never half of one.
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

pub fn read_plan(path: &Path) -> Result<Plan, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io("read the plan", path, e))?;
    let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| Error::InvalidInput {
        path: path.to_owned(),
        message: format!(
            "line {} column {}: not a plan this planner reads: {}",
            e.line(),
            e.column(),
            e.to_string().split(" at line ").next().unwrap_or_default()
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
