//! `Client` against wiremock: EWS-level throttling (ErrorServerBusy as fault/500, inside 200,
//! wrapped in ErrorInternalServerError), per-item partial failures, impersonation headers,
//! paging and sync loops, batching, faults and non-SOAP answers.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ews_client::envelope::{ServerVersionInfo, SoapFault, write_fault, write_operation_response};
use ews_client::operation::Operation;
use ews_client::ops::*;
use ews_client::transport::{Auth, RetryPolicy, TransportConfig};
use ews_client::types::folder::{Folder, FolderKind};
use ews_client::types::response::{
    MessageXml, MessageXmlValue, ResponseCode, ResponseMessage, ResponseMessages,
};
use ews_client::types::shape::{ItemShape, PagingInfo};
use ews_client::types::{Contact, DistinguishedFolderName, FolderId, Item, ItemCommon, ItemId};
use ews_client::{Client, ClientConfig, Error};
use futures::TryStreamExt;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

/// Answers each request with the next response of a fixed sequence (the last repeats),
/// and records the request bodies.
struct Sequence {
    responses: Vec<ResponseTemplate>,
    next: AtomicUsize,
    bodies: std::sync::Arc<Mutex<Vec<String>>>,
}

impl Respond for Sequence {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.bodies
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&request.body).into_owned());
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.responses[i.min(self.responses.len() - 1)].clone()
    }
}

struct Harness {
    server: MockServer,
    bodies: std::sync::Arc<Mutex<Vec<String>>>,
}

impl Harness {
    async fn new(responses: Vec<ResponseTemplate>) -> Harness {
        let server = MockServer::start().await;
        let bodies = std::sync::Arc::new(Mutex::new(Vec::new()));
        Mock::given(matchers::method("POST"))
            .and(matchers::path("/EWS/Exchange.asmx"))
            .respond_with(Sequence {
                responses,
                next: AtomicUsize::new(0),
                bodies: bodies.clone(),
            })
            .mount(&server)
            .await;
        Harness { server, bodies }
    }

    fn config(&self) -> ClientConfig {
        let url = url::Url::parse(&format!("{}/EWS/Exchange.asmx", self.server.uri())).unwrap();
        ClientConfig::new(
            TransportConfig::new(url, Auth::basic("svc", "pw"))
                .with_retry(RetryPolicy::no_retries()),
        )
        .with_call_timeout(Duration::from_secs(10))
    }

    fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    fn requests(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

fn ok<O: Operation>(resp: &O::Response) -> ResponseTemplate {
    let info = ServerVersionInfo {
        major_version: Some(15),
        minor_version: Some(1),
        major_build_number: Some(2507),
        minor_build_number: Some(6),
        version: Some("V2017_07_11".into()),
    };
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml; charset=utf-8")
        .set_body_bytes(write_operation_response::<O>(Some(&info), resp))
}

fn busy_fault(back_off_ms: u64) -> ResponseTemplate {
    let mut fault = SoapFault::server_busy(Duration::from_millis(back_off_ms));
    fault.fault_code = "a:ErrorServerBusy".into();
    ResponseTemplate::new(500).set_body_bytes(write_fault(None, &fault))
}

fn busy_message<T: Default>(back_off_ms: u64) -> ResponseMessage<T> {
    let mut m = ResponseMessage::error(ResponseCode::ErrorServerBusy, "busy");
    m.status.message_xml = MessageXml(vec![MessageXmlValue::named(
        "BackOffMilliseconds",
        back_off_ms.to_string(),
    )]);
    m
}

fn inbox_folder() -> FolderInfo {
    FolderInfo {
        folders: vec![Folder {
            folder_id: Some(FolderId::new("AAMkInbox=")),
            ..Folder::new(FolderKind::Folder, "Inbox")
        }],
    }
}

fn get_inbox() -> GetFolder {
    GetFolder::new([DistinguishedFolderName::Inbox])
}

fn contact(id: &str) -> Item {
    Item::Contact(Contact {
        common: ItemCommon {
            item_id: Some(ItemId::new(id)),
            ..ItemCommon::default()
        },
        display_name: Some(format!("Contact {id}")),
        ..Contact::default()
    })
}

#[tokio::test]
async fn server_busy_fault_waits_back_off_then_succeeds() {
    let success = ResponseMessages::new(vec![ResponseMessage::success(inbox_folder())]);
    let h = Harness::new(vec![busy_fault(300), ok::<GetFolder>(&success)]).await;
    let client = h.client();
    let started = Instant::now();
    let resp = client.execute(&get_inbox()).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(resp, success);
    assert_eq!(h.requests().len(), 2);
    assert!(waited >= Duration::from_millis(300), "waited {waited:?}");
    assert!(waited < Duration::from_secs(5), "waited {waited:?}");
    assert_eq!(
        client.server_version().unwrap().major_build_number,
        Some(2507)
    );
}

#[tokio::test]
async fn server_busy_inside_http_200_waits_the_largest_back_off() {
    let busy = ResponseMessages::<FolderInfo>::new(vec![busy_message(150), busy_message(250)]);
    let success = ResponseMessages::new(vec![
        ResponseMessage::success(inbox_folder()),
        ResponseMessage::success(inbox_folder()),
    ]);
    let h = Harness::new(vec![ok::<GetFolder>(&busy), ok::<GetFolder>(&success)]).await;
    let started = Instant::now();
    let op = GetFolder::new([
        DistinguishedFolderName::Inbox,
        DistinguishedFolderName::Contacts,
    ]);
    let resp = h.client().execute(&op).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert_eq!(resp, success);
    assert_eq!(h.requests().len(), 2);
}

#[tokio::test]
async fn server_busy_wrapped_in_internal_server_error_is_throttling() {
    let mut wrapped = ResponseMessage::<FolderInfo>::error(
        ResponseCode::ErrorInternalServerError,
        "An internal server error occurred. The operation failed.",
    );
    wrapped.status.message_xml = MessageXml(vec![
        MessageXmlValue::named(
            "InnerErrorMessageText",
            "The server cannot service this request right now.",
        ),
        MessageXmlValue::named("InnerErrorResponseCode", "ErrorServerBusy"),
        MessageXmlValue::named("InnerErrorDescriptiveLinkKey", "0"),
        MessageXmlValue::named("BackOffMilliseconds", "200"),
    ]);
    let success = ResponseMessages::new(vec![ResponseMessage::success(inbox_folder())]);
    let h = Harness::new(vec![
        ok::<GetFolder>(&ResponseMessages::new(vec![wrapped])),
        ok::<GetFolder>(&success),
    ])
    .await;
    let started = Instant::now();
    let resp = h.client().execute(&get_inbox()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(resp, success);
    assert_eq!(h.requests().len(), 2);
}

#[tokio::test]
async fn back_off_beyond_the_deadline_fails_fast_as_throttled() {
    let h = Harness::new(vec![busy_fault(300_000)]).await;
    let client = Client::new(h.config().with_call_timeout(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    let err = client.execute(&get_inbox()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(err.is_throttled() && err.is_transient(), "{err}");
    assert!(
        matches!(err, Error::Throttled { back_off, .. } if back_off == Duration::from_millis(300_000))
    );
    assert_eq!(h.requests().len(), 1);
}

#[tokio::test]
async fn partly_throttled_non_idempotent_batch_is_not_repeated() {
    let created = FolderInfo {
        folders: vec![Folder {
            folder_id: Some(FolderId::new("AAMkNew=")),
            ..Folder::default()
        }],
    };
    let mixed = ResponseMessages::new(vec![ResponseMessage::success(created), busy_message(100)]);
    let h = Harness::new(vec![ok::<CreateFolder>(&mixed)]).await;
    let op = CreateFolder {
        parent_folder_id: DistinguishedFolderName::MsgFolderRoot.into(),
        folders: vec![
            Folder::new(FolderKind::ContactsFolder, "A"),
            Folder::new(FolderKind::ContactsFolder, "B"),
        ],
    };
    let resp = h.client().execute(&op).await.unwrap();
    assert_eq!(h.requests().len(), 1, "a create must not be repeated");
    let results = resp.into_results();
    assert!(results[0].is_ok());
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.code(), ResponseCode::ErrorServerBusy);
}

#[tokio::test]
async fn get_item_partial_failure_keeps_request_order() {
    let resp = ResponseMessages::new(vec![
        ResponseMessage::success(ItemInfo {
            items: vec![contact("A")],
        }),
        ResponseMessage::error(
            ResponseCode::ErrorItemNotFound,
            "The specified object was not found in the store.",
        ),
        ResponseMessage::success(ItemInfo {
            items: vec![contact("C")],
        }),
    ]);
    let h = Harness::new(vec![ok::<GetItem>(&resp)]).await;
    let client = h.client().for_mailbox("anna@contoso.com");
    let results: Vec<_> = client
        .get_items(
            ItemShape::default(),
            [ItemId::new("A"), ItemId::new("B"), ItemId::new("C")],
        )
        .try_collect()
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0].as_ref().unwrap().item_id(),
        Some(&ItemId::new("A"))
    );
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.code(), ResponseCode::ErrorItemNotFound);
    assert!(ews_client::Error::from(err.clone()).is_not_found());
    assert_eq!(
        results[2].as_ref().unwrap().item_id(),
        Some(&ItemId::new("C"))
    );
}

#[tokio::test]
async fn impersonation_sets_soap_header_and_anchor_mailbox() {
    let server = MockServer::start().await;
    let success = ResponseMessages::new(vec![ResponseMessage::success(inbox_folder())]);
    Mock::given(matchers::method("POST"))
        .and(matchers::header("X-AnchorMailbox", "anna@contoso.com"))
        .and(matchers::header(
            "SOAPAction",
            "\"http://schemas.microsoft.com/exchange/services/2006/messages/GetFolder\"",
        ))
        .and(matchers::body_string_contains(
            "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>anna@contoso.com</t:PrimarySmtpAddress>",
        ))
        .and(matchers::body_string_contains(
            "<t:RequestServerVersion Version=\"Exchange2016\"/>",
        ))
        .respond_with(ok::<GetFolder>(&success))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(matchers::method("POST"))
        .and(matchers::header("X-AnchorMailbox", "bob@contoso.com"))
        .and(matchers::body_string_contains(
            "<t:SmtpAddress>bob@contoso.com</t:SmtpAddress>",
        ))
        .respond_with(ok::<GetFolder>(&success))
        .expect(1)
        .mount(&server)
        .await;
    let url = url::Url::parse(&format!("{}/EWS/Exchange.asmx", server.uri())).unwrap();
    let client = Client::new(ClientConfig::new(TransportConfig::new(url, Auth::None))).unwrap();
    // One client, two mailboxes.
    client
        .for_mailbox("anna@contoso.com")
        .execute(&get_inbox())
        .await
        .unwrap();
    client
        .impersonating(ews_client::envelope::Impersonation::SmtpAddress(
            "bob@contoso.com".into(),
        ))
        .execute(&get_inbox())
        .await
        .unwrap();
}

#[tokio::test]
async fn find_items_follows_pages_until_the_last() {
    let page1 = ResponseMessages::new(vec![ResponseMessage::success(FindItemResult {
        paging: PagingInfo {
            indexed_paging_offset: Some(2),
            includes_last_item_in_range: Some(false),
            total_items_in_view: Some(3),
        },
        items: vec![contact("1"), contact("2")],
    })]);
    let page2 = ResponseMessages::new(vec![ResponseMessage::success(FindItemResult {
        paging: PagingInfo {
            indexed_paging_offset: Some(3),
            includes_last_item_in_range: Some(true),
            total_items_in_view: Some(3),
        },
        items: vec![contact("3")],
    })]);
    let h = Harness::new(vec![ok::<FindItem>(&page1), ok::<FindItem>(&page2)]).await;
    let client = Client::new(h.config().with_page_size(2)).unwrap();
    let items: Vec<Item> = client
        .find_items_in(
            DistinguishedFolderName::Contacts.into(),
            ItemShape::id_only(),
        )
        .try_collect()
        .await
        .unwrap();
    let ids: Vec<_> = items
        .iter()
        .map(|i| i.item_id().unwrap().id.clone())
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);
    let requests = h.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        requests[0].contains("MaxEntriesReturned=\"2\" Offset=\"0\""),
        "{}",
        requests[0]
    );
    assert!(
        requests[1].contains("MaxEntriesReturned=\"2\" Offset=\"2\""),
        "{}",
        requests[1]
    );
}

