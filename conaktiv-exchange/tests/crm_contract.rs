#![allow(clippy::unwrap_used, clippy::panic)] // tests: a panic is a failed test
#![cfg(feature = "postgres")]
//! One behaviour contract for the embedded CRM stores (built with the feature `postgres`,
//! the default): every case runs against
//! [`SqliteDb`] (a real file) and [`PgDb`] (its own scratch database on the server of
//! `CONAKTIV_TEST_POSTGRES_URL`; without it the PostgreSQL cases print that they skip, unless
//! `POSTGRES_REQUIRED=1`). PostgreSQL-only cases follow: workers on separate pools writing
//! one record, key write-back batches, migrations, errors. (The query plans of the
//! listing and the linker are checked by `postgres`'s unit tests.)

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use conaktiv_exchange::host::{
    CrmRecord, CrmStore, DirectoryUser, HostError, ListQuery, MailLinkQuery, MailLinker,
    UserDirectory,
};
use conaktiv_exchange::postgres::{PgCheckpoints, PgDb};
use conaktiv_exchange::sqlite::{ReferenceKind, ReferenceRecord, SqliteDb};
use conaktiv_model::mail::MailLinks;
use mail_transport::CheckpointStore;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sync_core::postgres::{PgPool, create_scratch_database};

/// A record type as a host would define it: any serde type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Contact(Value);
impl CrmRecord for Contact {
    const TABLE_NAME: &'static str = "contacts";
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Mail(Value);
impl CrmRecord for Mail {
    const TABLE_NAME: &'static str = "mails";
}

/// What the contract needs of an embedded database.
#[async_trait]
trait Db: Send + Sync {
    type Crm: CrmStore<Contact> + CrmStore<Mail> + CrmStore<conaktiv_model::ContactPerson>;
    type Dir: UserDirectory;
    type Linker: MailLinker;
    fn crm(&self) -> Self::Crm;
    fn dir(&self) -> Self::Dir;
    fn linker(&self) -> Self::Linker;
    async fn put_user(&self, user: &DirectoryUser) -> Result<(), HostError>;
    async fn remove_user(&self, name: &str) -> Result<bool, HostError>;
    async fn add_reference(&self, record: ReferenceRecord) -> Result<(), HostError>;
    /// Overwrites a contact's stored body with text that is not JSON.
    async fn corrupt(&self, id: &str);
}

struct Sqlite {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    db: SqliteDb,
}

#[async_trait]
impl Db for Sqlite {
    type Crm = conaktiv_exchange::sqlite::SqliteCrm;
    type Dir = conaktiv_exchange::sqlite::SqliteDirectory;
    type Linker = conaktiv_exchange::sqlite::SqliteLinker;
    fn crm(&self) -> Self::Crm {
        self.db.crm()
    }
    fn dir(&self) -> Self::Dir {
        self.db.directory()
    }
    fn linker(&self) -> Self::Linker {
        self.db.linker()
    }
    async fn put_user(&self, user: &DirectoryUser) -> Result<(), HostError> {
        self.db.directory().put_user(user).await
    }
    async fn remove_user(&self, name: &str) -> Result<bool, HostError> {
        self.db.directory().remove_user(name).await
    }
    async fn add_reference(&self, record: ReferenceRecord) -> Result<(), HostError> {
        self.db.add_reference(record).await
    }
    async fn corrupt(&self, id: &str) {
        let conn = rusqlite::Connection::open(&self.path).unwrap();
        conn.execute("UPDATE records SET body = '{not json' WHERE id = ?1", [id])
            .unwrap();
    }
}

struct Postgres {
    url: String,
    db: PgDb,
}

#[async_trait]
impl Db for Postgres {
    type Crm = conaktiv_exchange::postgres::PgCrm;
    type Dir = conaktiv_exchange::postgres::PgDirectory;
    type Linker = conaktiv_exchange::postgres::PgLinker;
    fn crm(&self) -> Self::Crm {
        self.db.crm()
    }
    fn dir(&self) -> Self::Dir {
        self.db.directory()
    }
    fn linker(&self) -> Self::Linker {
        self.db.linker()
    }
    async fn put_user(&self, user: &DirectoryUser) -> Result<(), HostError> {
        self.db.directory().put_user(user).await
    }
    async fn remove_user(&self, name: &str) -> Result<bool, HostError> {
        self.db.directory().remove_user(name).await
    }
    async fn add_reference(&self, record: ReferenceRecord) -> Result<(), HostError> {
        self.db.add_reference(record).await
    }
    async fn corrupt(&self, id: &str) {
        let client = self.db.pool().client().await.unwrap();
        client
            .execute(
                "UPDATE crm_records SET body = '{not json' WHERE id = $1",
                &[&id],
            )
            .await
            .unwrap();
    }
}

fn sqlite() -> Sqlite {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.sqlite");
    let db = SqliteDb::open(&path).unwrap();
    Sqlite {
        _dir: dir,
        path,
        db,
    }
}

/// A fresh database on the test server, or `None` (printed) when there is none.
async fn scratch_url() -> Option<String> {
    match std::env::var("CONAKTIV_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(create_scratch_database(&url).await.unwrap()),
        _ => {
            assert!(
                std::env::var("POSTGRES_REQUIRED").as_deref() != Ok("1"),
                "POSTGRES_REQUIRED=1 but CONAKTIV_TEST_POSTGRES_URL is not set"
            );
            println!("skipped: no PostgreSQL (CONAKTIV_TEST_POSTGRES_URL)");
            None
        }
    }
}

async fn postgres() -> Option<Postgres> {
    let url = scratch_url().await?;
    let pool = PgPool::connect(&url, None, 4).unwrap();
    let db = PgDb::open(&pool).await.unwrap();
    Some(Postgres { url, db })
}

/// Each contract case as a test per backend.
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let db = super::sqlite();
                    super::$case(&db).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = super::postgres().await else { return };
                    super::$case(&db).await;
                }
            )*
        }
    };
}

