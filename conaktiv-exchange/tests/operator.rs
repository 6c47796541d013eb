#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test
//! Operators' situations with the real `conaktiv-exchange` binary against the mock Exchange
//! over HTTP: two processes on the same databases at once, and `kill -9` at seeded points of
//! a sync of a few thousand records in every table. The bar: 0 duplicates, 0 lost, every
//! record keyed on both sides, and a following run that writes nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use conaktiv_exchange::exchange::{ExchangeSide, ExchangeSideConfig, ExchangeTable};
use conaktiv_exchange::host::{CrmStore, DirectoryUser, ListQuery};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::config::SyncFolder;
use conaktiv_model::values::FolderPath;
use conaktiv_model::{Appointment, ContactPerson, Task};
use ews_client::transport::{Auth, TransportConfig};
use ews_client::{Client, ClientConfig};
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};
use serde_json::Value;
use sync_core::Side;

const BIN: &str = env!("CARGO_BIN_EXE_conaktiv-exchange");
const SVC: &str = "svc@contoso.test";
const USERS: [&str; 2] = ["anna", "bert"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Table {
    Contacts,
    Appointments,
    Tasks,
}

const TABLES: [Table; 3] = [Table::Contacts, Table::Appointments, Table::Tasks];

impl Table {
    fn short(self) -> &'static str {
        match self {
            Table::Contacts => "C",
            Table::Appointments => "A",
            Table::Tasks => "T",
        }
    }

    fn exchange(self) -> (ExchangeTable, &'static str, &'static str) {
        match self {
            Table::Contacts => (ExchangeTable::Contacts, "/Contacts", "surname"),
            Table::Appointments => (ExchangeTable::Appointments, "/Calendar", "subject"),
            Table::Tasks => (ExchangeTable::Tasks, "/Tasks", "subject"),
        }
    }
}

/// How many records each user starts with: (in the CRM, in Exchange) per table.
#[derive(Clone, Copy)]
struct Sizes {
    crm: [usize; 3],
    exchange: [usize; 3],
}

struct World {
    mock: MockHandle,
    _dir: tempfile::TempDir,
    config: PathBuf,
    db: PathBuf,
    /// The titles every table of every user must end with.
    expected: BTreeMap<(String, Table), BTreeSet<String>>,
}

fn title(user: &str, origin: &str, table: Table, n: usize) -> String {
    format!("{origin}-{user}-{}-{n:05}", table.short())
}

