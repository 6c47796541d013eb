//! App-only authentication against a wiremock token endpoint: client secret and certificate
//! (signed JWT client assertion), token cache, refresh on 401, no secret in any output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a panic is a failed test

use std::time::Duration;

use graph_client::auth::{self, CertificateCredential};
use graph_client::{Client, ClientConfig};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CERT: &[u8] = include_bytes!("data/test-app-cert.pem");
const KEY: &[u8] = include_bytes!("data/test-app-key.pem");
const PUBLIC_KEY: &[u8] = include_bytes!("data/test-app-pub.pem");
/// `openssl x509 -in test-app-cert.pem -outform DER | sha1sum`
const CERT_SHA1_HEX: &str = "672dc11e8beeff1d1ebead956b9679b8ac906efe";
const SECRET: &str = "Zx9~very-secret-client-secret";

fn token_url(server: &MockServer) -> url::Url {
    url::Url::parse(&format!("{}/contoso/oauth2/v2.0/token", server.uri())).unwrap()
}

fn client(
    server: &MockServer,
    tokens: std::sync::Arc<dyn ews_client::transport::TokenProvider>,
) -> Client {
    Client::new(
        ClientConfig::new(tokens)
            .with_base_url(url::Url::parse(&format!("{}/v1.0", server.uri())).unwrap())
            .with_timeouts(Duration::from_secs(5), Duration::from_secs(10)),
    )
    .unwrap()
}

#[tokio::test]
async fn client_secret_tokens_are_cached_and_refreshed_once_on_401() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=app-1"))
        .and(body_string_contains(
            "client_secret=Zx9%7Every-secret-client-secret",
        ))
        .and(body_string_contains(
            "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "graph-token-1"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "graph-token-2"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/anna@contoso.com/calendars"))
        .and(header("authorization", "Bearer graph-token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [{"id": "c"}]})))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/anna@contoso.com/calendars"))
        .and(header("authorization", "Bearer graph-token-1"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/users/anna@contoso.com/calendars"))
        .and(header("authorization", "Bearer graph-token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let mut creds = auth::credentials("contoso", "app-1").with_token_url(token_url(&server));
    creds.client_secret = SECRET.to_owned().into();
    let tokens = auth::with_secret(creds).unwrap();
    let client = client(&server, tokens);
    let mailbox = client.mailbox("anna@contoso.com");
    assert_eq!(mailbox.calendars().await.unwrap().len(), 1);
    assert_eq!(mailbox.calendars().await.unwrap().len(), 1);
    let token_requests = |reqs: &[wiremock::Request]| {
        reqs.iter()
            .filter(|r| r.url.path().ends_with("/token"))
            .count()
    };
    assert_eq!(
        token_requests(&server.received_requests().await.unwrap()),
        1,
        "token cached"
    );
    // Third call: 401 with token 1, one fresh token, success with token 2.
    assert_eq!(mailbox.calendars().await.unwrap().len(), 0);
    assert_eq!(
        token_requests(&server.received_requests().await.unwrap()),
        2
    );
}

#[tokio::test]
async fn a_certificate_signs_a_client_assertion_instead_of_sending_a_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/contoso/oauth2/v2.0/token"))
        .and(body_string_contains(
            "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "cert-token"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer cert-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&server)
        .await;
    let certificate = CertificateCredential::from_pem(CERT, KEY).unwrap();
    assert!(!format!("{certificate:?}").contains("PRIVATE"));
    let creds = auth::credentials("contoso", "app-1").with_token_url(token_url(&server));
    let tokens = auth::certificate(creds, certificate).unwrap();
    client(&server, tokens)
        .mailbox("anna@contoso.com")
        .calendars()
        .await
        .unwrap();

    let token_request = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.url.path().ends_with("/token"))
        .unwrap();
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&token_request.body)
            .into_owned()
            .collect();
    assert!(!form.contains_key("client_secret"), "{form:?}");
    assert_eq!(form["scope"], "https://graph.microsoft.com/.default");
    let assertion = &form["client_assertion"];
    let header = jsonwebtoken::decode_header(assertion).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    use base64::Engine as _;
    let x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.x5t.unwrap())
        .unwrap();
    let hex: String = x5t.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, CERT_SHA1_HEX);
    assert!(header.x5t_s256.is_some());
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[token_url(&server).as_str()]);
    validation.set_issuer(&["app-1"]);
    let claims = jsonwebtoken::decode::<serde_json::Value>(
        assertion,
        &jsonwebtoken::DecodingKey::from_rsa_pem(PUBLIC_KEY).unwrap(),
        &validation,
    )
    .expect("the assertion verifies with the certificate's public key")
    .claims;
    assert_eq!(claims["sub"], "app-1");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let lifetime = claims["exp"].as_u64().unwrap() - claims["nbf"].as_u64().unwrap();
    assert!(lifetime > 0 && lifetime <= 3600);
}

#[tokio::test]
async fn secrets_never_reach_errors_or_debug_output() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})))
        .mount(&server)
        .await;
    let mut with_secret = auth::credentials("contoso", "app-1");
    with_secret.client_secret = SECRET.to_owned().into();
    let provider = ews_client::transport::ClientCredentialsProvider::new(with_secret).unwrap();
    let mut creds = auth::credentials("contoso", "app-1").with_token_url(token_url(&server));
    creds.client_secret = SECRET.to_owned().into();
    let config = ClientConfig::new(auth::with_secret(creds).unwrap())
        .with_base_url(url::Url::parse(&format!("{}/v1.0/", server.uri())).unwrap());
    let debug = format!("{config:?} {provider:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    let client = Client::new(config).unwrap();
    let err = client
        .mailbox("anna@contoso.com")
        .calendars()
        .await
        .unwrap_err();
    assert!(err.is_auth(), "{err}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("invalid_client"), "{shown}");
    assert!(CertificateCredential::from_pem(CERT, b"not a key").is_err());
    let bad_key = CertificateCredential::from_pem(
        CERT,
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap_err();
    assert!(!bad_key.to_string().contains("AAAA"), "{bad_key}");
}
