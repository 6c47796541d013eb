//! Local state in SQLite: receive checkpoints and the persistent, throttled send queue.

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
}

/// A send queue in SQLite: mail survives a restart, and the account's throttle ("after N
/// mails delay sending by M minutes") is applied across runs and restarts.
///
/// Delivery is at least once: a crash between the server's acceptance and the queue update
/// sends the message again with the same Message-ID.
#[derive(Clone)]
pub struct SendQueue {
    conn: Arc<Mutex<rusqlite::Connection>>,
    account: String,
    throttle: Option<Throttle>,
}

impl std::fmt::Debug for SendQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendQueue")
            .field("account", &self.account)
            .field("throttle", &self.throttle)
            .finish()
    }
}

const RETRY_BASE_SECS: i64 = 60;

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
            conn: Arc::new(Mutex::new(conn)),
            account: account.into(),
            throttle,
        })
    }

    /// Adds a built message; returns its queue id.
    pub fn enqueue(&self, mail: &BuiltMail) -> Result<i64, MailError> {
        let conn = lock(&self.conn)?;
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

    /// Number of messages waiting to be sent.
    pub fn pending(&self) -> Result<usize, MailError> {
        let conn = lock(&self.conn)?;
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM mail_send_queue WHERE account = ?1 AND status = 'pending'",
            [&self.account],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Sends what is due now.
    pub async fn run(&self, sender: &dyn MailSender) -> Result<QueueRun, MailError> {
        self.run_at(sender, Utc::now()).await
    }

    fn throttle_state(&self) -> Result<(u32, i64), MailError> {
        let conn = lock(&self.conn)?;
        let row: Option<(i64, i64)> = conn
            .query_row(
                "SELECT batch_count, paused_until FROM mail_throttle WHERE account = ?1",
                [&self.account],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (count, until) = row.unwrap_or((0, 0));
        Ok((u32::try_from(count).unwrap_or(0), until))
    }

    fn set_throttle_state(&self, count: u32, paused_until: i64) -> Result<(), MailError> {
        let conn = lock(&self.conn)?;
        conn.execute(
            "INSERT INTO mail_throttle (account, batch_count, paused_until) VALUES (?1, ?2, ?3)
             ON CONFLICT(account) DO UPDATE SET batch_count = excluded.batch_count,
                                                paused_until = excluded.paused_until",
            params![self.account, count, paused_until],
        )?;
        Ok(())
    }

    fn next_due(&self, now: i64) -> Result<Option<(i64, BuiltMail, i64)>, MailError> {
        let conn = lock(&self.conn)?;
        Ok(conn
            .query_row(
                "SELECT id, message_id, envelope_from, envelope_to, bytes, attempts FROM mail_send_queue
                 WHERE account = ?1 AND status = 'pending' AND next_attempt <= ?2
                 ORDER BY id LIMIT 1",
                params![self.account, now],
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

    /// Sends what is due at `now` (a parameter so the throttle can be tested without waiting).
    pub async fn run_at(
        &self,
        sender: &dyn MailSender,
        now: DateTime<Utc>,
    ) -> Result<QueueRun, MailError> {
        let mut run = QueueRun::default();
        let now_s = now.timestamp();
        loop {
            let (mut count, paused_until) = self.throttle_state()?;
            let Some((id, mail, attempts)) = self.next_due(now_s)? else {
                break;
            };
            if paused_until > now_s {
                run.throttled_until = DateTime::<Utc>::from_timestamp(paused_until, 0);
                break;
            }
            match sender.send_built(&mail).await {
                Ok(receipt) => {
                    {
                        let conn = lock(&self.conn)?;
                        conn.execute("DELETE FROM mail_send_queue WHERE id = ?1", [id])?;
                    }
                    run.sent.push(receipt);
                    if let Some(t) = self.throttle {
                        count += 1;
                        if count >= t.after_mails() {
                            let delay = ChronoDuration::from_std(t.delay())
                                .map_err(|e| MailError::Config(e.to_string()))?;
                            self.set_throttle_state(0, (now + delay).timestamp())?;
                        } else {
                            self.set_throttle_state(count, 0)?;
                        }
                    }
                }
                Err(e) if e.is_transient() => {
                    let backoff = RETRY_BASE_SECS.saturating_mul(1_i64 << attempts.clamp(0, 10));
                    let conn = lock(&self.conn)?;
                    conn.execute(
                        "UPDATE mail_send_queue SET attempts = attempts + 1, next_attempt = ?2, last_error = ?3
                         WHERE id = ?1",
                        params![id, now_s + backoff, e.to_string()],
                    )?;
                    run.deferred = Some(e.to_string());
                    break;
                }
                Err(e) => {
                    let conn = lock(&self.conn)?;
                    conn.execute(
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