fn org_toml(sizes: Sizes) -> String {
    let mut s = format!(
        "[settings]\ndomain = \"contoso.test\"\n\n[[users]]\naddress = \"{SVC}\"\npassword = \"svc-pw\"\nroles = [\"ApplicationImpersonation\"]\n"
    );
    for user in USERS {
        s.push_str(&format!(
            "\n[[users]]\naddress = \"{user}@contoso.test\"\npassword = \"pw\"\n\n[[mailboxes]]\nowner = \"{user}@contoso.test\"\nitems = [\n"
        ));
        for (t, table) in TABLES.iter().enumerate() {
            for n in 0..sizes.exchange[t] {
                let name = title(user, "EX", *table, n);
                let line = match table {
                    Table::Contacts => format!(
                        "  {{ folder = \"contacts\", subject = \"{name}\", fields = {{ GivenName = \"Ex\", Surname = \"{name}\" }} }},\n"
                    ),
                    Table::Appointments => format!(
                        "  {{ folder = \"calendar\", subject = \"{name}\", fields = {{ Start = \"2026-11-{:02}T09:00:00Z\", End = \"2026-11-{:02}T10:00:00Z\" }} }},\n",
                        1 + n % 28,
                        1 + n % 28
                    ),
                    Table::Tasks => {
                        format!("  {{ folder = \"tasks\", subject = \"{name}\" }},\n")
                    }
                };
                s.push_str(&line);
            }
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
interval_minutes = 5
"#;

/// Creates one CRM record of a table for `user`.
async fn add_crm_record(
    crm: &conaktiv_exchange::sqlite::SqliteCrm,
    user: &str,
    table: Table,
    name: &str,
    n: usize,
) {
    let name = name.to_owned();
    match table {
        Table::Contacts => {
            let mut c = ContactPerson::default();
            c.name.given_name = "Crm".into();
            c.name.surname = name;
            CrmStore::<ContactPerson>::create(crm, Some(user), &c, None)
                .await
                .unwrap();
        }
        Table::Appointments => {
            let start: chrono::DateTime<chrono::Utc> =
                format!("2026-12-{:02}T08:00:00Z", 1 + n % 28)
                    .parse()
                    .unwrap();
            let a = Appointment {
                subject: name,
                start,
                end: start + chrono::Duration::hours(1),
                start_time_zone: "Europe/Berlin".into(),
                end_time_zone: "Europe/Berlin".into(),
                ..Appointment::default()
            };
            CrmStore::<Appointment>::create(crm, Some(user), &a, None)
                .await
                .unwrap();
        }
        Table::Tasks => {
            let task = Task {
                subject: name,
                ..Task::default()
            };
            CrmStore::<Task>::create(crm, Some(user), &task, None)
                .await
                .unwrap();
        }
    }
}

impl World {
    /// More work while the harness runs: `n` new CRM records per table and `n` new Exchange
    /// contacts per user, named by `round`.
    async fn add_work(&mut self, round: usize, n: usize) {
        use ews_client::ops::CreateItem;
        use ews_client::types::contact::Contact;
        use ews_client::types::{DistinguishedFolderName, Item};
        let db = SqliteDb::open(&self.db).unwrap();
        let crm = db.crm();
        for user in USERS {
            for table in TABLES {
                for i in 0..n {
                    let name = format!("CRM{round}-{user}-{}-{i:05}", table.short());
                    add_crm_record(&crm, user, table, &name, i).await;
                    self.expected
                        .get_mut(&(user.to_owned(), table))
                        .unwrap()
                        .insert(name);
                }
            }
            let items: Vec<Item> = (0..n)
                .map(|i| {
                    Item::from(Contact {
                        given_name: Some("Ex".into()),
                        surname: Some(format!("EX{round}-{user}-C-{i:05}")),
                        ..Contact::default()
                    })
                })
                .collect();
            self.client()
                .for_mailbox(format!("{user}@contoso.test"))
                .execute(&CreateItem::save(
                    items,
                    Some(DistinguishedFolderName::Contacts.into()),
                ))
                .await
                .unwrap();
            let expected = self
                .expected
                .get_mut(&(user.to_owned(), Table::Contacts))
                .unwrap();
            for i in 0..n {
                expected.insert(format!("EX{round}-{user}-C-{i:05}"));
            }
        }
    }

    async fn start(sizes: Sizes) -> World {
        Self::start_with(sizes, "").await
    }

    /// With more organisation TOML (e.g. `[[faults]]`).
    async fn start_with(sizes: Sizes, extra_org: &str) -> World {
        let org = format!("{}\n{extra_org}", org_toml(sizes));
        let mock = MockServer::start(MockConfig::new(OrgData::from_toml(&org).unwrap()))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[[servers]]\nname = \"Mock\"\nurl = \"{}\"\nkind = \"on_premises\"\nadmin_user = \"{SVC}\"\nadmin_password = \"svc-pw\"\nauth_scheme = \"basic\"\n{RULES}",
                mock.url()
            ),
        )
        .unwrap();
        let db_path = dir.path().join("crm.sqlite");
        let db = SqliteDb::open(&db_path).unwrap();
        let crm = db.crm();
        let mut expected = BTreeMap::new();
        for user in USERS {
            db.directory()
                .put_user(&DirectoryUser {
                    name: user.into(),
                    display_name: user.into(),
                    mailbox: Some(format!("{user}@contoso.test")),
                    active: true,
                    ..DirectoryUser::default()
                })
                .await
                .unwrap();
            for (t, table) in TABLES.iter().enumerate() {
                let mut titles = BTreeSet::new();
                for n in 0..sizes.exchange[t] {
                    titles.insert(title(user, "EX", *table, n));
                }
                for n in 0..sizes.crm[t] {
                    let name = title(user, "CRM", *table, n);
                    add_crm_record(&crm, user, *table, &name, n).await;
                    titles.insert(name);
                }
                expected.insert((user.to_owned(), *table), titles);
            }
        }
        World {
            mock,
            _dir: dir,
            config,
            db: db_path,
            expected,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--config")
            .arg(&self.config)
            .arg("--json")
            .args(args)
            .arg("--db")
            .arg(&self.db)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).spawn().unwrap()
    }

    /// Runs a command to its end: (exit code, JSON output).
    fn run(&self, args: &[&str]) -> (i32, Value) {
        let out = self.command(args).output().unwrap();
        finished(out)
    }

    fn client(&self) -> Client {
        Client::new(ClientConfig::new(TransportConfig::new(
            url::Url::parse(&self.mock.url()).unwrap(),
            Auth::basic(SVC, "svc-pw"),
        )))
        .unwrap()
    }

    /// Per user and table: the CRM's records as (title, effective correlation key: the stored
    /// key, or the record id, which is the key of records that started in the CRM).
    async fn crm_side(&self, user: &str, table: Table) -> Vec<(String, Option<String>)> {
        let db = SqliteDb::open(&self.db).unwrap();
        let crm = db.crm();
        let query = ListQuery::all().owned_by(user);
        macro_rules! read {
            ($ty:ty, $title:expr) => {{
                let metas = CrmStore::<$ty>::list(&crm, &query).await.unwrap();
                let ids: Vec<String> = metas.into_iter().map(|m| m.id).collect();
                CrmStore::<$ty>::get_many(&crm, &ids)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|s| {
                        let key = s.meta.key.clone().unwrap_or(s.meta.id.clone());
                        ($title(s.record), Some(key))
                    })
                    .collect()
            }};
        }
        match table {
            Table::Contacts => read!(ContactPerson, |c: ContactPerson| c.name.surname),
            Table::Appointments => read!(Appointment, |a: Appointment| a.subject),
            Table::Tasks => read!(Task, |t: Task| t.subject),
        }
    }

    /// Per user and table: Exchange's items as (title, the `ConAktivRecordId` they carry).
    async fn exchange_side(&self, user: &str, table: Table) -> Vec<(String, Option<String>)> {
        let (kind, path, field) = table.exchange();
        let folder = SyncFolder::new(
            FolderPath::new(path).unwrap(),
            conaktiv_model::Subfolders::Excluded,
        );
        let mut side = ExchangeSide::new(
            &self.client(),
            &format!("{user}@contoso.test"),
            ExchangeSideConfig::new(kind, vec![folder]),
        )
        .unwrap();
        let listed = side.list().await.unwrap();
        let keys: BTreeMap<String, Option<String>> = listed
            .entries
            .iter()
            .map(|e| (e.id.clone(), e.key.clone()))
            .collect();
        let ids: Vec<String> = listed.entries.into_iter().map(|e| e.id).collect();
        side.fetch(&ids)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, r)| {
                let title = r
                    .get(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned();
                (title, keys.get(&id).cloned().flatten())
            })
            .collect()
    }

    /// Both sides hold exactly the expected records, once each, and every Exchange item
    /// carries the key of its CRM partner.
    async fn assert_converged(&self, context: &str) {
        for user in USERS {
            for table in TABLES {
                let want = &self.expected[&(user.to_owned(), table)];
                let crm = self.crm_side(user, table).await;
                let exchange = self.exchange_side(user, table).await;
                for (side, records) in [("ConAktiv", &crm), ("Exchange", &exchange)] {
                    let unique: BTreeSet<&String> = records.iter().map(|(t, _)| t).collect();
                    let duplicates = records.len() - unique.len();
                    let lost: Vec<_> = want
                        .iter()
                        .filter(|t| !unique.contains(t))
                        .take(5)
                        .collect();
                    let extra: Vec<_> = unique
                        .iter()
                        .filter(|t| !want.contains(**t))
                        .take(5)
                        .collect();
                    let unkeyed = records.iter().filter(|(_, k)| k.is_none()).count();
                    assert_eq!(
                        (duplicates, lost.len(), extra.len(), unkeyed),
                        (0, 0, 0, 0),
                        "{context}: {user} {table:?} in {side}: {duplicates} duplicates, lost {lost:?}, extra {extra:?}, {unkeyed} without key ({} records, {} expected)",
                        records.len(),
                        want.len()
                    );
                }
                let crm_keys: BTreeMap<&String, &Option<String>> =
                    crm.iter().map(|(t, k)| (t, k)).collect();
                let mismatched: Vec<&String> = exchange
                    .iter()
                    .filter(|(t, k)| crm_keys.get(t) != Some(&k))
                    .map(|(t, _)| t)
                    .take(5)
                    .collect();
                assert!(
                    mismatched.is_empty(),
                    "{context}: {user} {table:?}: Exchange items whose key is not their CRM partner's: {mismatched:?}"
                );
            }
        }
    }

    /// A run that must write nothing.
    fn assert_quiet_run(&self, context: &str) {
        let (code, json) = self.run(&["sync"]);
        assert_eq!(code, 0, "{context}: {json}");
        assert_eq!(writes(&json), 0, "{context}: the next run wrote: {json}");
    }
}

