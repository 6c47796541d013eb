//! Helpers for tests against the real mail servers started by
//! `scripts/mail-servers/setup-mail-servers.sh` (env file sourced by `scripts/test.sh`).
#![allow(dead_code, clippy::unwrap_used)] // tests: a panic is a failed test

use std::time::Duration;

use futures::TryStreamExt;
use mail_transport::imap::{self, ImapSession};
use mail_transport::{
    AuthMechanism, Credentials, ImapSettings, ServerSettings, SmtpSettings, TlsMode,
};

/// Ports and CA of the running test servers.
#[derive(Debug, Clone)]
pub struct Servers {
    pub host: String,
    /// Loopback address where Dovecot advertises no IDLE, UIDPLUS or MOVE.
    pub basic_host: Option<String>,
    pub imap: u16,
    pub imaps: u16,
    pub smtp: u16,
    pub submission: u16,
    pub smtps: u16,
    pub ca_pem: Vec<u8>,
}

/// The servers, or `None` (printing why the test is skipped). With `MAIL_SERVERS_REQUIRED=1`
/// a missing server fails the test.
pub fn servers() -> Option<Servers> {
    let Ok(smtp) = std::env::var("MAIL_TEST_SMTP_PORT") else {
        if std::env::var("MAIL_SERVERS_REQUIRED").as_deref() == Ok("1") {
            panic!(
                "MAIL_SERVERS_REQUIRED=1 but MAIL_TEST_SMTP_PORT is not set: the mail servers are not running"
            );
        }
        eprintln!("skipped: mail servers not running (run scripts/test.sh)");
        return None;
    };
    let port = |name: &str| -> u16 { std::env::var(name).unwrap().parse().unwrap() };
    let ca = std::env::var("MAIL_TEST_CA").unwrap();
    Some(Servers {
        host: std::env::var("MAIL_TEST_HOST").unwrap_or_else(|_| "127.0.0.1".into()),
        basic_host: std::env::var("MAIL_TEST_BASIC_HOST").ok(),
        imap: port("MAIL_TEST_IMAP_PORT"),
        imaps: port("MAIL_TEST_IMAPS_PORT"),
        smtp: smtp.parse().unwrap(),
        submission: port("MAIL_TEST_SUBMISSION_PORT"),
        smtps: port("MAIL_TEST_SMTPS_PORT"),
        ca_pem: std::fs::read(ca).unwrap(),
    })
}

pub fn addr(user: &str) -> String {
    format!("{user}@example.test")
}

pub fn secret(user: &str, auth: AuthMechanism) -> String {
    match auth {
        AuthMechanism::XOAuth2 => format!("{user}-oauth-token"),
        _ => format!("{user}-password"),
    }
}

impl Servers {
    pub fn server(
        &self,
        port: u16,
        tls: TlsMode,
        auth: AuthMechanism,
        user: &str,
    ) -> ServerSettings {
        ServerSettings::new(
            &self.host,
            port,
            tls,
            auth,
            Credentials::new(addr(user), secret(user, auth)),
        )
        .unwrap()
        .with_tls_server_name("localhost")
        .with_root_ca_pem(self.ca_pem.clone())
        .unwrap()
        .with_timeouts(Duration::from_secs(10), Duration::from_secs(20))
    }

    /// IMAPS login for `user` on the address without IDLE, UIDPLUS and MOVE.
    pub fn basic_imap(&self, user: &str) -> Option<ImapSettings> {
        let host = self.basic_host.as_ref()?;
        let server = ServerSettings::new(
            host,
            self.imaps,
            TlsMode::Implicit,
            AuthMechanism::Login,
            Credentials::new(addr(user), secret(user, AuthMechanism::Login)),
        )
        .unwrap()
        .with_tls_server_name("localhost")
        .with_root_ca_pem(self.ca_pem.clone())
        .unwrap()
        .with_timeouts(Duration::from_secs(10), Duration::from_secs(20));
        Some(ImapSettings::new(server))
    }

    /// IMAPS login for `user`.
    pub fn imap(&self, user: &str) -> ImapSettings {
        ImapSettings::new(self.server(self.imaps, TlsMode::Implicit, AuthMechanism::Login, user))
    }

