//! Every command the documentation shows is run, so README.md and docs/
//! cannot drift from the tool.
//!
//! Each ```sh block of README.md and docs/**/*.md runs line by line, in
//! order, in one temp dir per page holding a copy of samples/ (and a home
//! directory of its own). A line starting with `securid-bulk ` (or `cargo
//! run --release -- `, the set-up command) runs the built binary and must
//! exit 0, or the code its trailing comment names (`# exit 2: ...`). `export`
//! lines set the environment of the lines after them; `cp`, `awk` and other
//! plain file commands prepare files and must succeed; a line ending in `&`
//! runs in the background until the page is done (the simulated tenant of a
//! workflow), with `127.0.0.1:8080` replaced by a free port. A block right
//! after `<!-- not run: REASON -->` is not run (a real tenant, a key in
//! ~/.ssh, a terminal), and neither is a command shown in a ```text block:
//! both are counted and printed with their reasons.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a documented command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// Programs a runnable block may use besides `securid-bulk`, to prepare
/// files; anything else must be marked not run.
const SETUP_PROGRAMS: &[&str] = &[
    "cp", "mkdir", "awk", "cat", "grep", "head", "printf", "echo", "chmod", "sort", "cut", "wc",
    "ls", "rm",
];

/// Why a `cargo` line other than the set-up run is not run: `cargo test`
/// would run this test again.
const CARGO_ITSELF: &str = "cargo builds or tests the crate itself";

/// The port the docs show for a simulated tenant served in the background.
const DOC_PORT: &str = "127.0.0.1:8080";

struct Block {
    line: usize,
    lang: String,
    not_run: Option<String>,
    lines: Vec<(usize, String)>,
}

/// The fenced blocks of a Markdown page, each with the `not run` reason
/// written just before it, continuation lines joined.
fn blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    let mut last_text_line = "";
    let mut pending = String::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim();
        if let Some(rest) = trimmed.strip_prefix("```") {
            match open.take() {
                Some(block) => {
                    blocks.push(block);
                    last_text_line = "";
                }
                None => {
                    let not_run = last_text_line
                        .strip_prefix("<!-- not run:")
                        .and_then(|r| r.strip_suffix("-->"))
                        .map(|r| r.trim().to_owned());
                    open = Some(Block {
                        line: number,
                        lang: rest.trim().to_owned(),
                        not_run,
                        lines: Vec::new(),
                    });
                }
            }
            continue;
        }
        match open.as_mut() {
            Some(block) => {
                if let Some(head) = trimmed.strip_suffix('\\') {
                    pending.push_str(head.trim_end());
                    pending.push(' ');
                    continue;
                }
                pending.push_str(trimmed);
                block.lines.push((number, std::mem::take(&mut pending)));
            }
            None if !trimmed.is_empty() => last_text_line = trimmed,
            None => {}
        }
    }
    blocks
}

