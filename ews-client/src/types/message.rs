//! E-mail messages (`t:Message`, `t:MessageType`).

use super::fields::item_fields;
use super::mailbox::EmailAddress;

item_fields! {
    /// An e-mail message. The fields of `t:ItemType` (subject, body, MIME content, attachments,
    /// `InReplyTo`, `DateTimeSent`, `DateTimeReceived`, internet headers, ...) are in
    /// [`ItemCommon`](super::item::ItemCommon); the message-specific ones follow in schema
    /// order.
    #[derive(Debug, Clone, PartialEq, Default)]
    pub struct Message: ItemCommon {
        /// The sender (`Sender` header), when it differs from `from`.
        sender: Option<EmailAddress> => "Sender" recipient, rw "message:Sender";
        /// To recipients.
        to_recipients: Vec<EmailAddress> => "ToRecipients" recipients, rw "message:ToRecipients";
        /// Cc recipients.
        cc_recipients: Vec<EmailAddress> => "CcRecipients" recipients, rw "message:CcRecipients";
        /// Bcc recipients.
        bcc_recipients: Vec<EmailAddress> => "BccRecipients" recipients, rw "message:BccRecipients";
        /// Whether a read receipt is requested.
        is_read_receipt_requested: Option<bool> => "IsReadReceiptRequested" value, rw "message:IsReadReceiptRequested";
        /// Whether a delivery receipt is requested.
        is_delivery_receipt_requested: Option<bool> => "IsDeliveryReceiptRequested" value, rw "message:IsDeliveryReceiptRequested";
        /// The conversation index (base64, kept as text).
        conversation_index: Option<String> => "ConversationIndex" value, ro "message:ConversationIndex";
        /// The conversation topic.
        conversation_topic: Option<String> => "ConversationTopic" value, ro "message:ConversationTopic";
        /// The author (`From` header).
        from: Option<EmailAddress> => "From" recipient, rw "message:From";
        /// The `Message-ID` header.
        internet_message_id: Option<String> => "InternetMessageId" value, ro "message:InternetMessageId";
        /// Whether the message was read.
        is_read: Option<bool> => "IsRead" value, rw "message:IsRead";
        /// Whether a response is requested.
        is_response_requested: Option<bool> => "IsResponseRequested" value, rw "message:IsResponseRequested";
        /// The `References` header.
        references: Option<String> => "References" value, rw "message:References";
        /// The `Reply-To` addresses.
        reply_to: Vec<EmailAddress> => "ReplyTo" recipients, rw "message:ReplyTo";
        /// The mailbox that received the message.
        received_by: Option<EmailAddress> => "ReceivedBy" recipient, ro "message:ReceivedBy";
        /// The mailbox the message was received on behalf of.
        received_representing: Option<EmailAddress> => "ReceivedRepresenting" recipient, ro "message:ReceivedRepresenting";
    }
}
