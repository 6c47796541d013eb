//! Many mailboxes, several workers: 1,000 mailboxes × 3 tables (contacts, appointments,
//! tasks; 10 records per table in the CRM and 10 in Exchange, so 20 items each after the
//! first run) against ews-mock, an initial sync and a no-change run, with 1, 2 and 4
//! `conaktiv-exchange batch` worker processes on PostgreSQL and 1 on SQLite.
//!
//! `cargo bench -p conaktiv-exchange --bench fleet`. PostgreSQL comes from
//! `CONAKTIV_TEST_POSTGRES_URL` (scripts/postgres/setup.sh; a scratch database per
//! scenario); without it only the SQLite scenario runs. Environment:
//! `FLEET_MAILBOXES` (default `1000`; a list such as `100,1000,5000` shows how the no-change
//! cost per mailbox grows), `FLEET_SCENARIOS` (default `pg:1,pg:2,pg:4,sqlite:1`),
//! `FLEET_CONCURRENCY` (jobs at once per worker, default 27), `FLEET_LATENCY_MS` (the mock
//! waits this long before answering each request, as a server across a network does;
//! default 0). On a small machine the workers, the PostgreSQL server and the mock share the
//! same cores, so extra workers can only show how they scale when the time goes to waiting
//! for the server: run with a latency (e.g. `FLEET_LATENCY_MS=100`) to see that. The
//! workers share the service account's Exchange budget (27 concurrent requests, 5
//! concurrent `Sync*` calls by default, which the mock enforces); `FLEET_MOCK_LIMITS=C,S`
//! raises the mock's (as an admin raises the account's throttling policy) and
//! `FLEET_SYNC_CALLS=N` sets each worker's share (`ews_concurrent_sync_calls`).
//!
//! The workers run in loop mode (each job once per interval, shared by whichever worker
//! takes its lease) until the scheduler's state says every job ran; between the phases the
//! bench clears that record, so the no-change run happens in the same interval.
//!
//! Printed per scenario and phase: wall time, requests per mailbox by operation (the mock's
//! log), worker CPU (user + system, from `/proc`), the state-store time share (time in the
//! sync state store over the jobs' time, from the workers' reports), peak memory (VmHWM) per
//! worker, and the jobs' statuses (every job must succeed exactly once per run).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use conaktiv_exchange::host::{CrmStore, DirectoryUser};
use conaktiv_model::{Appointment, ContactPerson, Task};
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_conaktiv-exchange");
const SVC: &str = "svc@contoso.test";
const PER_SIDE: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

fn org_toml(mailboxes: usize) -> String {
    let mut s = format!(
        "[settings]\ndomain = \"contoso.test\"\n\n[[users]]\naddress = \"{SVC}\"\npassword = \"svc-pw\"\nroles = [\"ApplicationImpersonation\"]\n"
    );
    for u in 0..mailboxes {
        let _ = write!(
            s,
            "\n[[users]]\naddress = \"u{u:05}@contoso.test\"\npassword = \"pw\"\n\n[[mailboxes]]\nowner = \"u{u:05}@contoso.test\"\nitems = [\n"
        );
        for n in 0..PER_SIDE {
            let _ = writeln!(
                s,
                "  {{ folder = \"contacts\", subject = \"EX-{u}-C-{n}\", fields = {{ GivenName = \"Ex\", Surname = \"EX-{u}-C-{n}\" }} }},"
            );
            let _ = writeln!(
                s,
                "  {{ folder = \"calendar\", subject = \"EX-{u}-A-{n}\", fields = {{ Start = \"2026-11-{:02}T09:00:00Z\", End = \"2026-11-{:02}T10:00:00Z\" }} }},",
                1 + n % 28,
                1 + n % 28
            );
            let _ = writeln!(s, "  {{ folder = \"tasks\", subject = \"EX-{u}-T-{n}\" }},");
        }
        s.push_str("]\n");
    }
    s
}

const RULES: &str = r#"
[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts" }]
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }

[[rules]]
description = "Termine"
table = "appointments"
master = "exchange"
sync_folders = [{ path = "/Calendar" }]
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }

