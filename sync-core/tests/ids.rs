//! The ids of the two sides are separate namespaces: the same id may name a record on each
//! side (here both sides number their records `X1`, `X2`, ...), and the engine still pairs,
//! copies, updates and deletes the right records.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use common::{World, rec};
use sync_core::memory::{Feed, MemorySide};
use sync_core::{MemoryStore, Policy, SqliteStore, StateStore};

fn colliding<S: StateStore + Send>(store: S, feed: Feed) -> World<S> {
    let mut w = World::with_store(store);
    w.local = MemorySide::new("X", feed);
    w.remote = MemorySide::new("X", feed);
    w
}

fn same_ids_on_both_sides<S: StateStore + Send>(store: S, feed: Feed) {
    let policy = Policy::default();
    let mut w = colliding(store, feed);
    let ann = w.local.insert(rec(&[("name", "Ann")]));
    let bob = w.remote.insert(rec(&[("name", "Bob")]));
    assert_eq!(ann, bob, "both sides use the id {ann}");

    // Two different records with the same id: each is copied, none is mistaken for the other.
    let (plan, report) = w.sync(&policy);
    assert_eq!(
        (plan.counts.local.new, plan.counts.remote.new),
        (1, 1),
        "{plan:?}"
    );
    assert!(report.is_complete(), "{report:?}");
    let ann_remote = w.partner_of_local(&ann).expect("Ann paired");
    let bob_local = w.partner_of_remote(&bob).expect("Bob paired");
    assert_eq!(w.remote_record(&ann_remote), rec(&[("name", "Ann")]));
    assert_eq!(w.local_record(&bob_local), rec(&[("name", "Bob")]));
    assert_eq!(w.local.in_scope().len(), 2);
    assert_eq!(w.remote.in_scope().len(), 2);
    assert!(w.preview(&policy).is_noop(), "second run writes nothing");

    // Edits go to the right partner.
    w.local.edit(&ann, "name", "Ann Maria");
    w.remote.edit(&bob, "name", "Bob Jr.");
    let (plan, _) = w.sync(&policy);
    assert_eq!(
        (plan.counts.local.changed, plan.counts.remote.changed),
        (1, 1)
    );
    assert_eq!(w.remote_record(&ann_remote), rec(&[("name", "Ann Maria")]));
    assert_eq!(w.local_record(&bob_local), rec(&[("name", "Bob Jr.")]));
    assert_eq!(w.local_record(&ann), rec(&[("name", "Ann Maria")]));
    assert_eq!(w.remote_record(&bob), rec(&[("name", "Bob Jr.")]));

    // A delete removes only the partner.
    assert!(w.local.remove(&ann));
    let (plan, _) = w.sync(&policy);
    assert_eq!(plan.counts.remote.deleted, 1, "{plan:?}");
    assert!(w.remote.get(&ann_remote).is_none());
    assert!(w.remote.get(&bob).is_some());
    assert!(w.local.get(&bob_local).is_some());
    assert!(w.preview(&policy).is_noop());
}

#[test]
fn same_ids_on_both_sides_with_full_listings() {
    same_ids_on_both_sides(MemoryStore::new(), Feed::FullListing);
}

#[test]
fn same_ids_on_both_sides_with_change_feeds() {
    same_ids_on_both_sides(MemoryStore::new(), Feed::CoalescingDelta);
}

#[test]
fn same_ids_on_both_sides_with_the_sqlite_store() {
    same_ids_on_both_sides(SqliteStore::open_in_memory().unwrap(), Feed::Delta);
}

/// After a lost state, records pair again by their keys, not by colliding ids.
#[test]
fn same_ids_re_pair_by_key_after_a_lost_state() {
    let policy = Policy::default();
    let mut w = colliding(MemoryStore::new(), Feed::Delta);
    let ann = w.local.insert(rec(&[("name", "Ann")]));
    let bob = w.remote.insert(rec(&[("name", "Bob")]));
    w.sync(&policy);
    w.store = MemoryStore::new();
    let (plan, report) = w.sync(&policy);
    assert_eq!(
        plan.counts.local.new + plan.counts.remote.new,
        0,
        "{plan:?}"
    );
    assert!(report.is_complete());
    assert_eq!(w.local.in_scope().len(), 2);
    assert_eq!(w.remote.in_scope().len(), 2);
    let ann_remote = w.partner_of_local(&ann).expect("Ann re-paired");
    assert_eq!(w.remote_record(&ann_remote), rec(&[("name", "Ann")]));
    let bob_local = w.partner_of_remote(&bob).expect("Bob re-paired");
    assert_eq!(w.local_record(&bob_local), rec(&[("name", "Bob")]));
}
