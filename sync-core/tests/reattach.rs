//! Detached pairs are remembered with their reason in both stores, and an opt-in re-attach
//! writes the kept record back to the side that lost it, with the same key.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use common::{World, rec};
use sync_core::{
    DetachReason, Engine, MemoryStore, Policy, Reattach, SideId, SqliteStore, StateStore, Switches,
    Timestamp,
};

/// The CRM keeps its records when Exchange loses them (the delete switch into the CRM is off).
fn keep_crm() -> Policy {
    Policy {
        remote_to_local: Switches {
            delete_missing: false,
            ..Switches::ALL
        },
        ..Policy::default()
    }
}

fn run_reattach<S: StateStore + Send>(
    w: &mut World<S>,
    rule: &Policy,
    reattach: Reattach,
) -> sync_core::Report {
    w.now += 1;
    let engine = Engine::new(rule.clone()).unwrap().with_reattach(reattach);
    let (_, report) = futures::executor::block_on(engine.run(
        &mut w.local,
        &mut w.remote,
        &mut w.store,
        Timestamp::from_unix_secs(w.now),
    ))
    .unwrap();
    report
}

fn records_exchange_lost_come_back<S: StateStore + Send>(store: S) {
    let mut w = World::with_store(store);
    let mut crm = Vec::new();
    for i in 0..5 {
        crm.push(w.local.insert(rec(&[("name", &format!("n{i}"))])));
    }
    w.sync(&keep_crm());
    // The mailbox is restored from an old backup: three items are lost.
    let lost: Vec<String> = crm[..3]
        .iter()
        .map(|l| w.partner_of_local(l).unwrap())
        .collect();
    for r in &lost {
        w.remote.remove(r);
    }
    let (_, report) = w.sync(&keep_crm());
    assert_eq!(report.detached.len(), 3);
    let detached = w.store.detached().unwrap();
    assert_eq!(detached.len(), 3, "{detached:?}");
    for d in &detached {
        assert_eq!(d.gone, SideId::Remote);
        assert_eq!(d.reason, DetachReason::DeleteSwitchOff);
        assert!(crm[..3].contains(&d.kept_id));
        assert_eq!(d.at, w.time());
    }
    // Without the opt-in nothing changes.
    let report = run_reattach(&mut w, &keep_crm(), Reattach::Off);
    assert_eq!(report.counts.total(), 0);
    assert_eq!(w.remote.items().len(), 2);
    assert_eq!(w.store.detached().unwrap().len(), 3);

    // With it, the three come back to Exchange carrying the CRM record's key; CRM ids stay.
    w.local.edit(&crm[0], "phone", "9"); // an edit since the detach goes along
    let report = run_reattach(&mut w, &keep_crm(), Reattach::On);
    assert_eq!(report.reattached, 3, "{report:?}");
    assert_eq!(report.counts.remote.new, 3);
    assert!(!report.has_failures());
    assert_eq!(w.remote.items().len(), 5);
    assert!(w.store.detached().unwrap().is_empty());
    for l in &crm {
        let r = w.partner_of_local(l).expect("paired again");
        assert_eq!(w.remote.get(&r).unwrap().key.as_deref(), Some(l.as_str()));
        assert_eq!(w.remote_record(&r), w.local_record(l));
    }
    assert_eq!(w.local.items().len(), 5, "no CRM record created or deleted");
    // Tracked again: an edit flows, and a run with re-attach on again writes nothing more.
    let r0 = w.partner_of_local(&crm[0]).unwrap();
    w.remote.edit(&r0, "name", "edited in Exchange");
    w.sync(&keep_crm());
    assert_eq!(
        w.local_record(&crm[0]).get("name"),
        Some(&"edited in Exchange".into())
    );
    let report = run_reattach(&mut w, &keep_crm(), Reattach::On);
    assert_eq!(report.counts.total(), 0, "{report:?}");
}

#[test]
fn records_exchange_lost_come_back_with_reattach_on_the_memory_store() {
    records_exchange_lost_come_back(MemoryStore::new());
}

