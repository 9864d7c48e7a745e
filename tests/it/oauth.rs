//! OAuth API clients end to end: the real binary signs client assertions
//! with an RSA or EC key, gets access tokens from the simulated tenant's
//! authorization server, renews them as they expire, asks for exactly the
//! permissions of its operation, stops before any row when the token
//! endpoint refuses, refuses mixed kinds of credentials, and shows no
//! secret anywhere.

use std::path::{Path, PathBuf};

use crate::fixture::*;

/// An OAuth client the tenant generated: its ID, key file and issuer.
pub(crate) struct Client {
    pub(crate) id: String,
    pub(crate) key: PathBuf,
    pub(crate) issuer: String,
}

/// A tenant acting as the authorization server of a client it generated
/// with `key_type` (`rsa` or `ec`), with more mock flags.
pub(crate) fn tenant_with_client(dir: &Path, key_type: &str, flags: &[&str]) -> (Tenant, Client) {
    tenant_with_client_as(dir, key_type, flags, None)
}

/// [`tenant_with_client`], its authorization server hostile in `mode`.
pub(crate) fn tenant_with_client_as(
    dir: &Path,
    key_type: &str,
    flags: &[&str],
    mode: Option<securid_bulk::mock::HostileOAuth>,
) -> (Tenant, Client) {
    let client_dir = dir.join(format!("client-{key_type}"));
    let client_arg = client_dir.to_str().unwrap().to_owned();
    let mut all = vec!["--write-oauth-client", &client_arg, "--key-type", key_type];
    all.extend_from_slice(flags);
    let tenant = Tenant::start_with(&all, |options| options.hostile_oauth = mode);
    let about: serde_json::Value =
        serde_json::from_slice(&std::fs::read(client_dir.join("client.json")).unwrap()).unwrap();
    let client = Client {
        id: about["clientId"].as_str().unwrap().to_owned(),
        key: client_dir.join("client-key.jwk"),
        issuer: about["issuer"].as_str().unwrap().to_owned(),
    };
    assert_eq!(client.issuer, format!("{}/oauth", tenant.url()));
    (tenant, client)
}

/// The binary running `op` on `input` with the client's three flags and
/// the tenant's REST URL as the console shows it (no `/v1`).
pub(crate) fn run_oauth(
    tenant: &Tenant,
    client: &Client,
    op: &str,
    input: &Path,
    extra: &[&str],
) -> std::process::Output {
    let rest_url = format!("{}/AdminInterface/restapi", tenant.url());
    bin()
        .arg(op)
        .arg(input)
        .args(["--base-url", &rest_url, "--client-id", &client.id])
        .arg("--client-key")
        .arg(&client.key)
        .args(["--issuer", &client.issuer, "--force", "--yes"])
        .args(extra)
        .output()
        .unwrap()
}

fn summary(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Every string a leak would show: the key's private members, and the
/// prefixes of an assertion (a JWT) and of the tenant's access tokens.
fn secrets(client: &Client) -> Vec<String> {
    let jwk: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&client.key).unwrap()).unwrap();
    let mut found: Vec<String> = ["d", "p", "q", "dp", "dq", "qi"]
        .iter()
        .filter_map(|m| jwk[*m].as_str())
        .map(|v| v[..24].to_owned())
        .collect();
    found.extend(["eyJ".to_owned(), "mock-at-".to_owned()]);
    found
}

fn assert_no_secret(client: &Client, texts: &[String]) {
    for secret in secrets(client) {
        for text in texts {
            assert!(!text.contains(&secret), "{secret:?} leaked: {text}");
        }
    }
}

/// Everything a run wrote or printed.
fn everything(out: &std::process::Output, dir: &Path) -> Vec<String> {
    let mut texts = vec![
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(out),
    ];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_file() {
            texts.push(String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned());
        }
    }
    texts
}

