//! The change-feed cursor after a run: it moves past the run's own writes only when the feed
//! shows nothing else, so that a coalescing feed (Exchange's SyncFolderItems nets out a
//! create followed by a delete) cannot hide a change behind it.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use common::{World, rec};
use sync_core::memory::{Feed, MemorySide};
use sync_core::{
    ChangeSet, Engine, Id, Listing, MemoryStore, Policy, Record, Side, SideError, SideId,
    StateStore, Timestamp, WriteOp, WriteOutcome,
};

fn coalescing_world() -> World {
    let mut w = World::new();
    w.local = MemorySide::new("L", Feed::CoalescingDelta);
    w.remote = MemorySide::new("R", Feed::CoalescingDelta);
    w
}

#[test]
fn the_coalescing_feed_nets_out_a_create_followed_by_a_delete() {
    for (feed, removed) in [(Feed::CoalescingDelta, 0), (Feed::Delta, 1)] {
        let mut side = MemorySide::new("R", feed);
        let token = futures::executor::block_on(side.list())
            .unwrap()
            .token
            .unwrap();
        let gone = side.insert(rec(&[("name", "tmp")]));
        let kept = side.insert(rec(&[("name", "kept")]));
        side.edit(&kept, "name", "kept, edited");
        side.remove(&gone);
        let cs = futures::executor::block_on(side.changes_since(&token))
            .unwrap()
            .unwrap();
        assert_eq!(cs.removed.len(), removed, "{feed:?}");
        assert_eq!(cs.changed.len(), 1, "create+update is one change");
        assert_eq!(cs.changed[0].id, kept);
        assert_eq!(
            cs.changed[0].version,
            side.get(&kept).unwrap().version.to_string()
        );
    }
}

#[test]
fn a_remote_delete_of_a_record_the_last_run_created_is_seen_through_the_feed() {
    let mut w = coalescing_world();
    let l = w.local.insert(rec(&[("name", "Ann")]));
    w.sync(&Policy::default());
    let r = w.partner_of_local(&l).expect("created remotely");

    // The user deletes the record in Exchange before the next run.
    w.remote.remove(&r);
    let lists = (w.local.stats.lists, w.remote.stats.lists);
    let (plan, report) = w.sync(&Policy::default());
    assert_eq!(plan.counts.local.deleted, 1, "{:#?}", plan.items);
    assert!(report.is_complete());
    assert!(w.local.get(&l).is_none(), "the CRM record is deleted");
    assert_eq!(w.store.pair_count().unwrap(), 0);
    assert_eq!(
        (w.local.stats.lists, w.remote.stats.lists),
        lists,
        "read through the feeds, no full listing"
    );
}

#[test]
fn a_local_delete_of_a_record_the_last_run_created_is_seen_too() {
    let mut w = coalescing_world();
    let r = w.remote.insert(rec(&[("name", "Bob")]));
    w.sync(&Policy::default());
    let l = w.partner_of_remote(&r).expect("created locally");
    w.local.remove(&l);
    let (plan, _) = w.sync(&Policy::default());
    assert_eq!(plan.counts.remote.deleted, 1);
    assert!(w.remote.get(&r).is_none());
}

#[test]
fn after_a_run_the_stored_token_is_past_the_runs_own_writes() {
    let mut w = coalescing_world();
    for i in 0..10 {
        w.local.insert(rec(&[("n", &i.to_string())]));
    }
    w.sync(&Policy::default());
    let before = (w.local.stats, w.remote.stats);
    let (plan, _) = w.sync(&Policy::default());
    assert!(plan.items.is_empty());
    assert_eq!(
        w.local.stats.entries_read, before.0.entries_read,
        "nothing read back"
    );
    assert_eq!(
        w.remote.stats.entries_read, before.1.entries_read,
        "nothing read back"
    );
    assert_eq!(w.local.stats.lists, before.0.lists);
    assert_eq!(w.remote.stats.lists, before.1.lists);
}

