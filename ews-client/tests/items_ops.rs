//! CreateItem, UpdateItem, SendItem, CreateAttachment and GetAttachment: every request and
//! response round-trips through its envelope, and every request (each recurrence pattern and
//! range, each disposition, each change kind) validates against the EWS schema.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

#[path = "data/items/fixtures.rs"]
mod fixtures;
use fixtures::*;

use ews_client::envelope::{
    RequestHeaders, read_request, read_response, write_operation_response, write_request,
};
use ews_client::operation::Operation;
use ews_client::ops::*;
use ews_client::types::attachment::AttachmentCommon;
use ews_client::types::base_item_id::BaseItemId;
use ews_client::types::recurrence::{DayOfWeek, DayOfWeekIndex, Month};
use ews_client::types::response::{ResponseCode, ResponseMessage, ResponseMessages};
use ews_client::types::shape::BodyTypeResponse;
use ews_client::types::*;
use std::fmt::Debug;

/// Every calendar recurrence pattern.
fn calendar_patterns() -> Vec<RecurrencePattern> {
    vec![
        RecurrencePattern::RelativeYearly {
            days_of_week: DayOfWeek::Thursday,
            day_of_week_index: DayOfWeekIndex::Fourth,
            month: Month::November,
        },
        RecurrencePattern::AbsoluteYearly {
            day_of_month: 24,
            month: Month::December,
        },
        RecurrencePattern::RelativeMonthly {
            interval: 1,
            days_of_week: DayOfWeek::Weekday,
            day_of_week_index: DayOfWeekIndex::Last,
        },
        RecurrencePattern::AbsoluteMonthly {
            interval: 2,
            day_of_month: 15,
        },
        RecurrencePattern::Weekly {
            interval: 2,
            days_of_week: vec![DayOfWeek::Monday, DayOfWeek::Friday],
            first_day_of_week: Some(DayOfWeek::Monday),
        },
        RecurrencePattern::Weekly {
            interval: 1,
            days_of_week: vec![DayOfWeek::Tuesday],
            first_day_of_week: None,
        },
        RecurrencePattern::Daily { interval: 3 },
    ]
}

fn task_only_patterns() -> Vec<RecurrencePattern> {
    vec![
        RecurrencePattern::DailyRegeneration { interval: 1 },
        RecurrencePattern::WeeklyRegeneration { interval: 2 },
        RecurrencePattern::MonthlyRegeneration { interval: 3 },
        RecurrencePattern::YearlyRegeneration { interval: 1 },
    ]
}

fn ranges() -> Vec<RecurrenceRange> {
    vec![
        RecurrenceRange::NoEnd {
            start_date: date(2024, 1, 1),
        },
        RecurrenceRange::EndDate {
            start_date: date(2024, 1, 1),
            end_date: date(2025, 6, 30),
        },
        RecurrenceRange::Numbered {
            start_date: date(2024, 1, 1),
            number_of_occurrences: 12,
        },
    ]
}

