//! graph-client against deliberately broken and hostile loopback servers (issue 14): huge and
//! endless bodies, echoed secrets, zero `Retry-After`, endless and repeating `nextLink`s, a
//! wrong charset, an unreadable error body.
#![allow(clippy::unwrap_used)]

mod common;

use std::convert::Infallible;
use std::error::Error as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use ews_client::transport::{RetryPolicy, StreamLimits, TransportError};
use graph_client::auth::{self, CertificateCredential};
use graph_client::{Client, DeltaStart, Error};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MB: &str = "/v1.0/users/anna@contoso.com";
const CERT: &[u8] = include_bytes!("data/test-app-cert.pem");
const KEY: &[u8] = include_bytes!("data/test-app-key.pem");

/// An axum server on 127.0.0.1 whose every answer is a body that never ends; counts requests.
async fn endless_server() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let stream = futures::stream::repeat_with(move || Ok::<_, Infallible>(chunk.clone()));
            axum::response::Response::builder()
                .header("content-type", "application/json")
                .body(axum::body::Body::from_stream(stream))
                .unwrap()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), hits)
}

fn assert_limit(err: &Error) {
    assert!(err.is_limit(), "{err:?}");
    assert!(!err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_limit_and_not_downloaded_again() {
    let (uri, hits) = endless_server().await;
    let tokens = Arc::new(common::CountingTokens::default());
    let client =
        Client::new(common::config(&uri, tokens).with_max_response_bytes(1 << 20)).unwrap();
    let mailbox = client.mailbox("anna@contoso.com");
    let err = mailbox.mail_folders().await.unwrap_err();
    assert_limit(&err);
    assert!(
        matches!(
            err,
            Error::Transport(TransportError::ResponseTooLarge {
                limit: 1_048_576,
                declared: None
            })
        ),
        "{err:?}"
    );
    // MIME downloads have their own (larger) limit, also enforced while streaming
    let err = mailbox.message_mime("m1").await.unwrap_err();
    assert_limit(&err);
    assert!(
        matches!(
            err,
            Error::Transport(TransportError::ResponseTooLarge { limit, .. })
                if limit == client.config().max_download_bytes
        ),
        "{err:?}"
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "one request per call, no retry"
    );
}

#[tokio::test]
async fn a_huge_declared_body_is_refused_before_reading_and_downloads_get_more_room() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/messages/m1/$value")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 300_000]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/mailFolders")))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b' '; 300_000]))
        .mount(&server)
        .await;
    let tokens = Arc::new(common::CountingTokens::default());
    let client = Client::new(
        common::config(&server.uri(), tokens)
            .with_max_response_bytes(100_000)
            .with_max_download_bytes(400_000),
    )
    .unwrap();
    let mailbox = client.mailbox("anna@contoso.com");
    let err = mailbox.mail_folders().await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport(TransportError::ResponseTooLarge {
                limit: 100_000,
                declared: Some(300_000)
            })
        ),
        "{err:?}"
    );
    assert_eq!(mailbox.message_mime("m1").await.unwrap().len(), 300_000);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// Form values of a token request, URL-decoded, joined by spaces: what an echoing token
/// endpoint shows (no `name=` prefixes, so only the client's own knowledge can redact them).
fn echo_form(request: &Request) -> String {
    // reversed, so that no value follows the word "bearer" of the assertion type
    let mut values: Vec<String> = url::form_urlencoded::parse(&request.body)
        .map(|(_, v)| v.into_owned())
        .collect();
    values.reverse();
    values.join(" | ")
}

fn assert_clean(err: &Error, secrets: &[&str]) {
    let texts = [err.to_string(), format!("{err:?}"), format!("{:#?}", err)];
    let mut chain = String::new();
    let mut source = err.source();
    while let Some(s) = source {
        chain.push_str(&s.to_string());
        source = s.source();
    }
    for text in texts.iter().chain([&chain]) {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(!text.contains('\0'), "control character: {text:?}");
    }
}

