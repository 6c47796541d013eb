//! GraphSide over the mock's Graph front: a change feed round reads changed To Do tasks in
//! a `$batch` (their list known from the delta that named them), with their key.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use conaktiv_exchange::exchange::{ExchangeSideConfig, ExchangeTable};
use conaktiv_exchange::graph_side::GraphSide;
use conaktiv_model::config::SyncFolder;
use conaktiv_model::values::FolderPath;
use ews_mock::{MockConfig, MockServer, OrgData};
use sync_core::{Record, Side, WriteOp, WriteOutcome};

const ORG: &str = "[[apps]]\nclient_id = \"a\"\nclient_secret = \"s\"\ntenant = \"t\"\n\n[[users]]\naddress = \"bob@contoso.test\"\npassword = \"p\"\n\n[[mailboxes]]\nowner = \"bob@contoso.test\"\n";

#[tokio::test]
async fn changed_tasks_are_read_in_a_batch_with_their_key() {
    let mock = MockServer::start(MockConfig::new(OrgData::from_toml(ORG).unwrap()))
        .await
        .unwrap();
    let mut creds = graph_client::auth::credentials("t", "a")
        .with_token_url(url::Url::parse(&mock.token_url()).unwrap());
    creds.client_secret = ews_client::transport::SecretString::from("s".to_owned());
    let client = graph_client::Client::new(
        graph_client::ClientConfig::new(graph_client::auth::with_secret(creds).unwrap())
            .with_base_url(url::Url::parse(&mock.graph_url()).unwrap())
            .with_timezone("UTC"),
    )
    .unwrap();
    let config = ExchangeSideConfig::new(
        ExchangeTable::Tasks,
        vec![SyncFolder::new(
            FolderPath::new("/Tasks").unwrap(),
            conaktiv_model::Subfolders::Excluded,
        )],
    );
    let mut side = GraphSide::new(client.mailbox("bob@contoso.test"), config.clone()).unwrap();
    let ops: Vec<WriteOp> = (0..3)
        .map(|i| WriteOp::Create {
            record: Record::new().with("subject", format!("Aufgabe {i}")),
            key: format!("K-{i}"),
        })
        .collect();
    let done = side.write(ops).await.unwrap();
    assert!(
        done.iter().all(|o| matches!(o, WriteOutcome::Done { .. })),
        "{done:?}"
    );
    let listing = side.list().await.unwrap();
    assert_eq!(listing.entries.len(), 3);
    let token = listing.token.unwrap();

    // Someone edits two tasks in To Do.
    let list = client
        .mailbox("bob@contoso.test")
        .todo_lists()
        .await
        .unwrap()[0]
        .id
        .clone()
        .unwrap();
    for e in &listing.entries[..2] {
        client
            .mailbox("bob@contoso.test")
            .update_task(
                &list,
                &e.id,
                &serde_json::json!({"title": "Geändert"}),
                None,
            )
            .await
            .unwrap();
    }
    mock.clear_log();
    let mut side = GraphSide::new(client.mailbox("bob@contoso.test"), config).unwrap();
    let changes = side.changes_since(&token).await.unwrap().unwrap();
    assert_eq!(changes.changed.len(), 2, "{changes:?}");
    assert!(
        changes
            .changed
            .iter()
            .all(|e| e.key.as_deref().is_some_and(|k| k.starts_with("K-")))
    );
    let ids: Vec<String> = changes.changed.iter().map(|e| e.id.clone()).collect();
    let records = side.fetch(&ids).await.unwrap();
    assert!(
        records
            .iter()
            .all(|(_, r)| r.get("subject") == Some(&"Geändert".into())),
        "{records:?}"
    );
    let counts = mock.request_counts();
    assert_eq!(counts.get("Graph POST $batch"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get("Graph GET todo/lists/tasks/delta"),
        Some(&1),
        "{counts:?}"
    );
}
