#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Records the sync creates in the CRM from Exchange stay inside the rule's filter: the
//! filter's defaults are set on them, and those that still cannot match are kept in scope
//! (pinned), so the "ConAktiv -> Exchange: delete what the source no longer has" switch never
//! deletes their Exchange originals. A record the user moves out of the filter still leaves
//! the scope. Real SQLite CRM, sync-core's engine, `MemorySide` as the Exchange side.

use conaktiv_exchange::crm_side::{CrmSide, JsonProjection, PINNED_KEY_PREFIX, scope_warning};
use conaktiv_exchange::host::{CrmRecord, CrmStore, ListQuery, Stored};
use conaktiv_exchange::sqlite::{SqliteCrm, SqliteDb};
use serde::{Deserialize, Serialize};
use sync_core::memory::{Feed, MemorySide};
use sync_core::{Engine, MemoryStore, Policy, Record, Side, Switches, Timestamp};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Contact {
    name: String,
    kategorie: String,
    categories: Vec<String>,
}

impl CrmRecord for Contact {
    const TABLE_NAME: &'static str = "contacts";
}

type JsonSide = CrmSide<Contact, SqliteCrm, JsonProjection<Contact>>;

fn side(db: &SqliteDb, filter: &str) -> JsonSide {
    CrmSide::new(
        db.crm(),
        JsonProjection::default(),
        ListQuery::filtered(filter).unwrap().owned_by("anna"),
    )
}

async fn stored(db: &SqliteDb) -> Vec<Stored<Contact>> {
    let crm = db.crm();
    let metas = CrmStore::<Contact>::list(&crm, &ListQuery::all())
        .await
        .unwrap();
    CrmStore::<Contact>::get_many(&crm, &metas.into_iter().map(|m| m.id).collect::<Vec<_>>())
        .await
        .unwrap()
}

fn exchange_item(name: &str, kategorie: &str) -> Record {
    Record::new()
        .with("name", name)
        .with("kategorie", kategorie)
        .with("categories", serde_json::json!([]))
}

/// The rule: everything on in both directions, in particular CRM -> Exchange deletes.
fn rule(delete_on_exchange: bool) -> Policy {
    Policy {
        local_to_remote: Switches {
            delete_missing: delete_on_exchange,
            ..Switches::ALL
        },
        ..Policy::default()
    }
}

struct Setup {
    db: SqliteDb,
    exchange: MemorySide,
    state: MemoryStore,
    engine: Engine,
    filter: &'static str,
    now: u64,
}

impl Setup {
    fn new(filter: &'static str, delete_on_exchange: bool) -> Self {
        Setup {
            db: SqliteDb::in_memory().unwrap(),
            exchange: MemorySide::new("ews-", Feed::FullListing),
            state: MemoryStore::new(),
            engine: Engine::new(rule(delete_on_exchange)).unwrap(),
            filter,
            now: 0,
        }
    }

    /// One run; returns (deletes on Exchange, deletes in the CRM).
    async fn run(&mut self) -> (usize, usize) {
        self.now += 1;
        let mut crm = side(&self.db, self.filter);
        let (plan, report) = self
            .engine
            .run(
                &mut crm,
                &mut self.exchange,
                &mut self.state,
                Timestamp::from_unix_secs(self.now),
            )
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:?}");
        (plan.counts.remote.deleted, plan.counts.local.deleted)
    }
}

#[tokio::test]
async fn created_records_get_the_filter_values_and_stay_listed() {
    let mut s = Setup::new("#Exchange AND kategorie = 'Kunde'", true);
    let item = s.exchange.insert(exchange_item("Anna", ""));
    assert_eq!(s.run().await, (0, 0));

    let records = stored(&s.db).await;
    assert_eq!(records.len(), 1);
    let created = &records[0];
    assert_eq!(created.record.kategorie, "Kunde");
    assert_eq!(created.record.categories, ["Exchange"]);
    assert_eq!(created.meta.owner.as_deref(), Some("anna"));
    // It matches the filter: an ordinary key, no pin.
    let key = created.meta.key.clone().unwrap();
    assert!(!key.starts_with(PINNED_KEY_PREFIX), "{key}");

    // The CRM side lists it on the next run.
    let listing = side(&s.db, s.filter).list().await.unwrap();
    assert_eq!(listing.entries.len(), 1);
    assert_eq!(listing.entries[0].key.as_deref(), Some(key.as_str()));

    // Second and third runs delete nothing; the Exchange original is still there.
    for _ in 0..2 {
        assert_eq!(s.run().await, (0, 0));
        assert!(s.exchange.get(&item).is_some());
    }
    assert_eq!(stored(&s.db).await.len(), 1);
}

