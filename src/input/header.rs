//! Header matching: which input column holds which canonical field, and
//! whether the header is an earlier run's output (its results or its retry
//! file) rather than a list of rows to act on.

use std::path::Path;

use super::InputError;
use crate::ops::{Field, Operation};

/// Lower-cases a header name and drops `_`, `-` and spaces, so `userId`,
/// `user_id` and `User ID` all read `userid`.
pub fn normalise_header(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' ' | '\t'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where each canonical field sits in the input's columns.
#[derive(Debug, Clone, Default)]
pub struct ColumnMap {
    positions: [Option<usize>; Field::COUNT],
    /// The header exactly as the file wrote it (BOM removed).
    pub header: csv::StringRecord,
}

impl ColumnMap {
    /// Matches a header on line 1 against the canonical fields and checks
    /// the operation's required columns are present.
    pub fn build(
        path: &Path,
        header: csv::StringRecord,
        op: &'static Operation,
    ) -> Result<Self, InputError> {
        Self::build_at(path, ":1", header, op, &[])
    }

    /// [`Self::build`] for a header found `at` (`:2`, `, sheet Staff, row
    /// 1`), with the columns `--column` named for some fields.
    pub fn build_at(
        path: &Path,
        at: &str,
        header: csv::StringRecord,
        op: &'static Operation,
        renames: &[(Field, String)],
    ) -> Result<Self, InputError> {
        let mut positions = [None; Field::COUNT];
        let mut renamed = Vec::new();
        for (field, name) in renames {
            let wanted = normalise_header(name);
            let Some(index) = header.iter().position(|h| normalise_header(h) == wanted) else {
                return Err(InputError::RenamedColumnMissing {
                    path: path.to_owned(),
                    at: at.to_owned(),
                    rename: format!("{}={name}", field.wire_name()),
                    found: describe_header(&header),
                });
            };
            positions[field.index()] = Some(index);
            renamed.push(index);
        }
        for (index, name) in header.iter().enumerate() {
            if renamed.contains(&index) {
                continue;
            }
            let normalised = normalise_header(name);
            let Some(field) = Field::ALL.into_iter().find(|f| {
                std::iter::once(f.wire_name())
                    .chain(f.aliases().iter().copied())
                    .any(|name| normalise_header(name) == normalised)
            }) else {
                continue;
            };
            if renames.iter().any(|(renamed, _)| *renamed == field) {
                continue;
            }
            if let Some(first) = positions[field.index()] {
                return Err(InputError::DuplicateColumn {
                    path: path.to_owned(),
                    at: at.to_owned(),
                    field: field.wire_name(),
                    first: first + 1,
                    second: index + 1,
                });
            }
            positions[field.index()] = Some(index);
        }
        // A column a lookup can fill in may be absent when the lookup's key
        // column is there (an `email` column instead of `userId`).
        let missing: Vec<String> = op
            .required
            .iter()
            .filter(|f| positions[f.index()].is_none())
            .filter(|f| {
                op.resolvers_for(**f)
                    .all(|r| positions[r.lookup.key.index()].is_none())
            })
            // A credential's column may be absent from a file of users: each
            // row then stands for every such credential the user holds.
            .filter(|f| !(op.expandable(**f) && file_of_users(&positions, op)))
            .map(|f| op.describe_column(*f))
            .collect();
        if !missing.is_empty() && positions.iter().all(Option::is_none) {
            if let Some(error) = looks_like_data(path, at, &header, op) {
                return Err(error);
            }
        }
        if !missing.is_empty() {
            return Err(InputError::MissingColumns {
                path: path.to_owned(),
                at: at.to_owned(),
                operation: op.name,
                missing: missing.join(", "),
                found_and_hint: format!(
                    "{}. Rename or add the column (names are matched ignoring case, spaces, '-' and '_'), or name it with --column FIELD=HEADER.{}",
                    describe_header(&header),
                    delimiter_hint(&header, op)
                ),
            });
        }
        Ok(ColumnMap { positions, header })
    }

    /// Whether the file names users but none of `op`'s credentials (see
    /// [`file_of_users`]).
    pub fn lists_users_only(&self, op: &Operation) -> bool {
        file_of_users(&self.positions, op)
    }

    pub fn position(&self, field: Field) -> Option<usize> {
        self.positions[field.index()]
    }

    pub fn width(&self) -> usize {
        self.header.len()
    }
}

/// Where an input came from, as its header tells: a list of rows, or an
/// earlier run's output, whose record of its operation decides whether
/// this run may take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// No output of this tool: rows to act on.
    Rows,
    /// Results: `line` then `outcome`, `message` later; the `operation`
    /// column, when the results have one.
    Results { operation: Option<usize> },
    /// A retry file: its `retry.operation` column.
    Retry { operation: usize },
}

impl Provenance {
    /// Reads it from the header.
    pub fn of(header: &csv::StringRecord) -> Self {
        let names: Vec<&str> = header.iter().collect();
        if let Some(width) = results_width(&names) {
            let operation = (width..names.len()).find(|&i| names[i] == "operation");
            return Provenance::Results { operation };
        }
        let retry = names
            .iter()
            .position(|n| *n == crate::identity::RETRY_COLUMNS[0]);
        match retry {
            Some(operation) => Provenance::Retry { operation },
            None => Provenance::Rows,
        }
    }

