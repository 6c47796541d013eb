//! Fixtures shared by the `items_*` tests: one fully populated item of each kind.
#![allow(dead_code, clippy::unwrap_used)]

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use ews_client::types::attachment::{AttachmentCommon, AttachmentId};
use ews_client::types::body::InternetHeader;
use ews_client::types::calendar::{CalendarItemType, LegacyFreeBusy, OccurrenceInfo, ResponseType};
use ews_client::types::contact::{
    CompleteName, EmailAddressEntry, EmailAddressKey, FileAsMapping, ImAddressEntry, ImAddressKey,
    PhoneNumberEntry, PhoneNumberKey, PhysicalAddressEntry, PhysicalAddressIndex,
    PhysicalAddressKey,
};
use ews_client::types::item::{GenericItemKind, Importance, Sensitivity};
use ews_client::types::mailbox::MailboxType;
use ews_client::types::recurrence::{DayOfWeek, DayOfWeekIndex, Month};
use ews_client::types::task::{TaskDelegateState, TaskStatus};
use ews_client::types::timezone::{
    LegacyTimeZone, Period, TimeChange, TimeChangePattern, Transition, TransitionTarget,
    TransitionsGroup,
};
use ews_client::types::*;
use ews_client::xml::{Ns, XmlReader, XmlWriter};

pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub fn crm_id_uri() -> ExtendedFieldUri {
    ExtendedFieldUri::named(
        "c11ff724-aa03-4555-9952-8fa248a11c3e",
        "ConAktivId",
        MapiPropertyType::String,
    )
}

/// Every `t:ItemType` field set.
pub fn full_common(class: &str) -> ItemCommon {
    ItemCommon {
        mime_content: Some(MimeContent {
            character_set: Some("UTF-8".into()),
            content: b"Subject: hi\r\n\r\nbody \xc3\xa4".to_vec(),
        }),
        item_id: Some(ItemId::with_change_key("AAMkAD=", "CQAAAB")),
        parent_folder_id: Some(FolderId::new("AQMkPF=")),
        item_class: Some(class.into()),
        subject: Some("Subject <&> \"quoted\" äöü".into()),
        sensitivity: Some(Sensitivity::Private),
        body: Some(Body {
            body_type: BodyType::Html,
            content: "<p>Hello &amp; <b>welcome</b></p>".into(),
            is_truncated: Some(false),
        }),
        attachments: vec![
            Attachment::File(FileAttachment {
                common: AttachmentCommon {
                    attachment_id: Some(AttachmentId {
                        id: "ATT1".into(),
                        root_item_id: Some("AAMkAD=".into()),
                        root_item_change_key: Some("CQAAAB".into()),
                    }),
                    name: Some("logo.png".into()),
                    content_type: Some("image/png".into()),
                    content_id: Some("logo@example".into()),
                    content_location: Some("http://example.com/logo.png".into()),
                    size: Some(4),
                    last_modified_time: Some(utc(2024, 1, 2, 3, 4)),
                    is_inline: Some(true),
                },
                is_contact_photo: Some(false),
                content: Some(vec![0x89, b'P', b'N', b'G']),
            }),
            Attachment::Item(ItemAttachment {
                common: AttachmentCommon {
                    name: Some("Forwarded".into()),
                    ..AttachmentCommon::default()
                },
                item: Some(Box::new(Item::Message(Message {
                    common: ItemCommon {
                        subject: Some("Inner".into()),
                        ..ItemCommon::default()
                    },
                    to_recipients: vec![EmailAddress::smtp("x@example.com", None)],
                    ..Message::default()
                }))),
            }),
        ],
        date_time_received: Some(utc(2024, 5, 1, 9, 30)),
        size: Some(12345),
        categories: vec!["CRM".into(), "Kunde".into()],
        importance: Some(Importance::High),
        in_reply_to: Some("<parent@example.com>".into()),
        is_submitted: Some(false),
        is_draft: Some(true),
        is_from_me: Some(false),
        is_resend: Some(false),
        is_unmodified: Some(true),
        internet_message_headers: vec![
            InternetHeader {
                name: "X-Mailer".into(),
                value: "ConAktiv".into(),
            },
            InternetHeader {
                name: "Received".into(),
                value: "from a by b".into(),
            },
        ],
        date_time_sent: Some(utc(2024, 5, 1, 9, 29)),
        date_time_created: Some(utc(2024, 5, 1, 9, 0)),
        reminder_due_by: Some(utc(2024, 5, 2, 8, 0)),
        reminder_is_set: Some(true),
        reminder_next_time: Some(utc(2024, 5, 2, 7, 45)),
        reminder_minutes_before_start: Some(15),
        display_cc: Some("Bob".into()),
        display_to: Some("Anna".into()),
        display_bcc: Some("Carl".into()),
        has_attachments: Some(true),
        extended_properties: vec![
            ExtendedProperty::string(crm_id_uri(), "contact:42"),
            ExtendedProperty {
                uri: ExtendedFieldUri::tagged("0x1000", MapiPropertyType::StringArray),
                value: ExtendedValue::Multi(vec!["a".into(), "b".into()]),
            },
        ],
        culture: Some("de-DE".into()),
        last_modified_name: Some("Anna Admin".into()),
        last_modified_time: Some(utc(2024, 5, 1, 10, 0)),
        is_associated: Some(false),
        conversation_id: Some(ItemId::new("CONV1")),
    }
}

