//! The GitHub Actions runtime's conventions: `$GITHUB_OUTPUT` and workflow-command annotations.

mod annotations;
mod output;

pub use annotations::{escape_data, in_actions, warning_command};
pub use output::{format_output, random_delimiter};
