//! The organisation store: users, groups, apps, mailboxes with folder trees, items, per-folder
//! change journals, and the outbox of mail to addresses outside the organisation.
//!
//! Items are stored generically (class, subject, read flag, named fields, extended properties,
//! attachments) so the store knows no EWS XML.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{
    AppData, FolderData, GroupData, ItemData, MailboxData, OrgData, PERMISSION_FULL_ACCESS,
    ROLE_IMPERSONATION, Settings, UserData,
};
use crate::error::MockError;
use crate::ids::{self, IdKind};

/// The distinguished folders every mailbox has: (name, parent, display name, class).
pub const DISTINGUISHED_FOLDERS: &[(&str, Option<&str>, &str, &str)] = &[
    ("root", None, "Root", "IPF"),
    (
        "msgfolderroot",
        Some("root"),
        "Top of Information Store",
        "IPF.Note",
    ),
    ("inbox", Some("msgfolderroot"), "Inbox", "IPF.Note"),
    ("sentitems", Some("msgfolderroot"), "Sent Items", "IPF.Note"),
    ("drafts", Some("msgfolderroot"), "Drafts", "IPF.Note"),
    (
        "deleteditems",
        Some("msgfolderroot"),
        "Deleted Items",
        "IPF.Note",
    ),
    ("outbox", Some("msgfolderroot"), "Outbox", "IPF.Note"),
    ("contacts", Some("msgfolderroot"), "Contacts", "IPF.Contact"),
    (
        "calendar",
        Some("msgfolderroot"),
        "Calendar",
        "IPF.Appointment",
    ),
    ("tasks", Some("msgfolderroot"), "Tasks", "IPF.Task"),
    ("notes", Some("msgfolderroot"), "Notes", "IPF.StickyNote"),
    ("journal", Some("msgfolderroot"), "Journal", "IPF.Journal"),
    ("junkemail", Some("msgfolderroot"), "Junk Email", "IPF.Note"),
];

/// A store-level failure; each maps to the EWS response code Exchange gives.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such mailbox.
    #[error("mailbox not found")]
    NonExistentMailbox,
    /// No such folder.
    #[error("folder not found")]
    FolderNotFound,
    /// No such item.
    #[error("item not found")]
    ItemNotFound,
    /// No such attachment.
    #[error("attachment not found")]
    AttachmentNotFound,
    /// The id is not one of ours.
    #[error("malformed id")]
    InvalidIdMalformed,
    /// A folder of that name already exists in the parent.
    #[error("folder exists")]
    FolderExists,
    /// The sync state is foreign or corrupt.
    #[error("invalid sync state")]
    InvalidSyncStateData,
    /// The change key is stale and the conflict resolution forbids overwriting.
    #[error("irresolvable conflict")]
    IrresolvableConflict,
    /// Distinguished folders cannot be deleted or moved.
    #[error("cannot delete a distinguished folder")]
    DeleteDistinguishedFolder,
    /// The occurrence index is outside the series.
    #[error("occurrence index out of the recurrence range")]
    OccurrenceOutOfRange,
    /// The occurrence was deleted from its series.
    #[error("occurrence deleted from the recurrence")]
    OccurrenceDeleted,
    /// A message to send has no (valid) recipients.
    #[error("invalid recipients")]
    InvalidRecipients,
    /// The caller may not access that mailbox (no delegate access is modelled).
    #[error("access denied")]
    AccessDenied,
}

impl StoreError {
    /// The EWS `ResponseCode` for this error.
    pub fn response_code(&self) -> &'static str {
        match self {
            StoreError::NonExistentMailbox => "ErrorNonExistentMailbox",
            StoreError::FolderNotFound => "ErrorFolderNotFound",
            StoreError::ItemNotFound => "ErrorItemNotFound",
            StoreError::AttachmentNotFound => "ErrorAttachmentNotFound",
            StoreError::InvalidIdMalformed => "ErrorInvalidIdMalformed",
            StoreError::FolderExists => "ErrorFolderExists",
            StoreError::InvalidSyncStateData => "ErrorInvalidSyncStateData",
            StoreError::IrresolvableConflict => "ErrorIrresolvableConflict",
            StoreError::DeleteDistinguishedFolder => "ErrorDeleteDistinguishedFolder",
            StoreError::AccessDenied => "ErrorAccessDenied",
            StoreError::InvalidRecipients => "ErrorInvalidRecipients",
            StoreError::OccurrenceOutOfRange => {
                "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"
            }
            StoreError::OccurrenceDeleted => "ErrorCalendarOccurrenceIsDeletedFromRecurrence",
        }
    }
}

/// A kind of change recorded in a journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// Created (or moved in).
    Create,
    /// Changed.
    Update,
    /// Deleted (or moved out).
    Delete,
    /// Only the read flag changed.
    ReadFlagChange,
}

/// One journal entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Mailbox-wide sequence number.
    pub seq: u64,
    /// Item (or folder) counter.
    pub key: u64,
    /// What happened.
    pub kind: ChangeKind,
}

/// A user account.
#[derive(Clone, Serialize, Deserialize)]
pub struct User {
    /// Primary SMTP address.
    pub address: String,
    /// Display name.
    pub display_name: String,
    /// Password.
    pub password: String,
    /// Roles.
    pub roles: Vec<String>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("address", &self.address)
            .field("display_name", &self.display_name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl User {
    /// Whether the user may impersonate others.
    pub fn can_impersonate(&self) -> bool {
        self.roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case(ROLE_IMPERSONATION))
    }
}

/// An OAuth application.
#[derive(Clone, Serialize, Deserialize)]
pub struct App {
    /// Client id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// Tenant.
    pub tenant: Option<String>,
    /// Permissions.
    pub roles: Vec<String>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("client_id", &self.client_id)
            .field("tenant", &self.tenant)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Whether the app may act on every mailbox.
    pub fn has_full_access(&self) -> bool {
        self.roles
            .iter()
            .any(|r| r.eq_ignore_ascii_case(PERMISSION_FULL_ACCESS))
    }
}

pub use ews_client::types::Item as EwsItem;

/// A stored item: an `ews-client` typed item with the store's bookkeeping.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredItem {
    /// Counter (part of the id).
    pub key: u64,
    /// The folder's counter.
    pub folder: u64,
    /// Version (part of the change key).
    pub version: u64,
    /// The item as a client sees it, without server-assigned ids.
    #[serde(with = "crate::itemxml::serde_item")]
    pub item: EwsItem,
    /// Created.
    pub created: DateTime<Utc>,
    /// Last modified.
    pub modified: DateTime<Utc>,
    /// Next attachment number.
    pub next_attachment: u64,
    /// The modified occurrences of a recurring series, each with all of its own fields.
    #[serde(default)]
    pub exceptions: Vec<OccurrenceException>,
}

