//! `planner analyze` as people read it: a terminal report, Markdown with a Mermaid gantt, or JSON.

use std::fmt::Write as _;

use super::markdown::md_text;
use crate::timings::Micros;
use crate::workflow::Analysis;

fn dur(seconds: f64) -> Micros {
    Micros::from_secs_lossy(seconds)
}

fn slack(seconds: f64) -> String {
    if seconds <= 0.0 {
        "—".to_owned()
    } else {
        dur(seconds).to_string()
    }
}

fn headline(a: &Analysis) -> String {
    let phases = a.phases.len();
    format!(
        "{} jobs in {phases} phase{} · work {} · critical path {} · bound {} · predicted {} ({})",
        a.jobs.len(),
        if phases == 1 { "" } else { "s" },
        dur(a.total_work_seconds),
        dur(a.critical_path_seconds),
        dur(a.bound_seconds),
        dur(a.predicted_wall_seconds),
        a.capacity
    )
}

fn phase_line(p: &crate::workflow::Phase) -> String {
    format!(
        "Phase {} — {} ({} parallel, ~{})",
        p.number,
        p.title,
        p.jobs.len(),
        dur(p.longest_seconds)
    )
}

/// The terminal report.
pub fn analysis_text(a: &Analysis) -> String {
    let mut s = String::new();
    let title = a.name.as_deref().unwrap_or("workflow");
    let _ = writeln!(s, "{title} ({})", a.workflow);
    let _ = writeln!(s, "{}", headline(a));
    let width = a
        .jobs
        .iter()
        .map(|j| j.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    for p in &a.phase_details {
        let _ = writeln!(s, "\n{}", phase_line(p));
        for j in a.jobs.iter().filter(|j| j.phase == p.number) {
            let name: String = j.name.chars().take(60).collect();
            let _ = writeln!(
                s,
                "  {} {name:<width$}  {:>8}  slack {:>8}  {}",
                if j.critical { "*" } else { " " },
                dur(j.seconds).to_string(),
                slack(j.slack_seconds),
                j.estimate.describe()
            );
        }
    }
    let _ = writeln!(
        s,
        "\nCritical path ({} jobs, {}; * above):\n  {}",
        a.critical_path.len(),
        dur(a.critical_path_seconds),
        a.critical_path.join(" → ")
    );
    let _ = writeln!(
        s,
        "Parallelism: up to {} jobs at once, {:.2} on average with unlimited runners",
        a.parallelism.max, a.parallelism.average
    );
    list(
        &mut s,
        "Bottlenecks",
        a.bottlenecks
            .iter()
            .map(|b| format!("{} ({}): {}", b.job, dur(b.seconds), b.reason)),
    );
    list(&mut s, "Advice", a.advice.iter().map(|x| x.message.clone()));
    list(&mut s, "Notes", a.notes.iter().cloned());
    s
}

fn list(s: &mut String, title: &str, items: impl Iterator<Item = String>) {
    let items: Vec<String> = items.collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(s, "{title}:");
    for i in items {
        let _ = writeln!(s, "  - {i}");
    }
}

/// The Markdown report: headline, phases, critical path, bottlenecks, advice, gantt.
pub fn analysis_markdown(a: &Analysis) -> String {
    let mut s = String::new();
    let title = a.name.as_deref().unwrap_or("workflow");
    let _ = writeln!(s, "## {}\n", md_text(title));
    let _ = writeln!(s, "{}\n", headline(a));
    let _ = writeln!(
        s,
        "| phase | job | time | slack | critical |\n|---|---|---:|---:|:---:|"
    );
    for p in &a.phase_details {
        for j in a.jobs.iter().filter(|j| j.phase == p.number) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                md_text(&phase_line(p)),
                md_text(&j.name),
                dur(j.seconds),
                slack(j.slack_seconds),
                if j.critical { "●" } else { "" }
            );
        }
    }
    let _ = writeln!(
        s,
        "\n**Critical path** ({}): {}\n",
        dur(a.critical_path_seconds),
        a.critical_path
            .iter()
            .map(|j| format!("`{}`", j.replace('`', "'")))
            .collect::<Vec<_>>()
            .join(" → ")
    );
    for (title, items) in [
        (
            "Bottlenecks",
            a.bottlenecks
                .iter()
                .map(|b| format!("{} ({}): {}", b.job, dur(b.seconds), b.reason))
                .collect::<Vec<_>>(),
        ),
        (
            "Advice",
            a.advice.iter().map(|x| x.message.clone()).collect(),
        ),
        ("Notes", a.notes.clone()),
    ] {
        if !items.is_empty() {
            let _ = writeln!(s, "### {title}\n");
            for i in items {
                let _ = writeln!(s, "- {}", i.replace(['\n', '\r'], " "));
            }
            let _ = writeln!(s);
        }
    }
    let _ = writeln!(s, "### Predicted schedule\n\n```mermaid\n{}```", gantt(a));
    s
}

