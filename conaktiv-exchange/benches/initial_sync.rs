//! Initial sync of 10,000 contacts (CRM -> Exchange) against ews-mock, then no-change runs.
//!
//! `cargo bench -p conaktiv-exchange --bench initial_sync`. Prints requests by operation (the
//! mock's request log), wall time, items per second, peak heap memory (a counting global
//! allocator), the connector's CPU time per contact and the number of fsync/fdatasync calls
//! per write batch. Targets: requests within 10% of the minimum the batch size allows; a
//! no-change run costs one SyncFolderItems per folder and no item reads; at most 50 us of
//! connector CPU per contact in the initial sync; at most one fsync per write batch.
//!
//! How the figures are taken:
//! * Connector CPU: the mock runs in this process on a runtime of its own, whose threads are
//!   named `ews-mock`; the connector (with its SQLite CRM and sync state) runs on another
//!   runtime. Connector CPU = this process's CPU time (user + system, `/proc/self/stat`)
//!   minus the CPU time of the `ews-mock` threads (`/proc/self/task/*/stat`), so everything
//!   that is not the mock counts as the connector's.
//! * fsyncs: when `strace` is installed, the benchmark runs the initial sync once more in a
//!   child process of itself under `strace -f -c -e trace=fsync,fdatasync,pwrite64` (on a
//!   copy of the same seeded CRM database, a fresh sync state) and divides the calls by the
//!   number of write batches (the engine's chunks of `BATCH` items: one CreateItem request
//!   each). Without `strace` it says the count is unavailable.
//! * The key write-back alone: the 10,000 `SetKey`s of an initial sync through
//!   `CrmSide::write` in batches of `BATCH`, without Exchange, once through a host store
//!   that does not implement `set_keys` (every call forwarded but that one, so the trait's
//!   default writes one key per transaction) and once on `SqliteCrm` itself (`set_keys`:
//!   one transaction per batch, as the connector's service layer forwards it); CPU time of
//!   the process (no mock work in it) and fsyncs per batch as above.
//! * The CPU figure against the target is the median of `INITIAL_SYNC_REPEAT` (default 5)
//!   initial syncs, each against a mock of its own with a fresh copy of the seeded CRM
//!   database and a fresh sync state; the detailed phases below are one more run.
// The counting allocator is the only unsafe code: it forwards to the system allocator.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use conaktiv_exchange::crm_side::{CrmSide, JsonProjection};
use conaktiv_exchange::host::{CrmStore, DirectoryUser, HostError, ListQuery, RecordMeta, Stored};
use conaktiv_exchange::service::{Connector, CrmStores};
use conaktiv_exchange::sqlite::{SqliteCrm, SqliteDb};
use conaktiv_model::{Configuration, ContactPerson};
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};
use sync_core::{Side, WriteOp, WriteOutcome};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the same arguments; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const N: usize = 10_000;
const BATCH: usize = 100;

/// Set (to a seeded CRM database) in the child process that runs under strace.
const CHILD_ENV: &str = "INITIAL_SYNC_FSYNC_CHILD_DB";
/// What the child runs: one of [`Mode`]'s names.
const CHILD_MODE_ENV: &str = "INITIAL_SYNC_FSYNC_CHILD_MODE";

/// What a run under strace does.
#[derive(Clone, Copy)]
enum Mode {
    /// The connector's initial sync.
    Sync,
    /// The key write-back alone, one transaction per key (a host store without `set_keys`).
    KeysPerRecord,
    /// The key write-back alone on `SqliteCrm::set_keys`: one transaction per batch.
    KeysBatched,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Sync => "sync",
            Mode::KeysPerRecord => "keys-per-record",
            Mode::KeysBatched => "keys-batched",
        }
    }

    fn from_name(name: &str) -> Mode {
        [Mode::Sync, Mode::KeysPerRecord, Mode::KeysBatched]
            .into_iter()
            .find(|m| m.name() == name)
            .unwrap_or(Mode::Sync)
    }
}
/// The mock runtime's thread name: its CPU time is not the connector's.
const MOCK_THREADS: &str = "ews-mock";

