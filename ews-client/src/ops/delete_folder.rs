//! `DeleteFolder`: deletes folders with their subfolders and items.
//!
//! Microsoft reference: [DeleteFolder operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deletefolder-operation).

use super::common::{read_folder_ids, write_folder_ids};
use super::delete_item::DisposalType;
use crate::operation::Operation;
use crate::types::ids::BaseFolderId;
use crate::types::response::ResponseMessages;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:DeleteFolder`: one response message (without content) per folder. Distinguished folders
/// cannot be deleted (`ErrorDeleteDistinguishedFolder`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFolder {
    /// The folders.
    pub folder_ids: Vec<BaseFolderId>,
    /// How to delete.
    pub delete_type: DisposalType,
}

impl DeleteFolder {
    /// Deletes `ids` with `delete_type`.
    pub fn new(
        delete_type: DisposalType,
        folder_ids: impl IntoIterator<Item = impl Into<BaseFolderId>>,
    ) -> Self {
        Self {
            folder_ids: folder_ids.into_iter().map(Into::into).collect(),
            delete_type,
        }
    }
}

impl Operation for DeleteFolder {
    const NAME: &'static str = "DeleteFolder";
    type Response = ResponseMessages<()>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.folder_ids.len())
    }

    fn validate(&self) -> Result<(), String> {
        if self.folder_ids.is_empty() {
            return Err("DeleteFolder: at least one folder id is required".to_owned());
        }
        Ok(())
    }

    /// Deleting twice leaves the same state (the second answer is `ErrorFolderNotFound`).
    fn idempotent(&self) -> bool {
        true
    }
}

impl WriteXml for DeleteFolder {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("DeleteType", &self.delete_type)
            .children(|w| write_folder_ids(w, "FolderIds", &self.folder_ids));
    }
}

impl ReadXml for DeleteFolder {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let delete_type = start.required_attr_value(r, "DeleteType")?;
        let mut ids = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "FolderIds") {
                ids = Some(read_folder_ids(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            folder_ids: r.required(start, ids, "FolderIds")?,
            delete_type,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ids::FolderId;

    #[test]
    fn needs_a_folder_and_is_idempotent() {
        let op = DeleteFolder::new(DisposalType::HardDelete, [FolderId::new("F")]);
        assert!(op.validate().is_ok());
        assert!(op.idempotent());
        let empty = DeleteFolder::new(DisposalType::SoftDelete, Vec::<FolderId>::new());
        assert!(empty.validate().is_err());
    }
}
