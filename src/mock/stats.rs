//! What the mock tenant saw and did: request counters and the ledger of
//! mutations actually applied. Tests read it through `GET /__mock/stats` (or
//! [`super::MockServer::stats`]) and compare a results CSV to `applied`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::lock;

/// The operation names used as keys of [`Stats::by_endpoint`] and
/// [`Stats::applied`]. They match the client's operation names on purpose, so
/// a results CSV can be compared to the ledger without a translation table.
pub const DS100_CLEAR_PIN: &str = "ds100-clear-pin";
pub const SID_CLEAR_PIN: &str = "sid-clear-pin";
pub const DS100_DISABLE: &str = "ds100-disable";
pub const DS100_DELETE: &str = "ds100-delete";
pub const DS100_ENABLE: &str = "ds100-enable";
pub const SID_ENABLE: &str = "sid-enable";
pub const SID_DISABLE: &str = "sid-disable";
pub const SID_UNASSIGN: &str = "sid-unassign";
/// Requests to the user status route, whichever status they set.
pub const USER_STATUS: &str = "user-status";
pub const USER_DISABLE: &str = "user-disable";
pub const USER_ENABLE: &str = "user-enable";
/// Requests to the markDeleted route, whichever way they set it.
pub const USER_MARK_DELETED: &str = "user-mark-deleted";
/// A user marked deleted (the console's delete).
pub const USER_DELETE: &str = "user-delete";
/// A user's pending deletion taken back.
pub const USER_UNDELETE: &str = "user-undelete";
pub const USER_DELETE_NOW: &str = "user-delete-now";
pub const SID_ASSIGN: &str = "sid-assign";
pub const DS100_LOOKUP: &str = "ds100-lookup";
pub const SID_LOOKUP: &str = "sid-lookup";
pub const DEVICES: &str = "devices";
pub const USERS_LOOKUP: &str = "users-lookup";
/// Any path or method the tenant does not serve.
pub const OTHER: &str = "other";

/// The operations that change the tenant, in the order the ledger lists
/// them: those of the tenant's endpoint table that do.
pub fn mutations() -> impl Iterator<Item = &'static str> {
    super::handlers::ENDPOINTS
        .iter()
        .flat_map(|e| e.ledger_names().iter().copied())
}

/// A snapshot of the counters. Serialises to the `/__mock/stats` JSON.
///
/// Only tenant requests are counted; `/__mock/*` requests are not, so polling
/// the stats does not change them.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tenant requests received, whatever became of them (resets included).
    pub requests: u64,
    /// Responses sent, by HTTP status code.
    pub by_status: BTreeMap<u16, u64>,
    /// Requests received, by operation name (see the constants above).
    pub by_endpoint: BTreeMap<String, u64>,
    /// 429 responses sent by the quota.
    pub throttled: u64,
    /// Connections dropped without an answer by the reset fault.
    pub resets: u64,
    /// Requests held back for `--slow-ms` by the slow fault.
    pub slow: u64,
    /// 500 responses sent by the failure fault.
    pub injected_failures: u64,
    /// 400 responses sent (malformed requests).
    pub bad_requests: u64,
    /// Changes answered 200 but not applied, by `--drop-changes`.
    #[serde(default)]
    pub dropped_changes: u64,
    /// Lookups that reached a handler, by kind: `device`, `email`,
    /// `username`, `sidToken` or `devices`.
    pub lookups: BTreeMap<String, u64>,
    /// Mutations really applied (answered 200), by operation, then by key:
    /// `tokenSerialNumber` for the clear-PIN, DS100 delete and SID700
    /// operations, `deviceSerialNumber` for `ds100-disable` and
    /// `ds100-enable`, `userId` for the user operations.
    pub applied: BTreeMap<String, BTreeMap<String, u64>>,
    /// When tenant requests arrived, in milliseconds since the tenant
    /// started (the first [`TIMELINE_CAP`] only). With `throttled_ms` this
    /// shows whether clients really paused after a 429.
    #[serde(default)]
    pub arrivals_ms: Vec<u64>,
    /// The same arrivals in microseconds, to show how evenly a client's
    /// requests arrive (a burst allowance of one refuses any that come
    /// sooner than the quota's interval after the one before).
    #[serde(default)]
    pub arrivals_us: Vec<u64>,
    /// When 429s were sent, in milliseconds since the tenant started.
    #[serde(default)]
    pub throttled_ms: Vec<u64>,
    /// Requests that arrived while a `Retry-After` the tenant had sent was
    /// still running (only requests already on their way when it was sent,
    /// if clients honour it).
    #[serde(default)]
    pub inside_retry_after: u64,
    /// What the OAuth authorization server under `/oauth` saw and did.
    #[serde(default)]
    pub oauth: OAuthStats,
}

