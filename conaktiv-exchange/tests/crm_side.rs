#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! `CrmSide`: sync-core's engine drives two embedded SQLite CRMs through the CRM side, with
//! the filter, correlation keys, optimistic versions and projections that keep CRM-only
//! fields.

use conaktiv_exchange::crm_side::{CrmSide, JsonProjection, Projection};
use conaktiv_exchange::host::{CrmRecord, CrmStore, ListQuery};
use conaktiv_exchange::scheduler::JobReport;
use conaktiv_exchange::sqlite::{SqliteCrm, SqliteDb};
use serde::{Deserialize, Serialize};
use sync_core::{Engine, MemoryStore, Policy, Record, Side, Timestamp, WriteOp, WriteOutcome};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Contact {
    name: String,
    company: String,
    categories: Vec<String>,
    /// CRM-only: not synced by `NameOnly`.
    customer: Option<String>,
}

impl CrmRecord for Contact {
    const TABLE_NAME: &'static str = "contacts";
}

fn contact(name: &str, company: &str, categories: &[&str]) -> Contact {
    Contact {
        name: name.into(),
        company: company.into(),
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
        customer: None,
    }
}

type JsonSide = CrmSide<Contact, SqliteCrm, JsonProjection<Contact>>;

fn side(db: &SqliteDb, filter: &str) -> JsonSide {
    CrmSide::new(
        db.crm(),
        JsonProjection::default(),
        ListQuery::filtered(filter).unwrap(),
    )
}

