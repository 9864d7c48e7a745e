//! Interrupted runs end to end: Ctrl-C (once to finish, twice to quit) and
//! SIGKILL, then resume until done, with rows matched by content and the
//! retry file in the input's own columns. The tenant's ledger says what was
//! really changed, so no row is lost or applied twice.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::fixture::*;

const U1: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";

/// Data lines in a results file being written, 0 while it does not exist.
fn lines_written(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().count().saturating_sub(1))
        .unwrap_or(0)
}

/// Waits (at most 30 s) until `path` holds `rows` results or the child ends.
fn wait_for_rows(child: &mut Child, path: &Path, rows: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while lines_written(path) < rows && Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn sigint_finishes_in_flight_rows_writes_every_row_and_resumes() {
    let dir = temp_dir();
    let (tenant, input) = generated(&["--latency-ms", "40"], "40", dir.path());
    let total = input_rows(&input);
    let output = results_path(&input);
    let mut child = spawn_op(
        &tenant,
        &input,
        &tenant.token(),
        &["--rate", "0", "-j", "2"],
    );
    wait_for_rows(&mut child, &output, 4);
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (exit, text) = finish(child);
    assert_eq!(exit, Some(130), "{text}");
    let rows = results(&output);
    assert_eq!(rows.len(), total, "every row accounted for");
    let done = count(&rows, "ok");
    assert!(done >= 4 && done < total, "{done} of {total} ok");
    assert_eq!(count(&rows, "not_attempted"), total - done);
    assert!(
        applied(&tenant).values().all(|n| *n == 1),
        "in-flight rows finished and were recorded"
    );

    let resumed = run_printed_resume(&tenant, &text);
    assert_exit(&resumed, 0);
    let next = dir.path().join("users.resume-1.results.csv");
    let rows = results(&next);
    assert_eq!(count(&rows, "skipped"), done);
    assert_eq!(count(&rows, "ok"), total - done);
    assert_eq!(
        tenant.stats().applied_total("ds100-clear-pin"),
        total as u64
    );
}

#[test]
fn resume_matches_rows_by_content_not_position() {
    let Scene { tenant, dir } = Scene::sample();
    let input = copy_sample(dir.path(), "ds100-clear-pin.csv");
    let out = run_op(&tenant, "ds100-clear-pin", &input, &["--limit", "3"]);
    assert_exit(&out, 2);
    let first = results(&results_path(&input));
    assert_eq!(count(&first, "ok"), 3);
    // What was done is what the tenant changed, not what the results say.
    let done: Vec<String> = applied(&tenant).into_keys().collect();
    assert_eq!(done.len(), 3);

    // Re-sorted, columns swapped and renamed, cells padded, and the done
    // rows' user IDs upper-cased: the same rows all the same. Built from
    // the input file, so the results file's own order cannot hide a bug.
    let mut lines: Vec<String> = results(&sample("ds100-clear-pin.csv"))
        .iter()
        .map(|r| {
            let user = match done.contains(&r["tokenSerialNumber"]) {
                true => r["userId"].to_uppercase(),
                false => r["userId"].clone(),
            };
            format!(" {} ,{user},{}", r["tokenSerialNumber"], r["ticket"])
        })
        .collect();
    lines.sort_by_key(|line| std::cmp::Reverse(line.trim().to_owned()));
    let reordered = write(
        dir.path(),
        "fixed.csv",
        &format!("Token Serial Number,user_id,ticket\n{}\n", lines.join("\n")),
    );
    let previous = results_path(&input);
    let out = run_op(
        &tenant,
        "ds100-clear-pin",
        &reordered,
        &["--resume", previous.to_str().unwrap()],
    );
    assert_exit(&out, 0);
    let rows = results(&dir.path().join("ds100-clear-pin.resume-1.results.csv"));
    let skipped: Vec<String> = rows
        .iter()
        .filter(|r| r["outcome"] == "skipped")
        .map(|r| r["Token Serial Number"].trim().to_owned())
        .collect();
    let mut expected = done.clone();
    expected.sort();
    let mut got = skipped.clone();
    got.sort();
    assert_eq!(got, expected);
    assert!(rows
        .iter()
        .filter(|r| r["outcome"] == "skipped")
        .all(|r| r["message"].contains("already ok in")
            && r["message"].contains("ds100-clear-pin.results.csv")));
    assert!(applied(&tenant).values().all(|n| *n == 1));
}

#[test]
fn retry_file_holds_rows_still_to_do_in_the_input_columns() {
    let Scene { tenant, dir } = Scene::sample();
    let text = format!(
        "ticket;userId;tokenSerialNumber\n\
         A-1;{U1};014010008038\n\
         =B2;{U1};999000\n\
         C-3;not-a-user;014010008039\n\
         D-4;{U1};014010008039\n"
    );
    let input = write(dir.path(), "mixed.csv", &text);
    let out = run_op(
        &tenant,
        "ds100-clear-pin",
        &input,
        &["--delimiter", ";", "-j", "1", "--limit", "2"],
    );
    assert_exit(&out, 2);
    let retry = dir.path().join("mixed.retry.csv");
    assert!(stderr(&out).contains("mixed.retry.csv"), "{}", stderr(&out));
    // The input's rows as read, then the run's record.
    let record = format!(
        ";ds100-clear-pin;{};{}",
        tenant.label(),
        sha256_hex(&std::fs::read(&input).unwrap())
    );
    assert_eq!(
        std::fs::read_to_string(&retry).unwrap(),
        format!(
            "ticket;userId;tokenSerialNumber;retry.operation;retry.tenant;retry.input_sha256\n\
             =B2;{U1};999000{record}\n\
             C-3;not-a-user;014010008039{record}\n\
             D-4;{U1};014010008039{record}\n"
        )
    );
}

/// Runs to completion with SIGKILLs at the given numbers of written results,
/// resuming from every earlier results file each time. Returns the files
/// written, the kills that hit a running process, and the final rows.
fn kill_and_resume(
    tenant: &Tenant,
    input: &Path,
    kill_after: &[usize],
    concurrency: &str,
) -> (usize, Vec<Row>) {
    let dir = input.parent().unwrap();
    let mut earlier: Vec<PathBuf> = Vec::new();
    let mut kills = 0;
    for (run, at) in kill_after.iter().map(Some).chain([None]).enumerate() {
        let output = dir.join(format!("run-{run}.csv"));
        let mut args: Vec<String> = vec!["--rate".into(), "0".into(), "-j".into()];
        args.extend([concurrency.into(), "-o".into()]);
        args.push(output.display().to_string());
        for file in &earlier {
            args.push("--resume".into());
            args.push(file.display().to_string());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = spawn_op(tenant, input, &tenant.token(), &args);
        if let Some(&at) = at {
            wait_for_rows(&mut child, &output, at);
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap();
                kills += 1;
            }
        }
        let (exit, text) = finish(child);
        if at.is_none() {
            assert_eq!(exit, Some(0), "{text}");
        }
        earlier.push(output);
    }
    let last = earlier.last().unwrap();
    (kills, results(last))
}

fn assert_complete_and_bounded(tenant: &Tenant, input: &Path, rows: &[Row], kills: usize, j: u64) {
    let total = input_rows(input);
    assert_eq!(rows.len(), total, "every input row is in the final results");
    assert_eq!(count(rows, "ok") + count(rows, "skipped"), total);
    let ledger = applied(tenant);
    let serials: Vec<&str> = rows
        .iter()
        .map(|r| r["tokenSerialNumber"].as_str())
        .collect();
    for serial in &serials {
        let n = ledger.get(*serial).copied().unwrap_or(0);
        assert!(n >= 1, "{serial} never applied");
        assert!(n <= 1 + kills as u64, "{serial} applied {n} times");
    }
    let extra: u64 = ledger.values().map(|n| n - 1).sum();
    assert!(
        extra <= kills as u64 * j,
        "{extra} repeated applications after {kills} kills with {j} in flight"
    );
}

#[test]
fn sigkill_mid_run_then_resume_accounts_for_every_row() {
    let dir = temp_dir();
    let (tenant, input) = generated(&["--latency-ms", "20"], "24", dir.path());
    let (kills, rows) = kill_and_resume(&tenant, &input, &[6], "2");
    assert_eq!(kills, 1, "the kill hit a running process");
    assert_complete_and_bounded(&tenant, &input, &rows, kills, 2);
}

#[test]
fn sigkill_at_random_points_and_resume_until_done() {
    let dir = temp_dir();
    let (tenant, input) = generated(&["--latency-ms", "10"], "32", dir.path());
    let total = input_rows(&input);
    let seed = test_seed();
    let mut rng = fastrand::Rng::with_seed(seed);
    let kill_after: Vec<usize> = (0..4).map(|_| rng.usize(1..total)).collect();
    let (kills, rows) = kill_and_resume(&tenant, &input, &kill_after, "3");
    assert!(
        kills >= 1,
        "at least one kill hit a running process (kill points {kill_after:?}, {SEED_VAR}={seed})"
    );
    assert_complete_and_bounded(&tenant, &input, &rows, kills, 3);
}

#[test]
fn a_second_sigint_quits_at_once_with_finished_rows_on_disk() {
    let dir = temp_dir();
    let (tenant, input) = generated(&["--latency-ms", "300"], "24", dir.path());
    let output = results_path(&input);
    let mut child = spawn_op(
        &tenant,
        &input,
        &tenant.token(),
        &["--rate", "0", "-j", "2"],
    );
    wait_for_rows(&mut child, &output, 2);
    let interrupt = || {
        std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
    };
    assert!(interrupt().success());
    std::thread::sleep(Duration::from_millis(50));
    let _ = interrupt();
    let (exit, text) = finish(child);
    assert_eq!(exit, Some(130), "{text}");
    assert!(text.contains("interrupted again"), "{text}");
    let rows = results(&output);
    let ledger = applied(&tenant);
    assert!(count(&rows, "ok") >= 2, "{rows:?}");
    for row in rows.iter().filter(|r| r["outcome"] == "ok") {
        assert_eq!(ledger.get(&row["tokenSerialNumber"]), Some(&1), "{row:?}");
    }
}

/// The files in `dir`, the temporary directory the run was given.
fn spooled(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect()
}

#[test]
fn a_signal_while_fetching_the_token_leaves_no_stdin_spool() {
    use std::io::Write as _;
    for signal in ["-TERM", "-INT"] {
        let dir = temp_dir();
        let client_dir = dir.path().join("client");
        let flags = ["--write-oauth-client", client_dir.to_str().unwrap()];
        let slow = Some(securid_bulk::mock::HostileOAuth::SlowToken);
        let tenant = Tenant::start_with(&flags, |options| options.hostile_oauth = slow);
        let about: serde_json::Value =
            serde_json::from_slice(&std::fs::read(client_dir.join("client.json")).unwrap())
                .unwrap();
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("securid-bulk"))
            .args(["ds100-clear-pin", "-", "--base-url", &tenant.url()])
            .args(["--client-id", about["clientId"].as_str().unwrap()])
            .arg("--client-key")
            .arg(client_dir.join("client-key.jwk"))
            .args(["--issuer", about["issuer"].as_str().unwrap()])
            .args(["--yes", "-q", "-o"])
            .arg(dir.path().join("out.csv"))
            .env("TMPDIR", &tmp)
            .env_remove("SECURID_BASE_URL")
            .env_remove("SECURID_TOKEN")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(&std::fs::read(sample("ds100-clear-pin.csv")).unwrap())
            .unwrap();
        drop(stdin);
        let deadline = Instant::now() + Duration::from_secs(30);
        while tenant.stats().oauth.token_requests == 0 {
            assert!(Instant::now() < deadline, "no token request");
            assert!(child.try_wait().unwrap().is_none(), "the run ended early");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(spooled(&tmp).len(), 1, "standard input is spooled");
        let status = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let signalled = Instant::now();
        let (exit, text) = finish(child);
        assert!(signalled.elapsed() < Duration::from_secs(5), "{text}");
        assert_eq!(spooled(&tmp), Vec::<PathBuf>::new(), "{signal}: {text}");
        assert_eq!(exit, Some(130), "{signal}: {text}");
    }
}
