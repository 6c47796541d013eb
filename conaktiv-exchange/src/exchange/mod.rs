//! The Exchange side of a sync: sync-core's [`Side`] over `ews-client`, one per table
//! (contacts, calendar items, tasks, mail) and mailbox, impersonating the mailbox owner.
//!
//! [`ExchangeSide`] works on the folders of one rule in one mailbox:
//!
//! * **Folders**: the rule's [`FolderPath`]s are resolved in the mailbox ([`folders`]; the
//!   first segment may be a distinguished folder, `/Contacts/Kunden`), with their subfolders
//!   when the rule says so. New items are created in the rule's new-items folder (the first
//!   sync folder when none is set), which must lie inside the sync folders
//!   ([`ExchangeSideConfig::validate`]). Folders are resolved again at every full listing,
//!   or once per run and mailbox when the run shares a [`FolderCache`] among its jobs
//!   ([`ExchangeSide::with_folder_cache`]).
//! * **Listing** ([`Side::list`]): one `SyncFolderItems` from an empty state per folder
//!   (pages of 512), shape `IdOnly` plus the correlation key property: id, `ChangeKey` as
//!   the version, the key. It yields the complete listing and the folder's sync state in
//!   the same pass (what a `FindItem` listing followed by a sync would cost twice).
//! * **Change feed** ([`Side::changes_since`]): the per-folder sync states (and the
//!   hierarchy states of folders with subfolders) are encoded into sync-core's one token
//!   ([`token::FeedToken`]). A run with no changes costs one `SyncFolderItems` per folder (and
//!   one `SyncFolderHierarchy` per sync folder with subfolders) and no item reads. A state
//!   Exchange rejects (`ErrorInvalidSyncStateData`), a folder that disappeared, a new or
//!   removed subfolder, a token of another folder configuration or a corrupt token answer
//!   `Ok(None)`: the engine then lists in full.
//! * **Moves**: an item moved between two synced folders is reported deleted in one and
//!   created (with a new id) in the other; it carries the correlation key, so sync-core
//!   re-anchors the pair instead of deleting and re-creating.
//! * **Fetch** ([`Side::fetch`]): `GetItem` in batches of 100 with all properties plus the
//!   key (and for mail the date properties and the attachments' content via
//!   `GetAttachment`), projected with the field mapping ([`crate::mapping`]).
//! * **Writes** ([`Side::write`]), per-item outcomes, batches of 100:
//!
//! | op | EWS | stale version / missing item |
//! |---|---|---|
//! | `Create` | `CreateItem` (`SaveOnly`, `SendToNone`) in the new-items folder, the key property set | - |
//! | `Update` | `UpdateItem`, `AutoResolve`, the expected `ChangeKey`, the mapping's `SetItemField`/`DeleteItemField` changes plus the key | `Conflict` / `NotFound` |
//! | `Delete` | `GetItem` (`IdOnly`) to check the `ChangeKey`, then `DeleteItem` with [`ExchangeSideConfig::disposal`] (default `MoveToDeletedItems`: recoverable by the user) | `Conflict` / `NotFound` |
//! | `SetKey` | `UpdateItem` setting only the key property, with the expected `ChangeKey` | `Conflict` / `NotFound` |
//!
//!   An update is computed against the record fetched in the same run (cached by id and
//!   version), or against a fresh `GetItem` when the cache has no record of that version.
//!   Mail is filed, not edited: an update of a mail only stores the key.
//! * **Errors**: a failing call maps to [`SideError`] keeping `is_transient`. A create whose
//!   outcome is unknown (a dropped connection after sending) is reported
//!   [`WriteOutcome::Unknown`], never repeated here: sync-core's intent journal makes the
//!   next run list in full and re-pair the item by its key.
//! * **Impersonation**: every call goes through a [`Client::for_mailbox`] handle, so one
//!   client serves many mailboxes.
//!
//! Calendar series are read with their modified occurrences (one more `GetItem` for a
//! series that has any), so exceptions reach the record.
//!
//! Series exceptions are written after the master ([`occurrences`]): `DeleteItem` on the
//! `OccurrenceItemId` of each newly deleted occurrence, `UpdateItem` on it (start, end,
//! subject, location, body) for each new or changed modified occurrence, then an `IdOnly`
//! `GetItem` for the master's final change key (the version reported). A failing exception
//! write is not dropped: a created series is reported [`WriteOutcome::Unknown`] (the next
//! run lists in full and re-pairs it by its key), an updated one [`WriteOutcome::Failed`]
//! (the pair keeps its base, so the next run writes the exceptions again).
//!
//! Limits (documented, not hidden): restoring a deleted occurrence or reverting a modified
//! one has no EWS operation (nothing is written), and read-flag changes are not reported as
//! changes.
//!
//! Invariants: this module knows EWS only through `ews-client`'s typed operations and the
//! field mapping; it knows nothing of the CRM store or of the state store.

