//! The runner kinds and how each is given its items: argv, never a shell line.

mod args;
mod kind;
mod quote;

pub use args::{AdapterError, one_line_each, runner_args};
pub use kind::Runner;
pub use quote::shell_quote;
