#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! The batch scheduler: concurrency, isolation of failures, back-off, permanent failures,
//! leases across two schedulers on one database file, shutdown and the interval loop.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use conaktiv_exchange::clock::{Clock, ManualClock, TokioClock};
use conaktiv_exchange::host::DirectoryUser;
use conaktiv_exchange::rules::Assignment;
use conaktiv_exchange::scheduler::{
    Counts, ItemStatus, JobError, JobErrorKind, JobReport, JobRunner, JobSource, Outcome, RuleJobs,
    Scheduler, SchedulerOptions, SchedulerStore, SkipReason, SyncReport, config_fingerprint,
};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::Configuration;
use conaktiv_model::config::SyncTable;
use tokio_util::sync::CancellationToken;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 8, 0, 0).unwrap()
}

fn job(n: usize) -> Assignment {
    Assignment {
        user: format!("user{n:02}"),
        mailbox: format!("user{n:02}@agentur.example"),
        table: SyncTable::Contacts,
        rule: "Kontakte".into(),
    }
}

fn jobs(n: usize) -> Vec<Assignment> {
    (0..n).map(job).collect()
}

fn ok_report() -> JobReport {
    JobReport {
        to_exchange: Counts {
            new: 2,
            changed: 1,
            deleted: 0,
            linked: 0,
        },
        ..JobReport::default()
    }
}

/// A runner that follows a script per mailbox (default: success), records its calls and
/// checks that no mailbox and table runs twice at once (across runners sharing `inflight`).
#[derive(Default)]
struct Scripted {
    script: Mutex<HashMap<String, VecDeque<Result<JobReport, JobError>>>>,
    calls: Mutex<Vec<String>>,
    inflight: Arc<Mutex<HashSet<String>>>,
    overlaps: Arc<AtomicUsize>,
    concurrent: AtomicUsize,
    max_concurrent: AtomicUsize,
    delay: Duration,
    gate: Option<Arc<tokio::sync::Semaphore>>,
    cancel_on: Option<(String, CancellationToken)>,
}

impl Scripted {
    fn push(&self, mailbox: &str, outcome: Result<JobReport, JobError>) {
        self.script
            .lock()
            .unwrap()
            .entry(mailbox.to_owned())
            .or_default()
            .push_back(outcome);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl JobRunner for Scripted {
    async fn run(&self, job: &Assignment) -> Result<JobReport, JobError> {
        let key = format!("{}/{:?}", job.mailbox, job.table);
        if !self.inflight.lock().unwrap().insert(key.clone()) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        let now = self.concurrent.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_concurrent.fetch_max(now, Ordering::SeqCst);
        self.calls.lock().unwrap().push(job.mailbox.clone());
        if let Some((mailbox, token)) = &self.cancel_on
            && *mailbox == job.mailbox
        {
            token.cancel();
        }
        if let Some(gate) = &self.gate {
            let _permit = gate.acquire().await.unwrap();
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let outcome = self
            .script
            .lock()
            .unwrap()
            .get_mut(&job.mailbox)
            .and_then(VecDeque::pop_front)
            .unwrap_or_else(|| Ok(ok_report()));
        self.concurrent.fetch_sub(1, Ordering::SeqCst);
        self.inflight.lock().unwrap().remove(&key);
        outcome
    }
}

fn options(holder: &str) -> SchedulerOptions {
    SchedulerOptions {
        holder: holder.into(),
        concurrency: 4,
        interval: Duration::from_secs(15 * 60),
        lease_ttl: Duration::from_secs(600),
        backoff_base: Duration::from_secs(600),
        backoff_max: Duration::from_secs(2400),
        config_fingerprint: "config-1".into(),
        ..SchedulerOptions::default()
    }
}

fn status_of<'a>(report: &'a SyncReport, mailbox: &str) -> &'a ItemStatus {
    &report
        .items
        .iter()
        .find(|i| i.mailbox == mailbox)
        .unwrap()
        .status
}

#[tokio::test]
async fn one_broken_mailbox_among_fifty_does_not_stop_the_others() {
    let runner = Scripted::default();
    runner.push(
        "user17@agentur.example",
        Err(JobError::new(JobErrorKind::BadCredentials, "401")),
    );
    runner.push(
        "user30@agentur.example",
        Err(JobError::transient("ErrorServerBusy")),
    );
    let s = Scheduler::new(
        runner,
        ManualClock::new(t0()),
        SchedulerStore::in_memory().unwrap(),
        options("a"),
    );
    let report = s.run_once(&jobs(50), &CancellationToken::new()).await;
    assert_eq!(report.items.len(), 50);
    assert_eq!(report.succeeded(), 48);
    assert_eq!(report.failed(), 2);
    assert_eq!(report.outcome(), Outcome::PartialFailure);
    assert!(matches!(
        status_of(&report, "user17@agentur.example"),
        ItemStatus::Failed { permanent: true, error, .. } if error.contains("bad credentials")
    ));
    assert!(matches!(
        status_of(&report, "user30@agentur.example"),
        ItemStatus::Failed {
            permanent: false,
            failures: 1,
            ..
        }
    ));
    // Reports come in job order with the runner's counts.
    assert_eq!(report.items[0].mailbox, "user00@agentur.example");
    assert!(matches!(
        &report.items[0].status,
        ItemStatus::Succeeded { report } if report.to_exchange.new == 2
    ));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["items"][17]["status"], "failed");
    assert_eq!(json["items"][0]["status"], "succeeded");
    assert_eq!(json["items"][0]["table"], "contacts");
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let runner = Scripted {
        delay: Duration::from_millis(20),
        ..Scripted::default()
    };
    let opts = SchedulerOptions {
        concurrency: 3,
        ..options("a")
    };
    let s = Scheduler::new(
        runner,
        ManualClock::new(t0()),
        SchedulerStore::in_memory().unwrap(),
        opts,
    );
    let report = s.run_once(&jobs(12), &CancellationToken::new()).await;
    assert_eq!(report.succeeded(), 12);
    let max = s_runner_max(&s);
    assert_eq!(max, 3);
}

