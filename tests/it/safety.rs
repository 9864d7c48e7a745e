//! Operator safety end to end: confirmation, canary, halt thresholds, the
//! breakers, input hygiene, and the run's files (no file in two roles, outputs checked before the
//! first request, results synced). The real binary runs against the
//! simulated tenant on loopback; the tenant's ledger says what was really
//! changed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::fixture::*;

const U1: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";

#[test]
fn destructive_run_without_yes_or_terminal_is_refused_and_sends_nothing() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-delete.csv");
    let out = run_op(&tenant, "ds100-delete", &input, &[]);
    assert_exit(&out, 1);
    let text = stderr(&out);
    assert!(text.contains("ds100-delete changes 3 rows"), "{text}");
    assert!(text.contains("--yes"), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
    assert_eq!(tenant.stats().requests, 0);
    assert!(!results_path(&input).exists(), "no results file on refusal");

    let out = run_op(&tenant, "ds100-delete", &input, &["--yes"]);
    assert_exit(&out, 0);
    assert_eq!(tenant.stats().applied_total("ds100-delete"), 3);
}

#[test]
fn limit_sends_a_canary_and_the_printed_command_carries_on() {
    let dir = temp_dir();
    let (tenant, input) = generated(&[], "8", dir.path());
    let total = input_rows(&input);
    let out = run_op(&tenant, "ds100-clear-pin", &input, &["--limit", "3"]);
    assert_exit(&out, 2);
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), total);
    assert_eq!(count(&rows, "ok"), 3);
    assert_eq!(count(&rows, "not_attempted"), total - 3);
    assert!(rows[5]["message"].contains("--limit 3"), "{:?}", rows[5]);
    assert_eq!(tenant.stats().requests, 3);

    let resumed = run_printed_resume(&tenant, &stderr(&out));
    assert_exit(&resumed, 0);
    assert_eq!(
        tenant.stats().applied_total("ds100-clear-pin"),
        total as u64
    );
    assert!(applied(&tenant).values().all(|n| *n == 1));
}

/// Rows alternating between a serial the tenant knows and one it does not.
fn half_failing(dir: &Path, rows: usize) -> PathBuf {
    let mut text = String::from("userId,tokenSerialNumber\n");
    for i in 0..rows {
        let serial = if i % 2 == 0 { "014010008038" } else { "999" };
        text.push_str(&format!("{U1},{serial}{:04}\n", i));
    }
    write(dir, "half.csv", &text)
}

#[test]
fn max_failures_stops_new_work_and_exits_2() {
    let Scene { tenant, dir } = Scene::sample();
    let mut text = String::from("userId,tokenSerialNumber\n");
    for i in 0..20 {
        text.push_str(&format!("{U1},9990{i:02}\n"));
    }
    let input = write(dir.path(), "unknown.csv", &text);
    let out = run_op(
        &tenant,
        "ds100-clear-pin",
        &input,
        &["-j", "1", "--max-failures", "3"],
    );
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("reaching --max-failures 3"));
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), 20);
    assert_eq!(count(&rows, "failed"), 3);
    assert_eq!(count(&rows, "not_attempted"), 17);
    assert_eq!(tenant.stats().requests, 3);
}

#[test]
fn max_failure_rate_waits_for_the_sample_then_stops() {
    let Scene { tenant, dir } = Scene::sample();
    let input = half_failing(dir.path(), 20);
    let out = run_op(
        &tenant,
        "ds100-clear-pin",
        &input,
        &[
            "-j",
            "1",
            "--max-failure-rate",
            "50%",
            "--failure-sample",
            "4",
        ],
    );
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--max-failure-rate 50%"));
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), 20);
    assert_eq!(count(&rows, "failed") + count(&rows, "ok"), 4);
    assert_eq!(count(&rows, "not_attempted"), 16);
}

#[test]
fn refused_credentials_trip_the_breaker_after_a_bounded_number_of_requests() {
    let dir = temp_dir();
    let (tenant, input) = generated(&[], "16", dir.path());
    let total = input_rows(&input);
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--base-url", &tenant.url(), "--rate", "0", "-j", "2"])
        .env("SECURID_TOKEN", "not-the-token")
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(
        stderr(&out).contains("credentials are wrong"),
        "{}",
        stderr(&out)
    );
    let stats = tenant.stats();
    assert!(stats.requests <= 3 + 2, "{} requests", stats.requests);
    assert!(stats.status_count(403) >= 3);
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), total);
    assert!(count(&rows, "not_attempted") >= total - 5);
}

