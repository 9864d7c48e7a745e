//! The results writer against real files in a temporary directory.

use super::*;

#[test]
fn times_match_rfc3339_millis_across_seconds() {
    let mut times = TimeText::default();
    let mut out = String::new();
    let start = UNIX_EPOCH + std::time::Duration::from_millis(1_795_000_000_998);
    for step in [0, 1, 2, 1_001, 60_000, 3_600_000, 3_600_000] {
        let at = start + std::time::Duration::from_millis(step);
        times.format(at, &mut out);
        assert_eq!(out, humantime::format_rfc3339_millis(at).to_string());
    }
}
use crate::outcome::Outcome;

fn run() -> RunIdentity {
    RunIdentity {
        operation: "ds100-clear-pin",
        tenant: "https://t.example:443".into(),
        input: "in.csv".into(),
        input_sha256: "ab".repeat(32),
    }
}

/// A results writer for `columns` in a fresh directory, which lives as
/// long as the returned guard.
fn new_writer(columns: &[&str]) -> (tempfile::TempDir, PathBuf, ResultsWriter) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.csv");
    let header = csv::StringRecord::from(columns.to_vec());
    let writer = ResultsWriter::create(&path, &header, &run(), false).unwrap();
    (dir, path, writer)
}

fn result(line: u64, message: &str) -> RowResult {
    let mut r = RowResult::unsent(line, Outcome::Failed, message);
    r.http_status = Some(404);
    r
}

#[test]
fn items_of_one_row_sharing_its_line_leave_the_file_in_order() {
    let (_dir, _path, mut writer) = new_writer(&["userId"]);
    for line in [2, 2, 3, 3, 3, 4] {
        let input = csv::StringRecord::from(vec![format!("u{line}")]);
        writer.append(&input, &result(line, "item")).unwrap();
    }
    assert!(writer.in_order, "no rewrite at the end");
    writer
        .append(&csv::StringRecord::from(vec!["u"]), &result(3, "late"))
        .unwrap();
    assert!(!writer.in_order);
}

#[test]
fn out_of_order_results_end_in_input_order() {
    let (_dir, path, mut writer) = new_writer(&["userId", "note"]);
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
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
    assert_eq!(left.len(), 1, "only the results remain: {left:?}");
}

#[cfg(unix)]
#[test]
fn sorting_never_writes_through_a_planted_link() {
    let (dir, path, mut writer) = new_writer(&["userId"]);
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    // The name the sort used before it took an unpredictable one.
    std::os::unix::fs::symlink(&victim, path.with_extension("csv.sorting")).unwrap();
    for line in [3, 2] {
        let input = csv::StringRecord::from(vec![format!("u{line}")]);
        writer.write(&input, &result(line, "x")).unwrap();
    }
    writer.finish().unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(std::fs::read_to_string(&path).unwrap().contains("u2"));
}

#[cfg(unix)]
#[test]
fn with_force_rows_and_the_sort_both_go_to_a_linked_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.csv");
    let link = dir.path().join("out.csv");
    std::os::unix::fs::symlink("real.csv", &link).unwrap();
    let header = csv::StringRecord::from(vec!["userId"]);
    let mut writer = ResultsWriter::create(&link, &header, &run(), true).unwrap();
    for line in [3, 2] {
        let input = csv::StringRecord::from(vec![format!("u{line}")]);
        writer.write(&input, &result(line, "x")).unwrap();
    }
    writer.finish().unwrap();
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link is still a link");
    let sorted = std::fs::read_to_string(&target).unwrap();
    let u2 = sorted.find("u2").unwrap();
    assert!(u2 < sorted.find("u3").unwrap(), "{sorted}");
}

#[test]
fn a_sync_handle_is_handed_out_once_per_flush() {
    let (_dir, _path, mut writer) = new_writer(&["userId"]);
    let file = writer
        .take_unsynced()
        .unwrap()
        .expect("the header was flushed");
    file.sync_data().unwrap();
    assert!(writer.take_unsynced().unwrap().is_none(), "nothing new");
    let input = csv::StringRecord::from(vec!["u2"]);
    writer.write(&input, &result(2, "x")).unwrap();
    assert!(writer.take_unsynced().unwrap().is_some());
}