fn finished(out: std::process::Output) -> (i32, Value) {
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        Value::String(format!(
            "{stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    });
    (code, json)
}

/// Every write a `sync --json` reports, links included.
fn writes(json: &Value) -> u64 {
    let mut n = 0;
    for item in json["items"].as_array().into_iter().flatten() {
        let counts = &item["report"];
        for side in ["to_conaktiv", "to_exchange"] {
            for k in ["new", "changed", "deleted", "linked"] {
                n += counts[side][k].as_u64().unwrap_or(0);
            }
        }
    }
    n
}

/// Jobs of a `sync --json` by status.
fn statuses(json: &Value) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for item in json["items"].as_array().into_iter().flatten() {
        let s = item["status"].as_str().unwrap_or("?").to_owned();
        *m.entry(s).or_default() += 1;
    }
    m
}

fn kill9(child: &mut Child) {
    // SIGKILL: no handler runs, nothing is flushed.
    let _ = child.kill();
    let _ = child.wait();
}

fn wait_with_timeout(mut child: Child, limit: Duration) -> (i32, Value) {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            kill9(&mut child);
            panic!("the process did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    finished(child.wait_with_output().unwrap())
}

const SMALL: Sizes = Sizes {
    crm: [150, 40, 40],
    exchange: [80, 25, 25],
};

/// `sync` and `sync` started at the same moment on the same databases: every job runs in one
/// of them (the other reports it busy, exit 4, or runs it after the first finished and writes
/// nothing), and the result has no duplicate and no loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_at_once_never_duplicate() {
    let world = World::start(SMALL).await;
    let a = world.spawn(&["sync"]);
    let b = world.spawn(&["sync"]);
    let (ca, ja) =
        tokio::task::spawn_blocking(move || wait_with_timeout(a, Duration::from_secs(300)))
            .await
            .unwrap();
    let (cb, jb) =
        tokio::task::spawn_blocking(move || wait_with_timeout(b, Duration::from_secs(300)))
            .await
            .unwrap();
    for (code, json) in [(ca, &ja), (cb, &jb)] {
        assert!(code == 0 || code == 4, "exit {code}: {json}");
        let s = statuses(json);
        assert_eq!(
            s.get("succeeded").copied().unwrap_or(0) + s.get("busy").copied().unwrap_or(0),
            USERS.len() * TABLES.len(),
            "{json}"
        );
    }
    world.assert_converged("after two concurrent syncs").await;
    world.assert_quiet_run("after two concurrent syncs");
}

/// `sync` while `batch --once` works on the same databases: the same guarantees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_during_a_batch_never_duplicates() {
    let world = World::start(SMALL).await;
    let batch = world.spawn(&["batch", "--once"]);
    std::thread::sleep(Duration::from_millis(150));
    let sync = world.spawn(&["sync"]);
    let (cb, jb) =
        tokio::task::spawn_blocking(move || wait_with_timeout(batch, Duration::from_secs(300)))
            .await
            .unwrap();
    let (cs, js) =
        tokio::task::spawn_blocking(move || wait_with_timeout(sync, Duration::from_secs(300)))
            .await
            .unwrap();
    assert_eq!(cb, 0, "batch: {jb}");
    assert!(cs == 0 || cs == 4, "sync exit {cs}: {js}");
    world.assert_converged("after sync during batch").await;
    world.assert_quiet_run("after sync during batch");
}

