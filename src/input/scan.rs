//! The pass before the run: one streaming read of the whole file that
//! rejects what is not CSV, counts rows, and finds what only shows across
//! rows: duplicates, one serial claimed by two users, serials a spreadsheet
//! shortened, formula-like cells, and rows an earlier run already did.
//! Nothing is sent until the scan has read the last line, so a bad line
//! 90,000 stops the run before row 1 is touched, and a dry run reports the
//! same findings the real run acts on.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use super::fingerprint::Fingerprinter;
use super::header::Provenance;
use super::hygiene::{Hygiene, SecondLook};
use super::sheet::CellKind;
use super::{validate, Checked, ColumnMap, Done, InputError, RecordReader, Source, UndoStamps};
use crate::ops::{Field, Operation};

/// Something about one row that only the whole file (or an earlier run)
/// shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The same row appeared earlier, on this line; the row is skipped.
    DuplicateOf(u64),
    /// An earlier run's results say this row is done; it is skipped.
    DoneEarlier { file: String, line: u64 },
    /// The serial also appears with another user; the row is not sent.
    SharedSerial { field: Field, lines: Vec<u64> },
    /// All digits and shorter than the column's usual length: a spreadsheet
    /// may have dropped leading zeros. The row still runs.
    ShortSerial {
        field: Field,
        length: usize,
        usual: usize,
    },
    /// A cell a spreadsheet would run as a formula. The row still runs.
    FormulaCell { column: usize, name: String },
    /// A workbook stored this serial as a number, which keeps no leading
    /// zeros. The row still runs.
    NumberCell { field: Field, cell: String },
    /// A workbook stored this identifier as a date: what was typed is lost.
    /// The row is invalid.
    DateCell { field: Field, cell: String },
}

impl Finding {
    /// The heading this finding is listed under in the summary.
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::DuplicateOf(_) => "duplicate rows (skipped)",
            Finding::DoneEarlier { .. } => "done in an earlier run (skipped)",
            Finding::SharedSerial { .. } => "same serial on different users (invalid)",
            Finding::ShortSerial { .. } => "serials that may have lost leading zeros",
            Finding::FormulaCell { .. } => "cells that start like a formula (= + - @, tab, CR)",
            Finding::NumberCell { .. } => {
                "serials stored as numbers in the workbook (leading zeros may be lost)"
            }
            Finding::DateCell { .. } => "identifiers stored as dates in the workbook (invalid)",
        }
    }

    /// What the row's message says about it.
    pub fn message(&self) -> String {
        match self {
            Finding::DuplicateOf(first) => format!("duplicate of line {first}"),
            Finding::DoneEarlier { file, line } => {
                format!("{}{file} (line {line}); not sent again", super::DONE_PREFIX)
            }
            Finding::SharedSerial { field, lines } => format!(
                "{field} also belongs to another user in this file (lines {}); fix the file so each serial has one user",
                join_lines(lines, 10)
            ),
            Finding::ShortSerial {
                field,
                length,
                usual,
            } => format!(
                "{field} has {length} digits where the column usually has {usual}: did a spreadsheet drop leading zeros? Check the serial"
            ),
            Finding::FormulaCell { column, name } => format!(
                "column {column} ({name}) starts like a spreadsheet formula; it is written to the results with a leading '"
            ),
            Finding::NumberCell { field, cell } => format!(
                "{cell} holds {field} as a number, which keeps no leading zeros: check the serial, or format the column as Text"
            ),
            Finding::DateCell { field, cell } => format!(
                "{cell} holds a date where {field} belongs: the spreadsheet turned what was typed into a date; format the column as Text and type the value again"
            ),
        }
    }
}

impl Finding {
    /// Whether the finding stops a row that is not a duplicate from being sent.
    fn blocks_unique_row(&self) -> bool {
        matches!(
            self,
            Finding::DoneEarlier { .. } | Finding::SharedSerial { .. }
        )
    }
}

