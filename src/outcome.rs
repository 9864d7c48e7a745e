//! The run's vocabulary, below every other module: what happened to a row
//! ([`Outcome`], [`Attempted`], [`RowResult`]) and the text rules every cell
//! and message obeys ([`one_line`], formula escaping). Input, client, safety,
//! progress and output all speak these words; this module imports none of
//! them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::ops::Field;

mod planned;

pub use planned::{Action, Planned, PlannedTarget};

/// What happened to one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The tenant applied the operation.
    Ok,
    /// The tenant refused it, or every attempt failed.
    Failed,
    /// The row is malformed and was never sent.
    Invalid,
    /// Deliberately not sent: a duplicate, or done in an earlier run.
    Skipped,
    /// Not sent because the run stopped first (halt, limit, Ctrl-C).
    NotAttempted,
    /// Dry run: the row would be sent.
    Valid,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Ok,
        Outcome::Failed,
        Outcome::Invalid,
        Outcome::Skipped,
        Outcome::NotAttempted,
        Outcome::Valid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Invalid => "invalid",
            Outcome::Skipped => "skipped",
            Outcome::NotAttempted => "not_attempted",
            Outcome::Valid => "valid",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// Whether a row with this outcome leaves work undone (exit code 2).
    pub fn needs_attention(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::Invalid | Outcome::NotAttempted
        )
    }
}

/// The columns appended after the input's own columns; `change_ticket`
/// is the run's `--ticket`, empty without one (named apart from the
/// `ticket` column input files often carry); `approved_by` names the
/// principals whose approvals an `apply` checked, empty for any other run.
/// The `resolved_*`
/// columns are always there, for every operation, so scripts reading results
/// see one shape; they are empty unless a lookup found the value.
pub const RESULT_COLUMNS: [&str; 17] = [
    "line",
    "outcome",
    "http_status",
    "attempts",
    "message",
    "detail",
    "finished_at",
    "queued_ms",
    "duration_ms",
    "resolved_userId",
    "resolved_tokenSerialNumber",
    "verified",
    "operation",
    "tenant",
    "input_sha256",
    "change_ticket",
    "approved_by",
];

/// Marks an input column whose name is a results column in a JSON Lines
/// object, so each key is written once (`line` becomes `input.line`).
pub const JSON_INPUT_PREFIX: &str = "input.";

/// The JSON Lines keys of the input's columns, in order and each distinct:
/// a name that is a results column takes [`JSON_INPUT_PREFIX`], and a name
/// already used takes `_2`, `_3`, ... (`note,note` gives `note`, `note_2`).
pub fn json_input_keys<'a>(header: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    // A set beside the list: a header may have a hundred thousand columns.
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    for name in header {
        let base = match RESULT_COLUMNS.contains(&name) {
            true => format!("{JSON_INPUT_PREFIX}{name}"),
            false => name.to_owned(),
        };
        let taken = |key: &str| used.contains(key) || RESULT_COLUMNS.contains(&key);
        let mut key = base.clone();
        for n in 2.. {
            if !taken(&key) {
                break;
            }
            key = format!("{base}_{n}");
        }
        used.insert(key.clone());
        keys.push(key);
    }
    keys
}

/// The input column a JSON Lines key stands for: [`json_input_keys`]
/// undone for a results column's name.
pub fn json_input_name(key: &str) -> &str {
    match key.strip_prefix(JSON_INPUT_PREFIX) {
        Some(name) if RESULT_COLUMNS.contains(&name) => name,
        _ => key,
    }
}

/// The full account of one row, as written to the results.
#[derive(Clone, Debug)]
pub struct RowResult {
    pub line: u64,
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub attempts: u32,
    pub message: String,
    pub detail: String,
    pub finished_at: SystemTime,
    /// Time the row waited to be sent (rate limiter, 429 gate, token).
    pub queued: Duration,
    /// Time from the row's first request leaving to its last answer.
    pub duration: Duration,
    /// Values lookups found for the row (see `output::RESOLVED_FIELDS`).
    pub resolved: Vec<(Field, String)>,
    /// What `--verify` found: `yes`, `no: ...`, `unknown: ...`, or empty.
    pub verified: String,
    /// A listing read's items, one results line each (see
    /// `ops::Listing`); empty for every other operation.
    pub listed: Vec<Vec<String>>,
    /// The row's line in the undo file: the values of the target this run
    /// changed. `None` when the run did not change it, or cannot say.
    pub undo: Vec<Vec<(Field, String)>>,
    /// What planning found for the row (`--plan` only).
    pub planned: Option<Box<Planned>>,
}

