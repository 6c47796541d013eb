#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! The items and changes the mapping builds are valid EWS requests: `CreateItem` with every
//! record of the test data (with the correlation key) and `UpdateItem` with the changes from
//! an empty record to the full one (all `SetItemField`) and back (all `DeleteItemField`),
//! validated with xmllint against the vendored EWS schema.

use std::collections::BTreeMap;

use conaktiv_exchange::mapping::{FieldChange, Record, appointment, contact, key, mail, task};
use conaktiv_model::{Appointment, ContactPerson, Mail, Task};
use ews_client::envelope::{RequestHeaders, write_request};
use ews_client::ops::{CreateItem, UpdateItem};
use ews_client::schema::validate_in_test;
use ews_client::types::{Item, ItemId};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Case<T> {
    name: String,
    crm: T,
    #[allow(dead_code)]
    record: BTreeMap<String, Value>,
}

fn cases<T: for<'de> Deserialize<'de>>(file: &str) -> Vec<Case<T>> {
    let path = format!("{}/tests/data/mapping/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn requests(
    name: &str,
    record: &Record,
    item: Item,
    changes: impl Fn(&Record, &Record) -> Vec<FieldChange>,
) -> Vec<(String, Vec<u8>)> {
    let headers = RequestHeaders::default();
    let mut created = item.clone();
    key::set_record_id(&mut created, "CRM-1");
    let create = write_request(&headers, &CreateItem::save(vec![created], None));
    let mut out = vec![(format!("{name}: create"), create)];
    for (what, old, new) in [
        ("set", Record::new(), record.clone()),
        ("delete", record.clone(), Record::new()),
    ] {
        let updates = changes(&old, &new);
        if updates.is_empty() {
            continue;
        }
        let update = UpdateItem::for_item(&item, ItemId::with_change_key("AAMk1", "CK1"), updates);
        out.push((
            format!("{name}: update {what}"),
            write_request(&headers, &update),
        ));
    }
    let key_change = key::record_id_change(&item, "CRM-1");
    let update = UpdateItem::for_item(&item, ItemId::new("AAMk1"), vec![key_change]);
    out.push((format!("{name}: set key"), write_request(&headers, &update)));
    out
}

#[test]
fn created_items_and_update_changes_validate_against_the_schema() {
    let mut docs: Vec<(String, Vec<u8>)> = Vec::new();
    for case in cases::<ContactPerson>("contacts.json") {
        let r = contact::crm_to_record(&case.crm);
        let item = Item::Contact(contact::record_to_ews(&r));
        docs.extend(requests(
            &format!("contact {}", case.name),
            &r,
            item,
            contact::record_to_update_changes,
        ));
    }
    for case in cases::<Appointment>("appointments.json") {
        let r = appointment::crm_to_record(&case.crm);
        let item = Item::CalendarItem(appointment::record_to_ews(&r));
        docs.extend(requests(
            &format!("appointment {}", case.name),
            &r,
            item,
            appointment::record_to_update_changes,
        ));
        let mut no_exceptions = r.clone();
        no_exceptions.fields.remove("recurrence.deleted");
        no_exceptions.fields.remove("recurrence.modified");
        for change in appointment::occurrence_changes(&no_exceptions, &r) {
            if let appointment::OccurrenceChange::Modify { item, .. } = change {
                let changes = ews_client::ops::set_all_fields(&Item::CalendarItem(*item.clone()));
                let update =
                    UpdateItem::for_item(&Item::CalendarItem(*item), ItemId::new("Occ"), changes);
                docs.push((
                    format!("appointment {}: occurrence", case.name),
                    write_request(&RequestHeaders::default(), &update),
                ));
            }
        }
    }
    for case in cases::<Task>("tasks.json") {
        let r = task::crm_to_record(&case.crm);
        let item = Item::Task(task::record_to_ews(&r));
        docs.extend(requests(
            &format!("task {}", case.name),
            &r,
            item,
            task::record_to_update_changes,
        ));
    }
    let mail = Mail {
        id: Some("M-1".into()),
        message_id: "a@b.example".into(),
        from: Some(conaktiv_model::mail::Mailbox::new("A", "a@b.example")),
        to: vec![conaktiv_model::mail::Mailbox::new("", "c@d.example")],
        subject: "Betreff".into(),
        date: Some("2025-03-10T08:00:00Z".parse().unwrap()),
        text_body: Some("Text".into()),
        attachments: vec![conaktiv_model::mail::Attachment {
            name: "a.txt".into(),
            content_type: "text/plain".into(),
            bytes: b"x".to_vec(),
        }],
        ..Mail::default()
    };
    let create = CreateItem::save(vec![Item::Message(mail::mail_to_message(&mail))], None);
    docs.push((
        "mail: create".into(),
        write_request(&RequestHeaders::default(), &create),
    ));

    assert!(docs.len() > 20);
    let refs: Vec<(&str, &[u8])> = docs
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    validate_in_test(&refs).unwrap();
}
