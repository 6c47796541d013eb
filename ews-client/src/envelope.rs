//! The SOAP 1.1 envelope of EWS requests and responses, in both directions.
//!
//! * Requests: [`write_request`] writes `s:Envelope` with the [`RequestHeaders`]
//!   (`t:RequestServerVersion`, `t:ExchangeImpersonation`, `t:TimeZoneContext`,
//!   `t:MailboxCulture`) and the operation as body; [`read_request`] reads one back (the mock
//!   server does this; [`crate::ops::AnyRequest`] dispatches on the operation).
//! * Responses: [`write_response`] writes `t:ServerVersionInfo` and the response body;
//!   [`read_response`] reads either the response or a SOAP fault ([`SoapFault`], written by
//!   [`write_fault`]).
//!
//! Reading matches namespace URIs and local names, whatever the prefixes, and skips unknown
//! header and body elements.
//!
//! ```
//! use ews_client::envelope::{Impersonation, RequestHeaders, read_request, write_request};
//! use ews_client::ops::GetFolder;
//! use ews_client::types::DistinguishedFolderName;
//!
//! let headers = RequestHeaders::default()
//!     .with_impersonation(Impersonation::PrimarySmtpAddress("anna@contoso.com".into()));
//! let op = GetFolder::new([DistinguishedFolderName::Inbox]);
//! let bytes = write_request(&headers, &op);
//! let (back_headers, back): (RequestHeaders, GetFolder) = read_request(&bytes).unwrap();
//! assert_eq!(back_headers, headers);
//! assert_eq!(back, op);
//! ```

use std::borrow::Cow;
use std::time::Duration;

use crate::operation::Operation;
use crate::types::ids::string_enum;
use crate::types::response::{MessageXml, ResponseCode};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// The schema version a request asks for (`t:ExchangeVersionType`); the default is
    /// Exchange2016.
    #[derive(Default)]
    ExchangeVersion {
        /// Exchange 2007.
        Exchange2007 = "Exchange2007",
        /// Exchange 2007 SP1.
        Exchange2007Sp1 = "Exchange2007_SP1",
        /// Exchange 2009.
        Exchange2009 = "Exchange2009",
        /// Exchange 2010.
        Exchange2010 = "Exchange2010",
        /// Exchange 2010 SP1.
        Exchange2010Sp1 = "Exchange2010_SP1",
        /// Exchange 2010 SP2.
        Exchange2010Sp2 = "Exchange2010_SP2",
        /// Exchange 2012.
        Exchange2012 = "Exchange2012",
        /// Exchange 2013.
        Exchange2013 = "Exchange2013",
        /// Exchange 2013 SP1.
        Exchange2013Sp1 = "Exchange2013_SP1",
        /// Exchange 2015.
        Exchange2015 = "Exchange2015",
        /// Exchange 2016 (also accepted by 2019, Subscription Edition and Exchange Online).
        #[default]
        Exchange2016 = "Exchange2016",
        /// V2015_10_05.
        V2015_10_05 = "V2015_10_05",
        /// V2016_01_06.
        V2016_01_06 = "V2016_01_06",
        /// V2016_04_13.
        V2016_04_13 = "V2016_04_13",
        /// V2016_07_13.
        V2016_07_13 = "V2016_07_13",
        /// V2016_10_10.
        V2016_10_10 = "V2016_10_10",
        /// V2017_01_07.
        V2017_01_07 = "V2017_01_07",
        /// V2017_04_14.
        V2017_04_14 = "V2017_04_14",
        /// V2017_07_11.
        V2017_07_11 = "V2017_07_11",
        /// V2017_10_09.
        V2017_10_09 = "V2017_10_09",
        /// V2018_01_08.
        V2018_01_08 = "V2018_01_08",
    }
}

/// Whose mailbox a request acts on (`t:ExchangeImpersonation/t:ConnectingSID`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Impersonation {
    /// `t:PrimarySmtpAddress` (the usual choice).
    PrimarySmtpAddress(String),
    /// `t:SmtpAddress` (any proxy address of the mailbox).
    SmtpAddress(String),
    /// `t:PrincipalName` (user principal name).
    PrincipalName(String),
    /// `t:SID` (security identifier in SDDL form).
    Sid(String),
}

