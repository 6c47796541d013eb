//! `Client` against deliberately broken and hostile servers: wrong result counts, zero
//! back-off, endless and repeating pages and sync states, echoed secrets, other character
//! sets, unreadable error answers, oversized answers.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod transport_common;

use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ews_client::envelope::{SoapFault, write_fault, write_operation_response};
use ews_client::operation::Operation;
use ews_client::ops::*;
use ews_client::transport::{
    Auth, OAuthClientCredentials, RetryPolicy, SecretString, StreamBoundError, StreamLimits,
    TokenProvider, TransportConfig, TransportError,
};
use ews_client::types::attachment::AttachmentId;
use ews_client::types::folder::{Folder, FolderKind};
use ews_client::types::ids::BaseFolderId;
use ews_client::types::response::{
    MessageXml, MessageXmlValue, ResponseCode, ResponseContent, ResponseMessage, ResponseMessages,
};
use ews_client::types::shape::{ItemShape, PagingInfo};
use ews_client::types::{Contact, DistinguishedFolderName, FolderId, Item, ItemCommon, ItemId};
use ews_client::xml::XmlError;
use ews_client::{Client, ClientConfig, Error};
use futures::TryStreamExt;
use transport_common::{handler, serve};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

/// Answers each request with the next response of a fixed sequence (the last repeats).
struct Sequence {
    responses: Vec<ResponseTemplate>,
    next: Arc<AtomicUsize>,
}

impl Respond for Sequence {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.responses[i.min(self.responses.len() - 1)].clone()
    }
}

struct Harness {
    server: MockServer,
    count: Arc<AtomicUsize>,
}

impl Harness {
    async fn new(responses: Vec<ResponseTemplate>) -> Harness {
        let server = MockServer::start().await;
        let count = Arc::new(AtomicUsize::new(0));
        Mock::given(matchers::method("POST"))
            .respond_with(Sequence {
                responses,
                next: count.clone(),
            })
            .mount(&server)
            .await;
        Harness { server, count }
    }

    fn config(&self, auth: Auth) -> ClientConfig {
        let url = url::Url::parse(&format!("{}/EWS/Exchange.asmx", self.server.uri())).unwrap();
        ClientConfig::new(TransportConfig::new(url, auth).with_retry(RetryPolicy::no_retries()))
            .with_call_timeout(Duration::from_secs(10))
    }

    fn client(&self) -> Client {
        Client::new(self.config(Auth::basic("svc", "pw"))).unwrap()
    }

