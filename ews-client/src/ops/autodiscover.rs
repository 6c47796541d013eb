//! SOAP Autodiscover (`GetUserSettings`): finds the EWS URL of a mailbox on premises.
//!
//! SOAP Autodiscover has its own endpoint (`https://HOST/autodiscover/autodiscover.svc`), its
//! own namespace (`http://schemas.microsoft.com/exchange/2010/Autodiscover`) and WS-Addressing
//! headers, so it does not go through [`Operation`](crate::operation::Operation); this module
//! writes and reads its envelopes in both directions (`ews-mock` answers them) and
//! [`discover_ews_url`] runs the lookup, trying the usual endpoints of the address's domain
//! and following `RedirectAddress` / `RedirectUrl` answers.
//!
//! ```
//! use ews_client::ops::autodiscover::{GetUserSettings, read_request, write_request};
//! let req = GetUserSettings::ews_urls("anna@contoso.com");
//! let bytes = write_request(&req, "https://contoso.com/autodiscover/autodiscover.svc");
//! assert_eq!(read_request(&bytes).unwrap(), req);
//! ```
//!
//! Microsoft reference: [GetUserSettings operation (SOAP Autodiscover)](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getusersettings-operation-soap).

use std::time::Duration;

use crate::error::Error;
use crate::transport::{HttpTransport, SoapRequest, TransportConfig};
use crate::xml::{Ns, Start, XmlError, XmlReader, XmlWriter};

/// The SOAP action of `GetUserSettings`.
pub const GET_USER_SETTINGS_ACTION: &str =
    "http://schemas.microsoft.com/exchange/2010/Autodiscover/Autodiscover/GetUserSettings";

/// The setting that holds the EWS URL for clients outside the organization's network.
pub const EXTERNAL_EWS_URL: &str = "ExternalEwsUrl";
/// The setting that holds the EWS URL inside the network.
pub const INTERNAL_EWS_URL: &str = "InternalEwsUrl";

/// How many redirects [`discover_ews_url`] follows.
pub const MAX_REDIRECTS: usize = 5;

/// A `GetUserSettingsRequestMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUserSettings {
    /// `a:RequestedServerVersion` (e.g. `Exchange2013`).
    pub requested_server_version: String,
    /// The mailboxes (SMTP addresses) asked about.
    pub mailboxes: Vec<String>,
    /// The setting names.
    pub settings: Vec<String>,
}

impl GetUserSettings {
    /// Asks for the external and internal EWS URLs of `mailbox`.
    pub fn ews_urls(mailbox: impl Into<String>) -> Self {
        Self {
            requested_server_version: "Exchange2013".to_owned(),
            mailboxes: vec![mailbox.into()],
            settings: vec![EXTERNAL_EWS_URL.to_owned(), INTERNAL_EWS_URL.to_owned()],
        }
    }
}

/// One user's answer (`a:UserResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserResponse {
    /// `NoError`, `RedirectAddress`, `RedirectUrl`, `InvalidUser`, ...
    pub error_code: String,
    /// The server's explanation.
    pub error_message: Option<String>,
    /// The address or URL to retry with, for redirects.
    pub redirect_target: Option<String>,
    /// The settings returned, `(name, value)` in document order.
    pub settings: Vec<(String, String)>,
}

