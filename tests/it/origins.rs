//! Where a run's tenant and credential come from: an OAuth client's token
//! goes only to the tenant given with it, a profile chosen by name wins over
//! the environment, `--mock` wins over leftovers, and the banner names what
//! was set but not used. Also what the config file and printed settings may
//! hold: value types, file modes, passwords in proxy URLs, terminal escapes.

use std::path::Path;

use crate::fixture::*;

const OAUTH_FLAGS: &[&str] = &[
    "--client-id",
    "c",
    "--client-key",
    "/nonexistent/client.jwk",
    "--issuer",
    "https://acme.auth.securid.com/oauth",
];

#[test]
fn an_oauth_client_refuses_a_tenant_from_another_source_in_every_kind_of_run() {
    let sink = Sink::start();
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let leftover = format!("http://127.0.0.1:{}", sink.port);
    for dry in [None, Some("--dry-run"), Some("--dry-run=lookup")] {
        let out = bin()
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(OAUTH_FLAGS)
            .args(["--force", "--yes"])
            .args(dry)
            .env("SECURID_BASE_URL", &leftover)
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{dry:?}: {err}");
        assert!(
            err.contains("--client-id") && err.contains("SECURID_BASE_URL from the environment"),
            "{dry:?}: {err}"
        );
    }
    // A profile's tenant with a client typed on the command line is as
    // much another source.
    let config = config_file(
        dir.path(),
        &format!("[profiles.p]\nbase-url = \"{leftover}\"\n"),
    );
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(OAUTH_FLAGS)
        .args(["--force", "--profile", "p", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("base-url from the profile"),
        "{}",
        stderr(&out)
    );
    assert_eq!(sink.connections(), 0, "the leftover tenant was contacted");
}

#[test]
fn a_named_profile_wins_over_the_environment_and_the_banner_names_what_was_not_used() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let url = scene.tenant.url();
    let port = url.rsplit(':').next().unwrap().trim_end_matches('/');
    let config = config_file(
        scene.dir.path(),
        &format!("[profiles.test]\nbase-url = \"{url}\"\nrate = 0\n"),
    );
    let sink = Sink::start();
    let leftover = format!("http://127.0.0.1:{}", sink.port);
    let run = |dry: Option<&str>| {
        bin()
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(["--force", "--config"])
            .arg(&config)
            .args(dry)
            .env("SECURID_PROFILE", "test")
            .env("SECURID_BASE_URL", &leftover)
            .env("SECURID_TOKEN", scene.tenant.token())
            .output()
            .unwrap()
    };
    // The same rules in an offline dry run, a dry run with lookups and a
    // real run: the profile's tenant, the leftover named.
    for dry in [Some("--dry-run"), Some("--dry-run=lookup"), None] {
        let out = run(dry);
        let err = stderr(&out);
        assert_eq!(code(&out), 0, "{dry:?}: {err}");
        assert!(
            err.contains("SECURID_BASE_URL is set but not used: profile test sets base-url"),
            "{dry:?}: {err}"
        );
        // The summary names the tenant as every output records it, port included.
        assert!(
            err.contains(&format!("tenant: http://127.0.0.1:{port}")),
            "{dry:?}: {err}"
        );
    }
    assert_eq!(scene.tenant.stats().applied_total("ds100-clear-pin"), 7);
    assert_eq!(sink.connections(), 0, "the leftover tenant was contacted");
}

#[test]
fn a_leftover_token_never_replaces_a_profiles_key_file() {
    let dir = temp_dir();
    let key = dir.path().join("admin.key");
    let tenant = Tenant::start(&["--write-key-file", key.to_str().unwrap()]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let config = config_file(
        dir.path(),
        &format!("[profiles.k]\nkey-file = \"{}\"\nrate = 0\n", key.display()),
    );
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--force", "--profile", "k", "--config"])
        .arg(&config)
        .env("SECURID_TOKEN", "leftover-token-of-another-tenant")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    assert!(
        err.contains("SECURID_TOKEN is set but not used: credentials of another kind win (key-file from the profile)"),
        "{err}"
    );
    assert_eq!(tenant.stats().applied_total("ds100-clear-pin"), 7);
}

#[test]
fn mock_wins_over_a_leftover_tenant_and_token_and_says_so() {
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--mock", "--force", "--rate", "0"])
        .env("SECURID_BASE_URL", "https://acme.access.securid.com")
        .env("SECURID_TOKEN", "leftover")
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 0, "{err}");
    for var in ["SECURID_BASE_URL", "SECURID_TOKEN"] {
        assert!(
            err.contains(&format!("{var} is set but not used: --mock")),
            "{err}"
        );
    }
    // Typed, the clash is still refused.
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--mock", "--base-url", "https://acme.access.securid.com"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
}

/// A dry run of `input` with profile `p` of the config file `config`.
fn dry_run_with_profile_p(input: &Path, config: &Path) -> std::process::Output {
    bin()
        .arg("ds100-clear-pin")
        .arg(input)
        .args(["--dry-run", "--profile", "p", "--config"])
        .arg(config)
        .output()
        .unwrap()
}

#[test]
fn a_toml_error_in_the_config_file_keeps_its_line_and_caret() {
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let config = config_file(dir.path(), "[profiles.p]\nrate = 5\nconfirm = tru\n");
    let out = dry_run_with_profile_p(&input, &config);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("line 3, column 11"), "{err}");
    assert!(err.contains("\n3 | confirm = tru\n"), "{err}");
    assert!(err.contains("|           ^"), "{err}");
}

