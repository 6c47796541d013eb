//! The transport against deliberately broken servers: endless and oversized bodies (on the
//! reqwest and the NTLM path), zero Retry-After.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod transport_common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ews_client::transport::{Auth, HttpTransport, RetryPolicy, SoapRequest, TransportError};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use transport_common::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// How a [`BodyServer`] frames its endless answer.
#[derive(Clone, Copy)]
enum Framing {
    /// `Transfer-Encoding: chunked`, chunks for ever (up to 1 GiB).
    Chunked,
    /// `Content-Length: 2 GiB`, then the body slowly.
    Declared,
}

/// A raw HTTP/1.1 server that answers every request with a huge body and counts the
/// requests and the body bytes it managed to write.
struct BodyServer {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    written: Arc<AtomicU64>,
    finished: Arc<AtomicBool>,
}

async fn body_server(framing: Framing) -> BodyServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let written = Arc::new(AtomicU64::new(0));
    let finished = Arc::new(AtomicBool::new(false));
    let (r, w, f) = (requests.clone(), written.clone(), finished.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (r, w, f) = (r.clone(), w.clone(), f.clone());
            tokio::spawn(async move {
                loop {
                    if read_raw_request(&mut stream).await.is_empty() {
                        return;
                    }
                    r.fetch_add(1, Ordering::SeqCst);
                    let head = match framing {
                        Framing::Chunked => "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nTransfer-Encoding: chunked\r\n\r\n".to_owned(),
                        Framing::Declared => format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n",
                            2u64 << 30
                        ),
                    };
                    if stream.write_all(head.as_bytes()).await.is_err() {
                        break;
                    }
                    let chunk = vec![b'x'; 64 * 1024];
                    let mut ok = true;
                    for _ in 0..(1u64 << 30) / chunk.len() as u64 {
                        let result = match framing {
                            Framing::Chunked => {
                                let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
                                framed.extend_from_slice(&chunk);
                                framed.extend_from_slice(b"\r\n");
                                stream.write_all(&framed).await
                            }
                            Framing::Declared => {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                                stream.write_all(&chunk).await
                            }
                        };
                        if result.is_err() {
                            ok = false;
                            break;
                        }
                        w.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                    }
                    if !ok {
                        break;
                    }
                }
                f.store(true, Ordering::SeqCst);
            });
        }
    });
    BodyServer {
        addr,
        requests,
        written,
        finished,
    }
}

const LIMIT: u64 = 1024 * 1024;

async fn refused(framing: Framing, auth: Auth, idempotent: bool) -> (BodyServer, TransportError) {
    let server = body_server(framing).await;
    let url = format!("http://{}/EWS/Exchange.asmx", server.addr);
    // 3 attempts allowed: a refused body must not be fetched again
    let transport = HttpTransport::new(config(&url, auth).with_max_response_bytes(LIMIT)).unwrap();
    let started = Instant::now();
    let err = transport
        .post(SoapRequest {
            idempotent,
            ..request()
        })
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    (server, err)
}

#[tokio::test]
async fn an_endless_body_is_refused_while_streaming_and_not_fetched_again() {
    for auth in [Auth::None, Auth::basic("u", "p"), Auth::ntlm("D\\u", "p")] {
        let scheme = auth.scheme();
        let (server, err) = refused(Framing::Chunked, auth, true).await;
        assert!(
            matches!(
                err,
                TransportError::ResponseTooLarge {
                    limit: LIMIT,
                    declared: None
                }
            ),
            "{scheme}: {err:?}"
        );
        assert!(err.is_limit() && !err.is_transient(), "{err}");
        assert!(err.to_string().contains("1048576"), "{err}");
        assert_eq!(
            server.requests.load(Ordering::SeqCst),
            1,
            "{scheme}: not retried"
        );
        // the client stopped reading: the server could not write the gigabyte
        let deadline = Instant::now() + Duration::from_secs(5);
        while !server.finished.load(Ordering::SeqCst) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            server.finished.load(Ordering::SeqCst),
            "{scheme}: connection not dropped"
        );
        let written = server.written.load(Ordering::SeqCst);
        assert!(
            written < 64 * LIMIT,
            "{scheme}: server wrote {written} bytes"
        );
    }
}

#[tokio::test]
async fn a_declared_huge_body_is_refused_before_reading() {
    for auth in [Auth::None, Auth::ntlm("u", "p")] {
        let started = Instant::now();
        let (server, err) = refused(Framing::Declared, auth, false).await;
        assert!(
            matches!(err, TransportError::ResponseTooLarge { limit: LIMIT, declared: Some(d) } if d == 2 << 30),
            "{err:?}"
        );
        // the body trickles at 64 KiB per 20 ms: 1 MiB would take 320 ms
        assert!(
            started.elapsed() < Duration::from_millis(300),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(server.requests.load(Ordering::SeqCst), 1);
        assert!(!err.is_outcome_unknown(), "a refused answer is an answer");
    }
}

#[tokio::test]
async fn a_body_within_the_limit_passes_and_the_request_can_raise_it() {
    let big = "y".repeat(200 * 1024);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string(big.clone()))
        .mount(&server)
        .await;
    let url = format!("{}/EWS/Exchange.asmx", server.uri());
    let t =
        HttpTransport::new(config(&url, Auth::None).with_max_response_bytes(100 * 1024)).unwrap();
    let err = t.post(request()).await.unwrap_err();
    assert!(
        matches!(err, TransportError::ResponseTooLarge { .. }),
        "{err:?}"
    );
    let ok = t
        .post(request().with_max_response_bytes(300 * 1024))
        .await
        .unwrap();
    assert_eq!(ok.body.len(), big.len());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn retry_after_zero_is_floored_and_grows() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .mount(&server)
        .await;
    let url = format!("{}/EWS/Exchange.asmx", server.uri());
    let t = HttpTransport::new(
        config(&url, Auth::None).with_retry(
            RetryPolicy::default()
                .with_delays(Duration::from_millis(10), Duration::from_secs(5))
                .with_min_server_wait(Duration::from_millis(150))
                .with_jitter(0.0)
                .with_max_attempts(3),
        ),
    )
    .unwrap();
    let started = Instant::now();
    let err = t.post(request()).await.unwrap_err();
    // 150 + 300 ms although the server asked for no wait
    assert_elapsed(started, Duration::from_millis(440), Duration::from_secs(5));
    assert!(err.is_throttled(), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}
