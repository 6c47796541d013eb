//! EWS server records (admin screen "EWS-Server").

use serde::{Deserialize, Serialize};

use crate::secret::Secret;
use crate::values::{CertificateFingerprint, EmailAddress, HttpsUrl};

/// Where the Exchange server runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerKind {
    /// Exchange Server in the customer's own network (NTLM or Basic with an admin account).
    #[default]
    OnPremises,
    /// Exchange Online (Microsoft 365): OAuth only, passwords are no longer accepted for EWS.
    ExchangeOnline,
}

/// Which API the connector speaks with a server.
///
/// Exchange Online answers Microsoft Graph, and EWS only until 1 April 2027 (since October
/// 2026 only for the application ids on the tenant's `EWSAllowedAppIDs` list); Exchange
/// Server on-premises answers EWS only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerApi {
    /// Exchange Web Services (SOAP), with impersonation of each mailbox.
    Ews,
    /// Microsoft Graph v1.0 (JSON), app-only access to each mailbox.
    Graph,
}

impl ServerApi {
    /// The API's name as admins know it ("EWS", "Microsoft Graph").
    pub fn label(self) -> &'static str {
        match self {
            ServerApi::Ews => "EWS",
            ServerApi::Graph => "Microsoft Graph",
        }
    }
}

impl std::fmt::Display for ServerApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// The day EWS in Exchange Online is switched off for good.
pub const EWS_ONLINE_SHUTDOWN: &str = "1 April 2027";

/// How an on-premises server authenticates the admin account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    /// NTLM (the Exchange default).
    #[default]
    Ntlm,
    /// HTTP Basic (only over https).
    Basic,
}

/// An app registration in Microsoft Entra ID used for the OAuth client-credentials flow.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthApp {
    /// Directory (tenant) id.
    pub tenant_id: String,
    /// Application (client) id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: Secret,
    /// Token endpoint; `None` means Microsoft's endpoint for the tenant. Tests point it at
    /// the mock server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<HttpsUrl>,
    /// Scope to request; `None` means [`OAuthApp::DEFAULT_SCOPE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl OAuthApp {
    /// The scope for EWS (and IMAP/SMTP) with application permissions.
    pub const DEFAULT_SCOPE: &'static str = "https://outlook.office365.com/.default";

    /// The token endpoint: [`OAuthApp::token_url`] or Microsoft's v2.0 endpoint for the tenant.
    pub fn token_endpoint(&self) -> String {
        match &self.token_url {
            Some(url) => url.to_string(),
            None => format!(
                "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
                self.tenant_id
            ),
        }
    }

    /// The scope to request.
    pub fn scope(&self) -> &str {
        self.scope.as_deref().unwrap_or(Self::DEFAULT_SCOPE)
    }

    /// Whether tenant id, client id and client secret are all filled in.
    pub fn is_complete(&self) -> bool {
        !self.tenant_id.trim().is_empty()
            && !self.client_id.trim().is_empty()
            && !self.client_secret.is_empty()
    }
}

/// An EWS server as the admin screen knows it.
///
/// The fields of both kinds live side by side, as in the admin screen; validation checks that
/// the ones the [`ServerKind`] needs are filled in, and [`EwsServer::credentials`] hands out
/// the matching set as a typed value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EwsServer {
    /// Unique name ("Exchange Büro").
    pub name: String,
    /// EWS endpoint (`https://mail.example/EWS/Exchange.asmx`).
    pub url: HttpsUrl,
    /// On-premises or Exchange Online.
    pub kind: ServerKind,
    /// On-premises: the admin account's user name (`AGENTUR\\exchange-admin`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_user: Option<String>,
    /// On-premises: the admin account's password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<Secret>,
    /// On-premises: NTLM or Basic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_scheme: Option<AuthScheme>,
    /// Exchange Online: the mailbox the connector acts as when it does not impersonate a user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_mailbox: Option<EmailAddress>,
    /// Exchange Online: the OAuth app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth: Option<OAuthApp>,
    /// Exchange Online: the API to use; absent means Microsoft Graph (EWS only when chosen
    /// explicitly, until Exchange Online switches it off on 1 April 2027). On-premises
    /// servers speak EWS only (`graph` is rejected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ServerApi>,
    /// Microsoft Graph: the service root; absent means `https://graph.microsoft.com/v1.0`.
    /// Tests point it at the mock's Graph front.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<HttpsUrl>,
    /// Microsoft Graph: the calendar window read around today, in days back and ahead
    /// (Graph v1.0 reads series occurrences only within a `calendarView` window); absent
    /// means 365 days back and 730 ahead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_calendar_window: Option<CalendarWindow>,
    /// Microsoft Graph: the requests per mailbox the connector allows itself in a window;
    /// absent means Exchange Online's limit, 10,000 per 600 seconds. Lower it to leave room
    /// for other tools of the same app registration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_request_budget: Option<RequestBudget>,
    /// EWS: how many `Sync*` calls (SyncFolderItems, SyncFolderHierarchy) one connector
    /// process makes at once with this record's service account (1 to 100); absent means
    /// 5, Exchange's default ConcurrentSyncCalls, beyond which Exchange refuses calls with
    /// `ErrorServerBusy`. Several worker processes share the account's budget: raise the
    /// service account's throttling policy and set this to its share per worker. Not
    /// allowed on a record that speaks Microsoft Graph.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ews_concurrent_sync_calls: Option<u32>,
    /// TLS trust: the SHA-256 fingerprint of the server's own certificate, for a server
    /// with a self-signed certificate (Exchange's default). When set, exactly this
    /// certificate is accepted (instead of a certificate from a trusted CA). Without it, the
    /// server needs a certificate from a public CA (or one the host trusts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_certificate_sha256: Option<CertificateFingerprint>,
    /// TLS trust: a PEM file of CA certificates to trust in addition to the public CAs, for
    /// a server whose certificate comes from the organisation's own CA (typical on
    /// premises). Relative paths are relative to the working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ca_file: Option<std::path::PathBuf>,
}

