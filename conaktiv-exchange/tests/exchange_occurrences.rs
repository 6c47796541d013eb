//! Calendar series exceptions through the Exchange side, against ews-mock over HTTP: deleted
//! and modified occurrences written from the CRM (`DeleteItem`/`UpdateItem` on
//! `OccurrenceItemId`), read back into the same record, changed in Exchange and carried to
//! the CRM, and stable engine runs.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use conaktiv_exchange::exchange::occurrences::instance_index;
use conaktiv_exchange::exchange::{ExchangeSide, ExchangeSideConfig, ExchangeTable};
use conaktiv_exchange::mapping::appointment::{self, fields};
use conaktiv_model::appointment::Appointment;
use conaktiv_model::config::SyncFolder;
use conaktiv_model::recurrence::{
    ModifiedOccurrence, Recurrence, RecurrenceEnd, RecurrencePattern,
};
use conaktiv_model::values::FolderPath;
use ews_client::Client;
use ews_client::ops::{FindItem, ItemView, UpdateItem, field_change};
use ews_client::types::base_item_id::BaseItemId;
use ews_client::types::calendar::CalendarItemType;
use ews_client::types::shape::{CalendarView, ItemShape};
use ews_client::types::{BaseFolderId, CalendarItem, FolderId, Item, PropertyPath};
use ews_mock::{Fault, FaultRule, MockHandle};
use sync_core::memory::{Feed, MemorySide};
use sync_core::{
    Engine, MemoryStore, Policy, Record, Side, Timestamp, WriteOp, WriteOutcome, WriteResult,
};

const BOB: &str = "bob@contoso.test";

const ORG: &str = r#"
[[users]]
address = "svc-crm@contoso.test"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "bob@contoso.test"
password = "bob-pw"

[[mailboxes]]
owner = "bob@contoso.test"
folders = [{ path = "calendar/Termine" }]
"#;