pub fn mailbox(addr: &str, name: &str) -> EmailAddress {
    EmailAddress {
        name: Some(name.into()),
        email_address: Some(addr.into()),
        routing_type: Some("SMTP".into()),
        mailbox_type: Some(MailboxType::Mailbox),
        item_id: None,
        original_display_name: None,
    }
}

pub fn full_contact() -> Contact {
    Contact {
        common: full_common("IPM.Contact"),
        file_as: Some("Doe, Jane".into()),
        file_as_mapping: Some(FileAsMapping::LastCommaFirst),
        display_name: Some("Dr. Jane Q. Doe Jr.".into()),
        given_name: Some("Jane".into()),
        initials: Some("J.Q.D.".into()),
        middle_name: Some("Quincy".into()),
        nickname: Some("JJ".into()),
        complete_name: Some(CompleteName {
            title: Some("Dr.".into()),
            first_name: Some("Jane".into()),
            middle_name: Some("Quincy".into()),
            last_name: Some("Doe".into()),
            suffix: Some("Jr.".into()),
            initials: Some("J.Q.D.".into()),
            full_name: Some("Dr. Jane Quincy Doe Jr.".into()),
            nickname: Some("JJ".into()),
            yomi_first_name: Some("jein".into()),
            yomi_last_name: Some("do".into()),
        }),
        company_name: Some("ACME GmbH".into()),
        email_addresses: vec![
            EmailAddressEntry {
                key: EmailAddressKey::EmailAddress1,
                address: "jane@acme.example".into(),
                name: Some("Jane Doe".into()),
                routing_type: Some("SMTP".into()),
                mailbox_type: Some(MailboxType::Contact),
            },
            EmailAddressEntry::new(EmailAddressKey::EmailAddress2, "jd@home.example"),
            EmailAddressEntry::new(EmailAddressKey::EmailAddress3, "j@x.example"),
        ],
        physical_addresses: vec![
            PhysicalAddressEntry {
                key: PhysicalAddressKey::Business,
                street: Some("Hauptstraße 1\nGebäude B".into()),
                city: Some("Berlin".into()),
                state: Some("BE".into()),
                country_or_region: Some("Germany".into()),
                postal_code: Some("10115".into()),
            },
            PhysicalAddressEntry {
                key: PhysicalAddressKey::Home,
                city: Some("Potsdam".into()),
                ..PhysicalAddressEntry::new(PhysicalAddressKey::Home)
            },
            PhysicalAddressEntry {
                street: Some("Other St 5".into()),
                ..PhysicalAddressEntry::new(PhysicalAddressKey::Other)
            },
        ],
        phone_numbers: vec![
            PhoneNumberEntry::new(PhoneNumberKey::BusinessPhone, "+49 30 1234"),
            PhoneNumberEntry::new(PhoneNumberKey::HomePhone, "+49 331 55"),
            PhoneNumberEntry::new(PhoneNumberKey::MobilePhone, "+49 170 999"),
            PhoneNumberEntry::new(PhoneNumberKey::BusinessFax, "+49 30 1235"),
            PhoneNumberEntry::new(PhoneNumberKey::OtherTelephone, "+1 555 0100"),
        ],
        assistant_name: Some("Max".into()),
        birthday: Some(utc(1980, 2, 29, 11, 59)),
        business_home_page: Some("https://acme.example/".into()),
        children: vec!["Tim".into(), "Tom".into()],
        companies: vec!["ACME".into()],
        department: Some("Sales".into()),
        generation: Some("Jr.".into()),
        im_addresses: vec![ImAddressEntry {
            key: ImAddressKey::ImAddress1,
            address: "sip:jane@acme.example".into(),
        }],
        job_title: Some("Head of Sales".into()),
        manager: Some("John".into()),
        mileage: Some("12km".into()),
        office_location: Some("3.14".into()),
        postal_address_index: Some(PhysicalAddressIndex::Business),
        profession: Some("Engineer".into()),
        spouse_name: Some("Sam".into()),
        surname: Some("Doe".into()),
        wedding_anniversary: Some(utc(2005, 6, 1, 0, 0)),
        has_picture: Some(false),
    }
}

