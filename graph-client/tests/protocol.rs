//! Exact request/response sequences against wiremock: headers, paging, delta, conflicts,
//! throttling, retries, outcome unknown, batch, uploads, MIME.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use graph_client::batch::BatchRequest;
use graph_client::calendar::Event;
use graph_client::contacts::Contact;
use graph_client::extended::{self, PropertyId};
use graph_client::mail::{self, Message};
use graph_client::translate::ExchangeIdFormat;
use graph_client::types::DateTimeTimeZone;
use graph_client::{Change, DeltaStart, Error, ListOptions};
use serde_json::json;
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MB: &str = "/v1.0/users/anna@contoso.com";

fn prefer_values(request: &Request) -> Vec<String> {
    request
        .headers
        .get_all("prefer")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_request_prefers_immutable_ids_and_the_time_zone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/mailFolders/inbox")))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "AAMk-inbox", "displayName": "Inbox"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let tokens = std::sync::Arc::new(common::CountingTokens::default());
    let client = graph_client::Client::new(
        common::config(&server.uri(), tokens).with_timezone("W. Europe Standard Time"),
    )
    .unwrap();
    let folder = client
        .mailbox("anna@contoso.com")
        .mail_folder("inbox")
        .await
        .unwrap();
    assert_eq!(folder.display_name.as_deref(), Some("Inbox"));
    let requests = server.received_requests().await.unwrap();
    let prefer = prefer_values(&requests[0]);
    assert!(
        prefer.contains(&"IdType=\"ImmutableId\"".to_owned()),
        "{prefer:?}"
    );
    assert!(
        prefer.contains(&"outlook.timezone=\"W. Europe Standard Time\"".to_owned()),
        "{prefer:?}"
    );
}

#[tokio::test]
async fn listing_follows_next_links_and_encodes_odata_queries() {
    let server = MockServer::start().await;
    let id = PropertyId::public_string("ConAktivRecordId");
    let filter = extended::filter_eq(&id, "42");
    Mock::given(method("GET"))
        .and(path(format!("{MB}/contacts")))
        .and(query_param("$filter", filter.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": "c1", "givenName": "Ada"}],
            "@odata.nextLink": format!("{}{MB}/contacts?$skiptoken=p2", server.uri()),
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/contacts")))
        .and(query_param("$skiptoken", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": "c2", "givenName": "Grace", "singleValueExtendedProperties": [
                {"id": id.as_str(), "value": "42"}]}],
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let options = ListOptions::default()
        .filter(filter.clone())
        .expand(extended::expand(&[&id]));
    let contacts = client
        .mailbox("anna@contoso.com")
        .contacts(None, &options)
        .await
        .unwrap();
    assert_eq!(contacts.len(), 2);
    assert_eq!(
        extended::find(contacts[1].single_value_extended_properties.as_deref(), &id),
        Some("42")
    );
    let first = &server.received_requests().await.unwrap()[0];
    let raw_query = first.url.query().unwrap();
    assert!(
        raw_query.contains("%20") && !raw_query.contains('+'),
        "{raw_query}"
    );
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/mailFolders")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [],
            "@odata.nextLink": "https://evil.example/v1.0/steal",
        })))
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err}");
}

#[tokio::test]
async fn a_repeating_page_ends_the_listing_with_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/mailFolders")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": "f"}],
            "@odata.nextLink": format!("{}{MB}/mailFolders?$top=100", server.uri()),
        })))
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    assert!(
        err.is_limit() && err.to_string().contains("repeated"),
        "{err}"
    );
    assert!(server.received_requests().await.unwrap().len() <= 2);
}

