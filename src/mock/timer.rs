//! The simulated tenant's delays, kept to a fraction of a millisecond. The
//! runtime's timer counts whole milliseconds and wakes late, so a tenant
//! asked for a latency would answer later than asked and a latency-bound
//! measurement would blame the client for the difference. One thread keeps
//! the deadlines in order and sleeps until the next one.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// Started on the first delay, so a tenant without delays has no thread;
/// the thread ends when the timer is dropped.
#[derive(Default)]
pub(crate) struct PreciseTimer {
    deadlines: OnceLock<Option<mpsc::Sender<Wake>>>,
}

struct Wake {
    at: Instant,
    fire: oneshot::Sender<()>,
}

impl PreciseTimer {
    pub async fn sleep(&self, duration: Duration) {
        let at = Instant::now() + duration;
        let (fire, fired) = oneshot::channel();
        let sent = match self.deadlines.get_or_init(start) {
            Some(deadlines) => deadlines.send(Wake { at, fire }).is_ok(),
            None => false,
        };
        if !sent || fired.await.is_err() {
            // No timer thread: the runtime's timer is late, not wrong.
            tokio::time::sleep_until(at.into()).await;
        }
    }
}

fn start() -> Option<mpsc::Sender<Wake>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("mock-timer".into())
        .spawn(move || keep_time(rx))
        .ok()?;
    Some(tx)
}

fn keep_time(deadlines: mpsc::Receiver<Wake>) {
    let mut pending = BinaryHeap::new();
    loop {
        let now = Instant::now();
        while pending.peek().is_some_and(|w: &Wake| w.at <= now) {
            if let Some(wake) = pending.pop() {
                let _ = wake.fire.send(());
            }
        }
        let next = match pending.peek() {
            Some(wake) => deadlines.recv_timeout(wake.at - now),
            None => deadlines.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match next {
            Ok(wake) => pending.push(wake),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Earliest deadline first in a max-heap.
impl Ord for Wake {
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.cmp(&self.at)
    }
}

impl PartialOrd for Wake {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Wake {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}

impl Eq for Wake {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_deadline_comes_out_first() {
        let now = Instant::now();
        let mut pending = BinaryHeap::new();
        for ms in [30u64, 10, 20] {
            let (fire, _) = oneshot::channel();
            let at = now + Duration::from_millis(ms);
            pending.push(Wake { at, fire });
        }
        let order: Vec<Instant> = std::iter::from_fn(|| pending.pop().map(|w| w.at)).collect();
        let ms = |at: Instant| (at - now).as_millis();
        assert_eq!(order.into_iter().map(ms).collect::<Vec<_>>(), [10, 20, 30]);
    }

    #[tokio::test]
    async fn a_sleep_never_ends_early() {
        let timer = PreciseTimer::default();
        for ms in [0u64, 3, 1] {
            let started = Instant::now();
            timer.sleep(Duration::from_millis(ms)).await;
            assert!(started.elapsed() >= Duration::from_millis(ms), "{ms} ms");
        }
    }
}
