//! The PostgreSQL backend of [`SchedulerStore`](super::SchedulerStore) (feature `postgres`):
//! workers on several machines share the leases and item states of one database.
//!
//! * A lease is one row per mailbox and table with its holder and expiry (milliseconds since
//!   the epoch, from the caller's clock: see the time note in `store.rs`). It is taken by
//!   one atomic statement, `INSERT … ON CONFLICT (mailbox, tbl) DO UPDATE … WHERE expired
//!   OR same holder RETURNING holder`: PostgreSQL locks the conflicting row and evaluates the
//!   condition on its newest version, so of any number of racing workers exactly one gets
//!   a free or expired lease. A holder of this machine whose process is gone
//!   ([`holder_is_dead`]) is replaced at once by a compare-and-swap `UPDATE … WHERE holder =
//!   the dead one`; a holder of another machine only after expiry.
//! * Mailboxes are stored ASCII-lowercased, the comparison SQLite's `COLLATE NOCASE` makes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sync_core::StoreError;
use sync_core::postgres::PgPool;

use super::store::{add, from_ms, last_run, ms};
use super::{ItemState, holder_is_dead};
use crate::host::HostError;

/// The scheduler store's component name in `conaktiv_schema`.
pub(super) const COMPONENT: &str = "scheduler";

/// Migrations of the scheduler store; index `i` brings the schema from version `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: leases and item states
    "CREATE TABLE scheduler_leases (
         mailbox TEXT NOT NULL,
         tbl TEXT NOT NULL,
         holder TEXT NOT NULL,
         expires_ms BIGINT NOT NULL,
         PRIMARY KEY (mailbox, tbl)
     );
     CREATE TABLE scheduler_items (
         mailbox TEXT NOT NULL,
         tbl TEXT NOT NULL,
         failures BIGINT NOT NULL DEFAULT 0,
         next_attempt_ms BIGINT,
         last_error TEXT,
         permanent BOOLEAN NOT NULL DEFAULT FALSE,
         fingerprint TEXT,
         last_run_ms BIGINT,
         last_run_by TEXT,
         PRIMARY KEY (mailbox, tbl)
     );",
];

/// A PostgreSQL error as the host's storage error (transient: a dropped connection, a
/// pool timeout, a serialization failure, ...).
pub(super) fn host_error(e: StoreError) -> HostError {
    HostError::Storage {
        transient: e.is_transient(),
        message: format!("scheduler state (PostgreSQL): {e}"),
    }
}

/// The stored form of a mailbox: ASCII-lowercased (SQLite's `NOCASE`).
fn key(mailbox: &str) -> String {
    mailbox.to_ascii_lowercase()
}

/// How often a contended acquisition is tried again within one call (a lease released or
/// replaced between the statements); afterwards the call reports the item busy.
const ACQUIRE_ROUNDS: usize = 8;

#[derive(Clone, Debug)]
pub(super) struct PgScheduler {
    pool: PgPool,
}

impl PgScheduler {
    pub(super) async fn open(pool: &PgPool) -> Result<Self, StoreError> {
        pool.migrate(COMPONENT, MIGRATIONS).await?;
        Ok(Self { pool: pool.clone() })
    }

    pub(super) fn target(&self) -> &str {
        self.pool.target()
    }

