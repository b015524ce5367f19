//! The report as people read it: a job summary in Markdown (headline first, a table per suite, a
//! gantt of the shards as they ran beside the plan, the advice) and a few lines of text.

use std::fmt::Write as _;

use super::analysis::{Bar, gantt_chart};
use super::markdown::{md_code, md_text};
use crate::report::fmt_s as dur;
use crate::report::{Report, Severity, SuiteClaims, SuiteMeasures, TestFailure, Trend, comma_list};
use crate::timings::Micros;

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

fn times(x: Option<f64>) -> String {
    x.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}×"))
}

/// A signed percentage; a change that rounds to nothing is `+0%`, never `-0%`.
fn signed_pct(x: Option<f64>) -> String {
    x.map_or_else(
        || "–".to_owned(),
        |v| format!("{:+.0}%", (v * 100.0).round() + 0.0),
    )
}

/// The headline measures, named as the summary's table and the text line name them.
fn headline(m: &SuiteMeasures) -> Vec<(&'static str, String)> {
    vec![
        ("wall", dur(m.wall_seconds)),
        ("sequential", dur(m.sequential_seconds)),
        ("speedup", times(m.speedup)),
        ("efficiency", pct(m.efficiency)),
        ("utilization", pct(m.utilization)),
        ("imbalance", times(m.imbalance)),
        (
            "start-up share",
            if m.overhead_known {
                pct(m.overhead_share)
            } else {
                "unknown".into()
            },
        ),
    ]
}

/// Shards in the gantt: beyond this, the table still lists every shard.
const GANTT_SHARDS: usize = 64;

/// The shards as they ran beside the plan, in milliseconds from the first start. Without job
/// timings the predicted bars are the predicted work alone, as the actual ones are.
fn gantt(m: &SuiteMeasures) -> String {
    let ms = |s: f64| Micros::from_secs_lossy(s).as_millis();
    let shown: Vec<_> = m
        .per_shard
        .iter()
        .filter(|s| s.reported)
        .take(GANTT_SHARDS)
        .collect();
    let actual: Vec<Bar> = shown
        .iter()
        .map(|s| {
            let load = s.overhead_seconds.unwrap_or(0.0) + s.busy_seconds;
            let start = s.start_seconds.unwrap_or(0.0);
            Bar {
                label: format!("shard {}", s.shard),
                start: ms(start),
                end: ms(s.end_seconds.unwrap_or(start + load)),
                crit: load >= m.critical_path_seconds - 0.0005,
            }
        })
        .collect();
    let overhead = if m.overhead_known {
        (m.predicted_wall_seconds - m.predicted_makespan_seconds).max(0.0)
    } else {
        0.0
    };
    let predicted: Vec<Bar> = shown
        .iter()
        .map(|s| Bar {
            label: format!("shard {}", s.shard),
            start: 0,
            end: ms(overhead + s.predicted_seconds),
            crit: false,
        })
        .collect();
    gantt_chart(
        &[
            ("Actual".to_owned(), actual),
            ("Predicted".to_owned(), predicted),
        ],
        true,
    )
}

/// A row per shard: its items, predicted and actual work, start-up, heaviest items; its number
/// links to its job when the run's jobs were read.
fn shard_table(s: &mut String, m: &SuiteMeasures) {
    let _ = writeln!(
        s,
        "| shard | items | predicted | actual | error | start-up | heaviest |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---|");
    for sh in &m.per_shard {
        let shard = match &sh.job_url {
            Some(url) if url.starts_with("https://") => {
                format!("[{}]({})", sh.shard, url.replace(['(', ')', ' '], ""))
            }
            _ => sh.shard.to_string(),
        };
        if !sh.reported {
            let _ = writeln!(
                s,
                "| {shard} | – | {} | missing | – | – | |",
                dur(sh.predicted_seconds)
            );
            continue;
        }
        let heavy: Vec<String> = sh
            .heaviest
            .iter()
            .map(|i| format!("{} {}", md_code(&i.id.0), dur(i.seconds)))
            .collect();
        let _ = writeln!(
            s,
            "| {shard} | {} | {} | {} | {} | {} | {} |",
            sh.items,
            dur(sh.predicted_seconds),
            dur(sh.busy_seconds),
            signed_pct(sh.prediction_error),
            sh.overhead_seconds.map_or_else(|| "–".into(), dur),
            heavy.join(", ")
        );
    }
    s.push('\n');
}

