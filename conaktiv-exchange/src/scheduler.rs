//! The batch scheduler: runs the "Exchange Abgleich" batch task every interval for every
//! mailbox and table in scope, through a [`JobRunner`].
//!
//! * Bounded concurrency across mailboxes ([`SchedulerOptions::concurrency`]).
//! * One failing mailbox never stops the others: every item gets its own
//!   [`MailboxReport`] in the run's [`SyncReport`] (the report `Connector::run` gives too).
//! * A transient failure ([`JobError::is_transient`]) is retried at a later run, after a
//!   back-off that doubles with every consecutive failure (from
//!   [`SchedulerOptions::backoff_base`] up to [`SchedulerOptions::backoff_max`]).
//! * A permanent failure (bad credentials, impersonation denied, mailbox gone) is reported
//!   once and the item is skipped until the configuration fingerprint changes
//!   ([`SchedulerOptions::config_fingerprint`], see [`config_fingerprint`]).
//! * No two runs of the same mailbox and table at once, even across processes and machines:
//!   each item is guarded by a lease row in the shared [`SchedulerStore`] (an SQLite file for
//!   the processes of one machine, or with the feature `postgres` a PostgreSQL database for
//!   workers on several machines, [`SchedulerStore::postgres`]), taken atomically, renewed
//!   while the item runs and expiring after [`SchedulerOptions::lease_ttl`] if its holder
//!   dies (at once if the holder was a process of this machine that no longer runs).
//! * Many workers, one schedule ([`Cadence::OncePerInterval`]): each item runs once per
//!   interval slot, by whichever worker takes its lease first; the others skip it
//!   ([`SkipReason::AlreadyRan`]). The worker decides under the lease, from the state the
//!   last run stored before giving the lease back. Workers poll more often than the interval
//!   ([`SchedulerOptions::poll_period`]), so a dead worker's items run within the same slot
//!   once its leases expire. Clocks of the machines must roughly agree (see
//!   [`SchedulerStore`]).
//! * Clean shutdown between items: once the [`CancellationToken`] fires no new item starts;
//!   running items finish.
//! * Time comes from a [`Clock`]; the loop sleeps with tokio's timer (pausable in tests).
//! * Structured logs with `tracing` (span `batch_item` with `mailbox` and `table`).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use conaktiv_model::Configuration;
use futures::StreamExt;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock::Clock;
use crate::host::{HostError, UserDirectory};
use crate::rules::{Assignment, assignments, table_name};

#[cfg(feature = "postgres")]
mod postgres;
mod store;
pub mod transition;

use store::add;
pub use store::{Leased, SchedulerStore};
use transition::{Decision, Event};

/// What kind of failure a [`JobError`] is; the scheduler decides on it (never on text).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum JobErrorKind {
    /// Worth retrying later: throttling, a timeout, a dropped connection, a busy server, a
    /// malformed or truncated answer.
    Transient,
    /// The service account's credentials were refused.
    BadCredentials,
    /// The service account may not impersonate (or otherwise access) the mailbox.
    ImpersonationDenied,
    /// The mailbox does not exist (any more).
    MailboxGone,
    /// The configuration does not allow the job (a rule's folder is missing, an invalid
    /// rule or filter, an untrusted certificate).
    Configuration,
    /// The mass-delete guard stopped the run; nothing was written.
    MassDelete,
    /// Another run (another process, the batch) holds the mailbox and table's lease; this
    /// run did nothing. Not a failure.
    Busy,
    /// Any other failure; retried at a later run like a transient one.
    Other,
}

impl JobErrorKind {
    /// Whether the job will keep failing until the configuration changes: only refused
    /// credentials, refused impersonation, a missing mailbox and a configuration error.
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            Self::BadCredentials
                | Self::ImpersonationDenied
                | Self::MailboxGone
                | Self::Configuration
        )
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Transient => "transient failure",
            Self::BadCredentials => "bad credentials",
            Self::ImpersonationDenied => "impersonation denied",
            Self::MailboxGone => "mailbox not found",
            Self::Configuration => "configuration problem",
            Self::MassDelete => "stopped by the mass-delete guard, nothing was written",
            Self::Busy => "busy",
            Self::Other => "failed",
        }
    }
}

impl From<sync_core::SideErrorKind> for JobErrorKind {
    fn from(kind: sync_core::SideErrorKind) -> Self {
        use sync_core::SideErrorKind as S;
        match kind {
            S::Authentication => Self::BadCredentials,
            S::Authorization => Self::ImpersonationDenied,
            S::MailboxGone => Self::MailboxGone,
            S::Configuration => Self::Configuration,
            S::Transient | S::Rejected => Self::Transient,
            _ => Self::Other,
        }
    }
}