#[tokio::test]
async fn delta_pages_to_the_delta_link_and_coalesces_replays_and_removals() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(method("GET"))
        .and(path(format!("{MB}/mailFolders/inbox/messages/delta")))
        .and(query_param("$select", "subject,isRead"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [
                {"id": "m1", "subject": "one"},
                {"id": "m2", "subject": "two"},
            ],
            "@odata.nextLink": format!("{base}{MB}/mailFolders/inbox/messages/delta?$skiptoken=s2"),
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(query_param("$skiptoken", "s2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [
                {"id": "m1", "subject": "one, edited"},
                {"id": "m2", "@removed": {"reason": "deleted"}},
                {"id": "m3", "subject": "three"},
            ],
            "@odata.deltaLink": format!("{base}{MB}/mailFolders/inbox/messages/delta?$deltatoken=d1"),
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let mailbox = client.mailbox("anna@contoso.com");
    let round = mailbox
        .messages_delta(
            "inbox",
            DeltaStart::Initial,
            &["subject", "isRead"],
            Some(50),
        )
        .await
        .unwrap();
    assert_eq!(round.pages, 2);
    assert_eq!(round.changes.len(), 3);
    match &round.changes[0] {
        Change::Upsert(m) => assert_eq!(m.subject.as_deref(), Some("one, edited")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        round.changes[1],
        Change::Removed {
            id: "m2".into(),
            reason: Some("deleted".into())
        }
    );
    assert!(round.delta_link.ends_with("$deltatoken=d1"));
    let requests = server.received_requests().await.unwrap();
    assert!(prefer_values(&requests[0]).contains(&"odata.maxpagesize=50".to_owned()));

    // The next round starts at the delta link; an expired token is its own error.
    Mock::given(method("GET"))
        .and(query_param("$deltatoken", "d1"))
        .respond_with(ResponseTemplate::new(410).set_body_json(json!({
            "error": {"code": "SyncStateNotFound", "message": "The sync state is gone."}})))
        .expect(1)
        .mount(&server)
        .await;
    let err = mailbox
        .messages_delta("inbox", DeltaStart::Link(&round.delta_link), &[], None)
        .await
        .unwrap_err();
    assert!(err.is_delta_reset(), "{err}");
    assert!(!err.is_transient());
}

#[tokio::test]
async fn sync_state_not_found_in_a_400_is_a_delta_reset() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": "BadRequest", "message": "x", "innerError": {"code": "syncStateNotFound"}}})))
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let err = client
        .mailbox("anna@contoso.com")
        .contacts_delta(Some("f1"), DeltaStart::Initial, &[], None)
        .await
        .unwrap_err();
    assert!(err.is_delta_reset(), "{err}");
}

#[tokio::test]
async fn a_stale_etag_is_a_typed_conflict() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path(format!("{MB}/contacts/c1")))
        .and(header("if-match", "W/\"CQAAABYAAAA1\""))
        .and(body_json(json!({"givenName": "Ada"})))
        .respond_with(ResponseTemplate::new(412).set_body_json(json!({
            "error": {"code": "ErrorIrresolvableConflict", "message": "The change key is stale."}})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let patch = Contact {
        given_name: Some("Ada".into()),
        ..Default::default()
    };
    let err = client
        .mailbox("anna@contoso.com")
        .update_contact("c1", &patch, Some("W/\"CQAAABYAAAA1\""))
        .await
        .unwrap_err();
    assert!(err.is_conflict() && !err.is_transient(), "{err}");
    assert_eq!(err.api().unwrap().code, "ErrorIrresolvableConflict");
}

#[tokio::test]
async fn throttling_waits_for_retry_after_and_gives_up_above_the_cap() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "cal"})))
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let started = Instant::now();
    client
        .mailbox("anna@contoso.com")
        .event("cal", &ListOptions::default())
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let err = client
        .mailbox("anna@contoso.com")
        .calendars()
        .await
        .unwrap_err();
    assert!(err.is_throttled() && err.is_transient(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
}

#[tokio::test]
async fn retry_after_zero_still_waits_the_floor_and_attempts_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .mount(&server)
        .await;
    let tokens = std::sync::Arc::new(common::CountingTokens::default());
    let config =
        common::config(&server.uri(), tokens).with_retry_after_floor(Duration::from_millis(200));
    let client = graph_client::Client::new(config).unwrap();
    let started = Instant::now();
    let err = client
        .mailbox("anna@contoso.com")
        .calendars()
        .await
        .unwrap_err();
    assert!(err.is_throttled(), "{err}");
    // 4 attempts, 3 waits of at least the floor
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[tokio::test]
async fn writes_that_may_have_happened_are_not_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/contacts")))
        .respond_with(ResponseTemplate::new(504))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let err = client
        .mailbox("anna@contoso.com")
        .create_contact(
            None,
            &Contact {
                given_name: Some("Ada".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.outcome_unknown() && !err.is_transient(), "{err}");

    // A create that times out after sending is not repeated either.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_delay(Duration::from_secs(3)))
        .expect(1)
        .mount(&server)
        .await;
    let tokens = std::sync::Arc::new(common::CountingTokens::default());
    let client = graph_client::Client::new(
        common::config(&server.uri(), tokens)
            .with_timeouts(Duration::from_millis(300), Duration::from_secs(10)),
    )
    .unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .send_mail(
            &mail::simple_message("s", "b", &["bob@contoso.com"]),
            graph_client::mail::SaveCopy::InSentItems,
        )
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err}");
}

#[tokio::test]
async fn reads_and_event_creates_with_a_transaction_id_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/events")))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/events")))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": "e1", "transactionId": "tx-1"})),
        )
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let event = Event {
        subject: Some("Review".into()),
        transaction_id: Some("tx-1".into()),
        start: Some(DateTimeTimeZone::new("2026-12-07T09:00:00", "UTC")),
        end: Some(DateTimeTimeZone::new("2026-12-07T10:00:00", "UTC")),
        ..Default::default()
    };
    let created = client
        .mailbox("anna@contoso.com")
        .create_event(None, &event)
        .await
        .unwrap();
    assert_eq!(created.id.as_deref(), Some("e1"));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let sent: serde_json::Value = requests[1].body_json().unwrap();
    assert_eq!(sent["transactionId"], "tx-1");
    assert!(sent.get("id").is_none(), "None fields are not sent: {sent}");

    // Without a transaction id the same 500 is an unknown outcome.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let err = client
        .mailbox("anna@contoso.com")
        .create_event(
            None,
            &Event {
                transaction_id: None,
                ..event
            },
        )
        .await
        .unwrap_err();
    assert!(err.outcome_unknown(), "{err}");
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"code": "InvalidAuthenticationToken", "message": "expired"}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let (client, tokens) = common::client(&server.uri());
    client
        .mailbox("anna@contoso.com")
        .calendars()
        .await
        .unwrap();
    assert_eq!(
        tokens
            .invalidations
            .load(std::sync::atomic::Ordering::SeqCst),
        1
    );

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let err = client
        .mailbox("anna@contoso.com")
        .calendars()
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert!(!err.to_string().contains("token-"), "{err}");
}

