#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! The embedded SQLite defaults of the host traits, on real database files: what only the
//! SQLite files have (reopening, two connections, schema version, file modes, many openers).
//! The behaviour both embedded stores share is the contract in `crm_contract.rs`, which runs
//! on SQLite and PostgreSQL.

use conaktiv_exchange::host::{CrmRecord, CrmStore};
use conaktiv_exchange::sqlite::{SCHEMA_VERSION, SchemaError, SqliteDb};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A record type as a host would define it: any serde type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Contact(Value);
impl CrmRecord for Contact {
    const TABLE_NAME: &'static str = "contacts";
}

#[tokio::test]
async fn data_survives_reopen_and_two_connections_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.sqlite");
    let one = SqliteDb::open(&path).unwrap();
    let two = SqliteDb::open(&path).unwrap();
    let m = one
        .crm()
        .create(None, &Contact(json!({"n": 1})), None)
        .await
        .unwrap();
    // The second process updates; the first one's stale write is refused.
    two.crm()
        .update(&m.id, "1", &Contact(json!({"n": 2})), None)
        .await
        .unwrap();
    let err = one
        .crm()
        .update(&m.id, "1", &Contact(json!({"n": 3})), None)
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    drop((one, two));

    let again = SqliteDb::open(&path).unwrap();
    assert_eq!(again.schema_version().await.unwrap(), SCHEMA_VERSION);
    let got = CrmStore::<Contact>::get(&again.crm(), &m.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.record, Contact(json!({"n": 2})));
    assert_eq!(got.meta.version, "2");
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = SqliteDb::open(&path).unwrap_err();
    assert!(
        matches!(err, SchemaError::TooNew { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err}"
    );
}

/// The embedded CRM database, its WAL files, the scheduler's lease database and the folders
/// the connector creates for them are readable by the owner only.
#[cfg(unix)]
#[tokio::test]
async fn databases_and_their_folders_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("data/crm");
    let path = nested.join("crm.sqlite");
    let db = SqliteDb::open(&path).unwrap();
    db.directory()
        .put_user(&conaktiv_exchange::host::DirectoryUser {
            name: "anna".into(),
            display_name: "Anna".into(),
            mailbox: Some("anna@example.test".into()),
            groups: vec![],
            mail_accounts: vec![],
            active: true,
        })
        .await
        .unwrap();
    let leases =
        conaktiv_exchange::scheduler::SchedulerStore::open(nested.join("scheduler.sqlite"))
            .unwrap();
    drop(leases);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("data")), 0o700);
    assert_eq!(mode(&nested), 0o700);
    for entry in std::fs::read_dir(&nested).unwrap() {
        let p = entry.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    assert!(nested.join("crm.sqlite-wal").exists());
}

/// Eight openers of one new database at the same moment (as several processes starting
/// together): every one opens it, and the schema is created once.
#[test]
fn a_new_database_opened_by_many_at_once_opens_for_all() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crm.sqlite");
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteDb::open(&path).map(drop).map_err(|e| e.to_string())
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), Ok(()));
        }
        let scheduler = std::sync::Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, barrier) = (dir.path().join("scheduler.sqlite"), scheduler.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    conaktiv_exchange::scheduler::SchedulerStore::open(&path)
                        .map(drop)
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), Ok(()));
        }
    }
}