#[tokio::test]
async fn an_echoing_token_endpoint_never_puts_the_client_secret_into_errors() {
    let server = MockServer::start().await;
    let secret = "Sup3r~Secret.Value+/";
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(|req: &Request| {
            ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_client",
                "error_description": format!("AADSTS7000215: invalid secret {}\u{0}", echo_form(req)),
            }))
        })
        .mount(&server)
        .await;
    let mut creds = auth::credentials("contoso", "app-1")
        .with_token_url(url::Url::parse(&format!("{}/token", server.uri())).unwrap());
    creds.client_secret = ews_client::transport::SecretString::from(secret.to_owned());
    let tokens = auth::with_secret(creds).unwrap();
    let client = Client::new(common::config_with(&server.uri(), tokens)).unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    assert!(err.to_string().contains("AADSTS7000215"), "{err}");
    assert_clean(&err, &[secret, "Sup3r~Secret", "Sup3r%7ESecret"]);
}

#[tokio::test]
async fn an_echoing_token_endpoint_never_puts_the_client_assertion_into_errors() {
    let server = MockServer::start().await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(move |req: &Request| {
            let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if let Some((_, jwt)) = form.iter().find(|(k, _)| k == "client_assertion") {
                record.lock().unwrap().push(jwt.clone());
            }
            ResponseTemplate::new(401).set_body_json(json!({
                "error": "invalid_client",
                "error_description": format!("assertion rejected: {}", echo_form(req)),
            }))
        })
        .mount(&server)
        .await;
    let creds = auth::credentials("contoso", "app-1")
        .with_token_url(url::Url::parse(&format!("{}/token", server.uri())).unwrap());
    let tokens =
        auth::certificate(creds, CertificateCredential::from_pem(CERT, KEY).unwrap()).unwrap();
    let client = Client::new(common::config_with(&server.uri(), tokens)).unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    let jwts = seen.lock().unwrap().clone();
    assert!(!jwts.is_empty(), "the token endpoint got an assertion");
    for jwt in &jwts {
        // no piece of the assertion (a truncated one is still a leak)
        let pieces: Vec<&str> = (0..jwt.len().saturating_sub(24))
            .step_by(8)
            .map(|i| &jwt[i..i + 24])
            .collect();
        assert_clean(&err, &pieces);
    }
}

#[tokio::test]
async fn an_api_echoing_the_authorization_header_never_leaks_the_bearer_token() {
    let server = MockServer::start().await;
    let token = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJncmFwaCJ9.c2lnbmF0dXJl";
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(|req: &Request| {
            let auth = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let raw = auth.trim_start_matches("Bearer ").to_owned();
            ResponseTemplate::new(400).set_body_json(json!({
                "error": {
                    "code": format!("Bad{raw}"),
                    "message": format!("header was '{auth}', token:{raw}\u{1b}[31m"),
                    "innerError": {"request-id": raw},
                }
            }))
        })
        .mount(&server)
        .await;
    let mut creds = auth::credentials("contoso", "app-1")
        .with_token_url(url::Url::parse(&format!("{}/token", server.uri())).unwrap());
    creds.client_secret = ews_client::transport::SecretString::from("app-secret-123".to_owned());
    let tokens = auth::with_secret(creds).unwrap();
    let client = Client::new(common::config_with(&server.uri(), tokens)).unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    let api = err.api().expect("a Graph error answer");
    assert_eq!(api.status, 400);
    assert!(api.message.contains("[REDACTED]"), "{api:?}");
    assert!(!api.message.contains('\u{1b}'), "{api:?}");
    assert_clean(&err, &[token, "c2lnbmF0dXJl", "eyJhdWQiOiJncmFwaCJ9"]);

    // a host-supplied provider that shares no scrubber: the client learns the token itself
    let client = Client::new(common::config_with(
        &server.uri(),
        Arc::new(common::LongTokens),
    ))
    .unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.status), Some(400), "{err}");
    assert_clean(&err, &["token-1-abcdefgh"]);
}

#[tokio::test]
async fn a_zero_retry_after_gets_a_growing_floor_and_a_final_throttled_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .mount(&server)
        .await;
    let tokens = Arc::new(common::CountingTokens::default());
    let config = common::config(&server.uri(), tokens).with_retry(
        RetryPolicy::default()
            .with_max_attempts(4)
            .with_jitter(0.0)
            .with_min_server_wait(Duration::from_millis(50)),
    );
    let client = Client::new(config).unwrap();
    let started = Instant::now();
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(err.is_throttled(), "{err:?}");
    assert_eq!(err.retry_after(), Some(Duration::ZERO));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        4,
        "attempt cap"
    );
    // 50 + 100 + 200 ms: a floor, doubled on each repetition
    assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
}

