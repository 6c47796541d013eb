//! The embedded CRM store on PostgreSQL (feature `postgres`): what [`crate::sqlite`] is on one
//! SQLite file, for several worker processes on several machines sharing one database
//! server. [`PgDb::open`] over a [`PgPool`] gives [`PgCrm`] (every table's [`CrmStore`]),
//! [`PgDirectory`] ([`UserDirectory`]) and [`PgLinker`] ([`MailLinker`]), with the same
//! semantics as their SQLite twins (the same behaviour tests run against both,
//! `tests/crm_contract.rs`); [`PgCheckpoints`] keeps mail-transport's receive checkpoints.
//!
//! # Schema
//!
//! Versioned, forward-only migrations of the component [`COMPONENT`] (`"crm"`) through
//! [`PgPool::migrate`], once per pool, under an advisory lock, so workers starting at once
//! migrate once.
//!
//! * `crm_records(tbl, id, rev, fingerprint, key, owner, owner_fold, modified, body,
//!   message_id, emails)`: every CRM record, as in SQLite's `records` (the version reported
//!   is `rev`, which only grows when the fingerprint of body and key changes; `modified` is
//!   RFC 3339 text; `body` JSON text, so any record a serializer writes, even one with a
//!   NUL escape, is stored as given). Derived columns written with the body: `owner_fold`
//!   (the owner, ASCII lower case: SQLite's `NOCASE`), `message_id` (mails) and `emails`
//!   (contacts: every `emails[].address`, ASCII lower case) for the linker.
//! * Indexes: `(tbl, owner_fold, id)` serves a job's listing of one owner's records in id
//!   order (no scan of the table, no sort); the primary key `(tbl, id)` the listing of every
//!   owner; `message_id` (mails) the linker's thread lookup; a GIN index on `emails`
//!   (contacts) its address lookup.
//! * `crm_users`, `crm_user_groups`, `crm_user_mail_accounts`: the directory (names compared
//!   case-insensitively for ASCII, as SQLite's `NOCASE`).
//! * `crm_projects`, `crm_offers`, `crm_invoices`: the records a subject's reference number
//!   names ([`PgDb::add_reference`]).
//!
//! Ids are ordered byte-wise (`COLLATE "C"`), whatever the database's collation, as SQLite
//! orders them. PostgreSQL's text holds no NUL character: an owner, key, user name or
//! reference number containing one is refused ([`HostError::Storage`], not transient);
//! record content may contain any (it is stored as escaped JSON).
//!
//! # Concurrency
//!
//! Every conditional write (`update`, `delete`, `set_key`) is one transaction that reads the
//! record `FOR UPDATE`, checks its version and writes: of two workers writing one record with
//! the same expected version, one wins and the other gets [`HostError::Conflict`]. A batch of
//! key write-backs ([`PgCrm::set_keys`]) is one transaction that locks its records in id
//! order (no deadlock between two batches). Errors the server or the pool report as
//! passing (a lost connection, a serialization failure or deadlock, a pool timeout) are
//! [`HostError::Storage`] with `transient: true` ([`StoreError::is_transient`]).

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use serde_json::Value;
use sync_core::StoreError;
use sync_core::postgres::{PgClient, PgPool, tokio_postgres};

use crate::host::{
    CrmRecord, CrmStore, DirectoryUser, HostError, ListQuery, MailLinkQuery, MailLinker,
    RecordMeta, Stored, UserDirectory,
};
use crate::sqlite::{
    ReferenceKind, ReferenceRecord, Row, check_version, decode, fingerprint, now_text,
    subject_references, to_json,
};
use conaktiv_model::mail::MailLinks;

mod checkpoints;

pub use checkpoints::{CHECKPOINTS_COMPONENT, CHECKPOINTS_MIGRATIONS, PgCheckpoints};

/// The CRM store's component name in `conaktiv_schema`.
pub const COMPONENT: &str = "crm";

/// The schema version this code writes (the number of [`MIGRATIONS`]).
pub const SCHEMA_VERSION: i64 = 1;