#[test]
fn an_unreachable_tenant_stops_the_run() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = temp_dir();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = bin()
        .arg("ds100-clear-pin")
        .arg(&input)
        .args(["--base-url", &format!("http://127.0.0.1:{port}")])
        .args(["--max-attempts", "1", "--max-unreachable", "0", "-j", "1"])
        .env("SECURID_TOKEN", "t")
        .output()
        .unwrap();
    assert_exit(&out, 1);
    assert!(stderr(&out).contains("unreachable"), "{}", stderr(&out));
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), input_rows(&input));
    assert_eq!(count(&rows, "failed"), 1);
}

#[test]
fn hygiene_findings_show_in_dry_run_and_real_run_alike() {
    let Scene { tenant, dir } = Scene::sample();
    let u2 = "a833bdcd-b6d1-beb1-88dc-97e5aab5fe3d";
    let text = format!(
        "userId,tokenSerialNumber,note\n\
         {U1},014010008038,fine\n\
         {U1},014010008038,fine\n\
         {U1},777777777777,x\n\
         {u2},777777777777,x\n\
         {U1},14010008039,x\n\
         {U1},014010008031,@SUM(A1)\n"
    );
    let input = write(dir.path(), "messy.csv", &text);
    for dry in [true, false] {
        let extra: &[&str] = if dry { &["--dry-run"] } else { &[] };
        let out = run_op(&tenant, "ds100-clear-pin", &input, extra);
        assert_exit(&out, 2);
        let summary = stderr(&out);
        for expected in [
            "duplicate rows (skipped): line 3",
            "same serial on different users (invalid): line 4, 5",
            "serials that may have lost leading zeros: line 6",
            "cells that start like a formula (= + - @, tab, CR): line 7",
        ] {
            assert!(summary.contains(expected), "{expected} in {summary}");
        }
        let path = match dry {
            true => dry_run_path(&input),
            false => results_path(&input),
        };
        let rows = results(&path);
        let by_line = |line: &str| rows.iter().find(|r| r["line"] == line).unwrap().clone();
        assert_eq!(by_line("3")["outcome"], "skipped");
        assert_eq!(by_line("4")["outcome"], "invalid");
        assert!(by_line("4")["message"].contains("lines 5"));
        assert_eq!(by_line("5")["outcome"], "invalid");
        assert!(by_line("6")["message"].contains("leading zeros"));
        assert!(by_line("7")["message"].contains("column 3 (note)"));
    }
    let stats = tenant.stats();
    assert_eq!(stats.applied_count("ds100-clear-pin", "777777777777"), 0);
}

/// Runs `ds100-delete` on a pseudo-terminal (util-linux `script`), typing
/// `answer`: the exit code and what the terminal showed. `None` when
/// `script` is not installed.
fn delete_on_a_terminal(
    tenant: &Tenant,
    input: &Path,
    answer: &str,
) -> Option<(Option<i32>, String)> {
    use std::io::Write;
    let command = format!(
        "{} ds100-delete {} --base-url {} --rate 0 --force -q",
        assert_cmd::cargo::cargo_bin("securid-bulk").display(),
        input.display(),
        tenant.url()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_remove("SECURID_BASE_URL")
        .env_remove("SECURID_KEY_FILE")
        .env("SECURID_TOKEN", tenant.token())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{answer}").expect("typed");
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "script did not end");
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    Some((
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    ))
}

#[test]
fn on_a_terminal_only_the_typed_operation_and_count_go_ahead() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-delete.csv");
    let Some((exit, screen)) = delete_on_a_terminal(&tenant, &input, "yes") else {
        panic!(
            "this test needs `script` to give the binary a terminal: \
             install util-linux (bsdutils on Debian and Ubuntu)"
        );
    };
    assert_eq!(exit, Some(1), "{screen}");
    assert!(screen.contains("type \"ds100-delete 3\""), "{screen}");
    assert!(screen.contains("not confirmed"), "{screen}");
    assert_eq!(tenant.stats().requests, 0);

    let (exit, screen) = delete_on_a_terminal(&tenant, &input, "ds100-delete 3").unwrap();
    assert_eq!(exit, Some(0), "{screen}");
    assert_eq!(tenant.stats().applied_total("ds100-delete"), 3);
}

