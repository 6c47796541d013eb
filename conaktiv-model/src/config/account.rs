//! Mail account records (admin screen "E-Mail-Konten"): one per user and address.

use serde::{Deserialize, Serialize};

use crate::config::server::OAuthApp;
use crate::ids::UserName;
use crate::secret::Secret;
use crate::values::{EmailAddress, IntervalMinutes, Port};

/// What the account is used for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailUsage {
    /// Sending only.
    Send,
    /// Receiving only.
    Receive,
    /// Sending and receiving.
    #[default]
    Both,
}

impl MailUsage {
    /// Whether the account sends.
    pub fn sends(self) -> bool {
        matches!(self, Self::Send | Self::Both)
    }

    /// Whether the account receives.
    pub fn receives(self) -> bool {
        matches!(self, Self::Receive | Self::Both)
    }
}

/// Which kind of server the account talks to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailServerKind {
    /// IMAP for receiving, SMTP for sending.
    #[default]
    #[serde(rename = "imap_smtp")]
    ImapSmtp,
    /// Exchange (EWS) for both.
    #[serde(rename = "exchange")]
    Exchange,
}

/// How the connection is secured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    #[default]
    #[serde(rename = "implicit")]
    Implicit,
    /// Plain connection upgraded with STARTTLS (IMAP 143, submission 587).
    #[serde(rename = "starttls")]
    StartTls,
    /// No TLS; only allowed for loopback hosts (tests).
    #[serde(rename = "none")]
    None,
}

/// How the client authenticates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuthMechanism {
    /// No authentication (SMTP relays that trust the network).
    #[serde(rename = "none")]
    None,
    /// SASL PLAIN with user and password.
    #[default]
    #[serde(rename = "plain")]
    Plain,
    /// LOGIN with user and password.
    #[serde(rename = "login")]
    Login,
    /// SASL XOAUTH2 with a token from an OAuth app.
    #[serde(rename = "xoauth2")]
    XOAuth2,
}

/// Content-Transfer-Encoding for text parts of sent mail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TransferEncoding {
    /// 7bit (ASCII only).
    #[serde(rename = "7bit")]
    SevenBit,
    /// 8bit (needs the server's 8BITMIME).
    #[serde(rename = "8bit")]
    EightBit,
    /// quoted-printable.
    #[default]
    #[serde(rename = "quoted-printable")]
    QuotedPrintable,
    /// base64.
    #[serde(rename = "base64")]
    Base64,
}

/// IMAP settings (receiving).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapSettings {
    /// Host name.
    pub host: String,
    /// Port (993 implicit TLS, 143 STARTTLS).
    pub port: Port,
    /// TLS mode.
    pub tls: TlsMode,
    /// Login user.
    pub user: String,
    /// Password (exactly one of password and OAuth app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// OAuth app for XOAUTH2 (exactly one of password and OAuth app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthApp>,
}

/// "After N mails, delay sending by M minutes" (providers limit mails per period).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Throttle {
    /// After this many mails (at least 1) ...
    pub after_mails: u32,
    /// ... wait this long before sending more.
    pub delay_minutes: IntervalMinutes,
}

/// SMTP settings (sending).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpSettings {
    /// Host name.
    pub host: String,
    /// Port (465 implicit TLS, 587 STARTTLS).
    pub port: Port,
    /// TLS mode.
    pub tls: TlsMode,
    /// Authentication mechanism.
    #[serde(default)]
    pub auth: AuthMechanism,
    /// Login user (needed unless `auth` is `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Password (for `plain` and `login`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// OAuth app (for `xoauth2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthApp>,
    /// Transfer encoding of text parts.
    #[serde(default)]
    pub transfer_encoding: TransferEncoding,
    /// Optional throttle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<Throttle>,
    /// Timeout of one SMTP command, in seconds (at least 1).
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u32,
}

fn default_timeout() -> u32 {
    SmtpSettings::DEFAULT_TIMEOUT_SECONDS
}

impl SmtpSettings {
    /// The timeout when the file does not set one.
    pub const DEFAULT_TIMEOUT_SECONDS: u32 = 60;
}

/// Receiving options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReceiveOptions {
    /// Keep a copy on the server after receiving (otherwise delete it there).
    pub keep_copy_on_server: bool,
    /// Receive automatically on the server (batch task) instead of at the client.
    pub receive_automatically_on_server: bool,
}

/// Exchange settings of a mail account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeAccount {
    /// Name of the EWS server record.
    pub server: String,
    /// Use the server's administrator account (impersonation) instead of own credentials.
    #[serde(default)]
    pub use_admin_account: bool,
    /// Own user name (when not using the administrator account; on-premises only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Own password (when not using the administrator account; on-premises only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

/// A mail account: one per user and address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailAccount {
    /// Unique short code ("MM1").
    pub short_code: String,
    /// The ConAktiv user the account belongs to.
    pub user: UserName,
    /// Account name shown to the user.
    pub account_name: String,
    /// The account's address.
    pub email: EmailAddress,
    /// Reply-To address, if different.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<EmailAddress>,
    /// The user's default account for sending.
    #[serde(default)]
    pub default_for_sending: bool,
    /// Send, receive or both.
    pub usage: MailUsage,
    /// IMAP/SMTP or Exchange.
    pub server_kind: MailServerKind,
    /// IMAP settings (IMAP/SMTP accounts that receive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap: Option<ImapSettings>,
    /// SMTP settings (IMAP/SMTP accounts that send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSettings>,
    /// Receiving options.
    #[serde(default)]
    pub receiving: ReceiveOptions,
    /// Exchange settings (Exchange accounts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<ExchangeAccount>,
    /// TLS trust for the account's IMAP and SMTP servers: a PEM file of CA certificates to
    /// trust in addition to the public CAs (a mail server with a certificate from the
    /// organisation's own CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ca_file: Option<std::path::PathBuf>,
}
