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
//! * No two runs of the same mailbox and table at once, even across processes: each item is
//!   guarded by a lease row in the shared SQLite state database ([`SchedulerStore`]), taken in
//!   an immediate transaction, renewed while the item runs and expiring after
//!   [`SchedulerOptions::lease_ttl`] if its holder dies.
//! * Clean shutdown between items: once the [`CancellationToken`] fires no new item starts;
//!   running items finish.
//! * Time comes from a [`Clock`]; the loop sleeps with tokio's timer (pausable in tests).
//! * Structured logs with `tracing` (span `batch_item` with `mailbox` and `table`).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use conaktiv_model::Configuration;
use futures::StreamExt;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock::Clock;
use crate::host::{HostError, UserDirectory};
use crate::rules::{Assignment, assignments, table_name};
use crate::sqlite::{open_connection, storage, with_conn};

pub mod transition;

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

    /// Jobs that were skipped (backing off, failed permanently, shutting down).
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

    /// The overall outcome. Items skipped because of an earlier permanent failure count as
    /// failures; items that ran with failed or unknown writes make a partial failure.
    pub fn outcome(&self) -> Outcome {
        let failed = self.failed()
            + self.incomplete()
            + self.count(|s| {
                matches!(
                    s,
                    ItemStatus::Skipped {
                        reason: SkipReason::PermanentFailure { .. }
                    }
                )
            });
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

/// The outcome of [`SchedulerStore::run_leased`].
#[derive(Debug)]
pub enum Leased<T> {
    /// The work ran while the lease was held.
    Ran(T),
    /// Another holder has the lease; the work did not run.
    Busy {
        /// The holder.
        holder: String,
    },
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

    /// The back-off after `failures` consecutive transient failures.
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(30);
        self.backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.backoff_max)
    }
}

/// The scheduler's shared state: leases and per-item failure state, in SQLite. Several
/// schedulers (processes) may share one file.
#[derive(Clone)]
pub struct SchedulerStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SchedulerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerStore").finish_non_exhaustive()
    }
}

