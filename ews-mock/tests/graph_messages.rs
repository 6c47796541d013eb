//! The Graph front's sending and message content, driven over HTTP by graph-client's
//! `Client`: `$value`, drafts from JSON and MIME, `send` (the Sent Items copy keeps the
//! immutable id; delivered to another mailbox of the organisation), `sendMail` (JSON and
//! MIME), attachments inline and through an upload session above 3 MB, `DELETE` to Deleted
//! Items, and a move through EWS that keeps the Graph id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

mod common;

use std::time::Duration;

use common::Ews;
use ews_client::ops::MoveItem;
use ews_client::transport::{RetryPolicy, SecretString};
use ews_client::types::{BaseFolderId, DistinguishedFolderName as D, ItemId};
use ews_mock::MockHandle;
use graph_client::auth;
use graph_client::mail::{Message, simple_message};
use graph_client::translate::ExchangeIdFormat;
use graph_client::{Client, ClientConfig, ListOptions};

fn client(mock: &MockHandle) -> Client {
    let mut creds =
        auth::credentials("contoso", "sync-app").with_token_url(mock.token_url().parse().unwrap());
    creds.client_secret = SecretString::from("app-secret".to_owned());
    let config = ClientConfig::new(auth::with_secret(creds).unwrap())
        .with_base_url(url::Url::parse(&format!("{}/v1.0/", mock.base_url())).unwrap())
        .with_retry(
            RetryPolicy::default()
                .with_delays(Duration::from_millis(10), Duration::from_millis(50))
                .with_max_attempts(3),
        )
        .with_retry_after_floor(Duration::from_millis(10))
        .with_timeouts(Duration::from_secs(10), Duration::from_secs(60));
    Client::new(config).unwrap()
}

async fn folder_id(mb: &graph_client::Mailbox, name: &str) -> String {
    mb.mail_folder(name).await.unwrap().id.unwrap()
}

async fn subjects(mb: &graph_client::Mailbox, folder: &str) -> Vec<String> {
    mb.messages(folder, &ListOptions::default())
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| m.subject)
        .collect()
}

#[tokio::test]
async fn a_draft_with_attachments_is_sent_and_keeps_its_id_in_sent_items() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let alice = graph.mailbox("alice@contoso.test");

    let draft = bob
        .create_draft(
            None,
            &simple_message(
                "Angebot 4711",
                "Anbei das Angebot.",
                &["alice@contoso.test"],
            ),
        )
        .await
        .unwrap();
    let id = draft.id.clone().unwrap();

    // a small attachment in one request, a large one (4 MB) through an upload session
    let small = b"%PDF-1.4 small".to_vec();
    let large: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let small_id = bob
        .add_attachment(&id, "angebot.pdf", "application/pdf", &small)
        .await
        .unwrap()
        .expect("an id");
    let large_id = bob
        .add_attachment(&id, "anlage.bin", "application/octet-stream", &large)
        .await
        .unwrap()
        .expect("the id from the upload's Location");
    let attachments = bob.attachments(&id).await.unwrap();
    assert_eq!(attachments.len(), 2);
    let by_id = |aid: &str| {
        attachments
            .iter()
            .find(|a| a.id.as_deref() == Some(aid))
            .unwrap()
    };
    assert_eq!(by_id(&small_id).content_bytes.as_ref().unwrap().0, small);
    assert_eq!(by_id(&large_id).name.as_deref(), Some("anlage.bin"));
    assert_eq!(by_id(&large_id).size, Some(4 * 1024 * 1024));
    assert!(by_id(&large_id).content_bytes.as_ref().unwrap().0 == large);

    // $value is the MIME of the message
    let mime = String::from_utf8_lossy(&bob.message_mime(&id).await.unwrap()).into_owned();
    assert!(mime.contains("Subject: Angebot 4711"), "{mime}");

    // send: delivered to alice, the copy in bob's Sent Items under the same id
    bob.send_draft(&id).await.unwrap();
    let sent = bob.message(&id, &ListOptions::default()).await.unwrap();
    assert_eq!(
        sent.parent_folder_id,
        Some(folder_id(&bob, "sentitems").await)
    );
    assert_eq!(sent.is_draft, Some(false));
    assert!(
        !subjects(&bob, "drafts")
            .await
            .contains(&"Angebot 4711".into())
    );
    let received = alice
        .messages("inbox", &ListOptions::default())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.subject.as_deref() == Some("Angebot 4711"))
        .expect("delivered to alice");
    assert_eq!(
        received
            .from
            .and_then(|f| f.email_address)
            .and_then(|e| e.address)
            .as_deref(),
        Some("bob@contoso.test")
    );
    let received_attachments = alice
        .attachments(received.id.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(received_attachments.len(), 2);
    // a sent message cannot be sent again
    assert!(bob.send_draft(&id).await.is_err());
}

