//! The Exchange side when things go wrong (wrong credentials, throttling, a create whose
//! answer is lost) and mail attachments, against ews-mock over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use std::time::Duration;

use conaktiv_exchange::exchange::{ExchangeSide, ExchangeSideConfig, ExchangeTable};
use conaktiv_exchange::mapping::contact;
use conaktiv_model::config::{Master, SyncFolder, SyncRule, SyncTable};
use conaktiv_model::mail::Direction;
use conaktiv_model::values::FolderPath;
use ews_client::transport::{Auth, TransportConfig};
use ews_client::{Client, ClientConfig};
use ews_mock::{Fault, FaultRule, MockHandle};
use serde_json::json;
use sync_core::memory::{Feed, MemorySide};
use sync_core::{
    Engine, MemoryStore, Policy, Record, Side, StateStore, Timestamp, WriteOp, WriteOutcome,
    WriteResult,
};

const BOB: &str = "bob@contoso.test";

const ORG: &str = r#"
[[users]]
address = "svc-crm@contoso.test"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "bob@contoso.test"
password = "bob-pw"

[[mailboxes]]
owner = "bob@contoso.test"
folders = [{ path = "contacts/Kunden" }, { path = "inbox/Projekte" }]
items = [
  { folder = "contacts/Kunden", subject = "Carol", fields = { GivenName = "Carol" } },
]
"#;

async fn start() -> MockHandle {
    common::start_mock(ORG).await
}

fn client(mock: &MockHandle, user: &str, password: &str, timeout: Duration) -> Client {
    let url = url::Url::parse(&mock.url()).unwrap();
    Client::new(
        ClientConfig::new(TransportConfig::new(url, Auth::basic(user, password)))
            .with_call_timeout(timeout),
    )
    .unwrap()
}

fn svc(mock: &MockHandle) -> Client {
    client(
        mock,
        "svc-crm@contoso.test",
        "svc-pw",
        Duration::from_secs(30),
    )
}

fn kunden_rule() -> SyncRule {
    SyncRule::new(
        "Kunden",
        SyncTable::Contacts,
        Master::ConAktiv,
        vec![SyncFolder::new(
            FolderPath::new("/Kontakte/Kunden").unwrap(),
            conaktiv_model::Subfolders::Excluded,
        )],
    )
}

#[tokio::test]
async fn wrong_credentials_are_a_permanent_error() {
    let mock = start().await;
    let bad = client(
        &mock,
        "svc-crm@contoso.test",
        "wrong",
        Duration::from_secs(10),
    );
    let mut side = ExchangeSide::for_rule(&bad, BOB, &kunden_rule()).unwrap();
    let err = side.list().await.unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert!(
        !err.to_string().contains("wrong"),
        "no password in errors: {err}"
    );

    // A user without the impersonation role may not act on Bob's mailbox.
    let bob_only = client(&mock, "bob@contoso.test", "bob-pw", Duration::from_secs(10));
    let mut other =
        ExchangeSide::for_rule(&bob_only, "svc-crm@contoso.test", &kunden_rule()).unwrap();
    assert!(!other.list().await.unwrap_err().is_transient());
}

