//! Embedded defaults of the host traits on SQLite (bundled): [`SqliteCrm`] (every table's
//! [`CrmStore`]), [`SqliteDirectory`] ([`UserDirectory`]) and [`SqliteLinker`]
//! ([`MailLinker`]), all over one database file opened with [`SqliteDb::open`].
//!
//! # Schema
//!
//! The schema version is SQLite's `user_version`; [`SqliteDb::open`] migrates an older
//! database forward and refuses a newer one ([`SchemaError::TooNew`]).
//!
//! * `records(tbl, id, rev, fingerprint, key, owner, modified, body)`: every CRM record, the
//!   content as JSON in `body`, with indexed columns for the table, owner, correlation key and
//!   modification time. The version reported to callers is `rev`; it only grows when the
//!   fingerprint (a SHA-256 of body and key) changes.
//! * `users`, `user_groups`, `user_mail_accounts`: the directory.
//! * An expression index on mails' `message_id` serves the linker's thread lookup.
//! * `projects(id, number, title, customer)`, `offers(id, number, title, customer, project)`,
//!   `invoices(id, number, title, customer, project)` (version 2): the records a mail is
//!   linked to by a reference number in its subject ([`SqliteDb::add_reference`]).
//! * `records_owner_id` (version 3): `(tbl, owner, id)`, so a job's listing of one owner's
//!   records costs in proportion to them, not to the whole CRM.
//!
//! Several processes may share the file: it runs in WAL mode with a busy timeout, and every
//! conditional write is one transaction (a batch of key writes,
//! [`CrmStore::set_keys`], is one transaction for the whole batch).
//!
//! # Durability and cost
//!
//! A file database runs with `journal_mode=WAL` and `synchronous=NORMAL`: a commit appends
//! to the write-ahead log without an fsync; the log is synced (and copied into the database)
//! at checkpoints. A committed transaction survives a crash of the process; a power loss may
//! lose the transactions committed since the last checkpoint, and never corrupts the
//! database. Repeated statements are prepared once per connection (`prepare_cached`), and a
//! connection caches up to 32 MiB of pages.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use crate::host::{
    CrmRecord, CrmStore, DirectoryUser, HostError, KeyWrite, ListQuery, MailLinkQuery, MailLinker,
    RecordMeta, Stored, UserDirectory,
};
use conaktiv_model::mail::MailLinks;

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = 3;

const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE records (
        tbl TEXT NOT NULL,
        id TEXT NOT NULL,
        rev INTEGER NOT NULL,
        fingerprint TEXT NOT NULL,
        key TEXT,
        owner TEXT COLLATE NOCASE,
        modified TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (tbl, id)
    );
    CREATE INDEX records_owner ON records (tbl, owner);
    CREATE INDEX records_key ON records (tbl, key);
    CREATE INDEX records_modified ON records (tbl, modified);
    CREATE INDEX records_message_id ON records (json_extract(body, '$.message_id'))
        WHERE tbl = 'mails';
    CREATE TABLE users (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        display_name TEXT NOT NULL,
        mailbox TEXT COLLATE NOCASE,
        active INTEGER NOT NULL
    );
    CREATE TABLE user_groups (
        user TEXT NOT NULL COLLATE NOCASE REFERENCES users (name) ON DELETE CASCADE,
        grp TEXT NOT NULL COLLATE NOCASE,
        PRIMARY KEY (user, grp)
    );
    CREATE TABLE user_mail_accounts (
        user TEXT NOT NULL COLLATE NOCASE REFERENCES users (name) ON DELETE CASCADE,
        account TEXT NOT NULL COLLATE NOCASE,
        PRIMARY KEY (user, account)
    );",
    // 1 -> 2: the records mail is linked to by a reference number in its subject.
    "CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        number TEXT NOT NULL UNIQUE COLLATE NOCASE,
        title TEXT NOT NULL DEFAULT '',
        customer TEXT
    );
    CREATE TABLE offers (
        id TEXT PRIMARY KEY,
        number TEXT NOT NULL UNIQUE COLLATE NOCASE,
        title TEXT NOT NULL DEFAULT '',
        customer TEXT,
        project TEXT
    );
    CREATE TABLE invoices (
        id TEXT PRIMARY KEY,
        number TEXT NOT NULL UNIQUE COLLATE NOCASE,
        title TEXT NOT NULL DEFAULT '',
        customer TEXT,
        project TEXT
    );",
    // version 3: a job lists one owner's records in id order; this index serves both the
    // condition and the order (the planner otherwise walked every record of the table)
    "CREATE INDEX records_owner_id ON records (tbl, owner, id);
    DROP INDEX records_owner;",
];

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// SQLite failed (the file cannot be opened or created, it is not a database, ...).
    #[error("cannot open the database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer version of this program.
    #[error("the database has schema version {found}, newer than this program's {supported}")]
    TooNew {
        /// The database's version.
        found: i64,
        /// The newest version this program knows.
        supported: i64,
    },
}