/// One suite's part of the summary: its numbers, its shards, its gantt, its items far off.
fn suite_section(s: &mut String, m: &SuiteMeasures) {
    let _ = writeln!(s, "### Suite {}\n", md_code(&m.suite));
    let mut cells = headline(m);
    cells.push((
        "predicted",
        dur(if m.overhead_known {
            m.predicted_wall_seconds
        } else {
            m.predicted_makespan_seconds
        }),
    ));
    cells.push(("runner-minutes", m.runner_minutes.to_string()));
    let names: Vec<&str> = cells.iter().map(|c| c.0).collect();
    let values: Vec<&str> = cells.iter().map(|c| c.1.as_str()).collect();
    let _ = writeln!(s, "| {} |", names.join(" | "));
    let _ = writeln!(s, "|{}", "---:|".repeat(cells.len()));
    let _ = writeln!(s, "| {} |\n", values.join(" | "));
    if m.planned_without_history {
        let _ = writeln!(
            s,
            "Lower bound {}, critical path {} (the busiest shard). The plan had no history: every item was an assumption, so the shards were split by count and nothing is called far off; this run's times are the next plan's history.\n",
            dur(m.lower_bound_seconds),
            dur(m.critical_path_seconds),
        );
    } else {
        let _ = writeln!(
            s,
            "Lower bound {}, critical path {} (the busiest shard); its work ran {} against the {} predicted.\n",
            dur(m.lower_bound_seconds),
            dur(m.critical_path_seconds),
            signed_pct(m.prediction_error),
            dur(m.predicted_makespan_seconds)
        );
    }
    if let Some(q) = m.queue_seconds {
        let _ = writeln!(
            s,
            "The longest wait for a runner was {} (queue time, not in the wall time).\n",
            dur(q)
        );
    }
    if !m.missing_shards.is_empty() {
        let list: Vec<String> = m
            .missing_shards
            .iter()
            .map(|k| {
                let job = m
                    .per_shard
                    .iter()
                    .find(|s| s.shard == *k)
                    .and_then(|s| s.job.as_deref());
                match job {
                    Some(outcome) => format!("{k} (job {outcome})"),
                    None => k.to_string(),
                }
            })
            .collect();
        let _ = writeln!(
            s,
            "**Missing:** no report from shard{} {}.\n",
            if list.len() == 1 { "" } else { "s" },
            list.join(", ")
        );
    }
    failures_section(s, m);
    shard_table(s, m);
    let _ = writeln!(s, "```mermaid\n{}```\n", gantt(m));
    if !m.items_off.is_empty() {
        s.push_str("<details><summary>Items far from their estimate</summary>\n\n| item | shard | estimate | actual |\n|---|---:|---:|---:|\n");
        for i in &m.items_off {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                md_code(&i.id.0),
                i.shard,
                dur(i.estimate_seconds),
                dur(i.actual_seconds)
            );
        }
        s.push_str("\n</details>\n\n");
    }
}

/// The most tests each of the failed and flaky tables lists; the JSON report has them all.
const FAILURES_LISTED: usize = 25;

/// How often it failed in its recent runs, this one included, from the history.
fn recent(t: &TestFailure) -> String {
    t.history.map_or_else(
        || "–".to_owned(),
        |h| {
            format!(
                "{} of {} ({:.0}%)",
                h.failures,
                h.runs,
                100.0 * h.failures as f64 / h.runs.max(1) as f64
            )
        },
    )
}

/// One table of tests that failed: `flaky` adds how often they failed, in this run and in the
/// recent ones.
fn failure_table(s: &mut String, tests: &[&TestFailure], flaky: bool) {
    s.push_str(if flaky {
        "| shard | test | this run failed | recent runs failed | message |\n|---:|---|---:|---:|---|\n"
    } else {
        "| shard | test | message |\n|---:|---|---|\n"
    });
    for t in tests.iter().take(FAILURES_LISTED) {
        let message = t.message.as_deref().map(md_text).unwrap_or_default();
        if flaky {
            let _ = writeln!(
                s,
                "| {} | {} | {} of {} | {} | {message} |",
                t.shard,
                md_code(t.id.as_str()),
                t.failures,
                t.failures + t.passes,
                recent(t)
            );
        } else {
            let _ = writeln!(
                s,
                "| {} | {} | {message} |",
                t.shard,
                md_code(t.id.as_str())
            );
        }
    }
    if tests.len() > FAILURES_LISTED {
        let _ = writeln!(
            s,
            "\n…and {} more, in the JSON report.",
            tests.len() - FAILURES_LISTED
        );
    }
    s.push('\n');
}

