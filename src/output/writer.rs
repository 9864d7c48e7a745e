//! The results CSV. One writer owns the file; every result is written and
//! flushed the moment it is known, so a crash leaves a file that accounts for
//! every finished row. At the end of a run the file is rewritten in input
//! order, using an index of byte offsets rather than holding rows in memory.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use super::{escape_formula, one_line, RowResult};
use crate::ops::Field;

/// The columns appended after the input's own columns. The `resolved_*`
/// columns are always there, for every operation, so scripts reading results
/// see one shape; they are empty unless a lookup found the value.
pub const RESULT_COLUMNS: [&str; 10] = [
    "line",
    "outcome",
    "http_status",
    "attempts",
    "message",
    "detail",
    "finished_at",
    "duration_ms",
    "resolved_userId",
    "resolved_tokenSerialNumber",
];

/// The fields behind the `resolved_*` columns, in column order.
pub const RESOLVED_FIELDS: [Field; 2] = [Field::UserId, Field::TokenSerialNumber];

/// The full results header for an input header.
pub fn result_columns(input_header: &csv::StringRecord) -> csv::StringRecord {
    let mut header = input_header.clone();
    for column in RESULT_COLUMNS {
        header.push_field(column);
    }
    header
}

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path} already exists; pass --force to overwrite it, or choose another file with -o")]
    Exists { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
}

pub struct ResultsWriter {
    path: PathBuf,
    csv: csv::Writer<BufWriter<File>>,
    width: usize,
    last_line: u64,
    in_order: bool,
    scratch: csv::StringRecord,
}

impl ResultsWriter {
    /// Creates the results file and writes its header. Refuses to replace an
    /// existing file unless `force`.
    pub fn create(
        path: &Path,
        input_header: &csv::StringRecord,
        force: bool,
    ) -> Result<Self, OutputError> {
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .create_new(!force)
            .truncate(true)
            .open(path)
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => OutputError::Exists {
                    path: path.to_owned(),
                },
                _ => OutputError::Io {
                    path: path.to_owned(),
                    source,
                },
            })?;
        let mut writer = ResultsWriter {
            path: path.to_owned(),
            csv: csv::Writer::from_writer(BufWriter::new(file)),
            width: input_header.len(),
            last_line: 0,
            in_order: true,
            scratch: csv::StringRecord::new(),
        };
        let header = result_columns(input_header);
        writer.write_record_flushed(&header)?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one row's result and flushes it to the operating system.
    pub fn write(
        &mut self,
        input: &csv::StringRecord,
        result: &RowResult,
    ) -> Result<(), OutputError> {
        self.in_order &= result.line > self.last_line;
        self.last_line = result.line;
        let mut record = std::mem::take(&mut self.scratch);
        record.clear();
        for i in 0..self.width {
            record.push_field(&escape_formula(input.get(i).unwrap_or_default()));
        }
        push_result(&mut record, result);
        let written = self.write_record_flushed(&record);
        self.scratch = record;
        written
    }

    fn write_record_flushed(&mut self, record: &csv::StringRecord) -> Result<(), OutputError> {
        self.csv
            .write_record(record)
            .map_err(|source| OutputError::Csv {
                path: self.path.clone(),
                source,
            })?;
        self.csv.flush().map_err(|source| OutputError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Closes the file, rewriting it in input order if results arrived out
    /// of order.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.csv.flush().map_err(|source| OutputError::Io {
            path: self.path.clone(),
            source,
        })?;
        let in_order = self.in_order;
        let (path, width) = (self.path.clone(), self.width);
        drop(self);
        if in_order {
            return Ok(());
        }
        reorder(&path, width).map_err(|source| OutputError::Csv { path, source })
    }
}

fn push_result(record: &mut csv::StringRecord, result: &RowResult) {
    let status = result
        .http_status
        .map(|s| s.to_string())
        .unwrap_or_default();
    let finished = humantime::format_rfc3339_millis(result.finished_at).to_string();
    record.push_field(&result.line.to_string());
    record.push_field(result.outcome.as_str());
    record.push_field(&status);
    record.push_field(&result.attempts.to_string());
    record.push_field(&escape_formula(&one_line(&result.message, 500)));
    record.push_field(&escape_formula(&one_line(&result.detail, 500)));
    record.push_field(&finished);
    record.push_field(&result.duration.as_millis().to_string());
    for field in RESOLVED_FIELDS {
        let value = result
            .resolved
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        record.push_field(&escape_formula(value));
    }
}

