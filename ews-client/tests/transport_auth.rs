//! Transport authentication tests: NTLM handshake, OAuth client credentials, bearer
//! providers, redaction of secrets.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod transport_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use ews_client::transport::ntlm::{self, Flags, Message};
use ews_client::transport::{
    Auth, HttpTransport, OAuthClientCredentials, SecretString, TokenProvider, TransportConfig,
    TransportError,
};
use secrecy::ExposeSecret;
use transport_common::*;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const CHALLENGE: [u8; 8] = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88];

/// wiremock responder playing an NTLM server: Type 1 -> 401 + Type 2; Type 3 -> verifies
/// the NTLMv2 response and answers 200; records the decoded client messages.
struct NtlmResponder {
    password: &'static str,
    seen: Arc<Mutex<Vec<Message>>>,
}

impl Respond for NtlmResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some(auth) = request.headers.get("authorization") else {
            return ResponseTemplate::new(401).insert_header("www-authenticate", "NTLM");
        };
        let message = ntlm::decode_authorization(auth.to_str().unwrap()).unwrap();
        self.seen.lock().unwrap().push(message.clone());
        match message {
            Message::Negotiate(_) => {
                assert!(request.body.is_empty(), "Type 1 goes without the SOAP body");
                let type2 = ntlm::challenge_message(&ntlm::server_challenge(CHALLENGE, "CONTOSO"));
                ResponseTemplate::new(401)
                    .insert_header("www-authenticate", "Negotiate")
                    .append_header(
                        "www-authenticate",
                        ntlm::encode_authorization(&type2).as_str(),
                    )
            }
            Message::Authenticate(a) => {
                if ntlm::verify_ntlmv2_response(&a, CHALLENGE, self.password) {
                    assert_eq!(request.body, ENVELOPE.as_bytes());
                    ResponseTemplate::new(200).set_body_string("<authenticated/>")
                } else {
                    ResponseTemplate::new(401).insert_header("www-authenticate", "NTLM")
                }
            }
            other => panic!("unexpected NTLM message {other:?}"),
        }
    }
}

#[tokio::test]
async fn ntlm_handshake_with_wiremock() {
    let server = MockServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/EWS/Exchange.asmx"))
        .and(header("x-anchormailbox", "alice@contoso.com"))
        .respond_with(NtlmResponder {
            password: "Winter2026!",
            seen: seen.clone(),
        })
        .mount(&server)
        .await;
    let url = format!("{}/EWS/Exchange.asmx", server.uri());
    let t =
        HttpTransport::new(config(&url, Auth::ntlm("CONTOSO\\svc-crm", "Winter2026!"))).unwrap();
    let response = t
        .post(request().with_anchor_mailbox("alice@contoso.com"))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.body.as_ref(), b"<authenticated/>");

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let Message::Negotiate(type1) = &seen[0] else {
        panic!("first message must be Type 1: {:?}", seen[0])
    };
    assert!(
        type1
            .flags
            .contains(Flags::NEGOTIATE_NTLM | Flags::NEGOTIATE_UNICODE | Flags::REQUEST_TARGET)
    );
    assert_eq!(type1.supplied_domain, "CONTOSO");
    let Message::Authenticate(type3) = &seen[1] else {
        panic!("second message must be Type 3: {:?}", seen[1])
    };
    assert_eq!(type3.user_name, "svc-crm");
    assert_eq!(type3.domain_name, "CONTOSO");
    assert_eq!(type3.workstation_name, "EWSCLIENT");
    assert!(
        type3
            .flags
            .contains(Flags::NEGOTIATE_UNICODE | Flags::NEGOTIATE_NTLM)
    );
    assert!(type3.ntlm_response.len() > 44, "NTLMv2 response");
    assert!(ntlm::verify_ntlmv2_response(
        type3,
        CHALLENGE,
        "Winter2026!"
    ));
}

