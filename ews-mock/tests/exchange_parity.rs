//! Behaviours where the mock matches Exchange for any client: first synchronisations list the
//! live items only, restrictions in FindFolder and FindItem (named fields and MAPI tags),
//! computed MAPI properties, base-type UpdateItem, computed contact names. Every response is
//! validated against the vendored EWS schema.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use common::*;
use ews_client::ops::{
    CreateFolder, CreateItem, DeleteItem, DisposalType, FindFolder, FindItem, FolderTraversal,
    GetFolder, GetItem, MoveItem, SyncFolderItems, SyncItemChange, UpdateItem, field_change,
};
use ews_client::types::folder::{Folder, FolderKind};
use ews_client::types::paths::{ExtendedFieldUri, MapiPropertyType};
use ews_client::types::shape::BaseShape;
use ews_client::types::shape::{CompareOp, FieldOrder, FolderShape, ItemShape, Restriction};
use ews_client::types::{
    BaseFolderId, Body, Contact, DistinguishedFolderName as D, FolderId, Item, ItemId, Message,
    PropertyPath,
};

fn tag(t: &str, ty: MapiPropertyType) -> PropertyPath {
    PropertyPath::Extended(ExtendedFieldUri::tagged(t, ty))
}

fn ext_value(item: &Item, t: &str) -> Option<String> {
    item.common()
        .extended_properties
        .iter()
        .find(|p| p.uri.property_tag.as_deref() == Some(t))
        .and_then(|p| p.as_single().map(str::to_string))
}

fn folder_ext(f: &Folder, t: &str) -> Option<String> {
    f.extended_properties
        .iter()
        .find(|p| p.uri.property_tag.as_deref() == Some(t))
        .and_then(|p| p.as_single().map(str::to_string))
}

fn folder(name: D) -> BaseFolderId {
    BaseFolderId::from(name)
}

fn contact(given: &str, surname: &str) -> Item {
    let mut c = Contact {
        given_name: Some(given.into()),
        surname: Some(surname.into()),
        ..Contact::default()
    };
    c.common.subject = Some(format!("{given} {surname}"));
    Item::Contact(c)
}

async fn create(ews: &Ews<'_>, items: Vec<Item>, f: D) -> Vec<ItemId> {
    let r = ews.call(&CreateItem::save(items, Some(folder(f)))).await;
    r.messages
        .iter()
        .map(|m| m.content.items[0].item_id().unwrap().clone())
        .collect()
}

/// Runs a synchronisation from `state` to its end; returns the changes and the final state.
async fn sync_all(
    ews: &Ews<'_>,
    f: D,
    mut state: Option<String>,
    max: u16,
) -> (Vec<SyncItemChange>, Option<String>, usize) {
    let mut all = Vec::new();
    let mut requests = 0;
    loop {
        let r = ews
            .call(&SyncFolderItems::new(
                folder(f),
                ItemShape::id_only(),
                state.clone(),
                max,
            ))
            .await;
        requests += 1;
        assert_eq!(codes(&r), ["NoError"]);
        let c = r.messages.into_iter().next().unwrap().content;
        all.extend(c.changes);
        state = c.sync_state;
        if c.includes_last_item_in_range == Some(true) {
            return (all, state, requests);
        }
        assert!(requests < 100, "the synchronisation does not end");
    }
}

fn ids_of(changes: &[SyncItemChange]) -> (Vec<String>, usize) {
    let mut created = Vec::new();
    let mut other = 0;
    for c in changes {
        match c {
            SyncItemChange::Create(item) => created.push(item.item_id().unwrap().id.clone()),
            _ => other += 1,
        }
    }
    (created, other)
}

