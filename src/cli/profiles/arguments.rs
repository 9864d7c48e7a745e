//! A profile turned into the run's command line: the words it adds for the
//! flags not typed (nor conflicting with a typed one), and where a value
//! the run's flags refused came from.

use super::{home_expanded, FlagValue, Profile};

/// Whether `arg` declares a conflict with `other`.
fn conflict(command: &clap::Command, arg: &clap::Arg, other: &clap::Arg) -> bool {
    command
        .get_arg_conflicts_with(arg)
        .iter()
        .any(|a| a.get_id() == other.get_id())
}

impl Profile {
    /// The arguments this profile adds for the flags `given` does not
    /// already set on the command line, nor a flag that conflicts with a
    /// typed one (a profile's tenant yields to `--mock`). A profile chosen
    /// by name wins over the environment for every key it sets: the
    /// profile's arguments are typed words to clap, which beat its `env`.
    pub fn arguments(
        &self,
        command: &clap::Command,
        given: &clap::ArgMatches,
    ) -> (Vec<String>, Vec<String>) {
        let is_given =
            |id: &str| given.value_source(id) == Some(clap::parser::ValueSource::CommandLine);
        let mut words = Vec::new();
        let mut ids = Vec::new();
        for (key, value, _) in &self.flags {
            let Some(arg) = command.get_arguments().find(|a| a.get_long() == Some(key)) else {
                continue;
            };
            let id = arg.get_id().as_str();
            // clap keeps a conflict on the argument that declared it:
            // look both ways.
            let conflicting = command.get_arguments().any(|other| {
                is_given(other.get_id().as_str())
                    && (conflict(command, arg, other) || conflict(command, other, arg))
            });
            if is_given(id) || conflicting {
                continue;
            }
            // A counted flag (`verbose = 2`) is the flag given that often.
            let counted = match (arg.get_action(), value) {
                (clap::ArgAction::Count, FlagValue::Text(text)) => text.parse::<u8>().ok(),
                _ => None,
            };
            match value {
                _ if counted.is_some() => {
                    let times = counted.unwrap_or_default().into();
                    words.extend(std::iter::repeat_n(format!("--{key}"), times));
                }
                FlagValue::Text(text) => words.push(format!("--{key}={}", home_expanded(text))),
                FlagValue::Switch(true) => words.push(format!("--{key}")),
                FlagValue::Switch(false) => continue,
            }
            ids.push(id.to_owned());
        }
        (words, ids)
    }

    /// Where a value the run's flags refused came from: `clap`'s error for
    /// the flag `--long`, with this profile, its file and the key's line.
    pub fn explain(&self, long: Option<&str>, refusal: &str) -> String {
        let line = long
            .and_then(|long| self.flags.iter().find(|(key, _, _)| key == long))
            .map_or_else(String::new, |(_, _, line)| format!(":{line}"));
        format!(
            "profile {} in {}{line}: {refusal}",
            self.name,
            self.path.display()
        )
    }
}