/// The user removes the category in the CRM: the record leaves the scope, and the
/// delete switch decides what happens to the Exchange item.
#[tokio::test]
async fn a_record_the_user_moves_out_of_the_filter_follows_the_delete_switch() {
    for delete_on_exchange in [true, false] {
        let mut s = Setup::new("#Exchange AND kategorie = 'Kunde'", delete_on_exchange);
        let item = s.exchange.insert(exchange_item("Anna", "Kunde"));
        // A second record keeps the CRM side from looking empty (the engine's guard).
        s.exchange.insert(exchange_item("Bert", "Kunde"));
        s.run().await;
        s.run().await;
        assert!(s.exchange.get(&item).is_some());

        let crm = s.db.crm();
        let created = stored(&s.db)
            .await
            .into_iter()
            .find(|r| r.record.name == "Anna")
            .unwrap();
        let mut edited = created.record.clone();
        edited.categories.retain(|c| c != "Exchange");
        CrmStore::<Contact>::update(&crm, &created.meta.id, &created.meta.version, &edited, None)
            .await
            .unwrap();

        let (deleted_on_exchange, deleted_in_crm) = s.run().await;
        assert_eq!(deleted_in_crm, 0);
        // The CRM records stay.
        assert_eq!(stored(&s.db).await.len(), 2);
        if delete_on_exchange {
            assert_eq!(deleted_on_exchange, 1);
            assert!(s.exchange.get(&item).is_none());
        } else {
            assert_eq!(deleted_on_exchange, 0);
            assert!(s.exchange.get(&item).is_some());
        }
        // Nothing further happens.
        assert_eq!(s.run().await, (0, 0));
    }
}

/// Filters whose values cannot be set (a `!=`, an OR, a field the record type does not have):
/// the record is still created, pinned, kept in scope, and its Exchange original is never
/// deleted.
#[tokio::test]
async fn unsatisfiable_filters_never_delete_the_exchange_original() {
    let cases: &[(&str, &str)] = &[
        ("kategorie != 'Kunde'", "Kunde"),
        ("kategorie = 'Lieferant' OR kategorie = 'Partner'", "Kunde"),
        // `region` is not a field of the record type: setting it does not stick.
        ("#Exchange AND region = 'Nord'", ""),
    ];
    for (filter, kategorie) in cases {
        let mut s = Setup::new(filter, true);
        let item = s.exchange.insert(exchange_item("Anna", kategorie));
        assert_eq!(s.run().await, (0, 0), "{filter}");

        let records = stored(&s.db).await;
        assert_eq!(records.len(), 1, "{filter}");
        let key = records[0].meta.key.clone().unwrap();
        assert!(key.starts_with(PINNED_KEY_PREFIX), "{filter}: {key}");
        // The engine sees the key without the pin.
        let listing = side(&s.db, filter).list().await.unwrap();
        assert_eq!(listing.entries.len(), 1, "{filter}");
        assert_eq!(
            listing.entries[0].key.as_deref(),
            key.strip_prefix(PINNED_KEY_PREFIX),
            "{filter}"
        );
        for _ in 0..2 {
            assert_eq!(s.run().await, (0, 0), "{filter}");
            assert!(s.exchange.get(&item).is_some(), "{filter}");
        }
        assert_eq!(stored(&s.db).await.len(), 1, "{filter}");

        // A change on Exchange still flows to the pinned record, and it stays pinned.
        assert!(s.exchange.edit(&item, "name", "Anna Maria"));
        assert_eq!(s.run().await, (0, 0), "{filter}");
        let records = stored(&s.db).await;
        assert_eq!(records[0].record.name, "Anna Maria", "{filter}");
        assert!(
            records[0]
                .meta
                .key
                .as_deref()
                .unwrap()
                .starts_with(PINNED_KEY_PREFIX)
        );
        assert!(s.exchange.get(&item).is_some(), "{filter}");
    }
}