/// Runs `args` against `tenant` and checks it was refused with exit 1 before
/// any request, naming `roles`, and that `keep` still holds `text`.
fn assert_refused_untouched(tenant: &Tenant, args: &[&str], roles: &[&str], keep: &Path) {
    let text = std::fs::read_to_string(keep).unwrap();
    let before = tenant.stats().requests;
    let out = bin()
        .args(args)
        .args(["--base-url", &tenant.url(), "--rate", "0"])
        .env("SECURID_TOKEN", tenant.token())
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for role in roles {
        assert!(err.contains(role), "{role} in {err}");
    }
    assert_eq!(std::fs::read_to_string(keep).unwrap(), text);
    assert_eq!(tenant.stats().requests, before, "nothing sent: {err}");
}

#[test]
fn one_file_in_two_roles_is_refused_before_anything_is_sent_even_with_force() {
    let Scene { tenant, dir } = Scene::sample();
    let d = |name: &str| dir.path().join(name).display().to_string();
    std::fs::create_dir(dir.path().join("a")).unwrap();
    let same = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let same = same.to_str().unwrap();
    let op = "ds100-clear-pin";
    assert_refused_untouched(
        &tenant,
        &[op, same, "-o", same, "--force"],
        &["the input", "the results file", same],
        Path::new(same),
    );
    // users.retry.csv run into users.csv: its retry file is the input.
    let retry_named = dir.path().join("users.retry.csv");
    std::fs::copy(same, &retry_named).unwrap();
    assert_refused_untouched(
        &tenant,
        &[op, &d("users.retry.csv"), "-o", &d("users.csv"), "--force"],
        &["the input", "the retry file"],
        &retry_named,
    );
    // A summary over an earlier results file given to --resume, through a
    // hard link; a results path with `..` in it that is the summary.
    let earlier = write(dir.path(), "earlier.results.csv", "kept\n");
    std::fs::hard_link(&earlier, dir.path().join("linked.json")).unwrap();
    assert_refused_untouched(
        &tenant,
        &[
            op,
            same,
            "--resume",
            &d("earlier.results.csv"),
            "-o",
            &d("new.csv"),
        ]
        .into_iter()
        .chain(["--summary-json", &d("linked.json"), "--force"])
        .collect::<Vec<_>>(),
        &["--summary-json", "--resume"],
        &earlier,
    );
    let dotted = format!("{}/a/.././out.csv", dir.path().display());
    assert_refused_untouched(
        &tenant,
        &[op, same, "-o", &dotted, "--summary-json", &d("out.csv")],
        &["the results file", "--summary-json"],
        Path::new(same),
    );
    assert!(!dir.path().join("out.csv").exists());
}

#[test]
fn unusable_output_paths_are_refused_before_the_first_request() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let input = input.to_str().unwrap();
    let missing = dir.path().join("no-such-dir/summary.json");
    assert_refused_untouched(
        &tenant,
        &[
            "ds100-clear-pin",
            input,
            "--summary-json",
            missing.to_str().unwrap(),
        ],
        &[
            "--summary-json",
            missing.to_str().unwrap(),
            "nothing was sent",
        ],
        Path::new(input),
    );
    // The retry file's name is taken by a directory.
    let results = dir.path().join("out.csv");
    std::fs::create_dir(dir.path().join("out.retry.csv")).unwrap();
    assert_refused_untouched(
        &tenant,
        &["ds100-clear-pin", input, "-o", results.to_str().unwrap()],
        &["retry file", "out.retry.csv"],
        Path::new(input),
    );
    assert!(!results.exists(), "no results file either");
}

