#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Many workers sharing one scheduler store (SQLite file or PostgreSQL): the lease contract
//! of both backends, racing acquirers that never overlap, and schedulers with
//! `Cadence::OncePerInterval` that run every job exactly once per interval slot, finishing
//! the jobs of a worker that died once its leases expire.
//!
//! PostgreSQL tests need `CONAKTIV_TEST_POSTGRES_URL` (a role with CREATEDB; each test makes
//! its own database); without it they print a note and pass, unless `POSTGRES_REQUIRED=1`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use conaktiv_exchange::clock::{Clock, ManualClock, TokioClock};
use conaktiv_exchange::rules::Assignment;
use conaktiv_exchange::scheduler::{
    Cadence, ItemState, ItemStatus, JobError, JobReport, JobRunner, LastRun, Scheduler,
    SchedulerOptions, SchedulerStore, SkipReason, SyncReport, holder_is_dead,
};
use conaktiv_model::config::SyncTable;
#[cfg(feature = "postgres")]
use sync_core::postgres::{PgPool, create_scratch_database};
use tokio_util::sync::CancellationToken;

// ---------------------------------------------------------------------------------------
// Stores

#[cfg(feature = "postgres")]
/// The test server's URL, or `None` (and a note) when there is none and none is required.
fn pg_url() -> Option<String> {
    match std::env::var("CONAKTIV_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("POSTGRES_REQUIRED").as_deref() != Ok("1"),
                "POSTGRES_REQUIRED=1 but CONAKTIV_TEST_POSTGRES_URL is not set"
            );
            println!("skipped: no PostgreSQL (CONAKTIV_TEST_POSTGRES_URL)");
            None
        }
    }
}

#[cfg(feature = "postgres")]
/// A new database of its own, as the URL of it.
async fn scratch_database(url: &str) -> String {
    create_scratch_database(url).await.unwrap()
}

#[cfg(feature = "postgres")]
/// A store on its own pool (as another process would have) over the database of `url`.
async fn pg_store(url: &str) -> SchedulerStore {
    let pool = PgPool::connect(url, None, 4).unwrap();
    SchedulerStore::postgres(&pool).await.unwrap()
}

/// `n` handles on one store: SQLite, one connection each on one file.
fn sqlite_stores(dir: &tempfile::TempDir, n: usize) -> Vec<SchedulerStore> {
    let path = dir.path().join("scheduler.sqlite");
    (0..n)
        .map(|_| SchedulerStore::open(&path).unwrap())
        .collect()
}

#[cfg(feature = "postgres")]
/// `n` handles on one store: PostgreSQL, one pool each on a new database.
async fn pg_stores(url: &str, n: usize) -> Vec<SchedulerStore> {
    let db = scratch_database(url).await;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(pg_store(&db).await);
    }
    out
}

fn t0() -> DateTime<Utc> {
    // 2026-11-02 08:00:00 UTC, the start of a 15-minute slot.
    DateTime::from_timestamp(1_793_606_400, 0).unwrap()
}

fn at(secs: i64) -> DateTime<Utc> {
    t0() + chrono::Duration::seconds(secs)
}

/// A lease holder of this machine whose process has ended.
fn dead_holder_of_this_host() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    format!("{host}/{pid}/1/deadbeef")
}

/// A lease holder of another machine: never taken for dead, only its leases expire.
const ELSEWHERE: &str = "worker.elsewhere.example/4242/1/feedface";

// ---------------------------------------------------------------------------------------
// (a) The lease contract, on both backends