pub(crate) fn storage(e: rusqlite::Error) -> HostError {
    let transient = matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    HostError::Storage {
        message: e.to_string(),
        transient,
    }
}

/// Opens a connection the way every embedded store wants it: WAL, busy timeout, foreign keys.
/// Creates a folder (and its parents) readable by the owner only (0700 on Unix), for
/// databases holding CRM data, sync state or secrets. An existing folder is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Creates a database file readable by the owner only (0600 on Unix) if it does not exist
/// yet; SQLite gives its `-wal` and `-shm` files the database file's permissions.
pub fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// How long a connection waits for another's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Prepared statements kept per connection: every statement of this module fits, so none is
/// prepared twice (rusqlite's default keeps 16).
const STATEMENT_CACHE: usize = 64;

/// The page cache of a connection, in KiB (SQLite's `cache_size` takes a negative number as
/// KiB): pages are read once from the file instead of again on every listing, fetch and
/// write of a job over more than SQLite's default 2 MiB of records. Memory is taken only as
/// pages are read.
const PAGE_CACHE_KIB: i64 = 32 * 1024;

pub(crate) fn open_connection(path: Option<&Path>) -> Result<Connection, rusqlite::Error> {
    let conn = match path {
        Some(p) => {
            if let Some(dir) = p.parent() {
                create_private_dir(dir).map_err(|e| io_error(p, e))?;
            }
            // Only a missing file is created here: closing another descriptor of a database
            // this process has open would drop the process's POSIX locks on it, and another
            // process could then reset the write-ahead log under its connections.
            if !p.exists() {
                create_private_file(p).map_err(|e| io_error(p, e))?;
            }
            Connection::open(p)?
        }
        None => Connection::open_in_memory()?,
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "cache_size", -PAGE_CACHE_KIB)?;
    if path.is_some() {
        // Switching a new database to WAL takes an exclusive lock and SQLite's busy handler
        // is not consulted on every path of that switch: a concurrent opener retries.
        let mut waited = Duration::ZERO;
        loop {
            match conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            {
                Ok(_) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && waited < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                    waited += Duration::from_millis(10);
                }
                Err(e) => return Err(e),
            }
        }
        // Durable at every checkpoint, one fsync per transaction commit at most.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Checkpoint every 8,192 WAL pages (32 MiB) instead of 1,000: a page that every
        // batch touches (an index page of the key write-backs) is copied back into the
        // database once per checkpoint, so fewer checkpoints write (and fsync) less
        // (`initial_sync` bench: 0.92 -> 0.44 fsyncs per write batch).
        conn.pragma_update(None, "wal_autocheckpoint", 8192)?;
    }
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

fn io_error(path: &Path, e: std::io::Error) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
        Some(format!("{}: {e}", path.display())),
    )
}