    fn requests(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

fn ok<O: Operation>(resp: &O::Response) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/xml; charset=utf-8")
        .set_body_bytes(write_operation_response::<O>(None, resp))
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

fn ids(n: usize) -> Vec<ews_client::types::base_item_id::BaseItemId> {
    (0..n)
        .map(|i| ItemId::new(format!("id{i}")).into())
        .collect()
}

/// Text of an error as a caller, a log line or a panic would show it.
fn shown(err: &Error) -> String {
    let mut text = format!("{err} | {err:?}");
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(&format!(" | {s}"));
        source = s.source();
    }
    text
}

// ---------------------------------------------------------------------------------------
// 2. result counts

/// Answers `op` (which asks for `expected` results) with fewer, more and no response
/// messages, then with the right number.
async fn assert_counts_checked<O, T>(op: O, expected: usize)
where
    O: Operation<Response = ResponseMessages<T>>,
    T: ResponseContent + Default + Send + std::fmt::Debug + 'static,
{
    assert_eq!(op.expected_responses(), Some(expected), "{}", O::NAME);
    for received in [expected - 1, expected + 1, 0, expected] {
        let messages = (0..received)
            .map(|_| ResponseMessage::<T>::error(ResponseCode::ErrorItemNotFound, "gone"))
            .collect();
        let h = Harness::new(vec![ok::<O>(&ResponseMessages::new(messages))]).await;
        let result = h.client().execute(&op).await;
        if received == expected {
            assert_eq!(result.unwrap().messages.len(), expected, "{}", O::NAME);
            continue;
        }
        let err = result.unwrap_err();
        assert!(
            matches!(err, Error::ResultCount { operation, expected: e, received: r }
                if operation == O::NAME && e == expected && r == received),
            "{} {received}: {err}",
            O::NAME
        );
        assert!(err.is_protocol() && !err.is_transient(), "{err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("{received} response message(s) for {expected}")),
            "{text}"
        );
    }
}

#[tokio::test]
async fn every_batch_operation_checks_the_number_of_results() {
    let folder: BaseFolderId = DistinguishedFolderName::Contacts.into();
    assert_counts_checked(GetItem::new(ItemShape::id_only(), ids(2)), 2).await;
    assert_counts_checked(DeleteItem::new(DisposalType::HardDelete, ids(2)), 2).await;
    assert_counts_checked(
        MoveItem {
            to_folder_id: folder.clone(),
            item_ids: ids(3),
            return_new_item_ids: None,
        },
        3,
    )
    .await;
    assert_counts_checked(CreateItem::save(vec![contact("a"), contact("b")], None), 2).await;
    assert_counts_checked(SendItem::new(ids(2)), 2).await;
    assert_counts_checked(
        GetFolder::new([
            DistinguishedFolderName::Inbox,
            DistinguishedFolderName::Contacts,
        ]),
        2,
    )
    .await;
    assert_counts_checked(
        CreateFolder {
            parent_folder_id: folder.clone(),
            folders: vec![
                Folder::new(FolderKind::Folder, "a"),
                Folder::new(FolderKind::Folder, "b"),
            ],
        },
        2,
    )
    .await;
    assert_counts_checked(
        DeleteFolder::new(
            DisposalType::HardDelete,
            [FolderId::new("f1"), FolderId::new("f2")],
        ),
        2,
    )
    .await;
    assert_counts_checked(
        GetAttachment::new(vec![
            AttachmentId {
                id: "a1".into(),
                ..AttachmentId::default()
            },
            AttachmentId {
                id: "a2".into(),
                ..AttachmentId::default()
            },
        ]),
        2,
    )
    .await;
    let change = |id: &str| ItemChange {
        item_id: ItemId::new(id).into(),
        updates: vec![ItemChangeDescription::delete_field("contacts:JobTitle")],
    };
    assert_counts_checked(UpdateItem::new(vec![change("x"), change("y")]), 2).await;
    assert_counts_checked(FindItem::new(folder.clone(), ItemShape::id_only(), 10), 1).await;
    assert_counts_checked(
        FindFolder::new(
            FolderTraversal::Shallow,
            vec![folder.clone(), folder.clone()],
        ),
        2,
    )
    .await;
    let file = |n: &str| {
        ews_client::types::attachment::Attachment::File(
            ews_client::types::attachment::FileAttachment::new(n, "text/plain", b"x".to_vec()),
        )
    };
    assert_counts_checked(
        CreateAttachment {
            parent_item_id: ItemId::new("parent"),
            attachments: vec![file("a.txt"), file("b.txt"), file("c.txt")],
        },
        3,
    )
    .await;
    let rename = |id: &str| ews_client::ops::update_folder::FolderChange {
        folder_id: FolderId::new(id).into(),
        updates: vec![FolderChangeDescription::Set {
            path: ews_client::types::paths::PropertyPath::field("folder:DisplayName"),
            folder: Folder::new(FolderKind::Folder, "renamed"),
        }],
    };
    assert_counts_checked(
        UpdateFolder {
            folder_changes: vec![rename("f1"), rename("f2")],
        },
        2,
    )
    .await;
    assert_counts_checked(ResolveNames::new("anna"), 1).await;
    assert_counts_checked(
        SyncFolderItems::new(folder.clone(), ItemShape::id_only(), None, 10),
        1,
    )
    .await;
}

#[tokio::test]
async fn batch_helpers_refuse_wrong_counts_instead_of_misattributing() {
    // 2 ids answered with 1 and with 3 messages
    for received in [1usize, 3] {
        let messages = (0..received)
            .map(|i| {
                ResponseMessage::success(ItemInfo {
                    items: vec![contact(&format!("r{i}"))],
                })
            })
            .collect();
        let h = Harness::new(vec![ok::<GetItem>(&ResponseMessages::new(messages))]).await;
        let err = h
            .client()
            .get_items(ItemShape::id_only(), ids(2))
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::ResultCount { expected: 2, received: r, .. } if r == received),
            "{err}"
        );
        let deleted = (0..received)
            .map(|_| ResponseMessage::<()>::success(()))
            .collect();
        let h = Harness::new(vec![ok::<DeleteItem>(&ResponseMessages::new(deleted))]).await;
        let err = h
            .client()
            .delete_items(DisposalType::SoftDelete, ids(2))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::ResultCount {
                    operation: "DeleteItem",
                    expected: 2,
                    ..
                }
            ),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 3. ErrorServerBusy

