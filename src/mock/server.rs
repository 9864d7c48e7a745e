//! The accept loop. It is hand-written over hyper's HTTP/1 connection
//! builder, not `axum::serve`, because an axum handler cannot drop a
//! connection: here the [`Gate`] service returns an error and hyper closes
//! the socket without an answer, which is what the reset fault needs.
//!
//! Shutdown: the loop stops accepting, every connection is told to finish its
//! in-flight answer and close, delayed answers are cut short by the gate, and
//! whatever is still running after a short grace period is aborted.

use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::gate::Gate;

/// How long connections get to finish after shutdown before being aborted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);
/// Pause after a failed accept (e.g. out of file descriptors), so the loop
/// does not spin while the condition lasts.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// An idle client that never sends its headers is dropped after this.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) async fn serve(listener: TcpListener, gate: Gate, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    // A receiver of its own for the connections: the loop's one is borrowed
    // by the `select!` below.
    let for_connections = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, gate.clone(), for_connections.clone()));
                }
                Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
            },
            // Reap finished connections so the set does not grow forever.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        connections.shutdown().await;
    }
}

async fn serve_connection(stream: TcpStream, gate: Gate, mut shutdown: watch::Receiver<bool>) {
    // Small answers; do not let Nagle hold them back.
    let _ = stream.set_nodelay(true);
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), gate);
    tokio::pin!(connection);
    tokio::select! {
        // Errors here are the client's or the reset fault's doing; the
        // connection is over either way and there is no one to tell.
        _ = connection.as_mut() => return,
        () = stopped(&mut shutdown) => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = connection.await;
}

/// Resolves once the server is stopping (or its owner is gone). Returns
/// nothing, so no lock guard of the channel lives across an `await`.
pub(crate) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}
