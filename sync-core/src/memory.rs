//! An in-memory [`Side`] with a change feed, scope, moves and fault injection: the test
//! double for both sides (used by this crate's tests and benchmark, and usable by hosts).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::{
    ChangeSet, Entry, Id, Key, Listing, Record, Side, SideError, SideErrorKind, WriteOp,
    WriteOutcome,
};

/// A record held by a [`MemorySide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemItem {
    /// Its version (bumped on every change).
    pub version: u64,
    /// Its correlation key.
    pub key: Option<Key>,
    /// Its content.
    pub record: Record,
    /// Whether it is in the sync's scope (listed, fetchable, writable).
    pub in_scope: bool,
}

/// What a [`MemorySide`] offers besides its full listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Feed {
    /// No change feed: every run lists the side in full ([`Side::changes_since`] answers
    /// `None`).
    #[default]
    FullListing,
    /// A change feed that reports every record touched since the token, including one
    /// created and gone again in between (reported as removed).
    Delta,
    /// A change feed that coalesces like Exchange's (SyncFolderItems): a record created after
    /// the token and gone (deleted or out of scope) by now is not reported at all, and a
    /// created-then-updated record is reported once, with its current version.
    CoalescingDelta,
}

/// Whether a record of a [`MemorySide`] is in the sync's scope ([`MemorySide::set_scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// In scope: listed, fetchable, writable.
    In,
    /// Out of scope (moved to another folder, filtered out): the sync no longer sees it.
    Out,
}

/// A fault injected into the next write op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The op is not applied and reported as failed.
    Fail,
    /// The op is applied but reported with an unknown outcome.
    Unknown,
    /// The whole batch the op is in fails before anything is applied.
    BatchError,
}

/// A write that was applied to a [`MemorySide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A record was created.
    Created(Id),
    /// A record's content was replaced.
    Updated(Id),
    /// A record was deleted.
    Deleted(Id),
    /// A record got its key stored.
    Keyed(Id),
}

/// Call counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SideStats {
    /// `list` calls.
    pub lists: usize,
    /// `changes_since` calls.
    pub feeds: usize,
    /// `fetch` calls.
    pub fetches: usize,
    /// Records returned by `fetch`.
    pub records_fetched: usize,
    /// Entries returned by `list` and `changes_since`.
    pub entries_read: usize,
    /// `write` calls.
    pub write_calls: usize,
}

/// An in-memory side.
#[derive(Debug, Clone)]
pub struct MemorySide {
    prefix: String,
    items: BTreeMap<Id, MemItem>,
    next_id: u64,
    next_version: u64,
    log: Vec<Id>,
    feed: Feed,
    /// Log position at which each id came into existence (create, insert, move target).
    born: BTreeMap<Id, usize>,
    faults: VecDeque<Fault>,
    /// Refuse (as [`SideErrorKind::Rejected`]) any batch holding a record larger than this.
    max_record_bytes: Option<usize>,
    /// Call counters.
    pub stats: SideStats,
    /// Every applied write, in order.
    pub applied: Vec<Applied>,
}

impl MemorySide {
    /// An empty side whose ids start with `prefix`, with or without a change feed.
    ///
    /// ```
    /// use sync_core::memory::{Feed, MemorySide};
    /// let crm = MemorySide::new("crm-", Feed::FullListing);
    /// let exchange = MemorySide::new("ews-", Feed::CoalescingDelta);
    /// # let _ = (crm, exchange);
    /// ```
    pub fn new(prefix: &str, feed: Feed) -> Self {
        MemorySide {
            prefix: prefix.to_owned(),
            items: BTreeMap::new(),
            next_id: 1,
            next_version: 1,
            log: Vec::new(),
            feed,
            born: BTreeMap::new(),
            faults: VecDeque::new(),
            max_record_bytes: None,
            stats: SideStats::default(),
            applied: Vec::new(),
        }
    }

    /// Builder: refuse any write batch that holds a record whose JSON is larger than `bytes`,
    /// as a whole and before writing anything, with a [`SideErrorKind::Rejected`] error (like
    /// a server answering HTTP 413 to a request that is too large).
    #[must_use]
    pub fn reject_records_over(mut self, bytes: usize) -> Self {
        self.max_record_bytes = Some(bytes);
        self
    }

