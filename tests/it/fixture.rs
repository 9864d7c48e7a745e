//! Shared test scaffolding: a simulated tenant on 127.0.0.1 in the test
//! process, the real binary driven against it, and readers for what the
//! binary wrote. Each test module takes its tenant, temp dir, samples and
//! runs from here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use securid_bulk::mock::{MockOptions, MockServer, Stats};

/// A running simulated tenant, stopped when dropped.
pub struct Tenant {
    server: Option<MockServer>,
    runtime: tokio::runtime::Runtime,
}

#[derive(Parser)]
struct MockFlags {
    #[command(flatten)]
    options: MockOptions,
}

impl Tenant {
    /// Starts a tenant configured with the same flags as `securid-bulk mock`.
    pub fn start(flags: &[&str]) -> Tenant {
        Tenant::start_with(flags, |_| {})
    }

    /// Starts a tenant from `flags`, with options no flag sets changed by
    /// `edit`.
    pub fn start_with(flags: &[&str], edit: impl FnOnce(&mut MockOptions)) -> Tenant {
        let argv = std::iter::once("mock").chain(flags.iter().copied());
        let mut options = MockFlags::try_parse_from(argv).expect("mock flags").options;
        edit(&mut options);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let server = runtime
            .block_on(MockServer::start(options))
            .expect("mock starts");
        Tenant {
            server: Some(server),
            runtime,
        }
    }

    fn server(&self) -> &MockServer {
        self.server.as_ref().expect("running")
    }

    pub fn url(&self) -> String {
        self.server().base_url()
    }

    pub fn token(&self) -> String {
        self.server().static_token().expose().to_owned()
    }

    pub fn stats(&self) -> Stats {
        self.server().stats()
    }

    /// The tenant as outputs record it: `http://127.0.0.1:PORT`.
    pub fn label(&self) -> String {
        let url = reqwest::Url::parse(&self.url()).expect("tenant URL");
        securid_bulk::identity::tenant_label(&url)
    }
}

/// The SHA-256 of `bytes`, lower-case hex, as outputs record an input's.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    securid_bulk::identity::hex(&sha2::Sha256::digest(bytes))
}

impl Tenant {
    /// One request to the tenant's own endpoints with its static token:
    /// the status and the JSON answer (`null` when there is none), to read
    /// the tenant's state as it is rather than as a run reported it.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url()))
            .bearer_auth(self.token())
            .json(&body);
        self.runtime.block_on(async {
            let answer = request.send().await.expect("the tenant answers");
            let status = answer.status().as_u16();
            let text = answer.text().await.unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or_default())
        })
    }
}

impl Drop for Tenant {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

/// What most tests start from: a tenant and a temporary directory for the
/// run's files, both gone when dropped.
pub struct Scene {
    pub tenant: Tenant,
    pub dir: tempfile::TempDir,
}

impl Scene {
    /// The sample tenant from `samples/tenant.json`, with no quota or
    /// faults, and a fresh directory.
    pub fn sample() -> Scene {
        Scene::start(&[])
    }

    /// A tenant started with `securid-bulk mock` flags and a fresh directory.
    pub fn start(flags: &[&str]) -> Scene {
        Scene {
            tenant: Tenant::start(flags),
            dir: temp_dir(),
        }
    }
}

/// The binary, with no credentials leaking in from the environment.
pub fn bin() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("securid-bulk").expect("binary");
    for var in [
        "SECURID_BASE_URL",
        "SECURID_TOKEN",
        "SECURID_KEY_FILE",
        "SECURID_CLIENT_ID",
        "SECURID_CLIENT_KEY",
        "SECURID_ISSUER",
        "SECURID_PROFILE",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.timeout(std::time::Duration::from_secs(120));
    cmd
}

/// The binary aimed at `tenant` with its static token, running `op` on `input`.
pub fn run_op(tenant: &Tenant, op: &str, input: &Path, extra: &[&str]) -> std::process::Output {
    op_command(tenant, op, input, extra)
        .output()
        .expect("binary runs")
}

/// The command [`run_op`] runs, for a test that adds to it (standard
/// input, an environment variable) before running it.
pub fn op_command(tenant: &Tenant, op: &str, input: &Path, extra: &[&str]) -> assert_cmd::Command {
    let mut cmd = bin();
    cmd.arg(op)
        .arg(input)
        .args(["--base-url", &tenant.url(), "--rate", "0", "--force"])
        .env("SECURID_TOKEN", tenant.token())
        .args(extra);
    cmd
}

/// Three users of the sample tenant and one it does not know, by email.
pub fn people_by_email(dir: &Path) -> PathBuf {
    write(
        dir,
        "people.csv",
        "email\ndan.okafor@acme.example\nheidi.schmidt@acme.example\n\
         mallory.brown@acme.example\nnobody@acme.example\n",
    )
}

/// Writes `text` to `name` in `dir` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write input");
    path
}

