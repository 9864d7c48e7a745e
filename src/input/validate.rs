//! Per-row validation: is every value the operation needs present and well
//! formed? A row that fails is never sent; its message names the column and
//! says what was expected.

use super::{ColumnMap, Finding, RawRow};
use crate::ops::{Field, Operation};
use crate::outcome::one_line;

/// The SID700 page caps the serial at 36 characters; no serial is longer.
pub const MAX_SERIAL_LEN: usize = 36;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Verdict {
    /// The row may be sent.
    #[default]
    Ready,
    /// The row is wrong and is never sent.
    Invalid(String),
    /// The row is fine but is not sent (a duplicate, or done in an earlier run).
    Skip(String),
}

/// A row's canonical values and its verdict.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// The row's canonical values one after another, in one allocation;
    /// `spans` says where each one is.
    text: String,
    spans: [Option<(usize, usize)>; Field::COUNT],
    pub verdict: Verdict,
    /// Things worth telling the admin that do not stop the row, such as
    /// trimmed whitespace.
    pub notes: Vec<String>,
}

impl Checked {
    pub fn value(&self, field: Field) -> Option<&str> {
        self.spans[field.index()].map(|(start, end)| &self.text[start..end])
    }

    pub fn is_ready(&self) -> bool {
        self.verdict == Verdict::Ready
    }

    /// Sets a field's value: a checked cell, or what a lookup found for a
    /// cell the row left empty.
    pub fn resolve(&mut self, field: Field, value: &str) {
        let start = self.text.len();
        self.text.push_str(value);
        self.spans[field.index()] = Some((start, self.text.len()));
    }

    /// Applies what the scan found across rows. An invalid row stays invalid.
    pub fn apply(&mut self, finding: &Finding) {
        match finding {
            Finding::DuplicateOf(_) | Finding::DoneEarlier { .. } => {
                if self.is_ready() {
                    self.verdict = Verdict::Skip(finding.message());
                }
            }
            Finding::SharedSerial { .. } | Finding::DateCell { .. } => {
                self.add_problem(finding.message())
            }
            Finding::ShortSerial { .. }
            | Finding::FormulaCell { .. }
            | Finding::NumberCell { .. } => self.notes.push(finding.message()),
        }
    }

    /// Marks the row invalid, keeping any earlier problem in the message.
    pub fn add_problem(&mut self, problem: String) {
        self.verdict = match std::mem::replace(&mut self.verdict, Verdict::Ready) {
            Verdict::Invalid(earlier) => Verdict::Invalid(format!("{earlier}; {problem}")),
            _ => Verdict::Invalid(problem),
        };
    }