#[tokio::test]
async fn sync_folder_items_loops_until_includes_last_item_in_range() {
    let batch = |state: &str, last: bool, changes| {
        ResponseMessages::new(vec![ResponseMessage::success(SyncFolderItemsResult {
            sync_state: Some(state.into()),
            includes_last_item_in_range: Some(last),
            changes,
        })])
    };
    let h = Harness::new(vec![
        ok::<SyncFolderItems>(&batch(
            "S1",
            false,
            vec![SyncItemChange::Create(contact("1"))],
        )),
        ok::<SyncFolderItems>(&batch(
            "S2",
            true,
            vec![
                SyncItemChange::Delete(ItemId::new("0")),
                SyncItemChange::ReadFlagChange {
                    item_id: ItemId::new("9"),
                    is_read: true,
                },
            ],
        )),
    ])
    .await;
    let op = SyncFolderItems::new(
        DistinguishedFolderName::Contacts.into(),
        ItemShape::id_only(),
        None,
        1,
    );
    let batches: Vec<_> = h
        .client()
        .sync_folder_items(op)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(batches[1].sync_state.as_deref(), Some("S2"));
    assert_eq!(batches[1].changes.len(), 2);
    let requests = h.requests();
    assert!(!requests[0].contains("SyncState"));
    assert!(
        requests[1].contains("<m:SyncState>S1</m:SyncState>"),
        "{}",
        requests[1]
    );
    assert!(requests[1].contains("<m:MaxChangesReturned>1</m:MaxChangesReturned>"));
}