fn migrate(conn: &mut Connection) -> Result<(), SchemaError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(SchemaError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate() {
        let target = i64::try_from(i).unwrap_or(i64::MAX).saturating_add(1);
        if target > found {
            tx.execute_batch(sql)?;
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// One embedded database: the CRM records, the directory and the linker's data. Cheap to
/// clone (the connection is shared).
#[derive(Clone)]
pub struct SqliteDb {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb").finish_non_exhaustive()
    }
}

impl SqliteDb {
    /// Opens (or creates) a database file and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, SchemaError> {
        let mut conn = open_connection(Some(path.as_ref()))?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// A fresh in-memory database (for tests and one-off runs).
    pub fn in_memory() -> Result<Self, SchemaError> {
        let mut conn = open_connection(None)?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The database's schema version.
    pub async fn schema_version(&self) -> Result<i64, HostError> {
        self.with(|c| {
            c.pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(storage)
        })
        .await
    }

    /// The CRM store over this database.
    pub fn crm(&self) -> SqliteCrm {
        SqliteCrm { db: self.clone() }
    }

    /// The user directory over this database.
    pub fn directory(&self) -> SqliteDirectory {
        SqliteDirectory { db: self.clone() }
    }

    /// The mail linker over this database.
    pub fn linker(&self) -> SqliteLinker {
        SqliteLinker { db: self.clone() }
    }

    /// Adds (or replaces, by id) a project, offer or invoice the linker finds by its number.
    pub async fn add_reference(&self, record: ReferenceRecord) -> Result<(), HostError> {
        self.with(move |c| {
            let (sql, project) = match record.kind {
                ReferenceKind::Project => (
                    "INSERT OR REPLACE INTO projects (id, number, title, customer)
                     VALUES (?1, ?2, ?3, ?4)",
                    None,
                ),
                ReferenceKind::Offer => (
                    "INSERT OR REPLACE INTO offers (id, number, title, customer, project)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    Some(record.project.clone()),
                ),
                ReferenceKind::Invoice => (
                    "INSERT OR REPLACE INTO invoices (id, number, title, customer, project)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    Some(record.project.clone()),
                ),
            };
            let mut stmt = c.prepare_cached(sql).map_err(storage)?;
            match project {
                None => stmt.execute(params![
                    record.id,
                    record.number,
                    record.title,
                    record.customer
                ]),
                Some(p) => stmt.execute(params![
                    record.id,
                    record.number,
                    record.title,
                    record.customer,
                    p
                ]),
            }
            .map_err(storage)?;
            Ok(())
        })
        .await
    }

    async fn with<T, F>(&self, f: F) -> Result<T, HostError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, HostError> + Send + 'static,
    {
        with_conn(&self.conn, f).await
    }
}

/// Runs `f` on a shared connection in a blocking thread.
pub(crate) async fn with_conn<T, E, F>(conn: &Arc<Mutex<Connection>>, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<HostError> + Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
{
    let conn = Arc::clone(conn);
    tokio::task::spawn_blocking(move || {
        let mut guard = conn.lock().map_err(|_| {
            E::from(HostError::Storage {
                message: "the database connection was poisoned by a panic".into(),
                transient: false,
            })
        })?;
        f(&mut guard)
    })
    .await
    .map_err(|e| {
        E::from(HostError::Storage {
            message: format!("database task failed: {e}"),
            transient: false,
        })
    })?
}

/// The embedded CRM store: every [`CrmRecord`] table in one SQLite database.
#[derive(Clone, Debug)]
pub struct SqliteCrm {
    db: SqliteDb,
}

pub(crate) fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn fingerprint(body: &str, key: Option<&str>) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut h = Sha256::new();
    h.update(body.as_bytes());
    h.update([0u8]);
    h.update(key.unwrap_or("").as_bytes());
    let digest = h.finalize();
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) rev: i64,
    pub(crate) fingerprint: String,
    pub(crate) key: Option<String>,
    pub(crate) owner: Option<String>,
    pub(crate) modified: String,
    pub(crate) body: Option<String>,
}

impl Row {
    pub(crate) fn meta(&self) -> RecordMeta {
        RecordMeta {
            id: self.id.clone(),
            version: self.rev.to_string(),
            key: self.key.clone(),
            modified: DateTime::parse_from_rfc3339(&self.modified)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default(),
            owner: self.owner.clone(),
        }
    }
}

const LOAD_SQL: &str = "SELECT id, rev, fingerprint, key, owner, modified, body FROM records \
                        WHERE tbl = ?1 AND id = ?2";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        rev: r.get(1)?,
        fingerprint: r.get(2)?,
        key: r.get(3)?,
        owner: r.get(4)?,
        modified: r.get(5)?,
        body: r.get(6)?,
    })
}

