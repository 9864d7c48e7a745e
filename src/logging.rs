//! The request log: `-v` on stderr, `--log-file FILE` appended as JSON
//! Lines (an audit trail that survives the terminal), both through
//! `tracing`. `RUST_LOG` overrides the terminal's level only: the audit
//! log's level is set by `--log-level`, or else by `-v` (requests at
//! least), so a filter left in the environment never empties it. Events carry method, path,
//! status, attempt and wait, inside the row's span (its input line), never
//! a header or a body: no token, key or assertion reaches a log.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::LogLevel;
use crate::output::{files, OutputError};

/// Starts the log for a run. Nothing is logged without `-v`, `--log-file`
/// or `RUST_LOG`.
pub fn start(
    verbose: u8,
    file_level: Option<LogLevel>,
    log_file: Option<&Path>,
) -> Result<(), OutputError> {
    let from_environment = std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty());
    if verbose == 0 && log_file.is_none() && from_environment.is_none() {
        return Ok(());
    }
    let level = LogLevel::of_verbosity(verbose).as_str();
    let file_level = file_level.unwrap_or(LogLevel::of_verbosity(verbose));
    let filter = |default: &str| match &from_environment {
        Some(spec) => EnvFilter::new(spec),
        None => EnvFilter::new(format!("securid_bulk={default}")),
    };
    let stderr = (verbose > 0 || from_environment.is_some()).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(|| AboveTheBar)
            .with_ansi(use_color())
            .with_target(false)
            .with_filter(filter(level))
    });
    let file = match log_file {
        Some(path) => Some(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .with_writer(Mutex::new(files::open_append(path)?))
                .with_filter(EnvFilter::new(format!(
                    "securid_bulk={}",
                    file_level.as_str()
                ))),
        ),
        None => None,
    };
    // A second start (tests in one process) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    Ok(())
}

/// stderr, through the progress bar when one is shown: a log line on a
/// terminal never lands on the bar's line.
struct AboveTheBar;

impl std::io::Write for AboveTheBar {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        crate::progress::write_stderr(bytes)?;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Colour only on a terminal, and never when `NO_COLOR` is set.
pub fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}