#[tokio::test]
async fn an_endless_next_link_chain_stops_at_the_page_limit() {
    let server = MockServer::start().await;
    let base = server.uri();
    let n = Arc::new(AtomicUsize::new(0));
    let counter = n.clone();
    Mock::given(method("GET"))
        .and(path(format!("{MB}/mailFolders")))
        .respond_with(move |_: &Request| {
            let i = counter.fetch_add(1, Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(json!({
                "value": [{"id": format!("f{i}")}],
                "@odata.nextLink": format!("{base}{MB}/mailFolders?$skip={}", i + 1),
            }))
        })
        .mount(&server)
        .await;
    let tokens = Arc::new(common::CountingTokens::default());
    let client = Client::new(common::config(&server.uri(), tokens).with_max_pages(5)).unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    assert_limit(&err);
    assert!(err.to_string().contains("5 pages"), "{err}");
    assert_eq!(n.load(Ordering::SeqCst), 5);

    // and an item bound
    let tokens = Arc::new(common::CountingTokens::default());
    let client = Client::new(
        common::config(&server.uri(), tokens)
            .with_stream_limits(StreamLimits::default().with_max_items(3)),
    )
    .unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    assert_limit(&err);
    assert!(err.to_string().contains("3 items"), "{err}");
}

#[tokio::test]
async fn a_next_link_cycle_and_a_delta_link_sent_back_as_next_link_are_caught() {
    let server = MockServer::start().await;
    let base = server.uri();
    let n = Arc::new(AtomicUsize::new(0));
    let counter = n.clone();
    let b = base.clone();
    // A -> B -> A -> ...
    Mock::given(method("GET"))
        .and(path(format!("{MB}/mailFolders")))
        .respond_with(move |req: &Request| {
            counter.fetch_add(1, Ordering::SeqCst);
            let next = if req.url.query().unwrap_or("").contains("page=b") {
                "a"
            } else {
                "b"
            };
            ResponseTemplate::new(200).set_body_json(json!({
                "value": [{"id": "f"}],
                "@odata.nextLink": format!("{b}{MB}/mailFolders?page={next}"),
            }))
        })
        .mount(&server)
        .await;
    let stored = format!("{base}{MB}/contacts/delta?$deltatoken=old");
    let echo = stored.clone();
    Mock::given(method("GET"))
        .and(path(format!("{MB}/contacts/delta")))
        .respond_with(move |_: &Request| {
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [], "@odata.nextLink": echo.clone()}))
        })
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let mailbox = client.mailbox("anna@contoso.com");
    let err = mailbox.mail_folders().await.unwrap_err();
    assert_limit(&err);
    assert!(err.to_string().contains("repeated"), "{err}");
    assert_eq!(
        n.load(Ordering::SeqCst),
        3,
        "first, b, a (seen before) and stop"
    );

    let err = mailbox
        .contacts_delta(None, DeltaStart::Link(&stored), &[], None)
        .await
        .unwrap_err();
    assert_limit(&err);
    assert!(err.to_string().contains("repeated"), "{err}");
}

#[tokio::test]
async fn json_in_another_charset_is_refused_with_a_clear_message() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{MB}/mailFolders")))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(
                "{\"value\": [{\"id\": \"f\", \"displayName\": \"Gr\u{fc}\u{df}e\"}]}"
                    .chars()
                    .map(|c| c as u8)
                    .collect::<Vec<u8>>(),
                "application/json; charset=iso-8859-1",
            ),
        )
        .mount(&server)
        .await;
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "{\"value\": []}".encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    Mock::given(method("GET"))
        .and(path(format!("{MB}/contactFolders")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(utf16, "application/json"))
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let mailbox = client.mailbox("anna@contoso.com");
    let err = mailbox.mail_folders().await.unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("iso-8859-1") && text.contains("only UTF-8"),
        "{text}"
    );
    let err = mailbox.contact_folders().await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("UTF-16") && !text.contains('\0'), "{text:?}");
}

