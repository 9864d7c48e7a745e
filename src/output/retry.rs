//! The retry file: the rows that still need doing (failed, not attempted,
//! invalid), in the input's own columns and delimiter, exactly as read, so
//! the admin can fix them and resubmit the file as it is. Only header cells
//! that start like a formula get a leading `'`. After the input's columns
//! come the run's record (`identity::RETRY_COLUMNS`: operation, tenant,
//! input digest); an input that already has them (a retry file run again)
//! gets them refreshed in place, never twice.

use std::collections::BTreeSet;
use std::path::Path;

use super::{files, OutputError};
use crate::identity::{RunIdentity, RETRY_COLUMNS};
use crate::outcome::escape_formula;

/// Why the retry file could not be written: the input, read a second time
/// (`E`, the reader's own error), or the retry file itself.
#[derive(Debug, thiserror::Error)]
pub enum RetryError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Input(E),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// The input read again: its header, then each row with its line number.
pub struct InputRows<H, R> {
    pub header: H,
    pub rows: R,
}

/// Where and how the retry file is written, and the run it records.
pub struct Retry<'a> {
    pub delimiter: u8,
    /// The input lines to copy.
    pub lines: &'a BTreeSet<u64>,
    pub path: &'a Path,
    pub force: bool,
    pub identity: &'a RunIdentity,
}

/// Copies the header and the rows at `lines` from `input` into the retry
/// file, each with the run's record.
pub fn write_retry_file<E, R>(
    input: InputRows<Result<Option<csv::StringRecord>, E>, R>,
    retry: &Retry,
) -> Result<(), RetryError<E>>
where
    E: std::error::Error + 'static,
    R: Iterator<Item = Result<(u64, csv::StringRecord), E>>,
{
    let header = input.header.map_err(RetryError::Input)?;
    let mut rows = input.rows;
    let mut input_error = None;
    let record = Record::for_header(header.as_ref(), retry.identity);
    files::replace_whole(retry.path, retry.force, |file| {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(retry.delimiter)
            .flexible(true)
            .from_writer(file);
        let copied = copy_lines(
            header.as_ref(),
            &mut rows,
            retry.lines,
            &record,
            &mut writer,
        );
        match copied {
            Ok(()) => writer.flush(),
            Err(CopyFailure::Write(e)) => Err(e.into()),
            Err(CopyFailure::Read(e)) => {
                input_error = Some(e);
                Err(std::io::Error::other("the input could not be read again"))
            }
        }
    })
    .map_err(|e| match input_error.take() {
        Some(input) => RetryError::Input(input),
        None => RetryError::Output(e),
    })
}

/// Why copying stopped: the input, read a second time, or the retry file.
enum CopyFailure<E> {
    Read(E),
    Write(csv::Error),
}

impl<E> From<csv::Error> for CopyFailure<E> {
    fn from(e: csv::Error) -> Self {
        CopyFailure::Write(e)
    }
}

/// Where the run's record goes in each line: the columns the input
/// already has for it, or new ones after the input's header.
struct Record<'a> {
    positions: [usize; 3],
    cells: [&'a str; 3],
}

impl<'a> Record<'a> {
    fn for_header(header: Option<&csv::StringRecord>, identity: &'a RunIdentity) -> Self {
        let names: Vec<&str> = header.map(|h| h.iter().collect()).unwrap_or_default();
        let mut next = names.len();
        let positions = RETRY_COLUMNS.map(|column| {
            names.iter().position(|n| *n == column).unwrap_or_else(|| {
                next += 1;
                next - 1
            })
        });
        Record {
            positions,
            cells: identity.retry_cells(),
        }
    }

    /// `line` with the record's cells in place, padded to reach them.
    fn put_into(&self, line: &csv::StringRecord, cells: [&str; 3]) -> csv::StringRecord {
        let width = self.positions.iter().max().map_or(0, |m| m + 1);
        let mut out: Vec<&str> = line.iter().collect();
        if out.len() < width {
            out.resize(width, "");
        }
        for (position, cell) in self.positions.iter().zip(cells) {
            out[*position] = cell;
        }
        csv::StringRecord::from(out)
    }
}

/// The header and the rows at `lines`, each with the run's record.
fn copy_lines<E>(
    header: Option<&csv::StringRecord>,
    rows: &mut impl Iterator<Item = Result<(u64, csv::StringRecord), E>>,
    lines: &BTreeSet<u64>,
    record: &Record,
    writer: &mut csv::Writer<&mut std::fs::File>,
) -> Result<(), CopyFailure<E>> {
    // Header cells are escaped like the results' header (no column the tool
    // reads starts like a formula); rows stay as read, to resubmit as they are.
    if let Some(header) = header {
        let header: csv::StringRecord = header.iter().map(escape_formula).collect();
        writer.write_record(&record.put_into(&header, RETRY_COLUMNS))?;
    }
    for row in rows {
        let (line, row) = row.map_err(CopyFailure::Read)?;
        if lines.contains(&line) {
            writer.write_record(&record.put_into(&row, record.cells))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_the_chosen_rows_verbatim_and_escapes_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "a;=b\n1;=x\n2;y\n3;\"z;w\"\n").unwrap();
        let retry = dir.path().join("in.retry.csv");
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(b';')
            .from_path(&input)
            .unwrap();
        let header = reader.headers().cloned().map(Some);
        let rows = reader
            .records()
            .map(|r| r.map(|record| (record.position().unwrap().line(), record)));
        let input = InputRows { header, rows };
        let identity = RunIdentity {
            operation: "ds100-clear-pin",
            tenant: "https://t.example:443".into(),
            input: "in.csv".into(),
            input_sha256: "ab".into(),
        };
        let settings = Retry {
            delimiter: b';',
            lines: &BTreeSet::from([2, 4]),
            path: &retry,
            force: false,
            identity: &identity,
        };
        write_retry_file(input, &settings).unwrap();
        assert_eq!(
            std::fs::read_to_string(&retry).unwrap(),
            "a;'=b;retry.operation;retry.tenant;retry.input_sha256\n\
             1;=x;ds100-clear-pin;https://t.example:443;ab\n\
             3;\"z;w\";ds100-clear-pin;https://t.example:443;ab\n"
        );
    }

    #[test]
    fn a_retry_file_run_again_keeps_one_record_refreshed() {
        let identity = RunIdentity {
            operation: "sid-clear-pin",
            tenant: "t".into(),
            input: "in.csv".into(),
            input_sha256: "cd".into(),
        };
        let header = csv::StringRecord::from(vec![
            "a",
            "retry.operation",
            "retry.tenant",
            "retry.input_sha256",
            "b",
        ]);
        let record = Record::for_header(Some(&header), &identity);
        let row = csv::StringRecord::from(vec!["1", "old", "old", "old", "2"]);
        let out = record.put_into(&row, record.cells);
        assert_eq!(
            out.iter().collect::<Vec<_>>(),
            ["1", "sid-clear-pin", "t", "cd", "2"]
        );
        let short = record.put_into(&csv::StringRecord::from(vec!["1"]), record.cells);
        assert_eq!(short.len(), 4);
    }
}
