//! `MoveItem`: items to another folder (they get new ids).
//!
//! Microsoft reference: [MoveItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/moveitem-operation).

use super::common::ItemInfo;
use crate::operation::Operation;
use crate::types::base_item_id::BaseItemId;
use crate::types::ids::BaseFolderId;
use crate::types::response::ResponseMessages;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:MoveItem`: one response message per item, with the moved item's new id (Exchange 2010
/// SP1 and later return it unless `ReturnNewItemIds` is false).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoveItem {
    /// The destination folder.
    pub to_folder_id: BaseFolderId,
    /// The items.
    pub item_ids: Vec<BaseItemId>,
    /// `m:ReturnNewItemIds`.
    pub return_new_item_ids: Option<bool>,
}

impl Operation for MoveItem {
    const NAME: &'static str = "MoveItem";
    type Response = ResponseMessages<ItemInfo>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.item_ids.len())
    }

    fn validate(&self) -> Result<(), String> {
        if self.item_ids.is_empty() {
            return Err("MoveItem: at least one id is required".to_owned());
        }
        Ok(())
    }

    /// A move changes the item's id; repeating it blindly loses track of the item.
    fn idempotent(&self) -> bool {
        false
    }
}

impl WriteXml for MoveItem {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.to_folder_id.write_xml(w, Ns::Messages, "ToFolderId");
            BaseItemId::write_list(w, Ns::Messages, "ItemIds", &self.item_ids);
            w.opt_value(
                Ns::Messages,
                "ReturnNewItemIds",
                self.return_new_item_ids.as_ref(),
            );
        });
    }
}

impl ReadXml for MoveItem {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut to = None;
        let mut ids = None;
        let mut ret = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "ToFolderId") {
                to = Some(BaseFolderId::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "ItemIds") {
                ids = Some(BaseItemId::read_list(r, &c)?);
            } else if c.is(Ns::Messages, "ReturnNewItemIds") {
                ret = Some(r.value(&c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            to_folder_id: r.required(start, to, "ToFolderId")?,
            item_ids: r.required(start, ids, "ItemIds")?,
            return_new_item_ids: ret,
        })
    }
}
