//! The pass before the run: one streaming read of the whole file that
//! rejects what is not CSV, counts rows, and finds what only shows across
//! rows. Nothing is sent until the scan has read the last line, so a bad
//! line 90,000 stops the run before row 1 is touched.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hasher;
use std::path::Path;

use super::{validate, ColumnMap, InputError, RecordReader};
use crate::ops::Operation;

/// Something about one row that only the whole file shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The same row appeared earlier, on this line.
    DuplicateOf(u64),
    /// The row contradicts another row; it is not sent.
    Conflict(String),
    /// Worth telling; the row still runs.
    Warning(String),
}

/// What the scan learnt about a file.
#[derive(Debug)]
pub struct Scan {
    pub columns: ColumnMap,
    pub delimiter: u8,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Rows that pass per-row validation and are not duplicates.
    pub ready: u64,
    findings: BTreeMap<u64, Finding>,
}

impl Scan {
    pub fn finding(&self, line: u64) -> Option<&Finding> {
        self.findings.get(&line)
    }

    pub fn findings(&self) -> impl Iterator<Item = (u64, &Finding)> {
        self.findings.iter().map(|(line, f)| (*line, f))
    }
}

/// Reads the whole file once. File-level problems are errors; row-level
/// problems are left for the run to report row by row.
pub fn scan(path: &Path, op: &'static Operation, delimiter: u8) -> Result<Scan, InputError> {
    let mut reader = RecordReader::open(path, delimiter)?;
    let header = reader.next_header()?.ok_or_else(|| InputError::Empty {
        path: path.to_owned(),
        expected: op
            .required
            .iter()
            .map(|f| f.wire_name())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let columns = ColumnMap::build(path, header, op)?;
    let mut rows = 0;
    let mut fingerprints: Vec<(u64, u64)> = Vec::new();
    let mut scratch = Vec::new();
    while let Some(raw) = reader.next_row() {
        let raw = raw?;
        rows += 1;
        let checked = validate::check(op, &columns, &raw);
        if checked.is_ready() {
            fingerprints.push((fingerprint(op, &checked, &mut scratch), raw.line));
        }
    }
    let (ready, suspected) = suspect_duplicates(fingerprints);
    let mut scan = Scan {
        columns,
        delimiter,
        rows,
        ready,
        findings: BTreeMap::new(),
    };
    confirm_duplicates(path, op, &mut scan, suspected)?;
    Ok(scan)
}

/// Sorts (fingerprint, line) pairs and returns how many fingerprints are
/// distinct, and each later line with the first line sharing its
/// fingerprint. A sorted vector takes 16 bytes a row where a hash map took
/// over twice that at a million rows, and the scan must stay small.
fn suspect_duplicates(mut fingerprints: Vec<(u64, u64)>) -> (u64, Vec<(u64, u64)>) {
    fingerprints.sort_unstable();
    let mut distinct = 0;
    let mut suspected = Vec::new();
    for group in fingerprints.chunk_by(|a, b| a.0 == b.0) {
        distinct += 1;
        let first = group[0].1;
        suspected.extend(group[1..].iter().map(|(_, line)| (*line, first)));
    }
    (distinct, suspected)
}

/// A hash of the row's identity (see `Checked::identity`), fed byte by byte
/// into one reused buffer, so that no string is built per row; equal identities hash equal, and
/// `confirm_duplicates` compares the identities themselves.
fn fingerprint(op: &Operation, checked: &validate::Checked, scratch: &mut Vec<u8>) -> u64 {
    scratch.clear();
    for field in op.fields() {
        let value = checked.value(field).unwrap_or_default();
        scratch.extend(value.bytes().map(|b| b.to_ascii_lowercase()));
        scratch.push(0x1f);
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    hasher.write(scratch);
    hasher.finish()
}

/// Duplicates were found by a 64-bit fingerprint; re-reads the lines involved
/// so that a fingerprint collision can never skip a row that is not a
/// duplicate.
fn confirm_duplicates(
    path: &Path,
    op: &'static Operation,
    scan: &mut Scan,
    suspected: Vec<(u64, u64)>,
) -> Result<(), InputError> {
    if suspected.is_empty() {
        return Ok(());
    }
    let involved: HashSet<u64> = suspected.iter().flat_map(|(a, b)| [*a, *b]).collect();
    let mut identities: HashMap<u64, String> = HashMap::new();
    let mut reader = RecordReader::open(path, scan.delimiter)?;
    reader.next_header()?;
    while let Some(raw) = reader.next_row() {
        let raw = raw?;
        if involved.contains(&raw.line) {
            let checked = validate::check(op, &scan.columns, &raw);
            identities.insert(raw.line, checked.identity(op));
        }
    }
    for (line, first) in suspected {
        if identities.get(&line) == identities.get(&first) {
            scan.findings.insert(line, Finding::DuplicateOf(first));
        } else {
            scan.ready += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::DS100_CLEAR_PIN;
    use std::io::Write;

    fn scan_text(text: &str) -> Result<Scan, InputError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(text.as_bytes()).unwrap();
        scan(file.path(), &DS100_CLEAR_PIN, b',')
    }

    const U1: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";

    #[test]
    fn counts_rows_and_flags_later_duplicates() {
        let text = format!(
            "userId,tokenSerialNumber\n{U1},001\n{U1},002\n{},001\nbad,003\n",
            U1.to_uppercase()
        );
        let scan = scan_text(&text).unwrap();
        assert_eq!(scan.rows, 4);
        assert_eq!(scan.ready, 2);
        assert_eq!(scan.finding(4), Some(&Finding::DuplicateOf(2)));
        assert_eq!(scan.finding(3), None);
    }

    #[test]
    fn empty_file_says_which_columns_are_expected() {
        let err = scan_text("").unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        assert!(err.contains("userId, tokenSerialNumber"), "{err}");
    }

    #[test]
    fn every_repeat_points_at_the_earliest_line() {
        let (distinct, mut suspected) = suspect_duplicates(vec![(7, 9), (5, 2), (7, 3), (7, 4)]);
        suspected.sort_unstable();
        assert_eq!(distinct, 2);
        assert_eq!(suspected, vec![(4, 3), (9, 3)]);
    }

    #[test]
    fn header_only_is_zero_rows() {
        let scan = scan_text("userId,tokenSerialNumber\n").unwrap();
        assert_eq!((scan.rows, scan.ready), (0, 0));
    }
}
