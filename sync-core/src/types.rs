//! Plain data shared by the planner, the sides and the state store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The id of a record on one side (a CRM record id, an Exchange `ItemId`, ...). Opaque.
pub type Id = String;
/// A version or fingerprint of a record on one side (an Exchange `ChangeKey`, a CRM
/// modification stamp, a content hash, ...). Opaque; only compared for equality.
pub type Version = String;
/// The correlation key of a pair. It is stored on the records of both sides (for Exchange an
/// extended property holding the CRM record id) so that a pair can be found again after a
/// crash, a lost state or a moved record.
pub type Key = String;
/// A comparable field value.
pub type Value = serde_json::Value;

/// A record as the engine sees it: named, comparable field values. Absent fields are absent
/// from the map. The adapter projects its native records onto this common shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Field name to value.
    pub fields: BTreeMap<String, Value>,
}

impl Record {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder: this record with `name` set to `value`.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.fields.insert(name.to_owned(), value.into());
        self
    }

    /// The value of a field, if present.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }
}

impl<const N: usize> From<[(&str, &str); N]> for Record {
    fn from(fields: [(&str, &str); N]) -> Self {
        Record {
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
                .collect(),
        }
    }
}

/// One of the two sides of a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SideId {
    /// The local side (the CRM).
    Local,
    /// The remote side (Exchange).
    Remote,
}

impl SideId {
    /// The other side.
    pub fn other(self) -> SideId {
        match self {
            SideId::Local => SideId::Remote,
            SideId::Remote => SideId::Local,
        }
    }

    /// The direction in which data flows *into* this side.
    pub fn incoming(self) -> crate::Direction {
        match self {
            SideId::Local => crate::Direction::RemoteToLocal,
            SideId::Remote => crate::Direction::LocalToRemote,
        }
    }

    /// A stable name ("local" / "remote"), used in the SQLite store.
    pub fn as_str(self) -> &'static str {
        match self {
            SideId::Local => "local",
            SideId::Remote => "remote",
        }
    }
}

/// One entry of a side's listing: cheap to obtain for every record in scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The record's id on its side.
    pub id: Id,
    /// The record's current version or fingerprint.
    pub version: Version,
    /// The correlation key stored on the record, if any.
    pub key: Option<Key>,
}

impl Entry {
    /// An entry without a correlation key.
    pub fn new(id: impl Into<Id>, version: impl Into<Version>) -> Self {
        Entry {
            id: id.into(),
            version: version.into(),
            key: None,
        }
    }

    /// The key this entry is matched by: its stored correlation key, or else its own id
    /// (a record created by the engine from this one carries this id as its key).
    pub fn effective_key(&self) -> &str {
        self.key.as_deref().unwrap_or(&self.id)
    }
}

/// Where one side of a pair stands: the record id and the version both sides last agreed on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// The record id on that side.
    pub id: Id,
    /// The record version at the last sync (the empty string forces a re-check).
    pub version: Version,
}

/// A pair of records the engine keeps in sync, as stored in the state store.
///
/// A pair with only one anchor is *detached*: the record on the other side left the scope
/// (or was deleted) while that direction's delete switch was off, so the remaining record is
/// no longer tracked and is not re-created on the other side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pair {
    /// The correlation key (primary key of the pair).
    pub key: Key,
    /// The local record, if attached.
    pub local: Option<Anchor>,
    /// The remote record, if attached.
    pub remote: Option<Anchor>,
    /// The base version: per field, what both sides agreed on last time.
    pub base: Record,
}

impl Pair {
    /// The anchor on one side.
    pub fn anchor(&self, side: SideId) -> Option<&Anchor> {
        match side {
            SideId::Local => self.local.as_ref(),
            SideId::Remote => self.remote.as_ref(),
        }
    }

    /// The anchor on one side, mutable.
    pub fn anchor_mut(&mut self, side: SideId) -> &mut Option<Anchor> {
        match side {
            SideId::Local => &mut self.local,
            SideId::Remote => &mut self.remote,
        }
    }
}

/// A journaled intent: a create about to be sent. Written before the create and cleared
/// once its outcome is recorded; an intent still present at the next run means the outcome is
/// unknown, and the engine re-pairs by key (with a full listing) instead of creating again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The key the created record carries.
    pub key: Key,
    /// The side the record is created on.
    pub on: SideId,
    /// The id of the source record on the other side.
    pub source_id: Id,
    /// When the intent was journaled (the time the plan was made at).
    pub at: crate::Timestamp,
}