/// A modified occurrence of a recurring series (an exception) as a client sees it: its own
/// subject, location, body and times, kept apart from the master's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OccurrenceException {
    /// The start the pattern gives the occurrence (identifies it in the series).
    pub original_start: DateTime<Utc>,
    /// The occurrence with its changes.
    #[serde(with = "crate::itemxml::serde_item")]
    pub item: EwsItem,
}

/// The read flag of an item (messages only).
pub fn is_read(item: &EwsItem) -> Option<bool> {
    match item {
        EwsItem::Message(m) => m.is_read,
        _ => None,
    }
}

/// Sets the read flag of a message (other items have none).
pub fn set_read(item: &mut EwsItem, read: Option<bool>) {
    if let EwsItem::Message(m) = item {
        m.is_read = read;
    }
}

/// Completes a contact as Exchange does when a client sets no `DisplayName` or `FileAs`: the
/// display name from the name parts ("Given Middle Surname Generation", else the company
/// name, else the first e-mail address) and `FileAs` by its `FileAsMapping` (default
/// "Surname, Given").
pub fn complete_contact(item: &mut EwsItem) {
    use ews_client::types::contact::FileAsMapping as M;
    let EwsItem::Contact(c) = item else {
        return;
    };
    fn part(p: &Option<String>) -> Option<String> {
        p.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
    fn join(parts: &[&Option<String>], sep: &str) -> Option<String> {
        let v: Vec<String> = parts.iter().filter_map(|p| part(p)).collect();
        (!v.is_empty()).then(|| v.join(sep))
    }
    let (given, surname, company) = (part(&c.given_name), part(&c.surname), part(&c.company_name));
    if part(&c.display_name).is_none() {
        let named = join(&[&given, &c.middle_name, &surname, &c.generation], " ");
        let email = c
            .email_addresses
            .iter()
            .map(|e| e.address.trim().to_string())
            .find(|a| !a.is_empty());
        c.display_name = named.or_else(|| company.clone()).or(email);
    }
    if part(&c.file_as).is_none() {
        let computed = match c.file_as_mapping {
            Some(M::FirstSpaceLast) => join(&[&given, &surname], " "),
            Some(M::LastFirst | M::LastSpaceFirst) => join(&[&surname, &given], " "),
            Some(M::Company) => company.clone(),
            Some(M::DisplayName) => c.display_name.clone(),
            Some(M::FirstName) => given.clone(),
            Some(M::LastName) => surname.clone(),
            Some(M::None | M::Empty) => None,
            _ => join(&[&surname, &given], ", "),
        };
        c.file_as = computed.or(company).or_else(|| c.display_name.clone());
    }
}

fn clear_server_fields(item: &mut EwsItem) {
    let c = item.common_mut();
    c.item_id = None;
    c.parent_folder_id = None;
}

fn number_attachments(item: &mut EwsItem, next: &mut u64) {
    for a in &mut item.common_mut().attachments {
        let common = attachment_common_mut(a);
        let numbered = common
            .attachment_id
            .as_ref()
            .and_then(|id| id.id.strip_prefix('#'))
            .and_then(|n| n.parse::<u64>().ok());
        if numbered.is_none() {
            common.attachment_id = Some(ews_client::types::AttachmentId {
                id: format!("#{next}"),
                root_item_id: None,
                root_item_change_key: None,
            });
            *next += 1;
        }
    }
}

/// The common fields of an attachment, mutably.
pub fn attachment_common_mut(
    a: &mut ews_client::types::Attachment,
) -> &mut ews_client::types::attachment::AttachmentCommon {
    match a {
        ews_client::types::Attachment::File(f) => &mut f.common,
        ews_client::types::Attachment::Item(i) => &mut i.common,
    }
}

/// The stored number of an attachment (its id inside the store is `#N`).
pub fn attachment_number(a: &ews_client::types::Attachment) -> Option<u64> {
    let common = match a {
        ews_client::types::Attachment::File(f) => &f.common,
        ews_client::types::Attachment::Item(i) => &i.common,
    };
    common
        .attachment_id
        .as_ref()
        .and_then(|id| id.id.strip_prefix('#'))
        .and_then(|n| n.parse().ok())
}

/// A folder.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Folder {
    /// Counter (part of the id).
    pub key: u64,
    /// Parent folder (none for the root).
    pub parent: Option<u64>,
    /// Display name.
    pub name: String,
    /// Folder class.
    pub class: String,
    /// Distinguished name, if distinguished.
    pub distinguished: Option<String>,
    /// Version (part of the change key).
    pub version: u64,
    /// Items in this folder.
    pub items: BTreeSet<u64>,
    /// Item change journal, ordered by sequence number.
    pub journal: Vec<JournalEntry>,
    /// When the folder's content last changed (`PR_LOCAL_COMMIT_TIME_MAX`).
    #[serde(default)]
    pub changed: Option<DateTime<Utc>>,
}

/// The net change of one item since a sync state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncChange {
    /// Item or folder counter.
    pub key: u64,
    /// Net change.
    pub kind: ChangeKind,
}

/// A page of changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncPage {
    /// Net changes in journal order.
    pub changes: Vec<SyncChange>,
    /// The journal position after this page.
    pub seq: u64,
    /// Whether this page reaches the end of the journal.
    pub includes_last: bool,
}

fn combine(prev: Option<ChangeKind>, next: ChangeKind) -> Option<ChangeKind> {
    use ChangeKind::*;
    match (prev, next) {
        (None, _) => None,
        (Some(Create), Delete) => None,
        (Some(Create), _) => Some(Create),
        (Some(_), Delete) => Some(Delete),
        (Some(Update), _) | (Some(ReadFlagChange), Update) => Some(Update),
        (Some(ReadFlagChange), _) => Some(ReadFlagChange),
        (Some(Delete), _) => Some(Delete),
    }
}

