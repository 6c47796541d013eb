//! Which EWS server serves a mailbox, and the client to reach it.
//!
//! [`Router`] resolves each (user, mailbox) with [`Configuration::route_for`] (a
//! `[[mailbox_routes]]` entry naming the user, else one naming the mail domain, else the
//! server of the user's Exchange mail account, else the first server record) and keeps one
//! client per server record, built on first use. A route with `autodiscover = true` takes
//! only credentials and TLS trust from its server record; the EWS endpoint of each mailbox
//! comes from SOAP Autodiscover, asked once per mailbox and cached for the router's life.

use std::collections::HashMap;
use std::sync::Mutex;

use conaktiv_model::Configuration;
use conaktiv_model::config::{EwsServer, ServerApi, ServerKind};
use ews_client::Client;

use super::ServiceError;
use super::client::{client_at, transport_for_server};

/// Picks the server (and client) per mailbox. See the module docs.
pub struct Router {
    config: Configuration,
    /// `Some`: every mailbox goes to this server record (by index), as `--server` asks.
    fixed: Option<usize>,
    /// Clients by server record name (lower case).
    clients: Mutex<HashMap<String, Client>>,
    /// Clients of mailboxes whose endpoint Autodiscover found, by address (lower case);
    /// held across a lookup, so concurrent jobs of one mailbox ask once.
    discovered: tokio::sync::Mutex<HashMap<String, Client>>,
    /// Graph clients by server record name (lower case).
    graph: Mutex<HashMap<String, graph_client::Client>>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("servers", &self.config.servers.len())
            .field("routes", &self.config.mailbox_routes.len())
            .finish_non_exhaustive()
    }
}

/// How a mailbox is reached, for `check` and reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteInfo {
    /// The server record's name.
    pub server: String,
    /// How the service account signs in ("OAuth (Exchange Online)", "NTLM", "Basic").
    pub auth: &'static str,
    /// Whether Autodiscover finds the endpoint.
    pub autodiscover: bool,
    /// The API the connector speaks with this mailbox.
    pub api: ServerApi,
    /// Why this server, in words.
    pub reason: String,
}

/// The sign-in of a server record's service account, in words.
pub fn auth_label(server: &EwsServer) -> &'static str {
    match server.kind {
        ServerKind::ExchangeOnline => "OAuth app (Exchange Online)",
        ServerKind::OnPremises => match server.auth_scheme {
            Some(conaktiv_model::config::AuthScheme::Basic) => "Basic (on-premises)",
            _ => "NTLM (on-premises)",
        },
    }
}

impl Router {
    /// A router over the configuration's servers and mailbox routes.
    pub fn new(config: Configuration) -> Result<Self, ServiceError> {
        if config.servers.is_empty() {
            return Err(ServiceError::Configuration(
                "no EWS server configured".into(),
            ));
        }
        Ok(Self {
            config,
            fixed: None,
            clients: Mutex::new(HashMap::new()),
            discovered: tokio::sync::Mutex::new(HashMap::new()),
            graph: Mutex::new(HashMap::new()),
        })
    }

    /// A router that sends every mailbox to the named server record.
    pub fn fixed(config: Configuration, server: &str) -> Result<Self, ServiceError> {
        let index = config
            .servers
            .iter()
            .position(|s| s.name.trim().eq_ignore_ascii_case(server.trim()))
            .ok_or_else(|| {
                ServiceError::Configuration(format!("no EWS server named {server:?}"))
            })?;
        let mut router = Self::new(config)?;
        router.fixed = Some(index);
        Ok(router)
    }

    /// A router over one ready client (for [`super::Connector::new`]): every mailbox uses it.
    pub(crate) fn single(config: Configuration, client: Client) -> Self {
        let mut clients = HashMap::new();
        clients.insert(String::new(), client);
        Self {
            config,
            fixed: Some(usize::MAX),
            clients: Mutex::new(clients),
            discovered: tokio::sync::Mutex::new(HashMap::new()),
            graph: Mutex::new(HashMap::new()),
        }
    }

    /// Where `user`'s mailbox `mailbox` is served, in words (no network).
    pub fn describe(&self, user: &str, mailbox: &str) -> Option<RouteInfo> {
        describe_route(&self.config, self.fixed, user, mailbox)
    }

