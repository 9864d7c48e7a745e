//! Record-level reading: bytes to CSV records with their line numbers, with
//! encoding checks that turn a UTF-16 export, a spreadsheet saved as a ZIP or
//! a stray JSON file into one clear error instead of garbage rows.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use encoding_rs::Encoding;

use super::sheet::{CellKind, Sheet};
use super::source::{Form, Source};
use super::InputError;

/// One record as read, before any validation.
#[derive(Debug, Clone)]
pub struct RawRow {
    /// The line in the file where the record starts (the header is line 1).
    pub line: u64,
    pub record: csv::StringRecord,
}

/// Records of a CSV file or of a workbook's sheet, one stream either way.
pub struct RecordReader {
    /// The header given on the command line (`--columns`): the file's first
    /// record is then data.
    given_header: Option<csv::StringRecord>,
    inner: Inner,
}

enum Inner {
    Text(Box<TextReader>),
    Sheet {
        sheet: Arc<Sheet>,
        next: usize,
        current: RawRow,
    },
}

struct TextReader {
    path: PathBuf,
    /// `None` for UTF-8.
    encoding: Option<&'static Encoding>,
    /// Records still to pass over before the header (a `sep=;` line).
    skip: u8,
    csv: csv::Reader<BufReader<File>>,
    record: csv::ByteRecord,
    /// The row [`RecordReader::advance`] lends; its buffers are reused.
    current: RawRow,
    lines: LineCounter,
}

/// Turns a record's byte offset into the line it starts on. The csv crate's
/// own line numbers drift on CRLF files and blank lines, and admins look rows
/// up by the line their editor shows, so lines are counted from the bytes.
///
/// It also finds a carriage return that ends a record without a line feed
/// after it: the csv crate ends the record there, while an editor may show
/// both records on one line, so two rows would share one line number.
struct LineCounter {
    bytes: BufReader<File>,
    offset: u64,
    line: u64,
    /// The last byte passed over.
    last: u8,
    /// The line of the first bare carriage return between records.
    bare_cr: Option<u64>,
    /// The SHA-256 of the bytes passed over, when asked for: every byte of
    /// the file passes through here once, so the digest costs no read of
    /// its own.
    digest: Option<sha2::Sha256>,
}

impl LineCounter {
    /// `byte` is where the csv reader says a record begins: just after the
    /// previous record's terminator, before any further line breaks.
    fn line_of_record_at(&mut self, byte: u64) -> std::io::Result<u64> {
        while self.offset < byte {
            let buf = self.bytes.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            let take = buf.len().min((byte - self.offset) as usize);
            self.advance(take);
        }
        loop {
            let buf = self.bytes.fill_buf()?;
            let breaks = buf
                .iter()
                .take_while(|b| matches!(b, b'\r' | b'\n'))
                .count();
            let more = breaks == buf.len() && !buf.is_empty();
            let record_follows = breaks < buf.len();
            let bare_cr = bare_cr_in(&buf[..breaks], self.last, self.line, record_follows);
            self.bare_cr = self.bare_cr.or(bare_cr);
            self.advance(breaks);
            if !more {
                return Ok(self.line);
            }
        }
    }

    fn advance(&mut self, n: usize) {
        if let Ok(buf) = self.bytes.fill_buf() {
            if let Some(digest) = &mut self.digest {
                sha2::Digest::update(digest, &buf[..n]);
            }
            self.line += count_line_feeds(&buf[..n]);
            if let Some(&last) = buf[..n].last() {
                self.last = last;
            }
        }
        self.bytes.consume(n);
        self.offset += n as u64;
    }
}

/// The line of a CR not followed by LF among the line breaks between two
/// records, which start on `line`; `last` is the byte before them (the
/// previous record's terminator). A CR at the very end of the file splits
/// nothing.
fn bare_cr_in(breaks: &[u8], last: u8, mut line: u64, record_follows: bool) -> Option<u64> {
    let mut after_cr = last == b'\r';
    for &b in breaks {
        if after_cr && b != b'\n' {
            return Some(line);
        }
        line += u64::from(b == b'\n');
        after_cr = b == b'\r';
    }
    (after_cr && record_follows).then_some(line)
}

