//! Errors.

use crate::SideId;

/// An error of the state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The SQLite database failed.
    #[error("state database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database file or its directory could not be created.
    #[error("state file error: {0}")]
    Io(#[source] std::io::Error),
    /// A stored value could not be decoded.
    #[error("corrupt state: {0}")]
    Corrupt(String),
    /// The database was written by a newer version of this library.
    #[error("state schema version {found} is newer than the supported {supported}")]
    SchemaTooNew {
        /// The version found in the database.
        found: i64,
        /// The newest version this library knows.
        supported: i64,
    },
}

impl StoreError {
    /// Whether a retry may succeed (a busy or locked database).
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            StoreError::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
            ),
            _ => false,
        }
    }
}

/// An error of a sync run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A side call failed as a whole.
    #[error("{side:?} side: {source}")]
    Side {
        /// Which side.
        side: SideId,
        /// The error.
        #[source]
        source: crate::SideError,
    },
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The mass-delete guard tripped; nothing was written. Accept it with
    /// [`crate::Plan::accept_mass_delete`] or plan again with [`crate::Policy::force`].
    #[error("mass-delete guard: {0}")]
    MassDelete(crate::GuardTrip),
    /// The policy is invalid (see [`crate::Policy::validate`]).
    #[error("invalid policy: {0}")]
    InvalidPolicy(String),
}

impl SyncError {
    /// Whether a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Side { source, .. } => source.is_transient(),
            SyncError::Store(e) => e.is_transient(),
            SyncError::MassDelete(_) | SyncError::InvalidPolicy(_) => false,
        }
    }
}
