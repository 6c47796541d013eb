//! The scheduler's decisions, without I/O and without a clock: what happens to one job
//! (a mailbox and table) given its stored [`ItemState`], an [`Event`] and the
//! [`SchedulerOptions`] (the policy: configuration fingerprint and back-off), at a time the
//! caller passes in.
//!
//! The driver ([`Scheduler`](super::Scheduler)) takes the lease, reads the state, asks
//! [`transition`] with [`Event::Due`], runs the job when told to ([`Decision::Run`]), then
//! asks again with [`Event::Ran`] and stores the state the [`Decision::Done`] carries while
//! it still holds the lease. (It may ask with [`Event::Due`] before taking the lease too, to
//! skip what is not due without a lease write; only the decision under the lease runs a job.)
//!
//! A [`Decision::Run`] carries the state the outcome builds on. With
//! [`Cadence::OncePerInterval`] it records the run as [`ItemState::last_run`] (now, by
//! [`SchedulerOptions::holder`]) and the outcome keeps it, so the stored state says when the
//! item last ran in the cadence and who ran it.
//!
//! | state | event | decision |
//! |---|---|---|
//! | any | [`Event::Shutdown`] | skipped: shutting down |
//! | any | [`Event::StateUnavailable`] | failed (transient), nothing stored |
//! | ran in the current interval slot, [`Cadence::OncePerInterval`] | [`Event::Due`] | skipped: already ran this interval |
//! | permanent failure, same configuration | [`Event::Due`] | skipped: permanent failure |
//! | permanent failure, configuration changed | [`Event::Due`] | run, from a clean state |
//! | backing off until later than now | [`Event::Due`] | skipped: backing off |
//! | never failed, or back-off over | [`Event::Due`] | run |
//! | any | [`Event::LeaseBusy`] | busy (another holder runs it), nothing stored |
//! | any | [`Event::Ran`] succeeded | succeeded, the failures are cleared, the run kept |
//! | `n` failures | [`Event::Ran`] failed permanently | failed, `n + 1`, skipped until the configuration changes |
//! | `n` failures | [`Event::Ran`] failed otherwise | failed, `n + 1`, retried after [`SchedulerOptions::backoff`]`(n + 1)` |
//!
//! With [`Cadence::EveryRun`] (one process, `batch --once`) the last run is neither
//! recorded nor honoured, only kept: a one-off run does not take an interval's turn from the
//! workers. The slot ([`SchedulerOptions::slot`]) of the last run's start is compared with
//! the slot of now.

use chrono::{DateTime, Utc};

