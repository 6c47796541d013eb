#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! Contacts: CRM <-> Record <-> EWS, data-driven from `tests/data/mapping/contacts.json`
//! (CRM record and its expected Record) and `contact_ews.xml` (an item as Exchange returns
//! it) with `contact_ews.json`.

mod common;

use common::{data, read_item, through_xml};
use std::collections::BTreeMap;

use conaktiv_exchange::mapping::contact::{
    crm_to_record, ews_to_record, record_onto_crm, record_to_ews,
};
use conaktiv_exchange::mapping::key;
use conaktiv_model::{ContactId, ContactPerson, CustomerId};
use ews_client::types::{Contact, Item};
use serde::Deserialize;
use serde_json::Value;
use sync_core::Record;

#[derive(Deserialize)]
struct Case {
    name: String,
    crm: ContactPerson,
    record: BTreeMap<String, Value>,
}

fn cases() -> Vec<Case> {
    serde_json::from_str(&data("contacts.json")).unwrap()
}

fn parse_contact(xml: &str) -> Contact {
    match read_item(xml) {
        Item::Contact(c) => c,
        other => panic!("not a contact: {other:?}"),
    }
}

#[test]
fn crm_to_record_gives_the_canonical_record() {
    for case in cases() {
        assert_eq!(
            crm_to_record(&case.crm).fields,
            case.record,
            "{}",
            case.name
        );
    }
}

#[test]
fn crm_record_ews_record_crm_round_trip_keeps_everything() {
    for case in cases() {
        let record = crm_to_record(&case.crm);
        let ews = through_xml(&record_to_ews(&record), "Contact");
        let back = ews_to_record(&ews);
        assert_eq!(back, record, "{}: EWS round trip", case.name);

        // Onto the original: nothing changes at all (no drift, CRM spelling kept).
        let mut same = case.crm.clone();
        record_onto_crm(&back, &mut same);
        assert_eq!(same, case.crm, "{}: applied onto the original", case.name);

        // Onto a CRM record holding only CRM-only fields: those stay, mapped fields arrive.
        let mut fresh = ContactPerson {
            id: Some(ContactId::new("K-X")),
            customer: Some(CustomerId::new("C-X")),
            ..ContactPerson::default()
        };
        record_onto_crm(&back, &mut fresh);
        assert_eq!(fresh.id, Some(ContactId::new("K-X")), "{}", case.name);
        assert_eq!(
            fresh.customer,
            Some(CustomerId::new("C-X")),
            "{}",
            case.name
        );
        assert_eq!(crm_to_record(&fresh), record, "{}: fresh CRM", case.name);
    }
}

#[test]
fn ews_record_crm_record_round_trip() {
    let contact = parse_contact(&data("contact_ews.xml"));
    let expected: BTreeMap<String, Value> =
        serde_json::from_str(&data("contact_ews.json")).unwrap();
    let record = ews_to_record(&contact);
    assert_eq!(record.fields, expected);
    assert_eq!(
        key::record_id(&Item::Contact(contact.clone())),
        Some("K-100")
    );

    let mut crm = ContactPerson::default();
    record_onto_crm(&record, &mut crm);
    assert_eq!(crm_to_record(&crm), record);
    // The private address came from slot 3 (other); Exchange's display name stays explicit.
    assert_eq!(crm.display_name, "Anna Schmidt");
    assert_eq!(crm.name.title, "Dr.");
    assert_eq!(crm.emails.len(), 2);

    // And back to Exchange: the same record again.
    assert_eq!(
        ews_to_record(&through_xml(&record_to_ews(&record), "Contact")),
        record
    );
}

#[test]
fn fields_one_side_lacks_are_left_alone() {
    // Exchange-only fields (assistant, initials, file-as, other phone kinds) do not enter
    // the record; writing the record back creates none of them.
    let contact = parse_contact(&data("contact_ews.xml"));
    let record = ews_to_record(&contact);
    assert!(record.fields.keys().all(|k| !k.contains("assistant")));
    let written = record_to_ews(&record);
    assert_eq!(written.assistant_name, None);
    assert_eq!(written.file_as, None);
    assert!(
        written
            .phone_numbers
            .iter()
            .all(|p| p.key.as_str() != "AssistantPhone")
    );

    // A removed mobile number removes only the CRM's first mobile entry.
    let mut crm = cases().into_iter().nth(2).unwrap().crm;
    let mut rec = crm_to_record(&crm);
    rec.fields.remove("phone.mobile");
    record_onto_crm(&rec, &mut crm);
    assert_eq!(crm.phones.len(), 1);
    assert_eq!(crm.phones[0].number, "+49 171 2");
    assert_eq!(crm.customer, Some(CustomerId::new("C-9")));
}

#[test]
fn derived_display_name_stays_derived() {
    let case = cases().into_iter().next().unwrap();
    assert!(case.crm.display_name.is_empty());
    let mut rec: Record = crm_to_record(&case.crm);
    // The surname changes on Exchange; Exchange recomputes the display name accordingly.
    rec.fields.insert("surname".into(), "Schmidt-Lang".into());
    rec.fields.insert(
        "display_name".into(),
        "Dr. Anna Maria Schmidt-Lang jun.".into(),
    );
    let mut crm = case.crm.clone();
    record_onto_crm(&rec, &mut crm);
    assert_eq!(crm.name.surname, "Schmidt-Lang");
    assert_eq!(crm.display_name, "", "still derived from the name parts");
    assert_eq!(crm_to_record(&crm), rec);
}
