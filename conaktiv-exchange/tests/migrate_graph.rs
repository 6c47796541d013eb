#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test
//! `migrate-to-graph` against the mock (one store, EWS and Graph fronts) over HTTP: a mailbox
//! synced for several runs through EWS (contacts, a recurring series with a deleted and a
//! modified occurrence, tasks), then a dry run (counts, nothing written anywhere), a real
//! migration through the binary killed with `kill -9` while it runs and run again, every
//! pair's Graph id checked through Graph against its key, a pair with an untranslatable EWS
//! id re-paired by key, an unmatched pair reported, tasks given their key as a linked
//! resource, no item created or lost on either side, and the EWS state untouched.

#[cfg(feature = "postgres")]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use conaktiv_exchange::config_directory::ConfigDirectory;
use conaktiv_exchange::host::{CrmStore, DirectoryUser, ListQuery, UserDirectory};
use conaktiv_exchange::mapping::key;
use conaktiv_exchange::migrate::{MigrateOptions, Outcome, temporary_path};
use conaktiv_exchange::service::{Connector, CrmStores};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::config::SyncTable;
use conaktiv_model::recurrence::{
    ModifiedOccurrence, Recurrence, RecurrenceEnd, RecurrencePattern,
};
use conaktiv_model::{Appointment, Configuration, ContactPerson, Task};
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};
use sha2::Digest as _;
use sync_core::{Anchor, Pair, Record, SqliteStore, StateBatch, StateStore};

const BIN: &str = env!("CARGO_BIN_EXE_conaktiv-exchange");
const BERT: &str = "bert@cloud.test";
const TABLES: [SyncTable; 3] = [
    SyncTable::Contacts,
    SyncTable::Appointments,
    SyncTable::Tasks,
];

async fn mock() -> MockHandle {
    let org = r#"
[settings]
domain = "cloud.test"

[[apps]]
client_id = "app-1"
client_secret = "app-secret"
tenant = "cloudtenant"
roles = ["full_access_as_app"]

[[users]]
address = "bert@cloud.test"
password = "pw"

[[mailboxes]]
owner = "bert@cloud.test"
items = [
  { folder = "inbox", subject = "Anfrage P-2026-0042", fields = { Body = "Bitte um ein Angebot." } },
  { folder = "inbox", subject = "Rückfrage", fields = { Body = "Wann kommt die Lieferung?" } },
]
"#;
    MockServer::start(MockConfig::new(OrgData::from_toml(org).unwrap()))
        .await
        .unwrap()
}

