//! Shared helpers of the integration tests.
#![allow(dead_code, clippy::unwrap_used)] // tests: a panic is a failed test

use std::sync::Mutex;

use ews_client::envelope::{self, Impersonation, RequestHeaders};
use ews_client::operation::Operation;
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};

pub const ORG: &str = r#"
[settings]
domain = "CONTOSO"
seed = 42

[[users]]
address = "alice@contoso.test"
display_name = "Alice Admin"
password = "alice-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "bob@contoso.test"
display_name = "Bob"
password = "bob-pw"

[[groups]]
address = "team@contoso.test"
members = ["alice@contoso.test", "bob@contoso.test"]

[[mailboxes]]
owner = "bob@contoso.test"
folders = [{ path = "inbox/Projects/2024" }, { path = "CRM Contacts", class = "IPF.Contact" }]
items = [
  { folder = "contacts", subject = "Carol", fields = { GivenName = "Carol", Surname = "Jones" } },
  { folder = "CRM Contacts", subject = "Dave" },
]

[[apps]]
client_id = "sync-app"
client_secret = "app-secret"
tenant = "contoso"
roles = ["full_access_as_app"]

[[apps]]
client_id = "weak-app"
client_secret = "weak-secret"
"#;

pub async fn start() -> MockHandle {
    start_with(ORG).await
}

pub async fn start_with(toml: &str) -> MockHandle {
    MockServer::start(MockConfig::new(OrgData::from_toml(toml).unwrap()))
        .await
        .unwrap()
}

/// A GetFolder request for the inbox, optionally impersonating `who`.
pub fn envelope(operation: &str, impersonate: Option<&str>) -> String {
    let header = match impersonate {
        Some(who) => format!(
            "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{who}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"
        ),
        None => String::new(),
    };
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
 xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
<soap:Header><t:RequestServerVersion Version="Exchange2016"/>{header}</soap:Header>
<soap:Body><m:{operation}><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>
<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:{operation}></soap:Body>
</soap:Envelope>"#
    )
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

pub async fn post_basic(
    mock: &MockHandle,
    user: &str,
    password: &str,
    body: String,
) -> reqwest::Response {
    client()
        .post(mock.url())
        .basic_auth(user, Some(password))
        .header("Content-Type", "text/xml; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The text of the first `ResponseCode` element (fault detail or response message).
pub fn response_code(body: &str) -> Option<String> {
    let start = body.find("ResponseCode")?;
    let rest = &body[start..];
    let open_end = rest.find('>')? + 1;
    let close = rest[open_end..].find('<')?;
    Some(rest[open_end..open_end + close].to_string())
}

/// Sends typed requests as bob (or impersonating) and keeps every response for validation.
pub struct Ews<'a> {
    pub mock: &'a MockHandle,
    pub user: &'static str,
    pub password: &'static str,
    pub impersonate: Option<&'static str>,
    pub responses: Mutex<Vec<(String, Vec<u8>)>>,
}

impl<'a> Ews<'a> {
    pub fn as_user(mock: &'a MockHandle, user: &'static str, password: &'static str) -> Self {
        Ews {
            mock,
            user,
            password,
            impersonate: None,
            responses: Mutex::new(Vec::new()),
        }
    }

    pub fn bob(mock: &'a MockHandle) -> Self {
        Ews {
            mock,
            user: "bob@contoso.test",
            password: "bob-pw",
            impersonate: None,
            responses: Mutex::new(Vec::new()),
        }
    }

    pub async fn call<O: Operation>(&self, op: &O) -> O::Response {
        let mut headers = RequestHeaders::default();
        if let Some(who) = self.impersonate {
            headers = headers.with_impersonation(Impersonation::PrimarySmtpAddress(who.into()));
        }
        let body = envelope::write_request(&headers, op);
        let resp = client()
            .post(self.mock.url())
            .basic_auth(self.user, Some(self.password))
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", O::NAME);
        let bytes = resp.bytes().await.unwrap().to_vec();
        let parsed = envelope::read_response::<O>(&bytes)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
        let n = self.responses.lock().unwrap().len();
        self.responses
            .lock()
            .unwrap()
            .push((format!("{n}-{}", O::NAME), bytes));
        parsed.body.unwrap()
    }

    pub fn validate(&self) {
        let docs = self.responses.lock().unwrap();
        let refs: Vec<(&str, &[u8])> = docs
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        ews_client::schema::validate_in_test(&refs).unwrap();
    }
}

pub fn codes<T>(r: &ews_client::types::response::ResponseMessages<T>) -> Vec<String> {
    r.messages
        .iter()
        .map(|m| m.status.code.as_str().to_string())
        .collect()
}
