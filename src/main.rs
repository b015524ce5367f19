//! The `planner` binary: parse, dispatch, map errors to exit codes. Everything else is the library.

use std::error::Error as _;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use gha_planner::cli::{Cli, Reporter, run};
use gha_planner::github::log_line;

/// See Cargo.toml: many small strings, allocated and freed once each.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let mut reporter = Reporter::stderr(cli.quiet);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = run(cli, &mut out, &mut reporter);
    let _ = out.flush();
    reporter.finish();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The chain is redacted as every warning is: a token never reaches the log.
            let mut err = std::io::stderr().lock();
            // Names in an error can start no workflow command in a runner's log.
            let _ = writeln!(err, "error: {}", log_line(&reporter.redact(&e.to_string())));
            let mut source = e.source();
            while let Some(s) = source {
                let _ = writeln!(
                    err,
                    "  caused by: {}",
                    log_line(&reporter.redact(&s.to_string()))
                );
                source = s.source();
            }
            ExitCode::from(u8::try_from(e.exit_code().code()).unwrap_or(1))
        }
    }
}
