//! Every output records the run that made it (tenant, operation, input
//! digest), and a file reused by a later run is checked against it:
//! `--resume` takes results of the same tenant and operation only, and an
//! earlier run's results or retry file given as input is refused unless
//! its operation may take it. Also the names outputs get: a dry run's own,
//! standard output for `-o -`.

use std::path::Path;

use crate::fixture::*;

/// The binary against the simulated tenant of `--mock`, running `op` on
/// `input`.
fn run_mock(op: &str, input: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = bin();
    cmd.arg(op)
        .arg(input)
        .args(["--mock", "--rate", "0", "--yes"])
        .args(extra);
    cmd.output().expect("binary runs")
}

#[test]
fn results_summary_and_every_line_record_tenant_operation_and_input_digest() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let summary = scene.dir.path().join("summary.json");
    let jsonl = scene.dir.path().join("r.jsonl");
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["--summary-json", summary.to_str().unwrap()],
    );
    assert_exit(&output, 0);
    let digest = sha256_hex(&std::fs::read(&input).unwrap());
    let rows = results(&results_path(&input));
    assert_eq!(rows.len(), 7);
    for row in &rows {
        assert_eq!(row["operation"], "ds100-clear-pin");
        assert_eq!(row["tenant"], scene.tenant.label());
        assert_eq!(row["input_sha256"], digest);
    }
    assert!(scene.tenant.label().starts_with("http://127.0.0.1:"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json["tenant"], scene.tenant.label().as_str());
    assert_eq!(json["input_sha256"], digest.as_str());

    let output = run_op(
        &scene.tenant,
        "sid-clear-pin",
        &copy_sample(scene.dir.path(), "sid-clear-pin.csv"),
        &["--format", "jsonl", "-o", jsonl.to_str().unwrap()],
    );
    assert_exit(&output, 0);
    for line in std::fs::read_to_string(&jsonl).unwrap().lines() {
        let object: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(object["operation"], "sid-clear-pin");
        assert_eq!(object["tenant"], scene.tenant.label().as_str());
        assert_eq!(object["input_sha256"].as_str().map(str::len), Some(64));
    }
}

#[test]
fn a_rehearsal_never_counts_for_a_real_tenant_nor_the_other_way_round() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let rehearsal = scene.dir.path().join("rehearsal.csv");
    let output = run_mock(
        "ds100-clear-pin",
        &input,
        &["-o", rehearsal.to_str().unwrap()],
    );
    assert_exit(&output, 0);
    assert_eq!(results(&rehearsal)[0]["tenant"], "the simulated tenant");

    // The real run refuses the rehearsal's results, naming both tenants,
    // and sends nothing.
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["--resume", rehearsal.to_str().unwrap()],
    );
    assert_exit(&output, 1);
    let text = stderr(&output);
    assert!(
        text.contains(&format!(
            "rehearsal.csv:2: these are results from the simulated tenant, but this run is for {}",
            scene.tenant.label()
        )),
        "{text}"
    );
    assert_eq!(scene.tenant.stats().requests, 0);

    // Another rehearsal, on whatever port it draws, resumes it.
    let again = scene.dir.path().join("again.csv");
    let resume = [
        "--resume",
        rehearsal.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ];
    let output = run_mock("ds100-clear-pin", &input, &resume);
    assert_exit(&output, 0);
    assert!(stderr(&output).contains("skipped 7"), "{}", stderr(&output));

    // A rehearsal never resumes a real tenant's run.
    let real = scene.dir.path().join("real.csv");
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &input,
        &["-o", real.to_str().unwrap()],
    );
    assert_exit(&output, 0);
    let resume = [
        "--resume",
        real.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
        "--force",
    ];
    let output = run_mock("ds100-clear-pin", &input, &resume);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("but this run is for the simulated tenant"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn resume_refuses_json_lines_results_of_another_operation_or_of_none() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "sid-clear-pin.csv");
    let previous = scene.dir.path().join("sid.results.jsonl");
    let first = run_op(
        &scene.tenant,
        "sid-clear-pin",
        &input,
        &["--format", "jsonl", "-o", previous.to_str().unwrap()],
    );
    assert_exit(&first, 0);
    let before = scene.tenant.stats().requests;
    let x = scene.dir.path().join("x.csv");
    let resume = |file: &Path| {
        let args = [
            "--resume",
            file.to_str().unwrap(),
            "-o",
            x.to_str().unwrap(),
        ];
        run_op(&scene.tenant, "ds100-clear-pin", &input, &args)
    };
    let output = resume(&previous);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("these are results of sid-clear-pin, not ds100-clear-pin"),
        "{}",
        stderr(&output)
    );
    // The same results with the operation taken out name none: refused too.
    let unnamed: String = std::fs::read_to_string(&previous)
        .unwrap()
        .lines()
        .map(|line| {
            let mut object: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(line).unwrap();
            object.remove("operation");
            format!("{}\n", serde_json::Value::Object(object))
        })
        .collect();
    let unnamed = write(scene.dir.path(), "unnamed.results.jsonl", &unnamed);
    let output = resume(&unnamed);
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("names no operation"),
        "{}",
        stderr(&output)
    );
    assert_eq!(scene.tenant.stats().requests, before, "nothing sent");
}