#[tokio::test]
async fn batch_results_come_back_in_request_order_with_failed_dependencies() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"responses": [
            {"id": "3", "status": 424, "body": {"error": {"code": "FailedDependency", "message": "2 failed"}}},
            {"id": "1", "status": 201, "body": {"id": "c1", "givenName": "Ada"}},
            {"id": "2", "status": 412, "body": {"error": {"code": "ErrorIrresolvableConflict", "message": "stale"}}},
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let requests = vec![
        BatchRequest::new(
            "1",
            "POST",
            "/users/anna@contoso.com/contacts",
            Some(json!({"givenName": "Ada"})),
        ),
        BatchRequest::new(
            "2",
            "PATCH",
            "/users/anna@contoso.com/contacts/c0",
            Some(json!({"surname": "L"})),
        )
        .if_match("W/\"x\""),
        BatchRequest::new("3", "DELETE", "/users/anna@contoso.com/contacts/c9", None)
            .depends_on(&["2"]),
    ];
    let responses = client.batch("anna@contoso.com", requests).await.unwrap();
    let ids: Vec<&str> = responses.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3"]);
    let mut it = responses.into_iter();
    let created: Contact = it.next().unwrap().into_result().unwrap().unwrap();
    assert_eq!(created.given_name.as_deref(), Some("Ada"));
    assert!(
        it.next()
            .unwrap()
            .into_result::<Contact>()
            .unwrap_err()
            .is_conflict()
    );
    assert!(matches!(
        it.next()
            .unwrap()
            .into_result::<serde_json::Value>()
            .unwrap_err(),
        Error::FailedDependency(_)
    ));
    let sent: serde_json::Value = server.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(sent["requests"][2]["dependsOn"], json!(["2"]));
    assert_eq!(
        sent["requests"][0]["headers"]["Content-Type"],
        "application/json"
    );
    assert_eq!(
        sent["requests"][0]["headers"]["Prefer"],
        "IdType=\"ImmutableId\""
    );
    assert_eq!(sent["requests"][1]["headers"]["If-Match"], "W/\"x\"");
}

