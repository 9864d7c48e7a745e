//! The hostile input corpus: files from spreadsheets, HR exports and
//! hurried hands, generated here into a temporary directory. Each one ends
//! in a one-line error naming file, line (and column where there is one), or
//! in per-row `invalid` results naming the column; never a panic, and never
//! a request carrying a bad value.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::fixture::*;

type Row = HashMap<String, String>;

/// Users and their SID700 tokens in the sample tenant.
const SID_USER: &str = "eb2e12ae-1112-451b-98e1-dfe4e6afd60d";
const SID_SERIAL: &str = "1231314525";
const SID_USER_2: &str = "3f1c9a52-7d4e-4b8a-9c21-5e6f7a8b9c0d";
const SID_SERIAL_2: &str = "1231314526";
const HEADER: &str = "userId,tokenSerialNumber";

/// One hostile file and the tenant it is run against.
struct Case {
    tenant: Tenant,
    _dir: tempfile::TempDir,
    input: PathBuf,
    out: std::process::Output,
}

/// Runs `sid-clear-pin` (the operation that puts the user ID in the URL
/// path) on `bytes` against the sample tenant.
fn run(name: &str, bytes: &[u8], extra: &[&str]) -> Case {
    let Scene { tenant, dir } = Scene::sample();
    let input = dir.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    let out = run_op(&tenant, "sid-clear-pin", &input, extra);
    assert_ne!(code(&out), 101, "{name}: panicked: {}", stderr(&out));
    Case {
        tenant,
        _dir: dir,
        input,
        out,
    }
}

/// The file is refused as a whole: exit 1, one line on stderr naming the
/// file and containing `expected`, nothing sent. Returns the line.
fn refused(name: &str, bytes: &[u8], expected: &str) -> String {
    let case = run(name, bytes, &[]);
    let err = stderr(&case.out);
    assert_eq!(code(&case.out), 1, "{name}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{name}: one line: {err}");
    assert!(err.contains(name), "{name}: names the file: {err}");
    assert!(err.contains(expected), "{name}: {err}");
    assert_eq!(case.tenant.stats().requests, 0, "{name}: nothing sent");
    err
}

/// The run goes on: every row has a result. Returns the rows and the number
/// of requests the tenant saw.
fn per_row(name: &str, bytes: &[u8]) -> (Vec<Row>, u64) {
    let case = run(name, bytes, &[]);
    assert!(
        matches!(code(&case.out), 0 | 2),
        "{name}: {}",
        stderr(&case.out)
    );
    let rows = results(&results_path(&case.input));
    (rows, case.tenant.stats().requests)
}

fn row_at(rows: &[Row], line: u64) -> &Row {
    rows.iter()
        .find(|r| r["line"] == line.to_string())
        .unwrap_or_else(|| panic!("no result for line {line}: {rows:?}"))
}

/// The row is `invalid`, its message names `column`, and says `what`.
fn assert_invalid(row: &Row, column: &str, what: &str) {
    assert_eq!(row["outcome"], "invalid", "{row:?}");
    assert_eq!(row["attempts"], "0", "{row:?}");
    assert!(row["message"].contains(column), "{row:?}");
    assert!(row["message"].contains(what), "{row:?}");
}

fn csv_text(rows: &[&str]) -> Vec<u8> {
    let mut text = String::from(HEADER);
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    text.push('\n');
    text.into_bytes()
}

#[test]
fn files_that_are_not_csv_text_are_refused_in_one_line() {
    refused("empty.csv", b"", "is empty");
    refused("blank.csv", b"\n\r\n\n", "is empty");
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in format!("{HEADER}\n{SID_USER},{SID_SERIAL}\n").encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    refused("utf16.csv", &utf16, "UTF-16");
    refused("utf16-no-bom.csv", &utf16[2..], "NUL");
    refused(
        "json.csv",
        br#"[{"userId":"x","tokenSerialNumber":"1"}]"#,
        "JSON",
    );
    refused(
        "zip.csv",
        b"PK\x03\x04\x14\x00\x00\x00\x08\x00rest of a workbook",
        "ZIP",
    );
}