#[tokio::test]
async fn invalid_sync_state_is_reported_for_a_full_resync() {
    let resp = ResponseMessages::<SyncFolderItemsResult>::new(vec![ResponseMessage::error(
        ResponseCode::ErrorInvalidSyncStateData,
        "Synchronization state data is corrupt or otherwise invalid.",
    )]);
    let h = Harness::new(vec![ok::<SyncFolderItems>(&resp)]).await;
    let op = SyncFolderItems::new(
        DistinguishedFolderName::Contacts.into(),
        ItemShape::id_only(),
        Some("garbage".into()),
        512,
    );
    let err = h
        .client()
        .sync_folder_items(op)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.is_invalid_sync_state(), "{err}");
    assert!(!err.is_transient());
    assert_eq!(h.requests().len(), 1);
}

#[tokio::test]
async fn get_items_splits_into_batches() {
    let two = ResponseMessages::new(vec![
        ResponseMessage::success(ItemInfo {
            items: vec![contact("1")],
        }),
        ResponseMessage::success(ItemInfo {
            items: vec![contact("2")],
        }),
    ]);
    let one = ResponseMessages::new(vec![ResponseMessage::success(ItemInfo {
        items: vec![contact("3")],
    })]);
    let h = Harness::new(vec![ok::<GetItem>(&two), ok::<GetItem>(&one)]).await;
    let client = Client::new(h.config().with_batch_size(2)).unwrap();
    let ids = (1..=3).map(|i| ItemId::new(i.to_string()));
    let results: Vec<_> = client
        .get_items(ItemShape::id_only(), ids)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    let requests = h.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].matches("<t:ItemId ").count(), 2);
    assert_eq!(requests[1].matches("<t:ItemId ").count(), 1);
}

