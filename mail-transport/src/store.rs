//! Local state: receive checkpoints (SQLite) and the persistent, throttled send queue (SQLite,
//! or PostgreSQL with the feature `postgres`).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use rusqlite::{OptionalExtension, params};

use crate::error::MailError;
use crate::mime::BuiltMail;
use crate::settings::Throttle;
use crate::transport::{MailSender, SendReceipt};

/// Where receive checkpoints are kept (IMAP: UIDVALIDITY and last UID; Exchange: sync state).
pub trait CheckpointStore: Send + Sync {
    /// The checkpoint of a folder of an account.
    fn load(&self, account: &str, folder: &str) -> Result<Option<String>, MailError>;
    /// Saves the checkpoint of a folder.
    fn save(&self, account: &str, folder: &str, checkpoint: &str) -> Result<(), MailError>;
}

fn open_conn(path: &Path) -> Result<rusqlite::Connection, MailError> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    Ok(conn)
}

fn lock(
    conn: &Mutex<rusqlite::Connection>,
) -> Result<MutexGuard<'_, rusqlite::Connection>, MailError> {
    conn.lock()
        .map_err(|_| MailError::storage("state database lock poisoned"))
}

/// Checkpoints in a SQLite file.
#[derive(Clone)]
pub struct SqliteCheckpoints {
    conn: Arc<Mutex<rusqlite::Connection>>,
}

impl std::fmt::Debug for SqliteCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteCheckpoints")
    }
}

impl SqliteCheckpoints {
    /// Opens or creates the checkpoint table in a SQLite file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, MailError> {
        let conn = open_conn(path.as_ref())?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS mail_checkpoints (
                 account TEXT NOT NULL, folder TEXT NOT NULL, checkpoint TEXT NOT NULL,
                 PRIMARY KEY (account, folder))",
        )?;
        Ok(SqliteCheckpoints {
            conn: Arc::new(Mutex::new(conn)),
        })
    }
}

impl CheckpointStore for SqliteCheckpoints {
    fn load(&self, account: &str, folder: &str) -> Result<Option<String>, MailError> {
        let conn = lock(&self.conn)?;
        Ok(conn
            .query_row(
                "SELECT checkpoint FROM mail_checkpoints WHERE account = ?1 AND folder = ?2",
                params![account, folder],
                |r| r.get(0),
            )
            .optional()?)
    }
    fn save(&self, account: &str, folder: &str, checkpoint: &str) -> Result<(), MailError> {
        let conn = lock(&self.conn)?;
        conn.execute(
            "INSERT INTO mail_checkpoints (account, folder, checkpoint) VALUES (?1, ?2, ?3)
             ON CONFLICT(account, folder) DO UPDATE SET checkpoint = excluded.checkpoint",
            params![account, folder, checkpoint],
        )?;
        Ok(())
    }
}

/// The outcome of one queue run.
#[derive(Debug, Clone, Default)]
pub struct QueueRun {
    /// Messages sent in this run.
    pub sent: Vec<SendReceipt>,
    /// Messages that failed permanently (queue id, error); they stay in the queue as failed.
    pub failed: Vec<(i64, String)>,
    /// The throttle holds further mail until this time.
    pub throttled_until: Option<DateTime<Utc>>,
    /// A transient error stopped the run; the message is retried later.
    pub deferred: Option<String>,
    /// Messages still waiting.
    pub remaining: usize,
    /// Another worker is sending this account's queue right now (PostgreSQL only), so this
    /// run sent nothing; try again later. Always `false` on SQLite.
    pub busy: bool,
}

