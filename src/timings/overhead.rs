//! Start-up overhead: what a job pays before (and after) its real work. Waiting for a runner,
//! "Set up job", checkout, toolchains, caches, post steps. `plan` charges it once per shard, so a
//! measured value beats a guess: it decides how many shards are worth their runners.

use serde::{Deserialize, Serialize};

use super::Micros;
use super::micros::median;

/// How many start-up samples a runner class keeps.
pub const KEEP_STARTUPS: usize = 100;

/// One job's start-up, written `[queue_ms, setup_ms, seq]`: the wait for a runner, and the time on
/// the runner spent outside the work (set-up and clean-up steps, the gaps between steps).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartUp(pub Micros, pub Micros, pub u64);

impl StartUp {
    pub fn queue(self) -> Micros {
        self.0
    }
    pub fn setup(self) -> Micros {
        self.1
    }
    pub fn observation(self) -> u64 {
        self.2
    }
}

/// The overhead `plan` uses: medians over the recent jobs of a runner class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasuredOverhead {
    /// Median of queue + set-up per job: the per-shard overhead.
    pub total: Micros,
    pub queue: Micros,
    pub setup: Micros,
    pub jobs: usize,
    /// The runner class it was measured on; `None` when pooled over every class.
    pub class: Option<String>,
}

impl MeasuredOverhead {
    /// The medians of `startups`, if there are any.
    pub fn of(startups: &[StartUp], class: Option<String>) -> Option<Self> {
        Some(MeasuredOverhead {
            total: median(startups.iter().map(|s| s.queue() + s.setup()).collect())?,
            queue: median(startups.iter().map(|s| s.queue()).collect())?,
            setup: median(startups.iter().map(|s| s.setup()).collect())?,
            jobs: startups.len(),
            class,
        })
    }

    /// One line for the preview and the plan: where the number came from.
    pub fn describe(&self) -> String {
        let on = match &self.class {
            Some(c) => format!("on `{c}`"),
            None => "on every runner class".to_owned(),
        };
        format!(
            "median of {} job{} {on}: queue {}, set-up {}",
            self.jobs,
            if self.jobs == 1 { "" } else { "s" },
            self.queue,
            self.setup
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_queue_setup_and_their_sum() {
        let s = |q, u| StartUp(Micros::ms(q), Micros::ms(u), 0);
        let m = MeasuredOverhead::of(
            &[s(1_000, 40_000), s(30_000, 30_000), s(5_000, 50_000)],
            None,
        )
        .unwrap();
        assert_eq!(m.queue, Micros::ms(5_000));
        assert_eq!(m.setup, Micros::ms(40_000));
        // Sums 41 s, 60 s, 55 s: the median job, not the sum of medians.
        assert_eq!(m.total, Micros::ms(55_000));
        assert_eq!(m.jobs, 3);
        assert_eq!(MeasuredOverhead::of(&[], None), None);
    }
}