/// Net changes of `journal` after `since`, at most `max` distinct keys. Cost: proportional to
/// the entries read, found by binary search.
pub fn sync_page(journal: &[JournalEntry], since: u64, max: usize) -> SyncPage {
    let start = journal.partition_point(|e| e.seq <= since);
    let mut order: Vec<(u64, Option<ChangeKind>)> = Vec::new();
    let mut index: HashMap<u64, usize> = HashMap::new();
    let mut seq = since;
    let mut includes_last = true;
    for entry in &journal[start..] {
        match index.get(&entry.key) {
            Some(&i) => {
                if let Some(slot) = order.get_mut(i) {
                    slot.1 = combine(slot.1, entry.kind);
                }
            }
            None => {
                if order.len() >= max.max(1) {
                    includes_last = false;
                    break;
                }
                index.insert(entry.key, order.len());
                order.push((entry.key, Some(entry.kind)));
            }
        }
        seq = entry.seq;
    }
    if includes_last {
        seq = seq.max(journal.last().map_or(since, |e| e.seq.max(since)));
    }
    SyncPage {
        changes: order
            .into_iter()
            .filter_map(|(key, kind)| kind.map(|kind| SyncChange { key, kind }))
            .collect(),
        seq,
        includes_last,
    }
}

/// One user's mailbox.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Mailbox {
    /// Owner address (as configured).
    pub address: String,
    next_key: u64,
    next_seq: u64,
    /// Folders by counter.
    pub folders: BTreeMap<u64, Folder>,
    /// Items by counter.
    pub items: HashMap<u64, StoredItem>,
    /// Folder hierarchy journal.
    pub hierarchy_journal: Vec<JournalEntry>,
    /// Parents of deleted folders (so hierarchy sync can scope deletions).
    pub deleted_folder_parents: HashMap<u64, u64>,
}

impl Mailbox {
    /// A mailbox with the distinguished folders.
    pub fn new(address: &str) -> Self {
        let mut mb = Mailbox {
            address: address.to_string(),
            next_key: 1,
            next_seq: 1,
            folders: BTreeMap::new(),
            items: HashMap::new(),
            hierarchy_journal: Vec::new(),
            deleted_folder_parents: HashMap::new(),
        };
        for (name, parent, display, class) in DISTINGUISHED_FOLDERS {
            let parent = parent.and_then(|p| mb.distinguished(p));
            let key = mb.alloc_key();
            mb.folders.insert(
                key,
                Folder {
                    key,
                    parent,
                    name: (*display).to_string(),
                    class: (*class).to_string(),
                    distinguished: Some((*name).to_string()),
                    version: 1,
                    items: BTreeSet::new(),
                    journal: Vec::new(),
                    changed: Some(Utc::now()),
                },
            );
            if parent.is_some() {
                let seq = mb.alloc_seq();
                mb.hierarchy_journal.push(JournalEntry {
                    seq,
                    key,
                    kind: ChangeKind::Create,
                });
            }
        }
        mb
    }

    fn alloc_key(&mut self) -> u64 {
        let k = self.next_key;
        self.next_key += 1;
        k
    }

    fn alloc_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// The lower-case address used in ids.
    pub fn id_address(&self) -> String {
        self.address.to_ascii_lowercase()
    }

    /// The counter of a distinguished folder.
    pub fn distinguished(&self, name: &str) -> Option<u64> {
        self.folders
            .values()
            .find(|f| {
                f.distinguished
                    .as_deref()
                    .is_some_and(|d| d.eq_ignore_ascii_case(name))
            })
            .map(|f| f.key)
    }

    /// Resolves a folder path (`inbox/Projects/2024`; the first segment may be distinguished,
    /// otherwise the path starts at `msgfolderroot`).
    pub fn folder_by_path(&self, path: &str) -> Option<u64> {
        let mut segments = path.split('/').filter(|s| !s.is_empty()).peekable();
        let first = segments.peek()?;
        let mut current = match self.distinguished(first) {
            Some(k) => {
                segments.next();
                k
            }
            None => self.distinguished("msgfolderroot")?,
        };
        for seg in segments {
            current = self.child_named(current, seg)?;
        }
        Some(current)
    }

    fn child_named(&self, parent: u64, name: &str) -> Option<u64> {
        self.folders
            .values()
            .find(|f| f.parent == Some(parent) && f.name.eq_ignore_ascii_case(name))
            .map(|f| f.key)
    }

    /// The path of a folder as in the data file: from its nearest distinguished ancestor, with
    /// `msgfolderroot` left out (`inbox/Projects`, `CRM`).
    pub fn folder_path(&self, key: u64) -> String {
        let mut parts = Vec::new();
        let mut cur = self.folders.get(&key);
        while let Some(f) = cur {
            if let Some(d) = &f.distinguished {
                // paths are relative to msgfolderroot, as in the data file
                if parts.is_empty() || d != "msgfolderroot" {
                    parts.push(d.clone());
                }
                break;
            }
            parts.push(f.name.clone());
            cur = f.parent.and_then(|p| self.folders.get(&p));
        }
        parts.reverse();
        parts.join("/")
    }

    /// Whether `key` is `ancestor` or below it.
    pub fn is_under(&self, key: u64, ancestor: u64) -> bool {
        let mut cur = Some(key);
        let mut guard = 0;
        while let Some(k) = cur {
            if k == ancestor {
                return true;
            }
            guard += 1;
            if guard > 10_000 {
                return false;
            }
            cur = self
                .folders
                .get(&k)
                .and_then(|f| f.parent)
                .or_else(|| self.deleted_folder_parents.get(&k).copied());
        }
        false
    }

    /// Creates a user folder.
    pub fn create_folder(
        &mut self,
        parent: u64,
        name: &str,
        class: Option<&str>,
    ) -> Result<u64, StoreError> {
        let parent_class = self
            .folders
            .get(&parent)
            .ok_or(StoreError::FolderNotFound)?
            .class
            .clone();
        if self.child_named(parent, name).is_some() {
            return Err(StoreError::FolderExists);
        }
        let key = self.alloc_key();
        self.folders.insert(
            key,
            Folder {
                key,
                parent: Some(parent),
                name: name.to_string(),
                class: class.map_or(parent_class, str::to_string),
                distinguished: None,
                version: 1,
                items: BTreeSet::new(),
                journal: Vec::new(),
                changed: Some(Utc::now()),
            },
        );
        let seq = self.alloc_seq();
        self.hierarchy_journal.push(JournalEntry {
            seq,
            key,
            kind: ChangeKind::Create,
        });
        Ok(key)
    }

