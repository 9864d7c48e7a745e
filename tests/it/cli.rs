//! The command line as a newcomer meets it: help texts (snapshots, so a
//! change to them is reviewed) and their headings, the short help with no
//! arguments, usage errors that echo the admin's own words, standard
//! input, the delimiter hint, profiles and their precedence, JSON Lines
//! results, the request log, and `--resume` refusing another operation's
//! results.

use std::path::Path;

use crate::fixture::{bin, code, copy_sample, results, run_op, stderr, write, Scene};

/// Help rendered at a fixed width, whatever the terminal.
fn help(args: &[&str]) -> String {
    let output = bin()
        .args(args)
        .env("COLUMNS", "100")
        .output()
        .expect("runs");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    String::from_utf8(output.stdout).expect("utf-8")
}

#[test]
fn top_level_help_lists_operations_with_summaries_and_examples() {
    let text = help(&["--help"]);
    assert!(!text.contains("Flags shared by every operation"), "{text}");
    assert!(
        text.contains("Delete a user's DS100 OTP credential"),
        "{text}"
    );
    insta::assert_snapshot!("top_level_help", text);
}

#[test]
fn an_operations_help_says_what_it_does_its_columns_call_and_examples() {
    let text = help(&["ds100-delete", "--help"]);
    assert!(
        text.contains("Required columns: userId (or email or username)"),
        "{text}"
    );
    assert!(text.contains("HTTP call: DELETE"), "{text}");
    // No `=` after a variable that is not set.
    assert!(!text.contains("SECURID_BASE_URL="), "{text}");
    insta::assert_snapshot!("ds100_delete_help", text);
}

#[test]
fn mock_help_says_what_the_simulated_tenant_is_for() {
    let text = help(&["mock", "--help"]);
    assert!(text.contains("rehearse a run"), "{text}");
    insta::assert_snapshot!("mock_help", text);
}

