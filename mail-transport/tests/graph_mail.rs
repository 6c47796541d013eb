//! The Microsoft Graph backend against ews-mock's Graph front over HTTP: send with the copy
//! found in Sent Items by its immutable id (the same item through the EWS front), without a
//! copy, attachments inline and through an upload session, a send whose connection drops
//! (not repeated); receive exactly once across runs, a crash between filing and checkpoint,
//! a rejected delta link, after-receive actions; typed errors without secrets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::MemorySink;
use ews_client::transport::{Auth, RetryPolicy, SecretString, TransportConfig};
use ews_client::types::base_item_id::BaseItemId;
use ews_client::types::shape::ItemShape;
use ews_client::types::{Item, ItemId};
use ews_mock::{Fault, FaultRule, MockConfig, MockHandle, MockServer, OrgData};
use futures::TryStreamExt;
use graph_client::translate::ExchangeIdFormat;
use graph_client::{ListOptions, auth};
use mail_transport::{
    AfterReceive, Attachment, CheckpointStore, DedupSink, GraphReceiver, GraphSender, MailError,
    MailReceiver, MailSender, MailSink, Mailbox, MessageIdStore, NoLinks, OutgoingMail,
    ReceivedMail, SentItems, SinkError, SqliteCheckpoints, StoreOutcome,
};

const ORG: &str = r#"
[settings]
domain = "CONTOSO"
seed = 11

[[users]]
address = "anna@contoso.test"
display_name = "Anna Schmidt"
password = "anna-pw"

[[users]]
address = "ben@contoso.test"
display_name = "Ben"
password = "ben-pw"

[[users]]
address = "carl@contoso.test"
display_name = "Carl"
password = "carl-pw"

[[mailboxes]]
owner = "ben@contoso.test"
folders = [{ path = "inbox/Archiv" }]

[[apps]]
client_id = "crm-app"
client_secret = "crm-app-secret-4711"
tenant = "contoso"
roles = ["full_access_as_app"]
"#;

async fn mock() -> MockHandle {
    MockServer::start(MockConfig::new(OrgData::from_toml(ORG).unwrap()))
        .await
        .unwrap()
}

fn graph_with(mock: &MockHandle, secret: &str) -> graph_client::Client {
    let mut creds =
        auth::credentials("contoso", "crm-app").with_token_url(mock.token_url().parse().unwrap());
    creds.client_secret = SecretString::from(secret.to_owned());
    let config = graph_client::ClientConfig::new(auth::with_secret(creds).unwrap())
        .with_base_url(url::Url::parse(&format!("{}/v1.0/", mock.base_url())).unwrap())
        .with_retry(
            RetryPolicy::default()
                .with_delays(Duration::from_millis(10), Duration::from_millis(50))
                .with_max_attempts(3),
        )
        .with_retry_after_floor(Duration::from_millis(10))
        .with_timeouts(Duration::from_secs(10), Duration::from_secs(60));
    graph_client::Client::new(config).unwrap()
}

fn graph(mock: &MockHandle) -> graph_client::Client {
    graph_with(mock, "crm-app-secret-4711")
}

fn ews(mock: &MockHandle, user: &str, password: &str) -> ews_client::client::Client {
    let url = url::Url::parse(&mock.url()).unwrap();
    ews_client::client::Client::new(ews_client::client::ClientConfig::new(TransportConfig::new(
        url,
        Auth::basic(user, password),
    )))
    .unwrap()
}

fn mail(subject: &str) -> OutgoingMail {
    OutgoingMail {
        from: Mailbox::named("Anna Schmidt", "anna@contoso.test"),
        to: vec![Mailbox::named("Ben", "ben@contoso.test")],
        subject: subject.into(),
        text: Some("Hallo Ben".into()),
        html: Some("<p>Hallo <b>Ben</b></p>".into()),
        references: vec!["root@contoso.test".into(), "second@contoso.test".into()],
        in_reply_to: Some("second@contoso.test".into()),
        ..OutgoingMail::default()
    }
}

fn sender(mock: &MockHandle, sent_items: SentItems) -> GraphSender {
    GraphSender::new(graph(mock), "anna@contoso.test", sent_items)
        .with_copy_wait(Duration::from_secs(2))
}