/// CreateItem requests covering every item kind, pattern, range and option.
fn create_requests() -> Vec<(String, CreateItem)> {
    let mut out = Vec::new();
    for (i, item) in all_full_items().into_iter().enumerate() {
        out.push((
            format!("full item {i}"),
            CreateItem::save(vec![item.clone()], None),
        ));
        out.push((
            format!("creatable item {i}"),
            CreateItem::save(vec![creatable(&item)], None),
        ));
    }
    for pattern in calendar_patterns() {
        for range in ranges() {
            let item = CalendarItem {
                common: ItemCommon {
                    subject: Some("Series".into()),
                    ..ItemCommon::default()
                },
                start: Some(utc(2024, 1, 1, 9, 0)),
                end: Some(utc(2024, 1, 1, 10, 0)),
                recurrence: Some(Recurrence {
                    pattern: pattern.clone(),
                    range: range.clone(),
                }),
                start_time_zone: Some(TimeZoneDefinition::windows("W. Europe Standard Time")),
                ..CalendarItem::default()
            };
            out.push((
                format!("calendar {} {range:?}", pattern.element_name()),
                CreateItem::save(vec![Item::CalendarItem(item)], None),
            ));
        }
    }
    for pattern in calendar_patterns().into_iter().chain(task_only_patterns()) {
        for range in ranges() {
            let task = Task {
                common: ItemCommon {
                    subject: Some("Recurring task".into()),
                    ..ItemCommon::default()
                },
                recurrence: Some(Recurrence {
                    pattern: pattern.clone(),
                    range,
                }),
                ..Task::default()
            };
            out.push((
                format!("task {}", pattern.element_name()),
                CreateItem::save(vec![Item::Task(task)], None),
            ));
        }
    }
    for disposition in MessageDisposition::ALL {
        out.push((
            format!("message {disposition}"),
            CreateItem {
                message_disposition: Some(*disposition),
                send_meeting_invitations: None,
                saved_item_folder_id: Some(DistinguishedFolderName::SentItems.into()),
                items: vec![Item::Message(Message {
                    common: ItemCommon {
                        subject: Some("Hi".into()),
                        body: Some(Body::text("Hello")),
                        ..ItemCommon::default()
                    },
                    to_recipients: vec![EmailAddress::smtp("bob@example.com", Some("Bob"))],
                    ..Message::default()
                })],
            },
        ));
    }
    for mode in SendMeetingInvitations::ALL {
        out.push((
            format!("meeting {mode}"),
            CreateItem {
                message_disposition: None,
                send_meeting_invitations: Some(*mode),
                saved_item_folder_id: Some(BaseFolderId::from(FolderId::new("CAL1"))),
                items: vec![Item::CalendarItem(CalendarItem {
                    start: Some(utc(2024, 1, 1, 9, 0)),
                    end: Some(utc(2024, 1, 1, 10, 0)),
                    required_attendees: vec![Attendee::smtp("bob@example.com", None)],
                    ..CalendarItem::default()
                })],
            },
        ));
    }
    out.push((
        "send with copy".into(),
        CreateItem::send(Item::Message(full_message()), SavedCopy::InSentItems),
    ));
    out
}

fn update_requests() -> Vec<(String, UpdateItem)> {
    let contact = Item::Contact(full_contact());
    let mut out = Vec::new();
    let changes = vec![
        ItemChangeDescription::Set {
            path: PropertyPath::field("contacts:GivenName"),
            item: Item::Contact(Contact {
                given_name: Some("Janet".into()),
                ..Contact::default()
            }),
        },
        ItemChangeDescription::Append {
            path: PropertyPath::field("item:Body"),
            item: Item::Contact(Contact {
                common: ItemCommon {
                    body: Some(Body::text(" more")),
                    ..ItemCommon::default()
                },
                ..Contact::default()
            }),
        },
        ItemChangeDescription::delete_field("contacts:Birthday"),
        field_change(
            &contact,
            &PropertyPath::indexed("contacts:EmailAddress", "EmailAddress1"),
        ),
        field_change(
            &contact,
            &PropertyPath::indexed("contacts:PhysicalAddress:Street", "Business"),
        ),
        ItemChangeDescription::set_extended(
            &contact,
            ExtendedProperty::string(crm_id_uri(), "contact:43"),
        ),
        ItemChangeDescription::delete_extended(crm_id_uri()),
    ];
    for resolution in ConflictResolution::ALL {
        out.push((
            format!("contact {resolution}"),
            UpdateItem {
                conflict_resolution: *resolution,
                ..UpdateItem::new(vec![ItemChange {
                    item_id: ItemId::with_change_key("C1", "CK1").into(),
                    updates: changes.clone(),
                }])
            },
        ));
    }
    // Every field of every kind, set and deleted.
    for item in all_full_items() {
        let set = set_all_fields(&item);
        let deleted = item_changes(&item, &item.empty_like()).unwrap();
        out.push((
            format!("all fields of {}", item.element_name()),
            UpdateItem::new(vec![
                ItemChange {
                    item_id: ItemId::new("X").into(),
                    updates: set,
                },
                ItemChange {
                    item_id: ItemId::new("Y").into(),
                    updates: deleted,
                },
            ]),
        ));
    }
    for mode in SendMeetingInvitationsOrCancellations::ALL {
        out.push((
            format!("meeting update {mode}"),
            UpdateItem {
                send_meeting_invitations_or_cancellations: Some(*mode),
                ..UpdateItem::new(vec![ItemChange {
                    item_id: BaseItemId::Occurrence {
                        recurring_master_id: "M1".into(),
                        change_key: None,
                        instance_index: 2,
                    },
                    updates: vec![ItemChangeDescription::Set {
                        path: PropertyPath::field("calendar:Location"),
                        item: Item::CalendarItem(CalendarItem {
                            location: Some("Room 7".into()),
                            ..CalendarItem::default()
                        }),
                    }],
                }])
            },
        ));
    }
    for disposition in MessageDisposition::ALL {
        out.push((
            format!("message update {disposition}"),
            UpdateItem {
                conflict_resolution: ConflictResolution::AlwaysOverwrite,
                message_disposition: Some(*disposition),
                suppress_read_receipts: Some(true),
                saved_item_folder_id: Some(DistinguishedFolderName::Drafts.into()),
                ..UpdateItem::new(vec![ItemChange {
                    item_id: ItemId::new("M").into(),
                    updates: vec![ItemChangeDescription::Set {
                        path: PropertyPath::field("message:IsRead"),
                        item: Item::Message(Message {
                            is_read: Some(true),
                            ..Message::default()
                        }),
                    }],
                }])
            },
        ));
    }
    out
}

