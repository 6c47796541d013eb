//! Validated connection settings of a mail account (SMTP, IMAP).
//!
//! These are mail-transport's own small types; conversions from `conaktiv-model`'s records
//! live in [`crate::model`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::MailError;

/// A password or OAuth token. Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret value, for handing to the server only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How the connection is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain connection upgraded with STARTTLS; fails if the server does not offer it.
    StartTls,
    /// No encryption (only for loopback or trusted networks).
    None,
}

/// How the client logs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthMechanism {
    /// SASL PLAIN (SMTP) / IMAP LOGIN.
    Plain,
    /// SASL LOGIN (SMTP) / IMAP LOGIN.
    Login,
    /// SASL XOAUTH2 with an OAuth access token as the secret.
    XOAuth2,
    /// No login (SMTP relays that trust the network; not possible for IMAP).
    None,
}

impl fmt::Display for AuthMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthMechanism::Plain => "PLAIN",
            AuthMechanism::Login => "LOGIN",
            AuthMechanism::XOAuth2 => "XOAUTH2",
            AuthMechanism::None => "none",
        })
    }
}

/// User name plus password or token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Login name.
    pub username: String,
    /// Password or OAuth access token.
    pub secret: Secret,
}

impl Credentials {
    /// New credentials.
    pub fn new(username: impl Into<String>, secret: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            secret: Secret::new(secret),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &self.secret)
            .finish()
    }
}

/// Host, port, TLS and login of one server.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    host: String,
    port: u16,
    tls: TlsMode,
    auth: AuthMechanism,
    credentials: Credentials,
    tls_server_name: Option<String>,
    extra_root_pem: Option<Arc<Vec<u8>>>,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl ServerSettings {
    /// Validated settings: the host must be non-empty and the port non-zero.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        tls: TlsMode,
        auth: AuthMechanism,
        credentials: Credentials,
    ) -> Result<Self, MailError> {
        let host = host.into().trim().to_string();
        if host.is_empty() {
            return Err(MailError::Config("server host is empty".into()));
        }
        if port == 0 {
            return Err(MailError::Config(format!("port 0 is not valid for {host}")));
        }
        if auth != AuthMechanism::None && credentials.username.trim().is_empty() {
            return Err(MailError::Config(format!("user name for {host} is empty")));
        }
        Ok(ServerSettings {
            host,
            port,
            tls,
            auth,
            credentials,
            tls_server_name: None,
            extra_root_pem: None,
            connect_timeout: Duration::from_secs(15),
            command_timeout: Duration::from_secs(60),
        })
    }

    /// Verify the certificate against this name instead of the host (e.g. connect to
    /// `127.0.0.1` but verify `localhost`).
    pub fn with_tls_server_name(mut self, name: impl Into<String>) -> Self {
        self.tls_server_name = Some(name.into());
        self
    }

    /// Trust this PEM CA certificate in addition to the public roots (self-signed servers).
    pub fn with_root_ca_pem(mut self, pem: Vec<u8>) -> Result<Self, MailError> {
        crate::tls::parse_pem_certs(&pem)?;
        self.extra_root_pem = Some(Arc::new(pem));
        Ok(self)
    }

    /// Connect and command timeouts.
    pub fn with_timeouts(mut self, connect: Duration, command: Duration) -> Self {
        self.connect_timeout = connect;
        self.command_timeout = command;
        self
    }

    /// Host name or address to connect to.
    pub fn host(&self) -> &str {
        &self.host
    }
    /// TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// TLS mode.
    pub fn tls(&self) -> TlsMode {
        self.tls
    }
    /// Authentication mechanism.
    pub fn auth(&self) -> AuthMechanism {
        self.auth
    }
    /// Credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }
    /// Name the certificate must carry.
    pub fn tls_server_name(&self) -> &str {
        self.tls_server_name.as_deref().unwrap_or(&self.host)
    }
    /// Extra trusted CA certificate (PEM).
    pub fn extra_root_pem(&self) -> Option<&[u8]> {
        self.extra_root_pem.as_deref().map(|v| v.as_slice())
    }
    /// Connect timeout.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }
    /// Timeout for one command.
    pub fn command_timeout(&self) -> Duration {
        self.command_timeout
    }
    /// `host:port`, for messages.
    pub fn server(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// Content-Transfer-Encoding for text bodies of outgoing mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TransferEncoding {
    /// Let the MIME builder choose (7bit, quoted-printable or base64 by content).
    #[default]
    Auto,
    /// Always quoted-printable.
    QuotedPrintable,
    /// Always base64.
    Base64,
    /// 8bit (server must offer 8BITMIME).
    EightBit,
}

/// "After N mails, delay sending by M minutes".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    after_mails: u32,
    delay: Duration,
}