fn checkpoints(dir: &tempfile::TempDir) -> Arc<SqliteCheckpoints> {
    Arc::new(SqliteCheckpoints::open(dir.path().join("state.sqlite")).unwrap())
}

fn count(mock: &MockHandle, mailbox: &str, folder: &str) -> usize {
    mock.mailbox(mailbox).unwrap().items_in(folder).count()
}

fn ews_message(snapshot: &ews_mock::store::ItemSnapshot) -> ews_client::types::Message {
    match snapshot.item() {
        Some(Item::Message(m)) => m,
        other => panic!("no message: {other:?}"),
    }
}

async fn send_to_ben(mock: &MockHandle, subjects: &[&str]) -> Vec<String> {
    let sender = sender(mock, SentItems::Keep);
    let mut ids = Vec::new();
    for s in subjects {
        ids.push(sender.send(&mail(s)).await.unwrap().message_id);
    }
    ids
}

#[tokio::test]
async fn send_keeps_the_copy_in_sent_items_under_the_drafts_immutable_id() {
    let mock = mock().await;
    let mut outgoing = mail("Angebot 42");
    outgoing.bcc = vec![Mailbox::new("carl@contoso.test")];
    let receipt = sender(&mock, SentItems::Keep)
        .send(&outgoing)
        .await
        .unwrap();
    assert_eq!(receipt.copy_error, None);
    let copy = receipt.stored_copy.clone().expect("the copy in Sent Items");
    assert_eq!(copy.folder, "sentitems");

    // through Graph: the id names the message in Sent Items, no longer a draft
    let anna = graph(&mock).mailbox("anna@contoso.test");
    let sent = anna
        .message(&copy.id, &ListOptions::default())
        .await
        .unwrap();
    let sent_items = anna.mail_folder("sentitems").await.unwrap();
    assert_eq!(sent.parent_folder_id, sent_items.id);
    assert_eq!(sent.is_draft, Some(false));
    assert_eq!(sent.subject.as_deref(), Some("Angebot 42"));
    assert_eq!(
        sent.internet_message_id.as_deref(),
        Some(format!("<{}>", receipt.message_id).as_str())
    );
    assert_eq!(count(&mock, "anna@contoso.test", "drafts"), 0);

    // through EWS: the same item
    let ews_id = anna
        .translate_exchange_ids(
            &[copy.id.as_str()],
            ExchangeIdFormat::RestImmutableEntryId,
            ExchangeIdFormat::EwsId,
        )
        .await
        .unwrap()[0]
        .target_id
        .clone()
        .unwrap();
    let snapshot = mock.mailbox("anna@contoso.test").unwrap();
    let in_sent: Vec<_> = snapshot.items_in("sentitems").collect();
    assert_eq!(in_sent.len(), 1);
    assert_eq!(in_sent[0].id, ews_id);
    let client = ews(&mock, "anna@contoso.test", "anna-pw");
    let got = client
        .get_items(
            ItemShape::all_properties(),
            vec![BaseItemId::from(ItemId::new(ews_id))],
        )
        .try_next()
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Item::Message(m) = got else {
        panic!("no message")
    };
    assert_eq!(m.common.subject.as_deref(), Some("Angebot 42"));
    assert_eq!(m.internet_message_id, sent.internet_message_id);

    // delivered with the headers the CRM links by; Bcc reached carl and is not visible
    let ben = mock.mailbox("ben@contoso.test").unwrap();
    let inbox: Vec<_> = ben.items_in("inbox").collect();
    assert_eq!(inbox.len(), 1);
    let got = ews_message(inbox[0]);
    assert_eq!(
        got.internet_message_id.as_deref(),
        Some(format!("<{}>", receipt.message_id).as_str())
    );
    assert_eq!(
        got.common.in_reply_to.as_deref(),
        Some("<second@contoso.test>")
    );
    assert_eq!(
        got.references.as_deref(),
        Some("<root@contoso.test> <second@contoso.test>")
    );
    assert_eq!(
        got.from.as_ref().unwrap().email_address.as_deref(),
        Some("anna@contoso.test")
    );
    assert_eq!(count(&mock, "carl@contoso.test", "inbox"), 1);

    // without a copy: delivered, nothing in Sent Items or Drafts
    let receipt = sender(&mock, SentItems::Discard)
        .send(&mail("Ohne Kopie"))
        .await
        .unwrap();
    assert_eq!(receipt.stored_copy, None);
    assert_eq!(receipt.copy_error, None);
    assert_eq!(count(&mock, "anna@contoso.test", "sentitems"), 1);
    assert_eq!(count(&mock, "anna@contoso.test", "drafts"), 0);
    assert_eq!(count(&mock, "ben@contoso.test", "inbox"), 2);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn attachments_inline_and_through_an_upload_session_arrive_intact() {
    let mock = mock().await;
    let small = b"%PDF-1.4 Angebot".to_vec();
    let large: Vec<u8> = (0..(3 * 1024 * 1024 + 500_000u32))
        .map(|i| (i % 253) as u8)
        .collect();
    let mut outgoing = mail("Mit Anlagen");
    outgoing.attachments = vec![
        Attachment {
            file_name: "Angebot.pdf".into(),
            content_type: "application/pdf".into(),
            data: small.clone(),
        },
        Attachment {
            file_name: "Plan.bin".into(),
            content_type: "application/octet-stream".into(),
            data: large.clone(),
        },
    ];
    mock.clear_log();
    let receipt = sender(&mock, SentItems::Keep)
        .send(&outgoing)
        .await
        .unwrap();
    assert!(receipt.stored_copy.is_some());
    let counts = mock.request_counts();
    assert_eq!(counts.get("Graph POST messages/attachments"), Some(&1));
    assert_eq!(
        counts.get("Graph POST messages/attachments/createUploadSession"),
        Some(&1)
    );
    assert_eq!(counts.get("Graph POST messages/send"), Some(&1));

    // ben receives both, byte for byte, with the thread headers
    let dir = tempfile::tempdir().unwrap();
    let receiver = GraphReceiver::new(
        graph(&mock),
        "ben@contoso.test",
        "ben",
        checkpoints(&dir),
        AfterReceive::KeepCopy,
    );
    let sink = MemorySink::default();
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!(report.stored, 1);
    {
        let mails = sink.mails.lock().unwrap();
        let got = &mails[0];
        assert_eq!(got.message_id, receipt.message_id);
        assert_eq!(got.subject.as_deref(), Some("Mit Anlagen"));
        assert_eq!(got.in_reply_to, vec!["second@contoso.test"]);
        assert_eq!(
            got.references,
            vec!["root@contoso.test", "second@contoso.test"]
        );
        let by_name = |n: &str| {
            got.attachments
                .iter()
                .find(|a| a.file_name.as_deref() == Some(n))
                .unwrap_or_else(|| panic!("{n} missing"))
        };
        assert_eq!(by_name("Angebot.pdf").data, small);
        assert!(by_name("Plan.bin").data == large, "large attachment intact");
    }
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_send_whose_connection_drops_is_not_repeated() {
    let mock = mock().await;
    mock.add_fault(
        FaultRule::always(Fault::DropAfterProcessing)
            .for_operation("Graph POST messages/send")
            .times(1),
    );
    mock.clear_log();
    // the send happened: the receipt names the copy found by its id
    let receipt = sender(&mock, SentItems::Keep)
        .send(&mail("Einmal"))
        .await
        .unwrap();
    assert!(receipt.stored_copy.is_some());
    assert_eq!(mock.request_counts()["Graph POST messages/send"], 1);
    assert_eq!(count(&mock, "ben@contoso.test", "inbox"), 1);

    // the send did not happen (dropped before processing): an error, never sent again
    mock.add_fault(
        FaultRule::always(Fault::DropBeforeProcessing)
            .for_operation("Graph POST messages/send")
            .times(1),
    );
    let err = sender(&mock, SentItems::Keep)
        .send(&mail("Vielleicht"))
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("unknown"), "{err}");
    assert_eq!(mock.request_counts()["Graph POST messages/send"], 2);
    assert_eq!(count(&mock, "ben@contoso.test", "inbox"), 1);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn receive_files_each_mail_once_across_runs() {
    let mock = mock().await;
    let ids = send_to_ben(&mock, &["eins", "zwei", "drei"]).await;
    let dir = tempfile::tempdir().unwrap();
    let receiver = GraphReceiver::new(
        graph(&mock),
        "ben@contoso.test",
        "ben",
        checkpoints(&dir),
        AfterReceive::KeepCopy,
    )
    .with_page_size(2);
    let sink = MemorySink::default();
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!((report.stored, report.acknowledged), (3, 3));
    assert!(!report.checkpoint_reset);
    let checkpoint = report.checkpoint.clone().expect("a delta link");
    assert!(checkpoint.contains("/messages/delta"), "{checkpoint}");
    {
        let mails = sink.mails.lock().unwrap();
        let got: Vec<&ReceivedMail> = ids
            .iter()
            .map(|id| mails.iter().find(|m| &m.message_id == id).unwrap())
            .collect();
        assert_eq!(got[0].subject.as_deref(), Some("eins"));
        assert_eq!(
            got[0].from,
            Some(Mailbox::named("Anna Schmidt", "anna@contoso.test"))
        );
        assert!(got[0].html.as_deref().unwrap().contains("<b>Ben</b>"));
        assert!(!got[0].raw.is_empty(), "the raw MIME");
    }
    // kept in the inbox, marked read
    let ben = graph(&mock).mailbox("ben@contoso.test");
    let inbox = ben
        .messages("inbox", &ListOptions::default())
        .await
        .unwrap();
    assert_eq!(inbox.len(), 3);
    assert!(inbox.iter().all(|m| m.is_read == Some(true)));

    // the second run: nothing new, not even offered again (the mark-read changes were
    // absorbed in the first run)
    mock.clear_log();
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!((report.stored, report.duplicates), (0, 0));
    assert_eq!(mock.request_counts().get("Graph GET messages/$value"), None);
    send_to_ben(&mock, &["vier"]).await;
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!((report.stored, report.duplicates), (1, 0));
    assert_eq!(sink.len(), 4);
    mock.shutdown().await.unwrap();
}

#[derive(Default)]
struct CountingStore(std::sync::Mutex<Vec<String>>);

#[async_trait]
impl MailSink for CountingStore {
    async fn store(&self, mail: ReceivedMail) -> Result<StoreOutcome, SinkError> {
        self.0.lock().unwrap().push(mail.message_id);
        Ok(StoreOutcome::Stored)
    }
}

/// A sink that hangs after storing the n-th message (the process is killed there).
struct CrashAfterStore<'a> {
    inner: &'a dyn MailSink,
    crash_on: usize,
    seen: AtomicUsize,
}

#[async_trait]
impl MailSink for CrashAfterStore<'_> {
    async fn store(&self, mail: ReceivedMail) -> Result<StoreOutcome, SinkError> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        let outcome = self.inner.store(mail).await?;
        if n == self.crash_on {
            std::future::pending::<()>().await;
        }
        Ok(outcome)
    }
}

