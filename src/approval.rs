//! Approvals: SSH signatures over a plan's digest, in the sshsig format
//! `ssh-keygen -Y sign` makes, under the namespace [`NAMESPACE`].
//!
//! Signing is left to `ssh-keygen` itself, so a key held in ssh-agent or on
//! a hardware token (sk-*) works exactly as it does for git. Verification is
//! done here, against an OpenSSH allowed_signers file: a signature counts
//! when it is valid for the digest, made under the namespace, by a key the
//! file lists (and allows for the namespace and for now), and its principal
//! has not been counted already. Errors name key paths and file positions,
//! never key material.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use ssh_key::{HashAlg, PublicKey, SshSig};

/// The sshsig namespace of a plan approval: a signature made for anything
/// else (a git commit, a file) never approves a plan.
pub const NAMESPACE: &str = "securid-bulk-plan";

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("cannot run ssh-keygen to sign with {key}: {source}; install OpenSSH 8.2 or later")]
    Spawn {
        key: PathBuf,
        source: std::io::Error,
    },
    #[error("ssh-keygen -Y sign with {key} failed: {message}")]
    Sign { key: PathBuf, message: String },
    #[error("ssh-keygen signed with {key}, but the signature cannot be used: {what}")]
    Unusable { key: PathBuf, what: String },
    #[error("cannot read the allowed signers file {path}: {source}")]
    ReadSigners {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {what}")]
    Signers {
        path: PathBuf,
        line: usize,
        column: usize,
        what: String,
    },
    #[error("{found} valid approval(s) from distinct principals in {path}, {required} required{}", reasons(.rejected))]
    NotEnough {
        found: usize,
        required: usize,
        path: PathBuf,
        /// Why each signature that did not count did not.
        rejected: Vec<String>,
    },
}

fn reasons(rejected: &[String]) -> String {
    rejected.iter().map(|r| format!("; {r}")).collect()
}

/// Signs `digest` with `key` (a private key file, or the `.pub` of a key
/// held in ssh-agent) by `ssh-keygen -Y sign`, which reads the message from
/// standard input and writes the armored signature to standard output: no
/// file is written. A passphrase or a touch is asked for on the terminal.
pub fn sign(digest: &str, key: &Path) -> Result<String, ApprovalError> {
    let mut child = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", NAMESPACE, "-f"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ApprovalError::Spawn {
            key: key.to_owned(),
            source,
        })?;
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(digest.as_bytes()));
    let output = child
        .wait_with_output()
        .map_err(|source| ApprovalError::Spawn {
            key: key.to_owned(),
            source,
        })?;
    let said = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    if !output.status.success() || !matches!(written, Some(Ok(()))) {
        return Err(ApprovalError::Sign {
            key: key.to_owned(),
            message: match said.is_empty() {
                true => format!("it ended with {}", output.status),
                false => said.replace('\n', "; "),
            },
        });
    }
    let armored = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    // Checked now, not at apply: a signature this build cannot verify (an
    // RSA key) is refused while the approver is still at the keyboard.
    let unusable = |what: String| ApprovalError::Unusable {
        key: key.to_owned(),
        what,
    };
    let signature = SshSig::from_pem(&armored).map_err(|e| unusable(e.to_string()))?;
    PublicKey::from(signature.public_key().clone())
        .verify(NAMESPACE, digest.as_bytes(), &signature)
        .map_err(|e| {
            unusable(format!(
                "{e} ({} keys are not accepted; use ed25519, ECDSA or a hardware sk-* key)",
                signature.algorithm()
            ))
        })?;
    Ok(armored)
}

/// One key line of an allowed_signers file.
struct Signer {
    principals: String,
    key: PublicKey,
    options: SignerOptions,
}

/// The options of a key line that this module honours.
#[derive(Default)]
struct SignerOptions {
    /// `namespaces="..."`: the patterns the key may sign under; none means any.
    namespaces: Option<Vec<String>>,
    valid_after: Option<SystemTime>,
    valid_before: Option<SystemTime>,
}

impl Signer {
    /// Why this key may not approve a plan now, if it may not.
    fn refusal(&self, now: SystemTime) -> Option<String> {
        let options = &self.options;
        if let Some(patterns) = &options.namespaces {
            if !patterns.iter().any(|p| wildcard_match(p, NAMESPACE)) {
                return Some(format!(
                    "{} may not sign under the namespace {NAMESPACE}",
                    self.principals
                ));
            }
        }
        if options.valid_after.is_some_and(|t| now < t) {
            return Some(format!("{}'s key is not valid yet", self.principals));
        }
        if options.valid_before.is_some_and(|t| now >= t) {
            return Some(format!("{}'s key has expired", self.principals));
        }
        None
    }
}

