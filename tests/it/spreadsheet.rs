//! Input as admins have it: workbooks read directly, Excel's CSV exports
//! (`;`, a `sep=` line, Windows-1252, serials in scientific notation), files
//! without a header row, an HR export's own column names, and results as a
//! workbook. Inputs are made here: workbooks with rust_xlsxwriter, an .ods
//! as a small hand-built ZIP.

use std::path::{Path, PathBuf};

use calamine::{open_workbook_auto, Data, Reader};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use crate::fixture::*;

/// Users and their SID700 tokens in the sample tenant.
const SID_USER: &str = "eb2e12ae-1112-451b-98e1-dfe4e6afd60d";
const SID_SERIAL: &str = "1231314525";
const SID_USER_2: &str = "3f1c9a52-7d4e-4b8a-9c21-5e6f7a8b9c0d";
const SID_SERIAL_2: &str = "1231314526";

fn row_at(
    rows: &[std::collections::HashMap<String, String>],
    line: u64,
) -> &std::collections::HashMap<String, String> {
    rows.iter()
        .find(|r| r["line"] == line.to_string())
        .unwrap_or_else(|| panic!("no result for line {line}: {rows:?}"))
}

/// A workbook whose first sheet `Leavers` has, under its header: a serial
/// as text, a serial as a number, a date in the serial column, and a serial
/// with leading zeros the tenant does not know. A second sheet `Later`
/// holds one row.
fn leavers_workbook(path: &Path) {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Leavers").unwrap();
    for (column, name) in ["userId", "tokenSerialNumber", "note"].iter().enumerate() {
        sheet.write_string(0, column as u16, *name).unwrap();
    }
    sheet.write_string(1, 0, SID_USER).unwrap();
    sheet.write_string(1, 1, SID_SERIAL).unwrap();
    sheet.write_string(2, 0, SID_USER_2).unwrap();
    sheet.write_number(2, 1, 1231314526.0).unwrap();
    sheet.write_number(2, 2, 7.0).unwrap();
    sheet.write_string(3, 0, SID_USER).unwrap();
    let date = ExcelDateTime::parse_from_str("2024-03-01").unwrap();
    let date_format = Format::new().set_num_format("yyyy-mm-dd");
    sheet
        .write_datetime_with_format(3, 1, &date, &date_format)
        .unwrap();
    sheet.write_string(4, 0, SID_USER_2).unwrap();
    sheet.write_string(4, 1, "0001231314599").unwrap();
    let later = book.add_worksheet();
    later.set_name("Later").unwrap();
    later.write_string(0, 0, "User ID").unwrap();
    later.write_string(0, 1, "Token Serial Number").unwrap();
    later.write_string(1, 0, SID_USER).unwrap();
    later.write_string(1, 1, SID_SERIAL).unwrap();
    book.save(path).unwrap();
}

/// The sample tenant and `leavers.xlsx` ([`leavers_workbook`]) in its
/// directory.
fn leavers_scene() -> (Scene, PathBuf) {
    let scene = Scene::sample();
    let input = scene.dir.path().join("leavers.xlsx");
    leavers_workbook(&input);
    (scene, input)
}

fn cells(path: &Path) -> Vec<Vec<Data>> {
    let mut book = open_workbook_auto(path).expect("workbook opens");
    let first = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&first).expect("sheet");
    range.rows().map(<[Data]>::to_vec).collect()
}

fn text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        other => panic!("not a text cell: {other:?}"),
    }
}