async fn start() -> (MockHandle, Client) {
    common::mock_and_client(ORG, "svc-crm@contoso.test", "svc-pw").await
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn side(client: &Client) -> ExchangeSide {
    let config = ExchangeSideConfig::new(
        ExchangeTable::Appointments,
        vec![SyncFolder::new(
            FolderPath::new("/Calendar/Termine").unwrap(),
            conaktiv_model::Subfolders::Excluded,
        )],
    );
    ExchangeSide::new(client, BOB, config).unwrap()
}

/// Mondays 09:00 Europe/Berlin from 16 March 2026 (summer time from 29 March), six
/// occurrences; the second deleted, the third moved to 14:00 with its own subject.
fn series() -> Appointment {
    Appointment {
        subject: "Jour fixe".into(),
        location: "Raum 1".into(),
        body: "Agenda".into(),
        start: t("2026-03-16T08:00:00Z"),
        end: t("2026-03-16T09:00:00Z"),
        start_time_zone: "Europe/Berlin".into(),
        end_time_zone: "Europe/Berlin".into(),
        recurrence: Some(Recurrence {
            deleted_occurrences: vec![d("2026-03-23")],
            modified_occurrences: vec![ModifiedOccurrence {
                original_start: t("2026-03-30T07:00:00Z"),
                start: t("2026-03-30T12:00:00Z"),
                end: t("2026-03-30T13:00:00Z"),
                subject: Some("Jour fixe (verschoben)".into()),
                location: None,
                body: None,
            }],
            end: RecurrenceEnd::AfterOccurrences(6),
            ..Recurrence::new(
                RecurrencePattern::Weekly {
                    interval: 1,
                    days: vec![Weekday::Mon],
                    first_day_of_week: Weekday::Mon,
                },
                d("2026-03-16"),
            )
        }),
        ..Appointment::default()
    }
}

/// The calendar view of the folder from March to May: (start, type, subject) per occurrence.
async fn view(client: &Client, folder: &str) -> Vec<(String, Option<CalendarItemType>, String)> {
    let mut find = FindItem::new(
        BaseFolderId::from(FolderId::new(folder)),
        ItemShape::all_properties(),
        100,
    );
    find.view = Some(ItemView::Calendar(CalendarView {
        max_entries_returned: None,
        start_date: t("2026-03-01T00:00:00Z"),
        end_date: t("2026-05-01T00:00:00Z"),
    }));
    let response = client.for_mailbox(BOB).execute(&find).await.unwrap();
    let page = response.into_results().remove(0).unwrap();
    page.items
        .iter()
        .map(|i| {
            let Item::CalendarItem(c) = i else {
                panic!("{i:?}")
            };
            (
                c.start.unwrap().format("%m-%d %H:%M").to_string(),
                c.calendar_item_type,
                c.common.subject.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn row(
    start: &str,
    kind: CalendarItemType,
    subject: &str,
) -> (String, Option<CalendarItemType>, String) {
    (start.to_owned(), Some(kind), subject.to_owned())
}

/// The single CRM record and its id.
fn crm_record(crm: &MemorySide) -> (String, Record) {
    let ids = crm.in_scope();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let item = crm.get(&ids[0]).unwrap();
    (ids[0].clone(), item.record.clone())
}

/// A user editing the CRM record (a write to the in-memory CRM, bumping its version).
async fn crm_edit(crm: &mut MemorySide, id: &str, record: Record) {
    let item = crm.get(id).unwrap();
    let op = WriteOp::Update {
        id: id.to_owned(),
        expected: item.version.to_string(),
        record,
        key: item.key.clone().unwrap_or_default(),
    };
    let out = crm.write(vec![op]).await.unwrap();
    assert!(matches!(out[0], WriteOutcome::Done { .. }), "{out:?}");
}

/// The Exchange side's records (full listing and fetch).
async fn exchange_records(exchange: &mut ExchangeSide) -> Vec<(String, Record)> {
    let listing = exchange.list().await.unwrap();
    let ids: Vec<String> = listing.entries.iter().map(|e| e.id.clone()).collect();
    exchange.fetch(&ids).await.unwrap()
}

#[tokio::test]
async fn series_exceptions_go_both_ways_and_runs_are_stable() {
    let (mock, client) = start().await;
    let mut exchange = side(&client);
    let folder = exchange.new_items_folder_id().await.unwrap();
    let mut crm = MemorySide::new("crm-", Feed::FullListing);
    let appointment = series();
    let record = appointment::crm_to_record(&appointment);
    crm.insert(record.clone());
    let mut store = MemoryStore::new();
    let engine = Engine::new(Policy::default()).unwrap();

    // 1. Created from the CRM: the deleted occurrence is absent, the modified one at its
    //    new time with its subject.
    let (_, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(1),
        )
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.counts.remote.new, 1);
    use CalendarItemType::{Exception, Occurrence};
    assert_eq!(
        view(&client, &folder).await,
        [
            row("03-16 08:00", Occurrence, "Jour fixe"),
            row("03-30 12:00", Exception, "Jour fixe (verschoben)"),
            row("04-06 07:00", Occurrence, "Jour fixe"),
            row("04-13 07:00", Occurrence, "Jour fixe"),
            row("04-20 07:00", Occurrence, "Jour fixe"),
        ]
    );
    // Read back, the series is the CRM's record.
    let back = exchange_records(&mut exchange).await;
    assert_eq!(back.len(), 1);
    let mut without_key = back[0].1.clone();
    without_key.fields.remove("id");
    assert_eq!(without_key.fields, record.fields);

    // 2. A second run writes nothing.
    let (plan, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(2),
        )
        .await
        .unwrap();
    assert!(plan.items.is_empty(), "{:?}", plan.items);
    assert!(report.is_complete());

    // 3. Another occurrence deleted in the CRM reaches Exchange.
    let (crm_id, _) = crm_record(&crm);
    let mut edited = appointment.clone();
    if let Some(r) = edited.recurrence.as_mut() {
        r.deleted_occurrences.push(d("2026-04-13"));
    }
    let mut edited_record = appointment::crm_to_record(&edited);
    if let Some(k) = crm.get(&crm_id).unwrap().record.get("id") {
        edited_record.fields.insert("id".into(), k.clone());
    }
    crm_edit(&mut crm, &crm_id, edited_record).await;
    let (plan, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(3),
        )
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(plan.counts.remote.changed, 1, "{:?}", plan.items);
    assert_eq!(
        view(&client, &folder).await,
        [
            row("03-16 08:00", Occurrence, "Jour fixe"),
            row("03-30 12:00", Exception, "Jour fixe (verschoben)"),
            row("04-06 07:00", Occurrence, "Jour fixe"),
            row("04-20 07:00", Occurrence, "Jour fixe"),
        ]
    );
    let (plan, _) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(4),
        )
        .await
        .unwrap();
    assert!(plan.items.is_empty(), "{:?}", plan.items);

    // 4. An occurrence changed in Exchange (UpdateItem on its OccurrenceItemId: the 4th of
    //    the series, 6 April) reaches the CRM.
    let master = back[0].0.clone();
    let mut changed = CalendarItem {
        start: Some(t("2026-04-06T09:00:00Z")),
        end: Some(t("2026-04-06T10:00:00Z")),
        location: Some("Raum 2".into()),
        ..CalendarItem::default()
    };
    changed.common.subject = Some("Jour fixe (Budget)".into());
    let changed = Item::CalendarItem(changed);
    let update = UpdateItem::for_item(
        &changed,
        BaseItemId::Occurrence {
            recurring_master_id: master,
            change_key: None,
            instance_index: 4,
        },
        [
            "item:Subject",
            "calendar:Location",
            "calendar:Start",
            "calendar:End",
        ]
        .iter()
        .map(|p| field_change(&changed, &PropertyPath::field(*p))),
    );
    let response = client.for_mailbox(BOB).execute(&update).await.unwrap();
    assert!(response.into_results().remove(0).is_ok());
    let (plan, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(5),
        )
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(plan.counts.local.changed, 1, "{:?}", plan.items);
    let (_, now) = crm_record(&crm);
    let modified = now.get(fields::MODIFIED_OCCURRENCES).unwrap();
    let budget = modified
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m.get("subject").and_then(|s| s.as_str()) == Some("Jour fixe (Budget)"))
        .unwrap_or_else(|| panic!("{modified:?}"));
    assert_eq!(
        budget.get("location").and_then(|s| s.as_str()),
        Some("Raum 2")
    );
    assert_eq!(modified.as_array().unwrap().len(), 2, "{modified:?}");
    // The CRM record is what Exchange holds, and nothing moves any more.
    let back = exchange_records(&mut exchange).await;
    let mut without_key = back[0].1.clone();
    without_key.fields.remove("id");
    let mut crm_now = now.clone();
    crm_now.fields.remove("id");
    assert_eq!(without_key.fields, crm_now.fields);
    mock.clear_log();
    let (plan, _) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(6),
        )
        .await
        .unwrap();
    assert!(plan.items.is_empty(), "{:?}", plan.items);
    let writes: u64 = mock
        .request_counts()
        .iter()
        .filter(|(op, _)| ["CreateItem", "UpdateItem", "DeleteItem"].contains(&op.as_str()))
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(writes, 0);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_exception_that_cannot_be_written_is_reported() {
    let (mock, client) = start().await;
    let mut exchange = side(&client);
    // 24 March is a Tuesday: no occurrence of the Monday series to delete.
    let mut bad = series();
    if let Some(r) = bad.recurrence.as_mut() {
        r.deleted_occurrences = vec![d("2026-03-24")];
        r.modified_occurrences.clear();
    }
    let out = exchange
        .write(vec![WriteOp::Create {
            record: appointment::crm_to_record(&bad),
            key: "K-1".into(),
        }])
        .await
        .unwrap();
    match &out[0] {
        WriteOutcome::Unknown(msg) => assert!(msg.contains("exceptions"), "{msg}"),
        other => panic!("expected Unknown, got {other:?}"),
    }
    mock.shutdown().await.unwrap();
}

/// `InstanceIndex` as Exchange numbers occurrences: 1-based in the pattern, deleted ones
/// counted; `None` off the pattern or past the end.
#[test]
fn instance_indexes_follow_the_pattern() {
    let record = appointment::crm_to_record(&series());
    let cases = [
        ("2026-03-16T08:00:00Z", Some(1)),
        ("2026-03-23T08:00:00Z", Some(2)), // deleted, still counted
        ("2026-03-30T07:00:00Z", Some(3)), // summer time: 09:00 local
        ("2026-04-20T07:00:00Z", Some(6)),
        ("2026-04-27T07:00:00Z", None), // after six occurrences
        ("2026-03-24T08:00:00Z", None), // a Tuesday
        ("2026-03-09T08:00:00Z", None), // before the start
    ];
    for (start, expected) in cases {
        assert_eq!(instance_index(&record, t(start)), expected, "{start}");
    }
}

/// A series whose third occurrence only moved (no texts of its own), second deleted.
fn moved_only() -> Appointment {
    let mut a = series();
    if let Some(r) = a.recurrence.as_mut() {
        r.modified_occurrences[0].subject = None;
    }
    a
}

/// One engine run that must complete; its plan's (remote changed, local changed) counts.
async fn run(
    engine: &Engine,
    crm: &mut MemorySide,
    exchange: &mut ExchangeSide,
    store: &mut MemoryStore,
    n: u64,
) -> (usize, usize) {
    let (plan, report) = engine
        .run(crm, exchange, store, Timestamp::from_unix_secs(n))
        .await
        .unwrap();
    assert!(report.is_complete(), "run {n}: {report:?}");
    (plan.counts.remote.changed, plan.counts.local.changed)
}

/// The CRM record of an edited appointment, keeping the stored key.
fn edited_record(crm: &MemorySide, id: &str, a: &Appointment) -> Record {
    let mut r = appointment::crm_to_record(a);
    if let Some(k) = crm.get(id).unwrap().record.get("id") {
        r.fields.insert("id".into(), k.clone());
    }
    r
}

#[tokio::test]
async fn renaming_or_reshaping_a_series_writes_its_exceptions_again() {
    let (mock, client) = start().await;
    let mut exchange = side(&client);
    let folder = exchange.new_items_folder_id().await.unwrap();
    let mut crm = MemorySide::new("crm-", Feed::FullListing);
    let mut a = moved_only();
    crm.insert(appointment::crm_to_record(&a));
    let mut store = MemoryStore::new();
    let engine = Engine::new(Policy::default()).unwrap();
    run(&engine, &mut crm, &mut exchange, &mut store, 1).await;
    let (id, _) = crm_record(&crm);
    use CalendarItemType::{Exception, Occurrence};

    // Renamed in the CRM: the moved occurrence (no subject of its own) follows.
    a.subject = "Jour fixe neu".into();
    let r = edited_record(&crm, &id, &a);
    crm_edit(&mut crm, &id, r).await;
    assert_eq!(
        run(&engine, &mut crm, &mut exchange, &mut store, 2).await,
        (1, 0)
    );
    assert_eq!(
        view(&client, &folder).await[..2],
        [
            row("03-16 08:00", Occurrence, "Jour fixe neu"),
            row("03-30 12:00", Exception, "Jour fixe neu"),
        ]
    );
    assert_eq!(
        run(&engine, &mut crm, &mut exchange, &mut store, 3).await,
        (0, 0)
    );

    // Eight occurrences instead of six: Exchange drops the exceptions, they are written again.
    if let Some(r) = a.recurrence.as_mut() {
        r.end = RecurrenceEnd::AfterOccurrences(8);
    }
    let r = edited_record(&crm, &id, &a);
    crm_edit(&mut crm, &id, r).await;
    assert_eq!(
        run(&engine, &mut crm, &mut exchange, &mut store, 4).await,
        (1, 0)
    );
    let v = view(&client, &folder).await;
    assert_eq!(v.len(), 6, "{v:?}"); // eight up to 4 May, minus the deleted one, until May
    assert_eq!(v[1], row("03-30 12:00", Exception, "Jour fixe neu"));
    assert!(!v.iter().any(|r| r.0 == "03-23 08:00"), "{v:?}");
    assert_eq!(
        run(&engine, &mut crm, &mut exchange, &mut store, 5).await,
        (0, 0)
    );
    let (_, now) = crm_record(&crm);
    let mut crm_now = now.clone();
    crm_now.fields.remove("id");
    assert_eq!(crm_now, appointment::crm_to_record(&a));
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_failed_exception_write_is_retried_by_the_next_run() {
    let (mock, client) = start().await;
    let mut exchange = side(&client);
    let folder = exchange.new_items_folder_id().await.unwrap();
    let mut crm = MemorySide::new("crm-", Feed::FullListing);
    let mut a = series();
    crm.insert(appointment::crm_to_record(&a));
    let mut store = MemoryStore::new();
    let engine = Engine::new(Policy::default()).unwrap();
    run(&engine, &mut crm, &mut exchange, &mut store, 1).await;
    let (id, _) = crm_record(&crm);

    // The CRM deletes 13 April; Exchange drops the connection on every DeleteItem.
    if let Some(r) = a.recurrence.as_mut() {
        r.deleted_occurrences.push(d("2026-04-13"));
    }
    let r = edited_record(&crm, &id, &a);
    crm_edit(&mut crm, &id, r).await;
    mock.add_fault(
        FaultRule::always(Fault::DropBeforeProcessing)
            .for_operation("DeleteItem")
            .times(20),
    );
    let (_, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(2),
        )
        .await
        .unwrap();
    assert!(!report.is_complete(), "{report:?}");
    let remote: Vec<_> = report
        .items
        .iter()
        .filter_map(|i| i.remote.clone())
        .collect();
    assert!(
        matches!(&remote[..], [WriteResult::Failed(m)] if m.contains("exceptions")),
        "{remote:?}"
    );
    assert!(
        view(&client, &folder)
            .await
            .iter()
            .any(|r| r.0 == "04-13 07:00")
    );

    // Exchange is back: the next run writes the deletion, the one after nothing.
    mock.clear_faults();
    let (remote, local) = run(&engine, &mut crm, &mut exchange, &mut store, 3).await;
    assert_eq!(local, 0);
    assert_eq!(remote, 1);
    assert!(
        !view(&client, &folder)
            .await
            .iter()
            .any(|r| r.0 == "04-13 07:00")
    );
    assert_eq!(
        run(&engine, &mut crm, &mut exchange, &mut store, 4).await,
        (0, 0)
    );
    let (_, now) = crm_record(&crm);
    assert_eq!(
        now.get(fields::DELETED_OCCURRENCES),
        appointment::crm_to_record(&a).get(fields::DELETED_OCCURRENCES)
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_created_series_whose_exceptions_failed_is_repaired_by_the_next_run() {
    let (mock, client) = start().await;
    let mut exchange = side(&client);
    let folder = exchange.new_items_folder_id().await.unwrap();
    let mut crm = MemorySide::new("crm-", Feed::FullListing);
    crm.insert(appointment::crm_to_record(&series()));
    let mut store = MemoryStore::new();
    let engine = Engine::new(Policy::default()).unwrap();
    mock.add_fault(
        FaultRule::always(Fault::DropBeforeProcessing)
            .for_operation("DeleteItem")
            .times(20),
    );
    let (_, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(1),
        )
        .await
        .unwrap();
    let remote: Vec<_> = report
        .items
        .iter()
        .filter_map(|i| i.remote.clone())
        .collect();
    assert!(
        matches!(&remote[..], [WriteResult::Unknown(m)] if m.contains("exceptions")),
        "{remote:?}"
    );
    mock.clear_faults();
    // The next run re-pairs the series by its key (no second copy) and writes the exceptions.
    let (plan, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(2),
        )
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(plan.counts.remote.new, 0);
    let v = view(&client, &folder).await;
    assert_eq!(v.len(), 5, "{v:?}");
    assert!(!v.iter().any(|r| r.0 == "03-23 08:00"), "{v:?}");
    assert_eq!(
        run(&engine, &mut crm, &mut exchange, &mut store, 3).await,
        (0, 0)
    );
    let (_, now) = crm_record(&crm);
    let mut crm_now = now.clone();
    crm_now.fields.remove("id");
    assert_eq!(crm_now, appointment::crm_to_record(&series()));
    mock.shutdown().await.unwrap();
}
