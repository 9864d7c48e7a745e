//! The adaptive rate: how many requests per second the run may send, given
//! what the tenant has answered so far. Pure bookkeeping with the clock passed
//! in, so the pacer owns the timing and the tests own the clock.
//!
//! The scheme is AIMD, as in TCP congestion control:
//! - `--rate auto` starts at [`AUTO_START`] and doubles every
//!   [`SLOW_START_DOUBLING`] while the tenant accepts ("slow start"), because
//!   quotas are unknown and climbing additively from a safe guess would take
//!   minutes;
//! - a 429 cuts the rate multiplicatively, once per congestion event: a 429
//!   for a request sent before the last cut says nothing new. The cut goes to
//!   [`DECREASE`] of the rate, or to the average rate the tenant has accepted
//!   since the run began if that is lower: a tenant's burst allowance hides
//!   its quota until it is used up, and the long-run average is the best
//!   estimate of the quota that the client can see;
//! - while the tenant accepts, the rate creeps back up by a fixed step per
//!   second ([`INCREASE`] of the rate right after the last cut), never above
//!   a fixed `--rate`.
//!
//! A fixed `--rate` is a ceiling; an unlimited run has none and adopts a rate
//! only when the first 429 arrives. Retry-After is not handled here: the
//! pacer's pause gate honours it whatever the rate.

use std::time::Duration;

use tokio::time::Instant;

/// Where `--rate auto` begins: low enough for any tenant.
pub const AUTO_START: f64 = 10.0;
/// How long slow start takes to double the rate.
const SLOW_START_DOUBLING: Duration = Duration::from_millis(500);
/// The share of the rate kept on a 429.
const DECREASE: f64 = 0.85;
/// The additive step, per second, as a share of the rate after the last cut.
const INCREASE: f64 = 0.05;
/// The rate never falls below this (requests per second).
const FLOOR: f64 = 0.5;
/// The average accepted rate is only trusted after this much of a run.
const MIN_SAMPLE: Duration = Duration::from_millis(500);

/// How the run was told to pace itself (`--rate`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    Unlimited,
    Fixed(f64),
    /// Start at a safe rate and adapt to the tenant's answers.
    Auto,
}

#[derive(Debug)]
pub struct RateControl {
    /// Requests per second now; `None` while unlimited.
    rate: Option<f64>,
    /// A fixed `--rate` is never exceeded.
    ceiling: Option<f64>,
    slow_start: bool,
    /// Requests per second added each second while climbing.
    step: f64,
    started: Instant,
    last_growth: Instant,
    last_cut: Option<Instant>,
    accepted: u64,
    adapted: bool,
}

impl RateControl {
    pub fn new(start: Rate, now: Instant) -> Self {
        let (rate, ceiling, slow_start) = match start {
            Rate::Unlimited => (None, None, false),
            Rate::Fixed(r) => (Some(r.max(FLOOR)), Some(r.max(FLOOR)), false),
            Rate::Auto => (Some(AUTO_START), None, true),
        };
        RateControl {
            rate,
            ceiling,
            slow_start,
            step: rate.unwrap_or(AUTO_START) * INCREASE,
            started: now,
            last_growth: now,
            last_cut: None,
            accepted: 0,
            adapted: start == Rate::Auto,
        }
    }

    /// Requests per second allowed now; `None` is unlimited.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// The rate to report at the end, if the run had to find one: always for
    /// `auto`, and for any run that met a 429. It is the rate in force, or
    /// the average the tenant accepted if lower: a run that ends climbing
    /// towards its next 429 should not advise a rate the tenant refuses.
    pub fn settled(&self, now: Instant) -> Option<f64> {
        let rate = self.rate.filter(|_| self.adapted)?;
        Some(self.average_accepted(now).map_or(rate, |avg| rate.min(avg)))
    }

    /// The tenant accepted a request (any answer but 429). `binding` says
    /// whether the rate made some worker wait lately: a rate nobody is held
    /// back by proves nothing, so it does not grow.
    pub fn accepted(&mut self, now: Instant, binding: bool) {
        self.accepted += 1;
        let elapsed = now.saturating_duration_since(self.last_growth);
        self.last_growth = now;
        let Some(rate) = self.rate.filter(|_| binding) else {
            return;
        };
        let grown = if self.slow_start {
            rate * 2f64.powf(elapsed.as_secs_f64() / SLOW_START_DOUBLING.as_secs_f64())
        } else {
            rate + self.step * elapsed.as_secs_f64()
        };
        self.rate = Some(self.ceiling.map_or(grown, |c| grown.min(c)));
    }

