#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test
//! The Graph mapping (`mapping::graph`): records survive record -> Graph -> record, and,
//! against the mock over HTTP, the same Exchange item gives the same Record through EWS
//! (`ews_to_record`) and through Graph (`graph_to_record`) whichever front created it; a
//! Graph PATCH built by `patch(old, new)` reads back as `new` through both fronts.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use conaktiv_exchange::mapping::graph::appointment::OccurrenceWrite;
use conaktiv_exchange::mapping::graph::{appointment as gappt, contact as gcontact, task as gtask};
use conaktiv_exchange::mapping::{Record, appointment, contact, key, task};
use ews_client::ops::{CreateItem, GetItem};
use ews_client::transport::{Auth, RetryPolicy, SecretString, TransportConfig};
use ews_client::types::shape::ItemShape;
use ews_client::types::{
    BaseFolderId, CalendarItem, Contact, DistinguishedFolderName as D, Item, ItemId, PropertyPath,
};
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};
use graph_client::calendar::{Event, Window};
use graph_client::extended;
use graph_client::todo::WellknownListName;
use graph_client::translate::ExchangeIdFormat;
use graph_client::{ListOptions, Mailbox};
use serde::Deserialize;
use serde_json::{Value, json};

const ORG: &str = r#"
[[users]]
address = "bob@contoso.test"
password = "bob-pw"

[[apps]]
client_id = "sync-app"
client_secret = "app-secret"
tenant = "contoso"
roles = ["full_access_as_app"]
"#;

#[derive(Deserialize)]
struct Case {
    name: String,
    record: BTreeMap<String, Value>,
}

fn record(fields: &BTreeMap<String, Value>) -> Record {
    let mut r = Record::new();
    for (k, v) in fields {
        r.fields.insert(k.clone(), v.clone());
    }
    r
}

fn rec(v: Value) -> Record {
    let map: BTreeMap<String, Value> = serde_json::from_value(v).unwrap();
    record(&map)
}

fn cases(file: &str) -> Vec<(String, Record)> {
    let path = format!("{}/tests/data/mapping/{file}", env!("CARGO_MANIFEST_DIR"));
    let list: Vec<Case> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    list.into_iter()
        .map(|c| (c.name, record(&c.record)))
        .collect()
}

fn without(r: &Record, names: &[&str]) -> Record {
    let mut r = r.clone();
    for n in names {
        r.fields.remove(*n);
    }
    r
}

fn edit(base: &Record, edits: &[(&str, Value)]) -> Record {
    let mut r = base.clone();
    for (k, v) in edits {
        if v.is_null() {
            r.fields.remove(*k);
        } else {
            r.fields.insert((*k).to_owned(), v.clone());
        }
    }
    r
}

