//! Conversions from and to `conaktiv-model`: mail account records into settings, received
//! mail into the model's `Mail`, the model's `Mail` into an outgoing message.

use std::time::Duration;

use conaktiv_model::config::account as m;
use conaktiv_model::ids::{ContactId, CustomerId, InvoiceId, OfferId, ProjectId};
use conaktiv_model::mail as mm;

use crate::error::MailError;
use crate::mime::{Attachment, MailLinks, Mailbox, OutgoingMail, ReceivedMail};
use crate::settings::{
    AccountSettings, AfterReceive, AuthMechanism, Credentials, ImapSettings, ServerSettings,
    SmtpSettings, Throttle, TlsMode, TransferEncoding,
};

impl From<m::TlsMode> for TlsMode {
    fn from(t: m::TlsMode) -> Self {
        match t {
            m::TlsMode::Implicit => TlsMode::Implicit,
            m::TlsMode::StartTls => TlsMode::StartTls,
            m::TlsMode::None => TlsMode::None,
        }
    }
}

impl From<m::AuthMechanism> for AuthMechanism {
    fn from(a: m::AuthMechanism) -> Self {
        match a {
            m::AuthMechanism::None => AuthMechanism::None,
            m::AuthMechanism::Plain => AuthMechanism::Plain,
            m::AuthMechanism::Login => AuthMechanism::Login,
            m::AuthMechanism::XOAuth2 => AuthMechanism::XOAuth2,
        }
    }
}

impl From<m::TransferEncoding> for TransferEncoding {
    /// `7bit` becomes [`TransferEncoding::Auto`]: 7bit for ASCII text, an encoding otherwise.
    fn from(t: m::TransferEncoding) -> Self {
        match t {
            m::TransferEncoding::SevenBit => TransferEncoding::Auto,
            m::TransferEncoding::EightBit => TransferEncoding::EightBit,
            m::TransferEncoding::QuotedPrintable => TransferEncoding::QuotedPrintable,
            m::TransferEncoding::Base64 => TransferEncoding::Base64,
        }
    }
}

fn secret_for(
    what: &str,
    auth: AuthMechanism,
    password: Option<&conaktiv_model::Secret>,
    oauth_token: Option<&str>,
) -> Result<String, MailError> {
    match auth {
        AuthMechanism::None => Ok(String::new()),
        AuthMechanism::XOAuth2 => oauth_token.map(str::to_string).ok_or_else(|| {
            MailError::Config(format!(
                "{what}: XOAUTH2 needs an access token from the OAuth app"
            ))
        }),
        _ => password
            .map(|p| p.expose().to_string())
            .ok_or_else(|| MailError::Config(format!("{what}: no password set"))),
    }
}

/// The server settings with the account's `trusted_ca_file` (PEM) trusted, if it names one.
fn with_trusted_ca(
    server: ServerSettings,
    account: &m::MailAccount,
) -> Result<ServerSettings, MailError> {
    let Some(path) = &account.trusted_ca_file else {
        return Ok(server);
    };
    let pem = std::fs::read(path).map_err(|e| {
        MailError::Config(format!(
            "mail account {}: cannot read trusted_ca_file {}: {e}",
            account.short_code,
            path.display()
        ))
    })?;
    server.with_root_ca_pem(pem).map_err(|e| {
        MailError::Config(format!(
            "mail account {}: trusted_ca_file {}: {e}",
            account.short_code,
            path.display()
        ))
    })
}

