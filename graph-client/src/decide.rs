//! The retry, throttling and "outcome unknown" decisions of the request pipeline
//! ([`Client::execute`](crate::Client)) as a pure state machine: [`decide`] maps (state,
//! event, policy, request facts, time left, jitter sample) to a [`Decision`]. No clock, no
//! randomness, no I/O: the driver performs what the decision says (fetch a token and take
//! the request budget, send, sleep, invalidate a token) and feeds what happened back as the
//! next [`Event`].
//!
//! The rules:
//!
//! * Before each attempt: a passed deadline fails with [`TransportError::DeadlineExceeded`].
//!   An attempt is bounded by the per-attempt timeout or the time left, whichever is
//!   shorter.
//! * A transient token endpoint failure counts as an attempt and backs off, unless it would
//!   be the last attempt; any other token error, or a token provider slower than the
//!   deadline, fails at once.
//! * Nothing sent (connect failure) and, for idempotent requests, sent without an answer
//!   (I/O error, attempt timeout) or answered 500/502/504: retried after
//!   [`RetryPolicy::delay_for_attempt`]'s back-off until `max_attempts`; then the last error.
//! * A non-idempotent request that may have reached the server is never repeated:
//!   [`TransportError::OutcomeUnknown`].
//! * 401 with a bearer token: the token is invalidated and the request sent again, once;
//!   then [`TransportError::Unauthorized`].
//! * 429/503: a `Retry-After` above `max_retry_after` fails at once with
//!   [`TransportError::Throttled`]; otherwise the wait is [`RetryPolicy::server_wait`]'s;
//!   after `max_attempts` attempts: `Throttled`.
//! * Any other error answer fails at once ([`Error::from_api`]).
//! * A wait that would end at or after the deadline is not started: the call fails with the
//!   error at hand.

use std::time::Duration;

use ews_client::transport::{RetryPolicy, TransportError};

use crate::error::{ApiError, Error};

/// What the driver has counted so far within one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CallState {
    /// Attempts started (a transient token failure counts as one).
    pub attempts: u32,
    /// HTTP 429/503 answers so far (the `repeat` of [`RetryPolicy::server_wait`]).
    pub throttled: u32,
    /// Whether the bearer token was already refreshed after a 401.
    pub token_refreshed: bool,
}

/// What the driver knows of the request and the client; fixed for the whole call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestFacts<'a> {
    /// Whether the request may be repeated after it may have reached the server.
    pub idempotent: bool,
    /// Whether the request carries a (refreshable) bearer token.
    pub authorize: bool,
    /// The per-attempt timeout ([`ClientConfig::timeout`](crate::ClientConfig::timeout)).
    pub attempt_timeout: Duration,
    /// The service host, for errors.
    pub host: &'a str,
}

/// The driver's readings at the moment of the decision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    /// Time left until the call's deadline (zero once it has passed).
    pub remaining: Duration,
    /// A sample in 0.0..=1.0 that picks the jitter of any delay computed now.
    pub jitter: f64,
}

/// What happened; `R` is the successful response the driver holds (`()` in tests).
#[derive(Debug)]
pub(crate) enum Event<R = ()> {
    /// The driver is about to start an attempt (permits held).
    Start,
    /// The token provider did not answer within the time left.
    TokenTimedOut,
    /// The token provider failed.
    TokenFailed(TransportError),
    /// The token (if any) is in hand and the request budget taken: ready to send.
    Ready,
    /// The attempt did not complete within `budget`.
    TimedOut {
        /// The bound the attempt had.
        budget: Duration,
    },
    /// Nothing reached the server (connect failure).
    NotSent(String),
    /// The request may have reached the server, but no complete answer arrived.
    MaybeSent(String),
    /// A failure no retry can cure (invalid header, TLS, response too large, ...).
    Fatal(Error),
    /// A 2xx answer.
    Success(R),
    /// Any other answer.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The parsed `Retry-After` header, if any.
        retry_after: Option<Duration>,
        /// The answer's error body.
        api: ApiError,
    },
}

