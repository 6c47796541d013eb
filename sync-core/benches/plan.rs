//! Planning figures: plan 100,000 pairs with 1% changed on each side (time, peak memory),
//! and the cost of a run with no changes (and with a few) through the change feed.
//!
//! Run with `cargo bench -p sync-core`.
#![allow(unsafe_code)] // the counting global allocator below
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sync_core::memory::{Feed, MemorySide};
use sync_core::{
    Anchor, Engine, Entry, MemoryStore, Pair, Planner, Policy, Record, SideListing, SqliteStore,
    StateBatch, StateSnapshot, StateStore, Timestamp,
};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: delegates every call to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const PAIRS: usize = 100_000;

fn base(i: usize) -> Record {
    Record::new()
        .with("name", format!("Contact {i}"))
        .with("email", format!("c{i}@example.com"))
        .with("phone", format!("+49 30 {i:07}"))
        .with("company", "Example GmbH")
        .with("city", "Berlin")
}

fn mib(bytes: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    b / (1024.0 * 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn bench_plan() {
    // Inputs: 100,000 pairs; local changes on i % 100 == 0, remote changes on i % 100 == 50.
    let pairs: Vec<Pair> = (0..PAIRS)
        .map(|i| Pair {
            key: format!("L{i}"),
            local: Some(Anchor {
                id: format!("L{i}"),
                version: "1".into(),
            }),
            remote: Some(Anchor {
                id: format!("R{i}"),
                version: "1".into(),
            }),
            base: base(i),
        })
        .collect();
    let entries = |side: &str, changed_at: usize| -> Vec<Entry> {
        (0..PAIRS)
            .map(|i| Entry {
                id: format!("{side}{i}"),
                version: if i % 100 == changed_at { "2" } else { "1" }.into(),
                key: Some(format!("L{i}")),
            })
            .collect()
    };
    let local = SideListing::Full(entries("L", 0));
    let remote = SideListing::Full(entries("R", 50));
    let state = StateSnapshot {
        pairs,
        total_pairs: PAIRS,
        intents: Vec::new(),
    };
    let rule = Policy::default();

    let mut runs = Vec::new();
    let mut result = None;
    for _ in 0..5 {
        let before = CURRENT.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let t0 = Instant::now();
        let planner = Planner::new(&local, &remote, &state, &rule);
        let (lids, rids) = planner.needed_records();
        let t_needed = t0.elapsed();
        // The host fetches these; here the contents are made up (one field changed).
        let fetched = |ids: &[String], changed_at: usize| -> HashMap<String, Record> {
            ids.iter()
                .map(|id| {
                    let i: usize = id[1..].parse().unwrap();
                    let mut r = base(i);
                    if i % 100 == changed_at {
                        r = r.with("phone", format!("changed {id}"));
                    }
                    (id.clone(), r)
                })
                .collect()
        };
        let (l_records, r_records) = (fetched(&lids, 0), fetched(&rids, 50));
        let t1 = Instant::now();
        let p = planner.plan(&l_records, &r_records, Timestamp::UNIX_EPOCH);
        let t_plan = t1.elapsed();
        let peak = PEAK.load(Ordering::Relaxed) - before;
        runs.push((t_needed, t_plan, peak));
        result = Some((p, lids.len(), rids.len()));
    }
    runs.sort_by_key(|r| r.0 + r.1);
    let (t_needed, t_plan, peak) = runs[runs.len() / 2];
    let (p, nl, nr) = result.unwrap();
    assert_eq!(p.counts.local.changed, PAIRS / 100);
    assert_eq!(p.counts.remote.changed, PAIRS / 100);
    println!("plan: {PAIRS} pairs, full listings, 1% changed on each side (median of 5)");
    println!(
        "  match + needed_records: {:.1} ms ({nl} local + {nr} remote records to fetch)",
        ms(t_needed)
    );
    println!("  plan:           {:.1} ms", ms(t_plan));
    println!("  total planning: {:.1} ms", ms(t_needed + t_plan));
    println!(
        "  peak memory above inputs while planning (incl. the fetched contents): {:.1} MiB",
        mib(peak)
    );
    println!(
        "  preview: local {:?}, remote {:?}",
        p.counts.local, p.counts.remote
    );
}

fn bench_feed() {
    let mut local = MemorySide::new("L", Feed::Delta);
    let mut remote = MemorySide::new("R", Feed::Delta);
    for i in 0..PAIRS {
        local.insert(base(i));
    }
    let mut store = MemoryStore::new();
    let engine = Engine::new(Policy::default()).unwrap().with_batch_size(500);
    let t0 = Instant::now();
    let (plan, _) = futures::executor::block_on(engine.run(
        &mut local,
        &mut remote,
        &mut store,
        Timestamp::from_unix_secs(1),
    ))
    .unwrap();
    println!(
        "initial run: {} creates on remote in {:.0} ms",
        plan.counts.remote.new,
        ms(t0.elapsed())
    );
    // The second run reads the feed entries of the first run's own writes.
    futures::executor::block_on(engine.run(
        &mut local,
        &mut remote,
        &mut store,
        Timestamp::from_unix_secs(2),
    ))
    .unwrap();

    let mut round = 0;
    for changes in [0usize, 10, 100, 1000] {
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..5 {
            round += 1;
            let ids: Vec<String> = local.items().keys().take(changes).cloned().collect();
            for id in &ids {
                local.edit(id, "phone", &format!("new {round}"));
            }
            let t = Instant::now();
            let prepared = futures::executor::block_on(engine.prepare(
                &mut local,
                &mut remote,
                &mut store,
                Timestamp::from_unix_secs(3),
            ))
            .unwrap();
            let report = futures::executor::block_on(engine.apply(
                &prepared.plan,
                &mut local,
                &mut remote,
                &mut store,
            ))
            .unwrap();
            times.push(t.elapsed());
            last = Some((prepared.stats, report.counts.total()));
            // Consume the feed entries of this run's own writes.
            futures::executor::block_on(engine.run(
                &mut local,
                &mut remote,
                &mut store,
                Timestamp::from_unix_secs(4),
            ))
            .unwrap();
        }
        times.sort();
        let (stats, writes) = last.unwrap();
        println!(
            "feed run with {changes} changes of {PAIRS} pairs (median of 5): {:.2} ms, \
             full listings {}, feeds {}, entries read {}, pairs loaded {}, records fetched {}, \
             writes {}",
            ms(times[2]),
            stats.full_listings,
            stats.feeds,
            stats.entries,
            stats.pairs_loaded,
            stats.records_fetched,
            writes
        );
    }
    assert_eq!(store.pair_count().unwrap(), PAIRS);
}

fn bench_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteStore::open(dir.path().join("state.db")).unwrap();
    let t = Instant::now();
    for chunk in (0..PAIRS).collect::<Vec<_>>().chunks(500) {
        let upsert = chunk
            .iter()
            .map(|&i| Pair {
                key: format!("L{i}"),
                local: Some(Anchor {
                    id: format!("L{i}"),
                    version: "1".into(),
                }),
                remote: Some(Anchor {
                    id: format!("R{i}"),
                    version: "1".into(),
                }),
                base: base(i),
            })
            .collect();
        store
            .commit(&StateBatch {
                upsert,
                ..StateBatch::default()
            })
            .unwrap();
    }
    println!(
        "sqlite store: {PAIRS} pairs written in batches of 500 (one transaction each) in {:.0} ms",
        ms(t.elapsed())
    );
    let t = Instant::now();
    let all = store.all_pairs().unwrap();
    println!(
        "sqlite store: all_pairs (a full-listing run) {} pairs in {:.0} ms",
        all.len(),
        ms(t.elapsed())
    );
    let ids: Vec<String> = (0..10).map(|i| format!("L{}", i * 997)).collect();
    let t = Instant::now();
    let some = store.pairs_for(&ids, &[], &[]).unwrap();
    println!(
        "sqlite store: pairs_for 10 ids (a change-feed run) {} pairs in {:.2} ms",
        some.len(),
        ms(t.elapsed())
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not: skip the long run.
    if !std::env::args().any(|a| a == "--bench") {
        println!("plan bench: run with `cargo bench -p sync-core`");
        return;
    }
    bench_plan();
    bench_feed();
    bench_sqlite();
}