#[tokio::test]
async fn an_unreadable_error_body_keeps_its_cause() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            "<html><body>Proxy error\0 Authorization: Bearer abcdefgh12345678</body></html>",
            "text/html",
        ))
        .mount(&server)
        .await;
    let (client, _) = common::client(&server.uri());
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    let api = err.api().expect("the error answer");
    assert_eq!(api.status, 400);
    assert!(api.message.contains("Proxy error"), "{api:?}");
    let mut source = err.source();
    let mut found = false;
    while let Some(s) = source {
        found |= s.downcast_ref::<serde_json::Error>().is_some();
        source = s.source();
    }
    assert!(found, "the JSON error is in the chain: {err:?}");
    assert_clean(&err, &["abcdefgh12345678"]);
}

/// A loopback HTTPS server presenting a fresh self-signed certificate (as Exchange's own or a
/// test proxy's); answers every request with an empty page. Returns its URL and the
/// certificate's DER.
async fn tls_server() -> (String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let der = certified.cert.der().to_vec();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![rustls::pki_types::CertificateDer::from(der.clone())],
        key,
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = r#"{"value":[{"id":"pinned"}]}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://127.0.0.1:{}", addr.port()), der)
}

#[tokio::test]
async fn a_pinned_certificate_is_trusted_through_the_graph_config_and_only_that_one() {
    use ews_client::transport::CertificateFingerprint;
    let (uri, der) = tls_server().await;
    let tokens = Arc::new(common::CountingTokens::default());
    let base = || common::config(&uri, tokens.clone()).with_retry(RetryPolicy::no_retries());

    // not trusted by default
    let client = Client::new(base()).unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");

    // pinned: accepted without any root
    let pin = CertificateFingerprint::of_der(&der);
    let client = Client::new(base().with_pinned_certificate(pin)).unwrap();
    let folders = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap();
    assert_eq!(folders.len(), 1);

    // another pin: refused, naming the certificate the server presented
    let other = CertificateFingerprint::of_der(b"another certificate");
    let client = Client::new(base().with_pinned_certificate(other)).unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .mail_folders()
        .await
        .unwrap_err();
    let text = ews_client::transport::error_chain(&err);
    assert!(text.contains(&pin.to_string()), "{text}");
}

/// An inner `$batch` error answer that echoes the bearer token and the client secret is
/// cleaned of both, like any other server text, before it reaches an error.
#[tokio::test]
async fn a_batch_answer_echoing_secrets_never_reaches_an_error_with_them() {
    let server = MockServer::start().await;
    let token = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJiYXRjaCJ9.c2lnLWJhdGNo";
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": token, "expires_in": 3600, "token_type": "Bearer"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/$batch"))
        .respond_with(|req: &Request| {
            let auth = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let raw = auth.trim_start_matches("Bearer ").to_owned();
            ResponseTemplate::new(200).set_body_json(json!({"responses": [
                {"id": "1", "status": 400, "body": {"error": {
                    "code": "BadRequest",
                    "message": format!("token {raw} and secret app-secret-456 seen"),
                }}},
            ]}))
        })
        .mount(&server)
        .await;
    let mut creds = auth::credentials("contoso", "app-1")
        .with_token_url(url::Url::parse(&format!("{}/token", server.uri())).unwrap());
    creds.client_secret = ews_client::transport::SecretString::from("app-secret-456".to_owned());
    let client = Client::new(common::config_with(
        &server.uri(),
        auth::with_secret(creds).unwrap(),
    ))
    .unwrap();
    let answers = client
        .batch(
            "anna@contoso.com",
            vec![graph_client::batch::BatchRequest::get("1", "/me")],
        )
        .await
        .unwrap();
    let err = answers
        .into_iter()
        .next()
        .unwrap()
        .into_result::<serde_json::Value>()
        .unwrap_err();
    assert_eq!(err.api().map(|a| a.status), Some(400), "{err}");
    assert_clean(&err, &[token, "c2lnLWJhdGNo", "app-secret-456"]);
}
