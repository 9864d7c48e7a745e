//! Ctrl-C and SIGTERM, handled from the start of the run. Before any row is
//! sent (scanning, connecting, fetching a token, at the confirmation prompt)
//! a signal ends the run at once: nothing needs writing up. Once rows are
//! being sent, the first signal stops new work: rows in flight finish, every
//! remaining row is written as not attempted, and the summary prints the
//! command that carries on. A second signal leaves at once; every finished
//! row is already on disk, because the writer flushes each one. Quitting at
//! once removes the spooled copy of standard input first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{Halt, HaltReason};

/// The run's signal handlers, registered when made: from then on a signal is
/// the run's to handle, never the default that kills the process.
pub struct Signals {
    #[cfg(unix)]
    unix: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    /// Registers SIGINT and SIGTERM; needs the runtime.
    pub fn register() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let unix = signal(SignalKind::interrupt())
                .and_then(|int| Ok((int, signal(SignalKind::terminate())?)))
                .ok();
            Signals { unix }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.unix {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Until `sending` is set, a signal quits at once. After: the first stops
/// taking rows and lets requests in flight finish; the second quits.
pub async fn watch(mut signals: Signals, halt: Arc<Halt>, sending: Arc<AtomicBool>) {
    signals.next().await;
    if !sending.load(Ordering::SeqCst) {
        quit("interrupted before any row was sent: quitting; no row was sent");
    }
    halt.stop(HaltReason::Interrupted);
    eprintln!("interrupted: finishing requests in flight and writing results; press Ctrl-C again to quit at once");
    signals.next().await;
    quit("interrupted again: quitting; results for finished rows are on disk");
}

fn quit(message: &str) -> ! {
    eprintln!("{message}");
    // Quitting skips every destructor: a copy of standard input goes now.
    crate::output::files::remove_spools();
    std::process::exit(130);
}
