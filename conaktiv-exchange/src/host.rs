//! Host traits: what the ConAktiv backend implements so the connector can work on its data.
//!
//! * [`CrmStore`]: one per table (contacts, appointments, tasks, mails). Lists the records a
//!   rule's filter selects (cheaply: id, version, correlation key), reads, creates, updates and
//!   deletes them with per-record versions for optimistic concurrency. The shape follows the
//!   sync engine's side: the connector's CRM side is a thin layer over a `CrmStore`.
//! * [`UserDirectory`]: users, their groups, mailbox addresses and mail accounts.
//! * [`SecretProvider`]: passwords and client secrets by name.
//! * [`MailLinker`]: the mail linking hook (sender, recipients, subject, thread headers to
//!   customer / project / offer / invoice links).
//!
//! The embedded defaults in [`crate::sqlite`] implement all four on SQLite, so the CLI and the
//! demo run with no host, and a small installation can use them as they are.
//!
//! The traits are object safe (`Arc<dyn CrmStore<Contact>>` works) and their futures are
//! `Send`.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use conaktiv_model::mail::MailLinks;
use conaktiv_model::{Appointment, ContactPerson, Mail, Task};

use crate::filter::{Filter, FilterError};

/// A CRM record type the connector can store: serializable, with a stable table name.
///
/// The record's JSON form is what the embedded filter language walks (see [`crate::filter`]).
pub trait CrmRecord: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    /// The table's name (`contacts`, `appointments`, `tasks`, `mails`): a lower-case SQL
    /// identifier.
    const TABLE_NAME: &'static str;
}

impl CrmRecord for ContactPerson {
    const TABLE_NAME: &'static str = "contacts";
}

impl CrmRecord for Appointment {
    const TABLE_NAME: &'static str = "appointments";
}

impl CrmRecord for Task {
    const TABLE_NAME: &'static str = "tasks";
}

impl CrmRecord for Mail {
    const TABLE_NAME: &'static str = "mails";
}

/// What a listing, read or write tells about a stored record, without its content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordMeta {
    /// The record's id in the CRM.
    pub id: String,
    /// The record's version: changes whenever its content or key changes, never otherwise.
    pub version: String,
    /// The correlation key stored with the record (set by the sync), if any.
    pub key: Option<String>,
    /// When the record was last changed.
    pub modified: DateTime<Utc>,
    /// The user (mailbox owner) the record belongs to, if the table is per user.
    pub owner: Option<String>,
}

/// A record together with its metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored<R> {
    /// Id, version, key, modification time, owner.
    pub meta: RecordMeta,
    /// The content.
    pub record: R,
}

/// Which records a listing returns.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// The rule's filter (the empty filter selects everything).
    pub filter: Filter,
    /// Only records of this owner; `None` lists the records of every owner.
    pub owner: Option<String>,
}

impl ListQuery {
    /// Every record.
    pub fn all() -> Self {
        Self::default()
    }

    /// The records a filter expression selects.
    pub fn filtered(filter: &str) -> Result<Self, FilterError> {
        Ok(Self {
            filter: Filter::parse(filter)?,
            owner: None,
        })
    }

    /// This query, restricted to one owner.
    #[must_use]
    pub fn owned_by(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }
}

/// An error of a host call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The record does not exist (any more).
    #[error("{table} record {id} not found")]
    NotFound {
        /// The table.
        table: &'static str,
        /// The record id.
        id: String,
    },
    /// The record's version is no longer the expected one (someone else changed it).
    #[error(
        "{table} record {id} was changed concurrently (expected version {expected}, found {actual})"
    )]
    Conflict {
        /// The table.
        table: &'static str,
        /// The record id.
        id: String,
        /// The version the caller expected.
        expected: String,
        /// The record's current version.
        actual: String,
    },
    /// The filter expression is not valid.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// A stored record could not be read back (corrupt data, an incompatible schema).
    #[error("{table} record {id} cannot be decoded: {message}")]
    Decode {
        /// The table.
        table: &'static str,
        /// The record id.
        id: String,
        /// What went wrong.
        message: String,
    },
    /// A secret or other named thing is unknown.
    #[error("unknown {what}: {name}")]
    Unknown {
        /// What kind of thing ("secret", "user").
        what: &'static str,
        /// Its name.
        name: String,
    },
    /// The storage failed; `transient` says whether retrying later may help (a locked
    /// database, a dropped connection).
    #[error("storage error: {message}")]
    Storage {
        /// What went wrong.
        message: String,
        /// Whether a retry may succeed.
        transient: bool,
    },
}

