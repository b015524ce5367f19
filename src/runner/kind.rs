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
