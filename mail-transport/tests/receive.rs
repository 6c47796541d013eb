//! Receiving over IMAP against the real Dovecot: checkpoints, keep/move/delete, chunks,
//! UIDVALIDITY change, crash between store and acknowledge, IDLE, linking.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::{MemorySink, append, folder_state, fresh_folder, raw_message, servers, unique};
use mail_transport::{
    AfterReceive, DedupSink, ImapReceiver, LinkContext, LinkHook, MailLinks, MailReceiver,
    MailSender, MailSink, Mailbox, MessageIdStore, NoLinks, OutgoingMail, ReceivedMail, SinkError,
    SmtpSender, SqliteCheckpoints, StoreOutcome, WaitOutcome,
};

fn checkpoints(dir: &tempfile::TempDir) -> Arc<SqliteCheckpoints> {
    Arc::new(SqliteCheckpoints::open(dir.path().join("state.sqlite")).unwrap())
}

fn messages(tag: &str, n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let id = format!("{}@test", unique(tag));
            let subject = format!("{tag} {i:03}");
            (id.clone(), raw_message(&id, &subject))
        })
        .collect()
}

#[tokio::test]
async fn keep_copy_flags_seen_and_advances_the_checkpoint() {
    let Some(sv) = servers() else { return };
    let folder = fresh_folder(&sv, "alice", "keep").await;
    let batch: Vec<Vec<u8>> = messages("keep", 5).into_iter().map(|(_, m)| m).collect();
    append(&sv, "alice", &folder, &batch).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sv.imap("alice");
    settings.inbox = folder.clone();
    settings.fetch_chunk = 2;
    let receiver = ImapReceiver::new("acct-keep", settings, checkpoints(&dir));
    let sink = MemorySink::default();
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!(
        (report.stored, report.duplicates, report.acknowledged),
        (5, 0, 5)
    );
    assert!(!report.checkpoint_reset);
    let (all, seen) = folder_state(&sv, "alice", &folder).await;
    assert_eq!(all.len(), 5, "keep-copy leaves the messages on the server");
    assert_eq!(seen, all, "and flags them \\Seen");
    let cp = receiver.checkpoint().unwrap().unwrap();
    assert_eq!(cp.last_uid, *all.last().unwrap());
    // nothing new: nothing delivered
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!((report.stored, report.acknowledged), (0, 0));
    // two more arrive: only those are delivered
    let more: Vec<Vec<u8>> = messages("keep-more", 2)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    append(&sv, "alice", &folder, &more).await;
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!((report.stored, report.acknowledged), (2, 2));
    assert_eq!(sink.len(), 7);
}

#[tokio::test]
async fn delete_mode_expunges_after_the_host_stored() {
    let Some(sv) = servers() else { return };
    let folder = fresh_folder(&sv, "alice", "delete").await;
    let batch: Vec<Vec<u8>> = messages("delete", 3).into_iter().map(|(_, m)| m).collect();
    append(&sv, "alice", &folder, &batch).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sv.imap("alice");
    settings.inbox = folder.clone();
    settings.after_receive = AfterReceive::Delete;
    let receiver = ImapReceiver::new("acct-delete", settings, checkpoints(&dir));
    let sink = MemorySink::default();
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!((report.stored, report.acknowledged), (3, 3));
    assert_eq!(
        folder_state(&sv, "alice", &folder).await.0,
        Vec::<u32>::new()
    );
    assert_eq!(
        sink.subjects(),
        vec!["delete 000", "delete 001", "delete 002"]
    );
}

#[tokio::test]
async fn move_mode_moves_into_the_target_folder() {
    let Some(sv) = servers() else { return };
    let folder = fresh_folder(&sv, "alice", "move-src").await;
    let target = fresh_folder(&sv, "alice", "move-dst").await;
    let batch: Vec<Vec<u8>> = messages("move", 3).into_iter().map(|(_, m)| m).collect();
    append(&sv, "alice", &folder, &batch).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sv.imap("alice");
    settings.inbox = folder.clone();
    settings.after_receive = AfterReceive::MoveTo(target.clone());
    let receiver = ImapReceiver::new("acct-move", settings, checkpoints(&dir));
    let sink = MemorySink::default();
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!(report.acknowledged, 3);
    assert!(folder_state(&sv, "alice", &folder).await.0.is_empty());
    assert_eq!(folder_state(&sv, "alice", &target).await.0.len(), 3);
}