fn s_runner_max<C: Clock>(s: &Scheduler<Scripted, C>) -> usize {
    // The runner is inside the scheduler; the max is read through a shared counter.
    s.runner().max_concurrent.load(Ordering::SeqCst)
}

#[tokio::test]
async fn transient_failures_back_off_then_recover() {
    let clock = Arc::new(ManualClock::new(t0()));
    let runner = Scripted::default();
    for _ in 0..4 {
        runner.push(
            "user00@agentur.example",
            Err(JobError::transient("timeout")),
        );
    }
    let s = Scheduler::new(
        runner,
        Arc::clone(&clock),
        SchedulerStore::in_memory().unwrap(),
        options("a"),
    );
    let min = |m: i64| t0() + chrono::Duration::minutes(m);
    // (minute of the run, expected: Some((failures, retry minute)) for a failure,
    //  None for a back-off skip, or "ok")
    enum Want {
        Failed(u32, i64),
        BackingOff(i64),
        Ok,
    }
    let timeline = [
        (0, Want::Failed(1, 10)),
        (5, Want::BackingOff(10)),
        (10, Want::Failed(2, 30)),
        (29, Want::BackingOff(30)),
        (30, Want::Failed(3, 70)),
        (70, Want::Failed(4, 110)), // capped at 40 minutes
        (100, Want::BackingOff(110)),
        (110, Want::Ok),
        (111, Want::Ok),
    ];
    let cancel = CancellationToken::new();
    for (minute, want) in timeline {
        clock.set(min(minute));
        let report = s.run_once(&jobs(1), &cancel).await;
        let got = &report.items[0].status;
        match want {
            Want::Failed(failures, retry) => assert!(
                matches!(got, ItemStatus::Failed { permanent: false, failures: f, retry_at: Some(r), .. }
                    if *f == failures && *r == min(retry)),
                "minute {minute}: {got:?}"
            ),
            Want::BackingOff(until) => assert!(
                matches!(got, ItemStatus::Skipped { reason: SkipReason::BackingOff { until: u, .. } } if *u == min(until)),
                "minute {minute}: {got:?}"
            ),
            Want::Ok => assert!(
                matches!(got, ItemStatus::Succeeded { .. }),
                "minute {minute}: {got:?}"
            ),
        }
    }
    assert_eq!(s.runner().calls().len(), 6);
}

