//! Fingerprints: a 64-bit hash of some values, ignoring ASCII case, made
//! without allocating per row. The scan keeps fingerprints instead of
//! values; equal values always give equal fingerprints, and anything a
//! fingerprint makes suspect is confirmed on the values themselves.

use std::hash::{DefaultHasher, Hasher};

/// Hashes into a buffer it reuses.
#[derive(Default)]
pub struct Fingerprinter {
    buffer: Vec<u8>,
}

impl Fingerprinter {
    pub fn of<'a>(&mut self, parts: impl IntoIterator<Item = &'a str>) -> u64 {
        self.buffer.clear();
        for part in parts {
            self.buffer.extend_from_slice(part.as_bytes());
            // A separator no cell can hold unnoticed keeps ("ab","c") apart
            // from ("a","bc").
            self.buffer.push(0x1f);
        }
        self.buffer.make_ascii_lowercase();
        let mut hasher = DefaultHasher::new();
        hasher.write(&self.buffer);
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_is_ignored_and_boundaries_are_not() {
        let mut prints = Fingerprinter::default();
        assert_eq!(prints.of(["ABC", "d"]), prints.of(["abc", "D"]));
        assert_ne!(prints.of(["ab", "cd"]), prints.of(["abc", "d"]));
    }
}
