//! The run's jobs from the API, matched to the plan's shards by name: each shard's job gives its
//! queue (created → started), its timeline (started → completed) and so its start-up overhead
//! (the job's time less the tests' busy time), its conclusion and its page.
//!
//! A shard job is found by the name GitHub shows for it, under any `caller / ` prefix a reusable
//! workflow adds: the rendered workflow's `{suite} {shard}/{total}`, names from `--job-name`
//! templates, or GitHub's own name for an unnamed matrix job, `job (suite, shard, total, …)`.

use std::collections::BTreeMap;

use super::run::SuiteRun;
use super::shard_job::{RunJob, ShardJob};

/// The name the rendered workflow gives a shard job.
pub const DEFAULT_JOB_NAME: &str = "{suite} {shard}/{total}";

/// Which shard (suite index, shard index) a job name stands for.
struct Names {
    /// Rendered templates → (suite, shard), both 0-based.
    named: BTreeMap<String, (usize, usize)>,
    /// `suite, shard, total` → (suite, shard): the leading matrix values of an unnamed job.
    matrix: BTreeMap<String, (usize, usize)>,
}

/// Checks a `--job-name` template: it must say which shard.
pub fn check_template(t: &str) -> Result<(), String> {
    if t.contains("{shard}") {
        Ok(())
    } else {
        Err(format!(
            "--job-name `{t}`: expected a name with {{shard}} in it (and {{suite}}, {{total}} as the job's name holds them), such as `{DEFAULT_JOB_NAME}`"
        ))
    }
}

impl Names {
    /// For each suite, its name and shard count; shards are numbered from 1.
    fn new(suites: &[(&str, usize)], templates: &[String]) -> Self {
        let mut named = BTreeMap::new();
        let mut matrix = BTreeMap::new();
        for (si, &(suite, total)) in suites.iter().enumerate() {
            for k in 0..total {
                let index = (k + 1).to_string();
                let total = total.to_string();
                for t in templates {
                    let name = t
                        .replace("{suite}", suite)
                        .replace("{shard}", &index)
                        .replace("{total}", &total);
                    named.entry(name).or_insert((si, k));
                }
                matrix
                    .entry(format!("{suite}, {index}, {total}"))
                    .or_insert((si, k));
            }
        }
        Names { named, matrix }
    }

    /// GitHub's name for an unnamed matrix job: `job-id (v1, v2, …)`, the plan's matrix leading
    /// with suite, shard and total.
    fn matrix_shard(&self, name: &str) -> Option<(usize, usize)> {
        let (id, rest) = name.split_once(" (")?;
        if id.is_empty()
            || !id
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return None;
        }
        let values = rest.strip_suffix(')')?;
        if let Some(&hit) = self.matrix.get(values) {
            return Some(hit);
        }
        values
            .match_indices(", ")
            .find_map(|(at, _)| self.matrix.get(&values[..at]).copied())
    }

    /// The shard a job's name stands for, under any `caller / ` prefixes.
    fn shard(&self, name: &str) -> Option<(usize, usize)> {
        let mut candidates = vec![name];
        candidates.extend(name.match_indices(" / ").map(|(at, _)| &name[at + 3..]));
        candidates
            .into_iter()
            .find_map(|c| self.named.get(c).copied().or_else(|| self.matrix_shard(c)))
    }
}

/// What matching found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobsMatched {
    pub jobs: usize,
    /// Jobs matched to a shard.
    pub matched: usize,
    /// Shards whose job's times fill in their overhead and timeline.
    pub timed: usize,
}

/// Attaches each shard's job: a shard with a report takes its timeline from the job (started →
/// completed) and its start-up overhead as the job's time less its busy time; every shard keeps
/// its job's conclusion and page. Of two jobs for one shard (re-runs), the later one counts.
pub fn attach_jobs(runs: &mut [SuiteRun], jobs: &[RunJob], templates: &[String]) -> JobsMatched {
    let suites: Vec<(&str, usize)> = runs
        .iter()
        .map(|r| (r.plan.name.as_str(), r.shards.len()))
        .collect();
    let names = Names::new(&suites, templates);
    let mut out = JobsMatched {
        jobs: jobs.len(),
        ..JobsMatched::default()
    };
    let mut chosen: BTreeMap<(usize, usize), &RunJob> = BTreeMap::new();
    for job in jobs {
        let Some(at) = names.shard(&job.name) else {
            continue;
        };
        out.matched += 1;
        let later =
            |old: &RunJob| (job.attempt, job.started, job.id) > (old.attempt, old.started, old.id);
        if chosen.get(&at).is_none_or(|old| later(old)) {
            chosen.insert(at, job);
        }
    }
    for ((si, k), job) in chosen {
        let shard = &mut runs[si].shards[k];
        let sj = ShardJob::of(job);
        if shard.reported
            && let (Some(d), "completed") = (sj.duration(), sj.status.as_str())
        {
            shard.overhead = Some(d.saturating_sub(shard.busy()));
            shard.queue = sj.queue;
            shard.start = sj.started;
            shard.end = sj.completed;
            out.timed += 1;
        }
        shard.job = Some(sj);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        let templates = [
            DEFAULT_JOB_NAME.to_owned(),
            "Tests ({shard} of {total})".to_owned(),
        ];
        Names::new(&[("unit / fast", 2), ("e2e (chrome)", 3)], &templates)
    }

    #[test]
    fn shard_jobs_are_found_by_every_name_github_gives_them() {
        let n = names();
        assert_eq!(n.shard("unit / fast 2/2"), Some((0, 1)));
        assert_eq!(n.shard("e2e (chrome) 3/3"), Some((1, 2)));
        // Under one or two reusable-workflow callers.
        assert_eq!(n.shard("ci / e2e (chrome) 1/3"), Some((1, 0)));
        assert_eq!(n.shard("nightly / ci / unit / fast 1/2"), Some((0, 0)));
        // An unnamed matrix job, with and without more matrix values after the plan's.
        assert_eq!(n.shard("suite_2 (e2e (chrome), 2, 3)"), Some((1, 1)));
        assert_eq!(
            n.shard("shards (unit / fast, 1, 2, ubuntu-latest)"),
            Some((0, 0))
        );
        // A --job-name template.
        assert_eq!(n.shard("Tests (2 of 3)"), Some((1, 1)));
        // Not shards: another total, another suite, a job id with a space, the plan job.
        for name in [
            "unit / fast 2/3",
            "lint 1/2",
            "e2e (chrome) 4/3",
            "my job (unit / fast, 1, 2)",
            "suite_1 (unit / fast, 1, 22)",
            "plan",
        ] {
            assert_eq!(n.shard(name), None, "{name}");
        }
    }

    #[test]
    fn a_template_must_say_which_shard() {
        assert!(check_template("Tests {shard}").is_ok());
        let e = check_template("Tests {total}").expect_err("no {shard}");
        assert!(e.contains("expected a name with {shard}"), "{e}");
    }
}