/// Migrations of the CRM store; index `i` brings the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: records, directory, reference numbers
    r#"CREATE TABLE crm_records (
         tbl TEXT NOT NULL,
         id TEXT COLLATE "C" NOT NULL,
         rev BIGINT NOT NULL,
         fingerprint TEXT NOT NULL,
         key TEXT,
         owner TEXT,
         owner_fold TEXT COLLATE "C",
         modified TEXT NOT NULL,
         body TEXT NOT NULL,
         message_id TEXT,
         emails TEXT[] NOT NULL DEFAULT '{}',
         PRIMARY KEY (tbl, id)
     );
     CREATE INDEX crm_records_owner_id ON crm_records (tbl, owner_fold, id);
     CREATE INDEX crm_records_key ON crm_records (tbl, key);
     CREATE INDEX crm_records_message_id ON crm_records (message_id) WHERE tbl = 'mails';
     CREATE INDEX crm_records_emails ON crm_records USING GIN (emails) WHERE tbl = 'contacts';
     CREATE TABLE crm_users (
         name_fold TEXT COLLATE "C" PRIMARY KEY,
         name TEXT NOT NULL,
         display_name TEXT NOT NULL,
         mailbox TEXT,
         active BOOLEAN NOT NULL
     );
     CREATE TABLE crm_user_groups (
         user_fold TEXT COLLATE "C" NOT NULL
             REFERENCES crm_users (name_fold) ON DELETE CASCADE,
         grp_fold TEXT COLLATE "C" NOT NULL,
         grp TEXT NOT NULL,
         PRIMARY KEY (user_fold, grp_fold)
     );
     CREATE TABLE crm_user_mail_accounts (
         user_fold TEXT COLLATE "C" NOT NULL
             REFERENCES crm_users (name_fold) ON DELETE CASCADE,
         account_fold TEXT COLLATE "C" NOT NULL,
         account TEXT NOT NULL,
         PRIMARY KEY (user_fold, account_fold)
     );
     CREATE TABLE crm_projects (
         id TEXT PRIMARY KEY,
         number TEXT NOT NULL,
         number_fold TEXT NOT NULL UNIQUE,
         title TEXT NOT NULL DEFAULT '',
         customer TEXT
     );
     CREATE TABLE crm_offers (
         id TEXT PRIMARY KEY,
         number TEXT NOT NULL,
         number_fold TEXT NOT NULL UNIQUE,
         title TEXT NOT NULL DEFAULT '',
         customer TEXT,
         project TEXT
     );
     CREATE TABLE crm_invoices (
         id TEXT PRIMARY KEY,
         number TEXT NOT NULL,
         number_fold TEXT NOT NULL UNIQUE,
         title TEXT NOT NULL DEFAULT '',
         customer TEXT,
         project TEXT
     );"#,
];

/// A storage error: PostgreSQL's or the pool's, transient as [`StoreError::is_transient`]
/// says.
pub(crate) fn storage(e: impl Into<StoreError>) -> HostError {
    let e = e.into();
    HostError::Storage {
        message: e.to_string(),
        transient: e.is_transient(),
    }
}

/// SQLite's `NOCASE`: ASCII letters folded to lower case, everything else as it is.
fn fold(s: &str) -> String {
    s.to_ascii_lowercase()
}

/// The embedded CRM database on PostgreSQL: records, directory and the linker's data. Cheap
/// to clone (the pool is shared).
#[derive(Clone, Debug)]
pub struct PgDb {
    pool: PgPool,
}

