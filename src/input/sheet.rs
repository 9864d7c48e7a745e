//! Spreadsheets (.xlsx, .xlsm, .xlsb, .xls, .ods), read through calamine and
//! turned once into the records the CSV reader gives, so that every later
//! step (header matching, validation, the scan, resume) reads a workbook the
//! way it reads a CSV.
//!
//! calamine loads a whole sheet into memory: the one exception to the
//! input's streaming rule, bounded by the format itself (a sheet holds at
//! most 1,048,576 rows). The sheet is loaded once per run and shared.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};

use super::InputError;

/// The extensions read as workbooks, lower case.
const EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// Whether the file is read as a workbook, by its extension.
pub fn is_spreadsheet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// How a cell was stored, when that matters to an identifier column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// A number: any leading zeros are gone.
    Number,
    /// A date or time: Excel turned what was typed into a date.
    Date,
}

/// One non-empty row of the sheet, its cells as text.
#[derive(Debug)]
pub struct SheetRow {
    /// The row number the spreadsheet shows (1-based).
    pub line: u64,
    pub record: csv::StringRecord,
    /// Cells that were not text, by column index.
    pub typed: Vec<(usize, CellKind)>,
}

/// A sheet turned into records. Column index `i` of a record is the
/// sheet's column `i` (A is 0), so a cell is named from index and row.
#[derive(Debug)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<SheetRow>,
    /// The SHA-256 of the workbook file's bytes, recorded in every output
    /// as a CSV input's is.
    pub sha256: String,
}

/// `B7` for column index 1, row 7.
pub fn cell_name(column: usize, row: u64) -> String {
    let mut letters = Vec::new();
    let mut n = column + 1;
    while n > 0 {
        let rem = (n - 1) % 26;
        letters.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    format!("{}{row}", String::from_utf8_lossy(&letters))
}

/// Loads the named sheet, or the first one.
pub fn load(path: &Path, wanted: Option<&str>) -> Result<Sheet, InputError> {
    let refused = |what: String| InputError::Workbook {
        path: path.to_owned(),
        what,
    };
    let mut workbook = open_workbook_auto(path).map_err(|e| {
        refused(format!(
            "cannot read the workbook ({e}); save it again from the spreadsheet, or export the sheet as CSV (UTF-8)"
        ))
    })?;
    let names = workbook.sheet_names();
    let name = match wanted {
        Some(wanted) => names
            .iter()
            .find(|n| *n == wanted)
            .cloned()
            .ok_or_else(|| {
                refused(format!(
                    "no sheet named {wanted:?}; the workbook has {}. Pass --sheet with one of them",
                    list_names(&names)
                ))
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| refused("the workbook has no sheet".to_owned()))?,
    };
    let range = workbook
        .worksheet_range(&name)
        .map_err(|e| refused(format!("cannot read sheet {name}: {e}")))?;
    let (first_row, first_column) = range.start().unwrap_or((0, 0));
    let mut rows = Vec::new();
    for (offset, cells) in range.rows().enumerate() {
        if cells.iter().all(|c| text_of(c).0.trim().is_empty()) {
            continue;
        }
        let mut record = csv::StringRecord::new();
        let mut typed = Vec::new();
        for _ in 0..first_column {
            record.push_field("");
        }
        for (index, cell) in cells.iter().enumerate() {
            let (text, kind) = text_of(cell);
            record.push_field(&text);
            if let Some(kind) = kind {
                typed.push((first_column as usize + index, kind));
            }
        }
        rows.push(SheetRow {
            line: u64::from(first_row) + offset as u64 + 1,
            record,
            typed,
        });
    }
    let sha256 = file_sha256(path).map_err(|source| InputError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(Sheet { name, rows, sha256 })
}

/// Streamed: the workbook is hashed as it is on disk, not as calamine read it.
fn file_sha256(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut digest = sha2::Sha256::new();
    std::io::copy(&mut file, &mut digest)?;
    Ok(crate::identity::hex(&digest.finalize()))
}

fn list_names(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    format!("sheets {}", quoted.join(", "))
}

/// A cell as the text an admin sees in it, and how it was stored when it
/// was not text. A whole number keeps all its digits (never `1.4E+10`).
fn text_of(cell: &Data) -> (String, Option<CellKind>) {
    match cell {
        Data::Empty => (String::new(), None),
        Data::String(text) => (text.clone(), None),
        Data::Int(n) => (n.to_string(), Some(CellKind::Number)),
        Data::Float(f) => (float_text(*f), Some(CellKind::Number)),
        Data::Bool(b) => (if *b { "TRUE" } else { "FALSE" }.to_owned(), None),
        Data::DateTime(when) => {
            let (y, mo, d, h, mi, s, _) = when.to_ymd_hms_milli();
            let text = match (h, mi, s) {
                (0, 0, 0) => format!("{y:04}-{mo:02}-{d:02}"),
                _ => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
            };
            (text, Some(CellKind::Date))
        }
        Data::DateTimeIso(text) | Data::DurationIso(text) => (text.clone(), Some(CellKind::Date)),
        Data::Error(e) => (e.to_string(), None),
    }
}

/// Whole numbers as plain digits; others as Rust writes them, which never
/// uses an exponent.
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e17 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_named_as_the_spreadsheet_shows_them() {
        assert_eq!(cell_name(0, 1), "A1");
        assert_eq!(cell_name(1, 7), "B7");
        assert_eq!(cell_name(25, 2), "Z2");
        assert_eq!(cell_name(26, 3), "AA3");
        assert_eq!(cell_name(701, 4), "ZZ4");
        assert_eq!(cell_name(702, 5), "AAA5");
    }

    #[test]
    fn numbers_keep_their_digits() {
        assert_eq!(float_text(14010008038.0), "14010008038");
        assert_eq!(float_text(2.5), "2.5");
        assert_eq!(
            text_of(&Data::Int(123)),
            ("123".into(), Some(CellKind::Number))
        );
    }

    #[test]
    fn extensions_pick_the_workbook_reader() {
        for name in ["a.xlsx", "b.XLS", "c.ods", "d.xlsm"] {
            assert!(is_spreadsheet(Path::new(name)), "{name}");
        }
        assert!(!is_spreadsheet(Path::new("a.csv")));
    }
}
