//! Retry policy (exponential back-off with jitter) and `Retry-After` parsing.

use std::time::{Duration, SystemTime};

use rand::Rng;

/// How often and how long to wait between attempts.
///
/// Used by the transport for connection failures, dropped idempotent requests and HTTP
/// 429/503 without `Retry-After`, and by the protocol layer for EWS `ErrorServerBusy`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt; doubled for every further attempt.
    pub base_delay: Duration,
    /// Upper bound for a computed delay (before jitter).
    pub max_delay: Duration,
    /// Fraction (0.0..=1.0) of each delay that is randomised: the actual delay is uniformly
    /// distributed in `[d * (1 - jitter), d]`. 0 disables jitter.
    pub jitter: f64,
    /// Maximum number of HTTP attempts per [`post`](super::HttpTransport::post) (at least 1).
    pub max_attempts: u32,
    /// A server `Retry-After` longer than this is not waited for: the call fails at once
    /// with [`TransportError::Throttled`](super::TransportError::Throttled) carrying it.
    pub max_retry_after: Duration,
    /// The shortest wait after a server asked to wait (`Retry-After: 0`,
    /// `BackOffMilliseconds` of 0 or 1): a busy server is never hammered. Doubled for each
    /// repetition within one call (see [`server_wait`](Self::server_wait)). Default 1 s.
    pub min_server_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            jitter: 0.2,
            max_attempts: 5,
            max_retry_after: Duration::from_secs(300),
            min_server_wait: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn no_retries() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Sets the base and maximum delays.
    pub fn with_delays(mut self, base_delay: Duration, max_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self.max_delay = max_delay;
        self
    }

    /// Sets the jitter fraction (clamped to 0.0..=1.0).
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the maximum number of attempts.
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Sets the longest `Retry-After` the transport waits for.
    pub fn with_max_retry_after(mut self, max_retry_after: Duration) -> Self {
        self.max_retry_after = max_retry_after;
        self
    }

    /// Sets the floor of server-requested waits.
    pub fn with_min_server_wait(mut self, min_server_wait: Duration) -> Self {
        self.min_server_wait = min_server_wait;
        self
    }

    /// The wait after the server throttled for the `repeat`-th time (1-based) within one
    /// call, when it asked for `requested` (`Retry-After`, `BackOffMilliseconds`) or for
    /// nothing.
    ///
    /// The wait is the larger of the server's request (or, without one, the
    /// [nominal delay](Self::nominal_delay)) and the floor
    /// `min_server_wait * 2^(repeat-1)` (capped at `max_delay`, never below
    /// `min_server_wait`), plus up to `jitter` of it on top, so that many clients told the
    /// same thing do not come back at once and the server's request is always honoured.
    /// Callers stop after `max_attempts` attempts and fail with an error that is
    /// `is_throttled()`; a request above `max_retry_after` is not waited for at all.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ews_client::transport::RetryPolicy;
    /// let policy = RetryPolicy::default().with_jitter(0.0);
    /// // a server asking for no wait at all still gets 1 s, then 2 s, 4 s ...
    /// assert_eq!(policy.server_wait(Some(Duration::ZERO), 1), Duration::from_secs(1));
    /// assert_eq!(policy.server_wait(Some(Duration::ZERO), 3), Duration::from_secs(4));
    /// assert_eq!(policy.server_wait(Some(Duration::from_secs(7)), 1), Duration::from_secs(7));
    /// ```
    pub fn server_wait(&self, requested: Option<Duration>, repeat: u32) -> Duration {
        self.server_wait_with(requested, repeat, random_sample())
    }

    /// [`server_wait`](Self::server_wait) with the jitter drawn from outside: `sample`
    /// (0.0..=1.0, clamped) picks the share of `jitter` added on top, so the result is
    /// deterministic.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ews_client::transport::RetryPolicy;
    /// let policy = RetryPolicy::default().with_jitter(0.5);
    /// let wait = policy.server_wait_with(Some(Duration::from_secs(2)), 1, 1.0);
    /// assert_eq!(wait, Duration::from_secs(3));
    /// ```
    pub fn server_wait_with(
        &self,
        requested: Option<Duration>,
        repeat: u32,
        sample: f64,
    ) -> Duration {
        let exponent = repeat.saturating_sub(1).min(31);
        let floor = self
            .min_server_wait
            .checked_mul(1u32 << exponent)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
            .max(self.min_server_wait);
        let wanted = requested.unwrap_or_else(|| self.nominal_delay(repeat));
        let base = wanted.max(floor);
        let jitter = self.jitter_fraction();
        if jitter == 0.0 || base.is_zero() {
            return base;
        }
        base.mul_f64(1.0 + jitter * clamp_sample(sample))
    }

    /// The jitter fraction in 0.0..=1.0 (0 for a non-finite value).
    fn jitter_fraction(&self) -> f64 {
        if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// The un-jittered delay after failed attempt number `attempt` (1-based):
    /// `base_delay * 2^(attempt-1)`, capped at `max_delay`.
    pub fn nominal_delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let factor = 1u32 << exponent;
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The delay to wait after failed attempt number `attempt` (1-based): the
    /// [nominal delay](Self::nominal_delay) minus a random share of up to `jitter`.
    pub fn delay_for_attempt(&self, attempt: u32) -> Duration {
        self.delay_for_attempt_with(attempt, random_sample())
    }

    /// [`delay_for_attempt`](Self::delay_for_attempt) with the jitter drawn from outside:
    /// `sample` (0.0..=1.0, clamped) picks the share of `jitter` cut off, so the result is
    /// deterministic.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ews_client::transport::RetryPolicy;
    /// let policy = RetryPolicy::default()
    ///     .with_delays(Duration::from_secs(1), Duration::from_secs(30))
    ///     .with_jitter(0.5);
    /// assert_eq!(policy.delay_for_attempt_with(2, 0.0), Duration::from_secs(2));
    /// assert_eq!(policy.delay_for_attempt_with(2, 1.0), Duration::from_secs(1));
    /// ```
    pub fn delay_for_attempt_with(&self, attempt: u32, sample: f64) -> Duration {
        let nominal = self.nominal_delay(attempt);
        let jitter = self.jitter_fraction();
        if jitter == 0.0 || nominal.is_zero() {
            return nominal;
        }
        nominal.mul_f64(1.0 - jitter * clamp_sample(sample))
    }
}