/// Settings for an IMAP/SMTP mail account record. `oauth_token` is the current access token
/// of the account's OAuth app when it uses XOAUTH2 (fetching it is the host's job).
pub fn account_settings(
    account: &m::MailAccount,
    oauth_token: Option<&str>,
) -> Result<AccountSettings, MailError> {
    if account.server_kind != m::MailServerKind::ImapSmtp {
        return Err(MailError::Config(format!(
            "mail account {} is an Exchange account, not IMAP/SMTP",
            account.short_code
        )));
    }
    let imap = match (&account.imap, account.usage.receives()) {
        (Some(i), _) => {
            let auth = if i.oauth.is_some() {
                AuthMechanism::XOAuth2
            } else {
                AuthMechanism::Login
            };
            let secret = secret_for("IMAP", auth, i.password.as_ref(), oauth_token)?;
            let server = ServerSettings::new(
                &i.host,
                i.port.get(),
                i.tls.into(),
                auth,
                Credentials::new(i.user.clone(), secret),
            )?;
            let server = with_trusted_ca(server, account)?;
            let mut settings = ImapSettings::new(server);
            settings.after_receive = if account.receiving.keep_copy_on_server {
                AfterReceive::KeepCopy
            } else {
                AfterReceive::Delete
            };
            Some(settings)
        }
        (None, true) => {
            return Err(MailError::Config(format!(
                "mail account {} receives but has no IMAP settings",
                account.short_code
            )));
        }
        (None, false) => None,
    };
    let smtp = match (&account.smtp, account.usage.sends()) {
        (Some(sm), _) => {
            let auth = AuthMechanism::from(sm.auth);
            let secret = secret_for("SMTP", auth, sm.password.as_ref(), oauth_token)?;
            let user = sm.user.clone().unwrap_or_default();
            let timeout = Duration::from_secs(u64::from(sm.timeout_seconds.max(1)));
            let server = ServerSettings::new(
                &sm.host,
                sm.port.get(),
                sm.tls.into(),
                auth,
                Credentials::new(user, secret),
            )?
            .with_timeouts(timeout.min(Duration::from_secs(30)), timeout);
            let server = with_trusted_ca(server, account)?;
            let mut settings = SmtpSettings::new(server);
            settings.transfer_encoding = sm.transfer_encoding.into();
            settings.throttle = match sm.throttle {
                Some(t) => Some(Throttle::new(t.after_mails, t.delay_minutes.as_duration())?),
                None => None,
            };
            Some(settings)
        }
        (None, true) => {
            return Err(MailError::Config(format!(
                "mail account {} sends but has no SMTP settings",
                account.short_code
            )));
        }
        (None, false) => None,
    };
    Ok(AccountSettings {
        account_id: account.short_code.clone(),
        address: account.email.as_str().to_string(),
        save_sent_copy: imap.is_some() && smtp.is_some(),
        smtp,
        imap,
    })
}

fn to_model_mailbox(m: Mailbox) -> mm::Mailbox {
    mm::Mailbox::new(m.name.unwrap_or_default(), m.address)
}

fn from_model_mailbox(m: &mm::Mailbox) -> Mailbox {
    Mailbox {
        name: (!m.name.is_empty()).then(|| m.name.clone()),
        address: m.address.clone(),
    }
}

impl From<MailLinks> for mm::MailLinks {
    fn from(l: MailLinks) -> Self {
        mm::MailLinks {
            customer: l.customer.map(CustomerId::new),
            contact_person: l.contact_person.map(ContactId::new),
            project: l.project.map(ProjectId::new),
            offer: l.offer.map(OfferId::new),
            invoice: l.invoice.map(InvoiceId::new),
        }
    }
}

impl From<ReceivedMail> for mm::Mail {
    /// An incoming model mail (not yet stored: no id) with the links the hook set.
    fn from(r: ReceivedMail) -> Self {
        mm::Mail {
            id: None,
            message_id: mm::Mail::normalize_message_id(&r.message_id),
            from: r.from.map(to_model_mailbox),
            to: r.to.into_iter().map(to_model_mailbox).collect(),
            cc: r.cc.into_iter().map(to_model_mailbox).collect(),
            bcc: r.bcc.into_iter().map(to_model_mailbox).collect(),
            reply_to: r.reply_to.into_iter().map(to_model_mailbox).collect(),
            subject: r.subject.unwrap_or_default(),
            date: r.date,
            text_body: r.text,
            html_body: r.html,
            attachments: r
                .attachments
                .into_iter()
                .enumerate()
                .map(|(i, a)| mm::Attachment {
                    name: a
                        .file_name
                        .unwrap_or_else(|| format!("attachment-{}", i + 1)),
                    content_type: a.content_type,
                    bytes: a.data,
                })
                .collect(),
            raw_headers: r
                .headers
                .into_iter()
                .map(|(name, value)| mm::Header { name, value })
                .collect(),
            direction: mm::Direction::Incoming,
            links: r.links.into(),
        }
    }
}