    /// A key naming the row's identity for this operation, used for duplicate
    /// detection and for matching rows across runs.
    pub fn identity(&self, op: &Operation) -> String {
        op.fields()
            .map(|f| self.value(f).unwrap_or_default().to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join("\u{1f}")
    }
}

/// Checks one row against the operation's needs.
pub fn check(op: &Operation, columns: &ColumnMap, raw: &RawRow) -> Checked {
    let mut checked = Checked::default();
    check_into(op, columns, raw, &mut checked);
    checked
}

/// [`check`] into a [`Checked`] that is reused row after row: a pass that
/// only looks at each row keeps the values' buffers instead of allocating
/// them afresh.
pub fn check_into(op: &Operation, columns: &ColumnMap, raw: &RawRow, checked: &mut Checked) {
    checked.verdict = Verdict::Ready;
    checked.notes.clear();
    checked.spans = Default::default();
    checked.text.clear();
    // Every value is a trimmed cell: the record's length always suffices.
    checked.text.reserve(raw.record.as_slice().len());
    if raw.record.len() != columns.width() {
        checked.add_problem(format!(
            "row has {} fields but the header has {}; check for a stray delimiter or an unclosed quote",
            raw.record.len(),
            columns.width()
        ));
    }
    for field in op.fields() {
        let Some(position) = columns.position(field) else {
            continue;
        };
        let cell = raw.record.get(position).unwrap_or_default();
        // An empty cell is fine when the operation can do without it: a
        // lookup key that is not needed, or a value a lookup will find.
        let optional = !op.required.contains(&field)
            || op.resolvers_for(field).next().is_some()
            || (op.expandable(field) && columns.lists_users_only(op));
        if optional && cell.trim().is_empty() {
            continue;
        }
        match check_value(field, cell) {
            Ok(value) => {
                if value.len() != cell.len() {
                    checked
                        .notes
                        .push(format!("trimmed whitespace around {field}"));
                }
                checked.resolve(field, value);
            }
            Err(problem) => {
                checked.add_problem(format!("column {} ({field}): {problem}", position + 1))
            }
        }
    }
    check_resolvable(op, columns, raw, checked);
}

/// A required value left empty needs a lookup key in the same row.
fn check_resolvable(op: &Operation, columns: &ColumnMap, raw: &RawRow, checked: &mut Checked) {
    let has_cell = |field: Field| {
        columns
            .position(field)
            .and_then(|p| raw.record.get(p))
            .is_some_and(|cell| !cell.trim().is_empty())
    };
    for field in op.required {
        // The usual case, a value present, is settled before anything is
        // collected: this runs twice for every row of the file.
        if has_cell(*field) {
            continue;
        }
        let stand_ins: Vec<Field> = op.resolvers_for(*field).map(|r| r.lookup.key).collect();
        if stand_ins.is_empty() || stand_ins.iter().any(|k| has_cell(*k)) {
            continue;
        }
        if op.expandable(*field) && columns.lists_users_only(op) {
            continue;
        }
        let place = match columns.position(*field) {
            Some(position) => format!("column {} ({field}): is empty", position + 1),
            None => format!("no {field} column"),
        };
        let keys: Vec<&str> = stand_ins.iter().map(|k| k.wire_name()).collect();
        checked.add_problem(format!(
            "{place} and there is no {} to look it up by; give one of them",
            keys.join(" or ")
        ));
    }
}

/// Trims and validates one value; the error says what was expected. Values
/// a lookup brings back go through it too, so a tenant's answer cannot put
/// anything in a URL path that a row could not.
pub fn check_value(field: Field, cell: &str) -> Result<&str, String> {
    let value = cell.trim();
    if value.is_empty() {
        return Err("is empty".to_owned());
    }
    match field {
        Field::UserId if !is_uuid_like(value) => Err(format!(
            "{:?} is not a user ID; expected the form 87927fb7-e185-4c33-c7e3-8e077675973c",
            one_line(value, 60)
        )),
        Field::TokenSerialNumber | Field::DeviceSerialNumber => check_serial(value),
        Field::Email => check_email(value),
        Field::Username => check_username(value),
        Field::UserId => Ok(value),
    }
}

/// No documented cap; longer than any directory allows.
const MAX_USERNAME_LEN: usize = 256;

/// A user name is sent as JSON, never in a path: only spaces, control
/// characters and absurd lengths are refused.
fn check_username(value: &str) -> Result<&str, String> {
    if let Some(c) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{:?} has {}; a user name has no spaces",
            one_line(value, 60),
            describe_char(c)
        ));
    }
    if value.chars().count() > MAX_USERNAME_LEN {
        return Err(format!(
            "is {} characters long; a user name has at most {MAX_USERNAME_LEN}",
            value.chars().count()
        ));
    }
    Ok(value)
}

/// The longest address SMTP can carry.
const MAX_EMAIL_LEN: usize = 254;

/// Only the shape: text, one `@`, text; no spaces or control characters.
/// The tenant decides whether the address exists.
fn check_email(value: &str) -> Result<&str, String> {
    let shown = || one_line(value, 60);
    if let Some(c) = value.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{:?} has {}; an email address has no spaces",
            shown(),
            describe_char(c)
        ));
    }
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') => {}
        _ => {
            return Err(format!(
                "{:?} is not an email address; expected the form name@example.com",
                shown()
            ))
        }
    }
    if value.len() > MAX_EMAIL_LEN {
        return Err(format!(
            "is {} characters long; an email address has at most {MAX_EMAIL_LEN}",
            value.len()
        ));
    }
    Ok(value)
}

/// `1,4010008038E+10` or `1.4010008038E+10`: a long number as Excel shows
/// it in a General column, and as its CSV export writes it.
fn is_scientific(value: &str) -> bool {
    let Some((mantissa, exponent)) = value.split_once(['E', 'e']) else {
        return false;
    };
    // Excel always writes the sign; without it `1E10` may be a real serial.
    let Some(exponent) = exponent.strip_prefix('+') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once([',', '.']) {
        Some((whole, fraction)) => digits(whole) && digits(fraction),
        None => digits(mantissa),
    };
    mantissa_ok && digits(exponent)
}

