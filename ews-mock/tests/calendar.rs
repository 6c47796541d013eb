//! Recurring series in CalendarView: expansion, deleted and modified occurrences, occurrence
//! ids; over HTTP with `ews-client`'s types, responses validated against the schema.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use common::*;
use ews_client::ops::{
    CreateItem, DeleteItem, DisposalType, FindItem, GetItem, ItemView, UpdateItem, field_change,
};
use ews_client::types::base_item_id::BaseItemId;
use ews_client::types::calendar::CalendarItemType;
use ews_client::types::recurrence::DayOfWeek;
use ews_client::types::shape::{CalendarView, ItemShape};
use ews_client::types::{
    BaseFolderId, CalendarItem, DistinguishedFolderName as D, Item, PropertyPath, Recurrence,
    RecurrencePattern, RecurrenceRange,
};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn view_request() -> FindItem {
    let mut find = FindItem::new(
        BaseFolderId::from(D::Calendar),
        ItemShape::all_properties(),
        100,
    );
    find.view = Some(ItemView::Calendar(CalendarView {
        max_entries_returned: None,
        start_date: t("2026-01-01T00:00:00Z"),
        end_date: t("2026-02-01T00:00:00Z"),
    }));
    find
}

fn starts(items: &[Item]) -> Vec<(String, Option<CalendarItemType>)> {
    items
        .iter()
        .map(|i| match i {
            Item::CalendarItem(c) => (
                c.start.unwrap().format("%m-%d %H:%M").to_string(),
                c.calendar_item_type,
            ),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn calendar_view_expands_series_with_deleted_and_modified_occurrences() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let mut series = CalendarItem {
        start: Some(t("2026-01-05T09:00:00Z")),
        end: Some(t("2026-01-05T10:00:00Z")),
        recurrence: Some(Recurrence {
            pattern: RecurrencePattern::Weekly {
                interval: 1,
                days_of_week: vec![DayOfWeek::Monday, DayOfWeek::Wednesday],
                first_day_of_week: None,
            },
            range: RecurrenceRange::Numbered {
                start_date: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
                number_of_occurrences: 4,
            },
        }),
        ..CalendarItem::default()
    };
    series.common.subject = Some("Standup".into());
    let mut single = CalendarItem {
        start: Some(t("2026-01-08T15:00:00Z")),
        end: Some(t("2026-01-08T16:00:00Z")),
        ..CalendarItem::default()
    };
    single.common.subject = Some("Review".into());
    let outside = CalendarItem {
        start: Some(t("2026-03-01T15:00:00Z")),
        end: Some(t("2026-03-01T16:00:00Z")),
        ..CalendarItem::default()
    };
    let created = ews
        .call(&CreateItem::save(
            vec![
                Item::CalendarItem(series),
                Item::CalendarItem(single),
                Item::CalendarItem(outside),
            ],
            None,
        ))
        .await;
    assert_eq!(codes(&created), ["NoError", "NoError", "NoError"]);
    let master_id = created.messages[0].content.items[0]
        .item_id()
        .unwrap()
        .clone();

    let view = ews.call(&view_request()).await.messages.remove(0).content;
    use CalendarItemType::{Exception, Occurrence};
    assert_eq!(
        starts(&view.items),
        [
            ("01-05 09:00".into(), Some(Occurrence)),
            ("01-07 09:00".into(), Some(Occurrence)),
            ("01-08 15:00".into(), None),
            ("01-12 09:00".into(), Some(Occurrence)),
            ("01-14 09:00".into(), Some(Occurrence)),
        ]
    );
    let second = view.items[1].item_id().unwrap().clone();
    let third = view.items[3].item_id().unwrap().clone();
    assert_ne!(second.id, master_id.id);

    // delete the second occurrence, move the third
    assert_eq!(
        codes(
            &ews.call(&DeleteItem::new(
                DisposalType::HardDelete,
                vec![second.clone()]
            ))
            .await
        ),
        ["NoError"]
    );
    let mut moved = view.items[3].clone();
    if let Item::CalendarItem(c) = &mut moved {
        c.start = Some(t("2026-01-12T13:00:00Z"));
        c.end = Some(t("2026-01-12T14:00:00Z"));
    }
    let update = UpdateItem::for_item(
        &moved,
        third.clone(),
        vec![
            field_change(&moved, &PropertyPath::field("calendar:Start")),
            field_change(&moved, &PropertyPath::field("calendar:End")),
        ],
    );
    // the delete changed the master, so the occurrence's change key from before is stale
    assert_eq!(
        codes(&ews.call(&update).await),
        ["ErrorIrresolvableConflict"]
    );
    let fresh = ews.call(&view_request()).await.messages.remove(0).content;
    let third = fresh.items[2].item_id().unwrap().clone();
    let update = UpdateItem::for_item(
        &moved,
        third.clone(),
        vec![
            field_change(&moved, &PropertyPath::field("calendar:Start")),
            field_change(&moved, &PropertyPath::field("calendar:End")),
        ],
    );
    assert_eq!(codes(&ews.call(&update).await), ["NoError"]);

    let view = ews.call(&view_request()).await.messages.remove(0).content;
    assert_eq!(
        starts(&view.items),
        [
            ("01-05 09:00".into(), Some(Occurrence)),
            ("01-08 15:00".into(), None),
            ("01-12 13:00".into(), Some(Exception)),
            ("01-14 09:00".into(), Some(Occurrence)),
        ]
    );

    // occurrences by master id and index
    let by_index = |i: u32| BaseItemId::Occurrence {
        recurring_master_id: master_id.id.clone(),
        change_key: None,
        instance_index: i,
    };
    let got = ews
        .call(&GetItem::new(
            ItemShape::all_properties(),
            vec![by_index(4), by_index(2), by_index(9)],
        ))
        .await;
    assert_eq!(
        codes(&got),
        [
            "NoError",
            "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
            "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"
        ]
    );
    let Item::CalendarItem(fourth) = &got.messages[0].content.items[0] else {
        panic!()
    };
    assert_eq!(fourth.start, Some(t("2026-01-14T09:00:00Z")));
    assert_eq!(fourth.common.subject.as_deref(), Some("Standup"));
    // the master keeps its series with the exceptions
    let master = ews
        .call(&GetItem::new(ItemShape::all_properties(), vec![master_id]))
        .await;
    let Item::CalendarItem(m) = &master.messages[0].content.items[0] else {
        panic!()
    };
    assert_eq!(m.deleted_occurrences, [t("2026-01-07T09:00:00Z")]);
    assert_eq!(m.modified_occurrences.len(), 1);
    ews.validate();
    mock.shutdown().await.unwrap();
}
