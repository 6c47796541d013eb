//! The retry and "outcome unknown" decisions of [`HttpTransport::post`](super::HttpTransport::post)
//! as a pure state machine: [`decide`] maps (state, event, policy, request facts, clock
//! reading) to a [`Decision`]. No clock, no randomness, no I/O: the driver passes in the time
//! left until the deadline and a jitter sample, performs what the decision says (sleep, fetch
//! or invalidate a token, send) and feeds what happened back as the next [`Event`].
//!
//! The rules:
//!
//! * Before each attempt: a passed deadline fails with
//!   [`TransportError::DeadlineExceeded`]; otherwise the attempt is bounded by the per-attempt
//!   timeout or the time left, whichever is shorter.
//! * Nothing sent (connect failure) and, for idempotent requests, sent without an answer
//!   (I/O error, attempt timeout): retried after [`RetryPolicy::delay_for_attempt_with`]
//!   until `max_attempts`; then the last error.
//! * A non-idempotent request that may have reached the server is never repeated:
//!   [`TransportError::OutcomeUnknown`] (or `DeadlineExceeded` with `outcome_unknown` when
//!   the deadline or the last attempt ran out).
//! * 401 with a bearer token: the token is invalidated and the attempt repeated once (it
//!   does not count as an attempt); then [`TransportError::Unauthorized`].
//! * 429/503: a `Retry-After` above `max_retry_after` fails at once with
//!   [`TransportError::Throttled`]; one within it is waited for
//!   ([`RetryPolicy::server_wait_with`]); without one the back-off applies. After
//!   `max_attempts` attempts: `Throttled`.
//! * A transient token endpoint failure backs off like a connect failure; any other token
//!   error fails at once.
//! * A wait that would end at or after the deadline is not started: the call fails with
//!   the error at hand.

use std::time::Duration;

use super::RetryPolicy;
use super::error::TransportError;

/// What the driver has counted so far within one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AttemptState {
    /// Attempts started (a repeat after a token refresh is not counted).
    pub attempts: u32,
    /// HTTP 429/503 answers so far (the `repeat` of [`RetryPolicy::server_wait_with`]).
    pub throttled: u32,
    /// Whether the bearer token was already refreshed after a 401.
    pub token_refreshed: bool,
    /// Whether the current attempt is bounded by the call's deadline rather than by the
    /// per-attempt timeout.
    pub bounded_by_deadline: bool,
}

/// What the driver knows of the request and the transport; fixed for the whole call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestFacts<'a> {
    /// Whether the request may be repeated after it may have reached the server.
    pub idempotent: bool,
    /// Whether the transport authenticates with (refreshable) bearer tokens.
    pub bearer: bool,
    /// The per-attempt timeout ([`TransportConfig::timeout`](super::TransportConfig::timeout)).
    pub attempt_timeout: Duration,
    /// The endpoint host, for errors.
    pub host: &'a str,
    /// The authentication scheme, for errors.
    pub scheme: &'static str,
}

/// The driver's readings at the moment of the decision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    /// Time left until the call's deadline (zero once it has passed).
    pub remaining: Duration,
    /// A jitter sample in 0.0..=1.0 for any delay computed now.
    pub jitter: f64,
}

/// What happened; `R` is the HTTP response the driver holds (`()` in tests).
#[derive(Debug)]
pub(crate) enum Event<R = ()> {
    /// The driver is about to start an attempt (permits held).
    Start,
    /// The token provider did not answer within the time left.
    TokenTimedOut,
    /// The token provider failed.
    TokenFailed(TransportError),
    /// The attempt did not complete within its budget.
    AttemptTimedOut,
    /// Nothing reached the server (connect failure).
    NotSent(String),
    /// The request may have reached the server, but no complete answer arrived.
    MaybeSent(String),
    /// A failure no retry can cure (TLS, unknown host, response too large, ...).
    Fatal(TransportError),
    /// An HTTP answer arrived.
    Response {
        /// The HTTP status.
        status: u16,
        /// The parsed `Retry-After` header, if any.
        retry_after: Option<Duration>,
        /// The answer itself.
        response: R,
    },
}

/// What the driver does next.
#[derive(Debug)]
pub(crate) enum Decision<R = ()> {
    /// Fetch the token (if any) within `token_wait` and send, bounded by `budget`.
    Attempt {
        /// The longest wait for the token provider.
        token_wait: Duration,
        /// The bound of the HTTP attempt.
        budget: Duration,
    },
    /// Sleep `after`, then start the next attempt.
    Retry {
        /// The wait.
        after: Duration,
    },
    /// Invalidate the rejected bearer token and start the next attempt at once.
    RefreshTokenAndRetry,
    /// Hand the response to the caller.
    Deliver(R),
    /// Give up with this error.
    Fail(TransportError),
}