/// The tests that failed in the end, then those that failed and passed (flaky), apart.
fn failures_section(s: &mut String, m: &SuiteMeasures) {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let (known, failed): (Vec<&TestFailure>, Vec<&TestFailure>) =
        m.failed.iter().partition(|t| t.known_flaky);
    if !failed.is_empty() {
        let shards: Vec<u32> = failed
            .iter()
            .map(|t| t.shard)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let _ = writeln!(
            s,
            "**Failed: {} test{}** in shard{} {}. Re-run the failed jobs: a shard given its earlier attempt's JUnit (`planner shard --rerun-failed`, the action's `rerun-failed`) runs only the tests that failed or never ran.\n",
            failed.len(),
            plural(failed.len()),
            plural(shards.len()),
            comma_list(&shards)
        );
        failure_table(s, &failed, false);
    }
    if !known.is_empty() {
        let _ = writeln!(
            s,
            "**Failed, known flaky: {} test{}**: each failed and passed in its recent runs, as the history shows; likely the test, not this change. They still fail the run unless the gate passes known flakes.\n",
            known.len(),
            plural(known.len())
        );
        failure_table(s, &known, true);
    }
    if !m.flaky.is_empty() {
        let _ = writeln!(
            s,
            "**Flaky: {} test{}** failed and then passed (a later attempt, or its runner's retry): not counted as failed.\n",
            m.flaky.len(),
            plural(m.flaky.len())
        );
        let flaky: Vec<&TestFailure> = m.flaky.iter().collect();
        failure_table(s, &flaky, true);
    }
}

/// A measure's value as the summary shows it.
fn value(measure: &str, v: f64) -> String {
    match measure {
        "speedup" | "imbalance" => times(Some(v)),
        "utilization" => pct(Some(v)),
        "runner_minutes" => format!("{v:.0}"),
        "cost_usd" => format!("${v:.2}"),
        _ => dur(v),
    }
}

/// The run's measures then and now (and each suite's, when there are several).
fn trend_section(s: &mut String, t: &Trend, per_suite: bool) {
    let since = t
        .previous_run_id
        .map_or_else(String::new, |id| format!(" (run {id})"));
    let _ = writeln!(
        s,
        "### Since the previous report{since}
"
    );
    let _ = writeln!(
        s,
        "| | measure | previous | now | change |\n|---|---|---:|---:|---:|"
    );
    // One suite: its rows say all the run's do, and more.
    let has_suites = t.changes.iter().any(|c| c.suite.is_some());
    for c in &t.changes {
        if c.suite.is_none() && has_suites && !per_suite {
            continue;
        }
        let scope = c.suite.as_deref().map_or_else(|| "run".to_owned(), md_code);
        let _ = writeln!(
            s,
            "| {scope} | {} | {} | {} | {} |",
            match c.measure {
                "cost_usd" => "cost".to_owned(),
                m => m.trim_end_matches("_seconds").replace('_', "-"),
            },
            value(c.measure, c.previous),
            value(c.measure, c.current),
            signed_pct(c.change)
        );
    }
    s.push('\n');
}

pub fn summary_markdown(r: &Report) -> String {
    let mut s = String::from("## Test shards: what parallelism bought\n\n");
    let run = &r.run;
    let _ = writeln!(
        s,
        "**{} wall** for {} of work on {} shard{}: **{} speedup**, {} runner-minutes (about ${:.2}).\n",
        dur(run.wall_seconds),
        dur(run.sequential_seconds),
        run.shards_reported,
        if run.shards_reported == 1 { "" } else { "s" },
        times(run.speedup),
        run.runner_minutes,
        run.cost_usd
    );
    for note in &r.notes {
        let _ = writeln!(s, "_{}_\n", note.replace('_', "\\_"));
    }
    if let Some(t) = &r.trend {
        trend_section(&mut s, t, r.suites.len() > 1);
    }
    for m in r.suites.iter().filter(|m| m.skipped.is_none()) {
        suite_section(&mut s, m);
    }
    skipped_section(&mut s, &r.suites);
    if !r.claims.is_empty() {
        claims_section(&mut s, &r.claims);
    }
    if !r.advice.is_empty() {
        s.push_str("### Advice\n\n");
        for a in &r.advice {
            let mark = match a.severity {
                Severity::Info => "",
                Severity::Warning => "⚠️ ",
                Severity::Violation => "❌ ",
            };
            let _ = writeln!(
                s,
                "- {mark}**{}** ({}): {}",
                a.kind,
                md_text(&a.suite),
                a.message
            );
        }
        s.push('\n');
    }
    s
}

/// The suites whose lanes the change did not touch: not run, and passed at the gate.
fn skipped_section(s: &mut String, suites: &[SuiteMeasures]) {
    let skipped: Vec<(&str, &str)> = suites
        .iter()
        .filter_map(|m| m.skipped.as_deref().map(|why| (m.suite.as_str(), why)))
        .collect();
    if skipped.is_empty() {
        return;
    }
    s.push_str(
        "### Skipped suites

Their paths were not touched by this change: they did not run, and the gate counts them as passed.

| suite | why |
|---|---|
",
    );
    for (suite, why) in skipped {
        let _ = writeln!(s, "| {} | {} |", md_code(suite), md_text(why));
    }
    s.push('\n');
}

