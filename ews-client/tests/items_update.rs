//! UpdateItem changes computed from two versions of an item, and per-field changes.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

#[path = "data/items/fixtures.rs"]
mod fixtures;
use fixtures::*;

use ews_client::ops::{ItemChangeDescription, field_change, item_changes, set_all_fields};
use ews_client::types::contact::{
    EmailAddressEntry, EmailAddressKey, PhoneNumberEntry, PhoneNumberKey, PhysicalAddressKey,
};
use ews_client::types::*;

/// A change as (kind, path) text, for compact expectations.
fn describe(change: &ItemChangeDescription) -> String {
    let kind = match change {
        ItemChangeDescription::Set { .. } => "set",
        ItemChangeDescription::Append { .. } => "append",
        ItemChangeDescription::Delete { .. } => "delete",
    };
    let path = match change.path() {
        PropertyPath::Field(uri) => uri.clone(),
        PropertyPath::Indexed {
            field_uri,
            field_index,
        } => format!("{field_uri}[{field_index}]"),
        PropertyPath::Extended(ext) => format!(
            "ext:{}",
            ext.property_name
                .clone()
                .or(ext.property_tag.clone())
                .unwrap_or_default()
        ),
    };
    format!("{kind} {path}")
}

fn set_item(change: &ItemChangeDescription) -> &Item {
    match change {
        ItemChangeDescription::Set { item, .. } => item,
        other => panic!("not a set: {other:?}"),
    }
}

#[test]
fn contact_changes_cover_plain_indexed_and_extended_fields() {
    let old = full_contact();
    let mut new = old.clone();
    new.given_name = Some("Janet".into());
    new.birthday = None;
    new.common.categories = vec!["CRM".into()];
    new.phone_numbers
        .retain(|p| p.key != PhoneNumberKey::MobilePhone);
    new.phone_numbers.push(PhoneNumberEntry::new(
        PhoneNumberKey::MobilePhone,
        "+49 170 000",
    ));
    new.email_addresses
        .retain(|e| e.key != EmailAddressKey::EmailAddress2);
    new.physical_addresses[0].street = Some("Neue Straße 2".into());
    new.physical_addresses[1].city = None;
    new.common.extended_properties[0] = ExtendedProperty::string(crm_id_uri(), "contact:99");
    new.common.extended_properties.remove(1);
    // Read-only fields are not changes.
    new.common.size = Some(1);
    new.common.item_id = Some(ItemId::new("other"));
    new.complete_name = None;

    let changes = item_changes(&Item::Contact(old), &Item::Contact(new)).unwrap();
    let described: Vec<_> = changes.iter().map(describe).collect();
    assert_eq!(
        described,
        [
            "set contacts:GivenName",
            "delete contacts:Birthday",
            "delete contacts:EmailAddress[EmailAddress2]",
            "set contacts:PhoneNumber[MobilePhone]",
            "set contacts:PhysicalAddress:Street[Business]",
            "delete contacts:PhysicalAddress:City[Home]",
            "set item:Categories",
            "set ext:ConAktivId",
            "delete ext:0x1000",
        ]
    );
    // Each set item holds just the new value, in a contact.
    let Item::Contact(given) = set_item(&changes[0]) else {
        panic!()
    };
    assert_eq!(
        given,
        &Contact {
            given_name: Some("Janet".into()),
            ..Contact::default()
        }
    );
    let Item::Contact(phone) = set_item(&changes[3]) else {
        panic!()
    };
    assert_eq!(
        phone.phone(PhoneNumberKey::MobilePhone),
        Some("+49 170 000")
    );
    assert_eq!(phone.phone_numbers.len(), 1);
    let Item::Contact(street) = set_item(&changes[4]) else {
        panic!()
    };
    let business = street.address(PhysicalAddressKey::Business).unwrap();
    assert_eq!(business.street.as_deref(), Some("Neue Straße 2"));
    assert_eq!(business.city, None);
    let Item::Contact(ext) = set_item(&changes[7]) else {
        panic!()
    };
    assert_eq!(
        ext.common
            .extended_property(&crm_id_uri())
            .unwrap()
            .as_single(),
        Some("contact:99")
    );
}

#[test]
fn identical_items_have_no_changes_and_kinds_must_match() {
    for item in all_full_items() {
        assert_eq!(item_changes(&item, &item.clone()).unwrap(), vec![]);
    }
    let err = item_changes(
        &Item::Contact(Contact::default()),
        &Item::Task(Task::default()),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot compute changes from a Contact to a Task"
    );
}