pub mod folders;
pub mod mail;
pub mod occurrences;
mod table;
pub mod token;

use std::collections::{BTreeMap, HashMap};

use conaktiv_model::config::{SyncFolder, SyncRule};
use conaktiv_model::values::FolderPath;
use ews_client::Client;
use ews_client::ops::{
    ConflictResolution, CreateItem, DeleteItem, DisposalType, GetAttachment, ItemChange,
    MessageDisposition, SendMeetingInvitationsOrCancellations, SyncFolderHierarchy,
    SyncFolderItems, SyncItemChange, UpdateItem,
};
use ews_client::types::base_item_id::BaseItemId;
use ews_client::types::response::{ResponseCode, ResponseError};
use ews_client::types::shape::{BaseShape, FolderShape, ItemShape};
use ews_client::types::{Attachment, FolderId, Item, ItemId};
use futures::TryStreamExt;
use sync_core::{
    ChangeSet, Entry, Id, Listing, Record, Side, SideError, SideErrorKind, Version, WriteOp,
    WriteOutcome,
};

use crate::mapping::key;

pub use folders::{FolderCache, ResolvedFolder, ResolvedFolders};
pub use mail::{MailProjection, mail_to_record, record_to_mail};
pub use table::ExchangeTable;
pub use token::FeedToken;

/// Items per `GetItem`, `CreateItem`, `UpdateItem` and `DeleteItem` request.
pub const BATCH: usize = 100;
/// `MaxChangesReturned` of `SyncFolderItems`.
pub const MAX_CHANGES: u16 = 512;

/// An error of the Exchange side's configuration or folder resolution.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeError {
    /// The rule names no folder.
    #[error("the rule names no Exchange folder")]
    NoFolders,
    /// The new-items folder does not lie inside the sync folders.
    #[error("the new-items folder {path} is not inside the rule's sync folders")]
    NewItemsOutside {
        /// The new-items folder.
        path: String,
    },
    /// A folder path does not exist in the mailbox.
    #[error("folder {path} not found in the mailbox")]
    FolderNotFound {
        /// The path.
        path: String,
    },
    /// An EWS call failed.
    #[error(transparent)]
    Ews(#[from] ews_client::Error),
    /// The backend cannot sync this table or folder.
    #[error("not supported: {what}")]
    Unsupported {
        /// What is not supported.
        what: String,
    },
}

impl ExchangeError {
    /// What kind of failure this is, decided on the error's type (never on its text).
    pub fn kind(&self) -> SideErrorKind {
        match self {
            ExchangeError::NoFolders
            | ExchangeError::NewItemsOutside { .. }
            | ExchangeError::FolderNotFound { .. }
            | ExchangeError::Unsupported { .. } => SideErrorKind::Configuration,
            ExchangeError::Ews(e) => ews_error_kind(e),
        }
    }

    /// Whether a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        !self.kind().is_permanent()
    }
}

/// The [`SideErrorKind`] of an EWS failure, decided on the error's type and response code.
///
/// Only refused credentials, refused impersonation or access, a missing mailbox and a
/// configuration that cannot work (an untrusted certificate, an invalid client setup, a
/// wrong endpoint) are permanent; throttling, timeouts, dropped connections, 5xx answers
/// and malformed or truncated answers are transient. A request refused as too large
/// (HTTP 413) is [`SideErrorKind::Rejected`]: nothing was written.
pub fn ews_error_kind(e: &ews_client::Error) -> SideErrorKind {
    use ews_client::Error as E;
    use ews_client::transport::TransportError as T;
    if let Some(code) = e.response_code() {
        if code == ResponseCode::ErrorNonExistentMailbox {
            return SideErrorKind::MailboxGone;
        }
        if code.is_auth() {
            return SideErrorKind::Authorization;
        }
        if code.is_transient() {
            return SideErrorKind::Transient;
        }
    }
    match e {
        E::Transport(t) if t.is_auth() => SideErrorKind::Authentication,
        E::Transport(T::InvalidConfig(_) | T::Tls { .. } | T::UnknownHost { .. }) => {
            SideErrorKind::Configuration
        }
        E::Transport(_) => SideErrorKind::Transient,
        E::HttpStatus { status: 401, .. } => SideErrorKind::Authentication,
        E::HttpStatus { status: 403, .. } => SideErrorKind::Authorization,
        E::HttpStatus { status: 404, .. } => SideErrorKind::Configuration,
        E::HttpStatus { status: 413, .. } => SideErrorKind::Rejected,
        E::HttpStatus { status, .. } if *status >= 500 || *status == 429 || *status == 408 => {
            SideErrorKind::Transient
        }
        E::Parse(_) | E::Throttled { .. } => SideErrorKind::Transient,
        E::Config(_) => SideErrorKind::Configuration,
        _ if e.is_transient() => SideErrorKind::Transient,
        _ => SideErrorKind::Other,
    }
}