#[tokio::test]
async fn first_sync_lists_exactly_the_live_items() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    // history: 6 contacts created, 4 of them hard-deleted, 3 more created, one updated
    let first = create(
        &ews,
        (0..6).map(|i| contact("Gone", &format!("N{i}"))).collect(),
        D::Contacts,
    )
    .await;
    let gone = ews
        .call(&DeleteItem::new(
            DisposalType::HardDelete,
            first[..4].to_vec(),
        ))
        .await;
    assert_eq!(codes(&gone), ["NoError"; 4]);
    let later = create(
        &ews,
        (0..3).map(|i| contact("Later", &format!("L{i}"))).collect(),
        D::Contacts,
    )
    .await;
    let mut live: Vec<String> = mock
        .mailbox("bob@contoso.test")
        .unwrap()
        .items_in("contacts")
        .map(|i| i.id.clone())
        .collect();
    live.sort();
    assert_eq!(
        live.len(),
        1 + 2 + 3,
        "Carol from the data file, 2 kept, 3 later"
    );

    // in pages of 2: exactly the live items as creates, no deletes, in 3 requests
    let (changes, state, requests) = sync_all(&ews, D::Contacts, None, 2).await;
    let (mut created, other) = ids_of(&changes);
    created.sort();
    assert_eq!(other, 0, "no phantom deletes or updates: {changes:?}");
    assert_eq!(created, live);
    assert_eq!(requests, 3);

    // in one page: the same, in one request
    let (changes, _, requests) = sync_all(&ews, D::Contacts, None, 512).await;
    assert_eq!(ids_of(&changes).0.len(), live.len());
    assert_eq!(requests, 1);

    // the state continues from the start of the first sync: later changes, nothing else
    let (none, state, _) = sync_all(&ews, D::Contacts, state, 10).await;
    assert!(none.is_empty(), "{none:?}");
    let newer = create(&ews, vec![contact("New", "One")], D::Contacts).await;
    ews.call(&DeleteItem::new(
        DisposalType::HardDelete,
        vec![later[0].clone()],
    ))
    .await;
    let (changes, _, _) = sync_all(&ews, D::Contacts, state, 10).await;
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes
            .iter()
            .any(|c| matches!(c, SyncItemChange::Delete(id) if id.id == later[0].id)),
        "{changes:?}"
    );
    assert_eq!(ids_of(&changes).0, [newer[0].id.clone()]);

    // a change made while a first sync is paging is reported after the listing
    let (_, mid_state, _) = {
        let r = ews
            .call(&SyncFolderItems::new(
                folder(D::Contacts),
                ItemShape::id_only(),
                None,
                2,
            ))
            .await;
        let c = r.messages.into_iter().next().unwrap().content;
        assert_eq!(c.includes_last_item_in_range, Some(false));
        (c.changes, c.sync_state, 1)
    };
    let during = create(&ews, vec![contact("During", "Sync")], D::Contacts).await;
    let (rest, _, _) = sync_all(&ews, D::Contacts, mid_state, 2).await;
    let (rest_created, other) = ids_of(&rest);
    assert_eq!(other, 0);
    assert_eq!(
        rest_created.len(),
        live.len() - 1 - 2 + 1 + 1,
        "rest of listing + new + during"
    );
    assert!(rest_created.contains(&during[0].id));
    ews.validate();
}

async fn create_folders(ews: &Ews<'_>, parent: D, names: &[&str]) -> Vec<FolderId> {
    let r = ews
        .call(&CreateFolder {
            parent_folder_id: folder(parent),
            folders: names
                .iter()
                .map(|n| Folder::new(FolderKind::Folder, *n))
                .collect(),
        })
        .await;
    assert!(codes(&r).iter().all(|c| c == "NoError"), "{:?}", codes(&r));
    r.messages
        .iter()
        .map(|m| m.content.folders[0].folder_id.clone().unwrap())
        .collect()
}

