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
