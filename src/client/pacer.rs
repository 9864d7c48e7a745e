//! The pacer: the one place that decides when any worker may send. It holds
//! the run's single schedule of send slots, the adaptive rate that spaces
//! them (see [`super::adaptive`]), and the pause gate that a 429 closes for
//! every worker at once, because a 429 means the whole tenant is over quota,
//! not just the worker that was told.
//!
//! The schedule is a token bucket of our own rather than `governor`'s,
//! because the rate changes while workers wait and governor's quota is fixed
//! at construction. All state sits behind one std mutex that is only ever
//! held for a few arithmetic steps, never across an await.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::adaptive::{Rate, RateControl};

pub struct Pacer {
    state: Mutex<State>,
}

struct State {
    control: RateControl,
    /// The earliest instant the next slot may be given out.
    next_slot: Instant,
    paused_until: Option<Instant>,
    /// When a worker last had to wait for its slot.
    last_held: Option<Instant>,
}

/// What a worker is told to do next.
enum Turn {
    Go,
    WaitUntil(Instant),
}

impl Pacer {
    pub fn new(start: Rate) -> Self {
        let now = Instant::now();
        Pacer {
            state: Mutex::new(State {
                control: RateControl::new(start, now),
                next_slot: now,
                paused_until: None,
                last_held: None,
            }),
        }
    }

    /// Waits until this worker may send, and returns when that was. A worker
    /// woken by its slot inside a pause that began meanwhile takes a new slot
    /// after it, so the end of a pause is paced like any other time.
    pub async fn wait_turn(&self) -> Instant {
        let mut slot = None;
        loop {
            let turn = self.lock().turn(Instant::now(), &mut slot);
            match turn {
                Turn::Go => return Instant::now(),
                Turn::WaitUntil(t) => tokio::time::sleep_until(t).await,
            }
        }
    }

    /// Closes the gate for every worker for `delay` (never shortening a
    /// pause already in force).
    pub fn pause_all(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut state = self.lock();
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
        }
        state.next_slot = state.next_slot.max(until);
    }

    /// The tenant answered a request with anything but 429.
    pub fn accepted(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        let binding = state
            .last_held
            .is_some_and(|held| now.saturating_duration_since(held) < Duration::from_secs(1));
        state.control.accepted(now, binding);
    }

    /// The tenant answered a request sent at `sent_at` with 429.
    pub fn throttled(&self, sent_at: Instant) {
        self.lock().control.throttled(Instant::now(), sent_at);
    }

    /// The rate to report in the summary, if the run had to find one.
    pub fn settled_rate(&self) -> Option<f64> {
        self.lock().control.settled(Instant::now())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    /// One step of a worker's wait: past any pause, then to its slot, which
    /// `slot` remembers between steps.
    fn turn(&mut self, now: Instant, slot: &mut Option<Instant>) -> Turn {
        if let Some(until) = self.paused_until.filter(|t| *t > now) {
            *slot = None;
            return Turn::WaitUntil(until);
        }
        let Some(rate) = self.control.rate() else {
            return Turn::Go;
        };
        let at = *slot.get_or_insert_with(|| self.reserve(now, rate));
        if at > now {
            self.last_held = Some(now);
            return Turn::WaitUntil(at);
        }
        Turn::Go
    }

    /// Gives out the next slot. A tenth of a second's worth of slots may be
    /// owed to a worker that woke a little late, never more, so an idle
    /// spell does not become a burst.
    fn reserve(&mut self, now: Instant, rate: f64) -> Instant {
        let interval = Duration::from_secs_f64(1.0 / rate);
        let slack = Duration::from_millis(100).max(interval);
        let earliest = now.checked_sub(slack).unwrap_or(now);
        let at = self.next_slot.max(earliest);
        self.next_slot = at + interval;
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_later_caller() {
        let pacer = Pacer::new(Rate::Unlimited);
        pacer.pause_all(Duration::from_secs(5));
        let start = Instant::now();
        pacer.wait_turn().await;
        assert!(Instant::now() - start >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_pause_does_not_cut_a_longer_one() {
        let pacer = Pacer::new(Rate::Unlimited);
        pacer.pause_all(Duration::from_secs(5));
        pacer.pause_all(Duration::from_secs(1));
        let start = Instant::now();
        pacer.wait_turn().await;
        assert!(Instant::now() - start >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_rate() {
        let pacer = Pacer::new(Rate::Fixed(10.0));
        let start = Instant::now();
        for _ in 0..21 {
            pacer.wait_turn().await;
        }
        // The first second's slack lets one tenth of a second through early.
        assert!(Instant::now() - start >= Duration::from_millis(1900));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_rate_spaces_later_slots_wider() {
        let pacer = Pacer::new(Rate::Fixed(100.0));
        let sent = pacer.wait_turn().await;
        pacer.throttled(sent);
        let rate = pacer.settled_rate().unwrap();
        assert!(rate < 100.0, "{rate}");
        let start = Instant::now();
        for _ in 0..=rate as usize {
            pacer.wait_turn().await;
        }
        assert!(Instant::now() - start >= Duration::from_millis(900));
    }

    #[tokio::test(start_paused = true)]
    async fn slots_after_a_pause_start_when_it_ends() {
        let pacer = Pacer::new(Rate::Fixed(100.0));
        pacer.pause_all(Duration::from_secs(2));
        let start = Instant::now();
        pacer.wait_turn().await;
        assert!(Instant::now() - start >= Duration::from_secs(2));
    }
}
