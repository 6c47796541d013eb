//! `CreateFolder`: new folders under a parent.
//!
//! Microsoft reference: [CreateFolder operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createfolder-operation).

use super::common::FolderInfo;
use crate::operation::Operation;
use crate::types::folder::Folder;
use crate::types::ids::BaseFolderId;
use crate::types::response::ResponseMessages;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:CreateFolder`: one response message (with the new folder's id) per folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateFolder {
    /// Where to create the folders.
    pub parent_folder_id: BaseFolderId,
    /// The folders (kind, display name, class, extended properties).
    pub folders: Vec<Folder>,
}

impl Operation for CreateFolder {
    const NAME: &'static str = "CreateFolder";
    type Response = ResponseMessages<FolderInfo>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.folders.len())
    }

    fn validate(&self) -> Result<(), String> {
        if self.folders.is_empty() {
            return Err("CreateFolder: at least one folder is required".to_owned());
        }
        Ok(())
    }

    /// Creating twice creates two folders (or fails with `ErrorFolderExists`).
    fn idempotent(&self) -> bool {
        false
    }
}

impl WriteXml for CreateFolder {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.parent_folder_id
                .write_xml(w, Ns::Messages, "ParentFolderId");
            Folder::write_list(w, Ns::Messages, "Folders", &self.folders);
        });
    }
}

impl ReadXml for CreateFolder {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut parent = None;
        let mut folders = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "ParentFolderId") {
                parent = Some(BaseFolderId::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "Folders") {
                folders = Some(Folder::read_list(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            parent_folder_id: r.required(start, parent, "ParentFolderId")?,
            folders: r.required(start, folders, "Folders")?,
        })
    }
}
