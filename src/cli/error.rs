//! The top-level error and the documented exit codes. Each variant holds its cause as a typed
//! source, and the exit code is decided by the variant alone.

use std::path::PathBuf;
use std::process::ExitStatus;

use crate::config::ConfigError;
use crate::github::api::ApiError;
use crate::plan::ShardIndex;
use crate::render::RenderError;
use crate::runner::AdapterError;
use crate::timings::formats::IngestError;
use crate::workflow::WorkflowError;

use super::settings::SettingError;

/// Process exit codes. They are part of the interface: workflows branch on them, and the README
/// lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything went as asked.
    Success = 0,
    /// A bug: something the planner should never do. Please report it.
    Internal = 1,
    /// The command line or the config is wrong: an unknown flag or field, a missing value, a
    /// value out of range. The same value is the same error whichever way it came.
    Usage = 2,
    /// An input file (timings, item list, plan, workflow, earlier report) is not what it should be.
    InvalidInput = 3,
    /// A file could not be read or written.
    Io = 4,
    /// A write was refused because it would lose data (a store replaced by one that holds less).
    Refused = 5,
    /// `planner shard --exec`: the test runner ran and failed (tests failed, or it crashed).
    TestsFailed = 6,
    /// `planner timings fetch`: the GitHub API could not be reached, kept failing, refused the
    /// request or answered what cannot be read. Runs read whole before it are kept.
    Api = 7,
    /// `planner report --require-all`: a shard sent no report; `report --claims`: a chunk of a
    /// tail was never claimed.
    Incomplete = 8,
    /// `planner shard --claim`: the shard stopped claiming before the suite's tail was done (the
    /// API failed after its retries, or refused, or the answer to a claim was lost). Nothing
    /// unclaimed ran; re-run the shard.
    ClaimStopped = 9,
}

impl ExitCode {
    pub const fn code(self) -> i32 {
        self as i32
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag's or a config field's value is not what the setting takes.
    #[error(transparent)]
    Setting(#[from] SettingError),

    /// The config file is not one this planner reads.
    #[error(transparent)]
    Config(#[from] ConfigError),

    #[error(transparent)]
    Ingest(#[from] IngestError),

    #[error(transparent)]
    Workflow(#[from] WorkflowError),

    #[error(transparent)]
    Render(#[from] RenderError),

    /// The items of a shard cannot be given to its runner.
    #[error("shard {shard}: its items cannot be given to the runner")]
    Adapter {
        shard: ShardIndex,
        #[source]
        source: AdapterError,
    },

    #[error(transparent)]
    Api(#[from] ApiError),

    /// `timings fetch` stopped on the API; `kept` says what became of the store.
    #[error("timings fetch: the GitHub API could not be used ({kept})")]
    FetchStopped {
        kept: String,
        #[source]
        source: ApiError,
    },

    #[error("{path}: {message}")]
    InvalidInput { path: PathBuf, message: String },

    /// The store a command adds to cannot be read; it is left as it is.
    #[error(
        "the store to add to cannot be read, so it is left as it is (pass --force to replace it)"
    )]
    StoreUnreadable {
        #[source]
        source: IngestError,
    },

    #[error("cannot {action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "refusing to overwrite {path}: {reason}; nothing was written (pass --force to replace it anyway)"
    )]
    WouldLoseData { path: PathBuf, reason: String },

    /// Nothing to plan, and no `--allow-empty`.
    #[error(
        "{what}; a plan of zero shards would pass without running anything (pass --allow-empty to plan a skipped suite)"
    )]
    NoItems { what: String },

    /// A config's `items: {command: …}` failed.
    #[error("suites.{suite}.items.command failed ({status}): `{command}`")]
    ItemsCommand {
        suite: String,
        command: String,
        status: ExitStatus,
    },

    #[error("shard {shard}: `{command}` failed ({status})")]
    TestsFailed {
        shard: ShardIndex,
        command: String,
        status: ExitStatus,
    },

    #[error(
        "shard {shard}: {message}; re-run this shard: its re-run runs again what it had claimed and claims what no shard has"
    )]
    ClaimStopped { shard: ShardIndex, message: String },

    #[error("run {run_id}: its claims could not be read: {message}")]
    ClaimsUnread { run_id: u64, message: String },

    /// `report --claims`: chunks of a tail that no shard took.
    #[error(
        "never claimed, so never run: {}; re-run the failed shard jobs (or any one shard's job of the suite if none failed): a re-run takes the chunks no shard has",
        .chunks.join("; ")
    )]
    NeverClaimed { chunks: Vec<String> },

    /// `report --require-all`, with the suites and shards that sent nothing.
    #[error("no report from {} (--require-all)", .missing.join("; "))]
    Incomplete { missing: Vec<String> },

    /// What the planner made cannot be written as JSON: a bug.
    #[error("internal error: {what} cannot be written as JSON")]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// The exit code for this error. Exhaustive on purpose: a new variant must choose its code.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Setting(_)
            | Error::Config(_)
            | Error::Adapter { .. }
            | Error::NoItems { .. }
            | Error::ItemsCommand { .. }
            | Error::Api(ApiError::BadUrl { .. }) => ExitCode::Usage,
            Error::Ingest(e) => match e {
                IngestError::Io { .. } => ExitCode::Io,
                IngestError::NestedMap { .. }
                | IngestError::NoSuchGroup { .. }
                | IngestError::NoMatch { .. }
                | IngestError::BadPattern { .. } => ExitCode::Usage,
                IngestError::Xml { .. }
                | IngestError::NotJunit { .. }
                | IngestError::Json { .. }
                | IngestError::Field { .. }
                | IngestError::Unsupported { .. } => ExitCode::InvalidInput,
            },
            Error::Workflow(_)
            | Error::Render(_)
            | Error::InvalidInput { .. }
            | Error::StoreUnreadable { .. } => ExitCode::InvalidInput,
            Error::Io { .. } => ExitCode::Io,
            Error::WouldLoseData { .. } => ExitCode::Refused,
            Error::TestsFailed { .. } => ExitCode::TestsFailed,
            Error::Api(_) | Error::FetchStopped { .. } | Error::ClaimsUnread { .. } => {
                ExitCode::Api
            }
            Error::Incomplete { .. } | Error::NeverClaimed { .. } => ExitCode::Incomplete,
            Error::ClaimStopped { .. } => ExitCode::ClaimStopped,
            Error::Json { .. } => ExitCode::Internal,
        }
    }

    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
