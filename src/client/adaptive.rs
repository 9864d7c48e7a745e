//! The adaptive rate: how many requests per second the run may send, given
//! what the tenant has answered so far. Pure bookkeeping with the clock passed
//! in, so the pacer owns the timing and the tests own the clock.
//!
//! - `--rate auto` starts at [`AUTO_START`] and doubles every
//!   [`SLOW_START_DOUBLING`] while the tenant accepts ("slow start"), because
//!   quotas are unknown and climbing additively from a safe guess would take
//!   minutes.
//! - The tenant's capacity is measured, not guessed, two ways: the requests
//!   it accepted over the last [`ESTIMATE_WINDOW`] of *sending* time (time
//!   every worker spent paused by `Retry-After` left out, since nothing was
//!   sent then, and a whole-second pause after a 10 ms wait would halve the
//!   measure), and over the same stretch of wall-clock time with the
//!   pauses the tenant asked for (a window quota's wait to the window's end
//!   is its shape, and leaving it out doubles the measure), but not the
//!   run's own backoffs nor slow start's ramp.
//! - A 429 (once per congestion event: a 429 for a request sent before the
//!   last cut says nothing new) sets the rate just under a measure
//!   ([`MARGIN`] of it), not a blind multiplicative cut; see
//!   [`RateControl::next_level`] for which measure each case trusts.
//! - A 429 has a cost: the pause it brings (every worker waits out its
//!   `Retry-After`, or the backoff expected without one) times the rate is
//!   requests not sent. The cost sets how far a level that drew a 429 falls
//!   (3% when it is cheap, up to [`RECUT`] when it is a second) and how long
//!   the new level holds before probing: a plateau of pause ÷ (1 − margin),
//!   the time the margin needs to win one pause back (a 10 ms pause buys a
//!   short plateau, a whole second a long one), doubled each time a probe
//!   finds the same capacity again. Then it probes with convex growth, slow
//!   at first and then fast (as CUBIC does), so a quota that came back is
//!   found within seconds of the plateau's end.
//! - 429s close on each other's heels are a streak: the tenant refuses what
//!   it is sent, a bucket or window is empty at each of them, and what it
//!   accepted in between is its quota, whatever its burst. A streak that
//!   began at the level sets the level under that (a quota that shrank is
//!   followed in a few 429s, not one 3% step per 429).
//! - Slow start's measure cannot tell a small burst met as the ramp crossed
//!   the quota (it lands near half the quota) from a large one that carried
//!   the ramp to twice the quota (it lands on it): a level far under the
//!   rate slow start was refused at is probed quickly toward that rate
//!   ([`UNDER_BOUND`]), which becomes the level once it held; refused
//!   there, it is a level that drew a 429, and the level goes under it.
//!   That rate is the one the refused request was sent at: the ramp grew
//!   for its round trip.
//!
//! A fixed `--rate` is a ceiling, paced [`FIXED_HEADROOM`] under the rate
//! given; an unlimited run has none and adopts a rate only when the first
//! 429 arrives. Retry-After is not enforced here: the
//! pacer's pause gate honours it whatever the rate, and tells this module
//! about it so the estimate and the cost leave paused time out.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use clock::SendingClock;

