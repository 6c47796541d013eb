//! The state-store contract, run against `MemoryStore` and `SqliteStore` alike, plus
//! SQLite specifics (schema version, migrations, WAL, reopening) and end-to-end runs on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use common::{World, rec};
use sync_core::{
    Anchor, DetachReason, Intent, MemoryStore, Pair, Policy, Record, SCHEMA_VERSION, SideId,
    SqliteStore, StateBatch, StateStore, StoreError, Timestamp,
};

fn pair(key: &str, local: Option<&str>, remote: Option<&str>, base: Record) -> Pair {
    let a = |id: Option<&str>| {
        id.map(|id| Anchor {
            id: id.into(),
            version: format!("v-{id}"),
        })
    };
    Pair {
        key: key.into(),
        local: a(local),
        remote: a(remote),
        base,
    }
}

fn keys(pairs: &[Pair]) -> Vec<&str> {
    pairs.iter().map(|p| p.key.as_str()).collect()
}

/// The contract every state store fulfils.
fn contract<S: StateStore + Send>(mut s: S) {
    assert_eq!(s.pair_count().unwrap(), 0);
    assert!(s.all_pairs().unwrap().is_empty());
    assert!(s.intents().unwrap().is_empty());
    assert_eq!(s.token(SideId::Local).unwrap(), None);

    let base = Record::new()
        .with("name", "Ann")
        .with("n", 3)
        .with("tags", serde_json::json!(["a", "b"]))
        .with("none", serde_json::Value::Null);
    s.commit(&StateBatch {
        upsert: vec![
            pair("k2", Some("L2"), Some("R2"), Record::new()),
            pair("k1", Some("L1"), Some("R1"), base.clone()),
            pair("k3", None, Some("R3"), Record::new()),
        ],
        add_intents: vec![Intent {
            key: "k9".into(),
            on: SideId::Remote,
            source_id: "L9".into(),
            at: Timestamp::from_unix_secs(42),
        }],
        tokens: vec![(SideId::Remote, Some("t1".into()))],
        ..StateBatch::default()
    })
    .unwrap();
    assert_eq!(s.pair_count().unwrap(), 3);
    let all = s.all_pairs().unwrap();
    assert_eq!(keys(&all), ["k1", "k2", "k3"], "ordered by key");
    assert_eq!(all[0].base, base, "the base round-trips");
    assert_eq!(all[2].local, None, "a detached pair keeps one anchor");
    assert_eq!(s.token(SideId::Remote).unwrap().as_deref(), Some("t1"));
    assert_eq!(s.token(SideId::Local).unwrap(), None);
    assert_eq!(
        s.intents().unwrap(),
        vec![Intent {
            key: "k9".into(),
            on: SideId::Remote,
            source_id: "L9".into(),
            at: Timestamp::from_unix_secs(42)
        }]
    );

    let found = s
        .pairs_for(
            &["L2".into()],
            &["R1".into(), "R3".into()],
            &["k2".into(), "zz".into()],
        )
        .unwrap();
    assert_eq!(
        keys(&found),
        ["k1", "k2", "k3"],
        "by local id, remote id and key, no duplicates"
    );
    assert!(
        s.pairs_for(&["R1".into()], &["L1".into()], &[])
            .unwrap()
            .is_empty(),
        "sides differ"
    );

    // Replacing a pair re-indexes it: the old remote id no longer finds it.
    s.commit(&StateBatch {
        upsert: vec![pair("k1", Some("L1"), Some("R1b"), Record::new())],
        remove: vec!["k2".into()],
        clear_intents: vec!["k9".into()],
        tokens: vec![(SideId::Remote, None), (SideId::Local, Some("t2".into()))],
        ..StateBatch::default()
    })
    .unwrap();
    assert!(s.pairs_for(&[], &["R1".into()], &[]).unwrap().is_empty());
    assert_eq!(
        keys(&s.pairs_for(&[], &["R1b".into()], &[]).unwrap()),
        ["k1"]
    );
    assert_eq!(keys(&s.all_pairs().unwrap()), ["k1", "k3"]);
    assert!(s.intents().unwrap().is_empty());
    assert_eq!(s.token(SideId::Remote).unwrap(), None);
    assert_eq!(s.token(SideId::Local).unwrap().as_deref(), Some("t2"));

    // One batch naming a key twice: the later entry wins, as if applied one by one.
    let at = |n| Timestamp::from_unix_secs(n);
    s.commit(&StateBatch {
        upsert: vec![
            pair("k5", Some("L5"), None, Record::new()),
            pair("k4", Some("L4"), Some("R4"), Record::new()),
            pair("k5", None, Some("R5"), Record::new().with("v", 2)),
        ],
        detach: vec![
            sync_core::Detached {
                key: "k5".into(),
                gone: SideId::Local,
                kept_id: "R5".into(),
                reason: DetachReason::DeleteSwitchOff,
                at: at(1),
            },
            sync_core::Detached {
                key: "k5".into(),
                gone: SideId::Local,
                kept_id: "R5".into(),
                reason: DetachReason::EditBeatsDelete,
                at: at(2),
            },
        ],
        add_intents: vec![
            Intent {
                key: "k8".into(),
                on: SideId::Local,
                source_id: "R8".into(),
                at: at(3),
            },
            Intent {
                key: "k8".into(),
                on: SideId::Remote,
                source_id: "L8".into(),
                at: at(4),
            },
        ],
        ..StateBatch::default()
    })
    .unwrap();
    let k5 = s.pairs_for(&[], &[], &["k5".into()]).unwrap();
    assert_eq!(k5.len(), 1);
    assert_eq!(
        (
            k5[0].local.as_ref(),
            k5[0].remote.as_ref().map(|a| a.id.as_str())
        ),
        (None, Some("R5"))
    );
    assert_eq!(k5[0].base, Record::new().with("v", 2));
    assert_eq!(
        keys(&s.pairs_for(&["L4".into()], &[], &[]).unwrap()),
        ["k4"]
    );
    let detached = s.detached().unwrap();
    let d5: Vec<_> = detached.iter().filter(|d| d.key == "k5").collect();
    assert_eq!(d5.len(), 1, "{detached:?}");
    assert_eq!(
        (d5[0].reason, d5[0].at),
        (DetachReason::EditBeatsDelete, at(2))
    );
    assert_eq!(
        s.intents().unwrap(),
        vec![Intent {
            key: "k8".into(),
            on: SideId::Remote,
            source_id: "L8".into(),
            at: at(4)
        }]
    );
}

