//! `planner plan --dry-run`: the plan as a person reads it in a terminal.

use std::fmt::Write as _;

use crate::plan::{BoundTerm, CapacitySource, OverheadSource, SHOWN_COUNTS, SuitePlan, waves};
use crate::timings::Micros;

const BAR: usize = 32;
/// Shard tables longer than this show their first and last rows only.
const FOLD_OVER: usize = 24;
const FOLD_HEAD: usize = 8;
const FOLD_TAIL: usize = 4;

/// `15040` → `15,040`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bar(value: Micros, max: Micros) -> String {
    if max.0 == 0 {
        return String::new();
    }
    let eighths = (value.0 as f64 / max.0 as f64 * (BAR * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    let part = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8];
    s.push_str(part);
    s
}

fn pct_over(value: Micros, base: Micros) -> String {
    if base.0 == 0 {
        return "—".into();
    }
    let over = (value.0 as f64 / base.0 as f64 - 1.0) * 100.0;
    if over < 0.005 {
        "at the bound".into()
    } else {
        format!("bound + {over:.2}%")
    }
}

/// The rows of the curve worth showing: a spread of counts plus the chosen one and the knee.
fn curve_rows(suite: &SuitePlan) -> Vec<usize> {
    let cap = suite.curve.last().map_or(0, |p| p.n);
    let mut rows: Vec<usize> = SHOWN_COUNTS.into_iter().filter(|&n| n <= cap).collect();
    rows.extend([suite.choice.n, cap]);
    rows.extend(suite.choice.knee);
    rows.extend(suite.capacity.map(|c| c.runners));
    rows.sort_unstable();
    rows.dedup();
    // A curve holds only the counts that were packed (one, with --total).
    rows.retain(|&n| suite.curve.iter().any(|p| p.n == n));
    rows
}

