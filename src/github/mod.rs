//! GitHub: the Actions runtime's conventions, and the REST API client that reads past runs.

pub mod actions;
pub mod api;

pub use actions::{
    MAX_ANNOTATIONS, annotation, escape_data, format_output, in_actions, log_line, log_text,
    random_delimiter, warning_command,
};