/// Rewrites a results file sorted by its `line` column. Holds 16 bytes per
/// row (line and byte offset), never the rows themselves, and replaces the
/// file atomically so an interruption leaves the unsorted original.
fn reorder(path: &Path, input_width: usize) -> Result<(), csv::Error> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(BufReader::new(File::open(path)?));
    let header = reader.headers()?.clone();
    let mut index: Vec<(u64, u64)> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let offset = reader.position().byte();
        if !reader.read_record(&mut record)? {
            break;
        }
        let line = record
            .get(input_width)
            .and_then(|l| l.parse().ok())
            .unwrap_or(u64::MAX);
        index.push((line, offset));
    }
    index.sort_unstable();

    let sorted_path = path.with_extension("csv.sorting");
    let mut writer = csv::Writer::from_writer(BufWriter::new(File::create(&sorted_path)?));
    writer.write_record(&header)?;
    let mut source = reader.into_inner();
    for (_, offset) in index {
        source.seek(std::io::SeekFrom::Start(offset))?;
        let mut one = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&mut source);
        if one.read_record(&mut record)? {
            writer.write_record(&record)?;
        }
    }
    writer.into_inner().map_err(|e| e.into_error())?.flush()?;
    std::fs::rename(&sorted_path, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::Outcome;

    fn result(line: u64, message: &str) -> RowResult {
        let mut r = RowResult::unsent(line, Outcome::Failed, message);
        r.http_status = Some(404);
        r
    }

    #[test]
    fn out_of_order_results_end_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let header = csv::StringRecord::from(vec!["userId", "note"]);
        let mut writer = ResultsWriter::create(&path, &header, false).unwrap();
        for line in [3, 2, 5, 4] {
            let input = csv::StringRecord::from(vec![format!("u{line}"), "a,\"b\"\nc".into()]);
            writer.write(&input, &result(line, "multi\nline")).unwrap();
        }
        writer.finish().unwrap();
        let mut reader = csv::Reader::from_path(&path).unwrap();
        assert_eq!(reader.headers().unwrap().get(2), Some("line"));
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let lines: Vec<&str> = rows.iter().map(|r| r.get(2).unwrap()).collect();
        assert_eq!(lines, ["2", "3", "4", "5"]);
        assert_eq!(rows[0].get(0), Some("u2"));
        assert_eq!(rows[0].get(1), Some("a,\"b\"\nc"));
        assert_eq!(rows[0].get(6), Some("multi line"));
        assert!(!path.with_extension("csv.sorting").exists());
    }

    #[test]
    fn resolved_values_land_in_their_own_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let header = csv::StringRecord::from(vec!["email"]);
        let mut writer = ResultsWriter::create(&path, &header, false).unwrap();
        let mut looked_up = RowResult::unsent(2, Outcome::Ok, "");
        looked_up.resolved = vec![(Field::TokenSerialNumber, "0140".into())];
        writer
            .write(&csv::StringRecord::from(vec!["a@x"]), &looked_up)
            .unwrap();
        writer.finish().unwrap();
        let mut reader = csv::Reader::from_path(&path).unwrap();
        let header = reader.headers().unwrap().clone();
        let row = reader.records().next().unwrap().unwrap();
        let cell = |name: &str| row.get(header.iter().position(|h| h == name).unwrap());
        assert_eq!(cell("resolved_userId"), Some(""));
        assert_eq!(cell("resolved_tokenSerialNumber"), Some("0140"));
    }

    #[test]
    fn refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        std::fs::write(&path, "keep me").unwrap();
        let header = csv::StringRecord::from(vec!["a"]);
        let err = ResultsWriter::create(&path, &header, false).err().unwrap();
        assert!(err.to_string().contains("--force"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
        assert!(ResultsWriter::create(&path, &header, true).is_ok());
    }

    #[test]
    fn ragged_input_is_padded_and_formulas_escaped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        let header = csv::StringRecord::from(vec!["a", "b"]);
        let mut writer = ResultsWriter::create(&path, &header, false).unwrap();
        let input = csv::StringRecord::from(vec!["=cmd|' /C calc'!A0"]);
        writer.write(&input, &result(2, "-oops")).unwrap();
        writer.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert!(
            row.starts_with("'=cmd|' /C calc'!A0,,2,failed,404,0,'-oops,"),
            "{row}"
        );
    }
}
