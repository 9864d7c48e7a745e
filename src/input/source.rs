//! What the input file is and how to read it, decided once before the scan:
//! a workbook (and which sheet), or text with its delimiter (given, a
//! `sep=;` first line, or counted in the header) and its encoding (given,
//! UTF-8, or Windows-1252 when the bytes are not UTF-8, as Excel's "CSV"
//! export writes in much of Europe). Every later read of the file goes
//! through the [`Source`], so each pass reads it the same way.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use encoding_rs::Encoding;

use super::sheet::{self, Sheet};
use super::InputError;
use crate::ops::Field;

/// How the admin asked the input to be read; `None` leaves it to detection.
#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub delimiter: Option<u8>,
    pub encoding: Option<&'static Encoding>,
    /// The sheet of a workbook (`--sheet`); the first one otherwise.
    pub sheet: Option<String>,
    /// The columns' names when the file has no header row (`--columns`).
    pub columns: Option<Vec<String>>,
    /// A header of the file that holds an operation's field (`--column`).
    pub renames: Vec<(Field, String)>,
}

/// The input as it is read: where, in what form, with what header.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub form: Form,
    /// Names for a file without a header row: its first line is data.
    pub columns: Option<csv::StringRecord>,
    pub renames: Vec<(Field, String)>,
}

#[derive(Debug, Clone)]
pub enum Form {
    Text {
        delimiter: u8,
        /// `None` for UTF-8.
        encoding: Option<&'static Encoding>,
        /// The encoding was guessed, not given: a later byte that is not
        /// UTF-8 makes the scan read the file again as Windows-1252.
        guessed: bool,
        /// The first line is Excel's `sep=;` and is not a record.
        sep_line: bool,
    },
    Sheet(Arc<Sheet>),
}

/// How much of a text file the delimiter and encoding are read from.
const HEAD: usize = 64 * 1024;

impl Source {
    /// A plain UTF-8 CSV with the given delimiter: what a results file is.
    pub fn csv(path: &Path, delimiter: u8) -> Source {
        Source {
            path: path.to_owned(),
            form: Form::Text {
                delimiter,
                encoding: None,
                guessed: false,
                sep_line: false,
            },
            columns: None,
            renames: Vec::new(),
        }
    }

    /// Looks at the file and decides how to read it.
    pub fn open(path: &Path, reading: &Reading) -> Result<Source, InputError> {
        let form = match (sheet::is_spreadsheet(path), &reading.sheet) {
            (true, wanted) => {
                refuse_text_options(path, reading)?;
                Form::Sheet(Arc::new(sheet::load(path, wanted.as_deref())?))
            }
            (false, None) => text_form(path, reading)?,
            (false, Some(_)) => {
                return Err(InputError::Workbook {
                    path: path.to_owned(),
                    what: "--sheet names a sheet of a workbook, and this file is read as CSV text (a workbook is named .xlsx, .xlsm, .xlsb, .xls or .ods)".to_owned(),
                })
            }
        };
        Ok(Source {
            path: path.to_owned(),
            form,
            columns: reading
                .columns
                .as_ref()
                .map(|names| csv::StringRecord::from(names.clone())),
            renames: reading.renames.clone(),
        })
    }

    /// The same file read as Windows-1252, when UTF-8 was only a guess.
    pub fn as_windows_1252(&self) -> Option<Source> {
        let Form::Text {
            delimiter,
            encoding: None,
            guessed: true,
            sep_line,
        } = self.form
        else {
            return None;
        };
        let mut again = self.clone();
        again.form = Form::Text {
            delimiter,
            encoding: Some(encoding_rs::WINDOWS_1252),
            guessed: true,
            sep_line,
        };
        Some(again)
    }

    /// The delimiter rows are written back with (the retry file): the
    /// input's own, or a comma for a workbook.
    pub fn delimiter(&self) -> u8 {
        match self.form {
            Form::Text { delimiter, .. } => delimiter,
            Form::Sheet(_) => b',',
        }
    }

    /// Where the header was read, after the file's name: `:1`, `:2` under a
    /// `sep=` line, `, sheet Staff, row 1`, or ` (--columns)`.
    pub fn header_at(&self, line: u64) -> String {
        match (&self.form, &self.columns) {
            (_, Some(_)) => " (--columns)".to_owned(),
            (Form::Sheet(sheet), None) => format!(", sheet {}, row {line}", sheet.name),
            (Form::Text { .. }, None) => format!(":{line}"),
        }
    }

    /// A cell of a workbook, as the spreadsheet names it: `sheet Staff, cell B7`.
    pub fn cell(&self, column: usize, line: u64) -> String {
        match &self.form {
            Form::Sheet(sheet) => format!(
                "sheet {}, cell {}",
                sheet.name,
                sheet::cell_name(column, line)
            ),
            Form::Text { .. } => format!("line {line}, column {}", column + 1),
        }
    }

