#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test
#![cfg(feature = "postgres")]
//! Several machines' workers, as operators run them: three `conaktiv-exchange batch`
//! processes whose configuration says `[state] url = "postgres://…"` (password in
//! `[state] password`) share one PostgreSQL database — the CRM, the directory, the sync
//! state and the leases — against the mock Exchange over HTTP. One worker is killed with
//! SIGKILL while it holds leases in the middle of the initial sync. The bar: every
//! mailbox/table job done in the interval, none run twice, 0 duplicates and 0 lost records
//! on either side, and a following run that writes nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conaktiv_exchange::host::{CrmStore, DirectoryUser, ListQuery};
use conaktiv_exchange::postgres::PgDb;
use conaktiv_model::{Appointment, ContactPerson, Task};
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

const BIN: &str = env!("CARGO_BIN_EXE_conaktiv-exchange");
const SVC: &str = "svc@contoso.test";
const USERS: usize = 6;
/// Per user and table: records that start in the CRM, items that start in Exchange.
const CRM: usize = 30;
const EXCHANGE: usize = 10;
const TABLES: [&str; 3] = ["contacts", "appointments", "tasks"];

fn user(u: usize) -> String {
    format!("user{u}")
}

fn org_toml() -> String {
    let mut s = format!(
        "[settings]\ndomain = \"contoso.test\"\n\n[[users]]\naddress = \"{SVC}\"\npassword = \"svc-pw\"\nroles = [\"ApplicationImpersonation\"]\n"
    );
    for u in 0..USERS {
        let name = user(u);
        s.push_str(&format!(
            "\n[[users]]\naddress = \"{name}@contoso.test\"\npassword = \"pw\"\n\n[[mailboxes]]\nowner = \"{name}@contoso.test\"\nitems = [\n"
        ));
        for n in 0..EXCHANGE {
            s.push_str(&format!(
                "  {{ folder = \"contacts\", subject = \"EX-{name}-C-{n}\", fields = {{ GivenName = \"Ex\", Surname = \"EX-{name}-C-{n}\" }} }},\n  {{ folder = \"calendar\", subject = \"EX-{name}-A-{n}\", fields = {{ Start = \"2026-11-{d:02}T09:00:00Z\", End = \"2026-11-{d:02}T10:00:00Z\" }} }},\n  {{ folder = \"tasks\", subject = \"EX-{name}-T-{n}\" }},\n",
                d = 1 + n
            ));
        }
        s.push_str("]\n");
    }
    // Every write is slow, so the initial sync takes a few seconds and the kill lands in it.
    s.push_str(
        "\n[[faults]]\noperation = \"CreateItem\"\nfault = { kind = \"latency\", ms = 120 }\n",
    );
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

async fn seed(db: &PgDb) {
    let crm = db.crm();
    for u in 0..USERS {
        let name = user(u);
        db.directory()
            .put_user(&DirectoryUser {
                name: name.clone(),
                display_name: name.clone(),
                mailbox: Some(format!("{name}@contoso.test")),
                active: true,
                ..DirectoryUser::default()
            })
            .await
            .unwrap();
        for n in 0..CRM {
            let mut c = ContactPerson::default();
            c.name.given_name = "Crm".into();
            c.name.surname = format!("CRM-{name}-C-{n}");
            CrmStore::<ContactPerson>::create(&crm, Some(&name), &c, None)
                .await
                .unwrap();
            let start: chrono::DateTime<chrono::Utc> =
                format!("2026-12-{:02}T08:00:00Z", 1 + n % 28)
                    .parse()
                    .unwrap();
            let a = Appointment {
                subject: format!("CRM-{name}-A-{n}"),
                start,
                end: start + chrono::Duration::hours(1),
                start_time_zone: "Europe/Berlin".into(),
                end_time_zone: "Europe/Berlin".into(),
                ..Appointment::default()
            };
            CrmStore::<Appointment>::create(&crm, Some(&name), &a, None)
                .await
                .unwrap();
            let t = Task {
                subject: format!("CRM-{name}-T-{n}"),
                ..Task::default()
            };
            CrmStore::<Task>::create(&crm, Some(&name), &t, None)
                .await
                .unwrap();
        }
    }
}

/// `postgres://user:password@host/db` → (`postgres://user@host/db`, password).
fn split_password(url: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let at = rest.find('@').unwrap();
    let (user, pw) = rest[..at].split_once(':').unwrap();
    (format!("{scheme}://{user}{}", &rest[at..]), pw.to_owned())
}

/// Per user and table, the titles the CRM holds (one entry per record).
async fn crm_titles(db: &PgDb) -> BTreeMap<(String, &'static str), Vec<String>> {
    let crm = db.crm();
    let mut out = BTreeMap::new();
    for u in 0..USERS {
        let name = user(u);
        let q = ListQuery::all().owned_by(name.clone());
        let mut titles = |table: &'static str, v: Vec<String>| {
            out.insert((name.clone(), table), v);
        };
        let ids = |m: Vec<conaktiv_exchange::host::RecordMeta>| {
            m.into_iter().map(|m| m.id).collect::<Vec<_>>()
        };
        let c = CrmStore::<ContactPerson>::list(&crm, &q).await.unwrap();
        let c = CrmStore::<ContactPerson>::get_many(&crm, &ids(c))
            .await
            .unwrap();
        titles(
            "contacts",
            c.into_iter().map(|r| r.record.name.surname).collect(),
        );
        let a = CrmStore::<Appointment>::list(&crm, &q).await.unwrap();
        let a = CrmStore::<Appointment>::get_many(&crm, &ids(a))
            .await
            .unwrap();
        titles(
            "appointments",
            a.into_iter().map(|r| r.record.subject).collect(),
        );
        let t = CrmStore::<Task>::list(&crm, &q).await.unwrap();
        let t = CrmStore::<Task>::get_many(&crm, &ids(t)).await.unwrap();
        titles("tasks", t.into_iter().map(|r| r.record.subject).collect());
    }
    out
}

