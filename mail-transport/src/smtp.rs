//! Sending over SMTP with lettre (tokio, rustls): STARTTLS, implicit TLS, AUTH PLAIN, LOGIN
//! and XOAUTH2, timeouts; optional copy into the IMAP sent folder.

use async_trait::async_trait;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials as LCredentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::error::{MailError, classify_chain};
use crate::imap::{self, StoredCopy};
use crate::mime::{BuiltMail, OutgoingMail};
use crate::settings::{AuthMechanism, ImapSettings, ServerSettings, SmtpSettings, TlsMode};
use crate::transport::{MailSender, SendReceipt};

pub(crate) fn mechanism(m: AuthMechanism) -> Option<Mechanism> {
    match m {
        AuthMechanism::Plain => Some(Mechanism::Plain),
        AuthMechanism::Login => Some(Mechanism::Login),
        AuthMechanism::XOAuth2 => Some(Mechanism::Xoauth2),
        AuthMechanism::None => None,
    }
}

pub(crate) fn tls_parameters(s: &ServerSettings) -> Result<TlsParameters, MailError> {
    let mut b = TlsParameters::builder(s.tls_server_name().to_string());
    if let Some(pem) = s.extra_root_pem() {
        let cert = Certificate::from_pem(pem)
            .map_err(|e| MailError::Config(format!("invalid CA certificate: {e}")))?;
        b = b.add_root_certificate(cert);
    }
    b.build_rustls().map_err(|e| MailError::Tls(e.to_string()))
}

/// After lettre refused the server's certificate: one more handshake through the crate's own
/// verifier, whose error names the certificate's subject and issuer (lettre's TLS parameters
/// cannot carry a custom verifier). Any other error, or a probe that learns nothing, leaves
/// `err` as it is.
pub(crate) async fn name_certificate(err: MailError, s: &ServerSettings) -> MailError {
    if !err.is_certificate() || s.tls() == TlsMode::None {
        return err;
    }
    let probe = imap::timed(s.connect_timeout(), "probing the certificate", probe(s)).await;
    match probe {
        Err(named @ MailError::Certificate(_)) => named,
        _ => err,
    }
}

/// Connects and shakes hands (after EHLO and STARTTLS for [`TlsMode::StartTls`]); nothing
/// is sent after the handshake.
async fn probe(s: &ServerSettings) -> Result<(), MailError> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let addrs = imap::resolve(s).await?;
    let mut tcp = imap::tcp_connect(s, &addrs).await?;
    if s.tls() == TlsMode::StartTls {
        let protocol = |what: &str| MailError::Protocol(format!("probing STARTTLS: {what}"));
        let mut reader = BufReader::new(&mut tcp);
        // Reads one (multi-line) reply; returns its code.
        async fn reply<R: tokio::io::AsyncBufRead + Unpin>(
            reader: &mut R,
        ) -> Result<String, std::io::Error> {
            let mut line = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line).await? == 0 || line.len() < 4 {
                    return Ok(String::new());
                }
                if line.as_bytes()[3] != b'-' {
                    return Ok(line[..3].to_owned());
                }
            }
        }
        let io = |e: std::io::Error| protocol(&e.to_string());
        if reply(&mut reader).await.map_err(io)? != "220" {
            return Err(protocol("no greeting"));
        }
        reader
            .get_mut()
            .write_all(b"EHLO probe.invalid\r\n")
            .await
            .map_err(io)?;
        if reply(&mut reader).await.map_err(io)? != "250" {
            return Err(protocol("EHLO refused"));
        }
        reader
            .get_mut()
            .write_all(b"STARTTLS\r\n")
            .await
            .map_err(io)?;
        if reply(&mut reader).await.map_err(io)? != "220" {
            return Err(protocol("STARTTLS refused"));
        }
    }
    imap::tls_handshake(s, tcp).await.map(|_| ())
}

pub(crate) fn hello(smtp: &SmtpSettings) -> ClientId {
    match &smtp.hello_name {
        Some(name) => ClientId::Domain(name.clone()),
        // the machine's host name (lettre's default)
        None => ClientId::default(),
    }
}

