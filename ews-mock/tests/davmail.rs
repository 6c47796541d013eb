//! A fourth third-party client, of another kind than the EWS libraries: DavMail, a Java
//! gateway that exposes an Exchange mailbox over IMAP and SMTP through EWS. It runs headless
//! against an in-process mock and `tools/davmail_smoke.py` drives it with Python's imaplib
//! and smtplib: login, folder list, reading a seeded message, APPEND, flag changes, delete
//! and expunge, sending to another mailbox through SMTP and reading it there.
//!
//! Skips with a message when the `davmail` command is missing (Debian package `davmail`),
//! unless `EWS_CLIENTS_REQUIRED=1` (then it fails).
#![allow(clippy::unwrap_used)] // tests: a panic is a failed test

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ews_mock::{MockConfig, MockServer, OrgData};

const ORG: &str = r#"
[settings]
domain = "CONTOSO"

[[users]]
address = "alice@contoso.test"
display_name = "Alice Admin"
password = "alice-pw"

[[users]]
address = "bob@contoso.test"
display_name = "Bob"
password = "bob-pw"

[[mailboxes]]
owner = "bob@contoso.test"
items = [{ folder = "inbox", subject = "Welcome Bob", fields = { Body = "Hello from the seed" } }]
"#;

fn davmail_available() -> bool {
    let found = Command::new("sh")
        .args(["-c", "command -v davmail"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let required = std::env::var("EWS_CLIENTS_REQUIRED").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "EWS_CLIENTS_REQUIRED=1 but the davmail command is missing; \
             install it with `apt-get install davmail`"
        );
        eprintln!(
            "SKIPPED: davmail is not installed (`apt-get install davmail`); \
             set EWS_CLIENTS_REQUIRED=1 to make this a failure"
        );
    }
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the gateway when the test ends, however it ends.
struct Gateway(std::process::Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn davmail_serves_a_mock_mailbox_over_imap_and_smtp() {
    if !davmail_available() {
        return;
    }
    let mock = MockServer::start(MockConfig::new(OrgData::from_toml(ORG).unwrap()))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (imap, smtp) = (free_port(), free_port());
    let properties = dir.path().join("davmail.properties");
    std::fs::write(
        &properties,
        format!(
            "davmail.server=true\n\
             davmail.mode=EWS\n\
             davmail.url={url}\n\
             davmail.bindAddress=127.0.0.1\n\
             davmail.allowRemote=false\n\
             davmail.imapPort={imap}\n\
             davmail.smtpPort={smtp}\n\
             davmail.caldavPort=\n\
             davmail.ldapPort=\n\
             davmail.popPort=\n\
             davmail.disableUpdateCheck=true\n\
             davmail.ssl.nosecureimap=true\n\
             davmail.ssl.nosecuresmtp=true\n\
             davmail.logFilePath={log}\n\
             log4j.rootLogger=WARN\n\
             log4j.logger.davmail=INFO\n",
            url = mock.url(),
            log = dir.path().join("davmail.log").display(),
        ),
    )
    .unwrap();
    let out_path = dir.path().join("davmail.out");
    let child = Command::new("davmail")
        .arg(&properties)
        .current_dir(dir.path())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _gateway = Gateway(child);
    // wait for the gateway's IMAP port
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", imap)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "davmail did not listen on {imap}: {}",
            std::fs::read_to_string(&out_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/davmail_smoke.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(&script)
            .arg(imap.to_string())
            .arg(smtp.to_string())
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("davmail smoke test passed"),
        "davmail smoke test failed ({})\nstdout:\n{stdout}\nstderr:\n{}\ndavmail:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&out_path).unwrap_or_default()
    );
    // the gateway really worked through EWS
    let counts = mock.request_counts();
    for op in [
        "FindFolder",
        "FindItem",
        "CreateItem",
        "UpdateItem",
        "DeleteItem",
    ] {
        assert!(counts.get(op).copied().unwrap_or(0) > 0, "{op}: {counts:?}");
    }
    let alice = mock.mailbox("alice@contoso.test").unwrap();
    assert!(
        alice
            .items_in("inbox")
            .any(|i| i.subject.as_deref() == Some("Sent through DavMail"))
    );
    mock.shutdown().await.unwrap();
}