/// `2, 5, 9` with at most `max` numbers, then `and N more`.
pub fn join_lines(lines: &[u64], max: usize) -> String {
    let shown: Vec<String> = lines.iter().take(max).map(u64::to_string).collect();
    match lines.len().saturating_sub(max) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// What the scan learnt about a file.
#[derive(Debug)]
pub struct Scan {
    pub columns: ColumnMap,
    /// How the file was read; every later read reads it the same way.
    pub source: Source,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Rows that will be sent: valid, not duplicates, not done earlier, not
    /// in conflict with another row.
    pub ready: u64,
    /// The SHA-256 of the file's bytes (lower-case hex), worked out during
    /// the scan's read.
    pub sha256: String,
    /// What an undo file given as input says about where and what it
    /// undoes; `None` for any other input.
    pub undo_stamps: Option<UndoStamps>,
    findings: BTreeMap<u64, Vec<Finding>>,
}

impl Scan {
    /// A scan of rows read from elsewhere than a CSV file (a plan's
    /// entries): their columns and counts, with no cross-row findings.
    pub fn of_rows(
        columns: ColumnMap,
        source: Source,
        (rows, ready): (u64, u64),
        sha256: String,
    ) -> Scan {
        Scan {
            columns,
            source,
            rows,
            ready,
            sha256,
            undo_stamps: None,
            findings: BTreeMap::new(),
        }
    }

    pub fn findings_for(&self, line: u64) -> &[Finding] {
        self.findings.get(&line).map_or(&[], Vec::as_slice)
    }

    pub fn findings(&self) -> impl Iterator<Item = (u64, &Finding)> {
        self.findings
            .iter()
            .flat_map(|(line, fs)| fs.iter().map(move |f| (*line, f)))
    }

    /// One line per kind of finding, naming the lines involved.
    pub fn report(&self) -> Vec<String> {
        let mut by_kind: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
        for (line, finding) in self.findings() {
            by_kind.entry(finding.kind()).or_default().push(line);
        }
        by_kind
            .into_iter()
            .map(|(kind, lines)| format!("{kind}: line {}", join_lines(&lines, 20)))
            .collect()
    }

    fn add(&mut self, line: u64, finding: Finding) {
        self.findings.entry(line).or_default().push(finding);
    }
}

/// Reads the whole file once, and the rows a fingerprint made suspect a
/// second time. File-level problems are errors; row-level problems are left
/// for the run to report row by row.
pub fn scan(path: &Path, op: &'static Operation, delimiter: u8) -> Result<Scan, InputError> {
    scan_resuming(Source::csv(path, delimiter), op, &Done::default())
}

/// [`scan`] of a [`Source`], also marking rows whose identity is in `done`
/// as done earlier. A file guessed to be UTF-8 that turns out not to be is
/// read again as Windows-1252.
pub fn scan_resuming(
    source: Source,
    op: &'static Operation,
    done: &Done,
) -> Result<Scan, InputError> {
    let fallback = source.as_windows_1252();
    match (scan_once(source, op, done), fallback) {
        (Err(InputError::Encoding { .. }), Some(again)) => scan_once(again, op, done),
        (result, _) => result,
    }
}

fn scan_once(source: Source, op: &'static Operation, done: &Done) -> Result<Scan, InputError> {
    let path = source.path.as_path();
    let mut reader = RecordReader::from_source(&source)?.digesting();
    let (line, header) = reader.next_header_at()?.ok_or_else(|| InputError::Empty {
        path: path.to_owned(),
        expected: op
            .required
            .iter()
            .map(|f| f.wire_name())
            .collect::<Vec<_>>()
            .join(", "),
    })?;
    let at = source.header_at(line);
    // An earlier run's output given as input is refused row by row, as its
    // record of the operation says (a file may hold rows of several runs).
    let provenance = Provenance::of(&header);
    let columns = ColumnMap::build_at(path, &at, header, op, &source.renames)?;
    let mut first = FirstRead::of(reader, op, &columns, done, (&source, provenance))?;
    let mut scan = Scan {
        columns,
        source,
        rows: first.rows,
        ready: 0,
        sha256: first.sha256,
        undo_stamps: first.undo_stamps.take(),
        findings: BTreeMap::new(),
    };
    for (line, finding) in std::mem::take(&mut first.typed) {
        scan.add(line, finding);
    }
    let repeated = repeated(first.identity_prints);
    let mut second = first.hygiene.suspects();
    let duplicates = if repeated.is_empty() && !second.is_needed() {
        HashSet::new()
    } else {
        read_again(op, &mut scan, &repeated, &mut second)?
    };
    for (line, file, earlier) in first.done_earlier {
        if !duplicates.contains(&line) {
            scan.add(
                line,
                Finding::DoneEarlier {
                    file,
                    line: earlier,
                },
            );
        }
    }
    for (line, finding) in second.findings() {
        scan.add(line, finding);
    }
    let blocked = scan
        .findings
        .values()
        .filter(|fs| fs.iter().any(Finding::blocks_unique_row))
        .count() as u64;
    scan.ready = first.valid - duplicates.len() as u64 - blocked;
    Ok(scan)
}

/// What one streaming read learns, in a few bytes per row.
struct FirstRead {
    rows: u64,
    valid: u64,
    /// The identity fingerprint of every valid row, in file order.
    identity_prints: Vec<u64>,
    hygiene: Hygiene,
    /// (line, earlier results file, line there).
    done_earlier: Vec<(u64, String, u64)>,
    /// Findings about workbook cells stored as numbers or dates.
    typed: Vec<(u64, Finding)>,
    sha256: String,
    undo_stamps: Option<UndoStamps>,
}

impl FirstRead {
    fn of(
        mut reader: RecordReader,
        op: &'static Operation,
        columns: &ColumnMap,
        done: &Done,
        (source, provenance): (&Source, Provenance),
    ) -> Result<FirstRead, InputError> {
        let mut first = FirstRead {
            rows: 0,
            valid: 0,
            identity_prints: Vec::new(),
            hygiene: Hygiene::new(op, columns),
            done_earlier: Vec::new(),
            typed: Vec::new(),
            sha256: String::new(),
            undo_stamps: UndoStamps::of(&columns.header, op),
        };
        let mut prints = Fingerprinter::default();
        let mut checked = Checked::default();
        loop {
            let line = match reader.advance() {
                None => break,
                Some(raw) => {
                    let raw = raw?;
                    provenance.check(&source.path, raw.line, &raw.record, op)?;
                    if let Some(stamps) = &mut first.undo_stamps {
                        stamps.look_at(raw.line, &raw.record);
                    }
                    first.rows += 1;
                    first.hygiene.look_at_cells(raw);
                    validate::check_into(op, columns, raw, &mut checked);
                    raw.line
                }
            };
            let typed = typed_findings(op, columns, source, line, reader.typed_cells());
            let has_date = typed.iter().any(|f| matches!(f, Finding::DateCell { .. }));
            first.typed.extend(typed.into_iter().map(|f| (line, f)));
            if !checked.is_ready() || has_date {
                continue;
            }
            first.valid += 1;
            first
                .identity_prints
                .push(identity_print(&mut prints, op, &checked));
            first.hygiene.look_at_row(&checked);
            if done.is_empty() {
                continue;
            }
            if let Some((file, earlier)) = done.find(&checked.identity(op)) {
                first.done_earlier.push((line, file.to_owned(), earlier));
            }
        }
        first.sha256 = reader.sha256()?.unwrap_or_default();
        Ok(first)
    }
}

/// What a workbook's number and date cells mean in the operation's
/// columns: a number in a serial column may have lost leading zeros, a date
/// in any of them is not what was typed.
fn typed_findings(
    op: &'static Operation,
    columns: &ColumnMap,
    source: &Source,
    line: u64,
    typed: &[(usize, CellKind)],
) -> Vec<Finding> {
    typed
        .iter()
        .filter_map(|&(column, kind)| {
            let field = op.fields().find(|f| columns.position(*f) == Some(column))?;
            let cell = source.cell(column, line);
            match kind {
                CellKind::Date => Some(Finding::DateCell { field, cell }),
                CellKind::Number
                    if matches!(field, Field::TokenSerialNumber | Field::DeviceSerialNumber) =>
                {
                    Some(Finding::NumberCell { field, cell })
                }
                CellKind::Number => None,
            }
        })
        .collect()
}

fn identity_print(prints: &mut Fingerprinter, op: &Operation, checked: &Checked) -> u64 {
    prints.of(op.fields().map(|f| checked.value(f).unwrap_or_default()))
}

/// The fingerprints that occur more than once.
fn repeated(mut prints: Vec<u64>) -> HashSet<u64> {
    prints.sort_unstable();
    prints
        .windows(2)
        .filter(|pair| pair[0] == pair[1])
        .map(|pair| pair[0])
        .collect()
}

/// The second read: rows whose identity fingerprint repeats are compared by
/// their identity itself, so a fingerprint collision can never skip a row
/// that is not a duplicate; distinct rows go to the hygiene's second look.
/// Returns the lines that are duplicates.
fn read_again(
    op: &'static Operation,
    scan: &mut Scan,
    repeated: &HashSet<u64>,
    second: &mut SecondLook,
) -> Result<HashSet<u64>, InputError> {
    let mut reader = RecordReader::from_source(&scan.source)?;
    reader.next_header()?;
    let mut prints = Fingerprinter::default();
    let mut first_seen: HashMap<String, u64> = HashMap::new();
    let mut duplicates = HashSet::new();
    let mut checked = Checked::default();
    while let Some(raw) = reader.advance() {
        let raw = raw?;
        validate::check_into(op, &scan.columns, raw, &mut checked);
        let dated =
            (scan.findings_for(raw.line).iter()).any(|f| matches!(f, Finding::DateCell { .. }));
        if !checked.is_ready() || dated {
            continue;
        }
        if repeated.contains(&identity_print(&mut prints, op, &checked)) {
            match first_seen.entry(checked.identity(op)) {
                Entry::Occupied(first) => {
                    scan.add(raw.line, Finding::DuplicateOf(*first.get()));
                    duplicates.insert(raw.line);
                    continue;
                }
                Entry::Vacant(slot) => {
                    slot.insert(raw.line);
                }
            }
        }
        second.look_at_row(raw.line, &checked);
    }
    Ok(duplicates)
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
        assert_eq!(scan.findings_for(4), &[Finding::DuplicateOf(2)]);
        assert!(scan.findings_for(3).is_empty());
    }

    const U2: &str = "a833bdcd-b6d1-beb1-88dc-97e5aab5fe3d";

    #[test]
    fn shared_serials_block_every_row_involved() {
        let text = format!("userId,tokenSerialNumber\n{U1},001\n{U2},001\n{U1},002\n{U2},001\n");
        let scan = scan_text(&text).unwrap();
        assert!(matches!(
            scan.findings_for(2),
            [Finding::SharedSerial { lines, .. }] if lines == &[3]
        ));
        assert_eq!(scan.findings_for(5), &[Finding::DuplicateOf(3)]);
        assert_eq!(scan.ready, 1, "only line 4 is sent");
    }

    #[test]
    fn short_all_digit_serials_and_formula_cells_are_warned_about() {
        let text = format!(
            "userId,tokenSerialNumber,note\n{U1},014010008038,a\n{U1},014010008039,=1+1\n{U1},14010008031,b\n{U1},ABC,c\n"
        );
        let scan = scan_text(&text).unwrap();
        assert!(matches!(
            scan.findings_for(4),
            [Finding::ShortSerial {
                length: 11,
                usual: 12,
                ..
            }]
        ));
        assert!(
            scan.findings_for(5).is_empty(),
            "letters are not a dropped zero"
        );
        assert!(matches!(
            scan.findings_for(3),
            [Finding::FormulaCell { column: 3, .. }]
        ));
        assert_eq!(scan.ready, 4, "warnings do not stop rows");
        let report = scan.report().join("\n");
        assert!(report.contains("lost leading zeros: line 4"), "{report}");
    }

    #[test]
    fn rows_done_earlier_are_found_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let previous = dir.path().join("old.results.csv");
        std::fs::write(
            &previous,
            format!("userId,tokenSerialNumber,line,outcome,http_status,attempts,message,operation,tenant\n{},002,9,ok,200,1,,ds100-clear-pin,t\n", U1.to_uppercase()),
        )
        .unwrap();
        let done = Done::load(&[previous], &DS100_CLEAR_PIN).unwrap();
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(file, "userId,tokenSerialNumber\n{U1},001\n{U1}, 002\n").unwrap();
        let source = Source::csv(file.path(), b',');
        let scan = scan_resuming(source, &DS100_CLEAR_PIN, &done).unwrap();
        assert!(matches!(
            scan.findings_for(3),
            [Finding::DoneEarlier { line: 9, .. }]
        ));
        assert_eq!(scan.ready, 1);
    }

    #[test]
    fn empty_file_says_which_columns_are_expected() {
        let err = scan_text("").unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        assert!(err.contains("userId, tokenSerialNumber"), "{err}");
    }

    #[test]
    fn header_only_is_zero_rows() {
        let scan = scan_text("userId,tokenSerialNumber\n").unwrap();
        assert_eq!((scan.rows, scan.ready), (0, 0));
    }
}
