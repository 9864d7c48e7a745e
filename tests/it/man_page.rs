//! The man pages as `man` shows them: the main page documents an
//! operation's options under their headings, the exit status, the
//! environment, the files and examples; `man --dir` writes every page the
//! main page names. Rendered by `man` itself, else by `groff`; without
//! either, the roff sections are read directly.

use std::path::Path;
use std::process::Command;

use crate::fixture::{bin, code, stderr, temp_dir};

fn available(program: &str, probe: &str) -> bool {
    Command::new(program)
        .arg(probe)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The page as a reader sees it: plain text, 100 columns.
fn rendered(page: &Path) -> String {
    if available("man", "--version") {
        let output = Command::new("man")
            .args(["-P", "cat", "-l"])
            .arg(page)
            .env("MANWIDTH", "100")
            .env("MAN_KEEP_FORMATTING", "")
            .output()
            .expect("man runs");
        assert!(output.status.success(), "{}", stderr(&output));
        return plain(&output.stdout);
    }
    if available("groff", "--version") {
        let output = Command::new("groff")
            .args(["-man", "-Tutf8", "-P-cbou", "-rLL=100n"])
            .arg(page)
            .output()
            .expect("groff runs");
        return plain(&output.stdout);
    }
    eprintln!("neither man nor groff is installed: reading the roff source");
    std::fs::read_to_string(page)
        .expect("page")
        .replace("\\-", "-")
        .replace("\\fB", "")
        .replace("\\fR", "")
        .replace("\\fI", "")
        .replace(".SH ", "")
        .replace('"', "")
}

/// Overstrike bold (`X\bX`) and underline (`_\bX`) taken out.
fn plain(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn the_main_page_documents_options_exit_status_environment_files_and_examples() {
    let dir = temp_dir();
    let output = bin().arg("man").output().expect("runs");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let page = dir.path().join("securid-bulk.1");
    std::fs::write(&page, &output.stdout).unwrap();
    let text = rendered(&page);
    for heading in [
        "OPERATION OPTIONS",
        "INPUT AND OUTPUT",
        "TENANT AND CREDENTIALS",
        "PACE",
        "SAFETY",
        "LOGGING",
        "EXIT STATUS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
    ] {
        assert!(
            text.lines().any(|l| l.trim() == heading),
            "{heading}: {text}"
        );
    }
    // An operation's option, with its help.
    assert!(text.contains("--max-failure-rate"), "{text}");
    assert!(text.contains("Stop taking new rows once"), "{text}");
    let section = |name: &str| -> String {
        let start = text
            .lines()
            .position(|l| l.trim() == name)
            .expect("section");
        text.lines()
            .skip(start + 1)
            .take_while(|l| l.starts_with(' ') || l.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let exit = section("EXIT STATUS");
    for code in ["0", "1", "2", "130"] {
        assert!(
            exit.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} ")) || l.trim() == code),
            "{code}: {exit}"
        );
    }
    let environment = section("ENVIRONMENT");
    for variable in [
        "SECURID_TOKEN",
        "SECURID_BASE_URL",
        "SECURID_KEY_FILE",
        "SECURID_CLIENT_ID",
        "SECURID_CLIENT_KEY",
        "SECURID_ISSUER",
        "SECURID_PROFILE",
        "HTTPS_PROXY",
        "NO_PROXY",
        "RUST_LOG",
        "NO_COLOR",
        "XDG_CONFIG_HOME",
    ] {
        assert!(environment.contains(variable), "{variable}: {environment}");
    }
    assert!(section("FILES").contains("config.toml"), "{text}");
    assert!(
        section("EXAMPLES").contains("securid-bulk ds100-delete leavers.csv --dry-run"),
        "{text}"
    );
}

#[test]
fn man_dir_writes_every_page_the_main_page_names() {
    let dir = temp_dir();
    let man1 = dir.path().join("man1");
    let output = bin()
        .args(["man", "--dir"])
        .arg(&man1)
        .output()
        .expect("runs");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let main = std::fs::read_to_string(man1.join("securid-bulk.1")).expect("main page");
    let mut named: Vec<String> = main
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter_map(|word| word.strip_suffix("(1)"))
        .map(|name| name.replace("\\-", "-"))
        .filter(|name| name.starts_with("securid-bulk-"))
        .collect();
    named.sort();
    named.dedup();
    assert!(
        named.contains(&"securid-bulk-ds100-clear-pin".to_owned()),
        "{named:?}"
    );
    for name in &named {
        assert!(man1.join(format!("{name}.1")).is_file(), "{name}");
    }
    let listed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(listed.lines().count(), named.len() + 1, "{listed}");
    let text = rendered(&man1.join("securid-bulk-ds100-delete.1"));
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("Required columns: userId"), "{text}");
    assert!(text.contains("--dry-run"), "{text}");
    assert!(text.contains("securid-bulk(1)"), "{text}");
}

#[test]
fn the_roff_has_no_warnings() {
    if !available("groff", "--version") {
        eprintln!("skipped: groff is not installed");
        return;
    }
    let dir = temp_dir();
    let output = bin()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    for page in [
        "securid-bulk.1",
        "securid-bulk-ds100-clear-pin.1",
        "securid-bulk-mock.1",
    ] {
        let output = Command::new("groff")
            .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
            .arg(dir.path().join(page))
            .output()
            .expect("groff runs");
        assert!(output.stderr.is_empty(), "{page}: {}", stderr(&output));
    }
}
