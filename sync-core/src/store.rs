//! The state store: pairs with their base versions, change-feed tokens and the intent journal.
//!
//! Two traits, one seam:
//! * [`AsyncStateStore`] is what the [`crate::Engine`] drives. Its methods return `Send`
//!   futures, so a store reached over the network (PostgreSQL, `crate::postgres::PgStore`
//!   with the `postgres` feature, or a host's own database) waits for its driver without
//!   blocking the runtime.
//! * [`StateStore`] is the synchronous form for embedded stores, whose transactions are
//!   short local calls ([`MemoryStore`], [`crate::SqliteStore`]): every `StateStore + Send`
//!   is an [`AsyncStateStore`] (a blanket implementation whose futures are ready at once).
//!
//! All stores pass the same contract tests (`tests/store.rs`) and the engine's model tests.

use std::collections::{BTreeMap, HashMap};

use crate::{DetachReason, Detached, Id, Intent, Key, Pair, SideId, StoreError, Timestamp};

/// One atomic change of the state (one transaction).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateBatch {
    /// Pairs to remove, by key (applied first).
    pub remove: Vec<Key>,
    /// Pairs to insert or replace (by key).
    pub upsert: Vec<Pair>,
    /// Intents to journal.
    pub add_intents: Vec<Intent>,
    /// Intents to clear, by key.
    pub clear_intents: Vec<Key>,
    /// Change-feed tokens to set (`None` clears).
    pub tokens: Vec<(SideId, Option<String>)>,
    /// Detaches to record (applied after `upsert`; the pair itself is stored by `upsert`
    /// with one anchor). A detach record is dropped when its pair is removed or stored
    /// again with both anchors (re-attached).
    pub detach: Vec<Detached>,
}

impl StateBatch {
    /// Whether the batch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.remove.is_empty()
            && self.upsert.is_empty()
            && self.add_intents.is_empty()
            && self.clear_intents.is_empty()
            && self.tokens.is_empty()
            && self.detach.is_empty()
    }
}