/// Lookups of more ids than one SQL statement takes.
fn many_ids<S: StateStore + Send>(mut s: S) {
    let upsert = (0..1200)
        .map(|i| {
            pair(
                &format!("k{i}"),
                Some(&format!("L{i}")),
                Some(&format!("R{i}")),
                Record::new(),
            )
        })
        .collect();
    s.commit(&StateBatch {
        upsert,
        ..StateBatch::default()
    })
    .unwrap();
    let ids: Vec<String> = (0..1100).map(|i| format!("L{i}")).collect();
    let keys: Vec<String> = (1000..1200).map(|i| format!("k{i}")).collect();
    assert_eq!(s.pairs_for(&ids, &[], &keys).unwrap().len(), 1200);
    assert_eq!(s.pair_count().unwrap(), 1200);
}

#[test]
fn memory_store_fulfils_the_contract() {
    contract(MemoryStore::new());
    many_ids(MemoryStore::new());
}

#[test]
fn sqlite_store_fulfils_the_contract() {
    contract(SqliteStore::open_in_memory().unwrap());
    many_ids(SqliteStore::open_in_memory().unwrap());
    let dir = tempfile::tempdir().unwrap();
    contract(SqliteStore::open(dir.path().join("state.db")).unwrap());
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_store_fulfils_the_contract() {
    let Some(pg) = common::pg::pg() else { return };
    contract(pg.store("contract"));
    many_ids(pg.store("many"));
}

/// Scopes are separate states in one database, as separate SQLite files are.
#[cfg(feature = "postgres")]
#[test]
fn postgres_scopes_do_not_see_each_other() {
    let Some(pg) = common::pg::pg() else { return };
    let mut a = pg.store("a");
    let b = pg.store("b");
    a.commit(&StateBatch {
        upsert: vec![pair("k", Some("L"), Some("R"), Record::new())],
        tokens: vec![(SideId::Local, Some("t".into()))],
        ..StateBatch::default()
    })
    .unwrap();
    assert_eq!(a.pair_count().unwrap(), 1);
    assert_eq!(b.pair_count().unwrap(), 0);
    assert!(
        b.pairs_for(&["L".into()], &[], &["k".into()])
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.token(SideId::Local).unwrap(), None);
}

/// The engine drives the PostgreSQL store through the async seam on a multi-threaded
/// runtime, as the connector does; the result equals the memory store's.
#[cfg(feature = "postgres")]
#[test]
fn the_engine_runs_on_postgres_through_the_async_seam() {
    use sync_core::memory::{Feed, MemorySide};
    use sync_core::postgres::PgStore;
    let Some(pg) = common::pg::pg() else { return };
    let mem = scenario(MemoryStore::new());
    let on_pg = scenario(pg.store("scenario"));
    assert_eq!(mem, on_pg);

    let pool = pg.pool.clone();
    let pairs = pg.rt.block_on(async move {
        let mut store = PgStore::open(&pool, common::pg::scope("async"))
            .await
            .unwrap();
        let mut local = MemorySide::new("L", Feed::Delta);
        let mut remote = MemorySide::new("R", Feed::Delta);
        for i in 0..250 {
            local.insert(rec(&[("name", &format!("n{i}"))]));
        }
        let engine = sync_core::Engine::new(Policy::default())
            .unwrap()
            .with_batch_size(100);
        // Spawned: the engine's future must be `Send` with a PostgreSQL store.
        let handle = tokio::spawn(async move {
            let t = Timestamp::from_unix_secs(10);
            let (_, report) = engine
                .run(&mut local, &mut remote, &mut store, t)
                .await
                .unwrap();
            assert!(report.is_complete());
            assert_eq!(remote.items().len(), 250);
            let (plan, _) = engine
                .run(&mut local, &mut remote, &mut store, t)
                .await
                .unwrap();
            assert!(plan.is_noop(), "a second run has nothing to do");
            sync_core::AsyncStateStore::all_pairs(&mut store)
                .await
                .unwrap()
        });
        handle.await.unwrap()
    });
    assert_eq!(pairs.len(), 250);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_refuses_a_newer_schema() {
    let Some(pg) = common::pg::pg() else { return };
    let url = pg
        .rt
        .block_on(sync_core::postgres::create_scratch_database(&pg.url))
        .unwrap();
    let pool = sync_core::postgres::PgPool::connect(&url, None, 2).unwrap();
    pg.rt.block_on(async {
        drop(
            sync_core::postgres::PgStore::open(&pool, "x")
                .await
                .unwrap(),
        );
        assert_eq!(
            pool.schema_version(sync_core::postgres::COMPONENT)
                .await
                .unwrap(),
            sync_core::postgres::MIGRATIONS.len() as i64
        );
        pool.client()
            .await
            .unwrap()
            .batch_execute("UPDATE conaktiv_schema SET version = 99 WHERE component = 'sync_state'")
            .await
            .unwrap();
        // A new pool (a newer worker's database seen by an older one) refuses it.
        let older = sync_core::postgres::PgPool::connect(&url, None, 2).unwrap();
        let err = sync_core::postgres::PgStore::open(&older, "x")
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
            "{err}"
        );
        assert!(!err.is_transient());
    });
}

/// A wrong password or an unreachable server is a typed error, the unreachable one
/// transient; neither message carries the password.
#[cfg(feature = "postgres")]
#[test]
fn postgres_connection_errors_are_typed_and_carry_no_password() {
    let Some(pg) = common::pg::pg() else { return };
    pg.rt.block_on(async {
        let bad =
            sync_core::postgres::PgPool::connect(&pg.url, Some("wrong-secret-pw"), 1).unwrap();
        let err = sync_core::postgres::PgStore::open(&bad, "x")
            .await
            .unwrap_err();
        assert!(
            !err.is_transient(),
            "a wrong password is not transient: {err}"
        );
        assert!(!format!("{err} {err:?}").contains("wrong-secret-pw"));
        let down = sync_core::postgres::PgPool::connect(
            "postgres://u@127.0.0.1:9/x",
            Some("pw-not-shown"),
            1,
        )
        .unwrap();
        let err = sync_core::postgres::PgStore::open(&down, "x")
            .await
            .unwrap_err();
        assert!(
            err.is_transient(),
            "a refused connection is transient: {err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("pw-not-shown"));
    });
}

#[test]
fn sqlite_store_uses_wal_keeps_its_state_and_records_the_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.journal_mode().unwrap(), "wal");
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
        s.commit(&StateBatch {
            upsert: vec![pair("k", Some("L"), Some("R"), rec(&[("a", "b")]))],
            ..StateBatch::default()
        })
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(
        s.all_pairs().unwrap(),
        vec![pair("k", Some("L"), Some("R"), rec(&[("a", "b")]))]
    );
}