/// What the driver does next.
#[derive(Debug)]
pub(crate) enum Decision<R = ()> {
    /// Fetch the token (if the request is authorized) within `token_wait`, take the request
    /// budget, then report [`Event::Ready`].
    Prepare {
        /// The longest wait for the token provider.
        token_wait: Duration,
    },
    /// Send the request, bounded by `budget`.
    Send {
        /// The bound of the HTTP attempt.
        budget: Duration,
    },
    /// Sleep `after`, then start the next attempt.
    Wait {
        /// The wait.
        after: Duration,
    },
    /// Invalidate the rejected bearer token, then start the next attempt at once.
    RefreshToken,
    /// Hand the response to the caller.
    Deliver(R),
    /// Give up with this error.
    Fail(Error),
}

/// The next step after `event`, updating the counters in `state`.
pub(crate) fn decide<R>(
    state: &mut CallState,
    event: Event<R>,
    policy: &RetryPolicy,
    facts: &RequestFacts<'_>,
    now: Now,
) -> Decision<R> {
    let attempts = state.attempts;
    let back_off = |failure: Error| back_off(attempts, policy, now, failure);
    let outcome_unknown =
        |message: String| Decision::Fail(TransportError::OutcomeUnknown { message }.into());
    match event {
        Event::Start if now.remaining.is_zero() => Decision::Fail(deadline_exceeded(attempts)),
        Event::Start => Decision::Prepare {
            token_wait: now.remaining,
        },
        Event::TokenTimedOut => Decision::Fail(deadline_exceeded(attempts)),
        Event::TokenFailed(e) if e.is_transient() && attempts + 1 < policy.max_attempts => {
            state.attempts += 1;
            let after = backoff_delay(policy, state.attempts, now.jitter);
            wait_or_fail(after, now, e.into())
        }
        Event::TokenFailed(e) => Decision::Fail(e.into()),
        Event::Ready => {
            state.attempts += 1;
            Decision::Send {
                budget: facts.attempt_timeout.min(now.remaining),
            }
        }
        Event::TimedOut { budget } if !facts.idempotent => {
            outcome_unknown(format!("no response within {budget:?}"))
        }
        Event::TimedOut { .. } => back_off(deadline_exceeded(attempts)),
        Event::Fatal(e) => Decision::Fail(e),
        Event::NotSent(message) => back_off(
            TransportError::Connect {
                host: facts.host.to_owned(),
                attempts,
                message,
            }
            .into(),
        ),
        Event::MaybeSent(message) if !facts.idempotent => outcome_unknown(message),
        Event::MaybeSent(message) => back_off(TransportError::Io { attempts, message }.into()),
        Event::Success(response) => Decision::Deliver(response),
        Event::Refused {
            status,
            retry_after,
            api,
        } => refused(state, status, retry_after, api, policy, facts, now),
    }
}

/// The decision after an error answer.
fn refused<R>(
    state: &mut CallState,
    status: u16,
    retry_after: Option<Duration>,
    api: ApiError,
    policy: &RetryPolicy,
    facts: &RequestFacts<'_>,
    now: Now,
) -> Decision<R> {
    match status {
        401 if facts.authorize && !state.token_refreshed => {
            state.token_refreshed = true;
            Decision::RefreshToken
        }
        401 => Decision::Fail(
            TransportError::Unauthorized {
                scheme: "Bearer",
                message: format!("Graph rejected the token: {api}"),
            }
            .into(),
        ),
        429 | 503 => throttled(state, status, retry_after, policy, now),
        500 | 502 | 504 if !facts.idempotent => Decision::Fail(
            TransportError::OutcomeUnknown {
                message: format!("the server failed after receiving the request: {api}"),
            }
            .into(),
        ),
        500 | 502 | 504 => back_off(state.attempts, policy, now, Error::Api(api)),
        _ => Decision::Fail(Error::from_api(api)),
    }
}

/// Backs off after a transient failure of attempt `attempts`, unless the attempts or the
/// time ran out.
fn back_off<R>(attempts: u32, policy: &RetryPolicy, now: Now, failure: Error) -> Decision<R> {
    if attempts >= policy.max_attempts {
        return Decision::Fail(failure);
    }
    wait_or_fail(backoff_delay(policy, attempts, now.jitter), now, failure)
}

