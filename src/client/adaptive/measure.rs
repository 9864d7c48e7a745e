//! What the tenant accepted: requests per second over the last stretch of
//! sending time or of the tenant's clock, and over a streak of 429s.

use std::time::Duration;

use tokio::time::Instant;

use super::{RateControl, ESTIMATE_WINDOW, MIN_SAMPLE, STREAK_BELOW, STREAK_GAP, STREAK_MIN};

impl RateControl {
    /// Counts a 429 into the current streak, and returns what the tenant
    /// accepted per second over the streak so far, once it is long enough
    /// to trust.
    pub(super) fn note_refusal(&mut self, now: Instant, cost: Duration) -> Option<f64> {
        let tenant_now = self.tenant_clock.now(now);
        let gap = tenant_now.saturating_sub(self.last_refusal);
        self.last_refusal = tenant_now + cost;
        match self.streak {
            // A 429 at the level after a probe's begins a streak of its own.
            Some((began, sending_began, accepted, after_probe))
                if gap <= STREAK_GAP && (self.probing() || !after_probe) =>
            {
                // Counted in sending time: a pause longer than the burst
                // takes to refill wastes what the tenant would have let in,
                // and counting it would read a bucket as smaller than it is.
                // Leaving it out reads it as larger by the burst, which the
                // callers only ever take as a bound.
                let span = self.clock.now(now).saturating_sub(sending_began);
                let streak = (self.accepted - accepted) as f64 / span.as_secs_f64();
                // A window refuses until what it took during the ramp ages
                // out, so right after the ramp a streak counts less than
                // the quota; what it accepted over the last window's length
                // then is the quota.
                let after_ramp = began >= self.ramp_ended + MIN_SAMPLE;
                let streak = if after_ramp {
                    streak
                } else {
                    streak.max(self.accepted_over(tenant_now, MIN_SAMPLE))
                };
                // The tenant is the bottleneck only when it takes clearly
                // less than the run sends; near the rate, the streak counts
                // the run's own pace.
                let sent = self.rate.unwrap_or(f64::INFINITY);
                let sampled = after_ramp || tenant_now >= MIN_SAMPLE;
                // A probe that overshot a window leaves it full of what the
                // probe sent, and what ages out meanwhile is less than the
                // quota: only a streak that began at the level counts.
                let trusted =
                    sampled && !after_probe && span >= STREAK_MIN && streak < sent * STREAK_BELOW;
                trusted.then_some(streak)
            }
            _ => {
                let sending = self.clock.now(now);
                self.streak = Some((tenant_now, sending, self.accepted, self.probing()));
                None
            }
        }
    }
    /// Requests per second accepted over the last `window` of sending time
    /// (less if the run is younger).
    pub(super) fn measure(
        &self,
        sending: Duration,
        window: Duration,
        least: Duration,
    ) -> Option<f64> {
        let span = sending.min(window);
        let count = self
            .recent
            .iter()
            .filter(|(t, _)| *t + span >= sending)
            .count();
        (span >= least && count > 0).then(|| count as f64 / span.as_secs_f64())
    }

    /// Requests per second accepted over the last [`ESTIMATE_WINDOW`] of the
    /// tenant's clock: wall-clock time with the pauses the tenant asked for
    /// (once [`MIN_SAMPLE`] has passed since slow start ended). A window
    /// quota's wait to the window's end is part of its shape: counted as
    /// sending time, a window that fills in half a second looks like twice
    /// its quota. A backoff the run chose itself says nothing of the tenant
    /// and is left out.
    pub(super) fn measure_wall(&self, now: Instant) -> Option<f64> {
        let tenant_now = self.tenant_clock.now(now);
        let span = tenant_now
            .saturating_sub(self.ramp_ended)
            .min(ESTIMATE_WINDOW);
        let count = self
            .recent
            .iter()
            .filter(|(_, at)| *at + span >= tenant_now)
            .count();
        (span >= MIN_SAMPLE && count > 0).then(|| count as f64 / span.as_secs_f64())
    }

    /// Requests per second accepted over the last `span` of the tenant's
    /// clock.
    pub(super) fn accepted_over(&self, tenant_now: Duration, span: Duration) -> f64 {
        let count = self
            .recent
            .iter()
            .filter(|(_, at)| *at + span >= tenant_now)
            .count();
        count as f64 / span.as_secs_f64()
    }
}
