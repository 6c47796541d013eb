//! SOAP Autodiscover against wiremock: the EWS URL is found, address redirects are followed,
//! failing endpoints fall through to the next candidate.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ews_client::Error;
use ews_client::ops::autodiscover::{
    EXTERNAL_EWS_URL, GetUserSettings, GetUserSettingsResponse, INTERNAL_EWS_URL, UserResponse,
    discover_ews_url, get_user_settings, read_request, write_response,
};
use ews_client::transport::{Auth, HttpTransport, RetryPolicy, TransportConfig};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers};

struct Sequence {
    responses: Vec<ResponseTemplate>,
    next: AtomicUsize,
    mailboxes: std::sync::Arc<Mutex<Vec<String>>>,
}

impl Respond for Sequence {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let req = read_request(&request.body).unwrap();
        assert_eq!(req.settings, [EXTERNAL_EWS_URL, INTERNAL_EWS_URL]);
        self.mailboxes.lock().unwrap().extend(req.mailboxes);
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.responses[i.min(self.responses.len() - 1)].clone()
    }
}

fn answer(user: UserResponse) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_bytes(write_response(&GetUserSettingsResponse {
        error_code: "NoError".into(),
        error_message: None,
        users: vec![user],
    }))
}

#[tokio::test]
async fn follows_address_redirect_and_falls_through_failed_endpoints() {
    let server = MockServer::start().await;
    let mailboxes = std::sync::Arc::new(Mutex::new(Vec::new()));
    Mock::given(matchers::method("POST"))
        .and(matchers::path("/broken/autodiscover.svc"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(matchers::method("POST"))
        .and(matchers::path("/autodiscover/autodiscover.svc"))
        .and(matchers::header(
            "SOAPAction",
            "\"http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings\"",
        ))
        .respond_with(Sequence {
            responses: vec![
                answer(UserResponse {
                    error_code: "RedirectAddress".into(),
                    error_message: Some("Redirection address.".into()),
                    redirect_target: Some("anna.mueller@corp.contoso.com".into()),
                    settings: vec![],
                }),
                answer(UserResponse {
                    error_code: "NoError".into(),
                    error_message: Some("No error.".into()),
                    redirect_target: None,
                    settings: vec![(
                        INTERNAL_EWS_URL.into(),
                        "https://ex01.corp.contoso.com/EWS/Exchange.asmx".into(),
                    )],
                }),
            ],
            next: AtomicUsize::new(0),
            mailboxes: mailboxes.clone(),
        })
        .mount(&server)
        .await;
    let base = TransportConfig::new(
        url::Url::parse(&server.uri()).unwrap(),
        Auth::basic("CONTOSO\\svc", "pw"),
    )
    .with_retry(RetryPolicy::no_retries());
    let endpoints = vec![
        url::Url::parse(&format!("{}/broken/autodiscover.svc", server.uri())).unwrap(),
        url::Url::parse(&format!("{}/autodiscover/autodiscover.svc", server.uri())).unwrap(),
    ];
    let found = discover_ews_url(&base, "anna@contoso.com", Some(endpoints))
        .await
        .unwrap();
    assert_eq!(
        found.ews_url.as_str(),
        "https://ex01.corp.contoso.com/EWS/Exchange.asmx"
    );
    assert_eq!(found.mailbox, "anna.mueller@corp.contoso.com");
    assert_eq!(
        *mailboxes.lock().unwrap(),
        ["anna@contoso.com", "anna.mueller@corp.contoso.com"]
    );
}

#[tokio::test]
async fn invalid_user_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(matchers::method("POST"))
        .respond_with(answer(UserResponse {
            error_code: "InvalidUser".into(),
            error_message: Some("Invalid user: 'nobody@contoso.com'".into()),
            redirect_target: None,
            settings: vec![],
        }))
        .mount(&server)
        .await;
    let base = TransportConfig::new(url::Url::parse(&server.uri()).unwrap(), Auth::None);
    let endpoints =
        vec![url::Url::parse(&format!("{}/autodiscover/autodiscover.svc", server.uri())).unwrap()];
    let err = discover_ews_url(&base, "nobody@contoso.com", Some(endpoints))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("InvalidUser"), "{err}");
}

#[tokio::test]
async fn a_wrong_number_of_user_responses_is_refused() {
    let server = MockServer::start().await;
    let user = |n: usize| {
        let one = UserResponse {
            error_code: "NoError".into(),
            ..UserResponse::default()
        };
        vec![one; n]
    };
    for (received, ok) in [(0usize, false), (2, false), (1, true)] {
        server.reset().await;
        Mock::given(matchers::method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_bytes(write_response(
                &GetUserSettingsResponse {
                    error_code: "NoError".into(),
                    error_message: None,
                    users: user(received),
                },
            )))
            .mount(&server)
            .await;
        let url =
            url::Url::parse(&format!("{}/autodiscover/autodiscover.svc", server.uri())).unwrap();
        let transport = HttpTransport::new(
            TransportConfig::new(url, Auth::None).with_retry(RetryPolicy::no_retries()),
        )
        .unwrap();
        let request = GetUserSettings::ews_urls("anna@contoso.com");
        let result =
            get_user_settings(&transport, &request, std::time::Duration::from_secs(5)).await;
        if ok {
            assert_eq!(result.unwrap().users.len(), 1);
        } else {
            let err = result.unwrap_err();
            assert!(
                matches!(err, Error::ResultCount { operation: "GetUserSettings", expected: 1, received: r } if r == received),
                "{err}"
            );
        }
    }
}
