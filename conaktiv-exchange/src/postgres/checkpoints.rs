//! mail-transport's receive checkpoints on PostgreSQL: [`PgCheckpoints`].

use std::future::Future;

use mail_transport::{CheckpointStore, MailError};
use sync_core::StoreError;
use sync_core::postgres::PgPool;
use tokio::runtime::{Handle, RuntimeFlavor};

/// The checkpoint store's component name in `conaktiv_schema`.
pub const CHECKPOINTS_COMPONENT: &str = "mail_checkpoints";

/// Migrations of the checkpoint store; index `i` brings the schema from version `i` to
/// `i + 1`. The table is the one of mail-transport's `SqliteCheckpoints`.
pub const CHECKPOINTS_MIGRATIONS: &[&str] = &["CREATE TABLE mail_checkpoints (
         account TEXT NOT NULL,
         folder TEXT NOT NULL,
         checkpoint TEXT NOT NULL,
         PRIMARY KEY (account, folder)
     );"];

/// Receive checkpoints (IMAP: UIDVALIDITY and last UID; Exchange: sync state) in
/// PostgreSQL, shared by every worker: mail-transport's [`CheckpointStore`], as its
/// `SqliteCheckpoints` is on one file.
///
/// # Runtime
///
/// [`CheckpointStore`] is a synchronous trait and the driver is asynchronous: each call
/// runs its query with [`tokio::task::block_in_place`] on the current runtime, which needs
/// a **multi-thread** tokio runtime (the CLI's). Called on a current-thread runtime it
/// fails with a [`MailError::Storage`] (it never panics); called from a thread outside any
/// runtime it runs on the runtime [`PgCheckpoints::open`] was called on, if that one is
/// multi-thread. A worker thread is blocked for the query's round trip. The trait becoming
/// asynchronous would remove the restriction.
///
/// Errors are [`MailError::Storage`] with the [`StoreError`] as their source (whose
/// [`StoreError::is_transient`] tells a lost connection from a refused statement;
/// mail-transport's `MailError::is_transient` says `false` for every storage error).
#[derive(Clone, Debug)]
pub struct PgCheckpoints {
    pool: PgPool,
    handle: Handle,
}

fn mail_error(e: impl Into<StoreError>) -> MailError {
    let e: StoreError = e.into();
    MailError::Storage {
        message: format!("checkpoint store (PostgreSQL): {e}"),
        source: Some(Box::new(e)),
    }
}

impl PgCheckpoints {
    /// The checkpoint store over `pool`: brings its table up to date (once per pool). Must
    /// run on a tokio runtime ([`StoreError::Config`] otherwise), the one calls from threads
    /// outside any runtime use.
    pub async fn open(pool: &PgPool) -> Result<Self, StoreError> {
        let handle = Handle::try_current().map_err(|_| {
            StoreError::Config("the PostgreSQL checkpoint store needs a tokio runtime".into())
        })?;
        pool.migrate(CHECKPOINTS_COMPONENT, CHECKPOINTS_MIGRATIONS)
            .await?;
        Ok(Self {
            pool: pool.clone(),
            handle,
        })
    }

    /// The checkpoint of a folder of an account (the asynchronous form of
    /// [`CheckpointStore::load`]).
    pub async fn load_async(
        &self,
        account: &str,
        folder: &str,
    ) -> Result<Option<String>, StoreError> {
        let client = self.pool.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT checkpoint FROM mail_checkpoints WHERE account = $1 AND folder = $2",
            )
            .await?;
        Ok(client
            .query_opt(&stmt, &[&account, &folder])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    /// Saves the checkpoint of a folder (the asynchronous form of [`CheckpointStore::save`]).
    pub async fn save_async(
        &self,
        account: &str,
        folder: &str,
        checkpoint: &str,
    ) -> Result<(), StoreError> {
        let client = self.pool.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO mail_checkpoints (account, folder, checkpoint) VALUES ($1, $2, $3)
                 ON CONFLICT (account, folder) DO UPDATE SET checkpoint = EXCLUDED.checkpoint",
            )
            .await?;
        client
            .execute(&stmt, &[&account, &folder, &checkpoint])
            .await?;
        Ok(())
    }

    /// Runs `fut` to completion from synchronous code (see the type's documentation).
    fn block_on<T>(
        &self,
        fut: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, MailError> {
        let refused = || {
            MailError::storage(
                "the PostgreSQL checkpoint store needs a multi-thread tokio runtime \
                 (it was called on a current-thread runtime)",
            )
        };
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| h.block_on(fut)).map_err(mail_error)
            }
            Ok(_) => Err(refused()),
            Err(_) if self.handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
                self.handle.block_on(fut).map_err(mail_error)
            }
            Err(_) => Err(refused()),
        }
    }
}

impl CheckpointStore for PgCheckpoints {
    fn load(&self, account: &str, folder: &str) -> Result<Option<String>, MailError> {
        self.block_on(self.load_async(account, folder))
    }

    fn save(&self, account: &str, folder: &str, checkpoint: &str) -> Result<(), MailError> {
        self.block_on(self.save_async(account, folder, checkpoint))
    }
}
