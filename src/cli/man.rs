//! The man pages, generated from the same definitions as `--help`
//! (clap_mangen): `securid-bulk(1)` with every operation's options, exit
//! status, environment, files and examples, and one
//! `securid-bulk-<command>(1)` page per subcommand, so every page the main
//! page names exists once `man --dir` has written them.

use std::io;
use std::path::{Path, PathBuf};

use clap_mangen::roff::{bold, italic, roman, Inline, Roff};
use clap_mangen::Man;

/// The main page, in roff.
pub fn main_page(command: clap::Command) -> io::Result<Vec<u8>> {
    let command = command.disable_help_subcommand(true);
    let man = Man::new(command.clone());
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    let mut head = Roff::new();
    head.control("nh", []);
    head.control("ad", ["l"]);
    page.extend(head.to_roff().into_bytes());
    // Each section renders with roff's preamble; the page needs it once.
    let preamble = preamble_of(&page);
    let section = |render: &dyn Fn(&mut Vec<u8>) -> io::Result<()>| -> io::Result<Vec<u8>> {
        let mut section = Vec::new();
        render(&mut section)?;
        Ok(without_preamble(&section, &preamble).to_vec())
    };
    page.extend(section(&|w| man.render_name_section(w))?);
    page.extend(section(&|w| man.render_synopsis_section(w))?);
    page.extend(section(&|w| man.render_description_section(w))?);
    page.extend(section(&|w| man.render_options_section(w))?);
    page.extend(section(&|w| man.render_subcommands_section(w))?);
    if let Some(operation) = first_operation(&command) {
        page.extend(operation_options(&operation, &preamble)?);
    }
    page.extend(our_sections(&command).to_roff().into_bytes());
    page.extend(section(&|w| man.render_version_section(w))?);
    Ok(page)
}

/// Writes `securid-bulk.1` and one page per subcommand into `dir`; returns
/// the paths written.
pub fn write_pages(command: clap::Command, dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let main = dir.join("securid-bulk.1");
    std::fs::write(&main, main_page(command.clone())?)?;
    let mut written = vec![main];
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = Man::new(sub.clone());
        let path = dir.join(man.get_filename());
        std::fs::write(&path, command_page(&man, sub)?)?;
        written.push(path);
    }
    Ok(written)
}

/// One command's page: its help page line by line (clap_mangen would fill
/// the lines of the columns and examples into one paragraph), its options,
/// and a pointer to the main page.
fn command_page(man: &Man, command: &clap::Command) -> io::Result<Vec<u8>> {
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    let mut head = Roff::new();
    head.control("nh", []);
    head.control("ad", ["l"]);
    page.extend(head.to_roff().into_bytes());
    let mut rest = Vec::new();
    man.render_name_section(&mut rest)?;
    man.render_synopsis_section(&mut rest)?;
    let preamble = preamble_of(&page);
    page.extend_from_slice(&strip_all(&rest, &preamble));
    page.extend(description(command).to_roff().into_bytes());
    let mut options = Vec::new();
    man.render_options_section(&mut options)?;
    page.extend_from_slice(&strip_all(&options, &preamble));
    page.extend(see_also_main().to_roff().into_bytes());
    Ok(page)
}

fn description(command: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["DESCRIPTION"]);
    let text = command
        .get_long_about()
        .or_else(|| command.get_about())
        .map(ToString::to_string)
        .unwrap_or_default();
    for line in text.lines() {
        if line.trim().is_empty() {
            roff.control("PP", []);
        } else {
            roff.text([roman(line)]);
            roff.control("br", []);
        }
    }
    roff
}

fn preamble_of(page: &[u8]) -> String {
    String::from_utf8_lossy(page)
        .split(".TH")
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Sections rendered one after another each carry the preamble.
fn strip_all(rendered: &[u8], preamble: &str) -> Vec<u8> {
    String::from_utf8_lossy(rendered)
        .replace(preamble, "")
        .into_bytes()
}

fn without_preamble<'a>(section: &'a [u8], preamble: &str) -> &'a [u8] {
    section.strip_prefix(preamble.as_bytes()).unwrap_or(section)
}

fn first_operation(command: &clap::Command) -> Option<clap::Command> {
    let name = crate::ops::commands().next()?.name;
    command.find_subcommand(name).cloned()
}

