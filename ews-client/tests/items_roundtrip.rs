//! Every item kind with every field set survives write -> read unchanged.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

#[path = "data/items/fixtures.rs"]
mod fixtures;
use fixtures::*;

#[test]
fn every_item_kind_with_every_field_round_trips() {
    for item in all_full_items() {
        let xml = write_items(std::slice::from_ref(&item));
        let back = read_items(&xml);
        assert_eq!(back.len(), 1, "{xml}");
        assert_eq!(back[0], item, "round trip of {}", item.element_name());
        // Writing the read value gives the same bytes: nothing is lost or reordered.
        assert_eq!(write_items(&back), xml);
    }
}

#[test]
fn empty_items_round_trip_as_empty_elements() {
    use ews_client::types::*;
    let items = vec![
        Item::Contact(Contact::default()),
        Item::CalendarItem(CalendarItem::default()),
        Item::Task(Task::default()),
        Item::Message(Message::default()),
        Item::Generic(GenericItem::default()),
    ];
    let xml = write_items(&items);
    assert!(xml.contains("<t:Contact></t:Contact>"), "{xml}");
    assert_eq!(read_items(&xml), items);
}

#[test]
fn contact_title_is_written_through_its_extended_property() {
    use ews_client::types::*;
    let mut contact = fixtures::full_contact();
    assert_eq!(contact.title(), Some("Dr."), "from CompleteName");
    contact.set_title(Some("Prof."));
    assert_eq!(contact.title(), Some("Prof."));
    let xml = write_items(&[Item::Contact(contact.clone())]);
    assert!(xml.contains(r#"PropertyTag="0x3A45""#), "{xml}");
    let back = read_items(&xml);
    assert_eq!(back[0].as_contact().unwrap().title(), Some("Prof."));
    contact.set_title(None);
    assert_eq!(contact.title(), Some("Dr."));
    assert!(back[0].as_task().is_none());
}

#[test]
fn birthday_dates_survive_any_client_time_of_day() {
    use chrono::{NaiveDate, TimeZone, Utc};
    use ews_client::types::Contact;
    let day = NaiveDate::from_ymd_opt(1968, 4, 12).unwrap();
    // As stored by Exchange, by a client at local midnight in Berlin, in Tokyo, in New York,
    // in Auckland (UTC+12) and in Samoa (UTC-11).
    let stored = [
        Utc.with_ymd_and_hms(1968, 4, 12, 11, 59, 0).unwrap(),
        Utc.with_ymd_and_hms(1968, 4, 11, 23, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(1968, 4, 11, 15, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(1968, 4, 12, 5, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(1968, 4, 11, 12, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(1968, 4, 12, 11, 0, 0).unwrap(),
    ];
    for at in stored {
        let contact = Contact {
            birthday: Some(at),
            ..Contact::default()
        };
        assert_eq!(contact.birthday_date(), Some(day), "{at}");
    }
    let mut contact = Contact::default();
    contact.set_birthday_date(Some(day));
    assert_eq!(contact.birthday_date(), Some(day));
    assert_eq!(
        contact.birthday,
        Some(Utc.with_ymd_and_hms(1968, 4, 12, 11, 59, 0).unwrap())
    );
    contact.set_birthday_date(None);
    assert_eq!(contact.birthday, None);
}

#[test]
fn calendar_local_times_and_all_day_dates() {
    use chrono::{NaiveDate, TimeZone, Utc};
    use ews_client::types::{CalendarItem, TimeZoneDefinition};
    // An all-day event on 1-2 August 2024 in Berlin (CEST, UTC+2).
    let item = CalendarItem {
        start: Some(Utc.with_ymd_and_hms(2024, 7, 31, 22, 0, 0).unwrap()),
        end: Some(Utc.with_ymd_and_hms(2024, 8, 2, 22, 0, 0).unwrap()),
        is_all_day_event: Some(true),
        start_time_zone: Some(TimeZoneDefinition::windows("W. Europe Standard Time")),
        ..CalendarItem::default()
    };
    assert_eq!(
        item.local_start().unwrap().to_string(),
        "2024-08-01 00:00:00"
    );
    assert_eq!(
        item.all_day_dates(),
        Some((
            NaiveDate::from_ymd_opt(2024, 8, 1).unwrap(),
            NaiveDate::from_ymd_opt(2024, 8, 3).unwrap()
        ))
    );
    // The legacy meeting time zone is used when there is no StartTimeZone.
    let legacy = CalendarItem {
        start: Some(Utc.with_ymd_and_hms(2024, 1, 10, 8, 0, 0).unwrap()),
        meeting_time_zone: Some(fixtures::legacy_zone()),
        ..CalendarItem::default()
    };
    assert_eq!(
        legacy.local_start().unwrap().to_string(),
        "2024-01-10 09:00:00"
    );
    // Not all-day, or no zone: no dates.
    assert_eq!(
        CalendarItem {
            is_all_day_event: Some(false),
            ..item.clone()
        }
        .all_day_dates(),
        None
    );
    assert_eq!(
        CalendarItem {
            start_time_zone: None,
            ..item
        }
        .local_start(),
        None
    );
}

mod arbitrary_text {
    use super::*;
    use ews_client::types::contact::{PhysicalAddressEntry, PhysicalAddressKey};
    use ews_client::types::*;
    use proptest::prelude::*;

    /// Text that XML 1.0 can carry unchanged: no control characters other than tab and line
    /// feed (carriage returns are normalised away by XML parsers).
    fn xml_text() -> impl Strategy<Value = String> {
        proptest::string::string_regex("[^\\x00-\\x08\\x0B-\\x1F\\u{FFFE}\\u{FFFF}]{0,40}").unwrap()
    }

    proptest! {
        #[test]
        fn any_text_in_any_field_round_trips(
            subject in xml_text(),
            body in xml_text(),
            name in xml_text(),
            street in xml_text(),
            category in xml_text(),
            crm_id in xml_text(),
        ) {
            let mut contact = Contact {
                given_name: Some(name.clone()),
                physical_addresses: vec![PhysicalAddressEntry {
                    street: Some(street),
                    ..PhysicalAddressEntry::new(PhysicalAddressKey::Home)
                }],
                ..Contact::default()
            };
            contact.common.subject = Some(subject);
            contact.common.body = Some(Body::html(body));
            contact.common.categories = vec![category];
            contact
                .common
                .set_extended_property(ExtendedProperty::string(crm_id_uri(), crm_id));
            let message = Message {
                to_recipients: vec![EmailAddress::smtp("a@example.com", Some(&name))],
                ..Message::default()
            };
            let items = vec![Item::Contact(contact), Item::Message(message)];
            let xml = write_items(&items);
            prop_assert_eq!(read_items(&xml), items);
        }
    }
}

#[test]
fn setting_local_times_in_an_iana_zone() {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};
    use ews_client::types::CalendarItem;
    use ews_client::types::calendar::LocalTimeError;
    let local = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    let mut item = CalendarItem::default();
    item.set_local_times(
        local("2024-07-01 09:00"),
        local("2024-07-01 10:30"),
        "Europe/Berlin",
    )
    .unwrap();
    assert_eq!(
        item.start,
        Some(Utc.with_ymd_and_hms(2024, 7, 1, 7, 0, 0).unwrap())
    );
    assert_eq!(
        item.end,
        Some(Utc.with_ymd_and_hms(2024, 7, 1, 8, 30, 0).unwrap())
    );
    assert_eq!(
        item.start_time_zone.as_ref().unwrap().id.as_deref(),
        Some("W. Europe Standard Time")
    );
    assert_eq!(item.local_start(), Some(local("2024-07-01 09:00")));
    assert_eq!(item.local_end(), Some(local("2024-07-01 10:30")));

    let mut all_day = CalendarItem::default();
    let d = |m, day| NaiveDate::from_ymd_opt(2024, m, day).unwrap();
    all_day
        .set_all_day(d(12, 24), d(12, 26), "America/New_York")
        .unwrap();
    assert_eq!(all_day.is_all_day_event, Some(true));
    assert_eq!(
        all_day.start,
        Some(Utc.with_ymd_and_hms(2024, 12, 24, 5, 0, 0).unwrap())
    );
    assert_eq!(all_day.all_day_dates(), Some((d(12, 24), d(12, 27))));

    let errors = [
        (
            item.set_local_times(
                local("2024-03-31 02:30"),
                local("2024-03-31 04:00"),
                "Europe/Berlin",
            ),
            "does not exist",
        ),
        (
            item.set_local_times(
                local("2024-07-01 09:00"),
                local("2024-07-01 08:00"),
                "Europe/Berlin",
            ),
            "before the start",
        ),
        (
            item.set_local_times(
                local("2024-07-01 09:00"),
                local("2024-07-01 10:00"),
                "Mars/Base",
            ),
            "unknown time zone",
        ),
    ];
    for (result, text) in errors {
        let err: LocalTimeError = result.unwrap_err();
        assert!(err.to_string().contains(text), "{err}");
    }
    // Errors leave the item as it was.
    assert_eq!(item.local_start(), Some(local("2024-07-01 09:00")));
}
