//! Scratch PostgreSQL databases for the send queue's tests (feature `postgres`).
#![allow(dead_code, clippy::unwrap_used)] // tests: a panic is a failed test

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use mail_transport::deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

/// The test server's URL, or `None` (the test is skipped) when it is not set; with
/// `POSTGRES_REQUIRED=1` a missing URL fails the test instead.
pub fn url() -> Option<String> {
    match std::env::var("CONAKTIV_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("POSTGRES_REQUIRED").as_deref() != Ok("1"),
                "POSTGRES_REQUIRED=1 but CONAKTIV_TEST_POSTGRES_URL is not set"
            );
            eprintln!("skipped: no PostgreSQL (CONAKTIV_TEST_POSTGRES_URL)");
            None
        }
    }
}

/// Creates a new, empty database through the test server's role (which has CREATEDB) and
/// returns the connection configuration of the new one.
pub async fn scratch_database(url: &str) -> tokio_postgres::Config {
    static N: AtomicU64 = AtomicU64::new(0);
    let mut config = tokio_postgres::Config::from_str(url).unwrap();
    let (client, connection) = config.connect(NoTls).await.unwrap();
    let driver = tokio::spawn(connection);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let name = format!(
        "mailq_t{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    drop(client);
    let _ = driver.await;
    config.dbname(&name);
    config
}

/// A pool of at most `max_size` connections: one worker.
pub fn pool(config: &tokio_postgres::Config, max_size: usize) -> Pool {
    let manager = Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(Runtime::Tokio1)
        .build()
        .unwrap()
}