[[rules]]
description = "Aufgaben"
table = "tasks"
master = "conaktiv"
sync_folders = [{ path = "/Tasks" }]
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }

[[batch_tasks]]
group = "Exchange Abgleich"
task = "Abgleich"
run_on = "client"
interval_minutes = 60
active = true
start_automatically = true
"#;

/// Seeds the directory and the CRM records of every mailbox into `crm`.
async fn seed<S>(crm: &S, put_user: impl AsyncFn(DirectoryUser), mailboxes: usize)
where
    S: CrmStore<ContactPerson> + CrmStore<Appointment> + CrmStore<Task>,
{
    for u in 0..mailboxes {
        let user = format!("u{u:05}");
        put_user(DirectoryUser {
            name: user.clone(),
            display_name: user.clone(),
            mailbox: Some(format!("{user}@contoso.test")),
            active: true,
            ..DirectoryUser::default()
        })
        .await;
        for n in 0..PER_SIDE {
            let mut c = ContactPerson::default();
            c.name.given_name = "Crm".into();
            c.name.surname = format!("CRM-{u}-C-{n}");
            CrmStore::<ContactPerson>::create(crm, Some(&user), &c, None)
                .await
                .unwrap();
            let start: chrono::DateTime<chrono::Utc> =
                format!("2026-12-{:02}T08:00:00Z", 1 + n).parse().unwrap();
            let a = Appointment {
                subject: format!("CRM-{u}-A-{n}"),
                start,
                end: start + chrono::Duration::hours(1),
                start_time_zone: "Europe/Berlin".into(),
                end_time_zone: "Europe/Berlin".into(),
                ..Appointment::default()
            };
            CrmStore::<Appointment>::create(crm, Some(&user), &a, None)
                .await
                .unwrap();
            let t = Task {
                subject: format!("CRM-{u}-T-{n}"),
                ..Task::default()
            };
            CrmStore::<Task>::create(crm, Some(&user), &t, None)
                .await
                .unwrap();
        }
    }
}

/// One scenario's world: the mock, a folder with the configuration and (SQLite) the CRM.
struct World {
    mock: MockHandle,
    _dir: tempfile::TempDir,
    config: PathBuf,
    db: PathBuf,
    mailboxes: usize,
    backend: Backend,
    pool: Option<sync_core::postgres::PgPool>,
}

/// `postgres://user:password@host/db` → (`postgres://user@host/db`, password).
fn split_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_owned(), None);
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, pw)) => (format!("{scheme}://{user}@{host}{path}"), Some(pw.into())),
            None => (url.to_owned(), None),
        },
        None => (url.to_owned(), None),
    }
}

