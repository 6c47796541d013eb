//! Field mapping between ConAktiv records (`conaktiv-model`) and Exchange items
//! (`ews-client` types), over sync-core's common projection [`Record`].
//!
//! Each table has a module with the same shape:
//!
//! * `crm_to_record` / `record_onto_crm`: CRM record to [`Record`], and back onto an existing
//!   CRM record (only the mapped fields are touched; CRM-only fields such as a contact's
//!   customer link stay as they are, and a field whose canonical value is unchanged keeps its
//!   CRM spelling).
//! * `ews_to_record` / `record_to_ews`: the same for the EWS item.
//! * `record_to_update_changes(old, new)`: the `UpdateItem` field changes ([`FieldChange`],
//!   ews-client's `ItemChangeDescription`)
//!   that turn the Exchange item of `old` into that of `new`.
//! * `fields`: the canonical field names of the [`Record`] (documented constants).
//!
//! Values in a [`Record`] are canonical so that equal content compares equal whichever side
//! it came from: texts trimmed (single-line texts with whitespace runs collapsed, multi-line
//! texts with `\n` line ends), empty texts absent, instants in UTC RFC 3339 with whole
//! seconds (`2025-03-10T08:00:00Z`), dates as `YYYY-MM-DD`, time zones as the CLDR default
//! IANA zone of their Windows zone, lists sorted. Syncing a record to Exchange and back
//! therefore changes nothing, and two runs never ping-pong.
//!
//! Mail is not synced field by field: [`mail`] converts between [`conaktiv_model::Mail`] and
//! [`ews_client::types::Message`] for filing incoming mail and writing CRM mail to a folder.
//!
//! The correlation key (the CRM record id stored on every Exchange item as an extended
//! property) is in [`key`]. The field-by-field table is in `docs/mapping.md`.
//!
//! Invariants: this module is pure (no I/O) and knows no SOAP or XML; it depends only on the
//! record types of `conaktiv-model`, the item types of `ews-client` and `sync-core`'s
//! [`Record`].

pub mod appointment;
pub mod canon;
pub mod contact;
pub mod graph;
pub mod graph_mail;
pub mod key;
pub mod mail;
pub mod recurrence;
pub mod task;

pub use sync_core::Record;

/// One field change of an `UpdateItem` request: `SetItemField` (an item of the right kind
/// holding only the new value) or `DeleteItemField`. The `record_to_update_changes`
/// functions of the table modules produce them.
pub use ews_client::ops::ItemChangeDescription as FieldChange;

/// Something a conversion could not map exactly; the conversion still produced a result
/// (documented fallback), and the adapter should log the warning.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MappingWarning {
    /// An Exchange time zone id that is not a known Windows id (e.g. `Customized Time
    /// Zone`): the record gets `UTC` for the zone; instants stay exact.
    UnknownWindowsZone {
        /// The record field (`start_tz` or `end_tz`).
        field: &'static str,
        /// The id Exchange gave.
        id: String,
    },
    /// An IANA zone name with no Windows id: Exchange gets no time zone for it (Exchange then
    /// uses UTC); the record keeps the name.
    UnknownIanaZone {
        /// The record field (`start_tz` or `end_tz`).
        field: &'static str,
        /// The name.
        name: String,
    },
    /// An Exchange recurrence ConAktiv cannot represent (a task's regenerating pattern, a
    /// value out of range): the record marks it unsupported and the CRM recurrence is left
    /// alone.
    UnsupportedRecurrence {
        /// What Exchange had.
        detail: String,
    },
}

impl std::fmt::Display for MappingWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MappingWarning::UnknownWindowsZone { field, id } => write!(
                f,
                "{field}: Exchange time zone {id:?} is not a known Windows zone; using UTC"
            ),
            MappingWarning::UnknownIanaZone { field, name } => write!(
                f,
                "{field}: time zone {name:?} has no Windows id; Exchange gets no time zone"
            ),
            MappingWarning::UnsupportedRecurrence { detail } => {
                write!(f, "recurrence not representable in ConAktiv: {detail}")
            }
        }
    }
}