/// A small deterministic generator for the kill points (printed, so a failure can be
/// replayed with `CRASH_SEED`).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// `sync` killed with SIGKILL at ten seeded points of a first sync of 3,600 records in
/// every table, then run again: both sides hold every record exactly once, every record
/// carries its key on both sides, and a third run writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_ten_points_then_rerun_converges() {
    let sizes = Sizes {
        crm: [800, 250, 250],
        exchange: [300, 100, 100],
    };
    let mut world = World::start(sizes).await;
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261204);
    eprintln!("crash harness seed {seed}");
    let mut rng = Lcg(seed);
    if std::env::var("CRASH_MEASURE").is_ok() {
        let t = Instant::now();
        let (code, json) = world.run(&["sync"]);
        eprintln!(
            "full sync: {:?}, exit {code}, {} writes",
            t.elapsed(),
            writes(&json)
        );
    }
    let mut kills = 0;
    let mut round = 0;
    while kills < 10 {
        let mut child = world.spawn(&["sync"]);
        // The kill lands anywhere from start-up (listing, reading) to well into the writes.
        let delay = Duration::from_millis(50 + rng.next() % 500);
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            kills += 1;
            kill9(&mut child);
            eprintln!("killed after {delay:?}");
        } else {
            // That run finished everything: give the next ones new work on both sides.
            let (code, json) = finished(child.wait_with_output().unwrap());
            assert!(code == 0 || code == 2, "exit {code}: {json}");
            round += 1;
            assert!(round <= 10, "the runs finish before they can be killed");
            world.add_work(round, 150).await;
        }
    }
    let (code, json) = world.run(&["sync"]);
    assert_eq!(code, 0, "the run after the crashes: {json}");
    world
        .assert_converged("after ten kill -9 and a rerun")
        .await;
    world.assert_quiet_run("the third run");
}

