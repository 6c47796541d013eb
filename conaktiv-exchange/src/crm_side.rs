//! The CRM side of a sync: sync-core's [`Side`] over a host's [`CrmStore`].
//!
//! [`CrmSide`] lists the records the rule's filter selects (for one owner, or all), fetches
//! them projected onto sync-core's [`Record`] through a [`Projection`], and writes the
//! engine's batches back with the store's optimistic versions:
//!
//! | [`WriteOp`] | store call | outcome on a stale version / missing record |
//! |---|---|---|
//! | `Create { record, key }` | `create(owner, defaults(apply(None, record)), key or pinned key)` | - |
//! | `Update { id, expected, record, key }` | `update(id, expected, apply(current, record), key)` | `Conflict` / `NotFound` |
//! | `Delete { id, expected }` | `delete(id, expected)` | `Conflict` / `NotFound` |
//! | `SetKey { id, expected, key }` | `set_keys([.., (id, expected, key), ..])` | `Conflict` / `NotFound` |
//!
//! Consecutive `SetKey`s of a batch (all of an initial sync's key write-backs) go to the store
//! as one [`CrmStore::set_keys`] call, which the embedded store writes in one transaction;
//! the other writes go one by one, in the batch's order. A store whose `set_keys` answers
//! another number of results than it was given writes is not paired up with the writes: each
//! of those key writes is reported as of unknown outcome.
//!
//! The projection decides which fields sync: [`Projection::apply`] gets the current CRM
//! record, so fields the projection does not cover (a contact's customer link) stay as they
//! are. The table modules of the field mapping provide the projections of the four model
//! records; [`JsonProjection`] projects every top-level field of any serde record (for hosts
//! with simple records and for tests).
//!
//! The CRM side has no change feed: a listing of the embedded store is one local query.
//!
//! # Records created from Exchange stay in the rule's scope
//!
//! A record the sync creates in the CRM (it is new on Exchange) must not drop out of the
//! listing on the next run: it would look deleted to the engine, and with the rule's
//! "ConAktiv -> Exchange: delete what the source no longer has" switch on, its Exchange
//! original would be deleted. So:
//!
//! | step | what happens |
//! |---|---|
//! | create | the filter's [`Defaults`] are set on the new record (`#Exchange AND kategorie = 'Kunde'` adds the category `Exchange` and sets `kategorie` to `Kunde`) |
//! | check | the record (after the defaults) is checked with [`Filter::matches`] |
//! | matches | it is stored with the pair's key and listed by the filter like any record |
//! | does not match (`OR`, `NOT`, `!=`, `<`, ... or a field the record type lacks) | it is still created (the Exchange item is never lost), but its stored key carries [`PINNED_KEY_PREFIX`]: a *pinned* record. A warning is logged, and [`scope_warning`] reports such filters for the configuration check |
//! | list | the filter's records, plus every pinned record of the owner (an extra unfiltered listing, only when the filter is not empty); keys are reported to the engine without the prefix |
//! | update of a pinned record | the pin is dropped once the updated record matches the filter; from then on it is an ordinary record |
//!
//! The defaults are CRM-side values: the engine's base for the new pair is the record it
//! wrote, so they reach Exchange only with the record's next change in the CRM.
//!
//! A record that matched the filter and that the *user* moves out of it (removes the
//! category, changes `kategorie`) is not pinned: it leaves the scope, and the rule's delete
//! switch decides what happens on Exchange, as for any record. A pinned record stays in the
//! scope until it is deleted or an update makes it match. The pin lives in the key column
//! of the store, so it works for every [`CrmStore`], the embedded SQLite one and a host's;
//! a host that evaluates the filter in its own language must agree with the embedded
//! language on the terms [`Filter::defaults`] sets.

use std::collections::{BTreeMap, HashSet};
use std::marker::PhantomData;

use sync_core::{
    Entry, Id, Listing, Record, Side, SideError, SideErrorKind, WriteOp, WriteOutcome,
};

use crate::filter::{Defaults, Filter};
use crate::host::{CrmRecord, CrmStore, HostError, KeyWrite, ListQuery, RecordMeta};

