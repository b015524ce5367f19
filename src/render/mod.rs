//! What users read: matrix JSON for `strategy.matrix`, the dry-run preview, workflow reports.

mod analysis;
mod matrix;
mod preview;
mod runner_args;

pub use analysis::{analysis_markdown, analysis_text, gantt, gantt_label};
pub use matrix::{Matrix, MatrixEntry, matrix_json};
pub use preview::{preview, thousands};
pub use runner_args::{AdapterError, Runner, runner_args};