/// Who took which chunks of each claimed tail, one row a shard.
fn claims_section(s: &mut String, claims: &[SuiteClaims]) {
    s.push_str("### Claimed tails\n\n| suite | shard | chunks | items | requests | wait on claims |\n|---|---:|---|---:|---:|---:|\n");
    for c in claims {
        for k in &c.shards {
            // The time the shard's requests took, and per chunk it got.
            let wait = k.claim_wait_ms.map_or_else(
                || "—".to_owned(),
                |w| match k.chunks.len() {
                    0 => format!("{:.1} s", w.as_secs_f64()),
                    n => format!(
                        "{:.1} s ({:.2} s a chunk)",
                        w.as_secs_f64(),
                        w.as_secs_f64() / n as f64
                    ),
                },
            );
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {wait} |",
                md_text(&c.suite),
                k.shard,
                if k.chunks.is_empty() {
                    "—".to_owned()
                } else {
                    comma_list(&k.chunks)
                },
                k.items,
                k.requests.map_or_else(|| "—".to_owned(), |n| n.to_string())
            );
        }
    }
    s.push('\n');
    for c in claims.iter().filter(|c| !c.unclaimed.is_empty()) {
        let _ = writeln!(
            s,
            "❌ **{}**: chunk(s) {} of {} were never claimed, so never run: re-run the failed shard jobs.\n",
            md_text(&c.suite),
            comma_list(&c.unclaimed),
            c.chunks
        );
    }
}

/// One line a claimed suite: its chunks by shard.
fn claims_line(c: &SuiteClaims) -> String {
    let by: Vec<String> = c
        .shards
        .iter()
        .map(|k| format!("shard {} {}", k.shard, k.chunks.len()))
        .collect();
    let mut line = format!(
        "claims, suite {}: {} chunk(s) of the tail; {}; {} reference(s), {} deleted",
        c.suite,
        c.chunks,
        by.join(", "),
        c.references,
        c.deleted
    );
    if !c.unclaimed.is_empty() {
        let _ = write!(line, "; never claimed: {}", comma_list(&c.unclaimed));
    }
    line
}

/// A few lines for the terminal.
pub fn summary_text(r: &Report) -> String {
    let mut s = String::new();
    for m in &r.suites {
        if let Some(why) = &m.skipped {
            let _ = writeln!(s, "suite {}: skipped, {why}", m.suite);
            continue;
        }
        let cells: Vec<String> = headline(m)
            .into_iter()
            .map(|(name, value)| format!("{name} {value}"))
            .collect();
        let _ = writeln!(
            s,
            "suite {}: {}; {} of {} shards reported; {} runner-minutes",
            m.suite,
            cells.join(", "),
            m.shards_reported,
            m.shards,
            m.runner_minutes
        );
        for (what, tests) in [("failed", &m.failed), ("flaky", &m.flaky)] {
            for t in tests.iter().take(FAILURES_LISTED) {
                let what = if t.known_flaky {
                    "failed, known flaky"
                } else {
                    what
                };
                let _ = writeln!(
                    s,
                    "  {what}: {} (shard {}){}",
                    t.id,
                    t.shard,
                    t.message
                        .as_deref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                );
            }
        }
    }
    for c in &r.claims {
        let _ = writeln!(s, "{}", claims_line(c));
    }
    for a in &r.advice {
        let _ = writeln!(s, "  {} ({}): {}", a.kind, a.suite, a.message);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ShardClaims;
    use crate::timings::Micros;

    #[test]
    fn the_claims_table_says_each_shards_chunks_requests_and_wait() {
        let claims = [SuiteClaims {
            suite: "unit".to_owned(),
            chunks: 4,
            shards: vec![
                ShardClaims {
                    shard: 1,
                    chunks: vec![0, 2],
                    items: 9,
                    requests: Some(6),
                    claim_wait_ms: Some(Micros::ms(1_500)),
                },
                ShardClaims {
                    shard: 2,
                    chunks: vec![],
                    items: 0,
                    requests: None,
                    claim_wait_ms: None,
                },
            ],
            unclaimed: vec![1, 3],
            references: 4,
            deleted: 0,
        }];
        let mut s = String::new();
        claims_section(&mut s, &claims);
        assert!(
            s.contains("| unit | 1 | 0, 2 | 9 | 6 | 1.5 s (0.75 s a chunk) |"),
            "{s}"
        );
        assert!(s.contains("| unit | 2 | — | 0 | — | — |"), "{s}");
        assert!(s.contains("chunk(s) 1, 3 of 4 were never claimed"), "{s}");
    }
}
