//! The end-of-run summary: counts per outcome, time, rate and how the tenant
//! pushed back, printed for the admin and optionally saved as JSON.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::outcome::{plural, Counts, Outcome};

#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// The version of securid-bulk that ran.
    pub version: &'static str,
    pub operation: &'static str,
    /// The config-file profile, if the run used one.
    pub profile: Option<String>,
    /// The tenant as every output records it: `scheme://host:port`, or
    /// `the simulated tenant`; `null` for a dry run that named no tenant.
    pub tenant: Option<String>,
    /// The credential's public id: the key file's access ID or the OAuth
    /// client's Client ID (none for a bearer token). Never a secret.
    pub credential_id: Option<String>,
    /// The change ticket the run was made under (`--ticket`).
    pub ticket: Option<String>,
    /// The principals whose approvals an `apply` checked; empty for any
    /// other run.
    pub approved_by: Vec<String>,
    /// RFC 3339 times the run started (after confirmation) and ended.
    pub started_at: String,
    pub finished_at: String,
    /// The command line, secrets removed.
    pub command_line: Vec<String>,
    pub input: PathBuf,
    /// The SHA-256 of the input's bytes, as the results lines record it.
    pub input_sha256: String,
    pub results: PathBuf,
    pub dry_run: bool,
    pub rows: u64,
    pub outcomes: std::collections::BTreeMap<&'static str, u64>,
    /// Every request sent to the tenant, lookups included: the request log
    /// has one line for each.
    pub requests: u64,
    /// Of `requests`, the lookups (email → userId, device → token serial)
    /// and read-backs.
    pub lookups: u64,
    pub retries: u64,
    pub throttled: u64,
    pub elapsed_seconds: f64,
    pub rows_per_second: f64,
    /// The request rate the run ended at, when it adapted to the tenant.
    pub settled_rate: Option<f64>,
    /// Bearer tokens signed from the key file during the run.
    pub tokens_signed: Option<u64>,
    /// Access tokens obtained from the OAuth token endpoint during the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_tokens_obtained: Option<u64>,
    /// The proxy requests went (or, in a dry run, would go) through;
    /// credentials in it are shown as `***`.
    pub proxy: Option<String>,
    /// With `--verify`: rows read back as changed, not changed, and
    /// unreadable.
    pub verified: Option<Verified>,
    /// Why the run stopped early, if it did.
    pub stopped: Option<String>,
    /// How to carry on, when rows were left undone.
    pub next_step: Option<String>,
    /// What the pre-run scan found across rows, one line per kind.
    pub input_findings: Vec<String>,
    /// Retry files of the runs this one resumed: this run's results and
    /// retry file say what is still to do, not those.
    pub superseded: Vec<PathBuf>,
    /// Why the retry file could not be written, when it could not.
    pub retry_error: Option<String>,
    /// How to take the run's changes back: the command and its undo file,
    /// or why it cannot be done.
    pub undo: Option<String>,
}

/// What `--verify` found, in rows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Verified {
    pub yes: u64,
    pub no: u64,
    pub unknown: u64,
}

/// Figures about the requests themselves, gathered by the client.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequestFigures {
    pub requests: u64,
    pub lookups: u64,
    pub retries: u64,
    pub throttled: u64,
    pub settled_rate: Option<f64>,
    pub tokens_signed: Option<u64>,
    pub verified: Option<Verified>,
    pub access_tokens_obtained: Option<u64>,
}

/// What a run knows at its end, for its summary.
pub struct RunFacts<'a> {
    pub operation: &'static str,
    pub profile: Option<String>,
    pub tenant: Option<String>,
    pub credential_id: Option<String>,
    pub ticket: Option<String>,
    pub started_at: std::time::SystemTime,
    pub command_line: Vec<String>,
    pub input: &'a Path,
    pub input_sha256: &'a str,
    pub results: &'a Path,
    pub dry_run: bool,
    pub counts: &'a Counts,
    pub figures: RequestFigures,
    pub elapsed: Duration,
    pub proxy: Option<String>,
    pub stopped: Option<String>,
    pub next_step: Option<String>,
    pub input_findings: Vec<String>,
    pub superseded: Vec<PathBuf>,
}

