//! Shared test harness: two in-memory sides, a state store, and a synchronous `sync`.
#![allow(dead_code)]

use sync_core::memory::MemorySide;
use sync_core::{Engine, MemoryStore, Plan, Record, Report, Rule, StateStore, SyncError};

/// Both sides and the state.
pub struct World<S: StateStore = MemoryStore> {
    pub local: MemorySide,
    pub remote: MemorySide,
    pub store: S,
    pub now: u64,
}

impl World<MemoryStore> {
    pub fn new() -> Self {
        World::with_store(MemoryStore::new())
    }
}

impl<S: StateStore> World<S> {
    pub fn with_store(store: S) -> Self {
        World {
            local: MemorySide::new("L", true),
            remote: MemorySide::new("R", true),
            store,
            now: 1_000,
        }
    }

    /// Plan and apply one run.
    pub fn try_sync(&mut self, rule: &Rule) -> Result<(Plan, Report), SyncError> {
        self.now += 1;
        let engine = Engine::new(rule.clone())?;
        futures::executor::block_on(engine.run(
            &mut self.local,
            &mut self.remote,
            &mut self.store,
            self.now,
        ))
    }

    /// Plan and apply one run that must succeed.
    pub fn sync(&mut self, rule: &Rule) -> (Plan, Report) {
        match self.try_sync(rule) {
            Ok(r) => r,
            Err(e) => panic!("sync failed: {e}"),
        }
    }

    /// Plan only (the preview).
    pub fn preview(&mut self, rule: &Rule) -> Plan {
        let engine = Engine::new(rule.clone()).expect("rule");
        futures::executor::block_on(engine.prepare(
            &mut self.local,
            &mut self.remote,
            &mut self.store,
            self.now,
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
