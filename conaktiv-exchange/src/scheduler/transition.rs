//! The scheduler's decisions, without I/O and without a clock: what happens to one job
//! (a mailbox and table) given its stored [`ItemState`], an [`Event`] and the
//! [`SchedulerOptions`] (the policy: configuration fingerprint and back-off), at a time the
//! caller passes in.
//!
//! The driver ([`Scheduler`](super::Scheduler)) reads the state, asks [`transition`] with
//! [`Event::Due`], takes the lease and runs the job when told to ([`Decision::Run`]), then
//! asks again with [`Event::Ran`] and stores the state the [`Decision::Done`] carries while
//! it still holds the lease.
//!
//! | state | event | decision |
//! |---|---|---|
//! | any | [`Event::Shutdown`] | skipped: shutting down |
//! | any | [`Event::StateUnavailable`] | failed (transient), nothing stored |
//! | permanent failure, same configuration | [`Event::Due`] | skipped: permanent failure |
//! | permanent failure, configuration changed | [`Event::Due`] | run, from a clean state |
//! | backing off until later than now | [`Event::Due`] | skipped: backing off |
//! | never failed, or back-off over | [`Event::Due`] | run |
//! | any | [`Event::LeaseBusy`] | busy (another holder runs it), nothing stored |
//! | any | [`Event::Ran`] succeeded | succeeded, the state is cleared |
//! | `n` failures | [`Event::Ran`] failed permanently | failed, `n + 1`, skipped until the configuration changes |
//! | `n` failures | [`Event::Ran`] failed otherwise | failed, `n + 1`, retried after [`SchedulerOptions::backoff`]`(n + 1)` |

use chrono::{DateTime, Utc};

use super::{
    ItemState, ItemStatus, JobError, JobErrorKind, JobReport, SchedulerOptions, SkipReason, add,
};

/// What happened to a job.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The batch is shutting down before the job started.
    Shutdown,
    /// The job's state could not be read (the message says why).
    StateUnavailable(String),
    /// The job's turn has come in a run.
    Due,
    /// Another holder has the job's lease.
    LeaseBusy {
        /// The holder.
        holder: String,
    },
    /// The job ran, with this result.
    Ran(Result<JobReport, JobError>),
}

/// What to do next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Take the lease and run the job; the outcome ([`Event::Ran`]) builds on this state.
    Run(ItemState),
    /// The job is done for this run.
    Done {
        /// How it ended.
        status: ItemStatus,
        /// The state to store (while the lease is still held), if it changes.
        store: Option<ItemState>,
    },
}

impl Decision {
    /// The status of a [`Decision::Done`]; a [`Decision::Run`] (the job has not run yet) is
    /// reported as a failure of the driver.
    pub fn into_status(self) -> ItemStatus {
        match self {
            Decision::Done { status, .. } => status,
            Decision::Run(state) => ItemStatus::Failed {
                error: "internal: the job was left unrun".into(),
                kind: JobErrorKind::Other,
                permanent: false,
                failures: state.failures,
                retry_at: None,
            },
        }
    }

    fn done(status: ItemStatus) -> Self {
        Decision::Done {
            status,
            store: None,
        }
    }
}

