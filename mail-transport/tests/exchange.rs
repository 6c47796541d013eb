//! The Exchange backend against ews-mock: send with a copy in Sent Items, with attachments and
//! through impersonation; receive with SyncFolderItems, keep or delete, crash between store and
//! acknowledge, a rejected sync state.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::MemorySink;
use ews_client::client::{Client, ClientConfig};
use ews_client::transport::{Auth, TransportConfig};
use ews_client::types::Item;
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};
use mail_transport::SentItems;
use mail_transport::exchange::{ExchangeReceiver, ExchangeSender, MailboxAccess};
use mail_transport::{
    AfterReceive, Attachment, CheckpointStore, DedupSink, MailError, MailReceiver, MailSender,
    MailSink, Mailbox, MessageIdStore, NoLinks, OutgoingMail, ReceivedMail, SinkError,
    SqliteCheckpoints, StoreOutcome,
};

const ORG: &str = r#"
[settings]
domain = "CONTOSO"
seed = 7

[[users]]
address = "admin@contoso.test"
display_name = "Admin"
password = "admin-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "anna@contoso.test"
display_name = "Anna Schmidt"
password = "anna-pw"

[[users]]
address = "ben@contoso.test"
display_name = "Ben"
password = "ben-pw"
"#;

async fn mock() -> MockHandle {
    MockServer::start(MockConfig::new(OrgData::from_toml(ORG).unwrap()))
        .await
        .unwrap()
}