pub fn custom_zone() -> TimeZoneDefinition {
    TimeZoneDefinition {
        id: Some("Customized Time Zone".into()),
        name: Some("Custom (UTC-08:00)".into()),
        periods: vec![
            Period {
                bias: TimeDelta::hours(8),
                name: Some("Standard".into()),
                id: Some("std".into()),
            },
            Period {
                bias: TimeDelta::hours(7),
                name: Some("Daylight".into()),
                id: Some("dst".into()),
            },
        ],
        transitions_groups: vec![TransitionsGroup {
            id: Some("0".into()),
            transitions: vec![
                Transition::RecurringDay {
                    to: TransitionTarget::Period("dst".into()),
                    time_offset: TimeDelta::hours(2),
                    month: 3,
                    day_of_week: DayOfWeek::Sunday,
                    occurrence: 2,
                },
                Transition::RecurringDay {
                    to: TransitionTarget::Period("std".into()),
                    time_offset: TimeDelta::hours(2),
                    month: 11,
                    day_of_week: DayOfWeek::Sunday,
                    occurrence: 1,
                },
            ],
        }],
        transitions: Some(TransitionsGroup {
            id: None,
            transitions: vec![
                Transition::Initial {
                    to: TransitionTarget::Group("0".into()),
                },
                Transition::AbsoluteDate {
                    to: TransitionTarget::Group("0".into()),
                    date_time: NaiveDateTime::new(date(2007, 1, 1), NaiveTime::MIN),
                },
            ],
        }),
    }
}

pub fn legacy_zone() -> LegacyTimeZone {
    LegacyTimeZone {
        time_zone_name: Some("Customized Time Zone".into()),
        base_offset: Some(TimeDelta::hours(-1)),
        standard: Some(TimeChange {
            time_zone_name: Some("Std".into()),
            offset: TimeDelta::zero(),
            pattern: Some(TimeChangePattern::RelativeYearly {
                days_of_week: DayOfWeek::Sunday,
                day_of_week_index: DayOfWeekIndex::Last,
                month: Month::October,
            }),
            time: NaiveTime::from_hms_opt(3, 0, 0).unwrap(),
        }),
        daylight: Some(TimeChange {
            time_zone_name: Some("Dst".into()),
            offset: TimeDelta::hours(-1),
            pattern: Some(TimeChangePattern::RelativeYearly {
                days_of_week: DayOfWeek::Sunday,
                day_of_week_index: DayOfWeekIndex::Last,
                month: Month::March,
            }),
            time: NaiveTime::from_hms_opt(2, 0, 0).unwrap(),
        }),
    }
}

