//! Input: reading the admin's CSV as a stream, matching its header to the
//! operation's columns, and deciding per row whether it may be sent.
//!
//! A file is read twice. [`scan`] walks it once before anything is sent: it
//! rejects files that are not CSV text at all, counts rows, and finds the
//! problems that only show across rows (duplicates, hygiene, rows done in an
//! earlier run, see [`Done`]). [`Rows`] then streams it
//! again, row by row, for the run itself. Neither pass holds the file in
//! memory.

mod fingerprint;
mod header;
mod hygiene;
mod reader;
mod resume;
mod scan;
mod sheet;
mod source;
mod undo_stamps;
mod validate;

pub use header::{normalise_header, ColumnMap};
pub use reader::{RawRow, RecordReader};
pub use resume::{Done, ResumedTenants, DONE_PREFIX};
pub use scan::{join_lines, scan, scan_resuming, Finding, Scan};
pub use sheet::is_spreadsheet;
pub use source::{Reading, Source};
pub use undo_stamps::{UndoMismatch, UndoStamps};
pub use validate::{
    check as check_row, check_value, is_uuid_like, Checked, Verdict, MAX_SERIAL_LEN,
};

use std::path::{Path, PathBuf};

use crate::ops::Operation;

/// A file-level problem: the run cannot start. Each message names the file
/// and, where there is one, the line and column, and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the file is empty; expected a header row naming the columns {expected}")]
    Empty { path: PathBuf, expected: String },
    #[error("{path}: {what}; save it as CSV (UTF-8) and try again")]
    NotCsv { path: PathBuf, what: String },
    #[error("{path}: {what}")]
    Workbook { path: PathBuf, what: String },
    #[error("{path}:{line}:{column}: {what}; save the file as UTF-8, or name its encoding with --encoding (windows-1252 for Excel's CSV export)")]
    Encoding {
        path: PathBuf,
        line: u64,
        column: usize,
        what: String,
    },
    #[error("{path}{at}: missing column {missing} required by {operation}; found columns: {found_and_hint}")]
    MissingColumns {
        path: PathBuf,
        /// Where the header was read: `:1`, `, sheet Staff, row 1`.
        at: String,
        operation: &'static str,
        missing: String,
        /// The header's columns, then what to do: rename, `--column`, or
        /// another delimiter when that is all the file needs.
        found_and_hint: String,
    },
    #[error("{path}{at}: the first line looks like data, not column names ({cell:?} looks like {looks}). If the file has no header row, name its columns in order with --columns {columns} and the first line is read as data")]
    NoHeader {
        path: PathBuf,
        at: String,
        cell: String,
        looks: &'static str,
        /// A `--columns` value guessed from the cells.
        columns: String,
    },
    #[error(
        "{path}{at}: --column {rename}: the header has no such column; found columns: {found}"
    )]
    RenamedColumnMissing {
        path: PathBuf,
        at: String,
        rename: String,
        found: String,
    },
    #[error("{path}{at}: columns {first} and {second} both mean {field}; keep one of them, or say which with --column {field}=HEADER")]
    DuplicateColumn {
        path: PathBuf,
        at: String,
        field: &'static str,
        first: usize,
        second: usize,
    },
    #[error("{path}:{line}: {what}")]
    Csv {
        path: PathBuf,
        line: u64,
        what: String,
    },
}

impl InputError {
    /// The same error naming `shown` where it named `read`: standard input
    /// is read from a private spool file, but shown as `-`.
    pub fn shown_as(mut self, read: &Path, shown: &Path) -> Self {
        let (InputError::Io { path, .. }
        | InputError::Empty { path, .. }
        | InputError::NotCsv { path, .. }
        | InputError::Workbook { path, .. }
        | InputError::Encoding { path, .. }
        | InputError::MissingColumns { path, .. }
        | InputError::DuplicateColumn { path, .. }
        | InputError::NoHeader { path, .. }
        | InputError::RenamedColumnMissing { path, .. }
        | InputError::Csv { path, .. }) = &mut self;
        if path == read {
            *path = shown.to_owned();
        }
        self
    }
}

/// One input row on its way through the run: its raw record (copied to the
/// results untouched), the canonical values the operation needs, and whether
/// it may be sent.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: u64,
    pub record: csv::StringRecord,
    pub checked: Checked,
    /// `apply`: what the plan holds for this row.
    pub planned: Option<Box<crate::outcome::Planned>>,
}

/// Streams the rows of a file that [`scan`] accepted, each checked against
/// the operation and the scan's cross-row findings.
pub struct Rows<'a> {
    reader: RecordReader,
    columns: &'a ColumnMap,
    op: &'static Operation,
    scan: &'a Scan,
}

impl<'a> Rows<'a> {
    pub fn open(op: &'static Operation, scan: &'a Scan) -> Result<Self, InputError> {
        let mut reader = RecordReader::from_source(&scan.source)?;
        reader.next_header()?;
        Ok(Rows {
            reader,
            columns: &scan.columns,
            op,
            scan,
        })
    }
}

impl Iterator for Rows<'_> {
    type Item = Result<Row, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        let raw = match self.reader.next_row()? {
            Ok(raw) => raw,
            Err(e) => return Some(Err(e)),
        };
        let mut checked = validate::check(self.op, self.columns, &raw);
        for finding in self.scan.findings_for(raw.line) {
            checked.apply(finding);
        }
        Some(Ok(Row {
            line: raw.line,
            record: raw.record,
            checked,
            planned: None,
        }))
    }
}
