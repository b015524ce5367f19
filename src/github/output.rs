//! `$GITHUB_OUTPUT`: `name<<DELIMITER` … `DELIMITER` with a random delimiter, so that no value
//! (a test name, a matrix) can end the block early or inject another output.

use std::fmt::Write as _;

/// A delimiter that cannot be guessed in advance: `ghadelimiter_` and 32 random hex digits.
pub fn random_delimiter() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness source: fall back to the clock and process id, still unpredictable to a
        // test name written before the run.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = (t ^ u128::from(std::process::id())).to_le_bytes();
    }
    let mut s = String::from("ghadelimiter_");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The lines to append to `$GITHUB_OUTPUT` for `name` = `value`.
pub fn format_output(name: &str, value: &str, delimiter: &str) -> String {
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_line_block() {
        assert_eq!(
            format_output("matrix", "{\"a\":1}", "D"),
            "matrix<<D\n{\"a\":1}\nD\n"
        );
        let d = random_delimiter();
        assert_eq!(d.len(), "ghadelimiter_".len() + 32);
        assert_ne!(d, random_delimiter());
    }
}
