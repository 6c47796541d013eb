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

/// An error of a whole side call (the connection is down, the credentials are wrong).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SideError {
    /// Worth retrying later (throttled, timeout, connection dropped).
    #[error("transient side error: {0}")]
    Transient(String),
    /// Not worth retrying without a change (bad configuration, access denied).
    #[error("side error: {0}")]
    Permanent(String),
}

impl SideError {
    /// Whether a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, SideError::Transient(_))
    }
}

/// A side of the sync. See the crate docs for the contract.
///
/// Contract: a side stores the correlation key given to [`WriteOp::Create`],
/// [`WriteOp::Update`] and [`WriteOp::SetKey`] on the record and reports it in
/// [`Entry::key`]; a record keeps its key when its id changes (a move). Every write checks
/// the expected version first and answers [`WriteOutcome::Conflict`] if it moved on.
///
/// Key writes ([`WriteOp::SetKey`]) change no content and are not governed by the rule's
/// switches; the source of a create gets one so that it re-pairs after a move. A side whose
/// ids never change and serve as the key (a CRM whose record id is the key) may acknowledge
/// them without storing anything: a record whose own id equals its pair's key is never asked
/// again.
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