/// The authorization server's counters. Its requests are not tenant
/// requests: they are counted here only.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct OAuthStats {
    /// Requests to the token endpoint.
    pub token_requests: u64,
    /// Requests for the discovery document.
    pub discovery_requests: u64,
    /// Access tokens issued.
    pub tokens_issued: u64,
    /// Token requests refused, by reason: `replayed`, `expired`,
    /// `signature`, `unknown-client`, `unknown-key`, `audience`,
    /// `lifetime`, `scope`, `malformed`, `unavailable`, `client-gone`.
    pub refused: BTreeMap<String, u64>,
    /// Tenant requests refused because the access token lacked the
    /// endpoint's permission.
    pub missing_permission: u64,
    /// Tenant requests refused because the access token had expired.
    pub expired_tokens: u64,
}

/// How many timeline entries the stats keep, so a long benchmark run does
/// not grow the mock without bound.
pub const TIMELINE_CAP: usize = 10_000;

impl Stats {
    fn empty() -> Self {
        let applied = mutations()
            .map(|op| (op.to_string(), BTreeMap::new()))
            .collect();
        Stats {
            applied,
            ..Stats::default()
        }
    }

    /// How many times `key` was applied by operation `op` (0 if never).
    pub fn applied_count(&self, op: &str, key: &str) -> u64 {
        self.applied
            .get(op)
            .and_then(|keys| keys.get(key))
            .copied()
            .unwrap_or(0)
    }

    /// Total mutations applied by operation `op`.
    pub fn applied_total(&self, op: &str) -> u64 {
        self.applied
            .get(op)
            .map(|keys| keys.values().sum())
            .unwrap_or(0)
    }

    /// Responses sent with this status code.
    pub fn status_count(&self, status: u16) -> u64 {
        self.by_status.get(&status).copied().unwrap_or(0)
    }
}

/// The live counters, shared by every connection.
pub(crate) struct Recorder {
    stats: Mutex<Stats>,
    started: std::time::Instant,
}

fn push_capped(timeline: &mut Vec<u64>, at: u64) {
    if timeline.len() < TIMELINE_CAP {
        timeline.push(at);
    }
}

impl Recorder {
    pub fn new() -> Self {
        Recorder {
            stats: Mutex::new(Stats::empty()),
            started: std::time::Instant::now(),
        }
    }

    pub fn snapshot(&self) -> Stats {
        lock(&self.stats).clone()
    }

    pub fn request(&self, endpoint: &str) {
        let mut stats = lock(&self.stats);
        stats.requests += 1;
        let elapsed = self.started.elapsed();
        push_capped(&mut stats.arrivals_ms, elapsed.as_millis() as u64);
        push_capped(&mut stats.arrivals_us, elapsed.as_micros() as u64);
        *stats.by_endpoint.entry(endpoint.to_string()).or_default() += 1;
    }

    pub fn response(&self, status: u16) {
        let mut stats = lock(&self.stats);
        *stats.by_status.entry(status).or_default() += 1;
        match status {
            400 => stats.bad_requests += 1,
            429 => {
                stats.throttled += 1;
                push_capped(
                    &mut stats.throttled_ms,
                    self.started.elapsed().as_millis() as u64,
                );
            }
            _ => {}
        }
    }

    pub fn inside_retry_after(&self) {
        lock(&self.stats).inside_retry_after += 1;
    }

    pub fn reset(&self) {
        lock(&self.stats).resets += 1;
    }

    pub fn slow(&self) {
        lock(&self.stats).slow += 1;
    }

    pub fn dropped_change(&self) {
        lock(&self.stats).dropped_changes += 1;
    }

    pub fn injected_failure(&self) {
        lock(&self.stats).injected_failures += 1;
    }

    pub fn lookup(&self, kind: &str) {
        *lock(&self.stats)
            .lookups
            .entry(kind.to_string())
            .or_default() += 1;
    }

    /// Updates the authorization server's counters.
    pub fn oauth(&self, update: impl FnOnce(&mut OAuthStats)) {
        update(&mut lock(&self.stats).oauth);
    }

    /// Records one applied mutation. Call only once the change is made and
    /// the answer is 200: tests treat this ledger as the truth.
    pub fn applied(&self, op: &str, key: &str) {
        let mut stats = lock(&self.stats);
        let keys = stats.applied.entry(op.to_string()).or_default();
        *keys.entry(key.to_string()).or_default() += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_lists_every_mutation_even_when_empty() {
        let stats = Recorder::new().snapshot();
        for op in [DS100_CLEAR_PIN, SID_CLEAR_PIN, DS100_DISABLE, DS100_DELETE] {
            assert_eq!(stats.applied.get(op).map(BTreeMap::len), Some(0), "{op}");
        }
    }

    #[test]
    fn json_round_trip_keeps_status_keys() {
        let rec = Recorder::new();
        rec.request(DS100_CLEAR_PIN);
        rec.response(429);
        rec.applied(DS100_CLEAR_PIN, "014010008031");
        let stats = rec.snapshot();
        let text = serde_json::to_string(&stats).unwrap();
        assert!(text.contains(r#""429":1"#), "{text}");
        let back: Stats = serde_json::from_str(&text).unwrap();
        assert_eq!(back, stats);
        assert_eq!(back.throttled, 1);
        assert_eq!(back.applied_count(DS100_CLEAR_PIN, "014010008031"), 1);
    }
}
