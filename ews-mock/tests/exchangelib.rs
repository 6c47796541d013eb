//! A real third-party EWS client against the mock: Python's exchangelib runs
//! `tools/exchangelib_smoke.py` (folder tree walk, creating, renaming and deleting a folder, contacts, mail, sync, calendar view, name
//! resolution, delete) with NTLM and with Basic authentication against an in-process mock
//! seeded with `org.example.toml`.
//!
//! Skips with a message when `python3 -c "import exchangelib"` fails, unless the environment
//! sets `EWS_CLIENTS_REQUIRED=1` (then a missing exchangelib fails the test).
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use std::path::PathBuf;
use std::process::Command;

use ews_mock::{MockConfig, MockServer, OrgData};

fn exchangelib_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import exchangelib"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let required = std::env::var("EWS_CLIENTS_REQUIRED").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "EWS_CLIENTS_REQUIRED=1 but `python3 -c \"import exchangelib\"` fails; \
             install it with `python3 -m pip install exchangelib`"
        );
        eprintln!(
            "SKIPPED: exchangelib is not installed (`python3 -m pip install exchangelib`); \
             set EWS_CLIENTS_REQUIRED=1 to make this a failure"
        );
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchangelib_smoke_script_passes_with_ntlm_and_basic() {
    if !exchangelib_available() {
        return;
    }
    let data = OrgData::from_toml(include_str!("../org.example.toml")).unwrap();
    let mock = MockServer::start(MockConfig::new(data)).await.unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/exchangelib_smoke.py");
    for auth in ["NTLM", "BASIC"] {
        let url = mock.url().to_string();
        let script = script.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new("python3")
                .arg(&script)
                .arg(auth)
                .env("EWS_URL", url)
                .output()
        })
        .await
        .unwrap()
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stdout.contains("exchangelib smoke test passed"),
            "{auth}: exchangelib smoke test failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        );
    }
    // exchangelib really walked the folder tree and touched the mailbox
    let counts = mock.request_counts();
    for op in [
        "GetFolder",
        "FindFolder",
        "CreateItem",
        "UpdateItem",
        "DeleteItem",
    ] {
        assert!(counts.get(op).copied().unwrap_or(0) > 0, "{op}: {counts:?}");
    }
    mock.shutdown().await.unwrap();
}