#[tokio::test]
async fn throttling_beyond_the_deadline_is_a_transient_error() {
    let mock = start().await;
    mock.add_fault(FaultRule::always(Fault::ServerBusy {
        back_off_ms: 60_000,
        as_soap_fault: false,
    }));
    let c = client(
        &mock,
        "svc-crm@contoso.test",
        "svc-pw",
        Duration::from_secs(2),
    );
    let mut side = ExchangeSide::for_rule(&c, BOB, &kunden_rule()).unwrap();
    let err = side.list().await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_not_duplicated() {
    let mock = start().await;
    let c = svc(&mock);
    let mut exchange = ExchangeSide::for_rule(&c, BOB, &kunden_rule()).unwrap();
    let mut crm = MemorySide::new("crm-", Feed::FullListing);
    crm.insert(Record::new().with(contact::fields::GIVEN_NAME, "Dora"));
    let mut store = MemoryStore::new();
    let engine = Engine::new(Policy::default()).unwrap();

    // The CreateItem is processed, but the connection drops before the answer.
    mock.add_fault(
        FaultRule::always(Fault::DropAfterProcessing)
            .for_operation("CreateItem")
            .times(1),
    );
    let (_, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(1),
        )
        .await
        .unwrap();
    let remote: Vec<_> = report
        .items
        .iter()
        .filter_map(|i| i.remote.clone())
        .collect();
    assert!(
        remote.iter().any(|r| matches!(r, WriteResult::Unknown(_))),
        "{report:?}"
    );
    assert_eq!(store.intents().unwrap().len(), 1);
    let count = || {
        mock.mailbox(BOB)
            .unwrap()
            .items_in("contacts/Kunden")
            .count()
    };
    assert_eq!(count(), 2, "Carol and Dora");

    // The next run lists in full, finds Dora by her key and pairs her: no second copy.
    let (plan, report) = engine
        .run(
            &mut crm,
            &mut exchange,
            &mut store,
            Timestamp::from_unix_secs(2),
        )
        .await
        .unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(plan.counts.remote.new, 0, "{:?}", plan.counts);
    assert_eq!(count(), 2);
    assert!(store.intents().unwrap().is_empty());
    assert_eq!(store.all_pairs().unwrap().len(), 2);
    assert_eq!(crm.in_scope().len(), 2);
}

#[tokio::test]
async fn a_dropped_create_fails_only_its_own_ops() {
    let mock = start().await;
    let c = svc(&mock);
    let mut side = ExchangeSide::for_rule(&c, BOB, &kunden_rule()).unwrap();
    let listed = side.list().await.unwrap();
    let e = &listed.entries[0];
    let rec = side.fetch(std::slice::from_ref(&e.id)).await.unwrap()[0]
        .1
        .clone();
    mock.add_fault(
        FaultRule::always(Fault::DropBeforeProcessing)
            .for_operation("CreateItem")
            .times(10),
    );
    let out = side
        .write(vec![
            WriteOp::Create {
                record: Record::new().with(contact::fields::GIVEN_NAME, "X"),
                key: "K-X".into(),
            },
            WriteOp::Update {
                id: e.id.clone(),
                expected: e.version.clone(),
                record: rec.with(contact::fields::SURNAME, "Neu"),
                key: "K-C".into(),
            },
        ])
        .await
        .unwrap();
    assert!(
        matches!(out[0], WriteOutcome::Unknown(_) | WriteOutcome::Failed(_)),
        "{out:?}"
    );
    assert!(matches!(out[1], WriteOutcome::Done { .. }), "{out:?}");
}

#[tokio::test]
async fn mail_is_filed_with_its_attachments() {
    let mock = start().await;
    let c = svc(&mock);
    let config = ExchangeSideConfig::new(
        ExchangeTable::Mail {
            direction: Direction::Outgoing,
        },
        vec![SyncFolder::new(
            FolderPath::new("/Posteingang/Projekte").unwrap(),
            conaktiv_model::Subfolders::Excluded,
        )],
    );
    let mut side = ExchangeSide::new(&c, BOB, config).unwrap();
    let record = Record::new()
        .with("message_id", "angebot-7@contoso.test")
        .with("subject", "Angebot 7")
        .with(
            "from",
            json!({"name": "Bob", "address": "bob@contoso.test"}),
        )
        .with("to", json!([{"name": "", "address": "kunde@kunde.test"}]))
        .with("text_body", "Anbei das Angebot.")
        .with("date", "2025-03-01T10:00:00Z")
        .with(
            "attachments",
            json!([{"name": "angebot.txt", "content_type": "text/plain", "bytes": [72, 105]}]),
        );
    let second = record
        .clone()
        .with("message_id", "angebot-8@contoso.test")
        .with("subject", "Angebot 8")
        .with(
            "attachments",
            json!([
                {"name": "a.pdf", "content_type": "application/pdf", "bytes": [1, 2, 3]},
                {"name": "b.txt", "content_type": "text/plain", "bytes": [65]}
            ]),
        );
    let out = side
        .write(vec![
            WriteOp::Create {
                record: record.clone(),
                key: "M-7".into(),
            },
            WriteOp::Create {
                record: second.clone(),
                key: "M-8".into(),
            },
        ])
        .await
        .unwrap();
    let ids: Vec<String> = out
        .iter()
        .map(|o| match o {
            WriteOutcome::Done { id, .. } => id.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        mock.mailbox(BOB)
            .unwrap()
            .items_in("inbox/Projekte")
            .count(),
        2
    );
    mock.clear_log();
    let fetched = side.fetch(&ids).await.unwrap();
    assert_eq!(fetched[0].1, record, "the filed mail reads back the same");
    assert_eq!(fetched[1].1, second);
    let counts = mock.request_counts();
    assert_eq!(counts.get("GetItem"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get("GetAttachment"),
        Some(&1),
        "one per batch: {counts:?}"
    );
    let listed = side.list().await.unwrap();
    let mut keys: Vec<_> = listed
        .entries
        .iter()
        .filter_map(|e| e.key.clone())
        .collect();
    keys.sort();
    assert_eq!(keys, vec!["M-7", "M-8"]);
}
