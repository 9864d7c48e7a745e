//! Text from outside (a config file, a tenant, an authorization server, the
//! command line) made safe to print on a terminal: the one function every
//! message goes through before it reaches stderr or stdout.

use std::fmt::Write as _;

/// `text` with every character that could steer a terminal or hide what
/// is shown written out as `\u{..}`: control characters (escape sequences
/// start with one), bidirectional overrides and isolates (U+202A..U+202E,
/// U+2066..U+2069, the marks U+200E, U+200F, U+061C) and zero-width
/// characters. Line breaks stay: messages span lines.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c != '\n' && is_unsafe(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` may not reach a terminal as it is.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_bidi_and_zero_width_but_keeps_lines() {
        assert_eq!(printable("pr\x1b[31mRED"), "pr\\u{1b}[31mRED");
        assert_eq!(printable("a\u{202e}b\u{200b}c"), "a\\u{202e}b\\u{200b}c");
        assert_eq!(printable("one\ntwo\r"), "one\ntwo\\u{d}");
        assert_eq!(printable("plain ünïcode"), "plain ünïcode");
    }
}