#[tokio::test]
async fn batch_arguments_and_answers_are_checked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"responses": [
            {"id": "1", "status": 200, "body": {}}]})),
        )
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let too_many: Vec<BatchRequest> = (0..21)
        .map(|i| BatchRequest::get(i.to_string(), "/me"))
        .collect();
    assert!(matches!(
        client.batch("a", too_many).await,
        Err(Error::InvalidArgument(_))
    ));
    let forward = vec![
        BatchRequest::get("1", "/x").depends_on(&["2"]),
        BatchRequest::get("2", "/y"),
    ];
    assert!(matches!(
        client.batch("a", forward).await,
        Err(Error::InvalidArgument(_))
    ));
    let dup = vec![BatchRequest::get("1", "/x"), BatchRequest::get("1", "/y")];
    assert!(matches!(
        client.batch("a", dup).await,
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(server.received_requests().await.unwrap().len(), 0);
    let two = vec![BatchRequest::get("1", "/x"), BatchRequest::get("2", "/y")];
    let err = client.batch("a", two).await.unwrap_err();
    assert!(
        err.to_string().contains("1 responses for 2 requests"),
        "{err}"
    );
}

#[tokio::test]
async fn large_attachments_go_through_an_upload_session_without_the_token() {
    let server = MockServer::start().await;
    let upload = format!("{}/upload/session-1?authtoken=opaque", server.uri());
    Mock::given(method("POST"))
        .and(path(format!(
            "{MB}/messages/d1/attachments/createUploadSession"
        )))
        .and(body_json(json!({"AttachmentItem": {
            "attachmentType": "file", "name": "big.bin", "size": 7_000_000,
            "contentType": "application/octet-stream"}})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "uploadUrl": upload, "nextExpectedRanges": ["0-"]})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/upload/session-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"nextExpectedRanges": []})))
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let content: Vec<u8> = (0..7_000_000u32).map(|i| (i % 251) as u8).collect();
    client
        .mailbox("anna@contoso.com")
        .add_attachment("d1", "big.bin", "application/octet-stream", &content)
        .await
        .unwrap();
    let puts: Vec<Request> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .collect();
    let chunk = mail::UPLOAD_CHUNK;
    assert_eq!(puts.len(), 7_000_000usize.div_ceil(chunk));
    let mut joined = Vec::new();
    for (i, put) in puts.iter().enumerate() {
        assert!(
            put.headers.get("authorization").is_none(),
            "no bearer token to the upload URL"
        );
        let start = i * chunk;
        let end = (start + chunk).min(content.len()) - 1;
        assert_eq!(
            put.headers.get("content-range").unwrap().to_str().unwrap(),
            format!("bytes {start}-{end}/7000000")
        );
        joined.extend_from_slice(&put.body);
    }
    assert_eq!(joined, content);

    // Small attachments go inline, base64.
    Mock::given(method("POST"))
        .and(path(format!("{MB}/messages/d1/attachments")))
        .and(body_json(
            json!({"@odata.type": "#microsoft.graph.fileAttachment",
            "name": "a.txt", "contentType": "text/plain", "contentBytes": "aGVsbG8="}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "att1"})))
        .expect(1)
        .mount(&server)
        .await;
    let id = client
        .mailbox("anna@contoso.com")
        .add_attachment("d1", "a.txt", "text/plain", b"hello")
        .await
        .unwrap();
    assert_eq!(id.as_deref(), Some("att1"));
}

#[tokio::test]
async fn mime_is_sent_as_base64_text_and_read_from_value() {
    let server = MockServer::start().await;
    let mime = b"From: a@b\r\nTo: c@d\r\nSubject: hi\r\n\r\nbody\r\n";
    Mock::given(method("POST"))
        .and(path(format!("{MB}/sendMail")))
        .and(header("content-type", "text/plain"))
        .and(body_string(
            "RnJvbTogYUBiDQpUbzogY0BkDQpTdWJqZWN0OiBoaQ0KDQpib2R5DQo=",
        ))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/messages/m1/$value")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(mime.to_vec()))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let mailbox = client.mailbox("anna@contoso.com");
    mailbox.send_mail_mime(mime).await.unwrap();
    assert_eq!(mailbox.message_mime("m1").await.unwrap(), mime.to_vec());
}