#[test]
fn an_operations_flags_are_grouped_under_headings() {
    let text = help(&["ds100-clear-pin", "--help"]);
    let headings: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
        .collect();
    assert_eq!(
        headings,
        [
            "Examples:",
            "Arguments:",
            "Options:",
            "Input and output:",
            "Tenant and credentials:",
            "Pace:",
            "Safety:",
            "Logging:"
        ],
        "{text}"
    );
    let section = |heading: &str| -> String {
        text.split(&format!("\n{heading}:\n"))
            .nth(1)
            .expect("heading")
            .lines()
            .take_while(|l| l.is_empty() || l.starts_with(' '))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(section("Input and output").contains("--format <FORMAT>"));
    assert!(section("Tenant and credentials").contains("--key-file <FILE>"));
    assert!(section("Pace").contains("--rate <R|0|auto>"));
    assert!(section("Safety").contains("--dry-run"));
    assert!(section("Logging").contains("--verbose"));
}

#[test]
fn no_arguments_print_the_short_help_and_exit_1() {
    let output = bin().env("COLUMNS", "100").output().unwrap();
    assert_eq!(code(&output), 1);
    let text = stderr(&output);
    assert!(!text.contains("error:"), "{text}");
    assert!(text.starts_with("Bulk operations against"), "{text}");
    assert!(text.contains("Usage: securid-bulk <COMMAND>"), "{text}");
    assert!(text.contains("ds100-clear-pin  Clear the PIN"), "{text}");
}

#[test]
fn a_mistyped_operation_is_echoed_with_the_closest_first() {
    let output = bin().args(["ds100-clearpin", "in.csv"]).output().unwrap();
    assert_eq!(code(&output), 1);
    let text = stderr(&output);
    assert!(
        text.contains("unrecognized subcommand 'ds100-clearpin'"),
        "{text}"
    );
    assert!(!text.contains("[redacted]"), "{text}");
    assert!(
        text.contains("similar subcommands exist: 'ds100-clear-pin', "),
        "{text}"
    );
}

#[test]
fn dry_run_with_its_value_apart_is_told_to_use_an_equals_sign() {
    let dir = crate::fixture::temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    for args in [
        vec!["--dry-run", "lookup"],
        vec!["--dry-run", "lookup", "--mock"],
    ] {
        let output = bin()
            .current_dir(dir.path())
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(code(&output), 1);
        let text = stderr(&output);
        assert!(text.contains("write --dry-run=lookup"), "{text}");
    }
    // The input named `lookup`, before the flag, is not mistaken for it.
    let output = bin()
        .current_dir(dir.path())
        .args(["ds100-clear-pin", "--dry-run", "lookup"])
        .output()
        .unwrap();
    assert!(
        stderr(&output).contains("--dry-run=lookup"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn completions_for_an_unknown_shell_names_the_shells() {
    let output = bin().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(code(&output), 1);
    let text = stderr(&output);
    assert!(text.contains("invalid value 'tcsh'"), "{text}");
    assert!(
        text.contains("bash, elvish, fish, powershell, zsh"),
        "{text}"
    );
    assert!(!text.contains("[redacted]"), "{text}");
}

#[test]
fn without_a_config_file_profiles_point_at_the_man_page_not_the_readme() {
    let dir = crate::fixture::temp_dir();
    let output = bin()
        .arg("profiles")
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(code(&output), 0);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("securid-bulk(1)"), "{text}");
    assert!(!text.contains("README"), "{text}");
    let output = bin()
        .args(["ds100-clear-pin", "in.csv", "--profile", "prod"])
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .unwrap();
    let text = stderr(&output);
    assert!(text.contains("securid-bulk(1)"), "{text}");
    assert!(!text.contains("README"), "{text}");
}

#[test]
fn a_usage_error_has_one_error_prefix_and_a_missing_file_one_cause() {
    let output = bin()
        .args(["ds100-clear-pin", "--rate", "fast", "x.csv"])
        .output()
        .unwrap();
    let text = stderr(&output);
    assert_eq!(text.matches("error:").count(), 1, "{text}");
    let dir = crate::fixture::temp_dir();
    let missing = dir.path().join("nope.csv");
    let output = bin()
        .args(["ds100-clear-pin", "--dry-run"])
        .arg(&missing)
        .output()
        .unwrap();
    let text = stderr(&output);
    assert_eq!(code(&output), 1);
    assert_eq!(text.matches("error:").count(), 1, "{text}");
    assert_eq!(text.matches("os error 2").count(), 1, "{text}");
}

#[test]
fn a_semicolon_export_runs_as_it_is_and_a_wrong_delimiter_gets_the_hint() {
    let scene = Scene::sample();
    let input = write(
        scene.dir.path(),
        "eu.csv",
        "userId;tokenSerialNumber;ticket\n87927fb7-e185-4c33-c7e3-8e077675973c;014010008038;INC-1\n",
    );
    let output = bin()
        .args(["ds100-clear-pin", "--dry-run"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("columns separated by ';'"),
        "{}",
        stderr(&output)
    );
    let output = bin()
        .args([
            "ds100-clear-pin",
            "--dry-run",
            "--force",
            "--delimiter",
            ",",
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("pass --delimiter ';'"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn standard_input_is_named_dash_and_carried_on_from_the_retry_file() {
    let scene = Scene::sample();
    let run = |data: Vec<u8>| {
        bin()
            .current_dir(scene.dir.path())
            // The canary holds rows back, so the run has rows to carry on
            // with (its 404s alone would not be offered a resume).
            .args(["ds100-clear-pin", "-", "--rate", "0", "--limit", "1"])
            .arg("--base-url")
            .arg(scene.tenant.url())
            .env("SECURID_TOKEN", scene.tenant.token())
            .write_stdin(data)
            .output()
            .unwrap()
    };
    let missing = run(b"serial,ticket\n014010008038,x\n".to_vec());
    assert_eq!(code(&missing), 1);
    let err = stderr(&missing);
    assert!(err.contains("-:1: missing column userId"), "{err}");
    assert!(
        !err.contains(".tmp") && !err.contains("securid-bulk-stdin"),
        "{err}"
    );
    let bad = std::fs::read(crate::fixture::sample("ds100-clear-pin-bad.csv")).unwrap();
    let failed = run(bad);
    assert_eq!(code(&failed), 2, "{}", stderr(&failed));
    let err = stderr(&failed);
    assert!(
        err.contains("ds100-clear-pin stdin.retry.csv --rate 0"),
        "carries on from the retry file: {err}"
    );
    assert!(!err.contains("securid-bulk-stdin"), "{err}");
}

#[test]
fn standard_input_is_read_and_its_spool_removed() {
    let scene = Scene::sample();
    let data = std::fs::read(crate::fixture::sample("ds100-clear-pin.csv")).unwrap();
    let tmp = scene.dir.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let output = bin()
        .current_dir(scene.dir.path())
        .args([
            "ds100-clear-pin",
            "-",
            "--rate",
            "0",
            "--base-url",
            &scene.tenant.url(),
        ])
        .env("SECURID_TOKEN", scene.tenant.token())
        .env("TMPDIR", &tmp)
        .write_stdin(data)
        .output()
        .unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let rows = results(&scene.dir.path().join("stdin.results.csv"));
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|r| r["outcome"] == "ok"));
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the spool is gone"
    );
    assert_eq!(scene.tenant.stats().applied_total("ds100-clear-pin"), 7);
}

/// A config file with a profile naming `url` and the rate, in `dir`.
fn config(dir: &Path, url: &str) -> std::path::PathBuf {
    write(
        dir,
        "config.toml",
        &format!("[profiles.test]\nbase-url = \"{url}\"\nrate = 0\nconcurrency = 2\n"),
    )
}

#[test]
fn a_token_from_the_environment_yields_to_the_whole_oauth_client_of_a_profile() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let config = write(
        scene.dir.path(),
        "config.toml",
        &format!(
            "[profiles.p]\nbase-url = \"{}\"\nrate = 0\nclient-id = \"c\"\nclient-key = \"/nonexistent.jwk\"\nissuer = \"http://127.0.0.1:9/oauth\"\ntoken-url = \"http://127.0.0.1:9/token\"\nscope = \"rsa.user.read\"\n",
            scene.tenant.url()
        ),
    );
    let out = bin()
        .args(["ds100-clear-pin", "--force", "--profile", "p", "--config"])
        .arg(&config)
        .arg(&input)
        .env("SECURID_TOKEN", scene.tenant.token())
        .output()
        .unwrap();
    // The profile was chosen by name: its client is used (and its missing
    // key stops the run), the leftover token is named and left aside.
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("/nonexistent.jwk"), "{err}");
    assert!(
        err.contains("SECURID_TOKEN is set but not used: credentials of another kind win (client-id from the profile)"),
        "{err}"
    );
    assert_eq!(scene.tenant.stats().applied_total("ds100-clear-pin"), 0);
}

#[test]
fn a_bad_profile_value_names_the_profile_file_and_line_and_verbose_counts() {
    let dir = crate::fixture::temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let run = |profile: &str| {
        let config = write(dir.path(), "config.toml", profile);
        bin()
            .args(["ds100-clear-pin", "--dry-run", "--force", "--profile", "p"])
            .arg("--config")
            .arg(&config)
            .arg(&input)
            .output()
            .unwrap()
    };
    let out = run("[profiles.p]\nconcurrency = 2\nrate = \"fast\"\n");
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("profile p in "), "{err}");
    assert!(err.contains("config.toml:3: "), "{err}");
    assert!(err.contains("'fast'") && err.contains("--rate"), "{err}");
    let out = run("[profiles.p]\nverbose = 2\n");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn profile_precedence_is_flag_then_profile_then_environment() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    // The profile names a tenant nobody serves; the flag and the
    // environment name the real one.
    let config = config(scene.dir.path(), "http://127.0.0.1:9");
    let run = |extra: &[&str], env_url: Option<&str>| {
        let mut cmd = bin();
        cmd.args([
            "ds100-clear-pin",
            "--force",
            "--max-attempts",
            "1",
            "--max-unreachable",
            "5",
        ])
        .arg(&input)
        .args(["--profile", "test", "--config"])
        .arg(&config)
        .args(extra)
        .env("SECURID_TOKEN", scene.tenant.token());
        if let Some(url) = env_url {
            cmd.env("SECURID_BASE_URL", url);
        }
        cmd.output().unwrap()
    };
    let url = scene.tenant.url();
    let by_flag = run(&["--base-url", &url], Some("http://127.0.0.1:9"));
    assert_eq!(code(&by_flag), 0, "{}", stderr(&by_flag));
    assert!(
        stderr(&by_flag).contains("profile test"),
        "{}",
        stderr(&by_flag)
    );
    // A profile chosen by name wins over the environment, and says so.
    let by_env = run(&[], Some(&url));
    assert_ne!(code(&by_env), 0, "the profile's tenant is used");
    assert!(
        stderr(&by_env)
            .contains("SECURID_BASE_URL is set but not used: profile test sets base-url"),
        "{}",
        stderr(&by_env)
    );
    let by_profile = run(&[], None);
    assert_ne!(code(&by_profile), 0, "the profile's tenant is used");
    // --mock leaves the profile's tenant aside instead of clashing with it.
    let mock = bin()
        .args([
            "ds100-clear-pin",
            "--force",
            "--mock",
            "--profile",
            "test",
            "--config",
        ])
        .arg(&config)
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(code(&mock), 0, "{}", stderr(&mock));
    assert_eq!(scene.tenant.stats().applied_total("ds100-clear-pin"), 7);
}

#[test]
fn a_token_in_a_profile_is_refused_and_profiles_list_hosts_only() {
    let dir = crate::fixture::temp_dir();
    let config = write(
        dir.path(),
        "config.toml",
        "[profiles.prod]\nbase-url = \"https://acme.access.securid.com\"\nkey-file = \"/keys/admin.key\"\n\n[profiles.bad]\ntoken = \"s3cret\"\n",
    );
    let output = bin()
        .arg("profiles")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        listing.contains("prod  acme.access.securid.com"),
        "{listing}"
    );
    assert!(
        !listing.contains("s3cret") && !listing.contains("/keys/admin.key"),
        "{listing}"
    );
    let output = bin()
        .args(["ds100-clear-pin", "in.csv", "--profile", "bad", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let text = stderr(&output);
    assert_eq!(code(&output), 1);
    assert!(text.contains("config.toml:6: profile bad: token"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

#[test]
fn json_lines_results_parse_back_row_by_row_and_resume() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin-bad.csv");
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["--format", "jsonl", "-j", "4"],
    );
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    let path = scene.dir.path().join("ds100-clear-pin-bad.results.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("one object per line"))
        .collect();
    assert_eq!(rows.len(), 9);
    let lines: Vec<u64> = rows.iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, (2..=10).collect::<Vec<_>>(), "input order");
    assert_eq!(rows[0]["outcome"], "ok");
    assert_eq!(rows[0]["ticket"], "BAD-01 valid");
    assert_eq!(rows[0]["operation"], "ds100-clear-pin");
    // The same fields as the CSV: `verified` is there, empty without --verify.
    assert_eq!(rows[0]["verified"], "");
    assert!(rows[0]["queued_ms"].is_u64() && rows[0]["duration_ms"].is_u64());
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["--resume", path.to_str().unwrap()],
    );
    assert!(stderr(&output).contains("skipped 3"), "{}", stderr(&output));
}

#[test]
fn json_lines_keys_repeat_no_input_column_and_resume_reads_them_back() {
    let scene = Scene::sample();
    let sample = std::fs::read_to_string(crate::fixture::sample("ds100-clear-pin.csv")).unwrap();
    let mut text = String::from("userId,tokenSerialNumber,line,outcome,note,note\n");
    for (i, row) in sample.lines().skip(1).enumerate() {
        let fields: Vec<&str> = row.split(',').collect();
        text.push_str(&format!(
            "{},{},{i},failed,first,second\n",
            fields[0], fields[1]
        ));
    }
    let input = write(scene.dir.path(), "chained.csv", &text);
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["--format", "jsonl"],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let path = scene.dir.path().join("chained.results.jsonl");
    let written = std::fs::read_to_string(&path).unwrap();
    let first = written.lines().next().unwrap();
    assert_eq!(first.matches("\"line\":").count(), 1, "{first}");
    assert_eq!(first.matches("\"note\":").count(), 1, "{first}");
    let row: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(row["line"], 2);
    assert_eq!(row["input.line"], "0");
    assert_eq!(row["outcome"], "ok");
    assert_eq!(row["input.outcome"], "failed");
    assert_eq!(
        (&row["note"], &row["note_2"]),
        (&"first".into(), &"second".into())
    );
    let again = scene.dir.path().join("again.csv");
    let resume = [
        "--resume",
        path.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ];
    let output = run_op(&scene.tenant, "ds100-clear-pin", &input, &resume);
    assert!(stderr(&output).contains("skipped 7"), "{}", stderr(&output));
    assert_eq!(scene.tenant.stats().applied_total("ds100-clear-pin"), 7);
}

#[test]
fn resume_refuses_results_of_another_operation() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "sid-clear-pin.csv");
    let first = run_op(&scene.tenant, "sid-clear-pin", &input, &[]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    let previous = scene.dir.path().join("sid-clear-pin.results.csv");
    let before = scene.tenant.stats().applied_total("ds100-clear-pin");
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &[
            "--resume",
            previous.to_str().unwrap(),
            "-o",
            scene.dir.path().join("x.csv").to_str().unwrap(),
        ],
    );
    assert_eq!(code(&output), 1);
    assert!(
        stderr(&output).contains("these are results of sid-clear-pin, not ds100-clear-pin"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        scene.tenant.stats().applied_total("ds100-clear-pin"),
        before
    );
}

#[test]
fn the_log_file_records_each_request_and_no_secret() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin-by-email.csv");
    let log = scene.dir.path().join("audit.jsonl");
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["-v", "--log-file", log.to_str().unwrap()],
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let text = std::fs::read_to_string(&log).unwrap();
    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Six rows, five distinct emails looked up.
    assert_eq!(events.len(), 11, "{text}");
    let first = &events[0];
    assert!(first["span"]["line"].is_u64(), "{first}");
    assert_eq!(first["fields"]["method"], "POST");
    assert_eq!(first["fields"]["status"], 200);
    assert!(first["fields"]["attempt"].is_u64() && first["fields"]["wait_ms"].is_u64());
    let token = scene.tenant.token();
    assert!(!text.contains(&token) && !stderr(&output).contains(&token));
    assert!(!text.to_ascii_lowercase().contains("bearer"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(
        stderr(&output).contains("row{line=2}"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn resume_names_follow_the_results_stem_after_o() {
    let scene = Scene::start(&["--fail-rate", "1", "--fault-seed", "1"]);
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let out = scene.dir.path().join("unreach.csv");
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["-o", out.to_str().unwrap(), "--max-attempts", "1"],
    );
    let text = stderr(&output);
    assert!(text.contains("7 rows not done (7 failed)"), "{text}");
    assert!(text.contains("unreach.resume-1.results.csv"), "{text}");
    assert!(!text.contains("unreach.csv.resume"), "{text}");
}

#[test]
fn a_profile_marked_confirm_asks_even_for_a_clear_pin_run() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let config = write(
        scene.dir.path(),
        "config.toml",
        &format!(
            "[profiles.prod]\nbase-url = \"{}\"\nconfirm = true\nrate = 0\n",
            scene.tenant.url()
        ),
    );
    let run = |extra: &[&str]| {
        bin()
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(["--force", "--config"])
            .arg(&config)
            .env("SECURID_PROFILE", "prod")
            .env("SECURID_TOKEN", scene.tenant.token())
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = run(&[]);
    assert_eq!(code(&refused), 1, "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("needs confirmation"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(scene.tenant.stats().applied_total("ds100-clear-pin"), 0);
    let confirmed = run(&["--yes"]);
    assert_eq!(code(&confirmed), 0, "{}", stderr(&confirmed));
    assert!(
        stderr(&confirmed).contains("profile prod, tenant"),
        "{}",
        stderr(&confirmed)
    );
}

#[test]
fn the_summary_json_names_version_operation_tenant_credential_and_times() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let summary = scene.dir.path().join("summary.json");
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &[
            "--summary-json",
            summary.to_str().unwrap(),
            "--token",
            "typed-secret-value",
        ],
    );
    // The typed token is not the tenant's, so the rows are refused; the
    // summary is still written, and the token is not in it.
    assert_ne!(code(&output), 0);
    let text = std::fs::read_to_string(&summary).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["operation"], "ds100-clear-pin");
    assert!(
        json["tenant"].as_str().unwrap().contains("127.0.0.1"),
        "{text}"
    );
    assert!(json["started_at"].as_str().is_some() && json["finished_at"].as_str().is_some());
    let words: Vec<&str> = json["command_line"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    // The kept command line holds no token at all: not its value, not the
    // flag.
    assert!(!words.iter().any(|w| w.starts_with("--token")), "{text}");
    assert!(words.contains(&"ds100-clear-pin"), "{text}");
    assert!(!text.contains("typed-secret-value"), "{text}");
}
