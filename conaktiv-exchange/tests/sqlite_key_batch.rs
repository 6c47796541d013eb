#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Key write-backs in batches: `CrmStore::set_keys` on the embedded SQLite store (one
//! transaction per batch, results per write) and `CrmSide` handing a batch's key writes to
//! the store in one call.

mod common;

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use conaktiv_exchange::crm_side::{CrmSide, JsonProjection};
use conaktiv_exchange::host::{
    CrmRecord, CrmStore, HostError, KeyWrite, ListQuery, RecordMeta, Stored,
};
use conaktiv_exchange::sqlite::{SqliteCrm, SqliteDb};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sync_core::{Record, Side, WriteOp, WriteOutcome};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Contact(Value);
impl CrmRecord for Contact {
    const TABLE_NAME: &'static str = "contacts";
}

fn db() -> (tempfile::TempDir, SqliteDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(dir.path().join("crm.sqlite")).unwrap();
    (dir, db)
}

async fn seed(crm: &SqliteCrm, n: usize) -> Vec<RecordMeta> {
    let mut out = Vec::new();
    for i in 0..n {
        let c = Contact(json!({ "name": format!("Kontakt {i}") }));
        out.push(
            CrmStore::<Contact>::create(crm, Some("bob"), &c, None)
                .await
                .unwrap(),
        );
    }
    out
}

async fn key_of(crm: &SqliteCrm, id: &str) -> Option<String> {
    CrmStore::<Contact>::get(crm, id)
        .await
        .unwrap()
        .unwrap()
        .meta
        .key
}

/// A conflict and a missing record are the results of their own writes; the other writes of
/// the batch are stored, and every result is the one `set_key` gives.
#[tokio::test]
async fn conflicts_and_missing_records_are_reported_per_write() {
    let (_dir, db) = db();
    let crm = db.crm();
    let seeded = seed(&crm, 3).await;
    let (a, b, c) = (&seeded[0], &seeded[1], &seeded[2]);
    // b moves on to version 2 behind the batch's back
    CrmStore::<Contact>::update(&crm, &b.id, "1", &Contact(json!({"name": "B neu"})), None)
        .await
        .unwrap();

    let writes = [
        KeyWrite::new(a.id.clone(), "1", "key-a"),
        KeyWrite::new(b.id.clone(), "1", "key-b"),
        KeyWrite::new("no-such-record", "1", "key-x"),
        KeyWrite::new(c.id.clone(), "1", "key-c"),
    ];
    let results = CrmStore::<Contact>::set_keys(&crm, &writes).await;
    assert_eq!(results.len(), 4);

    let done_a = results[0].as_ref().unwrap();
    assert_eq!(
        (done_a.id.as_str(), done_a.version.as_str()),
        (a.id.as_str(), "2")
    );
    assert_eq!(done_a.key.as_deref(), Some("key-a"));
    assert!(
        matches!(&results[1], Err(HostError::Conflict { id, expected, actual, .. })
            if id == &b.id && expected == "1" && actual == "2"),
        "{:?}",
        results[1]
    );
    assert!(
        matches!(&results[2], Err(HostError::NotFound { id, .. }) if id == "no-such-record"),
        "{:?}",
        results[2]
    );
    let done_c = results[3].as_ref().unwrap();
    assert_eq!(
        (done_c.id.as_str(), done_c.version.as_str()),
        (c.id.as_str(), "2")
    );

    // stored, as a second connection to the file sees
    let other = SqliteDb::open(_dir.path().join("crm.sqlite"))
        .unwrap()
        .crm();
    assert_eq!(key_of(&other, &a.id).await.as_deref(), Some("key-a"));
    assert_eq!(
        key_of(&other, &b.id).await,
        None,
        "the conflicting write changed nothing"
    );
    assert_eq!(key_of(&other, &c.id).await.as_deref(), Some("key-c"));
    let b_now = CrmStore::<Contact>::get(&other, &b.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b_now.meta.version, "2");

    // the same key again is no change: the version stays (as with set_key)
    let again =
        CrmStore::<Contact>::set_keys(&crm, &[KeyWrite::new(a.id.clone(), "2", "key-a")]).await;
    assert_eq!(again[0].as_ref().unwrap().version, "2");
    // two writes of one record in a batch: the second sees the first (in order)
    let twice = CrmStore::<Contact>::set_keys(
        &crm,
        &[
            KeyWrite::new(a.id.clone(), "2", "key-a2"),
            KeyWrite::new(a.id.clone(), "2", "key-a3"),
            KeyWrite::new(a.id.clone(), "3", "key-a4"),
        ],
    )
    .await;
    assert_eq!(twice[0].as_ref().unwrap().version, "3");
    assert!(twice[1].as_ref().is_err_and(HostError::is_conflict));
    assert_eq!(twice[2].as_ref().unwrap().version, "4");
    assert_eq!(key_of(&crm, &a.id).await.as_deref(), Some("key-a4"));
    assert!(CrmStore::<Contact>::set_keys(&crm, &[]).await.is_empty());
}