#[test]
fn invalid_utf8_names_its_line_and_column() {
    let mut bytes = csv_text(&[&format!("{SID_USER},{SID_SERIAL}")]);
    bytes.extend_from_slice(format!("{SID_USER},").as_bytes());
    bytes.extend_from_slice(b"12\xC3\x28\n");
    let case = run("utf8.csv", &bytes, &["--encoding", "utf-8"]);
    let err = stderr(&case.out);
    assert_eq!(code(&case.out), 1, "{err}");
    assert!(err.contains("utf8.csv:3:2: invalid UTF-8"), "{err}");
    assert!(err.contains("--encoding"), "{err}");
    assert_eq!(case.tenant.stats().requests, 0);
    // Named nothing, the same bytes are read as Windows-1252: the row runs
    // its course as an invalid serial.
    let (rows, _) = per_row("latin.csv", &bytes);
    assert_invalid(row_at(&rows, 3), "column 2", "12\u{c3}(");
}

#[test]
fn header_problems_are_refused_at_line_one() {
    let no_header = format!("{SID_USER},{SID_SERIAL}\n{SID_USER_2},{SID_SERIAL_2}\n");
    let err = refused("no-header.csv", no_header.as_bytes(), "looks like data");
    assert!(err.contains("no-header.csv:1"), "{err}");
    assert!(err.contains("--columns userId,tokenSerialNumber"), "{err}");
    // A file naming users but no token stands for each token they hold, so
    // the file missing its columns names neither.
    refused(
        "missing.csv",
        b"ticket,comment\nINC-1,leaver\n",
        "tokenSerialNumber required by sid-clear-pin",
    );
    refused(
        "duplicate.csv",
        format!("userId,tokenSerialNumber,User ID\n{SID_USER},{SID_SERIAL},{SID_USER}\n")
            .as_bytes(),
        "both mean",
    );
}

#[test]
fn a_header_alone_is_a_run_of_nothing() {
    let (rows, requests) = per_row("header-only.csv", format!("{HEADER}\n").as_bytes());
    assert!(rows.is_empty());
    assert_eq!(requests, 0);
}

#[test]
fn bom_and_crlf_are_read_like_plain_utf8() {
    let text = format!(
        "\u{FEFF}{HEADER}\r\n{SID_USER},{SID_SERIAL}\r\n\r\n{SID_USER_2},{SID_SERIAL_2}\r\n"
    );
    let (rows, requests) = per_row("bom-crlf.csv", text.as_bytes());
    assert_eq!(row_at(&rows, 2)["outcome"], "ok", "{rows:?}");
    assert_eq!(row_at(&rows, 4)["outcome"], "ok", "{rows:?}");
    assert_eq!(row_at(&rows, 4)["tokenSerialNumber"], SID_SERIAL_2);
    assert_eq!(requests, 2);
}

#[test]
fn ragged_rows_are_invalid_and_the_rest_run() {
    let bytes = csv_text(&[
        &format!("{SID_USER},{SID_SERIAL},extra"),
        SID_USER,
        &format!("{SID_USER_2},{SID_SERIAL_2}"),
    ]);
    let (rows, requests) = per_row("ragged.csv", &bytes);
    assert_invalid(row_at(&rows, 2), "3 fields", "header has 2");
    assert_invalid(row_at(&rows, 3), "column 2 (tokenSerialNumber)", "is empty");
    assert_eq!(row_at(&rows, 4)["outcome"], "ok");
    assert_eq!(requests, 1);
}

#[test]
fn an_unclosed_quote_is_reported_on_the_row_where_it_opens() {
    let bytes = csv_text(&[
        &format!("{SID_USER},\"{SID_SERIAL}"),
        &format!("{SID_USER_2},{SID_SERIAL_2}"),
    ]);
    let (rows, requests) = per_row("quote.csv", &bytes);
    assert_eq!(rows.len(), 1, "the quote swallows the rest: {rows:?}");
    assert_invalid(row_at(&rows, 2), "column 2 (tokenSerialNumber)", "quote");
    assert_eq!(requests, 0);
}

#[test]
fn embedded_newlines_keep_later_line_numbers_true() {
    let text = format!(
        "{HEADER},note\n{SID_USER},{SID_SERIAL},\"two\nlines\"\n{SID_USER_2},{SID_SERIAL_2},x\n"
    );
    let (rows, _) = per_row("newlines.csv", text.as_bytes());
    assert_eq!(row_at(&rows, 2)["outcome"], "ok");
    assert_eq!(row_at(&rows, 2)["note"], "two\nlines");
    assert_eq!(row_at(&rows, 4)["outcome"], "ok");
}