#[tokio::test]
async fn find_folder_applies_restrictions_by_field_and_by_tag() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let made = create_folders(&ews, D::Inbox, &["tempfolder", "other"]).await;
    let find = |r: Restriction| {
        let mut f = FindFolder::new(FolderTraversal::Deep, vec![folder(D::MsgFolderRoot)]);
        f.restriction = Some(r);
        f
    };
    for path in [
        PropertyPath::field("folder:DisplayName"),
        tag("0x3001", MapiPropertyType::String),
    ] {
        let r = ews
            .call(&find(Restriction::equals(path.clone(), "tempfolder")))
            .await;
        let found = &r.messages[0].content;
        assert_eq!(found.folders.len(), 1, "{path:?}: {found:?}");
        assert_eq!(found.folders[0].folder_id.as_ref().unwrap().id, made[0].id);
        assert_eq!(found.paging.total_items_in_view, Some(1));
    }
    // nothing matches: no folder (never the parent)
    let none = ews
        .call(&find(Restriction::equals(
            PropertyPath::field("folder:DisplayName"),
            "missing",
        )))
        .await;
    assert!(none.messages[0].content.folders.is_empty());
    // the same evaluation as FindItem: Not, And, Contains, numeric comparisons on counts
    let r = ews
        .call(&find(Restriction::And(vec![
            Restriction::contains(PropertyPath::field("folder:FolderClass"), "IPF.Contact"),
            Restriction::Not(Box::new(Restriction::compare(
                CompareOp::IsLessThan,
                tag("0x3602", MapiPropertyType::Integer),
                "1",
            ))),
        ])))
        .await;
    let names: Vec<_> = r.messages[0]
        .content
        .folders
        .iter()
        .map(|f| f.folder_id.clone().unwrap().id)
        .collect();
    let contacts = mock
        .mailbox("bob@contoso.test")
        .unwrap()
        .folders
        .iter()
        .filter(|f| f.class == "IPF.Contact" && f.item_count >= 1)
        .map(|f| f.id.clone())
        .collect::<Vec<_>>();
    assert_eq!(
        names.len(),
        2,
        "Contacts and CRM Contacts hold an item each"
    );
    assert!(names.iter().all(|n| contacts.contains(n)));
    ews.validate();
}

#[tokio::test]
async fn find_item_restricts_and_sorts_by_tag_as_by_field() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    create(
        &ews,
        vec![
            contact("Zoe", "Alpha"),
            contact("Adam", "Zulu"),
            contact("Mia", "Mid"),
        ],
        D::Contacts,
    )
    .await;
    let subject = tag("0x0037", MapiPropertyType::String);
    let mut find = FindItem::new(
        folder(D::Contacts),
        ItemShape::id_only().with_additional([subject.clone()]),
        50,
    );
    find.restriction = Some(Restriction::equals(subject.clone(), "Mia Mid"));
    let r = ews.call(&find).await;
    let items = &r.messages[0].content.items;
    assert_eq!(items.len(), 1);
    assert_eq!(ext_value(&items[0], "0x0037").as_deref(), Some("Mia Mid"));

    // sort by PR_SUBJECT descending equals sort by item:Subject descending
    find.restriction = None;
    find.sort_order = vec![FieldOrder::descending(subject.clone())];
    let by_tag: Vec<_> = ews.call(&find).await.messages[0]
        .content
        .items
        .iter()
        .map(|i| ext_value(i, "0x0037").unwrap())
        .collect();
    find.sort_order = vec![FieldOrder::descending(PropertyPath::field("item:Subject"))];
    let by_field: Vec<_> = ews.call(&find).await.messages[0]
        .content
        .items
        .iter()
        .map(|i| ext_value(i, "0x0037").unwrap())
        .collect();
    assert_eq!(by_tag, ["Zoe Alpha", "Mia Mid", "Carol", "Adam Zulu"]);
    assert_eq!(by_tag, by_field);
    ews.validate();
}

fn message(subject: &str, body: &str) -> Item {
    let mut m = Message::default();
    m.common.subject = Some(subject.into());
    m.common.body = Some(Body::text(body));
    m.is_read = Some(false);
    Item::Message(m)
}

fn computed_item_paths() -> Vec<PropertyPath> {
    vec![
        tag("0x0E23", MapiPropertyType::Integer),
        tag("0x0E08", MapiPropertyType::Integer),
        tag("0x0E07", MapiPropertyType::Integer),
        tag("0x0E06", MapiPropertyType::SystemTime),
        tag("0x3008", MapiPropertyType::SystemTime),
        tag("0x10F3", MapiPropertyType::String),
        PropertyPath::field("item:Size"),
    ]
}