#[test]
fn calendar_task_and_message_changes() {
    let old = full_calendar_item();
    let mut new = old.clone();
    new.start = Some(utc(2024, 5, 1, 10, 0));
    new.end = Some(utc(2024, 5, 1, 11, 0));
    new.required_attendees
        .push(Attendee::smtp("eve@example.com", None));
    new.recurrence = None;
    new.start_time_zone = Some(TimeZoneDefinition::windows("Eastern Standard Time"));
    new.common.reminder_minutes_before_start = Some(30);
    let described: Vec<_> = item_changes(&Item::CalendarItem(old), &Item::CalendarItem(new))
        .unwrap()
        .iter()
        .map(describe)
        .collect();
    assert_eq!(
        described,
        [
            "set calendar:Start",
            "set calendar:End",
            "set calendar:RequiredAttendees",
            "delete calendar:Recurrence",
            "set calendar:StartTimeZone",
            "set item:ReminderMinutesBeforeStart",
        ]
    );

    let old = full_task();
    let mut new = old.clone();
    new.status = Some(task::TaskStatus::Completed);
    new.percent_complete = Some(100.0);
    new.complete_date = Some(utc(2024, 6, 1, 0, 0));
    let described: Vec<_> = item_changes(&Item::Task(old), &Item::Task(new))
        .unwrap()
        .iter()
        .map(describe)
        .collect();
    assert_eq!(
        described,
        [
            "set task:CompleteDate",
            "set task:PercentComplete",
            "set task:Status"
        ]
    );

    let old = full_message();
    let mut new = old.clone();
    new.is_read = Some(false);
    new.cc_recipients.clear();
    let described: Vec<_> = item_changes(&Item::Message(old), &Item::Message(new))
        .unwrap()
        .iter()
        .map(describe)
        .collect();
    assert_eq!(
        described,
        ["delete message:CcRecipients", "set message:IsRead"]
    );
}

#[test]
fn field_change_builds_the_change_of_any_modelled_field() {
    let contact = Item::Contact(full_contact());
    let cases = [
        (
            PropertyPath::field("contacts:Surname"),
            "set contacts:Surname",
        ),
        (
            PropertyPath::indexed("contacts:EmailAddress", "EmailAddress3"),
            "set contacts:EmailAddress[EmailAddress3]",
        ),
        (
            PropertyPath::indexed("contacts:PhysicalAddress:PostalCode", "Business"),
            "set contacts:PhysicalAddress:PostalCode[Business]",
        ),
        (PropertyPath::Extended(crm_id_uri()), "set ext:ConAktivId"),
        // Unset in the item: deleted.
        (
            PropertyPath::indexed("contacts:PhysicalAddress:Street", "Home"),
            "delete contacts:PhysicalAddress:Street[Home]",
        ),
        (
            PropertyPath::indexed("contacts:PhoneNumber", "Pager"),
            "delete contacts:PhoneNumber[Pager]",
        ),
    ];
    for (path, expected) in cases {
        assert_eq!(describe(&field_change(&contact, &path)), expected);
    }
    let ItemChangeDescription::Set { item, .. } = field_change(
        &contact,
        &PropertyPath::indexed("contacts:EmailAddress", "EmailAddress3"),
    ) else {
        panic!()
    };
    let Item::Contact(c) = item else { panic!() };
    assert_eq!(
        c.email_addresses,
        [EmailAddressEntry::new(
            EmailAddressKey::EmailAddress3,
            "j@x.example"
        )]
    );
    // Setting every field of a full contact: 24 plain contact fields, 3 e-mail addresses,
    // 5 phone numbers, 1 IM address, 7 address parts (5 business, 1 home, 1 other), 10 item
    // fields and 2 extended properties.
    assert_eq!(set_all_fields(&contact).len(), 24 + 3 + 5 + 1 + 7 + 10 + 2);
}

#[test]
fn update_for_item_sets_what_exchange_requires_per_kind() {
    use ews_client::ops::{MessageDisposition, SendMeetingInvitationsOrCancellations, UpdateItem};
    let calendar = Item::CalendarItem(CalendarItem::default());
    let update = UpdateItem::for_item(&calendar, ItemId::new("C"), vec![]);
    assert_eq!(
        update.send_meeting_invitations_or_cancellations,
        Some(SendMeetingInvitationsOrCancellations::SendToNone)
    );
    assert_eq!(update.message_disposition, None);
    let message = Item::Message(Message::default());
    let update = UpdateItem::for_item(&message, ItemId::new("M"), vec![]);
    assert_eq!(
        update.message_disposition,
        Some(MessageDisposition::SaveOnly)
    );
    let contact = Item::Contact(Contact::default());
    let update = UpdateItem::for_item(&contact, ItemId::new("P"), vec![]);
    assert_eq!(update.message_disposition, None);
    assert_eq!(update.send_meeting_invitations_or_cancellations, None);
    assert_eq!(update.item_changes.len(), 1);
}