fn load(c: &Connection, tbl: &str, id: &str) -> Result<Option<Row>, HostError> {
    c.prepare_cached(LOAD_SQL)
        .map_err(storage)?
        .query_row(params![tbl, id], read_row)
        .optional()
        .map_err(storage)
}

pub(crate) fn check_version(
    tbl: &'static str,
    id: &str,
    row: Option<Row>,
    expected: &str,
) -> Result<Row, HostError> {
    let row = row.ok_or_else(|| HostError::NotFound {
        table: tbl,
        id: id.to_owned(),
    })?;
    if row.rev.to_string() != expected {
        return Err(HostError::Conflict {
            table: tbl,
            id: id.to_owned(),
            expected: expected.to_owned(),
            actual: row.rev.to_string(),
        });
    }
    Ok(row)
}

/// Writes new content and key unless they equal the stored ones; returns the new metadata.
/// `body: None` keeps the stored content (not bound again): `row` must then carry it, for the
/// fingerprint.
fn write_row(
    tx: &Transaction<'_>,
    tbl: &str,
    mut row: Row,
    body: Option<&str>,
    key: Option<&str>,
) -> Result<RecordMeta, HostError> {
    let stored = row.body.take();
    let fp = fingerprint(body.or(stored.as_deref()).unwrap_or_default(), key);
    if fp == row.fingerprint {
        return Ok(row.meta());
    }
    let modified = now_text();
    let rev = row.rev.saturating_add(1);
    tx.prepare_cached(
        "UPDATE records SET rev = ?3, fingerprint = ?4, key = ?5, modified = ?6,
         body = COALESCE(?7, body)
         WHERE tbl = ?1 AND id = ?2",
    )
    .map_err(storage)?
    .execute(params![tbl, row.id, rev, fp, key, modified, body])
    .map_err(storage)?;
    Ok(Row {
        rev,
        fingerprint: fp,
        key: key.map(str::to_owned),
        modified,
        ..row
    }
    .meta())
}

pub(crate) fn to_json<R: CrmRecord>(record: &R) -> Result<String, HostError> {
    serde_json::to_string(record).map_err(|e| HostError::Storage {
        message: format!("cannot encode a {} record: {e}", R::TABLE_NAME),
        transient: false,
    })
}

pub(crate) fn decode<R: CrmRecord>(row: Row) -> Result<Stored<R>, HostError> {
    let meta = row.meta();
    let body = row.body.unwrap_or_default();
    let record = serde_json::from_str(&body).map_err(|e| HostError::Decode {
        table: R::TABLE_NAME,
        id: meta.id.clone(),
        message: e.to_string(),
    })?;
    Ok(Stored { meta, record })
}

/// The listing query of a table, for one owner or all. A job lists one owner's records: the
/// owner is a condition of its own (not `?2 IS NULL OR owner = ?2`, which no index serves), so
/// the `records_owner_id` index finds them in order and a listing costs in proportion to that owner's
/// records, not to the whole CRM. The body is read only when a filter needs it.
fn list_sql(with_body: bool, by_owner: bool) -> String {
    let body_col = if with_body { "body" } else { "NULL" };
    let owner = if by_owner { " AND owner = ?2" } else { "" };
    format!(
        "SELECT id, rev, fingerprint, key, owner, modified, {body_col} FROM records \
         WHERE tbl = ?1{owner} ORDER BY id"
    )
}