    /// Refuses a row of an output `op` may not take as input: results of
    /// this operation (its rows already ok would be sent again; `--resume`
    /// is the way to carry on) or of another one that is not a listing
    /// (whose results are meant as the next operation's input), and a retry
    /// file of another operation.
    pub fn check(
        self,
        path: &Path,
        line: u64,
        record: &csv::StringRecord,
        op: &Operation,
    ) -> Result<(), InputError> {
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or_default();
        let what = match self {
            Provenance::Rows => return Ok(()),
            Provenance::Results { operation } => match cell(operation) {
                "" => "this is a results file of securid-bulk (columns line, outcome, message) that names no operation; given as input, rows it has as ok would be sent again: did you mean --resume?".to_owned(),
                written_by if written_by == op.name => format!(
                    "this is the results of {written_by}; given as input, rows it has as ok would be sent again: did you mean --resume? Pass the original input, with this file after --resume, or run the retry file beside it"
                ),
                written_by if crate::ops::find(written_by).is_some_and(|w| w.lists.is_some()) => return Ok(()),
                written_by => format!(
                    "this is the results of {written_by}; did you mean --resume? {} takes a list of rows, not another operation's results: pass the input that run read, or rows of your own",
                    op.name
                ),
            },
            Provenance::Retry { operation } => match cell(Some(operation)) {
                written_by if written_by.is_empty() || written_by == op.name => return Ok(()),
                written_by => format!(
                    "this is the retry file of {written_by} (column retry.operation), not of {}; run it with {written_by}, or delete the retry.* columns to use its rows for {}",
                    op.name, op.name
                ),
            },
        };
        Err(InputError::Csv {
            path: path.to_owned(),
            line,
            what,
        })
    }
}

/// Where a results file's input columns end: at the last `line` followed
/// by `outcome`, with `message` after them.
pub(super) fn results_width(names: &[&str]) -> Option<usize> {
    let width = (0..names.len().saturating_sub(1))
        .rev()
        .find(|&i| names[i] == "line" && names[i + 1] == "outcome")?;
    names[width..].contains(&"message").then_some(width)
}

/// A header that is one cell and would match the operation once split on
/// `;` or a tab was written with that delimiter (Excel writes `;` in much of
/// Europe): the hint names the flag that reads it.
fn delimiter_hint(header: &csv::StringRecord, op: &'static Operation) -> String {
    let [only] = header.iter().collect::<Vec<_>>()[..] else {
        return String::new();
    };
    [(';', "';'"), ('\t', "'\\t'")]
        .into_iter()
        .find(|(delimiter, _)| {
            let split = csv::StringRecord::from(only.split(*delimiter).collect::<Vec<_>>());
            split.len() > 1 && ColumnMap::build(Path::new(""), split, op).is_ok()
        })
        .map(|(_, flag)| {
            format!(
                " The header splits into the expected columns on {flag}: pass --delimiter {flag}."
            )
        })
        .unwrap_or_default()
}

/// A first line with no column name at all, whose cells look like a user
/// ID, an email address or a serial: a file without a header row. The error
/// suggests `--columns` with a name guessed for each cell.
fn looks_like_data(
    path: &Path,
    at: &str,
    header: &csv::StringRecord,
    op: &'static Operation,
) -> Option<InputError> {
    let guess = |cell: &str| {
        let cell = cell.trim();
        if super::is_uuid_like(cell) {
            Some((Field::UserId, "a user ID"))
        } else if super::check_value(Field::Email, cell).is_ok() {
            Some((Field::Email, "an email address"))
        } else if cell.len() >= 6 && cell.bytes().all(|b| b.is_ascii_digit()) {
            let serial = match op.fields().any(|f| f == Field::TokenSerialNumber) {
                true => Field::TokenSerialNumber,
                false => Field::DeviceSerialNumber,
            };
            Some((serial, "a serial"))
        } else {
            None
        }
    };
    let (cell, looks) = header
        .iter()
        .find_map(|cell| guess(cell).map(|(_, looks)| (cell, looks)))?;
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(index, cell)| match guess(cell) {
            Some((field, _)) => field.wire_name().to_owned(),
            None => format!("column{}", index + 1),
        })
        .collect();
    Some(InputError::NoHeader {
        path: path.to_owned(),
        at: at.to_owned(),
        cell: crate::outcome::one_line(cell, 40),
        looks,
        columns: names.join(","),
    })
}

fn describe_header(header: &csv::StringRecord) -> String {
    if header.iter().all(str::is_empty) {
        return "(none)".to_owned();
    }
    let names: Vec<String> = header
        .iter()
        .take(12)
        .map(|name| format!("{:?}", crate::outcome::one_line(name, 40)))
        .collect();
    let more = header.len().saturating_sub(12);
    if more > 0 {
        format!("{} and {more} more", names.join(", "))
    } else {
        names.join(", ")
    }
}