/// A uniformly distributed jitter sample in 0.0..=1.0.
pub(crate) fn random_sample() -> f64 {
    rand::rng().random_range(0.0..=1.0)
}

fn clamp_sample(sample: f64) -> f64 {
    if sample.is_finite() {
        sample.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Parses an HTTP `Retry-After` value: delay-seconds (`"120"`) or an HTTP date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, also the obsolete RFC 850 and asctime forms).
/// A date in the past gives zero. Returns `None` for unparsable values.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_values() {
        // 2015-10-21T07:28:00Z
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let cases: &[(&str, Option<u64>)] = &[
            ("0", Some(0)),
            ("5", Some(5)),
            (" 120 ", Some(120)),
            ("Wed, 21 Oct 2015 07:28:00 GMT", Some(0)),
            ("Wed, 21 Oct 2015 07:28:30 GMT", Some(30)),
            ("Wednesday, 21-Oct-15 07:29:00 GMT", Some(60)),
            ("Wed Oct 21 07:30:00 2015", Some(120)),
            ("Tue, 20 Oct 2015 07:28:00 GMT", Some(0)),
            ("", None),
            ("-1", None),
            ("1.5", None),
            ("soon", None),
            ("99999999999999999999999", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                parse_retry_after(input, now),
                expected.map(Duration::from_secs),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn exponential_delays_are_capped() {
        let policy = RetryPolicy::default()
            .with_delays(Duration::from_millis(100), Duration::from_secs(1))
            .with_jitter(0.0);
        let delays: Vec<u128> = (1..=6)
            .map(|a| policy.delay_for_attempt(a).as_millis())
            .collect();
        assert_eq!(delays, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.delay_for_attempt(u32::MAX), Duration::from_secs(1));
        assert_eq!(policy.delay_for_attempt(0), Duration::from_millis(100));
    }

    #[test]
    fn server_waits_have_a_floor_grow_and_jitter_upwards() {
        let policy = RetryPolicy::default()
            .with_delays(Duration::from_millis(500), Duration::from_secs(30))
            .with_jitter(0.5);
        for repeat in 1..=8u32 {
            for requested in [None, Some(Duration::ZERO), Some(Duration::from_millis(1))] {
                let floor = Duration::from_secs(1u64 << (repeat - 1)).min(Duration::from_secs(30));
                let wait = policy.server_wait(requested, repeat);
                assert!(
                    wait >= floor && wait <= floor.mul_f64(1.5),
                    "{repeat} {wait:?}"
                );
            }
        }
        let waits: std::collections::HashSet<_> = (0..50)
            .map(|_| policy.server_wait(Some(Duration::ZERO), 1))
            .collect();
        assert!(waits.len() > 5, "jitter must randomise server waits");
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let policy = RetryPolicy::default()
            .with_delays(Duration::from_millis(1000), Duration::from_secs(10))
            .with_jitter(0.5);
        let mut distinct = std::collections::HashSet::new();
        for _ in 0..200 {
            let d = policy.delay_for_attempt(2);
            assert!(
                d >= Duration::from_millis(1000) && d <= Duration::from_millis(2000),
                "{d:?}"
            );
            distinct.insert(d);
        }
        assert!(distinct.len() > 10, "jitter must randomise delays");
        let weird = policy.clone().with_jitter(f64::NAN);
        assert_eq!(weird.delay_for_attempt(1), Duration::from_millis(1000));
    }
}