async fn get_computed(ews: &Ews<'_>, ids: Vec<ItemId>) -> Vec<Item> {
    let r = ews
        .call(&GetItem::new(
            ItemShape::id_only().with_additional(computed_item_paths()),
            ids,
        ))
        .await;
    assert!(codes(&r).iter().all(|c| c == "NoError"));
    r.messages
        .into_iter()
        .map(|m| m.content.items.into_iter().next().unwrap())
        .collect()
}

#[tokio::test]
async fn computed_item_properties_are_served_and_consistent() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let ids = create(
        &ews,
        vec![
            message("One", "short"),
            message("Two", "short"),
            message("One", "x"),
        ],
        D::Inbox,
    )
    .await;
    let items = get_computed(&ews, ids.clone()).await;
    let article = |i: &Item| ext_value(i, "0x0E23").unwrap().parse::<u64>().unwrap();
    let size = |i: &Item| ext_value(i, "0x0E08").unwrap().parse::<u64>().unwrap();
    let numbers: Vec<u64> = items.iter().map(article).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    for i in &items {
        assert_eq!(
            i.common().size.map(|s| s as u64),
            Some(size(i)),
            "item:Size = 0x0E08"
        );
        assert_eq!(
            ext_value(i, "0x0E07").as_deref(),
            Some("8"),
            "unread, unsent draft"
        );
        assert!(ext_value(i, "0x0E06").unwrap().ends_with('Z'));
        assert!(ext_value(i, "0x3008").unwrap().ends_with('Z'));
    }
    let names: Vec<String> = items
        .iter()
        .map(|i| ext_value(i, "0x10F3").unwrap())
        .collect();
    assert_eq!(names[0], "One.EML");
    assert_eq!(names[1], "Two.EML");
    assert_ne!(names[2], names[0], "unique in the folder");

    // the size follows the body; the flags follow the read state
    let mut longer = message("One", &"a much longer body ".repeat(50));
    if let Item::Message(m) = &mut longer {
        m.is_read = Some(true);
    }
    let update = UpdateItem::for_item(
        &longer,
        ids[0].clone(),
        vec![
            field_change(&longer, &PropertyPath::field("item:Body")),
            field_change(&longer, &PropertyPath::field("message:IsRead")),
        ],
    );
    assert_eq!(codes(&ews.call(&update).await), ["NoError"]);
    let after = get_computed(&ews, vec![ids[0].clone()]).await;
    assert!(size(&after[0]) > size(&items[0]) + 500);
    assert_eq!(ext_value(&after[0], "0x0E07").as_deref(), Some("9"));
    assert!(ext_value(&after[0], "0x3008").unwrap() >= ext_value(&items[0], "0x3008").unwrap());

    // a moved item gets a new, higher number; a deleted number is never given again
    let moved = ews
        .call(&MoveItem {
            to_folder_id: folder(D::Inbox),
            item_ids: vec![ids[1].clone().into()],
            return_new_item_ids: None,
        })
        .await;
    let moved_id = moved.messages[0].content.items[0]
        .item_id()
        .unwrap()
        .clone();
    ews.call(&DeleteItem::new(
        DisposalType::HardDelete,
        vec![ids[2].clone()],
    ))
    .await;
    let fresh = create(&ews, vec![message("Three", "x")], D::Inbox).await;
    let again = get_computed(&ews, vec![moved_id, fresh[0].clone()]).await;
    let max_before = *numbers.iter().max().unwrap();
    assert!(article(&again[0]) > max_before);
    assert!(article(&again[1]) > article(&again[0]));

    // restrictable and sortable by tag
    let mut find = FindItem::new(
        folder(D::Inbox),
        ItemShape::id_only().with_additional(computed_item_paths()),
        50,
    );
    find.restriction = Some(Restriction::compare(
        CompareOp::IsGreaterThan,
        tag("0x0E23", MapiPropertyType::Integer),
        numbers[0].to_string(),
    ));
    find.sort_order = vec![FieldOrder::ascending(tag(
        "0x0E23",
        MapiPropertyType::Integer,
    ))];
    let listed: Vec<u64> = ews.call(&find).await.messages[0]
        .content
        .items
        .iter()
        .map(article)
        .collect();
    assert_eq!(listed, [article(&again[0]), article(&again[1])]);
    find.restriction = Some(Restriction::equals(
        tag("0x0E07", MapiPropertyType::Integer),
        "9",
    ));
    let read = ews.call(&find).await;
    assert_eq!(read.messages[0].content.items.len(), 1);
    ews.validate();
}