/// Per user and table, the titles Exchange holds (one entry per item).
fn exchange_titles(mock: &MockHandle) -> BTreeMap<(String, &'static str), Vec<String>> {
    let mut out = BTreeMap::new();
    for u in 0..USERS {
        let name = user(u);
        let mailbox = mock.mailbox(&format!("{name}@contoso.test")).unwrap();
        for (table, folder) in TABLES.iter().zip(["contacts", "calendar", "tasks"]) {
            let titles = mailbox
                .items_in(folder)
                .filter_map(|i| {
                    if *table == "contacts" {
                        let rest = &i.xml[i.xml.find("Surname>")? + "Surname>".len()..];
                        Some(rest[..rest.find('<')?].to_owned())
                    } else {
                        i.subject.clone()
                    }
                })
                .collect();
            out.insert((name.clone(), *table), titles);
        }
    }
    out
}

fn expected(user: &str, table: &str) -> BTreeSet<String> {
    let t = match table {
        "contacts" => "C",
        "appointments" => "A",
        _ => "T",
    };
    (0..CRM)
        .map(|n| format!("CRM-{user}-{t}-{n}"))
        .chain((0..EXCHANGE).map(|n| format!("EX-{user}-{t}-{n}")))
        .collect()
}

/// Every title once on both sides, none missing.
fn assert_converged(
    crm: &BTreeMap<(String, &'static str), Vec<String>>,
    exchange: &BTreeMap<(String, &'static str), Vec<String>>,
) {
    for u in 0..USERS {
        for table in TABLES {
            let key = (user(u), table);
            let want = expected(&key.0, table);
            for (side, got) in [("CRM", &crm[&key]), ("Exchange", &exchange[&key])] {
                let mut sorted = got.clone();
                sorted.sort();
                let distinct: BTreeSet<String> = sorted.iter().cloned().collect();
                assert_eq!(
                    sorted.len(),
                    distinct.len(),
                    "duplicates in {side} for {key:?}: {sorted:?}"
                );
                assert_eq!(distinct, want, "{side} for {key:?}");
            }
        }
    }
}

struct Worker {
    child: tokio::process::Child,
}

fn spawn(args: &[String], n: usize, seen: &Arc<Mutex<Vec<(usize, Value)>>>) -> Worker {
    let mut child = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("CONAKTIV_EXCHANGE_CONFIG")
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let seen = Arc::clone(seen);
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                for item in v["items"].as_array().into_iter().flatten() {
                    seen.lock().unwrap().push((n, item.clone()));
                }
            }
        }
    });
    Worker { child }
}

