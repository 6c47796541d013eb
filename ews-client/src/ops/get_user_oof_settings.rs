//! `GetUserOofSettings`: a mailbox's out-of-office (automatic reply) settings. Its request
//! element is `m:GetUserOofSettingsRequest` and its response `m:GetUserOofSettingsResponse`
//! holds one `m:ResponseMessage` beside the settings.
//!
//! Microsoft reference: [GetUserOofSettings operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getuseroofsettings-operation).

use chrono::{DateTime, Utc};

use crate::operation::{Operation, OperationResponse};
use crate::types::ids::string_enum;
use crate::types::response::{ResponseMessage, ResponseStatus};
use crate::xml::{NS_MESSAGES, Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// Whether automatic replies are on (`t:OofState`).
    OofState {
        /// Off.
        Disabled = "Disabled",
        /// On.
        Enabled = "Enabled",
        /// On during the duration.
        Scheduled = "Scheduled",
    }
}

string_enum! {
    /// Who outside the organisation gets automatic replies (`t:ExternalAudience`).
    ExternalAudience {
        /// Nobody.
        None = "None",
        /// Known senders (contacts).
        Known = "Known",
        /// Everybody.
        All = "All",
    }
}

/// `m:GetUserOofSettingsRequest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUserOofSettings {
    /// The mailbox's SMTP address (`t:Mailbox/t:Address`).
    pub address: String,
}

impl Operation for GetUserOofSettings {
    const NAME: &'static str = "GetUserOofSettingsRequest";
    type Response = GetUserOofSettingsResponse;

    fn response_name() -> String {
        "GetUserOofSettingsResponse".to_owned()
    }

    fn soap_action() -> String {
        format!("{NS_MESSAGES}/GetUserOofSettings")
    }
}

impl WriteXml for GetUserOofSettings {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.element(Ns::Types, "Mailbox", |w| {
                w.text_element(Ns::Types, "Address", &self.address);
            });
        });
    }
}

impl ReadXml for GetUserOofSettings {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut address = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Types, "Mailbox") {
                while let Some(m) = r.next_child(&c)? {
                    if m.is(Ns::Types, "Address") {
                        address = Some(r.text(&m)?.into_owned());
                    } else {
                        r.skip(&m)?;
                    }
                }
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            address: r.required(start, address, "Mailbox/Address")?,
        })
    }
}

/// `t:OofSettings` (the parts clients read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOofSettings {
    /// On, off or scheduled.
    pub oof_state: OofState,
    /// External recipients of replies.
    pub external_audience: ExternalAudience,
    /// The scheduled period (`t:Duration`).
    pub duration: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// The reply to senders inside the organisation (`t:InternalReply/t:Message`).
    pub internal_reply: Option<String>,
    /// The reply to senders outside it (`t:ExternalReply/t:Message`).
    pub external_reply: Option<String>,
}

fn write_reply(w: &mut XmlWriter, name: &str, text: Option<&String>) {
    if let Some(text) = text {
        w.element(Ns::Types, name, |w| {
            w.text_element(Ns::Types, "Message", text)
        });
    }
}

fn read_reply<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<String, XmlError> {
    let mut text = String::new();
    while let Some(c) = r.next_child(start)? {
        if c.is(Ns::Types, "Message") {
            text = r.text(&c)?.into_owned();
        } else {
            r.skip(&c)?;
        }
    }
    Ok(text)
}

impl WriteXml for UserOofSettings {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.value(Ns::Types, "OofState", &self.oof_state);
            w.value(Ns::Types, "ExternalAudience", &self.external_audience);
            if let Some((start, end)) = &self.duration {
                w.element(Ns::Types, "Duration", |w| {
                    w.value(Ns::Types, "StartTime", start);
                    w.value(Ns::Types, "EndTime", end);
                });
            }
            write_reply(w, "InternalReply", self.internal_reply.as_ref());
            write_reply(w, "ExternalReply", self.external_reply.as_ref());
        });
    }
}

impl ReadXml for UserOofSettings {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut state = None;
        let mut audience = None;
        let mut out = UserOofSettings {
            oof_state: OofState::Disabled,
            external_audience: ExternalAudience::None,
            duration: None,
            internal_reply: None,
            external_reply: None,
        };
        while let Some(c) = r.next_child(start)? {
            match c.local() {
                "OofState" => state = Some(r.value(&c)?),
                "ExternalAudience" => audience = Some(r.value(&c)?),
                "Duration" => {
                    let (mut s, mut e) = (None, None);
                    while let Some(d) = r.next_child(&c)? {
                        match d.local() {
                            "StartTime" => s = Some(r.value(&d)?),
                            "EndTime" => e = Some(r.value(&d)?),
                            _ => r.skip(&d)?,
                        }
                    }
                    out.duration = s.zip(e);
                }
                "InternalReply" => out.internal_reply = Some(read_reply(r, &c)?),
                "ExternalReply" => out.external_reply = Some(read_reply(r, &c)?),
                _ => r.skip(&c)?,
            }
        }
        out.oof_state = r.required(start, state, "OofState")?;
        out.external_audience = r.required(start, audience, "ExternalAudience")?;
        Ok(out)
    }
}

/// `m:GetUserOofSettingsResponse`.
#[derive(Debug, Clone, PartialEq)]
pub struct GetUserOofSettingsResponse {
    /// The status.
    pub message: ResponseMessage<()>,
    /// The settings (none on errors).
    pub oof_settings: Option<UserOofSettings>,
    /// Which external senders the mailbox may answer (`m:AllowExternalOof`).
    pub allow_external_oof: Option<ExternalAudience>,
}

impl OperationResponse for GetUserOofSettingsResponse {
    fn statuses(&self) -> Vec<&ResponseStatus> {
        vec![&self.message.status]
    }
}

impl WriteXml for GetUserOofSettingsResponse {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.message.write_xml(w, Ns::Messages, "ResponseMessage");
            w.opt_write(Ns::Types, "OofSettings", self.oof_settings.as_ref());
            w.opt_value(
                Ns::Messages,
                "AllowExternalOof",
                self.allow_external_oof.as_ref(),
            );
        });
    }
}

impl ReadXml for GetUserOofSettingsResponse {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut message = None;
        let mut oof_settings = None;
        let mut allow_external_oof = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "ResponseMessage") {
                message = Some(ResponseMessage::<()>::read_xml(r, &c)?);
            } else if c.is(Ns::Types, "OofSettings") {
                oof_settings = Some(UserOofSettings::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "AllowExternalOof") {
                allow_external_oof = Some(r.value(&c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            message: r.required(start, message, "ResponseMessage")?,
            oof_settings,
            allow_external_oof,
        })
    }
}
