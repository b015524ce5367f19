//! Errors from reading timing inputs: each names the file, and the line or field where it can.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: malformed XML: {message}")]
    Xml {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(
        "{path}: not a JUnit report: the root element is <{root}>, expected <testsuites> or <testsuite>"
    )]
    NotJunit { path: PathBuf, root: String },
    #[error("{path}:{line}:{column}: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}:{line}: {field}: {message}")]
    Field {
        path: PathBuf,
        line: usize,
        field: String,
        message: String,
    },
    #[error(
        "{path}: a nested timing map; choose one group with {path}#GROUP (for example #{example}); groups: {groups}"
    )]
    NestedMap {
        path: PathBuf,
        example: String,
        groups: String,
    },
    #[error("{path}: no group `{group}` in the nested timing map; groups here: {available}")]
    NoSuchGroup {
        path: PathBuf,
        group: String,
        available: String,
    },
    #[error("{path}: {message}")]
    Unsupported { path: PathBuf, message: String },
    #[error("{pattern}: no file matches")]
    NoMatch { pattern: String },
    #[error("{pattern}: invalid glob pattern: {message}")]
    BadPattern { pattern: String, message: String },
}

/// The 1-based line of a byte offset.
#[expect(
    clippy::naive_bytecount,
    reason = "runs once per error; not worth a dependency"
)]
pub fn line_of(text: &[u8], offset: usize) -> usize {
    let end = offset.min(text.len());
    text[..end].iter().filter(|&&b| b == b'\n').count() + 1
}
