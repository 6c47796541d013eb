#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failed test
//! Mailbox routing through the real binary: two EWS servers (an on-premises one with NTLM
//! sign-in and an "Exchange Online" one with an OAuth app, both `ews-mock` instances), users
//! routed to each by `[[mailbox_routes]]` (by user name and by mail domain); `check` shows
//! who goes where and rejects a route to an unknown server with file:line; a `sync` writes
//! each user's records into the right server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use conaktiv_exchange::host::{CrmStore, DirectoryUser};
use conaktiv_exchange::sqlite::SqliteDb;
use conaktiv_model::ContactPerson;
use ews_mock::{MockConfig, MockHandle, MockServer, OrgData};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_conaktiv-exchange");

async fn on_premises() -> MockHandle {
    let org = r#"
[settings]
domain = "buero.test"

[[users]]
address = "svc@buero.test"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "anna@buero.test"
password = "pw"

[[mailboxes]]
owner = "anna@buero.test"
"#;
    MockServer::start(MockConfig::new(OrgData::from_toml(org).unwrap()))
        .await
        .unwrap()
}

async fn online() -> MockHandle {
    online_with("").await
}

/// The Exchange Online mock; `graph` is appended (a `[graph]` section restricting the app).
async fn online_with(graph: &str) -> MockHandle {
    let org = r#"
[settings]
domain = "cloud.test"

[[users]]
address = "svc@cloud.test"
password = "pw"

[[mailboxes]]
owner = "svc@cloud.test"

[[apps]]
client_id = "app-1"
client_secret = "app-secret"
tenant = "cloudtenant"
roles = ["full_access_as_app"]

[[users]]
address = "bert@cloud.test"
password = "pw"

[[mailboxes]]
owner = "bert@cloud.test"

[[users]]
address = "carla@cloud.test"
password = "pw"

[[mailboxes]]
owner = "carla@cloud.test"
"#;
    let org = format!("{org}\n{graph}");
    MockServer::start(MockConfig::new(OrgData::from_toml(&org).unwrap()))
        .await
        .unwrap()
}

fn config_text(buero: &MockHandle, cloud: &MockHandle, routes: &str) -> String {
    format!(
        r#"[[servers]]
name = "Büro"
url = "{}"
kind = "on_premises"
admin_user = "svc@buero.test"
admin_password = "svc-pw"
auth_scheme = "ntlm"

[[servers]]
name = "Online"
url = "{}"
kind = "exchange_online"
admin_mailbox = "svc@cloud.test"
graph_url = "{}"
oauth = {{ tenant_id = "cloudtenant", client_id = "app-1", client_secret = "app-secret", token_url = "{}" }}

{routes}

[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{{ path = "/Contacts" }}]
to_exchange = {{ transfer_new = true, transfer_changed = true }}
to_conaktiv = {{ transfer_new = true, transfer_changed = true }}
"#,
        buero.url(),
        cloud.url(),
        cloud.graph_url(),
        cloud.token_url()
    )
}

const ROUTES: &str = r#"[[mailbox_routes]]
server = "Online"
mail_domains = ["cloud.test"]

[[mailbox_routes]]
server = "Büro"
users = ["anna"]
"#;

async fn database(path: &Path) {
    let db = SqliteDb::open(path).unwrap();
    let crm = db.crm();
    for (user, mailbox) in [
        ("anna", "anna@buero.test"),
        ("bert", "bert@cloud.test"),
        ("carla", "carla@cloud.test"),
    ] {
        db.directory()
            .put_user(&DirectoryUser {
                name: user.into(),
                display_name: user.into(),
                mailbox: Some(mailbox.into()),
                active: true,
                ..DirectoryUser::default()
            })
            .await
            .unwrap();
        let mut c = ContactPerson::default();
        c.name.given_name = "Kontakt".into();
        c.name.surname = format!("Von-{user}");
        CrmStore::<ContactPerson>::create(&crm, Some(user), &c, None)
            .await
            .unwrap();
    }
}