#[test]
fn every_operation_runs_with_an_rsa_and_an_ec_client_across_token_expiries() {
    for key_type in ["rsa", "ec"] {
        for op in operations() {
            let dir = temp_dir();
            let (tenant, client) =
                tenant_with_client(dir.path(), key_type, &["--access-token-lifetime", "1"]);
            let input = copy_sample(dir.path(), &format!("{op}.csv"));
            let summary_path = dir.path().join("summary.json");
            let summary_arg = summary_path.to_str().unwrap();
            // At 2 rows a second, a sample of two or more rows outlives a
            // token renewed half a second before its one-second life ends.
            let extra = ["--rate", "2", "-j", "1", "--summary-json", summary_arg];
            let out = run_oauth(&tenant, &client, op, &input, &extra);
            assert_exit(&out, 0);
            let rows = results(&results_path(&input));
            assert!(rows.len() >= 2, "{op}: the sample has two rows or more");
            for row in &rows {
                assert_eq!(row["outcome"], "ok", "{key_type} {op}: {row:?}");
                let key = &row[ledger_column(op)];
                assert_eq!(tenant.stats().applied_count(op, key), 1, "{op}: {row:?}");
            }
            let summary = summary(&summary_path);
            let obtained = summary["access_tokens_obtained"].as_u64().unwrap_or(0);
            assert!(obtained >= 2, "{key_type} {op}: {summary}");
            assert_eq!(summary["credential_id"], client.id.as_str(), "{summary}");
            let oauth = tenant.stats().oauth;
            assert!(
                oauth.refused.is_empty(),
                "never a replayed or expired assertion: {oauth:?}"
            );
            assert_eq!(oauth.tokens_issued, obtained, "{key_type} {op}");
            assert_eq!(oauth.discovery_requests, 1);
            assert!(stderr(&out).contains("access tokens obtained from the token endpoint"));
            assert_no_secret(&client, &everything(&out, dir.path()));
        }
    }
}

