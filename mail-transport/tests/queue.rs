//! The persistent send queue: throttle "after N mails delay M minutes", restarts, failures.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use common::{addr, servers, unique, wait_for};
use mail_transport::{
    BuiltMail, MailError, MailSender, Mailbox, OutgoingMail, SendQueue, SendReceipt, SmtpSender,
    Throttle, TransferEncoding,
};

fn built(from: &str, to: &str, subject: &str) -> BuiltMail {
    OutgoingMail {
        from: Mailbox::new(from),
        to: vec![Mailbox::new(to)],
        subject: subject.into(),
        text: Some("queued".into()),
        ..OutgoingMail::default()
    }
    .build(TransferEncoding::Auto)
    .unwrap()
}

#[tokio::test]
async fn throttled_mail_waits_survives_a_restart_and_is_sent_later() {
    let Some(sv) = servers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("queue.sqlite");
    let throttle = Throttle::new(2, Duration::from_secs(600)).unwrap();
    let sender = SmtpSender::new(sv.smtp("ivan"), None).unwrap();
    let mails: Vec<BuiltMail> = (0..3)
        .map(|i| {
            built(
                &addr("ivan"),
                &addr("judy"),
                &unique(&format!("queued-{i}")),
            )
        })
        .collect();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap();
    {
        let queue = SendQueue::open(&db, "ivan", Some(throttle)).unwrap();
        for m in &mails {
            queue.enqueue(m).unwrap();
        }
        let run = queue.run_at(&sender, t0).await.unwrap();
        assert_eq!(run.sent.len(), 2);
        assert_eq!(run.remaining, 1);
        assert_eq!(
            run.throttled_until,
            Some(t0 + chrono::Duration::minutes(10))
        );
    } // "restart"
    let queue = SendQueue::open(&db, "ivan", Some(throttle)).unwrap();
    assert_eq!(queue.pending().unwrap(), 1);
    let run = queue
        .run_at(&sender, t0 + chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert!(run.sent.is_empty(), "still throttled after the restart");
    assert_eq!(
        run.throttled_until,
        Some(t0 + chrono::Duration::minutes(10))
    );
    let run = queue
        .run_at(&sender, t0 + chrono::Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(run.sent.len(), 1);
    assert_eq!(run.remaining, 0);
    for m in &mails {
        wait_for(&sv, "judy", "INBOX", &m.message_id).await;
    }
}

/// Fails with the given errors first, then accepts.
struct ScriptedSender {
    errors: Mutex<Vec<MailError>>,
    sent: Mutex<Vec<String>>,
}

#[async_trait]
impl MailSender for ScriptedSender {
    async fn send(&self, mail: &OutgoingMail) -> Result<SendReceipt, MailError> {
        self.send_built(&mail.build(TransferEncoding::Auto)?).await
    }
    async fn send_built(&self, mail: &BuiltMail) -> Result<SendReceipt, MailError> {
        if let Some(e) = self.errors.lock().unwrap().pop() {
            return Err(e);
        }
        self.sent.lock().unwrap().push(mail.message_id.clone());
        Ok(SendReceipt {
            message_id: mail.message_id.clone(),
            server_response: "250 ok".into(),
            stored_copy: None,
            copy_error: None,
        })
    }
}

#[tokio::test]
async fn transient_failures_are_retried_later_permanent_ones_are_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("queue.sqlite");
    let t0 = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap();
    let a = built("a@example.test", "b@example.test", "first");
    let b = built("a@example.test", "b@example.test", "second");
    let sender = ScriptedSender {
        // popped from the end: first a network error, then a permanent rejection
        errors: Mutex::new(vec![
            MailError::Rejected {
                code: 550,
                message: "no such user".into(),
                transient: false,
            },
            MailError::network("x:25", "reset"),
        ]),
        sent: Mutex::new(Vec::new()),
    };
    {
        let queue = SendQueue::open(&db, "acct", None).unwrap();
        queue.enqueue(&a).unwrap();
        queue.enqueue(&b).unwrap();
        let run = queue.run_at(&sender, t0).await.unwrap();
        assert!(run.deferred.is_some());
        assert!(run.sent.is_empty());
        assert_eq!(run.remaining, 2);
        // the first message is not due again yet; the second goes on and is rejected
        let run = queue
            .run_at(&sender, t0 + chrono::Duration::seconds(10))
            .await
            .unwrap();
        assert!(run.sent.is_empty() && run.deferred.is_none());
        assert_eq!(run.failed.len(), 1);
        assert!(run.failed[0].1.contains("no such user"));
        assert_eq!(run.remaining, 1);
    }
    // after a restart, once its backoff has passed, the first message is sent
    let queue = SendQueue::open(&db, "acct", None).unwrap();
    let run = queue
        .run_at(&sender, t0 + chrono::Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(run.sent.len(), 1);
    assert_eq!(run.sent[0].message_id, a.message_id);
    assert_eq!(run.remaining, 0);
    let sent = sender.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    // queues of other accounts in the same file are separate
    let other = SendQueue::open(&db, "other", None).unwrap();
    assert_eq!(other.pending().unwrap(), 0);
}

#[test]
fn throttle_is_validated() {
    assert!(Throttle::new(0, Duration::from_secs(60)).is_err());
    assert!(Throttle::new(5, Duration::ZERO).is_err());
    let t = Throttle::new(5, Duration::from_secs(60)).unwrap();
    assert_eq!((t.after_mails(), t.delay()), (5, Duration::from_secs(60)));
}
