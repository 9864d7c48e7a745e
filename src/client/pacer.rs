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
//!
//! Slots are kept to a tenth of a millisecond, not the runtime timer's
//! millisecond: a tenant whose burst allowance is one request refuses any
//! request that arrives sooner than its interval after the one before, and
//! timers that wake up to a millisecond late make every other gap a
//! millisecond short (see [`Timer`]).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::adaptive::{Rate, RateControl};

/// How long before a slot the precise timer takes over from the runtime's,
/// whose timers wake on the first whole millisecond at or after their
/// deadline.
const RUNTIME_TIMER_SLACK: Duration = Duration::from_millis(2);
/// Above this rate slots are closer than the runtime timer's millisecond
/// allows to keep anyway, and one thread sleep per slot would cost more CPU
/// than the precision is worth: tenants that take such rates have burst
/// allowances.
const PRECISE_UP_TO: f64 = 500.0;

/// The share of an interval owed to a slot taken late by its precise
/// waiter: a tenth of a millisecond at 100 a second, half the headroom a
/// fixed rate keeps for the jitter of arrivals.
const WAITED_SLACK: f64 = 0.01;

/// How a worker sleeps until its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The runtime's timer to two milliseconds before the slot, then a
    /// thread sleep for the rest, which the kernel keeps to some tens of
    /// microseconds. One worker per slot sleeps precisely; the others wait
    /// on the runtime's timer and find the slot taken.
    Precise,
    /// The paused clock of the simulations, whose timers also wake on
    /// whole milliseconds: a wake is taken to come at its deadline, as the
    /// precise timer's nearly does.
    #[cfg(test)]
    Simulated,
}

pub struct Pacer {
    state: Mutex<State>,
    timer: Timer,
}

struct State {
    control: RateControl,
    /// The earliest instant the next slot may be given out.
    next_slot: Instant,
    paused_until: Option<Instant>,
    /// When a worker last had to wait for its slot.
    last_held: Option<Instant>,
    /// The slot a worker is waiting for with the precise timer.
    precise_waiter: Option<Instant>,
    /// Whether the tenant has answered anything yet.
    answered: bool,
}

/// What a worker is told to do next.
#[derive(Debug, PartialEq)]
enum Turn {
    Go,
    WaitUntil(Instant),
    WaitPreciselyUntil(Instant),
}

impl Pacer {
    pub fn new(start: Rate, timer: Timer) -> Self {
        let now = Instant::now();
        Pacer {
            state: Mutex::new(State {
                control: RateControl::new(start, now),
                next_slot: now,
                paused_until: None,
                last_held: None,
                precise_waiter: None,
                answered: false,
            }),
            timer,
        }
    }

    /// Waits until this worker may send, and returns when that was. Workers
    /// wait for the next free slot and the first awake takes it, so a rate
    /// that changes while they wait (faster after a climb, slower after a
    /// cut) applies to the very next slot, not after a queue of slots given
    /// out at the old rate.
    pub async fn wait_turn(&self) -> Instant {
        let mut now = Instant::now();
        loop {
            let turn = self.lock().turn(now, self.timer);
            let deadline = match turn {
                Turn::Go => return now,
                Turn::WaitUntil(t) => {
                    tokio::time::sleep_until(t).await;
                    t
                }
                Turn::WaitPreciselyUntil(t) => {
                    sleep_precisely_until(t).await;
                    t
                }
            };
            now = self.woke_at(deadline);
        }
    }

    /// When a worker that slept until `_deadline` is taken to have woken.
    fn woke_at(&self, _deadline: Instant) -> Instant {
        match self.timer {
            Timer::Precise => Instant::now(),
            #[cfg(test)]
            Timer::Simulated => _deadline,
        }
    }

    /// Closes the gate for every worker for `delay` (never shortening a
    /// pause already in force): a `Retry-After` the tenant `asked` for, or
    /// a backoff of the run's own.
    pub fn pause_all(&self, delay: Duration, asked: bool) {
        let now = Instant::now();
        // The delay is capped before it gets here; a sum past the clock's
        // range is still no reason to panic.
        let Some(until) = now.checked_add(delay) else {
            return;
        };
        let mut state = self.lock();
        if state.paused_until.is_none_or(|current| current < until) {
            state.paused_until = Some(until);
            state.control.paused(now, delay, asked);
        }
        state.next_slot = state.next_slot.max(until);
    }

