//! What users read: matrix JSON for `strategy.matrix`, the dry-run preview, workflow reports.

mod analysis;
mod markdown;
mod matrix;
mod preview;
mod summary;
mod workflow;

pub use analysis::{Bar, analysis_markdown, analysis_text, gantt, gantt_chart, gantt_label};
pub use matrix::{Matrix, MatrixEntry, matrix, matrix_json};
pub use preview::{preview, thousands};
pub use summary::{summary_markdown, summary_text};
pub use workflow::{DEFAULT_TEMPLATE, RenderError, render_workflow};
