//! `demo`, `preview`, `sync` and `batch`: the commands that talk to Exchange, through the
//! service layer's [`Connector`] over the embedded SQLite CRM and directory.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use conaktiv_exchange::batch_tasks::{self, AccountReceipt, TaskKind};
use conaktiv_exchange::clock::SystemClock;
use conaktiv_exchange::host::UserDirectory;
use conaktiv_exchange::rules::table_name;
use conaktiv_exchange::scheduler::{
    Cadence, ItemStatus, JobSource, Outcome, RuleJobs, Scheduler, SchedulerOptions, SchedulerStore,
    SyncReport,
};
use conaktiv_exchange::service::{self, Connector, Preview, ServiceError};
use conaktiv_model::Configuration;
use conaktiv_model::config::BatchTask;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::backend::Stores;
use super::{Exit, Output, progress};

/// Where the embedded CRM, directory and sync state live.
#[derive(clap::Args, Debug, Clone)]
pub struct HostArgs {
    /// The embedded database (CRM records and user directory).
    #[arg(long, default_value = "conaktiv.sqlite")]
    pub db: PathBuf,
    /// The folder for the sync state [default: the database's name + `.state`].
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// The EWS server (by name) [default: the configuration's first].
    #[arg(long)]
    pub server: Option<String>,
}

struct Host {
    connector: Connector,
    directory: Arc<dyn UserDirectory>,
    /// The leases and item states the connector's runs take too.
    scheduler: SchedulerStore,
}

fn service_error(e: &ServiceError) -> Output {
    let exit = match e {
        ServiceError::Configuration(_) => Exit::Config,
        _ => Exit::Failure,
    };
    let kind = if exit == Exit::Config {
        "configuration"
    } else {
        "service"
    };
    Output::error(exit, kind, e.to_string())
}

async fn host(config: &Configuration, args: &HostArgs) -> Result<Host, Output> {
    let stores = Stores::open(config, args).await?;
    let directory = stores.directory(config).await?;
    let scheduler = stores.scheduler_store().await?;
    let connector = Connector::from_config(
        config.clone(),
        args.server.as_deref(),
        stores.crm(),
        Arc::clone(&directory),
        stores.state_dir(),
    )
    .map_err(|e| service_error(&e))?
    .with_state_stores(stores.states())
    .with_lease_store(scheduler.clone());
    Ok(Host {
        connector,
        directory,
        scheduler,
    })
}

/// `demo`: the service's self-contained demo (ews-mock in-process, SQLite CRM in a temporary
/// folder).
pub async fn demo(
    config: &Configuration,
    keep: Option<(&std::path::Path, u16)>,
    json_mode: bool,
) -> Output {
    let bar = progress(None, json_mode, "demo: mock Exchange, preview, two runs");
    let result = service::demo(config).await;
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            let kept = match keep {
                Some((dir, port)) => match service::demo::keep(config, dir, port).await {
                    Ok(next) => Some((dir, next)),
                    Err(e) => return service_error(&e),
                },
                None => None,
            };
            let exit = if r.ok() {
                Exit::Success
            } else if r.first_run.succeeded() > 0 {
                Exit::Partial
            } else {
                Exit::Failure
            };
            let mut json = serde_json::to_value(&r).unwrap_or_default();
            let mut text = r.text();
            if let Some((dir, next)) = kept {
                json["kept"] = json!({"dir": dir.display().to_string(), "next": next});
                let _ = write!(
                    text,
                    "\n\nA working setup is in {}; try next:\n  {}",
                    dir.display(),
                    next.join("\n  ")
                );
            }
            Output::new(exit, json, text)
        }
        Err(e) => service_error(&e),
    }
}

fn preview_text(p: &Preview) -> String {
    let mut out = format!(
        "rule {:?} for {} <{}> ({})\n  Exchange: {:#}\n  ConAktiv: {:#}",
        p.rule, p.user, p.mailbox, p.table, p.exchange, p.conaktiv
    );
    if let Some(guard) = &p.guard {
        let _ = write!(
            out,
            "\n  the mass-delete guard would stop this run: {guard}"
        );
    }
    for a in &p.actions {
        let _ = write!(
            out,
            "\n  {:<7} {:<9} {}",
            a.action,
            a.on.unwrap_or(""),
            a.title.as_deref().unwrap_or(&a.key)
        );
    }
    out
}