#[tokio::test]
async fn schema_validation_fault_is_an_error_and_not_retried() {
    let mut fault = SoapFault::for_code(
        ResponseCode::ErrorSchemaValidation,
        "The request failed schema validation: The element 'Foo' is invalid.",
    );
    fault.message_xml = MessageXml(vec![
        MessageXmlValue {
            element: "LineNumber".into(),
            name: None,
            value: "2".into(),
        },
        MessageXmlValue {
            element: "LinePosition".into(),
            name: None,
            value: "630".into(),
        },
        MessageXmlValue {
            element: "Violation".into(),
            name: None,
            value: "bad".into(),
        },
    ]);
    let h = Harness::new(vec![
        ResponseTemplate::new(500).set_body_bytes(write_fault(None, &fault)),
    ])
    .await;
    let err = h.client().execute(&get_inbox()).await.unwrap_err();
    assert_eq!(
        err.response_code(),
        Some(ResponseCode::ErrorSchemaValidation)
    );
    assert!(!err.is_transient());
    assert!(err.to_string().contains("line 2, position 630"), "{err}");
    assert_eq!(h.requests().len(), 1);
}

#[tokio::test]
async fn non_soap_answers_are_typed_errors() {
    let h = Harness::new(vec![
        ResponseTemplate::new(500).set_body_string("<html>Internal Server Error</html>"),
        ResponseTemplate::new(200).set_body_string("not xml <"),
    ])
    .await;
    let client = h.client();
    let err = client.execute(&get_inbox()).await.unwrap_err();
    assert!(
        matches!(err, Error::HttpStatus { status: 500, .. }),
        "{err}"
    );
    assert!(err.is_transient());
    let err = client.execute(&get_inbox()).await.unwrap_err();
    assert!(matches!(err, Error::Parse(_)), "{err}");
}