/// Where `--rate auto` begins: low enough for any tenant.
pub const AUTO_START: f64 = 10.0;
/// How long slow start takes to double the rate.
const SLOW_START_DOUBLING: Duration = Duration::from_millis(250);
/// The sending time over which the tenant's acceptance is measured.
const ESTIMATE_WINDOW: Duration = Duration::from_secs(2);
/// The sending time over which slow start's acceptance is measured.
const SLOW_START_WINDOW: Duration = Duration::from_millis(500);
/// The sending time over which a probe's acceptance is measured.
const PROBE_WINDOW: Duration = Duration::from_secs(1);
/// The shortest sample the measure is trusted on: a tenant's burst
/// allowance or window lets a shorter one see far more than its quota.
const MIN_SAMPLE: Duration = Duration::from_secs(1);
/// The rate after a cut, as a share of what the tenant accepted.
const MARGIN: f64 = 0.97;
/// A level that drew a 429 before its plateau ended drops at least this much.
const RECUT: f64 = 0.9;
/// Bounds of the plateau, which is otherwise the time a probe needs to win
/// back the pause it may cost: pause ÷ (1 − [`MARGIN`]).
const MIN_PLATEAU: Duration = Duration::from_millis(500);
const MAX_PLATEAU: Duration = Duration::from_secs(60);
/// Convex probe: the rate grows by `PROBE_GAIN · s³` of its level `s`
/// seconds after the plateau (+3% after 1 s, +24% after 2 s, +81% after 3 s).
const PROBE_GAIN: f64 = 0.03;
/// A 429 whose pause is this short costs next to nothing: a probe that
/// met one may settle right under the rate it reached.
const CHEAP_PAUSE: Duration = Duration::from_millis(100);
/// A rate this far above its level is probing.
const PROBING: f64 = 1.02;
/// Two measures within this share of each other are the same capacity.
const SAME_CAPACITY: f64 = 0.1;
/// 429s no further apart than this (tenant clock, after the pause the
/// earlier one brought) are one streak: the
/// tenant is refusing what it is sent, so what it accepts meanwhile is its
/// quota (a bucket or a window is empty at each 429, and what it accepted
/// between two of them is what it let in).
const STREAK_GAP: Duration = Duration::from_millis(500);
/// The shortest streak whose acceptances are trusted as the quota: one
/// request more or less is a tenth of this at 33 a second.
const STREAK_MIN: Duration = Duration::from_millis(150);
/// A level this far under the rate slow start was refused at may be half
/// the quota: slow start's measure cannot tell a small burst met as the
/// ramp crossed the quota from a large one that carried it to twice the
/// quota, so a quick probe toward that rate follows.
const UNDER_BOUND: f64 = 0.85;
/// How fast the quick probe grows: to twice its level in a second.
const QUICK_PROBE_GAIN: f64 = 1.0;
/// How long the quick probe holds the rate slow start was refused at
/// without a 429 before it becomes the level.
const BOUND_HOLD: Duration = Duration::from_secs(2);
/// A streak's acceptances say what the tenant takes only when they are
/// this far under what the run sends.
const STREAK_BELOW: f64 = 0.9;
/// The rate never falls below this (requests per second).
const FLOOR: f64 = 0.5;
/// A fixed `--rate` is paced this much under the rate given. The tenant
/// counts arrivals, which jitter by some tenths of a millisecond: at exactly
/// N per second a window that holds N requests refuses every request that
/// arrives a hair before the one N earlier has aged out, and 2% keeps two
/// requests' room a second at 100 a second.
const FIXED_HEADROOM: f64 = 0.02;

/// How the run was told to pace itself (`--rate`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    Unlimited,
    Fixed(f64),
    /// Start at a safe rate and adapt to the tenant's answers.
    Auto,
}

/// Growth since the last cut: its level, when it began (sending time), how
/// long it holds.
#[derive(Debug, Clone, Copy)]
struct Epoch {
    level: f64,
    began: Duration,
    plateau: Duration,
}