    /// Renames a folder and/or sets its folder class; the folder's version goes up and the
    /// hierarchy journal records an update. Distinguished folders keep their name.
    pub fn update_folder(
        &mut self,
        key: u64,
        name: Option<&str>,
        class: Option<&str>,
    ) -> Result<(), StoreError> {
        let folder = self.folders.get(&key).ok_or(StoreError::FolderNotFound)?;
        if let Some(name) = name {
            if folder.distinguished.is_some() && name != folder.name {
                return Err(StoreError::DeleteDistinguishedFolder);
            }
            if let Some(parent) = folder.parent
                && self.child_named(parent, name).is_some_and(|k| k != key)
            {
                return Err(StoreError::FolderExists);
            }
        }
        if let Some(f) = self.folders.get_mut(&key) {
            if let Some(name) = name {
                f.name = name.to_string();
            }
            if let Some(class) = class {
                f.class = class.to_string();
            }
            f.version += 1;
        }
        let seq = self.alloc_seq();
        self.hierarchy_journal.push(JournalEntry {
            seq,
            key,
            kind: ChangeKind::Update,
        });
        Ok(())
    }

    /// Moves a user folder (with its subtree) under `dest`, as `DeleteFolder` with
    /// `MoveToDeletedItems` does; the hierarchy journal records an update.
    pub fn move_folder(&mut self, key: u64, dest: u64) -> Result<(), StoreError> {
        let folder = self.folders.get(&key).ok_or(StoreError::FolderNotFound)?;
        if folder.distinguished.is_some() {
            return Err(StoreError::DeleteDistinguishedFolder);
        }
        if !self.folders.contains_key(&dest) || dest == key || self.is_under(dest, key) {
            return Err(StoreError::FolderNotFound);
        }
        let name = folder.name.clone();
        if self.child_named(dest, &name).is_some_and(|k| k != key) {
            return Err(StoreError::FolderExists);
        }
        if let Some(f) = self.folders.get_mut(&key) {
            f.parent = Some(dest);
            f.version += 1;
        }
        let seq = self.alloc_seq();
        self.hierarchy_journal.push(JournalEntry {
            seq,
            key,
            kind: ChangeKind::Update,
        });
        Ok(())
    }

    /// Deletes a user folder with its subfolders and items.
    pub fn delete_folder(&mut self, key: u64) -> Result<(), StoreError> {
        let folder = self.folders.get(&key).ok_or(StoreError::FolderNotFound)?;
        if folder.distinguished.is_some() {
            return Err(StoreError::DeleteDistinguishedFolder);
        }
        let children: Vec<u64> = self
            .folders
            .values()
            .filter(|f| f.parent == Some(key))
            .map(|f| f.key)
            .collect();
        for child in children {
            self.delete_folder(child)?;
        }
        if let Some(folder) = self.folders.remove(&key) {
            for item in &folder.items {
                self.items.remove(item);
            }
            if let Some(p) = folder.parent {
                self.deleted_folder_parents.insert(key, p);
            }
        }
        let seq = self.alloc_seq();
        self.hierarchy_journal.push(JournalEntry {
            seq,
            key,
            kind: ChangeKind::Delete,
        });
        Ok(())
    }

    fn journal(&mut self, folder: u64, key: u64, kind: ChangeKind) {
        let seq = self.alloc_seq();
        if let Some(f) = self.folders.get_mut(&folder) {
            f.journal.push(JournalEntry { seq, key, kind });
            f.changed = Some(Utc::now());
        }
    }

    /// Creates an item in a folder; returns its counter.
    pub fn create_item(&mut self, folder: u64, mut item: EwsItem) -> Result<u64, StoreError> {
        if !self.folders.contains_key(&folder) {
            return Err(StoreError::FolderNotFound);
        }
        let key = self.alloc_key();
        let now = Utc::now();
        clear_server_fields(&mut item);
        complete_contact(&mut item);
        let mut next_attachment = 1;
        number_attachments(&mut item, &mut next_attachment);
        self.items.insert(
            key,
            StoredItem {
                key,
                folder,
                version: 1,
                item,
                created: now,
                modified: now,
                next_attachment,
                exceptions: Vec::new(),
            },
        );
        if let Some(f) = self.folders.get_mut(&folder) {
            f.items.insert(key);
        }
        self.journal(folder, key, ChangeKind::Create);
        Ok(key)
    }

    /// Changes an item. With `expected_version`, a stale version fails with
    /// `IrresolvableConflict`. A change of the read flag alone is journalled as such.
    pub fn update_item(
        &mut self,
        key: u64,
        expected_version: Option<u64>,
        change: impl FnOnce(&mut EwsItem),
    ) -> Result<(), StoreError> {
        let stored = self.items.get_mut(&key).ok_or(StoreError::ItemNotFound)?;
        if expected_version.is_some_and(|v| v != stored.version) {
            return Err(StoreError::IrresolvableConflict);
        }
        let before = stored.item.clone();
        change(&mut stored.item);
        clear_server_fields(&mut stored.item);
        complete_contact(&mut stored.item);
        number_attachments(&mut stored.item, &mut stored.next_attachment);
        if stored.item == before {
            return Ok(());
        }
        let only_read = {
            let mut probe = stored.item.clone();
            set_read(&mut probe, is_read(&before));
            probe == before
        };
        stored.version += 1;
        stored.modified = Utc::now();
        let folder = stored.folder;
        let kind = if only_read {
            ChangeKind::ReadFlagChange
        } else {
            ChangeKind::Update
        };
        self.journal(folder, key, kind);
        Ok(())
    }

    /// Adds an attachment; returns its number.
    pub fn add_attachment(
        &mut self,
        key: u64,
        mut attachment: ews_client::types::Attachment,
    ) -> Result<u64, StoreError> {
        let stored = self.items.get_mut(&key).ok_or(StoreError::ItemNotFound)?;
        let number = stored.next_attachment;
        stored.next_attachment += 1;
        attachment_common_mut(&mut attachment).attachment_id =
            Some(ews_client::types::AttachmentId {
                id: format!("#{number}"),
                root_item_id: None,
                root_item_change_key: None,
            });
        stored.item.common_mut().attachments.push(attachment);
        stored.item.common_mut().has_attachments = Some(true);
        stored.version += 1;
        stored.modified = Utc::now();
        let folder = stored.folder;
        self.journal(folder, key, ChangeKind::Update);
        Ok(number)
    }