#[test]
fn a_bare_cr_outside_quotes_refuses_the_file_on_its_line() {
    // An editor that shows the CR as ^M shows line 3 as one row; the csv
    // reader would make two of it, both labelled line 3.
    let text = format!(
        "{HEADER}\n{SID_USER},{SID_SERIAL}\n{SID_USER_2},{SID_SERIAL_2}\r{SID_USER},{SID_SERIAL}\n"
    );
    let err = refused(
        "bare-cr.csv",
        text.as_bytes(),
        "bare-cr.csv:3: a carriage return",
    );
    assert!(err.contains("LF or CRLF"), "{err}");
    let quoted = format!("{HEADER},note\n{SID_USER},{SID_SERIAL},\"a\rb\"\n");
    let (rows, _) = per_row("quoted-cr.csv", quoted.as_bytes());
    assert_eq!(row_at(&rows, 2)["note"], "a\rb");
}

#[test]
fn a_megabyte_cell_is_invalid_with_a_short_message() {
    let huge = "7".repeat(1024 * 1024);
    let (rows, requests) = per_row("huge-cell.csv", &csv_text(&[&format!("{SID_USER},{huge}")]));
    let row = row_at(&rows, 2);
    assert_invalid(row, "column 2 (tokenSerialNumber)", "at most 36");
    assert!(row["message"].len() < 500, "{}", row["message"].len());
    assert_eq!(requests, 0);
}

#[test]
fn a_hundred_thousand_columns_are_read() {
    let extra: String = (3..=100_000).map(|i| format!(",c{i}")).collect();
    let values: String = (3..=100_000).map(|_| ",x").collect();
    let text = format!("{HEADER}{extra}\n{SID_USER},{SID_SERIAL}{values}\n");
    let (rows, requests) = per_row("wide.csv", text.as_bytes());
    assert_eq!(row_at(&rows, 2)["outcome"], "ok");
    assert_eq!(row_at(&rows, 2)["c100000"], "x");
    assert_eq!(requests, 1);
}

#[test]
fn serials_with_spaces_or_look_alike_digits_are_invalid() {
    let bytes = csv_text(&[
        &format!("{SID_USER},1231 314525"),
        &format!("{SID_USER},１２３１３１４５２５"),
        &format!("{SID_USER},١٢٣١٣١٤٥٢٥"),
        &format!("{SID_USER},0001231314525x"),
    ]);
    let (rows, _) = per_row("serials.csv", &bytes);
    let column = "column 2 (tokenSerialNumber)";
    assert_invalid(row_at(&rows, 2), column, "a space at character 5");
    assert_invalid(row_at(&rows, 3), column, "U+FF11");
    assert_invalid(row_at(&rows, 4), column, "U+0661");
    // Leading zeros are kept as they are: the tenant decides (404 here).
    assert_eq!(row_at(&rows, 5)["tokenSerialNumber"], "0001231314525x");
    assert_ne!(row_at(&rows, 5)["outcome"], "invalid");
}

#[test]
fn user_ids_that_could_escape_the_url_path_are_never_sent() {
    let shaped = |tail: &str| format!("eb2e12ae-1112-451b-98e1-dfe4e6af{tail}");
    let hostile = [
        "../../../AdminInterface/restapi/v1/users".to_owned(),
        shaped("%2Fd"),
        shaped("d60d?x=1"),
        shaped("d60d#x"),
        shaped("d6\u{0}d"),
        shaped("d60d/.."),
        "eb2e12ae%2D1112-451b-98e1-dfe4e6afd60d".to_owned(),
    ];
    // Padding first, so the NUL lies past the sniffed start of the file and
    // reaches row validation.
    let mut rows_text: Vec<String> = vec![format!("{SID_USER},{SID_SERIAL}"); 20];
    rows_text.extend(hostile.iter().map(|id| format!("{id},{SID_SERIAL_2}")));
    let refs: Vec<&str> = rows_text.iter().map(String::as_str).collect();
    let (rows, requests) = per_row("paths.csv", &csv_text(&refs));
    for (i, id) in hostile.iter().enumerate() {
        let row = row_at(&rows, 22 + i as u64);
        assert_invalid(row, "column 1 (userId)", "is not a user ID");
        assert!(!row["message"].contains('\0'), "{row:?}");
        if !id.contains('\0') {
            assert_eq!(row["userId"], *id, "the row is reported as it was read");
        }
    }
    // Line 2 was sent once; its 19 repeats were skipped as duplicates.
    assert_eq!(requests, 1);
    assert_eq!(row_at(&rows, 3)["outcome"], "skipped");
}

