//! The persistent send queue: throttle "after N mails delay M minutes", restarts, failures.
//!
//! The contract tests run on every backend: SQLite always, PostgreSQL with the feature
//! `postgres` when CONAKTIV_TEST_POSTGRES_URL names a server (a scratch database per test).
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;
#[cfg(feature = "postgres")]
mod pgtest;

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

/// A place for queues: each `open` is a new process (a new connection, or pool, to the store).
enum Store {
    Sqlite(tempfile::TempDir),
    #[cfg(feature = "postgres")]
    Postgres(Box<tokio_postgres::Config>),
}

impl Store {
    fn name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Store::Postgres(_) => "postgres",
        }
    }

    async fn open(&self, account: &str, throttle: Option<Throttle>) -> SendQueue {
        match self {
            Store::Sqlite(dir) => {
                SendQueue::open(dir.path().join("queue.sqlite"), account, throttle).unwrap()
            }
            #[cfg(feature = "postgres")]
            Store::Postgres(config) => {
                SendQueue::postgres(pgtest::pool(config, 4), account, throttle)
                    .await
                    .unwrap()
            }
        }
    }
}

/// Every backend to run a contract test on, each with an empty store.
async fn stores() -> Vec<Store> {
    #[allow(unused_mut)]
    let mut stores = vec![Store::Sqlite(tempfile::tempdir().unwrap())];
    #[cfg(feature = "postgres")]
    if let Some(url) = pgtest::url() {
        stores.push(Store::Postgres(Box::new(
            pgtest::scratch_database(&url).await,
        )));
    }
    stores
}

fn accepting() -> ScriptedSender {
    ScriptedSender {
        errors: Mutex::new(Vec::new()),
        sent: Mutex::new(Vec::new()),
    }
}

#[tokio::test]
async fn contract_throttle_holds_mail_across_a_restart_and_releases_it_later() {
    for store in stores().await {
        let name = store.name();
        let throttle = Throttle::new(2, Duration::from_secs(600)).unwrap();
        let sender = accepting();
        let mails: Vec<BuiltMail> = (0..3)
            .map(|i| built("ivan@example.test", "judy@example.test", &format!("t-{i}")))
            .collect();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap();
        {
            let queue = store.open("ivan", Some(throttle)).await;
            let mut ids = Vec::new();
            for m in &mails {
                ids.push(queue.enqueue_async(m).await.unwrap());
            }
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{name}: ids rise");
            assert_eq!(queue.pending_async().await.unwrap(), 3, "{name}");
            let run = queue.run_at(&sender, t0).await.unwrap();
            assert_eq!(run.sent.len(), 2, "{name}");
            assert_eq!(run.remaining, 1, "{name}");
            assert!(!run.busy, "{name}");
            assert_eq!(
                run.throttled_until,
                Some(t0 + chrono::Duration::minutes(10)),
                "{name}"
            );
        } // "restart"
        let queue = store.open("ivan", Some(throttle)).await;
        assert_eq!(queue.pending_async().await.unwrap(), 1, "{name}");
        let run = queue
            .run_at(&sender, t0 + chrono::Duration::minutes(5))
            .await
            .unwrap();
        assert!(
            run.sent.is_empty(),
            "{name}: still throttled after the restart"
        );
        assert_eq!(
            run.throttled_until,
            Some(t0 + chrono::Duration::minutes(10)),
            "{name}"
        );
        let run = queue
            .run_at(&sender, t0 + chrono::Duration::minutes(10))
            .await
            .unwrap();
        assert_eq!(run.sent.len(), 1, "{name}");
        assert_eq!(run.remaining, 0, "{name}");
        assert_eq!(run.throttled_until, None, "{name}");
        // each message once, in queue order, with its bytes intact
        let sent = sender.sent.lock().unwrap().clone();
        let expected: Vec<String> = mails.iter().map(|m| m.message_id.clone()).collect();
        assert_eq!(sent, expected, "{name}");
        // the throttle's count went on after the pause: one more mail is still allowed
        let queue = store.open("ivan", Some(throttle)).await;
        queue
            .enqueue_async(&built("ivan@example.test", "judy@example.test", "t-3"))
            .await
            .unwrap();
        let run = queue
            .run_at(&sender, t0 + chrono::Duration::minutes(11))
            .await
            .unwrap();
        assert_eq!(run.sent.len(), 1, "{name}");
        assert_eq!(
            run.throttled_until, None,
            "{name}: one mail into the new batch"
        );
    }
}

