//! `planner timings export`: the history's current estimates in another tool's own timing
//! format, so that a project that commits its pytest-split, Knapsack, cypress-split or
//! milliseconds file can keep doing so with the planner's history behind it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;

use crate::timings::{ItemId, Micros, item_file};

use super::args::{ExportArgs, ExportFormat};
use super::files::write_atomic;
use super::history::load;
use super::settings::history;
use super::{Error, Reporter};

/// Seconds as JSON: the shortest decimal that reads back as the same microseconds.
fn seconds(ms: Micros) -> String {
    serde_json::to_string(&ms.as_secs_f64()).unwrap_or_default()
}

/// Milliseconds as JSON: whole when they are.
fn millis(ms: Micros) -> String {
    if ms.0.is_multiple_of(1000) {
        (ms.0 / 1000).to_string()
    } else {
        serde_json::to_string(&(ms.0 as f64 / 1000.0)).unwrap_or_default()
    }
}

/// A JSON object of id → value, a key a line, in id order (a committed file diffs by item).
fn object(entries: &BTreeMap<ItemId, Micros>, indent: &str, value: fn(Micros) -> String) -> String {
    let mut out = String::from("{");
    for (k, (id, ms)) in entries.iter().enumerate() {
        let sep = if k == 0 { "\n" } else { ",\n" };
        let key = serde_json::to_string(id.as_str()).unwrap_or_default();
        let _ = write!(out, "{sep}{indent}{key}: {}", value(*ms));
    }
    out.push_str(if entries.is_empty() { "}\n" } else { "\n}\n" });
    out
}

/// Each item's estimate summed into its file: Knapsack and cypress-split time spec files.
fn by_file(estimates: &BTreeMap<ItemId, Micros>) -> BTreeMap<ItemId, Micros> {
    let mut files: BTreeMap<ItemId, Micros> = BTreeMap::new();
    for (id, ms) in estimates {
        *files
            .entry(ItemId::from(item_file(id.as_str())))
            .or_default() += *ms;
    }
    files
}

/// The estimates in `format`, as that tool writes its file.
pub fn render(format: ExportFormat, estimates: &BTreeMap<ItemId, Micros>) -> String {
    match format {
        // pytest-split's `.test_durations`: test id → seconds.
        ExportFormat::PytestSplit => object(estimates, "    ", seconds),
        // knapsack's report: spec file → seconds.
        ExportFormat::Knapsack => object(&by_file(estimates), "  ", seconds),
        // playwright's `durations.json` and other maps of milliseconds.
        ExportFormat::Ms => object(estimates, "  ", millis),
        ExportFormat::CypressSplit => {
            let mut out = String::from("{\n  \"durations\": [");
            for (k, (spec, ms)) in by_file(estimates).iter().enumerate() {
                let sep = if k == 0 { "\n" } else { ",\n" };
                let spec = serde_json::to_string(spec.as_str()).unwrap_or_default();
                let _ = write!(
                    out,
                    "{sep}    {{\n      \"spec\": {spec},\n      \"duration\": {}\n    }}",
                    millis(*ms)
                );
            }
            out.push_str("\n  ]\n}\n");
            out
        }
    }
}

pub fn run(args: &ExportArgs, out: &mut dyn Write, reporter: &mut Reporter) -> Result<(), Error> {
    let loaded = load(&history(&args.source)?, reporter)?;
    let estimates: BTreeMap<ItemId, Micros> = loaded
        .estimates
        .items
        .into_iter()
        .map(|(id, (ms, _))| (id, ms))
        .collect();
    let text = render(args.format, &estimates);
    match &args.out {
        Some(path) => {
            write_atomic(path, text.as_bytes())?;
            reporter.info(format!(
                "{}: {} estimates written ({})",
                path.display(),
                estimates.len(),
                loaded.sources
            ));
            Ok(())
        }
        None => out
            .write_all(text.as_bytes())
            .map_err(|e| Error::io("write", "standard output", e)),
    }
}