#[async_trait]
impl<R: CrmRecord> CrmStore<R> for SqliteCrm {
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError> {
        let filter = query.filter.clone();
        let owner = query.owner.clone();
        let tbl = R::TABLE_NAME;
        self.db
            .with(move |c| {
                let sql = list_sql(!filter.is_all(), owner.is_some());
                let mut stmt = c.prepare_cached(&sql).map_err(storage)?;
                let rows = match &owner {
                    Some(o) => stmt.query_map(params![tbl, o], read_row),
                    None => stmt.query_map(params![tbl], read_row),
                }
                .map_err(storage)?;
                let mut out = Vec::new();
                for row in rows {
                    let row = row.map_err(storage)?;
                    if let Some(body) = &row.body {
                        match serde_json::from_str::<serde_json::Value>(body) {
                            Ok(value) if !filter.matches(&value) => continue,
                            Ok(_) => {}
                            // Listed anyway (its filter cannot be evaluated): a record that
                            // vanished from the listing would look deleted. Reading it fails
                            // later and is reported there.
                            Err(e) => tracing::warn!(
                                table = tbl,
                                id = %row.id,
                                error = %e,
                                "a record cannot be decoded"
                            ),
                        }
                    }
                    out.push(row.meta());
                }
                Ok(out)
            })
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<Stored<R>>, HostError> {
        let id = id.to_owned();
        let row = self.db.with(move |c| load(c, R::TABLE_NAME, &id)).await?;
        row.map(decode::<R>).transpose()
    }

    async fn get_many(&self, ids: &[String]) -> Result<Vec<Stored<R>>, HostError> {
        let ids = ids.to_vec();
        let rows = self
            .db
            .with(move |c| {
                let tx = c.transaction().map_err(storage)?;
                let mut out = Vec::with_capacity(ids.len());
                for id in &ids {
                    if let Some(row) = load(&tx, R::TABLE_NAME, id)? {
                        out.push(row);
                    }
                }
                Ok(out)
            })
            .await?;
        rows.into_iter().map(decode::<R>).collect()
    }

    async fn create(
        &self,
        owner: Option<&str>,
        record: &R,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        let body = to_json(record)?;
        let owner = owner.map(str::to_owned);
        let key = key.map(str::to_owned);
        self.db
            .with(move |c| {
                // Time-ordered (UUID v7): records are listed and synced in id order, so the rows and
                // index entries a write batch touches (its key write-backs, the keys that become
                // sync-state keys) lie together instead of all over the B-trees.
                let id = uuid::Uuid::now_v7().simple().to_string();
                let fp = fingerprint(&body, key.as_deref());
                let modified = now_text();
                c.prepare_cached(
                    "INSERT INTO records (tbl, id, rev, fingerprint, key, owner, modified, body)
                     VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(storage)?
                .execute(params![R::TABLE_NAME, id, fp, key, owner, modified, body])
                .map_err(storage)?;
                Ok(Row {
                    id,
                    rev: 1,
                    fingerprint: fp,
                    key,
                    owner,
                    modified,
                    body: None,
                }
                .meta())
            })
            .await
    }

    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &R,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        let body = to_json(record)?;
        let (id, expected, key) = (id.to_owned(), expected.to_owned(), key.map(str::to_owned));
        self.db
            .with(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(storage)?;
                let row = check_version(
                    R::TABLE_NAME,
                    &id,
                    load(&tx, R::TABLE_NAME, &id)?,
                    &expected,
                )?;
                let key = key.or_else(|| row.key.clone());
                let meta = write_row(&tx, R::TABLE_NAME, row, Some(&body), key.as_deref())?;
                tx.commit().map_err(storage)?;
                Ok(meta)
            })
            .await
    }

    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        let (id, expected) = (id.to_owned(), expected.to_owned());
        self.db
            .with(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(storage)?;
                check_version(
                    R::TABLE_NAME,
                    &id,
                    load(&tx, R::TABLE_NAME, &id)?,
                    &expected,
                )?;
                tx.prepare_cached("DELETE FROM records WHERE tbl = ?1 AND id = ?2")
                    .map_err(storage)?
                    .execute(params![R::TABLE_NAME, id])
                    .map_err(storage)?;
                tx.commit().map_err(storage)
            })
            .await
    }

    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        let (id, expected, key) = (id.to_owned(), expected.to_owned(), key.to_owned());
        self.db
            .with(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(storage)?;
                let meta = set_key_in(&tx, R::TABLE_NAME, &id, &expected, &key)?;
                tx.commit().map_err(storage)?;
                Ok(meta)
            })
            .await
    }

    /// The whole batch in one `BEGIN IMMEDIATE` transaction: one commit (and at most one
    /// write-ahead log append) for all of it. A conflict or a missing record is that write's
    /// result and the others are stored; a storage failure (a full disk, a database locked
    /// for longer than the busy timeout) rolls the transaction back and is the result of
    /// every write, none of which is stored.
    async fn set_keys(&self, writes: &[KeyWrite]) -> Vec<Result<RecordMeta, HostError>> {
        if writes.is_empty() {
            return Vec::new();
        }
        let count = writes.len();
        let writes = writes.to_vec();
        let result = self
            .db
            .with(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(storage)?;
                let mut out = Vec::with_capacity(writes.len());
                for w in &writes {
                    match set_key_in(&tx, R::TABLE_NAME, &w.id, &w.expected, &w.key) {
                        Ok(meta) => out.push(Ok(meta)),
                        Err(e @ (HostError::Conflict { .. } | HostError::NotFound { .. })) => {
                            out.push(Err(e));
                        }
                        // dropping the transaction rolls it back
                        Err(e) => return Err(e),
                    }
                }
                tx.commit().map_err(storage)?;
                Ok(out)
            })
            .await;
        crate::host::per_write(result, count)
    }
}

