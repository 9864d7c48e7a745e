//! Results as JSON Lines (`--format jsonl`): one object per input row with
//! the same fields as the CSV, the input's columns first in their own
//! order, then the results' own, numbers as numbers. Values are written as
//! they are: a JSON reader runs no formula, so no cell is escaped.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::writer::{RowSpan, RESOLVED_FIELDS};
use crate::outcome::{one_line, RowResult};

/// Appends one row's object and its line end to `out`.
pub fn push_row(
    out: &mut Vec<u8>,
    header: &csv::StringRecord,
    input: &csv::StringRecord,
    result: &RowResult,
    operation: &str,
    finished_at: &str,
) {
    let mut object = serde_json::Map::new();
    for (i, name) in header.iter().enumerate() {
        object.insert(name.to_owned(), input.get(i).unwrap_or_default().into());
    }
    let texts = [
        ("line", result.line.into()),
        ("outcome", result.outcome.as_str().into()),
        ("http_status", result.http_status.into()),
        ("attempts", result.attempts.into()),
        ("message", one_line(&result.message, 500).into()),
        ("detail", one_line(&result.detail, 500).into()),
        ("finished_at", finished_at.into()),
        ("queued_ms", (result.queued.as_millis() as u64).into()),
        ("duration_ms", (result.duration.as_millis() as u64).into()),
    ];
    // Keys of the input come first: a map keeps them in insertion order
    // only with serde_json's preserve_order, so the object is written by
    // hand in this order.
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
    let fields = header
        .iter()
        .map(|name| (name.to_owned(), object.remove(name).unwrap_or_default()))
        .chain(texts.into_iter().map(|(k, v)| (k.to_owned(), v)))
        .chain(resolved.map(|(k, v)| (k.to_owned(), v)))
        .chain([
            (
                "verified".to_owned(),
                one_line(&result.verified, 200).into(),
            ),
            ("operation".to_owned(), operation.into()),
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
