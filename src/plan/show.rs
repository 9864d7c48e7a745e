//! `show PLAN`: a plan for review. The text form prints the header, the
//! summary and one line per target; `--format csv` one row per target for a
//! spreadsheet; `--format jsonl` the entries as they are, for a script. The
//! plan is verified first: a plan whose digest fails is not shown as if it
//! were good.

use std::io::Write;
use std::path::Path;

use super::file::{verify, Entry, PlanError, PlanReader};
use crate::outcome::{escape_formula, Action, PlannedTarget};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShowFormat {
    Text,
    Csv,
    Jsonl,
}

const ID_COLUMNS: [&str; 3] = ["userId", "tokenSerialNumber", "deviceSerialNumber"];

/// Writes the plan at `path` to `out` in `format`.
pub fn show(path: &Path, format: ShowFormat, out: &mut impl Write) -> Result<(), PlanError> {
    let verified = verify(path)?;
    let io = |source: std::io::Error| PlanError::Io {
        path: path.to_owned(),
        source,
    };
    let (mut reader, header) = PlanReader::open(path)?;
    let op = crate::ops::find(&header.operation);
    if format == ShowFormat::Text {
        let ticket = header.ticket.as_deref().unwrap_or("none");
        let credential = header
            .created_by
            .credential
            .as_deref()
            .unwrap_or("a bearer token");
        writeln!(
            out,
            "plan {}\n  operation  {}\n  tenant     {}\n  input      {} (sha256 {})\n  made       {} by {} with {credential}\n  ticket     {ticket}\n  digest     {}\n  approvals  {}",
            path.display(),
            header.operation,
            header.tenant,
            header.input.name,
            header.input.sha256,
            header.created_at,
            header.created_by.os_user,
            verified.digest,
            verified.approvals.len(),
        )
        .map_err(io)?;
        if let Some(op) = op {
            writeln!(out, "{}\n", super::summary_line(op, &verified.tally)).map_err(io)?;
        }
    }
    if format == ShowFormat::Csv {
        let mut csv = csv::Writer::from_writer(out);
        let mut head = vec!["line".to_owned()];
        head.extend(header.columns.iter().cloned());
        head.extend(ID_COLUMNS.iter().map(|c| (*c).to_owned()));
        head.extend(["state", "action", "method", "path", "body", "reason"].map(String::from));
        csv.write_record(&head).map_err(|e| io(e.into()))?;
        while let Some((entry, _)) = reader.next_entry()? {
            for target in &entry.planned.targets {
                csv.write_record(csv_row(&entry, target))
                    .map_err(|e| io(e.into()))?;
            }
        }
        return csv.flush().map_err(io);
    }
    while let Some((entry, text)) = reader.next_entry()? {
        match format {
            ShowFormat::Jsonl => writeln!(out, "{text}").map_err(io)?,
            _ => write_text(out, &entry).map_err(io)?,
        }
    }
    Ok(())
}

fn write_text(out: &mut impl Write, entry: &Entry) -> std::io::Result<()> {
    for target in &entry.planned.targets {
        let ids: Vec<String> = ID_COLUMNS
            .iter()
            .filter_map(|c| target.ids.get(*c).map(|v| format!("{c}={v}")))
            .collect();
        let ids = match ids.is_empty() {
            true => entry.input.join(","),
            false => ids.join(" "),
        };
        let what = match &target.action {
            Action::Change { method, path, .. } => {
                let then = target.state.as_deref().unwrap_or("state not readable");
                format!("change     {method} {path} (now {then})")
            }
            Action::NoOp => format!(
                "no-op      {}",
                target.state.as_deref().unwrap_or("already done")
            ),
            Action::Fail { kind, reason } => format!("fail       {kind}: {reason}"),
        };
        let line = format!("  line {:>6}  {what}  {ids}", entry.line);
        writeln!(out, "{}", crate::outcome::one_line(&line, 400))?;
    }
    Ok(())
}

fn csv_row(entry: &Entry, target: &PlannedTarget) -> Vec<String> {
    let mut row = vec![entry.line.to_string()];
    row.extend(entry.input.iter().map(|c| escape_formula(c).into_owned()));
    for column in ID_COLUMNS {
        row.push(target.ids.get(column).cloned().unwrap_or_default());
    }
    row.push(target.state.clone().unwrap_or_default());
    let (action, method, path, body, reason) = match &target.action {
        Action::Change { method, path, body } => (
            "change",
            method.clone(),
            path.clone(),
            body.clone().unwrap_or_default(),
            String::new(),
        ),
        Action::NoOp => (
            "no-op",
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ),
        Action::Fail { kind, reason } => (
            "fail",
            String::new(),
            String::new(),
            String::new(),
            format!("{kind}: {reason}"),
        ),
    };
    row.extend([action.to_owned(), method, path, body, reason]);
    row.iter().map(|c| escape_formula(c).into_owned()).collect()
}
