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

/// How late a timer may wake: tokio's timers have millisecond resolution.
const TIMER_LATENESS: Duration = Duration::from_millis(1);

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

    /// Waits until this worker may send, and returns when that was. Workers
    /// wait for the next free slot and the first awake takes it, so a rate
    /// that changes while they wait (faster after a climb, slower after a
    /// cut) applies to the very next slot, not after a queue of slots given
    /// out at the old rate.
    pub async fn wait_turn(&self) -> Instant {
        loop {
            let turn = self.lock().turn(Instant::now());
            match turn {
                Turn::Go => return Instant::now(),
                Turn::WaitUntil(t) => tokio::time::sleep_until(t).await,
            }
        }
    }

    /// Closes the gate for every worker for `delay` (never shortening a
    /// pause already in force).
    pub fn pause_all(&self, delay: Duration) {
        let now = Instant::now();
        let until = now + delay;
        let mut state = self.lock();
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
            state.control.paused(now, delay);
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

    /// The rate in force (for the controller's simulations).
    #[cfg(test)]
    pub fn current_rate(&self) -> Option<f64> {
        self.lock().control.rate()
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
    /// One step of a worker's wait: past any pause, then to the next slot.
    fn turn(&mut self, now: Instant) -> Turn {
        if let Some(until) = self.paused_until.filter(|t| *t > now) {
            return Turn::WaitUntil(until);
        }
        let Some(rate) = self.control.rate() else {
            return Turn::Go;
        };
        if self.next_slot > now {
            self.last_held = Some(now);
            return Turn::WaitUntil(self.next_slot);
        }
        self.take_slot(now, rate);
        Turn::Go
    }

    /// Takes the slot that is due. A tenth of a second's worth of slots may
    /// be owed to workers that woke a little late, never more, so an idle
    /// spell does not become a burst, and one interval's worth keeps the
    /// rate whole when timers wake late. Once the tenant has refused a
    /// request sent at a rate that had held, only the timer's own lateness
    /// (a millisecond) is owed: its burst allowance may be as small as one
    /// request, and two slots given out much closer than the interval would
    /// overrun it.
    fn take_slot(&mut self, now: Instant, rate: f64) {
        let interval = Duration::from_secs_f64(1.0 / rate);
        let slack = if self.control.tight() {
            TIMER_LATENESS.min(interval)
        } else if self.control.rate_was_cut() {
            interval
        } else {
            Duration::from_millis(100).max(interval)
        };
        let earliest = now.checked_sub(slack).unwrap_or(now);
        self.next_slot = self.next_slot.max(earliest) + interval;
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