impl From<ExchangeError> for SideError {
    fn from(e: ExchangeError) -> Self {
        SideError::from_source(e.kind(), e)
    }
}

fn ews_err(e: ews_client::Error) -> SideError {
    ExchangeError::Ews(e).into()
}

/// What an [`ExchangeSide`] syncs in a mailbox.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeSideConfig {
    /// The item kind.
    pub table: ExchangeTable,
    /// The sync folders.
    pub folders: Vec<SyncFolder>,
    /// Where new items go; the first sync folder when `None`.
    pub new_items_folder: Option<FolderPath>,
    /// How `Delete` removes items (default `MoveToDeletedItems`, recoverable).
    pub disposal: DisposalType,
}

impl ExchangeSideConfig {
    /// A configuration for a table and folders, new items in the first folder.
    pub fn new(table: ExchangeTable, folders: Vec<SyncFolder>) -> Self {
        Self {
            table,
            folders,
            new_items_folder: None,
            disposal: DisposalType::MoveToDeletedItems,
        }
    }

    /// The configuration of a rule.
    pub fn for_rule(rule: &SyncRule) -> Result<Self, ExchangeError> {
        let config = Self {
            new_items_folder: rule.new_items_folder.clone(),
            ..Self::new(ExchangeTable::of(rule.table), rule.sync_folders.clone())
        };
        config.validate()?;
        Ok(config)
    }

    /// Sets the new-items folder.
    #[must_use]
    pub fn with_new_items_folder(mut self, path: FolderPath) -> Self {
        self.new_items_folder = Some(path);
        self
    }

    /// Sets how items are deleted.
    #[must_use]
    pub fn with_disposal(mut self, disposal: DisposalType) -> Self {
        self.disposal = disposal;
        self
    }

    /// The folder new items go to.
    pub fn effective_new_items_folder(&self) -> Option<&FolderPath> {
        self.new_items_folder
            .as_ref()
            .or_else(|| self.folders.first().map(|f| &f.path))
    }

    /// Checks that there are folders and that the new-items folder lies inside them.
    pub fn validate(&self) -> Result<(), ExchangeError> {
        let Some(new_items) = self.effective_new_items_folder() else {
            return Err(ExchangeError::NoFolders);
        };
        if !self.folders.iter().any(|f| folders::covers(f, new_items)) {
            return Err(ExchangeError::NewItemsOutside {
                path: new_items.to_string(),
            });
        }
        Ok(())
    }

    /// A fingerprint of what is listed (the token of another configuration is not used).
    pub(crate) fn fingerprint(&self) -> String {
        let mut s = self.table.name().to_owned();
        for f in &self.folders {
            s.push('|');
            s.push_str(&f.path.as_str().to_lowercase());
            if f.include_subfolders {
                s.push_str("/**");
            }
        }
        s
    }
}

/// What an update or a delete needs to know about an item's current state.
enum Current {
    /// The item's record at the expected version.
    At(Record),
    /// The item changed since (another change key).
    Changed,
    /// The item is gone.
    Gone,
}

/// sync-core's [`Side`] over one mailbox's folders of one table. See the module docs.
#[derive(Debug)]
pub struct ExchangeSide {
    client: Client,
    /// The mailbox impersonated (the key of [`ExchangeSide::with_folder_cache`]'s entries).
    mailbox: String,
    /// The run's folder ids, shared with the run's other jobs; `None`: ask every time.
    folder_cache: Option<FolderCache>,
    config: ExchangeSideConfig,
    resolved: Option<ResolvedFolders>,
    new_items_id: Option<String>,
    /// Records fetched in this run: id to (change key, record).
    cache: HashMap<Id, (Version, Record)>,
    /// Items that could not be read into records (an appointment without `Start` or `End`),
    /// with why: left out of the run.
    unreadable: Vec<String>,
}

impl ExchangeSide {
    /// The side of `mailbox` (primary SMTP address): every call impersonates it.
    pub fn new(
        client: &Client,
        mailbox: &str,
        config: ExchangeSideConfig,
    ) -> Result<Self, ExchangeError> {
        config.validate()?;
        Ok(Self {
            client: client.for_mailbox(mailbox),
            mailbox: mailbox.to_owned(),
            folder_cache: None,
            config,
            resolved: None,
            new_items_id: None,
            cache: HashMap::new(),
            unreadable: Vec::new(),
        })
    }

    /// The side of a rule in a mailbox.
    pub fn for_rule(
        client: &Client,
        mailbox: &str,
        rule: &SyncRule,
    ) -> Result<Self, ExchangeError> {
        Self::new(client, mailbox, ExchangeSideConfig::for_rule(rule)?)
    }