#[test]
fn a_run_asks_for_exactly_its_operations_permissions() {
    let dir = temp_dir();
    // Granted only what ds100-delete and its lookups need.
    let granted = "rsa.authenticator.ds100.delete rsa.user.read rsa.authenticator.ds100.read";
    let (tenant, client) = tenant_with_client(dir.path(), "ec", &["--oauth-permissions", granted]);
    let input = copy_sample(dir.path(), "ds100-delete-by-device.csv");
    assert_exit(&run_oauth(&tenant, &client, "ds100-delete", &input, &[]), 0);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_oauth(&tenant, &client, "ds100-clear-pin", &input, &[]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(err.contains("invalid_scope"), "{err}");
    assert!(
        err.contains("rsa.authenticator.ds100.manage"),
        "names the permission: {err}"
    );
    assert!(err.contains("not granted to this client"), "{err}");
    assert!(!results_path(&input).exists(), "stopped before any row");
    assert_eq!(tenant.stats().applied_total("ds100-clear-pin"), 0);
    assert_no_secret(&client, &everything(&out, dir.path()));
}

#[test]
fn a_token_without_the_permission_is_refused_per_row_naming_it() {
    let dir = temp_dir();
    let (tenant, client) = tenant_with_client(dir.path(), "rsa", &[]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_oauth(
        &tenant,
        &client,
        "ds100-clear-pin",
        &input,
        &["--scope", "rsa.user.read"],
    );
    assert_exit(&out, 1);
    let rows = results(&results_path(&input));
    assert_eq!(rows[0]["http_status"], "403", "{:?}", rows[0]);
    assert_eq!(rows[0]["attempts"], "1", "a new token brings no permission");
    assert_eq!(
        tenant.stats().oauth.tokens_issued,
        1,
        "a 403 renews no access token"
    );
    let message = &rows[0]["message"];
    assert!(
        message.contains("lacks permission rsa.authenticator.ds100.manage"),
        "{message}"
    );
    assert!(
        message.contains("the OAuth client's token lacks permission")
            && !message.contains("Help Desk"),
        "names the permission, not a role: {message}"
    );
    let err = stderr(&out);
    assert!(err.contains("stopped"), "the breaker stops the run: {err}");
    assert!(
        err.contains("the OAuth client lacks a permission ds100-clear-pin needs")
            && !err.contains("Help Desk"),
        "{err}"
    );
    assert_eq!(tenant.stats().applied_total("ds100-clear-pin"), 0);
}

#[test]
fn verify_with_a_scope_lacking_a_read_back_permission_is_refused_up_front() {
    let dir = temp_dir();
    let (tenant, client) = tenant_with_client(dir.path(), "rsa", &[]);
    let input = copy_sample(dir.path(), "user-delete.csv");
    let scope = ["--scope", "rsa.user.delete", "--verify"];
    let out = run_oauth(&tenant, &client, "user-delete", &input, &scope);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("--verify") && err.contains("--scope lacks the permission"),
        "{err}"
    );
    assert!(err.contains("rsa.user.read"), "{err}");
    assert_eq!(tenant.stats().oauth.tokens_issued, 0, "nothing asked for");
    assert!(!results_path(&input).exists());
}

#[test]
fn a_wrong_issuer_stops_the_run_before_any_row() {
    let dir = temp_dir();
    let (tenant, client) = tenant_with_client(dir.path(), "rsa", &[]);
    let (other, _) = tenant_with_client(&dir.path().join("other"), "rsa", &[]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let wrong_path = Client {
        issuer: format!("{}/elsewhere", tenant.url()),
        ..client
    };
    let out = run_oauth(&tenant, &wrong_path, "ds100-clear-pin", &input, &[]);
    assert_exit(&out, 1);
    // The tenant's access host refuses the token request as it refuses any
    // request without a bearer token.
    let err = stderr(&out);
    assert!(err.contains("HTTP 403"), "{err}");
    assert!(
        err.contains("check that --issuer is the client's Issuer URL"),
        "{err}"
    );
    let other_tenant = Client {
        issuer: format!("{}/oauth", other.url()),
        ..wrong_path
    };
    let out = run_oauth(&tenant, &other_tenant, "ds100-clear-pin", &input, &[]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("HTTP 401") && err.contains("invalid_client"),
        "{err}"
    );
    assert!(
        err.contains("--client-id") && err.contains("clock"),
        "names the causes: {err}"
    );
    let endpoints = tenant.stats().by_endpoint;
    assert!(
        endpoints.keys().all(|e| e == "other"),
        "no row was sent: {endpoints:?}"
    );
    assert!(!results_path(&input).exists());
    assert_eq!(other.stats().oauth.refused.get("unknown-client"), Some(&1));
}

#[test]
fn the_token_endpoint_is_retried_found_without_discovery_or_given() {
    let dir = temp_dir();
    let flags = ["--token-endpoint-failures", "2", "--no-discovery"];
    let (tenant, client) = tenant_with_client(dir.path(), "ec", &flags);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    assert_exit(
        &run_oauth(&tenant, &client, "ds100-clear-pin", &input, &[]),
        0,
    );
    let oauth = tenant.stats().oauth;
    assert_eq!(oauth.refused.get("unavailable"), Some(&2), "{oauth:?}");
    assert_eq!((oauth.token_requests, oauth.tokens_issued), (3, 1));
    let token_url = format!("{}/token", client.issuer);
    let given = ["--token-url", token_url.as_str()];
    assert_exit(
        &run_oauth(&tenant, &client, "ds100-clear-pin", &input, &given),
        0,
    );
    assert_eq!(
        tenant.stats().oauth.discovery_requests,
        1,
        "--token-url skips discovery"
    );
}

#[test]
fn mixed_or_incomplete_credentials_are_refused_naming_what_was_given() {
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = bin();
        cmd.arg("ds100-clear-pin").arg(&input).args(args);
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    };
    let client = [
        "--client-id",
        "c",
        "--client-key",
        "k.jwk",
        "--issuer",
        "https://a.example/oauth",
    ];
    for dry in [&[][..], &["--dry-run"][..]] {
        let args = [&["--token", "t"][..], &client, dry].concat();
        let out = run(&args, &[]);
        assert_exit(&out, 1);
        let err = stderr(&out);
        assert!(err.contains("a bearer token (--token)"), "{err}");
        assert!(
            err.contains("an OAuth client (--client-id, --client-key, --issuer)"),
            "{err}"
        );
        assert!(!err.contains(" t "), "{err}");
    }
    let env = [
        ("SECURID_KEY_FILE", "admin.key"),
        ("SECURID_CLIENT_ID", "c"),
        ("SECURID_CLIENT_KEY", "k"),
    ];
    let out = run(&["--base-url", "https://a.example"], &env);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("an admin API key file (SECURID_KEY_FILE from the environment)"),
        "{err}"
    );
    assert!(
        err.contains("SECURID_CLIENT_ID from the environment"),
        "{err}"
    );
    let out = run(&["--dry-run", "--client-id", "c"], &[]);
    assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("missing: --client-key") && err.contains("--issuer"),
        "{err}"
    );
}