/// The next step after `event`, updating the counters in `state`.
pub(crate) fn decide<R>(
    state: &mut AttemptState,
    event: Event<R>,
    policy: &RetryPolicy,
    facts: &RequestFacts<'_>,
    now: Now,
) -> Decision<R> {
    let attempts = state.attempts;
    let last_attempt = attempts >= policy.max_attempts;
    // Back off after a transient failure, unless the attempts or the time ran out.
    let back_off = |failure: TransportError| {
        if last_attempt {
            return Decision::Fail(failure);
        }
        let after = policy.delay_for_attempt_with(attempts, now.jitter);
        if after >= now.remaining {
            return Decision::Fail(failure);
        }
        Decision::Retry { after }
    };
    match event {
        Event::Start => {
            if now.remaining.is_zero() {
                return Decision::Fail(TransportError::DeadlineExceeded {
                    attempts,
                    outcome_unknown: false,
                });
            }
            state.attempts += 1;
            state.bounded_by_deadline = now.remaining <= facts.attempt_timeout;
            Decision::Attempt {
                token_wait: now.remaining,
                budget: facts.attempt_timeout.min(now.remaining),
            }
        }
        Event::TokenTimedOut => Decision::Fail(TransportError::DeadlineExceeded {
            attempts: attempts.saturating_sub(1),
            outcome_unknown: false,
        }),
        // token endpoint unreachable, 5xx or 429: back off like any transient failure
        Event::TokenFailed(e) if e.is_transient() => back_off(e),
        Event::TokenFailed(e) | Event::Fatal(e) => Decision::Fail(e),
        Event::AttemptTimedOut => {
            if state.bounded_by_deadline || last_attempt {
                return Decision::Fail(TransportError::DeadlineExceeded {
                    attempts,
                    outcome_unknown: !facts.idempotent,
                });
            }
            if !facts.idempotent {
                return Decision::Fail(TransportError::OutcomeUnknown {
                    message: format!("no response within {:?}", facts.attempt_timeout),
                });
            }
            back_off(TransportError::DeadlineExceeded {
                attempts,
                outcome_unknown: false,
            })
        }
        Event::NotSent(message) => back_off(TransportError::Connect {
            host: facts.host.to_owned(),
            attempts,
            message,
        }),
        Event::MaybeSent(message) if !facts.idempotent => {
            Decision::Fail(TransportError::OutcomeUnknown { message })
        }
        Event::MaybeSent(message) => back_off(TransportError::Io { attempts, message }),
        Event::Response { status: 401, .. } => {
            if facts.bearer && !state.token_refreshed {
                state.token_refreshed = true;
                state.attempts -= 1;
                return Decision::RefreshTokenAndRetry;
            }
            Decision::Fail(TransportError::Unauthorized {
                scheme: facts.scheme,
                message: "the server rejected the credentials (HTTP 401)".to_owned(),
            })
        }
        Event::Response {
            status: status @ (429 | 503),
            retry_after,
            ..
        } => {
            state.throttled += 1;
            let throttled = TransportError::Throttled {
                status,
                retry_after,
                attempts,
            };
            let after = match retry_after {
                Some(d) if d > policy.max_retry_after => return Decision::Fail(throttled),
                // a server-requested wait: floor, growth, jitter
                Some(d) => policy.server_wait_with(Some(d), state.throttled, now.jitter),
                None => policy.delay_for_attempt_with(attempts, now.jitter),
            };
            if last_attempt || after >= now.remaining {
                return Decision::Fail(throttled);
            }
            Decision::Retry { after }
        }
        Event::Response { response, .. } => Decision::Deliver(response),
    }
}

/// The protocol layer's decision after an EWS `ErrorServerBusy` answer (see
/// [`Client::execute`](crate::Client::execute)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BusyDecision {
    /// Wait this long and repeat the call.
    Wait(Duration),
    /// Give up (attempts or time ran out); the wait that would have been needed.
    GiveUp(Duration),
}