impl PgDb {
    /// The CRM database over `pool`: brings its schema up to date (once per pool; refused
    /// with [`StoreError::SchemaTooNew`] if the database is newer than this program).
    pub async fn open(pool: &PgPool) -> Result<Self, StoreError> {
        pool.migrate(COMPONENT, MIGRATIONS).await?;
        Ok(Self { pool: pool.clone() })
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The CRM store's schema version in the database.
    pub async fn schema_version(&self) -> Result<i64, HostError> {
        self.pool.schema_version(COMPONENT).await.map_err(storage)
    }

    /// The CRM store over this database.
    pub fn crm(&self) -> PgCrm {
        PgCrm { db: self.clone() }
    }

    /// The user directory over this database.
    pub fn directory(&self) -> PgDirectory {
        PgDirectory { db: self.clone() }
    }

    /// The mail linker over this database.
    pub fn linker(&self) -> PgLinker {
        PgLinker { db: self.clone() }
    }

    /// Adds (or replaces, by id) a project, offer or invoice the linker finds by its number.
    /// As SQLite's `INSERT OR REPLACE`, a record of the same kind with the same number
    /// (compared case-insensitively) is replaced too.
    pub async fn add_reference(&self, record: ReferenceRecord) -> Result<(), HostError> {
        let table = match record.kind {
            ReferenceKind::Project => "crm_projects",
            ReferenceKind::Offer => "crm_offers",
            ReferenceKind::Invoice => "crm_invoices",
        };
        let number_fold = fold(&record.number);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        // Replacing is delete-then-insert: writers of one table take turns, so two imports
        // of the same new record do not both insert it (a unique violation).
        lock_table(&tx, table).await?;
        let del = tx
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE id = $1 OR number_fold = $2"
            ))
            .await
            .map_err(storage)?;
        tx.execute(&del, &[&record.id, &number_fold])
            .await
            .map_err(storage)?;
        match record.kind {
            ReferenceKind::Project => {
                let ins = tx
                    .prepare_cached(
                        "INSERT INTO crm_projects (id, number, number_fold, title, customer)
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .await
                    .map_err(storage)?;
                tx.execute(
                    &ins,
                    &[
                        &record.id,
                        &record.number,
                        &number_fold,
                        &record.title,
                        &record.customer,
                    ],
                )
                .await
                .map_err(storage)?;
            }
            ReferenceKind::Offer | ReferenceKind::Invoice => {
                let ins = tx
                    .prepare_cached(&format!(
                        "INSERT INTO {table} (id, number, number_fold, title, customer, project)
                         VALUES ($1, $2, $3, $4, $5, $6)"
                    ))
                    .await
                    .map_err(storage)?;
                tx.execute(
                    &ins,
                    &[
                        &record.id,
                        &record.number,
                        &number_fold,
                        &record.title,
                        &record.customer,
                        &record.project,
                    ],
                )
                .await
                .map_err(storage)?;
            }
        }
        tx.commit().await.map_err(storage)
    }

    async fn client(&self) -> Result<PgClient, HostError> {
        self.pool.client().await.map_err(storage)
    }
}

/// The embedded CRM store on PostgreSQL: every [`CrmRecord`] table in one database.
#[derive(Clone, Debug)]
pub struct PgCrm {
    db: PgDb,
}

/// `SELECT` of a record row (the columns `read_row` reads) and the rest of the statement:
/// a `&'static str` built at compile time, so the statement cache is hit without
/// formatting the text on every call.
macro_rules! select_rows {
    ($rest:literal) => {
        concat!(
            "SELECT id, rev, fingerprint, key, owner, modified, body FROM crm_records ",
            $rest
        )
    };
}

fn read_row(r: &tokio_postgres::Row) -> Result<Row, HostError> {
    Ok(Row {
        id: r.try_get(0).map_err(storage)?,
        rev: r.try_get(1).map_err(storage)?,
        fingerprint: r.try_get(2).map_err(storage)?,
        key: r.try_get(3).map_err(storage)?,
        owner: r.try_get(4).map_err(storage)?,
        modified: r.try_get(5).map_err(storage)?,
        body: r.try_get(6).map_err(storage)?,
    })
}

/// The listing query of a table, for one owner or all: the owner is a condition of its own,
/// so the index `(tbl, owner_fold, id)` finds one owner's records in id order. The body is
/// read only when a filter needs it.
fn list_sql(with_body: bool, by_owner: bool) -> String {
    let body_col = if with_body { "body" } else { "NULL::text" };
    let owner = if by_owner { " AND owner_fold = $2" } else { "" };
    format!(
        "SELECT id, rev, fingerprint, key, owner, modified, {body_col} FROM crm_records \
         WHERE tbl = $1{owner} ORDER BY id"
    )
}

/// What the linker looks records up by, derived from a record's body: the `message_id` of a
/// mail, the `emails[].address`es of a contact (ASCII lower case, as SQLite's `lower()`).
fn derived(tbl: &str, body: &str) -> (Option<String>, Vec<String>) {
    if tbl != "mails" && tbl != "contacts" {
        return (None, Vec::new());
    }
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return (None, Vec::new());
    };
    if tbl == "mails" {
        let id = value
            .get("message_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        return (id, Vec::new());
    }
    let entries: Vec<&Value> = match value.get("emails") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Object(o)) => o.values().collect(),
        _ => Vec::new(),
    };
    let emails = entries
        .into_iter()
        .filter_map(|e| e.get("address").and_then(Value::as_str))
        .map(fold)
        .collect();
    (None, emails)
}

async fn load(tx: &Transaction<'_>, tbl: &str, id: &str) -> Result<Option<Row>, HostError> {
    let stmt = tx
        .prepare_cached(select_rows!("WHERE tbl = $1 AND id = $2 FOR UPDATE"))
        .await
        .map_err(storage)?;
    tx.query_opt(&stmt, &[&tbl, &id])
        .await
        .map_err(storage)?
        .as_ref()
        .map(read_row)
        .transpose()
}

