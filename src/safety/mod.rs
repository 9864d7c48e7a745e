//! Operator safety: what stops a run, and why. [`Halt`] is the one switch
//! the reader and the workers watch; [`Watch`] reads each row's answer and
//! throws it when a threshold is crossed (too many failures, a failure rate,
//! the tenant refusing the credentials row after row, or the tenant out of
//! reach for too long); [`Canary`] holds a run to its first `--limit` rows.
//! Signals live in [`signals`], confirmation of destructive runs in
//! [`confirm`], the command that carries on after a stop in [`next`].

pub mod confirm;
pub mod next;
pub mod signals;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::outcome::{Attempted, Outcome};

/// Consecutive rows refused with 401/403 (after a fresh token) that stop the
/// run: enough to rule out one odd row, few enough to stop quickly.
pub const AUTH_REFUSALS_TO_STOP: u32 = 3;

/// Why new work stopped being taken.
#[derive(Clone, Debug, PartialEq)]
pub enum HaltReason {
    /// Ctrl-C or SIGTERM (exit 130).
    Interrupted,
    /// A halt threshold was crossed (exit 2).
    Stopped(String),
    /// Going on cannot work: wrong credentials, tenant unreachable (exit 1).
    Fatal(String),
}

impl HaltReason {
    pub fn describe(&self) -> String {
        match self {
            HaltReason::Interrupted => "interrupted".into(),
            HaltReason::Stopped(why) | HaltReason::Fatal(why) => why.clone(),
        }
    }

    /// Why a row already sent was not sent again.
    pub fn not_retried(&self) -> String {
        match self {
            HaltReason::Interrupted => "the run was interrupted".into(),
            HaltReason::Stopped(why) | HaltReason::Fatal(why) => {
                format!("the run stopped ({why})")
            }
        }
    }

    /// The message of a row this halt kept off the wire.
    pub fn not_attempted_message(&self) -> String {
        format!("not attempted: {}", self.not_retried())
    }
}

/// Why new work stopped being taken. Set once; later reasons are ignored.
/// Waits that a row makes before it is sent (its pacer slot, the 429 gate, a
/// retry's backoff) end at once when it is set, through [`Halt::halted`].
pub struct Halt {
    reason: Mutex<Option<HaltReason>>,
    fired: tokio::sync::watch::Sender<bool>,
}

impl Default for Halt {
    fn default() -> Self {
        Halt {
            reason: Mutex::default(),
            fired: tokio::sync::watch::Sender::new(false),
        }
    }
}

impl Halt {
    /// An uncontended read lock on the watched value: a few nanoseconds a
    /// row, against a request's milliseconds.
    pub fn is_set(&self) -> bool {
        *self.fired.borrow()
    }

    pub fn stop(&self, reason: HaltReason) {
        let mut slot = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(reason);
            self.fired.send_replace(true);
        }
    }

    /// Resolves once the halt is set (at once if it already is).
    pub async fn halted(&self) {
        let mut fired = self.fired.subscribe();
        // The sender lives as long as `self`, so the wait cannot fail.
        let _ = fired.wait_for(|set| *set).await;
    }

    /// Sleeps for `delay`, or less if the halt is set meanwhile.
    pub async fn sleep(&self, delay: std::time::Duration) {
        tokio::select! {
            biased;
            _ = self.halted() => {}
            _ = tokio::time::sleep(delay) => {}
        }
    }

    pub fn reason(&self) -> Option<HaltReason> {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn not_attempted_message(&self) -> String {
        match self.reason() {
            Some(reason) => reason.not_attempted_message(),
            None => "not attempted".into(),
        }
    }
}

/// Counts rows handed to the workers, for `--limit`.
pub struct Canary {
    limit: Option<u64>,
    sent: AtomicU64,
}

impl Canary {
    pub fn new(limit: Option<u64>) -> Self {
        Canary {
            limit,
            sent: AtomicU64::new(0),
        }
    }

    /// Whether one more row may go; counts it if so.
    pub fn admit(&self) -> bool {
        match self.limit {
            None => true,
            Some(limit) => self.sent.fetch_add(1, Ordering::Relaxed) < limit,
        }
    }

    pub fn message(&self) -> String {
        format!(
            "not attempted: --limit {} reached",
            self.limit.unwrap_or_default()
        )
    }
}

/// The thresholds the admin set (or the defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    /// Stop after this many failed rows.
    pub max_failures: Option<u64>,
    /// Stop when this share of sent rows (0 to 1) failed...
    pub max_failure_rate: Option<f64>,
    /// ...once at least this many rows were sent.
    pub failure_sample: u64,
    /// Stop when no request has reached the tenant for this long.
    pub max_unreachable: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_failures: None,
            max_failure_rate: None,
            failure_sample: 20,
            max_unreachable: Duration::from_secs(120),
        }
    }
}

#[derive(Default)]
struct Seen {
    sent: u64,
    failed: u64,
    auth_refusals_in_a_row: u32,
    unreachable_since: Option<Instant>,
}

/// Reads every sent row's answer and decides whether the run must stop.
pub struct Watch {
    limits: Limits,
    /// What the credentials may lack, for the breaker's message: a role
    /// for a key file, permissions for an OAuth client.
    lacking: String,
    seen: Mutex<Seen>,
}

impl Watch {
    /// `lacking` completes "the credentials are wrong or expired, or ...".
    pub fn new(limits: Limits, lacking: String) -> Self {
        Watch {
            limits,
            lacking,
            seen: Mutex::default(),
        }
    }