#[tokio::test]
async fn ntlm_wrong_password_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(NtlmResponder {
            password: "right",
            seen: Arc::default(),
        })
        .mount(&server)
        .await;
    let url = format!("{}/EWS/Exchange.asmx", server.uri());
    let t = HttpTransport::new(config(&url, Auth::ntlm("CONTOSO\\bob", "wrong-pw"))).unwrap();
    let err = t.post(request()).await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert!(matches!(
        err,
        TransportError::Unauthorized { scheme: "NTLM", .. }
    ));
    assert!(!format!("{err} {err:?}").contains("wrong-pw"));
    // one handshake, not repeated
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn ntlm_server_without_ntlm_is_an_auth_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("www-authenticate", "Basic realm=\"x\""),
        )
        .mount(&server)
        .await;
    let url = format!("{}/EWS/Exchange.asmx", server.uri());
    let err = HttpTransport::new(config(&url, Auth::ntlm("u", "p")))
        .unwrap()
        .post(request())
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err:?}");
}

/// A connection-oriented NTLM server like IIS: the challenge is per connection, and a
/// connection stays authenticated after a successful Type 3.
/// With `forget`, a connection loses its authentication after one authenticated request
/// (as after a server-side session reset).
async fn ntlm_connection_server(
    password: &'static str,
    forget: bool,
) -> (Server, Arc<AtomicUsize>) {
    let handshakes = Arc::new(AtomicUsize::new(0));
    let state: Arc<Mutex<std::collections::HashMap<usize, bool>>> = Arc::default();
    let hs = handshakes.clone();
    let server = serve(handler(move |conn, req| {
        let state = state.clone();
        let hs = hs.clone();
        async move {
            if state.lock().unwrap().get(&conn.id) == Some(&true) {
                if forget {
                    state.lock().unwrap().insert(conn.id, false);
                    return response(401, "");
                }
                return response(200, "<again/>");
            }
            let Some(auth) = req.headers().get("authorization") else {
                return response(401, "");
            };
            let challenge = [conn.id as u8; 8];
            match ntlm::decode_authorization(auth.to_str().unwrap()).unwrap() {
                Message::Negotiate(_) => {
                    hs.fetch_add(1, Ordering::SeqCst);
                    let type2 = ntlm::challenge_message(&ntlm::server_challenge(challenge, "D"));
                    let mut r = response(401, "");
                    r.headers_mut().insert(
                        "www-authenticate",
                        ntlm::encode_authorization(&type2).parse().unwrap(),
                    );
                    r
                }
                Message::Authenticate(a)
                    if ntlm::verify_ntlmv2_response(&a, challenge, password) =>
                {
                    state.lock().unwrap().insert(conn.id, true);
                    response(200, "<first/>")
                }
                _ => response(401, ""),
            }
        }
    }))
    .await;
    (server, handshakes)
}

#[tokio::test]
async fn ntlm_handshake_uses_one_connection_which_is_then_reused() {
    let (server, handshakes) = ntlm_connection_server("pw", false).await;
    let t = HttpTransport::new(config(
        &server.url("http", "127.0.0.1"),
        Auth::ntlm("user", "pw"),
    ))
    .unwrap();
    let first = t.post(request()).await.unwrap();
    assert_eq!(first.body.as_ref(), b"<first/>");
    let second = t.post(request().non_idempotent()).await.unwrap();
    assert_eq!(second.body.as_ref(), b"<again/>");
    assert_eq!(
        server.connections(),
        1,
        "Type 1, Type 3 and the next request share a connection"
    );
    assert_eq!(handshakes.load(Ordering::SeqCst), 1);

    // concurrent requests open (and authenticate) further connections
    let calls = (0..4).map(|_| {
        let t = t.clone();
        async move { t.post(request()).await.map(|r| r.status) }
    });
    for result in futures::future::join_all(calls).await {
        assert_eq!(result.unwrap(), 200);
    }
    assert_eq!(server.connections(), handshakes.load(Ordering::SeqCst));
}

fn token_body(token: &str, expires_in: u64) -> serde_json::Value {
    serde_json::json!({"token_type": "Bearer", "expires_in": expires_in, "access_token": token})
}

