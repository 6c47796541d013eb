//! `FindFolder`: the subfolders of folders, shallow or deep, paged.
//!
//! Microsoft reference: [FindFolder operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/findfolder-operation).

use super::common::{
    Paged, next_offset, read_folder_ids, read_root_folder, write_folder_ids, write_root_folder,
};
use crate::operation::Operation;
use crate::transport::StreamGuard;
use crate::types::folder::Folder;
use crate::types::ids::{BaseFolderId, string_enum};
use crate::types::response::{ResponseContent, ResponseMessages};
use crate::types::shape::{FolderShape, IndexedPageView, PagingInfo, Restriction};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// How deep `FindFolder` looks (`t:FolderQueryTraversalType`).
    FolderTraversal {
        /// Direct children only.
        Shallow = "Shallow",
        /// The whole subtree.
        Deep = "Deep",
        /// Soft-deleted folders.
        SoftDeleted = "SoftDeleted",
    }
}

/// `m:FindFolder`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindFolder {
    /// Shallow, deep or soft-deleted.
    pub traversal: FolderTraversal,
    /// Which properties to return.
    pub folder_shape: FolderShape,
    /// The page (`m:IndexedPageFolderView`); the whole result when `None`.
    pub page: Option<IndexedPageView>,
    /// Optional filter.
    pub restriction: Option<Restriction>,
    /// The folders to look under.
    pub parent_folder_ids: Vec<BaseFolderId>,
}

impl FindFolder {
    /// Default shape, no paging, no restriction.
    pub fn new(
        traversal: FolderTraversal,
        parent_folder_ids: impl IntoIterator<Item = impl Into<BaseFolderId>>,
    ) -> Self {
        Self {
            traversal,
            folder_shape: FolderShape::default(),
            page: None,
            restriction: None,
            parent_folder_ids: parent_folder_ids.into_iter().map(Into::into).collect(),
        }
    }
}

impl Operation for FindFolder {
    const NAME: &'static str = "FindFolder";
    type Response = ResponseMessages<FindFolderResult>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.parent_folder_ids.len())
    }

    fn validate(&self) -> Result<(), String> {
        if self.parent_folder_ids.is_empty() {
            return Err("FindFolder: at least one id is required".to_owned());
        }
        Ok(())
    }
}

impl WriteXml for FindFolder {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("Traversal", &self.traversal)
            .children(|w| {
                self.folder_shape.write_xml(w, Ns::Messages, "FolderShape");
                w.opt_write(Ns::Messages, "IndexedPageFolderView", self.page.as_ref());
                w.opt_write(Ns::Messages, "Restriction", self.restriction.as_ref());
                write_folder_ids(w, "ParentFolderIds", &self.parent_folder_ids);
            });
    }
}

impl ReadXml for FindFolder {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let traversal = start.required_attr_value(r, "Traversal")?;
        let mut shape = None;
        let mut page = None;
        let mut restriction = None;
        let mut parents = None;
        while let Some(c) = r.next_child(start)? {
            if c.ns() != Ns::Messages {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "FolderShape" => shape = Some(FolderShape::read_xml(r, &c)?),
                "IndexedPageFolderView" => page = Some(IndexedPageView::read_xml(r, &c)?),
                "Restriction" => restriction = Some(Restriction::read_xml(r, &c)?),
                "ParentFolderIds" => parents = Some(read_folder_ids(r, &c)?),
                _ => r.skip(&c)?,
            }
        }
        Ok(Self {
            traversal,
            folder_shape: r.required(start, shape, "FolderShape")?,
            page,
            restriction,
            parent_folder_ids: r.required(start, parents, "ParentFolderIds")?,
        })
    }
}

/// The content of a `FindFolder` response message (`m:RootFolder`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FindFolderResult {
    /// Paging: next offset, whether this is the last page, total count.
    pub paging: PagingInfo,
    /// The folders of this page.
    pub folders: Vec<Folder>,
}

impl ResponseContent for FindFolderResult {
    fn write_content(&self, w: &mut XmlWriter) {
        write_root_folder(w, &self.paging, |w| {
            Folder::write_list(w, Ns::Types, "Folders", &self.folders)
        });
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        let Some((paging, folders)) = read_root_folder(r, child, "Folders", Folder::read_list)?
        else {
            return Ok(false);
        };
        (self.paging, self.folders) = (paging, folders);
        Ok(true)
    }
}

/// Pages follow the paging offset of the indexed view (one page without a view).
impl Paged for FindFolder {
    type Page = FindFolderResult;

    fn next_page(&self, page: &FindFolderResult) -> Result<Option<(Self, Vec<u8>)>, &'static str> {
        let Some(view) = self.page else {
            return Ok(None);
        };
        let next = next_offset(&view, &page.paging, page.folders.len())?;
        Ok(next.map(|offset| {
            let mut next = self.clone();
            next.page = Some(IndexedPageView { offset, ..view });
            (next, offset.to_le_bytes().to_vec())
        }))
    }

    fn entries(page: &FindFolderResult) -> usize {
        page.folders.len()
    }

    fn fingerprint(page: &FindFolderResult) -> Option<u64> {
        StreamGuard::fingerprint(page.folders.iter().map(|f| {
            f.folder_id
                .as_ref()
                .map(|id| id.id.clone())
                .unwrap_or_default()
        }))
    }
}