impl Impersonation {
    /// The value (address, principal name or SID).
    pub fn value(&self) -> &str {
        match self {
            Impersonation::PrimarySmtpAddress(v)
            | Impersonation::SmtpAddress(v)
            | Impersonation::PrincipalName(v)
            | Impersonation::Sid(v) => v,
        }
    }

    /// The value for the `X-AnchorMailbox` HTTP header (SMTP addresses and principal names;
    /// a SID cannot anchor).
    pub fn anchor_mailbox(&self) -> Option<&str> {
        match self {
            Impersonation::Sid(_) => None,
            other => Some(other.value()),
        }
    }

    fn element(&self) -> &'static str {
        match self {
            Impersonation::PrimarySmtpAddress(_) => "PrimarySmtpAddress",
            Impersonation::SmtpAddress(_) => "SmtpAddress",
            Impersonation::PrincipalName(_) => "PrincipalName",
            Impersonation::Sid(_) => "SID",
        }
    }
}

impl WriteXml for Impersonation {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.element(Ns::Types, "ConnectingSID", |w| {
                w.text_element(Ns::Types, self.element(), self.value());
            });
        });
    }
}

impl ReadXml for Impersonation {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut found = None;
        while let Some(sid) = r.next_child(start)? {
            if !sid.is(Ns::Types, "ConnectingSID") {
                r.skip(&sid)?;
                continue;
            }
            while let Some(child) = r.next_child(&sid)? {
                let make: Option<fn(String) -> Impersonation> = match child.local() {
                    _ if child.ns() != Ns::Types => None,
                    "PrimarySmtpAddress" => Some(Impersonation::PrimarySmtpAddress),
                    "SmtpAddress" => Some(Impersonation::SmtpAddress),
                    "PrincipalName" => Some(Impersonation::PrincipalName),
                    "SID" => Some(Impersonation::Sid),
                    _ => None,
                };
                match make {
                    Some(make) => found = Some(make(r.text(&child)?.trim().to_owned())),
                    None => r.skip(&child)?,
                }
            }
        }
        r.required(start, found, "ConnectingSID")
    }
}

/// The SOAP headers of a request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestHeaders {
    /// `t:RequestServerVersion/@Version` (default Exchange2016).
    pub server_version: ExchangeVersion,
    /// `t:ExchangeImpersonation`, when acting on another mailbox.
    pub impersonation: Option<Impersonation>,
    /// `t:TimeZoneContext/t:TimeZoneDefinition/@Id`: the Windows time zone id in which the
    /// server interprets and returns local times (e.g. `W. Europe Standard Time`).
    pub time_zone: Option<String>,
    /// `t:MailboxCulture` (e.g. `de-DE`).
    pub mailbox_culture: Option<String>,
}

impl RequestHeaders {
    /// Sets the impersonated mailbox.
    pub fn with_impersonation(mut self, impersonation: Impersonation) -> Self {
        self.impersonation = Some(impersonation);
        self
    }

    /// Sets the time zone context (Windows time zone id).
    pub fn with_time_zone(mut self, id: impl Into<String>) -> Self {
        self.time_zone = Some(id.into());
        self
    }

    /// Sets the mailbox culture.
    pub fn with_mailbox_culture(mut self, culture: impl Into<String>) -> Self {
        self.mailbox_culture = Some(culture.into());
        self
    }

    /// Sets the requested server version.
    pub fn with_server_version(mut self, version: ExchangeVersion) -> Self {
        self.server_version = version;
        self
    }

    fn write(&self, w: &mut XmlWriter) {
        w.start(Ns::Types, "RequestServerVersion")
            .attr_value("Version", &self.server_version)
            .empty();
        if let Some(culture) = &self.mailbox_culture {
            w.text_element(Ns::Types, "MailboxCulture", culture);
        }
        if let Some(imp) = &self.impersonation {
            imp.write_xml(w, Ns::Types, "ExchangeImpersonation");
        }
        if let Some(tz) = &self.time_zone {
            w.element(Ns::Types, "TimeZoneContext", |w| {
                w.start(Ns::Types, "TimeZoneDefinition")
                    .attr("Id", tz)
                    .empty();
            });
        }
    }