#[test]
fn records_exchange_lost_come_back_with_reattach_on_the_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    records_exchange_lost_come_back(SqliteStore::open(dir.path().join("s.db")).unwrap());
}

#[test]
fn reattach_follows_the_transfer_new_switch() {
    let mut w = World::new();
    let l = w.local.insert(rec(&[("name", "Ann")]));
    w.sync(&keep_crm());
    let r = w.partner_of_local(&l).unwrap();
    w.remote.remove(&r);
    w.sync(&keep_crm());
    let no_new = Policy {
        local_to_remote: Switches {
            transfer_new: false,
            ..Switches::ALL
        },
        ..keep_crm()
    };
    let report = run_reattach(&mut w, &no_new, Reattach::On);
    assert_eq!(report.counts.total(), 0);
    assert!(w.remote.items().is_empty());
    assert_eq!(w.store.detached().unwrap().len(), 1);
}

#[test]
fn an_edited_record_kept_by_edit_beats_delete_can_be_reattached() {
    let mut w = World::new();
    let l = w.local.insert(rec(&[("name", "Ann")]));
    w.sync(&Policy::default());
    let r = w.partner_of_local(&l).unwrap();
    w.remote.remove(&r);
    w.local.edit(&l, "name", "Anna");
    let (_, report) = w.sync(&Policy::default());
    assert_eq!(report.detached[0].reason, DetachReason::EditBeatsDelete);
    let report = run_reattach(&mut w, &Policy::default(), Reattach::On);
    assert_eq!(report.reattached, 1);
    let r = w.partner_of_local(&l).unwrap();
    assert_eq!(w.remote_record(&r), rec(&[("name", "Anna")]));
}

#[test]
fn detaches_survive_a_reopen_and_older_databases_report_them_as_unrecorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    {
        let mut w = World::with_store(SqliteStore::open(&path).unwrap());
        let l = w.local.insert(rec(&[("name", "Ann")]));
        w.sync(&keep_crm());
        let r = w.partner_of_local(&l).unwrap();
        w.remote.remove(&r);
        w.sync(&keep_crm());
    }
    let s = SqliteStore::open(&path).unwrap();
    let d = s.detached().unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].reason, DetachReason::DeleteSwitchOff);
    assert!(d[0].at > Timestamp::UNIX_EPOCH);
    drop(s);

    // A version-1 database (before detaches were recorded) with one detached pair.
    let old = dir.path().join("old.db");
    write_v1(&old);
    let s = SqliteStore::open(&old).unwrap();
    assert_eq!(s.schema_version().unwrap(), sync_core::SCHEMA_VERSION);
    let d = s.detached().unwrap();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].reason, DetachReason::Unrecorded);
    assert_eq!(d[0].kept_id, "L1");
    assert_eq!(d[0].gone, SideId::Remote);
}

/// A schema-version-1 database (before detaches were recorded) holding one detached pair
/// and one attached pair, written with version 1's exact schema.
fn write_v1(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE pairs (
             key TEXT PRIMARY KEY NOT NULL,
             local_id TEXT, local_version TEXT,
             remote_id TEXT, remote_version TEXT,
             base TEXT NOT NULL
         );
         CREATE INDEX pairs_local ON pairs(local_id);
         CREATE INDEX pairs_remote ON pairs(remote_id);
         CREATE TABLE intents (
             key TEXT PRIMARY KEY NOT NULL,
             side TEXT NOT NULL,
             source_id TEXT NOT NULL,
             at INTEGER NOT NULL
         );
         CREATE TABLE tokens (side TEXT PRIMARY KEY NOT NULL, token TEXT NOT NULL);
         INSERT INTO pairs VALUES ('L1', 'L1', '1', NULL, NULL, '{\"fields\":{}}');
         INSERT INTO pairs VALUES ('L2', 'L2', '1', 'R2', '1', '{\"fields\":{}}');
         PRAGMA user_version = 1;",
    )
    .unwrap();
}
