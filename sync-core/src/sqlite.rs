//! The SQLite state store (the embedded default).
//!
//! Schema version in `PRAGMA user_version`, forward-only migrations applied in one
//! transaction on open, WAL journal for file databases, one transaction per committed batch.
//!
//! Opening is safe from several processes or threads at once: every connection waits up to
//! [`BUSY_TIMEOUT`] for a lock, and the schema version is read, and the migrations applied,
//! inside one `BEGIN IMMEDIATE` transaction, so only one opener migrates and the others see
//! its result. A database file the store creates is created with mode 0600 (SQLite gives its
//! `-wal` and `-shm` files the database file's mode), and a missing parent directory with
//! mode 0700.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::store::{PAIR_COLUMNS, detached_of, pair_from_columns, side_from};
use crate::{
    DetachReason, Detached, Id, Intent, Key, Pair, SideId, StateBatch, StateStore, StoreError,
    Timestamp,
};

/// Migrations; index `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: pairs, intents, tokens
    "CREATE TABLE pairs (
         key TEXT PRIMARY KEY NOT NULL,
         local_id TEXT, local_version TEXT,
         remote_id TEXT, remote_version TEXT,
         base TEXT NOT NULL
     );
     CREATE INDEX pairs_local ON pairs(local_id);
     CREATE INDEX pairs_remote ON pairs(remote_id);
     CREATE TABLE intents (
         key TEXT PRIMARY KEY NOT NULL,
         side TEXT NOT NULL,
         source_id TEXT NOT NULL,
         at INTEGER NOT NULL
     );
     CREATE TABLE tokens (side TEXT PRIMARY KEY NOT NULL, token TEXT NOT NULL);",
    // 2: why and when pairs were detached (pairs with one anchor); those detached before
    // are recorded as 'unrecorded'
    "CREATE TABLE detached (
         key TEXT PRIMARY KEY NOT NULL,
         reason TEXT NOT NULL,
         at INTEGER NOT NULL
     );
     INSERT INTO detached (key, reason, at)
         SELECT key, 'unrecorded', 0 FROM pairs
         WHERE (local_id IS NULL) <> (remote_id IS NULL);",
];

/// How long a connection waits for another connection's lock before it fails with "busy".
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The newest schema version this library writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A state store in an SQLite database.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
}

type PairRow = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

fn pair_from(row: PairRow) -> Result<Pair, StoreError> {
    let (key, lid, lver, rid, rver, base) = row;
    pair_from_columns(key, (lid, lver), (rid, rver), &base)
}

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

impl SqliteStore {
    /// Open (or create) a database file, enable WAL (with `synchronous=NORMAL`) and migrate
    /// it. A new file is created with mode 0600 and a missing parent directory with mode 0700
    /// (on Unix). Safe to call from several processes at once on the same new file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        create_private(path)?;
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Switching a new database to WAL takes an exclusive lock; the busy handler is not
        // consulted for every path of that switch, so a concurrent opener retries briefly.
        let mut waited = Duration::ZERO;
        loop {
            match conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            {
                Ok(_) => break,
                Err(e) if is_busy(&e) && waited < BUSY_TIMEOUT => {
                    let pause = Duration::from_millis(10);
                    std::thread::sleep(pause);
                    waited += pause;
                }
                Err(e) => return Err(e.into()),
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Self::init(conn)
    }

    /// An in-memory database (tests).
    pub fn open_in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Every statement is prepared once per connection: the fixed ones and the `IN` lists
        // of `pairs_for` (one text per column and chunk length) fit, so none is evicted and
        // prepared again (rusqlite's default keeps 16).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // The version is read inside the write transaction: a concurrent opener waits here
        // and then sees the migrated schema instead of migrating it a second time.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: SCHEMA_VERSION,
            });
        }
        if found == SCHEMA_VERSION {
            tx.commit()?;
            return Ok(SqliteStore { conn });
        }
        for (i, sql) in MIGRATIONS
            .iter()
            .enumerate()
            .skip(usize::try_from(found).unwrap_or(0))
        {
            tracing::info!(to = i + 1, "migrating sync state schema");
            tx.execute_batch(sql)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()?;
        Ok(SqliteStore { conn })
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// The SQLite journal mode (`wal` for file databases).
    pub fn journal_mode(&self) -> Result<String, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))?)
    }

    fn query_pairs(&self, sql: &str, args: &[&str]) -> Result<Vec<Pair>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?
            .collect::<Result<Vec<PairRow>, _>>()?;
        rows.into_iter().map(pair_from).collect()
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Creates the database file (mode 0600) and its missing parent directories (mode 0700) if
/// they do not exist yet; an existing file keeps its mode.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let io = |e: std::io::Error| StoreError::Io(e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(io)?;
    }
    // Only a missing file is created: opening and closing another descriptor of a database
    // this process already has open would drop the process's POSIX locks on it (a second
    // store of the same file in one process), and another process could then reset the
    // write-ahead log under its connections.
    if path.exists() {
        return Ok(());
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map_err(io)?;
    Ok(())
}

