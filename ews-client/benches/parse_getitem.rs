//! Parses a GetItem response of 1,000 contacts with the typed reader and prints MB/s beside
//! a raw quick-xml event scan of the same bytes (the ceiling). Target: at least a third of
//! the ceiling.
//!
//! Run: `cargo bench -p ews-client --bench parse_getitem`
#![allow(clippy::unwrap_used)] // benchmark: a panic is a failed run

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use ews_client::envelope::{ServerVersionInfo, read_response, write_operation_response};
use ews_client::ops::{GetItem, ItemInfo};
use ews_client::types::contact::{
    EmailAddressEntry, EmailAddressKey, PhoneNumberEntry, PhoneNumberKey, PhysicalAddressEntry,
    PhysicalAddressKey,
};
use ews_client::types::response::{ResponseMessage, ResponseMessages};
use ews_client::types::{
    Body, Contact, ExtendedFieldUri, ExtendedProperty, FolderId, Item, ItemCommon, ItemId,
    MapiPropertyType,
};
use quick_xml::events::Event;

const CONTACTS: usize = 1000;

fn contact(n: usize) -> Item {
    let crm = ExtendedFieldUri::named(
        "c11ff724-aa03-4555-9952-8fa248a11c3e",
        "ConAktivId",
        MapiPropertyType::String,
    );
    let mut address = PhysicalAddressEntry::new(PhysicalAddressKey::Business);
    address.street = Some(format!("Hauptstraße {n}"));
    address.city = Some("München".into());
    address.postal_code = Some("80331".into());
    address.country_or_region = Some("Deutschland".into());
    Item::Contact(Contact {
        common: ItemCommon {
            item_id: Some(ItemId::with_change_key(
                format!(
                    "AAMkADk0NzNhZmJlLWQ3YTEtNGQ5My1hZWQ0LWY5ZjVlYTNlMzY0OQBGAAAAAAAkzvGvFjcvSrdPxW2JmmQ8BwBGTmQ8z8ISRKAu2EHcNEbwAAAAAAEOAAB{n:06}AAA="
                ),
                "EQAAABYAAABGTmQ8z8ISRKAu2EHcNEbwAAAnXf6K",
            )),
            parent_folder_id: Some(FolderId::new(
                "AAMkADk0NzNhZmJlLWQ3YTEtNGQ5My1hZWQ0LWY5ZjVlYTNlMzY0OQAuAAAAAAAkzvGvFjcvSrdPxW2JmmQ8AQBGTmQ8z8ISRKAu2EHcNEbwAAAAAAEOAAA=",
            )),
            item_class: Some("IPM.Contact".into()),
            subject: Some(format!("Müller, Anna {n}")),
            body: Some(Body::text(format!(
                "Kundin seit 2019. Notizen zu Kontakt {n}: bevorzugt Anrufe am Vormittag."
            ))),
            date_time_created: Some(Utc.with_ymd_and_hms(2024, 5, 1, 9, 30, 0).unwrap()),
            last_modified_time: Some(Utc.with_ymd_and_hms(2026, 3, 2, 14, 5, 0).unwrap()),
            categories: vec!["Kunde".into(), "CRM".into()],
            extended_properties: vec![ExtendedProperty::string(crm, format!("contact:{n}"))],
            ..ItemCommon::default()
        },
        file_as: Some(format!("Müller, Anna {n}")),
        display_name: Some(format!("Anna Müller {n}")),
        given_name: Some("Anna".into()),
        company_name: Some("Contoso GmbH & Co. KG".into()),
        job_title: Some("Einkauf".into()),
        department: Some("Beschaffung".into()),
        email_addresses: vec![
            EmailAddressEntry::new(
                EmailAddressKey::EmailAddress1,
                format!("anna.mueller{n}@contoso.com"),
            ),
            EmailAddressEntry::new(
                EmailAddressKey::EmailAddress2,
                format!("anna{n}@example.org"),
            ),
        ],
        phone_numbers: vec![
            PhoneNumberEntry::new(PhoneNumberKey::BusinessPhone, "+49 89 1234567"),
            PhoneNumberEntry::new(PhoneNumberKey::MobilePhone, format!("+49 171 {n:07}")),
        ],
        physical_addresses: vec![address],
        ..Contact::default()
    })
}

fn document() -> Vec<u8> {
    let response = ResponseMessages::new(
        (0..CONTACTS)
            .map(|n| {
                ResponseMessage::success(ItemInfo {
                    items: vec![contact(n)],
                })
            })
            .collect(),
    );
    let info = ServerVersionInfo {
        major_version: Some(15),
        minor_version: Some(2),
        major_build_number: Some(1544),
        minor_build_number: Some(4),
        version: Some("V2017_07_11".into()),
    };
    write_operation_response::<GetItem>(Some(&info), &response)
}

/// Runs `f` repeatedly for about `budget` and returns MB/s over `bytes`.
fn throughput(bytes: usize, budget: Duration, mut f: impl FnMut()) -> (f64, u32) {
    f(); // warm up
    let started = Instant::now();
    let mut runs = 0u32;
    while started.elapsed() < budget || runs < 3 {
        f();
        runs += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    ((bytes as f64 * f64::from(runs)) / secs / 1_000_000.0, runs)
}

fn raw_scan(bytes: &[u8]) -> usize {
    let mut reader = quick_xml::NsReader::from_reader(bytes);
    let mut events = 0usize;
    loop {
        match reader.read_resolved_event() {
            Ok((_, Event::Eof)) => break,
            Ok((_, Event::Text(t))) => {
                // The typed reader unescapes text; so does the ceiling.
                black_box(t.unescape().map(|s| s.len()).unwrap_or(0));
                events += 1;
            }
            Ok(_) => events += 1,
            Err(e) => panic!("{e}"),
        }
    }
    events
}

fn main() {
    let bytes = document();
    let mb = bytes.len() as f64 / 1_000_000.0;
    // Sanity: the typed parse sees every contact.
    let parsed = read_response::<GetItem>(&bytes).unwrap().body.unwrap();
    assert_eq!(parsed.messages.len(), CONTACTS);
    assert!(matches!(
        parsed.messages[999].content.items[0],
        Item::Contact(_)
    ));

    let budget = Duration::from_secs(3);
    let (ceiling, raw_runs) = throughput(bytes.len(), budget, || {
        black_box(raw_scan(black_box(&bytes)));
    });
    let (typed, typed_runs) = throughput(bytes.len(), budget, || {
        let resp = read_response::<GetItem>(black_box(&bytes)).unwrap();
        black_box(resp);
    });
    println!("GetItem response: {CONTACTS} contacts, {mb:.2} MB");
    println!("raw quick-xml event scan (ceiling): {ceiling:8.1} MB/s ({raw_runs} runs)");
    println!("typed GetItem parse:                {typed:8.1} MB/s ({typed_runs} runs)");
    let ratio = typed / ceiling;
    println!(
        "typed / ceiling = {ratio:.2} (target >= 0.33: {})",
        if ratio >= 1.0 / 3.0 { "met" } else { "NOT met" }
    );
}
