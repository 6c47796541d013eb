//! Parsing items as Exchange sends them (`tests/data/items/*.xml`): any prefixes, default
//! namespaces, unknown elements and unknown item kinds skipped, Exchange's lexical forms
//! (dates with offsets, durations with fractions, wrapped base64); and bad input gives typed
//! errors that name the element.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use chrono::{NaiveDate, TimeZone, Utc};
use ews_client::envelope::read_response;
use ews_client::ops::GetItem;
use ews_client::types::calendar::{CalendarItemType, LegacyFreeBusy, ResponseType};
use ews_client::types::contact::{
    EmailAddressKey, FileAsMapping, PhoneNumberKey, PhysicalAddressKey,
};
use ews_client::types::item::Importance;
use ews_client::types::mailbox::MailboxType;
use ews_client::types::recurrence::{DayOfWeek, DayOfWeekIndex};
use ews_client::types::task::TaskStatus;
use ews_client::types::*;
use ews_client::xml::{XmlError, XmlReader};

fn items_of(xml: &str) -> Vec<Item> {
    let envelope = read_response::<GetItem>(xml.as_bytes()).unwrap();
    let messages = envelope.body.unwrap();
    messages
        .into_results()
        .into_iter()
        .flat_map(|r| r.unwrap().items)
        .collect()
}

#[test]
fn exchange_contact_with_all_crm_fields() {
    let items = items_of(include_str!("data/items/getitem_contact.xml"));
    let [Item::Contact(c)] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(
        c.common.item_id,
        Some(ItemId::with_change_key("AAMkADc3=", "EQAAABYA"))
    );
    assert_eq!(c.common.categories, ["Customer", "VIP"]);
    let body = c.common.body.as_ref().unwrap();
    assert_eq!(body.body_type, BodyType::Text);
    assert_eq!(body.content, "Met at the trade fair.\nPrefers phone calls.");
    assert_eq!(c.given_name.as_deref(), Some("Klaus"));
    assert_eq!(c.surname.as_deref(), Some("Weber"));
    assert_eq!(c.generation.as_deref(), Some("Jr."));
    assert_eq!(c.company_name.as_deref(), Some("Weber & Söhne KG"));
    assert_eq!(c.department.as_deref(), Some("Einkauf"));
    assert_eq!(c.job_title.as_deref(), Some("Head of Purchasing"));
    assert_eq!(c.file_as_mapping, Some(FileAsMapping::LastCommaFirst));
    assert_eq!(c.title(), Some("Dr."));
    let email = c.email(EmailAddressKey::EmailAddress1).unwrap();
    assert_eq!(email.address, "k.weber@weber-soehne.example");
    assert_eq!(email.mailbox_type, Some(MailboxType::Contact));
    assert_eq!(
        c.email(EmailAddressKey::EmailAddress2).unwrap().address,
        "klaus@private.example"
    );
    assert!(c.email(EmailAddressKey::EmailAddress3).is_none());
    assert_eq!(
        c.phone(PhoneNumberKey::MobilePhone),
        Some("+49 171 7654321")
    );
    assert_eq!(c.phone(PhoneNumberKey::BusinessFax), Some("+49 711 123457"));
    assert_eq!(c.phone(PhoneNumberKey::HomePhone), None);
    let business = c.address(PhysicalAddressKey::Business).unwrap();
    assert_eq!(business.street.as_deref(), Some("Industriestraße 12"));
    assert_eq!(business.postal_code.as_deref(), Some("70565"));
    assert_eq!(
        c.birthday,
        Some(Utc.with_ymd_and_hms(1968, 4, 12, 11, 59, 0).unwrap())
    );
    // Empty lists read as empty; unknown elements (ResponseObjects, EffectiveRights,
    // ContactSource, ...) were skipped.
    assert!(c.children.is_empty() && c.im_addresses.is_empty());
    let crm = c
        .common
        .extended_property(&ExtendedFieldUri::named(
            "C11FF724-AA03-4555-9952-8FA248A11C3E",
            "ConAktivId",
            MapiPropertyType::String,
        ))
        .unwrap();
    assert_eq!(crm.as_single(), Some("contact:4711"));
}

