use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::*;

const DIGEST: &str = "sha256:4f2a9c0e5b7d1e3f";

/// A new key pair without a passphrase; returns the private key's path.
fn keygen(dir: &Path, name: &str, kind: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-N", "", "-C", name])
        .args(kind)
        .arg("-f")
        .arg(&path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    path
}

fn ed25519(dir: &Path, name: &str) -> PathBuf {
    keygen(dir, name, &["-t", "ed25519"])
}

/// `principals [options] key-type base64` for the key at `key`.
fn signer_line(principals: &str, options: &str, key: &Path) -> String {
    let public = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    let mut fields = public.split_whitespace();
    let (kind, base64) = (fields.next().unwrap(), fields.next().unwrap());
    format!("{principals} {options} {kind} {base64}").replace("  ", " ")
}

fn allowed(dir: &Path, lines: &[String]) -> PathBuf {
    let path = dir.join("allowed_signers");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write allowed signers");
    path
}

/// A signature made by `ssh-keygen -Y sign` directly under `namespace`.
fn signed_under(namespace: &str, key: &Path, message: &str) -> String {
    let mut child = Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", namespace, "-f"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("ssh-keygen runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(message.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn a_signature_from_a_listed_key_approves_and_names_its_principal() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ed25519(dir.path(), "alice");
    let bob = keygen(dir.path(), "bob", &["-t", "ecdsa", "-b", "256"]);
    let signers = allowed(
        dir.path(),
        &[
            "# approvers".to_owned(),
            signer_line("alice@example.com", "", &alice),
            signer_line("bob@example.com", "namespaces=\"securid-*\"", &bob),
        ],
    );
    let signatures = vec![sign(DIGEST, &alice).unwrap(), sign(DIGEST, &bob).unwrap()];
    assert!(signatures[0].starts_with("-----BEGIN SSH SIGNATURE-----"));
    let approvers = verify(DIGEST, &signatures, &signers, 2).unwrap();
    assert_eq!(approvers, ["alice@example.com", "bob@example.com"]);
}

#[test]
fn signatures_interoperate_with_ssh_keygen_verify_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ed25519(dir.path(), "alice");
    let signers = allowed(dir.path(), &[signer_line("alice", "", &alice)]);

    // Ours, checked by ssh-keygen against the same allowed signers file.
    let ours = dir.path().join("ours.sig");
    std::fs::write(&ours, sign(DIGEST, &alice).unwrap()).unwrap();
    let ssh_keygen_verify = |message: &str| {
        let mut child = Command::new("ssh-keygen")
            .args(["-Y", "verify", "-I", "alice", "-n", NAMESPACE, "-f"])
            .arg(&signers)
            .arg("-s")
            .arg(&ours)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(message.as_bytes()).unwrap();
        drop(stdin);
        child.wait().unwrap().success()
    };
    assert!(ssh_keygen_verify(DIGEST));
    assert!(!ssh_keygen_verify("sha256:another plan"));

    // ssh-keygen's, checked here.
    let theirs = signed_under(NAMESPACE, &alice, DIGEST);
    assert_eq!(verify(DIGEST, &[theirs], &signers, 1).unwrap(), ["alice"]);
}

#[test]
fn a_signature_over_another_digest_does_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ed25519(dir.path(), "alice");
    let signers = allowed(dir.path(), &[signer_line("alice", "", &alice)]);
    let signature = sign(DIGEST, &alice).unwrap();
    let err = verify("sha256:edited", &[signature], &signers, 1).unwrap_err();
    let text = err.to_string();
    assert!(matches!(
        err,
        ApprovalError::NotEnough {
            found: 0,
            required: 1,
            ..
        }
    ));
    assert!(text.contains("does not match this plan"), "{text}");
}

#[test]
fn a_key_not_in_the_allowed_signers_file_does_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ed25519(dir.path(), "alice");
    let mallory = ed25519(dir.path(), "mallory");
    let signers = allowed(dir.path(), &[signer_line("alice", "", &alice)]);
    let signatures = vec![
        sign(DIGEST, &mallory).unwrap(),
        sign(DIGEST, &alice).unwrap(),
    ];
    let err = verify(DIGEST, &signatures, &signers, 2).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, ApprovalError::NotEnough { found: 1, .. }),
        "{text}"
    );
    assert!(text.contains("signature 1: the key SHA256:"), "{text}");
    assert!(text.contains("not in the allowed signers file"), "{text}");
}

