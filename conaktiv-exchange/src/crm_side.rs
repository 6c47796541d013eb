//! The CRM side of a sync: sync-core's [`Side`] over a host's [`CrmStore`].
//!
//! [`CrmSide`] lists the records the rule's filter selects (for one owner, or all), fetches
//! them projected onto sync-core's [`Record`] through a [`Projection`], and writes the
//! engine's batches back with the store's optimistic versions:
//!
//! | [`WriteOp`] | store call | outcome on a stale version / missing record |
//! |---|---|---|
//! | `Create { record, key }` | `create(owner, apply(None, record), key)` | - |
//! | `Update { id, expected, record, key }` | `update(id, expected, apply(current, record), key)` | `Conflict` / `NotFound` |
//! | `Delete { id, expected }` | `delete(id, expected)` | `Conflict` / `NotFound` |
//! | `SetKey { id, expected, key }` | `set_key(id, expected, key)` | `Conflict` / `NotFound` |
//!
//! The projection decides which fields sync: [`Projection::apply`] gets the current CRM
//! record, so fields the projection does not cover (a contact's customer link) stay as they
//! are. The table modules of the field mapping provide the projections of the four model
//! records; [`JsonProjection`] projects every top-level field of any serde record (for hosts
//! with simple records and for tests).
//!
//! The CRM side has no change feed: a listing of the embedded store is one local query.

use std::marker::PhantomData;

use sync_core::{Entry, Id, Listing, Record, Side, SideError, WriteOp, WriteOutcome};

use crate::host::{CrmRecord, CrmStore, HostError, ListQuery, RecordMeta};

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
    _record: PhantomData<fn() -> R>,
}

impl<R, S, P> CrmSide<R, S, P>
where
    R: CrmRecord,
    S: CrmStore<R>,
    P: Projection<R>,
{
    /// The side of the records `query` selects. New records are created for `query.owner`.
    pub fn new(store: S, projection: P, query: ListQuery) -> Self {
        let owner = query.owner.clone();
        Self {
            store,
            projection,
            query,
            owner,
            _record: PhantomData,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }
}

fn side_error(e: HostError) -> SideError {
    if e.is_transient() {
        SideError::Transient(e.to_string())
    } else {
        SideError::Permanent(e.to_string())
    }
}

fn entry(meta: RecordMeta) -> Entry {
    Entry {
        id: meta.id,
        version: meta.version,
        key: meta.key,
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
    async fn write_one(&self, op: WriteOp) -> WriteOutcome {
        match op {
            WriteOp::Create { record, key } => match self.projection.apply(None, &record) {
                Ok(r) => outcome(
                    self.store
                        .create(self.owner.as_deref(), &r, Some(&key))
                        .await,
                ),
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
                    Ok(r) => outcome(self.store.update(&id, &expected, &r, Some(&key)).await),
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
                outcome(self.store.set_key(&id, &expected, &key).await)
            }
        }
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
        Ok(Listing {
            entries: metas.into_iter().map(entry).collect(),
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
        let stored = self.store.get_many(ids).await.map_err(side_error)?;
        Ok(stored
            .into_iter()
            .map(|s| (s.meta.id, self.projection.to_record(&s.record)))
            .collect())
    }

    async fn write(&mut self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, SideError> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            out.push(self.write_one(op).await);
        }
        Ok(out)
    }
}
