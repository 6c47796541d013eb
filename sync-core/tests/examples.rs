//! Example tests, one per switch and merge case: read them as the engine's documentation.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use common::{World, rec};
use sync_core::memory::{Applied, Fault, Feed, Scope};
use sync_core::{Change, Master, Policy, StateStore, Switches, SyncError, Timestamp, WriteResult};

fn rule() -> Policy {
    Policy::default()
}

/// A world with one synced pair: local "L1" <-> remote, both {name: Ann, phone: 1}.
fn one_pair() -> (World, String, String) {
    let mut w = World::new();
    let l = w.local.insert(rec(&[("name", "Ann"), ("phone", "1")]));
    w.sync(&rule());
    let r = w.partner_of_local(&l).expect("paired");
    (w, l, r)
}

#[test]
fn a_new_local_record_is_created_remotely_carrying_the_local_id_as_key() {
    let mut w = World::new();
    let l = w.local.insert(rec(&[("name", "Ann")]));
    let (plan, report) = w.sync(&rule());
    assert_eq!(plan.counts.remote.new, 1);
    assert_eq!(
        plan.counts.local.linked, 1,
        "the source carries the key explicitly"
    );
    assert_eq!(report.counts, plan.counts);
    let r = w.partner_of_local(&l).unwrap();
    assert_eq!(w.remote_record(&r), rec(&[("name", "Ann")]));
    assert_eq!(w.remote.get(&r).unwrap().key.as_deref(), Some(l.as_str()));
}

#[test]
fn a_new_remote_record_is_created_locally_and_the_source_gets_the_key() {
    let mut w = World::new();
    let r = w.remote.insert(rec(&[("name", "Bob")]));
    let (plan, _) = w.sync(&rule());
    assert_eq!(plan.counts.local.new, 1);
    assert_eq!(plan.counts.remote.linked, 1);
    let l = w.partner_of_remote(&r).unwrap();
    assert_eq!(w.local_record(&l), rec(&[("name", "Bob")]));
    assert_eq!(w.local.get(&l).unwrap().key, w.remote.get(&r).unwrap().key);
}

#[test]
fn a_change_on_one_side_is_copied_to_the_other() {
    let (mut w, l, r) = one_pair();
    w.remote.edit(&r, "phone", "2");
    let (plan, _) = w.sync(&rule());
    assert_eq!(plan.counts.local.changed, 1);
    assert_eq!(plan.counts.remote.total(), 0);
    assert_eq!(w.local_record(&l), rec(&[("name", "Ann"), ("phone", "2")]));
}

#[test]
fn changes_to_different_fields_on_both_sides_are_merged() {
    let (mut w, l, r) = one_pair();
    w.local.edit(&l, "name", "Anna");
    w.remote.edit(&r, "phone", "2");
    let (plan, _) = w.sync(&rule());
    assert_eq!(plan.counts.local.changed, 1);
    assert_eq!(plan.counts.remote.changed, 1);
    let merged = rec(&[("name", "Anna"), ("phone", "2")]);
    assert_eq!(w.local_record(&l), merged);
    assert_eq!(w.remote_record(&r), merged);
}

#[test]
fn a_field_changed_on_both_sides_to_different_values_goes_to_the_master() {
    for (master, expected) in [(Master::Local, "L"), (Master::Remote, "R")] {
        let (mut w, l, r) = one_pair();
        w.local.edit(&l, "phone", "L");
        w.remote.edit(&r, "phone", "R");
        w.remote.edit(&r, "name", "Annie"); // changed on one side only: taken from there
        let rule = Policy { master, ..rule() };
        w.sync(&rule);
        let want = rec(&[("name", "Annie"), ("phone", expected)]);
        assert_eq!(w.local_record(&l), want, "{master:?}");
        assert_eq!(w.remote_record(&r), want, "{master:?}");
    }
}

#[test]
fn equal_changes_on_both_sides_are_not_a_conflict_and_write_nothing() {
    let (mut w, l, r) = one_pair();
    w.local.edit(&l, "phone", "9");
    w.remote.edit(&r, "phone", "9");
    let (plan, report) = w.sync(&rule());
    assert!(plan.is_noop(), "{:?}", plan.counts);
    assert!(
        report
            .items
            .iter()
            .all(|i| i.local.is_none() && i.remote.is_none())
    );
    let (again, _) = w.sync(&rule());
    assert!(again.items.is_empty(), "the new versions were recorded");
}

