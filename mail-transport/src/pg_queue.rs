//! The send queue in PostgreSQL (feature `postgres`): the backend of
//! [`SendQueue::postgres`](crate::SendQueue::postgres).
//!
//! Schema (component [`PG_COMPONENT`](crate::store::PG_COMPONENT) in `conaktiv_schema`):
//! `mail_send_queue` (one row per queued message, as in SQLite) and `mail_throttle` (the
//! throttle's count and pause per account). A run takes the session-level advisory lock of
//! its account (`pg_try_advisory_lock`, key from the account name) on one pooled connection
//! and does all its work on that connection; the lock is released at the end of the run, by
//! closing the connection if the run is dropped midway, and by the server if the process dies.

use std::future::Future;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Object, Pool};
use sha2::{Digest, Sha256};

use crate::error::MailError;
use crate::mime::BuiltMail;
use crate::settings::Throttle;
use crate::store::{PG_COMPONENT, QueueRun, after_sent, backoff_secs};
use crate::transport::MailSender;

/// Migrations of the queue; index `i` brings the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the queue and the throttle state
    "CREATE TABLE mail_send_queue (
         id BIGSERIAL PRIMARY KEY,
         account TEXT NOT NULL,
         message_id TEXT NOT NULL,
         envelope_from TEXT NOT NULL,
         envelope_to TEXT NOT NULL,
         bytes BYTEA NOT NULL,
         status TEXT NOT NULL DEFAULT 'pending',
         attempts BIGINT NOT NULL DEFAULT 0,
         next_attempt BIGINT NOT NULL DEFAULT 0,
         last_error TEXT
     );
     CREATE INDEX mail_send_queue_due ON mail_send_queue (account, status, next_attempt, id);
     CREATE TABLE mail_throttle (
         account TEXT PRIMARY KEY,
         batch_count BIGINT NOT NULL,
         paused_until BIGINT NOT NULL
     );",
];

/// The advisory lock (transaction level) under which every component of the connector
/// migrates its schema; the same key as `sync_core::postgres::PgPool::migrate`.
const MIGRATION_LOCK: i64 = 7_170_650_512;

fn pg_error(e: tokio_postgres::Error) -> MailError {
    MailError::Storage {
        message: format!("PostgreSQL: {e}"),
        source: Some(Box::new(e)),
    }
}

fn pool_error(e: deadpool_postgres::PoolError) -> MailError {
    MailError::Storage {
        message: format!("PostgreSQL connection pool: {e}"),
        source: Some(Box::new(e)),
    }
}

/// Brings the queue's schema to the newest version (once: versioned, in one transaction
/// under the migration advisory lock).
pub(crate) async fn migrate(pool: &Pool) -> Result<(), MailError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let tx = client.transaction().await.map_err(pg_error)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(pg_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS conaktiv_schema (
             component TEXT PRIMARY KEY NOT NULL,
             version BIGINT NOT NULL
         )",
    )
    .await
    .map_err(pg_error)?;
    let found: i64 = tx
        .query_opt(
            "SELECT version FROM conaktiv_schema WHERE component = $1",
            &[&PG_COMPONENT],
        )
        .await
        .map_err(pg_error)?
        .map(|r| r.get(0))
        .unwrap_or(0);
    let newest = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if found > newest {
        return Err(MailError::storage(format!(
            "the PostgreSQL schema of {PG_COMPONENT} is version {found}, newer than this \
             build supports ({newest})"
        )));
    }
    if found == newest {
        return Ok(()); // the transaction rolls back: nothing was changed
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tracing::info!(
            component = PG_COMPONENT,
            to = i + 1,
            "migrating PostgreSQL schema"
        );
        tx.batch_execute(sql).await.map_err(pg_error)?;
    }
    tx.execute(
        "INSERT INTO conaktiv_schema (component, version) VALUES ($1, $2)
         ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
        &[&PG_COMPONENT, &newest],
    )
    .await
    .map_err(pg_error)?;
    tx.commit().await.map_err(pg_error)
}