#[test]
fn sqlite_store_refuses_a_newer_schema_and_reports_corrupt_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(SqliteStore::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "INSERT INTO pairs (key, local_id, local_version, remote_id, remote_version, base)
             VALUES ('k', 'L', '1', 'R', '1', 'not json')",
            [],
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert!(matches!(s.all_pairs(), Err(StoreError::Corrupt(_))));
    drop(s);
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
    }
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::SchemaTooNew { found, .. } if found == SCHEMA_VERSION + 1));
    assert!(!err.is_transient());
}

#[test]
fn a_version_zero_database_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    drop(rusqlite::Connection::open(&path).unwrap());
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(s.pair_count().unwrap(), 0);
}

/// The same end-to-end scenario on both stores gives the same pairs.
fn scenario<S: StateStore + Send>(store: S) -> Vec<Pair> {
    let mut w = World::with_store(store);
    let rule = Policy::default();
    let l = w.local.insert(rec(&[("name", "Ann")]));
    let r = w.remote.insert(rec(&[("name", "Bob")]));
    w.sync(&rule);
    w.local.edit(&l, "name", "Anna");
    let r2 = w.remote.move_item(&r).unwrap();
    w.remote.edit(&r2, "phone", "1");
    let (_, report) = w.sync(&rule);
    assert!(report.is_complete());
    let (plan, _) = w.sync(&rule);
    assert!(plan.is_noop());
    assert_eq!(w.local.items().len(), 2);
    assert_eq!(w.remote.items().len(), 2);
    w.store.all_pairs().unwrap()
}