/// Stores `key` on a record inside `tx` if its version is still `expected`.
fn set_key_in(
    tx: &Transaction<'_>,
    tbl: &'static str,
    id: &str,
    expected: &str,
    key: &str,
) -> Result<RecordMeta, HostError> {
    let row = check_version(tbl, id, load(tx, tbl, id)?, expected)?;
    // the content stays as it is: only the key and the version change
    write_row(tx, tbl, row, None, Some(key))
}

/// The embedded user directory.
#[derive(Clone, Debug)]
pub struct SqliteDirectory {
    db: SqliteDb,
}

impl SqliteDirectory {
    /// Adds a user or replaces the one with the same name (groups and accounts included).
    pub async fn put_user(&self, user: &DirectoryUser) -> Result<(), HostError> {
        let user = user.clone();
        self.db
            .with(move |c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(storage)?;
                tx.prepare_cached("DELETE FROM users WHERE name = ?1")
                    .map_err(storage)?
                    .execute(params![user.name])
                    .map_err(storage)?;
                tx.prepare_cached(
                    "INSERT INTO users (name, display_name, mailbox, active) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(storage)?
                .execute(params![user.name, user.display_name, user.mailbox, user.active])
                .map_err(storage)?;
                {
                    let mut groups = tx
                        .prepare_cached(
                            "INSERT OR IGNORE INTO user_groups (user, grp) VALUES (?1, ?2)",
                        )
                        .map_err(storage)?;
                    for g in &user.groups {
                        groups.execute(params![user.name, g]).map_err(storage)?;
                    }
                    let mut accounts = tx
                        .prepare_cached(
                            "INSERT OR IGNORE INTO user_mail_accounts (user, account) VALUES (?1, ?2)",
                        )
                        .map_err(storage)?;
                    for a in &user.mail_accounts {
                        accounts.execute(params![user.name, a]).map_err(storage)?;
                    }
                }
                tx.commit().map_err(storage)
            })
            .await
    }

    /// Removes a user; returns whether there was one.
    pub async fn remove_user(&self, name: &str) -> Result<bool, HostError> {
        let name = name.to_owned();
        self.db
            .with(move |c| {
                c.prepare_cached("DELETE FROM users WHERE name = ?1")
                    .and_then(|mut stmt| stmt.execute(params![name]))
                    .map(|n| n > 0)
                    .map_err(storage)
            })
            .await
    }
}

