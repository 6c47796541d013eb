//! The scheduler's shared state ([`SchedulerStore`]): one lease per mailbox and table, and
//! each item's failure state and last completed run. Two backends behind one API:
//!
//! * SQLite (`scheduler.sqlite` in the state folder): several processes of one machine
//!   share one file; a lease is taken in an immediate transaction.
//! * PostgreSQL (feature `postgres`, [`SchedulerStore::postgres`]): workers on several
//!   machines share one database; a lease is taken by one atomic
//!   `INSERT … ON CONFLICT … DO UPDATE … WHERE` statement (see `postgres.rs`).
//!
//! Both compare mailboxes without regard to ASCII case (SQLite's `COLLATE NOCASE`; the
//! PostgreSQL backend stores the ASCII-lowercased address, which is the same comparison).
//!
//! **Time.** Every lease operation takes the caller's `now` (the scheduler's [`Clock`]), for
//! both backends: tests stay deterministic, and one rule holds everywhere. Workers on several
//! machines must therefore keep their clocks roughly in step (NTP): a clock that runs ahead
//! by `d` sees another worker's lease expire `d` early, so the skew must stay well below the
//! lease's time to live (10 minutes by default; renewals every third of it), and interval
//! slots ([`super::Cadence::OncePerInterval`]) begin `d` apart.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{ItemState, LastRun, holder_is_dead};
use crate::clock::Clock;
use crate::host::HostError;
use crate::sqlite::{open_connection, storage, with_conn};

#[cfg(feature = "postgres")]
use super::postgres as pg;

/// The scheduler's shared state: leases and per-item state, in SQLite (several processes
/// of one machine may share one file) or, with the feature `postgres`, in PostgreSQL
/// (workers on several machines share one database). Mailboxes compare without regard to
/// ASCII case.
///
/// **Time.** Every lease operation takes the caller's `now` (the scheduler's [`Clock`]) with
/// both backends, not the database server's clock: tests stay deterministic and one rule
/// holds everywhere. Workers on several machines must therefore keep their clocks roughly in
/// step (NTP): a clock running `d` ahead sees other workers' leases expire `d` early, so the
/// skew must stay well below the lease's time to live (renewed every third of it), and
/// interval slots begin `d` apart.
#[derive(Clone)]
pub struct SchedulerStore {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Arc<Mutex<Connection>>),
    #[cfg(feature = "postgres")]
    Postgres(pg::PgScheduler),
}

impl std::fmt::Debug for SchedulerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("SchedulerStore");
        match &self.backend {
            Backend::Sqlite(_) => d.field("backend", &"sqlite"),
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => d.field("backend", &"postgres").field("target", &p.target()),
        };
        d.finish_non_exhaustive()
    }
}