/// What every backend must do; `a` and `b` are two handles (processes) on one store.
async fn lease_contract(a: &SchedulerStore, b: &SchedulerStore) {
    let ttl = Duration::from_secs(60);
    let m = "anna@agentur.example";
    // Free: taken. The holder itself may take it again; others wait until it expires.
    assert_eq!(
        a.try_acquire(m, "contacts", "a", at(0), ttl).await.unwrap(),
        Ok(())
    );
    assert_eq!(
        a.try_acquire(m, "contacts", "a", at(1), ttl).await.unwrap(),
        Ok(())
    );
    assert_eq!(
        b.try_acquire(m, "contacts", "b", at(30), ttl)
            .await
            .unwrap(),
        Err("a".to_owned())
    );
    // Another table of the same mailbox is another lease.
    assert_eq!(
        b.try_acquire(m, "tasks", "b", at(30), ttl).await.unwrap(),
        Ok(())
    );
    // Mailboxes compare without regard to case.
    assert_eq!(
        b.try_acquire("ANNA@Agentur.EXAMPLE", "contacts", "b", at(30), ttl)
            .await
            .unwrap(),
        Err("a".to_owned())
    );
    // Still held at its last millisecond (re-taken at 1 s: expires at 61 s) ...
    assert_eq!(
        b.try_acquire(
            m,
            "contacts",
            "b",
            at(61) - chrono::Duration::milliseconds(1),
            ttl
        )
        .await
        .unwrap(),
        Err("a".to_owned())
    );
    // ... expired from then on: taken over.
    assert_eq!(
        b.try_acquire(m, "contacts", "b", at(61), ttl)
            .await
            .unwrap(),
        Ok(())
    );
    // The old holder lost it: renewing fails, releasing leaves the new holder's lease.
    assert!(!a.renew(m, "contacts", "a", at(62), ttl).await.unwrap());
    a.release(m, "contacts", "a").await.unwrap();
    assert_eq!(
        a.try_acquire(m, "contacts", "c", at(63), ttl)
            .await
            .unwrap(),
        Err("b".to_owned())
    );
    // Renewing extends it (to 100 + 60 s).
    assert!(
        b.renew("Anna@agentur.example", "contacts", "b", at(100), ttl)
            .await
            .unwrap()
    );
    assert_eq!(
        a.try_acquire(m, "contacts", "c", at(150), ttl)
            .await
            .unwrap(),
        Err("b".to_owned())
    );
    assert_eq!(
        a.try_acquire(m, "contacts", "c", at(160), ttl)
            .await
            .unwrap(),
        Ok(())
    );
    // Released: free at once.
    a.release(m, "contacts", "c").await.unwrap();
    assert_eq!(
        b.try_acquire(m, "contacts", "d", at(161), ttl)
            .await
            .unwrap(),
        Ok(())
    );
    b.release(m, "contacts", "d").await.unwrap();

    // A dead holder of this machine is replaced at once, a holder elsewhere only after expiry.
    let dead = dead_holder_of_this_host();
    assert!(holder_is_dead(&dead), "{dead}");
    assert!(!holder_is_dead(ELSEWHERE));
    let long = Duration::from_secs(600);
    let m2 = "bert@agentur.example";
    assert_eq!(
        a.try_acquire(m2, "contacts", &dead, at(0), long)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        b.try_acquire(m2, "contacts", "b", at(1), ttl)
            .await
            .unwrap(),
        Ok(())
    );
    assert!(!a.renew(m2, "contacts", &dead, at(2), long).await.unwrap());
    assert_eq!(
        a.try_acquire(m2, "tasks", ELSEWHERE, at(0), long)
            .await
            .unwrap(),
        Ok(())
    );
    assert_eq!(
        b.try_acquire(m2, "tasks", "b", at(1), ttl).await.unwrap(),
        Err(ELSEWHERE.to_owned())
    );
    assert_eq!(
        b.try_acquire(m2, "tasks", "b", at(600), ttl).await.unwrap(),
        Ok(())
    );

    // Item states: a round trip through the other handle, mailbox case ignored.
    assert_eq!(
        b.item_state(m, "contacts").await.unwrap(),
        ItemState::default()
    );
    let state = ItemState {
        failures: 3,
        next_attempt: Some(at(900) + chrono::Duration::milliseconds(250)),
        last_error: Some("transient failure: ErrorServerBusy \"quoted\" ünïcode".into()),
        permanent: false,
        fingerprint: None,
        last_run: Some(LastRun {
            at: at(5) + chrono::Duration::milliseconds(7),
            by: "worker-a".into(),
        }),
    };
    a.set_item_state(m, "contacts", &state).await.unwrap();
    assert_eq!(
        b.item_state("ANNA@agentur.example", "contacts")
            .await
            .unwrap(),
        state
    );
    assert_eq!(
        b.item_state(m, "tasks").await.unwrap(),
        ItemState::default()
    );
    let permanent = ItemState {
        failures: u32::MAX,
        next_attempt: None,
        last_error: Some("bad credentials: 401".into()),
        permanent: true,
        fingerprint: Some("cfg-1".into()),
        last_run: None,
    };
    b.set_item_state("Anna@agentur.example", "contacts", &permanent)
        .await
        .unwrap();
    assert_eq!(a.item_state(m, "contacts").await.unwrap(), permanent);
    // The default state removes the row.
    a.set_item_state(m, "contacts", &ItemState::default())
        .await
        .unwrap();
    assert_eq!(
        b.item_state(m, "contacts").await.unwrap(),
        ItemState::default()
    );
}

