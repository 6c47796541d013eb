//! Helpers shared by the operation modules.

use crate::types::folder::Folder;
use crate::types::ids::BaseFolderId;
use crate::types::item::Item;
use crate::types::response::ResponseContent;
use crate::xml::{Ns, Start, XmlError, XmlReader, XmlWriter};

/// Writes an array of folder ids (`m:FolderIds`, `m:ParentFolderIds`).
pub(crate) fn write_folder_ids(w: &mut XmlWriter, name: &str, ids: &[BaseFolderId]) {
    w.element(Ns::Messages, name, |w| {
        for id in ids {
            id.write(w);
        }
    });
}

/// Reads an array of folder ids, skipping other children.
pub(crate) fn read_folder_ids<'a>(
    r: &mut XmlReader<'a>,
    start: &Start<'a>,
) -> Result<Vec<BaseFolderId>, XmlError> {
    let mut out = Vec::new();
    while let Some(c) = r.next_child(start)? {
        match BaseFolderId::try_read(r, &c)? {
            Some(id) => out.push(id),
            None => r.skip(&c)?,
        }
    }
    Ok(out)
}

/// The content of `GetFolder`, `CreateFolder` (and other folder-info) response messages:
/// `m:Folders`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FolderInfo {
    /// The folders (one per requested folder).
    pub folders: Vec<Folder>,
}

impl ResponseContent for FolderInfo {
    fn write_content(&self, w: &mut XmlWriter) {
        Folder::write_list(w, Ns::Messages, "Folders", &self.folders);
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if child.is(Ns::Messages, "Folders") {
            self.folders = Folder::read_list(r, child)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

/// The content of `GetItem`, `MoveItem`, `CreateItem` (and other item-info) response
/// messages: `m:Items`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemInfo {
    /// The items (one per requested item).
    pub items: Vec<Item>,
}

impl ResponseContent for ItemInfo {
    fn write_content(&self, w: &mut XmlWriter) {
        write_items(w, Ns::Messages, "Items", &self.items);
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        if child.is(Ns::Messages, "Items") {
            self.items = Item::read_list(r, child)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }
}

/// Writes an items array element (`m:Items`, `t:Items`).
pub(crate) fn write_items(w: &mut XmlWriter, ns: Ns, name: &str, items: &[Item]) {
    w.element(ns, name, |w| {
        for item in items {
            item.write(w);
        }
    });
}
