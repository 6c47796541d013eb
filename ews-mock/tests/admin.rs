//! Lifecycle, the admin/inspection endpoint and library API, TLS, state files and the binary.
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use ews_mock::{MockConfig, MockServer, OrgData, TlsConfig};

#[tokio::test]
async fn starts_on_a_free_loopback_port_and_shuts_down_cleanly() {
    let a = start().await;
    let b = start().await;
    assert_ne!(a.addr().port(), b.addr().port());
    assert!(a.addr().ip().is_loopback());
    assert_eq!(
        a.url(),
        format!("http://127.0.0.1:{}/EWS/Exchange.asmx", a.addr().port())
    );
    assert!(a.token_url().ends_with("/oauth2/v2.0/token"));
    let addr = a.addr();
    a.shutdown().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "port still open"
    );
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn inspection_over_http_and_library() {
    let mock = start().await;
    for _ in 0..2 {
        post_basic(
            &mock,
            "alice@contoso.test",
            "alice-pw",
            envelope("GetFolder", None),
        )
        .await;
    }
    post_basic(
        &mock,
        "alice@contoso.test",
        "alice-pw",
        envelope("FindFolder", Some("bob@contoso.test")),
    )
    .await;
    let admin = mock.admin_url();
    let counts: serde_json::Value = client()
        .get(format!("{admin}/counts"))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts, serde_json::json!({"FindFolder": 1, "GetFolder": 2}));
    assert_eq!(mock.request_counts()["GetFolder"], 2);
    let log: serde_json::Value = client()
        .get(format!("{admin}/log"))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log[2]["operation"], "FindFolder");
    assert_eq!(log[2]["mailbox"], "bob@contoso.test");
    assert_eq!(log[2]["impersonating"], "alice@contoso.test");
    assert_eq!(log[2]["seq"], 3);

    let mailboxes: Vec<String> = client()
        .get(format!("{admin}/mailboxes"))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mailboxes, vec!["alice@contoso.test", "bob@contoso.test"]);
    let bob: ews_mock::MailboxSnapshot = client()
        .get(format!("{admin}/mailboxes/Bob@Contoso.test"))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bob, mock.mailbox("bob@contoso.test").unwrap());
    let paths: Vec<&str> = bob.folders.iter().map(|f| f.path.as_str()).collect();
    for p in [
        "inbox",
        "calendar",
        "junkemail",
        "inbox/Projects/2024",
        "CRM Contacts",
    ] {
        assert!(paths.contains(&p), "{p} missing in {paths:?}");
    }
    let carol = bob.items_in("contacts").next().unwrap();
    assert!(
        carol.xml.contains("<t:Surname>Jones</t:Surname>"),
        "{}",
        carol.xml
    );
    let missing = client()
        .get(format!("{admin}/mailboxes/nobody@x"))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // seeding over HTTP
    let seeded = client()
        .post(format!("{admin}/seed"))
        .bearer_auth(mock.admin_token().unwrap())
        .body("[[users]]\naddress = \"carol@contoso.test\"\npassword = \"c\"\n[[mailboxes]]\nowner = \"carol@contoso.test\"\nitems = [{ folder = \"tasks\", subject = \"Call\" }]\n")
        .send()
        .await
        .unwrap();
    assert_eq!(seeded.status(), 204);
    let carol = mock.mailbox("carol@contoso.test").unwrap();
    assert_eq!(carol.items_in("tasks").next().unwrap().class, "IPM.Task");
    let bad = client()
        .post(format!("{admin}/seed"))
        .bearer_auth(mock.admin_token().unwrap())
        .body("[[users]]\naddress = 1")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let outbox: serde_json::Value = client()
        .get(format!("{admin}/outbox"))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(outbox, serde_json::json!([]));

    client()
        .delete(format!("{admin}/log"))
        .bearer_auth(mock.admin_token().unwrap())
        .send()
        .await
        .unwrap();
    assert!(mock.request_log().is_empty());
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn invalid_data_files_are_rejected_with_a_clear_error() {
    for (text, needle) in [
        (
            "[[users]]\naddress = \"x\"\npassword = \"p\"\n",
            "not an SMTP address",
        ),
        ("[[mailboxes]]\nowner = \"ghost@x\"\n", "has no user"),
        (
            "[[users]]\naddress = \"a@x\"\npassword = \"p\"\n[[mailboxes]]\nowner = \"a@x\"\nitems = [{ folder = \"nowhere\" }]\n",
            "does not exist",
        ),
        ("[[users]]\nadress = \"a@x\"\n", "unknown field"),
    ] {
        let err = match OrgData::from_toml(text) {
            Err(e) => e,
            Ok(data) => MockServer::start(MockConfig::new(data)).await.unwrap_err(),
        };
        assert!(err.to_string().contains(needle), "{text}: {err}");
    }
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let data = OrgData::from_toml(ORG).unwrap();
    let dbg = format!("{data:?}");
    assert!(
        !dbg.contains("alice-pw") && !dbg.contains("app-secret"),
        "{dbg}"
    );
    let mock = start().await;
    let store_dbg = mock.with_store(|s| format!("{:?}", s.users));
    assert!(!store_dbg.contains("alice-pw"));
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn serves_https_with_a_given_certificate() {
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap();
    let mut config = MockConfig::new(OrgData::from_toml(ORG).unwrap());
    config.tls = Some(TlsConfig {
        cert_pem: ck.cert.pem().into_bytes(),
        key_pem: ck.signing_key.serialize_pem().into_bytes(),
    });
    let mock = MockServer::start(config).await.unwrap();
    assert!(mock.url().starts_with("https://127.0.0.1:"));
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ck.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let resp = trusting
        .post(mock.url())
        .basic_auth("bob@contoso.test", Some("bob-pw"))
        .body(envelope("GetFolder", None))
        .send()
        .await
        .unwrap();
    assert_ne!(resp.status(), 401);
    // a client that does not trust the certificate fails
    assert!(
        client()
            .post(mock.url())
            .body(envelope("GetFolder", None))
            .send()
            .await
            .is_err()
    );
    mock.shutdown().await.unwrap();

    let bad = MockConfig {
        tls: Some(TlsConfig {
            cert_pem: b"nope".to_vec(),
            key_pem: b"nope".to_vec(),
        }),
        ..MockConfig::default()
    };
    assert!(matches!(
        MockServer::start(bad).await,
        Err(ews_mock::MockError::Tls(_))
    ));
}

#[tokio::test]
async fn state_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let mut config = MockConfig::new(OrgData::from_toml(ORG).unwrap());
    config.state_file = Some(state.clone());
    let first = MockServer::start(config.clone()).await.unwrap();
    first
        .seed(
            &OrgData::from_toml("[[users]]\naddress = \"dan@contoso.test\"\npassword = \"d\"\n")
                .unwrap(),
        )
        .unwrap();
    let bob_before = first.mailbox("bob@contoso.test").unwrap();
    first.shutdown().await.unwrap();
    assert!(state.exists());

    config.data = OrgData::default(); // the state file wins over the data
    let second = MockServer::start(config).await.unwrap();
    assert!(second.mailbox("dan@contoso.test").is_some());
    assert_eq!(
        second.mailbox("bob@contoso.test").unwrap(),
        bob_before,
        "ids and change keys are kept"
    );
    let ok = post_basic(
        &second,
        "dan@contoso.test",
        "d",
        envelope("GetFolder", None),
    )
    .await;
    assert_ne!(ok.status(), 401);
    second.shutdown().await.unwrap();
}

