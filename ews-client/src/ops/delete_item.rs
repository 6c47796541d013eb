//! `DeleteItem`: hard delete, soft delete or move to Deleted Items; meeting cancellations
//! and task occurrences.
//!
//! Microsoft reference: [DeleteItem operation](https://learn.microsoft.com/en-us/exchange/client-developer/web-service-reference/deleteitem-operation).

use crate::operation::Operation;
use crate::types::base_item_id::BaseItemId;
use crate::types::ids::string_enum;
use crate::types::response::ResponseMessages;
use crate::xml::{Ns, ReadXml, Start, WriteXml, XmlError, XmlReader, XmlWriter};

string_enum! {
    /// How items are deleted (`t:DisposalType`).
    DisposalType {
        /// Permanently.
        HardDelete = "HardDelete",
        /// To the dumpster (recoverable items).
        SoftDelete = "SoftDelete",
        /// To the Deleted Items folder.
        MoveToDeletedItems = "MoveToDeletedItems",
    }
}

string_enum! {
    /// Whether deleting a meeting sends cancellations
    /// (`t:CalendarItemCreateOrDeleteOperationType`).
    SendMeetingCancellations {
        /// No cancellations.
        SendToNone = "SendToNone",
        /// Send, keep no copy.
        SendOnlyToAll = "SendOnlyToAll",
        /// Send and keep a copy in Sent Items.
        SendToAllAndSaveCopy = "SendToAllAndSaveCopy",
    }
}

string_enum! {
    /// Which task occurrences a delete affects (`t:AffectedTaskOccurrencesType`).
    AffectedTaskOccurrences {
        /// The whole recurring task.
        AllOccurrences = "AllOccurrences",
        /// The current occurrence only.
        SpecifiedOccurrenceOnly = "SpecifiedOccurrenceOnly",
    }
}

/// `m:DeleteItem`: one response message per item, without content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteItem {
    /// The items.
    pub item_ids: Vec<BaseItemId>,
    /// How to delete.
    pub delete_type: DisposalType,
    /// Required by Exchange when deleting calendar items.
    pub send_meeting_cancellations: Option<SendMeetingCancellations>,
    /// Required by Exchange when deleting tasks.
    pub affected_task_occurrences: Option<AffectedTaskOccurrences>,
    /// `SuppressReadReceipts`.
    pub suppress_read_receipts: Option<bool>,
}

impl DeleteItem {
    /// Deletes `ids` with `delete_type`, sending no cancellations and affecting all task
    /// occurrences (so that calendar items and tasks can be deleted too).
    pub fn new(
        delete_type: DisposalType,
        item_ids: impl IntoIterator<Item = impl Into<BaseItemId>>,
    ) -> Self {
        Self {
            item_ids: item_ids.into_iter().map(Into::into).collect(),
            delete_type,
            send_meeting_cancellations: Some(SendMeetingCancellations::SendToNone),
            affected_task_occurrences: Some(AffectedTaskOccurrences::AllOccurrences),
            suppress_read_receipts: None,
        }
    }
}

impl Operation for DeleteItem {
    const NAME: &'static str = "DeleteItem";
    type Response = ResponseMessages<()>;

    fn expected_responses(&self) -> Option<usize> {
        Some(self.item_ids.len())
    }

    fn validate(&self) -> Result<(), String> {
        if self.item_ids.is_empty() {
            return Err("DeleteItem: at least one id is required".to_owned());
        }
        Ok(())
    }

    /// Deleting twice is harmless unless it sends meeting cancellations.
    fn idempotent(&self) -> bool {
        matches!(
            self.send_meeting_cancellations,
            None | Some(SendMeetingCancellations::SendToNone)
        )
    }
}

impl WriteXml for DeleteItem {
    fn write_xml(&self, w: &mut XmlWriter, ns: Ns, name: &str) {
        w.start(ns, name)
            .attr_value("DeleteType", &self.delete_type)
            .attr_opt(
                "SendMeetingCancellations",
                self.send_meeting_cancellations.as_ref(),
            )
            .attr_opt(
                "AffectedTaskOccurrences",
                self.affected_task_occurrences.as_ref(),
            )
            .attr_opt("SuppressReadReceipts", self.suppress_read_receipts.as_ref())
            .children(|w| BaseItemId::write_list(w, Ns::Messages, "ItemIds", &self.item_ids));
    }
}

impl ReadXml for DeleteItem {
    fn read_xml<'a>(r: &mut XmlReader<'a>, start: &Start<'a>) -> Result<Self, XmlError> {
        let delete_type = start.required_attr_value(r, "DeleteType")?;
        let send_meeting_cancellations = start.attr_value(r, "SendMeetingCancellations")?;
        let affected_task_occurrences = start.attr_value(r, "AffectedTaskOccurrences")?;
        let suppress_read_receipts = start.attr_value(r, "SuppressReadReceipts")?;
        let mut ids = None;
        while let Some(c) = r.next_child(start)? {
            if c.is(Ns::Messages, "ItemIds") {
                ids = Some(BaseItemId::read_list(r, &c)?);
            } else {
                r.skip(&c)?;
            }
        }
        Ok(Self {
            item_ids: r.required(start, ids, "ItemIds")?,
            delete_type,
            send_meeting_cancellations,
            affected_task_occurrences,
            suppress_read_receipts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ids::ItemId;

    #[test]
    fn deleting_is_idempotent_unless_it_sends_cancellations() {
        let mut op = DeleteItem::new(DisposalType::HardDelete, [ItemId::new("A")]);
        assert!(op.idempotent());
        op.send_meeting_cancellations = Some(SendMeetingCancellations::SendOnlyToAll);
        assert!(!op.idempotent());
        op.send_meeting_cancellations = None;
        assert!(op.idempotent());
    }
}