/// A send queue in SQLite or PostgreSQL: mail survives a restart, and the account's throttle
/// ("after N mails delay sending by M minutes") is applied across runs and restarts.
///
/// Delivery is at least once: a crash between the server's acceptance and the queue update
/// sends the message again with the same Message-ID.
///
/// **PostgreSQL** (feature `postgres`, [`SendQueue::postgres`]): several workers, on one or
/// several machines, may share one account's queue. A run holds a session-level advisory
/// lock on the account for its duration (on one pooled connection), so one worker at a time
/// sends an account's mail: no message is sent twice at once and the throttle's count stays
/// exact; a worker that finds the account locked returns at once with [`QueueRun::busy`]. If
/// the run's future is dropped (the worker stops mid-run), its connection is closed instead
/// of being returned to the pool, and the server releases the lock, as it does when the
/// process dies. The synchronous [`enqueue`](SendQueue::enqueue) and
/// [`pending`](SendQueue::pending) work on a PostgreSQL queue only inside a multi-thread
/// Tokio runtime (through `block_in_place`); elsewhere they return a
/// [`MailError::Storage`] error (never panic): use [`enqueue_async`](SendQueue::enqueue_async)
/// and [`pending_async`](SendQueue::pending_async), which work on both backends.
#[derive(Clone)]
pub struct SendQueue {
    backend: Backend,
    account: String,
    throttle: Option<Throttle>,
}

/// Where a [`SendQueue`] keeps its messages.
#[derive(Clone)]
enum Backend {
    Sqlite(Arc<Mutex<rusqlite::Connection>>),
    #[cfg(feature = "postgres")]
    Postgres(deadpool_postgres::Pool),
}

impl std::fmt::Debug for SendQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => "postgres",
        };
        f.debug_struct("SendQueue")
            .field("backend", &backend)
            .field("account", &self.account)
            .field("throttle", &self.throttle)
            .finish()
    }
}

pub(crate) const RETRY_BASE_SECS: i64 = 60;

/// The wait before the next attempt after `attempts` transient failures.
pub(crate) fn backoff_secs(attempts: i64) -> i64 {
    RETRY_BASE_SECS.saturating_mul(1_i64 << attempts.clamp(0, 10))
}

/// The throttle state (mails counted in the batch, paused until) after one more sent mail.
pub(crate) fn after_sent(
    throttle: Option<Throttle>,
    count: u32,
    now: DateTime<Utc>,
) -> Result<Option<(u32, i64)>, MailError> {
    let Some(t) = throttle else { return Ok(None) };
    let count = count.saturating_add(1);
    if count >= t.after_mails() {
        let delay =
            ChronoDuration::from_std(t.delay()).map_err(|e| MailError::Config(e.to_string()))?;
        Ok(Some((0, (now + delay).timestamp())))
    } else {
        Ok(Some((count, 0)))
    }
}