/// How many jobs have run since `since_ms` (by the scheduler's state), and how many leases
/// `pid`'s process holds now.
async fn progress(pool: &sync_core::postgres::PgPool, since_ms: i64, pid: u32) -> (i64, i64) {
    let c = pool.client().await.unwrap();
    let done: i64 = c
        .query_one(
            "SELECT count(*) FROM scheduler_items WHERE last_run_ms >= $1",
            &[&since_ms],
        )
        .await
        .unwrap()
        .get(0);
    let held: i64 = c
        .query_one(
            "SELECT count(*) FROM scheduler_leases WHERE holder LIKE $1",
            &[&format!("%/{pid}/%")],
        )
        .await
        .unwrap()
        .get(0);
    (done, held)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_on_postgres_share_the_jobs_and_finish_a_killed_workers_share() {
    let Some((pool, url)) = common::scratch_postgres().await else {
        return;
    };
    let db = PgDb::open(&pool).await.unwrap();
    seed(&db).await;
    // The scheduler's tables, for watching the workers (they would create them too).
    conaktiv_exchange::scheduler::SchedulerStore::postgres(&pool)
        .await
        .unwrap();
    let mock = MockServer::start(MockConfig::new(OrgData::from_toml(&org_toml()).unwrap()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (url, password) = split_password(&url);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[servers]]\nname = \"Mock\"\nurl = \"{}\"\nkind = \"on_premises\"\nadmin_user = \"{SVC}\"\nadmin_password = \"svc-pw\"\nauth_scheme = \"basic\"\n{RULES}\n[state]\nurl = \"{url}\"\npassword = \"{password}\"\n",
            mock.url()
        ),
    )
    .unwrap();
    // Each worker on its own (empty) local folder, as on separate machines: everything
    // shared is in PostgreSQL.
    let args = |n: usize| -> Vec<String> {
        let db = dir.path().join(format!("worker{n}.sqlite"));
        [
            "--config",
            config.to_str().unwrap(),
            "--json",
            "batch",
            "--db",
            db.to_str().unwrap(),
            "--concurrency",
            "2",
            "--lease-ttl-secs",
            "6",
            "--poll-secs",
            "1",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    let jobs = (USERS * TABLES.len()) as i64;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let since = chrono::Utc::now().timestamp_millis();
    let mut workers: Vec<Worker> = (0..3).map(|n| spawn(&args(n), n, &seen)).collect();

    // Kill worker 0 while it holds leases, after some jobs are done.
    let victim = workers[0].child.id().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let at_kill = loop {
        let (done, held) = progress(&pool, since, victim).await;
        if held > 0 && done >= 2 {
            break (done, held);
        }
        assert!(
            done < jobs && Instant::now() < deadline,
            "no moment with worker 0 holding leases mid-run (done {done}, held {held})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    workers[0].child.start_kill().unwrap(); // SIGKILL: its leases stay behind
    workers[0].child.wait().await.unwrap();
    eprintln!(
        "killed worker 0 with {} lease(s), {} job(s) done",
        at_kill.1, at_kill.0
    );

    // The other two finish every job of the interval, the killed worker's among them.
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (done, _) = progress(&pool, since, victim).await;
        if done == jobs {
            break;
        }
        assert!(Instant::now() < deadline, "only {done} of {jobs} jobs done");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A few more polls: nobody runs a job a second time in the interval.
    tokio::time::sleep(Duration::from_secs(3)).await;
    for w in &mut workers[1..] {
        common::sigterm(w.child.id().unwrap());
        let status = tokio::time::timeout(Duration::from_secs(30), w.child.wait())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status.code(), Some(0), "a worker stopped cleanly");
    }

    let seen = seen.lock().unwrap().clone();
    let mut succeeded: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut state_ms = 0;
    for (n, item) in &seen {
        state_ms += item["report"]["state_store_ms"].as_u64().unwrap_or(0);
        let status = item["status"].as_str().unwrap_or_default();
        assert_ne!(status, "failed", "worker {n}: {item}");
        if status == "succeeded" {
            succeeded
                .entry(format!("{}/{}", item["mailbox"], item["table"]))
                .or_default()
                .push(*n);
        }
    }
    for (job, by) in &succeeded {
        assert_eq!(
            by.len(),
            1,
            "{job} ran more than once in the interval: {by:?}"
        );
    }
    assert!(
        state_ms > 0,
        "the reports say how long the state store took"
    );
    let survivors: BTreeSet<usize> = succeeded.values().flatten().copied().collect();
    assert!(
        survivors.contains(&1) && survivors.contains(&2),
        "both remaining workers took jobs: {succeeded:?}"
    );

    // 0 duplicates, 0 lost, on both sides.
    assert_converged(&crm_titles(&db).await, &exchange_titles(&mock));

    // A run now (the admin's "run now", `sync`, on the same database) writes nothing.
    let out = tokio::process::Command::new(BIN)
        .args([
            "--config",
            config.to_str().unwrap(),
            "--json",
            "sync",
            "--db",
        ])
        .arg(dir.path().join("admin.sqlite"))
        .env("RUST_LOG", "error")
        .output()
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.code(), Some(0), "{report}");
    let items = report["items"].as_array().unwrap();
    assert_eq!(items.len(), jobs as usize, "{report}");
    for item in items {
        assert_eq!(item["status"], "succeeded", "{item}");
        for dir in ["to_exchange", "to_conaktiv"] {
            for k in ["new", "changed", "deleted"] {
                assert_eq!(
                    item["report"][dir][k], 0,
                    "a quiet run writes nothing: {item}"
                );
            }
        }
    }
    assert!(
        !dir.path()
            .join("worker1.sqlite.state")
            .join("scheduler.sqlite")
            .exists(),
        "the leases are in PostgreSQL, not in a worker's folder"
    );
}

/// `add-user` and `import` with a configuration whose `[state] url` names PostgreSQL fill
/// that database (the workers' directory and CRM), not an SQLite file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_user_and_import_fill_the_postgres_database_of_the_configuration() {
    let Some((pool, url)) = common::scratch_postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (url, password) = split_password(&url);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[state]\nurl = \"{url}\"\npassword = \"{password}\"\n"),
    )
    .unwrap();
    let sqlite = dir.path().join("unused.sqlite");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .arg("--json")
            .args(args)
            .arg("--db")
            .arg(&sqlite)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["add-user", "anna", "--mailbox", "anna@contoso.test"]);
    let file = dir.path().join("import.json");
    std::fs::write(
        &file,
        r#"{"users": [{"name": "bert", "mailbox": "bert@contoso.test"}],
            "contacts": [{"owner": "anna", "record": {"name": {"given_name": "Ida", "surname": "Import"}}}]}"#,
    )
    .unwrap();
    run(&["import", file.to_str().unwrap()]);
    assert!(!sqlite.exists(), "nothing went to the SQLite file");
    let db = PgDb::open(&pool).await.unwrap();
    let users: Vec<String> = conaktiv_exchange::host::UserDirectory::users(&db.directory())
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(users, ["anna", "bert"]);
    let contacts = CrmStore::<ContactPerson>::list(&db.crm(), &ListQuery::all().owned_by("anna"))
        .await
        .unwrap();
    assert_eq!(contacts.len(), 1);
}