/// The options every operation takes, under their help headings.
fn operation_options(operation: &clap::Command, preamble: &str) -> io::Result<Vec<u8>> {
    let names: Vec<&str> = crate::ops::commands().map(|op| op.name).collect();
    let mut intro = Roff::new();
    intro.control("SH", ["OPERATION OPTIONS"]);
    intro.text([roman(format!(
        "Every operation ({}) takes one input file and these options; \
         each operation's own page, listed above, and its --help add what it \
         does, its columns and its HTTP call.",
        names.join(", ")
    ))]);
    let mut out = intro.to_roff().into_bytes();
    let mut options = Vec::new();
    Man::new(operation.clone()).render_options_section(&mut options)?;
    let options = String::from_utf8_lossy(without_preamble(&options, preamble)).into_owned();
    // The operation's headings become subsections of this one.
    out.extend(options.replace(".SH ", ".SS ").into_bytes());
    Ok(out)
}

fn our_sections(command: &clap::Command) -> Roff {
    let mut roff = Roff::new();
    exit_status(&mut roff);
    environment(&mut roff, command);
    files(&mut roff);
    examples(&mut roff);
    see_also(&mut roff, command);
    roff
}

fn entry(roff: &mut Roff, term: Vec<Inline>, text: &str) {
    roff.control("TP", []);
    roff.text(term);
    roff.text([roman(text)]);
}

fn exit_status(roff: &mut Roff) {
    roff.control("SH", ["EXIT STATUS"]);
    for (code, text) in [
        ("0", "Every row ok (or valid in a dry run); skipped rows count as fine. Also a listing, a page or a script printed."),
        ("1", "Fatal, nothing more was sent: no command or bad flags, unreadable input, no credentials, an output that exists (without --force) or cannot be created, a destructive run not confirmed, the credentials breaker or the unreachable bound."),
        ("2", "Some rows failed, were invalid or not attempted, or a halt threshold (--max-failures, --max-failure-rate) stopped the run: the retry file holds the rows still to do."),
        ("130", "Interrupted (Ctrl-C or SIGTERM); the summary prints the command that carries on."),
    ] {
        entry(roff, vec![bold(code)], text);
    }
}

/// Variables read outside clap's `env =`, with what they do.
const OTHER_VARIABLES: &[(&str, &str)] = &[
    ("HTTPS_PROXY, https_proxy, ALL_PROXY, all_proxy", "Proxy for requests to an https:// tenant, unless --proxy or --no-proxy is given."),
    ("NO_PROXY, no_proxy", "Hosts, domains and address ranges reached without the proxy."),
    ("SSL_CERT_FILE, SSL_CERT_DIR", "Certificate authorities an https:// tenant, token endpoint or proxy is checked against, instead of the system's."),
    ("RUST_LOG", "Overrides the level of the request log (-v, --log-file), e.g. securid_bulk=debug."),
    ("NO_COLOR", "When set and not empty, the request log on stderr has no colour."),
    ("XDG_CONFIG_HOME, HOME", "Where the default config file is: $XDG_CONFIG_HOME/securid-bulk/config.toml, else ~/.config/securid-bulk/config.toml; ~/ in a profile's paths is $HOME."),
    ("TMPDIR", "Where standard input (-) is kept while a run reads it twice."),
    ("COLUMNS", "Width of the help text."),
];

fn environment(roff: &mut Roff, command: &clap::Command) {
    roff.control("SH", ["ENVIRONMENT"]);
    roff.text([roman(
        "A command-line flag beats its variable, which beats a profile of the config file.",
    )]);
    let mut seen: Vec<String> = Vec::new();
    for sub in command.get_subcommands() {
        for arg in sub.get_arguments() {
            let Some(variable) = arg.get_env() else {
                continue;
            };
            let variable = variable.to_string_lossy().into_owned();
            if seen.contains(&variable) {
                continue;
            }
            let flag = arg
                .get_long()
                .map_or_else(String::new, |l| format!("--{l}"));
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            let scope = match crate::ops::find(sub.get_name()) {
                Some(_) => String::new(),
                None => format!(" ({})", sub.get_name()),
            };
            entry(
                roff,
                vec![bold(variable.as_str())],
                &format!("As {flag}{scope}: {help}"),
            );
            seen.push(variable);
        }
    }
    for (names, text) in OTHER_VARIABLES {
        entry(roff, vec![bold(*names)], text);
    }
}

