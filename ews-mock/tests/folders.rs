//! UpdateFolder and DeleteFolder over HTTP, and what SyncFolderHierarchy reports afterwards
//! (Update for renamed and moved folders, Delete for deleted ones); every response validates
//! against the vendored EWS schema.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use common::*;
use ews_client::ops::{
    CreateFolder, DeleteFolder, DisposalType, FindFolder, FolderChange, FolderChangeDescription,
    FolderTraversal, GetFolder, SyncFolderHierarchy, SyncFolderHierarchyResult, UpdateFolder,
};
use ews_client::types::folder::{Folder, FolderKind};
use ews_client::types::shape::{BaseShape, FolderShape};
use ews_client::types::{BaseFolderId, DistinguishedFolderName as D, FolderId, PropertyPath};

async fn sync(ews: &Ews<'_>, state: Option<String>) -> SyncFolderHierarchyResult {
    let r = ews
        .call(&SyncFolderHierarchy {
            folder_shape: FolderShape::new(BaseShape::AllProperties),
            sync_folder_id: None,
            sync_state: state,
        })
        .await;
    assert_eq!(codes(&r), ["NoError"]);
    r.messages[0].content.clone()
}

async fn create(ews: &Ews<'_>, parent: BaseFolderId, names: &[&str]) -> Vec<FolderId> {
    let r = ews
        .call(&CreateFolder {
            parent_folder_id: parent,
            folders: names
                .iter()
                .map(|n| Folder::new(FolderKind::ContactsFolder, *n))
                .collect(),
        })
        .await;
    assert!(codes(&r).iter().all(|c| c == "NoError"), "{:?}", codes(&r));
    r.messages
        .iter()
        .map(|m| m.content.folders[0].folder_id.clone().unwrap())
        .collect()
}

fn id(f: &FolderId) -> BaseFolderId {
    BaseFolderId::from(FolderId::new(f.id.clone()))
}

#[tokio::test]
async fn update_and_delete_folders_show_in_hierarchy_sync() {
    let mock = start().await;
    let ews = Ews::bob(&mock);
    let made = create(
        &ews,
        D::MsgFolderRoot.into(),
        &["CRM", "Old", "Bin me", "Taken"],
    )
    .await;
    let (crm, old, bin_me, _taken) = (&made[0], &made[1], &made[2], &made[3]);
    let sub = create(&ews, id(crm), &["Sub"]).await.remove(0);
    let state = sync(&ews, None).await.sync_state;

    // rename: the change key changes, a name in use is refused, distinguished folders too
    let renamed = ews.call(&UpdateFolder::rename(id(old), "Kunden")).await;
    assert_eq!(codes(&renamed), ["NoError"]);
    let new_key = renamed.messages[0].content.folders[0]
        .folder_id
        .clone()
        .unwrap();
    assert_eq!(new_key.id, old.id);
    assert_ne!(new_key.change_key, old.change_key);
    let refused = ews
        .call(&UpdateFolder {
            folder_changes: vec![
                UpdateFolder::rename(id(crm), "taken")
                    .folder_changes
                    .remove(0),
                UpdateFolder::rename(D::Inbox, "Posteingang")
                    .folder_changes
                    .remove(0),
                UpdateFolder::rename(id(crm), " ").folder_changes.remove(0),
                ews_client::ops::update_folder::FolderChange {
                    folder_id: id(crm),
                    updates: vec![FolderChangeDescription::Delete {
                        path: PropertyPath::field("folder:DisplayName"),
                    }],
                },
            ],
        })
        .await;
    assert_eq!(
        codes(&refused),
        [
            "ErrorFolderExists",
            "ErrorDeleteDistinguishedFolder",
            "ErrorInvalidValueForProperty",
            "ErrorInvalidPropertyForOperation"
        ]
    );

    // delete: hard delete with subfolders, move to Deleted Items, not distinguished ones
    let deleted = ews
        .call(&DeleteFolder::new(
            DisposalType::HardDelete,
            [id(crm), BaseFolderId::from(D::Inbox), id(crm)],
        ))
        .await;
    assert_eq!(
        codes(&deleted),
        [
            "NoError",
            "ErrorDeleteDistinguishedFolder",
            "ErrorFolderNotFound"
        ]
    );
    let moved = ews
        .call(&DeleteFolder::new(
            DisposalType::MoveToDeletedItems,
            [id(bin_me)],
        ))
        .await;
    assert_eq!(codes(&moved), ["NoError"]);
    let in_bin = ews
        .call(&FindFolder::new(
            FolderTraversal::Shallow,
            [D::DeletedItems],
        ))
        .await;
    let names: Vec<_> = in_bin.messages[0]
        .content
        .folders
        .iter()
        .map(|f| f.display_name.clone().unwrap())
        .collect();
    assert_eq!(names, ["Bin me"]);
    let gone = ews.call(&GetFolder::new(vec![id(crm), id(&sub)])).await;
    assert_eq!(codes(&gone), ["ErrorFolderNotFound", "ErrorFolderNotFound"]);

    // the hierarchy sync reports what happened since the state
    let next = sync(&ews, state).await;
    let mut seen: Vec<(String, String)> = next
        .changes
        .iter()
        .map(|c| match c {
            FolderChange::Update(f) => (
                "Update".to_string(),
                f.display_name.clone().unwrap_or_default(),
            ),
            FolderChange::Delete(f) => ("Delete".to_string(), f.id.clone()),
            FolderChange::Create(f) => (
                "Create".to_string(),
                f.display_name.clone().unwrap_or_default(),
            ),
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        ("Delete".to_string(), crm.id.clone()),
        ("Delete".to_string(), sub.id.clone()),
        ("Update".to_string(), "Bin me".to_string()),
        ("Update".to_string(), "Kunden".to_string()),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    let bin = next
        .changes
        .iter()
        .find_map(|c| match c {
            FolderChange::Update(f) if f.display_name.as_deref() == Some("Bin me") => Some(f),
            _ => None,
        })
        .unwrap();
    let deleted_items = ews.call(&GetFolder::new([D::DeletedItems])).await;
    assert_eq!(
        bin.parent_folder_id.as_ref().unwrap().id,
        deleted_items.messages[0].content.folders[0]
            .folder_id
            .as_ref()
            .unwrap()
            .id
    );
    // nothing more after that
    assert!(sync(&ews, next.sync_state).await.changes.is_empty());
    ews.validate();
}
