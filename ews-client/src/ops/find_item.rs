//! `FindItem`: the items of folders, paged (`IndexedPageItemView`) or as a calendar view,
//! with simple restrictions and sort order.
//!
//! Microsoft reference: [FindItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/finditem-operation).

use super::common::{
    Paged, next_offset, read_folder_ids, read_root_folder, write_folder_ids, write_items,
    write_root_folder,
};
use crate::operation::Operation;
use crate::transport::StreamGuard;
use crate::types::ids::{BaseFolderId, string_enum};
use crate::types::item::Item;
use crate::types::response::{ResponseContent, ResponseMessages};
use crate::types::shape::{
    CalendarView, FieldOrder, IndexedPageView, ItemShape, PagingInfo, Restriction,
};
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// The largest page Exchange returns (`EWSFindCountLimit`).
pub const MAX_PAGE_SIZE: u32 = 1000;

string_enum! {
    /// Which items `FindItem` looks at (`t:ItemQueryTraversalType`).
    ItemTraversal {
        /// Normal items.
        Shallow = "Shallow",
        /// Soft-deleted items.
        SoftDeleted = "SoftDeleted",
        /// Folder-associated items.
        Associated = "Associated",
    }
}

/// The view of a `FindItem`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemView {
    /// `m:IndexedPageItemView`: a page of items.
    Indexed(IndexedPageView),
    /// `m:CalendarView`: occurrences in a time window (recurring series expanded).
    Calendar(CalendarView),
}

/// `m:FindItem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindItem {
    /// Shallow, soft-deleted or associated.
    pub traversal: ItemTraversal,
    /// Which properties to return.
    pub item_shape: ItemShape,
    /// Paging or calendar window; the server's default page when `None`.
    pub view: Option<ItemView>,
    /// Filter (`m:Restriction`).
    pub restriction: Option<Restriction>,
    /// Sort keys (`m:SortOrder`), most significant first.
    pub sort_order: Vec<FieldOrder>,
    /// The folders to search.
    pub parent_folder_ids: Vec<BaseFolderId>,
}

impl FindItem {
    /// A shallow search of `folder` with `shape`, first page of `page_size`.
    pub fn new(folder: BaseFolderId, item_shape: ItemShape, page_size: u32) -> Self {
        Self {
            traversal: ItemTraversal::Shallow,
            item_shape,
            view: Some(ItemView::Indexed(IndexedPageView::new(
                page_size.clamp(1, MAX_PAGE_SIZE),
                0,
            ))),
            restriction: None,
            sort_order: Vec::new(),
            parent_folder_ids: vec![folder],
        }
    }

    /// The same request for the page starting at `offset` (indexed views only).
    pub fn at_offset(&self, offset: u32) -> FindItem {
        let mut next = self.clone();
        if let Some(ItemView::Indexed(page)) = &mut next.view {
            page.offset = offset;
        }
        next
    }
}

impl Operation for FindItem {
    const NAME: &'static str = "FindItem";
    type Response = ResponseMessages<FindItemResult>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.parent_folder_ids.len())
    }

    fn validate(&self) -> Result<(), String> {
        if self.parent_folder_ids.is_empty() {
            return Err("FindItem: at least one parent folder is required".to_owned());
        }
        if let Some(ItemView::Indexed(page)) = &self.view
            && page.max_entries_returned == Some(0)
        {
            return Err("FindItem: MaxEntriesReturned must be at least 1".to_owned());
        }
        Ok(())
    }
}

impl WriteXml for FindItem {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("Traversal", &self.traversal)
            .children(|w| {
                self.item_shape.write_xml(w, Ns::Messages, "ItemShape");
                match &self.view {
                    Some(ItemView::Indexed(v)) => {
                        v.write_xml(w, Ns::Messages, "IndexedPageItemView")
                    }
                    Some(ItemView::Calendar(v)) => v.write_xml(w, Ns::Messages, "CalendarView"),
                    None => {}
                }
                w.opt_write(Ns::Messages, "Restriction", self.restriction.as_ref());
                if !self.sort_order.is_empty() {
                    w.element(Ns::Messages, "SortOrder", |w| {
                        w.write_all(Ns::Types, "FieldOrder", &self.sort_order);
                    });
                }
                write_folder_ids(w, "ParentFolderIds", &self.parent_folder_ids);
            });
    }
}

impl ReadXml for FindItem {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let traversal = start.required_attr_value(r, "Traversal")?;
        let mut shape = None;
        let mut view = None;
        let mut restriction = None;
        let mut sort_order = Vec::new();
        let mut parents = None;
        while let Some(c) = r.next_child(start)? {
            if c.ns() != Ns::Messages {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "ItemShape" => shape = Some(ItemShape::read_xml(r, &c)?),
                "IndexedPageItemView" => {
                    view = Some(ItemView::Indexed(IndexedPageView::read_xml(r, &c)?));
                }
                "CalendarView" => view = Some(ItemView::Calendar(CalendarView::read_xml(r, &c)?)),
                "Restriction" => restriction = Some(Restriction::read_xml(r, &c)?),
                "SortOrder" => sort_order = r.read_list(&c, Ns::Types, "FieldOrder")?,
                "ParentFolderIds" => parents = Some(read_folder_ids(r, &c)?),
                _ => r.skip(&c)?,
            }
        }
        Ok(Self {
            traversal,
            item_shape: r.required(start, shape, "ItemShape")?,
            view,
            restriction,
            sort_order,
            parent_folder_ids: r.required(start, parents, "ParentFolderIds")?,
        })
    }
}

/// The content of a `FindItem` response message (`m:RootFolder`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FindItemResult {
    /// Paging: next offset, whether this is the last page, total count.
    pub paging: PagingInfo,
    /// The items of this page.
    pub items: Vec<Item>,
}

impl FindItemResult {
    /// Whether more pages follow (`IncludesLastItemInRange` is false).
    pub fn has_more(&self) -> bool {
        self.paging.includes_last_item_in_range == Some(false)
    }
}

impl ResponseContent for FindItemResult {
    fn write_content(&self, w: &mut XmlWriter) {
        write_root_folder(w, &self.paging, |w| {
            write_items(w, Ns::Types, "Items", &self.items)
        });
    }

    fn read_child<'a>(
        &mut self,
        r: &mut XmlReader<'a>,
        child: &Start<'a>,
    ) -> Result<bool, XmlError> {
        let Some((paging, items)) = read_root_folder(r, child, "Items", Item::read_list)? else {
            return Ok(false);
        };
        (self.paging, self.items) = (paging, items);
        Ok(true)
    }
}

/// Pages of an indexed view follow the paging offset; a calendar view is one page.
impl Paged for FindItem {
    type Page = FindItemResult;

    fn next_page(&self, page: &FindItemResult) -> Result<Option<(Self, Vec<u8>)>, &'static str> {
        let Some(ItemView::Indexed(view)) = &self.view else {
            return Ok(None);
        };
        let next = next_offset(view, &page.paging, page.items.len())?;
        Ok(next.map(|offset| (self.at_offset(offset), offset.to_le_bytes().to_vec())))
    }

    fn entries(page: &FindItemResult) -> usize {
        page.items.len()
    }

    fn fingerprint(page: &FindItemResult) -> Option<u64> {
        StreamGuard::fingerprint(
            page.items
                .iter()
                .map(|i| i.item_id().map(|id| id.id.clone()).unwrap_or_default()),
        )
    }
}