/// `new`'s writable fields equal `expected`'s: no change would be computed between them.
fn assert_same_writable(new: &Item, expected: &Item) {
    let left: Vec<_> = item_changes(new, expected)
        .unwrap()
        .iter()
        .map(describe)
        .collect();
    assert!(left.is_empty(), "still differs: {left:?}");
}

#[test]
fn applying_the_computed_changes_reproduces_the_new_version() {
    use ews_client::ops::apply_changes;
    // From empty to full and back, for every kind.
    for full in all_full_items() {
        let mut built = full.empty_like();
        apply_changes(&mut built, &set_all_fields(&full)).unwrap();
        assert_same_writable(&built, &full);
        let changes = item_changes(&full, &full.empty_like()).unwrap();
        let mut emptied = full.clone();
        apply_changes(&mut emptied, &changes).unwrap();
        assert_same_writable(&emptied, &full.empty_like());
    }
    // A mixed edit of a contact, including address parts and dictionary entries.
    let old = full_contact();
    let mut new = old.clone();
    new.surname = Some("Smith".into());
    new.nickname = None;
    new.email_addresses.remove(1);
    new.phone_numbers[0].number = "+49 30 9999".into();
    new.physical_addresses[0].city = Some("Hamburg".into());
    new.physical_addresses.remove(2);
    new.common.extended_properties.clear();
    let (old, new) = (Item::Contact(old), Item::Contact(new));
    let mut updated = old.clone();
    apply_changes(&mut updated, &item_changes(&old, &new).unwrap()).unwrap();
    assert_same_writable(&updated, &new);
    let contact = updated.as_contact().unwrap();
    assert!(
        contact.address(PhysicalAddressKey::Other).is_none(),
        "emptied entry removed"
    );
    // Read-only fields are untouched.
    assert_eq!(updated.common().item_id, old.common().item_id);
}

#[test]
fn append_extends_lists_and_bodies() {
    let mut item = Item::Message(full_message());
    let to_before = item.as_message().unwrap().to_recipients.len();
    ItemChangeDescription::Append {
        path: PropertyPath::field("message:ToRecipients"),
        item: Item::Message(Message {
            to_recipients: vec![EmailAddress::smtp("new@example.com", None)],
            ..Message::default()
        }),
    }
    .apply_to(&mut item)
    .unwrap();
    let m = item.as_message().unwrap();
    assert_eq!(m.to_recipients.len(), to_before + 1);
    assert_eq!(
        m.to_recipients.last().unwrap().email_address.as_deref(),
        Some("new@example.com")
    );
    let mut body_item = Item::Message(full_message());
    let before = body_item.common().body.clone().unwrap().content;
    ItemChangeDescription::Append {
        path: PropertyPath::field("item:Body"),
        item: Item::Message(Message {
            common: ItemCommon {
                body: Some(Body::html("<p>PS</p>")),
                ..ItemCommon::default()
            },
            ..Message::default()
        }),
    }
    .apply_to(&mut body_item)
    .unwrap();
    assert_eq!(
        body_item.common().body.as_ref().unwrap().content,
        format!("{before}<p>PS</p>")
    );
}

