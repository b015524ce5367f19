use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use proptest::prelude::*;

use super::*;
use crate::plan::band::SplitMix;

/// A reference store in memory, as atomic as the real one.
#[derive(Default)]
struct Server {
    refs: BTreeSet<String>,
}

/// What a shard's transport does wrong, from one random stream.
struct Faults {
    rng: SplitMix,
    /// Per request: the transport fails before the server acts, or after (the answer is lost).
    lose: f64,
    /// Per request: the shard's process dies (before the server acts, or after).
    die: f64,
}

impl Faults {
    fn roll(&mut self) -> f64 {
        self.rng.unit()
    }
}

/// One shard's view of the server through a flaky transport that retries three times, as the
/// GitHub client does.
struct Handle {
    server: Rc<RefCell<Server>>,
    faults: Faults,
    dead: bool,
}

impl Handle {
    fn die_here(&mut self) -> bool {
        if self.faults.roll() < self.faults.die {
            self.dead = true;
        }
        self.dead
    }
}

impl Refs for Handle {
    fn create(&mut self, name: &str) -> Result<Created, RefError> {
        // Whether a try failed: the transport cannot tell if the server had acted on it.
        let mut retried = false;
        for _ in 0..3 {
            if self.die_here() {
                return Err(RefError("dead".into()));
            }
            if self.faults.roll() < self.faults.lose {
                retried = true;
                continue;
            }
            let new = self.server.borrow_mut().refs.insert(name.to_owned());
            if self.die_here() {
                return Err(RefError("dead".into()));
            }
            if self.faults.roll() < self.faults.lose {
                retried = true;
                continue;
            }
            return Ok(match (new, retried) {
                (true, _) => Created::New,
                (false, true) => Created::Ambiguous,
                (false, false) => Created::Exists,
            });
        }
        Err(RefError("502 three times".into()))
    }

