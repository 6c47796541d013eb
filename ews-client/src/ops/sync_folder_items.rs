//! `SyncFolderItems`: the item changes of one folder since a sync state (Create, Update,
//! Delete, ReadFlagChange); the caller loops until `IncludesLastItemInRange`.
//!
//! Microsoft reference: [SyncFolderItems operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/syncfolderitems-operation).

use super::common::{read_changed, sync_operation};
use crate::operation::Operation;
use crate::types::ids::{BaseFolderId, ItemId, string_enum};
use crate::types::item::Item;
use crate::types::response::ResponseMessages;
use crate::types::shape::ItemShape;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// The smallest allowed `MaxChangesReturned`.
pub const MIN_CHANGES: u16 = 1;
/// The largest allowed `MaxChangesReturned`.
pub const MAX_CHANGES: u16 = 512;

string_enum! {
    /// Which items are synchronized (`t:SyncFolderItemsScopeType`).
    SyncScope {
        /// Normal items.
        NormalItems = "NormalItems",
        /// Normal and folder-associated items.
        NormalAndAssociatedItems = "NormalAndAssociatedItems",
    }
}

/// `m:SyncFolderItems`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFolderItems {
    /// Which properties to return for created and updated items.
    pub item_shape: ItemShape,
    /// The folder.
    pub sync_folder_id: BaseFolderId,
    /// The state of the previous call (`None` for a full sync).
    pub sync_state: Option<String>,
    /// Items to leave out (`m:Ignore`).
    pub ignore: Vec<ItemId>,
    /// Maximum number of changes per response (1 to 512).
    pub max_changes_returned: u16,
    /// Normal or also associated items.
    pub sync_scope: Option<SyncScope>,
}

impl SyncFolderItems {
    /// A sync of `folder` from `sync_state`, `max_changes` clamped to 1..=512.
    pub fn new(
        folder: BaseFolderId,
        item_shape: ItemShape,
        sync_state: Option<String>,
        max_changes: u16,
    ) -> Self {
        Self {
            item_shape,
            sync_folder_id: folder,
            sync_state,
            ignore: Vec::new(),
            max_changes_returned: max_changes.clamp(MIN_CHANGES, MAX_CHANGES),
            sync_scope: None,
        }
    }
}

impl Operation for SyncFolderItems {
    const NAME: &'static str = "SyncFolderItems";
    type Response = ResponseMessages<SyncFolderItemsResult>;

    fn expected_responses(&self) -> Option<usize> {
        Some(1)
    }

    fn validate(&self) -> Result<(), String> {
        if !(MIN_CHANGES..=MAX_CHANGES).contains(&self.max_changes_returned) {
            return Err(format!(
                "SyncFolderItems: MaxChangesReturned must be {MIN_CHANGES} to {MAX_CHANGES}, not {}",
                self.max_changes_returned
            ));
        }
        Ok(())
    }
}

impl WriteXml for SyncFolderItems {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.item_shape.write_xml(w, Ns::Messages, "ItemShape");
            self.sync_folder_id
                .write_xml(w, Ns::Messages, "SyncFolderId");
            w.opt_value(Ns::Messages, "SyncState", self.sync_state.as_ref());
            if !self.ignore.is_empty() {
                w.element(Ns::Messages, "Ignore", |w| {
                    w.write_all(Ns::Types, "ItemId", &self.ignore);
                });
            }
            w.value(
                Ns::Messages,
                "MaxChangesReturned",
                &self.max_changes_returned,
            );
            w.opt_value(Ns::Messages, "SyncScope", self.sync_scope.as_ref());
        });
    }
}

impl ReadXml for SyncFolderItems {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut shape = None;
        let mut folder = None;
        let mut state = None;
        let mut ignore = Vec::new();
        let mut max = None;
        let mut scope = None;
        while let Some(c) = r.next_child(start)? {
            if c.ns() != Ns::Messages {
                r.skip(&c)?;
                continue;
            }
            match c.local() {
                "ItemShape" => shape = Some(ItemShape::read_xml(r, &c)?),
                "SyncFolderId" => folder = Some(BaseFolderId::read_xml(r, &c)?),
                "SyncState" => state = Some(r.text(&c)?.trim().to_owned()),
                "Ignore" => ignore = r.read_list(&c, Ns::Types, "ItemId")?,
                "MaxChangesReturned" => {
                    let value: u16 = r.value(&c)?;
                    if !(MIN_CHANGES..=MAX_CHANGES).contains(&value) {
                        return Err(r.invalid(&c, &value.to_string(), "expected 1 to 512"));
                    }
                    max = Some(value);
                }
                "SyncScope" => scope = Some(r.value(&c)?),
                _ => r.skip(&c)?,
            }
        }
        Ok(Self {
            item_shape: r.required(start, shape, "ItemShape")?,
            sync_folder_id: r.required(start, folder, "SyncFolderId")?,
            sync_state: state.filter(|s| !s.is_empty()),
            ignore,
            max_changes_returned: r.required(start, max, "MaxChangesReturned")?,
            sync_scope: scope,
        })
    }
}

