//! EWS data types (the `types` namespace): ids, property paths, folders, items, shapes.
//!
//! One definition per schema element; each implements [`crate::xml::WriteXml`] and
//! [`crate::xml::ReadXml`] so that requests and responses can be both written and read.

pub mod attachment;
pub mod base_item_id;
pub mod body;
pub mod calendar;
pub mod contact;
pub(crate) mod fields;
pub mod folder;
pub mod ids;
pub mod item;
pub mod mailbox;
pub mod message;
pub mod paths;
pub mod recurrence;
pub mod response;
pub mod shape;
pub mod task;
pub mod timezone;

pub use attachment::{Attachment, AttachmentId, FileAttachment, ItemAttachment};
pub use body::{Body, BodyType, MimeContent};
pub use calendar::{Attendee, CalendarItem};
pub use contact::Contact;
pub use ids::{BaseFolderId, DistinguishedFolderId, DistinguishedFolderName, FolderId, ItemId};
pub use item::{GenericItem, Item, ItemCommon};
pub use mailbox::EmailAddress;
pub use message::Message;
pub use paths::{
    DistinguishedPropertySet, ExtendedFieldUri, ExtendedProperty, ExtendedValue, MapiPropertyType,
    PropertyPath,
};
pub use recurrence::{Recurrence, RecurrencePattern, RecurrenceRange};
pub use task::Task;
pub use timezone::TimeZoneDefinition;
