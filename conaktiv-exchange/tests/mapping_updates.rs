#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! `record_to_update_changes`: a changed field gives exactly one `SetItemField` holding only
//! the new value, a removed field exactly one `DeleteItemField`, with the right field URI or
//! indexed field URI. Table-driven: (field, new value or null, expected change, path).

use conaktiv_exchange::mapping::{FieldChange, Record, appointment, contact, key, task};
use ews_client::types::contact::{PhysicalAddressEntry, PhysicalAddressKey};
use ews_client::types::{Contact, Item, PropertyPath};
use serde_json::{Value, json};

fn base_contact() -> Record {
    let mut r = Record::new();
    for (k, v) in [
        ("title", json!("Dr.")),
        ("given_name", json!("Anna")),
        ("surname", json!("Schmidt")),
        ("display_name", json!("Anna Schmidt")),
        ("email.1", json!("a.schmidt@kunde.example")),
        ("email.1.name", json!("Anna Schmidt")),
        ("phone.mobile", json!("+49 170 1")),
        ("address.business.city", json!("Berlin")),
        ("address.business.street", json!("Hauptstraße 1")),
        ("birthday", json!("1980-05-17")),
        ("categories", json!(["Kunde"])),
    ] {
        r.fields.insert(k.into(), v);
    }
    r
}

fn path_text(p: &PropertyPath) -> String {
    match p {
        PropertyPath::Field(u) => u.clone(),
        PropertyPath::Indexed {
            field_uri,
            field_index,
        } => format!("{field_uri}/{field_index}"),
        PropertyPath::Extended(e) => format!(
            "extended:{}",
            e.property_tag
                .clone()
                .or(e.property_name.clone())
                .unwrap_or_default()
        ),
    }
}

fn describe(changes: &[FieldChange]) -> Vec<String> {
    changes
        .iter()
        .map(|c| match c {
            FieldChange::Set { path, .. } => format!("set {}", path_text(path)),
            FieldChange::Delete { path } => format!("delete {}", path_text(path)),
            other => format!("{other:?}"),
        })
        .collect()
}

fn with(base: &Record, field: &str, value: Value) -> Record {
    let mut r = base.clone();
    if value.is_null() {
        r.fields.remove(field);
    } else {
        r.fields.insert(field.into(), value);
    }
    r
}

#[test]
fn contact_changes() {
    let table: &[(&str, Value, &[&str])] = &[
        (
            "address.business.city",
            json!("Potsdam"),
            &["set contacts:PhysicalAddress:City/Business"],
        ),
        (
            "address.business.city",
            Value::Null,
            &["delete contacts:PhysicalAddress:City/Business"],
        ),
        (
            "address.home.postal_code",
            json!("80331"),
            &["set contacts:PhysicalAddress:PostalCode/Home"],
        ),
        (
            "phone.mobile",
            Value::Null,
            &["delete contacts:PhoneNumber/MobilePhone"],
        ),
        (
            "phone.fax",
            json!("+49 30 2"),
            &["set contacts:PhoneNumber/BusinessFax"],
        ),
        (
            "email.1",
            json!("anna@neu.example"),
            &["set contacts:EmailAddress/EmailAddress1"],
        ),
        (
            "email.1.name",
            json!("A. Schmidt"),
            &["set contacts:EmailAddress/EmailAddress1"],
        ),
        (
            "email.3",
            json!("x@y.example"),
            &["set contacts:EmailAddress/EmailAddress3"],
        ),
        ("given_name", json!("Anne"), &["set contacts:GivenName"]),
        ("suffix", json!("jun."), &["set contacts:Generation"]),
        ("birthday", Value::Null, &["delete contacts:Birthday"]),
        ("notes", json!("Neu"), &["set item:Body"]),
        ("categories", Value::Null, &["delete item:Categories"]),
        ("title", json!("Prof."), &["set extended:0x3A45"]),
    ];
    let base = base_contact();
    assert!(contact::record_to_update_changes(&base, &base).is_empty());
    for (field, value, expected) in table {
        let new = with(&base, field, value.clone());
        let changes = contact::record_to_update_changes(&base, &new);
        assert_eq!(describe(&changes), *expected, "{field} = {value}");
    }
}

#[test]
fn a_set_holds_only_the_new_value() {
    let base = base_contact();
    let new = with(&base, "address.business.city", json!("Potsdam"));
    let changes = contact::record_to_update_changes(&base, &new);
    let [FieldChange::Set { item, .. }] = &changes[..] else {
        panic!("{changes:?}")
    };
    let mut entry = PhysicalAddressEntry::new(PhysicalAddressKey::Business);
    entry.city = Some("Potsdam".into());
    let expected = Contact {
        physical_addresses: vec![entry],
        ..Contact::default()
    };
    assert_eq!(item, &Item::Contact(expected));

    let new = with(&base, "email.1.name", json!("A. Schmidt"));
    let changes = contact::record_to_update_changes(&base, &new);
    let [
        FieldChange::Set {
            item: Item::Contact(c),
            ..
        },
    ] = &changes[..]
    else {
        panic!("{changes:?}")
    };
    assert_eq!(c.email_addresses.len(), 1);
    assert_eq!(c.email_addresses[0].address, "a.schmidt@kunde.example");
    assert_eq!(c.email_addresses[0].name.as_deref(), Some("A. Schmidt"));
    assert_eq!(c.given_name, None);
}