/// A line split into the command and the exit code its comment names.
fn command_and_expected_code(line: &str) -> (String, i32) {
    let (command, comment) = match line.find(" #") {
        Some(at) => (&line[..at], &line[at + 2..]),
        None => (line, ""),
    };
    let expected = comment
        .split("exit ")
        .nth(1)
        .and_then(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .unwrap_or(0);
    (command.trim().to_owned(), expected)
}

fn is_tool_command(line: &str) -> bool {
    line.starts_with("securid-bulk ") || line.starts_with("cargo run --release -- ")
}

/// A line of a shell block that runs something (not a comment, not an
/// assignment).
fn is_command(line: &str) -> bool {
    !line.is_empty() && !line.starts_with('#') && !line.starts_with("export ")
}

fn markdown_pages(root: &Path) -> Vec<PathBuf> {
    let mut pages = vec![root.join("README.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("docs dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read samples") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else if !is_an_output(&path) {
            std::fs::copy(&path, &target).expect("copy sample");
        }
    }
}

/// A file an earlier run left beside a sample (a results, retry, undo or
/// dry-run file): not copied, so the documented commands find what a fresh
/// checkout has.
fn is_an_output(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    [".results.", ".retry.", ".undo.", ".dry-run.", ".resume-"]
        .iter()
        .any(|mark| name.contains(mark))
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// One page's run: its temp dir, environment and background processes.
struct PageRun {
    dir: tempfile::TempDir,
    env: BTreeMap<String, String>,
    port: u16,
    background: Vec<Child>,
}

impl PageRun {
    fn new(root: &Path, bin_dir: &Path) -> PageRun {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(&root.join("samples"), &dir.path().join("samples"));
        let home = dir.path().join("home");
        for sub in [
            ".local/share/bash-completion/completions",
            ".local/share/man/man1",
            ".zfunc",
            ".config/fish/completions",
            ".config/elvish/lib",
        ] {
            std::fs::create_dir_all(home.join(sub)).expect("home dirs");
        }
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let env = BTreeMap::from([
            ("PATH".to_owned(), path),
            ("HOME".to_owned(), home.display().to_string()),
            (
                "XDG_CONFIG_HOME".to_owned(),
                home.join(".config").display().to_string(),
            ),
            ("NO_COLOR".to_owned(), "1".to_owned()),
            (
                "PROFILE".to_owned(),
                home.join("profile.ps1").display().to_string(),
            ),
        ]);
        PageRun {
            dir,
            env,
            port: free_port(),
            background: Vec::new(),
        }
    }

    fn shell(&self, command: &str) -> Command {
        let mut shell = Command::new("sh");
        shell
            .arg("-c")
            .arg(command)
            .current_dir(self.dir.path())
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::null());
        shell
    }

    fn localise(&self, line: &str) -> String {
        let line = line.replace(DOC_PORT, &format!("127.0.0.1:{}", self.port));
        match line.strip_prefix("cargo run --release -- ") {
            Some(rest) => format!("securid-bulk {rest}"),
            None => line,
        }
    }

    fn export(&mut self, assignments: &str) {
        for pair in assignments.split_whitespace() {
            if let Some((key, value)) = pair.split_once('=') {
                let value = self.localise(value);
                self.env.insert(key.to_owned(), value);
            }
        }
    }

    fn start_in_background(&mut self, command: &str, at: &str) {
        let child = self
            .shell(&format!("exec {command}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{at}: cannot start `{command}`: {e}"));
        self.background.push(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "{at}: `{command}` did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `command` to its end (or the timeout) and returns its exit code
    /// and output.
    fn run(&self, command: &str, at: &str) -> (i32, String) {
        let mut child = self
            .shell(command)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{at}: cannot start `{command}`: {e}"));
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            if child.try_wait().expect("wait").is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{at}: `{command}` ran longer than {COMMAND_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let output = child.wait_with_output().expect("output");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), text)
    }
}

impl Drop for PageRun {
    fn drop(&mut self) {
        for child in &mut self.background {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[derive(Default)]
struct Tally {
    run: usize,
    skipped: BTreeMap<String, usize>,
}

fn run_page(root: &Path, bin_dir: &Path, page: &Path) -> Tally {
    let mut tally = Tally::default();
    let name = page
        .strip_prefix(root)
        .unwrap_or(page)
        .display()
        .to_string();
    let text = std::fs::read_to_string(page).expect("read page");
    let mut run = PageRun::new(root, bin_dir);
    for block in blocks(&text) {
        if block.lang != "sh" || block.not_run.is_some() {
            // A marked block's every command counts; in a text block (output,
            // a synopsis) only the lines that are the tool's commands.
            let (reason, shown) = match &block.not_run {
                Some(reason) => (
                    reason.clone(),
                    block.lines.iter().filter(|(_, l)| is_command(l)).count(),
                ),
                None => (
                    "shown as text".to_owned(),
                    block
                        .lines
                        .iter()
                        .filter(|(_, l)| is_tool_command(l))
                        .count(),
                ),
            };
            if shown > 0 {
                *tally.skipped.entry(reason).or_default() += shown;
            }
            continue;
        }
        for (number, line) in &block.lines {
            let at = format!("{name}:{number} (block at line {})", block.line);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (command, expected) = command_and_expected_code(line);
            let command = run.localise(&command);
            if let Some(assignments) = command.strip_prefix("export ") {
                run.export(assignments);
                continue;
            }
            if let Some(background) = command.strip_suffix('&') {
                run.start_in_background(background.trim(), &at);
                tally.run += 1;
                continue;
            }
            if command.starts_with("cargo ") && !is_tool_command(&command) {
                *tally.skipped.entry(CARGO_ITSELF.to_owned()).or_default() += 1;
                continue;
            }
            let program = command.split_whitespace().next().unwrap_or("");
            let tool = program == "securid-bulk";
            assert!(
                tool || SETUP_PROGRAMS.contains(&program),
                "{at}: `{program}` is neither securid-bulk nor a file command; \
                 mark the block `<!-- not run: REASON -->`"
            );
            let (code, output) = run.run(&command, &at);
            assert_eq!(
                code, expected,
                "{at}: `{command}` exited {code}, the page shows {expected}:\n{output}"
            );
            if tool {
                tally.run += 1;
            }
        }
    }
    tally
}

#[test]
fn every_command_the_docs_show_runs_against_the_simulated_tenant() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = Path::new(env!("CARGO_BIN_EXE_securid-bulk"));
    let bin_dir = bin.parent().expect("binary's directory");
    let started = Instant::now();
    // Pages are independent (a temp dir and a port each), so they run side
    // by side and the whole takes about as long as the longest page.
    let pages = markdown_pages(root);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let runs: Vec<_> = pages
            .iter()
            .map(|page| scope.spawn(move || run_page(root, bin_dir, page)))
            .collect();
        runs.into_iter()
            .map(|run| run.join().expect("a page's commands ran as documented"))
            .collect()
    });
    let mut tally = Tally::default();
    for page in tallies {
        tally.run += page.run;
        for (reason, count) in page.skipped {
            *tally.skipped.entry(reason).or_default() += count;
        }
    }
    let skipped: usize = tally.skipped.values().sum();
    eprintln!(
        "documented commands: {} run, {skipped} not run ({:.1} s)",
        tally.run,
        started.elapsed().as_secs_f64()
    );
    for (reason, count) in &tally.skipped {
        eprintln!("  not run: {count} ({reason})");
    }
    assert!(
        tally.run >= 30,
        "only {} commands ran: are the pages' ```sh blocks still found?",
        tally.run
    );
}

#[test]
fn a_block_marked_not_run_keeps_its_reason_and_comments_name_exit_codes() {
    let page = "text\n\n<!-- not run: real tenant -->\n```sh\nsecurid-bulk x \\\n  --y # exit 2: rows\n```\n";
    let found = blocks(page);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].not_run.as_deref(), Some("real tenant"));
    assert_eq!(
        found[0].lines,
        vec![(6, "securid-bulk x --y # exit 2: rows".to_owned())]
    );
    assert_eq!(
        command_and_expected_code(&found[0].lines[0].1),
        ("securid-bulk x --y".to_owned(), 2)
    );
}