/// Token endpoint responder: checks the form and hands out `tok-1`, `tok-2`, ...
struct TokenEndpoint {
    issued: AtomicUsize,
}

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(&request.body)
                .into_owned()
                .collect();
        assert_eq!(
            form.get("grant_type").map(String::as_str),
            Some("client_credentials")
        );
        assert_eq!(form.get("client_id").map(String::as_str), Some("app-id"));
        assert_eq!(
            form.get("scope").map(String::as_str),
            Some("https://outlook.office365.com/.default")
        );
        if form.get("client_secret").map(String::as_str) != Some("Sup3rS3cret") {
            return ResponseTemplate::new(401).set_body_json(serde_json::json!({
                "error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."
            }));
        }
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(token_body(&format!("tok-{n}"), 3599))
    }
}

async fn oauth_setup(
    ews_accepts: &'static [&'static str],
    secret: &str,
) -> (MockServer, HttpTransport) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(TokenEndpoint {
            issued: AtomicUsize::new(0),
        })
        .mount(&server)
        .await;
    for token in ews_accepts {
        Mock::given(method("POST"))
            .and(path("/EWS/Exchange.asmx"))
            .and(header("authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_string(*token))
            .with_priority(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/EWS/Exchange.asmx"))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(2)
        .mount(&server)
        .await;
    let credentials = OAuthClientCredentials::new("tenant-1", "app-id", secret).with_token_url(
        url::Url::parse(&format!("{}/tenant-1/oauth2/v2.0/token", server.uri())).unwrap(),
    );
    let t = HttpTransport::new(config(
        &format!("{}/EWS/Exchange.asmx", server.uri()),
        Auth::oauth(credentials),
    ))
    .unwrap();
    (server, t)
}

async fn count(server: &MockServer, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

#[tokio::test]
async fn oauth_token_is_fetched_once_and_cached() {
    let (server, t) = oauth_setup(&["tok-1"], "Sup3rS3cret").await;
    for _ in 0..3 {
        let r = t.post(request()).await.unwrap();
        assert_eq!(r.body.as_ref(), b"tok-1");
    }
    assert_eq!(count(&server, "/tenant-1/oauth2/v2.0/token").await, 1);
    assert_eq!(count(&server, "/EWS/Exchange.asmx").await, 3);
}

#[tokio::test]
async fn oauth_token_is_refreshed_once_on_401() {
    // tok-1 is rejected (revoked), tok-2 works
    let (server, t) = oauth_setup(&["tok-2"], "Sup3rS3cret").await;
    let r = t.post(request()).await.unwrap();
    assert_eq!(r.body.as_ref(), b"tok-2");
    assert_eq!(count(&server, "/tenant-1/oauth2/v2.0/token").await, 2);
    assert_eq!(count(&server, "/EWS/Exchange.asmx").await, 2);
    // the refreshed token is cached
    t.post(request()).await.unwrap();
    assert_eq!(count(&server, "/tenant-1/oauth2/v2.0/token").await, 2);
}

#[tokio::test]
async fn oauth_second_401_is_an_auth_error() {
    let (server, t) = oauth_setup(&[], "Sup3rS3cret").await;
    let err = t.post(request()).await.unwrap_err();
    assert!(err.is_auth(), "{err:?}");
    assert!(matches!(
        err,
        TransportError::Unauthorized {
            scheme: "Bearer",
            ..
        }
    ));
    assert_eq!(count(&server, "/tenant-1/oauth2/v2.0/token").await, 2);
    assert_eq!(count(&server, "/EWS/Exchange.asmx").await, 2);
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("tok-") && !text.contains("Sup3rS3cret"),
        "{text}"
    );
}

#[tokio::test]
async fn oauth_rejected_client_secret_is_a_token_endpoint_error() {
    let (server, t) = oauth_setup(&["tok-1"], "wrong-secret").await;
    let err = t.post(request()).await.unwrap_err();
    assert!(err.is_auth() && !err.is_transient(), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("wrong-secret"), "{text}");
    assert_eq!(count(&server, "/EWS/Exchange.asmx").await, 0);
}

#[tokio::test]
async fn oauth_transient_token_endpoint_failure_is_retried() {
    let (server, t) = oauth_setup(&["tok-1"], "Sup3rS3cret").await;
    Mock::given(method("POST"))
        .and(path("/tenant-1/oauth2/v2.0/token"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_json(serde_json::json!({"error": "temporarily_unavailable"})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let r = t.post(request()).await.unwrap();
    assert_eq!(r.body.as_ref(), b"tok-1");
    assert_eq!(count(&server, "/tenant-1/oauth2/v2.0/token").await, 2);
}

/// A host-supplied provider: hands out "host-a", then "host-b" after invalidation.
#[derive(Default)]
struct HostProvider {
    invalidated: Mutex<Vec<String>>,
}

#[async_trait]
impl TokenProvider for HostProvider {
    async fn token(&self) -> Result<SecretString, TransportError> {
        let n = self.invalidated.lock().unwrap().len();
        Ok(SecretString::from(if n == 0 { "host-a" } else { "host-b" }))
    }
    async fn invalidate(&self, rejected: &SecretString) {
        self.invalidated
            .lock()
            .unwrap()
            .push(rejected.expose_secret().to_owned());
    }
}

#[tokio::test]
async fn host_token_provider_is_used_and_invalidated_on_401() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", "Bearer host-b"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(2)
        .mount(&server)
        .await;
    let provider = Arc::new(HostProvider::default());
    let t = HttpTransport::new(config(
        &format!("{}/EWS/Exchange.asmx", server.uri()),
        Auth::bearer(provider.clone()),
    ))
    .unwrap();
    assert_eq!(t.post(request()).await.unwrap().status, 200);
    assert_eq!(
        *provider.invalidated.lock().unwrap(),
        vec!["host-a".to_owned()]
    );
}

#[test]
fn debug_output_hides_secrets() {
    let url = url::Url::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap();
    let configs = [
        TransportConfig::new(url.clone(), Auth::basic("basic-user", "basic-PW-1")),
        TransportConfig::new(url.clone(), Auth::ntlm("CONTOSO\\ntlm-user", "ntlm-PW-2")),
        TransportConfig::new(
            url.clone(),
            Auth::oauth(OAuthClientCredentials::new(
                "tenant",
                "client-id",
                "oauth-PW-3",
            )),
        ),
        TransportConfig::new(url, Auth::bearer(Arc::new(HostProvider::default()))),
    ];
    for (cfg, user) in configs
        .iter()
        .zip(["basic-user", "ntlm-user", "client-id", "Bearer"])
    {
        let text = format!("{cfg:?} {:#?}", cfg.auth);
        assert!(text.contains(user), "{text}");
        for secret in ["basic-PW-1", "ntlm-PW-2", "oauth-PW-3", "host-a"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let transport = HttpTransport::new(cfg.clone()).unwrap();
        let text = format!("{transport:?}");
        assert!(!text.contains("PW-"), "{text}");
    }
}

#[tokio::test]
async fn ntlm_reauthenticates_when_a_reused_connection_gets_401() {
    let (server, handshakes) = ntlm_connection_server("pw", true).await;
    let t = HttpTransport::new(config(
        &server.url("http", "127.0.0.1"),
        Auth::ntlm("user", "pw"),
    ))
    .unwrap();
    assert_eq!(t.post(request()).await.unwrap().body.as_ref(), b"<first/>");
    // the kept connection answers 401: a 401 means "not processed", so even a
    // non-idempotent request is sent again after a fresh handshake
    let second = t.post(request().non_idempotent()).await.unwrap();
    assert_eq!(second.body.as_ref(), b"<first/>");
    assert_eq!(handshakes.load(Ordering::SeqCst), 2);
    assert_eq!(server.connections(), 2);
}