impl RowResult {
    /// A failure the tenant will answer the same way however often the row
    /// is sent again (no such user or token, a request it cannot take):
    /// carrying on from the results cannot help; fixing the row can.
    pub fn refused_for_good(&self) -> bool {
        self.outcome == Outcome::Failed
            && matches!(self.http_status, Some(400 | 404 | 405 | 410 | 422))
    }

    /// A row that never reached the network.
    pub fn unsent(line: u64, outcome: Outcome, message: impl Into<String>) -> Self {
        RowResult {
            line,
            outcome,
            http_status: None,
            attempts: 0,
            message: message.into(),
            detail: String::new(),
            finished_at: SystemTime::now(),
            queued: Duration::ZERO,
            duration: Duration::ZERO,
            resolved: Vec::new(),
            verified: String::new(),
            listed: Vec::new(),
            undo: Vec::new(),
            planned: None,
        }
    }
}

/// Text made safe for one CSV cell or one log line: control characters
/// (newlines included) become spaces and anything past `max` characters is
/// cut with an ellipsis.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 3));
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// Whether a spreadsheet could run the cell as a formula: it starts with a
/// tab or carriage return, or its first character after any leading
/// whitespace (spaces, line breaks, no-break spaces) is `=`, `+`, `-` or `@`
/// (the OWASP CSV-injection set). The one test for the hygiene note, the
/// escaping and the reading back.
pub fn is_formula(cell: &str) -> bool {
    cell.starts_with(['\t', '\r'])
        || matches!(
            cell.trim_start().chars().next(),
            Some('=' | '+' | '-' | '@')
        )
}

/// Whether the cell is written with a leading `'`: a formula, or a formula
/// behind quotes of its own, so that reading back strips exactly the quote
/// that was added (`'=x` is written `''=x`).
fn needs_quote(cell: &str) -> bool {
    is_formula(cell.trim_start_matches('\''))
}

/// Neutralises a cell a spreadsheet would run as a formula by prefixing a
/// single quote, as OWASP recommends for CSV injection.
pub fn escape_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_quote(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The value [`escape_formula`] was given, from what it wrote.
pub fn unescape_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_quote(rest) => rest,
        _ => cell,
    }
}

/// What happened when one row was sent.
#[derive(Debug, Clone)]
pub struct Attempted {
    pub outcome: Outcome,
    pub http_status: Option<u16>,
    pub attempts: u32,
    pub message: String,
    pub detail: String,
    /// The tenant refused the credentials (401/403) even after a fresh token.
    pub auth_refused: bool,
    /// No attempt reached the tenant at all (connection errors, timeouts).
    pub unreachable: bool,
    /// Values lookups found for the row, in the order they were found.
    pub resolved: Vec<(Field, String)>,
    /// What `--verify` found, empty when not asked.
    pub verified: String,
    /// A listing read's items (see `ops::Listing`).
    pub listed: Vec<Vec<String>>,
    /// The target's values for the undo file, when this row changed it.
    pub undo: Vec<Vec<(Field, String)>>,
}

impl Attempted {
    /// A row that failed on our side of an exchange, e.g. an answer the tool
    /// cannot use.
    pub fn failed_here(http_status: Option<u16>, attempts: u32, message: String) -> Self {
        Attempted::ended(Outcome::Failed, http_status, attempts, message)
    }

    /// A row that ended with `outcome` and nothing more to say: no detail,
    /// no lookups, credentials and reachability not in question.
    pub fn ended(
        outcome: Outcome,
        http_status: Option<u16>,
        attempts: u32,
        message: String,
    ) -> Self {
        Attempted {
            outcome,
            http_status,
            attempts,
            message,
            detail: String::new(),
            auth_refused: false,
            unreachable: false,
            resolved: Vec::new(),
            verified: String::new(),
            listed: Vec::new(),
            undo: Vec::new(),
        }
    }
}

/// Rows per outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts([u64; Outcome::ALL.len()]);

impl Counts {
    pub fn add(&mut self, outcome: Outcome) {
        self.add_many(outcome, 1);
    }

    pub fn add_many(&mut self, outcome: Outcome, n: u64) {
        self.0[outcome as usize] += n;
    }

