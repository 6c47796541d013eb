//! Configuration records, as the product's admin screens know them: EWS servers, mail
//! accounts, sync rules and batch tasks, together in one [`Configuration`] that lives in a
//! TOML file (see [`mod@file`]).

pub mod account;
pub mod batch;
pub mod file;
pub mod route;
pub mod rule;
pub mod server;
pub mod state;

use serde::{Deserialize, Serialize};

pub use account::{
    AuthMechanism, ExchangeAccount, ImapSettings, MailAccount, MailServerKind, MailUsage,
    ReceiveOptions, SmtpSettings, Throttle, TlsMode, TransferEncoding,
};
pub use batch::{BatchTask, RunOn};
pub use file::{ConfigError, LocatedError, Location};
pub use route::{MailboxRoute, ResolvedRoute, RouteReason};
pub use rule::{DirectionSwitches, Master, RuleTarget, SyncFolder, SyncRule, SyncTable, Validity};
pub use server::{
    AuthScheme, CalendarWindow, EWS_ONLINE_SHUTDOWN, EwsServer, OAuthApp, RequestBudget, ServerApi,
    ServerCredentials, ServerKind,
};
pub use state::{StateLocation, StateSettings};

use crate::ids::{GroupName, UserName};
use crate::values::{HttpsUrl, Port};

/// The whole configuration: servers, mail accounts, sync rules, batch tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Configuration {
    /// EWS servers (`[[servers]]`).
    pub servers: Vec<EwsServer>,
    /// Mail accounts (`[[mail_accounts]]`).
    pub mail_accounts: Vec<MailAccount>,
    /// Sync rules (`[[rules]]`).
    pub rules: Vec<SyncRule>,
    /// Batch tasks (`[[batch_tasks]]`).
    pub batch_tasks: Vec<BatchTask>,
    /// Which server serves whose mailbox (`[[mailbox_routes]]`); see [`mod@route`].
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mailbox_routes: Vec<MailboxRoute>,
    /// Where the sync state, leases and embedded CRM live (`[state]`); see [`mod@state`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<StateSettings>,
}

impl Configuration {
    /// The server with this name (case-insensitive).
    pub fn server(&self, name: &str) -> Option<&EwsServer> {
        self.servers
            .iter()
            .find(|s| s.name.trim().eq_ignore_ascii_case(name.trim()))
    }

    /// The mail account with this short code (case-insensitive).
    pub fn mail_account(&self, short_code: &str) -> Option<&MailAccount> {
        self.mail_accounts
            .iter()
            .find(|a| a.short_code.trim().eq_ignore_ascii_case(short_code.trim()))
    }

    /// The server record that serves `user`'s mailbox `mailbox`: a route naming the user,
    /// else one naming the mailbox's domain, else the server of the user's Exchange mail
    /// account, else the first server record. `None` without servers (or when a route names
    /// a server that does not exist, which validation rejects).
    pub fn route_for(&self, user: &str, mailbox: &str) -> Option<ResolvedRoute<'_>> {
        let routed = self
            .mailbox_routes
            .iter()
            .find(|r| r.serves_user(user))
            .map(|r| (r, RouteReason::User))
            .or_else(|| {
                self.mailbox_routes
                    .iter()
                    .find(|r| r.serves_address(mailbox))
                    .map(|r| (r, RouteReason::MailDomain))
            });
        if let Some((route, reason)) = routed {
            return self.server(&route.server).map(|server| ResolvedRoute {
                server,
                route: Some(route),
                reason,
            });
        }
        let account_server = self
            .mail_accounts
            .iter()
            .filter(|a| a.user.as_str().eq_ignore_ascii_case(user.trim()))
            .filter_map(|a| a.exchange.as_ref())
            .find_map(|ex| self.server(&ex.server));
        if let Some(server) = account_server {
            return Some(ResolvedRoute {
                server,
                route: None,
                reason: RouteReason::MailAccount,
            });
        }
        self.servers.first().map(|server| ResolvedRoute {
            server,
            route: None,
            reason: RouteReason::Default,
        })
    }

    /// The mail accounts of a user.
    pub fn mail_accounts_of<'a>(
        &'a self,
        user: &'a UserName,
    ) -> impl Iterator<Item = &'a MailAccount> {
        self.mail_accounts
            .iter()
            .filter(move |a| a.user.as_str().eq_ignore_ascii_case(user.as_str()))
    }

    /// A copy in which every loopback URL (server URLs and OAuth token URLs) uses `port`.
    /// The demo configuration names port 0; the CLI points it at the mock server this way.
    /// URLs of other hosts are left alone.
    pub fn with_loopback_port(&self, port: Port) -> Self {
        fn fix(url: &mut HttpsUrl, port: Port) {
            if url.is_loopback() {
                *url = url.with_port(port);
            }
        }
        fn fix_app(app: &mut Option<OAuthApp>, port: Port) {
            if let Some(url) = app.as_mut().and_then(|a| a.token_url.as_mut()) {
                fix(url, port);
            }
        }
        let mut copy = self.clone();
        for server in &mut copy.servers {
            fix(&mut server.url, port);
            if let Some(url) = server.graph_url.as_mut() {
                fix(url, port);
            }
            fix_app(&mut server.oauth, port);
        }
        for account in &mut copy.mail_accounts {
            if let Some(imap) = account.imap.as_mut() {
                fix_app(&mut imap.oauth, port);
            }
            if let Some(smtp) = account.smtp.as_mut() {
                fix_app(&mut smtp.oauth, port);
            }
        }
        copy
    }

    /// The rule for `table` that applies to `user` (a member of `groups`): a rule for the user
    /// beats one for a group, which beats one for all users.
    pub fn rule_for(
        &self,
        table: SyncTable,
        user: &UserName,
        groups: &[GroupName],
    ) -> Option<&SyncRule> {
        let rank = |r: &SyncRule| match r.validity {
            Validity::User => 0,
            Validity::Group => 1,
            Validity::AllUsers => 2,
        };
        self.rules
            .iter()
            .filter(|r| r.table == table && r.applies_to(user, groups))
            .min_by_key(|r| rank(r))
    }
}
