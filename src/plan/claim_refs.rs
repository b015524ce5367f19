//! Claiming chunks of the tail through references that only one writer can create: the protocol,
//! apart from any transport. (The GitHub REST API's git references answer a second creation of a
//! name with 422; that is the one atomic step the protocol needs.)
//!
//! Under a run's prefix there are two kinds of reference:
//!
//! - `c{chunk}/a{attempt}`, the lock: whoever creates it in an attempt may take the chunk;
//! - `o{chunk}/s{shard}/a{attempt}`, the owner: written by the lock's winner (or by a re-run of
//!   the owner) before it runs any of the chunk's items.
//!
//! So an item has run only where an owner is written. A lock without an owner is a shard that
//! died, or lost the answer, between the two: nothing of the chunk ran, and a later attempt may
//! take it. A chunk owned in an earlier attempt belongs to that shard for good: its re-run runs it
//! again, and no one else does, so a shard that passed never sees its work run twice. Attempts of
//! a run never overlap (a run is re-run only when it has ended), which is what lets a later
//! attempt take the locks an earlier one left without owners.
//!
//! Every state lives in the references, none in the claiming process, so a script that asks for
//! one chunk at a time (a process per chunk) is as safe as a shard that claims in a loop.

use std::collections::{BTreeMap, BTreeSet};

/// Whether a reference was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Created {
    New,
    /// It was there already.
    Exists,
    /// It is there, and an earlier try whose answer was lost may have been what created it.
    Ambiguous,
}

/// A transport that failed after its retries, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefError(pub String);

impl std::fmt::Display for RefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The two operations the protocol needs of a reference store.
pub trait Refs {
    /// Creates `name` (a full name, `refs/…`).
    fn create(&mut self, name: &str) -> Result<Created, RefError>;
    /// The full names of every reference under `prefix`.
    fn list(&mut self, prefix: &str) -> Result<Vec<String>, RefError>;
}

/// Where one suite's claims of one run live: `refs/planner/{run}/{suite}/`, the suite's name
/// kept to letters, digits, `-`, `_` and `.` (a reference's name allows little else).
pub fn claims_prefix(run_id: u64, suite: &str) -> String {
    let safe: String = suite
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{CLAIMS_ROOT}{run_id}/{safe}/")
}

/// Where every run's claims live.
pub const CLAIMS_ROOT: &str = "refs/planner/";

/// The names under `CLAIMS_ROOT`, by the run they belong to; names of other shapes are left out.
pub fn claims_by_run<'a>(names: impl IntoIterator<Item = &'a str>) -> BTreeMap<u64, Vec<String>> {
    let mut runs: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for name in names {
        let run = name
            .strip_prefix(CLAIMS_ROOT)
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(run, _)| run.parse::<u64>().ok());
        if let Some(run) = run {
            runs.entry(run).or_default().push(name.to_owned());
        }
    }
    runs
}

fn lock_name(prefix: &str, chunk: usize, attempt: u32) -> String {
    format!("{prefix}c{chunk}/a{attempt}")
}

fn owner_name(prefix: &str, chunk: usize, shard: u32, attempt: u32) -> String {
    format!("{prefix}o{chunk}/s{shard}/a{attempt}")
}

/// What the references say of a run's chunks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Per chunk, every (shard, attempt) that wrote itself its owner.
    pub owners: BTreeMap<usize, BTreeSet<(u32, u32)>>,
    /// Per chunk, the attempts that locked it.
    pub locks: BTreeMap<usize, BTreeSet<u32>>,
}

impl Ledger {
    /// Reads the names under `prefix`; names of other shapes are ignored.
    pub fn read<'a>(prefix: &str, names: impl IntoIterator<Item = &'a str>) -> Ledger {
        let mut ledger = Ledger::default();
        for name in names {
            let Some(rest) = name.strip_prefix(prefix) else {
                continue;
            };
            let parts: Vec<&str> = rest.split('/').collect();
            let num = |s: &str, tag: char| s.strip_prefix(tag).and_then(|v| v.parse::<u64>().ok());
            match parts.as_slice() {
                [c, a] => {
                    if let (Some(c), Some(a)) = (num(c, 'c'), num(a, 'a')) {
                        ledger.locks.entry(c as usize).or_default().insert(a as u32);
                    }
                }
                [o, s, a] => {
                    if let (Some(c), Some(s), Some(a)) = (num(o, 'o'), num(s, 's'), num(a, 'a')) {
                        ledger
                            .owners
                            .entry(c as usize)
                            .or_default()
                            .insert((s as u32, a as u32));
                    }
                }
                _ => {}
            }
        }
        ledger
    }

    /// The shard that owns `chunk`, if one does.
    pub fn owner(&self, chunk: usize) -> Option<u32> {
        self.owners.get(&chunk)?.iter().next().map(|&(s, _)| s)
    }

    /// Chunks of the `chunks` that no shard owns: their items never ran.
    pub fn unclaimed(&self, chunks: usize) -> Vec<usize> {
        (0..chunks).filter(|c| self.owner(*c).is_none()).collect()
    }

    /// Chunks written as owned by two shards: the protocol was broken (never by this code).
    pub fn conflicts(&self) -> Vec<usize> {
        self.owners
            .iter()
            .filter(|(_, o)| o.iter().map(|&(s, _)| s).collect::<BTreeSet<_>>().len() > 1)
            .map(|(&c, _)| c)
            .collect()
    }
}

