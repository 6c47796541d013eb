//! Orchestration: preview and run a rule for one mailbox, everyone, or a batch job; the job
//! runner the scheduler calls; and the self-contained [`demo()`] (ews-mock + SQLite CRM).
//!
//! [`Connector`] holds what a run needs: the configuration, the service account's EWS client
//! ([`client_for_server`]: on-premises the admin account with ApplicationImpersonation,
//! Exchange Online the OAuth app), the host's CRM stores ([`CrmStores`]), the user directory
//! and a folder for the sync state (one SQLite state database per mailbox and table).
//!
//! * [`Connector::preview`] / [`Connector::preview_rule`]: sync-core's plan for one rule and
//!   user (the counts of the preview screen: new, changed, deleted records for Exchange and
//!   for ConAktiv, plus the list of actions on request). Nothing is written, so a changed rule
//!   is previewed by simply calling `preview_rule` again with it.
//! * [`Connector::run`]: runs the sync now for a rule, a user or everyone, one report per
//!   mailbox and table in one [`SyncReport`] (the report a batch run gives too).
//! * [`JobRunner`] for the batch [`crate::scheduler::Scheduler`]: one mailbox and table, with
//!   errors classified into [`JobError`] (bad credentials, impersonation denied and a missing
//!   mailbox are permanent; throttling and dropped connections transient).
//!
//! The CRM is the engine's local side and Exchange its remote side.
//!
//! Invariants: this module wires the other modules together and holds no sync logic of its
//! own (decisions are sync-core's, EWS is the Exchange side's, the mapping is the mapping's).

mod client;
pub mod demo;
pub mod graph;
mod projection;
pub mod routing;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use conaktiv_model::config::{SyncRule, SyncTable};
use conaktiv_model::{Appointment, Configuration, ContactPerson, Mail, Task};
use ews_client::Client;
use serde::Serialize;
use sync_core::{Change, Engine, PerSide, Reattach, SideId, SyncError, Timestamp};

use crate::crm_side::{CrmSide, Projection};
use crate::exchange::{ExchangeSide, FolderCache, MailProjection};
use crate::graph_side::GraphSide;
use crate::host::{
    CrmRecord, CrmStore, DirectoryUser, HostError, ListQuery, RecordMeta, Stored, UserDirectory,
};
use crate::rules::{Assignment, assignments, resolve, table_name};
use crate::scheduler::{
    ItemStatus, JobError, JobErrorKind, JobReport, JobRunner, Leased, MailboxReport, RunScope,
    SchedulerStore, SyncReport,
};
use crate::state::{SqliteStates, StateStores};

pub use client::{client_for_server, explain_certificate_error, transport_for_server};
pub use demo::{DemoResult, demo};
pub use projection::{AppointmentProjection, ContactProjection, TaskProjection, Uncarried};
pub use routing::{RouteInfo, Router};

/// An error of the orchestration layer (not of one mailbox's job: those are [`JobError`]s).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The configuration does not allow the request (unknown rule or user, no server).
    #[error("configuration: {0}")]
    Configuration(String),
    /// The host (directory, CRM) failed.
    #[error(transparent)]
    Host(#[from] HostError),
    /// A job failed.
    #[error(transparent)]
    Job(#[from] JobError),
    /// The demo's mock server or temporary files failed.
    #[error("demo: {0}")]
    Demo(String),
}

impl ServiceError {
    /// Whether a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            ServiceError::Host(e) => e.is_transient(),
            ServiceError::Job(e) => e.is_transient(),
            _ => false,
        }
    }
}

/// The host's CRM stores, one per table.
#[derive(Clone)]
pub struct CrmStores {
    /// Contact persons.
    pub contacts: Arc<dyn CrmStore<ContactPerson>>,
    /// Appointments.
    pub appointments: Arc<dyn CrmStore<Appointment>>,
    /// Tasks.
    pub tasks: Arc<dyn CrmStore<Task>>,
    /// Mails.
    pub mails: Arc<dyn CrmStore<Mail>>,
}

impl CrmStores {
    /// The same store for every table (e.g. [`crate::sqlite::SqliteCrm`]).
    pub fn all<S>(store: S) -> Self
    where
        S: CrmStore<ContactPerson>
            + CrmStore<Appointment>
            + CrmStore<Task>
            + CrmStore<Mail>
            + Clone
            + 'static,
    {
        Self {
            contacts: Arc::new(store.clone()),
            appointments: Arc::new(store.clone()),
            tasks: Arc::new(store.clone()),
            mails: Arc::new(store),
        }
    }
}

impl CrmStores {
    /// These stores with new mail linked and new appointments given their subject's project
    /// by `linker` (see [`crate::linking`]).
    pub fn linked(self, linker: Arc<dyn crate::host::MailLinker>) -> Self {
        Self {
            mails: Arc::new(crate::linking::LinkingMails::new(
                self.mails,
                Arc::clone(&linker),
            )),
            appointments: Arc::new(crate::linking::LinkingAppointments::new(
                self.appointments,
                linker,
            )),
            ..self
        }
    }
}

impl std::fmt::Debug for CrmStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CrmStores")
    }
}

/// A shared store as a [`CrmStore`] value (what [`CrmSide`] takes).
struct Shared<R>(Arc<dyn CrmStore<R>>);

#[async_trait]
impl<R: CrmRecord> CrmStore<R> for Shared<R> {
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError> {
        self.0.list(query).await
    }
    async fn get(&self, id: &str) -> Result<Option<Stored<R>>, HostError> {
        self.0.get(id).await
    }
    async fn get_many(&self, ids: &[String]) -> Result<Vec<Stored<R>>, HostError> {
        self.0.get_many(ids).await
    }
    async fn create(
        &self,
        owner: Option<&str>,
        record: &R,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.0.create(owner, record, key).await
    }
    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &R,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.0.update(id, expected, record, key).await
    }
    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        self.0.delete(id, expected).await
    }
    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        self.0.set_key(id, expected, key).await
    }
    async fn set_keys(
        &self,
        writes: &[crate::host::KeyWrite],
    ) -> Vec<Result<RecordMeta, HostError>> {
        self.0.set_keys(writes).await
    }
}

