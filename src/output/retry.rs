//! The retry file: the rows that still need doing (failed, not attempted,
//! invalid), in the input's own columns and delimiter, exactly as read, so
//! the admin can fix them and resubmit the file as it is. Only header cells
//! that start like a formula get a leading `'`.

use std::collections::BTreeSet;
use std::path::Path;

use super::{escape_formula, OutputError};
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
) -> Result<(), RetryError> {
    let csv_err = |source| OutputError::Csv {
        path: retry.to_owned(),
        source,
    };
    let mut reader = RecordReader::open(input, delimiter)?;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(retry)
        .map_err(csv_err)?;
    // Header cells are escaped like the results' header (no column the tool
    // reads starts like a formula); rows stay as read, to resubmit as they are.
    if let Some(header) = reader.next_header()? {
        let header: csv::StringRecord = header.iter().map(escape_formula).collect();
        writer.write_record(&header).map_err(csv_err)?;
    }
    while let Some(raw) = reader.next_row() {
        let raw = raw?;
        if lines.contains(&raw.line) {
            writer.write_record(&raw.record).map_err(csv_err)?;
        }
    }
    writer.flush().map_err(|source| OutputError::Io {
        path: retry.to_owned(),
        source,
    })?;
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
        write_retry_file(&input, b';', &BTreeSet::from([2, 4]), &retry).unwrap();
        assert_eq!(
            std::fs::read_to_string(&retry).unwrap(),
            "a;'=b\n1;=x\n3;\"z;w\"\n"
        );
    }
}
