//! The CRM listing a sync job makes: one owner's contacts out of a large embedded CRM.
//!
//! `cargo bench -p conaktiv-exchange --bench crm_listing` (`CRM_BENCH_OWNERS`, default 500,
//! with 40 contacts each). Prints the query plan of an owner's listing and the time per
//! listing, so that a listing's cost can be seen to follow the owner's records, not the
//! whole CRM.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is a failed run

use std::time::Instant;

use conaktiv_exchange::host::{CrmStore, ListQuery};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::ContactPerson;

const PER_OWNER: usize = 40;

fn main() {
    let owners: usize = std::env::var("CRM_BENCH_OWNERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let db = SqliteDb::open(dir.path().join("crm.sqlite")).unwrap();
        let crm = db.crm();
        let seeding = Instant::now();
        for o in 0..owners {
            for i in 0..PER_OWNER {
                let mut c = ContactPerson::default();
                c.name.given_name = format!("Vorname{i}");
                c.name.surname = format!("Nachname{o}");
                CrmStore::<ContactPerson>::create(&crm, Some(&format!("user{o}")), &c, None)
                    .await
                    .unwrap();
            }
        }
        println!(
            "seeded {} contacts for {owners} owners in {:.1} s",
            owners * PER_OWNER,
            seeding.elapsed().as_secs_f64()
        );
        let start = Instant::now();
        let mut rows = 0;
        for o in 0..owners {
            let q = ListQuery::all().owned_by(format!("user{o}"));
            rows += CrmStore::<ContactPerson>::list(&crm, &q).await.unwrap().len();
        }
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(rows, owners * PER_OWNER);
        println!(
            "listed each owner's contacts: {owners} listings, {:.0} us per listing ({:.1} us per record listed)",
            secs * 1e6 / owners as f64,
            secs * 1e6 / rows as f64
        );
    });
}