    /// The tenant refused a request sent at `sent_at` with a 429. Returns
    /// whether the rate was cut.
    pub fn throttled(&mut self, now: Instant, sent_at: Instant) -> bool {
        if self.last_cut.is_some_and(|cut| sent_at < cut) {
            return false;
        }
        let average = self.average_accepted(now);
        let cut = match (self.rate, average) {
            (Some(rate), Some(avg)) => (rate * DECREASE).min(avg),
            (Some(rate), None) => rate * DECREASE,
            (None, Some(avg)) => avg,
            (None, None) => AUTO_START,
        }
        .max(FLOOR);
        self.rate = Some(cut);
        self.step = cut * INCREASE;
        self.slow_start = false;
        self.last_cut = Some(now);
        self.last_growth = now;
        self.adapted = true;
        true
    }

    /// Requests per second the tenant has accepted since the run began.
    fn average_accepted(&self, now: Instant) -> Option<f64> {
        let elapsed = now.saturating_duration_since(self.started);
        (elapsed >= MIN_SAMPLE && self.accepted > 0)
            .then(|| self.accepted as f64 / elapsed.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn auto_doubles_while_accepted_until_the_first_429() {
        let t0 = Instant::now();
        let mut control = RateControl::new(Rate::Auto, t0);
        control.accepted(t0 + secs(0.5), true);
        control.accepted(t0 + secs(1.0), true);
        let rate = control.rate().unwrap();
        assert!((rate - 40.0).abs() < 0.01, "{rate}");
        assert_eq!(control.settled(t0 + secs(0.1)), Some(rate));
    }

    #[test]
    fn a_429_cuts_to_the_accepted_average_when_lower() {
        let t0 = Instant::now();
        let mut control = RateControl::new(Rate::Fixed(200.0), t0);
        for i in 1..=300 {
            control.accepted(t0 + secs(i as f64 / 100.0), true);
        }
        // 300 accepted in 3 s: the tenant takes about 100/s.
        assert!(control.throttled(t0 + secs(3.0), t0 + secs(2.99)));
        let rate = control.rate().unwrap();
        assert!((rate - 100.0).abs() < 0.01, "{rate}");
    }

    #[test]
    fn one_cut_per_congestion_event() {
        let t0 = Instant::now();
        let mut control = RateControl::new(Rate::Fixed(100.0), t0);
        assert!(control.throttled(t0 + secs(0.1), t0));
        assert!(!control.throttled(t0 + secs(0.2), t0 + secs(0.05)));
        assert!((control.rate().unwrap() - 85.0).abs() < 0.01);
        assert!(control.throttled(t0 + secs(2.0), t0 + secs(1.5)));
        assert!(control.rate().unwrap() < 85.0);
    }

    #[test]
    fn creeps_back_up_additively_but_never_past_a_fixed_rate() {
        let t0 = Instant::now();
        let mut control = RateControl::new(Rate::Fixed(100.0), t0);
        control.throttled(t0, t0);
        control.accepted(t0 + secs(1.0), true);
        let rate = control.rate().unwrap();
        assert!((rate - (85.0 + 85.0 * INCREASE)).abs() < 0.01, "{rate}");
        control.accepted(t0 + secs(60.0), true);
        assert_eq!(control.rate(), Some(100.0));
    }

    #[test]
    fn a_rate_nobody_waits_for_does_not_grow() {
        let t0 = Instant::now();
        let mut control = RateControl::new(Rate::Auto, t0);
        control.accepted(t0 + secs(5.0), false);
        assert_eq!(control.rate(), Some(AUTO_START));
    }

    #[test]
    fn an_unlimited_run_adopts_a_rate_at_its_first_429() {
        let t0 = Instant::now();
        let mut control = RateControl::new(Rate::Unlimited, t0);
        assert_eq!(control.settled(t0), None);
        for i in 1..=50 {
            control.accepted(t0 + secs(i as f64 / 50.0), false);
        }
        control.throttled(t0 + secs(1.0), t0 + secs(1.0));
        let rate = control.rate().unwrap();
        assert!((rate - 50.0).abs() < 0.01, "{rate}");
        assert_eq!(control.settled(t0 + secs(1.0)), Some(rate));
    }

    #[test]
    fn the_settled_rate_is_never_above_what_the_tenant_accepted() {
        let t0 = Instant::now();
        let mut control = RateControl::new(Rate::Auto, t0);
        for i in 1..=100 {
            control.accepted(t0 + secs(i as f64 / 50.0), true);
        }
        assert!(control.rate().unwrap() > 100.0);
        let settled = control.settled(t0 + secs(2.0)).unwrap();
        assert!((settled - 50.0).abs() < 0.01, "{settled}");
    }

    #[test]
    fn a_fixed_run_without_429s_reports_nothing() {
        let t0 = Instant::now();
        let mut control = RateControl::new(Rate::Fixed(20.0), t0);
        control.accepted(t0 + secs(1.0), true);
        assert_eq!(control.settled(t0 + secs(1.0)), None);
        assert!(control.throttled(t0 + secs(2.0), t0 + secs(2.0)));
        assert!(control.rate().unwrap() >= FLOOR);
    }
}