/// Maps a lettre error to a [`MailError`]; a network error keeps it as its source.
pub(crate) fn smtp_err(e: lettre::transport::smtp::Error, s: &ServerSettings) -> MailError {
    let text = e.to_string();
    if let Some(code) = e.status() {
        let code = u16::from(code);
        let message = text.clone();
        if code == 535 || code == 534 {
            return MailError::AuthenticationFailed(message);
        }
        if code == 530 && message.to_ascii_lowercase().contains("starttls") {
            return MailError::StartTlsMissing(s.server());
        }
        return MailError::Rejected {
            code,
            message,
            transient: (400..500).contains(&code),
        };
    }
    if e.is_timeout() {
        return MailError::Timeout(format!("talking to {}", s.server()));
    }
    if let Some(m) = classify_chain(&e, &s.server(), s.host(), s.port()) {
        return m.with_source(e);
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("starttls is not supported") {
        return MailError::StartTlsMissing(s.server());
    }
    if lower.contains("no compatible authentication mechanism") {
        return MailError::AuthMechanismUnsupported(s.auth().to_string());
    }
    if e.is_tls() {
        return if lower.contains("certificate") {
            MailError::Certificate(text)
        } else {
            MailError::Tls(text)
        };
    }
    MailError::network(s.server(), text).with_source(e)
}

/// Sends mail over SMTP; optionally appends each sent message to the IMAP sent folder.
pub struct SmtpSender {
    settings: SmtpSettings,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    sent_copy: Option<ImapSettings>,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("server", &self.settings.server.server())
            .field("saves_sent_copy", &self.sent_copy.is_some())
            .finish()
    }
}

impl SmtpSender {
    /// A sender for these settings. With `sent_copy`, each message is also appended to the
    /// sent folder (SPECIAL-USE `\Sent`, else `sent_folder_name`) of that IMAP account.
    pub fn new(settings: SmtpSettings, sent_copy: Option<ImapSettings>) -> Result<Self, MailError> {
        let s = &settings.server;
        let tls = match s.tls() {
            TlsMode::Implicit => Tls::Wrapper(tls_parameters(s)?),
            TlsMode::StartTls => Tls::Required(tls_parameters(s)?),
            TlsMode::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host())
            .port(s.port())
            .tls(tls)
            .hello_name(hello(&settings))
            .timeout(Some(s.command_timeout()));
        if let Some(mech) = mechanism(s.auth()) {
            let creds = s.credentials();
            builder = builder
                .credentials(LCredentials::new(
                    creds.username.clone(),
                    creds.secret.expose().to_string(),
                ))
                .authentication(vec![mech]);
        }
        let transport = builder.build();
        Ok(SmtpSender {
            settings,
            transport,
            sent_copy,
        })
    }

    /// The SMTP settings.
    pub fn settings(&self) -> &SmtpSettings {
        &self.settings
    }

    async fn save_copy(&self, built: &BuiltMail) -> Result<Option<StoredCopy>, MailError> {
        let Some(imap_settings) = &self.sent_copy else {
            return Ok(None);
        };
        let s = &imap_settings.server;
        let mut session = imap::connect(s).await?;
        let folders = imap::list_folders(&mut session, s).await?;
        let folder = imap::find_sent_folder(&folders, &imap_settings.sent_folder_name)
            .ok_or_else(|| MailError::FolderNotFound(imap_settings.sent_folder_name.clone()))?;
        let copy =
            imap::append_message(&mut session, s, &folder, &built.bytes, &built.message_id).await?;
        let _ = session.logout().await;
        Ok(Some(copy))
    }
}

#[async_trait]
impl MailSender for SmtpSender {
    async fn send(&self, mail: &OutgoingMail) -> Result<SendReceipt, MailError> {
        let built = mail.build(self.settings.transfer_encoding)?;
        self.send_built(&built).await
    }

    async fn send_built(&self, built: &BuiltMail) -> Result<SendReceipt, MailError> {
        let s = &self.settings.server;
        let from = built.envelope_from.parse().map_err(|e| {
            MailError::Build(format!("invalid sender {:?}: {e}", built.envelope_from))
        })?;
        let to = built
            .envelope_to
            .iter()
            .map(|t| {
                t.parse()
                    .map_err(|e| MailError::Build(format!("invalid recipient {t:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let envelope =
            Envelope::new(Some(from), to).map_err(|e| MailError::Build(e.to_string()))?;
        let response = match self.transport.send_raw(&envelope, &built.bytes).await {
            Ok(response) => response,
            Err(e) => return Err(name_certificate(smtp_err(e, s), s).await),
        };
        let server_response = format!(
            "{} {}",
            u16::from(response.code()),
            response.message().collect::<Vec<_>>().join(" ")
        );
        tracing::debug!(message_id = %built.message_id, server = %s.server(), "message accepted");
        let stored_copy = match self.save_copy(built).await {
            Ok(c) => c.map(|c| crate::transport::SentCopy {
                folder: c.folder.clone(),
                id: c.id(),
            }),
            Err(e) => {
                // The message went out; losing only the copy is reported, not retried (a retry
                // would send the message twice).
                tracing::warn!(message_id = %built.message_id, error = %e, "sent, but the copy in the sent folder failed");
                return Ok(SendReceipt {
                    message_id: built.message_id.clone(),
                    server_response,
                    stored_copy: None,
                    copy_error: Some(e.to_string()),
                });
            }
        };
        Ok(SendReceipt {
            message_id: built.message_id.clone(),
            server_response,
            stored_copy,
            copy_error: None,
        })
    }
}
