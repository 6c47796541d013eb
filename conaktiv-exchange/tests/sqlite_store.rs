#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! The embedded SQLite defaults of the host traits, on real database files.

use std::collections::BTreeSet;

use conaktiv_exchange::host::{
    CrmRecord, CrmStore, DirectoryUser, HostError, ListQuery, MailLinkQuery, MailLinker,
    UserDirectory,
};
use conaktiv_exchange::sqlite::{
    ReferenceKind, ReferenceRecord, SCHEMA_VERSION, SchemaError, SqliteDb,
};
use conaktiv_model::mail::MailLinks;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

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

fn db() -> (tempfile::TempDir, SqliteDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(dir.path().join("crm.sqlite")).unwrap();
    (dir, db)
}

#[tokio::test]
async fn versions_guard_every_write() {
    let (_dir, db) = db();
    let crm = db.crm();
    let anna = Contact(json!({"name": "Anna", "company": "Muster GmbH"}));
    let meta = CrmStore::<Contact>::create(&crm, Some("anna"), &anna, None)
        .await
        .unwrap();
    assert_eq!(meta.version, "1");
    assert_eq!(meta.owner.as_deref(), Some("anna"));
    let id = meta.id.clone();

    let got = CrmStore::<Contact>::get(&crm, &id).await.unwrap().unwrap();
    assert_eq!(got.record, anna);
    assert_eq!(got.meta, meta);

    // The same content again: no new version.
    let same = crm.update(&id, "1", &anna, None).await.unwrap();
    assert_eq!(same.version, "1");

    let changed = Contact(json!({"name": "Anna", "company": "Neu AG"}));
    let v2 = crm.update(&id, "1", &changed, None).await.unwrap();
    assert_eq!(v2.version, "2");
    assert!(v2.modified >= meta.modified);

    // A stale version changes nothing.
    let err = crm.update(&id, "1", &anna, None).await.unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert!(
        matches!(&err, HostError::Conflict { expected, actual, .. } if expected == "1" && actual == "2")
    );
    let err = CrmStore::<Contact>::delete(&crm, &id, "1")
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    let err = CrmStore::<Contact>::set_key(&crm, &id, "1", "k")
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    let got = CrmStore::<Contact>::get(&crm, &id).await.unwrap().unwrap();
    assert_eq!(got.record, changed);

    CrmStore::<Contact>::delete(&crm, &id, "2").await.unwrap();
    assert!(CrmStore::<Contact>::get(&crm, &id).await.unwrap().is_none());
    let err = CrmStore::<Contact>::delete(&crm, &id, "2")
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    let err = crm.update(&id, "2", &changed, None).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn correlation_keys_are_kept() {
    let (_dir, db) = db();
    let crm = db.crm();
    let c = Contact(json!({"name": "Bert"}));
    let m = crm.create(None, &c, Some("key-1")).await.unwrap();
    assert_eq!(m.key.as_deref(), Some("key-1"));

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
    assert_eq!(m4.version, m3.version);

    let listed = CrmStore::<Contact>::list(&crm, &ListQuery::all())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key.as_deref(), Some("key-2"));
    assert_eq!(listed[0].version, m4.version);
}

#[tokio::test]
async fn listing_applies_filter_and_owner() {
    let (_dir, db) = db();
    let crm = db.crm();
    let rows = [
        (
            "anna",
            json!({"n": "a1", "categories": ["Vertrieb"], "company": "Muster GmbH"}),
        ),
        ("anna", json!({"n": "a2", "categories": [], "company": ""})),
        (
            "bert",
            json!({"n": "b1", "categories": ["Vertrieb", "VIP"], "company": "Beta AG"}),
        ),
        ("bert", json!({"n": "b2", "company": "Gamma GmbH"})),
    ];
    let mut ids = std::collections::BTreeMap::new();
    for (owner, body) in rows {
        let n = body["n"].as_str().unwrap().to_owned();
        let m = crm.create(Some(owner), &Contact(body), None).await.unwrap();
        ids.insert(m.id, n);
    }
    // In a different table: never listed with contacts.
    crm.create(Some("anna"), &Mail(json!({"n": "m1"})), None)
        .await
        .unwrap();

    let cases: &[(&str, Option<&str>, &[&str])] = &[
        ("", None, &["a1", "a2", "b1", "b2"]),
        ("", Some("anna"), &["a1", "a2"]),
        ("", Some("ANNA"), &["a1", "a2"]),
        ("#Vertrieb", None, &["a1", "b1"]),
        ("#Vertrieb", Some("bert"), &["b1"]),
        ("company ~ 'gmbh'", None, &["a1", "b2"]),
        ("company != ''", Some("anna"), &["a1"]),
        ("NOT #Vertrieb", None, &["a2", "b2"]),
        ("#VIP OR company = 'Gamma GmbH'", None, &["b1", "b2"]),
        ("", Some("carl"), &[]),
    ];
    for (filter, owner, expected) in cases {
        let mut q = ListQuery::filtered(filter).unwrap();
        if let Some(o) = owner {
            q = q.owned_by(*o);
        }
        let got: BTreeSet<&str> = CrmStore::<Contact>::list(&crm, &q)
            .await
            .unwrap()
            .iter()
            .map(|m| ids[&m.id].as_str())
            .collect();
        let expected: BTreeSet<&str> = expected.iter().copied().collect();
        assert_eq!(got, expected, "filter {filter:?} owner {owner:?}");
    }
}

