//! Crash convergence: a run stopped at any point (before any side write or state commit)
//! followed by a normal run leaves every record that exists on both sides carrying its
//! correlation key on both sides, without a duplicate; a later move re-pairs without a
//! delete and create.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{World, rec, run_until_crash};
use sync_core::memory::MemorySide;
use sync_core::{
    Id, MemoryStore, Policy, Side, SqliteStore, StateStore, Timestamp, WriteOp, WriteOutcome,
};

/// Two synced pairs (one edited on each side since), plus three new records on each side.
fn world<S: StateStore + Send>(store: S) -> World<S> {
    let mut w = World::with_store(store);
    let a = w.local.insert(rec(&[("name", "Ann")]));
    let b = w.remote.insert(rec(&[("name", "Bob")]));
    w.sync(&Policy::default());
    w.local.edit(&a, "phone", "1");
    w.remote.edit(&b, "phone", "2");
    for i in 0..3 {
        w.local.insert(rec(&[("name", &format!("local {i}"))]));
        w.remote.insert(rec(&[("name", &format!("remote {i}"))]));
    }
    w
}

/// Every record on both sides carries a key, each key once per side, on both sides, and the
/// pairs anchor exactly these records.
fn assert_keyed_on_both_sides<S: StateStore + Send>(w: &World<S>, n: usize, at: &str) {
    let keys = |side: &MemorySide| -> BTreeMap<String, Id> {
        let mut m = BTreeMap::new();
        for (id, item) in side.items() {
            let k = item
                .key
                .clone()
                .unwrap_or_else(|| panic!("{at}: {id} carries no key"));
            assert!(
                m.insert(k.clone(), id.clone()).is_none(),
                "{at}: duplicate key {k}"
            );
        }
        m
    };
    let (l, r) = (keys(&w.local), keys(&w.remote));
    assert_eq!(l.len(), n, "{at}: local count");
    assert_eq!(r.len(), n, "{at}: remote count");
    assert_eq!(
        l.keys().collect::<BTreeSet<_>>(),
        r.keys().collect::<BTreeSet<_>>(),
        "{at}: same keys on both sides"
    );
    let pairs = w.store.all_pairs().unwrap();
    assert_eq!(pairs.len(), n, "{at}: pairs");
    for p in pairs {
        assert_eq!(
            p.local.map(|a| a.id).as_ref(),
            l.get(&p.key),
            "{at}: {}",
            p.key
        );
        assert_eq!(
            p.remote.map(|a| a.id).as_ref(),
            r.get(&p.key),
            "{at}: {}",
            p.key
        );
    }
}

fn every_crash_point_converges<S: StateStore + Send>(fresh: impl Fn() -> S) {
    let rule = Policy::default();
    let mut points = 0;
    for steps in 0.. {
        let mut w = world(fresh());
        if run_until_crash(&mut w, &rule, steps, 2) {
            break;
        }
        points += 1;
        let at = format!("crash before step {steps}");
        let (_, report) = w.sync(&rule);
        assert!(report.is_complete(), "{at}: {report:?}");
        assert_keyed_on_both_sides(&w, 8, &at);
        let (again, _) = w.sync(&rule);
        assert!(
            again.items.is_empty(),
            "{at}: third run writes: {:#?}",
            again.items
        );
        // Moving every remote record (new ids) re-pairs them: no delete, no create.
        let local_ids: Vec<Id> = w.local.items().keys().cloned().collect();
        for id in w.remote.items().keys().cloned().collect::<Vec<_>>() {
            w.remote.move_item(&id);
        }
        let (plan, _) = w.sync(&rule);
        let c = plan.counts;
        assert_eq!(
            c.local.new + c.local.deleted + c.remote.new + c.remote.deleted,
            0,
            "{at}: a move deleted or created: {c:?}"
        );
        assert_eq!(
            w.local.items().keys().cloned().collect::<Vec<_>>(),
            local_ids
        );
        assert_keyed_on_both_sides(&w, 8, &format!("{at}, after the moves"));
    }
    // Batches of two: at least the journal, key writes, creates and commits of 3 batches.
    assert!(points >= 10, "only {points} crash points");
}

#[test]
fn a_crash_at_any_point_converges_with_keys_on_both_sides_on_the_memory_store() {
    every_crash_point_converges(MemoryStore::new);
}

#[test]
fn a_crash_at_any_point_converges_with_keys_on_both_sides_on_the_sqlite_store() {
    every_crash_point_converges(|| SqliteStore::open_in_memory().unwrap());
}