impl Summary {
    pub fn new(facts: RunFacts) -> Self {
        let RunFacts {
            counts, figures, ..
        } = facts;
        let outcomes = Outcome::ALL
            .into_iter()
            .filter(|o| counts.get(*o) > 0)
            .map(|o| (o.as_str(), counts.get(o)))
            .collect();
        let seconds = facts.elapsed.as_secs_f64();
        // Rows that reached an end by being sent or validated; rows that
        // were skipped, invalid or never attempted take no time.
        let done =
            counts.get(Outcome::Ok) + counts.get(Outcome::Failed) + counts.get(Outcome::Valid);
        Summary {
            version: env!("CARGO_PKG_VERSION"),
            operation: facts.operation,
            profile: facts.profile,
            tenant: facts.tenant,
            credential_id: facts.credential_id,
            ticket: facts.ticket,
            approved_by: Vec::new(),
            started_at: humantime::format_rfc3339_millis(facts.started_at).to_string(),
            finished_at: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            command_line: facts.command_line,
            input: facts.input.to_owned(),
            input_sha256: facts.input_sha256.to_owned(),
            results: facts.results.to_owned(),
            dry_run: facts.dry_run,
            rows: counts.total(),
            outcomes,
            requests: figures.requests + figures.lookups,
            lookups: figures.lookups,
            retries: figures.retries,
            throttled: figures.throttled,
            elapsed_seconds: seconds,
            rows_per_second: if seconds > 0.0 {
                done as f64 / seconds
            } else {
                0.0
            },
            settled_rate: figures.settled_rate,
            tokens_signed: figures.tokens_signed,
            access_tokens_obtained: figures.access_tokens_obtained,
            proxy: facts.proxy,
            verified: figures.verified,
            stopped: facts.stopped,
            next_step: facts.next_step,
            input_findings: facts.input_findings,
            superseded: facts.superseded,
            retry_error: None,
            undo: None,
        }
    }

