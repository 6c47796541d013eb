//! Moving a mailbox's sync state from EWS to Microsoft Graph (`migrate-to-graph`).
//!
//! Exchange Online switches EWS off on 1 April 2027. A mailbox that synced through EWS has
//! one EWS state file per table ([`crate::service::Connector::state_path`]): its pairs name
//! each Exchange item by its EWS `ItemId`. The Graph backend keeps its own state file
//! ([`crate::service::Connector::graph_state_path`]) whose pairs name each item by its Graph
//! immutable id. [`migrate_mailbox`] writes that file from the EWS one, so the first Graph run
//! re-creates nothing, loses no link and no CRM field:
//!
//! * **Ids**: every EWS id of the state is translated with `translateExchangeIds` (`ewsId` to
//!   `restImmutableEntryId`, 1,000 per call) and checked against the mailbox over Graph: the
//!   item must exist. Contacts (every contact folder), events (every calendar: single events
//!   and series masters) and To Do tasks (every list) are listed once with the correlation
//!   key; mail is read item by item (a mailbox holds years of mail).
//! * **By key**: a pair whose id does not translate, or whose item no longer exists under the
//!   translated id, is looked up by its correlation key: the `ConAktivRecordId` extended
//!   property (contacts, events, mail: the listings above, for mail a `$filter` in every mail
//!   folder), or for tasks the linked resource of application `ConAktiv` with the key. Found:
//!   re-paired under that item's id. Not found: the pair is kept *detached* from Exchange
//!   (its CRM anchor, key and base stay, so the CRM record is neither deleted nor created
//!   again; `sync --reattach` writes it back) and reported unmatched, with the reason.
//! * **Versions**: the remote version is the item's Graph `changeKey` when it equals the
//!   EWS `ChangeKey` the pair last agreed on (Exchange keeps one change key for both APIs),
//!   otherwise empty: the item changed since the last EWS run, and the engine fetches it and
//!   compares it field by field with the pair's base, so the change is not lost. To Do
//!   tasks always get an empty version: a task's `@odata.etag` is not an EWS change key in
//!   Exchange Online, so the first Graph run reads each task once (and writes nothing when
//!   its fields equal the base).
//! * **Tasks**: To Do tasks have no extended properties, so over Graph a task carries its key
//!   as a linked resource ([`key::linked_resource`]). The migration adds it to every paired
//!   task that lacks it: the only write it makes on Exchange, and idempotent (a task with a
//!   `ConAktiv` linked resource is left alone). In the mock a task's EWS id translates like
//!   any item id. In Exchange Online, `translateExchangeIds` also converts a task item's EWS
//!   id, but the To Do API addresses tasks by their own ids; a task whose translated id is
//!   not among the To Do listings is then found by its linked resource if it has one, else
//!   reported unmatched.
//! * **Copied unchanged**: CRM anchors, keys, bases, pairs without an Exchange anchor
//!   (tombstones, pairs detached from Exchange), recorded detaches, the CRM side's
//!   change-feed token, intents (a create intent's EWS source id translated). The Exchange
//!   change-feed token is not copied: the first Graph run lists in full (through delta) and
//!   reconciles.
//!
//! **Never**: an item created or deleted on either side; the EWS state file modified (it is
//! read through a read-only connection and copied with `VACUUM INTO`; it stays the rollback:
//! delete the Graph state and set the server back to `api = "ews"`).
//!
//! **Resumable**: the Graph state is written to `<graph state>.migrating` and renamed into
//! place at the end; a migration that fails removes it, and one that was killed leaves it for
//! the next attempt to remove first, so a migration interrupted at any point and run again
//! gives the same Graph state (the linked resources an interrupted run added are found and
//! not added twice). `CONAKTIV_MIGRATE_PAUSE_MS` (a test hook) makes it wait that long after
//! its Graph reads and writes, before the Graph state is committed. An existing Graph state is left
//! alone ([`MigrateError::GraphStateExists`], reported as already migrated) unless
//! [`MigrateOptions::force`]: then it is replaced by a fresh migration from the EWS state
//! (what the Graph runs since recorded is dropped; their pairs are found again by key).
//!
//! **Dry run** ([`MigrateOptions::dry_run`]): the same reads, the counts of what would be
//! translated, re-paired by key or left unmatched (each with why) and of the linked resources
//! that would be added; nothing is written, on Exchange or on disk.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use conaktiv_model::config::SyncTable;
use graph_client::translate::{ExchangeIdFormat, MAX_IDS};
use graph_client::{ListOptions, Mailbox};
use serde::Serialize;
use sync_core::{Anchor, DynStateStore, Intent, Pair, SideId, SqliteStore, StateBatch, StateStore};

use crate::mapping::key;
use crate::rules::table_name;
use crate::scheduler::Leased;
use crate::service::{Connector, ServiceError};
use crate::state::StateStores;

/// How to migrate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Read and report only; write nothing (no Graph state, no linked resource).
    pub dry_run: bool,
    /// Replace a Graph state that already exists (a fresh migration from the EWS state).
    pub force: bool,
}