contract!(
    versions_guard_every_write,
    correlation_keys_are_kept_exactly,
    listing_applies_filter_and_owner_in_id_order,
    get_many_keeps_order_and_skips_missing,
    a_corrupt_record_is_a_decode_error_but_listed,
    directory_lists_users_groups_and_accounts,
    linker_follows_threads_then_references_then_addresses,
    references_are_replaced_by_id_and_number,
    model_records_round_trip_and_filter,
    odd_content_round_trips,
);

async fn versions_guard_every_write(db: &impl Db) {
    let crm = db.crm();
    let anna = Contact(json!({"name": "Anna", "company": "Muster GmbH"}));
    let meta = CrmStore::<Contact>::create(&crm, Some("anna"), &anna, None)
        .await
        .unwrap();
    assert_eq!(meta.version, "1");
    assert_eq!(meta.owner.as_deref(), Some("anna"));
    assert_eq!(meta.key, None);
    let id = meta.id.clone();

    let got = CrmStore::<Contact>::get(&crm, &id).await.unwrap().unwrap();
    assert_eq!(got.record, anna);
    assert_eq!(got.meta, meta);

    // The same content again: no new version, no new modification time.
    let same = crm.update(&id, "1", &anna, None).await.unwrap();
    assert_eq!(same, meta);

    let changed = Contact(json!({"name": "Anna", "company": "Neu AG"}));
    let v2 = crm.update(&id, "1", &changed, None).await.unwrap();
    assert_eq!(v2.version, "2");
    assert!(v2.modified >= meta.modified);
    assert_eq!(v2.owner.as_deref(), Some("anna"));

    // A stale version changes nothing.
    let err = crm.update(&id, "1", &anna, None).await.unwrap_err();
    assert!(
        matches!(&err, HostError::Conflict { table: "contacts", expected, actual, .. } if expected == "1" && actual == "2"),
        "{err}"
    );
    assert!(!err.is_transient());
    let err = CrmStore::<Contact>::delete(&crm, &id, "1")
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let err = CrmStore::<Contact>::set_key(&crm, &id, "1", "k")
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    let got = CrmStore::<Contact>::get(&crm, &id).await.unwrap().unwrap();
    assert_eq!(got.record, changed);
    assert_eq!(got.meta, v2);
    // Another table does not see the record.
    assert!(CrmStore::<Mail>::get(&crm, &id).await.unwrap().is_none());
    let err = CrmStore::<Mail>::delete(&crm, &id, "2").await.unwrap_err();
    assert!(err.is_not_found(), "{err}");

    CrmStore::<Contact>::delete(&crm, &id, "2").await.unwrap();
    assert!(CrmStore::<Contact>::get(&crm, &id).await.unwrap().is_none());
    let err = CrmStore::<Contact>::delete(&crm, &id, "2")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = crm.update(&id, "2", &changed, None).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = CrmStore::<Contact>::set_key(&crm, &id, "2", "k")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, HostError::NotFound { table: "contacts", id: i } if *i == id),
        "{err}"
    );
}

async fn correlation_keys_are_kept_exactly(db: &impl Db) {
    let crm = db.crm();
    let c = Contact(json!({"name": "Bert"}));
    let m = crm.create(None, &c, Some("key-1")).await.unwrap();
    assert_eq!(m.key.as_deref(), Some("key-1"));
    assert_eq!(m.owner, None);

    // update without a key keeps the stored one
    let c2 = Contact(json!({"name": "Bert B."}));
    let m2 = crm.update(&m.id, &m.version, &c2, None).await.unwrap();
    assert_eq!(m2.key.as_deref(), Some("key-1"));

    // a new key is a change, the same key is not
    let m3 = CrmStore::<Contact>::set_key(&crm, &m.id, &m2.version, "key-2")
        .await
        .unwrap();
    assert_ne!(m3.version, m2.version);
    let m4 = CrmStore::<Contact>::set_key(&crm, &m.id, &m3.version, "key-2")
        .await
        .unwrap();
    assert_eq!(m4, m3);
    // update with a key replaces it; the content is kept by set_key
    let pinned = "pinned:Key 3 \u{e4}";
    let m5 = crm
        .update(&m.id, &m4.version, &c2, Some(pinned))
        .await
        .unwrap();
    assert_ne!(m5.version, m4.version);
    assert_eq!(m5.key.as_deref(), Some(pinned));

    let listed = CrmStore::<Contact>::list(&crm, &ListQuery::all())
        .await
        .unwrap();
    assert_eq!(listed, vec![m5.clone()]);
    let got = CrmStore::<Contact>::get(&crm, &m.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.record, c2);
    assert_eq!(got.meta, m5);
}