/// Writes new content and key unless they equal the stored ones; returns the row as stored.
async fn write_row(
    tx: &Transaction<'_>,
    tbl: &str,
    row: Row,
    body: String,
    key: Option<String>,
) -> Result<Row, HostError> {
    let fp = fingerprint(&body, key.as_deref());
    if fp == row.fingerprint {
        return Ok(Row {
            body: Some(body),
            ..row
        });
    }
    let modified = now_text();
    let rev = row.rev.saturating_add(1);
    let (message_id, emails) = derived(tbl, &body);
    let stmt = tx
        .prepare_cached(
            "UPDATE crm_records SET rev = $3, fingerprint = $4, key = $5, modified = $6,
                 body = $7, message_id = $8, emails = $9
             WHERE tbl = $1 AND id = $2",
        )
        .await
        .map_err(storage)?;
    tx.execute(
        &stmt,
        &[
            &tbl,
            &row.id,
            &rev,
            &fp,
            &key,
            &modified,
            &body,
            &message_id,
            &emails,
        ],
    )
    .await
    .map_err(storage)?;
    Ok(Row {
        rev,
        fingerprint: fp,
        key,
        modified,
        body: Some(body),
        ..row
    })
}

/// Makes the writers of `table` that replace rows (delete, then insert) take turns, until
/// the end of the transaction.
async fn lock_table(tx: &Transaction<'_>, table: &str) -> Result<(), HostError> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('conaktiv:' || $1::text))",
        &[&table],
    )
    .await
    .map_err(storage)?;
    Ok(())
}

/// Key write-backs `(id, expected version, key)` of one table in the caller's transaction:
/// the records are locked in id order, each write checks its version; the outcome of each
/// write in order (a conflict or a missing record fails that write alone). The outer error
/// is a storage failure, after which the transaction must not be committed.
async fn set_keys_in(
    tx: &Transaction<'_>,
    tbl: &'static str,
    writes: &[(&str, &str, &str)],
) -> Result<Vec<Result<RecordMeta, HostError>>, HostError> {
    if writes.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = writes.iter().map(|(id, _, _)| *id).collect();
    let stmt = tx
        .prepare_cached(select_rows!(
            "WHERE tbl = $1 AND id = ANY($2)
             ORDER BY id FOR UPDATE"
        ))
        .await
        .map_err(storage)?;
    let mut rows: HashMap<String, Row> = HashMap::with_capacity(writes.len());
    for r in tx.query(&stmt, &[&tbl, &ids]).await.map_err(storage)? {
        let row = read_row(&r)?;
        rows.insert(row.id.clone(), row);
    }
    // Each write is decided in order against the row as the writes before it left it; the
    // rows that changed are then stored by one statement (a key write leaves the body, and
    // so what is derived from it, as it was).
    let mut out = Vec::with_capacity(writes.len());
    let mut changed: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let modified = now_text();
    for (id, expected, key) in writes {
        let row = match check_version(tbl, id, rows.remove(*id), expected) {
            Ok(row) => row,
            Err(e) => {
                out.push(Err(e));
                continue;
            }
        };
        let key = Some((*key).to_owned());
        let fp = fingerprint(row.body.as_deref().unwrap_or_default(), key.as_deref());
        let row = if fp == row.fingerprint {
            row
        } else {
            if seen.insert(row.id.clone()) {
                changed.push(row.id.clone());
            }
            Row {
                rev: row.rev.saturating_add(1),
                fingerprint: fp,
                key,
                modified: modified.clone(),
                ..row
            }
        };
        out.push(Ok(row.meta()));
        rows.insert(row.id.clone(), row);
    }
    if !changed.is_empty() {
        let stored: Vec<&Row> = changed.iter().filter_map(|id| rows.get(id)).collect();
        let ids: Vec<&str> = stored.iter().map(|r| r.id.as_str()).collect();
        let revs: Vec<i64> = stored.iter().map(|r| r.rev).collect();
        let fps: Vec<&str> = stored.iter().map(|r| r.fingerprint.as_str()).collect();
        let keys: Vec<Option<&str>> = stored.iter().map(|r| r.key.as_deref()).collect();
        let stmt = tx
            .prepare_cached(
                "UPDATE crm_records c SET rev = u.rev, fingerprint = u.fp, key = u.key,
                     modified = $6
                 FROM unnest($2::text[], $3::bigint[], $4::text[], $5::text[])
                     AS u(id, rev, fp, key)
                 WHERE c.tbl = $1 AND c.id = u.id",
            )
            .await
            .map_err(storage)?;
        tx.execute(&stmt, &[&tbl, &ids, &revs, &fps, &keys, &modified])
            .await
            .map_err(storage)?;
    }
    Ok(out)
}