#[tokio::test]
async fn permanent_failures_are_skipped_until_the_configuration_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let cancel = CancellationToken::new();
    let cases = [
        JobError::new(JobErrorKind::BadCredentials, "401"),
        JobError::new(
            JobErrorKind::ImpersonationDenied,
            "ErrorImpersonateUserDenied",
        ),
        JobError::new(JobErrorKind::MailboxGone, "ErrorNonExistentMailbox"),
    ];
    for (n, error) in cases.into_iter().enumerate() {
        let mailbox = job(n).mailbox;
        let runner = Scripted::default();
        runner.push(&mailbox, Err(error.clone()));
        let s = Scheduler::new(
            runner,
            ManualClock::new(t0()),
            SchedulerStore::open(&path).unwrap(),
            options("a"),
        );
        let first = s.run_once(&[job(n)], &cancel).await;
        assert!(
            matches!(
                &first.items[0].status,
                ItemStatus::Failed {
                    permanent: true,
                    ..
                }
            ),
            "{error}"
        );
        assert_eq!(first.outcome(), Outcome::Failure);
        // A day later, same configuration: not even tried.
        let later = s.run_once(&[job(n)], &cancel).await;
        assert!(
            matches!(
                &later.items[0].status,
                ItemStatus::Skipped { reason: SkipReason::PermanentFailure { error: e } } if *e == error.to_string()
            ),
            "{:?}",
            later.items[0].status
        );
        assert_eq!(later.outcome(), Outcome::Failure);
        assert_eq!(s.runner().calls().len(), 1);

        // Another process with a changed configuration tries again.
        let s2 = Scheduler::new(
            Scripted::default(),
            ManualClock::new(t0()),
            SchedulerStore::open(&path).unwrap(),
            SchedulerOptions {
                config_fingerprint: "config-2".into(),
                ..options("b")
            },
        );
        let after = s2.run_once(&[job(n)], &cancel).await;
        assert!(matches!(
            &after.items[0].status,
            ItemStatus::Succeeded { .. }
        ));
    }
}

