//! Transport tests: headers, HTTP throttling with Retry-After, back-off, deadline,
//! outcome-unknown handling and concurrency limits.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod transport_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use ews_client::transport::{Auth, HttpTransport, RetryPolicy, SoapRequest, TransportError};
use tokio::io::AsyncWriteExt;
use transport_common::*;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ews_path() -> wiremock::matchers::PathExactMatcher {
    path("/EWS/Exchange.asmx")
}

fn transport(server: &MockServer, auth: Auth) -> HttpTransport {
    HttpTransport::new(config(&format!("{}/EWS/Exchange.asmx", server.uri()), auth)).unwrap()
}

#[tokio::test]
async fn basic_auth_and_soap_headers_are_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(ews_path())
        // base64("svc-crm@contoso.com:Pa55:word")
        .and(header(
            "authorization",
            "Basic c3ZjLWNybUBjb250b3NvLmNvbTpQYTU1OndvcmQ=",
        ))
        .and(header("x-anchormailbox", "alice@contoso.com"))
        .and(header("soapaction", format!("\"{ACTION}\"").as_str()))
        .and(header("content-type", "text/xml; charset=utf-8"))
        .and(body_string(ENVELOPE))
        .respond_with(ResponseTemplate::new(200).set_body_string("<ok/>"))
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server, Auth::basic("svc-crm@contoso.com", "Pa55:word"));
    let response = t
        .post(request().with_anchor_mailbox("alice@contoso.com"))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body, Bytes::from_static(b"<ok/>"));
}

#[tokio::test]
async fn soap_fault_statuses_are_returned_to_the_caller() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<fault/>"))
        .expect(1)
        .mount(&server)
        .await;
    let response = transport(&server, Auth::None)
        .post(request())
        .await
        .unwrap();
    assert_eq!(
        (response.status, response.body.as_ref()),
        (500, b"<fault/>".as_ref())
    );
}

#[tokio::test]
async fn basic_401_is_an_auth_error_without_the_password() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let err = transport(&server, Auth::basic("bob", "TopSecret!"))
        .post(request())
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert!(!err.is_transient());
    let text = format!("{err} {err:?}");
    assert!(!text.contains("TopSecret!"), "{text}");
}

/// Data-driven: (status, Retry-After header, expected minimum wait).
#[tokio::test]
async fn throttling_waits_for_retry_after_then_succeeds() {
    let cases: Vec<(u16, Option<String>, Duration)> = vec![
        (503, Some("1".to_owned()), Duration::from_millis(950)),
        (429, Some("1".to_owned()), Duration::from_millis(950)),
        // HTTP date: second granularity, so at least ~1 s.
        (429, Some("DATE+2s".to_owned()), Duration::from_millis(900)),
        // no Retry-After: policy back-off, 50 ms (jitter off)
        (503, None, Duration::from_millis(45)),
    ];
    for (status, retry_after, min_wait) in cases {
        let server = MockServer::start().await;
        let mut throttled = ResponseTemplate::new(status);
        if let Some(value) = &retry_after {
            let value = if value == "DATE+2s" {
                httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2))
            } else {
                value.clone()
            };
            throttled = throttled.insert_header("retry-after", value.as_str());
        }
        Mock::given(method("POST"))
            .respond_with(throttled)
            .up_to_n_times(1)
            .with_priority(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string("<ok/>"))
            .expect(1)
            .mount(&server)
            .await;
        let started = Instant::now();
        let response = transport(&server, Auth::None)
            .post(request())
            .await
            .unwrap();
        assert_eq!(response.status, 200, "case {status} {retry_after:?}");
        assert_elapsed(started, min_wait, Duration::from_secs(6));
        server.verify().await;
    }
}