/// Why a job (one mailbox and table) failed: a [`JobErrorKind`], a message for people and
/// the source error (kept for `std::error::Error::source`).
#[derive(Clone)]
pub struct JobError {
    kind: JobErrorKind,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl JobError {
    /// An error of a kind with a message for people.
    pub fn new(kind: JobErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error of a kind caused by `source` (its text becomes the message).
    pub fn from_source(
        kind: JobErrorKind,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            kind,
            message: source.to_string(),
            source: Some(Arc::new(source)),
        }
    }

    /// A transient failure.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(JobErrorKind::Transient, message)
    }

    /// A configuration problem.
    pub fn configuration(message: impl Into<String>) -> Self {
        Self::new(JobErrorKind::Configuration, message)
    }

    /// The kind.
    pub fn kind(&self) -> JobErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether a later run may succeed without a configuration change.
    pub fn is_transient(&self) -> bool {
        !self.is_permanent()
    }

    /// Whether the job will keep failing until the configuration changes.
    pub fn is_permanent(&self) -> bool {
        self.kind.is_permanent()
    }

    /// Whether the job did not run because another run holds its lease (not a failure).
    pub fn is_busy(&self) -> bool {
        self.kind == JobErrorKind::Busy
    }
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.describe(), self.message)
    }
}

impl std::fmt::Debug for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for JobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for JobError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for JobError {}

/// Counts of one direction of a run: sync-core's one counts type (in JSON `new`,
/// `changed`, `deleted`, `linked`; displayed as `2 new, 1 changed, 0 deleted, 3 linked`).
/// `linked`: records that only got the pair's correlation key (a pair re-found after a lost
/// state, or a record created on the other side that carries no key yet); their content was
/// not rewritten.
pub use sync_core::Counts;

/// What one job (a mailbox and table) did: the writes per direction and the items' problems.
/// Its `Display` is the one line the CLI prints, `Exchange: 1 new, 0 changed, 0 deleted,
/// 0 linked; ConAktiv: …, 1 failed`, followed by one indented line per item error and per
/// detached pair.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct JobReport {
    /// Writes to Exchange.
    pub to_exchange: Counts,
    /// Writes to ConAktiv.
    pub to_conaktiv: Counts,
    /// Writes left for the next run because the record changed meanwhile.
    pub conflicts: u64,
    /// Writes that failed (the job went on without these items; the next run tries again).
    pub failed: u64,
    /// Writes whose outcome is unknown (a timeout after sending); the next run re-pairs them
    /// by their correlation key.
    pub unknown: u64,
    /// Pairs no longer synchronised because one record disappeared while the other was kept
    /// (see [`JobReport::detached_items`]).
    pub detached: u64,
    /// Records that could not be read (an undecodable CRM record, an Exchange appointment
    /// without an end) and were left out of the run.
    pub unreadable: u64,
    /// Detached pairs this run re-attached (`sync --reattach`): their kept record was
    /// written back to the side that had lost it.
    pub reattached: u64,
    /// Item-level errors, one sentence per failed or unknown write or unreadable record.
    pub item_errors: Vec<String>,
    /// The detached pairs, with the reason.
    pub detached_items: Vec<DetachedItem>,
    /// Time spent waiting for the sync state store (reads and commits), in milliseconds:
    /// with the job's duration, the store's share of a run.
    pub state_store_ms: u64,
}

/// A pair the run stopped synchronising: one side's record disappeared and the other side's
/// record was kept (the delete switch is off, or it was edited: an edit beats a delete).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DetachedItem {
    /// The pair's correlation key.
    pub key: String,
    /// Where the record disappeared: `Exchange` or `ConAktiv`.
    pub gone_from: &'static str,
    /// Why the remaining record was kept, in words.
    pub reason: String,
}

impl JobReport {
    /// Writes that succeeded in both directions, links included.
    pub fn writes(&self) -> usize {
        self.to_exchange.total() + self.to_conaktiv.total()
    }

    /// Whether every write succeeded or was only left for the next run by a concurrent
    /// change (no failed and no unknown writes, no unreadable records).
    pub fn is_complete(&self) -> bool {
        self.failed == 0 && self.unknown == 0 && self.unreadable == 0
    }

    /// Adds records that could not be read (one sentence each) to the report.
    pub fn add_unreadable(&mut self, problems: &[String]) {
        self.unreadable += u64::try_from(problems.len()).unwrap_or(u64::MAX);
        self.item_errors.extend(problems.iter().cloned());
    }
}

fn side_label(side: sync_core::SideId) -> &'static str {
    match side {
        sync_core::SideId::Local => "ConAktiv",
        sync_core::SideId::Remote => "Exchange",
    }
}

/// `Exchange: …; ConAktiv: …`, the problems counted (`, 1 failed, 2 detached`), then one
/// indented line per item error and per detached pair.
impl std::fmt::Display for JobReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Exchange: {}; ConAktiv: {}",
            self.to_exchange, self.to_conaktiv
        )?;
        for (n, what) in [
            (self.failed, "failed"),
            (self.unknown, "unknown outcome"),
            (self.unreadable, "unreadable"),
            (self.detached, "detached"),
            (self.reattached, "re-attached"),
            (self.conflicts, "left for the next run"),
        ] {
            if n > 0 {
                write!(f, ", {n} {what}")?;
            }
        }
        for e in &self.item_errors {
            write!(f, "\n    {e}")?;
        }
        for d in &self.detached_items {
            write!(f, "\n    detached {}: {}", d.key, d.reason)?;
        }
        Ok(())
    }
}