#[test]
fn a_flag_credential_beats_an_oauth_client_from_the_environment() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args([
            "--base-url",
            &tenant.url(),
            "--token",
            &tenant.token(),
            "--rate",
            "0",
        ])
        .env("SECURID_CLIENT_ID", "c")
        .env("SECURID_CLIENT_KEY", dir.path().join("absent.jwk"))
        .output()
        .unwrap();
    assert_exit(&out, 0);
}

#[test]
fn mock_runs_as_the_authorization_server_of_a_given_client() {
    let dir = temp_dir();
    let (_generator, client) = tenant_with_client(dir.path(), "ec", &[]);
    let input = copy_sample(dir.path(), "sid-clear-pin.csv");
    let summary_path = dir.path().join("summary.json");
    let out = bin()
        .arg("sid-clear-pin")
        .arg(&input)
        .args(["--mock", "--client-id", &client.id, "--client-key"])
        .arg(&client.key)
        .args(["--summary-json", summary_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_exit(&out, 0);
    assert!(results(&results_path(&input))
        .iter()
        .all(|r| r["outcome"] == "ok"));
    assert_eq!(summary(&summary_path)["access_tokens_obtained"], 1);
}

#[test]
fn a_pkcs8_pem_client_key_works_and_a_readable_one_draws_the_warning() {
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING as P256};
    let dir = temp_dir();
    let pkcs8 = EcdsaKeyPair::generate(&P256).unwrap().to_pkcs8v1().unwrap();
    let key = write(
        dir.path(),
        "client.pem",
        &pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.as_ref().to_vec())),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let key_arg = key.to_str().unwrap();
    let tenant = Tenant::start(&[
        "--oauth-client-id",
        "pem-client",
        "--oauth-client-key",
        key_arg,
    ]);
    let client = Client {
        id: "pem-client".into(),
        key: key.clone(),
        issuer: format!("{}/oauth", tenant.url()),
    };
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_oauth(&tenant, &client, "ds100-clear-pin", &input, &[]);
    assert_exit(&out, 0);
    #[cfg(unix)]
    assert!(
        stderr(&out).contains("is readable by group or others; chmod 600"),
        "{}",
        stderr(&out)
    );
    let texts = everything(&out, dir.path());
    let key_line = std::fs::read_to_string(&key)
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_owned();
    for text in texts.iter().filter(|t| !t.contains("BEGIN PRIVATE KEY")) {
        assert!(!text.contains(&key_line), "key leaked: {text}");
        assert!(
            !text.contains("mock-at-") && !text.contains("eyJ"),
            "{text}"
        );
    }
}

#[test]
fn operations_lists_each_permission() {
    let out = bin().arg("operations").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for op in securid_bulk::ops::CATALOG {
        assert!(
            text.contains(&format!("permission: {}", op.permission)),
            "{text}"
        );
    }
    assert!(text.contains("(permission rsa.user.read)"), "{text}");
}