#[test]
fn the_binary_prints_its_urls_and_saves_state_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("org.toml");
    std::fs::write(&data, ORG).unwrap();
    let state = dir.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ews-mock"))
        .args(["--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--state")
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let ews = lines.next().unwrap().unwrap();
    let token = lines.next().unwrap().unwrap();
    assert!(
        ews.starts_with("EWS URL: http://127.0.0.1:") && ews.ends_with("/EWS/Exchange.asmx"),
        "{ews}"
    );
    assert!(
        token.starts_with("Token endpoint: http://127.0.0.1:"),
        "{token}"
    );
    let url = ews.trim_start_matches("EWS URL: ").to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        client()
            .post(&url)
            .basic_auth("bob@contoso.test", Some("wrong"))
            .body(envelope("GetFolder", None))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 401);
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    assert!(saved["mailboxes"]["bob@contoso.test"].is_object());
}

#[tokio::test]
async fn the_example_data_file_starts_a_working_server() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/org.example.toml")).unwrap();
    let mock = start_with(&text).await;
    let anna = mock.mailbox("anna@contoso.test").unwrap();
    assert_eq!(anna.items_in("CRM Contacts").count(), 1);
    assert!(
        anna.items_in("CRM Contacts")
            .next()
            .unwrap()
            .xml
            .contains("dieter@example.org")
    );
    assert_eq!(
        anna.items_in("calendar").next().unwrap().class,
        "IPM.Appointment"
    );
    let resp = post_basic(
        &mock,
        "CONTOSO\\anna",
        "anna-pw",
        envelope("GetFolder", None),
    )
    .await;
    assert_eq!(resp.status(), 200);
    mock.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_admin_endpoint_requires_its_token_unless_open_on_loopback() {
    let mock = start().await;
    let token = mock.admin_token().unwrap().to_string();
    assert!(token.len() >= 32, "a random token of {} chars", token.len());
    let counts = format!("{}/counts", mock.admin_url());
    let none = client().get(&counts).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let wrong = client()
        .get(&counts)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    // an unauthenticated seed changes nothing
    let seed = client()
        .post(format!("{}/seed", mock.admin_url()))
        .body("[[users]]\naddress = \"eve@contoso.test\"\npassword = \"e\"\nroles = [\"ApplicationImpersonation\"]\n")
        .send()
        .await
        .unwrap();
    assert_eq!(seed.status(), 401);
    assert!(mock.mailbox("eve@contoso.test").is_none());
    let ok = client()
        .get(&counts)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    mock.shutdown().await.unwrap();

    // a configured token; it never shows in Debug
    let mut config = MockConfig::new(OrgData::from_toml(ORG).unwrap());
    config.admin_token = Some("s3cret-admin-token".into());
    assert!(!format!("{config:?}").contains("s3cret"));
    let mock = MockServer::start(config).await.unwrap();
    assert_eq!(mock.admin_token(), Some("s3cret-admin-token"));
    let ok = client()
        .get(format!("{}/counts", mock.admin_url()))
        .bearer_auth("s3cret-admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    mock.shutdown().await.unwrap();

    // open only on loopback, by explicit choice
    let mut open = MockConfig::new(OrgData::from_toml(ORG).unwrap());
    open.admin_open_on_loopback = true;
    let mock = MockServer::start(open.clone()).await.unwrap();
    assert_eq!(mock.admin_token(), None);
    let ok = client()
        .get(format!("{}/counts", mock.admin_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    mock.shutdown().await.unwrap();
    open.listen = "0.0.0.0:0".parse().unwrap();
    assert!(matches!(
        MockServer::start(open).await,
        Err(ews_mock::MockError::AdminOpenNotLoopback(_))
    ));
}

#[tokio::test]
async fn seeding_is_all_or_nothing() {
    let mock = start().await;
    let before = mock.mailbox("bob@contoso.test").unwrap();
    let bad = "[[users]]\naddress = \"frank@contoso.test\"\npassword = \"f\"\n\
               [[mailboxes]]\nowner = \"bob@contoso.test\"\n\
               items = [{ folder = \"contacts\", subject = \"Kept?\" }, { folder = \"nowhere\", subject = \"Bad\" }]\n";
    let resp = client()
        .post(format!("{}/seed", mock.admin_url()))
        .bearer_auth(mock.admin_token().unwrap())
        .body(bad)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(mock.mailbox("frank@contoso.test").is_none(), "no user");
    assert_eq!(mock.mailbox("bob@contoso.test").unwrap(), before, "no item");
    assert!(mock.seed(&OrgData::from_toml(bad).unwrap()).is_err());
    assert!(mock.mailbox("frank@contoso.test").is_none());
    assert_eq!(mock.mailbox("bob@contoso.test").unwrap(), before);
    mock.shutdown().await.unwrap();
}

#[test]
fn the_state_file_survives_kill_9_and_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("org.toml");
    std::fs::write(&data, ORG).unwrap();
    let state = dir.path().join("state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ews-mock"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--state-interval-ms",
            "200",
            "--data",
        ])
        .arg(&data)
        .arg("--state")
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(5)
        .map(Result::unwrap)
        .collect();
    let url = lines[0].trim_start_matches("EWS URL: ").to_string();
    let admin = lines[3].trim_start_matches("Admin: ").to_string();
    let token = lines[4].trim_start_matches("Admin token: ").to_string();
    assert_eq!(token.len(), 48, "{lines:?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let seeded = client()
            .post(format!("{admin}/seed"))
            .bearer_auth(&token)
            .body("[[users]]\naddress = \"dan@contoso.test\"\npassword = \"d\"\n")
            .send()
            .await
            .unwrap();
        assert_eq!(seeded.status(), 204);
        // a change through EWS
        let mut c = ews_client::types::Contact::default();
        c.common.subject = Some("Saved before the crash".into());
        let body = ews_client::envelope::write_request(
            &ews_client::envelope::RequestHeaders::default(),
            &ews_client::ops::CreateItem::save(vec![ews_client::types::Item::Contact(c)], None),
        );
        let created = client()
            .post(&url)
            .basic_auth("bob@contoso.test", Some("bob-pw"))
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 200);
    });
    // wait until the saver wrote the change (every 200 ms; longer on a loaded machine), then
    // a crash without any chance to save
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&state).is_ok_and(|t| t.contains("Saved before the crash"))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = child.wait();
    let text = std::fs::read_to_string(&state).unwrap();
    let saved: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(saved["users"]["dan@contoso.test"].is_object());
    assert!(text.contains("Saved before the crash"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
    }
    // no temporary file is left beside it
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}
