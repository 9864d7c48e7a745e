//! Authentication end to end: key files signed into RS256 tokens the
//! simulated tenant verifies, refresh across expiries, refusals reported
//! clearly, and no secret in anything the tool writes.

use std::path::{Path, PathBuf};

use crate::fixture::*;
use securid_bulk::auth::{mint_jwt, KeyFile};

/// A tenant that verifies tokens against a key file it generated.
fn tenant_with_key(dir: &Path, flags: &[&str]) -> (Tenant, PathBuf) {
    let key = dir.join("admin.key");
    let key_arg = key.to_str().unwrap().to_owned();
    let mut all = vec!["--write-key-file", key_arg.as_str()];
    all.extend_from_slice(flags);
    (Tenant::start(&all), key)
}

fn run_with_key(input: &Path, key: &Path, extra: &[&str]) -> std::process::Output {
    bin()
        .arg("ds100-clear-pin")
        .arg(input)
        .arg("--key-file")
        .arg(key)
        .args(["--rate", "0", "--force"])
        .args(extra)
        .output()
        .unwrap()
}

fn private_key_lines(key: &Path) -> Vec<String> {
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(key).unwrap()).unwrap();
    json["accessKey"]
        .as_str()
        .unwrap()
        .replace("\\n", "\n")
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 16)
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_key_file_run_succeeds_and_derives_the_tenant_from_the_file() {
    let dir = temp_dir();
    let (tenant, key) = tenant_with_key(dir.path(), &[]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let summary = dir.path().join("summary.json");
    let out = run_with_key(&input, &key, &["--summary-json", summary.to_str().unwrap()]);
    assert_exit(&out, 0);
    let rows = results(&results_path(&input));
    assert!(rows.iter().all(|r| r["outcome"] == "ok"));
    let stats = tenant.stats();
    assert_eq!(stats.status_count(403), 0);
    assert_eq!(stats.applied_total("ds100-clear-pin"), rows.len() as u64);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(summary).unwrap()).unwrap();
    assert_eq!(summary["tokens_signed"], 1);
}

#[test]
fn short_lived_tokens_are_renewed_across_several_expiries() {
    let dir = temp_dir();
    let (tenant, key) = tenant_with_key(dir.path(), &[]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let summary = dir.path().join("summary.json");
    // Seven rows at 1 request/s take at least six seconds: three lifetimes.
    let out = run_with_key(
        &input,
        &key,
        &[
            "--token-lifetime",
            "2",
            "--rate",
            "1",
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    );
    assert_exit(&out, 0);
    assert!(results(&results_path(&input))
        .iter()
        .all(|r| r["outcome"] == "ok"));
    assert_eq!(
        tenant.stats().status_count(403),
        0,
        "no token was used after it expired"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(summary).unwrap()).unwrap();
    assert!(summary["tokens_signed"].as_u64().unwrap() >= 3, "{summary}");
}

/// Runs one row with the given credentials against `tenant` and returns the
/// row's result.
fn one_row_with(
    tenant: &Tenant,
    dir: &Path,
    creds: &[&str],
) -> std::collections::HashMap<String, String> {
    let input = write(
        dir,
        "one.csv",
        "userId,tokenSerialNumber\n87927fb7-e185-4c33-c7e3-8e077675973c,014010008038\n",
    );
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--base-url", &tenant.url(), "--rate", "0", "--force"])
        .args(creds)
        .output()
        .unwrap();
    assert_ne!(code(&out), 0, "{}", stderr(&out));
    assert_ne!(code(&out), 101, "no panic: {}", stderr(&out));
    results(&results_path(&input)).remove(0)
}

fn assert_refused(row: &std::collections::HashMap<String, String>) {
    assert_eq!(row["outcome"], "failed", "{row:?}");
    assert_eq!(row["http_status"], "403", "{row:?}");
    assert!(row["message"].contains("not authorised"), "{row:?}");
}

#[test]
fn a_key_the_tenant_does_not_know_is_refused_and_reported() {
    let dir = temp_dir();
    let (tenant, _) = tenant_with_key(dir.path(), &[]);
    let other_dir = temp_dir();
    let (_other, other_key) = tenant_with_key(other_dir.path(), &[]);
    // Another tenant's key, but naming this tenant: only this tenant is
    // ever sent its tokens, and it does not know the key.
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&other_key).unwrap()).unwrap();
    json["adminRestApiUrl"] = format!("{}/AdminInterface/restapi/v1", tenant.url()).into();
    std::fs::write(&other_key, json.to_string()).unwrap();
    let row = one_row_with(
        &tenant,
        dir.path(),
        &["--key-file", other_key.to_str().unwrap()],
    );
    assert_refused(&row);
    assert_eq!(
        row["attempts"], "2",
        "one fresh token and one retry, not a loop"
    );
    assert_eq!(tenant.stats().applied_total("ds100-clear-pin"), 0);
}