fn send_requests() -> Vec<(String, SendItem)> {
    vec![
        (
            "send keep".into(),
            SendItem {
                saved_item_folder_id: Some(DistinguishedFolderName::SentItems.into()),
                ..SendItem::new([ItemId::with_change_key("D1", "CK")])
            },
        ),
        (
            "send no copy".into(),
            SendItem {
                item_ids: vec![ItemId::new("D1").into(), ItemId::new("D2").into()],
                save_item_to_folder: false,
                saved_item_folder_id: None,
            },
        ),
    ]
}

fn file(name: &str) -> Attachment {
    Attachment::File(FileAttachment::new(
        name,
        "application/pdf",
        b"%PDF-1.4".to_vec(),
    ))
}

fn create_attachment_requests() -> Vec<(String, CreateAttachment)> {
    vec![(
        "file, inline image and item".into(),
        CreateAttachment {
            parent_item_id: ItemId::with_change_key("P1", "CK"),
            attachments: vec![
                file("offer.pdf"),
                Attachment::File(
                    FileAttachment::new("logo.png", "image/png", vec![1, 2, 3]).inline("logo1"),
                ),
                Attachment::Item(ItemAttachment {
                    common: AttachmentCommon {
                        name: Some("Forwarded".into()),
                        ..AttachmentCommon::default()
                    },
                    item: Some(Box::new(Item::Message(full_message()))),
                }),
            ],
        },
    )]
}

fn get_attachment_requests() -> Vec<(String, GetAttachment)> {
    vec![
        (
            "plain".into(),
            GetAttachment::new(vec![AttachmentId::new("A1"), AttachmentId::new("A2")]),
        ),
        (
            "with shape".into(),
            GetAttachment {
                attachment_shape: Some(AttachmentShape {
                    include_mime_content: Some(true),
                    body_type: Some(BodyTypeResponse::Text),
                    filter_html_content: Some(true),
                    additional_properties: vec![
                        PropertyPath::field("item:Subject"),
                        PropertyPath::Extended(crm_id_uri()),
                    ],
                }),
                attachment_ids: vec![AttachmentId::new("A1")],
            },
        ),
    ]
}

/// Writes each request in an envelope, reads it back, compares, and returns the bytes.
fn request_round_trip<O: Operation + PartialEq + Debug>(
    requests: Vec<(String, O)>,
) -> Vec<(String, Vec<u8>)> {
    let headers = RequestHeaders::default();
    requests
        .into_iter()
        .map(|(name, op)| {
            let bytes = write_request(&headers, &op);
            let (_, back) = read_request::<O>(&bytes)
                .unwrap_or_else(|e| panic!("{name}: {e}\n{}", String::from_utf8_lossy(&bytes)));
            assert_eq!(back, op, "{name}");
            (format!("{} {name}", O::NAME), bytes)
        })
        .collect()
}

fn validate(docs: &[(String, Vec<u8>)]) {
    let refs: Vec<(&str, &[u8])> = docs
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    if let Err(e) = ews_client::schema::validate_in_test(&refs) {
        panic!("{e}");
    }
}

#[test]
fn every_request_round_trips_and_validates_against_the_schema() {
    let mut docs = Vec::new();
    docs.extend(request_round_trip(create_requests()));
    docs.extend(request_round_trip(update_requests()));
    docs.extend(request_round_trip(send_requests()));
    docs.extend(request_round_trip(create_attachment_requests()));
    docs.extend(request_round_trip(get_attachment_requests()));
    assert!(docs.len() > 80, "{}", docs.len());
    validate(&docs);
}

fn response_round_trip<O: Operation>(response: O::Response) -> (String, Vec<u8>)
where
    O::Response: PartialEq + Debug,
{
    let bytes = write_operation_response::<O>(None, &response);
    let back = read_response::<O>(&bytes).unwrap().body.unwrap();
    assert_eq!(back, response);
    (format!("{} response", O::NAME), bytes)
}

