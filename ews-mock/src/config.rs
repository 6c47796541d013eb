//! The organisation data file (TOML): users, groups, mailboxes with folders and items, OAuth
//! apps, settings and faults; and the server configuration.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::MockError;
use crate::faults::FaultRule;

/// The role that lets a user act on other mailboxes through `ExchangeImpersonation`.
pub const ROLE_IMPERSONATION: &str = "ApplicationImpersonation";
/// The application permission that lets an OAuth app act on every mailbox (by impersonation).
pub const PERMISSION_FULL_ACCESS: &str = "full_access_as_app";

/// The whole organisation as described by a data file.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OrgData {
    /// Server-wide settings.
    #[serde(default)]
    pub settings: Settings,
    /// The users (each gets a mailbox).
    #[serde(default)]
    pub users: Vec<UserData>,
    /// Distribution groups.
    #[serde(default)]
    pub groups: Vec<GroupData>,
    /// Mailbox contents: extra folders and items, by owner address.
    #[serde(default)]
    pub mailboxes: Vec<MailboxData>,
    /// OAuth 2.0 client-credentials applications.
    #[serde(default)]
    pub apps: Vec<AppData>,
    /// Faults injected from the start.
    #[serde(default)]
    pub faults: Vec<FaultRule>,
    /// The Graph front's settings (`[graph]`): app certificates, roles, mailbox scopes.
    #[serde(default)]
    pub graph: crate::graph::GraphData,
}

impl fmt::Debug for OrgData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrgData")
            .field("settings", &self.settings)
            .field("users", &self.users)
            .field("groups", &self.groups)
            .field("mailboxes", &self.mailboxes.len())
            .field("apps", &self.apps)
            .field("faults", &self.faults)
            .finish()
    }
}

impl OrgData {
    /// Parses a data file's TOML text.
    pub fn from_toml(text: &str) -> Result<Self, MockError> {
        toml::from_str(text).map_err(|e| MockError::InvalidData(e.to_string()))
    }

    /// Reads and parses a data file.
    pub fn load(path: &Path) -> Result<Self, MockError> {
        let text = std::fs::read_to_string(path).map_err(|source| MockError::File {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| MockError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// Server-wide settings.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The NetBIOS domain name used in NTLM challenges.
    pub domain: String,
    /// Seed of the fault engine's random numbers (deterministic faults).
    pub seed: u64,
    /// Lifetime of issued OAuth access tokens, in seconds.
    pub token_lifetime_secs: u64,
    /// Maximum concurrent requests per account (Exchange's EWSMaxConcurrency, 27).
    pub max_concurrency: u32,
    /// Maximum concurrent SyncFolderItems/SyncFolderHierarchy calls per account.
    pub max_concurrent_sync_calls: u32,
    /// BackOffMilliseconds reported when a concurrency limit is exceeded.
    pub concurrency_back_off_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            domain: "MOCK".to_string(),
            seed: 0,
            token_lifetime_secs: 3600,
            max_concurrency: 27,
            max_concurrent_sync_calls: 5,
            concurrency_back_off_ms: 1000,
        }
    }
}

/// A user account (with a mailbox).
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserData {
    /// Primary SMTP address (also the logon name).
    pub address: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Password for Basic and NTLM.
    pub password: String,
    /// Roles, e.g. `ApplicationImpersonation`.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl fmt::Debug for UserData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserData")
            .field("address", &self.address)
            .field("display_name", &self.display_name)
            .field("password", &"<redacted>")
            .field("roles", &self.roles)
            .finish()
    }
}

/// A distribution group.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupData {
    /// The group's SMTP address.
    pub address: String,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Member addresses.
    #[serde(default)]
    pub members: Vec<String>,
}

/// Extra content of one user's mailbox.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MailboxData {
    /// The owner's address.
    pub owner: String,
    /// User folders, created in order (parents first).
    #[serde(default)]
    pub folders: Vec<FolderData>,
    /// Items.
    #[serde(default)]
    pub items: Vec<ItemData>,
}