/// Verifies each armored signature over `digest` against `allowed_signers`
/// and returns the approving principals, one per distinct principal, in
/// the order their signatures came; an error unless there are `required`.
pub fn verify(
    digest: &str,
    signatures: &[String],
    allowed_signers: &Path,
    required: usize,
) -> Result<Vec<String>, ApprovalError> {
    let text =
        std::fs::read_to_string(allowed_signers).map_err(|source| ApprovalError::ReadSigners {
            path: allowed_signers.to_owned(),
            source,
        })?;
    let signers = parse_allowed_signers(&text, allowed_signers)?;
    let now = SystemTime::now();
    let mut approvers = Vec::new();
    let mut counted = BTreeSet::new();
    let mut rejected = Vec::new();
    for (index, armored) in signatures.iter().enumerate() {
        let number = index + 1;
        match approver(digest, armored, &signers, now) {
            Ok(principals) if counted.contains(&principals) => rejected.push(format!(
                "signature {number}: {principals} has already approved; a principal counts once"
            )),
            Ok(principals) => {
                counted.insert(principals.clone());
                approvers.push(principals);
            }
            Err(why) => rejected.push(format!("signature {number}: {why}")),
        }
    }
    if approvers.len() < required {
        return Err(ApprovalError::NotEnough {
            found: approvers.len(),
            required,
            path: allowed_signers.to_owned(),
            rejected,
        });
    }
    Ok(approvers)
}

/// The principals of the listed key that validly signed `digest`, or why
/// the signature does not count.
fn approver(
    digest: &str,
    armored: &str,
    signers: &[Signer],
    now: SystemTime,
) -> Result<String, String> {
    let signature =
        SshSig::from_pem(armored.trim()).map_err(|e| format!("not an SSH signature ({e})"))?;
    if signature.namespace() != NAMESPACE {
        return Err(format!(
            "made for the namespace {}, not {NAMESPACE}",
            signature.namespace()
        ));
    }
    let fingerprint = PublicKey::from(signature.public_key().clone()).fingerprint(HashAlg::Sha256);
    let signer = signers
        .iter()
        .find(|s| s.key.key_data() == signature.public_key())
        .ok_or_else(|| format!("the key {fingerprint} is not in the allowed signers file"))?;
    if let Some(why) = signer.refusal(now) {
        return Err(why);
    }
    signer
        .key
        .verify(NAMESPACE, digest.as_bytes(), &signature)
        .map_err(|e| {
            format!(
                "{}'s signature does not match this plan ({e}); the plan changed after it was signed, or the signature is damaged",
                signer.principals
            )
        })?;
    Ok(signer.principals.clone())
}

/// A word of a line and the column (1-based, in characters) it starts at.
type Word<'a> = (&'a str, usize);

fn parse_allowed_signers(text: &str, path: &Path) -> Result<Vec<Signer>, ApprovalError> {
    let mut signers = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let at = |column: usize, what: String| ApprovalError::Signers {
            path: path.to_owned(),
            line: index + 1,
            column,
            what,
        };
        let words = split_words(line).map_err(|column| {
            at(
                column,
                "a quote is not closed; close it before the end of the line".to_owned(),
            )
        })?;
        if words.first().is_none_or(|(w, _)| w.starts_with('#')) {
            continue;
        }
        signers.push(parse_line(&words, &at)?);
    }
    Ok(signers)
}

const LINE_FORMAT: &str =
    "expected: principals [options] key-type base64-key [comment], as in ssh-keygen(1) ALLOWED SIGNERS";