#[cfg(unix)]
#[test]
fn a_dry_run_refuses_a_planted_link_at_the_retry_file_like_the_real_run() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let victim = write(dir.path(), "victim.txt", "precious\n");
    let retry = dir.path().join("ds100-clear-pin.retry.csv");
    std::os::unix::fs::symlink(&victim, &retry).unwrap();
    let input = input.to_str().unwrap();
    for dry_run in [true, false] {
        let mut args = vec!["ds100-clear-pin", input];
        args.extend(dry_run.then_some("--dry-run"));
        assert_refused_untouched(
            &tenant,
            &args,
            &["symbolic link", "ds100-clear-pin.retry.csv"],
            &victim,
        );
    }
}

#[test]
fn a_retry_file_that_cannot_be_written_still_leaves_the_summary() {
    let Scene { tenant, dir } = Scene::sample();
    let rows: String = (0..6).map(|i| format!("{USER},99900{i}\n")).collect();
    let input = write(
        dir.path(),
        "fail.csv",
        &format!("userId,tokenSerialNumber\n{rows}"),
    );
    let summary = dir.path().join("summary.json");
    let summary_arg = summary.to_str().unwrap();
    let child = spawn_op(
        &tenant,
        &input,
        &tenant.token(),
        // Rows held back by the canary are offered the carry-on command
        // (the unknown serials alone, refused for good, would not be).
        &["--rate", "2", "--limit", "5", "--summary-json", summary_arg],
    );
    // Once the results file exists the outputs were checked: a directory
    // then takes the retry file's name, so writing it fails at the end.
    let results_file = results_path(&input);
    for _ in 0..3000 {
        if results_file.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let blocker = dir.path().join("fail.retry.csv");
    std::fs::create_dir(&blocker).unwrap();
    write(&blocker, "keep", "x");
    let (code, err) = finish(child);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("outcomes: failed 5, not_attempted 1"), "{err}");
    assert!(err.contains("carry on"), "{err}");
    assert!(err.contains("retry file not written"), "{err}");
    assert!(err.contains("error: cannot write the retry file"), "{err}");
    assert_eq!(results(&results_file).len(), 6);
    let json = std::fs::read_to_string(&summary).unwrap();
    assert!(json.contains("\"retry_error\": \"cannot write"), "{json}");
}

#[test]
fn an_existing_summary_json_is_refused_without_force() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let input = input.to_str().unwrap();
    let summary = write(dir.path(), "summary.json", "earlier summary\n");
    let summary = summary.to_str().unwrap();
    assert_refused_untouched(
        &tenant,
        &["ds100-clear-pin", input, "--summary-json", summary],
        &["--summary-json", summary, "already exists", "--force"],
        Path::new(summary),
    );
    assert!(!results_path(Path::new(input)).exists(), "nothing written");
    let out = run_op(
        &tenant,
        "ds100-clear-pin",
        Path::new(input),
        &["--summary-json", summary],
    );
    assert_exit(&out, 0);
    assert!(std::fs::read_to_string(summary).unwrap().contains("\"ok\""));
}

#[test]
fn the_mock_never_replaces_an_existing_key_file() {
    let dir = temp_dir();
    let key = write(dir.path(), "admin.key", "a real key\n");
    let out = bin()
        .args(["mock", "--write-key-file"])
        .arg(&key)
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), "a real key\n");
}

#[test]
fn results_are_synced_to_disk_while_rows_finish_and_at_the_end() {
    let has_strace = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_strace,
        "this test watches the sync calls with strace: install it (apt-get install strace)"
    );
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let results = dir.path().join("synced.csv");
    let trace = dir.path().join("trace.txt");
    let out = std::process::Command::new("strace")
        .args(["-f", "-y", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&trace)
        .arg(assert_cmd::cargo::cargo_bin("securid-bulk"))
        .arg("ds100-clear-pin")
        .arg(&input)
        .arg("-o")
        .arg(&results)
        .args(["--base-url", &tenant.url(), "--rate", "0", "-q"])
        .env_remove("SECURID_KEY_FILE")
        .env("SECURID_TOKEN", tenant.token())
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let calls = std::fs::read_to_string(&trace).unwrap();
    let synced = |path: &Path| {
        let named = format!("<{}>)", path.canonicalize().unwrap().display());
        calls
            .lines()
            .filter(|l| l.contains("sync(") && l.contains(&named))
            .count()
    };
    assert!(synced(&results) >= 1, "results file synced: {calls}");
    assert!(synced(dir.path()) >= 1, "its directory synced: {calls}");
}