async fn world(backend: Backend, mailboxes: usize) -> World {
    // The mock's defaults: 27 concurrent requests and 5 concurrent sync calls per account,
    // as Exchange's default throttling policy.
    let mut data = OrgData::from_toml(&org_toml(mailboxes)).unwrap();
    let latency_ms: u64 = std::env::var("FLEET_LATENCY_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    if latency_ms > 0 {
        data.faults
            .push(ews_mock::FaultRule::always(ews_mock::Fault::Latency {
                ms: latency_ms,
            }));
    }
    let config = MockConfig::new(data);
    let mock = MockServer::start(config).await.unwrap();
    if let Some((c, sync)) = std::env::var("FLEET_MOCK_LIMITS").ok().and_then(|v| {
        Some((
            v.split_once(',')?.0.parse().ok()?,
            v.split_once(',')?.1.parse().ok()?,
        ))
    }) {
        mock.set_limits(c, sync);
    }
    let sync_calls = std::env::var("FLEET_SYNC_CALLS")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map(|n| format!("ews_concurrent_sync_calls = {n}\n"))
        .unwrap_or_default();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.sqlite");
    let seeding = Instant::now();
    let mut pg_pool = None;
    let state = match backend {
        Backend::Sqlite => {
            let sqlite = conaktiv_exchange::sqlite::SqliteDb::open(&db).unwrap();
            let directory = sqlite.directory();
            seed(
                &sqlite.crm(),
                async |u| directory.put_user(&u).await.unwrap(),
                mailboxes,
            )
            .await;
            String::new()
        }
        Backend::Postgres => {
            let base = std::env::var("CONAKTIV_TEST_POSTGRES_URL").unwrap();
            let url = sync_core::postgres::create_scratch_database(&base)
                .await
                .unwrap();
            let pool = sync_core::postgres::PgPool::connect(&url, None, 8).unwrap();
            let pg = conaktiv_exchange::postgres::PgDb::open(&pool)
                .await
                .unwrap();
            let directory = pg.directory();
            seed(
                &pg.crm(),
                async |u| directory.put_user(&u).await.unwrap(),
                mailboxes,
            )
            .await;
            pg_pool = Some(pool.clone());
            let (url, password) = split_password(&url);
            let mut s = format!("\n[state]\nurl = \"{url}\"\nmax_connections = 32\n");
            if let Some(pw) = password {
                let _ = writeln!(s, "password = \"{pw}\"");
            }
            s
        }
    };
    println!(
        "   seeded {mailboxes} mailboxes ({} CRM records) in {:.1} s",
        mailboxes * PER_SIDE * 3,
        seeding.elapsed().as_secs_f64()
    );
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "[[servers]]\nname = \"Mock\"\nurl = \"{}\"\nkind = \"on_premises\"\nadmin_user = \"{SVC}\"\nadmin_password = \"svc-pw\"\nauth_scheme = \"basic\"\n{sync_calls}{RULES}{state}",
            mock.url()
        ),
    )
    .unwrap();
    World {
        mock,
        _dir: dir,
        config: config_path,
        db,
        mailboxes,
        backend,
        pool: pg_pool,
    }
}

/// (user + system CPU, peak resident memory) of a running process, from `/proc`.
fn sample(pid: u32) -> Option<(Duration, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()?;
    // USER_HZ is 100 on Linux.
    Some((Duration::from_millis(ticks * 10), hwm))
}

/// CPU of every PostgreSQL server process (the postmaster and its backends), from `/proc`.
fn postgres_cpu() -> Duration {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Duration::ZERO;
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| sample(pid).map(|s| s.0))
        .sum()
}

/// (busy, total) jiffies of the whole machine, from `/proc/stat`.
fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = stat.lines().next() else {
        return (0, 0);
    };
    let v: Vec<u64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

fn own_cpu() -> Duration {
    sample(std::process::id()).map(|s| s.0).unwrap_or_default()
}

struct Phase {
    wall: Duration,
    /// CPU of the PostgreSQL server processes during the phase.
    postgres: Duration,
    /// Share of the machine's CPU time that was busy during the phase.
    machine_busy: f64,
    cpu: Vec<Duration>,
    peak_kib: Vec<u64>,
    reports: Vec<Value>,
}

impl World {
    /// A worker in loop mode (each job once per interval, shared with the other workers);
    /// with PostgreSQL each on its own local folder, as on its own machine.
    fn worker(&self, n: usize, concurrency: usize) -> Child {
        let db = match self.backend {
            Backend::Sqlite => self.db.clone(),
            Backend::Postgres => self.db.with_file_name(format!("worker{n}.sqlite")),
        };
        let mut c = Command::new(BIN);
        c.arg("--config")
            .arg(&self.config)
            .arg("--json")
            .args([
                "batch",
                "--concurrency",
                &concurrency.to_string(),
                "--poll-secs",
                "1",
            ])
            .arg("--db")
            .arg(db)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        c.spawn().unwrap()
    }

    /// How many jobs ran since `since_ms`, by the scheduler's state.
    async fn done_since(&self, since_ms: i64) -> i64 {
        match &self.pool {
            Some(pool) => pool
                .client()
                .await
                .unwrap()
                .query_one(
                    "SELECT count(*) FROM scheduler_items WHERE last_run_ms >= $1",
                    &[&since_ms],
                )
                .await
                .map(|r| r.get(0))
                .unwrap_or(0),
            None => {
                let mut path = self.db.as_os_str().to_owned();
                path.push(".state/scheduler.sqlite");
                rusqlite::Connection::open(PathBuf::from(path))
                    .and_then(|c| {
                        c.busy_timeout(Duration::from_secs(5))?;
                        c.query_row(
                            "SELECT count(*) FROM scheduler_items WHERE last_run_ms >= ?1",
                            [since_ms],
                            |r| r.get(0),
                        )
                    })
                    .unwrap_or(0)
            }
        }
    }