impl From<&sync_core::Report> for JobReport {
    /// The run report of an applied sync plan, with the CRM as the engine's local side and
    /// Exchange as its remote side.
    fn from(r: &sync_core::Report) -> Self {
        use sync_core::WriteResult;
        let mut out = JobReport {
            to_exchange: r.counts.remote,
            to_conaktiv: r.counts.local,
            ..JobReport::default()
        };
        for d in &r.detached {
            out.detached += 1;
            let why = match d.reason {
                sync_core::DetachReason::DeleteSwitchOff => {
                    "deleting it there is switched off for this direction".to_owned()
                }
                sync_core::DetachReason::EditBeatsDelete => {
                    "it was changed since the last run, and a change beats a delete".to_owned()
                }
                sync_core::DetachReason::ContentUnknown => {
                    "its content could not be read, so it may hold a change".to_owned()
                }
                other => other.as_str().to_owned(),
            };
            out.detached_items.push(DetachedItem {
                key: d.key.clone(),
                gone_from: side_label(d.gone),
                reason: format!(
                    "the record disappeared from {}; its partner {} in {} was kept because {why}. `sync --reattach` writes it back",
                    side_label(d.gone),
                    d.kept_id,
                    side_label(d.kept()),
                ),
            });
        }
        out.reattached = u64::try_from(r.reattached).unwrap_or(u64::MAX);
        for item in &r.items {
            for (side, result) in [("ConAktiv", &item.local), ("Exchange", &item.remote)] {
                match result {
                    Some(WriteResult::Conflict) => out.conflicts += 1,
                    Some(WriteResult::Failed(m)) => {
                        out.failed += 1;
                        out.item_errors
                            .push(format!("{side} write of {} failed: {m}", item.key));
                    }
                    Some(WriteResult::Unknown(m)) => {
                        out.unknown += 1;
                        out.item_errors.push(format!(
                            "{side} write of {} has an unknown outcome: {m}",
                            item.key
                        ));
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

/// Runs one job: a mailbox and a table under the rule that applies.
#[async_trait]
pub trait JobRunner: Send + Sync {
    /// Synchronises `job.mailbox`'s `job.table` under rule `job.rule`.
    async fn run(&self, job: &Assignment) -> Result<JobReport, JobError>;

    /// What the jobs of one batch run share: [`Scheduler::run_once`] asks for it when the run
    /// starts, hands it to every job ([`JobRunner::run_in`]) and drops it when the run ends.
    /// By default nothing.
    fn begin_run(&self) -> RunScope {
        RunScope::default()
    }

    /// [`JobRunner::run`] as one job of the run `scope`. By default `run`, ignoring `scope`.
    async fn run_in(&self, job: &Assignment, scope: &RunScope) -> Result<JobReport, JobError> {
        let _ = scope;
        self.run(job).await
    }
}

/// Data a [`JobRunner`] shares among the jobs of one run ([`JobRunner::begin_run`]), dropped
/// at the run's end, so nothing in it outlives the run (the connector keeps the mailboxes'
/// resolved folder ids here: a folder renamed between runs is seen by the next run).
#[derive(Default)]
pub struct RunScope(Option<Box<dyn std::any::Any + Send + Sync>>);

impl RunScope {
    /// A scope holding `data`.
    pub fn new<T: std::any::Any + Send + Sync>(data: T) -> Self {
        Self(Some(Box::new(data)))
    }

    /// The data, if it is a `T`.
    pub fn get<T: std::any::Any>(&self) -> Option<&T> {
        self.0.as_ref().and_then(|d| d.downcast_ref())
    }
}

impl std::fmt::Debug for RunScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunScope")
            .field("empty", &self.0.is_none())
            .finish()
    }
}

/// Where the jobs of a run come from.
#[async_trait]
pub trait JobSource: Send + Sync {
    /// The jobs of the next run.
    async fn jobs(&self) -> Result<Vec<Assignment>, HostError>;
}

/// The jobs the configuration's rules give the directory's users ([`assignments`]); users
/// whose rules conflict are logged and left out.
pub struct RuleJobs<D> {
    rules: Vec<conaktiv_model::config::SyncRule>,
    directory: D,
}

impl<D: UserDirectory> RuleJobs<D> {
    /// Jobs from these rules and this directory.
    pub fn new(rules: Vec<conaktiv_model::config::SyncRule>, directory: D) -> Self {
        Self { rules, directory }
    }
}

#[async_trait]
impl<D: UserDirectory> JobSource for RuleJobs<D> {
    async fn jobs(&self) -> Result<Vec<Assignment>, HostError> {
        let users = self.directory.users().await?;
        let (jobs, problems) = assignments(&self.rules, &users);
        for p in problems {
            tracing::error!(problem = %p, "rule conflict; the user is left out of this run");
        }
        Ok(jobs)
    }
}

/// A fixed list of jobs.
#[async_trait]
impl JobSource for Vec<Assignment> {
    async fn jobs(&self) -> Result<Vec<Assignment>, HostError> {
        Ok(self.clone())
    }
}

/// A fingerprint of a configuration: changes whenever any setting changes.
pub fn config_fingerprint(config: &Configuration) -> String {
    let text = toml::to_string(config).unwrap_or_else(|_| format!("{config:?}"));
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Why an item was not run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// Waiting after transient failures.
    BackingOff {
        /// When the next attempt may run.
        until: DateTime<Utc>,
        /// Consecutive failures so far.
        failures: u32,
    },
    /// Failed permanently with this configuration.
    PermanentFailure {
        /// The error.
        error: String,
    },
    /// The scheduler is shutting down.
    Shutdown,
    /// The item already ran in this interval slot ([`Cadence::OncePerInterval`]).
    AlreadyRan {
        /// When that run started.
        at: DateTime<Utc>,
        /// The scheduler that ran it.
        by: String,
    },
}

/// In words: `waiting after 3 failure(s) in a row; next attempt at ...`.
impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::BackingOff { until, failures } => write!(
                f,
                "waiting after {failures} failure(s) in a row; next attempt at {}",
                until.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            SkipReason::PermanentFailure { error } => write!(
                f,
                "failed permanently with this configuration ({error}); runs again when the configuration changes"
            ),
            SkipReason::Shutdown => f.write_str("the batch is shutting down"),
            SkipReason::AlreadyRan { at, by } => write!(
                f,
                "already ran this interval (at {}, by {by})",
                at.format("%Y-%m-%d %H:%M:%S UTC")
            ),
        }
    }
}

/// How a job ended. In JSON `"status": "succeeded" | "failed" | "busy" | "skipped"` beside
/// the variant's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ItemStatus {
    /// The job ran (possibly with failed items: [`JobReport::is_complete`]).
    Succeeded {
        /// What it did.
        report: JobReport,
    },
    /// The job failed.
    Failed {
        /// The error, in words.
        error: String,
        /// What kind of failure.
        kind: JobErrorKind,
        /// Whether it is skipped until the configuration changes.
        permanent: bool,
        /// Consecutive failures, this one included.
        failures: u32,
        /// When a transient failure is retried (batch runs only).
        retry_at: Option<DateTime<Utc>>,
    },
    /// Another run (another process, the batch, a `sync`) holds the job's lease; this run did
    /// nothing. Not a failure.
    Busy {
        /// The lease holder.
        holder: String,
    },
    /// The job did not run.
    Skipped {
        /// Why.
        #[serde(flatten)]
        reason: SkipReason,
    },
}

impl ItemStatus {
    /// The status of a job's result outside the batch (the first failure, no retry time).
    pub fn of(result: Result<JobReport, JobError>) -> Self {
        match result {
            Ok(report) => ItemStatus::Succeeded { report },
            Err(e) => ItemStatus::failed(&e, 1, None),
        }
    }