async fn listing_applies_filter_and_owner_in_id_order(db: &impl Db) {
    let crm = db.crm();
    let rows = [
        (
            "anna",
            json!({"n": "a1", "categories": ["Vertrieb"], "company": "Muster GmbH"}),
        ),
        ("Anna", json!({"n": "a2", "categories": [], "company": ""})),
        (
            "bert",
            json!({"n": "b1", "categories": ["Vertrieb", "VIP"], "company": "Beta AG"}),
        ),
        ("bert", json!({"n": "b2", "company": "Gamma GmbH"})),
        ("\u{c4}nne", json!({"n": "u1", "company": ""})),
    ];
    let mut ids = BTreeMap::new();
    for (owner, body) in rows {
        let n = body["n"].as_str().unwrap().to_owned();
        let m = crm.create(Some(owner), &Contact(body), None).await.unwrap();
        ids.insert(m.id, n);
    }
    // In a different table: never listed with contacts.
    crm.create(Some("anna"), &Mail(json!({"n": "m1"})), None)
        .await
        .unwrap();
    // No owner: listed for every owner only.
    let nobody = crm
        .create(None, &Contact(json!({"n": "x1"})), None)
        .await
        .unwrap();
    ids.insert(nobody.id, "x1".into());

    let cases: &[(&str, Option<&str>, &[&str])] = &[
        ("", None, &["a1", "a2", "b1", "b2", "u1", "x1"]),
        ("", Some("anna"), &["a1", "a2"]),
        ("", Some("ANNA"), &["a1", "a2"]),
        // owners compare case-insensitively for ASCII letters only (SQLite's NOCASE)
        ("", Some("\u{c4}nne"), &["u1"]),
        ("", Some("\u{e4}nne"), &[]),
        ("#Vertrieb", None, &["a1", "b1"]),
        ("#Vertrieb", Some("bert"), &["b1"]),
        ("company ~ 'gmbh'", None, &["a1", "b2"]),
        ("company != ''", Some("anna"), &["a1"]),
        ("NOT #Vertrieb", None, &["a2", "b2", "u1", "x1"]),
        ("#VIP OR company = 'Gamma GmbH'", None, &["b1", "b2"]),
        ("", Some("carl"), &[]),
    ];
    for (filter, owner, expected) in cases {
        let mut q = ListQuery::filtered(filter).unwrap();
        if let Some(o) = owner {
            q = q.owned_by(*o);
        }
        let listed = CrmStore::<Contact>::list(&crm, &q).await.unwrap();
        let listed_ids: Vec<&str> = listed.iter().map(|m| m.id.as_str()).collect();
        let mut sorted = listed_ids.clone();
        sorted.sort_unstable();
        assert_eq!(listed_ids, sorted, "ordered by id: {filter:?} {owner:?}");
        let got: BTreeSet<&str> = listed.iter().map(|m| ids[&m.id].as_str()).collect();
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        assert_eq!(got, expected, "filter {filter:?} owner {owner:?}");
        for m in &listed {
            assert_eq!(m.version, "1");
        }
    }
}

