//! Security checks on the real binary: TLS verification cannot be turned
//! off, plain http goes nowhere but loopback, the bearer token is sent to
//! the base URL's host and nowhere else and never shows in output; output
//! files are owner-only and never written through a planted symbolic link.
//! (Formula escaping in results is covered by `hostile_input`; redirects off
//! the tenant's host by `hostile_server`.)

mod common;

use common::*;

const TOKEN: &str = "tok-9f8e7d6c5b4a-never-print-me";

/// Runs `sid-clear-pin` on one good row against `base_url` with [`TOKEN`].
fn run_against(base_url: &str, extra: &[&str]) -> (std::process::Output, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "one.csv",
        &format!("userId,tokenSerialNumber\n{USER},1231314525\n"),
    );
    let out = bin()
        .arg("sid-clear-pin")
        .arg(&input)
        .args([
            "--base-url",
            base_url,
            "--max-attempts",
            "1",
            "--timeout",
            "5",
        ])
        .env("SECURID_TOKEN", TOKEN)
        .args(extra)
        .output()
        .expect("binary runs");
    let written = std::fs::read_to_string(results_path(&input)).unwrap_or_default();
    (out, written)
}

#[test]
fn a_server_that_does_not_speak_tls_never_sees_the_token() {
    let sink = Sink::start();
    let (out, written) = run_against(&format!("https://127.0.0.1:{}", sink.port), &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let rows = results_from_text(&written);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["outcome"], "failed");
    assert_eq!(rows[0]["http_status"], "");
    assert!(
        rows[0]["message"].contains("cannot reach the tenant"),
        "{rows:?}"
    );
    assert!(sink.connections() >= 1, "the tool did try to connect");
    let seen = sink.received();
    assert!(!seen.is_empty(), "a TLS hello was sent");
    assert!(
        !contains_bytes(&seen, TOKEN.as_bytes()),
        "token went out in clear"
    );
    assert!(!contains_bytes(&seen, b"Authorization"));
    assert!(!stderr(&out).contains(TOKEN));
    assert!(!written.contains(TOKEN));
}

#[test]
fn no_option_turns_tls_verification_off() {
    for op in [
        "ds100-clear-pin",
        "sid-clear-pin",
        "ds100-disable",
        "ds100-delete",
    ] {
        let help = bin().args([op, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&help.stdout).to_lowercase();
        assert!(text.contains("--base-url"), "{op}: help was printed");
        for word in [
            "insecure",
            "verify",
            "certificate",
            "accept-invalid",
            "no-tls",
        ] {
            assert!(!text.contains(word), "{op}: help mentions {word}");
        }
    }
    let sink = Sink::start();
    let url = format!("https://127.0.0.1:{}", sink.port);
    for flag in [
        "--insecure",
        "-k",
        "--danger-accept-invalid-certs",
        "--no-verify",
    ] {
        let (out, _) = run_against(&url, &[flag]);
        assert_eq!(code(&out), 1, "{flag} is refused: {}", stderr(&out));
    }
    assert_eq!(sink.connections(), 0, "a refused flag sends nothing");
}

#[test]
fn plain_http_is_refused_off_loopback_before_anything_is_sent() {
    // TEST-NET addresses: nothing answers there, and nothing is sent since
    // the URL is refused while the flags are read.
    for url in [
        "http://192.0.2.10",
        "http://198.51.100.7:8080",
        "ftp://127.0.0.1",
    ] {
        let (out, written) = run_against(url, &["--dry-run"]);
        assert_eq!(code(&out), 1, "{url}: {}", stderr(&out));
        assert!(stderr(&out).contains("https://"), "{url}: {}", stderr(&out));
        assert!(!stderr(&out).contains(TOKEN));
        assert!(written.is_empty(), "{url}: no results file");
    }
}

#[test]
fn a_token_given_on_the_command_line_is_never_echoed() {
    let tenant = Tenant::sample();
    let dir = tempfile::tempdir().unwrap();
    let input = copy_sample(dir.path(), "sid-clear-pin.csv");
    // --token rather than the environment: the form most likely to be
    // echoed by mistake.
    let out = bin()
        .arg("sid-clear-pin")
        .arg(&input)
        .args(["--base-url", &tenant.url(), "--rate", "0", "--force"])
        .args(["--token", &tenant.token()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(!stderr(&out).contains(&tenant.token()));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&tenant.token()));
    let written = std::fs::read_to_string(results_path(&input)).unwrap();
    assert!(!written.contains(&tenant.token()));
    assert!(tenant.stats().requests > 0);
}

fn results_from_text(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let dir = tempfile::tempdir().unwrap();
    results(&write(dir.path(), "r.csv", text))
}

/// An input with one row that succeeds and one that fails, so a run leaves
/// results, a retry file and a summary.
fn mixed_run_input(dir: &std::path::Path) -> std::path::PathBuf {
    write(
        dir,
        "mixed.csv",
        &format!("userId,tokenSerialNumber\n{USER},014010008038\n{USER},999000\n"),
    )
}

#[cfg(unix)]
#[test]
fn results_retry_and_summary_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let tenant = Tenant::sample();
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_run_input(dir.path());
    let results = dir.path().join("mixed.results.csv");
    // An old results file replaced with --force loses its wider bits too.
    std::fs::write(&results, "old").unwrap();
    std::fs::set_permissions(&results, std::fs::Permissions::from_mode(0o644)).unwrap();
    let summary = dir.path().join("summary.json");
    let out = run_op(
        &tenant,
        "ds100-clear-pin",
        &input,
        &["-j", "2", "--summary-json", summary.to_str().unwrap()],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    for path in [results, dir.path().join("mixed.retry.csv"), summary] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[cfg(unix)]
#[test]
fn planted_symlinks_are_refused_without_force_and_never_written_through() {
    let tenant = Tenant::sample();
    let dir = tempfile::tempdir().unwrap();
    let input = mixed_run_input(dir.path());
    let victim = write(dir.path(), "victim.txt", "precious\n");
    let summary = dir.path().join("summary.json");
    let retry = dir.path().join("mixed.retry.csv");
    for (link, flag) in [(&retry, vec![]), (&summary, vec!["--summary-json"])] {
        std::os::unix::fs::symlink(&victim, link).unwrap();
        let mut args = vec!["ds100-clear-pin", input.to_str().unwrap(), "--yes"];
        args.extend(flag.iter().copied());
        if !flag.is_empty() {
            args.push(summary.to_str().unwrap());
        }
        let out = bin()
            .args(&args)
            .args(["--base-url", &tenant.url(), "--rate", "0"])
            .env("SECURID_TOKEN", tenant.token())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{err}");
        assert!(err.contains("symbolic link"), "{err}");
        assert!(err.contains(link.to_str().unwrap()), "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert_eq!(tenant.stats().requests, 0, "{err}");
        std::fs::remove_file(link).unwrap();
    }
    // With --force the link itself is replaced; its target is left alone.
    std::os::unix::fs::symlink(&victim, &summary).unwrap();
    let out = run_op(
        &tenant,
        "ds100-clear-pin",
        &input,
        &["--summary-json", summary.to_str().unwrap()],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(!std::fs::symlink_metadata(&summary).unwrap().is_symlink());
}

#[cfg(unix)]
#[test]
fn the_mock_never_writes_its_key_file_through_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let victim = write(dir.path(), "victim.txt", "precious\n");
    let link = dir.path().join("admin-key.json");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let out = bin()
        .args(["mock", "--write-key-file"])
        .arg(&link)
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
}
