//! The PostgreSQL state store (feature `postgres`): several workers, on one or several
//! machines, keep their sync state in one database server.
//!
//! * [`PgPool`] is a connection pool (deadpool-postgres over tokio-postgres) built from a
//!   `postgres://` URL and a password given apart from it (from the host's secret provider),
//!   so the URL in a configuration file carries no secret. Its `Debug` shows no password.
//! * [`PgPool::migrate`] runs a component's versioned, forward-only migrations once per pool,
//!   in one transaction under an advisory lock, so workers starting at once migrate once.
//!   Versions are kept per component in the table `conaktiv_schema`; the connector's leases
//!   and CRM store use the same function (mail-transport, which does not depend on
//!   sync-core, keeps its own copy for its send queue, in the same table and lock).
//! * [`PgStore`] is an [`AsyncStateStore`] for one scope (one mailbox and table, as one
//!   SQLite file is for [`crate::SqliteStore`]); every batch is one transaction.
//!
//! Connections: TLS is not supported by this build's driver setup, so a URL must name a
//! loopback host or a Unix socket directory, or say `sslmode=disable` explicitly (a network
//! the operator trusts); anything else is refused instead of sending data in clear text.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;
use tokio_postgres::config::{Host, SslMode};

use crate::store::{PAIR_COLUMNS, detached_of, pair_from_columns, side_from};
use crate::{
    AsyncStateStore, DetachReason, Detached, Id, Intent, Key, Pair, SideId, StateBatch, StoreError,
    Timestamp,
};

pub use deadpool_postgres::Object as PgClient;
pub use tokio_postgres;

/// A pool of connections to one PostgreSQL database. Cheap to clone (shared).
#[derive(Clone)]
pub struct PgPool {
    pool: Pool,
    target: Arc<str>,
    migrated: Arc<Mutex<HashSet<String>>>,
}

impl std::fmt::Debug for PgPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgPool")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// An error of the PostgreSQL connection's configuration.
fn config_error(message: impl Into<String>) -> StoreError {
    StoreError::Config(message.into())
}