#[tokio::test]
async fn lease_contract_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let stores = sqlite_stores(&dir, 2);
    lease_contract(&stores[0], &stores[1]).await;
    // A file written before the last run was kept gets its columns and stays version 1.
    let old = dir.path().join("old.sqlite");
    {
        let c = rusqlite::Connection::open(&old).unwrap();
        c.execute_batch(
            "CREATE TABLE scheduler_meta (version INTEGER NOT NULL);
             INSERT INTO scheduler_meta VALUES (1);
             CREATE TABLE scheduler_items (
                 mailbox TEXT NOT NULL COLLATE NOCASE, tbl TEXT NOT NULL,
                 failures INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER,
                 last_error TEXT, permanent INTEGER NOT NULL DEFAULT 0, fingerprint TEXT,
                 PRIMARY KEY (mailbox, tbl));
             INSERT INTO scheduler_items (mailbox, tbl, failures) VALUES ('x@y.example', 'tasks', 2);",
        )
        .unwrap();
    }
    let store = SchedulerStore::open(&old).unwrap();
    let state = store.item_state("X@y.example", "tasks").await.unwrap();
    assert_eq!((state.failures, state.last_run), (2, None));
    drop(store);
    let again = SchedulerStore::open(&old).unwrap();
    assert_eq!(
        again
            .item_state("x@y.example", "tasks")
            .await
            .unwrap()
            .failures,
        2
    );
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn lease_contract_postgres() {
    let Some(url) = pg_url() else { return };
    let stores = pg_stores(&url, 2).await;
    lease_contract(&stores[0], &stores[1]).await;
    // Opening again (another worker starting) migrates nothing twice and keeps the state.
    let lease = stores[0]
        .try_acquire("x@y.example", "tasks", "z", at(0), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(lease, Ok(()));
    assert!(format!("{:?}", stores[0]).contains("postgres"));
}

// ---------------------------------------------------------------------------------------
// (b) Racing acquirers

/// `workers` tasks, each with its own store handle, race for `items` leases for `rounds`
/// passes; every lease taken is checked against a shared set of held items. Returns (leases
/// taken, refusals).
async fn race(stores: Vec<SchedulerStore>, items: usize, rounds: usize) -> (usize, usize) {
    let held = Arc::new(Mutex::new(HashSet::new()));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let taken = Arc::new(AtomicUsize::new(0));
    let refused = Arc::new(AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    let workers = stores.len();
    for (w, store) in stores.into_iter().enumerate() {
        let (held, overlaps, taken, refused) = (
            Arc::clone(&held),
            Arc::clone(&overlaps),
            Arc::clone(&taken),
            Arc::clone(&refused),
        );
        tasks.spawn(async move {
            let holder = format!("racer-{w}");
            for round in 0..rounds {
                for k in 0..items {
                    // Each worker walks the items from another place, some backwards.
                    let i = if (w + round) % 2 == 0 {
                        (k + w * 7) % items
                    } else {
                        (items - 1 - k + w * 3) % items
                    };
                    let mailbox = format!("User{i:02}@Agentur.example");
                    let ttl = Duration::from_secs(120);
                    match store
                        .try_acquire(&mailbox, "contacts", &holder, Utc::now(), ttl)
                        .await
                        .unwrap()
                    {
                        Ok(()) => {
                            taken.fetch_add(1, Ordering::SeqCst);
                            if !held.lock().unwrap().insert(i) {
                                overlaps.fetch_add(1, Ordering::SeqCst);
                            }
                            tokio::time::sleep(Duration::from_millis((i % 3) as u64)).await;
                            held.lock().unwrap().remove(&i);
                            store.release(&mailbox, "contacts", &holder).await.unwrap();
                        }
                        Err(other) => {
                            assert_ne!(other, holder);
                            assert!(other.starts_with("racer-"), "{other}");
                            refused.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "an item was held twice at once"
    );
    let (taken, refused) = (taken.load(Ordering::SeqCst), refused.load(Ordering::SeqCst));
    assert_eq!(taken + refused, workers * items * rounds);
    (taken, refused)
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_acquirers_on_postgres_never_hold_an_item_twice() {
    let Some(url) = pg_url() else { return };
    let db = scratch_database(&url).await;
    let mut stores = Vec::new();
    for _ in 0..8 {
        stores.push(pg_store(&db).await);
    }
    let (taken, refused) = race(stores, 50, 4).await;
    println!("postgres: {taken} leases taken, {refused} refused");
    // Every item was taken (at least once per round by someone), and they did contend.
    assert!(taken >= 50 * 4, "{taken}");
    assert!(refused > 0, "no contention: the test proves nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_acquirers_on_sqlite_never_hold_an_item_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (taken, refused) = race(sqlite_stores(&dir, 8), 50, 2).await;
    println!("sqlite: {taken} leases taken, {refused} refused");
    assert!(taken >= 50 * 2, "{taken}");
}

// ---------------------------------------------------------------------------------------
// (c) Schedulers sharing the jobs, once per interval

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

/// Counts the runs of each job per interval slot, shared by several schedulers, and the
/// times a job ran while it already ran elsewhere.
#[derive(Clone)]
struct Counting {
    runs: Arc<Mutex<HashMap<(String, i64), usize>>>,
    running: Arc<Mutex<HashSet<String>>>,
    overlaps: Arc<AtomicUsize>,
    clock: Arc<dyn Clock>,
    options: SchedulerOptions,
    delay: Duration,
}

impl Counting {
    fn new(clock: Arc<dyn Clock>, options: &SchedulerOptions, delay: Duration) -> Self {
        Self {
            runs: Arc::default(),
            running: Arc::default(),
            overlaps: Arc::default(),
            clock,
            options: options.clone(),
            delay,
        }
    }

    /// Runs per job in the slot of `now`.
    fn in_slot(&self, now: DateTime<Utc>, n: usize) -> Vec<usize> {
        let slot = self.options.slot(now);
        let runs = self.runs.lock().unwrap();
        (0..n)
            .map(|i| runs.get(&(job(i).mailbox, slot)).copied().unwrap_or(0))
            .collect()
    }
}

#[async_trait]
impl JobRunner for Counting {
    async fn run(&self, job: &Assignment) -> Result<JobReport, JobError> {
        if !self.running.lock().unwrap().insert(job.mailbox.clone()) {
            self.overlaps.fetch_add(1, Ordering::SeqCst);
        }
        let slot = self.options.slot(self.clock.now());
        *self
            .runs
            .lock()
            .unwrap()
            .entry((job.mailbox.clone(), slot))
            .or_default() += 1;
        tokio::time::sleep(self.delay).await;
        self.running.lock().unwrap().remove(&job.mailbox);
        Ok(JobReport::default())
    }
}

fn worker_options(n: usize) -> SchedulerOptions {
    SchedulerOptions {
        holder: format!("worker-{n}"),
        concurrency: 4,
        interval: Duration::from_secs(15 * 60),
        lease_ttl: Duration::from_secs(30),
        cadence: Cadence::OncePerInterval,
        ..SchedulerOptions::default()
    }
}

fn count(reports: &[SyncReport], f: impl Fn(&ItemStatus) -> bool) -> usize {
    reports
        .iter()
        .flat_map(|r| &r.items)
        .filter(|i| f(&i.status))
        .count()
}

async fn all<F: Future<Output = SyncReport>>(runs: Vec<F>) -> Vec<SyncReport> {
    futures::future::join_all(runs).await
}

/// Three schedulers on `stores[0..3]` run 40 jobs; a fourth handle plays a worker of
/// another machine that died holding the leases of jobs 0..10 (30 s time to live).
async fn once_per_interval_with_a_dead_worker(stores: Vec<SchedulerStore>) {
    const N: usize = 40;
    let clock = Arc::new(ManualClock::new(at(10)));
    let options = worker_options(0);
    let counting = Counting::new(clock.clone(), &options, Duration::from_millis(2));
    let schedulers: Vec<_> = stores[..3]
        .iter()
        .enumerate()
        .map(|(n, store)| {
            Scheduler::new(
                counting.clone(),
                Arc::clone(&clock),
                store.clone(),
                worker_options(n),
            )
        })
        .collect();
    let dead = &stores[3];
    for i in 0..10 {
        let taken = dead
            .try_acquire(
                &job(i).mailbox,
                "contacts",
                ELSEWHERE,
                clock.now(),
                Duration::from_secs(30),
            )
            .await
            .unwrap();
        assert_eq!(taken, Ok(()));
    }
    let work = jobs(N);
    let cancel = CancellationToken::new();
    let round = || {
        all(schedulers
            .iter()
            .map(|s| s.run_once(&work, &cancel))
            .collect())
    };

    // All three at once: every free job runs once; the dead worker's are busy.
    let reports = round().await;
    let mut want = vec![0; 10];
    want.extend(vec![1; N - 10]);
    assert_eq!(counting.in_slot(clock.now(), N), want);
    assert_eq!(
        count(&reports, |s| matches!(s, ItemStatus::Succeeded { .. })),
        N - 10
    );
    assert_eq!(
        count(
            &reports,
            |s| matches!(s, ItemStatus::Busy { holder } if holder == ELSEWHERE)
        ),
        3 * 10
    );

    // Later in the slot: nothing runs again; the skips name the run.
    clock.advance(Duration::from_secs(5));
    let reports = round().await;
    assert_eq!(counting.in_slot(clock.now(), N), want);
    assert_eq!(
        count(&reports, |s| matches!(
            s,
            ItemStatus::Skipped { reason: SkipReason::AlreadyRan { by, .. } } if by.starts_with("worker-")
        )),
        3 * (N - 10)
    );
    assert_eq!(
        count(&reports, |s| matches!(s, ItemStatus::Busy { .. })),
        3 * 10
    );

    // The dead worker's leases expire (taken at 10 s for 30 s): the others finish its jobs
    // in the same slot, each once.
    clock.advance(Duration::from_secs(30));
    let reports = round().await;
    assert_eq!(counting.in_slot(clock.now(), N), vec![1; N]);
    assert_eq!(
        count(&reports, |s| matches!(s, ItemStatus::Succeeded { .. })),
        10
    );
    clock.advance(Duration::from_secs(60));
    let reports = round().await;
    assert_eq!(counting.in_slot(clock.now(), N), vec![1; N]);
    assert_eq!(
        count(&reports, |s| matches!(s, ItemStatus::Succeeded { .. })),
        0
    );

    // The next slot: every job once more.
    clock.advance(Duration::from_secs(15 * 60));
    let reports = round().await;
    assert_eq!(counting.in_slot(clock.now(), N), vec![1; N]);
    assert_eq!(
        count(&reports, |s| matches!(s, ItemStatus::Succeeded { .. })),
        N
    );
    assert_eq!(counting.overlaps.load(Ordering::SeqCst), 0);
    // The state says who ran it, through any handle.
    let state = stores[3]
        .item_state(&job(0).mailbox, "contacts")
        .await
        .unwrap();
    let last = state.last_run.unwrap();
    assert!(last.by.starts_with("worker-"), "{last:?}");
    assert_eq!(last.at, clock.now());
}

#[tokio::test]
async fn schedulers_on_one_sqlite_file_run_each_job_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    once_per_interval_with_a_dead_worker(sqlite_stores(&dir, 4)).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn schedulers_on_postgres_run_each_job_once_per_interval() {
    let Some(url) = pg_url() else { return };
    once_per_interval_with_a_dead_worker(pg_stores(&url, 4).await).await;
}

/// Two schedulers in `run_loop` for 40 minutes (tokio's paused clock): every job runs in
/// each of the three slots exactly once, including the jobs a dead worker held when the
/// loops started.
#[tokio::test(start_paused = true)]
async fn looping_workers_take_over_a_dead_workers_jobs_within_the_slot() {
    const N: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let stores = sqlite_stores(&dir, 3);
    let clock: Arc<dyn Clock> = Arc::new(TokioClock::starting_at(t0()));
    let options = worker_options(0);
    let counting = Counting::new(Arc::clone(&clock), &options, Duration::from_secs(2));
    for i in 0..4 {
        let taken = stores[2]
            .try_acquire(
                &job(i).mailbox,
                "contacts",
                ELSEWHERE,
                clock.now(),
                Duration::from_secs(60),
            )
            .await
            .unwrap();
        assert_eq!(taken, Ok(()));
    }
    let cancel = CancellationToken::new();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let mut loops = tokio::task::JoinSet::new();
    for (n, store) in stores[..2].iter().enumerate() {
        let scheduler = Scheduler::new(
            counting.clone(),
            Arc::clone(&clock),
            store.clone(),
            worker_options(n),
        );
        assert_eq!(scheduler.options().poll_period(), Duration::from_secs(15));
        let (cancel, reports) = (cancel.clone(), Arc::clone(&reports));
        loops.spawn(async move {
            scheduler
                .run_loop(&jobs(N), &cancel, |r| {
                    reports.lock().unwrap().push(r.clone())
                })
                .await;
        });
    }
    tokio::time::sleep(Duration::from_secs(40 * 60)).await;
    cancel.cancel();
    while let Some(r) = loops.join_next().await {
        r.unwrap();
    }
    for slot in 0..3 {
        assert_eq!(
            counting.in_slot(at(slot * 15 * 60), N),
            vec![1; N],
            "slot {slot}"
        );
    }
    assert_eq!(counting.overlaps.load(Ordering::SeqCst), 0);
    // The dead worker's jobs ran once its leases expired (60 s), within the next poll.
    let first_runs: Vec<DateTime<Utc>> = reports
        .lock()
        .unwrap()
        .iter()
        .flat_map(|r| r.items.clone())
        .filter(|i| i.mailbox == job(0).mailbox && matches!(i.status, ItemStatus::Succeeded { .. }))
        .map(|i| i.started)
        .collect();
    let first = *first_runs.iter().min().unwrap();
    assert!(first >= at(60) && first <= at(60 + 15 + 2), "{first}");
}