    /// Takes folder ids from a run's cache (shared with the run's other jobs) instead of
    /// resolving the folder paths at every full listing and for the new-items folder: each
    /// path of this mailbox is then looked up once for all jobs holding the same cache. Give
    /// every run a new [`FolderCache`], so that renamed or moved folders are seen.
    #[must_use]
    pub fn with_folder_cache(mut self, cache: FolderCache) -> Self {
        self.folder_cache = Some(cache);
        self
    }

    fn lookup(&self) -> folders::Lookup<'_> {
        match &self.folder_cache {
            Some(cache) => folders::Lookup::Cached(cache, &self.mailbox),
            None => folders::Lookup::Fresh,
        }
    }

    /// The items that could not be read in this run (an appointment without `Start` or
    /// `End`), one sentence each: they were left out and the rest of the job ran.
    pub fn unreadable(&self) -> &[String] {
        &self.unreadable
    }

    /// The configuration.
    pub fn config(&self) -> &ExchangeSideConfig {
        &self.config
    }

    /// The client handle (impersonating the mailbox).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The folders resolved by the last full listing (or [`ExchangeSide::resolve`]).
    pub fn resolved(&self) -> Option<&ResolvedFolders> {
        self.resolved.as_ref()
    }

    /// Resolves the rule's folders (again) in the mailbox; with a
    /// [folder cache](ExchangeSide::with_folder_cache), the sync folders' ids come from it.
    pub async fn resolve(&mut self) -> Result<&ResolvedFolders, ExchangeError> {
        let resolved =
            folders::resolve_with(&self.client, &self.config.folders, self.lookup()).await?;
        Ok(self.resolved.insert(resolved))
    }

    /// The id of the new-items folder (resolved once).
    pub async fn new_items_folder_id(&mut self) -> Result<String, ExchangeError> {
        if let Some(id) = &self.new_items_id {
            return Ok(id.clone());
        }
        let path = self
            .config
            .effective_new_items_folder()
            .ok_or(ExchangeError::NoFolders)?
            .clone();
        let id = self.lookup().path(&self.client, &path).await?;
        self.new_items_id = Some(id.clone());
        Ok(id)
    }

    fn entry_of(&self, item: &Item) -> Option<Entry> {
        if !self.config.table.accepts(item) {
            return None;
        }
        let id = item.item_id()?;
        Some(Entry {
            id: id.id.clone(),
            version: id.change_key.clone().unwrap_or_default(),
            key: key::record_id(item).map(str::to_owned),
        })
    }

    /// Reads one folder's changes since `state` (all items for `None`) until the end, each
    /// page's items reduced to their entries as it arrives (an EWS item is large; a folder
    /// of thousands kept whole would be copied and faulted in for nothing).
    /// `Ok(None)` when the state was rejected or the folder is gone.
    async fn sync_folder(
        &self,
        folder: &str,
        state: Option<String>,
    ) -> Result<Option<(Vec<FolderChange>, String)>, SideError> {
        let op = SyncFolderItems::new(
            FolderId::new(folder).into(),
            self.config.table.list_shape(),
            state,
            MAX_CHANGES,
        );
        let mut changes = Vec::new();
        let mut last_state = None;
        let mut pages = self.client.sync_folder_items(op);
        loop {
            match pages.try_next().await {
                Ok(Some(page)) => {
                    changes.reserve(page.changes.len());
                    for change in page.changes {
                        match change {
                            SyncItemChange::Create(item) | SyncItemChange::Update(item) => {
                                if let Some(e) = self.entry_of(&item) {
                                    changes.push(FolderChange::Changed(e));
                                }
                            }
                            SyncItemChange::Delete(id) => {
                                changes.push(FolderChange::Deleted(id.id))
                            }
                            _ => {}
                        }
                    }
                    if page.sync_state.is_some() {
                        last_state = page.sync_state;
                    }
                }
                Ok(None) => break,
                Err(e) if e.is_invalid_sync_state() || e.is_not_found() => {
                    tracing::info!(folder, error = %e, "sync state rejected: listing in full");
                    return Ok(None);
                }
                Err(e) => return Err(ews_err(e)),
            }
        }
        Ok(Some((changes, last_state.unwrap_or_default())))
    }

    /// Gets items by id; per id `Ok(item)`, `Err(None)` if gone, `Err(Some(e))` for another
    /// per-item error.
    async fn get_items(
        &self,
        shape: ItemShape,
        ids: &[Id],
    ) -> Result<Vec<Result<Item, ResponseError>>, SideError> {
        let base: Vec<BaseItemId> = ids.iter().map(|i| ItemId::new(i.clone()).into()).collect();
        self.client
            .get_items(shape, base)
            .try_collect()
            .await
            .map_err(ews_err)
    }

    /// Fills in the content of the attachments listed without it, for a batch of items
    /// (one `GetAttachment` per batch). An attachment that cannot be read is left without
    /// content (logged); the mapping then files the mail without it.
    async fn load_attachments(&self, items: &mut [Item]) -> Result<(), SideError> {
        let wanted: Vec<_> = items
            .iter()
            .filter_map(Item::as_message)
            .flat_map(crate::mapping::mail::attachments_to_fetch)
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut loaded: HashMap<String, Attachment> = HashMap::new();
        for chunk in wanted.chunks(BATCH) {
            let response = self
                .client
                .execute(&GetAttachment::new(chunk.to_vec()))
                .await
                .map_err(ews_err)?;
            for (asked, r) in chunk.iter().zip(response.into_results()) {
                match r {
                    Ok(info) => {
                        if let Some(a) = info.attachments.into_iter().next() {
                            loaded.insert(asked.id.clone(), a);
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "attachment not readable; filed without it")
                    }
                }
            }
        }
        for item in items.iter_mut() {
            let Item::Message(m) = item else {
                continue;
            };
            for a in &mut m.common.attachments {
                let id = a.common().attachment_id.as_ref().map(|x| x.id.clone());
                if let Some(full) = id.and_then(|id| loaded.remove(&id)) {
                    *a = full;
                }
            }
        }
        Ok(())
    }

    /// The modified occurrences of a calendar series (empty for other items). An exception
    /// that cannot be read is left out (logged): the series is still synced.
    async fn load_exceptions(
        &self,
        item: &Item,
        shape: &ItemShape,
    ) -> Result<Vec<Item>, SideError> {
        let Item::CalendarItem(c) = item else {
            return Ok(Vec::new());
        };
        if c.modified_occurrences.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Id> = c
            .modified_occurrences
            .iter()
            .map(|o| o.item_id.id.clone())
            .collect();
        let mut out = Vec::new();
        for r in self.get_items(shape.clone(), &ids).await? {
            match r {
                Ok(x) => out.push(x),
                Err(e) => tracing::warn!(error = %e, "exception of a series not readable"),
            }
        }
        Ok(out)
    }

    /// The current record of items at the versions the plan saw.
    async fn current(&mut self, wanted: &[(Id, Version)]) -> Result<Vec<Current>, SideError> {
        let missing: Vec<Id> = wanted
            .iter()
            .filter(|(id, v)| self.cache.get(id).is_none_or(|(cv, _)| cv != v))
            .map(|(id, _)| id.clone())
            .collect();
        if !missing.is_empty() {
            self.fetch(&missing).await?;
        }
        Ok(wanted
            .iter()
            .map(|(id, v)| match self.cache.get(id) {
                Some((cv, r)) if cv == v => Current::At(r.clone()),
                Some(_) => Current::Changed,
                None => Current::Gone,
            })
            .collect())
    }

    async fn create(&mut self, ops: &[(usize, Record, String)], out: &mut [Option<WriteOutcome>]) {
        let folder = match self.new_items_folder_id().await {
            Ok(f) => f,
            Err(e) => {
                for (i, _, _) in ops {
                    out[*i] = Some(WriteOutcome::Failed(e.to_string()));
                }
                return;
            }
        };
        let mut items = Vec::new();
        for (i, record, k) in ops {
            match self.config.table.to_item(record, k) {
                Ok(item) => items.push((*i, item)),
                Err(e) => out[*i] = Some(WriteOutcome::Failed(e)),
            }
        }
        // A request refused as a whole before anything was written (HTTP 413: one item
        // is too large) is split in halves until the offending item fails alone.
        let mut pending: Vec<&[(usize, Item)]> = items.chunks(BATCH).rev().collect();
        while let Some(chunk) = pending.pop() {
            let op = CreateItem::save(
                chunk.iter().map(|(_, it)| it.clone()),
                Some(FolderId::new(folder.clone()).into()),
            );
            match self.client.execute(&op).await {
                Err(e) if chunk.len() > 1 && ews_error_kind(&e) == SideErrorKind::Rejected => {
                    let (first, second) = chunk.split_at(chunk.len() / 2);
                    pending.push(second);
                    pending.push(first);
                }
                Ok(response) => {
                    let results = response.into_results();
                    for (n, (i, _)) in chunk.iter().enumerate() {
                        out[*i] = Some(match results.get(n) {
                            Some(Ok(info)) => match info.items.first().and_then(Item::item_id) {
                                Some(id) => WriteOutcome::Done {
                                    id: id.id.clone(),
                                    version: id.change_key.clone().unwrap_or_default(),
                                },
                                None => WriteOutcome::Unknown("created item without id".into()),
                            },
                            Some(Err(e)) => WriteOutcome::Failed(e.to_string()),
                            None => WriteOutcome::Unknown("no response message".into()),
                        });
                    }
                }
                Err(e) => {
                    let o = if e.is_outcome_unknown() {
                        WriteOutcome::Unknown(e.to_string())
                    } else {
                        WriteOutcome::Failed(e.to_string())
                    };
                    for (i, _) in chunk {
                        out[*i] = Some(o.clone());
                    }
                }
            }
        }
        if self.config.table == ExchangeTable::Appointments {
            for (i, record, _) in ops {
                let changes = occurrences::exception_changes(None, record);
                self.finish_series(*i, record, &changes, true, out).await;
            }
        }
    }

    /// Applies a series' exception writes after its master was written (outcome `out[i]`
    /// `Done`) and reports the master's final change key. When an exception write fails the
    /// item is not reported in sync: a created series is reported `Unknown` (the next run
    /// lists in full and re-pairs it by its key), an updated one `Failed` (its base stays,
    /// so the next run finds the difference and writes the exceptions again).
    async fn finish_series(
        &mut self,
        i: usize,
        record: &Record,
        changes: &[crate::mapping::appointment::OccurrenceChange],
        created: bool,
        out: &mut [Option<WriteOutcome>],
    ) {
        if changes.is_empty() {
            return;
        }
        let Some(Some(WriteOutcome::Done { id, .. })) = out.get(i) else {
            return;
        };
        let id = id.clone();
        let outcome = match self.apply_occurrences(&id, record, changes).await {
            Ok(version) => WriteOutcome::Done {
                id: id.clone(),
                version,
            },
            Err((reason, transient)) => {
                tracing::warn!(item = %id, transient, "{reason}");
                let msg = format!("series {id} written but not its exceptions: {reason}");
                if created {
                    WriteOutcome::Unknown(msg)
                } else {
                    WriteOutcome::Failed(msg)
                }
            }
        };
        self.cache.remove(&id);
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(outcome);
        }
    }

    /// `UpdateItem` with per-item change lists and expected change keys.
    async fn update(
        &mut self,
        changes: Vec<(usize, ItemChange)>,
        out: &mut [Option<WriteOutcome>],
    ) {
        // Split like creates when the request is refused as a whole (HTTP 413).
        let mut pending: Vec<&[(usize, ItemChange)]> = changes.chunks(BATCH).rev().collect();
        while let Some(chunk) = pending.pop() {
            let mut op = UpdateItem::new(chunk.iter().map(|(_, c)| c.clone()));
            op.conflict_resolution = ConflictResolution::AutoResolve;
            match self.config.table {
                ExchangeTable::Appointments => {
                    op.send_meeting_invitations_or_cancellations =
                        Some(SendMeetingInvitationsOrCancellations::SendToNone)
                }
                ExchangeTable::Mail { .. } => {
                    op.message_disposition = Some(MessageDisposition::SaveOnly)
                }
                _ => {}
            }
            match self.client.execute(&op).await {
                Err(e) if chunk.len() > 1 && ews_error_kind(&e) == SideErrorKind::Rejected => {
                    let (first, second) = chunk.split_at(chunk.len() / 2);
                    pending.push(second);
                    pending.push(first);
                }
                Ok(response) => {
                    let results = response.into_results();
                    for (n, (i, change)) in chunk.iter().enumerate() {
                        out[*i] = Some(match results.get(n) {
                            Some(Ok(res)) => {
                                let old = match &change.item_id {
                                    BaseItemId::Item(id) => id.id.clone(),
                                    _ => String::new(),
                                };
                                match res.items.first().and_then(Item::item_id) {
                                    Some(id) => {
                                        self.cache.remove(&old);
                                        WriteOutcome::Done {
                                            id: id.id.clone(),
                                            version: id.change_key.clone().unwrap_or_default(),
                                        }
                                    }
                                    None => WriteOutcome::Unknown("updated item without id".into()),
                                }
                            }
                            Some(Err(e)) => item_failure(e),
                            None => WriteOutcome::Unknown("no response message".into()),
                        });
                    }
                }
                Err(e) => {
                    let o = if e.is_outcome_unknown() {
                        WriteOutcome::Unknown(e.to_string())
                    } else {
                        WriteOutcome::Failed(e.to_string())
                    };
                    for (i, _) in chunk {
                        out[*i] = Some(o.clone());
                    }
                }
            }
        }
    }

    async fn delete(
        &mut self,
        ops: &[(usize, Id, Version)],
        out: &mut [Option<WriteOutcome>],
    ) -> Result<(), SideError> {
        let ids: Vec<Id> = ops.iter().map(|(_, id, _)| id.clone()).collect();
        let now = self.get_items(ItemShape::id_only(), &ids).await?;
        let mut to_delete = Vec::new();
        for ((i, id, expected), current) in ops.iter().zip(now) {
            match current {
                Ok(item) => {
                    let ck = item.item_id().and_then(|x| x.change_key.clone());
                    if ck.as_deref() == Some(expected.as_str()) {
                        to_delete.push((*i, id.clone()));
                    } else {
                        out[*i] = Some(WriteOutcome::Conflict);
                    }
                }
                Err(e) => out[*i] = Some(item_failure(&e)),
            }
        }
        for chunk in to_delete.chunks(BATCH) {
            let op = DeleteItem::new(
                self.config.disposal,
                chunk.iter().map(|(_, id)| ItemId::new(id.clone())),
            );
            match self.client.execute(&op).await {
                Ok(response) => {
                    let results = response.into_results();
                    for (n, (i, id)) in chunk.iter().enumerate() {
                        out[*i] = Some(match results.get(n) {
                            Some(Ok(())) => {
                                self.cache.remove(id);
                                WriteOutcome::Done {
                                    id: id.clone(),
                                    version: String::new(),
                                }
                            }
                            Some(Err(e)) => item_failure(e),
                            None => WriteOutcome::Unknown("no response message".into()),
                        });
                    }
                }
                Err(e) => {
                    let o = if e.is_outcome_unknown() {
                        WriteOutcome::Unknown(e.to_string())
                    } else {
                        WriteOutcome::Failed(e.to_string())
                    };
                    for (i, _) in chunk {
                        out[*i] = Some(o.clone());
                    }
                }
            }
        }
        Ok(())
    }
}

