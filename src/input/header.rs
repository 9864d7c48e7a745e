//! Header matching: which input column holds which canonical field.

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

    pub fn position(&self, field: Field) -> Option<usize> {
        self.positions[field.index()]
    }

    pub fn width(&self) -> usize {
        self.header.len()
    }
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
