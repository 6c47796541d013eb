//! PostgreSQL for the store tests (feature `postgres`): one scratch database per test
//! binary on the server named by `CONAKTIV_TEST_POSTGRES_URL` (scripts/postgres/setup.sh),
//! each test in its own scope. Without that variable the PostgreSQL tests skip, unless
//! `POSTGRES_REQUIRED=1` (the test command), where they fail.
#![allow(dead_code)]

use std::cell::RefCell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use sync_core::postgres::{PgPool, PgStore, create_scratch_database};
use sync_core::{
    AsyncStateStore, Detached, Id, Intent, Pair, SideId, StateBatch, StateStore, StoreError,
};

pub struct Pg {
    pub rt: tokio::runtime::Runtime,
    pub pool: PgPool,
    pub url: String,
}

/// The shared scratch database, or `None` (after printing why) when the tests skip.
pub fn pg() -> Option<&'static Pg> {
    static PG: OnceLock<Option<Pg>> = OnceLock::new();
    PG.get_or_init(|| {
        let Ok(base) = std::env::var("CONAKTIV_TEST_POSTGRES_URL") else {
            assert!(
                std::env::var("POSTGRES_REQUIRED").as_deref() != Ok("1"),
                "POSTGRES_REQUIRED=1 but CONAKTIV_TEST_POSTGRES_URL is not set"
            );
            eprintln!("skipped: no PostgreSQL (CONAKTIV_TEST_POSTGRES_URL)");
            return None;
        };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let url = rt
            .block_on(create_scratch_database(&base))
            .expect("scratch database");
        let pool = PgPool::connect(&url, None, 8).expect("pool");
        Some(Pg { rt, pool, url })
    })
    .as_ref()
}

/// A new scope name.
pub fn scope(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", N.fetch_add(1, Ordering::Relaxed))
}

impl Pg {
    /// A store of a new scope.
    pub fn store(&'static self, prefix: &str) -> Blocking {
        let store = self
            .rt
            .block_on(PgStore::open(&self.pool, scope(prefix)))
            .expect("open");
        Blocking {
            pg: self,
            store: RefCell::new(store),
        }
    }
}

/// A [`PgStore`] driven synchronously (the runtime's threads drive the connections), so
/// the synchronous test harness (`World`, the contract) runs on PostgreSQL unchanged.
pub struct Blocking {
    pg: &'static Pg,
    pub store: RefCell<PgStore>,
}

impl Blocking {
    fn run<T>(
        &self,
        f: impl AsyncFnOnce(&mut PgStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // The harness itself runs the engine in `futures::executor::block_on`, which does not
        // nest: the store's calls run on the runtime instead.
        let mut store = self.store.borrow_mut();
        self.pg.rt.block_on(f(&mut store))
    }
}

impl StateStore for Blocking {
    fn pair_count(&self) -> Result<usize, StoreError> {
        self.run(async |s| s.pair_count().await)
    }
    fn all_pairs(&self) -> Result<Vec<Pair>, StoreError> {
        self.run(async |s| s.all_pairs().await)
    }
    fn pairs_for(&self, l: &[Id], r: &[Id], k: &[String]) -> Result<Vec<Pair>, StoreError> {
        self.run(async |s| s.pairs_for(l, r, k).await)
    }
    fn intents(&self) -> Result<Vec<Intent>, StoreError> {
        self.run(async |s| s.intents().await)
    }
    fn token(&self, side: SideId) -> Result<Option<String>, StoreError> {
        self.run(async |s| s.token(side).await)
    }
    fn commit(&mut self, batch: &StateBatch) -> Result<(), StoreError> {
        self.run(async |s| s.commit(batch).await)
    }
    fn detached(&self) -> Result<Vec<Detached>, StoreError> {
        self.run(async |s| AsyncStateStore::detached(s).await)
    }
}