/// Why a shard stopped claiming.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimError {
    /// The store did not answer, after its retries. Nothing unclaimed was handed out.
    Store(RefError),
}

impl std::fmt::Display for ClaimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClaimError::Store(e) => write!(f, "claiming stopped: {e}"),
        }
    }
}

/// One shard's claims in one attempt.
#[derive(Clone, Debug)]
pub struct Claimer {
    prefix: String,
    shard: u32,
    attempt: u32,
    chunks: usize,
    /// Chunks this shard owned in an earlier attempt and has not been handed in this one.
    rerun: Vec<usize>,
    /// Chunks someone owns (this shard's re-runs aside): never tried.
    taken: Vec<bool>,
    cursor: usize,
    lost: Vec<usize>,
    /// Requests made, the listing included.
    pub calls: usize,
}

impl Claimer {
    /// Reads the run's references once and starts shard `shard`'s claims in `attempt` (1 for a
    /// run's first) over `chunks` chunks.
    pub fn start(
        refs: &mut impl Refs,
        prefix: &str,
        shard: u32,
        attempt: u32,
        chunks: usize,
    ) -> Result<Claimer, ClaimError> {
        let names = refs.list(prefix).map_err(ClaimError::Store)?;
        let ledger = Ledger::read(prefix, names.iter().map(String::as_str));
        let mut rerun = Vec::new();
        let mut taken = vec![false; chunks];
        for (&c, owners) in ledger.owners.range(..chunks) {
            let mine_before = owners.iter().any(|&(s, a)| s == shard && a < attempt);
            let mine_now = owners.contains(&(shard, attempt));
            if mine_before && !mine_now {
                rerun.push(c);
            }
            taken[c] = true;
        }
        Ok(Claimer {
            prefix: prefix.to_owned(),
            shard,
            attempt,
            chunks,
            rerun,
            taken,
            cursor: 0,
            lost: Vec::new(),
            calls: 1,
        })
    }

    /// The next chunk this shard runs: first what it owned in an earlier attempt, then the first
    /// chunk no one has, in the plan's order. `None` when none is left. Its owner is written
    /// before it is handed out.
    pub fn next(&mut self, refs: &mut impl Refs) -> Result<Option<usize>, ClaimError> {
        if let Some(&c) = self.rerun.first() {
            self.own(refs, c)?;
            self.rerun.remove(0);
            return Ok(Some(c));
        }
        while self.cursor < self.chunks {
            let c = self.cursor;
            self.cursor += 1;
            if self.taken[c] {
                continue;
            }
            self.calls += 1;
            let lock = lock_name(&self.prefix, c, self.attempt);
            match refs.create(&lock).map_err(ClaimError::Store)? {
                Created::New => {
                    self.own(refs, c)?;
                    return Ok(Some(c));
                }
                Created::Exists => {}
                // Ours, or another's: an owner written by another shard says whose (only the
                // lock's winner writes one). Without it no one can tell: nothing of the chunk
                // runs in this attempt, the shard says so and fails, and its re-run takes the
                // chunk (a lock with no owner is free to a later attempt).
                Created::Ambiguous => {
                    self.calls += 1;
                    let names = refs.list(&self.prefix).map_err(ClaimError::Store)?;
                    let ledger = Ledger::read(&self.prefix, names.iter().map(String::as_str));
                    if ledger.owner(c).is_none_or(|s| s == self.shard) {
                        self.lost.push(c);
                    }
                }
            }
        }
        Ok(None)
    }

    fn own(&mut self, refs: &mut impl Refs, chunk: usize) -> Result<(), ClaimError> {
        self.calls += 1;
        // The owner's name is this shard's alone: Exists and Ambiguous both mean it is written.
        refs.create(&owner_name(&self.prefix, chunk, self.shard, self.attempt))
            .map_err(ClaimError::Store)?;
        Ok(())
    }

    /// Chunks whose lock this shard may hold without knowing it: the shard must fail so that
    /// its re-run takes them.
    pub fn lost(&self) -> &[usize] {
        &self.lost
    }
}

#[cfg(test)]
mod tests;
