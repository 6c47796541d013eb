#![allow(clippy::unwrap_used)] // tests: a panic is a failed test
//! The batch's tasks through the CLI binary: a mail receiving task ("E-Mails abholen") files
//! the mail of the automatically receiving IMAP accounts from the real Dovecot into the
//! embedded CRM, exactly once, linked by the reference number in the subject; tasks that
//! cannot run are refused by `check` or skipped with the reason.
//!
//! The Dovecot tests need the servers of `scripts/mail-servers` (env from `scripts/test.sh`);
//! without them they say they skip, and with `MAIL_SERVERS_REQUIRED=1` they fail.

mod common;

use std::path::Path;
use std::process::Command;

use conaktiv_exchange::filter::Filter;
use conaktiv_exchange::host::{CrmStore, ListQuery, MailLinkQuery, MailLinker};
use conaktiv_exchange::sqlite::{ReferenceKind, ReferenceRecord, SqliteDb, subject_references};
use conaktiv_model::Mail;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_conaktiv-exchange");

struct Imap {
    host: String,
    port: u16,
}

fn imap_server() -> Option<Imap> {
    let Ok(port) = std::env::var("MAIL_TEST_IMAP_PORT") else {
        if std::env::var("MAIL_SERVERS_REQUIRED").as_deref() == Ok("1") {
            panic!("MAIL_SERVERS_REQUIRED=1 but MAIL_TEST_IMAP_PORT is not set");
        }
        eprintln!("skipped: mail servers not running (run scripts/test.sh)");
        return None;
    };
    Some(Imap {
        host: std::env::var("MAIL_TEST_HOST").unwrap_or_else(|_| "127.0.0.1".into()),
        port: port.parse().unwrap(),
    })
}

fn run(config: &Path, args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--json")
        .args(args)
        .env_remove("CONAKTIV_EXCHANGE_CONFIG")
        .env_remove("CONAKTIV_SERVER_NAME")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

fn config_text(imap: &Imap, user: &str, extra: &str) -> String {
    format!(
        r#"
[[mail_accounts]]
short_code = "GR"
user = "{user}"
account_name = "Grace"
email = "{user}@example.test"
usage = "receive"
server_kind = "imap_smtp"

[mail_accounts.imap]
host = "{host}"
port = {port}
tls = "none"
user = "{user}@example.test"
password = "{user}-password"

[mail_accounts.receiving]
keep_copy_on_server = true
receive_automatically_on_server = true

[[batch_tasks]]
group = "Exchange Abgleich"
task = "E-Mails abholen"
run_on = "client"
interval_minutes = 5
start_automatically = true
{extra}
"#,
        host = imap.host,
        port = imap.port,
    )
}

async fn append(imap: &Imap, user: &str, message: &[u8]) {
    let server = mail_transport::ServerSettings::new(
        &imap.host,
        imap.port,
        mail_transport::TlsMode::None,
        mail_transport::AuthMechanism::Login,
        mail_transport::Credentials::new(
            format!("{user}@example.test"),
            format!("{user}-password"),
        ),
    )
    .unwrap();
    let mut session = mail_transport::imap::connect(&server).await.unwrap();
    session.append("INBOX", None, None, message).await.unwrap();
    session.logout().await.unwrap();
}

async fn filed(db: &Path, owner: &str, message_id: &str) -> Vec<Mail> {
    let db = SqliteDb::open(db).unwrap();
    let query = ListQuery {
        filter: Filter::parse(&format!("message_id = '{message_id}'")).unwrap(),
        owner: Some(owner.to_owned()),
    };
    let crm = db.crm();
    let ids: Vec<String> = CrmStore::<Mail>::list(&crm, &query)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    CrmStore::<Mail>::get_many(&crm, &ids)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.record)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mail_task_files_imap_mail_once_linked_to_the_project_in_its_subject() {
    let Some(imap) = imap_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("crm.sqlite");
    let db = SqliteDb::open(&db_path).unwrap();
    db.add_reference(ReferenceRecord {
        kind: ReferenceKind::Project,
        id: "proj-42".into(),
        number: "P-2026-0042".into(),
        title: "Relaunch Website".into(),
        customer: Some("cust-7".into()),
        project: None,
    })
    .await
    .unwrap();
    drop(db);
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_text(&imap, "grace", "")).unwrap();

    let id = format!("{}@batch.test", uuid_like());
    let message = format!(
        "From: Kunde <kunde@firma.example>\r\nTo: grace@example.test\r\nSubject: Rückfrage zu P-2026-0042\r\nMessage-ID: <{id}>\r\nDate: Fri, 04 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo, eine Frage.\r\n"
    );
    append(&imap, "grace", message.as_bytes()).await;

    let db_arg = db_path.to_str().unwrap();
    let (code, first, all) = run(&config, &["batch", "--once", "--db", db_arg]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(first["tasks"][0]["kind"], "receive_mail", "{first}");
    let account = &first["mail"][0]["accounts"][0];
    assert_eq!(account["account"], "GR", "{first}");
    assert!(account["new"].as_u64().unwrap() >= 1, "{first}");

    let (code, second, all) = run(&config, &["batch", "--once", "--db", db_arg]);
    assert_eq!(code, 0, "{all}");
    assert_eq!(second["mail"][0]["accounts"][0]["new"], 0, "{second}");

    // Lost checkpoints: the folder is offered again, and the CRM still files it once.
    std::fs::remove_file(dir.path().join("crm.sqlite.state/mail-checkpoints.sqlite")).unwrap();
    let (code, third, all) = run(&config, &["batch", "--once", "--db", db_arg]);
    assert_eq!(code, 0, "{all}");
    let again = &third["mail"][0]["accounts"][0];
    assert_eq!(again["new"], 0, "{third}");
    assert!(again["duplicates"].as_u64().unwrap() >= 1, "{third}");

    let mails = filed(&db_path, "grace", &id).await;
    assert_eq!(mails.len(), 1, "filed once: {mails:?}");
    let links = &mails[0].links;
    assert_eq!(links.project.as_ref().map(|p| p.as_str()), Some("proj-42"));
    assert_eq!(links.customer.as_ref().map(|c| c.as_str()), Some("cust-7"));
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}-{}", std::process::id())
}