/// Runs `fut` to completion from synchronous code: only inside a multi-thread Tokio runtime
/// (through `block_in_place`); anywhere else an error, never a panic.
pub(crate) fn block_on<T>(
    what: &str,
    fut: impl Future<Output = Result<T, MailError>>,
) -> Result<T, MailError> {
    let unsupported = || {
        MailError::storage(format!(
            "SendQueue::{what} on a PostgreSQL queue needs a multi-thread Tokio runtime; \
             use SendQueue::{what}_async"
        ))
    };
    let handle = tokio::runtime::Handle::try_current().map_err(|_| unsupported())?;
    if handle.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return Err(unsupported());
    }
    tokio::task::block_in_place(|| handle.block_on(fut))
}

pub(crate) async fn enqueue(
    pool: &Pool,
    account: &str,
    mail: &BuiltMail,
) -> Result<i64, MailError> {
    let client = pool.get().await.map_err(pool_error)?;
    let to = mail.envelope_to.join("\n");
    let row = client
        .query_one(
            "INSERT INTO mail_send_queue (account, message_id, envelope_from, envelope_to, bytes)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &account,
                &mail.message_id,
                &mail.envelope_from,
                &to,
                &mail.bytes,
            ],
        )
        .await
        .map_err(pg_error)?;
    Ok(row.get(0))
}

async fn count_pending(client: &Object, account: &str) -> Result<usize, MailError> {
    let n: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM mail_send_queue WHERE account = $1 AND status = 'pending'",
            &[&account],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    Ok(usize::try_from(n).unwrap_or(0))
}

pub(crate) async fn pending(pool: &Pool, account: &str) -> Result<usize, MailError> {
    let client = pool.get().await.map_err(pool_error)?;
    count_pending(&client, account).await
}

/// The advisory lock key of an account's queue: the first 8 bytes of a SHA-256 of a fixed
/// prefix and the account name (64 bits, so two accounts share a key practically never).
fn lock_key(account: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(b"conaktiv mail_send_queue\0")
        .chain_update(account.as_bytes())
        .finalize();
    let mut first = [0_u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// A pooled connection holding an account's session-level advisory lock. Released with
/// [`AccountLock::release`]; if dropped instead (the run's future was dropped), the
/// connection is taken out of the pool and closed, so the server releases the lock rather
/// than the pool handing a locked session to someone else.
struct AccountLock {
    client: Option<Object>,
    key: i64,
}

impl AccountLock {
    async fn try_acquire(client: Object, key: i64) -> Result<Result<Self, Object>, MailError> {
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await
            .map_err(pg_error)?
            .get(0);
        Ok(if got {
            Ok(AccountLock {
                client: Some(client),
                key,
            })
        } else {
            Err(client)
        })
    }

    fn client(&self) -> Result<&Object, MailError> {
        self.client
            .as_ref()
            .ok_or_else(|| MailError::storage("the queue's lock connection is gone"))
    }

    async fn release(mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        match client
            .execute("SELECT pg_advisory_unlock($1)", &[&self.key])
            .await
        {
            Ok(_) => drop(client), // back to the pool, unlocked
            Err(e) => {
                tracing::warn!(error = %e, "could not unlock a send queue; closing its connection");
                drop(Object::take(client));
            }
        }
    }
}

impl Drop for AccountLock {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // closing the session releases its advisory lock on the server
            drop(Object::take(client));
        }
    }
}

pub(crate) async fn run_at(
    pool: &Pool,
    account: &str,
    throttle: Option<Throttle>,
    sender: &dyn MailSender,
    now: DateTime<Utc>,
) -> Result<QueueRun, MailError> {
    let client = pool.get().await.map_err(pool_error)?;
    let lock = match AccountLock::try_acquire(client, lock_key(account)).await? {
        Ok(lock) => lock,
        Err(client) => {
            return Ok(QueueRun {
                busy: true,
                remaining: count_pending(&client, account).await?,
                ..QueueRun::default()
            });
        }
    };
    let result = run_locked(lock.client()?, account, throttle, sender, now).await;
    lock.release().await;
    result
}