#[tokio::test]
async fn contract_the_message_sent_is_the_message_queued() {
    for store in stores().await {
        let name = store.name();
        /// Records whole messages.
        struct Recorder(Mutex<Vec<BuiltMail>>);
        #[async_trait]
        impl MailSender for Recorder {
            async fn send(&self, mail: &OutgoingMail) -> Result<SendReceipt, MailError> {
                self.send_built(&mail.build(TransferEncoding::Auto)?).await
            }
            async fn send_built(&self, mail: &BuiltMail) -> Result<SendReceipt, MailError> {
                self.0.lock().unwrap().push(mail.clone());
                Ok(SendReceipt {
                    message_id: mail.message_id.clone(),
                    server_response: "250 ok".into(),
                    stored_copy: None,
                    copy_error: None,
                })
            }
        }
        let mut mail = OutgoingMail {
            from: Mailbox::new("a@example.test"),
            to: vec![
                Mailbox::new("b@example.test"),
                Mailbox::new("c@example.test"),
            ],
            subject: "Grüße".into(),
            text: Some("ünïcödé\r\n".into()),
            ..OutgoingMail::default()
        };
        mail.bcc = vec![Mailbox::new("hidden@example.test")];
        let mail = mail.build(TransferEncoding::Auto).unwrap();
        let queue = store.open("acct", None).await;
        queue.enqueue_async(&mail).await.unwrap();
        let recorder = Recorder(Mutex::new(Vec::new()));
        let run = queue.run(&recorder).await.unwrap();
        assert_eq!(run.sent.len(), 1, "{name}");
        let got = recorder.0.lock().unwrap().clone();
        assert_eq!(got.len(), 1, "{name}");
        assert_eq!(got[0].message_id, mail.message_id, "{name}");
        assert_eq!(got[0].envelope_from, mail.envelope_from, "{name}");
        assert_eq!(got[0].envelope_to, mail.envelope_to, "{name}");
        assert_eq!(got[0].envelope_to.len(), 3, "{name}: Bcc in the envelope");
        assert_eq!(got[0].bytes, mail.bytes, "{name}");
    }
}

#[tokio::test]
async fn contract_transient_failures_are_retried_later_permanent_ones_are_set_aside() {
    for store in stores().await {
        let name = store.name();
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
            let queue = store.open("acct", None).await;
            queue.enqueue_async(&a).await.unwrap();
            queue.enqueue_async(&b).await.unwrap();
            let run = queue.run_at(&sender, t0).await.unwrap();
            assert!(run.deferred.is_some(), "{name}");
            assert!(run.sent.is_empty(), "{name}");
            assert_eq!(run.remaining, 2, "{name}");
            // the first message is not due again yet; the second goes on and is rejected
            let run = queue
                .run_at(&sender, t0 + chrono::Duration::seconds(10))
                .await
                .unwrap();
            assert!(run.sent.is_empty() && run.deferred.is_none(), "{name}");
            assert_eq!(run.failed.len(), 1, "{name}");
            assert!(run.failed[0].1.contains("no such user"), "{name}");
            assert_eq!(run.remaining, 1, "{name}");
        }
        // after a restart, once its backoff (60 s after the first failure) has passed, the
        // first message is sent; not before
        let queue = store.open("acct", None).await;
        let run = queue
            .run_at(&sender, t0 + chrono::Duration::seconds(59))
            .await
            .unwrap();
        assert!(run.sent.is_empty(), "{name}: still backing off");
        let run = queue
            .run_at(&sender, t0 + chrono::Duration::minutes(2))
            .await
            .unwrap();
        assert_eq!(run.sent.len(), 1, "{name}");
        assert_eq!(run.sent[0].message_id, a.message_id, "{name}");
        assert_eq!(run.remaining, 0, "{name}");
        let sent = sender.sent.lock().unwrap().clone();
        assert_eq!(sent.len(), 1, "{name}");
        // the failed message is not sent again later
        let run = queue
            .run_at(&sender, t0 + chrono::Duration::days(1))
            .await
            .unwrap();
        assert!(run.sent.is_empty() && run.failed.is_empty(), "{name}");
        // queues of other accounts in the same store are separate
        let other = store.open("other", None).await;
        assert_eq!(other.pending_async().await.unwrap(), 0, "{name}");
        assert_eq!(other.account(), "other");
    }
}

#[tokio::test]
async fn contract_backoff_doubles_with_each_transient_failure() {
    for store in stores().await {
        let name = store.name();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap();
        let sender = ScriptedSender {
            errors: Mutex::new(vec![
                MailError::network("x:25", "reset"),
                MailError::Timeout("sending".into()),
            ]),
            sent: Mutex::new(Vec::new()),
        };
        let queue = store.open("acct", None).await;
        queue
            .enqueue_async(&built("a@example.test", "b@example.test", "x"))
            .await
            .unwrap();
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        assert!(
            queue
                .run_at(&sender, at(0))
                .await
                .unwrap()
                .deferred
                .is_some()
        );
        // first failure at 0: due again at 60; second at 60: due again at 60 + 120
        let run = queue.run_at(&sender, at(59)).await.unwrap();
        assert!(run.deferred.is_none() && run.sent.is_empty(), "{name}");
        assert!(
            queue
                .run_at(&sender, at(60))
                .await
                .unwrap()
                .deferred
                .is_some()
        );
        let run = queue.run_at(&sender, at(179)).await.unwrap();
        assert!(run.deferred.is_none() && run.sent.is_empty(), "{name}");
        let run = queue.run_at(&sender, at(180)).await.unwrap();
        assert_eq!(run.sent.len(), 1, "{name}");
    }
}

#[test]
fn throttle_is_validated() {
    assert!(Throttle::new(0, Duration::from_secs(60)).is_err());
    assert!(Throttle::new(5, Duration::ZERO).is_err());
    let t = Throttle::new(5, Duration::from_secs(60)).unwrap();
    assert_eq!((t.after_mails(), t.delay()), (5, Duration::from_secs(60)));
}