#[test]
fn a_proxy_password_without_a_scheme_is_never_printed_or_written() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let summary = scene.dir.path().join("summary.json");
    // Loopback is never proxied, so the run goes ahead; --limit leaves
    // rows undone, so the carry-on command is printed and recorded.
    for proxy in [
        &["--proxy", "u:hunter2@127.0.0.1:3128"][..],
        &["--proxy=u:hunter2@127.0.0.1:3128"],
    ] {
        let out = run_op(
            &scene.tenant,
            "ds100-clear-pin",
            &input,
            &[
                &["--limit", "1", "--summary-json", summary.to_str().unwrap()],
                proxy,
            ]
            .concat(),
        );
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{err}");
        assert!(err.contains("carry on"), "{err}");
        let json = std::fs::read_to_string(&summary).unwrap();
        for text in [&err, &json] {
            assert!(!text.contains("hunter2"), "{text}");
        }
        assert!(json.contains("***@127.0.0.1:3128"), "{json}");
    }
    // A malformed one, typed or in the environment, in an error message.
    let out = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["--proxy", "u:hunter2@[bad"],
    );
    assert_eq!(code(&out), 1);
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--base-url", "https://acme.access.securid.com", "--force"])
        .env("SECURID_TOKEN", "t")
        .env("HTTPS_PROXY", "u:hunter2@[bad")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("HTTPS_PROXY"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("hunter2"), "{}", stderr(&out));
    // A profile keeps no proxy password, scheme or not.
    let config = config_file(
        scene.dir.path(),
        "[profiles.p]\nproxy = \"u:hunter2@proxy.corp:3128\"\n",
    );
    let out = dry_run_with_profile_p(&input, &config);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("config.toml:2: profile p: proxy carries"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn a_profile_value_of_the_wrong_type_names_file_line_and_key() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    for (line, expected) in [
        ("confirm = \"true\"", "true or false"),
        ("confirm = \"yes\"", "true or false"),
        ("confirm = 1", "true or false"),
        ("verify = \"yes\"", "true or false"),
        ("quiet = 0", "true or false"),
        ("rate = true", "a string or a number"),
        ("concurrency = false", "a string or a number"),
        ("verbose = \"x\"", "a whole number"),
    ] {
        let key = line.split(' ').next().unwrap();
        let config = config_file(
            scene.dir.path(),
            &format!(
                "[profiles.prod]\nbase-url = \"{}\"\n{line}\n",
                scene.tenant.url()
            ),
        );
        let out = bin()
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(["--force", "--profile", "prod", "--config"])
            .arg(&config)
            .env("SECURID_TOKEN", scene.tenant.token())
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{line}: {err}");
        assert!(
            err.contains(&format!("config.toml:3: profile prod: {key} = ")),
            "{line}: {err}"
        );
        assert!(err.contains(expected), "{line}: {err}");
    }
    assert_eq!(scene.tenant.stats().applied_total("ds100-clear-pin"), 0);
}

#[test]
fn a_config_file_or_directory_others_may_write_is_refused() {
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let config = config_file(dir.path(), "[profiles.p]\nrate = 5\n");
    let run = || {
        bin()
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(["--dry-run", "--force", "--profile", "p", "--config"])
            .arg(&config)
            .output()
            .unwrap()
    };
    assert_eq!(code(&run()), 0, "{}", stderr(&run()));
    for (path, mode, shown) in [
        (config.clone(), 0o620, "its group (mode 620)"),
        (config.clone(), 0o602, "others (mode 602)"),
        (
            config.parent().unwrap().to_owned(),
            0o777,
            "group and others (mode 777)",
        ),
    ] {
        set_mode(&path, mode);
        let out = run();
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{err}");
        assert!(err.contains(&format!("writable by {shown}")), "{err}");
        assert!(err.contains("chmod go-w"), "{err}");
        set_mode(&path, if path == config { 0o600 } else { 0o700 });
    }
}

/// A loopback HTTP server answering every request with `status` and `body`.
fn answering(status: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    // The thread ends with the test process; it holds nothing else.
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten().take(20) {
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(500)));
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    port
}

#[test]
fn text_from_outside_reaches_the_terminal_escaped() {
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let config = config_file(
        dir.path(),
        "[profiles.ok]\nrate = 5\n\n[profiles.bad]\n\"pr\\u001b[31mRED\\u202e\" = 1\n",
    );
    let raw = |out: &std::process::Output| {
        let err = stderr(out);
        assert!(
            !err.contains('\u{1b}') && !err.contains('\u{202e}'),
            "{err:?}"
        );
        err
    };
    // A profile name and a profile key.
    for name in ["pr\u{1b}[31mRED\u{202e}\u{200b}", "bad"] {
        let out = bin()
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(["--dry-run", "--force", "--profile", name, "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(code(&out), 1);
        assert!(raw(&out).contains("pr\\u{1b}[31mRED\\u{202e}"));
    }
    let listing = bin()
        .args(["profiles", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&listing.stdout);
    assert!(
        !text.contains('\u{1b}') && text.contains("\\u{1b}"),
        "{text:?}"
    );
    // An authorization server's own words.
    let port = answering(
        "400 Bad Request",
        r#"{"error":"invalid_client","error_description":"ok\u001b]0;owned\u0007 \u202egnp.exe"}"#,
    );
    let client = dir.path().join("client");
    let tenant = Tenant::start(&["--write-oauth-client", client.to_str().unwrap()]);
    let about: serde_json::Value =
        serde_json::from_slice(&std::fs::read(client.join("client.json")).unwrap()).unwrap();
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--force", "--base-url", &tenant.url(), "--client-key"])
        .arg(client.join("client-key.jwk"))
        .args(["--client-id", about["clientId"].as_str().unwrap()])
        .args(["--token-url", &format!("http://127.0.0.1:{port}/token")])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(raw(&out).contains("\\u{202e}gnp.exe"), "{}", stderr(&out));
}