/// New, changed, deleted and linked records on one side (a column of the preview screen,
/// the counts of a run): sync-core's one counts type. `linked`: records whose content stays
/// as it is and that only get linked to their partner (the ConAktiv record id stored on the
/// Exchange item, or the pairing key on the CRM record).
pub use sync_core::Counts;

/// How much a preview tells: the counts only, or the counts and every planned action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PreviewDetail {
    /// The counts per side ([`Preview::actions`] stays empty).
    #[default]
    Counts,
    /// The counts and the list of planned actions ([`Preview::actions`]).
    WithActions,
}

impl PreviewDetail {
    /// [`PreviewDetail::WithActions`] if `actions`, else [`PreviewDetail::Counts`] (for a
    /// command-line switch).
    pub fn with_actions_if(actions: bool) -> Self {
        if actions {
            Self::WithActions
        } else {
            Self::Counts
        }
    }
}

/// One planned action of a preview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PreviewAction {
    /// The pair's correlation key.
    pub key: String,
    /// `create`, `update`, `link`, `delete`, `detach` or `forget`.
    pub action: &'static str,
    /// `exchange` or `conaktiv` for creates, deletes and detaches (for a detach: the side
    /// whose record disappeared).
    pub on: Option<&'static str>,
    /// The record's `subject`/`display_name`/`surname` field, when the plan has it.
    pub title: Option<String>,
}

/// The preview of one rule for one user.
#[derive(Clone, Debug, Serialize)]
pub struct Preview {
    /// The user.
    pub user: String,
    /// The mailbox.
    pub mailbox: String,
    /// The table.
    pub table: &'static str,
    /// The rule's description.
    pub rule: String,
    /// Writes to Exchange.
    pub exchange: Counts,
    /// Writes to ConAktiv.
    pub conaktiv: Counts,
    /// sync-core's counts (local = ConAktiv, remote = Exchange); a run's report has the same.
    /// In JSON per side in the report's vocabulary: `{"conaktiv": {"new", "changed",
    /// "deleted", "linked"}, "exchange": {…}}` (`linked`: only the pairing key was written).
    #[serde(serialize_with = "ser_counts")]
    pub counts: PerSide<Counts>,
    /// Set when the mass-delete guard would stop the run.
    pub guard: Option<String>,
    /// The actions, when asked for.
    pub actions: Vec<PreviewAction>,
}

/// sync-core's counts per side in JSON with the host's side names:
/// `{"conaktiv": {"new", "changed", "deleted", "linked"}, "exchange": {…}}`.
fn ser_counts<S: serde::Serializer>(c: &PerSide<Counts>, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(2))?;
    m.serialize_entry("conaktiv", &c.local)?;
    m.serialize_entry("exchange", &c.remote)?;
    m.end()
}

/// Runs sync rules for mailboxes. See the module docs.
pub struct Connector {
    config: Configuration,
    router: Router,
    crm: CrmStores,
    directory: Arc<dyn UserDirectory>,
    state_dir: PathBuf,
    states: Arc<dyn StateStores>,
    batch_size: usize,
    leases: std::sync::OnceLock<SchedulerStore>,
    holder: String,
    lease_wait: std::time::Duration,
    reattach: Reattach,
    accepted_mass_delete: Vec<String>,
    concurrency: usize,
}

/// A job and its preview (or why the preview failed), from [`Connector::preview_all`].
pub type JobPreview = (Assignment, Result<Preview, ServiceError>);

/// Where a run stands, after each finished mailbox and table.
#[derive(Debug)]
pub struct Progress<'a> {
    /// Jobs finished so far.
    pub done: usize,
    /// Jobs in the run.
    pub total: usize,
    /// Writes made so far, summed over the finished jobs.
    pub writes: usize,
    /// The job that just finished.
    pub finished: &'a MailboxReport,
}

/// How long a lease taken by [`Connector::run`] lasts without renewal (renewed every third).
const RUN_LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("state_dir", &self.state_dir)
            .field("states", &self.states)
            .field("rules", &self.config.rules.len())
            .finish_non_exhaustive()
    }
}

enum Mode<'a> {
    Preview(PreviewDetail),
    /// A run, with the folder ids shared by the run's jobs.
    Run(&'a FolderCache),
}

enum Done {
    Preview(Box<Preview>),
    Run(Box<JobReport>),
}

impl Connector {
    /// A connector over a client (the service account's, see [`client_for_server`]), the
    /// host's stores and directory, and a folder for the sync state (created if missing).
    pub fn new(
        config: Configuration,
        client: Client,
        crm: CrmStores,
        directory: Arc<dyn UserDirectory>,
        state_dir: impl Into<PathBuf>,
    ) -> Self {
        let router = Router::single(config.clone(), client);
        Self::with_router(config, router, crm, directory, state_dir)
    }

    fn with_router(
        config: Configuration,
        router: Router,
        crm: CrmStores,
        directory: Arc<dyn UserDirectory>,
        state_dir: impl Into<PathBuf>,
    ) -> Self {
        let state_dir = state_dir.into();
        Self {
            config,
            router,
            crm,
            directory,
            states: Arc::new(SqliteStates::new(state_dir.clone())),
            state_dir,
            batch_size: crate::exchange::BATCH,
            leases: std::sync::OnceLock::new(),
            holder: crate::scheduler::process_holder(),
            lease_wait: std::time::Duration::ZERO,
            reattach: Reattach::Off,
            accepted_mass_delete: Vec::new(),
            concurrency: 4,
        }
    }

    /// How many mailboxes and tables [`Connector::run`] works on at once (default 4; the
    /// batch scheduler has its own setting).
    #[must_use]
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Accepts, for the runs of this connector only, that the mass-delete guard of `rule`
    /// (by description) would stop them: the admin has seen the numbers and wants the deletes
    /// made. The next connector (the next `sync`, the next batch) guards again.
    #[must_use]
    pub fn with_accepted_mass_delete(mut self, rule: impl Into<String>) -> Self {
        self.accepted_mass_delete.push(rule.into());
        self
    }