fn busy_fault(back_off_ms: u64) -> ResponseTemplate {
    let mut fault = SoapFault::server_busy(Duration::from_millis(back_off_ms));
    fault.fault_code = "a:ErrorServerBusy".into();
    ResponseTemplate::new(500).set_body_bytes(write_fault(None, &fault))
}

fn busy_in_message(back_off_ms: u64) -> ResponseTemplate {
    let mut m = ResponseMessage::<FolderInfo>::error(ResponseCode::ErrorServerBusy, "busy");
    m.status.message_xml = MessageXml(vec![MessageXmlValue::named(
        "BackOffMilliseconds",
        back_off_ms.to_string(),
    )]);
    ok::<GetFolder>(&ResponseMessages::new(vec![m]))
}

#[tokio::test]
async fn zero_back_off_is_floored_growing_and_capped_per_call() {
    for answer in [busy_fault(0), busy_in_message(0), busy_fault(1)] {
        let h = Harness::new(vec![answer]).await;
        let policy = RetryPolicy::default()
            .with_delays(Duration::from_millis(100), Duration::from_secs(5))
            .with_min_server_wait(Duration::from_millis(100))
            .with_jitter(0.0)
            .with_max_attempts(4);
        let client = Client::new(h.config(Auth::None).with_busy_retry(policy)).unwrap();
        let started = Instant::now();
        let err = client
            .execute(&GetFolder::new([DistinguishedFolderName::Inbox]))
            .await
            .unwrap_err();
        // 4 answers, 3 waits: 100 + 200 + 400 ms despite BackOffMilliseconds 0
        assert!(
            started.elapsed() >= Duration::from_millis(690),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(h.requests(), 4);
        assert!(err.is_throttled() && err.is_transient(), "{err}");
        assert!(matches!(err, Error::Throttled { attempts: 4, .. }), "{err}");
    }
}

#[tokio::test]
async fn default_floor_is_one_second_and_the_deadline_ends_as_throttled() {
    let h = Harness::new(vec![busy_fault(0)]).await;
    let client = Client::new(
        h.config(Auth::None)
            .with_call_timeout(Duration::from_millis(2500)),
    )
    .unwrap();
    let started = Instant::now();
    let err = client
        .execute(&GetFolder::new([DistinguishedFolderName::Inbox]))
        .await
        .unwrap_err();
    // default: at least 1 s, then at least 2 s (> the remaining deadline): two requests in
    // 2.5 s instead of thousands
    assert_eq!(h.requests(), 2, "after {:?}", started.elapsed());
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(err.is_throttled(), "{err}");
}

#[tokio::test]
async fn server_wait_jitter_spreads_clients() {
    let policy = ClientConfig::new(TransportConfig::new(
        url::Url::parse("https://mail.example.com/EWS/Exchange.asmx").unwrap(),
        Auth::None,
    ))
    .busy_retry;
    assert_eq!(policy.min_server_wait, Duration::from_secs(1));
    let waits: std::collections::HashSet<_> = (0..20)
        .map(|_| policy.server_wait(Some(Duration::ZERO), 1))
        .collect();
    assert!(waits.len() > 1, "{waits:?}");
    assert!(waits.iter().all(|w| *w >= Duration::from_secs(1)));
}

// ---------------------------------------------------------------------------------------
// 4. endless and repeating streams

fn find_page(offset: u32, items: &[&str], last: bool) -> ResponseTemplate {
    ok::<FindItem>(&ResponseMessages::new(vec![ResponseMessage::success(
        FindItemResult {
            paging: PagingInfo {
                indexed_paging_offset: Some(offset),
                includes_last_item_in_range: Some(last),
                total_items_in_view: None,
            },
            items: items.iter().map(|i| contact(i)).collect(),
        },
    )]))
}

fn stream_err(err: &Error) -> &StreamBoundError {
    match err {
        Error::Transport(TransportError::Stream(e)) => e,
        other => panic!("not a stream error: {other}"),
    }
}

#[tokio::test]
async fn find_items_refuses_a_server_that_repeats_pages() {
    let folder: BaseFolderId = DistinguishedFolderName::Contacts.into();
    // the same offset again and again
    let h = Harness::new(vec![find_page(0, &["a"], false)]).await;
    let err = h
        .client()
        .find_items(FindItem::new(folder.clone(), ItemShape::id_only(), 1))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(stream_err(&err), StreamBoundError::Repeated { .. }),
        "{err}"
    );
    assert!(err.is_protocol() && !err.is_transient());
    // an advancing offset, but the same items every time
    let pages: Vec<_> = (1..50).map(|i| find_page(i, &["a", "b"], false)).collect();
    let h = Harness::new(pages).await;
    let err = h
        .client()
        .find_items(FindItem::new(folder.clone(), ItemShape::id_only(), 2))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(
            stream_err(&err),
            StreamBoundError::Repeated { pages: 2, .. }
        ),
        "{err}"
    );
    assert_eq!(h.requests(), 2);
}