/// A mailbox restored from an old backup lost the contacts the connector had written: the
/// next run reports each of them as detached, with the reason (it neither deletes the CRM
/// records nor silently forgets them), and `sync --reattach` writes them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_mailbox_reports_detached_records_and_reattach_writes_them_back() {
    use ews_client::ops::DisposalType;
    use ews_client::types::ItemId;
    let world = World::start(SMALL).await;
    let (code, json) = world.run(&["sync"]);
    assert_eq!(code, 0, "{json}");
    world.assert_converged("after the first sync").await;

    // The restore: every contact that came from the CRM is gone from anna's mailbox.
    let (kind, path, field) = Table::Contacts.exchange();
    let mut side = ExchangeSide::new(
        &world.client(),
        "anna@contoso.test",
        ExchangeSideConfig::new(
            kind,
            vec![SyncFolder::new(
                FolderPath::new(path).unwrap(),
                conaktiv_model::Subfolders::Excluded,
            )],
        ),
    )
    .unwrap();
    let ids: Vec<String> = side
        .list()
        .await
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.id)
        .collect();
    let lost: Vec<ItemId> = side
        .fetch(&ids)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, r)| {
            r.get(field)
                .and_then(|v| v.as_str())
                .is_some_and(|t| t.starts_with("CRM-"))
        })
        .map(|(id, _)| ItemId::new(id))
        .collect();
    assert_eq!(lost.len(), SMALL.crm[0]);
    world
        .client()
        .for_mailbox("anna@contoso.test")
        .delete_items(DisposalType::HardDelete, lost)
        .await
        .unwrap();

    let (code, json) = world.run(&["sync"]);
    assert_eq!(code, 0, "{json}");
    let contacts = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["user"] == "anna" && i["table"] == "contacts")
        .unwrap();
    let report = &contacts["report"];
    assert_eq!(report["detached"], SMALL.crm[0] as u64, "{report}");
    let reason = report["detached_items"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("disappeared from Exchange") && reason.contains("--reattach"),
        "{reason}"
    );
    // Nothing was deleted in the CRM.
    assert_eq!(
        world.crm_side("anna", Table::Contacts).await.len(),
        SMALL.crm[0] + SMALL.exchange[0]
    );
    let (code, json) = world.run(&["sync", "--reattach"]);
    assert_eq!(code, 0, "{json}");
    let contacts = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["user"] == "anna" && i["table"] == "contacts")
        .unwrap();
    assert_eq!(contacts["report"]["reattached"], SMALL.crm[0] as u64);
    world.assert_converged("after sync --reattach").await;
    world.assert_quiet_run("after sync --reattach");
}