/// Why a migration of one mailbox and table failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    /// The Graph state exists already (and [`MigrateOptions::force`] was not given).
    #[error("the Graph state {} exists already (use --force to migrate again)", .0.display())]
    GraphStateExists(PathBuf),
    /// There is no EWS state to migrate.
    #[error("no EWS state {}", .0.display())]
    NoEwsState(PathBuf),
    /// Reading the EWS state failed.
    #[error("reading the EWS state {}: {source}", .path.display())]
    EwsState {
        /// The EWS state file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// Writing the Graph state failed.
    #[error("writing the Graph state: {0}")]
    Store(#[from] sync_core::StoreError),
    /// A file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A Microsoft Graph call failed.
    #[error("Microsoft Graph: {0}")]
    Graph(#[from] graph_client::Error),
    /// The configuration does not allow the migration (no server, an on-premises server, ...).
    #[error("configuration: {0}")]
    Configuration(String),
    /// The temporary Graph state could not be finished.
    #[error("finishing the Graph state {}: {source}", .path.display())]
    GraphStateFile {
        /// The file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// Another run holds the mailbox and table.
    #[error("another run ({0}) is working on this mailbox and table")]
    Busy(String),
}

impl MigrateError {
    /// Whether a later attempt may succeed (throttling, a dropped connection, a busy lease).
    pub fn is_transient(&self) -> bool {
        match self {
            MigrateError::Graph(e) => e.is_transient() || e.is_throttled(),
            MigrateError::Busy(_) => true,
            _ => false,
        }
    }
}

/// A pair the migration could not match to an item over Graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unmatched {
    /// The pair's correlation key (the CRM record id).
    pub key: String,
    /// The item's EWS id in the EWS state.
    pub ews_id: String,
    /// Why: the id did not translate (with Graph's error code) or names no item any more,
    /// and no item carries the key.
    pub reason: String,
}

/// What happened to one mailbox and table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The Graph state was written.
    Migrated,
    /// Dry run: nothing was written.
    DryRun,
    /// The Graph state existed already; nothing was done.
    AlreadyMigrated,
    /// The mailbox never synced this table over EWS; the first Graph run starts afresh.
    NoEwsState,
    /// The mailbox stays on EWS (its server is on premises or set to `api = "ews"`).
    StaysOnEws,
    /// The migration failed (see [`TableMigration::error`]); nothing was written to disk.
    Failed,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Migrated => "migrated",
            Outcome::DryRun => "dry run",
            Outcome::AlreadyMigrated => "already migrated",
            Outcome::NoEwsState => "no EWS state",
            Outcome::StaysOnEws => "stays on EWS",
            Outcome::Failed => "FAILED",
        }
    }
}

/// The migration of one mailbox and table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableMigration {
    /// The mailbox.
    pub mailbox: String,
    /// The table (`contacts`, `appointments`, `tasks`, `email`).
    pub table: &'static str,
    /// What happened.
    pub outcome: Outcome,
    /// Pairs in the EWS state.
    pub pairs: usize,
    /// Pairs whose EWS id translated to an existing item.
    pub translated: usize,
    /// Pairs re-paired by their key (id not translatable or item gone under it).
    pub repaired_by_key: usize,
    /// Pairs without an Exchange anchor, copied as they are.
    pub copied: usize,
    /// Pairs left unmatched (kept detached from Exchange), each with why.
    pub unmatched: Vec<Unmatched>,
    /// Linked resources added to tasks (in a dry run: that would be added).
    pub linked_resources_added: usize,
    /// The Graph state file.
    pub graph_state: PathBuf,
    /// Why the migration failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TableMigration {
    /// An entry with no counts.
    pub fn new(mailbox: &str, table: SyncTable, graph_state: &Path, outcome: Outcome) -> Self {
        Self {
            mailbox: mailbox.to_owned(),
            table: table_name(table),
            outcome,
            pairs: 0,
            translated: 0,
            repaired_by_key: 0,
            copied: 0,
            unmatched: Vec::new(),
            linked_resources_added: 0,
            graph_state: graph_state.to_owned(),
            error: None,
        }
    }

    /// A failed entry.
    pub fn failed(mailbox: &str, table: SyncTable, graph_state: &Path, error: String) -> Self {
        let mut t = Self::new(mailbox, table, graph_state, Outcome::Failed);
        t.error = Some(error);
        t
    }

    /// Whether this entry needs the admin's attention (unmatched pairs or a failure).
    pub fn needs_attention(&self) -> bool {
        self.outcome == Outcome::Failed || !self.unmatched.is_empty()
    }
}

/// The report of a migration: one entry per mailbox and table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationReport {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The mailboxes and tables.
    pub tables: Vec<TableMigration>,
}

impl MigrationReport {
    /// Whether everything was matched and nothing failed (exit code 0).
    pub fn is_clean(&self) -> bool {
        !self.tables.iter().any(TableMigration::needs_attention)
    }

    /// The process exit code: 0 when clean, 2 when something is unmatched or failed.
    pub fn exit_code(&self) -> i32 {
        if self.is_clean() { 0 } else { 2 }
    }
}

impl std::fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.dry_run {
            writeln!(f, "Dry run: nothing was written.")?;
        }
        if self.tables.is_empty() {
            writeln!(f, "No mailbox to migrate.")?;
        }
        for t in &self.tables {
            write!(f, "{} {}: {}", t.mailbox, t.table, t.outcome.label())?;
            if matches!(t.outcome, Outcome::Migrated | Outcome::DryRun) {
                let verb = if self.dry_run { "would be " } else { "" };
                write!(
                    f,
                    "; {} pairs: {} {verb}translated, {} {verb}re-paired by key, {} {verb}copied \
                     without an Exchange item, {} unmatched",
                    t.pairs,
                    t.translated,
                    t.repaired_by_key,
                    t.copied,
                    t.unmatched.len()
                )?;
                if t.linked_resources_added > 0 {
                    let added = if self.dry_run { "to add" } else { "added" };
                    write!(f, "; {} task links {added}", t.linked_resources_added)?;
                }
            }
            if let Some(e) = &t.error {
                write!(f, ": {e}")?;
            }
            writeln!(f)?;
            for u in &t.unmatched {
                writeln!(f, "  unmatched {}: {}", u.key, u.reason)?;
            }
        }
        Ok(())
    }
}