#[test]
fn invalid_changes_are_typed_errors_and_change_nothing() {
    use ews_client::ops::{ChangeError, apply_changes};
    use ews_client::types::response::ResponseCode;
    let original = Item::Contact(full_contact());
    let set_subject = |item: Item| ItemChangeDescription::Set {
        path: PropertyPath::field("item:Subject"),
        item,
    };
    let cases: Vec<(ItemChangeDescription, ResponseCode)> = vec![
        (
            set_subject(Item::Task(Task::default())),
            ResponseCode::ErrorInvalidPropertySet,
        ),
        (
            ItemChangeDescription::delete_field("item:Size"),
            ResponseCode::ErrorInvalidPropertySet,
        ),
        (
            ItemChangeDescription::delete_field("calendar:Start"),
            ResponseCode::ErrorInvalidPropertySet,
        ),
        (
            ItemChangeDescription::Delete {
                path: PropertyPath::indexed("contacts:PhoneNumber", "CarPhoneX"),
            },
            ResponseCode::ErrorInvalidPropertySet,
        ),
        (
            set_subject(Item::Contact(Contact::default())),
            ResponseCode::ErrorIncorrectUpdatePropertyCount,
        ),
        (
            ItemChangeDescription::Set {
                path: PropertyPath::indexed("contacts:EmailAddress", "EmailAddress1"),
                item: Item::Contact(Contact::default()),
            },
            ResponseCode::ErrorIncorrectUpdatePropertyCount,
        ),
        (
            ItemChangeDescription::Append {
                path: PropertyPath::field("contacts:GivenName"),
                item: Item::Contact(Contact {
                    given_name: Some("x".into()),
                    ..Contact::default()
                }),
            },
            ResponseCode::ErrorInvalidPropertyAppend,
        ),
    ];
    for (change, code) in cases {
        let mut item = original.clone();
        let err: ChangeError = change.apply_to(&mut item).unwrap_err();
        assert_eq!(err.response_code(), code, "{err}");
        assert_eq!(item, original, "{err}: the item must be unchanged");
    }
    // A batch that fails half-way changes nothing.
    let mut item = original.clone();
    let batch = [
        ItemChangeDescription::delete_field("contacts:GivenName"),
        ItemChangeDescription::delete_field("item:DateTimeCreated"),
    ];
    let err = apply_changes(&mut item, &batch).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the property item:DateTimeCreated cannot be changed"
    );
    assert_eq!(item, original);
}

/// Every field URI of the modelled fields of each kind (writable and read-only).
const COMMON_URIS: &[&str] = &[
    "item:MimeContent",
    "item:ItemId",
    "item:ParentFolderId",
    "item:ItemClass",
    "item:Subject",
    "item:Sensitivity",
    "item:Body",
    "item:Attachments",
    "item:DateTimeReceived",
    "item:Size",
    "item:Categories",
    "item:Importance",
    "item:InReplyTo",
    "item:IsSubmitted",
    "item:IsDraft",
    "item:IsFromMe",
    "item:IsResend",
    "item:IsUnmodified",
    "item:InternetMessageHeaders",
    "item:DateTimeSent",
    "item:DateTimeCreated",
    "item:ReminderDueBy",
    "item:ReminderIsSet",
    "item:ReminderNextTime",
    "item:ReminderMinutesBeforeStart",
    "item:DisplayCc",
    "item:DisplayTo",
    "item:DisplayBcc",
    "item:HasAttachments",
    "item:Culture",
    "item:LastModifiedName",
    "item:LastModifiedTime",
    "item:IsAssociated",
    "item:ConversationId",
];

