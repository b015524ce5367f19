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

/// How many shard-cost samples a suite keeps.
pub const KEEP_SHARD_COSTS: usize = 200;

/// What one shard cost beyond the times its JUnit gives its tests, written
/// `[files, hidden_ms, seq]`: how many files its items came from, and its process's wall time (or
/// its reports' span) less the sum of its tests: start-up, imports and collection, fixtures
/// outside the tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardCost(pub u32, pub Micros, pub u64);

/// The hidden cost `plan` adds, fitted over a suite's recent shards: `per_shard + per_file × files`
/// by least squares, neither below zero.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HiddenCost {
    #[serde(rename = "per_shard_ms")]
    pub per_shard: Micros,
    #[serde(rename = "per_file_ms")]
    pub per_file: Micros,
    /// The shards and reports (observations) it was fitted on.
    pub shards: usize,
    pub runs: usize,
}

impl HiddenCost {
    /// The fit over `costs`, if there are any.
    pub fn fit(costs: &[ShardCost]) -> Option<Self> {
        if costs.is_empty() {
            return None;
        }
        let n = costs.len() as f64;
        let xs: Vec<f64> = costs.iter().map(|c| f64::from(c.0)).collect();
        let ys: Vec<f64> = costs.iter().map(|c| c.1.0 as f64).collect();
        let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
        let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
        let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        // With one file count only, a cost per file cannot be told from a cost per shard.
        let (mut a, mut b) = if sxx > 0.0 {
            let b = sxy / sxx;
            (my - b * mx, b)
        } else {
            (my, 0.0)
        };
        if b < 0.0 {
            (a, b) = (my, 0.0);
        }
        if a < 0.0 {
            // Through the origin: all of it per file.
            let sx2: f64 = xs.iter().map(|x| x * x).sum();
            let sxy0: f64 = xs.iter().zip(&ys).map(|(x, y)| x * y).sum();
            (a, b) = (0.0, if sx2 > 0.0 { sxy0 / sx2 } else { 0.0 });
        }
        let mut runs: Vec<u64> = costs.iter().map(|c| c.2).collect();
        runs.sort_unstable();
        runs.dedup();
        Some(HiddenCost {
            per_shard: Micros(a.max(0.0).round() as u64),
            per_file: Micros(b.max(0.0).round() as u64),
            shards: costs.len(),
            runs: runs.len(),
        })
    }

    /// A shard's hidden cost for the files it touches.
    pub fn of_shard(&self, files: usize) -> Micros {
        self.per_shard + Micros(self.per_file.0.saturating_mul(files as u64))
    }

    pub fn describe(&self) -> String {
        format!(
            "{} per shard + {} per file, learned from {} shard{} of {} run{}",
            self.per_shard,
            self.per_file,
            self.shards,
            if self.shards == 1 { "" } else { "s" },
            self.runs,
            if self.runs == 1 { "" } else { "s" }
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

    #[test]
    fn hidden_cost_splits_into_per_shard_and_per_file() {
        let c = |files, ms, run| ShardCost(files, Micros::ms(ms), run);
        // 2 s a shard and 0.5 s a file, exactly.
        let fit = HiddenCost::fit(&[c(1, 2_500, 0), c(4, 4_000, 0), c(8, 6_000, 1)]).unwrap();
        assert_eq!(
            (fit.per_shard, fit.per_file, fit.shards, fit.runs),
            (Micros::ms(2_000), Micros::ms(500), 3, 2)
        );
        assert_eq!(fit.of_shard(10), Micros::ms(7_000));
        // One file count: all per shard, the mean.
        let same = HiddenCost::fit(&[c(3, 1_000, 0), c(3, 3_000, 0)]).unwrap();
        assert_eq!(
            (same.per_shard, same.per_file),
            (Micros::ms(2_000), Micros::ZERO)
        );
        // More files costing less is noise, not a saving: no per-file part.
        let down = HiddenCost::fit(&[c(1, 3_000, 0), c(5, 1_000, 0)]).unwrap();
        assert_eq!(
            (down.per_shard, down.per_file),
            (Micros::ms(2_000), Micros::ZERO)
        );
        // A negative intercept: through the origin instead.
        let steep = HiddenCost::fit(&[c(1, 100, 0), c(2, 2_100, 0)]).unwrap();
        assert_eq!(steep.per_shard, Micros::ZERO);
        assert_eq!(HiddenCost::fit(&[]), None);
    }
}
