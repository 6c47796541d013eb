//! "Test account": a structured, step-by-step report of what works for an account.

use lettre::transport::smtp::authentication::Credentials as LCredentials;
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::extension::ClientId;

use crate::error::MailError;
use crate::imap::{self, timed};
use crate::mime::{Mailbox, OutgoingMail};
use crate::settings::{
    AccountSettings, AfterReceive, ImapSettings, ServerSettings, SmtpSettings, TlsMode,
};
use crate::smtp::{self, SmtpSender, smtp_err};
use crate::transport::{MailSender, SentItems};

/// Which server a step talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestProtocol {
    /// Incoming server.
    Imap,
    /// Outgoing server.
    Smtp,
    /// Exchange (EWS) for both.
    Exchange,
}

/// What a step checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TestStepKind {
    /// DNS resolution of the host.
    Resolve,
    /// TCP connection and server greeting.
    Connect,
    /// TLS (implicit or STARTTLS) with certificate verification.
    Tls,
    /// Login.
    Authenticate,
    /// Server capabilities.
    Capabilities,
    /// The folders the account needs (inbox, sent, move target).
    Folders,
    /// A test message (only when asked).
    SendTest,
}

/// Why a step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The host name does not resolve.
    HostNotFound,
    /// Connection refused: the port is closed.
    PortClosed,
    /// No answer in time.
    Timeout,
    /// The certificate was not accepted.
    Certificate,
    /// Another TLS failure.
    Tls,
    /// STARTTLS required but not offered.
    StartTlsMissing,
    /// Wrong user name, password or token.
    WrongCredentials,
    /// The configured login mechanism is not offered.
    MechanismUnsupported,
    /// A needed folder is missing.
    FolderMissing,
    /// The server rejected the test message.
    Rejected,
    /// Anything else (network, protocol, configuration).
    Other,
}

impl FailureKind {
    fn of(e: &MailError) -> Self {
        match e {
            MailError::Resolve { .. } => FailureKind::HostNotFound,
            MailError::ConnectionRefused { .. } => FailureKind::PortClosed,
            MailError::Timeout(_) => FailureKind::Timeout,
            MailError::Certificate(_) => FailureKind::Certificate,
            MailError::Tls(_) => FailureKind::Tls,
            MailError::StartTlsMissing(_) => FailureKind::StartTlsMissing,
            MailError::AuthenticationFailed(_) => FailureKind::WrongCredentials,
            MailError::AuthMechanismUnsupported(_) => FailureKind::MechanismUnsupported,
            MailError::FolderNotFound(_) => FailureKind::FolderMissing,
            MailError::Rejected { .. } => FailureKind::Rejected,
            _ => FailureKind::Other,
        }
    }
}

/// The result of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepStatus {
    /// Worked; the detail says what was found.
    Ok(String),
    /// Failed with a kind and a message for the user.
    Failed {
        /// Kind of failure.
        kind: FailureKind,
        /// Clear message (never contains the password).
        message: String,
    },
    /// Not run (not configured, or an earlier step failed).
    Skipped(String),
}

/// One step of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestStep {
    /// Server.
    pub protocol: TestProtocol,
    /// What was checked.
    pub kind: TestStepKind,
    /// Outcome.
    pub status: StepStatus,
}

/// The report of [`test_account`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountTestReport {
    /// Steps in order.
    pub steps: Vec<TestStep>,
}

impl AccountTestReport {
    /// Whether no step failed.
    pub fn is_ok(&self) -> bool {
        !self
            .steps
            .iter()
            .any(|s| matches!(s.status, StepStatus::Failed { .. }))
    }
    /// The first failed step of a protocol.
    pub fn first_failure(&self, protocol: TestProtocol) -> Option<&TestStep> {
        self.steps
            .iter()
            .find(|s| s.protocol == protocol && matches!(s.status, StepStatus::Failed { .. }))
    }
    /// The status of a step.
    pub fn step(&self, protocol: TestProtocol, kind: TestStepKind) -> Option<&StepStatus> {
        self.steps
            .iter()
            .find(|s| s.protocol == protocol && s.kind == kind)
            .map(|s| &s.status)
    }
}