/// `preview`: the plan of a rule for a user (one preview), or of every job in scope of a
/// rule, a user or the whole configuration (the rule screen's view); nothing is written.
pub async fn preview(
    config: &Configuration,
    args: &HostArgs,
    rule: Option<&str>,
    user: Option<&str>,
    actions: bool,
    json_mode: bool,
) -> Output {
    let host = match host(config, args).await {
        Ok(h) => h,
        Err(out) => return out,
    };
    let detail = service::PreviewDetail::with_actions_if(actions);
    if let (Some(rule), Some(user)) = (rule, user) {
        let bar = progress(None, json_mode, &format!("preview of {rule:?} for {user}"));
        let result = host.connector.preview(rule, user, detail).await;
        bar.finish_and_clear();
        return match result {
            Ok(p) => Output::new(
                Exit::Success,
                serde_json::to_value(&p).unwrap_or_default(),
                preview_text(&p),
            ),
            Err(e) => service_error(&e),
        };
    }
    let bar = progress(None, json_mode, "preview");
    let result = host.connector.preview_all(rule, user, detail).await;
    bar.finish_and_clear();
    let all = match result {
        Ok(all) => all,
        Err(e) => return service_error(&e),
    };
    let mut text = String::new();
    let mut previews = Vec::new();
    let mut failed = Vec::new();
    for (job, result) in &all {
        match result {
            Ok(p) => {
                let _ = writeln!(text, "{}", preview_text(p));
                previews.push(serde_json::to_value(p).unwrap_or_default());
            }
            Err(e) => {
                let _ = writeln!(
                    text,
                    "rule {:?} for {} <{}> ({}): FAILED: {e}",
                    job.rule,
                    job.user,
                    job.mailbox,
                    table_name(job.table)
                );
                failed.push(json!({
                    "rule": job.rule, "user": job.user, "mailbox": job.mailbox,
                    "table": table_name(job.table), "error": e.to_string(),
                }));
            }
        }
    }
    let _ = write!(
        text,
        "{} preview(s), {} failed",
        previews.len(),
        failed.len()
    );
    let exit = match (previews.len(), failed.len()) {
        (_, 0) => Exit::Success,
        (0, _) => Exit::Failure,
        _ => Exit::Partial,
    };
    Output::new(exit, json!({"previews": previews, "failed": failed}), text)
}

/// The exit code of a run: all ok 0; nothing ok 1 (3 if only rule conflicts); some jobs
/// failed, or some items failed or have an unknown outcome: 2; nothing failed but some jobs
/// were busy (another run holds them): 4.
fn run_exit(s: &SyncReport) -> Exit {
    let (succeeded, failed, problems) = (s.succeeded(), s.failed(), s.problems.len());
    match (succeeded, failed + problems) {
        (0, 0) if s.busy() > 0 => Exit::Busy,
        (_, 0) if s.incomplete() > 0 => Exit::Partial,
        (_, 0) if s.busy() > 0 => Exit::Busy,
        (_, 0) => Exit::Success,
        (0, _) if failed == 0 => Exit::Config,
        (0, _) => Exit::Failure,
        _ => Exit::Partial,
    }
}

/// How `sync` runs.
#[derive(Clone, Debug, Default)]
pub struct SyncOptions {
    /// How long to wait for a mailbox and table that another run holds before reporting it
    /// busy.
    pub wait: std::time::Duration,
    /// Write detached records back to the side that lost them.
    pub reattach: bool,
    /// Rules whose mass-delete guard is accepted for this run.
    pub accept_mass_delete: Vec<String>,
}

