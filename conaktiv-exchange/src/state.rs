//! Where the sync state of each mailbox and table lives: [`StateStores`].
//!
//! * [`SqliteStates`] (the default): one SQLite file per mailbox, table and protocol in a
//!   state folder, `<scope>.sqlite` — one process (or several on one machine's disk).
//! * [`PgStates`] (feature `postgres`): every scope in one PostgreSQL database, so workers on
//!   several machines share it (with the scheduler's leases there too, see
//!   [`crate::scheduler::SchedulerStore`]).
//!
//! A host can bring its own: anything that opens a [`sync_core::DynStateStore`] per scope.
//! Scope names are `<mailbox>.<table>` for EWS and `<mailbox>.<table>.graph` for Microsoft
//! Graph, the mailbox lower-cased with every character but ASCII letters and digits
//! replaced by `_` ([`scope_name`]).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use conaktiv_model::config::SyncTable;
use sync_core::{DynStateStore, SqliteStore, StoreError};

use crate::rules::table_name;

/// The sync state of every mailbox and table, opened by scope name.
#[async_trait]
pub trait StateStores: Send + Sync + std::fmt::Debug {
    /// Opens (creating it if need be) the state of `scope`.
    async fn open(&self, scope: &str) -> Result<Box<dyn DynStateStore>, StoreError>;
    /// Whether `scope` has any state.
    async fn exists(&self, scope: &str) -> Result<bool, StoreError>;
    /// Where the state lives, for messages (no secrets).
    fn location(&self) -> String;
    /// The folder, when the state is one SQLite file per scope in a folder (as
    /// [`SqliteStates`]); `None` otherwise.
    fn folder(&self) -> Option<&Path> {
        None
    }
}

/// A store that adds the time its calls take to a counter (a job's
/// [`crate::scheduler::JobReport::state_store_ms`]).
pub(crate) struct Timed {
    inner: Box<dyn DynStateStore>,
    spent: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Timed {
    /// `inner`, timed into `spent` (nanoseconds).
    pub(crate) fn new(
        inner: Box<dyn DynStateStore>,
        spent: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) -> Self {
        Self { inner, spent }
    }

    async fn timed<T>(spent: &std::sync::atomic::AtomicU64, f: impl Future<Output = T>) -> T {
        let start = std::time::Instant::now();
        let r = f.await;
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        spent.fetch_add(ns, std::sync::atomic::Ordering::Relaxed);
        r
    }
}

impl sync_core::AsyncStateStore for Timed {
    async fn pair_count(&mut self) -> Result<usize, StoreError> {
        let spent = std::sync::Arc::clone(&self.spent);
        Timed::timed(&spent, self.inner.dyn_pair_count()).await
    }
    async fn all_pairs(&mut self) -> Result<Vec<sync_core::Pair>, StoreError> {
        let spent = std::sync::Arc::clone(&self.spent);
        Timed::timed(&spent, self.inner.dyn_all_pairs()).await
    }
    async fn pairs_for(
        &mut self,
        local_ids: &[sync_core::Id],
        remote_ids: &[sync_core::Id],
        keys: &[sync_core::Key],
    ) -> Result<Vec<sync_core::Pair>, StoreError> {
        let spent = std::sync::Arc::clone(&self.spent);
        Timed::timed(
            &spent,
            self.inner.dyn_pairs_for(local_ids, remote_ids, keys),
        )
        .await
    }
    async fn intents(&mut self) -> Result<Vec<sync_core::Intent>, StoreError> {
        let spent = std::sync::Arc::clone(&self.spent);
        Timed::timed(&spent, self.inner.dyn_intents()).await
    }
    async fn token(&mut self, side: sync_core::SideId) -> Result<Option<String>, StoreError> {
        let spent = std::sync::Arc::clone(&self.spent);
        Timed::timed(&spent, self.inner.dyn_token(side)).await
    }
    async fn commit(&mut self, batch: &sync_core::StateBatch) -> Result<(), StoreError> {
        let spent = std::sync::Arc::clone(&self.spent);
        Timed::timed(&spent, self.inner.dyn_commit(batch)).await
    }
    async fn detached(&mut self) -> Result<Vec<sync_core::Detached>, StoreError> {
        let spent = std::sync::Arc::clone(&self.spent);
        Timed::timed(&spent, self.inner.dyn_detached()).await
    }
}

/// The scope name of a mailbox and table (`graph`: synced over Microsoft Graph).
pub fn scope_name(mailbox: &str, table: SyncTable, graph: bool) -> String {
    let safe: String = mailbox
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let suffix = if graph { ".graph" } else { "" };
    format!("{safe}.{}{suffix}", table_name(table))
}

/// SQLite files in a state folder (created with mode 0700 if missing).
#[derive(Debug, Clone)]
pub struct SqliteStates {
    dir: PathBuf,
}

impl SqliteStates {
    /// The state in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a scope.
    pub fn file(&self, scope: &str) -> PathBuf {
        self.dir.join(format!("{scope}.sqlite"))
    }
}

#[async_trait]
impl StateStores for SqliteStates {
    async fn open(&self, scope: &str) -> Result<Box<dyn DynStateStore>, StoreError> {
        crate::sqlite::create_private_dir(&self.dir).map_err(StoreError::Io)?;
        Ok(Box::new(SqliteStore::open(self.file(scope))?))
    }