#[async_trait]
impl UserDirectory for SqliteDirectory {
    async fn users(&self) -> Result<Vec<DirectoryUser>, HostError> {
        self.db
            .with(|c| {
                let mut users: Vec<DirectoryUser> = {
                    let mut stmt = c
                        .prepare_cached(
                            "SELECT name, display_name, mailbox, active FROM users ORDER BY name",
                        )
                        .map_err(storage)?;
                    stmt.query_map([], |r| {
                        Ok(DirectoryUser {
                            name: r.get(0)?,
                            display_name: r.get(1)?,
                            mailbox: r.get(2)?,
                            active: r.get(3)?,
                            groups: Vec::new(),
                            mail_accounts: Vec::new(),
                        })
                    })
                    .map_err(storage)?
                    .collect::<Result<_, _>>()
                    .map_err(storage)?
                };
                let mut groups = c
                    .prepare_cached("SELECT grp FROM user_groups WHERE user = ?1 ORDER BY grp")
                    .map_err(storage)?;
                let mut accounts = c
                    .prepare_cached(
                        "SELECT account FROM user_mail_accounts WHERE user = ?1 ORDER BY account",
                    )
                    .map_err(storage)?;
                for u in &mut users {
                    u.groups = groups
                        .query_map(params![u.name], |r| r.get(0))
                        .map_err(storage)?
                        .collect::<Result<_, _>>()
                        .map_err(storage)?;
                    u.mail_accounts = accounts
                        .query_map(params![u.name], |r| r.get(0))
                        .map_err(storage)?
                        .collect::<Result<_, _>>()
                        .map_err(storage)?;
                }
                Ok(users)
            })
            .await
    }
}

/// What a reference number names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReferenceKind {
    /// A project (`P-…`).
    Project,
    /// An offer (`AN-…`).
    Offer,
    /// An invoice (`RE-…`).
    Invoice,
}

impl ReferenceKind {
    /// The kind a reference number's prefix names: `P-` project, `AN-` offer, `RE-` invoice
    /// (case-insensitive), followed by at least one digit.
    pub fn of_number(token: &str) -> Option<Self> {
        let upper = token.to_ascii_uppercase();
        let (kind, rest) = if let Some(r) = upper.strip_prefix("P-") {
            (Self::Project, r)
        } else if let Some(r) = upper.strip_prefix("AN-") {
            (Self::Offer, r)
        } else if let Some(r) = upper.strip_prefix("RE-") {
            (Self::Invoice, r)
        } else {
            return None;
        };
        (rest.starts_with(|c: char| c.is_ascii_digit())
            && rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then_some(kind)
    }
}

/// A project, offer or invoice of the embedded store, found by the linker by its number.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReferenceRecord {
    /// Which table.
    pub kind: ReferenceKind,
    /// The record's id (what a mail's link holds).
    pub id: String,
    /// The number a subject refers to (`P-2026-0042`, `AN-2026-0007`, `RE-2026-0113`).
    pub number: String,
    /// The title.
    #[serde(default)]
    pub title: String,
    /// The customer it belongs to.
    #[serde(default)]
    pub customer: Option<String>,
    /// The project an offer or invoice belongs to.
    #[serde(default)]
    pub project: Option<String>,
}

/// The reference numbers in a subject, in order: tokens of letters, digits and `-` that
/// [`ReferenceKind::of_number`] accepts (`AW: Angebot AN-2026-0007 zu P-2026-0042` gives
/// both).
pub fn subject_references(subject: &str) -> Vec<(ReferenceKind, String)> {
    subject
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .map(|t| t.trim_matches('-'))
        .filter_map(|t| ReferenceKind::of_number(t).map(|k| (k, t.to_owned())))
        .collect()
}

