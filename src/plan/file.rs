//! The plan file: JSON Lines, written and read as a stream. Line 1 is the
//! [`Header`]; then one [`Entry`] per input row, in the order rows were
//! planned; then the footer, `{"end": {"rows": N, "digest": "sha256:…"}}`,
//! whose digest covers every byte before the footer's line. Approvals are
//! appended after the footer, one `{"approval": …}` per line, outside the
//! digest, so approving a plan never changes what was approved.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::hex;

use crate::outcome::{Action, Planned};
use crate::output::{files, OutputError};

/// The plan format this build writes and reads.
pub const FORMAT: u32 = 1;

/// The tenant label of a plan made against the simulated tenant: any port
/// of any `--mock` run is the same tenant, and no real tenant is.
pub use crate::identity::SIMULATED_TENANT;

/// Line 1: what the plan is for and where it came from.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Header {
    /// The format version ([`FORMAT`]).
    pub securid_bulk_plan: u32,
    /// `scheme://host:port`, or [`SIMULATED_TENANT`].
    pub tenant: String,
    pub operation: String,
    pub input: InputFile,
    /// RFC 3339, UTC, to the second.
    pub created_at: String,
    pub created_by: CreatedBy,
    #[serde(default)]
    pub ticket: Option<String>,
    /// Data rows of the input.
    pub rows: u64,
    /// The input's header, so `apply` writes the same columns.
    pub columns: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InputFile {
    pub name: String,
    pub sha256: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CreatedBy {
    pub os_user: String,
    /// The public ID of the credential that read the tenant (key file
    /// access ID, OAuth Client ID); none for a bearer token.
    pub credential: Option<String>,
}

/// One input row's plan.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Entry {
    pub line: u64,
    /// The row's cells, as read.
    pub input: Vec<String>,
    #[serde(rename = "targets", with = "targets")]
    pub planned: Planned,
}

/// An entry's `planned` as its `targets` member alone, without the
/// buffering `#[serde(flatten)]` costs.
mod targets {
    use super::Planned;
    use crate::outcome::PlannedTarget;

