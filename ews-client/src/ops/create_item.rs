//! `CreateItem`: create contacts, calendar items, tasks and messages; save, send, or send and
//! keep a copy; send meeting invitations.
//!
//! Microsoft reference: [CreateItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/createitem-operation).

use super::common::ItemInfo;
use super::update_item::{apply_changes, set_all_fields};
use crate::operation::Operation;
use crate::types::attachment::Attachment;
use crate::types::ids::{BaseFolderId, string_enum};
use crate::types::item::Item;
use crate::types::response::ResponseMessages;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// What to do with a created or updated message (`t:MessageDispositionType`).
    MessageDisposition {
        /// Save it (in `SavedItemFolderId`, or Drafts).
        SaveOnly = "SaveOnly",
        /// Send it without keeping a copy.
        SendOnly = "SendOnly",
        /// Send it and keep a copy (in `SavedItemFolderId`, or Sent Items).
        SendAndSaveCopy = "SendAndSaveCopy",
    }
}

/// Whether and where [`CreateItem::send`] keeps a copy of the sent message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedCopy {
    /// Keep none (`SendOnly`).
    Discard,
    /// Keep it in Sent Items (`SendAndSaveCopy` without `SavedItemFolderId`).
    InSentItems,
    /// Keep it in this folder (`SendAndSaveCopy` with `SavedItemFolderId`).
    In(BaseFolderId),
}

string_enum! {
    /// Whether creating a meeting sends invitations
    /// (`t:CalendarItemCreateOrDeleteOperationType`).
    SendMeetingInvitations {
        /// Send none (an appointment, or a meeting saved without invitations).
        SendToNone = "SendToNone",
        /// Send to all attendees, keep no copy.
        SendOnlyToAll = "SendOnlyToAll",
        /// Send to all attendees and keep a copy in Sent Items.
        SendToAllAndSaveCopy = "SendToAllAndSaveCopy",
    }
}

/// `m:CreateItem`: one response message (with the new item's id) per item.
///
/// Exchange requires `message_disposition` for messages and `send_meeting_invitations` for
/// calendar items; the constructors set them.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateItem {
    /// What to do with messages.
    pub message_disposition: Option<MessageDisposition>,
    /// Whether to send meeting invitations for calendar items.
    pub send_meeting_invitations: Option<SendMeetingInvitations>,
    /// The folder to create the items in (or to save the sent copy in); the default folder
    /// of the item kind when absent.
    pub saved_item_folder_id: Option<BaseFolderId>,
    /// The items to create.
    pub items: Vec<Item>,
}

impl CreateItem {
    /// Creates items (contacts, tasks, appointments without invitations) in a folder, or in
    /// the default folder of their kind when `folder` is `None`.
    pub fn save(items: impl IntoIterator<Item = Item>, folder: Option<BaseFolderId>) -> Self {
        let items: Vec<Item> = items.into_iter().collect();
        let has_calendar = items.iter().any(|i| matches!(i, Item::CalendarItem(_)));
        let has_message = items.iter().any(|i| matches!(i, Item::Message(_)));
        Self {
            message_disposition: has_message.then_some(MessageDisposition::SaveOnly),
            send_meeting_invitations: has_calendar.then_some(SendMeetingInvitations::SendToNone),
            saved_item_folder_id: folder,
            items,
        }
    }

    /// Sends a message, keeping a copy as `copy` says.
    ///
    /// ```
    /// use ews_client::ops::{CreateItem, MessageDisposition, SavedCopy};
    /// use ews_client::{DistinguishedFolderName, Item, Message};
    /// let op = CreateItem::send(Item::Message(Message::default()), SavedCopy::InSentItems);
    /// assert_eq!(op.message_disposition, Some(MessageDisposition::SendAndSaveCopy));
    /// let archive = SavedCopy::In(DistinguishedFolderName::Drafts.into());
    /// let op = CreateItem::send(Item::Message(Message::default()), archive);
    /// assert!(op.saved_item_folder_id.is_some());
    /// ```
    pub fn send(message: Item, copy: SavedCopy) -> Self {
        let (disposition, saved_item_folder_id) = match copy {
            SavedCopy::Discard => (MessageDisposition::SendOnly, None),
            SavedCopy::InSentItems => (MessageDisposition::SendAndSaveCopy, None),
            SavedCopy::In(folder) => (MessageDisposition::SendAndSaveCopy, Some(folder)),
        };
        Self {
            message_disposition: Some(disposition),
            send_meeting_invitations: None,
            saved_item_folder_id,
            items: vec![message],
        }
    }
}

impl Operation for CreateItem {
    const NAME: &'static str = "CreateItem";
    type Response = ResponseMessages<ItemInfo>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.items.len())
    }

    fn idempotent(&self) -> bool {
        false
    }
}

impl WriteXml for CreateItem {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_opt("MessageDisposition", self.message_disposition.as_ref())
            .attr_opt(
                "SendMeetingInvitations",
                self.send_meeting_invitations.as_ref(),
            )
            .children(|w| {
                w.opt_write(
                    Ns::Messages,
                    "SavedItemFolderId",
                    self.saved_item_folder_id.as_ref(),
                );
                w.element(Ns::Messages, "Items", |w| {
                    for item in &self.items {
                        item.write(w);
                    }
                });
            });
    }
}

impl ReadXml for CreateItem {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let mut out = Self {
            message_disposition: start.attr_value(r, "MessageDisposition")?,
            send_meeting_invitations: start.attr_value(r, "SendMeetingInvitations")?,
            saved_item_folder_id: None,
            items: Vec::new(),
        };
        let mut saw_items = false;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "SavedItemFolderId") {
                out.saved_item_folder_id = Some(BaseFolderId::read_xml(r, &c)?);
            } else if c.is(Ns::Messages, "Items") {
                saw_items = true;
                out.items = Item::read_list(r, &c)?;
            } else {
                r.skip(&c)?;
            }
        }
        if !saw_items {
            return Err(r.missing(start, "Items"));
        }
        Ok(out)
    }
}

/// A copy of `item` holding only what `CreateItem` accepts: the writable fields, extended
/// properties, MIME content and attachments (without ids, sizes and timestamps). Ids,
/// folder, sizes, server timestamps and other read-only fields are dropped. Use it to
/// create an item from one read from a server (e.g. to copy it to another mailbox).
pub fn creatable(item: &Item) -> Item {
    let mut out = item.empty_like();
    // Every change of set_all_fields applies to an empty item of the same kind.
    if apply_changes(&mut out, &set_all_fields(item)).is_err() {
        out = item.empty_like();
    }
    let common = out.common_mut();
    common.mime_content = item.common().mime_content.clone();
    common.attachments = item
        .common()
        .attachments
        .iter()
        .map(|a| {
            let mut a = a.clone();
            let c = match &mut a {
                Attachment::File(f) => &mut f.common,
                Attachment::Item(i) => &mut i.common,
            };
            c.attachment_id = None;
            c.size = None;
            c.last_modified_time = None;
            if let Attachment::Item(i) = &mut a {
                i.item = i.item.as_deref().map(|inner| Box::new(creatable(inner)));
            }
            a
        })
        .collect();
    out
}