    fn read_child<'a>(&mut self, r: &mut XmlReader<'a>, child: &Start<'a>) -> Result<(), XmlError> {
        if child.is(Ns::Types, "RequestServerVersion") {
            self.server_version = child.required_attr_value(r, "Version")?;
            r.skip(child)?;
        } else if child.is(Ns::Types, "ExchangeImpersonation") {
            self.impersonation = Some(Impersonation::read_xml(r, child)?);
        } else if child.is(Ns::Types, "MailboxCulture") {
            self.mailbox_culture = Some(r.text(child)?.trim().to_owned());
        } else if child.is(Ns::Types, "TimeZoneContext") {
            while let Some(def) = r.next_child(child)? {
                if def.is(Ns::Types, "TimeZoneDefinition") {
                    self.time_zone = def.attr("Id")?.map(Cow::into_owned);
                }
                r.skip(&def)?;
            }
        } else {
            r.skip(child)?;
        }
        Ok(())
    }
}

/// The server's version (`t:ServerVersionInfo` response header).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerVersionInfo {
    /// Major version (15 for Exchange 2013 to SE and Exchange Online).
    pub major_version: Option<i32>,
    /// Minor version (1 for 2016, 2 for 2019 and SE, 20 for Exchange Online).
    pub minor_version: Option<i32>,
    /// Major build number.
    pub major_build_number: Option<i32>,
    /// Minor build number.
    pub minor_build_number: Option<i32>,
    /// Schema version string (`V2017_07_11`, `V2_48`, ...).
    pub version: Option<String>,
}

impl WriteXml for ServerVersionInfo {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_opt("MajorVersion", self.major_version.as_ref())
            .attr_opt("MinorVersion", self.minor_version.as_ref())
            .attr_opt("MajorBuildNumber", self.major_build_number.as_ref())
            .attr_opt("MinorBuildNumber", self.minor_build_number.as_ref())
            .attr_opt("Version", self.version.as_ref())
            .empty();
    }
}

impl ReadXml for ServerVersionInfo {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let info = Self {
            major_version: start.attr_value(r, "MajorVersion")?,
            minor_version: start.attr_value(r, "MinorVersion")?,
            major_build_number: start.attr_value(r, "MajorBuildNumber")?,
            minor_build_number: start.attr_value(r, "MinorBuildNumber")?,
            version: start.attr("Version")?.map(Cow::into_owned),
        };
        r.skip(start)?;
        Ok(info)
    }
}

/// A SOAP fault (`s:Fault`), as Exchange sends for `ErrorServerBusy` (HTTP 500),
/// `ErrorSchemaValidation`, `ErrorInvalidServerVersion` and similar request-level failures.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SoapFault {
    /// `faultcode`, e.g. `a:ErrorServerBusy` or `s:Client`.
    pub fault_code: String,
    /// `faultstring`: the human-readable reason.
    pub fault_string: String,
    /// `detail/e:ResponseCode`.
    pub response_code: Option<ResponseCode>,
    /// `detail/e:Message`.
    pub message: Option<String>,
    /// `detail/t:MessageXml` (`BackOffMilliseconds`, `LineNumber`, `Violation`, ...).
    pub message_xml: MessageXml,
}

impl SoapFault {
    /// A fault for an EWS response code (`faultcode` `t:{code}`, `detail/e:ResponseCode`).
    pub fn for_code(code: ResponseCode, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            fault_code: format!("t:{}", code.as_str()),
            fault_string: message.clone(),
            response_code: Some(code),
            message: Some(message),
            message_xml: MessageXml::default(),
        }
    }

    /// The `ErrorServerBusy` fault Exchange sends with HTTP 500 when it throttles a caller,
    /// asking it to wait `back_off`.
    pub fn server_busy(back_off: Duration) -> Self {
        let mut fault = Self::for_code(
            ResponseCode::ErrorServerBusy,
            "The server cannot service this request right now. Try again later.",
        );
        fault.message_xml = MessageXml(vec![crate::types::response::MessageXmlValue::named(
            "BackOffMilliseconds",
            back_off.as_millis().to_string(),
        )]);
        fault
    }

    /// The EWS response code: `detail/ResponseCode`, else the local part of `faultcode`
    /// when it names an EWS error (`a:ErrorServerBusy`).
    pub fn code(&self) -> Option<ResponseCode> {
        if let Some(code) = &self.response_code {
            return Some(code.clone());
        }
        let local = self
            .fault_code
            .rsplit_once(':')
            .map_or(self.fault_code.as_str(), |(_, l)| l);
        local
            .starts_with("Error")
            .then(|| ResponseCode::parse(local))
    }

    /// `BackOffMilliseconds`, when the fault is `ErrorServerBusy`.
    pub fn back_off(&self) -> Option<Duration> {
        self.message_xml.back_off()
    }
}