/// The project's sample file of that name.
pub fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// Copies a sample into `dir` so that results land beside the copy.
pub fn copy_sample(dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(sample(name), &to).expect("copy sample");
    to
}

/// Reads a results CSV into one map per row, keyed by column name.
pub fn results(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("results file");
    let header = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("record");
            header
                .iter()
                .map(str::to_owned)
                .zip(r.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// `<input stem>.results.csv` beside the input.
pub fn results_path(input: &Path) -> PathBuf {
    let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
    input.with_file_name(format!("{stem}.results.csv"))
}

/// `<input stem>.dry-run.csv` beside the input: where a dry run writes.
pub fn dry_run_path(input: &Path) -> PathBuf {
    let stem = input.file_stem().unwrap().to_string_lossy().into_owned();
    input.with_file_name(format!("{stem}.dry-run.csv"))
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn code(output: &std::process::Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// A plain TCP listener on 127.0.0.1 that records every byte it receives
/// and answers each connection with garbage, standing in for a host the tool
/// must never talk HTTP to (a TLS endpoint that is not one, a redirect
/// target on another host).
pub struct Sink {
    pub port: u16,
    received: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Sink {
    pub fn start() -> Sink {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind sink");
        let port = listener.local_addr().expect("sink address").port();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (bytes, count) = (received.clone(), connections.clone());
        // The thread ends with the test process; it holds nothing else.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten().take(50) {
                count.fetch_add(1, Ordering::SeqCst);
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(500)));
                let mut buf = [0u8; 4096];
                if let Ok(n) = stream.read(&mut buf) {
                    bytes
                        .lock()
                        .expect("sink lock")
                        .extend_from_slice(&buf[..n]);
                }
                let _ = stream.write_all(b"\x15\x03\x03\x00\x02garbage, not TLS or HTTP\r\n\r\n");
            }
        });
        Sink {
            port,
            received,
            connections,
        }
    }

    pub fn received(&self) -> Vec<u8> {
        self.received.lock().expect("sink lock").clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A user ID of the right shape (the vendor's example), for hand-made inputs.
pub const USER: &str = "87927fb7-e185-4c33-c7e3-8e077675973c";

/// The environment variable that replays a test's random draws.
pub const SEED_VAR: &str = "SECURID_TEST_SEED";

/// The seed for a test's random draws: `SECURID_TEST_SEED` when set, a fresh
/// one otherwise. Printed either way, so a failure shows how to replay it.
pub fn test_seed() -> u64 {
    let seed = match std::env::var(SEED_VAR) {
        Ok(text) => text.parse().expect("SECURID_TEST_SEED is a number"),
        Err(_) => fastrand::u64(..),
    };
    eprintln!("random draws from seed {seed}; replay with {SEED_VAR}={seed}");
    seed
}

/// Requests that reached the tenant while a 429's `Retry-After` still held:
/// `(429 at, arrival at)` pairs in the tenant's own milliseconds, for a
/// header that advertised `advertised_ms`. Requests already on the wire when
/// the 429 went out may land in its first 150 ms.
pub fn arrivals_before_retry_after(stats: &Stats, advertised_ms: u64) -> Vec<(u64, u64)> {
    stats
        .throttled_ms
        .iter()
        .flat_map(|t| {
            stats
                .arrivals_ms
                .iter()
                .filter(move |a| **a > t + 150 && **a < t + advertised_ms)
                .map(move |a| (*t, *a))
        })
        .collect()
}

/// A fresh temporary directory, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// Checks the process ended with `expected`, showing its stderr if not.
#[track_caller]
pub fn assert_exit(output: &std::process::Output, expected: i32) {
    assert_eq!(code(output), expected, "{}", stderr(output));
}

/// Every operation's name, from the catalog.
pub fn operations() -> impl Iterator<Item = &'static str> {
    securid_bulk::ops::CATALOG.iter().map(|op| op.name)
}

/// The results column the tenant's ledger is keyed by for `op`: the
/// device serial for `ds100-disable` and `ds100-enable`, the user the
/// lookup found for the user operations (their samples name users by email
/// or username), the token serial otherwise.
pub fn ledger_column(op: &str) -> &'static str {
    match op {
        "ds100-disable" | "ds100-enable" => "deviceSerialNumber",
        _ if op.starts_with("user-") => "resolved_userId",
        _ => "tokenSerialNumber",
    }
}

/// One results row, keyed by column name.
pub type Row = HashMap<String, String>;

/// A generated tenant of `users` users and its exported ds100-clear-pin
/// file (about 1.25 rows per user), every row of which succeeds.
pub fn generated(flags: &[&str], users: &str, dir: &Path) -> (Tenant, PathBuf) {
    let exported = dir.join("export");
    let out = bin()
        .args(["mock", "--users", users, "--export-csv"])
        .arg(&exported)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let input = dir.join("users.csv");
    std::fs::copy(exported.join("ds100-clear-pin.csv"), &input).unwrap();
    let mut all = vec!["--users", users];
    all.extend_from_slice(flags);
    (Tenant::start(&all), input)
}

pub fn input_rows(input: &Path) -> usize {
    csv::Reader::from_path(input).unwrap().records().count()
}

/// Waits (at most 60 s) for the child to end; kills it if it does not.
pub fn finish(mut child: Child) -> (Option<i32>, String) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = child.wait_with_output().unwrap();
    (output.status.code(), stderr(&output))
}

