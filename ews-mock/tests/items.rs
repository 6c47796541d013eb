//! Creating, updating and sending items, attachments, over HTTP with `ews-client`'s types;
//! every response is validated against the EWS schema.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use common::*;
use ews_client::ops::{
    ConflictResolution, CreateAttachment, CreateItem, GetAttachment, GetItem, SavedCopy, SendItem,
    SyncFolderItems, SyncItemChange, UpdateItem, field_change,
};
use ews_client::types::shape::ItemShape;
use ews_client::types::{
    Attachment, BaseFolderId, Contact, DistinguishedFolderName as D, EmailAddress, FileAttachment,
    Item, ItemId, Message, PropertyPath,
};

fn contact(given: &str, surname: &str) -> Item {
    let mut c = Contact {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        ..Contact::default()
    };
    c.common.subject = Some(format!("{given} {surname}"));
    Item::Contact(c)
}

fn message(subject: &str, to: &[&str]) -> Item {
    let mut m = Message::default();
    m.common.subject = Some(subject.into());
    m.to_recipients = to.iter().map(|a| EmailAddress::smtp(*a, None)).collect();
    Item::Message(m)
}

#[tokio::test]
async fn create_update_with_change_keys_and_conflicts() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let created = ews
        .call(&CreateItem::save(vec![contact("Eva", "Klein")], None))
        .await;
    assert_eq!(codes(&created), ["NoError"]);
    let id = created.messages[0].content.items[0]
        .item_id()
        .unwrap()
        .clone();
    assert!(
        mock.mailbox("bob@contoso.test")
            .unwrap()
            .items_in("contacts")
            .any(|i| i.id == id.id)
    );

    let sync0 = ews
        .call(&SyncFolderItems::new(
            BaseFolderId::from(D::Contacts),
            ItemShape::id_only(),
            None,
            100,
        ))
        .await;
    let state = sync0.messages[0].content.sync_state.clone();

    let mut changed = contact("Eve", "Klein");
    changed.common_mut().item_id = Some(id.clone());
    let set_given = field_change(&changed, &PropertyPath::field("contacts:GivenName"));
    let update = UpdateItem::for_item(&changed, id.clone(), vec![set_given.clone()]);
    let r = ews.call(&update).await;
    assert_eq!(codes(&r), ["NoError"]);
    let new_id = r.messages[0].content.items[0].item_id().unwrap().clone();
    assert_eq!(
        new_id.id, id.id,
        "the id stays while the item stays in its folder"
    );
    assert_ne!(
        new_id.change_key, id.change_key,
        "every change gives a new change key"
    );

    // the old change key is stale: AutoResolve fails, AlwaysOverwrite wins
    let stale = ews
        .call(&UpdateItem::for_item(
            &changed,
            id.clone(),
            vec![set_given.clone()],
        ))
        .await;
    assert_eq!(codes(&stale), ["ErrorIrresolvableConflict"]);
    let mut overwrite = UpdateItem::for_item(
        &changed,
        id.clone(),
        vec![field_change(
            &contact("Evi", "K"),
            &PropertyPath::field("contacts:GivenName"),
        )],
    );
    overwrite.conflict_resolution = ConflictResolution::AlwaysOverwrite;
    assert_eq!(codes(&ews.call(&overwrite).await), ["NoError"]);

    let got = ews
        .call(&GetItem::new(ItemShape::all_properties(), vec![id.clone()]))
        .await;
    let Item::Contact(c) = &got.messages[0].content.items[0] else {
        panic!()
    };
    assert_eq!(c.given_name.as_deref(), Some("Evi"));
    assert_eq!(c.surname.as_deref(), Some("Klein"));

    let sync1 = ews
        .call(&SyncFolderItems::new(
            BaseFolderId::from(D::Contacts),
            ItemShape::id_only(),
            state,
            100,
        ))
        .await;
    let changes = &sync1.messages[0].content.changes;
    assert!(
        matches!(&changes[..], [SyncItemChange::Update(i)] if i.item_id().unwrap().id == id.id),
        "{changes:?}"
    );
    ews.validate();
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn sending_delivers_inside_the_organisation_and_queues_external_mail() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let sent = ews
        .call(&CreateItem::send(
            message(
                "Hello",
                &["alice@contoso.test", "team@contoso.test", "ext@example.org"],
            ),
            SavedCopy::InSentItems,
        ))
        .await;
    assert_eq!(codes(&sent), ["NoError"]);
    let alice = mock.mailbox("alice@contoso.test").unwrap();
    let inbox: Vec<_> = alice.items_in("inbox").collect();
    assert_eq!(
        inbox.len(),
        1,
        "one copy even though alice is also in the group"
    );
    let Some(Item::Message(got)) = inbox[0].item() else {
        panic!()
    };
    assert_eq!(got.is_read, Some(false));
    assert_eq!(
        got.from.as_ref().unwrap().email_address.as_deref(),
        Some("bob@contoso.test")
    );
    let bob = mock.mailbox("bob@contoso.test").unwrap();
    assert_eq!(bob.items_in("sentitems").count(), 1);
    assert_eq!(bob.items_in("inbox").count(), 1, "bob is in the team group");
    let outbox = mock.outbox();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].recipients, ["ext@example.org"]);
    assert_eq!(outbox[0].message.common().subject.as_deref(), Some("Hello"));

    // SendOnly keeps no copy; no recipients is an error
    ews.call(&CreateItem::send(
        message("Quiet", &["alice@contoso.test"]),
        SavedCopy::Discard,
    ))
    .await;
    assert_eq!(
        mock.mailbox("bob@contoso.test")
            .unwrap()
            .items_in("sentitems")
            .count(),
        1
    );
    assert_eq!(
        mock.mailbox("alice@contoso.test")
            .unwrap()
            .items_in("inbox")
            .count(),
        2
    );
    let nobody = ews
        .call(&CreateItem::send(
            message("Nobody", &[]),
            SavedCopy::InSentItems,
        ))
        .await;
    assert_eq!(codes(&nobody), ["ErrorInvalidRecipients"]);

    // a draft sent with SendItem moves to Sent Items
    let draft = ews
        .call(&CreateItem::save(
            vec![message("Draft", &["ext2@example.org"])],
            None,
        ))
        .await;
    let draft_id = draft.messages[0].content.items[0]
        .item_id()
        .unwrap()
        .clone();
    assert_eq!(
        mock.mailbox("bob@contoso.test")
            .unwrap()
            .items_in("drafts")
            .count(),
        1
    );
    let r = ews.call(&SendItem::new(vec![draft_id.clone()])).await;
    assert_eq!(codes(&r), ["NoError"]);
    let bob = mock.mailbox("bob@contoso.test").unwrap();
    assert_eq!(bob.items_in("drafts").count(), 0);
    assert_eq!(bob.items_in("sentitems").count(), 2);
    assert_eq!(mock.outbox().len(), 2);
    let again = ews.call(&SendItem::new(vec![draft_id])).await;
    assert_eq!(codes(&again), ["ErrorItemNotFound"]);
    ews.validate();
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn attachments_are_created_listed_and_fetched() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let created = ews
        .call(&CreateItem::save(vec![message("With file", &[])], None))
        .await;
    let id: ItemId = created.messages[0].content.items[0]
        .item_id()
        .unwrap()
        .clone();
    let r = ews
        .call(&CreateAttachment {
            parent_item_id: id.clone(),
            attachments: vec![Attachment::File(FileAttachment::new(
                "a.txt",
                "text/plain",
                b"hello".to_vec(),
            ))],
        })
        .await;
    assert_eq!(codes(&r), ["NoError"]);
    let att_id = r.messages[0].content.attachments[0]
        .common()
        .attachment_id
        .clone()
        .unwrap();
    assert_eq!(att_id.root_item_id.as_deref(), Some(id.id.as_str()));

    let got = ews
        .call(&GetItem::new(ItemShape::all_properties(), vec![id.clone()]))
        .await;
    let listed = &got.messages[0].content.items[0].common().attachments;
    assert_eq!(listed.len(), 1);
    assert!(matches!(&listed[0], Attachment::File(f) if f.content.is_none()));

    let fetched = ews
        .call(&GetAttachment::new(vec![
            att_id.clone(),
            ews_client::types::AttachmentId::new("bogus"),
        ]))
        .await;
    assert_eq!(codes(&fetched), ["NoError", "ErrorInvalidIdMalformed"]);
    let Attachment::File(f) = &fetched.messages[0].content.attachments[0] else {
        panic!()
    };
    assert_eq!(f.content.as_deref(), Some(&b"hello"[..]));
    assert_eq!(f.common.name.as_deref(), Some("a.txt"));
    ews.validate();
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn shapes_return_requested_and_extended_properties() {
    use ews_client::types::paths::{ExtendedFieldUri, ExtendedProperty, MapiPropertyType};
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let crm_id = ExtendedFieldUri::named(
        "c11ff724-aa03-4555-9952-8fa248a11c3e",
        "CrmId",
        MapiPropertyType::String,
    );
    let mut c = contact("Ida", "Berg");
    c.common_mut()
        .extended_properties
        .push(ExtendedProperty::string(crm_id.clone(), "CRM-42"));
    let created = ews.call(&CreateItem::save(vec![c], None)).await;
    let id = created.messages[0].content.items[0]
        .item_id()
        .unwrap()
        .clone();

    let shape = ItemShape::id_only().with_additional([
        PropertyPath::field("item:Subject"),
        PropertyPath::Extended(crm_id.clone()),
    ]);
    let got = ews.call(&GetItem::new(shape, vec![id.clone()])).await;
    let Item::Contact(c) = &got.messages[0].content.items[0] else {
        panic!()
    };
    assert_eq!(c.common.subject.as_deref(), Some("Ida Berg"));
    assert_eq!(c.surname, None, "IdOnly returns only what was asked for");
    assert_eq!(
        c.common
            .extended_property(&crm_id)
            .and_then(|p| p.as_single()),
        Some("CRM-42")
    );

    // AllProperties without the extended property in the shape does not return it
    let all = ews
        .call(&GetItem::new(ItemShape::all_properties(), vec![id.clone()]))
        .await;
    let Item::Contact(c) = &all.messages[0].content.items[0] else {
        panic!()
    };
    assert_eq!(c.surname.as_deref(), Some("Berg"));
    assert!(c.common.extended_properties.is_empty());
    ews.validate();
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn autodiscover_answers_for_the_organisations_users() {
    use ews_client::ops::autodiscover::{self as ad, EXTERNAL_EWS_URL, GetUserSettings};
    let mock = start().await;
    let mut req = GetUserSettings::ews_urls("alice@contoso.test");
    req.mailboxes.push("nobody@contoso.test".into());
    let resp = client()
        .post(mock.autodiscover_url())
        .basic_auth("bob@contoso.test", Some("bob-pw"))
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(ad::write_request(&req, &mock.autodiscover_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let parsed = ad::read_response(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(parsed.users[0].error_code, "NoError");
    assert_eq!(
        parsed.users[0].setting(EXTERNAL_EWS_URL),
        Some(mock.url().as_str())
    );
    assert_eq!(parsed.users[1].error_code, "InvalidUser");
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn read_flag_changes_sync_as_such() {
    let mock = start().await;
    let bob = Ews::bob(&mock);
    bob.call(&CreateItem::send(
        message("Ping", &["alice@contoso.test"]),
        SavedCopy::Discard,
    ))
    .await;
    let alice = Ews::as_user(&mock, "alice@contoso.test", "alice-pw");
    let inbox = BaseFolderId::from(D::Inbox);
    let first = alice
        .call(&SyncFolderItems::new(
            inbox.clone(),
            ItemShape::id_only(),
            None,
            10,
        ))
        .await;
    let first = first.messages[0].content.clone();
    let SyncItemChange::Create(created) = &first.changes[0] else {
        panic!("{:?}", first.changes)
    };
    let id = created.item_id().unwrap().clone();
    let read = Item::Message(Message {
        is_read: Some(true),
        ..Message::default()
    });
    let update = UpdateItem::for_item(
        &read,
        id.clone(),
        vec![field_change(&read, &PropertyPath::field("message:IsRead"))],
    );
    assert_eq!(codes(&alice.call(&update).await), ["NoError"]);
    let next = alice
        .call(&SyncFolderItems::new(
            inbox,
            ItemShape::id_only(),
            first.sync_state,
            10,
        ))
        .await;
    let changes = &next.messages[0].content.changes;
    assert!(
        matches!(&changes[..], [SyncItemChange::ReadFlagChange { item_id, is_read: true }] if item_id.id == id.id),
        "{changes:?}"
    );
    alice.validate();
    mock.shutdown().await.unwrap();
}