fn client(mock: &MockHandle, user: &str, password: &str) -> Client {
    let url = url::Url::parse(&mock.url()).unwrap();
    Client::new(ClientConfig::new(TransportConfig::new(
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
        attachments: vec![Attachment {
            file_name: "Angebot.pdf".into(),
            content_type: "application/pdf".into(),
            data: b"%PDF-1.4".to_vec(),
        }],
        references: vec!["root@contoso.test".into()],
        in_reply_to: Some("root@contoso.test".into()),
        ..OutgoingMail::default()
    }
}

fn checkpoints(dir: &tempfile::TempDir) -> Arc<SqliteCheckpoints> {
    Arc::new(SqliteCheckpoints::open(dir.path().join("state.sqlite")).unwrap())
}

#[tokio::test]
async fn send_and_save_copy_through_impersonation_with_attachments() {
    let mock = mock().await;
    let admin = client(&mock, "admin@contoso.test", "admin-pw");
    let sender = ExchangeSender::new(
        admin,
        "anna@contoso.test",
        MailboxAccess::Impersonate,
        SentItems::Keep,
    );
    let receipt = sender.send(&mail("Angebot 42")).await.unwrap();
    let copy = receipt.stored_copy.clone().expect("the copy in Sent Items");
    assert_eq!(copy.folder, "sentitems");
    let anna = mock.mailbox("anna@contoso.test").unwrap();
    assert_eq!(
        anna.items_in("sentitems").count(),
        1,
        "copy saved in anna's mailbox"
    );
    let ben = mock.mailbox("ben@contoso.test").unwrap();
    let inbox: Vec<_> = ben.items_in("inbox").collect();
    assert_eq!(inbox.len(), 1);
    let Some(Item::Message(got)) = inbox[0].item() else {
        panic!()
    };
    assert_eq!(got.common.subject.as_deref(), Some("Angebot 42"));
    assert_eq!(
        got.internet_message_id.as_deref(),
        Some(format!("<{}>", receipt.message_id).as_str())
    );
    assert_eq!(got.common.attachments.len(), 1);
    assert_eq!(
        got.from.as_ref().unwrap().email_address.as_deref(),
        Some("anna@contoso.test")
    );

    // without a copy
    let own = client(&mock, "anna@contoso.test", "anna-pw");
    let sender = ExchangeSender::new(
        own,
        "anna@contoso.test",
        MailboxAccess::Own,
        SentItems::Discard,
    );
    let receipt = sender.send(&mail("Ohne Kopie")).await.unwrap();
    assert_eq!(receipt.stored_copy, None);
    assert_eq!(
        mock.mailbox("anna@contoso.test")
            .unwrap()
            .items_in("sentitems")
            .count(),
        1
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn exchange_errors_are_typed() {
    let mock = mock().await;
    let wrong = client(&mock, "anna@contoso.test", "wrong-pw");
    let err = ExchangeSender::new(
        wrong,
        "anna@contoso.test",
        MailboxAccess::Own,
        SentItems::Keep,
    )
    .send(&mail("x"))
    .await
    .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    // anna may not impersonate ben
    let anna = client(&mock, "anna@contoso.test", "anna-pw");
    let err = ExchangeSender::new(
        anna,
        "ben@contoso.test",
        MailboxAccess::Impersonate,
        SentItems::Keep,
    )
    .send(&mail("x"))
    .await
    .unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    mock.shutdown().await.unwrap();
}

async fn send_to_ben(mock: &MockHandle, subjects: &[&str]) -> Vec<String> {
    let sender = ExchangeSender::new(
        client(mock, "anna@contoso.test", "anna-pw"),
        "anna@contoso.test",
        MailboxAccess::Own,
        SentItems::Keep,
    );
    let mut ids = Vec::new();
    for s in subjects {
        ids.push(sender.send(&mail(s)).await.unwrap().message_id);
    }
    ids
}

#[tokio::test]
async fn receive_keep_copy_then_only_new_mail() {
    let mock = mock().await;
    let ids = send_to_ben(&mock, &["eins", "zwei"]).await;
    let dir = tempfile::tempdir().unwrap();
    let admin = client(&mock, "admin@contoso.test", "admin-pw");
    let receiver = ExchangeReceiver::new(
        admin,
        "ben@contoso.test",
        MailboxAccess::Impersonate,
        "ben-ews",
        checkpoints(&dir),
        AfterReceive::KeepCopy,
    )
    .with_page_size(1);
    let sink = MemorySink::default();
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!((report.stored, report.acknowledged), (2, 2));
    assert!(report.checkpoint.is_some());
    assert_eq!(
        mock.mailbox("ben@contoso.test")
            .unwrap()
            .items_in("inbox")
            .count(),
        2
    );
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
        assert_eq!(got[0].to, vec![Mailbox::named("Ben", "ben@contoso.test")]);
        assert!(got[0].html.as_deref().unwrap().contains("<b>Ben</b>"));
        assert_eq!(got[0].attachments.len(), 1);
        assert_eq!(
            got[0].attachments[0].file_name.as_deref(),
            Some("Angebot.pdf")
        );
        assert_eq!(got[0].attachments[0].data, b"%PDF-1.4");
        assert_eq!(got[0].in_reply_to, vec!["root@contoso.test"]);
        assert_eq!(got[0].references, vec!["root@contoso.test"]);
    }
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!(report.stored, 0);
    send_to_ben(&mock, &["drei"]).await;
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!(report.stored, 1);
    assert_eq!(sink.len(), 3);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn receive_delete_mode_empties_the_inbox() {
    let mock = mock().await;
    send_to_ben(&mock, &["a", "b", "c"]).await;
    let dir = tempfile::tempdir().unwrap();
    let ben = client(&mock, "ben@contoso.test", "ben-pw");
    let receiver = ExchangeReceiver::new(
        ben,
        "ben@contoso.test",
        MailboxAccess::Own,
        "ben",
        checkpoints(&dir),
        AfterReceive::Delete,
    );
    let sink = MemorySink::default();
    assert_eq!(receiver.receive(&sink, &NoLinks).await.unwrap().stored, 3);
    let ben = mock.mailbox("ben@contoso.test").unwrap();
    assert_eq!(ben.items_in("inbox").count(), 0);
    assert_eq!(ben.items_in("deleteditems").count(), 3);
    // the deletions show up in the next sync and deliver nothing
    assert_eq!(receiver.receive(&sink, &NoLinks).await.unwrap().stored, 0);
    assert_eq!(sink.len(), 3);
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

#[tokio::test]
async fn crash_between_store_and_acknowledge_and_a_rejected_sync_state_file_each_mail_once() {
    let mock = mock().await;
    let ids = send_to_ben(&mock, &["1", "2", "3"]).await;
    let dir = tempfile::tempdir().unwrap();
    let host_ids = dir.path().join("host.sqlite");
    let cps = checkpoints(&dir);
    let store = CountingStore::default();
    let receiver = || {
        ExchangeReceiver::new(
            client(&mock, "ben@contoso.test", "ben-pw"),
            "ben@contoso.test",
            MailboxAccess::Own,
            "ben",
            cps.clone(),
            AfterReceive::Delete,
        )
    };
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
            receiver().receive(&crashing, &NoLinks),
        )
        .await;
        assert!(
            run.is_err(),
            "cut off while the second mail was stored but not acknowledged"
        );
    }
    assert_eq!(
        mock.mailbox("ben@contoso.test")
            .unwrap()
            .items_in("inbox")
            .count(),
        2
    );
    let dedup = DedupSink::new(
        &store as &dyn MailSink,
        MessageIdStore::open(&host_ids).unwrap(),
    );
    let report = receiver().receive(&dedup, &NoLinks).await.unwrap();
    assert_eq!((report.stored, report.duplicates), (1, 1));
    assert_eq!(*store.0.lock().unwrap(), ids);
    assert_eq!(
        mock.mailbox("ben@contoso.test")
            .unwrap()
            .items_in("inbox")
            .count(),
        0
    );

    // a sync state the server no longer accepts: start over, dedup by Message-ID
    let more = send_to_ben(&mock, &["4"]).await;
    cps.save("ben", "exchange:inbox", "garbage-state").unwrap();
    let report = receiver().receive(&dedup, &NoLinks).await.unwrap();
    assert!(report.checkpoint_reset);
    assert_eq!(report.stored, 1);
    let all: Vec<String> = ids.iter().chain(&more).cloned().collect();
    assert_eq!(*store.0.lock().unwrap(), all);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_sink_failure_acknowledges_nothing_on_exchange() {
    let mock = mock().await;
    send_to_ben(&mock, &["x"]).await;
    let dir = tempfile::tempdir().unwrap();
    struct Full;
    #[async_trait]
    impl MailSink for Full {
        async fn store(&self, _m: ReceivedMail) -> Result<StoreOutcome, SinkError> {
            Err(SinkError::transient("disk full"))
        }
    }
    let receiver = ExchangeReceiver::new(
        client(&mock, "ben@contoso.test", "ben-pw"),
        "ben@contoso.test",
        MailboxAccess::Own,
        "ben",
        checkpoints(&dir),
        AfterReceive::Delete,
    );
    let err = receiver.receive(&Full, &NoLinks).await.unwrap_err();
    assert!(matches!(err, MailError::Sink(_)), "{err:?}");
    assert_eq!(
        mock.mailbox("ben@contoso.test")
            .unwrap()
            .items_in("inbox")
            .count(),
        1
    );
    assert_eq!(
        receiver
            .receive(&MemorySink::default(), &NoLinks)
            .await
            .unwrap()
            .stored,
        1
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_exchange_mail_account_record_uses_the_admin_account_when_it_says_so() {
    use conaktiv_model::config::account as m;
    use conaktiv_model::ids::UserName;
    use conaktiv_model::values::EmailAddress;
    let mock = mock().await;
    let record = m::MailAccount {
        short_code: "EX1".into(),
        user: UserName::new("anna"),
        account_name: "Anna (Exchange)".into(),
        email: EmailAddress::new("anna@contoso.test").unwrap(),
        reply_to: None,
        default_for_sending: true,
        usage: m::MailUsage::Both,
        server_kind: m::MailServerKind::Exchange,
        imap: None,
        smtp: None,
        receiving: m::ReceiveOptions {
            keep_copy_on_server: true,
            receive_automatically_on_server: false,
        },
        exchange: Some(m::ExchangeAccount {
            server: "ews".into(),
            use_admin_account: true,
            user: None,
            password: None,
        }),
        trusted_ca_file: None,
    };
    let admin = client(&mock, "admin@contoso.test", "admin-pw");
    let sender = mail_transport::model::exchange_sender(&record, admin.clone()).unwrap();
    let mut to_self = mail("an mich");
    to_self.to = vec![Mailbox::new("anna@contoso.test")];
    sender.send(&to_self).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let receiver =
        mail_transport::model::exchange_receiver(&record, admin, checkpoints(&dir)).unwrap();
    let sink = MemorySink::default();
    assert_eq!(receiver.receive(&sink, &NoLinks).await.unwrap().stored, 1);
    let anna = mock.mailbox("anna@contoso.test").unwrap();
    assert_eq!(
        anna.items_in("inbox").count(),
        1,
        "keep a copy on the server"
    );
    assert_eq!(anna.items_in("sentitems").count(), 1);
    // an IMAP/SMTP record is refused
    let mut imap = record.clone();
    imap.server_kind = m::MailServerKind::ImapSmtp;
    assert!(mail_transport::model::exchange_sender(&imap, client(&mock, "a", "b")).is_err());
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn exchange_account_test_reports_each_step() {
    use mail_transport::{
        AccountTestOptions, FailureKind, StepStatus, TestProtocol as P, TestStepKind as K,
        test_exchange,
    };
    let mock = mock().await;
    let admin = client(&mock, "admin@contoso.test", "admin-pw").for_mailbox("anna@contoso.test");
    let report = test_exchange(&admin, "anna@contoso.test", &AccountTestOptions::default()).await;
    assert!(report.is_ok(), "{report:#?}");
    assert!(matches!(
        report.step(P::Exchange, K::Folders),
        Some(StepStatus::Ok(_))
    ));
    assert!(matches!(
        report.step(P::Exchange, K::SendTest),
        Some(StepStatus::Skipped(_))
    ));
    let options = AccountTestOptions {
        send_test_to: Some("ben@contoso.test".into()),
    };
    let report = test_exchange(&admin, "anna@contoso.test", &options).await;
    assert!(
        matches!(
            report.step(P::Exchange, K::SendTest),
            Some(StepStatus::Ok(_))
        ),
        "{report:#?}"
    );
    assert_eq!(
        mock.mailbox("ben@contoso.test")
            .unwrap()
            .items_in("inbox")
            .count(),
        1
    );

    let wrong = client(&mock, "anna@contoso.test", "nope");
    let report = test_exchange(&wrong, "anna@contoso.test", &AccountTestOptions::default()).await;
    let step = report.first_failure(P::Exchange).unwrap();
    assert_eq!(step.kind, K::Authenticate);
    assert!(
        matches!(
            &step.status,
            StepStatus::Failed {
                kind: FailureKind::WrongCredentials,
                ..
            }
        ),
        "{report:#?}"
    );
    assert!(!format!("{report:?}").contains("nope"));
    let url = mock.url();
    mock.shutdown().await.unwrap();
    // the server is gone: a connection failure
    let gone = Client::new(ClientConfig::new(
        TransportConfig::new(
            url::Url::parse(&url).unwrap(),
            Auth::basic("anna@contoso.test", "anna-pw"),
        )
        .with_timeout(Duration::from_secs(2)),
    ))
    .unwrap();
    let report = test_exchange(&gone, "anna@contoso.test", &AccountTestOptions::default()).await;
    assert_eq!(
        report.first_failure(P::Exchange).unwrap().kind,
        K::Connect,
        "{report:#?}"
    );
}

#[tokio::test]
async fn the_send_queue_works_with_the_exchange_backend() {
    use mail_transport::{SendQueue, Throttle, TransferEncoding};
    let mock = mock().await;
    let sender = ExchangeSender::new(
        client(&mock, "anna@contoso.test", "anna-pw"),
        "anna@contoso.test",
        MailboxAccess::Own,
        SentItems::Keep,
    );
    let dir = tempfile::tempdir().unwrap();
    let queue = SendQueue::open(
        dir.path().join("q.sqlite"),
        "anna-ews",
        Some(Throttle::new(1, Duration::from_secs(60)).unwrap()),
    )
    .unwrap();
    for s in ["q1", "q2"] {
        let mut m = mail(s);
        m.bcc = vec![Mailbox::new("admin@contoso.test")];
        queue
            .enqueue(&m.build(TransferEncoding::Auto).unwrap())
            .unwrap();
    }
    let t0 = chrono::Utc::now();
    let run = queue.run_at(&sender, t0).await.unwrap();
    assert_eq!((run.sent.len(), run.remaining), (1, 1));
    let run = queue
        .run_at(&sender, t0 + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!((run.sent.len(), run.remaining), (1, 0));
    assert_eq!(
        mock.mailbox("ben@contoso.test")
            .unwrap()
            .items_in("inbox")
            .count(),
        2
    );
    // Bcc from the envelope reached the admin but is not visible to ben
    assert_eq!(
        mock.mailbox("admin@contoso.test")
            .unwrap()
            .items_in("inbox")
            .count(),
        2
    );
    let ben = mock.mailbox("ben@contoso.test").unwrap();
    for item in ben.items_in("inbox") {
        let Some(Item::Message(m)) = item.item() else {
            panic!()
        };
        assert!(m.bcc_recipients.is_empty());
    }
    mock.shutdown().await.unwrap();
}