    /// Removes an attachment.
    pub fn delete_attachment(&mut self, key: u64, number: u64) -> Result<(), StoreError> {
        let stored = self.items.get_mut(&key).ok_or(StoreError::ItemNotFound)?;
        let list = &mut stored.item.common_mut().attachments;
        let before = list.len();
        list.retain(|a| attachment_number(a) != Some(number));
        if list.len() == before {
            return Err(StoreError::AttachmentNotFound);
        }
        let has = !list.is_empty();
        stored.item.common_mut().has_attachments = Some(has);
        stored.version += 1;
        stored.modified = Utc::now();
        let folder = stored.folder;
        self.journal(folder, key, ChangeKind::Update);
        Ok(())
    }

    /// Deletes an item.
    pub fn delete_item(&mut self, key: u64) -> Result<StoredItem, StoreError> {
        let item = self.items.remove(&key).ok_or(StoreError::ItemNotFound)?;
        if let Some(f) = self.folders.get_mut(&item.folder) {
            f.items.remove(&key);
        }
        self.journal(item.folder, key, ChangeKind::Delete);
        Ok(item)
    }

    /// Moves an item to another folder; it gets a new counter (and so a new id).
    pub fn move_item(&mut self, key: u64, dest: u64) -> Result<u64, StoreError> {
        if !self.folders.contains_key(&dest) {
            return Err(StoreError::FolderNotFound);
        }
        let stored = self.delete_item(key)?;
        let new_key = self.alloc_key();
        let now = Utc::now();
        self.items.insert(
            new_key,
            StoredItem {
                key: new_key,
                folder: dest,
                version: stored.version + 1,
                modified: now,
                ..stored
            },
        );
        if let Some(f) = self.folders.get_mut(&dest) {
            f.items.insert(new_key);
        }
        self.journal(dest, new_key, ChangeKind::Create);
        Ok(new_key)
    }

    /// Copies an item into a folder; returns the copy's counter.
    pub fn copy_item(&mut self, key: u64, dest: u64) -> Result<u64, StoreError> {
        let item = self
            .items
            .get(&key)
            .ok_or(StoreError::ItemNotFound)?
            .item
            .clone();
        self.create_item(dest, item)
    }

    /// Item changes of `folder` since `since` (at most `max` items).
    pub fn sync_items(&self, folder: u64, since: u64, max: usize) -> Result<SyncPage, StoreError> {
        let f = self
            .folders
            .get(&folder)
            .ok_or(StoreError::FolderNotFound)?;
        Ok(sync_page(&f.journal, since, max))
    }

    /// The mailbox's journal position: every change so far has a sequence number up to it.
    pub fn head_seq(&self) -> u64 {
        self.next_seq.saturating_sub(1)
    }

    /// The highest item or folder counter allocated so far (a new or moved item always gets a
    /// higher one).
    pub fn last_key(&self) -> u64 {
        self.next_key.saturating_sub(1)
    }

    /// The live items of `folder` with counters in `after + 1 ..= up_to`, by counter, at most
    /// `max` (the listing of a first synchronisation). Cost: proportional to `max`.
    pub fn live_items(
        &self,
        folder: u64,
        after: u64,
        up_to: u64,
        max: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let f = self
            .folders
            .get(&folder)
            .ok_or(StoreError::FolderNotFound)?;
        if after >= up_to {
            return Ok(Vec::new());
        }
        Ok(f.items
            .range(after + 1..=up_to)
            .take(max)
            .copied()
            .collect())
    }

    /// Folder changes below `root` since `since` (at most `max` folders).
    pub fn sync_hierarchy(
        &self,
        root: u64,
        since: u64,
        max: usize,
    ) -> Result<SyncPage, StoreError> {
        if !self.folders.contains_key(&root) {
            return Err(StoreError::FolderNotFound);
        }
        let mut page = sync_page(&self.hierarchy_journal, since, max);
        page.changes
            .retain(|c| c.key != root && self.is_under(c.key, root));
        Ok(page)
    }

    /// The opaque id of an item.
    pub fn item_id(&self, key: u64) -> String {
        ids::encode_id(IdKind::Item, &self.id_address(), key, 0)
    }

    /// The opaque id of a folder.
    pub fn folder_id(&self, key: u64) -> String {
        ids::encode_id(IdKind::Folder, &self.id_address(), key, 0)
    }

    /// A snapshot for inspection.
    pub fn snapshot(&self) -> MailboxSnapshot {
        let folders = self
            .folders
            .values()
            .map(|f| FolderSnapshot {
                id: self.folder_id(f.key),
                change_key: ids::encode_change_key(f.key, f.version),
                path: self.folder_path(f.key),
                name: f.name.clone(),
                class: f.class.clone(),
                distinguished: f.distinguished.clone(),
                item_count: f.items.len(),
            })
            .collect();
        let mut items: Vec<&StoredItem> = self.items.values().collect();
        items.sort_by_key(|i| i.key);
        let items = items
            .into_iter()
            .map(|i| ItemSnapshot {
                id: self.item_id(i.key),
                change_key: ids::encode_change_key(i.key, i.version),
                folder: self.folder_path(i.folder),
                class: i.item.common().item_class.clone().unwrap_or_default(),
                subject: i.item.common().subject.clone(),
                xml: crate::itemxml::item_to_xml(&i.item),
            })
            .collect();
        MailboxSnapshot {
            address: self.address.clone(),
            folders,
            items,
        }
    }
}

/// A mailbox as seen by the inspection API.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MailboxSnapshot {
    /// Owner address.
    pub address: String,
    /// Folders.
    pub folders: Vec<FolderSnapshot>,
    /// Items.
    pub items: Vec<ItemSnapshot>,
}

impl MailboxSnapshot {
    /// The items in the folder at `path`.
    pub fn items_in<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a ItemSnapshot> + 'a {
        self.items
            .iter()
            .filter(move |i| i.folder.eq_ignore_ascii_case(path))
    }
}

/// A folder as seen by the inspection API.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FolderSnapshot {
    /// Opaque folder id.
    pub id: String,
    /// Change key.
    pub change_key: String,
    /// Path from msgfolderroot.
    pub path: String,
    /// Display name.
    pub name: String,
    /// Folder class.
    pub class: String,
    /// Distinguished name.
    pub distinguished: Option<String>,
    /// Number of items.
    pub item_count: usize,
}