    fn list(&mut self, prefix: &str) -> Result<Vec<String>, RefError> {
        if self.die_here() {
            return Err(RefError("dead".into()));
        }
        Ok(self
            .server
            .borrow()
            .refs
            .iter()
            .filter(|r| r.starts_with(prefix))
            .cloned()
            .collect())
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Starting,
    Claiming,
    Running(usize),
    Passed,
    Failed,
}

struct Shard {
    handle: Handle,
    claimer: Option<Claimer>,
    phase: Phase,
}

/// Who ran what: (chunk, shard, attempt, finished).
type Runs = Vec<(usize, u32, u32, bool)>;

/// One run of `n` shards over `chunks` chunks, re-run until every shard passed (the last
/// attempt with no faults, as a user's last re-run that goes through).
fn simulate(seed: u64, n: u32, chunks: usize, lose: f64, die: f64) -> (Runs, Vec<u32>, Server) {
    let server = Rc::new(RefCell::new(Server::default()));
    let prefix = claims_prefix(42, "unit tests");
    let mut sched = Faults {
        rng: SplitMix(seed),
        lose: 0.0,
        die: 0.0,
    };
    let mut runs: Runs = Vec::new();
    let mut to_run: Vec<u32> = (0..n).collect();
    let mut passed_in = vec![0u32; n as usize];
    let mut attempt = 0;
    while !to_run.is_empty() {
        attempt += 1;
        let last = attempt == 8;
        let mut shards: Vec<(u32, Shard)> = to_run
            .iter()
            .map(|&k| {
                let faults = Faults {
                    rng: SplitMix(seed ^ (u64::from(k) << 32) ^ u64::from(attempt)),
                    lose: if last { 0.0 } else { lose },
                    die: if last { 0.0 } else { die },
                };
                let handle = Handle {
                    server: server.clone(),
                    faults,
                    dead: false,
                };
                (
                    k,
                    Shard {
                        handle,
                        claimer: None,
                        phase: Phase::Starting,
                    },
                )
            })
            .collect();
        loop {
            let active: Vec<usize> = (0..shards.len())
                .filter(|&i| !matches!(shards[i].1.phase, Phase::Passed | Phase::Failed))
                .collect();
            if active.is_empty() {
                break;
            }
            let i = active[(sched.roll() * active.len() as f64) as usize % active.len()];
            let (k, s) = &mut shards[i];
            s.phase = match s.phase {
                Phase::Starting => {
                    match Claimer::start(&mut s.handle, &prefix, *k, attempt, chunks) {
                        Ok(c) => {
                            s.claimer = Some(c);
                            Phase::Claiming
                        }
                        Err(_) => Phase::Failed,
                    }
                }
                Phase::Claiming => {
                    let c = s.claimer.as_mut().expect("started");
                    match c.next(&mut s.handle) {
                        Ok(Some(chunk)) => {
                            runs.push((chunk, *k, attempt, false));
                            Phase::Running(chunk)
                        }
                        Ok(None) if c.lost().is_empty() => Phase::Passed,
                        Ok(None) | Err(_) => Phase::Failed,
                    }
                }
                Phase::Running(chunk) => {
                    if s.handle.die_here() {
                        Phase::Failed
                    } else {
                        let r = runs
                            .iter_mut()
                            .rev()
                            .find(|r| r.0 == chunk && r.1 == *k && r.2 == attempt)
                            .expect("started");
                        r.3 = true;
                        Phase::Claiming
                    }
                }
                done => done,
            };
        }
        to_run = shards
            .iter()
            .filter(|(_, s)| s.phase == Phase::Failed)
            .map(|(k, _)| *k)
            .collect();
        for (k, s) in &shards {
            if s.phase == Phase::Passed {
                passed_in[*k as usize] = attempt;
            }
        }
    }
    let server = Rc::try_unwrap(server).ok().expect("one owner").into_inner();
    (runs, passed_in, server)
}

fn check(runs: &Runs, passed_in: &[u32], server: &Server, chunks: usize) {
    let prefix = claims_prefix(42, "unit tests");
    // No chunk runs in two shards.
    let mut by: BTreeMap<usize, BTreeSet<u32>> = BTreeMap::new();
    for &(c, k, _, _) in runs {
        by.entry(c).or_default().insert(k);
    }
    for (c, ks) in &by {
        assert_eq!(ks.len(), 1, "chunk {c} ran in shards {ks:?}");
    }
    // Exact cover: every chunk finished in its shard's passing attempt.
    for c in 0..chunks {
        let k = *by
            .get(&c)
            .and_then(|ks| ks.iter().next())
            .unwrap_or_else(|| panic!("chunk {c} never ran"));
        let final_attempt = passed_in[k as usize];
        assert!(
            runs.iter()
                .any(|&(rc, rk, ra, done)| (rc, rk, ra, done) == (c, k, final_attempt, true)),
            "chunk {c} of shard {k} not finished in its passing attempt {final_attempt}: {runs:?}"
        );
    }
    // A shard's passing attempt runs every chunk it had started in an earlier one.
    for &(c, k, a, _) in runs {
        let last = passed_in[k as usize];
        assert!(
            a == last || runs.iter().any(|r| (r.0, r.1, r.2) == (c, k, last)),
            "shard {k} passed in attempt {last} without chunk {c} it had run in attempt {a}"
        );
    }
    // A chunk ran only where its owner was written, and the references agree with what ran.
    let ledger = Ledger::read(&prefix, server.refs.iter().map(String::as_str));
    assert!(ledger.conflicts().is_empty());
    assert!(ledger.unclaimed(chunks).is_empty());
    for (c, ks) in &by {
        assert_eq!(ledger.owner(*c), ks.iter().next().copied());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn every_chunk_runs_in_one_shard_whatever_dies_or_is_lost(
        seed in any::<u64>(),
        n in 1u32..9,
        chunks in 0usize..40,
        lose in prop::sample::select(vec![0.0, 0.05, 0.3]),
        die in prop::sample::select(vec![0.0, 0.02, 0.1]),
    ) {
        let (runs, passed_in, server) = simulate(seed, n, chunks, lose, die);
        check(&runs, &passed_in, &server, chunks);
    }
}

#[test]
fn the_simulation_meets_every_fault_it_is_meant_to() {
    // Over many seeds: deaths mid-chunk, lost answers on locks (Ambiguous), re-runs that take
    // over orphaned locks. A check that never meets them proves nothing.
    let (mut reruns, mut unfinished, mut orphans) = (0, 0, 0);
    for seed in 0..200 {
        let (runs, passed_in, server) = simulate(seed, 6, 30, 0.3, 0.1);
        reruns += passed_in.iter().filter(|&&a| a > 1).count();
        unfinished += runs.iter().filter(|r| !r.3).count();
        let prefix = claims_prefix(42, "unit tests");
        let ledger = Ledger::read(&prefix, server.refs.iter().map(String::as_str));
        orphans += ledger
            .locks
            .iter()
            .filter(|(c, attempts)| {
                attempts.iter().any(|a| {
                    !ledger
                        .owners
                        .get(c)
                        .is_some_and(|o| o.iter().any(|&(_, oa)| oa == *a))
                })
            })
            .count();
    }
    assert!(
        reruns > 100 && unfinished > 100 && orphans > 100,
        "{reruns} {unfinished} {orphans}"
    );
}

#[test]
fn a_passed_shard_is_left_alone_and_a_rerun_takes_its_own_chunks_first() {
    let server = Rc::new(RefCell::new(Server::default()));
    let prefix = claims_prefix(7, "s");
    let handle = |rng| Handle {
        server: server.clone(),
        faults: Faults {
            rng: SplitMix(rng),
            lose: 0.0,
            die: 0.0,
        },
        dead: false,
    };
    let (mut h0, mut h1) = (handle(1), handle(2));
    let mut a = Claimer::start(&mut h0, &prefix, 0, 1, 4).expect("start");
    let mut b = Claimer::start(&mut h1, &prefix, 1, 1, 4).expect("start");
    assert_eq!(a.next(&mut h0), Ok(Some(0)));
    assert_eq!(b.next(&mut h1), Ok(Some(1)));
    assert_eq!(a.next(&mut h0), Ok(Some(2)));
    // Shard 1 dies on chunk 1; shard 0 ends with 3 as well.
    assert_eq!(a.next(&mut h0), Ok(Some(3)));
    assert_eq!(a.next(&mut h0), Ok(None));
    // Attempt 2 re-runs shard 1 alone: chunk 1 again, nothing of shard 0's.
    let mut h1 = handle(3);
    let mut b2 = Claimer::start(&mut h1, &prefix, 1, 2, 4).expect("start");
    assert_eq!(b2.next(&mut h1), Ok(Some(1)));
    assert_eq!(b2.next(&mut h1), Ok(None));
    // One listing, two creates for each chunk taken and one for the chunk shard 1 had.
    assert_eq!(a.calls, 1 + 3 * 2 + 1);
    // A script asking for a chunk at a time (a process a call) is handed the same, once.
    let mut h1 = handle(4);
    let mut again = Claimer::start(&mut h1, &prefix, 1, 2, 4).expect("start");
    assert_eq!(again.next(&mut h1), Ok(None));
}
