#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! The `conaktiv-exchange` binary: exit codes, `--json` output, configuration errors, the
//! subcommands that work in this build and the ones that say they are not available yet.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use conaktiv_exchange::host::DirectoryUser;
use conaktiv_exchange::sqlite::SqliteDb;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_conaktiv-exchange");

fn demo_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/demo.toml")
}

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

fn run(args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("CONAKTIV_EXCHANGE_CONFIG")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const TWO_GROUP_RULES: &str = r#"
[[rules]]
description = "Kontakte Vertrieb"
validity = "group"
validity_name = "Vertrieb"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts" }]

[[rules]]
description = "Kontakte Technik"
validity = "group"
validity_name = "Technik"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts" }]
"#;

#[test]
fn check_accepts_the_demo_configuration() {
    let config = demo_config();
    let r = run(&["--config", config.to_str().unwrap(), "--json", "check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["rules"], 4);
    assert_eq!(
        j["batch_tasks"][0]["task"],
        "Exchange Abgleich / Demo-Abgleich"
    );
    let text = run(&["--config", config.to_str().unwrap(), "check"]);
    assert_eq!(text.code, 0);
    assert!(text.stdout.contains("4 rule(s)"), "{}", text.stdout);
}

#[test]
fn configuration_errors_exit_with_3_and_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let duplicate = write(
        dir.path(),
        "dup.toml",
        r#"
[[rules]]
description = "K1"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts" }]

[[rules]]
description = "K2"
table = "contacts"
master = "exchange"
sync_folders = [{ path = "/Contacts" }]
"#,
    );
    let syntax = write(dir.path(), "syntax.toml", "[[rules]\ndescription = 1\n");
    let missing = dir.path().join("missing.toml").display().to_string();
    let cases: &[(&str, &str, Option<i64>)] = &[
        (&duplicate, "K1", Some(8)),
        (&syntax, "syntax.toml", Some(1)),
        (&missing, "cannot read", None),
    ];
    for (file, needle, line) in cases {
        for cmd in ["check", "sync", "preview --rule K1 --user anna", "batch"] {
            let mut args = vec!["--config", file, "--json"];
            args.extend(cmd.split(' '));
            let r = run(&args);
            assert_eq!(r.code, 3, "{file} {cmd}: {}{}", r.stdout, r.stderr);
            let j = r.json();
            assert_eq!(j["error"], "configuration");
            assert!(
                j["message"].as_str().unwrap().contains(needle),
                "{file}: {j}"
            );
            assert_eq!(j["line"].as_i64(), *line, "{file}: {j}");
        }
        let text = run(&["--config", file, "check"]);
        assert_eq!(text.code, 3);
        assert!(
            text.stderr.contains("configuration error"),
            "{}",
            text.stderr
        );
    }
}

#[test]
fn rule_conflicts_in_the_directory_exit_with_3_and_name_the_rules() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "rules.toml", TWO_GROUP_RULES);
    let db_path = dir.path().join("crm.sqlite");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = SqliteDb::open(&db_path).unwrap();
        for (name, groups) in [
            ("anna", vec!["Vertrieb"]),
            ("bert", vec!["Vertrieb", "Technik"]),
        ] {
            db.directory()
                .put_user(&DirectoryUser {
                    name: name.into(),
                    display_name: name.into(),
                    mailbox: Some(format!("{name}@agentur.example")),
                    groups: groups.into_iter().map(String::from).collect(),
                    mail_accounts: vec![],
                    active: true,
                })
                .await
                .unwrap();
        }
    });
    let db = db_path.display().to_string();
    // Without the directory the rules are fine...
    assert_eq!(run(&["--config", &config, "check"]).code, 0);
    // ...with it, bert is in both groups.
    let r = run(&["--config", &config, "--json", "check", "--db", &db]);
    assert_eq!(r.code, 3, "{}", r.stdout);
    let j = r.json();
    assert_eq!(j["ok"], false);
    let problem = &j["problems"][0];
    assert_eq!(problem["error"], true);
    assert_eq!(
        problem["rules"],
        serde_json::json!(["Kontakte Vertrieb", "Kontakte Technik"])
    );
    assert!(problem["message"].as_str().unwrap().contains("bert"));
    // anna's contacts are covered; bert is left out.
    assert_eq!(j["assignments"].as_array().unwrap().len(), 1);
    assert_eq!(j["assignments"][0]["mailbox"], "anna@agentur.example");
    // The batch checks first.
    assert_eq!(run(&["--config", &config, "batch", "--db", &db]).code, 3);
}

