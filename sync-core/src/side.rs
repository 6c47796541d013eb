//! The seam a side (the CRM store, Exchange) implements.
//!
//! The trait is async (sides talk HTTP in reality) and its futures are `Send`, so a host can
//! drive the engine on a multi-threaded runtime. Implementors simply write `async fn` in their
//! `impl`. The engine itself never spawns, sleeps or reads a clock.

use std::future::Future;

use crate::{Entry, Id, Key, Record, Version};

/// A full listing of the records in scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Every record in scope, with its version and correlation key.
    pub entries: Vec<Entry>,
    /// A change-feed token taken *before* the listing, if the side has a change feed.
    pub token: Option<String>,
}

/// What changed since a change-feed token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// Records created or changed since the token (or that entered the scope).
    pub changed: Vec<Entry>,
    /// Records deleted since the token (or that left the scope).
    pub removed: Vec<Id>,
    /// The token to ask with next time.
    pub token: String,
}

/// One write in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Create a record that carries the correlation key `key`.
    Create {
        /// The content.
        record: Record,
        /// The correlation key to store on the record.
        key: Key,
    },
    /// Replace the content of a record if its version is still `expected`.
    Update {
        /// The record id.
        id: Id,
        /// The version the plan was made against (optimistic concurrency).
        expected: Version,
        /// The new content.
        record: Record,
        /// The pair's correlation key (store it if the record does not carry it yet).
        key: Key,
    },
    /// Delete a record if its version is still `expected`.
    Delete {
        /// The record id.
        id: Id,
        /// The version the plan was made against.
        expected: Version,
    },
    /// Store the correlation key on a record if its version is still `expected`.
    SetKey {
        /// The record id.
        id: Id,
        /// The version the plan was made against.
        expected: Version,
        /// The key.
        key: Key,
    },
}

/// The outcome of one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Written. `id` is the record's id after the write (new for a create) and `version`
    /// its new version (empty for a delete).
    Done {
        /// The record id.
        id: Id,
        /// The record's new version.
        version: Version,
    },
    /// Not written: the record's version is no longer the expected one.
    Conflict,
    /// Not written: the record no longer exists.
    NotFound,
    /// Not written, for the given reason.
    Failed(String),
    /// May or may not have been written (a dropped connection, a timeout).
    Unknown(String),
}

/// What kind of failure a [`SideError`] is: what the scheduler and the report decide on.
///
/// Only [`Authentication`](SideErrorKind::Authentication),
/// [`Authorization`](SideErrorKind::Authorization),
/// [`MailboxGone`](SideErrorKind::MailboxGone) and
/// [`Configuration`](SideErrorKind::Configuration) are permanent: retrying them without a
/// change of the configuration (or of the server's setup) cannot succeed. Everything else is
/// worth retrying at a later run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SideErrorKind {
    /// Worth retrying later: throttled, a timeout, a dropped connection, a 5xx answer, a
    /// malformed or truncated answer, a busy database.
    Transient,
    /// The side refused the credentials (wrong password, token refused).
    Authentication,
    /// The credentials are valid but may not act for this mailbox or record set
    /// (impersonation refused, an application outside its mailbox scope).
    Authorization,
    /// The mailbox (or the store behind the side) does not exist.
    MailboxGone,
    /// The configuration does not fit the side (a rule's folder does not exist, an invalid
    /// filter).
    Configuration,
    /// The whole request was refused before anything was written (for example, too large):
    /// nothing happened, and smaller requests may succeed.
    Rejected,
    /// Any other failure: retried at a later run, never taken as permanent.
    Other,
}

impl SideErrorKind {
    /// Whether a failure of this kind cannot succeed without a change of configuration.
    pub fn is_permanent(self) -> bool {
        matches!(
            self,
            SideErrorKind::Authentication
                | SideErrorKind::Authorization
                | SideErrorKind::MailboxGone
                | SideErrorKind::Configuration
        )
    }

    /// A short name for reports ("transient", "authentication", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SideErrorKind::Transient => "transient",
            SideErrorKind::Authentication => "authentication",
            SideErrorKind::Authorization => "authorization",
            SideErrorKind::MailboxGone => "mailbox gone",
            SideErrorKind::Configuration => "configuration",
            SideErrorKind::Rejected => "rejected",
            SideErrorKind::Other => "other",
        }
    }
}