/// A user folder.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FolderData {
    /// Path of the folder: segments separated by `/`; the first may be a distinguished folder
    /// name (`inbox/Projects/2024`), otherwise the path starts at `msgfolderroot`.
    pub path: String,
    /// Folder class, e.g. `IPF.Contact`; by default the parent's class.
    #[serde(default)]
    pub class: Option<String>,
}

/// An item.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ItemData {
    /// The folder path (as in [`FolderData::path`]), e.g. `contacts`.
    pub folder: String,
    /// Item class, e.g. `IPM.Contact`; by default derived from the folder class.
    #[serde(default)]
    pub class: Option<String>,
    /// Subject (display name of a contact).
    #[serde(default)]
    pub subject: Option<String>,
    /// Whether the item has been read.
    #[serde(default)]
    pub is_read: bool,
    /// Other properties by EWS element name (`GivenName`, `Start`, ...), simple values only.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The whole item as EWS XML (`<t:Contact xmlns:t="...">...</t:Contact>`), for anything
    /// `fields` cannot express (addresses, recurrence, attachments); `subject` and `class`
    /// still apply when the XML lacks them.
    #[serde(default)]
    pub xml: Option<String>,
}

/// An OAuth 2.0 client-credentials application.
#[derive(Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AppData {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// The tenant (any string; the token endpoint accepts it in its path).
    #[serde(default)]
    pub tenant: Option<String>,
    /// Application permissions, e.g. `full_access_as_app`.
    #[serde(default)]
    pub roles: Vec<String>,
}

impl fmt::Debug for AppData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppData")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("tenant", &self.tenant)
            .field("roles", &self.roles)
            .finish()
    }
}

/// TLS certificate and key (PEM files).
#[derive(Clone)]
pub struct TlsConfig {
    /// Certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// Private key, PEM.
    pub key_pem: Vec<u8>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("cert_pem", &String::from_utf8_lossy(&self.cert_pem))
            .finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Reads the certificate chain and key from PEM files.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, MockError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| MockError::File {
                path: p.to_path_buf(),
                source,
            })
        };
        Ok(TlsConfig {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
        })
    }
}

/// How to start a mock server.
#[derive(Clone)]
pub struct MockConfig {
    /// Listening address; `127.0.0.1:0` (a free loopback port) by default.
    pub listen: SocketAddr,
    /// The organisation.
    pub data: OrgData,
    /// Serve HTTPS with this certificate.
    pub tls: Option<TlsConfig>,
    /// Load the organisation from this file on start (if it exists, instead of `data`) and save
    /// it there (atomically, mode 0600) within `state_interval` of every change and on
    /// shutdown.
    pub state_file: Option<PathBuf>,
    /// How long a change may stay unsaved in the state file (1 s by default).
    pub state_interval: std::time::Duration,
    /// The token the admin endpoint requires (`Authorization: Bearer TOKEN`); a random one
    /// is generated when `None` ([`crate::MockHandle::admin_token`]).
    pub admin_token: Option<String>,
    /// Serve the admin endpoint without a token. Allowed only on a loopback address:
    /// starting on another address fails.
    pub admin_open_on_loopback: bool,
}

impl std::fmt::Debug for MockConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockConfig")
            .field("listen", &self.listen)
            .field("tls", &self.tls.is_some())
            .field("state_file", &self.state_file)
            .field("state_interval", &self.state_interval)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("admin_open_on_loopback", &self.admin_open_on_loopback)
            .finish_non_exhaustive()
    }
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data: OrgData::default(),
            tls: None,
            state_file: None,
            state_interval: std::time::Duration::from_secs(1),
            admin_token: None,
            admin_open_on_loopback: false,
        }
    }
}

impl MockConfig {
    /// A configuration serving `data` on a free loopback port.
    pub fn new(data: OrgData) -> Self {
        MockConfig {
            data,
            ..MockConfig::default()
        }
    }
}