    fn mass_delete_accepted(&self, rule: &SyncRule) -> bool {
        self.accepted_mass_delete
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&rule.description))
    }

    /// Re-attaches detached pairs in the runs and previews of this connector: a record kept
    /// on one side after its partner disappeared (a mailbox restored from a backup, a
    /// delete with the delete switch off) is written back to the side that lost it, under
    /// the same key (sync-core's [`Engine::with_reattach`]). Off by default.
    #[must_use]
    pub fn with_reattach(mut self, reattach: Reattach) -> Self {
        self.reattach = reattach;
        self
    }

    /// Uses this lease store instead of `scheduler.sqlite` in the state folder (the batch
    /// scheduler's store, so both take the same leases).
    #[must_use]
    pub fn with_lease_store(self, store: SchedulerStore) -> Self {
        let _ = self.leases.set(store);
        self
    }

    /// Keeps the sync state in `states` instead of SQLite files in the state folder (e.g.
    /// [`crate::state::PgStates`], so that workers on several machines share it).
    #[must_use]
    pub fn with_state_stores(mut self, states: Arc<dyn StateStores>) -> Self {
        self.states = states;
        self
    }

    /// Where the sync state lives.
    pub fn state_stores(&self) -> &Arc<dyn StateStores> {
        &self.states
    }

    /// How long [`Connector::run`] and [`Connector::run_job`] wait for a mailbox and table
    /// that another run holds before reporting it busy (default: not at all).
    #[must_use]
    pub fn with_lease_wait(mut self, wait: std::time::Duration) -> Self {
        self.lease_wait = wait;
        self
    }

    /// The lease store: the one given, or `scheduler.sqlite` in the state folder (the file
    /// the CLI's batch uses).
    pub(crate) fn leases(&self) -> Result<&SchedulerStore, JobError> {
        if let Some(store) = self.leases.get() {
            return Ok(store);
        }
        crate::sqlite::create_private_dir(&self.state_dir).map_err(|e| {
            JobError::new(
                JobErrorKind::Other,
                format!(
                    "cannot create the state folder {}: {e}",
                    self.state_dir.display()
                ),
            )
        })?;
        let store = SchedulerStore::open(self.state_dir.join("scheduler.sqlite"))
            .map_err(|e| JobError::from_source(JobErrorKind::Other, e))?;
        Ok(self.leases.get_or_init(|| store))
    }

    /// A connector for the configuration's EWS servers: with `server`, every mailbox goes
    /// to that server record; without, each mailbox to the server its route names
    /// ([`Connector::routed`]; with one server and no routes, that server).
    pub fn from_config(
        config: Configuration,
        server: Option<&str>,
        crm: CrmStores,
        directory: Arc<dyn UserDirectory>,
        state_dir: impl Into<PathBuf>,
    ) -> Result<Self, ServiceError> {
        let router = match server {
            Some(name) => Router::fixed(config.clone(), name)?,
            None => Router::new(config.clone())?,
        };
        Ok(Self::with_router(config, router, crm, directory, state_dir))
    }

    /// A connector that serves each mailbox from the server its route names
    /// (`[[mailbox_routes]]`, the user's Exchange mail account, else the first server;
    /// Autodiscover where a route asks for it), with one client per server record.
    pub fn routed(
        config: Configuration,
        crm: CrmStores,
        directory: Arc<dyn UserDirectory>,
        state_dir: impl Into<PathBuf>,
    ) -> Result<Self, ServiceError> {
        Self::from_config(config, None, crm, directory, state_dir)
    }

    /// The name this process's leases are held under.
    pub(crate) fn holder(&self) -> &str {
        &self.holder
    }

    /// The router that picks each mailbox's server.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Sets how many items are written per batch (default 100).
    #[must_use]
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &Configuration {
        &self.config
    }

    /// The folder holding the sync state.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The Microsoft Graph sync state file of a mailbox and table (see [`graph_state_file`]).
    pub fn graph_state_path(&self, mailbox: &str, table: SyncTable) -> PathBuf {
        graph_state_file(&self.state_dir, mailbox, table)
    }

    /// The EWS sync state file of a mailbox and table.
    pub fn state_path(&self, mailbox: &str, table: SyncTable) -> PathBuf {
        state_file(&self.state_dir, mailbox, table)
    }

    fn rule(&self, description: &str) -> Result<&SyncRule, ServiceError> {
        self.config
            .rules
            .iter()
            .find(|r| r.description.eq_ignore_ascii_case(description))
            .ok_or_else(|| ServiceError::Configuration(format!("no rule {description:?}")))
    }

    async fn user(&self, name: &str) -> Result<DirectoryUser, ServiceError> {
        self.directory
            .user(name)
            .await?
            .ok_or_else(|| ServiceError::Configuration(format!("no user {name:?}")))
    }

    /// The preview of a configured rule for a user.
    pub async fn preview(
        &self,
        rule: &str,
        user: &str,
        detail: PreviewDetail,
    ) -> Result<Preview, ServiceError> {
        let rule = self.rule(rule)?.clone();
        let user = self.user(user).await?;
        self.preview_rule(&rule, &user, detail).await
    }

    /// The preview of any rule (e.g. one being edited) for a user. Nothing is written.
    pub async fn preview_rule(
        &self,
        rule: &SyncRule,
        user: &DirectoryUser,
        detail: PreviewDetail,
    ) -> Result<Preview, ServiceError> {
        let mailbox = mailbox_of(user)?;
        match self
            .table(rule, &user.name, &mailbox, Mode::Preview(detail))
            .await?
        {
            Done::Preview(p) => Ok(*p),
            Done::Run(_) => Err(ServiceError::Demo(
                "internal: run instead of preview".into(),
            )),
        }
    }

    /// The previews of every job in scope (as the rule screen shows it): for a rule and/or a
    /// user, everyone when both are `None`, at most [`Connector::with_concurrency`] mailboxes
    /// at once, in the jobs' order. A job whose preview fails carries its error.
    pub async fn preview_all(
        &self,
        rule: Option<&str>,
        user: Option<&str>,
        detail: PreviewDetail,
    ) -> Result<Vec<JobPreview>, ServiceError> {
        use futures::StreamExt;
        let (jobs, _) = self.jobs(rule, user).await?;
        let mut out: Vec<(usize, JobPreview)> = futures::stream::iter(jobs.into_iter().enumerate())
            .map(|(i, job)| async move {
                let result = async {
                    let rule = self.rule(&job.rule)?.clone();
                    let user = self.user(&job.user).await?;
                    self.preview_rule(&rule, &user, detail).await
                }
                .await;
                (i, (job, result))
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        out.sort_by_key(|(i, _)| *i);
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }

    /// Runs one job: a mailbox and table under a configured rule, holding the job's lease
    /// (the one the batch scheduler takes): if another run holds it, the result is a
    /// [`JobErrorKind::Busy`] error and nothing was done.
    pub async fn run_job(&self, job: &Assignment) -> Result<JobReport, JobError> {
        match self.run_job_leased(job, &FolderCache::new()).await? {
            Leased::Ran(result) => result,
            Leased::Busy { holder } => Err(JobError::new(
                JobErrorKind::Busy,
                format!("another run ({holder}) is working on this mailbox and table"),
            )),
        }
    }

    /// How a job ended: [`Connector::run_job`] as a report's status.
    async fn job_status(&self, job: &Assignment, folders: &FolderCache) -> ItemStatus {
        match self.run_job_leased(job, folders).await {
            Ok(Leased::Ran(result)) => ItemStatus::of(result),
            Ok(Leased::Busy { holder }) => ItemStatus::Busy { holder },
            Err(e) => ItemStatus::of(Err(e)),
        }
    }

    /// Runs one job while holding its lease, or tells who holds it.
    async fn run_job_leased(
        &self,
        job: &Assignment,
        folders: &FolderCache,
    ) -> Result<Leased<Result<JobReport, JobError>>, JobError> {
        let leases = self.leases()?;
        leases
            .run_leased(
                &crate::clock::SystemClock,
                &job.mailbox,
                table_name(job.table),
                &self.holder,
                RUN_LEASE_TTL,
                self.lease_wait,
                self.run_job_unleased(job, folders),
            )
            .await
            .map_err(|e| {
                let kind = if e.is_transient() {
                    JobErrorKind::Transient
                } else {
                    JobErrorKind::Other
                };
                JobError::from_source(kind, e)
            })
    }

    /// Runs one job without taking its lease: for a caller that holds it (the scheduler).
    /// `folders` holds the folder ids of the run the job belongs to.
    async fn run_job_unleased(
        &self,
        job: &Assignment,
        folders: &FolderCache,
    ) -> Result<JobReport, JobError> {
        let rule = self
            .rule(&job.rule)
            .map_err(|e| JobError::configuration(e.to_string()))?
            .clone();
        match self
            .table(&rule, &job.user, &job.mailbox, Mode::Run(folders))
            .await
        {
            Ok(Done::Run(r)) => Ok(*r),
            Ok(Done::Preview(_)) => Err(JobError::new(JobErrorKind::Other, "internal: preview")),
            Err(ServiceError::Job(e)) => Err(e),
            Err(e @ ServiceError::Configuration(_)) => {
                Err(JobError::from_source(JobErrorKind::Configuration, e))
            }
            Err(e) => {
                let kind = if e.is_transient() {
                    JobErrorKind::Transient
                } else {
                    JobErrorKind::Other
                };
                Err(JobError::from_source(kind, e))
            }
        }
    }

    /// The jobs for a rule and/or a user (everyone when both are `None`), and the rule
    /// problems that left users out.
    pub async fn jobs(
        &self,
        rule: Option<&str>,
        user: Option<&str>,
    ) -> Result<(Vec<Assignment>, Vec<String>), ServiceError> {
        if let Some(r) = rule {
            self.rule(r)?;
        }
        let users = match user {
            Some(name) => vec![self.user(name).await?],
            None => self.directory.users().await?,
        };
        let (jobs, problems) = assignments(&self.config.rules, &users);
        let jobs = jobs
            .into_iter()
            .filter(|j| rule.is_none_or(|r| j.rule.eq_ignore_ascii_case(r)))
            .collect();
        Ok((jobs, problems.iter().map(ToString::to_string).collect()))
    }

    /// Runs the sync now for a rule and/or a user (everyone when both are `None`): one report
    /// per mailbox and table; a failing mailbox does not stop the others.
    pub async fn run(
        &self,
        rule: Option<&str>,
        user: Option<&str>,
    ) -> Result<SyncReport, ServiceError> {
        self.run_observed(rule, user, &|_: &Progress<'_>| {}).await
    }

    /// [`Connector::run`] reporting each finished job to `on_progress` as it ends.
    pub async fn run_observed(
        &self,
        rule: Option<&str>,
        user: Option<&str>,
        on_progress: &(dyn Fn(&Progress<'_>) + Sync),
    ) -> Result<SyncReport, ServiceError> {
        let started = chrono::Utc::now();
        let (jobs, problems) = self.jobs(rule, user).await?;
        if let (Some(r), Some(u)) = (rule, user)
            && jobs.is_empty()
        {
            let who = self.user(u).await?;
            let table = self.rule(r)?.table;
            let applies = resolve(&self.config.rules, table, &who).ok().flatten();
            return Err(ServiceError::Configuration(format!(
                "rule {r:?} does not apply to user {u:?} (the rule in effect is {:?})",
                applies.map(|a| a.description.as_str())
            )));
        }
        let items = self.run_jobs(jobs, on_progress).await;
        Ok(SyncReport {
            started,
            finished: chrono::Utc::now(),
            items,
            problems,
        })
    }

    /// Runs jobs, at most [`Connector::with_concurrency`] at once (independent mailboxes
    /// in parallel), in the jobs' order in the result. The jobs share one [`FolderCache`]:
    /// each mailbox's folder paths are resolved once in this run.
    async fn run_jobs(
        &self,
        jobs: Vec<Assignment>,
        on_progress: &(dyn Fn(&Progress<'_>) + Sync),
    ) -> Vec<MailboxReport> {
        use futures::StreamExt;
        let total = jobs.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let writes = std::sync::atomic::AtomicUsize::new(0);
        let folders = FolderCache::new();
        let mut items: Vec<(usize, MailboxReport)> =
            futures::stream::iter(jobs.into_iter().enumerate())
                .map(|(i, job)| {
                    let (done, writes, folders) = (&done, &writes, &folders);
                    async move {
                        let started = chrono::Utc::now();
                        let status = self.job_status(&job, folders).await;
                        let run = MailboxReport::new(&job, started, chrono::Utc::now(), status);
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        let written = run.status.report().map_or(0, JobReport::writes);
                        let w = writes.fetch_add(written, std::sync::atomic::Ordering::SeqCst)
                            + written;
                        on_progress(&Progress {
                            done: n,
                            total,
                            writes: w,
                            finished: &run,
                        });
                        (i, run)
                    }
                })
                .buffer_unordered(self.concurrency.max(1))
                .collect()
                .await;
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, r)| r).collect()
    }

    async fn table(
        &self,
        rule: &SyncRule,
        user: &str,
        mailbox: &str,
        mode: Mode<'_>,
    ) -> Result<Done, ServiceError> {
        let query = ListQuery::filtered(&rule.filter)
            .map_err(|e| ServiceError::Configuration(format!("rule {:?}: {e}", rule.description)))?
            .owned_by(user);
        match rule.table {
            SyncTable::Contacts => {
                let side =
                    CrmSide::new(Shared(self.crm.contacts.clone()), ContactProjection, query);
                self.sync(side, rule, user, mailbox, mode).await
            }
            SyncTable::Appointments => {
                let side = CrmSide::new(
                    Shared(self.crm.appointments.clone()),
                    AppointmentProjection,
                    query,
                );
                self.sync(side, rule, user, mailbox, mode).await
            }
            SyncTable::Tasks
                if self.router.api_for(user, mailbox)
                    == conaktiv_model::config::ServerApi::Graph =>
            {
                let projection = Uncarried {
                    inner: TaskProjection,
                    fields: &crate::mapping::graph::task::NOT_CARRIED,
                };
                let side = CrmSide::new(Shared(self.crm.tasks.clone()), projection, query);
                self.sync(side, rule, user, mailbox, mode).await
            }
            SyncTable::Tasks => {
                let side = CrmSide::new(Shared(self.crm.tasks.clone()), TaskProjection, query);
                self.sync(side, rule, user, mailbox, mode).await
            }
            SyncTable::Email => {
                let side = CrmSide::new(
                    Shared(self.crm.mails.clone()),
                    MailProjection::default(),
                    query,
                );
                self.sync(side, rule, user, mailbox, mode).await
            }
        }
    }

    async fn sync<R, P>(
        &self,
        mut crm: CrmSide<R, Shared<R>, P>,
        rule: &SyncRule,
        user: &str,
        mailbox: &str,
        mode: Mode<'_>,
    ) -> Result<Done, ServiceError>
    where
        R: CrmRecord,
        P: Projection<R>,
    {
        let server = self.router.server_for(user, mailbox);
        let graph = self
            .router
            .graph_for(user, mailbox)
            .map_err(into_job_error)?;
        let explain = |e: JobError| match server
            .and_then(|s| client::explain_certificate_error(s, e.message()))
        {
            Some(message) => JobError::new(e.kind(), message),
            None => e,
        };
        let folders = match mode {
            Mode::Run(folders) => Some(folders),
            Mode::Preview(_) => None,
        };
        let mut exchange = self
            .mailbox_side(rule, user, mailbox, graph.as_ref(), folders)
            .await?;
        let mut core_policy = engine_policy(rule);
        core_policy.force = self.mass_delete_accepted(rule);
        let engine = self.engine(core_policy.clone())?;
        let scope = self
            .sync_state_scope(rule, mailbox, graph.is_some())
            .await?;
        let spent = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut state = crate::state::Timed::new(
            self.states.open(&scope).await.map_err(|e| {
                let e = SyncError::Store(e);
                classify(&e)
            })?,
            Arc::clone(&spent),
        );
        let now = Timestamp::from(std::time::SystemTime::now());
        let prepared = engine
            .prepare(&mut crm, &mut exchange, &mut state, now)
            .await
            .map_err(|e| explain(classify(&e)))?;
        match mode {
            Mode::Preview(detail) => Ok(Done::Preview(Box::new(preview_of(
                &prepared.plan,
                detail,
                rule,
                &core_policy,
                user,
                mailbox,
            )))),
            Mode::Run(_) => {
                let report = engine
                    .apply(&prepared.plan, &mut crm, &mut exchange, &mut state)
                    .await
                    .map_err(|e| run_error(&e, &core_policy, rule))?;
                tracing::info!(
                    mailbox,
                    table = table_name(rule.table),
                    incomplete = report.incomplete,
                    "sync run done"
                );
                let mut run = job_report(&report, &[crm.unreadable(), exchange.unreadable()]);
                run.state_store_ms = spent.load(std::sync::atomic::Ordering::Relaxed) / 1_000_000;
                Ok(Done::Run(Box::new(run)))
            }
        }
    }

    /// The sync engine with `policy` and the service's batch size and reattach setting.
    fn engine(&self, policy: sync_core::Policy) -> Result<Engine, JobError> {
        Ok(Engine::new(policy)
            .map_err(|e| JobError::configuration(e.to_string()))?
            .with_batch_size(self.batch_size)
            .with_reattach(self.reattach))
    }

    /// The Exchange side of `rule` for `mailbox`: over Microsoft Graph when the mailbox's
    /// server record has a Graph client, else over EWS (with the run's folder ids, if any).
    async fn mailbox_side(
        &self,
        rule: &SyncRule,
        user: &str,
        mailbox: &str,
        graph: Option<&graph_client::Client>,
        folders: Option<&FolderCache>,
    ) -> Result<MailboxSide, JobError> {
        let rule_error = |e: crate::exchange::ExchangeError| {
            JobError::configuration(format!("rule {:?}: {e}", rule.description))
        };
        Ok(match graph {
            Some(g) => {
                let window = self
                    .router
                    .server_for(user, mailbox)
                    .map(conaktiv_model::config::EwsServer::calendar_window)
                    .unwrap_or_default();
                MailboxSide::Graph(Box::new(
                    GraphSide::for_rule(g.mailbox(mailbox), rule)
                        .map_err(rule_error)?
                        .with_window(window)
                        .with_now(chrono::Utc::now()),
                ))
            }
            None => {
                let client = self
                    .router
                    .client_for(user, mailbox)
                    .await
                    .map_err(into_job_error)?;
                let side = ExchangeSide::for_rule(&client, mailbox, rule).map_err(rule_error)?;
                MailboxSide::Ews(Box::new(match folders {
                    Some(cache) => side.with_folder_cache(cache.clone()),
                    None => side,
                }))
            }
        })
    }

    /// The state scope of a job (see [`crate::state::scope_name`]). A mailbox and table
    /// synced over EWS whose server record now uses Microsoft Graph must be migrated first:
    /// a fresh Graph state would pair nothing and create duplicates.
    async fn sync_state_scope(
        &self,
        rule: &SyncRule,
        mailbox: &str,
        over_graph: bool,
    ) -> Result<String, JobError> {
        let ews = crate::state::scope_name(mailbox, rule.table, false);
        if !over_graph {
            return Ok(ews);
        }
        let scope = crate::state::scope_name(mailbox, rule.table, true);
        let exists = |scope: String| async move {
            self.states.exists(&scope).await.map_err(|e| {
                let e = SyncError::Store(e);
                classify(&e)
            })
        };
        // The Graph scope first: once a mailbox synced over Graph, that settles it.
        if !exists(scope.clone()).await? && exists(ews).await? {
            return Err(JobError::configuration(format!(
                "the {} of {mailbox} were synced over EWS and its server record now uses \
                 Microsoft Graph: run `conaktiv-exchange migrate-to-graph` first (it moves \
                 the sync state without creating duplicates)",
                table_name(rule.table)
            )));
        }
        Ok(scope)
    }
}

/// A routing failure as the job's error: its own job error, or a configuration error.
fn into_job_error(e: ServiceError) -> JobError {
    match e {
        ServiceError::Job(j) => j,
        other => JobError::configuration(other.to_string()),
    }
}

/// A failed run as the job's error: a tripped mass-delete guard in words, anything else by
/// its kind.
fn run_error(e: &SyncError, core_policy: &sync_core::Policy, rule: &SyncRule) -> JobError {
    match e {
        SyncError::MassDelete(g) => JobError::new(
            JobErrorKind::MassDelete,
            guard_sentence(g, core_policy, rule),
        ),
        _ => classify(e),
    }
}

/// The preview of a prepared plan: its counts (with repairs), the guard's trip in words and,
/// when asked, one action per planned write.
fn preview_of(
    plan: &sync_core::Plan,
    detail: PreviewDetail,
    rule: &SyncRule,
    core_policy: &sync_core::Policy,
    user: &str,
    mailbox: &str,
) -> Preview {
    let repairs = plan
        .items
        .iter()
        .filter(|i| i.change == Change::Link && i.local.write.is_none() && i.remote.write.is_none())
        .count();
    let counts = with_repairs(plan.counts, repairs);
    let actions = if detail == PreviewDetail::WithActions {
        plan.items.iter().filter_map(action).collect()
    } else {
        Vec::new()
    };
    Preview {
        user: user.to_owned(),
        mailbox: mailbox.to_owned(),
        table: table_name(rule.table),
        rule: rule.description.clone(),
        exchange: counts.remote,
        conaktiv: counts.local,
        counts,
        guard: plan.guard().map(|g| guard_sentence(g, core_policy, rule)),
        actions,
    }
}

/// The job report of a run: the engine's report, the records either side could not read, and
/// the repaired pairs counted as linked.
fn job_report(report: &sync_core::Report, unreadable: &[&[String]]) -> JobReport {
    let mut run = JobReport::from(report);
    for problems in unreadable {
        run.add_unreadable(problems);
    }
    let repairs = report
        .items
        .iter()
        .filter(|i| i.change == Change::Link && i.local.is_none() && i.remote.is_none())
        .count();
    run.to_conaktiv.linked += repairs;
    run
}

/// The Exchange side of a job: over EWS or over Microsoft Graph, as the mailbox's server
/// record says.
#[derive(Debug)]
enum MailboxSide {
    Ews(Box<ExchangeSide>),
    Graph(Box<GraphSide>),
}

impl MailboxSide {
    fn unreadable(&self) -> &[String] {
        match self {
            MailboxSide::Ews(s) => s.unreadable(),
            MailboxSide::Graph(s) => s.unreadable(),
        }
    }
}

impl sync_core::Side for MailboxSide {
    async fn list(&mut self) -> Result<sync_core::Listing, sync_core::SideError> {
        match self {
            MailboxSide::Ews(s) => s.list().await,
            MailboxSide::Graph(s) => s.list().await,
        }
    }

    async fn changes_since(
        &mut self,
        token: &str,
    ) -> Result<Option<sync_core::ChangeSet>, sync_core::SideError> {
        match self {
            MailboxSide::Ews(s) => s.changes_since(token).await,
            MailboxSide::Graph(s) => s.changes_since(token).await,
        }
    }

    async fn fetch(
        &mut self,
        ids: &[sync_core::Id],
    ) -> Result<Vec<(sync_core::Id, sync_core::Record)>, sync_core::SideError> {
        match self {
            MailboxSide::Ews(s) => s.fetch(ids).await,
            MailboxSide::Graph(s) => s.fetch(ids).await,
        }
    }

    async fn write(
        &mut self,
        ops: Vec<sync_core::WriteOp>,
    ) -> Result<Vec<sync_core::WriteOutcome>, sync_core::SideError> {
        match self {
            MailboxSide::Ews(s) => s.write(ops).await,
            MailboxSide::Graph(s) => s.write(ops).await,
        }
    }
}

/// The counts with `repairs` pairs re-found by their key without a write (after a lost
/// state): each counts once as linked, in the ConAktiv column (the connector's own pairing
/// record is what was restored), never as changed; so the rows of a preview or run add up to
/// its totals.
fn with_repairs(mut counts: PerSide<Counts>, repairs: usize) -> PerSide<Counts> {
    counts.local.linked += repairs;
    counts
}

/// The mass-delete guard's trip in words, with the numbers and what the admin can do.
pub fn guard_sentence(
    g: &sync_core::GuardTrip,
    core: &sync_core::Policy,
    rule: &SyncRule,
) -> String {
    let why = match g.empty_side {
        Some(side) => format!(
            "{} lists no records at all while {} records are synchronised (an emptied or \
             unreachable folder?)",
            side_label(side),
            g.pairs
        ),
        None => format!(
            "the run would delete {} of {} synchronised records, more than {:.0} % and more \
             than {}",
            g.deletes,
            g.pairs,
            core.max_delete_share * 100.0,
            core.min_delete_count
        ),
    };
    format!(
        "{why}; if the deletes are intended, accept them once with \
         `sync --accept-mass-delete {:?}`",
        rule.description
    )
}

fn side_label(side: SideId) -> &'static str {
    match side {
        SideId::Local => "ConAktiv",
        SideId::Remote => "Exchange",
    }
}

/// `DIR/<mailbox with non-alphanumerics as _>.<table>.sqlite`.
fn state_file(dir: &Path, mailbox: &str, table: SyncTable) -> PathBuf {
    state_file_named(dir, mailbox, table, "sqlite")
}

/// The sync state of a mailbox and table synced over Microsoft Graph: a file of its own
/// beside the EWS state (`<mailbox>.<table>.graph.sqlite`), written by `migrate-to-graph`
/// or by the first Graph run of a mailbox that never synced over EWS.
pub fn graph_state_file(dir: &Path, mailbox: &str, table: SyncTable) -> PathBuf {
    state_file_named(dir, mailbox, table, "graph.sqlite")
}

fn state_file_named(dir: &Path, mailbox: &str, table: SyncTable, suffix: &str) -> PathBuf {
    dir.join(format!(
        "{}.{suffix}",
        crate::state::scope_name(mailbox, table, false)
    ))
}

fn mailbox_of(user: &DirectoryUser) -> Result<String, ServiceError> {
    user.mailbox
        .clone()
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| ServiceError::Configuration(format!("user {:?} has no mailbox", user.name)))
}

fn side_name(side: SideId) -> &'static str {
    match side {
        SideId::Local => "conaktiv",
        SideId::Remote => "exchange",
    }
}

fn action(item: &sync_core::PlanItem) -> Option<PreviewAction> {
    let (action, on) = match item.change {
        Change::Create { on } => ("create", Some(side_name(on))),
        Change::Update => ("update", None),
        Change::Link => ("link", None),
        Change::Delete { on } => ("delete", Some(side_name(on))),
        Change::Detach { gone } => ("detach", Some(side_name(gone))),
        Change::Forget => ("forget", None),
    };
    // A link (or delete) writes no content: the title comes from the records as they are.
    let records = [
        item.local.after.as_ref(),
        item.remote.after.as_ref(),
        item.local.before.as_ref().and_then(|c| c.record.as_ref()),
        item.remote.before.as_ref().and_then(|c| c.record.as_ref()),
        Some(&item.base),
    ];
    let title = records.into_iter().flatten().find_map(title_of);
    Some(PreviewAction {
        key: item.key.clone(),
        action,
        on,
        title,
    })
}

/// A record's title for the preview list: subject, display name, or given name and surname.
fn title_of(r: &sync_core::Record) -> Option<String> {
    let text = |f: &str| {
        r.get(f)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|t| !t.is_empty())
    };
    if let Some(t) = text("subject").or_else(|| text("display_name")) {
        return Some(t.to_owned());
    }
    let name: Vec<&str> = ["given_name", "surname"]
        .into_iter()
        .filter_map(text)
        .collect();
    (!name.is_empty()).then(|| name.join(" "))
}