impl PgCrm {
    /// Stores correlation keys `(id, expected version, key)` on records of `R`'s table in one
    /// transaction: each write as [`CrmStore::set_key`] (it succeeds only if the record's
    /// version is still the expected one), its outcome in the order given; a conflict or a
    /// missing record fails that write alone. `Err` is a storage failure: nothing was
    /// written.
    pub async fn set_keys<R: CrmRecord>(
        &self,
        writes: &[(&str, &str, &str)],
    ) -> Result<Vec<Result<RecordMeta, HostError>>, HostError> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        let out = set_keys_in(&tx, R::TABLE_NAME, writes).await?;
        tx.commit().await.map_err(storage)?;
        Ok(out)
    }
}

#[async_trait]
impl<R: CrmRecord> CrmStore<R> for PgCrm {
    async fn list(&self, query: &ListQuery) -> Result<Vec<RecordMeta>, HostError> {
        let tbl = R::TABLE_NAME;
        let client = self.db.client().await?;
        let with_body = !query.filter.is_all();
        let stmt = client
            .prepare_cached(&list_sql(with_body, query.owner.is_some()))
            .await
            .map_err(storage)?;
        let rows = match &query.owner {
            Some(o) => client.query(&stmt, &[&tbl, &fold(o)]).await,
            None => client.query(&stmt, &[&tbl]).await,
        }
        .map_err(storage)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let row = read_row(r)?;
            if let Some(body) = &row.body {
                match serde_json::from_str::<Value>(body) {
                    Ok(value) if !query.filter.matches(&value) => continue,
                    Ok(_) => {}
                    // Listed anyway (its filter cannot be evaluated): a record that vanished
                    // from the listing would look deleted. Reading it fails later and is
                    // reported there.
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
    }

    async fn get(&self, id: &str) -> Result<Option<Stored<R>>, HostError> {
        let client = self.db.client().await?;
        let stmt = client
            .prepare_cached(select_rows!("WHERE tbl = $1 AND id = $2"))
            .await
            .map_err(storage)?;
        let row = client
            .query_opt(&stmt, &[&R::TABLE_NAME, &id])
            .await
            .map_err(storage)?;
        row.as_ref()
            .map(read_row)
            .transpose()?
            .map(decode::<R>)
            .transpose()
    }

    async fn get_many(&self, ids: &[String]) -> Result<Vec<Stored<R>>, HostError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let client = self.db.client().await?;
        let stmt = client
            .prepare_cached(select_rows!("WHERE tbl = $1 AND id = ANY($2)"))
            .await
            .map_err(storage)?;
        let rows = client
            .query(&stmt, &[&R::TABLE_NAME, &ids])
            .await
            .map_err(storage)?;
        let mut found: HashMap<String, Stored<R>> = HashMap::with_capacity(rows.len());
        for r in &rows {
            let stored = decode::<R>(read_row(r)?)?;
            found.insert(stored.meta.id.clone(), stored);
        }
        // In the order asked for, as the SQLite store answers.
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    }

    async fn create(
        &self,
        owner: Option<&str>,
        record: &R,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        let tbl = R::TABLE_NAME;
        let body = to_json(record)?;
        // Time-ordered (UUID v7): records are listed and synced in id order, so the rows and
        // index entries a write batch touches (its key write-backs, the keys that become
        // sync-state keys) lie together instead of all over the B-trees.
        let id = uuid::Uuid::now_v7().simple().to_string();
        let fp = fingerprint(&body, key);
        let modified = now_text();
        let (message_id, emails) = derived(tbl, &body);
        let owner_fold = owner.map(fold);
        let client = self.db.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO crm_records (tbl, id, rev, fingerprint, key, owner, owner_fold,
                     modified, body, message_id, emails)
                 VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .await
            .map_err(storage)?;
        client
            .execute(
                &stmt,
                &[
                    &tbl,
                    &id,
                    &fp,
                    &key,
                    &owner,
                    &owner_fold,
                    &modified,
                    &body,
                    &message_id,
                    &emails,
                ],
            )
            .await
            .map_err(storage)?;
        Ok(Row {
            id,
            rev: 1,
            fingerprint: fp,
            key: key.map(str::to_owned),
            owner: owner.map(str::to_owned),
            modified,
            body: None,
        }
        .meta())
    }

    async fn update(
        &self,
        id: &str,
        expected: &str,
        record: &R,
        key: Option<&str>,
    ) -> Result<RecordMeta, HostError> {
        let tbl = R::TABLE_NAME;
        let body = to_json(record)?;
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        let row = check_version(tbl, id, load(&tx, tbl, id).await?, expected)?;
        let key = key.map(str::to_owned).or_else(|| row.key.clone());
        let row = write_row(&tx, tbl, row, body, key).await?;
        tx.commit().await.map_err(storage)?;
        Ok(row.meta())
    }

    async fn delete(&self, id: &str, expected: &str) -> Result<(), HostError> {
        let tbl = R::TABLE_NAME;
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        check_version(tbl, id, load(&tx, tbl, id).await?, expected)?;
        let stmt = tx
            .prepare_cached("DELETE FROM crm_records WHERE tbl = $1 AND id = $2")
            .await
            .map_err(storage)?;
        tx.execute(&stmt, &[&tbl, &id]).await.map_err(storage)?;
        tx.commit().await.map_err(storage)
    }

    async fn set_key(&self, id: &str, expected: &str, key: &str) -> Result<RecordMeta, HostError> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        let mut out = set_keys_in(&tx, R::TABLE_NAME, &[(id, expected, key)]).await?;
        let meta = out.pop().unwrap_or_else(|| {
            Err(HostError::NotFound {
                table: R::TABLE_NAME,
                id: id.to_owned(),
            })
        })?;
        tx.commit().await.map_err(storage)?;
        Ok(meta)
    }