const STORE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scheduler_meta (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scheduler_leases (
    mailbox TEXT NOT NULL COLLATE NOCASE,
    tbl TEXT NOT NULL,
    holder TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    PRIMARY KEY (mailbox, tbl)
);
CREATE TABLE IF NOT EXISTS scheduler_items (
    mailbox TEXT NOT NULL COLLATE NOCASE,
    tbl TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER,
    last_error TEXT,
    permanent INTEGER NOT NULL DEFAULT 0,
    fingerprint TEXT,
    PRIMARY KEY (mailbox, tbl)
);";

/// The columns of the last completed run, added to `scheduler_items` when missing. Nullable
/// columns only, so the schema version stays 1 and older programs keep using the file (they
/// name their columns and leave these alone).
const LAST_RUN_COLUMNS: &str = "
ALTER TABLE scheduler_items ADD COLUMN last_run_ms INTEGER;
ALTER TABLE scheduler_items ADD COLUMN last_run_by TEXT;";

/// The scheduler store's schema version.
const STORE_VERSION: i64 = 1;

pub(super) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn from_ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

pub(super) fn add(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t + chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// The last run of an item from its stored columns.
pub(super) fn last_run(at_ms: Option<i64>, by: Option<String>) -> Option<LastRun> {
    at_ms.map(|at| LastRun {
        at: from_ms(at),
        by: by.unwrap_or_default(),
    })
}

impl SchedulerStore {
    /// Opens (or creates) the state database; may be the same file as the embedded CRM.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, crate::sqlite::SchemaError> {
        Self::init(open_connection(Some(path.as_ref()))?)
    }

    /// An in-memory store (one process only).
    pub fn in_memory() -> Result<Self, crate::sqlite::SchemaError> {
        Self::init(open_connection(None)?)
    }

    /// The store in the PostgreSQL database of `pool`, shared by every worker that uses the
    /// same database. Brings the store's tables to the newest version first (component
    /// `scheduler` in `conaktiv_schema`, once per pool). A pool of a few connections suits
    /// one scheduler: each running item needs one now and then (its lease renewals, its
    /// state).
    #[cfg(feature = "postgres")]
    pub async fn postgres(
        pool: &sync_core::postgres::PgPool,
    ) -> Result<Self, sync_core::StoreError> {
        Ok(Self {
            backend: Backend::Postgres(pg::PgScheduler::open(pool).await?),
        })
    }

    fn init(mut conn: Connection) -> Result<Self, crate::sqlite::SchemaError> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(STORE_SCHEMA)?;
        let found: Option<i64> = tx
            .query_row("SELECT max(version) FROM scheduler_meta", [], |r| r.get(0))
            .optional()?
            .flatten();
        match found {
            Some(v) if v > STORE_VERSION => {
                return Err(crate::sqlite::SchemaError::TooNew {
                    found: v,
                    supported: STORE_VERSION,
                });
            }
            Some(_) => {}
            None => {
                tx.execute(
                    "INSERT INTO scheduler_meta (version) VALUES (?1)",
                    [STORE_VERSION],
                )?;
            }
        }
        let has_last_run: i64 = tx.query_row(
            "SELECT count(*) FROM pragma_table_info('scheduler_items') WHERE name = 'last_run_ms'",
            [],
            |r| r.get(0),
        )?;
        if has_last_run == 0 {
            tx.execute_batch(LAST_RUN_COLUMNS)?;
        }
        tx.commit()?;
        Ok(Self {
            backend: Backend::Sqlite(Arc::new(Mutex::new(conn))),
        })
    }

    /// Takes the lease of an item for `holder` until `now + ttl`, if it is free, expired or
    /// already `holder`'s, or held by a process of this machine that no longer runs
    /// ([`holder_is_dead`]). Returns `Err(current holder)` when someone else holds it.
    pub async fn try_acquire(
        &self,
        mailbox: &str,
        table: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<Result<(), String>, HostError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                sqlite_try_acquire(conn, mailbox, table, holder, now, ttl).await
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p
                .try_acquire(mailbox, table, holder, now, ttl)
                .await
                .map_err(pg::host_error),
        }
    }

    /// Runs `work` while holding the lease of a mailbox and table for `holder`: takes the
    /// lease (waiting up to `wait` for another holder to finish, polling every second),
    /// renews it every third of `ttl` while the work runs, and gives it back afterwards.
    /// Should the lease be lost meanwhile (taken over, or not renewable for `ttl`), the work
    /// is dropped where it stands and a transient [`HostError::Storage`] says so: a job
    /// stops at any point as it would on `kill -9`, and never writes beside the new holder.
    /// This is the one lease every writing path takes (the scheduler, `Connector::run`, the
    /// CLI's `sync`), so no two runs ever write the same mailbox and table at once.
    #[allow(clippy::too_many_arguments)]
    pub async fn run_leased<T>(
        &self,
        clock: &dyn Clock,
        mailbox: &str,
        table: &str,
        holder: &str,
        ttl: Duration,
        wait: Duration,
        work: impl std::future::Future<Output = T>,
    ) -> Result<Leased<T>, HostError> {
        let give_up = add(clock.now(), wait);
        loop {
            match self
                .try_acquire(mailbox, table, holder, clock.now(), ttl)
                .await?
            {
                Ok(()) => break,
                Err(other) if clock.now() >= give_up => {
                    return Ok(Leased::Busy { holder: other });
                }
                Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
            }
        }
        let result = tokio::select! {
            r = work => r,
            // The lease is gone (taken over, or not renewed for its whole time): the work
            // stops here, so it never runs beside the new holder's.
            lost = self.renew_while_held(clock, mailbox, table, holder, ttl) => {
                tracing::error!(mailbox, table, %lost, "stopped a job that lost its lease");
                return Err(HostError::Storage {
                    message: format!("the job stopped: {lost}"),
                    transient: true,
                });
            }
        };
        if let Err(e) = self.release(mailbox, table, holder).await {
            tracing::warn!(error = %e, "cannot release the lease; it expires by itself");
        }
        Ok(Leased::Ran(result))
    }

    /// Renews a lease every third of `ttl` while it is held; returns why it no longer is:
    /// another holder has it, or no renewal succeeded for `ttl` (so another worker may
    /// take it over).
    async fn renew_while_held(
        &self,
        clock: &dyn Clock,
        mailbox: &str,
        table: &str,
        holder: &str,
        ttl: Duration,
    ) -> String {
        let period = (ttl / 3).max(Duration::from_millis(10));
        let mut held_until = add(clock.now(), ttl);
        loop {
            tokio::time::sleep(period).await;
            let now = clock.now();
            match self.renew(mailbox, table, holder, now, ttl).await {
                Ok(true) => held_until = add(now, ttl),
                Ok(false) => return "another worker took over its lease".to_owned(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot renew the lease");
                    if now >= held_until {
                        return format!("its lease expired while it could not be renewed: {e}");
                    }
                }
            }
        }
    }

    /// Extends `holder`'s lease to `now + ttl`; `false` if it no longer holds it.
    pub async fn renew(
        &self,
        mailbox: &str,
        table: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, HostError> {
        let expires = ms(add(now, ttl));
        match &self.backend {
            Backend::Sqlite(conn) => {
                let (mailbox, table, holder) =
                    (mailbox.to_owned(), table.to_owned(), holder.to_owned());
                with_conn(conn, move |c| {
                    c.execute(
                        "UPDATE scheduler_leases SET expires_ms = ?4
                         WHERE mailbox = ?1 AND tbl = ?2 AND holder = ?3",
                        params![mailbox, table, holder, expires],
                    )
                    .map(|n| n > 0)
                    .map_err(storage)
                })
                .await
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p
                .renew(mailbox, table, holder, expires)
                .await
                .map_err(pg::host_error),
        }
    }

    /// Gives `holder`'s lease back (someone else's lease stays).
    pub async fn release(&self, mailbox: &str, table: &str, holder: &str) -> Result<(), HostError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let (mailbox, table, holder) =
                    (mailbox.to_owned(), table.to_owned(), holder.to_owned());
                with_conn(conn, move |c| {
                    c.execute(
                        "DELETE FROM scheduler_leases
                         WHERE mailbox = ?1 AND tbl = ?2 AND holder = ?3",
                        params![mailbox, table, holder],
                    )
                    .map(|_| ())
                    .map_err(storage)
                })
                .await
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p
                .release(mailbox, table, holder)
                .await
                .map_err(pg::host_error),
        }
    }

    /// The state of an item (default: never failed, never ran).
    pub async fn item_state(&self, mailbox: &str, table: &str) -> Result<ItemState, HostError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let (mailbox, table) = (mailbox.to_owned(), table.to_owned());
                with_conn(conn, move |c| {
                    c.query_row(
                        "SELECT failures, next_attempt_ms, last_error, permanent, fingerprint,
                                last_run_ms, last_run_by
                         FROM scheduler_items WHERE mailbox = ?1 AND tbl = ?2",
                        params![mailbox, table],
                        |r| {
                            Ok(ItemState {
                                failures: r.get(0)?,
                                next_attempt: r.get::<_, Option<i64>>(1)?.map(from_ms),
                                last_error: r.get(2)?,
                                permanent: r.get(3)?,
                                fingerprint: r.get(4)?,
                                last_run: last_run(r.get(5)?, r.get(6)?),
                            })
                        },
                    )
                    .optional()
                    .map(Option::unwrap_or_default)
                    .map_err(storage)
                })
                .await
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p.item_state(mailbox, table).await.map_err(pg::host_error),
        }
    }

    /// Stores an item's state (the default state deletes the row).
    pub async fn set_item_state(
        &self,
        mailbox: &str,
        table: &str,
        state: &ItemState,
    ) -> Result<(), HostError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let (mailbox, table, state) = (mailbox.to_owned(), table.to_owned(), state.clone());
                with_conn(conn, move |c| {
                    if state == ItemState::default() {
                        c.execute(
                            "DELETE FROM scheduler_items WHERE mailbox = ?1 AND tbl = ?2",
                            params![mailbox, table],
                        )
                    } else {
                        c.execute(
                            "INSERT OR REPLACE INTO scheduler_items
                             (mailbox, tbl, failures, next_attempt_ms, last_error, permanent,
                              fingerprint, last_run_ms, last_run_by)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                            params![
                                mailbox,
                                table,
                                state.failures,
                                state.next_attempt.map(ms),
                                state.last_error,
                                state.permanent,
                                state.fingerprint,
                                state.last_run.as_ref().map(|r| ms(r.at)),
                                state.last_run.as_ref().map(|r| r.by.as_str()),
                            ],
                        )
                    }
                    .map(|_| ())
                    .map_err(storage)
                })
                .await
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(p) => p
                .set_item_state(mailbox, table, state)
                .await
                .map_err(pg::host_error),
        }
    }
}