/// The most [`EwsServer::ews_concurrent_sync_calls`] a record may set.
pub const MAX_EWS_CONCURRENT_SYNC_CALLS: u32 = 100;

/// The calendar window of a Graph server record, in days around today.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarWindow {
    /// Days back from today (at most 3650).
    pub past_days: u32,
    /// Days ahead of today (at most 3650).
    pub future_days: u32,
}

impl Default for CalendarWindow {
    fn default() -> Self {
        Self {
            past_days: 365,
            future_days: 730,
        }
    }
}

impl CalendarWindow {
    /// The largest number of days on either side.
    pub const MAX_DAYS: u32 = 3650;
}

/// A request budget per mailbox (see [`EwsServer::graph_request_budget`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBudget {
    /// Requests per window (1 to 10,000).
    pub requests: u32,
    /// The window in seconds (1 to 3600).
    pub window_secs: u32,
}

/// The credentials of a complete server record, by kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerCredentials<'a> {
    /// On-premises admin account.
    OnPremises {
        /// User name.
        user: &'a str,
        /// Password.
        password: &'a Secret,
        /// NTLM or Basic.
        scheme: AuthScheme,
    },
    /// Exchange Online OAuth app.
    ExchangeOnline {
        /// Admin mailbox.
        admin_mailbox: &'a EmailAddress,
        /// App registration.
        app: &'a OAuthApp,
    },
}

impl EwsServer {
    /// An on-premises server record.
    pub fn on_premises(
        name: impl Into<String>,
        url: HttpsUrl,
        admin_user: impl Into<String>,
        admin_password: Secret,
        auth_scheme: AuthScheme,
    ) -> Self {
        Self {
            name: name.into(),
            url,
            kind: ServerKind::OnPremises,
            admin_user: Some(admin_user.into()),
            admin_password: Some(admin_password),
            auth_scheme: Some(auth_scheme),
            admin_mailbox: None,
            oauth: None,
            api: None,
            graph_url: None,
            graph_calendar_window: None,
            graph_request_budget: None,
            ews_concurrent_sync_calls: None,
            pinned_certificate_sha256: None,
            trusted_ca_file: None,
        }
    }

    /// An Exchange Online server record.
    pub fn exchange_online(
        name: impl Into<String>,
        url: HttpsUrl,
        admin_mailbox: EmailAddress,
        oauth: OAuthApp,
    ) -> Self {
        Self {
            name: name.into(),
            url,
            kind: ServerKind::ExchangeOnline,
            admin_user: None,
            admin_password: None,
            auth_scheme: None,
            admin_mailbox: Some(admin_mailbox),
            oauth: Some(oauth),
            api: None,
            graph_url: None,
            graph_calendar_window: None,
            graph_request_budget: None,
            ews_concurrent_sync_calls: None,
            pinned_certificate_sha256: None,
            trusted_ca_file: None,
        }
    }

    /// The API the connector speaks with this server: [`EwsServer::api`] when set, else
    /// Microsoft Graph for Exchange Online and EWS on premises.
    pub fn effective_api(&self) -> ServerApi {
        match (self.api, self.kind) {
            (Some(api), _) => api,
            (None, ServerKind::ExchangeOnline) => ServerApi::Graph,
            (None, ServerKind::OnPremises) => ServerApi::Ews,
        }
    }

    /// The Graph service root ([`EwsServer::graph_url`] or Microsoft's).
    pub fn graph_root(&self) -> String {
        match &self.graph_url {
            Some(u) => u.to_string(),
            None => "https://graph.microsoft.com/v1.0".into(),
        }
    }

    /// The calendar window for Graph.
    pub fn calendar_window(&self) -> CalendarWindow {
        self.graph_calendar_window.unwrap_or_default()
    }

    /// A warning for the admin when an Exchange Online server is set to EWS.
    pub fn api_warning(&self) -> Option<String> {
        (self.kind == ServerKind::ExchangeOnline && self.effective_api() == ServerApi::Ews).then(|| {
            format!(
                "server {:?} uses EWS with Exchange Online: Microsoft answers only allow-listed \
                 apps since October 2026 and switches EWS off on {EWS_ONLINE_SHUTDOWN}; set \
                 api = \"graph\" (and run migrate-to-graph)",
                self.name
            )
        })
    }

    /// The credentials the [`ServerKind`] needs, or `None` when some are missing (validation
    /// reports which).
    pub fn credentials(&self) -> Option<ServerCredentials<'_>> {
        match self.kind {
            ServerKind::OnPremises => {
                let user = self
                    .admin_user
                    .as_deref()
                    .filter(|u| !u.trim().is_empty())?;
                let password = self.admin_password.as_ref().filter(|p| !p.is_empty())?;
                Some(ServerCredentials::OnPremises {
                    user,
                    password,
                    scheme: self.auth_scheme?,
                })
            }
            ServerKind::ExchangeOnline => Some(ServerCredentials::ExchangeOnline {
                admin_mailbox: self.admin_mailbox.as_ref()?,
                app: self.oauth.as_ref().filter(|a| a.is_complete())?,
            }),
        }
    }
}