    /// What detection chose that the admin did not ask for, worth a note;
    /// the file is named `shown` (`-` for standard input).
    pub fn notes(&self, reading: &Reading, shown: &Path) -> Vec<String> {
        let mut notes = Vec::new();
        let shown = shown.display();
        if let Form::Text {
            delimiter,
            encoding,
            guessed,
            sep_line,
        } = self.form
        {
            if guessed && encoding.is_some() {
                notes.push(format!(
                    "{shown} is not UTF-8; read it as Windows-1252 (Excel's CSV export). Pass --encoding NAME if it is another encoding"
                ));
            }
            // A `sep=` line said so itself.
            if reading.delimiter.is_none() && delimiter != b',' && !sep_line {
                notes.push(format!(
                    "{shown}: columns separated by {:?}",
                    char::from(delimiter)
                ));
            }
        }
        notes
    }
}

/// Refuses `--delimiter` and `--encoding` with a workbook: its cells are
/// read as the spreadsheet stored them, so an admin who typed either meant
/// a CSV file and would otherwise see it silently ignored.
fn refuse_text_options(path: &Path, reading: &Reading) -> Result<(), InputError> {
    let given: Vec<&str> = [
        ("--delimiter", reading.delimiter.is_some()),
        ("--encoding", reading.encoding.is_some()),
    ]
    .into_iter()
    .filter_map(|(flag, given)| given.then_some(flag))
    .collect();
    let (options, apply) = match given[..] {
        [] => return Ok(()),
        [one] => (one.to_owned(), "applies"),
        _ => (given.join(" and "), "apply"),
    };
    Err(InputError::Workbook {
        path: path.to_owned(),
        what: format!(
            "{options} {apply} to CSV input, and this file is a workbook (its cells are read as the spreadsheet stored them): leave {options} out, or export the sheet as CSV and pass that file"
        ),
    })
}

fn text_form(path: &Path, reading: &Reading) -> Result<Form, InputError> {
    let mut head = Vec::with_capacity(HEAD);
    std::fs::File::open(path)
        .and_then(|file| file.take(HEAD as u64).read_to_end(&mut head))
        .map_err(|source| InputError::Io {
            path: path.to_owned(),
            source,
        })?;
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head);
    let first_line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    let sep = match first_line {
        [b's' | b'S', b'e' | b'E', b'p' | b'P', b'=', delimiter] => Some(*delimiter),
        _ => None,
    };
    let delimiter = reading
        .delimiter
        .or(sep)
        .unwrap_or_else(|| count_delimiter(first_line));
    let (encoding, guessed) = match reading.encoding {
        Some(encoding) if encoding == encoding_rs::UTF_8 => (None, false),
        Some(encoding) => (Some(encoding), false),
        None if is_utf8_head(text, head.len() == HEAD) => (None, true),
        None => (Some(encoding_rs::WINDOWS_1252), true),
    };
    Ok(Form::Text {
        delimiter,
        encoding,
        guessed,
        sep_line: sep.is_some(),
    })
}

/// The most frequent of `,`, `;` and tab outside quotes; a comma on a tie.
fn count_delimiter(line: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let candidates = [b',', b';', b'\t'];
    let best = (0..3).max_by_key(|&i| (counts[i], 3 - i)).unwrap_or(0);
    match counts[best] {
        0 => b',',
        _ => candidates[best],
    }
}

/// Valid UTF-8, allowing a character cut off where the head was cut.
fn is_utf8_head(text: &[u8], cut: bool) -> bool {
    match std::str::from_utf8(text) {
        Ok(_) => true,
        Err(e) => cut && e.error_len().is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_counted_in_the_header() {
        assert_eq!(count_delimiter(b"userId;tokenSerialNumber;note"), b';');
        assert_eq!(count_delimiter(b"userId,tokenSerialNumber"), b',');
        assert_eq!(count_delimiter(b"userId\ttokenSerialNumber"), b'\t');
        assert_eq!(count_delimiter(b"\"a;b\",c"), b',');
        assert_eq!(count_delimiter(b"userId"), b',');
    }

    fn form_of(bytes: &[u8]) -> Form {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut file, bytes).unwrap();
        text_form(file.path(), &Reading::default()).unwrap()
    }

    #[test]
    fn a_sep_line_names_the_delimiter_and_latin_bytes_are_windows_1252() {
        let Form::Text {
            delimiter,
            encoding,
            sep_line,
            ..
        } = form_of(b"sep=;\r\nuserId;name\r\nu;M\xFCller\r\n")
        else {
            panic!("text")
        };
        assert_eq!((delimiter, sep_line), (b';', true));
        assert_eq!(encoding, Some(encoding_rs::WINDOWS_1252));
        let Form::Text { encoding, .. } = form_of("userId,name\nu,Müller\n".as_bytes()) else {
            panic!("text")
        };
        assert_eq!(encoding, None);
    }
}