    /// A failure with `e`.
    pub fn failed(e: &JobError, failures: u32, retry_at: Option<DateTime<Utc>>) -> Self {
        ItemStatus::Failed {
            error: e.to_string(),
            kind: e.kind(),
            permanent: e.is_permanent(),
            failures,
            retry_at,
        }
    }

    /// The job's report, if it ran.
    pub fn report(&self) -> Option<&JobReport> {
        match self {
            ItemStatus::Succeeded { report } => Some(report),
            _ => None,
        }
    }
}

/// `ok: Exchange: …` ([`JobReport`]'s text), `FAILED (permanent): …`, `BUSY: another run
/// (HOLDER) is working on this mailbox and table` or `skipped: …`.
impl std::fmt::Display for ItemStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemStatus::Succeeded { report } => write!(f, "ok: {report}"),
            ItemStatus::Failed {
                error, permanent, ..
            } => write!(
                f,
                "FAILED{}: {error}",
                if *permanent { " (permanent)" } else { "" }
            ),
            ItemStatus::Busy { holder } => write!(
                f,
                "BUSY: another run ({holder}) is working on this mailbox and table"
            ),
            ItemStatus::Skipped { reason } => write!(f, "skipped: {reason}"),
        }
    }
}

/// The report of one job (a mailbox and table) in a run: which job, when, how long, and how
/// it ended. Its `Display` is the CLI's line: `MAILBOX TABLE STATUS`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MailboxReport {
    /// The user.
    pub user: String,
    /// The mailbox.
    pub mailbox: String,
    /// The table.
    pub table: &'static str,
    /// The rule.
    pub rule: String,
    /// When the item started (or was skipped).
    pub started: DateTime<Utc>,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
    /// The outcome.
    #[serde(flatten)]
    pub status: ItemStatus,
}

