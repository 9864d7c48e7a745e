//! The completion scripts in the real shells: bash and zsh in a terminal
//! (util-linux `script`), keys typed and the completed line read back;
//! fish through its own `complete -C`. An operation's flags, a flag's
//! values, the profiles of the config file, the operations and the files
//! all complete. A shell that is not installed is skipped with a message.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::fixture::{bin, temp_dir, write};

/// A directory with the completion script of `shell`, a config file with
/// two profiles and an input file to complete.
struct Setup {
    dir: tempfile::TempDir,
    script: PathBuf,
}

fn setup(shell: &str, script_name: &str) -> Setup {
    let dir = temp_dir();
    let output = bin().args(["completions", shell]).output().expect("runs");
    assert!(output.status.success());
    let scripts = dir.path().join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    let script = scripts.join(script_name);
    std::fs::write(&script, &output.stdout).unwrap();
    let config = dir.path().join("xdg").join("securid-bulk");
    std::fs::create_dir_all(&config).unwrap();
    write(
        &config,
        "config.toml",
        "[profiles.prod-eu]\nrate = 5\n\n[profiles.staging-us]\nrate = 0\n",
    );
    write(dir.path(), "leavers-2024.csv", "userId\n");
    Setup { dir, script }
}

fn installed(program: &str) -> bool {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("skipped: {program} is not installed (.ci/run installs it where it can)");
    }
    found
}

fn binary_dir() -> PathBuf {
    let binary = assert_cmd::cargo::cargo_bin("securid-bulk");
    binary.parent().expect("a directory").to_owned()
}