fn config_text(mock: &MockHandle, api: &str) -> String {
    format!(
        r#"[[servers]]
name = "Online"
url = "{url}"
kind = "exchange_online"
admin_mailbox = "svc@cloud.test"
api = "{api}"
graph_url = "{graph}"
oauth = {{ tenant_id = "cloudtenant", client_id = "app-1", client_secret = "app-secret", token_url = "{token}" }}

[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{{ path = "/Contacts" }}]
to_exchange = {{ transfer_new = true, transfer_changed = true }}
to_conaktiv = {{ transfer_new = true, transfer_changed = true }}

[[rules]]
description = "Termine"
table = "appointments"
master = "conaktiv"
sync_folders = [{{ path = "/Calendar" }}]
to_exchange = {{ transfer_new = true, transfer_changed = true }}
to_conaktiv = {{ transfer_new = true, transfer_changed = true }}

[[rules]]
description = "Aufgaben"
table = "tasks"
master = "conaktiv"
sync_folders = [{{ path = "/Tasks" }}]
to_exchange = {{ transfer_new = true, transfer_changed = true }}
to_conaktiv = {{ transfer_new = true, transfer_changed = true }}

[[rules]]
description = "E-Mail"
table = "email"
master = "exchange"
sync_folders = [{{ path = "/Inbox" }}]
to_conaktiv = {{ transfer_new = true }}
"#,
        url = mock.url(),
        graph = mock.graph_url(),
        token = mock.token_url(),
    )
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn series() -> Appointment {
    Appointment {
        subject: "Jour fixe".into(),
        location: "Raum 1".into(),
        body: "Agenda".into(),
        start: t("2026-03-16T08:00:00Z"),
        end: t("2026-03-16T09:00:00Z"),
        start_time_zone: "Europe/Berlin".into(),
        end_time_zone: "Europe/Berlin".into(),
        recurrence: Some(Recurrence {
            deleted_occurrences: vec![d("2026-03-23")],
            modified_occurrences: vec![ModifiedOccurrence {
                original_start: t("2026-03-30T07:00:00Z"),
                start: t("2026-03-30T12:00:00Z"),
                end: t("2026-03-30T13:00:00Z"),
                subject: Some("Jour fixe (verschoben)".into()),
                location: None,
                body: None,
            }],
            end: RecurrenceEnd::AfterOccurrences(6),
            ..Recurrence::new(
                RecurrencePattern::Weekly {
                    interval: 1,
                    days: vec![Weekday::Mon],
                    first_day_of_week: Weekday::Mon,
                },
                d("2026-03-16"),
            )
        }),
        ..Appointment::default()
    }
}

struct Setup {
    mock: MockHandle,
    _dir: tempfile::TempDir,
    config_path: PathBuf,
    db: PathBuf,
    state_dir: PathBuf,
}

impl Setup {
    fn write_config(&self, api: &str) -> Configuration {
        std::fs::write(&self.config_path, config_text(&self.mock, api)).unwrap();
        Configuration::load(&self.config_path).unwrap()
    }

    fn connector(&self, api: &str) -> Connector {
        let config = self.write_config(api);
        let db = SqliteDb::open(&self.db).unwrap();
        let directory: Arc<dyn UserDirectory> = Arc::new(db.directory());
        let _ = ConfigDirectory::new(&config);
        Connector::from_config(
            config,
            None,
            CrmStores::all(db.crm()),
            directory,
            &self.state_dir,
        )
        .unwrap()
    }

    fn run_bin(&self, args: &[&str], envs: &[(&str, &str)]) -> std::process::Child {
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(&self.config_path)
            .args(args)
            .arg("--db")
            .arg(&self.db)
            .env("RUST_LOG", "error")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.spawn().unwrap()
    }
}

async fn setup() -> Setup {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.sqlite");
    let mut state = db.as_os_str().to_owned();
    state.push(".state");
    let s = Setup {
        mock,
        config_path: dir.path().join("config.toml"),
        db,
        state_dir: PathBuf::from(state),
        _dir: dir,
    };
    let db = SqliteDb::open(&s.db).unwrap();
    db.directory()
        .put_user(&DirectoryUser {
            name: "bert".into(),
            display_name: "Bert".into(),
            mailbox: Some(BERT.into()),
            active: true,
            ..DirectoryUser::default()
        })
        .await
        .unwrap();
    let crm = db.crm();
    for (given, surname) in [("Anna", "Albers"), ("Bodo", "Berg"), ("Cora", "Cramer")] {
        let mut c = ContactPerson::default();
        c.name.given_name = given.into();
        c.name.surname = surname.into();
        CrmStore::<ContactPerson>::create(&crm, Some("bert"), &c, None)
            .await
            .unwrap();
    }
    CrmStore::<Appointment>::create(&crm, Some("bert"), &series(), None)
        .await
        .unwrap();
    for subject in ["Angebot schreiben", "Rechnung prüfen"] {
        let task = Task {
            subject: subject.into(),
            body: "Bitte erledigen".into(),
            ..Task::default()
        };
        CrmStore::<Task>::create(&crm, Some("bert"), &task, None)
            .await
            .unwrap();
    }
    s
}

fn sha(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Every item of the mailbox: (id, change key, folder), sorted.
fn items(mock: &MockHandle) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = mock
        .mailbox(BERT)
        .unwrap()
        .items
        .iter()
        .map(|i| (i.id.clone(), i.change_key.clone(), i.folder.clone()))
        .collect();
    v.sort();
    v
}

/// Every CRM record of the user: (table, id, version).
async fn crm_records(db: &Path) -> Vec<(String, String)> {
    let db = SqliteDb::open(db).unwrap();
    let crm = db.crm();
    let q = ListQuery::default();
    let mut out = Vec::new();
    for m in CrmStore::<ContactPerson>::list(&crm, &q).await.unwrap() {
        out.push((format!("contact {}", m.id), m.version));
    }
    for m in CrmStore::<Appointment>::list(&crm, &q).await.unwrap() {
        out.push((format!("appointment {}", m.id), m.version));
    }
    for m in CrmStore::<Task>::list(&crm, &q).await.unwrap() {
        out.push((format!("task {}", m.id), m.version));
    }
    out.sort();
    out
}

fn pairs(path: &Path) -> Vec<Pair> {
    SqliteStore::open(path).unwrap().all_pairs().unwrap()
}

fn graph(mock: &MockHandle) -> graph_client::Mailbox {
    let mut creds = graph_client::auth::credentials("cloudtenant", "app-1")
        .with_token_url(url::Url::parse(&mock.token_url()).unwrap());
    creds.client_secret = ews_client::transport::SecretString::from("app-secret".to_owned());
    let tokens = graph_client::auth::with_secret(creds).unwrap();
    let config = graph_client::ClientConfig::new(tokens)
        .with_base_url(url::Url::parse(&format!("{}/", mock.graph_url())).unwrap());
    graph_client::Client::new(config).unwrap().mailbox(BERT)
}

/// The key each Graph id carries, read through Graph.
async fn graph_key(g: &graph_client::Mailbox, table: SyncTable, id: &str) -> Option<String> {
    let options = graph_client::ListOptions::default()
        .expand(graph_client::extended::expand(&[&key::graph_property()]));
    match table {
        SyncTable::Contacts => {
            let c = g.contact(id, &options).await.unwrap();
            key::graph_record_id(c.single_value_extended_properties.as_deref())
        }
        SyncTable::Appointments => {
            let e = g.event(id, &options).await.unwrap();
            key::graph_record_id(e.single_value_extended_properties.as_deref())
        }
        SyncTable::Email => {
            let m = g.message(id, &options).await.unwrap();
            key::graph_record_id(m.single_value_extended_properties.as_deref())
        }
        SyncTable::Tasks => {
            for list in g.todo_lists().await.unwrap() {
                let list = list.id.unwrap();
                let tasks = g
                    .tasks(
                        &list,
                        &graph_client::ListOptions::default().expand("linkedResources"),
                    )
                    .await
                    .unwrap();
                if let Some(t) = tasks.iter().find(|t| t.id.as_deref() == Some(id)) {
                    return key::linked_record_id(t.linked_resources.as_deref());
                }
            }
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ews_mailbox_moves_to_graph_without_duplicates_or_lost_links() {
    let s = setup().await;

    // 1. Several EWS runs, with a change on each side between them.
    let ews = s.connector("ews");
    let first = ews.run(None, None).await.unwrap();
    assert_eq!(first.failed(), 0, "{first:?}");
    let db = SqliteDb::open(&s.db).unwrap();
    let crm = db.crm();
    let contacts = CrmStore::<ContactPerson>::list(&crm, &ListQuery::default())
        .await
        .unwrap();
    let stored = CrmStore::<ContactPerson>::get(&crm, &contacts[0].id)
        .await
        .unwrap()
        .unwrap();
    let mut changed = stored.record.clone();
    changed.name.surname = "Albers-Neu".into();
    CrmStore::<ContactPerson>::update(
        &crm,
        &contacts[0].id,
        &stored.meta.version,
        &changed,
        stored.meta.key.as_deref(),
    )
    .await
    .unwrap();
    let second = ews.run(None, None).await.unwrap();
    assert_eq!(second.failed(), 0, "{second:?}");
    let third = ews.run(None, None).await.unwrap();
    assert_eq!(
        third.total_writes(),
        0,
        "a run with no change writes nothing: {third:?}"
    );
    drop(ews);

    // 2. Seed two pairs the translation cannot resolve: one whose item carries its key (an
    //    EWS id from another era: re-paired by key) and a ghost (unmatched).
    let contacts_state = s.state_dir.join("bert_cloud_test.contacts.sqlite");
    assert!(contacts_state.exists());
    let ews_pairs = pairs(&contacts_state);
    assert_eq!(ews_pairs.len(), 3);
    let mut bogus = ews_pairs[1].clone();
    bogus.remote.as_mut().unwrap().id = "AAMkAGI2-not-a-real-ews-id".into();
    let ghost = Pair {
        key: "ghost-record".into(),
        local: Some(Anchor {
            id: "ghost-record".into(),
            version: "1".into(),
        }),
        remote: Some(Anchor {
            id: "AAMkAGhost".into(),
            version: "CK".into(),
        }),
        base: Record::new().with("surname", "Geist"),
    };
    SqliteStore::open(&contacts_state)
        .unwrap()
        .commit(&StateBatch {
            upsert: vec![bogus.clone(), ghost],
            ..StateBatch::default()
        })
        .unwrap();
    // A checkpointed, closed EWS state (what a finished EWS run leaves).
    let ews_files: Vec<PathBuf> = TABLES
        .iter()
        .map(|t| {
            s.state_dir.join(format!(
                "bert_cloud_test.{}.sqlite",
                conaktiv_exchange::rules::table_name(*t)
            ))
        })
        .collect();
    let ews_hashes: Vec<String> = ews_files.iter().map(|p| sha(p)).collect();
    let items_before = items(&s.mock);
    let crm_before = crm_records(&s.db).await;
    assert_eq!(items_before.len(), 3 + 1 + 2 + 2, "{items_before:?}");

    // 3. A Graph run refuses to start on the EWS state. Dry run: counts right, nothing
    //    written anywhere.
    let graph_conn = s.connector("graph");
    let refused = graph_conn.run(None, None).await.unwrap();
    assert_eq!(refused.failed(), 4, "{refused:?}");
    assert_eq!(items(&s.mock), items_before);
    let dry = graph_conn
        .migrate_to_graph(
            None,
            MigrateOptions {
                dry_run: true,
                force: false,
            },
        )
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.exit_code(), 2, "the ghost is unmatched:\n{dry}");
    let by_table = |r: &conaktiv_exchange::migrate::MigrationReport, t: &str| {
        r.tables.iter().find(|e| e.table == t).cloned().unwrap()
    };
    let c = by_table(&dry, "contacts");
    assert_eq!(c.outcome, Outcome::DryRun);
    assert_eq!(
        (c.pairs, c.translated, c.repaired_by_key),
        (4, 2, 1),
        "{dry}"
    );
    assert_eq!(c.unmatched.len(), 1, "{dry}");
    assert_eq!(c.unmatched[0].key, "ghost-record");
    assert!(
        c.unmatched[0].reason.contains("does not translate"),
        "{dry}"
    );
    let a = by_table(&dry, "appointments");
    assert_eq!(
        (a.pairs, a.translated, a.unmatched.len()),
        (1, 1, 0),
        "{dry}"
    );
    let tk = by_table(&dry, "tasks");
    assert_eq!(
        (tk.pairs, tk.translated, tk.linked_resources_added),
        (2, 2, 2),
        "{dry}"
    );
    let m = by_table(&dry, "email");
    assert_eq!(
        (m.pairs, m.translated, m.unmatched.len()),
        (2, 2, 0),
        "{dry}"
    );
    let text = dry.to_string();
    assert!(
        text.contains("Dry run") && text.contains("ghost-record"),
        "{text}"
    );
    for t in TABLES {
        let g = graph_conn.graph_state_path(BERT, t);
        assert!(
            !g.exists() && !temporary_path(&g).exists(),
            "{}",
            g.display()
        );
    }
    assert_eq!(
        items(&s.mock),
        items_before,
        "a dry run writes nothing on Exchange"
    );
    // The same through the command line, as text.
    let out = s
        .run_bin(&["migrate-to-graph", "--dry-run", "--user", "bert"], &[])
        .wait_with_output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(
            "bert@cloud.test contacts: dry run; 4 pairs: 2 would be translated, 1 would be \
             re-paired by key"
        ),
        "{text}"
    );
    assert!(
        text.contains("unmatched ghost-record: its EWS id does not translate"),
        "{text}"
    );
    assert!(text.contains("2 task links to add"), "{text}");
    assert_eq!(items(&s.mock), items_before);
    let hashes: Vec<String> = ews_files.iter().map(|p| sha(p)).collect();
    assert_eq!(hashes, ews_hashes);

    // 4. The real migration through the binary, killed while it runs (after its Graph reads,
    //    before the Graph state is in place), then run again.
    let contacts_graph_state = graph_conn.graph_state_path(BERT, SyncTable::Contacts);
    drop(graph_conn);
    let mut child = s.run_bin(
        &["migrate-to-graph", "--json"],
        &[("CONAKTIV_MIGRATE_PAUSE_MS", "60000")],
    );
    let migrating = || {
        std::fs::read_dir(&s.state_dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| p.to_string_lossy().ends_with(".migrating"))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let tmp = loop {
        if let Some(p) = migrating() {
            break p;
        }
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            panic!(
                "the migration ended ({status}) before it was killed: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the migration never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let interrupted = PathBuf::from(tmp.to_string_lossy().trim_end_matches(".migrating"));
    assert!(!interrupted.exists(), "{}", interrupted.display());
    assert!(!contacts_graph_state.exists());
    let out = s
        .run_bin(&["migrate-to-graph", "--json"], &[])
        .wait_with_output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["ok"], false);
    let contacts_json = json["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "contacts")
        .unwrap();
    assert_eq!(contacts_json["outcome"], "migrated");
    assert_eq!(contacts_json["repaired_by_key"], 1);
    assert_eq!(contacts_json["unmatched"][0]["key"], "ghost-record");

    // 5. Every pair points at the same item through Graph, every CRM link is kept.
    let graph_conn = s.connector("graph");
    let g = graph(&s.mock);
    for t in TABLES {
        let ews_state = pairs(&s.state_dir.join(format!(
            "bert_cloud_test.{}.sqlite",
            conaktiv_exchange::rules::table_name(t)
        )));
        let migrated = pairs(&graph_conn.graph_state_path(BERT, t));
        assert_eq!(migrated.len(), ews_state.len(), "{t:?}");
        for (old, new) in ews_state.iter().zip(&migrated) {
            assert_eq!(old.key, new.key);
            assert_eq!(old.local, new.local, "CRM link of {} kept", old.key);
            // the base is kept, less the fields To Do cannot carry (tasks)
            let mut expected = old.base.clone();
            if t == SyncTable::Tasks {
                for f in conaktiv_exchange::mapping::graph::task::NOT_CARRIED {
                    expected.fields.remove(f);
                }
            }
            assert_eq!(expected, new.base, "base of {} kept", old.key);
            if old.key == "ghost-record" {
                assert!(
                    new.remote.is_none(),
                    "the ghost stays detached from Exchange"
                );
                continue;
            }
            let remote = new.remote.as_ref().unwrap();
            assert_ne!(
                remote.id,
                old.remote.as_ref().unwrap().id,
                "a Graph id, not EWS"
            );
            assert_eq!(
                graph_key(&g, t, &remote.id).await.as_deref(),
                Some(old.key.as_str()),
                "{t:?}: the Graph id of {} names its item",
                old.key
            );
            if t == SyncTable::Tasks {
                assert_eq!(remote.version, "", "tasks are compared field by field once");
                // ... and equal their base but for what To Do cannot carry: no write.
                let mut found = None;
                for list in g.todo_lists().await.unwrap() {
                    if let Ok(task) = g.task(list.id.as_deref().unwrap(), &remote.id).await {
                        found = Some(task);
                    }
                }
                let graph_record =
                    conaktiv_exchange::mapping::graph::task::graph_to_record(&found.unwrap());
                let mut expected = old.base.clone();
                for f in conaktiv_exchange::mapping::graph::task::NOT_CARRIED {
                    expected.fields.remove(f);
                }
                assert_eq!(graph_record, expected, "task {}", old.key);
            } else if old.key != bogus.key {
                assert_eq!(&remote.version, &old.remote.as_ref().unwrap().version);
            }
        }
    }
    // The EWS state is the rollback: untouched.
    let hashes: Vec<String> = ews_files.iter().map(|p| sha(p)).collect();
    assert_eq!(hashes, ews_hashes);

    // 6. Same result as a migration that was never interrupted (--force starts afresh).
    let first_result: Vec<Vec<Pair>> = TABLES
        .iter()
        .map(|t| pairs(&graph_conn.graph_state_path(BERT, *t)))
        .collect();
    let again = graph_conn
        .migrate_to_graph(
            Some("bert"),
            MigrateOptions {
                dry_run: false,
                force: false,
            },
        )
        .await
        .unwrap();
    assert!(
        again
            .tables
            .iter()
            .all(|t| t.outcome == Outcome::AlreadyMigrated),
        "{again}"
    );
    let forced = graph_conn
        .migrate_to_graph(
            Some("bert"),
            MigrateOptions {
                dry_run: false,
                force: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        by_table(&forced, "tasks").linked_resources_added,
        0,
        "{forced}"
    );
    let fresh: Vec<Vec<Pair>> = TABLES
        .iter()
        .map(|t| pairs(&graph_conn.graph_state_path(BERT, *t)))
        .collect();
    assert_eq!(fresh, first_result);

    // 7. No item created or lost on either side; only the tasks changed (their links).
    let items_after = items(&s.mock);
    assert_eq!(items_after.len(), items_before.len());
    for (before, after) in items_before.iter().zip(&items_after) {
        assert_eq!(before.0, after.0);
        if !before.2.to_ascii_lowercase().contains("task") {
            assert_eq!(before, after, "only tasks get a write");
        }
    }
    assert_eq!(crm_records(&s.db).await, crm_before);

    // 8. The next Graph run writes nothing (tasks too: the fields To Do cannot carry are
    //    left out on both sides and out of the migrated base); then a change on each side
    //    flows through Graph.
    for rule in ["Kontakte", "Termine", "Aufgaben", "E-Mail"] {
        let graph_run = graph_conn.run(Some(rule), None).await.unwrap();
        assert_eq!(graph_run.failed(), 0, "{graph_run:?}");
        assert_eq!(
            graph_run.total_writes(),
            0,
            "the first Graph run after the migration writes nothing: {graph_run:?}"
        );
    }
    assert_eq!(items(&s.mock).len(), items_before.len());
    assert_eq!(crm_records(&s.db).await, crm_before);
    // (`crm` was opened before the binary ran and killed: its connection still works.)
    let contacts = CrmStore::<ContactPerson>::list(&crm, &ListQuery::default())
        .await
        .unwrap();
    let stored = CrmStore::<ContactPerson>::get(&crm, &contacts[2].id)
        .await
        .unwrap()
        .unwrap();
    let mut changed = stored.record.clone();
    changed.name.surname = "Cramer-Graph".into();
    CrmStore::<ContactPerson>::update(
        &crm,
        &contacts[2].id,
        &stored.meta.version,
        &changed,
        stored.meta.key.as_deref(),
    )
    .await
    .unwrap();
    let contact_pair = pairs(&graph_conn.graph_state_path(BERT, SyncTable::Contacts))
        .into_iter()
        .find(|p| p.local.as_ref().map(|a| a.id.as_str()) == Some(contacts[1].id.as_str()))
        .unwrap();
    let remote_id = contact_pair.remote.unwrap().id;
    g.update_contact(
        &remote_id,
        &serde_json::json!({"surname": "Berg-Exchange"}),
        None,
    )
    .await
    .unwrap();
    let flowed = graph_conn.run(Some("Kontakte"), None).await.unwrap();
    assert_eq!(flowed.failed(), 0, "{flowed:?}");
    let snap = s.mock.mailbox(BERT).unwrap();
    assert!(
        snap.items.iter().any(|i| i.xml.contains("Cramer-Graph")),
        "the CRM change reached Exchange through Graph"
    );
    let from_exchange = CrmStore::<ContactPerson>::get(&crm, &contacts[1].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        from_exchange.record.name.surname, "Berg-Exchange",
        "the Exchange change reached the CRM through Graph"
    );
    assert_eq!(
        items(&s.mock).len(),
        items_before.len(),
        "nothing duplicated"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_migration_leaves_nothing_behind_and_the_next_one_succeeds() {
    let s = setup().await;
    let ews = s.connector("ews");
    let run = ews.run(Some("Kontakte"), None).await.unwrap();
    assert_eq!(run.failed(), 0, "{run:?}");
    drop(ews);
    let graph_conn = s.connector("graph");
    let target = graph_conn.graph_state_path(BERT, SyncTable::Contacts);
    let items_before = items(&s.mock);

    s.mock.add_fault(
        ews_mock::FaultRule::always(ews_mock::Fault::Malformed)
            .for_operation("Graph POST translateExchangeIds"),
    );
    let failed = graph_conn
        .migrate_to_graph(Some("bert"), MigrateOptions::default())
        .await
        .unwrap();
    let contacts = failed
        .tables
        .iter()
        .find(|t| t.table == "contacts")
        .unwrap();
    assert_eq!(contacts.outcome, Outcome::Failed, "{failed}");
    assert!(contacts.error.is_some());
    assert_eq!(failed.exit_code(), 2);
    assert!(failed.to_string().contains("contacts: FAILED"), "{failed}");
    // Tables never synced over EWS are listed, not migrated.
    let tasks = failed.tables.iter().find(|t| t.table == "tasks").unwrap();
    assert_eq!(tasks.outcome, Outcome::NoEwsState);
    assert!(!target.exists() && !temporary_path(&target).exists());
    assert_eq!(items(&s.mock), items_before);

    s.mock.clear_faults();
    let done = graph_conn
        .migrate_to_graph(Some("bert"), MigrateOptions::default())
        .await
        .unwrap();
    assert_eq!(done.exit_code(), 0, "{done}");
    let contacts = done.tables.iter().find(|t| t.table == "contacts").unwrap();
    assert_eq!(contacts.outcome, Outcome::Migrated);
    assert_eq!((contacts.pairs, contacts.translated), (3, 3), "{done}");
    assert!(target.exists() && !temporary_path(&target).exists());
    assert_eq!(items(&s.mock), items_before);
}

/// The setup with its sync state in a scratch PostgreSQL database; `None` without a server.
#[cfg(feature = "postgres")]
async fn setup_on_postgres() -> Option<(Setup, Arc<dyn conaktiv_exchange::state::StateStores>)> {
    let (pool, _) = common::scratch_postgres().await?;
    let states = Arc::new(conaktiv_exchange::state::PgStates::new(pool));
    Some((setup().await, states))
}

/// The same move with the sync state in PostgreSQL (`PgStates`): EWS runs, the migration
/// writes the Graph scope in one transaction, and the first Graph run writes nothing and
/// duplicates nothing.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread")]
async fn an_ews_mailbox_moves_to_graph_with_the_state_in_postgres() {
    let Some((s, states)) = setup_on_postgres().await else {
        return;
    };
    let ews = s.connector("ews").with_state_stores(Arc::clone(&states));
    let first = ews.run(None, None).await.unwrap();
    assert_eq!(first.failed(), 0, "{first:?}");
    let again = ews.run(None, None).await.unwrap();
    assert_eq!(again.total_writes(), 0, "{again:?}");
    drop(ews);
    assert!(
        !s.state_dir.join("bert_cloud_test.contacts.sqlite").exists(),
        "no state file: the state is in PostgreSQL"
    );
    assert!(states.exists("bert_cloud_test.contacts").await.unwrap());
    let items_before = items(&s.mock);
    let crm_before = crm_records(&s.db).await;

    let graph_conn = s.connector("graph").with_state_stores(Arc::clone(&states));
    let refused = graph_conn.run(None, None).await.unwrap();
    assert_eq!(
        refused.failed(),
        4,
        "a Graph run refuses the EWS state: {refused:?}"
    );
    let dry = graph_conn
        .migrate_to_graph(
            None,
            MigrateOptions {
                dry_run: true,
                force: false,
            },
        )
        .await
        .unwrap();
    assert!(
        !states
            .exists("bert_cloud_test.contacts.graph")
            .await
            .unwrap()
    );
    let c = dry.tables.iter().find(|e| e.table == "contacts").unwrap();
    assert_eq!(
        (c.outcome, c.pairs, c.translated),
        (Outcome::DryRun, 3, 3),
        "{dry}"
    );
    let done = graph_conn
        .migrate_to_graph(
            None,
            MigrateOptions {
                dry_run: false,
                force: false,
            },
        )
        .await
        .unwrap();
    assert_eq!(done.exit_code(), 0, "{done}");
    for e in &done.tables {
        assert_eq!(e.outcome, Outcome::Migrated, "{done}");
        assert!(
            e.graph_state.display().to_string().contains("PostgreSQL"),
            "{done}"
        );
    }
    let again = graph_conn
        .migrate_to_graph(
            None,
            MigrateOptions {
                dry_run: false,
                force: false,
            },
        )
        .await
        .unwrap();
    assert!(
        again
            .tables
            .iter()
            .all(|e| e.outcome == Outcome::AlreadyMigrated),
        "{again}"
    );
    let run = graph_conn.run(None, None).await.unwrap();
    assert_eq!(run.failed(), 0, "{run:?}");
    assert_eq!(
        run.total_writes(),
        0,
        "nothing to write after the move: {run}"
    );
    assert_eq!(
        items(&s.mock).len(),
        items_before.len(),
        "no duplicate on Exchange"
    );
    assert_eq!(
        crm_records(&s.db).await,
        crm_before,
        "no duplicate in the CRM"
    );
}

/// A forced second migration (PostgreSQL) replaces the Graph state and keeps the journaled
/// creates of the EWS state: a create whose outcome is unknown must not be forgotten.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forced_migration_keeps_the_journaled_creates() {
    let Some((s, states)) = setup_on_postgres().await else {
        return;
    };
    let ews = s.connector("ews").with_state_stores(Arc::clone(&states));
    assert_eq!(ews.run(None, None).await.unwrap().failed(), 0);
    drop(ews);
    let intent = sync_core::Intent {
        key: "crm-unknown-outcome".into(),
        on: sync_core::SideId::Local,
        source_id: "AAMkUnknown".into(),
        at: sync_core::Timestamp::from_unix_secs(1_700_000_000),
    };
    let mut ews_state = states.open("bert_cloud_test.contacts").await.unwrap();
    ews_state
        .dyn_commit(&StateBatch {
            add_intents: vec![intent.clone()],
            ..StateBatch::default()
        })
        .await
        .unwrap();
    let graph_conn = s.connector("graph").with_state_stores(Arc::clone(&states));
    for force in [false, true] {
        let done = graph_conn
            .migrate_to_graph(
                None,
                MigrateOptions {
                    dry_run: false,
                    force,
                },
            )
            .await
            .unwrap();
        assert_eq!(done.exit_code(), 0, "{done}");
        let mut graph_state = states.open("bert_cloud_test.contacts.graph").await.unwrap();
        assert_eq!(
            graph_state.dyn_intents().await.unwrap(),
            vec![intent.clone()],
            "force {force}: {done}"
        );
    }
}
