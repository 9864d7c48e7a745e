//! The retry file: the rows that still need doing (failed, not attempted,
//! invalid), in the input's own columns and delimiter, exactly as read, so
//! the admin can fix them and resubmit the file as it is. Only header cells
//! that start like a formula get a leading `'`.

use std::collections::BTreeSet;
use std::path::Path;

use super::{files, OutputError};
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

/// Copies the header and the rows at `lines` from `input` into `retry`.
pub fn write_retry_file<E, R>(
    input: InputRows<Result<Option<csv::StringRecord>, E>, R>,
    delimiter: u8,
    lines: &BTreeSet<u64>,
    retry: &Path,
    force: bool,
) -> Result<(), RetryError<E>>
where
    E: std::error::Error + 'static,
    R: Iterator<Item = Result<(u64, csv::StringRecord), E>>,
{
    let header = input.header.map_err(RetryError::Input)?;
    let mut rows = input.rows;
    let mut input_error = None;
    files::replace_whole(retry, force, |file| {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_writer(file);
        match copy_lines(header.as_ref(), &mut rows, lines, &mut writer) {
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

/// The header and the rows at `lines`.
fn copy_lines<E>(
    header: Option<&csv::StringRecord>,
    rows: &mut impl Iterator<Item = Result<(u64, csv::StringRecord), E>>,
    lines: &BTreeSet<u64>,
    writer: &mut csv::Writer<&mut std::fs::File>,
) -> Result<(), CopyFailure<E>> {
    // Header cells are escaped like the results' header (no column the tool
    // reads starts like a formula); rows stay as read, to resubmit as they are.
    if let Some(header) = header {
        let header: csv::StringRecord = header.iter().map(escape_formula).collect();
        writer.write_record(&header)?;
    }
    for row in rows {
        let (line, record) = row.map_err(CopyFailure::Read)?;
        if lines.contains(&line) {
            writer.write_record(&record)?;
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
        write_retry_file(input, b';', &BTreeSet::from([2, 4]), &retry, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(&retry).unwrap(),
            "a;'=b\n1;=x\n3;\"z;w\"\n"
        );
    }
}