fn check_serial(value: &str) -> Result<&str, String> {
    // Bytes first: the usual serial settles without decoding characters,
    // and only a serial that fails them is worth a closer look.
    if !value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(explain_odd_serial(value));
    }
    if value.len() > MAX_SERIAL_LEN {
        return Err(format!(
            "is {} characters long; a serial has at most {MAX_SERIAL_LEN}",
            value.len()
        ));
    }
    Ok(value)
}

/// Why a serial with something other than letters and digits is refused:
/// Excel's scientific notation named as such, else the first odd character.
fn explain_odd_serial(value: &str) -> String {
    if is_scientific(value) {
        return format!(
            "{:?} is a number in Excel's scientific notation: Excel shortened the serial and its last digits are lost. Format the column as Text before exporting (or give the .xlsx itself) and check the serials",
            one_line(value, 60)
        );
    }
    let (position, c) = value
        .chars()
        .enumerate()
        .find(|(_, c)| !c.is_ascii_alphanumeric())
        .unwrap_or((0, ' '));
    format!(
        "{:?} has {} at character {}; a serial is letters and digits only",
        one_line(value, 60),
        describe_char(c),
        position + 1
    )
}

fn describe_char(c: char) -> String {
    if c == '\n' || c == '\r' {
        // Only a quoted cell holds a line break, and the usual way to get
        // one by accident is a quote that is never closed.
        "a line break (is a quote left open?)".to_owned()
    } else if c.is_ascii_graphic() {
        format!("'{c}'")
    } else if c.is_whitespace() {
        "a space".to_owned()
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// Whether `s` has the 8-4-4-4-12 hex shape of a tenant user ID. The
/// vendor's own example (`...-c7e3-...`) is not an RFC 4122 UUID, so only the
/// shape is checked. This also keeps `/`, `%`, `?` and `#` out of URL paths.
pub fn is_uuid_like(s: &str) -> bool {
    const HYPHENS: [usize; 4] = [8, 13, 18, 23];
    const HEX_GROUPS: [std::ops::Range<usize>; 5] = [0..8, 9..13, 14..18, 19..23, 24..36];
    let bytes = s.as_bytes();
    bytes.len() == 36
        && HYPHENS.iter().all(|&i| bytes[i] == b'-')
        && HEX_GROUPS
            .iter()
            .all(|group| bytes[group.clone()].iter().all(u8::is_ascii_hexdigit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{DS100_CLEAR_PIN, DS100_DELETE, SID_CLEAR_PIN};
    use std::path::Path;

    fn run(op: &'static Operation, header: &[&str], row: &[&str]) -> Checked {
        let columns = ColumnMap::build(
            Path::new("t.csv"),
            csv::StringRecord::from(header.to_vec()),
            op,
        )
        .unwrap();
        let raw = RawRow {
            line: 2,
            record: csv::StringRecord::from(row.to_vec()),
        };
        check(op, &columns, &raw)
    }

    const USER: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";

    #[test]
    fn a_good_row_keeps_leading_zeros() {
        let c = run(
            &DS100_CLEAR_PIN,
            &["userId", "tokenSerialNumber"],
            &[USER, "014010008039"],
        );
        assert!(c.is_ready());
        assert_eq!(c.value(Field::TokenSerialNumber), Some("014010008039"));
        assert!(c.notes.is_empty());
    }

    #[test]
    fn whitespace_is_trimmed_and_reported() {
        let c = run(
            &DS100_CLEAR_PIN,
            &["userId", "tokenSerialNumber"],
            &[USER, " 0140 "],
        );
        assert!(c.is_ready());
        assert_eq!(c.value(Field::TokenSerialNumber), Some("0140"));
        assert_eq!(c.notes, vec!["trimmed whitespace around tokenSerialNumber"]);
    }

    #[test]
    fn a_reused_checked_matches_a_fresh_one_row_after_row() {
        let header = ["userId", "tokenSerialNumber", "email"];
        let columns = ColumnMap::build(
            Path::new("t.csv"),
            csv::StringRecord::from(header.to_vec()),
            &DS100_CLEAR_PIN,
        )
        .unwrap();
        let rows: [&[&str]; 5] = [
            &[USER, "014010008039", "a@example.com"],
            &["", " 0140 ", "b@example.com"],
            &["bad", "01!", ""],
            &[USER, "0140", ""],
            &[USER, "0140"],
        ];
        let mut reused = Checked::default();
        for (line, row) in (2..).zip(rows) {
            let raw = RawRow {
                line,
                record: csv::StringRecord::from(row.to_vec()),
            };
            check_into(&DS100_CLEAR_PIN, &columns, &raw, &mut reused);
            let fresh = check(&DS100_CLEAR_PIN, &columns, &raw);
            assert_eq!(format!("{reused:?}"), format!("{fresh:?}"), "line {line}");
        }
        assert_eq!(reused.value(Field::Email), None);
        assert!(!reused.is_ready());
    }

    fn problem(c: &Checked) -> String {
        match &c.verdict {
            Verdict::Invalid(m) => m.clone(),
            other => panic!("expected invalid, got {other:?}"),
        }
    }

    #[test]
    fn hostile_user_ids_never_pass() {
        for bad in [
            "../admin",
            "87927fb7-e185-4c33-c7e3-8e077675973c/../x",
            "87927fb7%2Fe185-4c33-c7e3-8e077675973c",
            "87927fb7-e185-4c33-c7e3-8e077675973?",
            "87927fb7-e185-4c33-c7e3-8e077675973#",
            "87927fb7-e185-4c33-c7e3-8e07767597\0c",
        ] {
            let c = run(
                &SID_CLEAR_PIN,
                &["userId", "tokenSerialNumber"],
                &[bad, "1"],
            );
            assert!(problem(&c).contains("column 1 (userId)"), "{bad:?}");
        }
    }

    #[test]
    fn scientific_notation_is_explained() {
        for value in ["1,4010008038E+10", "1.4010008038E+10", "1E+10", "2,5e+07"] {
            let err = check_value(Field::TokenSerialNumber, value).unwrap_err();
            assert!(err.contains("scientific notation"), "{value}: {err}");
        }
        assert!(check_value(Field::TokenSerialNumber, "14E10").is_ok());
        let err = check_value(Field::TokenSerialNumber, "1,4").unwrap_err();
        assert!(!err.contains("scientific"), "{err}");
    }

    #[test]
    fn serials_must_be_short_ascii_alphanumerics() {
        let long = "1".repeat(37);
        for (bad, needle) in [
            (long.as_str(), "37 characters"),
            ("12 34", "a space at character 3"),
            ("１２３", "U+FF11 at character 1"),
            ("=1+2", "'=' at character 1"),
        ] {
            let c = run(
                &DS100_CLEAR_PIN,
                &["userId", "tokenSerialNumber"],
                &[USER, bad],
            );
            let message = problem(&c);
            assert!(
                message.contains("column 2 (tokenSerialNumber)"),
                "{message}"
            );
            assert!(message.contains(needle), "{message}");
        }
    }

    #[test]
    fn ragged_rows_and_several_problems_are_all_reported() {
        let c = run(&DS100_CLEAR_PIN, &["userId", "tokenSerialNumber"], &["x"]);
        let message = problem(&c);
        assert!(
            message.contains("row has 1 fields but the header has 2"),
            "{message}"
        );
        assert!(message.contains("column 1 (userId)"), "{message}");
        assert!(
            message.contains("column 2 (tokenSerialNumber): is empty"),
            "{message}"
        );
    }

    #[test]
    fn email_stands_in_for_an_empty_user_id() {
        let header = ["userId", "email", "tokenSerialNumber"];
        let c = run(&DS100_CLEAR_PIN, &header, &["", " a.b@acme.example ", "1"]);
        assert!(c.is_ready(), "{:?}", c.verdict);
        assert_eq!(c.value(Field::UserId), None);
        assert_eq!(c.value(Field::Email), Some("a.b@acme.example"));
        let neither = problem(&run(&DS100_CLEAR_PIN, &header, &["", "", "1"]));
        assert!(
            neither.contains(
                "column 1 (userId): is empty and there is no email or username to look it up by"
            ),
            "{neither}"
        );
    }

    #[test]
    fn emails_need_one_at_and_no_spaces() {
        for (bad, needle) in [
            ("alice", "not an email address"),
            ("@acme.example", "not an email address"),
            ("a@b@c", "not an email address"),
            ("a b@acme.example", "a space"),
            ("a\u{7}@acme.example", "U+0007"),
        ] {
            let c = run(&SID_CLEAR_PIN, &["email", "tokenSerialNumber"], &[bad, "1"]);
            let message = problem(&c);
            assert!(message.contains("column 1 (email)"), "{message}");
            assert!(message.contains(needle), "{bad:?}: {message}");
        }
    }

    #[test]
    fn a_delete_may_leave_the_token_serial_to_the_device() {
        let c = run(
            &DS100_DELETE,
            &["email", "tokenSerialNumber", "deviceSerialNumber"],
            &["a@acme.example", "", "140100083"],
        );
        assert!(c.is_ready(), "{:?}", c.verdict);
        let c = run(
            &DS100_DELETE,
            &["email", "deviceSerialNumber"],
            &["", "140100083"],
        );
        assert!(
            problem(&c).contains("no userId column and there is no email"),
            "{:?}",
            c.verdict
        );
        let c = run(
            &DS100_CLEAR_PIN,
            &["email", "tokenSerialNumber", "deviceSerialNumber"],
            &["a@acme.example", "", "140100083"],
        );
        assert!(
            c.is_ready(),
            "clear-PIN takes the device too: {:?}",
            c.verdict
        );
        let c = run(
            &DS100_CLEAR_PIN,
            &["email", "tokenSerialNumber", "deviceSerialNumber"],
            &["a@acme.example", "", ""],
        );
        assert!(problem(&c).contains("column 2 (tokenSerialNumber): is empty"));
    }

    #[test]
    fn a_sid_token_or_a_username_stands_in_for_the_user() {
        let c = run(&SID_CLEAR_PIN, &["tokenSerialNumber"], &["1231314525"]);
        assert!(c.is_ready(), "{:?}", c.verdict);
        let c = run(&crate::ops::USER_DELETE, &["username"], &["amartin"]);
        assert!(c.is_ready(), "{:?}", c.verdict);
        let c = run(&crate::ops::USER_DELETE, &["username"], &["a martin"]);
        assert!(problem(&c).contains("a user name has no spaces"));
        let c = run(&crate::ops::USER_DISABLE, &["userId", "email"], &["", ""]);
        assert!(problem(&c).contains("no email or username to look it up by"));
    }

    #[test]
    fn duplicate_finding_skips_only_ready_rows() {
        let mut c = run(
            &DS100_CLEAR_PIN,
            &["userId", "tokenSerialNumber"],
            &[USER, "1"],
        );
        c.apply(&Finding::DuplicateOf(2));
        assert_eq!(c.verdict, Verdict::Skip("duplicate of line 2".into()));
    }

    #[test]
    fn user_ids_have_five_hex_groups_of_8_4_4_4_12() {
        assert!(is_uuid_like("87927fb7-e185-4c33-c7e3-8e077675973c"));
        assert!(is_uuid_like("87927FB7-E185-4C33-C7E3-8E077675973C"));
        for bad in [
            "87927fb7-e185-4c33-c7e3-8e077675973",
            "87927fb7-e185-4c33-c7e3-8e077675973cc",
            "87927fb7e-185-4c33-c7e3-8e077675973c",
            "87927fb7-e185-4c33-c7e3_8e077675973c",
            "87927fb7-e185-4c33-c7e3-8e077675973g",
            "87927fb7-e185-4c33-c7e3-8e07767597é",
        ] {
            assert!(!is_uuid_like(bad), "{bad}");
        }
    }

    #[test]
    fn identity_ignores_case_of_user_ids() {
        let a = run(
            &DS100_CLEAR_PIN,
            &["userId", "tokenSerialNumber"],
            &[USER, "1"],
        );
        let b = run(
            &DS100_CLEAR_PIN,
            &["userId", "tokenSerialNumber"],
            &[&USER.to_uppercase(), "1"],
        );
        assert_eq!(a.identity(&DS100_CLEAR_PIN), b.identity(&DS100_CLEAR_PIN));
    }
}