#[test]
fn one_principal_counts_once_however_many_times_it_signs() {
    let dir = tempfile::tempdir().unwrap();
    let laptop = ed25519(dir.path(), "laptop");
    let token = ed25519(dir.path(), "token");
    let signers = allowed(
        dir.path(),
        &[
            signer_line("alice", "", &laptop),
            signer_line("alice", "", &token),
        ],
    );
    let signatures = vec![
        sign(DIGEST, &laptop).unwrap(),
        sign(DIGEST, &laptop).unwrap(),
        sign(DIGEST, &token).unwrap(),
    ];
    assert_eq!(verify(DIGEST, &signatures, &signers, 1).unwrap(), ["alice"]);
    let text = verify(DIGEST, &signatures, &signers, 2)
        .unwrap_err()
        .to_string();
    assert!(text.starts_with("1 valid approval(s)"), "{text}");
    assert!(
        text.contains("signature 2: alice has already approved"),
        "{text}"
    );
    assert!(
        text.contains("signature 3: alice has already approved"),
        "{text}"
    );
}

#[test]
fn a_signature_under_another_namespace_does_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ed25519(dir.path(), "alice");
    let signers = allowed(dir.path(), &[signer_line("alice", "", &alice)]);
    let git = signed_under("git", &alice, DIGEST);
    let text = verify(DIGEST, &[git], &signers, 1).unwrap_err().to_string();
    assert!(text.contains("made for the namespace git"), "{text}");
}

#[test]
fn a_key_limited_to_other_namespaces_or_expired_does_not_count() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ed25519(dir.path(), "alice");
    let bob = ed25519(dir.path(), "bob");
    let signers = allowed(
        dir.path(),
        &[
            signer_line("alice", "namespaces=\"git,file\"", &alice),
            signer_line("bob", "valid-before=\"20200101\"", &bob),
        ],
    );
    let signatures = vec![sign(DIGEST, &alice).unwrap(), sign(DIGEST, &bob).unwrap()];
    let text = verify(DIGEST, &signatures, &signers, 1)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("alice may not sign under the namespace"),
        "{text}"
    );
    assert!(text.contains("bob's key has expired"), "{text}");
}

#[test]
fn a_malformed_allowed_signers_file_is_named_by_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let alice = ed25519(dir.path(), "alice");
    let cases = [
        ("alice ssh-ed25519", 7, "a key is missing"),
        ("alice ssh-ed25519 AAAAnot-base64", 7, "is not a public key"),
        (
            "alice namespaces=\"git ssh-ed25519 AAAA",
            18,
            "quote is not closed",
        ),
        (
            "alice restrict ssh-ed25519 AAAA",
            7,
            "unknown option restrict",
        ),
    ];
    for (line, column, what) in cases {
        let signers = allowed(
            dir.path(),
            &[signer_line("bob", "", &alice), line.to_owned()],
        );
        let text = verify(DIGEST, &[], &signers, 1).unwrap_err().to_string();
        let at = format!("{}:2:{column}: ", signers.display());
        assert!(text.starts_with(&at), "{line}: {text}");
        assert!(text.contains(what), "{line}: {text}");
    }
    let ca = allowed(
        dir.path(),
        &[signer_line("*@example.com", "cert-authority", &alice)],
    );
    let text = verify(DIGEST, &[], &ca, 1).unwrap_err().to_string();
    assert!(
        text.contains(":1:15: cert-authority is not accepted"),
        "{text}"
    );
}

#[test]
fn a_key_that_cannot_sign_is_named_without_its_contents() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-key");
    let err = sign(DIGEST, &missing).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ApprovalError::Sign { .. }), "{text}");
    assert!(text.contains("no-such-key"), "{text}");
}

#[test]
fn namespace_patterns_match_as_openssh_does() {
    assert!(wildcard_match("securid-*", NAMESPACE));
    assert!(wildcard_match("*", NAMESPACE));
    assert!(wildcard_match("securid-bulk-pla?", NAMESPACE));
    assert!(!wildcard_match("git", NAMESPACE));
    assert!(timestamp("20200101").is_some());
    assert!(timestamp("202001011230Z").is_some());
    assert!(timestamp("2020-01-01").is_none());
}

#[test]
fn an_rsa_key_is_refused_while_signing_since_its_approval_could_not_be_verified() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = keygen(dir.path(), "rsa", &["-t", "rsa", "-b", "2048"]);
    let text = sign(DIGEST, &rsa).unwrap_err().to_string();
    assert!(text.contains("ssh-keygen signed with"), "{text}");
    assert!(
        text.contains("use ed25519, ECDSA or a hardware sk-* key"),
        "{text}"
    );
}
