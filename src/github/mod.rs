//! GitHub: the Actions runtime's conventions, and the REST API client that reads past runs.

pub mod actions;
pub mod api;

pub use actions::{
    annotation, escape_data, format_output, in_actions, random_delimiter, warning_command,
};