/// An item as seen by the inspection API.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ItemSnapshot {
    /// Opaque item id.
    pub id: String,
    /// Change key.
    pub change_key: String,
    /// Folder path.
    pub folder: String,
    /// Item class.
    pub class: String,
    /// Subject.
    pub subject: Option<String>,
    /// The whole item as EWS XML (`t:Contact`, ...).
    pub xml: String,
}

impl ItemSnapshot {
    /// The typed item.
    pub fn item(&self) -> Option<EwsItem> {
        crate::itemxml::item_from_xml(&self.xml).ok()
    }
}

/// A message sent to addresses outside the organisation.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OutboundMail {
    /// Sender address.
    pub from: String,
    /// External recipients.
    pub recipients: Vec<String>,
    /// The message.
    #[serde(with = "crate::itemxml::serde_item")]
    pub message: EwsItem,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
}

/// A distribution group.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Group {
    /// Address.
    pub address: String,
    /// Display name.
    pub display_name: String,
    /// Members.
    pub members: Vec<String>,
}

/// The whole organisation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Store {
    /// Server settings.
    pub settings: Settings,
    /// Key of the sync-state HMAC (kept in the state file so states survive restarts).
    pub sync_secret: Vec<u8>,
    /// Users by lower-case address.
    pub users: BTreeMap<String, User>,
    /// Groups by lower-case address.
    pub groups: BTreeMap<String, Group>,
    /// Apps by client id.
    pub apps: BTreeMap<String, App>,
    /// Mailboxes by lower-case address.
    pub mailboxes: BTreeMap<String, Mailbox>,
    /// Mail to external addresses.
    pub outbox: Vec<OutboundMail>,
}

fn default_item_class(folder_class: &str) -> &'static str {
    match folder_class {
        c if c.starts_with("IPF.Contact") => "IPM.Contact",
        c if c.starts_with("IPF.Appointment") => "IPM.Appointment",
        c if c.starts_with("IPF.Task") => "IPM.Task",
        c if c.starts_with("IPF.StickyNote") => "IPM.StickyNote",
        c if c.starts_with("IPF.Journal") => "IPM.Activity",
        _ => "IPM.Note",
    }
}

impl Store {
    /// An empty organisation with the given settings.
    pub fn new(settings: Settings) -> Self {
        let mut secret = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
        Store {
            settings,
            sync_secret: secret,
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            apps: BTreeMap::new(),
            mailboxes: BTreeMap::new(),
            outbox: Vec::new(),
        }
    }

    /// Builds the organisation from a data file's content.
    pub fn from_data(data: &OrgData) -> Result<Self, MockError> {
        let mut store = Store::new(data.settings.clone());
        store.seed(data)?;
        Ok(store)
    }

    /// Adds (or replaces) users, groups and apps and adds mailbox content, all or nothing: on
    /// an error the organisation is unchanged.
    pub fn seed(&mut self, data: &OrgData) -> Result<(), MockError> {
        let mut next = self.clone();
        next.seed_in_place(data)?;
        *self = next;
        Ok(())
    }

    fn seed_in_place(&mut self, data: &OrgData) -> Result<(), MockError> {
        for u in &data.users {
            self.add_user(u)?;
        }
        for g in &data.groups {
            self.add_group(g)?;
        }
        for a in &data.apps {
            self.add_app(a)?;
        }
        for m in &data.mailboxes {
            self.add_mailbox_content(m)?;
        }
        Ok(())
    }

    /// Adds or replaces a user; creates the mailbox if new.
    pub fn add_user(&mut self, u: &UserData) -> Result<(), MockError> {
        let address = u.address.trim();
        if !address.contains('@') {
            return Err(MockError::InvalidData(format!(
                "user address {address:?} is not an SMTP address"
            )));
        }
        let lower = address.to_ascii_lowercase();
        let display_name = u
            .display_name
            .clone()
            .unwrap_or_else(|| address.split('@').next().unwrap_or(address).to_string());
        self.users.insert(
            lower.clone(),
            User {
                address: address.to_string(),
                display_name,
                password: u.password.clone(),
                roles: u.roles.clone(),
            },
        );
        self.mailboxes
            .entry(lower)
            .or_insert_with(|| Mailbox::new(address));
        Ok(())
    }

    /// Adds or replaces a group.
    pub fn add_group(&mut self, g: &GroupData) -> Result<(), MockError> {
        let lower = g.address.trim().to_ascii_lowercase();
        if !lower.contains('@') {
            return Err(MockError::InvalidData(format!(
                "group address {:?} is not an SMTP address",
                g.address
            )));
        }
        self.groups.insert(
            lower,
            Group {
                address: g.address.trim().to_string(),
                display_name: g.display_name.clone().unwrap_or_else(|| g.address.clone()),
                members: g.members.clone(),
            },
        );
        Ok(())
    }

    /// Adds or replaces an OAuth app.
    pub fn add_app(&mut self, a: &AppData) -> Result<(), MockError> {
        if a.client_id.is_empty() || a.client_secret.is_empty() {
            return Err(MockError::InvalidData(
                "an app needs a client_id and a client_secret".to_string(),
            ));
        }
        self.apps.insert(
            a.client_id.clone(),
            App {
                client_id: a.client_id.clone(),
                client_secret: a.client_secret.clone(),
                tenant: a.tenant.clone(),
                roles: a.roles.clone(),
            },
        );
        Ok(())
    }

    /// Adds folders and items to a user's mailbox.
    pub fn add_mailbox_content(&mut self, m: &MailboxData) -> Result<(), MockError> {
        let mb = self
            .mailboxes
            .get_mut(&m.owner.trim().to_ascii_lowercase())
            .ok_or_else(|| MockError::InvalidData(format!("mailbox {:?} has no user", m.owner)))?;
        for f in &m.folders {
            add_folder_path(mb, f)?;
        }
        for i in &m.items {
            add_item(mb, i)?;
        }
        Ok(())
    }