/// An Exchange item as Graph lists it.
#[derive(Debug, Clone)]
struct Found {
    id: String,
    change_key: Option<String>,
    key: Option<String>,
    /// To Do: the list holding the task, and whether it has a `ConAktiv` linked resource.
    list: Option<String>,
    linked: bool,
}

/// What the mailbox holds over Graph for one table.
#[derive(Debug, Default)]
struct Inventory {
    by_id: HashMap<String, Found>,
    by_key: BTreeMap<String, Vec<String>>,
}

impl Inventory {
    fn add(&mut self, found: Found) {
        if let Some(k) = &found.key {
            let ids = self.by_key.entry(k.clone()).or_default();
            if !ids.contains(&found.id) {
                ids.push(found.id.clone());
            }
        }
        self.by_id.insert(found.id.clone(), found);
    }
}

fn key_options() -> ListOptions {
    ListOptions::default().expand(graph_client::extended::expand(&[&key::graph_property()]))
}

async fn contacts_inventory(graph: &Mailbox) -> Result<Inventory, MigrateError> {
    let mut inv = Inventory::default();
    let options = key_options();
    let mut folders: Vec<String> = Vec::new();
    let mut queue: Vec<String> = graph
        .contact_folders()
        .await?
        .into_iter()
        .filter_map(|f| f.id)
        .collect();
    while let Some(id) = queue.pop() {
        if folders.contains(&id) {
            continue;
        }
        for child in graph.contact_child_folders(&id).await? {
            if let Some(c) = child.id {
                queue.push(c);
            }
        }
        folders.push(id);
    }
    let mut listings = vec![graph.contacts(None, &options).await?];
    for f in &folders {
        listings.push(graph.contacts(Some(f), &options).await?);
    }
    for c in listings.into_iter().flatten() {
        if let Some(id) = c.id {
            inv.add(Found {
                id,
                change_key: c.change_key,
                key: key::graph_record_id(c.single_value_extended_properties.as_deref()),
                list: None,
                linked: false,
            });
        }
    }
    Ok(inv)
}

async fn events_inventory(graph: &Mailbox) -> Result<Inventory, MigrateError> {
    let mut inv = Inventory::default();
    let options = key_options();
    for cal in graph.calendars().await? {
        let Some(cal_id) = cal.id else { continue };
        for e in graph.events(Some(&cal_id), &options).await? {
            if let Some(id) = e.id {
                inv.add(Found {
                    id,
                    change_key: e.change_key,
                    key: key::graph_record_id(e.single_value_extended_properties.as_deref()),
                    list: None,
                    linked: false,
                });
            }
        }
    }
    Ok(inv)
}

async fn tasks_inventory(graph: &Mailbox) -> Result<Inventory, MigrateError> {
    let mut inv = Inventory::default();
    let options = ListOptions::default().expand("linkedResources");
    for list in graph.todo_lists().await? {
        let Some(list_id) = list.id else { continue };
        for t in graph.tasks(&list_id, &options).await? {
            if let Some(id) = t.id {
                let key = key::linked_record_id(t.linked_resources.as_deref());
                inv.add(Found {
                    id,
                    change_key: None,
                    linked: key.is_some(),
                    key,
                    list: Some(list_id.clone()),
                });
            }
        }
    }
    Ok(inv)
}

/// Every mail folder of the mailbox (depth first).
async fn mail_folders(graph: &Mailbox) -> Result<Vec<String>, MigrateError> {
    let mut out: Vec<String> = Vec::new();
    let mut queue: Vec<String> = graph
        .mail_folders()
        .await?
        .into_iter()
        .filter_map(|f| f.id)
        .collect();
    while let Some(id) = queue.pop() {
        if out.contains(&id) {
            continue;
        }
        for child in graph.mail_child_folders(&id).await? {
            if let Some(c) = child.id {
                queue.push(c);
            }
        }
        out.push(id);
    }
    Ok(out)
}

/// A message by its Graph id; `None` when it does not exist.
async fn message(graph: &Mailbox, id: &str) -> Result<Option<Found>, MigrateError> {
    match graph.message(id, &key_options()).await {
        Ok(m) => Ok(m.id.map(|id| Found {
            id,
            change_key: m.change_key,
            key: key::graph_record_id(m.single_value_extended_properties.as_deref()),
            list: None,
            linked: false,
        })),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The messages carrying `record` as their key, in every mail folder.
async fn messages_by_key(
    graph: &Mailbox,
    folders: &[String],
    record: &str,
) -> Result<Vec<Found>, MigrateError> {
    let options = key_options().filter(graph_client::extended::filter_eq(
        &key::graph_property(),
        record,
    ));
    let mut out = Vec::new();
    for f in folders {
        for m in graph.messages(f, &options).await? {
            if let Some(id) = m.id {
                out.push(Found {
                    id,
                    change_key: m.change_key,
                    key: key::graph_record_id(m.single_value_extended_properties.as_deref()),
                    list: None,
                    linked: false,
                });
            }
        }
    }
    Ok(out)
}

/// The translations of EWS ids: Graph id, or Graph's error code.
async fn translate(
    graph: &Mailbox,
    ids: &[String],
) -> Result<HashMap<String, Result<String, String>>, MigrateError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(MAX_IDS) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let results = graph
            .translate_exchange_ids(
                &refs,
                ExchangeIdFormat::EwsId,
                ExchangeIdFormat::RestImmutableEntryId,
            )
            .await?;
        for (source, r) in chunk.iter().zip(results) {
            let value = match (r.target_id, r.error_details) {
                (Some(t), _) if !t.trim().is_empty() => Ok(t),
                (_, Some(e)) => Err(e.code.unwrap_or_else(|| "unknown error".into())),
                _ => Err("no id returned".into()),
            };
            out.insert(source.clone(), value);
        }
    }
    Ok(out)
}

