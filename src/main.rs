//! The `securid-bulk` binary: parse the command line, run, map the outcome
//! to an exit code. Everything else lives in the library.

use std::io::Write as _;
use std::process::ExitCode;

use securid_bulk::cli::{self, Command};
use securid_bulk::{logging, ops, runner};

fn main() -> ExitCode {
    let command = match cli::parse() {
        Ok(command) => command,
        Err(e) => return fatal(anyhow::Error::new(e)),
    };
    let printed = match &command {
        Command::ListOperations => Some(Ok(ops::listing().into_bytes())),
        Command::ListProfiles(listing) => {
            Some(Ok(securid_bulk::terminal::printable(listing).into_bytes()))
        }
        Command::Completions(shell) => Some(Ok(cli::completions(*shell))),
        Command::Man(None) => Some(cli::man_page()),
        Command::Man(Some(dir)) => Some(cli::write_man_pages(dir).map(|written| {
            let lines: String = written
                .iter()
                .map(|path| format!("{}\n", path.display()))
                .collect();
            lines.into_bytes()
        })),
        _ => None,
    };
    if let Some(text) = printed {
        let written = text.and_then(|text| std::io::stdout().write_all(&text));
        return match written {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fatal(anyhow::Error::new(e).context("cannot write to stdout")),
        };
    }
    let runtime = match &command {
        Command::Run(_) => runner::runtime(),
        _ => tokio::runtime::Runtime::new(),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => return fatal(anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    let code = match command {
        Command::Run(config) => {
            logging::start(config.verbose, config.log_level, config.log_file.as_deref())
                .map_err(anyhow::Error::from)
                .and_then(|_guard| {
                    runtime
                        .block_on(runner::run(*config))
                        .map(|report| report.exit_code())
                        .map_err(anyhow::Error::from)
                })
        }
        #[cfg(feature = "mock")]
        Command::Mock(options) => runtime
            .block_on(securid_bulk::mock::run_standalone(*options))
            .map(|()| 0),
        _ => Ok(0),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(e) => fatal(e),
    }
}

fn fatal(error: impl Into<anyhow::Error>) -> ExitCode {
    let text = securid_bulk::outcome::error_chain(error.into().chain());
    eprintln!("error: {}", securid_bulk::terminal::printable(&text));
    ExitCode::from(1)
}