#[test]
fn exchange_recurring_meeting_with_time_zone_and_exceptions() {
    let items = items_of(include_str!("data/items/getitem_calendar.xml"));
    let [Item::CalendarItem(c)] = items.as_slice() else {
        panic!("{items:?}")
    };
    assert_eq!(c.common.subject.as_deref(), Some("Weekly sync"));
    assert_eq!(c.common.body.as_ref().unwrap().body_type, BodyType::Html);
    assert_eq!(c.common.reminder_minutes_before_start, Some(15));
    assert_eq!(
        c.calendar_item_type,
        Some(CalendarItemType::RecurringMaster)
    );
    assert_eq!(c.legacy_free_busy_status, Some(LegacyFreeBusy::Busy));
    assert_eq!(
        c.organizer.as_ref().unwrap().email_address.as_deref(),
        Some("anna@example.com")
    );
    let responses: Vec<_> = c
        .required_attendees
        .iter()
        .map(|a| (a.mailbox.email_address.clone().unwrap(), a.response_type))
        .collect();
    assert_eq!(
        responses,
        [
            ("bob@example.com".to_owned(), Some(ResponseType::Accept)),
            (
                "carl@partner.example".to_owned(),
                Some(ResponseType::NoResponseReceived)
            ),
        ]
    );
    assert_eq!(c.resources.len(), 1);
    let recurrence = c.recurrence.as_ref().unwrap();
    assert_eq!(
        recurrence.pattern,
        RecurrencePattern::RelativeMonthly {
            interval: 1,
            days_of_week: DayOfWeek::Tuesday,
            day_of_week_index: DayOfWeekIndex::First,
        }
    );
    assert_eq!(
        recurrence.range,
        RecurrenceRange::Numbered {
            start_date: NaiveDate::from_ymd_opt(2024, 3, 5).unwrap(),
            number_of_occurrences: 10,
        }
    );
    assert_eq!(c.modified_occurrences.len(), 1);
    assert_eq!(c.modified_occurrences[0].item_id.id, "AAMkOcc2=");
    assert_eq!(
        c.deleted_occurrences,
        [Utc.with_ymd_and_hms(2024, 5, 7, 7, 0, 0).unwrap()]
    );
    let tz = c.start_time_zone.as_ref().unwrap();
    assert_eq!(tz.iana(), Some("Europe/Berlin"));
    assert_eq!(tz.periods.len(), 2);
    assert_eq!(tz.periods[1].bias, chrono::TimeDelta::hours(-2));
    assert_eq!(c.end_time_zone.as_ref().unwrap().periods.len(), 0);
    // Local time of the start in its zone: 09:00 CET.
    assert_eq!(
        tz.to_local(c.start.unwrap()).unwrap().to_string(),
        "2024-03-05 09:00:00"
    );
}

