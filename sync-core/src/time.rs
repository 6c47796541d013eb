//! [`Timestamp`]: the time a run is planned at, passed in by the host.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// A point in time in whole seconds since the Unix epoch (1970-01-01T00:00:00Z, UTC).
///
/// The engine reads no clock: the host passes the time a run is planned at
/// ([`crate::Engine::prepare`], [`crate::plan()`]), and the engine stamps what it records
/// with it ([`crate::Intent::at`], [`crate::Detached::at`]). Stored and serialized as the
/// plain number of seconds, so state written before this type existed reads unchanged.
/// Displayed as RFC 3339 in UTC (`2026-12-04T19:54:56Z`).
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use sync_core::Timestamp;
///
/// let t = Timestamp::from_unix_secs(1_800_000_000);
/// assert_eq!(t.unix_secs(), 1_800_000_000);
/// assert_eq!(t.to_string(), "2027-01-15T08:00:00Z");
/// let st = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
/// assert_eq!(Timestamp::from(st), t);
/// assert_eq!(SystemTime::from(t), st);
/// ```
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The Unix epoch, 1970-01-01T00:00:00Z (second 0).
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// The time `secs` seconds after the Unix epoch.
    pub const fn from_unix_secs(secs: u64) -> Self {
        Timestamp(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix_secs(self) -> u64 {
        self.0
    }
}

/// Whole seconds since the epoch; a time before the epoch becomes [`Timestamp::UNIX_EPOCH`].
impl From<SystemTime> for Timestamp {
    fn from(t: SystemTime) -> Self {
        Timestamp(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> Self {
        UNIX_EPOCH + Duration::from_secs(t.0)
    }
}

/// RFC 3339 in UTC, e.g. `2026-12-04T19:54:56Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0 / 86_400;
        let secs = self.0 % 86_400;
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        let t = |s| Timestamp::from_unix_secs(s).to_string();
        assert_eq!(t(0), "1970-01-01T00:00:00Z");
        assert_eq!(t(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(t(1_798_761_599), "2026-12-31T23:59:59Z");
        assert_eq!(t(4_107_542_400), "2100-03-01T00:00:00Z");
        assert_eq!(serde_json::to_string(&Timestamp(7)).unwrap(), "7");
    }
}