async fn get_many_keeps_order_and_skips_missing(db: &impl Db) {
    let crm = db.crm();
    let a = crm
        .create(None, &Contact(json!({"n": 1})), None)
        .await
        .unwrap();
    let b = crm
        .create(None, &Contact(json!({"n": 2})), None)
        .await
        .unwrap();
    let got = CrmStore::<Contact>::get_many(&crm, &[b.id.clone(), "nope".into(), a.id.clone()])
        .await
        .unwrap();
    let ns: Vec<Value> = got.iter().map(|s| s.record.0["n"].clone()).collect();
    assert_eq!(ns, vec![json!(2), json!(1)]);
    assert_eq!(got[0].meta, b);
    assert!(
        CrmStore::<Contact>::get_many(&crm, &[])
            .await
            .unwrap()
            .is_empty()
    );
    // Ids of another table are missing here.
    assert!(
        CrmStore::<Mail>::get_many(&crm, std::slice::from_ref(&a.id))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn a_corrupt_record_is_a_decode_error_but_listed(db: &impl Db) {
    let crm = db.crm();
    let m = crm
        .create(None, &Contact(json!({"n": 1})), None)
        .await
        .unwrap();
    db.corrupt(&m.id).await;
    let err = CrmStore::<Contact>::get(&crm, &m.id).await.unwrap_err();
    assert!(matches!(err, HostError::Decode { .. }), "{err}");
    // A filtered listing keeps it (its filter cannot be evaluated): a record missing from the
    // listing would look deleted to the sync. Reading it is what fails, and is reported.
    let listed = CrmStore::<Contact>::list(&crm, &ListQuery::filtered("n = 1").unwrap())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, m.id);
}

fn user(name: &str, mailbox: &str, groups: &[&str]) -> DirectoryUser {
    DirectoryUser {
        name: name.into(),
        display_name: name.to_uppercase(),
        mailbox: Some(mailbox.into()),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        mail_accounts: vec![format!("{name}-mail")],
        active: true,
    }
}

async fn directory_lists_users_groups_and_accounts(db: &impl Db) {
    let dir = db.dir();
    assert!(dir.users().await.unwrap().is_empty());
    db.put_user(&user("bert", "bert@agentur.example", &["Vertrieb"]))
        .await
        .unwrap();
    db.put_user(&user(
        "anna",
        "anna@agentur.example",
        &["vertrieb", "Technik", "Vertrieb"],
    ))
    .await
    .unwrap();
    let mut carl = user("Carl", "carl@agentur.example", &[]);
    carl.active = false;
    carl.mailbox = None;
    carl.mail_accounts = vec!["b-mail".into(), "A-mail".into()];
    db.put_user(&carl).await.unwrap();

    let users = dir.users().await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["anna", "bert", "Carl"]);
    // a group given twice in other case is one group, spelled as first given
    assert_eq!(users[0].groups, ["Technik", "vertrieb"]);
    assert_eq!(users[0].mail_accounts, ["anna-mail"]);
    assert_eq!(users[0].display_name, "ANNA");
    assert!(users[0].active);
    // accounts ordered case-insensitively
    assert_eq!(
        users[2],
        DirectoryUser {
            mail_accounts: vec!["A-mail".into(), "b-mail".into()],
            ..carl
        }
    );

    let members: Vec<String> = dir
        .members("VERTRIEB")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(members, ["anna", "bert"]);
    let anna = dir.user("ANNA").await.unwrap().unwrap();
    assert_eq!(anna.mailbox.as_deref(), Some("anna@agentur.example"));

    // Replacing a user (any case of the name) replaces their groups and accounts.
    let mut again = user("Anna", "anna@agentur.example", &["Technik"]);
    again.mail_accounts.clear();
    db.put_user(&again).await.unwrap();
    assert_eq!(dir.members("Vertrieb").await.unwrap().len(), 1);
    assert_eq!(dir.user("anna").await.unwrap().unwrap(), again);
    assert_eq!(dir.users().await.unwrap().len(), 3);
    assert!(db.remove_user("ANNA").await.unwrap());
    assert!(!db.remove_user("anna").await.unwrap());
    assert!(dir.user("anna").await.unwrap().is_none());
    assert_eq!(dir.members("technik").await.unwrap().len(), 0);
}

