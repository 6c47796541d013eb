//! The pure planner on hand-made snapshots: no sides, no store, no executor.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test

use std::collections::HashMap;

use proptest::prelude::*;
use sync_core::{
    Anchor, Change, Entry, Pair, Policy, Record, SideId, SideListing, SideSnapshot, StateSnapshot,
    Timestamp, WriteOp, needed_records, plan,
};

fn entry(id: &str, version: &str, key: Option<&str>) -> Entry {
    Entry {
        id: id.into(),
        version: version.into(),
        key: key.map(Into::into),
    }
}

fn pair(key: &str, l: &str, r: &str, base: Record) -> Pair {
    Pair {
        key: key.into(),
        local: Some(Anchor {
            id: l.into(),
            version: "1".into(),
        }),
        remote: Some(Anchor {
            id: r.into(),
            version: "1".into(),
        }),
        base,
    }
}

fn name(n: &str) -> Record {
    Record::new().with("name", n)
}

#[test]
fn a_repeated_id_in_a_listing_is_planned_once() {
    let local = SideSnapshot::full(
        vec![entry("L1", "1", None), entry("L1", "1", None)],
        HashMap::from([("L1".to_string(), name("Ann"))]),
    );
    let remote = SideSnapshot::full(vec![], HashMap::new());
    let p = plan(
        &local,
        &remote,
        &StateSnapshot::default(),
        &Policy::default(),
        Timestamp::UNIX_EPOCH,
    );
    assert_eq!(p.counts.remote.new, 1);
}

#[test]
fn a_change_feed_run_plans_only_what_changed() {
    // Two pairs; the local feed reports one changed record, the remote feed nothing.
    let state = StateSnapshot {
        pairs: vec![
            pair("k1", "L1", "R1", name("Ann")),
            pair("k2", "L2", "R2", name("Bob")),
        ],
        total_pairs: 2,
        intents: vec![],
    };
    let local_listing = SideListing::Delta {
        changed: vec![entry("L1", "2", Some("k1"))],
        removed: vec![],
    };
    let remote_listing = SideListing::Delta {
        changed: vec![],
        removed: vec![],
    };
    let rule = Policy::default();
    let (l, r) = needed_records(&local_listing, &remote_listing, &state, &rule);
    assert_eq!(
        (l.as_slice(), r.as_slice()),
        (["L1".to_string()].as_slice(), ["R1".to_string()].as_slice())
    );
    let local = SideSnapshot {
        listing: local_listing,
        records: HashMap::from([("L1".to_string(), name("Anna"))]),
    };
    let remote = SideSnapshot {
        listing: remote_listing,
        records: HashMap::from([("R1".to_string(), name("Ann"))]),
    };
    let p = plan(&local, &remote, &state, &rule, Timestamp::UNIX_EPOCH);
    assert_eq!(p.items.len(), 1);
    assert_eq!(p.items[0].change, Change::Update);
    assert_eq!(
        p.items[0].remote.write,
        Some(WriteOp::Update {
            id: "R1".into(),
            expected: "1".into(),
            record: name("Anna"),
            key: "k1".into(),
        })
    );
    assert!(p.guard().is_none());
}

#[test]
fn a_removed_record_in_a_feed_deletes_its_partner_with_the_stored_version() {
    let state = StateSnapshot {
        pairs: vec![pair("k1", "L1", "R1", name("Ann"))],
        total_pairs: 1,
        intents: vec![],
    };
    let local = SideSnapshot {
        listing: SideListing::Delta {
            changed: vec![],
            removed: vec!["L1".into()],
        },
        records: HashMap::new(),
    };
    let remote = SideSnapshot {
        listing: SideListing::Delta {
            changed: vec![],
            removed: vec![],
        },
        records: HashMap::from([("R1".to_string(), name("Ann"))]),
    };
    let p = plan(
        &local,
        &remote,
        &state,
        &Policy::default(),
        Timestamp::UNIX_EPOCH,
    );
    assert_eq!(p.items[0].change, Change::Delete { on: SideId::Remote });
    assert_eq!(
        p.items[0].remote.write,
        Some(WriteOp::Delete {
            id: "R1".into(),
            expected: "1".into()
        })
    );
}

proptest! {
    /// The plan does not depend on the order of the listings or the pairs.
    #[test]
    fn planning_is_independent_of_input_order(seed in any::<u64>(), n in 1..20usize) {
        let mut pairs = Vec::new();
        let mut l_entries = Vec::new();
        let mut r_entries = Vec::new();
        let mut l_records = HashMap::new();
        let mut r_records = HashMap::new();
        for i in 0..n {
            let (l, r, k) = (format!("L{i}"), format!("R{i}"), format!("k{i}"));
            if i % 3 != 0 {
                pairs.push(pair(&k, &l, &r, name("base")));
            }
            let lv = if i % 2 == 0 { "2" } else { "1" };
            let rv = if i % 5 == 0 { "2" } else { "1" };
            if i % 7 != 1 {
                l_entries.push(entry(&l, lv, Some(&k)));
                l_records.insert(l.clone(), name(&format!("local {i}")));
            }
            if i % 11 != 2 {
                r_entries.push(entry(&r, rv, (i % 3 != 0 || i % 2 == 0).then_some(k.as_str())));
                r_records.insert(r.clone(), name(&format!("remote {i}")));
            }
        }
        let state = StateSnapshot { total_pairs: pairs.len(), pairs: pairs.clone(), intents: vec![] };
        let rule = Policy { force: true, ..Policy::default() };
        let a = plan(
            &SideSnapshot::full(l_entries.clone(), l_records.clone()),
            &SideSnapshot::full(r_entries.clone(), r_records.clone()),
            &state, &rule, Timestamp::from_unix_secs(7),
        );
        // A deterministic shuffle from the seed.
        let shuffle = |v: &mut Vec<usize>| shuffle_by(seed, v);
        let permute = |len: usize| {
            let mut order: Vec<usize> = (0..len).collect();
            shuffle(&mut order);
            order
        };
        let pairs2: Vec<Pair> = permute(pairs.len()).into_iter().map(|i| pairs[i].clone()).collect();
        let l_entries: Vec<Entry> = permute(l_entries.len()).into_iter().map(|i| l_entries[i].clone()).collect();
        let r_entries: Vec<Entry> = permute(r_entries.len()).into_iter().map(|i| r_entries[i].clone()).collect();
        let state2 = StateSnapshot { total_pairs: pairs2.len(), pairs: pairs2, intents: vec![] };
        let b = plan(
            &SideSnapshot::full(l_entries, l_records),
            &SideSnapshot::full(r_entries, r_records),
            &state2, &rule, Timestamp::from_unix_secs(7),
        );
        prop_assert_eq!(a, b);
    }
}

fn shuffle_by(seed: u64, v: &mut [usize]) {
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let j = usize::try_from(x % (i as u64 + 1)).unwrap();
        v.swap(i, j);
    }
}