/// Options of [`test_account`].
#[derive(Debug, Clone, Default)]
pub struct AccountTestOptions {
    /// Send a test message to this address (no message is sent when `None`).
    pub send_test_to: Option<String>,
}

struct Steps {
    protocol: TestProtocol,
    steps: Vec<TestStep>,
}

impl Steps {
    fn ok(&mut self, kind: TestStepKind, detail: impl Into<String>) {
        self.steps.push(TestStep {
            protocol: self.protocol,
            kind,
            status: StepStatus::Ok(detail.into()),
        });
    }
    fn fail(&mut self, kind: TestStepKind, e: &MailError) {
        self.steps.push(TestStep {
            protocol: self.protocol,
            kind,
            status: StepStatus::Failed {
                kind: FailureKind::of(e),
                message: e.to_string(),
            },
        });
    }
    fn skip_rest(&mut self, kinds: &[TestStepKind], why: &str) {
        for k in kinds {
            self.steps.push(TestStep {
                protocol: self.protocol,
                kind: *k,
                status: StepStatus::Skipped(why.to_string()),
            });
        }
    }
}

fn tls_step_of(e: &MailError) -> bool {
    matches!(
        e,
        MailError::Certificate(_) | MailError::Tls(_) | MailError::StartTlsMissing(_)
    )
}

fn tls_detail(mode: TlsMode) -> &'static str {
    match mode {
        TlsMode::Implicit => "implicit TLS, certificate verified",
        TlsMode::StartTls => "STARTTLS, certificate verified",
        TlsMode::None => "no TLS configured",
    }
}

/// Tests an account: for IMAP and SMTP each resolve, connect, TLS, authenticate,
/// capabilities; IMAP folders; a send test only when asked. Never fails; every problem is a
/// failed step with a clear message.
pub async fn test_account(
    account: &AccountSettings,
    options: &AccountTestOptions,
) -> AccountTestReport {
    let mut report = AccountTestReport::default();
    if let Some(imap) = &account.imap {
        report
            .steps
            .extend(test_imap(imap, account.sent_items()).await);
    }
    if let Some(smtp) = &account.smtp {
        report.steps.extend(test_smtp(smtp, account, options).await);
    }
    report
}

use TestStepKind as K;

async fn resolve_connect(
    st: &mut Steps,
    s: &ServerSettings,
    rest: &[TestStepKind],
) -> Option<tokio::net::TcpStream> {
    let addrs = match imap::resolve(s).await {
        Ok(a) => {
            let list: Vec<String> = a.iter().map(ToString::to_string).collect();
            st.ok(
                K::Resolve,
                format!("{} resolves to {}", s.host(), list.join(", ")),
            );
            a
        }
        Err(e) => {
            st.fail(K::Resolve, &e);
            st.skip_rest(
                &[
                    &[K::Connect, K::Tls, K::Authenticate, K::Capabilities],
                    rest,
                ]
                .concat(),
                "host not found",
            );
            return None;
        }
    };
    match imap::tcp_connect(s, &addrs).await {
        Ok(tcp) => Some(tcp),
        Err(e) => {
            st.fail(K::Connect, &e);
            st.skip_rest(
                &[&[K::Tls, K::Authenticate, K::Capabilities], rest].concat(),
                "no connection",
            );
            None
        }
    }
}

