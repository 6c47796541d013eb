//! Records that leave the scope and come back are never duplicated: on both sides one
//! after the other, while the state is lost, or while their create's outcome is unknown.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

mod common;

use std::collections::BTreeMap;

use common::{World, rec};
use sync_core::memory::{Fault, Scope};
use sync_core::{DetachReason, MemoryStore, Policy, StateStore};

/// Per side: no key is carried by two records in scope, and the in-scope counts are equal.
fn assert_no_duplicates<S: StateStore + Send>(w: &World<S>, n: usize) {
    for (name, side) in [("local", &w.local), ("remote", &w.remote)] {
        let mut seen = BTreeMap::new();
        for (id, item) in side.items().iter().filter(|(_, i)| i.in_scope) {
            let k = item.key.clone().unwrap_or_else(|| id.clone());
            if let Some(other) = seen.insert(k.clone(), id.clone()) {
                panic!("{name}: {other} and {id} both carry key {k}");
            }
        }
        assert_eq!(seen.len(), n, "{name} in scope: {:?}", side.items());
    }
}

fn one_pair() -> (World, String, String) {
    let mut w = World::new();
    let l = w.local.insert(rec(&[("name", "Ann")]));
    w.sync(&Policy::default());
    let r = w.partner_of_local(&l).unwrap();
    (w, l, r)
}

#[test]
fn both_leave_the_scope_and_come_back_one_after_the_other() {
    for local_first in [true, false] {
        let (mut w, l, r) = one_pair();
        w.local.set_scope(&l, Scope::Out);
        w.remote.set_scope(&r, Scope::Out);
        w.sync(&Policy::default());
        if local_first {
            w.local.set_scope(&l, Scope::In);
        } else {
            w.remote.set_scope(&r, Scope::In);
        }
        let (plan, report) = w.sync(&Policy::default());
        assert_eq!(
            plan.counts.total(),
            0,
            "nothing copied while the partner is away"
        );
        assert_eq!(
            report.detached.iter().map(|d| d.reason).collect::<Vec<_>>(),
            vec![DetachReason::BothGone]
        );
        if local_first {
            w.remote.set_scope(&r, Scope::In);
        } else {
            w.local.set_scope(&l, Scope::In);
        }
        w.local.edit(&l, "phone", "1");
        w.sync(&Policy::default());
        assert_no_duplicates(&w, 1);
        assert_eq!(w.partner_of_local(&l), Some(r.clone()), "re-paired");
        assert_eq!(w.remote_record(&r), rec(&[("name", "Ann"), ("phone", "1")]));
        let (again, _) = w.sync(&Policy::default());
        assert!(again.items.is_empty());
    }
}

/// The CRM original of a copy made while it was away comes back: the CRM id and its
/// CRM-only fields stay, the copy (with an edit made to it meanwhile) is merged and deleted.
#[test]
fn a_returning_crm_original_keeps_its_id_and_takes_its_copys_edits() {
    let (mut w, l, r) = one_pair();
    w.local.edit(&l, "project", "P1"); // a CRM-only field, not in Exchange's copy yet
    w.sync(&Policy::default());
    w.store = MemoryStore::new(); // the state is lost ...
    w.local.set_scope(&l, Scope::Out); // ... while the CRM record is out of the filter
    w.sync(&Policy::default());
    let copy = w.local.in_scope();
    assert_eq!(copy.len(), 1, "a copy was made from Exchange");
    w.local.edit(&copy[0], "phone", "7");
    w.local.set_scope(&l, Scope::In);
    w.sync(&Policy::default());
    assert_no_duplicates(&w, 1);
    assert_eq!(
        w.local.in_scope(),
        vec![l.clone()],
        "the original stays, the copy is gone"
    );
    assert_eq!(w.local_record(&l).get("project"), Some(&"P1".into()));
    assert_eq!(w.local_record(&l).get("phone"), Some(&"7".into()));
    assert_eq!(w.partner_of_local(&l), Some(r.clone()));
    assert_eq!(w.remote_record(&r).get("phone"), Some(&"7".into()));
    let (again, _) = w.sync(&Policy::default());
    assert!(again.items.is_empty(), "{:#?}", again.items);
}

#[test]
fn a_record_that_leaves_while_the_state_is_lost_is_not_duplicated_when_it_returns() {
    for remote_leaves in [true, false] {
        let (mut w, l, r) = one_pair();
        w.store = MemoryStore::new();
        if remote_leaves {
            w.remote.set_scope(&r, Scope::Out);
        } else {
            w.local.set_scope(&l, Scope::Out);
        }
        w.sync(&Policy::default());
        if remote_leaves {
            w.remote.set_scope(&r, Scope::In);
        } else {
            w.local.set_scope(&l, Scope::In);
        }
        w.sync(&Policy::default());
        assert_no_duplicates(&w, 1);
        let (again, _) = w.sync(&Policy::default());
        assert!(again.items.is_empty(), "{:#?}", again.items);
        assert_no_duplicates(&w, 1);
    }
}

#[test]
fn a_record_whose_create_outcome_is_unknown_leaves_and_returns_without_a_duplicate() {
    let mut w = World::new();
    let l = w.local.insert(rec(&[("name", "Ann")]));
    w.remote.inject(Fault::Unknown); // created, but the answer is lost
    w.sync(&Policy::default());
    let created = w.remote.in_scope();
    assert_eq!(created.len(), 1);
    w.remote.set_scope(&created[0], Scope::Out); // the user moves it away at once
    w.sync(&Policy::default());
    w.remote.set_scope(&created[0], Scope::In);
    w.sync(&Policy::default());
    assert_no_duplicates(&w, 1);
    assert!(w.partner_of_local(&l).is_some());
    let (again, _) = w.sync(&Policy::default());
    assert!(again.items.is_empty(), "{:#?}", again.items);
}

/// Tombstones do not water down the mass-delete guard: it relates deletes to the pairs that
/// still have records.
#[test]
fn tombstones_do_not_count_for_the_mass_delete_guard() {
    let mut w = World::new();
    let mut ids = Vec::new();
    for i in 0..6 {
        ids.push(w.local.insert(rec(&[("n", &i.to_string())])));
    }
    w.sync(&Policy::default());
    // Four pairs become tombstones (both records out of scope).
    for l in &ids[..4] {
        let r = w.partner_of_local(l).unwrap();
        w.local.set_scope(l, Scope::Out);
        w.remote.set_scope(&r, Scope::Out);
    }
    w.sync(&Policy {
        force: true,
        ..Policy::default()
    });
    assert_eq!(w.store.all_pairs().unwrap().len(), 6);
    assert_eq!(w.store.pair_count().unwrap(), 2);
    // Deleting both remaining records is all of the live pairs: the guard trips.
    w.local.remove(&ids[4]);
    w.local.remove(&ids[5]);
    let plan = w.preview(&Policy {
        min_delete_count: 1,
        ..Policy::default()
    });
    assert!(plan.guard().is_some(), "{:?}", plan.counts);
}