#[tokio::test]
async fn convenience_methods_return_single_results() {
    let created = ResponseMessages::new(vec![ResponseMessage::success(FolderInfo {
        folders: vec![Folder {
            folder_id: Some(FolderId::new("AAMkNew=")),
            ..Folder::default()
        }],
    })]);
    let missing = ResponseMessages::<FolderInfo>::new(vec![ResponseMessage::error(
        ResponseCode::ErrorFolderNotFound,
        "The specified folder could not be found in the store.",
    )]);
    let h = Harness::new(vec![
        ok::<CreateFolder>(&created),
        ok::<GetFolder>(&missing),
    ])
    .await;
    let client = h.client().for_mailbox("anna@contoso.com");
    let folder = client
        .create_folder(
            DistinguishedFolderName::MsgFolderRoot.into(),
            Folder::new(FolderKind::ContactsFolder, "CRM"),
        )
        .await
        .unwrap();
    assert_eq!(folder.folder_id, Some(FolderId::new("AAMkNew=")));
    assert_eq!(folder.display_name.as_deref(), Some("CRM"));
    let err = client
        .get_folder(FolderId::new("gone").into())
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn find_folders_pages_deep_traversal() {
    let page = |offset: u32, last: bool, names: &[&str]| {
        ResponseMessages::new(vec![ResponseMessage::success(FindFolderResult {
            paging: PagingInfo {
                indexed_paging_offset: Some(offset),
                includes_last_item_in_range: Some(last),
                total_items_in_view: Some(3),
            },
            folders: names
                .iter()
                .map(|n| Folder::new(FolderKind::Folder, *n))
                .collect(),
        })])
    };
    let h = Harness::new(vec![
        ok::<FindFolder>(&page(2, false, &["A", "B"])),
        ok::<FindFolder>(&page(3, true, &["C"])),
    ])
    .await;
    let client = Client::new(h.config().with_page_size(2)).unwrap();
    let op = FindFolder::new(
        FolderTraversal::Deep,
        [DistinguishedFolderName::MsgFolderRoot],
    );
    let folders: Vec<Folder> = client.find_folders(op).try_collect().await.unwrap();
    let names: Vec<_> = folders
        .iter()
        .map(|f| f.display_name.clone().unwrap())
        .collect();
    assert_eq!(names, ["A", "B", "C"]);
    let requests = h.requests();
    assert!(requests[0].contains("Traversal=\"Deep\""));
    assert!(requests[1].contains("<m:IndexedPageFolderView MaxEntriesReturned=\"2\" Offset=\"2\""));
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_outcome_unknown_and_not_repeated() {
    let slow = ResponseTemplate::new(200).set_delay(Duration::from_secs(3));
    let h = Harness::new(vec![slow]).await;
    let url = url::Url::parse(&format!("{}/EWS/Exchange.asmx", h.server.uri())).unwrap();
    let config = ClientConfig::new(
        TransportConfig::new(url, Auth::basic("svc", "pw"))
            .with_timeout(Duration::from_millis(300))
            .with_retry(
                RetryPolicy::default()
                    .with_delays(Duration::from_millis(10), Duration::from_millis(50))
                    .with_max_attempts(3),
            ),
    )
    .with_call_timeout(Duration::from_secs(20));
    let client = Client::new(config).unwrap();
    let create = CreateFolder {
        parent_folder_id: DistinguishedFolderName::MsgFolderRoot.into(),
        folders: vec![Folder::new(FolderKind::ContactsFolder, "CRM")],
    };
    let err = client.execute(&create).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(h.requests().len(), 1, "a create is never repeated blindly");

    // A read is repeated by the transport's retry policy instead.
    let err = client.execute(&get_inbox()).await.unwrap_err();
    assert!(!err.is_outcome_unknown(), "{err}");
    assert!(h.requests().len() > 2, "{} requests", h.requests().len());
}

#[tokio::test]
async fn client_debug_output_has_no_secret() {
    let h = Harness::new(vec![]).await;
    let client = h.client().for_mailbox("anna@contoso.com");
    let text = format!("{client:?}");
    assert!(text.contains("anna@contoso.com"));
    assert!(!text.contains("pw\""), "{text}");
    assert!(Client::new(h.config().with_batch_size(0)).is_err());
    assert!(Client::new(h.config().with_page_size(1001)).is_err());
}

#[tokio::test]
async fn invalid_requests_are_rejected_before_sending() {
    let h = Harness::new(vec![]).await;
    let client = h.client();
    let mut sync = SyncFolderItems::new(
        DistinguishedFolderName::Contacts.into(),
        ItemShape::id_only(),
        None,
        512,
    );
    sync.max_changes_returned = 513;
    let err = client.execute(&sync).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidRequest(ref m) if m.contains("513")),
        "{err}"
    );
    let err = client
        .execute(&GetFolder::new(Vec::<FolderId>::new()))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    let err = client.execute(&ResolveNames::new("  ")).await.unwrap_err();
    assert!(matches!(err, Error::InvalidRequest(_)), "{err}");
    assert!(h.requests().is_empty());
}

#[tokio::test]
async fn sync_folder_hierarchy_loops_with_the_returned_state() {
    let batch = |state: &str, last: bool| {
        ResponseMessages::new(vec![ResponseMessage::success(SyncFolderHierarchyResult {
            sync_state: Some(state.into()),
            includes_last_folder_in_range: Some(last),
            changes: vec![FolderChange::Create(Folder::new(FolderKind::Folder, state))],
        })])
    };
    let h = Harness::new(vec![
        ok::<SyncFolderHierarchy>(&batch("H1", false)),
        ok::<SyncFolderHierarchy>(&batch("H2", true)),
    ])
    .await;
    let op = SyncFolderHierarchy {
        folder_shape: ews_client::types::shape::FolderShape::default(),
        sync_folder_id: None,
        sync_state: None,
    };
    let batches: Vec<_> = h
        .client()
        .sync_folder_hierarchy(op)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(batches.len(), 2);
    assert!(h.requests()[1].contains("<m:SyncState>H1</m:SyncState>"));
}