/// The state an earlier version left after a crash between the create of the CRM copy and
/// the key write on its Exchange source (or a failed key write): the copy carries the key,
/// the source does not, and no pair is stored. The next run links them and stores the key
/// on the source too, so a later move of the source re-pairs instead of deleting the CRM
/// record and creating a new one.
#[cfg(feature = "postgres")]
#[test]
fn a_crash_at_any_point_converges_with_keys_on_both_sides_on_the_postgres_store() {
    let Some(pg) = common::pg::pg() else { return };
    every_crash_point_converges(|| pg.store("crash"));
}

#[test]
fn an_unkeyed_source_is_keyed_when_linked_and_then_survives_a_move() {
    let mut w = World::new();
    let x = w.remote.insert(rec(&[("name", "Ann"), ("project", "P1")]));
    let l = w.local.insert(rec(&[("name", "Ann"), ("project", "P1")]));
    let version = w.local.get(&l).unwrap().version.to_string();
    let out = futures::executor::block_on(w.local.write(vec![WriteOp::SetKey {
        id: l.clone(),
        expected: version,
        key: x.clone(),
    }]))
    .unwrap();
    assert!(matches!(out[0], WriteOutcome::Done { .. }));

    let (plan, _) = w.sync(&Policy::default());
    assert_eq!(
        plan.counts.remote.linked, 1,
        "the source gets its key: {plan:#?}"
    );
    assert_eq!(w.remote.get(&x).unwrap().key.as_deref(), Some(x.as_str()));

    let moved = w.remote.move_item(&x).unwrap();
    let (plan, _) = w.sync(&Policy::default());
    assert_eq!(plan.counts.local.deleted, 0);
    assert_eq!(plan.counts.local.new, 0);
    assert_eq!(w.partner_of_remote(&moved), Some(l.clone()));
    assert_eq!(w.local.items().len(), 1);
    assert_eq!(w.local_record(&l).get("project"), Some(&"P1".into()));
}

/// A pair stored with a source that never got its key (its key write failed) is healed by
/// the next run even though neither record changed.
#[test]
fn a_failed_key_write_on_the_source_is_healed_by_the_next_run() {
    let mut w = World::new();
    let x = w.remote.insert(rec(&[("name", "Ann")]));
    w.remote.inject(sync_core::memory::Fault::Fail); // the key write on the source fails
    let (_, report) = w.sync(&Policy::default());
    assert_eq!(report.failed, 1);
    assert!(w.remote.get(&x).unwrap().key.is_none());
    let (_, report) = w.sync(&Policy::default());
    assert!(report.is_complete());
    assert_eq!(w.remote.get(&x).unwrap().key.as_deref(), Some(x.as_str()));
    assert_eq!(w.local.items().len(), 1);
    let moved = w.remote.move_item(&x).unwrap();
    let (plan, _) = w.sync(&Policy::default());
    assert_eq!(plan.counts.total(), 0, "{plan:#?}");
    assert!(w.partner_of_remote(&moved).is_some());
}

/// Two runs at once on the same sides and state: the one applying a plan made before the
/// other run's writes leaves every item whose state changed to the next run: no second
/// copy, no outdated merge.
#[test]
fn a_plan_applied_after_another_run_wrote_does_not_duplicate_or_overwrite() {
    let mut w = World::new();
    for i in 0..3 {
        w.local.insert(rec(&[("name", &format!("n{i}"))]));
    }
    let a0 = w.remote.insert(rec(&[("name", "Remote")]));
    let engine = sync_core::Engine::new(Policy::default()).unwrap();
    let prepare = |w: &mut World| {
        futures::executor::block_on(engine.prepare(
            &mut w.local,
            &mut w.remote,
            &mut w.store,
            Timestamp::from_unix_secs(9),
        ))
        .unwrap()
        .plan
    };
    let plan_a = prepare(&mut w);
    let plan_b = prepare(&mut w);
    assert_eq!(plan_a.items, plan_b.items);
    let apply = |w: &mut World, plan: &sync_core::Plan| {
        futures::executor::block_on(engine.apply(plan, &mut w.local, &mut w.remote, &mut w.store))
            .unwrap()
    };
    let report_b = apply(&mut w, &plan_b);
    assert!(report_b.is_complete());
    w.remote.edit(&a0, "phone", "1"); // an edit after B's run
    let applied = [w.local.applied.len(), w.remote.applied.len()];
    let report_a = apply(&mut w, &plan_a);
    assert_eq!(report_a.stale, 4, "{report_a:?}");
    assert_eq!(
        applied,
        [w.local.applied.len(), w.remote.applied.len()],
        "the stale plan wrote nothing"
    );
    assert_eq!(w.local.items().len(), 4);
    assert_eq!(w.remote.items().len(), 4);
    let (_, report) = w.sync(&Policy::default());
    assert!(report.is_complete());
    let l = w.partner_of_remote(&a0).unwrap();
    assert_eq!(w.local_record(&l).get("phone"), Some(&"1".into()));
}