/// The decision after a 429 or 503 answer.
fn throttled<R>(
    state: &mut CallState,
    status: u16,
    retry_after: Option<Duration>,
    policy: &RetryPolicy,
    now: Now,
) -> Decision<R> {
    let failure = Error::Transport(TransportError::Throttled {
        status,
        retry_after,
        attempts: state.attempts,
    });
    if retry_after.is_some_and(|d| d > policy.max_retry_after) {
        return Decision::Fail(failure);
    }
    state.throttled += 1;
    if state.attempts >= policy.max_attempts {
        return Decision::Fail(failure);
    }
    let after = server_wait(policy, retry_after, state.throttled, now.jitter);
    wait_or_fail(after, now, failure)
}

/// Waits `after` unless the wait would end at or after the deadline.
fn wait_or_fail<R>(after: Duration, now: Now, failure: Error) -> Decision<R> {
    if after >= now.remaining {
        Decision::Fail(failure)
    } else {
        Decision::Wait { after }
    }
}

fn deadline_exceeded(attempts: u32) -> Error {
    Error::Transport(TransportError::DeadlineExceeded {
        attempts,
        outcome_unknown: false,
    })
}

/// [`RetryPolicy::delay_for_attempt`] with the random share picked by `sample` (0.0..=1.0).
fn backoff_delay(policy: &RetryPolicy, attempt: u32, sample: f64) -> Duration {
    policy.delay_for_attempt_with(attempt, sample)
}

