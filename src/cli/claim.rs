//! `planner shard --claim`: the shard's static head, then chunks of the suite's shared tail
//! claimed through git references of the repository (`plan::claim_refs` is the protocol). The
//! heads and the tail are computed from the pinned plan by the same function on every runner.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

use super::Error;
use super::Reporter;
use super::api::{required_repo, runtime, settings};
use super::args::{ApiArgs, ReportArgs, ShardArgs};
use super::settings::SettingError;
use super::shard::{
    Part, exec_part, index_of, planned_suite, spec_of, tests_outcome, write_lines,
    write_process_timing,
};
use crate::github::api::{
    Client, RefCreated, create_ref, delete_ref, fetch::encode, matching_refs, run_record,
};
use crate::plan::{
    Assignment, CLAIMS_ROOT, ClaimPlan, ClaimShape, Claimer, Created, Ledger, Plan, RefError, Refs,
    ShardIndex, SuitePlan, claim_plan_from, claims_by_run, claims_prefix,
};
use crate::report::{ClaimCost, Report, account, comma_list};
use crate::timings::{ItemId, Micros};

/// A claim's two requests, a lock and an owner, as a chunk's cost beside its start-up.
const CLAIM_COST: Micros = Micros::ms(800);

/// The suite's items in id order, and its heads and tail as the plan's partition gives them.
pub(super) fn claim_plan_of(suite: &SuitePlan) -> (Vec<ItemId>, ClaimPlan) {
    let mut all: Vec<(&ItemId, Micros, u32, bool)> = suite
        .shards
        .iter()
        .enumerate()
        .flat_map(|(k, s)| {
            s.items
                .iter()
                .map(move |i| (&i.id, i.ms, k as u32, i.unseen))
        })
        .collect();
    all.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let weights: Vec<Micros> = all.iter().map(|a| a.1).collect();
    let unseen: Vec<bool> = all.iter().map(|a| a.3).collect();
    let a = Assignment {
        shard_of: all.iter().map(|a| a.2).collect(),
        loads: suite.shards.iter().map(|s| s.estimate_ms).collect(),
    };
    // A chunk pays two requests and a process's start-up: the suite's learned one when
    // `report` has measured it, else the default shape's assumption.
    let assumed = ClaimShape::default();
    let shape = ClaimShape {
        per_chunk: suite
            .hidden
            .as_ref()
            .map_or(assumed.per_chunk, |h| CLAIM_COST + h.per_shard),
        ..assumed
    };
    let plan = claim_plan_from(&weights, &a, shape, &unseen);
    (all.into_iter().map(|a| a.0.clone()).collect(), plan)
}

/// The preview's line for a suite whose shards claim: how much the heads hold and how the tail
/// is cut.
pub(super) fn preview_line(suite: &SuitePlan) -> String {
    let (_, plan) = claim_plan_of(suite);
    let heads: usize = plan.heads.iter().map(Vec::len).sum();
    let tail: usize = plan.chunks.iter().map(Vec::len).sum();
    format!(
        "  claiming    {heads} items in the shards' heads; {tail} in a tail of {} chunk(s), claimed at run time as shards free up\n",
        plan.chunks.len()
    )
}

/// The repository's references through the API, one request at a time.
struct GithubRefs {
    client: Client,
    runtime: tokio::runtime::Runtime,
    repo_path: String,
    sha: String,
}

impl Refs for GithubRefs {
    fn create(&mut self, name: &str) -> Result<Created, RefError> {
        let done = self.runtime.block_on(create_ref(
            &mut self.client,
            &self.repo_path,
            name,
            &self.sha,
        ));
        match done {
            Ok(RefCreated::New) => Ok(Created::New),
            Ok(RefCreated::Exists) => Ok(Created::Exists),
            Ok(RefCreated::ExistsAfterRetry) => Ok(Created::Ambiguous),
            Err(e) => Err(RefError(e.to_string())),
        }
    }

    fn list(&mut self, prefix: &str) -> Result<Vec<String>, RefError> {
        self.runtime
            .block_on(matching_refs(&mut self.client, &self.repo_path, prefix))
            .map_err(|e| RefError(e.to_string()))
    }
}

