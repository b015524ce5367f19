//! The commands: clap's raw arguments, resolved into settings, dispatched to one file per command.

mod analyze;
mod api;
mod args;
mod claim;
mod dispatch;
mod error;
mod export;
mod fetch;
mod files;
mod history;
mod lanes;
mod listing;
mod merge;
mod optimize;
mod plan;
mod render;
mod report;
mod reporter;
mod settings;
mod shard;

pub use args::{Cli, Command, TimingsCommand};
pub use dispatch::run;
pub use error::{Error, ExitCode};
pub use reporter::Reporter;
