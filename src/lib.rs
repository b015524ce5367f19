//! gha-planner: plan CI parallelism from history.
//!
//! The flow is `timings` (readers, the store, estimates) → `plan` (partitioning and the choice of
//! the shard count, the Plan contract) → `render` (matrix JSON, previews) → `cli` (the commands).
//! Everything but `cli`, `github` and the format readers is pure: values in, values out.

pub mod cli;
pub mod config;
pub mod github;
pub mod plan;
pub mod render;
pub mod report;
pub mod runner;
pub mod timings;
pub mod workflow;

pub use cli::{Error, ExitCode};