/// sync-core's [`Policy`](sync_core::Policy) of a configured sync rule (ConAktiv = local,
/// Exchange = remote): the rule's switches per direction and master; the mass-delete
/// guard's thresholds stay at [`sync_core::Policy::default()`]'s.
pub fn engine_policy(rule: &SyncRule) -> sync_core::Policy {
    let switches = |d: conaktiv_model::config::DirectionSwitches| sync_core::Switches {
        transfer_new: d.transfer_new,
        transfer_changed: d.transfer_changed,
        delete_missing: d.delete_missing,
        overwrite_completely: d.overwrite_completely,
    };
    sync_core::Policy {
        local_to_remote: switches(rule.to_exchange),
        remote_to_local: switches(rule.to_conaktiv),
        master: match rule.master {
            conaktiv_model::config::Master::ConAktiv => sync_core::Master::Local,
            conaktiv_model::config::Master::Exchange => sync_core::Master::Remote,
        },
        ..sync_core::Policy::default()
    }
}

/// Classifies a failed run by the error's kind (never its text): refused credentials,
/// refused impersonation, a missing mailbox and a configuration error are permanent;
/// everything else is retried at a later run.
pub fn classify(e: &SyncError) -> JobError {
    use crate::scheduler::JobErrorKind;
    let kind = match e {
        SyncError::Side { source, .. } => JobErrorKind::from(source.kind()),
        SyncError::Store(s) if s.is_transient() => JobErrorKind::Transient,
        SyncError::Store(_) => JobErrorKind::Other,
        SyncError::MassDelete(_) => JobErrorKind::MassDelete,
        SyncError::InvalidPolicy(_) => JobErrorKind::Configuration,
        _ if e.is_transient() => JobErrorKind::Transient,
        _ => JobErrorKind::Other,
    };
    JobError::new(kind, e.to_string())
}

