//! Output: what the run tells the admin. The results CSV (one line per input
//! row, written as each result is known), the retry file of rows still to
//! do, the undo file of what the run changed ([`UndoWriter`]), the
//! end-of-run summary and report, and the names those files get
//! ([`naming`]).

pub mod files;
mod jsonl;
pub mod naming;
mod retry;
mod summary;
mod undo;
mod writer;
mod xlsx;

/// How the results file is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// CSV: the input's columns, then the results' own.
    #[default]
    Csv,
    /// JSON Lines: one object per input row with the same fields.
    Jsonl,
    /// The CSV while the run goes, and an .xlsx workbook made from it at
    /// the end ([`write_workbook`]).
    Xlsx,
}

pub use retry::{write_retry_file, InputRows, Retry, RetryError};
pub use summary::{RequestFigures, RunFacts, Summary, Verified};
pub use undo::UndoWriter;
pub use writer::{result_columns, OutputError, ResultsWriter, RESOLVED_FIELDS};
pub use xlsx::{check_workbook, write_workbook};
