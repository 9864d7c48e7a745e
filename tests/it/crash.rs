//! A worker that panics loses no row: the row it held is written as failed
//! with an internal error, every other row still has its one line, the run
//! exits non-zero and the retry file holds the row. The panic is injected
//! through a hook only debug builds have (`SECURID_BULK_PANIC_AT_LINE`).

use std::collections::HashMap;

use crate::fixture::*;

#[test]
fn worker_panic_becomes_a_failed_row_and_loses_no_other_row() {
    let dir = temp_dir();
    let (tenant, input) = generated(&[], "60", dir.path());
    let rows = input_rows(&input);
    let out = op_command(&tenant, "ds100-clear-pin", &input, &["--yes", "-j", "4"])
        .env("SECURID_BULK_PANIC_AT_LINE", "10")
        .output()
        .unwrap();
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    let results = results(&results_path(&input));
    let mut lines: HashMap<String, usize> = HashMap::new();
    for row in &results {
        *lines.entry(row["line"].clone()).or_default() += 1;
    }
    assert_eq!(results.len(), rows, "{}", stderr(&out));
    assert!(lines.values().all(|n| *n == 1), "a line twice: {lines:?}");
    for line in 2..rows + 2 {
        assert!(lines.contains_key(&line.to_string()), "line {line} lost");
    }
    let crashed = results.iter().find(|r| r["line"] == "10").unwrap();
    assert_eq!(crashed["outcome"], "failed");
    assert!(crashed["message"].contains("internal error"), "{crashed:?}");

    let retry = std::fs::read_to_string(dir.path().join("users.retry.csv")).unwrap();
    let input_text = std::fs::read_to_string(&input).unwrap();
    let line_10 = input_text.lines().nth(9).unwrap();
    assert!(
        retry.lines().any(|l| without_retry_record(l) == line_10),
        "{retry}"
    );
    for row in results.iter().filter(|r| r["outcome"] == "ok") {
        let n: usize = row["line"].parse().unwrap();
        let text = input_text.lines().nth(n - 1).unwrap();
        assert!(
            !retry.lines().any(|l| without_retry_record(l) == text),
            "ok row {n} in retry"
        );
    }
}