impl std::fmt::Display for SoapFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code();
        let code = code
            .as_ref()
            .map_or(self.fault_code.as_str(), ResponseCode::as_str);
        write!(f, "{code}: {}", self.fault_string)?;
        if let Some(line) = self.message_xml.get("LineNumber") {
            write!(f, " (line {line}")?;
            if let Some(pos) = self.message_xml.get("LinePosition") {
                write!(f, ", position {pos}")?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl WriteXml for SoapFault {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.text_element(Ns::None, "faultcode", &self.fault_code);
            w.text_element(Ns::None, "faultstring", &self.fault_string);
            if self.response_code.is_some()
                || self.message.is_some()
                || !self.message_xml.is_empty()
            {
                w.start(Ns::None, "detail").xmlns(Ns::Errors).children(|w| {
                    w.opt_value(Ns::Errors, "ResponseCode", self.response_code.as_ref());
                    w.opt_value(Ns::Errors, "Message", self.message.as_ref());
                    if !self.message_xml.is_empty() {
                        w.write(Ns::Types, "MessageXml", &self.message_xml);
                    }
                });
            }
        });
    }
}

impl ReadXml for SoapFault {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut fault = SoapFault::default();
        while let Some(child) = r.next_child(start)? {
            match child.local() {
                "faultcode" => fault.fault_code = r.text(&child)?.trim().to_owned(),
                "faultstring" => fault.fault_string = r.text(&child)?.into_owned(),
                "detail" => {
                    while let Some(d) = r.next_child(&child)? {
                        match d.local() {
                            "ResponseCode" => {
                                fault.response_code = Some(ResponseCode::parse(&r.text(&d)?));
                            }
                            "Message" => fault.message = Some(r.text(&d)?.into_owned()),
                            "MessageXml" => fault.message_xml = MessageXml::read_xml(r, &d)?,
                            _ => r.skip(&d)?,
                        }
                    }
                }
                _ => r.skip(&child)?,
            }
        }
        Ok(fault)
    }
}

/// A parsed response envelope: the server version header and either the response body or
/// a SOAP fault.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseEnvelope<T> {
    /// `t:ServerVersionInfo`, when the server sent it.
    pub server_version: Option<ServerVersionInfo>,
    /// The body element, or the fault.
    pub body: Result<T, SoapFault>,
}

fn start_envelope(w: &mut XmlWriter) {
    w.declaration();
    w.start_root(Ns::Soap, "Envelope").open();
}

/// Writes a request envelope for an operation.
pub fn write_request<O: Operation>(headers: &RequestHeaders, op: &O) -> Vec<u8> {
    write_request_body(headers, |w| op.write_xml(w, Ns::Messages, O::NAME))
}

/// Writes a request envelope whose body `body` writes (for request types outside
/// [`Operation`], such as [`crate::ops::AnyRequest`]).
pub fn write_request_body(headers: &RequestHeaders, body: impl FnOnce(&mut XmlWriter)) -> Vec<u8> {
    let mut w = XmlWriter::with_capacity(1024);
    start_envelope(&mut w);
    w.element(Ns::Soap, "Header", |w| headers.write(w));
    w.element(Ns::Soap, "Body", body);
    w.end(Ns::Soap, "Envelope");
    w.into_bytes()
}