/// One change of a folder's items.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncItemChange {
    /// `t:Create`: a new item.
    Create(Item),
    /// `t:Update`: a changed item.
    Update(Item),
    /// `t:Delete`: a deleted (or moved away) item.
    Delete(ItemId),
    /// `t:ReadFlagChange`: only the read flag changed.
    ReadFlagChange {
        /// The item.
        item_id: ItemId,
        /// The new read state.
        is_read: bool,
    },
}

/// The content of a `SyncFolderItems` response message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SyncFolderItemsResult {
    /// The state to pass to the next call.
    pub sync_state: Option<String>,
    /// Whether all changes were returned; loop while it is `false`.
    pub includes_last_item_in_range: Option<bool>,
    /// The changes, in server order.
    pub changes: Vec<SyncItemChange>,
}

impl SyncFolderItemsResult {
    /// Whether more changes are waiting.
    pub fn has_more(&self) -> bool {
        self.includes_last_item_in_range == Some(false)
    }
}

/// Reads the content of a `t:Delete` or `t:ReadFlagChange`: its item id and read flag.
fn read_item_id_child<'a>(
    r: &mut XmlReader<'a>,
    start: &Start<'a>,
) -> Result<(ItemId, Option<bool>), XmlError> {
    let mut id = None;
    let mut is_read = None;
    while let Some(c) = r.next_child(start)? {
        if c.is(Ns::Types, "ItemId") {
            id = Some(ItemId::read_xml(r, &c)?);
        } else if c.is(Ns::Types, "IsRead") {
            is_read = Some(r.value(&c)?);
        } else {
            r.skip(&c)?;
        }
    }
    Ok((r.required(start, id, "ItemId")?, is_read))
}

sync_operation!(
    SyncFolderItems,
    SyncFolderItemsResult,
    includes_last_item_in_range = "IncludesLastItemInRange",
    write_change,
    read_change
);

/// Writes one change (`t:Create`, `t:Update`, `t:Delete`, `t:ReadFlagChange`).
fn write_change(w: &mut XmlWriter, change: &SyncItemChange) {
    match change {
        SyncItemChange::Create(i) => w.element(Ns::Types, "Create", |w| i.write(w)),
        SyncItemChange::Update(i) => w.element(Ns::Types, "Update", |w| i.write(w)),
        SyncItemChange::Delete(id) => w.element(Ns::Types, "Delete", |w| {
            id.write_xml(w, Ns::Types, "ItemId")
        }),
        SyncItemChange::ReadFlagChange { item_id, is_read } => {
            w.element(Ns::Types, "ReadFlagChange", |w| {
                item_id.write_xml(w, Ns::Types, "ItemId");
                w.value(Ns::Types, "IsRead", is_read);
            })
        }
    }
}

/// Reads one change; `None` for other elements and for items of unknown kinds (e.g.
/// `t:Person`), which are skipped, not fatal.
fn read_change<'a>(
    r: &mut XmlReader<'a>,
    c: &Start<'a>,
) -> Result<Option<SyncItemChange>, XmlError> {
    Ok(match c.local() {
        "Create" => read_changed(r, c, Item::try_read)?.map(SyncItemChange::Create),
        "Update" => read_changed(r, c, Item::try_read)?.map(SyncItemChange::Update),
        "Delete" => Some(SyncItemChange::Delete(read_item_id_child(r, c)?.0)),
        "ReadFlagChange" => {
            let (item_id, is_read) = read_item_id_child(r, c)?;
            Some(SyncItemChange::ReadFlagChange {
                item_id,
                is_read: r.required(c, is_read, "IsRead")?,
            })
        }
        _ => None,
    })
}