/// Counted in fixed-size chunks, which the compiler turns into vector
/// instructions: this runs over every byte of the file, twice.
fn count_line_feeds(bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(32);
    let mut count = 0u64;
    for chunk in &mut chunks {
        count += chunk.iter().map(|&b| u8::from(b == b'\n')).sum::<u8>() as u64;
    }
    count + chunks.remainder().iter().filter(|&&b| b == b'\n').count() as u64
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

const BARE_CR: &str = "a carriage return (CR) without a line feed ends this line outside quotes, \
so editors and this tool would disagree on where the row ends; save the file with LF or CRLF \
line endings, or quote the cell that holds the CR";

impl RecordReader {
    /// A UTF-8 CSV with the given delimiter.
    pub fn open(path: &Path, delimiter: u8) -> Result<Self, InputError> {
        Self::from_source(&Source::csv(path, delimiter))
    }

    /// The file as its [`Source`] says to read it.
    pub fn from_source(source: &Source) -> Result<Self, InputError> {
        let inner = match &source.form {
            Form::Text {
                delimiter,
                encoding,
                sep_line,
                ..
            } => {
                let mut text = TextReader::open(&source.path, *delimiter)?;
                text.encoding = *encoding;
                text.skip = u8::from(*sep_line);
                Inner::Text(Box::new(text))
            }
            Form::Sheet(sheet) => Inner::Sheet {
                sheet: sheet.clone(),
                next: 0,
                current: RawRow {
                    line: 0,
                    record: csv::StringRecord::new(),
                },
            },
        };
        Ok(RecordReader {
            given_header: source.columns.clone(),
            inner,
        })
    }

    /// Reads the header row, with its line (0 for a header given on the
    /// command line). `None` when the file holds no record at all.
    pub fn next_header_at(&mut self) -> Result<Option<(u64, csv::StringRecord)>, InputError> {
        if let Some(given) = self.given_header.take() {
            return Ok(Some((0, given)));
        }
        Ok(self
            .next_row()
            .transpose()?
            .map(|raw| (raw.line, raw.record)))
    }

    /// Reads the header row. `None` when the file holds no record at all.
    pub fn next_header(&mut self) -> Result<Option<csv::StringRecord>, InputError> {
        Ok(self.next_header_at()?.map(|(_, header)| header))
    }

    /// Reads the next record, skipping lines that are entirely empty.
    pub fn next_row(&mut self) -> Option<Result<RawRow, InputError>> {
        self.advance().map(|row| row.cloned())
    }

    /// [`Self::next_row`], lending the row instead of copying it: for a pass
    /// that only looks at each row.
    pub fn advance(&mut self) -> Option<Result<&RawRow, InputError>> {
        match &mut self.inner {
            Inner::Text(text) => text.advance(),
            Inner::Sheet {
                sheet,
                next,
                current,
            } => {
                let row = sheet.rows.get(*next)?;
                *next += 1;
                current.line = row.line;
                current.record.clone_from(&row.record);
                Some(Ok(current))
            }
        }
    }

    /// Keeps the SHA-256 of the file's bytes while reading, for
    /// [`Self::sha256`]. A workbook's was taken when it was loaded.
    pub fn digesting(self) -> Self {
        match self.inner {
            Inner::Text(text) => RecordReader {
                inner: Inner::Text(Box::new(text.digesting())),
                ..self
            },
            Inner::Sheet { .. } => self,
        }
    }

    /// The SHA-256 (lower-case hex) of the whole file's bytes, once every
    /// record was read; for text, `None` unless [`Self::digesting`].
    pub fn sha256(self) -> Result<Option<String>, InputError> {
        match self.inner {
            Inner::Text(text) => text.sha256(),
            Inner::Sheet { sheet, .. } => Ok(Some(sheet.sha256.clone())),
        }
    }

    /// The cells of the row just read that a workbook stored as numbers or
    /// dates; none for text.
    pub fn typed_cells(&self) -> &[(usize, CellKind)] {
        match &self.inner {
            Inner::Sheet { sheet, next, .. } if *next > 0 => sheet.rows[*next - 1].typed.as_slice(),
            _ => &[],
        }
    }
}

impl TextReader {
    fn open(path: &Path, delimiter: u8) -> Result<Self, InputError> {
        let io_err = |source| InputError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = File::open(path).map_err(io_err)?;
        let mut head = [0u8; 512];
        let len = read_up_to(&mut file, &mut head).map_err(io_err)?;
        sniff(path, &head[..len])?;
        let lines = LineCounter {
            bytes: BufReader::with_capacity(64 * 1024, File::open(path).map_err(io_err)?),
            offset: 0,
            line: 1,
            last: 0,
            bare_cr: None,
            digest: None,
        };
        let file = File::open(path).map_err(io_err)?;
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(64 * 1024)
            .from_reader(BufReader::with_capacity(64 * 1024, file));
        Ok(TextReader {
            path: path.to_owned(),
            encoding: None,
            skip: 0,
            csv,
            record: csv::ByteRecord::new(),
            current: RawRow {
                line: 0,
                record: csv::StringRecord::new(),
            },
            lines,
        })
    }

    /// Keeps the SHA-256 of the file's bytes while reading, for
    /// [`Self::sha256`].
    fn digesting(mut self) -> Self {
        self.lines.digest = Some(sha2::Digest::new());
        self
    }

    /// The SHA-256 (lower-case hex) of the whole file, once every record
    /// was read: the bytes after the last record's start are read here.
    /// `None` unless [`Self::digesting`].
    fn sha256(mut self) -> Result<Option<String>, InputError> {
        let Some(mut digest) = self.lines.digest.take() else {
            return Ok(None);
        };
        let io_err = |source| InputError::Io {
            path: self.path.clone(),
            source,
        };
        loop {
            let buf = self.lines.bytes.fill_buf().map_err(io_err)?;
            if buf.is_empty() {
                break;
            }
            sha2::Digest::update(&mut digest, buf);
            let n = buf.len();
            self.lines.bytes.consume(n);
        }
        Ok(Some(crate::identity::hex(&sha2::Digest::finalize(digest))))
    }

    fn advance(&mut self) -> Option<Result<&RawRow, InputError>> {
        loop {
            match self.csv.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => return Some(Err(self.csv_error(e))),
            }
            if self.record.len() == 1 && self.record[0].is_empty() {
                continue;
            }
            let byte = self.record.position().map_or(0, |p| p.byte());
            let line = match self.lines.line_of_record_at(byte) {
                Ok(line) => line,
                Err(source) => {
                    return Some(Err(InputError::Io {
                        path: self.path.clone(),
                        source,
                    }))
                }
            };
            if let Some(line) = self.lines.bare_cr.take() {
                return Some(Err(InputError::Csv {
                    path: self.path.clone(),
                    line,
                    what: BARE_CR.to_owned(),
                }));
            }
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            if let Some(encoding) = self.encoding {
                return Some(Ok(self.lend_decoded(encoding, line)));
            }
            return Some(self.lend_text(line));
        }
    }

    /// Moves the bytes just read into the lent row, handing the row's old
    /// buffers back for the next read.
    fn lend_text(&mut self, line: u64) -> Result<&RawRow, InputError> {
        let bytes = std::mem::take(&mut self.record);
        match csv::StringRecord::from_byte_record(bytes) {
            Ok(text) => {
                let old = std::mem::replace(&mut self.current.record, text);
                self.record = old.into_byte_record();
                self.current.line = line;
                Ok(&self.current)
            }
            Err(e) => {
                let column = e.utf8_error().field() + 1;
                self.record = e.into_byte_record();
                Err(InputError::Encoding {
                    path: self.path.clone(),
                    line,
                    column,
                    what: "invalid UTF-8 in this cell".to_owned(),
                })
            }
        }
    }

    /// [`Self::lend_text`] for a file in another ASCII-compatible encoding:
    /// the delimiter, quotes and line breaks are the same bytes, so the
    /// record is split first and each cell decoded after.
    fn lend_decoded(&mut self, encoding: &'static Encoding, line: u64) -> &RawRow {
        let record = &mut self.current.record;
        record.clear();
        for cell in self.record.iter() {
            record.push_field(&encoding.decode_without_bom_handling(cell).0);
        }
        self.current.line = line;
        &self.current
    }

    fn csv_error(&mut self, e: csv::Error) -> InputError {
        let byte = e.position().map_or(0, |p| p.byte());
        let line = self.lines.line_of_record_at(byte).unwrap_or(0);
        InputError::Csv {
            path: self.path.clone(),
            line,
            what: format!("unreadable CSV: {e}"),
        }
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// Recognises files that are not CSV text from their first bytes.
fn sniff(path: &Path, head: &[u8]) -> Result<(), InputError> {
    let not_csv = |what: &str| {
        Err(InputError::NotCsv {
            path: path.to_owned(),
            what: what.to_owned(),
        })
    };
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return not_csv("the file is UTF-16 text, not UTF-8 (Excel's \"Unicode text\" export)");
    }
    if head.starts_with(b"PK\x03\x04") {
        return not_csv("the file is a ZIP archive (an .xlsx workbook?), not CSV text");
    }
    if head.contains(&0) {
        return not_csv("the file contains NUL bytes: it is binary or UTF-16, not CSV text");
    }
    let text = head.strip_prefix(UTF8_BOM).unwrap_or(head);
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{') | Some(b'[')) {
        return not_csv("the file looks like JSON, not CSV");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn line_feeds_are_counted_in_and_after_whole_chunks() {
        let mut bytes = b"a\nb\r\n".repeat(20);
        bytes.extend_from_slice(b"\n\n\n");
        assert_eq!(count_line_feeds(&bytes), 43);
        assert_eq!(count_line_feeds(b""), 0);
    }

    fn reader_for(bytes: &[u8]) -> (tempfile::NamedTempFile, Result<RecordReader, InputError>) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        let reader = RecordReader::open(file.path(), b',');
        (file, reader)
    }

    fn lines(bytes: &[u8]) -> Vec<(u64, Vec<String>)> {
        let (_file, reader) = reader_for(bytes);
        let mut reader = reader.unwrap();
        std::iter::from_fn(|| reader.next_row())
            .map(|r| {
                let r = r.unwrap();
                (r.line, r.record.iter().map(str::to_owned).collect())
            })
            .collect()
    }

    #[test]
    fn bom_is_removed_and_crlf_read() {
        let rows = lines(b"\xEF\xBB\xBFuserId,serial\r\nu1,001\r\n");
        assert_eq!(rows[0].1, vec!["userId", "serial"]);
        assert_eq!(rows[1], (2, vec!["u1".to_owned(), "001".to_owned()]));
    }

    #[test]
    fn embedded_newlines_keep_the_starting_line() {
        let rows = lines(b"a,b\n\"x\ny\",1\nz,2\n");
        assert_eq!(rows[1].0, 2);
        assert_eq!(rows[1].1[0], "x\ny");
        assert_eq!(rows[2].0, 4);
    }

    #[test]
    fn crlf_blank_lines_and_embedded_newlines_count_like_an_editor() {
        let rows = lines(b"a,b\r\n\r\n\"x\r\ny\",1\r\n\r\n\r\nz,2");
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 3, 7]);
    }

    fn first_error(bytes: &[u8]) -> Option<String> {
        let (_file, reader) = reader_for(bytes);
        let mut reader = reader.unwrap();
        std::iter::from_fn(|| reader.next_row()).find_map(|r| r.err().map(|e| e.to_string()))
    }

    #[test]
    fn a_bare_cr_between_records_is_refused_on_its_line() {
        for (bytes, line) in [
            (&b"a,b\n1,2\r3,4\n"[..], 2),
            (&b"a,b\r1,2\n"[..], 1),
            (&b"a,b\n1,2\r\r\n3,4\n"[..], 2),
            (&b"a,b\n\"1\",2\r3,4\n"[..], 2),
        ] {
            let err = first_error(bytes).unwrap_or_else(|| panic!("{bytes:?} read"));
            assert!(
                err.contains(&format!(":{line}: a carriage return")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_cr_in_quotes_in_crlf_or_at_the_end_is_read() {
        for bytes in [
            &b"a,b\r\n\"1\r2\",3\r\n"[..],
            &b"a,b\n1,2\r"[..],
            &b"a,b\r\n\r\n1,2\r\n"[..],
        ] {
            assert_eq!(first_error(bytes), None, "{bytes:?}");
        }
    }

    #[test]
    fn blank_lines_are_skipped() {
        let rows = lines(b"a,b\n\n1,2\n\n");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].0, 3);
    }

    #[test]
    fn utf16_zip_json_and_nul_are_refused() {
        for (bytes, needle) in [
            (&b"\xFF\xFEu\0s\0"[..], "UTF-16"),
            (&b"PK\x03\x04rest"[..], "ZIP"),
            (&b"  {\"users\": []}"[..], "JSON"),
            (&b"a,b\n1,\x002\n"[..], "NUL"),
        ] {
            let (_f, result) = reader_for(bytes);
            let err = result.err().expect(needle).to_string();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        let (_f, reader) = reader_for(b"a,b\n1,2\n3,\xC3\x28\n");
        let mut reader = reader.unwrap();
        reader.next_row().unwrap().unwrap();
        reader.next_row().unwrap().unwrap();
        let err = reader.next_row().unwrap().unwrap_err().to_string();
        assert!(err.contains(":3:2: invalid UTF-8"), "{err}");
    }
}

#[cfg(test)]
mod digest_tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_digest_covers_every_byte_of_the_file() {
        use sha2::Digest as _;
        let bytes = b"\xEF\xBB\xBFa,b\r\n\r\n\"x\ny\",1\n2,3\n\n";
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        let mut reader = RecordReader::open(file.path(), b',').unwrap().digesting();
        while reader.advance().is_some() {}
        let expected = crate::identity::hex(&sha2::Sha256::digest(bytes));
        assert_eq!(reader.sha256().unwrap(), Some(expected));
    }
}