/// `sync`: run now, for a rule and/or a user, or everyone. A mailbox and table that another
/// run (a second `sync`, the batch) is working on is waited for up to `options.wait`, then
/// reported busy.
pub async fn sync(
    config: &Configuration,
    args: &HostArgs,
    rule: Option<&str>,
    user: Option<&str>,
    options: SyncOptions,
    json_mode: bool,
) -> Output {
    let host = match host(config, args).await {
        Ok(h) => h,
        Err(out) => return out,
    };
    let mut connector =
        host.connector
            .with_lease_wait(options.wait)
            .with_reattach(if options.reattach {
                sync_core::Reattach::On
            } else {
                sync_core::Reattach::Off
            });
    for rule in options.accept_mass_delete {
        connector = connector.with_accepted_mass_delete(rule);
    }
    let bar = progress(None, json_mode, "synchronising");
    let plain = !json_mode && !std::io::stderr().is_terminal();
    let on_progress = |p: &service::Progress<'_>| {
        bar.set_length(p.total as u64);
        bar.set_position(p.done as u64);
        bar.set_message(format!("{} write(s)", p.writes));
        if plain {
            let job = p.finished;
            let status = match &job.status {
                ItemStatus::Succeeded { report: r } if r.is_complete() => {
                    format!("ok, {} write(s)", r.writes())
                }
                ItemStatus::Succeeded { report: r } => format!(
                    "done with problems, {} write(s), {} failed",
                    r.writes(),
                    r.failed + r.unknown + r.unreadable
                ),
                ItemStatus::Busy { .. } => "busy".to_owned(),
                other => other.to_string(),
            };
            eprintln!(
                "[{}/{}] {} {}: {status}",
                p.done, p.total, job.mailbox, job.table
            );
        }
    };
    let result = connector.run_observed(rule, user, &on_progress).await;
    bar.finish_and_clear();
    match result {
        Ok(s) => Output::new(
            run_exit(&s),
            serde_json::to_value(&s).unwrap_or_default(),
            s.to_string(),
        ),
        Err(e) => service_error(&e),
    }
}

/// A batch run's text: when it started, then the run's report.
fn batch_text(r: &SyncReport) -> String {
    format!("batch run {}\n{r}", r.started.format("%Y-%m-%d %H:%M:%S"))
}

fn batch_exit(r: &SyncReport) -> Exit {
    match r.outcome() {
        Outcome::Success => Exit::Success,
        Outcome::PartialFailure => Exit::Partial,
        Outcome::Failure => Exit::Failure,
    }
}

/// Which batch tasks `batch` starts and where it runs.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BatchArgs {
    /// Run every active task that runs on this machine once and exit (exit code from the
    /// runs' outcome).
    #[arg(long)]
    pub once: bool,
    /// Start this task (by task name or "group / task") even if it does not start
    /// automatically. Repeatable.
    #[arg(long = "task", value_name = "TASK")]
    pub tasks: Vec<String>,
    /// This machine's name, compared with the tasks' `server_name` when they run on a server
    /// [default: CONAKTIV_SERVER_NAME, else the host name].
    #[arg(long)]
    pub server_name: Option<String>,
    /// How many mailbox/table jobs this process runs at once [default: 4]. Exchange
    /// throttles per service account (27 concurrent requests by default), shared by every
    /// worker.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub concurrency: Option<u64>,
    /// Advanced: how long a job's lease lasts without renewal, in seconds [default: 600]. A
    /// worker that dies leaves its jobs to the others after this time (sooner on the same
    /// machine).
    #[arg(long, hide = true, env = "CONAKTIV_BATCH_LEASE_TTL_SECS", value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub lease_ttl_secs: Option<u64>,
    /// Advanced: how often the loop looks for jobs no worker ran in the current interval, in
    /// seconds [default: the shortest of the interval, half the lease time and 30 s].
    #[arg(long, hide = true, env = "CONAKTIV_BATCH_POLL_SECS", value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub poll_secs: Option<u64>,
    /// Advanced (tests): every task's interval in seconds instead of its `interval_minutes`.
    #[arg(long, hide = true, env = "CONAKTIV_BATCH_INTERVAL_SECS", value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub interval_secs: Option<u64>,
}

impl BatchArgs {
    /// A task's interval: `--interval-secs`, else the task's own.
    fn interval(&self, task: &BatchTask) -> std::time::Duration {
        self.interval_secs
            .map(std::time::Duration::from_secs)
            .unwrap_or_else(|| task.interval_minutes.as_duration())
    }

    /// The scheduler's options for a sync task, with this command's overrides. `None` if
    /// the task is not an active sync task.
    fn scheduler_options(
        &self,
        task: &BatchTask,
        config: &Configuration,
        cadence: Cadence,
    ) -> Option<SchedulerOptions> {
        let mut options = SchedulerOptions::for_batch_task(task, config)?;
        options.cadence = cadence;
        options.interval = self.interval(task);
        if let Some(secs) = self.lease_ttl_secs {
            options.lease_ttl = std::time::Duration::from_secs(secs);
        }
        options.poll = self.poll_secs.map(std::time::Duration::from_secs);
        if let Some(n) = self.concurrency {
            options.concurrency = usize::try_from(n).unwrap_or(usize::MAX);
        }
        Some(options)
    }
}