const ORG: &str = r#"
[[users]]
address = "svc@contoso.test"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "bob@contoso.test"
password = "bob-pw"
"#;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// utime + stime of a `stat` file (`/proc/self/stat` or a thread's), in clock ticks.
fn stat_ticks(stat: &str) -> u64 {
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name
    ticks(11) + ticks(12)
}

fn ticks_to_duration(ticks: u64) -> Duration {
    // USER_HZ is 100 on Linux
    Duration::from_millis(ticks * 10)
}

/// CPU time (user + system) of this process, and of its threads named `ews-mock`.
fn cpu_times() -> (Duration, Duration) {
    let process = stat_ticks(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default());
    let mut mock = 0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            if comm.trim_end().starts_with(MOCK_THREADS) {
                mock += stat_ticks(
                    &std::fs::read_to_string(task.path().join("stat")).unwrap_or_default(),
                );
            }
        }
    }
    (ticks_to_duration(process), ticks_to_duration(mock))
}

fn print_phase(name: &str, counts: &BTreeMap<String, u64>, secs: f64, items: usize, base: usize) {
    let total: u64 = counts.values().sum();
    println!("\n== {name}");
    for (op, n) in counts {
        println!("   {op:<22} {n:>7}");
    }
    println!("   {:<22} {total:>7}", "total requests");
    println!("   wall time              {secs:>9.2} s");
    if items > 0 {
        println!("   items per second       {:>9.0}", items as f64 / secs);
    }
    println!(
        "   peak heap              {:>9.1} MiB ({:.1} MiB live at start)",
        mib(PEAK.load(Ordering::Relaxed)),
        mib(base)
    );
}

fn mock_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(MOCK_THREADS)
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()
        .expect("mock runtime")
}

fn connector_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name("connector")
        .enable_all()
        .build()
        .expect("connector runtime")
}

fn main() {
    let mock_rt = mock_runtime();
    let mock = mock_rt
        .block_on(MockServer::start(MockConfig::new(
            OrgData::from_toml(ORG).unwrap(),
        )))
        .unwrap();
    let rt = connector_runtime();
    match std::env::var_os(CHILD_ENV) {
        Some(db) => {
            let mode = Mode::from_name(&std::env::var(CHILD_MODE_ENV).unwrap_or_default());
            rt.block_on(fsync_child(&mock, Path::new(&db), mode));
        }
        None => rt.block_on(run(&mock, mock_rt.handle())),
    }
    mock_rt.block_on(mock.shutdown()).unwrap();
}

fn config(mock: &MockHandle) -> Configuration {
    Configuration::from_toml_str(
        &format!(
            r#"
[[servers]]
name = "Mock"
url = "{}"
kind = "on_premises"
admin_user = "svc@contoso.test"
admin_password = "svc-pw"
auth_scheme = "basic"

[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{{ path = "/Contacts" }}]
to_exchange = {{ transfer_new = true, transfer_changed = true }}
to_conaktiv = {{ transfer_new = true, transfer_changed = true }}
"#,
            mock.url()
        ),
        "bench.toml",
    )
    .unwrap()
}

fn connector(mock: &MockHandle, db: &SqliteDb, state: &Path) -> Connector {
    Connector::from_config(
        config(mock),
        None,
        CrmStores::all(db.crm()),
        Arc::new(db.directory()),
        state,
    )
    .unwrap()
    .with_batch_size(BATCH)
}

/// Seeds a CRM database with the user and `N` contacts, and closes it.
async fn seed(path: &Path) {
    let db = SqliteDb::open(path).unwrap();
    db.directory()
        .put_user(&DirectoryUser {
            name: "bob".into(),
            display_name: "Bob".into(),
            mailbox: Some("bob@contoso.test".into()),
            active: true,
            ..DirectoryUser::default()
        })
        .await
        .unwrap();
    let crm = db.crm();
    for i in 0..N {
        let mut c = ContactPerson::default();
        c.name.given_name = format!("Vorname{i}");
        c.name.surname = format!("Nachname{i}");
        c.company = format!("Firma {} GmbH", i % 97);
        c.notes = "Seeded by the benchmark.".into();
        CrmStore::<ContactPerson>::create(&crm, Some("bob"), &c, None)
            .await
            .unwrap();
    }
    // the last connection closes here: the write-ahead log is checkpointed and removed, so
    // the file can be copied
}