#[tokio::test]
async fn drafts_are_created_sent_moved_and_deleted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/messages")))
        .and(body_json(
            json!({"subject": "Offer", "body": {"contentType": "text", "content": "See attached"},
            "toRecipients": [{"emailAddress": {"address": "bob@contoso.com"}}]}),
        ))
        .respond_with(
            ResponseTemplate::new(201).set_body_json(json!({"id": "d1", "isDraft": true,
            "@odata.etag": "W/\"e1\""})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/messages/d1/send")))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/messages/d1/move")))
        .and(body_json(json!({"destinationId": "archive"})))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "d1", "parentFolderId": "archive"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{MB}/messages/d1")))
        .and(header("if-match", "W/\"e1\""))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let mailbox = client.mailbox("anna@contoso.com");
    let draft = mailbox
        .create_draft(
            None,
            &mail::simple_message("Offer", "See attached", &["bob@contoso.com"]),
        )
        .await
        .unwrap();
    assert_eq!(draft.etag.as_deref(), Some("W/\"e1\""));
    mailbox.send_draft("d1").await.unwrap();
    let moved = mailbox.move_message("d1", "archive").await.unwrap();
    assert_eq!(
        moved.id.as_deref(),
        Some("d1"),
        "immutable ids survive a move"
    );
    mailbox
        .delete_message("d1", draft.etag.as_deref())
        .await
        .unwrap();
    let _ = Message::default();
}

#[tokio::test]
async fn translate_exchange_ids_checks_the_result_count() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{MB}/translateExchangeIds")))
        .and(body_json(json!({"inputIds": ["AAMkEws1", "AAMkEws2"],
            "targetIdType": "restImmutableEntryId", "sourceIdType": "ewsId"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"sourceId": "AAMkEws1", "targetId": "AAkALgImm1"},
            {"sourceId": "AAMkEws2", "errorDetails": {"code": "ErrorInvalidIdMalformed", "message": "bad"}},
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let results = client
        .mailbox("anna@contoso.com")
        .translate_exchange_ids(
            &["AAMkEws1", "AAMkEws2"],
            ExchangeIdFormat::EwsId,
            ExchangeIdFormat::RestImmutableEntryId,
        )
        .await
        .unwrap();
    assert_eq!(results[0].target_id.as_deref(), Some("AAkALgImm1"));
    assert!(results[1].error_details.is_some());
    let too_many: Vec<String> = (0..1001).map(|i| i.to_string()).collect();
    let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let err = client
        .mailbox("anna@contoso.com")
        .translate_exchange_ids(
            &refs,
            ExchangeIdFormat::EwsId,
            ExchangeIdFormat::RestImmutableEntryId,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
}

#[tokio::test]
async fn users_are_resolved_by_address_with_a_mail_filter_fallback() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/alias@contoso.com"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": "Request_ResourceNotFound", "message": "no"}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users"))
        .and(query_param("$filter", "mail eq 'alias@contoso.com'"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": "u-1", "mail": "alias@contoso.com", "userPrincipalName": "anna@contoso.com"}]})))
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let user = client
        .resolve_user("alias@contoso.com")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id.as_deref(), Some("u-1"));
}

#[tokio::test]
async fn an_oversized_response_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 100_000]))
        .mount(&server)
        .await;
    let tokens = std::sync::Arc::new(common::CountingTokens::default());
    let client = graph_client::Client::new(
        common::config(&server.uri(), tokens).with_max_download_bytes(10_000),
    )
    .unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .message_mime("m1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("larger than the limit"), "{err}");
    assert!(err.is_limit(), "{err:?}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "not downloaded again"
    );
}

#[tokio::test]
async fn a_mailbox_can_ask_for_its_own_time_zone() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let tokens = std::sync::Arc::new(common::CountingTokens::default());
    let client =
        graph_client::Client::new(common::config(&server.uri(), tokens).with_timezone("UTC"))
            .unwrap();
    client
        .mailbox("anna@contoso.com")
        .calendars()
        .await
        .unwrap();
    client
        .mailbox("bob@contoso.com")
        .with_timezone("Pacific Standard Time")
        .calendars()
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert!(prefer_values(&requests[0]).contains(&"outlook.timezone=\"UTC\"".to_owned()));
    let second = prefer_values(&requests[1]);
    assert!(
        second.contains(&"outlook.timezone=\"Pacific Standard Time\"".to_owned()),
        "{second:?}"
    );
    assert!(
        !second.contains(&"outlook.timezone=\"UTC\"".to_owned()),
        "{second:?}"
    );
}

