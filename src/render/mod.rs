//! What users read: matrix JSON for `strategy.matrix`, the dry-run preview, workflow reports.

mod analysis;
mod matrix;
mod preview;
mod runner_args;
mod workflow;

pub use analysis::{Bar, analysis_markdown, analysis_text, gantt, gantt_chart, gantt_label};
pub use matrix::{Matrix, MatrixEntry, matrix, matrix_json};
pub use preview::{preview, thousands};
pub use runner_args::{AdapterError, Runner, runner_args};
pub use workflow::{DEFAULT_TEMPLATE, RenderError, render_workflow};