/// The decision for a job in `state` on `event` under `policy`, at `now`. Pure.
pub fn transition(
    state: &ItemState,
    event: Event,
    policy: &SchedulerOptions,
    now: DateTime<Utc>,
) -> Decision {
    match event {
        Event::Shutdown => Decision::done(ItemStatus::Skipped {
            reason: SkipReason::Shutdown,
        }),
        Event::StateUnavailable(error) => Decision::done(ItemStatus::Failed {
            error: format!("scheduler state: {error}"),
            kind: JobErrorKind::Other,
            permanent: false,
            failures: 0,
            retry_at: None,
        }),
        Event::LeaseBusy { holder } => Decision::done(ItemStatus::Busy { holder }),
        Event::Due if state.permanent => {
            if state.fingerprint.as_deref() == Some(policy.config_fingerprint.as_str()) {
                Decision::done(ItemStatus::Skipped {
                    reason: SkipReason::PermanentFailure {
                        error: state.last_error.clone().unwrap_or_default(),
                    },
                })
            } else {
                Decision::Run(ItemState::default())
            }
        }
        Event::Due => match state.next_attempt {
            Some(until) if until > now => Decision::done(ItemStatus::Skipped {
                reason: SkipReason::BackingOff {
                    until,
                    failures: state.failures,
                },
            }),
            _ => Decision::Run(state.clone()),
        },
        Event::Ran(Ok(report)) => Decision::Done {
            status: ItemStatus::Succeeded { report },
            store: Some(ItemState::default()),
        },
        Event::Ran(Err(e)) => {
            let failures = state.failures.saturating_add(1);
            let permanent = e.is_permanent();
            let retry_at = (!permanent).then(|| add(now, policy.backoff(failures)));
            Decision::Done {
                status: ItemStatus::failed(&e, failures, retry_at),
                store: Some(ItemState {
                    failures,
                    next_attempt: retry_at,
                    last_error: Some(e.to_string()),
                    permanent,
                    fingerprint: permanent.then(|| policy.config_fingerprint.clone()),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn t(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap_or_default()
    }

    fn policy() -> SchedulerOptions {
        SchedulerOptions {
            holder: "me".into(),
            backoff_base: Duration::from_secs(10 * 60),
            backoff_max: Duration::from_secs(40 * 60),
            config_fingerprint: "cfg-1".into(),
            ..SchedulerOptions::default()
        }
    }

    fn clean() -> ItemState {
        ItemState::default()
    }

    fn transient(failures: u32, until: i64) -> ItemState {
        ItemState {
            failures,
            next_attempt: Some(t(until)),
            last_error: Some("transient failure: timeout".into()),
            permanent: false,
            fingerprint: None,
        }
    }

    fn permanent(fingerprint: &str) -> ItemState {
        ItemState {
            failures: 1,
            next_attempt: None,
            last_error: Some("bad credentials: 401".into()),
            permanent: true,
            fingerprint: Some(fingerprint.into()),
        }
    }

    fn skipped(reason: SkipReason) -> Decision {
        Decision::done(ItemStatus::Skipped { reason })
    }

    fn failed(
        failures: u32,
        permanent: bool,
        retry_at: Option<DateTime<Utc>>,
        e: &JobError,
    ) -> Decision {
        let error = e.to_string();
        Decision::Done {
            status: ItemStatus::Failed {
                error: error.clone(),
                kind: e.kind(),
                permanent,
                failures,
                retry_at,
            },
            store: Some(ItemState {
                failures,
                next_attempt: retry_at,
                last_error: Some(error),
                permanent,
                fingerprint: permanent.then(|| "cfg-1".to_owned()),
            }),
        }
    }

    /// Every transition: (case, state, event, now in minutes, expected decision).
    #[test]
    fn transitions() {
        let timeout = JobError::transient("timeout");
        let other = JobError::new(JobErrorKind::Other, "boom");
        let mass_delete = JobError::new(JobErrorKind::MassDelete, "guard");
        let denied = JobError::new(JobErrorKind::ImpersonationDenied, "403");
        let report = JobReport {
            conflicts: 1,
            ..JobReport::default()
        };
        let cases: Vec<(&str, ItemState, Event, i64, Decision)> = vec![
            (
                "shutdown skips whatever the state",
                transient(2, 99),
                Event::Shutdown,
                0,
                skipped(SkipReason::Shutdown),
            ),
            (
                "an unreadable state fails the job for this run, storing nothing",
                clean(),
                Event::StateUnavailable("disk I/O error".into()),
                0,
                Decision::done(ItemStatus::Failed {
                    error: "scheduler state: disk I/O error".into(),
                    kind: JobErrorKind::Other,
                    permanent: false,
                    failures: 0,
                    retry_at: None,
                }),
            ),
            (
                "a clean job is due: run it",
                clean(),
                Event::Due,
                0,
                Decision::Run(clean()),
            ),
            (
                "backing off: skipped until the back-off ends",
                transient(2, 30),
                Event::Due,
                29,
                skipped(SkipReason::BackingOff {
                    until: t(30),
                    failures: 2,
                }),
            ),
            (
                "back-off over: run, keeping the failure count",
                transient(2, 30),
                Event::Due,
                30,
                Decision::Run(transient(2, 30)),
            ),
            (
                "permanent failure, same configuration: skipped",
                permanent("cfg-1"),
                Event::Due,
                0,
                skipped(SkipReason::PermanentFailure {
                    error: "bad credentials: 401".into(),
                }),
            ),
            (
                "permanent failure, configuration changed: run from a clean state",
                permanent("cfg-0"),
                Event::Due,
                0,
                Decision::Run(clean()),
            ),
            (
                "lease held elsewhere: skipped, state untouched",
                transient(1, 0),
                Event::LeaseBusy {
                    holder: "other".into(),
                },
                0,
                Decision::done(ItemStatus::Busy {
                    holder: "other".into(),
                }),
            ),
            (
                "success clears the failures",
                transient(3, 0),
                Event::Ran(Ok(report.clone())),
                5,
                Decision::Done {
                    status: ItemStatus::Succeeded { report },
                    store: Some(clean()),
                },
            ),
            (
                "first transient failure: back off by the base",
                clean(),
                Event::Ran(Err(timeout.clone())),
                5,
                failed(1, false, Some(t(15)), &timeout),
            ),
            (
                "third transient failure: back-off doubled twice",
                transient(2, 0),
                Event::Ran(Err(timeout.clone())),
                5,
                failed(3, false, Some(t(45)), &timeout),
            ),
            (
                "many transient failures: back-off capped at the maximum",
                transient(9, 0),
                Event::Ran(Err(other.clone())),
                5,
                failed(10, false, Some(t(45)), &other),
            ),
            (
                "the mass-delete guard is retried like a transient failure",
                clean(),
                Event::Ran(Err(mass_delete.clone())),
                0,
                failed(1, false, Some(t(10)), &mass_delete),
            ),
            (
                "permanent failure: no retry time, fingerprint stored",
                transient(1, 0),
                Event::Ran(Err(denied.clone())),
                0,
                failed(2, true, None, &denied),
            ),
        ];
        let policy = policy();
        for (case, state, event, now, expected) in cases {
            assert_eq!(
                transition(&state, event, &policy, t(now)),
                expected,
                "{case}"
            );
        }
    }
}