#[test]
fn exchange_message_task_and_generic_item_with_default_namespace() {
    let items = items_of(include_str!("data/items/getitem_message_task.xml"));
    assert_eq!(items.len(), 3, "unknown item kinds are skipped: {items:?}");
    let Item::Message(m) = &items[0] else {
        panic!("{:?}", items[0])
    };
    let mime = m.common.mime_content.as_ref().unwrap();
    assert_eq!(mime.character_set.as_deref(), Some("UTF-8"));
    assert_eq!(
        mime.content,
        b"Subject: Angebot\r\n\r\nHallo, anbei das Angebot."
    );
    assert_eq!(
        m.internet_message_id.as_deref(),
        Some("<offer-17@example.com>")
    );
    assert_eq!(
        m.common.in_reply_to.as_deref(),
        Some("<req-17@customer.example>")
    );
    assert_eq!(m.references.as_deref(), Some("<req-17@customer.example>"));
    assert_eq!(m.is_read, Some(true));
    assert_eq!(m.to_recipients.len(), 1);
    assert_eq!(m.from.as_ref().unwrap().name.as_deref(), Some("Anna Admin"));
    assert_eq!(m.sender, m.from);
    assert_eq!(m.common.internet_message_headers.len(), 2);
    assert_eq!(m.common.internet_message_headers[1].value, "mail:99");
    // The reference attachment is not modelled and skipped; the file attachment is listed
    // without content.
    let [Attachment::File(att)] = m.common.attachments.as_slice() else {
        panic!("{:?}", m.common.attachments)
    };
    assert_eq!(att.common.name.as_deref(), Some("Angebot-2024-17.pdf"));
    assert_eq!(att.common.size, Some(48213));
    assert_eq!(att.content, None);

    let Item::Task(t) = &items[1] else {
        panic!("{:?}", items[1])
    };
    assert_eq!(t.status, Some(TaskStatus::InProgress));
    assert_eq!(t.percent_complete, Some(25.0));
    assert_eq!(t.common.importance, Some(Importance::High));
    assert_eq!(t.owner.as_deref(), Some("Anna Admin"));
    assert_eq!(
        t.recurrence.as_ref().unwrap().pattern,
        RecurrencePattern::WeeklyRegeneration { interval: 2 }
    );
    let Item::Generic(g) = &items[2] else {
        panic!("{:?}", items[2])
    };
    assert_eq!(g.common.item_class.as_deref(), Some("IPM.StickyNote"));
}

/// Malformed items: (fragment, expected text in the error, expected end of the path).
const BAD_ITEMS: &[(&str, &str, &str)] = &[
    (
        "<t:Contact><t:FileAsMapping>Sideways</t:FileAsMapping></t:Contact>",
        "Sideways",
        "Contact/FileAsMapping",
    ),
    (
        "<t:Contact><t:PhoneNumbers><t:Entry>+49</t:Entry></t:PhoneNumbers></t:Contact>",
        "Key",
        "PhoneNumbers/Entry",
    ),
    (
        "<t:Message><t:MimeContent>not base64!</t:MimeContent></t:Message>",
        "base64",
        "Message/MimeContent",
    ),
    (
        "<t:CalendarItem><t:Start>next tuesday</t:Start></t:CalendarItem>",
        "next tuesday",
        "CalendarItem/Start",
    ),
    (
        "<t:CalendarItem><t:Recurrence><t:DailyRecurrence><t:Interval>1</t:Interval></t:DailyRecurrence></t:Recurrence></t:CalendarItem>",
        "range",
        "CalendarItem/Recurrence",
    ),
    (
        "<t:Task><t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval></t:WeeklyRecurrence><t:NoEndRecurrence><t:StartDate>2024-01-01</t:StartDate></t:NoEndRecurrence></t:Recurrence></t:Task>",
        "DaysOfWeek",
        "Recurrence/WeeklyRecurrence",
    ),
    (
        "<t:CalendarItem><t:StartTimeZone><t:Periods><t:Period Bias=\"eight hours\"/></t:Periods></t:StartTimeZone></t:CalendarItem>",
        "xs:duration",
        "Periods/Period/@Bias",
    ),
    (
        "<t:Task><t:PercentComplete>half</t:PercentComplete></t:Task>",
        "half",
        "Task/PercentComplete",
    ),
    (
        "<t:Message><t:Subject>unterminated</t:Message>",
        "",
        "Message/Subject",
    ),
];

#[test]
fn malformed_items_are_typed_errors_naming_the_element() {
    for (fragment, text, path) in BAD_ITEMS {
        let xml = format!(
            r#"<m:Items xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">{fragment}</m:Items>"#
        );
        let mut r = XmlReader::new(xml.as_bytes());
        let root = r.root().unwrap();
        let err: XmlError = Item::read_list(&mut r, &root).unwrap_err();
        assert!(err.to_string().contains(text), "{fragment}: {err}");
        assert!(err.path().contains(path), "{fragment}: path {}", err.path());
    }
}