#[tokio::test]
async fn computed_folder_properties_are_served_and_restrictable() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let made = create_folders(&ews, D::Inbox, &["Parent"]).await;
    let paths = vec![
        tag("0x3602", MapiPropertyType::Integer),
        tag("0x3603", MapiPropertyType::Integer),
        tag("0x3613", MapiPropertyType::String),
        tag("0x360A", MapiPropertyType::Boolean),
        tag("0x670A", MapiPropertyType::SystemTime),
    ];
    let get = |ids: Vec<BaseFolderId>| GetFolder {
        folder_shape: FolderShape::new(BaseShape::IdOnly).with_additional(paths.clone()),
        folder_ids: ids,
    };
    let before = ews.call(&get(vec![folder(D::Inbox)])).await.messages[0]
        .content
        .folders[0]
        .clone();
    assert_eq!(folder_ext(&before, "0x3602").as_deref(), Some("0"));
    assert_eq!(folder_ext(&before, "0x3613").as_deref(), Some("IPF.Note"));
    assert_eq!(folder_ext(&before, "0x360A").as_deref(), Some("true"));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    create(&ews, vec![message("A", "x"), message("B", "y")], D::Inbox).await;
    let after = ews
        .call(&get(vec![
            folder(D::Inbox),
            BaseFolderId::Id(made[0].clone()),
        ]))
        .await;
    let inbox = &after.messages[0].content.folders[0];
    assert_eq!(folder_ext(inbox, "0x3602").as_deref(), Some("2"));
    assert_eq!(folder_ext(inbox, "0x3603").as_deref(), Some("2"));
    assert!(folder_ext(inbox, "0x670A").unwrap() > folder_ext(&before, "0x670A").unwrap());
    let parent = &after.messages[1].content.folders[0];
    assert_eq!(folder_ext(parent, "0x360A").as_deref(), Some("false"));
    ews.validate();
}

#[tokio::test]
async fn update_item_accepts_the_base_item_element_for_base_properties() {
    use ews_client::ops::ItemChangeDescription;
    use ews_client::types::item::{GenericItem, GenericItemKind};
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let ids = create(&ews, vec![message("Before", "body")], D::Inbox).await;
    let mut base = GenericItem {
        kind: GenericItemKind::Item,
        ..GenericItem::default()
    };
    base.common.subject = Some("After".into());
    base.common.categories = vec!["Red".into()];
    let like = message("", "");
    let update = UpdateItem::for_item(
        &like,
        ids[0].clone(),
        vec![
            ItemChangeDescription::Set {
                path: PropertyPath::field("item:Subject"),
                item: Item::Generic(base.clone()),
            },
            ItemChangeDescription::Set {
                path: PropertyPath::field("item:Categories"),
                item: Item::Generic(base.clone()),
            },
        ],
    );
    assert_eq!(codes(&ews.call(&update).await), ["NoError"]);
    let got = ews
        .call(&GetItem::new(
            ItemShape::all_properties(),
            vec![ids[0].clone()],
        ))
        .await;
    let item = &got.messages[0].content.items[0];
    assert!(matches!(item, Item::Message(_)), "still a message");
    assert_eq!(item.common().subject.as_deref(), Some("After"));
    assert_eq!(item.common().categories, ["Red"]);

    // a message property wrapped in the base element stays refused, as on Exchange
    let refused = UpdateItem::for_item(
        &like,
        got.messages[0].content.items[0].item_id().unwrap().clone(),
        vec![ItemChangeDescription::Set {
            path: PropertyPath::field("message:IsRead"),
            item: Item::Generic(base),
        }],
    );
    assert_eq!(
        codes(&ews.call(&refused).await),
        ["ErrorInvalidPropertySet"]
    );
    ews.validate();
}