#[tokio::test]
async fn throttling_without_retry_after_backs_off_exponentially() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let cfg = config(&format!("{}/EWS/Exchange.asmx", server.uri()), Auth::None).with_retry(
        RetryPolicy::default()
            .with_delays(Duration::from_millis(200), Duration::from_secs(5))
            .with_jitter(0.0)
            .with_max_attempts(5),
    );
    let started = Instant::now();
    // 503 means "not processed": safe to repeat even a non-idempotent request
    let response = HttpTransport::new(cfg)
        .unwrap()
        .post(request().non_idempotent())
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    // 200 ms + 400 ms
    assert_elapsed(started, Duration::from_millis(580), Duration::from_secs(5));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn persistent_throttling_gives_up_after_max_attempts_with_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .expect(3)
        .mount(&server)
        .await;
    let err = transport(&server, Auth::None)
        .post(request())
        .await
        .unwrap_err();
    assert!(err.is_throttled() && err.is_transient(), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    assert!(matches!(
        err,
        TransportError::Throttled {
            status: 429,
            attempts: 3,
            ..
        }
    ));
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_fails_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "30"))
        .expect(1)
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = transport(&server, Auth::None)
        .post(request().with_deadline(Instant::now() + Duration::from_secs(3)))
        .await
        .unwrap_err();
    assert_elapsed(started, Duration::ZERO, Duration::from_secs(2));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
}

#[tokio::test]
async fn deadline_bounds_a_slow_server() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let t = transport(&server, Auth::None);
    for idempotent in [true, false] {
        let started = Instant::now();
        let err = t
            .post(
                SoapRequest {
                    idempotent,
                    ..request()
                }
                .with_deadline(Instant::now() + Duration::from_millis(400)),
            )
            .await
            .unwrap_err();
        assert_elapsed(started, Duration::from_millis(350), Duration::from_secs(3));
        assert!(err.is_timeout(), "{err:?}");
        // A non-idempotent request was sent: the caller must reconcile.
        assert_eq!(err.is_outcome_unknown(), !idempotent, "{err:?}");
    }
    // an already expired deadline sends nothing
    let before = server.received_requests().await.unwrap().len();
    let err = t
        .post(request().with_deadline(Instant::now()))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn connection_refused_is_retried_with_back_off_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let t = HttpTransport::new(config(
        &format!("http://127.0.0.1:{port}/EWS/Exchange.asmx"),
        Auth::None,
    ))
    .unwrap();
    let started = Instant::now();
    let err = t.post(request().non_idempotent()).await.unwrap_err();
    // 50 + 100 ms back-off between three attempts; nothing was sent, so even a
    // non-idempotent request is retried.
    assert_elapsed(started, Duration::from_millis(140), Duration::from_secs(5));
    assert!(
        matches!(err, TransportError::Connect { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(err.is_transient() && !err.is_outcome_unknown());
}

/// A raw server that reads the first request completely and closes the socket without
/// answering; later connections get a 200.
async fn dropping_server() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/EWS/Exchange.asmx",
        listener.local_addr().unwrap()
    );
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let request = read_raw_request(&mut stream).await;
                assert!(request.ends_with(ENVELOPE.as_bytes()));
                if n > 0 {
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\n<ok/>")
                        .await;
                }
                let _ = stream.shutdown().await;
            });
        }
    });
    (url, accepted)
}

