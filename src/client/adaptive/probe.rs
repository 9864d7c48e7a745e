//! The probe after a cut: how long a new level holds (its plateau), the
//! convex growth above it once the plateau ends, the quick probe toward the
//! rate slow start was refused at, and the longer wait when probing finds
//! the same capacity again.

use std::time::Duration;

use super::{
    Epoch, RateControl, BOUND_HOLD, MARGIN, MAX_PLATEAU, MIN_PLATEAU, PROBE_GAIN, PROBING,
    QUICK_PROBE_GAIN, SAME_CAPACITY, UNDER_BOUND,
};

impl RateControl {
    /// Keeps the rate slow start was refused at as the quick probe's
    /// target when the level it chose lies far under it (and the 429 was
    /// costly: a cheap one sets the level just under that rate anyway). A
    /// probe's 429 found the quota between its level and its rate: no
    /// target is left.
    pub(super) fn note_bound(
        &mut self,
        ramp: bool,
        probing: bool,
        refused_at: Option<f64>,
        level: f64,
    ) {
        if probing {
            self.bound = None;
        } else if ramp && !self.cheap() {
            // 3% under the rate refused, and 3% more: a burst of one refuses
            // a request that reaches it a hair early, so slow start may be
            // refused a little above the quota.
            self.bound = refused_at.map(|r| r * MARGIN * MARGIN);
        }
        self.bound = self.bound.filter(|b| level < b * UNDER_BOUND);
        self.at_bound_since = None;
        if self.bound.is_some() {
            if let Some(epoch) = self.epoch.as_mut() {
                epoch.plateau = MIN_PLATEAU;
            }
        }
    }

    /// The probe's rate: quick toward [`Self::bound`] and no further while
    /// there is one, else convex.
    pub(super) fn probe_rate(&self, epoch: Epoch, sending: Duration) -> f64 {
        match self.bound {
            Some(bound) => epoch.rate_at(sending, QUICK_PROBE_GAIN).min(bound),
            None => epoch.rate_at(sending, self.probe_gain()),
        }
    }

    /// A quick probe that held its bound for [`BOUND_HOLD`] without a 429
    /// makes the bound the level.
    pub(super) fn hold_bound(&mut self, sending: Duration) {
        let Some(bound) = self.bound else { return };
        if self.rate.is_none_or(|r| r < bound) {
            return;
        }
        let since = *self.at_bound_since.get_or_insert(sending);
        if sending.saturating_sub(since) >= BOUND_HOLD {
            self.bound = None;
            self.at_bound_since = None;
            // The tenant took the bound for as long: what it accepted when
            // slow start was refused no longer caps the rate to report.
            self.capacity = None;
            self.epoch = Some(Epoch {
                level: bound,
                began: sending,
                plateau: self.plateau(),
            });
        }
    }
    /// How fast a probe grows: [`PROBE_GAIN`] when a 429 costs a second's
    /// pause or more, up to ten times that when it costs a tenth or less.
    pub(super) fn probe_gain(&self) -> f64 {
        let pause = self.last_pause.as_secs_f64().clamp(0.1, 1.0);
        PROBE_GAIN / pause
    }
    /// How long a new level holds before probing: the time the 3% margin
    /// under it needs to win back the pause a probe may cost, doubled each
    /// time a probe found the same capacity again.
    pub(super) fn plateau(&self) -> Duration {
        let plateau = self
            .last_pause
            .mul_f64(2f64.powi(self.repeats) / (1.0 - MARGIN));
        plateau.clamp(MIN_PLATEAU, MAX_PLATEAU)
    }
    /// Whether the rate is above the level the last 429 chose.
    pub(super) fn probing(&self) -> bool {
        match (self.epoch, self.rate) {
            (Some(epoch), Some(rate)) => rate > epoch.level * PROBING,
            _ => false,
        }
    }
    /// Probing that finds the same capacity again waits longer next time.
    pub(super) fn note_capacity(&mut self, measured: Option<f64>, probing: bool) {
        let same = match (self.capacity, measured) {
            (Some(known), Some(now)) => (now - known).abs() <= known * SAME_CAPACITY,
            _ => false,
        };
        let same = same && probing;
        self.repeats = if same { (self.repeats + 1).min(6) } else { 0 };
        if measured.is_some() {
            self.capacity = measured;
        }
    }
}

impl Epoch {
    /// The level during the plateau, then convex growth above it.
    fn rate_at(&self, sending: Duration, gain: f64) -> f64 {
        let probing = sending
            .saturating_sub(self.began + self.plateau)
            .as_secs_f64();
        self.level * (1.0 + gain * probing.powi(3))
    }
}