const STORE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scheduler_meta (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scheduler_leases (
    mailbox TEXT NOT NULL COLLATE NOCASE,
    tbl TEXT NOT NULL,
    holder TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (mailbox, tbl)
);
CREATE TABLE IF NOT EXISTS scheduler_items (
    mailbox TEXT NOT NULL COLLATE NOCASE,
    tbl TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER,
    last_error TEXT,
    permanent INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT,
    PRIMARY KEY (mailbox, tbl)
);";

/// The scheduler store's schema version.
const STORE_VERSION: i64 = 1;

/// The failure state of one item.
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
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

impl SchedulerStore {
    /// Opens (or creates) the state database; may be the same file as the embedded CRM.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, crate::sqlite::SchemaError> {
        Self::init(open_connection(Some(path.as_ref()))?)
    }

    /// An in-memory store (one process only).
    pub fn in_memory() -> Result<Self, crate::sqlite::SchemaError> {
        Self::init(open_connection(None)?)
    }

    fn init(mut conn: Connection) -> Result<Self, crate::sqlite::SchemaError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(STORE_SCHEMA)?;
        let found: Option<i64> = tx
            .query_row("SELECT max(version) FROM scheduler_meta", [], |r| r.get(0))
            .optional()?
            .flatten();
        match found {
            Some(v) if v > STORE_VERSION => {
                return Err(crate::sqlite::SchemaError::TooNew {
                    found: v,
                    supported: STORE_VERSION,
                });
            }
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO scheduler_meta (version) VALUES (?1)",
                    [STORE_VERSION],
                )?;
            }
        }
        tx.commit()?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Takes the lease of an item for `holder` until `now + ttl`, if it is free, expired or
    /// already `holder`'s. Returns `Err(current holder)` when someone else holds it.
    pub async fn try_acquire(
        &self,
        mailbox: &str,
        table: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Result<(), String>, HostError> {
        let (mailbox, table, holder) = (mailbox.to_owned(), table.to_owned(), holder.to_owned());
        with_conn(&self.conn, move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(storage)?;
            let current: Option<(String, i64)> = tx
                .query_row(
                    "SELECT holder, expires_ms FROM scheduler_leases WHERE mailbox = ?1 AND tbl = ?2",
                    params![mailbox, table],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(storage)?;
            if let Some((other, expires)) = current
                && other != holder
                && expires > ms(now)
            {
                if !holder_is_dead(&other) {
                    return Ok(Err(other));
                }
                tracing::warn!(
                    mailbox,
                    table,
                    holder = %other,
                    "taking over the lease of a process that no longer runs"
                );
            }
            tx.execute(
                "INSERT OR REPLACE INTO scheduler_leases (mailbox, tbl, holder, expires_ms)
                 VALUES (?1, ?2, ?3, ?4)",
                params![mailbox, table, holder, ms(add(now, ttl))],
            )
            .map_err(storage)?;
            tx.commit().map_err(storage)?;
            Ok(Ok(()))
        })
        .await
    }

    /// Runs `work` while holding the lease of a mailbox and table for `holder`: takes the
    /// lease (waiting up to `wait` for another holder to finish, polling every second),
    /// renews it every third of `ttl` while the work runs, and gives it back afterwards.
    /// This is the one lease every writing path takes (the scheduler, `Connector::run`, the
    /// CLI's `sync`), so no two runs ever write the same mailbox and table at once.
    #[allow(clippy::too_many_arguments)]
    pub async fn run_leased<T>(
        &self,
        clock: &dyn Clock,
        mailbox: &str,
        table: &str,
        holder: &str,
        ttl: Duration,
        wait: Duration,
        work: impl std::future::Future<Output = T>,
    ) -> Result<Leased<T>, HostError> {
        let give_up = add(clock.now(), wait);
        loop {
            match self
                .try_acquire(mailbox, table, holder, clock.now(), ttl)
                .await?
            {
                Ok(()) => break,
                Err(other) if clock.now() >= give_up => {
                    return Ok(Leased::Busy { holder: other });
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
        let result = tokio::select! {
            r = work => r,
            never = self.renew_forever(clock, mailbox, table, holder, ttl) => match never {},
        };
        if let Err(e) = self.release(mailbox, table, holder).await {
            tracing::warn!(error = %e, "cannot release the lease; it expires by itself");
        }
        Ok(Leased::Ran(result))
    }

    /// Renews a lease every third of `ttl`; never returns.
    async fn renew_forever(
        &self,
        clock: &dyn Clock,
        mailbox: &str,
        table: &str,
        holder: &str,
        ttl: Duration,
    ) -> std::convert::Infallible {
        let period = (ttl / 3).max(Duration::from_millis(10));
        loop {
            tokio::time::sleep(period).await;
            match self.renew(mailbox, table, holder, clock.now(), ttl).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!(mailbox, table, "lost the lease of a running job"),
                Err(e) => tracing::warn!(error = %e, "cannot renew the lease"),
            }
        }
    }

    /// Extends `holder`'s lease; `false` if it no longer holds it.
    pub async fn renew(
        &self,
        mailbox: &str,
        table: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, HostError> {
        let (mailbox, table, holder) = (mailbox.to_owned(), table.to_owned(), holder.to_owned());
        with_conn(&self.conn, move |c| {
            c.execute(
                "UPDATE scheduler_leases SET expires_ms = ?4
                 WHERE mailbox = ?1 AND tbl = ?2 AND holder = ?3",
                params![mailbox, table, holder, ms(add(now, ttl))],
            )
            .map(|n| n > 0)
            .map_err(storage)
        })
        .await
    }

    /// Gives `holder`'s lease back.
    pub async fn release(&self, mailbox: &str, table: &str, holder: &str) -> Result<(), HostError> {
        let (mailbox, table, holder) = (mailbox.to_owned(), table.to_owned(), holder.to_owned());
        with_conn(&self.conn, move |c| {
            c.execute(
                "DELETE FROM scheduler_leases WHERE mailbox = ?1 AND tbl = ?2 AND holder = ?3",
                params![mailbox, table, holder],
            )
            .map(|_| ())
            .map_err(storage)
        })
        .await
    }

    /// The failure state of an item (default: never failed).
    pub async fn item_state(&self, mailbox: &str, table: &str) -> Result<ItemState, HostError> {
        let (mailbox, table) = (mailbox.to_owned(), table.to_owned());
        with_conn(&self.conn, move |c| {
            c.query_row(
                "SELECT failures, next_attempt_ms, last_error, permanent, fingerprint
                 FROM scheduler_items WHERE mailbox = ?1 AND tbl = ?2",
                params![mailbox, table],
                |r| {
                    Ok(ItemState {
                        failures: r.get(0)?,
                        next_attempt: r.get::<_, Option<i64>>(1)?.map(from_ms),
                        last_error: r.get(2)?,
                        permanent: r.get(3)?,
                        fingerprint: r.get(4)?,
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(storage)
        })
        .await
    }

    /// Stores an item's failure state (the default state deletes the row).
    pub async fn set_item_state(
        &self,
        mailbox: &str,
        table: &str,
        state: &ItemState,
    ) -> Result<(), HostError> {
        let (mailbox, table, state) = (mailbox.to_owned(), table.to_owned(), state.clone());
        with_conn(&self.conn, move |c| {
            if state == ItemState::default() {
                c.execute(
                    "DELETE FROM scheduler_items WHERE mailbox = ?1 AND tbl = ?2",
                    params![mailbox, table],
                )
            } else {
                c.execute(
                    "INSERT OR REPLACE INTO scheduler_items
                     (mailbox, tbl, failures, next_attempt_ms, last_error, permanent, fingerprint)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        mailbox,
                        table,
                        state.failures,
                        state.next_attempt.map(ms),
                        state.last_error,
                        state.permanent,
                        state.fingerprint
                    ],
                )
            }
            .map(|_| ())
            .map_err(storage)
        })
        .await
    }
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
        tracing::info!(jobs = jobs.len(), holder = %self.options.holder, "batch run starts");
        // Indices, not references, go through the stream: a closure over `&Assignment`
        // would not be general enough for `Send` futures.
        let mut items: Vec<(usize, MailboxReport)> = futures::stream::iter(0..jobs.len())
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
        tracing::info!(
            succeeded = report.succeeded(),
            failed = report.failed(),
            busy = report.busy(),
            skipped = report.skipped(),
            outcome = report.outcome().as_str(),
            "batch run finished"
        );
        report
    }

    /// Runs the batch every [`SchedulerOptions::interval`] until `cancel` fires, calling
    /// `on_report` after each run. Returns after the run in progress when cancelled.
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
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(self.options.interval) => {}
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
                ItemStatus::Skipped { reason } => tracing::info!(%reason, "skipped"),
            }
            report
        }
        .instrument(span)
        .await
    }

    /// The I/O around [`transition::transition`]: reads the item's state, takes the lease,
    /// runs the job and stores the new state while the lease is still held.
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
        let (state, event) = if cancel.is_cancelled() {
            (ItemState::default(), Event::Shutdown)
        } else {
            match self.store.item_state(&job.mailbox, table).await {
                Ok(state) => (state, Event::Due),
                Err(e) => (ItemState::default(), Event::StateUnavailable(e.to_string())),
            }
        };
        let base = match decide(&state, event) {
            Decision::Run(base) => base,
            done => return done.into_status(),
        };
        if state.permanent {
            tracing::info!("the configuration changed since the permanent failure; trying again");
        }
        // The one lease every writing path takes (see `SchedulerStore::run_leased`); the
        // item's state is stored while the lease is still held.
        let work = async {
            let decision = decide(&base, Event::Ran(self.runner.run_in(job, scope).await));
            if let Decision::Done {
                store: Some(state), ..
            } = &decision
                && let Err(e) = self.store.set_item_state(&job.mailbox, table, state).await
            {
                tracing::error!(error = %e, "cannot store the item's state");
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
            Ok(Leased::Busy { holder }) => decide(&base, Event::LeaseBusy { holder }),
            Err(e) => decide(&base, Event::StateUnavailable(e.to_string())),
        }
        .into_status()
    }
}