#[test]
fn a_client_refused_mid_run_is_not_asked_again_row_after_row() {
    let dir = temp_dir();
    let flags = [
        "--access-token-lifetime",
        "1",
        "--token-endpoint-refuse-after",
        "1",
    ];
    let (tenant, client) = tenant_with_client(dir.path(), "rsa", &flags);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_oauth(
        &tenant,
        &client,
        "ds100-clear-pin",
        &input,
        &["--rate", "2", "-j", "1"],
    );
    assert_ne!(code(&out), 0);
    assert_ne!(code(&out), 101, "no panic: {}", stderr(&out));
    let rows = results(&results_path(&input));
    let failed: Vec<&Row> = rows.iter().filter(|r| r["outcome"] == "failed").collect();
    assert!(!failed.is_empty(), "{rows:?}");
    for row in &failed {
        assert!(
            row["message"].contains("cannot get a bearer token"),
            "{row:?}"
        );
        assert_eq!(
            row["attempts"], "0",
            "nothing sent without a token: {row:?}"
        );
    }
    assert!(
        failed
            .iter()
            .any(|r| r["message"].contains("not asked again")),
        "{failed:?}"
    );
    let oauth = tenant.stats().oauth;
    assert_eq!(
        oauth.token_requests, 2,
        "one refusal, then no more asking: {oauth:?}"
    );
    assert_eq!(oauth.refused.get("client-gone"), Some(&1));
    assert_no_secret(&client, &everything(&out, dir.path()));
}

/// A token endpoint on loopback: the first request gets `token`, living one
/// second; every later one a 503 asking to come back in 30 s. Counts them.
fn stalling_token_endpoint(
    token: &str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (counted, token) = (requests.clone(), token.to_owned());
    // The thread ends with the test process; it holds nothing else.
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(20) {
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                let lower = line.to_ascii_lowercase();
                if let Some(value) = lower.strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = match counted.fetch_add(1, Ordering::SeqCst) {
                0 => {
                    let json = format!(r#"{{"access_token":"{token}","expires_in":1}}"#);
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{json}", json.len())
                }
                _ => "HTTP/1.1 503 Service Unavailable\r\nretry-after: 30\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
            };
            let _ = reader.get_mut().write_all(answer.as_bytes());
        }
    });
    (url, requests)
}

#[test]
fn ctrl_c_ends_a_token_renewal_waiting_on_the_endpoints_retries() {
    use std::sync::atomic::Ordering;
    let dir = temp_dir();
    let (tenant, client) = tenant_with_client(dir.path(), "ec", &["--static-token", "tok-1"]);
    let (token_url, requests) = stalling_token_endpoint("tok-1");
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("securid-bulk"))
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--base-url", &tenant.url(), "--client-id", &client.id])
        .arg("--client-key")
        .arg(&client.key)
        .args(["--token-url", &token_url, "--rate", "1", "-j", "1", "-q"])
        .env_remove("SECURID_TOKEN")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while requests.load(Ordering::SeqCst) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        requests.load(Ordering::SeqCst),
        2,
        "the renewal was refused once"
    );
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (exit, text) = finish(child);
    assert_eq!(exit, Some(130), "{text}");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        2,
        "no token request after the halt"
    );
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), 7, "every row accounted for");
    let done = rows.iter().filter(|r| r["outcome"] == "ok").count();
    assert!(done >= 1, "{rows:?}");
    for row in rows.iter().filter(|r| r["outcome"] != "ok") {
        assert_eq!(row["outcome"], "not_attempted", "{row:?}");
        assert_eq!(row["attempts"], "0", "{row:?}");
        assert!(row["message"].contains("interrupted"), "{row:?}");
    }
    assert_eq!(tenant.stats().applied_total("ds100-clear-pin"), done as u64);
}

#[test]
fn an_offline_dry_run_loads_the_client_key_and_sends_nothing() {
    let dir = temp_dir();
    let (tenant, client) = tenant_with_client(dir.path(), "rsa", &[]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let dry_run = |key: &Path| {
        bin()
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(["--dry-run", "--force", "--client-id", &client.id])
            .arg("--client-key")
            .arg(key)
            .args(["--issuer", &client.issuer])
            .output()
            .unwrap()
    };
    let missing = dir.path().join("nonexistent.jwk");
    let out = dry_run(&missing);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("nonexistent.jwk"), "{}", stderr(&out));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&client.key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = dry_run(&client.key);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("is readable by group or others; chmod 600"),
        "{}",
        stderr(&out)
    );
    let oauth = tenant.stats().oauth;
    assert_eq!((oauth.discovery_requests, oauth.token_requests), (0, 0));
}