/// The EWS state as read for the migration.
struct EwsState {
    pairs: Vec<Pair>,
    intents: Vec<Intent>,
}

/// Opens the EWS state read-only (the file is never written).
fn open_ews(path: &Path) -> Result<rusqlite::Connection, MigrateError> {
    let err = |source| MigrateError::EwsState {
        path: path.to_owned(),
        source,
    };
    let conn = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    conn.busy_timeout(sync_core::BUSY_TIMEOUT).map_err(err)?;
    Ok(conn)
}

/// Reads the pairs and intents of the EWS state through a read-only connection (dry run).
fn read_ews(path: &Path) -> Result<EwsState, MigrateError> {
    let err = |source| MigrateError::EwsState {
        path: path.to_owned(),
        source,
    };
    let mut conn = open_ews(path)?;
    let tx = conn.transaction().map_err(err)?;
    let rows: Vec<RowPair> = {
        let mut stmt = tx
            .prepare(
                "SELECT key, local_id, local_version, remote_id, remote_version, base \
                 FROM pairs ORDER BY key",
            )
            .map_err(err)?;
        stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .map_err(err)?
        .collect::<Result<_, _>>()
        .map_err(err)?
    };
    let mut pairs = Vec::with_capacity(rows.len());
    for (key, lid, lver, rid, rver, base) in rows {
        let base = serde_json::from_str(&base).map_err(|e| {
            MigrateError::Store(sync_core::StoreError::Corrupt(format!(
                "base of pair {key:?}: {e}"
            )))
        })?;
        let anchor = |id: Option<String>, v: Option<String>| {
            id.map(|id| Anchor {
                id,
                version: v.unwrap_or_default(),
            })
        };
        pairs.push(Pair {
            key,
            local: anchor(lid, lver),
            remote: anchor(rid, rver),
            base,
        });
    }
    let intents: Vec<(String, String, String, i64)> = {
        let mut stmt = tx
            .prepare("SELECT key, side, source_id, at FROM intents ORDER BY key")
            .map_err(err)?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?
    };
    let intents = intents
        .into_iter()
        .map(|(key, side, source_id, at)| Intent {
            key,
            on: if side == "local" {
                SideId::Local
            } else {
                SideId::Remote
            },
            source_id,
            at: sync_core::Timestamp::from_unix_secs(u64::try_from(at).unwrap_or_default()),
        })
        .collect();
    Ok(EwsState { pairs, intents })
}

type RowPair = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
);

/// The temporary file the Graph state is built in.
pub fn temporary_path(graph_state: &Path) -> PathBuf {
    let mut name = graph_state.as_os_str().to_owned();
    name.push(".migrating");
    PathBuf::from(name)
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> MigrateError {
    let what = what.into();
    move |source| MigrateError::Io { what, source }
}

/// Removes a database file and its `-wal`/`-shm` companions if present.
fn remove_database(path: &Path) -> Result<(), MigrateError> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let p = PathBuf::from(name);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(format!("removing {}", p.display()))(e)),
        }
    }
    Ok(())
}

/// Copies the EWS state into `tmp` (a consistent snapshot through a read-only connection).
fn copy_ews(ews: &Path, tmp: &Path) -> Result<(), MigrateError> {
    remove_database(tmp)?;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(tmp)
        .map_err(io(format!("creating {}", tmp.display())))?;
    let conn = open_ews(ews)?;
    let target = tmp.to_string_lossy().into_owned();
    conn.execute("VACUUM INTO ?1", [target])
        .map_err(|source| MigrateError::EwsState {
            path: ews.to_owned(),
            source,
        })?;
    Ok(())
}