async fn all(db: &SqliteDb) -> Vec<Contact> {
    let crm = db.crm();
    let metas = CrmStore::<Contact>::list(&crm, &ListQuery::all())
        .await
        .unwrap();
    let mut out: Vec<Contact> = CrmStore::<Contact>::get_many(
        &crm,
        &metas.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
    )
    .await
    .unwrap()
    .into_iter()
    .map(|s| s.record)
    .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[tokio::test]
async fn two_crms_sync_both_ways_through_the_engine_and_settle() {
    let (a, b) = (
        SqliteDb::in_memory().unwrap(),
        SqliteDb::in_memory().unwrap(),
    );
    let crm_a = a.crm();
    for c in [
        contact("Anna", "Muster GmbH", &["Vertrieb"]),
        contact("Bert", "Beta AG", &["Vertrieb"]),
        contact("Carl", "Gamma KG", &["Einkauf"]),
    ] {
        crm_a.create(None, &c, None).await.unwrap();
    }
    let engine = Engine::new(Policy::default()).unwrap();
    let mut state = MemoryStore::new();
    // Only the Vertrieb contacts are in scope on A.
    let (plan, report) = engine
        .run(
            &mut side(&a, "#Vertrieb"),
            &mut side(&b, ""),
            &mut state,
            Timestamp::from_unix_secs(1),
        )
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(plan.counts.remote.new, 2);
    let run = JobReport::from(&report);
    assert_eq!(run.to_exchange.new, 2);
    assert_eq!(run.to_conaktiv.content_writes(), 0);
    assert_eq!(run.conflicts, 0);
    assert!(run.item_errors.is_empty());
    let names: Vec<String> = all(&b).await.into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["Anna", "Bert"]);

    // The created records carry the pair's key, and so do the sources.
    let keys_b: Vec<Option<String>> = CrmStore::<Contact>::list(&b.crm(), &ListQuery::all())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert!(keys_b.iter().all(Option::is_some), "{keys_b:?}");

    // A second run writes nothing.
    let (plan, _) = engine
        .run(
            &mut side(&a, "#Vertrieb"),
            &mut side(&b, ""),
            &mut state,
            Timestamp::from_unix_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(
        plan.counts.local.total() + plan.counts.remote.total(),
        0,
        "{plan:?}"
    );

    // An edit on B flows back to A.
    let crm_b = b.crm();
    let bert_b = CrmStore::<Contact>::list(&crm_b, &ListQuery::filtered("name = 'Bert'").unwrap())
        .await
        .unwrap()
        .remove(0);
    crm_b
        .update(
            &bert_b.id,
            &bert_b.version,
            &contact("Bert", "Beta AG & Co", &["Vertrieb"]),
            None,
        )
        .await
        .unwrap();
    let (plan, report) = engine
        .run(
            &mut side(&a, "#Vertrieb"),
            &mut side(&b, ""),
            &mut state,
            Timestamp::from_unix_secs(3),
        )
        .await
        .unwrap();
    assert!(report.is_complete());
    assert_eq!(plan.counts.local.changed, 1);
    assert_eq!(JobReport::from(&report).to_conaktiv.changed, 1);
    let bert_a = all(&a)
        .await
        .into_iter()
        .find(|c| c.name == "Bert")
        .unwrap();
    assert_eq!(bert_a.company, "Beta AG & Co");
    let (plan, _) = engine
        .run(
            &mut side(&a, "#Vertrieb"),
            &mut side(&b, ""),
            &mut state,
            Timestamp::from_unix_secs(4),
        )
        .await
        .unwrap();
    assert_eq!(plan.counts.local.total() + plan.counts.remote.total(), 0);
}

#[tokio::test]
async fn writes_report_conflicts_and_missing_records() {
    let db = SqliteDb::in_memory().unwrap();
    let mut s = side(&db, "");
    let rec = JsonProjection::<Contact>::default().to_record(&contact("Anna", "X", &[]));
    let created = s
        .write(vec![WriteOp::Create {
            record: rec.clone(),
            key: "k1".into(),
        }])
        .await
        .unwrap();
    let WriteOutcome::Done { id, version } = created[0].clone() else {
        panic!("{created:?}");
    };
    let listing = s.list().await.unwrap();
    assert_eq!(listing.entries.len(), 1);
    assert_eq!(listing.entries[0].key.as_deref(), Some("k1"));
    assert_eq!(s.fetch(std::slice::from_ref(&id)).await.unwrap()[0].1, rec);

    let changed = rec.clone().with("company", "Y");
    let outcomes = s
        .write(vec![
            WriteOp::Update {
                id: id.clone(),
                expected: "stale".into(),
                record: changed.clone(),
                key: "k1".into(),
            },
            WriteOp::Update {
                id: "missing".into(),
                expected: "1".into(),
                record: changed.clone(),
                key: "k2".into(),
            },
            WriteOp::Delete {
                id: id.clone(),
                expected: "stale".into(),
            },
            WriteOp::SetKey {
                id: "missing".into(),
                expected: "1".into(),
                key: "k3".into(),
            },
            WriteOp::Update {
                id: id.clone(),
                expected: version.clone(),
                record: changed.clone(),
                key: "k1".into(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(outcomes[0], WriteOutcome::Conflict);
    assert_eq!(outcomes[1], WriteOutcome::NotFound);
    assert_eq!(outcomes[2], WriteOutcome::Conflict);
    assert_eq!(outcomes[3], WriteOutcome::NotFound);
    let WriteOutcome::Done { version: v2, .. } = outcomes[4].clone() else {
        panic!("{outcomes:?}");
    };
    assert_ne!(v2, version);
    // A record the projection cannot store is a failed write, nothing written.
    let bad = Record::new().with("categories", "not a list");
    let out = s
        .write(vec![WriteOp::Create {
            record: bad,
            key: "k9".into(),
        }])
        .await
        .unwrap();
    assert!(matches!(out[0], WriteOutcome::Failed(_)), "{out:?}");
    assert_eq!(s.list().await.unwrap().entries.len(), 1);
    let out = s
        .write(vec![WriteOp::Delete {
            id: id.clone(),
            expected: v2,
        }])
        .await
        .unwrap();
    assert!(matches!(out[0], WriteOutcome::Done { .. }));
    assert!(s.list().await.unwrap().entries.is_empty());
}

/// Syncs only the name; the customer link is CRM-only.
struct NameOnly;

impl Projection<Contact> for NameOnly {
    fn to_record(&self, c: &Contact) -> Record {
        Record::new().with("name", c.name.as_str())
    }

    fn apply(&self, current: Option<&Contact>, r: &Record) -> Result<Contact, String> {
        let mut c = current.cloned().unwrap_or_default();
        c.name = r
            .get("name")
            .and_then(|v| v.as_str())
            .ok_or("no name")?
            .to_owned();
        Ok(c)
    }
}

#[tokio::test]
async fn fields_outside_the_projection_are_left_alone() {
    let (a, b) = (
        SqliteDb::in_memory().unwrap(),
        SqliteDb::in_memory().unwrap(),
    );
    let with_customer = Contact {
        customer: Some("K-1".into()),
        ..contact("Anna", "Muster", &[])
    };
    let ma = a.crm().create(None, &with_customer, None).await.unwrap();
    let engine = Engine::new(Policy::default()).unwrap();
    let mut state = MemoryStore::new();
    let mk = |db: &SqliteDb| CrmSide::new(db.crm(), NameOnly, ListQuery::all());
    engine
        .run(
            &mut mk(&a),
            &mut mk(&b),
            &mut state,
            Timestamp::from_unix_secs(1),
        )
        .await
        .unwrap();
    let copy = all(&b).await.remove(0);
    assert_eq!(copy.name, "Anna");
    assert_eq!(copy.customer, None);
    assert_eq!(copy.company, "");
    // Rename on B: A keeps its customer and company.
    let mb = CrmStore::<Contact>::list(&b.crm(), &ListQuery::all())
        .await
        .unwrap()
        .remove(0);
    b.crm()
        .update(
            &mb.id,
            &mb.version,
            &Contact {
                name: "Anna S.".into(),
                ..copy
            },
            None,
        )
        .await
        .unwrap();
    engine
        .run(
            &mut mk(&a),
            &mut mk(&b),
            &mut state,
            Timestamp::from_unix_secs(2),
        )
        .await
        .unwrap();
    let back = CrmStore::<Contact>::get(&a.crm(), &ma.id)
        .await
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(back.name, "Anna S.");
    assert_eq!(back.customer.as_deref(), Some("K-1"));
    assert_eq!(back.company, "Muster");
}

/// One CRM record whose stored body cannot be decoded is reported and skipped; the other
/// records of the job are synchronised, with or without a filter.
#[tokio::test]
async fn an_undecodable_record_is_skipped_and_reported_and_the_rest_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.sqlite");
    let a = SqliteDb::open(&path).unwrap();
    let b = SqliteDb::in_memory().unwrap();
    let crm_a = a.crm();
    let mut broken_id = String::new();
    for c in [
        contact("Anna", "Muster GmbH", &["Vertrieb"]),
        contact("Bert", "Beta AG", &["Vertrieb"]),
        contact("Carl", "Gamma KG", &["Vertrieb"]),
    ] {
        let meta = crm_a.create(None, &c, None).await.unwrap();
        if c.name == "Bert" {
            broken_id = meta.id;
        }
    }
    // Corrupt Bert's stored body behind the store's back.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE records SET body = '{not json' WHERE id = ?1",
        [&broken_id],
    )
    .unwrap();
    drop(raw);

    for filter in ["#Vertrieb", ""] {
        let b = if filter.is_empty() {
            SqliteDb::in_memory().unwrap()
        } else {
            b.clone()
        };
        let engine = Engine::new(Policy::default()).unwrap();
        let mut state = MemoryStore::new();
        let mut from = side(&a, filter);
        let (_, report) = engine
            .run(
                &mut from,
                &mut side(&b, ""),
                &mut state,
                Timestamp::from_unix_secs(1),
            )
            .await
            .unwrap();
        let mut run = JobReport::from(&report);
        run.add_unreadable(from.unreadable());
        assert_eq!(run.to_exchange.new, 2, "filter {filter:?}: {run:?}");
        assert_eq!(run.unreadable, 1, "{run:?}");
        assert!(!run.is_complete());
        assert!(
            run.item_errors[0].contains(&broken_id) && run.item_errors[0].contains("skipped"),
            "{:?}",
            run.item_errors
        );
        let names: Vec<String> = all(&b).await.into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["Anna", "Carl"]);
    }
}
