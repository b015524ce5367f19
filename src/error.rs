//! The top-level error and the documented exit codes.

use std::path::PathBuf;

use crate::timings::formats::IngestError;
use crate::workflow::WorkflowError;

/// Process exit codes. They are part of the interface: workflows branch on them, and the README
/// lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything went as asked.
    Success = 0,
    /// A bug: something the planner should never do. Please report it.
    Internal = 1,
    /// The command line is wrong: an unknown flag, a missing value, a value out of range.
    Usage = 2,
    /// An input file (timings, item list, plan) is not what it should be.
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
    /// `planner report --require-all`: a shard sent no report.
    Incomplete = 8,
}

impl ExitCode {
    pub const fn code(self) -> i32 {
        self as i32
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),

    #[error(transparent)]
    Ingest(#[from] IngestError),

    #[error(transparent)]
    Workflow(#[from] WorkflowError),

    #[error(transparent)]
    Render(#[from] crate::render::RenderError),

    #[error("{path}: {message}")]
    InvalidInput { path: PathBuf, message: String },

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

    #[error("{0}")]
    TestsFailed(String),

    #[error("{0}")]
    Api(String),

    #[error("{0}")]
    Incomplete(String),

    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The exit code for this error. Exhaustive on purpose: a new variant must choose its code.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_) => ExitCode::Usage,
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
            Error::Workflow(_) | Error::Render(_) | Error::InvalidInput { .. } => {
                ExitCode::InvalidInput
            }
            Error::Io { .. } => ExitCode::Io,
            Error::WouldLoseData { .. } => ExitCode::Refused,
            Error::TestsFailed(_) => ExitCode::TestsFailed,
            Error::Api(_) => ExitCode::Api,
            Error::Incomplete(_) => ExitCode::Incomplete,
            Error::Internal(_) => ExitCode::Internal,
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
