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
