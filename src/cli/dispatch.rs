//! One parsed command line to the file that runs it.

use std::io::Write;

use super::args::{Cli, Command, TimingsCommand};
use super::error::Error;
use super::files::read_plan;
use super::reporter::Reporter;
use super::{analyze, claim, export, fetch, merge, optimize, plan, render, report, shard};

/// Runs one parsed command line, writing results to `out` and warnings through `reporter`.
pub fn run(cli: Cli, out: &mut dyn Write, reporter: &mut Reporter) -> Result<(), Error> {
    match cli.command {
        Command::Timings {
            command: TimingsCommand::Merge(args),
        } => merge::run(&args, reporter),
        Command::Timings {
            command: TimingsCommand::Fetch(args),
        } => fetch::run(&args, out, reporter),
        Command::Timings {
            command: TimingsCommand::Export(args),
        } => export::run(&args, out, reporter),
        Command::Plan(args) => plan::run(&args, out, reporter),
        Command::Shard(args) => match &args.plan {
            // A pinned plan says, for every shard alike, whether they claim.
            Some(path) => {
                let plan = read_plan(path)?;
                if plan.claim && !args.rerun_failed.is_empty() {
                    Err(super::settings::SettingError::flag(
                        "--rerun-failed",
                        "a claiming shard's later attempt runs the chunks it claimed before, by itself",
                    )
                    .into())
                } else if plan.claim {
                    claim::run(&args, &plan, out, reporter)
                } else {
                    shard::run(&args, Some(&plan), out, reporter)
                }
            }
            None => shard::run(&args, None, out, reporter),
        },
        Command::Analyze(args) => analyze::run(&args, out, reporter),
        Command::Optimize(args) => optimize::run(&args, out, reporter),
        Command::Render(args) => render::run(&args, out),
        Command::Report(args) => report::run(&args, out, reporter),
        Command::Schema => out
            .write_all(crate::config::Config::schema().as_bytes())
            .map_err(|e| Error::io("write", "standard output", e)),
    }
}
