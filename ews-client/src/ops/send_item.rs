//! `SendItem`: send saved messages (drafts), optionally keeping a copy.
//!
//! Microsoft reference: [SendItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/senditem-operation).

use crate::operation::Operation;
use crate::types::base_item_id::BaseItemId;
use crate::types::ids::BaseFolderId;
use crate::types::response::ResponseMessages;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:SendItem`: one response message (without content) per item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendItem {
    /// The messages to send.
    pub item_ids: Vec<BaseItemId>,
    /// Whether to keep a copy (`SaveItemToFolder`).
    pub save_item_to_folder: bool,
    /// Where to keep the copy (Sent Items when absent).
    pub saved_item_folder_id: Option<BaseFolderId>,
}

impl SendItem {
    /// Sends items, keeping copies in Sent Items.
    pub fn new(item_ids: impl IntoIterator<Item = impl Into<BaseItemId>>) -> Self {
        Self {
            item_ids: item_ids.into_iter().map(Into::into).collect(),
            save_item_to_folder: true,
            saved_item_folder_id: None,
        }
    }
}

impl Operation for SendItem {
    const NAME: &'static str = "SendItem";
    type Response = ResponseMessages<()>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.item_ids.len())
    }

    fn idempotent(&self) -> bool {
        false
    }
}

impl WriteXml for SendItem {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("SaveItemToFolder", &self.save_item_to_folder)
            .children(|w| {
                BaseItemId::write_list(w, Ns::Messages, "ItemIds", &self.item_ids);
                if self.save_item_to_folder {
                    w.opt_write(
                        Ns::Messages,
                        "SavedItemFolderId",
                        self.saved_item_folder_id.as_ref(),
                    );
                }
            });
    }
}

impl ReadXml for SendItem {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let save_item_to_folder = start.required_attr_value(r, "SaveItemToFolder")?;
        let mut item_ids = None;
        let mut saved_item_folder_id = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "ItemIds") {
                item_ids = Some(BaseItemId::read_list(r, &c)?);
            } else if c.is(Ns::Messages, "SavedItemFolderId") {
                saved_item_folder_id = Some(BaseFolderId::read_xml(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            item_ids: r.required(start, item_ids, "ItemIds")?,
            save_item_to_folder,
            saved_item_folder_id,
        })
    }
}