async fn linker_follows_threads_then_references_then_addresses(db: &impl Db) {
    let crm = db.crm();
    let anna = crm
        .create(
            None,
            &Contact(json!({
                "customer": "K-100",
                "emails": [{"kind": "business", "address": "Anna.Schmidt@Kunde.example"}]
            })),
            None,
        )
        .await
        .unwrap();
    // Another customer's contact with a second address of the same sender: not linked when
    // the subject names a project of K-100.
    let other = crm
        .create(
            None,
            &Contact(json!({
                "customer": "K-300",
                "emails": [{"kind": "business", "address": "zentrale@kunde.example"}]
            })),
            None,
        )
        .await
        .unwrap();
    // A contact with no customer and the same address as another with one: the one with
    // a customer wins.
    crm.create(
        None,
        &Contact(json!({"emails": [{"address": "zentrale@kunde.example"}]})),
        None,
    )
    .await
    .unwrap();
    let loner = crm
        .create(
            None,
            &Contact(json!({"emails": [{"address": "solo@kunde.example"}]})),
            None,
        )
        .await
        .unwrap();
    let offer_mail = crm
        .create(
            None,
            &Mail(json!({
                "message_id": "offer-1@agentur.example",
                "links": {"customer": "K-200", "project": "P-7", "offer": "A-3", "invoice": null}
            })),
            None,
        )
        .await
        .unwrap();
    // A mail with no links in the thread is passed over.
    crm.create(
        None,
        &Mail(json!({"message_id": "plain@agentur.example", "links": {}})),
        None,
    )
    .await
    .unwrap();
    db.add_reference(ReferenceRecord {
        kind: ReferenceKind::Project,
        id: "proj-42".into(),
        number: "P-2026-0042".into(),
        title: "Umzug".into(),
        customer: Some("K-100".into()),
        project: None,
    })
    .await
    .unwrap();
    db.add_reference(ReferenceRecord {
        kind: ReferenceKind::Offer,
        id: "off-7".into(),
        number: "AN-2026-0007".into(),
        title: "Angebot".into(),
        customer: Some("K-500".into()),
        project: Some("proj-9".into()),
    })
    .await
    .unwrap();
    db.add_reference(ReferenceRecord {
        kind: ReferenceKind::Invoice,
        id: "inv-1".into(),
        number: "RE-2026-0113".into(),
        title: String::new(),
        customer: None,
        project: None,
    })
    .await
    .unwrap();
    let linker = db.linker();

    let k200 = MailLinks {
        customer: Some("K-200".into()),
        project: Some("P-7".into()),
        offer: Some("A-3".into()),
        ..MailLinks::default()
    };
    let k100 = MailLinks {
        customer: Some("K-100".into()),
        contact_person: Some(anna.id.as_str().into()),
        ..MailLinks::default()
    };
    let cases = [
        (
            "a reply inherits the thread's links",
            MailLinkQuery {
                from: Some("anna.schmidt@kunde.example".into()),
                in_reply_to: vec!["<offer-1@agentur.example>".into()],
                ..MailLinkQuery::default()
            },
            k200.clone(),
        ),
        (
            "a reference further up the thread, past a mail without links",
            MailLinkQuery {
                references: vec![
                    "offer-1@agentur.example".into(),
                    "plain@agentur.example".into(),
                    "other@x".into(),
                ],
                ..MailLinkQuery::default()
            },
            k200,
        ),
        (
            "the sender's contact",
            MailLinkQuery {
                from: Some("ANNA.SCHMIDT@kunde.example".into()),
                subject: "Frage".into(),
                ..MailLinkQuery::default()
            },
            k100.clone(),
        ),
        (
            "a recipient's contact (outgoing mail)",
            MailLinkQuery {
                from: Some(" me@agentur.example ".into()),
                recipients: vec!["x@y.example".into(), "  anna.schmidt@kunde.example ".into()],
                ..MailLinkQuery::default()
            },
            k100,
        ),
        (
            "a contact of the customer the subject names, not another customer's",
            MailLinkQuery {
                from: Some("zentrale@kunde.example".into()),
                recipients: vec!["anna.schmidt@kunde.example".into()],
                subject: "Frage zu p-2026-0042".into(),
                ..MailLinkQuery::default()
            },
            MailLinks {
                customer: Some("K-100".into()),
                contact_person: Some(anna.id.as_str().into()),
                project: Some("proj-42".into()),
                ..MailLinks::default()
            },
        ),
        (
            "another customer's contact when nothing else names a customer",
            MailLinkQuery {
                from: Some("Zentrale@Kunde.example".into()),
                ..MailLinkQuery::default()
            },
            MailLinks {
                customer: Some("K-300".into()),
                contact_person: Some(other.id.as_str().into()),
                ..MailLinks::default()
            },
        ),
        (
            "a contact without a customer",
            MailLinkQuery {
                from: Some("solo@kunde.example".into()),
                ..MailLinkQuery::default()
            },
            MailLinks {
                contact_person: Some(loner.id.as_str().into()),
                ..MailLinks::default()
            },
        ),
        (
            "an offer and an invoice: the offer's customer and project",
            MailLinkQuery {
                subject: "AW: Angebot AN-2026-0007, Rechnung RE-2026-0113 und P-2026-0042".into(),
                ..MailLinkQuery::default()
            },
            MailLinks {
                customer: Some("K-500".into()),
                project: Some("proj-9".into()),
                offer: Some("off-7".into()),
                invoice: Some("inv-1".into()),
                ..MailLinks::default()
            },
        ),
        (
            "nothing known",
            MailLinkQuery {
                from: Some("stranger@z.example".into()),
                in_reply_to: vec!["unknown@z".into()],
                subject: "P-1999-0001".into(),
                ..MailLinkQuery::default()
            },
            MailLinks::default(),
        ),
    ];
    for (what, query, expected) in cases {
        assert_eq!(linker.link(&query).await.unwrap(), expected, "{what}");
    }

    // A contact's new address is found, its old one no longer; a deleted mail leaves the
    // thread.
    let moved = Contact(json!({
        "customer": "K-100",
        "emails": [{"kind": "business", "address": "anna@neu.example"}]
    }));
    crm.update(&anna.id, &anna.version, &moved, None)
        .await
        .unwrap();
    let by = |from: &str| MailLinkQuery {
        from: Some(from.into()),
        ..MailLinkQuery::default()
    };
    assert_eq!(
        linker
            .link(&by("anna@NEU.example"))
            .await
            .unwrap()
            .contact_person
            .unwrap()
            .as_str(),
        anna.id
    );
    assert_eq!(
        linker
            .link(&by("anna.schmidt@kunde.example"))
            .await
            .unwrap(),
        MailLinks::default()
    );
    CrmStore::<Mail>::delete(&crm, &offer_mail.id, &offer_mail.version)
        .await
        .unwrap();
    let reply = MailLinkQuery {
        in_reply_to: vec!["offer-1@agentur.example".into()],
        ..MailLinkQuery::default()
    };
    assert_eq!(linker.link(&reply).await.unwrap(), MailLinks::default());
}

async fn references_are_replaced_by_id_and_number(db: &impl Db) {
    let project = |id: &str, number: &str, customer: &str| ReferenceRecord {
        kind: ReferenceKind::Project,
        id: id.into(),
        number: number.into(),
        title: String::new(),
        customer: Some(customer.into()),
        project: None,
    };
    let linker = db.linker();
    let subject = |s: &str| MailLinkQuery {
        subject: s.into(),
        ..MailLinkQuery::default()
    };
    db.add_reference(project("p1", "P-1", "K-1")).await.unwrap();
    // the same id with a new number: the old number is gone
    db.add_reference(project("p1", "P-2", "K-2")).await.unwrap();
    assert_eq!(
        linker.link(&subject("P-1")).await.unwrap(),
        MailLinks::default()
    );
    assert_eq!(
        linker
            .link(&subject("P-2"))
            .await
            .unwrap()
            .customer
            .unwrap(),
        "K-2".into()
    );
    // another id with the same number (other case): replaces it
    db.add_reference(project("p9", "p-2", "K-9")).await.unwrap();
    let links = linker.link(&subject("P-2")).await.unwrap();
    assert_eq!(links.project.unwrap(), "p9".into());
    assert_eq!(links.customer.unwrap(), "K-9".into());
}

