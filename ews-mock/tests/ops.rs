//! EWS operations over HTTP with `ews-client`'s typed requests and responses; every response
//! is validated against the vendored EWS schema.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use common::*;
use ews_client::envelope;
use ews_client::ops::{
    CreateFolder, DeleteItem, DisposalType, FindFolder, FindItem, FolderChange, FolderTraversal,
    GetFolder, GetItem, MoveItem, ResolveNames, SyncFolderHierarchy, SyncFolderItems,
    SyncItemChange,
};
use ews_client::types::folder::{Folder, FolderKind};
use ews_client::types::shape::{FieldOrder, ItemShape, Restriction};
use ews_client::types::{
    BaseFolderId, DistinguishedFolderName as D, FolderId, ItemId, PropertyPath,
};
use ews_mock::OrgData;

fn folder(name: D) -> BaseFolderId {
    BaseFolderId::from(name)
}

#[tokio::test]
async fn unmodelled_distinguished_folders_are_not_found_per_id() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let get = ews
        .call(&GetFolder::new(vec![
            folder(D::Inbox),
            folder(D::AllCategorizedItems),
            folder(D::RecoverableItemsRoot),
            folder(D::Contacts),
            folder(D::AllContacts),
        ]))
        .await;
    assert_eq!(
        codes(&get),
        [
            "NoError",
            "ErrorFolderNotFound",
            "ErrorFolderNotFound",
            "NoError",
            "ErrorFolderNotFound"
        ]
    );
    assert_eq!(
        get.messages[3].content.folders[0].display_name.as_deref(),
        Some("Contacts")
    );
    ews.validate();
}

#[tokio::test]
async fn folders_get_find_create_and_sync_hierarchy() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let inbox_id = mock
        .mailbox("bob@contoso.test")
        .unwrap()
        .folders
        .iter()
        .find(|f| f.path == "inbox")
        .unwrap()
        .id
        .clone();
    let missing =
        ews_mock::ids::encode_id(ews_mock::ids::IdKind::Folder, "bob@contoso.test", 9999, 0);
    let get = ews
        .call(&GetFolder::new(vec![
            folder(D::Contacts),
            BaseFolderId::from(FolderId::new(inbox_id.clone())),
            BaseFolderId::from(FolderId::new(missing)),
            BaseFolderId::from(FolderId::new("garbage")),
        ]))
        .await;
    assert_eq!(
        codes(&get),
        [
            "NoError",
            "NoError",
            "ErrorFolderNotFound",
            "ErrorInvalidIdMalformed"
        ]
    );
    let contacts = &get.messages[0].content.folders[0];
    assert_eq!(contacts.kind, FolderKind::ContactsFolder);
    assert_eq!(contacts.display_name.as_deref(), Some("Contacts"));
    assert_eq!(contacts.total_count, Some(1));
    assert_eq!(
        get.messages[1].content.folders[0]
            .folder_id
            .as_ref()
            .unwrap()
            .id,
        inbox_id
    );

    // IdOnly plus additional properties returns exactly those
    let mut id_only = GetFolder::new(vec![folder(D::Inbox)]);
    id_only.folder_shape =
        ews_client::types::shape::FolderShape::new(ews_client::types::shape::BaseShape::IdOnly)
            .with_additional([PropertyPath::field("folder:DisplayName")]);
    let f = ews
        .call(&id_only)
        .await
        .messages
        .remove(0)
        .content
        .folders
        .remove(0);
    assert_eq!(f.display_name.as_deref(), Some("Inbox"));
    assert_eq!(f.total_count, None);

    let shallow = ews
        .call(&FindFolder::new(
            FolderTraversal::Shallow,
            vec![folder(D::Inbox)],
        ))
        .await;
    let names: Vec<_> = shallow.messages[0]
        .content
        .folders
        .iter()
        .map(|f| f.display_name.clone().unwrap())
        .collect();
    assert_eq!(names, ["Projects"]);
    let deep = ews
        .call(&FindFolder::new(
            FolderTraversal::Deep,
            vec![folder(D::MsgFolderRoot)],
        ))
        .await;
    let deep_names: Vec<_> = deep.messages[0]
        .content
        .folders
        .iter()
        .map(|f| f.display_name.clone().unwrap())
        .collect();
    for n in [
        "Inbox",
        "Projects",
        "2024",
        "CRM Contacts",
        "Calendar",
        "Junk Email",
    ] {
        assert!(deep_names.contains(&n.to_string()), "{n} in {deep_names:?}");
    }

    let first = ews
        .call(&SyncFolderHierarchy {
            folder_shape: Default::default(),
            sync_folder_id: None,
            sync_state: None,
        })
        .await;
    let first = first.messages[0].content.clone();
    assert!(first.changes.len() >= 13, "{}", first.changes.len());
    assert_eq!(first.includes_last_folder_in_range, Some(true));

    let create = ews
        .call(&CreateFolder {
            parent_folder_id: folder(D::Inbox),
            folders: vec![
                Folder::new(FolderKind::Folder, "Invoices"),
                Folder::new(FolderKind::Folder, "Projects"),
            ],
        })
        .await;
    assert_eq!(codes(&create), ["NoError", "ErrorFolderExists"]);
    let new_id = create.messages[0].content.folders[0]
        .folder_id
        .clone()
        .unwrap();

    let next = ews
        .call(&SyncFolderHierarchy {
            folder_shape: Default::default(),
            sync_folder_id: None,
            sync_state: first.sync_state.clone(),
        })
        .await;
    let changes = &next.messages[0].content.changes;
    assert_eq!(changes.len(), 1);
    let FolderChange::Create(created) = &changes[0] else {
        panic!("{changes:?}")
    };
    assert_eq!(created.folder_id.as_ref().unwrap().id, new_id.id);

    let corrupt = ews
        .call(&SyncFolderHierarchy {
            folder_shape: Default::default(),
            sync_folder_id: None,
            sync_state: Some("AAAA".into()),
        })
        .await;
    assert_eq!(codes(&corrupt), ["ErrorInvalidSyncStateData"]);
    ews.validate();
    mock.shutdown().await.unwrap();
}