    pub fn get(&self, outcome: Outcome) -> u64 {
        self.0[outcome as usize]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn needing_attention(&self) -> u64 {
        Outcome::ALL
            .into_iter()
            .filter(|o| o.needs_attention())
            .map(|o| self.get(o))
            .sum()
    }
}

/// The run's one live count per outcome: the results writer adds each row
/// as it is written; the progress display and the summary read it.
#[derive(Debug, Default)]
pub struct Tally([AtomicU64; Outcome::ALL.len()]);

impl Tally {
    pub fn add(&self, outcome: Outcome) {
        self.0[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Counts {
        let mut counts = Counts::default();
        for outcome in Outcome::ALL {
            counts.add_many(outcome, self.get(outcome));
        }
        counts
    }

    fn get(&self, outcome: Outcome) -> u64 {
        self.0[outcome as usize].load(Ordering::Relaxed)
    }

    pub fn done(&self) -> u64 {
        Outcome::ALL.into_iter().map(|o| self.get(o)).sum()
    }

    /// Rows sent and answered (or found valid in a dry run): what the
    /// progress display counts, so the rows a resumed run skips, and
    /// invalid ones, do not make it jump.
    pub fn sent(&self) -> u64 {
        [Outcome::Ok, Outcome::Failed, Outcome::Valid]
            .into_iter()
            .map(|o| self.get(o))
            .sum()
    }

    pub fn describe(&self) -> String {
        Outcome::ALL
            .into_iter()
            .filter(|o| self.get(*o) > 0)
            .map(|o| format!("{} {}", o.as_str(), self.get(o)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_input_keys_are_distinct_and_clear_of_results_columns() {
        let keys = json_input_keys(["note", "note", "line", "outcome", "userId", "note_2"]);
        assert_eq!(
            keys,
            [
                "note",
                "note_2",
                "input.line",
                "input.outcome",
                "userId",
                "note_2_2"
            ]
        );
        assert_eq!(json_input_name("input.line"), "line");
        assert_eq!(json_input_name("input.other"), "input.other");
        assert_eq!(json_input_name("note_2"), "note_2");
    }

    #[test]
    fn one_line_flattens_and_cuts() {
        assert_eq!(one_line("a\nb\rc\0d", 10), "a b c d");
        assert_eq!(one_line("abcdef", 3), "abc…");
        assert_eq!(one_line("abc", 3), "abc");
    }

    #[test]
    fn formulas_are_escaped_and_plain_cells_are_not() {
        assert_eq!(escape_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(escape_formula("+1"), "'+1");
        assert_eq!(escape_formula("-1"), "'-1");
        assert_eq!(escape_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(escape_formula("014010008031"), "014010008031");
        assert_eq!(escape_formula(""), "");
    }

    #[test]
    fn formulas_behind_whitespace_tab_or_cr_are_escaped() {
        for cell in [
            "  =1+1",
            "\u{a0}=1",
            "\n=1",
            "\t1",
            "\r1",
            " @x",
            "\u{3000}+1",
        ] {
            assert!(is_formula(cell), "{cell:?}");
            assert_eq!(escape_formula(cell), format!("'{cell}"));
        }
        for cell in ["a=1", "1-2", " x", "'", "'a"] {
            assert!(!is_formula(cell), "{cell:?}");
            assert_eq!(escape_formula(cell), cell);
        }
    }

    #[test]
    fn reading_back_restores_every_value() {
        for cell in [
            "-alice@acme.example",
            "'-alice@acme.example",
            "''=x",
            "'plain",
            "plain",
            "  =1",
            "'",
            "",
        ] {
            assert_eq!(unescape_formula(&escape_formula(cell)), cell);
        }
    }

    #[test]
    fn outcome_names_round_trip() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
    }
}

/// `1 row`, `2 rows`: a count with its noun, singular for one.
pub fn plural(count: u64, one: &str, many: &str) -> String {
    match count {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// An error and its causes on one line, each said once: a cause whose text
/// an outer message already carries (`cannot read x.csv: No such file`
/// wrapping that same io error) is not repeated.
pub fn error_chain<'a>(
    chain: impl Iterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let mut text = String::new();
    for cause in chain {
        let cause = cause.to_string();
        if cause.is_empty() || text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

#[cfg(test)]
mod plural_tests {
    use super::*;

    #[test]
    fn one_row_and_two_rows() {
        assert_eq!(plural(1, "row", "rows"), "1 row");
        assert_eq!(plural(0, "row", "rows"), "0 rows");
        assert_eq!(plural(2, "retry", "retries"), "2 retries");
    }

    #[test]
    fn a_cause_the_message_already_carries_is_said_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let outer = anyhow::Error::new(io).context("cannot read x.csv: No such file");
        assert_eq!(
            error_chain(outer.chain()),
            "cannot read x.csv: No such file"
        );
    }
}
