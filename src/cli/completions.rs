//! Shell completion scripts: clap_complete's, mended where it falls short
//! for this binary. Its bash script names each subcommand's state in two
//! ways for a binary with a hyphen in its name (`securid__bulk__subcmd__x`
//! in the loop, `securid__subcmd__bulk__subcmd__x` in the `case` arms), so
//! no operation's flags would ever complete; and `--profile` completes the
//! profile names of the config file, which only the binary can read
//! (`securid-bulk profiles --names`).

use clap_complete::Shell;

/// The completion script for one shell.
pub fn script(shell: Shell, mut command: clap::Command) -> Vec<u8> {
    let mut generated = Vec::new();
    clap_complete::generate(shell, &mut command, BIN, &mut generated);
    let text = String::from_utf8_lossy(&generated).into_owned();
    let mended = match shell {
        Shell::Bash => mend_bash(&text),
        Shell::Zsh => mend_zsh(&text),
        Shell::Fish => mend_fish(&text),
        _ => text,
    };
    mended.into_bytes()
}

const BIN: &str = "securid-bulk";

fn mend_bash(text: &str) -> String {
    // The loop's spelling is the one the state is built with; the arms
    // follow it.
    let loop_prefix = BIN.replace('-', "__");
    let arm_prefix = BIN.replace('-', "__subcmd__");
    let text = text.replace(
        &format!("{arm_prefix}__subcmd__"),
        &format!("{loop_prefix}__subcmd__"),
    );
    let text = text.replace(
        "--profile)\n                    COMPREPLY=($(compgen -f \"${cur}\"))",
        "--profile)\n                    COMPREPLY=($(compgen -W \"$(_securid_bulk_profiles)\" -- \"${cur}\"))",
    );
    format!("{text}{BASH_PROFILES}")
}

/// The profile names of the config file the command line names (or the
/// default one).
const BASH_PROFILES: &str = r#"
_securid_bulk_profiles() {
    local i config=()
    for (( i = 1; i < COMP_CWORD; i++ )); do
        if [[ ${COMP_WORDS[i]} == --config ]]; then
            config=(--config "${COMP_WORDS[i+1]}")
        fi
    done
    "${COMP_WORDS[0]}" profiles --names "${config[@]}" 2>/dev/null
}
"#;

fn mend_zsh(text: &str) -> String {
    let text: String = text
        .lines()
        .map(|line| match line.starts_with("'--profile=[") {
            true => line.replace(":NAME:_default'", ":NAME:_securid-bulk_profiles'"),
            false => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Defined before the script's last lines, which call or register it.
    match text.rfind("\nif [ \"$funcstack[1]\"") {
        Some(at) => format!("{}\n{ZSH_PROFILES}{}\n", &text[..at], &text[at..]),
        None => format!("{text}\n{ZSH_PROFILES}"),
    }
}

const ZSH_PROFILES: &str = r#"(( $+functions[_securid-bulk_profiles] )) ||
_securid-bulk_profiles() {
    local -a names config
    local at=${words[(I)--config]}
    (( at )) && config=(--config ${(Q)words[at+1]})
    names=(${(f)"$(securid-bulk profiles --names $config 2>/dev/null)"})
    compadd -a names
}
"#;

fn mend_fish(text: &str) -> String {
    let text: String = text
        .lines()
        .map(
            |line| match line.contains(" -l profile -d ") && line.ends_with(" -r") {
                true => format!("{line} -f -a \"(__fish_securid_bulk_profiles)\""),
                false => line.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("\n");
    format!("{FISH_PROFILES}\n{text}\n")
}

const FISH_PROFILES: &str = r#"function __fish_securid_bulk_profiles
    set -l words (commandline -opc)
    set -l config
    if set -l at (contains -i -- --config $words)
        set config --config $words[(math $at + 1)]
    end
    securid-bulk profiles --names $config 2>/dev/null
end
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bash_arms_read_the_state_the_loop_builds() {
        let text = String::from_utf8(script(Shell::Bash, crate::cli::command())).unwrap();
        assert!(!text.contains("securid__subcmd__bulk"));
        assert!(text.contains("cmd=\"securid__bulk__subcmd__ds100__subcmd__clear__subcmd__pin\""));
        assert!(text.contains("        securid__bulk__subcmd__ds100__subcmd__clear__subcmd__pin)"));
        assert!(text.contains("$(_securid_bulk_profiles)"));
    }

    #[test]
    fn zsh_and_fish_ask_the_binary_for_profiles() {
        let zsh = String::from_utf8(script(Shell::Zsh, crate::cli::command())).unwrap();
        assert!(zsh.contains(":NAME:_securid-bulk_profiles'"));
        assert!(!zsh.contains("'--profile=[Profile of the config file to run with \\[default\\: none\\]]:NAME:_default'"));
        let fish = String::from_utf8(script(Shell::Fish, crate::cli::command())).unwrap();
        assert!(fish.contains("-a \"(__fish_securid_bulk_profiles)\""));
    }
}
