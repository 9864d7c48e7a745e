//! Resuming: which rows earlier runs already did. A row counts as done when
//! an earlier results file says `ok`, or says `skipped` because a run before
//! that did it, so a chain of resumed runs carries every success forward.
//! Rows are matched by their identity for the operation (the same key as
//! duplicate detection), read from the results file's own input columns
//! through the same header matching, never by position: a fixed or
//! re-sorted input resumes correctly.
//!
//! Each results line names the operation and the tenant that made it. A
//! file of another operation is refused as it is read; one of another
//! tenant once the run knows its own ([`ResumedTenants::check`]), before
//! anything is sent. A file that names neither is refused too: its `ok`
//! says nothing about where.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::{validate, ColumnMap, InputError, RawRow, RecordReader};
use crate::ops::Operation;
use crate::outcome::{json_input_name, unescape_formula, Outcome, RESULT_COLUMNS};

/// The tenants earlier results files name, each with the first line that
/// names it, to check against the run's own tenant.
#[derive(Clone, Debug, Default)]
pub struct ResumedTenants {
    seen: Vec<(PathBuf, u64, String)>,
}

impl ResumedTenants {
    fn note(&mut self, path: &Path, line: u64, tenant: &str) {
        let known = self.seen.iter().any(|(p, _, t)| p == path && t == tenant);
        if !known {
            self.seen.push((path.to_owned(), line, tenant.to_owned()));
        }
    }

    /// Refuses results another tenant's run wrote: `this_run` is the run's
    /// tenant label (`identity`), the simulated tenant's included, so a
    /// rehearsal never counts for a real tenant, nor a real run for a
    /// rehearsal.
    pub fn check(&self, this_run: &str) -> Result<(), InputError> {
        match self.seen.iter().find(|(_, _, tenant)| tenant != this_run) {
            None => Ok(()),
            Some((path, line, tenant)) => Err(InputError::Csv {
                path: path.clone(),
                line: *line,
                what: format!(
                    "these are results from {tenant}, but this run is for {this_run}; --resume takes results of the same tenant (a rehearsal on --mock never counts for a real tenant, nor the other way round)"
                ),
            }),
        }
    }
}

/// Why a results file cannot be resumed from: it names no operation or no
/// tenant.
fn unnamed(path: &Path, line: u64, missing: &str) -> InputError {
    InputError::Csv {
        path: path.to_owned(),
        line,
        what: format!(
            "names no {missing} (written by an older securid-bulk, or edited); --resume takes only results that name the operation and tenant that made them: run without --resume, or pass results of this version"
        ),
    }
}

/// How a row done in an earlier run is described; a later resume recognises
/// its own skipped rows by it.
pub const DONE_PREFIX: &str = "already ok in ";

/// Identities of rows done in earlier runs, with where each was recorded.
#[derive(Debug, Default)]
pub struct Done {
    rows: HashMap<String, (String, u64)>,
    tenants: ResumedTenants,
}

impl Done {
    /// Reads each earlier results file in turn.
    pub fn load(paths: &[PathBuf], op: &'static Operation) -> Result<Done, InputError> {
        let mut done = Done::default();
        for path in paths {
            done.read(path, op)?;
        }
        Ok(done)
    }