fn kind_uris(item: &Item) -> Vec<&'static str> {
    match item {
        Item::Contact(_) => vec![
            "contacts:FileAs",
            "contacts:FileAsMapping",
            "contacts:DisplayName",
            "contacts:GivenName",
            "contacts:Initials",
            "contacts:MiddleName",
            "contacts:Nickname",
            "contacts:CompleteName",
            "contacts:CompanyName",
            "contacts:EmailAddresses",
            "contacts:PhysicalAddresses",
            "contacts:PhoneNumbers",
            "contacts:AssistantName",
            "contacts:Birthday",
            "contacts:BusinessHomePage",
            "contacts:Children",
            "contacts:Companies",
            "contacts:Department",
            "contacts:Generation",
            "contacts:ImAddresses",
            "contacts:JobTitle",
            "contacts:Manager",
            "contacts:Mileage",
            "contacts:OfficeLocation",
            "contacts:PostalAddressIndex",
            "contacts:Profession",
            "contacts:SpouseName",
            "contacts:Surname",
            "contacts:WeddingAnniversary",
            "contacts:HasPicture",
        ],
        Item::CalendarItem(_) => vec![
            "calendar:UID",
            "calendar:RecurrenceId",
            "calendar:DateTimeStamp",
            "calendar:Start",
            "calendar:End",
            "calendar:OriginalStart",
            "calendar:IsAllDayEvent",
            "calendar:LegacyFreeBusyStatus",
            "calendar:Location",
            "calendar:When",
            "calendar:IsMeeting",
            "calendar:IsCancelled",
            "calendar:IsRecurring",
            "calendar:MeetingRequestWasSent",
            "calendar:IsResponseRequested",
            "calendar:CalendarItemType",
            "calendar:MyResponseType",
            "calendar:Organizer",
            "calendar:RequiredAttendees",
            "calendar:OptionalAttendees",
            "calendar:Resources",
            "calendar:ConflictingMeetingCount",
            "calendar:AdjacentMeetingCount",
            "calendar:Duration",
            "calendar:TimeZone",
            "calendar:AppointmentReplyTime",
            "calendar:AppointmentSequenceNumber",
            "calendar:AppointmentState",
            "calendar:Recurrence",
            "calendar:FirstOccurrence",
            "calendar:LastOccurrence",
            "calendar:ModifiedOccurrences",
            "calendar:DeletedOccurrences",
            "calendar:MeetingTimeZone",
            "calendar:StartTimeZone",
            "calendar:EndTimeZone",
            "calendar:ConferenceType",
            "calendar:AllowNewTimeProposal",
            "calendar:IsOnlineMeeting",
            "calendar:MeetingWorkspaceUrl",
            "calendar:NetShowUrl",
        ],
        Item::Task(_) => vec![
            "task:ActualWork",
            "task:AssignedTime",
            "task:BillingInformation",
            "task:ChangeCount",
            "task:Companies",
            "task:CompleteDate",
            "task:Contacts",
            "task:DelegationState",
            "task:Delegator",
            "task:DueDate",
            "task:IsAssignmentEditable",
            "task:IsComplete",
            "task:IsRecurring",
            "task:IsTeamTask",
            "task:Mileage",
            "task:Owner",
            "task:PercentComplete",
            "task:Recurrence",
            "task:StartDate",
            "task:Status",
            "task:StatusDescription",
            "task:TotalWork",
        ],
        Item::Message(_) => vec![
            "message:Sender",
            "message:ToRecipients",
            "message:CcRecipients",
            "message:BccRecipients",
            "message:IsReadReceiptRequested",
            "message:IsDeliveryReceiptRequested",
            "message:ConversationIndex",
            "message:ConversationTopic",
            "message:From",
            "message:InternetMessageId",
            "message:IsRead",
            "message:IsResponseRequested",
            "message:References",
            "message:ReplyTo",
            "message:ReceivedBy",
            "message:ReceivedRepresenting",
        ],
        _ => vec![],
    }
}

#[test]
fn projecting_onto_every_field_uri_keeps_the_whole_item() {
    use ews_client::ops::project;
    for full in all_full_items() {
        let mut paths: Vec<PropertyPath> = COMMON_URIS
            .iter()
            .chain(kind_uris(&full).iter())
            .map(|u| PropertyPath::field(*u))
            .collect();
        for prop in &full.common().extended_properties {
            paths.push(PropertyPath::Extended(prop.uri.clone()));
        }
        assert_eq!(project(&full, &paths), full, "{}", full.element_name());
    }
}

#[test]
fn projecting_onto_some_properties() {
    use ews_client::ops::project;
    let full = Item::Contact(full_contact());
    let paths = [
        PropertyPath::field("item:Subject"),
        PropertyPath::field("contacts:Surname"),
        PropertyPath::field("calendar:Start"), // not a contact field: ignored
        PropertyPath::indexed("contacts:EmailAddress", "EmailAddress2"),
        PropertyPath::indexed("contacts:PhysicalAddress:City", "Business"),
        PropertyPath::indexed("contacts:PhoneNumber", "Pager"), // unset: stays unset
        PropertyPath::Extended(crm_id_uri()),
    ];
    let projected = project(&full, &paths);
    let c = projected.as_contact().unwrap();
    let source = full.as_contact().unwrap();
    assert_eq!(c.common.item_id, source.common.item_id);
    assert_eq!(c.common.subject, source.common.subject);
    assert_eq!(c.surname.as_deref(), Some("Doe"));
    assert_eq!(c.given_name, None);
    assert_eq!(
        c.email_addresses,
        [EmailAddressEntry::new(
            EmailAddressKey::EmailAddress2,
            "jd@home.example"
        )]
    );
    let business = c.address(PhysicalAddressKey::Business).unwrap();
    assert_eq!(business.city.as_deref(), Some("Berlin"));
    assert_eq!(business.street, None);
    assert!(c.phone_numbers.is_empty());
    assert_eq!(c.common.extended_properties.len(), 1);
    assert_eq!(
        c.common
            .extended_property(&crm_id_uri())
            .unwrap()
            .as_single(),
        Some("contact:42")
    );
}