impl MailboxReport {
    /// The report of `job`, started at `started` and finished at `finished`.
    pub fn new(
        job: &Assignment,
        started: DateTime<Utc>,
        finished: DateTime<Utc>,
        status: ItemStatus,
    ) -> Self {
        Self {
            user: job.user.clone(),
            mailbox: job.mailbox.clone(),
            table: table_name(job.table),
            rule: job.rule.clone(),
            started,
            duration_ms: u64::try_from((finished - started).num_milliseconds()).unwrap_or(0),
            status,
        }
    }
}

impl std::fmt::Display for MailboxReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:<28} {:<12} {}", self.mailbox, self.table, self.status)
    }
}

/// The overall outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// No item failed.
    Success,
    /// Some items failed.
    PartialFailure,
    /// Every item that ran failed.
    Failure,
}

impl Outcome {
    /// `success`, `partial failure` or `failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::PartialFailure => "partial failure",
            Outcome::Failure => "failure",
        }
    }
}

/// The report of one run over several jobs: a batch run of the [`Scheduler`] or
/// `Connector::run`. Its `Display` is the text the CLI prints: one line per job
/// ([`MailboxReport`]), the users left out, and a summary line `3 job(s) ok, 1 with failed
/// items, 0 failed, 0 busy, 0 skipped, 12 write(s)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// When the run started.
    pub started: DateTime<Utc>,
    /// When it finished.
    pub finished: DateTime<Utc>,
    /// One report per job, in the order of the jobs.
    pub items: Vec<MailboxReport>,
    /// Users left out because their rules conflict.
    pub problems: Vec<String>,
}

impl SyncReport {
    /// Jobs that ran (possibly with failed items, see [`SyncReport::incomplete`]).
    pub fn succeeded(&self) -> usize {
        self.count(|s| matches!(s, ItemStatus::Succeeded { .. }))
    }

    /// Jobs that failed (a busy job did not fail: it did not run).
    pub fn failed(&self) -> usize {
        self.count(|s| matches!(s, ItemStatus::Failed { .. }))
    }

    /// Jobs that did not run because another run held their lease.
    pub fn busy(&self) -> usize {
        self.count(|s| matches!(s, ItemStatus::Busy { .. }))
    }

    /// Jobs that were skipped (backing off, failed permanently, shutting down, already ran
    /// this interval).
    pub fn skipped(&self) -> usize {
        self.count(|s| matches!(s, ItemStatus::Skipped { .. }))
    }

    /// Writes that succeeded, summed over every job, links included.
    pub fn total_writes(&self) -> usize {
        self.items
            .iter()
            .filter_map(|i| i.status.report())
            .map(JobReport::writes)
            .sum()
    }

    fn count(&self, f: impl Fn(&ItemStatus) -> bool) -> usize {
        self.items.iter().filter(|i| f(&i.status)).count()
    }

    /// Jobs that ran but had failed or unknown writes or unreadable records.
    pub fn incomplete(&self) -> usize {
        self.count(|s| matches!(s, ItemStatus::Succeeded { report } if !report.is_complete()))
    }

    /// Items that did not get done: failed, incomplete, or skipped for a permanent failure.
    pub fn not_done(&self) -> usize {
        self.failed()
            + self.incomplete()
            + self.count(|s| {
                matches!(
                    s,
                    ItemStatus::Skipped {
                        reason: SkipReason::PermanentFailure { .. }
                    }
                )
            })
    }

    /// The overall outcome. Items skipped because of an earlier permanent failure count as
    /// failures; items that ran with failed or unknown writes make a partial failure.
    pub fn outcome(&self) -> Outcome {
        let failed = self.not_done();
        if failed == 0 {
            Outcome::Success
        } else if self.succeeded() == 0 {
            Outcome::Failure
        } else {
            Outcome::PartialFailure
        }
    }
}

impl std::fmt::Display for SyncReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for item in &self.items {
            writeln!(f, "{item}")?;
        }
        for p in &self.problems {
            writeln!(f, "left out: {p}")?;
        }
        write!(
            f,
            "{} job(s) ok, {} with failed items, {} failed, {} busy, {} skipped, {} write(s)",
            self.succeeded() - self.incomplete(),
            self.incomplete(),
            self.failed(),
            self.busy(),
            self.skipped(),
            self.total_writes()
        )
    }
}

/// Tuning of a [`Scheduler`].
#[derive(Clone, Debug)]
pub struct SchedulerOptions {
    /// This scheduler's name in the lease table (unique per process).
    pub holder: String,
    /// How many items run at once.
    pub concurrency: usize,
    /// The time between runs (the batch task's interval).
    pub interval: Duration,
    /// How long a lease lasts without renewal; renewed every third of it while the item runs.
    pub lease_ttl: Duration,
    /// The back-off after the first transient failure; doubles with each further one.
    pub backoff_base: Duration,
    /// The longest back-off.
    pub backoff_max: Duration,
    /// The fingerprint of the configuration in force (see [`config_fingerprint`]).
    pub config_fingerprint: String,
    /// Whether every run runs every due item, or each item once per interval slot.
    pub cadence: Cadence,
    /// How often [`Scheduler::run_loop`] looks for work with [`Cadence::OncePerInterval`]
    /// [default: the shortest of the interval, half the lease's time to live and 30 s;
    /// see [`SchedulerOptions::poll_period`]].
    pub poll: Option<Duration>,
}

