//! Helpers shared by conaktiv-exchange's integration tests (`mod common;` in a test file):
//! the mapping test data, an XML round trip, and an ews-mock server with a client.
#![allow(dead_code, clippy::unwrap_used)] // each test file uses some of them; a panic is a failed test

use ews_client::transport::{Auth, TransportConfig};
use ews_client::types::Item;
use ews_client::xml::{Ns, ReadXml, WriteXml, XmlReader, XmlWriter};
use ews_client::{Client, ClientConfig};
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};

/// A file of `tests/data/mapping`.
pub fn data(name: &str) -> String {
    let path = format!("{}/tests/data/mapping/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Writes `x` as Exchange XML (element `name`, e.g. `Contact`) and reads it back: what a
/// CreateItem/GetItem pair does to it.
pub fn through_xml<T: WriteXml + ReadXml>(x: &T, name: &str) -> T {
    let mut w = XmlWriter::new();
    w.start_root(Ns::Types, "Root").open();
    x.write_xml(&mut w, Ns::Types, name);
    w.end(Ns::Types, "Root");
    let bytes = w.into_bytes();
    let mut r = XmlReader::new(&bytes);
    let root = r.root().unwrap();
    let c = r.next_child(&root).unwrap().unwrap();
    T::read_xml(&mut r, &c).unwrap()
}

/// The item an XML document (an item element at its root) holds.
pub fn read_item(xml: &str) -> Item {
    let mut r = XmlReader::new(xml.as_bytes());
    let root = r.root().unwrap();
    Item::read_xml(&mut r, &root).unwrap()
}

/// An ews-mock server over an organisation in TOML.
pub async fn start_mock(org: &str) -> MockHandle {
    MockServer::start(MockConfig::new(OrgData::from_toml(org).unwrap()))
        .await
        .unwrap()
}

/// A client of `mock` signing in with basic authentication.
pub fn basic_client(mock: &MockHandle, user: &str, password: &str) -> Client {
    let url = url::Url::parse(&mock.url()).unwrap();
    Client::new(ClientConfig::new(TransportConfig::new(
        url,
        Auth::basic(user, password),
    )))
    .unwrap()
}

/// An ews-mock server over `org` and a client of it signing in as `user`.
pub async fn mock_and_client(org: &str, user: &str, password: &str) -> (MockHandle, Client) {
    let mock = start_mock(org).await;
    let client = basic_client(&mock, user, password);
    (mock, client)
}

/// A pool on a new scratch database of the test PostgreSQL server
/// (`CONAKTIV_TEST_POSTGRES_URL`, started by the test command), and its URL; `None` (the
/// test skips, saying so) without that server, unless `POSTGRES_REQUIRED=1`.
#[cfg(feature = "postgres")]
pub async fn scratch_postgres() -> Option<(sync_core::postgres::PgPool, String)> {
    let Ok(base) = std::env::var("CONAKTIV_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("POSTGRES_REQUIRED").as_deref() != Ok("1"),
            "POSTGRES_REQUIRED=1 but CONAKTIV_TEST_POSTGRES_URL is not set"
        );
        eprintln!("skipped: no PostgreSQL (CONAKTIV_TEST_POSTGRES_URL)");
        return None;
    };
    let url = sync_core::postgres::create_scratch_database(&base)
        .await
        .unwrap();
    let pool = sync_core::postgres::PgPool::connect(&url, None, 16).unwrap();
    Some((pool, url))
}

/// Stops a process as an operator's service manager does: SIGTERM (the `kill` command).
pub fn sigterm(pid: u32) {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM {pid}");
}