/// The batch is one transaction: when a write of the middle fails in the storage (here a
/// trigger refuses it), the writes before it are not stored either, and every write reports
/// the failure. Written one transaction per record, the first write would have stayed.
#[tokio::test]
async fn a_batch_is_stored_all_or_nothing() {
    let (dir, db) = db();
    let crm = db.crm();
    let seeded = seed(&crm, 3).await;
    let path = dir.path().join("crm.sqlite");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(
            "CREATE TRIGGER refuse_boom BEFORE UPDATE ON records WHEN NEW.key = 'boom'
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
        )
        .unwrap();
    }
    let writes = [
        KeyWrite::new(seeded[0].id.clone(), "1", "key-0"),
        KeyWrite::new(seeded[1].id.clone(), "1", "boom"),
        KeyWrite::new(seeded[2].id.clone(), "1", "key-2"),
    ];
    let results = CrmStore::<Contact>::set_keys(&crm, &writes).await;
    assert_eq!(results.len(), 3);
    for r in &results {
        let e = r.as_ref().unwrap_err();
        assert!(matches!(e, HostError::Storage { .. }), "{e}");
        assert!(e.to_string().contains("refused by the test"), "{e}");
        assert!(!e.is_transient());
    }
    let other = SqliteDb::open(&path).unwrap().crm();
    for m in &seeded {
        let now = CrmStore::<Contact>::get(&other, &m.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((now.meta.key, now.meta.version.as_str()), (None, "1"));
    }

    // without the failing write, the whole batch is stored
    let writes = [
        KeyWrite::new(seeded[0].id.clone(), "1", "key-0"),
        KeyWrite::new(seeded[2].id.clone(), "1", "key-2"),
    ];
    let results = CrmStore::<Contact>::set_keys(&crm, &writes).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        key_of(&other, &seeded[0].id).await.as_deref(),
        Some("key-0")
    );
    assert_eq!(
        key_of(&other, &seeded[2].id).await.as_deref(),
        Some("key-2")
    );
}

/// While another connection holds the database's write lock, a batch waits for it (the busy
/// timeout) instead of failing, and is then stored whole: another connection sees none of
/// its keys before and all of them after. (That nothing in between is visible is what
/// `a_batch_is_stored_all_or_nothing` shows.)
#[tokio::test]
async fn a_batch_waits_for_another_writer_and_is_then_stored_whole() {
    let (dir, db) = db();
    let crm = db.crm();
    let seeded = seed(&crm, 50).await;
    let path = dir.path().join("crm.sqlite");
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let writes: Vec<KeyWrite> = seeded
        .iter()
        .map(|m| KeyWrite::new(m.id.clone(), "1", format!("key-{}", m.id)))
        .collect();
    let batch = {
        let crm = crm.clone();
        tokio::spawn(async move { CrmStore::<Contact>::set_keys(&crm, &writes).await })
    };
    let reader = rusqlite::Connection::open(&path).unwrap();
    let keyed = |c: &rusqlite::Connection| -> i64 {
        c.query_row(
            "SELECT count(*) FROM records WHERE tbl = 'contacts' AND key IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!batch.is_finished(), "the batch waits for the write lock");
    assert_eq!(keyed(&reader), 0);
    blocker.execute_batch("COMMIT").unwrap();
    let results = batch.await.unwrap();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(keyed(&reader), 50);
}

/// A store that forwards every call to the embedded one and logs the writes.
#[derive(Clone)]
struct Counting {
    inner: SqliteCrm,
    /// Answer this many results fewer than writes (a broken host store).
    short_by: usize,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Counting {
    fn new(inner: SqliteCrm) -> Self {
        Self {
            inner,
            short_by: 0,
            calls: Arc::default(),
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
}

#[async_trait]
impl CrmStore<Contact> for Counting {
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError> {
        CrmStore::<Contact>::list(&self.inner, query).await
    }
    async fn get(&self, id: &str) -> Result<Option<Stored<Contact>>, HostError> {
        self.inner.get(id).await
    }
    async fn create(
        &self,
        owner: Option<&str>,
        record: &Contact,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.log("create".into());
        self.inner.create(owner, record, key).await
    }
    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &Contact,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.log("update".into());
        self.inner.update(id, expected, record, key).await
    }
    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        self.log("delete".into());
        CrmStore::<Contact>::delete(&self.inner, id, expected).await
    }
    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        self.log("set_key".into());
        CrmStore::<Contact>::set_key(&self.inner, id, expected, key).await
    }
    async fn set_keys(&self, writes: &[KeyWrite]) -> Vec<Result<RecordMeta, HostError>> {
        self.log(format!("set_keys {}", writes.len()));
        let mut out = CrmStore::<Contact>::set_keys(&self.inner, writes).await;
        out.truncate(out.len().saturating_sub(self.short_by));
        out
    }
}

/// A host store written before `set_keys` existed: it forwards the other calls and gets the
/// trait's default `set_keys`.
struct Unbatched(Counting);

#[async_trait]
impl CrmStore<Contact> for Unbatched {
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError> {
        self.0.list(query).await
    }
    async fn get(&self, id: &str) -> Result<Option<Stored<Contact>>, HostError> {
        self.0.get(id).await
    }
    async fn create(
        &self,
        owner: Option<&str>,
        record: &Contact,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.0.create(owner, record, key).await
    }
    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &Contact,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.0.update(id, expected, record, key).await
    }
    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        self.0.delete(id, expected).await
    }
    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        self.0.set_key(id, expected, key).await
    }
}