#[tokio::test]
async fn two_schedulers_on_one_database_never_run_an_item_twice_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let inflight = Arc::new(Mutex::new(HashSet::new()));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let a = Arc::new(Scheduler::new(
        Scripted {
            inflight: Arc::clone(&inflight),
            overlaps: Arc::clone(&overlaps),
            gate: Some(Arc::clone(&gate)),
            ..Scripted::default()
        },
        ManualClock::new(t0()),
        SchedulerStore::open(&path).unwrap(),
        SchedulerOptions {
            concurrency: 8,
            ..options("scheduler-a")
        },
    ));
    let b = Scheduler::new(
        Scripted {
            inflight: Arc::clone(&inflight),
            overlaps: Arc::clone(&overlaps),
            ..Scripted::default()
        },
        ManualClock::new(t0()),
        SchedulerStore::open(&path).unwrap(),
        SchedulerOptions {
            concurrency: 8,
            ..options("scheduler-b")
        },
    );
    let work = jobs(6);
    let a_run = {
        let a = Arc::clone(&a);
        let work = work.clone();
        tokio::spawn(async move { a.run_once(&work, &CancellationToken::new()).await })
    };
    // Wait until A holds all six items.
    for _ in 0..500 {
        if a.runner().calls().len() == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(a.runner().calls().len(), 6);
    let b_report = b.run_once(&work, &CancellationToken::new()).await;
    assert_eq!(b_report.busy(), 6, "{b_report:?}");
    for item in &b_report.items {
        assert!(matches!(
            &item.status,
            ItemStatus::Busy { holder } if holder == "scheduler-a"
        ));
    }
    assert!(b.runner().calls().is_empty());
    gate.add_permits(6);
    let a_report = a_run.await.unwrap();
    assert_eq!(a_report.succeeded(), 6);
    // The leases are released: B runs them now.
    let b_again = b.run_once(&work, &CancellationToken::new()).await;
    assert_eq!(b_again.succeeded(), 6);

    // Both at once on twenty items, many times: never an overlap.
    let a2 = Scheduler::new(
        Scripted {
            inflight: Arc::clone(&inflight),
            overlaps: Arc::clone(&overlaps),
            delay: Duration::from_millis(3),
            ..Scripted::default()
        },
        ManualClock::new(t0()),
        SchedulerStore::open(&path).unwrap(),
        options("scheduler-a2"),
    );
    let b2 = Scheduler::new(
        Scripted {
            inflight: Arc::clone(&inflight),
            overlaps: Arc::clone(&overlaps),
            delay: Duration::from_millis(3),
            ..Scripted::default()
        },
        ManualClock::new(t0()),
        SchedulerStore::open(&path).unwrap(),
        options("scheduler-b2"),
    );
    let many = jobs(20);
    let cancel = CancellationToken::new();
    for _ in 0..3 {
        let (ra, rb) = tokio::join!(a2.run_once(&many, &cancel), b2.run_once(&many, &cancel));
        for (x, y) in ra.items.iter().zip(&rb.items) {
            // Each item ran at least once per round, by one or the other (or both, one after
            // the other), never both at the same time.
            let ran = |s: &ItemStatus| matches!(s, ItemStatus::Succeeded { .. });
            assert!(ran(&x.status) || ran(&y.status), "{x:?} {y:?}");
        }
    }
    assert_eq!(overlaps.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over() {
    let store_a = SchedulerStore::in_memory().unwrap();
    let ttl = Duration::from_secs(60);
    let at = |s: i64| t0() + chrono::Duration::seconds(s);
    let m = "anna@agentur.example";
    assert_eq!(
        store_a
            .try_acquire(m, "contacts", "a", at(0), ttl)
            .await
            .unwrap(),
        Ok(())
    );
    // The holder itself may take it again; others wait until it expires.
    assert_eq!(
        store_a
            .try_acquire(m, "contacts", "a", at(1), ttl)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        store_a
            .try_acquire(m, "contacts", "b", at(30), ttl)
            .await
            .unwrap(),
        Err("a".to_owned())
    );
    // Another table of the same mailbox is independent.
    assert_eq!(
        store_a
            .try_acquire(m, "tasks", "b", at(30), ttl)
            .await
            .unwrap(),
        Ok(())
    );
    // Mailbox names compare case-insensitively.
    assert_eq!(
        store_a
            .try_acquire("ANNA@agentur.example", "contacts", "b", at(30), ttl)
            .await
            .unwrap(),
        Err("a".to_owned())
    );
    assert_eq!(
        store_a
            .try_acquire(m, "contacts", "b", at(62), ttl)
            .await
            .unwrap(),
        Ok(())
    );
    // The crashed holder lost it: renewing fails and releasing leaves B's lease alone.
    assert!(
        !store_a
            .renew(m, "contacts", "a", at(63), ttl)
            .await
            .unwrap()
    );
    store_a.release(m, "contacts", "a").await.unwrap();
    assert_eq!(
        store_a
            .try_acquire(m, "contacts", "c", at(64), ttl)
            .await
            .unwrap(),
        Err("b".to_owned())
    );
    assert!(
        store_a
            .renew(m, "contacts", "b", at(100), ttl)
            .await
            .unwrap()
    );
    assert_eq!(
        store_a
            .try_acquire(m, "contacts", "c", at(150), ttl)
            .await
            .unwrap(),
        Err("b".to_owned())
    );
}

#[tokio::test]
async fn shutdown_stops_between_items() {
    let cancel = CancellationToken::new();
    let runner = Scripted {
        cancel_on: Some(("user01@agentur.example".into(), cancel.clone())),
        ..Scripted::default()
    };
    let s = Scheduler::new(
        runner,
        ManualClock::new(t0()),
        SchedulerStore::in_memory().unwrap(),
        SchedulerOptions {
            concurrency: 1,
            ..options("a")
        },
    );
    let report = s.run_once(&jobs(5), &cancel).await;
    let statuses: Vec<&str> = report
        .items
        .iter()
        .map(|i| match &i.status {
            ItemStatus::Succeeded { .. } => "ok",
            ItemStatus::Skipped {
                reason: SkipReason::Shutdown,
            } => "shutdown",
            _ => "other",
        })
        .collect();
    // The item that saw the shutdown finishes; no new item starts.
    assert_eq!(statuses, ["ok", "ok", "shutdown", "shutdown", "shutdown"]);
}

#[tokio::test(start_paused = true)]
async fn the_loop_runs_every_interval_until_cancelled() {
    let s = Scheduler::new(
        Scripted::default(),
        TokioClock::starting_at(t0()),
        SchedulerStore::in_memory().unwrap(),
        options("a"),
    );
    let cancel = CancellationToken::new();
    let mut starts = Vec::new();
    let source: Vec<Assignment> = jobs(2);
    s.run_loop(&source, &cancel, |report| {
        starts.push(report.started);
        if starts.len() == 3 {
            cancel.cancel();
        }
    })
    .await;
    assert_eq!(starts.len(), 3);
    for pair in starts.windows(2) {
        let gap = (pair[1] - pair[0]).to_std().unwrap();
        assert!(
            gap >= Duration::from_secs(900) && gap < Duration::from_secs(901),
            "{gap:?}"
        );
    }
    assert_eq!(s.runner().calls().len(), 6);
}

#[test]
fn job_errors_tell_transient_from_permanent() {
    let cases = [
        (JobError::transient("x"), true),
        (JobError::new(JobErrorKind::BadCredentials, "x"), false),
        (JobError::new(JobErrorKind::ImpersonationDenied, "x"), false),
        (JobError::new(JobErrorKind::MailboxGone, "x"), false),
        (JobError::new(JobErrorKind::Configuration, "x"), false),
        // Only the four kinds above are permanent: anything else is retried later.
        (JobError::new(JobErrorKind::Other, "x"), true),
        (JobError::new(JobErrorKind::MassDelete, "x"), true),
    ];
    for (e, transient) in cases {
        assert_eq!(e.is_transient(), transient, "{e}");
        assert_eq!(e.is_permanent(), !transient, "{e}");
    }
}

#[test]
fn backoff_doubles_up_to_the_maximum() {
    let o = options("a");
    let minutes: Vec<u64> = (1..=5).map(|n| o.backoff(n).as_secs() / 60).collect();
    assert_eq!(minutes, [10, 20, 40, 40, 40]);
}

#[test]
fn the_fingerprint_follows_the_configuration() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml");
    let config = Configuration::load(path).unwrap();
    let same = Configuration::load(path).unwrap();
    assert_eq!(config_fingerprint(&config), config_fingerprint(&same));
    let mut changed = config.clone();
    changed.rules[0].filter = "#Vertrieb".into();
    assert_ne!(config_fingerprint(&config), config_fingerprint(&changed));
}

#[tokio::test]
async fn rule_jobs_come_from_the_rules_and_the_directory() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml");
    let config = Configuration::load(path).unwrap();
    let db = SqliteDb::in_memory().unwrap();
    let dir = db.directory();
    for (name, active) in [("anna", true), ("bert", false)] {
        dir.put_user(&DirectoryUser {
            name: name.into(),
            display_name: name.into(),
            mailbox: Some(format!("{name}@demo.example")),
            groups: vec![],
            mail_accounts: vec![],
            active,
        })
        .await
        .unwrap();
    }
    let source = RuleJobs::new(config.rules.clone(), dir);
    let got: Vec<(String, SyncTable)> = source
        .jobs()
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.mailbox, a.table))
        .collect();
    let expected: Vec<(String, SyncTable)> = SyncTable::ALL
        .iter()
        .map(|t| ("anna@demo.example".to_owned(), *t))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn options_follow_the_batch_task() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/example.toml");
    let config = Configuration::load(path).unwrap();
    let minutes: Vec<Option<u64>> = config
        .batch_tasks
        .iter()
        .map(|t| SchedulerOptions::for_batch_task(t, &config).map(|o| o.interval.as_secs() / 60))
        .collect();
    assert_eq!(minutes[..2], [Some(15), Some(5)]);
    let mut inactive = config.batch_tasks[0].clone();
    inactive.active = false;
    assert!(SchedulerOptions::for_batch_task(&inactive, &config).is_none());
    let mut other = config.batch_tasks[0].clone();
    other.group = "Reports".into();
    assert!(SchedulerOptions::for_batch_task(&other, &config).is_none());
    let o = SchedulerOptions::for_batch_task(&config.batch_tasks[0], &config).unwrap();
    assert_eq!(o.config_fingerprint, config_fingerprint(&config));
}