#[tokio::test]
async fn endless_paging_stops_at_the_page_limit() {
    let pages: Vec<_> = (1..100u32)
        .map(|i| find_page(i, &[&format!("item{i}")], false))
        .collect();
    let h = Harness::new(pages).await;
    let client = Client::new(
        h.config(Auth::None)
            .with_stream_limits(StreamLimits::default().with_max_pages(5)),
    )
    .unwrap();
    let items: Vec<Result<Item, Error>> = {
        use futures::StreamExt;
        client
            .find_items(FindItem::new(
                DistinguishedFolderName::Contacts.into(),
                ItemShape::id_only(),
                1,
            ))
            .collect()
            .await
    };
    let err = items.last().unwrap().as_ref().unwrap_err();
    assert_eq!(
        *stream_err(err),
        StreamBoundError::TooManyPages { limit: 5 }
    );
    assert_eq!(h.requests(), 5);
    // the items of the pages within the bound were delivered first
    assert_eq!(items.iter().filter(|r| r.is_ok()).count(), 4);

    // items and time bounds
    let pages: Vec<_> = (1..100u32)
        .map(|i| find_page(i, &[&format!("x{i}")], false))
        .collect();
    let h = Harness::new(pages).await;
    let client = Client::new(
        h.config(Auth::None)
            .with_stream_limits(StreamLimits::default().with_max_items(3)),
    )
    .unwrap();
    let err = client
        .find_items_in(
            DistinguishedFolderName::Contacts.into(),
            ItemShape::id_only(),
        )
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(
        *stream_err(&err),
        StreamBoundError::TooManyItems { limit: 3 }
    );
    let pages: Vec<_> = (1..100u32)
        .map(|i| find_page(i, &[&format!("y{i}")], false))
        .collect();
    let h = Harness::new(pages).await;
    let client = Client::new(
        h.config(Auth::None)
            .with_stream_limits(StreamLimits::default().with_max_duration(Duration::ZERO)),
    )
    .unwrap();
    let err = client
        .find_items_in(
            DistinguishedFolderName::Contacts.into(),
            ItemShape::id_only(),
        )
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(stream_err(&err), StreamBoundError::TooLong { .. }),
        "{err}"
    );
    assert!(err.is_timeout());
}

#[tokio::test]
async fn find_folders_refuses_a_repeating_server() {
    let page = ok::<FindFolder>(&ResponseMessages::new(vec![ResponseMessage::success(
        FindFolderResult {
            paging: PagingInfo {
                indexed_paging_offset: Some(0),
                includes_last_item_in_range: Some(false),
                total_items_in_view: None,
            },
            folders: vec![Folder::new(FolderKind::Folder, "again")],
        },
    )]));
    let h = Harness::new(vec![page]).await;
    let err = h
        .client()
        .find_folders(FindFolder::new(
            FolderTraversal::Deep,
            [DistinguishedFolderName::MsgFolderRoot],
        ))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(stream_err(&err), StreamBoundError::Repeated { .. }),
        "{err}"
    );
}

fn sync_batch(state: Option<&str>, last: bool, item: &str) -> ResponseTemplate {
    ok::<SyncFolderItems>(&ResponseMessages::new(vec![ResponseMessage::success(
        SyncFolderItemsResult {
            sync_state: state.map(str::to_owned),
            includes_last_item_in_range: Some(last),
            changes: vec![SyncItemChange::Create(contact(item))],
        },
    )]))
}