impl UserResponse {
    /// The value of a setting.
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A `GetUserSettingsResponseMessage`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetUserSettingsResponse {
    /// The request-level error code (`NoError` normally).
    pub error_code: String,
    /// The request-level message.
    pub error_message: Option<String>,
    /// One answer per requested mailbox.
    pub users: Vec<UserResponse>,
}

const A: Ns = Ns::Autodiscover;

fn start_envelope(w: &mut XmlWriter) {
    w.declaration();
    w.start(Ns::Soap, "Envelope")
        .xmlns(Ns::Soap)
        .xmlns(Ns::Autodiscover)
        .xmlns(Ns::Addressing)
        .xmlns(Ns::Xsi)
        .open();
}

/// Writes a `GetUserSettings` request envelope addressed to `to` (the autodiscover URL).
pub fn write_request(req: &GetUserSettings, to: &str) -> Vec<u8> {
    let mut w = XmlWriter::with_capacity(1024);
    start_envelope(&mut w);
    w.element(Ns::Soap, "Header", |w| {
        w.text_element(A, "RequestedServerVersion", &req.requested_server_version);
        w.text_element(Ns::Addressing, "Action", GET_USER_SETTINGS_ACTION);
        w.text_element(Ns::Addressing, "To", to);
    });
    w.element(Ns::Soap, "Body", |w| {
        w.element(A, "GetUserSettingsRequestMessage", |w| {
            w.element(A, "Request", |w| {
                w.element(A, "Users", |w| {
                    for m in &req.mailboxes {
                        w.element(A, "User", |w| w.text_element(A, "Mailbox", m));
                    }
                });
                w.element(A, "RequestedSettings", |w| {
                    for s in &req.settings {
                        w.text_element(A, "Setting", s);
                    }
                });
            });
        });
    });
    w.end(Ns::Soap, "Envelope");
    w.into_bytes()
}

/// Walks `Envelope/Body/<name>` and hands the element to `f`; header children are passed to
/// `header`.
fn read_body<T>(
    bytes: &[u8],
    name: &str,
    mut header: impl for<'a> FnMut(&mut XmlReader<'a>, &Start<'a>) -> Result<(), XmlError>,
    f: impl for<'a> FnOnce(&mut XmlReader<'a>, &Start<'a>) -> Result<T, XmlError>,
) -> Result<T, XmlError> {
    let mut r = XmlReader::new(bytes);
    let root = r.root()?;
    if !root.is(Ns::Soap, "Envelope") {
        return Err(r.unexpected(&root, "s:Envelope"));
    }
    let mut f = Some(f);
    let mut out = None;
    while let Some(c) = r.next_child(&root)? {
        if c.is(Ns::Soap, "Header") {
            while let Some(h) = r.next_child(&c)? {
                header(&mut r, &h)?;
                r.skip(&h)?;
            }
        } else if c.is(Ns::Soap, "Body") {
            while let Some(b) = r.next_child(&c)? {
                if b.is(A, name)
                    && let Some(f) = f.take()
                {
                    out = Some(f(&mut r, &b)?);
                    continue;
                }
                r.skip(&b)?;
            }
        } else {
            r.skip(&c)?;
        }
    }
    r.required(&root, out, &format!("Body/{name}"))
}

fn texts<'a>(
    r: &mut XmlReader<'a>,
    start: &Start<'a>,
    name: &str,
) -> Result<Vec<String>, XmlError> {
    let mut out = Vec::new();
    while let Some(c) = r.next_child(start)? {
        if c.is(A, name) {
            out.push(r.text(&c)?.trim().to_owned());
        } else {
            r.skip(&c)?;
        }
    }
    Ok(out)
}

/// Reads a `GetUserSettings` request envelope.
pub fn read_request(bytes: &[u8]) -> Result<GetUserSettings, XmlError> {
    let mut version = None;
    let mut req = read_body(
        bytes,
        "GetUserSettingsRequestMessage",
        |r, h| {
            if h.is(A, "RequestedServerVersion") {
                version = Some(r.text(h)?.trim().to_owned());
            }
            Ok(())
        },
        |r, msg| {
            let mut req = GetUserSettings {
                requested_server_version: String::new(),
                mailboxes: Vec::new(),
                settings: Vec::new(),
            };
            while let Some(request) = r.next_child(msg)? {
                if !request.is(A, "Request") {
                    r.skip(&request)?;
                    continue;
                }
                while let Some(c) = r.next_child(&request)? {
                    if c.is(A, "Users") {
                        while let Some(u) = r.next_child(&c)? {
                            if u.is(A, "User") {
                                req.mailboxes.extend(texts(r, &u, "Mailbox")?);
                            } else {
                                r.skip(&u)?;
                            }
                        }
                    } else if c.is(A, "RequestedSettings") {
                        req.settings = texts(r, &c, "Setting")?;
                    } else {
                        r.skip(&c)?;
                    }
                }
            }
            Ok(req)
        },
    )?;
    req.requested_server_version = version.unwrap_or_default();
    Ok(req)
}

