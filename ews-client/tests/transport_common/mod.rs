//! Shared helpers of the transport tests: small real HTTP servers on 127.0.0.1.
#![allow(dead_code, clippy::unwrap_used)] // tests: a panic is a failed test

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ews_client::transport::{Auth, RetryPolicy, SoapRequest, TransportConfig};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpListener;

pub const ACTION: &str = "http://schemas.microsoft.com/exchange/services/2006/messages/GetItem";
pub const ENVELOPE: &str = "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body/></soap:Envelope>";

/// A config for `url` with short timeouts and fast, jitter-free retries.
pub fn config(url: &str, auth: Auth) -> TransportConfig {
    TransportConfig::new(url::Url::parse(url).unwrap(), auth)
        .with_timeout(Duration::from_secs(10))
        .with_connect_timeout(Duration::from_secs(2))
        .with_retry(
            RetryPolicy::default()
                .with_delays(Duration::from_millis(50), Duration::from_millis(400))
                .with_jitter(0.0)
                .with_max_attempts(3),
        )
}

/// An idempotent request with a 10 s deadline.
pub fn request() -> SoapRequest<'static> {
    SoapRequest::new(
        Bytes::from_static(ENVELOPE.as_bytes()),
        ACTION,
        Duration::from_secs(10),
    )
}

/// Per-connection context given to handlers.
#[derive(Clone)]
pub struct Conn {
    /// 0-based index of the accepted connection.
    pub id: usize,
}

/// A running test server.
pub struct Server {
    pub addr: SocketAddr,
    pub connections: Arc<AtomicUsize>,
}

impl Server {
    pub fn url(&self, scheme: &str, host: &str) -> String {
        format!("{scheme}://{host}:{}/EWS/Exchange.asmx", self.addr.port())
    }
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

pub type Handler = Arc<
    dyn Fn(
            Conn,
            http::Request<Bytes>,
        ) -> std::pin::Pin<Box<dyn Future<Output = http::Response<Full<Bytes>>> + Send>>
        + Send
        + Sync,
>;

/// Wraps an async closure as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Conn, http::Request<Bytes>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = http::Response<Full<Bytes>>> + Send + 'static,
{
    Arc::new(move |c, r| Box::pin(f(c, r)))
}

pub fn response(status: u16, body: &str) -> http::Response<Full<Bytes>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "text/xml; charset=utf-8")
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

async fn serve_connection<S>(io: S, conn: Conn, handler: Handler)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
        let handler = handler.clone();
        let conn = conn.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            Ok::<_, Infallible>(handler(conn, http::Request::from_parts(parts, body)).await)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(io), service)
        .await;
}

/// An HTTP/1.1 server on 127.0.0.1 (keep-alive) calling `handler` for every request.
pub async fn serve(handler: Handler) -> Server {
    serve_with_tls(handler, None).await
}

/// Like [`serve`], optionally with TLS.
pub async fn serve_with_tls(handler: Handler, tls: Option<tokio_rustls::TlsAcceptor>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let id = counter.fetch_add(1, Ordering::SeqCst);
            let handler = handler.clone();
            let tls = tls.clone();
            tokio::spawn(async move {
                let conn = Conn { id };
                match tls {
                    Some(acceptor) => {
                        if let Ok(stream) = acceptor.accept(stream).await {
                            serve_connection(stream, conn, handler).await;
                        }
                    }
                    None => serve_connection(stream, conn, handler).await,
                }
            });
        }
    });
    Server { addr, connections }
}

/// Reads one HTTP/1.1 request (headers and Content-Length body) from a raw stream.
pub async fn read_raw_request<S: AsyncRead + Unpin>(stream: &mut S) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return buf;
            }
        }
        let n = stream.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return buf;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Tracks requests in flight, overall and per key.
#[derive(Default)]
pub struct InFlight {
    current: AtomicUsize,
    max: AtomicUsize,
    per_key: std::sync::Mutex<std::collections::HashMap<String, (usize, usize)>>,
}

impl InFlight {
    pub fn enter(&self, key: &str) {
        let now = self.current.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        let mut map = self.per_key.lock().unwrap();
        let entry = map.entry(key.to_owned()).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(entry.0);
    }
    pub fn leave(&self, key: &str) {
        self.current.fetch_sub(1, Ordering::SeqCst);
        self.per_key.lock().unwrap().get_mut(key).unwrap().0 -= 1;
    }
    pub fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
    pub fn max_for(&self, key: &str) -> usize {
        self.per_key
            .lock()
            .unwrap()
            .get(key)
            .map(|e| e.1)
            .unwrap_or(0)
    }
}

/// Asserts `elapsed` lies in `[min, max]` (generous bounds for a loaded machine).
pub fn assert_elapsed(started: Instant, min: Duration, max: Duration) {
    let elapsed = started.elapsed();
    assert!(
        elapsed >= min && elapsed <= max,
        "elapsed {elapsed:?} not within [{min:?}, {max:?}]"
    );
}
