//! `SyncFolderHierarchy`: folder creations, updates and deletions since a sync state.
//!
//! Microsoft reference: [SyncFolderHierarchy operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/syncfolderhierarchy-operation).

use super::common::{read_changed, sync_operation};
use crate::operation::Operation;
use crate::types::folder::Folder;
use crate::types::ids::{BaseFolderId, FolderId};
use crate::types::response::ResponseMessages;
use crate::types::shape::FolderShape;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:SyncFolderHierarchy`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFolderHierarchy {
    /// Which properties to return for created and updated folders.
    pub folder_shape: FolderShape,
    /// The root of the synchronized tree (the whole mailbox when `None`).
    pub sync_folder_id: Option<BaseFolderId>,
    /// The state returned by the previous call (`None` for a full sync).
    pub sync_state: Option<String>,
}

impl Operation for SyncFolderHierarchy {
    const NAME: &'static str = "SyncFolderHierarchy";
    type Response = ResponseMessages<SyncFolderHierarchyResult>;

    fn expected_responses(&self) -> Option<usize> {
        Some(1)
    }
}

impl WriteXml for SyncFolderHierarchy {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.folder_shape.write_xml(w, Ns::Messages, "FolderShape");
            w.opt_write(Ns::Messages, "SyncFolderId", self.sync_folder_id.as_ref());
            w.opt_value(Ns::Messages, "SyncState", self.sync_state.as_ref());
        });
    }
}

impl ReadXml for SyncFolderHierarchy {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut shape = None;
        let mut folder = None;
        let mut state = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "FolderShape") {
                shape = Some(FolderShape::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "SyncFolderId") {
                folder = Some(BaseFolderId::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "SyncState") {
                state = Some(r.text(&c)?.trim().to_owned());
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            folder_shape: r.required(start, shape, "FolderShape")?,
            sync_folder_id: folder,
            sync_state: state.filter(|s| !s.is_empty()),
        })
    }
}

/// One change of a folder hierarchy sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderChange {
    /// `t:Create`: a new folder.
    Create(Folder),
    /// `t:Update`: a changed folder.
    Update(Folder),
    /// `t:Delete`: a deleted folder.
    Delete(FolderId),
}

/// The content of a `SyncFolderHierarchy` response message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncFolderHierarchyResult {
    /// The state to pass to the next call.
    pub sync_state: Option<String>,
    /// Whether all changes were returned.
    pub includes_last_folder_in_range: Option<bool>,
    /// The changes, in server order.
    pub changes: Vec<FolderChange>,
}

sync_operation!(
    SyncFolderHierarchy,
    SyncFolderHierarchyResult,
    includes_last_folder_in_range = "IncludesLastFolderInRange",
    write_change,
    read_change
);

/// Writes one change (`t:Create`, `t:Update`, `t:Delete`).
fn write_change(w: &mut XmlWriter, change: &FolderChange) {
    match change {
        FolderChange::Create(f) => w.element(Ns::Types, "Create", |w| f.write(w)),
        FolderChange::Update(f) => w.element(Ns::Types, "Update", |w| f.write(w)),
        FolderChange::Delete(id) => w.element(Ns::Types, "Delete", |w| {
            id.write_xml(w, Ns::Types, "FolderId")
        }),
    }
}

/// Reads one change; `None` for other elements.
fn read_change<'a>(r: &mut XmlReader<'a>, c: &Start<'a>) -> Result<Option<FolderChange>, XmlError> {
    Ok(Some(match c.local() {
        "Create" => {
            let folder = read_changed(r, c, Folder::try_read)?;
            FolderChange::Create(r.required(c, folder, "Folder")?)
        }
        "Update" => {
            let folder = read_changed(r, c, Folder::try_read)?;
            FolderChange::Update(r.required(c, folder, "Folder")?)
        }
        "Delete" => {
            let id = r.read_list(c, Ns::Types, "FolderId")?.pop();
            FolderChange::Delete(r.required(c, id, "FolderId")?)
        }
        _ => return Ok(None),
    }))
}