/// A host store that does not implement `set_keys`: every call forwarded except that one, so
/// the trait's default runs (one `set_key`, one transaction, per key).
struct PerRecord(SqliteCrm);

#[async_trait]
impl CrmStore<ContactPerson> for PerRecord {
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError> {
        CrmStore::<ContactPerson>::list(&self.0, query).await
    }
    async fn get(&self, id: &str) -> Result<Option<Stored<ContactPerson>>, HostError> {
        self.0.get(id).await
    }
    async fn get_many(&self, ids: &[String]) -> Result<Vec<Stored<ContactPerson>>, HostError> {
        self.0.get_many(ids).await
    }
    async fn create(
        &self,
        owner: Option<&str>,
        record: &ContactPerson,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.0.create(owner, record, key).await
    }
    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &ContactPerson,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.0.update(id, expected, record, key).await
    }
    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        CrmStore::<ContactPerson>::delete(&self.0, id, expected).await
    }
    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        CrmStore::<ContactPerson>::set_key(&self.0, id, expected, key).await
    }
}

/// The key write-back of an initial sync alone: a `SetKey` for every contact through
/// `CrmSide::write` in batches of `BATCH`. Returns the number of batches, the process's CPU
/// time and the wall time of the writes.
async fn key_write_back<S: CrmStore<ContactPerson>>(store: S) -> (u64, Duration, Duration) {
    let mut side = CrmSide::new(
        store,
        JsonProjection::<ContactPerson>::default(),
        ListQuery::all().owned_by("bob"),
    );
    let listing = side.list().await.unwrap();
    let ops: Vec<WriteOp> = listing
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| WriteOp::SetKey {
            id: e.id.clone(),
            expected: e.version.clone(),
            key: format!("bench-key-{i}"),
        })
        .collect();
    assert_eq!(ops.len(), N);
    let (cpu0, _) = cpu_times();
    let start = Instant::now();
    let mut batches = 0;
    for chunk in ops.chunks(BATCH) {
        let out = side.write(chunk.to_vec()).await.unwrap();
        assert!(
            out.iter().all(|o| matches!(o, WriteOutcome::Done { .. })),
            "{out:?}"
        );
        batches += 1;
    }
    let wall = start.elapsed();
    let (cpu1, _) = cpu_times();
    (batches, cpu1.saturating_sub(cpu0), wall)
}

/// The child under strace, on a copy of the seeded database.
async fn fsync_child(mock: &MockHandle, db: &Path, mode: Mode) {
    let db = SqliteDb::open(db).unwrap();
    let batches = match mode {
        Mode::Sync => sync_once(mock, &db).await,
        Mode::KeysPerRecord => key_write_back(PerRecord(db.crm())).await.0,
        Mode::KeysBatched => key_write_back(db.crm()).await.0,
    };
    println!("write batches {batches}");
}

/// The initial sync, with a fresh sync state; returns the number of write batches.
async fn sync_once(mock: &MockHandle, db: &SqliteDb) -> u64 {
    let state = tempfile::tempdir().unwrap();
    let summary = connector(mock, db, state.path())
        .run(None, None)
        .await
        .unwrap();
    let report = summary.items[0].status.report().expect("job");
    assert!(report.is_complete(), "{report:?}");
    mock.request_counts()
        .get("CreateItem")
        .copied()
        .unwrap_or(0)
}

