//! Times on the job graph: earliest start and finish, slack, the critical path, phases, the
//! parallelism profile, and a list-scheduling simulation onto runner pools of limited capacity.

use crate::timings::Micros;

use super::graph::JobGraph;
use super::pools::Capacity;

/// The graph's times with unlimited runners (each job starts when what it needs is done).
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub earliest_start: Vec<Micros>,
    pub earliest_finish: Vec<Micros>,
    /// How long a job may slip without delaying the workflow.
    pub slack: Vec<Micros>,
    /// The instances on the longest path, in order.
    pub critical_path: Vec<usize>,
    pub critical_length: Micros,
    /// Σ durations: the runner time the workflow needs.
    pub work: Micros,
    /// (time, jobs running from then on), one step per change.
    pub profile: Vec<(Micros, usize)>,
}

impl Schedule {
    pub fn max_parallelism(&self) -> usize {
        self.profile.iter().map(|&(_, n)| n).max().unwrap_or(0)
    }
}

pub fn schedule(g: &JobGraph, durations: &[Micros]) -> Schedule {
    let n = g.instances.len();
    let mut es = vec![Micros::ms(0); n];
    let mut ef = vec![Micros::ms(0); n];
    for &i in &g.order {
        es[i] = g
            .predecessors(i)
            .into_iter()
            .map(|p| ef[p])
            .max()
            .unwrap_or(Micros::ms(0));
        ef[i] = Micros(es[i].0 + durations[i].0);
    }
    let length = ef.iter().copied().max().unwrap_or(Micros::ms(0));
    let mut lf = vec![length; n];
    for &i in g.order.iter().rev() {
        if let Some(m) = g
            .successors(i)
            .into_iter()
            .map(|s| lf[s].0 - durations[s].0)
            .min()
        {
            lf[i] = Micros(m);
        }
    }
    let slack: Vec<Micros> = (0..n).map(|i| Micros(lf[i].0 - ef[i].0)).collect();

    // Walk back from the last finisher; among ties prefer the longer chain, then file order, so
    // the path is the same on every machine and as long in jobs as the tie allows.
    let pick = |candidates: Vec<usize>| {
        candidates
            .into_iter()
            .max_by_key(|&i| (g.levels[i], std::cmp::Reverse(i)))
    };
    let mut path = Vec::new();
    let mut at = pick((0..n).filter(|&i| ef[i] == length).collect());
    while let Some(i) = at {
        path.push(i);
        at = pick(
            g.predecessors(i)
                .into_iter()
                .filter(|&p| ef[p] == es[i])
                .collect(),
        );
    }
    path.reverse();

    let mut events: Vec<(Micros, i64)> = (0..n)
        .filter(|&i| durations[i].0 > 0)
        .flat_map(|i| [(es[i], 1), (ef[i], -1)])
        .collect();
    events.sort();
    let mut profile: Vec<(Micros, usize)> = Vec::new();
    let mut running: i64 = 0;
    for (t, delta) in events {
        running += delta;
        let now = usize::try_from(running).unwrap_or(0);
        match profile.last_mut() {
            Some(last) if last.0 == t => last.1 = now,
            _ => profile.push((t, now)),
        }
    }

    Schedule {
        earliest_start: es,
        earliest_finish: ef,
        slack,
        critical_path: path,
        critical_length: length,
        work: Micros(durations.iter().map(|d| d.0).sum()),
        profile,
    }
}

/// Each job's remaining path: its own duration and the longest chain after it. The simulation's
/// priority: the job that holds up the most goes first.
pub fn tails(g: &JobGraph, durations: &[Micros]) -> Vec<Micros> {
    let mut tail = vec![Micros::ms(0); g.instances.len()];
    for &i in g.order.iter().rev() {
        let after = g
            .successors(i)
            .into_iter()
            .map(|s| tail[s].0)
            .max()
            .unwrap_or(0);
        tail[i] = Micros(durations[i].0 + after);
    }
    tail
}