fn run(config: &Path, db: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .arg("--db")
        .arg(db)
        .env("RUST_LOG", "error")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn surnames(mock: &MockHandle, mailbox: &str) -> Vec<String> {
    let snap = mock.mailbox(mailbox).unwrap();
    let mut names: Vec<String> = ["anna", "bert", "carla"]
        .iter()
        .map(|u| format!("Von-{u}"))
        .filter(|n| snap.items.iter().any(|i| i.xml.contains(n.as_str())))
        .collect();
    names.sort();
    names
}

struct Setup {
    buero: MockHandle,
    cloud: MockHandle,
    _dir: tempfile::TempDir,
    config: PathBuf,
    db: PathBuf,
}

async fn setup(routes: &str) -> Setup {
    let buero = on_premises().await;
    let cloud = online().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, config_text(&buero, &cloud, routes)).unwrap();
    let db = dir.path().join("crm.sqlite");
    database(&db).await;
    Setup {
        buero,
        cloud,
        _dir: dir,
        config,
        db,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_mailbox_is_synced_with_the_server_its_route_names() {
    let s = setup(ROUTES).await;
    let (code, out, err) = run(&s.config, &s.db, &["check"]);
    assert_eq!(code, 0, "check: {out}\n{err}");
    assert!(
        out.contains(
            "anna <anna@buero.test>: server \"Büro\", EWS, NTLM (on-premises) (a mailbox route names the user)"
        ),
        "{out}"
    );
    assert!(
        out.contains(
            "bert <bert@cloud.test>: server \"Online\", Microsoft Graph, OAuth app (Exchange Online) (a mailbox route names the mail domain)"
        ),
        "{out}"
    );

    let (code, out, err) = tokio::task::block_in_place(|| run(&s.config, &s.db, &["sync"]));
    assert_eq!(code, 0, "sync: {out}\n{err}");
    assert_eq!(surnames(&s.buero, "anna@buero.test"), ["Von-anna"]);
    assert_eq!(surnames(&s.cloud, "bert@cloud.test"), ["Von-bert"]);
    assert_eq!(surnames(&s.cloud, "carla@cloud.test"), ["Von-carla"]);
    // The on-premises server saw no OAuth token requests, the online one no password sign-in.
    assert!(s.buero.mailbox("bert@cloud.test").is_none());
    assert!(s.cloud.mailbox("anna@buero.test").is_none());
    // Hybrid: the on-premises mailbox over EWS, the Exchange Online ones over Graph.
    let buero = s.buero.request_counts();
    let cloud = s.cloud.request_counts();
    assert!(buero.contains_key("SyncFolderItems"), "{buero:?}");
    assert!(!buero.keys().any(|k| k.starts_with("Graph ")), "{buero:?}");
    assert!(cloud.contains_key("Graph GET contacts/delta"), "{cloud:?}");
    assert!(!cloud.contains_key("SyncFolderItems"), "{cloud:?}");
    assert!(!cloud.contains_key("CreateItem"), "{cloud:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_routes_every_mailbox_goes_to_the_first_server() {
    let s = setup("").await;
    let (code, out, _) = run(&s.config, &s.db, &["check"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("bert <bert@cloud.test>: server \"Büro\", EWS, NTLM (on-premises) (no route applies; the first server record)"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_to_an_unknown_server_is_rejected_with_file_and_line() {
    let s = setup("[[mailbox_routes]]\nserver = \"Nirgendwo\"\nusers = [\"anna\"]\n").await;
    let (code, out, err) = run(&s.config, &s.db, &["check"]);
    assert_eq!(code, 3, "{out}\n{err}");
    let all = format!("{out}{err}");
    let text = std::fs::read_to_string(&s.config).unwrap();
    let line = text.lines().position(|l| l.contains("Nirgendwo")).unwrap() + 1;
    assert!(
        all.contains(&format!("config.toml:{line}")),
        "no file:line {line} in {all}"
    );
    assert!(all.contains("mailbox_routes[0].server"), "{all}");
    assert!(
        all.contains("\"Nirgendwo\", which is not configured"),
        "{all}"
    );
}

#[test]
fn json_check_lists_the_routes() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s = rt.block_on(setup(ROUTES));
    let (code, out, _) = run(&s.config, &s.db, &["--json", "check"]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let routes = v["routes"].as_array().unwrap();
    let carla = routes.iter().find(|r| r["user"] == "carla").unwrap();
    assert_eq!(carla["server"], "Online");
    assert_eq!(carla["api"], "graph");
    assert_eq!(carla["autodiscover"], false);
    let anna = routes.iter().find(|r| r["user"] == "anna").unwrap();
    assert_eq!(anna["api"], "ews");
    drop(s);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_host_name_fails_the_job_at_once_as_a_configuration_problem() {
    for scheme in ["basic", "ntlm"] {
        unknown_host_with(scheme).await;
    }
}

async fn unknown_host_with(scheme: &str) {
    let s = setup(ROUTES).await;
    // The on-premises server's host name does not exist (Basic goes through reqwest, NTLM
    // through its own connection).
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace(
            &s.buero.url(),
            "https://no-such-host.invalid/EWS/Exchange.asmx",
        )
        .replacen(
            "auth_scheme = \"ntlm\"",
            &format!("auth_scheme = \"{scheme}\""),
            1,
        );
    std::fs::write(&s.config, text).unwrap();
    let (code, out, err) = tokio::task::block_in_place(|| {
        run(&s.config, &s.db, &["--json", "sync", "--user", "anna"])
    });
    let all = format!("{out}\n{err}");
    assert_ne!(code, 0, "{all}");
    assert!(
        all.contains("the host name is unknown (DNS)"),
        "{scheme}: {all}"
    );
    assert!(!all.contains("attempt(s)"), "retried: {all}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v.to_string().contains("onfiguration"),
        "not a configuration problem: {v}"
    );
}

/// A private CA ("Agentur Root CA") and a server certificate for 127.0.0.1 it issued:
/// (CA PEM, server certificate PEM, server key PEM).
fn private_ca() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Agentur Root CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::from_params(&ca, &ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_with_a_private_ca_certificate_is_trusted_through_trusted_ca_file() {
    let (ca_pem, cert_pem, key_pem) = private_ca();
    let org = r#"
[settings]
domain = "buero.test"

[[users]]
address = "svc@buero.test"
password = "svc-pw"
roles = ["ApplicationImpersonation"]

[[users]]
address = "anna@buero.test"
password = "pw"

[[mailboxes]]
owner = "anna@buero.test"
"#;
    let mut mock_config = MockConfig::new(OrgData::from_toml(org).unwrap());
    mock_config.tls = Some(ews_mock::TlsConfig {
        cert_pem: cert_pem.into_bytes(),
        key_pem: key_pem.into_bytes(),
    });
    let mock = MockServer::start(mock_config).await.unwrap();
    assert!(mock.url().starts_with("https://"), "{}", mock.url());
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("agentur-ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let config = dir.path().join("config.toml");
    let write_config = |trust: &str| {
        std::fs::write(
            &config,
            format!(
                r#"[[servers]]
name = "Büro"
url = "{}"
kind = "on_premises"
admin_user = "svc@buero.test"
admin_password = "svc-pw"
auth_scheme = "basic"
{trust}

[[rules]]
description = "Kontakte"
table = "contacts"
master = "conaktiv"
sync_folders = [{{ path = "/Contacts" }}]
to_exchange = {{ transfer_new = true, transfer_changed = true }}
to_conaktiv = {{ transfer_new = true, transfer_changed = true }}
"#,
                mock.url()
            ),
        )
        .unwrap();
    };
    let db = dir.path().join("crm.sqlite");
    database(&db).await;

    // Without the setting: the error names the host, the server record and the setting.
    write_config("");
    let (code, out, err) =
        tokio::task::block_in_place(|| run(&config, &db, &["sync", "--user", "anna"]));
    let all = format!("{out}\n{err}");
    assert_ne!(code, 0, "{all}");
    assert!(all.contains("127.0.0.1"), "no host: {all}");
    assert!(all.contains("EWS server \"Büro\""), "no server: {all}");
    assert!(all.contains("trusted_ca_file"), "no setting: {all}");
    assert!(all.contains("by CN=Agentur Root CA"), "no issuer: {all}");
    assert!(surnames(&mock, "anna@buero.test").is_empty());

    // With it, the sync goes through over verified TLS.
    write_config(&format!(
        "trusted_ca_file = {:?}",
        ca_file.display().to_string()
    ));
    let (code, out, err) =
        tokio::task::block_in_place(|| run(&config, &db, &["sync", "--user", "anna"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(surnames(&mock, "anna@buero.test"), ["Von-anna"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn test_account_server_names_the_endpoint_and_the_service_account_in_words() {
    let s = setup(ROUTES).await;
    let cfg = s.config.display().to_string();
    let out = tokio::task::block_in_place(|| {
        Command::new(BIN)
            .args(["--config", &cfg, "test-account", "--server", "Büro"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    });
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "reached the EWS endpoint of server \"Büro\" as the service account svc@buero.test"
        ),
        "{text}"
    );
    assert!(!text.contains("reached the mailbox"), "{text}");
    assert!(text.contains(" login "), "step as a word: {text}");
    assert!(!text.contains("Authenticate"), "Debug step name: {text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn test_account_fetches_the_oauth_token_for_an_xoauth2_account() {
    let s = setup(ROUTES).await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut text = std::fs::read_to_string(&s.config).unwrap();
    text.push_str(&format!(
        r#"
[[mail_accounts]]
short_code = "CLOUD"
user = "bert"
account_name = "Bert"
email = "bert@cloud.test"
usage = "receive"
server_kind = "imap_smtp"

[mail_accounts.imap]
host = "127.0.0.1"
port = {closed}
tls = "implicit"
user = "bert@cloud.test"
oauth = {{ tenant_id = "cloudtenant", client_id = "app-1", client_secret = "app-secret", token_url = "{}" }}
"#,
        s.cloud.token_url()
    ));
    std::fs::write(&s.config, text).unwrap();
    let cfg = s.config.display().to_string();
    let out = tokio::task::block_in_place(|| {
        Command::new(BIN)
            .args([
                "--config",
                &cfg,
                "--json",
                "test-account",
                "--account",
                "CLOUD",
            ])
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains("needs an access token"), "{all}");
    assert!(!all.contains("app-secret"), "{all}");
    // The token came from the OAuth app; the test then reached the IMAP step (a closed port).
    assert_eq!(out.status.code(), Some(1), "{all}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    let steps = v["steps"].as_array().unwrap();
    let failed = steps.iter().find(|s| s["status"] == "failed").unwrap();
    assert_eq!(failed["protocol"], "imap");
    assert_eq!(failed["failure"], "port closed", "{v}");

    // A wrong client secret: the OAuth app's answer, in words, before any IMAP step.
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace("\"app-secret\", token_url", "\"wrong-secret\", token_url");
    std::fs::write(&s.config, text).unwrap();
    let out = tokio::task::block_in_place(|| {
        Command::new(BIN)
            .args(["--config", &cfg, "test-account", "--account", "CLOUD"])
            .output()
            .unwrap()
    });
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("no access token from the OAuth app"), "{all}");
    assert!(!all.contains("wrong-secret"), "{all}");
}

#[tokio::test(flavor = "multi_thread")]
async fn autodiscover_finds_the_endpoint_once_per_mailbox() {
    // The "Büro" record's URL points nowhere; its route asks Autodiscover (on premises),
    // which names the on-premises mock's EWS endpoint.
    let buero = on_premises().await;
    let routes = format!(
        "[[mailbox_routes]]\nserver = \"Büro\"\nusers = [\"anna\"]\nautodiscover = true\nautodiscover_url = \"{}\"\n",
        buero.autodiscover_url()
    );
    let s = setup(&routes).await;
    let text = std::fs::read_to_string(&s.config)
        .unwrap()
        .replace(&s.buero.url(), "http://127.0.0.1:9/EWS/Exchange.asmx");
    std::fs::write(&s.config, text).unwrap();
    let (code, out, _) = run(&s.config, &s.db, &["check"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "anna <anna@buero.test>: server \"Büro\", EWS, NTLM (on-premises), endpoint by Autodiscover"
        ),
        "{out}"
    );
    // Two rules for anna's mailbox: Autodiscover is asked once for it.
    let mut text = std::fs::read_to_string(&s.config).unwrap();
    text.push_str(
        r#"
[[rules]]
description = "Aufgaben"
table = "tasks"
master = "conaktiv"
sync_folders = [{ path = "/Tasks" }]
to_exchange = { transfer_new = true, transfer_changed = true }
to_conaktiv = { transfer_new = true, transfer_changed = true }
"#,
    );
    std::fs::write(&s.config, text).unwrap();
    let (code, out, err) =
        tokio::task::block_in_place(|| run(&s.config, &s.db, &["sync", "--user", "anna"]));
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(surnames(&buero, "anna@buero.test"), ["Von-anna"]);
    let asked = buero
        .request_counts()
        .get("GetUserSettingsRequestMessage")
        .copied()
        .unwrap_or_default();
    assert_eq!(asked, 1, "{:?}", buero.request_counts());
}

#[tokio::test(flavor = "multi_thread")]
async fn test_account_on_a_graph_server_checks_token_permissions_and_mailbox_scope() {
    let s = setup(ROUTES).await;
    let cfg = s.config.display().to_string();
    let test = |cfg: &str| {
        tokio::task::block_in_place(|| {
            Command::new(BIN)
                .args(["--config", cfg, "test-account", "--server", "Online"])
                .env("NO_COLOR", "1")
                .output()
                .unwrap()
        })
    };
    let out = test(&cfg);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    for step in [
        "token",
        "Contacts",
        "Calendars",
        "Mail ",
        "Tasks",
        "Mail.Send",
    ] {
        assert!(text.contains(step), "no step {step}: {text}");
    }
    assert!(text.contains("Microsoft Graph server Online"), "{text}");
    assert!(text.contains("nothing sent"), "{text}");
    assert!(!text.contains("app-secret"), "{text}");
    // the probe sent nothing: no Sent Items copy, no outgoing mail
    assert!(
        s.cloud
            .mailbox("svc@cloud.test")
            .is_none_or(|m| m.items_in("sentitems").next().is_none()),
        "a probe mail was sent"
    );

    // An app without To Do and Mail.Send permissions: those steps fail, by name.
    // Its mailbox scope (RBAC for Applications) leaves out carla, whose mail account is on
    // this server: the scope step names her.
    let restricted = online_with(
        "[graph]\n[[graph.apps]]\nclient_id = \"app-1\"\nroles = [\"Contacts.ReadWrite\", \"Calendars.ReadWrite\", \"Mail.ReadWrite\"]\nmailboxes = [\"svc@cloud.test\", \"bert@cloud.test\"]\n",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let account = r#"
[[mail_accounts]]
short_code = "CA"
user = "carla"
account_name = "Carla"
email = "carla@cloud.test"
usage = "receive"
server_kind = "exchange"

[mail_accounts.exchange]
server = "Online"
use_admin_account = true
"#;
    std::fs::write(
        &config,
        format!("{}{account}", config_text(&s.buero, &restricted, ROUTES)),
    )
    .unwrap();
    let out = test(&config.display().to_string());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = |step: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(step))
            .unwrap_or_else(|| panic!("no {step} line: {text}"))
            .to_owned()
    };
    assert!(line("Contacts").contains(" ok "), "{text}");
    assert!(line("Tasks").contains("failed"), "{text}");
    assert!(line("Mail.Send").contains("failed"), "{text}");
    assert!(
        line("Tasks").contains("grant the application permission"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("mailbox scope")
            && l.contains("carla@cloud.test")
            && l.contains("outside the app's mailbox scope")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn test_account_on_an_online_server_kept_on_ews_says_whether_the_app_may_use_ews() {
    let s = setup(ROUTES).await;
    let refused = online_with("[graph]\news_allowed_app_ids = [\"another-app\"]\n").await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let text = config_text(&s.buero, &refused, ROUTES).replace(
        "kind = \"exchange_online\"\n",
        "kind = \"exchange_online\"\napi = \"ews\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let out = tokio::task::block_in_place(|| {
        Command::new(BIN)
            .args([
                "--config",
                &config.display().to_string(),
                "test-account",
                "--server",
                "Online",
            ])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    });
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("EWSAllowedAppIDs"),
        "why EWS was refused: {all}"
    );
    assert!(all.contains("1 April 2027"), "the shutdown warning: {all}");
    // check warns of the record, and names the API of its mailboxes
    let (code, out, err) = run(&config, &s.db, &["check"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("warning: server \"Online\" uses EWS with Exchange Online"),
        "{out}"
    );
    assert!(out.contains("server \"Online\", EWS, OAuth app"), "{out}");
}