async fn run_locked(
    client: &Object,
    account: &str,
    throttle: Option<Throttle>,
    sender: &dyn MailSender,
    now: DateTime<Utc>,
) -> Result<QueueRun, MailError> {
    let mut run = QueueRun::default();
    let now_s = now.timestamp();
    loop {
        let (count, paused_until) = client
            .query_opt(
                "SELECT batch_count, paused_until FROM mail_throttle WHERE account = $1",
                &[&account],
            )
            .await
            .map_err(pg_error)?
            .map(|r| (r.get::<_, i64>(0), r.get::<_, i64>(1)))
            .unwrap_or((0, 0));
        let count = u32::try_from(count).unwrap_or(0);
        let Some(row) = client
            .query_opt(
                "SELECT id, message_id, envelope_from, envelope_to, bytes, attempts
                 FROM mail_send_queue
                 WHERE account = $1 AND status = 'pending' AND next_attempt <= $2
                 ORDER BY id LIMIT 1",
                &[&account, &now_s],
            )
            .await
            .map_err(pg_error)?
        else {
            break;
        };
        if paused_until > now_s {
            run.throttled_until = DateTime::<Utc>::from_timestamp(paused_until, 0);
            break;
        }
        let id: i64 = row.get(0);
        let to: String = row.get(3);
        let mail = BuiltMail {
            message_id: row.get(1),
            envelope_from: row.get(2),
            envelope_to: to.split('\n').map(str::to_string).collect(),
            bytes: row.get(4),
        };
        let attempts: i64 = row.get(5);
        match sender.send_built(&mail).await {
            Ok(receipt) => {
                // The sent mail leaves the queue and counts for the throttle in one
                // statement: a crash cannot drop the mail without counting it.
                let counted = after_sent(throttle, count, now);
                match counted {
                    Ok(Some((count, until))) => client
                        .execute(
                            "WITH sent AS (DELETE FROM mail_send_queue WHERE id = $4)
                             INSERT INTO mail_throttle (account, batch_count, paused_until)
                             VALUES ($1, $2, $3)
                             ON CONFLICT (account) DO UPDATE
                             SET batch_count = EXCLUDED.batch_count,
                                 paused_until = EXCLUDED.paused_until",
                            &[&account, &i64::from(count), &until, &id],
                        )
                        .await
                        .map_err(pg_error)?,
                    // No throttle, or a delay beyond the calendar: the mail leaves anyway.
                    Ok(None) | Err(_) => client
                        .execute("DELETE FROM mail_send_queue WHERE id = $1", &[&id])
                        .await
                        .map_err(pg_error)?,
                };
                run.sent.push(receipt);
                counted?;
            }
            Err(e) if e.is_transient() => {
                let message = e.to_string();
                client
                    .execute(
                        "UPDATE mail_send_queue
                         SET attempts = attempts + 1, next_attempt = $2, last_error = $3
                         WHERE id = $1",
                        &[&id, &now_s.saturating_add(backoff_secs(attempts)), &message],
                    )
                    .await
                    .map_err(pg_error)?;
                run.deferred = Some(message);
                break;
            }
            Err(e) => {
                let message = e.to_string();
                client
                    .execute(
                        "UPDATE mail_send_queue
                         SET status = 'failed', attempts = attempts + 1, last_error = $2
                         WHERE id = $1",
                        &[&id, &message],
                    )
                    .await
                    .map_err(pg_error)?;
                run.failed.push((id, message));
            }
        }
    }
    run.remaining = count_pending(client, account).await?;
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_differ_per_account_and_are_stable() {
        assert_eq!(lock_key("anna"), lock_key("anna"));
        assert_ne!(lock_key("anna"), lock_key("ben"));
        assert_ne!(lock_key("anna"), MIGRATION_LOCK);
    }
}