/// Tests the IMAP side.
/// With [`SentItems::Keep`] a missing sent folder fails the folder step.
pub async fn test_imap(imap_settings: &ImapSettings, sent_items: SentItems) -> Vec<TestStep> {
    let s = &imap_settings.server;
    let mut st = Steps {
        protocol: TestProtocol::Imap,
        steps: Vec::new(),
    };
    let Some(tcp) = resolve_connect(&mut st, s, &[K::Folders]).await else {
        return st.steps;
    };
    let greeted = match imap::establish(s, tcp).await {
        Ok(g) => {
            st.ok(K::Connect, format!("connected to {}", s.server()));
            if g.encrypted {
                st.ok(K::Tls, tls_detail(s.tls()));
            } else {
                st.steps.push(TestStep {
                    protocol: TestProtocol::Imap,
                    kind: K::Tls,
                    status: StepStatus::Skipped(tls_detail(s.tls()).into()),
                });
            }
            g
        }
        Err(e) => {
            if tls_step_of(&e) {
                st.ok(K::Connect, format!("connected to {}", s.server()));
                st.fail(K::Tls, &e);
            } else {
                st.fail(K::Connect, &e);
            }
            st.skip_rest(
                &[K::Authenticate, K::Capabilities, K::Folders],
                "no secure connection",
            );
            return st.steps;
        }
    };
    let mut session = match imap::login(greeted, s).await {
        Ok(session) => {
            st.ok(
                K::Authenticate,
                format!("logged in as {} ({})", s.credentials().username, s.auth()),
            );
            session
        }
        Err(e) => {
            st.fail(K::Authenticate, &e);
            st.skip_rest(&[K::Capabilities, K::Folders], "not logged in");
            return st.steps;
        }
    };
    match timed(s.command_timeout(), "asking for capabilities", async {
        session
            .capabilities()
            .await
            .map_err(|e| imap::imap_err(e, s))
    })
    .await
    {
        Ok(caps) => {
            let mut names: Vec<String> = caps.iter().map(capability_name).collect();
            names.sort();
            let idle = if caps.has_str("IDLE") {
                "IDLE available"
            } else {
                "no IDLE (polling)"
            };
            st.ok(K::Capabilities, format!("{idle}; {}", names.join(" ")));
        }
        Err(e) => st.fail(K::Capabilities, &e),
    }
    match imap::list_folders(&mut session, s).await {
        Ok(folders) => {
            let has = |name: &str| folders.iter().any(|f| f.name.eq_ignore_ascii_case(name));
            let mut missing = Vec::new();
            if !has(&imap_settings.inbox) {
                missing.push(imap_settings.inbox.clone());
            }
            if let AfterReceive::MoveTo(target) = &imap_settings.after_receive
                && !has(target)
            {
                missing.push(target.clone());
            }
            let sent = imap::find_sent_folder(&folders, &imap_settings.sent_folder_name);
            if sent_items.keeps_copy() && sent.is_none() {
                missing.push(format!("sent folder ({})", imap_settings.sent_folder_name));
            }
            if missing.is_empty() {
                st.ok(
                    K::Folders,
                    format!(
                        "{} found; sent folder: {}",
                        imap_settings.inbox,
                        sent.unwrap_or_else(|| "none".into())
                    ),
                );
            } else {
                st.fail(K::Folders, &MailError::FolderNotFound(missing.join(", ")));
            }
        }
        Err(e) => st.fail(K::Folders, &e),
    }
    let _ = session.logout().await;
    st.steps
}

/// Tests the SMTP side; sends a test message only when `options.send_test_to` is set.
pub async fn test_smtp(
    smtp_settings: &SmtpSettings,
    account: &AccountSettings,
    options: &AccountTestOptions,
) -> Vec<TestStep> {
    let s = &smtp_settings.server;
    let mut st = Steps {
        protocol: TestProtocol::Smtp,
        steps: Vec::new(),
    };
    let Some(tcp) = resolve_connect(&mut st, s, &[K::SendTest]).await else {
        return st.steps;
    };
    // lettre opens its own connection; the probe above told whether the port is open.
    drop(tcp);
    let hello = smtp::hello(smtp_settings);
    let Some(conn) = smtp_connect(&mut st, s, &hello).await else {
        return st.steps;
    };
    let Some(mut conn) = smtp_secure(&mut st, s, conn, &hello).await else {
        return st.steps;
    };
    if !smtp_authenticate(&mut st, s, &mut conn).await {
        return st.steps;
    }
    st.ok(K::Capabilities, conn.server_info().to_string());
    let _ = conn.quit().await;
    smtp_send_test(&mut st, smtp_settings, account, options).await;
    st.steps
}

