//! `GetItem`: items by id, with a property shape (additional and extended properties).
//!
//! Microsoft reference: [GetItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/getitem-operation).

use super::common::ItemInfo;
use crate::operation::Operation;
use crate::types::base_item_id::BaseItemId;
use crate::types::response::ResponseMessages;
use crate::types::shape::ItemShape;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

/// `m:GetItem`: one response message (with one item) per requested id, in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetItem {
    /// Which properties to return.
    pub item_shape: ItemShape,
    /// The items.
    pub item_ids: Vec<BaseItemId>,
}

impl GetItem {
    /// A request for `ids` with `shape`.
    pub fn new(
        item_shape: ItemShape,
        item_ids: impl IntoIterator<Item = impl Into<BaseItemId>>,
    ) -> Self {
        Self {
            item_shape,
            item_ids: item_ids.into_iter().map(Into::into).collect(),
        }
    }
}

impl Operation for GetItem {
    const NAME: &'static str = "GetItem";
    type Response = ResponseMessages<ItemInfo>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.item_ids.len())
    }

    fn is_download(&self) -> bool {
        self.item_shape.include_mime_content == Some(true)
    }

    fn validate(&self) -> Result<(), String> {
        if self.item_ids.is_empty() {
            return Err("GetItem: at least one id is required".to_owned());
        }
        Ok(())
    }
}

impl WriteXml for GetItem {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.element(ns, name, |w| {
            self.item_shape.write_xml(w, Ns::Messages, "ItemShape");
            BaseItemId::write_list(w, Ns::Messages, "ItemIds", &self.item_ids);
        });
    }
}

impl ReadXml for GetItem {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut shape = None;
        let mut ids = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "ItemShape") {
                shape = Some(ItemShape::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "ItemIds") {
                ids = Some(BaseItemId::read_list(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            item_shape: r.required(start, shape, "ItemShape")?,
            item_ids: r.required(start, ids, "ItemIds")?,
        })
    }
}
