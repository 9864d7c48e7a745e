//! Misbehaviour on demand: the tenant-wide quota (one of the shapes in
//! [`super::quota`], answering 429 with a `Retry-After` in the configured
//! form) and the injected faults (500s, dropped connections, latency, very
//! slow answers).
//!
//! Every random draw comes from one `fastrand::Rng` seeded by `--fault-seed`
//! and kept behind a mutex, so a test that sends its requests one after the
//! other sees the same faults on every run.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::lock;
use super::options::{MockOptions, RetryAfterForm};
use super::quota::{Quota, QuotaSpec};

/// How long to hold a request before handling it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delay {
    pub duration: Duration,
    /// Whether the slow fault chose it (counted in `Stats::slow`).
    pub slow: bool,
}

/// The fault configuration plus the state it needs (quota, RNG).
pub(crate) struct Faults {
    rng: Mutex<fastrand::Rng>,
    quota: Option<Mutex<Quota>>,
    /// The quota's clock starts here, on the monotonic clock and on the wall
    /// clock (which HTTP dates and fixed windows count).
    started: Instant,
    started_wall: SystemTime,
    /// The end of the latest `Retry-After` the tenant advertised.
    advertised_until: Mutex<Option<Instant>>,
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
        let (started, started_wall) = (Instant::now(), SystemTime::now());
        let quota = (opts.rate > 0.0).then(|| {
            let spec = opts.quota_spec();
            Mutex::new(Quota::new(QuotaSpec {
                window_phase: wall_clock_phase(started_wall, spec.window),
                ..spec
            }))
        });
        Faults {
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            quota,
            started,
            started_wall,
            advertised_until: Mutex::new(None),
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
        let Some(quota) = &self.quota else {
            return Ok(());
        };
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.started);
        let wait = lock(quota).admit(elapsed);
        wait.map_err(|wait| {
            // The wall clock as the quota counts it, so a window's end is a
            // whole second to the nanosecond and its date is not a second late.
            let wall_now = self.started_wall + elapsed;
            let value = retry_after_value(self.retry_after, wait, wall_now);
            if let Some(until) = value.as_deref().and_then(advertised_wait) {
                let mut advertised = lock(&self.advertised_until);
                *advertised = advertised.max(Some(now + until));
            }
            value
        })
    }

    /// Whether a request arrives while a `Retry-After` the tenant sent is
    /// still running: a client that honours it sends nothing then, except
    /// requests already on their way when the 429 left.
    pub fn inside_retry_after(&self) -> bool {
        lock(&self.advertised_until).is_some_and(|until| Instant::now() < until)
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

/// How far `now` lies into a window that starts on a whole multiple of
/// `window` since the Unix epoch.
fn wall_clock_phase(now: SystemTime, window: Duration) -> Duration {
    let since_epoch = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let window = window.as_nanos().max(1);
    Duration::from_nanos((since_epoch % window) as u64)
}

/// The `Retry-After` value for a wait, in the configured form. Whole seconds
/// round up (never 0, which would invite an immediate retry); exact seconds
/// keep the milliseconds (at least 0.001); a date rounds up to the next
/// whole second for the same reason.
pub(crate) fn retry_after_value(
    form: RetryAfterForm,
    wait: Duration,
    now: SystemTime,
) -> Option<String> {
    match form {
        RetryAfterForm::Absent => None,
        RetryAfterForm::Seconds => Some(wait.as_secs_f64().ceil().max(1.0).to_string()),
        RetryAfterForm::Exact => {
            let millis = wait.as_secs_f64() * 1000.0;
            Some(format!("{:.3}", millis.ceil().max(1.0) / 1000.0))
        }
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

/// How long from now a `Retry-After` value this tenant sent asks for.
fn advertised_wait(value: &str) -> Option<Duration> {
    if let Ok(seconds) = value.parse::<f64>() {
        return Some(Duration::from_secs_f64(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wall_clock_phase_is_the_time_since_the_last_window_boundary() {
        let at = UNIX_EPOCH + Duration::from_millis(12_345);
        assert_eq!(
            wall_clock_phase(at, Duration::from_secs(1)),
            Duration::from_millis(345)
        );
        assert_eq!(
            wall_clock_phase(at, Duration::from_secs(60)),
            Duration::from_millis(12_345)
        );
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
        assert_eq!(
            retry_after_value(RetryAfterForm::Exact, Duration::from_millis(10), now).as_deref(),
            Some("0.010")
        );
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