/// A `CreateItem` whose answer is lost (the connection drops after Exchange processed it):
/// the run reports the unknown outcomes and exits 2; the next run re-pairs the created items
/// by their key instead of creating them again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_answers_are_reported_unknown_with_exit_2_and_never_duplicate() {
    let faults = r#"
[[faults]]
operation = "CreateItem"
mailbox = "anna@contoso.test"
times = 1
fault = { kind = "drop_after_processing" }
"#;
    let world = World::start_with(SMALL, faults).await;
    let (code, json) = world.run(&["sync"]);
    assert_eq!(code, 2, "{json}");
    let unknown: u64 = json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["report"]["unknown"].as_u64().unwrap_or(0))
        .sum();
    assert!(unknown > 0, "{json}");
    let (code, json) = world.run(&["sync"]);
    assert_eq!(code, 0, "{json}");
    world
        .assert_converged("after a lost CreateItem answer")
        .await;
    world.assert_quiet_run("after a lost CreateItem answer");
}

/// Most Exchange contacts disappear while deleting into ConAktiv is switched on: the guard
/// stops the run and says so in words with the numbers (preview too), the next plain `sync`
/// still refuses, and `sync --accept-mass-delete RULE` makes the deletes once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_delete_is_explained_and_can_be_accepted_once() {
    use ews_client::ops::DisposalType;
    use ews_client::types::ItemId;
    let world = World::start(SMALL).await;
    // Deleting what Exchange lost is switched on for contacts.
    let text = std::fs::read_to_string(&world.config).unwrap().replacen(
        "to_conaktiv = { transfer_new = true, transfer_changed = true }",
        "to_conaktiv = { transfer_new = true, transfer_changed = true, delete_missing = true }",
        1,
    );
    std::fs::write(&world.config, text).unwrap();
    let (code, json) = world.run(&["sync"]);
    assert_eq!(code, 0, "{json}");

    let (kind, path, _) = Table::Contacts.exchange();
    let mut side = ExchangeSide::new(
        &world.client(),
        "anna@contoso.test",
        ExchangeSideConfig::new(
            kind,
            vec![SyncFolder::new(
                FolderPath::new(path).unwrap(),
                conaktiv_model::Subfolders::Excluded,
            )],
        ),
    )
    .unwrap();
    let ids: Vec<ItemId> = side
        .list()
        .await
        .unwrap()
        .entries
        .into_iter()
        .skip(10)
        .map(|e| ItemId::new(e.id))
        .collect();
    let deleted = ids.len();
    world
        .client()
        .for_mailbox("anna@contoso.test")
        .delete_items(DisposalType::HardDelete, ids)
        .await
        .unwrap();

    let out = world
        .command(&["preview", "--rule", "Kontakte", "--user", "anna"])
        .output()
        .unwrap();
    let (code, preview) = finished(out);
    assert_eq!(code, 0, "{preview}");
    let guard = preview["guard"].as_str().unwrap();
    let planned = preview["conaktiv"]["deleted"].as_u64().unwrap() as usize;
    assert!(planned > 100 && planned <= deleted, "{preview}");
    assert!(
        guard.contains(&format!("would delete {planned} of"))
            && guard.contains("--accept-mass-delete \"Kontakte\""),
        "{guard}"
    );
    assert!(
        !guard.contains("GuardTrip") && !guard.contains("None"),
        "{guard}"
    );

    for _ in 0..2 {
        let (code, json) = world.run(&["sync", "--user", "anna", "--rule", "Kontakte"]);
        assert_eq!(code, 1, "{json}");
        let error = json["items"][0]["error"].as_str().unwrap();
        assert!(
            error.contains("mass-delete guard") && error.contains("nothing was written"),
            "{error}"
        );
        assert_eq!(json["items"][0]["kind"], "mass_delete");
    }
    assert_eq!(
        world.crm_side("anna", Table::Contacts).await.len(),
        SMALL.crm[0] + SMALL.exchange[0]
    );
    let (code, json) = world.run(&["sync", "--accept-mass-delete", "Kontakte"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        world.crm_side("anna", Table::Contacts).await.len(),
        SMALL.crm[0] + SMALL.exchange[0] - planned
    );
    world.assert_quiet_run("after the accepted mass delete");
    let (code, json) = world.run(&["sync", "--accept-mass-delete", "Nope"]);
    assert_eq!(code, 3, "{json}");
}