#[test]
fn a_workbook_is_read_cell_by_cell_and_its_results_can_be_a_workbook() {
    let (scene, input) = leavers_scene();
    let out = run_op(
        &scene.tenant,
        "sid-clear-pin",
        &input,
        &["--format", "xlsx"],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let rows = results(&scene.dir.path().join("leavers.results.csv"));
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(row_at(&rows, 2)["outcome"], "ok", "{rows:?}");
    let number = row_at(&rows, 3);
    assert_eq!(number["outcome"], "ok", "{number:?}");
    assert_eq!(number["tokenSerialNumber"], SID_SERIAL_2);
    assert!(
        number["message"].contains("sheet Leavers, cell B3 holds tokenSerialNumber as a number"),
        "{number:?}"
    );
    let date = row_at(&rows, 4);
    assert_eq!(date["outcome"], "invalid", "{date:?}");
    assert!(
        date["message"].contains("sheet Leavers, cell B4 holds a date"),
        "{date:?}"
    );
    assert_eq!(row_at(&rows, 5)["tokenSerialNumber"], "0001231314599");
    assert_eq!(scene.tenant.stats().requests, 3, "the date row is not sent");
    let digest = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(
        std::fs::read(&input).unwrap(),
    ));
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert!(
        rows.iter().all(|r| r["input_sha256"] == hex),
        "the workbook's own bytes: {rows:?}"
    );
    let retry = std::fs::read_to_string(scene.dir.path().join("leavers.retry.csv")).unwrap();
    assert!(
        retry.starts_with("userId,tokenSerialNumber,note"),
        "{retry}"
    );
    assert!(retry.contains("2024-03-01"), "the date row to fix: {retry}");

    let book = cells(&scene.dir.path().join("leavers.results.xlsx"));
    assert_eq!(book.len(), 5, "a header and one row per input row");
    let serial_column = book[0]
        .iter()
        .position(|c| text(c) == "tokenSerialNumber")
        .unwrap();
    let line_column = book[0].iter().position(|c| text(c) == "line").unwrap();
    let by_line = |line: &str| {
        book.iter()
            .find(|r| text(&r[line_column]) == line)
            .unwrap_or_else(|| panic!("line {line}: {book:?}"))
    };
    assert_eq!(text(&by_line("5")[serial_column]), "0001231314599");
    assert_eq!(text(&by_line("3")[serial_column]), SID_SERIAL_2);

    // An existing workbook is refused up front, like any output, unless --force.
    std::fs::write(scene.dir.path().join("again.xlsx"), b"kept").unwrap();
    let requests = scene.tenant.stats().requests;
    let out = bin()
        .arg("sid-clear-pin")
        .arg(&input)
        .args(["--base-url", &scene.tenant.url(), "--format", "xlsx", "-o"])
        .arg(scene.dir.path().join("again.csv"))
        .env("SECURID_TOKEN", scene.tenant.token())
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("again.xlsx"), "{}", stderr(&out));
    assert_eq!(scene.tenant.stats().requests, requests, "nothing sent");
    assert_eq!(
        std::fs::read(scene.dir.path().join("again.xlsx")).unwrap(),
        b"kept"
    );
}