#[test]
fn check_refuses_what_a_batch_task_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let imap = Imap {
        host: "127.0.0.1".into(),
        port: 1,
    };
    // A task of a group the connector does not run.
    let config = dir.path().join("other.toml");
    let other = "\n[[batch_tasks]]\ngroup = \"Berichte\"\ntask = \"Umsatz\"\nrun_on = \"client\"\ninterval_minutes = 60\n";
    std::fs::write(&config, config_text(&imap, "grace", other)).unwrap();
    let (code, json, all) = run(&config, &["check"]);
    assert_eq!(code, 3, "{all}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("Berichte / Umsatz"),
        "{json}"
    );
    // A mail task with no account that receives automatically.
    let text = config_text(&imap, "grace", "").replace(
        "receive_automatically_on_server = true",
        "receive_automatically_on_server = false",
    );
    std::fs::write(&config, text).unwrap();
    let (code, json, all) = run(&config, &["check"]);
    assert_eq!(code, 3, "{all}");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("receive_automatically_on_server"),
        "{json}"
    );
    let (code, _, _) = run(&config, &["batch", "--once", "--db", "x.sqlite"]);
    assert_eq!(code, 3);
}

#[test]
fn tasks_for_another_server_or_not_started_automatically_are_skipped_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let imap = Imap {
        host: "127.0.0.1".into(),
        port: 1,
    };
    let config = dir.path().join("c.toml");
    let text = config_text(&imap, "grace", "").replace(
        "run_on = \"client\"",
        "run_on = \"server\"\nserver_name = \"conaktiv-app01\"",
    );
    std::fs::write(&config, text).unwrap();
    let db = dir.path().join("crm.sqlite");
    let db = db.to_str().unwrap();
    let (code, json, all) = run(
        &config,
        &["batch", "--once", "--db", db, "--server-name", "other-host"],
    );
    assert_eq!(code, 3, "{all}");
    let reason = json["tasks"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("conaktiv-app01"), "{json}");
    // On the named server it runs (the IMAP port is closed: the account fails, in words).
    let (code, json, all) = run(
        &config,
        &[
            "batch",
            "--once",
            "--db",
            db,
            "--server-name",
            "conaktiv-app01",
        ],
    );
    assert_eq!(code, 1, "{all}");
    assert_eq!(json["tasks"][0]["status"], "started", "{json}");
    assert!(
        json["mail"][0]["accounts"][0]["error"].is_string(),
        "{json}"
    );
}