    /// The tenant answered a request with anything but 429.
    pub fn accepted(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        state.first_answer(now);
        let binding = state
            .last_held
            .is_some_and(|held| now.saturating_duration_since(held) < Duration::from_secs(1));
        state.control.accepted(now, binding);
    }

    /// The tenant answered a request sent at `sent_at` with 429; `cost` is
    /// the pause it brings: its `Retry-After`, or without one the backoff
    /// to expect (the wait actually drawn is random, and a short draw does
    /// not make the next 429 cheap).
    pub fn throttled(&self, sent_at: Instant, cost: Duration) {
        let now = Instant::now();
        let mut state = self.lock();
        state.first_answer(now);
        state.control.throttled(now, sent_at, cost);
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
    /// The run's first request also opened the connection, so it reached
    /// the tenant later than its slot, by as much as the set-up took; a
    /// second request sent on time over the open connection would arrive
    /// less than an interval after it, which a burst allowance of one
    /// refuses. Slots not yet given out when the first answer comes keep an
    /// interval from that answer, by which the first request had arrived.
    fn first_answer(&mut self, now: Instant) {
        if std::mem::replace(&mut self.answered, true) {
            return;
        }
        if let Some(rate) = self.control.rate() {
            self.next_slot = self.next_slot.max(now + interval(rate));
        }
    }

    /// One step of a worker's wait: past any pause, then to the next slot.
    fn turn(&mut self, now: Instant, timer: Timer) -> Turn {
        let rate = self.control.rate();
        if let Some(until) = self.paused_until.filter(|t| *t > now) {
            return self.wait_for(until, timer, rate);
        }
        let Some(rate) = rate else {
            return Turn::Go;
        };
        if self.next_slot > now {
            self.last_held = Some(now);
            return self.wait_for(self.next_slot, timer, Some(rate));
        }
        self.take_slot(now, rate);
        Turn::Go
    }

    /// Waits for `slot` (the end of a pause is the first slot after it):
    /// one worker with the precise timer, when the rate is one it keeps.
    fn wait_for(&mut self, slot: Instant, timer: Timer, rate: Option<f64>) -> Turn {
        let precise = timer == Timer::Precise
            && rate.is_some_and(|r| r <= PRECISE_UP_TO)
            && self.precise_waiter != Some(slot);
        if precise {
            self.precise_waiter = Some(slot);
            return Turn::WaitPreciselyUntil(slot);
        }
        Turn::WaitUntil(slot)
    }

    /// Takes the slot that is due. A tenth of a second's worth of slots may
    /// be owed to workers that came a little late (all of them busy when
    /// the slot was due), never more, so an idle spell does not become a
    /// burst, and one interval's worth keeps the rate whole when timers wake
    /// late. For a slot a worker was waiting for with the precise timer,
    /// only [`WAITED_SLACK`] of an interval is owed: the thread sleep's own
    /// lateness, not a runtime that was busy for half a millisecond. Nothing
    /// is owed once the tenant has refused a request sent at a rate that
    /// had held. A burst allowance may be as small as one request, and a
    /// slot taken late followed by one on time would arrive closer than the
    /// interval.
    fn take_slot(&mut self, now: Instant, rate: f64) {
        let interval = interval(rate);
        let waited_for = self.precise_waiter == Some(self.next_slot);
        let slack = if self.control.tight() {
            Duration::ZERO
        } else if waited_for {
            interval.mul_f64(WAITED_SLACK)
        } else if self.control.rate_was_cut() {
            interval
        } else {
            Duration::from_millis(100).max(interval)
        };
        let earliest = now.checked_sub(slack).unwrap_or(now);
        self.next_slot = self.next_slot.max(earliest) + interval;
    }
}

/// The time between two slots at `rate` requests per second.
fn interval(rate: f64) -> Duration {
    Duration::from_secs_f64(1.0 / rate)
}

/// Sleeps until `deadline` to within the kernel's timer slack: the
/// runtime's timer for all but the last [`RUNTIME_TIMER_SLACK`], then a
/// thread sleep off the runtime. Never wakes before `deadline`.
async fn sleep_precisely_until(deadline: Instant) {
    if let Some(coarse) = deadline.checked_sub(RUNTIME_TIMER_SLACK) {
        tokio::time::sleep_until(coarse).await;
    }
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return;
    }
    if tokio::task::spawn_blocking(move || std::thread::sleep(left))
        .await
        .is_err()
    {
        tokio::time::sleep_until(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_later_caller() {
        let pacer = Pacer::new(Rate::Unlimited, Timer::Simulated);
        pacer.pause_all(Duration::from_secs(5), true);
        let start = Instant::now();
        pacer.wait_turn().await;
        assert!(Instant::now() - start >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_pause_does_not_cut_a_longer_one() {
        let pacer = Pacer::new(Rate::Unlimited, Timer::Simulated);
        pacer.pause_all(Duration::from_secs(5), true);
        pacer.pause_all(Duration::from_secs(1), true);
        let start = Instant::now();
        pacer.wait_turn().await;
        assert!(Instant::now() - start >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn slots_are_spaced_by_the_rate() {
        let pacer = Pacer::new(Rate::Fixed(10.0), Timer::Simulated);
        let start = Instant::now();
        for _ in 0..21 {
            pacer.wait_turn().await;
        }
        // The first second's slack lets one tenth of a second through early.
        assert!(Instant::now() - start >= Duration::from_millis(1900));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cut_rate_spaces_later_slots_wider() {
        let pacer = Pacer::new(Rate::Fixed(100.0), Timer::Simulated);
        let sent = pacer.wait_turn().await;
        pacer.throttled(sent, Duration::from_millis(10));
        let rate = pacer.settled_rate().unwrap();
        assert!(rate < 100.0, "{rate}");
        let start = Instant::now();
        for _ in 0..=rate as usize {
            pacer.wait_turn().await;
        }
        assert!(Instant::now() - start >= Duration::from_millis(900));
    }

    #[tokio::test(start_paused = true)]
    async fn slots_after_the_first_answer_keep_an_interval_from_it() {
        let pacer = Pacer::new(Rate::Fixed(100.0), Timer::Simulated);
        let first = pacer.wait_turn().await;
        tokio::time::sleep(Duration::from_millis(6)).await;
        pacer.accepted();
        let second = pacer.wait_turn().await;
        assert!(
            second - first >= Duration::from_millis(16),
            "{:?}",
            second - first
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_end_of_a_pause_is_waited_for_precisely_as_the_next_slot() {
        let pacer = Pacer::new(Rate::Fixed(100.0), Timer::Precise);
        pacer.pause_all(Duration::from_secs(1), true);
        let now = Instant::now();
        let until = now + Duration::from_secs(1);
        let mut state = pacer.lock();
        assert_eq!(
            state.turn(now, Timer::Precise),
            Turn::WaitPreciselyUntil(until)
        );
        // One precise waiter per slot; the others wait on the runtime.
        assert_eq!(state.turn(now, Timer::Precise), Turn::WaitUntil(until));
        assert_eq!(state.next_slot, until);
    }

    #[tokio::test]
    async fn a_precise_sleep_never_wakes_before_its_deadline() {
        for micros in [0, 300, 1_700, 2_300, 3_100] {
            let deadline = Instant::now() + Duration::from_micros(micros);
            sleep_precisely_until(deadline).await;
            assert!(Instant::now() >= deadline);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn slots_after_a_pause_start_when_it_ends() {
        let pacer = Pacer::new(Rate::Fixed(100.0), Timer::Simulated);
        pacer.pause_all(Duration::from_secs(2), true);
        let start = Instant::now();
        pacer.wait_turn().await;
        assert!(Instant::now() - start >= Duration::from_secs(2));
    }
}