    async fn exists(&self, scope: &str) -> Result<bool, StoreError> {
        Ok(self.file(scope).exists())
    }

    fn location(&self) -> String {
        self.dir.display().to_string()
    }

    fn folder(&self) -> Option<&Path> {
        Some(&self.dir)
    }
}

/// Every scope in one PostgreSQL database.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone)]
pub struct PgStates {
    pool: sync_core::postgres::PgPool,
}

#[cfg(feature = "postgres")]
impl PgStates {
    /// The state in the database of `pool`.
    pub fn new(pool: sync_core::postgres::PgPool) -> Self {
        Self { pool }
    }

    /// The pool.
    pub fn pool(&self) -> &sync_core::postgres::PgPool {
        &self.pool
    }
}

#[cfg(feature = "postgres")]
#[async_trait]
impl StateStores for PgStates {
    async fn open(&self, scope: &str) -> Result<Box<dyn DynStateStore>, StoreError> {
        Ok(Box::new(
            sync_core::postgres::PgStore::open(&self.pool, scope).await?,
        ))
    }

    async fn exists(&self, scope: &str) -> Result<bool, StoreError> {
        sync_core::postgres::PgStore::exists(&self.pool, scope).await
    }

    fn location(&self) -> String {
        format!("PostgreSQL {}", self.pool.target())
    }
}

/// The PostgreSQL pool of a `[state]` section with a `postgres://` URL: the password is the
/// secret `state.password` of `secrets` (the host's secret provider; for the command line,
/// the configuration file's `[state] password`), none if the provider has no such secret.
/// At most `max_connections` connections (default 16).
#[cfg(feature = "postgres")]
pub async fn postgres_pool(
    settings: &conaktiv_model::config::StateSettings,
    secrets: &dyn crate::host::SecretProvider,
) -> Result<sync_core::postgres::PgPool, StoreError> {
    use conaktiv_model::config::StateLocation;
    let url = match settings.location() {
        Ok(StateLocation::Postgres(url)) => url,
        Ok(StateLocation::Sqlite(_)) => {
            return Err(StoreError::Config(
                "the [state] url names SQLite, not PostgreSQL".into(),
            ));
        }
        Err(why) => return Err(StoreError::Config(why.into())),
    };
    let password = match secrets.secret("state.password").await {
        Ok(p) if !p.expose().is_empty() => Some(p),
        Ok(_) => None,
        Err(e) if e.is_not_found() || matches!(e, crate::host::HostError::Unknown { .. }) => None,
        Err(e) => {
            return Err(StoreError::Config(format!(
                "the PostgreSQL password (secret state.password): {e}"
            )));
        }
    };
    let max = settings.max_connections.unwrap_or(16) as usize;
    sync_core::postgres::PgPool::connect(&url, password.as_ref().map(|p| p.expose()), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_match_the_state_file_names() {
        assert_eq!(
            scope_name("A@X.test", SyncTable::Tasks, false),
            "a_x_test.tasks"
        );
        assert_eq!(
            scope_name("a@x.test", SyncTable::Contacts, true),
            "a_x_test.contacts.graph"
        );
    }
}
