//! Initial sync of 10,000 contacts (CRM -> Exchange) against ews-mock, then no-change runs.
//!
//! `cargo bench -p conaktiv-exchange --bench initial_sync`. Prints requests by operation (the
//! mock's request log), wall time, items per second and peak heap memory (a counting global
//! allocator). Targets: requests within 10% of the minimum the batch size allows; a no-change
//! run costs one SyncFolderItems per folder and no item reads.
// The counting allocator is the only unsafe code: it forwards to the system allocator.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use conaktiv_exchange::host::{CrmStore, DirectoryUser};
use conaktiv_exchange::service::{Connector, CrmStores};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::{Configuration, ContactPerson};
use ews_mock::{MockConfig, MockServer, OrgData};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the same arguments; the counters are atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size > layout.size() {
                let now = CURRENT.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const N: usize = 10_000;
const BATCH: usize = 100;

const ORG: &str = r#"
[[users]]
address = "svc@contoso.test"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "bob@contoso.test"
password = "bob-pw"
"#;

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn print_phase(name: &str, counts: &BTreeMap<String, u64>, secs: f64, items: usize, base: usize) {
    let total: u64 = counts.values().sum();
    println!("\n== {name}");
    for (op, n) in counts {
        println!("   {op:<22} {n:>7}");
    }
    println!("   {:<22} {total:>7}", "total requests");
    println!("   wall time              {secs:>9.2} s");
    if items > 0 {
        println!("   items per second       {:>9.0}", items as f64 / secs);
    }
    println!(
        "   peak heap              {:>9.1} MiB ({:.1} MiB live at start)",
        mib(PEAK.load(Ordering::Relaxed)),
        mib(base)
    );
}

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let mock = MockServer::start(MockConfig::new(OrgData::from_toml(ORG).unwrap()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(dir.path().join("crm.sqlite")).unwrap();
    db.directory()
        .put_user(&DirectoryUser {
            name: "bob".into(),
            display_name: "Bob".into(),
            mailbox: Some("bob@contoso.test".into()),
            active: true,
            ..DirectoryUser::default()
        })
        .await
        .unwrap();
    let crm = db.crm();
    let seeding = Instant::now();
    for i in 0..N {
        let mut c = ContactPerson::default();
        c.name.given_name = format!("Vorname{i}");
        c.name.surname = format!("Nachname{i}");
        c.company = format!("Firma {} GmbH", i % 97);
        c.notes = "Seeded by the benchmark.".into();
        CrmStore::<ContactPerson>::create(&crm, Some("bob"), &c, None)
            .await
            .unwrap();
    }
    println!(
        "seeded {N} CRM contacts in {:.2} s",
        seeding.elapsed().as_secs_f64()
    );

    let config = Configuration::from_toml_str(
        &format!(
            r#"
[[servers]]
name = "Mock"
url = "{}"
kind = "on_premises"
admin_user = "svc@contoso.test"
admin_password = "svc-pw"
auth_scheme = "basic"

[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{{ path = "/Contacts" }}]
to_exchange = {{ transfer_new = true, transfer_changed = true }}
to_conaktiv = {{ transfer_new = true, transfer_changed = true }}
"#,
            mock.url()
        ),
        "bench.toml",
    )
    .unwrap();
    let connector = Connector::from_config(
        config,
        None,
        CrmStores::all(db.crm()),
        Arc::new(db.directory()),
        dir.path().join("state"),
    )
    .unwrap()
    .with_batch_size(BATCH);

    for (phase, items) in [
        (
            "initial sync (CRM -> Exchange; the feed is read once more past the run's own writes)",
            N,
        ),
        ("second run (no changes)", 0),
        ("third run (no changes)", 0),
    ] {
        mock.clear_log();
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let start = Instant::now();
        let summary = connector.run(None, None).await.unwrap();
        let secs = start.elapsed().as_secs_f64();
        let report = summary.items[0].status.report().expect("job");
        assert!(report.is_complete(), "{report:?}");
        print_phase(phase, &mock.request_counts(), secs, items, base);
        println!(
            "   writes                 {:>7} (to Exchange {}, to ConAktiv {})",
            report.writes(),
            report.to_exchange.content_writes(),
            report.to_conaktiv.content_writes()
        );
        if items > 0 {
            let min = N.div_ceil(BATCH);
            let creates = mock
                .request_counts()
                .get("CreateItem")
                .copied()
                .unwrap_or(0);
            println!(
                "   CreateItem minimum     {min:>7} (batch {BATCH}); actual {creates} ({:+.1}%)",
                (creates as f64 / min as f64 - 1.0) * 100.0
            );
        }
    }
    let in_exchange = mock
        .mailbox("bob@contoso.test")
        .map_or(0, |m| m.items_in("contacts").count());
    println!("\ncontacts in Exchange: {in_exchange}");
    assert_eq!(in_exchange, N);
    mock.shutdown().await.unwrap();
}