    /// SMTP submission (STARTTLS, PLAIN) for `user`.
    pub fn smtp(&self, user: &str) -> SmtpSettings {
        SmtpSettings::new(self.server(
            self.submission,
            TlsMode::StartTls,
            AuthMechanism::Plain,
            user,
        ))
    }

    pub async fn session(&self, user: &str) -> ImapSession {
        imap::connect(&self.imap(user).server).await.unwrap()
    }
}

pub fn unique(tag: &str) -> String {
    format!("{tag}-{}", uuid::Uuid::new_v4().simple())
}

/// Waits (up to 20 s) until a message with this Message-ID is in `folder` of `user`; returns
/// its bytes.
pub async fn wait_for(servers: &Servers, user: &str, folder: &str, message_id: &str) -> Vec<u8> {
    let mut session = servers.session(user).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        session.select(folder).await.unwrap();
        let uids = session
            .uid_search(format!("HEADER Message-ID \"{message_id}\""))
            .await
            .unwrap();
        if let Some(uid) = uids.into_iter().max() {
            let fetches: Vec<_> = session
                .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                .await
                .unwrap()
                .try_collect()
                .await
                .unwrap();
            let body = fetches[0].body().unwrap().to_vec();
            session.logout().await.unwrap();
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "message {message_id} did not arrive in {user}'s {folder}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Creates a fresh folder for one test.
pub async fn fresh_folder(servers: &Servers, user: &str, tag: &str) -> String {
    let name = unique(tag);
    let mut session = servers.session(user).await;
    session.create(&name).await.unwrap();
    session.logout().await.unwrap();
    name
}

/// A simple RFC 5322 message.
pub fn raw_message(message_id: &str, subject: &str) -> Vec<u8> {
    format!(
        "From: Sender <sender@example.test>\r\nTo: alice@example.test\r\nSubject: {subject}\r\n\
         Message-ID: <{message_id}>\r\nDate: Sat, 28 Nov 2026 08:00:00 +0000\r\n\r\nBody of {subject}\r\n"
    )
    .into_bytes()
}

/// Appends messages to a folder.
pub async fn append(servers: &Servers, user: &str, folder: &str, messages: &[Vec<u8>]) {
    let mut session = servers.session(user).await;
    for m in messages {
        session.append(folder, None, None, m).await.unwrap();
    }
    session.logout().await.unwrap();
}

/// UIDs in a folder, and which of them are flagged \Seen.
pub async fn folder_state(servers: &Servers, user: &str, folder: &str) -> (Vec<u32>, Vec<u32>) {
    let mut session = servers.session(user).await;
    session.select(folder).await.unwrap();
    let mut all: Vec<u32> = session
        .uid_search("ALL")
        .await
        .unwrap()
        .into_iter()
        .collect();
    let mut seen: Vec<u32> = session
        .uid_search("SEEN")
        .await
        .unwrap()
        .into_iter()
        .collect();
    all.sort();
    seen.sort();
    session.logout().await.unwrap();
    (all, seen)
}

/// A host store in memory: files each Message-ID once.
#[derive(Default)]
pub struct MemorySink {
    pub mails: std::sync::Mutex<Vec<mail_transport::ReceivedMail>>,
}

impl MemorySink {
    pub fn subjects(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .mails
            .lock()
            .unwrap()
            .iter()
            .map(|m| m.subject.clone().unwrap_or_default())
            .collect();
        v.sort();
        v
    }
    pub fn len(&self) -> usize {
        self.mails.lock().unwrap().len()
    }
}

#[async_trait::async_trait]
impl mail_transport::MailSink for MemorySink {
    async fn store(
        &self,
        mail: mail_transport::ReceivedMail,
    ) -> Result<mail_transport::StoreOutcome, mail_transport::SinkError> {
        let mut mails = self.mails.lock().unwrap();
        if mails.iter().any(|m| m.message_id == mail.message_id) {
            return Ok(mail_transport::StoreOutcome::Duplicate);
        }
        mails.push(mail);
        Ok(mail_transport::StoreOutcome::Stored)
    }
}