    /// The server record that serves `user`'s mailbox `mailbox` (`None` for a router over
    /// one ready client).
    pub fn server_for(&self, user: &str, mailbox: &str) -> Option<&EwsServer> {
        match self.fixed {
            Some(i) => self.config.servers.get(i),
            None => self.config.route_for(user, mailbox).map(|r| r.server),
        }
    }

    /// The API `user`'s mailbox is served with (EWS for a router over one ready client).
    pub fn api_for(&self, user: &str, mailbox: &str) -> ServerApi {
        if self.fixed == Some(usize::MAX) {
            return ServerApi::Ews;
        }
        self.server_for(user, mailbox)
            .map_or(ServerApi::Ews, EwsServer::effective_api)
    }

    /// The Graph client for `user`'s mailbox, when its server record speaks Microsoft Graph.
    pub fn graph_for(
        &self,
        user: &str,
        mailbox: &str,
    ) -> Result<Option<graph_client::Client>, ServiceError> {
        if self.api_for(user, mailbox) != ServerApi::Graph {
            return Ok(None);
        }
        let Some(server) = self.server_for(user, mailbox) else {
            return Ok(None);
        };
        let key = server.name.trim().to_lowercase();
        if let Some(c) = lock(&self.graph).get(&key) {
            return Ok(Some(c.clone()));
        }
        let client = super::graph::graph_client_for_server(server)?;
        lock(&self.graph).insert(key, client.clone());
        Ok(Some(client))
    }

    /// The client for `user`'s mailbox `mailbox` (not yet impersonating it).
    pub async fn client_for(&self, user: &str, mailbox: &str) -> Result<Client, ServiceError> {
        if self.fixed == Some(usize::MAX) {
            return self
                .cached(&self.clients, "")
                .ok_or_else(|| ServiceError::Configuration("no EWS client".into()));
        }
        let (server, autodiscover, endpoint) = match self.fixed {
            Some(i) => (&self.config.servers[i], false, None),
            None => {
                let r = self.config.route_for(user, mailbox).ok_or_else(|| {
                    ServiceError::Configuration(format!(
                        "no EWS server for the mailbox {mailbox} of user {user}"
                    ))
                })?;
                (
                    r.server,
                    r.autodiscover(),
                    r.route.and_then(|r| r.autodiscover_url.clone()),
                )
            }
        };
        if !autodiscover {
            let key = server.name.trim().to_lowercase();
            if let Some(c) = self.cached(&self.clients, &key) {
                return Ok(c);
            }
            let client = super::client_for_server(server)?;
            lock(&self.clients).insert(key, client.clone());
            return Ok(client);
        }
        let key = mailbox.trim().to_lowercase();
        let mut discovered = self.discovered.lock().await;
        if let Some(c) = discovered.get(&key) {
            return Ok(c.clone());
        }
        let base = transport_for_server(server)?;
        let found = ews_client::ops::autodiscover::discover_ews_url(
            &base,
            mailbox,
            endpoint.map(|u| vec![u.as_url().clone()]),
        )
        .await
        .map_err(|e| {
            ServiceError::Configuration(format!(
                "Autodiscover found no EWS endpoint for the mailbox {mailbox} (server record \
                 {:?}): {e}",
                server.name
            ))
        })?;
        tracing::info!(mailbox, url = %found.ews_url, "Autodiscover found the EWS endpoint");
        let mut transport = base;
        transport.url = found.ews_url;
        let client = client_at(server, transport)?;
        discovered.insert(key, client.clone());
        Ok(client)
    }

    fn cached(&self, map: &Mutex<HashMap<String, Client>>, key: &str) -> Option<Client> {
        lock(map).get(key).cloned()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Where `user`'s mailbox is served under `config` (every mailbox to server record `fixed`,
/// when given), in words. `None` without a server.
pub fn describe_route(
    config: &Configuration,
    fixed: Option<usize>,
    user: &str,
    mailbox: &str,
) -> Option<RouteInfo> {
    if let Some(i) = fixed {
        let server = config.servers.get(i)?;
        return Some(RouteInfo {
            server: server.name.clone(),
            auth: auth_label(server),
            autodiscover: false,
            api: server.effective_api(),
            reason: "named on the command line".into(),
        });
    }
    let r = config.route_for(user, mailbox)?;
    Some(RouteInfo {
        server: r.server.name.clone(),
        auth: auth_label(r.server),
        autodiscover: r.autodiscover() && r.server.effective_api() == ServerApi::Ews,
        api: r.server.effective_api(),
        reason: r.reason.to_string(),
    })
}