#[tokio::test]
async fn the_linker_reads_project_offer_and_invoice_numbers_from_the_subject() {
    assert_eq!(
        subject_references("AW: Angebot AN-2026-0007 zu P-2026-0042 (RE-2026-0113)"),
        vec![
            (ReferenceKind::Offer, "AN-2026-0007".to_owned()),
            (ReferenceKind::Project, "P-2026-0042".to_owned()),
            (ReferenceKind::Invoice, "RE-2026-0113".to_owned()),
        ]
    );
    assert!(subject_references("PRE-2026 P- RE:Antwort AN-x").is_empty());
    let db = SqliteDb::in_memory().unwrap();
    db.add_reference(ReferenceRecord {
        kind: ReferenceKind::Offer,
        id: "an-7".into(),
        number: "AN-2026-0007".into(),
        title: "Angebot Relaunch".into(),
        customer: Some("cust-7".into()),
        project: Some("proj-42".into()),
    })
    .await
    .unwrap();
    let links = db
        .linker()
        .link(&MailLinkQuery {
            subject: "Re: an-2026-0007".into(),
            ..MailLinkQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(links.offer.as_ref().map(|o| o.as_str()), Some("an-7"));
    assert_eq!(links.project.as_ref().map(|p| p.as_str()), Some("proj-42"));
    assert_eq!(links.customer.as_ref().map(|c| c.as_str()), Some("cust-7"));
    assert_eq!(
        db.schema_version().await.unwrap(),
        conaktiv_exchange::sqlite::SCHEMA_VERSION
    );
}

#[tokio::test]
async fn mail_and_appointments_created_by_a_sync_are_linked_by_the_same_linker() {
    use conaktiv_exchange::host::MailLinker;
    use conaktiv_exchange::service::CrmStores;
    use conaktiv_model::Appointment;
    use conaktiv_model::mail::{Header, Mailbox};
    use std::sync::Arc;

    let db = SqliteDb::in_memory().unwrap();
    db.add_reference(ReferenceRecord {
        kind: ReferenceKind::Project,
        id: "proj-42".into(),
        number: "P-2026-0042".into(),
        title: "Relaunch".into(),
        customer: Some("cust-7".into()),
        project: None,
    })
    .await
    .unwrap();
    let linker: Arc<dyn MailLinker> = Arc::new(db.linker());
    let stores = CrmStores::all(db.crm()).linked(linker);

    // A mail the Exchange e-mail rule files: project from the subject.
    let mail = Mail {
        message_id: "first@x.test".into(),
        from: Some(Mailbox::new("Kunde", "kunde@firma.example")),
        subject: "Abnahme P-2026-0042".into(),
        ..Mail::default()
    };
    let meta = stores
        .mails
        .create(Some("anna"), &mail, None)
        .await
        .unwrap();
    let stored = stores.mails.get(&meta.id).await.unwrap().unwrap().record;
    assert_eq!(
        stored.links.project.as_ref().map(|p| p.as_str()),
        Some("proj-42")
    );
    assert_eq!(
        stored.links.customer.as_ref().map(|c| c.as_str()),
        Some("cust-7")
    );

    // A reply without the number: linked through the thread.
    let reply = Mail {
        message_id: "second@x.test".into(),
        subject: "AW: Abnahme".into(),
        raw_headers: vec![Header {
            name: "In-Reply-To".into(),
            value: "<first@x.test>".into(),
        }],
        ..Mail::default()
    };
    let meta = stores
        .mails
        .create(Some("anna"), &reply, None)
        .await
        .unwrap();
    let stored = stores.mails.get(&meta.id).await.unwrap().unwrap().record;
    assert_eq!(
        stored.links.project.as_ref().map(|p| p.as_str()),
        Some("proj-42")
    );

    // An appointment from Exchange gets the project its subject names; others stay without.
    let meeting = Appointment {
        subject: "Workshop P-2026-0042".into(),
        ..Appointment::default()
    };
    let meta = stores
        .appointments
        .create(Some("anna"), &meeting, None)
        .await
        .unwrap();
    let stored = stores
        .appointments
        .get(&meta.id)
        .await
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(stored.project.as_ref().map(|p| p.as_str()), Some("proj-42"));
    let other = Appointment {
        subject: "Mittagessen".into(),
        ..Appointment::default()
    };
    let meta = stores
        .appointments
        .create(Some("anna"), &other, None)
        .await
        .unwrap();
    let stored = stores
        .appointments
        .get(&meta.id)
        .await
        .unwrap()
        .unwrap()
        .record;
    assert!(stored.project.is_none());
}

#[test]
fn the_batch_loop_starts_the_mail_task_at_once_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    let Some(imap) = imap_server() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_text(&imap, "grace", "")).unwrap();
    let db = dir.path().join("crm.sqlite");
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["--json", "batch", "--db"])
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(
        first["task"], "Exchange Abgleich / E-Mails abholen",
        "{first}"
    );
    assert_eq!(first["mail"][0]["account"], "GR", "{first}");
    assert!(first["mail"][0]["error"].is_null(), "{first}");
    common::sigterm(child.id());
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let last: Value = serde_json::from_str(&rest.join("\n")).unwrap();
    assert_eq!(last["stopped"], true, "{last}");
}