fn files(roff: &mut Roff) {
    roff.control("SH", ["FILES"]);
    for (name, text) in [
        ("$XDG_CONFIG_HOME/securid-bulk/config.toml", "The profiles (--profile NAME, --config FILE): one [profiles.NAME] table each, whose keys are long flag names. No token is read from it. securid-bulk profiles lists them."),
        ("INPUT.results.csv", "The results, beside the input: the input's columns, then outcome, HTTP status, attempts and message, one line per input row (.results.jsonl with --format jsonl; stdin.results.csv in the current directory for -; -o names another file)."),
        ("INPUT.results.xlsx", "With --format xlsx: a workbook made from the results CSV when the run ends, every cell text."),
        ("INPUT.retry.csv", "Beside the results: the input rows still to do (failed or not attempted), ready to run again."),
        ("INPUT.resume-N.results.csv", "The results of a run with --resume, which never overwrites the results it resumes from."),
    ] {
        entry(roff, vec![italic(name)], text);
    }
}

fn examples(roff: &mut Roff) {
    roff.control("SH", ["EXAMPLES"]);
    for (what, command) in [
        (
            "Clear the PINs of the users in a ticket's export:",
            "securid-bulk ds100-clear-pin pins.csv --key-file ~/securid/admin.key",
        ),
        (
            "Check every row of a file, sending nothing:",
            "securid-bulk ds100-delete leavers.csv --dry-run",
        ),
        (
            "Prove the emails and serials of a file resolve, sending only lookups:",
            "securid-bulk ds100-disable leavers.csv --dry-run=lookup --profile prod",
        ),
        (
            "Disable the leavers' DS100 credentials with a profile, five rows first:",
            "securid-bulk ds100-disable leavers.csv --profile prod --limit 5",
        ),
        (
            "Carry on after an interruption, skipping the rows already done:",
            "securid-bulk ds100-disable leavers.csv --profile prod --resume leavers.results.csv",
        ),
        (
            "Read the leavers straight from a workbook's sheet, with an HR export's column name:",
            "securid-bulk ds100-disable leavers.xlsx --sheet Leavers --column userId=\"Employee ID\" --dry-run",
        ),
        (
            "Try any operation against the built-in simulated tenant:",
            "securid-bulk ds100-clear-pin samples/ds100-clear-pin.csv --mock",
        ),
        (
            "Install this page and one per command:",
            "securid-bulk man --dir ~/.local/share/man/man1",
        ),
    ] {
        roff.control("PP", []);
        roff.text([roman(what)]);
        roff.control("RS", ["4"]);
        roff.control("nf", []);
        roff.text([bold(command)]);
        roff.control("fi", []);
        roff.control("RE", []);
    }
}

fn see_also(roff: &mut Roff, command: &clap::Command) {
    roff.control("SH", ["SEE ALSO"]);
    let pages: Vec<String> = command
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| format!("securid-bulk-{}(1)", s.get_name()))
        .collect();
    roff.text([roman(format!(
        "{}. The documentation pages (docs/) of the source distribution cover \
         input, results, safety, profiles, authentication and rate control at length.",
        pages.join(", ")
    ))]);
}

fn see_also_main() -> Roff {
    let mut roff = Roff::new();
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman(
        "securid-bulk(1), for the exit status, environment, files and examples.",
    )]);
    roff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_clap_reads_is_in_the_environment_section() {
        let command = crate::cli::command();
        let page = String::from_utf8(main_page(command.clone()).unwrap()).unwrap();
        let mut count = 0;
        for sub in command.get_subcommands() {
            for variable in sub.get_arguments().filter_map(|a| a.get_env()) {
                let variable = variable.to_string_lossy();
                count += 1;
                assert!(page.contains(&format!("\\fB{variable}\\fR")), "{variable}");
            }
        }
        assert!(count >= 7);
        for section in [
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "OPERATION OPTIONS",
        ] {
            assert!(
                page.contains(&format!(".SH \"{section}\""))
                    || page.contains(&format!(".SH {section}")),
                "{section}"
            );
        }
        assert_eq!(page.matches(".ie \\n(.g").count(), 1, "one preamble");
    }
}