/// Test hook: `CONAKTIV_MIGRATE_PAUSE_MS` makes the migration wait this long after it read
/// Graph and before it commits the Graph state (so a test can kill it mid-run).
fn test_pause() -> Option<std::time::Duration> {
    std::env::var("CONAKTIV_MIGRATE_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(std::time::Duration::from_millis)
}

/// Migrates the EWS state of one mailbox and table to a Graph state (see the module docs).
/// `graph` is the mailbox over Graph, `ews_state` the EWS state file (only read),
/// `graph_state` the Graph state file to write. The caller keeps other runs off the mailbox
/// and table meanwhile ([`crate::service::Connector::migrate_to_graph`] holds its lease).
pub async fn migrate_mailbox(
    graph: &Mailbox,
    ews_state: &Path,
    graph_state: &Path,
    table: SyncTable,
    options: MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    let result = migrate_inner(graph, ews_state, graph_state, table, options).await;
    if result.is_err() && !options.dry_run {
        // A failed migration leaves nothing behind (a crash leaves the temporary file, which
        // the next attempt removes).
        let tmp = temporary_path(graph_state);
        if let Err(e) = remove_database(&tmp) {
            tracing::warn!(error = %e, "cannot remove the temporary Graph state");
        }
    }
    result
}

/// The migration's phases: read the EWS state, read what the mailbox holds over Graph, map
/// each pair onto it, then (unless a dry run) write the linked resources and the Graph
/// state.
async fn migrate_inner(
    graph: &Mailbox,
    ews_state: &Path,
    graph_state: &Path,
    table: SyncTable,
    options: MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    let mut entry = TableMigration::new(
        graph.user(),
        table,
        graph_state,
        if options.dry_run {
            Outcome::DryRun
        } else {
            Outcome::Migrated
        },
    );
    let tmp = temporary_path(graph_state);
    let (state, store) = read_state(ews_state, graph_state, &tmp, options)?;
    entry.pairs = state.pairs.len();
    let mut view = GraphView::read(graph, table, &state).await?;
    let migration = migrate_pairs(&state, table, &mut view, &mut entry).await?;
    entry.linked_resources_added = migration.links.len();
    if !options.dry_run {
        write_graph_state(graph, &migration, store, &tmp, graph_state).await?;
    }
    Ok(MigrationReport {
        dry_run: options.dry_run,
        tables: vec![entry],
    })
}

/// Checks the state files and reads the EWS state. Dry run: through a read-only connection.
/// Otherwise: from a snapshot in the temporary file `tmp`, which becomes the Graph state
/// (its store is returned).
fn read_state(
    ews_state: &Path,
    graph_state: &Path,
    tmp: &Path,
    options: MigrateOptions,
) -> Result<(EwsState, Option<SqliteStore>), MigrateError> {
    if !ews_state.exists() {
        return Err(MigrateError::NoEwsState(ews_state.to_owned()));
    }
    if graph_state.exists() && !options.force {
        return Err(MigrateError::GraphStateExists(graph_state.to_owned()));
    }
    if options.dry_run {
        return Ok((read_ews(ews_state)?, None));
    }
    copy_ews(ews_state, tmp)?;
    let store = SqliteStore::open(tmp)?;
    let state = EwsState {
        pairs: store.all_pairs()?,
        intents: store.intents()?,
    };
    Ok((state, Some(store)))
}

/// What the migration knows of the mailbox over Graph, and how it finds a pair's item there.
struct GraphView<'g> {
    graph: &'g Mailbox,
    /// The table's items; `None` for mail, which is not listed.
    listed: Option<Inventory>,
    /// Per EWS id of the state: the Graph id, or Graph's error code.
    translated: HashMap<String, Result<String, String>>,
    /// Mail: each translated message, read once.
    messages: HashMap<String, Option<Found>>,
    /// Mail: the folders searched for a key, read when first needed.
    mail_folders: Option<Vec<String>>,
}

/// Where a pair's item was found over Graph.
enum Located {
    /// Under its translated EWS id.
    Translated(Found),
    /// As the only item carrying the pair's key.
    ByKey(Found),
    /// Nowhere (or ambiguously): why.
    Unmatched(String),
}

impl<'g> GraphView<'g> {
    /// Lists the table's items (mail: reads each translated message) and translates the
    /// state's EWS ids.
    async fn read(
        graph: &'g Mailbox,
        table: SyncTable,
        state: &EwsState,
    ) -> Result<Self, MigrateError> {
        let listed = match table {
            SyncTable::Contacts => Some(contacts_inventory(graph).await?),
            SyncTable::Appointments => Some(events_inventory(graph).await?),
            SyncTable::Tasks => Some(tasks_inventory(graph).await?),
            SyncTable::Email => None,
        };
        let translated = translate(graph, &ews_ids(state)).await?;
        let messages = if listed.is_none() {
            translated_messages(graph, &translated).await?
        } else {
            HashMap::new()
        };
        Ok(Self {
            graph,
            listed,
            translated,
            messages,
            mail_folders: None,
        })
    }

    /// Finds the item of the pair `key` whose EWS id was `ews_id`: under its translated id,
    /// else by the key it carries.
    async fn locate(&mut self, key: &str, ews_id: &str) -> Result<Located, MigrateError> {
        let translation = self.translated.get(ews_id).cloned();
        let by_id = match (&translation, &self.listed) {
            (Some(Ok(gid)), Some(inv)) => inv.by_id.get(gid).cloned(),
            (Some(Ok(gid)), None) => self.messages.get(gid).cloned().flatten(),
            _ => None,
        };
        if let Some(found) = by_id {
            return Ok(Located::Translated(found));
        }
        let candidates = self.carrying_key(key).await?;
        Ok(located_by_key(translation.as_ref(), candidates, key))
    }

    /// The items carrying `key`.
    async fn carrying_key(&mut self, key: &str) -> Result<Vec<Found>, MigrateError> {
        if let Some(inv) = &self.listed {
            return Ok(inv
                .by_key
                .get(key)
                .into_iter()
                .flatten()
                .filter_map(|id| inv.by_id.get(id).cloned())
                .collect());
        }
        if self.mail_folders.is_none() {
            self.mail_folders = Some(mail_folders(self.graph).await?);
        }
        let folders = self.mail_folders.as_deref().unwrap_or_default();
        messages_by_key(self.graph, folders, key).await
    }
}

/// The EWS ids the migration translates: the paired Exchange items and the sources of the
/// journaled creates on the CRM side.
fn ews_ids(state: &EwsState) -> Vec<String> {
    let mut ids: Vec<String> = state
        .pairs
        .iter()
        .filter_map(|p| p.remote.as_ref().map(|a| a.id.clone()))
        .collect();
    ids.extend(
        state
            .intents
            .iter()
            .filter(|i| i.on == SideId::Local)
            .map(|i| i.source_id.clone()),
    );
    ids.sort();
    ids.dedup();
    ids
}

