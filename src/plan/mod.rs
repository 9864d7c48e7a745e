//! Plans: `--plan FILE` records what a run would do on the tenant as it is
//! now, row by row, without changing anything; `show` prints a plan for
//! review; `apply` sends exactly its changes. This module owns the plan
//! file ([`file`]), its review ([`show`]), and the checks `apply` makes
//! before any request: the tenant, the digest, the age. Reading the
//! tenant's state and sending the changes is the client's
//! (`Client::plan_row`, `Client::apply_row`), through the one runner.

pub mod file;
pub mod show;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub use file::{
    CreatedBy, Entry, Header, InputFile, PlanError, PlanReader, PlanWriter, Tally, Verified,
    FORMAT, SIMULATED_TENANT,
};

use crate::ops::{Expect, Operation};

/// Signs a plan's digest with `key` (through `ssh-keygen -Y sign`) and
/// appends the approval after the plan's footer, where it leaves the
/// digest alone. The plan is verified first: nobody approves an edited
/// plan. Returns the digest approved.
pub fn approve(path: &Path, key: &Path) -> Result<String, PlanError> {
    use std::io::Write as _;
    let plan = file::verify(path)?;
    let signature = crate::approval::sign(&plan.digest, key).map_err(|e| PlanError::Refused {
        path: path.to_owned(),
        what: e.to_string(),
    })?;
    let line = serde_json::json!({
        "approval": {
            "signature": signature,
            "signed_at": now_rfc3339(),
            "os_user": os_user(),
        }
    });
    let io = |source| PlanError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io)?;
    writeln!(file, "{line}").map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(plan.digest)
}

/// How long a plan stays good by default: the tenant moves on.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// An `apply` run: the plan, read through and checked once before the run
/// starts.
#[derive(Debug)]
pub struct Applying {
    pub path: PathBuf,
    pub plan: Verified,
    /// Re-read each target just before its change (off with
    /// `--no-recheck`).
    pub recheck: bool,
    pub max_age: Duration,
}

impl Applying {
    /// Reads and checks the plan: its digest, and its age.
    pub fn open(path: &Path, recheck: bool, max_age: Duration) -> Result<Applying, PlanError> {
        let plan = file::verify(path)?;
        check_age(path, &plan.header, max_age, SystemTime::now())?;
        Ok(Applying {
            path: path.to_owned(),
            plan,
            recheck,
            max_age,
        })
    }

    /// The approvers of the plan, checked against `allowed_signers`:
    /// `required` valid signatures from distinct principals, or a refusal
    /// naming why each other signature did not count.
    pub fn approvers(
        &self,
        required: usize,
        allowed_signers: Option<&Path>,
    ) -> Result<Vec<String>, PlanError> {
        let signatures: Vec<String> = self
            .plan
            .approvals
            .iter()
            .filter_map(|a| a.get("signature").and_then(|s| s.as_str()))
            .map(str::to_owned)
            .collect();
        if required == 0 && signatures.is_empty() {
            return Ok(Vec::new());
        }
        let refused = |what: String| PlanError::Refused {
            path: self.path.clone(),
            what,
        };
        let Some(signers) = allowed_signers else {
            return match required {
                0 => Ok(Vec::new()),
                _ => Err(refused(format!(
                    "the profile requires {required} approval(s) but names no allowed-signers file to check them against"
                ))),
            };
        };
        crate::approval::verify(&self.plan.digest, &signatures, signers, required)
            .map_err(|e| refused(format!("lacks the approvals its profile requires: {e}")))
    }

    /// Refuses a run bound for another tenant than the plan's. `given` is
    /// the run's tenant label (`identity::tenant_label`), `source_of` where it came
    /// from.
    pub fn check_tenant(&self, given: &str, source_of: &str) -> Result<(), PlanError> {
        if given == self.plan.header.tenant {
            return Ok(());
        }
        Err(PlanError::OtherTenant {
            path: self.path.clone(),
            planned: self.plan.header.tenant.clone(),
            given: given.to_owned(),
            source_of: source_of.to_owned(),
        })
    }
}

fn check_age(
    path: &Path,
    header: &Header,
    max_age: Duration,
    now: SystemTime,
) -> Result<(), PlanError> {
    let created = humantime::parse_rfc3339(&header.created_at).map_err(|e| PlanError::Refused {
        path: path.to_owned(),
        what: format!("its created_at {:?} is no time ({e})", header.created_at),
    })?;
    let age = now.duration_since(created).unwrap_or_default();
    if age <= max_age {
        return Ok(());
    }
    let whole =
        |d: Duration| humantime::format_duration(Duration::from_secs(d.as_secs())).to_string();
    Err(PlanError::TooOld {
        path: path.to_owned(),
        created_at: header.created_at.clone(),
        age: whole(age),
        max_age: whole(max_age),
    })
}

/// Who made the plan, as the operating system knows them.
pub fn os_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Now, as a plan writes times.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

/// The verb of an operation's summary: `disable` for `ds100-disable`.
fn verb(op: &Operation) -> &'static str {
    op.name.split_once('-').map_or(op.name, |(_, verb)| verb)
}

/// What a no-op target already is: `already disabled`.
fn already(op: &Operation) -> String {
    match op.verify.map(|v| v.expect) {
        Some(Expect::Member(_, value)) => format!("already {}", value.to_lowercase()),
        Some(Expect::Gone) => "already gone".to_owned(),
        Some(Expect::Held) | None => "already done".to_owned(),
    }
}

/// The plan's summary, terraform's way: `Plan: 412 to disable, 3 already
/// disabled, 5 cannot be done (4 not found, 1 not this user's).`
pub fn summary_line(op: &Operation, tally: &Tally) -> String {
    let mut line = format!(
        "Plan: {} to {}, {} {}, {} cannot be done",
        tally.changes,
        verb(op),
        tally.no_ops,
        already(op),
        tally.failed()
    );
    if !tally.fails.is_empty() {
        let kinds: Vec<String> = tally
            .fails
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        line.push_str(&format!(" ({})", kinds.join(", ")));
    }
    line.push('.');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_reads_like_terraforms() {
        let mut tally = Tally {
            rows: 420,
            changes: 412,
            no_ops: 3,
            ..Tally::default()
        };
        tally.fails.insert("not found".into(), 4);
        tally.fails.insert("not this user's".into(), 1);
        assert_eq!(
            summary_line(&crate::ops::DS100_DISABLE, &tally),
            "Plan: 412 to disable, 3 already disabled, 5 cannot be done (4 not found, 1 not this user's)."
        );
    }

    #[test]
    fn a_plan_older_than_max_age_is_refused() {
        let header: Header = serde_json::from_value(serde_json::json!({
            "securid_bulk_plan": 1, "tenant": SIMULATED_TENANT, "operation": "user-disable",
            "input": {"name": "in.csv", "sha256": "00"}, "created_at": "2026-12-06T10:00:00Z",
            "created_by": {"os_user": "a", "credential": null}, "rows": 0, "columns": []
        }))
        .unwrap();
        let created = humantime::parse_rfc3339("2026-12-06T10:00:00Z").unwrap();
        let path = Path::new("p.plan");
        let day = Duration::from_secs(24 * 3600);
        assert!(check_age(path, &header, day, created + Duration::from_secs(3600)).is_ok());
        let err = check_age(path, &header, day, created + day * 2).unwrap_err();
        assert!(
            err.to_string().contains("longer than --max-age 1day"),
            "{err}"
        );
    }
}
