#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! The mapping against a real (mock) Exchange over HTTP: every record of the test data is
//! created with `CreateItem`, read back with `GetItem` (all properties plus the correlation
//! key and the contact title property) and must give the same Record; then the update
//! changes of an edit are sent with `UpdateItem` and the item read back must give the
//! edited Record. No drift through a server round trip.

mod common;

use std::collections::BTreeMap;

use conaktiv_exchange::mapping::{FieldChange, Record, appointment, contact, key, task};
use conaktiv_model::{Appointment, ContactPerson, Task};
use ews_client::Client;
use ews_client::ops::{CreateItem, GetItem, UpdateItem};
use ews_client::types::shape::ItemShape;
use ews_client::types::{
    BaseFolderId, Contact, DistinguishedFolderName as D, Item, ItemId, PropertyPath,
};
use ews_mock::MockHandle;
use serde::Deserialize;
use serde_json::{Value, json};

const ORG: &str = r#"
[[users]]
address = "bob@contoso.test"
password = "bob-pw"
"#;

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

async fn start() -> (MockHandle, Client) {
    common::mock_and_client(ORG, "bob@contoso.test", "bob-pw").await
}

fn shape() -> ItemShape {
    ItemShape::all_properties().with_additional([
        key::record_id_path(),
        PropertyPath::Extended(Contact::title_property()),
    ])
}

async fn create(client: &Client, folder: D, mut item: Item, id: &str) -> ItemId {
    key::set_record_id(&mut item, id);
    let created = client
        .execute_single(&CreateItem::save(
            vec![item],
            Some(BaseFolderId::from(folder)),
        ))
        .await
        .unwrap();
    created.items[0].item_id().unwrap().clone()
}

async fn get(client: &Client, id: &ItemId) -> Item {
    let got = client
        .execute_single(&GetItem::new(shape(), [id.clone()]))
        .await
        .unwrap();
    got.items.into_iter().next().unwrap()
}

async fn update(client: &Client, like: &Item, id: &ItemId, changes: Vec<FieldChange>) -> ItemId {
    let r = client
        .execute_single(&UpdateItem::for_item(like, id.clone(), changes))
        .await
        .unwrap();
    r.items[0].item_id().cloned().unwrap_or_else(|| id.clone())
}

fn edit(base: &Record, edits: &[(&str, Value)]) -> Record {
    let mut r = base.clone();
    for (k, v) in edits {
        if v.is_null() {
            r.fields.remove(*k);
        } else {
            r.fields.insert((*k).to_owned(), v.clone());
        }
    }
    r
}

#[tokio::test]
async fn contacts_survive_create_get_and_update() {
    let (_mock, client) = start().await;
    for case in cases::<ContactPerson>("contacts.json") {
        let record = contact::crm_to_record(&case.crm);
        let like = Item::Contact(contact::record_to_ews(&record));
        let id = create(&client, D::Contacts, like.clone(), "K-1").await;
        let Item::Contact(back) = get(&client, &id).await else {
            panic!()
        };
        assert_eq!(contact::ews_to_record(&back), record, "{}", case.name);
        assert_eq!(key::record_id_of(&back.common), Some("K-1"));

        let new = edit(
            &record,
            &[
                ("address.business.city", json!("Potsdam")),
                ("phone.mobile", Value::Null),
                ("email.2", json!("privat@neu.example")),
                ("title", json!("Prof.")),
                ("notes", Value::Null),
            ],
        );
        let changes = contact::record_to_update_changes(&record, &new);
        let id = update(&client, &like, &id, changes).await;
        let Item::Contact(back) = get(&client, &id).await else {
            panic!()
        };
        assert_eq!(
            contact::ews_to_record(&back),
            new,
            "{}: after update",
            case.name
        );
    }
}

