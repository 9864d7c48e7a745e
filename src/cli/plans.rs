//! The commands about plans: `show` and `approve` parsed, and an `apply`
//! run tied to its plan (the plan read and checked, its operation, tenant
//! and ticket taken unless the run names its own).

use std::path::PathBuf;

use super::{CliError, Command};
use crate::config::Flags;
use crate::ops;

pub(super) fn approve(sub: &clap::ArgMatches) -> Result<Command, CliError> {
    let path = sub.get_one::<PathBuf>("plan").cloned();
    let key = sub.get_one::<PathBuf>("key").cloned();
    match (path, key) {
        (Some(path), Some(key)) => Ok(Command::ApprovePlan { path, key }),
        _ => Err(CliError::Usage("approve: name a plan and --key".into())),
    }
}

pub(super) fn show(sub: &clap::ArgMatches) -> Result<Command, CliError> {
    let path = sub
        .get_one::<PathBuf>("plan")
        .cloned()
        .ok_or_else(|| CliError::Usage("show: name a plan file".into()))?;
    let format = match sub.get_one::<String>("format").map(String::as_str) {
        Some("csv") => crate::plan::show::ShowFormat::Csv,
        Some("jsonl") => crate::plan::show::ShowFormat::Jsonl,
        _ => crate::plan::show::ShowFormat::Text,
    };
    Ok(Command::ShowPlan { path, format })
}

/// `apply PLAN`: the plan read through and checked (digest, age), and the
/// operation it names.
pub(super) fn apply_plan(
    sub: &clap::ArgMatches,
) -> Result<(&'static ops::Operation, Option<Box<crate::plan::Applying>>), CliError> {
    let path = sub
        .get_one::<PathBuf>("input")
        .ok_or_else(|| CliError::Usage("apply: name a plan file".into()))?;
    let recheck = !sub.get_flag("no_recheck");
    let max_age = sub
        .get_one::<std::time::Duration>("max_age")
        .copied()
        .unwrap_or(crate::plan::DEFAULT_MAX_AGE);
    let applying = crate::plan::Applying::open(path, recheck, max_age)
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let name = &applying.plan.header.operation;
    let op = ops::CATALOG
        .iter()
        .copied()
        .find(|op| op.name == name)
        .ok_or_else(|| {
            CliError::Usage(format!(
                "{}: the plan names the operation {name:?}, which this build does not know",
                path.display()
            ))
        })?;
    Ok((op, Some(Box::new(applying))))
}

/// Ties a run to its plan, or refuses `--plan` where nothing changes.
pub(super) fn bind(
    op: &'static ops::Operation,
    flags: &mut Flags,
    applying: Option<Box<crate::plan::Applying>>,
) -> Result<(), CliError> {
    if let Some(applying) = applying {
        if flags.plan.is_some() {
            return Err(CliError::Usage(
                "apply sends a plan's changes; --plan makes a plan: give one of them".into(),
            ));
        }
        // The plan's tenant, unless the run names one (which must be it).
        if flags.base_url.is_none() && !flags.mock {
            match applying.plan.header.tenant.as_str() {
                crate::plan::SIMULATED_TENANT => flags.mock = true,
                tenant => flags.base_url = Some(tenant.to_owned()),
            }
        }
        // The plan's ticket is the apply's, unless it names another.
        match (&flags.ticket, &applying.plan.header.ticket) {
            (Some(given), Some(planned)) if given != planned => {
                return Err(CliError::Usage(format!(
                    "{} was made under ticket {planned}; --ticket {given} names another",
                    applying.path.display()
                )));
            }
            (None, Some(planned)) => flags.ticket = Some(planned.clone()),
            _ => {}
        }
        flags.apply = Some(applying);
    } else if flags.plan.is_some() && op.lists.is_some() {
        return Err(CliError::Usage(format!(
            "{} changes nothing, so there is nothing to plan",
            op.name
        )));
    }
    Ok(())
}
