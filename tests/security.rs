//! Security checks on the real binary: TLS verification cannot be turned
//! off, plain http goes nowhere but loopback, the bearer token is sent to
//! the base URL's host and nowhere else and never shows in output.
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
