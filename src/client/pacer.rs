//! The pacer: the one place that decides when any worker may send. It holds
//! the run's single rate limiter and the pause gate that a 429 closes for
//! every worker at once, because a 429 means the whole tenant is over quota,
//! not just the worker that was told.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota};
use tokio::time::Instant;

pub struct Pacer {
    limiter: Option<DefaultDirectRateLimiter>,
    paused_until: Mutex<Option<Instant>>,
}

impl Pacer {
    /// `rate` is requests per second for the whole run; `None` is unlimited.
    pub fn new(rate: Option<f64>) -> Self {
        Pacer {
            limiter: rate.map(|r| DefaultDirectRateLimiter::direct(quota(r))),
            paused_until: Mutex::new(None),
        }
    }

    /// Waits until this worker may send: first past any pause, then for a
    /// slot from the limiter, then past any pause that began meanwhile.
    pub async fn wait_turn(&self) {
        self.wait_out_pause().await;
        if let Some(limiter) = &self.limiter {
            limiter.until_ready().await;
            self.wait_out_pause().await;
        }
    }

    /// Closes the gate for every worker for `delay` (never shortening a
    /// pause already in force).
    pub fn pause_all(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if paused.is_none_or(|current| current < until) {
            *paused = Some(until);
        }
    }

    async fn wait_out_pause(&self) {
        loop {
            let until = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }
}

/// A quota of `rate` per second. The burst is a tenth of a second's worth so
/// that a worker that wakes a little late can catch up, without ever sending
/// a second's worth at once.
fn quota(rate: f64) -> Quota {
    let rate = rate.max(0.01);
    let period = Duration::from_secs_f64(1.0 / rate);
    let burst = NonZeroU32::new((rate / 10.0).floor().max(1.0) as u32).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_later_caller() {
        let pacer = Pacer::new(None);
        pacer.pause_all(Duration::from_secs(5));
        let start = Instant::now();
        pacer.wait_turn().await;
        assert!(Instant::now() - start >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_pause_does_not_cut_a_longer_one() {
        let pacer = Pacer::new(None);
        pacer.pause_all(Duration::from_secs(5));
        pacer.pause_all(Duration::from_secs(1));
        let start = Instant::now();
        pacer.wait_turn().await;
        assert!(Instant::now() - start >= Duration::from_secs(5));
    }

    #[test]
    fn quota_burst_is_a_tenth_of_the_rate() {
        assert_eq!(quota(100.0).burst_size().get(), 10);
        assert_eq!(quota(5.0).burst_size().get(), 1);
        assert_eq!(quota(0.5).replenish_interval(), Duration::from_secs(2));
    }
}
