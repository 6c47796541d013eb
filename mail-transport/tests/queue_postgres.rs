//! The send queue in PostgreSQL shared by several workers (feature `postgres`): one worker
//! at a time per account, every message exactly once, the throttle across workers, a worker
//! stopped mid-run releases the account; migrations; the synchronous API's runtime rules.
//! Skipped without CONAKTIV_TEST_POSTGRES_URL (failed with POSTGRES_REQUIRED=1).
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod pgtest;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use mail_transport::{
    BuiltMail, MailError, MailSender, Mailbox, OutgoingMail, SendQueue, SendReceipt, Throttle,
    TransferEncoding,
};

fn built(subject: &str) -> BuiltMail {
    OutgoingMail {
        from: Mailbox::new("a@example.test"),
        to: vec![Mailbox::new("b@example.test")],
        subject: subject.into(),
        text: Some("queued".into()),
        ..OutgoingMail::default()
    }
    .build(TransferEncoding::Auto)
    .unwrap()
}

fn receipt(mail: &BuiltMail) -> SendReceipt {
    SendReceipt {
        message_id: mail.message_id.clone(),
        server_response: "250 ok".into(),
        stored_copy: None,
        copy_error: None,
    }
}

/// A slow mail server shared by every worker: records each message sent and how many
/// sends were in flight at once.
#[derive(Default)]
struct SharedServer {
    sent: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

#[async_trait]
impl MailSender for SharedServer {
    async fn send(&self, mail: &OutgoingMail) -> Result<SendReceipt, MailError> {
        self.send_built(&mail.build(TransferEncoding::Auto)?).await
    }
    async fn send_built(&self, mail: &BuiltMail) -> Result<SendReceipt, MailError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(15)).await;
        self.sent.lock().unwrap().push(mail.message_id.clone());
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        Ok(receipt(mail))
    }
}