/// A pinned record that an update from Exchange makes match the filter loses its pin and
/// from then on leaves the scope like any record.
#[tokio::test]
async fn a_pinned_record_that_comes_to_match_is_an_ordinary_record() {
    let filter = "kategorie != 'Kunde'";
    let mut s = Setup::new(filter, true);
    let item = s.exchange.insert(exchange_item("Anna", "Kunde"));
    // A second record keeps the CRM side from looking empty (the engine's guard).
    s.exchange.insert(exchange_item("Bert", "Partner"));
    s.run().await;
    assert!(s.exchange.edit(&item, "kategorie", "Partner"));
    s.run().await;
    let created = stored(&s.db)
        .await
        .into_iter()
        .find(|r| r.record.name == "Anna")
        .unwrap();
    assert_eq!(created.record.kategorie, "Partner");
    assert!(
        !created
            .meta
            .key
            .as_deref()
            .unwrap()
            .starts_with(PINNED_KEY_PREFIX)
    );
    // The user sets kategorie to Kunde in the CRM: it leaves the scope, the switch deletes.
    let mut edited = created.record.clone();
    edited.kategorie = "Kunde".into();
    CrmStore::<Contact>::update(
        &s.db.crm(),
        &created.meta.id,
        &created.meta.version,
        &edited,
        None,
    )
    .await
    .unwrap();
    assert_eq!(s.run().await, (1, 0));
    assert!(s.exchange.get(&item).is_none());
}

#[test]
fn the_configuration_check_warns_about_unsatisfiable_filters() {
    let cases: &[(&str, Option<&str>)] = &[
        ("", None),
        ("#Exchange", None),
        ("#Exchange AND kategorie = 'Kunde'", None),
        ("company ~ 'GmbH'", None),
        ("kategorie != 'Kunde'", Some("kategorie != 'Kunde'")),
        ("#A OR #B", Some("(categories = 'A' OR categories = 'B')")),
        ("#A AND NOT #B", Some("NOT categories = 'B'")),
        ("start >= '2026-01-01'", Some("start >= '2026-01-01'")),
        // Invalid filters are reported by the parse check, not here.
        ("kategorie = ", None),
    ];
    for (filter, term) in cases {
        let warning = scope_warning(filter);
        match term {
            None => assert_eq!(warning, None, "{filter}"),
            Some(term) => {
                let w = warning.unwrap_or_else(|| panic!("{filter}: no warning"));
                assert!(w.contains(term), "{filter}: {w}");
                assert!(w.contains("kept in this rule's scope"), "{filter}: {w}");
            }
        }
    }
}

