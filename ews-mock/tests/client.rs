//! The mock driven by `ews-client`'s own `Client` and transport: NTLM, OAuth client
//! credentials with impersonation, Basic, and the client's handling of injected throttling.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use std::time::Duration;

use common::*;
use ews_client::transport::{Auth, OAuthClientCredentials, RetryPolicy, TransportConfig};
use ews_client::types::{BaseFolderId, DistinguishedFolderName as D};
use ews_client::{Client, ClientConfig};
use ews_mock::{Fault, FaultRule, MockHandle};

fn client_with(mock: &MockHandle, auth: Auth) -> Client {
    let transport = TransportConfig::new(mock.url().parse().unwrap(), auth).with_retry(
        RetryPolicy::default().with_delays(Duration::from_millis(10), Duration::from_millis(50)),
    );
    Client::new(ClientConfig::new(transport)).unwrap()
}

#[tokio::test]
async fn ntlm_through_the_client_transport() {
    let mock = start().await;
    let client = client_with(&mock, Auth::ntlm("CONTOSO\\bob", "bob-pw"));
    let inbox = client
        .get_folder(BaseFolderId::from(D::Inbox))
        .await
        .unwrap();
    assert_eq!(inbox.display_name.as_deref(), Some("Inbox"));
    let contacts = client
        .get_folder(BaseFolderId::from(D::Contacts))
        .await
        .unwrap();
    assert_eq!(contacts.total_count, Some(1));
    let log = mock.request_log();
    assert!(
        log.iter().any(|e| e.status == 401),
        "the NTLM handshake starts with a 401"
    );
    assert_eq!(
        log.last().unwrap().caller.as_deref(),
        Some("bob@contoso.test")
    );

    let wrong = client_with(&mock, Auth::ntlm("CONTOSO\\bob", "nope"));
    let err = wrong
        .get_folder(BaseFolderId::from(D::Inbox))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn oauth_client_credentials_with_impersonation() {
    let mock = start().await;
    let creds = OAuthClientCredentials::new("contoso", "sync-app", "app-secret")
        .with_token_url(mock.token_url().parse().unwrap());
    let app = client_with(&mock, Auth::oauth(creds));
    let bob = app.for_mailbox("bob@contoso.test");
    let folder = bob
        .get_folder(BaseFolderId::from(D::Contacts))
        .await
        .unwrap();
    assert_eq!(folder.total_count, Some(1));
    let entry = mock.request_log().pop().unwrap();
    assert_eq!(entry.impersonating.as_deref(), Some("sync-app"));
    assert_eq!(entry.mailbox.as_deref(), Some("bob@contoso.test"));

    let bad = OAuthClientCredentials::new("contoso", "sync-app", "wrong")
        .with_token_url(mock.token_url().parse().unwrap());
    let err = client_with(&mock, Auth::oauth(bad))
        .for_mailbox("bob@contoso.test")
        .get_folder(BaseFolderId::from(D::Inbox))
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_client_backs_off_on_injected_throttling() {
    let mock = start().await;
    let client = client_with(&mock, Auth::basic("bob@contoso.test", "bob-pw"));
    mock.add_fault(
        FaultRule::always(Fault::ServerBusy {
            back_off_ms: 30,
            as_soap_fault: true,
        })
        .for_operation("GetFolder")
        .times(1),
    );
    mock.add_fault(
        FaultRule::always(Fault::ServerBusy {
            back_off_ms: 30,
            as_soap_fault: false,
        })
        .for_operation("GetFolder")
        .times(1),
    );
    mock.add_fault(
        FaultRule::always(Fault::Http503 {
            retry_after_secs: 0,
        })
        .for_operation("GetFolder")
        .times(1),
    );
    let inbox = client
        .get_folder(BaseFolderId::from(D::Inbox))
        .await
        .unwrap();
    assert_eq!(inbox.display_name.as_deref(), Some("Inbox"));
    let statuses: Vec<(u16, Option<String>)> = mock
        .request_log()
        .iter()
        .map(|e| (e.status, e.response_code.clone()))
        .collect();
    assert_eq!(statuses.len(), 4, "{statuses:?}");
    assert_eq!(statuses[0], (500, Some("ErrorServerBusy".into())));
    assert_eq!(statuses[1], (200, Some("ErrorServerBusy".into())));
    assert_eq!(statuses[2].0, 503);
    assert_eq!(statuses[3], (200, Some("NoError".into())));
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn create_items_through_the_client_returns_new_ids_in_order() {
    use ews_client::ItemShape;
    use ews_client::types::{Contact, Item};
    use futures::TryStreamExt;
    let mock = start().await;
    let client = client_with(&mock, Auth::basic("bob@contoso.test", "bob-pw"));
    let contact = |name: &str| {
        Item::Contact(Contact {
            display_name: Some(name.into()),
            given_name: Some(name.into()),
            ..Contact::default()
        })
    };
    let created = client
        .create_items(
            Some(BaseFolderId::from(D::Contacts)),
            [contact("Anna"), contact("Ben")],
        )
        .await
        .unwrap();
    let ids: Vec<_> = created
        .into_iter()
        .map(|r| r.unwrap().and_then(|i| i.item_id().cloned()).unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0].id, ids[1].id);
    let read: Vec<_> = client
        .get_items(ItemShape::all_properties(), ids)
        .try_collect()
        .await
        .unwrap();
    let names: Vec<_> = read
        .into_iter()
        .map(|r| match r.unwrap() {
            Item::Contact(c) => c.display_name.unwrap_or_default(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["Anna", "Ben"]);
    let contacts = client
        .get_folder(BaseFolderId::from(D::Contacts))
        .await
        .unwrap();
    assert_eq!(
        contacts.total_count,
        Some(3),
        "the mock's contact and two new ones"
    );
    mock.shutdown().await.unwrap();
}
