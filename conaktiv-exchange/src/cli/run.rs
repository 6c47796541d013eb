//! `demo`, `preview`, `sync` and `batch`: the commands that talk to Exchange, through the
//! service layer's [`Connector`] over the embedded SQLite CRM and directory.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use conaktiv_exchange::clock::SystemClock;
use conaktiv_exchange::config_directory::ConfigDirectory;
use conaktiv_exchange::host::UserDirectory;
use conaktiv_exchange::rules::table_name;
use conaktiv_exchange::scheduler::{
    BatchReport, ItemStatus, JobSource, Outcome, RuleJobs, Scheduler, SchedulerOptions,
    SchedulerStore,
};
use conaktiv_exchange::service::{self, Connector, CrmStores, Preview, RunSummary, ServiceError};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::Configuration;
use serde_json::json;
use tokio_util::sync::CancellationToken;

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
    state_dir: PathBuf,
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

/// The embedded database's directory if it has users, else the users of the configuration's
/// mail accounts.
async fn directory(
    db: &SqliteDb,
    config: &Configuration,
) -> Result<Arc<dyn UserDirectory>, Output> {
    let sqlite = db.directory();
    let users = sqlite
        .users()
        .await
        .map_err(|e| Output::error(Exit::Failure, "database", e.to_string()))?;
    Ok(if users.is_empty() {
        Arc::new(ConfigDirectory::new(config))
    } else {
        Arc::new(sqlite)
    })
}

async fn host(config: &Configuration, args: &HostArgs) -> Result<Host, Output> {
    let db = SqliteDb::open(&args.db).map_err(|e| {
        Output::error(
            Exit::Failure,
            "database",
            format!("{}: {e}", args.db.display()),
        )
    })?;
    let directory = directory(&db, config).await?;
    let state_dir = args.state_dir.clone().unwrap_or_else(|| {
        let mut name = args.db.as_os_str().to_owned();
        name.push(".state");
        PathBuf::from(name)
    });
    conaktiv_exchange::sqlite::create_private_dir(&state_dir).map_err(|e| {
        Output::error(
            Exit::Failure,
            "state",
            format!("{}: {e}", state_dir.display()),
        )
    })?;
    let connector = Connector::from_config(
        config.clone(),
        args.server.as_deref(),
        CrmStores::all(db.crm()),
        Arc::clone(&directory),
        &state_dir,
    )
    .map_err(|e| service_error(&e))?;
    Ok(Host {
        connector,
        directory,
        state_dir,
    })
}

/// `demo`: the service's self-contained demo (ews-mock in-process, SQLite CRM in a temporary
/// folder).
pub async fn demo(config: &Configuration, json_mode: bool) -> Output {
    let bar = progress(None, json_mode, "demo: mock Exchange, preview, two runs");
    let result = service::demo(config).await;
    bar.finish_and_clear();
    match result {
        Ok(r) => {
            let exit = if r.ok() {
                Exit::Success
            } else if r.first_run.succeeded() > 0 {
                Exit::Partial
            } else {
                Exit::Failure
            };
            let json = serde_json::to_value(&r).unwrap_or_default();
            Output::new(exit, json, r.text())
        }
        Err(e) => service_error(&e),
    }
}