#[derive(Debug)]
pub struct RateControl {
    /// Requests per second now; `None` while unlimited.
    rate: Option<f64>,
    /// A fixed `--rate` is never exceeded.
    ceiling: Option<f64>,
    slow_start: bool,
    clock: SendingClock,
    /// Time since the run began less only the backoffs the run chose itself
    /// (a 429 without `Retry-After`): pauses the tenant asked for stay in.
    tenant_clock: SendingClock,
    /// When (on the tenant clock) slow start ended: what the tenant accepted
    /// while the run was still doubling its rate says what the run sent,
    /// not what the tenant takes.
    ramp_ended: Duration,
    last_growth: Instant,
    last_cut: Option<Instant>,
    /// Sending times and tenant-clock times of the acceptances in the last
    /// [`ESTIMATE_WINDOW`] of sending time.
    recent: VecDeque<(Duration, Duration)>,
    accepted: u64,
    /// What the tenant accepted when it last refused (requests per second).
    capacity: Option<f64>,
    /// What the latest 429 cost: the pause it brought.
    last_pause: Duration,
    /// Probes in a row that found the same capacity.
    repeats: i32,
    epoch: Option<Epoch>,
    /// See [`RateControl::tight`].
    tight: bool,
    /// When (tenant clock, then sending time) the current streak of 429s
    /// began, how many requests had been accepted by then,
    /// and whether the rate was probing.
    streak: Option<(Duration, Duration, u64, bool)>,
    /// When (tenant clock) the pause the latest 429 brought ended.
    last_refusal: Duration,
    /// The rate slow start was refused at, while a level under it has not
    /// yet been probed up to it: see [`UNDER_BOUND`].
    bound: Option<f64>,
    /// Since when (sending time) the quick probe has held [`Self::bound`].
    at_bound_since: Option<Duration>,
    adapted: bool,
}

impl RateControl {
    pub fn new(start: Rate, now: Instant) -> Self {
        let (rate, ceiling, slow_start) = match start {
            Rate::Unlimited => (None, None, false),
            Rate::Fixed(r) => {
                let paced = (r * (1.0 - FIXED_HEADROOM)).max(FLOOR);
                (Some(paced), Some(paced), false)
            }
            Rate::Auto => (Some(AUTO_START), None, true),
        };
        RateControl {
            rate,
            ceiling,
            slow_start,
            clock: SendingClock::new(now),
            tenant_clock: SendingClock::new(now),
            ramp_ended: Duration::ZERO,
            last_growth: now,
            last_cut: None,
            recent: VecDeque::new(),
            accepted: 0,
            capacity: None,
            last_pause: Duration::ZERO,
            repeats: 0,
            epoch: None,
            tight: false,
            streak: None,
            last_refusal: Duration::ZERO,
            bound: None,
            at_bound_since: None,
            adapted: start == Rate::Auto,
        }
    }

    /// Requests per second allowed now; `None` is unlimited.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Whether the tenant has refused anything yet.
    pub fn rate_was_cut(&self) -> bool {
        self.last_cut.is_some()
    }

    /// Whether the tenant refused a request sent at a level that had held:
    /// its burst allowance is too small to absorb slots given out early.
    pub fn tight(&self) -> bool {
        self.tight
    }

    /// The rate to report at the end, if the run had to find one: always for
    /// `auto`, and for any run that met a 429. After a 429 it is the `--rate`
    /// that paces at the level just under what the tenant accepted, never
    /// at a probe above it nor more than the tenant accepted when it last
    /// refused; with no 429 it is what the tenant accepted on average while
    /// the run was sending, if lower than the rate.
    pub fn settled(&self, now: Instant) -> Option<f64> {
        let rate = self.rate.filter(|_| self.adapted)?;
        if let Some(epoch) = self.epoch {
            let accepted = self.capacity.unwrap_or(f64::INFINITY);
            // A --rate is paced under the rate given: the rate to pass is
            // the one that paces at this level.
            let to_pass = 1.0 / (1.0 - FIXED_HEADROOM);
            return Some((rate.min(epoch.level) * to_pass).min(accepted));
        }
        let sending = self.clock.now(now);
        let average = (sending >= SLOW_START_DOUBLING && self.accepted > 0)
            .then(|| self.accepted as f64 / sending.as_secs_f64());
        Some(average.map_or(rate, |avg| rate.min(avg)))
    }

    /// Every worker is paused from `now` for `delay`: a 429's Retry-After
    /// when `asked`, else a backoff of the run's own. The paused time is
    /// left out of the sending measures, and a backoff out of the
    /// tenant-clock measure too.
    pub fn paused(&mut self, now: Instant, delay: Duration, asked: bool) {
        // The pacer refuses a pause past the clock's range before this.
        let Some(until) = now.checked_add(delay) else {
            return;
        };
        self.clock.pause(now, until);
        if !asked {
            self.tenant_clock.pause(now, until);
        }
    }