async fn sqlite_try_acquire(
    conn: &Arc<Mutex<Connection>>,
    mailbox: &str,
    table: &str,
    holder: &str,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<Result<(), String>, HostError> {
    let (mailbox, table, holder) = (mailbox.to_owned(), table.to_owned(), holder.to_owned());
    with_conn(conn, move |c| {
        let tx = c
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(storage)?;
        let current: Option<(String, i64)> = tx
            .query_row(
                "SELECT holder, expires_ms FROM scheduler_leases WHERE mailbox = ?1 AND tbl = ?2",
                params![mailbox, table],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(storage)?;
        if let Some((other, expires)) = current
            && other != holder
            && expires > ms(now)
        {
            if !holder_is_dead(&other) {
                return Ok(Err(other));
            }
            tracing::warn!(
                mailbox,
                table,
                holder = %other,
                "taking over the lease of a process that no longer runs"
            );
        }
        tx.execute(
            "INSERT OR REPLACE INTO scheduler_leases (mailbox, tbl, holder, expires_ms)
             VALUES (?1, ?2, ?3, ?4)",
            params![mailbox, table, holder, ms(add(now, ttl))],
        )
        .map_err(storage)?;
        tx.commit().map_err(storage)?;
        Ok(Ok(()))
    })
    .await
}

/// The outcome of [`SchedulerStore::run_leased`].
#[derive(Debug)]
pub enum Leased<T> {
    /// The work ran while the lease was held.
    Ran(T),
    /// Another holder has the lease; the work did not run.
    Busy {
        /// The holder.
        holder: String,
    },
}