#[test]
fn formula_cells_are_escaped_in_the_results() {
    let text = format!(
        "{HEADER},ticket\n=HYPERLINK(\"http://x\"),{SID_SERIAL},@SUM(A1)\n{SID_USER},{SID_SERIAL},+cmd|' /C calc'!A0\n{SID_USER_2},{SID_SERIAL_2},-2+3\n"
    );
    let (rows, _) = per_row("formulas.csv", text.as_bytes());
    assert_invalid(row_at(&rows, 2), "column 1 (userId)", "is not a user ID");
    assert_eq!(row_at(&rows, 2)["userId"], "'=HYPERLINK(\"http://x\")");
    assert_eq!(row_at(&rows, 2)["ticket"], "'@SUM(A1)");
    assert_eq!(row_at(&rows, 3)["ticket"], "'+cmd|' /C calc'!A0");
    assert_eq!(row_at(&rows, 4)["ticket"], "'-2+3");
    for row in &rows {
        assert!(!row["message"].starts_with(['=', '+', '-', '@']), "{row:?}");
    }
}

#[test]
fn formula_header_cells_and_formulas_behind_whitespace_are_escaped() {
    let text = format!(
        "{HEADER},=cmd|' /C calc'!A0,note\n{SID_USER},{SID_SERIAL},\"  =1+1\",\u{a0}=1\n{SID_USER_2},{SID_SERIAL_2},\"\n=2\",\"\t3\"\n"
    );
    let case = run("formula-header.csv", text.as_bytes(), &[]);
    assert_eq!(code(&case.out), 0, "{}", stderr(&case.out));
    let results_text = std::fs::read_to_string(results_path(&case.input)).unwrap();
    let header = results_text.lines().next().unwrap();
    assert!(header.contains(",'=cmd|' /C calc'!A0,note,"), "{header}");
    let rows = results(&results_path(&case.input));
    let formula_column = "'=cmd|' /C calc'!A0";
    assert_eq!(row_at(&rows, 2)[formula_column], "'  =1+1");
    assert_eq!(row_at(&rows, 2)["note"], "'\u{a0}=1");
    assert_eq!(row_at(&rows, 3)[formula_column], "'\n=2");
    assert_eq!(row_at(&rows, 3)["note"], "'\t3");
    // The hygiene note is given for exactly the cells that were escaped.
    for row in &rows {
        let notes = row["message"].matches("starts like a spreadsheet formula");
        assert_eq!(notes.count(), 2, "{row:?}");
    }
}

#[test]
fn resume_reads_an_escaped_identity_back_to_its_value() {
    let dir = temp_dir();
    let seed = std::fs::read_to_string(sample("tenant.json")).unwrap();
    let seed = seed.replace(
        "\"carol.smith@acme.example\"",
        "\"-carol.smith@acme.example\"",
    );
    let seed_path = write(dir.path(), "tenant.json", &seed);
    let tenant = Tenant::start(&["--state", seed_path.to_str().unwrap()]);
    let input = write(
        dir.path(),
        "emails.csv",
        &format!("email,tokenSerialNumber\n-carol.smith@acme.example,{SID_SERIAL}\n"),
    );
    let first = run_op(&tenant, "sid-clear-pin", &input, &[]);
    assert_exit(&first, 0);
    let done = results(&results_path(&input));
    assert_eq!(done[0]["outcome"], "ok", "{done:?}");
    assert_eq!(done[0]["email"], "'-carol.smith@acme.example");
    let sent = tenant.stats().requests;

    let again = dir.path().join("again.results.csv");
    let resumed = run_op(
        &tenant,
        "sid-clear-pin",
        &input,
        &[
            "--resume",
            results_path(&input).to_str().unwrap(),
            "-o",
            again.to_str().unwrap(),
        ],
    );
    assert_exit(&resumed, 0);
    let rows = results(&again);
    assert_eq!(rows[0]["outcome"], "skipped", "{rows:?}");
    assert_eq!(tenant.stats().requests, sent, "nothing sent again");
}

#[test]
fn a_dry_run_finds_the_same_problems_per_row() {
    let bytes = csv_text(&[
        &format!("{SID_USER},{SID_SERIAL}"),
        "../x,1",
        &format!("{SID_USER},１２"),
    ]);
    let case = run("dry.csv", &bytes, &["--dry-run"]);
    assert_eq!(code(&case.out), 2, "{}", stderr(&case.out));
    let rows = results(&dry_run_path(&case.input));
    assert_eq!(row_at(&rows, 2)["outcome"], "valid");
    assert_invalid(row_at(&rows, 3), "column 1 (userId)", "is not a user ID");
    assert_invalid(row_at(&rows, 4), "column 2 (tokenSerialNumber)", "U+FF11");
    assert_eq!(case.tenant.stats().requests, 0);
}
