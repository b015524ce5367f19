//! `planner timings merge`: inputs, oldest first, into a store, written atomically and never
//! replaced by one that holds less.

use super::Error;
use crate::timings::formats::{Ingested, read_input};
use crate::timings::{MergeOutcome, Observed, Store};

use super::Reporter;
use super::args::MergeArgs;
use super::files::{UpdateOptions, update_store};
use super::settings::{read_options, retire_after};

/// One input, read and ready to merge.
enum Input {
    Observed(Observed),
    Store(Store),
}

pub fn run(args: &MergeArgs, reporter: &mut Reporter) -> Result<(), Error> {
    let opts = read_options(args.format, &args.read);
    // Every input is read before the store is locked, so that a slow read holds no one up.
    let mut inputs = Vec::new();
    for arg in &args.inputs {
        match read_input(arg, &opts)? {
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
                let observed = Observed {
                    source: arg.clone(),
                    kind: kind.to_owned(),
                    runner_class: args.read.runner_class.clone(),
                    at,
                    durations,
                    ..Default::default()
                };
                inputs.push((arg, Input::Observed(observed)));
            }
            Ingested::Store(store) => inputs.push((arg, Input::Store(store))),
        }
    }
    let opts = UpdateOptions {
        keep: args.keep,
        force: args.force,
        create_empty: true,
        retire_after: retire_after(args.read.retire_after),
    };
    let (total, updated) = update_store(&args.out, opts, reporter, |store, reporter| {
        let mut total = MergeOutcome::default();
        for (arg, input) in &inputs {
            let outcome = match input {
                Input::Observed(o) => store.merge(o),
                Input::Store(other) => store.merge_store(other, arg),
            };
            if outcome.observations_already_present > 0 && outcome.observations_added == 0 {
                reporter.info(format!("{arg}: already in the store; nothing new"));
            }
            total += outcome;
        }
        total
    })?;
    if !updated.wrote {
        return Ok(());
    }
    let store = &updated.store;
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
