//! The results CSV. One writer owns the file; every result is written and
//! flushed the moment it is known, so a crash leaves a file that accounts for
//! every finished row. At the end of a run the file is rewritten in input
//! order, using an index of byte offsets rather than holding rows in memory.
//! Every line ends with the run's record (operation, tenant, input digest),
//! so a line copied or sorted elsewhere still says which run made it.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::{files, jsonl, Format};
use crate::identity::RunIdentity;
use crate::ops::Field;
use crate::outcome::{escape_formula, json_input_keys, one_line, RowResult, RESULT_COLUMNS};

/// The fields behind the `resolved_*` columns, in column order.
pub const RESOLVED_FIELDS: [Field; 2] = [Field::UserId, Field::TokenSerialNumber];

/// The full results header for an input header. Each name appears once:
/// an input column named like a results column is written `input.NAME`,
/// a repeated one `NAME_2`, as in JSON Lines (see
/// `outcome::json_input_keys`).
pub fn result_columns(input_header: &csv::StringRecord) -> csv::StringRecord {
    let keys = json_input_keys(input_header.iter());
    let mut header: csv::StringRecord = keys.iter().map(|k| escape_formula(k)).collect();
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
    #[error(
        "{path} is a symbolic link; refusing to write through it (pass --force if it is meant)"
    )]
    Symlink { path: PathBuf },
    #[error("{flag} {path} cannot be created: {reason}; nothing was sent")]
    Unusable {
        flag: String,
        path: PathBuf,
        reason: String,
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
    /// JSON Lines: the input's header names the keys, and rows wait in
    /// `pending` until the next flush.
    jsonl: Option<JsonlRows>,
    /// The run written in every row's `operation`, `tenant` and
    /// `input_sha256` columns.
    identity: RunIdentity,
    /// Standard output (`-o -`): rows stream out as they finish; nothing
    /// is synced or put back in order.
    to_stdout: bool,
    /// The change ticket written in every row's `change_ticket` column.
    ticket: String,
    /// The principals whose approvals an `apply` checked, in every row's
    /// `approved_by` column (`; ` between them; an array in JSON Lines).
    approvers: Vec<String>,
    csv: csv::Writer<File>,
    /// CSV rows rendered here and written out in one call once the writer
    /// has caught up, or once this much is waiting (see [`PENDING_MAX`]).
    rows: Vec<u8>,
    /// The cells every line ends with (the run's record, ticket and
    /// approvers), rendered once.
    tail: Vec<u8>,
    width: usize,
    last_line: u64,
    in_order: bool,
    /// Rows flushed to the operating system but not yet synced to the disk.
    unsynced: bool,
    /// Numbers and times are formatted here, one buffer for every row.
    cell: String,
    times: TimeText,
}

struct JsonlRows {
    /// The input columns' keys, distinct and clear of the results' own.
    keys: Vec<String>,
    pending: Vec<u8>,
}

impl ResultsWriter {
    /// Creates the results file and writes its header. Refuses to replace an
    /// existing file unless `force`. A symbolic link, which `force` allows,
    /// is resolved once here, so the rows written as they finish and the
    /// final sort go to the same file.
    pub fn create(
        path: &Path,
        input_header: &csv::StringRecord,
        identity: &RunIdentity,
        force: bool,
    ) -> Result<Self, OutputError> {
        Self::create_as(path, input_header, identity, Format::Csv, force)
    }