/// Mail: each translated message read once, up to Graph's 4 requests per mailbox at once.
async fn translated_messages(
    graph: &Mailbox,
    translated: &HashMap<String, Result<String, String>>,
) -> Result<HashMap<String, Option<Found>>, MigrateError> {
    use futures::StreamExt;
    let ids: Vec<String> = translated
        .values()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    let read: Vec<(String, Result<Option<Found>, MigrateError>)> = futures::stream::iter(ids)
        .map(|id| async move {
            let found = message(graph, &id).await;
            (id, found)
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let mut messages = HashMap::new();
    for (id, found) in read {
        messages.insert(id, found?);
    }
    Ok(messages)
}

/// The decision once the translated id found nothing: the one item carrying the key, or
/// why the pair stays unmatched (`translation` is its EWS id's translation, if any).
fn located_by_key(
    translation: Option<&Result<String, String>>,
    candidates: Vec<Found>,
    key: &str,
) -> Located {
    let why_not = match translation {
        Some(Ok(_)) => "its item no longer exists under the translated id".to_owned(),
        Some(Err(code)) => format!("its EWS id does not translate ({code})"),
        None => "its EWS id was not translated".to_owned(),
    };
    match candidates.len() {
        1 => match candidates.into_iter().next() {
            Some(found) => Located::ByKey(found),
            None => Located::Unmatched(why_not),
        },
        0 => Located::Unmatched(format!(
            "{why_not}, and no item in the mailbox carries the key {key}; \
             kept detached from Exchange (the CRM record is kept)"
        )),
        n => Located::Unmatched(format!(
            "{why_not}, and {n} items carry the key {key}; kept detached \
             from Exchange until one is removed"
        )),
    }
}

/// The Graph state's changes and the tasks that need their key as a linked resource
/// (list, task id, key).
struct Migration {
    batch: StateBatch,
    links: Vec<(String, String, String)>,
}

/// Maps each pair and journaled create of the EWS state onto the mailbox over Graph,
/// counting in `entry`.
async fn migrate_pairs(
    state: &EwsState,
    table: SyncTable,
    view: &mut GraphView<'_>,
    entry: &mut TableMigration,
) -> Result<Migration, MigrateError> {
    let mut migration = Migration {
        batch: StateBatch {
            tokens: vec![(SideId::Remote, None)],
            ..StateBatch::default()
        },
        links: Vec::new(),
    };
    for pair in &state.pairs {
        let Some(remote) = &pair.remote else {
            entry.copied += 1;
            continue;
        };
        let mut new = pair.clone();
        new.remote = match view.locate(&pair.key, &remote.id).await? {
            Located::Translated(found) => {
                entry.translated += 1;
                Some(graph_anchor(
                    found,
                    table,
                    pair,
                    remote,
                    &mut migration.links,
                ))
            }
            Located::ByKey(found) => {
                entry.repaired_by_key += 1;
                Some(graph_anchor(
                    found,
                    table,
                    pair,
                    remote,
                    &mut migration.links,
                ))
            }
            Located::Unmatched(reason) => {
                entry.unmatched.push(Unmatched {
                    key: pair.key.clone(),
                    ews_id: remote.id.clone(),
                    reason,
                });
                migration.batch.detach.extend(detached(pair));
                None
            }
        };
        if table == SyncTable::Tasks {
            // fields To Do cannot carry are not synced over Graph (neither side projects
            // them), so the agreed base no longer holds them either
            for f in crate::mapping::graph::task::NOT_CARRIED {
                new.base.fields.remove(f);
            }
        }
        migration.batch.upsert.push(new);
    }
    migration.batch.add_intents = translated_intents(&state.intents, &view.translated);
    Ok(migration)
}

/// The pair's Exchange anchor over Graph: the found item's id, its change key as version
/// if the item did not change since the last sync (else empty: compared by content); a task
/// without its key as a linked resource is noted in `links`.
fn graph_anchor(
    found: Found,
    table: SyncTable,
    pair: &Pair,
    remote: &Anchor,
    links: &mut Vec<(String, String, String)>,
) -> Anchor {
    let version = match (table, &found.change_key) {
        (SyncTable::Tasks, _) => String::new(),
        (_, Some(ck)) if *ck == remote.version => ck.clone(),
        _ => String::new(),
    };
    if table == SyncTable::Tasks && !found.linked {
        links.push((
            found.list.clone().unwrap_or_default(),
            found.id.clone(),
            pair.key.clone(),
        ));
    }
    Anchor {
        id: found.id,
        version,
    }
}

/// The detachment of a pair whose Exchange item was not found, if it has a CRM record.
fn detached(pair: &Pair) -> Option<sync_core::Detached> {
    let local = pair.local.as_ref()?;
    Some(sync_core::Detached {
        key: pair.key.clone(),
        gone: SideId::Remote,
        kept_id: local.id.clone(),
        reason: sync_core::DetachReason::Unrecorded,
        at: sync_core::Timestamp::from(std::time::SystemTime::now()),
    })
}

/// The journaled creates on the CRM side whose source translates, with the Graph id.
fn translated_intents(
    intents: &[Intent],
    translated: &HashMap<String, Result<String, String>>,
) -> Vec<Intent> {
    intents
        .iter()
        .filter(|i| i.on == SideId::Local)
        .filter_map(|i| match translated.get(&i.source_id) {
            Some(Ok(gid)) => Some(Intent {
                source_id: gid.clone(),
                ..i.clone()
            }),
            _ => None,
        })
        .collect()
}

/// The one write on Exchange (each paired task gets its key as a linked resource), then the
/// Graph state: committed into the temporary file, which is moved into place.
async fn write_graph_state(
    graph: &Mailbox,
    migration: &Migration,
    store: Option<SqliteStore>,
    tmp: &Path,
    graph_state: &Path,
) -> Result<(), MigrateError> {
    for (list, task, record) in &migration.links {
        graph
            .create_linked_resource(list, task, &key::linked_resource(record))
            .await?;
    }
    if let Some(pause) = test_pause() {
        tokio::time::sleep(pause).await;
    }
    if let Some(mut store) = store {
        store.commit(&migration.batch)?;
    }
    finish(tmp, graph_state)
}

/// Closes the temporary state out of WAL (so it is one self-contained file) and renames it
/// into place.
fn finish(tmp: &Path, graph_state: &Path) -> Result<(), MigrateError> {
    {
        let err = |source| MigrateError::GraphStateFile {
            path: tmp.to_owned(),
            source,
        };
        let conn = rusqlite::Connection::open(tmp).map_err(err)?;
        conn.pragma_update_and_check(None, "journal_mode", "DELETE", |r| r.get::<_, String>(0))
            .map_err(err)?;
    }
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(format!("syncing {}", tmp.display())))?;
    // A replaced state's write-ahead log must not be applied to the new file.
    for suffix in ["-wal", "-shm"] {
        let mut name = graph_state.as_os_str().to_owned();
        name.push(suffix);
        let p = PathBuf::from(name);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(format!("removing {}", p.display()))(e)),
        }
    }
    std::fs::rename(tmp, graph_state).map_err(io(format!(
        "renaming {} to {}",
        tmp.display(),
        graph_state.display()
    )))?;
    if let Some(dir) = graph_state.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// [`migrate_mailbox`] over any [`StateStores`] (PostgreSQL, a host's own): reads the EWS
