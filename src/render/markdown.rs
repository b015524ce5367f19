//! Text that comes from a workflow or a report (job, suite and test names), made safe for
//! Markdown: one line, no table cell broken by a `|`, no HTML, and code spans that hold any text.

/// Plain text in a heading or a table cell: `|` escaped, line breaks folded, HTML escaped.
pub fn md_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

/// A code span holding `s` as it is: fenced by one backtick more than the longest run inside,
/// padded where it starts or ends with one, `|` escaped so that it can stand in a table.
pub fn md_code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{s}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HTML passed raw into the analysis's table cells.
    #[test]
    fn names_stay_text_in_cells_and_code() {
        assert_eq!(
            md_text("<img src=x onerror=alert(1)> a|b\nc & d"),
            "&lt;img src=x onerror=alert(1)&gt; a\\|b c &amp; d"
        );
        assert_eq!(md_code("tests/a.py::t"), "`tests/a.py::t`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("`x`"), "`` `x` ``");
        assert_eq!(md_code("t[a|b]"), "`t[a\\|b]`");
    }
}
