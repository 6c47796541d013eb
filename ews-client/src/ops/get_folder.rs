//! `GetFolder`: folders by id or distinguished name.
//!
//! Microsoft reference: [GetFolder operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getfolder-operation).

use super::common::{FolderInfo, read_folder_ids, write_folder_ids};
use crate::operation::Operation;
use crate::types::ids::BaseFolderId;
use crate::types::response::ResponseMessages;
use crate::types::shape::FolderShape;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:GetFolder`: one response message (with one folder) per requested id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetFolder {
    /// Which properties to return.
    pub folder_shape: FolderShape,
    /// The folders.
    pub folder_ids: Vec<BaseFolderId>,
}

impl GetFolder {
    /// The default shape for these folders.
    pub fn new(folder_ids: impl IntoIterator<Item = impl Into<BaseFolderId>>) -> Self {
        Self {
            folder_shape: FolderShape::default(),
            folder_ids: folder_ids.into_iter().map(Into::into).collect(),
        }
    }
}

impl Operation for GetFolder {
    const NAME: &'static str = "GetFolder";
    type Response = ResponseMessages<FolderInfo>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.folder_ids.len())
    }

    fn validate(&self) -> Result<(), String> {
        if self.folder_ids.is_empty() {
            return Err("GetFolder: at least one id is required".to_owned());
        }
        Ok(())
    }
}

impl WriteXml for GetFolder {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.folder_shape.write_xml(w, Ns::Messages, "FolderShape");
            write_folder_ids(w, "FolderIds", &self.folder_ids);
        });
    }
}

impl ReadXml for GetFolder {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut shape = None;
        let mut ids = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "FolderShape") {
                shape = Some(FolderShape::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "FolderIds") {
                ids = Some(read_folder_ids(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            folder_shape: r.required(start, shape, "FolderShape")?,
            folder_ids: r.required(start, ids, "FolderIds")?,
        })
    }
}