/// The state store seam the engine drives (see the module docs). Methods take `&mut self` so
/// that the futures of a `Send` store are `Send` without the store being `Sync`.
///
/// The contract is [`StateStore`]'s, method by method; [`AsyncStateStore::commit`] applies a
/// batch atomically (one transaction).
pub trait AsyncStateStore: Send {
    /// See [`StateStore::pair_count`].
    fn pair_count(&mut self) -> impl Future<Output = Result<usize, StoreError>> + Send;
    /// See [`StateStore::all_pairs`].
    fn all_pairs(&mut self) -> impl Future<Output = Result<Vec<Pair>, StoreError>> + Send;
    /// See [`StateStore::pairs_for`].
    fn pairs_for(
        &mut self,
        local_ids: &[Id],
        remote_ids: &[Id],
        keys: &[Key],
    ) -> impl Future<Output = Result<Vec<Pair>, StoreError>> + Send;
    /// See [`StateStore::intents`].
    fn intents(&mut self) -> impl Future<Output = Result<Vec<Intent>, StoreError>> + Send;
    /// See [`StateStore::token`].
    fn token(
        &mut self,
        side: SideId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;
    /// See [`StateStore::commit`].
    fn commit(&mut self, batch: &StateBatch)
    -> impl Future<Output = Result<(), StoreError>> + Send;
    /// See [`StateStore::detached`].
    fn detached(&mut self) -> impl Future<Output = Result<Vec<Detached>, StoreError>> + Send;
}

impl<S: StateStore + Send> AsyncStateStore for S {
    fn pair_count(&mut self) -> impl Future<Output = Result<usize, StoreError>> + Send {
        std::future::ready(StateStore::pair_count(self))
    }
    fn all_pairs(&mut self) -> impl Future<Output = Result<Vec<Pair>, StoreError>> + Send {
        std::future::ready(StateStore::all_pairs(self))
    }
    fn pairs_for(
        &mut self,
        local_ids: &[Id],
        remote_ids: &[Id],
        keys: &[Key],
    ) -> impl Future<Output = Result<Vec<Pair>, StoreError>> + Send {
        std::future::ready(StateStore::pairs_for(self, local_ids, remote_ids, keys))
    }
    fn intents(&mut self) -> impl Future<Output = Result<Vec<Intent>, StoreError>> + Send {
        std::future::ready(StateStore::intents(self))
    }
    fn token(
        &mut self,
        side: SideId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        std::future::ready(StateStore::token(self, side))
    }
    fn commit(
        &mut self,
        batch: &StateBatch,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(StateStore::commit(self, batch))
    }
    fn detached(&mut self) -> impl Future<Output = Result<Vec<Detached>, StoreError>> + Send {
        std::future::ready(StateStore::detached(self))
    }
}

/// A boxed future of a [`DynStateStore`].
pub type StoreFuture<'a, T> =
    std::pin::Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// [`AsyncStateStore`] as a trait object, for hosts that choose the store at run time
/// (SQLite files or PostgreSQL, by configuration): every `AsyncStateStore` is one, and a
/// `Box<dyn DynStateStore>` is an [`AsyncStateStore`] the engine drives like any other.
pub trait DynStateStore: Send {
    /// See [`StateStore::pair_count`].
    fn dyn_pair_count(&mut self) -> StoreFuture<'_, usize>;
    /// See [`StateStore::all_pairs`].
    fn dyn_all_pairs(&mut self) -> StoreFuture<'_, Vec<Pair>>;
    /// See [`StateStore::pairs_for`].
    fn dyn_pairs_for<'a>(
        &'a mut self,
        local_ids: &'a [Id],
        remote_ids: &'a [Id],
        keys: &'a [Key],
    ) -> StoreFuture<'a, Vec<Pair>>;
    /// See [`StateStore::intents`].
    fn dyn_intents(&mut self) -> StoreFuture<'_, Vec<Intent>>;
    /// See [`StateStore::token`].
    fn dyn_token(&mut self, side: SideId) -> StoreFuture<'_, Option<String>>;
    /// See [`StateStore::commit`].
    fn dyn_commit<'a>(&'a mut self, batch: &'a StateBatch) -> StoreFuture<'a, ()>;
    /// See [`StateStore::detached`].
    fn dyn_detached(&mut self) -> StoreFuture<'_, Vec<Detached>>;
}

impl<T: AsyncStateStore> DynStateStore for T {
    fn dyn_pair_count(&mut self) -> StoreFuture<'_, usize> {
        Box::pin(AsyncStateStore::pair_count(self))
    }
    fn dyn_all_pairs(&mut self) -> StoreFuture<'_, Vec<Pair>> {
        Box::pin(AsyncStateStore::all_pairs(self))
    }
    fn dyn_pairs_for<'a>(
        &'a mut self,
        local_ids: &'a [Id],
        remote_ids: &'a [Id],
        keys: &'a [Key],
    ) -> StoreFuture<'a, Vec<Pair>> {
        Box::pin(AsyncStateStore::pairs_for(
            self, local_ids, remote_ids, keys,
        ))
    }
    fn dyn_intents(&mut self) -> StoreFuture<'_, Vec<Intent>> {
        Box::pin(AsyncStateStore::intents(self))
    }
    fn dyn_token(&mut self, side: SideId) -> StoreFuture<'_, Option<String>> {
        Box::pin(AsyncStateStore::token(self, side))
    }
    fn dyn_commit<'a>(&'a mut self, batch: &'a StateBatch) -> StoreFuture<'a, ()> {
        Box::pin(AsyncStateStore::commit(self, batch))
    }
    fn dyn_detached(&mut self) -> StoreFuture<'_, Vec<Detached>> {
        Box::pin(AsyncStateStore::detached(self))
    }
}