/// scope, maps it onto the mailbox over Graph and writes the Graph scope in one transaction
/// (the EWS pairs without an Exchange record and the CRM side's change-feed token are carried
/// over as the file migration's snapshot carries them; with `force`, an existing Graph state
/// is replaced in the same transaction). The EWS scope is only read. `label` names the
/// target in the report.
pub async fn migrate_scope(
    graph: &Mailbox,
    states: &dyn StateStores,
    ews_scope: &str,
    graph_scope: &str,
    label: &Path,
    table: SyncTable,
    options: MigrateOptions,
) -> Result<MigrationReport, MigrateError> {
    let outcome = if options.dry_run {
        Outcome::DryRun
    } else {
        Outcome::Migrated
    };
    let mut entry = TableMigration::new(graph.user(), table, label, outcome);
    let mut ews = states.open(ews_scope).await?;
    let state = EwsState {
        pairs: ews.dyn_all_pairs().await?,
        intents: ews.dyn_intents().await?,
    };
    entry.pairs = state.pairs.len();
    let mut view = GraphView::read(graph, table, &state).await?;
    let mut migration = migrate_pairs(&state, table, &mut view, &mut entry).await?;
    entry.linked_resources_added = migration.links.len();
    if options.dry_run {
        return Ok(MigrationReport {
            dry_run: true,
            tables: vec![entry],
        });
    }
    // What the file migration's snapshot carries over: the pairs without an Exchange
    // record (with their detach records), the CRM side's token, the untranslated intents.
    let local_token = ews.dyn_token(SideId::Local).await?;
    // Every detach record, as the file copy keeps them: a store records one only for a pair
    // the batch stores (with one anchor).
    let copied_detaches = ews.dyn_detached().await?;
    let batch = &mut migration.batch;
    let replaced: std::collections::HashSet<String> =
        batch.add_intents.iter().map(|i| i.key.clone()).collect();
    batch.add_intents.extend(
        state
            .intents
            .iter()
            .filter(|i| !replaced.contains(&i.key))
            .cloned(),
    );
    batch
        .upsert
        .extend(state.pairs.iter().filter(|p| p.remote.is_none()).cloned());
    batch.detach.extend(copied_detaches);
    batch.tokens.push((SideId::Local, local_token));
    let mut target = states.open(graph_scope).await?;
    let existing = target.dyn_all_pairs().await?;
    if !existing.is_empty() && !options.force {
        return Err(MigrateError::GraphStateExists(label.to_owned()));
    }
    batch.remove = existing.into_iter().map(|p| p.key).collect();
    // Stores apply `clear_intents` after `add_intents`: clear only the old Graph intents this
    // batch does not carry over, or a forced re-run would drop the ones it carries.
    let carried: std::collections::HashSet<&str> =
        batch.add_intents.iter().map(|i| i.key.as_str()).collect();
    batch.clear_intents = target
        .dyn_intents()
        .await?
        .into_iter()
        .map(|i| i.key)
        .filter(|k| !carried.contains(k.as_str()))
        .collect();
    for (list, task, record) in &migration.links {
        graph
            .create_linked_resource(list, task, &key::linked_resource(record))
            .await?;
    }
    if let Some(pause) = test_pause() {
        tokio::time::sleep(pause).await;
    }
    target.dyn_commit(&migration.batch).await?;
    Ok(MigrationReport {
        dry_run: false,
        tables: vec![entry],
    })
}

