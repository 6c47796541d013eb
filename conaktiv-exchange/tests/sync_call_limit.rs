//! Exchange's ConcurrentSyncCalls (5 `Sync*` calls at once per account by default): the
//! connector's EWS client waits for a slot instead of having the server refuse calls, and
//! the server record's `ews_concurrent_sync_calls` sets the number, against ews-mock over
//! HTTP with a slow SyncFolderItems.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

use std::fmt::Write as _;

use conaktiv_exchange::service::client_for_server;
use conaktiv_model::Secret;
use conaktiv_model::config::{AuthScheme, EwsServer};
use conaktiv_model::values::HttpsUrl;
use ews_client::ops::SyncFolderItems;
use ews_client::types::DistinguishedFolderName;
use ews_client::types::shape::ItemShape;
use ews_mock::{Fault, FaultRule, MockConfig, MockHandle, MockServer, OrgData};
use futures::TryStreamExt;

const SVC: &str = "svc-crm@contoso.test";
const MAILBOXES: usize = 16;

async fn mock() -> MockHandle {
    let mut org = format!(
        "[[users]]\naddress = \"{SVC}\"\npassword = \"svc-pw\"\nroles = [\"ApplicationImpersonation\"]\n"
    );
    for u in 0..MAILBOXES {
        let _ = write!(
            org,
            "\n[[users]]\naddress = \"u{u}@contoso.test\"\npassword = \"pw\"\n\n[[mailboxes]]\nowner = \"u{u}@contoso.test\"\nitems = [{{ folder = \"contacts\", subject = \"C{u}\" }}]\n"
        );
    }
    let mut data = OrgData::from_toml(&org).unwrap();
    // Every SyncFolderItems takes a while, as across a network: the calls overlap.
    data.faults
        .push(FaultRule::always(Fault::Latency { ms: 300 }).for_operation("SyncFolderItems"));
    MockServer::start(MockConfig::new(data)).await.unwrap()
}

fn record(mock: &MockHandle, sync_calls: Option<u32>) -> EwsServer {
    let mut record = EwsServer::on_premises(
        "Büro",
        HttpsUrl::parse(&mock.url()).unwrap(),
        SVC,
        Secret::from("svc-pw"),
        AuthScheme::Basic,
    );
    record.ews_concurrent_sync_calls = sync_calls;
    record
}

/// Syncs every mailbox's contact folder at once; returns how many calls the server refused
/// as busy (each was waited out and repeated by the client, so all succeed).
async fn sync_all(mock: &MockHandle, record: &EwsServer) -> usize {
    mock.clear_log();
    let client = client_for_server(record).unwrap();
    let runs = (0..MAILBOXES).map(|u| {
        let mailbox = client.for_mailbox(format!("u{u}@contoso.test"));
        async move {
            let op = SyncFolderItems::new(
                DistinguishedFolderName::Contacts.into(),
                ItemShape::id_only(),
                None,
                512,
            );
            mailbox
                .sync_folder_items(op)
                .try_collect::<Vec<_>>()
                .await
                .unwrap()
        }
    });
    let pages = futures::future::join_all(runs).await;
    assert!(pages.iter().all(|p| !p.is_empty()), "every mailbox synced");
    mock.request_log()
        .iter()
        .filter(|e| e.response_code.as_deref() == Some("ErrorServerBusy"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_calls_wait_for_the_accounts_budget_instead_of_being_refused() {
    let mock = mock().await;
    // By default: Exchange's 5, which the mock enforces as Exchange does.
    assert_eq!(sync_all(&mock, &record(&mock, None)).await, 0);
    // A record allowing more than the account's policy gets refusals (waited out)...
    let greedy = record(&mock, Some(16));
    assert!(sync_all(&mock, &greedy).await > 0);
    // ...and none once the account's throttling policy allows that many.
    mock.set_limits(27, 16);
    assert_eq!(sync_all(&mock, &greedy).await, 0);
    // A smaller share (one of several workers on the same account) stays within it too.
    mock.set_limits(27, 2);
    assert_eq!(sync_all(&mock, &record(&mock, Some(2))).await, 0);
}