#[tokio::test]
async fn each_request_of_a_batch_counts_against_the_mailbox_budget() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"responses": [
            {"id": "1", "status": 200}, {"id": "2", "status": 200}, {"id": "3", "status": 200}]})),
        )
        .mount(&server)
        .await;
    let tokens = std::sync::Arc::new(common::CountingTokens::default());
    let client = graph_client::Client::new(
        common::config(&server.uri(), tokens)
            .with_budget(4, Duration::from_secs(600))
            .with_timeouts(Duration::from_secs(1), Duration::from_secs(1)),
    )
    .unwrap();
    let three = || {
        (1..=3)
            .map(|i| BatchRequest::get(i.to_string(), "/me"))
            .collect::<Vec<_>>()
    };
    client.batch("anna@contoso.com", three()).await.unwrap();
    let err = client.batch("anna@contoso.com", three()).await.unwrap_err();
    assert!(matches!(err, Error::BudgetExhausted { .. }), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_slow_server_ends_the_call_at_its_deadline() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let tokens = std::sync::Arc::new(common::CountingTokens::default());
    let client = graph_client::Client::new(
        common::config(&server.uri(), tokens)
            .with_timeouts(Duration::from_millis(200), Duration::from_millis(700)),
    )
    .unwrap();
    let started = Instant::now();
    let err = client
        .mailbox("anna@contoso.com")
        .calendars()
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(err.is_transient() && !err.outcome_unknown(), "{err}");
    assert!(matches!(
        err,
        Error::Transport(ews_client::transport::TransportError::DeadlineExceeded { .. })
    ));
}

#[test]
fn invalid_configurations_are_refused() {
    let tokens = std::sync::Arc::new(common::CountingTokens::default());
    let base = |u: &str| {
        graph_client::ClientConfig::new(tokens.clone()).with_base_url(url::Url::parse(u).unwrap())
    };
    assert!(graph_client::Client::new(base("ftp://graph.example/v1.0/")).is_err());
    assert!(graph_client::Client::new(base("https://user:pw@graph.example/v1.0/")).is_err());
    assert!(
        graph_client::Client::new(
            base("https://graph.example/v1.0/").with_danger_accept_invalid_certs_on_loopback()
        )
        .is_err()
    );
    assert!(
        graph_client::Client::new(
            base("https://127.0.0.1:9/v1.0/").with_danger_accept_invalid_certs_on_loopback()
        )
        .is_ok()
    );
    assert!(
        graph_client::Client::new(
            base("https://graph.example/v1.0/").with_max_concurrency_per_mailbox(0)
        )
        .is_err()
    );
    let config = base("https://graph.example/v1.0");
    assert_eq!(config.base_url.as_str(), "https://graph.example/v1.0/");
}

#[tokio::test]
async fn throttled_batch_requests_and_their_dependents_are_sent_again() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"responses": [
            {"id": "1", "status": 200, "body": {"id": "a"}},
            {"id": "2", "status": 429, "headers": {"Retry-After": "0"},
             "body": {"error": {"code": "ApplicationThrottled", "message": "too many"}}},
            {"id": "3", "status": 424, "body": {"error": {"code": "FailedDependency", "message": "2"}}},
        ]})))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"responses": [
                {"id": "3", "status": 204},
                {"id": "2", "status": 200, "body": {"id": "b"}},
            ]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let requests = vec![
        BatchRequest::get("1", "/users/anna@contoso.com/contacts/a").depends_on(&[]),
        BatchRequest::get("2", "/users/anna@contoso.com/contacts/b").depends_on(&["1"]),
        BatchRequest::new("3", "DELETE", "/users/anna@contoso.com/contacts/c", None)
            .depends_on(&["2"]),
    ];
    let responses = client.batch("anna@contoso.com", requests).await.unwrap();
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 204]);
    let second: serde_json::Value = server.received_requests().await.unwrap()[1]
        .body_json()
        .unwrap();
    let ids: Vec<&str> = second["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["2", "3"]);
    assert!(
        second["requests"][0].get("dependsOn").is_none(),
        "1 already ran: {second}"
    );
    assert_eq!(second["requests"][1]["dependsOn"], json!(["2"]));
}

#[tokio::test]
async fn a_token_echoed_by_the_server_is_scrubbed_from_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": "BadRequest", "message": "bad header: Authorization: Bearer token-1-abcdefgh"}})))
        .mount(&server)
        .await;
    let tokens = std::sync::Arc::new(common::LongTokens);
    let client = graph_client::Client::new(common::config_with(&server.uri(), tokens)).unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .calendars()
        .await
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("token-1-abcdefgh"), "{shown}");
    assert!(shown.contains("[REDACTED]"), "{shown}");
}