    /// Records one sent row (first attempt at `started`); returns why the run
    /// must stop, if it must.
    pub fn record(&self, attempted: &Attempted, started: Instant) -> Option<HaltReason> {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.sent += 1;
        if attempted.outcome == Outcome::Failed {
            seen.failed += 1;
        }
        if attempted.auth_refused {
            seen.auth_refusals_in_a_row += 1;
        } else {
            seen.auth_refusals_in_a_row = 0;
        }
        if attempted.unreachable {
            seen.unreachable_since.get_or_insert(started);
        } else {
            seen.unreachable_since = None;
        }
        self.breaker(&seen).or_else(|| self.threshold(&seen))
    }

    fn breaker(&self, seen: &Seen) -> Option<HaltReason> {
        if seen.auth_refusals_in_a_row >= AUTH_REFUSALS_TO_STOP {
            return Some(HaltReason::Fatal(format!(
                "{} rows in a row were refused with 401/403: the credentials are wrong or expired, or {}",
                seen.auth_refusals_in_a_row, self.lacking
            )));
        }
        let since = seen.unreachable_since?;
        let out_of_reach = since.elapsed();
        (out_of_reach >= self.limits.max_unreachable).then(|| {
            HaltReason::Fatal(format!(
                "the tenant has been unreachable for {:.0} s (limit --max-unreachable {} s): check the network, proxy and --base-url",
                out_of_reach.as_secs_f64(),
                self.limits.max_unreachable.as_secs_f64()
            ))
        })
    }

    fn threshold(&self, seen: &Seen) -> Option<HaltReason> {
        if let Some(max) = self.limits.max_failures {
            if seen.failed >= max {
                return Some(HaltReason::Stopped(format!(
                    "{} failed, reaching --max-failures {max}",
                    crate::outcome::plural(seen.failed, "row", "rows")
                )));
            }
        }
        let rate = self.limits.max_failure_rate?;
        let sample = self.limits.failure_sample.max(1);
        let share = seen.failed as f64 / seen.sent as f64;
        (seen.sent >= sample && share >= rate).then(|| {
            HaltReason::Stopped(format!(
                "{} of {} rows sent failed ({:.0}%), reaching --max-failure-rate {:.0}%",
                seen.failed,
                seen.sent,
                share * 100.0,
                rate * 100.0
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(outcome: Outcome, auth_refused: bool, unreachable: bool) -> Attempted {
        Attempted {
            outcome,
            http_status: None,
            attempts: 1,
            message: String::new(),
            detail: String::new(),
            auth_refused,
            unreachable,
            resolved: Vec::new(),
            verified: String::new(),
            listed: Vec::new(),
            undo: None,
        }
    }

    fn watch(limits: Limits) -> Watch {
        Watch::new(limits, "the administrator lacks the role".into())
    }

    #[tokio::test(start_paused = true)]
    async fn a_halt_cuts_a_sleep_short_and_later_sleeps_do_not_start() {
        let halt = std::sync::Arc::new(Halt::default());
        let sleeper = tokio::spawn({
            let halt = halt.clone();
            async move { halt.sleep(Duration::from_secs(600)).await }
        });
        tokio::task::yield_now().await;
        let start = tokio::time::Instant::now();
        assert!(!halt.is_set());
        halt.stop(HaltReason::Interrupted);
        assert!(halt.is_set());
        sleeper.await.unwrap();
        assert_eq!(tokio::time::Instant::now(), start, "cut short");
        halt.sleep(Duration::from_secs(600)).await;
        assert_eq!(tokio::time::Instant::now(), start, "not started");
    }

    #[test]
    fn max_failures_stops_at_the_count() {
        let w = watch(Limits {
            max_failures: Some(2),
            ..Limits::default()
        });
        let failed = answer(Outcome::Failed, false, false);
        assert_eq!(w.record(&failed, Instant::now()), None);
        assert_eq!(
            w.record(&answer(Outcome::Ok, false, false), Instant::now()),
            None
        );
        let stop = w.record(&failed, Instant::now()).unwrap();
        assert!(matches!(stop, HaltReason::Stopped(ref m) if m.contains("--max-failures 2")));
    }

    #[test]
    fn failure_rate_waits_for_the_sample() {
        let w = watch(Limits {
            max_failure_rate: Some(0.5),
            failure_sample: 4,
            ..Limits::default()
        });
        let failed = answer(Outcome::Failed, false, false);
        for _ in 0..3 {
            assert_eq!(w.record(&failed, Instant::now()), None);
        }
        assert!(matches!(
            w.record(&failed, Instant::now()),
            Some(HaltReason::Stopped(_))
        ));
    }

    #[test]
    fn auth_breaker_needs_refusals_in_a_row() {
        let w = watch(Limits::default());
        let refused = answer(Outcome::Failed, true, false);
        let ok = answer(Outcome::Ok, false, false);
        for a in [&refused, &refused, &ok, &refused, &refused] {
            assert_eq!(w.record(a, Instant::now()), None);
        }
        let stop = w.record(&refused, Instant::now()).unwrap();
        assert!(matches!(stop, HaltReason::Fatal(ref m) if m.contains("credentials")));
    }

    #[test]
    fn unreachable_stops_after_the_bound_and_resets_on_contact() {
        let w = watch(Limits {
            max_unreachable: Duration::from_secs(60),
            ..Limits::default()
        });
        let lost = answer(Outcome::Failed, false, true);
        let long_ago = Instant::now()
            .checked_sub(Duration::from_secs(61))
            .expect("uptime");
        assert_eq!(w.record(&lost, Instant::now()), None);
        assert_eq!(w.record(&answer(Outcome::Ok, false, false), long_ago), None);
        let stop = w.record(&lost, long_ago).unwrap();
        assert!(matches!(stop, HaltReason::Fatal(ref m) if m.contains("unreachable")));
    }
}
