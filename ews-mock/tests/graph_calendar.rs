//! The Graph front's calendars and events, driven over HTTP by graph-client's `Client`:
//! calendars, events CRUD with etags and `transactionId` idempotence, series with
//! `calendarView`, `instances`, exceptions and cancelled occurrences, `calendarView/delta`
//! with a window; and an event created through Graph seen and deleted through EWS.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

mod common;

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use common::Ews;
use ews_client::ops::{DeleteItem, DisposalType, GetItem};
use ews_client::transport::{RetryPolicy, SecretString};
use ews_client::types::shape::ItemShape;
use ews_client::types::{Item, ItemId};
use ews_mock::MockHandle;
use graph_client::auth;
use graph_client::calendar::{Event, EventType, Window};
use graph_client::translate::ExchangeIdFormat;
use graph_client::types::{
    DateTimeTimeZone, DayOfWeek, ItemBody, PatternedRecurrence, RecurrencePattern,
    RecurrencePatternType, RecurrenceRange, RecurrenceRangeType,
};
use graph_client::{Change, Client, ClientConfig, DeltaStart, ListOptions};

fn client(mock: &MockHandle) -> Client {
    let mut creds =
        auth::credentials("contoso", "sync-app").with_token_url(mock.token_url().parse().unwrap());
    creds.client_secret = SecretString::from("app-secret".to_owned());
    let config = ClientConfig::new(auth::with_secret(creds).unwrap())
        .with_base_url(url::Url::parse(&format!("{}/v1.0/", mock.base_url())).unwrap())
        .with_retry(
            RetryPolicy::default()
                .with_delays(Duration::from_millis(10), Duration::from_millis(50))
                .with_max_attempts(3),
        )
        .with_retry_after_floor(Duration::from_millis(10))
        .with_timeouts(Duration::from_secs(10), Duration::from_secs(30));
    Client::new(config).unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn utc(s: &str) -> DateTimeTimeZone {
    DateTimeTimeZone::new(s, "UTC")
}

fn event(subject: &str, start: &str, end: &str) -> Event {
    Event {
        subject: Some(subject.into()),
        body: Some(ItemBody::text("agenda")),
        start: Some(utc(start)),
        end: Some(utc(end)),
        ..Event::default()
    }
}

/// Weekly on Mondays, 5 occurrences from Monday 2027-01-04 09:00 UTC.
fn weekly_series(subject: &str) -> Event {
    Event {
        recurrence: Some(PatternedRecurrence {
            pattern: Some(RecurrencePattern {
                kind: Some(RecurrencePatternType::Weekly),
                interval: Some(1),
                days_of_week: Some(vec![DayOfWeek::Monday]),
                ..RecurrencePattern::default()
            }),
            range: Some(RecurrenceRange {
                kind: Some(RecurrenceRangeType::Numbered),
                start_date: NaiveDate::from_ymd_opt(2027, 1, 4),
                number_of_occurrences: Some(5),
                ..RecurrenceRange::default()
            }),
        }),
        ..event(subject, "2027-01-04T09:00:00", "2027-01-04T10:00:00")
    }
}

fn start_of(e: &Event) -> DateTime<Utc> {
    let s = e.start.as_ref().unwrap();
    assert_eq!(s.time_zone.as_deref(), Some("UTC"));
    chrono::NaiveDateTime::parse_from_str(s.date_time.as_deref().unwrap(), "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap()
        .and_utc()
}

#[tokio::test]
async fn events_crud_with_etags_and_transaction_id_and_the_ews_view() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");

    let calendars = bob.calendars().await.unwrap();
    let default = calendars
        .iter()
        .find(|c| c.is_default_calendar == Some(true))
        .expect("a default calendar");
    assert_eq!(default.name.as_deref(), Some("Calendar"));

    // a create with a transactionId, repeated, gives the first event, once
    let mut new = event("Kickoff", "2027-02-01T10:00:00", "2027-02-01T11:00:00");
    new.transaction_id = Some("tx-4711".into());
    let first = bob.create_event(None, &new).await.unwrap();
    let again = bob.create_event(None, &new).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(first.transaction_id.as_deref(), Some("tx-4711"));
    assert_eq!(first.kind, Some(EventType::SingleInstance));
    let listed = bob
        .events(default.id.as_deref(), &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(
        listed
            .iter()
            .filter(|e| e.subject.as_deref() == Some("Kickoff"))
            .count(),
        1
    );
    // without a transactionId, two creates are two events
    let other = event("Kickoff", "2027-02-01T10:00:00", "2027-02-01T11:00:00");
    let a = bob.create_event(None, &other).await.unwrap();
    let b = bob.create_event(None, &other).await.unwrap();
    assert_ne!(a.id, b.id);

    // update with the etag; the old etag then gives 412
    let id = first.id.clone().unwrap();
    let patch = Event {
        subject: Some("Kickoff (moved)".into()),
        start: Some(utc("2027-02-02T10:00:00")),
        end: Some(utc("2027-02-02T11:30:00")),
        ..Event::default()
    };
    let updated = bob
        .update_event(&id, &patch, first.etag.as_deref())
        .await
        .unwrap();
    assert_eq!(start_of(&updated), t("2027-02-02T10:00:00Z"));
    assert_ne!(updated.change_key, first.change_key);
    let err = bob
        .update_event(&id, &patch, first.etag.as_deref())
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");

    // the same item through EWS
    let ews = Ews::bob(&mock);
    let ews_id = bob
        .translate_exchange_ids(
            &[id.as_str()],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap()[0]
        .target_id
        .clone()
        .unwrap();
    let got = ews
        .call(&GetItem::new(
            ItemShape::all_properties(),
            vec![ItemId::new(ews_id.clone())],
        ))
        .await;
    let Item::CalendarItem(c) = &got.messages[0].content.items[0] else {
        panic!("not a calendar item");
    };
    assert_eq!(c.common.subject.as_deref(), Some("Kickoff (moved)"));
    assert_eq!(c.start, Some(t("2027-02-02T10:00:00Z")));
    assert_eq!(c.end, Some(t("2027-02-02T11:30:00Z")));

    // deleted through EWS: gone for Graph
    ews.call(&DeleteItem::new(
        DisposalType::HardDelete,
        vec![ItemId::new(ews_id)],
    ))
    .await;
    let err = bob.event(&id, &ListOptions::default()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    // deleted through Graph: the event goes to Deleted Items
    bob.delete_event(a.id.as_deref().unwrap(), None)
        .await
        .unwrap();
    let left = bob.events(None, &ListOptions::default()).await.unwrap();
    assert!(!left.iter().any(|e| e.id == a.id));
    assert!(left.iter().any(|e| e.id == b.id));
}

#[tokio::test]
async fn series_in_the_calendar_view_with_instances_exceptions_and_cancellations() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let master = bob
        .create_event(None, &weekly_series("Jour fixe"))
        .await
        .unwrap();
    assert_eq!(master.kind, Some(EventType::SeriesMaster));
    let master_id = master.id.clone().unwrap();
    let single = bob
        .create_event(
            None,
            &event("Review", "2027-01-12T14:00:00", "2027-01-12T15:00:00"),
        )
        .await
        .unwrap();
    // outside the window
    bob.create_event(
        None,
        &event("Later", "2027-03-01T14:00:00", "2027-03-01T15:00:00"),
    )
    .await
    .unwrap();

    // 2027-01-04 .. 2027-01-26: three Mondays and the single event, by start
    let window = Window {
        start: t("2027-01-04T00:00:00Z"),
        end: t("2027-01-26T00:00:00Z"),
    };
    let view = bob
        .calendar_view(None, window, &ListOptions::default())
        .await
        .unwrap();
    let starts: Vec<DateTime<Utc>> = view.iter().map(start_of).collect();
    assert_eq!(
        starts,
        vec![
            t("2027-01-04T09:00:00Z"),
            t("2027-01-11T09:00:00Z"),
            t("2027-01-12T14:00:00Z"),
            t("2027-01-18T09:00:00Z"),
            t("2027-01-25T09:00:00Z"),
        ]
    );
    assert_eq!(view[2].id, single.id);
    for occ in view.iter().filter(|e| e.id != single.id) {
        assert_eq!(occ.kind, Some(EventType::Occurrence));
        assert_eq!(occ.series_master_id.as_deref(), Some(master_id.as_str()));
        assert_eq!(occ.subject.as_deref(), Some("Jour fixe"));
    }

    // all five instances of the series
    let all = Window {
        start: t("2027-01-01T00:00:00Z"),
        end: t("2027-12-31T00:00:00Z"),
    };
    let instances = bob
        .instances(&master_id, all, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(instances.len(), 5);
    // the second becomes an exception (moved, renamed), the third is cancelled
    let second = instances[1].id.clone().unwrap();
    let third = instances[2].id.clone().unwrap();
    let changed = bob
        .update_event(
            &second,
            &Event {
                subject: Some("Jour fixe (verschoben)".into()),
                start: Some(utc("2027-01-12T09:00:00")),
                end: Some(utc("2027-01-12T10:00:00")),
                ..Event::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(changed.kind, Some(EventType::Exception));
    assert_eq!(changed.original_start, Some(t("2027-01-11T09:00:00Z")));
    bob.delete_event(&third, None).await.unwrap();
    let err = bob
        .event(&third, &ListOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    let instances = bob
        .instances(&master_id, all, &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(instances.len(), 4);
    assert_eq!(instances[1].kind, Some(EventType::Exception));
    assert_eq!(
        instances[1].subject.as_deref(),
        Some("Jour fixe (verschoben)")
    );
    assert_eq!(start_of(&instances[1]), t("2027-01-12T09:00:00Z"));
    // the master lists the cancelled occurrence and, expanded, the exception
    let m = bob.series_master(&master_id).await.unwrap();
    assert_eq!(m.cancelled_occurrences.as_ref().map(Vec::len), Some(1));
    let exceptions = m.exception_occurrences.unwrap();
    assert_eq!(exceptions.len(), 1);
    assert_eq!(exceptions[0].id.as_deref(), Some(second.as_str()));
    // the occurrence id reads the exception
    let read = bob.event(&second, &ListOptions::default()).await.unwrap();
    assert_eq!(read.subject.as_deref(), Some("Jour fixe (verschoben)"));
    assert_eq!(read.series_master_id.as_deref(), Some(master_id.as_str()));
}

#[tokio::test]
async fn calendar_view_delta_keeps_its_window() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let window = Window {
        start: t("2027-05-01T00:00:00Z"),
        end: t("2027-06-01T00:00:00Z"),
    };
    let inside = bob
        .create_event(
            None,
            &event("Inside", "2027-05-10T08:00:00", "2027-05-10T09:00:00"),
        )
        .await
        .unwrap();
    bob.create_event(
        None,
        &event("Outside", "2027-07-10T08:00:00", "2027-07-10T09:00:00"),
    )
    .await
    .unwrap();
    let round = bob
        .calendar_view_delta(None, window, DeltaStart::Initial, Some(1))
        .await
        .unwrap();
    let ids: Vec<Option<String>> = round
        .changes
        .iter()
        .map(|c| match c {
            Change::Upsert(e) => e.id.clone(),
            Change::Removed { .. } => panic!("nothing removed yet"),
        })
        .collect();
    assert_eq!(ids, vec![inside.id.clone()]);

    // a new event in the window, one outside, and a deletion
    let added = bob
        .create_event(
            None,
            &event("Added", "2027-05-20T08:00:00", "2027-05-20T09:00:00"),
        )
        .await
        .unwrap();
    bob.create_event(
        None,
        &event("Outside 2", "2027-08-10T08:00:00", "2027-08-10T09:00:00"),
    )
    .await
    .unwrap();
    bob.delete_event(inside.id.as_deref().unwrap(), None)
        .await
        .unwrap();
    let next = bob
        .calendar_view_delta(None, window, DeltaStart::Link(&round.delta_link), None)
        .await
        .unwrap();
    let mut upserts = Vec::new();
    let mut removed = Vec::new();
    for c in &next.changes {
        match c {
            Change::Upsert(e) => upserts.push(e.id.clone()),
            Change::Removed { id, .. } => removed.push(id.clone()),
        }
    }
    assert_eq!(upserts, vec![added.id.clone()]);
    assert_eq!(removed, vec![inside.id.clone().unwrap()]);
    assert!(next.delta_link.contains("startDateTime"));

    // a series: its occurrences in the window arrive; a cancelled one is removed
    let series = Event {
        recurrence: Some(PatternedRecurrence {
            pattern: Some(RecurrencePattern {
                kind: Some(RecurrencePatternType::Daily),
                interval: Some(7),
                ..RecurrencePattern::default()
            }),
            range: Some(RecurrenceRange {
                kind: Some(RecurrenceRangeType::EndDate),
                start_date: NaiveDate::from_ymd_opt(2027, 5, 25),
                end_date: NaiveDate::from_ymd_opt(2027, 6, 30),
                ..RecurrenceRange::default()
            }),
        }),
        ..event("Serie", "2027-05-25T12:00:00", "2027-05-25T13:00:00")
    };
    bob.create_event(None, &series).await.unwrap();
    let third = bob
        .calendar_view_delta(None, window, DeltaStart::Link(&next.delta_link), None)
        .await
        .unwrap();
    // 25 May only: 1 June is outside the window
    let occurrences: Vec<Event> = third
        .changes
        .into_iter()
        .map(|c| match c {
            Change::Upsert(e) => e,
            Change::Removed { .. } => panic!("nothing removed"),
        })
        .collect();
    assert_eq!(occurrences.len(), 1);
    assert_eq!(occurrences[0].kind, Some(EventType::Occurrence));
    let occ_id = occurrences[0].id.clone().unwrap();
    bob.delete_event(&occ_id, None).await.unwrap();
    let fourth = bob
        .calendar_view_delta(None, window, DeltaStart::Link(&third.delta_link), None)
        .await
        .unwrap();
    assert!(
        matches!(&fourth.changes[..], [Change::Removed { id, .. }] if *id == occ_id),
        "{:?}",
        fourth.changes
    );
}

#[tokio::test]
async fn an_ews_series_in_the_graph_calendar_view_matches_the_ews_calendar_view() {
    use ews_client::ops::{CreateItem, FindItem, ItemView};
    use ews_client::types::recurrence::DayOfWeek as EwsDay;
    use ews_client::types::shape::CalendarView;
    use ews_client::types::{
        BaseFolderId, CalendarItem, DistinguishedFolderName as D, Recurrence,
        RecurrencePattern as EwsPattern, RecurrenceRange as EwsRange,
    };
    let mock = common::start().await;
    let ews = Ews::bob(&mock);
    let mut series = CalendarItem {
        start: Some(t("2027-09-06T09:00:00Z")),
        end: Some(t("2027-09-06T10:00:00Z")),
        recurrence: Some(Recurrence {
            pattern: EwsPattern::Weekly {
                interval: 1,
                days_of_week: vec![EwsDay::Monday, EwsDay::Wednesday],
                first_day_of_week: None,
            },
            range: EwsRange::Numbered {
                start_date: NaiveDate::from_ymd_opt(2027, 9, 6).unwrap(),
                number_of_occurrences: 4,
            },
        }),
        ..CalendarItem::default()
    };
    series.common.subject = Some("Standup".into());
    ews.call(&CreateItem::save(vec![Item::CalendarItem(series)], None))
        .await;
    let ews_view = || async {
        let mut find = FindItem::new(
            BaseFolderId::from(D::Calendar),
            ItemShape::all_properties(),
            100,
        );
        find.view = Some(ItemView::Calendar(CalendarView {
            max_entries_returned: None,
            start_date: t("2027-09-01T00:00:00Z"),
            end_date: t("2027-10-01T00:00:00Z"),
        }));
        ews.call(&find).await.messages.remove(0).content.items
    };
    let ews_starts = |items: Vec<Item>| -> Vec<DateTime<Utc>> {
        items
            .iter()
            .map(|i| match i {
                Item::CalendarItem(c) => c.start.unwrap(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let window = Window {
        start: t("2027-09-01T00:00:00Z"),
        end: t("2027-10-01T00:00:00Z"),
    };
    let view = bob
        .calendar_view(None, window, &ListOptions::default())
        .await
        .unwrap();
    let graph_starts: Vec<DateTime<Utc>> = view.iter().map(start_of).collect();
    assert_eq!(graph_starts.len(), 4);
    assert_eq!(graph_starts, ews_starts(ews_view().await));
    assert!(
        view.iter()
            .all(|e| e.kind == Some(EventType::Occurrence) && e.series_master_id.is_some())
    );
    // cancelled through Graph: gone from the EWS CalendarView too
    bob.delete_event(view[1].id.as_deref().unwrap(), None)
        .await
        .unwrap();
    let after = ews_starts(ews_view().await);
    assert_eq!(after.len(), 3);
    assert!(!after.contains(&graph_starts[1]));
}

#[tokio::test]
async fn relative_monthly_and_absolute_yearly_series() {
    use graph_client::types::WeekIndex;
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let series = |pattern: RecurrencePattern, start: &str, end: &str, first: NaiveDate| Event {
        recurrence: Some(PatternedRecurrence {
            pattern: Some(pattern),
            range: Some(RecurrenceRange {
                kind: Some(RecurrenceRangeType::Numbered),
                start_date: Some(first),
                number_of_occurrences: Some(3),
                ..RecurrenceRange::default()
            }),
        }),
        ..event("Serie", start, end)
    };
    // the second Tuesday of every month
    let monthly = bob
        .create_event(
            None,
            &series(
                RecurrencePattern {
                    kind: Some(RecurrencePatternType::RelativeMonthly),
                    interval: Some(1),
                    days_of_week: Some(vec![DayOfWeek::Tuesday]),
                    index: Some(WeekIndex::Second),
                    ..RecurrencePattern::default()
                },
                "2027-01-12T08:00:00",
                "2027-01-12T09:00:00",
                NaiveDate::from_ymd_opt(2027, 1, 12).unwrap(),
            ),
        )
        .await
        .unwrap();
    let pattern = monthly.recurrence.unwrap().pattern.unwrap();
    assert_eq!(pattern.kind, Some(RecurrencePatternType::RelativeMonthly));
    assert_eq!(pattern.index, Some(WeekIndex::Second));
    let all = Window {
        start: t("2027-01-01T00:00:00Z"),
        end: t("2030-01-01T00:00:00Z"),
    };
    let starts: Vec<DateTime<Utc>> = bob
        .instances(monthly.id.as_deref().unwrap(), all, &ListOptions::default())
        .await
        .unwrap()
        .iter()
        .map(start_of)
        .collect();
    assert_eq!(
        starts,
        vec![
            t("2027-01-12T08:00:00Z"),
            t("2027-02-09T08:00:00Z"),
            t("2027-03-09T08:00:00Z"),
        ]
    );
    // every 24 December
    let yearly = bob
        .create_event(
            None,
            &series(
                RecurrencePattern {
                    kind: Some(RecurrencePatternType::AbsoluteYearly),
                    interval: Some(1),
                    day_of_month: Some(24),
                    month: Some(12),
                    ..RecurrencePattern::default()
                },
                "2027-12-24T18:00:00",
                "2027-12-24T20:00:00",
                NaiveDate::from_ymd_opt(2027, 12, 24).unwrap(),
            ),
        )
        .await
        .unwrap();
    let starts: Vec<DateTime<Utc>> = bob
        .instances(yearly.id.as_deref().unwrap(), all, &ListOptions::default())
        .await
        .unwrap()
        .iter()
        .map(start_of)
        .collect();
    assert_eq!(
        starts,
        vec![
            t("2027-12-24T18:00:00Z"),
            t("2028-12-24T18:00:00Z"),
            t("2029-12-24T18:00:00Z"),
        ]
    );
}

#[tokio::test]
async fn local_times_follow_the_series_zone_and_prefer_outlook_timezone() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    // weekly on Mondays at 09:00 Berlin time, across the change to summer time (28 March)
    let mut series = weekly_series("Berlin");
    series.start = Some(DateTimeTimeZone::new(
        "2027-03-22T09:00:00",
        "W. Europe Standard Time",
    ));
    series.end = Some(DateTimeTimeZone::new(
        "2027-03-22T10:00:00",
        "W. Europe Standard Time",
    ));
    if let Some(r) = series.recurrence.as_mut().and_then(|r| r.range.as_mut()) {
        r.start_date = NaiveDate::from_ymd_opt(2027, 3, 22);
        r.number_of_occurrences = Some(2);
    }
    bob.create_event(None, &series).await.unwrap();
    let window = Window {
        start: t("2027-03-20T00:00:00Z"),
        end: t("2027-04-05T00:00:00Z"),
    };
    let utc_view = bob
        .calendar_view(None, window, &ListOptions::default())
        .await
        .unwrap();
    let starts: Vec<DateTime<Utc>> = utc_view.iter().map(start_of).collect();
    assert_eq!(
        starts,
        vec![t("2027-03-22T08:00:00Z"), t("2027-03-29T07:00:00Z")]
    );
    // the same view in Berlin time: 09:00 both times
    let local = bob
        .clone()
        .with_timezone("Europe/Berlin")
        .calendar_view(None, window, &ListOptions::default())
        .await
        .unwrap();
    for e in &local {
        let s = e.start.as_ref().unwrap();
        assert_eq!(s.time_zone.as_deref(), Some("Europe/Berlin"));
        assert!(
            s.date_time.as_deref().unwrap().contains("T09:00:00"),
            "{s:?}"
        );
    }
    // an unknown zone in a request is Graph's 400
    let err = bob
        .create_event(
            None,
            &Event {
                start: Some(DateTimeTimeZone::new("2027-03-22T09:00:00", "Mars/Olympus")),
                end: Some(DateTimeTimeZone::new("2027-03-22T10:00:00", "Mars/Olympus")),
                ..event("x", "2027-03-22T09:00:00", "2027-03-22T10:00:00")
            },
        )
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err}");
}