#[tokio::test]
async fn every_kind_of_throttling_answer_is_waited_out_in_one_call() {
    let success = ResponseMessages::new(vec![ResponseMessage::success(inbox_folder())]);
    let h = Harness::new(vec![
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        busy_fault(200),
        ok::<GetFolder>(&ResponseMessages::new(vec![busy_message::<FolderInfo>(
            100,
        )])),
        ResponseTemplate::new(503).insert_header("Retry-After", "1"),
        ok::<GetFolder>(&success),
    ])
    .await;
    let url = url::Url::parse(&format!("{}/EWS/Exchange.asmx", h.server.uri())).unwrap();
    let client = Client::new(
        ClientConfig::new(TransportConfig::new(url, Auth::None))
            .with_call_timeout(Duration::from_secs(20)),
    )
    .unwrap();
    let started = Instant::now();
    let resp = client.execute(&get_inbox()).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(resp, success);
    assert_eq!(h.requests().len(), 5);
    // Retry-After 1 s twice, BackOffMilliseconds 200 + 100.
    assert!(waited >= Duration::from_millis(2300), "waited {waited:?}");
    assert!(waited < Duration::from_secs(10), "waited {waited:?}");
}

#[tokio::test]
async fn create_items_batches_keep_order_and_validate_against_the_schema() {
    let new_contact = |name: &str| {
        Item::Contact(Contact {
            display_name: Some(name.into()),
            given_name: Some(name.into()),
            ..Contact::default()
        })
    };
    let created = |id: &str| {
        ResponseMessage::success(ItemInfo {
            items: vec![contact(id)],
        })
    };
    let two = ResponseMessages::new(vec![created("N1"), created("N2")]);
    let one = ResponseMessages::new(vec![ResponseMessage::error(
        ResponseCode::ErrorQuotaExceeded,
        "mailbox full",
    )]);
    let h = Harness::new(vec![ok::<CreateItem>(&two), ok::<CreateItem>(&one)]).await;
    let client = Client::new(h.config().with_batch_size(2))
        .unwrap()
        .for_mailbox("anna@contoso.com");
    let results = client
        .create_items(
            Some(DistinguishedFolderName::Contacts.into()),
            ["Anna", "Ben", "Cleo"].map(new_contact),
        )
        .await
        .unwrap();
    assert_eq!(results.len(), 3);
    let id = |r: &Result<Option<Item>, _>| {
        r.as_ref()
            .unwrap()
            .as_ref()
            .and_then(Item::item_id)
            .map(|i| i.id.clone())
    };
    assert_eq!(id(&results[0]).as_deref(), Some("N1"));
    assert_eq!(id(&results[1]).as_deref(), Some("N2"));
    let err = results[2].as_ref().unwrap_err();
    assert_eq!(err.0.code, ResponseCode::ErrorQuotaExceeded);

    let requests = h.requests();
    assert_eq!(requests.len(), 2, "one CreateItem per batch");
    let names: Vec<Vec<String>> = requests
        .iter()
        .map(|body| {
            let (_, op) =
                ews_client::envelope::read_request::<CreateItem>(body.as_bytes()).unwrap();
            assert_eq!(
                op.saved_item_folder_id,
                Some(DistinguishedFolderName::Contacts.into())
            );
            op.items
                .iter()
                .map(|i| match i {
                    Item::Contact(c) => c.display_name.clone().unwrap_or_default(),
                    other => panic!("{other:?}"),
                })
                .collect()
        })
        .collect();
    assert_eq!(names, [vec!["Anna", "Ben"], vec!["Cleo"]]);
    let docs: Vec<(&str, &[u8])> = requests
        .iter()
        .map(|b| ("CreateItem request", b.as_bytes()))
        .collect();
    if let Err(e) = ews_client::schema::validate_in_test(&docs) {
        panic!("{e}");
    }
}
