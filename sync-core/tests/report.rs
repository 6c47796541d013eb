//! Honest reports: failed writes, unknown outcomes and detached pairs are counted apart, in
//! the plan (preview) and in the report of a run.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use common::{World, rec};
use sync_core::memory::{Fault, Feed};
use sync_core::{DetachReason, Policy, SideId, Switches, Timestamp, WriteResult};

#[test]
fn failed_and_unknown_writes_are_counted_apart() {
    let mut w = World::new();
    w.local.insert(rec(&[("name", "Ann")]));
    w.local.insert(rec(&[("name", "Bea")]));
    w.local.insert(rec(&[("name", "Cid")]));
    w.remote.inject(Fault::Fail);
    w.remote.inject(Fault::Unknown);
    let (_, report) = w.sync(&Policy::default());
    assert_eq!(report.failed, 1, "{report:?}");
    assert_eq!(report.unknown, 1, "{report:?}");
    assert_eq!(report.conflicts, 0);
    assert!(report.has_failures());
    assert_eq!(report.counts.remote.new, 1);
    let failed = report
        .items
        .iter()
        .filter(|i| matches!(i.remote, Some(WriteResult::Failed(_))))
        .count();
    assert_eq!(failed, 1);
    // The next run succeeds and reports nothing failed.
    let (_, report) = w.sync(&Policy::default());
    assert!(!report.has_failures(), "{report:?}");
    assert_eq!(w.remote.items().len(), 3);
}

#[test]
fn a_batch_that_fails_as_a_whole_counts_as_unknown() {
    let mut w = World::new();
    w.local.insert(rec(&[("name", "Ann")]));
    w.local.insert(rec(&[("name", "Bea")]));
    w.remote.inject(Fault::BatchError);
    let (_, report) = w.sync(&Policy::default());
    assert_eq!(report.unknown, 2, "{report:?}");
    assert_eq!(report.failed, 0);
    assert!(report.has_failures());
}

#[test]
fn a_conflict_is_not_a_failure() {
    let mut w = World::new();
    let l = w.local.insert(rec(&[("name", "Ann")]));
    w.sync(&Policy::default());
    w.local.edit(&l, "name", "Anna");
    let engine = sync_core::Engine::new(Policy::default()).unwrap();
    let prepared = futures::executor::block_on(engine.prepare(
        &mut w.local,
        &mut w.remote,
        &mut w.store,
        Timestamp::from_unix_secs(5),
    ))
    .unwrap();
    let r = w.partner_of_local(&l).unwrap();
    w.remote.edit(&r, "phone", "1"); // changed after planning
    let report = futures::executor::block_on(engine.apply(
        &prepared.plan,
        &mut w.local,
        &mut w.remote,
        &mut w.store,
    ))
    .unwrap();
    assert_eq!(report.conflicts, 1, "{report:?}");
    assert!(!report.has_failures());
    assert!(!report.is_complete());
}