fn base_appointment() -> Record {
    let mut r = Record::new();
    for (k, v) in [
        ("subject", json!("Jour fixe")),
        ("start", json!("2025-03-10T08:00:00Z")),
        ("end", json!("2025-03-10T09:00:00Z")),
        ("start_tz", json!("Europe/Berlin")),
        ("end_tz", json!("Europe/Berlin")),
        ("all_day", json!(false)),
        ("reminder_minutes", json!(15)),
        ("categories", json!(["Kunde"])),
        ("sensitivity", json!("normal")),
        ("busy_status", json!("busy")),
        (
            "attendees",
            json!([{"address": "a@x.example", "role": "required", "response": "unknown"}]),
        ),
    ] {
        r.fields.insert(k.into(), v);
    }
    r
}

#[test]
fn appointment_changes() {
    let table: &[(&str, Value, &[&str])] = &[
        ("subject", json!("Jour fixe (neu)"), &["set item:Subject"]),
        ("location", json!("Raum 1"), &["set calendar:Location"]),
        ("categories", Value::Null, &["delete item:Categories"]),
        (
            "start",
            json!("2025-03-10T08:30:00Z"),
            &["set calendar:Start"],
        ),
        (
            "end_tz",
            json!("America/New_York"),
            &["set calendar:EndTimeZone"],
        ),
        (
            "busy_status",
            json!("free"),
            &["set calendar:LegacyFreeBusyStatus"],
        ),
        ("sensitivity", json!("private"), &["set item:Sensitivity"]),
        // No reminder: ReminderIsSet false, one change.
        ("reminder_minutes", Value::Null, &["set item:ReminderIsSet"]),
        (
            "reminder_minutes",
            json!(30),
            &[
                "set item:ReminderIsSet",
                "set item:ReminderMinutesBeforeStart",
            ],
        ),
        (
            "attendees",
            json!([
                {"address": "a@x.example", "role": "required", "response": "unknown"},
                {"address": "b@x.example", "role": "optional", "response": "unknown"}
            ]),
            &["set calendar:OptionalAttendees"],
        ),
        (
            "attendees",
            Value::Null,
            &["delete calendar:RequiredAttendees"],
        ),
        (
            "recurrence",
            json!({"pattern": "daily", "interval": 1, "start_date": "2025-03-10", "end": "never"}),
            &["set calendar:Recurrence"],
        ),
    ];
    let base = base_appointment();
    assert!(appointment::record_to_update_changes(&base, &base).is_empty());
    for (field, value, expected) in table {
        let new = with(&base, field, value.clone());
        let changes = appointment::record_to_update_changes(&base, &new);
        assert_eq!(describe(&changes), *expected, "{field} = {value}");
    }
}

#[test]
fn all_day_zone_change_moves_start_and_end() {
    let mut base = base_appointment();
    base.fields.insert("all_day".into(), json!(true));
    base.fields.insert("start".into(), json!("2025-03-10"));
    base.fields.insert("end".into(), json!("2025-03-11"));
    let mut new = base.clone();
    new.fields.insert("start_tz".into(), json!("Asia/Tokyo"));
    new.fields.insert("end_tz".into(), json!("Asia/Tokyo"));
    let changes = appointment::record_to_update_changes(&base, &new);
    let mut got = describe(&changes);
    got.sort();
    assert_eq!(
        got,
        vec![
            "set calendar:End",
            "set calendar:EndTimeZone",
            "set calendar:Start",
            "set calendar:StartTimeZone"
        ]
    );
}

#[test]
fn task_changes() {
    let mut base = Record::new();
    for (k, v) in [
        ("subject", json!("Angebot")),
        ("due_date", json!("2025-04-05")),
        ("status", json!("not_started")),
        ("percent_complete", json!(0)),
        ("importance", json!("normal")),
        ("sensitivity", json!("normal")),
        ("reminder", json!("2025-04-04T07:30:00Z")),
    ] {
        base.fields.insert(k.into(), v);
    }
    let table: &[(&str, Value, &[&str])] = &[
        ("due_date", json!("2025-04-06"), &["set task:DueDate"]),
        ("due_date", Value::Null, &["delete task:DueDate"]),
        ("start_date", json!("2025-04-01"), &["set task:StartDate"]),
        ("status", json!("in_progress"), &["set task:Status"]),
        ("percent_complete", json!(40), &["set task:PercentComplete"]),
        ("importance", json!("high"), &["set item:Importance"]),
        ("body", json!("Text"), &["set item:Body"]),
        ("reminder", Value::Null, &["set item:ReminderIsSet"]),
    ];
    assert!(task::record_to_update_changes(&base, &base).is_empty());
    for (field, value, expected) in table {
        let new = with(&base, field, value.clone());
        let changes = task::record_to_update_changes(&base, &new);
        assert_eq!(describe(&changes), *expected, "{field} = {value}");
    }
}

#[test]
fn record_id_change_is_one_set_of_the_extended_property() {
    let like = Item::Contact(Contact::default());
    let change = key::record_id_change(&like, "K-1");
    assert_eq!(
        describe(std::slice::from_ref(&change)),
        ["set extended:ConAktivRecordId"]
    );
}