#[test]
fn a_field_cleared_on_one_side_is_cleared_on_the_other() {
    let (mut w, l, r) = one_pair();
    w.remote.clear_field(&r, "phone");
    w.local.edit(&l, "name", "Anna");
    w.sync(&rule());
    assert_eq!(w.local_record(&l), rec(&[("name", "Anna")]));
    assert_eq!(w.remote_record(&r), rec(&[("name", "Anna")]));
}

#[test]
fn a_field_cleared_on_one_side_and_changed_on_the_other_goes_to_the_master() {
    for (master, phone) in [(Master::Local, Some("2")), (Master::Remote, None)] {
        let (mut w, l, r) = one_pair();
        w.local.edit(&l, "phone", "2");
        w.remote.clear_field(&r, "phone");
        w.sync(&Policy { master, ..rule() });
        let want = match phone {
            Some(p) => rec(&[("name", "Ann"), ("phone", p)]),
            None => rec(&[("name", "Ann")]),
        };
        assert_eq!(w.local_record(&l), want, "{master:?}");
        assert_eq!(w.remote_record(&r), want, "{master:?}");
    }
}

#[test]
fn a_version_bump_without_a_content_change_writes_nothing() {
    let (mut w, l, _) = one_pair();
    w.local.edit(&l, "phone", "1"); // same value, new version
    let (plan, _) = w.sync(&rule());
    assert!(plan.is_noop());
}

#[test]
fn a_record_deleted_on_one_side_is_deleted_on_the_other() {
    let (mut w, l, r) = one_pair();
    w.local.remove(&l);
    let (plan, _) = w.sync(&rule());
    assert_eq!(plan.counts.remote.deleted, 1);
    assert!(w.remote.get(&r).is_none());
    assert_eq!(w.store.pair_count().unwrap(), 0);
}

#[test]
fn with_delete_missing_off_the_pair_is_detached_and_never_recreated() {
    let (mut w, l, r) = one_pair();
    let keep = Policy {
        local_to_remote: Switches {
            delete_missing: false,
            ..Switches::ALL
        },
        ..rule()
    };
    w.local.remove(&l);
    let (plan, _) = w.sync(&keep);
    assert!(plan.is_noop());
    assert_eq!(
        plan.items[0].change,
        Change::Detach {
            gone: sync_core::SideId::Local
        }
    );
    assert!(w.remote.get(&r).is_some(), "kept");
    // Later edits of the detached record are not tracked, and it is not re-created locally.
    w.remote.edit(&r, "phone", "7");
    let (plan, _) = w.sync(&keep);
    assert!(plan.is_noop());
    assert!(w.local.items().is_empty());
}

#[test]
fn an_edit_beats_a_delete_the_edited_record_is_kept_and_detached() {
    let (mut w, l, r) = one_pair();
    w.local.set_scope(&l, Scope::Out); // gone from the sync's view (deleted or moved away)
    w.remote.edit(&r, "phone", "5");
    let (plan, _) = w.sync(&rule());
    assert!(plan.is_noop(), "nothing deleted, nothing re-created");
    assert_eq!(
        plan.items[0].change,
        Change::Detach {
            gone: sync_core::SideId::Local
        }
    );
    assert_eq!(w.remote_record(&r), rec(&[("name", "Ann"), ("phone", "5")]));
    // When the local record comes back into scope, it re-attaches by key and merges.
    w.local.set_scope(&l, Scope::In);
    w.local.edit(&l, "name", "Anna");
    w.sync(&rule());
    let want = rec(&[("name", "Anna"), ("phone", "5")]);
    assert_eq!(w.local_record(&l), want);
    assert_eq!(w.remote_record(&r), want);
    assert_eq!(w.partner_of_local(&l), Some(r));
}

