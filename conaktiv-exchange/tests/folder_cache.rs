#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test
//! Folder resolution per run over EWS, against the mock over HTTP: the jobs of one
//! [`Connector::run`] share their mailbox's folder ids (each distinct folder path of a mailbox
//! is looked up once per run, never for another mailbox), a later run looks the paths up
//! again, so a folder renamed between runs is picked up, and a path that is gone gives the
//! same configuration error as before. The same for the jobs of one batch run
//! ([`Scheduler::run_once`] with the connector as its job runner).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use conaktiv_exchange::clock::SystemClock;
use conaktiv_exchange::host::{CrmStore, DirectoryUser, UserDirectory};
use conaktiv_exchange::scheduler::{
    ItemStatus, JobErrorKind, Scheduler, SchedulerOptions, SchedulerStore, SyncReport,
};
use conaktiv_exchange::service::{Connector, CrmStores};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::config::SyncTable;
use conaktiv_model::{Appointment, Configuration, ContactPerson, Task};
use ews_mock::MockHandle;
use tokio_util::sync::CancellationToken;

const USERS: [(&str, &str); 2] = [("bert", "bert@cloud.test"), ("carla", "carla@cloud.test")];
/// The folder operations counted.
const FOLDER_OPS: [&str; 3] = ["GetFolder", "FindFolder", "SyncFolderHierarchy"];

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

[[users]]
address = "carla@cloud.test"
password = "pw"

[[mailboxes]]
owner = "carla@cloud.test"
"#;
    let mock = common::start_mock(org).await;
    for (_, mailbox) in USERS {
        create_folder(&mock, mailbox, "Kunden");
    }
    mock
}

fn create_folder(mock: &MockHandle, mailbox: &str, name: &str) {
    mock.with_store(|s| {
        let mb = s.mailbox_mut(mailbox).unwrap();
        let contacts = mb.distinguished("contacts").unwrap();
        mb.create_folder(contacts, name, None).unwrap();
    });
}

fn rename_folder(mock: &MockHandle, mailbox: &str, path: &str, name: &str) {
    mock.with_store(|s| {
        let mb = s.mailbox_mut(mailbox).unwrap();
        let key = mb.folder_by_path(path).unwrap();
        mb.update_folder(key, Some(name), None).unwrap();
    });
}

fn config_text(mock: &MockHandle) -> String {
    format!(
        r#"[[servers]]
name = "Online"
url = "{url}"
kind = "exchange_online"
admin_mailbox = "svc@cloud.test"
api = "ews"
oauth = {{ tenant_id = "cloudtenant", client_id = "app-1", client_secret = "app-secret", token_url = "{token}" }}

[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{{ path = "/Contacts/Kunden" }}]
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
"#,
        url = mock.url(),
        token = mock.token_url(),
    )
}

struct Setup {
    mock: MockHandle,
    _dir: tempfile::TempDir,
    db: PathBuf,
    connector: Connector,
    config: Configuration,
    state: PathBuf,
}

impl Setup {
    /// Another connector over the same configuration, CRM and state.
    fn connector(&self) -> Connector {
        let db = SqliteDb::open(&self.db).unwrap();
        let directory: Arc<dyn UserDirectory> = Arc::new(db.directory());
        Connector::from_config(
            self.config.clone(),
            None,
            CrmStores::all(db.crm()),
            directory,
            &self.state,
        )
        .unwrap()
    }
}

async fn setup() -> Setup {
    let mock = mock().await;
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, config_text(&mock)).unwrap();
    let config = Configuration::load(&config_path).unwrap();
    let db_path = dir.path().join("crm.sqlite");
    let db = SqliteDb::open(&db_path).unwrap();
    for (user, mailbox) in USERS {
        db.directory()
            .put_user(&DirectoryUser {
                name: user.into(),
                display_name: user.into(),
                mailbox: Some(mailbox.into()),
                active: true,
                ..DirectoryUser::default()
            })
            .await
            .unwrap();
        let crm = db.crm();
        add_contact(&db_path, user, "Erster").await;
        let appointment = Appointment {
            subject: format!("Termin von {user}"),
            start: "2026-03-16T08:00:00Z".parse().unwrap(),
            end: "2026-03-16T09:00:00Z".parse().unwrap(),
            ..Appointment::default()
        };
        CrmStore::<Appointment>::create(&crm, Some(user), &appointment, None)
            .await
            .unwrap();
        let task = Task {
            subject: format!("Aufgabe von {user}"),
            ..Task::default()
        };
        CrmStore::<Task>::create(&crm, Some(user), &task, None)
            .await
            .unwrap();
    }
    let directory: Arc<dyn UserDirectory> = Arc::new(db.directory());
    let state = dir.path().join("state");
    let connector = Connector::from_config(
        config.clone(),
        None,
        CrmStores::all(db.crm()),
        directory,
        &state,
    )
    .unwrap()
    .with_concurrency(6);
    Setup {
        mock,
        _dir: dir,
        db: db_path,
        connector,
        config,
        state,
    }
}