/// Runs `shell` interactively in a terminal in `setup.dir`, waits for its
/// first prompt (`READY> `), types `keys`, then `exit`, and returns what
/// the terminal showed.
fn type_into(setup: &Setup, shell: &str, env: &[(&str, &Path)], keys: &str) -> String {
    let path = format!(
        "{}:{}",
        binary_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("script")
        .args(["-qfc", shell, "/dev/null"])
        .current_dir(setup.dir.path())
        .env("PATH", path)
        .env("HOME", setup.dir.path())
        .env("XDG_CONFIG_HOME", setup.dir.path().join("xdg"))
        .env("TERM", "dumb")
        .env("PS1", "READY> ")
        .env_remove("SECURID_PROFILE")
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script runs");
    let mut stdout = child.stdout.take().expect("piped");
    let (send, received) = mpsc::channel();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut chunk) {
            if send.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut shown = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let read_until = |done: &dyn Fn(&[u8]) -> bool, shown: &mut Vec<u8>| {
        while !done(shown) && Instant::now() < deadline {
            match received.recv_timeout(Duration::from_millis(100)) {
                Ok(chunk) => shown.extend(chunk),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    };
    read_until(
        &|s| crate::fixture::contains_bytes(s, b"READY> "),
        &mut shown,
    );
    let mut stdin = child.stdin.take().expect("piped");
    // Ctrl-U clears the line between attempts; nothing is ever run.
    stdin
        .write_all(format!("{keys}\x15exit\n").as_bytes())
        .expect("typed");
    drop(stdin);
    read_until(&|_| false, &mut shown);
    let _ = child.kill();
    let _ = child.wait();
    String::from_utf8_lossy(&shown).into_owned()
}

/// The keys every shell gets: an operation's flag, a flag's values, the
/// profiles, an operation and a file, each attempt cleared with Ctrl-U.
const KEYS: &str = "securid-bulk ds100-clear-pin --dr\t\x15\
securid-bulk ds100-clear-pin --format \t\t\x15\
securid-bulk ds100-clear-pin --profile \t\t\x15\
securid-bulk ds100-cl\t\x15\
securid-bulk ds100-clear-pin leavers-20\t\x15";

fn assert_completed(shown: &str, dry_run: &str) {
    assert!(shown.contains(dry_run), "the operation's flag: {shown:?}");
    assert!(
        shown.contains("csv") && shown.contains("jsonl") && shown.contains("xlsx"),
        "--format's values: {shown:?}"
    );
    assert!(
        shown.contains("prod-eu") && shown.contains("staging-us"),
        "the config file's profiles: {shown:?}"
    );
    assert!(
        shown.contains("securid-bulk ds100-clear-pin "),
        "the operation: {shown:?}"
    );
    assert!(shown.contains("leavers-2024.csv"), "the file: {shown:?}");
}

#[test]
fn bash_completes_flags_values_profiles_operations_and_files() {
    if !installed("bash") || !installed("script") {
        return;
    }
    let setup = setup("bash", "securid-bulk.bash");
    let rc = write(
        setup.dir.path(),
        "bashrc",
        &format!("source '{}'\nPS1='READY> '\n", setup.script.display()),
    );
    let shell = format!("bash --noprofile --rcfile '{}' -i", rc.display());
    let shown = type_into(&setup, &shell, &[], KEYS);
    assert_completed(&shown, "--dry-run ");
}

#[test]
fn bash_completes_the_profiles_of_the_config_file_named_on_the_line() {
    if !installed("bash") || !installed("script") {
        return;
    }
    let setup = setup("bash", "securid-bulk.bash");
    write(
        setup.dir.path(),
        "other.toml",
        "[profiles.from-other-file]\nrate = 1\n",
    );
    let rc = write(
        setup.dir.path(),
        "bashrc",
        &format!("source '{}'\nPS1='READY> '\n", setup.script.display()),
    );
    let shell = format!("bash --noprofile --rcfile '{}' -i", rc.display());
    let keys = "securid-bulk ds100-clear-pin --config other.toml --profile \t\x15";
    let shown = type_into(&setup, &shell, &[], keys);
    assert!(shown.contains("--profile from-other-file"), "{shown:?}");
}

#[test]
fn zsh_completes_flags_values_profiles_operations_and_files() {
    if !installed("zsh") || !installed("script") {
        return;
    }
    let setup = setup("zsh", "_securid-bulk");
    let scripts = setup.script.parent().expect("a directory").to_owned();
    write(
        setup.dir.path(),
        ".zshrc",
        &format!(
            "fpath=('{}' $fpath)\nautoload -U compinit\ncompinit -u -D\nPS1='READY> '\n",
            scripts.display()
        ),
    );
    let shown = type_into(&setup, "zsh -i", &[("ZDOTDIR", setup.dir.path())], KEYS);
    assert_completed(&shown, "--dry-run");
}

#[test]
fn fish_completes_flags_values_profiles_operations_and_files() {
    if !installed("fish") {
        return;
    }
    let setup = setup("fish", "securid-bulk.fish");
    let complete = |line: &str| {
        let path = format!(
            "{}:{}",
            binary_dir().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let output = Command::new("fish")
            .args(["--no-config", "-c"])
            .arg(format!(
                "source '{}'; complete -C '{line}'",
                setup.script.display()
            ))
            .current_dir(setup.dir.path())
            .env("PATH", path)
            .env("HOME", setup.dir.path())
            .env("XDG_CONFIG_HOME", setup.dir.path().join("xdg"))
            .env_remove("SECURID_PROFILE")
            .output()
            .expect("fish runs");
        let words: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| line.split('\t').next().unwrap_or_default().to_owned())
            .collect();
        words
    };
    assert!(complete("securid-bulk ds100-clear-pin --dr").contains(&"--dry-run".to_owned()));
    assert_eq!(
        complete("securid-bulk ds100-clear-pin --format "),
        ["csv", "jsonl", "xlsx"]
    );
    assert_eq!(
        complete("securid-bulk ds100-clear-pin --profile "),
        ["prod-eu", "staging-us"]
    );
    assert!(complete("securid-bulk ds100-cl").contains(&"ds100-clear-pin".to_owned()));
    assert!(complete("securid-bulk ds100-clear-pin leavers-20")
        .contains(&"leavers-2024.csv".to_owned()));
}