#[test]
fn another_operation_s_results_or_retry_file_is_refused_as_input() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin-bad.csv");
    let output = run_op(&scene.tenant, "ds100-clear-pin", &input, &[]);
    assert_exit(&output, 2);
    let results_file = results_path(&input);
    let retry_file = scene.dir.path().join("ds100-clear-pin-bad.retry.csv");
    assert!(retry_file.exists());
    for (file, expected) in [
        (&results_file, "this is the results of ds100-clear-pin; did you mean --resume?"),
        (&retry_file, "this is the retry file of ds100-clear-pin (column retry.operation), not of user-disable"),
    ] {
        let output = bin()
            .args(["user-disable", file.to_str().unwrap(), "--dry-run"])
            .output()
            .unwrap();
        assert_exit(&output, 1);
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
    }
}

#[test]
fn results_given_as_input_to_their_own_operation_send_nothing_again() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    assert_exit(&run_op(&scene.tenant, "ds100-clear-pin", &input, &[]), 0);
    let sent = scene.tenant.stats().requests;
    let results_file = results_path(&input);
    let out = scene.dir.path().join("again.csv");
    let output = run_op(
        &scene.tenant,
        "ds100-clear-pin",
        &results_file,
        &["-o", out.to_str().unwrap()],
    );
    assert_exit(&output, 1);
    assert!(
        stderr(&output).contains("rows it has as ok would be sent again: did you mean --resume?"),
        "{}",
        stderr(&output)
    );
    assert_eq!(scene.tenant.stats().requests, sent);
    // Its retry file is the way to run rows again: same operation, taken.
    let bad = copy_sample(scene.dir.path(), "ds100-clear-pin-bad.csv");
    assert_exit(&run_op(&scene.tenant, "ds100-clear-pin", &bad, &[]), 2);
    let retry = scene.dir.path().join("ds100-clear-pin-bad.retry.csv");
    let output = run_op(&scene.tenant, "ds100-clear-pin", &retry, &[]);
    assert!(matches!(code(&output), 0 | 2), "{}", stderr(&output));
}

#[test]
fn input_columns_named_like_results_columns_are_renamed_and_read_back() {
    let scene = Scene::sample();
    let sample = std::fs::read_to_string(sample("ds100-clear-pin.csv")).unwrap();
    let mut text = String::from("userId,tokenSerialNumber,outcome,message,tenant,note,note\n");
    for row in sample.lines().skip(1) {
        let fields: Vec<&str> = row.split(',').collect();
        text.push_str(&format!(
            "{},{},failed,theirs,elsewhere,a,b\n",
            fields[0], fields[1]
        ));
    }
    let input = write(scene.dir.path(), "named.csv", &text);
    let output = run_op(&scene.tenant, "ds100-clear-pin", &input, &[]);
    assert_exit(&output, 0);
    let path = results_path(&input);
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let mut seen = std::collections::HashSet::new();
    assert!(
        header.iter().all(|h| seen.insert(h.clone())),
        "a name repeats: {header:?}"
    );
    let rows = results(&path);
    assert_eq!(rows[0]["outcome"], "ok");
    assert_eq!(rows[0]["input.outcome"], "failed");
    assert_eq!(rows[0]["input.message"], "theirs");
    assert_eq!(rows[0]["input.tenant"], "elsewhere");
    assert_eq!(rows[0]["tenant"], scene.tenant.label());
    assert_eq!(
        (rows[0]["note"].as_str(), rows[0]["note_2"].as_str()),
        ("a", "b")
    );
    // --resume reads the renamed columns back: every row is done.
    let again = scene.dir.path().join("again.csv");
    let resume = [
        "--resume",
        path.to_str().unwrap(),
        "-o",
        again.to_str().unwrap(),
    ];
    let output = run_op(&scene.tenant, "ds100-clear-pin", &input, &resume);
    assert_exit(&output, 0);
    assert!(stderr(&output).contains("skipped 7"), "{}", stderr(&output));
}

#[test]
fn a_dry_run_writes_its_own_name_and_the_real_run_after_it_needs_no_force() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let run = |extra: &[&str]| {
        bin()
            .arg("ds100-clear-pin")
            .arg(&input)
            .args(["--base-url", &scene.tenant.url(), "--rate", "0"])
            .env("SECURID_TOKEN", scene.tenant.token())
            .args(extra)
            .output()
            .unwrap()
    };
    assert_exit(&run(&["--dry-run"]), 0);
    let dry = scene.dir.path().join("ds100-clear-pin.dry-run.csv");
    assert_eq!(results(&dry)[0]["outcome"], "valid");
    assert!(!results_path(&input).exists());
    let output = run(&[]);
    assert_exit(&output, 0);
    assert_eq!(results(&results_path(&input))[0]["outcome"], "ok");
}

#[test]
fn dash_o_dash_writes_results_to_standard_output_and_the_summary_to_standard_error() {
    let scene = Scene::sample();
    let input = copy_sample(scene.dir.path(), "ds100-clear-pin.csv");
    let output = run_op(&scene.tenant, "ds100-clear-pin", &input, &["-o", "-"]);
    assert_exit(&output, 0);
    let mut reader = csv::Reader::from_reader(output.stdout.as_slice());
    let header = reader.headers().unwrap().clone();
    assert!(header.iter().any(|h| h == "outcome"), "{header:?}");
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 7);
    assert!(
        stderr(&output).contains("outcomes: ok 7"),
        "{}",
        stderr(&output)
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("outcomes:"));
    assert!(!results_path(&input).exists());
    assert!(!Path::new("-").exists());
}