/// Where and as what the shard claims.
struct Identity {
    run_id: u64,
    attempt: u32,
}

fn identity(args: &ShardArgs) -> Result<Identity, Error> {
    let missing = |flag: &'static str, var: &str| {
        SettingError::flag(
            flag,
            format!("claiming needs the run's {var} (set on every runner); pass {flag} elsewhere"),
        )
    };
    Ok(Identity {
        run_id: args
            .claim
            .run_id
            .ok_or_else(|| missing("--run-id", "GITHUB_RUN_ID"))?,
        attempt: args
            .claim
            .run_attempt
            .ok_or_else(|| missing("--run-attempt", "GITHUB_RUN_ATTEMPT"))?,
    })
}

/// The repository's references; `sha` (what created references point at) only to claim.
fn github_refs(
    repo: Option<&str>,
    sha: Option<&str>,
    api: &ApiArgs,
    out: &mut dyn Write,
    reporter: &mut Reporter,
) -> Result<GithubRefs, Error> {
    let (owner, name) = required_repo(
        repo,
        "--repo",
        "claims need the repository (GITHUB_REPOSITORY on every runner); pass --repo OWNER/NAME",
    )?;
    let runtime = runtime()?;
    // The HTTP layer starts its tasks on the runtime it is built in.
    let client = {
        let _inside = runtime.enter();
        Client::new(settings(api, out, reporter)?)?
    };
    Ok(GithubRefs {
        client,
        runtime,
        repo_path: format!("/repos/{}/{}", encode(&owner), encode(&name)),
        sha: sha.unwrap_or_default().to_owned(),
    })
}

/// `--sha`, checked: what a claim's references point at.
fn claim_sha(args: &ShardArgs) -> Result<&str, Error> {
    args.claim
        .sha
        .as_deref()
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| {
            SettingError::flag(
                "--sha",
                "claiming needs the commit its references point at, 40 hex digits (GITHUB_SHA on every runner)",
            )
            .into()
        })
}

fn stopped(index: ShardIndex, message: impl Into<String>) -> Error {
    Error::ClaimStopped {
        shard: index,
        message: message.into(),
    }
}

fn write_items(out: &mut dyn Write, items: &[ItemId], index: ShardIndex) -> Result<(), Error> {
    write_lines(
        out,
        items,
        index,
        "a claiming shard's items (one to a line)",
    )
}