/// Checkpoints whose saving fails while `broken` (a crash before the checkpoint is written).
struct FlakyCheckpoints {
    inner: Arc<SqliteCheckpoints>,
    broken: AtomicBool,
}

impl CheckpointStore for FlakyCheckpoints {
    fn load(&self, account: &str, folder: &str) -> Result<Option<String>, MailError> {
        self.inner.load(account, folder)
    }
    fn save(&self, account: &str, folder: &str, checkpoint: &str) -> Result<(), MailError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(MailError::storage("killed before the checkpoint"));
        }
        self.inner.save(account, folder, checkpoint)
    }
}

#[tokio::test]
async fn a_crash_between_filing_and_checkpoint_files_nothing_twice() {
    let mock = mock().await;
    let ids = send_to_ben(&mock, &["1", "2", "3"]).await;
    let dir = tempfile::tempdir().unwrap();
    let host_ids = dir.path().join("host.sqlite");
    let cps = Arc::new(FlakyCheckpoints {
        inner: checkpoints(&dir),
        broken: AtomicBool::new(false),
    });
    let store = CountingStore::default();
    let receiver = |after: AfterReceive| {
        GraphReceiver::new(graph(&mock), "ben@contoso.test", "ben", cps.clone(), after)
    };

    // killed while the second mail was filed but not acknowledged
    {
        let dedup = DedupSink::new(
            &store as &dyn MailSink,
            MessageIdStore::open(&host_ids).unwrap(),
        );
        let crashing = CrashAfterStore {
            inner: &dedup,
            crash_on: 2,
            seen: AtomicUsize::new(0),
        };
        let run = tokio::time::timeout(
            Duration::from_secs(3),
            receiver(AfterReceive::Delete).receive(&crashing, &NoLinks),
        )
        .await;
        assert!(run.is_err(), "cut off inside the sink");
    }
    assert_eq!(count(&mock, "ben@contoso.test", "inbox"), 2);
    assert_eq!(cps.load("ben", "graph:inbox").unwrap(), None);

    // all filed and acknowledged, then killed before the checkpoint was written
    cps.broken.store(true, Ordering::SeqCst);
    let dedup = DedupSink::new(
        &store as &dyn MailSink,
        MessageIdStore::open(&host_ids).unwrap(),
    );
    let err = receiver(AfterReceive::Delete)
        .receive(&dedup, &NoLinks)
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Storage { .. }), "{err:?}");
    assert_eq!(count(&mock, "ben@contoso.test", "inbox"), 0);
    assert_eq!(*store.0.lock().unwrap(), ids, "each filed once so far");

    // the next run starts from scratch: nothing filed twice
    cps.broken.store(false, Ordering::SeqCst);
    let more = send_to_ben(&mock, &["4"]).await;
    let report = receiver(AfterReceive::Delete)
        .receive(&dedup, &NoLinks)
        .await
        .unwrap();
    assert_eq!(report.stored, 1);
    let all: Vec<String> = ids.iter().chain(&more).cloned().collect();
    assert_eq!(*store.0.lock().unwrap(), all);
    assert_eq!(count(&mock, "ben@contoso.test", "deleteditems"), 4);
    assert!(cps.load("ben", "graph:inbox").unwrap().is_some());

    // a crash in the sink of a keep-copy receiver: the mail stays unread and is offered again
    let later = send_to_ben(&mock, &["5", "6"]).await;
    {
        let crashing = CrashAfterStore {
            inner: &dedup,
            crash_on: 1,
            seen: AtomicUsize::new(0),
        };
        let run = tokio::time::timeout(
            Duration::from_secs(3),
            receiver(AfterReceive::KeepCopy).receive(&crashing, &NoLinks),
        )
        .await;
        assert!(run.is_err());
    }
    let report = receiver(AfterReceive::KeepCopy)
        .receive(&dedup, &NoLinks)
        .await
        .unwrap();
    assert_eq!((report.stored, report.duplicates), (1, 1));
    let all: Vec<String> = all.into_iter().chain(later).collect();
    assert_eq!(*store.0.lock().unwrap(), all);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_rejected_delta_link_reads_the_folder_again_without_filing_twice() {
    let mock = mock().await;
    let ids = send_to_ben(&mock, &["a", "b"]).await;
    let dir = tempfile::tempdir().unwrap();
    let cps = checkpoints(&dir);
    let store = CountingStore::default();
    let dedup = DedupSink::new(
        &store as &dyn MailSink,
        MessageIdStore::open(dir.path().join("host.sqlite")).unwrap(),
    );
    let receiver = GraphReceiver::new(
        graph(&mock),
        "ben@contoso.test",
        "ben",
        cps.clone(),
        AfterReceive::KeepCopy,
    );
    assert_eq!(receiver.receive(&dedup, &NoLinks).await.unwrap().stored, 2);
    let more = send_to_ben(&mock, &["c"]).await;

    // the server forgets its delta tokens (410 syncStateNotFound)
    reqwest::Client::new()
        .post(format!("{}/graph/expire-delta-tokens", mock.admin_url()))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    let report = receiver.receive(&dedup, &NoLinks).await.unwrap();
    assert!(report.checkpoint_reset);
    assert_eq!((report.stored, report.duplicates), (1, 2));
    let all: Vec<String> = ids.iter().chain(&more).cloned().collect();
    assert_eq!(*store.0.lock().unwrap(), all);
    // a following run goes on from the new link
    let report = receiver.receive(&dedup, &NoLinks).await.unwrap();
    assert!(!report.checkpoint_reset);
    assert_eq!((report.stored, report.duplicates), (0, 0));

    // a checkpoint that is no delta link of this server (an EWS sync state): read again
    cps.save("ben", "graph:inbox", "H4sIAAAAAAAEAGNgYGBk")
        .unwrap();
    let report = receiver.receive(&dedup, &NoLinks).await.unwrap();
    assert!(report.checkpoint_reset);
    assert_eq!((report.stored, report.duplicates), (0, 3));
    assert_eq!(*store.0.lock().unwrap(), all);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn after_receive_moves_or_deletes_and_another_folder_can_be_received() {
    let mock = mock().await;
    send_to_ben(&mock, &["x", "y"]).await;
    let dir = tempfile::tempdir().unwrap();
    let ben = graph(&mock).mailbox("ben@contoso.test");
    let archive = ben
        .mail_child_folders("inbox")
        .await
        .unwrap()
        .into_iter()
        .find(|f| f.display_name.as_deref() == Some("Archiv"))
        .unwrap()
        .id
        .unwrap();
    let sink = MemorySink::default();
    let moving = GraphReceiver::new(
        graph(&mock),
        "ben@contoso.test",
        "ben",
        checkpoints(&dir),
        AfterReceive::MoveTo(archive.clone()),
    );
    assert_eq!(moving.receive(&sink, &NoLinks).await.unwrap().stored, 2);
    assert_eq!(count(&mock, "ben@contoso.test", "inbox"), 0);
    assert_eq!(count(&mock, "ben@contoso.test", "inbox/Archiv"), 2);
    // the moves show up as removals and deliver nothing
    assert_eq!(moving.receive(&sink, &NoLinks).await.unwrap().stored, 0);

    // receiving the archive folder itself (another account key), deleting after filing
    let archive_sink = MemorySink::default();
    let deleting = GraphReceiver::new(
        graph(&mock),
        "ben@contoso.test",
        "ben-archive",
        checkpoints(&dir),
        AfterReceive::Delete,
    )
    .with_folder(archive.clone());
    assert_eq!(deleting.checkpoint_key(), format!("graph:{archive}"));
    let report = deleting.receive(&archive_sink, &NoLinks).await.unwrap();
    assert_eq!(report.stored, 2);
    assert_eq!(archive_sink.subjects(), vec!["x", "y"]);
    assert_eq!(count(&mock, "ben@contoso.test", "inbox/Archiv"), 0);
    assert_eq!(count(&mock, "ben@contoso.test", "deleteditems"), 2);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn wrong_credentials_are_a_typed_auth_error_without_the_secret() {
    let mock = mock().await;
    let wrong_secret = "not-the-secret-0815";
    let sender = GraphSender::new(
        graph_with(&mock, wrong_secret),
        "anna@contoso.test",
        SentItems::Keep,
    );
    let err = sender.send(&mail("x")).await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    for text in [err.to_string(), format!("{err:?}"), format!("{sender:?}")] {
        assert!(!text.contains(wrong_secret), "{text}");
    }
    let dir = tempfile::tempdir().unwrap();
    let receiver = GraphReceiver::new(
        graph_with(&mock, wrong_secret),
        "ben@contoso.test",
        "ben",
        checkpoints(&dir),
        AfterReceive::KeepCopy,
    );
    let err = receiver
        .receive(&MemorySink::default(), &NoLinks)
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    for text in [err.to_string(), format!("{err:?}"), format!("{receiver:?}")] {
        assert!(!text.contains(wrong_secret), "{text}");
    }
    // the right secret never shows either
    let good = GraphSender::new(graph(&mock), "anna@contoso.test", SentItems::Keep);
    assert!(!format!("{good:?}").contains("crm-app-secret-4711"));
    // nothing was sent with the wrong credentials
    assert_eq!(count(&mock, "ben@contoso.test", "inbox"), 0);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn throttling_is_transient_and_files_nothing() {
    let mock = mock().await;
    send_to_ben(&mock, &["gedrosselt"]).await;
    let dir = tempfile::tempdir().unwrap();
    let cps = checkpoints(&dir);
    mock.add_fault(
        FaultRule::always(Fault::Http503 {
            retry_after_secs: 0,
        })
        .for_operation("Graph GET mailFolders/messages/delta"),
    );
    let receiver = GraphReceiver::new(
        graph(&mock),
        "ben@contoso.test",
        "ben",
        cps.clone(),
        AfterReceive::KeepCopy,
    );
    let sink = MemorySink::default();
    let err = receiver.receive(&sink, &NoLinks).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert!(!err.is_auth());
    assert_eq!(sink.len(), 0);
    assert_eq!(cps.load("ben", "graph:inbox").unwrap(), None);
    mock.clear_faults();
    assert_eq!(receiver.receive(&sink, &NoLinks).await.unwrap().stored, 1);
    mock.shutdown().await.unwrap();
}