/// The prefix of the stored correlation key of a *pinned* record: one the sync created
/// from Exchange that does not match the rule's filter (see the module docs). [`CrmSide`]
/// reports the key without it.
pub const PINNED_KEY_PREFIX: &str = "conaktiv-pinned:";

fn is_pinned(key: Option<&str>) -> bool {
    key.is_some_and(|k| k.starts_with(PINNED_KEY_PREFIX))
}

fn unpinned(key: Option<String>) -> Option<String> {
    key.map(|k| match k.strip_prefix(PINNED_KEY_PREFIX) {
        Some(rest) => rest.to_owned(),
        None => k,
    })
}

fn pinned_key(key: &str) -> String {
    format!("{PINNED_KEY_PREFIX}{key}")
}

/// The warning for a rule filter whose terms cannot all be set on records created from
/// Exchange, or `None` if they can (or the filter is empty or invalid: the parse error is
/// reported elsewhere). Such records are created and kept in the rule's scope as *pinned*
/// records (see the module docs), so the warning is about the CRM's view of them, not
/// about data loss.
pub fn scope_warning(filter: &str) -> Option<String> {
    let defaults = Filter::parse(filter).ok()?.defaults();
    if defaults.is_complete() {
        return None;
    }
    Some(format!(
        "filter {filter:?}: records created from Exchange cannot be made to match {}; \
         they are created anyway and kept in this rule's scope as records created by the sync",
        defaults.unsatisfiable().join(", ")
    ))
}

/// How a CRM record type projects onto sync-core's [`Record`] and back.
pub trait Projection<R>: Send + Sync {
    /// The record's synced fields, canonical (equal content gives equal values).
    fn to_record(&self, record: &R) -> Record;

    /// The CRM record holding `record`'s fields: `current` with the projected fields
    /// replaced, or a new record when `current` is `None`. An `Err` says why the fields
    /// cannot be stored (the write is reported as failed, nothing is written).
    fn apply(&self, current: Option<&R>, record: &Record) -> Result<R, String>;
}

/// Projects every top-level field of a record's JSON form; `null` fields are absent.
/// Applying ignores the current record: every field is synced.
#[derive(Debug)]
pub struct JsonProjection<R>(PhantomData<fn() -> R>);

impl<R> Default for JsonProjection<R> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<R: CrmRecord> Projection<R> for JsonProjection<R> {
    fn to_record(&self, record: &R) -> Record {
        let mut out = Record::new();
        if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(record) {
            for (k, v) in map {
                if !v.is_null() {
                    out.fields.insert(k, v);
                }
            }
        }
        out
    }

    fn apply(&self, _current: Option<&R>, record: &Record) -> Result<R, String> {
        let map: serde_json::Map<String, serde_json::Value> = record
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| e.to_string())
    }
}

/// sync-core's [`Side`] over a [`CrmStore`]. See the module docs.
pub struct CrmSide<R, S, P> {
    store: S,
    projection: P,
    query: ListQuery,
    owner: Option<String>,
    defaults: Defaults,
    /// Ids of pinned records seen by the last listing or created since.
    pinned: HashSet<Id>,
    /// Records that could not be read (undecodable), with why: left out of the run.
    unreadable: Vec<String>,
    _record: PhantomData<fn() -> R>,
}