pub fn full_calendar_item() -> CalendarItem {
    let occurrence = OccurrenceInfo {
        item_id: ItemId::with_change_key("OCC1", "CK1"),
        start: utc(2024, 5, 8, 9, 0),
        end: utc(2024, 5, 8, 10, 0),
        original_start: utc(2024, 5, 8, 8, 0),
    };
    CalendarItem {
        common: full_common("IPM.Appointment"),
        uid: Some("040000008200E00074C5B7101A82E008".into()),
        recurrence_id: Some(utc(2024, 5, 1, 8, 0)),
        date_time_stamp: Some(utc(2024, 4, 1, 8, 0)),
        start: Some(utc(2024, 5, 1, 8, 0)),
        end: Some(utc(2024, 5, 1, 9, 0)),
        original_start: Some(utc(2024, 5, 1, 8, 0)),
        is_all_day_event: Some(false),
        legacy_free_busy_status: Some(LegacyFreeBusy::Busy),
        location: Some("Room 1 & 2".into()),
        when: Some("weekly".into()),
        is_meeting: Some(true),
        is_cancelled: Some(false),
        is_recurring: Some(true),
        meeting_request_was_sent: Some(true),
        is_response_requested: Some(true),
        calendar_item_type: Some(CalendarItemType::RecurringMaster),
        my_response_type: Some(ResponseType::Organizer),
        organizer: Some(mailbox("anna@example.com", "Anna")),
        required_attendees: vec![Attendee {
            mailbox: mailbox("bob@example.com", "Bob"),
            response_type: Some(ResponseType::Accept),
            last_response_time: Some(utc(2024, 4, 2, 8, 0)),
            proposed_start: Some(utc(2024, 5, 1, 9, 0)),
            proposed_end: Some(utc(2024, 5, 1, 10, 0)),
        }],
        optional_attendees: vec![Attendee {
            mailbox: mailbox("carl@example.com", "Carl"),
            response_type: Some(ResponseType::Tentative),
            ..Attendee::default()
        }],
        resources: vec![Attendee::smtp("room1@example.com", Some("Room 1"))],
        conflicting_meeting_count: Some(1),
        adjacent_meeting_count: Some(2),
        duration: Some("PT1H".into()),
        time_zone: Some("(UTC+01:00) Amsterdam, Berlin".into()),
        appointment_reply_time: Some(utc(2024, 4, 2, 8, 0)),
        appointment_sequence_number: Some(3),
        appointment_state: Some(1),
        recurrence: Some(Recurrence {
            pattern: RecurrencePattern::Weekly {
                interval: 1,
                days_of_week: vec![DayOfWeek::Monday, DayOfWeek::Wednesday],
                first_day_of_week: Some(DayOfWeek::Monday),
            },
            range: RecurrenceRange::EndDate {
                start_date: date(2024, 5, 1),
                end_date: date(2024, 12, 31),
            },
        }),
        first_occurrence: Some(occurrence.clone()),
        last_occurrence: Some(occurrence.clone()),
        modified_occurrences: vec![occurrence],
        deleted_occurrences: vec![utc(2024, 5, 15, 8, 0), utc(2024, 5, 22, 8, 0)],
        meeting_time_zone: Some(legacy_zone()),
        start_time_zone: Some(custom_zone()),
        end_time_zone: Some(TimeZoneDefinition::windows("W. Europe Standard Time")),
        conference_type: Some(0),
        allow_new_time_proposal: Some(true),
        is_online_meeting: Some(false),
        meeting_workspace_url: Some("https://ws.example".into()),
        net_show_url: Some("https://ns.example".into()),
    }
}