/// Words that start a line of a gantt: a task named so is read as that, and its bar is lost, so
/// a zero-width space is put in front.
const KEYWORDS: &[&str] = &[
    "section",
    "click",
    "title",
    "dateformat",
    "axisformat",
    "tickinterval",
    "excludes",
    "includes",
    "todaymarker",
    "weekday",
    "weekend",
    "inclusiveenddates",
    "topaxis",
    "acctitle",
    "accdescr",
    "displaymode",
    "call",
    "href",
];

/// A task name Mermaid's gantt grammar reads as plain text.
pub fn gantt_label(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| match c {
            ':' => '˸',
            ';' | '#' | '\n' | '\r' | '\t' => ' ',
            '<' => '‹',
            '>' => '›',
            // A `%` (as in `a%b` or `%% x`) can make mermaid drop the line as a comment.
            '%' => '％',
            c => c,
        })
        .collect::<String>();
    let trimmed = cleaned.trim();
    let first = trimmed
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    if trimmed.is_empty() {
        "(unnamed)".to_owned()
    } else if KEYWORDS.iter().any(|k| first.starts_with(k)) {
        format!("\u{200B}{trimmed}")
    } else {
        trimmed.to_owned()
    }
}

/// One bar of a Mermaid gantt: seconds (or milliseconds) from the start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub start: u64,
    pub end: u64,
    pub crit: bool,
}

/// A Mermaid gantt, one section each, times in seconds (`dateFormat X`) or milliseconds
/// (`dateFormat x`); labels cleaned for Mermaid, ids unique, every bar at least one unit long.
pub fn gantt_chart(sections: &[(String, Vec<Bar>)], millis: bool) -> String {
    let format = if millis { "x" } else { "X" };
    // Mermaid shows the offsets from 0 as clock times in the reader's own zone: 00:00:05 reads
    // 01:00:05 at UTC+1. Under an hour the axis shows minutes and seconds only, which read the
    // same in every zone a whole number of hours from UTC; longer charts keep the hours.
    let hour = if millis { 3_600_000 } else { 3_600 };
    let longest = sections
        .iter()
        .flat_map(|(_, bars)| bars.iter().map(|b| b.end))
        .max()
        .unwrap_or(0);
    let axis = if longest < hour { "%M:%S" } else { "%H:%M:%S" };
    let mut s = format!("gantt\n    dateFormat {format}\n    axisFormat {axis}\n");
    let mut id = 0usize;
    for (name, bars) in sections {
        let _ = writeln!(s, "    section {}", gantt_label(name));
        for b in bars {
            let end = b.end.max(b.start + 1);
            let _ = writeln!(
                s,
                "    {} :{}b{id}, {}, {end}",
                gantt_label(&b.label),
                if b.crit { "crit, " } else { "" },
                b.start
            );
            id += 1;
        }
    }
    s
}

/// A Mermaid gantt of the simulated schedule, one section per phase; seconds from the start.
pub fn gantt(a: &Analysis) -> String {
    let sections: Vec<(String, Vec<Bar>)> = a
        .phase_details
        .iter()
        .map(|p| {
            let bars = a
                .jobs
                .iter()
                .filter(|j| j.phase == p.number)
                .map(|j| Bar {
                    label: j.name.clone(),
                    start: j.start.floor() as u64,
                    end: j.finish.ceil() as u64,
                    crit: j.critical,
                })
                .collect();
            (format!("Phase {}", p.number), bars)
        })
        .collect();
    gantt_chart(&sections, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report's axis was clock times of offsets from 0, so a reader at UTC+1 saw 01:00:05.
    #[test]
    fn a_gantt_under_an_hour_shows_no_hours() {
        let bar = |end| Bar {
            label: "s".into(),
            start: 0,
            end,
            crit: false,
        };
        let short = gantt_chart(&[("a".into(), vec![bar(3_599_000)])], true);
        assert!(short.contains("axisFormat %M:%S\n"), "{short}");
        let long = gantt_chart(&[("a".into(), vec![bar(3_600)])], false);
        assert!(long.contains("axisFormat %H:%M:%S\n"), "{long}");
    }

    #[test]
    fn gantt_labels_cannot_break_the_grammar() {
        assert_eq!(gantt_label("test: unit; #1"), "test˸ unit   1");
        assert_eq!(gantt_label(" \n "), "(unnamed)");
    }
}
