//! `GetUserPhoto`: a user's photo. Its response body is itself one response message
//! (`m:GetUserPhotoResponse`, of `m:GetUserPhotoResponseMessageType`).
//!
//! Microsoft reference: [GetUserPhoto operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getuserphoto-operation).

use crate::operation::{Operation, OperationResponse};
use crate::types::response::{ResponseContent, ResponseMessage, ResponseStatus};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:GetUserPhoto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUserPhoto {
    /// The user's SMTP address.
    pub email: String,
    /// The size (`t:UserPhotoSizeType`, e.g. `HR96x96`).
    pub size_requested: String,
}

impl Operation for GetUserPhoto {
    const NAME: &'static str = "GetUserPhoto";
    type Response = GetUserPhotoResponse;
}

impl WriteXml for GetUserPhoto {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            w.text_element(Ns::Messages, "Email", &self.email);
            w.text_element(Ns::Messages, "SizeRequested", &self.size_requested);
        });
    }
}

impl ReadXml for GetUserPhoto {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let (mut email, mut size) = (None, None);
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "Email") {
                email = Some(r.text(&c)?.into_owned());
            } else if c.is(Ns::Messages, "SizeRequested") {
                size = Some(r.text(&c)?.into_owned());
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            email: r.required(start, email, "Email")?,
            size_requested: r.required(start, size, "SizeRequested")?,
        })
    }
}

/// The content of the response: whether the photo changed and its data (base64 as sent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserPhoto {
    /// `m:HasChanged` (written on errors too: the schema requires it).
    pub has_changed: bool,
    /// `m:PictureData`.
    pub picture_data: Option<String>,
}

impl ResponseContent for UserPhoto {
    fn write_content(&self, w: &mut XmlWriter) {
        w.value(Ns::Messages, "HasChanged", &self.has_changed);
        w.opt_value(Ns::Messages, "PictureData", self.picture_data.as_ref());
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if child.is(Ns::Messages, "HasChanged") {
            self.has_changed = r.value(child)?;
        } else if child.is(Ns::Messages, "PictureData") {
            self.picture_data = Some(r.text(child)?.into_owned());
        } else {
            return Ok(false);
        }
        Ok(true)
    }
}

/// `m:GetUserPhotoResponse`: one response message.
#[derive(Debug, Clone, PartialEq)]
pub struct GetUserPhotoResponse(pub ResponseMessage<UserPhoto>);

impl OperationResponse for GetUserPhotoResponse {
    fn statuses(&self) -> Vec<&ResponseStatus> {
        vec![&self.0.status]
    }
}

impl WriteXml for GetUserPhotoResponse {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        self.0.write_xml(w, ns, name);
    }
}

impl ReadXml for GetUserPhotoResponse {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        ResponseMessage::read_xml(r, start).map(Self)
    }
}
