//! The Exchange side (sync-core `Side` over ews-client) against ews-mock over HTTP: a service
//! account with ApplicationImpersonation acting on user mailboxes.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use conaktiv_exchange::exchange::{
    ExchangeError, ExchangeSide, ExchangeSideConfig, ExchangeTable, FeedToken,
};
use conaktiv_exchange::mapping::{appointment, contact, task};
use conaktiv_model::config::SyncFolder;
use conaktiv_model::mail::Direction;
use conaktiv_model::values::FolderPath;
use ews_client::Client;
use ews_client::ops::{MoveItem, UpdateItem};
use ews_client::types::folder::{Folder, FolderKind};
use ews_client::types::{FolderId, ItemId};
use ews_mock::MockHandle;
use serde_json::json;
use sync_core::memory::{Feed, MemorySide};
use sync_core::{
    Engine, Entry, MemoryStore, Policy, Record, Side, SideId, StateBatch, StateStore, Timestamp,
    WriteOp, WriteOutcome,
};

const BOB: &str = "bob@contoso.test";
const CAROL: &str = "carol@contoso.test";

const ORG: &str = r#"
[[users]]
address = "svc-crm@contoso.test"
display_name = "CRM service"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "bob@contoso.test"
password = "bob-pw"

[[users]]
address = "carol@contoso.test"
password = "carol-pw"

[[mailboxes]]
owner = "bob@contoso.test"
folders = [
  { path = "contacts/Kunden" },
  { path = "contacts/Kunden/Nord" },
  { path = "contacts/Andere" },
  { path = "calendar/Termine" },
  { path = "tasks/Projekt" },
  { path = "inbox/Projekte" },
]
items = [
  { folder = "contacts/Kunden", subject = "Carol Jones", fields = { GivenName = "Carol", Surname = "Jones" } },
  { folder = "contacts/Kunden/Nord", subject = "Nora North", fields = { GivenName = "Nora", Surname = "North" } },
  { folder = "contacts", subject = "Outside", fields = { GivenName = "Otto", Surname = "Outside" } },
]

[[mailboxes]]
owner = "carol@contoso.test"
folders = [{ path = "contacts/Kunden" }]
items = [
  { folder = "contacts/Kunden", subject = "Zoe", fields = { GivenName = "Zoe" } },
]
"#;

async fn start() -> (MockHandle, Client) {
    common::mock_and_client(ORG, "svc-crm@contoso.test", "svc-pw").await
}

fn path(p: &str) -> FolderPath {
    FolderPath::new(p).unwrap()
}

fn folder(p: &str, subfolders: bool) -> SyncFolder {
    SyncFolder::new(path(p), conaktiv_model::Subfolders::included_if(subfolders))
}

fn config(table: ExchangeTable, folders: &[(&str, bool)]) -> ExchangeSideConfig {
    ExchangeSideConfig::new(table, folders.iter().map(|(p, s)| folder(p, *s)).collect())
}

fn contacts_side(client: &Client, folders: &[(&str, bool)]) -> ExchangeSide {
    ExchangeSide::new(client, BOB, config(ExchangeTable::Contacts, folders)).unwrap()
}

fn done(o: &WriteOutcome) -> (String, String) {
    match o {
        WriteOutcome::Done { id, version } => (id.clone(), version.clone()),
        other => panic!("expected Done, got {other:?}"),
    }
}

fn names(mock: &MockHandle, mailbox: &str, folder: &str) -> Vec<String> {
    let mut v: Vec<String> = mock
        .mailbox(mailbox)
        .unwrap()
        .items_in(folder)
        .filter_map(|i| i.subject.clone())
        .collect();
    v.sort();
    v
}

/// The fields of `expected` all have the same value in `actual`.
fn assert_subset(expected: &Record, actual: &Record) {
    for (k, v) in &expected.fields {
        assert_eq!(actual.get(k), Some(v), "field {k} in {actual:?}");
    }
}