#[test]
fn with_transfer_new_off_new_records_stay_where_they_are() {
    let mut w = World::new();
    let off = Policy {
        local_to_remote: Switches {
            transfer_new: false,
            ..Switches::ALL
        },
        ..rule()
    };
    w.local.insert(rec(&[("name", "Ann")]));
    let r = w.remote.insert(rec(&[("name", "Bob")]));
    let (plan, _) = w.sync(&off);
    assert_eq!(plan.counts.remote.new, 0);
    assert_eq!(plan.counts.local.new, 1);
    assert_eq!(w.remote.in_scope(), vec![r]);
}

#[test]
fn with_transfer_changed_off_a_change_is_not_written_and_not_mistaken_later() {
    let (mut w, l, r) = one_pair();
    let off = Policy {
        local_to_remote: Switches {
            transfer_changed: false,
            ..Switches::ALL
        },
        ..rule()
    };
    w.local.edit(&l, "phone", "2");
    let (plan, _) = w.sync(&off);
    assert!(plan.is_noop());
    assert_eq!(w.remote_record(&r), rec(&[("name", "Ann"), ("phone", "1")]));
    // A later remote edit of another field flows back without reverting the local phone.
    w.remote.edit(&r, "name", "Anne");
    w.sync(&off);
    assert_eq!(w.local_record(&l), rec(&[("name", "Anne"), ("phone", "2")]));
    assert_eq!(
        w.remote_record(&r),
        rec(&[("name", "Anne"), ("phone", "1")])
    );
}

#[test]
fn overwrite_completely_makes_the_target_a_copy_of_the_source() {
    let (mut w, l, r) = one_pair();
    let mirror = Policy {
        local_to_remote: Switches {
            overwrite_completely: true,
            ..Switches::ALL
        },
        master: Master::Remote, // ignored: the overwriting direction decides
        ..rule()
    };
    w.local.edit(&l, "name", "Anna");
    w.remote.edit(&r, "phone", "2");
    w.remote.edit(&r, "extra", "x");
    w.sync(&mirror);
    let src = rec(&[("name", "Anna"), ("phone", "1")]);
    assert_eq!(w.remote_record(&r), src);
    assert_eq!(w.local_record(&l), src);
}

#[test]
fn leaving_the_scope_deletes_only_when_the_delete_switch_is_on() {
    for delete in [true, false] {
        let (mut w, _, r) = one_pair();
        let l = w.partner_of_remote(&r).unwrap();
        let rule = Policy {
            remote_to_local: Switches {
                delete_missing: delete,
                ..Switches::ALL
            },
            ..rule()
        };
        w.remote.set_scope(&r, Scope::Out);
        w.sync(&rule);
        assert_eq!(w.local.get(&l).is_some(), !delete);
        // Coming back into scope re-pairs (or re-creates) by key, never duplicates.
        w.remote.set_scope(&r, Scope::In);
        w.sync(&rule);
        assert_eq!(w.local.in_scope().len(), 1, "delete={delete}");
        assert_eq!(w.remote.in_scope().len(), 1);
    }
}

#[test]
fn a_moved_remote_record_is_repaired_by_key_not_deleted_and_recreated() {
    let (mut w, l, r) = one_pair();
    let r2 = w.remote.move_item(&r).unwrap();
    let (plan, _) = w.sync(&rule());
    assert!(plan.is_noop(), "{:?}", plan.counts);
    assert_eq!(w.partner_of_local(&l), Some(r2.clone()));
    w.local.edit(&l, "phone", "3");
    w.sync(&rule());
    assert_eq!(w.remote_record(&r2).get("phone"), Some(&"3".into()));
}

#[test]
fn an_unknown_create_outcome_is_recovered_without_a_duplicate() {
    let mut w = World::new();
    let l = w.local.insert(rec(&[("name", "Ann")]));
    w.remote.inject(Fault::Unknown); // the create happens but its outcome is lost
    let (_, report) = w.sync(&rule());
    assert!(!report.is_complete());
    assert_eq!(
        w.store.intents().unwrap().len(),
        1,
        "the intent stays journaled"
    );
    let (plan, report) = w.sync(&rule());
    assert_eq!(plan.counts.remote.new, 0);
    assert!(report.is_complete());
    assert_eq!(w.remote.items().len(), 1);
    assert!(w.partner_of_local(&l).is_some());
    assert!(w.store.intents().unwrap().is_empty());
}