impl StateStore for SqliteStore {
    fn pair_count(&self) -> Result<usize, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached(
                "SELECT count(*) FROM pairs WHERE local_id IS NOT NULL OR remote_id IS NOT NULL",
            )?
            .query_row([], |r| r.get(0))?;
        usize::try_from(n).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    fn all_pairs(&self) -> Result<Vec<Pair>, StoreError> {
        self.query_pairs(
            &format!("SELECT {PAIR_COLUMNS} FROM pairs ORDER BY key"),
            &[],
        )
    }

    fn pairs_for(
        &self,
        local_ids: &[Id],
        remote_ids: &[Id],
        keys: &[Key],
    ) -> Result<Vec<Pair>, StoreError> {
        // One query per column and chunk of ids (SQLite allows at least 999 parameters).
        const CHUNK: usize = 500;
        let mut found = std::collections::BTreeMap::new();
        let queries = [
            ("local_id", local_ids),
            ("remote_id", remote_ids),
            ("key", keys),
        ];
        for (column, values) in queries {
            for chunk in values.chunks(CHUNK) {
                let marks = vec!["?"; chunk.len()].join(",");
                let sql = format!("SELECT {PAIR_COLUMNS} FROM pairs WHERE {column} IN ({marks})");
                let args: Vec<&str> = chunk.iter().map(String::as_str).collect();
                for p in self.query_pairs(&sql, &args)? {
                    found.insert(p.key.clone(), p);
                }
            }
        }
        Ok(found.into_values().collect())
    }

    fn intents(&self) -> Result<Vec<Intent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT key, side, source_id, at FROM intents ORDER BY key")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(key, side, source_id, at)| {
                Ok(Intent {
                    key,
                    on: side_from(&side)?,
                    source_id,
                    at: Timestamp::from_unix_secs(
                        u64::try_from(at).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    ),
                })
            })
            .collect()
    }

    fn token(&self, side: SideId) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT token FROM tokens WHERE side = ?1")?
            .query_row(params![side.as_str()], |r| r.get(0))
            .optional()?)
    }

    fn detached(&self) -> Result<Vec<Detached>, StoreError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {PAIR_COLUMNS}, d.reason, d.at FROM pairs
             LEFT JOIN detached d USING (key)
             WHERE (local_id IS NULL) <> (remote_id IS NULL) ORDER BY key"
        ))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    (
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ),
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                ))
            })?
            .collect::<Result<Vec<(PairRow, Option<String>, Option<i64>)>, _>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (row, reason, at) in rows {
            let pair = pair_from(row)?;
            let reason = match reason {
                None => DetachReason::Unrecorded,
                Some(r) => DetachReason::from_code(&r)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown detach reason {r:?}")))?,
            };
            let at = Timestamp::from_unix_secs(
                u64::try_from(at.unwrap_or(0)).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
            out.extend(detached_of(&pair, reason, at));
        }
        Ok(out)
    }

    fn commit(&mut self, batch: &StateBatch) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        {
            let mut del = tx.prepare_cached("DELETE FROM pairs WHERE key = ?1")?;
            let mut undetach = tx.prepare_cached("DELETE FROM detached WHERE key = ?1")?;
            for key in &batch.remove {
                del.execute(params![key])?;
                undetach.execute(params![key])?;
            }
            let mut up = tx.prepare_cached(
                "INSERT OR REPLACE INTO pairs
                 (key, local_id, local_version, remote_id, remote_version, base)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for p in &batch.upsert {
                let base = serde_json::to_string(&p.base)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                up.execute(params![
                    p.key,
                    p.local.as_ref().map(|a| &a.id),
                    p.local.as_ref().map(|a| &a.version),
                    p.remote.as_ref().map(|a| &a.id),
                    p.remote.as_ref().map(|a| &a.version),
                    base
                ])?;
                if p.local.is_some() == p.remote.is_some() {
                    undetach.execute(params![p.key])?;
                }
            }
            let mut detach = tx.prepare_cached(
                "INSERT OR REPLACE INTO detached (key, reason, at)
                 SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM pairs WHERE key = ?1)",
            )?;
            for d in &batch.detach {
                let at = i64::try_from(d.at.unix_secs())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                detach.execute(params![d.key, d.reason.code(), at])?;
            }
            let mut add = tx.prepare_cached(
                "INSERT OR REPLACE INTO intents (key, side, source_id, at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for i in &batch.add_intents {
                let at = i64::try_from(i.at.unix_secs())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                add.execute(params![i.key, i.on.as_str(), i.source_id, at])?;
            }
            let mut clear = tx.prepare_cached("DELETE FROM intents WHERE key = ?1")?;
            for key in &batch.clear_intents {
                clear.execute(params![key])?;
            }
            for (side, token) in &batch.tokens {
                match token {
                    Some(t) => tx
                        .prepare_cached(
                            "INSERT OR REPLACE INTO tokens (side, token) VALUES (?1, ?2)",
                        )?
                        .execute(params![side.as_str(), t])?,
                    None => tx
                        .prepare_cached("DELETE FROM tokens WHERE side = ?1")?
                        .execute(params![side.as_str()])?,
                };
            }
        }
        tx.commit()?;
        Ok(())
    }
}