    /// Delivers a sent message: a copy into the inbox of every recipient in the organisation
    /// (groups expanded), and one outbox entry for the recipients outside it. Fails with
    /// `InvalidRecipients` when the message has none.
    pub fn deliver(&mut self, sender: &str, message: &EwsItem) -> Result<(), StoreError> {
        let EwsItem::Message(m) = message else {
            return Err(StoreError::InvalidRecipients);
        };
        let mut pending: Vec<String> = m
            .to_recipients
            .iter()
            .chain(&m.cc_recipients)
            .chain(&m.bcc_recipients)
            .filter_map(|r| r.email_address.clone())
            .collect();
        if pending.is_empty() {
            return Err(StoreError::InvalidRecipients);
        }
        let mut internal: Vec<String> = Vec::new();
        let mut external: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        while let Some(address) = pending.pop() {
            let lower = address.trim().to_ascii_lowercase();
            if !seen.insert(lower.clone()) {
                continue;
            }
            if let Some(g) = self.groups.get(&lower) {
                pending.extend(g.members.iter().cloned());
            } else if self.mailboxes.contains_key(&lower) {
                internal.push(lower);
            } else {
                external.push(address.trim().to_string());
            }
        }
        let now = Utc::now();
        let sender_user = self
            .user(sender)
            .map(|u| (u.display_name.clone(), u.address.clone()));
        let mut copy = message.clone();
        if let EwsItem::Message(c) = &mut copy {
            let from = sender_user.as_ref().map(|(name, address)| {
                ews_client::types::EmailAddress::smtp(address.clone(), Some(name))
            });
            if c.from.is_none() {
                c.from.clone_from(&from);
            }
            if c.sender.is_none() {
                c.sender = from;
            }
            c.is_read = Some(false);
            c.bcc_recipients.clear();
            c.common.date_time_sent = Some(now);
            c.common.date_time_received = Some(now);
            c.common.is_draft = Some(false);
        }
        for address in internal {
            if let Some(mb) = self.mailboxes.get_mut(&address)
                && let Some(inbox) = mb.distinguished("inbox")
            {
                mb.create_item(inbox, copy.clone())?;
            }
        }
        if !external.is_empty() {
            external.sort();
            self.outbox.push(OutboundMail {
                from: sender.to_string(),
                recipients: external,
                message: copy,
                sent_at: now,
            });
        }
        Ok(())
    }

    /// A mailbox by address (any case).
    pub fn mailbox(&self, address: &str) -> Option<&Mailbox> {
        self.mailboxes.get(&address.trim().to_ascii_lowercase())
    }

    /// A mailbox by address (any case), mutable.
    pub fn mailbox_mut(&mut self, address: &str) -> Option<&mut Mailbox> {
        self.mailboxes.get_mut(&address.trim().to_ascii_lowercase())
    }

    /// A user by address (any case).
    pub fn user(&self, address: &str) -> Option<&User> {
        self.users.get(&address.trim().to_ascii_lowercase())
    }

    /// Finds a user by logon name: an address, `DOMAIN\user` or a bare local part.
    pub fn user_by_logon(&self, logon: &str) -> Option<&User> {
        let logon = logon.trim();
        let name = logon.rsplit('\\').next().unwrap_or(logon);
        if name.contains('@') {
            return self.user(name);
        }
        self.users.values().find(|u| {
            u.address
                .split('@')
                .next()
                .is_some_and(|local| local.eq_ignore_ascii_case(name))
        })
    }
}

fn add_folder_path(mb: &mut Mailbox, f: &FolderData) -> Result<u64, MockError> {
    let segments: Vec<&str> = f.path.split('/').filter(|s| !s.is_empty()).collect();
    let Some(first) = segments.first() else {
        return Err(MockError::InvalidData("empty folder path".to_string()));
    };
    let (mut current, rest) = match mb.distinguished(first) {
        Some(k) => (k, &segments[1..]),
        None => (
            mb.distinguished("msgfolderroot")
                .ok_or_else(|| MockError::InvalidData("mailbox without root".to_string()))?,
            &segments[..],
        ),
    };
    let last = rest.len().saturating_sub(1);
    for (i, seg) in rest.iter().enumerate() {
        current = match mb.child_named(current, seg) {
            Some(k) => k,
            None => {
                let class = if i == last { f.class.as_deref() } else { None };
                mb.create_folder(current, seg, class)
                    .map_err(|e| MockError::InvalidData(format!("folder {}: {e}", f.path)))?
            }
        };
    }
    Ok(current)
}

fn element_for_class(class: &str) -> &'static str {
    match class {
        c if c.starts_with("IPM.Contact") => "Contact",
        c if c.starts_with("IPM.Appointment") => "CalendarItem",
        c if c.starts_with("IPM.Task") => "Task",
        c if c.starts_with("IPM.Note") || c.starts_with("IPM.Schedule") => "Message",
        _ => "Item",
    }
}

/// Builds an item from a data-file entry: its `xml`, or an element for its class with the
/// subject, read flag and fields (by EWS element name) as children.
pub fn item_from_data(i: &ItemData, folder_class: &str) -> Result<EwsItem, MockError> {
    let class = i
        .class
        .clone()
        .unwrap_or_else(|| default_item_class(folder_class).to_string());
    let mut item = match &i.xml {
        Some(xml) => crate::itemxml::item_from_xml(xml)
            .map_err(|e| MockError::InvalidData(format!("item xml: {e}")))?,
        None => {
            use ews_client::xml::{Ns, XmlWriter};
            let element = element_for_class(&class);
            let mut w = XmlWriter::new();
            w.start_root(Ns::Types, element).open();
            if let Some(subject) = &i.subject {
                w.text_element(Ns::Types, "Subject", subject);
            }
            for (name, value) in &i.fields {
                if !name.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err(MockError::InvalidData(format!("bad field name {name:?}")));
                }
                w.text_element(Ns::Types, name, value);
            }
            if element == "Message" {
                w.text_element(
                    Ns::Types,
                    "IsRead",
                    if i.is_read { "true" } else { "false" },
                );
            }
            w.end(Ns::Types, element);
            crate::itemxml::item_from_xml(&w.into_string())
                .map_err(|e| MockError::InvalidData(format!("item fields: {e}")))?
        }
    };
    let common = item.common_mut();
    if common.item_class.is_none() {
        common.item_class = Some(class);
    }
    if common.subject.is_none() {
        common.subject.clone_from(&i.subject);
    }
    Ok(item)
}

