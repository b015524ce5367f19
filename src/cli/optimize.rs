//! `planner optimize`: the user's own workflow with `analyze`'s advice applied, edited in place
//! (only the changed nodes move), until no advice is left: so `optimize` of its own output
//! changes nothing. It prints what it changed, a unified diff, and the critical path, wall time
//! and billed runner-minutes before and after, simulated on the same runners.

use std::fmt::Write as _;
use std::io::Write;

use super::Error;
use super::Reporter;
use super::analyze::Analyzer;
use super::args::{FixArg, OptimizeArgs};
use super::files::{read_yaml_text, write_atomic};
use crate::timings::Micros;
use crate::workflow::{AdviceKind, Analysis, Change, apply};

/// Rounds of advice and edits at most: each drops one `needs` edge at least, so a workflow
/// reaches its fixed point long before.
const MAX_ROUNDS: usize = 64;

pub fn run(args: &OptimizeArgs, out: &mut dyn Write, reporter: &mut Reporter) -> Result<(), Error> {
    let path = &args.jobs.workflow;
    let analyzer = Analyzer::new(&args.jobs, reporter)?;
    let input = read_yaml_text(path)?;
    let fixes: Vec<FixArg> = if args.fix.is_empty() {
        vec![
            FixArg::Timeouts,
            FixArg::Needs,
            FixArg::Concurrency,
            FixArg::Shard,
        ]
    } else {
        args.fix.clone()
    };
    let (_, _, before) = analyzer.analyze(&input, path)?;
    let mut text = input.clone();
    let mut made: Vec<Change> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let (_, _, analysis) = analyzer.analyze(&text, path)?;
        let changes = changes_for(&text, &analysis, &fixes, &mut notes);
        if changes.is_empty() {
            break;
        }
        text = apply(&text, &changes).map_err(|e| Error::InvalidInput {
            path: path.clone(),
            message: e.to_string(),
        })?;
        made.extend(changes);
    }
    // An edit at the end of the file can leave it without its last newline.
    if input.ends_with('\n') && !text.ends_with('\n') {
        text.push('\n');
    }
    let (_, _, after) = analyzer.analyze(&text, path)?;
    let mut summary = summary(
        &made,
        &before,
        &after,
        &input,
        &text,
        &path.display().to_string(),
    );
    for note in &notes {
        let _ = writeln!(summary, "note: {note}");
    }
    let target = if args.write {
        Some(path.clone())
    } else {
        args.out.clone()
    };
    if args.dry_run || target.is_some() {
        if let Some(to) = target.filter(|_| text != input || !args.write) {
            write_atomic(&to, text.as_bytes())?;
        }
        out.write_all(summary.as_bytes())
            .map_err(|e| Error::io("write", "standard output", e))
    } else {
        for line in summary.lines() {
            reporter.info(line);
        }
        out.write_all(text.as_bytes())
            .map_err(|e| Error::io("write", "standard output", e))
    }
}

/// The changes one round of advice asks for: every timeout, the `needs` edge that gains the
/// most (the others are weighed again on the graph without it), the concurrency group.
fn changes_for(
    text: &str,
    analysis: &Analysis,
    fixes: &[FixArg],
    notes: &mut Vec<String>,
) -> Vec<Change> {
    let wanted = |kind: AdviceKind| match kind {
        AdviceKind::Timeout => fixes.contains(&FixArg::Timeouts),
        AdviceKind::Needs => fixes.contains(&FixArg::Needs),
        AdviceKind::Shard => fixes.contains(&FixArg::Shard),
        AdviceKind::Group => false,
    };
    let of = |kind: AdviceKind| {
        analysis
            .advice
            .iter()
            .filter(move |a| a.kind == kind && wanted(kind) && a.apply.is_some())
    };
    let mut changes: Vec<Change> = of(AdviceKind::Timeout)
        .filter_map(|a| a.apply.clone())
        .collect();
    // One graph change a round, the one that gains most: the others are weighed again on the
    // graph it leaves. A job that cannot be sharded here is said once, and left.
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).unwrap_or_default();
    let mut shardable = |a: &&crate::workflow::Advice| {
        let Some(Change::Shard { job, .. }) = &a.apply else {
            return true;
        };
        let why = serde_yaml::to_value(&yaml["jobs"][job.as_str()])
            .ok()
            .and_then(|j| crate::workflow::unshardable(&j));
        if let Some(why) = why {
            let note = format!("`{job}` is not sharded: {why}");
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
        why.is_none()
    };
    let best = of(AdviceKind::Needs)
        .chain(of(AdviceKind::Shard))
        .filter(|a| shardable(a))
        .min_by(|x, y| {
            let gain = |a: &crate::workflow::Advice| a.wall_seconds_delta.unwrap_or(0.0);
            gain(x).total_cmp(&gain(y))
        });
    changes.extend(best.and_then(|a| a.apply.clone()));
    if fixes.contains(&FixArg::Concurrency) && wants_concurrency(text) {
        changes.push(Change::Concurrency);
    }
    changes
}

/// A workflow that runs on pull requests and has no workflow-level concurrency. Not one that
/// other workflows call: a called workflow's `github.workflow` is its caller's, so its group
/// would be the caller's own.
fn wants_concurrency(text: &str) -> bool {
    let Ok(doc) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return false;
    };
    if doc.get("concurrency").is_some() {
        return false;
    }
    let on = doc.get("on");
    let events: Vec<String> = match on {
        Some(serde_yaml::Value::String(s)) => vec![s.clone()],
        Some(serde_yaml::Value::Sequence(list)) => list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(serde_yaml::Value::Mapping(m)) => m
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    let has = |e: &str| events.iter().any(|x| x == e);
    (has("pull_request") || has("pull_request_target")) && !has("workflow_call")
}

/// Billed minutes of a run: each job rounded up to whole minutes, as GitHub bills.
fn billed_minutes(a: &Analysis) -> u64 {
    a.jobs
        .iter()
        .map(|j| (j.seconds / 60.0).ceil() as u64)
        .sum()
}

fn summary(
    made: &[Change],
    before: &Analysis,
    after: &Analysis,
    input: &str,
    output: &str,
    name: &str,
) -> String {
    let mut s = String::new();
    if made.is_empty() {
        let _ = writeln!(s, "{name}: nothing to change");
        return s;
    }
    let _ = writeln!(s, "{name}: {} change(s)", made.len());
    for c in made {
        let _ = writeln!(s, "  - {c}");
    }
    let secs = |x: f64| Micros::ms((x * 1000.0).round() as u64).to_string();
    let _ = writeln!(
        s,
        "\n| on {} | before | after |\n|---|---:|---:|",
        before.capacity
    );
    let _ = writeln!(
        s,
        "| critical path | {} | {} |",
        secs(before.critical_path_seconds),
        secs(after.critical_path_seconds)
    );
    let _ = writeln!(
        s,
        "| predicted wall | {} | {} |",
        secs(before.predicted_wall_seconds),
        secs(after.predicted_wall_seconds)
    );
    let _ = writeln!(
        s,
        "| billed runner-minutes | {} | {} |\n",
        billed_minutes(before),
        billed_minutes(after)
    );
    let diff = similar::TextDiff::from_lines(input, output);
    let _ = write!(
        s,
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header(name, &format!("{name} (optimized)"))
    );
    s
}