#[test]
fn a_batch_error_is_recovered_on_the_next_run() {
    let mut w = World::new();
    w.local.insert(rec(&[("name", "Ann")]));
    w.local.insert(rec(&[("name", "Bea")]));
    w.remote.inject(Fault::BatchError);
    let (_, report) = w.sync(&rule());
    assert_eq!(
        report.incomplete, 2,
        "the sources got their keys first; the two creates' outcomes are unknown"
    );
    assert_eq!(report.counts.local.linked, 2);
    assert_eq!(report.unknown, 2);
    w.sync(&rule());
    assert_eq!(w.remote.items().len(), 2);
    assert_eq!(w.store.pair_count().unwrap(), 2);
}

#[test]
fn after_the_state_is_lost_records_are_relinked_by_key_without_writes() {
    let (mut w, l, r) = one_pair();
    let r_new = w.remote.insert(rec(&[("name", "Bob")]));
    w.sync(&rule());
    w.store = sync_core::MemoryStore::new();
    let (plan, _) = w.sync(&rule());
    assert!(plan.is_noop(), "{:?}", plan.counts);
    assert_eq!(w.partner_of_local(&l), Some(r));
    assert!(w.partner_of_remote(&r_new).is_some());
    assert_eq!(w.local.items().len(), 2);
}

#[test]
fn the_mass_delete_guard_stops_a_run_unless_forced() {
    let mut w = World::new();
    let ids: Vec<String> = (0..10)
        .map(|i| w.local.insert(rec(&[("n", &i.to_string())])))
        .collect();
    w.sync(&rule());
    for id in &ids[..6] {
        w.local.remove(id);
    }
    let err = w.try_sync(&rule()).unwrap_err();
    assert!(
        matches!(err, SyncError::MassDelete(ref g) if g.deletes == 6),
        "{err}"
    );
    assert_eq!(w.remote.items().len(), 10, "nothing written");
    let forced = Policy {
        force: true,
        ..rule()
    };
    w.sync(&forced);
    assert_eq!(w.remote.items().len(), 4);
}

#[test]
fn the_mass_delete_guard_trips_when_a_side_lists_nothing() {
    // Sides without a change feed: every run lists both sides in full.
    let mut w = World::new();
    w.local = sync_core::memory::MemorySide::new("L", Feed::FullListing);
    w.remote = sync_core::memory::MemorySide::new("R", Feed::FullListing);
    let l = w.local.insert(rec(&[("name", "Ann")]));
    w.sync(&rule());
    w.local.remove(&l);
    let plan = w.preview(&rule());
    assert_eq!(
        plan.guard().unwrap().empty_side,
        Some(sync_core::SideId::Local)
    );
}

#[test]
fn a_tripped_guard_is_refused_until_the_plan_is_accepted() {
    let mut w = World::new();
    w.local = sync_core::memory::MemorySide::new("L", Feed::FullListing);
    w.remote = sync_core::memory::MemorySide::new("R", Feed::FullListing);
    let ids: Vec<_> = (0..10)
        .map(|i| w.local.insert(rec(&[("name", &format!("n{i}"))])))
        .collect();
    w.sync(&rule());
    for id in &ids[..8] {
        w.local.remove(id);
    }
    let engine = sync_core::Engine::new(rule()).unwrap();
    let mut plan = futures::executor::block_on(engine.prepare(
        &mut w.local,
        &mut w.remote,
        &mut w.store,
        Timestamp::from_unix_secs(5),
    ))
    .unwrap()
    .plan;
    assert_eq!(plan.counts.remote.deleted, 8);
    let refused =
        futures::executor::block_on(engine.apply(&plan, &mut w.local, &mut w.remote, &mut w.store));
    assert!(
        matches!(refused, Err(SyncError::MassDelete(_))),
        "{refused:?}"
    );
    assert_eq!(w.remote.items().len(), 10, "nothing written");

    let accepted = plan.accept_mass_delete().expect("the guard had tripped");
    assert_eq!((accepted.deletes, accepted.pairs), (8, 10));
    assert!(plan.guard().is_none());
    let report =
        futures::executor::block_on(engine.apply(&plan, &mut w.local, &mut w.remote, &mut w.store))
            .unwrap();
    assert_eq!(report.counts.remote.deleted, 8);
    assert_eq!(w.remote.items().len(), 2);
    assert!(w.preview(&rule()).is_noop());
}