impl std::fmt::Display for SideErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error of a whole side call (the connection is down, the credentials are wrong).
///
/// Carries a [`SideErrorKind`], a message for people (free of secrets) and the source error,
/// the way lettre's errors do. Nothing decides on an error by its text: use [`kind`],
/// [`is_transient`] and [`is_permanent`].
///
/// [`kind`]: SideError::kind
/// [`is_transient`]: SideError::is_transient
/// [`is_permanent`]: SideError::is_permanent
#[derive(Clone)]
pub struct SideError {
    kind: SideErrorKind,
    message: String,
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl SideError {
    /// An error of the given kind with a message for people.
    pub fn new(kind: SideErrorKind, message: impl Into<String>) -> Self {
        SideError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// An error of the given kind caused by `source` (its text becomes the message).
    pub fn from_source(
        kind: SideErrorKind,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        SideError {
            kind,
            message: source.to_string(),
            source: Some(std::sync::Arc::new(source)),
        }
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(std::sync::Arc::new(source));
        self
    }

    /// A transient error (worth retrying later).
    pub fn transient(message: impl Into<String>) -> Self {
        SideError::new(SideErrorKind::Transient, message)
    }

    /// A configuration error (permanent until the configuration changes).
    pub fn configuration(message: impl Into<String>) -> Self {
        SideError::new(SideErrorKind::Configuration, message)
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> SideErrorKind {
        self.kind
    }

    /// The message for people, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether a later retry may succeed (everything but the permanent kinds).
    pub fn is_transient(&self) -> bool {
        !self.kind.is_permanent()
    }

    /// Whether retrying cannot succeed without a change of configuration: authentication or
    /// authorization refused, a missing mailbox, a configuration error.
    pub fn is_permanent(&self) -> bool {
        self.kind.is_permanent()
    }

    /// Whether the whole request was refused before anything was written.
    pub fn is_rejected(&self) -> bool {
        self.kind == SideErrorKind::Rejected
    }
}

impl std::fmt::Debug for SideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SideError")
            .field("kind", &self.kind)
            .field("message", &self.message)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::fmt::Display for SideError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} error: {}", self.kind, self.message)
    }
}

impl std::error::Error for SideError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for SideError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for SideError {}

/// A side of the sync. See the crate docs for the contract.
///
/// Contract: a side stores the correlation key given to [`WriteOp::Create`],
/// [`WriteOp::Update`] and [`WriteOp::SetKey`] on the record and reports it in
/// [`Entry::key`]; a record keeps its key when its id changes (a move). Every write checks
/// the expected version first and answers [`WriteOutcome::Conflict`] if it moved on.
///
/// Key writes ([`WriteOp::SetKey`]) change no content and are not governed by the policy's
/// switches; the source of a create gets one (before its copy is created) so that it
/// re-pairs after a move. A record is asked for its key until it reports it in
/// [`Entry::key`]; a side whose ids never change and serve as the key (a CRM whose record id
/// is the key) and that cannot store keys reports its record id as the key and may
/// acknowledge key writes without storing anything.
pub trait Side {
    /// List every record in scope, cheaply (id, version, key).
    fn list(&mut self) -> impl Future<Output = Result<Listing, SideError>> + Send;

    /// The changes since a token, or `Ok(None)` if the side has no change feed or the token
    /// expired (the engine then falls back to [`Side::list`]).
    fn changes_since(
        &mut self,
        token: &str,
    ) -> impl Future<Output = Result<Option<ChangeSet>, SideError>> + Send;

    /// Fetch the contents of records by id. Records that no longer exist are left out.
    fn fetch(
        &mut self,
        ids: &[Id],
    ) -> impl Future<Output = Result<Vec<(Id, Record)>, SideError>> + Send;

    /// Apply a batch of writes, returning one outcome per op, in order. An `Err` means the
    /// whole batch's outcome is unknown.
    fn write(
        &mut self,
        ops: Vec<WriteOp>,
    ) -> impl Future<Output = Result<Vec<WriteOutcome>, SideError>> + Send;
}
