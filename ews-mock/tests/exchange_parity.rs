//! Behaviours where the mock matches Exchange for any client: first synchronisations list the
//! live items only, restrictions in FindFolder and FindItem (named fields and MAPI tags),
//! computed MAPI properties, base-type UpdateItem, computed contact names. Every response is
//! validated against the vendored EWS schema.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use common::*;
use ews_client::ops::{CreateItem, DeleteItem, DisposalType, SyncFolderItems, SyncItemChange};
use ews_client::types::shape::ItemShape;
use ews_client::types::{BaseFolderId, Contact, DistinguishedFolderName as D, Item, ItemId};

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