/// The preview of one suite's plan.
#[expect(
    clippy::too_many_lines,
    reason = "one screen, written top to bottom as it reads"
)]
pub fn preview(suite: &SuitePlan, sources: &str) -> String {
    let mut o = String::new();
    let n = suite.shards.len();
    let _ = writeln!(
        o,
        "Plan for suite `{}` (dry run: nothing written)",
        suite.name
    );
    let _ = writeln!(o);
    if let Some(lane) = &suite.lane {
        let verdict = if lane.runs { "runs" } else { "skipped" };
        let _ = writeln!(o, "  lane        {verdict}: {}", lane.reason);
        if !lane.runs {
            let _ = writeln!(
                o,
                "\n  Not run: its history is not read, its matrix gets one empty shard, its `skip` output is true and the gate counts it as passed."
            );
            return o;
        }
    }
    let _ = writeln!(
        o,
        "  items       {}, {} of work, longest {}",
        thousands(suite.item_count),
        suite.total_ms,
        suite.longest_ms
    );
    let _ = writeln!(o, "  timings     {sources}");
    let e = suite.estimates;
    let new = e.same_file + e.same_directory + e.suite_mean + e.default;
    let mut est = format!("{} from history", thousands(e.history));
    if new > 0 {
        let parts: Vec<String> = [
            (e.same_file, "same file"),
            (e.same_directory, "same directory"),
            (e.suite_mean, "suite mean"),
            (e.default, "default"),
        ]
        .into_iter()
        .filter(|(c, _)| *c > 0)
        .map(|(c, what)| match (what, e.assumed_ms) {
            ("default", Some(ms)) => format!(
                "{} assumed at {ms} each: set --default-seconds to what one takes",
                thousands(c)
            ),
            _ => format!("{} by {what}", thousands(c)),
        })
        .collect();
        let _ = write!(
            est,
            ", {} never seen ({})",
            thousands(new),
            parts.join(", ")
        );
    }
    let _ = writeln!(o, "  estimates   {est}");
    let overhead_note = match (suite.overhead_source, &suite.overhead_detail) {
        (OverheadSource::Assumed, _) => {
            " (assumed; set --overhead-seconds, or learn it with `planner timings fetch`)"
                .to_owned()
        }
        (OverheadSource::Measured, Some(detail)) => format!(" (measured: {detail})"),
        (OverheadSource::Measured, None) => " (measured from past runs)".to_owned(),
        (OverheadSource::Flag | OverheadSource::Config, _) => String::new(),
    };
    let _ = writeln!(
        o,
        "  overhead    {} per shard{overhead_note}",
        suite.overhead_ms
    );
    let hidden = match &suite.hidden {
        Some(h) => h.describe(),
        None => "not counted yet (assumed 0; `planner report --timings-out` learns it from a run's shards)"
            .to_owned(),
    };
    let _ = writeln!(o, "  in-process  {hidden}");
    if let Some(c) = suite.capacity {
        let note = match c.source {
            CapacitySource::Default => {
                " (GitHub Free's concurrent jobs; set --capacity, or the suite's `capacity`)"
            }
            CapacitySource::Flag => " (--capacity)",
            CapacitySource::Config => " (the suite's `capacity`)",
        };
        let _ = writeln!(
            o,
            "  capacity    {} shards at once, more run in waves{note}",
            c.runners
        );
    }
    let _ = writeln!(o);
    if suite.skip {
        let _ = writeln!(
            o,
            "  Nothing to run: the matrix gets one empty shard and `skip` is true."
        );
        return o;
    }
    let _ = writeln!(
        o,
        "  {n} shard{}: {}",
        if n == 1 { "" } else { "s" },
        suite.choice.reason
    );
    if let Some(c) = suite.capacity.filter(|c| n > c.runners) {
        let _ = writeln!(
            o,
            "  capacity binds: {n} shards on {} runners run in {} waves",
            c.runners,
            waves(n, c.runners)
        );
    }
    let _ = writeln!(o);
    let max = suite.predicted_makespan_ms;
    let _ = writeln!(o, "  shard   items   estimate");
    for (i, s) in suite.shards.iter().enumerate() {
        // A long table keeps its ends; the middle is summed up in one line.
        if n > FOLD_OVER && i >= FOLD_HEAD && i < n - FOLD_TAIL {
            if i == FOLD_HEAD {
                let middle = &suite.shards[FOLD_HEAD..n - FOLD_TAIL];
                let lo = middle
                    .iter()
                    .map(|s| s.estimate_ms)
                    .min()
                    .unwrap_or_default();
                let hi = middle
                    .iter()
                    .map(|s| s.estimate_ms)
                    .max()
                    .unwrap_or_default();
                let items: usize = middle.iter().map(|s| s.items.len()).sum();
                let _ = writeln!(
                    o,
                    "      …  {} more shards, {} items, estimates {lo} to {hi}",
                    middle.len(),
                    thousands(items)
                );
            }
            continue;
        }
        let _ = writeln!(
            o,
            "  {:>5}  {:>6}  {:>9}  {}",
            s.index.get(),
            thousands(s.items.len()),
            s.estimate_ms.to_string(),
            bar(s.estimate_ms, max)
        );
    }
    let _ = writeln!(o);
    let b = suite.bound;
    let binds = match b.binds {
        BoundTerm::LongestItem => format!("the longest item binds ({})", suite.longest_ms),
        BoundTerm::Average => format!(
            "the average binds: {} ÷ {n}; longest item {}",
            suite.total_ms, suite.longest_ms
        ),
    };
    let _ = writeln!(o, "  bound       {} ({binds})", b.ms);
    let _ = writeln!(
        o,
        "  predicted   busiest shard {} ({}), wall {} with overhead, {} runner-minutes billed",
        suite.predicted_makespan_ms,
        pct_over(suite.predicted_makespan_ms, b.ms),
        suite.predicted_wall_ms,
        suite.runner_minutes
    );
    if let Some(band) = &suite.wall_band {
        let spread = if band.spread_measured {
            format!("{}%, measured", band.spread_percent)
        } else {
            format!(
                "{}% assumed: too little history to measure it",
                band.spread_percent
            )
        };
        let drift = band.age_days.map_or(String::new(), |days| {
            format!(
                "; the history is {days} days old, and a suite drifts about {:.0}% in that time",
                100.0 * crate::plan::drift_at(days)
            )
        });
        let _ = writeln!(
            o,
            "  likely      wall {} to {} (p10–p90 of the busiest of shards that vary; item times vary {spread}, new items more{drift})",
            band.p10_ms, band.p90_ms
        );
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  shards       wall   speedup   efficiency   runner-minutes"
    );
    let seq = suite.overhead_ms + suite.total_ms;
    for row in curve_rows(suite) {
        let Some(p) = suite.curve.iter().find(|p| p.n == row) else {
            continue;
        };
        let speedup = if p.wall_ms.0 == 0 {
            1.0
        } else {
            seq.0 as f64 / p.wall_ms.0 as f64
        };
        let mut mark = String::new();
        if row == suite.choice.n {
            mark.push_str("  ◄ chosen");
        }
        if Some(row) == suite.choice.knee {
            mark.push_str(if row == suite.choice.n {
                ", the knee"
            } else {
                "  ◄ the knee"
            });
        }
        if let Some(c) = suite.capacity {
            if row == c.runners && suite.curve.last().is_some_and(|p| row < p.n) {
                mark.push_str("  ← capacity");
            } else if row > c.runners {
                let _ = write!(mark, "  ({} waves)", waves(row, c.runners));
            }
        }
        let _ = writeln!(
            o,
            "  {:>6}  {:>9}  {:>7.2}×  {:>10.0}%  {:>15}{mark}",
            p.n,
            p.wall_ms.to_string(),
            speedup,
            p.efficiency * 100.0,
            p.runner_minutes
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(15040), "15,040");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn long_shard_tables_keep_their_ends_and_sum_up_the_middle() {
        use crate::plan::{ChoiceMode, SuiteSettings, plan_suite};
        use crate::timings::formats::Granularity;
        use crate::timings::{EstimateSource, Estimates, ItemId};

        let mut estimates = Estimates::default();
        for i in 0..40u64 {
            estimates.items.insert(
                ItemId::new(format!("t{i:02}")),
                (Micros::ms(1000 + i), EstimateSource::History),
            );
        }
        let settings = SuiteSettings {
            name: "s".into(),
            granularity: Granularity::Test,
            runner_class: "default".into(),
            overhead: Micros::ms(0),
            overhead_source: OverheadSource::Flag,
            overhead_detail: None,
            hidden: None,
            mode: ChoiceMode::Fixed { requested: 40 },
            max_shards: 256,
            max_extra_cost: 0.25,
            capacity: crate::plan::RunnerCapacity::github_free(false),
        };
        let text = preview(&plan_suite(&estimates, &settings), "test");
        let table: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.contains("shard   items   estimate"))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect();
        assert_eq!(table.len(), FOLD_HEAD + 1 + FOLD_TAIL, "{text}");
        assert!(
            text.contains("…  28 more shards, 28 items, estimates 1.0s to 1.0s"),
            "{text}"
        );
        assert!(text.contains("\n     40       1"), "{text}");
    }

    #[test]
    fn bars_scale_to_the_longest() {
        assert_eq!(bar(Micros::ms(10), Micros::ms(10)).chars().count(), BAR);
        assert_eq!(bar(Micros::ms(5), Micros::ms(10)).chars().count(), BAR / 2);
        assert_eq!(bar(Micros::ms(0), Micros::ms(0)), "");
    }
}