async fn model_records_round_trip_and_filter(db: &impl Db) {
    use conaktiv_model::ContactPerson;
    use conaktiv_model::contact::{ContactEmail, EmailKind, PersonName};
    let crm = db.crm();
    let anna = ContactPerson {
        customer: Some("K-1".into()),
        name: PersonName {
            given_name: "Anna".into(),
            surname: "Schmidt".into(),
            ..PersonName::default()
        },
        company: "Muster GmbH".into(),
        emails: vec![ContactEmail {
            kind: EmailKind::Business,
            address: "anna@kunde.example".into(),
            display_name: String::new(),
        }],
        categories: vec!["Vertrieb".into()],
        ..ContactPerson::default()
    };
    let other = ContactPerson {
        company: "Andere AG".into(),
        ..ContactPerson::default()
    };
    let a = crm.create(Some("anna"), &anna, None).await.unwrap();
    crm.create(Some("anna"), &other, None).await.unwrap();
    let got = CrmStore::<ContactPerson>::get(&crm, &a.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.record, anna);
    for (filter, n) in [
        ("#Vertrieb", 1),
        ("name.surname = 'schmidt'", 1),
        ("emails.kind = 'business'", 1),
        ("customer != ''", 1),
        ("company ~ 'e'", 2),
    ] {
        let q = ListQuery::filtered(filter).unwrap().owned_by("anna");
        let listed = CrmStore::<ContactPerson>::list(&crm, &q).await.unwrap();
        assert_eq!(listed.len(), n, "{filter}");
    }
    // and the linker finds the model's contact by its address
    let links = db
        .linker()
        .link(&MailLinkQuery {
            from: Some("Anna@Kunde.example".into()),
            ..MailLinkQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(links.contact_person.unwrap().as_str(), a.id);
}

/// Content a serializer writes is stored as given: NUL and other control characters,
/// non-ASCII text, large and odd numbers, quotes and backslashes.
async fn odd_content_round_trips(db: &impl Db) {
    let crm = db.crm();
    let odd = Contact(json!({
        "name": "nul \u{0} bell \u{7} tab \t \"quoted\" back\\slash",
        "text": "Gr\u{fc}\u{df}e \u{1f600} \u{202e}",
        "n": [u64::MAX, i64::MIN, 0.1, 1e300, -0.0],
        "empty": {},
    }));
    let m = crm
        .create(Some("o"), &odd, Some("k\u{1}ey"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got = CrmStore::<Contact>::get(&crm, &m.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.record, odd);
    assert_eq!(got.meta.key.as_deref(), Some("k\u{1}ey"));
    // writing it again is no change
    let same = crm.update(&m.id, "1", &odd, None).await.unwrap();
    assert_eq!(same.version, "1");
    let listed = CrmStore::<Contact>::list(&crm, &ListQuery::filtered("text ~ 'gr'").unwrap())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
}

// ---------------------------------------------------------------------------------------
// PostgreSQL only

/// A second worker: its own pool to the same database.
async fn second_worker(pg: &Postgres) -> PgDb {
    let pool = PgPool::connect(&pg.url, None, 4).unwrap();
    PgDb::open(&pool).await.unwrap()
}

/// Two workers (two pools) update one record with the same expected version at once:
/// exactly one wins, the other gets a conflict naming the winner's version. Likewise for
/// deletes against updates and key write-backs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_one_record_exactly_one_wins() {
    let Some(pg) = postgres().await else { return };
    let other = second_worker(&pg).await;
    let (one, two) = (pg.db.crm(), other.crm());
    for round in 0..25 {
        let m = one
            .create(Some("anna"), &Contact(json!({"round": round})), None)
            .await
            .unwrap();
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let task = |crm: conaktiv_exchange::postgres::PgCrm, who: &'static str| {
            let barrier = Arc::clone(&barrier);
            let (id, version) = (m.id.clone(), m.version.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let record = Contact(json!({"round": round, "by": who}));
                match round % 3 {
                    0 => crm.update(&id, &version, &record, None).await.map(|_| ()),
                    1 => CrmStore::<Contact>::set_key(&crm, &id, &version, who)
                        .await
                        .map(|_| ()),
                    _ if who == "one" => CrmStore::<Contact>::delete(&crm, &id, &version).await,
                    _ => crm.update(&id, &version, &record, None).await.map(|_| ()),
                }
            })
        };
        let a = task(one.clone(), "one");
        let b = task(two.clone(), "two");
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        let (won, lost) = match (a, b) {
            (Ok(()), Err(e)) => ("one", e),
            (Err(e), Ok(())) => ("two", e),
            (a, b) => panic!("round {round}: not exactly one winner: {a:?} {b:?}"),
        };
        let now = CrmStore::<Contact>::get(&one, &m.id).await.unwrap();
        match now {
            Some(now) => {
                assert!(
                    matches!(&lost, HostError::Conflict { expected, actual, .. } if *expected == m.version && *actual == "2"),
                    "round {round}: {lost}"
                );
                assert_eq!(now.meta.version, "2", "round {round}");
                if round % 3 == 1 {
                    assert_eq!(now.meta.key.as_deref(), Some(won), "round {round}");
                } else {
                    assert_eq!(now.record.0["by"], json!(won), "round {round}");
                }
            }
            // the delete won: the update found nothing
            None => {
                assert_eq!(won, "one", "round {round}");
                assert!(lost.is_not_found(), "round {round}: {lost}");
            }
        }
    }
}

/// Four workers on two pools increment one counter with read, update and retry on
/// conflict: no update is lost, and the version counts the updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_read_modify_write_loses_no_update() {
    let Some(pg) = postgres().await else { return };
    let other = second_worker(&pg).await;
    let m = pg
        .db
        .crm()
        .create(None, &Contact(json!({"count": 0})), None)
        .await
        .unwrap();
    const WORKERS: u64 = 4;
    const EACH: u64 = 15;
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let crm = if w % 2 == 0 { pg.db.crm() } else { other.crm() };
        let id = m.id.clone();
        tasks.push(tokio::spawn(async move {
            let mut conflicts = 0u64;
            for _ in 0..EACH {
                loop {
                    let cur = CrmStore::<Contact>::get(&crm, &id).await.unwrap().unwrap();
                    let n = cur.record.0["count"].as_u64().unwrap();
                    match crm
                        .update(
                            &id,
                            &cur.meta.version,
                            &Contact(json!({"count": n + 1})),
                            None,
                        )
                        .await
                    {
                        Ok(_) => break,
                        Err(e) if e.is_conflict() => conflicts += 1,
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            conflicts
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await.unwrap();
    }
    let end = CrmStore::<Contact>::get(&pg.db.crm(), &m.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(end.record.0["count"], json!(WORKERS * EACH));
    assert_eq!(end.meta.version, (1 + WORKERS * EACH).to_string());
    println!("{} updates, {conflicts} conflicts retried", WORKERS * EACH);
}

/// Key write-backs in one batch: each checked alone, in one transaction; a record given
/// twice sees its first write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_write_back_batches() {
    let Some(pg) = postgres().await else { return };
    let crm = pg.db.crm();
    let mut metas = Vec::new();
    for n in 0..4 {
        metas.push(
            crm.create(Some("anna"), &Contact(json!({"n": n})), None)
                .await
                .unwrap(),
        );
    }
    // record 2 moves on before the batch
    let moved = crm
        .update(&metas[2].id, "1", &Contact(json!({"n": 22})), None)
        .await
        .unwrap();
    let writes = [
        (metas[0].id.as_str(), "1", "k0"),
        (metas[1].id.as_str(), "1", "k1"),
        (metas[2].id.as_str(), "1", "k2"),
        ("missing", "1", "kx"),
        (metas[1].id.as_str(), "2", "k1b"),
        (metas[3].id.as_str(), "1", "k3"),
    ];
    let out = crm.set_keys::<Contact>(&writes).await.unwrap();
    assert_eq!(out.len(), writes.len());
    assert_eq!(out[0].as_ref().unwrap().key.as_deref(), Some("k0"));
    assert_eq!(out[0].as_ref().unwrap().version, "2");
    assert_eq!(out[1].as_ref().unwrap().version, "2");
    assert!(out[2].as_ref().unwrap_err().is_conflict());
    assert!(out[3].as_ref().unwrap_err().is_not_found());
    assert_eq!(out[4].as_ref().unwrap().version, "3");
    assert_eq!(out[4].as_ref().unwrap().key.as_deref(), Some("k1b"));
    assert_eq!(out[5].as_ref().unwrap().key.as_deref(), Some("k3"));
    let listed = CrmStore::<Contact>::list(&crm, &ListQuery::all().owned_by("anna"))
        .await
        .unwrap();
    let keys: BTreeMap<&str, Option<&str>> = listed
        .iter()
        .map(|m| (m.id.as_str(), m.key.as_deref()))
        .collect();
    assert_eq!(keys[metas[0].id.as_str()], Some("k0"));
    assert_eq!(keys[metas[1].id.as_str()], Some("k1b"));
    assert_eq!(keys[metas[2].id.as_str()], None);
    assert_eq!(keys[metas[3].id.as_str()], Some("k3"));
    let two = CrmStore::<Contact>::get(&crm, &metas[2].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(two.meta, moved);
    assert!(crm.set_keys::<Contact>(&[]).await.unwrap().is_empty());

    // The same through the host trait's batch seam (what the sync's CRM side calls).
    let fresh = crm
        .create(Some("anna"), &Contact(json!({"n": 9})), None)
        .await
        .unwrap();
    let out = CrmStore::<Contact>::set_keys(
        &crm,
        &[
            conaktiv_exchange::host::KeyWrite::new(&fresh.id, "1", "k9"),
            conaktiv_exchange::host::KeyWrite::new(&metas[2].id, "1", "stale"),
        ],
    )
    .await;
    assert_eq!(out[0].as_ref().unwrap().key.as_deref(), Some("k9"));
    assert!(out[1].as_ref().unwrap_err().is_conflict());
}

/// Workers starting at once migrate once; a database of a newer schema is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schema_is_migrated_once_and_a_newer_one_refused() {
    let Some(url) = scratch_url().await else {
        return;
    };
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let pool = PgPool::connect(&url, None, 2).unwrap();
                PgDb::open(&pool).await.map(|_| ())
            })
        })
        .collect();
    for o in opens {
        o.await.unwrap().unwrap();
    }
    let pool = PgPool::connect(&url, None, 2).unwrap();
    let db = PgDb::open(&pool).await.unwrap();
    assert_eq!(
        db.schema_version().await.unwrap(),
        conaktiv_exchange::postgres::SCHEMA_VERSION
    );
    pool.client()
        .await
        .unwrap()
        .execute(
            "UPDATE conaktiv_schema SET version = version + 1 WHERE component = 'crm'",
            &[],
        )
        .await
        .unwrap();
    let fresh = PgPool::connect(&url, None, 2).unwrap();
    let err = PgDb::open(&fresh).await.unwrap_err();
    assert!(
        matches!(err, sync_core::StoreError::SchemaTooNew { found, supported } if found == supported + 1),
        "{err}"
    );
}

/// A worker that cannot get a record's lock in time gets a transient storage error (and
/// nothing is written); a server that cannot be reached is transient too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_timeouts_and_refused_connections_are_transient() {
    let Some(pg) = postgres().await else { return };
    let crm = pg.db.crm();
    let m = crm
        .create(None, &Contact(json!({"n": 1})), None)
        .await
        .unwrap();
    // a holder of the record's lock (another worker in the middle of a write)
    let mut holder = pg.db.pool().client().await.unwrap();
    let tx = holder.transaction().await.unwrap();
    tx.execute(
        "SELECT 1 FROM crm_records WHERE id = $1 FOR UPDATE",
        &[&m.id],
    )
    .await
    .unwrap();
    let sep = if pg.url.contains('?') { '&' } else { '?' };
    let impatient = PgPool::connect(
        &format!("{}{sep}options=-c%20lock_timeout%3D200", pg.url),
        None,
        1,
    )
    .unwrap();
    let impatient = PgDb::open(&impatient).await.unwrap().crm();
    let err = impatient
        .update(&m.id, "1", &Contact(json!({"n": 2})), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            HostError::Storage {
                transient: true,
                ..
            }
        ),
        "{err:?}"
    );
    drop(tx);
    drop(holder);
    // once the lock is free the same write passes
    impatient
        .update(&m.id, "1", &Contact(json!({"n": 2})), None)
        .await
        .unwrap();

    let nowhere = PgPool::connect("postgres://nobody@127.0.0.1:1/none", None, 1).unwrap();
    let err = PgDb::open(&nowhere).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}