#[tokio::test]
async fn large_mailbox_is_fetched_in_bounded_chunks_in_uid_order() {
    let Some(sv) = servers() else { return };
    let folder = fresh_folder(&sv, "alice", "large").await;
    let batch: Vec<Vec<u8>> = messages("large", 120).into_iter().map(|(_, m)| m).collect();
    append(&sv, "alice", &folder, &batch).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sv.imap("alice");
    settings.inbox = folder;
    settings.fetch_chunk = 25;
    let receiver = ImapReceiver::new("acct-large", settings, checkpoints(&dir));

    #[derive(Default)]
    struct Ordered(std::sync::Mutex<Vec<String>>);
    #[async_trait]
    impl MailSink for Ordered {
        async fn store(&self, mail: ReceivedMail) -> Result<StoreOutcome, SinkError> {
            self.0.lock().unwrap().push(mail.subject.unwrap());
            Ok(StoreOutcome::Stored)
        }
    }
    let sink = Ordered::default();
    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert_eq!(report.stored, 120);
    let got = sink.0.lock().unwrap().clone();
    let want: Vec<String> = (0..120).map(|i| format!("large {i:03}")).collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn uidvalidity_change_loses_and_duplicates_nothing() {
    let Some(sv) = servers() else { return };
    let folder = fresh_folder(&sv, "alice", "uidvalidity").await;
    let msgs = messages("uv", 4);
    let first: Vec<Vec<u8>> = msgs[..3].iter().map(|(_, m)| m.clone()).collect();
    append(&sv, "alice", &folder, &first).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sv.imap("alice");
    settings.inbox = folder.clone();
    let receiver = ImapReceiver::new("acct-uv", settings, checkpoints(&dir));
    let sink = MemorySink::default();
    assert_eq!(receiver.receive(&sink, &NoLinks).await.unwrap().stored, 3);
    let before = receiver.checkpoint().unwrap().unwrap();

    // The server rebuilds the folder: new UIDVALIDITY, UIDs start again at 1, and a new
    // message sits at a UID below the old checkpoint.
    let mut session = sv.session("alice").await;
    session.delete(&folder).await.unwrap();
    session.create(&folder).await.unwrap();
    session.logout().await.unwrap();
    let again: Vec<Vec<u8>> = vec![
        msgs[3].1.clone(),
        msgs[0].1.clone(),
        msgs[1].1.clone(),
        msgs[2].1.clone(),
    ];
    append(&sv, "alice", &folder, &again).await;

    let report = receiver.receive(&sink, &NoLinks).await.unwrap();
    assert!(report.checkpoint_reset);
    assert_eq!((report.stored, report.duplicates), (1, 3));
    assert_eq!(sink.len(), 4, "each message filed exactly once");
    let after = receiver.checkpoint().unwrap().unwrap();
    assert_ne!(after.uid_validity, before.uid_validity);
    assert_eq!(after.last_uid, 4);
}

/// Counts every store call that reaches the host's storage (no dedup of its own).
#[derive(Default)]
struct CountingStore {
    stored: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl MailSink for CountingStore {
    async fn store(&self, mail: ReceivedMail) -> Result<StoreOutcome, SinkError> {
        self.stored.lock().unwrap().push(mail.message_id);
        Ok(StoreOutcome::Stored)
    }
}

/// Stores through `inner`, then "crashes" (never returns) on the n-th message.
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
async fn crash_between_store_and_acknowledge_redelivers_and_dedup_files_once() {
    let Some(sv) = servers() else { return };
    let folder = fresh_folder(&sv, "alice", "crash").await;
    let msgs = messages("crash", 3);
    append(
        &sv,
        "alice",
        &folder,
        &msgs.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let ids_path = dir.path().join("host.sqlite");
    let mut settings = sv.imap("alice");
    settings.inbox = folder.clone();
    let store = CountingStore::default();
    {
        let dedup = DedupSink::new(
            &store as &dyn MailSink,
            MessageIdStore::open(&ids_path).unwrap(),
        );
        let crashing = CrashAfterStore {
            inner: &dedup,
            crash_on: 2,
            seen: AtomicUsize::new(0),
        };
        let receiver = ImapReceiver::new("acct-crash", settings.clone(), checkpoints(&dir));
        // the process "dies" while the second message is stored but not acknowledged
        let run = tokio::time::timeout(
            Duration::from_secs(3),
            receiver.receive(&crashing, &NoLinks),
        )
        .await;
        assert!(run.is_err(), "the receive run was cut off");
    }
    let (all, seen) = folder_state(&sv, "alice", &folder).await;
    assert_eq!(
        seen,
        vec![all[0]],
        "only the first message was acknowledged"
    );

    // restart: new receiver and host state from disk
    let dedup = DedupSink::new(
        &store as &dyn MailSink,
        MessageIdStore::open(&ids_path).unwrap(),
    );
    let receiver = ImapReceiver::new("acct-crash", settings, checkpoints(&dir));
    let report = receiver.receive(&dedup, &NoLinks).await.unwrap();
    assert_eq!(
        (report.stored, report.duplicates, report.acknowledged),
        (1, 1, 2)
    );
    let stored = store.stored.lock().unwrap().clone();
    let want: Vec<String> = msgs.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(
        stored, want,
        "every message reached the host's storage exactly once"
    );
    let (all, seen) = folder_state(&sv, "alice", &folder).await;
    assert_eq!(seen, all);
}

#[tokio::test]
async fn a_sink_failure_acknowledges_nothing() {
    let Some(sv) = servers() else { return };
    let folder = fresh_folder(&sv, "alice", "sinkfail").await;
    let msgs = messages("sinkfail", 2);
    append(
        &sv,
        "alice",
        &folder,
        &msgs.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sv.imap("alice");
    settings.inbox = folder.clone();
    settings.after_receive = AfterReceive::Delete;
    let receiver = ImapReceiver::new("acct-sinkfail", settings, checkpoints(&dir));
    struct Full;
    #[async_trait]
    impl MailSink for Full {
        async fn store(&self, _mail: ReceivedMail) -> Result<StoreOutcome, SinkError> {
            Err(SinkError::transient("disk full"))
        }
    }
    let err = receiver.receive(&Full, &NoLinks).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(
        folder_state(&sv, "alice", &folder).await.0.len(),
        2,
        "nothing deleted"
    );
    let sink = MemorySink::default();
    assert_eq!(receiver.receive(&sink, &NoLinks).await.unwrap().stored, 2);
}

#[tokio::test]
async fn idle_wakes_up_on_new_mail_and_times_out_without() {
    let Some(sv) = servers() else { return };
    let folder = fresh_folder(&sv, "alice", "idle").await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = sv.imap("alice");
    settings.inbox = folder.clone();
    let receiver = Arc::new(ImapReceiver::new("acct-idle", settings, checkpoints(&dir)));
    receiver
        .receive(&MemorySink::default(), &NoLinks)
        .await
        .unwrap();
    assert_eq!(
        receiver
            .wait_for_mail(Duration::from_millis(800))
            .await
            .unwrap(),
        WaitOutcome::Timeout
    );
    let r = receiver.clone();
    let waiter = tokio::spawn(async move { r.wait_for_mail(Duration::from_secs(15)).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    append(
        &sv,
        "alice",
        &folder,
        &[raw_message(&format!("{}@t", unique("idle")), "idle")],
    )
    .await;
    assert_eq!(waiter.await.unwrap().unwrap(), WaitOutcome::NewMail);
    assert!(started.elapsed() < Duration::from_secs(10));
    // mail that is already waiting is reported at once
    assert_eq!(
        receiver
            .wait_for_mail(Duration::from_secs(15))
            .await
            .unwrap(),
        WaitOutcome::NewMail
    );
}

/// Links by sender domain, a project tag in the subject, and the thread.
struct CrmLinks {
    offer_message_id: String,
}

#[async_trait]
impl LinkHook for CrmLinks {
    async fn links(&self, c: &LinkContext) -> MailLinks {
        let mut l = MailLinks::default();
        if c.from
            .as_ref()
            .is_some_and(|f| f.address.ends_with("@example.test"))
        {
            l.customer = Some("K-1".into());
        }
        if c.subject.as_deref().is_some_and(|s| s.contains("[P-42]")) {
            l.project = Some("P-42".into());
        }
        if c.in_reply_to.contains(&self.offer_message_id)
            || c.references.contains(&self.offer_message_id)
        {
            l.offer = Some("A-7".into());
        }
        if c.recipients
            .iter()
            .any(|r| r.address == "billing@example.test")
        {
            l.invoice = Some("R-9".into());
        }
        l
    }
}

#[tokio::test]
async fn sent_mail_is_received_once_with_links_through_the_public_api() {
    let Some(sv) = servers() else { return };
    let offer_id = format!("{}@example.test", unique("offer"));
    let sender = SmtpSender::new(sv.smtp("frank"), None).unwrap();
    let receipt = sender
        .send(&OutgoingMail {
            from: Mailbox::new("frank@example.test"),
            to: vec![Mailbox::new("erin@example.test")],
            subject: "Re: Angebot [P-42]".into(),
            text: Some("Einverstanden.".into()),
            in_reply_to: Some(offer_id.clone()),
            references: vec![offer_id.clone()],
            ..OutgoingMail::default()
        })
        .await
        .unwrap();
    common::wait_for(&sv, "erin", "INBOX", &receipt.message_id).await;
    let dir = tempfile::tempdir().unwrap();
    let receiver = ImapReceiver::new("acct-erin", sv.imap("erin"), checkpoints(&dir));
    let sink = MemorySink::default();
    let hook = CrmLinks {
        offer_message_id: offer_id.clone(),
    };
    let report = receiver.receive(&sink, &hook).await.unwrap();
    assert!(report.stored >= 1);
    let mails = sink.mails.lock().unwrap();
    let got = mails
        .iter()
        .find(|m| m.message_id == receipt.message_id)
        .unwrap();
    assert_eq!(
        got.links,
        MailLinks {
            customer: Some("K-1".into()),
            project: Some("P-42".into()),
            offer: Some("A-7".into()),
            invoice: None,
            contact_person: None,
        }
    );
    assert_eq!(got.in_reply_to, vec![offer_id.clone()]);
    assert_eq!(got.references, vec![offer_id]);
}

#[tokio::test]
async fn without_idle_uidplus_and_move_the_fallbacks_work() {
    let Some(sv) = servers() else { return };
    let Some(basic) = sv.basic_imap("alice") else {
        eprintln!("skipped: MAIL_TEST_BASIC_HOST not set (run scripts/test.sh)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // delete without UIDPLUS: flag, then EXPUNGE after the chunk
    let folder = fresh_folder(&sv, "alice", "basic-delete").await;
    let batch: Vec<Vec<u8>> = messages("basic-delete", 3)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    append(&sv, "alice", &folder, &batch).await;
    let mut settings = basic.clone();
    settings.inbox = folder.clone();
    settings.after_receive = AfterReceive::Delete;
    settings.fetch_chunk = 2;
    let receiver = ImapReceiver::new("acct-basic-delete", settings, checkpoints(&dir));
    let sink = MemorySink::default();
    assert_eq!(
        receiver
            .receive(&sink, &NoLinks)
            .await
            .unwrap()
            .acknowledged,
        3
    );
    assert!(folder_state(&sv, "alice", &folder).await.0.is_empty());
    // move without MOVE: copy, flag, expunge
    let folder = fresh_folder(&sv, "alice", "basic-src").await;
    let target = fresh_folder(&sv, "alice", "basic-dst").await;
    let batch: Vec<Vec<u8>> = messages("basic-move", 2)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    append(&sv, "alice", &folder, &batch).await;
    let mut settings = basic.clone();
    settings.inbox = folder.clone();
    settings.after_receive = AfterReceive::MoveTo(target.clone());
    let receiver = ImapReceiver::new("acct-basic-move", settings, checkpoints(&dir));
    assert_eq!(
        receiver
            .receive(&sink, &NoLinks)
            .await
            .unwrap()
            .acknowledged,
        2
    );
    assert!(folder_state(&sv, "alice", &folder).await.0.is_empty());
    assert_eq!(folder_state(&sv, "alice", &target).await.0.len(), 2);
    // waiting without IDLE polls
    let mut settings = basic;
    settings.inbox = target.clone();
    let receiver = Arc::new(ImapReceiver::new(
        "acct-basic-wait",
        settings,
        checkpoints(&dir),
    ));
    receiver
        .receive(&MemorySink::default(), &NoLinks)
        .await
        .unwrap();
    assert_eq!(
        receiver
            .wait_for_mail(Duration::from_millis(700))
            .await
            .unwrap(),
        WaitOutcome::Timeout
    );
    let r = receiver.clone();
    let waiter = tokio::spawn(async move { r.wait_for_mail(Duration::from_secs(15)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    append(
        &sv,
        "alice",
        &target,
        &[raw_message(&format!("{}@t", unique("poll")), "poll")],
    )
    .await;
    assert_eq!(waiter.await.unwrap().unwrap(), WaitOutcome::NewMail);
}
