//! `GetUserConfiguration`: reads a user configuration object (`OWA.UserOptions`, ...) of a
//! folder. A missing object is answered with `ErrorItemNotFound`.
//!
//! Microsoft reference: [GetUserConfiguration operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getuserconfiguration-operation).

use crate::operation::Operation;
use crate::types::ids::{BaseFolderId, ItemId};
use crate::types::response::{ResponseContent, ResponseMessages};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `t:UserConfigurationName`: the object's name and the folder holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserConfigurationName {
    /// The name (`OWA.UserOptions`).
    pub name: String,
    /// The folder.
    pub folder: BaseFolderId,
}

impl WriteXml for UserConfigurationName {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr("Name", &self.name)
            .children(|w| self.folder.write(w));
    }
}

impl ReadXml for UserConfigurationName {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let name = start.required_attr(r, "Name")?.into_owned();
        let folder = BaseFolderId::read_xml(r, start)?;
        Ok(Self { name, folder })
    }
}

/// `m:GetUserConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetUserConfiguration {
    /// Which object.
    pub name: UserConfigurationName,
    /// Which parts (`Id`, `Dictionary`, `XmlData`, `BinaryData`, `All`; a space-separated
    /// list).
    pub properties: String,
}

impl Operation for GetUserConfiguration {
    const NAME: &'static str = "GetUserConfiguration";
    type Response = ResponseMessages<UserConfiguration>;
}

impl WriteXml for GetUserConfiguration {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.name
                .write_xml(w, Ns::Messages, "UserConfigurationName");
            w.text_element(
                Ns::Messages,
                "UserConfigurationProperties",
                &self.properties,
            );
        });
    }
}

impl ReadXml for GetUserConfiguration {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut name = None;
        let mut properties = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "UserConfigurationName") {
                name = Some(UserConfigurationName::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "UserConfigurationProperties") {
                properties = Some(r.text(&c)?.into_owned());
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            name: r.required(start, name, "UserConfigurationName")?,
            properties: r.required(start, properties, "UserConfigurationProperties")?,
        })
    }
}

/// The content of a `GetUserConfiguration` response message (`m:UserConfiguration`; none on
/// errors). Dictionaries are not modelled.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserConfiguration {
    /// The object, when found.
    pub object: Option<UserConfigurationObject>,
}

/// A user configuration object (`t:UserConfigurationType` without its dictionary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserConfigurationObject {
    /// Its name and folder.
    pub name: UserConfigurationName,
    /// Its item id.
    pub item_id: Option<ItemId>,
    /// `XmlData` (base64 text as sent).
    pub xml_data: Option<String>,
    /// `BinaryData` (base64 text as sent).
    pub binary_data: Option<String>,
}

impl ResponseContent for UserConfiguration {
    fn write_content(&self, w: &mut XmlWriter) {
        if let Some(o) = &self.object {
            w.element(Ns::Messages, "UserConfiguration", |w| {
                o.name.write_xml(w, Ns::Types, "UserConfigurationName");
                w.opt_write(Ns::Types, "ItemId", o.item_id.as_ref());
                w.opt_value(Ns::Types, "XmlData", o.xml_data.as_ref());
                w.opt_value(Ns::Types, "BinaryData", o.binary_data.as_ref());
            });
        }
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if !child.is(Ns::Messages, "UserConfiguration") {
            return Ok(false);
        }
        let mut name = None;
        let mut item_id = None;
        let mut xml_data = None;
        let mut binary_data = None;
        while let Some(c) = r.next_child(child)? {
            if c.is(Ns::Types, "UserConfigurationName") {
                name = Some(UserConfigurationName::read_xml(r, &c)?);
            } else if c.is(Ns::Types, "ItemId") {
                item_id = Some(ItemId::read_xml(r, &c)?);
            } else if c.is(Ns::Types, "XmlData") {
                xml_data = Some(r.text(&c)?.into_owned());
            } else if c.is(Ns::Types, "BinaryData") {
                binary_data = Some(r.text(&c)?.into_owned());
            } else {
                r.skip(&c)?;
            }
        }
        self.object = Some(UserConfigurationObject {
            name: r.required(child, name, "UserConfigurationName")?,
            item_id,
            xml_data,
            binary_data,
        });
        Ok(true)
    }
}