#[tokio::test]
async fn get_many_skips_missing() {
    let (_dir, db) = db();
    let crm = db.crm();
    let a = crm
        .create(None, &Contact(json!({"n": 1})), None)
        .await
        .unwrap();
    let b = crm
        .create(None, &Contact(json!({"n": 2})), None)
        .await
        .unwrap();
    let got = CrmStore::<Contact>::get_many(&crm, &[a.id.clone(), "nope".into(), b.id.clone()])
        .await
        .unwrap();
    let ns: Vec<Value> = got.iter().map(|s| s.record.0["n"].clone()).collect();
    assert_eq!(ns, vec![json!(1), json!(2)]);
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

#[tokio::test]
async fn a_corrupt_record_is_a_decode_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crm.sqlite");
    let db = SqliteDb::open(&path).unwrap();
    let m = db
        .crm()
        .create(None, &Contact(json!({"n": 1})), None)
        .await
        .unwrap();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE records SET body = '{not json' WHERE id = ?1",
            [&m.id],
        )
        .unwrap();
    }
    let err = CrmStore::<Contact>::get(&db.crm(), &m.id)
        .await
        .unwrap_err();
    assert!(matches!(err, HostError::Decode { .. }), "{err}");
    // A filtered listing keeps it (its filter cannot be evaluated): a record missing from the
    // listing would look deleted to the sync. Reading it is what fails, and is reported.
    let listed = CrmStore::<Contact>::list(&db.crm(), &ListQuery::filtered("n = 1").unwrap())
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

#[tokio::test]
async fn directory_lists_users_groups_and_accounts() {
    let (_dir, db) = db();
    let dir = db.directory();
    dir.put_user(&user("bert", "bert@agentur.example", &["Vertrieb"]))
        .await
        .unwrap();
    dir.put_user(&user(
        "anna",
        "anna@agentur.example",
        &["Vertrieb", "Technik"],
    ))
    .await
    .unwrap();
    dir.put_user(&user("carl", "carl@agentur.example", &[]))
        .await
        .unwrap();

    let users = dir.users().await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["anna", "bert", "carl"]);
    assert_eq!(users[0].groups, ["Technik", "Vertrieb"]);
    assert_eq!(users[0].mail_accounts, ["anna-mail"]);

    let members: Vec<String> = dir
        .members("vertrieb")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(members, ["anna", "bert"]);
    let anna = dir.user("ANNA").await.unwrap().unwrap();
    assert_eq!(anna.mailbox.as_deref(), Some("anna@agentur.example"));

    // Replacing a user replaces their groups.
    dir.put_user(&user("anna", "anna@agentur.example", &["Technik"]))
        .await
        .unwrap();
    assert_eq!(dir.members("Vertrieb").await.unwrap().len(), 1);
    assert!(dir.remove_user("Anna").await.unwrap());
    assert!(!dir.remove_user("anna").await.unwrap());
    assert!(dir.user("anna").await.unwrap().is_none());
}

#[tokio::test]
async fn linker_follows_threads_then_addresses() {
    let (_dir, db) = db();
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
    crm.create(
        None,
        &Mail(json!({
            "message_id": "offer-1@agentur.example",
            "links": {"customer": "K-200", "project": "P-7", "offer": "A-3", "invoice": null}
        })),
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
            "a reference further up the thread",
            MailLinkQuery {
                references: vec!["offer-1@agentur.example".into(), "other@x".into()],
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
                from: Some("me@agentur.example".into()),
                recipients: vec!["x@y.example".into(), "anna.schmidt@kunde.example".into()],
                ..MailLinkQuery::default()
            },
            k100,
        ),
        (
            "a contact of the customer the subject names, not another customer's",
            MailLinkQuery {
                from: Some("zentrale@kunde.example".into()),
                recipients: vec!["anna.schmidt@kunde.example".into()],
                subject: "Frage zu P-2026-0042".into(),
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
            "nothing known",
            MailLinkQuery {
                from: Some("stranger@z.example".into()),
                in_reply_to: vec!["unknown@z".into()],
                ..MailLinkQuery::default()
            },
            MailLinks::default(),
        ),
    ];
    for (what, query, expected) in cases {
        assert_eq!(linker.link(&query).await.unwrap(), expected, "{what}");
    }
}

#[tokio::test]
async fn model_records_round_trip_and_filter() {
    use conaktiv_model::ContactPerson;
    use conaktiv_model::contact::{ContactEmail, EmailKind, PersonName};
    let (_dir, db) = db();
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
        let listed = CrmStore::<ContactPerson>::list(&crm, &ListQuery::filtered(filter).unwrap())
            .await
            .unwrap();
        assert_eq!(listed.len(), n, "{filter}");
    }
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
