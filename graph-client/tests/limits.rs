//! Per-mailbox limits against a small in-test axum server that counts requests in flight:
//! at most 4 concurrent requests per mailbox, and the request budget per window.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;

#[derive(Default)]
struct Counters {
    in_flight: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    max_per_mailbox: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    total: AtomicUsize,
}

async fn calendars(
    State(counters): State<Arc<Counters>>,
    Path(user): Path<String>,
) -> axum::Json<serde_json::Value> {
    counters.total.fetch_add(1, Ordering::SeqCst);
    {
        let mut in_flight = counters.in_flight.lock().unwrap();
        let n = in_flight.entry(user.clone()).or_default();
        *n += 1;
        let mut max = counters.max_per_mailbox.lock().unwrap();
        let m = max.entry(user.clone()).or_default();
        *m = (*m).max(*n);
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    *counters.in_flight.lock().unwrap().get_mut(&user).unwrap() -= 1;
    axum::Json(serde_json::json!({"value": []}))
}

async fn start() -> (String, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route("/v1.0/users/{user}/calendars", get(calendars))
        .with_state(counters.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), counters)
}

#[tokio::test]
async fn at_most_four_requests_per_mailbox_are_in_flight() {
    let (uri, counters) = start().await;
    let (client, _) = common::client(&uri);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let mailbox = client.mailbox(if i % 2 == 0 {
            "anna@contoso.com"
        } else {
            "bob@contoso.com"
        });
        tasks.push(tokio::spawn(async move { mailbox.calendars().await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let max = counters.max_per_mailbox.lock().unwrap().clone();
    assert_eq!(max["anna@contoso.com"], 4, "{max:?}");
    assert_eq!(max["bob@contoso.com"], 4, "{max:?}");
    assert_eq!(counters.total.load(Ordering::SeqCst), 24);
}

#[tokio::test]
async fn the_request_budget_waits_within_the_deadline_and_fails_beyond_it() {
    let (uri, counters) = start().await;
    let tokens = Arc::new(common::CountingTokens::default());
    let client = graph_client::Client::new(
        common::config(&uri, tokens.clone())
            .with_budget(3, Duration::from_millis(400))
            .with_timeouts(Duration::from_secs(5), Duration::from_secs(5)),
    )
    .unwrap();
    let mailbox = client.mailbox("anna@contoso.com");
    let started = std::time::Instant::now();
    for _ in 0..4 {
        mailbox.calendars().await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "4th request waited for the window"
    );

    let client = graph_client::Client::new(
        common::config(&uri, tokens)
            .with_budget(2, Duration::from_secs(600))
            .with_timeouts(Duration::from_secs(1), Duration::from_secs(1)),
    )
    .unwrap();
    let mailbox = client.mailbox("carl@contoso.com");
    mailbox.calendars().await.unwrap();
    mailbox.calendars().await.unwrap();
    let before = counters.total.load(Ordering::SeqCst);
    let err = mailbox.calendars().await.unwrap_err();
    assert!(err.is_throttled() && err.is_transient(), "{err}");
    assert!(err.retry_after().unwrap() > Duration::from_secs(590));
    assert_eq!(
        counters.total.load(Ordering::SeqCst),
        before,
        "nothing sent"
    );
    // Another mailbox has its own budget.
    client
        .mailbox("dora@contoso.com")
        .calendars()
        .await
        .unwrap();
}