/// Writes a `GetUserSettings` response envelope.
pub fn write_response(resp: &GetUserSettingsResponse) -> Vec<u8> {
    let mut w = XmlWriter::with_capacity(2048);
    start_envelope(&mut w);
    w.element(Ns::Soap, "Header", |w| {
        w.text_element(
            Ns::Addressing,
            "Action",
            &format!("{GET_USER_SETTINGS_ACTION}Response"),
        );
    });
    w.element(Ns::Soap, "Body", |w| {
        w.element(A, "GetUserSettingsResponseMessage", |w| {
            w.element(A, "Response", |w| {
                w.text_element(A, "ErrorCode", &resp.error_code);
                w.opt_value(A, "ErrorMessage", resp.error_message.as_ref());
                w.element(A, "UserResponses", |w| {
                    for u in &resp.users {
                        w.element(A, "UserResponse", |w| {
                            w.text_element(A, "ErrorCode", &u.error_code);
                            w.opt_value(A, "ErrorMessage", u.error_message.as_ref());
                            w.opt_value(A, "RedirectTarget", u.redirect_target.as_ref());
                            w.element(A, "UserSettings", |w| {
                                for (name, value) in &u.settings {
                                    w.start(A, "UserSetting")
                                        .attr_ns(Ns::Xsi, "type", "a:StringSetting")
                                        .children(|w| {
                                            w.text_element(A, "Name", name);
                                            w.text_element(A, "Value", value);
                                        });
                                }
                            });
                        });
                    }
                });
            });
        });
    });
    w.end(Ns::Soap, "Envelope");
    w.into_bytes()
}

fn read_user<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<UserResponse, XmlError> {
    let mut u = UserResponse::default();
    while let Some(c) = r.next_child(start)? {
        if c.ns() != A {
            r.skip(&c)?;
            continue;
        }
        match c.local() {
            "ErrorCode" => u.error_code = r.text(&c)?.trim().to_owned(),
            "ErrorMessage" => u.error_message = non_empty(r.text(&c)?.into_owned()),
            "RedirectTarget" => u.redirect_target = non_empty(r.text(&c)?.trim().to_owned()),
            "UserSettings" => {
                while let Some(s) = r.next_child(&c)? {
                    if !s.is(A, "UserSetting") {
                        r.skip(&s)?;
                        continue;
                    }
                    let mut name = None;
                    let mut value = None;
                    while let Some(f) = r.next_child(&s)? {
                        if f.is(A, "Name") {
                            name = Some(r.text(&f)?.trim().to_owned());
                        } else if f.is(A, "Value") {
                            value = Some(r.text(&f)?.trim().to_owned());
                        } else {
                            r.skip(&f)?;
                        }
                    }
                    if let Some(name) = name {
                        u.settings.push((name, value.unwrap_or_default()));
                    }
                }
            }
            _ => r.skip(&c)?,
        }
    }
    Ok(u)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Reads a `GetUserSettings` response envelope.
pub fn read_response(bytes: &[u8]) -> Result<GetUserSettingsResponse, XmlError> {
    read_body(
        bytes,
        "GetUserSettingsResponseMessage",
        |_, _| Ok(()),
        |r, msg| {
            let mut resp = GetUserSettingsResponse::default();
            while let Some(response) = r.next_child(msg)? {
                if !response.is(A, "Response") {
                    r.skip(&response)?;
                    continue;
                }
                while let Some(c) = r.next_child(&response)? {
                    if c.ns() != A {
                        r.skip(&c)?;
                        continue;
                    }
                    match c.local() {
                        "ErrorCode" => resp.error_code = r.text(&c)?.trim().to_owned(),
                        "ErrorMessage" => resp.error_message = non_empty(r.text(&c)?.into_owned()),
                        "UserResponses" => {
                            while let Some(u) = r.next_child(&c)? {
                                if u.is(A, "UserResponse") {
                                    resp.users.push(read_user(r, &u)?);
                                } else {
                                    r.skip(&u)?;
                                }
                            }
                        }
                        _ => r.skip(&c)?,
                    }
                }
            }
            Ok(resp)
        },
    )
}

/// The outcome of [`discover_ews_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// The EWS URL (external if the server named one, else internal).
    pub ews_url: url::Url,
    /// The internal EWS URL, if the server named one.
    pub internal_ews_url: Option<url::Url>,
    /// The autodiscover endpoint that answered.
    pub autodiscover_url: url::Url,
    /// The mailbox address the answer is for (after address redirects).
    pub mailbox: String,
}

