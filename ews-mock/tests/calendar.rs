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

fn view_between(from: &str, to: &str) -> FindItem {
    let mut find = view_request();
    find.view = Some(ItemView::Calendar(CalendarView {
        max_entries_returned: None,
        start_date: t(from),
        end_date: t(to),
    }));
    find
}

fn calendar(item: &Item) -> &CalendarItem {
    match item {
        Item::CalendarItem(c) => c,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn series_in_a_time_zone_and_occurrences_with_their_own_fields() {
    use ews_client::types::Body;
    use ews_client::types::timezone::TimeZoneDefinition;
    let mock = start().await;
    let ews = Ews::bob(&mock);
    // Mondays 09:00 Europe/Berlin; daylight saving starts on 29 March 2026
    let mut series = CalendarItem {
        start: Some(t("2026-03-16T08:00:00Z")),
        end: Some(t("2026-03-16T09:00:00Z")),
        start_time_zone: Some(TimeZoneDefinition::windows("W. Europe Standard Time")),
        end_time_zone: Some(TimeZoneDefinition::windows("W. Europe Standard Time")),
        location: Some("Raum 1".into()),
        recurrence: Some(Recurrence {
            pattern: RecurrencePattern::Weekly {
                interval: 1,
                days_of_week: vec![DayOfWeek::Monday],
                first_day_of_week: None,
            },
            range: RecurrenceRange::Numbered {
                start_date: NaiveDate::from_ymd_opt(2026, 3, 16).unwrap(),
                number_of_occurrences: 4,
            },
        }),
        ..CalendarItem::default()
    };
    series.common.subject = Some("Jour fixe".into());
    series.common.body = Some(Body::text("Agenda"));
    let created = ews
        .call(&CreateItem::save(vec![Item::CalendarItem(series)], None))
        .await;
    assert_eq!(codes(&created), ["NoError"]);
    let master_id = created.messages[0].content.items[0]
        .item_id()
        .unwrap()
        .clone();
    let window = || view_between("2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let view = ews.call(&window()).await.messages.remove(0).content;
    use CalendarItemType::{Exception, Occurrence};
    assert_eq!(
        starts(&view.items),
        [
            ("03-16 08:00".into(), Some(Occurrence)),
            ("03-23 08:00".into(), Some(Occurrence)),
            ("03-30 07:00".into(), Some(Occurrence)),
            ("04-06 07:00".into(), Some(Occurrence)),
        ],
        "09:00 local before and after the change to summer time"
    );

    // change the second occurrence (by master id and index): subject, location, body, time
    let by_index = |i: u32| BaseItemId::Occurrence {
        recurring_master_id: master_id.id.clone(),
        change_key: None,
        instance_index: i,
    };
    let mut changed = view.items[1].clone();
    if let Item::CalendarItem(c) = &mut changed {
        c.common.subject = Some("Jour fixe (verschoben)".into());
        c.common.body = Some(Body::text("Nur Budget"));
        c.location = Some("Raum 2".into());
        c.start = Some(t("2026-03-23T13:00:00Z"));
        c.end = Some(t("2026-03-23T14:00:00Z"));
    }
    let paths = [
        "item:Subject",
        "item:Body",
        "calendar:Location",
        "calendar:Start",
        "calendar:End",
    ];
    let update = UpdateItem::for_item(
        &changed,
        by_index(2),
        paths
            .iter()
            .map(|p| field_change(&changed, &PropertyPath::field(*p))),
    );
    assert_eq!(codes(&ews.call(&update).await), ["NoError"]);
    // a second change to the exception keeps the first one's fields
    let mut again = changed.clone();
    if let Item::CalendarItem(c) = &mut again {
        c.location = Some("Raum 3".into());
    }
    let update = UpdateItem::for_item(
        &again,
        by_index(2),
        vec![field_change(
            &again,
            &PropertyPath::field("calendar:Location"),
        )],
    );
    assert_eq!(codes(&ews.call(&update).await), ["NoError"]);

    let got = ews
        .call(&GetItem::new(
            ItemShape::all_properties(),
            vec![by_index(2), by_index(3)],
        ))
        .await;
    assert_eq!(codes(&got), ["NoError", "NoError"]);
    let second = calendar(&got.messages[0].content.items[0]);
    assert_eq!(second.calendar_item_type, Some(Exception));
    assert_eq!(
        second.common.subject.as_deref(),
        Some("Jour fixe (verschoben)")
    );
    assert_eq!(second.location.as_deref(), Some("Raum 3"));
    assert_eq!(
        second.common.body.as_ref().map(|b| b.content.as_str()),
        Some("Nur Budget")
    );
    assert_eq!(second.start, Some(t("2026-03-23T13:00:00Z")));
    assert_eq!(second.original_start, Some(t("2026-03-23T08:00:00Z")));
    let third = calendar(&got.messages[1].content.items[0]);
    assert_eq!(third.common.subject.as_deref(), Some("Jour fixe"));
    assert_eq!(third.location.as_deref(), Some("Raum 1"));
    assert_eq!(third.start, Some(t("2026-03-30T07:00:00Z")));

    // the calendar view shows the exception with its fields
    let view = ews.call(&window()).await.messages.remove(0).content;
    let subjects: Vec<_> = view
        .items
        .iter()
        .map(|i| calendar(i).common.subject.clone().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [
            "Jour fixe",
            "Jour fixe (verschoben)",
            "Jour fixe",
            "Jour fixe"
        ]
    );
    assert_eq!(
        starts(&view.items)[1],
        ("03-23 13:00".into(), Some(Exception))
    );

    // RecurringMasterItemId names the series of an occurrence; the master is unchanged and
    // lists the modified occurrence
    let occurrence_id = view.items[2].item_id().unwrap().clone();
    let master = ews
        .call(&GetItem::new(
            ItemShape::all_properties(),
            vec![BaseItemId::RecurringMaster {
                occurrence_id: occurrence_id.id.clone(),
                change_key: None,
            }],
        ))
        .await;
    assert_eq!(codes(&master), ["NoError"]);
    let m = calendar(&master.messages[0].content.items[0]);
    assert_eq!(m.common.item_id.as_ref().unwrap().id, master_id.id);
    assert_eq!(m.common.subject.as_deref(), Some("Jour fixe"));
    assert_eq!(m.location.as_deref(), Some("Raum 1"));
    assert_eq!(m.modified_occurrences.len(), 1);
    assert_eq!(
        m.modified_occurrences[0].original_start,
        t("2026-03-23T08:00:00Z")
    );
    assert_eq!(m.modified_occurrences[0].start, t("2026-03-23T13:00:00Z"));

    // deleting the exception moves it to DeletedOccurrences
    let deleted = ews
        .call(&DeleteItem::new(
            DisposalType::HardDelete,
            vec![by_index(2)],
        ))
        .await;
    assert_eq!(codes(&deleted), ["NoError"]);
    let master = ews
        .call(&GetItem::new(
            ItemShape::all_properties(),
            vec![master_id.clone()],
        ))
        .await;
    let m = calendar(&master.messages[0].content.items[0]);
    assert!(m.modified_occurrences.is_empty());
    assert_eq!(m.deleted_occurrences, [t("2026-03-23T08:00:00Z")]);
    let view = ews.call(&window()).await.messages.remove(0).content;
    assert_eq!(view.items.len(), 3);

    // UpdateItem on RecurringMasterItemId changes the series; DeleteItem on it deletes it
    let mut renamed = Item::CalendarItem(m.clone());
    if let Item::CalendarItem(c) = &mut renamed {
        c.common.subject = Some("Jour fixe neu".into());
    }
    let update = UpdateItem::for_item(
        &renamed,
        BaseItemId::RecurringMaster {
            occurrence_id: occurrence_id.id.clone(),
            change_key: None,
        },
        vec![field_change(&renamed, &PropertyPath::field("item:Subject"))],
    );
    assert_eq!(codes(&ews.call(&update).await), ["NoError"]);
    let view = ews.call(&window()).await.messages.remove(0).content;
    assert_eq!(view.items.len(), 3);
    assert!(
        view.items
            .iter()
            .all(|i| calendar(i).common.subject.as_deref() == Some("Jour fixe neu"))
    );
    // a new pattern drops the exceptions: all four occurrences are back
    let mut longer = renamed.clone();
    if let Item::CalendarItem(c) = &mut longer {
        c.recurrence.as_mut().unwrap().range = RecurrenceRange::Numbered {
            start_date: NaiveDate::from_ymd_opt(2026, 3, 16).unwrap(),
            number_of_occurrences: 5,
        };
    }
    let update = UpdateItem::for_item(
        &longer,
        ews_client::types::ItemId::new(master_id.id.clone()),
        vec![field_change(
            &longer,
            &PropertyPath::field("calendar:Recurrence"),
        )],
    );
    assert_eq!(codes(&ews.call(&update).await), ["NoError"]);
    let view = ews.call(&window()).await.messages.remove(0).content;
    assert_eq!(
        starts(&view.items).last().unwrap(),
        &("04-13 07:00".to_string(), Some(Occurrence))
    );
    assert_eq!(view.items.len(), 5);
    let deleted = ews
        .call(&DeleteItem::new(
            DisposalType::HardDelete,
            vec![BaseItemId::RecurringMaster {
                occurrence_id: occurrence_id.id,
                change_key: None,
            }],
        ))
        .await;
    assert_eq!(codes(&deleted), ["NoError"]);
    let view = ews.call(&window()).await.messages.remove(0).content;
    assert!(view.items.is_empty());
    ews.validate();
    mock.shutdown().await.unwrap();
}
