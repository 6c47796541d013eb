//! The `demo` entry point over `config/demo.toml`: preview, sync, a second run that does nothing.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use conaktiv_model::Configuration;

#[tokio::test]
async fn demo_syncs_every_table_and_the_second_run_does_nothing() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml");
    let config = Configuration::load(path).unwrap();
    let result = conaktiv_exchange::service::demo(&config).await.unwrap();
    let text = result.text();
    assert!(result.ok(), "{text}");
    // 3 users x 4 tables.
    assert_eq!(result.previews.len(), 12, "{text}");
    assert_eq!(result.first_run.items.len(), 12);
    let contacts = result
        .previews
        .iter()
        .find(|p| p.table == "contacts")
        .unwrap();
    assert_eq!(
        (contacts.exchange.new, contacts.conaktiv.new),
        (1, 2),
        "{text}"
    );
    assert!(
        result.first_run.total_writes() >= 3 * (2 + 1 + 1 + 1 + 1 + 1),
        "{text}"
    );
    assert_eq!(result.second_run.total_writes(), 0, "{text}");
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(
        json["first_run"]["items"][0]["status"], "succeeded",
        "{json}"
    );
}