    pub(super) async fn try_acquire(
        &self,
        mailbox: &str,
        table: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Result<(), String>, StoreError> {
        let mailbox = key(mailbox);
        let (now, expires) = (ms(now), ms(add(now, ttl)));
        let client = self.pool.client().await?;
        let take = client
            .prepare_cached(
                "INSERT INTO scheduler_leases (mailbox, tbl, holder, expires_ms)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (mailbox, tbl) DO UPDATE
                   SET holder = EXCLUDED.holder, expires_ms = EXCLUDED.expires_ms
                   WHERE scheduler_leases.holder = EXCLUDED.holder
                      OR scheduler_leases.expires_ms <= $5
                 RETURNING holder",
            )
            .await?;
        let current = client
            .prepare_cached(
                "SELECT holder, expires_ms FROM scheduler_leases WHERE mailbox = $1 AND tbl = $2",
            )
            .await?;
        let take_over = client
            .prepare_cached(
                "UPDATE scheduler_leases SET holder = $4, expires_ms = $5
                 WHERE mailbox = $1 AND tbl = $2 AND holder = $3",
            )
            .await?;
        let mut seen = None;
        for _ in 0..ACQUIRE_ROUNDS {
            if client
                .query_opt(&take, &[&mailbox, &table, &holder, &expires, &now])
                .await?
                .is_some()
            {
                return Ok(Ok(()));
            }
            // Held by someone else, unexpired, when the statement ran. Who?
            let Some(row) = client.query_opt(&current, &[&mailbox, &table]).await? else {
                continue; // released meanwhile
            };
            let other: String = row.try_get(0)?;
            let other_expires: i64 = row.try_get(1)?;
            if other == holder || other_expires <= now {
                continue; // changed meanwhile
            }
            if !holder_is_dead(&other) {
                return Ok(Err(other));
            }
            tracing::warn!(
                mailbox,
                table,
                holder = %other,
                "taking over the lease of a process that no longer runs"
            );
            let swapped = client
                .execute(&take_over, &[&mailbox, &table, &other, &holder, &expires])
                .await?;
            if swapped == 1 {
                return Ok(Ok(()));
            }
            seen = Some(other);
        }
        Ok(Err(seen.unwrap_or_else(|| "another worker".to_owned())))
    }

    pub(super) async fn renew(
        &self,
        mailbox: &str,
        table: &str,
        holder: &str,
        expires: i64,
    ) -> Result<bool, StoreError> {
        let client = self.pool.client().await?;
        let stmt = client
            .prepare_cached(
                "UPDATE scheduler_leases SET expires_ms = $4
                 WHERE mailbox = $1 AND tbl = $2 AND holder = $3",
            )
            .await?;
        let n = client
            .execute(&stmt, &[&key(mailbox), &table, &holder, &expires])
            .await?;
        Ok(n > 0)
    }

    pub(super) async fn release(
        &self,
        mailbox: &str,
        table: &str,
        holder: &str,
    ) -> Result<(), StoreError> {
        let client = self.pool.client().await?;
        let stmt = client
            .prepare_cached(
                "DELETE FROM scheduler_leases WHERE mailbox = $1 AND tbl = $2 AND holder = $3",
            )
            .await?;
        client
            .execute(&stmt, &[&key(mailbox), &table, &holder])
            .await?;
        Ok(())
    }

    pub(super) async fn item_state(
        &self,
        mailbox: &str,
        table: &str,
    ) -> Result<ItemState, StoreError> {
        let client = self.pool.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT failures, next_attempt_ms, last_error, permanent, fingerprint,
                        last_run_ms, last_run_by
                 FROM scheduler_items WHERE mailbox = $1 AND tbl = $2",
            )
            .await?;
        let Some(r) = client.query_opt(&stmt, &[&key(mailbox), &table]).await? else {
            return Ok(ItemState::default());
        };
        let failures: i64 = r.try_get(0)?;
        Ok(ItemState {
            failures: u32::try_from(failures.max(0)).unwrap_or(u32::MAX),
            next_attempt: r.try_get::<_, Option<i64>>(1)?.map(from_ms),
            last_error: r.try_get(2)?,
            permanent: r.try_get(3)?,
            fingerprint: r.try_get(4)?,
            last_run: last_run(r.try_get(5)?, r.try_get(6)?),
        })
    }

    pub(super) async fn set_item_state(
        &self,
        mailbox: &str,
        table: &str,
        state: &ItemState,
    ) -> Result<(), StoreError> {
        let client = self.pool.client().await?;
        let mailbox = key(mailbox);
        if *state == ItemState::default() {
            let stmt = client
                .prepare_cached("DELETE FROM scheduler_items WHERE mailbox = $1 AND tbl = $2")
                .await?;
            client.execute(&stmt, &[&mailbox, &table]).await?;
            return Ok(());
        }
        let stmt = client
            .prepare_cached(
                "INSERT INTO scheduler_items
                 (mailbox, tbl, failures, next_attempt_ms, last_error, permanent, fingerprint,
                  last_run_ms, last_run_by)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (mailbox, tbl) DO UPDATE SET
                   failures = EXCLUDED.failures, next_attempt_ms = EXCLUDED.next_attempt_ms,
                   last_error = EXCLUDED.last_error, permanent = EXCLUDED.permanent,
                   fingerprint = EXCLUDED.fingerprint, last_run_ms = EXCLUDED.last_run_ms,
                   last_run_by = EXCLUDED.last_run_by",
            )
            .await?;
        client
            .execute(
                &stmt,
                &[
                    &mailbox,
                    &table,
                    &i64::from(state.failures),
                    &state.next_attempt.map(ms),
                    &state.last_error,
                    &state.permanent,
                    &state.fingerprint,
                    &state.last_run.as_ref().map(|r| ms(r.at)),
                    &state.last_run.as_ref().map(|r| r.by.as_str()),
                ],
            )
            .await?;
        Ok(())
    }
}
