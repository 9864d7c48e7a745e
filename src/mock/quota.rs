//! The tenant's quota: which requests it admits and, for the others, how long
//! until one would be admitted. Pure bookkeeping with the time passed in (as
//! time since the tenant started), so the same models serve the running mock
//! and the controller's tests against a simulated clock.
//!
//! Shapes real gateways use: a token bucket with a burst, a fixed window
//! (N per W seconds, counted from window boundaries), a sliding window (a log
//! of the last W seconds); on top of any of them, another client taking a
//! share of the quota, and a schedule that changes the quota mid-run.

use std::collections::VecDeque;
use std::time::Duration;

/// Which shape the quota has (`--quota-model`).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaModel {
    /// Tokens refill at --rate per second, at most --burst held.
    TokenBucket,
    /// --rate × --quota-window requests per window; windows start on whole
    /// multiples of the window since the Unix epoch (as gateways' rate-limit
    /// services count them) and Retry-After is the time to the window's end.
    FixedWindow,
    /// At most --rate × --quota-window requests in any --quota-window
    /// seconds (a log of admissions).
    SlidingWindow,
}

/// A quota's shape and size; what [`Quota::new`] builds from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuotaSpec {
    pub model: QuotaModel,
    /// Requests per second.
    pub rate: f64,
    /// Token bucket only; 0 is one second's worth of `rate`.
    pub burst: u32,
    /// Window length of the window models.
    pub window: Duration,
    /// Share of the quota another client takes (0 to below 1).
    pub background_share: f64,
    /// From which time (since the first request) which rate applies.
    pub schedule: Vec<(Duration, f64)>,
    /// How far into a fixed window the tenant's clock starts: the wall
    /// clock's time since the Unix epoch, modulo the window, when it started.
    pub window_phase: Duration,
    /// How long after the wall clock's window boundaries fixed windows
    /// start (a gateway that counts windows from its own start): an HTTP
    /// date rounds a window's end up to the next whole second.
    pub window_offset: Duration,
}

/// A token bucket: `capacity` tokens at most, refilled at `rate` per second.
/// It starts full, so a quiet tenant accepts a burst at once. A refused
/// request takes nothing, so hammering does not dig a deeper hole.
#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    fn new(rate: f64, burst: u32) -> Self {
        let capacity = if burst == 0 {
            rate.ceil().max(1.0)
        } else {
            f64::from(burst)
        };
        TokenBucket {
            rate,
            capacity,
            tokens: capacity,
            last: Duration::ZERO,
        }
    }

    fn refill(&mut self, now: Duration) {
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = self.last.max(now);
    }

    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
    }
}

/// N requests per window; the count starts again at each boundary.
#[derive(Debug)]
struct FixedWindow {
    limit: u64,
    window: Duration,
    /// See [`QuotaSpec::window_phase`].
    phase: Duration,
    /// See [`QuotaSpec::window_offset`]; less than the window.
    offset: Duration,
    current: u128,
    count: u64,
}

impl FixedWindow {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        // Counted from a boundary `offset` after the wall clock's: the
        // window added keeps the sum from going below zero.
        let now = now + self.phase + self.window - self.offset;
        let index = now.as_nanos() / self.window.as_nanos().max(1);
        if index != self.current {
            self.current = index;
            self.count = 0;
        }
        if self.count < self.limit {
            self.count += 1;
            return Ok(());
        }
        let end = self.window.as_nanos() * (index + 1);
        Err(Duration::from_nanos((end - now.as_nanos()) as u64))
    }
}

/// At most N admissions in any window's length.
#[derive(Debug)]
struct SlidingWindow {
    limit: usize,
    window: Duration,
    log: VecDeque<Duration>,
}

impl SlidingWindow {
    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        while self.log.front().is_some_and(|t| *t + self.window <= now) {
            self.log.pop_front();
        }
        if self.log.len() < self.limit {
            self.log.push_back(now);
            return Ok(());
        }
        let oldest = self.log.front().copied().unwrap_or(now);
        Err((oldest + self.window).saturating_sub(now))
    }
}