fn parse_line(
    words: &[Word<'_>],
    at: &dyn Fn(usize, String) -> ApprovalError,
) -> Result<Signer, ApprovalError> {
    let (principals, _) = words[0];
    let end = words.last().map_or(1, |(w, c)| c + w.chars().count());
    let mut rest = &words[1..];
    let mut options = None;
    if let Some(&(word, column)) = rest.first() {
        if ssh_key::Algorithm::new(word).is_err() {
            options = Some((word, column));
            rest = &rest[1..];
        }
    }
    let options = match options {
        Some((options, column)) => parse_options(options, column, at)?,
        None => SignerOptions::default(),
    };
    let (Some(&(kind, kind_column)), Some(&(base64, _))) = (rest.first(), rest.get(1)) else {
        let column = rest.first().map_or(end, |(_, c)| *c);
        return Err(at(column, format!("a key is missing; {LINE_FORMAT}")));
    };
    let key = PublicKey::from_openssh(&format!("{kind} {base64}")).map_err(|e| {
        at(
            kind_column,
            format!(
                "{kind} {} is not a public key ({e}); {LINE_FORMAT}",
                short(base64)
            ),
        )
    })?;
    Ok(Signer {
        principals: principals.to_owned(),
        key,
        options,
    })
}

fn parse_options(
    options: &str,
    column: usize,
    at: &dyn Fn(usize, String) -> ApprovalError,
) -> Result<SignerOptions, ApprovalError> {
    let mut signer = SignerOptions::default();
    for (option, offset) in split_options(options) {
        let column = column + offset;
        let (name, value) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value.trim_matches('"'))),
            None => (option, None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("namespaces", Some(list)) => {
                signer.namespaces = Some(list.split(',').map(str::to_owned).collect());
            }
            ("valid-after", Some(time)) => {
                signer.valid_after = Some(timestamp(time).ok_or_else(|| at(column, bad_time(name, time)))?);
            }
            ("valid-before", Some(time)) => {
                signer.valid_before = Some(timestamp(time).ok_or_else(|| at(column, bad_time(name, time)))?);
            }
            ("cert-authority", _) => {
                return Err(at(
                    column,
                    "cert-authority is not accepted: an approval must come from a key listed here, not from any certificate a CA signed; list each approver's own key".to_owned(),
                ))
            }
            _ => {
                return Err(at(
                    column,
                    format!("unknown option {}; expected namespaces=\"...\", valid-after=\"...\" or valid-before=\"...\", or a key type ({LINE_FORMAT})", short(option)),
                ))
            }
        }
    }
    Ok(signer)
}

fn bad_time(name: &str, value: &str) -> String {
    format!("{name}={value} is not a time; expected YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS, read as UTC")
}

/// `YYYYMMDD[HHMM[SS]][Z]`, read as UTC.
fn timestamp(text: &str) -> Option<SystemTime> {
    let digits = text.strip_suffix('Z').unwrap_or(text);
    if !digits.bytes().all(|b| b.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return None;
    }
    let part = |range: std::ops::Range<usize>| digits.get(range).unwrap_or("00");
    let padded = |range: std::ops::Range<usize>| match digits.len() > range.start {
        true => part(range),
        false => "00",
    };
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}Z",
        part(0..4),
        part(4..6),
        part(6..8),
        padded(8..10),
        padded(10..12),
        padded(12..14)
    );
    humantime::parse_rfc3339(&rfc3339).ok()
}

/// Splits a line on blanks outside double quotes; `Err(column)` for an
/// unclosed quote.
fn split_words(line: &str) -> Result<Vec<Word<'_>>, usize> {
    let mut words = Vec::new();
    let mut start = None;
    let mut quote_at = None;
    let mut column = 0;
    for (byte, ch) in line.char_indices() {
        column += 1;
        if ch == '"' {
            quote_at = match quote_at {
                Some(_) => None,
                None => Some(column),
            };
        }
        let blank = ch.is_whitespace() && quote_at.is_none();
        match (blank, start) {
            (false, None) => start = Some((byte, column)),
            (true, Some((from, col))) => {
                words.push((&line[from..byte], col));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(column) = quote_at {
        return Err(column);
    }
    if let Some((from, col)) = start {
        words.push((&line[from..], col));
    }
    Ok(words)
}

/// Splits options on commas outside double quotes, with each option's
/// offset in characters.
fn split_options(options: &str) -> Vec<(&str, usize)> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut from = (0, 0);
    for (column, (byte, ch)) in options.char_indices().enumerate() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push((&options[from.0..byte], from.1));
                from = (byte + 1, column + 1);
            }
            _ => {}
        }
    }
    parts.push((&options[from.0..], from.1));
    parts
}

/// OpenSSH's pattern match: `*` any run of characters, `?` any one.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (pattern, text): (Vec<char>, Vec<char>) =
        (pattern.chars().collect(), text.chars().collect());
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// A word cut short for a message: a base64 key is not worth repeating.
fn short(word: &str) -> String {
    match word.char_indices().nth(24) {
        Some((byte, _)) => format!("{}...", &word[..byte]),
        None => word.to_owned(),
    }
}

#[cfg(test)]
mod tests;