/// The embedded mail linking hook, over the embedded CRM's data:
///
/// 1. a reply inherits the links of the stored mail (table `mails`) whose `message_id` is
///    among its `In-Reply-To` or `References` ids (the most recent reference first);
/// 2. otherwise reference numbers in the subject ([`subject_references`]): `P-…` links the
///    project (table `projects`), `AN-…` the offer, `RE-…` the invoice, each also giving its
///    customer and (offers, invoices) its project when not named otherwise;
/// 3. the contact person is the contact (table `contacts`) whose `emails[].address` is the
///    sender's address, or else one of the recipients' (compared case-insensitively), of the
///    customer already linked if there is one; a customer still missing is that contact's
///    (field `customer`).
#[derive(Clone, Debug)]
pub struct SqliteLinker {
    db: SqliteDb,
}

pub(crate) fn normalize_message_id(raw: &str) -> String {
    raw.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_owned()
}

#[async_trait]
impl MailLinker for SqliteLinker {
    async fn link(&self, mail: &MailLinkQuery) -> Result<MailLinks, HostError> {
        let mail = mail.clone();
        self.db
            .with(move |c| {
                use crate::linking::rules;
                let mut by_id = c
                    .prepare_cached(
                        "SELECT json_extract(body, '$.links') FROM records
                         WHERE tbl = 'mails' AND json_extract(body, '$.message_id') = ?1",
                    )
                    .map_err(storage)?;
                for id in rules::thread_ids(&mail) {
                    let links: Vec<Option<String>> = by_id
                        .query_map(params![id], |r| r.get(0))
                        .map_err(storage)?
                        .collect::<Result<_, _>>()
                        .map_err(storage)?;
                    for text in links.into_iter().flatten() {
                        if let Ok(set) = serde_json::from_str::<MailLinks>(&text)
                            && !set.is_empty()
                        {
                            return Ok(set);
                        }
                    }
                }
                let mut links = MailLinks::default();
                for (kind, number) in subject_references(&mail.subject) {
                    let sql = match kind {
                        ReferenceKind::Project => {
                            "SELECT id, customer, NULL FROM projects WHERE number = ?1"
                        }
                        ReferenceKind::Offer => {
                            "SELECT id, customer, project FROM offers WHERE number = ?1"
                        }
                        ReferenceKind::Invoice => {
                            "SELECT id, customer, project FROM invoices WHERE number = ?1"
                        }
                    };
                    let found: Option<(String, Option<String>, Option<String>)> = c
                        .prepare_cached(sql)
                        .map_err(storage)?
                        .query_row(params![number], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .optional()
                        .map_err(storage)?;
                    if let Some((id, customer, project)) = found {
                        rules::merge_reference(&mut links, kind, id, customer, project);
                    }
                }
                // Contacts with a customer first, then by id.
                let mut by_address = c
                    .prepare_cached(
                        "SELECT r.id, json_extract(r.body, '$.customer') FROM records r,
                             json_each(r.body, '$.emails') e
                         WHERE r.tbl = 'contacts'
                           AND lower(json_extract(e.value, '$.address')) = lower(?1)
                         ORDER BY json_extract(r.body, '$.customer') IS NULL, r.id",
                    )
                    .map_err(storage)?;
                for address in rules::addresses(&mail) {
                    let found: Vec<(String, Option<String>)> = by_address
                        .query_map(params![address], |r| Ok((r.get(0)?, r.get(1)?)))
                        .map_err(storage)?
                        .collect::<Result<_, _>>()
                        .map_err(storage)?;
                    if rules::pick_contact(&mut links, found) {
                        break;
                    }
                }
                Ok(links)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The query plan of each listing: by owner through the `records_owner_id` index, never a
    /// scan of every record of the table.
    #[test]
    fn an_owners_listing_is_served_by_the_owner_index() {
        let mut conn = open_connection(None).unwrap();
        migrate(&mut conn).unwrap();
        for with_body in [false, true] {
            let sql = list_sql(with_body, true);
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params!["contacts", "bob"], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let plan = plan.join(" | ");
            assert!(plan.contains("USING INDEX records_owner_id"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "no sort: {plan}");
        }
        // and the query still answers what the old one did
        let none: Vec<String> = conn
            .prepare(&list_sql(false, false))
            .unwrap()
            .query_map(params!["contacts"], |r| r.get::<_, String>(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(none.is_empty());
    }
}