#[test]
fn a_sheet_is_chosen_by_name_and_a_missing_one_lists_the_others() {
    let (scene, input) = leavers_scene();
    let out = run_op(
        &scene.tenant,
        "sid-clear-pin",
        &input,
        &["--sheet", "Later"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), 1);
    assert_eq!(row_at(&rows, 2)["outcome"], "ok");

    let out = run_op(&scene.tenant, "sid-clear-pin", &input, &["--sheet", "Gone"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("leavers.xlsx"), "{err}");
    assert!(err.contains("\"Leavers\", \"Later\""), "{err}");

    let csv = write(
        scene.dir.path(),
        "plain.csv",
        &format!("userId,tokenSerialNumber\n{SID_USER},{SID_SERIAL}\n"),
    );
    let out = run_op(&scene.tenant, "sid-clear-pin", &csv, &["--sheet", "Later"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("plain.csv: --sheet names a sheet of a workbook"),
        "{err}"
    );
}

#[test]
fn a_workbook_without_the_columns_names_its_sheet_and_row() {
    let scene = Scene::sample();
    let input = scene.dir.path().join("staff.xlsx");
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Staff").unwrap();
    sheet.write_string(0, 0, "Name").unwrap();
    sheet.write_string(1, 0, "Ann").unwrap();
    book.save(&input).unwrap();
    let out = run_op(&scene.tenant, "sid-clear-pin", &input, &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("staff.xlsx, sheet Staff, row 1: missing column"),
        "{err}"
    );
}

/// A German Excel "CSV (Trennzeichen-getrennt)" export: `;`, Windows-1252,
/// and a serial Excel showed in scientific notation.
fn german_export(sep_line: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    if sep_line {
        bytes.extend_from_slice(b"sep=;\r\n");
    }
    bytes.extend_from_slice(b"userId;tokenSerialNumber;Name\r\n");
    bytes.extend_from_slice(format!("{SID_USER};{SID_SERIAL};M").as_bytes());
    bytes.extend_from_slice(b"\xFCller\r\n");
    bytes.extend_from_slice(format!("{SID_USER_2};1,231314526E+09;Schr").as_bytes());
    bytes.extend_from_slice(b"\xF6der\r\n");
    bytes
}

#[test]
fn a_german_excel_export_runs_without_flags() {
    for (name, sep_line, first) in [("export.csv", false, 2), ("export-sep.csv", true, 3)] {
        let scene = Scene::sample();
        let input = scene.dir.path().join(name);
        std::fs::write(&input, german_export(sep_line)).unwrap();
        let out = run_op(&scene.tenant, "sid-clear-pin", &input, &[]);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{name}: {err}");
        assert!(err.contains("read it as Windows-1252"), "{name}: {err}");
        let rows = results(&results_path(&input));
        assert_eq!(rows.len(), 2, "{name}: {rows:?}");
        let ok = row_at(&rows, first);
        assert_eq!(ok["outcome"], "ok", "{name}: {ok:?}");
        assert_eq!(ok["Name"], "Müller", "{name}: {ok:?}");
        let scientific = row_at(&rows, first + 1);
        assert_eq!(scientific["outcome"], "invalid", "{name}: {scientific:?}");
        assert_eq!(scientific["Name"], "Schröder");
        for needle in ["scientific notation", "Format the column as Text", ".xlsx"] {
            assert!(
                scientific["message"].contains(needle),
                "{name}: {needle}: {scientific:?}"
            );
        }
        assert_eq!(scene.tenant.stats().requests, 1, "{name}");
    }
}

#[test]
fn a_file_without_a_header_is_told_so_and_read_with_columns() {
    let scene = Scene::sample();
    let input = write(
        scene.dir.path(),
        "bare.csv",
        &format!("{SID_USER},{SID_SERIAL}\n{SID_USER_2},{SID_SERIAL_2}\n"),
    );
    let out = run_op(&scene.tenant, "sid-clear-pin", &input, &[]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("bare.csv:1: the first line looks like data"),
        "{err}"
    );
    assert!(err.contains("--columns userId,tokenSerialNumber"), "{err}");
    assert_eq!(scene.tenant.stats().requests, 0);

    let columns = ["--columns", "userId,tokenSerialNumber"];
    let out = run_op(&scene.tenant, "sid-clear-pin", &input, &columns);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), 2, "the first line is data: {rows:?}");
    assert_eq!(row_at(&rows, 1)["outcome"], "ok");
    assert_eq!(row_at(&rows, 2)["outcome"], "ok");
}

#[test]
fn an_hr_export_maps_its_own_headers_to_the_fields() {
    let scene = Scene::sample();
    let input = write(
        scene.dir.path(),
        "hr.csv",
        &format!("Employee ID,Fob,Department\n{SID_USER},{SID_SERIAL},Sales\n"),
    );
    let out = run_op(&scene.tenant, "sid-clear-pin", &input, &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let mapped = [
        "--column",
        "userId=Employee ID",
        "--column",
        "tokenSerialNumber=Fob",
    ];
    let out = run_op(&scene.tenant, "sid-clear-pin", &input, &mapped);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(row_at(&results(&results_path(&input)), 2)["outcome"], "ok");

    let typo = ["--column", "userId=Employe ID"];
    let out = run_op(&scene.tenant, "sid-clear-pin", &input, &typo);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("--column userId=Employe ID"), "{err}");
    assert!(err.contains("\"Employee ID\""), "{err}");
}