impl<R, S, P> CrmSide<R, S, P>
where
    R: CrmRecord,
    S: CrmStore<R>,
    P: Projection<R>,
{
    /// The side of the records `query` selects. New records are created for `query.owner`
    /// with the filter's defaults set (see the module docs).
    pub fn new(store: S, projection: P, query: ListQuery) -> Self {
        let owner = query.owner.clone();
        let defaults = query.filter.defaults();
        if let Some(warning) = scope_warning(query.filter.source()) {
            tracing::warn!(table = R::TABLE_NAME, "{warning}");
        }
        Self {
            store,
            projection,
            query,
            owner,
            defaults,
            pinned: HashSet::new(),
            unreadable: Vec::new(),
            _record: PhantomData,
        }
    }

    /// The record with the filter's defaults set, and whether it matches the filter.
    fn with_defaults(&self, record: R) -> (R, bool) {
        let Ok(mut value) = serde_json::to_value(&record) else {
            return (record, false);
        };
        self.defaults.apply(&mut value);
        let record = serde_json::from_value::<R>(value).unwrap_or(record);
        // Check what is stored: the record type may drop fields it does not have.
        let matches =
            serde_json::to_value(&record).is_ok_and(|stored| self.query.filter.matches(&stored));
        (record, matches)
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The records that could not be read in this run, one sentence each: they were left
    /// out (nothing was written for them) and the rest of the job ran.
    pub fn unreadable(&self) -> &[String] {
        &self.unreadable
    }
}

fn side_error(e: HostError) -> SideError {
    let kind = if e.is_transient() {
        SideErrorKind::Transient
    } else if matches!(e, HostError::Filter(_)) {
        SideErrorKind::Configuration
    } else {
        SideErrorKind::Other
    };
    SideError::from_source(kind, e)
}

fn entry(meta: RecordMeta) -> Entry {
    Entry {
        id: meta.id,
        version: meta.version,
        key: unpinned(meta.key),
    }
}

fn outcome(result: Result<RecordMeta, HostError>) -> WriteOutcome {
    match result {
        Ok(meta) => WriteOutcome::Done {
            id: meta.id,
            version: meta.version,
        },
        Err(e) => failed(e),
    }
}

fn failed(e: HostError) -> WriteOutcome {
    match e {
        HostError::Conflict { .. } => WriteOutcome::Conflict,
        HostError::NotFound { .. } => WriteOutcome::NotFound,
        // Every store write is one transaction: a failed one wrote nothing.
        other => WriteOutcome::Failed(other.to_string()),
    }
}

impl<R, S, P> CrmSide<R, S, P>
where
    R: CrmRecord,
    S: CrmStore<R>,
    P: Projection<R>,
{
    async fn write_one(&mut self, op: WriteOp) -> WriteOutcome {
        match op {
            WriteOp::Create { record, key } => match self.projection.apply(None, &record) {
                Ok(r) => {
                    let (r, matches) = self.with_defaults(r);
                    let key = if matches {
                        key
                    } else {
                        tracing::warn!(
                            table = R::TABLE_NAME,
                            filter = self.query.filter.source(),
                            "a record created from Exchange does not match the rule's filter; \
                             it is kept in the rule's scope as created by the sync"
                        );
                        pinned_key(&key)
                    };
                    let result = self
                        .store
                        .create(self.owner.as_deref(), &r, Some(&key))
                        .await;
                    if let (Ok(meta), false) = (&result, matches) {
                        self.pinned.insert(meta.id.clone());
                    }
                    outcome(result)
                }
                Err(e) => WriteOutcome::Failed(e),
            },
            WriteOp::Update {
                id,
                expected,
                record,
                key,
            } => {
                let current = match self.store.get(&id).await {
                    Ok(Some(c)) => c,
                    Ok(None) => return WriteOutcome::NotFound,
                    Err(e) => return failed(e),
                };
                if current.meta.version != expected {
                    return WriteOutcome::Conflict;
                }
                match self.projection.apply(Some(&current.record), &record) {
                    Ok(r) => {
                        // A pinned record keeps its pin until it matches the filter.
                        let pinned = is_pinned(current.meta.key.as_deref())
                            && !serde_json::to_value(&r)
                                .is_ok_and(|v| self.query.filter.matches(&v));
                        let key = if pinned { pinned_key(&key) } else { key };
                        let result = self.store.update(&id, &expected, &r, Some(&key)).await;
                        if !pinned {
                            self.pinned.remove(&id);
                        }
                        outcome(result)
                    }
                    Err(e) => WriteOutcome::Failed(e),
                }
            }
            WriteOp::Delete { id, expected } => match self.store.delete(&id, &expected).await {
                Ok(()) => WriteOutcome::Done {
                    id,
                    version: String::new(),
                },
                Err(e) => failed(e),
            },
            WriteOp::SetKey { id, expected, key } => {
                let mut outcomes = self
                    .write_keys(vec![self.key_write(id, expected, key)])
                    .await;
                outcomes.pop().unwrap_or_else(|| {
                    WriteOutcome::Unknown("the store answered no result for the key write".into())
                })
            }
        }
    }

    /// The key write of a `SetKey`: a pinned record keeps its pin.
    fn key_write(&self, id: Id, expected: String, key: String) -> KeyWrite {
        let key = if self.pinned.contains(&id) {
            pinned_key(&key)
        } else {
            key
        };
        KeyWrite::new(id, expected, key)
    }

    /// Several key writes in one [`CrmStore::set_keys`] call: one outcome per write, in order.
    async fn write_keys(&mut self, writes: Vec<KeyWrite>) -> Vec<WriteOutcome> {
        if writes.is_empty() {
            return Vec::new();
        }
        let results = self.store.set_keys(&writes).await;
        if results.len() != writes.len() {
            tracing::warn!(
                table = R::TABLE_NAME,
                writes = writes.len(),
                results = results.len(),
                "the store answered a batch of key writes with another number of results"
            );
            let why = format!(
                "the store answered {} key writes with {} results",
                writes.len(),
                results.len()
            );
            return writes
                .iter()
                .map(|_| WriteOutcome::Unknown(why.clone()))
                .collect();
        }
        results.into_iter().map(outcome).collect()
    }
}

impl<R, S, P> Side for CrmSide<R, S, P>
where
    R: CrmRecord,
    S: CrmStore<R>,
    P: Projection<R>,
{
    async fn list(&mut self) -> Result<Listing, SideError> {
        let metas = self.store.list(&self.query).await.map_err(side_error)?;
        let mut entries: BTreeMap<Id, RecordMeta> =
            metas.into_iter().map(|m| (m.id.clone(), m)).collect();
        if !self.query.filter.is_all() {
            // Pinned records: created by the sync outside the filter, kept in scope.
            let everything = ListQuery {
                filter: Filter::all(),
                owner: self.query.owner.clone(),
            };
            for meta in self.store.list(&everything).await.map_err(side_error)? {
                if is_pinned(meta.key.as_deref()) {
                    entries.entry(meta.id.clone()).or_insert(meta);
                }
            }
        }
        self.pinned = entries
            .values()
            .filter(|m| is_pinned(m.key.as_deref()))
            .map(|m| m.id.clone())
            .collect();
        Ok(Listing {
            entries: entries.into_values().map(entry).collect(),
            token: None,
        })
    }

    async fn changes_since(
        &mut self,
        _token: &str,
    ) -> Result<Option<sync_core::ChangeSet>, SideError> {
        Ok(None)
    }

    async fn fetch(&mut self, ids: &[Id]) -> Result<Vec<(Id, Record)>, SideError> {
        let stored = match self.store.get_many(ids).await {
            Ok(stored) => stored,
            // One record that cannot be decoded must not fail the job: read them one by
            // one and leave out (and report) the ones that cannot be read.
            Err(HostError::Decode { .. }) => {
                let mut stored = Vec::with_capacity(ids.len());
                for id in ids {
                    match self.store.get(id).await {
                        Ok(Some(s)) => stored.push(s),
                        Ok(None) => {}
                        Err(e @ HostError::Decode { .. }) => {
                            tracing::warn!(table = R::TABLE_NAME, %id, error = %e, "record skipped");
                            self.unreadable.push(format!("{e}; it was skipped"));
                        }
                        Err(e) => return Err(side_error(e)),
                    }
                }
                stored
            }
            Err(e) => return Err(side_error(e)),
        };
        Ok(stored
            .into_iter()
            .map(|s| (s.meta.id, self.projection.to_record(&s.record)))
            .collect())
    }

    async fn write(&mut self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, SideError> {
        let mut out = Vec::with_capacity(ops.len());
        // A run of consecutive key writes goes to the store as one batch; any other write
        // ends the run, so the batch's order is kept.
        let mut keys: Vec<KeyWrite> = Vec::new();
        for op in ops {
            match op {
                WriteOp::SetKey { id, expected, key } => {
                    keys.push(self.key_write(id, expected, key));
                }
                other => {
                    out.extend(self.write_keys(std::mem::take(&mut keys)).await);
                    out.push(self.write_one(other).await);
                }
            }
        }
        out.extend(self.write_keys(keys).await);
        Ok(out)
    }
}