#[derive(Debug)]
enum Shape {
    Bucket(TokenBucket),
    Fixed(FixedWindow),
    Sliding(SlidingWindow),
}

impl Shape {
    fn new(spec: &QuotaSpec, rate: f64) -> Self {
        let per_window = (rate * spec.window.as_secs_f64()).round().max(1.0);
        match spec.model {
            QuotaModel::TokenBucket => Shape::Bucket(TokenBucket::new(rate, spec.burst)),
            QuotaModel::FixedWindow => Shape::Fixed(FixedWindow {
                limit: per_window as u64,
                window: spec.window,
                phase: spec.window_phase,
                offset: spec.window_offset.min(spec.window),
                current: u128::MAX,
                count: 0,
            }),
            QuotaModel::SlidingWindow => Shape::Sliding(SlidingWindow {
                limit: per_window as usize,
                window: spec.window,
                log: VecDeque::new(),
            }),
        }
    }

    fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        match self {
            Shape::Bucket(b) => b.admit(now),
            Shape::Fixed(f) => f.admit(now),
            Shape::Sliding(s) => s.admit(now),
        }
    }

    /// Counts a request of the other client, which always gets its share:
    /// what it takes beyond the quota is owed and repaid first.
    fn take(&mut self, now: Duration) {
        if self.admit(now).is_ok() {
            return;
        }
        match self {
            Shape::Bucket(b) => b.tokens -= 1.0,
            Shape::Fixed(f) => f.count += 1,
            Shape::Sliding(s) => s.log.push_back(now),
        }
    }

    /// A new size, keeping what was already used up.
    fn resize(&mut self, spec: &QuotaSpec, rate: f64, now: Duration) {
        match (self, Shape::new(spec, rate)) {
            (Shape::Bucket(b), Shape::Bucket(fresh)) => {
                b.refill(now);
                b.rate = fresh.rate;
                b.capacity = fresh.capacity;
                b.tokens = b.tokens.min(b.capacity);
            }
            (Shape::Fixed(f), Shape::Fixed(fresh)) => f.limit = fresh.limit,
            (Shape::Sliding(s), Shape::Sliding(fresh)) => s.limit = fresh.limit,
            _ => {}
        }
    }
}

/// The quota as the tenant applies it: the shape, the other client's
/// requests, and the schedule.
#[derive(Debug)]
pub(crate) struct Quota {
    spec: QuotaSpec,
    shape: Shape,
    /// The first request's time: the schedule counts from it.
    origin: Option<Duration>,
    /// Schedule entries not yet applied, earliest first.
    pending: VecDeque<(Duration, f64)>,
    /// When the other client sends next, and how far apart it sends.
    background: Option<(Duration, Duration)>,
}

impl Quota {
    pub fn new(spec: QuotaSpec) -> Self {
        let mut pending: Vec<_> = spec.schedule.clone();
        pending.sort_by_key(|(at, _)| *at);
        let mut quota = Quota {
            shape: Shape::new(&spec, spec.rate),
            origin: None,
            pending: pending.into(),
            background: None,
            spec,
        };
        quota.background = quota.background_interval(quota.spec.rate);
        quota
    }

    /// Requests per second left for this client at `since_first` (the
    /// schedule's rate minus the other client's share).
    #[cfg(test)]
    pub fn available(&self, since_first: Duration) -> f64 {
        let rate = self
            .spec
            .schedule
            .iter()
            .filter(|(at, _)| *at <= since_first)
            .max_by_key(|(at, _)| *at)
            .map_or(self.spec.rate, |(_, r)| *r);
        rate * (1.0 - self.spec.background_share)
    }