#[tokio::test]
async fn sync_streams_refuse_repeated_or_missing_states_and_stop_at_the_limit() {
    let op = |state: Option<&str>| {
        SyncFolderItems::new(
            DistinguishedFolderName::Contacts.into(),
            ItemShape::id_only(),
            state.map(str::to_owned),
            512,
        )
    };
    let cases: Vec<(Vec<ResponseTemplate>, Option<&str>, usize)> = vec![
        // the state we sent, back again
        (vec![sync_batch(Some("S0"), false, "a")], Some("S0"), 1),
        // A -> B -> A
        (
            vec![
                sync_batch(Some("S1"), false, "a"),
                sync_batch(Some("S2"), false, "b"),
                sync_batch(Some("S1"), false, "c"),
            ],
            None,
            3,
        ),
        // "more" without a state
        (vec![sync_batch(None, false, "a")], None, 1),
    ];
    for (answers, start, requests) in cases {
        let h = Harness::new(answers).await;
        let err = h
            .client()
            .sync_folder_items(op(start))
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert!(
            matches!(stream_err(&err), StreamBoundError::Repeated { .. }),
            "{err}"
        );
        assert_eq!(h.requests(), requests);
    }
    // ever new states: bounded by pages
    let answers: Vec<_> = (0..100)
        .map(|i| sync_batch(Some(&format!("T{i}")), false, "z"))
        .collect();
    let h = Harness::new(answers).await;
    let client = Client::new(
        h.config(Auth::None)
            .with_stream_limits(StreamLimits::default().with_max_pages(7)),
    )
    .unwrap();
    let err = client
        .sync_folder_items(op(None))
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(
        *stream_err(&err),
        StreamBoundError::TooManyPages { limit: 7 }
    );
    assert_eq!(h.requests(), 7);

    // SyncFolderHierarchy: the same state again
    let batch = ok::<SyncFolderHierarchy>(&ResponseMessages::new(vec![ResponseMessage::success(
        SyncFolderHierarchyResult {
            sync_state: Some("H".into()),
            includes_last_folder_in_range: Some(false),
            changes: vec![],
        },
    )]));
    let h = Harness::new(vec![batch]).await;
    let err = h
        .client()
        .sync_folder_hierarchy(SyncFolderHierarchy {
            folder_shape: ews_client::types::shape::FolderShape::default(),
            sync_folder_id: None,
            sync_state: None,
        })
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(stream_err(&err), StreamBoundError::Repeated { .. }),
        "{err}"
    );
    assert_eq!(h.requests(), 2);
}

// ---------------------------------------------------------------------------------------
// 5. secrets echoed by the server, long and control-character text

/// The request as an echoing proxy page would show it.
fn echo_of(req: &http::Request<bytes::Bytes>) -> String {
    let mut text = String::from("<html><pre>Request was:\r\n");
    for (name, value) in req.headers() {
        text.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap_or("?")));
    }
    text.push_str("</pre></html>");
    text
}

fn fault_with(text: &str) -> Vec<u8> {
    let fault = SoapFault {
        fault_code: "s:Server".into(),
        fault_string: text.to_owned(),
        message: Some(text.to_owned()),
        ..SoapFault::default()
    };
    write_fault(None, &fault)
}

fn http_response(
    status: u16,
    ctype: &str,
    body: Vec<u8>,
) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    http::Response::builder()
        .status(status)
        .header("content-type", ctype)
        .body(http_body_util::Full::new(bytes::Bytes::from(body)))
        .unwrap()
}

/// A server answering every request with its echo: as an HTML 500 page on even requests,
/// as a SOAP fault on odd ones. `extra` is appended (what the server "knows").
async fn echo_server(extra: &'static str) -> transport_common::Server {
    let n = Arc::new(AtomicUsize::new(0));
    serve(handler(move |_conn, req| {
        let n = n.clone();
        async move {
            let echo = format!("{} {extra}", echo_of(&req));
            if n.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
                http_response(500, "text/html", echo.into_bytes())
            } else {
                http_response(500, "text/xml; charset=utf-8", fault_with(&echo))
            }
        }
    }))
    .await
}

fn client_for(url: &str, auth: Auth) -> Client {
    Client::new(
        ClientConfig::new(
            TransportConfig::new(url::Url::parse(url).unwrap(), auth)
                .with_retry(RetryPolicy::no_retries()),
        )
        .with_call_timeout(Duration::from_secs(10)),
    )
    .unwrap()
}

