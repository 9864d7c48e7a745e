//! Security checks on the real binary: TLS verification cannot be turned
//! off, plain http goes nowhere but loopback, the bearer token is sent to
//! the base URL's host and nowhere else and never shows in output; output
//! files are owner-only and never written through a planted symbolic link.
//! (Formula escaping in results is covered by `hostile_input`; redirects off
//! the tenant's host by `hostile_server`.)

use crate::fixture::*;

const TOKEN: &str = "tok-9f8e7d6c5b4a-never-print-me";

/// Runs `sid-clear-pin` on one good row against `base_url` with [`TOKEN`].
fn run_against(base_url: &str, extra: &[&str]) -> (std::process::Output, String) {
    let dir = temp_dir();
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
    assert_exit(&out, 2);
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
    assert!(
        !stderr(&out).contains("process list"),
        "SECURID_TOKEN is not warned about"
    );
    assert!(!written.contains(TOKEN));
}

#[test]
fn no_option_turns_tls_verification_off() {
    for op in operations() {
        let help = bin().args([op, "--help"]).output().unwrap();
        let text = String::from_utf8_lossy(&help.stdout).to_lowercase();
        assert!(text.contains("--base-url"), "{op}: help was printed");
        // `--verify` reads changes back; no flag turns TLS checks off.
        for word in [
            "insecure",
            "no-verify",
            "tls-verify",
            "verify-tls",
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
    let Scene { tenant, dir } = Scene::sample();
    // One row is held back by the canary, so the run prints the command
    // that carries on: the place a typed token is most likely to be
    // repeated.
    let input = mixed_run_input(dir.path());
    // --token rather than the environment: the form most likely to be
    // echoed by mistake.
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--base-url", &tenant.url(), "--rate", "0", "--force"])
        .args(["--limit", "1"])
        .args(["--token", &tenant.token()])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("carry on"), "{}", stderr(&out));
    assert!(!stderr(&out).contains(&tenant.token()));
    let warnings = stderr(&out).matches("set SECURID_TOKEN instead").count();
    assert_eq!(warnings, 1, "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&tenant.token()));
    let written = std::fs::read_to_string(results_path(&input)).unwrap();
    assert!(!written.contains(&tenant.token()));
    assert!(tenant.stats().requests > 0);
}

fn results_from_text(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let dir = temp_dir();
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
    let Scene { tenant, dir } = Scene::sample();
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
    assert_exit(&out, 2);
    for path in [results, dir.path().join("mixed.retry.csv"), summary] {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
}

#[cfg(unix)]
#[test]
fn planted_symlinks_are_refused_without_force_and_never_written_through() {
    let Scene { tenant, dir } = Scene::sample();
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
    assert_exit(&out, 2);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert!(!std::fs::symlink_metadata(&summary).unwrap().is_symlink());
}

#[cfg(unix)]
#[test]
fn the_mock_never_writes_its_key_file_through_a_symlink() {
    let dir = temp_dir();
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

/// Every variable a proxy could come from, pointed at `sink`.
fn proxy_environment(cmd: &mut assert_cmd::Command, proxy: &str) {
    for var in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env(var, proxy);
    }
    cmd.env_remove("NO_PROXY").env_remove("no_proxy");
}

#[test]
fn plain_http_to_loopback_never_goes_through_a_proxy() {
    let sink = Sink::start();
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let mut cmd = bin();
    cmd.arg("ds100-clear-pin")
        .arg(&input)
        .args(["--mock", "--rate", "0"]);
    proxy_environment(&mut cmd, &format!("http://127.0.0.1:{}", sink.port));
    let out = cmd.output().unwrap();
    assert_exit(&out, 0);
    assert!(results(&results_path(&input))
        .iter()
        .all(|r| r["outcome"] == "ok"));
    assert!(
        stderr(&out).contains("directly (no proxy)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sink.connections(), 0, "the proxy saw the run");
}

#[test]
fn the_proxy_for_an_https_tenant_is_reported_without_its_password() {
    let sink = Sink::start();
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let summary = dir.path().join("summary.json");
    let run = |extra: &[&str]| {
        let mut cmd = bin();
        cmd.arg("ds100-clear-pin")
            .arg(&input)
            .args(["--dry-run", "--force", "--base-url", "https://acme.example"])
            .arg("--summary-json")
            .arg(&summary)
            .args(extra);
        let proxy = format!("http://admin:pr0xy-pw@127.0.0.1:{}", sink.port);
        proxy_environment(&mut cmd, &proxy);
        let out = cmd.output().unwrap();
        assert_exit(&out, 0);
        assert!(!stderr(&out).contains("pr0xy-pw"), "{}", stderr(&out));
        let json = std::fs::read_to_string(&summary).unwrap();
        assert!(!json.contains("pr0xy-pw"), "{json}");
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        (stderr(&out), json["proxy"].clone())
    };
    let shown = format!("http://***@127.0.0.1:{}/", sink.port);
    let (text, proxy) = run(&[]);
    assert!(text.contains(&format!("via proxy {shown}")), "{text}");
    assert!(text.contains(&format!("proxy: {shown}")), "{text}");
    assert_eq!(proxy, shown.as_str());

    let (text, proxy) = run(&["--no-proxy"]);
    assert!(text.contains("directly (no proxy)"), "{text}");
    assert!(proxy.is_null());

    let (text, proxy) = run(&["--proxy", "proxy.corp.example:3128"]);
    assert!(
        text.contains("via proxy http://proxy.corp.example:3128/"),
        "{text}"
    );
    assert_eq!(proxy, "http://proxy.corp.example:3128/");
    assert_eq!(sink.connections(), 0, "a dry run sends nothing");
}

#[test]
fn credentials_in_a_base_url_are_refused_without_repeating_them() {
    let (out, written) = run_against("https://admin:hunter2-pw@acme.example", &["--dry-run"]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("credentials in the URL"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("***@acme.example"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("hunter2-pw"));
    assert!(!stderr(&out).contains("admin:"));
    assert!(written.is_empty());
}

#[test]
fn a_token_typed_where_no_argument_belongs_is_not_echoed() {
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    for stray in [vec![TOKEN.to_owned()], vec![format!("--tokn={TOKEN}")]] {
        let out = bin()
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(&stray)
            .output()
            .unwrap();
        assert_exit(&out, 1);
        assert!(
            stderr(&out).contains("unexpected argument"),
            "{}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains(TOKEN), "{}", stderr(&out));
    }
}

#[test]
fn a_mock_on_a_public_address_is_refused_unless_asked_for() {
    // --state names a missing file, so a build without the refusal would
    // stop on that before binding anything.
    let out = bin()
        .args([
            "mock",
            "--listen",
            "0.0.0.0:0",
            "--state",
            "no-such-tenant.json",
        ])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert_exit(&out, 1);
    let text = stderr(&out);
    assert!(text.contains("--listen 0.0.0.0:0"), "{text}");
    assert!(text.contains("--listen-public"), "{text}");
    assert!(out.stdout.is_empty(), "nothing was served");
}

#[test]
fn localhost_with_a_trailing_dot_is_refused_and_exact_localhost_reaches_loopback() {
    let sink = Sink::start();
    let (out, written) = run_against(&format!("http://localhost.:{}", sink.port), &[]);
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("exactly localhost"),
        "{}",
        stderr(&out)
    );
    assert!(written.is_empty());
    assert_eq!(sink.connections(), 0);

    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "sid-clear-pin.csv");
    let port = tenant.url().rsplit(':').next().unwrap().to_owned();
    let out = bin()
        .arg("sid-clear-pin")
        .arg(&input)
        .args([
            "--base-url",
            &format!("http://localhost:{port}"),
            "--rate",
            "0",
        ])
        .env("SECURID_TOKEN", tenant.token())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(tenant.stats().requests > 0);
}

#[test]
fn a_token_typed_in_place_of_the_operation_is_not_printed_back() {
    let pasted = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.SECRETsig";
    let out = bin().args([pasted, "users.csv"]).output().unwrap();
    assert_ne!(code(&out), 0);
    let text = stderr(&out);
    assert!(text.contains("unrecognized subcommand"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
    assert!(!text.contains("eyJ"), "{text}");
}

#[test]
fn a_proxy_password_never_reaches_the_carry_on_command_or_the_summary() {
    let Scene { tenant, dir } = Scene::sample();
    let input = mixed_run_input(dir.path());
    let summary = dir.path().join("summary.json");
    // A loopback tenant is reached directly, but the flag is still part of
    // the command the summary repeats.
    let out = run_op(
        &tenant,
        "ds100-clear-pin",
        &input,
        &[
            "--proxy",
            "http://u:hunter2@127.0.0.1:9",
            "--summary-json",
            summary.to_str().unwrap(),
            // A row held back, so there is a carry-on command to check.
            "--limit",
            "1",
        ],
    );
    assert_exit(&out, 2);
    let json = std::fs::read_to_string(&summary).unwrap();
    assert!(json.contains("next_step"), "{json}");
    assert!(json.contains("HTTPS_PROXY"), "{json}");
    assert!(stderr(&out).contains("carry on"), "{}", stderr(&out));
    for text in [stderr(&out), json] {
        assert!(!text.contains("hunter2"), "{text}");
    }
}

#[test]
fn a_socks_proxy_is_refused_naming_the_flag_or_the_variable() {
    let dir = temp_dir();
    let input = mixed_run_input(dir.path());
    let sink = Sink::start();
    let base = format!("https://127.0.0.1:{}", sink.port);
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--base-url", &base, "--proxy", "socks5://127.0.0.1:1080"])
        .env("SECURID_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("--proxy"), "{}", stderr(&out));
    assert!(stderr(&out).contains("only http:// and https://"));
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--base-url", &base, "--dry-run"])
        .env("SECURID_TOKEN", TOKEN)
        .env("HTTPS_PROXY", "socks5h://u:hunter2@127.0.0.1:1080")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("HTTPS_PROXY="), "{err}");
    assert!(err.contains("only http:// and https://"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert_eq!(sink.connections(), 0, "nothing sent");
}