    /// The tenant accepted a request (any answer but 429). `binding` says
    /// whether the rate made some worker wait lately: a rate nobody is held
    /// back by proves nothing, so it does not grow.
    pub fn accepted(&mut self, now: Instant, binding: bool) {
        self.accepted += 1;
        let sending = self.clock.now(now);
        self.recent.push_back((sending, self.tenant_clock.now(now)));
        while self
            .recent
            .front()
            .is_some_and(|(t, _)| *t + ESTIMATE_WINDOW < sending)
        {
            self.recent.pop_front();
        }
        let elapsed = now.saturating_duration_since(self.last_growth);
        self.last_growth = now;
        let Some(rate) = self.rate.filter(|_| binding) else {
            return;
        };
        let grown = match self.epoch {
            _ if self.slow_start => {
                rate * 2f64.powf(elapsed.as_secs_f64() / SLOW_START_DOUBLING.as_secs_f64())
            }
            Some(epoch) => self.probe_rate(epoch, sending),
            None => rate,
        };
        self.rate = Some(self.ceiling.map_or(grown, |c| grown.min(c)));
        self.hold_bound(sending);
    }

    /// The tenant refused a request sent at `sent_at` with a 429 that costs
    /// `cost`: its `Retry-After`, or the backoff expected without one.
    /// Returns whether the rate was cut.
    pub fn throttled(&mut self, now: Instant, sent_at: Instant, cost: Duration) -> bool {
        let streak = self.note_refusal(now, cost);
        if self.last_cut.is_some_and(|cut| sent_at < cut) {
            return false;
        }
        self.last_pause = cost;
        let sending = self.clock.now(now);
        let probing = self.probing();
        self.tight |= self.epoch.is_some() && !probing;
        let refused_at = self.rate_when_sent(now, sent_at);
        let ramp = self.slow_start;
        let (level, capacity) = self.next_level(sending, now, streak);
        let level = match (self.epoch, streak) {
            (Some(epoch), Some(accepted)) if !probing => {
                level.min((accepted * MARGIN).max(epoch.level * 0.5))
            }
            _ => level,
        };
        self.note_capacity(capacity, probing);
        let level = level.max(FLOOR);
        self.rate = Some(level);
        self.epoch = Some(Epoch {
            level,
            began: sending,
            plateau: self.plateau(),
        });
        if std::mem::replace(&mut self.slow_start, false) {
            self.ramp_ended = self.tenant_clock.now(now);
        }
        self.note_bound(ramp, probing, refused_at, level);
        self.last_cut = Some(now);
        self.last_growth = now;
        self.adapted = true;
        true
    }

