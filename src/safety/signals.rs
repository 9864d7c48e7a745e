//! Ctrl-C and SIGTERM. The first signal stops new work: rows in flight
//! finish, every remaining row is written as not attempted, and the summary
//! prints the command that carries on. A second signal leaves at once; every
//! finished row is already on disk, because the writer flushes each one.

use std::sync::Arc;

use super::{Halt, HaltReason};

/// First Ctrl-C (or SIGTERM): stop taking rows, let requests in flight
/// finish. Second: leave at once; every finished row is already on disk.
pub async fn watch(halt: Arc<Halt>) {
    wait_for_signal().await;
    halt.stop(HaltReason::Interrupted);
    eprintln!("interrupted: finishing requests in flight and writing results; press Ctrl-C again to quit at once");
    wait_for_signal().await;
    eprintln!("interrupted again: quitting; results for finished rows are on disk");
    // Quitting skips every destructor: a copy of standard input goes now.
    crate::output::files::remove_spools();
    std::process::exit(130);
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