/// Reads the headers of a request envelope and hands the first body element to `body`.
pub fn read_request_with<T>(
    bytes: &[u8],
    body: impl for<'a> FnOnce(&mut XmlReader<'a>, &Start<'a>) -> Result<T, XmlError>,
) -> Result<(RequestHeaders, T), XmlError> {
    let mut r = XmlReader::new(bytes);
    let root = r.root()?;
    if !root.is(Ns::Soap, "Envelope") {
        return Err(r.unexpected(&root, "s:Envelope"));
    }
    let mut headers = RequestHeaders::default();
    let mut result = None;
    let mut body_fn = Some(body);
    while let Some(child) = r.next_child(&root)? {
        if child.is(Ns::Soap, "Header") {
            while let Some(h) = r.next_child(&child)? {
                headers.read_child(&mut r, &h)?;
            }
        } else if child.is(Ns::Soap, "Body") {
            while let Some(b) = r.next_child(&child)? {
                match (body_fn.take(), result.is_none()) {
                    (Some(f), true) => result = Some(f(&mut r, &b)?),
                    _ => r.skip(&b)?,
                }
            }
        } else {
            r.skip(&child)?;
        }
    }
    r.finish()?;
    let result = r.required(&root, result, "Body/*")?;
    Ok((headers, result))
}

/// Reads a request envelope for a known operation.
pub fn read_request<O: Operation>(bytes: &[u8]) -> Result<(RequestHeaders, O), XmlError> {
    read_request_with(bytes, |r, start| {
        if start.is(Ns::Messages, O::NAME) {
            O::read_xml(r, start)
        } else {
            Err(r.unexpected(start, &format!("m:{}", O::NAME)))
        }
    })
}

/// Writes a response envelope: `t:ServerVersionInfo` (if given) and the body element
/// `m:{name}`.
pub fn write_response<R: WriteXml + ?Sized>(
    server_version: Option<&ServerVersionInfo>,
    name: &str,
    response: &R,
) -> Vec<u8> {
    write_response_in(server_version, |w| {
        response.write_xml(w, Ns::Messages, name)
    })
}

/// Writes the response envelope of an operation (`m:{NAME}Response`).
pub fn write_operation_response<O: Operation>(
    server_version: Option<&ServerVersionInfo>,
    response: &O::Response,
) -> Vec<u8> {
    write_response(server_version, &O::response_name(), response)
}

/// Writes a SOAP fault envelope (sent with HTTP 500).
pub fn write_fault(server_version: Option<&ServerVersionInfo>, fault: &SoapFault) -> Vec<u8> {
    write_response_in(server_version, |w| fault.write_xml(w, Ns::Soap, "Fault"))
}

fn write_response_in(
    server_version: Option<&ServerVersionInfo>,
    body: impl FnOnce(&mut XmlWriter),
) -> Vec<u8> {
    let mut w = XmlWriter::with_capacity(1024);
    start_envelope(&mut w);
    if let Some(info) = server_version {
        w.element(Ns::Soap, "Header", |w| {
            info.write_xml(w, Ns::Types, "ServerVersionInfo")
        });
    }
    w.element(Ns::Soap, "Body", body);
    w.end(Ns::Soap, "Envelope");
    w.into_bytes()
}

/// Reads a response envelope whose body element is `ns:name` (read as `T`) or an `s:Fault`.
pub fn read_response_as<T: ReadXml>(
    bytes: &[u8],
    ns: Ns,
    name: &str,
) -> Result<ResponseEnvelope<T>, XmlError> {
    read_response_charset(bytes, None, ns, name)
}

/// Like [`read_response_as`] for a document whose HTTP `charset` parameter is known (see
/// [`crate::xml::to_utf8`]: UTF-16 and declared 8-bit encodings are transcoded first).
pub fn read_response_charset<T: ReadXml>(
    bytes: &[u8],
    charset: Option<&str>,
    ns: Ns,
    name: &str,
) -> Result<ResponseEnvelope<T>, XmlError> {
    let bytes = crate::xml::to_utf8(bytes, charset)?;
    let mut r = XmlReader::new(&bytes);
    let root = r.root()?;
    if !root.is(Ns::Soap, "Envelope") {
        return Err(r.unexpected(&root, "s:Envelope"));
    }
    let mut server_version = None;
    let mut body: Option<Result<T, SoapFault>> = None;
    while let Some(child) = r.next_child(&root)? {
        if child.is(Ns::Soap, "Header") {
            while let Some(h) = r.next_child(&child)? {
                if h.is(Ns::Types, "ServerVersionInfo") {
                    server_version = Some(ServerVersionInfo::read_xml(&mut r, &h)?);
                } else {
                    r.skip(&h)?;
                }
            }
        } else if child.is(Ns::Soap, "Body") {
            while let Some(b) = r.next_child(&child)? {
                if body.is_some() {
                    r.skip(&b)?;
                } else if b.is(Ns::Soap, "Fault") {
                    body = Some(Err(SoapFault::read_xml(&mut r, &b)?));
                } else if b.is(ns, name) {
                    body = Some(Ok(T::read_xml(&mut r, &b)?));
                } else {
                    return Err(r.unexpected(&b, &format!("{}:{name} or s:Fault", ns.prefix())));
                }
            }
        } else {
            r.skip(&child)?;
        }
    }
    r.finish()?;
    let body = r.required(&root, body, "Body")?;
    Ok(ResponseEnvelope {
        server_version,
        body,
    })
}