async fn add_contact(db: &Path, user: &str, surname: &str) {
    let crm = SqliteDb::open(db).unwrap().crm();
    let mut c = ContactPerson::default();
    c.name.given_name = user.into();
    c.name.surname = surname.into();
    CrmStore::<ContactPerson>::create(&crm, Some(user), &c, None)
        .await
        .unwrap();
}

/// Per mailbox, the folder operations the mock saw since the last clear.
fn folder_requests(mock: &MockHandle) -> BTreeMap<String, BTreeMap<&'static str, u64>> {
    let mut out: BTreeMap<String, BTreeMap<&'static str, u64>> = BTreeMap::new();
    for e in mock.request_log() {
        let (Some(op), Some(mailbox)) = (e.operation.as_deref(), e.mailbox.as_deref()) else {
            continue;
        };
        if let Some(op) = FOLDER_OPS.iter().find(|o| **o == op) {
            *out.entry(mailbox.to_ascii_lowercase())
                .or_default()
                .entry(op)
                .or_default() += 1;
        }
    }
    out
}

/// Runs everyone once, the mock's log cleared before; the folder requests per mailbox.
async fn run(s: &Setup) -> (SyncReport, BTreeMap<String, BTreeMap<&'static str, u64>>) {
    s.mock.clear_log();
    let report = s.connector.run(None, None).await.unwrap();
    let counts = folder_requests(&s.mock);
    eprintln!("folder requests per mailbox: {counts:?}");
    (report, counts)
}

fn count(counts: &BTreeMap<String, BTreeMap<&'static str, u64>>, mailbox: &str, op: &str) -> u64 {
    counts
        .get(mailbox)
        .and_then(|c| c.get(op))
        .copied()
        .unwrap_or(0)
}

