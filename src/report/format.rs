//! The report JSON's name and version: written into every report, checked before a later run
//! compares with it.

pub const REPORT_FORMAT: &str = "gha-planner-report";
pub const REPORT_VERSION: u32 = 1;