    /// One transaction per batch (see [`PgCrm::set_keys`]); a storage failure is reported on
    /// every write of the batch (nothing was stored).
    async fn set_keys(
        &self,
        writes: &[crate::host::KeyWrite],
    ) -> Vec<Result<RecordMeta, HostError>> {
        if writes.is_empty() {
            return Vec::new();
        }
        let tuples: Vec<(&str, &str, &str)> = writes
            .iter()
            .map(|w| (w.id.as_str(), w.expected.as_str(), w.key.as_str()))
            .collect();
        crate::host::per_write(PgCrm::set_keys::<R>(self, &tuples).await, writes.len())
    }
}

/// The embedded user directory on PostgreSQL.
#[derive(Clone, Debug)]
pub struct PgDirectory {
    db: PgDb,
}

impl PgDirectory {
    /// Adds a user or replaces the one with the same name (groups and accounts included).
    pub async fn put_user(&self, user: &DirectoryUser) -> Result<(), HostError> {
        let name_fold = fold(&user.name);
        let mut client = self.db.client().await?;
        let tx = client.transaction().await.map_err(storage)?;
        lock_table(&tx, "crm_users").await?; // as in `PgDb::add_reference`
        let del = tx
            .prepare_cached("DELETE FROM crm_users WHERE name_fold = $1")
            .await
            .map_err(storage)?;
        tx.execute(&del, &[&name_fold]).await.map_err(storage)?;
        let ins = tx
            .prepare_cached(
                "INSERT INTO crm_users (name_fold, name, display_name, mailbox, active)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .await
            .map_err(storage)?;
        tx.execute(
            &ins,
            &[
                &name_fold,
                &user.name,
                &user.display_name,
                &user.mailbox,
                &user.active,
            ],
        )
        .await
        .map_err(storage)?;
        let group = tx
            .prepare_cached(
                "INSERT INTO crm_user_groups (user_fold, grp_fold, grp) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(storage)?;
        for g in &user.groups {
            tx.execute(&group, &[&name_fold, &fold(g), g])
                .await
                .map_err(storage)?;
        }
        let account = tx
            .prepare_cached(
                "INSERT INTO crm_user_mail_accounts (user_fold, account_fold, account)
                 VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .await
            .map_err(storage)?;
        for a in &user.mail_accounts {
            tx.execute(&account, &[&name_fold, &fold(a), a])
                .await
                .map_err(storage)?;
        }
        tx.commit().await.map_err(storage)
    }

    /// Removes a user; returns whether there was one.
    pub async fn remove_user(&self, name: &str) -> Result<bool, HostError> {
        let client = self.db.client().await?;
        let stmt = client
            .prepare_cached("DELETE FROM crm_users WHERE name_fold = $1")
            .await
            .map_err(storage)?;
        let n = client
            .execute(&stmt, &[&fold(name)])
            .await
            .map_err(storage)?;
        Ok(n > 0)
    }
}

#[async_trait]
impl UserDirectory for PgDirectory {
    async fn users(&self) -> Result<Vec<DirectoryUser>, HostError> {
        let mut client = self.db.client().await?;
        // One snapshot of the three tables.
        let tx = client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(storage)?;
        let users = tx
            .query(
                "SELECT name_fold, name, display_name, mailbox, active FROM crm_users
                 ORDER BY name_fold",
                &[],
            )
            .await
            .map_err(storage)?;
        let mut out: Vec<DirectoryUser> = Vec::with_capacity(users.len());
        let mut index: HashMap<String, usize> = HashMap::with_capacity(users.len());
        for r in &users {
            index.insert(r.try_get(0).map_err(storage)?, out.len());
            out.push(DirectoryUser {
                name: r.try_get(1).map_err(storage)?,
                display_name: r.try_get(2).map_err(storage)?,
                mailbox: r.try_get(3).map_err(storage)?,
                active: r.try_get(4).map_err(storage)?,
                groups: Vec::new(),
                mail_accounts: Vec::new(),
            });
        }
        for r in tx
            .query(
                "SELECT user_fold, grp FROM crm_user_groups ORDER BY user_fold, grp_fold",
                &[],
            )
            .await
            .map_err(storage)?
        {
            let user: String = r.try_get(0).map_err(storage)?;
            if let Some(&i) = index.get(&user) {
                out[i].groups.push(r.try_get(1).map_err(storage)?);
            }
        }
        for r in tx
            .query(
                "SELECT user_fold, account FROM crm_user_mail_accounts
                 ORDER BY user_fold, account_fold",
                &[],
            )
            .await
            .map_err(storage)?
        {
            let user: String = r.try_get(0).map_err(storage)?;
            if let Some(&i) = index.get(&user) {
                out[i].mail_accounts.push(r.try_get(1).map_err(storage)?);
            }
        }
        tx.commit().await.map_err(storage)?;
        Ok(out)
    }
}

/// The embedded mail linking hook on PostgreSQL, with the same matching as
/// [`SqliteLinker`](crate::sqlite::SqliteLinker): the thread's links (a stored mail whose
/// `message_id` is among the `In-Reply-To` or `References` ids, the most recent reference
/// first), else the subject's reference numbers, then the sender's or a recipient's contact
/// person (of the customer already linked, if any; it gives the customer when none was
/// found).
#[derive(Clone, Debug)]
pub struct PgLinker {
    db: PgDb,
}

/// The stored mails of a thread by Message-ID (index `crm_records_message_id`).
const THREAD_SQL: &str =
    "SELECT body FROM crm_records WHERE tbl = 'mails' AND message_id = $1 ORDER BY id";

/// The contacts with an address, ASCII lower case (GIN index `crm_records_emails`).
const ADDRESS_SQL: &str =
    "SELECT id, body FROM crm_records WHERE tbl = 'contacts' AND emails @> ARRAY[$1::text]";

#[async_trait]
impl MailLinker for PgLinker {
    async fn link(&self, mail: &MailLinkQuery) -> Result<MailLinks, HostError> {
        use crate::linking::rules;
        let client = self.db.client().await?;
        let by_id = client.prepare_cached(THREAD_SQL).await.map_err(storage)?;
        for id in rules::thread_ids(mail) {
            for r in client.query(&by_id, &[&id]).await.map_err(storage)? {
                let body: String = r.try_get(0).map_err(storage)?;
                let links = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|mut v| v.get_mut("links").map(Value::take))
                    .and_then(|l| serde_json::from_value::<MailLinks>(l).ok());
                if let Some(set) = links
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
                    "SELECT id, customer, NULL::text FROM crm_projects WHERE number_fold = $1"
                }
                ReferenceKind::Offer => {
                    "SELECT id, customer, project FROM crm_offers WHERE number_fold = $1"
                }
                ReferenceKind::Invoice => {
                    "SELECT id, customer, project FROM crm_invoices WHERE number_fold = $1"
                }
            };
            let stmt = client.prepare_cached(sql).await.map_err(storage)?;
            if let Some(r) = client
                .query_opt(&stmt, &[&fold(&number)])
                .await
                .map_err(storage)?
            {
                rules::merge_reference(
                    &mut links,
                    kind,
                    r.try_get(0).map_err(storage)?,
                    r.try_get(1).map_err(storage)?,
                    r.try_get(2).map_err(storage)?,
                );
            }
        }
        let by_address = client.prepare_cached(ADDRESS_SQL).await.map_err(storage)?;
        for address in rules::addresses(mail) {
            let mut found: Vec<(String, Option<String>)> = Vec::new();
            for r in client
                .query(&by_address, &[&fold(address)])
                .await
                .map_err(storage)?
            {
                let id: String = r.try_get(0).map_err(storage)?;
                let body: String = r.try_get(1).map_err(storage)?;
                let customer = serde_json::from_str::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("customer").and_then(Value::as_str).map(str::to_owned));
                found.push((id, customer));
            }
            // Contacts with a customer first, then by id.
            found.sort_by(|a, b| (a.1.is_none(), &a.0).cmp(&(b.1.is_none(), &b.0)));
            if rules::pick_contact(&mut links, found) {
                break;
            }
        }
        Ok(links)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    /// A fresh CRM database on the test server, or `None` (printed) when there is none.
    async fn scratch() -> Option<PgDb> {
        let url = match std::env::var("CONAKTIV_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => url,
            _ => {
                assert!(
                    std::env::var("POSTGRES_REQUIRED").as_deref() != Ok("1"),
                    "POSTGRES_REQUIRED=1 but CONAKTIV_TEST_POSTGRES_URL is not set"
                );
                println!("skipped: no PostgreSQL (CONAKTIV_TEST_POSTGRES_URL)");
                return None;
            }
        };
        let url = sync_core::postgres::create_scratch_database(&url)
            .await
            .unwrap();
        let pool = PgPool::connect(&url, None, 2).unwrap();
        Some(PgDb::open(&pool).await.unwrap())
    }

    async fn plan(
        client: &PgClient,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> String {
        client
            .query(&format!("EXPLAIN {sql}"), params)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// The statements a job and the linker run, planned on 20,000 contacts of 200 owners
    /// and 2,000 mails (no planner settings: the data decides): one owner's listing is an
    /// index scan of `(tbl, owner_fold, id)` in id order (no scan of the table, no sort), a
    /// thread's mails and an address's contacts are found through their indexes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn listings_and_lookups_are_served_by_indexes() {
        let Some(db) = scratch().await else { return };
        let client = db.client().await.unwrap();
        client
            .batch_execute(
                "INSERT INTO crm_records (tbl, id, rev, fingerprint, owner, owner_fold, modified,
                     body, emails)
                 SELECT 'contacts', md5(n::text), 1, '', 'User' || (n % 200), 'user' || (n % 200),
                     '2026-01-01T00:00:00Z', '{}', ARRAY['u' || n || '@x.example']
                 FROM generate_series(1, 20000) n;
                 INSERT INTO crm_records (tbl, id, rev, fingerprint, owner, owner_fold, modified,
                     body, message_id)
                 SELECT 'mails', md5(n::text), 1, '', 'User' || (n % 200), 'user' || (n % 200),
                     '2026-01-01T00:00:00Z', '{}', 'm' || n || '@x.example'
                 FROM generate_series(1, 2000) n;
                 ANALYZE crm_records;",
            )
            .await
            .unwrap();
        for with_body in [false, true] {
            let p = plan(
                &client,
                &list_sql(with_body, true),
                &[&"contacts", &"user7"],
            )
            .await;
            assert!(p.contains("Index Scan using crm_records_owner_id"), "{p}");
            assert!(!p.contains("Sort") && !p.contains("Seq Scan"), "{p}");
        }
        let p = plan(&client, THREAD_SQL, &[&"m5@x.example"]).await;
        assert!(p.contains("crm_records_message_id"), "{p}");
        assert!(!p.contains("Seq Scan"), "{p}");
        let p = plan(&client, ADDRESS_SQL, &[&"u5@x.example"]).await;
        assert!(p.contains("crm_records_emails"), "{p}");
        assert!(!p.contains("Seq Scan"), "{p}");
        // and the store's listing answers one owner's records, in id order
        let listed = CrmStore::<conaktiv_model::ContactPerson>::list(
            &db.crm(),
            &ListQuery::all().owned_by("USER7"),
        )
        .await
        .unwrap();
        assert_eq!(listed.len(), 100);
        assert!(listed.windows(2).all(|w| w[0].id < w[1].id));
        assert!(listed.iter().all(|m| m.owner.as_deref() == Some("User7")));
    }
}