fn contacts_org(n: usize) -> String {
    let mut s = String::from(ORG);
    s.push_str("\n[[mailboxes]]\nowner = \"alice@contoso.test\"\nitems = [\n");
    for i in 0..n {
        s.push_str(&format!("  {{ folder = \"contacts\", subject = \"C{i:02}\", fields = {{ GivenName = \"G{i:02}\", Surname = \"S{}\" }} }},\n", n - i));
    }
    s.push_str("]\n");
    s
}

#[tokio::test]
async fn items_get_find_sync_move_delete() {
    let mock = start_with(&contacts_org(7)).await;
    let mut ews = Ews::bob(&mock);
    ews.user = "alice@contoso.test";
    ews.password = "alice-pw";

    // FindItem: paging and sort order
    let mut find = FindItem::new(folder(D::Contacts), ItemShape::id_only(), 3);
    find.sort_order = vec![FieldOrder::ascending(PropertyPath::field(
        "contacts:Surname",
    ))];
    let page1 = ews.call(&find).await.messages.remove(0).content;
    assert_eq!(page1.items.len(), 3);
    assert_eq!(page1.paging.total_items_in_view, Some(7));
    assert_eq!(page1.paging.includes_last_item_in_range, Some(false));
    let page3 = ews
        .call(&find.at_offset(6))
        .await
        .messages
        .remove(0)
        .content;
    assert_eq!(page3.items.len(), 1);
    assert_eq!(page3.paging.includes_last_item_in_range, Some(true));
    let ids: Vec<ItemId> = page1
        .items
        .iter()
        .map(|i| i.item_id().unwrap().clone())
        .collect();

    // GetItem: one message per id, in request order
    let bad = ItemId::new(ews_mock::ids::encode_id(
        ews_mock::ids::IdKind::Item,
        "alice@contoso.test",
        999_999,
        0,
    ));
    let get = ews
        .call(&GetItem::new(
            ItemShape::all_properties(),
            vec![ids[1].clone(), bad, ids[0].clone(), ItemId::new("%%%")],
        ))
        .await;
    assert_eq!(
        codes(&get),
        [
            "NoError",
            "ErrorItemNotFound",
            "NoError",
            "ErrorInvalidIdMalformed"
        ]
    );
    let surnames: Vec<String> = [0, 2]
        .iter()
        .map(|&i| match &get.messages[i].content.items[0] {
            ews_client::types::Item::Contact(c) => c.surname.clone().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        surnames,
        ["S2", "S1"],
        "sorted by surname, returned in request order"
    );

    // restriction
    let mut only = FindItem::new(folder(D::Contacts), ItemShape::id_only(), 50);
    only.restriction = Some(Restriction::equals(
        PropertyPath::field("contacts:GivenName"),
        "G03",
    ));
    assert_eq!(ews.call(&only).await.messages[0].content.items.len(), 1);

    // SyncFolderItems: pages of MaxChangesReturned, then no changes
    let mut state = None;
    let mut seen = 0;
    loop {
        let r = ews
            .call(&SyncFolderItems::new(
                folder(D::Contacts),
                ItemShape::id_only(),
                state.clone(),
                3,
            ))
            .await;
        let c = r.messages.into_iter().next().unwrap().content;
        seen += c.changes.len();
        state = c.sync_state;
        if c.includes_last_item_in_range == Some(true) {
            break;
        }
    }
    assert_eq!(seen, 7);
    let none = ews
        .call(&SyncFolderItems::new(
            folder(D::Contacts),
            ItemShape::id_only(),
            state.clone(),
            100,
        ))
        .await;
    assert!(none.messages[0].content.changes.is_empty());

    // MoveItem gives a new id; the old one is gone; syncs see delete and create
    let moved = ews
        .call(&MoveItem {
            to_folder_id: folder(D::DeletedItems),
            item_ids: vec![ids[0].clone().into()],
            return_new_item_ids: None,
        })
        .await;
    assert_eq!(codes(&moved), ["NoError"]);
    let new_id = moved.messages[0].content.items[0]
        .item_id()
        .unwrap()
        .clone();
    assert_ne!(new_id.id, ids[0].id);
    let old = ews
        .call(&GetItem::new(ItemShape::id_only(), vec![ids[0].clone()]))
        .await;
    assert_eq!(codes(&old), ["ErrorItemNotFound"]);
    let after = ews
        .call(&SyncFolderItems::new(
            folder(D::Contacts),
            ItemShape::id_only(),
            state.clone(),
            100,
        ))
        .await;
    let changes = &after.messages[0].content.changes;
    assert!(
        matches!(&changes[..], [SyncItemChange::Delete(id)] if id.id == ids[0].id),
        "{changes:?}"
    );

    // a state of another folder is foreign
    let foreign = ews
        .call(&SyncFolderItems::new(
            folder(D::Inbox),
            ItemShape::id_only(),
            state.clone(),
            10,
        ))
        .await;
    assert_eq!(codes(&foreign), ["ErrorInvalidSyncStateData"]);

    // DeleteItem: hard delete, per-id results
    let del = ews
        .call(&DeleteItem::new(
            DisposalType::HardDelete,
            vec![new_id.clone(), new_id.clone()],
        ))
        .await;
    assert_eq!(codes(&del), ["NoError", "ErrorItemNotFound"]);

    // another user's items are not accessible without impersonation
    let bob = Ews::bob(&mock);
    let denied = bob
        .call(&GetItem::new(ItemShape::id_only(), vec![ids[1].clone()]))
        .await;
    assert_eq!(codes(&denied), ["ErrorAccessDenied"]);
    let mut admin = Ews::bob(&mock);
    admin.user = "alice@contoso.test";
    admin.password = "alice-pw";
    admin.impersonate = Some("bob@contoso.test");
    let bobs = admin
        .call(&FindItem::new(
            folder(D::Contacts),
            ItemShape::all_properties(),
            10,
        ))
        .await;
    assert_eq!(
        bobs.messages[0].content.items[0]
            .common()
            .subject
            .as_deref(),
        Some("Carol")
    );

    ews.validate();
    bob.validate();
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn resolve_names_answers_for_users_and_groups() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let one = ews.call(&ResolveNames::new("alice")).await;
    assert_eq!(codes(&one), ["NoError"]);
    let r = &one.messages[0].content.resolutions[0];
    assert_eq!(
        r.mailbox.email_address.as_deref(),
        Some("alice@contoso.test")
    );
    assert_eq!(r.mailbox.name.as_deref(), Some("Alice Admin"));
    let group = ews.call(&ResolveNames::new("team@contoso.test")).await;
    assert_eq!(group.messages[0].content.resolutions.len(), 1);
    let none = ews.call(&ResolveNames::new("zed")).await;
    assert_eq!(codes(&none), ["ErrorNameResolutionNoResults"]);
    ews.validate();
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_operation_bodies_and_unknown_operations() {
    let mock = start().await;
    // GetItem without ItemIds fails schema validation
    let body = envelope("GetItem", None);
    let resp = post_basic(&mock, "bob@contoso.test", "bob-pw", body).await;
    assert_eq!(resp.status(), 500);
    let fault = envelope::read_fault(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(fault.code().unwrap().as_str(), "ErrorSchemaValidation");
    let _ = OrgData::default();
    mock.shutdown().await.unwrap();
}