pub fn full_task() -> Task {
    Task {
        common: full_common("IPM.Task"),
        actual_work: Some(60),
        assigned_time: Some(utc(2024, 5, 1, 8, 0)),
        billing_information: Some("Project 7".into()),
        change_count: Some(2),
        companies: vec!["ACME".into()],
        complete_date: Some(utc(2024, 5, 3, 8, 0)),
        contacts: vec!["Jane".into()],
        delegation_state: Some(TaskDelegateState::NoMatch),
        delegator: Some("Boss".into()),
        due_date: Some(utc(2024, 5, 10, 0, 0)),
        is_assignment_editable: Some(0),
        is_complete: Some(false),
        is_recurring: Some(true),
        is_team_task: Some(false),
        mileage: Some("5km".into()),
        owner: Some("Anna".into()),
        percent_complete: Some(50.0),
        recurrence: Some(Recurrence {
            pattern: RecurrencePattern::WeeklyRegeneration { interval: 2 },
            range: RecurrenceRange::Numbered {
                start_date: date(2024, 5, 1),
                number_of_occurrences: 10,
            },
        }),
        start_date: Some(utc(2024, 5, 1, 0, 0)),
        status: Some(TaskStatus::InProgress),
        status_description: Some("In Progress".into()),
        total_work: Some(120),
    }
}

pub fn full_message() -> Message {
    Message {
        common: full_common("IPM.Note"),
        sender: Some(mailbox("assistant@example.com", "Assistant")),
        to_recipients: vec![
            mailbox("bob@example.com", "Bob"),
            EmailAddress::smtp("x@example.com", None),
        ],
        cc_recipients: vec![mailbox("carl@example.com", "Carl")],
        bcc_recipients: vec![mailbox("dora@example.com", "Dora")],
        is_read_receipt_requested: Some(false),
        is_delivery_receipt_requested: Some(true),
        conversation_index: Some("AQHXYQ==".into()),
        conversation_topic: Some("Topic".into()),
        from: Some(mailbox("anna@example.com", "Anna")),
        internet_message_id: Some("<abc@example.com>".into()),
        is_read: Some(true),
        is_response_requested: Some(false),
        references: Some("<a@x> <b@x>".into()),
        reply_to: vec![mailbox("reply@example.com", "Reply")],
        received_by: Some(mailbox("bob@example.com", "Bob")),
        received_representing: Some(mailbox("bob@example.com", "Bob")),
    }
}

pub fn full_generic() -> GenericItem {
    GenericItem {
        kind: GenericItemKind::Item,
        common: full_common("IPM.StickyNote"),
    }
}

/// One fully populated item of each kind.
pub fn all_full_items() -> Vec<Item> {
    vec![
        Item::Contact(full_contact()),
        Item::CalendarItem(full_calendar_item()),
        Item::Task(full_task()),
        Item::Message(full_message()),
        Item::Generic(full_generic()),
        Item::Generic(GenericItem {
            kind: GenericItemKind::MeetingRequest,
            common: ItemCommon {
                subject: Some("Invitation".into()),
                ..ItemCommon::default()
            },
        }),
    ]
}

/// Writes items inside a `m:Items` root element.
pub fn write_items(items: &[Item]) -> String {
    let mut w = XmlWriter::new();
    w.start_root(Ns::Messages, "Items").open();
    for item in items {
        item.write(&mut w);
    }
    w.end(Ns::Messages, "Items");
    w.into_string()
}

/// Reads the items under the root element of `xml`.
pub fn read_items(xml: &str) -> Vec<Item> {
    let mut r = XmlReader::new(xml.as_bytes());
    let root = r.root().unwrap();
    Item::read_list(&mut r, &root).unwrap()
}