/// The scheduler's store (leases and item states) for `host`: with `[state] url =
/// "postgres://…"` the database's (workers on several machines share it), else the SQLite
/// file `scheduler.sqlite` in the state folder (the processes of one machine share it). The
/// connector's own runs (`sync`) take their leases in the same store.
async fn open_scheduler_store(host: &Host) -> Result<SchedulerStore, Output> {
    Ok(host.scheduler.clone())
}

/// What a loop run prints: every run's whole report with [`Cadence::EveryRun`]; with
/// [`Cadence::OncePerInterval`] the whole report of the first poll of each interval slot
/// (`printed_slot` remembers it), and of later polls only the jobs that ran, if any (every
/// poll would repeat the skipped and busy ones).
fn loop_report(
    report: &SyncReport,
    options: &SchedulerOptions,
    printed_slot: &mut Option<i64>,
) -> Option<SyncReport> {
    let slot = options.slot(report.started);
    if options.cadence == Cadence::EveryRun || *printed_slot != Some(slot) {
        *printed_slot = Some(slot);
        return Some(report.clone());
    }
    let items: Vec<_> = report
        .items
        .iter()
        .filter(|i| {
            matches!(
                i.status,
                ItemStatus::Succeeded { .. } | ItemStatus::Failed { .. }
            )
        })
        .cloned()
        .collect();
    (!items.is_empty()).then(|| SyncReport {
        items,
        ..report.clone()
    })
}

/// A task `batch` runs, or why not.
struct Planned<'a> {
    task: &'a BatchTask,
    kind: Option<TaskKind>,
    skipped: Option<String>,
}

fn plan<'a>(config: &'a Configuration, args: &BatchArgs) -> Vec<Planned<'a>> {
    let here = args
        .server_name
        .clone()
        .unwrap_or_else(batch_tasks::this_server_name);
    config
        .batch_tasks
        .iter()
        .map(|task| {
            let kind = batch_tasks::task_kind(task);
            let named = args.tasks.iter().any(|n| {
                n.trim().eq_ignore_ascii_case(task.task.trim())
                    || n.trim().eq_ignore_ascii_case(&task.label())
            });
            let skipped = if !task.active {
                Some("inactive".to_owned())
            } else if kind.is_none() {
                Some("not a task of the connector".to_owned())
            } else if let Err(why) = batch_tasks::runs_here(task, &here) {
                Some(why)
            } else if !args.once && !task.start_automatically && !named {
                Some("does not start automatically (start it with --task)".to_owned())
            } else if !args.tasks.is_empty() && !named {
                Some("not named by --task".to_owned())
            } else {
                None
            };
            Planned {
                task,
                kind,
                skipped,
            }
        })
        .collect()
}

fn task_json(p: &Planned<'_>) -> serde_json::Value {
    json!({
        "task": p.task.label(),
        "kind": p.kind,
        "interval_minutes": p.task.interval_minutes.as_duration().as_secs() / 60,
        "run_as": p.task.run_as.as_ref().map(|u| u.as_str().to_owned()),
        "status": if p.skipped.is_some() { "skipped" } else { "started" },
        "reason": p.skipped,
    })
}

fn mail_text(task: &str, receipts: &[AccountReceipt]) -> String {
    let mut out = format!("mail receiving {task:?}:");
    if receipts.is_empty() {
        out.push_str(" no account receives automatically");
    }
    for r in receipts {
        match &r.error {
            None => {
                let _ = write!(
                    out,
                    "\n  {:<28} for {}: {} new, {} already filed",
                    r.account, r.user, r.new, r.duplicates
                );
            }
            Some(e) => {
                let _ = write!(out, "\n  {:<28} for {}: FAILED: {e}", r.account, r.user);
            }
        }
    }
    out
}

/// The receiving job of a batch task: every automatically receiving account into the
/// embedded CRM, linked by the embedded linker.
struct MailJob {
    stores: Stores,
    checkpoints: Arc<dyn mail_transport::CheckpointStore>,
}

impl MailJob {
    async fn open(config: &Configuration, args: &HostArgs) -> Result<Self, Output> {
        let stores = Stores::open(config, args).await?;
        let checkpoints = stores.checkpoints().await?;
        Ok(Self {
            stores,
            checkpoints,
        })
    }

