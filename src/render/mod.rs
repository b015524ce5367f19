//! What users read: matrix JSON for `strategy.matrix`, the dry-run preview, workflow reports.

mod analysis;
mod matrix;
mod preview;

pub use analysis::{analysis_markdown, analysis_text, gantt, gantt_label};
pub use matrix::{Matrix, MatrixEntry, matrix_json};
pub use preview::{preview, thousands};