#[test]
fn every_response_round_trips_and_validates_against_the_schema() {
    let created = |id: &str| {
        Item::Contact(Contact {
            common: ItemCommon {
                item_id: Some(ItemId::with_change_key(id, "CK2")),
                ..ItemCommon::default()
            },
            ..Contact::default()
        })
    };
    let docs = vec![
        response_round_trip::<CreateItem>(ResponseMessages::new(vec![
            ResponseMessage::success(ItemInfo {
                items: vec![created("N1")],
            }),
            ResponseMessage::error(ResponseCode::ErrorFolderNotFound, "no such folder"),
        ])),
        response_round_trip::<UpdateItem>(ResponseMessages::new(vec![
            ResponseMessage::success(UpdateItemResult {
                items: vec![created("N1")],
                conflict_results: Some(0),
            }),
            ResponseMessage::error(ResponseCode::ErrorIrresolvableConflict, "changed"),
        ])),
        response_round_trip::<SendItem>(ResponseMessages::new(vec![ResponseMessage::success(())])),
        response_round_trip::<CreateAttachment>(ResponseMessages::new(vec![
            ResponseMessage::success(AttachmentInfo {
                attachments: vec![Attachment::File(FileAttachment {
                    common: AttachmentCommon {
                        attachment_id: Some(AttachmentId {
                            id: "A1".into(),
                            root_item_id: Some("P1".into()),
                            root_item_change_key: Some("CK3".into()),
                        }),
                        ..AttachmentCommon::default()
                    },
                    ..FileAttachment::default()
                })],
            }),
        ])),
        response_round_trip::<GetAttachment>(ResponseMessages::new(vec![
            ResponseMessage::success(AttachmentInfo {
                attachments: vec![file("offer.pdf")],
            }),
            ResponseMessage::error(ResponseCode::ErrorInvalidAttachmentId, "bad id"),
        ])),
    ];
    validate(&docs);
}

#[test]
fn constructors_set_what_exchange_requires() {
    let save = CreateItem::save(
        vec![
            Item::CalendarItem(CalendarItem::default()),
            Item::Task(Task::default()),
        ],
        None,
    );
    assert_eq!(
        save.send_meeting_invitations,
        Some(SendMeetingInvitations::SendToNone)
    );
    assert_eq!(save.message_disposition, None);
    let send = CreateItem::send(Item::Message(Message::default()), SavedCopy::Discard);
    assert_eq!(send.message_disposition, Some(MessageDisposition::SendOnly));
    assert!(!CreateItem::idempotent(&send));
    assert!(UpdateItem::idempotent(&UpdateItem::new(vec![])));
}

#[test]
fn requests_missing_required_parts_are_errors_with_paths() {
    let cases: &[(&str, &str)] = &[
        (
            r#"<m:CreateItem xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"/>"#,
            "Items",
        ),
        (
            r#"<m:UpdateItem xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ItemChanges/></m:UpdateItem>"#,
            "ConflictResolution",
        ),
        (
            r#"<m:SendItem xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" SaveItemToFolder="maybe"><m:ItemIds/></m:SendItem>"#,
            "SaveItemToFolder",
        ),
    ];
    for (xml, expected) in cases {
        let body = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>{xml}</s:Body></s:Envelope>"#
        );
        let err = match *expected {
            "Items" => read_request::<CreateItem>(body.as_bytes()).map(|_| ()),
            "ConflictResolution" => read_request::<UpdateItem>(body.as_bytes()).map(|_| ()),
            _ => read_request::<SendItem>(body.as_bytes()).map(|_| ()),
        }
        .unwrap_err();
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn creatable_drops_read_only_fields_and_keeps_the_rest() {
    for full in all_full_items() {
        let created = creatable(&full);
        let common = created.common();
        assert_eq!(common.item_id, None);
        assert_eq!(common.parent_folder_id, None);
        assert_eq!(common.size, None);
        assert_eq!(common.date_time_created, None);
        assert_eq!(common.mime_content, full.common().mime_content);
        assert_eq!(common.attachments.len(), full.common().attachments.len());
        for a in &common.attachments {
            assert_eq!(a.common().attachment_id, None);
        }
        // Every writable field survives.
        assert_eq!(set_all_fields(&created), set_all_fields(&full));
    }
    let contact = creatable(&Item::Contact(full_contact()));
    assert_eq!(contact.as_contact().unwrap().complete_name, None);
}
