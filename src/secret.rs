//! A wrapper for values that must never be printed: bearer tokens, private
//! keys, key file contents. Its `Debug` and `Display` say `[redacted]`, so a
//! secret that reaches a log line, an error or a panic message stays hidden.
//! Its memory is wiped when it is dropped.

use std::fmt;

use zeroize::Zeroizing;

/// A string that is never shown. Read it with [`Secret::expose`] only where
/// it must cross the wire (an `Authorization` header, a signing call).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(Zeroizing::new(value))
    }
}

/// Whether a word a user typed looks like a credential rather than their
/// own words: JWT-shaped, or long and drawn from the base64 or hex
/// alphabets with a run of letters and digits mixed as random strings mix
/// them. A mistyped operation or a file name is neither.
pub fn looks_like_secret(word: &str) -> bool {
    let base64 = |c: char| c.is_ascii_alphanumeric() || "+/=_-".contains(c);
    let parts: Vec<&str> = word.split('.').collect();
    let jwt = parts.len() == 3
        && word.len() >= 20
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(base64));
    if jwt {
        return true;
    }
    let random_run = word.split(['-', '_', '+', '/', '=']).any(|run| {
        run.len() >= 10
            && run.chars().any(|c| c.is_ascii_digit())
            && run.chars().any(|c| c.is_ascii_alphabetic())
    });
    word.len() >= 16 && word.chars().all(base64) && random_run
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("eyJhbGciOiJSUzI1NiJ9.payload.sig");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "eyJhbGciOiJSUzI1NiJ9.payload.sig");
    }

    #[test]
    fn secrets_look_random_and_an_admins_words_do_not() {
        for secret in [
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.SECRETsig",
            "tok-9f8e7d6c5b4a-never-print-me",
            "q2V0c3RhbmRhcmQxMjM0NTY3ODkwYWJjZGVm",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
        ] {
            assert!(looks_like_secret(secret), "{secret}");
        }
        for words in [
            "ds100-clearpin",
            "ds100-clear-pin-everything",
            "leavers-2024-06.csv",
            "lookup",
            "<SHELL>",
            "tcsh",
            "014010008038",
        ] {
            assert!(!looks_like_secret(words), "{words}");
        }
    }
}