/// Reads the response envelope of an operation.
pub fn read_response<O: Operation>(
    bytes: &[u8],
) -> Result<ResponseEnvelope<O::Response>, XmlError> {
    read_response_as(bytes, Ns::Messages, &O::response_name())
}

/// Reads just a SOAP fault from a response envelope, if it holds one (for HTTP 500 answers
/// whose body is not the expected response).
pub fn read_fault(bytes: &[u8]) -> Option<SoapFault> {
    struct Never;
    impl ReadXml for Never {
        fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
            Err(r.unexpected(start, "s:Fault"))
        }
    }
    match read_response_as::<Never>(bytes, Ns::Other, "") {
        Ok(ResponseEnvelope { body: Err(f), .. }) => Some(f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{FolderInfo, GetFolder};
    use crate::types::DistinguishedFolderName;
    use crate::types::folder::{Folder, FolderKind};
    use crate::types::response::{MessageXmlValue, ResponseMessage, ResponseMessages};

    #[test]
    fn request_headers_round_trip_for_every_impersonation_kind() {
        for imp in [
            Impersonation::PrimarySmtpAddress("anna@contoso.com".into()),
            Impersonation::SmtpAddress("a@contoso.com".into()),
            Impersonation::PrincipalName("anna@corp.contoso.com".into()),
            Impersonation::Sid("S-1-5-21-1-2-3-500".into()),
        ] {
            let headers = RequestHeaders::default()
                .with_impersonation(imp)
                .with_time_zone("W. Europe Standard Time")
                .with_mailbox_culture("de-DE")
                .with_server_version(ExchangeVersion::Exchange2013Sp1);
            let op = GetFolder::new([DistinguishedFolderName::Contacts]);
            let bytes = write_request(&headers, &op);
            let (h, back): (RequestHeaders, GetFolder) = read_request(&bytes).unwrap();
            assert_eq!(h, headers);
            assert_eq!(back, op);
        }
    }

    #[test]
    fn response_and_fault_round_trip() {
        let info = ServerVersionInfo {
            major_version: Some(15),
            minor_version: Some(2),
            major_build_number: Some(1118),
            minor_build_number: Some(7),
            version: Some("V2017_07_11".into()),
        };
        let resp = ResponseMessages::new(vec![ResponseMessage::success(FolderInfo {
            folders: vec![Folder::new(FolderKind::ContactsFolder, "Contacts")],
        })]);
        let bytes = write_operation_response::<GetFolder>(Some(&info), &resp);
        let env = read_response::<GetFolder>(&bytes).unwrap();
        assert_eq!(env.server_version.as_ref(), Some(&info));
        assert_eq!(env.body.unwrap(), resp);

        let mut fault = SoapFault::for_code(ResponseCode::ErrorServerBusy, "busy");
        fault.message_xml = MessageXml(vec![MessageXmlValue::named("BackOffMilliseconds", "300")]);
        let bytes = write_fault(None, &fault);
        let env = read_response::<GetFolder>(&bytes).unwrap();
        let back = env.body.unwrap_err();
        assert_eq!(back, fault);
        assert_eq!(back.back_off(), Some(Duration::from_millis(300)));
        assert_eq!(read_fault(&bytes), Some(fault));
    }

    #[test]
    fn wrong_body_element_is_an_error_with_path() {
        let resp: ResponseMessages<FolderInfo> = ResponseMessages::default();
        let bytes = write_response(None, "FindFolderResponse", &resp);
        let err = read_response::<GetFolder>(&bytes).unwrap_err();
        assert!(err.to_string().contains("GetFolderResponse"), "{err}");
        assert!(err.path().starts_with("Envelope/Body"), "{}", err.path());
    }
}