    /// Admits this request, or says how long until one would be admitted.
    pub fn admit(&mut self, now: Duration) -> Result<(), Duration> {
        let origin = *self.origin.get_or_insert(now);
        while let Some((at, rate)) = self.pending.front().copied() {
            if origin + at > now {
                break;
            }
            self.pending.pop_front();
            self.replay_background(origin + at);
            self.shape.resize(&self.spec, rate, origin + at);
            if let Some((next, _)) = self.background {
                self.background = self.background_interval(rate).map(|(_, gap)| (next, gap));
            }
        }
        self.replay_background(now);
        self.shape.admit(now)
    }

    /// The other client's requests up to `now`, spread evenly.
    fn replay_background(&mut self, now: Duration) {
        while let Some((next, gap)) = self.background.filter(|(next, _)| *next <= now) {
            self.shape.take(next);
            self.background = Some((next + gap, gap));
        }
    }

    fn background_interval(&self, rate: f64) -> Option<(Duration, Duration)> {
        let share = self.spec.background_share;
        (share > 0.0 && rate > 0.0).then(|| {
            (
                Duration::ZERO,
                Duration::from_secs_f64(1.0 / (rate * share)),
            )
        })
    }
}

/// Reads `--quota-schedule`: comma-separated `TIME:RATE` entries, TIME in
/// seconds since the first request with an optional `s`, e.g. `10s:50,20s:100`.
pub(crate) fn parse_schedule(text: &str) -> Result<Vec<(Duration, f64)>, String> {
    text.split(',')
        .filter(|entry| !entry.trim().is_empty())
        .map(|entry| {
            let (at, rate) = entry
                .trim()
                .split_once(':')
                .ok_or_else(|| format!("{entry:?}: expected TIME:RATE, e.g. 10s:50"))?;
            let secs: f64 = at
                .trim()
                .trim_end_matches('s')
                .parse()
                .map_err(|_| format!("{at:?}: expected seconds, e.g. 10s"))?;
            let rate: f64 = rate
                .trim()
                .parse()
                .map_err(|_| format!("{rate:?}: expected requests per second"))?;
            if !(secs.is_finite() && secs >= 0.0 && rate.is_finite() && rate > 0.0) {
                return Err(format!(
                    "{entry:?}: time must be 0 or more and rate more than 0"
                ));
            }
            Ok((Duration::from_secs_f64(secs), rate))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn spec(model: QuotaModel, rate: f64) -> QuotaSpec {
        QuotaSpec {
            model,
            rate,
            burst: 0,
            window: Duration::from_secs(1),
            background_share: 0.0,
            schedule: Vec::new(),
            window_phase: Duration::ZERO,
            window_offset: Duration::ZERO,
        }
    }

    #[test]
    fn fixed_windows_may_start_an_offset_after_the_wall_clocks_boundaries() {
        let mut quota = Quota::new(QuotaSpec {
            window_offset: ms(500),
            ..spec(QuotaModel::FixedWindow, 2.0)
        });
        assert_eq!(quota.admit(ms(0)), Ok(()));
        assert_eq!(quota.admit(ms(100)), Ok(()));
        assert_eq!(quota.admit(ms(200)), Err(ms(300)));
        assert_eq!(quota.admit(ms(500)), Ok(()));
    }

    #[test]
    fn fixed_windows_start_on_the_wall_clocks_boundaries() {
        let mut quota = Quota::new(QuotaSpec {
            window_phase: ms(600),
            ..spec(QuotaModel::FixedWindow, 2.0)
        });
        assert_eq!(quota.admit(ms(0)), Ok(()));
        assert_eq!(quota.admit(ms(100)), Ok(()));
        assert_eq!(quota.admit(ms(200)), Err(ms(200)));
        assert_eq!(quota.admit(ms(400)), Ok(()));
    }

    #[test]
    fn bucket_allows_a_burst_then_refuses_then_refills() {
        let mut quota = Quota::new(QuotaSpec {
            burst: 3,
            ..spec(QuotaModel::TokenBucket, 2.0)
        });
        for _ in 0..3 {
            assert_eq!(quota.admit(ms(0)), Ok(()));
        }
        assert_eq!(quota.admit(ms(0)), Err(ms(500)));
        assert_eq!(quota.admit(ms(500)), Ok(()));
        assert!(quota.admit(ms(500)).is_err());
    }

    #[test]
    fn bucket_never_holds_more_than_its_burst_and_zero_means_one_second() {
        let mut quota = Quota::new(QuotaSpec {
            burst: 1,
            ..spec(QuotaModel::TokenBucket, 10.0)
        });
        assert!(quota.admit(ms(0)).is_ok());
        assert!(quota.admit(ms(3_600_000)).is_ok());
        assert!(quota.admit(ms(3_600_000)).is_err());
        let mut quota = Quota::new(spec(QuotaModel::TokenBucket, 0.5));
        assert!(quota.admit(ms(0)).is_ok());
        assert_eq!(quota.admit(ms(0)), Err(ms(2000)));
    }

    #[test]
    fn fixed_window_refuses_until_the_window_ends() {
        let mut quota = Quota::new(spec(QuotaModel::FixedWindow, 3.0));
        for _ in 0..3 {
            assert!(quota.admit(ms(100)).is_ok());
        }
        assert_eq!(quota.admit(ms(400)), Err(ms(600)));
        // A new window: three more, at once.
        for _ in 0..3 {
            assert!(quota.admit(ms(1000)).is_ok());
        }
        assert!(quota.admit(ms(1999)).is_err());
    }

    #[test]
    fn sliding_window_waits_for_the_oldest_to_age_out() {
        let mut quota = Quota::new(spec(QuotaModel::SlidingWindow, 2.0));
        assert!(quota.admit(ms(0)).is_ok());
        assert!(quota.admit(ms(600)).is_ok());
        assert_eq!(quota.admit(ms(900)), Err(ms(100)));
        assert!(quota.admit(ms(1000)).is_ok());
        assert_eq!(quota.admit(ms(1000)), Err(ms(600)));
    }

    #[test]
    fn background_load_takes_its_share() {
        let mut quota = Quota::new(QuotaSpec {
            background_share: 0.5,
            burst: 1,
            ..spec(QuotaModel::TokenBucket, 10.0)
        });
        let admitted = (0..1000)
            .filter(|i| quota.admit(ms(i * 10)).is_ok())
            .count();
        // Ten seconds at 10/s, half of it taken by the other client (a
        // little less: a burst of 1 caps what a refill can hold).
        assert!((44..=52).contains(&admitted), "{admitted}");
        assert!((quota.available(ms(0)) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn schedule_changes_the_rate_counted_from_the_first_request() {
        let mut quota = Quota::new(QuotaSpec {
            schedule: parse_schedule("10s:5, 20s:10").unwrap(),
            burst: 1,
            ..spec(QuotaModel::TokenBucket, 10.0)
        });
        let start = 5_000;
        let mut per_second = [0; 30];
        for i in 0..30_000 {
            if quota.admit(ms(start + i)).is_ok() {
                per_second[i as usize / 1000] += 1;
            }
        }
        assert_eq!(per_second[5], 10);
        assert_eq!(per_second[15], 5);
        assert_eq!(per_second[25], 10);
        assert_eq!(quota.available(ms(15_000)), 5.0);
    }

    #[test]
    fn schedule_syntax_errors_say_what_was_expected() {
        assert_eq!(
            parse_schedule("10:50").unwrap(),
            vec![(Duration::from_secs(10), 50.0)]
        );
        assert!(parse_schedule("10s").unwrap_err().contains("TIME:RATE"));
        assert!(parse_schedule("x:5").unwrap_err().contains("seconds"));
        assert!(parse_schedule("1s:0").is_err());
    }
}