    async fn run(&self, config: &Configuration) -> Vec<AccountReceipt> {
        let checkpoints = Arc::clone(&self.checkpoints);
        match &self.stores {
            Stores::Sqlite { db, .. } => {
                batch_tasks::receive_mail(config, db.crm(), db.linker(), checkpoints).await
            }
            #[cfg(feature = "postgres")]
            Stores::Postgres { db, .. } => {
                batch_tasks::receive_mail(config, db.crm(), db.linker(), checkpoints).await
            }
        }
    }
}

/// `batch`: every active batch task of the configuration that runs on this machine, each on
/// its own interval with its own job: sync tasks run the scheduler over the rules' jobs,
/// mail tasks receive the automatically receiving accounts into the CRM. With `--once` every
/// such task runs once.
pub async fn batch(
    config: &Configuration,
    args: &HostArgs,
    batch: &BatchArgs,
    json_mode: bool,
) -> Output {
    let planned = plan(config, batch);
    let tasks_json: Vec<serde_json::Value> = planned.iter().map(task_json).collect();
    let started: Vec<&Planned<'_>> = planned.iter().filter(|p| p.skipped.is_none()).collect();
    if started.is_empty() {
        let mut message = "no batch task runs here:".to_owned();
        if planned.is_empty() {
            message.push_str(" the configuration has none");
        }
        for p in &planned {
            let _ = write!(
                message,
                " {:?} {};",
                p.task.label(),
                p.skipped.as_deref().unwrap_or("")
            );
        }
        let mut out = Output::error(Exit::Config, "configuration", message);
        out.json["tasks"] = json!(tasks_json);
        return out;
    }
    if batch.once {
        return batch_once(config, args, batch, &started, tasks_json, json_mode).await;
    }
    let cancel = CancellationToken::new();
    let signal = cancel.clone();
    tokio::spawn(async move {
        wait_for_shutdown().await;
        tracing::info!("shutdown requested; finishing the running items");
        signal.cancel();
    });
    let mut loops = tokio::task::JoinSet::new();
    for p in &started {
        let interval = batch.interval(p.task);
        let label = p.task.label();
        if !json_mode {
            let every = if interval.as_secs().is_multiple_of(60) {
                format!("{} minute(s)", interval.as_secs() / 60)
            } else {
                format!("{} second(s)", interval.as_secs())
            };
            println!(
                "task {label:?} ({}) every {every}",
                p.kind.map(|k| k.to_string()).unwrap_or_default(),
            );
        }
        match p.kind {
            Some(TaskKind::Sync) => {
                // Several workers may share the jobs: each runs once per interval, by
                // whichever worker gets it first.
                let Some(options) =
                    batch.scheduler_options(p.task, config, Cadence::OncePerInterval)
                else {
                    continue;
                };
                let host = match host(config, args).await {
                    Ok(h) => h,
                    Err(out) => return out,
                };
                let store = match open_scheduler_store(&host).await {
                    Ok(s) => s,
                    Err(out) => return out,
                };
                let source = RuleJobs::new(config.rules.clone(), Arc::clone(&host.directory));
                let scheduler = Scheduler::new(host.connector, SystemClock, store, options);
                let cancel = cancel.clone();
                loops.spawn(async move {
                    let (mut runs, mut failed) = (0usize, 0usize);
                    let mut printed_slot = None;
                    let options = scheduler.options().clone();
                    scheduler
                        .run_loop(&source, &cancel, |report| {
                            let Some(report) = loop_report(report, &options, &mut printed_slot)
                            else {
                                return;
                            };
                            runs += 1;
                            failed += report.not_done();
                            if json_mode {
                                println!("{}", serde_json::to_string(&report).unwrap_or_default());
                            } else {
                                println!("{}", batch_text(&report));
                            }
                        })
                        .await;
                    (runs, failed)
                });
            }
            Some(TaskKind::ReceiveMail) => {
                let job = match MailJob::open(config, args).await {
                    Ok(j) => j,
                    Err(out) => return out,
                };
                let config = config.clone();
                let cancel = cancel.clone();
                loops.spawn(async move {
                    let (mut runs, mut failed) = (0usize, 0usize);
                    loop {
                        if cancel.is_cancelled() {
                            break;
                        }
                        let receipts = job.run(&config).await;
                        runs += 1;
                        failed += receipts.iter().filter(|r| r.error.is_some()).count();
                        if json_mode {
                            println!("{}", json!({"task": label, "mail": receipts}));
                        } else {
                            println!("{}", mail_text(&label, &receipts));
                        }
                        tokio::select! {
                            () = cancel.cancelled() => break,
                            () = tokio::time::sleep(interval) => {}
                        }
                    }
                    (runs, failed)
                });
            }
            _ => {}
        }
    }
    // The exit status sums the whole service life: a failed item or mail account in any
    // run, or a task loop that broke down, makes it a failure.
    let (mut runs, mut failed, mut broken) = (0usize, 0usize, 0usize);
    while let Some(r) = loops.join_next().await {
        match r {
            Ok((n, f)) => {
                runs += n;
                failed += f;
            }
            Err(e) => {
                tracing::error!(error = %e, "a batch task loop broke down");
                broken += 1;
            }
        }
    }
    let ok = failed == 0 && broken == 0;
    let mut text = format!("batch stopped after {runs} run(s)");
    if failed > 0 {
        let _ = write!(
            text,
            "; {failed} failure(s) along the way (see the runs above)"
        );
    }
    if broken > 0 {
        let _ = write!(text, "; {broken} task loop(s) broke down");
    }
    Output::new(
        if ok { Exit::Success } else { Exit::Failure },
        json!({"ok": ok, "runs": runs, "failures": failed, "broken_loops": broken, "stopped": true}),
        text,
    )
}

