//! The SOAP envelope as the dispatcher sees it before authorising and dispatching a request:
//! the operation name and the impersonation header, read with `ews-client`'s XML reader.

use ews_client::xml::{Ns, XmlError, XmlReader};

/// What the dispatcher needs from a request before running it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// The operation: local name of the body's first element (`GetItem`, `GetUserSettings`).
    pub operation: String,
    /// The namespace of the operation element.
    pub namespace: Ns,
    /// The impersonated account from `ExchangeImpersonation` (SMTP address or principal name).
    pub impersonate: Option<String>,
    /// `RequestServerVersion/@Version`.
    pub server_version: Option<String>,
}

/// Reads the envelope's header and the name of the operation.
pub fn read_head(body: &[u8]) -> Result<RequestHead, XmlError> {
    let mut r = XmlReader::new(body);
    let root = r.root()?;
    if !root.is(Ns::Soap, "Envelope") {
        return Err(r.unexpected(&root, "Envelope"));
    }
    let mut impersonate = None;
    let mut server_version = None;
    let mut operation = None;
    while let Some(part) = r.next_child(&root)? {
        if part.is(Ns::Soap, "Header") {
            while let Some(h) = r.next_child(&part)? {
                if h.is(Ns::Types, "ExchangeImpersonation") {
                    while let Some(sid) = r.next_child(&h)? {
                        if sid.is(Ns::Types, "ConnectingSID") {
                            while let Some(v) = r.next_child(&sid)? {
                                let text = r.text(&v)?.trim().to_string();
                                if !text.is_empty() {
                                    impersonate = Some(text);
                                }
                            }
                        } else {
                            r.skip(&sid)?;
                        }
                    }
                } else if h.is(Ns::Types, "RequestServerVersion") {
                    server_version = h.attr("Version")?.map(|v| v.into_owned());
                    r.skip(&h)?;
                } else {
                    r.skip(&h)?;
                }
            }
        } else if part.is(Ns::Soap, "Body") {
            if let Some(op) = r.next_child(&part)? {
                operation = Some((op.local().to_string(), op.ns()));
                r.skip(&op)?;
            }
            while let Some(other) = r.next_child(&part)? {
                r.skip(&other)?;
            }
        } else {
            r.skip(&part)?;
        }
    }
    r.finish()?;
    let (operation, namespace) = r.required(&root, operation, "Body operation")?;
    Ok(RequestHead {
        operation,
        namespace,
        impersonate,
        server_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET_ITEM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
  xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"
  xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
  <soap:Header>
    <t:RequestServerVersion Version="Exchange2016"/>
    <t:ExchangeImpersonation><t:ConnectingSID>
      <t:PrimarySmtpAddress>bob@contoso.test</t:PrimarySmtpAddress>
    </t:ConnectingSID></t:ExchangeImpersonation>
  </soap:Header>
  <soap:Body><m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>
  <m:ItemIds><t:ItemId Id="x"/></m:ItemIds></m:GetItem></soap:Body>
</soap:Envelope>"#;

    #[test]
    fn head_names_operation_and_impersonation() {
        let head = read_head(GET_ITEM.as_bytes()).unwrap();
        assert_eq!(head.operation, "GetItem");
        assert_eq!(head.namespace, Ns::Messages);
        assert_eq!(head.impersonate.as_deref(), Some("bob@contoso.test"));
        assert_eq!(head.server_version.as_deref(), Some("Exchange2016"));
    }

    #[test]
    fn malformed_envelopes_are_rejected() {
        for bad in [
            "",
            "<x/>",
            "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body></soap:Body></soap:Envelope>",
            "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body><m:GetItem>",
        ] {
            assert!(read_head(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
