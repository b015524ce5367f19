//! A job of the run as the report reads it, and what a shard keeps of its own job.

use chrono::{DateTime, Utc};

use crate::timings::Micros;

/// A job of the run, as the report reads it: what `cli` makes of the API's job records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunJob {
    pub id: u64,
    pub attempt: Option<u32>,
    /// The name GitHub shows.
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub url: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub started: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
}

/// A shard's job as the API tells it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ShardJob {
    pub status: String,
    pub conclusion: Option<String>,
    pub url: Option<String>,
    pub queue: Option<Micros>,
    pub started: Option<DateTime<Utc>>,
    pub completed: Option<DateTime<Utc>>,
}

impl ShardJob {
    pub(super) fn of(job: &RunJob) -> Self {
        ShardJob {
            status: job.status.clone(),
            conclusion: job.conclusion.clone(),
            url: job.url.clone(),
            queue: Micros::between(job.created, job.started),
            started: job.started,
            completed: job.completed,
        }
    }

    /// Started → completed, when both are known and in order.
    pub fn duration(&self) -> Option<Micros> {
        Micros::between(self.started, self.completed)
    }

    /// What became of it, in a word: its conclusion, else its status.
    pub fn outcome(&self) -> &str {
        self.conclusion.as_deref().unwrap_or(&self.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_knows_its_queue_duration_and_outcome() {
        let t = |s: &str| Some(s.parse::<DateTime<Utc>>().expect("a time"));
        let job = RunJob {
            name: "unit / fast 1/2".into(),
            status: "completed".into(),
            conclusion: Some("failure".into()),
            created: t("2026-11-24T10:00:00Z"),
            started: t("2026-11-24T10:00:12Z"),
            completed: t("2026-11-24T10:03:00Z"),
            ..RunJob::default()
        };
        let sj = ShardJob::of(&job);
        assert_eq!(sj.queue, Some(Micros::ms(12_000)));
        assert_eq!(sj.duration(), Some(Micros::ms(168_000)));
        assert_eq!(sj.outcome(), "failure");
        let waiting = ShardJob::of(&RunJob {
            status: "queued".into(),
            started: None,
            completed: None,
            conclusion: None,
            ..job
        });
        assert_eq!((waiting.queue, waiting.duration()), (None, None));
        assert_eq!(waiting.outcome(), "queued");
    }
}