/// A shard of a plan made with `plan --claim` (`plan`, read from `--plan`).
pub fn run(
    args: &ShardArgs,
    plan: &Plan,
    out: &mut dyn Write,
    reporter: &mut Reporter,
) -> Result<(), Error> {
    let index = index_of(args)?;
    let Some(path) = &args.plan else {
        return Err(SettingError::flag("--plan", "claiming needs the pinned plan").into());
    };
    let suite = planned_suite(plan, path, args)?;
    let (ids, claims) = claim_plan_of(suite);
    let k = index.zero_based();
    let items_of = |idx: &[usize]| -> Vec<ItemId> {
        let mut v: Vec<ItemId> = idx.iter().map(|&i| ids[i].clone()).collect();
        v.sort_unstable();
        v
    };
    let head = items_of(claims.heads.get(k).map_or(&[][..], Vec::as_slice));
    if !args.exec && !args.claim.next {
        reporter.info(format!(
            "shard {index}: its head, {} item(s); the tail is claimed with --exec or --next",
            head.len()
        ));
        return write_items(out, &head, index);
    }
    let who = identity(args)?;
    let mut refs = github_refs(
        args.claim.repo.as_deref(),
        Some(claim_sha(args)?),
        &args.claim.api,
        out,
        reporter,
    )?;
    let prefix = claims_prefix(who.run_id, &suite.name);
    let start = |refs: &mut GithubRefs| {
        Claimer::start(refs, &prefix, index.get(), who.attempt, claims.chunks.len())
            .map_err(|e| stopped(index, e.to_string()))
    };
    if args.claim.next {
        let mut claimer = start(&mut refs)?;
        let got = claimer
            .next(&mut refs)
            .map_err(|e| stopped(index, e.to_string()))?;
        if !claimer.lost().is_empty() {
            return Err(stopped(index, lost_message(claimer.lost())));
        }
        if let Some(c) = got {
            write_items(out, &items_of(&claims.chunks[c]), index)?;
        }
        return Ok(());
    }
    let spec = spec_of(suite.run.as_ref(), &suite.name)?;
    let hide = vec![args.claim.api.token_env.clone()];
    let junit_to = args.junit_to.as_deref();
    let part = |chunk| Part {
        spec,
        suite: &ids,
        index,
        chunk,
        junit_to,
        hide_env: &hide,
    };
    let (mut failed, mut wall) = exec_part(&part(None), &head, reporter)?;
    let asked = Instant::now();
    let mut claimer = start(&mut refs)?;
    let mut waited = asked.elapsed();
    let mut ran = Vec::new();
    let outcome = loop {
        let asked = Instant::now();
        let got = claimer.next(&mut refs);
        waited += asked.elapsed();
        match got {
            Ok(Some(c)) => {
                let (status, w) =
                    exec_part(&part(Some(c)), &items_of(&claims.chunks[c]), reporter)?;
                failed = failed.or(status);
                wall += w;
                ran.push(c);
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err(e.to_string()),
        }
    };
    reporter.info(format!(
        "shard {index}: its head ({} items) and {} claimed chunk(s) of {} ({} requests)",
        head.len(),
        ran.len(),
        claims.chunks.len(),
        claimer.calls
    ));
    if let (Some(to), Some(_)) = (junit_to, &spec.junit) {
        let cost = ClaimCost {
            requests: claimer.calls,
            wait: Micros::of(waited),
        };
        write_process_timing(to, &suite.name, index, wall, Some((&ran, cost)))?;
    }
    if let Err(e) = outcome {
        return Err(stopped(index, e));
    }
    if !claimer.lost().is_empty() {
        return Err(stopped(index, lost_message(claimer.lost())));
    }
    tests_outcome(failed, index, spec)
}

fn lost_message(lost: &[usize]) -> String {
    format!(
        "the answer to the claim of chunk(s) {} was lost; no shard runs them in this attempt",
        comma_list(lost)
    )
}

/// `report --claims`: each suite's claims from the run's references, into the report; the
/// references deleted when every shard passed and every chunk was claimed, kept (and said)
/// otherwise, for a re-run to go by. Returns what was never claimed, one line a suite.
pub(super) fn account_run(
    args: &ReportArgs,
    plan: &Plan,
    report: &mut Report,
    costs: &BTreeMap<(String, u32), ClaimCost>,
    out: &mut dyn Write,
    reporter: &mut Reporter,
) -> Result<Vec<String>, Error> {
    let Some(run_id) = args.run_id else {
        return Err(SettingError::flag("--claims", "needs --run-id, the run that claimed").into());
    };
    let mut refs = github_refs(args.repo.as_deref(), None, &args.api, out, reporter)?;
    let mut names_of = Vec::new();
    for suite in plan.suites.iter().filter(|s| !s.skip) {
        let (_, claims) = claim_plan_of(suite);
        let prefix = claims_prefix(run_id, &suite.name);
        let names = refs.list(&prefix).map_err(|e| Error::ClaimsUnread {
            run_id,
            message: e.to_string(),
        })?;
        let ledger = Ledger::read(&prefix, names.iter().map(String::as_str));
        let sizes: Vec<usize> = claims.chunks.iter().map(Vec::len).collect();
        let asked = |k: u32| costs.get(&(suite.name.clone(), k)).copied();
        report.claims.push(account(
            &suite.name,
            &ledger,
            &sizes,
            names.len(),
            &asked,
            suite.shards.len() as u32,
        ));
        names_of.push(names);
    }
    let never: Vec<String> = report
        .claims
        .iter()
        .filter(|c| !c.unclaimed.is_empty())
        .map(|c| format!("suite {}: chunk(s) {}", c.suite, comma_list(&c.unclaimed)))
        .collect();
    let green = never.is_empty()
        && report
            .suites
            .iter()
            .all(|m| m.failed_tests == 0 && m.missing_shards.is_empty());
    let held: usize = names_of.iter().map(Vec::len).sum();
    if green {
        for (c, names) in report.claims.iter_mut().zip(&names_of) {
            for name in names {
                let gone =
                    refs.runtime
                        .block_on(delete_ref(&mut refs.client, &refs.repo_path, name));
                match gone {
                    Ok(_) => c.deleted += 1,
                    Err(e) => {
                        reporter.warn(format!("{name}: not deleted: {e}"));
                        break;
                    }
                }
            }
        }
    } else if held > 0 {
        report.notes.push(format!(
            "The run's {held} claim references are kept: a re-run of its failed shards goes by them."
        ));
    }
    if let Some(days) = args.sweep_days {
        report
            .notes
            .extend(sweep(&mut refs, run_id, days, chrono::Utc::now(), reporter));
    }
    Ok(never)
}

/// Runs looked up by one sweep, oldest first, and references it deletes at most (deletions
/// count against the API's 80 content requests a minute): the rest wait for the next report.
const SWEEP_RUNS: usize = 20;
const SWEEP_DELETES: usize = 200;

/// `--sweep-days`: deletes the claims of earlier runs that ended `days` before `now` or more, or
/// that the repository no longer has. Housekeeping: what fails is a warning, and what is not
/// reached is said. Returns the report's note.
fn sweep(
    refs: &mut GithubRefs,
    this_run: u64,
    days: u32,
    now: chrono::DateTime<chrono::Utc>,
    reporter: &mut Reporter,
) -> Option<String> {
    let names = match refs.list(CLAIMS_ROOT) {
        Ok(names) => names,
        Err(e) => {
            reporter.warn(format!("earlier runs' claims not swept: {e}"));
            return None;
        }
    };
    let mut runs = claims_by_run(names.iter().map(String::as_str));
    runs.remove(&this_run);
    let due = now - chrono::Duration::days(i64::from(days));
    let (mut swept_runs, mut swept, mut active) = (0, 0, 0);
    let looked: Vec<u64> = runs.keys().copied().take(SWEEP_RUNS).collect();
    for run in &looked {
        let record = refs
            .runtime
            .block_on(run_record(&mut refs.client, &refs.repo_path, *run));
        let old = match record {
            Ok(None) => true,
            Ok(Some(r)) => {
                r.status.as_deref() == Some("completed")
                    && r.updated_at.or(r.created_at).is_some_and(|t| t <= due)
            }
            Err(e) => {
                reporter.warn(format!("run {run}'s claims not swept: {e}"));
                continue;
            }
        };
        if !old {
            active += 1;
            continue;
        }
        for name in &runs[run] {
            if swept == SWEEP_DELETES {
                let left = runs.len() - swept_runs - active;
                return Some(sweep_note(swept, swept_runs, days, active, left));
            }
            match refs
                .runtime
                .block_on(delete_ref(&mut refs.client, &refs.repo_path, name))
            {
                Ok(_) => swept += 1,
                Err(e) => {
                    reporter.warn(format!("{name}: not swept: {e}"));
                    let left = runs.len() - swept_runs - active;
                    return Some(sweep_note(swept, swept_runs, days, active, left));
                }
            }
        }
        swept_runs += 1;
    }
    let left = runs.len() - looked.len();
    (swept > 0 || left > 0).then(|| sweep_note(swept, swept_runs, days, active, left))
}

fn sweep_note(swept: usize, runs: usize, days: u32, recent: usize, left: usize) -> String {
    let mut parts = vec![format!(
        "Swept {swept} claim reference(s) of {runs} earlier run(s) ended {days} day(s) ago or more, or gone"
    )];
    if recent > 0 {
        parts.push(format!("{recent} run(s) kept, recent or still going"));
    }
    if left > 0 {
        parts.push(format!("{left} run(s) left for a later sweep"));
    }
    format!("{}.", parts.join("; "))
}