fn set_key(m: &RecordMeta, key: &str) -> WriteOp {
    WriteOp::SetKey {
        id: m.id.clone(),
        expected: m.version.clone(),
        key: key.into(),
    }
}

fn side<S: CrmStore<Contact>>(store: S) -> CrmSide<Contact, S, JsonProjection<Contact>> {
    CrmSide::new(store, JsonProjection::default(), ListQuery::all())
}

/// `CrmSide::write` hands each run of consecutive key writes to `set_keys` in one call, keeps
/// the batch's order and reports a conflict as that write's outcome.
#[tokio::test]
async fn the_crm_side_writes_a_batchs_keys_in_one_call() {
    let (_dir, db) = db();
    let crm = db.crm();
    let seeded = seed(&crm, 5).await;
    let store = Counting::new(crm.clone());
    let mut side = side(store.clone());
    let mut stale = set_key(&seeded[3], "k3");
    if let WriteOp::SetKey { expected, .. } = &mut stale {
        *expected = "7".into();
    }
    let mut new = Record::new();
    new.fields.insert("name".into(), json!("Neu"));
    let ops = vec![
        set_key(&seeded[0], "k0"),
        set_key(&seeded[1], "k1"),
        set_key(&seeded[2], "k2"),
        WriteOp::Create {
            record: new,
            key: "k-new".into(),
        },
        stale,
        set_key(&seeded[4], "k4"),
    ];
    let outcomes = side.write(ops).await.unwrap();
    assert_eq!(store.calls(), ["set_keys 3", "create", "set_keys 2"]);
    assert_eq!(outcomes.len(), 6);
    for i in [0, 1, 2, 5] {
        let seeded_i = if i == 5 { 4 } else { i };
        assert_eq!(
            outcomes[i],
            WriteOutcome::Done {
                id: seeded[seeded_i].id.clone(),
                version: "2".into()
            }
        );
    }
    assert!(matches!(&outcomes[3], WriteOutcome::Done { version, .. } if version == "1"));
    assert_eq!(outcomes[4], WriteOutcome::Conflict);
    assert_eq!(key_of(&crm, &seeded[4].id).await.as_deref(), Some("k4"));
    assert_eq!(key_of(&crm, &seeded[3].id).await, None);
}

/// A store that does not override `set_keys` gets one `set_key` per write (the trait's
/// default), with the same outcomes.
#[tokio::test]
async fn a_store_without_set_keys_gets_one_set_key_per_write() {
    let (_dir, db) = db();
    let crm = db.crm();
    let seeded = seed(&crm, 3).await;
    let store = Counting::new(crm.clone());
    let mut side = side(Unbatched(store.clone()));
    let ops = seeded.iter().map(|m| set_key(m, "k")).collect();
    let outcomes = side.write(ops).await.unwrap();
    assert_eq!(store.calls(), ["set_key", "set_key", "set_key"]);
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, WriteOutcome::Done { version, .. } if version == "2"))
    );
}

/// A store that answers a batch of key writes with another number of results is not paired
/// up with the writes: each write's outcome is unknown (the engine asks again next run).
#[tokio::test]
async fn a_store_answering_the_wrong_number_of_results_leaves_outcomes_unknown() {
    let (_dir, db) = db();
    let crm = db.crm();
    let seeded = seed(&crm, 3).await;
    let mut store = Counting::new(crm);
    store.short_by = 1;
    let mut side = side(store);
    let ops = seeded.iter().map(|m| set_key(m, "k")).collect();
    let outcomes = side.write(ops).await.unwrap();
    assert_eq!(outcomes.len(), 3);
    for o in outcomes {
        assert!(
            matches!(&o, WriteOutcome::Unknown(why) if why.contains("3 key writes with 2 results")),
            "{o:?}"
        );
    }
}