/// How often a [`Scheduler`] runs an item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Cadence {
    /// Every [`Scheduler::run_once`] runs every due item (subject to leases, back-off and
    /// permanent failures), and [`Scheduler::run_loop`] runs once per interval: one process
    /// (`batch`, `batch --once`, tests).
    #[default]
    EveryRun,
    /// Each item runs at most once per interval slot (slot = whole intervals since the Unix
    /// epoch, so all workers agree on it): an item that completed in the current slot (it
    /// succeeded, or failed and stored its failure) is skipped with
    /// [`SkipReason::AlreadyRan`]. The decision is made while holding the item's lease, so
    /// of several workers sharing one [`SchedulerStore`] exactly one runs it. The loop polls
    /// every [`SchedulerOptions::poll_period`], so the items of a worker that died are run by
    /// another within the same slot once their leases expire.
    OncePerInterval,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        Self {
            holder: process_holder(),
            concurrency: 4,
            interval: Duration::from_secs(15 * 60),
            lease_ttl: Duration::from_secs(10 * 60),
            backoff_base: Duration::from_secs(15 * 60),
            backoff_max: Duration::from_secs(24 * 60 * 60),
            config_fingerprint: String::new(),
            cadence: Cadence::EveryRun,
            poll: None,
        }
    }
}

/// A lease holder name for this process: `host/pid/start/random`. Unique per process; on
/// the same host, [`holder_is_dead`] recognises a holder whose process has ended (a
/// `kill -9`), so its leases are taken over at once instead of after their expiry.
pub fn process_holder() -> String {
    let pid = std::process::id();
    format!(
        "{}/{pid}/{}/{}",
        host_name(),
        process_start(pid).unwrap_or_default(),
        uuid::Uuid::new_v4().simple()
    )
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty() && !h.contains('/'))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The start time of a process (field 22 of `/proc/PID/stat`), to tell a reused pid apart.
fn process_start(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_owned)
}

/// Whether a lease holder named by [`process_holder`] is a process of this host that no
/// longer runs. Holders of other hosts, or of another naming, are never taken as dead.
pub fn holder_is_dead(holder: &str) -> bool {
    let mut parts = holder.split('/');
    let (Some(host), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    if host != host_name() || start.is_empty() || !Path::new("/proc/self/stat").exists() {
        return false;
    }
    process_start(pid).as_deref() != Some(start)
}

/// The batch task group that runs the sync.
pub const BATCH_GROUP: &str = "Exchange Abgleich";

impl SchedulerOptions {
    /// The options for a batch task of `config`: its interval and the configuration's
    /// fingerprint, with the defaults for everything else. `None` if the task is not an
    /// active task of the [`BATCH_GROUP`] group.
    pub fn for_batch_task(
        task: &conaktiv_model::config::BatchTask,
        config: &Configuration,
    ) -> Option<Self> {
        (task.active && task.group.trim().eq_ignore_ascii_case(BATCH_GROUP)).then(|| Self {
            interval: task.interval_minutes.as_duration(),
            config_fingerprint: config_fingerprint(config),
            ..Self::default()
        })
    }

    /// How often [`Scheduler::run_loop`] looks for work with [`Cadence::OncePerInterval`]:
    /// [`SchedulerOptions::poll`], by default the shortest of the interval, half the lease's
    /// time to live and 30 seconds (a dead worker's items wait at most for their lease to
    /// expire and one poll); never below 10 ms.
    pub fn poll_period(&self) -> Duration {
        self.poll
            .unwrap_or_else(|| {
                self.interval
                    .min(self.lease_ttl / 2)
                    .min(Duration::from_secs(30))
            })
            .max(Duration::from_millis(10))
    }

    /// The interval slot `now` falls in: whole intervals since the Unix epoch (the same for
    /// every worker whose clock agrees). An interval under a millisecond counts as one.
    pub fn slot(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp_millis().div_euclid(self.interval_ms())
    }

    /// When the slot after the one of `now` begins.
    pub fn next_slot_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let start = self
            .slot(now)
            .saturating_add(1)
            .saturating_mul(self.interval_ms());
        DateTime::from_timestamp_millis(start).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    fn interval_ms(&self) -> i64 {
        i64::try_from(self.interval.as_millis())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    /// The back-off after `failures` consecutive transient failures.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        self.backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.backoff_max)
    }
}

/// The state of one item: its failures, and its last completed run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ItemState {
    /// Consecutive failures.
    pub failures: u32,
    /// When the next attempt may run (after a transient failure).
    pub next_attempt: Option<DateTime<Utc>>,
    /// The last error.
    pub last_error: Option<String>,
    /// Whether the last failure was permanent.
    pub permanent: bool,
    /// The configuration fingerprint of the permanent failure.
    pub fingerprint: Option<String>,
    /// The last run that completed (succeeded, or failed and stored its failure): with
    /// [`Cadence::OncePerInterval`] an item runs at most once per interval slot.
    pub last_run: Option<LastRun>,
}

