#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! The CLI against ews-mock over HTTP: preview, sync, a second sync that writes nothing, a
//! batch run, account tests, and wrong credentials.

mod common;

use std::path::Path;

use conaktiv_exchange::service::demo::demo_org;
use ews_mock::{MockConfig, MockServer, OrgData};
use serde_json::Value;
use tokio::io::AsyncBufReadExt;

const BIN: &str = env!("CARGO_BIN_EXE_conaktiv-exchange");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {}", self.stdout))
    }
}

async fn run(args: &[&str]) -> Run {
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("CONAKTIV_EXCHANGE_CONFIG")
        .output()
        .await
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn config_for(dir: &Path, port: u16, admin_password: &str) -> String {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml");
    let text = std::fs::read_to_string(demo)
        .unwrap()
        .replace("127.0.0.1:0", &format!("127.0.0.1:{port}"))
        .replace("demo-admin-password", admin_password);
    let path = dir.join(format!("config-{admin_password}.toml"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn writes(item: &Value) -> u64 {
    let r = &item["report"];
    ["to_exchange", "to_conaktiv"]
        .iter()
        .flat_map(|d| ["new", "changed", "deleted"].map(|k| r[d][k].as_u64().unwrap()))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_sync_batch_and_account_tests_against_the_mock() {
    let mock = MockServer::start(MockConfig::new(OrgData::from_toml(&demo_org()).unwrap()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = config_for(dir.path(), mock.addr().port(), "demo-admin-password");
    let db = dir.path().join("crm.sqlite").display().to_string();
    let base = ["--config", config.as_str(), "--json"];
    let with = |extra: &[&'static str]| -> Vec<String> {
        base.iter()
            .map(|s| (*s).to_owned())
            .chain(extra.iter().map(|s| (*s).to_owned()))
            .chain(["--db".to_owned(), db.clone()])
            .collect()
    };

    // The preview writes nothing: the mock's two contacts of the demo user are new for
    // ConAktiv, and asking twice gives the same answer.
    let v = with(&[
        "preview",
        "--rule",
        "Kontakte",
        "--user",
        "demo",
        "--actions",
    ]);
    let p = run(&strs(&v)).await;
    assert_eq!(p.code, 0, "{}{}", p.stdout, p.stderr);
    let preview = p.json();
    assert_eq!(preview["conaktiv"]["new"], 2, "{preview}");
    assert_eq!(preview["exchange"]["new"], 0, "{preview}");
    assert_eq!(preview["actions"].as_array().unwrap().len(), 2);
    assert_eq!(run(&strs(&v)).await.json()["conaktiv"], preview["conaktiv"]);

    // The first sync covers the demo user's four tables.
    let v = with(&["sync"]);
    let first = run(&strs(&v)).await;
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let items = first.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 4);
    assert!(
        items.iter().all(|i| i["status"] == "succeeded"),
        "{items:?}"
    );
    assert!(items.iter().map(writes).sum::<u64>() >= 2);

    // The second writes nothing.
    let second = run(&strs(&v)).await.json();
    let writes_again: u64 = second["items"].as_array().unwrap().iter().map(writes).sum();
    assert_eq!(writes_again, 0, "{second}");
    // The preview agrees now.
    let v = with(&["preview", "--rule", "Kontakte", "--user", "demo"]);
    let after = run(&strs(&v)).await.json();
    assert_eq!(after["conaktiv"]["new"], 0, "{after}");

    // A batch run over the same jobs.
    let v = with(&["batch", "--once"]);
    let b = run(&strs(&v)).await;
    assert_eq!(b.code, 0, "{}{}", b.stdout, b.stderr);
    let report = b.json();
    let statuses: Vec<&str> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["succeeded"; 4]);

    // The batch loop: a first run at once, then a clean stop on SIGTERM.
    let (first_run, code, stopped) = batch_loop_until_sigterm(with(&["batch"])).await;
    assert_eq!(
        first_run["items"].as_array().unwrap().len(),
        4,
        "{first_run}"
    );
    assert_eq!(code, Some(0), "{stopped}");
    assert_eq!(stopped["runs"], 1);
    assert_eq!(stopped["failures"], 0);

    // The service account itself.
    let t = run(&[
        "--config",
        &config,
        "--json",
        "test-account",
        "--server",
        "Mock Exchange",
    ])
    .await;
    assert_eq!(t.code, 0, "{}{}", t.stdout, t.stderr);

    // The demo user's Exchange mail account, through the service account.
    let t = run(&[
        "--config",
        &config,
        "--json",
        "test-account",
        "--account",
        "DEMO",
    ])
    .await;
    assert_eq!(t.code, 0, "{}{}", t.stdout, t.stderr);
    assert_eq!(t.json()["steps"][0]["protocol"], "exchange");

    // Wrong service-account password: the account test fails, the sync fails permanently.
    let bad = config_for(dir.path(), mock.addr().port(), "wrong-password");
    let t = run(&[
        "--config",
        &bad,
        "--json",
        "test-account",
        "--account",
        "DEMO",
    ])
    .await;
    assert_eq!(t.code, 1, "{}{}", t.stdout, t.stderr);
    assert!(!t.stdout.contains("wrong-password") && !t.stderr.contains("wrong-password"));
    let s = run(&["--config", &bad, "--json", "sync", "--db", &db]).await;
    assert_eq!(s.code, 1, "{}{}", s.stdout, s.stderr);
    let items = s.json()["items"].as_array().unwrap().clone();
    assert!(items.iter().all(|i| i["status"] == "failed"), "{items:?}");
    assert!(!s.stdout.contains("wrong-password"));
    // The batch loop with failing items (a database of its own: the loop above already ran
    // every job in this interval): its exit status on stop says so.
    let fresh = dir.path().join("other.sqlite").display().to_string();
    let (_, code, stopped) = batch_loop_until_sigterm(
        [
            "--config",
            bad.as_str(),
            "--json",
            "batch",
            "--db",
            fresh.as_str(),
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    )
    .await;
    assert_eq!(code, Some(1), "{stopped}");
    assert_eq!(stopped["ok"], false, "{stopped}");
    assert_eq!(stopped["failures"], 4, "{stopped}");

    mock.shutdown().await.unwrap();
}

/// Starts the batch loop with `args`, waits for its first run's report, stops it with
/// SIGTERM: (the first report, the exit code, the closing report).
async fn batch_loop_until_sigterm(args: Vec<String>) -> (Value, Option<i32>, Value) {
    let mut child = tokio::process::Command::new(BIN)
        .args(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first_run: Value =
        serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    common::sigterm(child.id().unwrap());
    let mut rest = String::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        rest.push_str(&line);
    }
    let status = child.wait().await.unwrap();
    let stopped: Value = serde_json::from_str(&rest).unwrap();
    (first_run, status.code(), stopped)
}