/// The autodiscover endpoints tried for an address: `https://DOMAIN/autodiscover/autodiscover.svc`
/// and `https://autodiscover.DOMAIN/autodiscover/autodiscover.svc`.
pub fn candidate_urls(email: &str) -> Result<Vec<url::Url>, Error> {
    let domain = email
        .rsplit_once('@')
        .map(|(_, d)| d.trim())
        .filter(|d| !d.is_empty())
        .ok_or_else(|| Error::InvalidRequest(format!("not an email address: {email:?}")))?;
    [
        format!("https://{domain}/autodiscover/autodiscover.svc"),
        format!("https://autodiscover.{domain}/autodiscover/autodiscover.svc"),
    ]
    .iter()
    .map(|u| url::Url::parse(u).map_err(|e| Error::InvalidRequest(format!("{u}: {e}"))))
    .collect()
}

/// Asks one autodiscover endpoint for the user settings of `mailbox`.
pub async fn get_user_settings(
    transport: &HttpTransport,
    request: &GetUserSettings,
    timeout: Duration,
) -> Result<GetUserSettingsResponse, Error> {
    let body = write_request(request, transport.url().as_str());
    let raw = transport
        .post(SoapRequest::new(body, GET_USER_SETTINGS_ACTION, timeout))
        .await?;
    let clean = |t: &str| transport.scrubber().scrub(t);
    if raw.status != 200 {
        if let Some(mut fault) = crate::envelope::read_fault(&raw.body) {
            fault.fault_code = clean(&fault.fault_code);
            fault.fault_string = clean(&fault.fault_string);
            fault.message = fault.message.map(|m| clean(&m));
            return Err(Error::from(fault));
        }
        return Err(Error::HttpStatus {
            status: raw.status,
            body: clean(String::from_utf8_lossy(&raw.body).trim()),
            cause: None,
        });
    }
    let response = read_response(&raw.body).map_err(|e| Error::Parse(e.cleaned(clean)))?;
    // one user response per requested mailbox, in request order
    if response.error_code == "NoError" && response.users.len() != request.mailboxes.len() {
        return Err(Error::ResultCount {
            operation: "GetUserSettings",
            expected: request.mailboxes.len(),
            received: response.users.len(),
        });
    }
    Ok(response)
}

