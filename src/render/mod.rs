//! What users read: matrix JSON for `strategy.matrix`, and the dry-run preview.

mod matrix;
mod preview;

pub use matrix::{Matrix, MatrixEntry, matrix_json};
pub use preview::{preview, thousands};