use super::{
    Cadence, ItemState, ItemStatus, JobError, JobErrorKind, JobReport, LastRun, SchedulerOptions,
    SkipReason, add,
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
        Event::Due => {
            if policy.cadence == Cadence::OncePerInterval
                && let Some(last) = &state.last_run
                // `>=`: a run stamped by a worker whose clock is ahead counts for this slot
                // too, so a worker behind it does not run the job again.
                && policy.slot(last.at) >= policy.slot(now)
            {
                return Decision::done(ItemStatus::Skipped {
                    reason: SkipReason::AlreadyRan {
                        at: last.at,
                        by: last.by.clone(),
                    },
                });
            }
            let run = |base: ItemState| {
                let last_run = match policy.cadence {
                    Cadence::OncePerInterval => Some(LastRun {
                        at: now,
                        by: policy.holder.clone(),
                    }),
                    _ => state.last_run.clone(),
                };
                Decision::Run(ItemState { last_run, ..base })
            };
            if state.permanent {
                if state.fingerprint.as_deref() == Some(policy.config_fingerprint.as_str()) {
                    Decision::done(ItemStatus::Skipped {
                        reason: SkipReason::PermanentFailure {
                            error: state.last_error.clone().unwrap_or_default(),
                        },
                    })
                } else {
                    run(ItemState::default())
                }
            } else {
                match state.next_attempt {
                    Some(until) if until > now => Decision::done(ItemStatus::Skipped {
                        reason: SkipReason::BackingOff {
                            until,
                            failures: state.failures,
                        },
                    }),
                    _ => run(state.clone()),
                }
            }
        }
        Event::Ran(Ok(report)) => Decision::Done {
            status: ItemStatus::Succeeded { report },
            store: Some(ItemState {
                last_run: state.last_run.clone(),
                ..ItemState::default()
            }),
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
                    last_run: state.last_run.clone(),
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
            last_run: None,
        }
    }

    /// `state` with a last run at `at` by `by`.
    fn ran_at(state: ItemState, at: DateTime<Utc>, by: &str) -> ItemState {
        ItemState {
            last_run: Some(LastRun { at, by: by.into() }),
            ..state
        }
    }

    fn permanent(fingerprint: &str) -> ItemState {
        ItemState {
            failures: 1,
            next_attempt: None,
            last_error: Some("bad credentials: 401".into()),
            permanent: true,
            fingerprint: Some(fingerprint.into()),
            last_run: None,
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
                last_run: None,
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
                "every run: a worker's run earlier in this interval neither holds it back nor is replaced",
                ran_at(clean(), t(0), "worker-b"),
                Event::Due,
                1,
                Decision::Run(ran_at(clean(), t(0), "worker-b")),
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
                    status: ItemStatus::Succeeded {
                        report: report.clone(),
                    },
                    store: Some(clean()),
                },
            ),
            (
                "success keeps the last run of the state",
                ran_at(transient(3, 0), t(4), "me"),
                Event::Ran(Ok(report.clone())),
                5,
                Decision::Done {
                    status: ItemStatus::Succeeded { report },
                    store: Some(ran_at(clean(), t(4), "me")),
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

    /// A slot start of the 15-minute interval (1,700,000,100 s is 1,888,889 × 900 s), plus
    /// `secs` seconds.
    fn slot(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_100 + secs, 0).unwrap_or_default()
    }

    /// [`Cadence::OncePerInterval`]: (case, state, event, now, expected decision).
    #[test]
    fn once_per_interval_transitions() {
        let timeout = JobError::transient("timeout");
        let policy = SchedulerOptions {
            cadence: Cadence::OncePerInterval,
            interval: Duration::from_secs(15 * 60),
            ..policy()
        };
        let already =
            |at: DateTime<Utc>, by: &str| skipped(SkipReason::AlreadyRan { at, by: by.into() });
        let backing_off = ItemState {
            failures: 2,
            next_attempt: Some(slot(300)),
            last_error: Some("transient failure: timeout".into()),
            ..clean()
        };
        let cases: Vec<(&str, ItemState, Event, DateTime<Utc>, Decision)> = vec![
            (
                "never ran: run, recording the run",
                clean(),
                Event::Due,
                slot(0),
                Decision::Run(ran_at(clean(), slot(0), "me")),
            ),
            (
                "ran earlier in this slot (by another worker): skipped, naming that run",
                ran_at(clean(), slot(60), "worker-b"),
                Event::Due,
                slot(600),
                already(slot(60), "worker-b"),
            ),
            (
                "the slot lasts the whole interval: its last second still counts",
                ran_at(clean(), slot(0), "worker-b"),
                Event::Due,
                slot(899),
                already(slot(0), "worker-b"),
            ),
            (
                "stamped in the next slot by a worker whose clock is ahead: skipped",
                ran_at(clean(), slot(905), "worker-b"),
                Event::Due,
                slot(890),
                already(slot(905), "worker-b"),
            ),
            (
                "ran in the previous slot, one second before this one began: run",
                ran_at(clean(), slot(-1), "worker-b"),
                Event::Due,
                slot(0),
                Decision::Run(ran_at(clean(), slot(0), "me")),
            ),
            (
                "ran at the start of this slot; the next slot begins: run",
                ran_at(clean(), slot(0), "me"),
                Event::Due,
                slot(900),
                Decision::Run(ran_at(clean(), slot(900), "me")),
            ),
            (
                "failed in this slot, back-off over within the slot: still once per slot",
                ran_at(backing_off.clone(), slot(10), "worker-b"),
                Event::Due,
                slot(400),
                already(slot(10), "worker-b"),
            ),
            (
                "failed in the previous slot, back-off over: run, keeping the failures",
                ran_at(backing_off.clone(), slot(-100), "worker-b"),
                Event::Due,
                slot(300),
                Decision::Run(ran_at(backing_off.clone(), slot(300), "me")),
            ),
            (
                "failed in the previous slot, backing off into this one: backing off",
                ran_at(backing_off.clone(), slot(-100), "worker-b"),
                Event::Due,
                slot(100),
                skipped(SkipReason::BackingOff {
                    until: slot(300),
                    failures: 2,
                }),
            ),
            (
                "failed permanently in an earlier slot: permanent failure",
                ran_at(permanent("cfg-1"), slot(-900), "worker-b"),
                Event::Due,
                slot(10),
                skipped(SkipReason::PermanentFailure {
                    error: "bad credentials: 401".into(),
                }),
            ),
            (
                "failed permanently in an earlier slot, configuration changed: run from a clean state",
                ran_at(permanent("cfg-0"), slot(-900), "worker-b"),
                Event::Due,
                slot(10),
                Decision::Run(ran_at(clean(), slot(10), "me")),
            ),
            (
                "success stores the run's start, so other workers skip the item this slot",
                ran_at(clean(), slot(5), "me"),
                Event::Ran(Ok(JobReport::default())),
                slot(950),
                Decision::Done {
                    status: ItemStatus::Succeeded {
                        report: JobReport::default(),
                    },
                    store: Some(ran_at(clean(), slot(5), "me")),
                },
            ),
            (
                "a failure stores the run too",
                ran_at(clean(), slot(5), "me"),
                Event::Ran(Err(timeout.clone())),
                slot(60),
                Decision::Done {
                    status: ItemStatus::failed(&timeout, 1, Some(slot(660))),
                    store: Some(ItemState {
                        failures: 1,
                        next_attempt: Some(slot(660)),
                        last_error: Some(timeout.to_string()),
                        ..ran_at(clean(), slot(5), "me")
                    }),
                },
            ),
            (
                "lease held by another worker: busy, nothing stored",
                clean(),
                Event::LeaseBusy {
                    holder: "worker-b".into(),
                },
                slot(0),
                Decision::done(ItemStatus::Busy {
                    holder: "worker-b".into(),
                }),
            ),
        ];
        for (case, state, event, now, expected) in cases {
            assert_eq!(transition(&state, event, &policy, now), expected, "{case}");
        }
        assert_eq!(policy.slot(slot(0)), 1_888_889);
        assert_eq!(policy.slot(slot(-1)), 1_888_888);
        assert_eq!(policy.next_slot_start(slot(17)), slot(900));
    }

    #[test]
    fn the_poll_period_is_shorter_than_the_interval_and_the_lease() {
        let o = |interval: u64, ttl: u64, poll: Option<u64>| SchedulerOptions {
            interval: Duration::from_secs(interval),
            lease_ttl: Duration::from_secs(ttl),
            poll: poll.map(Duration::from_secs),
            ..policy()
        };
        assert_eq!(o(900, 600, None).poll_period(), Duration::from_secs(30));
        assert_eq!(o(900, 20, None).poll_period(), Duration::from_secs(10));
        assert_eq!(o(5, 600, None).poll_period(), Duration::from_secs(5));
        assert_eq!(o(900, 600, Some(2)).poll_period(), Duration::from_secs(2));
        assert_eq!(
            o(900, 600, Some(0)).poll_period(),
            Duration::from_millis(10)
        );
    }
}
