//! Shared test harness: two in-memory sides, a state store, and a synchronous `sync`.
#![allow(dead_code)]

#[cfg(feature = "postgres")]
pub mod pg;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::FutureExt;
use sync_core::memory::{Feed, MemorySide};
use sync_core::{
    ChangeSet, Engine, Id, Intent, Listing, MemoryStore, Pair, Plan, Policy, Record, Report, Side,
    SideError, SideId, StateBatch, StateStore, StoreError, SyncError, Timestamp, WriteOp,
    WriteOutcome,
};

/// Both sides and the state.
pub struct World<S: StateStore + Send = MemoryStore> {
    pub local: MemorySide,
    pub remote: MemorySide,
    pub store: S,
    /// The time of the last run, in Unix seconds (a run first advances it by one).
    pub now: u64,
}

impl World<MemoryStore> {
    pub fn new() -> Self {
        World::with_store(MemoryStore::new())
    }
}

impl<S: StateStore + Send> World<S> {
    pub fn with_store(store: S) -> Self {
        World {
            local: MemorySide::new("L", Feed::Delta),
            remote: MemorySide::new("R", Feed::Delta),
            store,
            now: 1_000,
        }
    }

    /// [`World::now`] as the engine takes it.
    pub fn time(&self) -> Timestamp {
        Timestamp::from_unix_secs(self.now)
    }

    /// Plan and apply one run.
    pub fn try_sync(&mut self, rule: &Policy) -> Result<(Plan, Report), SyncError> {
        self.now += 1;
        let engine = Engine::new(rule.clone())?;
        futures::executor::block_on(engine.run(
            &mut self.local,
            &mut self.remote,
            &mut self.store,
            Timestamp::from_unix_secs(self.now),
        ))
    }

    /// Plan and apply one run that must succeed.
    pub fn sync(&mut self, rule: &Policy) -> (Plan, Report) {
        match self.try_sync(rule) {
            Ok(r) => r,
            Err(e) => panic!("sync failed: {e}"),
        }
    }

    /// Plan only (the preview).
    pub fn preview(&mut self, rule: &Policy) -> Plan {
        let engine = Engine::new(rule.clone()).expect("rule");
        futures::executor::block_on(engine.prepare(
            &mut self.local,
            &mut self.remote,
            &mut self.store,
            Timestamp::from_unix_secs(self.now),
        ))
        .expect("prepare")
        .plan
    }

    /// The content of the remote record paired with a local record.
    pub fn partner_of_local(&self, local_id: &str) -> Option<String> {
        self.store
            .all_pairs()
            .expect("pairs")
            .into_iter()
            .find(|p| p.local.as_ref().is_some_and(|a| a.id == local_id))
            .and_then(|p| p.remote.map(|a| a.id))
    }

    pub fn partner_of_remote(&self, remote_id: &str) -> Option<String> {
        self.store
            .all_pairs()
            .expect("pairs")
            .into_iter()
            .find(|p| p.remote.as_ref().is_some_and(|a| a.id == remote_id))
            .and_then(|p| p.local.map(|a| a.id))
    }

    pub fn local_record(&self, id: &str) -> Record {
        self.local.get(id).expect("local record").record.clone()
    }

    pub fn remote_record(&self, id: &str) -> Record {
        self.remote.get(id).expect("remote record").record.clone()
    }
}

pub fn rec(fields: &[(&str, &str)]) -> Record {
    let mut r = Record::new();
    for (k, v) in fields {
        r = r.with(k, *v);
    }
    r
}

/// How many more side writes and state commits may happen before the crash.
#[derive(Clone)]
pub struct Budget(Arc<AtomicUsize>);

impl Budget {
    pub fn new(steps: usize) -> Self {
        Budget(Arc::new(AtomicUsize::new(steps)))
    }

    pub fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// A side that stops for ever (the process died) when the budget is spent.
pub struct Crashy<'a> {
    pub inner: &'a mut MemorySide,
    pub budget: Budget,
}

impl Side for Crashy<'_> {
    async fn list(&mut self) -> Result<Listing, SideError> {
        self.inner.list().await
    }
    async fn changes_since(&mut self, token: &str) -> Result<Option<ChangeSet>, SideError> {
        self.inner.changes_since(token).await
    }
    async fn fetch(&mut self, ids: &[Id]) -> Result<Vec<(Id, Record)>, SideError> {
        self.inner.fetch(ids).await
    }
    async fn write(&mut self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, SideError> {
        if !self.budget.take() {
            std::future::pending::<()>().await;
        }
        self.inner.write(ops).await
    }
}

/// A store whose commit fails (the process died before it) when the budget is spent.
pub struct CrashyStore<'a, S> {
    pub inner: &'a mut S,
    pub budget: Budget,
}

impl<S: StateStore + Send> StateStore for CrashyStore<'_, S> {
    fn pair_count(&self) -> Result<usize, StoreError> {
        self.inner.pair_count()
    }
    fn all_pairs(&self) -> Result<Vec<Pair>, StoreError> {
        self.inner.all_pairs()
    }
    fn pairs_for(&self, l: &[Id], r: &[Id], k: &[String]) -> Result<Vec<Pair>, StoreError> {
        self.inner.pairs_for(l, r, k)
    }
    fn intents(&self) -> Result<Vec<Intent>, StoreError> {
        self.inner.intents()
    }
    fn token(&self, side: SideId) -> Result<Option<String>, StoreError> {
        self.inner.token(side)
    }
    fn commit(&mut self, batch: &StateBatch) -> Result<(), StoreError> {
        if !self.budget.take() {
            return Err(StoreError::Corrupt("crashed before this commit".into()));
        }
        self.inner.commit(batch)
    }
}

/// Runs the engine until `steps` side writes and state commits have happened; returns
/// whether the run completed without reaching the crash point.
pub fn run_until_crash<S: StateStore + Send>(
    w: &mut World<S>,
    rule: &Policy,
    steps: usize,
    batch: usize,
) -> bool {
    w.now += 1;
    let budget = Budget::new(steps);
    let engine = Engine::new(rule.clone())
        .expect("rule")
        .with_batch_size(batch);
    let mut local = Crashy {
        inner: &mut w.local,
        budget: budget.clone(),
    };
    let mut remote = Crashy {
        inner: &mut w.remote,
        budget: budget.clone(),
    };
    let mut store = CrashyStore {
        inner: &mut w.store,
        budget,
    };
    matches!(
        engine
            .run(
                &mut local,
                &mut remote,
                &mut store,
                Timestamp::from_unix_secs(w.now)
            )
            .now_or_never(),
        Some(Ok(_))
    )
}