#[test]
fn detached_pairs_are_reported_with_their_reason_in_the_preview_and_the_run() {
    let mut w = World::new();
    let a = w.local.insert(rec(&[("name", "Ann")]));
    let b = w.local.insert(rec(&[("name", "Bea")]));
    let c = w.local.insert(rec(&[("name", "Cid")]));
    let d = w.local.insert(rec(&[("name", "Dan")]));
    w.sync(&Policy::default());
    let ra = w.partner_of_local(&a).unwrap();
    let rb = w.partner_of_local(&b).unwrap();
    let rc = w.partner_of_local(&c).unwrap();
    let rd = w.partner_of_local(&d).unwrap();

    // Remote records gone while the delete switch into the CRM is off: detached.
    let keep_local = Policy {
        remote_to_local: Switches {
            delete_missing: false,
            ..Switches::ALL
        },
        ..Policy::default()
    };
    w.remote.remove(&ra);
    w.remote.remove(&rb);
    // A local record gone while its remote partner was edited: an edit beats a delete.
    w.local.remove(&c);
    w.remote.edit(&rc, "name", "Cidney");
    // A plain delete is not a detach.
    w.local.remove(&d);

    let preview = w.preview(&keep_local);
    let mut want = vec![
        (SideId::Remote, a.clone(), DetachReason::DeleteSwitchOff),
        (SideId::Remote, b.clone(), DetachReason::DeleteSwitchOff),
        (SideId::Local, rc.clone(), DetachReason::EditBeatsDelete),
    ];
    want.sort();
    let got = |list: Vec<sync_core::Detached>| {
        let mut v: Vec<_> = list
            .into_iter()
            .map(|d| (d.gone, d.kept_id, d.reason))
            .collect();
        v.sort();
        v
    };
    assert_eq!(got(preview.detached()), want);
    let (plan, report) = w.sync(&keep_local);
    assert_eq!(got(plan.detached()), want);
    assert_eq!(got(report.detached.clone()), want);
    assert!(report.detached.iter().all(|d| d.at == w.time()));
    assert_eq!(plan.counts.remote.deleted, 1, "the plain delete of {rd}");
    assert!(!report.has_failures());
    // A second run detaches nothing more.
    let (_, report) = w.sync(&keep_local);
    assert!(report.detached.is_empty());
}

/// A record too large for the server (HTTP 413) fails alone: the batch it is in is split so
/// that every other record of the batch is written.
#[test]
fn a_batch_refused_for_one_oversized_record_is_split_and_only_that_record_fails() {
    let mut w = World::new();
    w.remote = sync_core::memory::MemorySide::new("R", Feed::Delta).reject_records_over(1_000);
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(w.local.insert(rec(&[("name", &format!("n{i}"))])));
    }
    let huge = "x".repeat(5_000);
    let big = w.local.insert(rec(&[("name", "big"), ("note", &huge)]));
    for i in 10..20 {
        ids.push(w.local.insert(rec(&[("name", &format!("n{i}"))])));
    }
    let (plan, report) = w.sync(&Policy::default());
    assert_eq!(plan.counts.remote.new, 21);
    assert_eq!(report.counts.remote.new, 20, "{report:?}");
    assert_eq!(report.failed, 1, "{report:?}");
    assert_eq!(report.unknown, 0);
    let failed: Vec<_> = report
        .items
        .iter()
        .filter(|i| matches!(i.remote, Some(WriteResult::Failed(_))))
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].key, big);
    assert_eq!(w.remote.items().len(), 20);
    for id in &ids {
        assert!(w.partner_of_local(id).is_some(), "{id} written");
    }
    // Halving finds the one record in a logarithmic number of calls, not one per record.
    assert!(w.remote.stats.write_calls <= 12, "{:?}", w.remote.stats);
    // The next run tries the oversized record again, alone, and writes nothing else.
    let (plan, report) = w.sync(&Policy::default());
    assert_eq!(plan.counts.remote.new, 1);
    assert_eq!(report.failed, 1);
    assert_eq!(w.remote.items().len(), 20);
}

/// An update that is too large fails alone too, and keeps the pair for the next run.
#[test]
fn an_oversized_update_fails_alone() {
    let mut w = World::new();
    w.remote = sync_core::memory::MemorySide::new("R", Feed::Delta).reject_records_over(1_000);
    let a = w.local.insert(rec(&[("name", "Ann")]));
    let b = w.local.insert(rec(&[("name", "Bea")]));
    w.sync(&Policy::default());
    w.local.edit(&a, "note", &"y".repeat(5_000));
    w.local.edit(&b, "name", "Beatrice");
    let (_, report) = w.sync(&Policy::default());
    assert_eq!(report.failed, 1);
    assert_eq!(report.counts.remote.changed, 1);
    let rb = w.partner_of_local(&b).unwrap();
    assert_eq!(w.remote_record(&rb), rec(&[("name", "Beatrice")]));
    assert!(w.partner_of_local(&a).is_some(), "still paired");
}