#[tokio::test(start_paused = true)]
async fn a_long_item_keeps_its_lease_alive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let clock = TokioClock::starting_at(t0());
    let s = Arc::new(Scheduler::new(
        Scripted {
            delay: Duration::from_secs(150),
            ..Scripted::default()
        },
        clock,
        SchedulerStore::open(&path).unwrap(),
        SchedulerOptions {
            lease_ttl: Duration::from_secs(60),
            ..options("long-runner")
        },
    ));
    let run = {
        let s = Arc::clone(&s);
        tokio::spawn(async move { s.run_once(&jobs(1), &CancellationToken::new()).await })
    };
    let other = SchedulerStore::open(&path).unwrap();
    let mailbox = job(0).mailbox;
    // Well past the lease's first expiry: still held, because it was renewed.
    tokio::time::sleep(Duration::from_secs(100)).await;
    let taken = other
        .try_acquire(
            &mailbox,
            "contacts",
            "intruder",
            clock.now(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(taken, Err("long-runner".to_owned()));
    let report = run.await.unwrap();
    assert_eq!(report.succeeded(), 1);
    assert_eq!(report.items[0].duration_ms, 150_000);
    // Released at the end.
    let taken = other
        .try_acquire(
            &mailbox,
            "contacts",
            "intruder",
            clock.now(),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(taken, Ok(()));
}

/// A runner that succeeds after breaking the scheduler's item table under the scheduler.
struct BreaksItemState(std::path::PathBuf);

#[async_trait]
impl JobRunner for BreaksItemState {
    async fn run(&self, _job: &Assignment) -> Result<JobReport, JobError> {
        let c = rusqlite::Connection::open(&self.0).unwrap();
        c.execute_batch("ALTER TABLE scheduler_items RENAME TO scheduler_items_gone")
            .unwrap();
        Ok(ok_report())
    }
}

#[tokio::test]
async fn a_job_whose_result_cannot_be_recorded_is_not_reported_as_a_success() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let s = Scheduler::new(
        BreaksItemState(path.clone()),
        ManualClock::new(t0()),
        SchedulerStore::open(&path).unwrap(),
        options("a"),
    );
    let report = s.run_once(&[job(0)], &CancellationToken::new()).await;
    assert!(
        matches!(
            &report.items[0].status,
            ItemStatus::Failed { error, permanent: false, .. } if error.contains("could not be recorded")
        ),
        "{:?}",
        report.items[0].status
    );
    assert_eq!(report.outcome(), Outcome::Failure);
}

/// A job whose lease is taken over while it runs stops at once (it never writes beside the
/// new holder), and the caller is told.
#[tokio::test]
async fn a_job_that_loses_its_lease_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let store = SchedulerStore::open(&path).unwrap();
    let clock = TokioClock::default();
    let finished = Arc::new(AtomicUsize::new(0));
    let work = {
        let finished = Arc::clone(&finished);
        let path = path.clone();
        async move {
            // Another worker takes the lease over (as after an expiry)...
            tokio::time::sleep(Duration::from_millis(50)).await;
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute("UPDATE scheduler_leases SET holder = 'worker-b'", [])
                .unwrap();
            // ...while this job would still be writing.
            tokio::time::sleep(Duration::from_secs(5)).await;
            finished.fetch_add(1, Ordering::SeqCst);
        }
    };
    let started = std::time::Instant::now();
    let err = store
        .run_leased(
            &clock,
            "anna@agentur.example",
            "contacts",
            "worker-a",
            Duration::from_millis(300),
            Duration::ZERO,
            work,
        )
        .await
        .unwrap_err();
    assert!(
        err.is_transient() && err.to_string().contains("took over"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "stopped at once"
    );
    assert_eq!(finished.load(Ordering::SeqCst), 0, "the work did not go on");
    // The new holder's lease stays.
    let holder: String = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("SELECT holder FROM scheduler_leases", [], |r| r.get(0))
        .unwrap();
    assert_eq!(holder, "worker-b");
}
