//! `--format xlsx`: the finished, sorted results CSV copied into a
//! workbook for admins who live in spreadsheets. The CSV stays the record
//! (written row by row as results are known, read by `--resume`); the
//! workbook is made from it once the run has ended, so a crash leaves the
//! CSV and no workbook.

use std::path::Path;

use rust_xlsxwriter::Workbook;

use super::{files, OutputError};
use crate::outcome::unescape_formula;

/// Rows a worksheet can hold.
const MAX_ROWS: u64 = 1_048_576;

/// Checks before anything is sent that the workbook can be made at the end,
/// as every output is checked: an existing one only with `force`.
pub fn check_workbook(workbook: &Path, force: bool) -> Result<(), OutputError> {
    if workbook.exists() && !force {
        let path = workbook.to_owned();
        return Err(OutputError::Exists { path });
    }
    files::check_creatable("--format xlsx", workbook, force)
}

/// Writes `workbook` from the results CSV at `results`: one sheet, every
/// cell text (a serial keeps its leading zeros, nothing is run as a
/// formula, so the CSV's formula quote is taken off).
pub fn write_workbook(results: &Path, workbook: &Path, force: bool) -> Result<(), OutputError> {
    let failed = |what: String| OutputError::Unusable {
        flag: "--format xlsx".into(),
        path: workbook.to_owned(),
        reason: what,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(results)
        .map_err(|e| failed(format!("cannot read {}: {e}", results.display())))?;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory();
    sheet
        .set_name("results")
        .map_err(|e| failed(e.to_string()))?;
    let mut record = csv::StringRecord::new();
    let mut row: u32 = 0;
    while reader
        .read_record(&mut record)
        .map_err(|e| failed(format!("cannot read {}: {e}", results.display())))?
    {
        if u64::from(row) >= MAX_ROWS {
            return Err(failed(format!(
                "the results have more than {MAX_ROWS} lines, the most a worksheet holds; use the CSV"
            )));
        }
        for (column, cell) in record.iter().enumerate() {
            let column = u16::try_from(column)
                .map_err(|_| failed("more columns than a worksheet holds".into()))?;
            sheet
                .write_string(row, column, unescape_formula(cell))
                .map_err(|e| failed(e.to_string()))?;
        }
        row += 1;
    }
    let bytes = book.save_to_buffer().map_err(|e| failed(e.to_string()))?;
    files::replace_whole(workbook, force, |file| {
        std::io::Write::write_all(file, &bytes)
    })
}
