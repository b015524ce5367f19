//! POSIX shell quoting, for the one place a runner's arguments are shown as a shell line.

/// Bare when safe, else single quotes with `'\''` for a quote.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(shell_quote("tests/a.py::test_x"), "tests/a.py::test_x");
        assert_eq!(shell_quote("t[a b]"), "'t[a b]'");
        assert_eq!(shell_quote("it's $(x)"), "'it'\\''s $(x)'");
        assert_eq!(shell_quote(""), "''");
    }
}