impl Throttle {
    /// After `after_mails` sent mails, wait `delay` before the next one.
    pub fn new(after_mails: u32, delay: Duration) -> Result<Self, MailError> {
        if after_mails == 0 {
            return Err(MailError::Config(
                "throttle: mail count must be at least 1".into(),
            ));
        }
        if delay.is_zero() {
            return Err(MailError::Config("throttle: delay must be positive".into()));
        }
        Ok(Throttle { after_mails, delay })
    }
    /// Mails per batch.
    pub fn after_mails(&self) -> u32 {
        self.after_mails
    }
    /// Pause after each batch.
    pub fn delay(&self) -> Duration {
        self.delay
    }
}

/// SMTP settings of an account.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// Server, TLS, login.
    pub server: ServerSettings,
    /// Transfer encoding of text bodies.
    pub transfer_encoding: TransferEncoding,
    /// Optional throttle (applies to the [`crate::SendQueue`]).
    pub throttle: Option<Throttle>,
    /// Name sent in EHLO (default: this machine's host name).
    pub hello_name: Option<String>,
}

impl SmtpSettings {
    /// Settings with automatic encoding and no throttle.
    pub fn new(server: ServerSettings) -> Self {
        SmtpSettings {
            server,
            transfer_encoding: TransferEncoding::Auto,
            throttle: None,
            hello_name: None,
        }
    }
}

/// What happens on the server to a message once the host stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AfterReceive {
    /// Keep a copy on the server, flagged `\Seen`.
    KeepCopy,
    /// Move it into this folder.
    MoveTo(String),
    /// Flag `\Deleted` and expunge it.
    Delete,
}

/// IMAP settings of an account.
#[derive(Debug, Clone)]
pub struct ImapSettings {
    /// Server, TLS, login.
    pub server: ServerSettings,
    /// Folder that is received from (default `INBOX`).
    pub inbox: String,
    /// Name of the sent folder when the server has no `\Sent` SPECIAL-USE folder.
    pub sent_folder_name: String,
    /// What to do on the server after the host stored a message.
    pub after_receive: AfterReceive,
    /// Messages fetched per round trip (bounded memory on large mailboxes).
    pub fetch_chunk: u32,
}

impl ImapSettings {
    /// Settings for `INBOX`, keep-copy mode, chunks of 50.
    pub fn new(server: ServerSettings) -> Self {
        ImapSettings {
            server,
            inbox: "INBOX".into(),
            sent_folder_name: "Sent".into(),
            after_receive: AfterReceive::KeepCopy,
            fetch_chunk: 50,
        }
    }
}

/// A mail account: its address plus the servers used to send and receive.
#[derive(Debug, Clone)]
pub struct AccountSettings {
    /// Stable account key (used for checkpoints and the send queue).
    pub account_id: String,
    /// The account's e-mail address.
    pub address: String,
    /// Outgoing server.
    pub smtp: Option<SmtpSettings>,
    /// Incoming server.
    pub imap: Option<ImapSettings>,
    /// Append each sent message to the IMAP sent folder (needs `imap`).
    pub save_sent_copy: bool,
}

impl AccountSettings {
    /// [`SentItems::Keep`](crate::SentItems::Keep) when `save_sent_copy` is set.
    pub fn sent_items(&self) -> crate::SentItems {
        if self.save_sent_copy {
            crate::SentItems::Keep
        } else {
            crate::SentItems::Discard
        }
    }

    /// The SMTP sender of this account; it appends to the IMAP sent folder when
    /// `save_sent_copy` is set and IMAP settings exist.
    pub fn smtp_sender(&self) -> Result<crate::SmtpSender, MailError> {
        let smtp = self.smtp.clone().ok_or_else(|| {
            MailError::Config(format!("account {} has no SMTP settings", self.account_id))
        })?;
        let copy = if self.save_sent_copy {
            self.imap.clone()
        } else {
            None
        };
        crate::SmtpSender::new(smtp, copy)
    }

    /// The IMAP receiver of this account, keeping its checkpoints in `checkpoints`.
    pub fn imap_receiver(
        &self,
        checkpoints: Arc<dyn crate::CheckpointStore>,
    ) -> Result<crate::ImapReceiver, MailError> {
        let imap = self.imap.clone().ok_or_else(|| {
            MailError::Config(format!("account {} has no IMAP settings", self.account_id))
        })?;
        Ok(crate::ImapReceiver::new(
            self.account_id.clone(),
            imap,
            checkpoints,
        ))
    }

    /// The persistent send queue of this account (with its throttle) in a SQLite file.
    pub fn send_queue(
        &self,
        path: impl AsRef<std::path::Path>,
    ) -> Result<crate::SendQueue, MailError> {
        crate::SendQueue::open(
            path,
            self.account_id.clone(),
            self.smtp.as_ref().and_then(|s| s.throttle),
        )
    }
}