/// Not on a terminal, `sync` prints one plain progress line per finished mailbox and table
/// (no bar, no colour codes), and its summary adds up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_reports_progress_in_plain_lines_off_a_terminal() {
    let world = World::start(SMALL).await;
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&world.config)
        .args(["sync", "--db"])
        .arg(&world.db)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let total = USERS.len() * TABLES.len();
    for n in 1..=total {
        assert!(stderr.contains(&format!("[{n}/{total}] ")), "{stderr}");
    }
    assert!(
        !stderr.contains('\u{1b}') && !stdout.contains('\u{1b}'),
        "colour codes: {stderr}"
    );
    assert!(stdout.contains(&format!("{total} job(s) ok")), "{stdout}");
}

/// `preview --rule R` shows the rule for every user in its scope (the rule screen's view);
/// plain `preview` shows every rule for everyone; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_of_a_rule_covers_every_user_in_scope() {
    let world = World::start(SMALL).await;
    let out = world
        .command(&["preview", "--rule", "Kontakte"])
        .output()
        .unwrap();
    let (code, json) = finished(out);
    assert_eq!(code, 0, "{json}");
    let previews = json["previews"].as_array().unwrap();
    assert_eq!(previews.len(), USERS.len(), "{json}");
    for p in previews {
        assert_eq!(p["exchange"]["new"], SMALL.crm[0] as u64, "{p}");
        assert_eq!(p["conaktiv"]["new"], SMALL.exchange[0] as u64, "{p}");
    }
    let (code, json) = finished(world.command(&["preview"]).output().unwrap());
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        json["previews"].as_array().unwrap().len(),
        USERS.len() * TABLES.len()
    );
    // Nothing was written: the first sync still creates everything.
    let (code, json) = world.run(&["sync"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(
        writes(&json) as usize,
        USERS.len()
            * (0..3)
                .map(|t| 2 * (SMALL.crm[t] + SMALL.exchange[t]))
                .sum::<usize>()
    );
}