#[test]
fn deeply_nested_item_attachments_are_rejected_not_a_stack_overflow() {
    let nest = |levels: usize| {
        let open = "<t:Message><t:Attachments><t:ItemAttachment>".repeat(levels);
        let close = "</t:ItemAttachment></t:Attachments></t:Message>".repeat(levels);
        format!(
            r#"<m:Items xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">{open}<t:Message><t:Subject>deep</t:Subject></t:Message>{close}</m:Items>"#
        )
    };
    let read = |xml: &str| {
        let mut r = XmlReader::new(xml.as_bytes());
        let root = r.root().unwrap();
        Item::read_list(&mut r, &root)
    };
    // Within the limit: read completely.
    let items = read(&nest(5)).unwrap();
    let mut item = &items[0];
    for _ in 0..5 {
        let Attachment::Item(a) = &item.common().attachments[0] else {
            panic!()
        };
        item = a.item.as_deref().unwrap();
    }
    assert_eq!(item.common().subject.as_deref(), Some("deep"));
    // Far beyond it: a typed error.
    let err = read(&nest(5000)).unwrap_err();
    assert!(err.to_string().contains("nested deeper"), "{err}");
}

/// The document after the marker `<!--{name}-->` in `responses.xml`.
fn response_doc(name: &str) -> String {
    let all = include_str!("data/items/responses.xml");
    let marker = format!("<!--{name}-->");
    let start = all.find(&marker).unwrap() + marker.len();
    let rest = &all[start..];
    let end = rest.find("<!--").unwrap_or(rest.len());
    rest[..end].trim().to_owned()
}

#[test]
fn exchange_responses_of_the_item_operations() {
    use ews_client::ops::{CreateItem, GetAttachment, SendItem, UpdateItem};
    use ews_client::types::response::ResponseCode;

    let created = read_response::<CreateItem>(response_doc("CreateItem").as_bytes())
        .unwrap()
        .body
        .unwrap()
        .into_results();
    let first = created[0].as_ref().unwrap();
    assert_eq!(
        first.items[0].item_id(),
        Some(&ItemId::with_change_key("AAMkNew1=", "EQAAABYAAAA1"))
    );
    assert_eq!(
        created[1].as_ref().unwrap_err().code(),
        ResponseCode::ErrorFolderNotFound
    );

    let updated = read_response::<UpdateItem>(response_doc("UpdateItem").as_bytes())
        .unwrap()
        .body
        .unwrap()
        .into_results();
    let ok = updated[0].as_ref().unwrap();
    assert_eq!(ok.conflict_results, Some(1));
    assert_eq!(ok.items[0].item_id().unwrap().id, "AAMkCal=");
    let err = updated[1].as_ref().unwrap_err();
    assert_eq!(err.code(), ResponseCode::ErrorIrresolvableConflict);
    assert!(err.to_string().contains("change key"), "{err}");

    let attachment = read_response::<GetAttachment>(response_doc("GetAttachment").as_bytes())
        .unwrap()
        .body
        .unwrap()
        .into_single()
        .unwrap();
    let [Attachment::File(file)] = attachment.attachments.as_slice() else {
        panic!("{attachment:?}")
    };
    assert_eq!(file.content.as_deref(), Some(&b"Hello, World!"[..]));
    assert_eq!(file.common.content_id.as_deref(), Some("hello@example"));

    // The samples are valid EWS.
    let docs: Vec<(String, String)> = ["CreateItem", "UpdateItem", "GetAttachment", "SendItem"]
        .iter()
        .map(|n| (n.to_string(), response_doc(n)))
        .collect();
    let refs: Vec<(&str, &[u8])> = docs
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_bytes()))
        .collect();
    if let Err(e) = ews_client::schema::validate_in_test(&refs) {
        panic!("{e}");
    }

    read_response::<SendItem>(response_doc("SendItem").as_bytes())
        .unwrap()
        .body
        .unwrap()
        .into_single()
        .unwrap();
}