#[test]
fn a_wrong_audience_is_refused() {
    let dir = temp_dir();
    let (tenant, key) = tenant_with_key(dir.path(), &[]);
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&key).unwrap()).unwrap();
    // Same host and port (key-file tokens go nowhere else), another path.
    json["adminRestApiUrl"] = format!("{}/other/AdminInterface/restapi/v1", tenant.url()).into();
    let edited = dir.path().join("edited.key");
    std::fs::write(&edited, json.to_string()).unwrap();
    let row = one_row_with(
        &tenant,
        dir.path(),
        &["--key-file", edited.to_str().unwrap()],
    );
    assert_refused(&row);
}

#[test]
fn an_expired_token_is_refused() {
    let dir = temp_dir();
    let (tenant, key) = tenant_with_key(dir.path(), &[]);
    let key = KeyFile::load(&key).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expired = mint_jwt(&key, now - 7200, std::time::Duration::from_secs(600)).unwrap();
    let row = one_row_with(&tenant, dir.path(), &["--token", expired.expose()]);
    assert_refused(&row);
    assert_eq!(row["attempts"], "1", "a fixed token cannot be renewed");
}

#[test]
fn a_token_signed_with_another_algorithm_is_refused() {
    let dir = temp_dir();
    let (tenant, key) = tenant_with_key(dir.path(), &[]);
    let key = KeyFile::load(&key).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "sub": key.access_id, "aud": key.admin_rest_api_url, "iat": now, "exp": now + 600,
    });
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"guessable"),
    )
    .unwrap();
    let row = one_row_with(&tenant, dir.path(), &["--token", &hs256]);
    assert_refused(&row);
}

/// Everything the tool wrote for a run: stdout, stderr, and every file it
/// created in `dir` other than the key file.
fn everything_written(out: &std::process::Output, dir: &Path, key: &Path) -> String {
    let mut all = String::from_utf8_lossy(&out.stdout).into_owned();
    all.push_str(&String::from_utf8_lossy(&out.stderr));
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path != key && path.is_file() {
            all.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
        }
    }
    all
}

#[test]
fn no_token_or_key_line_appears_in_anything_the_tool_writes() {
    let dir = temp_dir();
    let (tenant, key) = tenant_with_key(dir.path(), &["--fail-rate", "0.3", "--fault-seed", "3"]);
    let input = copy_sample(dir.path(), "ds100-clear-pin-bad.csv");
    let summary = dir.path().join("summary.json");
    let out = run_with_key(&input, &key, &["--summary-json", summary.to_str().unwrap()]);
    assert_ne!(code(&out), 101);
    let written = everything_written(&out, dir.path(), &key);
    assert!(
        written.contains("pinSet=false"),
        "the run did produce results"
    );
    assert!(!written.contains("eyJ"), "a JWT leaked");
    for line in private_key_lines(&key) {
        assert!(!written.contains(&line), "a key line leaked");
    }

    // A static token, refused by the tenant, is not echoed either.
    let secret = "s3cr3t-static-token-value";
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args([
            "--base-url",
            &tenant.url(),
            "--rate",
            "0",
            "--force",
            "--token",
            secret,
        ])
        .output()
        .unwrap();
    assert!(everything_written(&out, dir.path(), &key).contains("403"));
    assert!(!everything_written(&out, dir.path(), &key).contains(secret));
}