#[tokio::test]
async fn contacts_get_a_computed_display_name_and_file_as() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let mut company_only = Contact {
        company_name: Some("Contoso Ltd".into()),
        ..Contact::default()
    };
    company_only.common.subject = Some("Contoso".into());
    let mut own = Contact {
        given_name: Some("Own".into()),
        surname: Some("Name".into()),
        display_name: Some("Chosen Name".into()),
        file_as: Some("Chosen".into()),
        ..Contact::default()
    };
    own.common.subject = Some("Own".into());
    let ids = create(
        &ews,
        vec![
            contact("Eva", "Klein"),
            Item::Contact(company_only),
            Item::Contact(own),
        ],
        D::Contacts,
    )
    .await;
    let got = ews
        .call(&GetItem::new(ItemShape::all_properties(), ids.clone()))
        .await;
    let names: Vec<(Option<String>, Option<String>)> = got
        .messages
        .iter()
        .map(|m| match &m.content.items[0] {
            Item::Contact(c) => (c.display_name.clone(), c.file_as.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    let s = |a: &str, b: &str| (Some(a.to_string()), Some(b.to_string()));
    assert_eq!(
        names,
        [
            s("Eva Klein", "Klein, Eva"),
            s("Contoso Ltd", "Contoso Ltd"),
            s("Chosen Name", "Chosen")
        ]
    );
    // a contact seeded from the data file without a display name gets one too
    let carol = mock
        .mailbox("bob@contoso.test")
        .unwrap()
        .items_in("contacts")
        .find(|i| i.subject.as_deref() == Some("Carol"))
        .and_then(|i| i.item())
        .unwrap();
    let Item::Contact(carol) = carol else {
        panic!("not a contact")
    };
    assert_eq!(carol.display_name.as_deref(), Some("Carol Jones"));
    assert_eq!(carol.file_as.as_deref(), Some("Jones, Carol"));
    // readable by tag as PR_DISPLAY_NAME
    let by_tag = ews
        .call(&GetItem::new(
            ItemShape::id_only().with_additional([tag("0x3001", MapiPropertyType::String)]),
            vec![ids[0].clone()],
        ))
        .await;
    assert_eq!(
        ext_value(&by_tag.messages[0].content.items[0], "0x3001").as_deref(),
        Some("Eva Klein")
    );
    ews.validate();
}

#[tokio::test]
async fn a_write_by_tag_changes_the_named_field() {
    use ews_client::ops::ItemChangeDescription;
    use ews_client::types::paths::ExtendedProperty;
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let ids = create(&ews, vec![contact("Old", "Name")], D::Contacts).await;
    let like = contact("", "");
    let set = |t: &str, v: &str| {
        ItemChangeDescription::set_extended(
            &like,
            ExtendedProperty::string(ExtendedFieldUri::tagged(t, MapiPropertyType::String), v),
        )
    };
    let update = UpdateItem::for_item(
        &like,
        ids[0].clone(),
        vec![set("0x0037", "New subject"), set("0x3A11", "Newname")],
    );
    assert_eq!(codes(&ews.call(&update).await), ["NoError"]);
    let got = ews
        .call(&GetItem::new(ItemShape::all_properties(), ids.clone()))
        .await;
    let Item::Contact(c) = &got.messages[0].content.items[0] else {
        panic!("not a contact")
    };
    assert_eq!(c.common.subject.as_deref(), Some("New subject"));
    assert_eq!(c.surname.as_deref(), Some("Newname"));
    // stored as the fields, not as extended properties
    let stored = mock
        .mailbox("bob@contoso.test")
        .unwrap()
        .items
        .into_iter()
        .find(|i| i.id == ids[0].id)
        .unwrap();
    assert!(!stored.xml.contains("ExtendedProperty"), "{}", stored.xml);
    ews.validate();
}