/// Through JSON, as the server would get and give it.
fn via_json<T: serde::Serialize + serde::de::DeserializeOwned>(t: &T) -> T {
    serde_json::from_value(serde_json::to_value(t).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// test data beyond the shared mapping cases

fn contact_records() -> Vec<(String, Record)> {
    let mut out = cases("contacts.json");
    out.push((
        "every slot, unicode, gaps in the e-mail slots".into(),
        rec(json!({
            "title": "Prof. Dr.",
            "given_name": "Zoë",
            "surname": "Ørsted-Müller",
            "suffix": "III",
            "display_name": "Zoë Ørsted-Müller 🌍",
            "email.2": "zoe@privat.example",
            "email.2.name": "Zoë privat",
            "email.3": "zoe@other.example",
            "phone.business": "+49 30 1",
            "phone.home": "+49 30 2",
            "phone.mobile": "+49 170 3",
            "phone.fax": "+49 30 4",
            "phone.other": "+49 30 5",
            "address.home.street": "Straße 1\nAufgang B",
            "address.home.city": "Köln",
            "address.other.state": "NRW",
            "address.other.postal_code": "50667",
            "notes": "Zeile 1\n\n  Zeile 3 eingerückt\nÄÖÜ €",
            "categories": ["A", "Ω"],
            "birthday": "1999-12-31"
        })),
    ));
    out.push(("nothing set".into(), Record::new()));
    out
}

fn task_records() -> Vec<(String, Record)> {
    let mut out = cases("tasks.json");
    out.push((
        "unicode and multi-line body, waiting on others".into(),
        rec(json!({
            "subject": "Prüfen: Ärger 🙂",
            "body": "Erste Zeile\nZweite Zeile\n\nVierte",
            "due_date": "2025-12-31",
            "status": "waiting_on_others",
            "percent_complete": 0,
            "importance": "low",
            "sensitivity": "normal",
            "categories": ["x", "y"]
        })),
    ));
    out
}

fn recurrence_values() -> Vec<(String, Value)> {
    #[derive(Deserialize)]
    struct R {
        name: String,
        value: Value,
    }
    let path = format!(
        "{}/tests/data/mapping/recurrences.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let list: Vec<R> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    list.into_iter().map(|r| (r.name, r.value)).collect()
}

/// A timed series in Berlin starting on the recurrence's start date at 09:00 local.
fn series_with(v: &Value) -> Record {
    let start_date = v["start_date"].as_str().unwrap();
    let d = chrono::NaiveDate::parse_from_str(start_date, "%Y-%m-%d").unwrap();
    let tz: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
    use chrono::TimeZone;
    let s = tz
        .from_local_datetime(&d.and_hms_opt(9, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let fmt = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    rec(json!({
        "subject": "Serie",
        "start": fmt(s),
        "end": fmt(s + chrono::Duration::minutes(45)),
        "start_tz": "Europe/Berlin",
        "end_tz": "Europe/Berlin",
        "all_day": false,
        "sensitivity": "normal",
        "busy_status": "busy",
        "recurrence": v,
    }))
}

fn appointment_records() -> Vec<(String, Record)> {
    let mut out: Vec<(String, Record)> = cases("appointments.json");
    out.push((
        "different end zone, unicode, working elsewhere".into(),
        rec(json!({
            "subject": "Flug ✈ nach Tokio",
            "location": "BER → HND",
            "body": "Gate B\nSitz 12A",
            "start": "2025-06-01T10:00:00Z",
            "end": "2025-06-02T01:00:00Z",
            "start_tz": "Europe/Berlin",
            "end_tz": "Asia/Tokyo",
            "all_day": false,
            "reminder_minutes": 120,
            "sensitivity": "confidential",
            "busy_status": "working_elsewhere"
        })),
    ));
    out.push((
        "all-day yearly series with a deleted year".into(),
        rec(json!({
            "subject": "Geburtstag Anna",
            "start": "2025-05-17",
            "end": "2025-05-18",
            "start_tz": "Europe/Berlin",
            "end_tz": "Europe/Berlin",
            "all_day": true,
            "sensitivity": "private",
            "busy_status": "free",
            "recurrence": {"pattern": "yearly_absolute", "month": 5, "day_of_month": 17,
                           "start_date": "2025-05-17", "end": "never"},
            "recurrence.deleted": ["2026-05-17"]
        })),
    ));
    out.push((
        "daily series in UTC with a moved occurrence that has its own texts".into(),
        rec(json!({
            "subject": "Stand-up",
            "location": "Teams",
            "body": "Kurz halten.",
            "start": "2025-09-01T07:00:00Z",
            "end": "2025-09-01T07:15:00Z",
            "start_tz": "UTC",
            "end_tz": "UTC",
            "all_day": false,
            "reminder_minutes": 5,
            "sensitivity": "normal",
            "busy_status": "busy",
            "recurrence": {"pattern": "daily", "interval": 1,
                           "start_date": "2025-09-01", "end": "by_date", "end_date": "2025-09-12"},
            "recurrence.deleted": ["2025-09-05"],
            "recurrence.modified": [{"original_start": "2025-09-03T07:00:00Z",
                                     "start": "2025-09-03T12:00:00Z", "end": "2025-09-03T12:30:00Z",
                                     "location": "Raum 1 — Süd", "body": "Sonderthema:\nBudget"}]
        })),
    ));
    for (name, v) in recurrence_values() {
        out.push((format!("series: {name}"), series_with(&v)));
    }
    out
}

const EXCEPTIONS: [&str; 2] = ["recurrence.deleted", "recurrence.modified"];

// ---------------------------------------------------------------------------------------------
// (1) record -> Graph -> record, no server

#[test]
fn contacts_round_trip_through_graph() {
    for (name, r) in contact_records() {
        let g = via_json(&gcontact::record_to_graph(&r));
        assert_eq!(gcontact::graph_to_record(&g), r, "{name}");
        assert!(g.id.is_none());
    }
}

#[test]
fn tasks_round_trip_through_to_do_without_the_fields_it_cannot_carry() {
    for (name, r) in task_records() {
        let g = via_json(&gtask::record_to_graph(&r));
        assert_eq!(
            gtask::graph_to_record(&g),
            without(&r, &gtask::NOT_CARRIED),
            "{name}"
        );
    }
}

#[test]
fn appointments_round_trip_through_graph() {
    for (name, r) in appointment_records() {
        let r = without(&r, &EXCEPTIONS);
        let g = via_json(&gappt::record_to_graph(&r));
        let (back, warnings) = gappt::graph_to_record(&g, &[]);
        assert_eq!(back, r, "{name}");
        assert!(warnings.is_empty(), "{name}: {warnings:?}");
    }
}

#[test]
fn patches_name_only_changed_properties_and_clear_with_empty_values() {
    let (_, old) = contact_records().remove(0);
    let new = edit(
        &old,
        &[
            ("given_name", Value::Null),
            ("phone.fax", Value::Null),
            ("phone.other", json!("+1 555")),
            ("email.2", Value::Null),
            ("birthday", Value::Null),
        ],
    );
    let p = gcontact::patch(&old, &new);
    let keys: Vec<&String> = p.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "birthday",
            "givenName",
            "secondaryEmailAddress",
            "singleValueExtendedProperties"
        ]
    );
    assert_eq!(p["givenName"], "");
    assert_eq!(p["birthday"], Value::Null);
    assert_eq!(p["secondaryEmailAddress"], Value::Null);
    assert_eq!(
        p["singleValueExtendedProperties"],
        json!([{"id": "String 0x3a24", "value": ""}, {"id": "String 0x3a1f", "value": "+1 555"}])
    );
    assert_eq!(gcontact::patch(&old, &old), json!({}));

    let (_, t) = task_records().remove(0);
    let t2 = edit(
        &t,
        &[
            ("reminder", Value::Null),
            ("recurrence", Value::Null),
            ("percent_complete", json!(80)),
        ],
    );
    assert_eq!(
        gtask::patch(&t, &t2),
        json!({"isReminderOn": false, "recurrence": null})
    );
}

// ---------------------------------------------------------------------------------------------
// the mock over HTTP

struct Fronts {
    _mock: MockHandle,
    ews: ews_client::Client,
    graph: Mailbox,
}

async fn start() -> Fronts {
    let mock = MockServer::start(MockConfig::new(OrgData::from_toml(ORG).unwrap()))
        .await
        .unwrap();
    let ews = ews_client::Client::new(ews_client::ClientConfig::new(TransportConfig::new(
        url::Url::parse(&mock.url()).unwrap(),
        Auth::basic("bob@contoso.test", "bob-pw"),
    )))
    .unwrap();
    let mut creds = graph_client::auth::credentials("contoso", "sync-app")
        .with_token_url(mock.token_url().parse().unwrap());
    creds.client_secret = SecretString::from("app-secret".to_owned());
    let config = graph_client::ClientConfig::new(graph_client::auth::with_secret(creds).unwrap())
        .with_base_url(url::Url::parse(&format!("{}/v1.0/", mock.base_url())).unwrap())
        .with_retry(
            RetryPolicy::default()
                .with_delays(Duration::from_millis(10), Duration::from_millis(50))
                .with_max_attempts(3),
        )
        .with_timeouts(Duration::from_secs(10), Duration::from_secs(30));
    let graph = graph_client::Client::new(config)
        .unwrap()
        .mailbox("bob@contoso.test")
        .with_timezone(conaktiv_exchange::mapping::graph::PREFERRED_TIMEZONE);
    Fronts {
        _mock: mock,
        ews,
        graph,
    }
}

fn shape() -> ItemShape {
    ItemShape::all_properties().with_additional([
        key::record_id_path(),
        PropertyPath::Extended(Contact::title_property()),
    ])
}

async fn ews_create(f: &Fronts, folder: D, mut item: Item, id: &str) -> ItemId {
    key::set_record_id(&mut item, id);
    let created = f
        .ews
        .execute_single(&CreateItem::save(
            vec![item],
            Some(BaseFolderId::from(folder)),
        ))
        .await
        .unwrap();
    created.items[0].item_id().unwrap().clone()
}

async fn ews_get(f: &Fronts, id: &ItemId) -> Item {
    let got = f
        .ews
        .execute_single(&GetItem::new(shape(), [id.clone()]))
        .await
        .unwrap();
    got.items.into_iter().next().unwrap()
}

async fn ews_id_of(f: &Fronts, graph_id: &str) -> ItemId {
    let t = f
        .graph
        .translate_exchange_ids(
            &[graph_id],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap();
    ItemId::new(t[0].target_id.clone().unwrap())
}

async fn graph_id_of(f: &Fronts, ews_id: &ItemId) -> String {
    let t = f
        .graph
        .translate_exchange_ids(
            &[ews_id.id.as_str()],
            ExchangeIdFormat::EwsId,
            ExchangeIdFormat::RestImmutableEntryId,
        )
        .await
        .unwrap();
    t[0].target_id.clone().unwrap()
}

fn contact_options() -> ListOptions {
    let mut ids = gcontact::extended_properties();
    ids.push(key::graph_property());
    let refs: Vec<&extended::PropertyId> = ids.iter().collect();
    ListOptions::default()
        .select(&gcontact::SELECT)
        .expand(extended::expand(&refs))
}

async fn ews_contact_record(f: &Fronts, id: &ItemId) -> Record {
    let Item::Contact(c) = ews_get(f, id).await else {
        panic!("no contact")
    };
    contact::ews_to_record(&c)
}

#[tokio::test]
async fn contacts_read_the_same_through_both_fronts() {
    let f = start().await;
    for (name, r) in contact_records() {
        // EWS creates, Graph reads
        let ews_id = ews_create(
            &f,
            D::Contacts,
            Item::Contact(contact::record_to_ews(&r)),
            "K-1",
        )
        .await;
        let gid = graph_id_of(&f, &ews_id).await;
        let g = f.graph.contact(&gid, &contact_options()).await.unwrap();
        assert_eq!(gcontact::graph_to_record(&g), r, "{name}: EWS -> Graph");

        // Graph creates, EWS reads
        let created = f
            .graph
            .create_contact(None, &gcontact::record_to_graph(&r))
            .await
            .unwrap();
        let gid = created.id.clone().unwrap();
        let ews_id = ews_id_of(&f, &gid).await;
        assert_eq!(
            ews_contact_record(&f, &ews_id).await,
            r,
            "{name}: Graph -> EWS"
        );
        let g = f.graph.contact(&gid, &contact_options()).await.unwrap();
        assert_eq!(gcontact::graph_to_record(&g), r, "{name}: Graph -> Graph");

        // a PATCH turns it into the edited record, cleared fields included
        let new = edit(
            &r,
            &[
                ("address.business.city", json!("Potsdam")),
                ("address.home.street", Value::Null),
                ("phone.mobile", Value::Null),
                ("phone.fax", Value::Null),
                ("phone.other", json!("+49 30 999")),
                ("email.1", Value::Null),
                ("email.1.name", Value::Null),
                ("email.2", json!("privat@neu.example")),
                ("email.2.name", Value::Null),
                ("title", json!("Prof.")),
                ("display_name", json!("Neu, Name")),
                ("suffix", Value::Null),
                ("notes", Value::Null),
                ("birthday", Value::Null),
                ("categories", Value::Null),
            ],
        );
        f.graph
            .update_contact(&gid, &gcontact::patch(&r, &new), None)
            .await
            .unwrap();
        let g = f.graph.contact(&gid, &contact_options()).await.unwrap();
        assert_eq!(gcontact::graph_to_record(&g), new, "{name}: after PATCH");
        assert_eq!(
            ews_contact_record(&f, &ews_id).await,
            new,
            "{name}: after PATCH, through EWS"
        );
    }
}

async fn default_list(f: &Fronts) -> String {
    f.graph
        .todo_lists()
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.wellknown_list_name == Some(WellknownListName::DefaultList))
        .and_then(|l| l.id)
        .unwrap()
}

async fn ews_task_record(f: &Fronts, id: &ItemId) -> Record {
    let Item::Task(t) = ews_get(f, id).await else {
        panic!("no task")
    };
    task::ews_to_record(&t)
}

#[tokio::test]
async fn tasks_read_the_same_through_both_fronts() {
    let f = start().await;
    let list = default_list(&f).await;
    for (name, r) in task_records() {
        let carried = without(&r, &gtask::NOT_CARRIED);
        let ews_id = ews_create(&f, D::Tasks, Item::Task(task::record_to_ews(&r)), "A-1").await;
        let gid = graph_id_of(&f, &ews_id).await;
        let g = f.graph.task(&list, &gid).await.unwrap();
        assert_eq!(gtask::graph_to_record(&g), carried, "{name}: EWS -> Graph");

        if r.get("subject").is_none() {
            // To Do requires a title: a task without subject cannot be created through Graph
            assert!(
                f.graph
                    .create_task(&list, &gtask::record_to_graph(&r))
                    .await
                    .is_err()
            );
            continue;
        }
        let created = f
            .graph
            .create_task(&list, &gtask::record_to_graph(&r))
            .await
            .unwrap();
        let gid = created.id.clone().unwrap();
        let ews_id = ews_id_of(&f, &gid).await;
        let through_ews = ews_task_record(&f, &ews_id).await;
        assert_eq!(
            without(&through_ews, &gtask::NOT_CARRIED),
            carried,
            "{name}: Graph -> EWS"
        );
        let g = f.graph.task(&list, &gid).await.unwrap();
        assert_eq!(
            gtask::graph_to_record(&g),
            carried,
            "{name}: Graph -> Graph"
        );

        let new = edit(
            &carried,
            &[
                ("due_date", Value::Null),
                ("start_date", json!("2025-05-01")),
                ("status", json!("completed")),
                ("reminder", Value::Null),
                ("recurrence", Value::Null),
                ("body", Value::Null),
                ("categories", Value::Null),
                ("subject", json!("Erledigt ✓")),
            ],
        );
        f.graph
            .update_task(&list, &gid, &gtask::patch(&carried, &new), None)
            .await
            .unwrap();
        let g = f.graph.task(&list, &gid).await.unwrap();
        assert_eq!(gtask::graph_to_record(&g), new, "{name}: after PATCH");
        let through_ews = ews_task_record(&f, &ews_id).await;
        assert_eq!(
            without(&through_ews, &gtask::NOT_CARRIED),
            new,
            "{name}: after PATCH, through EWS"
        );
        // To Do's status drives Exchange's percent complete
        assert_eq!(through_ews.get("percent_complete"), Some(&json!(100)));
    }
}

fn window() -> Window {
    Window {
        start: DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
        end: DateTime::parse_from_rfc3339("2027-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    }
}

fn event_options() -> ListOptions {
    ListOptions::default().select(&gappt::SELECT)
}

fn instance_options() -> ListOptions {
    ListOptions::default().select(&[
        "type",
        "originalStart",
        "start",
        "end",
        "subject",
        "location",
        "body",
    ])
}

/// The Graph record of an event: the master plus its instances in the window.
async fn graph_event_record(f: &Fronts, gid: &str) -> Record {
    let e = f.graph.event(gid, &event_options()).await.unwrap();
    let instances = if e.recurrence.is_some() {
        f.graph
            .instances(gid, window(), &instance_options())
            .await
            .unwrap()
    } else {
        Vec::new()
    };
    let (r, warnings) = gappt::graph_to_record(&e, &instances);
    assert!(warnings.is_empty(), "{warnings:?}");
    r
}

/// The EWS record of a calendar item with its exception items.
async fn ews_event_record(f: &Fronts, id: &ItemId) -> Record {
    let Item::CalendarItem(master) = ews_get(f, id).await else {
        panic!("no calendar item")
    };
    let mut exceptions: Vec<CalendarItem> = Vec::new();
    for o in &master.modified_occurrences {
        if let Item::CalendarItem(x) = ews_get(f, &o.item_id).await {
            exceptions.push(x);
        }
    }
    appointment::ews_to_record_with_exceptions(&master, &exceptions)
}

/// Applies `new`'s exceptions to the series `gid` (created from `old`) through Graph.
async fn write_occurrences(f: &Fronts, gid: &str, old: &Record, new: &Record) {
    let instances = f
        .graph
        .instances(gid, window(), &ListOptions::default())
        .await
        .unwrap();
    for w in gappt::occurrence_writes(old, new, &instances) {
        match w {
            OccurrenceWrite::Delete { id } => f.graph.delete_event(&id, None).await.unwrap(),
            OccurrenceWrite::Patch { id, body } => {
                f.graph.update_event(&id, &body, None).await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn appointments_read_the_same_through_both_fronts() {
    let f = start().await;
    for (name, r) in appointment_records() {
        let plain = without(&r, &EXCEPTIONS);
        // EWS creates the master, Graph writes the exceptions, both read
        let ews_id = ews_create(
            &f,
            D::Calendar,
            Item::CalendarItem(appointment::record_to_ews(&plain)),
            "T-1",
        )
        .await;
        let gid = graph_id_of(&f, &ews_id).await;
        assert_eq!(
            graph_event_record(&f, &gid).await,
            plain,
            "{name}: EWS -> Graph"
        );
        if r != plain {
            write_occurrences(&f, &gid, &plain, &r).await;
            assert_eq!(
                ews_event_record(&f, &ews_id).await,
                r,
                "{name}: exceptions through Graph, read through EWS"
            );
            assert_eq!(
                graph_event_record(&f, &gid).await,
                r,
                "{name}: exceptions through Graph, read through Graph"
            );
        }

        // Graph creates, EWS reads
        let created = f
            .graph
            .create_event(None, &gappt::record_to_graph(&plain))
            .await
            .unwrap();
        let gid = created.id.clone().unwrap();
        if r != plain {
            write_occurrences(&f, &gid, &plain, &r).await;
        }
        let ews_id = ews_id_of(&f, &gid).await;
        assert_eq!(
            ews_event_record(&f, &ews_id).await,
            r,
            "{name}: Graph -> EWS"
        );
        assert_eq!(
            graph_event_record(&f, &gid).await,
            r,
            "{name}: Graph -> Graph"
        );

        // a PATCH of the master (its texts only where no exception has copies of them:
        // an exception keeps the texts it had, through either front)
        let texts = if r.get("recurrence.modified").is_some() {
            r.clone()
        } else {
            edit(
                &r,
                &[
                    ("subject", json!("Verschoben")),
                    ("location", Value::Null),
                    ("body", Value::Null),
                ],
            )
        };
        let new = edit(
            &texts,
            &[
                ("categories", Value::Null),
                ("reminder_minutes", json!(30)),
                ("busy_status", json!("tentative")),
                ("sensitivity", json!("personal")),
                (
                    "attendees",
                    json!([{"address": "neu@kunde.example", "role": "optional", "response": "unknown"}]),
                ),
            ],
        );
        f.graph
            .update_event(&gid, &gappt::patch(&r, &new), None)
            .await
            .unwrap();
        assert_eq!(
            ews_event_record(&f, &ews_id).await,
            new,
            "{name}: after PATCH, through EWS"
        );
        assert_eq!(
            graph_event_record(&f, &gid).await,
            new,
            "{name}: after PATCH, through Graph"
        );
    }
}

#[tokio::test]
async fn a_series_times_and_recurrence_change_and_become_single_through_patch() {
    let f = start().await;
    let (_, r) = appointment_records()
        .into_iter()
        .find(|(n, _)| n.starts_with("series: weekly"))
        .unwrap();
    let created = f
        .graph
        .create_event(None, &gappt::record_to_graph(&r))
        .await
        .unwrap();
    let gid = created.id.unwrap();
    assert_eq!(graph_event_record(&f, &gid).await, r);
    let mut moved = r.clone();
    moved
        .fields
        .insert("start".into(), json!("2025-03-10T10:00:00Z"));
    moved
        .fields
        .insert("end".into(), json!("2025-03-10T12:00:00Z"));
    moved.fields.insert("end_tz".into(), json!("Europe/London"));
    f.graph
        .update_event(&gid, &gappt::patch(&r, &moved), None)
        .await
        .unwrap();
    assert_eq!(graph_event_record(&f, &gid).await, moved);
    let ews_id = ews_id_of(&f, &gid).await;
    assert_eq!(ews_event_record(&f, &ews_id).await, moved);
    let single = without(&moved, &["recurrence"]);
    f.graph
        .update_event(&gid, &gappt::patch(&moved, &single), None)
        .await
        .unwrap();
    assert_eq!(graph_event_record(&f, &gid).await, single);
    assert_eq!(ews_event_record(&f, &ews_id).await, single);
}

#[test]
fn occurrence_writes_match_instances_by_original_start() {
    let (_, r) = appointment_records()
        .into_iter()
        .find(|(n, _)| n.starts_with("series in Vienna"))
        .unwrap();
    let plain = without(&r, &EXCEPTIONS);
    let inst = |id: &str, at: &str| Event {
        id: Some(id.into()),
        original_start: Some(
            DateTime::parse_from_rfc3339(at)
                .unwrap()
                .with_timezone(&Utc),
        ),
        ..Event::default()
    };
    let instances = [
        inst("o1", "2025-03-17T09:00:00Z"),
        inst("o2", "2025-03-24T09:00:00Z"),
        inst("o3", "2025-03-31T08:00:00Z"),
        // 2025-04-07 is outside the window: nothing to write
    ];
    let writes = gappt::occurrence_writes(&plain, &r, &instances);
    let ids: Vec<String> = writes
        .iter()
        .map(|w| match w {
            OccurrenceWrite::Delete { id } => format!("delete {id}"),
            OccurrenceWrite::Patch { id, .. } => format!("patch {id}"),
        })
        .collect();
    assert_eq!(ids, ["delete o3", "patch o1", "patch o2"]);
    let OccurrenceWrite::Patch { body, .. } = &writes[2] else {
        panic!()
    };
    assert_eq!(body["subject"], "Weekly (verschoben)");
    assert_eq!(
        body["start"],
        json!({"dateTime": "2025-03-25T14:00:00.0000000", "timeZone": "W. Europe Standard Time"})
    );
    assert!(gappt::occurrence_writes(&r, &r, &instances).is_empty());
}
