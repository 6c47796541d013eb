//! Authentication (Basic, OAuth 2.0 client credentials, NTLM on a kept-alive connection) and
//! impersonation rights, over real HTTP.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

#[tokio::test]
async fn basic_auth_checks_passwords() {
    let mock = start().await;
    let wrong = post_basic(
        &mock,
        "alice@contoso.test",
        "nope",
        envelope("GetFolder", None),
    )
    .await;
    assert_eq!(wrong.status(), 401);
    let challenges: Vec<_> = wrong
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic")),
        "{challenges:?}"
    );
    assert!(challenges.iter().any(|c| c == "NTLM"), "{challenges:?}");
    let unknown = post_basic(&mock, "eve@contoso.test", "x", envelope("GetFolder", None)).await;
    assert_eq!(unknown.status(), 401);
    let none = client()
        .post(mock.url())
        .body(envelope("GetFolder", None))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);

    // the right password, by address or by DOMAIN\user
    for logon in ["alice@contoso.test", "CONTOSO\\alice"] {
        let ok = post_basic(&mock, logon, "alice-pw", envelope("GetFolder", None)).await;
        assert_ne!(ok.status(), 401, "{logon}");
    }
    let log = mock.request_log();
    assert_eq!(log.iter().filter(|e| e.status == 401).count(), 3);
    let last = log.last().unwrap();
    assert_eq!(last.caller.as_deref(), Some("alice@contoso.test"));
    assert_eq!(last.mailbox.as_deref(), Some("alice@contoso.test"));
    assert_eq!(last.operation.as_deref(), Some("GetFolder"));
    assert_eq!(last.impersonating, None);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_requests_get_error_schema_validation() {
    let mock = start().await;
    for body in [
        "not xml at all",
        "<a/>",
        "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body>",
    ] {
        let resp = post_basic(&mock, "alice@contoso.test", "alice-pw", body.to_string()).await;
        assert_eq!(resp.status(), 500);
        let text = resp.text().await.unwrap();
        assert_eq!(
            response_code(&text).as_deref(),
            Some("ErrorSchemaValidation"),
            "{text}"
        );
        assert!(text.contains("<s:Fault>"));
    }
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn impersonation_needs_the_right() {
    let mock = start().await;
    // bob has no ApplicationImpersonation role
    let denied = post_basic(
        &mock,
        "bob@contoso.test",
        "bob-pw",
        envelope("GetFolder", Some("alice@contoso.test")),
    )
    .await;
    assert_eq!(denied.status(), 500);
    assert_eq!(
        response_code(&denied.text().await.unwrap()).as_deref(),
        Some("ErrorImpersonateUserDenied")
    );
    // alice has it, but the mailbox must exist
    let missing = post_basic(
        &mock,
        "alice@contoso.test",
        "alice-pw",
        envelope("GetFolder", Some("nobody@contoso.test")),
    )
    .await;
    assert_eq!(
        response_code(&missing.text().await.unwrap()).as_deref(),
        Some("ErrorNonExistentMailbox")
    );
    let ok = post_basic(
        &mock,
        "alice@contoso.test",
        "alice-pw",
        envelope("GetFolder", Some("BOB@contoso.test")),
    )
    .await;
    let ok_code = response_code(&ok.text().await.unwrap());
    assert_ne!(ok_code.as_deref(), Some("ErrorImpersonateUserDenied"));
    let last = mock.request_log().pop().unwrap();
    assert_eq!(last.mailbox.as_deref(), Some("bob@contoso.test"));
    assert_eq!(last.impersonating.as_deref(), Some("alice@contoso.test"));
    mock.shutdown().await.unwrap();
}

async fn token(
    mock: &ews_mock::MockHandle,
    url: &str,
    id: &str,
    secret: &str,
) -> reqwest::Response {
    client()
        .post(url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", "https://outlook.office365.com/.default"),
        ])
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e} at {}", mock.token_url()))
}