/// Two workers (two pools) on one account until the queue is empty; returns how often one
/// found the account busy.
async fn drain_with_two_workers(
    a: &SendQueue,
    b: &SendQueue,
    server: &SharedServer,
    now: chrono::DateTime<Utc>,
) -> (usize, usize) {
    let worker = |q: SendQueue| async move {
        let mut busy = 0;
        let mut sent = 0;
        loop {
            let run = q.run_at(server, now).await.unwrap();
            sent += run.sent.len();
            if run.busy {
                busy += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
                continue;
            }
            if run.remaining == 0 || run.throttled_until.is_some() {
                return (busy, sent);
            }
        }
    };
    let ((busy_a, sent_a), (busy_b, sent_b)) = tokio::join!(worker(a.clone()), worker(b.clone()));
    (busy_a + busy_b, sent_a + sent_b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_send_every_message_exactly_once_one_at_a_time() {
    let Some(url) = pgtest::url() else { return };
    let db = pgtest::scratch_database(&url).await;
    let a = SendQueue::postgres(pgtest::pool(&db, 4), "shared", None)
        .await
        .unwrap();
    let b = SendQueue::postgres(pgtest::pool(&db, 4), "shared", None)
        .await
        .unwrap();
    let mails: Vec<BuiltMail> = (0..20).map(|i| built(&format!("m{i}"))).collect();
    for m in &mails {
        a.enqueue_async(m).await.unwrap();
    }
    let server = SharedServer::default();
    let (busy, sent) = drain_with_two_workers(&a, &b, &server, Utc::now()).await;
    let sent_ids = server.sent.lock().unwrap().clone();
    assert_eq!(sent, 20);
    assert_eq!(sent_ids.len(), 20, "every message exactly once");
    let unique: HashSet<&String> = sent_ids.iter().collect();
    assert_eq!(unique.len(), 20, "no message twice");
    let expected: Vec<String> = mails.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(sent_ids, expected, "in queue order");
    assert_eq!(server.max_in_flight.load(Ordering::SeqCst), 1);
    assert!(
        busy > 0,
        "the workers did overlap: one found the account busy"
    );
    assert_eq!(b.pending_async().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_throttle_holds_across_workers() {
    let Some(url) = pgtest::url() else { return };
    let db = pgtest::scratch_database(&url).await;
    let throttle = Some(Throttle::new(3, Duration::from_secs(600)).unwrap());
    let a = SendQueue::postgres(pgtest::pool(&db, 4), "shared", throttle)
        .await
        .unwrap();
    let b = SendQueue::postgres(pgtest::pool(&db, 4), "shared", throttle)
        .await
        .unwrap();
    let mails: Vec<BuiltMail> = (0..10).map(|i| built(&format!("t{i}"))).collect();
    for m in &mails {
        b.enqueue_async(m).await.unwrap();
    }
    let server = SharedServer::default();
    let t0 = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
    let mut per_round = Vec::new();
    for round in 0..4 {
        let now = t0 + chrono::Duration::minutes(10 * round);
        let (_, sent) = drain_with_two_workers(&a, &b, &server, now).await;
        per_round.push(sent);
        // halfway through the pause nothing is sent by either worker
        let later = now + chrono::Duration::minutes(5);
        let (_, sent) = drain_with_two_workers(&a, &b, &server, later).await;
        assert_eq!(sent, 0, "round {round}: the pause holds for both workers");
    }
    assert_eq!(
        per_round,
        vec![3, 3, 3, 1],
        "at most 3 sends before each pause"
    );
    let sent_ids = server.sent.lock().unwrap().clone();
    let unique: HashSet<&String> = sent_ids.iter().collect();
    assert_eq!((sent_ids.len(), unique.len()), (10, 10));
    assert_eq!(server.max_in_flight.load(Ordering::SeqCst), 1);
}

/// Accepts nothing: signals that a send started, then waits forever (a worker stuck or
/// killed mid-send).
struct Stuck {
    started: tokio::sync::Notify,
}

#[async_trait]
impl MailSender for Stuck {
    async fn send(&self, mail: &OutgoingMail) -> Result<SendReceipt, MailError> {
        self.send_built(&mail.build(TransferEncoding::Auto)?).await
    }
    async fn send_built(&self, _mail: &BuiltMail) -> Result<SendReceipt, MailError> {
        self.started.notify_one();
        std::future::pending().await
    }
}

/// Runs `queue` until it is not busy (at most 10 s: the server notices a closed session
/// at once, but asynchronously).
async fn run_when_free(queue: &SendQueue, sender: &dyn MailSender) -> mail_transport::QueueRun {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let run = queue.run(sender).await.unwrap();
        if !run.busy {
            return run;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the account stays locked"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_mid_run_releases_the_account() {
    let Some(url) = pgtest::url() else { return };
    let db = pgtest::scratch_database(&url).await;
    let pool_a = pgtest::pool(&db, 2);
    let a = SendQueue::postgres(pool_a.clone(), "acct", None)
        .await
        .unwrap();
    let b = SendQueue::postgres(pgtest::pool(&db, 2), "acct", None)
        .await
        .unwrap();
    let first = built("first");
    a.enqueue_async(&first).await.unwrap();

    let stuck = Arc::new(Stuck {
        started: tokio::sync::Notify::new(),
    });
    let task = {
        let (a, stuck) = (a.clone(), stuck.clone());
        tokio::spawn(async move { a.run(&*stuck).await })
    };
    stuck.started.notified().await;
    // while worker a is sending, worker b may not touch the account
    let server = SharedServer::default();
    let run = b.run(&server).await.unwrap();
    assert!(run.busy, "{run:?}");
    assert!(run.sent.is_empty());
    assert_eq!(run.remaining, 1);
    // worker a stops mid-run (its pool lives on, as in a process that drops one job)
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let run = run_when_free(&b, &server).await;
    // at least once: the message a was sending is sent by b
    assert_eq!(run.sent.len(), 1);
    assert_eq!(run.sent[0].message_id, first.message_id);
    assert_eq!(run.remaining, 0);
    // worker a's pool still works, and a finished run of b left the account free for a
    a.enqueue_async(&built("second")).await.unwrap();
    let run = run_when_free(&a, &server).await;
    assert_eq!(run.sent.len(), 1);
    assert_eq!(pool_a.status().size, pool_a.status().available);

    // a worker whose whole pool goes away mid-run (a process ending) releases it as well
    let third = built("third");
    b.enqueue_async(&third).await.unwrap();
    let c = SendQueue::postgres(pgtest::pool(&db, 2), "acct", None)
        .await
        .unwrap();
    let stuck = Arc::new(Stuck {
        started: tokio::sync::Notify::new(),
    });
    {
        let run = c.run(&*stuck);
        tokio::pin!(run);
        tokio::select! {
            _ = &mut run => panic!("the stuck send finished"),
            () = stuck.started.notified() => {}
        }
        assert!(b.run(&server).await.unwrap().busy);
    } // the run's future is dropped here
    drop(c);
    let run = run_when_free(&b, &server).await;
    assert_eq!(run.sent.len(), 1);
    assert_eq!(run.sent[0].message_id, third.message_id);
    let sent = server.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_starting_at_once_migrate_once_and_other_accounts_are_not_blocked() {
    let Some(url) = pgtest::url() else { return };
    let db = pgtest::scratch_database(&url).await;
    let opens = (0..4).map(|i| {
        let db = db.clone();
        async move {
            SendQueue::postgres(pgtest::pool(&db, 2), format!("acct{i}"), None)
                .await
                .unwrap()
        }
    });
    let queues = futures::future::join_all(opens).await;
    let (client, connection) = db.connect(tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let version: i64 = client
        .query_one(
            "SELECT version FROM conaktiv_schema WHERE component = $1",
            &[&mail_transport::SEND_QUEUE_PG_COMPONENT],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 1);
    // a newer schema than this build knows is refused
    client
        .execute(
            "UPDATE conaktiv_schema SET version = 99 WHERE component = 'mail_send_queue'",
            &[],
        )
        .await
        .unwrap();
    let err = SendQueue::postgres(pgtest::pool(&db, 1), "x", None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("version 99"), "{err}");
    client
        .execute(
            "UPDATE conaktiv_schema SET version = 1 WHERE component = 'mail_send_queue'",
            &[],
        )
        .await
        .unwrap();
    // one account stuck mid-run does not hold up another
    queues[0].enqueue_async(&built("a")).await.unwrap();
    queues[1].enqueue_async(&built("b")).await.unwrap();
    let stuck = Arc::new(Stuck {
        started: tokio::sync::Notify::new(),
    });
    let task = {
        let (q, stuck) = (queues[0].clone(), stuck.clone());
        tokio::spawn(async move { q.run(&*stuck).await })
    };
    stuck.started.notified().await;
    let server = SharedServer::default();
    let run = queues[1].run(&server).await.unwrap();
    assert!(!run.busy);
    assert_eq!(run.sent.len(), 1);
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_api_works_in_a_multi_thread_runtime() {
    let Some(url) = pgtest::url() else { return };
    let db = pgtest::scratch_database(&url).await;
    let q = SendQueue::postgres(pgtest::pool(&db, 2), "sync", None)
        .await
        .unwrap();
    let id1 = q.enqueue(&built("s1")).unwrap();
    let id2 = q.enqueue(&built("s2")).unwrap();
    assert!(id2 > id1);
    assert_eq!(q.pending().unwrap(), 2);
    assert_eq!(q.pending_async().await.unwrap(), 2);
}

#[tokio::test]
async fn the_sync_api_in_a_current_thread_runtime_is_an_error_not_a_panic() {
    let Some(url) = pgtest::url() else { return };
    let db = pgtest::scratch_database(&url).await;
    let q = SendQueue::postgres(pgtest::pool(&db, 2), "sync", None)
        .await
        .unwrap();
    let err = q.enqueue(&built("s1")).unwrap_err();
    assert!(matches!(err, MailError::Storage { .. }), "{err:?}");
    assert!(err.to_string().contains("enqueue_async"), "{err}");
    let err = q.pending().unwrap_err();
    assert!(err.to_string().contains("pending_async"), "{err}");
    assert_eq!(q.pending_async().await.unwrap(), 0, "nothing was queued");
}

#[test]
fn the_sync_api_outside_a_runtime_is_an_error_not_a_panic() {
    let Some(url) = pgtest::url() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let q = rt.block_on(async {
        let db = pgtest::scratch_database(&url).await;
        SendQueue::postgres(pgtest::pool(&db, 2), "sync", None)
            .await
            .unwrap()
    });
    assert!(q.pending().is_err());
    assert!(q.enqueue(&built("x")).is_err());
    assert_eq!(rt.block_on(q.pending_async()).unwrap(), 0);
    assert!(format!("{q:?}").contains("postgres"));
}