/// Receive checkpoints on PostgreSQL through mail-transport's synchronous trait: shared
/// by two workers, and refused without panicking where blocking is not allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_shared_by_workers() {
    let Some(pg) = postgres().await else { return };
    let one: Arc<dyn CheckpointStore> = Arc::new(PgCheckpoints::open(pg.db.pool()).await.unwrap());
    let pool = PgPool::connect(&pg.url, None, 2).unwrap();
    let two = PgCheckpoints::open(&pool).await.unwrap();
    assert_eq!(one.load("acct", "INBOX").unwrap(), None);
    one.save("acct", "INBOX", "17:42").unwrap();
    one.save("acct", "Sent", "17:1").unwrap();
    assert_eq!(two.load("acct", "INBOX").unwrap().as_deref(), Some("17:42"));
    two.save("acct", "INBOX", "17:43").unwrap();
    assert_eq!(one.load("acct", "INBOX").unwrap().as_deref(), Some("17:43"));
    assert_eq!(one.load("other", "INBOX").unwrap(), None);
    assert_eq!(
        two.load_async("acct", "Sent").await.unwrap().as_deref(),
        Some("17:1")
    );
    // from a blocking thread (no async context): runs on the store's runtime
    let blocking = Arc::clone(&one);
    let got = tokio::task::spawn_blocking(move || blocking.load("acct", "INBOX"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.as_deref(), Some("17:43"));
    // from a plain thread outside any runtime
    let plain = Arc::clone(&one);
    let got = std::thread::spawn(move || plain.load("acct", "INBOX"))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(got.as_deref(), Some("17:43"));
    // on a current-thread runtime: an error, not a panic
    let current = Arc::clone(&one);
    let err = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move { current.load("acct", "INBOX") })
    })
    .join()
    .unwrap()
    .unwrap_err();
    assert!(err.to_string().contains("multi-thread"), "{err}");
}

/// PostgreSQL's text holds no NUL: an owner or key with one is refused as a permanent
/// storage error (no panic, nothing written); content with one is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_an_owner_or_key_is_a_permanent_error() {
    let Some(pg) = postgres().await else { return };
    let crm = pg.db.crm();
    for (owner, key) in [(Some("a\u{0}b"), None), (None, Some("k\u{0}"))] {
        let err = crm
            .create(owner, &Contact(json!({"n": 1})), key)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                HostError::Storage {
                    transient: false,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert!(
        CrmStore::<Contact>::list(&crm, &ListQuery::all())
            .await
            .unwrap()
            .is_empty()
    );
}