/// Finds the EWS URL for `email`.
///
/// `base` supplies authentication, TLS and timeouts; its URL is replaced by each endpoint
/// tried: `endpoints` if given, else [`candidate_urls`]. `RedirectAddress` restarts with the
/// new address, `RedirectUrl` asks the named endpoint, both at most [`MAX_REDIRECTS`] times.
/// Fails with the last error when no endpoint answers with an EWS URL.
pub async fn discover_ews_url(
    base: &TransportConfig,
    email: &str,
    endpoints: Option<Vec<url::Url>>,
) -> Result<Discovered, Error> {
    let timeout = base.timeout;
    let mut mailbox = email.to_owned();
    let mut queue = match endpoints {
        Some(list) => list,
        None => candidate_urls(email)?,
    };
    let mut redirects = 0;
    let mut last_error = Error::InvalidRequest(format!("no autodiscover endpoint for {email}"));
    let mut i = 0;
    while i < queue.len() {
        let url = queue[i].clone();
        i += 1;
        let mut config = base.clone();
        config.url = url.clone();
        let transport = HttpTransport::new(config)?;
        let resp = match get_user_settings(
            &transport,
            &GetUserSettings::ews_urls(&mailbox),
            timeout,
        )
        .await
        {
            Ok(resp) => resp,
            Err(e) => {
                tracing::debug!(%url, error = %e, "autodiscover endpoint failed");
                last_error = e;
                continue;
            }
        };
        let Some(user) = resp.users.into_iter().next() else {
            last_error = Error::InvalidRequest(format!(
                "autodiscover at {url} answered {} without a user response",
                crate::transport::sanitize_server_text(&resp.error_code, 100)
            ));
            continue;
        };
        match user.error_code.as_str() {
            "NoError" => {
                let parse = |name| {
                    user.setting(name)
                        .filter(|v| !v.is_empty())
                        .and_then(|v| url::Url::parse(v).ok())
                };
                let internal = parse(INTERNAL_EWS_URL);
                if let Some(ews_url) = parse(EXTERNAL_EWS_URL).or_else(|| internal.clone()) {
                    return Ok(Discovered {
                        ews_url,
                        internal_ews_url: internal,
                        autodiscover_url: url,
                        mailbox,
                    });
                }
                last_error = Error::InvalidRequest(format!(
                    "autodiscover at {url} returned no EWS URL for {mailbox}"
                ));
            }
            "RedirectAddress" | "RedirectUrl" if redirects < MAX_REDIRECTS => {
                redirects += 1;
                let Some(target) = user.redirect_target else {
                    continue;
                };
                if user.error_code == "RedirectAddress" {
                    tracing::debug!(from = %mailbox, to = %target, "autodiscover address redirect");
                    mailbox = target;
                    queue.insert(i, url);
                } else if let Ok(next) = url::Url::parse(&target)
                    && next.scheme() == "https"
                {
                    queue.insert(i, next);
                }
            }
            code => {
                last_error = Error::InvalidRequest(format!(
                    "autodiscover at {url} answered {code} for {mailbox}: {}",
                    user.error_message.unwrap_or_default()
                ));
            }
        }
    }
    Err(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_round_trip_and_namespace() {
        let resp = GetUserSettingsResponse {
            error_code: "NoError".into(),
            error_message: None,
            users: vec![UserResponse {
                error_code: "NoError".into(),
                error_message: Some("No error.".into()),
                redirect_target: None,
                settings: vec![
                    (
                        EXTERNAL_EWS_URL.into(),
                        "https://mail.contoso.com/EWS/Exchange.asmx".into(),
                    ),
                    (
                        INTERNAL_EWS_URL.into(),
                        "https://ex01.corp.contoso.com/EWS/Exchange.asmx".into(),
                    ),
                ],
            }],
        };
        let bytes = write_response(&resp);
        assert!(String::from_utf8_lossy(&bytes).contains(crate::xml::NS_AUTODISCOVER));
        assert_eq!(read_response(&bytes).unwrap(), resp);
        assert_eq!(
            resp.users[0].setting(EXTERNAL_EWS_URL),
            Some("https://mail.contoso.com/EWS/Exchange.asmx")
        );
    }

    #[test]
    fn candidates_come_from_the_domain() {
        let urls = candidate_urls("anna@contoso.com").unwrap();
        assert_eq!(
            urls[0].as_str(),
            "https://contoso.com/autodiscover/autodiscover.svc"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://autodiscover.contoso.com/autodiscover/autodiscover.svc"
        );
        assert!(candidate_urls("no-at-sign").is_err());
    }
}