    fn oversized(&self, ops: &[WriteOp]) -> bool {
        let Some(max) = self.max_record_bytes else {
            return false;
        };
        ops.iter().any(|op| match op {
            WriteOp::Create { record, .. } | WriteOp::Update { record, .. } => {
                serde_json::to_string(record).map_or(0, |s| s.len()) > max
            }
            WriteOp::Delete { .. } | WriteOp::SetKey { .. } => false,
        })
    }

    fn born_now(&mut self, id: &str) {
        self.born.insert(id.to_owned(), self.log.len());
    }

    fn bump(&mut self) -> u64 {
        self.next_version += 1;
        self.next_version
    }

    fn touch(&mut self, id: &str) {
        self.log.push(id.to_owned());
    }

    fn new_id(&mut self) -> Id {
        let id = format!("{}{}", self.prefix, self.next_id);
        self.next_id += 1;
        id
    }

    /// Add a record (a user creating it), in scope, without a key.
    pub fn insert(&mut self, record: Record) -> Id {
        let id = self.new_id();
        let version = self.bump();
        self.items.insert(
            id.clone(),
            MemItem {
                version,
                key: None,
                record,
                in_scope: true,
            },
        );
        self.born_now(&id);
        self.touch(&id);
        id
    }

    /// Set a field (a user editing). Returns false if there is no such record.
    pub fn edit(&mut self, id: &str, field: &str, value: &str) -> bool {
        let version = self.bump();
        let Some(item) = self.items.get_mut(id) else {
            return false;
        };
        item.record.fields.insert(field.to_owned(), value.into());
        item.version = version;
        self.touch(id);
        true
    }

    /// Remove a field (a user clearing it). Returns false if there is no such record.
    pub fn clear_field(&mut self, id: &str, field: &str) -> bool {
        let version = self.bump();
        let Some(item) = self.items.get_mut(id) else {
            return false;
        };
        item.record.fields.remove(field);
        item.version = version;
        self.touch(id);
        true
    }

    /// Delete a record (a user deleting).
    pub fn remove(&mut self, id: &str) -> bool {
        let found = self.items.remove(id).is_some();
        if found {
            self.touch(id);
        }
        found
    }

    /// Give a record a new id (Exchange moving an item); the key and content stay.
    pub fn move_item(&mut self, id: &str) -> Option<Id> {
        let mut item = self.items.remove(id)?;
        let new = self.new_id();
        item.version = self.bump();
        self.items.insert(new.clone(), item);
        self.touch(id);
        self.born_now(&new);
        self.touch(&new);
        Some(new)
    }

    /// Move a record out of or into the scope. Returns whether the record exists.
    pub fn set_scope(&mut self, id: &str, scope: Scope) -> bool {
        let in_scope = scope == Scope::In;
        let Some(item) = self.items.get_mut(id) else {
            return false;
        };
        if item.in_scope != in_scope {
            item.in_scope = in_scope;
            self.touch(id);
        }
        true
    }

    /// Queue a fault for the next write op.
    pub fn inject(&mut self, fault: Fault) {
        self.faults.push_back(fault);
    }

    /// Drop queued faults.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// A record.
    pub fn get(&self, id: &str) -> Option<&MemItem> {
        self.items.get(id)
    }

    /// Every record, in or out of scope.
    pub fn items(&self) -> &BTreeMap<Id, MemItem> {
        &self.items
    }

    /// The ids of the records in scope.
    pub fn in_scope(&self) -> Vec<Id> {
        self.items
            .iter()
            .filter(|(_, i)| i.in_scope)
            .map(|(id, _)| id.clone())
            .collect()
    }

    fn entry(id: &str, item: &MemItem) -> Entry {
        Entry {
            id: id.to_owned(),
            version: item.version.to_string(),
            key: item.key.clone(),
        }
    }

    fn scoped_mut(&mut self, id: &str) -> Option<&mut MemItem> {
        self.items.get_mut(id).filter(|i| i.in_scope)
    }

    fn check(&mut self, id: &str, expected: &str) -> Result<(), WriteOutcome> {
        match self.scoped_mut(id) {
            None => Err(WriteOutcome::NotFound),
            Some(i) if i.version.to_string() != expected => Err(WriteOutcome::Conflict),
            Some(_) => Ok(()),
        }
    }