#[test]
fn a_record_changed_after_planning_is_left_for_the_next_run() {
    let (mut w, l, r) = one_pair();
    w.local.edit(&l, "phone", "2");
    let engine = sync_core::Engine::new(rule()).unwrap();
    let prepared = futures::executor::block_on(engine.prepare(
        &mut w.local,
        &mut w.remote,
        &mut w.store,
        Timestamp::from_unix_secs(5),
    ))
    .unwrap();
    w.remote.edit(&r, "name", "Remote edit after planning");
    let report = futures::executor::block_on(engine.apply(
        &prepared.plan,
        &mut w.local,
        &mut w.remote,
        &mut w.store,
    ))
    .unwrap();
    assert_eq!(report.items[0].remote, Some(WriteResult::Conflict));
    assert_eq!(
        w.remote_record(&r).get("name"),
        Some(&"Remote edit after planning".into())
    );
    w.sync(&rule());
    let want = rec(&[("name", "Remote edit after planning"), ("phone", "2")]);
    assert_eq!(w.remote_record(&r), want);
    assert_eq!(w.local_record(&l), want);
}

#[test]
fn the_report_equals_the_preview_when_nothing_changes_in_between() {
    let (mut w, l, r) = one_pair();
    w.local.edit(&l, "name", "X");
    w.remote.edit(&r, "phone", "Y");
    w.local.insert(rec(&[("name", "new")]));
    w.remote.insert(rec(&[("name", "new2")]));
    let preview = w.preview(&rule());
    let (plan, report) = w.sync(&rule());
    assert_eq!(plan.counts, preview.counts);
    assert_eq!(report.counts, preview.counts);
    assert!(report.is_complete());
}

#[test]
fn a_second_run_writes_nothing_and_a_feed_run_reads_only_changes() {
    let mut w = World::new();
    for i in 0..20 {
        w.local.insert(rec(&[("n", &i.to_string())]));
    }
    w.sync(&rule());
    w.sync(&rule()); // consumes the feed entries of the first run's own writes
    let pairs = w.store.all_pairs().unwrap();
    let before = (w.local.stats, w.remote.stats);
    let (plan, _) = w.sync(&rule());
    assert!(plan.items.is_empty());
    assert_eq!(w.store.all_pairs().unwrap(), pairs);
    assert_eq!(w.local.stats.lists, before.0.lists, "no full listing");
    assert_eq!(w.local.stats.entries_read, before.0.entries_read);
    assert_eq!(w.remote.stats.records_fetched, before.1.records_fetched);
    assert!(
        w.local
            .applied
            .iter()
            .all(|a| matches!(a, Applied::Keyed(_)))
            || w.local.applied.is_empty()
    );
}

/// A store that fails (like a crash) at its `n`th commit and works again afterwards.
struct CrashingStore {
    inner: sync_core::MemoryStore,
    crash_at: usize,
    commits: usize,
}

impl StateStore for CrashingStore {
    fn pair_count(&self) -> Result<usize, sync_core::StoreError> {
        self.inner.pair_count()
    }
    fn all_pairs(&self) -> Result<Vec<sync_core::Pair>, sync_core::StoreError> {
        self.inner.all_pairs()
    }
    fn pairs_for(
        &self,
        l: &[String],
        r: &[String],
        k: &[String],
    ) -> Result<Vec<sync_core::Pair>, sync_core::StoreError> {
        self.inner.pairs_for(l, r, k)
    }
    fn intents(&self) -> Result<Vec<sync_core::Intent>, sync_core::StoreError> {
        self.inner.intents()
    }
    fn token(&self, side: sync_core::SideId) -> Result<Option<String>, sync_core::StoreError> {
        self.inner.token(side)
    }
    fn commit(&mut self, batch: &sync_core::StateBatch) -> Result<(), sync_core::StoreError> {
        self.commits += 1;
        if self.commits == self.crash_at {
            return Err(sync_core::StoreError::Corrupt("crash".into()));
        }
        self.inner.commit(batch)
    }
}