#[tokio::test]
async fn appointments_survive_create_get_and_update() {
    let (_mock, client) = start().await;
    for case in cases::<Appointment>("appointments.json") {
        let mut record = appointment::crm_to_record(&case.crm);
        // Occurrence exceptions go through occurrence items, not the master.
        record.fields.remove("recurrence.deleted");
        record.fields.remove("recurrence.modified");
        let like = Item::CalendarItem(appointment::record_to_ews(&record));
        let id = create(&client, D::Calendar, like.clone(), "T-1").await;
        let Item::CalendarItem(back) = get(&client, &id).await else {
            panic!()
        };
        assert_eq!(appointment::ews_to_record(&back), record, "{}", case.name);

        let new = edit(
            &record,
            &[
                ("subject", json!("Verschoben")),
                ("categories", Value::Null),
                ("reminder_minutes", json!(30)),
                ("busy_status", json!("tentative")),
                (
                    "attendees",
                    json!([{"address": "neu@kunde.example", "role": "optional", "response": "unknown"}]),
                ),
            ],
        );
        let changes = appointment::record_to_update_changes(&record, &new);
        let id = update(&client, &like, &id, changes).await;
        let Item::CalendarItem(back) = get(&client, &id).await else {
            panic!()
        };
        assert_eq!(
            appointment::ews_to_record(&back),
            new,
            "{}: after update",
            case.name
        );
    }
}

#[tokio::test]
async fn tasks_survive_create_get_and_update() {
    let (_mock, client) = start().await;
    for case in cases::<Task>("tasks.json") {
        let record = task::crm_to_record(&case.crm);
        let like = Item::Task(task::record_to_ews(&record));
        let id = create(&client, D::Tasks, like.clone(), "A-1").await;
        let Item::Task(back) = get(&client, &id).await else {
            panic!()
        };
        assert_eq!(task::ews_to_record(&back), record, "{}", case.name);

        let new = edit(
            &record,
            &[
                ("due_date", json!("2025-05-01")),
                ("status", json!("completed")),
                ("percent_complete", json!(100)),
                ("reminder", Value::Null),
            ],
        );
        let changes = task::record_to_update_changes(&record, &new);
        let id = update(&client, &like, &id, changes).await;
        let Item::Task(back) = get(&client, &id).await else {
            panic!()
        };
        assert_eq!(
            task::ews_to_record(&back),
            new,
            "{}: after update",
            case.name
        );
    }
}

#[tokio::test]
async fn a_crm_mail_written_to_a_folder_reads_back_as_the_same_mail() {
    use conaktiv_exchange::mapping::mail;
    use conaktiv_model::Mail;
    use conaktiv_model::mail::{Attachment, Direction, Mailbox};
    use ews_client::ops::GetAttachment;

    let (_mock, client) = start().await;
    let original = Mail {
        id: Some("M-1".into()),
        message_id: "out.7@agentur.example".into(),
        from: Some(Mailbox::new("Max Muster", "max@agentur.example")),
        to: vec![Mailbox::new("Anna Schmidt", "a.schmidt@kunde.example")],
        cc: vec![Mailbox::new("", "vertrieb@agentur.example")],
        subject: "Ihr Angebot".into(),
        date: Some("2025-03-11T14:15:16Z".parse().unwrap()),
        text_body: Some("Guten Tag,\nanbei das Angebot.".into()),
        attachments: vec![Attachment {
            name: "Angebot.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.7 \x00\x01".to_vec(),
        }],
        direction: Direction::Outgoing,
        ..Mail::default()
    };
    let created = client
        .execute_single(&CreateItem::save(
            vec![Item::Message(mail::mail_to_message(&original))],
            Some(BaseFolderId::from(D::SentItems)),
        ))
        .await
        .unwrap();
    let id = created.items[0].item_id().unwrap().clone();
    let shape = ItemShape::all_properties().with_additional(mail::additional_properties());
    let got = client
        .execute_single(&GetItem::new(shape, [id]))
        .await
        .unwrap();
    let Some(Item::Message(mut back)) = got.items.into_iter().next() else {
        panic!()
    };
    // Attachments come without content in GetItem: fetch them as the adapter does.
    let missing = mail::attachments_to_fetch(&back);
    if !missing.is_empty() {
        let fetched = client.execute(&GetAttachment::new(missing)).await.unwrap();
        back.common.attachments = fetched
            .messages
            .into_iter()
            .filter_map(|m| m.content.attachments.into_iter().next())
            .collect();
    }
    let mail = mail::message_to_mail(&back, Direction::Outgoing);
    assert_eq!(
        Mail {
            raw_headers: Vec::new(),
            ..mail
        },
        original
    );
}
