//! `planner timings merge`: inputs, oldest first, into a store, written atomically and never
//! replaced by one that holds less.

use crate::Error;
use crate::timings::formats::{Ingested, read_input};
use crate::timings::{DEFAULT_KEEP, MergeOutcome, Observed, Store};

use super::Reporter;
use super::args::MergeArgs;
use super::files::write_atomic;
use super::settings::read_options;

pub fn run(args: &MergeArgs, reporter: &mut Reporter) -> Result<(), Error> {
    let opts = read_options(args.format, &args.read);
    let old: Option<Store> = match std::fs::read(&args.out) {
        Ok(bytes) => match serde_json::from_slice::<Store>(&bytes) {
            Ok(s) => Some(s),
            Err(e) if args.force => {
                reporter.warn(format!(
                    "{}: unreadable store replaced (--force): line {} column {}: {e}",
                    args.out.display(),
                    e.line(),
                    e.column()
                ));
                None
            }
            Err(e) => {
                return Err(Error::InvalidInput {
                    path: args.out.clone(),
                    message: format!(
                        "line {} column {}: the existing store cannot be read, so it is left as it is ({}); pass --force to replace it",
                        e.line(),
                        e.column(),
                        e.to_string().split(" at line ").next().unwrap_or_default()
                    ),
                });
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("read", &args.out, e)),
    };
    let keep = args
        .keep
        .map(|k| k as usize)
        .or(old.as_ref().map(|s| s.keep))
        .unwrap_or(DEFAULT_KEEP);
    let mut store = old.clone().unwrap_or_else(|| Store::new(keep));
    store.keep = keep;

    let mut total = MergeOutcome::default();
    for arg in &args.inputs {
        let outcome = match read_input(arg, &opts)? {
            Ingested::Durations {
                kind,
                durations,
                at,
                warnings,
            } => {
                for w in warnings {
                    reporter.warn(w);
                }
                if durations.is_empty() {
                    reporter.warn(format!("{arg}: no timed items; nothing to merge from it"));
                    continue;
                }
                store.merge(&Observed {
                    source: arg.clone(),
                    kind: kind.to_owned(),
                    runner_class: args.read.runner_class.clone(),
                    at,
                    durations,
                })
            }
            Ingested::Store(other) => store.merge_store(&other, arg),
        };
        if outcome.observations_already_present > 0 && outcome.observations_added == 0 {
            reporter.info(format!("{arg}: already in the store; nothing new"));
        }
        total += outcome;
    }

    if let Some(old) = &old {
        if !args.force {
            if let Some(reason) = store.loses_from(old) {
                return Err(Error::WouldLoseData {
                    path: args.out.clone(),
                    reason,
                });
            }
        }
        if &store == old {
            reporter.info(format!("{}: unchanged", args.out.display()));
            return Ok(());
        }
    }
    write_atomic(&args.out, store.to_json().as_bytes())?;
    reporter.info(format!(
        "{}: {} observation(s) merged ({} already present), {} samples added, {} new items; {} items, {} samples in all",
        args.out.display(),
        total.observations_added,
        total.observations_already_present,
        total.samples_added,
        total.new_items,
        store.item_count(),
        store.sample_count()
    ));
    Ok(())
}