    /// Creates the results file in `format`: CSV with its header row, or
    /// JSON Lines with none. The path `-` is standard output.
    pub fn create_as(
        path: &Path,
        input_header: &csv::StringRecord,
        identity: &RunIdentity,
        format: Format,
        force: bool,
    ) -> Result<Self, OutputError> {
        let to_stdout = path.as_os_str() == "-";
        let file = match to_stdout {
            true => files::stdout_file().map_err(|source| OutputError::Io {
                path: path.to_owned(),
                source,
            })?,
            false => files::create_in_place(path, force)?,
        };
        let path = match force && !to_stdout {
            true => files::link_target(path),
            false => path.to_owned(),
        };
        let jsonl = (format == Format::Jsonl).then(|| JsonlRows {
            keys: crate::outcome::json_input_keys(input_header.iter()),
            pending: Vec::new(),
        });
        let mut writer = ResultsWriter {
            path,
            jsonl,
            identity: identity.clone(),
            to_stdout,
            ticket: String::new(),
            approvers: Vec::new(),
            csv: csv::WriterBuilder::new()
                .buffer_capacity(PENDING_MAX)
                .from_writer(file),
            rows: Vec::with_capacity(PENDING_MAX),
            tail: Vec::new(),
            width: input_header.len(),
            last_line: 0,
            in_order: true,
            unsynced: false,
            cell: String::new(),
            times: TimeText::default(),
        };
        if writer.jsonl.is_none() {
            let header = result_columns(input_header);
            writer.write_record_flushed(&header)?;
        }
        writer.render_tail();
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
        self.append(input, result)?;
        self.flush()
    }

    /// Writes one row's result into the buffer; [`Self::flush`] hands it to
    /// the operating system. For a caller that has more results in hand and
    /// flushes once it has written them all.
    pub fn append(
        &mut self,
        input: &csv::StringRecord,
        result: &RowResult,
    ) -> Result<(), OutputError> {
        // A report writes one line per item, so a row's items share a line.
        self.in_order &= result.line >= self.last_line;
        self.last_line = result.line;
        self.write_row(input, result)
            .map_err(|source| OutputError::Csv {
                path: self.path.clone(),
                source,
            })
    }

    /// Stamps every row with the run's change ticket.
    pub fn with_ticket(mut self, ticket: Option<&str>) -> Self {
        self.ticket = ticket.unwrap_or_default().to_owned();
        self.render_tail();
        self
    }

    /// Stamps every row with the principals whose approvals the run checked.
    pub fn with_approvers(mut self, approvers: &[String]) -> Self {
        self.approvers = approvers.to_vec();
        self.render_tail();
        self
    }

    /// The cells after `verified`, the same on every line, and the line end.
    fn render_tail(&mut self) {
        let identity = &self.identity;
        let ticket = escape_formula(&self.ticket);
        let approved_by = self.approvers.join("; ");
        let approved_by = escape_formula(&approved_by);
        let cells = [
            identity.operation.as_bytes(),
            identity.tenant.as_bytes(),
            identity.input_sha256.as_bytes(),
            ticket.as_bytes(),
            approved_by.as_bytes(),
        ];
        self.tail.clear();
        for cell in cells {
            push_cell(&mut self.tail, cell);
        }
        self.tail.pop();
        self.tail.push(b'\n');
    }

