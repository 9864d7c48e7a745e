//! Output: what the run tells the admin. The results CSV (one line per input
//! row, written as each result is known), the retry file of rows still to
//! do, the end-of-run summary and report, and the names those files get
//! ([`naming`]).

pub mod files;
pub mod naming;
mod retry;
mod summary;
mod writer;

pub use retry::{write_retry_file, InputRows, RetryError};
pub use summary::{RequestFigures, RunFacts, Summary, Verified};
pub use writer::{result_columns, OutputError, ResultsWriter, RESOLVED_FIELDS, RESULT_COLUMNS};