/// What a folder's feed reports of one item, as far as the sync needs it.
enum FolderChange {
    /// Created or changed (an item the table accepts).
    Changed(Entry),
    /// Deleted, or moved out of the folder.
    Deleted(Id),
}

/// The outcome of a per-item error.
fn item_failure(e: &ResponseError) -> WriteOutcome {
    let code = e.code();
    if code.is_not_found() {
        WriteOutcome::NotFound
    } else if code.is_conflict() {
        WriteOutcome::Conflict
    } else {
        WriteOutcome::Failed(e.to_string())
    }
}

impl Side for ExchangeSide {
    async fn list(&mut self) -> Result<Listing, SideError> {
        self.cache.clear();
        let resolved = self.resolve().await?.clone();
        let mut token = FeedToken::new();
        token.config = self.config.fingerprint();
        token.trees = resolved.trees.iter().cloned().collect();
        let mut entries: BTreeMap<Id, Entry> = BTreeMap::new();
        for folder in &resolved.folders {
            let Some((changes, state)) = self.sync_folder(&folder.id, None).await? else {
                return Err(SideError::transient(format!(
                    "folder {} vanished while listing",
                    folder.path
                )));
            };
            for change in changes {
                match change {
                    FolderChange::Changed(e) => {
                        entries.insert(e.id.clone(), e);
                    }
                    FolderChange::Deleted(id) => {
                        entries.remove(&id);
                    }
                }
            }
            token.folders.insert(folder.id.clone(), state);
        }
        tracing::debug!(
            table = self.config.table.name(),
            folders = resolved.folders.len(),
            items = entries.len(),
            "listed Exchange folders"
        );
        Ok(Listing {
            entries: entries.into_values().collect(),
            token: Some(token.encode()),
        })
    }