async fn two_errors(client: &Client) -> Vec<Error> {
    let op = GetFolder::new([DistinguishedFolderName::Inbox]);
    vec![
        client.execute(&op).await.unwrap_err(),
        client.execute(&op).await.unwrap_err(),
    ]
}

fn assert_clean(err: &Error, secrets: &[&str]) {
    let text = shown(err);
    for secret in secrets {
        assert!(!text.contains(secret), "{secret:?} leaked: {text}");
    }
    assert!(
        !text.chars().any(|c| c.is_control()),
        "control character in {text:?}"
    );
    assert!(text.contains("[REDACTED]"), "{text}");
}

#[tokio::test]
async fn basic_credentials_echoed_by_the_server_are_redacted() {
    let server = echo_server("(user svc-crm, password Pa55w0rd!Basic)").await;
    let client = client_for(
        &server.url("http", "127.0.0.1"),
        Auth::basic("svc-crm", "Pa55w0rd!Basic"),
    );
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode("svc-crm:Pa55w0rd!Basic");
    let errors = two_errors(&client).await;
    assert!(
        matches!(errors[0], Error::HttpStatus { status: 500, .. }),
        "{}",
        errors[0]
    );
    assert!(matches!(errors[1], Error::Fault(_)), "{}", errors[1]);
    for err in &errors {
        assert_clean(err, &["Pa55w0rd!Basic", &encoded]);
    }
}

#[tokio::test]
async fn ntlm_credentials_echoed_by_the_server_are_redacted() {
    use ews_client::transport::ntlm::{self, Message};
    const PASSWORD: &str = "Winter2026!Ntlm";
    let type3_seen: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let seen = type3_seen.clone();
    let server = serve(handler(move |conn, req| {
        let seen = seen.clone();
        async move {
            let challenge = [conn.id as u8; 8];
            let Some(auth) = req.headers().get("authorization") else {
                return http_response(401, "text/plain", Vec::new());
            };
            let auth = auth.to_str().unwrap().to_owned();
            match ntlm::decode_authorization(&auth).unwrap() {
                Message::Negotiate(_) => {
                    let type2 = ntlm::challenge_message(&ntlm::server_challenge(challenge, "D"));
                    let mut r = http_response(401, "text/plain", Vec::new());
                    r.headers_mut().insert(
                        "www-authenticate",
                        ntlm::encode_authorization(&type2).parse().unwrap(),
                    );
                    r
                }
                Message::Authenticate(a)
                    if ntlm::verify_ntlmv2_response(&a, challenge, PASSWORD) =>
                {
                    seen.lock()
                        .unwrap()
                        .push(auth.trim_start_matches("NTLM ").to_owned());
                    let echo = format!("{} the password {PASSWORD} is expired", echo_of(&req));
                    http_response(500, "text/xml", fault_with(&echo))
                }
                _ => http_response(401, "text/plain", Vec::new()),
            }
        }
    }))
    .await;
    let client = client_for(
        &server.url("http", "127.0.0.1"),
        Auth::ntlm("D\\svc", PASSWORD),
    );
    let err = client
        .execute(&GetFolder::new([DistinguishedFolderName::Inbox]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Fault(_)), "{err}");
    let type3 = type3_seen.lock().unwrap()[0].clone();
    assert!(type3.len() > 40);
    assert_clean(&err, &[PASSWORD, &type3[..40]]);
}

struct FixedToken(&'static str);

#[async_trait]
impl TokenProvider for FixedToken {
    async fn token(&self) -> Result<SecretString, TransportError> {
        Ok(SecretString::from(self.0.to_owned()))
    }
    async fn invalidate(&self, _rejected: &SecretString) {}
}

#[tokio::test]
async fn bearer_tokens_echoed_by_the_server_are_redacted() {
    const TOKEN: &str = "eyJ0eXAiOiJKV1QifQ.hostile-test-token.c2lnbmF0dXJl";
    // echoed in the header dump, and once more bare (as "token=..." with a space-free key)
    let server = echo_server(
        "your token eyJ0eXAiOiJKV1QifQ.hostile-test-token.c2lnbmF0dXJl is not valid here",
    )
    .await;
    let client = client_for(
        &server.url("http", "127.0.0.1"),
        Auth::bearer(Arc::new(FixedToken(TOKEN))),
    );
    for err in two_errors(&client).await {
        assert_clean(&err, &[TOKEN, "hostile-test-token"]);
    }
}

/// A token endpoint that echoes the form it received in `error_description`.
struct EchoingTokenEndpoint;

impl Respond for EchoingTokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form = String::from_utf8_lossy(&request.body).into_owned();
        let secret = url::form_urlencoded::parse(form.as_bytes())
            .find(|(k, _)| k == "client_secret")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "invalid_client",
            "error_description": format!(
                "AADSTS7000215: Invalid client secret provided ({secret}).\r\nRequest: {form}\u{1b}[0m"
            ),
        }))
    }
}

