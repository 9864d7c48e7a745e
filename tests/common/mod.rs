//! Shared test scaffolding: a simulated tenant on 127.0.0.1 in the test
//! process, the real binary driven against it, and readers for what the
//! binary wrote.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
        let argv = std::iter::once("mock").chain(flags.iter().copied());
        let options = MockFlags::try_parse_from(argv).expect("mock flags").options;
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

    /// The sample tenant from `samples/tenant.json`, with no quota or faults.
    pub fn sample() -> Tenant {
        Tenant::start(&[])
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
}

impl Drop for Tenant {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.runtime.block_on(server.shutdown());
        }
    }
}

/// The binary, with no credentials leaking in from the environment.
pub fn bin() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("securid-bulk").expect("binary");
    for var in ["SECURID_BASE_URL", "SECURID_TOKEN", "SECURID_KEY_FILE"] {
        cmd.env_remove(var);
    }
    cmd.timeout(std::time::Duration::from_secs(120));
    cmd
}

/// The binary aimed at `tenant` with its static token, running `op` on `input`.
pub fn run_op(tenant: &Tenant, op: &str, input: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = bin();
    cmd.arg(op)
        .arg(input)
        .args(["--base-url", &tenant.url(), "--rate", "0", "--force"])
        .env("SECURID_TOKEN", tenant.token())
        .args(extra);
    cmd.output().expect("binary runs")
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

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn code(output: &std::process::Output) -> i32 {
    output.status.code().unwrap_or(-1)
}