impl HostError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Storage {
                transient: true,
                ..
            }
        )
    }

    /// Whether this is an optimistic-concurrency conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    /// Whether the record was not found.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

/// One correlation-key write of a batch ([`CrmStore::set_keys`]): store `key` on the record
/// `id` if its version is still `expected`, as [`CrmStore::set_key`] does.
///
/// The outcome of each of `count` writes of one batch transaction: the batch's own
/// outcomes, or, when the transaction failed as a whole (nothing was stored), its error on
/// every write. For stores implementing [`CrmStore::set_keys`] in one transaction.
pub(crate) fn per_write(
    batch: Result<Vec<Result<RecordMeta, HostError>>, HostError>,
    count: usize,
) -> Vec<Result<RecordMeta, HostError>> {
    match batch {
        Ok(out) => out,
        Err(e) => {
            let (message, transient) = match e {
                HostError::Storage { message, transient } => (message, transient),
                other => (other.to_string(), false),
            };
            (0..count)
                .map(|_| {
                    Err(HostError::Storage {
                        message: message.clone(),
                        transient,
                    })
                })
                .collect()
        }
    }
}

/// Built with [`KeyWrite::new`]; the named fields keep the three texts from being swapped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyWrite {
    /// The record's id.
    pub id: String,
    /// The version the record must still have.
    pub expected: String,
    /// The correlation key to store (opaque text, stored exactly as given).
    pub key: String,
}

impl KeyWrite {
    /// A key write: `key` on record `id`, if its version is still `expected`.
    pub fn new(id: impl Into<String>, expected: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            expected: expected.into(),
            key: key.into(),
        }
    }
}

/// The CRM's store for one table.
///
/// Contract:
/// * [`RecordMeta::version`] changes on every write that changes the content or the key,
///   and stays the same on a write that changes neither (so a no-op sync does not look like
///   a change to the next run).
/// * `update`, `delete` and `set_key` succeed only if the record's version still equals
///   `expected`; otherwise they fail with [`HostError::Conflict`] (or
///   [`HostError::NotFound`]) and change nothing.
/// * `set_keys` answers exactly one result per write, in the order of the writes, each the
///   result `set_key` would give for it; a write that fails (a conflict, a missing record)
///   does not keep the others from being stored.
/// * The correlation key given to `create`, `update`, `set_key` and `set_keys` is stored
///   with the record and reported by `list` and `get`; `update` with `key: None` keeps the
///   stored key.
///   Keys are opaque text to the store: the connector's CRM side marks records it created
///   outside the rule's filter with a key prefix
///   ([`PINNED_KEY_PREFIX`](crate::crm_side::PINNED_KEY_PREFIX)) and keeps them in the
///   rule's scope, so a store must return keys exactly as given (see [`crate::crm_side`]).
#[async_trait]
pub trait CrmStore<R: CrmRecord>: Send + Sync {
    /// The records the query selects, without content, ordered by id.
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError>;

    /// One record, or `None` if it does not exist.
    async fn get(&self, id: &str) -> Result<Option<Stored<R>>, HostError>;

