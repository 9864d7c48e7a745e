//! The environment variables of a run that are set but not used, and why,
//! for the banner before the first request.

use super::commands::{command, MOCK_REPLACES};
use super::profiles;

/// Every environment variable of the run's flags that is set but not used,
/// with why: a typed flag, the chosen profile, `--mock`, or credentials of
/// another kind won. Printed before the first request, so a leftover
/// variable that would have changed the tenant or credential is seen.
pub(super) fn unused_environment(
    operation: &str,
    matches: &clap::ArgMatches,
    from_profile: &[String],
    profile: Option<&profiles::Profile>,
    kept: &[crate::config::Given],
    mock: bool,
) -> Vec<String> {
    use clap::parser::ValueSource;
    let command = command();
    let Some(sub) = command.find_subcommand(operation) else {
        return Vec::new();
    };
    let strongest = kept.iter().map(|g| g.origin).max();
    let winner = kept
        .iter()
        .filter(|g| Some(g.origin) == strongest)
        .find(|g| g.names_the_credential())
        .map(crate::config::Given::shown);
    let mut notes = Vec::new();
    for arg in sub.get_arguments() {
        let (Some(env), Some(long)) = (arg.get_env(), arg.get_long()) else {
            continue;
        };
        if std::env::var_os(env).is_none_or(|v| v.is_empty()) {
            continue;
        }
        let id = arg.get_id().as_str();
        let flag = format!("--{long}");
        let why = match matches.value_source(id) {
            Some(ValueSource::EnvVariable)
                if is_credential(id) && kept.iter().all(|g| g.flag != flag) =>
            {
                format!(
                    "credentials of another kind win ({})",
                    winner.as_deref().unwrap_or("none")
                )
            }
            Some(ValueSource::EnvVariable) => continue,
            _ if from_profile.iter().any(|p| p == id) => format!(
                "profile {} sets {long}",
                profile.map_or("", |p| p.name.as_str())
            ),
            Some(ValueSource::CommandLine) => format!("{flag} was given"),
            _ if mock && MOCK_REPLACES.contains(&id) => {
                "--mock runs against the simulated tenant with its own token".to_owned()
            }
            _ => continue,
        };
        notes.push(format!(
            "{} is set but not used: {why}",
            env.to_string_lossy()
        ));
    }
    notes
}

/// Whether the argument `id` is a credential setting.
fn is_credential(id: &str) -> bool {
    matches!(
        id,
        "token" | "key_file" | "client_id" | "client_key" | "issuer"
    )
}