impl<'s> AsyncStateStore for Box<dyn DynStateStore + 's> {
    fn pair_count(&mut self) -> impl Future<Output = Result<usize, StoreError>> + Send {
        (**self).dyn_pair_count()
    }
    fn all_pairs(&mut self) -> impl Future<Output = Result<Vec<Pair>, StoreError>> + Send {
        (**self).dyn_all_pairs()
    }
    async fn pairs_for(
        &mut self,
        local_ids: &[Id],
        remote_ids: &[Id],
        keys: &[Key],
    ) -> Result<Vec<Pair>, StoreError> {
        (**self).dyn_pairs_for(local_ids, remote_ids, keys).await
    }
    fn intents(&mut self) -> impl Future<Output = Result<Vec<Intent>, StoreError>> + Send {
        (**self).dyn_intents()
    }
    fn token(
        &mut self,
        side: SideId,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        (**self).dyn_token(side)
    }
    async fn commit(&mut self, batch: &StateBatch) -> Result<(), StoreError> {
        (**self).dyn_commit(batch).await
    }
    fn detached(&mut self) -> impl Future<Output = Result<Vec<Detached>, StoreError>> + Send {
        (**self).dyn_detached()
    }
}

/// The synchronous state store of an embedded database (see the module docs); every
/// `StateStore + Send` is an [`AsyncStateStore`].
pub trait StateStore {
    /// How many pairs are stored with at least one record (tombstones, pairs whose records
    /// are both gone, do not count: the mass-delete guard relates deletes to this number).
    fn pair_count(&self) -> Result<usize, StoreError>;
    /// Every pair, ordered by key.
    fn all_pairs(&self) -> Result<Vec<Pair>, StoreError>;
    /// The pairs anchored at one of `local_ids` or `remote_ids`, or keyed by one of `keys`,
    /// ordered by key, without duplicates.
    fn pairs_for(
        &self,
        local_ids: &[Id],
        remote_ids: &[Id],
        keys: &[Key],
    ) -> Result<Vec<Pair>, StoreError>;
    /// The journaled intents.
    fn intents(&self) -> Result<Vec<Intent>, StoreError>;
    /// The change-feed token of a side.
    fn token(&self, side: SideId) -> Result<Option<String>, StoreError>;
    /// Apply a batch atomically.
    fn commit(&mut self, batch: &StateBatch) -> Result<(), StoreError>;

    /// The detached pairs (pairs with one anchor), ordered by key, with the reason and time
    /// of their detach as recorded. The default implementation (for stores that do not
    /// record detaches) reports every pair with one anchor as [`DetachReason::Unrecorded`].
    fn detached(&self) -> Result<Vec<Detached>, StoreError> {
        Ok(self
            .all_pairs()?
            .iter()
            .filter_map(|p| detached_of(p, DetachReason::Unrecorded, Timestamp::UNIX_EPOCH))
            .collect())
    }
}

/// The detach of a pair with one anchor.
/// The side a stored row names (`"local"`, `"remote"`), for the database stores.
pub(crate) fn side_from(s: &str) -> Result<SideId, StoreError> {
    match s {
        "local" => Ok(SideId::Local),
        "remote" => Ok(SideId::Remote),
        other => Err(StoreError::Corrupt(format!("unknown side {other:?}"))),
    }
}

/// The columns a database store keeps a pair in, in the order [`pair_from_columns`] takes
/// them.
pub(crate) const PAIR_COLUMNS: &str =
    "key, local_id, local_version, remote_id, remote_version, base";

/// A pair from its stored columns (see [`PAIR_COLUMNS`]); the base is JSON.
pub(crate) fn pair_from_columns(
    key: String,
    local: (Option<String>, Option<String>),
    remote: (Option<String>, Option<String>),
    base: &str,
) -> Result<Pair, StoreError> {
    let anchor = |(id, version): (Option<String>, Option<String>)| {
        id.map(|id| crate::Anchor {
            id,
            version: version.unwrap_or_default(),
        })
    };
    let base: crate::Record = serde_json::from_str(base)
        .map_err(|e| StoreError::Corrupt(format!("base of pair {key:?}: {e}")))?;
    Ok(Pair {
        local: anchor(local),
        remote: anchor(remote),
        key,
        base,
    })
}

pub(crate) fn detached_of(p: &Pair, reason: DetachReason, at: Timestamp) -> Option<Detached> {
    let (gone, kept) = match (&p.local, &p.remote) {
        (Some(a), None) => (SideId::Remote, a),
        (None, Some(a)) => (SideId::Local, a),
        _ => return None,
    };
    Some(Detached {
        key: p.key.clone(),
        gone,
        kept_id: kept.id.clone(),
        reason,
        at,
    })
}