/// The model's contacts through the service's projection: the defaults land in the
/// `ContactPerson`, and the runs settle with nothing deleted.
#[tokio::test]
async fn model_contacts_get_the_defaults_and_the_runs_settle() {
    use conaktiv_exchange::mapping::contact::crm_to_record;
    use conaktiv_exchange::service::ContactProjection;
    use conaktiv_model::ContactPerson;

    let filter = "#Exchange AND department = 'Vertrieb'";
    let db = SqliteDb::in_memory().unwrap();
    let mut exchange = MemorySide::new("ews-", Feed::FullListing);
    let mut person = ContactPerson::default();
    person.name.given_name = "Anna".into();
    person.name.surname = "Schmidt".into();
    person.company = "Muster GmbH".into();
    let item = exchange.insert(crm_to_record(&person));
    let engine = Engine::new(rule(true)).unwrap();
    let mut state = MemoryStore::new();
    let mut writes = Vec::new();
    for now in 1..=3 {
        let mut crm = CrmSide::new(
            db.crm(),
            ContactProjection,
            ListQuery::filtered(filter).unwrap().owned_by("anna"),
        );
        let (plan, report) = engine
            .run(
                &mut crm,
                &mut exchange,
                &mut state,
                Timestamp::from_unix_secs(now),
            )
            .await
            .unwrap();
        assert!(report.is_complete(), "{report:?}");
        assert_eq!(plan.counts.remote.deleted + plan.counts.local.deleted, 0);
        writes.push(plan.counts.remote.total() + plan.counts.local.total());
        assert!(exchange.get(&item).is_some());
    }
    // Run 1 creates (and keys the source), the later runs have nothing left to do.
    assert!(writes[0] >= 1, "{writes:?}");
    assert_eq!(writes[2], 0, "{writes:?}");
    let crm = db.crm();
    let metas = CrmStore::<ContactPerson>::list(&crm, &ListQuery::filtered(filter).unwrap())
        .await
        .unwrap();
    assert_eq!(metas.len(), 1);
    let stored = CrmStore::<ContactPerson>::get(&crm, &metas[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.record.department, "Vertrieb");
    assert_eq!(stored.record.categories, ["Exchange"]);
    assert_eq!(stored.record.company, "Muster GmbH");
    // The defaults are CRM-side: the pair's base is what the engine wrote, so the values
    // reach Exchange only with the record's next change in the CRM.
    assert_eq!(writes[1], 0, "{writes:?}");
    let on_exchange = &exchange.get(&item).unwrap().record;
    assert_eq!(on_exchange.get("categories"), None, "{on_exchange:?}");
}

const ORG: &str = r#"
[[users]]
address = "svc-crm@contoso.test"
display_name = "CRM service"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "bob@contoso.test"
password = "bob-pw"

[[mailboxes]]
owner = "bob@contoso.test"
folders = [{ path = "contacts/Kunden" }]
items = [
  { folder = "contacts/Kunden", subject = "Carol Jones", fields = { GivenName = "Carol", Surname = "Jones" } },
  { folder = "contacts/Kunden", subject = "Nora North", fields = { GivenName = "Nora", Surname = "North" } },
]
"#;

/// Against ews-mock over HTTP: Exchange contacts synced into a filtered CRM are never deleted
/// on Exchange by later runs, whether the filter's values can be set or not; a contact the
/// user takes out of the filter in the CRM is deleted on Exchange (the switch is on).
#[tokio::test]
async fn exchange_contacts_survive_later_runs_against_ews_mock() {
    use conaktiv_exchange::exchange::{ExchangeSide, ExchangeSideConfig, ExchangeTable};
    use conaktiv_exchange::service::ContactProjection;
    use conaktiv_model::ContactPerson;
    use conaktiv_model::config::SyncFolder;
    use conaktiv_model::values::FolderPath;
    use ews_client::transport::{Auth, TransportConfig};
    use ews_client::{Client, ClientConfig};
    use ews_mock::{MockConfig, MockServer, OrgData};

    const BOB: &str = "bob@contoso.test";
    for (filter, satisfiable) in [("#Exchange", true), ("#A OR #B", false)] {
        let mock = MockServer::start(MockConfig::new(OrgData::from_toml(ORG).unwrap()))
            .await
            .unwrap();
        let client = Client::new(ClientConfig::new(TransportConfig::new(
            url::Url::parse(&mock.url()).unwrap(),
            Auth::basic("svc-crm@contoso.test", "svc-pw"),
        )))
        .unwrap();
        let folders = vec![SyncFolder::new(
            FolderPath::new("/Contacts/Kunden").unwrap(),
            conaktiv_model::Subfolders::Excluded,
        )];
        let mut exchange = ExchangeSide::new(
            &client,
            BOB,
            ExchangeSideConfig::new(ExchangeTable::Contacts, folders),
        )
        .unwrap();
        let db = SqliteDb::in_memory().unwrap();
        let engine = Engine::new(Policy::default()).unwrap();
        let mut state = MemoryStore::new();
        let crm_side = || {
            CrmSide::new(
                db.crm(),
                ContactProjection,
                ListQuery::filtered(filter).unwrap().owned_by("bob"),
            )
        };
        let on_exchange = || {
            mock.mailbox(BOB)
                .unwrap()
                .items_in("contacts/Kunden")
                .count()
        };
        for now in 1..=3 {
            let (plan, report) = engine
                .run(
                    &mut crm_side(),
                    &mut exchange,
                    &mut state,
                    Timestamp::from_unix_secs(now),
                )
                .await
                .unwrap();
            assert!(report.is_complete(), "{filter}: {report:?}");
            assert_eq!(plan.counts.remote.deleted, 0, "{filter} run {now}");
            assert_eq!(plan.counts.local.deleted, 0, "{filter} run {now}");
            assert_eq!(on_exchange(), 2, "{filter} run {now}");
        }
        let crm = db.crm();
        let metas = CrmStore::<ContactPerson>::list(&crm, &ListQuery::all())
            .await
            .unwrap();
        assert_eq!(metas.len(), 2, "{filter}");
        let pinned = metas
            .iter()
            .filter(|m| m.key.as_deref().unwrap().starts_with(PINNED_KEY_PREFIX))
            .count();
        assert_eq!(pinned, if satisfiable { 0 } else { 2 }, "{filter}");

        if satisfiable {
            // The user removes the category of one contact in the CRM.
            let carol = CrmStore::<ContactPerson>::get_many(
                &crm,
                &metas.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
            )
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.record.name.given_name == "Carol")
            .unwrap();
            let mut edited = carol.record.clone();
            edited.categories.clear();
            CrmStore::<ContactPerson>::update(
                &crm,
                &carol.meta.id,
                &carol.meta.version,
                &edited,
                None,
            )
            .await
            .unwrap();
            let (plan, _) = engine
                .run(
                    &mut crm_side(),
                    &mut exchange,
                    &mut state,
                    Timestamp::from_unix_secs(4),
                )
                .await
                .unwrap();
            assert_eq!(plan.counts.remote.deleted, 1, "{filter}");
            assert_eq!(on_exchange(), 1, "{filter}");
        }
    }
}
