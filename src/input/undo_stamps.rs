//! An undo file given as input: every line names the tenant its run
//! changed and the operation it takes back (`identity::UNDO_COLUMNS`). The
//! scan notes, as it reads each line, the first line that takes back an
//! operation the run's does not undo and the first two tenants named, so
//! the run can refuse the file once it knows its own tenant, before
//! anything is sent, without reading the file again.

use crate::identity::UNDO_COLUMNS;
use crate::ops::Operation;

/// What an undo file's stamps say that a run must not ignore.
#[derive(Debug, Clone)]
pub enum UndoMismatch {
    /// The line takes back `undoes`, which the run's operation does not undo.
    Operation {
        line: u64,
        undoes: &'static Operation,
    },
    /// The line was written against another tenant than the run's.
    Tenant { line: u64, written_for: String },
}

impl UndoMismatch {
    fn line(&self) -> u64 {
        match self {
            UndoMismatch::Operation { line, .. } | UndoMismatch::Tenant { line, .. } => *line,
        }
    }
}

/// The stamps of an undo file given as input, as the scan saw them.
#[derive(Debug, Clone)]
pub struct UndoStamps {
    tenant_at: usize,
    undoes_at: usize,
    op: &'static Operation,
    /// The first line whose operation `op` does not undo.
    wrong_operation: Option<(u64, &'static Operation)>,
    /// The first tenant named, and the first line naming another one:
    /// whatever the run's tenant, the first line it refuses is one of them.
    first_tenant: Option<(u64, String)>,
    other_tenant: Option<(u64, String)>,
}

impl UndoStamps {
    /// The stamps of a file whose header has both undo columns; `None` for
    /// any other input.
    pub fn of(header: &csv::StringRecord, op: &'static Operation) -> Option<UndoStamps> {
        let position = |name: &str| header.iter().position(|h| h == name);
        Some(UndoStamps {
            tenant_at: position(UNDO_COLUMNS[0])?,
            undoes_at: position(UNDO_COLUMNS[1])?,
            op,
            wrong_operation: None,
            first_tenant: None,
            other_tenant: None,
        })
    }

    /// Notes what one line of the file says.
    pub fn look_at(&mut self, line: u64, record: &csv::StringRecord) {
        let cell = |at: usize| record.get(at).unwrap_or_default();
        if self.wrong_operation.is_none() {
            let undoes = crate::ops::find(cell(self.undoes_at));
            let op = self.op.name;
            if let Some(undoes) = undoes.filter(|u| u.inverse().map(|i| i.name) != Some(op)) {
                self.wrong_operation = Some((line, undoes));
            }
        }
        let written_for = cell(self.tenant_at);
        if written_for.is_empty() || self.other_tenant.is_some() {
            return;
        }
        match &self.first_tenant {
            None => self.first_tenant = Some((line, written_for.to_owned())),
            Some((_, first)) if first != written_for => {
                self.other_tenant = Some((line, written_for.to_owned()));
            }
            Some(_) => {}
        }
    }

    /// The first line a run against `tenant` refuses (`None`: a dry run
    /// that named no tenant has none to compare); on one line, the
    /// operation is named before the tenant.
    pub fn mismatch(&self, tenant: Option<&str>) -> Option<UndoMismatch> {
        let operation = self
            .wrong_operation
            .map(|(line, undoes)| UndoMismatch::Operation { line, undoes });
        let tenant = tenant.and_then(|tenant| {
            [&self.first_tenant, &self.other_tenant]
                .into_iter()
                .flatten()
                .find(|(_, written_for)| written_for != tenant)
                .map(|(line, written_for)| UndoMismatch::Tenant {
                    line: *line,
                    written_for: written_for.clone(),
                })
        });
        match (operation, tenant) {
            (Some(o), Some(t)) if t.line() < o.line() => Some(t),
            (Some(o), _) => Some(o),
            (None, t) => t,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::find;

    fn stamps(rows: &[[&str; 3]]) -> UndoStamps {
        let op = find("sid-enable").unwrap();
        let header = csv::StringRecord::from(vec!["tokenSerialNumber", "tenant", "undoes"]);
        let mut stamps = UndoStamps::of(&header, op).unwrap();
        for (i, row) in rows.iter().enumerate() {
            stamps.look_at(i as u64 + 2, &csv::StringRecord::from(row.to_vec()));
        }
        stamps
    }

    /// The mismatch as `line: what`, to compare.
    fn refused(stamps: &UndoStamps, tenant: Option<&str>) -> Option<String> {
        stamps.mismatch(tenant).map(|m| match m {
            UndoMismatch::Operation { line, undoes } => format!("{line}: {}", undoes.name),
            UndoMismatch::Tenant { line, written_for } => format!("{line}: {written_for}"),
        })
    }

    const A: &str = "https://a.example:443";
    const B: &str = "https://b.example:443";

    #[test]
    fn only_a_header_with_both_columns_is_an_undo_file() {
        let op = find("sid-enable").unwrap();
        let header = csv::StringRecord::from(vec!["tokenSerialNumber", "tenant"]);
        assert!(UndoStamps::of(&header, op).is_none());
    }

    #[test]
    fn the_first_line_of_another_tenant_is_refused() {
        let rows = [
            ["1", A, "sid-disable"],
            ["2", "", "sid-disable"],
            ["3", B, "sid-disable"],
            ["4", A, "sid-disable"],
        ];
        let stamps = stamps(&rows);
        assert_eq!(refused(&stamps, Some(A)), Some(format!("4: {B}")));
        assert_eq!(refused(&stamps, Some(B)), Some(format!("2: {A}")));
        assert_eq!(refused(&stamps, None), None);
        let one_tenant = self::stamps(&[["1", A, "sid-disable"], ["2", A, "sid-disable"]]);
        assert_eq!(refused(&one_tenant, Some(A)), None);
    }

    #[test]
    fn the_earliest_line_wins_and_on_one_line_the_operation() {
        let rows = [
            ["1", A, "sid-disable"],
            ["2", B, "sid-disable"],
            ["3", A, "sid-enable"],
        ];
        assert_eq!(refused(&stamps(&rows), Some(A)), Some(format!("3: {B}")));
        assert_eq!(refused(&stamps(&rows), None), Some("4: sid-enable".into()));
        let same_line = [["1", B, "sid-enable"]];
        assert_eq!(
            refused(&stamps(&same_line), Some(A)),
            Some("2: sid-enable".into())
        );
        let unknown = [["1", A, "no-such-operation"]];
        assert_eq!(refused(&stamps(&unknown), Some(A)), None);
    }
}