#[tokio::test]
async fn client_secret_echoed_by_the_token_endpoint_is_redacted() {
    const SECRET: &str = "Qx8~Secret+/Value=";
    let token_server = MockServer::start().await;
    Mock::given(matchers::path("/token"))
        .respond_with(EchoingTokenEndpoint)
        .mount(&token_server)
        .await;
    let credentials = OAuthClientCredentials::new("contoso", "app-id", SECRET)
        .with_token_url(url::Url::parse(&format!("{}/token", token_server.uri())).unwrap());
    let ews = echo_server("").await;
    let client = client_for(&ews.url("http", "127.0.0.1"), Auth::oauth(credentials));
    let err = client
        .execute(&GetFolder::new([DistinguishedFolderName::Inbox]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transport(TransportError::TokenEndpoint { status: 401, error, .. }) if error == "invalid_client"),
        "{err}"
    );
    let form_encoded: String = url::form_urlencoded::byte_serialize(SECRET.as_bytes()).collect();
    assert_clean(&err, &[SECRET, &form_encoded, "Secret+"]);
    assert!(shown(&err).contains("AADSTS7000215"), "{}", shown(&err));
}

#[tokio::test]
async fn huge_and_binary_server_text_is_cut_and_cleaned() {
    // a 20 MB faultstring
    let huge = format!("password=hunter2 {}", "A".repeat(20 * 1024 * 1024));
    let h = Harness::new(vec![
        ResponseTemplate::new(500).set_body_bytes(fault_with(&huge)),
        // a non-XML error page with escape sequences and NULs
        ResponseTemplate::new(502).set_body_bytes(b"\x1b[2J\x00bad\x07 gateway\r\n".to_vec()),
        // UTF-16 without BOM or declaration: unreadable, and its parse error must not carry
        // NUL bytes
        ResponseTemplate::new(200).set_body_bytes(
            "<html><body>oops</body></html>"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>(),
        ),
        // an unknown response code of a megabyte
        ResponseTemplate::new(500).set_body_bytes(write_fault(
            None,
            &SoapFault {
                fault_code: "s:Client".into(),
                fault_string: "x".into(),
                response_code: Some(ResponseCode::Other(format!(
                    "ErrorPassword=hunter2{}",
                    "Z".repeat(1024 * 1024)
                ))),
                ..SoapFault::default()
            },
        )),
    ])
    .await;
    let client = h.client();
    let op = GetFolder::new([DistinguishedFolderName::Inbox]);
    let fault = client.execute(&op).await.unwrap_err();
    let text = fault.to_string();
    assert!(text.len() < 1000, "{} bytes", text.len());
    assert!(format!("{fault:?}").len() < 3000);
    assert!(!text.contains("hunter2"), "{text}");
    let page = client.execute(&op).await.unwrap_err();
    assert!(
        matches!(page, Error::HttpStatus { status: 502, .. }),
        "{page}"
    );
    assert!(!shown(&page).chars().any(|c| c.is_control()), "{page:?}");
    assert!(page.to_string().contains("bad gateway"), "{page}");
    let unreadable = client.execute(&op).await.unwrap_err();
    assert!(matches!(unreadable, Error::Parse(_)), "{unreadable}");
    assert!(
        !shown(&unreadable).chars().any(|c| c.is_control()),
        "{unreadable:?}"
    );
}

// ---------------------------------------------------------------------------------------
// 6. character sets

fn get_folder_answer(name: &str) -> String {
    let info = FolderInfo {
        folders: vec![Folder {
            folder_id: Some(FolderId::new("F1")),
            ..Folder::new(FolderKind::Folder, name)
        }],
    };
    let bytes = write_operation_response::<GetFolder>(
        None,
        &ResponseMessages::new(vec![ResponseMessage::success(info)]),
    );
    let text = String::from_utf8(bytes).unwrap();
    match text.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").unwrap() + 2..].trim_start().to_owned(),
        None => text,
    }
}

