//! What can be wrong with a workflow file: each error names the file and the job or field.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("{path}: not valid YAML: {message}")]
    Yaml { path: PathBuf, message: String },

    #[error("{path}: {field}: {expected}")]
    Field {
        path: PathBuf,
        field: String,
        expected: String,
    },

    #[error("{path}: job `{job}` needs `{missing}`, which is not a job of this workflow{hint}")]
    UnknownNeed {
        path: PathBuf,
        job: String,
        missing: String,
        hint: String,
    },

    #[error("{path}: the jobs {} need each other in a cycle; GitHub would refuse this workflow", quote_list(.jobs))]
    Cycle { path: PathBuf, jobs: Vec<String> },
}

fn quote_list(jobs: &[String]) -> String {
    jobs.iter()
        .map(|j| format!("`{j}`"))
        .collect::<Vec<_>>()
        .join(" → ")
}
