#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! `demo --keep DIR` leaves a working setup: after it, the mock started on the kept
//! organisation file and `preview`, `sync` and `batch` on the kept configuration and
//! database work, and a second sync writes nothing.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_conaktiv-exchange");

fn run(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(BIN)
        .arg("--json")
        .args(args)
        .env_remove("CONAKTIV_EXCHANGE_CONFIG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn demo_keep_leaves_a_setup_that_preview_sync_and_batch_use() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("kept");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let demo_config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml");
    let keep_arg = keep.to_str().unwrap();
    let (code, json, all) = run(&[
        "--config",
        demo_config.to_str().unwrap(),
        "demo",
        "--keep",
        keep_arg,
        "--port",
        &port,
    ]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(json["kept"]["next"].as_array().unwrap().len(), 4, "{json}");

    let mut mock = Command::new(BIN)
        .args([
            "--json",
            "mock",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data",
        ])
        .arg(keep.join("org.toml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(mock.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains(&port), "{line}");

    let config = keep.join("conaktiv.toml");
    let db = keep.join("conaktiv.sqlite");
    let base = ["--config", config.to_str().unwrap()];
    let with = |cmd: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = base.iter().map(|s| s.to_string()).collect();
        v.extend(cmd.iter().map(|s| s.to_string()));
        v.push("--db".into());
        v.push(db.to_str().unwrap().into());
        v
    };
    let results: Vec<(i32, Value, String)> = [
        with(&["preview"]),
        with(&["sync"]),
        with(&["sync"]),
        with(&["batch", "--once"]),
    ]
    .iter()
    .map(|v| run(&strs_of(v)))
    .collect();
    // A lost state, then a batch run: it re-pairs every record, its text counts the links
    // as `sync` does, and nothing is rewritten (re-pairing is linking, not changing).
    std::fs::remove_dir_all(keep.join("conaktiv.sqlite.state")).unwrap();
    let batch_text = {
        let out = Command::new(BIN)
            .args(strs_of(&with(&["batch", "--once"])))
            .env_remove("CONAKTIV_EXCHANGE_CONFIG")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{text}");
        text
    };
    let (after_code, after_batch, after_all) = run(&strs_of(&with(&["sync"])));
    // A contact and a user with a group from the command line, then the sync sends the
    // contact to anna's Exchange mailbox.
    let file = dir.path().join("more.json");
    std::fs::write(
        &file,
        r#"{"contacts": [{"owner": "anna", "record": {"name": {"given_name": "Jan", "surname": "Neu"}, "company": "Neu GmbH"}}],
            "references": [{"kind": "invoice", "id": "inv-1", "number": "RE-2026-0113", "project": "proj-42"}]}"#,
    )
    .unwrap();
    let db_arg = db.to_str().unwrap();
    let (code, imported, all) = run(&["import", file.to_str().unwrap(), "--db", db_arg]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(imported["contacts"], 1, "{imported}");
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        "name,display_name,mailbox,groups\nanna,Anna,anna@demo.example,Vertrieb;Technik\n",
    )
    .unwrap();
    let (code, users, all) = run(&["import", csv.to_str().unwrap(), "--db", db_arg]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(users["users"], 1, "{users}");
    let (code, added, all) = run(&[
        "add-user",
        "carla",
        "--mailbox",
        "carla@demo.example",
        "--group",
        "Vertrieb",
        "--db",
        db_arg,
    ]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(added["user"]["groups"][0], "Vertrieb", "{added}");
    let (code, after_import, all) = run(&strs_of(&with(&[
        "sync", "--user", "anna", "--rule", "Kontakte",
    ])));
    // A lost state: the preview re-pairs, and names the records by their titles.
    std::fs::remove_dir_all(keep.join("conaktiv.sqlite.state")).unwrap();
    let (repair_code, repair, repair_all) = run(&strs_of(&with(&[
        "preview",
        "--user",
        "anna",
        "--rule",
        "Termine",
        "--actions",
    ])));
    let _ = mock.kill();
    let _ = mock.wait();
    let ok_lines: Vec<&str> = batch_text.lines().filter(|l| l.contains("ok: ")).collect();
    assert!(!ok_lines.is_empty(), "{batch_text}");
    let linked: u64 = ok_lines
        .iter()
        .flat_map(|l| l.split([':', ';', ',']))
        .filter_map(|part| part.trim().strip_suffix(" linked"))
        .map(|n| n.trim().parse::<u64>().unwrap())
        .sum();
    assert!(linked > 0, "no links counted: {batch_text}");
    // The contacts too: re-paired, not rewritten (the CRM and Exchange projections of a
    // contact agree, Exchange's computed DisplayName and FileAs included).
    assert!(
        ok_lines
            .iter()
            .filter(|l| l.contains(" contacts "))
            .all(|l| !l.contains("ConAktiv: 0 new, 0 changed, 0 deleted, 0 linked")),
        "{batch_text}"
    );
    for l in &ok_lines {
        assert!(
            l.contains("Exchange: 0 new, 0 changed, 0 deleted,")
                && l.contains("ConAktiv: 0 new, 0 changed, 0 deleted,"),
            "re-pairing rewrote records: {batch_text}"
        );
    }
    // and the next sync has nothing left to do
    assert_eq!(after_code, 0, "{after_all}");
    for i in after_batch["items"].as_array().unwrap() {
        for d in ["to_exchange", "to_conaktiv"] {
            for k in ["new", "changed", "deleted", "linked"] {
                assert_eq!(i["report"][d][k].as_u64(), Some(0), "{after_batch}");
            }
        }
    }
    assert_eq!(code, 0, "{all}");
    let sent: u64 = after_import["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["report"]["to_exchange"]["new"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(sent, 1, "{after_import}");
    assert_eq!(repair_code, 0, "{repair_all}");
    let actions = repair["actions"].as_array().unwrap();
    assert!(!actions.is_empty(), "{repair}");
    for a in actions {
        assert_eq!(a["action"], "link", "{repair}");
        let title = a["title"].as_str().unwrap_or_default();
        assert!(title.starts_with("Kundentermin"), "{repair}");
    }
    let users = {
        use conaktiv_exchange::host::UserDirectory;
        let db = conaktiv_exchange::sqlite::SqliteDb::open(&db).unwrap();
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(db.directory().users())
            .unwrap()
    };
    let anna = users.iter().find(|u| u.name == "anna").unwrap();
    assert_eq!(anna.groups.len(), 2, "{anna:?}");
    assert!(users.iter().any(|u| u.name == "carla"));
    for (code, _, all) in &results {
        assert_eq!(*code, 0, "{all}");
    }
    let previews = results[0].1["previews"].as_array().unwrap();
    assert!(!previews.is_empty(), "{}", results[0].1);
    let items = results[1].1["items"].as_array().unwrap();
    assert!(
        items.iter().all(|i| i["status"] == "succeeded"),
        "{items:?}"
    );
    let writes = |j: &Value| -> u64 {
        j["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                ["to_exchange", "to_conaktiv"]
                    .iter()
                    .map(|d| {
                        ["new", "changed", "deleted"]
                            .iter()
                            .map(|k| i["report"][d][k].as_u64().unwrap_or(0))
                            .sum::<u64>()
                    })
                    .sum::<u64>()
            })
            .sum()
    };
    assert!(writes(&results[1].1) > 0, "{}", results[1].1);
    assert_eq!(writes(&results[2].1), 0, "{}", results[2].1);
}

fn strs_of(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The demo's text report speaks one vocabulary (Exchange/ConAktiv, new/changed/deleted/
/// linked) and its rows add up to the run's total; the JSON counts use the same words.
#[test]
fn demo_rows_add_up_to_the_total_in_one_vocabulary() {
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("demo")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.split("first run:").nth(1).unwrap();
    let first = first.split("second run:").next().unwrap();
    let mut lines = first.lines();
    let header = lines.next().unwrap();
    let total: u64 = header
        .split(", ")
        .find_map(|p| p.trim().strip_suffix(" writes"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut sum = 0;
    for line in lines.filter(|l| l.contains("Exchange:")) {
        assert!(
            line.contains("ConAktiv:") && line.contains("linked"),
            "{line}"
        );
        let words: Vec<&str> = line.split_whitespace().collect();
        for w in words.windows(2) {
            if ["new,", "changed,", "deleted,", "linked;", "linked"].contains(&w[1]) {
                sum += w[0].parse::<u64>().unwrap();
            }
        }
    }
    assert!(total > 0);
    assert_eq!(sum, total, "{first}");

    let (_, json, _) = run(&["--config", config.to_str().unwrap(), "demo"]);
    for (counts, sides) in [
        (
            &json["first_run"]["items"][0]["report"],
            ["to_conaktiv", "to_exchange"],
        ),
        (&json["previews"][0]["counts"], ["conaktiv", "exchange"]),
    ] {
        for side in sides {
            for k in ["new", "changed", "deleted", "linked"] {
                assert!(counts[side][k].is_u64(), "{counts}");
            }
        }
    }
    let to_exchange = &json["first_run"]["items"][0]["report"]["to_exchange"];
    for k in ["new", "changed", "deleted"] {
        assert!(to_exchange[k].is_u64(), "{to_exchange}");
    }
}