    fn apply_op(&mut self, op: WriteOp) -> WriteOutcome {
        match op {
            WriteOp::Create { record, key } => {
                let id = self.new_id();
                let version = self.bump();
                self.items.insert(
                    id.clone(),
                    MemItem {
                        version,
                        key: Some(key),
                        record,
                        in_scope: true,
                    },
                );
                self.born_now(&id);
                self.touch(&id);
                self.applied.push(Applied::Created(id.clone()));
                WriteOutcome::Done {
                    id,
                    version: version.to_string(),
                }
            }
            WriteOp::Update {
                id,
                expected,
                record,
                key,
            } => {
                if let Err(o) = self.check(&id, &expected) {
                    return o;
                }
                let version = self.bump();
                if let Some(item) = self.scoped_mut(&id) {
                    item.record = record;
                    item.key = Some(key);
                    item.version = version;
                }
                self.touch(&id);
                self.applied.push(Applied::Updated(id.clone()));
                WriteOutcome::Done {
                    id,
                    version: version.to_string(),
                }
            }
            WriteOp::Delete { id, expected } => {
                if let Err(o) = self.check(&id, &expected) {
                    return o;
                }
                self.items.remove(&id);
                self.touch(&id);
                self.applied.push(Applied::Deleted(id.clone()));
                WriteOutcome::Done {
                    id,
                    version: String::new(),
                }
            }
            WriteOp::SetKey { id, expected, key } => {
                if let Err(o) = self.check(&id, &expected) {
                    return o;
                }
                let version = self.bump();
                if let Some(item) = self.scoped_mut(&id) {
                    item.key = Some(key);
                    item.version = version;
                }
                self.touch(&id);
                self.applied.push(Applied::Keyed(id.clone()));
                WriteOutcome::Done {
                    id,
                    version: version.to_string(),
                }
            }
        }
    }
}

impl Side for MemorySide {
    async fn list(&mut self) -> Result<Listing, SideError> {
        self.stats.lists += 1;
        let entries: Vec<Entry> = self
            .items
            .iter()
            .filter(|(_, i)| i.in_scope)
            .map(|(id, i)| Self::entry(id, i))
            .collect();
        self.stats.entries_read += entries.len();
        Ok(Listing {
            entries,
            token: (self.feed != Feed::FullListing).then(|| self.log.len().to_string()),
        })
    }

    async fn changes_since(&mut self, token: &str) -> Result<Option<ChangeSet>, SideError> {
        self.stats.feeds += 1;
        if self.feed == Feed::FullListing {
            return Ok(None);
        }
        let Some(from) = token.parse::<usize>().ok().filter(|t| *t <= self.log.len()) else {
            return Ok(None);
        };
        let ids: BTreeSet<&Id> = self.log[from..].iter().collect();
        let mut cs = ChangeSet {
            token: self.log.len().to_string(),
            ..ChangeSet::default()
        };
        for id in ids {
            match self.items.get(id).filter(|i| i.in_scope) {
                Some(i) => cs.changed.push(Self::entry(id, i)),
                // Created after the token and gone again: nets out to nothing.
                None if self.feed == Feed::CoalescingDelta
                    && self.born.get(id).is_some_and(|b| *b >= from) => {}
                None => cs.removed.push(id.clone()),
            }
        }
        self.stats.entries_read += cs.changed.len() + cs.removed.len();
        Ok(Some(cs))
    }

    async fn fetch(&mut self, ids: &[Id]) -> Result<Vec<(Id, Record)>, SideError> {
        self.stats.fetches += 1;
        let out: Vec<(Id, Record)> = ids
            .iter()
            .filter_map(|id| {
                self.items
                    .get(id)
                    .filter(|i| i.in_scope)
                    .map(|i| (id.clone(), i.record.clone()))
            })
            .collect();
        self.stats.records_fetched += out.len();
        Ok(out)
    }

    async fn write(&mut self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, SideError> {
        self.stats.write_calls += 1;
        if self.faults.front() == Some(&Fault::BatchError) {
            self.faults.pop_front();
            return Err(SideError::transient("injected batch error"));
        }
        if self.oversized(&ops) {
            return Err(SideError::new(
                SideErrorKind::Rejected,
                "request too large (a record exceeds the size limit)",
            ));
        }
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            match self.faults.pop_front() {
                Some(Fault::Fail) => out.push(WriteOutcome::Failed("injected failure".into())),
                Some(Fault::Unknown) => {
                    self.apply_op(op);
                    out.push(WriteOutcome::Unknown("injected unknown outcome".into()));
                }
                Some(Fault::BatchError) | None => out.push(self.apply_op(op)),
            }
        }
        Ok(out)
    }
}