    /// Where the row with this identity was done, if it was.
    pub fn find(&self, identity: &str) -> Option<(&str, u64)> {
        self.rows
            .get(identity)
            .map(|(file, line)| (file.as_str(), *line))
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The tenants the files name, to check once the run knows its own.
    pub fn tenants(&self) -> &ResumedTenants {
        &self.tenants
    }

    fn read(&mut self, path: &Path, op: &'static Operation) -> Result<(), InputError> {
        if is_json_lines(path)? {
            return self.read_json_lines(path, op);
        }
        let mut reader = RecordReader::open(path, b',')?;
        let header = reader.next_header()?.unwrap_or_default();
        let layout = ResultsLayout::find(path, &header)?;
        // Cells were escaped against spreadsheet formulas when written, and
        // input columns named like the results' own renamed `input.NAME`;
        // the identity is the value as the input had it.
        let input_header: csv::StringRecord = header
            .iter()
            .take(layout.width)
            .map(|name| json_input_name(unescape_formula(name)).to_owned())
            .collect();
        let columns = ColumnMap::build(path, input_header, op)?;
        let name = path.display().to_string();
        while let Some(raw) = reader.advance() {
            let raw = raw?;
            layout.check_operation(path, raw.line, &raw.record, op)?;
            let tenant = raw.record.get(layout.tenant).unwrap_or_default();
            if tenant.is_empty() {
                return Err(unnamed(path, raw.line, "tenant"));
            }
            self.tenants.note(path, raw.line, tenant);
            if !layout.is_done(&raw.record) {
                continue;
            }
            let input = RawRow {
                line: raw.line,
                record: raw
                    .record
                    .iter()
                    .take(layout.width)
                    .map(unescape_formula)
                    .collect(),
            };
            let checked = validate::check(op, &columns, &input);
            if checked.is_ready() {
                let line = raw.record.get(layout.width).and_then(|l| l.parse().ok());
                self.rows.insert(
                    checked.identity(op),
                    (name.clone(), line.unwrap_or(raw.line)),
                );
            }
        }
        Ok(())
    }
}

/// Whether a results file is JSON Lines (`--format jsonl`): it opens with `{`.
fn is_json_lines(path: &Path) -> Result<bool, InputError> {
    use std::io::Read as _;
    let mut first = [0u8; 1];
    let read = std::fs::File::open(path)
        .and_then(|mut file| file.read(&mut first))
        .map_err(|source| InputError::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(read == 1 && first[0] == b'{')
}

impl Done {
    /// Reads JSON Lines results: each object's input fields and outcome.
    fn read_json_lines(&mut self, path: &Path, op: &'static Operation) -> Result<(), InputError> {
        use std::io::BufRead as _;
        let file = std::fs::File::open(path).map_err(|source| InputError::Io {
            path: path.to_owned(),
            source,
        })?;
        let name = path.display().to_string();
        let mut columns: Option<(Vec<String>, ColumnMap)> = None;
        let mut reader = std::io::BufReader::new(file);
        let mut text = String::new();
        for line in 1.. {
            text.clear();
            let read = reader
                .read_line(&mut text)
                .map_err(|source| InputError::Io {
                    path: path.to_owned(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            let bad = |what: &str| InputError::Csv {
                path: path.to_owned(),
                line,
                what: what.to_owned(),
            };
            let object: serde_json::Map<String, serde_json::Value> =
                match serde_json::from_str(&text) {
                    Ok(object) => object,
                    // A run killed mid-write leaves its last row unfinished:
                    // that row is not done.
                    Err(_) if !text.ends_with('\n') => break,
                    Err(_) => return Err(bad("not a JSON Lines results object of this tool")),
                };
            let text_of = |key: &str| object.get(key).and_then(|v| v.as_str()).unwrap_or_default();
            let written_by = text_of("operation");
            if written_by.is_empty() {
                return Err(unnamed(path, line, "operation"));
            }
            if written_by != op.name {
                return Err(bad(&format!("these are results of {written_by}, not {}; --resume takes results of the same operation", op.name)));
            }
            match text_of("tenant") {
                "" => return Err(unnamed(path, line, "tenant")),
                tenant => self.tenants.note(path, line, tenant),
            }
            if columns.is_none() {
                let keys: Vec<&String> = object
                    .keys()
                    .filter(|k| !RESULT_COLUMNS.contains(&k.as_str()))
                    .collect();
                let header: csv::StringRecord = keys.iter().map(|k| json_input_name(k)).collect();
                let keys = keys.into_iter().cloned().collect::<Vec<_>>();
                let map = ColumnMap::build(path, header, op)?;
                columns = Some((keys, map));
            }
            let (keys, map) = columns.as_ref().expect("set above");
            let done = match Outcome::parse(text_of("outcome")) {
                Some(Outcome::Ok) => true,
                Some(Outcome::Skipped) => text_of("message").starts_with(DONE_PREFIX),
                _ => false,
            };
            if !done {
                continue;
            }
            let input = RawRow {
                line,
                record: keys.iter().map(|k| text_of(k)).collect(),
            };
            let checked = validate::check(op, map, &input);
            if checked.is_ready() {
                let at = object.get("line").and_then(|v| v.as_u64()).unwrap_or(line);
                self.rows.insert(checked.identity(op), (name.clone(), at));
            }
        }
        Ok(())
    }
}

/// Where a results file's own columns sit: after the input's columns come
/// `line`, `outcome`, and later `message`, `operation` and `tenant`.
struct ResultsLayout {
    width: usize,
    message: usize,
    operation: usize,
    tenant: usize,
}

impl ResultsLayout {
    fn find(path: &Path, header: &csv::StringRecord) -> Result<Self, InputError> {
        let names: Vec<&str> = header.iter().collect();
        let width = super::header::results_width(&names);
        let message = width.and_then(|w| (w..names.len()).find(|&i| names[i] == "message"));
        let after = |name: &str| width.and_then(|w| (w..names.len()).find(|&i| names[i] == name));
        match (width, message) {
            (Some(width), Some(message)) => Ok(ResultsLayout {
                width,
                message,
                operation: after("operation").ok_or_else(|| unnamed(path, 1, "operation"))?,
                tenant: after("tenant").ok_or_else(|| unnamed(path, 1, "tenant"))?,
            }),
            _ => Err(InputError::Csv {
                path: path.to_owned(),
                line: 1,
                what: "not a results file of this tool (no line, outcome and message columns); pass the .results.csv an earlier run wrote".into(),
            }),
        }
    }

    /// Refuses a results file another operation wrote: its `ok` rows say
    /// nothing about this operation's rows.
    fn check_operation(
        &self,
        path: &Path,
        line: u64,
        record: &csv::StringRecord,
        op: &Operation,
    ) -> Result<(), InputError> {
        let written_by = record.get(self.operation).unwrap_or_default();
        if written_by.is_empty() {
            return Err(unnamed(path, line, "operation"));
        }
        if written_by == op.name {
            return Ok(());
        }
        Err(InputError::Csv {
            path: path.to_owned(),
            line,
            what: format!(
                "these are results of {written_by}, not {}; --resume takes results of the same operation",
                op.name
            ),
        })
    }

    fn is_done(&self, record: &csv::StringRecord) -> bool {
        let outcome = record.get(self.width + 1).and_then(Outcome::parse);
        let message = record.get(self.message).unwrap_or_default();
        match outcome {
            Some(Outcome::Ok) => true,
            Some(Outcome::Skipped) => message.starts_with(DONE_PREFIX),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::DS100_CLEAR_PIN;

    const U1: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";
    const OP: &str = "ds100-clear-pin";
    const T: &str = "https://t.example:443";

    #[test]
    fn ok_and_carried_forward_rows_are_done_others_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let text = format!(
            "ticket,user_id,tokenSerialNumber,line,outcome,http_status,attempts,message,detail,operation,tenant\n\
             a,{U1},001,2,ok,200,1,,,{OP},{T}\n\
             b,{U1},002,3,failed,500,6,boom,,{OP},{T}\n\
             c,{U1},003,4,skipped,,0,{DONE_PREFIX}x.csv (line 9); not sent again,,{OP},{T}\n\
             d,{U1},004,5,skipped,,0,duplicate of line 2,,{OP},{T}\n"
        );
        std::fs::write(&path, text).unwrap();
        let done = Done::load(&[path], &DS100_CLEAR_PIN).unwrap();
        assert_eq!(done.len(), 2);
        let id = |serial: &str| {
            DS100_CLEAR_PIN
                .fields()
                .map(|f| match f {
                    crate::ops::Field::UserId => U1,
                    crate::ops::Field::TokenSerialNumber => serial,
                    _ => "",
                })
                .collect::<Vec<_>>()
                .join("\u{1f}")
        };
        assert_eq!(done.find(&id("001")).map(|(_, l)| l), Some(2));
        assert!(done.find(&id("003")).is_some());
        assert!(done.find(&id("002")).is_none());
    }

    #[test]
    fn results_of_another_operation_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let text = format!(
            "userId,tokenSerialNumber,line,outcome,http_status,attempts,message,operation,tenant\n\
             {U1},001,2,ok,200,1,,sid-clear-pin,{T}\n"
        );
        std::fs::write(&path, text).unwrap();
        let err = Done::load(&[path], &DS100_CLEAR_PIN).unwrap_err();
        assert!(
            err.to_string()
                .contains("r.csv:2: these are results of sid-clear-pin, not ds100-clear-pin"),
            "{err}"
        );
    }

    #[test]
    fn json_lines_results_are_read_and_an_unfinished_last_row_is_not_done() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.results.jsonl");
        let text = format!(
            "{{\"userId\":\"{U1}\",\"tokenSerialNumber\":\"001\",\"line\":2,\"outcome\":\"ok\",\"message\":\"\",\"operation\":\"ds100-clear-pin\",\"tenant\":\"{T}\"}}\n\
             {{\"userId\":\"{U1}\",\"tokenSerialNumber\":\"002\",\"line\":3,\"outcome\":\"failed\",\"message\":\"boom\",\"operation\":\"ds100-clear-pin\",\"tenant\":\"{T}\"}}\n\
             {{\"userId\":\"{U1}\",\"tokenSerialNumber\":\"003\",\"li"
        );
        std::fs::write(&path, text).unwrap();
        let done = Done::load(&[path], &DS100_CLEAR_PIN).unwrap();
        assert_eq!(done.len(), 1);
        assert!(done.tenants().check(T).is_ok());
        let err = done.tenants().check("the simulated tenant").unwrap_err();
        assert!(
            err.to_string().contains(
                "r.results.jsonl:1: these are results from https://t.example:443, but this run is for the simulated tenant"
            ),
            "{err}"
        );
    }

    #[test]
    fn results_that_name_no_operation_or_tenant_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            ("a.jsonl", format!("{{\"userId\":\"{U1}\",\"tokenSerialNumber\":\"001\",\"line\":2,\"outcome\":\"ok\",\"message\":\"\"}}\n")),
            ("b.jsonl", format!("{{\"userId\":\"{U1}\",\"tokenSerialNumber\":\"001\",\"line\":2,\"outcome\":\"ok\",\"message\":\"\",\"operation\":\"{OP}\"}}\n")),
            ("c.csv", format!("userId,tokenSerialNumber,line,outcome,http_status,attempts,message\n{U1},001,2,ok,200,1,\n")),
            ("d.csv", format!("userId,tokenSerialNumber,line,outcome,http_status,attempts,message,operation,tenant\n{U1},001,2,ok,200,1,,{OP},\n")),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let err = Done::load(&[path], &DS100_CLEAR_PIN).unwrap_err().to_string();
            assert!(err.contains("names no "), "{name}: {err}");
        }
    }

    #[test]
    fn an_input_file_is_not_a_results_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.csv");
        std::fs::write(&path, format!("userId,tokenSerialNumber\n{U1},001\n")).unwrap();
        let err = Done::load(&[path], &DS100_CLEAR_PIN).unwrap_err();
        assert!(err.to_string().contains("not a results file"), "{err}");
    }
}
