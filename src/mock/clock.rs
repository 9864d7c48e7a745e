//! Timestamps in the tenant's own formats: the colon-less
//! `2022-05-24T084041.067Z` of `tokenStatusChangedAt` (as in the vendor's
//! example, which is not ISO 8601) and the ISO 8601 `timestamp` of error
//! bodies. Computed from `SystemTime` with a civil-calendar conversion rather
//! than a date crate, which the project does not otherwise need.

use std::time::{SystemTime, UNIX_EPOCH};

/// `YYYY-MM-DDTHHMMSS.mmmZ`, UTC: the disable answer's timestamp.
pub(crate) fn status_changed_at(now: SystemTime) -> String {
    let t = Utc::from(now);
    format!(
        "{:04}-{:02}-{:02}T{:02}{:02}{:02}.{:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis
    )
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, UTC: the `timestamp` of an error body.
pub(crate) fn iso8601(now: SystemTime) -> String {
    let t = Utc::from(now);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.millis
    )
}

struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
    millis: u32,
}

impl From<SystemTime> for Utc {
    fn from(now: SystemTime) -> Self {
        // Before 1970 only happens with a broken clock; show the epoch then.
        let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (year, month, day) = civil_from_days((secs / 86_400) as i64);
        let of_day = secs % 86_400;
        Utc {
            year,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day % 3600 / 60,
            second: of_day % 60,
            millis: since.subsec_millis(),
        }
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn vendor_example_instant() {
        // 2022-05-24T08:40:41.067Z
        let t = UNIX_EPOCH + Duration::from_millis(1_653_381_641_067);
        assert_eq!(status_changed_at(t), "2022-05-24T084041.067Z");
        assert_eq!(iso8601(t), "2022-05-24T08:40:41.067Z");
    }

    #[test]
    fn calendar_edges() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(20_453), (2025, 12, 31));
        assert_eq!(civil_from_days(20_454), (2026, 1, 1));
    }
}