    pub fn serialize<S: serde::Serializer>(planned: &Planned, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&planned.targets, s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Planned, D::Error> {
        let targets: Vec<PlannedTarget> = serde::Deserialize::deserialize(d)?;
        Ok(Planned { targets })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Footer {
    end: End,
}

#[derive(Debug, Serialize, Deserialize)]
struct End {
    rows: u64,
    digest: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read the plan {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {what}; this is not a plan securid-bulk wrote, or it was cut short")]
    Malformed {
        path: PathBuf,
        line: u64,
        what: String,
    },
    #[error("{path}: the plan changed after it was written (its digest is {written}, its content hashes to {found}); make the plan again and have it reviewed")]
    Digest {
        path: PathBuf,
        written: String,
        found: String,
    },
    #[error("{path} is a plan for {planned}; this run would send to {given} ({source_of}); a plan is applied only to the tenant it was made for")]
    OtherTenant {
        path: PathBuf,
        planned: String,
        given: String,
        source_of: String,
    },
    #[error("{path} was made at {created_at}, {age} ago, longer than --max-age {max_age} allows; the tenant may have moved on: make the plan again")]
    TooOld {
        path: PathBuf,
        created_at: String,
        age: String,
        max_age: String,
    },
    #[error("{path}: {what}")]
    Refused { path: PathBuf, what: String },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// What a plan comes to, counted while it is read or written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub rows: u64,
    pub changes: u64,
    pub no_ops: u64,
    /// Targets that cannot be done, by kind.
    pub fails: BTreeMap<String, u64>,
}

impl Tally {
    pub fn add(&mut self, planned: &Planned) {
        self.rows += 1;
        for target in &planned.targets {
            match &target.action {
                Action::Change { .. } => self.changes += 1,
                Action::NoOp => self.no_ops += 1,
                Action::Fail { kind, .. } => *self.fails.entry(kind.clone()).or_default() += 1,
            }
        }
    }

    pub fn failed(&self) -> u64 {
        self.fails.values().sum()
    }
}

/// Writes a plan, hashing every byte as it goes.
pub struct PlanWriter {
    out: BufWriter<File>,
    hasher: Sha256,
    path: PathBuf,
    pub tally: Tally,
    line: String,
}

impl PlanWriter {
    pub fn create(path: &Path, header: &Header, force: bool) -> Result<PlanWriter, PlanError> {
        let file = files::create_in_place(path, force)?;
        let mut writer = PlanWriter {
            out: BufWriter::new(file),
            hasher: Sha256::new(),
            path: path.to_owned(),
            tally: Tally::default(),
            line: String::new(),
        };
        writer.write_json(header)?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn append(&mut self, entry: &Entry) -> Result<(), PlanError> {
        self.tally.add(&entry.planned);
        self.write_json(entry)
    }

    fn write_json(&mut self, value: &impl Serialize) -> Result<(), PlanError> {
        self.line.clear();
        // Serialising our own types into a string cannot fail.
        let json = serde_json::to_string(value).unwrap_or_default();
        self.line.push_str(&json);
        self.line.push('\n');
        self.hasher.update(self.line.as_bytes());
        self.out
            .write_all(self.line.as_bytes())
            .map_err(|source| self.io(source))
    }

    /// Writes the footer with the digest and syncs the file; returns the
    /// digest.
    pub fn finish(mut self) -> Result<(String, Tally), PlanError> {
        let digest = format!("sha256:{}", hex(&self.hasher.clone().finalize()));
        let footer = Footer {
            end: End {
                rows: self.tally.rows,
                digest: digest.clone(),
            },
        };
        let json = serde_json::to_string(&footer).unwrap_or_default();
        let written = writeln!(self.out, "{json}")
            .and_then(|()| self.out.flush())
            .and_then(|()| self.out.get_ref().sync_all());
        written.map_err(|source| self.io(source))?;
        Ok((digest, self.tally))
    }

    fn io(&self, source: std::io::Error) -> PlanError {
        PlanError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// A plan read through once: its header, what it comes to, its digest
/// (checked) and its approvals.
#[derive(Debug)]
pub struct Verified {
    pub header: Header,
    pub tally: Tally,
    pub digest: String,
    /// Each `approval` line's object, as written.
    pub approvals: Vec<serde_json::Value>,
}

/// Reads a plan line by line; [`PlanReader::entries`] streams its entries.
pub struct PlanReader {
    lines: std::io::Lines<BufReader<File>>,
    path: PathBuf,
    line: u64,
    /// Line 1 as written (re-serialising the header could differ).
    header_line: String,
}

impl PlanReader {
    pub fn open(path: &Path) -> Result<(PlanReader, Header), PlanError> {
        let file = File::open(path).map_err(|source| PlanError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut reader = PlanReader {
            lines: BufReader::new(file).lines(),
            path: path.to_owned(),
            line: 0,
            header_line: String::new(),
        };
        let first = reader
            .next_line()?
            .ok_or_else(|| reader.malformed("the file is empty"))?;
        let header: Header = serde_json::from_str(&first)
            .map_err(|e| reader.malformed(&format!("line 1 is no plan header ({e})")))?;
        if header.securid_bulk_plan != FORMAT {
            return Err(reader.malformed(&format!(
                "plan format {} (this build reads format {FORMAT})",
                header.securid_bulk_plan
            )));
        }
        reader.header_line = first;
        Ok((reader, header))
    }

    fn next_line(&mut self) -> Result<Option<String>, PlanError> {
        self.line += 1;
        match self.lines.next() {
            None => Ok(None),
            Some(Ok(text)) => Ok(Some(text)),
            Some(Err(source)) => Err(PlanError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn malformed(&self, what: &str) -> PlanError {
        PlanError::Malformed {
            path: self.path.clone(),
            line: self.line,
            what: what.to_owned(),
        }
    }

    /// The next entry, or `None` at the footer.
    pub fn next_entry(&mut self) -> Result<Option<(Entry, String)>, PlanError> {
        let text = self
            .next_line()?
            .ok_or_else(|| self.malformed("the plan ends before its footer"))?;
        if text.starts_with(r#"{"end":"#) {
            return Ok(None);
        }
        let entry: Entry = serde_json::from_str(&text)
            .map_err(|e| self.malformed(&format!("not a plan entry ({e})")))?;
        Ok(Some((entry, text)))
    }
}

/// Reads the whole plan once: recomputes its digest and compares it with
/// the footer's, counts it, and collects its approvals. Holds one line at
/// a time.
pub fn verify(path: &Path) -> Result<Verified, PlanError> {
    let (mut reader, header) = PlanReader::open(path)?;
    let mut hasher = Sha256::new();
    hasher.update(reader.header_line.as_bytes());
    hasher.update(b"\n");
    let mut tally = Tally::default();
    let footer_text = loop {
        let text = reader
            .next_line()?
            .ok_or_else(|| reader.malformed("the plan ends before its footer"))?;
        if text.starts_with(r#"{"end":"#) {
            break text;
        }
        let entry: Entry = serde_json::from_str(&text)
            .map_err(|e| reader.malformed(&format!("not a plan entry ({e})")))?;
        tally.add(&entry.planned);
        hasher.update(text.as_bytes());
        hasher.update(b"\n");
    };
    let footer: Footer = serde_json::from_str(&footer_text)
        .map_err(|e| reader.malformed(&format!("not a plan footer ({e})")))?;
    let found = format!("sha256:{}", hex(&hasher.finalize()));
    if found != footer.end.digest || footer.end.rows != tally.rows {
        return Err(PlanError::Digest {
            path: path.to_owned(),
            written: footer.end.digest,
            found,
        });
    }
    let mut approvals = Vec::new();
    while let Some(text) = reader.next_line()? {
        if text.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| reader.malformed(&format!("not an approval ({e})")))?;
        match value.get("approval") {
            Some(approval) => approvals.push(approval.clone()),
            None => return Err(reader.malformed("only approvals may follow the footer")),
        }
    }
    Ok(Verified {
        header,
        tally,
        digest: footer.end.digest,
        approvals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::PlannedTarget;

    fn header() -> Header {
        Header {
            securid_bulk_plan: FORMAT,
            tenant: SIMULATED_TENANT.into(),
            operation: "user-disable".into(),
            input: InputFile {
                name: "in.csv".into(),
                sha256: "00".into(),
            },
            created_at: "2026-12-06T20:00:00Z".into(),
            created_by: CreatedBy {
                os_user: "admin".into(),
                credential: None,
            },
            ticket: None,
            rows: 2,
            columns: vec!["email".into()],
        }
    }

    fn entry(line: u64, action: Action) -> Entry {
        Entry {
            line,
            input: vec![format!("u{line}@acme.example")],
            planned: Planned {
                targets: vec![PlannedTarget {
                    ids: BTreeMap::new(),
                    state: None,
                    action,
                }],
            },
        }
    }

    fn written(dir: &Path) -> PathBuf {
        let path = dir.join("p.plan");
        let mut writer = PlanWriter::create(&path, &header(), false).unwrap();
        writer.append(&entry(2, Action::NoOp)).unwrap();
        let fail = Action::Fail {
            kind: "not found".into(),
            reason: "no such user".into(),
        };
        writer.append(&entry(3, fail)).unwrap();
        writer.finish().unwrap();
        path
    }

    #[test]
    fn a_plan_verifies_and_approvals_after_the_footer_leave_its_digest_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let first = verify(&path).unwrap();
        assert_eq!(first.tally.rows, 2);
        assert_eq!(first.tally.fails["not found"], 1);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        writeln!(file, r#"{{"approval": {{"principal": "a"}}}}"#).unwrap();
        let second = verify(&path).unwrap();
        assert_eq!(second.digest, first.digest);
        assert_eq!(second.approvals.len(), 1);
    }

    #[test]
    fn an_edited_plan_fails_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = written(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("u2@", "u9@")).unwrap();
        let err = verify(&path).unwrap_err().to_string();
        assert!(
            err.contains("the plan changed after it was written"),
            "{err}"
        );
    }
}