/// How long a migration's lease lasts without renewal.
const LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl Connector {
    /// Migrates every mailbox and table in scope (everyone, or `user`) from its EWS state to
    /// a Graph state ([`migrate_mailbox`]), one entry per mailbox and table. Mailboxes whose
    /// server stays on EWS (on premises, or `api = "ews"`) and tables never synced over EWS
    /// are listed and left alone. Each migration holds the mailbox and table's lease (the one
    /// every sync run takes), so no EWS run writes the state meanwhile; a dry run takes no
    /// lease. A failing mailbox does not stop the others.
    pub async fn migrate_to_graph(
        &self,
        user: Option<&str>,
        options: MigrateOptions,
    ) -> Result<MigrationReport, ServiceError> {
        let (jobs, _) = self.jobs(None, user).await?;
        let mut report = MigrationReport {
            dry_run: options.dry_run,
            tables: Vec::with_capacity(jobs.len()),
        };
        let in_files = self.state_stores().folder() == Some(self.state_dir());
        for job in jobs {
            if !in_files {
                report.tables.push(
                    self.migrate_scoped(&job.user, &job.mailbox, job.table, options)
                        .await,
                );
                continue;
            }
            let ews = self.state_path(&job.mailbox, job.table);
            let target = self.graph_state_path(&job.mailbox, job.table);
            let entry = |outcome| TableMigration::new(&job.mailbox, job.table, &target, outcome);
            let client = match self.router().graph_for(&job.user, &job.mailbox) {
                Ok(Some(c)) => c,
                Ok(None) => {
                    report.tables.push(entry(Outcome::StaysOnEws));
                    continue;
                }
                Err(e) => {
                    report.tables.push(TableMigration::failed(
                        &job.mailbox,
                        job.table,
                        &target,
                        e.to_string(),
                    ));
                    continue;
                }
            };
            if !ews.exists() {
                report.tables.push(entry(Outcome::NoEwsState));
                continue;
            }
            if target.exists() && !options.force {
                report.tables.push(entry(Outcome::AlreadyMigrated));
                continue;
            }
            let mailbox = client.mailbox(job.mailbox.clone());
            let result = if options.dry_run {
                migrate_mailbox(&mailbox, &ews, &target, job.table, options).await
            } else {
                self.migrate_leased(&job.mailbox, job.table, &mailbox, &ews, &target, options)
                    .await
            };
            match result {
                Ok(r) => report.tables.extend(r.tables),
                Err(MigrateError::GraphStateExists(_)) => {
                    report.tables.push(entry(Outcome::AlreadyMigrated));
                }
                Err(e) => {
                    tracing::warn!(mailbox = %job.mailbox, table = table_name(job.table), error = %e, "migration to Graph failed");
                    report.tables.push(TableMigration::failed(
                        &job.mailbox,
                        job.table,
                        &target,
                        e.to_string(),
                    ));
                }
            }
        }
        Ok(report)
    }

    /// One mailbox and table's migration when the state is in [`StateStores`] other than
    /// the state folder's files (see [`migrate_scope`]), under the job's lease.
    async fn migrate_scoped(
        &self,
        user: &str,
        mailbox_name: &str,
        table: SyncTable,
        options: MigrateOptions,
    ) -> TableMigration {
        let states = self.state_stores();
        let ews = crate::state::scope_name(mailbox_name, table, false);
        let graph_scope = crate::state::scope_name(mailbox_name, table, true);
        let label = PathBuf::from(format!("{}/{graph_scope}", states.location()));
        let entry = |outcome| TableMigration::new(mailbox_name, table, &label, outcome);
        let failed = |e: String| TableMigration::failed(mailbox_name, table, &label, e);
        let client = match self.router().graph_for(user, mailbox_name) {
            Ok(Some(c)) => c,
            Ok(None) => return entry(Outcome::StaysOnEws),
            Err(e) => return failed(e.to_string()),
        };
        match (states.exists(&ews).await, states.exists(&graph_scope).await) {
            (Err(e), _) | (_, Err(e)) => return failed(e.to_string()),
            (Ok(false), _) => return entry(Outcome::NoEwsState),
            (Ok(true), Ok(true)) if !options.force => return entry(Outcome::AlreadyMigrated),
            _ => {}
        }
        let mailbox = client.mailbox(mailbox_name.to_owned());
        let work = migrate_scope(
            &mailbox,
            states.as_ref(),
            &ews,
            &graph_scope,
            &label,
            table,
            options,
        );
        let result = if options.dry_run {
            work.await
        } else {
            match self.leases() {
                Err(e) => Err(MigrateError::Configuration(e.to_string())),
                Ok(leases) => match leases
                    .run_leased(
                        &crate::clock::SystemClock,
                        mailbox_name,
                        table_name(table),
                        self.holder(),
                        LEASE_TTL,
                        std::time::Duration::ZERO,
                        work,
                    )
                    .await
                {
                    Ok(Leased::Ran(r)) => r,
                    Ok(Leased::Busy { holder }) => Err(MigrateError::Busy(holder)),
                    Err(e) => Err(MigrateError::Configuration(format!("lease: {e}"))),
                },
            }
        };
        match result {
            Ok(mut r) => r.tables.pop().unwrap_or_else(|| entry(Outcome::Migrated)),
            Err(MigrateError::GraphStateExists(_)) => entry(Outcome::AlreadyMigrated),
            Err(e) => {
                tracing::warn!(mailbox = %mailbox_name, table = table_name(table), error = %e, "migration to Graph failed");
                failed(e.to_string())
            }
        }
    }

    async fn migrate_leased(
        &self,
        mailbox_name: &str,
        table: SyncTable,
        mailbox: &Mailbox,
        ews: &Path,
        target: &Path,
        options: MigrateOptions,
    ) -> Result<MigrationReport, MigrateError> {
        let leases = self
            .leases()
            .map_err(|e| MigrateError::Configuration(e.to_string()))?;
        match leases
            .run_leased(
                &crate::clock::SystemClock,
                mailbox_name,
                table_name(table),
                self.holder(),
                LEASE_TTL,
                std::time::Duration::ZERO,
                migrate_mailbox(mailbox, ews, target, table, options),
            )
            .await
        {
            Ok(Leased::Ran(r)) => r,
            Ok(Leased::Busy { holder }) => Err(MigrateError::Busy(holder)),
            Err(e) => Err(MigrateError::Configuration(format!("lease: {e}"))),
        }
    }
}