/// When an item's last completed run started, and which scheduler ran it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LastRun {
    /// When the run was decided (its start).
    pub at: DateTime<Utc>,
    /// The scheduler ([`SchedulerOptions::holder`]) that ran it.
    pub by: String,
}

/// The batch scheduler. See the module docs.
pub struct Scheduler<R, C> {
    runner: R,
    clock: C,
    store: SchedulerStore,
    options: SchedulerOptions,
}

impl<R: JobRunner, C: Clock> Scheduler<R, C> {
    /// A scheduler running jobs through `runner`, keeping its state in `store`.
    pub fn new(runner: R, clock: C, store: SchedulerStore, options: SchedulerOptions) -> Self {
        Self {
            runner,
            clock,
            store,
            options,
        }
    }

    /// The job runner.
    pub fn runner(&self) -> &R {
        &self.runner
    }

    /// The options.
    pub fn options(&self) -> &SchedulerOptions {
        &self.options
    }

    /// Runs every job once (subject to leases, back-off and permanent failures), at most
    /// [`SchedulerOptions::concurrency`] at a time, the jobs sharing the runner's
    /// [`RunScope`] for this run. Never fails as a whole: every problem is in the item's
    /// report.
    pub async fn run_once(&self, jobs: &[Assignment], cancel: &CancellationToken) -> SyncReport {
        let started = self.clock.now();
        let scope = &self.runner.begin_run();
        tracing::debug!(jobs = jobs.len(), holder = %self.options.holder, "batch run starts");
        // Workers sharing the jobs start at different places in the list (by their holder
        // name), so they seldom meet on one item.
        let n = jobs.len();
        let offset = match self.options.cadence {
            Cadence::OncePerInterval if n > 0 => holder_offset(&self.options.holder) % n,
            _ => 0,
        };
        // Indices, not references, go through the stream: a closure over `&Assignment`
        // would not be general enough for `Send` futures.
        let order = (0..n).map(move |k| (k + offset) % n);
        let mut items: Vec<(usize, MailboxReport)> = futures::stream::iter(order)
            .map(|i| async move {
                match jobs.get(i) {
                    Some(job) => Some((i, self.run_item(job, scope, cancel).await)),
                    None => None,
                }
            })
            .buffer_unordered(self.options.concurrency.max(1))
            .filter_map(futures::future::ready)
            .collect()
            .await;
        items.sort_by_key(|(i, _)| *i);
        let report = SyncReport {
            started,
            finished: self.clock.now(),
            items: items.into_iter().map(|(_, r)| r).collect(),
            problems: Vec::new(),
        };
        let ran = report.succeeded() + report.failed();
        if ran > 0 || self.options.cadence == Cadence::EveryRun {
            tracing::info!(
                succeeded = report.succeeded(),
                failed = report.failed(),
                busy = report.busy(),
                skipped = report.skipped(),
                outcome = report.outcome().as_str(),
                "batch run finished"
            );
        } else {
            tracing::debug!(
                busy = report.busy(),
                skipped = report.skipped(),
                "batch poll finished; nothing to run"
            );
        }
        report
    }