/// One table's round trip through the Side trait: create, list, fetch, update (and a stale
/// update), set key, delete (and a stale and a repeated delete).
async fn crud(table: ExchangeTable, folder_path: &str, record: Record, edit: (&str, &str)) {
    let (mock, client) = start().await;
    let mut side = ExchangeSide::new(&client, BOB, config(table, &[(folder_path, false)])).unwrap();
    let before = side.list().await.unwrap();
    assert!(before.token.is_some());

    let out = side
        .write(vec![WriteOp::Create {
            record: record.clone(),
            key: "K-1".into(),
        }])
        .await
        .unwrap();
    let (id, v1) = done(&out[0]);
    let listed = side.list().await.unwrap();
    assert_eq!(listed.entries.len(), before.entries.len() + 1);
    assert!(listed.entries.contains(&Entry {
        id: id.clone(),
        version: v1.clone(),
        key: Some("K-1".into()),
    }));
    let fetched = side.fetch(std::slice::from_ref(&id)).await.unwrap();
    assert_eq!(fetched.len(), 1);
    assert_subset(&record, &fetched[0].1);

    // Update with the version we saw.
    let edited = fetched[0].1.clone().with(edit.0, edit.1);
    let out = side
        .write(vec![WriteOp::Update {
            id: id.clone(),
            expected: v1.clone(),
            record: edited.clone(),
            key: "K-1".into(),
        }])
        .await
        .unwrap();
    let (id2, v2) = done(&out[0]);
    assert_eq!(id2, id);
    let now = side.fetch(std::slice::from_ref(&id)).await.unwrap();
    if matches!(table, ExchangeTable::Mail { .. }) {
        // Mail is filed, not edited: the content stays as it was.
        assert_eq!(now[0].1, fetched[0].1);
    } else {
        assert_ne!(v2, v1, "the change key moves on");
        assert_eq!(now[0].1.get(edit.0), Some(&json!(edit.1)));
    }

    // An update or delete against a stale change key is a conflict and changes nothing.
    let stale = side
        .write(vec![
            WriteOp::Update {
                id: id.clone(),
                expected: "stale".into(),
                record: record.clone(),
                key: "K-1".into(),
            },
            WriteOp::Delete {
                id: id.clone(),
                expected: "stale".into(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(stale, vec![WriteOutcome::Conflict, WriteOutcome::Conflict]);

    // SetKey stores another key.
    let out = side
        .write(vec![WriteOp::SetKey {
            id: id.clone(),
            expected: v2.clone(),
            key: "K-2".into(),
        }])
        .await
        .unwrap();
    let (_, v3) = done(&out[0]);
    // The feed since the first listing: only this item, as it is now.
    let feed = side
        .changes_since(before.token.as_deref().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (feed.changed.clone(), feed.removed.clone()),
        (
            vec![Entry {
                id: id.clone(),
                version: v3.clone(),
                key: Some("K-2".into()),
            }],
            vec![]
        )
    );
    let listed = side.list().await.unwrap();
    let entry = listed.entries.iter().find(|e| e.id == id).unwrap();
    assert_eq!(entry.key.as_deref(), Some("K-2"));
    assert_eq!(entry.version, v3);

    // Delete: moved to Deleted Items, gone from the listing; a second delete finds nothing.
    let out = side
        .write(vec![WriteOp::Delete {
            id: id.clone(),
            expected: v3,
        }])
        .await
        .unwrap();
    done(&out[0]);
    let feed2 = side.changes_since(&feed.token).await.unwrap().unwrap();
    assert!(feed2.changed.is_empty(), "{feed2:?}");
    assert_eq!(feed2.removed, vec![id.clone()]);
    let listed = side.list().await.unwrap();
    assert_eq!(listed.entries.len(), before.entries.len());
    assert_eq!(
        mock.mailbox(BOB).unwrap().items_in("deleteditems").count(),
        1
    );
    let again = side
        .write(vec![WriteOp::Delete {
            id: id.clone(),
            expected: "x".into(),
        }])
        .await
        .unwrap();
    assert_eq!(again, vec![WriteOutcome::NotFound]);
    assert!(side.fetch(&[id]).await.unwrap().is_empty());
}

#[tokio::test]
async fn contacts_round_trip() {
    crud(
        ExchangeTable::Contacts,
        "/Contacts/Kunden",
        Record::new()
            .with(contact::fields::GIVEN_NAME, "Dora")
            .with(contact::fields::SURNAME, "Diaz")
            .with(contact::fields::COMPANY, "Diaz GmbH"),
        (contact::fields::SURNAME, "Dietz"),
    )
    .await;
}

#[tokio::test]
async fn appointments_round_trip() {
    crud(
        ExchangeTable::Appointments,
        "/Calendar/Termine",
        Record::new()
            .with(appointment::fields::SUBJECT, "Kickoff")
            .with(appointment::fields::LOCATION, "Raum 1")
            .with(appointment::fields::START, "2025-03-10T08:00:00Z")
            .with(appointment::fields::END, "2025-03-10T09:00:00Z"),
        (appointment::fields::SUBJECT, "Kickoff (verschoben)"),
    )
    .await;
}

#[tokio::test]
async fn tasks_round_trip() {
    crud(
        ExchangeTable::Tasks,
        "/Tasks/Projekt",
        Record::new()
            .with(task::fields::SUBJECT, "Angebot schreiben")
            .with(task::fields::DUE_DATE, "2025-04-01"),
        (task::fields::SUBJECT, "Angebot nachfassen"),
    )
    .await;
}

#[tokio::test]
async fn mail_round_trip() {
    crud(
        ExchangeTable::Mail {
            direction: Direction::Incoming,
        },
        "/Inbox/Projekte",
        Record::new()
            .with("message_id", "anfrage-1@kunde.test")
            .with("subject", "Ihre Anfrage")
            .with(
                "from",
                json!({"name": "Kunde", "address": "kunde@kunde.test"}),
            )
            .with(
                "to",
                json!([{"name": "Bob", "address": "bob@contoso.test"}]),
            )
            .with("html_body", "<p>Hallo Bob</p>"),
        ("subject", "Edited"),
    )
    .await;
}

#[tokio::test]
async fn listing_is_cheap_and_keeps_to_the_mailbox_and_folder() {
    let (mock, client) = start().await;
    let mut side = contacts_side(&client, &[("/Contacts/Kunden", false)]);
    mock.clear_log();
    let listed = side.list().await.unwrap();
    assert_eq!(
        listed.entries.len(),
        1,
        "Carol only: not Nord, not Contacts"
    );
    assert_eq!(listed.entries[0].key, None);
    let counts = mock.request_counts();
    assert_eq!(
        counts.get("GetItem"),
        None,
        "listing reads no item: {counts:?}"
    );
    assert_eq!(counts.get("SyncFolderItems"), Some(&1));
    // Every call impersonated Bob with the service account.
    for entry in mock.request_log() {
        assert_eq!(entry.mailbox.as_deref(), Some(BOB), "{entry:?}");
        assert_eq!(
            entry.impersonating.as_deref(),
            Some("svc-crm@contoso.test"),
            "{entry:?}"
        );
    }
    // The same client serves Carol's mailbox.
    let mut carol = ExchangeSide::new(
        &client,
        CAROL,
        config(ExchangeTable::Contacts, &[("/Kontakte/Kunden", false)]),
    )
    .unwrap();
    let theirs = carol.list().await.unwrap();
    let fetched = carol.fetch(&[theirs.entries[0].id.clone()]).await.unwrap();
    assert_eq!(
        fetched[0].1.get(contact::fields::GIVEN_NAME),
        Some(&json!("Zoe"))
    );
}

#[tokio::test]
async fn subfolders_are_included_when_the_rule_says_so() {
    let (mock, client) = start().await;
    let mut flat = contacts_side(&client, &[("/Contacts/Kunden", false)]);
    let mut deep = contacts_side(&client, &[("/Contacts/Kunden", true)]);
    assert_eq!(flat.list().await.unwrap().entries.len(), 1);
    let listed = deep.list().await.unwrap();
    assert_eq!(listed.entries.len(), 2, "Carol and Nora");
    let fetched = deep
        .fetch(
            &listed
                .entries
                .iter()
                .map(|e| e.id.clone())
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let mut given: Vec<_> = fetched
        .iter()
        .map(|(_, r)| r.get(contact::fields::GIVEN_NAME).cloned().unwrap())
        .collect();
    given.sort_by_key(|v| v.to_string());
    assert_eq!(given, vec![json!("Carol"), json!("Nora")]);

    // A new subfolder makes the feed ask for a full listing, which then includes it.
    let token = listed.token.unwrap();
    let bob = client.for_mailbox(BOB);
    let nord = deep.resolved().unwrap().folders[1].id.clone();
    bob.create_folder(
        FolderId::new(nord).into(),
        Folder::new(FolderKind::ContactsFolder, "Hamburg").with_class("IPF.Contact"),
    )
    .await
    .unwrap();
    assert_eq!(deep.changes_since(&token).await.unwrap(), None);
    deep.list().await.unwrap();
    assert_eq!(deep.resolved().unwrap().folders.len(), 3);
    let _ = mock;
}

#[tokio::test]
async fn new_items_land_in_the_new_items_folder() {
    let (mock, client) = start().await;
    let nord = config(ExchangeTable::Contacts, &[("/Contacts/Kunden", true)])
        .with_new_items_folder(path("/Kontakte/Kunden/Nord"));
    let mut side = ExchangeSide::new(&client, BOB, nord).unwrap();
    let out = side
        .write(vec![WriteOp::Create {
            record: Record::new().with(contact::fields::GIVEN_NAME, "Neu"),
            key: "K-9".into(),
        }])
        .await
        .unwrap();
    done(&out[0]);
    let in_nord: Vec<_> = mock
        .mailbox(BOB)
        .unwrap()
        .items_in("contacts/Kunden/Nord")
        .map(|i| i.item().unwrap())
        .collect();
    assert_eq!(in_nord.len(), 2);
    assert!(
        in_nord
            .iter()
            .any(|i| conaktiv_exchange::mapping::key::record_id(i) == Some("K-9"))
    );

    // A new-items folder outside the sync folders is refused when the side is made.
    let outside = config_outside();
    assert!(matches!(
        ExchangeSide::new(&client, BOB, outside),
        Err(ExchangeError::NewItemsOutside { .. })
    ));
    // Without subfolders, a folder below the sync folder is outside too.
    let flat = config(ExchangeTable::Contacts, &[("/Contacts/Kunden", false)])
        .with_new_items_folder(path("/Contacts/Kunden/Nord"));
    assert!(flat.validate().is_err());
    // A folder that does not exist is a clear, permanent error.
    let mut missing = contacts_side(&client, &[("/Contacts/Fehlt", false)]);
    let err = missing.list().await.unwrap_err();
    assert!(!err.is_transient());
    assert!(err.to_string().contains("/Contacts/Fehlt"), "{err}");
}

fn config_outside() -> ExchangeSideConfig {
    config(ExchangeTable::Contacts, &[("/Contacts/Kunden", true)])
        .with_new_items_folder(path("/Contacts/Andere"))
}

#[tokio::test]
async fn the_change_feed_returns_only_the_changes() {
    let (mock, client) = start().await;
    let mut side = contacts_side(&client, &[("/Contacts/Kunden", true)]);
    let listed = side.list().await.unwrap();
    let token = listed.token.unwrap();
    let nothing = side.changes_since(&token).await.unwrap().unwrap();
    assert!(nothing.changed.is_empty() && nothing.removed.is_empty());

    // A user edits Carol, deletes Nora and adds Paul.
    let carol = listed
        .entries
        .iter()
        .find(|e| e.id != listed.entries[1].id)
        .unwrap()
        .clone();
    let records = side
        .fetch(
            &listed
                .entries
                .iter()
                .map(|e| e.id.clone())
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let (carol_id, carol_rec) = records
        .iter()
        .find(|(_, r)| r.get(contact::fields::GIVEN_NAME) == Some(&json!("Carol")))
        .unwrap()
        .clone();
    let (nora_id, _) = records
        .iter()
        .find(|(_, r)| r.get(contact::fields::GIVEN_NAME) == Some(&json!("Nora")))
        .unwrap()
        .clone();
    let _ = carol;
    let bob = client.for_mailbox(BOB);
    let edited = carol_rec.clone().with(contact::fields::SURNAME, "Smith");
    let like = ews_client::types::Item::Contact(Default::default());
    bob.execute(&UpdateItem::for_item(
        &like,
        ItemId::new(carol_id.clone()),
        contact::record_to_update_changes(&carol_rec, &edited),
    ))
    .await
    .unwrap()
    .into_single()
    .unwrap();
    bob.delete_items(
        ews_client::ops::DisposalType::HardDelete,
        vec![ItemId::new(nora_id.clone())],
    )
    .await
    .unwrap();
    let out = side
        .write(vec![WriteOp::Create {
            record: Record::new().with(contact::fields::GIVEN_NAME, "Paul"),
            key: "K-P".into(),
        }])
        .await
        .unwrap();
    let (paul_id, paul_v) = done(&out[0]);

    let changes = side.changes_since(&token).await.unwrap().unwrap();
    let mut changed: Vec<_> = changes.changed.iter().map(|e| e.id.clone()).collect();
    changed.sort();
    let mut expected = vec![carol_id.clone(), paul_id.clone()];
    expected.sort();
    assert_eq!(changed, expected);
    assert_eq!(changes.removed, vec![nora_id]);
    assert!(changes.changed.contains(&Entry {
        id: paul_id,
        version: paul_v,
        key: Some("K-P".into()),
    }));

    // From the new token: nothing, for one SyncFolderItems per folder and no item read.
    mock.clear_log();
    let again = side.changes_since(&changes.token).await.unwrap().unwrap();
    assert!(again.changed.is_empty() && again.removed.is_empty());
    let counts = mock.request_counts();
    assert_eq!(counts.get("SyncFolderItems"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("GetItem"), None, "{counts:?}");
}

#[tokio::test]
async fn a_rejected_or_corrupt_token_falls_back_to_a_full_listing() {
    let (_mock, client) = start().await;
    let mut side = contacts_side(&client, &[("/Contacts/Kunden", false)]);
    let token = side.list().await.unwrap().token.unwrap();
    // A sync state Exchange rejects (ErrorInvalidSyncStateData).
    let mut tampered = FeedToken::decode(&token).unwrap();
    for state in tampered.folders.values_mut() {
        state.push_str("AAAA");
    }
    assert_eq!(side.changes_since(&tampered.encode()).await.unwrap(), None);
    // Not a token of ours, or of another folder configuration.
    assert_eq!(side.changes_since("garbage").await.unwrap(), None);
    let mut other = contacts_side(&client, &[("/Contacts/Andere", false)]);
    assert_eq!(other.changes_since(&token).await.unwrap(), None);

    // The engine then lists in full and plans nothing new.
    let mut local = MemorySide::new("crm-", Feed::FullListing);
    let mut store = MemoryStore::new();
    let engine = Engine::new(Policy::default()).unwrap();
    engine
        .run(
            &mut local,
            &mut side,
            &mut store,
            Timestamp::from_unix_secs(1),
        )
        .await
        .unwrap();
    store
        .commit(&StateBatch {
            tokens: vec![(SideId::Remote, Some(tampered.encode()))],
            ..StateBatch::default()
        })
        .unwrap();
    let prepared = engine
        .prepare(
            &mut local,
            &mut side,
            &mut store,
            Timestamp::from_unix_secs(2),
        )
        .await
        .unwrap();
    assert_eq!(prepared.stats.full_listings, 2);
    assert_eq!(prepared.stats.feeds, 0);
    assert!(prepared.plan.items.is_empty(), "{:?}", prepared.plan.items);
}

#[tokio::test]
async fn engine_runs_move_repairing_and_no_change_cost() {
    let (mock, client) = start().await;
    let folders = [("/Contacts/Kunden", true), ("/Contacts/Andere", false)];
    let mut exchange = contacts_side(&client, &folders);
    let mut crm = MemorySide::new("crm-", Feed::Delta);
    let dora = crm.insert(Record::new().with(contact::fields::GIVEN_NAME, "Dora"));
    let mut store = MemoryStore::new();
    let engine = Engine::new(Policy::default()).unwrap();

    // Run 1: Carol and Nora go to the CRM, Dora to Exchange (Kunden), keys stored.
    let (_, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(1),
        )
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(crm.in_scope().len(), 3);
    assert_eq!(
        mock.mailbox(BOB)
            .unwrap()
            .items_in("contacts/Kunden")
            .count(),
        2
    );
    let pairs = store.all_pairs().unwrap();
    assert_eq!(pairs.len(), 3);
    assert!(
        pairs
            .iter()
            .any(|p| p.local.as_ref().is_some_and(|a| a.id == dora))
    );

    // Run 2 (no changes): nothing written; the second no-change run costs one
    // SyncFolderItems per folder (Kunden, Nord, Andere), one SyncFolderHierarchy for the
    // tree and no item reads.
    let (plan, _) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(2),
        )
        .await
        .unwrap();
    assert!(plan.items.is_empty(), "{:?}", plan.items);
    mock.clear_log();
    let (plan, _) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(3),
        )
        .await
        .unwrap();
    assert!(plan.items.is_empty(), "{:?}", plan.items);
    let counts = mock.request_counts();
    assert_eq!(counts.get("SyncFolderItems"), Some(&3), "{counts:?}");
    assert_eq!(counts.get("SyncFolderHierarchy"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("GetItem"), None, "{counts:?}");
    assert_eq!(counts.values().sum::<u64>(), 4, "{counts:?}");

    // A user moves Carol from Kunden to Andere: the pair is re-anchored, not deleted and
    // re-created, on either side.
    let carol_snapshot = mock
        .mailbox(BOB)
        .unwrap()
        .items_in("contacts/Kunden")
        .find(|i| i.subject.as_deref() == Some("Carol Jones"))
        .unwrap()
        .clone();
    let andere = exchange
        .resolved()
        .unwrap()
        .folders
        .iter()
        .find(|f| f.path == "/Contacts/Andere")
        .unwrap()
        .id
        .clone();
    let bob = client.for_mailbox(BOB);
    let moved = bob
        .execute(&MoveItem {
            to_folder_id: FolderId::new(andere).into(),
            item_ids: vec![ItemId::new(carol_snapshot.id.clone()).into()],
            return_new_item_ids: None,
        })
        .await
        .unwrap()
        .into_single()
        .unwrap();
    let new_id = moved.items[0].item_id().unwrap().id.clone();
    assert_ne!(new_id, carol_snapshot.id);
    let applied_before = crm.applied.len();
    let (plan, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(4),
        )
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(
        plan.counts.local.new + plan.counts.remote.new,
        0,
        "{:?}",
        plan.counts
    );
    assert_eq!(
        plan.counts.local.deleted + plan.counts.remote.deleted,
        0,
        "{:?}",
        plan.counts
    );
    assert_eq!(crm.applied.len(), applied_before, "{:?}", crm.applied);
    assert_eq!(crm.in_scope().len(), 3);
    assert_eq!(names(&mock, BOB, "contacts/Andere"), vec!["Carol Jones"]);
    let pairs = store.all_pairs().unwrap();
    assert_eq!(pairs.len(), 3);
    assert!(
        pairs
            .iter()
            .any(|p| p.remote.as_ref().is_some_and(|a| a.id == new_id)),
        "{pairs:?}"
    );
}

/// For every table: a CRM record synced to Exchange, and an Exchange item synced to the CRM,
/// read back equal, so a second run plans nothing (no ping-pong) and a third costs one
/// SyncFolderItems and no item read.
#[tokio::test]
async fn engine_runs_are_stable_for_every_table() {
    let cases: Vec<(ExchangeTable, &str, Record)> = vec![
        (
            ExchangeTable::Contacts,
            "/Contacts/Andere",
            Record::new()
                .with(contact::fields::GIVEN_NAME, "Dora")
                .with(contact::fields::SURNAME, "Diaz")
                .with("email.1", "dora@diaz.test"),
        ),
        (
            ExchangeTable::Appointments,
            "/Calendar/Termine",
            Record::new()
                .with(appointment::fields::SUBJECT, "Kickoff")
                .with(appointment::fields::START, "2025-03-10T08:00:00Z")
                .with(appointment::fields::END, "2025-03-10T09:00:00Z")
                .with(appointment::fields::START_TZ, "Europe/Berlin")
                .with(appointment::fields::END_TZ, "Europe/Berlin"),
        ),
        (
            ExchangeTable::Tasks,
            "/Tasks/Projekt",
            Record::new()
                .with(task::fields::SUBJECT, "Angebot schreiben")
                .with(task::fields::DUE_DATE, "2025-04-01"),
        ),
        (
            ExchangeTable::Mail {
                direction: Direction::Outgoing,
            },
            "/Inbox/Projekte",
            Record::new()
                .with("message_id", "m-1@contoso.test")
                .with("subject", "Angebot")
                .with("to", json!([{"name": "", "address": "kunde@kunde.test"}]))
                .with("text_body", "Hallo"),
        ),
    ];
    for (table, folder_path, record) in cases {
        let (mock, client) = start().await;
        let mut exchange =
            ExchangeSide::new(&client, BOB, config(table, &[(folder_path, false)])).unwrap();
        let mut crm = MemorySide::new("crm-", Feed::FullListing);
        crm.insert(record.clone());
        let mut store = MemoryStore::new();
        let engine = Engine::new(Policy::default()).unwrap();
        let (_, report) = engine
            .run(
                &mut crm,
                &mut exchange,
                &mut store,
                Timestamp::from_unix_secs(1),
            )
            .await
            .unwrap();
        assert!(report.is_complete(), "{table:?}: {report:?}");
        assert_eq!(report.counts.remote.new, 1, "{table:?}");
        // Plus an item created in Exchange by the user: copied to the CRM.
        let user_item = exchange
            .write(vec![WriteOp::Create {
                record: record.clone(),
                key: String::new(),
            }])
            .await
            .unwrap();
        done(&user_item[0]);
        let (plan, report) = engine
            .run(
                &mut crm,
                &mut exchange,
                &mut store,
                Timestamp::from_unix_secs(2),
            )
            .await
            .unwrap();
        assert!(report.is_complete(), "{table:?}: {report:?}");
        assert_eq!(plan.counts.local.new, 1, "{table:?}: {:?}", plan.items);
        let (plan, _) = engine
            .run(
                &mut crm,
                &mut exchange,
                &mut store,
                Timestamp::from_unix_secs(3),
            )
            .await
            .unwrap();
        assert!(plan.items.is_empty(), "{table:?}: {:?}", plan.items);
        mock.clear_log();
        let (plan, _) = engine
            .run(
                &mut crm,
                &mut exchange,
                &mut store,
                Timestamp::from_unix_secs(4),
            )
            .await
            .unwrap();
        assert!(plan.items.is_empty(), "{table:?}: {:?}", plan.items);
        let counts = mock.request_counts();
        assert_eq!(
            counts,
            [("SyncFolderItems".to_string(), 1)].into_iter().collect(),
            "{table:?}"
        );
        // The CRM holds two equal copies of the record.
        for id in crm.in_scope() {
            assert_subset(&record, &crm.get(&id).unwrap().record);
        }
    }
}

/// An item moved out of the synced folders leaves the scope (reported removed); moved back
/// in, it comes back with a new id and its key.
#[tokio::test]
async fn items_moved_out_of_the_folders_leave_the_scope() {
    let (mock, client) = start().await;
    let mut side = contacts_side(&client, &[("/Contacts/Kunden", false)]);
    let listed = side.list().await.unwrap();
    let carol = listed.entries[0].id.clone();
    let out = side
        .write(vec![WriteOp::SetKey {
            id: carol.clone(),
            expected: listed.entries[0].version.clone(),
            key: "K-C".into(),
        }])
        .await
        .unwrap();
    done(&out[0]);
    let token = side.list().await.unwrap().token.unwrap();
    let bob = client.for_mailbox(BOB);
    let contacts_root = bob
        .get_folder(ews_client::types::DistinguishedFolderName::Contacts.into())
        .await
        .unwrap()
        .folder_id
        .unwrap();
    let moved = bob
        .move_items(contacts_root.into(), vec![ItemId::new(carol.clone())])
        .await
        .unwrap();
    let outside_id = moved[0]
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap()
        .item_id()
        .unwrap()
        .id
        .clone();
    let feed = side.changes_since(&token).await.unwrap().unwrap();
    assert!(feed.changed.is_empty(), "{feed:?}");
    assert_eq!(feed.removed, vec![carol]);

    let kunden = side.resolved().unwrap().folders[0].id.clone();
    let back = bob
        .move_items(FolderId::new(kunden).into(), vec![ItemId::new(outside_id)])
        .await
        .unwrap();
    let back_id = back[0]
        .as_ref()
        .unwrap()
        .as_ref()
        .unwrap()
        .item_id()
        .unwrap()
        .id
        .clone();
    let feed = side.changes_since(&feed.token).await.unwrap().unwrap();
    assert_eq!(feed.changed.len(), 1);
    assert_eq!(feed.changed[0].id, back_id);
    assert_eq!(feed.changed[0].key.as_deref(), Some("K-C"));
    let _ = mock;
}

/// A contact whose note is larger than the server accepts (HTTP 413 for the whole
/// `CreateItem`) fails alone: the batch is split and every other create is written.
#[tokio::test]
async fn an_oversized_item_fails_alone_and_the_rest_of_its_batch_is_written() {
    let (mock, client) = start().await;
    let mut side = contacts_side(&client, &[("/Kontakte/Kunden", false)]);
    let huge = "x".repeat(65 * 1024 * 1024);
    let mut ops = Vec::new();
    for n in 0..7 {
        let mut record = Record::new().with(contact::fields::SURNAME, format!("Person {n}"));
        if n == 3 {
            record = record.with(contact::fields::NOTES, huge.as_str());
        }
        ops.push(WriteOp::Create {
            record,
            key: format!("key-{n}"),
        });
    }
    let out = side.write(ops).await.unwrap();
    assert_eq!(out.len(), 7);
    for (n, o) in out.iter().enumerate() {
        if n == 3 {
            assert!(matches!(o, WriteOutcome::Failed(_)), "{n}: {o:?}");
        } else {
            done(o);
        }
    }
    let stored = mock
        .mailbox(BOB)
        .unwrap()
        .items_in("contacts/Kunden")
        .count();
    assert_eq!(stored, 1 + 6);
}

/// An appointment that arrives without `End` is reported and left out, never imported as
/// 1970-01-01; the other appointments are read.
#[tokio::test]
async fn an_appointment_without_end_is_skipped_and_reported() {
    use ews_client::ops::CreateItem;
    use ews_client::types::Item;
    use ews_client::types::calendar::CalendarItem;
    let (_mock, client) = start().await;
    let mut side = ExchangeSide::new(
        &client,
        BOB,
        config(ExchangeTable::Appointments, &[("/Calendar/Termine", false)]),
    )
    .unwrap();
    assert!(side.list().await.unwrap().entries.is_empty());
    let folder = side.resolved().unwrap().folders[0].id.clone();
    let mut good = CalendarItem::default();
    good.common.subject = Some("Gut".into());
    good.start = Some("2026-12-01T09:00:00Z".parse().unwrap());
    good.end = Some("2026-12-01T10:00:00Z".parse().unwrap());
    let mut bad = CalendarItem::default();
    bad.common.subject = Some("Ohne Ende".into());
    bad.start = Some("2026-12-02T09:00:00Z".parse().unwrap());
    client
        .for_mailbox(BOB)
        .execute(&CreateItem::save(
            vec![Item::from(good), Item::from(bad)],
            Some(FolderId::new(folder).into()),
        ))
        .await
        .unwrap();
    let listing = side.list().await.unwrap();
    assert_eq!(listing.entries.len(), 2);
    let ids: Vec<String> = listing.entries.iter().map(|e| e.id.clone()).collect();
    let fetched = side.fetch(&ids).await.unwrap();
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    assert_eq!(
        fetched[0].1.get(appointment::fields::SUBJECT),
        Some(&json!("Gut"))
    );
    assert_eq!(side.unreadable().len(), 1);
    assert!(
        side.unreadable()[0].contains("Ohne Ende") && side.unreadable()[0].contains("no End"),
        "{:?}",
        side.unreadable()
    );
}