/// Runs `mode` under `strace` in a child process and prints fsyncs per write batch.
fn count_fsyncs(seeded: &Path, dir: &Path, mode: Mode, title: &str) {
    println!("\n== fsync/fdatasync per write batch: {title}");
    let method = "strace -f -c -e trace=fsync,fdatasync,pwrite64 on a child process of this \
                  benchmark (copy of the seeded database, fresh sync state; includes opening \
                  and closing the databases)";
    if Command::new("strace")
        .arg("-V")
        .output()
        .map_or(true, |o| !o.status.success())
    {
        println!("   unavailable: strace is not installed (method: {method})");
        return;
    }
    let copy = dir.join(format!("crm-fsync-{}.sqlite", mode.name()));
    std::fs::copy(seeded, &copy).unwrap();
    let out_file = dir.join(format!("strace-{}.txt", mode.name()));
    let exe = std::env::current_exe().unwrap();
    let child = Command::new("strace")
        .args(["-f", "--seccomp-bpf", "-qq", "-c", "-o"])
        .arg(&out_file)
        .args(["-e", "trace=fsync,fdatasync,pwrite64"])
        .arg(&exe)
        .env(CHILD_ENV, &copy)
        .env(CHILD_MODE_ENV, mode.name())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    let batches: Option<u64> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("write batches "))
        .and_then(|n| n.trim().parse().ok());
    let summary = std::fs::read_to_string(&out_file).unwrap_or_default();
    let calls = |name: &str| -> u64 {
        summary
            .lines()
            .filter_map(|l| {
                let t: Vec<&str> = l.split_whitespace().collect();
                (t.last() == Some(&name))
                    .then(|| t.get(3).and_then(|c| c.parse::<u64>().ok()))
                    .flatten()
            })
            .sum()
    };
    let (Some(batches), true) = (batches, child.status.success()) else {
        println!(
            "   unavailable: the child run failed ({}): {}",
            child.status,
            String::from_utf8_lossy(&child.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return;
    };
    let syncs = calls("fsync") + calls("fdatasync");
    println!("   method                 {method}");
    println!(
        "   fsync                  {:>7}\n   fdatasync              {:>7}\n   pwrite64               {:>7}",
        calls("fsync"),
        calls("fdatasync"),
        calls("pwrite64")
    );
    println!("   write batches          {batches:>7} (chunks of {BATCH})");
    println!(
        "   fsyncs per batch       {:>9.2}",
        syncs as f64 / batches.max(1) as f64
    );
}

/// How many initial syncs the CPU figure is the median of (`INITIAL_SYNC_REPEAT`, default 5).
fn repeats() -> usize {
    std::env::var("INITIAL_SYNC_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(5)
}

/// The connector's CPU time for one initial sync of `seeded` into a mock of its own (started
/// on the mock's runtime), with a fresh copy of the CRM database and a fresh sync state.
async fn measured_initial_sync(
    mock_rt: &tokio::runtime::Handle,
    seeded: &Path,
    dir: &Path,
    run: usize,
) -> Duration {
    let fresh = mock_rt
        .spawn(MockServer::start(MockConfig::new(
            OrgData::from_toml(ORG).unwrap(),
        )))
        .await
        .unwrap()
        .unwrap();
    let path = dir.join(format!("crm-repeat-{run}.sqlite"));
    std::fs::copy(seeded, &path).unwrap();
    let db = SqliteDb::open(&path).unwrap();
    let (cpu0, mock0) = cpu_times();
    let creates = sync_once(&fresh, &db).await;
    let (cpu1, mock1) = cpu_times();
    assert_eq!(creates as usize, N.div_ceil(BATCH));
    drop(db);
    mock_rt
        .spawn(async move { fresh.shutdown().await })
        .await
        .unwrap()
        .unwrap();
    cpu1.saturating_sub(cpu0)
        .saturating_sub(mock1.saturating_sub(mock0))
}

async fn run(mock: &MockHandle, mock_rt: &tokio::runtime::Handle) {
    let dir = tempfile::tempdir().unwrap();
    let seeded = dir.path().join("crm-seeded.sqlite");
    let seeding = Instant::now();
    seed(&seeded).await;
    println!(
        "seeded {N} CRM contacts in {:.2} s",
        seeding.elapsed().as_secs_f64()
    );

    let runs = repeats();
    let mut per_contact: Vec<f64> = Vec::with_capacity(runs);
    for r in 0..runs {
        let cpu = measured_initial_sync(mock_rt, &seeded, dir.path(), r).await;
        per_contact.push(cpu.as_secs_f64() * 1e6 / N as f64);
    }
    let in_order = per_contact.clone();
    per_contact.sort_by(f64::total_cmp);
    let median = per_contact[per_contact.len() / 2];
    println!(
        "\n== connector CPU per contact, initial sync of {N} contacts, {runs} runs (each with a \
         mock, CRM copy and sync state of its own; INITIAL_SYNC_REPEAT sets the count)"
    );
    println!(
        "   runs, in order         {} us (the first is the process's first run: its heap \
         still grows)",
        in_order
            .iter()
            .map(|v| format!("{v:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "   median                 {median:>7.0} us per contact (target <= 50 us: {})",
        if median <= 50.0 { "met" } else { "NOT met" }
    );
    let path = dir.path().join("crm.sqlite");
    std::fs::copy(&seeded, &path).unwrap();
    let db = SqliteDb::open(&path).unwrap();
    let connector = connector(mock, &db, &dir.path().join("state"));

    for (phase, items) in [
        (
            "initial sync (CRM -> Exchange; the feed is read once more past the run's own writes)",
            N,
        ),
        ("second run (no changes)", 0),
        ("third run (no changes)", 0),
    ] {
        mock.clear_log();
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let (cpu0, mock0) = cpu_times();
        let start = Instant::now();
        let summary = connector.run(None, None).await.unwrap();
        let secs = start.elapsed().as_secs_f64();
        let (cpu1, mock1) = cpu_times();
        let report = summary.items[0].status.report().expect("job");
        assert!(report.is_complete(), "{report:?}");
        print_phase(phase, &mock.request_counts(), secs, items, base);
        println!(
            "   writes                 {:>7} (to Exchange {}, to ConAktiv {})",
            report.writes(),
            report.to_exchange.content_writes(),
            report.to_conaktiv.content_writes()
        );
        let process = cpu1.saturating_sub(cpu0);
        let mock_cpu = mock1.saturating_sub(mock0);
        let own = process.saturating_sub(mock_cpu);
        println!(
            "   CPU (process / mock)   {:>9.2} s / {:.2} s",
            process.as_secs_f64(),
            mock_cpu.as_secs_f64()
        );
        println!(
            "   connector CPU          {:>9.2} s ({:.0} us per contact of {N})",
            own.as_secs_f64(),
            own.as_secs_f64() * 1e6 / N as f64
        );
        if items > 0 {
            let min = N.div_ceil(BATCH);
            let creates = mock
                .request_counts()
                .get("CreateItem")
                .copied()
                .unwrap_or(0);
            println!(
                "   CreateItem minimum     {min:>7} (batch {BATCH}); actual {creates} ({:+.1}%)",
                (creates as f64 / min as f64 - 1.0) * 100.0
            );
        }
    }
    let in_exchange = mock
        .mailbox("bob@contoso.test")
        .map_or(0, |m| m.items_in("contacts").count());
    println!("\ncontacts in Exchange: {in_exchange}");
    assert_eq!(in_exchange, N);
    drop(connector);
    drop(db);

    println!(
        "\n== key write-back alone ({N} SetKey through CrmSide::write in batches of {BATCH}, \
         no Exchange)"
    );
    for (name, batched) in [
        (
            "one transaction per key (a host store without set_keys: the trait's default)",
            false,
        ),
        ("one transaction per batch (SqliteCrm::set_keys)", true),
    ] {
        let path = dir.path().join(format!("crm-keys-{batched}.sqlite"));
        std::fs::copy(&seeded, &path).unwrap();
        let db = SqliteDb::open(&path).unwrap();
        let (batches, cpu, wall) = if batched {
            key_write_back(db.crm()).await
        } else {
            key_write_back(PerRecord(db.crm())).await
        };
        println!("   {name}");
        println!(
            "      CPU {:.2} s ({:.1} us per contact), wall {:.2} s, {batches} batches",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / N as f64,
            wall.as_secs_f64()
        );
    }

    count_fsyncs(
        &seeded,
        dir.path(),
        Mode::Sync,
        &format!("initial sync of {N} contacts"),
    );
    count_fsyncs(
        &seeded,
        dir.path(),
        Mode::KeysPerRecord,
        "key write-back alone, one transaction per key",
    );
    count_fsyncs(
        &seeded,
        dir.path(),
        Mode::KeysBatched,
        "key write-back alone, one transaction per batch",
    );
}