    /// Runs the batch until `cancel` fires, calling `on_report` after each run: every
    /// [`SchedulerOptions::interval`] with [`Cadence::EveryRun`]; with
    /// [`Cadence::OncePerInterval`] every [`SchedulerOptions::poll_period`] and at the start
    /// of each interval slot (each run then only runs what no worker ran in the slot yet).
    /// Returns after the run in progress when cancelled.
    pub async fn run_loop(
        &self,
        source: &dyn JobSource,
        cancel: &CancellationToken,
        mut on_report: impl FnMut(&SyncReport) + Send,
    ) {
        loop {
            if cancel.is_cancelled() {
                break;
            }
            let jobs = match source.jobs().await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::error!(error = %e, "cannot list the jobs; trying again next interval");
                    Vec::new()
                }
            };
            let report = self.run_once(&jobs, cancel).await;
            on_report(&report);
            let pause = match self.options.cadence {
                Cadence::EveryRun => self.options.interval,
                Cadence::OncePerInterval => {
                    let now = self.clock.now();
                    let to_next_slot = (self.options.next_slot_start(now) - now)
                        .to_std()
                        .unwrap_or_default()
                        .max(Duration::from_millis(10));
                    self.options.poll_period().min(to_next_slot)
                }
            };
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::info!("batch scheduler stopped");
    }

    async fn run_item(
        &self,
        job: &Assignment,
        scope: &RunScope,
        cancel: &CancellationToken,
    ) -> MailboxReport {
        let table = table_name(job.table);
        let span = tracing::info_span!("batch_item", mailbox = %job.mailbox, table);
        async move {
            let started = self.clock.now();
            let status = self.item_status(job, table, scope, cancel).await;
            let report = MailboxReport::new(job, started, self.clock.now(), status);
            let duration_ms = report.duration_ms;
            match &report.status {
                ItemStatus::Succeeded { report } => tracing::info!(
                    duration_ms,
                    to_exchange = report.to_exchange.content_writes(),
                    to_conaktiv = report.to_conaktiv.content_writes(),
                    conflicts = report.conflicts,
                    item_errors = report.item_errors.len(),
                    "synchronised"
                ),
                ItemStatus::Failed {
                    error,
                    permanent: true,
                    ..
                } => tracing::error!(duration_ms, %error, "failed permanently; skipped until the configuration changes"),
                ItemStatus::Failed {
                    error, retry_at, ..
                } => {
                    let retry = retry_at
                        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_else(|| "the next run".to_owned());
                    tracing::warn!(duration_ms, %error, retry_at = %retry, "failed; will retry");
                }
                ItemStatus::Busy { holder } => tracing::info!(%holder, "busy: another run holds the lease"),
                ItemStatus::Skipped {
                    reason: reason @ SkipReason::AlreadyRan { .. },
                } => tracing::debug!(%reason, "skipped"),
                ItemStatus::Skipped { reason } => tracing::info!(%reason, "skipped"),
            }
            report
        }
        .instrument(span)
        .await
    }

    /// The I/O around [`transition::transition`]: takes the item's lease, reads its state,
    /// decides, runs the job and stores the new state while the lease is still held, so a
    /// decision never rests on a state another worker is about to change (with
    /// [`Cadence::OncePerInterval`], a state read before the lease could miss the run that
    /// another worker finishes meanwhile, and the item would run twice in one slot).
    ///
    /// A first look at the state without the lease skips what is certainly not due
    /// (backing off, failed permanently, already ran this slot) at the cost of one read and
    /// no lease write; whatever it lets through is decided again under the lease.
    async fn item_status(
        &self,
        job: &Assignment,
        table: &'static str,
        scope: &RunScope,
        cancel: &CancellationToken,
    ) -> ItemStatus {
        let decide = |state: &ItemState, event| {
            transition::transition(state, event, &self.options, self.clock.now())
        };
        if cancel.is_cancelled() {
            return decide(&ItemState::default(), Event::Shutdown).into_status();
        }
        match self.store.item_state(&job.mailbox, table).await {
            Ok(state) => {
                if let done @ Decision::Done { .. } = decide(&state, Event::Due) {
                    return done.into_status();
                }
            }
            Err(e) => {
                return decide(
                    &ItemState::default(),
                    Event::StateUnavailable(e.to_string()),
                )
                .into_status();
            }
        }
        // The one lease every writing path takes (see `SchedulerStore::run_leased`).
        let work = async {
            let state = match self.store.item_state(&job.mailbox, table).await {
                Ok(state) => state,
                Err(e) => {
                    return decide(
                        &ItemState::default(),
                        Event::StateUnavailable(e.to_string()),
                    );
                }
            };
            let base = match decide(&state, Event::Due) {
                Decision::Run(base) => base,
                done => return done,
            };
            if state.permanent {
                tracing::info!(
                    "the configuration changed since the permanent failure; trying again"
                );
            }
            let decision = decide(&base, Event::Ran(self.runner.run_in(job, scope).await));
            if let Decision::Done {
                store: Some(state), ..
            } = &decision
                && let Err(e) = self.store.set_item_state(&job.mailbox, table, state).await
            {
                // Not a success: without its state the job may run again in this interval
                // and its back-off is lost; the report and the exit code say so.
                tracing::error!(error = %e, "cannot store the item's state");
                return decide(
                    &ItemState::default(),
                    Event::StateUnavailable(format!(
                        "the job ran, but its result could not be recorded: {e}"
                    )),
                );
            }
            decision
        };
        let leased = self
            .store
            .run_leased(
                &self.clock,
                &job.mailbox,
                table,
                &self.options.holder,
                self.options.lease_ttl,
                Duration::ZERO,
                work,
            )
            .await;
        match leased {
            Ok(Leased::Ran(decision)) => decision,
            Ok(Leased::Busy { holder }) => {
                decide(&ItemState::default(), Event::LeaseBusy { holder })
            }
            Err(e) => decide(
                &ItemState::default(),
                Event::StateUnavailable(e.to_string()),
            ),
        }
        .into_status()
    }
}

/// Where a worker starts in the job list: a stable hash (FNV-1a) of its holder name.
fn holder_offset(holder: &str) -> usize {
    let hash = holder.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(hash % (u64::from(u32::MAX) + 1)).unwrap_or(0)
}