impl From<&mm::Mail> for OutgoingMail {
    /// The message to send for a model mail (its Message-ID is kept when set).
    fn from(mail: &mm::Mail) -> Self {
        OutgoingMail {
            from: mail
                .from
                .as_ref()
                .map(from_model_mailbox)
                .unwrap_or_default(),
            to: mail.to.iter().map(from_model_mailbox).collect(),
            cc: mail.cc.iter().map(from_model_mailbox).collect(),
            bcc: mail.bcc.iter().map(from_model_mailbox).collect(),
            reply_to: mail.reply_to.first().map(from_model_mailbox),
            subject: mail.subject.clone(),
            text: mail.text_body.clone(),
            html: mail.html_body.clone(),
            attachments: mail
                .attachments
                .iter()
                .map(|a| Attachment {
                    file_name: a.name.clone(),
                    content_type: a.content_type.clone(),
                    data: a.bytes.clone(),
                })
                .collect(),
            message_id: (!mail.message_id.is_empty()).then(|| mail.message_id.clone()),
            in_reply_to: None,
            references: Vec::new(),
            date: mail.date,
        }
    }
}

fn exchange_part(account: &m::MailAccount) -> Result<&m::ExchangeAccount, MailError> {
    if account.server_kind != m::MailServerKind::Exchange {
        return Err(MailError::Config(format!(
            "mail account {} is an IMAP/SMTP account, not Exchange",
            account.short_code
        )));
    }
    account.exchange.as_ref().ok_or_else(|| {
        MailError::Config(format!(
            "mail account {} has no Exchange settings",
            account.short_code
        ))
    })
}

/// Impersonation through the administrator account when the account says
/// `use_admin_account`, else the account's own login.
fn mailbox_access(ex: &m::ExchangeAccount) -> crate::exchange::MailboxAccess {
    if ex.use_admin_account {
        crate::exchange::MailboxAccess::Impersonate
    } else {
        crate::exchange::MailboxAccess::Own
    }
}

/// The Exchange sender of an Exchange mail account. `client` is authenticated as the
/// server's administrator account when the account says `use_admin_account` (the sender then
/// impersonates the account's address), else with the account's own credentials. Sent mail is
/// kept in Sent Items.
pub fn exchange_sender(
    account: &m::MailAccount,
    client: ews_client::client::Client,
) -> Result<crate::exchange::ExchangeSender, MailError> {
    let ex = exchange_part(account)?;
    Ok(crate::exchange::ExchangeSender::new(
        client,
        account.email.as_str(),
        mailbox_access(ex),
        crate::SentItems::Keep,
    ))
}

/// The Exchange receiver of an Exchange mail account (see [`exchange_sender`] for `client`);
/// the account's "keep a copy on the server" decides between keeping and deleting.
pub fn exchange_receiver(
    account: &m::MailAccount,
    client: ews_client::client::Client,
    checkpoints: std::sync::Arc<dyn crate::CheckpointStore>,
) -> Result<crate::exchange::ExchangeReceiver, MailError> {
    let ex = exchange_part(account)?;
    let after = if account.receiving.keep_copy_on_server {
        AfterReceive::KeepCopy
    } else {
        AfterReceive::Delete
    };
    Ok(crate::exchange::ExchangeReceiver::new(
        client,
        account.email.as_str(),
        mailbox_access(ex),
        account.short_code.clone(),
        checkpoints,
        after,
    ))
}

/// The Microsoft Graph sender of an Exchange mail account whose server speaks Graph:
/// `client` is the app-only client of the account's server (its OAuth app); the copy is kept
/// in Sent Items, like [`exchange_sender`].
pub fn graph_sender(
    account: &m::MailAccount,
    client: graph_client::Client,
) -> Result<crate::graph::GraphSender, MailError> {
    exchange_part(account)?;
    Ok(crate::graph::GraphSender::new(
        client,
        account.email.as_str(),
        crate::SentItems::Keep,
    ))
}

/// The Microsoft Graph receiver of an Exchange mail account (see [`graph_sender`] for
/// `client`): the inbox, keeping (marked read) or deleting as the account's "keep a copy on
/// the server" says, like [`exchange_receiver`]; its checkpoint is kept apart from the EWS
/// one, so a switch from EWS to Graph reads the inbox once more, deduplicated by Message-ID.
pub fn graph_receiver(
    account: &m::MailAccount,
    client: graph_client::Client,
    checkpoints: std::sync::Arc<dyn crate::CheckpointStore>,
) -> Result<crate::graph::GraphReceiver, MailError> {
    exchange_part(account)?;
    let after = if account.receiving.keep_copy_on_server {
        AfterReceive::KeepCopy
    } else {
        AfterReceive::Delete
    };
    Ok(crate::graph::GraphReceiver::new(
        client,
        account.email.as_str(),
        account.short_code.clone(),
        checkpoints,
        after,
    ))
}