/// The ledger: how many times each serial was really changed.
pub fn applied(tenant: &Tenant) -> HashMap<String, u64> {
    tenant
        .stats()
        .applied
        .get("ds100-clear-pin")
        .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default()
}

/// How many rows ended with `outcome`.
pub fn count(rows: &[Row], outcome: &str) -> usize {
    rows.iter().filter(|r| r["outcome"] == outcome).count()
}

/// The binary as a child process, so the test can signal it mid-run.
pub fn spawn_op(tenant: &Tenant, input: &Path, token: &str, extra: &[&str]) -> Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("securid-bulk"))
        .arg("ds100-clear-pin")
        .arg(input)
        .args(["--base-url", &tenant.url(), "--force", "-q"])
        .args(extra)
        .env_remove("SECURID_BASE_URL")
        .env_remove("SECURID_KEY_FILE")
        .env("SECURID_TOKEN", token)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts")
}

/// The carry-on command printed after `next:`, run as is (with the token in
/// the environment).
pub fn run_printed_resume(tenant: &Tenant, stderr_text: &str) -> std::process::Output {
    let line = stderr_text
        .lines()
        .find(|l| l.contains("--resume"))
        .unwrap_or_else(|| panic!("no resume command in: {stderr_text}"));
    let command = line.split(" (with the token").next().unwrap().trim();
    let mut words = command.split_whitespace();
    words.next();
    let mut cmd = bin();
    cmd.args(words).env("SECURID_TOKEN", tenant.token());
    cmd.output().unwrap()
}

/// A retry file's line without the three record cells (`retry.operation`,
/// `retry.tenant`, `retry.input_sha256`) it ends with: the input line it
/// carries, for inputs whose cells hold no comma.
pub fn without_retry_record(line: &str) -> String {
    line.rsplitn(4, ',').last().unwrap_or_default().to_owned()
}

/// A config file holding `text`, in a private directory of `dir`.
pub fn config_file(dir: &Path, text: &str) -> PathBuf {
    let home = dir.join("config");
    std::fs::create_dir_all(&home).unwrap();
    set_mode(&home, 0o700);
    let path = write(&home, "config.toml", text);
    set_mode(&path, 0o600);
    path
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Plans `op` over `input` against `tenant` (`--plan <input stem>.plan`);
/// returns the plan's path and the planning run's output.
pub fn make_plan(tenant: &Tenant, op: &str, input: &Path) -> (PathBuf, std::process::Output) {
    let plan = input.with_extension("plan");
    let out = run_op(
        tenant,
        op,
        input,
        &["--plan", plan.to_str().expect("utf-8 path")],
    );
    (plan, out)
}

/// `op`'s sample copied into `dir` and planned against `tenant`, the
/// planning run checked to succeed; returns the plan and that run's output.
pub fn planned_sample(tenant: &Tenant, dir: &Path, op: &str) -> (PathBuf, std::process::Output) {
    let input = copy_sample(dir, &format!("{op}.csv"));
    let (plan, out) = make_plan(tenant, op, &input);
    assert_exit(&out, 0);
    (plan, out)
}

/// `apply PLAN` with the tenant's token, its results in
/// `<plan stem>.applied.csv`; the plan names the tenant unless `extra` does.
pub fn apply(tenant: &Tenant, plan: &Path, extra: &[&str]) -> std::process::Output {
    bin()
        .arg("apply")
        .arg(plan)
        .args(["--rate", "0", "--yes", "--force", "-o"])
        .arg(plan.with_extension("applied.csv"))
        .env("SECURID_TOKEN", tenant.token())
        .args(extra)
        .output()
        .expect("binary runs")
}