fn add_item(mb: &mut Mailbox, i: &ItemData) -> Result<u64, MockError> {
    let folder = mb.folder_by_path(&i.folder).ok_or_else(|| {
        MockError::InvalidData(format!("item folder {:?} does not exist", i.folder))
    })?;
    let folder_class = mb
        .folders
        .get(&folder)
        .map(|f| f.class.clone())
        .unwrap_or_default();
    let item = item_from_data(i, &folder_class)?;
    mb.create_item(folder, item)
        .map_err(|e| MockError::InvalidData(format!("item in {}: {e}", i.folder)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(name: &str) -> EwsItem {
        let mut c = ews_client::types::Contact::default();
        c.common.subject = Some(name.into());
        EwsItem::Contact(c)
    }

    fn message() -> EwsItem {
        EwsItem::Message(ews_client::types::Message::default())
    }

    #[test]
    fn new_mailbox_has_all_distinguished_folders() {
        let mb = Mailbox::new("a@x");
        for (name, _, _, class) in DISTINGUISHED_FOLDERS {
            let k = mb.distinguished(name).unwrap();
            assert_eq!(&mb.folders[&k].class, class);
        }
        let inbox = mb.distinguished("inbox").unwrap();
        assert!(mb.is_under(inbox, mb.distinguished("msgfolderroot").unwrap()));
    }

    #[test]
    fn journal_coalesces_changes_since_a_state() {
        let mut mb = Mailbox::new("a@x");
        let c = mb.distinguished("contacts").unwrap();
        let a = mb.create_item(c, contact("A")).unwrap();
        let b = mb.create_item(c, contact("B")).unwrap();
        let p0 = mb.sync_items(c, 0, 100).unwrap();
        assert_eq!(p0.changes.len(), 2);
        assert!(p0.includes_last);
        let s = p0.seq;
        mb.update_item(a, None, |x| x.common_mut().subject = Some("A2".into()))
            .unwrap();
        mb.update_item(a, None, |x| x.common_mut().categories = vec!["x".into()])
            .unwrap();
        let m = mb.create_item(c, message()).unwrap();
        mb.update_item(m, None, |x| set_read(x, Some(true)))
            .unwrap();
        mb.update_item(b, None, |x| x.common_mut().subject = Some("B2".into()))
            .unwrap();
        let t = mb.create_item(c, contact("T")).unwrap();
        mb.delete_item(t).unwrap();
        let p1 = mb.sync_items(c, s, 100).unwrap();
        let kinds: Vec<(u64, ChangeKind)> = p1.changes.iter().map(|c| (c.key, c.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (a, ChangeKind::Update),
                (m, ChangeKind::Create),
                (b, ChangeKind::Update)
            ]
        );
        mb.update_item(m, None, |x| set_read(x, Some(false)))
            .unwrap();
        let p2 = mb.sync_items(c, p1.seq, 100).unwrap();
        assert_eq!(
            p2.changes,
            vec![SyncChange {
                key: m,
                kind: ChangeKind::ReadFlagChange
            }]
        );
        let none = mb.sync_items(c, p2.seq, 100).unwrap();
        assert!(none.changes.is_empty() && none.includes_last);
        assert_eq!(none.seq, p2.seq);
    }

    #[test]
    fn sync_pages_with_max_changes() {
        let mut mb = Mailbox::new("a@x");
        let c = mb.distinguished("contacts").unwrap();
        for i in 0..5 {
            mb.create_item(c, contact(&format!("C{i}"))).unwrap();
        }
        let p1 = mb.sync_items(c, 0, 2).unwrap();
        assert_eq!((p1.changes.len(), p1.includes_last), (2, false));
        let p2 = mb.sync_items(c, p1.seq, 2).unwrap();
        assert_eq!((p2.changes.len(), p2.includes_last), (2, false));
        let p3 = mb.sync_items(c, p2.seq, 2).unwrap();
        assert_eq!((p3.changes.len(), p3.includes_last), (1, true));
    }

    #[test]
    fn move_gives_a_new_id_and_journals_both_folders() {
        let mut mb = Mailbox::new("a@x");
        let inbox = mb.distinguished("inbox").unwrap();
        let junk = mb.distinguished("junkemail").unwrap();
        let k = mb.create_item(inbox, message()).unwrap();
        let s_in = mb.sync_items(inbox, 0, 10).unwrap().seq;
        let s_junk = mb.sync_items(junk, 0, 10).unwrap().seq;
        let k2 = mb.move_item(k, junk).unwrap();
        assert_ne!(mb.item_id(k), mb.item_id(k2));
        assert_eq!(
            mb.sync_items(inbox, s_in, 10).unwrap().changes,
            vec![SyncChange {
                key: k,
                kind: ChangeKind::Delete
            }]
        );
        assert_eq!(
            mb.sync_items(junk, s_junk, 10).unwrap().changes,
            vec![SyncChange {
                key: k2,
                kind: ChangeKind::Create
            }]
        );
    }

    #[test]
    fn stale_version_is_a_conflict() {
        let mut mb = Mailbox::new("a@x");
        let c = mb.distinguished("contacts").unwrap();
        let k = mb.create_item(c, contact("A")).unwrap();
        mb.update_item(k, Some(1), |x| x.common_mut().subject = Some("B".into()))
            .unwrap();
        assert_eq!(
            mb.update_item(k, Some(1), |x| x.common_mut().subject = Some("C".into())),
            Err(StoreError::IrresolvableConflict)
        );
        mb.update_item(k, None, |x| x.common_mut().subject = Some("C".into()))
            .unwrap();
        assert_eq!(mb.items[&k].version, 3);
    }

    #[test]
    fn data_file_builds_folders_of_any_depth() {
        let data = OrgData::from_toml(
            r#"
            [[users]]
            address = "alice@contoso.test"
            password = "pw"
            [[mailboxes]]
            owner = "alice@contoso.test"
            folders = [{ path = "inbox/Projects/2024/Q1" }, { path = "CRM", class = "IPF.Contact" }]
            items = [{ folder = "CRM", subject = "Bob", fields = { GivenName = "Bob" } }]
            "#,
        )
        .unwrap();
        let store = Store::from_data(&data).unwrap();
        let mb = store.mailbox("ALICE@contoso.test").unwrap();
        let q1 = mb.folder_by_path("inbox/projects/2024/q1").unwrap();
        assert_eq!(mb.folder_path(q1), "inbox/Projects/2024/Q1");
        let snap = mb.snapshot();
        let crm: Vec<_> = snap.items_in("CRM").collect();
        assert_eq!(crm.len(), 1);
        assert_eq!(crm[0].class, "IPM.Contact");
        let Some(EwsItem::Contact(bob)) = crm[0].item() else {
            panic!("not a contact: {}", crm[0].xml)
        };
        assert_eq!(bob.given_name.as_deref(), Some("Bob"));
        let bad = OrgData::from_toml("[[mailboxes]]\nowner = \"nobody@x\"\n").unwrap();
        assert!(Store::from_data(&bad).is_err());
    }
}
