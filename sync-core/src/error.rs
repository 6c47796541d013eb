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
    /// The store's configuration is invalid (a PostgreSQL URL, say).
    #[error("state store configuration: {0}")]
    Config(String),
    /// The PostgreSQL server failed or refused a statement (feature `postgres`).
    #[cfg(feature = "postgres")]
    #[error("state database (PostgreSQL) error: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// No PostgreSQL connection could be had from the pool (feature `postgres`).
    #[cfg(feature = "postgres")]
    #[error("state database (PostgreSQL) connection: {0}")]
    PostgresPool(#[source] deadpool_postgres::PoolError),
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
            #[cfg(feature = "postgres")]
            StoreError::Postgres(e) => postgres_transient(e),
            #[cfg(feature = "postgres")]
            StoreError::PostgresPool(e) => match e {
                deadpool_postgres::PoolError::Timeout(_) => true,
                deadpool_postgres::PoolError::Backend(e) => postgres_transient(e),
                _ => false,
            },
            _ => false,
        }
    }
}

/// Whether a PostgreSQL error may pass on retry: a lost or refused connection, a
/// serialization failure or deadlock, too many connections, a server shutting down.
#[cfg(feature = "postgres")]
fn postgres_transient(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::TOO_MANY_CONNECTIONS,
                SqlState::ADMIN_SHUTDOWN,
                SqlState::CRASH_SHUTDOWN,
                SqlState::CANNOT_CONNECT_NOW,
                SqlState::LOCK_NOT_AVAILABLE,
            ]
            .contains(code)
                || code.code().starts_with("08")
        }
        // No SQLSTATE: an I/O error (connection refused or reset) or a timeout.
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
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