#[tokio::test]
async fn dropped_non_idempotent_request_is_outcome_unknown_and_not_repeated() {
    let (url, accepted) = dropping_server().await;
    let t = HttpTransport::new(config(&url, Auth::None)).unwrap();
    let err = t.post(request().non_idempotent()).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert!(!err.is_transient());
    assert!(matches!(err, TransportError::OutcomeUnknown { .. }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "must not be sent twice");
}

#[tokio::test]
async fn dropped_idempotent_request_is_retried() {
    let (url, accepted) = dropping_server().await;
    let t = HttpTransport::new(config(&url, Auth::None)).unwrap();
    let response = t.post(request()).await.unwrap();
    assert_eq!(
        (response.status, response.body.as_ref()),
        (200, b"<ok/>".as_ref())
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

async fn in_flight_server(in_flight: Arc<InFlight>) -> Server {
    serve(handler(move |_conn, req| {
        let in_flight = in_flight.clone();
        async move {
            let key = req
                .headers()
                .get("x-anchormailbox")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            in_flight.enter(&key);
            tokio::time::sleep(Duration::from_millis(60)).await;
            in_flight.leave(&key);
            response(200, "<ok/>")
        }
    }))
    .await
}

#[tokio::test]
async fn client_concurrency_limit_is_respected() {
    let in_flight = Arc::new(InFlight::default());
    let server = in_flight_server(in_flight.clone()).await;
    let t = HttpTransport::new(
        config(&server.url("http", "127.0.0.1"), Auth::None).with_max_concurrency(3),
    )
    .unwrap();
    let calls = (0..12).map(|_| {
        let t = t.clone();
        async move { t.post(request()).await.map(|r| r.status) }
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| matches!(r, Ok(200))), "{results:?}");
    assert_eq!(
        in_flight.max(),
        3,
        "at most 3 in flight, and the limit is used"
    );
}

#[tokio::test]
async fn per_mailbox_concurrency_limit_is_respected() {
    let in_flight = Arc::new(InFlight::default());
    let server = in_flight_server(in_flight.clone()).await;
    let t = HttpTransport::new(
        config(&server.url("http", "127.0.0.1"), Auth::None)
            .with_max_concurrency(10)
            .with_max_concurrency_per_mailbox(2),
    )
    .unwrap();
    let mailboxes = ["alice@contoso.com", "bob@contoso.com"];
    let calls = (0..16).map(|i| {
        let t = t.clone();
        let mailbox = mailboxes[i % 2];
        async move {
            t.post(request().with_anchor_mailbox(mailbox))
                .await
                .map(|r| r.status)
        }
    });
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(|r| matches!(r, Ok(200))), "{results:?}");
    for mailbox in mailboxes {
        assert_eq!(in_flight.max_for(mailbox), 2, "{mailbox}");
    }
    let total = in_flight.max();
    assert!((3..=4).contains(&total), "2 mailboxes x 2 permits: {total}");
}

#[tokio::test]
async fn waiting_for_a_permit_respects_the_deadline() {
    let in_flight = Arc::new(InFlight::default());
    let server = in_flight_server(in_flight.clone()).await;
    let t = HttpTransport::new(
        config(&server.url("http", "127.0.0.1"), Auth::None).with_max_concurrency(1),
    )
    .unwrap();
    let busy = {
        let t = t.clone();
        tokio::spawn(async move {
            // holds the only permit for a while: the handler sleeps 60 ms per request
            for _ in 0..5 {
                t.post(request()).await.unwrap();
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let err = t
        .post(request().with_deadline(Instant::now() + Duration::from_millis(10)))
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    busy.await.unwrap();
}

#[test]
fn invalid_configs_are_rejected() {
    let base = |url: &str| config(url, Auth::None);
    let cases = vec![
        base("ftp://host/EWS"),
        base("https://user:pw@host/EWS"),
        base("https://mail.contoso.com/EWS").with_max_concurrency(0),
        base("https://mail.contoso.com/EWS").with_max_concurrency_per_mailbox(0),
        base("https://mail.contoso.com/EWS")
            .with_retry(RetryPolicy::no_retries().with_max_attempts(0)),
        base("https://mail.contoso.com/EWS").with_danger_accept_invalid_certs_on_loopback(),
        base("https://mail.contoso.com/EWS").with_extra_root_certificate(b"garbage".to_vec()),
        base("https://mail.contoso.com/EWS").with_user_agent("bad\nagent"),
    ];
    for cfg in cases {
        let url = cfg.url.to_string();
        let err = HttpTransport::new(cfg).unwrap_err();
        assert!(
            matches!(err, TransportError::InvalidConfig(_)),
            "{url}: {err:?}"
        );
        assert!(!err.to_string().contains("pw@"));
    }
}