#[test]
fn an_ods_sheet_is_read_like_a_workbook() {
    let scene = Scene::sample();
    let input: PathBuf = scene.dir.path().join("leavers.ods");
    std::fs::write(
        &input,
        ods(&[&["userId", "tokenSerialNumber"], &[SID_USER, SID_SERIAL]]),
    )
    .unwrap();
    let out = run_op(&scene.tenant, "sid-clear-pin", &input, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(row_at(&rows, 2)["outcome"], "ok");
}

/// The smallest OpenDocument spreadsheet calamine reads: a stored
/// (uncompressed) ZIP of `mimetype` and `content.xml`, text cells only.
fn ods(rows: &[&[&str]]) -> Vec<u8> {
    let mut table = String::new();
    for row in rows {
        table.push_str("<table:table-row>");
        for cell in *row {
            table.push_str(&format!(
                "<table:table-cell office:value-type=\"string\"><text:p>{cell}</text:p></table:table-cell>"
            ));
        }
        table.push_str("</table:table-row>");
    }
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" \
xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" \
xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" office:version=\"1.2\">\
<office:body><office:spreadsheet><table:table table:name=\"Sheet1\">{table}</table:table>\
</office:spreadsheet></office:body></office:document-content>"
    );
    stored_zip(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("META-INF/manifest.xml", MANIFEST.as_bytes()),
        ("content.xml", content.as_bytes()),
    ])
}

const MANIFEST: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" manifest:version=\"1.2\">\
<manifest:file-entry manifest:full-path=\"/\" manifest:media-type=\"application/vnd.oasis.opendocument.spreadsheet\"/>\
<manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\"/>\
</manifest:manifest>";

fn stored_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = zip.len() as u32;
        let crc = crc32(data);
        let header = |signature: u32, central_entry: bool| {
            let mut h = Vec::new();
            h.extend_from_slice(&signature.to_le_bytes());
            if central_entry {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            h.extend_from_slice(&20u16.to_le_bytes());
            h.extend_from_slice(&[0; 4]); // flags, stored
            h.extend_from_slice(&[0; 4]); // time, date
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central_entry {
                h.extend_from_slice(&[0; 10]); // comment, disk, attributes
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        zip.extend(header(0x0403_4b50, false));
        zip.extend_from_slice(data);
        central.extend(header(0x0201_4b50, true));
    }
    let central_at = zip.len() as u32;
    zip.extend_from_slice(&central);
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    zip.extend_from_slice(&[0; 4]);
    zip.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    zip.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    zip.extend_from_slice(&(central.len() as u32).to_le_bytes());
    zip.extend_from_slice(&central_at.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[test]
fn delimiter_or_encoding_with_a_workbook_is_refused_before_anything_is_sent() {
    let (scene, input) = leavers_scene();
    let refusal = |options: &str, verb: &str| {
        format!(
            "{}: {options} {verb} to CSV input, and this file is a workbook (its cells are read as the spreadsheet stored them): leave {options} out, or export the sheet as CSV and pass that file",
            input.display()
        )
    };
    let runs: [(&[&str], String); 4] = [
        (
            &["--delimiter", ";", "--yes"],
            refusal("--delimiter", "applies"),
        ),
        (
            &["--delimiter", ";", "--dry-run"],
            refusal("--delimiter", "applies"),
        ),
        (
            &["--encoding", "windows-1252", "--dry-run=lookup"],
            refusal("--encoding", "applies"),
        ),
        (
            &["--encoding", "utf-8", "--delimiter", ",", "--yes"],
            refusal("--delimiter and --encoding", "apply"),
        ),
    ];
    for (flags, expected) in runs {
        let out = run_op(&scene.tenant, "sid-clear-pin", &input, flags);
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{flags:?}: {err}");
        assert!(err.contains(&expected), "{flags:?}: {err}");
    }
    assert_eq!(scene.tenant.stats().requests, 0, "nothing sent");
    assert!(!results_path(&input).exists() && !dry_run_path(&input).exists());

    // A profile's delimiter is for its CSV files: a workbook leaves it be.
    let config = config_file(scene.dir.path(), "[profiles.eu]\ndelimiter = \";\"\n");
    let profile = ["--profile", "eu", "--config", config.to_str().unwrap()];
    let out = run_op(
        &scene.tenant,
        "sid-clear-pin",
        &input,
        &[&profile[..], &["--sheet", "Later"]].concat(),
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(row_at(&results(&results_path(&input)), 2)["outcome"], "ok");
}
