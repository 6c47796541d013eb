//! What differs between the tables: the item kind, the shapes, and the conversions of the
//! field mapping ([`crate::mapping`]).

use conaktiv_model::config::SyncTable;
use conaktiv_model::mail::Direction;
use ews_client::types::shape::ItemShape;
use ews_client::types::{CalendarItem, Contact, Item, Message, PropertyPath, Task};
use sync_core::Record;

use crate::mapping::{self, FieldChange, key};

use super::mail::{mail_to_record, record_to_mail};

/// The Exchange item kind a side syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExchangeTable {
    /// Contacts (`t:Contact`) for the CRM's contact persons.
    Contacts,
    /// Calendar items (`t:CalendarItem`) for the CRM's appointments.
    Appointments,
    /// Tasks (`t:Task`) for the CRM's tasks.
    Tasks,
    /// Messages (`t:Message`) for the CRM's mails (the "email" table); mails created in the
    /// CRM get `direction`.
    Mail {
        /// The direction of mail filed from these folders.
        direction: Direction,
    },
}

impl ExchangeTable {
    /// The table of a rule (mail filed from the rule's folders counts as received).
    pub fn of(table: SyncTable) -> Self {
        match table {
            SyncTable::Contacts => Self::Contacts,
            SyncTable::Appointments => Self::Appointments,
            SyncTable::Tasks => Self::Tasks,
            SyncTable::Email => Self::Mail {
                direction: Direction::Incoming,
            },
        }
    }

    /// A short name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Contacts => "contacts",
            Self::Appointments => "appointments",
            Self::Tasks => "tasks",
            Self::Mail { .. } => "email",
        }
    }

    /// Whether an item is of this table's kind (other items in the folders are ignored:
    /// distribution lists among contacts, meeting requests among mail).
    pub fn accepts(self, item: &Item) -> bool {
        matches!(
            (self, item),
            (Self::Contacts, Item::Contact(_))
                | (Self::Appointments, Item::CalendarItem(_))
                | (Self::Tasks, Item::Task(_))
                | (Self::Mail { .. }, Item::Message(_))
        )
    }

    /// An empty item of the table's kind (for `SetItemField` changes).
    pub fn empty_item(self) -> Item {
        match self {
            Self::Contacts => Contact::default().into(),
            Self::Appointments => CalendarItem::default().into(),
            Self::Tasks => Task::default().into(),
            Self::Mail { .. } => Message::default().into(),
        }
    }

    /// The cheap listing shape: ids, change keys and the correlation key.
    pub fn list_shape(self) -> ItemShape {
        ItemShape::id_only().with_additional([key::record_id_path()])
    }

    /// The shape that gives the mapping everything it reads.
    pub fn fetch_shape(self) -> ItemShape {
        let mut extra: Vec<PropertyPath> = vec![key::record_id_path()];
        if let Self::Mail { .. } = self {
            extra.push(PropertyPath::Extended(
                mapping::mail::client_submit_time_uri(),
            ));
            extra.push(PropertyPath::Extended(mapping::mail::delivery_time_uri()));
        }
        ItemShape::all_properties().with_additional(extra)
    }

    /// The record of an item, or `None` for an item of another kind. `exceptions` are the
    /// modified occurrences of a calendar series (read with `GetItem`), ignored otherwise.
    pub fn to_record(self, item: &Item, exceptions: &[Item]) -> Option<Record> {
        Some(match (self, item) {
            (Self::Contacts, Item::Contact(c)) => mapping::contact::ews_to_record(c),
            (Self::Appointments, Item::CalendarItem(c)) => {
                let exceptions: Vec<CalendarItem> = exceptions
                    .iter()
                    .filter_map(|e| e.as_calendar_item().cloned())
                    .collect();
                let (record, warnings) =
                    mapping::appointment::ews_to_record_with_warnings(c, &exceptions);
                for w in warnings {
                    tracing::warn!(item = ?c.common.item_id, "{w}");
                }
                record
            }
            (Self::Tasks, Item::Task(t)) => mapping::task::ews_to_record(t),
            (Self::Mail { direction }, Item::Message(m)) => {
                mail_to_record(&mapping::mail::message_to_mail(m, direction))
            }
            _ => return None,
        })
    }

    /// The item to create for a record, carrying the correlation key.
    pub fn to_item(self, record: &Record, correlation_key: &str) -> Result<Item, String> {
        let mut item: Item = match self {
            Self::Contacts => mapping::contact::record_to_ews(record).into(),
            Self::Appointments => mapping::appointment::record_to_ews(record).into(),
            Self::Tasks => mapping::task::record_to_ews(record).into(),
            Self::Mail { direction } => {
                mapping::mail::mail_to_message(&record_to_mail(record, direction)?).into()
            }
        };
        key::set_record_id(&mut item, correlation_key);
        Ok(item)
    }

    /// The field changes turning the item of `old` into that of `new`, plus storing the
    /// correlation key. Mail is not edited: only the key is stored.
    pub fn update_changes(
        self,
        old: &Record,
        new: &Record,
        correlation_key: &str,
    ) -> Vec<FieldChange> {
        let mut changes = match self {
            Self::Contacts => mapping::contact::record_to_update_changes(old, new),
            Self::Appointments => mapping::appointment::record_to_update_changes(old, new),
            Self::Tasks => mapping::task::record_to_update_changes(old, new),
            Self::Mail { .. } => Vec::new(),
        };
        changes.push(key::record_id_change(&self.empty_item(), correlation_key));
        changes
    }
}