/// Whether a header names users but none of the operation's credentials:
/// each row then stands for every such credential its user holds. A file
/// with a credential column is read as before, an empty cell included, so
/// a half-filled sheet never widens to all of a user's credentials.
fn file_of_users(positions: &[Option<usize>; Field::COUNT], op: &Operation) -> bool {
    let Some(credential) = op.credential else {
        return false;
    };
    let names_user = [Field::UserId, Field::Email, Field::Username]
        .iter()
        .any(|f| positions[f.index()].is_some());
    names_user
        && credential
            .fields
            .iter()
            .all(|(f, _)| positions[f.index()].is_none())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{DS100_CLEAR_PIN, DS100_DELETE};

    fn header(names: &[&str]) -> csv::StringRecord {
        csv::StringRecord::from(names.to_vec())
    }

    #[test]
    fn spellings_of_a_column_all_match() {
        for name in ["userId", "user_id", "User ID", "USER-ID", "userid"] {
            assert_eq!(normalise_header(name), "userid", "{name}");
        }
    }

    #[test]
    fn extra_columns_are_ignored_and_positions_found() {
        let map = ColumnMap::build(
            Path::new("in.csv"),
            header(&["ticket", "Token Serial Number", "user_id"]),
            &DS100_CLEAR_PIN,
        )
        .unwrap();
        assert_eq!(map.position(Field::UserId), Some(2));
        assert_eq!(map.position(Field::TokenSerialNumber), Some(1));
        assert_eq!(map.position(Field::DeviceSerialNumber), None);
    }

    #[test]
    fn missing_column_names_it_and_lists_what_was_found() {
        let err = ColumnMap::build(
            Path::new("in.csv"),
            header(&["userId", "tokenSerialNumber"]),
            &DS100_DELETE,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("in.csv:1: missing column deviceSerialNumber required by ds100-delete"),
            "{err}"
        );
        assert!(err.contains("\"userId\""), "{err}");
    }

    #[test]
    fn email_stands_in_for_a_missing_user_id_column() {
        for name in ["email", "Email", "E-mail", "mail", "Email Address"] {
            let map = ColumnMap::build(
                Path::new("in.csv"),
                header(&[name, "tokenSerialNumber"]),
                &DS100_CLEAR_PIN,
            )
            .unwrap();
            assert_eq!(map.position(Field::Email), Some(0), "{name}");
            assert_eq!(map.position(Field::UserId), None);
        }
    }

    #[test]
    fn device_serial_stands_in_for_the_token_serial_of_a_delete() {
        let map = ColumnMap::build(
            Path::new("in.csv"),
            header(&["email", "deviceSerialNumber"]),
            &DS100_DELETE,
        );
        assert!(map.is_ok());
        let err = ColumnMap::build(
            Path::new("in.csv"),
            header(&["tokenSerialNumber"]),
            &DS100_CLEAR_PIN,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("missing column userId (or email or username)"),
            "{err}"
        );
    }

    #[test]
    fn a_semicolon_header_gets_the_delimiter_hint() {
        let build = |names: &[&str]| {
            ColumnMap::build(Path::new("in.csv"), header(names), &DS100_CLEAR_PIN)
                .unwrap_err()
                .to_string()
        };
        let err = build(&["userId;tokenSerialNumber;ticket"]);
        assert!(err.contains("pass --delimiter ';'"), "{err}");
        let err = build(&["userId\ttokenSerialNumber"]);
        assert!(err.contains("pass --delimiter '\\t'"), "{err}");
        let err = build(&["name;phone"]);
        assert!(!err.contains("--delimiter"), "{err}");
    }

    #[test]
    fn outputs_are_told_from_rows_by_their_header() {
        let of = |names: &[&str]| Provenance::of(&header(names));
        assert_eq!(of(&["userId", "line", "outcome", "note"]), Provenance::Rows);
        assert_eq!(
            of(&["userId", "line", "outcome", "message", "operation"]),
            Provenance::Results { operation: Some(4) }
        );
        assert_eq!(
            of(&["userId", "retry.operation", "retry.tenant"]),
            Provenance::Retry { operation: 1 }
        );
        let results = of(&["userId", "line", "outcome", "message", "operation"]);
        let row = |op: &str| header(&["u", "2", "ok", "", op]);
        let check = |op: &str| results.check(Path::new("r.csv"), 2, &row(op), &DS100_CLEAR_PIN);
        assert!(
            check("report").is_ok(),
            "a listing's results feed operations"
        );
        let err = check("sid-clear-pin").unwrap_err().to_string();
        assert!(
            err.contains("r.csv:2: this is the results of sid-clear-pin; did you mean --resume?"),
            "{err}"
        );
        let err = check("ds100-clear-pin").unwrap_err().to_string();
        assert!(
            err.contains("ok would be sent again: did you mean --resume?"),
            "{err}"
        );
    }

    #[test]
    fn two_columns_for_one_field_is_an_error() {
        let err = ColumnMap::build(
            Path::new("in.csv"),
            header(&["userId", "user_id", "tokenSerialNumber"]),
            &DS100_CLEAR_PIN,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("columns 1 and 2 both mean userId"), "{err}");
    }
}