fn preview_text(p: &Preview) -> String {
    let mut out = format!(
        "rule {:?} for {} <{}> ({})\n  Exchange: {}\n  ConAktiv: {}",
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
    if let (Some(rule), Some(user)) = (rule, user) {
        let bar = progress(None, json_mode, &format!("preview of {rule:?} for {user}"));
        let result = host.connector.preview(rule, user, actions).await;
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
    let result = host.connector.preview_all(rule, user, actions).await;
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

/// The items' problems of a job report: failed and unknown writes, detached pairs.
fn report_details(out: &mut String, r: &conaktiv_exchange::scheduler::RunReport) {
    for e in &r.item_errors {
        let _ = writeln!(out, "    {e}");
    }
    for d in &r.detached_items {
        let _ = writeln!(out, "    detached {}: {}", d.key, d.reason);
    }
}

fn summary_text(s: &RunSummary) -> String {
    let mut out = String::new();
    for item in &s.items {
        let table = table_name(item.job.table);
        match &item.result {
            Ok(r) => {
                let rr = &r.report;
                let mut problems = String::new();
                for (n, what) in [
                    (rr.failed, "failed"),
                    (rr.unknown, "unknown outcome"),
                    (rr.unreadable, "unreadable"),
                    (rr.detached, "detached"),
                    (rr.reattached, "re-attached"),
                    (rr.conflicts, "left for the next run"),
                ] {
                    if n > 0 {
                        let _ = write!(problems, ", {n} {what}");
                    }
                }
                let _ = writeln!(
                    out,
                    "{:<28} {:<12} to Exchange {} (new {}, changed {}, deleted {}), to ConAktiv {} (new {}, changed {}, deleted {}){problems}",
                    item.job.mailbox,
                    table,
                    rr.to_exchange.total(),
                    rr.to_exchange.created,
                    rr.to_exchange.updated,
                    rr.to_exchange.deleted,
                    rr.to_conaktiv.total(),
                    rr.to_conaktiv.created,
                    rr.to_conaktiv.updated,
                    rr.to_conaktiv.deleted,
                );
                report_details(&mut out, rr);
            }
            Err(e) if e.is_busy() => {
                let _ = writeln!(
                    out,
                    "{:<28} {:<12} BUSY: {}",
                    item.job.mailbox,
                    table,
                    e.message()
                );
            }
            Err(e) => {
                let _ = writeln!(out, "{:<28} {:<12} FAILED: {e}", item.job.mailbox, table);
            }
        }
    }
    for p in &s.problems {
        let _ = writeln!(out, "left out: {p}");
    }
    let _ = write!(
        out,
        "{} job(s) ok, {} with failed items, {} failed, {} busy, {} write(s)",
        s.succeeded() - s.incomplete(),
        s.incomplete(),
        s.failed(),
        s.busy(),
        s.total_writes()
    );
    out
}

/// The exit code of a run: all ok 0; nothing ok 1 (3 if only rule conflicts); some jobs
/// failed, or some items failed or have an unknown outcome: 2; nothing failed but some jobs
/// were busy (another run holds them): 4.
fn run_exit(s: &RunSummary) -> Exit {
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
    let mut connector = host
        .connector
        .with_lease_wait(options.wait)
        .with_reattach(options.reattach);
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
            let job = &p.finished.job;
            let status = match &p.finished.result {
                Ok(r) if r.complete => format!("ok, {} write(s)", r.counts.total()),
                Ok(r) => format!(
                    "done with problems, {} write(s), {} failed",
                    r.counts.total(),
                    r.report.failed + r.report.unknown + r.report.unreadable
                ),
                Err(e) if e.is_busy() => "busy".to_owned(),
                Err(e) => format!("FAILED: {e}"),
            };
            eprintln!(
                "[{}/{}] {} {}: {status}",
                p.done,
                p.total,
                job.mailbox,
                table_name(job.table)
            );
        }
    };
    let result = connector.run_observed(rule, user, &on_progress).await;
    bar.finish_and_clear();
    match result {
        Ok(s) => Output::new(
            run_exit(&s),
            serde_json::to_value(&s).unwrap_or_default(),
            summary_text(&s),
        ),
        Err(e) => service_error(&e),
    }
}

fn batch_text(r: &BatchReport) -> String {
    let mut out = format!(
        "batch run {}: {} ok, {} failed, {} skipped",
        r.started.format("%Y-%m-%d %H:%M:%S"),
        r.succeeded(),
        r.failed(),
        r.skipped()
    );
    for i in &r.items {
        let status = match &i.status {
            ItemStatus::Succeeded { report } => format!(
                "ok: to Exchange {}, to ConAktiv {}{}{}{}",
                report.to_exchange.total(),
                report.to_conaktiv.total(),
                if report.failed > 0 {
                    format!(", {} failed", report.failed)
                } else {
                    String::new()
                },
                if report.unknown > 0 {
                    format!(", {} unknown outcome", report.unknown)
                } else {
                    String::new()
                },
                if report.detached > 0 {
                    format!(", {} detached", report.detached)
                } else {
                    String::new()
                },
            ),
            ItemStatus::Failed {
                error, permanent, ..
            } => format!(
                "FAILED{}: {error}",
                if *permanent { " (permanent)" } else { "" }
            ),
            ItemStatus::Skipped { reason } => format!("skipped: {reason}"),
        };
        let _ = write!(out, "\n  {:<28} {:<12} {status}", i.mailbox, i.table);
    }
    out
}

fn batch_exit(r: &BatchReport) -> Exit {
    match r.outcome() {
        Outcome::Success => Exit::Success,
        Outcome::PartialFailure => Exit::Partial,
        Outcome::Failure => Exit::Failure,
    }
}

/// `batch`: the scheduler over the configuration's active "Exchange Abgleich" batch task.
pub async fn batch(config: &Configuration, args: &HostArgs, once: bool, json_mode: bool) -> Output {
    let Some(options) = config
        .batch_tasks
        .iter()
        .find_map(|t| SchedulerOptions::for_batch_task(t, config))
    else {
        return Output::error(
            Exit::Config,
            "configuration",
            "no active batch task of the group \"Exchange Abgleich\" in the configuration",
        );
    };
    let host = match host(config, args).await {
        Ok(h) => h,
        Err(out) => return out,
    };
    let store = match SchedulerStore::open(host.state_dir.join("scheduler.sqlite")) {
        Ok(s) => s,
        Err(e) => return Output::error(Exit::Failure, "state", e.to_string()),
    };
    let source = RuleJobs::new(config.rules.clone(), Arc::clone(&host.directory));
    let scheduler = Scheduler::new(host.connector, SystemClock, store, options);
    let cancel = CancellationToken::new();
    if once {
        let jobs = match source.jobs().await {
            Ok(j) => j,
            Err(e) => return Output::error(Exit::Failure, "directory", e.to_string()),
        };
        let bar = progress(
            None,
            json_mode,
            &format!("batch run of {} job(s)", jobs.len()),
        );
        let report = scheduler.run_once(&jobs, &cancel).await;
        bar.finish_and_clear();
        return Output::new(
            batch_exit(&report),
            serde_json::to_value(&report).unwrap_or_default(),
            batch_text(&report),
        );
    }
    let signal = cancel.clone();
    tokio::spawn(async move {
        wait_for_shutdown().await;
        tracing::info!("shutdown requested; finishing the running items");
        signal.cancel();
    });
    if !json_mode {
        println!(
            "batch every {} minute(s); Ctrl-C stops after the running items",
            scheduler.options().interval.as_secs() / 60
        );
    }
    let mut runs = 0usize;
    scheduler
        .run_loop(&source, &cancel, |report| {
            runs += 1;
            if json_mode {
                println!("{}", serde_json::to_string(report).unwrap_or_default());
            } else {
                println!("{}", batch_text(report));
            }
        })
        .await;
    Output::new(
        Exit::Success,
        json!({"ok": true, "runs": runs, "stopped": true}),
        format!("batch stopped after {runs} run(s)"),
    )
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