#[test]
fn rows_far_out_of_order_are_put_back_in_order() {
    let (_dir, path, mut writer) = new_writer(&["userId"]);
    // Longer than one window of the reorder, in an order that jumps
    // back and forth across it.
    let evens_down = (1..=1500).rev().map(|k| 2 * k);
    let odds_up = (1..=1500).map(|k| 2 * k + 1);
    let lines: Vec<u64> = evens_down.chain(odds_up).collect();
    let long = "x".repeat(300);
    for &line in &lines {
        let input = csv::StringRecord::from(vec![format!("u{line}")]);
        writer.append(&input, &result(line, &long)).unwrap();
    }
    writer.finish().unwrap();
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let read: Vec<(String, String)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned())
        })
        .collect();
    assert_eq!(read.len(), lines.len());
    for (i, (user, line)) in read.iter().enumerate() {
        assert_eq!(line, &(i + 2).to_string());
        assert_eq!(user, &format!("u{}", i + 2));
    }
}

#[test]
fn resolved_values_land_in_their_own_columns() {
    let (_dir, path, mut writer) = new_writer(&["email"]);
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
    let err = ResultsWriter::create(&path, &header, &run(), false)
        .err()
        .unwrap();
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
    assert!(ResultsWriter::create(&path, &header, &run(), true).is_ok());
}

#[test]
fn ragged_input_is_padded_and_formulas_escaped() {
    let (_dir, path, mut writer) = new_writer(&["a", "b"]);
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

#[test]
fn header_cells_are_escaped() {
    let (_dir, path, writer) = new_writer(&["=cmd", " @x", "userId"]);
    writer.finish().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("'=cmd,' @x,userId,line,"), "{text}");
}

#[test]
fn every_line_records_the_run_and_the_header_repeats_no_name() {
    let (_dir, path, mut writer) =
        new_writer(&["userId", "line", "outcome", "tenant", "note", "note"]);
    let input = csv::StringRecord::from(vec!["u", "7", "ok", "x", "a", "b"]);
    writer.write(&input, &result(2, "m")).unwrap();
    writer.finish().unwrap();
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let mut seen = std::collections::HashSet::new();
    assert!(header.iter().all(|h| seen.insert(h)), "{header:?}");
    assert_eq!(
        &header[..6],
        [
            "userId",
            "input.line",
            "input.outcome",
            "input.tenant",
            "note",
            "note_2"
        ]
    );
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| {
        row.get(header.iter().position(|h| h == name).unwrap())
            .unwrap()
            .to_owned()
    };
    assert_eq!(cell("input.line"), "7");
    assert_eq!(cell("line"), "2");
    assert_eq!(cell("operation"), "ds100-clear-pin");
    assert_eq!(cell("tenant"), "https://t.example:443");
    assert_eq!(cell("input_sha256"), "ab".repeat(32));
}

#[test]
fn cells_are_quoted_as_the_csv_crate_quotes_them() {
    let cells: [&[u8]; 9] = [
        b"plain",
        b"",
        b"a,b",
        b"say \"hi\"",
        b"two\nlines",
        b"cr\r",
        b" spaced ",
        "M\u{fc}ller \u{202e}".as_bytes(),
        b"'=1+2",
    ];
    let mut ours = Vec::new();
    for cell in cells {
        super::push_cell(&mut ours, cell);
    }
    ours.pop();
    ours.push(b'\n');
    let mut theirs = csv::Writer::from_writer(Vec::new());
    theirs.write_record(cells).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&ours),
        String::from_utf8_lossy(&theirs.into_inner().unwrap())
    );
    let mut number = Vec::new();
    super::push_number(&mut number, 0u64);
    super::push_number(&mut number, u128::MAX);
    super::push_number(&mut number, 1_234_567u32);
    assert_eq!(number, b"0,18446744073709551615,1234567,");
}