#[test]
fn the_demo_previews_syncs_and_converges() {
    let config = demo_config();
    let r = run(&["--config", config.to_str().unwrap(), "demo"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("preview:"), "{}", r.stdout);
    assert!(
        r.stdout.contains("the second run changed nothing"),
        "{}",
        r.stdout
    );
    let j = run(&["--config", config.to_str().unwrap(), "--json", "demo"]).json();
    assert!(!j["previews"].as_array().unwrap().is_empty());
    assert_eq!(j["first_run"]["items"][0]["status"], "succeeded");
}

#[test]
fn unknown_servers_and_accounts_are_configuration_errors() {
    let config = demo_config();
    let config = config.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.sqlite").display().to_string();
    for args in [
        vec!["test-account", "--server", "Nope"],
        vec!["test-account", "--account", "NOPE"],
        vec!["sync", "--server", "Nope", "--db", &db],
        vec!["preview", "--rule", "Nope", "--user", "demo", "--db", &db],
    ] {
        let mut all = vec!["--config", config, "--json"];
        all.extend(args.iter().copied());
        let r = run(&all);
        assert_eq!(r.code, 3, "{args:?}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.json()["error"], "configuration", "{args:?}");
    }
}

#[test]
fn the_default_configuration_is_config_demo_toml_when_present() {
    // The tests run in the crate directory, which has no config/demo.toml.
    let r = run(&["--json", "check"]);
    assert_eq!(r.code, 3);
    assert!(r.json()["message"].as_str().unwrap().contains("--config"));
    // From the workspace root it is found.
    let out = Command::new(BIN)
        .args(["--json", "check"])
        .env_remove("CONAKTIV_EXCHANGE_CONFIG")
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn usage_errors_exit_with_64_and_help_with_0() {
    assert_eq!(run(&["--no-such-flag"]).code, 64);
    assert_eq!(run(&["sync", "--wait", "soon"]).code, 64);
    assert_eq!(run(&["preview", "--no-such-flag"]).code, 64);
    assert_eq!(run(&[]).code, 64);
    let help = run(&["--help"]);
    assert_eq!(help.code, 0);
    for cmd in ["demo", "preview", "sync", "batch", "test-account", "mock"] {
        assert!(help.stdout.contains(cmd), "{cmd} in help");
    }
}

#[test]
fn test_account_reports_a_closed_port_with_exit_1() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "mail.toml",
        &format!(
            r#"
[[mail_accounts]]
short_code = "INFO"
user = "anna"
account_name = "Info"
email = "info@agentur.example"
usage = "receive"
server_kind = "imap_smtp"

[mail_accounts.imap]
host = "127.0.0.1"
port = {port}
tls = "implicit"
user = "info"
password = "never-printed-pw"
"#
        ),
    );
    let r = run(&[
        "--config",
        &config,
        "--json",
        "test-account",
        "--account",
        "info",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let j = r.json();
    assert_eq!(j["ok"], false);
    let steps = j["steps"].as_array().unwrap();
    let failed = steps.iter().find(|s| s["status"] == "failed").unwrap();
    assert_eq!(failed["protocol"], "imap");
    assert_eq!(failed["failure"], "port closed");
    assert!(!r.stdout.contains("never-printed-pw"));
    assert!(!r.stderr.contains("never-printed-pw"));

    let unknown = run(&["--config", &config, "test-account", "--account", "NOPE"]);
    assert_eq!(unknown.code, 3);
}

#[test]
fn mock_serves_until_terminated() {
    let mut child = Command::new(BIN)
        .args(["--json", "mock", "--listen", "127.0.0.1:0"])
        .env_remove("CONAKTIV_EXCHANGE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let urls: Value = serde_json::from_str(&line).unwrap();
    let ews = url_host_port(urls["ews"].as_str().unwrap());
    assert!(
        urls["ews"]
            .as_str()
            .unwrap()
            .ends_with("/EWS/Exchange.asmx"),
        "{urls}"
    );
    // the admin endpoint's token is announced with its URL
    assert!(
        urls["admin_token"].as_str().is_some_and(|t| t.len() >= 32),
        "{urls}"
    );
    std::net::TcpStream::connect(&ews).unwrap();
    common::sigterm(child.id());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
}

fn url_host_port(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    rest.split('/').next().unwrap().to_owned()
}

/// A filter nested 4,000 parentheses deep, or with 8,000 NOTs, is a configuration error
/// (exit 3) from every command, not a stack overflow.
#[test]
fn absurdly_deep_filters_are_configuration_errors_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crm.sqlite").display().to_string();
    let deep_parens = format!("{}surname = 'x'{}", "(".repeat(4000), ")".repeat(4000));
    let many_nots = format!("{}surname = 'x'", "NOT ".repeat(8000));
    let huge = format!("surname = '{}'", "x".repeat(20_000));
    for filter in [deep_parens, many_nots, huge] {
        let config = write(
            dir.path(),
            "deep.toml",
            &format!(
                r#"
[[servers]]
name = "Exchange"
url = "http://127.0.0.1:9/EWS/Exchange.asmx"
kind = "on_premises"
admin_user = "admin"
admin_password = "pw"
auth_scheme = "basic"

[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{{ path = "/Contacts" }}]
filter = "{filter}"
"#
            ),
        );
        for args in [
            vec!["check"],
            vec!["sync", "--db", &db],
            vec![
                "preview", "--rule", "Kontakte", "--user", "anna", "--db", &db,
            ],
            vec!["batch", "--once", "--db", &db],
        ] {
            let mut all = vec!["--config", config.as_str(), "--json"];
            all.extend(args.iter().copied());
            let r = run(&all);
            assert_eq!(r.code, 3, "{args:?}: {} {}", r.stdout, r.stderr);
            let text = format!("{}{}", r.stdout, r.stderr);
            assert!(
                text.contains("filter") && (text.contains("nest") || text.contains("limit")),
                "{args:?}: {text}"
            );
        }
    }
}

/// A filter that compares a field the table's records do not have is reported by `check`
/// (it would always compare as '' and silently select nothing or everything).
#[test]
fn a_filter_naming_an_unknown_field_is_reported_by_check() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "unknown-field.toml",
        r#"
[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{ path = "/Contacts" }]
filter = "kategorie = 'Kunde' AND name.surname != ''"
"#,
    );
    let r = run(&["--config", &config, "--json", "check"]);
    let j = r.json();
    let problems = j["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{j}");
    let message = problems[0]["message"].as_str().unwrap();
    assert!(
        message.contains("\"kategorie\"") && message.contains("do not have"),
        "{message}"
    );
    assert_eq!(problems[0]["error"], false);
}