/// Start and finish of each job when runners are limited: list scheduling, longest tail first.
pub fn simulate(g: &JobGraph, durations: &[Micros], capacity: &Capacity) -> Vec<(Micros, Micros)> {
    let n = g.instances.len();
    let tail = tails(g, durations);
    let pools: Vec<Option<String>> = g
        .instances
        .iter()
        .map(|i| capacity.pool_of(&i.runs_on))
        .collect();
    let mut waiting: Vec<usize> = (0..n).map(|i| g.predecessors(i).len()).collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut running: Vec<(Micros, usize)> = Vec::new();
    let mut times = vec![(Micros::ms(0), Micros::ms(0)); n];
    let mut now = Micros::ms(0);
    let mut done = 0;
    while done < n {
        ready.sort_by_key(|&i| (std::cmp::Reverse(tail[i]), i));
        let mut still = Vec::with_capacity(ready.len());
        for i in ready.drain(..) {
            let busy = |pool: &Option<String>| {
                running
                    .iter()
                    .filter(|&&(_, r)| pools[r].is_some() && (pool.is_none() || pools[r] == *pool))
                    .count()
            };
            // A matrix's `max-parallel`: no more of the job's instances at once.
            let job = g.instances[i].job;
            let within_matrix = g.instances[i].max_parallel.is_none_or(|k| {
                running
                    .iter()
                    .filter(|&&(_, r)| g.instances[r].job == job)
                    .count()
                    < k
            });
            let fits = within_matrix
                && match &pools[i] {
                    // Not a runner of ours (a reusable workflow's caller): never waits.
                    None => true,
                    pool => {
                        capacity.total.is_none_or(|t| busy(&None) < t)
                            && capacity
                                .limit(pool.as_deref())
                                .is_none_or(|l| busy(pool) < l)
                    }
                };
            if fits {
                times[i] = (now, Micros(now.0 + durations[i].0));
                running.push((times[i].1, i));
            } else {
                still.push(i);
            }
        }
        ready = still;
        let Some(next) = running.iter().map(|&(t, _)| t).min() else {
            // Nothing runs and nothing fits: a pool of capacity zero. Run the rest in turn.
            for i in ready.drain(..) {
                times[i] = (now, Micros(now.0 + durations[i].0));
                now = times[i].1;
            }
            break;
        };
        now = next;
        let (finished, rest): (Vec<_>, Vec<_>) = running.into_iter().partition(|&(t, _)| t == now);
        running = rest;
        for (_, f) in finished {
            done += 1;
            for s in g.successors(f) {
                waiting[s] -= 1;
                if waiting[s] == 0 {
                    ready.push(s);
                }
            }
        }
    }
    times
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::workflow::model::parse_workflow;

    /// A matrix with `max-parallel: 2` was simulated as if all six of its jobs ran at once.
    #[test]
    fn a_matrix_runs_no_more_than_its_max_parallel_at_once() {
        let text = |limit: &str| {
            format!(
                "jobs:\n  test:\n    runs-on: u\n    strategy:\n      {limit}matrix:\n        k: [1, 2, 3, 4, 5, 6]\n"
            )
        };
        let d = vec![Micros::ms(60_000); 6];
        let end = |t: &str| {
            simulate(&g(t), &d, &Capacity::unlimited())
                .iter()
                .map(|&(_, f)| f)
                .max()
                .unwrap_or_default()
        };
        assert_eq!(end(&text("")), Micros::ms(60_000));
        assert_eq!(end(&text("max-parallel: 2\n      ")), Micros::ms(180_000));
        // An expression is known only at run time: not counted.
        assert_eq!(
            end(&text("max-parallel: ${{ inputs.n }}\n      ")),
            Micros::ms(60_000)
        );
    }

    fn g(text: &str) -> JobGraph {
        JobGraph::build(&parse_workflow(text, Path::new("ci.yml")).unwrap()).unwrap()
    }

    const DIAMOND: &str = "jobs:
  lint: {runs-on: u}
  build: {runs-on: u, needs: lint}
  docs: {runs-on: u, needs: lint}
  test: {runs-on: u, needs: build}
  deploy: {runs-on: u, needs: [test, docs]}
";

    #[test]
    fn critical_path_slack_and_profile_by_hand() {
        // lint 1, build 5, docs 2, test 4, deploy 1 (minutes): the path lint→build→test→deploy
        // is 11; docs can slip 7 (it may finish as late as 10 and finishes at 3).
        let graph = g(DIAMOND);
        let d: Vec<Micros> = [1, 5, 2, 4, 1]
            .iter()
            .map(|m| Micros::ms(m * 60_000))
            .collect();
        let s = schedule(&graph, &d);
        assert_eq!(s.critical_path, [0, 1, 3, 4]);
        assert_eq!(s.critical_length, Micros::ms(11 * 60_000));
        assert_eq!(s.slack[2], Micros::ms(7 * 60_000));
        assert_eq!(s.slack[1], Micros::ms(0));
        assert_eq!(s.work, Micros::ms(13 * 60_000));
        assert_eq!(s.max_parallelism(), 2);
        assert_eq!(graph.levels, [0, 1, 1, 2, 3]);
    }

    #[test]
    fn one_runner_runs_everything_in_turn_longest_tail_first() {
        let graph = g(DIAMOND);
        let d: Vec<Micros> = [1, 5, 2, 4, 1]
            .iter()
            .map(|m| Micros::ms(m * 60_000))
            .collect();
        let one = Capacity {
            total: Some(1),
            labels: Vec::new(),
        };
        let t = simulate(&graph, &d, &one);
        let end = t.iter().map(|&(_, f)| f).max().unwrap();
        assert_eq!(
            end,
            Micros::ms(13 * 60_000),
            "one runner: the sum of the work"
        );
        assert!(t[1].0 < t[2].0, "build (tail 10) goes before docs (tail 3)");
        let many = simulate(&graph, &d, &Capacity::unlimited());
        assert_eq!(
            many.iter().map(|&(_, f)| f).max().unwrap(),
            Micros::ms(11 * 60_000),
            "unlimited runners: the critical path"
        );
    }
}