    /// Runs `workers` processes until every job has run once in this phase, sampling each
    /// one's CPU and memory, then stops them (SIGTERM).
    async fn phase(&self, workers: usize, concurrency: usize) -> Phase {
        self.mock.clear_log();
        let since = chrono::Utc::now().timestamp_millis();
        let pg0 = postgres_cpu();
        let machine0 = machine_jiffies();
        let start = Instant::now();
        let mut children: Vec<Child> = (0..workers).map(|n| self.worker(n, concurrency)).collect();
        let readers: Vec<_> = children
            .iter_mut()
            .map(|c| {
                let mut out = c.stdout.take().unwrap();
                std::thread::spawn(move || {
                    use std::io::Read;
                    let mut o = Vec::new();
                    let _ = out.read_to_end(&mut o);
                    o
                })
            })
            .collect();
        let jobs = (self.mailboxes * 3) as i64;
        let mut last: Vec<(Duration, u64)> = vec![(Duration::ZERO, 0); workers];
        loop {
            for (i, c) in children.iter_mut().enumerate() {
                if let Some(s) = sample(c.id()) {
                    last[i] = s;
                }
                if let Some(status) = c.try_wait().unwrap() {
                    panic!("worker {i} ended early: {status}");
                }
            }
            if self.done_since(since).await >= jobs {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let wall = start.elapsed();
        let postgres = postgres_cpu().saturating_sub(pg0);
        let machine1 = machine_jiffies();
        let machine_busy =
            (machine1.0 - machine0.0) as f64 / (machine1.1 - machine0.1).max(1) as f64;
        for c in &mut children {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
        }
        for c in &mut children {
            c.wait().unwrap();
        }
        let mut reports = Vec::new();
        for r in readers {
            let out = r.join().unwrap();
            for line in String::from_utf8_lossy(&out).lines() {
                if let Ok(v) = serde_json::from_str::<Value>(line) {
                    reports.push(v);
                }
            }
        }
        // The next phase runs every job again (in the same interval): forget the runs.
        self.reset_runs().await;
        Phase {
            wall,
            postgres,
            machine_busy,
            cpu: last.iter().map(|s| s.0).collect(),
            peak_kib: last.iter().map(|s| s.1).collect(),
            reports,
        }
    }

    async fn reset_runs(&self) {
        const SQL: &str = "UPDATE scheduler_items SET last_run_ms = NULL, last_run_by = NULL";
        match &self.pool {
            Some(pool) => {
                pool.client()
                    .await
                    .unwrap()
                    .execute(SQL, &[])
                    .await
                    .unwrap();
            }
            None => {
                let mut path = self.db.as_os_str().to_owned();
                path.push(".state/scheduler.sqlite");
                let c = rusqlite::Connection::open(PathBuf::from(path)).unwrap();
                c.execute(SQL, []).unwrap();
            }
        }
    }

    fn print(&self, name: &str, p: &Phase, mock_cpu: Duration) -> BTreeMap<String, usize> {
        let n = self.mailboxes as f64;
        let counts = self.mock.request_counts();
        let total: u64 = counts.values().sum();
        println!("   -- {name}");
        println!(
            "      wall time               {:>9.2} s",
            p.wall.as_secs_f64()
        );
        println!(
            "      requests per mailbox    {:>9.2}  ({})",
            total as f64 / n,
            counts
                .iter()
                .map(|(op, c)| format!("{op} {:.2}", *c as f64 / n))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let cpu: Duration = p.cpu.iter().sum();
        println!(
            "      worker CPU              {:>9.2} s ({:.0} µs per mailbox; per worker {})",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1e6 / n,
            p.cpu
                .iter()
                .map(|c| format!("{:.2} s", c.as_secs_f64()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        println!(
            "      mock CPU                {:>9.2} s",
            mock_cpu.as_secs_f64()
        );
        if self.backend == Backend::Postgres {
            println!(
                "      PostgreSQL server CPU   {:>9.2} s",
                p.postgres.as_secs_f64()
            );
        }
        println!(
            "      machine busy            {:>9.1} % of {} cores",
            p.machine_busy * 100.0,
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        );
        println!(
            "      peak memory per worker  {}",
            p.peak_kib
                .iter()
                .map(|k| format!("{:.1} MiB", *k as f64 / 1024.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        let mut per_job: BTreeMap<(String, String), usize> = BTreeMap::new();
        let (mut state_ms, mut job_ms) = (0u64, 0u64);
        for r in &p.reports {
            for item in r["items"].as_array().cloned().unwrap_or_default() {
                let status = item["status"].as_str().unwrap_or("?").to_owned();
                if status == "succeeded" {
                    *per_job
                        .entry((
                            item["mailbox"].as_str().unwrap_or("").to_owned(),
                            item["table"].as_str().unwrap_or("").to_owned(),
                        ))
                        .or_default() += 1;
                    job_ms += item["duration_ms"].as_u64().unwrap_or(0);
                    state_ms += item["report"]["state_store_ms"].as_u64().unwrap_or(0);
                }
                *statuses.entry(status).or_default() += 1;
            }
        }
        println!(
            "      state-store time share  {:>9.1} % ({state_ms} ms of {job_ms} ms in jobs)",
            if job_ms > 0 {
                state_ms as f64 * 100.0 / job_ms as f64
            } else {
                0.0
            }
        );
        let twice = per_job.values().filter(|&&c| c > 1).count();
        println!(
            "      jobs                    {statuses:?}; {} distinct succeeded, {twice} more than once",
            per_job.len()
        );
        assert_eq!(twice, 0, "a job ran twice in one run");
        assert_eq!(
            per_job.len(),
            self.mailboxes * 3,
            "every job succeeded once: {statuses:?}"
        );
        statuses
    }
}

fn main() {
    let mailboxes: Vec<usize> = std::env::var("FLEET_MAILBOXES")
        .unwrap_or_else(|_| "1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let concurrency: usize = std::env::var("FLEET_CONCURRENCY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(27);
    let have_pg = std::env::var("CONAKTIV_TEST_POSTGRES_URL").is_ok();
    let scenarios: Vec<(Backend, usize)> = std::env::var("FLEET_SCENARIOS")
        .unwrap_or_else(|_| "pg:1,pg:2,pg:4,sqlite:1".into())
        .split(',')
        .filter_map(|s| {
            let (b, n) = s.trim().split_once(':')?;
            let backend = match b {
                "pg" | "postgres" => Backend::Postgres,
                "sqlite" => Backend::Sqlite,
                _ => return None,
            };
            Some((backend, n.parse().ok()?))
        })
        .filter(|(b, _)| {
            if *b == Backend::Postgres && !have_pg {
                println!("(PostgreSQL scenarios skipped: CONAKTIV_TEST_POSTGRES_URL is not set)");
                return false;
            }
            true
        })
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for &n in &mailboxes {
        for &(backend, workers) in &scenarios {
            println!(
                "\n== {n} mailboxes × 3 tables, {workers} worker(s) on {}, concurrency {concurrency} per worker{}",
                match backend {
                    Backend::Sqlite => "SQLite",
                    Backend::Postgres => "PostgreSQL",
                },
                match std::env::var("FLEET_LATENCY_MS")
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                {
                    Some(ms) if ms > 0 => format!(", {ms} ms server latency"),
                    _ => String::new(),
                }
            );
            let w = rt.block_on(world(backend, n));
            for name in ["initial sync", "no-change run"] {
                let cpu0 = own_cpu();
                let p = rt.block_on(w.phase(workers, concurrency));
                w.print(name, &p, own_cpu().saturating_sub(cpu0));
            }
        }
    }
}