    /// The human-readable summary for stderr.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mode = if self.dry_run { " (dry run)" } else { "" };
        let _ = writeln!(
            out,
            "{}{mode}: {}",
            self.operation,
            plural(self.rows, "row", "rows")
        );
        if self.profile.is_some() || self.tenant.is_some() {
            let profile = self
                .profile
                .as_deref()
                .map_or(String::new(), |p| format!("profile {p}, "));
            let tenant = self.tenant.as_deref().unwrap_or("no tenant (nothing sent)");
            let _ = writeln!(out, "  {profile}tenant: {tenant}");
        }
        if let Some(ticket) = &self.ticket {
            let _ = writeln!(out, "  ticket: {ticket}");
        }
        if !self.approved_by.is_empty() {
            let _ = writeln!(out, "  approved by: {}", self.approved_by.join(", "));
        }
        let counts: Vec<String> = Outcome::ALL
            .into_iter()
            .filter_map(|o| {
                self.outcomes
                    .get(o.as_str())
                    .map(|n| format!("{} {n}", o.as_str()))
            })
            .collect();
        let _ = writeln!(out, "  outcomes: {}", counts.join(", "));
        if !self.dry_run || self.lookups > 0 {
            // The lookups are part of the requests, as in the request log.
            let lookups = match self.lookups {
                0 => String::new(),
                n => format!("{}, ", plural(n, "lookup", "lookups")),
            };
            let _ = writeln!(
                out,
                "  requests: {} ({lookups}{}, {} throttled by the tenant)",
                self.requests,
                plural(self.retries, "retry", "retries"),
                self.throttled
            );
        }
        let _ = writeln!(
            out,
            "  elapsed: {:.1}s, {:.1} rows/s",
            self.elapsed_seconds, self.rows_per_second
        );
        if let Some(tokens) = self.tokens_signed {
            let _ = writeln!(out, "  bearer tokens signed from the key file: {tokens}");
        }
        if let Some(tokens) = self.access_tokens_obtained {
            let _ = writeln!(
                out,
                "  access tokens obtained from the token endpoint: {tokens}"
            );
        }
        if let Some(rate) = self.settled_rate {
            let _ = writeln!(
                out,
                "  settled rate: {rate:.1} requests/s (pass --rate {rate:.0} next time)"
            );
        }
        if let Some(proxy) = &self.proxy {
            let _ = writeln!(out, "  proxy: {proxy}");
        }
        if let Some(v) = &self.verified {
            let _ = writeln!(
                out,
                "  verified: {} read back as changed, {} not changed, {} could not be read",
                plural(v.yes, "row", "rows"),
                v.no,
                v.unknown
            );
        }
        for finding in &self.input_findings {
            let _ = writeln!(out, "  input: {finding}");
        }
        let _ = writeln!(out, "  results: {}", self.results.display());
        if let Some(reason) = &self.stopped {
            let _ = writeln!(out, "  stopped: {reason}");
        }
        if let Some(undo) = &self.undo {
            let _ = writeln!(out, "  undo: {undo}");
        }
        if let Some(next) = &self.next_step {
            let _ = writeln!(out, "  next: {next}");
        }
        if let Some(error) = &self.retry_error {
            let _ = writeln!(out, "  retry file not written: {error}");
        }
        for old in &self.superseded {
            let _ = writeln!(
                out,
                "  superseded: {} (written by the run resumed here; it no longer says what is left)",
                old.display()
            );
        }
        out
    }

    /// Saves the summary as JSON, owner-only, never through a symbolic link
    /// unless `force`.
    pub fn save_json(&self, path: &Path, force: bool) -> Result<(), super::OutputError> {
        super::files::replace_whole(path, force, |file| {
            use std::io::Write as _;
            let json = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
            file.write_all(json.as_bytes())?;
            file.write_all(b"\n")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(
        operation: &'static str,
        dry_run: bool,
        counts: &'a Counts,
        figures: RequestFigures,
        elapsed: Duration,
    ) -> RunFacts<'a> {
        RunFacts {
            operation,
            profile: None,
            tenant: None,
            credential_id: None,
            ticket: None,
            started_at: std::time::SystemTime::now(),
            command_line: Vec::new(),
            input: Path::new("in.csv"),
            input_sha256: "00",
            results: Path::new("in.results.csv"),
            dry_run,
            counts,
            figures,
            elapsed,
            proxy: None,
            stopped: None,
            next_step: None,
            input_findings: Vec::new(),
            superseded: Vec::new(),
        }
    }

    #[test]
    fn counts_and_render() {
        let mut counts = Counts::default();
        counts.add(Outcome::Ok);
        counts.add(Outcome::Ok);
        counts.add(Outcome::Invalid);
        assert_eq!(counts.total(), 3);
        assert_eq!(counts.needing_attention(), 1);
        let s = Summary::new(facts(
            "ds100-clear-pin",
            false,
            &counts,
            RequestFigures {
                requests: 4,
                lookups: 0,
                retries: 2,
                throttled: 1,
                settled_rate: None,
                tokens_signed: None,
                verified: Some(Verified {
                    yes: 2,
                    no: 0,
                    unknown: 0,
                }),
                access_tokens_obtained: None,
            },
            Duration::from_secs(2),
        ));
        let text = s.render();
        assert!(text.contains("outcomes: ok 2, invalid 1"), "{text}");
        let mut one = s.clone();
        one.verified = Some(Verified {
            yes: 1,
            no: 0,
            unknown: 0,
        });
        assert!(one.render().contains("verified: 1 row read back"));
        assert!(
            text.contains("requests: 4 (2 retries, 1 throttled"),
            "{text}"
        );
        // Two rows were sent in two seconds; the invalid row took no time.
        assert!(text.contains("1.0 rows/s"), "{text}");
        assert!(
            text.contains("verified: 2 rows read back as changed, 0 not changed"),
            "{text}"
        );
    }

    #[test]
    fn lookups_show_even_in_a_dry_run() {
        let counts = Counts::default();
        let figures = RequestFigures {
            lookups: 3,
            ..RequestFigures::default()
        };
        let s = Summary::new(facts(
            "ds100-delete",
            true,
            &counts,
            figures,
            Duration::from_secs(1),
        ));
        assert!(
            s.render().contains("requests: 3 (3 lookups, 0 retries"),
            "{}",
            s.render()
        );
    }
}