    /// The input's cells, then the result columns, rendered into `rows`
    /// (or the JSON Lines buffer).
    fn write_row(&mut self, input: &csv::StringRecord, result: &RowResult) -> csv::Result<()> {
        if let Some(jsonl) = &mut self.jsonl {
            self.times.format(result.finished_at, &mut self.cell);
            let (keys, pending) = (&jsonl.keys, &mut jsonl.pending);
            let stamp = jsonl::Stamp {
                run: &self.identity,
                ticket: &self.ticket,
                approvers: &self.approvers,
                finished_at: &self.cell,
            };
            jsonl::push_row(pending, keys, input, result, &stamp);
            if pending.len() >= PENDING_MAX {
                let written = { self.csv.get_ref() }.write_all(pending);
                pending.clear();
                written?;
            }
            return Ok(());
        }
        let out = &mut self.rows;
        for i in 0..self.width {
            push_cell(
                out,
                escape_formula(input.get(i).unwrap_or_default()).as_bytes(),
            );
        }
        push_number(out, result.line);
        push_cell(out, result.outcome.as_str().as_bytes());
        match result.http_status {
            Some(status) => push_number(out, status),
            None => push_cell(out, b""),
        }
        push_number(out, result.attempts);
        for text in [&result.message, &result.detail] {
            push_cell(out, escape_formula(&one_line(text, 500)).as_bytes());
        }
        self.times.format(result.finished_at, &mut self.cell);
        push_cell(out, self.cell.as_bytes());
        push_number(out, result.queued.as_millis());
        push_number(out, result.duration.as_millis());
        for field in RESOLVED_FIELDS {
            let value = result
                .resolved
                .iter()
                .find(|(f, _)| *f == field)
                .map(|(_, v)| v.as_str())
                .unwrap_or_default();
            push_cell(out, escape_formula(value).as_bytes());
        }
        push_cell(
            out,
            escape_formula(&one_line(&result.verified, 200)).as_bytes(),
        );
        out.extend_from_slice(&self.tail);
        if out.len() >= PENDING_MAX {
            self.write_rows()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), OutputError> {
        self.unsynced = true;
        if let Some(jsonl) = &mut self.jsonl {
            // Nothing goes through the CSV buffer in JSON Lines: the file is
            // written directly.
            let written = { self.csv.get_ref() }.write_all(&jsonl.pending);
            jsonl.pending.clear();
            written.map_err(|source| OutputError::Io {
                path: self.path.clone(),
                source,
            })?;
        }
        self.write_rows().map_err(|source| OutputError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.csv.flush().map_err(|source| OutputError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Syncs what was flushed to the disk, when anything was. The runner
    /// calls this once a second while rows finish, so a power loss costs at
    /// most the last second of results.
    pub fn sync(&mut self) -> Result<(), OutputError> {
        if !self.unsynced || self.to_stdout {
            return Ok(());
        }
        self.unsynced = false;
        self.csv
            .get_ref()
            .sync_data()
            .map_err(|source| OutputError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// A handle on the file for a sync made elsewhere (off the async
    /// runtime), when anything was flushed since the last sync; counts as
    /// synced from now on.
    pub fn take_unsynced(&mut self) -> Result<Option<File>, OutputError> {
        if !self.unsynced || self.to_stdout {
            return Ok(None);
        }
        self.unsynced = false;
        let file = self.csv.get_ref().try_clone();
        file.map(Some).map_err(|source| OutputError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Writes the rendered rows to the file, in one call.
    fn write_rows(&mut self) -> std::io::Result<()> {
        let written = { self.csv.get_ref() }.write_all(&self.rows);
        self.rows.clear();
        written
    }

    fn write_record_flushed(&mut self, record: &csv::StringRecord) -> Result<(), OutputError> {
        self.csv
            .write_record(record)
            .map_err(|source| OutputError::Csv {
                path: self.path.clone(),
                source,
            })?;
        self.flush()
    }

    /// Closes the file, rewriting it in input order if results arrived out
    /// of order.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.flush()?;
        self.sync()?;
        // Standard output cannot be read back: its rows stay in the order
        // they finished.
        let in_order = self.in_order || self.to_stdout;
        let is_jsonl = self.jsonl.is_some();
        let (path, width) = (self.path.clone(), self.width);
        drop(self);
        if in_order {
            return Ok(());
        }
        let (header_end, index) = match is_jsonl {
            true => jsonl::line_index(&path).map_err(|source| OutputError::Io {
                path: path.clone(),
                source,
            })?,
            false => line_index(&path, width).map_err(|source| OutputError::Csv {
                path: path.clone(),
                source,
            })?,
        };
        write_sorted(&path, header_end, index)
    }
}

/// What waits in memory before it is written out: a dry run's rows come
/// faster than the writer ever catches up.
const PENDING_MAX: usize = 64 * 1024;

/// One CSV cell and the comma after it, quoted as the csv crate quotes:
/// only when it holds a comma, a quote or a line break. Rows are rendered
/// here rather than through `csv::Writer`, whose field-by-field machinery
/// cost more than the rest of a dry run's row.
fn push_cell(out: &mut Vec<u8>, cell: &[u8]) {
    if cell
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        out.push(b'"');
        for &byte in cell {
            if byte == b'"' {
                out.push(b'"');
            }
            out.push(byte);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(cell);
    }
    out.push(b',');
}

/// A number as a cell, without the formatting machinery.
fn push_number(out: &mut Vec<u8>, value: impl Into<u128>) {
    let mut value = u64::try_from(value.into()).unwrap_or(u64::MAX);
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    push_cell(out, &digits[start..]);
}

/// RFC 3339 times to the millisecond. Everything up to the seconds changes
/// once a second, so it is formatted once a second, not once a row.
#[derive(Default)]
struct TimeText {
    second: Option<u64>,
    /// `2026-11-23T12:48:32`, the time up to its seconds.
    up_to_seconds: String,
}

impl TimeText {
    fn format(&mut self, at: SystemTime, out: &mut String) {
        use std::fmt::Write as _;
        out.clear();
        let Ok(since_epoch) = at.duration_since(UNIX_EPOCH) else {
            let _ = write!(out, "{}", humantime::format_rfc3339_millis(at));
            return;
        };
        let second = since_epoch.as_secs();
        if self.second != Some(second) {
            self.second = Some(second);
            self.up_to_seconds = humantime::format_rfc3339_seconds(at).to_string();
            self.up_to_seconds.pop(); // the closing `Z`
        }
        let millis = since_epoch.subsec_millis();
        out.push_str(&self.up_to_seconds);
        out.push('.');
        for digit in [millis / 100, millis / 10 % 10, millis % 10] {
            out.push(char::from(b'0' + digit as u8));
        }
        out.push('Z');
    }
}

/// A row's `line`, then where its bytes start and end.
pub(super) type RowSpan = (u64, u64, u64);

/// Where each row of a results file starts and ends, by its `line` column,
/// sorted, and where the header ends. Holds 24 bytes per row, never the rows
/// themselves.
fn line_index(path: &Path, input_width: usize) -> csv::Result<(u64, Vec<RowSpan>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(BufReader::new(File::open(path)?));
    reader.headers()?;
    let header_end = reader.position().byte();
    let mut index: Vec<RowSpan> = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let start = reader.position().byte();
        if !reader.read_record(&mut record)? {
            break;
        }
        let line = record
            .get(input_width)
            .and_then(|l| l.parse().ok())
            .unwrap_or(u64::MAX);
        index.push((line, start, reader.position().byte()));
    }
    index.sort_unstable();
    Ok((header_end, index))
}

/// Rewrites a results file in the order of `index`, copying each row's bytes
/// as they are, and replaces the file atomically so an interruption leaves
/// the unsorted original.
fn write_sorted(path: &Path, header_end: u64, index: Vec<RowSpan>) -> Result<(), OutputError> {
    let mut rows = ByteRanges::new(File::open(path).map_err(|source| OutputError::Io {
        path: path.to_owned(),
        source,
    })?);
    // The results file is this run's own: replacing it needs no --force.
    files::replace_whole(path, true, |file| {
        let mut sorted = BufWriter::with_capacity(64 * 1024, file);
        sorted.write_all(rows.get(0, header_end)?)?;
        for (_, start, end) in index {
            sorted.write_all(rows.get(start, end)?)?;
        }
        sorted.flush()
    })
}

/// Byte ranges of a file, read through a window. Results arrive out of order
/// only by the few rows in flight at once, so the next row wanted is nearly
/// always in the window already: one read per window, not one per row.
struct ByteRanges {
    file: File,
    window: Vec<u8>,
    window_start: u64,
}

impl ByteRanges {
    const WINDOW: usize = 256 * 1024;

    fn new(file: File) -> Self {
        ByteRanges {
            file,
            window: Vec::new(),
            window_start: 0,
        }
    }

    fn get(&mut self, start: u64, end: u64) -> std::io::Result<&[u8]> {
        let window_end = self.window_start + self.window.len() as u64;
        if start < self.window_start || end > window_end {
            self.fill_from(start, end)?;
        }
        let from = (start - self.window_start) as usize;
        Ok(&self.window[from..from + (end - start) as usize])
    }

    /// Reads a window starting a little before `start`, so rows just behind
    /// it are in the window too.
    fn fill_from(&mut self, start: u64, end: u64) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        let behind = (Self::WINDOW as u64 / 4).min(start);
        self.window_start = start - behind;
        let wanted = (end - self.window_start) as usize;
        self.window.resize(wanted.max(Self::WINDOW), 0);
        self.file.seek(SeekFrom::Start(self.window_start))?;
        let mut filled = 0;
        while filled < self.window.len() {
            match self.file.read(&mut self.window[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.window.truncate(filled);
        if filled < wanted {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