impl SendQueue {
    /// Opens (or creates) the queue of `account` in a SQLite file.
    pub fn open(
        path: impl AsRef<Path>,
        account: impl Into<String>,
        throttle: Option<Throttle>,
    ) -> Result<Self, MailError> {
        let conn = open_conn(path.as_ref())?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS mail_send_queue (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 account TEXT NOT NULL,
                 message_id TEXT NOT NULL,
                 envelope_from TEXT NOT NULL,
                 envelope_to TEXT NOT NULL,
                 bytes BLOB NOT NULL,
                 status TEXT NOT NULL DEFAULT 'pending',
                 attempts INTEGER NOT NULL DEFAULT 0,
                 next_attempt INTEGER NOT NULL DEFAULT 0,
                 last_error TEXT);
             CREATE TABLE IF NOT EXISTS mail_throttle (
                 account TEXT PRIMARY KEY,
                 batch_count INTEGER NOT NULL,
                 paused_until INTEGER NOT NULL);",
        )?;
        Ok(SendQueue {
            backend: Backend::Sqlite(Arc::new(Mutex::new(conn))),
            account: account.into(),
            throttle,
        })
    }

    /// The queue of `account` in the PostgreSQL database of `pool` (feature `postgres`),
    /// shared by every worker that opens it there (see the type's documentation).
    ///
    /// Brings the schema of the component [`PG_COMPONENT`] to the newest version first
    /// (versioned migrations in one transaction under the advisory lock the connector's other
    /// PostgreSQL components use, versions in the table `conaktiv_schema`); a database of a
    /// newer version is refused. From `sync_core::postgres::PgPool`, pass
    /// `pg_pool.deadpool().clone()`.
    #[cfg(feature = "postgres")]
    pub async fn postgres(
        pool: deadpool_postgres::Pool,
        account: impl Into<String>,
        throttle: Option<Throttle>,
    ) -> Result<Self, MailError> {
        crate::pg_queue::migrate(&pool).await?;
        Ok(SendQueue {
            backend: Backend::Postgres(pool),
            account: account.into(),
            throttle,
        })
    }

    /// The account whose queue this is.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// Adds a built message; returns its queue id.
    ///
    /// On a PostgreSQL queue this blocks the thread (`block_in_place`) and needs a multi-thread
    /// Tokio runtime; elsewhere it returns an error: use [`SendQueue::enqueue_async`].
    pub fn enqueue(&self, mail: &BuiltMail) -> Result<i64, MailError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let conn = lock(conn)?;
                conn.execute(
                    "INSERT INTO mail_send_queue (account, message_id, envelope_from, envelope_to, bytes)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        self.account,
                        mail.message_id,
                        mail.envelope_from,
                        mail.envelope_to.join("\n"),
                        mail.bytes
                    ],
                )?;
                Ok(conn.last_insert_rowid())
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => crate::pg_queue::block_on(
                "enqueue",
                crate::pg_queue::enqueue(pool, &self.account, mail),
            ),
        }
    }

    /// Adds a built message; returns its queue id. Works on both backends in any runtime.
    pub async fn enqueue_async(&self, mail: &BuiltMail) -> Result<i64, MailError> {
        match &self.backend {
            Backend::Sqlite(_) => self.enqueue(mail),
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => crate::pg_queue::enqueue(pool, &self.account, mail).await,
        }
    }

    /// Number of messages waiting to be sent.
    ///
    /// On a PostgreSQL queue this blocks the thread (`block_in_place`) and needs a multi-thread
    /// Tokio runtime; elsewhere it returns an error: use [`SendQueue::pending_async`].
    pub fn pending(&self) -> Result<usize, MailError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let conn = lock(conn)?;
                let n: i64 = conn.query_row(
                    "SELECT COUNT(*) FROM mail_send_queue WHERE account = ?1 AND status = 'pending'",
                    [&self.account],
                    |r| r.get(0),
                )?;
                Ok(usize::try_from(n).unwrap_or(0))
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => {
                crate::pg_queue::block_on("pending", crate::pg_queue::pending(pool, &self.account))
            }
        }
    }

    /// Number of messages waiting to be sent. Works on both backends in any runtime.
    pub async fn pending_async(&self) -> Result<usize, MailError> {
        match &self.backend {
            Backend::Sqlite(_) => self.pending(),
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => crate::pg_queue::pending(pool, &self.account).await,
        }
    }

    /// Sends what is due now.
    pub async fn run(&self, sender: &dyn MailSender) -> Result<QueueRun, MailError> {
        self.run_at(sender, Utc::now()).await
    }

    /// Sends what is due at `now` (a parameter so the throttle can be tested without waiting).
    ///
    /// On PostgreSQL, returns at once with [`QueueRun::busy`] if another worker is running
    /// this account's queue.
    pub async fn run_at(
        &self,
        sender: &dyn MailSender,
        now: DateTime<Utc>,
    ) -> Result<QueueRun, MailError> {
        match &self.backend {
            Backend::Sqlite(conn) => self.run_sqlite(conn, sender, now).await,
            #[cfg(feature = "postgres")]
            Backend::Postgres(pool) => {
                crate::pg_queue::run_at(pool, &self.account, self.throttle, sender, now).await
            }
        }
    }

    fn throttle_state(conn: &rusqlite::Connection, account: &str) -> Result<(u32, i64), MailError> {
        let row: Option<(i64, i64)> = conn
            .query_row(
                "SELECT batch_count, paused_until FROM mail_throttle WHERE account = ?1",
                [account],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (count, until) = row.unwrap_or((0, 0));
        Ok((u32::try_from(count).unwrap_or(0), until))
    }

    fn next_due(
        conn: &rusqlite::Connection,
        account: &str,
        now: i64,
    ) -> Result<Option<(i64, BuiltMail, i64)>, MailError> {
        Ok(conn
            .query_row(
                "SELECT id, message_id, envelope_from, envelope_to, bytes, attempts FROM mail_send_queue
                 WHERE account = ?1 AND status = 'pending' AND next_attempt <= ?2
                 ORDER BY id LIMIT 1",
                params![account, now],
                |r| {
                    let to: String = r.get(3)?;
                    Ok((
                        r.get(0)?,
                        BuiltMail {
                            message_id: r.get(1)?,
                            envelope_from: r.get(2)?,
                            envelope_to: to.split('\n').map(str::to_string).collect(),
                            bytes: r.get(4)?,
                        },
                        r.get(5)?,
                    ))
                },
            )
            .optional()?)
    }

    async fn run_sqlite(
        &self,
        conn: &Arc<Mutex<rusqlite::Connection>>,
        sender: &dyn MailSender,
        now: DateTime<Utc>,
    ) -> Result<QueueRun, MailError> {
        let mut run = QueueRun::default();
        let now_s = now.timestamp();
        loop {
            let (count, paused_until, next) = {
                let c = lock(conn)?;
                let (count, paused_until) = Self::throttle_state(&c, &self.account)?;
                (
                    count,
                    paused_until,
                    Self::next_due(&c, &self.account, now_s)?,
                )
            };
            let Some((id, mail, attempts)) = next else {
                break;
            };
            if paused_until > now_s {
                run.throttled_until = DateTime::<Utc>::from_timestamp(paused_until, 0);
                break;
            }
            match sender.send_built(&mail).await {
                Ok(receipt) => {
                    let c = lock(conn)?;
                    // One transaction: a crash cannot drop the mail without counting it.
                    let tx = c.unchecked_transaction()?;
                    tx.execute("DELETE FROM mail_send_queue WHERE id = ?1", [id])?;
                    let counted = after_sent(self.throttle, count, now);
                    if let Ok(Some((count, until))) = counted {
                        tx.execute(
                            "INSERT INTO mail_throttle (account, batch_count, paused_until) VALUES (?1, ?2, ?3)
                             ON CONFLICT(account) DO UPDATE SET batch_count = excluded.batch_count,
                                                                paused_until = excluded.paused_until",
                            params![self.account, count, until],
                        )?;
                    }
                    tx.commit()?;
                    run.sent.push(receipt);
                    counted?;
                }
                Err(e) if e.is_transient() => {
                    let c = lock(conn)?;
                    c.execute(
                        "UPDATE mail_send_queue SET attempts = attempts + 1, next_attempt = ?2, last_error = ?3
                         WHERE id = ?1",
                        params![id, now_s + backoff_secs(attempts), e.to_string()],
                    )?;
                    run.deferred = Some(e.to_string());
                    break;
                }
                Err(e) => {
                    let c = lock(conn)?;
                    c.execute(
                        "UPDATE mail_send_queue SET status = 'failed', attempts = attempts + 1, last_error = ?2
                         WHERE id = ?1",
                        params![id, e.to_string()],
                    )?;
                    run.failed.push((id, e.to_string()));
                }
            }
        }
        run.remaining = self.pending()?;
        Ok(run)
    }
}

/// The component name of the PostgreSQL send queue in `conaktiv_schema`.
#[cfg(feature = "postgres")]
pub const PG_COMPONENT: &str = "mail_send_queue";