/// An in-memory state store (tests, short-lived hosts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStore {
    pairs: BTreeMap<Key, Pair>,
    by_local: HashMap<Id, Key>,
    by_remote: HashMap<Id, Key>,
    intents: BTreeMap<Key, Intent>,
    tokens: BTreeMap<SideId, String>,
    /// Recorded detaches: key -> (reason, at).
    detaches: BTreeMap<Key, (DetachReason, Timestamp)>,
    commits: usize,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many batches were committed (each is one transaction).
    pub fn commits(&self) -> usize {
        self.commits
    }

    fn unindex(&mut self, key: &str) {
        if let Some(old) = self.pairs.remove(key) {
            if let Some(a) = old.local
                && self.by_local.get(&a.id).is_some_and(|k| k == key)
            {
                self.by_local.remove(&a.id);
            }
            if let Some(a) = old.remote
                && self.by_remote.get(&a.id).is_some_and(|k| k == key)
            {
                self.by_remote.remove(&a.id);
            }
        }
    }
}

impl StateStore for MemoryStore {
    fn pair_count(&self) -> Result<usize, StoreError> {
        Ok(self
            .pairs
            .values()
            .filter(|p| p.local.is_some() || p.remote.is_some())
            .count())
    }

    fn all_pairs(&self) -> Result<Vec<Pair>, StoreError> {
        Ok(self.pairs.values().cloned().collect())
    }

    fn pairs_for(
        &self,
        local_ids: &[Id],
        remote_ids: &[Id],
        keys: &[Key],
    ) -> Result<Vec<Pair>, StoreError> {
        let mut found: BTreeMap<&Key, &Pair> = BTreeMap::new();
        let mut add = |k: &Key| {
            if let Some((k, p)) = self.pairs.get_key_value(k) {
                found.insert(k, p);
            }
        };
        for id in local_ids {
            if let Some(k) = self.by_local.get(id) {
                add(k);
            }
        }
        for id in remote_ids {
            if let Some(k) = self.by_remote.get(id) {
                add(k);
            }
        }
        for k in keys {
            add(k);
        }
        Ok(found.into_values().cloned().collect())
    }

    fn intents(&self) -> Result<Vec<Intent>, StoreError> {
        Ok(self.intents.values().cloned().collect())
    }

    fn token(&self, side: SideId) -> Result<Option<String>, StoreError> {
        Ok(self.tokens.get(&side).cloned())
    }

    fn commit(&mut self, batch: &StateBatch) -> Result<(), StoreError> {
        for key in &batch.remove {
            self.unindex(key);
            self.detaches.remove(key);
        }
        for pair in &batch.upsert {
            self.unindex(&pair.key);
            if pair.local.is_some() == pair.remote.is_some() {
                self.detaches.remove(&pair.key);
            }
            if let Some(a) = &pair.local {
                self.by_local.insert(a.id.clone(), pair.key.clone());
            }
            if let Some(a) = &pair.remote {
                self.by_remote.insert(a.id.clone(), pair.key.clone());
            }
            self.pairs.insert(pair.key.clone(), pair.clone());
        }
        for d in &batch.detach {
            if self.pairs.contains_key(&d.key) {
                self.detaches.insert(d.key.clone(), (d.reason, d.at));
            }
        }
        for intent in &batch.add_intents {
            self.intents.insert(intent.key.clone(), intent.clone());
        }
        for key in &batch.clear_intents {
            self.intents.remove(key);
        }
        for (side, token) in &batch.tokens {
            match token {
                Some(t) => self.tokens.insert(*side, t.clone()),
                None => self.tokens.remove(side),
            };
        }
        self.commits += 1;
        Ok(())
    }

    fn detached(&self) -> Result<Vec<Detached>, StoreError> {
        Ok(self
            .pairs
            .values()
            .filter_map(|p| {
                let (reason, at) = self
                    .detaches
                    .get(&p.key)
                    .copied()
                    .unwrap_or((DetachReason::Unrecorded, Timestamp::UNIX_EPOCH));
                detached_of(p, reason, at)
            })
            .collect())
    }
}