    /// The level after a 429, and the capacity it measured, if any.
    ///
    /// - A probe above a level that held found the capacity between the two:
    ///   the level stays, unless the tenant accepted more meanwhile (by both
    ///   measures); when 429s are cheap, just under what the probe reached.
    ///   A quick probe refused at the very rate it aimed at goes under that
    ///   rate as a level that drew a 429 does.
    /// - A cheap 429 at the level (a quota that shrank, or a timer's
    ///   jitter) takes 3% off it: the next one costs as little.
    /// - A costly 429 at the level goes under what the tenant accepted by
    ///   the wall clock, pauses included, cut by at least [`Self::recut`]
    ///   and at most by half.
    /// - The first 429 goes under what the tenant accepted lately (the last
    ///   doubling of slow start), or 3% under the rate when it is cheap;
    ///   without enough sample, to half the rate (3% off when cheap).
    fn next_level(
        &self,
        sending: Duration,
        now: Instant,
        streak: Option<f64>,
    ) -> (f64, Option<f64>) {
        let rate = self.rate;
        match self.epoch {
            Some(epoch) if self.probing() => {
                let measured = self.measure(sending, PROBE_WINDOW, MIN_SAMPLE);
                let rate = rate.unwrap_or(epoch.level);
                // The quick probe reached the rate it aimed at, the tenant
                // took it a while, then refused: that rate lies just above
                // what the tenant takes, as a level that draws a 429 does,
                // and what the climb to it averaged says less.
                if let Some(bound) = self.bound.filter(|&b| rate >= b) {
                    return ((bound * self.recut()).max(epoch.level), measured);
                }
                let found = if self.cheap() {
                    rate.min(measured.unwrap_or(rate)) * MARGIN
                } else {
                    // Right after slow start (a quick probe), the wall
                    // clock's measure still holds the whole pause slow
                    // start's 429 brought: the probe's rate bounds it.
                    let wall = match self.bound {
                        Some(_) => rate * MARGIN,
                        None => self.measure_wall(now).unwrap_or(f64::INFINITY),
                    };
                    let accepted = measured.unwrap_or(0.0).min(wall).min(rate) * MARGIN;
                    let grew = accepted > epoch.level * (1.0 + SAME_CAPACITY);
                    if grew {
                        accepted
                    } else {
                        epoch.level
                    }
                };
                (found.max(epoch.level), measured)
            }
            Some(epoch) => {
                let since = sending.saturating_sub(epoch.began).min(ESTIMATE_WINDOW);
                let measured = self.measure(sending, since, MIN_SAMPLE);
                let level = epoch.level * self.recut();
                if self.cheap() {
                    return (level, measured);
                }
                // The wall clock's measure holds the pauses, which a
                // window's shape has and a bucket's has not; a streak of
                // 429s measured what either takes.
                let wall = self.measure_wall(now).map(|m| m.max(streak.unwrap_or(0.0)));
                let under = wall.map_or(f64::INFINITY, |m| m * MARGIN);
                (under.clamp(epoch.level * 0.5, level), measured)
            }
            None if self.slow_start => {
                let measured = self.measure(sending, SLOW_START_WINDOW, SLOW_START_WINDOW);
                let rate = rate.unwrap_or(AUTO_START);
                let level = match measured {
                    Some(m) if !self.cheap() => m.min(rate) * MARGIN,
                    _ => self.blind_cut(rate),
                };
                (level, measured)
            }
            None => {
                let measured = self.measure(sending, ESTIMATE_WINDOW, MIN_SAMPLE);
                let rate = rate.or(measured).unwrap_or(AUTO_START);
                let level = measured.map_or(self.blind_cut(rate), |m| m.min(rate) * MARGIN);
                (level, measured)
            }
        }
    }

    /// The rate the refused request was sent at. Slow start kept doubling
    /// its rate for the round trip since, and the rate reached meanwhile
    /// may lie above the tenant's quota where the refused one did not (a
    /// bucket with a burst of one refuses the ramp right at its quota).
    /// Growth waits while no worker is held back, so this never reads high.
    fn rate_when_sent(&self, now: Instant, sent_at: Instant) -> Option<f64> {
        let rate = self.rate?;
        if !self.slow_start {
            return Some(rate);
        }
        let round_trip = now.saturating_duration_since(sent_at).as_secs_f64();
        Some(rate / 2f64.powf(round_trip / SLOW_START_DOUBLING.as_secs_f64()))
    }

    /// The rate after a first 429 with nothing measured to go by: 3% off
    /// when it was cheap, half when it cost a pause.
    fn blind_cut(&self, rate: f64) -> f64 {
        if self.cheap() {
            rate * MARGIN
        } else {
            rate * 0.5
        }
    }

    /// Whether the latest 429 cost next to nothing.
    fn cheap(&self) -> bool {
        self.last_pause <= CHEAP_PAUSE
    }

    /// How far under a level that drew a 429 the rate goes at least: 3% when
    /// the pause costs a third of a second or less, up to [`RECUT`] when it
    /// costs a second or more. A deeper cut makes the next costly 429 less
    /// likely; a shallower one loses less rate for the rest of the run.
    fn recut(&self) -> f64 {
        let cut = self.last_pause.as_secs_f64() * (1.0 - RECUT);
        1.0 - cut.clamp(1.0 - MARGIN, 1.0 - RECUT)
    }
}

mod clock;
mod measure;
mod probe;
#[cfg(test)]
mod tests;