#[test]
fn a_crash_between_the_creates_and_the_state_commit_does_not_duplicate() {
    let mut w = World::with_store(CrashingStore {
        inner: sync_core::MemoryStore::new(),
        crash_at: 2, // 1: the journal of intents, 2: the batch's pairs
        commits: 0,
    });
    w.local.insert(rec(&[("name", "Ann")]));
    w.remote.insert(rec(&[("name", "Bob")]));
    assert!(matches!(w.try_sync(&rule()), Err(SyncError::Store(_))));
    assert_eq!(w.remote.items().len(), 2, "the creates happened");
    assert_eq!(
        w.store.intents().unwrap().len(),
        2,
        "journaled before the creates"
    );
    assert_eq!(w.store.pair_count().unwrap(), 0, "but not recorded");
    let (plan, report) = w.sync(&rule());
    assert_eq!(
        plan.counts.local.new + plan.counts.remote.new,
        0,
        "{:?}",
        plan.counts
    );
    assert!(report.is_complete());
    assert_eq!(w.local.items().len(), 2);
    assert_eq!(w.remote.items().len(), 2);
    assert_eq!(w.store.pair_count().unwrap(), 2);
    assert!(w.store.intents().unwrap().is_empty());
}

#[test]
fn each_batch_is_one_state_transaction() {
    let mut w = World::new();
    for i in 0..5 {
        w.local.insert(rec(&[("n", &i.to_string())]));
    }
    let engine = sync_core::Engine::new(rule()).unwrap().with_batch_size(2);
    let before = w.store.commits();
    futures::executor::block_on(engine.run(
        &mut w.local,
        &mut w.remote,
        &mut w.store,
        Timestamp::from_unix_secs(7),
    ))
    .unwrap();
    // 3 batches, each: the intents journal and the outcomes; then the change-feed tokens.
    assert_eq!(w.store.commits() - before, 3 * 2 + 1);
    assert_eq!(w.store.pair_count().unwrap(), 5);
}

#[test]
fn a_no_change_run_commits_nothing() {
    for local_feed in [Feed::Delta, Feed::FullListing] {
        let mut w = World::new();
        w.local = sync_core::memory::MemorySide::new("L", local_feed);
        let l = w.local.insert(rec(&[("n", "1")]));
        w.remote.insert(rec(&[("n", "2")]));
        w.sync(&rule());
        let tokens = (
            w.store.token(sync_core::SideId::Local).unwrap(),
            w.store.token(sync_core::SideId::Remote).unwrap(),
        );
        assert!(tokens.1.is_some(), "the remote feed's token is stored");
        let before = w.store.commits();
        let (plan, report) = w.sync(&rule());
        assert!(plan.is_noop() && report.is_complete());
        assert_eq!(
            w.store.commits(),
            before,
            "{local_feed:?}: nothing changed, so nothing is committed"
        );
        assert_eq!(
            (
                w.store.token(sync_core::SideId::Local).unwrap(),
                w.store.token(sync_core::SideId::Remote).unwrap(),
            ),
            tokens
        );
        // A change is written and its state committed; the next run is quiet again.
        assert!(w.local.edit(&l, "n", "3"));
        w.sync(&rule());
        assert!(w.store.commits() > before);
        let after = w.store.commits();
        w.sync(&rule());
        assert_eq!(w.store.commits(), after);
    }
}

#[test]
fn the_engine_future_is_send_with_an_sqlite_store() {
    fn assert_send<T: Send>(_: &T) {}
    let engine = sync_core::Engine::new(rule()).unwrap();
    let mut local = sync_core::memory::MemorySide::new("L", Feed::Delta);
    let mut remote = sync_core::memory::MemorySide::new("R", Feed::Delta);
    let mut store = sync_core::SqliteStore::open_in_memory().unwrap();
    let fut = engine.run(
        &mut local,
        &mut remote,
        &mut store,
        Timestamp::from_unix_secs(1),
    );
    assert_send(&fut);
    let (plan, _) = futures::executor::block_on(fut).unwrap();
    assert!(plan.items.is_empty());
}