/// The connect step (and, with implicit TLS, the handshake): `None` once the failure and the
/// skipped steps are recorded.
async fn smtp_connect(
    st: &mut Steps,
    s: &ServerSettings,
    hello: &ClientId,
) -> Option<AsyncSmtpConnection> {
    let implicit = match s.tls() {
        TlsMode::Implicit => match smtp::tls_parameters(s) {
            Ok(p) => Some(p),
            Err(e) => {
                st.fail(K::Tls, &e);
                return None;
            }
        },
        _ => None,
    };
    let connect = timed(
        s.connect_timeout(),
        &format!("connecting to {}", s.server()),
        async {
            AsyncSmtpConnection::connect_tokio1(
                (s.host(), s.port()),
                Some(s.command_timeout()),
                hello,
                implicit,
                None,
            )
            .await
            .map_err(|e| smtp_err(e, s))
        },
    )
    .await;
    match connect {
        Ok(c) => {
            st.ok(K::Connect, format!("connected to {}", s.server()));
            Some(c)
        }
        Err(e) => {
            let e = smtp::name_certificate(e, s).await;
            if tls_step_of(&e) {
                st.ok(K::Connect, format!("connected to {}", s.server()));
                st.fail(K::Tls, &e);
            } else {
                st.fail(K::Connect, &e);
            }
            st.skip_rest(
                &[K::Authenticate, K::Capabilities, K::SendTest],
                "no secure connection",
            );
            None
        }
    }
}

/// The TLS step: STARTTLS when configured (implicit TLS happened at connect, none is skipped).
/// `None` once the failure and the skipped steps are recorded.
async fn smtp_secure(
    st: &mut Steps,
    s: &ServerSettings,
    mut conn: AsyncSmtpConnection,
    hello: &ClientId,
) -> Option<AsyncSmtpConnection> {
    match starttls_if_configured(s, &mut conn, hello).await {
        Ok(()) if s.tls() == TlsMode::None => {
            st.skip_rest(&[K::Tls], tls_detail(s.tls()));
            Some(conn)
        }
        Ok(()) => {
            st.ok(K::Tls, tls_detail(s.tls()));
            Some(conn)
        }
        Err(e) => {
            let e = smtp::name_certificate(e, s).await;
            st.fail(K::Tls, &e);
            st.skip_rest(
                &[K::Authenticate, K::Capabilities, K::SendTest],
                "no secure connection",
            );
            // No QUIT: after a failed TLS upgrade lettre has no stream left (QUIT would hit its debug assertion).
            drop(conn);
            None
        }
    }
}

/// Upgrades the connection with STARTTLS when the settings ask for it.
async fn starttls_if_configured(
    s: &ServerSettings,
    conn: &mut AsyncSmtpConnection,
    hello: &ClientId,
) -> Result<(), MailError> {
    match s.tls() {
        TlsMode::Implicit | TlsMode::None => Ok(()),
        TlsMode::StartTls => {
            if !conn.can_starttls() {
                return Err(MailError::StartTlsMissing(s.server()));
            }
            let p = smtp::tls_parameters(s)?;
            timed(s.connect_timeout(), "STARTTLS", async {
                conn.starttls(p, hello).await.map_err(|e| smtp_err(e, s))
            })
            .await
        }
    }
}

/// The authenticate step (skipped without a configured mechanism): `false` once a failure,
/// the capabilities and the skipped send test are recorded and the connection aborted.
async fn smtp_authenticate(
    st: &mut Steps,
    s: &ServerSettings,
    conn: &mut AsyncSmtpConnection,
) -> bool {
    let creds = s.credentials();
    let lcreds = LCredentials::new(creds.username.clone(), creds.secret.expose().to_string());
    let auth = match smtp::mechanism(s.auth()) {
        None => Ok(None),
        Some(mech) => {
            timed(s.command_timeout(), "logging in", async {
                conn.auth(&[mech], &lcreds)
                    .await
                    .map(Some)
                    .map_err(|e| smtp_err(e, s))
            })
            .await
        }
    };
    match auth {
        Ok(Some(_)) => st.ok(
            K::Authenticate,
            format!("logged in as {} ({})", creds.username, s.auth()),
        ),
        Ok(None) => st.skip_rest(&[K::Authenticate], "no authentication configured"),
        Err(e) => {
            st.fail(K::Authenticate, &e);
            st.ok(K::Capabilities, conn.server_info().to_string());
            st.skip_rest(&[K::SendTest], "not logged in");
            conn.abort().await;
            return false;
        }
    }
    true
}

