//! The retry file: the rows that still need doing (failed, not attempted,
//! invalid), in the input's own columns and delimiter, exactly as read, so
//! the admin can fix them and resubmit the file as it is. Only header cells
//! that start like a formula get a leading `'`.

use std::collections::BTreeSet;
use std::path::Path;

use super::{escape_formula, files, OutputError};

use crate::input::{InputError, RecordReader};

#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Copies the header and the rows at `lines` from `input` into `retry`.
pub fn write_retry_file(
    input: &Path,
    delimiter: u8,
    lines: &BTreeSet<u64>,
    retry: &Path,
    force: bool,
) -> Result<(), RetryError> {
    let mut reader = RecordReader::open(input, delimiter)?;
    let mut input_error = None;
    files::replace_whole(retry, force, |file| {
        let mut writer = csv::WriterBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .from_writer(file);
        match copy_lines(&mut reader, lines, &mut writer) {
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
enum CopyFailure {
    Read(InputError),
    Write(csv::Error),
}

impl From<InputError> for CopyFailure {
    fn from(e: InputError) -> Self {
        CopyFailure::Read(e)
    }
}

impl From<csv::Error> for CopyFailure {
    fn from(e: csv::Error) -> Self {
        CopyFailure::Write(e)
    }
}

/// The header and the rows at `lines`.
fn copy_lines(
    reader: &mut RecordReader,
    lines: &BTreeSet<u64>,
    writer: &mut csv::Writer<&mut std::fs::File>,
) -> Result<(), CopyFailure> {
    // Header cells are escaped like the results' header (no column the tool
    // reads starts like a formula); rows stay as read, to resubmit as they are.
    if let Some(header) = reader.next_header()? {
        let header: csv::StringRecord = header.iter().map(escape_formula).collect();
        writer.write_record(&header)?;
    }
    while let Some(raw) = reader.next_row() {
        let raw = raw?;
        if lines.contains(&raw.line) {
            writer.write_record(&raw.record)?;
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
        write_retry_file(&input, b';', &BTreeSet::from([2, 4]), &retry, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(&retry).unwrap(),
            "a;'=b\n1;=x\n3;\"z;w\"\n"
        );
    }
}