#[tokio::test]
async fn send_mail_as_json_and_mime_and_drafts_from_mime() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let alice = graph.mailbox("alice@contoso.test");

    bob.send_mail(
        &simple_message("Per JSON", "Hallo", &["alice@contoso.test"]),
        graph_client::mail::SaveCopy::InSentItems,
    )
    .await
    .unwrap();
    bob.send_mail(
        &simple_message("Ohne Kopie", "Hallo", &["alice@contoso.test"]),
        graph_client::mail::SaveCopy::Discard,
    )
    .await
    .unwrap();
    let mime = b"From: bob@contoso.test\r\nTo: alice@contoso.test\r\nSubject: Per MIME\r\n\
Message-ID: <mime-1@contoso.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo aus MIME\r\n";
    bob.send_mail_mime(mime).await.unwrap();

    let inbox = subjects(&alice, "inbox").await;
    for s in ["Per JSON", "Ohne Kopie", "Per MIME"] {
        assert!(inbox.contains(&s.to_string()), "{s} in {inbox:?}");
    }
    let sent = subjects(&bob, "sentitems").await;
    assert!(sent.contains(&"Per JSON".to_string()));
    assert!(sent.contains(&"Per MIME".to_string()));
    assert!(!sent.contains(&"Ohne Kopie".to_string()));
    // no recipient: Graph's 400
    let err = bob
        .send_mail(
            &simple_message("Niemand", "x", &[]),
            graph_client::mail::SaveCopy::InSentItems,
        )
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err}");

    // a draft from MIME content; its $value keeps the MIME headers
    let draft_mime = b"From: bob@contoso.test\r\nTo: carol@example.org\r\nSubject: Entwurf MIME\r\n\
Message-ID: <draft-1@contoso.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nText\r\n";
    let draft = bob.create_draft_mime(draft_mime).await.unwrap();
    assert_eq!(draft.subject.as_deref(), Some("Entwurf MIME"));
    assert_eq!(draft.is_draft, Some(true));
    let value = bob
        .message_mime(draft.id.as_deref().unwrap())
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&value).contains("<draft-1@contoso.test>"));
}

#[tokio::test]
async fn delete_moves_to_deleted_items_and_an_ews_move_keeps_the_graph_id() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let draft = bob
        .create_draft(
            None,
            &Message {
                subject: Some("Umzug per EWS".into()),
                ..Message::default()
            },
        )
        .await
        .unwrap();
    let id = draft.id.clone().unwrap();

    // moved through EWS: the EWS id changes, the Graph id does not
    let ews_id = bob
        .translate_exchange_ids(
            &[id.as_str()],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap()[0]
        .target_id
        .clone()
        .unwrap();
    let ews = Ews::bob(&mock);
    let moved = ews
        .call(&MoveItem {
            to_folder_id: BaseFolderId::from(D::Inbox),
            item_ids: vec![ItemId::new(ews_id.clone()).into()],
            return_new_item_ids: Some(true),
        })
        .await;
    let new_ews_id = moved.messages[0].content.items[0]
        .item_id()
        .unwrap()
        .id
        .clone();
    assert_ne!(new_ews_id, ews_id);
    let read = bob.message(&id, &ListOptions::default()).await.unwrap();
    assert_eq!(read.subject.as_deref(), Some("Umzug per EWS"));
    assert_eq!(read.parent_folder_id, Some(folder_id(&bob, "inbox").await));
    let back = bob
        .translate_exchange_ids(
            &[new_ews_id.as_str()],
            ExchangeIdFormat::EwsId,
            ExchangeIdFormat::RestImmutableEntryId,
        )
        .await
        .unwrap();
    assert_eq!(back[0].target_id.as_deref(), Some(id.as_str()));

    // DELETE moves to Deleted Items (same id); deleting it there removes it
    bob.delete_message(&id, None).await.unwrap();
    let deleted = bob.message(&id, &ListOptions::default()).await.unwrap();
    assert_eq!(
        deleted.parent_folder_id,
        Some(folder_id(&bob, "deleteditems").await)
    );
    bob.delete_message(&id, None).await.unwrap();
    let err = bob.message(&id, &ListOptions::default()).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn an_upload_session_checks_its_ranges_and_needs_no_bearer_token() {
    let mock = common::start().await;
    let graph = client(&mock);
    let bob = graph.mailbox("bob@contoso.test");
    let id = bob
        .create_draft(
            None,
            &simple_message("Upload", "x", &["alice@contoso.test"]),
        )
        .await
        .unwrap()
        .id
        .unwrap();
    // a session, opened over plain HTTP with a token of the Graph audience
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(mock.token_url())
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_id=sync-app&client_secret=app-secret&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session: serde_json::Value = http
        .post(format!(
            "{}/v1.0/users/bob@contoso.test/messages/{id}/attachments/createUploadSession",
            mock.base_url()
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&serde_json::json!({ "AttachmentItem": {
            "attachmentType": "file", "name": "x.bin", "size": 10 } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = session["uploadUrl"].as_str().unwrap().to_owned();
    let put = |range: &'static str, body: &'static [u8]| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.put(url)
                .header("Content-Range", range)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    // a gap, and a length that does not match the range: 416
    assert_eq!(put("bytes 4-9/10", b"456789").await.status(), 416);
    assert_eq!(put("bytes 0-4/10", b"0123").await.status(), 416);
    let first = put("bytes 0-4/10", b"01234").await;
    assert_eq!(first.status(), 200);
    let next: serde_json::Value = first.json().await.unwrap();
    assert_eq!(next["nextExpectedRanges"][0], "5-");
    let last = put("bytes 5-9/10", b"56789").await;
    assert_eq!(last.status(), 201);
    assert!(last.headers().contains_key("location"));
    let attachments = bob.attachments(&id).await.unwrap();
    assert_eq!(
        attachments[0].content_bytes.as_ref().unwrap().0,
        b"0123456789"
    );
    // the finished session is gone
    assert_eq!(put("bytes 0-4/10", b"01234").await.status(), 404);
}