fn surnames(mock: &MockHandle, mailbox: &str, folder: &str) -> Vec<String> {
    let mut v: Vec<String> = mock
        .mailbox(mailbox)
        .unwrap()
        .items_in(folder)
        .filter_map(|i| {
            let rest = &i.xml[i.xml.find("Surname>")? + "Surname>".len()..];
            Some(rest[..rest.find('<')?].to_owned())
        })
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jobs_of_a_run_resolve_each_folder_path_once_per_mailbox() {
    let s = setup().await;

    // Initial run: every table lists in full and creates its CRM records. Per mailbox,
    // `/Calendar` and `/Tasks` are one `GetFolder` each, `/Contacts/Kunden` one `FindFolder`
    // below the contacts folder: once each, though every job resolves its sync folder when it
    // lists and its new-items folder when it creates.
    let (report, counts) = run(&s).await;
    assert_eq!(report.failed(), 0, "{report:?}");
    assert_eq!(report.items.len(), 6);
    for (user, mailbox) in USERS {
        assert_eq!(count(&counts, mailbox, "GetFolder"), 2, "{counts:?}");
        assert_eq!(count(&counts, mailbox, "FindFolder"), 1, "{counts:?}");
        assert_eq!(
            count(&counts, mailbox, "SyncFolderHierarchy"),
            0,
            "{counts:?}"
        );
        // Each mailbox's contact went into its own folder: no id served another mailbox.
        assert_eq!(
            surnames(&s.mock, mailbox, "contacts/Kunden"),
            ["Erster"],
            "{user}"
        );
    }

    // A second run resolves again (nothing is kept across runs): the new contact's
    // new-items folder is looked up, once.
    add_contact(&s.db, "bert", "Zweiter").await;
    let (report, counts) = run(&s).await;
    assert_eq!(report.failed(), 0, "{report:?}");
    assert_eq!(
        count(&counts, "bert@cloud.test", "FindFolder"),
        1,
        "{counts:?}"
    );
    assert_eq!(
        count(&counts, "bert@cloud.test", "GetFolder"),
        0,
        "{counts:?}"
    );
    assert!(!counts.contains_key("carla@cloud.test"), "{counts:?}");
    assert_eq!(
        surnames(&s.mock, "bert@cloud.test", "contacts/Kunden"),
        ["Erster", "Zweiter"]
    );

    // Renamed between runs, a new `Kunden` in its place: the next run's new contact goes to
    // the new folder.
    rename_folder(&s.mock, "bert@cloud.test", "contacts/Kunden", "Alt");
    create_folder(&s.mock, "bert@cloud.test", "Kunden");
    add_contact(&s.db, "bert", "Dritter").await;
    let (report, counts) = run(&s).await;
    assert_eq!(report.failed(), 0, "{report:?}");
    assert_eq!(
        count(&counts, "bert@cloud.test", "FindFolder"),
        1,
        "{counts:?}"
    );
    assert_eq!(
        surnames(&s.mock, "bert@cloud.test", "contacts/Kunden"),
        ["Dritter"]
    );
    assert_eq!(
        surnames(&s.mock, "bert@cloud.test", "contacts/Alt"),
        ["Erster", "Zweiter"]
    );

    // The path gone: as before, bert's new contact fails with the configuration error (the
    // feed goes on by folder id), and carla's contacts job, listing in full (its state
    // removed), fails as a configuration error; the other jobs are untouched.
    rename_folder(&s.mock, "bert@cloud.test", "contacts/Kunden", "Weg");
    rename_folder(&s.mock, "carla@cloud.test", "contacts/Kunden", "Weg");
    std::fs::remove_file(
        s.connector
            .state_path("carla@cloud.test", SyncTable::Contacts),
    )
    .unwrap();
    add_contact(&s.db, "bert", "Vierter").await;
    let (report, counts) = run(&s).await;
    assert_eq!(
        count(&counts, "bert@cloud.test", "FindFolder"),
        1,
        "{counts:?}"
    );
    assert_eq!(
        count(&counts, "carla@cloud.test", "FindFolder"),
        1,
        "{counts:?}"
    );
    let errors: Vec<_> = report
        .items
        .iter()
        .filter_map(|i| match &i.status {
            ItemStatus::Failed { error, kind, .. } => {
                Some((i.mailbox.as_str(), i.table, *kind, error.clone()))
            }
            ItemStatus::Succeeded { report } if !report.item_errors.is_empty() => Some((
                i.mailbox.as_str(),
                i.table,
                JobErrorKind::Other,
                report.item_errors.join("; "),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, "bert@cloud.test", "{errors:?}");
    assert!(
        errors[0]
            .3
            .ends_with("failed: folder /Contacts/Kunden not found in the mailbox"),
        "{errors:?}"
    );
    assert_eq!(
        (errors[1].0, errors[1].1, errors[1].2),
        ("carla@cloud.test", "contacts", JobErrorKind::Configuration),
        "{errors:?}"
    );
    assert!(
        errors[1]
            .3
            .contains("folder /Contacts/Kunden not found in the mailbox"),
        "{errors:?}"
    );
    assert_eq!(
        surnames(&s.mock, "bert@cloud.test", "contacts/Weg"),
        ["Dritter"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_jobs_of_a_batch_run_resolve_each_folder_path_once_per_mailbox() {
    let s = setup().await;
    let scheduler = Scheduler::new(
        s.connector(),
        SystemClock,
        SchedulerStore::in_memory().unwrap(),
        SchedulerOptions {
            concurrency: 6,
            ..SchedulerOptions::default()
        },
    );
    let (jobs, _) = s.connector.jobs(None, None).await.unwrap();
    assert_eq!(jobs.len(), 6);
    let batch = || async {
        s.mock.clear_log();
        let report = scheduler.run_once(&jobs, &CancellationToken::new()).await;
        let counts = folder_requests(&s.mock);
        eprintln!("batch folder requests per mailbox: {counts:?}");
        (report, counts)
    };

    let (report, counts) = batch().await;
    assert_eq!(report.succeeded(), 6, "{report:?}");
    for (_, mailbox) in USERS {
        assert_eq!(count(&counts, mailbox, "GetFolder"), 2, "{counts:?}");
        assert_eq!(count(&counts, mailbox, "FindFolder"), 1, "{counts:?}");
        assert_eq!(surnames(&s.mock, mailbox, "contacts/Kunden"), ["Erster"]);
    }

    // The next batch run resolves again: a folder renamed in between is picked up.
    rename_folder(&s.mock, "carla@cloud.test", "contacts/Kunden", "Alt");
    create_folder(&s.mock, "carla@cloud.test", "Kunden");
    add_contact(&s.db, "carla", "Zweiter").await;
    let (report, counts) = batch().await;
    assert_eq!(report.succeeded(), 6, "{report:?}");
    assert_eq!(
        count(&counts, "carla@cloud.test", "FindFolder"),
        1,
        "{counts:?}"
    );
    assert_eq!(
        surnames(&s.mock, "carla@cloud.test", "contacts/Kunden"),
        ["Zweiter"]
    );
}
