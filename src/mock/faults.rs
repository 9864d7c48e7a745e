//! Misbehaviour on demand: the tenant-wide quota (a token bucket answering
//! 429 with a `Retry-After` in the configured form) and the injected faults
//! (500s, dropped connections, latency, very slow answers).
//!
//! Every random draw comes from one `fastrand::Rng` seeded by `--fault-seed`
//! and kept behind a mutex, so a test that sends its requests one after the
//! other sees the same faults on every run.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::lock;
use super::options::{MockOptions, RetryAfterForm};

/// A token bucket: `capacity` tokens at most, refilled at `rate` per second.
/// It starts full, so a quiet tenant accepts a burst at once.
#[derive(Debug)]
pub(crate) struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: u32, now: Instant) -> Self {
        // A burst of 0 would refuse everything; default to one second's worth.
        let capacity = if burst == 0 {
            rate.ceil().max(1.0)
        } else {
            f64::from(burst)
        };
        TokenBucket {
            rate,
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    /// Takes one token, or returns how long until one will be there. A
    /// refused request takes nothing, so hammering does not dig a deeper hole.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - self.tokens;
        Err(Duration::from_secs_f64(missing / self.rate))
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = now;
    }
}

/// How long to hold a request before handling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delay {
    pub duration: Duration,
    /// Whether the slow fault chose it (counted in `Stats::slow`).
    pub slow: bool,
}

/// The fault configuration plus the state it needs (bucket, RNG).
pub(crate) struct Faults {
    rng: Mutex<fastrand::Rng>,
    bucket: Option<Mutex<TokenBucket>>,
    retry_after: RetryAfterForm,
    fail_rate: f64,
    drop_changes: f64,
    reset_rate: f64,
    slow_rate: f64,
    latency: Duration,
    jitter_ms: u64,
    slow: Duration,
}

impl Faults {
    pub fn from_options(opts: &MockOptions) -> Self {
        let seed = opts.fault_seed.unwrap_or_else(|| fastrand::u64(..));
        let bucket = (opts.rate > 0.0)
            .then(|| Mutex::new(TokenBucket::new(opts.rate, opts.burst, Instant::now())));
        Faults {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            bucket,
            retry_after: opts.retry_after,
            fail_rate: opts.fail_rate,
            drop_changes: opts.drop_changes,
            reset_rate: opts.reset_rate,
            slow_rate: opts.slow_rate,
            latency: Duration::from_millis(opts.latency_ms),
            jitter_ms: opts.jitter_ms,
            slow: Duration::from_millis(opts.slow_ms),
        }
    }

    /// Whether to drop this connection without an answer.
    pub fn should_reset(&self) -> bool {
        self.chance(self.reset_rate)
    }

    /// Whether to answer this change with 200 without applying it.
    pub fn should_drop_change(&self) -> bool {
        self.chance(self.drop_changes)
    }

    /// Whether to answer this request with an injected 500.
    pub fn should_fail(&self) -> bool {
        self.chance(self.fail_rate)
    }

    /// Takes a quota token. On refusal, returns the `Retry-After` header value
    /// to send (`None` when the configured form is `absent`).
    pub fn take_quota(&self) -> Result<(), Option<String>> {
        let Some(bucket) = &self.bucket else {
            return Ok(());
        };
        let wait = lock(bucket).try_take(Instant::now());
        wait.map_err(|wait| retry_after_value(self.retry_after, wait, SystemTime::now()))
    }

    /// The delay for this request: the slow fault's long one, or the base
    /// latency plus a random jitter.
    pub fn delay(&self) -> Delay {
        if self.chance(self.slow_rate) {
            return Delay {
                duration: self.slow,
                slow: true,
            };
        }
        let jitter = match self.jitter_ms {
            0 => 0,
            max => lock(&self.rng).u64(0..=max),
        };
        Delay {
            duration: self.latency + Duration::from_millis(jitter),
            slow: false,
        }
    }

    /// One draw with probability `p`. No draw at all when `p` is 0, so
    /// enabling one fault does not shift the sequence another one sees.
    fn chance(&self, p: f64) -> bool {
        p > 0.0 && lock(&self.rng).f64() < p
    }
}

/// The `Retry-After` value for a wait, in the configured form. Seconds round
/// up (never 0, which would invite an immediate retry); a date rounds up to
/// the next whole second for the same reason.
pub(crate) fn retry_after_value(
    form: RetryAfterForm,
    wait: Duration,
    now: SystemTime,
) -> Option<String> {
    match form {
        RetryAfterForm::Absent => None,
        RetryAfterForm::Seconds => Some(wait.as_secs_f64().ceil().max(1.0).to_string()),
        RetryAfterForm::HttpDate => {
            let target = now + wait;
            let since_epoch = target.duration_since(UNIX_EPOCH).unwrap_or_default();
            let whole = since_epoch.as_secs_f64().ceil() as u64;
            Some(httpdate::fmt_http_date(
                UNIX_EPOCH + Duration::from_secs(whole),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_refuses_then_refills() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 3, start);
        for _ in 0..3 {
            assert_eq!(bucket.try_take(start), Ok(()));
        }
        let wait = bucket.try_take(start).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        // Half a second later exactly one token is back.
        let later = start + Duration::from_millis(500);
        assert_eq!(bucket.try_take(later), Ok(()));
        assert!(bucket.try_take(later).is_err());
    }

    #[test]
    fn bucket_never_holds_more_than_its_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 2, start);
        let much_later = start + Duration::from_secs(3600);
        assert!(bucket.try_take(much_later).is_ok());
        assert!(bucket.try_take(much_later).is_ok());
        assert!(bucket.try_take(much_later).is_err());
    }

    #[test]
    fn zero_burst_means_one_second_of_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(0.5, 0, start);
        assert!(bucket.try_take(start).is_ok());
        assert_eq!(bucket.try_take(start), Err(Duration::from_secs(2)));
    }

    #[test]
    fn retry_after_forms() {
        let now = UNIX_EPOCH + Duration::from_millis(1_000_000_400);
        let wait = Duration::from_millis(300);
        assert_eq!(
            retry_after_value(RetryAfterForm::Seconds, wait, now).as_deref(),
            Some("1")
        );
        assert_eq!(
            retry_after_value(RetryAfterForm::Seconds, Duration::from_millis(2100), now).as_deref(),
            Some("3")
        );
        assert_eq!(retry_after_value(RetryAfterForm::Absent, wait, now), None);
        let date = retry_after_value(RetryAfterForm::HttpDate, wait, now).unwrap();
        let parsed = httpdate::parse_http_date(&date).unwrap();
        assert_eq!(parsed, UNIX_EPOCH + Duration::from_secs(1_000_001));
    }

    #[test]
    fn same_seed_same_faults() {
        let opts = MockOptions {
            fail_rate: 0.5,
            jitter_ms: 10,
            fault_seed: Some(42),
            ..MockOptions::sample()
        };
        let draws = |faults: &Faults| -> Vec<(bool, Delay)> {
            (0..50)
                .map(|_| (faults.should_fail(), faults.delay()))
                .collect()
        };
        let first = draws(&Faults::from_options(&opts));
        assert_eq!(first, draws(&Faults::from_options(&opts)));
        assert!(first.iter().any(|(fail, _)| *fail));
        assert!(first.iter().any(|(fail, _)| !*fail));
    }
}