/// The send-test step: sends a short message to `options.send_test_to`, if set.
async fn smtp_send_test(
    st: &mut Steps,
    smtp_settings: &SmtpSettings,
    account: &AccountSettings,
    options: &AccountTestOptions,
) {
    let Some(to) = &options.send_test_to else {
        st.skip_rest(&[K::SendTest], "not requested");
        return;
    };
    let result = async {
        let sender = SmtpSender::new(smtp_settings.clone(), None)?;
        let mail = OutgoingMail {
            from: Mailbox::new(account.address.clone()),
            to: vec![Mailbox::new(to.clone())],
            subject: "ConAktiv mail account test".into(),
            text: Some("This message tests the mail account settings.".into()),
            ..OutgoingMail::default()
        };
        sender.send(&mail).await
    }
    .await;
    match result {
        Ok(r) => st.ok(K::SendTest, format!("accepted: {}", r.server_response)),
        Err(e) => st.fail(K::SendTest, &e),
    }
}

/// Tests an Exchange account through a client (already impersonating the mailbox when the
/// account uses the administrator account): authenticate and reach the mailbox (GetFolder
/// inbox), the folders it needs (inbox, Sent Items), and a send test only when asked.
pub async fn test_exchange(
    client: &ews_client::client::Client,
    address: &str,
    options: &AccountTestOptions,
) -> AccountTestReport {
    use ews_client::types::DistinguishedFolderName as D;
    let mut st = Steps {
        protocol: TestProtocol::Exchange,
        steps: Vec::new(),
    };
    match client.get_folder(D::Inbox.into()).await {
        Ok(_) => st.ok(K::Authenticate, format!("reached the mailbox {address}")),
        Err(e) => {
            let e = crate::exchange::ews_err(e);
            let kind = if matches!(e, MailError::Network { .. } | MailError::Timeout(_)) {
                K::Connect
            } else if tls_step_of(&e) {
                K::Tls
            } else {
                K::Authenticate
            };
            st.fail(kind, &e);
            st.skip_rest(&[K::Folders, K::SendTest], "mailbox not reached");
            return AccountTestReport { steps: st.steps };
        }
    }
    match client.get_folder(D::SentItems.into()).await {
        Ok(_) => st.ok(K::Folders, "Inbox and Sent Items found"),
        Err(e) => st.fail(K::Folders, &crate::exchange::ews_err(e)),
    }
    match &options.send_test_to {
        None => st.skip_rest(&[K::SendTest], "not requested"),
        Some(to) => {
            let sender = crate::exchange::ExchangeSender::new(
                client.clone(),
                address,
                crate::exchange::MailboxAccess::Own,
                SentItems::Discard,
            );
            let mail = OutgoingMail {
                from: Mailbox::new(address),
                to: vec![Mailbox::new(to.clone())],
                subject: "ConAktiv mail account test".into(),
                text: Some("This message tests the mail account settings.".into()),
                ..OutgoingMail::default()
            };
            match sender.send(&mail).await {
                Ok(r) => st.ok(K::SendTest, format!("accepted: {}", r.server_response)),
                Err(e) => st.fail(K::SendTest, &e),
            }
        }
    }
    AccountTestReport { steps: st.steps }
}

/// A capability as the server names it (`IMAP4rev1`, `AUTH=PLAIN`, `IDLE`), not Debug text.
fn capability_name(c: &async_imap::types::Capability) -> String {
    match c {
        async_imap::types::Capability::Imap4rev1 => "IMAP4rev1".to_owned(),
        async_imap::types::Capability::Auth(a) => format!("AUTH={a}"),
        async_imap::types::Capability::Atom(a) => a.clone(),
    }
}