#[tokio::test]
async fn oauth_client_credentials_tokens_authenticate_and_expire() {
    let mock = start().await;
    let bad = token(&mock, &mock.token_url(), "sync-app", "wrong").await;
    assert_eq!(bad.status(), 401);
    let err: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(err["error"], "invalid_client");
    let wrong_tenant = format!("{}/fabrikam/oauth2/v2.0/token", mock.base_url());
    assert_eq!(
        token(&mock, &wrong_tenant, "sync-app", "app-secret")
            .await
            .status(),
        401
    );
    let unsupported = client()
        .post(mock.token_url())
        .form(&[("grant_type", "password"), ("client_id", "sync-app")])
        .send()
        .await
        .unwrap();
    assert_eq!(unsupported.status(), 400);

    let tenant_url = format!("{}/contoso/oauth2/v2.0/token", mock.base_url());
    let granted: serde_json::Value = token(&mock, &tenant_url, "sync-app", "app-secret")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(granted["token_type"], "Bearer");
    assert_eq!(granted["expires_in"], 3600);
    let access = granted["access_token"].as_str().unwrap().to_string();

    let send = |body: String| {
        let access = access.clone();
        let url = mock.url();
        async move {
            client()
                .post(url)
                .bearer_auth(access)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    // an app acts only through impersonation
    let no_header = send(envelope("GetFolder", None)).await;
    assert_eq!(
        response_code(&no_header.text().await.unwrap()).as_deref(),
        Some("ErrorInvalidExchangeImpersonationHeaderData")
    );
    let as_bob = send(envelope("GetFolder", Some("bob@contoso.test"))).await;
    assert_ne!(as_bob.status(), 401);
    let entry = mock.request_log().pop().unwrap();
    assert_eq!(entry.caller.as_deref(), Some("sync-app"));
    assert_eq!(entry.mailbox.as_deref(), Some("bob@contoso.test"));
    assert_eq!(entry.impersonating.as_deref(), Some("sync-app"));

    // an app without full_access_as_app may not impersonate
    let weak: serde_json::Value = token(&mock, &mock.token_url(), "weak-app", "weak-secret")
        .await
        .json()
        .await
        .unwrap();
    let denied = client()
        .post(mock.url())
        .bearer_auth(weak["access_token"].as_str().unwrap())
        .body(envelope("GetFolder", Some("bob@contoso.test")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response_code(&denied.text().await.unwrap()).as_deref(),
        Some("ErrorImpersonateUserDenied")
    );

    mock.expire_tokens();
    let expired = send(envelope("GetFolder", Some("bob@contoso.test"))).await;
    assert_eq!(expired.status(), 401);
    assert!(
        expired.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let mock = start_with(&format!("{ORG}\n")).await;
    mock.with_store(|s| s.settings.token_lifetime_secs = 1);
    let granted: serde_json::Value = token(&mock, &mock.token_url(), "sync-app", "app-secret")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(granted["expires_in"], 1);
    let access = granted["access_token"].as_str().unwrap();
    let req = || {
        client()
            .post(mock.url())
            .bearer_auth(access)
            .body(envelope("GetFolder", Some("bob@contoso.test")))
            .send()
    };
    assert_ne!(req().await.unwrap().status(), 401);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(req().await.unwrap().status(), 401);
    mock.shutdown().await.unwrap();
}

// --- NTLM -----------------------------------------------------------------------------------

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(mock: &ews_mock::MockHandle) -> Sender {
    let stream = tokio::net::TcpStream::connect(mock.addr()).await.unwrap();
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    sender
}

async fn send(
    sender: &mut Sender,
    auth: Option<String>,
    body: String,
) -> (u16, hyper::HeaderMap, String) {
    let mut req = hyper::Request::post("/EWS/Exchange.asmx")
        .header("Host", "127.0.0.1")
        .header("Content-Type", "text/xml; charset=utf-8");
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    (status, headers, text)
}

fn negotiate() -> String {
    let msg = ntlmclient::Message::Negotiate(ntlmclient::NegotiateMessage {
        flags: ntlmclient::Flags::NEGOTIATE_UNICODE
            | ntlmclient::Flags::REQUEST_TARGET
            | ntlmclient::Flags::NEGOTIATE_NTLM
            | ntlmclient::Flags::NEGOTIATE_WORKSTATION_SUPPLIED,
        supplied_domain: String::new(),
        supplied_workstation: "TESTHOST".to_owned(),
        os_version: Default::default(),
    });
    format!("NTLM {}", STANDARD.encode(msg.to_bytes().unwrap()))
}

fn authenticate(challenge_header: &str, user: &str, password: &str, domain: &str) -> String {
    let b64 = challenge_header.strip_prefix("NTLM ").unwrap();
    let bytes = STANDARD.decode(b64).unwrap();
    let ntlmclient::Message::Challenge(challenge) =
        ntlmclient::Message::try_from(bytes.as_slice()).unwrap()
    else {
        panic!("not a challenge");
    };
    let target_info: Vec<u8> = challenge
        .target_information
        .iter()
        .flat_map(|e| e.to_bytes())
        .collect();
    let creds = ntlmclient::Credentials {
        username: user.to_owned(),
        password: password.to_owned(),
        domain: domain.to_owned(),
    };
    let response = ntlmclient::respond_challenge_ntlm_v2(
        challenge.challenge,
        &target_info,
        ntlmclient::get_ntlm_time(),
        &creds,
    );
    let msg = response.to_message(
        &creds,
        "TESTHOST",
        ntlmclient::Flags::NEGOTIATE_UNICODE | ntlmclient::Flags::NEGOTIATE_NTLM,
    );
    format!("NTLM {}", STANDARD.encode(msg.to_bytes().unwrap()))
}

#[tokio::test]
async fn ntlm_authenticates_a_kept_alive_connection() {
    let mock = start().await;
    let mut conn = connect(&mock).await;
    let (status, headers, _) =
        send(&mut conn, Some(negotiate()), envelope("GetFolder", None)).await;
    assert_eq!(status, 401);
    let challenge = headers["www-authenticate"].to_str().unwrap().to_string();
    let (status, _, _) = send(
        &mut conn,
        Some(authenticate(&challenge, "bob", "bob-pw", "CONTOSO")),
        envelope("GetFolder", None),
    )
    .await;
    assert_ne!(status, 401);
    // the connection stays authenticated without a header
    let (status, _, _) = send(&mut conn, None, envelope("GetFolder", None)).await;
    assert_ne!(status, 401);
    let log = mock.request_log();
    assert_eq!(
        log.last().unwrap().caller.as_deref(),
        Some("bob@contoso.test")
    );

    // another connection is not
    let mut other = connect(&mock).await;
    let (status, _, _) = send(&mut other, None, envelope("GetFolder", None)).await;
    assert_eq!(status, 401);

    // a UPN logon works too; a wrong password does not
    let mut c2 = connect(&mock).await;
    let (_, h, _) = send(&mut c2, Some(negotiate()), envelope("GetFolder", None)).await;
    let ch = h["www-authenticate"].to_str().unwrap().to_string();
    let (status, _, _) = send(
        &mut c2,
        Some(authenticate(&ch, "alice@contoso.test", "alice-pw", "")),
        envelope("GetFolder", None),
    )
    .await;
    assert_ne!(status, 401);
    let mut c3 = connect(&mock).await;
    let (_, h, _) = send(&mut c3, Some(negotiate()), envelope("GetFolder", None)).await;
    let ch = h["www-authenticate"].to_str().unwrap().to_string();
    let (status, _, _) = send(
        &mut c3,
        Some(authenticate(&ch, "bob", "wrong", "CONTOSO")),
        envelope("GetFolder", None),
    )
    .await;
    assert_eq!(status, 401);
    // NTLM inside the Negotiate scheme is answered in that scheme
    let mut c5 = connect(&mock).await;
    let negotiate_scheme = negotiate().replacen("NTLM ", "Negotiate ", 1);
    let (status, h, _) = send(&mut c5, Some(negotiate_scheme), envelope("GetFolder", None)).await;
    assert_eq!(status, 401);
    let ch = h["www-authenticate"].to_str().unwrap().to_string();
    assert!(ch.starts_with("Negotiate "), "{ch}");
    let answer = authenticate(
        &ch.replacen("Negotiate ", "NTLM ", 1),
        "bob",
        "bob-pw",
        "CONTOSO",
    )
    .replacen("NTLM ", "Negotiate ", 1);
    let (status, _, _) = send(&mut c5, Some(answer), envelope("GetFolder", None)).await;
    assert_ne!(status, 401);
    // an AUTHENTICATE without a challenge on this connection is refused
    let mut c4 = connect(&mock).await;
    let (status, _, _) = send(
        &mut c4,
        Some(authenticate(&challenge, "bob", "bob-pw", "CONTOSO")),
        envelope("GetFolder", None),
    )
    .await;
    assert_eq!(status, 401);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn ntlm_checks_the_domain() {
    let mock = start().await;
    for (domain, ok) in [
        ("FABRIKAM", false),
        ("CONTOSO", true),
        ("contoso", true),
        ("contoso.test", true),
        ("", true),
    ] {
        let mut conn = connect(&mock).await;
        let (_, h, _) = send(&mut conn, Some(negotiate()), envelope("GetFolder", None)).await;
        let ch = h["www-authenticate"].to_str().unwrap().to_string();
        let (status, _, _) = send(
            &mut conn,
            Some(authenticate(&ch, "bob", "bob-pw", domain)),
            envelope("GetFolder", None),
        )
        .await;
        assert_eq!(status != 401, ok, "domain {domain:?}");
    }
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn get_of_the_ews_url_is_challenged_then_answered() {
    let mock = start().await;
    let anonymous = client().get(mock.url()).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let challenges: Vec<_> = anonymous
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(challenges.iter().any(|c| c == "NTLM"), "{challenges:?}");
    assert!(
        challenges.iter().any(|c| c.starts_with("Basic")),
        "{challenges:?}"
    );
    assert!(
        challenges.iter().any(|c| c.starts_with("Bearer")),
        "{challenges:?}"
    );
    let wrong = client()
        .get(mock.url())
        .basic_auth("bob@contoso.test", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = client()
        .get(mock.url())
        .basic_auth("bob@contoso.test", Some("bob-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // lower-case path as some clients send it; NTLM over GET on a kept-alive connection
    let mut conn = connect(&mock).await;
    let req = |auth: Option<String>| {
        let mut r = hyper::Request::get("/ews/exchange.asmx").header("Host", "127.0.0.1");
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        r.body(Full::new(Bytes::new())).unwrap()
    };
    let first = conn.send_request(req(Some(negotiate()))).await.unwrap();
    assert_eq!(first.status(), 401);
    let ch = first.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let _ = first.into_body().collect().await;
    let second = conn
        .send_request(req(Some(authenticate(&ch, "bob", "bob-pw", "CONTOSO"))))
        .await
        .unwrap();
    assert_eq!(second.status(), 200);
    mock.shutdown().await.unwrap();
}
