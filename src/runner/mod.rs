//! The runner kinds and how each is given its items: argv, never a shell line.

mod args;
mod kind;
mod quote;

pub use args::{AdapterError, one_line_each, runner_args};
pub use kind::Runner;
pub use quote::shell_quote;

/// How many jobs GitHub Free runs at once: 20, of which 5 on macOS runners.
pub fn github_free_capacity(macos: bool) -> u32 {
    if macos { 5 } else { 20 }
}

/// This planner's GitHub Action at this version, as a step's `uses:` names it.
pub fn action_ref() -> String {
    let repository = env!("CARGO_PKG_REPOSITORY").trim_start_matches("https://github.com/");
    format!("{repository}@v{}", env!("CARGO_PKG_VERSION"))
}

/// Whether a runner label names a macOS runner (`macos-latest`, `macos-14-arm64`).
pub fn is_macos_label(label: &str) -> bool {
    label.to_ascii_lowercase().starts_with("macos")
}

/// The pytest plugin that keeps a shard's tests after collection (`-p planner_select
/// --planner-items=FILE`): node ids given as arguments cost pytest milliseconds each.
pub const PYTEST_PLUGIN: &str = include_str!("pytest/planner_select.py");

/// Whether a suite's command runs pytest itself, in this environment, so that `PYTHONPATH` and
/// `-p` reach it: `pytest …`, `python -m pytest …`, or one of those after `uv run`, `poetry run`,
/// `pipenv run` or `hatch run`. Not through tox or nox, which keep their own environment.
pub fn runs_pytest_directly(command: &str) -> bool {
    let mut words: Vec<&str> = command.split_whitespace().collect();
    while let Some(rest) = match words.as_slice() {
        ["uv" | "poetry" | "pipenv" | "hatch", "run", rest @ ..] => Some(rest.to_vec()),
        _ => None,
    } {
        words = rest;
    }
    let program = |w: &str| w.rsplit('/').next() == Some("pytest") || w == "py.test";
    match words.as_slice() {
        [first, ..] if program(first) => true,
        [python, "-m", "pytest", ..] => python
            .rsplit('/')
            .next()
            .is_some_and(|p| p.starts_with("python")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn knows_a_command_that_runs_pytest_itself() {
        for yes in [
            "pytest -x",
            "python -m pytest",
            "python3.12 -m pytest -q",
            "uv run pytest",
            "poetry run python -m pytest",
            ".venv/bin/pytest",
        ] {
            assert!(super::runs_pytest_directly(yes), "{yes}");
        }
        for no in [
            "tox -e py --",
            "nox -s tests",
            "make test",
            "python -m unittest",
            "pytest-watch",
        ] {
            assert!(!super::runs_pytest_directly(no), "{no}");
        }
    }
}
