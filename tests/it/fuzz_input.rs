//! Property tests over the CSV reader and row validation (a stand-in for
//! `cargo fuzz`, which needs a nightly toolchain). For any bytes, and for
//! any CSV a writer can produce from hostile cells:
//!
//! - reading never panics, and a file-level error is one line;
//! - every row is read exactly once, on the line an editor shows;
//! - a row is either ready, with path-safe values, or `invalid` with a
//!   one-line message naming its column;
//! - and, on the server side, any `Retry-After` is ignored or kept within
//!   `--max-retry-after`.
//!
//! CI runs a few dozen cases per property; run more with
//! `PROPTEST_CASES=100000 cargo test --release --test it fuzz_input::`.

use std::path::Path;

use proptest::prelude::*;
use securid_bulk::client::parse_retry_after;
use securid_bulk::input::{is_uuid_like, scan, Row, Rows, Verdict, MAX_SERIAL_LEN};
use securid_bulk::ops::{Field, Operation, CATALOG};

/// Cases per property: `PROPTEST_CASES` when set, else a CI-sized count.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Reads `bytes` as input for every operation: a one-line file error, or
/// every row accounted for with a sound verdict. Returns the rows read per
/// operation (`None` where the file was refused).
fn read_all(bytes: &[u8]) -> Vec<Option<Vec<Row>>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, bytes).unwrap();
    CATALOG.iter().map(|op| read_for(op, &path)).collect()
}

fn read_for(op: &'static Operation, path: &Path) -> Option<Vec<Row>> {
    let scanned = match scan(path, op, b',') {
        Ok(scanned) => scanned,
        Err(e) => {
            assert_one_line_naming_file(&e.to_string(), path);
            return None;
        }
    };
    let rows: Vec<Row> = Rows::open(op, &scanned)
        .expect("a scanned file opens again")
        .map(|row| row.expect("a scanned file reads again"))
        .collect();
    assert_eq!(
        rows.len() as u64,
        scanned.rows,
        "{}: both passes agree",
        op.name
    );
    let mut last_line = 1;
    for row in &rows {
        assert!(
            row.line > last_line,
            "lines increase: {} after {last_line}",
            row.line
        );
        last_line = row.line;
        assert_sound_verdict(op, row);
    }
    Some(rows)
}

fn assert_one_line_naming_file(message: &str, path: &Path) {
    assert!(!message.contains('\n'), "one line: {message:?}");
    assert!(
        message.contains(&path.display().to_string()),
        "names the file: {message}"
    );
}

/// Ready rows carry only values that are safe in a URL path and a JSON
/// body; invalid rows say which column (or the field count) is wrong.
fn assert_sound_verdict(op: &Operation, row: &Row) {
    match &row.checked.verdict {
        Verdict::Ready | Verdict::Skip(_) => {
            for field in op.fields() {
                let Some(value) = row.checked.value(field) else {
                    // Only a lookup key may be missing, or a value a lookup
                    // will find from a key the row has.
                    let found_later = op
                        .resolvers_for(field)
                        .any(|r| row.checked.value(r.lookup.key).is_some());
                    assert!(
                        !op.required.contains(&field) || found_later,
                        "a ready row has every required value or its lookup key: {field}"
                    );
                    continue;
                };
                match field {
                    Field::UserId => {
                        assert!(is_uuid_like(value), "{value:?}");
                        assert!(value.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'));
                    }
                    Field::Email => {
                        assert!(value.contains('@'), "{value:?}");
                        assert!(!value.chars().any(|c| c.is_whitespace() || c.is_control()));
                    }
                    _ => {
                        assert!(
                            value.bytes().all(|b| b.is_ascii_alphanumeric()),
                            "{value:?}"
                        );
                        assert!(!value.is_empty() && value.len() <= MAX_SERIAL_LEN);
                    }
                }
            }
        }
        Verdict::Invalid(message) => {
            assert!(!message.contains(['\n', '\r']), "one line: {message:?}");
            assert!(
                // A cross-row conflict names the other lines instead.
                message.contains("column ")
                    || message.contains("fields")
                    || message.contains("in this file (lines "),
                "names the column: {message}"
            );
        }
    }
}

/// Cells an admin's file might hold: good values, near misses and junk.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("87927fb7-e185-4c33-c7e3-8e077675973c".to_owned()),
        Just("014010008038".to_owned()),
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "[0-9A-Z]{1,40}",
        "[ -~]{0,24}",
        "[\"',;\r\n \t=+@%/?#.-]{0,6}",
        "\\PC{0,12}",
        any::<String>().prop_map(|s| s.replace('\0', "")),
    ]
}

/// A header naming every canonical column (in some spelling and order)
/// plus extras, and rows of hostile cells, written by the csv crate.
fn csv_file() -> impl Strategy<Value = (Vec<String>, Vec<Vec<String>>)> {
    let header = Just(vec![
        "userId",
        "Token Serial Number",
        "device_serial_number",
        "ticket",
    ])
    .prop_shuffle()
    .prop_map(|h| h.into_iter().map(str::to_owned).collect::<Vec<_>>());
    header.prop_flat_map(|header| {
        let width = header.len();
        let row = prop::collection::vec(cell(), width - 1..=width + 1);
        (Just(header), prop::collection::vec(row, 0..12))
    })
}

/// The bytes of the file and the line each data row starts on.
fn render(header: &[String], rows: &[Vec<String>]) -> (Vec<u8>, Vec<u64>) {
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    writer.write_record(header).unwrap();
    let mut lines = Vec::new();
    for row in rows {
        writer.flush().unwrap();
        let before = writer.get_ref();
        lines.push(1 + before.iter().filter(|b| **b == b'\n').count() as u64);
        writer.write_record(row).unwrap();
    }
    (writer.into_inner().unwrap(), lines)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_are_read_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        read_all(&bytes);
    }

    #[test]
    fn csv_like_bytes_are_read_without_panic(
        text in "[a-zA-Z0-9 ,\"\r\n\u{feff}\u{ff11}-]{0,400}"
    ) {
        read_all(text.as_bytes());
    }

    #[test]
    fn any_retry_after_is_ignored_or_within_the_cap(value in "\\PC{0,40}|-?[0-9]{1,25}", cap in 0u64..1000) {
        let cap = std::time::Duration::from_secs(cap);
        let wait = parse_retry_after(&value, std::time::SystemTime::now(), cap);
        prop_assert!(wait.is_none_or(|wait| wait <= cap), "{value:?} gave {wait:?}");
    }

    #[test]
    fn every_written_row_is_read_once_on_its_line((header, rows) in csv_file()) {
        let (bytes, lines) = render(&header, &rows);
        for (op, read) in CATALOG.iter().zip(read_all(&bytes)) {
            let read = read.unwrap_or_else(|| panic!("{}: a well-formed file is accepted", op.name));
            let read_lines: Vec<u64> = read.iter().map(|r| r.line).collect();
            // A row of one empty cell is a blank line, which readers skip.
            let expected: Vec<u64> = lines
                .iter()
                .zip(&rows)
                .filter(|(_, row)| !(row.len() == 1 && row[0].is_empty()))
                .map(|(line, _)| *line)
                .collect();
            prop_assert_eq!(read_lines, expected, "{}", op.name);
        }
    }
}