#[test]
fn sqlite_and_memory_stores_give_the_same_result() {
    let mem = scenario(MemoryStore::new());
    let dir = tempfile::tempdir().unwrap();
    let sql = scenario(SqliteStore::open(dir.path().join("s.db")).unwrap());
    assert_eq!(mem, sql);
    assert_eq!(mem.len(), 2);
}

/// Several threads (each with its own connection, as separate processes have) open the same
/// new database at the same moment: every one succeeds, the schema is created once, and each
/// can commit at once.
#[test]
fn many_threads_open_a_new_database_at_once() {
    for round in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let n = 8;
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let mut s = SqliteStore::open(&path)
                        .unwrap_or_else(|e| panic!("round {round} opener {i}: {e}"));
                    s.commit(&StateBatch {
                        upsert: vec![pair(&format!("k{i}"), Some("L"), None, Record::new())],
                        ..StateBatch::default()
                    })
                    .unwrap_or_else(|e| panic!("round {round} committer {i}: {e}"));
                    s.schema_version().unwrap()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), SCHEMA_VERSION);
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.pair_count().unwrap(), n);
        assert_eq!(s.journal_mode().unwrap(), "wal");
    }
}

const CHILD_DB: &str = "SYNC_CORE_TEST_OPEN_DB";
const CHILD_START: &str = "SYNC_CORE_TEST_START";

fn millis_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Run by `several_processes_open_a_new_database_at_once` in child processes (this test
/// binary started again); does nothing when run on its own.
#[test]
fn child_process_opens_the_database() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let start: u128 = std::env::var(CHILD_START).unwrap().parse().unwrap();
    // Start together: wait for the agreed moment.
    while millis_now() < start {
        std::hint::spin_loop();
    }
    let mut s = SqliteStore::open(&path).unwrap();
    let me = std::process::id().to_string();
    s.commit(&StateBatch {
        upsert: vec![pair(&me, Some(&me), None, Record::new())],
        ..StateBatch::default()
    })
    .unwrap();
}

#[test]
fn several_processes_open_a_new_database_at_once() {
    let exe = std::env::current_exe().unwrap();
    let n = 6;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let start = millis_now() + 500;
    let spawned: Vec<_> = (0..n)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", "child_process_opens_the_database", "--nocapture"])
                .env(CHILD_DB, &path)
                .env(CHILD_START, start.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in spawned {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a child failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.pair_count().unwrap(), n);
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
}

#[cfg(unix)]
#[test]
fn state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("new").join("state");
    let path = sub.join("state.db");
    let mut s = SqliteStore::open(&path).unwrap();
    s.commit(&StateBatch {
        upsert: vec![pair("k", Some("L"), Some("R"), Record::new())],
        ..StateBatch::default()
    })
    .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sub), 0o700, "created directory");
    assert_eq!(mode(&dir.path().join("new")), 0o700, "created directory");
    for name in ["state.db", "state.db-wal", "state.db-shm"] {
        let f = sub.join(name);
        assert!(f.exists(), "{name} exists while the store is open");
        assert_eq!(mode(&f), 0o600, "{name}");
    }
}