#[test]
fn key_file_errors_name_the_file_and_never_show_the_key() {
    let dir = temp_dir();
    let (_tenant, key) = tenant_with_key(dir.path(), &[]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let lines = private_key_lines(&key);

    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&key).unwrap()).unwrap();
    json.as_object_mut().unwrap().remove("accessID");
    let missing_field = write(dir.path(), "missing.key", &json.to_string());
    let pem_only = write(dir.path(), "pem.key", &lines.join("\n"));
    let broken = write(
        dir.path(),
        "broken.key",
        &std::fs::read_to_string(&key)
            .unwrap()
            .replace(&lines[3], "AAAA"),
    );
    for (file, needle) in [
        (missing_field, "accessID"),
        (pem_only, "not valid JSON"),
        (broken, "not a usable RSA private key"),
        (dir.path().join("absent.key"), "does not exist"),
    ] {
        let out = run_with_key(&input, &file, &[]);
        assert_eq!(code(&out), 1, "{file:?}");
        let err = stderr(&out);
        assert!(
            err.contains(file.file_name().unwrap().to_str().unwrap()),
            "{err}"
        );
        assert!(err.contains(needle), "{err}");
        for line in &lines {
            assert!(!err.contains(line.as_str()), "key leaked: {err}");
        }
    }
}

#[test]
fn a_flag_beats_the_environment_and_two_flags_conflict() {
    let dir = temp_dir();
    let (tenant, key) = tenant_with_key(dir.path(), &[]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args([
            "--base-url",
            &tenant.url(),
            "--rate",
            "0",
            "--force",
            "--token",
            &tenant.token(),
        ])
        .env("SECURID_KEY_FILE", dir.path().join("absent.key"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "the --token flag wins: {}", stderr(&out));

    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--token", "t", "--key-file"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains("keep one"), "{}", stderr(&out));

    let out = bin().arg("ds100-clear-pin").arg(&input).output().unwrap();
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    for way in ["--key-file", "SECURID_KEY_FILE", "--token", "SECURID_TOKEN"] {
        assert!(err.contains(way), "{err}");
    }
}

#[test]
fn a_dry_run_refuses_a_token_and_a_key_file_like_a_real_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let key = dir.path().join("admin.key");
    std::fs::write(&key, "{}").unwrap();
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--dry-run", "--token", "t", "--key-file"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stderr(&out).contains("keep one"), "{}", stderr(&out));
    assert!(!dir.path().join("ds100-clear-pin.results.csv").exists());
}

#[test]
fn key_file_tokens_go_only_to_the_keys_own_tenant() {
    let dir = temp_dir();
    let (tenant, key) = tenant_with_key(dir.path(), &[]);
    let sink = Sink::start();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let elsewhere = format!("127.0.0.1:{}", sink.port);
    let out = run_with_key(
        &input,
        &key,
        &["--base-url", &format!("http://{elsewhere}")],
    );
    assert_exit(&out, 1);
    let own = tenant.url().trim_start_matches("http://").to_owned();
    let text = stderr(&out);
    assert!(text.contains(&own), "names the key's tenant: {text}");
    assert!(text.contains(&elsewhere), "names the other host: {text}");
    assert_eq!(sink.connections(), 0, "nothing went to the other host");
    assert_eq!(tenant.stats().requests, 0);
    assert!(!results_path(&input).exists());
}

#[test]
fn an_offline_dry_run_checks_the_key_file_like_a_real_run() {
    let dir = temp_dir();
    let (tenant, key) = tenant_with_key(dir.path(), &[]);
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let elsewhere = "https://other.example";
    let foreign = run_with_key(&input, &key, &["--base-url", elsewhere, "--dry-run"]);
    assert_exit(&foreign, 1);
    assert!(
        stderr(&foreign).contains("other.example"),
        "{}",
        stderr(&foreign)
    );
    let malformed = write(dir.path(), "malformed.key", "{\"accessID\": 3");
    let out = run_with_key(&input, &malformed, &["--dry-run"]);
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("malformed.key"), "{}", stderr(&out));
    let good = run_with_key(&input, &key, &["--dry-run"]);
    assert_exit(&good, 0);
    assert_eq!(tenant.stats().requests, 0, "a dry run sends nothing");
}
