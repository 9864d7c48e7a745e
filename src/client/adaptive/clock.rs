//! The adaptive rate's clocks: time since the run began, less the pauses
//! the clock is told to leave out.

use std::time::Duration;

use tokio::time::Instant;

/// Time since the run began, less the time every worker was paused.
#[derive(Debug)]
pub(super) struct SendingClock {
    started: Instant,
    paused_before: Duration,
    pause: Option<(Instant, Instant)>,
}

impl SendingClock {
    pub(super) fn new(started: Instant) -> Self {
        SendingClock {
            started,
            paused_before: Duration::ZERO,
            pause: None,
        }
    }

    pub(super) fn now(&self, now: Instant) -> Duration {
        let paused_now = self.pause.map_or(Duration::ZERO, |(from, until)| {
            now.min(until).saturating_duration_since(from)
        });
        now.saturating_duration_since(self.started)
            .saturating_sub(self.paused_before + paused_now)
    }

    pub(super) fn pause(&mut self, from: Instant, until: Instant) {
        match self.pause {
            Some((start, end)) if from <= end => self.pause = Some((start, end.max(until))),
            Some((start, end)) => {
                self.paused_before += end.saturating_duration_since(start);
                self.pause = Some((from, until));
            }
            None => self.pause = Some((from, until)),
        }
    }
}
