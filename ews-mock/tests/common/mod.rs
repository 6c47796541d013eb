//! Shared helpers of the integration tests.
#![allow(dead_code, clippy::unwrap_used)] // tests: a panic is a failed test

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