/// A contacts store that counts how the connector writes keys back.
#[derive(Clone)]
struct CountingContacts {
    inner: SqliteCrm,
    single: Arc<std::sync::atomic::AtomicUsize>,
    batches: Arc<std::sync::atomic::AtomicUsize>,
}

#[async_trait]
impl CrmStore<conaktiv_model::ContactPerson> for CountingContacts {
    async fn list(
        &self,
        q: &conaktiv_exchange::host::ListQuery,
    ) -> Result<Vec<RecordMeta>, HostError> {
        CrmStore::<conaktiv_model::ContactPerson>::list(&self.inner, q).await
    }
    async fn get(
        &self,
        id: &str,
    ) -> Result<Option<conaktiv_exchange::host::Stored<conaktiv_model::ContactPerson>>, HostError>
    {
        self.inner.get(id).await
    }
    async fn create(
        &self,
        owner: Option<&str>,
        r: &conaktiv_model::ContactPerson,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.inner.create(owner, r, key).await
    }
    async fn update(
        &self,
        id: &str,
        expected: &str,
        r: &conaktiv_model::ContactPerson,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        self.inner.update(id, expected, r, key).await
    }
    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        CrmStore::<conaktiv_model::ContactPerson>::delete(&self.inner, id, expected).await
    }
    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        self.single
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        CrmStore::<conaktiv_model::ContactPerson>::set_key(&self.inner, id, expected, key).await
    }
    async fn set_keys(&self, writes: &[KeyWrite]) -> Vec<Result<RecordMeta, HostError>> {
        self.batches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        CrmStore::<conaktiv_model::ContactPerson>::set_keys(&self.inner, writes).await
    }
}

/// Through `Connector::run` (the service's store wrappers included), an initial sync of 250
/// CRM contacts writes their keys back in one `set_keys` call per write batch, never one
/// `set_key` per contact.
#[tokio::test(flavor = "multi_thread")]
async fn the_connector_writes_keys_back_in_batches() {
    use conaktiv_exchange::service::{Connector, CrmStores};
    let org = "[[users]]\naddress = \"svc@contoso.test\"\npassword = \"svc-pw\"\nroles = [\"ApplicationImpersonation\"]\n\n[[users]]\naddress = \"bob@contoso.test\"\npassword = \"pw\"\n";
    let mock = common::start_mock(org).await;
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(dir.path().join("crm.sqlite")).unwrap();
    db.directory()
        .put_user(&conaktiv_exchange::host::DirectoryUser {
            name: "bob".into(),
            display_name: "Bob".into(),
            mailbox: Some("bob@contoso.test".into()),
            active: true,
            ..Default::default()
        })
        .await
        .unwrap();
    for i in 0..250 {
        let mut c = conaktiv_model::ContactPerson::default();
        c.name.surname = format!("N{i}");
        CrmStore::<conaktiv_model::ContactPerson>::create(&db.crm(), Some("bob"), &c, None)
            .await
            .unwrap();
    }
    let config = conaktiv_model::Configuration::from_toml_str(
        &format!(
            "[[servers]]\nname = \"Mock\"\nurl = \"{}\"\nkind = \"on_premises\"\nadmin_user = \"svc@contoso.test\"\nadmin_password = \"svc-pw\"\nauth_scheme = \"basic\"\n\n[[rules]]\ndescription = \"Kontakte\"\ntable = \"contacts\"\nmaster = \"conaktiv\"\nsync_folders = [{{ path = \"/Contacts\" }}]\nto_exchange = {{ transfer_new = true, transfer_changed = true }}\nto_conaktiv = {{ transfer_new = true, transfer_changed = true }}\n",
            mock.url()
        ),
        "t.toml",
    )
    .unwrap();
    let counting = CountingContacts {
        inner: db.crm(),
        single: Arc::default(),
        batches: Arc::default(),
    };
    let mut stores = CrmStores::all(db.crm());
    stores.contacts = Arc::new(counting.clone());
    let connector = Connector::from_config(
        config,
        None,
        stores.linked(Arc::new(db.linker())),
        Arc::new(db.directory()),
        dir.path().join("state"),
    )
    .unwrap();
    let report = connector.run(None, None).await.unwrap();
    assert_eq!(report.failed(), 0, "{report:?}");
    let single = counting.single.load(std::sync::atomic::Ordering::Relaxed);
    let batches = counting.batches.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(single, 0, "no key written one by one");
    assert!(
        (3..=6).contains(&batches),
        "{batches} set_keys calls for 250 keys"
    );
}