#[async_trait]
impl JobRunner for Connector {
    /// The scheduler holds the job's lease while it calls this.
    async fn run(&self, job: &Assignment) -> Result<JobReport, JobError> {
        self.run_job_unleased(job, &FolderCache::new()).await
    }

    /// A batch run's jobs share one [`FolderCache`]: each mailbox's folder paths are
    /// resolved once per run.
    fn begin_run(&self) -> RunScope {
        RunScope::new(FolderCache::new())
    }

    async fn run_in(&self, job: &Assignment, scope: &RunScope) -> Result<JobReport, JobError> {
        let folders = scope.get::<FolderCache>().cloned().unwrap_or_default();
        self.run_job_unleased(job, &folders).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sync_core::SideError;

    /// The job error of an EWS failure, through the Exchange side's error mapping.
    fn job_of(e: ews_client::Error) -> JobError {
        side(SideError::from(crate::exchange::ExchangeError::Ews(e)))
    }

    fn side_job(e: SideError) -> JobError {
        classify(&SyncError::Side {
            side: SideId::Remote,
            source: e,
        })
    }

    fn side(e: SideError) -> JobError {
        side_job(e)
    }

    #[test]
    fn failures_are_classified_by_kind_not_text() {
        use crate::scheduler::JobErrorKind as K;
        use ews_client::envelope::SoapFault;
        use ews_client::transport::TransportError;
        use ews_client::types::response::ResponseCode;
        use ews_client::xml::XmlError;
        use std::time::Duration;
        let cases: Vec<(ews_client::Error, K)> = vec![
            (
                SoapFault::for_code(ResponseCode::ErrorImpersonateUserDenied, "no").into(),
                K::ImpersonationDenied,
            ),
            (
                SoapFault::for_code(ResponseCode::ErrorNonExistentMailbox, "gone").into(),
                K::MailboxGone,
            ),
            (
                TransportError::Unauthorized {
                    scheme: "NTLM",
                    message: "refused".into(),
                }
                .into(),
                K::BadCredentials,
            ),
            // A 503 whose Retry-After is 401 seconds is throttling, not bad credentials.
            (
                TransportError::Throttled {
                    status: 503,
                    retry_after: Some(Duration::from_secs(401)),
                    attempts: 5,
                }
                .into(),
                K::Transient,
            ),
            (
                ews_client::Error::HttpStatus {
                    status: 502,
                    body: "401 unauthorized upstream".into(),
                    cause: None,
                },
                K::Transient,
            ),
            // A garbled or truncated answer is transient.
            (
                XmlError::UnexpectedEof {
                    path: "Envelope/Body".into(),
                }
                .into(),
                K::Transient,
            ),
            (
                XmlError::Syntax {
                    path: "Envelope".into(),
                    position: 3,
                    message: "ErrorAccessDenied 401 Unauthorized".into(),
                }
                .into(),
                K::Transient,
            ),
            (
                SoapFault::for_code(ResponseCode::ErrorServerBusy, "busy").into(),
                K::Transient,
            ),
            (
                TransportError::Tls {
                    host: "ex.test".into(),
                    message: "UnknownIssuer".into(),
                }
                .into(),
                K::Configuration,
            ),
            (
                TransportError::UnknownHost {
                    host: "no-such-host.invalid".into(),
                    message: "dns error: Name or service not known".into(),
                }
                .into(),
                K::Configuration,
            ),
            (
                SoapFault::for_code(ResponseCode::ErrorSchemaValidation, "schema").into(),
                K::Other,
            ),
        ];
        for (error, want) in cases {
            let text = error.to_string();
            let job = job_of(error);
            assert_eq!(job.kind(), want, "{text}");
            assert_eq!(job.is_permanent(), want.is_permanent(), "{text}");
        }
        // An HTTP 413 rejects the request before anything is written: transient for the job.
        let rejected = job_of(ews_client::Error::HttpStatus {
            status: 413,
            body: String::new(),
            cause: None,
        });
        assert_eq!(rejected.kind(), K::Transient);
        assert_eq!(
            classify(&SyncError::InvalidPolicy("bad share".into())).kind(),
            K::Configuration
        );
        // Text alone decides nothing.
        let text_only = side(SideError::transient("ErrorImpersonateUserDenied 401"));
        assert_eq!(text_only.kind(), K::Transient);
    }

    #[test]
    fn configured_switches_and_master_reach_the_engine() {
        let mut rule = SyncRule::new(
            "r",
            SyncTable::Contacts,
            conaktiv_model::config::Master::Exchange,
            vec![],
        );
        rule.to_exchange.delete_missing = true;
        rule.to_conaktiv.overwrite_completely = true;
        rule.to_conaktiv.transfer_new = false;
        let e = engine_policy(&rule);
        assert_eq!(e.master, sync_core::Master::Remote);
        assert!(e.local_to_remote.delete_missing && e.local_to_remote.transfer_new);
        assert!(e.remote_to_local.overwrite_completely && !e.remote_to_local.transfer_new);
    }

    #[test]
    fn titles_prefer_subject_then_names() {
        use sync_core::Record;
        assert_eq!(
            title_of(&Record::new().with("subject", "Termin")).as_deref(),
            Some("Termin")
        );
        assert_eq!(
            title_of(
                &Record::new()
                    .with("given_name", "Erika")
                    .with("surname", "Muster")
            )
            .as_deref(),
            Some("Erika Muster")
        );
        assert_eq!(title_of(&Record::new()), None);
    }

    #[test]
    fn state_files_are_per_mailbox_and_table() {
        let path = |m: &str, t| state_file(Path::new("/state"), m, t);
        assert_ne!(
            path("a@x.test", SyncTable::Contacts),
            path("a@x.test", SyncTable::Tasks)
        );
        assert_eq!(
            path("A@X.test", SyncTable::Tasks),
            PathBuf::from("/state/a_x_test.tasks.sqlite")
        );
    }
}