/// The decision after the `repeat`-th (1-based) busy answer of one call that asked for
/// `back_off` (`BackOffMilliseconds`): [`RetryPolicy::server_wait_with`], at most
/// `max_attempts` answers, and never a wait that ends at or after the deadline.
pub(crate) fn decide_busy(
    repeat: u32,
    back_off: Option<Duration>,
    policy: &RetryPolicy,
    now: Now,
) -> BusyDecision {
    let wait = policy.server_wait_with(back_off, repeat, now.jitter);
    if repeat >= policy.max_attempts || wait >= now.remaining {
        BusyDecision::GiveUp(wait)
    } else {
        BusyDecision::Wait(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn ms(m: u64) -> Duration {
        Duration::from_millis(m)
    }

    /// Back-off 1 s, 2 s, 4 s ... (no jitter unless a case sets it), 3 attempts, waits for
    /// `Retry-After` up to 60 s, server waits at least 1 s.
    fn policy() -> RetryPolicy {
        RetryPolicy::default()
            .with_delays(S, secs(30))
            .with_jitter(0.0)
            .with_max_attempts(3)
            .with_max_retry_after(secs(60))
            .with_min_server_wait(S)
    }

    fn facts(idempotent: bool, bearer: bool) -> RequestFacts<'static> {
        RequestFacts {
            idempotent,
            bearer,
            attempt_timeout: secs(100),
            host: "mail.contoso.com",
            scheme: if bearer { "Bearer" } else { "Basic" },
        }
    }

    const IDEMPOTENT: bool = true;
    const CREATE: bool = false;
    const BEARER: bool = true;
    const BASIC: bool = false;

    fn state(attempts: u32) -> AttemptState {
        AttemptState {
            attempts,
            ..AttemptState::default()
        }
    }

    fn refreshed(attempts: u32) -> AttemptState {
        AttemptState {
            token_refreshed: true,
            ..state(attempts)
        }
    }

    fn throttled_before(attempts: u32, times: u32) -> AttemptState {
        AttemptState {
            throttled: times,
            ..state(attempts)
        }
    }

    fn bounded(attempts: u32) -> AttemptState {
        AttemptState {
            bounded_by_deadline: true,
            ..state(attempts)
        }
    }

    fn response(status: u16, retry_after: Option<Duration>) -> Event {
        Event::Response {
            status,
            retry_after,
            response: (),
        }
    }

    fn retry(after: Duration) -> Decision {
        Decision::Retry { after }
    }

    fn fail(e: TransportError) -> Decision {
        Decision::Fail(e)
    }

    fn connect(attempts: u32) -> TransportError {
        TransportError::Connect {
            host: "mail.contoso.com".into(),
            attempts,
            message: "refused".into(),
        }
    }

    fn deadline(attempts: u32, outcome_unknown: bool) -> TransportError {
        TransportError::DeadlineExceeded {
            attempts,
            outcome_unknown,
        }
    }

    fn throttled(status: u16, retry_after: Option<Duration>, attempts: u32) -> TransportError {
        TransportError::Throttled {
            status,
            retry_after,
            attempts,
        }
    }

    fn unknown(message: &str) -> TransportError {
        TransportError::OutcomeUnknown {
            message: message.into(),
        }
    }

    fn token_error(transient: bool) -> TransportError {
        TransportError::TokenEndpoint {
            status: if transient { 503 } else { 400 },
            error: "temporarily_unavailable".into(),
            description: None,
        }
    }

    struct Case {
        name: &'static str,
        state: AttemptState,
        event: Event,
        policy: RetryPolicy,
        facts: RequestFacts<'static>,
        remaining: Duration,
        jitter: f64,
        expected: Decision,
    }

    fn case(
        name: &'static str,
        state: AttemptState,
        event: Event,
        facts: RequestFacts<'static>,
        remaining: Duration,
        expected: Decision,
    ) -> Case {
        Case {
            name,
            state,
            event,
            policy: policy(),
            facts,
            remaining,
            jitter: 0.0,
            expected,
        }
    }

    #[rustfmt::skip]
    fn cases() -> Vec<Case> {
        let plenty = secs(1000);
        let f = facts(IDEMPOTENT, BASIC);
        vec![
            // name, state before, event, request, time left -> decision
            case("start: first attempt", state(0), Event::Start, f, plenty,
                Decision::Attempt { token_wait: plenty, budget: secs(100) }),
            case("start: attempt bounded by the deadline", state(1), Event::Start, f, secs(7),
                Decision::Attempt { token_wait: secs(7), budget: secs(7) }),
            case("start: deadline passed", state(2), Event::Start, f, Duration::ZERO,
                fail(deadline(2, false))),
            // connect failures: retried with back-off until max_attempts, then the last error
            case("connect failure 1 backs off 1 s", state(1), Event::NotSent("refused".into()), f, plenty,
                retry(S)),
            case("connect failure 2 backs off 2 s", state(2), Event::NotSent("refused".into()), f, plenty,
                retry(secs(2))),
            case("connect failure at max_attempts", state(3), Event::NotSent("refused".into()), f, plenty,
                fail(connect(3))),
            case("connect failure, back-off past the deadline", state(1), Event::NotSent("refused".into()), f, ms(999),
                fail(connect(1))),
            case("connect failure, create request: retried (nothing sent)", state(1), Event::NotSent("refused".into()),
                facts(CREATE, BASIC), plenty, retry(S)),
            // timeouts
            case("timeout, idempotent: retried", state(1), Event::AttemptTimedOut, f, plenty,
                retry(S)),
            case("timeout, idempotent, last attempt", state(3), Event::AttemptTimedOut, f, plenty,
                fail(deadline(3, false))),
            case("timeout, idempotent, bounded by the deadline", bounded(1), Event::AttemptTimedOut, f, plenty,
                fail(deadline(1, false))),
            case("timeout, create: outcome unknown", state(1), Event::AttemptTimedOut, facts(CREATE, BASIC), plenty,
                fail(unknown("no response within 100s"))),
            case("timeout, create, bounded by the deadline", bounded(1), Event::AttemptTimedOut,
                facts(CREATE, BASIC), plenty, fail(deadline(1, true))),
            case("timeout, create, last attempt", state(3), Event::AttemptTimedOut, facts(CREATE, BASIC), plenty,
                fail(deadline(3, true))),
            // sent, no answer
            case("maybe sent, idempotent: retried", state(1), Event::MaybeSent("reset".into()), f, plenty,
                retry(S)),
            case("maybe sent, idempotent, last attempt", state(3), Event::MaybeSent("reset".into()), f, plenty,
                fail(TransportError::Io { attempts: 3, message: "reset".into() })),
            case("maybe sent, create: outcome unknown", state(1), Event::MaybeSent("reset".into()),
                facts(CREATE, BASIC), plenty, fail(unknown("reset"))),
            case("fatal", state(1), Event::Fatal(TransportError::ResponseTooLarge { limit: 10, declared: None }),
                f, plenty, fail(TransportError::ResponseTooLarge { limit: 10, declared: None })),
            // 401
            case("401 with bearer: refresh once", state(1), response(401, None), facts(IDEMPOTENT, BEARER), plenty,
                Decision::RefreshTokenAndRetry),
            case("401 with bearer after the refresh: unauthorized", refreshed(1), response(401, None),
                facts(IDEMPOTENT, BEARER), plenty,
                fail(TransportError::Unauthorized { scheme: "Bearer", message: "the server rejected the credentials (HTTP 401)".into() })),
            case("401 with Basic: unauthorized", state(1), response(401, None), f, plenty,
                fail(TransportError::Unauthorized { scheme: "Basic", message: "the server rejected the credentials (HTTP 401)".into() })),
            // throttling
            case("429, Retry-After above max_retry_after: at once", state(1), response(429, Some(secs(61))), f, plenty,
                fail(throttled(429, Some(secs(61)), 1))),
            case("503, Retry-After above max_retry_after: at once", state(1), response(503, Some(secs(3600))), f, plenty,
                fail(throttled(503, Some(secs(3600)), 1))),
            case("429, Retry-After within: waited for", state(1), response(429, Some(secs(5))), f, plenty,
                retry(secs(5))),
            case("429, Retry-After 0: the floor", state(1), response(429, Some(Duration::ZERO)), f, plenty,
                retry(S)),
            case("503, Retry-After 0 the third time: the floor doubles", throttled_before(2, 2),
                response(503, Some(Duration::ZERO)), f, plenty, retry(secs(4))),
            case("429 without Retry-After: back-off", state(2), response(429, None), f, plenty,
                retry(secs(2))),
            case("429 at max_attempts", state(3), response(429, Some(S)), f, plenty,
                fail(throttled(429, Some(S), 3))),
            case("429, wait past the deadline", state(1), response(429, Some(secs(5))), f, secs(5),
                fail(throttled(429, Some(secs(5)), 1))),
            // other answers go to the protocol layer
            case("200", state(1), response(200, None), f, plenty, Decision::Deliver(())),
            case("500 (SOAP fault)", state(3), response(500, None), f, plenty, Decision::Deliver(())),
            // token endpoint
            case("token endpoint transient failure: retried", state(1), Event::TokenFailed(token_error(true)),
                facts(IDEMPOTENT, BEARER), plenty, retry(S)),
            case("token endpoint transient failure at max_attempts", state(3), Event::TokenFailed(token_error(true)),
                facts(IDEMPOTENT, BEARER), plenty, fail(token_error(true))),
            case("token endpoint transient failure, deadline too close", state(1), Event::TokenFailed(token_error(true)),
                facts(IDEMPOTENT, BEARER), ms(500), fail(token_error(true))),
            case("token endpoint refuses: at once", state(1), Event::TokenFailed(token_error(false)),
                facts(IDEMPOTENT, BEARER), plenty, fail(token_error(false))),
            case("token provider too slow", state(2), Event::TokenTimedOut, facts(IDEMPOTENT, BEARER), plenty,
                fail(deadline(1, false))),
            // jitter comes from outside
            Case { jitter: 1.0, policy: policy().with_jitter(0.5),
                ..case("back-off with the largest jitter sample", state(2), Event::NotSent("refused".into()), f, plenty,
                    retry(S)) },
            Case { jitter: 1.0, policy: policy().with_jitter(0.5),
                ..case("server wait with the largest jitter sample", state(1), response(503, Some(secs(2))), f, plenty,
                    retry(secs(3))) },
        ]
    }

    #[test]
    fn decisions_table() {
        for c in cases() {
            let mut state = c.state.clone();
            let now = Now {
                remaining: c.remaining,
                jitter: c.jitter,
            };
            let got = decide(&mut state, c.event, &c.policy, &c.facts, now);
            // TransportError has no PartialEq; its Debug output shows every field
            assert_eq!(
                format!("{got:?}"),
                format!("{:?}", c.expected),
                "{}",
                c.name
            );
        }
    }

    #[test]
    #[rustfmt::skip]
    fn server_busy_table() {
        use BusyDecision::{GiveUp, Wait};
        let p = policy().with_delays(secs(2), secs(60)).with_max_attempts(4);
        let plenty = secs(1000);
        // repeat, BackOffMilliseconds, time left, jitter sample -> decision
        let cases: &[(u32, Option<Duration>, Duration, f64, BusyDecision)] = &[
            (1, Some(secs(5)), plenty, 0.0, Wait(secs(5))),
            (1, Some(Duration::ZERO), plenty, 0.0, Wait(S)),           // the floor
            (3, Some(Duration::ZERO), plenty, 0.0, Wait(secs(4))),     // the floor doubles
            (1, None, plenty, 0.0, Wait(secs(2))),                     // base_delay without a request
            (2, None, plenty, 0.0, Wait(secs(4))),
            (4, Some(S), plenty, 0.0, GiveUp(secs(8))),                // max_attempts answers
            (1, Some(secs(5)), secs(5), 0.0, GiveUp(secs(5))),         // would end at the deadline
            (1, Some(secs(4)), secs(5), 0.0, Wait(secs(4))),
        ];
        for &(repeat, back_off, remaining, jitter, expected) in cases {
            let now = Now { remaining, jitter };
            assert_eq!(decide_busy(repeat, back_off, &p, now), expected, "{repeat} {back_off:?} {remaining:?}");
        }
        let jittered = p.with_jitter(0.5);
        let now = Now { remaining: plenty, jitter: 1.0 };
        assert_eq!(decide_busy(1, Some(secs(2)), &jittered, now), Wait(secs(3)));
    }

    #[test]
    fn counters_follow_the_events() {
        let f = facts(IDEMPOTENT, BEARER);
        let now = Now {
            remaining: secs(1000),
            jitter: 0.0,
        };
        let mut s = AttemptState::default();
        let p = policy();
        assert!(matches!(
            decide(&mut s, Event::<()>::Start, &p, &f, now),
            Decision::Attempt { .. }
        ));
        assert_eq!(s.attempts, 1);
        // a token refresh does not use up an attempt, and happens once
        assert!(matches!(
            decide(&mut s, response(401, None), &p, &f, now),
            Decision::RefreshTokenAndRetry
        ));
        assert_eq!((s.attempts, s.token_refreshed), (0, true));
        decide(&mut s, Event::<()>::Start, &p, &f, now);
        decide(&mut s, response(503, Some(Duration::ZERO)), &p, &f, now);
        decide(&mut s, Event::<()>::Start, &p, &f, now);
        assert!(
            matches!(
                decide(&mut s, response(503, Some(Duration::ZERO)), &p, &f, now),
                Decision::Retry { after } if after == secs(2)
            ),
            "the second throttling doubles the floor"
        );
        assert_eq!((s.attempts, s.throttled), (2, 2));
    }
}