    async fn changes_since(&mut self, token: &str) -> Result<Option<ChangeSet>, SideError> {
        self.cache.clear();
        let Some(mut token) = FeedToken::decode(token) else {
            return Ok(None);
        };
        if token.config != self.config.fingerprint() || token.folders.is_empty() {
            return Ok(None);
        }
        for (root, state) in token.trees.clone() {
            let op = SyncFolderHierarchy {
                folder_shape: FolderShape::new(BaseShape::IdOnly),
                sync_folder_id: Some(FolderId::new(root.clone()).into()),
                sync_state: Some(state).filter(|s| !s.is_empty()),
            };
            let page = match self.client.execute_single(&op).await {
                Ok(p) => p,
                Err(e) if e.is_invalid_sync_state() || e.is_not_found() => return Ok(None),
                Err(e) => return Err(ews_err(e)),
            };
            let known = |id: &str| token.folders.contains_key(id);
            if folders::hierarchy_changed(&page.changes, &known)
                || page.includes_last_folder_in_range == Some(false)
            {
                return Ok(None);
            }
            if let Some(s) = page.sync_state {
                token.trees.insert(root, s);
            }
        }
        // Per id, the last change wins (a create followed by a delete is a delete).
        let mut changed: BTreeMap<Id, Option<Entry>> = BTreeMap::new();
        for (folder, state) in token.folders.clone() {
            let Some((changes, next)) = self.sync_folder(&folder, Some(state)).await? else {
                return Ok(None);
            };
            for change in changes {
                match change {
                    FolderChange::Changed(e) => {
                        changed.insert(e.id.clone(), Some(e));
                    }
                    FolderChange::Deleted(id) => {
                        changed.insert(id, None);
                    }
                }
            }
            token.folders.insert(folder, next);
        }
        let mut out = ChangeSet {
            token: token.encode(),
            ..ChangeSet::default()
        };
        for (id, e) in changed {
            match e {
                Some(e) => out.changed.push(e),
                None => out.removed.push(id),
            }
        }
        Ok(Some(out))
    }