#[tokio::test]
async fn utf16_and_8bit_documents_are_decoded() {
    let name = "Grüße vom Büro";
    let utf16 = |little: bool, bom: bool| {
        let doc = format!(
            "<?xml version=\"1.0\" encoding=\"utf-16\"?>{}",
            get_folder_answer(name)
        );
        let mut units: Vec<u16> = if bom { vec![0xFEFF] } else { vec![] };
        units.extend(doc.encode_utf16());
        units
            .into_iter()
            .flat_map(|u| {
                if little {
                    u.to_le_bytes()
                } else {
                    u.to_be_bytes()
                }
            })
            .collect::<Vec<u8>>()
    };
    let latin1 = |doc: String| -> Vec<u8> { doc.chars().map(|c| c as u32 as u8).collect() };
    let answers = vec![
        ResponseTemplate::new(200).set_body_bytes(utf16(true, true)),
        ResponseTemplate::new(200).set_body_bytes(utf16(false, true)),
        ResponseTemplate::new(200).set_body_bytes(utf16(true, false)),
        ResponseTemplate::new(200).set_body_bytes(latin1(format!(
            "<?xml version='1.0' encoding='ISO-8859-1'?>{}",
            get_folder_answer(name)
        ))),
        // only the HTTP header names the charset
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/xml; charset=windows-1252")
            .set_body_bytes(latin1(get_folder_answer(name))),
    ];
    let n = answers.len();
    let h = Harness::new(answers).await;
    let client = h.client();
    for i in 0..n {
        let folder = client
            .get_folder(DistinguishedFolderName::Inbox.into())
            .await
            .unwrap_or_else(|e| panic!("answer {i}: {e}"));
        assert_eq!(folder.display_name.as_deref(), Some(name), "answer {i}");
    }
}

#[tokio::test]
async fn an_unknown_encoding_is_refused_clearly() {
    let h = Harness::new(vec![ResponseTemplate::new(200).set_body_string(format!(
        "<?xml version=\"1.0\" encoding=\"x-klingon\"?>{}",
        get_folder_answer("x")
    ))])
    .await;
    let err = h
        .client()
        .get_folder(DistinguishedFolderName::Inbox.into())
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Parse(XmlError::Encoding { .. })),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("x-klingon") && text.contains("not supported"),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------------
// 7. the cause of an unreadable error answer

#[tokio::test]
async fn the_cause_of_an_unreadable_error_answer_is_kept() {
    let truncated = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstr";
    let h = Harness::new(vec![ResponseTemplate::new(500).set_body_string(truncated)]).await;
    let err = h
        .client()
        .get_folder(DistinguishedFolderName::Inbox.into())
        .await
        .unwrap_err();
    let Error::HttpStatus {
        status: 500,
        cause: Some(cause),
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert!(cause.path().contains("Fault"), "{cause}");
    let source = err.source().expect("a source");
    assert!(source.downcast_ref::<XmlError>().is_some(), "{source}");
}

// ---------------------------------------------------------------------------------------
// 1. response size through the client: normal calls and downloads

#[tokio::test]
async fn downloads_have_their_own_larger_limit() {
    let big = ItemInfo {
        items: vec![Item::Contact(Contact {
            common: ItemCommon {
                item_id: Some(ItemId::new("big")),
                ..ItemCommon::default()
            },
            display_name: Some("x".repeat(100 * 1024)),
            ..Contact::default()
        })],
    };
    let h = Harness::new(vec![ok::<GetItem>(&ResponseMessages::new(vec![
        ResponseMessage::success(big),
    ]))])
    .await;
    let client = Client::new(
        h.config(Auth::None)
            .with_max_response_bytes(32 * 1024)
            .with_max_download_bytes(1024 * 1024),
    )
    .unwrap();
    let err = client
        .execute(&GetItem::new(ItemShape::id_only(), ids(1)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(TransportError::ResponseTooLarge { limit: 32768, .. })
        ),
        "{err}"
    );
    assert!(!err.is_transient());
    let response = client
        .execute(&GetItem::new(
            ItemShape::id_only().with_mime_content(),
            ids(1),
        ))
        .await
        .unwrap();
    assert_eq!(response.messages.len(), 1);
}