    /// Several records; ids that do not exist are left out. The default reads them one by one.
    async fn get_many(&self, ids: &[String]) -> Result<Vec<Stored<R>>, HostError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = self.get(id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Creates a record for `owner` carrying the correlation key `key`.
    async fn create(
        &self,
        owner: Option<&str>,
        record: &R,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError>;

    /// Replaces a record's content if its version is still `expected`.
    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &R,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError>;

    /// Deletes a record if its version is still `expected`.
    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError>;

    /// Stores the correlation key on a record if its version is still `expected`.
    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError>;

    /// Stores several correlation keys (the key write-backs of one sync batch): one result
    /// per write, in order, each what [`set_key`](CrmStore::set_key) would answer for it. A
    /// write that fails (a [`Conflict`](HostError::Conflict), a record that is
    /// [`NotFound`](HostError::NotFound)) changes nothing and does not keep the others from
    /// being stored.
    ///
    /// The default calls `set_key` for each write in turn, so every existing store works
    /// unchanged. A store with transactions should override it and write the whole batch in
    /// one transaction ([`crate::sqlite::SqliteCrm`] does): an initial sync writes a key back
    /// to every record it copies, up to a batch size (100) at once, and one commit per batch
    /// instead of one per record cuts the embedded store's cost of those writes about
    /// fourfold (benchmark `initial_sync`). A store that wraps another store must forward
    /// this method too, or the wrapped store's batch write is not used.
    async fn set_keys(&self, writes: &[KeyWrite]) -> Vec<Result<RecordMeta, HostError>> {
        let mut out = Vec::with_capacity(writes.len());
        for w in writes {
            out.push(self.set_key(&w.id, &w.expected, &w.key).await);
        }
        out
    }
}

/// A user of the CRM, as the directory knows them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DirectoryUser {
    /// The ConAktiv user name (unique, compared case-insensitively).
    pub name: String,
    /// The name shown in reports.
    pub display_name: String,
    /// The user's Exchange mailbox (primary SMTP address), if they have one.
    pub mailbox: Option<String>,
    /// The groups the user belongs to.
    pub groups: Vec<String>,
    /// The short codes of the user's mail accounts.
    pub mail_accounts: Vec<String>,
    /// Whether the user is active (inactive users are not synchronised).
    pub active: bool,
}

/// The CRM's users and groups.
#[async_trait]
pub trait UserDirectory: Send + Sync {
    /// Every user, ordered by name.
    async fn users(&self) -> Result<Vec<DirectoryUser>, HostError>;

    /// One user by name (case-insensitive).
    async fn user(&self, name: &str) -> Result<Option<DirectoryUser>, HostError> {
        Ok(self
            .users()
            .await?
            .into_iter()
            .find(|u| u.name.eq_ignore_ascii_case(name)))
    }

    /// The users of a group (case-insensitive), ordered by name.
    async fn members(&self, group: &str) -> Result<Vec<DirectoryUser>, HostError> {
        Ok(self
            .users()
            .await?
            .into_iter()
            .filter(|u| u.groups.iter().any(|g| g.eq_ignore_ascii_case(group)))
            .collect())
    }
}

#[async_trait]
impl<T: UserDirectory + ?Sized> UserDirectory for std::sync::Arc<T> {
    async fn users(&self) -> Result<Vec<DirectoryUser>, HostError> {
        (**self).users().await
    }

    async fn user(&self, name: &str) -> Result<Option<DirectoryUser>, HostError> {
        (**self).user(name).await
    }

    async fn members(&self, group: &str) -> Result<Vec<DirectoryUser>, HostError> {
        (**self).members(group).await
    }
}

/// A secret value: printed as `[redacted]` in Debug and Display.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value; hand it only to the code that authenticates, never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Where the connector gets passwords and client secrets, by name.
///
/// Names are paths into the configuration: `servers.<server name>.admin_password`,
/// `servers.<server name>.oauth.client_secret`, `mail_accounts.<short code>.smtp.password`, ...
/// A host may keep them in its own vault.
#[async_trait]
pub trait SecretProvider: Send + Sync {
    /// The secret with this name; [`HostError::Unknown`] if there is none.
    async fn secret(&self, name: &str) -> Result<SecretValue, HostError>;
}

/// What the mail linking hook gets to decide a mail's links.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MailLinkQuery {
    /// The sender's address.
    pub from: Option<String>,
    /// Every recipient's address (To, Cc, Bcc).
    pub recipients: Vec<String>,
    /// The subject.
    pub subject: String,
    /// The mail's own Message-ID (normalised, without angle brackets).
    pub message_id: Option<String>,
    /// The In-Reply-To message ids.
    pub in_reply_to: Vec<String>,
    /// The References message ids.
    pub references: Vec<String>,
}

/// The mail linking hook: decides which customer, project, offer and invoice a mail belongs to.
#[async_trait]
pub trait MailLinker: Send + Sync {
    /// The links for a mail (empty if nothing matches).
    async fn link(&self, mail: &MailLinkQuery) -> Result<MailLinks, HostError>;
}