impl PgPool {
    /// A pool of at most `max_size` connections to the database of `url`
    /// (`postgres://user@host:port/dbname?options`, any form tokio-postgres accepts);
    /// `password`, if given, replaces one in the URL. Connects lazily: a wrong address or
    /// password shows at the first use, as a [`StoreError::Postgres`] or
    /// [`StoreError::PostgresPool`].
    pub fn connect(url: &str, password: Option<&str>, max_size: usize) -> Result<Self, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| config_error(format!("invalid PostgreSQL URL: {e}")))?;
        if let Some(pw) = password {
            config.password(pw);
        }
        if config.get_application_name().is_none() {
            config.application_name("conaktiv-exchange");
        }
        if config.get_user().is_none() {
            return Err(config_error("the PostgreSQL URL names no user"));
        }
        let hosts = config.get_hosts().to_vec();
        if hosts.is_empty() {
            return Err(config_error("the PostgreSQL URL names no host"));
        }
        let all_local = hosts.iter().all(|h| match h {
            Host::Tcp(name) => is_loopback(name),
            Host::Unix(_) => true,
        });
        if !all_local && config.get_ssl_mode() != SslMode::Disable {
            return Err(config_error(
                "TLS connections to PostgreSQL are not supported by this build: use a loopback \
                 host or a Unix socket, or add sslmode=disable to the URL for a network you trust",
            ));
        }
        let target = format!(
            "{}/{}",
            hosts
                .iter()
                .map(|h| match h {
                    Host::Tcp(n) => n.clone(),
                    Host::Unix(p) => p.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            config.get_dbname().unwrap_or_default()
        );
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(max_size.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(std::time::Duration::from_secs(60)))
            .create_timeout(Some(std::time::Duration::from_secs(30)))
            .build()
            .map_err(|e| config_error(format!("PostgreSQL pool: {e}")))?;
        Ok(Self {
            pool,
            target: target.into(),
            migrated: Arc::default(),
        })
    }

    /// A connection from the pool.
    pub async fn client(&self) -> Result<PgClient, StoreError> {
        self.pool.get().await.map_err(StoreError::PostgresPool)
    }

    /// The underlying deadpool pool, for components that take one without depending on
    /// sync-core (mail-transport's `SendQueue::postgres`).
    pub fn deadpool(&self) -> &deadpool_postgres::Pool {
        &self.pool
    }

    /// Host(s) and database, for messages (no user, no password).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Brings `component`'s schema to the newest version: `migrations[i]` takes it from
    /// version `i` to `i + 1`. Runs in one transaction under an advisory lock (workers
    /// starting at once migrate once; the others wait and see the result), and only once per
    /// pool and component. A database of a newer version is refused with
    /// [`StoreError::SchemaTooNew`].
    pub async fn migrate(&self, component: &str, migrations: &[&str]) -> Result<(), StoreError> {
        if self.is_migrated(component) {
            return Ok(());
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock(7170650512)", &[])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS conaktiv_schema (
                 component TEXT PRIMARY KEY NOT NULL,
                 version BIGINT NOT NULL
             )",
        )
        .await?;
        let found: i64 = tx
            .query_opt(
                "SELECT version FROM conaktiv_schema WHERE component = $1",
                &[&component],
            )
            .await?
            .map(|r| r.get(0))
            .unwrap_or(0);
        let newest = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
        if found > newest {
            return Err(StoreError::SchemaTooNew {
                found,
                supported: newest,
            });
        }
        if found == newest {
            drop(tx); // nothing to change: roll back, write nothing
            self.mark_migrated(component);
            return Ok(());
        }
        for (i, sql) in migrations
            .iter()
            .enumerate()
            .skip(usize::try_from(found).unwrap_or(0))
        {
            tracing::info!(component, to = i + 1, "migrating PostgreSQL schema");
            tx.batch_execute(sql).await?;
        }
        tx.execute(
            "INSERT INTO conaktiv_schema (component, version) VALUES ($1, $2)
             ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
            &[&component, &newest],
        )
        .await?;
        tx.commit().await?;
        self.mark_migrated(component);
        Ok(())
    }

    fn mark_migrated(&self, component: &str) {
        if let Ok(mut m) = self.migrated.lock() {
            m.insert(component.to_owned());
        }
    }

    fn is_migrated(&self, component: &str) -> bool {
        self.migrated
            .lock()
            .map(|m| m.contains(component))
            .unwrap_or(false)
    }

    /// The schema version of `component` in the database (0: none).
    pub async fn schema_version(&self, component: &str) -> Result<i64, StoreError> {
        let client = self.client().await?;
        let exists: bool = client
            .query_one("SELECT to_regclass('conaktiv_schema') IS NOT NULL", &[])
            .await?
            .get(0);
        if !exists {
            return Ok(0);
        }
        Ok(client
            .query_opt(
                "SELECT version FROM conaktiv_schema WHERE component = $1",
                &[&component],
            )
            .await?
            .map(|r| r.get(0))
            .unwrap_or(0))
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Creates a new, empty database beside the one `url` names (through the same user, who
/// needs `CREATEDB`) and returns the URL of the new one: for tests and benchmarks that each
/// want their own database.
pub async fn create_scratch_database(url: &str) -> Result<String, StoreError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let config = tokio_postgres::Config::from_str(url)
        .map_err(|e| config_error(format!("invalid PostgreSQL URL: {e}")))?;
    let (client, connection) = config.connect(NoTls).await?;
    let driver = tokio::spawn(connection);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let name = format!(
        "conaktiv_t{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    drop(client);
    let _ = driver.await;
    Ok(with_dbname(url, &name))
}

/// `url` with its database name replaced.
fn with_dbname(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let authority_end = base[after_scheme..]
        .find('/')
        .map(|i| after_scheme + i)
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The state store's component name in `conaktiv_schema`.
pub const COMPONENT: &str = "sync_state";

/// Migrations of the state store; index `i` brings the schema from version `i` to `i + 1`.
/// The tables carry the store's scope (one per mailbox and table), as one SQLite file does.
pub const MIGRATIONS: &[&str] = &[
    // 1: pairs, intents, tokens, detaches
    "CREATE TABLE sync_pairs (
         scope TEXT NOT NULL,
         key TEXT NOT NULL,
         local_id TEXT, local_version TEXT,
         remote_id TEXT, remote_version TEXT,
         base TEXT NOT NULL,
         PRIMARY KEY (scope, key)
     );
     CREATE INDEX sync_pairs_local ON sync_pairs (scope, local_id);
     CREATE INDEX sync_pairs_remote ON sync_pairs (scope, remote_id);
     CREATE TABLE sync_intents (
         scope TEXT NOT NULL,
         key TEXT NOT NULL,
         side TEXT NOT NULL,
         source_id TEXT NOT NULL,
         at BIGINT NOT NULL,
         PRIMARY KEY (scope, key)
     );
     CREATE TABLE sync_tokens (
         scope TEXT NOT NULL,
         side TEXT NOT NULL,
         token TEXT NOT NULL,
         PRIMARY KEY (scope, side)
     );
     CREATE TABLE sync_detached (
         scope TEXT NOT NULL,
         key TEXT NOT NULL,
         reason TEXT NOT NULL,
         at BIGINT NOT NULL,
         PRIMARY KEY (scope, key)
     );",
];

/// A state store for one scope in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    scope: String,
}

fn pair_from(row: &tokio_postgres::Row) -> Result<Pair, StoreError> {
    let base: String = row.try_get(5)?;
    pair_from_columns(
        row.try_get(0)?,
        (row.try_get(1)?, row.try_get(2)?),
        (row.try_get(3)?, row.try_get(4)?),
        &base,
    )
}

fn secs(t: Timestamp) -> Result<i64, StoreError> {
    i64::try_from(t.unix_secs()).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn timestamp(v: i64) -> Result<Timestamp, StoreError> {
    Ok(Timestamp::from_unix_secs(
        u64::try_from(v).map_err(|e| StoreError::Corrupt(e.to_string()))?,
    ))
}

impl PgStore {
    /// The store of `scope` (any text: the connector uses the name an SQLite state file
    /// would have); runs the state store's migrations on the pool's first use.
    pub async fn open(pool: &PgPool, scope: impl Into<String>) -> Result<Self, StoreError> {
        pool.migrate(COMPONENT, MIGRATIONS).await?;
        Ok(Self {
            pool: pool.clone(),
            scope: scope.into(),
        })
    }

    /// The scope.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The scopes that have any state (for listing and clean-up tools).
    pub async fn scopes(pool: &PgPool) -> Result<Vec<String>, StoreError> {
        pool.migrate(COMPONENT, MIGRATIONS).await?;
        let client = pool.client().await?;
        let rows = client
            .query(
                "SELECT scope FROM sync_pairs UNION SELECT scope FROM sync_tokens
                 UNION SELECT scope FROM sync_intents ORDER BY 1",
                &[],
            )
            .await?;
        rows.iter()
            .map(|r| r.try_get(0).map_err(StoreError::from))
            .collect()
    }

    /// Whether `scope` holds any state (a pair, a token or an intent), in one query.
    pub async fn exists(pool: &PgPool, scope: &str) -> Result<bool, StoreError> {
        pool.migrate(COMPONENT, MIGRATIONS).await?;
        let client = pool.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM sync_pairs WHERE scope = $1)
                     OR EXISTS (SELECT 1 FROM sync_tokens WHERE scope = $1)
                     OR EXISTS (SELECT 1 FROM sync_intents WHERE scope = $1)",
            )
            .await?;
        Ok(client.query_one(&stmt, &[&scope]).await?.try_get(0)?)
    }

    async fn query_pairs(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Pair>, StoreError> {
        let client = self.pool.client().await?;
        let stmt = client.prepare_cached(sql).await?;
        let rows = client.query(&stmt, params).await?;
        rows.iter().map(pair_from).collect()
    }

    async fn do_pair_count(&self) -> Result<usize, StoreError> {
        let client = self.pool.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT count(*) FROM sync_pairs
                 WHERE scope = $1 AND (local_id IS NOT NULL OR remote_id IS NOT NULL)",
            )
            .await?;
        let n: i64 = client.query_one(&stmt, &[&self.scope]).await?.try_get(0)?;
        usize::try_from(n).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    async fn do_all_pairs(&self) -> Result<Vec<Pair>, StoreError> {
        self.query_pairs(
            &format!("SELECT {PAIR_COLUMNS} FROM sync_pairs WHERE scope = $1 ORDER BY key"),
            &[&self.scope],
        )
        .await
    }

    async fn do_pairs_for(
        &self,
        local_ids: &[Id],
        remote_ids: &[Id],
        keys: &[Key],
    ) -> Result<Vec<Pair>, StoreError> {
        if local_ids.is_empty() && remote_ids.is_empty() && keys.is_empty() {
            return Ok(Vec::new());
        }
        // One statement (`ANY` takes any number of values), each pair once, by key.
        self.query_pairs(
            &format!(
                "SELECT {PAIR_COLUMNS} FROM sync_pairs WHERE scope = $1
                 AND (local_id = ANY($2) OR remote_id = ANY($3) OR key = ANY($4)) ORDER BY key"
            ),
            &[&self.scope, &local_ids, &remote_ids, &keys],
        )
        .await
    }

    async fn do_intents(&self) -> Result<Vec<Intent>, StoreError> {
        let client = self.pool.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT key, side, source_id, at FROM sync_intents WHERE scope = $1 ORDER BY key",
            )
            .await?;
        let rows = client.query(&stmt, &[&self.scope]).await?;
        rows.iter()
            .map(|r| {
                Ok(Intent {
                    key: r.try_get(0)?,
                    on: side_from(r.try_get(1)?)?,
                    source_id: r.try_get(2)?,
                    at: timestamp(r.try_get(3)?)?,
                })
            })
            .collect()
    }

    async fn do_token(&self, side: SideId) -> Result<Option<String>, StoreError> {
        let client = self.pool.client().await?;
        let stmt = client
            .prepare_cached("SELECT token FROM sync_tokens WHERE scope = $1 AND side = $2")
            .await?;
        Ok(client
            .query_opt(&stmt, &[&self.scope, &side.as_str()])
            .await?
            .map(|r| r.try_get(0))
            .transpose()?)
    }

    async fn do_detached(&self) -> Result<Vec<Detached>, StoreError> {
        let client = self.pool.client().await?;
        let stmt = client
            .prepare_cached(
                "SELECT p.key, p.local_id, p.local_version, p.remote_id, p.remote_version,
                        p.base, d.reason, d.at
                 FROM sync_pairs p
                 LEFT JOIN sync_detached d ON d.scope = p.scope AND d.key = p.key
                 WHERE p.scope = $1 AND (p.local_id IS NULL) <> (p.remote_id IS NULL)
                 ORDER BY p.key",
            )
            .await?;
        let rows = client.query(&stmt, &[&self.scope]).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let pair = pair_from(r)?;
            let reason = match r.try_get::<_, Option<String>>(6)? {
                None => DetachReason::Unrecorded,
                Some(c) => DetachReason::from_code(&c)
                    .ok_or_else(|| StoreError::Corrupt(format!("unknown detach reason {c:?}")))?,
            };
            let at = timestamp(r.try_get::<_, Option<i64>>(7)?.unwrap_or(0))?;
            out.extend(detached_of(&pair, reason, at));
        }
        Ok(out)
    }

    async fn do_commit(&self, batch: &StateBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut client = self.pool.client().await?;
        let tx = client.transaction().await?;
        let scope = &self.scope;
        if !batch.remove.is_empty() {
            let del = tx
                .prepare_cached("DELETE FROM sync_pairs WHERE scope = $1 AND key = ANY($2)")
                .await?;
            tx.execute(&del, &[scope, &batch.remove]).await?;
            let undetach = tx
                .prepare_cached("DELETE FROM sync_detached WHERE scope = $1 AND key = ANY($2)")
                .await?;
            tx.execute(&undetach, &[scope, &batch.remove]).await?;
        }
        if !batch.upsert.is_empty() {
            // One statement for the batch: the rows as parallel arrays (the last upsert of a
            // key wins, as with one statement per row).
            let pairs = last_per_key(&batch.upsert, |p| &p.key);
            let mut keys = Vec::with_capacity(pairs.len());
            let mut local_ids = Vec::with_capacity(pairs.len());
            let mut local_versions = Vec::with_capacity(pairs.len());
            let mut remote_ids = Vec::with_capacity(pairs.len());
            let mut remote_versions = Vec::with_capacity(pairs.len());
            let mut bases = Vec::with_capacity(pairs.len());
            let mut reattached: Vec<&str> = Vec::new();
            for p in pairs {
                keys.push(p.key.as_str());
                local_ids.push(p.local.as_ref().map(|a| a.id.as_str()));
                local_versions.push(p.local.as_ref().map(|a| a.version.as_str()));
                remote_ids.push(p.remote.as_ref().map(|a| a.id.as_str()));
                remote_versions.push(p.remote.as_ref().map(|a| a.version.as_str()));
                bases.push(
                    serde_json::to_string(&p.base)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                );
                if p.local.is_some() == p.remote.is_some() {
                    reattached.push(&p.key);
                }
            }
            let up = tx
                .prepare_cached(
                    "INSERT INTO sync_pairs
                     (scope, key, local_id, local_version, remote_id, remote_version, base)
                     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[],
                                              $6::text[], $7::text[])
                     ON CONFLICT (scope, key) DO UPDATE SET
                       local_id = EXCLUDED.local_id, local_version = EXCLUDED.local_version,
                       remote_id = EXCLUDED.remote_id, remote_version = EXCLUDED.remote_version,
                       base = EXCLUDED.base",
                )
                .await?;
            tx.execute(
                &up,
                &[
                    scope,
                    &keys,
                    &local_ids,
                    &local_versions,
                    &remote_ids,
                    &remote_versions,
                    &bases,
                ],
            )
            .await?;
            if !reattached.is_empty() {
                let undetach = tx
                    .prepare_cached("DELETE FROM sync_detached WHERE scope = $1 AND key = ANY($2)")
                    .await?;
                tx.execute(&undetach, &[scope, &reattached]).await?;
            }
        }
        if !batch.detach.is_empty() {
            let detached = last_per_key(&batch.detach, |d| &d.key);
            let keys: Vec<&str> = detached.iter().map(|d| d.key.as_str()).collect();
            let reasons: Vec<&str> = detached.iter().map(|d| d.reason.code()).collect();
            let ats = detached
                .iter()
                .map(|d| secs(d.at))
                .collect::<Result<Vec<i64>, _>>()?;
            let detach = tx
                .prepare_cached(
                    "INSERT INTO sync_detached (scope, key, reason, at)
                     SELECT $1, u.key, u.reason, u.at
                     FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(key, reason, at)
                     WHERE EXISTS (SELECT 1 FROM sync_pairs p WHERE p.scope = $1 AND p.key = u.key)
                     ON CONFLICT (scope, key) DO UPDATE SET
                       reason = EXCLUDED.reason, at = EXCLUDED.at",
                )
                .await?;
            tx.execute(&detach, &[scope, &keys, &reasons, &ats]).await?;
        }
        if !batch.add_intents.is_empty() {
            let intents = last_per_key(&batch.add_intents, |i| &i.key);
            let keys: Vec<&str> = intents.iter().map(|i| i.key.as_str()).collect();
            let sides: Vec<&str> = intents.iter().map(|i| i.on.as_str()).collect();
            let sources: Vec<&str> = intents.iter().map(|i| i.source_id.as_str()).collect();
            let ats = intents
                .iter()
                .map(|i| secs(i.at))
                .collect::<Result<Vec<i64>, _>>()?;
            let add = tx
                .prepare_cached(
                    "INSERT INTO sync_intents (scope, key, side, source_id, at)
                     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[])
                     ON CONFLICT (scope, key) DO UPDATE SET side = EXCLUDED.side,
                       source_id = EXCLUDED.source_id, at = EXCLUDED.at",
                )
                .await?;
            tx.execute(&add, &[scope, &keys, &sides, &sources, &ats])
                .await?;
        }
        if !batch.clear_intents.is_empty() {
            let clear = tx
                .prepare_cached("DELETE FROM sync_intents WHERE scope = $1 AND key = ANY($2)")
                .await?;
            tx.execute(&clear, &[scope, &batch.clear_intents]).await?;
        }
        for (side, token) in &batch.tokens {
            match token {
                Some(t) => {
                    let set = tx
                        .prepare_cached(
                            "INSERT INTO sync_tokens (scope, side, token) VALUES ($1, $2, $3)
                             ON CONFLICT (scope, side) DO UPDATE SET token = EXCLUDED.token",
                        )
                        .await?;
                    tx.execute(&set, &[scope, &side.as_str(), t]).await?;
                }
                None => {
                    let del = tx
                        .prepare_cached("DELETE FROM sync_tokens WHERE scope = $1 AND side = $2")
                        .await?;
                    tx.execute(&del, &[scope, &side.as_str()]).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The last element of each key, in the order of their first appearance: an
/// `INSERT … ON CONFLICT` must not meet one key twice.
fn last_per_key<T>(items: &[T], key: impl Fn(&T) -> &str) -> Vec<&T> {
    let mut at: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut out: Vec<&T> = Vec::with_capacity(items.len());
    for item in items {
        match at.get(key(item)) {
            Some(&i) => out[i] = item,
            None => {
                at.insert(key(item), out.len());
                out.push(item);
            }
        }
    }
    out
}

impl AsyncStateStore for PgStore {
    fn pair_count(&mut self) -> impl Future<Output = Result<usize, StoreError>> + Send {
        self.do_pair_count()
    }
    fn all_pairs(&mut self) -> impl Future<Output = Result<Vec<Pair>, StoreError>> + Send {
        self.do_all_pairs()
    }
    fn pairs_for(
        &mut self,
        local_ids: &[Id],
        remote_ids: &[Id],
        keys: &[Key],
    ) -> impl Future<Output = Result<Vec<Pair>, StoreError>> + Send {
        self.do_pairs_for(local_ids, remote_ids, keys)
    }
    fn intents(&mut self) -> impl Future<Output = Result<Vec<Intent>, StoreError>> + Send {
        self.do_intents()
    }
    fn token(
        &mut self,
        side: SideId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        self.do_token(side)
    }
    fn commit(
        &mut self,
        batch: &StateBatch,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        self.do_commit(batch)
    }
    fn detached(&mut self) -> impl Future<Output = Result<Vec<Detached>, StoreError>> + Send {
        self.do_detached()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbname_is_replaced() {
        assert_eq!(
            with_dbname("postgres://u:p@127.0.0.1:5432/db?sslmode=disable", "x"),
            "postgres://u:p@127.0.0.1:5432/x?sslmode=disable"
        );
        assert_eq!(with_dbname("postgres://u@h", "x"), "postgres://u@h/x");
    }

    #[test]
    fn remote_hosts_need_an_explicit_sslmode_disable() {
        let e = PgPool::connect("postgres://u@db.example.com/x", None, 2).unwrap_err();
        assert!(matches!(e, StoreError::Config(_)), "{e}");
        PgPool::connect("postgres://u@db.example.com/x?sslmode=disable", None, 2).unwrap();
        PgPool::connect("postgres://u@127.0.0.1:5/x", None, 2).unwrap();
        PgPool::connect("postgres://u@[::1]:5/x", None, 2).unwrap();
        let e = PgPool::connect("not a url", None, 2).unwrap_err();
        assert!(matches!(e, StoreError::Config(_)));
    }

    #[test]
    fn debug_shows_no_password() {
        let p = PgPool::connect("postgres://u:hunter2@127.0.0.1/x", Some("s3cret"), 2).unwrap();
        let d = format!("{p:?}");
        assert!(!d.contains("hunter2") && !d.contains("s3cret"), "{d}");
        assert!(d.contains("127.0.0.1/x"), "{d}");
    }
}