#[test]
fn an_external_change_racing_the_run_stores_no_token_and_the_next_run_lists_in_full() {
    let mut w = coalescing_world();
    let l = w.local.insert(rec(&[("name", "Ann")]));
    w.sync(&Policy::default());
    let r = w.partner_of_local(&l).unwrap();

    w.local.edit(&l, "name", "Anna");
    let engine = Engine::new(Policy::default()).unwrap();
    let prepared = futures::executor::block_on(engine.prepare(
        &mut w.local,
        &mut w.remote,
        &mut w.store,
        Timestamp::from_unix_secs(5),
    ))
    .unwrap();
    // While the run writes, a user creates and deletes a record in Exchange, and creates
    // another one.
    let tmp = w.remote.insert(rec(&[("name", "tmp")]));
    w.remote.remove(&tmp);
    let racer = w.remote.insert(rec(&[("name", "Racer")]));
    let report = futures::executor::block_on(engine.apply(
        &prepared.plan,
        &mut w.local,
        &mut w.remote,
        &mut w.store,
    ))
    .unwrap();
    assert!(report.is_complete());
    assert_eq!(w.remote_record(&r), rec(&[("name", "Anna")]));
    assert_eq!(w.store.token(SideId::Remote).unwrap(), None, "no cursor");
    assert!(
        w.store.token(SideId::Local).unwrap().is_some(),
        "the side without writes keeps its token"
    );

    let lists = w.remote.stats.lists;
    w.sync(&Policy::default());
    assert_eq!(
        w.remote.stats.lists,
        lists + 1,
        "the next run lists in full"
    );
    let l2 = w
        .partner_of_remote(&racer)
        .expect("the racer was picked up");
    assert_eq!(w.local_record(&l2), rec(&[("name", "Racer")]));
    assert_eq!(w.local.items().len(), 2);
    let (plan, _) = w.sync(&Policy::default());
    assert!(plan.items.is_empty(), "converged: {:#?}", plan.items);
}

#[test]
fn a_run_without_writes_keeps_its_token_and_costs_no_extra_feed_call() {
    let mut w = coalescing_world();
    w.local.insert(rec(&[("name", "Ann")]));
    w.sync(&Policy::default());
    let tokens = (
        w.store.token(SideId::Local).unwrap(),
        w.store.token(SideId::Remote).unwrap(),
    );
    assert!(tokens.0.is_some() && tokens.1.is_some());
    let feeds = (w.local.stats.feeds, w.remote.stats.feeds);
    let (plan, _) = w.sync(&Policy::default());
    assert!(plan.items.is_empty());
    assert_eq!(
        (w.local.stats.feeds, w.remote.stats.feeds),
        (feeds.0 + 1, feeds.1 + 1),
        "one feed call per side, none after applying"
    );
    assert_eq!(
        (
            w.store.token(SideId::Local).unwrap(),
            w.store.token(SideId::Remote).unwrap()
        ),
        tokens
    );
}

/// A side whose change feed fails (or has expired) after `ok` calls.
struct FlakyFeed {
    inner: MemorySide,
    ok: usize,
    expired: bool,
}

impl Side for FlakyFeed {
    async fn list(&mut self) -> Result<Listing, SideError> {
        self.inner.list().await
    }
    async fn changes_since(&mut self, token: &str) -> Result<Option<ChangeSet>, SideError> {
        if self.ok == 0 {
            return if self.expired {
                Ok(None)
            } else {
                Err(SideError::transient("feed down"))
            };
        }
        self.ok -= 1;
        self.inner.changes_since(token).await
    }
    async fn fetch(&mut self, ids: &[Id]) -> Result<Vec<(Id, Record)>, SideError> {
        self.inner.fetch(ids).await
    }
    async fn write(&mut self, ops: Vec<WriteOp>) -> Result<Vec<WriteOutcome>, SideError> {
        self.inner.write(ops).await
    }
}

#[test]
fn a_feed_that_fails_or_expires_after_writing_stores_no_token() {
    for expired in [false, true] {
        let mut local = MemorySide::new("L", Feed::CoalescingDelta);
        let mut remote = FlakyFeed {
            inner: MemorySide::new("R", Feed::CoalescingDelta),
            ok: 0,
            expired,
        };
        let mut store = MemoryStore::new();
        let engine = Engine::new(Policy::default()).unwrap();
        local.insert(rec(&[("name", "Ann")]));
        futures::executor::block_on(engine.run(
            &mut local,
            &mut remote,
            &mut store,
            Timestamp::from_unix_secs(1),
        ))
        .unwrap();
        assert_eq!(
            store.token(SideId::Remote).unwrap(),
            None,
            "expired: {expired}"
        );
        assert!(store.token(SideId::Local).unwrap().is_some());
        assert_eq!(remote.inner.items().len(), 1);
    }
}
