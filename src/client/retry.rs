//! Retry policy: which failures are worth another attempt, how long to wait
//! (exponential backoff with full jitter, or the tenant's `Retry-After`), and
//! when to give up.

use std::time::{Duration, SystemTime};

/// The shape of the backoff. Delays are drawn uniformly from zero to
/// `min(cap, base · 2^n)` ("full jitter"), so workers that failed together do
/// not retry together.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Total attempts per row, the first included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// The mean of the first backoff's draw: what a 429 without
    /// `Retry-After` is expected to cost.
    pub fn expected_first_backoff(&self) -> Duration {
        self.base.min(self.cap) / 2
    }

    /// The delays between attempts, as `backon` consumes them.
    pub fn backoff(&self) -> FullJitter {
        FullJitter {
            policy: *self,
            step: 0,
            rng: fastrand::Rng::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct FullJitter {
    policy: RetryPolicy,
    step: u32,
    rng: fastrand::Rng,
}

impl FullJitter {
    fn ceiling(&self) -> Duration {
        let factor = 2u32.saturating_pow(self.step.min(30));
        self.policy.base.saturating_mul(factor).min(self.policy.cap)
    }
}

impl Iterator for FullJitter {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.step + 1 >= self.policy.max_attempts {
            return None;
        }
        let ceiling = self.ceiling();
        self.step += 1;
        let millis = ceiling.as_millis() as u64;
        Some(Duration::from_millis(self.rng.u64(0..=millis)))
    }
}

/// Reads a `Retry-After` value in either form the HTTP standard allows: a
/// number of seconds, or an HTTP date. Seconds with a fraction (`0.25`),
/// which some gateways send, are taken as they are. Anything else (negative
/// numbers, garbage) is ignored, so the caller falls back to its own
/// backoff. The result never exceeds `cap`.
pub fn parse_retry_after(value: &str, now: SystemTime, cap: Duration) -> Option<Duration> {
    let value = value.trim();
    let delay = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else if let Some(seconds) = decimal_seconds(value) {
        Duration::try_from_secs_f64(seconds.min(cap.as_secs_f64())).ok()?
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        when.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(delay.min(cap))
}

/// `12.5`-style seconds: digits, one dot, digits; nothing signed, no
/// exponent, no `inf` or `NaN`.
fn decimal_seconds(value: &str) -> Option<f64> {
    let (whole, fraction) = value.split_once('.')?;
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let plain = !(whole.is_empty() && fraction.is_empty()) && digits(whole) && digits(fraction);
    plain.then(|| value.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_jitter_stays_under_the_growing_ceiling_and_stops() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(250),
            ..RetryPolicy::default()
        };
        let delays: Vec<Duration> = policy.backoff().collect();
        assert_eq!(delays.len(), 4, "five attempts means four waits");
        let ceilings = [100, 200, 250, 250];
        for (delay, ceiling) in delays.iter().zip(ceilings) {
            assert!(
                *delay <= Duration::from_millis(ceiling),
                "{delay:?} > {ceiling}"
            );
        }
    }

    #[test]
    fn one_attempt_means_no_retry() {
        let policy = RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.backoff().count(), 0);
    }

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let cap = Duration::from_secs(600);
        assert_eq!(
            parse_retry_after("7", now, cap),
            Some(Duration::from_secs(7))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now, cap),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("0.010", now, cap),
            Some(Duration::from_millis(10))
        );
        assert_eq!(
            parse_retry_after("1.5", now, cap),
            Some(Duration::from_millis(1500))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&earlier, now, cap), Some(Duration::ZERO));
    }

    #[test]
    fn hostile_retry_after_is_ignored_or_capped() {
        let now = SystemTime::now();
        let cap = Duration::from_secs(600);
        assert_eq!(parse_retry_after("-5", now, cap), None);
        assert_eq!(parse_retry_after("soon", now, cap), None);
        for odd in ["-0.5", "1e3", "inf", "NaN", ".", "1.2.3", "+1.0"] {
            assert_eq!(parse_retry_after(odd, now, cap), None, "{odd}");
        }
        assert_eq!(parse_retry_after("99999999.5", now, cap), Some(cap));
        assert_eq!(parse_retry_after("", now, cap), None);
        assert_eq!(parse_retry_after("99999999", now, cap), Some(cap));
    }
}
