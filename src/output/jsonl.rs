//! Results as JSON Lines (`--format jsonl`): one object per input row with
//! the same fields as the CSV, the input's columns first in their own
//! order, then the results' own, numbers as numbers. Values are written as
//! they are: a JSON reader runs no formula, so no cell is escaped. Each key
//! is written once: an input column named like a results column, or like an
//! earlier input column, is renamed (`input.line`, `note_2`).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::writer::{RowSpan, RESOLVED_FIELDS};
use crate::identity::RunIdentity;
use crate::outcome::{one_line, RowResult};

/// What every row of a run carries besides its own result.
pub struct Stamp<'a> {
    pub run: &'a RunIdentity,
    pub ticket: &'a str,
    /// The principals whose approvals an `apply` checked; empty otherwise.
    pub approvers: &'a [String],
    pub finished_at: &'a str,
}

/// Appends one row's object and its line end to `out`. `keys` are the
/// input columns' keys, `outcome::json_input_keys` of the header, worked out once
/// per file.
pub fn push_row(
    out: &mut Vec<u8>,
    keys: &[String],
    input: &csv::StringRecord,
    result: &RowResult,
    stamp: &Stamp,
) {
    let texts = [
        ("line", result.line.into()),
        ("outcome", result.outcome.as_str().into()),
        ("http_status", result.http_status.into()),
        ("attempts", result.attempts.into()),
        ("message", one_line(&result.message, 500).into()),
        ("detail", one_line(&result.detail, 500).into()),
        ("finished_at", stamp.finished_at.into()),
        ("queued_ms", (result.queued.as_millis() as u64).into()),
        ("duration_ms", (result.duration.as_millis() as u64).into()),
    ];
    // Written by hand, not through a map: the input's keys come first in
    // their own order, and each key once (see `json_input_keys`).
    out.push(b'{');
    let resolved = RESOLVED_FIELDS.iter().map(|field| {
        let value = result
            .resolved
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        (resolved_name(*field), serde_json::Value::from(value))
    });
    let inputs = (0..keys.len()).map(|i| serde_json::Value::from(input.get(i).unwrap_or_default()));
    let fields = keys
        .iter()
        .cloned()
        .zip(inputs)
        .chain(texts.into_iter().map(|(k, v)| (k.to_owned(), v)))
        .chain(resolved.map(|(k, v)| (k.to_owned(), v)))
        .chain([
            (
                "verified".to_owned(),
                one_line(&result.verified, 200).into(),
            ),
            ("operation".to_owned(), stamp.run.operation.into()),
            ("tenant".to_owned(), stamp.run.tenant.as_str().into()),
            (
                "input_sha256".to_owned(),
                stamp.run.input_sha256.as_str().into(),
            ),
            ("change_ticket".to_owned(), stamp.ticket.into()),
            ("approved_by".to_owned(), stamp.approvers.into()),
        ]);
    for (i, (key, value)) in fields.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing strings and numbers into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &key);
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, &value);
    }
    out.extend_from_slice(b"}\n");
}

fn resolved_name(field: crate::ops::Field) -> String {
    format!("resolved_{}", field.wire_name())
}

/// Where each object of a JSON Lines results file starts and ends, by its
/// `line` field, sorted. There is no header: it ends at byte 0.
pub fn line_index(path: &Path) -> std::io::Result<(u64, Vec<RowSpan>)> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut index = Vec::new();
    let mut text = String::new();
    let mut start = 0u64;
    loop {
        text.clear();
        let read = reader.read_line(&mut text)? as u64;
        if read == 0 {
            break;
        }
        let line = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("line").and_then(serde_json::Value::as_u64))
            .unwrap_or(u64::MAX);
        index.push((line, start, start + read));
        start += read;
    }
    index.sort_unstable();
    Ok((0, index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    #[test]
    fn repeated_and_results_named_input_columns_keep_every_value_once() {
        let header = csv::StringRecord::from(vec!["note", "note", "line", "outcome"]);
        let input = csv::StringRecord::from(vec!["first", "second", "7", "ok"]);
        let result = RowResult::unsent(3, Outcome::Invalid, "bad");
        let mut out = Vec::new();
        let keys = crate::outcome::json_input_keys(header.iter());
        let run = RunIdentity {
            operation: "report",
            tenant: crate::identity::SIMULATED_TENANT.into(),
            input: "in.csv".into(),
            input_sha256: "00".into(),
        };
        push_row(
            &mut out,
            &keys,
            &input,
            &result,
            &Stamp {
                run: &run,
                ticket: "",
                approvers: &[],
                finished_at: "t",
            },
        );
        let text = String::from_utf8(out).unwrap();
        let keys: Vec<&str> = text
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|k| ["note", "note_2", "line", "input.line", "outcome"].contains(k))
            .collect();
        assert_eq!(keys.len(), 5, "each key once: {text}");
        let object: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(object["note"], "first");
        assert_eq!(object["note_2"], "second");
        assert_eq!(object["input.line"], "7");
        assert_eq!(object["input.outcome"], "ok");
        assert_eq!(object["line"], 3);
        assert_eq!(object["outcome"], "invalid");
        assert_eq!(object["tenant"], "the simulated tenant");
        assert_eq!(object["input_sha256"], "00");
    }
}