async fn batch_once(
    config: &Configuration,
    args: &HostArgs,
    batch: &BatchArgs,
    started: &[&Planned<'_>],
    tasks_json: Vec<serde_json::Value>,
    json_mode: bool,
) -> Output {
    let cancel = CancellationToken::new();
    let mut report: Option<SyncReport> = None;
    let mut text = String::new();
    let mut mail = Vec::new();
    let mut mail_failed = 0usize;
    for p in started {
        match p.kind {
            Some(TaskKind::Sync) => {
                let Some(options) = batch.scheduler_options(p.task, config, Cadence::EveryRun)
                else {
                    continue;
                };
                let host = match host(config, args).await {
                    Ok(h) => h,
                    Err(out) => return out,
                };
                let store = match open_scheduler_store(&host).await {
                    Ok(s) => s,
                    Err(out) => return out,
                };
                let source = RuleJobs::new(config.rules.clone(), Arc::clone(&host.directory));
                let scheduler = Scheduler::new(host.connector, SystemClock, store, options);
                let jobs = match source.jobs().await {
                    Ok(j) => j,
                    Err(e) => return Output::error(Exit::Failure, "directory", e.to_string()),
                };
                let bar = progress(
                    None,
                    json_mode,
                    &format!("batch run of {} job(s)", jobs.len()),
                );
                let r = scheduler.run_once(&jobs, &cancel).await;
                bar.finish_and_clear();
                let _ = writeln!(text, "task {:?}: {}", p.task.label(), batch_text(&r));
                match &mut report {
                    None => report = Some(r),
                    Some(all) => {
                        all.items.extend(r.items);
                        all.finished = r.finished;
                    }
                }
            }
            Some(TaskKind::ReceiveMail) => {
                let job = match MailJob::open(config, args).await {
                    Ok(j) => j,
                    Err(out) => return out,
                };
                let receipts = job.run(config).await;
                mail_failed += receipts.iter().filter(|r| r.error.is_some()).count();
                let _ = writeln!(text, "{}", mail_text(&p.task.label(), &receipts));
                mail.push(json!({"task": p.task.label(), "accounts": receipts}));
            }
            _ => {}
        }
    }
    let mail_ok = mail
        .iter()
        .flat_map(|m| m["accounts"].as_array().cloned().unwrap_or_default())
        .count()
        .saturating_sub(mail_failed);
    let exit = match (&report, mail_failed) {
        (Some(r), 0) => batch_exit(r),
        (None, 0) => Exit::Success,
        (Some(r), _) if r.succeeded() > 0 || mail_ok > 0 => Exit::Partial,
        (None, _) if mail_ok > 0 => Exit::Partial,
        _ => Exit::Failure,
    };
    let mut json = match &report {
        Some(r) => serde_json::to_value(r).unwrap_or_default(),
        None => json!({"items": []}),
    };
    json["tasks"] = json!(tasks_json);
    json["mail"] = json!(mail);
    Output::new(exit, json, text.trim_end().to_owned())
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
