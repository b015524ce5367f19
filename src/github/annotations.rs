//! Workflow commands (`::warning::…`), escaped as the Actions toolkit escapes them.

/// True when running inside GitHub Actions.
pub fn in_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// The toolkit's `escapeData`: `%`, CR and LF.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `::warning::message`.
pub fn warning_command(message: &str) -> String {
    format!("::warning::{}", escape_data(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_toolkit() {
        assert_eq!(
            warning_command("50% done\nnext"),
            "::warning::50%25 done%0Anext"
        );
    }
}
