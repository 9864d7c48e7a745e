//! The `securid-bulk` binary: parse the command line, run, map the outcome
//! to an exit code. Everything else lives in the library.

use std::process::ExitCode;

use securid_bulk::cli::{self, Command};
use securid_bulk::{ops, runner};

fn main() -> ExitCode {
    let command = match cli::parse() {
        Ok(command) => command,
        Err(e) => return fatal(anyhow::Error::new(e)),
    };
    if let Command::ListOperations = command {
        print!("{}", ops::listing());
        return ExitCode::SUCCESS;
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
        Command::Run(config) => runtime
            .block_on(runner::run(*config))
            .map(|report| report.exit_code())
            .map_err(anyhow::Error::from),
        #[cfg(feature = "mock")]
        Command::Mock(options) => runtime
            .block_on(securid_bulk::mock::run_standalone(*options))
            .map(|()| 0),
        Command::ListOperations => Ok(0),
    };
    match code {
        Ok(code) => ExitCode::from(code),
        Err(e) => fatal(e),
    }
}

fn fatal(error: impl Into<anyhow::Error>) -> ExitCode {
    eprintln!("error: {:#}", error.into());
    ExitCode::from(1)
}