/// [`RetryPolicy::server_wait`] with the random share picked by `sample` (0.0..=1.0).
fn server_wait(
    policy: &RetryPolicy,
    requested: Option<Duration>,
    repeat: u32,
    sample: f64,
) -> Duration {
    policy.server_wait_with(requested, repeat, sample)
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

    const IDEMPOTENT: bool = true;
    const WRITE: bool = false;
    const BEARER: bool = true;
    const UPLOAD: bool = false;

    fn facts(idempotent: bool, authorize: bool) -> RequestFacts<'static> {
        RequestFacts {
            idempotent,
            authorize,
            attempt_timeout: secs(100),
            host: "graph.contoso.com",
        }
    }

    fn state(attempts: u32) -> CallState {
        CallState {
            attempts,
            ..CallState::default()
        }
    }

    fn refreshed(attempts: u32) -> CallState {
        CallState {
            token_refreshed: true,
            ..state(attempts)
        }
    }

    fn throttled_before(attempts: u32, times: u32) -> CallState {
        CallState {
            throttled: times,
            ..state(attempts)
        }
    }

    fn api(status: u16) -> ApiError {
        let mut api = ApiError::default();
        api.status = status;
        api.code = "code".into();
        api.message = "message".into();
        api
    }

    fn refused(status: u16, retry_after: Option<Duration>) -> Event {
        Event::Refused {
            status,
            retry_after,
            api: api(status),
        }
    }

    fn wait(after: Duration) -> Decision {
        Decision::Wait { after }
    }

    fn fail(e: impl Into<Error>) -> Decision {
        Decision::Fail(e.into())
    }

    fn connect(attempts: u32) -> TransportError {
        TransportError::Connect {
            host: "graph.contoso.com".into(),
            attempts,
            message: "refused".into(),
        }
    }

    fn deadline(attempts: u32) -> TransportError {
        TransportError::DeadlineExceeded {
            attempts,
            outcome_unknown: false,
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
        state: CallState,
        event: Event,
        policy: RetryPolicy,
        facts: RequestFacts<'static>,
        remaining: Duration,
        jitter: f64,
        expected: Decision,
    }

    fn case(
        name: &'static str,
        state: CallState,
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

    /// The request facts of most cases: an idempotent read, and a write.
    fn read_and_write() -> (RequestFacts<'static>, RequestFacts<'static>) {
        (facts(IDEMPOTENT, BEARER), facts(WRITE, BEARER))
    }

    const PLENTY: Duration = Duration::from_secs(1000);

    /// Before and during an attempt: deadline, token, transport failures.
    #[rustfmt::skip]
    fn attempt_cases() -> Vec<Case> {
        let plenty = PLENTY;
        let (f, w) = read_and_write();
        vec![
            // name, state before, event, request, time left -> decision
            case("start: token within the time left", state(0), Event::Start, f, plenty,
                Decision::Prepare { token_wait: plenty }),
            case("start: deadline passed", state(2), Event::Start, f, Duration::ZERO,
                fail(deadline(2))),
            case("ready: bounded by the attempt timeout", state(0), Event::Ready, f, plenty,
                Decision::Send { budget: secs(100) }),
            case("ready: bounded by the deadline", state(1), Event::Ready, f, secs(7),
                Decision::Send { budget: secs(7) }),
            // token provider
            case("token provider too slow", state(1), Event::TokenTimedOut, f, plenty,
                fail(deadline(1))),
            case("token endpoint transient failure: backs off", state(0), Event::TokenFailed(token_error(true)),
                f, plenty, wait(S)),
            case("token endpoint transient failure, second: 2 s", state(1), Event::TokenFailed(token_error(true)),
                f, plenty, wait(secs(2))),
            case("token endpoint transient failure, would be the last attempt", state(2),
                Event::TokenFailed(token_error(true)), f, plenty, fail(token_error(true))),
            case("token endpoint transient failure, deadline too close", state(0),
                Event::TokenFailed(token_error(true)), f, ms(500), fail(token_error(true))),
            case("token endpoint refuses: at once", state(0), Event::TokenFailed(token_error(false)),
                f, plenty, fail(token_error(false))),
            // connect failures: retried with back-off until max_attempts, then the last error
            case("connect failure 1 backs off 1 s", state(1), Event::NotSent("refused".into()), f, plenty,
                wait(S)),
            case("connect failure 2 backs off 2 s", state(2), Event::NotSent("refused".into()), f, plenty,
                wait(secs(2))),
            case("connect failure at max_attempts", state(3), Event::NotSent("refused".into()), f, plenty,
                fail(connect(3))),
            case("connect failure, back-off past the deadline", state(1), Event::NotSent("refused".into()),
                f, S, fail(connect(1))),
            case("connect failure, write: retried (nothing sent)", state(1), Event::NotSent("refused".into()),
                w, plenty, wait(S)),
            // timeouts
            case("timeout, idempotent: retried", state(1), Event::TimedOut { budget: secs(100) }, f, plenty,
                wait(S)),
            case("timeout, idempotent, last attempt", state(3), Event::TimedOut { budget: secs(100) }, f, plenty,
                fail(deadline(3))),
            case("timeout, write: outcome unknown", state(1), Event::TimedOut { budget: secs(7) }, w, plenty,
                fail(unknown("no response within 7s"))),
            // sent, no answer
            case("maybe sent, idempotent: retried", state(1), Event::MaybeSent("reset".into()), f, plenty,
                wait(S)),
            case("maybe sent, idempotent, last attempt", state(3), Event::MaybeSent("reset".into()), f, plenty,
                fail(TransportError::Io { attempts: 3, message: "reset".into() })),
            case("maybe sent, write: outcome unknown", state(1), Event::MaybeSent("reset".into()), w, plenty,
                fail(unknown("reset"))),
            case("fatal", state(1), Event::Fatal(Error::InvalidArgument("invalid header value".into())), f, plenty,
                fail(Error::InvalidArgument("invalid header value".into()))),
        ]
    }

    /// After an HTTP answer: delivered, failed, refreshed, retried, waited for.
    #[rustfmt::skip]
    fn answer_cases() -> Vec<Case> {
        let plenty = PLENTY;
        let (f, w) = read_and_write();
        vec![
            // name, state before, event, request, time left -> decision
            case("2xx is delivered", state(1), Event::Success(()), f, plenty, Decision::Deliver(())),
            case("404 fails at once", state(1), refused(404, None), f, plenty, fail(Error::NotFound(api(404)))),
            case("410 is a delta reset", state(1), refused(410, None), f, plenty, fail(Error::DeltaReset(api(410)))),
            case("400 fails at once", state(1), refused(400, None), f, plenty, fail(Error::Api(api(400)))),
            case("502, idempotent: backs off", state(1), refused(502, None), f, plenty, wait(S)),
            case("500, idempotent, last attempt", state(3), refused(500, None), f, plenty, fail(Error::Api(api(500)))),
            case("504, write: outcome unknown", state(1), refused(504, None), w, plenty,
                fail(unknown("the server failed after receiving the request: HTTP 504 code: message"))),
            // 401
            case("401 with bearer: refresh once", state(1), refused(401, None), f, plenty, Decision::RefreshToken),
            case("401 after the refresh: unauthorized", refreshed(2), refused(401, None), f, plenty,
                fail(TransportError::Unauthorized { scheme: "Bearer",
                    message: "Graph rejected the token: HTTP 401 code: message".into() })),
            case("401 without a token (upload session): unauthorized", state(1), refused(401, None),
                facts(IDEMPOTENT, UPLOAD), plenty,
                fail(TransportError::Unauthorized { scheme: "Bearer",
                    message: "Graph rejected the token: HTTP 401 code: message".into() })),
            // throttling
            case("429, Retry-After above max_retry_after: at once", state(1), refused(429, Some(secs(61))), f, plenty,
                fail(throttled(429, Some(secs(61)), 1))),
            case("429, Retry-After within: waited for", state(1), refused(429, Some(secs(5))), f, plenty,
                wait(secs(5))),
            case("429, Retry-After 0: the floor", state(1), refused(429, Some(Duration::ZERO)), f, plenty,
                wait(S)),
            case("503, Retry-After 0 the third time: the floor doubles", throttled_before(2, 2),
                refused(503, Some(Duration::ZERO)), f, plenty, wait(secs(4))),
            case("503 without Retry-After: the nominal delay", state(2), refused(503, None), f, plenty,
                wait(S)),
            case("429 at max_attempts", state(3), refused(429, Some(S)), f, plenty,
                fail(throttled(429, Some(S), 3))),
            case("429, wait past the deadline", state(1), refused(429, Some(secs(5))), f, secs(5),
                fail(throttled(429, Some(secs(5)), 1))),
            case("429, write: waited for (the server did not run it)", state(1), refused(429, Some(secs(5))), w,
                plenty, wait(secs(5))),
            // jitter comes from outside
            Case { jitter: 1.0, policy: policy().with_jitter(0.5),
                ..case("back-off with the largest jitter sample", state(2), Event::NotSent("refused".into()), f, plenty,
                    wait(S)) },
            Case { jitter: 1.0, policy: policy().with_jitter(0.5),
                ..case("server wait with the largest jitter sample", state(1), refused(503, Some(secs(2))), f, plenty,
                    wait(secs(3))) },
        ]
    }

    #[test]
    fn decisions_table() {
        for c in attempt_cases().into_iter().chain(answer_cases()) {
            let mut state = c.state.clone();
            let now = Now {
                remaining: c.remaining,
                jitter: c.jitter,
            };
            let got = decide(&mut state, c.event, &c.policy, &c.facts, now);
            // Error has no PartialEq; its Debug output shows every field
            assert_eq!(
                format!("{got:?}"),
                format!("{:?}", c.expected),
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn counters_follow_the_events() {
        let f = facts(IDEMPOTENT, BEARER);
        let now = Now {
            remaining: secs(1000),
            jitter: 0.0,
        };
        let p = policy();
        let mut s = CallState::default();
        let mut step = |event: Event| decide(&mut s, event, &p, &f, now);
        assert!(matches!(step(Event::Start), Decision::Prepare { .. }));
        assert!(matches!(step(Event::Ready), Decision::Send { .. }));
        // the refresh happens once; the repeated request is an attempt of its own
        assert!(matches!(step(refused(401, None)), Decision::RefreshToken));
        step(Event::Start);
        step(Event::Ready);
        step(refused(503, Some(Duration::ZERO)));
        assert!(
            matches!(
                step(refused(503, Some(Duration::ZERO))),
                Decision::Wait { after } if after == secs(2)
            ),
            "the second throttling doubles the floor"
        );
        assert_eq!(
            s,
            CallState {
                attempts: 2,
                throttled: 2,
                token_refreshed: true
            }
        );
    }
}