    async fn fetch(&mut self, ids: &[Id]) -> Result<Vec<(Id, Record)>, SideError> {
        let shape = self.config.table.fetch_shape();
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH) {
            let results = self.get_items(shape.clone(), chunk).await?;
            let mut items = Vec::with_capacity(chunk.len());
            for (id, r) in chunk.iter().zip(results) {
                match r {
                    Ok(item) => items.push((id.clone(), item)),
                    Err(e) if e.code().is_not_found() => {
                        self.cache.remove(id);
                    }
                    Err(e) => {
                        let kind = ews_error_kind(&ews_client::Error::Response(e.clone()));
                        return Err(SideError::new(kind, format!("reading item {id}: {e}")));
                    }
                }
            }
            let (ids, mut items): (Vec<Id>, Vec<Item>) = items.into_iter().unzip();
            self.load_attachments(&mut items).await?;
            for (id, item) in ids.into_iter().zip(items) {
                if let Item::CalendarItem(c) = &item
                    && (c.start.is_none() || c.end.is_none())
                {
                    let missing = if c.start.is_none() { "Start" } else { "End" };
                    tracing::warn!(item = %id, "an appointment without {missing} was skipped");
                    self.unreadable.push(format!(
                        "Exchange appointment {} ({}) has no {missing}; it was skipped",
                        id,
                        c.common.subject.as_deref().unwrap_or("no subject")
                    ));
                    continue;
                }
                let exceptions = self.load_exceptions(&item, &shape).await?;
                let Some(record) = self.config.table.to_record(&item, &exceptions) else {
                    continue;
                };
                let version = item
                    .item_id()
                    .and_then(|x| x.change_key.clone())
                    .unwrap_or_default();
                self.cache.insert(id.clone(), (version, record.clone()));
                out.push((id, record));
            }
        }
        Ok(out)
    }

    async fn write(&mut self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, SideError> {
        let mut out: Vec<Option<WriteOutcome>> = vec![None; ops.len()];
        let table = self.config.table;
        let mut creates = Vec::new();
        let mut updates = Vec::new();
        let mut deletes = Vec::new();
        let mut key_changes = Vec::new();
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                WriteOp::Create { record, key } => creates.push((i, record, key)),
                WriteOp::Update {
                    id,
                    expected,
                    record,
                    key,
                } => updates.push((i, id, expected, record, key)),
                WriteOp::Delete { id, expected } => deletes.push((i, id, expected)),
                WriteOp::SetKey { id, expected, key } => key_changes.push((
                    i,
                    ItemChange {
                        item_id: ItemId::with_change_key(id, expected).into(),
                        updates: vec![key::record_id_change(&table.empty_item(), &key)],
                    },
                )),
            }
        }
        if !creates.is_empty() {
            self.create(&creates, &mut out).await;
        }
        if !updates.is_empty() {
            let wanted: Vec<(Id, Version)> = updates
                .iter()
                .map(|(_, id, v, _, _)| (id.clone(), v.clone()))
                .collect();
            let current = match self.current(&wanted).await {
                Ok(c) => c,
                Err(e) => {
                    for (i, ..) in &updates {
                        out[*i] = Some(WriteOutcome::Failed(e.to_string()));
                    }
                    Vec::new()
                }
            };
            let mut changes = Vec::new();
            let mut series = Vec::new();
            for ((i, id, expected, record, k), cur) in updates.into_iter().zip(current) {
                match cur {
                    Current::At(old) => {
                        if table == ExchangeTable::Appointments {
                            let x = occurrences::exception_changes(Some(&old), &record);
                            if !x.is_empty() {
                                series.push((i, record.clone(), x));
                            }
                        }
                        changes.push((
                            i,
                            ItemChange {
                                item_id: ItemId::with_change_key(id, expected).into(),
                                updates: table.update_changes(&old, &record, &k),
                            },
                        ))
                    }
                    Current::Changed => out[i] = Some(WriteOutcome::Conflict),
                    Current::Gone => out[i] = Some(WriteOutcome::NotFound),
                }
            }
            self.update(changes, &mut out).await;
            for (i, record, x) in series {
                self.finish_series(i, &record, &x, false, &mut out).await;
            }
        }
        if !key_changes.is_empty() {
            self.update(key_changes, &mut out).await;
        }
        if !deletes.is_empty()
            && let Err(e) = self.delete(&deletes, &mut out).await
        {
            for (i, ..) in &deletes {
                out[*i].get_or_insert_with(|| WriteOutcome::Failed(e.to_string()));
            }
        }
        Ok(out
            .into_iter()
            .map(|o| o.unwrap_or_else(|| WriteOutcome::Unknown("no outcome".into())))
            .collect())
    }
}
