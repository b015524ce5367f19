//! The test runners the planner speaks for: their names and their usual commands.

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Runner {
    Pytest,
    Nextest,
    Jest,
    Vitest,
    Playwright,
    Go,
    Rspec,
}

impl Runner {
    /// Every runner, in the order `--help` lists them.
    pub const ALL: [Runner; 7] = [
        Runner::Pytest,
        Runner::Nextest,
        Runner::Jest,
        Runner::Vitest,
        Runner::Playwright,
        Runner::Go,
        Runner::Rspec,
    ];

    /// What `planner shard --format RUNNER` prints for it.
    pub fn shard_format(self) -> &'static str {
        match self {
            Runner::Pytest => {
                "pytest arguments, one per line (node ids or files; `pytest @FILE` reads them)"
            }
            Runner::Nextest => {
                "cargo-nextest filtersets (`-E`, then the expression), one argument per line"
            }
            Runner::Jest => {
                "jest: `--runTestsByPath` and the test files, one per line (needs a plan `--by file`)"
            }
            Runner::Vitest => {
                "vitest: the test files, one per line, after an `--exclude` of each other file whose path holds one (needs a plan `--by file`)"
            }
            Runner::Playwright => {
                "playwright: an anchored pattern per test file, one per line (needs a plan `--by file`)"
            }
            Runner::Go => {
                "go test: one shell-quoted argument list per package and line (`-run '^(?:A|B)$' PKG`)"
            }
            Runner::Rspec => "rspec: the spec files, one per line (needs a plan `--by file`)",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Runner::Pytest => "pytest",
            Runner::Nextest => "nextest",
            Runner::Jest => "jest",
            Runner::Vitest => "vitest",
            Runner::Playwright => "playwright",
            Runner::Go => "go",
            Runner::Rspec => "rspec",
        }
    }

    /// The command a suite of this runner uses unless the config says otherwise.
    pub fn default_command(self) -> &'static str {
        match self {
            Runner::Pytest => "python -m pytest",
            Runner::Nextest => "cargo nextest run --no-tests=pass",
            Runner::Jest => "npx jest",
            Runner::Vitest => "npx vitest run",
            Runner::Playwright => "npx playwright test",
            Runner::Go => "go test",
            Runner::Rspec => "bundle exec rspec",
        }
    }
}
