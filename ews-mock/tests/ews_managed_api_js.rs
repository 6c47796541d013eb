//! A real third-party EWS client against the mock: `ews-javascript-api`, the JavaScript port of
//! Microsoft's EWS Managed API, runs `tools/ews-js/smoke.js` (Folder.Bind on the inbox,
//! FindFolders under MsgFolderRoot, creating a contact and an appointment, FindItems and Load,
//! Update, Delete, SyncFolderItems) with Basic credentials against an in-process mock seeded
//! with `org.example.toml`.
//!
//! Skips with a message when `node` or `tools/ews-js/node_modules` is missing (install with
//! `npm ci --prefix ews-mock/tools/ews-js`), unless the environment sets
//! `EWS_CLIENTS_REQUIRED=1` (then the missing client fails the test).
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use ews_mock::{MockConfig, MockServer, OrgData};

fn tool_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/ews-js")
}

fn client_available(dir: &Path) -> bool {
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let modules = dir
        .join("node_modules/ews-javascript-api/package.json")
        .is_file();
    if node && modules {
        return true;
    }
    let missing = if node {
        "tools/ews-js/node_modules (run `npm ci --prefix ews-mock/tools/ews-js`)"
    } else {
        "node (Node.js 18 or later)"
    };
    let required = std::env::var("EWS_CLIENTS_REQUIRED").is_ok_and(|v| v == "1");
    assert!(!required, "EWS_CLIENTS_REQUIRED=1 but {missing} is missing");
    eprintln!("SKIPPED: {missing} is missing; set EWS_CLIENTS_REQUIRED=1 to make this a failure");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ews_managed_api_js_smoke_script_passes_with_basic() {
    let dir = tool_dir();
    if !client_available(&dir) {
        return;
    }
    let data = OrgData::from_toml(include_str!("../org.example.toml")).unwrap();
    let mock = MockServer::start(MockConfig::new(data)).await.unwrap();
    let url = mock.url().to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg("smoke.js")
            .current_dir(&dir)
            .env("EWS_URL", url)
            .env("EWS_USER", "anna@contoso.test")
            .env("EWS_PASSWORD", "anna-pw")
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("ews-javascript-api smoke test passed"),
        "ews-javascript-api smoke test failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );

    // the client really went through the mock, as anna, with these operations
    let counts = mock.request_counts();
    for op in [
        "GetFolder",
        "FindFolder",
        "CreateItem",
        "FindItem",
        "GetItem",
        "UpdateItem",
        "DeleteItem",
        "SyncFolderItems",
    ] {
        assert!(counts.get(op).copied().unwrap_or(0) > 0, "{op}: {counts:?}");
    }
    let anna = mock.mailbox("anna@contoso.test").unwrap();
    assert!(
        anna.items
            .iter()
            .all(|i| i.subject.as_deref() != Some("Planning (moved)")),
        "the appointment was deleted"
    );
    assert!(
        !anna.items.iter().any(|i| i.xml.contains("Frank")),
        "the contact was deleted at the end"
    );
    mock.shutdown().await.unwrap();
}
